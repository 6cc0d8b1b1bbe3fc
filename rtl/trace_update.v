// trace_update: an STDP trace; optionally jumps by 1.0 (saturating), then optionally decays.
//   jumped  = jump_i ? min(trace_i + 4096, 65535) : trace_i
//   trace_o = decay_en_i ? trunc(jumped * retention_i / 2^16) : jumped      LATENCY = 1 clock
// The jump and the decay's multiply share the first clock (syn_decay registers
// the product); the rounding shift and the output select follow.
// Golden model: neurohw.targets.fpga.model.trace_update
`default_nettype none

module trace_update (
  input  wire        clk_i,
  input  wire [15:0] trace_i,      // u16, binary point 12 (1.0 = 4096)
  input  wire        jump_i,       // add 1.0 (a spike)
  input  wire        decay_en_i,   // decay one step
  input  wire [15:0] retention_i,  // u16, binary point 16: exp(-dt/tau)
  output wire [15:0] trace_o       // u16, binary point 12, one clock after the inputs
);
  localparam [16:0] JUMP = 17'd4096;  // 1.0 at binary point 12

  wire [16:0] jumped_sum = {1'b0, trace_i} + (jump_i ? JUMP : 17'd0);  // u17
  wire [15:0] jumped     = jumped_sum[16] ? 16'hFFFF : jumped_sum[15:0];
  wire signed [16:0] decayed;  // s17, always >= 0

  syn_decay #(.W(17)) u_decay (.clk_i(clk_i), .value_i({1'b0, jumped}), .retention_i(retention_i),
                               .value_o(decayed));

  reg [15:0] jumped_q;
  reg        decay_en_q;
  always @(posedge clk_i) begin
    jumped_q   <= jumped;
    decay_en_q <= decay_en_i;
  end

  assign trace_o = decay_en_q ? decayed[15:0] : jumped_q;

  wire unused_sign = decayed[16];  // 0: the decay of a non-negative value is non-negative
endmodule

`default_nettype wire
