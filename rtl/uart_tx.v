// uart_tx: UART transmitter, 8N1 (one start bit, 8 data bits LSB first, one stop bit).
//
// A byte is taken when valid_i and ready_o are both high; ready_o is high
// while the transmitter is idle and in the last clock of a stop bit, so that
// back-to-back bytes take exactly 10 bit times each.
`default_nettype none

module uart_tx #(
  parameter integer CLKS_PER_BIT = 16  // clock cycles per bit (clk / baud), >= 2
) (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire [7:0] data_i,
  input  wire       valid_i,
  output wire       ready_o,  // the byte on data_i is taken this cycle if valid_i
  output wire       tx_o      // the serial line, idle high
);
  localparam integer CNT_W = $clog2(CLKS_PER_BIT);  // bit-time counter width
  localparam integer FULL_BIT_I = CLKS_PER_BIT - 1;
  localparam [CNT_W-1:0] FULL_BIT = FULL_BIT_I[CNT_W-1:0];  // clocks per bit, minus one

  localparam [1:0] S_IDLE  = 2'd0;
  localparam [1:0] S_START = 2'd1;
  localparam [1:0] S_DATA  = 2'd2;
  localparam [1:0] S_STOP  = 2'd3;

  reg [1:0]       state_q, state_d;
  reg [CNT_W-1:0] count_q, count_d;  // clocks left in the current bit, minus one
  reg [2:0]       bit_q, bit_d;      // data bit on the line, 0..7
  reg [7:0]       shift_q, shift_d;  // bits still to send, LSB next
  reg             tx_q, tx_d;        // registered line output (no glitches)

  always @(*) begin
    state_d = state_q;
    count_d = count_q;
    bit_d   = bit_q;
    shift_d = shift_q;
    tx_d    = tx_q;
    if (state_q != S_IDLE && count_q != {CNT_W{1'b0}}) begin
      count_d = count_q - 1'b1;
    end else begin
      case (state_q)
        S_IDLE, S_STOP: begin
          // The end of a stop bit is as good as idle: the next start bit
          // follows it directly.
          if (valid_i) begin
            state_d = S_START;
            shift_d = data_i;
            count_d = FULL_BIT;
            tx_d    = 1'b0;
          end else begin
            state_d = S_IDLE;
          end
        end
        S_START: begin
          state_d = S_DATA;
          count_d = FULL_BIT;
          bit_d   = 3'd0;
          tx_d    = shift_q[0];
          shift_d = {1'b0, shift_q[7:1]};
        end
        S_DATA: begin
          count_d = FULL_BIT;
          if (bit_q == 3'd7) begin
            state_d = S_STOP;
            tx_d    = 1'b1;
          end else begin
            bit_d   = bit_q + 3'd1;
            tx_d    = shift_q[0];
            shift_d = {1'b0, shift_q[7:1]};
          end
        end
        default: state_d = S_IDLE;
      endcase
    end
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= S_IDLE;
      count_q <= {CNT_W{1'b0}};
      bit_q   <= 3'd0;
      shift_q <= 8'h00;
      tx_q    <= 1'b1;
    end else begin
      state_q <= state_d;
      count_q <= count_d;
      bit_q   <= bit_d;
      shift_q <= shift_d;
      tx_q    <= tx_d;
    end
  end

  assign ready_o = (state_q == S_IDLE) ||
                   (state_q == S_STOP && count_q == {CNT_W{1'b0}});
  assign tx_o    = tx_q;
endmodule

`default_nettype wire
