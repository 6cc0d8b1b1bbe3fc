// neurohw_board: everything of a board build that is not board-specific: the
// neurohw core behind the UART link of rtl/PROTOCOL.md.
//
//   rx_i -> uart_rx -> rx_fifo -> frame_decoder -> frame_sequencer -> command front end -> core
//   tx_o <- uart_tx <- frame_encoder <------------------------------ command front end
//
// The command front end is rtl/cmd_frontend.v.  Frames the host sends back to
// back wait in the receive FIFO (RX_FIFO_BYTES, reported by IDENTIFY, as the
// host's byte credit) until the front end can take them: the decoder is fed
// only while the front end's ready_o is high.
// ARCHITECTURE picks the core (formats.ARCH_*, as fpga/common/core_timing_harness.v):
// 0 rtl/core.v (pipelined), 1 rtl/core_compact.v (the UP5K core), 2 rtl/core_sparse.v
// (synapse lists); the host reads which one answers from its ARCHITECTURE register.
// WITH_CORE = 0 builds the link alone, with a scratch memory on the bus, for
// bringing up the link on a board (and for a build that fits any device).
// The bus between the front end and the core is always the registered one
// (BUS_REGISTERED = 1 on each of the three cores; bus_scratch.v has its timing):
// every board, and the virtual board, has the one front-end timing of
// rtl/PROTOCOL.md section 7, and no path runs from the front end's logic into the
// core's decode or RAMs.
// spike_o pulses for one clock per neuron spike; the board top stretches it
// for a LED.  CLOCK_HZ is only reported (IDENTIFY): the board top passes the
// frequency of its clock.
`default_nettype none

module neurohw_board #(
  parameter integer CLKS_PER_BIT   = 104,  // clock cycles per UART bit (f_clk / baud)
  parameter integer MAX_PAYLOAD    = 255,  // largest frame payload accepted
  parameter integer N_NEURONS      = 256,  // core parameters, see rtl/README.md
  parameter integer N_INPUTS       = 256,
  parameter integer WEIGHT_W       = 8,
  parameter integer DELAY_DEPTH    = 16,
  parameter integer WITH_CORE      = 1,    // 0: fpga/common/bus_scratch.v instead of the core
  parameter integer ARCHITECTURE   = 0,    // 0: rtl/core.v, 1: rtl/core_compact.v, 2: rtl/core_sparse.v
  parameter integer SYNAPSES       = 65536, // core_sparse.v's list sizes (ARCHITECTURE = 2 only)
  parameter integer PLASTIC_SYNAPSES = 16384,
  parameter integer RX_FIFO_BYTES  = 2048, // receive FIFO entries, a power of two
  parameter integer STEP_LOG_DEPTH = 512,  // per-step log entries, a power of two
  parameter integer READ_REGS      = 1,    // cmd_frontend's: 1 registers its RAMs' read data (ECP5), 0 not (iCE40)
  parameter integer RECORD_COMMANDS = 1,   // cmd_frontend's: 0 answers the record commands UNKNOWN_COMMAND
  parameter integer SPARSE_WEIGHT_COMMANDS = 1,   // cmd_frontend's: 0 answers WRITE/READ_WEIGHTS_SPARSE UNKNOWN_COMMAND
  parameter integer ICE40_DSP      = 0,    // 1: the link's and front end's event counters and the compact core's STEP in SB_MAC16s (iCE40)
  parameter [31:0]  CLOCK_HZ       = 32'd24_000_000,  // reported by IDENTIFY
  parameter [31:0]  BUILD_ID       = 32'h0000_0001    // reported by IDENTIFY
) (
  input  wire clk_i,
  input  wire rst_ni,      // synchronous-release reset (reset_sync)
  input  wire rx_i,        // UART from the host (asynchronous)
  output wire tx_o,        // UART to the host
  output wire spike_o,     // a neuron fired this clock
  output wire overrun_o    // a tick arrived while the core was busy (sticky until cleared)
);
  // ---- UART, receive FIFO and framing ------------------------------------------------------
  wire [7:0] rx_byte;
  wire       rx_valid, rx_frame_err;

  uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_uart_rx (
    .clk_i(clk_i), .rst_ni(rst_ni), .rx_i(rx_i),
    .data_o(rx_byte), .valid_o(rx_valid), .frame_err_o(rx_frame_err));

  wire       frontend_ready;   // the front end can take the next frame
  wire       entry_valid, rx_overflow;
  wire [8:0] entry;            // {error, byte}; error with byte[0] set: the overflow mark
  wire       pop = entry_valid & frontend_ready;

  rx_fifo #(.DEPTH(RX_FIFO_BYTES)) u_rx_fifo (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .byte_i(rx_byte), .byte_valid_i(rx_valid), .byte_err_i(rx_frame_err),
    .valid_o(entry_valid), .entry_o(entry), .pop_i(pop), .overflow_o(rx_overflow));

  wire [7:0] frame_len, frame_cmd, frame_seq, payload, payload_idx;
  wire       hdr_valid, payload_valid, frame_ok, frame_err;
  wire [3:0] frame_err_code;
  wire [15:0] frame_crc;

  frame_decoder #(.MAX_PAYLOAD(MAX_PAYLOAD)) u_frame_decoder (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .byte_i(entry[7:0]), .byte_valid_i(pop & ~entry[8]),
    .byte_err_i(pop & entry[8] & ~entry[0]), .byte_ovf_i(pop & entry[8] & entry[0]),
    .len_o(frame_len), .cmd_o(frame_cmd), .seq_o(frame_seq), .hdr_valid_o(hdr_valid),
    .payload_o(payload), .payload_idx_o(payload_idx), .payload_valid_o(payload_valid),
    .frame_ok_o(frame_ok), .frame_err_o(frame_err), .err_code_o(frame_err_code),
    .crc_o(frame_crc));

  wire       verdict_valid;
  wire [1:0] verdict;
  wire [7:0] nack_code, expected_seq;
  wire [15:0] accepted, duplicates, out_of_order, frame_errors, link_nacks, not_synced;  // READ_COUNTERS

  frame_sequencer #(.ICE40_DSP(ICE40_DSP)) u_frame_sequencer (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .frame_ok_i(frame_ok), .frame_err_i(frame_err), .err_code_i(frame_err_code),
    .cmd_i(frame_cmd), .seq_i(frame_seq),
    .verdict_valid_o(verdict_valid), .verdict_o(verdict), .nack_code_o(nack_code),
    .expected_seq_o(expected_seq),
    .accepted_o(accepted), .duplicates_o(duplicates), .out_of_order_o(out_of_order),
    .frame_errors_o(frame_errors), .link_nacks_o(link_nacks), .not_synced_o(not_synced));

  wire       enc_idle, enc_start, enc_payload_valid, enc_payload_ready;
  wire [7:0] enc_len, enc_cmd, enc_seq, enc_payload;
  wire [7:0] tx_byte;
  wire       tx_valid, tx_ready;

  frame_encoder u_frame_encoder (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .start_i(enc_start), .len_i(enc_len), .cmd_i(enc_cmd), .seq_i(enc_seq),
    .idle_o(enc_idle),
    .payload_i(enc_payload), .payload_valid_i(enc_payload_valid),
    .payload_ready_o(enc_payload_ready),
    .tx_data_o(tx_byte), .tx_valid_o(tx_valid), .tx_ready_i(tx_ready));

  uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_uart_tx (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .data_i(tx_byte), .valid_i(tx_valid), .ready_o(tx_ready), .tx_o(tx_o));

  // ---- command front end ----------------------------------------------------------------------------
  wire        core_busy, core_done, core_reset, tick, bus_we;
  wire [31:0] step_cycles, core_step, core_overruns, core_dropped;
  wire        core_spike;
  wire [$clog2(N_NEURONS)-1:0] spike_id;
  wire [23:0] bus_addr;
  wire [31:0] bus_wdata, bus_rdata;

  cmd_frontend #(
    .MAX_PAYLOAD(MAX_PAYLOAD), .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS),
    .WEIGHT_W(WEIGHT_W), .DELAY_DEPTH(DELAY_DEPTH), .HAS_CORE(WITH_CORE),
    // the front end's SPARSE: the synapse lists' memory map and commands (the two dense
    // cores have one memory map, so the compact core needs nothing of its own there)
    .SPARSE((WITH_CORE != 0 && ARCHITECTURE == 2) ? 1 : 0), .SYNAPSES(SYNAPSES), .PLASTIC_SYNAPSES(PLASTIC_SYNAPSES),
    .STEP_LOG_DEPTH(STEP_LOG_DEPTH), .RX_FIFO_BYTES(RX_FIFO_BYTES), .READ_REGS(READ_REGS),
    .RECORD_COMMANDS(RECORD_COMMANDS), .SPARSE_WEIGHT_COMMANDS(SPARSE_WEIGHT_COMMANDS),
    .ICE40_DSP(ICE40_DSP),
    .CLOCK_HZ(CLOCK_HZ),
    .BUILD_ID(BUILD_ID)
  ) u_frontend (
    .clk_i(clk_i), .rst_ni(rst_ni), .ready_o(frontend_ready), .rx_overflow_i(rx_overflow),
    .cmd_i(frame_cmd), .seq_i(frame_seq), .len_i(frame_len), .hdr_valid_i(hdr_valid),
    .payload_i(payload), .payload_idx_i(payload_idx), .payload_valid_i(payload_valid),
    .frame_end_i(frame_ok | frame_err), .frame_crc_i(frame_crc),
    .verdict_valid_i(verdict_valid), .verdict_i(verdict), .nack_code_i(nack_code),
    .expected_seq_i(expected_seq),
    .link_accepted_i(accepted), .link_duplicates_i(duplicates),
    .link_out_of_order_i(out_of_order), .link_frame_errors_i(frame_errors),
    .link_nacks_i(link_nacks), .link_not_synced_i(not_synced),
    .enc_idle_i(enc_idle), .enc_start_o(enc_start), .enc_len_o(enc_len),
    .enc_cmd_o(enc_cmd), .enc_seq_o(enc_seq), .enc_payload_o(enc_payload),
    .enc_payload_valid_o(enc_payload_valid), .enc_payload_ready_i(enc_payload_ready),
    .core_busy_i(core_busy), .core_done_i(core_done), .core_step_cycles_i(step_cycles),
    .core_step_i(core_step), .core_overruns_i(core_overruns), .core_dropped_i(core_dropped),
    .core_spike_valid_i(core_spike), .core_spike_id_i(spike_id), .core_reset_o(core_reset),
    .tick_o(tick),
    .bus_we_o(bus_we), .bus_addr_o(bus_addr), .bus_wdata_o(bus_wdata), .bus_rdata_i(bus_rdata));

  // ---- the core (or the scratch memory of the link bring-up build) ---------------------------------
  generate
    if (WITH_CORE != 0) begin : g_core
      // RESET bit 4 resets the core alone (registers, profiles, delay ring), like power-up
      wire core_rst_n = rst_ni & ~core_reset;

      if (ARCHITECTURE == 2) begin : g_sparse
        core_sparse #(
          .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS), .WEIGHT_W(WEIGHT_W),
          .DELAY_DEPTH(DELAY_DEPTH), .BUS_REGISTERED(1), .SYNAPSES(SYNAPSES),
          .PLASTIC_SYNAPSES(PLASTIC_SYNAPSES)
        ) u_core (
          .clk_i(clk_i), .rst_ni(core_rst_n),
          .tick_i(tick), .busy_o(core_busy), .done_o(core_done), .overrun_o(overrun_o),
          .step_cycles_o(step_cycles), .step_o(core_step), .overruns_o(core_overruns),
          .dropped_o(core_dropped),
          .spike_valid_o(core_spike), .spike_id_o(spike_id),
          .bus_we_i(bus_we), .bus_addr_i(bus_addr), .bus_wdata_i(bus_wdata),
          .bus_rdata_o(bus_rdata));
      end else if (ARCHITECTURE == 1) begin : g_compact
        core_compact #(
          .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS),
          .WEIGHT_W(WEIGHT_W), .DELAY_DEPTH(DELAY_DEPTH), .BUS_REGISTERED(1),
          .ICE40_DSP(ICE40_DSP)
        ) u_core (
          .clk_i(clk_i), .rst_ni(core_rst_n),
          .tick_i(tick), .busy_o(core_busy), .done_o(core_done), .overrun_o(overrun_o),
          .step_cycles_o(step_cycles), .step_o(core_step), .overruns_o(core_overruns),
          .dropped_o(core_dropped),
          .spike_valid_o(core_spike), .spike_id_o(spike_id),
          .bus_we_i(bus_we), .bus_addr_i(bus_addr), .bus_wdata_i(bus_wdata),
          .bus_rdata_o(bus_rdata));
      end else begin : g_dense
        core #(
          .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS),
          .WEIGHT_W(WEIGHT_W), .DELAY_DEPTH(DELAY_DEPTH), .BUS_REGISTERED(1)
        ) u_core (
          .clk_i(clk_i), .rst_ni(core_rst_n),
          .tick_i(tick), .busy_o(core_busy), .done_o(core_done), .overrun_o(overrun_o),
          .step_cycles_o(step_cycles), .step_o(core_step), .overruns_o(core_overruns),
          .dropped_o(core_dropped),
          .spike_valid_o(core_spike), .spike_id_o(spike_id),
          .bus_we_i(bus_we), .bus_addr_i(bus_addr), .bus_wdata_i(bus_wdata),
          .bus_rdata_o(bus_rdata));
      end
    end else begin : g_scratch
      bus_scratch u_scratch (
        .clk_i(clk_i), .rst_ni(rst_ni), .bus_we_i(bus_we), .bus_addr_i(bus_addr), .bus_wdata_i(bus_wdata),
        .bus_rdata_o(bus_rdata));
      // nothing runs: a step ends the clock after its tick, without spikes
      reg step_done_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) step_done_q <= 1'b0;
        else         step_done_q <= tick;
      end
      assign core_busy   = step_done_q;
      assign core_done   = step_done_q;
      assign step_cycles = 32'd0;
      assign core_step     = 32'd0;   // no core: its counters read 0
      assign core_overruns = 32'd0;
      assign core_dropped  = 32'd0;
      assign core_spike  = 1'b0;
      assign spike_id    = {$clog2(N_NEURONS){1'b0}};
      assign overrun_o   = 1'b0;
      /* verilator lint_off UNUSEDSIGNAL */
      wire scratch_core_reset = core_reset;   // no core to reset
      /* verilator lint_on UNUSEDSIGNAL */
    end
  endgenerate

  assign spike_o = core_spike;
endmodule

`default_nettype wire
