// core_timing_harness: one of the cores alone between registers, for measuring its
// own Fmax and area on a board (designs "core-timing", "core-compact-timing" and
// "core-sparse-timing" of neurohw/targets/fpga/synth.py).
//
// Not a usable design: the core's tick and bus inputs come from a shift
// register filled from rx_i, and every output is folded into one registered
// bit on tx_o, so that synthesis keeps all of the core and every path that
// nextpnr times starts and ends at a register of the core or of this harness.
// ARCHITECTURE picks the core (formats.ARCH_*): 0 rtl/core.v, 1 rtl/core_compact.v,
// 2 rtl/core_sparse.v.  core.v and core_sparse.v are built with BUS_REGISTERED = 1
// (no combinational path through their bus), so the Fmax is that of the core's own
// logic, whatever bus master a board design puts in front of it (neurohw_board's
// front end has its own); core_compact is built with its combinational bus
// (BUS_REGISTERED = 0, as measured in fpga/README.md; neurohw_board builds it with 1),
// so its timed paths include its bus decode and read multiplexer from the
// harness's registers, as a bus master's registered outputs would drive them.
// Same ports as neurohw_board, so the board tops can instantiate either.
`default_nettype none

module core_timing_harness #(
  parameter integer ARCHITECTURE     = 0,
  parameter integer N_NEURONS        = 256,
  parameter integer N_INPUTS         = 256,
  parameter integer WEIGHT_W         = 8,
  parameter integer DELAY_DEPTH      = 16,
  parameter integer SYNAPSES         = 65536,   // core_sparse only
  parameter integer PLASTIC_SYNAPSES = 16384    // core_sparse only
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

  // (the counters' own outputs are left open: the bus reads the same registers, which
  // the fold keeps)
  /* verilator lint_off PINCONNECTEMPTY */
  generate
    if (ARCHITECTURE == 1) begin : g_compact
      core_compact #(
        .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS), .WEIGHT_W(WEIGHT_W), .DELAY_DEPTH(DELAY_DEPTH)
      ) u_core (
        .clk_i(clk_i), .rst_ni(rst_ni),
        .tick_i(stim_q[STIM_W-1]), .busy_o(busy), .done_o(done), .overrun_o(overrun_o),
        .step_cycles_o(step_cycles), .spike_valid_o(spike_valid), .spike_id_o(spike_id),
        .step_o(), .overruns_o(), .dropped_o(),
        .bus_we_i(stim_q[STIM_W-2]), .bus_addr_i(stim_q[55:32]), .bus_wdata_i(stim_q[31:0]),
        .bus_rdata_o(rdata));
    end else if (ARCHITECTURE == 2) begin : g_sparse
      core_sparse #(
        .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS), .WEIGHT_W(WEIGHT_W),
        .DELAY_DEPTH(DELAY_DEPTH), .BUS_REGISTERED(1), .SYNAPSES(SYNAPSES),
        .PLASTIC_SYNAPSES(PLASTIC_SYNAPSES)
      ) u_core (
        .clk_i(clk_i), .rst_ni(rst_ni),
        .tick_i(stim_q[STIM_W-1]), .busy_o(busy), .done_o(done), .overrun_o(overrun_o),
        .step_cycles_o(step_cycles), .spike_valid_o(spike_valid), .spike_id_o(spike_id),
        .step_o(), .overruns_o(), .dropped_o(),
        .bus_we_i(stim_q[STIM_W-2]), .bus_addr_i(stim_q[55:32]), .bus_wdata_i(stim_q[31:0]),
        .bus_rdata_o(rdata));
    end else begin : g_pipelined
      core #(
        .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS), .WEIGHT_W(WEIGHT_W),
        .DELAY_DEPTH(DELAY_DEPTH), .BUS_REGISTERED(1)
      ) u_core (
        .clk_i(clk_i), .rst_ni(rst_ni),
        .tick_i(stim_q[STIM_W-1]), .busy_o(busy), .done_o(done), .overrun_o(overrun_o),
        .step_cycles_o(step_cycles), .spike_valid_o(spike_valid), .spike_id_o(spike_id),
        .step_o(), .overruns_o(), .dropped_o(),
        .bus_we_i(stim_q[STIM_W-2]), .bus_addr_i(stim_q[55:32]), .bus_wdata_i(stim_q[31:0]),
        .bus_rdata_o(rdata));
    end
  endgenerate
  /* verilator lint_on PINCONNECTEMPTY */

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
