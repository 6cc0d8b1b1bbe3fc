// delay_ring: per-step spike lists that implement axonal delays.
// Slot k holds the sources whose spikes are delivered in steps k, k+DEPTH, ...;
// a spike emitted in step t by a source with delay d is pushed to slot
// (t + 1 + d) mod DEPTH.  Each slot is a list of up to 2^SRC_W source ids with
// a counter; a push into a full slot is refused (push_full_o) and counted by core.v.
// Golden model: neurohw.targets.fpga.model.ring_push (and the slot handling in _core_step)
`default_nettype none

module delay_ring #(
  parameter integer DEPTH = 16,  // slots (a power of two): delays 0..DEPTH-1
  parameter integer SRC_W = 9,   // source id width
  parameter integer WRITE_REG = 0  // 1: the list RAM's write port registered (a push lands a clock later)
) (
  input  wire               clk_i,
  input  wire               rst_ni,
  input  wire               push_i,
  input  wire [SLOT_W-1:0]  push_slot_i,
  input  wire [SRC_W-1:0]   push_source_i,
  output wire               push_full_o,
  input  wire [SLOT_W-1:0]  pop_slot_i,
  input  wire [SRC_W-1:0]   pop_index_i,
  output wire [SRC_W-1:0]   pop_source_o,   // one cycle after pop_index_i
  output wire [SRC_W:0]     pop_count_o,    // entries in pop_slot_i
  input  wire               clear_i         // empty pop_slot_i
);
  localparam integer SLOT_W  = $clog2(DEPTH);
  localparam integer COUNT_W = SRC_W + 1;
  localparam [COUNT_W-1:0] CAPACITY = {1'b1, {SRC_W{1'b0}}};

  reg  [DEPTH*COUNT_W-1:0] count_q;   // u(COUNT_W) per slot, flattened
  // full_q[k] = (slot k's count == CAPACITY), kept beside the counts: the full test is then
  // a one-bit select, not a count select and a compare (push_full_o gates the counts, the
  // list RAM's write and core.v's dropped counter, in the clock of the push)
  reg  [DEPTH-1:0]         full_q;
  wire [COUNT_W-1:0] push_count = count_q[push_slot_i*COUNT_W +: COUNT_W];

  assign push_full_o = full_q[push_slot_i];
  assign pop_count_o = count_q[pop_slot_i*COUNT_W +: COUNT_W];

  integer slot;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      count_q <= {DEPTH*COUNT_W{1'b0}};
      full_q  <= {DEPTH{1'b0}};
    end else begin
      for (slot = 0; slot < DEPTH; slot = slot + 1) begin
        if (clear_i && pop_slot_i == slot[SLOT_W-1:0]) begin
          count_q[slot*COUNT_W +: COUNT_W] <= {COUNT_W{1'b0}};
          full_q[slot]                     <= 1'b0;
        end else if (push_i && !push_full_o && push_slot_i == slot[SLOT_W-1:0]) begin
          count_q[slot*COUNT_W +: COUNT_W] <= push_count + 1'b1;
          full_q[slot]                     <= (push_count == CAPACITY - 1'b1);
        end
      end
    end
  end

  // ram_1r1w_nrw: a push writes entry count of its slot, a pop reads an entry below the
  // count of its own (pushes come from the neuron sweep or an idle core's INJECT, pops
  // from the delivery sweep, never in the same clock): the same word in one clock would
  // be an entry not yet in the list, and no core uses it.  The benches' collision model
  // (the word inverted) would show such a use.
  // WRITE_REG = 1 (the ECP5 sparse core): the push's entry reaches the list RAM a clock
  // later, so that the slot select and the full test do not drive the enables of its
  // blocks across the die in the push's clock; the counts still change with the push.  A
  // pop of that entry in the next clock is again the collision above, and no core makes it
  // (the delivery sweep starts clocks after the neuron sweep's last push).
  ram_1r1w_nrw #(.WIDTH(SRC_W), .ADDR_W(SLOT_W + SRC_W), .WRITE_REG(WRITE_REG)) u_list_ram (
    .clk_i   (clk_i),
    .re_i    (1'b1),
    .raddr_i ({pop_slot_i, pop_index_i}),
    .rdata_o (pop_source_o),
    .we_i    (push_i & ~push_full_o),
    .waddr_i ({push_slot_i, push_count[SRC_W-1:0]}),
    .wdata_i (push_source_i)
  );
endmodule

`default_nettype wire
