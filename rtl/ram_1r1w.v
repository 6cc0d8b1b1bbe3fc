// ram_1r1w: simple dual-port RAM, one synchronous read port and one write port.
// Read data appears one cycle after the address (block-RAM timing); a read of
// the address being written returns the old word.  No reset: the host loads it.
`default_nettype none

module ram_1r1w #(
  parameter integer WIDTH  = 8,
  parameter integer ADDR_W = 8
) (
  input  wire              clk_i,
  input  wire [ADDR_W-1:0] raddr_i,
  output reg  [WIDTH-1:0]  rdata_o,
  input  wire              we_i,
  input  wire [ADDR_W-1:0] waddr_i,
  input  wire [WIDTH-1:0]  wdata_i
);
  reg [WIDTH-1:0] mem_q [0:(1<<ADDR_W)-1];

  always @(posedge clk_i) begin
    if (we_i) mem_q[waddr_i] <= wdata_i;
    rdata_o <= mem_q[raddr_i];
  end
endmodule

`default_nettype wire
