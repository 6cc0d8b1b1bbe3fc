// counter32: a 32-bit up counter with a load, reset by rst_ni, the count registered:
//   count_o(t+1) = load_i(t) ? value_i(t) : count_o(t) + inc_i(t)      (wrapping at 2^32)
// ICE40_DSP = 1 builds it as one SB_MAC16 of the iCE40 UP5K in its 32-bit accumulator
// mode (the bottom adder's carry into the top one; the multiplier unused; a load is the
// accumulator registers' OLOAD from C and D), which frees the 32 LCs the counter takes
// in logic (a carry chain, its registers and the load multiplexer).  ICE40_DSP = 0 is the
// same function in plain Verilog, for the other boards and the simulations;
// tests/rtl/test_rtl_leaves.py runs the two side by side, the DSP under yosys' own
// simulation model of SB_MAC16.
// Golden model: the core's STEP register (model.CoreModel: +1 a step, a bus write sets it).
`default_nettype none

module counter32 #(
  parameter integer ICE40_DSP = 0   // 1: one SB_MAC16 (iCE40 only)
) (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire        inc_i,
  input  wire        load_i,
  input  wire [31:0] value_i,
  output wire [31:0] count_o      // u32
);
  generate
    if (ICE40_DSP != 0) begin : g_dsp
      wire co, accum_co, sign_ext;   // the adders' carries and sign, unused
      // bottom: rS <= B + rS (carry out into the top adder), top: rQ <= A + rQ + carry;
      // A = 0, B = the increment: {rQ, rS} <= {rQ, rS} + inc.  OLOAD puts C, D in rQ, rS
      // instead.  The output registers' resets are asynchronous, as rst_ni is elsewhere.
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_LOWERINPUT(2'b00),
        .TOPADDSUB_UPPERINPUT(1'b0), .TOPADDSUB_CARRYSELECT(2'b10),
        .BOTOUTPUT_SELECT(2'b01), .BOTADDSUB_LOWERINPUT(2'b00),
        .BOTADDSUB_UPPERINPUT(1'b0), .BOTADDSUB_CARRYSELECT(2'b00)
      ) u_mac (
        .CLK(clk_i), .CE(1'b1),
        .A(16'd0), .B({15'd0, inc_i}), .C(value_i[31:16]), .D(value_i[15:0]),
        .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0),
        .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(~rst_ni), .ORSTBOT(~rst_ni),
        .OLOADTOP(load_i), .OLOADBOT(load_i), .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0),
        .OHOLDTOP(1'b0), .OHOLDBOT(1'b0), .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0),
        .O(count_o), .CO(co), .ACCUMCO(accum_co), .SIGNEXTOUT(sign_ext));
      wire unused_carries = ^{co, accum_co, sign_ext};
    end else begin : g_logic
      reg [31:0] count_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni)     count_q <= 32'd0;
        else if (load_i) count_q <= value_i;
        else             count_q <= count_q + {31'd0, inc_i};
      end
      assign count_o = count_q;
    end
  endgenerate
endmodule

`default_nettype wire
