// placeholder_frontend: a stand-in for the command front end of rtl/PROTOCOL.md
// (frame_decoder -> frame_sequencer -> core bus -> frame_encoder), so that the
// board builds carry the whole core behind the real link stack and nothing is
// optimised away.  PLACEHOLDER: it implements only three commands, each in a
// reduced form, and is checked by lint and synthesis only (no simulation bench):
//   WRITE_BUS 0x08  payload addr u24, exactly one u32 word    -> ACK {0x08}
//   READ_BUS  0x09  payload addr u24, count u8 = 1             -> ACK {0x09, word u32}
//   RUN       0x41  payload steps u32: ticks the core that often -> ACK {0x41}
// Everything else is answered NACK UNKNOWN_COMMAND; a payload of another length
// BAD_LENGTH, a READ_BUS count other than 1 OUT_OF_RANGE, a bus command while the
// core runs BUSY.  The sequencer's verdicts are honoured (APPLY executes, REPLAY
// answers without executing, NACK forwards the link error, SILENT stays quiet).
// A verdict that arrives while a reply is still being sent is dropped: the host
// times out and retransmits.
// Every core memory and register is reachable through WRITE_BUS / READ_BUS, so
// synthesis keeps all of them.  To swap in the real front end, replace the
// instance in fpga/common/neurohw_board.v: the ports below are the signals the
// real one needs (decoder stream, sequencer verdict, encoder handshake, core bus).
`default_nettype none

module placeholder_frontend (
  input  wire        clk_i,
  input  wire        rst_ni,
  // frame_decoder: header and payload stream
  input  wire [7:0]  cmd_i,
  input  wire [7:0]  seq_i,
  input  wire [7:0]  len_i,
  input  wire [7:0]  payload_i,
  input  wire [7:0]  payload_idx_i,
  input  wire        payload_valid_i,
  // frame_sequencer: what to do with the frame that just ended
  input  wire        verdict_valid_i,
  input  wire [1:0]  verdict_i,        // V_* below
  input  wire [7:0]  nack_code_i,
  input  wire [7:0]  expected_seq_i,
  // frame_encoder: the reply
  input  wire        enc_idle_i,
  output wire        enc_start_o,
  output wire [7:0]  enc_len_o,
  output wire [7:0]  enc_cmd_o,
  output wire [7:0]  enc_seq_o,
  output wire [7:0]  enc_payload_o,
  output wire        enc_payload_valid_o,
  input  wire        enc_payload_ready_i,
  // core
  input  wire        core_busy_i,
  output wire        tick_o,
  output wire        bus_we_o,
  output wire [23:0] bus_addr_o,
  output wire [31:0] bus_wdata_o,
  input  wire [31:0] bus_rdata_i
);
  localparam [1:0] V_SILENT = 2'd0;
  localparam [1:0] V_APPLY  = 2'd1;
  // 2'd2 is REPLAY: answered like APPLY, but nothing is executed
  localparam [1:0] V_NACK   = 2'd3;

  localparam [7:0] CMD_WRITE_BUS = 8'h08;
  localparam [7:0] CMD_READ_BUS  = 8'h09;
  localparam [7:0] CMD_RUN       = 8'h41;
  localparam [7:0] CMD_ACK       = 8'h80;
  localparam [7:0] CMD_NACK      = 8'h81;

  localparam [7:0] ERR_UNKNOWN_COMMAND = 8'h11;
  localparam [7:0] ERR_BAD_LENGTH      = 8'h12;
  localparam [7:0] ERR_OUT_OF_RANGE    = 8'h13;
  localparam [7:0] ERR_BUSY            = 8'h14;
  localparam [7:0] FIRST_COMMAND_ERROR = 8'h10;  // lower codes are decoder errors

  localparam [1:0] S_IDLE  = 2'd0;
  localparam [1:0] S_READ  = 2'd1;   // the bus word of the READ_BUS address is ready
  localparam [1:0] S_START = 2'd2;   // hand the reply header to the encoder
  localparam [1:0] S_SEND  = 2'd3;   // stream the reply payload

  reg  [1:0]  state_q, state_d;
  reg  [55:0] arg_q;                 // payload bytes 0..6, byte i at [8i +: 8]
  reg  [31:0] steps_q, steps_d;      // RUN: ticks still to give
  reg  [7:0]  reply_cmd_q, reply_cmd_d;
  reg  [7:0]  reply_seq_q, reply_seq_d;
  reg  [7:0]  reply_len_q, reply_len_d;
  reg  [39:0] reply_q, reply_d;      // reply payload, next byte in [7:0]
  reg         bus_we_d;

  wire [23:0] arg_addr  = arg_q[23:0];
  wire [31:0] arg_word  = arg_q[55:24];
  wire [7:0]  arg_count = arg_q[31:24];
  wire [31:0] arg_steps = arg_q[31:0];
  wire        running   = core_busy_i | (steps_q != 32'd0);
  wire        tick      = (steps_q != 32'd0) & ~core_busy_i;

  // payload bytes are captured as they stream in; they are used only on a verdict
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      arg_q <= 56'd0;
    end else if (payload_valid_i && payload_idx_i < 8'd7) begin
      arg_q[payload_idx_i[2:0]*8 +: 8] <= payload_i;
    end
  end

  // a command's answer: ACK (with data) or NACK with the given code
  task automatic answer_nack;
    input [7:0] code;
    begin
      reply_cmd_d = CMD_NACK;
      reply_len_d = 8'd3;
      reply_d     = {16'd0, expected_seq_i, code, cmd_i};
    end
  endtask

  always @(*) begin
    state_d     = state_q;
    steps_d     = tick ? steps_q - 32'd1 : steps_q;
    reply_cmd_d = reply_cmd_q;
    reply_seq_d = reply_seq_q;
    reply_len_d = reply_len_q;
    reply_d     = reply_q;
    bus_we_d    = 1'b0;
    case (state_q)
      S_IDLE: begin
        if (verdict_valid_i && verdict_i != V_SILENT) begin
          state_d     = S_START;
          reply_seq_d = seq_i;
          reply_cmd_d = CMD_ACK;
          reply_len_d = 8'd1;
          reply_d     = {32'd0, cmd_i};
          if (verdict_i == V_NACK) begin
            answer_nack(nack_code_i);
            if (nack_code_i < FIRST_COMMAND_ERROR) begin
              // an unreadable frame: SEQ is the expected one, no command to echo
              reply_seq_d = expected_seq_i;
              reply_d     = {16'd0, expected_seq_i, nack_code_i, 8'd0};
            end
          end else begin
            case (cmd_i)
              CMD_WRITE_BUS: begin
                if (len_i != 8'd7)  answer_nack(ERR_BAD_LENGTH);
                else if (running)   answer_nack(ERR_BUSY);
                else                bus_we_d = (verdict_i == V_APPLY);
              end
              CMD_READ_BUS: begin
                if (len_i != 8'd4)              answer_nack(ERR_BAD_LENGTH);
                else if (arg_count != 8'd1)     answer_nack(ERR_OUT_OF_RANGE);
                else if (running)               answer_nack(ERR_BUSY);
                else                            state_d = S_READ;
              end
              CMD_RUN: begin
                if (len_i != 8'd4)              answer_nack(ERR_BAD_LENGTH);
                else if (running)               answer_nack(ERR_BUSY);
                else if (verdict_i == V_APPLY)  steps_d = arg_steps;
              end
              default: answer_nack(ERR_UNKNOWN_COMMAND);
            endcase
          end
        end
      end
      S_READ: begin
        // bus_addr_o has shown the address since the payload arrived, so
        // bus_rdata_i holds its word
        reply_len_d = 8'd5;
        reply_d     = {bus_rdata_i, CMD_READ_BUS};
        state_d     = S_START;
      end
      S_START: begin
        if (enc_idle_i) state_d = S_SEND;
      end
      S_SEND: begin
        if (enc_payload_ready_i) reply_d = {8'd0, reply_q[39:8]};
        // the encoder has left idle on the clock that took the header
        if (enc_idle_i) state_d = S_IDLE;
      end
      default: state_d = S_IDLE;
    endcase
  end

  reg bus_we_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q     <= S_IDLE;
      steps_q     <= 32'd0;
      reply_cmd_q <= CMD_ACK;
      reply_seq_q <= 8'd0;
      reply_len_q <= 8'd0;
      reply_q     <= 40'd0;
      bus_we_q    <= 1'b0;
    end else begin
      state_q     <= state_d;
      steps_q     <= steps_d;
      reply_cmd_q <= reply_cmd_d;
      reply_seq_q <= reply_seq_d;
      reply_len_q <= reply_len_d;
      reply_q     <= reply_d;
      bus_we_q    <= bus_we_d;
    end
  end

  assign enc_start_o         = (state_q == S_START) & enc_idle_i;
  assign enc_len_o           = reply_len_q;
  assign enc_cmd_o           = reply_cmd_q;
  assign enc_seq_o           = reply_seq_q;
  assign enc_payload_o       = reply_q[7:0];
  assign enc_payload_valid_o = (state_q == S_SEND);
  assign tick_o              = tick;
  assign bus_we_o            = bus_we_q;
  assign bus_addr_o          = arg_addr;
  assign bus_wdata_o         = arg_word;
endmodule

`default_nettype wire
