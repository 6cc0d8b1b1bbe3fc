// core_sparse: the LIF/STDP core with synapse lists instead of the dense weight
// matrix (architecture 2, rtl/README.md "The sparse core").
//
// The same step as core.v -- the same neuron, trace, STDP and delay arithmetic
// (the same leaf modules), the same registers and the same order -- but a
// source's synapses are a list (its row: `count` consecutive words of the
// synapse RAM, each {target, plastic, weight}) and a neuron's plastic synapses
// are a list too (its column: `count` consecutive entries of the column index,
// each {source, synapse}), so that 1024 neurons fit an ECP5-85F.
//   (a) deliver: for each spike event due this step, read its row word, then one
//       synapse per clock: the synapse word, then its target's currents and post
//       trace, depression (STDP on, plastic), syn_deliver, write-back; targets
//       >= N_ACTIVE take their clock and change nothing; the pre trace jumps.
//   (b) neurons: as core.v (the same stages and cycles).
//   (c) STDP: the pre-trace decay sweep as core.v; then for each neuron that
//       fired, read its column word, then one entry per clock: the entry, then
//       the synapse word and its source's pre trace, potentiation (active
//       source, plastic), write-back.
// The list sweeps read a list word (a synapse or a column entry) before the
// words it names, so their pipelines are two stages longer than core.v's
// (the stage list is at "the pipeline" below).  Each sweep touches a word at
// most once (the host keeps a row's targets and a column's synapses distinct,
// rtl/README.md) and the pipeline drains before the next row, column or sweep
// begins, so no word is read while a new value for it is in flight: no forwarding.
// Cycles per step (rtl/README.md, "The sparse core"):
//   2 + E*11 + R + (n_active + 7) + stdp*((S + 4) + P*11 + K),  S = n_active + n_inputs
// with E events delivered, R the synapses in their rows, P neurons fired and K
// the entries in their columns.  Golden model:
// neurohw.targets.fpga.model.CoreModel (architecture 2, _sparse_run)
//
// The bus (memory map in rtl/README.md; regions 0x9..0xC are the lists) is
// served only while the core is idle and not in the cycle of a tick; read data
// follows the address by one cycle (BUS_REGISTERED: three).
`default_nettype none

module core_sparse #(
  parameter integer N_NEURONS   = 1024, // neurons (a power of two, 2..1024: a column's 12-bit count)
  parameter integer N_INPUTS    = 1024, // input channels (a power of two, <= N_NEURONS)
  parameter integer WEIGHT_W    = 8,    // signed weight width, 2..16
  parameter integer DELAY_DEPTH = 16,   // delay ring slots (a power of two): delays 0..DELAY_DEPTH-1
  // 1: tick_i and the bus inputs are registered on the way in and bus_rdata_o
  // comes from registers (read data three clocks after the address), as core.v
  parameter integer BUS_REGISTERED = 0,
  parameter integer SYNAPSES    = 65536, // synapse RAM words, a power of two, <= 2^20
  parameter integer PLASTIC_SYNAPSES = 16384, // column index entries, a power of two, <= 2^20
  // address bits per bank of the synapse RAM and of the column index: 14 gives
  // 16K-word banks, one ECP5 16K x 1 block per bit (a bench sets it lower to
  // exercise several banks in a small core)
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
  localparam integer WORD_W  = WEIGHT_W + 1;        // {plastic, weight}, core.v's weight word
  localparam integer SYN_W   = NEU_W + WORD_W;      // synapse RAM word: {target, plastic, weight}
  localparam integer SYN_AW  = $clog2(SYNAPSES);
  localparam integer COL_AW  = $clog2(PLASTIC_SYNAPSES);
  localparam integer CNT_W   = 12;                  // list lengths: {count[11:0], first[19:0]}
  localparam integer ROW_W   = CNT_W + SYN_AW;      // row RAM word: {count, first synapse}
  localparam integer COLW_W  = CNT_W + COL_AW;      // column RAM word: {count, first entry}
  localparam integer ENT_W   = SRC_W + SYN_AW;      // column index word: {source, synapse}
  localparam integer CTL_W   = 12;                  // control RAM word: {spike, profile[2:0], refrac[7:0]}

  // ---- states ---------------------------------------------------------------------
  localparam [4:0] S_IDLE        = 5'd0;
  localparam [4:0] S_START       = 5'd1;
  localparam [4:0] S_DLV_FETCH   = 5'd2;   // read the next event of this step's slot
  localparam [4:0] S_DLV_LOAD    = 5'd3;   // latch its source
  localparam [4:0] S_DLV_ROW     = 5'd4;   // read its row word; issue its pre-trace jump
  localparam [4:0] S_DLV_LIST    = 5'd5;   // latch the row's first synapse and count
  localparam [4:0] S_DLV_SYN     = 5'd6;   // issue the row's synapses, one per clock
  localparam [4:0] S_DLV_DRAIN   = 5'd7;   // until the row's last write-back
  localparam [4:0] S_NEU         = 5'd8;   // sweep the neurons
  localparam [4:0] S_NEU_DRAIN   = 5'd9;
  localparam [4:0] S_XDEC        = 5'd10;  // sweep the sources: pre trace decay
  localparam [4:0] S_XDEC_DRAIN  = 5'd11;
  localparam [4:0] S_POT_FETCH   = 5'd12;  // read the next neuron that fired
  localparam [4:0] S_POT_LOAD    = 5'd13;  // latch it
  localparam [4:0] S_POT_COLUMN  = 5'd14;  // read its column word
  localparam [4:0] S_POT_LIST    = 5'd15;  // latch the column's first entry and count
  localparam [4:0] S_POT_ENTRY   = 5'd16;  // issue the column's entries, one per clock
  localparam [4:0] S_POT_DRAIN   = 5'd17;
  localparam [4:0] S_DONE        = 5'd18;

  // drain clocks after a sweep's last issue: its last write-back stage (the
  // stage list is at "the pipeline" below); an empty row or column spends the
  // first of them in S_DLV_SYN / S_POT_ENTRY, so every list costs the same
  localparam [2:0] DRAIN_DELIVER = 3'd7;   // currents and synapse words written at stage 7
  localparam [2:0] DRAIN_NEURON  = 3'd7;   // neuron words written, spike pushed at stage 7
  localparam [2:0] DRAIN_DECAY   = 3'd4;   // pre traces written at stage 4
  localparam [2:0] DRAIN_POTENT  = 3'd7;   // synapse words written at stage 7

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
  localparam [3:0] R_SYNAPSE    = 4'h9;   // core.v's weight region: here synapse words
  localparam [3:0] R_ROW        = 4'hA;
  localparam [3:0] R_COLUMN     = 4'hB;
  localparam [3:0] R_ENTRY      = 4'hC;   // the column index

  localparam [31:0] ARCHITECTURE   = 32'd2;   // 0: core.v, 1: core_compact.v, 2: this core

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
  reg  [4:0]          state_q, state_d;
  reg  [SRC_W:0]      sweep_q, sweep_d;            // stage-0 neuron or source index
  reg  [SRC_W:0]      event_q, event_d;            // index into this step's slot
  reg  [SRC_W:0]      event_count_q, event_count_d;
  reg  [SRC_W-1:0]    source_q, source_d;          // source of the event being delivered
  reg  [NEU_W-1:0]    post_q, post_d;              // neuron whose column is potentiated
  reg  [SYN_AW-1:0]   syn_addr_q, syn_addr_d;      // the row's next synapse
  reg  [COL_AW-1:0]   entry_q, entry_d;            // the column's next entry
  reg  [CNT_W-1:0]    remain_q, remain_d;          // synapses or entries of the list not yet issued
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

  // ---- the bus and tick as the core sees them (core.v's) ------------------------------
  wire        tick, bus_we;
  wire [23:0] bus_addr;
  wire [31:0] bus_wdata;
  reg  [31:0] bus_rdata;
  bus_input_reg #(.REGISTERED(BUS_REGISTERED)) u_bus_input (
    .clk_i(clk_i), .rst_ni(rst_ni), .tick_i(tick_i), .bus_we_i(bus_we_i),
    .bus_addr_i(bus_addr_i), .bus_wdata_i(bus_wdata_i),
    .tick_o(tick), .bus_we_o(bus_we), .bus_addr_o(bus_addr), .bus_wdata_o(bus_wdata));
  assign bus_rdata_o = bus_rdata;   // BUS_REGISTERED: from registers (see "bus read")

  // ---- bus decode -------------------------------------------------------------------
  wire [3:0]  bus_region = bus_addr[23:20];
  // offsets are 20 bits wide for the largest tables; a small core ignores the high bits
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
  reg         inject_push_q;                       // ... and its delay is known: pushed this clock
  // the injection's step slot and delay, registered as they come (the delay straight
  // out of its RAM: no adder after a block RAM's output); added in the push clock
  reg  [SLOT_W-1:0] inject_slot_q, inject_delay_q;
  reg  [IN_W-1:0] inject_push_channel_q;

  // which list sweep owns the RAM ports that a list item drives from stage 2
  // (its synapse word names the neuron, its column entry the synapse and source)
  wire dlv_list = (state_q == S_DLV_SYN) | (state_q == S_DLV_DRAIN);
  wire pot_list = (state_q == S_POT_ENTRY) | (state_q == S_POT_DRAIN);

  // ---- memories ---------------------------------------------------------------------
  wire signed [23:0] v_rdata, i_exc_rdata, i_inh_rdata;
  wire [CTL_W-1:0]   ctl_rdata;
  wire [15:0]        post_trace_rdata, pre_trace_rdata;
  wire [SLOT_W-1:0]  delay_rdata;
  wire [SYN_W-1:0]   syn_rdata;
  wire [ROW_W-1:0]   row_rdata;
  wire [COLW_W-1:0]  column_rdata;
  wire [ENT_W-1:0]   entry_rdata;
  wire [NEU_W-1:0]   spike_list_rdata;

  reg                v_we, ctl_we, post_trace_we, pre_trace_we, syn_we;
  reg                i_exc_we, i_inh_we;
  reg  [NEU_W-1:0]   neuron_raddr, ctl_raddr, current_raddr, neuron_we_addr, post_trace_waddr;
  reg  [NEU_W-1:0]   column_raddr;
  reg  [23:0]        v_wdata, i_exc_wdata, i_inh_wdata;
  reg  [CTL_W-1:0]   ctl_wdata;
  reg  [15:0]        post_trace_wdata, pre_trace_wdata;
  reg  [SRC_W-1:0]   pre_trace_raddr, pre_trace_waddr, delay_raddr, row_raddr;
  reg  [SYN_AW-1:0]  syn_raddr, syn_waddr;
  reg  [SYN_W-1:0]   syn_wdata;
  reg  [COL_AW-1:0]  entry_raddr;
  wire               delay_we  = bus_write & (bus_region == R_DELAY);
  wire               row_we    = bus_write & (bus_region == R_ROW);
  wire               column_we = bus_write & (bus_region == R_COLUMN);
  wire               entry_we  = bus_write & (bus_region == R_ENTRY);

  // v and the control word are read by the neuron sweep only; the currents and the
  // post trace also by the deliver sweep, at the target its synapse word names.  The
  // control word is read a clock ahead of the neuron's other words (ctl_ahead_q), so
  // that the profile index that selects the profile words and flags at stage 1 comes
  // from a register, not straight out of the control RAM
  ram_1r1w #(.WIDTH(24), .ADDR_W(NEU_W)) u_v_ram (
    .clk_i(clk_i), .raddr_i(neuron_raddr), .rdata_o(v_rdata),
    .we_i(v_we), .waddr_i(neuron_we_addr), .wdata_i(v_wdata));
  ram_1r1w #(.WIDTH(24), .ADDR_W(NEU_W)) u_i_exc_ram (
    .clk_i(clk_i), .raddr_i(current_raddr), .rdata_o(i_exc_rdata),
    .we_i(i_exc_we), .waddr_i(neuron_we_addr), .wdata_i(i_exc_wdata));
  ram_1r1w #(.WIDTH(24), .ADDR_W(NEU_W)) u_i_inh_ram (
    .clk_i(clk_i), .raddr_i(current_raddr), .rdata_o(i_inh_rdata),
    .we_i(i_inh_we), .waddr_i(neuron_we_addr), .wdata_i(i_inh_wdata));
  ram_1r1w #(.WIDTH(CTL_W), .ADDR_W(NEU_W)) u_ctl_ram (
    .clk_i(clk_i), .raddr_i(ctl_raddr), .rdata_o(ctl_rdata),
    .we_i(ctl_we), .waddr_i(neuron_we_addr), .wdata_i(ctl_wdata));
  ram_1r1w #(.WIDTH(16), .ADDR_W(NEU_W)) u_post_trace_ram (
    .clk_i(clk_i), .raddr_i(current_raddr), .rdata_o(post_trace_rdata),
    .we_i(post_trace_we), .waddr_i(post_trace_waddr), .wdata_i(post_trace_wdata));
  ram_1r1w #(.WIDTH(16), .ADDR_W(SRC_W)) u_pre_trace_ram (
    .clk_i(clk_i), .raddr_i(pre_trace_raddr), .rdata_o(pre_trace_rdata),
    .we_i(pre_trace_we), .waddr_i(pre_trace_waddr), .wdata_i(pre_trace_wdata));
  ram_1r1w #(.WIDTH(SLOT_W), .ADDR_W(SRC_W)) u_delay_ram (
    .clk_i(clk_i), .raddr_i(delay_raddr), .rdata_o(delay_rdata),
    .we_i(delay_we), .waddr_i(bus_offset[SRC_W-1:0]), .wdata_i(bus_wdata[SLOT_W-1:0]));

  // the lists' heads: written by the bus only, read by the sweeps and the bus.
  // The fields are stored cut to the RAM widths (rtl/README.md)
  ram_1r1w #(.WIDTH(ROW_W), .ADDR_W(SRC_W)) u_row_ram (
    .clk_i(clk_i), .raddr_i(row_raddr), .rdata_o(row_rdata),
    .we_i(row_we), .waddr_i(bus_offset[SRC_W-1:0]),
    .wdata_i({bus_wdata[31:20], bus_wdata[SYN_AW-1:0]}));
  ram_1r1w #(.WIDTH(COLW_W), .ADDR_W(NEU_W)) u_column_ram (
    .clk_i(clk_i), .raddr_i(column_raddr), .rdata_o(column_rdata),
    .we_i(column_we), .waddr_i(bus_offset[NEU_W-1:0]),
    .wdata_i({bus_wdata[31:20], bus_wdata[COL_AW-1:0]}));

  // the synapse RAM and the column index: banks of at most 2^WEIGHT_BANK_ADDR_W
  // words, one block per bit and bank (core.v's weight RAM); the sweeps register
  // every bank's word and select the bank after that register
  localparam integer SYN_BANK_W     = (SYN_AW > WEIGHT_BANK_ADDR_W) ? SYN_AW - WEIGHT_BANK_ADDR_W : 0;
  localparam integer SYN_BANKS      = 1 << SYN_BANK_W;
  localparam integer SYN_BANK_SEL_W = (SYN_BANK_W > 0) ? SYN_BANK_W : 1;
  localparam integer COL_BANK_W     = (COL_AW > WEIGHT_BANK_ADDR_W) ? COL_AW - WEIGHT_BANK_ADDR_W : 0;
  localparam integer COL_BANKS      = 1 << COL_BANK_W;
  localparam integer COL_BANK_SEL_W = (COL_BANK_W > 0) ? COL_BANK_W : 1;
  wire [SYN_BANKS*SYN_W-1:0] syn_bank_rdata;
  wire [SYN_BANK_SEL_W-1:0]  syn_bank;
  wire [COL_BANKS*ENT_W-1:0] entry_bank_rdata;
  wire [COL_BANK_SEL_W-1:0]  entry_bank;
  // (WRITE_REG: every write lands a clock later, no logic between the write decode and
  // the blocks' enables; a synapse word is never read in the clock after its write)
  ram_banked #(.WIDTH(SYN_W), .ADDR_W(SYN_AW), .BANK_W(SYN_BANK_W), .WRITE_REG(1)) u_syn_ram (
    .clk_i(clk_i), .raddr_i(syn_raddr), .bank_rdata_o(syn_bank_rdata),
    .bank_o(syn_bank), .rdata_o(syn_rdata),
    .we_i(syn_we), .waddr_i(syn_waddr), .wdata_i(syn_wdata));
  ram_banked #(.WIDTH(ENT_W), .ADDR_W(COL_AW), .BANK_W(COL_BANK_W)) u_entry_ram (
    .clk_i(clk_i), .raddr_i(entry_raddr), .bank_rdata_o(entry_bank_rdata),
    .bank_o(entry_bank), .rdata_o(entry_rdata),
    .we_i(entry_we), .waddr_i(bus_offset[COL_AW-1:0]),
    .wdata_i({bus_wdata[20 +: SRC_W], bus_wdata[SYN_AW-1:0]}));

  // the neuron's control word at stage 1 (read at stage -1: see u_ctl_ram)
  reg  [CTL_W-1:0] ctl_ahead_q;
  always @(posedge clk_i) ctl_ahead_q <= ctl_rdata;

  // the 8 parameter profiles, as core.v: one small RAM per field, read at stage 1 with
  // the neuron's profile; rst_ni leaves them as they are (RESET bit 4 zeroes them: the
  // front end's sweep)
  wire [2:0]  profile_raddr = idle ? field_profile : ctl_ahead_q[10:8];
  wire [15:0] prof_v_decay, prof_exc_decay, prof_inh_decay, prof_exc_gain, prof_inh_gain;
  wire [23:0] prof_bias, prof_v_thresh, prof_v_reset;
  wire [7:0]  prof_refrac_steps;
  ram_1r1w #(.WIDTH(16), .ADDR_W(3)) u_prof_v_decay_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_v_decay),
    .we_i(field_write & (field_sel == F_V_DECAY)), .waddr_i(field_profile), .wdata_i(bus_wdata[15:0]));
  ram_1r1w #(.WIDTH(16), .ADDR_W(3)) u_prof_exc_decay_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_exc_decay),
    .we_i(field_write & (field_sel == F_EXC_DECAY)), .waddr_i(field_profile), .wdata_i(bus_wdata[15:0]));
  ram_1r1w #(.WIDTH(16), .ADDR_W(3)) u_prof_inh_decay_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_inh_decay),
    .we_i(field_write & (field_sel == F_INH_DECAY)), .waddr_i(field_profile), .wdata_i(bus_wdata[15:0]));
  ram_1r1w #(.WIDTH(16), .ADDR_W(3)) u_prof_exc_gain_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_exc_gain),
    .we_i(field_write & (field_sel == F_EXC_GAIN)), .waddr_i(field_profile), .wdata_i(bus_wdata[15:0]));
  ram_1r1w #(.WIDTH(16), .ADDR_W(3)) u_prof_inh_gain_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_inh_gain),
    .we_i(field_write & (field_sel == F_INH_GAIN)), .waddr_i(field_profile), .wdata_i(bus_wdata[15:0]));
  ram_1r1w #(.WIDTH(24), .ADDR_W(3)) u_prof_bias_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_bias),
    .we_i(field_write & (field_sel == F_BIAS)), .waddr_i(field_profile), .wdata_i(bus_wdata[23:0]));
  ram_1r1w #(.WIDTH(24), .ADDR_W(3)) u_prof_v_thresh_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_v_thresh),
    .we_i(field_write & (field_sel == F_V_THRESH)), .waddr_i(field_profile), .wdata_i(bus_wdata[23:0]));
  ram_1r1w #(.WIDTH(24), .ADDR_W(3)) u_prof_v_reset_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_v_reset),
    .we_i(field_write & (field_sel == F_V_RESET)), .waddr_i(field_profile), .wdata_i(bus_wdata[23:0]));
  ram_1r1w #(.WIDTH(8), .ADDR_W(3)) u_prof_refrac_ram (
    .clk_i(clk_i), .raddr_i(profile_raddr), .rdata_o(prof_refrac_steps),
    .we_i(field_write & (field_sel == F_REFRAC)), .waddr_i(field_profile), .wdata_i(bus_wdata[7:0]));

  // ---- sweeps ------------------------------------------------------------------------
  wire [SRC_W:0] n_active_ext  = {{(SRC_W-NEU_W){1'b0}}, n_active};
  wire [SRC_W:0] n_inputs_ext  = {{(SRC_W-IN_W){1'b0}}, n_inputs};
  wire           neuron_last   = (sweep_q == n_active_ext - 1'b1);
  // source sweeps visit neurons 0..n_active-1, then input channels N..N+n_inputs-1
  wire           source_last   = (n_inputs == 0) ? neuron_last
                                                   : (sweep_q == FIRST_INPUT + n_inputs_ext - 1'b1);
  wire [SRC_W:0] source_next   = neuron_last ? FIRST_INPUT : sweep_q + 1'b1;
  // a list sweep issues while items are left; the last one (or an empty list) ends it
  wire           remain_any    = (remain_q != {CNT_W{1'b0}});
  wire           remain_last   = (remain_q[CNT_W-1:1] == {(CNT_W-1){1'b0}});

  wire [SLOT_W-1:0] slot       = step_count[SLOT_W-1:0];
  wire [SRC_W-1:0]  ring_pop_source;
  wire [SRC_W:0]    ring_pop_count;
  wire              ring_push_full;
  reg               ring_push, ring_clear;
  reg  [SLOT_W-1:0] ring_push_slot;
  reg  [SRC_W-1:0]  ring_push_source;

  delay_ring #(.DEPTH(DELAY_DEPTH), .SRC_W(SRC_W), .WRITE_REG(1)) u_delay_ring (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .push_i(ring_push), .push_slot_i(ring_push_slot), .push_source_i(ring_push_source),
    .push_full_o(ring_push_full),
    .pop_slot_i(slot), .pop_index_i(event_q[SRC_W-1:0]), .pop_source_o(ring_pop_source),
    .pop_count_o(ring_pop_count), .clear_i(ring_clear));

  // ---- the pipeline: which item is in which stage ----------------------------------------
  // stage 0 issues an item's first addresses; an item is in stage k k clocks later.
  // Neurons, pre-trace decays and pre-trace jumps (core.v's stages):
  //   1 RAM read, 2 RAM output register, trace_update; 3 profile, lif_neuron_update
  //   starts, new trace -> write-back register; 4 trace written; 6 neuron result ->
  //   write-back register; 7 neuron words written, spike pushed
  // Synapses of a row (deliver):
  //   0 synapse RAM address (the row's counter)   1 synapse RAM read
  //   2 its banks registered, the bank selected: the target addresses the currents
  //     and the post trace; target < N_ACTIVE registered
  //   3 current and post trace RAM read          4 their output registers; stdp_update starts
  //   6 new weight (stdp_update LATENCY 2); syn_deliver -> write-back registers
  //   7 currents and synapse word written
  // Entries of a column (potentiation):
  //   0 column index address (the column's counter)   1 column index read
  //   2 its banks registered, the bank selected: the synapse addresses the synapse
  //     RAM, the source the pre trace; "source active" registered
  //   3 synapse RAM and pre trace read           4 their output registers; stdp_update starts
  //   6 new weight -> write-back register        7 synapse word written
  // so both list sweeps enter stdp_update at stage 4 and write at stage 7.
  wire issue_neuron  = (state_q == S_NEU);
  wire issue_decay   = (state_q == S_XDEC);
  wire issue_jump    = (state_q == S_DLV_ROW);
  wire issue_deliver = (state_q == S_DLV_SYN) & remain_any;
  wire issue_potent  = (state_q == S_POT_ENTRY) & remain_any;

  // one valid bit per kind of item and stage: bit k-1 = an item in stage k
  reg [5:0] neu_q, dlv_q, pot_q;
  reg [2:0] dec_q, jump_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      neu_q  <= 6'd0;
      dlv_q  <= 6'd0;
      pot_q  <= 6'd0;
      dec_q  <= 3'd0;
      jump_q <= 3'd0;
    end else begin
      neu_q  <= {neu_q[4:0], issue_neuron};
      dlv_q  <= {dlv_q[4:0], issue_deliver};
      pot_q  <= {pot_q[4:0], issue_potent};
      dec_q  <= {dec_q[1:0], issue_decay};
      jump_q <= {jump_q[1:0], issue_jump};
    end
  end
  wire neuron_s3  = neu_q[2];
  wire neuron_s6  = neu_q[5];
  wire decay_s2   = dec_q[1];
  wire decay_s3   = dec_q[2];
  wire jump_s2    = jump_q[1];
  wire jump_s3    = jump_q[2];
  wire deliver_s6 = dlv_q[5];
  wire potent_s2  = pot_q[1];
  wire potent_s4  = pot_q[3];
  wire potent_s6  = pot_q[5];

  // the index of a neuron, decay or jump item (a jump's is its event's source);
  // only neuron items need theirs past stage 3
  reg [SRC_W-1:0] index_s1_q, index_s2_q, index_s3_q;
  reg [NEU_W-1:0] index_s4_q, index_s5_q, index_s6_q;
  always @(posedge clk_i) begin
    index_s1_q <= issue_jump ? source_q : sweep_q[SRC_W-1:0];
    index_s2_q <= index_s1_q;
    index_s3_q <= index_s2_q;
    index_s4_q <= index_s3_q[NEU_W-1:0];
    index_s5_q <= index_s4_q;
    index_s6_q <= index_s5_q;
  end

  // ---- RAM output registers (loaded every clock; each sweep knows the stage they hold) ----
  reg signed [23:0]  v_out_q, i_exc_out_q, i_inh_out_q;
  reg [CTL_W-1:0]    ctl_out_q;
  reg [15:0]         post_trace_out_q, pre_trace_out_q;
  reg [SLOT_W-1:0]   delay_out_q;
  reg [ROW_W-1:0]    row_out_q;                     // for BUS_REGISTERED reads only
  reg [COLW_W-1:0]   column_out_q;                  // for BUS_REGISTERED reads only
  reg [SYN_BANKS*SYN_W-1:0]  syn_banks_q;           // every bank's word; the bank select follows
  reg [SYN_BANK_SEL_W-1:0]   syn_bank_q;
  reg [COL_BANKS*ENT_W-1:0]  entry_banks_q;
  reg [COL_BANK_SEL_W-1:0]   entry_bank_q;

  always @(posedge clk_i) begin
    v_out_q          <= v_rdata;
    i_exc_out_q      <= i_exc_rdata;
    i_inh_out_q      <= i_inh_rdata;
    ctl_out_q        <= ctl_ahead_q;
    post_trace_out_q <= post_trace_rdata;
    pre_trace_out_q  <= pre_trace_rdata;
    delay_out_q      <= delay_rdata;
    row_out_q        <= row_rdata;
    column_out_q     <= column_rdata;
    syn_banks_q      <= syn_bank_rdata;
    syn_bank_q       <= syn_bank;
    entry_banks_q    <= entry_bank_rdata;
    entry_bank_q     <= entry_bank;
  end

  // the registered synapse word (a deliver item's at stage 2, a potentiation item's at
  // stage 4) and column entry (a potentiation item's at stage 2)
  wire [SYN_W-1:0] syn_word  = syn_banks_q[syn_bank_q*SYN_W +: SYN_W];
  wire [ENT_W-1:0] entry     = entry_banks_q[entry_bank_q*ENT_W +: ENT_W];
  wire [NEU_W-1:0] syn_target    = syn_word[SYN_W-1 -: NEU_W];
  wire [SRC_W-1:0] entry_source  = entry[ENT_W-1 -: SRC_W];
  wire [SYN_AW-1:0] entry_synapse = entry[SYN_AW-1:0];
  // an active source: a neuron below N_ACTIVE or an input channel below N_INPUTS
  wire [SRC_W:0]   entry_channel = {2'b00, entry_source[NEU_W-1:0]};
  wire             entry_active  = entry_source[SRC_W-1] ? (entry_channel < n_inputs_ext)
                                                         : (entry_channel < n_active_ext);
  wire             target_active = ({1'b0, syn_target} < n_active);

  // ---- stage 0..2 of the list sweeps: the synapse address and "active" flag -----------
  // a deliver item's synapse address is its row counter's; a potentiation item's
  // comes out of its column entry at stage 2
  reg [SYN_AW-1:0] syn_addr_s1_q, syn_addr_s2_q, syn_addr_s3_q, syn_addr_s4_q,
                   syn_addr_s5_q, syn_addr_s6_q;
  reg              active_s3_q, active_s4_q, active_s5_q, active_s6_q;
  reg [SYN_W-1:0]  syn_dlv_s3_q, syn_dlv_s4_q;        // a deliver item's synapse word, to stage 4
  always @(posedge clk_i) begin
    syn_addr_s1_q <= syn_addr_q;
    syn_addr_s2_q <= syn_addr_s1_q;
    syn_addr_s3_q <= potent_s2 ? entry_synapse : syn_addr_s2_q;
    syn_addr_s4_q <= syn_addr_s3_q;
    syn_addr_s5_q <= syn_addr_s4_q;
    syn_addr_s6_q <= syn_addr_s5_q;
    active_s3_q   <= potent_s2 ? entry_active : target_active;
    active_s4_q   <= active_s3_q;
    active_s5_q   <= active_s4_q;
    active_s6_q   <= active_s5_q;
    syn_dlv_s3_q  <= syn_word;
    syn_dlv_s4_q  <= syn_dlv_s3_q;
  end

  // ---- stage 3: the neuron's state words and its profile (core.v's) --------------------
  reg signed [23:0]  v_s3_q, i_exc_s3_q, i_inh_s3_q;
  reg [CTL_W-2:0]    ctl_s3_q;                      // {profile, refrac}: the spike flag went to the post trace
  reg [SLOT_W-1:0]   delay_s3_q;
  reg [15:0]         v_decay_s3_q, exc_decay_s3_q, inh_decay_s3_q, exc_gain_s3_q, inh_gain_s3_q;
  reg signed [23:0]  bias_s3_q, v_thresh_s3_q, v_reset_s3_q;
  reg [7:0]          refrac_steps_s3_q;

  always @(posedge clk_i) begin
    v_s3_q            <= v_out_q;
    i_exc_s3_q        <= i_exc_out_q;
    i_inh_s3_q        <= i_inh_out_q;
    ctl_s3_q          <= ctl_out_q[CTL_W-2:0];
    delay_s3_q        <= delay_out_q;
    // the profile RAMs were read with the control word's profile at stage 1
    v_decay_s3_q      <= prof_v_decay;
    exc_decay_s3_q    <= prof_exc_decay;
    inh_decay_s3_q    <= prof_inh_decay;
    exc_gain_s3_q     <= prof_exc_gain;
    inh_gain_s3_q     <= prof_inh_gain;
    bias_s3_q         <= prof_bias;
    v_thresh_s3_q     <= prof_v_thresh;
    v_reset_s3_q      <= prof_v_reset;
    refrac_steps_s3_q <= prof_refrac_steps;
  end

  // ---- stages 4..6 of the list sweeps: STDP and delivery ----------------------------------
  // depression of a delivered synapse by its target's post trace, potentiation of a
  // column's synapse by its source's pre trace; the new weight is ready at stage 6
  wire [SYN_W-1:0] syn_s4 = potent_s4 ? syn_word : syn_dlv_s4_q;
  wire signed [WEIGHT_W-1:0] weight_stdp;
  stdp_update #(.WEIGHT_W(WEIGHT_W)) u_stdp_update (
    .clk_i(clk_i),
    .weight_i(syn_s4[WEIGHT_W-1:0]),
    .trace_i(potent_s4 ? pre_trace_out_q : post_trace_out_q),
    .amplitude_i(potent_s4 ? a_plus : a_minus),
    .potentiate_i(potent_s4),
    .w_min_i(w_min), .w_max_i(w_max),
    .weight_o(weight_stdp));

  // the synapse word and a deliver item's currents wait for the STDP result
  reg [SYN_W-1:0]    syn_s5_q, syn_s6_q;
  reg signed [23:0]  i_exc_s5_q, i_inh_s5_q, i_exc_s6_q, i_inh_s6_q;
  always @(posedge clk_i) begin
    syn_s5_q   <= syn_s4;
    syn_s6_q   <= syn_s5_q;
    i_exc_s5_q <= i_exc_out_q;
    i_inh_s5_q <= i_inh_out_q;
    i_exc_s6_q <= i_exc_s5_q;
    i_inh_s6_q <= i_inh_s5_q;
  end

  wire                       plastic_s6       = syn_s6_q[WEIGHT_W];
  wire [NEU_W-1:0]           target_s6        = syn_s6_q[SYN_W-1 -: NEU_W];
  wire signed [WEIGHT_W-1:0] weight_delivered = (stdp_enable & plastic_s6) ? weight_stdp
                                                                             : syn_s6_q[WEIGHT_W-1:0];
  wire signed [23:0] i_exc_delivered, i_inh_delivered;
  syn_deliver #(.WEIGHT_W(WEIGHT_W)) u_syn_deliver (
    .weight_i(weight_delivered), .i_exc_i(i_exc_s6_q), .i_inh_i(i_inh_s6_q),
    .i_exc_o(i_exc_delivered), .i_inh_o(i_inh_delivered));

  // ---- stages 3..6 of the neuron sweep: the neuron update (core.v's) ---------------------
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

  // ---- traces: stage 2 -> stage 3, written at stage 4 (core.v's) ----------------------------
  // the post trace takes last step's spike (ctl bit 11) in the neuron sweep
  wire [15:0] post_trace_next;
  trace_update u_post_trace_update (
    .clk_i(clk_i),
    .trace_i(post_trace_out_q), .jump_i(ctl_out_q[11]), .decay_en_i(1'b1),
    .retention_i(post_decay), .trace_o(post_trace_next));

  // the pre trace jumps once per delivered event (its own item, issued in S_DLV_ROW,
  // so an empty row jumps too) and decays in sweep (c)
  wire [15:0] pre_trace_next;
  trace_update u_pre_trace_update (
    .clk_i(clk_i),
    .trace_i(pre_trace_out_q), .jump_i(jump_s2), .decay_en_i(decay_s2),
    .retention_i(pre_decay), .trace_o(pre_trace_next));

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
    pre_wb_index_q  <= index_s3_q;
    post_wb_trace_q <= post_trace_next;
    pre_wb_trace_q  <= pre_trace_next;
  end

  // ---- write-back registers (stage 6 -> 7): delivered currents and synapse words, or
  //      neuron words and the spike; never both, the pipeline drains between sweeps
  reg                     wb_deliver_q, wb_syn_q, wb_neuron_q, push_q;
  reg [NEU_W-1:0]         wb_index_q;                // neuron, or a delivered synapse's target
  reg signed [23:0]       wb_v_q, wb_i_exc_q, wb_i_inh_q;
  reg [CTL_W-1:0]         wb_ctl_q;
  reg [SYN_AW-1:0]        wb_syn_addr_q;
  reg [SYN_W-1:0]         wb_syn_word_q;
  reg [SLOT_W-1:0]        push_delay_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wb_deliver_q <= 1'b0;
      wb_syn_q     <= 1'b0;
      wb_neuron_q  <= 1'b0;
      push_q       <= 1'b0;
    end else begin
      // a synapse onto a neuron >= N_ACTIVE, or from an inactive source, changes nothing
      wb_deliver_q <= deliver_s6 & active_s6_q;
      wb_syn_q     <= ((deliver_s6 & stdp_enable) | potent_s6) & plastic_s6 & active_s6_q;
      wb_neuron_q  <= neuron_s6;
      push_q       <= neuron_s6 & spike;
    end
  end

  always @(posedge clk_i) begin
    wb_index_q        <= neuron_s6 ? index_s6_q : target_s6;
    wb_v_q            <= v_next;
    wb_i_exc_q        <= neuron_s6 ? i_exc_next : i_exc_delivered;
    wb_i_inh_q        <= neuron_s6 ? i_inh_next : i_inh_delivered;
    wb_ctl_q          <= {spike, profile_s6_q, refrac_next};
    wb_syn_addr_q     <= syn_addr_s6_q;
    wb_syn_word_q     <= {target_s6, 1'b1, weight_stdp};
    push_delay_q      <= delay_s6_q;
  end

  wire [NEU_W-1:0] push_neuron = wb_index_q;

  assign spike_valid_o = push_q;
  assign spike_id_o    = push_neuron;

  // ---- memory ports: the bus while idle, the sweeps otherwise -------------------------------
  always @* begin
    neuron_raddr     = idle ? bus_offset[NEU_W-1:0] : sweep_q[NEU_W-1:0];
    // a clock ahead: neuron k+1's while neuron k issues, neuron 0's in the clock before
    // S_NEU (the last clock of S_START or S_DLV_DRAIN; nothing writes control words then)
    ctl_raddr        = idle ? bus_offset[NEU_W-1:0]
                     : issue_neuron ? sweep_q[NEU_W-1:0] + 1'b1 : {NEU_W{1'b0}};
    current_raddr    = idle ? bus_offset[NEU_W-1:0] : dlv_list ? syn_target : sweep_q[NEU_W-1:0];
    neuron_we_addr   = idle ? bus_offset[NEU_W-1:0] : wb_index_q;
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
                     : pot_list ? entry_source
                     : issue_jump ? source_q : sweep_q[SRC_W-1:0];
    pre_trace_we     = idle ? bus_write & (bus_region == R_PRE_TRACE) : pre_wb_q;
    pre_trace_waddr  = idle ? bus_offset[SRC_W-1:0] : pre_wb_index_q;
    pre_trace_wdata  = idle ? bus_wdata[15:0] : pre_wb_trace_q;

    delay_raddr      = !idle ? sweep_q[SRC_W-1:0]
                     : inject ? {1'b1, {(SRC_W-1-IN_W){1'b0}}, bus_wdata[IN_W-1:0]}
                     : bus_offset[SRC_W-1:0];

    row_raddr        = idle ? bus_offset[SRC_W-1:0] : source_q;
    column_raddr     = idle ? bus_offset[NEU_W-1:0] : post_q;
    entry_raddr      = idle ? bus_offset[COL_AW-1:0] : entry_q;

    syn_raddr        = idle ? bus_offset[SYN_AW-1:0] : pot_list ? entry_synapse : syn_addr_q;
    syn_we           = idle ? bus_write & (bus_region == R_SYNAPSE) : wb_syn_q;
    syn_waddr        = idle ? bus_offset[SYN_AW-1:0] : wb_syn_addr_q;
    syn_wdata        = idle ? bus_wdata[SYN_W-1:0] : wb_syn_word_q;

    // the ring takes injected channels while idle and fired neurons in sweep (b)
    ring_push        = inject_push_q | push_q;
    ring_push_slot   = inject_push_q ? inject_slot_q + inject_delay_q : slot + 1'b1 + push_delay_q;
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
      S_DLV_ROW:    state_d = S_DLV_LIST;
      S_DLV_LIST:   state_d = S_DLV_SYN;
      S_DLV_SYN:    if (remain_last) state_d = S_DLV_DRAIN;
      S_DLV_DRAIN:  if (drain_last)
                      state_d = (event_q + 1'b1 == event_count_q) ? S_NEU : S_DLV_FETCH;
      S_NEU:        if (neuron_last) state_d = S_NEU_DRAIN;
      S_NEU_DRAIN:  if (drain_last) state_d = stdp_enable ? S_XDEC : S_DONE;
      S_XDEC:       if (source_last) state_d = S_XDEC_DRAIN;
      S_XDEC_DRAIN: if (drain_last) state_d = (spike_count_q != 0) ? S_POT_FETCH : S_DONE;
      S_POT_FETCH:  state_d = S_POT_LOAD;
      S_POT_LOAD:   state_d = S_POT_COLUMN;
      S_POT_COLUMN: state_d = S_POT_LIST;
      S_POT_LIST:   state_d = S_POT_ENTRY;
      S_POT_ENTRY:  if (remain_last) state_d = S_POT_DRAIN;
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
    syn_addr_d    = syn_addr_q;
    entry_d       = entry_q;
    remain_d      = remain_q;
    spike_index_d = spike_index_q;
    drain_d       = 3'd0;
    case (state_q)
      S_START: begin
        sweep_d       = {(SRC_W+1){1'b0}};
        event_d       = {(SRC_W+1){1'b0}};
        event_count_d = ring_pop_count;
        spike_index_d = {(NEU_W+1){1'b0}};
      end
      S_DLV_LOAD:   source_d = ring_pop_source;
      // the list word goes from its RAM into the counters; the empty-list decision
      // is taken a clock later, from them
      S_DLV_LIST: begin
        syn_addr_d = row_rdata[SYN_AW-1:0];
        remain_d   = row_rdata[ROW_W-1 -: CNT_W];
      end
      S_POT_LIST: begin
        entry_d  = column_rdata[COL_AW-1:0];
        remain_d = column_rdata[COLW_W-1 -: CNT_W];
      end
      // an empty list spends its one clock here as the first drain clock
      S_DLV_SYN, S_POT_ENTRY: begin
        syn_addr_d = syn_addr_q + 1'b1;   // wraps: the lists are modulo the table sizes
        entry_d    = entry_q + 1'b1;
        remain_d   = remain_q - {{(CNT_W-1){1'b0}}, remain_any};
        drain_d    = remain_any ? 3'd0 : 3'd1;
      end
      S_DLV_DRAIN:  begin
        drain_d = drain_q + 1'b1;
        if (drain_last) event_d = event_q + 1'b1;
      end
      S_NEU:        sweep_d = sweep_q + 1'b1;
      S_NEU_DRAIN:  begin drain_d = drain_q + 1'b1; sweep_d = {(SRC_W+1){1'b0}}; end
      S_XDEC:       sweep_d = source_next;
      S_XDEC_DRAIN: drain_d = drain_q + 1'b1;
      S_POT_LOAD:   post_d = spike_list_rdata;
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
      syn_addr_q     <= {SYN_AW{1'b0}};
      entry_q        <= {COL_AW{1'b0}};
      remain_q       <= {CNT_W{1'b0}};
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
      syn_addr_q     <= syn_addr_d;
      entry_q        <= entry_d;
      remain_q       <= remain_d;
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
      .DELAY_DEPTH(DELAY_DEPTH), .ARCHITECTURE(ARCHITECTURE),
      .SYNAPSES(SYNAPSES), .PLASTIC_SYNAPSES(PLASTIC_SYNAPSES)) u_regs (
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
      inject_delay_q   <= {SLOT_W{1'b0}};
      inject_push_channel_q <= {IN_W{1'b0}};
    end else begin
      inject_pending_q <= inject;
      if (inject) inject_channel_q <= bus_wdata[IN_W-1:0];
      inject_push_q    <= inject_pending_q;
      if (inject_pending_q) begin
        inject_slot_q         <= slot;
        inject_delay_q        <= delay_rdata;
        inject_push_channel_q <= inject_channel_q;
      end
    end
  end

  // ---- bus read: control registers are latched; RAM words (profiles included) come out
  //      of the RAMs (BUS_REGISTERED: out of the registers that copy the RAM outputs,
  //      one clock later, so that no RAM drives the bus master's logic)
  reg [3:0]  read_region_q, read_region_late_q;
  reg [3:0]  read_field_q, read_field_late_q;
  reg [31:0] read_word_q, read_word_late_q;


  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      read_region_q      <= 4'd0;
      read_region_late_q <= 4'd0;
      read_field_q       <= 4'd0;
      read_field_late_q  <= 4'd0;
      read_word_q        <= 32'd0;
      read_word_late_q   <= 32'd0;
    end else begin
      read_region_q      <= bus_region;
      read_region_late_q <= read_region_q;
      read_field_q       <= field_sel;
      read_field_late_q  <= read_field_q;
      read_word_q        <= read_word_d;
      read_word_late_q   <= read_word_q;
    end
  end

  // the words the read data is selected from: the RAM outputs, or their registered copies
  wire        late          = (BUS_REGISTERED != 0);
  wire [3:0]  rd_region     = late ? read_region_late_q : read_region_q;
  wire [3:0]  rd_field      = late ? read_field_late_q : read_field_q;
  wire [31:0] rd_word       = late ? read_word_late_q : read_word_q;
  wire [23:0] rd_v          = late ? v_out_q : v_rdata;
  wire [23:0] rd_i_exc      = late ? i_exc_out_q : i_exc_rdata;
  wire [23:0] rd_i_inh      = late ? i_inh_out_q : i_inh_rdata;
  wire [CTL_W-1:0] rd_ctl   = late ? ctl_ahead_q : ctl_rdata;
  wire [15:0] rd_post_trace = late ? post_trace_out_q : post_trace_rdata;
  wire [15:0] rd_pre_trace  = late ? pre_trace_out_q : pre_trace_rdata;
  wire [SLOT_W-1:0] rd_delay = late ? delay_out_q : delay_rdata;
  wire [SYN_W-1:0]  rd_syn   = late ? syn_word : syn_rdata;
  wire [ROW_W-1:0]  rd_row   = late ? row_out_q : row_rdata;
  wire [COLW_W-1:0] rd_column = late ? column_out_q : column_rdata;
  wire [ENT_W-1:0]  rd_entry = late ? entry : entry_rdata;
  reg  [31:0] rd_profile;
  // the table words as the bus shows them: count (or source) in bits 31:20, the
  // first synapse or entry (or the synapse) zero-extended in bits 19:0
  reg  [31:0] rd_row_word, rd_column_word, rd_entry_word;

  always @* begin
    rd_row_word = 32'd0;
    rd_row_word[31:20] = rd_row[ROW_W-1 -: CNT_W];
    rd_row_word[SYN_AW-1:0] = rd_row[SYN_AW-1:0];
    rd_column_word = 32'd0;
    rd_column_word[31:20] = rd_column[COLW_W-1 -: CNT_W];
    rd_column_word[COL_AW-1:0] = rd_column[COL_AW-1:0];
    rd_entry_word = 32'd0;
    rd_entry_word[20 +: SRC_W] = rd_entry[ENT_W-1 -: SRC_W];
    rd_entry_word[SYN_AW-1:0] = rd_entry[SYN_AW-1:0];
  end

  always @* begin
    case (rd_field)
      F_V_DECAY:   rd_profile = {16'd0, late ? v_decay_s3_q : prof_v_decay};
      F_EXC_DECAY: rd_profile = {16'd0, late ? exc_decay_s3_q : prof_exc_decay};
      F_INH_DECAY: rd_profile = {16'd0, late ? inh_decay_s3_q : prof_inh_decay};
      F_EXC_GAIN:  rd_profile = {16'd0, late ? exc_gain_s3_q : prof_exc_gain};
      F_INH_GAIN:  rd_profile = {16'd0, late ? inh_gain_s3_q : prof_inh_gain};
      F_BIAS:      rd_profile = {8'd0, late ? bias_s3_q : prof_bias};
      F_V_THRESH:  rd_profile = {8'd0, late ? v_thresh_s3_q : prof_v_thresh};
      F_V_RESET:   rd_profile = {8'd0, late ? v_reset_s3_q : prof_v_reset};
      F_REFRAC:    rd_profile = {24'd0, late ? refrac_steps_s3_q : prof_refrac_steps};
      default:     rd_profile = 32'd0;
    endcase
  end

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
      R_SYNAPSE:    bus_rdata = {{(32-SYN_W){1'b0}}, rd_syn};
      R_ROW:        bus_rdata = rd_row_word;
      R_COLUMN:     bus_rdata = rd_column_word;
      R_ENTRY:      bus_rdata = rd_entry_word;
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
