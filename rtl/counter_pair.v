// counter_pair: two 16-bit event counters, reset by rst_ni, each counting up by one
// in a clock its enable is set (wrapping at 2^16), the counts registered:
//   count_a_o(t+1) = count_a_o(t) + inc_a_i(t)      (and b the same)
// ICE40_DSP = 1 builds the pair as one SB_MAC16 of the iCE40 UP5K in its two 16-bit
// accumulators (the DSP's top half counts a, the bottom half b; the multiplier is
// unused), which frees the 16 LCs each counter takes in logic (a carry chain with its
// registers); the board has 8 DSPs and its cores use 3.  ICE40_DSP = 0 is the same
// function in plain Verilog, for the other boards and the simulations;
// tests/rtl/test_rtl_leaves.py runs the two side by side, the DSP under yosys'
// own simulation model of SB_MAC16.
// Golden model: a Python int per counter, masked to 16 bits (protocol.BoardEndpoint).
`default_nettype none

module counter_pair #(
  parameter integer ICE40_DSP = 0   // 1: one SB_MAC16 (iCE40 only)
) (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire        inc_a_i,
  input  wire        inc_b_i,
  output wire [15:0] count_a_o,   // u16
  output wire [15:0] count_b_o    // u16
);
  generate
    if (ICE40_DSP != 0) begin : g_dsp
      wire [31:0] o;
      wire        co, accum_co, sign_ext;   // the adders' carries and sign, unused
      // top: rQ <= A + rQ (lower input A, upper input the accumulator, no carry in),
      // output rQ; the bottom the same with B and rS.  The output registers' resets are
      // asynchronous, as rst_ni is everywhere else.
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_LOWERINPUT(2'b00),
        .TOPADDSUB_UPPERINPUT(1'b0), .TOPADDSUB_CARRYSELECT(2'b00),
        .BOTOUTPUT_SELECT(2'b01), .BOTADDSUB_LOWERINPUT(2'b00),
        .BOTADDSUB_UPPERINPUT(1'b0), .BOTADDSUB_CARRYSELECT(2'b00)
      ) u_mac (
        .CLK(clk_i), .CE(1'b1),
        .A({15'd0, inc_a_i}), .B({15'd0, inc_b_i}), .C(16'd0), .D(16'd0),
        .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0),
        .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(~rst_ni), .ORSTBOT(~rst_ni),
        .OLOADTOP(1'b0), .OLOADBOT(1'b0), .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0),
        .OHOLDTOP(1'b0), .OHOLDBOT(1'b0), .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0),
        .O(o), .CO(co), .ACCUMCO(accum_co), .SIGNEXTOUT(sign_ext));
      assign count_a_o = o[31:16];
      assign count_b_o = o[15:0];
      wire unused_carries = ^{co, accum_co, sign_ext};
    end else begin : g_logic
      reg [15:0] count_a_q, count_b_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          count_a_q <= 16'd0;
          count_b_q <= 16'd0;
        end else begin
          count_a_q <= count_a_q + {15'd0, inc_a_i};
          count_b_q <= count_b_q + {15'd0, inc_b_i};
        end
      end
      assign count_a_o = count_a_q;
      assign count_b_o = count_b_q;
    end
  endgenerate
endmodule

`default_nettype wire
