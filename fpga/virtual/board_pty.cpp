// The virtual board: the Verilated fpga/common/neurohw_board.v (real uart_rx and
// uart_tx) behind a pseudo-terminal, so that the host opens a real serial device
// path (pyserial, screen, neurohw.targets.fpga.board.Board) as it would a USB UART.
//
// On start it prints the path of the pty's peripheral side on stdout (one line),
// then clocks the design forever:
//   * bytes the host writes to the pty are sent onto rx_i as 8N1 characters,
//     back to back, NEUROHW_CLKS_PER_BIT clocks per bit;
//   * tx_o is sampled mid-bit after each start bit and every received byte is
//     written to the pty.
// SIGTERM or SIGINT ends it cleanly (exit status 0).  SIGUSR1 resets the whole board
// design (rst_ni low for kResetClocks clocks, as a power glitch or the reset button
// would), then prints "reset <count>" on stdout, so that fault-injection tests know
// when it has happened; the bytes on either wire at that moment are lost.
//
// NEUROHW_CLKS_PER_BIT must equal the design's CLKS_PER_BIT parameter; the
// builder (neurohw/targets/fpga/virtual.py) passes both from one value.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>

#include "Vneurohw_board.h"
#include "verilated.h"

#ifndef NEUROHW_CLKS_PER_BIT
#error "build with -DNEUROHW_CLKS_PER_BIT=<the design's CLKS_PER_BIT>"
#endif

namespace {
constexpr int kClksPerBit = NEUROHW_CLKS_PER_BIT;
constexpr int kBitsPerChar = 10;  // start, 8 data bits LSB first, stop
// After the last UART activity the design runs at full speed for this many
// clocks, so that a command's execution and a RUN the host is polling are never
// slowed; after that it is considered idle.
constexpr unsigned long kActiveClocks = 2'000'000;
// While idle: this many clocks, then wait up to kIdleWaitMs for a host byte.  A
// RUN left to itself (no host polling) still advances, at a reduced rate, while
// the simulator uses only a small share of a core.
constexpr int kIdleBatchClocks = 1024;
constexpr int kIdleWaitMs = 2;
constexpr size_t kMaxQueuedInput = 4096;  // stop reading the pty beyond this backlog
constexpr int kResetClocks = 16;           // rst_ni low for this long on SIGUSR1

volatile sig_atomic_t stop_requested = 0;
volatile sig_atomic_t reset_requested = 0;
void on_signal(int) { stop_requested = 1; }
void on_reset(int) { reset_requested = 1; }

void die(const char* what) {
  std::fprintf(stderr, "board_pty: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// Host -> rx_i: one 8N1 character at a time from the queue.
struct UartToDesign {
  std::deque<unsigned char> queue;
  int bit = -1;   // bit of the current character being driven; -1: line idle
  int clocks = 0; // clocks left in this bit
  unsigned char byte = 0;

  bool busy() const { return bit >= 0 || !queue.empty(); }

  // The rx_i level for the next clock.
  int level() {
    if (bit < 0) {
      if (queue.empty()) return 1;
      byte = queue.front();
      queue.pop_front();
      bit = 0;
      clocks = kClksPerBit;
    }
    const int value = bit == 0 ? 0 : bit == kBitsPerChar - 1 ? 1 : (byte >> (bit - 1)) & 1;
    if (--clocks == 0) {
      clocks = kClksPerBit;
      if (++bit == kBitsPerChar) bit = -1;
    }
    return value;
  }
};

// tx_o -> host: waits for a start bit, samples each bit in its middle.
struct UartFromDesign {
  int bit = -1;    // -1: waiting for a start bit; 0: in the start bit; 1..8 data; 9 stop
  int clocks = 0;  // clocks until the next sample
  unsigned char byte = 0;
  unsigned long framing_errors = 0;

  bool busy() const { return bit >= 0; }

  // Called once per clock with tx_o; returns true when `out` holds a new byte.
  bool sample(int tx, unsigned char& out) {
    if (bit < 0) {
      if (tx == 0) { bit = 0; clocks = kClksPerBit / 2; }
      return false;
    }
    if (--clocks > 0) return false;
    clocks = kClksPerBit;
    if (bit == 0) {
      if (tx != 0) bit = -1;  // a glitch, not a start bit
      else { bit = 1; byte = 0; }
      return false;
    }
    if (bit <= 8) {
      byte |= static_cast<unsigned char>(tx << (bit - 1));
      ++bit;
      return false;
    }
    bit = -1;  // the stop bit
    if (tx == 0) { ++framing_errors; return false; }
    out = byte;
    return true;
  }
};

void clock(Vneurohw_board& top) {
  top.clk_i = 1; top.eval();
  top.clk_i = 0; top.eval();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 1) {
    std::fprintf(stderr, "usage: %s  (prints the serial device path, then serves it)\n", argv[0]);
    return 2;
  }
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0) die("posix_openpt");
  if (grantpt(master) != 0) die("grantpt");
  if (unlockpt(master) != 0) die("unlockpt");
  const char* name = ptsname(master);
  if (name == nullptr) die("ptsname");
  // Hold the peripheral side open ourselves: otherwise reads of the controller
  // side fail with EIO whenever no host has the port open (before the first
  // open, between sessions), and the port could not be reopened raw.
  const int peripheral = open(name, O_RDWR | O_NOCTTY);
  if (peripheral < 0) die(name);
  termios raw{};
  if (tcgetattr(peripheral, &raw) != 0) die("tcgetattr");
  cfmakeraw(&raw);  // bytes pass unchanged: no echo, no line editing, no CR/LF mapping
  if (tcsetattr(peripheral, TCSANOW, &raw) != 0) die("tcsetattr");
  if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) != 0) die("fcntl O_NONBLOCK");

  struct sigaction action{};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  struct sigaction reset_action{};
  reset_action.sa_handler = on_reset;
  sigaction(SIGUSR1, &reset_action, nullptr);

  std::printf("%s\n", name);
  std::fflush(stdout);

  const auto context = std::make_unique<VerilatedContext>();
  context->commandArgs(argc, argv);
  Vneurohw_board top{context.get()};
  top.clk_i = 0; top.rx_i = 1; top.rst_ni = 0;
  top.eval();
  for (int i = 0; i < 5; ++i) clock(top);
  top.rst_ni = 1;

  UartToDesign to_design;
  UartFromDesign from_design;
  std::deque<unsigned char> to_host;
  unsigned long quiet_clocks = 0;  // clocks since the last UART activity
  unsigned long resets = 0;
  unsigned char buffer[256];

  while (!stop_requested) {
    if (reset_requested) {
      reset_requested = 0;
      top.rst_ni = 0;
      for (int i = 0; i < kResetClocks; ++i) {
        top.rx_i = to_design.level();
        clock(top);
      }
      top.rst_ni = 1;
      const unsigned long framing_errors = from_design.framing_errors;
      from_design = UartFromDesign{};  // a character cut by the reset is not delivered
      from_design.framing_errors = framing_errors;
      quiet_clocks = 0;
      std::printf("reset %lu\n", ++resets);
      std::fflush(stdout);
    }
    const bool idle = !to_design.busy() && !from_design.busy() && to_host.empty()
                      && quiet_clocks >= kActiveClocks;
    if (idle) {
      pollfd fd{master, POLLIN, 0};
      poll(&fd, 1, kIdleWaitMs);  // EINTR (a signal) ends the wait early, as it should
    }
    if (to_design.queue.size() < kMaxQueuedInput) {
      const ssize_t n = read(master, buffer, sizeof buffer);
      if (n > 0) {
        to_design.queue.insert(to_design.queue.end(), buffer, buffer + n);
        quiet_clocks = 0;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != EIO) {
        die("read from the pty");
      }
    }
    const int batch = idle ? kIdleBatchClocks : 64;
    for (int i = 0; i < batch; ++i) {
      top.rx_i = to_design.level();
      clock(top);
      unsigned char byte;
      if (from_design.sample(top.tx_o, byte)) to_host.push_back(byte);
      if (to_design.busy() || from_design.busy()) quiet_clocks = 0;
      else ++quiet_clocks;
    }
    while (!to_host.empty()) {
      unsigned char chunk[256];
      size_t n = 0;
      for (; n < sizeof chunk && n < to_host.size(); ++n) chunk[n] = to_host[n];
      const ssize_t written = write(master, chunk, n);
      if (written < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;  // retry next batch
        die("write to the pty");
      }
      to_host.erase(to_host.begin(), to_host.begin() + written);
    }
  }
  if (from_design.framing_errors != 0)
    std::fprintf(stderr, "board_pty: %lu characters from tx_o had a 0 stop bit\n",
                 from_design.framing_errors);
  top.final();
  close(peripheral);
  close(master);
  return 0;
}
