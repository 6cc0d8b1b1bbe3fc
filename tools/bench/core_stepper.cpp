// Steps the Verilated rtl/core.v through a program read from a text file, for
// tools/bench/fpga_model_vs_verilator.py.  Input lines: "W <addr> <data>" (a bus
// write), "I <channel>" (an INJECT write), "T" (a tick: run one step to done_o).
// Output (stdout): one line per step, "<cycles> <spike ids...>", then
// "elapsed_s <seconds> clocks <n> cpu_s <seconds>" for the stepping phase alone
// (loading excluded): wall time, and the process's CPU time, which a shared
// machine's load inflates less.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "Vcore.h"
#include "verilated.h"

namespace {
constexpr unsigned kInjectAddr = 0x14;  // region 0, register INJECT

struct Op { char kind; unsigned addr; unsigned data; };

void clock(Vcore& core, unsigned long& clocks) {
  core.clk_i = 1; core.eval();
  core.clk_i = 0; core.eval();
  ++clocks;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) { std::fprintf(stderr, "usage: %s program.txt\n", argv[0]); return 2; }
  std::ifstream in(argv[1]);
  std::vector<Op> load, run;
  std::string line;
  bool stepping = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Op op{0, 0, 0};
    fields >> op.kind;
    if (op.kind == 'W') fields >> op.addr >> op.data;
    if (op.kind == 'I') { fields >> op.data; op.addr = kInjectAddr; }
    if (op.kind == 'T' || op.kind == 'I') stepping = true;
    (stepping ? run : load).push_back(op);
  }
  Verilated::commandArgs(argc, argv);
  Vcore core;
  unsigned long clocks = 0;
  core.clk_i = 0; core.rst_ni = 0; core.tick_i = 0; core.bus_we_i = 0;
  core.eval();
  clock(core, clocks); clock(core, clocks);
  core.rst_ni = 1;
  clock(core, clocks);
  for (const Op& op : load) {
    core.bus_we_i = 1; core.bus_addr_i = op.addr; core.bus_wdata_i = op.data;
    clock(core, clocks);
  }
  core.bus_we_i = 0;
  clock(core, clocks);  // an INJECT reaches the ring two clocks after its write

  std::vector<std::vector<unsigned>> steps;
  clocks = 0;
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  bool injected = false;
  for (const Op& op : run) {
    if (op.kind == 'I') {
      core.bus_we_i = 1; core.bus_addr_i = op.addr; core.bus_wdata_i = op.data;
      clock(core, clocks);
      core.bus_we_i = 0;
      injected = true;
      continue;
    }
    // one clock between the last INJECT and the tick (rtl/README.md), as cmd_frontend leaves
    if (injected) clock(core, clocks);
    injected = false;
    std::vector<unsigned> step{0};  // [0]: cycles from the tick's clock to done_o
    core.tick_i = 1;
    clock(core, clocks);
    core.tick_i = 0;
    step[0] = 1;
    while (!core.done_o) {
      if (core.spike_valid_o) step.push_back(core.spike_id_o);
      clock(core, clocks);
      ++step[0];
    }
    if (core.spike_valid_o) step.push_back(core.spike_id_o);
    clock(core, clocks);  // the done_o clock
    steps.push_back(step);
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  for (const auto& step : steps) {
    std::printf("%u", step[0]);
    for (size_t k = 1; k < step.size(); ++k) std::printf(" %u", step[k]);
    std::printf("\n");
  }
  std::printf("elapsed_s %.6f clocks %lu cpu_s %.6f\n", elapsed.count(), clocks, cpu);
  core.final();
  return 0;
}
