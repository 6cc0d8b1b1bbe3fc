// leaf_top: test-only wrapper that exposes every leaf module of rtl/ side by
// side, so that one Verilated build serves all the unit benches (bench_leaves.py).
// syn_deliver and stdp_update appear at the narrowest-but-one and the widest weight width.
// syn_decay, trace_update, stdp_update and lif_neuron_update are pipelined (their
// LATENCY in clocks is in their headers); lif_neuron_seq is sequential (one
// neuron per 17 clocks, its profile fields read through a port); the others are
// combinational.
`default_nettype none

module leaf_top (
  input  wire               clk_i,
  input  wire               rst_ni,
  // counter_pair in logic and in an SB_MAC16 (yosys' simulation model of it), side by side
  input  wire               cnt_rst_ni,
  input  wire               cnt_inc_a_i,
  input  wire               cnt_inc_b_i,
  output wire        [15:0] cnt_logic_a_o,
  output wire        [15:0] cnt_logic_b_o,
  output wire        [15:0] cnt_dsp_a_o,
  output wire        [15:0] cnt_dsp_b_o,
  // counter32 the same way
  input  wire               c32_inc_i,
  input  wire               c32_load_i,
  input  wire        [31:0] c32_value_i,
  output wire        [31:0] c32_logic_o,
  output wire        [31:0] c32_dsp_o,
  // saturate, s43 -> s24 (as in lif_neuron_update)
  input  wire signed [42:0] sat_value_i,
  output wire signed [23:0] sat_value_o,
  // syn_decay, 24 bits
  input  wire signed [23:0] dec_value_i,
  input  wire        [15:0] dec_retention_i,
  output wire signed [23:0] dec_value_o,
  // syn_deliver at 3 and 16 weight bits
  input  wire signed [2:0]  dlv3_weight_i,
  input  wire signed [15:0] dlv16_weight_i,
  input  wire signed [23:0] dlv_i_exc_i,
  input  wire signed [23:0] dlv_i_inh_i,
  output wire signed [23:0] dlv3_i_exc_o,
  output wire signed [23:0] dlv3_i_inh_o,
  output wire signed [23:0] dlv16_i_exc_o,
  output wire signed [23:0] dlv16_i_inh_o,
  // lif_neuron_update
  input  wire signed [23:0] lif_v_i,
  input  wire signed [23:0] lif_i_exc_i,
  input  wire signed [23:0] lif_i_inh_i,
  input  wire        [7:0]  lif_refrac_i,
  input  wire        [15:0] lif_v_decay_i,
  input  wire        [15:0] lif_exc_decay_i,
  input  wire        [15:0] lif_inh_decay_i,
  input  wire        [15:0] lif_exc_gain_i,
  input  wire        [15:0] lif_inh_gain_i,
  input  wire        [5:0]  lif_gain_shift_i,
  input  wire signed [23:0] lif_bias_i,
  input  wire signed [23:0] lif_v_thresh_i,
  input  wire signed [23:0] lif_v_reset_i,
  input  wire        [7:0]  lif_refrac_steps_i,
  output wire signed [23:0] lif_v_o,
  output wire signed [23:0] lif_i_exc_o,
  output wire signed [23:0] lif_i_inh_o,
  output wire        [7:0]  lif_refrac_o,
  output wire               lif_spike_o,
  // lif_neuron_seq (its profile fields come through seq_field_o / seq_field_i)
  input  wire               seq_start_i,
  input  wire signed [23:0] seq_v_i,
  input  wire signed [23:0] seq_i_exc_i,
  input  wire signed [23:0] seq_i_inh_i,
  input  wire        [7:0]  seq_refrac_i,
  input  wire        [5:0]  seq_gain_shift_i,
  output wire        [3:0]  seq_field_o,
  input  wire        [23:0] seq_field_i,
  output wire               seq_v_valid_o,
  output wire signed [23:0] seq_v_o,
  output wire               seq_i_exc_valid_o,
  output wire               seq_i_inh_valid_o,
  output wire signed [23:0] seq_current_o,
  output wire               seq_done_o,
  output wire        [7:0]  seq_refrac_o,
  output wire               seq_spike_o,
  // trace_update
  input  wire        [15:0] trc_trace_i,
  input  wire               trc_jump_i,
  input  wire               trc_decay_en_i,
  input  wire        [15:0] trc_retention_i,
  output wire        [15:0] trc_trace_o,
  // stdp_update at 3 and 16 weight bits
  input  wire signed [2:0]  stdp3_weight_i,
  input  wire signed [2:0]  stdp3_w_min_i,
  input  wire signed [2:0]  stdp3_w_max_i,
  output wire signed [2:0]  stdp3_weight_o,
  input  wire signed [15:0] stdp16_weight_i,
  input  wire signed [15:0] stdp16_w_min_i,
  input  wire signed [15:0] stdp16_w_max_i,
  output wire signed [15:0] stdp16_weight_o,
  input  wire        [15:0] stdp_trace_i,
  input  wire        [15:0] stdp_amplitude_i,
  input  wire               stdp_potentiate_i,
  // delay_ring, 8 slots of 2^4 entries
  input  wire               ring_push_i,
  input  wire        [2:0]  ring_push_slot_i,
  input  wire        [3:0]  ring_push_source_i,
  output wire               ring_push_full_o,
  input  wire        [2:0]  ring_pop_slot_i,
  input  wire        [3:0]  ring_pop_index_i,
  output wire        [3:0]  ring_pop_source_o,
  output wire        [4:0]  ring_pop_count_o,
  input  wire               ring_clear_i
);
  saturate #(.IN_W(43), .OUT_W(24)) u_saturate (.value_i(sat_value_i), .value_o(sat_value_o));

  syn_decay #(.W(24)) u_syn_decay (.clk_i(clk_i), .value_i(dec_value_i), .retention_i(dec_retention_i),
                                   .value_o(dec_value_o));

  syn_deliver #(.WEIGHT_W(3)) u_syn_deliver3 (
    .weight_i(dlv3_weight_i), .i_exc_i(dlv_i_exc_i), .i_inh_i(dlv_i_inh_i),
    .i_exc_o(dlv3_i_exc_o), .i_inh_o(dlv3_i_inh_o));
  syn_deliver #(.WEIGHT_W(16)) u_syn_deliver16 (
    .weight_i(dlv16_weight_i), .i_exc_i(dlv_i_exc_i), .i_inh_i(dlv_i_inh_i),
    .i_exc_o(dlv16_i_exc_o), .i_inh_o(dlv16_i_inh_o));

  lif_neuron_update u_lif_neuron_update (
    .clk_i(clk_i), .v_i(lif_v_i), .i_exc_i(lif_i_exc_i), .i_inh_i(lif_i_inh_i), .refrac_i(lif_refrac_i),
    .v_decay_i(lif_v_decay_i), .exc_decay_i(lif_exc_decay_i), .inh_decay_i(lif_inh_decay_i),
    .exc_gain_i(lif_exc_gain_i), .inh_gain_i(lif_inh_gain_i), .gain_shift_i(lif_gain_shift_i),
    .bias_i(lif_bias_i), .v_thresh_i(lif_v_thresh_i), .v_reset_i(lif_v_reset_i),
    .refrac_steps_i(lif_refrac_steps_i),
    .v_o(lif_v_o), .i_exc_o(lif_i_exc_o), .i_inh_o(lif_i_inh_o), .refrac_o(lif_refrac_o),
    .spike_o(lif_spike_o));

  lif_neuron_seq u_lif_neuron_seq (
    .clk_i(clk_i), .rst_ni(rst_ni), .start_i(seq_start_i),
    .v_i(seq_v_i), .i_exc_i(seq_i_exc_i), .i_inh_i(seq_i_inh_i), .refrac_i(seq_refrac_i),
    .gain_shift_i(seq_gain_shift_i), .field_o(seq_field_o), .field_i(seq_field_i),
    .v_valid_o(seq_v_valid_o), .v_o(seq_v_o), .i_exc_valid_o(seq_i_exc_valid_o),
    .i_inh_valid_o(seq_i_inh_valid_o), .current_o(seq_current_o), .done_o(seq_done_o),
    .refrac_o(seq_refrac_o), .spike_o(seq_spike_o));

  trace_update u_trace_update (
    .clk_i(clk_i), .trace_i(trc_trace_i), .jump_i(trc_jump_i), .decay_en_i(trc_decay_en_i),
    .retention_i(trc_retention_i), .trace_o(trc_trace_o));

  stdp_update #(.WEIGHT_W(3)) u_stdp_update3 (
    .clk_i(clk_i), .weight_i(stdp3_weight_i), .trace_i(stdp_trace_i), .amplitude_i(stdp_amplitude_i),
    .potentiate_i(stdp_potentiate_i), .w_min_i(stdp3_w_min_i), .w_max_i(stdp3_w_max_i),
    .weight_o(stdp3_weight_o));
  stdp_update #(.WEIGHT_W(16)) u_stdp_update16 (
    .clk_i(clk_i), .weight_i(stdp16_weight_i), .trace_i(stdp_trace_i), .amplitude_i(stdp_amplitude_i),
    .potentiate_i(stdp_potentiate_i), .w_min_i(stdp16_w_min_i), .w_max_i(stdp16_w_max_i),
    .weight_o(stdp16_weight_o));

  delay_ring #(.DEPTH(8), .SRC_W(4)) u_delay_ring (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .push_i(ring_push_i), .push_slot_i(ring_push_slot_i), .push_source_i(ring_push_source_i),
    .push_full_o(ring_push_full_o),
    .pop_slot_i(ring_pop_slot_i), .pop_index_i(ring_pop_index_i),
    .pop_source_o(ring_pop_source_o), .pop_count_o(ring_pop_count_o), .clear_i(ring_clear_i));
  counter_pair #(.ICE40_DSP(0)) u_counter_logic (.clk_i(clk_i), .rst_ni(cnt_rst_ni),
    .inc_a_i(cnt_inc_a_i), .inc_b_i(cnt_inc_b_i), .count_a_o(cnt_logic_a_o), .count_b_o(cnt_logic_b_o));
  counter_pair #(.ICE40_DSP(1)) u_counter_dsp (.clk_i(clk_i), .rst_ni(cnt_rst_ni),
    .inc_a_i(cnt_inc_a_i), .inc_b_i(cnt_inc_b_i), .count_a_o(cnt_dsp_a_o), .count_b_o(cnt_dsp_b_o));
  counter32 #(.ICE40_DSP(0)) u_counter32_logic (.clk_i(clk_i), .rst_ni(cnt_rst_ni),
    .inc_i(c32_inc_i), .load_i(c32_load_i), .value_i(c32_value_i), .count_o(c32_logic_o));
  counter32 #(.ICE40_DSP(1)) u_counter32_dsp (.clk_i(clk_i), .rst_ni(cnt_rst_ni),
    .inc_i(c32_inc_i), .load_i(c32_load_i), .value_i(c32_value_i), .count_o(c32_dsp_o));
endmodule

`default_nettype wire
