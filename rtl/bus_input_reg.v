// bus_input_reg: a core's bus and tick inputs as the core acts on them.
// REGISTERED = 0 passes them straight through; REGISTERED = 1 (the board's
// registered bus, the cores' BUS_REGISTERED) delays them one clock, so the core
// acts on a write or a tick in the clock after the bus master drives it and no
// path runs from the master's logic into the core's decode or RAMs.  Each core
// registers its read data its own way (rtl/README.md, "Bus and memory map").
`default_nettype none

module bus_input_reg #(
  parameter integer REGISTERED = 0
) (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire        tick_i,
  input  wire        bus_we_i,
  input  wire [23:0] bus_addr_i,
  input  wire [31:0] bus_wdata_i,
  output wire        tick_o,
  output wire        bus_we_o,
  output wire [23:0] bus_addr_o,
  output wire [31:0] bus_wdata_o
);
  generate
    if (REGISTERED != 0) begin : g_registered
      reg        tick_q, bus_we_q;
      reg [23:0] bus_addr_q;
      reg [31:0] bus_wdata_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          tick_q   <= 1'b0;
          bus_we_q <= 1'b0;
        end else begin
          tick_q   <= tick_i;
          bus_we_q <= bus_we_i;
        end
      end
      // address and data need no reset: they act only with a write enable
      always @(posedge clk_i) begin
        bus_addr_q  <= bus_addr_i;
        bus_wdata_q <= bus_wdata_i;
      end
      assign tick_o      = tick_q;
      assign bus_we_o    = bus_we_q;
      assign bus_addr_o  = bus_addr_q;
      assign bus_wdata_o = bus_wdata_q;
    end else begin : g_direct
      /* verilator lint_off UNUSEDSIGNAL */
      wire unclocked = clk_i ^ rst_ni;   // straight through: no register to clock or reset
      /* verilator lint_on UNUSEDSIGNAL */
      assign tick_o      = tick_i;
      assign bus_we_o    = bus_we_i;
      assign bus_addr_o  = bus_addr_i;
      assign bus_wdata_o = bus_wdata_i;
    end
  endgenerate
endmodule

`default_nettype wire
