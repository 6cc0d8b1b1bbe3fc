"""cocotb benches for rtl/core.v against neurohw.targets.fpga.model.CoreModel.

Every step compares, with the model: the spikes on the spike port, every word
of every state memory (v, currents, control words, traces, weights, the delay
ring's counts and lists), the counters, and the step's cycle count measured
three ways (the testbench's clock count, the core's counter, the model's).
Run through tests/rtl/test_rtl_core.py; the shape and seeds come from the
environment (BENCH_SHAPE="n_neurons,n_inputs,weight_width,delay_depth",
BENCH_SEEDS="1,2,3").
"""
from __future__ import annotations

import dataclasses
import json
import os
import re

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from neurohw.targets.fpga import formats as F
from neurohw.targets.fpga.model import CoreModel, accepted_ticks
from neurohw.targets.fpga.quantize import quantize
from harness import RTL_DIR
from random_core import (addr, dense_to_sparse, random_ir_network, random_program,
                         sparse_table_writes)


def bench_shape() -> F.CoreShape:
    """The core's shape; BENCH_ARCH=1 for core_compact.v (its own cycles per step),
    2 for core_sparse.v (BENCH_SHAPE then adds SYNAPSES and PLASTIC_SYNAPSES)."""
    n, n_in, ww, depth, *lists = (int(x) for x in os.environ["BENCH_SHAPE"].split(","))
    architecture = int(os.environ.get("BENCH_ARCH", F.ARCH_PIPELINED))
    synapses, plastic = lists if architecture == F.ARCH_SPARSE else (0, 0)
    return F.CoreShape(n_neurons=n, n_inputs=n_in, weight_width=ww, delay_depth=depth,
                       architecture=architecture, synapses=synapses, plastic_synapses=plastic)


def bench_seeds() -> list[int]:
    return [int(s) for s in os.environ["BENCH_SEEDS"].split(",")]


# core.v built with BUS_REGISTERED = 1: the tick and the bus inputs reach the core one
# clock late, and read data comes three clocks after its address (input register,
# RAM, output register)
BUS_REGISTERED = os.environ.get("BENCH_BUS_REGISTERED", "0") == "1"


# ---- functional coverage (tests/rtl/test_rtl_coverage.py) ---------------------------------
S24_MAX, S24_MIN = (1 << 23) - 1, -(1 << 23)
# the bus regions of the dense cores, in address order (0x9 holds the weight matrix)
REGION_NAMES = ("control", "profile", "v", "i_exc", "i_inh", "control_word", "post_trace",
                "pre_trace", "delay", "weight")
# core_sparse.v's: 0x9 holds synapse words, 0xA..0xC the lists
SPARSE_REGION_NAMES = REGION_NAMES[:-1] + ("synapse", "row", "column", "column_index")
# control registers a host writes (read-only ones are covered by the reads)
WRITABLE_REGS = {F.REG_STDP_ENABLE: "STDP_ENABLE", F.REG_N_ACTIVE: "N_ACTIVE",
                 F.REG_N_INPUTS: "N_INPUTS", F.REG_GAIN_SHIFT: "GAIN_SHIFT",
                 F.REG_A_PLUS: "A_PLUS", F.REG_A_MINUS: "A_MINUS", F.REG_W_MIN: "W_MIN",
                 F.REG_W_MAX: "W_MAX", F.REG_PRE_DECAY: "PRE_DECAY",
                 F.REG_POST_DECAY: "POST_DECAY", F.REG_STEP: "STEP",
                 F.REG_OVERRUNS: "OVERRUNS (clear)", F.REG_DROPPED: "DROPPED (clear)",
                 F.REG_INJECT: "INJECT"}


def rtl_localparams(module: str, prefix: str = "") -> dict[str, int]:
    """The sized decimal localparams of rtl/<module>.v whose names start with
    ``prefix``, {name without the prefix: value} in value order: the coverage
    points take a core's states from its source, so a state added to the RTL
    is a point the benches must reach."""
    text = (RTL_DIR / f"{module}.v").read_text()
    found = re.findall(rf"localparam\s*\[\d+:0\]\s*{prefix}(\w+)\s*=\s*\d+'d(\d+)\s*;", text)
    return dict(sorted(((name, int(value)) for name, value in found), key=lambda nv: nv[1]))


# lif_neuron_update's saturation of v (core.v and core_sparse.v; core_compact.v has its own)
V_CLIP_POINTS = ("saturate: v clipped high (lif_neuron_update u_v_sat)",
                 "saturate: v clipped low (lif_neuron_update u_v_sat)")


def bit(vector: int, k: int) -> bool:
    return bool(vector >> k & 1)


class CoverageMonitor:
    """Samples a core at every falling edge (the values the next rising edge acts on)
    and records which coverage points were reached.  The conditions mirror the RTL's
    write enables, so a clipping or saturation point counts only where its clipped or
    saturated value is what the core goes on with.  The reached set is rewritten to
    ``path`` whenever it grows.

    This class samples what the three cores share (the FSM's states from the core's
    localparams, bus commands, ticks, overruns, full delay slots, the leaves'
    clipping paths, the hazards every sweep order has); a subclass per core names
    its module and samples its own datapath stages (``_sample_datapath``)."""

    MODULE = ""                     # rtl/<MODULE>.v
    REGIONS = REGION_NAMES
    POINTS: tuple[str, ...] = ()    # the core's own points, after the shared ones

    @classmethod
    def points(cls) -> list[str]:
        """Every point the monitor of this core can reach; test_rtl_coverage.py
        requires all of them."""
        points = [f"fsm state {name}" for name in rtl_localparams(cls.MODULE, "S_")]
        points += [f"command: bus write region {name}" for name in cls.REGIONS]
        points += [f"command: bus read region {name} (checked by the bench)" for name in cls.REGIONS]
        points += [f"command: write register {name}" for name in WRITABLE_REGS.values()]
        points += ["command: tick accepted", "overrun: tick while busy (counted)",
                   "overflow: delay slot full, push dropped",
                   "saturate: i_exc clipped high (syn_deliver u_exc_sat)",
                   "saturate: i_inh clipped low (syn_deliver u_inh_sat)",
                   "trace saturation: pre trace jump at 65535",
                   "trace saturation: post trace jump at 65535",
                   "weight clip: depression stopped at W_MIN",
                   "weight clip: depression stopped at W_MAX",
                   "weight clip: potentiation stopped at W_MAX",
                   "weight clip: potentiation stopped at W_MIN",
                   # where a word could be re-read while its new value is in flight
                   # if the pipeline did not drain between sweeps
                   "pipeline: consecutive events from one source (weights, currents, pre trace re-read)",
                   "pipeline: one potentiation column right after another",
                   "pipeline: tick right after an INJECT write (S_START waits for the injection)"]
        return points + list(cls.POINTS)

    def __init__(self, dut, path: str):
        self.dut, self.path = dut, path
        self.shape = bench_shape()
        self.states = rtl_localparams(self.MODULE, "S_")
        self.state_name = {value: name for name, value in self.states.items()}
        self.reached: set[str] = set()
        if os.path.exists(path):
            with open(path) as fh:
                self.reached.update(json.load(fh))
        self._new = False

    def hit(self, point: str) -> None:
        if point not in self.reached:
            self.reached.add(point)
            self._new = True

    async def run(self):
        dut, S = self.dut, self.states
        last_state, last_overruns = S["IDLE"], 0
        while True:
            await FallingEdge(dut.clk_i)
            state = dut.state_q.value.to_unsigned()
            self.hit(f"fsm state {self.state_name[state]}")
            # a tick is seen by its effect (the state or the counter it moves), not by
            # sampling the tick input, which changes at the same edge as this sample
            if state == S["START"] and last_state == S["IDLE"]:
                self.hit("command: tick accepted")
            overruns = dut.overruns_o.value.to_unsigned()
            if overruns == last_overruns + 1:
                self.hit("overrun: tick while busy (counted)")
            last_state, last_overruns = state, overruns
            if dut.bus_write.value == 1:   # the core's own write enable: idle, no tick
                self._sample_bus_write()
            if dut.ring_push.value == 1 and dut.ring_push_full.value == 1:
                self.hit("overflow: delay slot full, push dropped")
            self._sample_sweeps(state)
            self._sample_datapath(state)
            if self._new:
                with open(self.path, "w") as fh:
                    json.dump(sorted(self.reached), fh, indent=0)
                self._new = False

    def _sample_sweeps(self, state: int) -> None:
        """The sweep orders every core has (its FSM's loads of the next event and column)."""
        dut, S = self.dut, self.states
        if state == S["DLV_LOAD"] and dut.event_q.value.to_unsigned() > 0 and \
                dut.ring_pop_source.value.to_unsigned() == dut.source_q.value.to_unsigned():
            self.hit("pipeline: consecutive events from one source "
                     "(weights, currents, pre trace re-read)")
        if state == S["START"] and dut.inject_push_q.value == 1:
            self.hit("pipeline: tick right after an INJECT write (S_START waits for the injection)")
        if state == S["POT_LOAD"] and dut.spike_index_q.value.to_unsigned() > 0:
            self.hit("pipeline: one potentiation column right after another")

    def _sample_datapath(self, state: int) -> None:
        raise NotImplementedError

    # ---- the leaves' clipping paths, sampled by a subclass at the stage where the
    #      core's pipeline has the leaf's inputs of an item it will write back
    def _sample_weight_clip(self, stdp, kind: str) -> None:
        """stdp_update's move and clip (its second clock) of a synapse whose new
        weight the core writes back; ``kind``: "depression" or "potentiation"."""
        moved = stdp.moved.value.to_signed()
        w_max, w_min = stdp.max_ext.value.to_signed(), stdp.min_ext.value.to_signed()
        if moved > w_max:
            self.hit(f"weight clip: {kind} stopped at W_MAX")
        if min(moved, w_max) < w_min:   # clipped to W_MAX first, then to W_MIN
            self.hit(f"weight clip: {kind} stopped at W_MIN")

    def _sample_current_clip(self, deliver) -> None:
        """syn_deliver of a synapse whose currents the core writes back."""
        if deliver.excitatory.value == 1 and deliver.exc_sum.value.to_signed() > S24_MAX:
            self.hit("saturate: i_exc clipped high (syn_deliver u_exc_sat)")
        if deliver.inhibitory.value == 1 and deliver.inh_sum.value.to_signed() < S24_MIN:
            self.hit("saturate: i_inh clipped low (syn_deliver u_inh_sat)")

    def _sample_trace_jump(self, which: str, trace) -> None:
        """A trace that jumps (trace_update's input, one clock before its write-back)."""
        if trace.value.to_unsigned() + F.TRACE_JUMP > 0xFFFF:
            self.hit(f"trace saturation: {which} trace jump at 65535")

    def _sample_v_clip(self, lif, v_sum_stage: bool) -> None:
        """lif_neuron_update's v_sum and its saturation (its third clock) of a neuron
        that is not refractory (a refractory neuron keeps its v)."""
        if v_sum_stage and lif.refrac_s2_q.value.to_unsigned() == 0:
            v_sum = lif.v_sum.value.to_signed()
            if v_sum > S24_MAX:
                self.hit("saturate: v clipped high (lif_neuron_update u_v_sat)")
            elif v_sum < S24_MIN:
                self.hit("saturate: v clipped low (lif_neuron_update u_v_sat)")

    # ---- the bus --------------------------------------------------------------------------
    def record_read(self, address: int) -> None:
        """A read whose data the bench compared (an idle bus address alone is no read)."""
        region = address >> F.REGION_SHIFT
        if region < len(self.REGIONS):
            self.hit(f"command: bus read region {self.REGIONS[region]} (checked by the bench)")

    def _sample_bus_write(self) -> None:
        dut = self.dut
        region = dut.bus_region.value.to_unsigned()   # the bus as the core sees it
        if region >= len(self.REGIONS):
            return
        self.hit(f"command: bus write region {self.REGIONS[region]}")
        register = dut.reg_sel.value.to_unsigned()
        if region == F.REGION_CONTROL and register in WRITABLE_REGS:
            self.hit(f"command: write register {WRITABLE_REGS[register]}")


class DenseCoverage(CoverageMonitor):
    """core.v and core_compact.v: a row is every active neuron, so N_ACTIVE = 1 puts
    the one neuron's currents in every row and in the neuron sweep right after."""

    NEURON_SWEEP = ""   # the state that reads the first neuron after the deliver sweep
    POINTS = ("pipeline: rows of one neuron back to back (N_ACTIVE = 1)",
              "pipeline: deliver sweep followed by the neuron sweep with N_ACTIVE = 1")

    def _sample_sweeps(self, state: int) -> None:
        super()._sample_sweeps(state)
        dut, S = self.dut, self.states
        if dut.u_regs.n_active_o.value.to_unsigned() != 1:
            return
        if state == S["DLV_LOAD"] and dut.event_q.value.to_unsigned() > 0:
            self.hit("pipeline: rows of one neuron back to back (N_ACTIVE = 1)")
        if state == S[self.NEURON_SWEEP] and dut.sweep_q.value.to_unsigned() == 0 \
                and dut.event_count_q.value.to_unsigned() > 0:
            self.hit("pipeline: deliver sweep followed by the neuron sweep with N_ACTIVE = 1")


class PipelinedCoverage(DenseCoverage):
    """rtl/core.v: every sweep one item per clock through one pipeline; an item's kind
    and valid bit travel with it (kind_s<k>_q, valid_s<k>_q: the item issued k clocks ago)."""

    MODULE = "core"
    NEURON_SWEEP = "NEU"
    POINTS = DenseCoverage.POINTS + V_CLIP_POINTS

    def __init__(self, dut, path: str):
        super().__init__(dut, path)
        self.kind = rtl_localparams(self.MODULE, "K_")

    def _sample_datapath(self, state: int) -> None:
        dut, K = self.dut, self.kind

        def item(stage: int, kind: str) -> bool:
            return (getattr(dut, f"valid_s{stage}_q").value == 1
                    and getattr(dut, f"kind_s{stage}_q").value.to_unsigned() == K[kind])

        # lif_neuron_update starts at stage 3 and forms v_sum in its third clock (stage 5)
        self._sample_v_clip(dut.u_lif_neuron_update, item(5, "NEURON"))
        # the traces jump at stage 1, into the stage-2 registers (core.v, "stage 2")
        if item(1, "NEURON") and dut.ctl_rdata.value.to_unsigned() >> 11:
            self._sample_trace_jump("post", dut.post_trace_rdata)
        if item(1, "DELIVER") and dut.index_s1_q.value.to_unsigned() == 0:
            self._sample_trace_jump("pre", dut.pre_trace_rdata)
        if item(4, "DELIVER"):
            self._sample_current_clip(dut.u_syn_deliver)
        # stdp_update clips in its second clock (stage 3); the weight is written at stage 4
        if dut.weight_s3_q.value.to_unsigned() >> self.shape.weight_width & 1:   # plastic
            if item(3, "POTENT"):
                self._sample_weight_clip(dut.u_stdp_update, "potentiation")
            elif item(3, "DELIVER") and dut.u_regs.stdp_enable_o.value == 1:
                self._sample_weight_clip(dut.u_stdp_update, "depression")


class CompactCoverage(DenseCoverage):
    """rtl/core_compact.v: lif_neuron_seq (17 micro-ops per neuron, its uop_q counter
    is its state); one single-port RAM of two-synapse weight words, which a
    weight-writing sweep reads every other clock and writes back in the clocks
    between; one trace_update and one stdp_update shared by the sweeps."""

    MODULE = "core_compact"
    NEURON_SWEEP = "NEU_READ"
    LIF_LAST_UOP = rtl_localparams("lif_neuron_seq")["LAST"]
    POINTS = DenseCoverage.POINTS + tuple(
        f"fsm state lif_neuron_seq micro-op {k}" for k in range(LIF_LAST_UOP + 1)) + (
        # lif_neuron_seq compares the unclipped sum with the threshold: a sum above the
        # top fires (the threshold is at most 2^23-1) and stores v_reset, not the clip
        "saturate: v sum above 2^23-1 (lif_neuron_seq u_v_sat; it fires, v_reset stored)",
        "saturate: v clipped low (lif_neuron_seq u_v_sat, stored)",
        # ... so its one case where the clip decides: v_thresh = -2^23, which the clipped
        # sum reaches and the unclipped one does not (reaches_threshold's first term)
        "saturate: v below -2^23 fires at v_thresh = -2^23 (lif_neuron_seq reaches_threshold)",
        "weight RAM: a row read one synapse per clock (STDP off, no write-backs)",
        "weight RAM: a depressed weight written back between two reads of a row (STDP on)",
        "weight RAM: a potentiated weight written back between two reads of a column",
        "weight RAM: both lanes of one word written back in turn (lane write masks)")

    def __init__(self, dut, path: str):
        super().__init__(dut, path)
        self._last_weight_write: tuple[int, int] | None = None   # (word, lane)

    def _sample_datapath(self, state: int) -> None:
        dut = self.dut
        lif = dut.u_lif_neuron_seq
        self.hit(f"fsm state lif_neuron_seq micro-op {lif.uop_q.value.to_unsigned()}")
        # the micro-op that writes v: the sum in acc_q, the threshold compare in spike_o
        if lif.v_valid_o.value == 1 and lif.refractory.value == 0:
            v_sum, fired = lif.acc_q.value.to_signed(), lif.spike_o.value == 1
            if v_sum > S24_MAX:
                self.hit("saturate: v sum above 2^23-1 (lif_neuron_seq u_v_sat; it fires, "
                         "v_reset stored)")
            elif v_sum < S24_MIN:
                self.hit("saturate: v below -2^23 fires at v_thresh = -2^23 (lif_neuron_seq "
                         "reaches_threshold)" if fired
                         else "saturate: v clipped low (lif_neuron_seq u_v_sat, stored)")
        # the one trace_update: a row's pre-trace jump in its first issue clock, a
        # neuron's post trace in its first clock (both written the clock after)
        if dut.jump_now.value == 1:
            self._sample_trace_jump("pre", dut.u_trace_update.trace_i)
        if dut.post_now.value == 1 and dut.ctl_rdata.value.to_unsigned() >> 11:
            self._sample_trace_jump("post", dut.u_trace_update.trace_i)
        # a synapse issued in clock t: stdp_update's operands at stage 1, its clip in
        # stage 2, the new weight and the delivered currents written at stage 3
        if dut.valid_s3_q.value == 1 and dut.pot_s3_q.value == 0:
            self._sample_current_clip(dut.u_syn_deliver)
        plastic_s2 = dut.word_s2_q.value.to_unsigned() >> self.shape.weight_width & 1
        if dut.valid_s2_q.value == 1 and plastic_s2:
            if dut.pot_s2_q.value == 1:
                self._sample_weight_clip(dut.u_stdp_update, "potentiation")
            elif dut.u_regs.stdp_enable_o.value == 1:
                self._sample_weight_clip(dut.u_stdp_update, "depression")
        self._sample_weight_ram(state)

    def _sample_weight_ram(self, state: int) -> None:
        dut, S = self.dut, self.states
        writing = dut.write_s3.value == 1
        if state == S["DLV_ROW"] and dut.u_regs.stdp_enable_o.value == 0:
            self.hit("weight RAM: a row read one synapse per clock (STDP off, no write-backs)")
        if writing and dut.phase_q.value == 1:   # phase 1: the clock between two reads
            if state == S["DLV_ROW"]:
                self.hit("weight RAM: a depressed weight written back between two reads "
                         "of a row (STDP on)")
            elif state == S["POT_COL"]:
                self.hit("weight RAM: a potentiated weight written back between two reads "
                         "of a column")
        if writing:
            write = (dut.pair_s3.value.to_unsigned(), int(dut.half_s3.value))
            if self._last_weight_write == (write[0], 1 - write[1]):
                self.hit("weight RAM: both lanes of one word written back in turn "
                         "(lane write masks)")
            self._last_weight_write = write
        elif state == S["IDLE"]:
            self._last_weight_write = None   # the bus writes weights between steps


class SparseCoverage(CoverageMonitor):
    """rtl/core_sparse.v: the deliver and potentiation sweeps walk lists (a row per
    event, a column per fired neuron) through their own stages; one valid bit per item
    kind and stage (neu_q, dlv_q, pot_q, jump_q: bit k-1 = an item in stage k)."""

    MODULE = "core_sparse"
    REGIONS = SPARSE_REGION_NAMES
    # not DenseCoverage's N_ACTIVE = 1 hazards: a row lists its own targets (N_ACTIVE
    # only masks them), so the re-reads to cover are the list orders at the end here
    POINTS = V_CLIP_POINTS + (
        "list: empty row (its one S_DLV_SYN clock is the first drain clock)",
        "list: empty column (its one S_POT_ENTRY clock is the first drain clock)",
        "list: a row wraps from the last synapse word to synapse 0",
        "list: a column wraps from the last column index entry to entry 0",
        "list: a synapse onto a neuron >= N_ACTIVE takes its clock, writes nothing",
        "list: a column entry of a neuron source >= N_ACTIVE is skipped",
        "list: a column entry of an input channel >= N_INPUTS is skipped",
        "list: a non-plastic column entry is not potentiated",
        "injection: slot + delay wraps around the ring (added in the push clock)",
        "pipeline: a row's first target is the previous row's last (currents re-read)",
        "pipeline: a column's first synapse is the previous column's last (re-read)",
        "pipeline: the neuron sweep starts at the deliver sweep's last target")

    def __init__(self, dut, path: str):
        super().__init__(dut, path)
        # written back this step, by the list sweeps' stage-7 writes: the current list's
        # and the previous list's words in order (targets of rows, synapses of columns)
        self._row: list[int] = []
        self._previous_row: list[int] = []
        self._column: list[int] = []
        self._previous_column: list[int] = []
        self._last_target: int | None = None

    def _sample_datapath(self, state: int) -> None:
        dut, sh = self.dut, self.shape
        neu, dlv, pot = (v.value.to_unsigned() for v in (dut.neu_q, dut.dlv_q, dut.pot_q))
        # lif_neuron_update from stage 3 (core.v's stages): v_sum in stage 5
        self._sample_v_clip(dut.u_lif_neuron_update, bit(neu, 4))
        # both traces' trace_update from stage 2, written at stage 4
        if bit(neu, 1) and dut.ctl_out_q.value.to_unsigned() >> 11:
            self._sample_trace_jump("post", dut.post_trace_out_q)
        if bit(dut.jump_q.value.to_unsigned(), 1):
            self._sample_trace_jump("pre", dut.pre_trace_out_q)
        # stdp_update from stage 4: its clip in stage 5, the synapse word written at 7
        # if it is plastic and its target (or source) active
        if bit(dut.syn_s5_q.value.to_unsigned(), sh.weight_width) and dut.active_s5_q.value == 1:
            if bit(pot, 4):
                self._sample_weight_clip(dut.u_stdp_update, "potentiation")
            elif bit(dlv, 4) and dut.u_regs.stdp_enable_o.value == 1:
                self._sample_weight_clip(dut.u_stdp_update, "depression")
        # stage 6: syn_deliver, and the write-back registers that stage 7 writes from
        active_s6 = dut.active_s6_q.value == 1
        plastic_s6 = bit(dut.syn_s6_q.value.to_unsigned(), sh.weight_width)
        if bit(dlv, 5):
            if active_s6:
                self._sample_current_clip(dut.u_syn_deliver)
            else:
                self.hit("list: a synapse onto a neuron >= N_ACTIVE takes its clock, "
                         "writes nothing")
        if bit(pot, 5) and active_s6 and not plastic_s6:
            self.hit("list: a non-plastic column entry is not potentiated")
        if bit(pot, 1) and dut.entry_active.value == 0:
            channel = dut.entry_source.value.to_unsigned() >> sh.neuron_bits
            self.hit("list: a column entry of an input channel >= N_INPUTS is skipped" if channel
                     else "list: a column entry of a neuron source >= N_ACTIVE is skipped")
        self._sample_lists(state, dlv, pot, active_s6, plastic_s6)
        if dut.inject_push_q.value == 1 and (dut.inject_slot_q.value.to_unsigned()
                                             + dut.inject_delay_q.value.to_unsigned()
                                             >= sh.delay_depth):
            self.hit("injection: slot + delay wraps around the ring (added in the push clock)")

    def _sample_lists(self, state: int, dlv: int, pot: int, active_s6: bool,
                      plastic_s6: bool) -> None:
        """The list counters (S_*_SYN, S_*_ENTRY) and the order of the stage-7 writes."""
        dut, S, sh = self.dut, self.states, self.shape
        remain = dut.remain_q.value.to_unsigned()
        if state == S["DLV_SYN"]:
            if remain == 0:
                self.hit("list: empty row (its one S_DLV_SYN clock is the first drain clock)")
            elif remain > 1 and dut.syn_addr_q.value.to_unsigned() == sh.synapses - 1:
                self.hit("list: a row wraps from the last synapse word to synapse 0")
        elif state == S["POT_ENTRY"]:
            if remain == 0:
                self.hit("list: empty column (its one S_POT_ENTRY clock is the first drain clock)")
            elif remain > 1 and dut.entry_q.value.to_unsigned() == sh.plastic_synapses - 1:
                self.hit("list: a column wraps from the last column index entry to entry 0")
        elif state == S["START"]:
            self._row, self._previous_row, self._last_target = [], [], None
            self._column, self._previous_column = [], []
        elif state == S["DLV_LIST"]:   # a row begins (the previous one has drained)
            self._previous_row, self._row = self._row, []
        elif state == S["POT_LIST"]:
            self._previous_column, self._column = self._column, []
        elif state == S["NEU"] and dut.sweep_q.value.to_unsigned() == 0 and \
                self._last_target == 0:
            self.hit("pipeline: the neuron sweep starts at the deliver sweep's last target")
        if bit(dlv, 5) and active_s6:   # its currents are written
            target = dut.target_s6.value.to_unsigned()
            if not self._row and self._previous_row and target == self._previous_row[-1]:
                self.hit("pipeline: a row's first target is the previous row's last "
                         "(currents re-read)")
            self._row.append(target)
            self._last_target = target
        if bit(pot, 5) and active_s6 and plastic_s6:   # its synapse word is written
            synapse = dut.syn_addr_s6_q.value.to_unsigned()
            if not self._column and self._previous_column and synapse == self._previous_column[-1]:
                self.hit("pipeline: a column's first synapse is the previous column's last "
                         "(re-read)")
            self._column.append(synapse)


COVERAGE_MONITORS = {F.ARCH_PIPELINED: PipelinedCoverage, F.ARCH_COMPACT: CompactCoverage,
                     F.ARCH_SPARSE: SparseCoverage}


def coverage_points(architecture: int) -> list[str]:
    """Every point the benches must reach on the core of ``architecture``."""
    return COVERAGE_MONITORS[architecture].points()


class Bench:
    """Drives core.v: all inputs change just after a falling edge, outputs are sampled there."""

    def __init__(self, dut):
        self.dut = dut
        self.shape = bench_shape()
        self.coverage: CoverageMonitor | None = None   # set by start() when coverage is on

    async def start(self):
        dut = self.dut
        Clock(dut.clk_i, 10, unit="ns").start()
        dut.tick_i.value = 0
        dut.bus_we_i.value = 0
        dut.bus_addr_i.value = 0
        dut.bus_wdata_i.value = 0
        if os.environ.get("BENCH_COVERAGE_FILE"):
            monitor = COVERAGE_MONITORS[self.shape.architecture]
            self.coverage = monitor(dut, os.environ["BENCH_COVERAGE_FILE"])
            cocotb.start_soon(self.coverage.run())
        await self.reset()

    async def reset(self):
        self.dut.rst_ni.value = 0
        await FallingEdge(self.dut.clk_i)
        await FallingEdge(self.dut.clk_i)
        self.dut.rst_ni.value = 1
        await FallingEdge(self.dut.clk_i)

    async def write(self, address: int, data: int):
        dut = self.dut
        dut.bus_we_i.value = 1
        dut.bus_addr_i.value = address
        dut.bus_wdata_i.value = data & 0xFFFFFFFF
        await FallingEdge(dut.clk_i)
        dut.bus_we_i.value = 0

    async def flush(self):
        """With a registered bus, the last write acts one clock after its cycle."""
        if BUS_REGISTERED:
            await FallingEdge(self.dut.clk_i)

    async def read(self, address: int) -> int:
        self.dut.bus_addr_i.value = address
        await FallingEdge(self.dut.clk_i)
        if BUS_REGISTERED:
            await FallingEdge(self.dut.clk_i)
            await FallingEdge(self.dut.clk_i)
        if self.coverage:
            self.coverage.record_read(address)
        return self.dut.bus_rdata_o.value.to_unsigned()

    async def step(self, gap: bool = True) -> tuple[list[int], int]:
        """Tick, wait for done; returns (spike port ids, clock cycles from tick to done).
        ``gap``: leave one idle clock before the tick, as rtl/README.md asks after an
        INJECT write (cmd_frontend does); without it a tick right after an injection
        waits one clock in S_START."""
        dut = self.dut
        if gap:
            await FallingEdge(dut.clk_i)
        dut.tick_i.value = 1
        await FallingEdge(dut.clk_i)
        dut.tick_i.value = 0
        if BUS_REGISTERED:   # the core sees the tick a clock later; its cycles start there
            await FallingEdge(dut.clk_i)
        spikes, cycles = [], 1
        assert dut.busy_o.value == 1, "core did not accept a tick while idle"
        while True:
            if dut.spike_valid_o.value:
                spikes.append(dut.spike_id_o.value.to_unsigned())
            if dut.done_o.value:
                break
            await FallingEdge(dut.clk_i)
            cycles += 1
        await FallingEdge(dut.clk_i)
        assert dut.busy_o.value == 0, "core still busy the cycle after done"
        return spikes, cycles

    # ---- state read-back through the simulator (the bus path has its own bench) ----
    def memory(self, ram) -> np.ndarray:
        """Every word of a ram_1r1w or ram_1r1w_nrw instance (whole, or in SLICE_W-bit slices), of a
        ram_banked instance (its banks in address order) or of a ram_spram instance
        (core_compact's weights: word k holds synapse 2k in lane 0, 2k+1 in lane 1)."""
        if hasattr(ram, "LANE_W"):
            lane_w = int(ram.LANE_W.value)
            pairs = np.array([word.to_unsigned() for word in ram.mem_q.value], dtype=np.int64)
            mask = (1 << lane_w) - 1
            return np.stack([pairs & mask, (pairs >> lane_w) & mask], axis=1).ravel()
        if hasattr(ram, "g_bank"):
            return np.concatenate([self.memory(ram.g_bank[b].u_bank)
                                   for b in range(1 << int(ram.BANK_W.value))])
        if hasattr(ram, "g_whole"):
            return np.array([word.to_unsigned() for word in ram.g_whole.mem_q.value],
                            dtype=np.int64)
        words = np.zeros(0, dtype=np.int64)
        slice_w = int(ram.SLICE_W.value)
        for s in range(int(ram.WIDTH.value) // slice_w):
            part = np.array([w.to_unsigned() for w in ram.g_sliced.g_slice[s].mem_q.value],
                            dtype=np.int64)
            words = part if s == 0 else words | part << (s * slice_w)
        return words

    def state_words(self) -> dict[str, np.ndarray]:
        dut, sh = self.dut, self.shape
        ring_counts_packed = dut.u_delay_ring.count_q.value.to_unsigned()
        count_w = sh.source_bits + 1
        counts = np.array([(ring_counts_packed >> (k * count_w)) & ((1 << count_w) - 1)
                           for k in range(sh.delay_depth)], dtype=np.int64)
        ring = self.memory(dut.u_delay_ring.u_list_ram).reshape(sh.delay_depth, sh.n_sources)
        if sh.sparse:
            synapses = {"synapse": self.memory(dut.u_syn_ram), "row": self.memory(dut.u_row_ram),
                        "column": self.memory(dut.u_column_ram),
                        "column_index": self.memory(dut.u_entry_ram)}
        else:
            synapses = {"weight": self.memory(dut.u_weight_ram)}
        if hasattr(dut, "u_current_ram"):
            # core_compact: i_exc and i_inh are the lanes of one RAM, v shares its RAM
            # with the spike list (v in the low 24 bits)
            currents = self.memory(dut.u_current_ram)
            # ... and the control words with the delays (word n: {input n's, neuron n's, control})
            ctl = self.memory(dut.u_ctl_ram)
            slot_w, ctl_w = sh.delay_bits, F.CONTROL_WIDTH
            slot_mask = (1 << slot_w) - 1
            neuron_words = {"v": self.memory(dut.u_v_ram) & 0xFFFFFF,
                            "i_exc": currents & 0xFFFFFF, "i_inh": currents >> 24,
                            "control": ctl & ((1 << ctl_w) - 1),
                            "delay": np.concatenate([ctl >> ctl_w & slot_mask,
                                                     ctl >> (ctl_w + slot_w) & slot_mask])}
        else:
            neuron_words = {"v": self.memory(dut.u_v_ram), "i_exc": self.memory(dut.u_i_exc_ram),
                            "i_inh": self.memory(dut.u_i_inh_ram),
                            "control": self.memory(dut.u_ctl_ram),
                            "delay": self.memory(dut.u_delay_ram)}
        return {
            **synapses,
            **neuron_words,
            "post_trace": self.memory(dut.u_post_trace_ram),
            "pre_trace": self.memory(dut.u_pre_trace_ram),
            "ring_count": counts,
            "ring": np.concatenate([ring[k, :counts[k]] for k in range(sh.delay_depth)]),
            # STEP from the port (core_compact counts it in counter32)
            "counters": np.array([dut.step_o.value.to_unsigned(),
                                  dut.last_cycles_q.value.to_unsigned(),
                                  dut.overruns_o.value.to_unsigned(),
                                  dut.dropped_o.value.to_unsigned()], dtype=np.int64),
        }


def model_synapse_words(model: CoreModel) -> dict[str, np.ndarray]:
    """The synapse memories as the RTL stores them: core.v's and core_compact.v's
    weight RAM, or core_sparse.v's synapse RAM and tables (fields cut to their
    RAM widths: {count, first} is count << log2(size) | first)."""
    sh = model.shape
    ww = sh.weight_width
    if not sh.sparse:
        return {"weight": (model.plastic << ww
                           | model.weight & ((1 << ww) - 1)).ravel()}
    first = (1 << F.TABLE_FIRST_BITS) - 1
    return {
        "synapse": (model.syn_target << (ww + 1) | model.syn_plastic.astype(np.int64) << ww
                    | model.syn_weight & ((1 << ww) - 1)),
        "row": (model.row >> F.TABLE_FIRST_BITS) << sh.synapse_bits | model.row & first,
        "column": (model.column >> F.TABLE_FIRST_BITS) << sh.column_bits | model.column & first,
        "column_index": ((model.column_index >> F.TABLE_FIRST_BITS) << sh.synapse_bits
                         | model.column_index & first),
    }


def model_words(model: CoreModel) -> dict[str, np.ndarray]:
    sh = model.shape
    mask24 = (1 << 24) - 1
    return {
        **model_synapse_words(model),
        "v": model.v & mask24,
        "i_exc": model.i_exc & mask24,
        "i_inh": model.i_inh & mask24,
        "control": (model.spiked << (F.REFRAC_WIDTH + F.PROFILE_WIDTH)
                    | model.profile << F.REFRAC_WIDTH | model.refrac),
        "post_trace": model.post_trace.copy(),
        "pre_trace": model.pre_trace.copy(),
        "delay": model.delay.copy(),
        "ring_count": model.ring_count.copy(),
        "ring": np.concatenate([model.ring[k, :model.ring_count[k]]
                                for k in range(sh.delay_depth)]),
        "counters": np.array([model.regs[F.REG_STEP], model.regs[F.REG_STEP_CYCLES],
                              model.regs[F.REG_OVERRUNS], model.regs[F.REG_DROPPED]],
                             dtype=np.int64),
    }


def compare_state(bench: Bench, model: CoreModel, where: str) -> None:
    rtl, ref = bench.state_words(), model_words(model)
    problems = []
    for name in ref:
        a, b = rtl[name], ref[name]
        if a.shape != b.shape:
            problems.append(f"{name}: RTL has {a.size} words, model {b.size}")
            continue
        bad = np.flatnonzero(a != b)
        if bad.size:
            shown = ", ".join(f"[{i}] rtl={a[i]:#x} model={b[i]:#x}" for i in bad[:4])
            problems.append(f"{name}: {bad.size} words differ: {shown}")
    assert not problems, f"{where}: state differs from the model:\n  " + "\n  ".join(problems)


async def load(bench: Bench, model: CoreModel, writes) -> None:
    for address, data in writes:
        await bench.write(address, data)
        model.write(address, data)
    await bench.flush()


@cocotb.test()
async def random_networks(dut):
    """Randomized networks, stepped with input spikes, compared every step."""
    bench = Bench(dut)
    await bench.start()
    seen = {"spikes": 0, "events": 0, "weights changed by STDP": 0,
            "refractory neuron-steps": 0}
    if bench.shape.sparse:
        seen.update({"listed synapses delivered": 0, "empty rows delivered": 0,
                     "column entries swept": 0})
    model = CoreModel(bench.shape)
    for seed in bench_seeds():
        await bench.reset()
        model.reset()
        program = random_program(bench.shape, seed)
        await load(bench, model, program.writes)
        compare_state(bench, model, f"seed {seed}, after loading")
        initial_weights = (model.syn_weight if bench.shape.sparse else model.weight).copy()
        total_spikes = 0
        for k, channels in enumerate(program.inputs):
            where = f"seed {seed}, step {k}"
            for channel in channels:
                await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
            slot = int(model.regs[F.REG_STEP]) % bench.shape.delay_depth
            seen["events"] += int(model.ring_count[slot])
            if bench.shape.sparse:
                counts = model.row[model.ring[slot, :model.ring_count[slot]]] >> F.TABLE_FIRST_BITS
                seen["listed synapses delivered"] += int(counts.sum())
                seen["empty rows delivered"] += int(np.sum(counts == 0))
            rtl_spikes, cycles = await bench.step()
            model_spikes = list(model.step())
            if bench.shape.sparse and model.regs[F.REG_STDP_ENABLE]:
                seen["column entries swept"] += int(np.sum(
                    model.column[model_spikes] >> F.TABLE_FIRST_BITS))
            assert rtl_spikes == model_spikes, (f"{where}: spikes RTL {rtl_spikes} "
                                                f"model {model_spikes}")
            assert cycles == model.last_cycles == dut.step_cycles_o.value.to_unsigned(), (
                f"{where}: cycles: testbench counted {cycles}, core counter "
                f"{dut.step_cycles_o.value.to_unsigned()}, model {model.last_cycles}")
            compare_state(bench, model, where)
            total_spikes += len(model_spikes)
            seen["refractory neuron-steps"] += int(np.sum(model.refrac > 0))
        seen["spikes"] += total_spikes
        seen["weights changed by STDP"] += int(np.sum(
            (model.syn_weight if bench.shape.sparse else model.weight) != initial_weights))
        if bench.shape.sparse:   # the tables through the bus, too (bus_readback reads them all)
            await compare_bus_reads(bench, model, sparse_table_addresses(
                bench.shape, np.random.default_rng(seed), 48), f"seed {seed}, after the run")
        dut._log.info("seed %d: %d steps, %d spikes, last step %d cycles", seed,
                      len(program.inputs), total_spikes, model.last_cycles)
    # the random programs must exercise what they are meant to (one seed may not)
    dut._log.info("exercised: %s", seen)
    if len(bench_seeds()) >= 4:
        assert all(seen.values()), f"seeds {bench_seeds()} left something unexercised: {seen}"


def sparse_table_addresses(shape: F.CoreShape, rng, count=None) -> list[int]:
    """Addresses of the sparse core's synapse words and table words: all of them,
    or ``count`` of each region at random (offsets beyond the tables wrap)."""
    regions = ((F.REGION_WEIGHT, shape.synapses), (F.REGION_ROW, shape.n_sources),
               (F.REGION_COLUMN, shape.n_neurons), (F.REGION_COLUMN_INDEX, shape.plastic_synapses))
    if count is None:
        return [addr(region, k) for region, size in regions for k in range(size)]
    return [addr(region, int(k)) for region, _ in regions
            for k in rng.integers(0, 1 << F.REGION_SHIFT, count)]


async def compare_bus_reads(bench: Bench, model: CoreModel, addresses, where: str) -> None:
    for address in addresses:
        got, want = await bench.read(address), model.read(address)
        assert got == want, f"{where}: bus read {address:#08x}: RTL {got:#x} model {want:#x}"


@cocotb.test()
async def bus_readback(dut):
    """Every mapped word reads back through the bus as the model decodes it."""
    bench = Bench(dut)
    await bench.start()
    sh = bench.shape
    model = CoreModel(sh)
    # the profiles zeroed as RESET bit 4 does (the front end's sweep: earlier benches of
    # this simulation wrote them); rst_ni keeps them, as it keeps the RAMs: the first
    # seed reads these zeros after its reset, the second the first seed's profiles
    profile_words = [addr(F.REGION_PROFILE, p << 4 | f) for p in range(F.NUM_PROFILES)
                     for f in range(16)]
    await load(bench, model, [(address, 0) for address in profile_words])
    for seed in bench_seeds()[:2]:
        await bench.reset()
        model.reset()
        for address in profile_words:
            got, want = await bench.read(address), model.read(address)
            assert got == want, (f"seed {seed}: profile word {address:#08x} after reset: "
                                 f"RTL {got:#x} model {want:#x}")
        if seed != bench_seeds()[0]:
            assert any(model.read(a) for a in profile_words), "the profiles were not kept"
        program = random_program(sh, seed, n_steps_range=(3, 4))
        # writes to the unused profile fields 9..15 are ignored: they read 0
        field_rng = np.random.default_rng([seed, 9])
        unused_fields = [(addr(F.REGION_PROFILE, p << 4 | f), int(field_rng.integers(1, 1 << 24)))
                         for p in range(F.NUM_PROFILES)
                         for f in range(len(F.PROFILE_FIELDS), 16)]
        await load(bench, model, unused_fields + program.writes)
        for channels in program.inputs:
            for channel in channels:
                await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
            await bench.step()
            model.step()
        addresses = [addr(F.REGION_CONTROL, r) for r in range(0x40)]
        addresses += [addr(F.REGION_PROFILE, p << 4 | f) for p in range(F.NUM_PROFILES)
                      for f in range(16)]
        for region in (F.REGION_V, F.REGION_I_EXC, F.REGION_I_INH, F.REGION_CONTROL_WORD,
                       F.REGION_POST_TRACE):
            addresses += [addr(region, i) for i in range(sh.n_neurons)]
        for region in (F.REGION_PRE_TRACE, F.REGION_DELAY):
            addresses += [addr(region, s) for s in range(sh.n_sources)]
        rng = np.random.default_rng(seed)
        if sh.sparse:
            addresses += sparse_table_addresses(sh, rng)          # every synapse and table word
            addresses += sparse_table_addresses(sh, rng, 16)      # offsets that wrap
            addresses += [addr(region, 0) for region in range(0xD, 0x10)]
        else:
            addresses += [addr(F.REGION_WEIGHT, int(w))
                          for w in rng.integers(0, sh.n_sources * sh.n_neurons, 256)]
            addresses += [addr(region, 0) for region in range(0xA, 0x10)]
        for address in addresses:
            got = await bench.read(address)
            want = model.read(address)
            assert got == want, f"seed {seed}: bus read {address:#08x}: RTL {got:#x} model {want:#x}"


@cocotb.test()
async def overruns(dut):
    """Ticks at a fixed period shorter than some steps: the core counts the ones
    that arrive while it is busy and the model predicts which."""
    bench = Bench(dut)
    await bench.start()
    overrun_total = 0
    model = CoreModel(bench.shape)
    for seed in bench_seeds()[:3]:
        await bench.reset()
        model.reset()
        program = random_program(bench.shape, seed)
        await load(bench, model, program.writes)
        for channel in program.inputs[0]:
            await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
        rng = np.random.default_rng(seed)
        n_active = int(model.regs[F.REG_N_ACTIVE])
        period = int(rng.integers(n_active + 4, 3 * n_active + 40))
        tick_cycles = [k * period + int(rng.integers(0, 3)) for k in range(20)]
        end = tick_cycles[-1] + 1
        await FallingEdge(dut.clk_i)   # one clock between the injections and the first tick
        for cycle in range(end):   # one falling edge per cycle; the tick is sampled at the next rising
            dut.tick_i.value = int(cycle in tick_cycles)
            await FallingEdge(dut.clk_i)
        dut.tick_i.value = 0
        await bench.flush()   # a registered last tick starts its step a clock later
        while dut.busy_o.value:
            await FallingEdge(dut.clk_i)
        accepted, overrun_count = accepted_ticks(tick_cycles, lambda k: (model.step(),
                                                                         model.last_cycles)[1])
        overrun_total += overrun_count
        dut._log.info("seed %d: period %d, %d ticks accepted, %d overruns", seed, period,
                      len(accepted), overrun_count)
        model.regs[F.REG_OVERRUNS] = overrun_count
        assert dut.overruns_o.value.to_unsigned() == overrun_count, (
            f"seed {seed}, period {period}: RTL counted {dut.overruns_o.value.to_unsigned()} "
            f"overruns, model {overrun_count}")
        assert (dut.overrun_o.value == 1) == (overrun_count > 0)
        compare_state(bench, model, f"seed {seed}, after {len(accepted)} accepted ticks")
        await bench.write(addr(F.REGION_CONTROL, F.REG_OVERRUNS), 0)
        await bench.flush()
        assert dut.overruns_o.value.to_unsigned() == 0 and dut.overrun_o.value == 0
    assert overrun_total > 0, "the tick periods never overran a step"


@cocotb.test()
async def full_delay_slot(dut):
    """More injections into one slot than it holds: the excess is dropped and counted."""
    bench = Bench(dut)
    await bench.start()
    sh = bench.shape
    model = CoreModel(sh)
    for seed in bench_seeds()[:2]:
        await bench.reset()
        model.reset()
        program = random_program(sh, seed, n_steps_range=(3, 4))
        await load(bench, model, program.writes)
        await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_N_INPUTS), sh.n_inputs)])
        # one channel has one delay, so all its injections land in the same slot
        channel = seed % sh.n_inputs
        for _ in range(sh.n_sources + 7):
            await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
        assert model.regs[F.REG_DROPPED] > 0, "the test must overfill a slot"
        await FallingEdge(dut.clk_i)   # an injection reaches the ring two clocks after its write
        await FallingEdge(dut.clk_i)
        await bench.flush()
        compare_state(bench, model, f"seed {seed}, after overfilling")
        for k in range(sh.delay_depth + 1):
            rtl_spikes, cycles = await bench.step()
            model_spikes = list(model.step())
            assert rtl_spikes == model_spikes and cycles == model.last_cycles, (
                f"seed {seed}, step {k}: spikes {rtl_spikes} vs {model_spikes}, "
                f"cycles {cycles} vs {model.last_cycles}")
            compare_state(bench, model, f"seed {seed}, step {k}")
        await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_DROPPED), 0)])
        compare_state(bench, model, f"seed {seed}, after clearing the drop counter")


@cocotb.test()
async def quantized_networks(dut):
    """Random PyNN-level networks through quantize(), run on the RTL and the model."""
    bench = Bench(dut)
    await bench.start()
    model = CoreModel(bench.shape)
    for seed in bench_seeds():
        await bench.reset()
        model.reset()   # the RAMs keep the previous network's words, in both
        if bench.shape.sparse:
            # quantize writes a dense core's weights; the same synapses, listed
            dense = dataclasses.replace(bench.shape, architecture=F.ARCH_PIPELINED, synapses=0,
                                        plastic_synapses=0)
            program = quantize(random_ir_network(dense, seed), dense)
            writes = dense_to_sparse(bench.shape, program.writes, np.random.default_rng(seed))
        else:
            program = quantize(random_ir_network(bench.shape, seed), bench.shape)
            writes = program.writes
        await load(bench, model, writes)
        spikes = 0
        for k in range(program.n_steps):
            for channel in program.inputs[k]:
                await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
            rtl_spikes, cycles = await bench.step()
            model_spikes = list(model.step())
            where = f"seed {seed}, step {k}"
            assert rtl_spikes == model_spikes, f"{where}: spikes RTL {rtl_spikes} model {model_spikes}"
            assert cycles == model.last_cycles, f"{where}: cycles RTL {cycles} model {model.last_cycles}"
            compare_state(bench, model, where)
            spikes += len(model_spikes)
        dut._log.info("seed %d: %d neurons, %d steps, %d spikes", seed,
                      int(model.regs[F.REG_N_ACTIVE]), program.n_steps, spikes)


def corner_program(shape: F.CoreShape) -> list[tuple[int, int]]:
    """Writes that put every clipping path of the core on the datapath at once:
    W_MIN = W_MAX = 0 (any plastic weight STDP touches is clipped, from above or
    below, in depression and in potentiation); even neurons (profile 0) sit at
    v = 2^23-1 with a bias that pushes them over the top and fire every step;
    odd neurons (profile 1) sit at v = -2^23 with a bias below it, but the last
    one (profile 2) has its threshold at -2^23 too, which only the clipped sum
    reaches: it fires every step; neuron 0's i_exc and neuron 1's i_inh are at
    the rails when channel 0's fixed weights arrive; channel 0's pre trace and
    every post trace start at 65535 with retention 1.0, and every neuron fired
    last step."""
    n, n_src, ww = shape.n_neurons, shape.n_sources, shape.weight_width
    lo, hi = shape.weight_min, shape.weight_max
    mask_w = (1 << ww) - 1
    writes = []

    def reg(register, value):
        writes.append((addr(F.REGION_CONTROL, register), value & 0xFFFFFFFF))

    for register, value in ((F.REG_N_ACTIVE, n), (F.REG_N_INPUTS, shape.n_inputs),
                            (F.REG_STDP_ENABLE, 1), (F.REG_GAIN_SHIFT, 16),
                            (F.REG_A_PLUS, 0xFFFF), (F.REG_A_MINUS, 0xFFFF),
                            (F.REG_W_MIN, 0), (F.REG_W_MAX, 0),
                            (F.REG_PRE_DECAY, 0xFFFF), (F.REG_POST_DECAY, 0xFFFF),
                            (F.REG_STEP, 0)):
        reg(register, value)
    profiles = [  # (v_decay, exc_decay, inh_decay, exc_gain, inh_gain, bias, v_thresh, v_reset, refrac)
        (0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0, S24_MAX, S24_MAX, S24_MAX, 0),
        (0xFFFF, 0xFFFF, 0xFFFF, 0, 0, S24_MIN, S24_MAX, 0, 0),
        (0xFFFF, 0xFFFF, 0xFFFF, 0, 0, S24_MIN, S24_MIN, S24_MIN, 0),
    ]
    for p, fields in enumerate(profiles):
        for field, (name, value) in enumerate(zip(F.PROFILE_FIELDS, fields)):
            writes.append((addr(F.REGION_PROFILE, p << 4 | field),
                           value & ((1 << F.PROFILE_FIELD_WIDTH[name]) - 1)))
    for i in range(n):
        even = i % 2 == 0
        profile = 0 if even else 2 if i == n - 1 else 1
        writes += [(addr(F.REGION_V, i), (S24_MAX if even else S24_MIN) & 0xFFFFFF),
                   (addr(F.REGION_I_EXC, i), S24_MAX if i == 0 else 0),
                   (addr(F.REGION_I_INH, i), S24_MIN & 0xFFFFFF if i == 1 else 0),
                   (addr(F.REGION_CONTROL_WORD, i), 1 << 11 | profile << 8),
                   (addr(F.REGION_POST_TRACE, i), 0xFFFF)]
    channel0, channel1 = n, n + 1
    for s in range(n_src):
        writes += [(addr(F.REGION_PRE_TRACE, s), 0xFFFF if s == channel0 else 0),
                   (addr(F.REGION_DELAY, s), 0 if s >= n else 1)]
        for i in range(n):
            if s == channel0:      # fixed weights onto the saturated currents
                word = (hi if i % 2 == 0 else lo) & mask_w
            elif s == channel1:    # plastic +1 / -1
                word = 1 << ww | ((1 if i % 2 == 0 else -1) & mask_w)
            else:                  # plastic +1 / -1 / 0 between neurons
                word = 1 << ww | ((1, -1, 0)[(s + i) % 3] & mask_w)
            writes.append((addr(F.REGION_WEIGHT, s << shape.neuron_bits | i), word))
    return writes


def sparse_corner_program(shape: F.CoreShape) -> list[tuple[int, int]]:
    """corner_program() for core_sparse.v, its weights listed by dense_to_sparse:
    the channels' rows and as many neurons' rows as the column index holds with
    channel 1's (every synapse of those is plastic); the other neurons' synapses
    are left unlisted, which is weight 0 and not plastic."""
    dense = dataclasses.replace(shape, architecture=F.ARCH_PIPELINED, synapses=0,
                                plastic_synapses=0)
    n = shape.n_neurons
    plastic_rows = shape.plastic_synapses // n - 1   # channel 1's row takes one column's worth

    def listed(address: int) -> bool:
        if address >> F.REGION_SHIFT != F.REGION_WEIGHT:
            return True
        source = (address & ((1 << F.REGION_SHIFT) - 1)) >> shape.neuron_bits
        return source < plastic_rows or source in (n, n + 1)

    writes = [(a, d) for a, d in corner_program(dense) if listed(a)]
    return dense_to_sparse(shape, writes, np.random.default_rng(0))


@cocotb.test()
async def directed_corners(dut):
    """corner_program() stepped with both input channels firing every step (and, in
    the last, more injections than a slot holds), compared with the model."""
    bench = Bench(dut)
    await bench.start()
    sh = bench.shape
    model = CoreModel(sh)
    await load(bench, model, sparse_corner_program(sh) if sh.sparse else corner_program(sh))
    inject = addr(F.REGION_CONTROL, F.REG_INJECT)
    for k in range(4):
        injections = [0, 1] if k < 3 else [0] * (sh.n_sources + 1)
        await load(bench, model, [(inject, c) for c in injections])
        rtl_spikes, cycles = await bench.step()
        model_spikes = list(model.step())
        assert rtl_spikes == model_spikes and cycles == model.last_cycles, (
            f"step {k}: spikes {rtl_spikes} vs {model_spikes}, cycles {cycles} vs "
            f"{model.last_cycles}")
        compare_state(bench, model, f"directed corners, step {k}")
    assert model.regs[F.REG_DROPPED] > 0, "the last step's injections must overfill a slot"


@cocotb.test()
async def pipeline_hazards(dut):
    """The re-reads that the pipeline drains make safe, back to back: one active
    neuron (each row and the neuron sweep revisit the same currents right after
    the previous write-back), several events from one source in a slot (its
    weights and pre trace re-read right after their update), STDP on so that
    every plastic synapse is written back; compared with the model every step."""
    bench = Bench(dut)
    await bench.start()
    sh = bench.shape
    model = CoreModel(sh)
    inject = addr(F.REGION_CONTROL, F.REG_INJECT)
    for seed in bench_seeds()[:2]:
        await bench.reset()
        model.reset()
        program = random_program(sh, seed, n_steps_range=(3, 4))
        await load(bench, model, program.writes)
        await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_N_ACTIVE), 1),
                                  (addr(F.REGION_CONTROL, F.REG_N_INPUTS), sh.n_inputs),
                                  (addr(F.REGION_CONTROL, F.REG_STDP_ENABLE), 1)])
        for k in range(2 * sh.delay_depth):
            # every third step ticks in the clock right after the last injection: the
            # step waits one clock for it (and delivers it)
            immediate = k % 3 == 2
            for channel in (0, 0, sh.n_inputs - 1, 0):
                await bench.write(inject, channel)
                model.write(inject, channel)
            if not immediate:
                await bench.flush()
            rtl_spikes, cycles = await bench.step(gap=not immediate)
            model_spikes = list(model.step())
            where = f"seed {seed}, step {k}"
            assert rtl_spikes == model_spikes and cycles == model.last_cycles + immediate, (
                f"{where}: spikes {rtl_spikes} vs {model_spikes}, cycles {cycles} vs "
                f"{model.last_cycles} + {int(immediate)}")
            model.regs[F.REG_STEP_CYCLES] += immediate   # the core counted its wait in S_START
            compare_state(bench, model, where)


def list_hazard_program(shape: F.CoreShape, seed: int) -> list[tuple[int, int]]:
    """core_sparse.v: tables built so that each list sweep re-reads, right after the
    drain, a word its previous list has just written.  Neurons 0, 1, 2 and 5 fire
    every step (profile 7: v lands on the threshold) with delay 0, and channels 0
    and 1 are injected twice per step, so each slot delivers, in order:
        n0 [3, 2, 1]   n1 [1, 4]   n2 []   n5 []   ch0 [4]   ch0 [4]   ch1 [5, 0]   ch1 [5, 0]
    (a row's last target is the next row's first; an empty row; one source twice,
    its synapse depressed twice; the neuron sweep then starts at neuron 0, the
    last row's last target).  Every listed synapse but ch1 -> 5 is plastic; the
    fired neurons' columns, potentiated in the order 0, 1, 2, 5:
        col 0 [ch1->0, n0->1]   col 1 [n0->1, n1->1]   col 2 [n1->1, n0->2]   col 5 []
    (consecutive columns share a plastic synapse; an empty column), and col 4
    also lists the non-plastic ch1 -> 5."""
    rng = np.random.default_rng(seed)
    tables = (F.REGION_WEIGHT, F.REGION_ROW, F.REGION_COLUMN, F.REGION_COLUMN_INDEX)
    writes = [(a, d) for a, d in random_program(shape, seed, n_steps_range=(3, 4)).writes
              if a >> F.REGION_SHIFT not in tables]
    ww, lo, hi = shape.weight_width, shape.weight_min, shape.weight_max
    n, ch0, ch1 = shape.n_neurons, shape.n_neurons, shape.n_neurons + 1

    def reg(register, value):
        writes.append((addr(F.REGION_CONTROL, register), value & 0xFFFFFFFF))

    reg(F.REG_N_ACTIVE, n)
    reg(F.REG_N_INPUTS, shape.n_inputs)
    reg(F.REG_STDP_ENABLE, 1)
    reg(F.REG_A_PLUS, int(rng.integers(1 << 12, 1 << 16)))
    reg(F.REG_A_MINUS, int(rng.integers(1 << 12, 1 << 16)))
    reg(F.REG_W_MIN, lo)
    reg(F.REG_W_MAX, hi)
    # v lands on the threshold whatever the currents (no gain), and the currents keep
    # what they had (retention 1 - 2^-16), so that a stale read of one would show
    threshold = 1 << 16
    for field, value in enumerate((0, 0xFFFF, 0xFFFF, 0, 0, threshold, threshold, 0, 0)):
        writes.append((addr(F.REGION_PROFILE, 7 << 4 | field), value))
    for neuron in (0, 1, 2, 5):
        writes += [(addr(F.REGION_CONTROL_WORD, neuron), 7 << F.REFRAC_WIDTH),
                   (addr(F.REGION_DELAY, neuron), 0)]
    writes += [(addr(F.REGION_DELAY, ch0), 0), (addr(F.REGION_DELAY, ch1), 0)]

    def plastic(plastic_flag=1):
        return plastic_flag << ww | int(rng.integers(lo, hi + 1)) & ((1 << ww) - 1)

    rows = [[] for _ in range(shape.n_sources)]
    rows[0] = [(3, plastic()), (2, plastic()), (1, plastic())]
    rows[1] = [(1, plastic()), (4, plastic())]
    rows[ch0] = [(4, plastic())]
    rows[ch1] = [(5, plastic(0)), (0, plastic())]
    columns = [[] for _ in range(n)]
    columns[0] = [(ch1, 1), (0, 2)]
    columns[1] = [(0, 2), (1, 0)]
    columns[2] = [(1, 0), (0, 1)]
    columns[3] = [(0, 0)]
    columns[4] = [(1, 1), (ch1, 0), (ch0, 0)]
    return writes + sparse_table_writes(shape, rows, columns, rng)


@cocotb.test()
async def list_hazards(dut):
    """core_sparse.v: list_hazard_program() stepped with its injections, compared with
    the model every step; the neurons that must fire do."""
    bench = Bench(dut)
    await bench.start()
    sh = bench.shape
    assert sh.sparse, "list_hazards is core_sparse.v's bench"
    model = CoreModel(sh)
    inject = addr(F.REGION_CONTROL, F.REG_INJECT)
    for seed in bench_seeds()[:2]:
        await bench.reset()
        model.reset()
        await load(bench, model, list_hazard_program(sh, seed))
        for k in range(2 * sh.delay_depth):
            await load(bench, model, [(inject, c) for c in (0, 0, 1, 1)])
            rtl_spikes, cycles = await bench.step()
            model_spikes = list(model.step())
            where = f"seed {seed}, step {k}"
            assert rtl_spikes == model_spikes and cycles == model.last_cycles, (
                f"{where}: spikes {rtl_spikes} vs {model_spikes}, cycles {cycles} vs "
                f"{model.last_cycles}")
            assert {0, 1, 2, 5} <= set(model_spikes), f"{where}: {model_spikes}"
            compare_state(bench, model, where)
