// ram_1r1w: simple dual-port RAM, one synchronous read port and one write port.
// Read data appears one cycle after the address (block-RAM timing); a read of
// the address being written returns the old word.  No reset: the host loads it.
//
// SLICE_W < WIDTH stores the word as WIDTH / SLICE_W independent memories of
// SLICE_W bits each (same behaviour).  A deep RAM built from many blocks needs
// a multiplexer after them; a narrow slice lets synthesis pick the deepest,
// narrowest block shape (ECP5 DP16KD: 16K x 1) so that the multiplexer stays
// small (8:1 instead of 64:1 for 128K words), which is what a fast clock needs.
`default_nettype none

module ram_1r1w #(
  parameter integer WIDTH   = 8,
  parameter integer ADDR_W  = 8,
  parameter integer SLICE_W = WIDTH   // bits per independent memory; divides WIDTH
) (
  input  wire              clk_i,
  input  wire [ADDR_W-1:0] raddr_i,
  output reg  [WIDTH-1:0]  rdata_o,
  input  wire              we_i,
  input  wire [ADDR_W-1:0] waddr_i,
  input  wire [WIDTH-1:0]  wdata_i
);
  generate
    if (SLICE_W == WIDTH) begin : g_whole
      reg [WIDTH-1:0] mem_q [0:(1<<ADDR_W)-1];

      always @(posedge clk_i) begin
        if (we_i) mem_q[waddr_i] <= wdata_i;
        rdata_o <= mem_q[raddr_i];
      end
    end else begin : g_sliced
      genvar s;
      for (s = 0; s < WIDTH / SLICE_W; s = s + 1) begin : g_slice
        reg [SLICE_W-1:0] mem_q [0:(1<<ADDR_W)-1];

        always @(posedge clk_i) begin
          if (we_i) mem_q[waddr_i] <= wdata_i[s*SLICE_W +: SLICE_W];
          rdata_o[s*SLICE_W +: SLICE_W] <= mem_q[raddr_i];
        end
      end
    end
  endgenerate
endmodule

`default_nettype wire
