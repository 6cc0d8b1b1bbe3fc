// bus_scratch: a scratch memory with the core's bus timing, used instead of
// the core by the link bring-up build (neurohw_board WITH_CORE = 0): the
// host can write words over the link and read them back, which exercises the
// UART, the framing, the sequencer and the command front end on the board
// without the core.  2^ADDR_W words of 32 bits at bus offsets 0..2^ADDR_W-1
// (the region bits are ignored).  The timing is core.v's with BUS_REGISTERED = 1,
// the only one rtl/cmd_frontend.v speaks: the bus inputs are registered (a write
// acts in the clock after its cycle) and so is the read data, the word at the
// address of three clocks before (input register, RAM, output register).
`default_nettype none

module bus_scratch #(
  parameter integer ADDR_W = 8  // words: 2^ADDR_W
) (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire        bus_we_i,
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [23:0] bus_addr_i,    // only the low ADDR_W bits select a word
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire [31:0] bus_wdata_i,
  output wire [31:0] bus_rdata_o
);
  reg              we_q;
  reg [ADDR_W-1:0] addr_q;
  reg [31:0]       wdata_q, rdata_q;
  wire [31:0]      ram_rdata;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) we_q <= 1'b0;
    else         we_q <= bus_we_i;
  end
  // data path registers: no reset (a write needs we_q, which is reset)
  always @(posedge clk_i) begin
    addr_q  <= bus_addr_i[ADDR_W-1:0];
    wdata_q <= bus_wdata_i;
    rdata_q <= ram_rdata;
  end

  ram_1r1w #(.WIDTH(32), .ADDR_W(ADDR_W)) u_ram (
    .clk_i(clk_i), .raddr_i(addr_q), .rdata_o(ram_rdata),
    .we_i(we_q), .waddr_i(addr_q), .wdata_i(wdata_q));
  assign bus_rdata_o = rdata_q;
endmodule

`default_nettype wire
