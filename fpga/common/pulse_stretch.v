// pulse_stretch: makes one-clock events visible on a LED.  Every input pulse
// (re)starts a 2^COUNT_W-clock window during which the output is high.
`default_nettype none

module pulse_stretch #(
  parameter integer COUNT_W = 20  // window of 2^COUNT_W clocks (~44 ms at 24 MHz for 20)
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire pulse_i,
  output wire stretched_o
);
  reg [COUNT_W-1:0] left_q, left_d;  // clocks left in the window

  always @(*) begin
    if (pulse_i)                         left_d = {COUNT_W{1'b1}};
    else if (left_q != {COUNT_W{1'b0}})  left_d = left_q - 1'b1;
    else                                 left_d = left_q;
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) left_q <= {COUNT_W{1'b0}};
    else         left_q <= left_d;
  end

  assign stretched_o = (left_q != {COUNT_W{1'b0}});
endmodule

`default_nettype wire
