// reset_sync: board reset for one clock domain, asserted asynchronously and
// released synchronously.
//
// The reset is held while arst_ni is low (the PLL has not locked, or a reset
// button is pressed) and for 2^HOLD_W clocks after it rises, so that every
// flop in the domain leaves reset on the same clock edge, and the UART line
// has settled before the receiver starts looking for start bits.  The first
// two flops are the metastability synchroniser of the release edge.
`default_nettype none

module reset_sync #(
  parameter integer HOLD_W = 4  // the reset is held 2^HOLD_W clocks after arst_ni rises
) (
  input  wire clk_i,
  input  wire arst_ni,  // asynchronous reset request, active low
  output wire rst_no    // synchronous-release reset, active low
);
  reg  [1:0]        sync_q;                // release synchroniser
  reg  [HOLD_W-1:0] hold_q, hold_d;        // clocks since the release, saturating
  reg               rst_nq, rst_nd;

  always @(*) begin
    hold_d = hold_q;
    rst_nd = rst_nq;
    if (hold_q != {HOLD_W{1'b1}}) hold_d = hold_q + 1'b1;
    else                          rst_nd = 1'b1;
  end

  always @(posedge clk_i or negedge arst_ni) begin
    if (!arst_ni) begin
      sync_q <= 2'b00;
    end else begin
      sync_q <= {sync_q[0], 1'b1};
    end
  end

  // the counter restarts whenever the synchroniser output is low
  always @(posedge clk_i or negedge arst_ni) begin
    if (!arst_ni) begin
      hold_q <= {HOLD_W{1'b0}};
      rst_nq <= 1'b0;
    end else if (!sync_q[1]) begin
      hold_q <= {HOLD_W{1'b0}};
      rst_nq <= 1'b0;
    end else begin
      hold_q <= hold_d;
      rst_nq <= rst_nd;
    end
  end

  assign rst_no = rst_nq;
endmodule

`default_nettype wire
