// core_compact: the LIF/STDP core in the area of an iCE40 UP5K (iCEBreaker).
//
// The same function, bus, memory map, registers and arithmetic as core.v
// (every state word, trace, weight and spike identical on the same program);
// only the clocks per step differ, and ARCHITECTURE (0x1C) reads 1.
// Where core.v pipelines every sweep at one item per clock with a copy of the
// state words in every stage, this core spends clocks instead of logic:
//   * the neuron update is lif_neuron_seq: 17 clocks per neuron on one 16x16
//     multiplier, the 9 profile fields read one per clock from one profile RAM,
//     each result written into its RAM in the clock it comes out;
//   * the weights are in one single-port RAM of two-synapse words (ram_spram:
//     the UP5K's SPRAMs with WEIGHT_W = 7), so a sweep that writes weights
//     (deliver with STDP on, potentiation) issues a synapse every other clock:
//     reads in even clocks, the write-backs three clocks later in odd ones;
//   * one trace_update serves the pre-trace jump, the post trace and the
//     pre-trace decay, one stdp_update the depression and the potentiation.
// Step sequence as core.v: (a) deliver, (b) neurons, (c) STDP.
// Cycles per step (rtl/README.md, "Cycle budget"):
//   2 + E*(n_active*(1+stdp) + 5) + (1 + 17*n_active) + stdp*((S+2) + P*(2*S+4)),
//   S = n_active + n_inputs, E events delivered, P neurons fired.
// Golden model: neurohw.targets.fpga.model.CoreModel.step (architecture 1).
//
// The bus (memory map in rtl/README.md) is served only while the core is idle
// and not in the cycle of a tick; read data follows the address by one cycle
// (BUS_REGISTERED: three, as core.v's; the board builds use that bus).
`default_nettype none

module core_compact #(
  parameter integer N_NEURONS   = 256,  // neurons (a power of two, <= 512: the bus offset is 20 bits)
  parameter integer N_INPUTS    = 256,  // input channels (a power of two, <= N_NEURONS)
  parameter integer WEIGHT_W    = 7,    // signed weight width, 2..16 (7: {plastic, weight} is a byte)
  parameter integer DELAY_DEPTH = 4,    // delay ring slots (a power of two): delays 0..DELAY_DEPTH-1
  // 1: tick_i and the bus inputs pass a register before the core acts on them, and
  // bus_rdata_o comes from a register (read data three clocks after the address):
  // core.v's and core_sparse.v's registered bus, the one bus timing cmd_frontend.v
  // speaks, so that fpga/common/neurohw_board.v can put this core behind the link;
  // 0: the combinational bus described above (the core's own benches, the timing harness)
  parameter integer BUS_REGISTERED = 0,
  parameter integer ICE40_DSP      = 0  // 1: STEP counts in an SB_MAC16 (counter32; iCE40 only)
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
  localparam integer WORD_W  = WEIGHT_W + 1;        // one synapse: {plastic, weight}
  localparam integer CTL_W   = 12;                  // control RAM word: {spike, profile[2:0], refrac[7:0]}
  localparam integer PAIR_W  = SRC_W + NEU_W - 1;   // weight RAM word address: {source, neuron[NEU_W-1:1]}
  localparam integer LIST_W  = (NEU_W <= 8) ? 8 : 12; // the spike list's lane of the v RAM (divides 24)

  // ---- states ---------------------------------------------------------------------
  localparam [3:0] S_IDLE       = 4'd0;
  localparam [3:0] S_START      = 4'd1;
  localparam [3:0] S_DLV_FETCH  = 4'd2;   // read the next event of this step's slot
  localparam [3:0] S_DLV_LOAD   = 4'd3;   // latch its source; read its pre trace
  localparam [3:0] S_DLV_ROW    = 4'd4;   // its row: a synapse per clock (STDP on: per two)
  localparam [3:0] S_DLV_DRAIN  = 4'd5;   // until the row's last write-back
  localparam [3:0] S_NEU_READ   = 4'd6;   // read the first neuron's words
  localparam [3:0] S_NEU_CALC   = 4'd7;   // lif_neuron_seq, neuron after neuron; its words are
                                          // written as they come out, the next read in its last clock
  localparam [3:0] S_XDEC       = 4'd8;   // sweep the sources: pre trace decay
  localparam [3:0] S_XDEC_DRAIN = 4'd9;
  localparam [3:0] S_POT_FETCH  = 4'd10;  // read the next neuron that fired
  localparam [3:0] S_POT_LOAD   = 4'd11;
  localparam [3:0] S_POT_COL    = 4'd12;  // its column of weights, a synapse per two clocks
  localparam [3:0] S_POT_DRAIN  = 4'd13;
  localparam [3:0] S_DONE       = 4'd14;

  // drain clocks after a sweep's last issue clock (its last write-back)
  localparam [1:0] DRAIN_DELIVER = 2'd3;   // currents (and weights) written in the issue's 4th clock
  localparam [1:0] DRAIN_DECAY   = 2'd2;   // pre trace written in the issue's 3rd clock
  localparam [1:0] DRAIN_POTENT  = 2'd2;   // weight written in the issue's 4th clock (the COL state ends a clock after it)

  // ---- bus regions and registers (as core.v) -------------------------------------------
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

  localparam [31:0] ARCHITECTURE    = 32'd1;    // 0: core.v (pipelined), 1: this core

  localparam [3:0] F_REFRAC    = 4'd8;          // the last profile field
  localparam [3:0] F_BIAS      = 4'd5;          // fields 5..7 are s24, 8 is u8, the others u16

  localparam [SRC_W:0] FIRST_INPUT = N_NEURONS[SRC_W:0];  // source id of input channel 0

  // ---- state and configuration registers --------------------------------------------
  reg  [3:0]          state_q, state_d;
  reg  [SRC_W:0]      sweep_q, sweep_d;            // neuron or source being issued
  reg                 phase_q, phase_d;            // weight-writing sweeps: 0 = issue, 1 = write-back slot
  reg  [SRC_W:0]      event_q, event_d;            // index into this step's slot
  reg  [SRC_W:0]      event_count_q, event_count_d;
  reg  [SRC_W-1:0]    source_q, source_d;          // source of the event being delivered
  reg  [NEU_W-1:0]    post_q, post_d;              // neuron whose column is potentiated
  reg  [NEU_W:0]      spike_count_q;               // neurons fired this step
  reg  [NEU_W:0]      spike_index_q, spike_index_d;
  reg  [1:0]          drain_q, drain_d;            // clocks spent in a *_DRAIN state
  reg                 drain_last;
  reg                 calc_first_q;                // a neuron's first clock in S_NEU_CALC

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
  // A step's cycles (the budget in the header) are below 2^22 at the largest N_NEURONS =
  // 512: E <= 2N events (a slot of the delay ring holds 2N), S <= 2N sources, P <= N, so
  // 2 + 2N*(2N+5) + (1+17N) + (2N+2) + N*(4N+4) = 2114053 cycles.  STEP_CYCLES is a
  // 32-bit register whose top bits are always 0: the counters are CYCLES_W bits.
  localparam integer CYCLES_W = 24;
  reg  [CYCLES_W-1:0] cycles_q, last_cycles_q;

  // ---- the bus and tick as the core sees them ---------------------------------------
  // Registered (BUS_REGISTERED): everything below acts one clock after the bus master
  // drives it, so the step, busy_o and its cycles are those of the direct bus shifted by a
  // clock (the cycles per step do not change).  The read data is registered as a whole
  // word after the read multiplexer: one 32-bit register (its constant-zero bits are
  // optimised away) rather than core.v's copy of every RAM output, which this core has no
  // pipeline registers to reuse for; the word at the address of three clocks earlier.
  wire        tick, bus_we;
  wire [23:0] bus_addr;
  wire [31:0] bus_wdata;
  reg  [31:0] bus_rdata;                             // the word at the previous cycle's bus_addr
  bus_input_reg #(.REGISTERED(BUS_REGISTERED)) u_bus_input (
    .clk_i(clk_i), .rst_ni(rst_ni), .tick_i(tick_i), .bus_we_i(bus_we_i),
    .bus_addr_i(bus_addr_i), .bus_wdata_i(bus_wdata_i),
    .tick_o(tick), .bus_we_o(bus_we), .bus_addr_o(bus_addr), .bus_wdata_o(bus_wdata));
  generate
    if (BUS_REGISTERED != 0) begin : g_rdata_registered
      reg [31:0] bus_rdata_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) bus_rdata_q <= 32'd0;
        else         bus_rdata_q <= bus_rdata;
      end
      assign bus_rdata_o = bus_rdata_q;   // no path from a RAM into the bus master's logic
    end else begin : g_rdata_direct
      assign bus_rdata_o = bus_rdata;
    end
  endgenerate

  // ---- bus decode -------------------------------------------------------------------
  wire [3:0]  bus_region = bus_addr[23:20];
  // offsets are 20 bits wide for the largest core; a small core ignores the high bits
  /* verilator lint_off UNUSEDSIGNAL */
  wire [19:0] bus_offset = bus_addr[19:0];
  /* verilator lint_on UNUSEDSIGNAL */
  wire        idle        = (state_q == S_IDLE);
  wire        bus_write   = bus_we & idle & ~tick;
  wire        reg_write   = bus_write & (bus_region == R_CONTROL);
  wire [5:0]  reg_sel     = bus_offset[5:0];
  wire        inject;                                        // a write to INJECT (core_regs)
  wire        field_write = bus_write & (bus_region == R_PROFILE);
  wire [6:0]  field_addr  = bus_offset[6:0];       // {profile[2:0], field[3:0]}
  reg         inject_pending_q;                    // the injected channel's delay is being read
  reg  [IN_W-1:0] inject_channel_q;
  reg         inject_push_q;                       // ... and its slot is known: pushed this clock
  reg  [SLOT_W-1:0] inject_slot_q;
  reg  [IN_W-1:0] inject_push_channel_q;

  // ---- sweeps ------------------------------------------------------------------------
  wire [SRC_W:0] n_active_ext = {{(SRC_W-NEU_W){1'b0}}, n_active};
  wire [SRC_W:0] n_inputs_ext = {{(SRC_W-IN_W){1'b0}}, n_inputs};
  wire           neuron_last  = (sweep_q == n_active_ext - 1'b1);
  // source sweeps visit neurons 0..n_active-1, then input channels N..N+n_inputs-1
  wire           source_last  = (n_inputs == 0) ? neuron_last
                                                  : (sweep_q == FIRST_INPUT + n_inputs_ext - 1'b1);
  wire [SRC_W:0] source_next  = neuron_last ? FIRST_INPUT : sweep_q + 1'b1;
  wire [NEU_W-1:0] neuron     = sweep_q[NEU_W-1:0];
  wire [SRC_W-1:0] source     = sweep_q[SRC_W-1:0];

  // ---- the weight sweeps' pipeline: a synapse issued in clock t is read in t,
  //      its weight and trace reach stdp_update in t+1 (stage 1), the new weight
  //      comes out in t+3 (stage 3), where it and the delivered currents (read
  //      with the stage-2 address) are written back
  wire issue_dlv = (state_q == S_DLV_ROW) & ~phase_q;
  wire issue_pot = (state_q == S_POT_COL) & ~phase_q;
  reg             valid_s1_q, valid_s2_q, valid_s3_q;
  reg             pot_s1_q, pot_s2_q, pot_s3_q;        // potentiation (else delivery)
  reg [SRC_W-1:0] index_s1_q, index_s2_q, index_s3_q;  // neuron (delivery) or source (potentiation)
  reg [WORD_W-1:0] word_s2_q, word_s3_q;               // the synapse as read
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) {valid_s1_q, valid_s2_q, valid_s3_q} <= 3'd0;
    else         {valid_s1_q, valid_s2_q, valid_s3_q} <= {issue_dlv | issue_pot, valid_s1_q, valid_s2_q};
  end

  // ---- memories ---------------------------------------------------------------------
  // neuron words: the bus while idle, else the neuron being issued (the next one in a
  // neuron's last clock); lif_neuron_seq's done_o, used here, is defined below
  wire             neuron_done;
  wire             calc;        // the neuron sweep (S_NEU_CALC)
  wire             push;        // a neuron fires: into the spike list and the delay ring
  wire [NEU_W-1:0] neuron_raddr = idle ? bus_offset[NEU_W-1:0]
                                : neuron_done ? neuron + 1'b1 : neuron;
  // the currents: a delivered synapse's neuron is read in stage 2
  wire [NEU_W-1:0] current_raddr = idle ? bus_offset[NEU_W-1:0]
                                 : valid_s2_q ? index_s2_q[NEU_W-1:0] : neuron_raddr;

  wire signed [23:0] v_rdata, i_exc_rdata, i_inh_rdata;
  wire [CTL_W-1:0]   ctl_rdata;
  wire [15:0]        post_trace_rdata, pre_trace_rdata;
  wire [SLOT_W-1:0]  delay_rdata;
  wire [NEU_W-1:0]   spike_list_rdata;
  wire [23:0]        profile_rdata;
  wire [2*WORD_W-1:0] weight_rdata;

  reg                v_we, ctl_we, i_exc_we, i_inh_we, post_trace_we, pre_trace_we;
  reg  [NEU_W-1:0]   neuron_waddr, post_trace_waddr;
  reg  [23:0]        v_wdata, i_exc_wdata, i_inh_wdata;
  reg  [CTL_W-1:0]   ctl_wdata;
  reg  [15:0]        post_trace_wdata, pre_trace_wdata;
  reg  [SRC_W-1:0]   pre_trace_raddr, pre_trace_waddr;
  reg  [PAIR_W-1:0]  weight_addr;
  reg  [1:0]         weight_we;
  reg  [2*WORD_W-1:0] weight_wdata;
  reg  [6:0]         profile_raddr;

  // v (lanes 0..2) and the spike list (lane 3, the neurons fired this step in order) share
  // a RAM: the list is written only as a neuron fires (micro-op 16, when v is not) and read
  // only in S_POT_FETCH, when v is not; each of them alone would leave 8 bits of its EBRs
  // unused (on the UP5K: 2 EBR instead of 3)
  wire [NEU_W-1:0] v_spike_raddr = (state_q == S_POT_FETCH) ? spike_index_q[NEU_W-1:0]
                                                             : neuron_raddr;
  wire [NEU_W-1:0] v_spike_waddr = push ? spike_count_q[NEU_W-1:0] : neuron_waddr;
  wire [LIST_W-1:0] spike_list_word;
  ram_1r1w_nrw #(.WIDTH(24 + LIST_W), .ADDR_W(NEU_W), .LANES(24 / LIST_W + 1)) u_v_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(v_spike_raddr), .rdata_o({spike_list_word, v_rdata}),
    .we_i({push, {(24 / LIST_W){v_we}}}), .waddr_i(v_spike_waddr),
    .wdata_i({{(LIST_W-NEU_W){1'b0}}, neuron, v_wdata}));
  assign spike_list_rdata = spike_list_word[NEU_W-1:0];
  wire unused_list_bits = ^spike_list_word;   // above NEU_W: zeros
  // i_exc (lane 0) and i_inh (lane 1) in one RAM (on the UP5K: 3 EBR instead of 4).  The
  // neuron sweep reads a neuron's currents once, in the clock before its micro-op 0, and
  // holds them (re_i = 0) while lif_neuron_seq writes i_exc (micro-op 14) and still uses
  // i_inh (through 16): a read of the word being written would return neither lane
  wire current_re = ~calc | neuron_done;
  ram_1r1w_nrw #(.WIDTH(48), .ADDR_W(NEU_W), .LANES(2)) u_current_ram (
    .clk_i(clk_i), .re_i(current_re), .raddr_i(current_raddr),
    .rdata_o({i_inh_rdata, i_exc_rdata}),
    .we_i({i_inh_we, i_exc_we}), .waddr_i(neuron_waddr), .wdata_i({i_inh_wdata, i_exc_wdata}));
  // The control words and the delays in one RAM, word n = {delay of input channel n
  // (source N + n), delay of neuron n, control word of neuron n} (on the UP5K, CTL_W + 2 x 2
  // bits: one EBR instead of two).  Both are read at the neuron sweep's address (the delay
  // of neuron n in its micro-op 15, for the push in 16), the bus's while idle, the channel's
  // in the clock of an INJECT write (a bus write: no read data is owed then).
  localparam integer CTL_LANES = CTL_W / SLOT_W;      // SLOT_W (1..4) divides CTL_W = 12
  wire             delay_write = bus_write & (bus_region == R_DELAY);
  wire             delay_input = bus_offset[NEU_W];   // the bus's source is an input channel
  wire [NEU_W-1:0] ctl_raddr   = inject ? {{(NEU_W-IN_W){1'b0}}, bus_wdata[IN_W-1:0]} : neuron_raddr;
  reg              delay_input_q;                     // the word read holds that source's delay in its input lane
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) delay_input_q <= 1'b0;
    else         delay_input_q <= idle & (inject | delay_input);
  end
  wire [SLOT_W-1:0] delay_neuron_rdata, delay_input_rdata;
  ram_1r1w_nrw #(.WIDTH(CTL_W + 2 * SLOT_W), .ADDR_W(NEU_W), .LANES(CTL_LANES + 2)) u_ctl_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(ctl_raddr),
    .rdata_o({delay_input_rdata, delay_neuron_rdata, ctl_rdata}),
    .we_i({delay_write & delay_input, delay_write & ~delay_input, {CTL_LANES{ctl_we}}}),
    .waddr_i(neuron_waddr),
    .wdata_i({bus_wdata[SLOT_W-1:0], bus_wdata[SLOT_W-1:0], ctl_wdata}));
  assign delay_rdata = delay_input_q ? delay_input_rdata : delay_neuron_rdata;
  ram_1r1w_nrw #(.WIDTH(16), .ADDR_W(NEU_W)) u_post_trace_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(neuron_raddr), .rdata_o(post_trace_rdata),
    .we_i(post_trace_we), .waddr_i(post_trace_waddr), .wdata_i(post_trace_wdata));
  ram_1r1w_nrw #(.WIDTH(16), .ADDR_W(SRC_W)) u_pre_trace_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(pre_trace_raddr), .rdata_o(pre_trace_rdata),
    .we_i(pre_trace_we), .waddr_i(pre_trace_waddr), .wdata_i(pre_trace_wdata));
  // the 8 profiles in one RAM, {profile, field} -> 24 bits, read one field per clock;
  // rst_ni leaves them as they are (RESET bit 4 zeroes them: the front end's sweep)
  ram_1r1w_nrw #(.WIDTH(24), .ADDR_W(7)) u_profile_ram (
    .clk_i(clk_i), .re_i(1'b1), .raddr_i(profile_raddr), .rdata_o(profile_rdata),
    .we_i(field_write & (field_addr[3:0] <= F_REFRAC)), .waddr_i(field_addr),
    .wdata_i(bus_wdata[23:0]));
  // synapses {source, 2k} (lane 0) and {source, 2k+1} (lane 1) share a word
  ram_spram #(.LANE_W(WORD_W), .ADDR_W(PAIR_W)) u_weight_ram (
    .clk_i(clk_i), .addr_i(weight_addr), .we_i(weight_we), .wdata_i(weight_wdata),
    .rdata_o(weight_rdata));

  // the field a bus read addressed, for its width (a RAM word keeps the 24 bits written)
  reg  [3:0]     prof_read_field_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) prof_read_field_q <= 4'd0;
    else         prof_read_field_q <= profile_raddr[3:0];
  end

  // ---- stdp_update: depression of a delivered synapse by the post trace,
  //      potentiation of a column by the pre trace ----------------------------------------
  wire             half_s1 = pot_s1_q ? post_q[0] : index_s1_q[0];
  wire [WORD_W-1:0] word_s1 = half_s1 ? weight_rdata[2*WORD_W-1:WORD_W] : weight_rdata[WORD_W-1:0];
  wire signed [WEIGHT_W-1:0] weight_stdp;
  stdp_update #(.WEIGHT_W(WEIGHT_W)) u_stdp_update (
    .clk_i(clk_i),
    .weight_i(word_s1[WEIGHT_W-1:0]),
    .trace_i(pot_s1_q ? pre_trace_rdata : post_trace_rdata),
    .amplitude_i(pot_s1_q ? a_plus : a_minus),
    .potentiate_i(pot_s1_q),
    .w_min_i(w_min), .w_max_i(w_max),
    .weight_o(weight_stdp));

  always @(posedge clk_i) begin
    pot_s1_q   <= issue_pot;
    pot_s2_q   <= pot_s1_q;
    pot_s3_q   <= pot_s2_q;
    index_s1_q <= source;
    index_s2_q <= index_s1_q;
    index_s3_q <= index_s2_q;
    word_s2_q  <= word_s1;
    word_s3_q  <= word_s2_q;
  end

  wire plastic_s3   = word_s3_q[WEIGHT_W];
  wire write_s3     = valid_s3_q & plastic_s3 & (pot_s3_q | stdp_enable);
  wire deliver_s3   = valid_s3_q & ~pot_s3_q;
  wire signed [WEIGHT_W-1:0] weight_delivered = (stdp_enable & plastic_s3) ? weight_stdp
                                                                             : word_s3_q[WEIGHT_W-1:0];
  wire signed [23:0] i_exc_delivered, i_inh_delivered;
  syn_deliver #(.WEIGHT_W(WEIGHT_W)) u_syn_deliver (
    .weight_i(weight_delivered), .i_exc_i(i_exc_rdata), .i_inh_i(i_inh_rdata),
    .i_exc_o(i_exc_delivered), .i_inh_o(i_inh_delivered));
  // the lane of the synapse written in stage 3, and its word address
  wire             half_s3 = pot_s3_q ? post_q[0] : index_s3_q[0];
  wire [PAIR_W-1:0] pair_s3 = pot_s3_q ? {index_s3_q, post_q[NEU_W-1:1]}
                                       : {source_q, index_s3_q[NEU_W-1:1]};

  // ---- the neuron update: the RAMs hold the neuron's words (read address held) until
  //      lif_neuron_seq's strobes write the new ones ----------------------------------------
  wire               lif_done, spike, v_out, i_exc_out, i_inh_out;
  wire [3:0]         lif_field;
  wire signed [23:0] v_next, current_next;
  wire [7:0]         refrac_next;
  lif_neuron_seq u_lif_neuron_seq (
    .clk_i(clk_i), .rst_ni(rst_ni), .start_i(state_q == S_NEU_CALC),
    .v_i(v_rdata), .i_exc_i(i_exc_rdata), .i_inh_i(i_inh_rdata), .refrac_i(ctl_rdata[7:0]),
    .gain_shift_i(gain_shift), .field_o(lif_field), .field_i(profile_rdata),
    .v_valid_o(v_out), .v_o(v_next), .i_exc_valid_o(i_exc_out), .i_inh_valid_o(i_inh_out),
    .current_o(current_next), .done_o(lif_done), .refrac_o(refrac_next), .spike_o(spike));
  assign neuron_done = (state_q == S_NEU_CALC) & lif_done;

  // ---- traces: one trace_update; its result is written the clock after its inputs ----------
  // the pre trace of a delivered event's source jumps in the row's first clock; the post
  // trace takes last step's spike (ctl bit 11) in the neuron's first clock; the pre
  // traces decay one per clock in sweep (c)
  reg              xdec_s1_q;
  reg [SRC_W-1:0]  xdec_index_s1_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) xdec_s1_q <= 1'b0;
    else         xdec_s1_q <= (state_q == S_XDEC);
  end
  always @(posedge clk_i) xdec_index_s1_q <= source;

  wire jump_now = (state_q == S_DLV_ROW) & (sweep_q == {(SRC_W+1){1'b0}}) & ~phase_q;
  wire post_now = (state_q == S_NEU_CALC) & calc_first_q;
  wire [15:0] trace_next;
  trace_update u_trace_update (
    .clk_i(clk_i),
    .trace_i(post_now ? post_trace_rdata : pre_trace_rdata),
    .jump_i(jump_now | (post_now & ctl_rdata[11])),
    .decay_en_i(post_now | xdec_s1_q),
    .retention_i(post_now ? post_decay : pre_decay),
    .trace_o(trace_next));

  reg             trace_wb_q, trace_wb_post_q;
  reg [SRC_W-1:0] trace_wb_index_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      trace_wb_q      <= 1'b0;
      trace_wb_post_q <= 1'b0;
    end else begin
      trace_wb_q      <= jump_now | post_now | xdec_s1_q;
      trace_wb_post_q <= post_now;
    end
  end
  always @(posedge clk_i)
    trace_wb_index_q <= post_now ? {1'b0, neuron} : jump_now ? source_q : xdec_index_s1_q;

  // ---- the delay ring ---------------------------------------------------------------
  wire [SLOT_W-1:0] slot = step_count[SLOT_W-1:0];
  wire [SRC_W-1:0]  ring_pop_source;
  wire [SRC_W:0]    ring_pop_count;
  wire              ring_push_full;
  assign            push = neuron_done & spike;
  reg               ring_push, ring_clear;
  reg  [SLOT_W-1:0] ring_push_slot;
  reg  [SRC_W-1:0]  ring_push_source;

  delay_ring #(.DEPTH(DELAY_DEPTH), .SRC_W(SRC_W)) u_delay_ring (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .push_i(ring_push), .push_slot_i(ring_push_slot), .push_source_i(ring_push_source),
    .push_full_o(ring_push_full),
    .pop_slot_i(slot), .pop_index_i(event_q[SRC_W-1:0]), .pop_source_o(ring_pop_source),
    .pop_count_o(ring_pop_count), .clear_i(ring_clear));


  assign spike_valid_o = push;
  assign spike_id_o    = neuron;

  // ---- memory ports: the bus while idle, the sweeps otherwise ---------------------------
  assign calc = (state_q == S_NEU_CALC);
  always @* begin
    neuron_waddr     = idle ? bus_offset[NEU_W-1:0]
                     : calc ? neuron : index_s3_q[NEU_W-1:0];
    v_we             = idle ? bus_write & (bus_region == R_V) : calc & v_out;
    v_wdata          = idle ? bus_wdata[23:0] : v_next;
    i_exc_we         = idle ? bus_write & (bus_region == R_I_EXC) : (calc & i_exc_out) | deliver_s3;
    i_exc_wdata      = idle ? bus_wdata[23:0] : calc ? current_next : i_exc_delivered;
    i_inh_we         = idle ? bus_write & (bus_region == R_I_INH) : (calc & i_inh_out) | deliver_s3;
    i_inh_wdata      = idle ? bus_wdata[23:0] : calc ? current_next : i_inh_delivered;
    ctl_we           = idle ? bus_write & (bus_region == R_CTL) : neuron_done;
    ctl_wdata        = idle ? bus_wdata[CTL_W-1:0] : {spike, ctl_rdata[10:8], refrac_next};
    post_trace_we    = idle ? bus_write & (bus_region == R_POST_TRACE) : trace_wb_q & trace_wb_post_q;
    post_trace_waddr = idle ? bus_offset[NEU_W-1:0] : trace_wb_index_q[NEU_W-1:0];
    post_trace_wdata = idle ? bus_wdata[15:0] : trace_next;

    pre_trace_raddr  = idle ? bus_offset[SRC_W-1:0]
                     : (state_q == S_DLV_LOAD) ? ring_pop_source : source;
    pre_trace_we     = idle ? bus_write & (bus_region == R_PRE_TRACE) : trace_wb_q & ~trace_wb_post_q;
    pre_trace_waddr  = idle ? bus_offset[SRC_W-1:0] : trace_wb_index_q;
    pre_trace_wdata  = idle ? bus_wdata[15:0] : trace_next;

    profile_raddr    = idle ? field_addr : {ctl_rdata[10:8], lif_field};

    // one port: the bus, or a stage-3 write-back, or the synapse being issued
    weight_addr      = idle ? bus_offset[PAIR_W:1]
                     : write_s3 ? pair_s3
                     : issue_pot ? {source, post_q[NEU_W-1:1]}
                     : {source_q, neuron[NEU_W-1:1]};
    weight_we        = idle ? {2{bus_write & (bus_region == R_WEIGHT)}} & {bus_offset[0], ~bus_offset[0]}
                     : {2{write_s3}} & {half_s3, ~half_s3};
    weight_wdata     = idle ? {2{bus_wdata[WORD_W-1:0]}} : {2{1'b1, weight_stdp}};

    // the ring takes injected channels while idle and fired neurons in sweep (b)
    ring_push        = inject_push_q | push;
    ring_push_slot   = inject_push_q ? inject_slot_q : slot + 1'b1 + delay_rdata;
    ring_push_source = inject_push_q ? {1'b1, {(SRC_W-1-IN_W){1'b0}}, inject_push_channel_q}
                                     : {1'b0, neuron};
    ring_clear       = (state_q == S_DLV_DRAIN) && drain_last && (event_q + 1'b1 == event_count_q);
  end

  // ---- FSM: next state ----------------------------------------------------------------------
  wire weight_sweep_step = ~stdp_enable | phase_q;   // the row's issue counter moves on
  always @* begin
    case (state_q)
      S_DLV_DRAIN:  drain_last = (drain_q == DRAIN_DELIVER - 1'b1);
      S_XDEC_DRAIN: drain_last = (drain_q == DRAIN_DECAY - 1'b1);
      default:      drain_last = (drain_q == DRAIN_POTENT - 1'b1);
    endcase
  end

  always @* begin
    state_d = state_q;
    case (state_q)
      S_IDLE:       if (tick) state_d = S_START;
      // a tick right after an INJECT write waits here until the injection is in the ring
      S_START:      if (!inject_push_q) state_d = (ring_pop_count != 0) ? S_DLV_FETCH : S_NEU_READ;
      S_DLV_FETCH:  state_d = S_DLV_LOAD;
      S_DLV_LOAD:   state_d = S_DLV_ROW;
      S_DLV_ROW:    if (neuron_last && weight_sweep_step) state_d = S_DLV_DRAIN;
      S_DLV_DRAIN:  if (drain_last)
                      state_d = (event_q + 1'b1 == event_count_q) ? S_NEU_READ : S_DLV_FETCH;
      S_NEU_READ:   state_d = S_NEU_CALC;
      S_NEU_CALC:   if (lif_done && neuron_last) state_d = stdp_enable ? S_XDEC : S_DONE;
      S_XDEC:       if (source_last) state_d = S_XDEC_DRAIN;
      S_XDEC_DRAIN: if (drain_last) state_d = (spike_count_q != 0) ? S_POT_FETCH : S_DONE;
      S_POT_FETCH:  state_d = S_POT_LOAD;
      S_POT_LOAD:   state_d = S_POT_COL;
      S_POT_COL:    if (source_last && phase_q) state_d = S_POT_DRAIN;
      S_POT_DRAIN:  if (drain_last)
                      state_d = (spike_index_q + 1'b1 == spike_count_q) ? S_DONE : S_POT_FETCH;
      default:      state_d = S_IDLE;   // S_DONE
    endcase
  end

  // ---- FSM: loop counters ------------------------------------------------------------------
  always @* begin
    sweep_d       = sweep_q;
    phase_d       = 1'b0;
    event_d       = event_q;
    event_count_d = event_count_q;
    source_d      = source_q;
    post_d        = post_q;
    spike_index_d = spike_index_q;
    drain_d       = 2'd0;
    case (state_q)
      S_START: begin
        sweep_d       = {(SRC_W+1){1'b0}};
        event_d       = {(SRC_W+1){1'b0}};
        event_count_d = ring_pop_count;
        spike_index_d = {(NEU_W+1){1'b0}};
      end
      S_DLV_LOAD:   begin source_d = ring_pop_source; sweep_d = {(SRC_W+1){1'b0}}; end
      S_DLV_ROW:    begin
        phase_d = stdp_enable & ~phase_q;
        if (weight_sweep_step) sweep_d = sweep_q + 1'b1;
      end
      S_DLV_DRAIN:  begin
        drain_d = drain_q + 1'b1;
        sweep_d = {(SRC_W+1){1'b0}};
        if (drain_last) event_d = event_q + 1'b1;
      end
      S_NEU_CALC:   if (lif_done) sweep_d = neuron_last ? {(SRC_W+1){1'b0}} : sweep_q + 1'b1;
      S_XDEC:       sweep_d = source_next;
      S_XDEC_DRAIN: drain_d = drain_q + 1'b1;
      S_POT_LOAD:   begin post_d = spike_list_rdata; sweep_d = {(SRC_W+1){1'b0}}; end
      S_POT_COL:    begin
        phase_d = ~phase_q;
        if (phase_q) sweep_d = source_next;
      end
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
      phase_q        <= 1'b0;
      event_q        <= {(SRC_W+1){1'b0}};
      event_count_q  <= {(SRC_W+1){1'b0}};
      source_q       <= {SRC_W{1'b0}};
      post_q         <= {NEU_W{1'b0}};
      spike_index_q  <= {(NEU_W+1){1'b0}};
      spike_count_q  <= {(NEU_W+1){1'b0}};
      drain_q        <= 2'd0;
      calc_first_q   <= 1'b0;
      cycles_q       <= {CYCLES_W{1'b0}};
      last_cycles_q  <= {CYCLES_W{1'b0}};
    end else begin
      state_q        <= state_d;
      sweep_q        <= sweep_d;
      phase_q        <= phase_d;
      event_q        <= event_d;
      event_count_q  <= event_count_d;
      source_q       <= source_d;
      post_q         <= post_d;
      spike_index_q  <= spike_index_d;
      drain_q        <= drain_d;
      calc_first_q   <= (state_d == S_NEU_CALC) && (state_q != S_NEU_CALC || lif_done);
      if (state_q == S_START) spike_count_q <= {(NEU_W+1){1'b0}};
      else if (push)          spike_count_q <= spike_count_q + 1'b1;
      // cycles of a step: every clock outside S_IDLE, S_START and S_DONE included
      cycles_q       <= idle ? {CYCLES_W{1'b0}} : cycles_q + 1'b1;
      if (state_q == S_DONE) last_cycles_q <= cycles_q + 1'b1;
    end
  end

  // ---- the control registers (bus region 0): configuration, STEP, OVERRUNS, DROPPED --------
  // (a tick while busy is an overrun: counted, otherwise ignored)
  core_regs #(.N_NEURONS(N_NEURONS), .N_INPUTS(N_INPUTS), .WEIGHT_W(WEIGHT_W),
      .DELAY_DEPTH(DELAY_DEPTH), .ARCHITECTURE(ARCHITECTURE), .ICE40_DSP(ICE40_DSP)) u_regs (
    .clk_i(clk_i), .rst_ni(rst_ni), .write_i(reg_write), .sel_i(reg_sel), .wdata_i(bus_wdata),
    .step_done_i(state_q == S_DONE), .overrun_i(tick & ~idle),
    .drop_i(ring_push & ring_push_full), .step_cycles_i({{(32-CYCLES_W){1'b0}}, last_cycles_q}),
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

  // ---- bus read: control registers are latched; RAM words come out of the RAMs (and, with
  //      BUS_REGISTERED, the selected word through bus_rdata_q, above) ----------------------
  reg [3:0]  read_region_q;
  reg        read_lane_q;
  reg  [31:0] read_word_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      read_region_q <= 4'd0;
      read_lane_q   <= 1'b0;
      read_word_q   <= 32'd0;
    end else begin
      read_region_q <= bus_region;
      read_lane_q   <= bus_offset[0];
      read_word_q   <= read_word_d;
    end
  end

  // a profile field reads back in its width; the unused fields 9..15 read 0
  reg [23:0] profile_read;
  always @* begin
    if (prof_read_field_q > F_REFRAC)      profile_read = 24'd0;
    else if (prof_read_field_q == F_REFRAC) profile_read = {16'd0, profile_rdata[7:0]};
    else if (prof_read_field_q >= F_BIAS)  profile_read = profile_rdata;
    else                                   profile_read = {8'd0, profile_rdata[15:0]};
  end

  always @* begin
    case (read_region_q)
      R_CONTROL:    bus_rdata = read_word_q;
      R_PROFILE:    bus_rdata = {8'd0, profile_read};
      R_V:          bus_rdata = {8'd0, v_rdata};
      R_I_EXC:      bus_rdata = {8'd0, i_exc_rdata};
      R_I_INH:      bus_rdata = {8'd0, i_inh_rdata};
      R_CTL:        bus_rdata = {{(32-CTL_W){1'b0}}, ctl_rdata};
      R_POST_TRACE: bus_rdata = {16'd0, post_trace_rdata};
      R_PRE_TRACE:  bus_rdata = {16'd0, pre_trace_rdata};
      R_DELAY:      bus_rdata = {{(32-SLOT_W){1'b0}}, delay_rdata};
      R_WEIGHT:     bus_rdata = {{(32-WORD_W){1'b0}}, read_lane_q ? weight_rdata[2*WORD_W-1:WORD_W]
                                                                    : weight_rdata[WORD_W-1:0]};
      default:      bus_rdata = 32'd0;
    endcase
  end

  // ---- outputs ----------------------------------------------------------------------------
  assign busy_o        = ~idle;
  assign done_o        = (state_q == S_DONE);
  assign overrun_o     = |overruns;
  assign step_cycles_o = {{(32-CYCLES_W){1'b0}}, last_cycles_q};
  assign step_o        = step_count;
  assign overruns_o    = overruns;
  assign dropped_o     = dropped;
endmodule

`default_nettype wire
