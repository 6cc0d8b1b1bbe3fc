// top: iCEBreaker (iCE40 UP5K-SG48) board wrapper of the neurohw core.
//
// Pins (fpga/icebreaker/icebreaker.pcf, from YosysHQ/icestorm
// examples/icebreaker/icebreaker.pcf): 12 MHz oscillator on 35, FTDI UART
// RX (into the FPGA) on 6 and TX (out of it) on 9, LEDR_N on 11, LEDG_N on 37.
//
// Clock: the 12 MHz pad drives SB_PLL40_PAD.  The defaults below give 24 MHz
// (yowasp-icepll -i 12 -o 24: DIVR 0, DIVF 63, DIVQ 5, FILTER_RANGE 1,
// F_PFD 12 MHz, F_VCO 768 MHz, 24.000 MHz achieved); neurohw.targets.fpga.synth
// recomputes them with icepll for another clock and overrides them.
// The PLL's output frequency is computed from the dividers and reported by IDENTIFY
// (CLOCK_HZ).  Reset: held until the PLL locks, released synchronously (reset_sync).
// LEDs (active low): green = a neuron spiked (stretched), red = a tick was overrun.
`default_nettype none

module top #(
  parameter integer PLL_DIVR         = 0,
  parameter integer PLL_DIVF         = 63,
  parameter integer PLL_DIVQ         = 5,
  parameter integer PLL_FILTER_RANGE = 1,
  parameter integer CLKS_PER_BIT     = 208,  // 24 MHz / 115200 baud
  parameter integer N_NEURONS        = 256,
  parameter integer N_INPUTS         = 256,
  parameter integer WEIGHT_W         = 8,
  parameter integer DELAY_DEPTH      = 16,
  parameter integer SYNAPSES         = 65536,  // rtl/core_sparse.v's lists (ARCHITECTURE = 2, WITH_CORE = 4)
  parameter integer PLASTIC_SYNAPSES = 16384,
  parameter integer ARCHITECTURE     = 0,      // neurohw_board's core: 0 rtl/core.v (design core),
                                               // 1 rtl/core_compact.v (core-compact), 2 rtl/core_sparse.v (core-sparse)
  // the link's buffers in the UP5K's 30 block RAMs (neurohw_board's defaults, 2048 and 512,
  // take 5 more): 512 bytes of receive FIFO are about two full frames, 22 times the bytes that
  // arrive at 115200 baud during a 2 ms USB round trip, so the host's byte credit never
  // stalls the line (rtl/PROTOCOL.md section 5); 256 log entries are 256 steps the host
  // has not read yet (a run waits for room, nothing is lost).  IDENTIFY reports both.
  parameter integer RX_FIFO_BYTES    = 512,
  parameter integer STEP_LOG_DEPTH   = 256,
  parameter integer WITH_CORE        = 1     // 0: scratch memory instead of the core (link bring-up),
                                             // 2: the core alone between registers (timing only),
                                             // 3: core_compact alone between registers (timing only),
                                             // 4: core_sparse alone between registers (timing only)
) (
  input  wire clk_12mhz_i,
  input  wire uart_rx_i,
  output wire uart_tx_o,
  output wire led_green_no,
  output wire led_red_no
);
  // SB_PLL40 in SIMPLE feedback: F_out = F_in * (DIVF + 1) / ((DIVR + 1) * 2^DIVQ)
  localparam [63:0] PLL_OUT_HZ = 64'd12_000_000 * (PLL_DIVF + 1) / ((PLL_DIVR + 1) << PLL_DIVQ);
  localparam [31:0] CLOCK_HZ   = PLL_OUT_HZ[31:0];

  wire clk;
  wire pll_locked;

  SB_PLL40_PAD #(
    .FEEDBACK_PATH("SIMPLE"),
    .DIVR(PLL_DIVR[3:0]),
    .DIVF(PLL_DIVF[6:0]),
    .DIVQ(PLL_DIVQ[2:0]),
    .FILTER_RANGE(PLL_FILTER_RANGE[2:0])
  ) u_pll (
    .PACKAGEPIN(clk_12mhz_i),
    .PLLOUTGLOBAL(clk),
    .LOCK(pll_locked),
    .RESETB(1'b1),
    .BYPASS(1'b0)
  );

  wire rst_n;
  reset_sync u_reset_sync (.clk_i(clk), .arst_ni(pll_locked), .rst_no(rst_n));

  wire spike, overrun;
  generate
    if (WITH_CORE >= 2) begin : g_timing
      // designs "core-timing", "core-compact-timing", "core-sparse-timing": rtl/core.v,
      // rtl/core_compact.v or rtl/core_sparse.v alone between registers (its own Fmax)
      core_timing_harness #(
        .ARCHITECTURE(WITH_CORE - 2), .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS),
        .WEIGHT_W(WEIGHT_W), .DELAY_DEPTH(DELAY_DEPTH), .SYNAPSES(SYNAPSES),
        .PLASTIC_SYNAPSES(PLASTIC_SYNAPSES)
      ) u_board (
        .clk_i(clk), .rst_ni(rst_n), .rx_i(uart_rx_i), .tx_o(uart_tx_o),
        .spike_o(spike), .overrun_o(overrun));
    end else begin : g_board
      neurohw_board #(
        .CLKS_PER_BIT(CLKS_PER_BIT), .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS),
        .WEIGHT_W(WEIGHT_W), .DELAY_DEPTH(DELAY_DEPTH),
        .WITH_CORE(WITH_CORE), .ARCHITECTURE(ARCHITECTURE), .SYNAPSES(SYNAPSES),
        .PLASTIC_SYNAPSES(PLASTIC_SYNAPSES), .CLOCK_HZ(CLOCK_HZ),
        .RX_FIFO_BYTES(RX_FIFO_BYTES), .STEP_LOG_DEPTH(STEP_LOG_DEPTH),
        // the front end's RAM words used straight from the EBRs: 24 MHz has the time, and
        // each register would take an LC of its own (129 of them)
        .READ_REGS(0),
        // no record commands: the host writes and reads neuron records, delays and the STDP
        // block with WRITE_BUS / READ_BUS (a few hundred bytes more per upload)
        .RECORD_COMMANDS(0),
        // nor the sparse weight commands: the host reads and writes scattered synapses as
        // runs of WRITE/READ_WEIGHTS_BULK (91 LCs)
        .SPARSE_WEIGHT_COMMANDS(0),
        // the eight 16-bit event counters of the link and the front end in four of the
        // five DSPs the core's multipliers leave (rtl/counter_pair.v, ~16 LCs each), the
        // compact core's STEP in the fifth (rtl/counter32.v, ~32 LCs)
        .ICE40_DSP(1)
      ) u_board (
        .clk_i(clk), .rst_ni(rst_n), .rx_i(uart_rx_i), .tx_o(uart_tx_o),
        .spike_o(spike), .overrun_o(overrun));
    end
  endgenerate

  wire spike_seen;
  pulse_stretch u_spike_led (.clk_i(clk), .rst_ni(rst_n), .pulse_i(spike), .stretched_o(spike_seen));

  assign led_green_no = ~spike_seen;
  assign led_red_no   = ~overrun;
endmodule

`default_nettype wire
