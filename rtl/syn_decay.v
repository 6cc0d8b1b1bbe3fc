// syn_decay: one step of exponential decay by multiply-shift, rounded toward zero.
//   value_o = trunc(value_i * retention_i / 2^16)       LATENCY = 1 clock
// The product is registered (the multiplier's output register); the rounding
// and the shift follow in the next clock.
// Rounding toward zero (not floor) lets a decaying variable of either sign reach
// exactly 0; an arithmetic shift alone would leave negative values stuck at -1 LSB.
// Golden model: neurohw.targets.fpga.model.syn_decay
`default_nettype none

module syn_decay #(
  parameter integer W = 24   // width of the decaying variable
) (
  input  wire                clk_i,
  input  wire signed [W-1:0] value_i,      // sW
  input  wire        [15:0]  retention_i,  // u16, binary point 16: exp(-dt/tau)
  output wire signed [W-1:0] value_o       // sW, |value_o| <= |value_i|, one clock after the inputs
);
  localparam integer FRAC = 16;

  reg  signed [W+16:0] product_q;  // s(W+17), binary point 16

  always @(posedge clk_i) product_q <= value_i * $signed({1'b0, retention_i});

  // adding 2^16-1 before the floor shift turns floor into truncation for negatives
  wire signed [W+16:0] round_bias = {{(W+1){1'b0}}, {FRAC{product_q[W+16]}}};
  wire signed [W+16:0] shifted    = (product_q + round_bias) >>> FRAC;  // |shifted| <= |value_i|

  assign value_o = shifted[W-1:0];

  // the discarded high bits of shifted are sign copies by construction
  wire unused_high = ^shifted[W+16:W];
endmodule

`default_nettype wire
