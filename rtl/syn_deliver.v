// syn_deliver: add one synaptic event into the postsynaptic current it targets.
// The sign of the weight selects the receptor (PyNN's current-based convention:
// excitatory weights > 0, inhibitory < 0); a zero weight changes nothing.
//   i_exc_o = sat24(i_exc_i + (w << (16 - WEIGHT_W)))   if w > 0
//   i_inh_o = sat24(i_inh_i + (w << (16 - WEIGHT_W)))   if w < 0
// The shift puts the largest weight at 2^15, so a current holds 256 of them
// whatever the weight width.
// Golden model: neurohw.targets.fpga.model.syn_deliver
`default_nettype none

module syn_deliver #(
  parameter integer WEIGHT_W = 8   // weight width, 2..16
) (
  input  wire signed [WEIGHT_W-1:0] weight_i,  // s(WEIGHT_W), LSB = w_lsb
  input  wire signed [23:0]         i_exc_i,   // s24, binary point 16-WEIGHT_W in w_lsb units
  input  wire signed [23:0]         i_inh_i,   // s24, same format
  output wire signed [23:0]         i_exc_o,
  output wire signed [23:0]         i_inh_o
);
  localparam integer CURRENT_FRAC = 16 - WEIGHT_W;

  wire signed [25:0] weight_ext = {{(26-WEIGHT_W){weight_i[WEIGHT_W-1]}}, weight_i};
  wire signed [25:0] scaled     = weight_ext <<< CURRENT_FRAC;  // s26: |scaled| <= 2^15
  wire signed [25:0] exc_sum    = {{2{i_exc_i[23]}}, i_exc_i} + scaled;  // s26, no overflow
  wire signed [25:0] inh_sum    = {{2{i_inh_i[23]}}, i_inh_i} + scaled;
  wire signed [23:0] exc_sat;
  wire signed [23:0] inh_sat;

  saturate #(.IN_W(26), .OUT_W(24)) u_exc_sat (.value_i(exc_sum), .value_o(exc_sat));
  saturate #(.IN_W(26), .OUT_W(24)) u_inh_sat (.value_i(inh_sum), .value_o(inh_sat));

  wire excitatory = ~weight_i[WEIGHT_W-1] & (|weight_i);
  wire inhibitory = weight_i[WEIGHT_W-1];

  assign i_exc_o = excitatory ? exc_sat : i_exc_i;
  assign i_inh_o = inhibitory ? inh_sat : i_inh_i;
endmodule

`default_nettype wire
