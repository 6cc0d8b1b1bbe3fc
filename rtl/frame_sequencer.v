// frame_sequencer: the board's sequence-number rules (rtl/PROTOCOL.md section 4).
//
// Sits behind frame_decoder and tells the command front end what to do with
// each frame it reports, one clock after frame_ok_i / frame_err_i:
//   APPLY  - a new frame (seq == expected) or an IDENTIFY: validate, apply, answer;
//   REPLAY - a duplicate (seq up to 128 behind expected): validate and answer
//            again, apply nothing (idempotent reads are executed again);
//   NACK   - answer NACK with nack_code_o: a decoder error, OUT_OF_ORDER
//            for a seq ahead of the expected one (a frame was lost), or
//            NOT_SYNCED for any good frame but IDENTIFY while unsynchronised;
//   SILENT - nothing: only one NACK is sent per gap (HDLC REJ), until the
//            expected frame arrives.
// IDENTIFY (command 0x01) sets the expected seq to its seq + 1: link sync.
// After reset the sequencer is unsynchronised until the first IDENTIFY: a
// board reset behind the host's back (power glitch, reset button) makes the
// host's next frame fail visibly (NOT_SYNCED, never applied) instead of being
// applied if its seq happens to be 0.  Every such frame gets its NACK (no
// one-per-gap rule: each is the final answer to that frame).
// expected_seq_o is the expected seq after the verdict (the NACK payload's
// "expected SEQ").  frame_decoder holds cmd_o/seq_o until the next frame's
// LEN byte has been taken, so they are still valid with verdict_valid_o.
// Counters wrap at 2^16.
// Golden model: neurohw.targets.fpga.protocol.BoardSequencer (same verdicts,
// same counters).
`default_nettype none

module frame_sequencer #(
  parameter integer ICE40_DSP = 0  // 1: the six counters in three SB_MAC16 (counter_pair)
) (
  input  wire               clk_i,
  input  wire               rst_ni,
  input  wire               frame_ok_i,       // frame_decoder frame_ok_o
  input  wire               frame_err_i,      // frame_decoder frame_err_o
  input  wire [3:0]         err_code_i,       // frame_decoder err_code_o
  input  wire [7:0]         cmd_i,            // frame_decoder cmd_o
  input  wire [7:0]         seq_i,            // frame_decoder seq_o
  output wire               verdict_valid_o,  // pulse: verdict_o and nack_code_o are valid
  output wire [1:0]         verdict_o,        // V_* below
  output wire [7:0]         nack_code_o,      // with V_NACK: PROTOCOL.md error code
  output wire [7:0]         expected_seq_o,
  output wire [15:0] accepted_o,       // APPLY verdicts
  output wire [15:0] duplicates_o,     // REPLAY verdicts
  output wire [15:0] out_of_order_o,   // frames ahead of the expected seq
  output wire [15:0] frame_errors_o,   // frame_err_i pulses
  output wire [15:0] link_nacks_o,     // NACK verdicts for errors and gaps (one per gap)
  output wire [15:0] not_synced_o      // NOT_SYNCED verdicts
);
  localparam [1:0] V_SILENT = 2'd0;
  localparam [1:0] V_APPLY  = 2'd1;
  localparam [1:0] V_REPLAY = 2'd2;
  localparam [1:0] V_NACK   = 2'd3;

  localparam [7:0] CMD_IDENTIFY     = 8'h01;
  localparam [7:0] ERR_OUT_OF_ORDER = 8'h10;
  localparam [7:0] ERR_NOT_SYNCED   = 8'h15;

  reg  [7:0]         expected_q, expected_d;
  reg                nack_out_q, nack_out_d;   // a NACK for the current gap has been sent
  reg                synced_q, synced_d;       // an IDENTIFY has arrived since reset
  reg                valid_q, valid_d;
  reg  [1:0]         verdict_q, verdict_d;
  reg  [7:0]         code_q, code_d;
  reg                count_accepted, count_duplicate, count_out_of_order, count_error, count_nack;
  reg                count_not_synced;

  wire [7:0] ahead = seq_i - expected_q;       // (seq - expected) mod 256

  always @(*) begin
    expected_d         = expected_q;
    nack_out_d         = nack_out_q;
    synced_d           = synced_q;
    count_not_synced   = 1'b0;
    valid_d            = 1'b0;
    verdict_d          = verdict_q;
    code_d             = code_q;
    count_accepted     = 1'b0;
    count_duplicate    = 1'b0;
    count_out_of_order = 1'b0;
    count_error        = 1'b0;
    count_nack         = 1'b0;
    if (frame_err_i || frame_ok_i) begin
      valid_d = 1'b1;
      code_d  = 8'h00;
      if (frame_err_i) begin
        count_error = 1'b1;
        code_d      = {4'h0, err_code_i};
      end else if (cmd_i != CMD_IDENTIFY && !synced_q) begin
        verdict_d        = V_NACK;
        code_d           = ERR_NOT_SYNCED;
        count_not_synced = 1'b1;
      end else if (cmd_i == CMD_IDENTIFY || ahead == 8'd0) begin
        verdict_d      = V_APPLY;
        expected_d     = seq_i + 8'd1;
        nack_out_d     = 1'b0;
        synced_d       = 1'b1;
        count_accepted = 1'b1;
      end else if (ahead[7]) begin              // 128..255 ahead = up to 128 behind
        verdict_d       = V_REPLAY;
        count_duplicate = 1'b1;
      end else begin
        count_out_of_order = 1'b1;
        code_d             = ERR_OUT_OF_ORDER;
      end
      if (count_error || count_out_of_order) begin
        verdict_d  = nack_out_q ? V_SILENT : V_NACK;
        count_nack = !nack_out_q;
        nack_out_d = 1'b1;
        if (nack_out_q) code_d = 8'h00;
      end
    end
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      expected_q     <= 8'd0;
      nack_out_q     <= 1'b0;
      synced_q       <= 1'b0;
      valid_q        <= 1'b0;
      verdict_q      <= V_SILENT;
      code_q         <= 8'h00;
    end else begin
      expected_q     <= expected_d;
      nack_out_q     <= nack_out_d;
      synced_q       <= synced_d;
      valid_q        <= valid_d;
      verdict_q      <= verdict_d;
      code_q         <= code_d;
    end
  end

  assign verdict_valid_o = valid_q;
  assign verdict_o       = verdict_q;
  assign nack_code_o     = code_q;
  assign expected_seq_o  = expected_q;
  counter_pair #(.ICE40_DSP(ICE40_DSP)) u_verdict_counters (
    .clk_i(clk_i), .rst_ni(rst_ni), .inc_a_i(count_accepted), .inc_b_i(count_duplicate),
    .count_a_o(accepted_o), .count_b_o(duplicates_o));
  counter_pair #(.ICE40_DSP(ICE40_DSP)) u_order_counters (
    .clk_i(clk_i), .rst_ni(rst_ni), .inc_a_i(count_out_of_order), .inc_b_i(count_error),
    .count_a_o(out_of_order_o), .count_b_o(frame_errors_o));
  counter_pair #(.ICE40_DSP(ICE40_DSP)) u_nack_counters (
    .clk_i(clk_i), .rst_ni(rst_ni), .inc_a_i(count_nack), .inc_b_i(count_not_synced),
    .count_a_o(link_nacks_o), .count_b_o(not_synced_o));
endmodule

`default_nettype wire
