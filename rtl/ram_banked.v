// ram_banked: a deep RAM as 2^BANK_W banks of ram_1r1w_nrw (one memory per bit),
// whose read data comes out per bank, so that the caller can register the banks'
// words before the bank multiplexer instead of after it.
//   bank_rdata_o: every bank's word at raddr_i's offset, one cycle after raddr_i
//   bank_o:       the bank raddr_i addressed, registered with it
//   rdata_o:      bank_rdata_o's word of bank_o (= a ram_1r1w's read data)
// A 128K-word memory needs 8 blocks per bit even of the deepest ECP5 block
// (16K x 1), and block RAM clock-to-out plus the 8:1 multiplexer and its routing
// is the core's slowest path at 75 MHz; a register on each bank's output cuts it.
// Each bank is ram_1r1w_nrw with SLICE_W = 1 (one block per bit and bank): like it,
// a read of the word written in the same clock is undefined and the caller must not
// use it.  ram_1r1w's bypass of that case, on each of the up to 76 blocks of a
// bank set, was on the ECP5 board builds' slowest paths (the write address and
// data into every block's compare, across the die).
// WRITE_REG is each bank's (ram_1r1w_nrw): registered after the bank decode, a write
// lands a clock later (the ECP5 sparse core's synapse RAM).
`default_nettype none

module ram_banked #(
  parameter integer WIDTH  = 9,
  parameter integer ADDR_W = 17,
  parameter integer BANK_W = 3,   // banks = 2^BANK_W, each 2^(ADDR_W - BANK_W) words
  parameter integer WRITE_REG = 0  // 1: the write port registered (writes land a clock later)
) (
  input  wire                          clk_i,
  input  wire [ADDR_W-1:0]             raddr_i,
  output wire [(WIDTH << BANK_W)-1:0]  bank_rdata_o,
  output wire [BANK_SEL_W-1:0]         bank_o,
  output wire [WIDTH-1:0]              rdata_o,
  input  wire                          we_i,
  input  wire [ADDR_W-1:0]             waddr_i,
  input  wire [WIDTH-1:0]              wdata_i
);
  localparam integer BANKS       = 1 << BANK_W;
  localparam integer BANK_ADDR_W = ADDR_W - BANK_W;
  localparam integer BANK_SEL_W  = (BANK_W > 0) ? BANK_W : 1;

  genvar b;
  generate
    for (b = 0; b < BANKS; b = b + 1) begin : g_bank
      wire in_bank = (BANK_W == 0) || (waddr_i >> BANK_ADDR_W) == b;
      ram_1r1w_nrw #(.WIDTH(WIDTH), .ADDR_W(BANK_ADDR_W), .SLICE_W(1), .WRITE_REG(WRITE_REG)) u_bank (
        .clk_i(clk_i), .re_i(1'b1), .raddr_i(raddr_i[BANK_ADDR_W-1:0]),
        .rdata_o(bank_rdata_o[b*WIDTH +: WIDTH]),
        .we_i(we_i & in_bank), .waddr_i(waddr_i[BANK_ADDR_W-1:0]), .wdata_i(wdata_i));
    end
    if (BANK_W > 0) begin : g_select
      reg [BANK_W-1:0] bank_q;
      always @(posedge clk_i) bank_q <= raddr_i[ADDR_W-1:BANK_ADDR_W];
      assign bank_o = bank_q;
    end else begin : g_single
      assign bank_o = 1'b0;
    end
  endgenerate

  assign rdata_o = bank_rdata_o[bank_o*WIDTH +: WIDTH];
endmodule

`default_nettype wire
