// core_regs: the control registers (bus region 0) that the three cores share -- the
// configuration words, STEP, OVERRUNS and DROPPED, the INJECT decode and the read
// multiplexer over them and the core's constants (rtl/README.md, "Bus and memory map").
// core.v, core_compact.v and core_sparse.v differ in what they compute with these
// words, not in the words: one module keeps the register map in one place.
//
// A write (write_i: a bus write to region 0, which the core accepts only while idle)
// sets the addressed configuration word to its low bits, STEP to the word, and
// OVERRUNS or DROPPED to 0 (whatever was written).  STEP counts each step_done_i,
// OVERRUNS each overrun_i (a tick while busy) and DROPPED each drop_i (an event whose
// ring slot is full), all wrapping at 2^32; a write wins over a count in its clock.
// read_word_o is the register at sel_i in this clock (the core registers it).
// Golden model: neurohw.targets.fpga.model.CoreModel.write / .read on the control region
// (formats.REG_*, CoreModel.regs).
`default_nettype none

module core_regs #(
  parameter integer N_NEURONS        = 256,
  parameter integer N_INPUTS         = 256,
  parameter integer WEIGHT_W         = 8,
  parameter integer DELAY_DEPTH      = 16,
  parameter [31:0]  ARCHITECTURE     = 32'd0,  // formats.ARCH_*: 0 core.v, 1 compact, 2 sparse
  parameter integer SYNAPSES         = 0,      // the sparse core's list sizes (0: no lists)
  parameter integer PLASTIC_SYNAPSES = 0,
  parameter integer ICE40_DSP        = 0       // 1: STEP counts in an SB_MAC16 (counter32)
) (
  input  wire                       clk_i,
  input  wire                       rst_ni,
  input  wire                       write_i,        // a bus write to region 0
  input  wire [5:0]                 sel_i,          // the register's offset
  input  wire [31:0]                wdata_i,
  input  wire                       step_done_i,    // the step's S_DONE clock: STEP + 1
  input  wire                       overrun_i,      // a tick while busy: OVERRUNS + 1
  input  wire                       drop_i,         // an event lost at a full slot: DROPPED + 1
  input  wire [31:0]                step_cycles_i,  // STEP_CYCLES, kept by the core
  output reg                        stdp_enable_o,
  output reg  [$clog2(N_NEURONS):0] n_active_o,     // neurons swept, 1..N_NEURONS
  output reg  [$clog2(N_INPUTS):0]  n_inputs_o,     // input channels swept by STDP, 0..N_INPUTS
  output reg  [5:0]                 gain_shift_o,
  output reg  [15:0]                a_plus_o,       // u16, binary point 8, weight LSBs
  output reg  [15:0]                a_minus_o,
  output reg  signed [WEIGHT_W-1:0] w_min_o,
  output reg  signed [WEIGHT_W-1:0] w_max_o,
  output reg  [15:0]                pre_decay_o,    // u16, binary point 16
  output reg  [15:0]                post_decay_o,
  output wire [31:0]                step_o,         // STEP: the steps done (u32)
  output reg  [31:0]                overruns_o,
  output reg  [31:0]                dropped_o,
  output wire                       inject_o,       // a write to INJECT: the core injects wdata_i
  output reg  [31:0]                read_word_o
);
  localparam integer NEU_W = $clog2(N_NEURONS);
  localparam integer IN_W  = $clog2(N_INPUTS);

  localparam [5:0] REG_STDP_ENABLE      = 6'h00;
  localparam [5:0] REG_N_ACTIVE         = 6'h01;
  localparam [5:0] REG_N_INPUTS         = 6'h02;
  localparam [5:0] REG_GAIN_SHIFT       = 6'h03;
  localparam [5:0] REG_A_PLUS           = 6'h04;
  localparam [5:0] REG_A_MINUS          = 6'h05;
  localparam [5:0] REG_W_MIN            = 6'h06;
  localparam [5:0] REG_W_MAX            = 6'h07;
  localparam [5:0] REG_PRE_DECAY        = 6'h08;
  localparam [5:0] REG_POST_DECAY       = 6'h09;
  localparam [5:0] REG_STEP             = 6'h10;
  localparam [5:0] REG_STEP_CYCLES      = 6'h11;
  localparam [5:0] REG_OVERRUNS         = 6'h12;
  localparam [5:0] REG_DROPPED          = 6'h13;
  localparam [5:0] REG_INJECT           = 6'h14;
  localparam [5:0] REG_N_NEURONS        = 6'h18;
  localparam [5:0] REG_N_CHANNELS       = 6'h19;
  localparam [5:0] REG_WEIGHT_W         = 6'h1A;
  localparam [5:0] REG_DELAY_DEPTH      = 6'h1B;
  localparam [5:0] REG_ARCHITECTURE     = 6'h1C;
  localparam [5:0] REG_SYNAPSES         = 6'h1D;
  localparam [5:0] REG_PLASTIC_SYNAPSES = 6'h1E;

  assign inject_o = write_i & (sel_i == REG_INJECT);

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      stdp_enable_o <= 1'b0;
      n_active_o    <= N_NEURONS[NEU_W:0];
      n_inputs_o    <= N_INPUTS[IN_W:0];
      gain_shift_o  <= 6'd0;
      a_plus_o      <= 16'd0;
      a_minus_o     <= 16'd0;
      w_min_o       <= {WEIGHT_W{1'b0}};
      w_max_o       <= {WEIGHT_W{1'b0}};
      pre_decay_o   <= 16'd0;
      post_decay_o  <= 16'd0;
      overruns_o    <= 32'd0;
      dropped_o     <= 32'd0;
    end else begin
      if (write_i) begin
        case (sel_i)
          REG_STDP_ENABLE: stdp_enable_o <= wdata_i[0];
          REG_N_ACTIVE:    n_active_o    <= wdata_i[NEU_W:0];
          REG_N_INPUTS:    n_inputs_o    <= wdata_i[IN_W:0];
          REG_GAIN_SHIFT:  gain_shift_o  <= wdata_i[5:0];
          REG_A_PLUS:      a_plus_o      <= wdata_i[15:0];
          REG_A_MINUS:     a_minus_o     <= wdata_i[15:0];
          REG_W_MIN:       w_min_o       <= wdata_i[WEIGHT_W-1:0];
          REG_W_MAX:       w_max_o       <= wdata_i[WEIGHT_W-1:0];
          REG_PRE_DECAY:   pre_decay_o   <= wdata_i[15:0];
          REG_POST_DECAY:  post_decay_o  <= wdata_i[15:0];
          default: ;
        endcase
      end
      if (write_i && sel_i == REG_OVERRUNS) overruns_o <= 32'd0;
      else if (overrun_i)                   overruns_o <= overruns_o + 32'd1;
      if (write_i && sel_i == REG_DROPPED)  dropped_o  <= 32'd0;
      else if (drop_i)                      dropped_o  <= dropped_o + 32'd1;
    end
  end

  counter32 #(.ICE40_DSP(ICE40_DSP)) u_step (
    .clk_i(clk_i), .rst_ni(rst_ni), .inc_i(step_done_i),
    .load_i(write_i && sel_i == REG_STEP), .value_i(wdata_i), .count_o(step_o));

  always @* begin
    read_word_o = 32'd0;
    case (sel_i)
      REG_STDP_ENABLE:      read_word_o = {31'd0, stdp_enable_o};
      REG_N_ACTIVE:         read_word_o = {{(31-NEU_W){1'b0}}, n_active_o};
      REG_N_INPUTS:         read_word_o = {{(31-IN_W){1'b0}}, n_inputs_o};
      REG_GAIN_SHIFT:       read_word_o = {26'd0, gain_shift_o};
      REG_A_PLUS:           read_word_o = {16'd0, a_plus_o};
      REG_A_MINUS:          read_word_o = {16'd0, a_minus_o};
      REG_W_MIN:            read_word_o = {{(32-WEIGHT_W){1'b0}}, w_min_o};
      REG_W_MAX:            read_word_o = {{(32-WEIGHT_W){1'b0}}, w_max_o};
      REG_PRE_DECAY:        read_word_o = {16'd0, pre_decay_o};
      REG_POST_DECAY:       read_word_o = {16'd0, post_decay_o};
      REG_STEP:             read_word_o = step_o;
      REG_STEP_CYCLES:      read_word_o = step_cycles_i;
      REG_OVERRUNS:         read_word_o = overruns_o;
      REG_DROPPED:          read_word_o = dropped_o;
      REG_N_NEURONS:        read_word_o = N_NEURONS;
      REG_N_CHANNELS:       read_word_o = N_INPUTS;
      REG_WEIGHT_W:         read_word_o = WEIGHT_W;
      REG_DELAY_DEPTH:      read_word_o = DELAY_DEPTH;
      REG_ARCHITECTURE:     read_word_o = ARCHITECTURE;
      REG_SYNAPSES:         read_word_o = SYNAPSES;
      REG_PLASTIC_SYNAPSES: read_word_o = PLASTIC_SYNAPSES;
      default: ;
    endcase
  end
endmodule

`default_nettype wire
