// core: the time-multiplexed, event-driven LIF/STDP core.
//
// One time step per accepted tick, as a sequence of sweeps over block RAMs.
// Each sweep issues one address per clock into a pipeline (stage 0 = the
// issue, stage 1 = the RAM read, stage 2 = the RAM output register and the
// entry of the leaf datapaths, write-back at stages 3..7, below):
//   (a) deliver: for each spike event due this step (from delay_ring), sweep
//       the active neurons: read the weight, depress it if plastic (STDP on),
//       add it into i_exc or i_inh; the source's pre trace jumps.
//   (b) neurons: sweep the active neurons through lif_neuron_update; spikes
//       go into delay_ring and the spike list; post traces take last step's spike.
//   (c) STDP (if enabled): decay every active source's pre trace, then for
//       each neuron that fired sweep its column of weights and potentiate the
//       plastic ones.
// Every sweep touches each word at most once, and the pipeline drains before
// the next sweep begins (the *_DRAIN states, as many clocks as the sweep's
// last write-back stage), so no word is ever read while a new value for it is
// in flight: no forwarding is needed.
// Cycles per step (rtl/README.md, "Cycle budget"):
//   2 + E*(n_active+7) + (n_active+7) + stdp*((S+4) + P*(S+7)),  S = n_active + n_inputs
// with E events delivered and P neurons fired.  Golden model:
// neurohw.targets.fpga.model.CoreModel.step
//
// The bus (memory map in rtl/README.md) is served only while the core is
// idle and not in the cycle of a tick; read data follows the address by one cycle.
`default_nettype none

module core #(
  parameter integer N_NEURONS   = 256,  // neurons (a power of two, <= 512: the bus offset is 20 bits)
  parameter integer N_INPUTS    = 256,  // input channels (a power of two, <= N_NEURONS)
  parameter integer WEIGHT_W    = 8,    // signed weight width, 2..16
  parameter integer DELAY_DEPTH = 16,   // delay ring slots (a power of two): delays 0..DELAY_DEPTH-1
  // 1: tick_i and the bus inputs pass a register before the core acts on them,
  // and bus_rdata_o is registered too (read data three clocks after the address),
  // so that no path runs from the bus master's logic into the core's decode or
  // from a RAM into the bus master's; 0: the combinational bus described above
  parameter integer BUS_REGISTERED = 0,
  // address bits per weight RAM bank: 14 gives 16K-word banks, one ECP5 16K x 1
  // block per bit (a bench sets it lower to exercise several banks in a small core)
  parameter integer WEIGHT_BANK_ADDR_W = 14
) (
  input  wire                         clk_i,
  input  wire                         rst_ni,
  input  wire                         tick_i,         // start a step (ignored and counted if busy)
  output wire                         busy_o,
  output wire                         done_o,         // one-cycle pulse: the step is complete
  output wire                         overrun_o,      // a tick has arrived while busy
  output wire [31:0]                  step_cycles_o,  // cycles of the last step
  output wire [31:0]                  step_o,         // STEP, OVERRUNS, DROPPED (the bus registers), for
  output wire [31:0]                  overruns_o,     // the front end's run FSM and READ_COUNTERS
  output wire [31:0]                  dropped_o,
  output wire                         spike_valid_o,  // a neuron fires (during sweep (b))
  output wire [$clog2(N_NEURONS)-1:0] spike_id_o,
  input  wire                         bus_we_i,
  input  wire [23:0]                  bus_addr_i,     // {region[3:0], offset[19:0]}
  input  wire [31:0]                  bus_wdata_i,
  output wire [31:0]                  bus_rdata_o     // word at bus_addr_i 1 (BUS_REGISTERED: 3) cycles ago
);
  localparam integer NEU_W   = $clog2(N_NEURONS);
  localparam integer SRC_W   = NEU_W + 1;           // neurons 0..N-1, input channel c is N + c
  localparam integer IN_W    = $clog2(N_INPUTS);
  localparam integer SLOT_W  = $clog2(DELAY_DEPTH);
  localparam integer WORD_W  = WEIGHT_W + 1;        // weight RAM word: {plastic, weight}
  localparam integer CTL_W   = 12;                  // control RAM word: {spike, profile[2:0], refrac[7:0]}

  // ---- states ---------------------------------------------------------------------
  localparam [3:0] S_IDLE       = 4'd0;
  localparam [3:0] S_START      = 4'd1;
  localparam [3:0] S_DLV_FETCH  = 4'd2;   // read the next event of this step's slot
  localparam [3:0] S_DLV_LOAD   = 4'd3;   // latch its source
  localparam [3:0] S_DLV_ROW    = 4'd4;   // sweep its row of weights
  localparam [3:0] S_DLV_DRAIN  = 4'd5;   // until the row's last write-back
  localparam [3:0] S_NEU        = 4'd6;   // sweep the neurons
  localparam [3:0] S_NEU_DRAIN  = 4'd7;
  localparam [3:0] S_XDEC       = 4'd8;   // sweep the sources: pre trace decay
  localparam [3:0] S_XDEC_DRAIN = 4'd9;
  localparam [3:0] S_POT_FETCH  = 4'd10;  // read the next neuron that fired
  localparam [3:0] S_POT_LOAD   = 4'd11;
  localparam [3:0] S_POT_COL    = 4'd12;  // sweep its column of weights
  localparam [3:0] S_POT_DRAIN  = 4'd13;
  localparam [3:0] S_DONE       = 4'd14;

  // ---- the sweep pipeline -------------------------------------------------------------
  // what the item in a pipeline stage belongs to (carried with it, so that a
  // stage acts on its own item whatever sweep is being issued meanwhile)
  localparam [1:0] K_DELIVER = 2'd0;
  localparam [1:0] K_NEURON  = 2'd1;
  localparam [1:0] K_DECAY   = 2'd2;
  localparam [1:0] K_POTENT  = 2'd3;
  // drain clocks after a sweep's last issue: its last write-back stage (the
  // stage list is at "the pipeline" below)
  localparam [2:0] DRAIN_DELIVER = 3'd5;   // weights and currents written at stage 5
  localparam [2:0] DRAIN_NEURON  = 3'd7;   // neuron words written, spike pushed at stage 7
  localparam [2:0] DRAIN_DECAY   = 3'd4;   // pre traces written at stage 4
  localparam [2:0] DRAIN_POTENT  = 3'd5;   // weights written at stage 5

  // ---- bus regions and registers ------------------------------------------------------
  localparam [3:0] R_CONTROL    = 4'h0;
  localparam [3:0] R_PROFILE    = 4'h1;
  localparam [3:0] R_V          = 4'h2;
  localparam [3:0] R_I_EXC      = 4'h3;
  localparam [3:0] R_I_INH      = 4'h4;
  localparam [3:0] R_CTL        = 4'h5;
  localparam [3:0] R_POST_TRACE = 4'h6;
  localparam [3:0] R_PRE_TRACE  = 4'h7;
  localparam [3:0] R_DELAY      = 4'h8;
  localparam [3:0] R_WEIGHT     = 4'h9;

  localparam [31:0] ARCHITECTURE   = 32'd0;   // 0: this core (pipelined), 1: core_compact.v

  localparam [3:0] F_V_DECAY   = 4'd0;   // profile fields
  localparam [3:0] F_EXC_DECAY = 4'd1;
  localparam [3:0] F_INH_DECAY = 4'd2;
  localparam [3:0] F_EXC_GAIN  = 4'd3;
  localparam [3:0] F_INH_GAIN  = 4'd4;
  localparam [3:0] F_BIAS      = 4'd5;
  localparam [3:0] F_V_THRESH  = 4'd6;
  localparam [3:0] F_V_RESET   = 4'd7;
  localparam [3:0] F_REFRAC    = 4'd8;

  localparam [SRC_W:0] FIRST_INPUT = N_NEURONS[SRC_W:0];  // source id of input channel 0

  // ---- state and configuration registers --------------------------------------------
  reg  [3:0]          state_q, state_d;
  reg  [SRC_W:0]      sweep_q, sweep_d;            // stage-0 neuron or source index
  reg  [SRC_W:0]      event_q, event_d;            // index into this step's slot
  reg  [SRC_W:0]      event_count_q, event_count_d;
  reg  [SRC_W-1:0]    source_q, source_d;          // source of the event being delivered
  reg  [NEU_W-1:0]    post_q, post_d;              // neuron whose column is potentiated
  reg  [NEU_W:0]      spike_count_q;               // neurons fired this step
  reg  [NEU_W:0]      spike_index_q, spike_index_d;
  reg  [2:0]          drain_q, drain_d;            // clocks spent in a *_DRAIN state
  reg                 drain_last;                  // the last clock of a *_DRAIN state

  // the control registers (core_regs, below)
  wire                stdp_enable;
  wire [NEU_W:0]      n_active;                    // neurons swept, 1..N_NEURONS
  wire [IN_W:0]       n_inputs;                    // input channels swept by STDP, 0..N_INPUTS
  wire [5:0]          gain_shift;
  wire [15:0]         a_plus, a_minus;             // u16, binary point 8, weight LSBs
  wire signed [WEIGHT_W-1:0] w_min, w_max;
  wire [15:0]         pre_decay, post_decay;       // u16, binary point 16
  wire [31:0]         step_count, overruns, dropped;
  wire [31:0]         read_word_d;                 // the register at reg_sel
  reg  [31:0]         cycles_q, last_cycles_q;


  // ---- the bus and tick as the core sees them ---------------------------------------
  wire        tick, bus_we;
  wire [23:0] bus_addr;
  wire [31:0] bus_wdata;
  reg  [31:0] bus_rdata;                             // the word at the previous cycle's bus_addr
  bus_input_reg #(.REGISTERED(BUS_REGISTERED)) u_bus_input (
    .clk_i(clk_i), .rst_ni(rst_ni), .tick_i(tick_i), .bus_we_i(bus_we_i),
    .bus_addr_i(bus_addr_i), .bus_wdata_i(bus_wdata_i),
    .tick_o(tick), .bus_we_o(bus_we), .bus_addr_o(bus_addr), .bus_wdata_o(bus_wdata));
  assign bus_rdata_o = bus_rdata;   // BUS_REGISTERED: from registers (see "bus read")

  // ---- bus decode -------------------------------------------------------------------
  wire [3:0]  bus_region = bus_addr[23:20];
  // offsets are 20 bits wide for the largest core; a small core ignores the high bits
  /* verilator lint_off UNUSEDSIGNAL */
  wire [19:0] bus_offset = bus_addr[19:0];
  /* verilator lint_on UNUSEDSIGNAL */
  wire        idle       = (state_q == S_IDLE);
  wire        bus_write  = bus_we & idle & ~tick;
  wire        reg_write  = bus_write & (bus_region == R_CONTROL);
  wire [5:0]  reg_sel    = bus_offset[5:0];
  wire        inject;                                       // a write to INJECT (core_regs)
  wire        field_write   = bus_write & (bus_region == R_PROFILE);
  wire [2:0]  field_profile = bus_offset[6:4];
  wire [3:0]  field_sel     = bus_offset[3:0];
  reg         inject_pending_q;                    // the injected channel's delay is being read
  reg  [IN_W-1:0] inject_channel_q;
  reg         inject_push_q;                       // ... and its slot is known: pushed this clock
  reg  [SLOT_W-1:0] inject_slot_q;
  reg  [IN_W-1:0] inject_push_channel_q;

  // ---- memories ---------------------------------------------------------------------
  wire [NEU_W-1:0] neuron_raddr = idle ? bus_offset[NEU_W-1:0] : sweep_q[NEU_W-1:0];

  wire signed [23:0] v_rdata, i_exc_rdata, i_inh_rdata;
  wire [CTL_W-1:0]   ctl_rdata;
  wire [15:0]        post_trace_rdata, pre_trace_rdata;
  wire [SLOT_W-1:0]  delay_rdata;
  wire [WORD_W-1:0]  weight_rdata;
  wire [NEU_W-1:0]   spike_list_rdata;

  reg                v_we, ctl_we, post_trace_we, pre_trace_we, delay_we, weight_we;
  reg  [NEU_W-1:0]   neuron_we_addr, post_trace_waddr;
  reg  [23:0]        v_wdata, i_exc_wdata, i_inh_wdata;
  reg                i_exc_we, i_inh_we;
  reg  [CTL_W-1:0]   ctl_wdata;
  reg  [15:0]        post_trace_wdata, pre_trace_wdata;
  reg  [SRC_W-1:0]   pre_trace_raddr, pre_trace_waddr, delay_raddr;
  reg  [SRC_W+NEU_W-1:0] weight_raddr, weight_waddr;
  reg  [WORD_W-1:0]  weight_wdata;

  ram_1r1w #(.WIDTH(24), .ADDR_W(NEU_W)) u_v_ram (
    .clk_i(clk_i), .raddr_i(neuron_raddr), .rdata_o(v_rdata),
    .we_i(v_we), .waddr_i(neuron_we_addr), .wdata_i(v_wdata));
  ram_1r1w #(.WIDTH(24), .ADDR_W(NEU_W)) u_i_exc_ram (
    .clk_i(clk_i), .raddr_i(neuron_raddr), .rdata_o(i_exc_rdata),
    .we_i(i_exc_we), .waddr_i(neuron_we_addr), .wdata_i(i_exc_wdata));
  ram_1r1w #(.WIDTH(24), .ADDR_W(NEU_W)) u_i_inh_ram (
    .clk_i(clk_i), .raddr_i(neuron_raddr), .rdata_o(i_inh_rdata),
    .we_i(i_inh_we), .waddr_i(neuron_we_addr), .wdata_i(i_inh_wdata));
  ram_1r1w #(.WIDTH(CTL_W), .ADDR_W(NEU_W)) u_ctl_ram (
    .clk_i(clk_i), .raddr_i(neuron_raddr), .rdata_o(ctl_rdata),
    .we_i(ctl_we), .waddr_i(neuron_we_addr), .wdata_i(ctl_wdata));
  ram_1r1w #(.WIDTH(16), .ADDR_W(NEU_W)) u_post_trace_ram (
    .clk_i(clk_i), .raddr_i(neuron_raddr), .rdata_o(post_trace_rdata),
    .we_i(post_trace_we), .waddr_i(post_trace_waddr), .wdata_i(post_trace_wdata));
  ram_1r1w #(.WIDTH(16), .ADDR_W(SRC_W)) u_pre_trace_ram (
    .clk_i(clk_i), .raddr_i(pre_trace_raddr), .rdata_o(pre_trace_rdata),
    .we_i(pre_trace_we), .waddr_i(pre_trace_waddr), .wdata_i(pre_trace_wdata));
  ram_1r1w #(.WIDTH(SLOT_W), .ADDR_W(SRC_W)) u_delay_ram (
    .clk_i(clk_i), .raddr_i(delay_raddr), .rdata_o(delay_rdata),
    .we_i(delay_we), .waddr_i(bus_offset[SRC_W-1:0]), .wdata_i(bus_wdata[SLOT_W-1:0]));
  // banks of at most 2^WEIGHT_BANK_ADDR_W words, one block per bit and bank; the sweeps register every
  // bank's word at stage 2 and select the bank after that register
  localparam integer WEIGHT_ADDR_W  = SRC_W + NEU_W;
  localparam integer WEIGHT_BANK_W  = (WEIGHT_ADDR_W > WEIGHT_BANK_ADDR_W)
                                    ? WEIGHT_ADDR_W - WEIGHT_BANK_ADDR_W : 0;
  localparam integer WEIGHT_BANKS   = 1 << WEIGHT_BANK_W;
  localparam integer WEIGHT_BANK_SEL_W = (WEIGHT_BANK_W > 0) ? WEIGHT_BANK_W : 1;
  wire [WEIGHT_BANKS*WORD_W-1:0] weight_bank_rdata;
  wire [WEIGHT_BANK_SEL_W-1:0]   weight_bank;
  ram_banked #(.WIDTH(WORD_W), .ADDR_W(WEIGHT_ADDR_W), .BANK_W(WEIGHT_BANK_W)) u_weight_ram (
    .clk_i(clk_i), .raddr_i(weight_raddr), .bank_rdata_o(weight_bank_rdata),
    .bank_o(weight_bank), .rdata_o(weight_rdata),
    .we_i(weight_we), .waddr_i(weight_waddr), .wdata_i(weight_wdata));

  // ---- sweeps ------------------------------------------------------------------------
  wire [SRC_W:0] n_active_ext  = {{(SRC_W-NEU_W){1'b0}}, n_active};
  wire [SRC_W:0] n_inputs_ext  = {{(SRC_W-IN_W){1'b0}}, n_inputs};
  wire           neuron_last   = (sweep_q == n_active_ext - 1'b1);
  // source sweeps visit neurons 0..n_active-1, then input channels N..N+n_inputs-1
  wire           source_last   = (n_inputs == 0) ? neuron_last
                                                   : (sweep_q == FIRST_INPUT + n_inputs_ext - 1'b1);
  wire [SRC_W:0] source_next   = neuron_last ? FIRST_INPUT : sweep_q + 1'b1;

  wire [SLOT_W-1:0] slot       = step_count[SLOT_W-1:0];
  wire [SRC_W-1:0]  ring_pop_source;
  wire [SRC_W:0]    ring_pop_count;
  wire              ring_push_full;
  reg               ring_push, ring_clear;
  reg  [SLOT_W-1:0] ring_push_slot;
  reg  [SRC_W-1:0]  ring_push_source;

  delay_ring #(.DEPTH(DELAY_DEPTH), .SRC_W(SRC_W)) u_delay_ring (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .push_i(ring_push), .push_slot_i(ring_push_slot), .push_source_i(ring_push_source),
    .push_full_o(ring_push_full),
    .pop_slot_i(slot), .pop_index_i(event_q[SRC_W-1:0]), .pop_source_o(ring_pop_source),
    .pop_count_o(ring_pop_count), .clear_i(ring_clear));

  // ---- the pipeline: which item is in which stage ----------------------------------------
  // stage 0 issues sweep_q's addresses; an item is in stage k k clocks later.
  //   stage 1  RAM read; the traces' jumps and stdp_update's operands are selected
  //   stage 2  RAM output register; STDP and trace datapaths start here; the profile
  //            memories are read with the registered control word's profile
  //   stage 3  the neuron's profile in registers; lif_neuron_update starts;
  //            new traces (trace_update LATENCY 1) -> trace write-back registers
  //   stage 4  traces written
  //   stage 4  STDP result (stdp_update LATENCY 2); syn_deliver -> write-back register
  //   stage 5  weights and delivered currents written
  //   stage 6  neuron result (lif_neuron_update LATENCY 3) -> write-back register
  //   stage 7  neuron words written, spike pushed into the ring (its slot added up at
  //            stage 6) and the spike list
  wire       issue = (state_q == S_DLV_ROW) | (state_q == S_NEU) | (state_q == S_XDEC)
                   | (state_q == S_POT_COL);
  reg  [1:0] issue_kind;
  always @* begin
    case (state_q)
      S_NEU:     issue_kind = K_NEURON;
      S_XDEC:    issue_kind = K_DECAY;
      S_POT_COL: issue_kind = K_POTENT;
      default:   issue_kind = K_DELIVER;
    endcase
  end

  reg             valid_s1_q, valid_s2_q, valid_s3_q, valid_s4_q, valid_s5_q, valid_s6_q;
  reg [1:0]       kind_s1_q, kind_s2_q, kind_s3_q, kind_s4_q, kind_s5_q, kind_s6_q;
  reg [SRC_W-1:0] index_s1_q, index_s2_q, index_s3_q, index_s4_q;
  reg [NEU_W-1:0] index_s5_q, index_s6_q;          // only neuron items need their index past stage 4

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {valid_s1_q, valid_s2_q, valid_s3_q, valid_s4_q, valid_s5_q, valid_s6_q} <= 6'd0;
    end else begin
      {valid_s1_q, valid_s2_q, valid_s3_q, valid_s4_q, valid_s5_q, valid_s6_q}
        <= {issue, valid_s1_q, valid_s2_q, valid_s3_q, valid_s4_q, valid_s5_q};
    end
  end

  always @(posedge clk_i) begin
    {kind_s1_q, kind_s2_q, kind_s3_q, kind_s4_q, kind_s5_q, kind_s6_q}
      <= {issue_kind, kind_s1_q, kind_s2_q, kind_s3_q, kind_s4_q, kind_s5_q};
    {index_s1_q, index_s2_q, index_s3_q, index_s4_q, index_s5_q, index_s6_q}
      <= {sweep_q[SRC_W-1:0], index_s1_q, index_s2_q, index_s3_q, index_s4_q[NEU_W-1:0],
          index_s5_q};
  end

  wire potent_s1  = valid_s1_q & (kind_s1_q == K_POTENT);
  wire deliver_s1 = valid_s1_q & (kind_s1_q == K_DELIVER);
  wire neuron_s1  = valid_s1_q & (kind_s1_q == K_NEURON);
  wire decay_s2   = valid_s2_q & (kind_s2_q == K_DECAY);
  wire neuron_s3  = valid_s3_q & (kind_s3_q == K_NEURON);
  wire decay_s3   = valid_s3_q & (kind_s3_q == K_DECAY);
  // the pre trace of a delivered event's source jumps with the row's first synapse
  wire jump_s3    = valid_s3_q & (kind_s3_q == K_DELIVER) & (index_s3_q == {SRC_W{1'b0}});
  wire deliver_s4 = valid_s4_q & (kind_s4_q == K_DELIVER);
  wire potent_s4  = valid_s4_q & (kind_s4_q == K_POTENT);
  wire neuron_s6  = valid_s6_q & (kind_s6_q == K_NEURON);

  // ---- stage 2: the RAM output register --------------------------------------------------
  reg signed [23:0]  v_s2_q, i_exc_s2_q, i_inh_s2_q;
  reg [CTL_W-1:0]    ctl_s2_q;
  reg [15:0]         post_trace_s2_q, pre_trace_s2_q;
  reg [SLOT_W-1:0]   delay_s2_q;
  reg [WEIGHT_BANKS*WORD_W-1:0] weight_banks_s2_q;   // every bank's word; the bank select follows
  reg [WEIGHT_BANK_SEL_W-1:0]   weight_bank_s2_q;
  // stdp_update's operands, selected here for the item in stage 1: its multiplier
  // then starts from registers (a select by the stage-2 kind in front of it made
  // one of the longest paths on the ECP5)
  reg                potent_s2_q;                   // potentiation (else depression)
  reg [15:0]         stdp_trace_s2_q;               // pre trace to potentiate, post trace to depress
  reg [15:0]         stdp_amplitude_s2_q;
  // The traces' jumps (trace_update's jump_i: +1.0, saturating) are computed here, a stage
  // before their decays: the adder and the saturation in front of trace_update's
  // multiplier were the slowest path of the ECP5 build.  Each trace is registered both as
  // read and jumped, with the item's jump flag; the flag selects between the two registers
  // in front of the multiplier.  Every synapse of a delivered row reads its source's pre
  // trace, which jumps (the row's first writes it back); a neuron's post trace takes last
  // step's spike (ctl bit 11) now that (a) has used it.  The bus reads the traces as read.
  reg [15:0]         post_jumped_s2_q, pre_jumped_s2_q;   // min(trace + 1.0, 65535)
  reg                post_jump_s2_q, pre_jump_s2_q;
  // The jump is written as logic, not as an add: 1.0 is bit 12, so it increments the top
  // nibble, and a carry out of it saturates the trace at 65535 (no carry chain after the RAM)
  function [15:0] trace_jumped;                     // min(trace + 4096, 65535)
    input [15:0] trace;
    reg          full;                              // trace >= 61440: the jump saturates
    begin
      full         = &trace[15:12];
      trace_jumped = {trace[15] ^ (&trace[14:12]) | full,
                      trace[14] ^ (&trace[13:12]) | full,
                      trace[13] ^ trace[12] | full,
                      ~trace[12] | full,
                      trace[11:0] | {12{full}}};
    end
  endfunction

  always @(posedge clk_i) begin
    v_s2_q          <= v_rdata;
    i_exc_s2_q      <= i_exc_rdata;
    i_inh_s2_q      <= i_inh_rdata;
    ctl_s2_q        <= ctl_rdata;
    post_trace_s2_q <= post_trace_rdata;
    pre_trace_s2_q  <= pre_trace_rdata;
    post_jumped_s2_q <= trace_jumped(post_trace_rdata);
    pre_jumped_s2_q  <= trace_jumped(pre_trace_rdata);
    post_jump_s2_q   <= neuron_s1 & ctl_rdata[11];
    pre_jump_s2_q    <= deliver_s1;
    delay_s2_q      <= delay_rdata;
    weight_banks_s2_q <= weight_bank_rdata;
    weight_bank_s2_q  <= weight_bank;
    potent_s2_q       <= potent_s1;
    stdp_trace_s2_q   <= potent_s1 ? pre_trace_rdata : post_trace_rdata;
    stdp_amplitude_s2_q <= potent_s1 ? a_plus : a_minus;
  end

  wire [WORD_W-1:0] weight_s2 = weight_banks_s2_q[weight_bank_s2_q*WORD_W +: WORD_W];

  // ---- the 8 parameter profiles ---------------------------------------------------------
  // One small memory per field (a bus write sets one field of one profile), read with the
  // profile of the neuron in stage 2, out of its registered control word: the profile
  // index comes out of a block RAM 5.83 ns into the ECP5 clock, too late to address a
  // memory and select flags before a register in the same clock.  The memories are read
  // combinationally (distributed RAM), so the word still reaches the stage-3 registers
  // in the same clock, and the neuron still gets its profile at stage 3.
  // rst_ni leaves them as they are, as it leaves the RAMs (RESET bit 4 zeroes them: the
  // front end's sweep, rtl/PROTOCOL.md).
  // While idle the bus address reads them (the stage-3 registers give its read data).
  wire [2:0]  profile_raddr = idle ? field_profile : ctl_s2_q[10:8];
  reg  [15:0] prof_v_decay_mem_q [0:7];
  reg  [15:0] prof_exc_decay_mem_q [0:7];
  reg  [15:0] prof_inh_decay_mem_q [0:7];
  reg  [15:0] prof_exc_gain_mem_q [0:7];
  reg  [15:0] prof_inh_gain_mem_q [0:7];
  reg  [23:0] prof_bias_mem_q [0:7];
  reg  [23:0] prof_v_thresh_mem_q [0:7];
  reg  [23:0] prof_v_reset_mem_q [0:7];
  reg  [7:0]  prof_refrac_mem_q [0:7];
  always @(posedge clk_i) begin
    if (field_write) begin
      case (field_sel)
        F_V_DECAY:   prof_v_decay_mem_q[field_profile]   <= bus_wdata[15:0];
        F_EXC_DECAY: prof_exc_decay_mem_q[field_profile] <= bus_wdata[15:0];
        F_INH_DECAY: prof_inh_decay_mem_q[field_profile] <= bus_wdata[15:0];
        F_EXC_GAIN:  prof_exc_gain_mem_q[field_profile]  <= bus_wdata[15:0];
        F_INH_GAIN:  prof_inh_gain_mem_q[field_profile]  <= bus_wdata[15:0];
        F_BIAS:      prof_bias_mem_q[field_profile]      <= bus_wdata[23:0];
        F_V_THRESH:  prof_v_thresh_mem_q[field_profile]  <= bus_wdata[23:0];
        F_V_RESET:   prof_v_reset_mem_q[field_profile]   <= bus_wdata[23:0];
        F_REFRAC:    prof_refrac_mem_q[field_profile]    <= bus_wdata[7:0];
        default: ;
      endcase
    end
  end

  // ---- stage 3: the neuron's state words and its profile ----------------------------------
  reg signed [23:0]  v_s3_q, i_exc_s3_q, i_inh_s3_q;
  reg [CTL_W-2:0]    ctl_s3_q;                      // {profile, refrac}: the spike flag went to the post trace
  reg [SLOT_W-1:0]   delay_s3_q;
  reg [WORD_W-1:0]   weight_s3_q;
  reg [15:0]         v_decay_s3_q, exc_decay_s3_q, inh_decay_s3_q, exc_gain_s3_q, inh_gain_s3_q;
  reg signed [23:0]  bias_s3_q, v_thresh_s3_q, v_reset_s3_q;
  reg [7:0]          refrac_steps_s3_q;

  always @(posedge clk_i) begin
    v_s3_q            <= v_s2_q;
    i_exc_s3_q        <= i_exc_s2_q;
    i_inh_s3_q        <= i_inh_s2_q;
    ctl_s3_q          <= ctl_s2_q[CTL_W-2:0];
    delay_s3_q        <= delay_s2_q;
    weight_s3_q       <= weight_s2;
    v_decay_s3_q      <= prof_v_decay_mem_q[profile_raddr];
    exc_decay_s3_q    <= prof_exc_decay_mem_q[profile_raddr];
    inh_decay_s3_q    <= prof_inh_decay_mem_q[profile_raddr];
    exc_gain_s3_q     <= prof_exc_gain_mem_q[profile_raddr];
    inh_gain_s3_q     <= prof_inh_gain_mem_q[profile_raddr];
    bias_s3_q         <= prof_bias_mem_q[profile_raddr];
    v_thresh_s3_q     <= prof_v_thresh_mem_q[profile_raddr];
    v_reset_s3_q      <= prof_v_reset_mem_q[profile_raddr];
    refrac_steps_s3_q <= prof_refrac_mem_q[profile_raddr];
  end

  // ---- stages 2..4: STDP and delivery ------------------------------------------------------
  // depression of a delivered synapse by the post trace, potentiation of a
  // column by the pre trace; the new weight is ready at stage 4
  wire signed [WEIGHT_W-1:0] weight_stdp;
  stdp_update #(.WEIGHT_W(WEIGHT_W)) u_stdp_update (
    .clk_i(clk_i),
    .weight_i(weight_s2[WEIGHT_W-1:0]),
    .trace_i(stdp_trace_s2_q),
    .amplitude_i(stdp_amplitude_s2_q),
    .potentiate_i(potent_s2_q),
    .w_min_i(w_min), .w_max_i(w_max),
    .weight_o(weight_stdp));

  // the read weight and currents wait for the STDP result
  reg [WORD_W-1:0]   weight_s4_q;
  reg signed [23:0]  i_exc_s4_q, i_inh_s4_q;
  always @(posedge clk_i) begin
    weight_s4_q <= weight_s3_q;
    i_exc_s4_q  <= i_exc_s3_q;
    i_inh_s4_q  <= i_inh_s3_q;
  end

  wire                       plastic_s4       = weight_s4_q[WEIGHT_W];
  wire signed [WEIGHT_W-1:0] weight_delivered = (stdp_enable & plastic_s4) ? weight_stdp
                                                                             : weight_s4_q[WEIGHT_W-1:0];
  wire signed [23:0] i_exc_delivered, i_inh_delivered;
  syn_deliver #(.WEIGHT_W(WEIGHT_W)) u_syn_deliver (
    .weight_i(weight_delivered), .i_exc_i(i_exc_s4_q), .i_inh_i(i_inh_s4_q),
    .i_exc_o(i_exc_delivered), .i_inh_o(i_inh_delivered));

  // ---- stages 3..6: the neuron update --------------------------------------------------------
  wire signed [23:0] v_next, i_exc_next, i_inh_next;
  wire [7:0]         refrac_next;
  wire               spike;
  lif_neuron_update u_lif_neuron_update (
    .clk_i(clk_i),
    .v_i(v_s3_q), .i_exc_i(i_exc_s3_q), .i_inh_i(i_inh_s3_q), .refrac_i(ctl_s3_q[7:0]),
    .v_decay_i(v_decay_s3_q), .exc_decay_i(exc_decay_s3_q), .inh_decay_i(inh_decay_s3_q),
    .exc_gain_i(exc_gain_s3_q), .inh_gain_i(inh_gain_s3_q), .gain_shift_i(gain_shift),
    .bias_i(bias_s3_q), .v_thresh_i(v_thresh_s3_q), .v_reset_i(v_reset_s3_q),
    .refrac_steps_i(refrac_steps_s3_q),
    .v_o(v_next), .i_exc_o(i_exc_next), .i_inh_o(i_inh_next), .refrac_o(refrac_next),
    .spike_o(spike));

  // what the neuron's write-back and spike push need, carried to stage 6
  reg [2:0]        profile_s4_q, profile_s5_q, profile_s6_q;
  reg [SLOT_W-1:0] delay_s4_q, delay_s5_q, delay_s6_q;
  always @(posedge clk_i) begin
    profile_s4_q <= ctl_s3_q[10:8];
    profile_s5_q <= profile_s4_q;
    profile_s6_q <= profile_s5_q;
    delay_s4_q   <= delay_s3_q;
    delay_s5_q   <= delay_s4_q;
    delay_s6_q   <= delay_s5_q;
  end

  // ---- traces: stage 2 -> stage 3, written at stage 4 ----------------------------------------
  // the jumps are made a stage early (see "stage 2"): the units get the jumped or the read
  // trace and only decay it.  The post trace takes last step's spike and decays, every step
  wire [15:0] post_trace_next;
  trace_update u_post_trace_update (
    .clk_i(clk_i),
    .trace_i(post_jump_s2_q ? post_jumped_s2_q : post_trace_s2_q), .jump_i(1'b0),
    .decay_en_i(1'b1), .retention_i(post_decay), .trace_o(post_trace_next));

  // the pre trace jumps when an event is delivered and decays in sweep (c)
  wire [15:0] pre_trace_next;
  trace_update u_pre_trace_update (
    .clk_i(clk_i),
    .trace_i(pre_jump_s2_q ? pre_jumped_s2_q : pre_trace_s2_q), .jump_i(1'b0),
    .decay_en_i(decay_s2), .retention_i(pre_decay), .trace_o(pre_trace_next));

  // ---- trace write-back registers (stage 3 -> 4) ------------------------------------------
  reg             post_wb_q, pre_wb_q;
  reg [NEU_W-1:0] post_wb_index_q;
  reg [SRC_W-1:0] pre_wb_index_q;
  reg [15:0]      post_wb_trace_q, pre_wb_trace_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      post_wb_q <= 1'b0;
      pre_wb_q  <= 1'b0;
    end else begin
      post_wb_q <= neuron_s3;
      pre_wb_q  <= jump_s3 | decay_s3;
    end
  end
  always @(posedge clk_i) begin
    post_wb_index_q <= index_s3_q[NEU_W-1:0];
    pre_wb_index_q  <= jump_s3 ? source_q : index_s3_q;
    post_wb_trace_q <= post_trace_next;
    pre_wb_trace_q  <= pre_trace_next;
  end

  // ---- write-back registers: delivered currents and weights (stage 4 -> 5), neuron words
  //      and the spike (stage 6 -> 7); the two never overlap, the pipeline drains between sweeps
  reg                     wb_deliver_q, wb_weight_q, wb_potent_q, wb_neuron_q, push_q;
  reg [SRC_W-1:0]         wb_index_q;                // neuron, or source of a potentiated synapse
  reg signed [23:0]       wb_v_q, wb_i_exc_q, wb_i_inh_q;
  reg [CTL_W-1:0]         wb_ctl_q;
  reg signed [WEIGHT_W-1:0] wb_weight_value_q;
  // the slot the spike goes into, added up here from the neuron's delay: the ring's
  // slot select, full test and count update then start from a register
  reg [SLOT_W-1:0]        push_slot_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wb_deliver_q <= 1'b0;
      wb_weight_q  <= 1'b0;
      wb_potent_q  <= 1'b0;
      wb_neuron_q  <= 1'b0;
      push_q       <= 1'b0;
    end else begin
      wb_deliver_q <= deliver_s4;
      wb_weight_q  <= ((deliver_s4 & stdp_enable) | potent_s4) & plastic_s4;
      wb_potent_q  <= potent_s4;
      wb_neuron_q  <= neuron_s6;
      push_q       <= neuron_s6 & spike;
    end
  end

  always @(posedge clk_i) begin
    wb_index_q        <= neuron_s6 ? {1'b0, index_s6_q} : index_s4_q;
    wb_v_q            <= v_next;
    wb_i_exc_q        <= neuron_s6 ? i_exc_next : i_exc_delivered;
    wb_i_inh_q        <= neuron_s6 ? i_inh_next : i_inh_delivered;
    wb_ctl_q          <= {spike, profile_s6_q, refrac_next};
    wb_weight_value_q <= weight_stdp;
    push_slot_q       <= slot + 1'b1 + delay_s6_q;   // slot (step_count) is constant during sweep (b)
  end

  wire [NEU_W-1:0] push_neuron = wb_index_q[NEU_W-1:0];

  assign spike_valid_o = push_q;
  assign spike_id_o    = push_neuron;

  // ---- memory ports: the bus while idle, the write-back stages otherwise ---------------------
  always @* begin
    neuron_we_addr   = idle ? bus_offset[NEU_W-1:0] : wb_index_q[NEU_W-1:0];
    v_we             = idle ? bus_write & (bus_region == R_V) : wb_neuron_q;
    v_wdata          = idle ? bus_wdata[23:0] : wb_v_q;
    i_exc_we         = idle ? bus_write & (bus_region == R_I_EXC) : (wb_neuron_q | wb_deliver_q);
    i_exc_wdata      = idle ? bus_wdata[23:0] : wb_i_exc_q;
    i_inh_we         = idle ? bus_write & (bus_region == R_I_INH) : (wb_neuron_q | wb_deliver_q);
    i_inh_wdata      = idle ? bus_wdata[23:0] : wb_i_inh_q;
    ctl_we           = idle ? bus_write & (bus_region == R_CTL) : wb_neuron_q;
    ctl_wdata        = idle ? bus_wdata[CTL_W-1:0] : wb_ctl_q;
    post_trace_we    = idle ? bus_write & (bus_region == R_POST_TRACE) : post_wb_q;
    post_trace_waddr = idle ? bus_offset[NEU_W-1:0] : post_wb_index_q;
    post_trace_wdata = idle ? bus_wdata[15:0] : post_wb_trace_q;

    pre_trace_raddr  = idle ? bus_offset[SRC_W-1:0]
                     : (state_q == S_DLV_ROW) ? source_q : sweep_q[SRC_W-1:0];
    pre_trace_we     = idle ? bus_write & (bus_region == R_PRE_TRACE) : pre_wb_q;
    pre_trace_waddr  = idle ? bus_offset[SRC_W-1:0] : pre_wb_index_q;
    pre_trace_wdata  = idle ? bus_wdata[15:0] : pre_wb_trace_q;

    delay_raddr      = !idle ? sweep_q[SRC_W-1:0]
                     : inject ? {1'b1, {(SRC_W-1-IN_W){1'b0}}, bus_wdata[IN_W-1:0]}
                     : bus_offset[SRC_W-1:0];
    delay_we         = bus_write & (bus_region == R_DELAY);

    weight_raddr     = idle ? bus_offset[SRC_W+NEU_W-1:0]
                     : (state_q == S_POT_COL) ? {sweep_q[SRC_W-1:0], post_q}
                     : {source_q, sweep_q[NEU_W-1:0]};
    weight_we        = idle ? bus_write & (bus_region == R_WEIGHT) : wb_weight_q;
    weight_waddr     = idle ? bus_offset[SRC_W+NEU_W-1:0]
                     : wb_potent_q ? {wb_index_q, post_q}
                     : {source_q, wb_index_q[NEU_W-1:0]};
    weight_wdata     = idle ? bus_wdata[WORD_W-1:0] : {1'b1, wb_weight_value_q};

    // the ring takes injected channels while idle and fired neurons in sweep (b)
    // (an injection's slot is registered first: no path from the delay RAM into the ring)
    ring_push        = inject_push_q | push_q;
    ring_push_slot   = inject_push_q ? inject_slot_q : push_slot_q;
    ring_push_source = inject_push_q ? {1'b1, {(SRC_W-1-IN_W){1'b0}}, inject_push_channel_q}
                                        : {1'b0, push_neuron};
    ring_clear       = (state_q == S_DLV_DRAIN) && drain_last && (event_q + 1'b1 == event_count_q);
  end

  ram_1r1w #(.WIDTH(NEU_W), .ADDR_W(NEU_W)) u_spike_list_ram (
    .clk_i(clk_i), .raddr_i(spike_index_q[NEU_W-1:0]), .rdata_o(spike_list_rdata),
    .we_i(push_q), .waddr_i(spike_count_q[NEU_W-1:0]), .wdata_i(push_neuron));

  // ---- FSM: next state ----------------------------------------------------------------------
  always @* begin
    case (state_q)
      S_DLV_DRAIN:  drain_last = (drain_q == DRAIN_DELIVER - 1'b1);
      S_NEU_DRAIN:  drain_last = (drain_q == DRAIN_NEURON - 1'b1);
      S_XDEC_DRAIN: drain_last = (drain_q == DRAIN_DECAY - 1'b1);
      default:      drain_last = (drain_q == DRAIN_POTENT - 1'b1);
    endcase
  end

  always @* begin
    state_d = state_q;
    case (state_q)
      S_IDLE:       if (tick) state_d = S_START;
      // a tick right after an INJECT write waits here until the injection is in the ring
      S_START:      if (!inject_push_q) state_d = (ring_pop_count != 0) ? S_DLV_FETCH : S_NEU;
      S_DLV_FETCH:  state_d = S_DLV_LOAD;
      S_DLV_LOAD:   state_d = S_DLV_ROW;
      S_DLV_ROW:    if (neuron_last) state_d = S_DLV_DRAIN;
      S_DLV_DRAIN:  if (drain_last)
                      state_d = (event_q + 1'b1 == event_count_q) ? S_NEU : S_DLV_FETCH;
      S_NEU:        if (neuron_last) state_d = S_NEU_DRAIN;
      S_NEU_DRAIN:  if (drain_last) state_d = stdp_enable ? S_XDEC : S_DONE;
      S_XDEC:       if (source_last) state_d = S_XDEC_DRAIN;
      S_XDEC_DRAIN: if (drain_last) state_d = (spike_count_q != 0) ? S_POT_FETCH : S_DONE;
      S_POT_FETCH:  state_d = S_POT_LOAD;
      S_POT_LOAD:   state_d = S_POT_COL;
      S_POT_COL:    if (source_last) state_d = S_POT_DRAIN;
      S_POT_DRAIN:  if (drain_last)
                      state_d = (spike_index_q + 1'b1 == spike_count_q) ? S_DONE : S_POT_FETCH;
      S_DONE:       state_d = S_IDLE;
      default:      state_d = S_IDLE;
    endcase
  end

  // ---- FSM: loop counters ------------------------------------------------------------------
  always @* begin
    sweep_d       = sweep_q;
    event_d       = event_q;
    event_count_d = event_count_q;
    source_d      = source_q;
    post_d        = post_q;
    spike_index_d = spike_index_q;
    drain_d       = 3'd0;
    case (state_q)
      S_START: begin
        sweep_d       = {(SRC_W+1){1'b0}};
        event_d       = {(SRC_W+1){1'b0}};
        event_count_d = ring_pop_count;
        spike_index_d = {(NEU_W+1){1'b0}};
      end
      S_DLV_LOAD:   begin source_d = ring_pop_source; sweep_d = {(SRC_W+1){1'b0}}; end
      S_DLV_ROW:    sweep_d = sweep_q + 1'b1;
      S_DLV_DRAIN:  begin
        drain_d = drain_q + 1'b1;
        sweep_d = {(SRC_W+1){1'b0}};
        if (drain_last) event_d = event_q + 1'b1;
      end
      S_NEU:        sweep_d = sweep_q + 1'b1;
      S_NEU_DRAIN:  begin drain_d = drain_q + 1'b1; sweep_d = {(SRC_W+1){1'b0}}; end
      S_XDEC:       sweep_d = source_next;
      S_XDEC_DRAIN: drain_d = drain_q + 1'b1;
      S_POT_LOAD:   begin post_d = spike_list_rdata; sweep_d = {(SRC_W+1){1'b0}}; end
      S_POT_COL:    sweep_d = source_next;
      S_POT_DRAIN:  begin
        drain_d = drain_q + 1'b1;
        if (drain_last) spike_index_d = spike_index_q + 1'b1;
      end
      default: ;
    endcase
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q        <= S_IDLE;
      sweep_q        <= {(SRC_W+1){1'b0}};
      event_q        <= {(SRC_W+1){1'b0}};
      event_count_q  <= {(SRC_W+1){1'b0}};
      source_q       <= {SRC_W{1'b0}};
      post_q         <= {NEU_W{1'b0}};
      spike_index_q  <= {(NEU_W+1){1'b0}};
      spike_count_q  <= {(NEU_W+1){1'b0}};
      drain_q        <= 3'd0;
      cycles_q       <= 32'd0;
      last_cycles_q  <= 32'd0;
    end else begin
      state_q        <= state_d;
      sweep_q        <= sweep_d;
      event_q        <= event_d;
      event_count_q  <= event_count_d;
      source_q       <= source_d;
      post_q         <= post_d;
      spike_index_q  <= spike_index_d;
      drain_q        <= drain_d;
      if (state_q == S_START)   spike_count_q <= {(NEU_W+1){1'b0}};
      else if (push_q)          spike_count_q <= spike_count_q + 1'b1;
      // cycles of a step: every clock outside S_IDLE, S_START and S_DONE included
      cycles_q       <= idle ? 32'd0 : cycles_q + 32'd1;
      if (state_q == S_DONE) last_cycles_q <= cycles_q + 32'd1;
    end
  end

  // ---- the control registers (bus region 0): configuration, STEP, OVERRUNS, DROPPED --------
  // (a tick while busy is an overrun: counted, otherwise ignored)
  core_regs #(.N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS), .WEIGHT_W(WEIGHT_W),
      .DELAY_DEPTH(DELAY_DEPTH), .ARCHITECTURE(ARCHITECTURE)) u_regs (
    .clk_i(clk_i), .rst_ni(rst_ni), .write_i(reg_write), .sel_i(reg_sel), .wdata_i(bus_wdata),
    .step_done_i(state_q == S_DONE), .overrun_i(tick & ~idle),
    .drop_i(ring_push & ring_push_full), .step_cycles_i(last_cycles_q),
    .stdp_enable_o(stdp_enable), .n_active_o(n_active), .n_inputs_o(n_inputs),
    .gain_shift_o(gain_shift), .a_plus_o(a_plus), .a_minus_o(a_minus),
    .w_min_o(w_min), .w_max_o(w_max), .pre_decay_o(pre_decay), .post_decay_o(post_decay),
    .step_o(step_count), .overruns_o(overruns), .dropped_o(dropped),
    .inject_o(inject), .read_word_o(read_word_d));

  // ---- injection: INJECT's channel, its delay, then its ring slot -------------------------------
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      inject_pending_q <= 1'b0;
      inject_channel_q <= {IN_W{1'b0}};
      inject_push_q    <= 1'b0;
      inject_slot_q    <= {SLOT_W{1'b0}};
      inject_push_channel_q <= {IN_W{1'b0}};
    end else begin
      inject_pending_q <= inject;
      if (inject) inject_channel_q <= bus_wdata[IN_W-1:0];
      inject_push_q    <= inject_pending_q;
      if (inject_pending_q) begin
        inject_slot_q         <= slot + delay_rdata;
        inject_push_channel_q <= inject_channel_q;
      end
    end
  end

  // ---- bus read: control registers are latched; RAM words come out of the RAMs, profile
  //      words out of the stage-3 registers (BUS_REGISTERED: out of the stage-2 registers
  //      that copy the RAM outputs and a copy of the profile word, one clock later, so
  //      that no RAM drives the bus master's logic)
  reg [3:0]  read_region_q, read_region_late_q;
  reg [3:0]  read_field_q;
  reg [31:0] read_word_q, read_word_late_q;
  reg [31:0] rd_profile_d, rd_profile_late_q;


  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      read_region_q      <= 4'd0;
      read_region_late_q <= 4'd0;
      read_field_q       <= 4'd0;
      read_word_q        <= 32'd0;
      read_word_late_q   <= 32'd0;
      rd_profile_late_q  <= 32'd0;
    end else begin
      read_region_q      <= bus_region;
      read_region_late_q <= read_region_q;
      read_field_q       <= field_sel;
      read_word_q        <= read_word_d;
      read_word_late_q   <= read_word_q;
      rd_profile_late_q  <= rd_profile_d;
    end
  end

  // the words the read data is selected from: the RAM outputs, or their registered copies
  wire        late          = (BUS_REGISTERED != 0);
  wire [3:0]  rd_region     = late ? read_region_late_q : read_region_q;
  wire [31:0] rd_word       = late ? read_word_late_q : read_word_q;
  wire [23:0] rd_v          = late ? v_s2_q : v_rdata;
  wire [23:0] rd_i_exc      = late ? i_exc_s2_q : i_exc_rdata;
  wire [23:0] rd_i_inh      = late ? i_inh_s2_q : i_inh_rdata;
  wire [CTL_W-1:0] rd_ctl   = late ? ctl_s2_q : ctl_rdata;
  wire [15:0] rd_post_trace = late ? post_trace_s2_q : post_trace_rdata;
  wire [15:0] rd_pre_trace  = late ? pre_trace_s2_q : pre_trace_rdata;
  wire [SLOT_W-1:0] rd_delay = late ? delay_s2_q : delay_rdata;
  wire [WORD_W-1:0] rd_weight = late ? weight_s2 : weight_rdata;

  // a profile word is in the stage-3 registers the clock after its address, like a RAM's
  // read data; BUS_REGISTERED takes it one clock later from a copy
  always @* begin
    case (read_field_q)
      F_V_DECAY:   rd_profile_d = {16'd0, v_decay_s3_q};
      F_EXC_DECAY: rd_profile_d = {16'd0, exc_decay_s3_q};
      F_INH_DECAY: rd_profile_d = {16'd0, inh_decay_s3_q};
      F_EXC_GAIN:  rd_profile_d = {16'd0, exc_gain_s3_q};
      F_INH_GAIN:  rd_profile_d = {16'd0, inh_gain_s3_q};
      F_BIAS:      rd_profile_d = {8'd0, bias_s3_q};
      F_V_THRESH:  rd_profile_d = {8'd0, v_thresh_s3_q};
      F_V_RESET:   rd_profile_d = {8'd0, v_reset_s3_q};
      F_REFRAC:    rd_profile_d = {24'd0, refrac_steps_s3_q};
      default:     rd_profile_d = 32'd0;
    endcase
  end
  wire [31:0] rd_profile    = late ? rd_profile_late_q : rd_profile_d;

  always @* begin
    case (rd_region)
      R_CONTROL:    bus_rdata = rd_word;
      R_PROFILE:    bus_rdata = rd_profile;
      R_V:          bus_rdata = {8'd0, rd_v};
      R_I_EXC:      bus_rdata = {8'd0, rd_i_exc};
      R_I_INH:      bus_rdata = {8'd0, rd_i_inh};
      R_CTL:        bus_rdata = {{(32-CTL_W){1'b0}}, rd_ctl};
      R_POST_TRACE: bus_rdata = {16'd0, rd_post_trace};
      R_PRE_TRACE:  bus_rdata = {16'd0, rd_pre_trace};
      R_DELAY:      bus_rdata = {{(32-SLOT_W){1'b0}}, rd_delay};
      R_WEIGHT:     bus_rdata = {{(32-WORD_W){1'b0}}, rd_weight};
      default:      bus_rdata = 32'd0;
    endcase
  end

  // ---- outputs ----------------------------------------------------------------------------
  assign busy_o        = ~idle;
  assign done_o        = (state_q == S_DONE);
  assign overrun_o     = |overruns;
  assign step_cycles_o = last_cycles_q;
  assign step_o        = step_count;
  assign overruns_o    = overruns;
  assign dropped_o     = dropped;
endmodule

`default_nettype wire
