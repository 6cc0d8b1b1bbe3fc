// syn_decay: one step of exponential decay by multiply-shift, rounded toward zero.
//   value_o = trunc(value_i * retention_i / 2^16)       LATENCY = 1 clock
// The product is registered (the multiplier's output register); the rounding
// and the shift follow in the next clock.  A value wider than 17 bits does not fit
// one 18x18 multiplier block (ECP5 MULT18X18D): its two partial products, of the
// high and the low LO_W bits, are registered apart and added in the next clock, so
// that no carry chain follows a multiplier in the first clock (a 24-bit decay's
// product, multiplier and fabric adder in one clock, was the slowest path of the
// 1024-neuron ULX3S board build at 13.77 ns).  The sum is the same product.
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

  localparam integer LO_W = 12;    // low part of a wide value (W > 17)

  wire signed [W+16:0] product;    // s(W+17), binary point 16
  generate
    if (W <= 17) begin : g_one_block
      reg signed [W+16:0] product_q;
      always @(posedge clk_i) product_q <= value_i * $signed({1'b0, retention_i});
      assign product = product_q;
    end else begin : g_two_blocks
      reg signed [W-LO_W+16:0] high_q;   // value_i[W-1:LO_W] * retention_i, s(W-LO_W+17)
      reg        [LO_W+15:0]   low_q;    // value_i[LO_W-1:0] * retention_i, u(LO_W+16)
      always @(posedge clk_i) begin
        high_q <= $signed(value_i[W-1:LO_W]) * $signed({1'b0, retention_i});
        low_q  <= value_i[LO_W-1:0] * retention_i;
      end
      assign product = {high_q, {LO_W{1'b0}}} + $signed({{(W-LO_W+1){1'b0}}, low_q});
    end
  endgenerate

  // adding 2^16-1 before the floor shift turns floor into truncation for negatives
  wire signed [W+16:0] round_bias = {{(W+1){1'b0}}, {FRAC{product[W+16]}}};
  wire signed [W+16:0] shifted    = (product + round_bias) >>> FRAC;  // |shifted| <= |value_i|

  assign value_o = shifted[W-1:0];

  // the discarded high bits of shifted are sign copies by construction
  wire unused_high = ^shifted[W+16:W];
endmodule

`default_nettype wire
