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
  // the extreme representable values, sign-extended to the input width
  wire signed [IN_W-1:0] max_c = {{(IN_W-OUT_W+1){1'b0}}, {(OUT_W-1){1'b1}}};
  wire signed [IN_W-1:0] min_c = {{(IN_W-OUT_W+1){1'b1}}, {(OUT_W-1){1'b0}}};

  assign value_o = (value_i > max_c) ? max_c[OUT_W-1:0]
                 : (value_i < min_c) ? min_c[OUT_W-1:0]
                 : value_i[OUT_W-1:0];
endmodule

`default_nettype wire
