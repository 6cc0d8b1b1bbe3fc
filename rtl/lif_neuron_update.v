// lif_neuron_update: one time step of one current-based LIF neuron (fixed-point
// form of PyNN's IF_curr_exp with exact-integration propagators, NEST order).
//   if refrac_i > 0:  v held, refrac counts down
//   else:             v = sat24(decay(v, v_decay) + ((i_exc*exc_gain + i_inh*inh_gain) >>> gain_shift) + bias)
//                     if v >= v_thresh: spike, v = v_reset, refrac = refrac_steps
//   i_exc = decay(i_exc, exc_decay); i_inh = decay(i_inh, inh_decay)   (always)
// v, thresholds, reset and bias are relative to v_rest.
//
// LATENCY = 3 clocks, a new neuron every clock; the stages are registered where a
// 75 MHz ECP5 build needs them:
//   clock 1  the five 24x17 products (multiplier output registers)
//   clock 2  synaptic sum and gain shift; the decays' rounding shifts
//   clock 3  v_sum and its saturation
//   then     threshold compare and the output selects (combinational, to the core's write-back)
// Golden model: neurohw.targets.fpga.model.lif_neuron_update
`default_nettype none

module lif_neuron_update (
  input  wire               clk_i,
  input  wire signed [23:0] v_i,             // s24, LSB 2^-14 mV, relative to v_rest
  input  wire signed [23:0] i_exc_i,         // s24, binary point 16-WEIGHT_W in w_lsb units (after this step's events)
  input  wire signed [23:0] i_inh_i,         // s24, same format
  input  wire        [7:0]  refrac_i,        // u8 steps left
  input  wire        [15:0] v_decay_i,       // u16, binary point 16: exp(-dt/tau_m)
  input  wire        [15:0] exc_decay_i,     // u16, binary point 16: exp(-dt/tau_syn_E)
  input  wire        [15:0] inh_decay_i,     // u16, binary point 16: exp(-dt/tau_syn_I)
  input  wire        [15:0] exc_gain_i,      // u16, binary point gain_shift_i: current LSB -> v LSB
  input  wire        [15:0] inh_gain_i,      // u16, binary point gain_shift_i
  input  wire        [5:0]  gain_shift_i,    // u6
  input  wire signed [23:0] bias_i,          // s24, v LSBs per step (i_offset)
  input  wire signed [23:0] v_thresh_i,      // s24, v LSBs
  input  wire signed [23:0] v_reset_i,       // s24, v LSBs
  input  wire        [7:0]  refrac_steps_i,  // u8
  output wire signed [23:0] v_o,             // outputs: three clocks after the inputs
  output wire signed [23:0] i_exc_o,
  output wire signed [23:0] i_inh_o,
  output wire        [7:0]  refrac_o,
  output wire               spike_o
);
  // ---- clock 1: products ----------------------------------------------------------
  reg  signed [40:0] exc_term_q, inh_term_q;   // s41: current * gain
  reg  signed [23:0] v_s1_q, bias_s1_q, v_thresh_s1_q, v_reset_s1_q;
  reg         [7:0]  refrac_s1_q, refrac_steps_s1_q;
  reg         [5:0]  gain_shift_s1_q;
  wire signed [23:0] v_decayed, i_exc_decayed, i_inh_decayed;   // valid in clock 2

  always @(posedge clk_i) begin
    exc_term_q        <= i_exc_i * $signed({1'b0, exc_gain_i});
    inh_term_q        <= i_inh_i * $signed({1'b0, inh_gain_i});
    v_s1_q            <= v_i;
    bias_s1_q         <= bias_i;
    v_thresh_s1_q     <= v_thresh_i;
    v_reset_s1_q      <= v_reset_i;
    refrac_s1_q       <= refrac_i;
    refrac_steps_s1_q <= refrac_steps_i;
    gain_shift_s1_q   <= gain_shift_i;
  end

  syn_decay #(.W(24)) u_v_decay   (.clk_i(clk_i), .value_i(v_i),     .retention_i(v_decay_i),
                                   .value_o(v_decayed));
  syn_decay #(.W(24)) u_exc_decay (.clk_i(clk_i), .value_i(i_exc_i), .retention_i(exc_decay_i),
                                   .value_o(i_exc_decayed));
  syn_decay #(.W(24)) u_inh_decay (.clk_i(clk_i), .value_i(i_inh_i), .retention_i(inh_decay_i),
                                   .value_o(i_inh_decayed));

  // ---- clock 2: synaptic term, decays ---------------------------------------------
  wire signed [41:0] syn_sum  = exc_term_q + inh_term_q;       // s42
  wire signed [41:0] synaptic = syn_sum >>> gain_shift_s1_q;   // s42, floor
  reg  signed [41:0] synaptic_q;
  reg  signed [23:0] v_decayed_q, i_exc_s2_q, i_inh_s2_q;
  reg  signed [23:0] v_s2_q, bias_s2_q, v_thresh_s2_q, v_reset_s2_q;
  reg         [7:0]  refrac_s2_q, refrac_steps_s2_q;

  always @(posedge clk_i) begin
    synaptic_q        <= synaptic;
    v_decayed_q       <= v_decayed;
    i_exc_s2_q        <= i_exc_decayed;
    i_inh_s2_q        <= i_inh_decayed;
    v_s2_q            <= v_s1_q;
    bias_s2_q         <= bias_s1_q;
    v_thresh_s2_q     <= v_thresh_s1_q;
    v_reset_s2_q      <= v_reset_s1_q;
    refrac_s2_q       <= refrac_s1_q;
    refrac_steps_s2_q <= refrac_steps_s1_q;
  end

  // ---- clock 3: integrate and saturate ----------------------------------------------
  wire signed [42:0] v_sum = {synaptic_q[41], synaptic_q}      // s43, no overflow
                           + {{19{v_decayed_q[23]}}, v_decayed_q}
                           + {{19{bias_s2_q[23]}}, bias_s2_q};
  wire signed [23:0] v_saturated;
  saturate #(.IN_W(43), .OUT_W(24)) u_v_sat (.value_i(v_sum), .value_o(v_saturated));

  reg  signed [23:0] v_integrated_q, i_exc_s3_q, i_inh_s3_q;
  reg  signed [23:0] v_s3_q, v_thresh_s3_q, v_reset_s3_q;
  reg         [7:0]  refrac_s3_q, refrac_steps_s3_q;

  always @(posedge clk_i) begin
    v_integrated_q    <= v_saturated;
    i_exc_s3_q        <= i_exc_s2_q;
    i_inh_s3_q        <= i_inh_s2_q;
    v_s3_q            <= v_s2_q;
    v_thresh_s3_q     <= v_thresh_s2_q;
    v_reset_s3_q      <= v_reset_s2_q;
    refrac_s3_q       <= refrac_s2_q;
    refrac_steps_s3_q <= refrac_steps_s2_q;
  end

  // ---- threshold and outputs ------------------------------------------------------------
  wire refractory = |refrac_s3_q;
  assign spike_o  = ~refractory & (v_integrated_q >= v_thresh_s3_q);
  assign v_o      = refractory ? v_s3_q : spike_o ? v_reset_s3_q : v_integrated_q;
  assign refrac_o = refractory ? refrac_s3_q - 8'd1 : spike_o ? refrac_steps_s3_q : 8'd0;
  assign i_exc_o  = i_exc_s3_q;
  assign i_inh_o  = i_inh_s3_q;
endmodule

`default_nettype wire
