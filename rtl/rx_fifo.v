// rx_fifo: the board's receive FIFO, between uart_rx and frame_decoder (rtl/PROTOCOL.md,
// "Windowed receive").
//
// Entries are {error, byte}: a byte from uart_rx (error 0), a byte uart_rx received
// with a 0 stop bit (error 1, byte[0] = 0), or the overflow mark (error 1, byte[0] = 1).
// The host keeps at most RX_FIFO_BYTES wire bytes unacknowledged, so on a working
// link the FIFO never overflows; if it does anyway, the bytes that find it full are
// dropped and a mark is owed: it is queued at the first clock the FIFO is not full (a
// byte arriving in that very clock is dropped too), so the decoder abandons the frame
// the lost bytes belonged to with RX_OVERFLOW, never joining two pieces of frames into
// one.  overflow_o pulses as a mark is queued.
//
// The read side is first-word-fall-through: valid_o / entry_o show the head entry,
// pop_i takes it.  An entry written at clock t is at the head at t + 2 at the
// earliest (block-RAM read), a fixed latency.  full is the count at the start of the
// clock, so a pop does not make room for a byte arriving in the same clock.
//
// entry_o comes from a register (head_q), not from the RAM: a block RAM's read data
// (ECP5 DP16KD: ~5.8 ns after the clock) must not feed the decoder's logic in the same
// clock.  The RAM reads one entry ahead (ahead: the entry after the next head), so that a
// pop can load head_q at once; a word written in the clock the RAM reads it is forwarded
// from wdata_q, so the RAM's read of that clock is never used and the RAM needs no
// read-during-write guarantee (ram_1r1w_nrw: no bypass logic).  The timing seen outside
// is unchanged.
// Golden model: neurohw.targets.fpga.protocol.RxFifo.
`default_nettype none

module rx_fifo #(
  parameter integer DEPTH = 2048  // entries, a power of two (block RAM)
) (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire [7:0] byte_i,        // from uart_rx
  input  wire       byte_valid_i,  // a byte with a good stop bit
  input  wire       byte_err_i,    // a byte with a 0 stop bit
  output wire       valid_o,       // entry_o is the head entry
  output wire [8:0] entry_o,       // {error, byte}
  input  wire       pop_i,         // take the head entry (only with valid_o)
  output wire       overflow_o     // an overflow mark was queued this clock
);
  localparam integer AW = $clog2(DEPTH);
  localparam [8:0] MARK = 9'h101;  // error, byte[0] = 1: the overflow mark
  localparam [AW:0] ONE = {{AW{1'b0}}, 1'b1};
  localparam [AW:0] TWO = ONE + ONE;

  reg  [AW:0] wr_q;         // entries written
  reg  [AW:0] wr_seen_q;    // entries written at least a clock before the RAM read: readable
  reg  [AW:0] rd_q;         // entries popped
  reg         mark_owed_q;  // bytes were dropped and the mark is not queued yet

  wire        full     = (wr_q - rd_q) == DEPTH[AW:0];
  wire        arriving = byte_valid_i | byte_err_i;
  wire        put_mark = mark_owed_q & ~full;
  wire        put_byte = arriving & ~full & ~mark_owed_q;
  wire        we       = put_mark | put_byte;
  wire [8:0]  wdata    = put_mark ? MARK : {byte_err_i, byte_err_i ? 8'h00 : byte_i};
  wire        pop      = pop_i & valid_o;
  // rd_q + 1 and rd_q + 2 are kept in registers (rd_1_q, rd_2_q): pop comes late in the
  // clock (the decoder's and the front end's logic), so that it only selects between
  // registers and compares made from registers, instead of starting two adders
  reg  [AW:0] rd_1_q, rd_2_q;
  wire [AW:0] rd_next  = pop ? rd_1_q : rd_q;
  wire [AW-1:0] rd_ahead = pop ? rd_2_q[AW-1:0] : rd_1_q[AW-1:0];   // rd_next + 1, a RAM address

  // the RAM is always reading the entry after the head of the next clock
  wire [8:0]  ram_rdata;
  ram_1r1w_nrw #(.WIDTH(9), .ADDR_W(AW)) u_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(rd_ahead), .rdata_o(ram_rdata),
    .we_i(we), .waddr_i(wr_q[AW-1:0]), .wdata_i(wdata));

  // written last clock: the entry that is the head now (hit_head_q), or the one after it
  // (hit_ahead_q, whose RAM read is not used)
  reg        hit_head_q, hit_ahead_q;
  reg  [8:0] wdata_q, head_q;
  wire [8:0] ahead = hit_ahead_q ? wdata_q : ram_rdata;   // the entry at rd_q + 1
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      hit_head_q  <= 1'b0;
      hit_ahead_q <= 1'b0;
    end else begin
      hit_head_q  <= we & (pop ? (wr_q == rd_1_q) : (wr_q == rd_q));     // wr_q == rd_next
      hit_ahead_q <= we & (pop ? (wr_q == rd_2_q) : (wr_q == rd_1_q));   // wr_q == rd_ahead
    end
  end
  // the head entry: the next one on a pop; a just-written head is not visible (valid_o)
  // before hit_head_q has put it here
  always @(posedge clk_i) begin
    wdata_q <= wdata;
    if (pop)             head_q <= ahead;
    else if (hit_head_q) head_q <= wdata_q;
  end
  assign entry_o = head_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_q        <= {(AW+1){1'b0}};
      wr_seen_q   <= {(AW+1){1'b0}};
      rd_q        <= {(AW+1){1'b0}};
      rd_1_q      <= ONE;
      rd_2_q      <= TWO;
      mark_owed_q <= 1'b0;
    end else begin
      if (we) wr_q <= wr_q + 1'b1;
      wr_seen_q   <= wr_q;
      rd_q        <= rd_next;
      if (pop) begin
        rd_1_q <= rd_2_q;
        rd_2_q <= rd_2_q + 1'b1;
      end
      mark_owed_q <= mark_owed_q ? full : (arriving & full);
    end
  end

  assign valid_o    = (wr_seen_q != rd_q);
  assign overflow_o = put_mark;
endmodule

`default_nettype wire
