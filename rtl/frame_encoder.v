// frame_encoder: one frame of the link protocol (rtl/PROTOCOL.md) onto a byte stream.
//
// Sends FLAG, the byte-stuffed body LEN CMD SEQ PAYLOAD[LEN] CRC_HI CRC_LO,
// and a closing FLAG: byte for byte what
// neurohw.targets.fpga.protocol.encode_frame returns.  Used by the board
// for ACK, NACK and data replies.
//
// start_i (while idle_o) latches len_i, cmd_i and seq_i.  The payload is
// then pulled with a valid/ready handshake, one byte per payload_ready_o,
// and the wire bytes leave on a valid/ready handshake that connects
// directly to uart_tx (tx_valid_o / tx_ready_i).  A byte that needs stuffing
// is held on payload_i across its two wire bytes and taken after the second.
`default_nettype none

module frame_encoder (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire       start_i,          // begin a frame; ignored unless idle_o
  input  wire [7:0] len_i,            // payload length, 0..255
  input  wire [7:0] cmd_i,
  input  wire [7:0] seq_i,
  output wire       idle_o,           // no frame in progress
  input  wire [7:0] payload_i,
  input  wire       payload_valid_i,
  output wire       payload_ready_o,  // payload_i is taken this cycle
  output wire [7:0] tx_data_o,
  output wire       tx_valid_o,
  input  wire       tx_ready_i        // tx_data_o is taken this cycle if tx_valid_o
);
  localparam [7:0] FLAG       = 8'h7E;
  localparam [7:0] ESCAPE     = 8'h7D;
  localparam [7:0] ESCAPE_XOR = 8'h20;

  localparam [3:0] S_IDLE    = 4'd0;
  localparam [3:0] S_OPEN    = 4'd1;  // opening FLAG
  localparam [3:0] S_LEN     = 4'd2;
  localparam [3:0] S_CMD     = 4'd3;
  localparam [3:0] S_SEQ     = 4'd4;
  localparam [3:0] S_PAYLOAD = 4'd5;
  localparam [3:0] S_CRC_HI  = 4'd6;
  localparam [3:0] S_CRC_LO  = 4'd7;
  localparam [3:0] S_CLOSE   = 4'd8;  // closing FLAG

  reg  [3:0] state_q, state_d;
  reg        esc_q, esc_d;      // the ESCAPE of the current body byte has been sent
  reg  [7:0] len_q, len_d;
  reg  [7:0] cmd_q, cmd_d;
  reg  [7:0] seq_q, seq_d;
  reg  [7:0] count_q, count_d;  // payload bytes sent, 0..len_q

  wire [15:0] crc;              // CRC of the body bytes sent so far
  reg  [7:0]  raw;              // the current body byte, before stuffing
  reg         raw_valid;
  reg         is_body;          // state sends a (stuffable) body byte
  reg         crc_take;         // fold raw into the CRC
  reg         payload_take;
  wire        start = (state_q == S_IDLE) && start_i;

  always @(*) begin
    is_body   = 1'b1;
    raw_valid = 1'b1;
    case (state_q)
      S_LEN:     raw = len_q;
      S_CMD:     raw = cmd_q;
      S_SEQ:     raw = seq_q;
      S_PAYLOAD: begin raw = payload_i; raw_valid = payload_valid_i; end
      S_CRC_HI:  raw = crc[15:8];
      S_CRC_LO:  raw = crc[7:0];
      S_IDLE:    begin raw = FLAG; raw_valid = 1'b0; is_body = 1'b0; end
      default:   begin raw = FLAG; is_body = 1'b0; end   // S_OPEN, S_CLOSE
    endcase
  end

  wire       needs_escape = is_body && (raw == FLAG || raw == ESCAPE);
  wire       send_escape  = needs_escape && !esc_q;          // first of two wire bytes
  wire       fire         = raw_valid && tx_ready_i;
  wire       advance      = fire && !send_escape;            // the body byte is done

  assign tx_valid_o = raw_valid;
  assign tx_data_o  = send_escape ? ESCAPE : (esc_q ? (raw ^ ESCAPE_XOR) : raw);

  always @(*) begin
    state_d      = state_q;
    esc_d        = esc_q;
    len_d        = len_q;
    cmd_d        = cmd_q;
    seq_d        = seq_q;
    count_d      = count_q;
    crc_take     = 1'b0;
    payload_take = 1'b0;
    if (start) begin
      state_d = S_OPEN;
      len_d   = len_i;
      cmd_d   = cmd_i;
      seq_d   = seq_i;
      count_d = 8'd0;
    end else if (fire && send_escape) begin
      esc_d = 1'b1;
    end else if (advance) begin
      esc_d = 1'b0;
      case (state_q)
        S_OPEN:  state_d = S_LEN;
        S_LEN:   begin crc_take = 1'b1; state_d = S_CMD; end
        S_CMD:   begin crc_take = 1'b1; state_d = S_SEQ; end
        S_SEQ:   begin crc_take = 1'b1; state_d = (len_q == 8'd0) ? S_CRC_HI : S_PAYLOAD; end
        S_PAYLOAD: begin
          crc_take     = 1'b1;
          payload_take = 1'b1;
          count_d      = count_q + 8'd1;
          if (count_q + 8'd1 == len_q) state_d = S_CRC_HI;
        end
        S_CRC_HI: state_d = S_CRC_LO;
        S_CRC_LO: state_d = S_CLOSE;
        default:  state_d = S_IDLE;    // S_CLOSE
      endcase
    end
  end

  crc16 u_crc (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .init_i  (start),
    .data_i  (raw),
    .valid_i (crc_take),
    .crc_o   (crc)
  );

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= S_IDLE;
      esc_q   <= 1'b0;
      len_q   <= 8'd0;
      cmd_q   <= 8'd0;
      seq_q   <= 8'd0;
      count_q <= 8'd0;
    end else begin
      state_q <= state_d;
      esc_q   <= esc_d;
      len_q   <= len_d;
      cmd_q   <= cmd_d;
      seq_q   <= seq_d;
      count_q <= count_d;
    end
  end

  assign idle_o          = (state_q == S_IDLE);
  assign payload_ready_o = payload_take;
endmodule

`default_nettype wire
