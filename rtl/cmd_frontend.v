// cmd_frontend: the board's command front end (rtl/PROTOCOL.md section 6):
// executes the commands of the frames that frame_sequencer passes on, on the
// core bus (rtl/README.md, "Bus and memory map"), and answers each one with an
// ACK (with its reply data) or a NACK through frame_encoder.
//
//   rx_fifo --(ready_o)--> frame_decoder --payload--> frame RAM (one payload)
//   frame_sequencer --verdict--> command FSM --bus--> core <--bus-- run FSM <-- input queue
//                                           \--reply bytes--> frame_encoder
//   core spikes --> spike RAM            run FSM --> step log RAM
//
// Windowed receive: frames wait in the receive FIFO (rtl/rx_fifo.v) in front
// of the decoder, which is fed only while ready_o is high: the command FSM is
// idle and no frame end is on its way through the decoder and the sequencer
// (the two clocks after a frame's last byte).  So a frame is decoded only when
// the front end can take it, none is lost while it is busy, and the payload
// RAM is never overwritten while a command reads it.  A frame the decoder
// flagged bad is never executed (only a verdict starts a command, and the
// sequencer gives APPLY/REPLAY only after frame_ok).
//
// Commands are executed as a list of items, one bus access (or FIFO / RAM
// access) each: the payload bytes an item needs are gathered from the payload
// RAM, then the item is checked (pre-scan of sparse payloads, before anything
// is written), written, or read into the reply.  A duplicate (REPLAY) of a
// side-effecting command is answered from the frame RAM with the answer its
// first copy got, and applied nothing; a duplicate read is executed again.
//
// RUN is executed by the run FSM after its ACK: before each step the input
// spikes due are written to INJECT, then the core is ticked (as soon as it is
// idle, or every RUN period clocks), and in the core's done clock the step is
// committed: its spikes become readable, its log entry (cycles, late) is
// counted and steps_left counts down, as the core's STEP counts up.  A step is not started
// while the spike RAM has room for fewer than N_NEURONS events or the step log
// is full: the host's reads free them, so nothing is ever lost.  STOP ends the
// run after the step in progress.  Every clock of this is in rtl/PROTOCOL.md
// ("RUN timing"); neurohw.targets.fpga.board_model reproduces it.
//
// The core's STEP, OVERRUNS and DROPPED come in on wires of their own (core_*_i), so a
// commit needs no bus reads and READ_COUNTERS sees them while the core runs.
//
// The bus is the registered one (core.v BUS_REGISTERED = 1; bus_scratch.v has the same
// timing): the core acts on a write or a tick in the clock after this module drives it,
// and read data is the word at the address of BUS_READ_CLOCKS (3) clocks before.  So no
// path runs through both this module's logic and the core's decode or RAMs.  Reads hold
// their address and wait for the data; the core is busy from the second clock after a
// tick (the run FSM waits for done_i and never looks at busy in between).
`default_nettype none

module cmd_frontend #(
  parameter integer MAX_PAYLOAD    = 255,        // the decoder's, reported by IDENTIFY
  parameter integer N_NEURONS      = 256,        // the core's parameters (rtl/README.md)
  parameter integer N_INPUTS       = 256,
  parameter integer WEIGHT_W       = 8,
  parameter integer DELAY_DEPTH    = 16,
  parameter integer HAS_CORE       = 1,          // 0: a scratch memory is on the bus (IDENTIFY says so)
  parameter integer SPARSE         = 0,          // 1: core_sparse.v, synapse lists (rtl/README.md, "The sparse core")
  parameter integer SYNAPSES       = 0,          // its synapse words and column index entries
  parameter integer PLASTIC_SYNAPSES = 0,
  parameter integer SPIKE_DEPTH    = 2 * N_NEURONS,  // output spike events buffered, a power of two >= N_NEURONS
  parameter integer INPUT_DEPTH    = 256,        // input spike events queued, a power of two
  parameter integer STEP_LOG_DEPTH = 512,        // step log entries, a power of two, <= 32768
  parameter integer RX_FIFO_BYTES  = 2048,       // the receive FIFO's size, reported by IDENTIFY
  parameter integer READ_REGS      = 1,          // 1: RAM read data registered before use (ECP5); 0: not (iCE40)
  parameter integer ICE40_DSP      = 0,   // 1: the reject and overflow counters in an SB_MAC16 (counter_pair)
  parameter integer RECORD_COMMANDS = 1,         // 0: no WRITE/READ_NEURON_PARAMS, WRITE_DELAYS, WRITE_STDP (IDENTIFY says so)
  parameter integer SPARSE_WEIGHT_COMMANDS = 1,  // 0: no WRITE/READ_WEIGHTS_SPARSE (IDENTIFY says so)
  parameter [31:0]  CLOCK_HZ       = 32'd24_000_000,  // this clock, reported by IDENTIFY
  parameter [31:0]  BUILD_ID       = 32'h0000_0001
) (
  input  wire        clk_i,
  input  wire        rst_ni,
  output wire        ready_o,          // the decoder may take the next receive FIFO entry
  input  wire        rx_overflow_i,    // rx_fifo queued an overflow mark (counted)
  // frame_decoder
  input  wire [7:0]  cmd_i,
  input  wire [7:0]  seq_i,
  input  wire [7:0]  len_i,
  input  wire        hdr_valid_i,
  input  wire [7:0]  payload_i,
  input  wire [7:0]  payload_idx_i,
  input  wire        payload_valid_i,
  input  wire        frame_end_i,      // frame_ok_o | frame_err_o of the decoder
  input  wire [15:0] frame_crc_i,      // the decoder's crc_o: the frame's CRC
  // frame_sequencer
  input  wire        verdict_valid_i,
  input  wire [1:0]  verdict_i,
  input  wire [7:0]  nack_code_i,
  input  wire [7:0]  expected_seq_i,
  input  wire [15:0] link_accepted_i,
  input  wire [15:0] link_duplicates_i,
  input  wire [15:0] link_out_of_order_i,
  input  wire [15:0] link_frame_errors_i,
  input  wire [15:0] link_nacks_i,
  input  wire [15:0] link_not_synced_i,
  // frame_encoder
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
  input  wire        core_done_i,
  input  wire [31:0] core_step_cycles_i,
  input  wire [31:0] core_step_i,       // the core's STEP, OVERRUNS, DROPPED registers
  input  wire [31:0] core_overruns_i,
  input  wire [31:0] core_dropped_i,
  input  wire        core_spike_valid_i,
  input  wire [$clog2(N_NEURONS)-1:0] core_spike_id_i,
  output wire        core_reset_o,     // RESET bit 4: the core's rst_ni, for one clock
  output wire        tick_o,
  output wire        bus_we_o,
  output wire [23:0] bus_addr_o,
  output wire [31:0] bus_wdata_o,
  input  wire [31:0] bus_rdata_i
);
  localparam integer NEU_W = $clog2(N_NEURONS);
  localparam integer SRC_W = NEU_W + 1;
  localparam integer IN_W  = $clog2(N_INPUTS);
  localparam integer SP_W  = $clog2(SPIKE_DEPTH);
  localparam integer IF_W  = $clog2(INPUT_DEPTH);
  localparam integer LOG_W = $clog2(STEP_LOG_DEPTH);
  // items a buffer holds, 0..depth: the spike RAM's or the step log's
  localparam integer HELD_W = ((SP_W > LOG_W) ? SP_W : LOG_W) + 1;
  localparam integer WB    = (WEIGHT_W + 8) / 8;   // bytes of a weight word {plastic, weight}
  localparam [7:0]   WB8   = WB[7:0];
  localparam [20:0]  N21   = N_NEURONS[20:0];
  // words of the weight region: the dense 2N x N matrix, or the sparse core's synapses
  localparam integer WEIGHT_WORDS = (SPARSE != 0) ? SYNAPSES : 2 * N_NEURONS * N_NEURONS;
  localparam [20:0]  W21   = WEIGHT_WORDS[20:0];
  localparam [20:0]  P21   = PLASTIC_SYNAPSES[20:0];
  localparam         HAS_LISTS = (SPARSE != 0);
  // RECORD_COMMANDS = 0 (the UP5K board): the record commands, conveniences over WRITE_BUS
  // and READ_BUS, are answered UNKNOWN_COMMAND and the host uses the bus commands instead;
  // every arm of theirs below is then constant, so their logic is not built
  localparam         RECORDS   = (RECORD_COMMANDS != 0);
  // the same for WRITE/READ_WEIGHTS_SPARSE (SPARSE_WEIGHT_COMMANDS = 0, the UP5K board: the
  // host sends runs of consecutive synapses as WRITE/READ_WEIGHTS_BULK instead); the sparse
  // core, which has no (source, neuron) matrix, never has them
  localparam         SPARSE_W  = (SPARSE_WEIGHT_COMMANDS != 0) && !HAS_LISTS;
  localparam [8:0]   WB9   = WB[8:0];
  localparam [8:0]   MAX_W_READ = 9'd254 / WB9;     // weight words in one reply
  // read data arrives this many clocks after its address (core.v BUS_REGISTERED = 1)
  localparam [1:0]   BUS_READ_CLOCKS = 2'd3;

  // ---- protocol constants ---------------------------------------------------------------
  localparam [1:0] V_SILENT = 2'd0;
  localparam [1:0] V_APPLY  = 2'd1;
  localparam [1:0] V_NACK   = 2'd3;

  localparam [7:0] C_IDENTIFY       = 8'h01;
  localparam [7:0] C_RESET          = 8'h02;
  localparam [7:0] C_WRITE_BUS      = 8'h08;
  localparam [7:0] C_READ_BUS       = 8'h09;
  localparam [7:0] C_WRITE_NEURONS  = 8'h10;
  localparam [7:0] C_READ_NEURONS   = 8'h11;
  localparam [7:0] C_WRITE_W_BULK   = 8'h20;
  localparam [7:0] C_WRITE_W_SPARSE = 8'h21;
  localparam [7:0] C_READ_W_BULK    = 8'h22;
  localparam [7:0] C_READ_W_SPARSE  = 8'h23;
  localparam [7:0] C_WRITE_DELAYS   = 8'h24;
  localparam [7:0] C_WRITE_STDP     = 8'h30;
  localparam [7:0] C_LOAD_INPUTS    = 8'h40;
  localparam [7:0] C_RUN            = 8'h41;
  localparam [7:0] C_READ_SPIKES    = 8'h42;
  localparam [7:0] C_READ_LOG       = 8'h43;
  localparam [7:0] C_STOP           = 8'h44;
  localparam [7:0] C_READ_COUNTERS  = 8'h50;
  localparam [7:0] C_ACK            = 8'h80;
  localparam [7:0] C_NACK           = 8'h81;

  localparam [7:0] E_NONE            = 8'h00;
  localparam [7:0] E_UNKNOWN_COMMAND = 8'h11;
  localparam [7:0] E_BAD_LENGTH      = 8'h12;
  localparam [7:0] E_OUT_OF_RANGE    = 8'h13;
  localparam [7:0] E_BUSY            = 8'h14;
  localparam [7:0] E_NOT_SYNCED      = 8'h15;
  localparam [7:0] FIRST_COMMAND_ERROR = 8'h10;   // lower codes are the decoder's

  localparam [3:0] R_CONTROL = 4'h0;
  localparam [3:0] R_PROFILE = 4'h1;
  localparam [3:0] R_V       = 4'h2;
  localparam [3:0] R_I_EXC   = 4'h3;
  localparam [3:0] R_I_INH   = 4'h4;
  localparam [3:0] R_CTL     = 4'h5;
  localparam [3:0] R_POST    = 4'h6;
  localparam [3:0] R_PRE     = 4'h7;
  localparam [3:0] R_DELAY   = 4'h8;
  localparam [3:0] R_WEIGHT  = 4'h9;
  localparam [3:0] R_ROW     = 4'hA;     // the sparse core's rows and columns (RESET empties them)
  localparam [3:0] R_COLUMN  = 4'hB;
  localparam [19:0] REG_STEP     = 20'h10;
  localparam [19:0] REG_OVERRUNS = 20'h12;
  localparam [19:0] REG_DROPPED  = 20'h13;
  localparam [19:0] REG_INJECT   = 20'h14;

  // neuron record: v, i_exc, i_inh (3 bytes each), control word, post trace (2 each) = 13 bytes;
  // STDP block: enable u8, A+, A-, w_min, w_max, pre decay, post decay (2 each) = 13 bytes
  localparam [8:0] N_COUNTERS  = 9'd16;   // READ_COUNTERS words
  localparam [8:0] IDENT_WORDS = 9'd7;    // IDENTIFY reply after the echoed command: 28 bytes
  localparam [7:0] MAX_SPIKES_READ = 8'd41;   // events of 6 bytes in one reply
  localparam [7:0] MAX_LOG_READ    = 8'd62;   // log entries of 4 bytes in one reply

  // ---- command FSM states ------------------------------------------------------------------
  localparam [3:0] S_IDLE     = 4'd0;
  localparam [3:0] S_CHECK    = 4'd1;   // act on the validation; set up the item loop
  localparam [3:0] S_ITEM     = 4'd2;   // next item: gather its bytes, or act on it
  localparam [3:0] S_GATHER   = 4'd3;   // payload address out
  localparam [3:0] S_GATHER_D = 4'd4;   // payload byte in
  localparam [3:0] S_READ     = 4'd5;   // bus / spike RAM address out, held BUS_READ_CLOCKS clocks
  localparam [3:0] S_READ_D   = 4'd6;   // read data in: the item's reply bytes
  localparam [3:0] S_RESET    = 4'd7;   // RESET: core reset, front-end counters
  localparam [3:0] S_FILL     = 4'd8;   // RESET: zero-fill sweeps
  localparam [3:0] S_FILL_RMW = 4'd9;   // RESET: wait for the control word, write it back (profile kept)
  localparam [3:0] S_START    = 4'd11;  // hand the reply header to the encoder
  localparam [3:0] S_EMIT     = 4'd12;  // stream the bytes of out_q
  localparam [3:0] S_DONE     = 4'd13;  // the encoder took the last byte
  localparam [3:0] S_VALIDATE = 4'd14;  // validate the frame (registered: a clock of its own)

  localparam [1:0] P_SCAN  = 2'd0;      // item passes: check every item, write, reply
  localparam [1:0] P_WRITE = 2'd1;
  localparam [1:0] P_REPLY = 2'd2;

  // ---- run FSM states ----------------------------------------------------------------------
  localparam [2:0] RS_IDLE   = 3'd0;
  localparam [2:0] RS_INJ    = 3'd1;    // input queue address out
  localparam [2:0] RS_INJ_W  = 3'd6;    // its entry out of the RAM (and registered, READ_REGS = 1)
  localparam [2:0] RS_INJ_D  = 3'd2;    // the head entry: inject it if due
  localparam [2:0] RS_WAIT   = 3'd3;    // wait for spike and log room, the period, an idle core
  localparam [2:0] RS_STEP   = 3'd4;    // the core runs the step; commit it in its done clock

  // ---- frame capture --------------------------------------------------------------------------
  // The decoder is fed only while ready_o (see the header), so every header and payload
  // byte it streams arrives while the command FSM is idle.
  reg  [3:0]  state_q, state_d;
  reg  [63:0] arg_q;                      // payload bytes 0..7, byte i at [8i +: 8]

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      arg_q <= 64'd0;
    end else if (payload_valid_i && payload_idx_i < 8'd8) begin
      arg_q[payload_idx_i[2:0]*8 +: 8] <= payload_i;
    end
  end
  assign ready_o = (state_q == S_IDLE) & ~frame_end_i & ~verdict_valid_i;

  // The payload's records, counted as the bytes arrive (no divider): the quotient and
  // remainder of (LEN - skip) by the record size of the frame's command, known from the
  // header on (cmd_i holds until the next frame's header, which waits for S_IDLE):
  // WRITE_NEURON_PARAMS 13-byte records after a u16, LOAD_INPUT_SPIKES 6 bytes,
  // WRITE_WEIGHTS_SPARSE 4 + WB, WRITE_WEIGHTS_BULK WB after a u24
  reg  [7:0] records_q;
  reg  [3:0] record_byte_q;                // bytes of the record being received
  reg  [3:0] record_last;                  // record size - 1
  reg  [1:0] record_skip;                  // bytes before the first record
  always @(*) begin
    case (cmd_i)
      C_WRITE_NEURONS:  begin record_last = RECORDS ? 4'd12 : WB[3:0] - 4'd1;
                              record_skip = RECORDS ? 2'd2 : 2'd3; end
      C_LOAD_INPUTS:    begin record_last = 4'd5;           record_skip = 2'd0; end
      C_WRITE_W_SPARSE: begin record_last = SPARSE_W ? WB[3:0] + 4'd3 : WB[3:0] - 4'd1;
                              record_skip = SPARSE_W ? 2'd0 : 2'd3; end
      default:          begin record_last = WB[3:0] - 4'd1; record_skip = 2'd3; end   // WRITE_WEIGHTS_BULK
    endcase
  end
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      records_q     <= 8'd0;
      record_byte_q <= 4'd0;
    end else if (hdr_valid_i) begin
      records_q     <= 8'd0;
      record_byte_q <= 4'd0;
    end else if (payload_valid_i && payload_idx_i >= {6'd0, record_skip}) begin
      record_byte_q <= (record_byte_q == record_last) ? 4'd0 : record_byte_q + 4'd1;
      if (record_byte_q == record_last) records_q <= records_q + 8'd1;
    end
  end
  wire records_whole = (record_byte_q == 4'd0);   // LEN - skip is a multiple of the size

  // The front end's RAMs are ram_1r1w_nrw (no read-during-write guarantee, no bypass
  // logic): none of them is ever read at the word written in the same clock, as each
  // says below.  The payload bytes are in the frame RAM (with the answers, below): written
  // only while a frame is decoded (the command FSM in S_IDLE), read only while a command
  // runs (S_GATHER).
  reg  [7:0] pidx_q, pidx_d;              // payload read index
  wire [7:0] payload_rdata;

  // ---- command registers -----------------------------------------------------------------------
  reg  [7:0]  cmd_q, cmd_d, seq_q, seq_d, len_q, len_d;
  reg  [15:0] crc_q, crc_d;               // the frame's CRC: a duplicate carries the same
  reg         apply_q, apply_d;           // APPLY (else REPLAY: a read again, or the frame RAM's answer)
  reg  [1:0]  pass_q, pass_d;
  reg  [8:0]  items_q, items_d;           // items left in this pass
  reg  [8:0]  items_all_q, items_all_d;   // items of a pass, for the next pass
  reg  [2:0]  field_q, field_d;           // field within a record (neuron, STDP block)
  // (24 bits: a bus address; an event or log index only addresses its RAM)
  reg  [23:0] index_q, index_d;           // bus offset / neuron / source / event of the item;
                                          // RESET: the word of the sweep
  reg  [55:0] gather_q, gather_d;         // the item's payload bytes, little-endian
  reg  [2:0]  gathered_q, gathered_d;
  reg         scan_bad_q, scan_bad_d;     // the pre-scan found an item out of range
  reg  [7:0]  reply_cmd_q, reply_cmd_d, reply_len_q, reply_len_d;
  reg  [47:0] out_q, out_d;               // reply bytes of the current item, next in [7:0]
  reg  [2:0]  out_n_q, out_n_d;
  reg  [4:0]  reset_what_q, reset_what_d;
  reg  [3:0]  fill_q, fill_d;             // RESET sweep phase
  reg  [1:0]  rd_wait_q, rd_wait_d;       // clocks S_READ / S_FILL_RMW have waited for read data
  wire [15:0] rejected_count;             // command NACKs (BoardEndpoint.counters.rejected)
  wire [15:0] overflow_count;             // receive FIFO overflow marks

  // shared state with the run FSM
  reg  [2:0]  run_q, run_d;
  reg  [31:0] run_left_q, run_left_d;     // steps left of the RUN, the step in progress included
  reg  [31:0] period_q;
  // The period slot, as a down counter (one decrementer, no compares): slot_q =
  // max(period - k + 1, 0) in the k-th clock after a tick, so a step may tick when
  // slot_q <= 1 (k >= period) and is late when slot_q = 0 (k > period).
  reg  [31:0] slot_q;
  reg         first_step_q;               // no step of this RUN has ticked yet (never late)
  // DROPPED as of the last commit (READ_COUNTERS): the core counts it up while a step runs,
  // in clocks that BoardModel does not model; STEP and OVERRUNS change only at a commit's
  // clock (or a bus write, while no RUN goes on) and are used straight from the core
  reg  [31:0] dropped_q;
  // absolute output event indices: written by the core, committed (readable), freed
  // The tails are kept modulo 2^HELD_W only: the items held (head - tail) never exceed the
  // buffer's depth, so their low bits give every difference the front end takes exactly
  reg  [31:0] spike_head_q, spike_done_q;
  reg  [HELD_W-1:0] spike_tail_q;
  reg  [31:0] log_head_q;                 // absolute step log indices: written, freed
  reg  [HELD_W-1:0] log_tail_q;
  reg  [IF_W:0] in_wr_q, in_rd_q;
  wire        running = (run_q != RS_IDLE);

  // ---- per-command item descriptors ------------------------------------------------------------
  // region of neuron record field f
  function [3:0] neuron_region;
    input [2:0] f;
    case (f)
      3'd0: neuron_region = R_V;
      3'd1: neuron_region = R_I_EXC;
      3'd2: neuron_region = R_I_INH;
      3'd3: neuron_region = R_CTL;
      default: neuron_region = R_POST;
    endcase
  endfunction
  function [2:0] neuron_bytes;
    input [2:0] f;
    neuron_bytes = (f < 3'd3) ? 3'd3 : 3'd2;
  endfunction
  function [19:0] stdp_reg;
    input [2:0] f;
    case (f)
      3'd0: stdp_reg = 20'h00;              // STDP_ENABLE
      default: stdp_reg = {17'd0, f} + 20'h03;  // A_PLUS 0x04 .. POST_DECAY 0x09
    endcase
  endfunction
  // words in each bus region (rtl/README.md memory map); 0: unmapped
  function [20:0] region_size;
    input [3:0] r;
    case (r)
      4'h0: region_size = 21'd64;
      4'h1: region_size = 21'd128;
      4'h2, 4'h3, 4'h4, 4'h5, 4'h6: region_size = N21;
      4'h7, 4'h8: region_size = N21 << 1;
      4'h9: region_size = W21;
      4'hA: region_size = HAS_LISTS ? N21 << 1 : 21'd0;
      4'hB: region_size = HAS_LISTS ? N21 : 21'd0;
      4'hC: region_size = HAS_LISTS ? P21 : 21'd0;     // the column index
      default: region_size = 21'd0;
    endcase
  endfunction

  // multiples by constants, as shifts and adds: yosys maps a '*' of two signals (even
  // if one is constant after the mux of a case) onto an ECP5 multiplier block, whose
  // combinational path alone takes ~5 ns of the 13.3 ns at 75 MHz
  function [8:0] times5;
    input [8:0] x;
    times5 = (x << 2) + x;
  endfunction
  function [7:0] times13;
    input [7:0] x;
    times13 = (x << 3) + (x << 2) + x;
  endfunction
  function [7:0] times_wb;                  // x * WB, WB = 1..3 (WEIGHT_W <= 16)
    input [7:0] x;
    times_wb = (WB == 1) ? x : (WB == 2) ? (x << 1) : (x << 1) + x;
  endfunction

  wire [8:0]  len9     = {1'b0, len_q};
  wire [23:0] arg_u24  = arg_q[23:0];
  wire [15:0] arg_u16  = arg_q[15:0];
  wire [31:0] arg_u32  = arg_q[31:0];
  wire [7:0]  arg_b2   = arg_q[23:16];      // count after a u16
  wire [7:0]  arg_b3   = arg_q[31:24];      // count after a u24
  wire [7:0]  arg_b4   = arg_q[39:32];      // count after a u32
  wire [8:0]  data3    = len9 - 9'd3;       // payload bytes after a u24 address
  wire [8:0]  data2    = len9 - 9'd2;       // after a u16 index
  // READ_OUTPUT_SPIKES / READ_STEP_LOG: first must lie in [tail, committed head]: else it
  // is freed already, or not yet readable; the reply holds min(max, available) items.
  // The two differences are registered every clock while the command FSM idles (off
  // S_VALIDATE's path), from the decoder's command (cmd_q is latched only with the
  // verdict), and hold from S_VALIDATE on: the validation and the reply's header see the
  // buffers as they were in the verdict's clock (rtl/PROTOCOL.md section 7).  Of the
  // 32-bit difference head - first only its low HELD_W bits are kept, and whether the
  // rest is 0: a read whose first is further back than that is not held, and is refused
  // before its reply's header (which sends the difference) is made.
  reg  [HELD_W-1:0] ahead_q;               // items from first to the committed head, low bits
  reg               ahead_far_q;           // ... and its bits from HELD_W up are not all 0
  reg  [HELD_W-1:0] held_q;                // items held: committed head - tail
  wire [31:0]       log_ahead   = log_head_q - arg_u32;
  wire [31:0]       spike_ahead = spike_done_q - arg_u32;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ahead_q     <= {HELD_W{1'b0}};
      ahead_far_q <= 1'b0;
      held_q      <= {HELD_W{1'b0}};
    end else if (state_q == S_IDLE) begin
      if (cmd_i == C_READ_LOG) begin
        ahead_q     <= log_ahead[HELD_W-1:0];
        ahead_far_q <= |log_ahead[31:HELD_W];
        held_q      <= log_head_q[HELD_W-1:0] - log_tail_q;
      end else begin
        ahead_q     <= spike_ahead[HELD_W-1:0];
        ahead_far_q <= |spike_ahead[31:HELD_W];
        held_q      <= spike_done_q[HELD_W-1:0] - spike_tail_q;
      end
    end
  end
  wire [31:0] ahead       = {{(32-HELD_W){1'b0}}, ahead_q};   // the difference, when read_unkept is 0
  wire        read_unkept = ahead_far_q || (ahead_q > held_q);
  wire        read_fewer  = (ahead[31:8] == 24'd0) && (ahead[7:0] < arg_b4);
  wire [8:0]  read_items  = {1'b0, read_fewer ? ahead[7:0] : arg_b4};
  wire [IF_W:0] in_used = in_wr_q - in_rd_q;

  // The range checks "first + count > size" of every command, on one adder: its operands
  // are registered every clock from the decoder's command and length and
  // from the payload bytes, which are all in by the clock after the frame's last payload
  // byte; the verdict comes at least two clocks later (the CRC bytes, the sequencer), so
  // S_VALIDATE sees this frame's operands, and its path holds one adder and compare.
  wire [8:0]  len_i9 = {1'b0, len_i};
  reg  [20:0] range_first_q;               // first word / record / source of the span
  reg  [8:0]  range_count_q;               // words / records / delays it covers
  reg  [20:0] range_size_q;                // the region's words / records / sources
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      range_first_q <= 21'd0;
      range_count_q <= 9'd0;
      range_size_q  <= 21'd0;
    end else begin
      range_first_q <= {1'b0, arg_u24[19:0]};
      range_size_q  <= region_size(arg_u24[23:20]);
      case (cmd_i)
        C_WRITE_BUS:     range_count_q <= (len_i9 - 9'd3) >> 2;
        C_READ_BUS:      range_count_q <= {1'b0, arg_b3};
        C_WRITE_NEURONS: if (RECORDS) begin range_first_q <= {5'd0, arg_u16};
                               range_count_q <= {1'b0, records_q}; range_size_q <= N21; end
                         else range_count_q <= 9'd0;
        C_READ_NEURONS:  if (RECORDS) begin range_first_q <= {5'd0, arg_u16};
                               range_count_q <= {1'b0, arg_b2}; range_size_q <= N21; end
                         else range_count_q <= 9'd0;
        C_WRITE_W_BULK:  begin range_count_q <= {1'b0, records_q}; range_size_q <= W21; end
        C_READ_W_BULK:   begin range_count_q <= {1'b0, arg_b3}; range_size_q <= W21; end
        C_WRITE_DELAYS:  if (RECORDS) begin range_first_q <= {5'd0, arg_u16};
                               range_count_q <= len_i9 - 9'd2; range_size_q <= N21 << 1; end
                         else range_count_q <= 9'd0;
        default:         range_count_q <= 9'd0;
      endcase
    end
  end
  wire range_bad = (range_first_q + {12'd0, range_count_q}) > range_size_q;

  // payload bytes an item needs, in pass pass_q
  reg [2:0] item_in;
  always @(*) begin
    case (cmd_q)
      C_WRITE_BUS:      item_in = 3'd4;
      C_WRITE_NEURONS:  item_in = RECORDS ? neuron_bytes(field_q) : 3'd0;
      C_WRITE_W_BULK:   item_in = WB[2:0];
      C_WRITE_W_SPARSE: item_in = SPARSE_W ? 3'd4 + WB[2:0] : 3'd0;
      C_READ_W_SPARSE:  item_in = SPARSE_W ? 3'd4 : 3'd0;
      C_WRITE_DELAYS:   item_in = RECORDS ? 3'd1 : 3'd0;
      C_WRITE_STDP:     item_in = !RECORDS ? 3'd0 : (field_q == 3'd0) ? 3'd1 : 3'd2;
      C_LOAD_INPUTS:    item_in = 3'd6;
      default:          item_in = 3'd0;
    endcase
  end

  wire [15:0] sparse_pre  = gather_q[15:0];
  wire [15:0] sparse_post = gather_q[31:16];
  wire [15:0] load_channel = gather_q[47:32];
  wire sparse_in_range = (sparse_pre < {N21[14:0], 1'b0}) && (sparse_post < N21[15:0]);

  // the dense matrix's {source, neuron} offset of WRITE/READ_WEIGHTS_SPARSE: 20 bits for
  // core.v (N <= 512); wider only on the sparse core, which refuses those commands, so
  // its top bits are never used (sized to the sum so that no width goes negative)
  // (waiver: on the sparse core's 1024 neurons bit 20 is unused, as said)
  localparam integer DENSE_W = (SRC_W + NEU_W > 20) ? SRC_W + NEU_W : 20;
  /* verilator lint_off UNUSEDSIGNAL */
  wire [DENSE_W-1:0] dense_offset = {{(DENSE_W-SRC_W-NEU_W){1'b0}},
                                     sparse_pre[SRC_W-1:0], sparse_post[NEU_W-1:0]};
  /* verilator lint_on UNUSEDSIGNAL */

  // bus address of the item
  reg [23:0] item_addr;
  always @(*) begin
    case (cmd_q)
      C_WRITE_NEURONS, C_READ_NEURONS:
        item_addr = RECORDS ? {neuron_region(field_q), index_q[19:0]} : index_q[23:0];
      C_WRITE_W_BULK, C_READ_W_BULK:   item_addr = {R_WEIGHT, index_q[19:0]};
      C_WRITE_W_SPARSE, C_READ_W_SPARSE:
        item_addr = SPARSE_W ? {R_WEIGHT, dense_offset[19:0]} : index_q[23:0];
      C_WRITE_DELAYS:                  item_addr = RECORDS ? {R_DELAY, index_q[19:0]} : index_q[23:0];
      C_WRITE_STDP:                    item_addr = RECORDS ? {R_CONTROL, stdp_reg(field_q)} : index_q[23:0];
      default:                         item_addr = index_q[23:0];   // WRITE_BUS, READ_BUS
    endcase
  end
  wire [31:0] item_wdata = (SPARSE_W && cmd_q == C_WRITE_W_SPARSE) ? {8'd0, gather_q[55:32]}
                                                                   : gather_q[31:0];

  // reply bytes of a read item
  reg [2:0] item_out;
  always @(*) begin
    case (cmd_q)
      C_READ_NEURONS:                  item_out = RECORDS ? neuron_bytes(field_q) : 3'd4;
      C_READ_W_BULK:                   item_out = WB[2:0];
      C_READ_W_SPARSE:                 item_out = SPARSE_W ? WB[2:0] : 3'd4;
      C_READ_SPIKES:                   item_out = 3'd6;
      default:                         item_out = 3'd4;   // bus words, counters, IDENTIFY, log entries
    endcase
  end
  // fields per record, for the record index to advance
  wire [2:0] last_field = !RECORDS ? 3'd0
                        : (cmd_q == C_WRITE_NEURONS || cmd_q == C_READ_NEURONS) ? 3'd4
                        : (cmd_q == C_WRITE_STDP) ? 3'd6 : 3'd0;

  // ---- RESET sweeps ---------------------------------------------------------------------------
  // phase: region, first offset, words, the RESET bit that selects it.  The synapses
  // (bit 1): the dense weight matrix zeroed, or the sparse core's rows and columns
  // emptied (phase 7, a clock of nothing on the dense cores).  The profiles (bit 4, with
  // the core's rst_ni): all 128 offsets of the region, {profile, field}; the cores
  // ignore the unused fields 9..15.  A sweep rather than a clear in each core: the
  // cores' flops that said "written since rst_ni" cost 234 LCs on the UP5K.
  reg [3:0]  fill_region;
  reg [19:0] fill_base;
  reg [20:0] fill_words;
  reg        fill_enabled;
  always @(*) begin
    fill_base  = 20'd0;
    fill_words = N21;
    case (fill_q)
      4'd0: begin fill_region = R_V;       fill_enabled = reset_what_q[0]; end
      4'd1: begin fill_region = R_I_EXC;   fill_enabled = reset_what_q[0]; end
      4'd2: begin fill_region = R_I_INH;   fill_enabled = reset_what_q[0]; end
      4'd3: begin fill_region = R_POST;    fill_enabled = reset_what_q[0]; end
      4'd4: begin fill_region = R_PRE;     fill_enabled = reset_what_q[0]; fill_words = N21 << 1; end
      4'd5: begin fill_region = R_CTL;     fill_enabled = reset_what_q[0]; end
      4'd6: begin fill_region = HAS_LISTS ? R_ROW : R_WEIGHT; fill_enabled = reset_what_q[1];
                  fill_words = HAS_LISTS ? N21 << 1 : W21; end
      4'd7: begin fill_region = R_COLUMN;  fill_enabled = reset_what_q[1] && HAS_LISTS; end
      4'd8: begin fill_region = R_CONTROL; fill_enabled = reset_what_q[2]; fill_base = REG_STEP;     fill_words = 21'd1; end
      4'd9: begin fill_region = R_CONTROL; fill_enabled = reset_what_q[2]; fill_base = REG_OVERRUNS; fill_words = 21'd1; end
      4'd10: begin fill_region = R_CONTROL; fill_enabled = reset_what_q[2]; fill_base = REG_DROPPED; fill_words = 21'd1; end
      default: begin fill_region = R_PROFILE; fill_enabled = reset_what_q[4]; fill_words = 21'd128; end
    endcase
  end
  localparam [3:0] FILL_CTL    = 4'd5;    // read-modify-write: the profile index stays
  localparam [3:0] FILL_PHASES = 4'd12;
  wire [19:0] sweep = index_q[19:0];      // the sweep's word (RESET has no items)
  wire fill_last = ({1'b0, sweep} + 21'd1 == fill_words);

  // ---- READ_COUNTERS and IDENTIFY words --------------------------------------------------------
  // Each READ_COUNTERS word is the value of the clock in which its item is read (S_READ_D):
  // the reply takes many UART byte times while a run goes on, so a step committed meanwhile
  // shows in the words read after it (rtl/PROTOCOL.md section 6).  Only the receive FIFO's
  // overflow count (14) is latched in S_CHECK: bytes go on arriving during the reply, and
  // the host's polling needs no other word to belong to one instant (READ_OUTPUT_SPIKES and
  // READ_STEP_LOG check what they are asked for).  Protocol 3.2 latched the six 32-bit words
  // that a commit changes into a shift register (192 flip-flops: 69 LCs of the UP5K more
  // than this multiplexer).
  // (The step statistics a host wants, the longest and total step and the late steps,
  // it takes from the step log, which holds every step: protocol 2 kept three more
  // 32-bit counters for them, 174 LCs of the UP5K.)
  reg  [15:0] counters_overflows_q;
  reg  [31:0] counter_word;          // READ_COUNTERS word index_q
  always @(*) begin
    case (index_q[3:0])
      4'd0:  counter_word = core_step_i;
      4'd1:  counter_word = core_step_cycles_i;
      4'd2:  counter_word = core_overruns_i;
      4'd3:  counter_word = dropped_q;
      4'd4:  counter_word = run_left_q;
      4'd5:  counter_word = spike_done_q;
      4'd6:  counter_word = {{(31-IF_W){1'b0}}, in_used};
      4'd7:  counter_word = {16'd0, link_accepted_i};
      4'd8:  counter_word = {16'd0, link_duplicates_i};
      4'd9:  counter_word = {16'd0, link_out_of_order_i};
      4'd10: counter_word = {16'd0, link_frame_errors_i};
      4'd11: counter_word = {16'd0, link_nacks_i};
      4'd12: counter_word = {16'd0, rejected_count};
      4'd13: counter_word = log_head_q;
      4'd14: counter_word = {16'd0, counters_overflows_q};
      default: counter_word = {16'd0, link_not_synced_i};
    endcase
  end
  wire counters_latch = (state_q == S_CHECK) && (cmd_q == C_READ_COUNTERS);

  localparam [7:0]  PROTO_MAJOR = 8'd3;
  localparam [7:0]  PROTO_MINOR = 8'd3;
  // IDENTIFY's board byte: bit 0 a core is on the bus, bit 1 the record commands are absent
  // (protocol 3.1; a 3.0 board sends 0 or 1), bit 2 the sparse weight commands (3.2)
  localparam [7:0]  FEATURES    = {5'd0, SPARSE_WEIGHT_COMMANDS == 0, !RECORDS, HAS_CORE != 0};
  localparam [7:0]  MAX_WINDOW  = 8'd127;   // the sequence rules' limit: frames are queued in the FIFO
  localparam [15:0] RX_BYTES    = RX_FIFO_BYTES[15:0];
  localparam [15:0] LOG_ENTRIES = STEP_LOG_DEPTH[15:0];
  wire [223:0] identity = {BUILD_ID, LOG_ENTRIES,
                           INPUT_DEPTH[15:0], SPIKE_DEPTH[15:0],
                           FEATURES, WB8, DELAY_DEPTH[7:0], WEIGHT_W[7:0],
                           N_INPUTS[15:0], N_NEURONS[15:0], CLOCK_HZ, RX_BYTES,
                           MAX_WINDOW, MAX_PAYLOAD[7:0], PROTO_MINOR, PROTO_MAJOR};

  // ---- spike RAM (output events), step log RAM and input queue ---------------------------------
  wire [31:0]      spike_step;
  wire [NEU_W-1:0] spike_neuron;
  // Written at spike_head_q, read at committed events [spike_tail_q, spike_done_q): a step
  // starts with head - tail <= SPIKE_DEPTH - N_NEURONS and writes at most N_NEURONS events,
  // so every write lands at most SPIKE_DEPTH - 1 after the tail, never on a readable event
  ram_1r1w_nrw #(.WIDTH(32 + NEU_W), .ADDR_W(SP_W)) u_spike_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(index_q[SP_W-1:0]), .rdata_o({spike_step, spike_neuron}),
    .we_i(core_spike_valid_i), .waddr_i(spike_head_q[SP_W-1:0]),
    .wdata_i({core_step_i, core_spike_id_i}));

  // a log entry: {late, cycles u24} (cycles saturate at 2^24 - 1, far above any step of the core)
  reg              commit;               // the run FSM commits a step this clock
  reg              late_step_q;          // the step in progress started after its period slot
  wire [23:0]      cycles_u24 = (|core_step_cycles_i[31:24]) ? 24'hFF_FFFF : core_step_cycles_i[23:0];
  wire             log_late;
  wire [23:0]      log_cycles;
  // A commit (the core's done clock) counts the entry; it is written in the next clock, when
  // the core's STEP_CYCLES holds the step's, at the index counted (log_head_q before the
  // commit).  Read at [log_tail_q, log_head_q): a step starts only with a free entry
  // (log_room_q), so the write never lands on a readable entry, and a READ_STEP_LOG that
  // counts the new entry (S_VALIDATE after the commit) reads it from S_CHECK + 2 on.
  reg              log_we_q;
  reg [LOG_W-1:0]  log_waddr_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      log_we_q    <= 1'b0;
      log_waddr_q <= {LOG_W{1'b0}};
    end else begin
      log_we_q    <= commit;
      log_waddr_q <= log_head_q[LOG_W-1:0];
    end
  end
  ram_1r1w_nrw #(.WIDTH(25), .ADDR_W(LOG_W)) u_log_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(index_q[LOG_W-1:0]), .rdata_o({log_late, log_cycles}),
    .we_i(log_we_q), .waddr_i(log_waddr_q), .wdata_i({late_step_q, cycles_u24}));

  // The two RAMs' words as used (READ_REGS, below): S_READ holds index_q for
  // BUS_READ_CLOCKS (3) clocks, so the copy of the clock before S_READ_D is the word at
  // index_q too, and the reply's select in S_READ_D may start from a register
  wire [31:0]      spike_step_rd;
  wire [NEU_W-1:0] spike_neuron_rd;
  wire             log_late_rd;
  wire [23:0]      log_cycles_rd;

  wire            fifo_write = (state_q == S_ITEM) & (pass_q == P_WRITE) & (cmd_q == C_LOAD_INPUTS)
                               & (gathered_q == item_in) & (items_q != 9'd0);
  wire [31:0]     input_step;
  wire [IN_W-1:0] input_channel;
  // The queue's head as used (READ_REGS, below): RS_INJ puts in_rd_q out, which holds
  // through RS_INJ_W, so RS_INJ_D sees the head entry either way
  wire [31:0]     head_step_rd;
  wire [IN_W-1:0] head_channel_rd;
  // Written at in_wr_q only while the queue is not full, read at in_rd_q: the addresses
  // differ unless the queue is empty, and RS_INJ does not use an empty queue's word
  ram_1r1w_nrw #(.WIDTH(32 + IN_W), .ADDR_W(IF_W)) u_input_fifo (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(in_rd_q[IF_W-1:0]), .rdata_o({input_step, input_channel}),
    .we_i(fifo_write), .waddr_i(in_wr_q[IF_W-1:0]),
    .wdata_i({gather_q[31:0], load_channel[IN_W-1:0]}));

  // ---- validation ------------------------------------------------------------------------------
  // check_code: the answer a frame gets whatever the core's state (E_NONE: go on)
  reg [7:0] check_code;
  reg [8:0] check_items;                   // items of the first pass
  reg [1:0] check_pass;
  always @(*) begin
    check_code  = E_NONE;
    check_items = 9'd0;
    check_pass  = P_WRITE;
    case (cmd_q)
      C_IDENTIFY: begin
        check_pass = P_REPLY; check_items = IDENT_WORDS;
        if (len_q != 8'd0) check_code = E_BAD_LENGTH;
      end
      C_RESET: begin
        if (len_q != 8'd1)                check_code = E_BAD_LENGTH;
        else if (arg_q[7:5] != 3'd0)      check_code = E_OUT_OF_RANGE;
      end
      C_WRITE_BUS: begin
        check_items = data3 >> 2;
        if (len_q < 8'd7 || data3[1:0] != 2'd0)            check_code = E_BAD_LENGTH;
        else if (range_bad)                                check_code = E_OUT_OF_RANGE;
      end
      C_READ_BUS: begin
        check_pass = P_REPLY; check_items = {1'b0, arg_b3};
        if (len_q != 8'd4)                                               check_code = E_BAD_LENGTH;
        else if (arg_b3 == 8'd0 || arg_b3 > 8'd63 || range_bad)
                                                                         check_code = E_OUT_OF_RANGE;
      end
      C_WRITE_NEURONS: begin
        check_items = RECORDS ? times5({1'b0, records_q}) : 9'd0;  // five fields per record
        if (!RECORDS)                                               check_code = E_UNKNOWN_COMMAND;
        else if (len_q < 8'd15 || !records_whole)                   check_code = E_BAD_LENGTH;
        else if (range_bad)                                         check_code = E_OUT_OF_RANGE;
      end
      C_READ_NEURONS: begin
        check_pass = P_REPLY; check_items = RECORDS ? times5({1'b0, arg_b2}) : 9'd0;
        if (!RECORDS)                                                      check_code = E_UNKNOWN_COMMAND;
        else if (len_q != 8'd3)                                            check_code = E_BAD_LENGTH;
        else if (arg_b2 == 8'd0 || arg_b2 > 8'd19 || range_bad)
                                                                           check_code = E_OUT_OF_RANGE;
      end
      C_WRITE_W_BULK: begin
        check_items = {1'b0, records_q};
        if (HAS_LISTS)                                                     check_code = E_UNKNOWN_COMMAND;
        else if (len_q < 8'd3 + WB8 || !records_whole)               check_code = E_BAD_LENGTH;
        else if (range_bad || arg_u24[23:20] != 4'd0)
                                                                           check_code = E_OUT_OF_RANGE;
      end
      C_READ_W_BULK: begin
        check_pass = P_REPLY; check_items = {1'b0, arg_b3};
        if (HAS_LISTS)                                                     check_code = E_UNKNOWN_COMMAND;
        else if (len_q != 8'd4)                                            check_code = E_BAD_LENGTH;
        else if (arg_b3 == 8'd0 || {1'b0, arg_b3} > MAX_W_READ
                 || range_bad || arg_u24[23:20] != 4'd0)
                                                                           check_code = E_OUT_OF_RANGE;
      end
      C_WRITE_W_SPARSE: begin
        check_pass = P_SCAN; check_items = SPARSE_W ? {1'b0, records_q} : 9'd0;
        if (!SPARSE_W)                                check_code = E_UNKNOWN_COMMAND;
        else if (len_q == 8'd0 || !records_whole)     check_code = E_BAD_LENGTH;
      end
      C_READ_W_SPARSE: begin
        check_pass = P_SCAN; check_items = SPARSE_W ? len9 >> 2 : 9'd0;
        if (!SPARSE_W)                                check_code = E_UNKNOWN_COMMAND;
        else if (len_q == 8'd0 || len_q[1:0] != 2'd0) check_code = E_BAD_LENGTH;
      end
      C_WRITE_DELAYS: begin
        check_items = RECORDS ? data2 : 9'd0;
        if (!RECORDS)                                              check_code = E_UNKNOWN_COMMAND;
        else if (len_q < 8'd3)                                     check_code = E_BAD_LENGTH;
        else if (range_bad)                                        check_code = E_OUT_OF_RANGE;
      end
      C_WRITE_STDP: begin
        check_items = RECORDS ? 9'd7 : 9'd0;
        if (!RECORDS)            check_code = E_UNKNOWN_COMMAND;
        else if (len_q != 8'd13) check_code = E_BAD_LENGTH;
      end
      C_LOAD_INPUTS: begin
        check_pass = P_SCAN; check_items = {1'b0, records_q};
        if (len_q == 8'd0 || !records_whole) check_code = E_BAD_LENGTH;
      end
      C_RUN: begin
        if (len_q != 8'd4 && len_q != 8'd8) check_code = E_BAD_LENGTH;
      end
      C_READ_SPIKES: begin
        check_pass = P_REPLY; check_items = read_items;
        if (len_q != 8'd5)                                          check_code = E_BAD_LENGTH;
        else if (arg_b4 > MAX_SPIKES_READ)                          check_code = E_OUT_OF_RANGE;
        // events already freed, or not yet readable (this check depends on the
        // state, which a read's may: a rejected read changes nothing)
        else if (read_unkept)                                       check_code = E_OUT_OF_RANGE;
      end
      C_READ_LOG: begin
        check_pass = P_REPLY; check_items = read_items;
        if (len_q != 8'd5)                                          check_code = E_BAD_LENGTH;
        else if (arg_b4 > MAX_LOG_READ)                             check_code = E_OUT_OF_RANGE;
        else if (read_unkept)                                       check_code = E_OUT_OF_RANGE;
      end
      C_STOP: begin
        if (len_q != 8'd0) check_code = E_BAD_LENGTH;
      end
      C_READ_COUNTERS: begin
        check_pass = P_REPLY; check_items = N_COUNTERS;
        if (len_q != 8'd0) check_code = E_BAD_LENGTH;
      end
      default: check_code = E_UNKNOWN_COMMAND;
    endcase
  end

  // the validation, registered in S_VALIDATE and used from S_CHECK on
  reg [7:0]  check_code_q;
  reg [8:0]  check_items_q;
  reg [1:0]  check_pass_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      check_code_q      <= E_NONE;
      check_items_q     <= 9'd0;
      check_pass_q      <= P_WRITE;
    end else if (state_q == S_VALIDATE) begin
      check_code_q      <= check_code;
      check_items_q     <= check_items;
      check_pass_q      <= check_pass;
    end
  end

  // the reply length of a read (P_REPLY), from the registered item count (used in
  // S_CHECK): the echoed command, the available count of the streamed reads, the items
  // (constant sizes: no multiplier); READ_WEIGHTS_SPARSE sets its own after the pre-scan
  wire       counted_read = (cmd_q == C_READ_SPIKES) || (cmd_q == C_READ_LOG);
  wire [7:0] items8       = check_items_q[7:0];
  reg  [7:0] check_reply_len;
  always @(*) begin
    case (cmd_q)
      C_READ_NEURONS:  check_reply_len = RECORDS ? 8'd1 + times13(arg_b2) : 8'd1 + (items8 << 2);
      C_READ_W_BULK:   check_reply_len = 8'd1 + times_wb(items8);
      C_READ_SPIKES:   check_reply_len = 8'd5 + (items8 << 2) + (items8 << 1);
      C_READ_LOG:      check_reply_len = 8'd5 + (items8 << 2);
      default:         check_reply_len = 8'd1 + (items8 << 2);   // words: READ_BUS, IDENTIFY, READ_COUNTERS
    endcase
  end

  // commands that use the bus (refused while the core runs) or the FIFO (refused when full)
  wire uses_bus = (cmd_q != C_IDENTIFY) && (cmd_q != C_READ_SPIKES) && (cmd_q != C_READ_COUNTERS)
                  && (cmd_q != C_LOAD_INPUTS) && (cmd_q != C_READ_LOG) && (cmd_q != C_STOP);
  localparam [IF_W+8:0] INPUT_ROOM = INPUT_DEPTH[IF_W+8:0];
  // registered, off the FSM's path: the room of the previous clock (the queue only drains
  // meanwhile, so it never claims room that is not there)
  reg  fifo_room_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) fifo_room_q <= 1'b0;
    else         fifo_room_q <= ({8'd0, in_used} + {{(IF_W+1){1'b0}}, check_items_q[7:0]} <= INPUT_ROOM);
  end
  wire fifo_room = fifo_room_q;
  wire is_read = (check_pass_q == P_REPLY) || (cmd_q == C_READ_W_SPARSE);

  // ---- answers of side-effecting commands, by SEQ -------------------------------------------------
  // A duplicate (REPLAY) of a side-effecting command gets the answer its first copy got:
  // ACK (0) or the NACK code, written with that frame's CRC as the answer goes to the
  // encoder.  So a command answered BUSY (or OUT_OF_RANGE by a pre-scan) whose NACK was
  // lost is NACKed again, never ACKed unapplied.  A "duplicate" whose CRC differs from the
  // frame applied under its SEQ is another frame: the host is out of step with the board
  // (it is behind; e.g. another host identified the board): NACK NOT_SYNCED, applied
  // nothing.  Reads (REPLAY) are executed again instead.
  wire [15:0] outcome_crc;
  wire [7:0]  outcome;
  wire        outcome_we = (state_q == S_START) & apply_q & ~is_read;
  // The frame RAM: 256 words of {answer CRC, answer, payload byte}, one block RAM fewer
  // than a payload RAM and an answer RAM.  Its lanes are never used together: a payload
  // byte is written at its index while a frame is decoded (S_IDLE) and read at pidx_q
  // while a command runs; an answer is written at seq_q in S_START and read at the
  // decoder's SEQ while the command FSM idles.  So the read address is seq_i in S_IDLE,
  // else pidx_q, and the write address the answer's in S_START, else the payload's.
  ram_1r1w_nrw #(.WIDTH(32), .ADDR_W(8), .LANES(4)) u_frame_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i((state_q == S_IDLE) ? seq_i : pidx_q),
    .rdata_o({outcome_crc, outcome, payload_rdata}),
    .we_i({{3{outcome_we}}, payload_valid_i}), .waddr_i(outcome_we ? seq_q : payload_idx_i),
    .wdata_i({crc_q, (reply_cmd_q == C_NACK) ? out_q[15:8] : E_NONE, payload_i}));
  // The answer is read with the decoder's SEQ, which holds until the next frame (not
  // decoded before S_IDLE) and is out from the frame's SEQ byte on, clocks before its
  // verdict (LEN and the two CRC bytes follow it; no answer is written from S_DONE on, and
  // the frame's last payload byte is written at least the two CRC bytes before the
  // verdict): the word is compared in S_VALIDATE (READ_REGS, below: the copy of the
  // clock before is the same word) and the answer registered there, off S_CHECK's path.
  wire [15:0] outcome_crc_rd;
  wire [7:0]  outcome_rd;

  // ---- RAM read data as used -------------------------------------------------------------------
  // READ_REGS = 1 registers the read words of the spike, log, input and frame RAMs
  // before any logic uses them (ECP5: a DP16KD's output takes ~6 ns of the 13.3 ns at
  // 75 MHz); 0 uses them straight from the RAMs (iCE40 at 24 MHz, where the 129 flip-flops
  // would each take an LC of their own).  The clocks are the same either way: each read
  // address is out for a clock before its word is used and no write lands on it meanwhile
  // (each RAM says why), so the registered copy and the RAM's output are the same word.
  localparam integer RD_W = 32 + NEU_W + 1 + 24 + 32 + IN_W + 16 + 8;
  wire [RD_W-1:0] rd_ram = {spike_step, spike_neuron, log_late, log_cycles,
                            input_step, input_channel, outcome_crc, outcome};
  wire [RD_W-1:0] rd_used;
  generate
    if (READ_REGS != 0) begin : g_read_regs
      reg [RD_W-1:0] rd_q;
      always @(posedge clk_i) rd_q <= rd_ram;
      assign rd_used = rd_q;
    end else begin : g_read_direct
      assign rd_used = rd_ram;
    end
  endgenerate
  assign {spike_step_rd, spike_neuron_rd, log_late_rd, log_cycles_rd,
          head_step_rd, head_channel_rd, outcome_crc_rd, outcome_rd} = rd_used;
  reg  [7:0]  replay_code_q;              // a duplicate's answer: E_NONE (ACK), a NACK code, NOT_SYNCED
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)                    replay_code_q <= E_NONE;
    else if (state_q == S_VALIDATE) replay_code_q <= (outcome_crc_rd != crc_q) ? E_NOT_SYNCED : outcome_rd;
  end

  // ---- command FSM ------------------------------------------------------------------------------
  reg        cmd_we;                      // the command FSM writes the bus this clock
  reg [23:0] cmd_addr;
  reg [31:0] cmd_wdata;
  reg        core_reset_d, core_reset_q;
  reg        start_run, stop_run, free_spikes, free_log, clear_counters, clear_inputs, count_reject;
  counter_pair #(.ICE40_DSP(ICE40_DSP)) u_counters (
    .clk_i(clk_i), .rst_ni(rst_ni), .inc_a_i(count_reject), .inc_b_i(rx_overflow_i),
    .count_a_o(rejected_count), .count_b_o(overflow_count));

  task automatic nack;
    input [7:0] code;
    begin
      reply_cmd_d  = C_NACK;
      reply_len_d  = 8'd3;
      out_d        = {24'd0, expected_seq_i, code, cmd_q};
      out_n_d      = 3'd3;
      state_d      = S_START;
      count_reject = 1'b1;
    end
  endtask

  // the reply is an ACK: the echoed command, then the items (reads)
  task automatic ack;
    begin
      reply_cmd_d = C_ACK;
      out_d       = {40'd0, cmd_q};
      out_n_d     = 3'd1;
      state_d     = S_START;
    end
  endtask

  always @(*) begin
    state_d        = state_q;
    cmd_d          = cmd_q;
    seq_d          = seq_q;
    len_d          = len_q;
    crc_d          = crc_q;
    apply_d        = apply_q;
    pass_d         = pass_q;
    items_d        = items_q;
    items_all_d    = items_all_q;
    field_d        = field_q;
    index_d        = index_q;
    gather_d       = gather_q;
    gathered_d     = gathered_q;
    scan_bad_d     = scan_bad_q;
    pidx_d         = pidx_q;
    reply_cmd_d    = reply_cmd_q;
    reply_len_d    = reply_len_q;
    out_d          = out_q;
    out_n_d        = out_n_q;
    reset_what_d   = reset_what_q;
    fill_d         = fill_q;
    rd_wait_d      = 2'd0;
    cmd_we         = 1'b0;
    cmd_addr       = item_addr;
    cmd_wdata      = item_wdata;
    core_reset_d   = 1'b0;
    start_run      = 1'b0;
    stop_run       = 1'b0;
    free_spikes    = 1'b0;
    free_log       = 1'b0;
    clear_counters = 1'b0;
    clear_inputs   = 1'b0;
    count_reject   = 1'b0;
    case (state_q)
      S_IDLE: begin
        if (verdict_valid_i && verdict_i != V_SILENT) begin
          cmd_d   = cmd_i;
          seq_d   = seq_i;
          len_d   = len_i;
          crc_d   = frame_crc_i;
          apply_d = (verdict_i == V_APPLY);
          if (verdict_i == V_NACK) begin
            // the sequencer's NACK: the frame is not executed
            reply_cmd_d = C_NACK;
            reply_len_d = 8'd3;
            out_n_d     = 3'd3;
            state_d     = S_START;
            if (nack_code_i < FIRST_COMMAND_ERROR) begin
              // an unreadable frame: nothing of it is echoed
              seq_d = expected_seq_i;
              out_d = {24'd0, expected_seq_i, nack_code_i, 8'd0};
            end else begin
              out_d = {24'd0, expected_seq_i, nack_code_i, cmd_i};
            end
          end else begin
            state_d = S_VALIDATE;
          end
        end
      end

      S_VALIDATE: state_d = S_CHECK;

      S_CHECK: begin
        pass_d      = check_pass_q;
        items_d     = check_items_q;
        items_all_d = check_items_q;
        field_d     = 3'd0;
        gathered_d  = 3'd0;
        scan_bad_d  = 1'b0;
        reply_len_d = 8'd1;
        case (cmd_q)
          C_WRITE_BUS, C_READ_BUS, C_READ_W_BULK:  begin index_d = arg_u24; pidx_d = 8'd3; end
          C_WRITE_W_BULK:                          begin index_d = arg_u24; pidx_d = 8'd3; end
          C_WRITE_NEURONS, C_READ_NEURONS, C_WRITE_DELAYS: if (RECORDS) begin
                                                     index_d = {8'd0, arg_u16}; pidx_d = 8'd2; end
                                                   else begin index_d = 24'd0; pidx_d = 8'd0; end
          C_READ_SPIKES, C_READ_LOG:               begin index_d = arg_u24; pidx_d = 8'd0; end
          default:                                 begin index_d = 24'd0; pidx_d = 8'd0; end
        endcase
        reset_what_d = arg_q[4:0];
        if (!apply_q && !is_read) begin
          // a duplicate of a side-effecting command: the answer its first copy got, not applied
          if (replay_code_q == E_NONE) ack();
          else                         nack(replay_code_q);
        end else if (check_code_q != E_NONE) begin
          nack(check_code_q);
        end else if (running && uses_bus) begin
          nack(E_BUSY);                      // a repeated read too: the bus is the run's
        end else if (cmd_q == C_RESET) begin
          state_d = S_RESET;
        end else if (cmd_q == C_RUN) begin
          start_run = 1'b1;
          ack();
        end else if (cmd_q == C_STOP) begin
          stop_run = 1'b1;
          ack();
        end else begin
          state_d = S_ITEM;
          if (check_pass_q == P_REPLY) begin
            // the reply header: echoed command, and for the streamed reads the items available
            ack();
            reply_len_d = check_reply_len;
            if (counted_read) begin
              out_d       = {8'd0, ahead, cmd_q};
              out_n_d     = 3'd5;
              free_spikes = apply_q & (cmd_q == C_READ_SPIKES);
              free_log    = apply_q & (cmd_q == C_READ_LOG);
            end
          end
        end
      end

      S_ITEM: begin
        if (items_q == 9'd0) begin
          // end of a pass
          pidx_d     = 8'd0;
          gathered_d = 3'd0;
          field_d    = 3'd0;
          items_d    = items_all_q;
          case (pass_q)
            P_SCAN: begin
              if (scan_bad_q)                       nack(E_OUT_OF_RANGE);
              else if (SPARSE_W && cmd_q == C_READ_W_SPARSE) begin
                pass_d      = P_REPLY;
                ack();
                reply_len_d = 8'd1 + times_wb(items_all_q[7:0]);
              end
              else if (cmd_q == C_LOAD_INPUTS && !fifo_room) nack(E_BUSY);   // checked here, after the scan
              else                                  pass_d = P_WRITE;
            end
            P_WRITE: ack();
            default: state_d = S_DONE;       // P_REPLY: every byte has been handed over
          endcase
        end else if (gathered_q != item_in) begin
          state_d = S_GATHER;
        end else if (pass_q == P_REPLY) begin
          state_d = S_READ;                  // the item is counted when its data is in
        end else begin
          // the item's bytes are in gather_q: check or write it
          gathered_d = 3'd0;
          gather_d   = 56'd0;
          items_d    = items_q - 9'd1;
          field_d    = (field_q == last_field) ? 3'd0 : field_q + 3'd1;
          if (field_q == last_field) index_d = index_q + 24'd1;
          case (pass_q)
            P_SCAN: begin
              if (cmd_q == C_LOAD_INPUTS) begin
                if (load_channel >= N_INPUTS[15:0]) scan_bad_d = 1'b1;
              end else if (SPARSE_W && !sparse_in_range) begin
                scan_bad_d = 1'b1;
              end
            end
            default: cmd_we = (cmd_q != C_LOAD_INPUTS);   // LOAD_INPUT_SPIKES: fifo_write
          endcase
        end
      end

      S_GATHER: state_d = S_GATHER_D;        // payload address pidx_q out

      S_GATHER_D: begin
        gather_d[gathered_q*8 +: 8] = payload_rdata;
        gathered_d = gathered_q + 3'd1;
        pidx_d     = pidx_q + 8'd1;
        state_d    = S_ITEM;
      end

      S_READ: begin
        // the address (item_addr, index_q) stays out until the data is in; the front end's
        // own RAMs answer sooner, but one wait for every read keeps one timing
        if (rd_wait_q == BUS_READ_CLOCKS - 2'd1) state_d = S_READ_D;
        else                                     rd_wait_d = rd_wait_q + 2'd1;
      end

      S_READ_D: begin
        case (cmd_q)
          C_IDENTIFY:      out_d = {16'd0, identity[index_q[2:0]*32 +: 32]};
          C_READ_COUNTERS: out_d = {16'd0, counter_word};
          C_READ_SPIKES:   out_d = {{(16-NEU_W){1'b0}}, spike_neuron_rd, spike_step_rd};
          C_READ_LOG:      out_d = {16'd0, log_late_rd, 7'd0, log_cycles_rd};
          default:         out_d = {16'd0, bus_rdata_i};
        endcase
        out_n_d    = item_out;
        gathered_d = 3'd0;
        gather_d   = 56'd0;
        items_d    = items_q - 9'd1;
        field_d    = (field_q == last_field) ? 3'd0 : field_q + 3'd1;
        if (field_q == last_field) index_d = index_q + 24'd1;
        state_d    = S_EMIT;
      end

      S_RESET: begin
        core_reset_d   = reset_what_q[4];
        clear_counters = reset_what_q[2];
        clear_inputs   = reset_what_q[3];
        fill_d         = 4'd0;
        index_d        = 24'd0;
        state_d        = S_FILL;
      end

      S_FILL: begin
        cmd_addr  = {fill_region, fill_base + sweep};
        cmd_wdata = 32'd0;
        if (core_reset_q) begin
          cmd_we = 1'b0;                     // the core is in reset this clock
        end else if (fill_q == FILL_PHASES) begin
          ack();
        end else if (!fill_enabled) begin
          fill_d = fill_q + 4'd1;
        end else if (fill_q == FILL_CTL) begin
          state_d = S_FILL_RMW;              // the control word is read; S_FILL_RMW writes it back
        end else begin
          cmd_we  = 1'b1;
          index_d = fill_last ? 24'd0 : index_q + 24'd1;
          if (fill_last) fill_d = fill_q + 4'd1;
        end
      end

      S_FILL_RMW: begin
        // S_FILL put the read address out; the word is in BUS_READ_CLOCKS clocks after it
        cmd_addr  = {fill_region, fill_base + sweep};
        cmd_wdata = bus_rdata_i & 32'h0000_0700;   // keep the profile; refractory and spike flag 0
        if (rd_wait_q != BUS_READ_CLOCKS - 2'd1) begin
          rd_wait_d = rd_wait_q + 2'd1;
        end else begin
          cmd_we  = 1'b1;
          index_d = fill_last ? 24'd0 : index_q + 24'd1;
          if (fill_last) fill_d = fill_q + 4'd1;
          state_d = S_FILL;
        end
      end

      S_START: begin
        if (enc_idle_i) state_d = S_EMIT;
      end

      S_EMIT: begin
        if (enc_payload_ready_i) begin
          out_d   = {8'd0, out_q[47:8]};
          out_n_d = out_n_q - 3'd1;
          if (out_n_q == 3'd1) state_d = (reply_cmd_q == C_ACK && pass_q == P_REPLY) ? S_ITEM : S_DONE;
        end
      end

      S_DONE: state_d = S_IDLE;

      default: state_d = S_IDLE;
    endcase
  end

  // ---- run FSM -----------------------------------------------------------------------------------
  // Clocks (rtl/PROTOCOL.md, "RUN timing"): RUN's S_CHECK clock a starts it (RS_INJ at a+1);
  // each due input costs 3 clocks (RS_INJ, RS_INJ_W, RS_INJ_D), the check that ends the
  // injection 1 (queue empty) or 3 (head not due yet); RS_WAIT ticks when the room flags (registered:
  // the state of the clock before), the period and an idle core allow it; the step's tick at
  // T (the core sees it in T + 1), core done and the commit at T + 1 + C; RS_INJ at T + C + 2.
  reg        run_we, run_tick;
  reg [23:0] run_addr;
  reg [31:0] run_wdata;
  reg        spike_room_q, log_room_q;   // room for N_NEURONS events / one log entry, last clock
  wire       period_due = (slot_q[31:1] == 31'd0);
  wire       input_due  = (head_step_rd <= core_step_i);
  wire       fifo_empty = (in_rd_q == in_wr_q);
  wire       step_in_progress = (run_q == RS_STEP);

  always @(*) begin
    run_d      = run_q;
    run_left_d = run_left_q;
    run_we     = 1'b0;
    run_tick   = 1'b0;
    commit     = 1'b0;
    run_addr   = {R_CONTROL, REG_INJECT};
    run_wdata  = {{(32-IN_W){1'b0}}, head_channel_rd};
    case (run_q)
      RS_INJ:   run_d = fifo_empty ? RS_WAIT : RS_INJ_W;
      RS_INJ_W: run_d = RS_INJ_D;
      RS_INJ_D: begin
        if (input_due) begin
          run_we = 1'b1;
          run_d  = RS_INJ;
        end else begin
          run_d  = RS_WAIT;
        end
      end
      RS_WAIT: begin
        if (spike_room_q && log_room_q && period_due && !core_busy_i) begin
          run_tick = 1'b1;
          run_d    = RS_STEP;
        end
      end
      RS_STEP: begin
        if (core_done_i) begin
          commit     = 1'b1;
          run_left_d = run_left_q - 32'd1;
          run_d      = (run_left_q == 32'd1) ? RS_IDLE : RS_INJ;
        end
      end
      default: ;                             // RS_IDLE: RUN starts the FSM
    endcase
    if (start_run) begin
      run_left_d = arg_u32;
      if (arg_u32 != 32'd0) run_d = RS_INJ;
    end
    // STOP: the step in progress completes and is the last; between steps the run ends now
    // (inputs already injected stay in the core's delay ring, the rest stays queued)
    if (stop_run) begin
      if (step_in_progress && !commit) begin
        run_left_d = 32'd1;
      end else begin
        run_left_d = 32'd0;
        run_d      = RS_IDLE;
        run_we     = 1'b0;
        run_tick   = 1'b0;
      end
    end
  end

  // ---- registers --------------------------------------------------------------------------------
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q      <= S_IDLE;
      cmd_q        <= 8'd0;
      seq_q        <= 8'd0;
      len_q        <= 8'd0;
      crc_q        <= 16'd0;
      apply_q      <= 1'b0;
      pass_q       <= P_WRITE;
      items_q      <= 9'd0;
      items_all_q  <= 9'd0;
      field_q      <= 3'd0;
      index_q      <= 24'd0;
      gather_q     <= 56'd0;
      gathered_q   <= 3'd0;
      scan_bad_q   <= 1'b0;
      pidx_q       <= 8'd0;
      reply_cmd_q  <= C_ACK;
      reply_len_q  <= 8'd0;
      out_q        <= 48'd0;
      out_n_q      <= 3'd0;
      reset_what_q <= 5'd0;
      fill_q       <= 4'd0;
      rd_wait_q    <= 2'd0;
      core_reset_q <= 1'b0;
      counters_overflows_q <= 16'd0;
      run_q        <= RS_IDLE;
      run_left_q   <= 32'd0;
      period_q     <= 32'd0;
      slot_q       <= 32'd0;
      first_step_q <= 1'b0;
      late_step_q  <= 1'b0;
    end else begin
      state_q      <= state_d;
      cmd_q        <= cmd_d;
      seq_q        <= seq_d;
      len_q        <= len_d;
      crc_q        <= crc_d;
      apply_q      <= apply_d;
      pass_q       <= pass_d;
      items_q      <= items_d;
      items_all_q  <= items_all_d;
      field_q      <= field_d;
      index_q      <= index_d;
      gather_q     <= gather_d;
      gathered_q   <= gathered_d;
      scan_bad_q   <= scan_bad_d;
      pidx_q       <= pidx_d;
      reply_cmd_q  <= reply_cmd_d;
      reply_len_q  <= reply_len_d;
      out_q        <= out_d;
      out_n_q      <= out_n_d;
      reset_what_q <= reset_what_d;
      fill_q       <= fill_d;
      rd_wait_q    <= rd_wait_d;
      core_reset_q <= core_reset_d;
      if (counters_latch) counters_overflows_q <= overflow_count;
      run_q        <= run_d;
      run_left_q   <= run_left_d;
      if (start_run) period_q <= (len_q == 8'd8) ? arg_q[63:32] : 32'd0;
      // the period slot: a run's first step is due at once and never late
      if (start_run)            slot_q <= 32'd0;
      else if (run_tick)        slot_q <= period_q;
      else if (slot_q != 32'd0) slot_q <= slot_q - 32'd1;
      if (start_run)     first_step_q <= 1'b1;
      else if (run_tick) first_step_q <= 1'b0;
      // a step of a stepped run that starts after its period slot
      if (run_tick) late_step_q <= (period_q != 32'd0) && !first_step_q && (slot_q == 32'd0);
    end
  end

  // ---- DROPPED, counters, spike, log and input indices ---------------------------------------------
  localparam [31:0] SPIKE_ROOM = SPIKE_DEPTH - N_NEURONS;
  localparam [31:0] LOG_SIZE   = STEP_LOG_DEPTH;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dropped_q      <= 32'd0;
      spike_head_q   <= 32'd0;
      spike_done_q   <= 32'd0;
      spike_tail_q   <= {HELD_W{1'b0}};
      log_head_q     <= 32'd0;
      log_tail_q     <= {HELD_W{1'b0}};
      spike_room_q   <= 1'b0;
      log_room_q     <= 1'b0;
      in_wr_q        <= {(IF_W+1){1'b0}};
      in_rd_q        <= {(IF_W+1){1'b0}};
    end else begin
      // the core's DROPPED but while a step runs: the commit's (done) clock takes its final count
      if (run_q != RS_STEP || core_done_i) dropped_q <= core_dropped_i;
      spike_room_q <= (spike_head_q[HELD_W-1:0] - spike_tail_q) <= SPIKE_ROOM[HELD_W-1:0];
      log_room_q   <= (log_head_q[HELD_W-1:0] - log_tail_q) != LOG_SIZE[HELD_W-1:0];
      if (clear_counters) begin
        spike_head_q   <= 32'd0;
        spike_done_q   <= 32'd0;
        spike_tail_q   <= {HELD_W{1'b0}};
        log_head_q     <= 32'd0;
        log_tail_q     <= {HELD_W{1'b0}};
      end else begin
        // the commit: the step's log entry and spikes, in one clock
        if (commit) begin
          log_head_q   <= log_head_q + 32'd1;
          spike_done_q <= spike_head_q;
        end
        if (core_spike_valid_i) spike_head_q <= spike_head_q + 32'd1;
        if (free_spikes)        spike_tail_q <= arg_u32[HELD_W-1:0];
        if (free_log)           log_tail_q   <= arg_u32[HELD_W-1:0];
      end
      if (fifo_write) in_wr_q <= in_wr_q + 1'b1;
      if (clear_inputs) in_rd_q <= in_wr_q;
      else if (run_we)  in_rd_q <= in_rd_q + 1'b1;
    end
  end

  // ---- outputs -------------------------------------------------------------------------------------
  assign enc_start_o         = (state_q == S_START) & enc_idle_i;
  assign enc_len_o           = reply_len_q;
  assign enc_cmd_o           = reply_cmd_q;
  assign enc_seq_o           = seq_q;
  assign enc_payload_o       = out_q[7:0];
  assign enc_payload_valid_o = (state_q == S_EMIT);
  assign core_reset_o        = core_reset_q;
  assign tick_o              = run_tick;
  assign bus_we_o            = cmd_we | run_we;
  assign bus_addr_o          = running ? run_addr : cmd_addr;
  assign bus_wdata_o         = running ? run_wdata : cmd_wdata;
endmodule

`default_nettype wire
