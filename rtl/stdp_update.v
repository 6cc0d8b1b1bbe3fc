// stdp_update: additive pair-STDP weight change with clipping.
//   dw       = (amplitude_i * trace_i) >> 20          (u12, truncated)
//   moved    = potentiate_i ? weight_i + dw : weight_i - dw
//   weight_o = max(w_min_i, min(w_max_i, moved))      LATENCY = 2 clocks
// amplitude_i is A * w_max in weight LSBs at binary point 8; trace_i is at binary point 12.
// Clock 1 registers dw (the multiplier's output register), clock 2 the clipped weight,
// so that the receptor add (syn_deliver) that follows in the core starts from a register.
// Golden model: neurohw.targets.fpga.model.stdp_update
`default_nettype none

module stdp_update #(
  parameter integer WEIGHT_W = 8   // weight width, 2..16
) (
  input  wire                       clk_i,
  input  wire signed [WEIGHT_W-1:0] weight_i,      // s(WEIGHT_W)
  input  wire        [15:0]         trace_i,       // u16, binary point 12
  input  wire        [15:0]         amplitude_i,   // u16, binary point 8, in weight LSBs
  input  wire                       potentiate_i,  // 1: add, 0: subtract
  input  wire signed [WEIGHT_W-1:0] w_min_i,       // s(WEIGHT_W)
  input  wire signed [WEIGHT_W-1:0] w_max_i,       // s(WEIGHT_W)
  output reg  signed [WEIGHT_W-1:0] weight_o       // two clocks after the inputs
);
  localparam integer SHIFT = 20;  // trace binary point 12 + amplitude binary point 8

  wire [31:0] product = amplitude_i * trace_i;     // u32

  // clock 1: dw and the operands it applies to
  reg        [11:0]         dw_q;                  // u12
  reg signed [WEIGHT_W-1:0] weight_q, w_min_q, w_max_q;
  reg                       potentiate_q;
  always @(posedge clk_i) begin
    dw_q         <= product[31:SHIFT];
    weight_q     <= weight_i;
    w_min_q      <= w_min_i;
    w_max_q      <= w_max_i;
    potentiate_q <= potentiate_i;
  end

  // clock 2: move and clip
  wire signed [17:0] dw      = {6'd0, dw_q};                                       // s18, 0..4095
  wire signed [17:0] w_ext   = {{(18-WEIGHT_W){weight_q[WEIGHT_W-1]}}, weight_q};  // s18
  wire signed [17:0] min_ext = {{(18-WEIGHT_W){w_min_q[WEIGHT_W-1]}}, w_min_q};
  wire signed [17:0] max_ext = {{(18-WEIGHT_W){w_max_q[WEIGHT_W-1]}}, w_max_q};
  wire signed [17:0] moved   = potentiate_q ? w_ext + dw : w_ext - dw;  // s18, no overflow
  // clip to the maximum first, then to the minimum (w_min wins if w_min > w_max):
  //   clipped = max(w_min, min(w_max, moved))
  // with both comparisons of moved side by side, not one after the other (in series
  // they made this clock's path the longest of the stdp_update on the ECP5)
  wire               above_max = (moved > max_ext);
  wire               below_min = (moved < min_ext);
  wire               inverted  = (max_ext < min_ext);   // from registers only
  wire signed [17:0] clipped   = above_max ? (inverted ? min_ext : max_ext)
                               : below_min ? min_ext : moved;

  always @(posedge clk_i) weight_o <= clipped[WEIGHT_W-1:0];

  wire unused_low = ^{product[SHIFT-1:0], clipped[17:WEIGHT_W]};  // truncated fraction; sign copies
endmodule

`default_nettype wire
