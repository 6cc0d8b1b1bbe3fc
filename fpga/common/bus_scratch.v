// bus_scratch: a scratch memory with the core's bus timing, used instead of
// the core by the link bring-up build (neurohw_board WITH_CORE = 0): the
// host can write words over the link and read them back, which exercises the
// UART, the framing, the sequencer and the command front end on the board
// without the core.  2^ADDR_W words of 32 bits at bus offsets 0..2^ADDR_W-1
// (the region bits are ignored); read data follows the address by one clock.
`default_nettype none

module bus_scratch #(
  parameter integer ADDR_W = 8  // words: 2^ADDR_W
) (
  input  wire        clk_i,
  input  wire        bus_we_i,
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [23:0] bus_addr_i,    // only the low ADDR_W bits select a word
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire [31:0] bus_wdata_i,
  output wire [31:0] bus_rdata_o
);
  ram_1r1w #(.WIDTH(32), .ADDR_W(ADDR_W)) u_ram (
    .clk_i(clk_i), .raddr_i(bus_addr_i[ADDR_W-1:0]), .rdata_o(bus_rdata_o),
    .we_i(bus_we_i), .waddr_i(bus_addr_i[ADDR_W-1:0]), .wdata_i(bus_wdata_i));
endmodule

`default_nettype wire
