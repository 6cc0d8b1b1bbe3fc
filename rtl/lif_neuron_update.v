// lif_neuron_update: one time step of one current-based LIF neuron (fixed-point
// form of PyNN's IF_curr_exp with exact-integration propagators, NEST order).
//   if refrac_i > 0:  v held, refrac counts down
//   else:             v = sat24(decay(v, v_decay) + ((i_exc*exc_gain + i_inh*inh_gain) >>> gain_shift) + bias)
//                     if v >= v_thresh: spike, v = v_reset, refrac = refrac_steps
//   i_exc = decay(i_exc, exc_decay); i_inh = decay(i_inh, inh_decay)   (always)
// v, thresholds, reset and bias are relative to v_rest.
// Golden model: neurohw.targets.fpga.model.lif_neuron_update
`default_nettype none

module lif_neuron_update (
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
  output wire signed [23:0] v_o,
  output wire signed [23:0] i_exc_o,
  output wire signed [23:0] i_inh_o,
  output wire        [7:0]  refrac_o,
  output wire               spike_o
);
  wire signed [40:0] exc_term  = i_exc_i * $signed({1'b0, exc_gain_i});  // s41
  wire signed [40:0] inh_term  = i_inh_i * $signed({1'b0, inh_gain_i});  // s41
  wire signed [41:0] syn_sum   = exc_term + inh_term;                    // s42
  wire signed [41:0] synaptic  = syn_sum >>> gain_shift_i;               // s42, floor
  wire signed [23:0] v_decayed;
  wire signed [42:0] v_sum     = {synaptic[41], synaptic}                // s43, no overflow
                               + {{19{v_decayed[23]}}, v_decayed}
                               + {{19{bias_i[23]}}, bias_i};
  wire signed [23:0] v_integrated;

  syn_decay #(.W(24)) u_v_decay   (.value_i(v_i),     .retention_i(v_decay_i),   .value_o(v_decayed));
  syn_decay #(.W(24)) u_exc_decay (.value_i(i_exc_i), .retention_i(exc_decay_i), .value_o(i_exc_o));
  syn_decay #(.W(24)) u_inh_decay (.value_i(i_inh_i), .retention_i(inh_decay_i), .value_o(i_inh_o));
  saturate #(.IN_W(43), .OUT_W(24)) u_v_sat (.value_i(v_sum), .value_o(v_integrated));

  wire refractory = |refrac_i;
  assign spike_o  = ~refractory & (v_integrated >= v_thresh_i);
  assign v_o      = refractory ? v_i : spike_o ? v_reset_i : v_integrated;
  assign refrac_o = refractory ? refrac_i - 8'd1 : spike_o ? refrac_steps_i : 8'd0;
endmodule

`default_nettype wire
