// crc16: CRC-16/CCITT-FALSE, one byte per clock.
// Polynomial 0x1021 (x^16 + x^12 + x^5 + 1), init 0xFFFF, MSB first (no
// reflection), no final XOR; the CRC of "123456789" is 0x29B1.  The eight
// bit steps of a byte are unrolled into one combinational update.
// A frame's bytes followed by its CRC (high byte first) leave crc_o = 0.
// Golden model: neurohw.targets.fpga.protocol.crc16_update
`default_nettype none

module crc16 (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire        init_i,   // restart from 0xFFFF (with valid_i: restart, then take data_i)
  input  wire [7:0]  data_i,
  input  wire        valid_i,  // fold data_i into the CRC
  output wire [15:0] crc_o     // CRC of the bytes since the last init_i
);
  localparam [15:0] POLY = 16'h1021;
  localparam [15:0] INIT = 16'hFFFF;

  reg [15:0] crc_q, crc_d;
  reg [15:0] step;  // the CRC after each bit of data_i, MSB first
  integer    i;

  always @(*) begin
    step = init_i ? INIT : crc_q;
    for (i = 7; i >= 0; i = i - 1) begin
      step = {step[14:0], 1'b0} ^ ((step[15] ^ data_i[i]) ? POLY : 16'h0000);
    end
    if (valid_i)     crc_d = step;
    else if (init_i) crc_d = INIT;
    else             crc_d = crc_q;
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) crc_q <= INIT;
    else         crc_q <= crc_d;
  end

  assign crc_o = crc_q;
endmodule

`default_nettype wire
