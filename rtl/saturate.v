// saturate: clamp a signed value to the range of a narrower two's-complement word.
// Golden model: neurohw.targets.fpga.model.saturate
`default_nettype none

module saturate #(
  parameter integer IN_W  = 32,  // width of the input (IN_W >= OUT_W)
  parameter integer OUT_W = 24   // width of the clamped output
) (
  input  wire signed [IN_W-1:0]  value_i,   // s(IN_W)
  output wire signed [OUT_W-1:0] value_o    // s(OUT_W): min(max(value_i, -2^(OUT_W-1)), 2^(OUT_W-1)-1)
);
  // In range exactly when the bits from the output's sign bit up are all copies of the
  // sign; otherwise the clamp is the extreme of the input's sign.  Written as a reduction
  // rather than two comparisons with the extremes: the same function without the two
  // carry chains those map to (~36 LCs per instance on the iCE40 at 43 -> 24 bits).
  wire [IN_W-OUT_W:0] top = value_i[IN_W-1:OUT_W-1];
  wire                in_range = (&top) | ~(|top);
  wire                negative = value_i[IN_W-1];

  assign value_o = in_range ? value_i[OUT_W-1:0] : {negative, {(OUT_W-1){~negative}}};
endmodule

`default_nettype wire
