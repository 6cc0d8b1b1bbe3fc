// top: ULX3S (ECP5 LFE5U-85F, CABGA381) board wrapper of the neurohw core.
//
// Pins (fpga/ulx3s/ulx3s.lpf, from emard/ulx3s doc/constraints/ulx3s_v20.lpf):
// 25 MHz oscillator clk_25mhz on G2; FTDI UART ftdi_txd on M1 (the FTDI's TXD:
// into the FPGA) and ftdi_rxd on L4 (the FTDI's RXD: out of the FPGA);
// led[0] B2, led[1] C2; wifi_gpio0 L2.
//
// Clock: clk_25mhz drives EHXPLLL.  The defaults below give 75 MHz
// (yowasp-ecppll -i 25 -o 75: CLKI_DIV 1, CLKFB_DIV 3, CLKOP_DIV 8,
// CLKOP_CPHASE 4, VCO 600 MHz, 75 MHz achieved); neurohw.targets.fpga.synth
// recomputes them with ecppll for another clock and overrides them.
// The PLL's output frequency is computed from the dividers and reported by IDENTIFY
// (CLOCK_HZ).  Reset: held until the PLL locks, released synchronously (reset_sync).
// LEDs: led[0] = a neuron spiked (stretched), led[1] = a tick was overrun.
// wifi_gpio0 is held high: a low level lets the ESP32 reset the board.
`default_nettype none

module top #(
  parameter integer PLL_CLKI_DIV     = 1,
  parameter integer PLL_CLKFB_DIV    = 3,
  parameter integer PLL_CLKOP_DIV    = 8,
  parameter integer PLL_CLKOP_CPHASE = 4,
  parameter integer CLKS_PER_BIT     = 651,  // 75 MHz / 115200 baud
  parameter integer N_NEURONS        = 256,
  parameter integer N_INPUTS         = 256,
  parameter integer WEIGHT_W         = 8,
  parameter integer DELAY_DEPTH      = 16,
  parameter integer SYNAPSES         = 65536,  // rtl/core_sparse.v's lists (ARCHITECTURE = 2, WITH_CORE = 4)
  parameter integer PLASTIC_SYNAPSES = 16384,
  parameter integer ARCHITECTURE     = 0,      // neurohw_board's core: 0 rtl/core.v (design core),
                                               // 1 rtl/core_compact.v (core-compact), 2 rtl/core_sparse.v (core-sparse)
  parameter integer WITH_CORE        = 1     // 0: scratch memory instead of the core (link bring-up),
                                             // 2: the core alone between registers (timing only),
                                             // 3: core_compact alone between registers (timing only),
                                             // 4: core_sparse alone between registers (timing only)
) (
  input  wire       clk_25mhz,
  input  wire       ftdi_txd,
  output wire       ftdi_rxd,
  output wire [1:0] led,
  output wire       wifi_gpio0
);
  // EHXPLLL with CLKOP as feedback: F_out = F_in * CLKFB_DIV / CLKI_DIV
  localparam [63:0] PLL_OUT_HZ = 64'd25_000_000 * PLL_CLKFB_DIV / PLL_CLKI_DIV;
  localparam [31:0] CLOCK_HZ   = PLL_OUT_HZ[31:0];

  wire clk;
  wire pll_locked;

  (* ICP_CURRENT="12" *) (* LPF_RESISTOR="8" *) (* MFG_ENABLE_FILTEROPAMP="1" *) (* MFG_GMCREF_SEL="2" *)
  EHXPLLL #(
    .PLLRST_ENA("DISABLED"),
    .INTFB_WAKE("DISABLED"),
    .STDBY_ENABLE("DISABLED"),
    .DPHASE_SOURCE("DISABLED"),
    .OUTDIVIDER_MUXA("DIVA"),
    .OUTDIVIDER_MUXB("DIVB"),
    .OUTDIVIDER_MUXC("DIVC"),
    .OUTDIVIDER_MUXD("DIVD"),
    .CLKI_DIV(PLL_CLKI_DIV),
    .CLKOP_ENABLE("ENABLED"),
    .CLKOP_DIV(PLL_CLKOP_DIV),
    .CLKOP_CPHASE(PLL_CLKOP_CPHASE),
    .CLKOP_FPHASE(0),
    .FEEDBK_PATH("CLKOP"),
    .CLKFB_DIV(PLL_CLKFB_DIV)
  ) u_pll (
    .RST(1'b0),
    .STDBY(1'b0),
    .CLKI(clk_25mhz),
    .CLKOP(clk),
    .CLKFB(clk),
    .PHASESEL0(1'b0),
    .PHASESEL1(1'b0),
    .PHASEDIR(1'b1),
    .PHASESTEP(1'b1),
    .PHASELOADREG(1'b1),
    .PLLWAKESYNC(1'b0),
    .ENCLKOP(1'b0),
    .LOCK(pll_locked)
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
        .clk_i(clk), .rst_ni(rst_n), .rx_i(ftdi_txd), .tx_o(ftdi_rxd),
        .spike_o(spike), .overrun_o(overrun));
    end else begin : g_board
      neurohw_board #(
        .CLKS_PER_BIT(CLKS_PER_BIT), .N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS),
        .WEIGHT_W(WEIGHT_W), .DELAY_DEPTH(DELAY_DEPTH),
        .WITH_CORE(WITH_CORE), .ARCHITECTURE(ARCHITECTURE), .SYNAPSES(SYNAPSES),
        .PLASTIC_SYNAPSES(PLASTIC_SYNAPSES), .CLOCK_HZ(CLOCK_HZ)
      ) u_board (
        .clk_i(clk), .rst_ni(rst_n), .rx_i(ftdi_txd), .tx_o(ftdi_rxd),
        .spike_o(spike), .overrun_o(overrun));
    end
  endgenerate

  wire spike_seen;
  pulse_stretch #(.COUNT_W(22)) u_spike_led (
    .clk_i(clk), .rst_ni(rst_n), .pulse_i(spike), .stretched_o(spike_seen));

  assign led        = {overrun, spike_seen};
  assign wifi_gpio0 = 1'b1;
endmodule

`default_nettype wire
