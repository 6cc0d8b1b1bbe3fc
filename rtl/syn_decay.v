// syn_decay: one step of exponential decay by multiply-shift, rounded toward zero.
//   value_o = trunc(value_i * retention_i / 2^16)
// Rounding toward zero (not floor) lets a decaying variable of either sign reach
// exactly 0; an arithmetic shift alone would leave negative values stuck at -1 LSB.
// Golden model: neurohw.targets.fpga.model.syn_decay
`default_nettype none

module syn_decay #(
  parameter integer W = 24   // width of the decaying variable
) (
  input  wire signed [W-1:0] value_i,      // sW
  input  wire        [15:0]  retention_i,  // u16, binary point 16: exp(-dt/tau)
  output wire signed [W-1:0] value_o       // sW, |value_o| <= |value_i|
);
  localparam integer FRAC = 16;

  wire signed [W+16:0] product   = value_i * $signed({1'b0, retention_i});  // s(W+17), binary point 16
  // adding 2^16-1 before the floor shift turns floor into truncation for negatives
  wire signed [W+16:0] round_bias = {{(W+1){1'b0}}, {FRAC{product[W+16]}}};
  wire signed [W+16:0] shifted   = (product + round_bias) >>> FRAC;        // |shifted| <= |value_i|

  assign value_o = shifted[W-1:0];

  // the discarded high bits of shifted are sign copies by construction
  wire unused_high = ^shifted[W+16:W];
endmodule

`default_nettype wire
