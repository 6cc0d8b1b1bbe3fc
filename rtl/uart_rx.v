// uart_rx: UART receiver, 8N1 (one start bit, 8 data bits LSB first, one stop bit).
//
// The line goes through a 2-flop synchroniser.  A falling edge starts a byte;
// the start bit is checked again at its middle (a shorter glitch is ignored)
// and every later bit is sampled at its middle, CLKS_PER_BIT clocks apart.
// A 0 where the stop bit belongs is a framing error: the byte is reported with
// frame_err_o instead of valid_o, and the receiver waits for the line to go
// idle (high) before it looks for the next start bit, so that a break (line
// held low) gives one error, not a stream of 0x00 bytes.  After the stop
// bit's middle the receiver is ready at once, which tolerates a transmitter
// clock up to ~4% fast or slow.
// Python model of the line: tests/rtl/test_uart.py (uart_bits).
`default_nettype none

module uart_rx #(
  parameter integer CLKS_PER_BIT = 16  // clock cycles per bit (clk / baud), >= 4
) (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire       rx_i,         // the serial line (asynchronous)
  output wire [7:0] data_o,       // the byte, valid with valid_o or frame_err_o
  output wire       valid_o,      // one-cycle pulse: a byte with a good stop bit
  output wire       frame_err_o   // one-cycle pulse: a byte whose stop bit was 0
);
  localparam integer CNT_W = $clog2(CLKS_PER_BIT);  // bit-time counter width
  localparam integer HALF_BIT_I = CLKS_PER_BIT / 2 - 1;
  localparam [CNT_W-1:0] HALF_BIT = HALF_BIT_I[CNT_W-1:0];  // clocks to the middle of the start bit, minus one
  localparam integer FULL_BIT_I = CLKS_PER_BIT - 1;
  localparam [CNT_W-1:0] FULL_BIT = FULL_BIT_I[CNT_W-1:0];  // clocks per bit, minus one

  localparam [2:0] S_IDLE       = 3'd0;  // line idle, waiting for a falling edge
  localparam [2:0] S_START      = 3'd1;  // half a bit, then check the start bit
  localparam [2:0] S_DATA       = 3'd2;  // eight data bits
  localparam [2:0] S_STOP       = 3'd3;  // the stop bit
  localparam [2:0] S_WAIT_IDLE  = 3'd4;  // after a framing error: wait for a 1

  // ---- synchroniser ----------------------------------------------------------------
  reg rx_meta_q, rx_sync_q;  // 1 bit each; reset to the idle level
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rx_meta_q <= 1'b1;
      rx_sync_q <= 1'b1;
    end else begin
      rx_meta_q <= rx_i;
      rx_sync_q <= rx_meta_q;
    end
  end

  // ---- state -----------------------------------------------------------------------
  reg [2:0]       state_q, state_d;
  reg [CNT_W-1:0] count_q, count_d;   // clocks left in the current (half) bit, minus one
  reg [2:0]       bit_q, bit_d;       // data bit being received, 0..7
  reg [7:0]       shift_q, shift_d;   // data bits so far, shifted in from the top
  reg             valid_q, valid_d;
  reg             frame_err_q, frame_err_d;

  always @(*) begin
    state_d     = state_q;
    count_d     = count_q;
    bit_d       = bit_q;
    shift_d     = shift_q;
    valid_d     = 1'b0;
    frame_err_d = 1'b0;
    if (state_q != S_IDLE && state_q != S_WAIT_IDLE && count_q != {CNT_W{1'b0}}) begin
      count_d = count_q - 1'b1;
    end else begin
      case (state_q)
        S_IDLE: begin
          if (!rx_sync_q) begin
            state_d = S_START;
            count_d = HALF_BIT;
          end
        end
        S_START: begin
          if (rx_sync_q) begin
            state_d = S_IDLE;          // a glitch, not a start bit
          end else begin
            state_d = S_DATA;
            count_d = FULL_BIT;
            bit_d   = 3'd0;
          end
        end
        S_DATA: begin
          shift_d = {rx_sync_q, shift_q[7:1]};
          count_d = FULL_BIT;
          bit_d   = bit_q + 3'd1;
          if (bit_q == 3'd7) state_d = S_STOP;
        end
        S_STOP: begin
          if (rx_sync_q) begin
            valid_d = 1'b1;
            state_d = S_IDLE;
          end else begin
            frame_err_d = 1'b1;
            state_d     = S_WAIT_IDLE;
          end
        end
        S_WAIT_IDLE: begin
          if (rx_sync_q) state_d = S_IDLE;
        end
        default: state_d = S_IDLE;
      endcase
    end
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q     <= S_IDLE;
      count_q     <= {CNT_W{1'b0}};
      bit_q       <= 3'd0;
      shift_q     <= 8'h00;
      valid_q     <= 1'b0;
      frame_err_q <= 1'b0;
    end else begin
      state_q     <= state_d;
      count_q     <= count_d;
      bit_q       <= bit_d;
      shift_q     <= shift_d;
      valid_q     <= valid_d;
      frame_err_q <= frame_err_d;
    end
  end

  assign data_o      = shift_q;
  assign valid_o     = valid_q;
  assign frame_err_o = frame_err_q;
endmodule

`default_nettype wire
