// frame_decoder: frames of the link protocol (rtl/PROTOCOL.md) out of a byte stream.
//
// Wire format: FLAG, then the byte-stuffed body LEN CMD SEQ PAYLOAD[LEN]
// CRC_HI CRC_LO, then FLAG.  FLAG (0x7E) never occurs inside a body: 0x7E and
// 0x7D are sent as 0x7D 0x5E and 0x7D 0x5D.  Every FLAG ends the frame in
// progress and starts a new one, so the decoder is back in step at the next
// frame whatever it received before (it cannot hang: every state leaves on a
// FLAG).
//
// While a frame arrives its header and payload are streamed out (hdr_valid_o,
// payload_valid_o); whether they may be used is decided only at the end:
// exactly one of frame_ok_o / frame_err_o pulses per frame.  frame_ok_o needs
// the closing FLAG right after exactly LEN + 5 body bytes, well-formed
// escapes, no UART framing error or receive FIFO overflow, and a CRC residue of 0; it is never raised
// for a frame with a byte in error unless the error pattern is one that
// CRC-16 cannot see (see PROTOCOL.md, "Error detection").
// Bytes outside frames (before the first FLAG, after an error) are skipped
// without a report; a FLAG directly after a FLAG is an empty frame, ignored.
//
// Takes at most one byte (or error entry) per clock.  Outputs are registered: one clock after
// the byte that causes them.  cmd_o / seq_o / len_o are valid from
// hdr_valid_o until the next frame's LEN byte has been taken, so they are
// valid together with frame_ok_o; crc_o (the frame's own CRC, which tells two
// frames with the same SEQ apart) until the next frame's CRC bytes.
// Golden model: neurohw.targets.fpga.protocol.StreamDecoder (same states,
// same error codes, reported on the same byte).
`default_nettype none

module frame_decoder #(
  parameter integer MAX_PAYLOAD = 255  // largest LEN accepted, 0..255 (bigger: OVERSIZE)
) (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire [7:0] byte_i,           // received byte, with byte_valid_i
  input  wire       byte_valid_i,     // a byte with a good stop bit (uart_rx valid_o)
  input  wire       byte_err_i,       // a byte with a 0 stop bit (uart_rx frame_err_o)
  input  wire       byte_ovf_i,       // rx_fifo's overflow mark: bytes were dropped here
  output wire [7:0] len_o,            // payload length, 0..MAX_PAYLOAD
  output wire [7:0] cmd_o,
  output wire [7:0] seq_o,
  output wire       hdr_valid_o,      // pulse: len_o, cmd_o, seq_o just became valid
  output wire [7:0] payload_o,        // payload byte, with payload_valid_o
  output wire [7:0] payload_idx_o,    // its index, 0..len_o-1
  output wire       payload_valid_o,  // pulse per payload byte
  output wire       frame_ok_o,       // pulse: the frame just streamed out is good
  output wire       frame_err_o,      // pulse: a frame was abandoned; see err_code_o
  output wire [3:0] err_code_o,       // with frame_err_o: ERR_* below (PROTOCOL.md NACK codes)
  output wire [15:0] crc_o            // the CRC the frame carried (valid with frame_ok_o)
);
  localparam [7:0] FLAG       = 8'h7E;
  localparam [7:0] ESCAPE     = 8'h7D;
  localparam [7:0] ESCAPE_XOR = 8'h20;
  // Nine bits, so that the LEN check below is a real comparison (not a
  // constant one) for every MAX_PAYLOAD, 255 included.
  localparam [8:0] MAX_LEN    = MAX_PAYLOAD[8:0];

  localparam [3:0] ERR_BAD_CRC    = 4'h1;  // complete frame, CRC residue not 0
  localparam [3:0] ERR_TRUNCATED  = 4'h2;  // FLAG before LEN + 5 body bytes
  localparam [3:0] ERR_TOO_LONG   = 4'h3;  // a byte where the closing FLAG belongs
  localparam [3:0] ERR_BAD_ESCAPE = 4'h4;  // ESCAPE not followed by 0x5E or 0x5D
  localparam [3:0] ERR_OVERSIZE   = 4'h5;  // LEN > MAX_PAYLOAD
  localparam [3:0] ERR_UART       = 4'h6;  // a byte with a UART framing error
  localparam [3:0] ERR_OVERFLOW   = 4'h7;  // the receive FIFO dropped bytes of this frame

  localparam [2:0] S_HUNT    = 3'd0;  // skipping bytes until a FLAG
  localparam [2:0] S_LEN     = 3'd1;  // after a FLAG: expecting LEN
  localparam [2:0] S_CMD     = 3'd2;
  localparam [2:0] S_SEQ     = 3'd3;
  localparam [2:0] S_PAYLOAD = 3'd4;
  localparam [2:0] S_CRC_HI  = 3'd5;
  localparam [2:0] S_CRC_LO  = 3'd6;
  localparam [2:0] S_END     = 3'd7;  // expecting the closing FLAG

  reg  [2:0] state_q, state_d;
  reg        esc_q, esc_d;          // the previous body byte was ESCAPE
  reg  [7:0] len_q, len_d;
  reg  [7:0] cmd_q, cmd_d;
  reg  [7:0] seq_q, seq_d;
  reg  [7:0] count_q, count_d;      // payload bytes received, 0..len_q
  reg  [15:0] rx_crc_q, rx_crc_d;   // the frame's CRC bytes as received
  reg        hdr_valid_q, hdr_valid_d;
  reg  [7:0] payload_q, payload_d;
  reg  [7:0] payload_idx_q, payload_idx_d;
  reg        payload_valid_q, payload_valid_d;
  reg        ok_q, ok_d;
  reg        err_q, err_d;
  reg  [3:0] code_q, code_d;

  reg        crc_init;              // a FLAG: the next body starts a new CRC
  reg        crc_take;              // fold the unstuffed byte into the CRC
  wire [15:0] crc;                  // CRC of the body bytes so far
  wire [7:0]  unstuffed = esc_q ? (byte_i ^ ESCAPE_XOR) : byte_i;

  crc16 u_crc (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .init_i  (crc_init),
    .data_i  (unstuffed),
    .valid_i (crc_take),
    .crc_o   (crc)
  );

  always @(*) begin
    state_d         = state_q;
    esc_d           = esc_q;
    len_d           = len_q;
    cmd_d           = cmd_q;
    seq_d           = seq_q;
    count_d         = count_q;
    rx_crc_d        = rx_crc_q;
    payload_d       = payload_q;
    payload_idx_d   = payload_idx_q;
    hdr_valid_d     = 1'b0;
    payload_valid_d = 1'b0;
    ok_d            = 1'b0;
    err_d           = 1'b0;
    code_d          = code_q;
    crc_init        = 1'b0;
    crc_take        = 1'b0;

    if (byte_err_i || byte_ovf_i) begin
      if (state_q != S_HUNT) begin
        err_d   = 1'b1;
        code_d  = byte_ovf_i ? ERR_OVERFLOW : ERR_UART;
        state_d = S_HUNT;
        esc_d   = 1'b0;
      end
    end else if (byte_valid_i) begin
      if (byte_i == FLAG) begin
        state_d  = S_LEN;
        esc_d    = 1'b0;
        crc_init = 1'b1;
        if (state_q == S_END) begin
          // body + big-endian CRC leaves a residue of 0
          ok_d   = (crc == 16'h0000);
          err_d  = (crc != 16'h0000);
          code_d = ERR_BAD_CRC;
        end else if (state_q != S_HUNT && !(state_q == S_LEN && !esc_q)) begin
          err_d  = 1'b1;
          code_d = ERR_TRUNCATED;
        end
      end else if (state_q == S_HUNT) begin
        state_d = S_HUNT;                // garbage between frames
      end else if (state_q == S_END) begin
        err_d   = 1'b1;
        code_d  = ERR_TOO_LONG;
        state_d = S_HUNT;
      end else if (byte_i == ESCAPE) begin
        if (esc_q) begin
          err_d   = 1'b1;
          code_d  = ERR_BAD_ESCAPE;
          state_d = S_HUNT;
          esc_d   = 1'b0;
        end else begin
          esc_d = 1'b1;
        end
      end else if (esc_q && byte_i != (FLAG ^ ESCAPE_XOR) && byte_i != (ESCAPE ^ ESCAPE_XOR)) begin
        err_d   = 1'b1;
        code_d  = ERR_BAD_ESCAPE;
        state_d = S_HUNT;
        esc_d   = 1'b0;
      end else begin
        esc_d    = 1'b0;
        crc_take = 1'b1;
        case (state_q)
          S_LEN: begin
            if ({1'b0, unstuffed} > MAX_LEN) begin
              err_d   = 1'b1;
              code_d  = ERR_OVERSIZE;
              state_d = S_HUNT;
            end else begin
              len_d   = unstuffed;
              count_d = 8'd0;
              state_d = S_CMD;
            end
          end
          S_CMD: begin
            cmd_d   = unstuffed;
            state_d = S_SEQ;
          end
          S_SEQ: begin
            seq_d       = unstuffed;
            hdr_valid_d = 1'b1;
            state_d     = (len_q == 8'd0) ? S_CRC_HI : S_PAYLOAD;
          end
          S_PAYLOAD: begin
            payload_d       = unstuffed;
            payload_idx_d   = count_q;
            payload_valid_d = 1'b1;
            count_d         = count_q + 8'd1;
            if (count_q + 8'd1 == len_q) state_d = S_CRC_HI;
          end
          S_CRC_HI: begin
            rx_crc_d[15:8] = unstuffed;
            state_d        = S_CRC_LO;
          end
          default: begin                 // S_CRC_LO (S_HUNT and S_END are handled above)
            rx_crc_d[7:0] = unstuffed;
            state_d       = S_END;
          end
        endcase
      end
    end
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q         <= S_HUNT;
      esc_q           <= 1'b0;
      len_q           <= 8'd0;
      cmd_q           <= 8'd0;
      seq_q           <= 8'd0;
      count_q         <= 8'd0;
      rx_crc_q        <= 16'd0;
      hdr_valid_q     <= 1'b0;
      payload_q       <= 8'd0;
      payload_idx_q   <= 8'd0;
      payload_valid_q <= 1'b0;
      ok_q            <= 1'b0;
      err_q           <= 1'b0;
      code_q          <= 4'h0;
    end else begin
      state_q         <= state_d;
      esc_q           <= esc_d;
      len_q           <= len_d;
      cmd_q           <= cmd_d;
      seq_q           <= seq_d;
      count_q         <= count_d;
      rx_crc_q        <= rx_crc_d;
      hdr_valid_q     <= hdr_valid_d;
      payload_q       <= payload_d;
      payload_idx_q   <= payload_idx_d;
      payload_valid_q <= payload_valid_d;
      ok_q            <= ok_d;
      err_q           <= err_d;
      code_q          <= code_d;
    end
  end

  assign len_o           = len_q;
  assign cmd_o           = cmd_q;
  assign seq_o           = seq_q;
  assign hdr_valid_o     = hdr_valid_q;
  assign payload_o       = payload_q;
  assign payload_idx_o   = payload_idx_q;
  assign payload_valid_o = payload_valid_q;
  assign frame_ok_o      = ok_q;
  assign frame_err_o     = err_q;
  assign err_code_o      = code_q;
  assign crc_o           = rx_crc_q;
endmodule

`default_nettype wire
