// lif_neuron_seq: lif_neuron_update computed in 17 clocks with one 16x16
// unsigned multiplier and one accumulator (the compact core, core_compact.v).
// Same function, bit for bit (golden model: neurohw.targets.fpga.model.lif_neuron_update):
//   if refrac_i > 0:  v held, refrac counts down
//   else:             v = sat24(decay(v, v_decay) + ((i_exc*exc_gain + i_inh*inh_gain) >>> gain_shift) + bias)
//                     if v >= v_thresh: spike, v = v_reset, refrac = refrac_steps
//   i_exc = decay(i_exc, exc_decay); i_inh = decay(i_inh, inh_decay)   (always)
//
// Every product is a 24-bit signed value times a u16: it is formed in sign and
// magnitude, |x| = hi * 2^16 + lo (hi <= 128), from two unsigned 16x16
// products (one SB_MAC16 on the iCE40), and the sign is applied in the
// accumulator.  trunc(x * r / 2^16) = sign(x) * (hi*r + floor(lo*r / 2^16)),
// so the decays' rounding toward zero needs no correction term.
//
// Timing: start_i in the clock of micro-op 0 (ignored while busy); micro-op k
// runs k clocks later, the last is 16 (done_o).  Each result comes out
// combinationally in the micro-op that finishes it, with its strobe, for the
// caller to write into its RAM in that clock: v in micro-op 11 (v_valid_o),
// decay(i_exc) in 14 and decay(i_inh) in 16 on current_o (i_exc_valid_o,
// i_inh_valid_o), refrac_o and spike_o in 16 (done_o).  So no result needs
// an output register; in exchange an input is read only until its result is
// out: the caller holds v_i through micro-op 11, i_exc_i through 14, i_inh_i,
// refrac_i and gain_shift_i through 16 (a RAM whose word is written with the
// strobe may show the new word from the next clock on).  The profile fields
// are read one per clock: field_o names the field wanted (valid in every
// clock, micro-op 0's while idle), and field_i must carry that field one clock
// later (a synchronous RAM read at field_o's address).  field_i is the field's
// 24-bit word: the u16 fields in bits 15:0, refrac_steps in 7:0.
`default_nettype none

module lif_neuron_seq (
  input  wire               clk_i,
  input  wire               rst_ni,
  input  wire               start_i,
  input  wire signed [23:0] v_i,           // s24, LSB 2^-14 mV, relative to v_rest
  input  wire signed [23:0] i_exc_i,       // s24 (after this step's events)
  input  wire signed [23:0] i_inh_i,       // s24
  input  wire        [7:0]  refrac_i,      // u8 steps left
  input  wire        [5:0]  gain_shift_i,  // u6
  output reg         [3:0]  field_o,       // profile field wanted (model formats.PROFILE_*)
  input  wire        [23:0] field_i,       // that field, one clock after field_o
  output wire               v_valid_o,      // micro-op 11: v_o is the new v
  output wire signed [23:0] v_o,
  output wire               i_exc_valid_o,  // micro-op 14: current_o is the new i_exc
  output wire               i_inh_valid_o,  // micro-op 16: current_o is the new i_inh
  output wire signed [23:0] current_o,
  output wire               done_o,         // micro-op 16: refrac_o and spike_o
  output wire        [7:0]  refrac_o,
  output reg                spike_o
);
  localparam [3:0] F_V_DECAY   = 4'd0;   // profile fields, as in core.v
  localparam [3:0] F_EXC_DECAY = 4'd1;
  localparam [3:0] F_INH_DECAY = 4'd2;
  localparam [3:0] F_EXC_GAIN  = 4'd3;
  localparam [3:0] F_INH_GAIN  = 4'd4;
  localparam [3:0] F_BIAS      = 4'd5;
  localparam [3:0] F_V_THRESH  = 4'd6;
  localparam [3:0] F_V_RESET   = 4'd7;
  localparam [3:0] F_REFRAC    = 4'd8;
  localparam [4:0] LAST        = 5'd16;

  // multiplier operand: which state word, and which half of its magnitude
  localparam [1:0] X_NONE = 2'd0;
  localparam [1:0] X_EXC  = 2'd1;
  localparam [1:0] X_INH  = 2'd2;
  localparam [1:0] X_V    = 2'd3;
  // accumulator: acc = base + (+/-) operand, the sign that of the product's state word
  localparam [1:0] B_ZERO  = 2'd0;
  localparam [1:0] B_ACC   = 2'd1;
  localparam [1:0] B_SHIFT = 2'd2;   // acc = acc >>> gain_shift (the synaptic sum's floor
                                     // shift), a clock of its own: no adder after the shifter
  localparam [1:0] B_HOLD  = 2'd3;   // acc unchanged
  localparam [1:0] O_P_LOW  = 2'd0;  // p >> 16 (the low half's share of a decay)
  localparam [1:0] O_P      = 2'd1;
  localparam [1:0] O_P_HIGH = 2'd2;  // p << 16 (the high half of a gain product)
  localparam [1:0] O_FIELD  = 2'd3;  // field_i as s24 (bias)

  reg [4:0] uop_q;
  wire      busy = (uop_q != 5'd0);
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)           uop_q <= 5'd0;
    else if (busy)         uop_q <= (uop_q == LAST) ? 5'd0 : uop_q + 5'd1;
    else if (start_i)      uop_q <= 5'd1;
  end
  assign done_o = (uop_q == LAST);

  // ---- the micro-program (rtl/README.md, "The compact core") -------------------------
  reg [1:0] x_sel, base_sel, operand_sel;
  reg       x_high;                           // multiply the high half of |x|
  always @* begin
    field_o     = F_EXC_DECAY;
    x_sel       = X_NONE;
    x_high      = 1'b0;
    base_sel    = B_HOLD;
    operand_sel = O_P;
    case (uop_q)
      5'd0:  begin field_o = F_EXC_GAIN;  end
      5'd1:  begin field_o = F_EXC_GAIN;  x_sel = X_EXC; end
      5'd2:  begin field_o = F_INH_GAIN;  x_sel = X_EXC; x_high = 1'b1; base_sel = B_ZERO; end
      5'd3:  begin field_o = F_INH_GAIN;  x_sel = X_INH; base_sel = B_ACC; operand_sel = O_P_HIGH; end
      5'd4:  begin field_o = F_V_DECAY;   x_sel = X_INH; x_high = 1'b1; base_sel = B_ACC; end
      5'd5:  begin field_o = F_V_DECAY;   base_sel = B_ACC; operand_sel = O_P_HIGH; end   // synaptic sum
      5'd6:  begin field_o = F_V_DECAY;   x_sel = X_V; base_sel = B_SHIFT; end
      5'd7:  begin field_o = F_BIAS;      x_sel = X_V; x_high = 1'b1;
                   base_sel = B_ACC; operand_sel = O_P_LOW; end
      5'd8:  begin field_o = F_BIAS;      base_sel = B_ACC; end                           // + v decay
      5'd9:  begin field_o = F_V_THRESH;  base_sel = B_ACC; operand_sel = O_FIELD; end    // + bias
      5'd10: begin field_o = F_V_RESET;   end                                             // threshold
      5'd11: begin field_o = F_EXC_DECAY; end                                             // v out
      5'd12: begin field_o = F_EXC_DECAY; x_sel = X_EXC; end
      5'd13: begin field_o = F_INH_DECAY; x_sel = X_EXC; x_high = 1'b1;
                   base_sel = B_ZERO; operand_sel = O_P_LOW; end
      5'd14: begin field_o = F_INH_DECAY; x_sel = X_INH; base_sel = B_ACC; end            // i_exc out
      5'd15: begin field_o = F_REFRAC;    x_sel = X_INH; x_high = 1'b1;
                   base_sel = B_ZERO; operand_sel = O_P_LOW; end
      5'd16: begin base_sel = B_ACC; end                                                  // i_inh out
      default: ;
    endcase
  end

  // ---- the multiplier: |x| half times the field, registered (the MAC16 output register) ----
  reg signed [23:0] x;
  always @* begin
    case (x_sel)
      X_EXC:   x = i_exc_i;
      X_INH:   x = i_inh_i;
      X_V:     x = v_i;
      default: x = 24'sd0;
    endcase
  end
  wire [23:0] x_mag   = x[23] ? 24'd0 - x : x;    // |x| <= 2^23 fits u24
  wire [15:0] mul_a   = x_high ? {8'd0, x_mag[23:16]} : x_mag[15:0];
  reg  [31:0] p_q;                               // u32
  reg         p_neg_q;                           // the sign of the product's state word
  always @(posedge clk_i) begin
    p_q     <= mul_a * field_i[15:0];
    p_neg_q <= x[23];
  end

  // ---- the accumulator (s43: the synaptic sum is s42 before its shift) ---------------------
  reg  signed [42:0] acc_q;
  reg  signed [42:0] base, operand;
  reg                negate;
  always @* begin
    base = (base_sel == B_ZERO) ? 43'sd0 : acc_q;
    case (operand_sel)
      O_P_LOW:  operand = {27'd0, p_q[31:16]};
      O_P_HIGH: operand = {3'd0, p_q[23:0], 16'd0};   // hi <= 128: the product is below 2^24
      O_FIELD:  operand = {{19{field_i[23]}}, field_i};
      default:  operand = {11'd0, p_q};
    endcase
    negate = (operand_sel != O_FIELD) & p_neg_q;
  end
  wire signed [42:0] acc_d = base + (operand ^ {43{negate}}) + {42'd0, negate};

  always @(posedge clk_i) begin
    if (base_sel == B_SHIFT)     acc_q <= acc_q >>> gain_shift_i;
    else if (base_sel != B_HOLD) acc_q <= acc_d;
  end

  // ---- threshold, reset and the outputs ----------------------------------------------------
  wire signed [23:0] v_saturated;
  saturate #(.IN_W(43), .OUT_W(24)) u_v_sat (.value_i(acc_q), .value_o(v_saturated));
  wire refractory = |refrac_i;
  // sat24(acc) >= v_thresh on the saturated value: a 24-bit compare (saturate is a
  // reduction and a multiplexer in front of it) instead of a 43-bit one on acc
  wire signed [23:0] v_thresh  = field_i;          // in micro-op 10
  wire               reaches_threshold = (v_saturated >= v_thresh);

  always @(posedge clk_i) begin
    if (uop_q == 5'd10) spike_o <= ~refractory & reaches_threshold;
  end

  assign v_valid_o     = (uop_q == 5'd11);
  assign v_o           = refractory ? v_i : spike_o ? $signed(field_i) : v_saturated;  // v_reset
  assign i_exc_valid_o = (uop_q == 5'd14);
  assign i_inh_valid_o = done_o;
  assign current_o     = acc_d[23:0];   // |decay(x)| <= |x|: the high bits are sign copies
  assign refrac_o      = refractory ? refrac_i - 8'd1 : spike_o ? field_i[7:0] : 8'd0;  // refrac_steps

  wire unused_acc = ^acc_d[42:24];   // the decays' sums fit in 24 bits
endmodule

`default_nettype wire
