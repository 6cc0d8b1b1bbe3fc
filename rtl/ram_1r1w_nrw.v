// ram_1r1w_nrw: ram_1r1w without its guarantee for a read of the word being written.
// One synchronous read port (data one cycle after the address) and one write
// port, no reset.  A read of the address written in the same clock returns an
// undefined word on a board: the caller must never use such a read.  The
// simulation model returns the old word inverted (not under yosys, which
// defines SYNTHESIS), so that a bench whose DUT used such a read would see a
// wrong word rather than the plausible old one.  In exchange synthesis maps the memory
// straight onto block RAM (yosys no_rw_check): the iCE40 EBR and the ECP5 DP16KD
// have no defined read-during-write result across their ports, and ram_1r1w's
// "old word" costs a bypass register of the write data and address, an address
// compare and a multiplexer per RAM (per block of a sliced one).
//
// SLICE_W < WIDTH stores the word as WIDTH / SLICE_W independent memories of
// SLICE_W bits each, as ram_1r1w does (the same hierarchy names: g_whole.mem_q,
// g_sliced.g_slice[s].mem_q).
//
// LANES > 1 splits the word into LANES lanes of WIDTH / LANES bits, each written only
// when its bit of we_i is set: two memories that are never read apart share block RAMs
// (yosys maps the lanes onto the EBR's bit mask or the DP16KD's byte enables).  A read
// of a word any lane of which is being written is the collision above, whole word:
// lanes share a block RAM's bits.
//
// WRITE_REG = 1 registers the write port (enables, address, data): a write lands a
// clock after its cycle, so that no logic lies between the caller's write decode and
// the WE pins of blocks spread across the die (the ECP5 sparse core's slowest paths).
// A read in the clock after a write to the same word is then the collision above.
//
// re_i = 0 skips the read: rdata_o keeps the word last read (the EBR's and the DP16KD's
// read enable), and a write meanwhile, to that word or any other, is no collision.  It
// lets lanes that one sweep reads once and writes apart share a block (core_compact's
// currents).
`default_nettype none

module ram_1r1w_nrw #(
  parameter integer WIDTH   = 8,
  parameter integer ADDR_W  = 8,
  parameter integer SLICE_W = WIDTH,  // bits per independent memory; divides WIDTH
  parameter integer LANES   = 1,      // write lanes (SLICE_W = WIDTH only); divides WIDTH
  parameter integer WRITE_REG = 0     // 1: the write port registered (writes land a clock later)
) (
  input  wire              clk_i,
  input  wire              re_i,      // read raddr_i this clock (else hold rdata_o)
  input  wire [ADDR_W-1:0] raddr_i,
  output reg  [WIDTH-1:0]  rdata_o,
  input  wire [LANES-1:0]  we_i,
  input  wire [ADDR_W-1:0] waddr_i,
  input  wire [WIDTH-1:0]  wdata_i
);
  // the write as the memory takes it: this clock's, or (WRITE_REG) the last clock's
  wire [LANES-1:0]  we;
  wire [ADDR_W-1:0] waddr;
  wire [WIDTH-1:0]  wdata;
`ifndef SYNTHESIS
  wire collision = re_i && (|we) && raddr_i == waddr;
`endif
  generate
    if (WRITE_REG != 0) begin : g_write_reg
      reg [LANES-1:0]  we_q;
      reg [ADDR_W-1:0] waddr_q;
      reg [WIDTH-1:0]  wdata_q;
      always @(posedge clk_i) begin
        we_q    <= we_i;
        waddr_q <= waddr_i;
        wdata_q <= wdata_i;
      end
      assign we    = we_q;
      assign waddr = waddr_q;
      assign wdata = wdata_q;
    end else begin : g_write
      assign we    = we_i;
      assign waddr = waddr_i;
      assign wdata = wdata_i;
    end
    if (SLICE_W == WIDTH) begin : g_whole
      (* no_rw_check *)
      reg [WIDTH-1:0] mem_q [0:(1<<ADDR_W)-1];
      localparam integer LANE_W = WIDTH / LANES;
      integer l;

      always @(posedge clk_i) begin
        for (l = 0; l < LANES; l = l + 1)
          if (we[l]) mem_q[waddr][l*LANE_W +: LANE_W] <= wdata[l*LANE_W +: LANE_W];
`ifdef SYNTHESIS
        if (re_i) rdata_o <= mem_q[raddr_i];
`else
        if (re_i) rdata_o <= collision ? ~mem_q[raddr_i] : mem_q[raddr_i];
`endif
      end
    end else begin : g_sliced
      genvar s;
      for (s = 0; s < WIDTH / SLICE_W; s = s + 1) begin : g_slice
        (* no_rw_check *)
        reg [SLICE_W-1:0] mem_q [0:(1<<ADDR_W)-1];

        always @(posedge clk_i) begin
          if (we[0]) mem_q[waddr] <= wdata[s*SLICE_W +: SLICE_W];
`ifdef SYNTHESIS
          if (re_i) rdata_o[s*SLICE_W +: SLICE_W] <= mem_q[raddr_i];
`else
          if (re_i) rdata_o[s*SLICE_W +: SLICE_W] <= collision ? ~mem_q[raddr_i] : mem_q[raddr_i];
`endif
        end
      end
    end
  endgenerate
endmodule

`default_nettype wire
