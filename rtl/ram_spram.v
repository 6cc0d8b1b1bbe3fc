// ram_spram: single-port RAM of two-lane words (the compact core's weight RAM).
// One address per clock: a write of either lane or both (we_i per lane), or a
// read whose data appears one cycle after the address; in a write cycle the
// read data holds (SB_SPRAM256KA's behaviour).  No reset: the host loads it.
//
// Written so that yosys `synth_ice40 -spram` maps it onto SB_SPRAM256KA (16K x
// 16, a nibble write mask): with LANE_W = 8 (WEIGHT_W = 7) a word is 16 bits,
// two synapses, and 64K words are the UP5K's four SPRAMs.  Other widths and
// depths are plain memory for the simulator and other devices.
`default_nettype none

module ram_spram #(
  parameter integer LANE_W = 8,
  parameter integer ADDR_W = 16
) (
  input  wire                  clk_i,
  input  wire [ADDR_W-1:0]     addr_i,
  input  wire [1:0]            we_i,      // lane 0 = bits LANE_W-1:0, lane 1 above
  input  wire [2*LANE_W-1:0]   wdata_i,
  output reg  [2*LANE_W-1:0]   rdata_o
);
  reg [2*LANE_W-1:0] mem_q [0:(1<<ADDR_W)-1];

  always @(posedge clk_i) begin
    if (we_i[0]) mem_q[addr_i][LANE_W-1:0]        <= wdata_i[LANE_W-1:0];
    if (we_i[1]) mem_q[addr_i][2*LANE_W-1:LANE_W] <= wdata_i[2*LANE_W-1:LANE_W];
    if (we_i == 2'b00) rdata_o <= mem_q[addr_i];
  end
endmodule

`default_nettype wire
