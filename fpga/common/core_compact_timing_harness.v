// core_compact_timing_harness: rtl/core_compact.v alone between registers, for
// measuring its own Fmax and area on a board (design "core-compact-timing" of
// neurohw/targets/fpga/synth.py; the iCE40 UP5K equivalent of core_timing_harness).
//
// Not a usable design: the core's tick and bus inputs come from a shift
// register filled from rx_i, and every output is folded into one registered
// bit on tx_o, so that synthesis keeps all of the core and every path that
// nextpnr times starts and ends at a register of the core or of this harness.
// core_compact's bus is combinational (no BUS_REGISTERED), so the timed paths
// include its bus decode and read multiplexer from the harness's registers,
// as a bus master's registered outputs would drive them.
// Same ports as neurohw_board, so the board tops can instantiate either.
`default_nettype none

module core_compact_timing_harness #(
  parameter integer N_NEURONS   = 256,
  parameter integer N_INPUTS    = 256,
  parameter integer WEIGHT_W    = 7,
  parameter integer DELAY_DEPTH = 4
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire rx_i,
  output wire tx_o,
  output wire spike_o,
  output wire overrun_o
);
  localparam integer NEU_W  = $clog2(N_NEURONS);
  localparam integer STIM_W = 1 + 1 + 24 + 32;   // tick, we, address, write data

  reg [STIM_W-1:0] stim_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) stim_q <= {STIM_W{1'b0}};
    else         stim_q <= {stim_q[STIM_W-2:0], rx_i};
  end

  wire             busy, done, spike_valid;
  wire [31:0]      step_cycles, rdata;
  wire [NEU_W-1:0] spike_id;

  core_compact #(
    .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS), .WEIGHT_W(WEIGHT_W), .DELAY_DEPTH(DELAY_DEPTH)
  ) u_core (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .tick_i(stim_q[STIM_W-1]), .busy_o(busy), .done_o(done), .overrun_o(overrun_o),
    .step_cycles_o(step_cycles), .spike_valid_o(spike_valid), .spike_id_o(spike_id),
    .bus_we_i(stim_q[STIM_W-2]), .bus_addr_i(stim_q[55:32]), .bus_wdata_i(stim_q[31:0]),
    .bus_rdata_o(rdata));

  reg [31:0] fold_q;
  reg        tx_q;
  always @(posedge clk_i) begin
    fold_q <= rdata ^ step_cycles ^ {{(32-NEU_W-3){1'b0}}, spike_id, busy, done, spike_valid};
    tx_q   <= ^fold_q;
  end

  assign tx_o    = tx_q;
  assign spike_o = spike_valid;
endmodule

`default_nettype wire
