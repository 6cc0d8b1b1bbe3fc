"""Supervised learning of spatial spike patterns with STDP and homeostasis.

After S. Davies, A. Gait, A. Rowley and A. Di Nuovo, "Supervised learning of
spatial features with STDP and homeostasis using Spiking Neural Networks on
SpiNNaker", arXiv:2312.02659 (2023), Neurocomputing 611:128650 (2025).  What we
carry over from it: a *spatial* pattern is a set of input neurons that fire
simultaneously (no temporal structure); a network learns it with STDP plus
homeostasis in a supervised way, the output answering after a short delay; with
one trained pattern the network is an ideal detector (100 % accuracy), and as
more patterns are trained into one network the accuracy depends on how similar
the patterns are.  The paper's network sizes and parameters are not used here
(we did not have them); the design below is our own, made to fit the neurohw
FPGA core, and every number it produces is measured, not taken from the paper.

The experiment
--------------
* ``n_inputs`` input channels (``SpikeSourceArray``); a pattern is
  ``pattern_size`` of them, each firing one spike at the same instant.
* One detector neuron (``IF_curr_exp``) per trained pattern, all-to-all
  plastic synapses from the inputs (one additive pair-STDP rule), and
  ``teachers_per_detector`` teacher channels per detector with static weights.
* Training (supervised): pattern ``p`` is presented and, ``teacher_lag_ms``
  later, detector ``p``'s teachers fire, so detector ``p`` fires just after the
  pattern's spikes arrive and STDP potentiates exactly the synapses of the
  pattern (pre before post).  Pair STDP cannot weaken the synapses of inputs
  that stay silent -- that is homeostasis' job:
* Homeostasis: multiplicative *synaptic scaling* (Turrigiano et al. 1998,
  Nature 391:892), applied by the host between presentations: each detector's
  incoming weights are scaled so that they sum to ``total_weight``.  What STDP
  gives the pattern's synapses is taken from the others, and the detector's
  total drive stays at a set point.  ``total_weight`` is chosen so that a
  detector fires when at least ``match_fraction`` of that total arrives at once.
* Testing: learning is frozen (a new network with the learned weights as
  static synapses), then every trained pattern is presented, and *lures*: each
  trained pattern with ``lure_changes`` of its inputs moved elsewhere, and
  random patterns, all at least ``lure_changes`` inputs away from every
  trained pattern.  A presentation is answered correctly when exactly the
  right detector fires (none for a lure).

Why this homeostasis on this core
---------------------------------
The FPGA core has one additive STDP rule for the whole core, a plastic flag per
synapse, 8 neuron-parameter profiles and one weight LSB; it has no per-neuron
weight normalizer and no adaptive threshold.  Synaptic scaling needs none of
them: the host reads the learned weights and writes the scaled ones between
presentations, with the normal PyNN calls (``Projection.get``/``set``), and
every detector keeps the same parameters (one profile).  An adaptive threshold
(intrinsic homeostasis) would have needed one profile per distinct threshold,
so at most 8 detectors, and a re-quantization of the profiles per update.  On
the core, scaled weights are rounded to the weight LSB: that rounding, the
8-bit weights and the STDP increments truncated to whole LSBs are what the
hardware changes, and what the reference-vs-FPGA comparison measures.

Weights are in nA (current-based synapses), times in ms.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import numpy as np

import neurohw.pynn as sim

__all__ = ["Config", "CI", "FULL", "PatternSet", "Training", "Evaluation", "Trial",
           "SweepRow", "Sweep", "make_patterns", "synaptic_scaling", "train", "evaluate",
           "run_trial", "script", "sweep", "core_options", "psp_peak_per_nA"]

@dataclass(frozen=True)
class Config:
    """Every parameter of the experiment (PyNN units: ms, mV, nA, nF)."""
    n_inputs: int = 32                 # input channels
    pattern_size: int = 8              # active inputs per pattern
    similarity: float = 0.75           # fraction of each trained pattern common to all of them
    match_fraction: float = 0.7        # a detector fires when this fraction of its total
                                       # input weight arrives at once
    lure_changes: int = 3              # inputs moved: a lure is this far from every trained pattern
    lures_per_pattern: int = 3
    random_patterns: int = 3           # random test patterns per trial
    training_presentations: int = 1    # per pattern, interleaved over the patterns
    presentation_ms: float = 100.0     # one pattern per window; the network relaxes in between
    onset_ms: float = 2.0              # pattern spikes at window start + onset
    teacher_lag_ms: float = 2.0        # teacher spikes this long after the pattern
    teacher_strength: float = 2.0      # teachers alone drive a detector to this many thresholds
    weight_headroom: float = 4.0       # STDP bound w_max / the learned weight of one synapse
    initial_spread: float = 0.5        # initial weights uniform in (1 +- spread) * mean
    dt: float = 1.0                    # ms, SpiNNaker's usual time step
    delay_ms: float = 1.0              # every synapse (the core's delays are per source)
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    A_plus: float = 0.5                # of w_max per pairing
    A_minus: float = 0.5
    cell: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(dict(
        cm=0.25, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
        v_rest=-65.0, v_reset=-65.0, v_thresh=-55.0, i_offset=0.0)))   # IF_curr_exp

    def __post_init__(self):
        k, n = self.pattern_size, self.n_inputs
        if not 1 <= k < n:
            raise ValueError(f"pattern_size must be in 1..n_inputs-1 ({n - 1}), got {k}")
        if not 0.0 <= self.similarity < 1.0:
            raise ValueError(f"similarity must be in [0, 1), got {self.similarity}")
        if not 0.0 < self.match_fraction <= 1.0:
            raise ValueError(f"match_fraction must be in (0, 1], got {self.match_fraction}")
        if not 1 <= self.lure_changes <= k:
            raise ValueError(f"lure_changes must be in 1..pattern_size ({k}), "
                             f"got {self.lure_changes}")
        if (k - self.lure_changes) / k >= self.match_fraction:
            raise ValueError(
                f"lure_changes={self.lure_changes}: a lure keeps {k - self.lure_changes} of "
                f"{k} inputs ({(k - self.lure_changes) / k:.3f}), not below match_fraction="
                f"{self.match_fraction}; an ideal detector could not reject it")
        if self.onset_ms + self.teacher_lag_ms + 3 * self.cell["tau_m"] > self.presentation_ms:
            raise ValueError(f"presentation_ms={self.presentation_ms} leaves less than "
                             f"3 tau_m after the teacher: presentations would interact")
        for name in ("training_presentations", "lures_per_pattern", "random_patterns"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    # ---- derived quantities -----------------------------------------------------------
    @property
    def threshold_mV(self) -> float:
        """Depolarisation from rest to threshold, mV."""
        return self.cell["v_thresh"] - self.cell["v_rest"]

    @property
    def total_weight(self) -> float:
        """Synaptic-scaling set point, nA: the sum of a detector's input weights, such
        that ``match_fraction`` of it, arriving at once, just reaches threshold."""
        return self.threshold_mV / (self.match_fraction * psp_peak_per_nA(self.cell, self.dt))

    @property
    def w_max(self) -> float:
        """STDP upper bound, nA (also every teacher synapse's weight)."""
        return self.weight_headroom * self.total_weight / self.pattern_size

    @property
    def teachers_per_detector(self) -> int:
        per_teacher = self.w_max * psp_peak_per_nA(self.cell, self.dt)
        return max(1, math.ceil(self.teacher_strength * self.threshold_mV / per_teacher))

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)


CI = Config()
"""The CI-sized experiment (what the notebook runs by default)."""
FULL = Config(n_inputs=64, pattern_size=16, lure_changes=6, lures_per_pattern=4,
              random_patterns=4)
"""The full-size experiment: twice the inputs and pattern size."""


def psp_peak_per_nA(cell: Mapping[str, float], dt: float) -> float:
    """Peak depolarisation (mV) per nA of weight arriving at once on an ``IF_curr_exp``
    cell at rest, sampled on the ``dt`` grid where the simulators test the threshold:
    v(t) = w tau_m tau_s / (cm (tau_m - tau_s)) (exp(-t/tau_m) - exp(-t/tau_s))."""
    tau_m, tau_s, cm = cell["tau_m"], cell["tau_syn_E"], cell["cm"]
    t = dt * np.arange(1, int(math.ceil(10 * max(tau_m, tau_s) / dt)) + 1)
    if math.isclose(tau_m, tau_s):
        v = t / cm * np.exp(-t / tau_m)
    else:
        v = tau_m * tau_s / (cm * (tau_m - tau_s)) * (np.exp(-t / tau_m) - np.exp(-t / tau_s))
    return float(v.max())


def _power_of_two(n: int) -> int:
    return 1 << max(1, (int(n) - 1).bit_length())


def core_options(config: Config, n_patterns: int) -> dict[str, int]:
    """The smallest FPGA core build (``setup(target="fpga", **options)``) that holds
    the experiment with ``n_patterns`` detectors: input channels for the inputs and
    the teachers, neurons (at least as many as channels, a core rule), delay slots."""
    channels = _power_of_two(config.n_inputs + n_patterns * config.teachers_per_detector)
    delay_steps = int(round(config.delay_ms / config.dt))
    return {"n_neurons": max(channels, _power_of_two(n_patterns)), "n_inputs": channels,
            "delay_depth": _power_of_two(delay_steps + 1)}


# ---- patterns ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PatternSet:
    """Boolean pattern matrices, one row per pattern, one column per input channel."""
    trained: np.ndarray       # (n_patterns, n_inputs) bool
    lures: np.ndarray         # (n_lures, n_inputs) bool
    lure_source: np.ndarray   # (n_lures,) int: the trained pattern each lure was made from
    random: np.ndarray        # (n_random, n_inputs) bool
    seed: int

    @property
    def n_patterns(self) -> int:
        return int(self.trained.shape[0])

    def overlaps(self) -> np.ndarray:
        """Shared inputs between every pair of trained patterns (n, n)."""
        t = self.trained.astype(np.int64)
        return t @ t.T

    def test_sequence(self) -> tuple[np.ndarray, np.ndarray]:
        """(patterns (T, n_inputs), labels (T,)) in a seeded shuffled order; the label is
        the trained pattern's index, or -1 for a lure or random pattern."""
        patterns = np.concatenate([self.trained, self.lures, self.random])
        labels = np.concatenate([np.arange(self.n_patterns),
                                 np.full(len(self.lures) + len(self.random), -1)])
        order = np.random.default_rng([self.seed, 1]).permutation(len(labels))
        return patterns[order], labels[order]


def _pattern(inputs: np.ndarray, n_inputs: int) -> np.ndarray:
    row = np.zeros(n_inputs, dtype=bool)
    row[inputs] = True
    return row


def make_patterns(config: Config, n_patterns: int, seed: int) -> PatternSet:
    """Draw ``n_patterns`` distinct trained patterns, their lures and random patterns.

    Trained patterns share a core of ``round(similarity * pattern_size)`` inputs
    (the same for all of them); the rest of each is drawn at random from the other
    inputs, so two patterns share the core and, by chance, some more.  Lures and
    random patterns differ from every trained pattern in ``lure_changes`` inputs
    or more."""
    if n_patterns < 1:
        raise ValueError(f"n_patterns must be >= 1, got {n_patterns}")
    n, k = config.n_inputs, config.pattern_size
    rng = np.random.default_rng([seed, 0])
    core_size = int(round(config.similarity * k))
    core = rng.choice(n, core_size, replace=False)
    others = np.setdiff1d(np.arange(n), core)
    trained: list[np.ndarray] = []
    for _ in range(1000 * n_patterns):
        if len(trained) == n_patterns:
            break
        row = _pattern(np.concatenate([core, rng.choice(others, k - core_size, replace=False)]), n)
        if not any(np.array_equal(row, t) for t in trained):
            trained.append(row)
    else:
        raise ValueError(f"cannot draw {n_patterns} distinct patterns of {k} inputs with a "
                         f"shared core of {core_size} among {n} inputs")
    trained_arr = np.array(trained)
    limit = k - config.lure_changes     # most inputs a negative may share with a trained pattern

    def far_enough(row):
        return int((trained_arr & row).sum(axis=1).max()) <= limit

    lures, sources = [], []
    for p in range(n_patterns):
        made = 0
        for _ in range(1000):
            if made == config.lures_per_pattern:
                break
            on, off = np.flatnonzero(trained_arr[p]), np.flatnonzero(~trained_arr[p])
            row = trained_arr[p].copy()
            row[rng.choice(on, config.lure_changes, replace=False)] = False
            row[rng.choice(off, config.lure_changes, replace=False)] = True
            if far_enough(row):
                lures.append(row)
                sources.append(p)
                made += 1
        else:
            raise ValueError(f"cannot draw {config.lures_per_pattern} lures of pattern {p} "
                             f"at least {config.lure_changes} inputs from every trained pattern")
    randoms = []
    for _ in range(1000 * max(1, config.random_patterns)):
        if len(randoms) == config.random_patterns:
            break
        row = _pattern(rng.choice(n, k, replace=False), n)
        if far_enough(row):
            randoms.append(row)
    empty = np.zeros((0, n), dtype=bool)
    return PatternSet(trained=trained_arr, lures=np.array(lures) if lures else empty,
                      lure_source=np.array(sources, dtype=np.int64),
                      random=np.array(randoms) if randoms else empty, seed=seed)


# ---- homeostasis ---------------------------------------------------------------------------
def synaptic_scaling(weights: np.ndarray, total: float, w_max: float) -> np.ndarray:
    """Scale each column (one detector's input weights, nA) to sum to ``total``,
    then clip to [0, w_max] (the STDP bounds the weights must stay within)."""
    sums = weights.sum(axis=0)
    if np.any(sums <= 0):
        raise ValueError(f"synaptic scaling: detector(s) {np.flatnonzero(sums <= 0).tolist()} "
                         f"have no input weight left to scale")
    return np.clip(weights * (total / sums), 0.0, w_max)


# ---- the network ----------------------------------------------------------------------------
def _spike_trains(patterns: np.ndarray, times: np.ndarray, n: int) -> list[np.ndarray]:
    """One spike per active input per presentation: the SpikeSourceArray trains."""
    trains = [[] for _ in range(n)]
    for row, t in zip(patterns, times):
        for i in np.flatnonzero(row):
            trains[i].append(t)
    return [np.array(t, dtype=float) for t in trains]


class _Network:
    """Inputs, teachers and detectors, built with ``neurohw.pynn`` on ``target``."""

    def __init__(self, config: Config, n_detectors: int, input_trains, teacher_trains,
                 weights: np.ndarray, plastic: bool, target: str, target_options: Mapping):
        c = config
        sim.setup(timestep=c.dt, min_delay=c.dt, max_delay=c.delay_ms, target=target,
                  **dict(target_options))
        per = c.teachers_per_detector
        self.inputs = sim.Population(c.n_inputs, sim.SpikeSourceArray(spike_times=input_trains),
                                     label="inputs")
        self.teachers = sim.Population(n_detectors * per,
                                       sim.SpikeSourceArray(spike_times=teacher_trains),
                                       label="teachers")
        self.detectors = sim.Population(n_detectors, sim.IF_curr_exp(**c.cell), label="detectors")
        if plastic:
            # the core's delays are axonal (timing taken at the synapse, the pre spike
            # arriving after the delay): ask every simulator for the same
            synapse = sim.STDPMechanism(
                timing_dependence=sim.SpikePairRule(tau_plus=c.tau_plus, tau_minus=c.tau_minus,
                                                    A_plus=c.A_plus, A_minus=c.A_minus),
                weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=c.w_max),
                weight=c.total_weight / c.n_inputs, delay=c.delay_ms,
                dendritic_delay_fraction=0.0)
        else:
            synapse = sim.StaticSynapse(weight=0.0, delay=c.delay_ms)
        self.learned = sim.Projection(self.inputs, self.detectors, sim.AllToAllConnector(),
                                      synapse, receptor_type="excitatory",
                                      label="inputs->detectors")
        self.learned.set(weight=weights)
        # teacher j*per + t drives detector j; their weight, w_max, is the largest in the
        # network, so the core's weight LSB (largest weight / 127 with 8 bits) is the
        # same in the training and the test network
        pairs = [(j * per + t, j) for j in range(n_detectors) for t in range(per)]
        sim.Projection(self.teachers, self.detectors, sim.FromListConnector(pairs),
                       sim.StaticSynapse(weight=c.w_max, delay=c.delay_ms),
                       receptor_type="excitatory", label="teachers->detectors")
        self.detectors.record("spikes")

    def weights(self) -> np.ndarray:
        return np.asarray(self.learned.get("weight", format="array"), dtype=float)

    def detector_spikes(self) -> list[np.ndarray]:
        trains = self.detectors.get_data("spikes").segments[-1].spiketrains
        return [np.asarray(t.rescale("ms").magnitude, dtype=float) for t in trains]


def _spikes_per_window(spikes: list[np.ndarray], starts: np.ndarray, length: float) -> np.ndarray:
    """(n_windows, n_detectors) spike counts in [start, start + length)."""
    counts = np.zeros((len(starts), len(spikes)), dtype=np.int64)
    for j, train in enumerate(spikes):
        window = np.floor((train - starts[0]) / length).astype(np.int64) if len(starts) else []
        for w in window:
            if 0 <= w < len(starts):
                counts[w, j] += 1
    return counts


@dataclass
class Training:
    """What training produced.  Weights are (n_inputs, n_detectors) arrays in nA as
    written through ``Projection.set``; a target with a weight LSB (the FPGA core)
    holds them rounded to it, and :func:`evaluate` loads them the same way."""
    weights: np.ndarray            # after the last synaptic-scaling step
    initial_weights: np.ndarray    # before training (already scaled to total_weight)
    order: np.ndarray              # (P,) the pattern presented in each training window
    spike_counts: np.ndarray       # (P, n_detectors) detector spikes per training window
    pattern_share: np.ndarray      # (P, n_detectors) fraction of each detector's weight on
                                   # its own pattern, as the target held it after window P


@dataclass
class Evaluation:
    """The frozen network's answers to the test presentations."""
    labels: np.ndarray             # (T,) trained pattern index, -1 for a lure/random pattern
    spike_counts: np.ndarray       # (T, n_detectors)

    @property
    def fired(self) -> np.ndarray:
        return self.spike_counts > 0

    @property
    def correct(self) -> np.ndarray:
        """(T,) exactly the right detector fired (none for a lure/random pattern)."""
        expected = np.zeros_like(self.fired)
        positive = self.labels >= 0
        expected[np.flatnonzero(positive), self.labels[positive]] = True
        return np.all(self.fired == expected, axis=1)

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self.labels) else float("nan")

    @property
    def hits(self) -> int:
        """Trained patterns to which their own detector fired."""
        positive = np.flatnonzero(self.labels >= 0)
        return int(self.fired[positive, self.labels[positive]].sum())

    def _unexpected(self) -> np.ndarray:
        """(T, n_detectors) a detector fired for a pattern that is not its own."""
        expected = np.zeros_like(self.fired)
        positive = self.labels >= 0
        expected[np.flatnonzero(positive), self.labels[positive]] = True
        return self.fired & ~expected

    @property
    def false_alarms(self) -> int:
        """Detectors that fired for a pattern not their own (once per detector and
        presentation): ``confusions`` + ``lure_alarms``."""
        return int(self._unexpected().sum())

    @property
    def confusions(self) -> int:
        """False alarms on trained patterns: a detector answering another's pattern."""
        return int(self._unexpected()[self.labels >= 0].sum())

    @property
    def lure_alarms(self) -> int:
        """False alarms on lures and random patterns."""
        return int(self._unexpected()[self.labels < 0].sum())


def train(config: Config, patterns: PatternSet, target: str = "reference",
          target_options: Mapping | None = None) -> Training:
    """Supervised STDP with synaptic scaling after every presentation; returns the
    learned weights.  ``target``/``target_options`` are ``neurohw.pynn.setup()``'s."""
    c, n_det = config, patterns.n_patterns
    order = np.tile(np.arange(n_det), c.training_presentations)
    starts = np.arange(len(order)) * c.presentation_ms
    onsets = starts + c.onset_ms
    input_trains = _spike_trains(patterns.trained[order], onsets, c.n_inputs)
    per = c.teachers_per_detector
    teacher_rows = np.zeros((len(order), n_det * per), dtype=bool)
    for w, p in enumerate(order):
        teacher_rows[w, p * per:(p + 1) * per] = True
    teacher_trains = _spike_trains(teacher_rows, onsets + c.teacher_lag_ms, n_det * per)
    rng = np.random.default_rng([patterns.seed, 2])
    initial = synaptic_scaling(rng.uniform(1 - c.initial_spread, 1 + c.initial_spread,
                                           (c.n_inputs, n_det)), c.total_weight, c.w_max)
    net = _Network(c, n_det, input_trains, teacher_trains, initial, True, target,
                   target_options or {})
    own = patterns.trained.T.astype(float)            # (n_inputs, n_detectors)
    share = np.zeros((len(order), n_det))
    for w in range(len(order)):
        sim.run(c.presentation_ms)
        learned = net.weights()         # as the target holds them after this presentation
        # scaling is multiplicative: it leaves these shares as they are (up to clipping
        # and, on the core, the rounding of the scaled weights to the weight LSB)
        share[w] = (learned * own).sum(axis=0) / learned.sum(axis=0)
        net.learned.set(weight=synaptic_scaling(learned, c.total_weight, c.w_max))
    counts = _spikes_per_window(net.detector_spikes(), starts, c.presentation_ms)
    weights = net.weights()
    sim.end()
    return Training(weights=weights, initial_weights=initial, order=order,
                    spike_counts=counts, pattern_share=share)


def evaluate(config: Config, patterns: PatternSet, weights: np.ndarray,
             target: str = "reference", target_options: Mapping | None = None) -> Evaluation:
    """Present the test sequence to a network with ``weights`` frozen (static synapses)."""
    c, n_det = config, patterns.n_patterns
    shown, labels = patterns.test_sequence()
    starts = np.arange(len(labels)) * c.presentation_ms
    input_trains = _spike_trains(shown, starts + c.onset_ms, c.n_inputs)
    silent = [np.zeros(0) for _ in range(n_det * c.teachers_per_detector)]
    net = _Network(c, n_det, input_trains, silent, weights, False, target, target_options or {})
    sim.run(len(labels) * c.presentation_ms)
    counts = _spikes_per_window(net.detector_spikes(), starts, c.presentation_ms)
    sim.end()
    return Evaluation(labels=labels, spike_counts=counts)


@dataclass
class Trial:
    """One pattern set, trained and tested on one target."""
    patterns: PatternSet
    training: Training
    result: Evaluation


def run_trial(config: Config, n_patterns: int, seed: int, target: str = "reference",
              target_options: Mapping | None = None) -> Trial:
    patterns = make_patterns(config, n_patterns, seed)
    training = train(config, patterns, target, target_options)
    return Trial(patterns, training, evaluate(config, patterns, training.weights, target,
                                          target_options))


def script(config: Config, n_patterns: int, seed: int) -> Callable[[], Trial]:
    """A zero-argument PyNN script (training, then testing, on the reference
    simulator) for ``neurohw.report.compare``, which runs it again on the hardware
    targets by forcing ``setup()``'s target."""
    return lambda: run_trial(config, n_patterns, seed)


# ---- sweeps ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepRow:
    target: str
    n_patterns: int
    trials: int
    presentations: int             # test presentations over all trials
    correct: int
    positives: int                 # trained-pattern presentations
    hits: int
    negatives: int                 # lure and random presentations
    confusions: int                # a detector firing for another trained pattern
    lure_alarms: int               # a detector firing for a lure or random pattern

    @property
    def false_alarms(self) -> int:
        return self.confusions + self.lure_alarms

    @property
    def accuracy(self) -> float:
        return self.correct / self.presentations


@dataclass
class Sweep:
    """Trials over pattern counts, seeds and targets."""
    config: Config
    trials: dict[tuple[str, int, int], Trial]     # (target name, n_patterns, seed)

    def rows(self) -> list[SweepRow]:
        order = self.targets()
        keys = sorted({(name, n) for name, n, _ in self.trials},
                      key=lambda k: (k[1], order.index(k[0])))
        rows = []
        for name, n in keys:
            mine = [t for (tn, tc, _), t in self.trials.items() if tn == name and tc == n]
            results = [t.result for t in mine]
            rows.append(SweepRow(
                target=name, n_patterns=n, trials=len(mine),
                presentations=sum(len(r.labels) for r in results),
                correct=sum(int(r.correct.sum()) for r in results),
                positives=sum(int((r.labels >= 0).sum()) for r in results),
                hits=sum(r.hits for r in results),
                negatives=sum(int((r.labels < 0).sum()) for r in results),
                confusions=sum(r.confusions for r in results),
                lure_alarms=sum(r.lure_alarms for r in results)))
        return rows

    def targets(self) -> list[str]:
        return list(dict.fromkeys(name for name, _, _ in self.trials))

    def accuracy(self, target: str) -> tuple[np.ndarray, np.ndarray]:
        """(pattern counts, accuracy) of one target."""
        rows = [r for r in self.rows() if r.target == target]
        return (np.array([r.n_patterns for r in rows]), np.array([r.accuracy for r in rows]))

    def disagreements(self, a: str, b: str) -> int:
        """Test presentations answered differently (any detector) by targets a and b."""
        count = 0
        for (name, n, seed), trial in self.trials.items():
            if name == a and (b, n, seed) in self.trials:
                other = self.trials[(b, n, seed)].result
                count += int(np.any(trial.result.fired != other.fired, axis=1).sum())
        return count

    def markdown(self) -> str:
        """Accuracy per pattern count (rows) and target (columns), with the counts."""
        names = self.targets()
        by_key = {(r.target, r.n_patterns): r for r in self.rows()}
        lines = ["| trained patterns | " + " | ".join(names) + " |",
                 "|---:|" + "---:|" * len(names)]
        for n in sorted({r.n_patterns for r in self.rows()}):
            cells = [f"{100 * r.accuracy:.1f} % ({r.correct} / {r.presentations})"
                     if (r := by_key.get((t, n))) else "—" for t in names]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def details_markdown(self) -> str:
        """One row per (pattern count, target): trials, presentations and the errors."""
        lines = ["| trained patterns | target | trials | test presentations | correct | "
                 "accuracy | hits / trained presentations | confusions | lure alarms |",
                 "|---:|:---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows():
            lines.append(f"| {r.n_patterns} | {r.target} | {r.trials} | {r.presentations} | "
                         f"{r.correct} | {100 * r.accuracy:.1f} % | {r.hits} / {r.positives} | "
                         f"{r.confusions} | {r.lure_alarms} |")
        return "\n".join(lines)


def sweep(config: Config, pattern_counts: Sequence[int], seeds: Sequence[int],
          targets: Mapping[str, tuple[str, Mapping | Callable[[int], Mapping]]],
          progress: bool = True) -> Sweep:
    """Run every (target, pattern count, seed).  ``targets`` maps a display name to
    ``(target, target_options)`` of ``neurohw.pynn.setup()``, e.g.
    ``{"reference": ("reference", {}), "FPGA model": ("fpga", {})}``; the options
    may also be a function of the pattern count (e.g. a core just big enough,
    :func:`core_options`).  The same seed gives every target the same patterns and
    initial weights."""
    from tqdm import tqdm
    jobs = [(name, n, seed) for n in pattern_counts for seed in seeds for name in targets]
    trials = {}
    for name, n, seed in tqdm(jobs, desc="trials", disable=not progress, mininterval=1.0):
        target, options = targets[name]
        options = options(n) if callable(options) else options
        trials[(name, n, seed)] = run_trial(config, n, seed, target, options)
    return Sweep(config, trials)
