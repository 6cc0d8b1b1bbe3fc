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
`default_nettype none

module ram_1r1w_nrw #(
  parameter integer WIDTH   = 8,
  parameter integer ADDR_W  = 8,
  parameter integer SLICE_W = WIDTH,  // bits per independent memory; divides WIDTH
  parameter integer LANES   = 1       // write lanes (SLICE_W = WIDTH only); divides WIDTH
) (
  input  wire              clk_i,
  input  wire [ADDR_W-1:0] raddr_i,
  output reg  [WIDTH-1:0]  rdata_o,
  input  wire [LANES-1:0]  we_i,
  input  wire [ADDR_W-1:0] waddr_i,
  input  wire [WIDTH-1:0]  wdata_i
);
`ifndef SYNTHESIS
  wire collision = (|we_i) && raddr_i == waddr_i;
`endif
  generate
    if (SLICE_W == WIDTH) begin : g_whole
      (* no_rw_check *)
      reg [WIDTH-1:0] mem_q [0:(1<<ADDR_W)-1];
      localparam integer LANE_W = WIDTH / LANES;
      integer l;

      always @(posedge clk_i) begin
        for (l = 0; l < LANES; l = l + 1)
          if (we_i[l]) mem_q[waddr_i][l*LANE_W +: LANE_W] <= wdata_i[l*LANE_W +: LANE_W];
`ifdef SYNTHESIS
        rdata_o <= mem_q[raddr_i];
`else
        rdata_o <= collision ? ~mem_q[raddr_i] : mem_q[raddr_i];
`endif
      end
    end else begin : g_sliced
      genvar s;
      for (s = 0; s < WIDTH / SLICE_W; s = s + 1) begin : g_slice
        (* no_rw_check *)
        reg [SLICE_W-1:0] mem_q [0:(1<<ADDR_W)-1];

        always @(posedge clk_i) begin
          if (we_i[0]) mem_q[waddr_i] <= wdata_i[s*SLICE_W +: SLICE_W];
`ifdef SYNTHESIS
          rdata_o[s*SLICE_W +: SLICE_W] <= mem_q[raddr_i];
`else
          rdata_o[s*SLICE_W +: SLICE_W] <= collision ? ~mem_q[raddr_i] : mem_q[raddr_i];
`endif
        end
      end
    end
  endgenerate
endmodule

`default_nettype wire
