"""The spatial-pattern learning experiment (neurohw.examples.pattern_learning).

Its parts are checked on their own (pattern generation, synaptic scaling, the
scoring of test presentations, the PSP gain the set point is derived from,
checked against the reference simulator), then whole trials on the reference
simulator and the FPGA core's model: one trained pattern gives an ideal
detector on both, similar patterns lower the accuracy and dissimilar ones do
not, the frozen test network holds exactly the weights training left, and the
zero-argument script runs on whatever target a capture forces.
"""
from __future__ import annotations

import numpy as np
import pytest

import neurohw.pynn as sim
from neurohw.examples import pattern_learning as pl

SEEDS = range(6)


@pytest.fixture(autouse=True)
def fresh_setup():
    yield
    sim.end()


# ---- configuration ---------------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    (dict(lure_changes=2), "lure_changes=2: a lure keeps 6 of 8 inputs"),
    (dict(similarity=1.0), "similarity must be in [0, 1)"),
    (dict(pattern_size=32), "pattern_size must be in 1..n_inputs-1 (31), got 32"),
    (dict(presentation_ms=40.0), "presentation_ms=40.0 leaves less than 3 tau_m"),
    (dict(match_fraction=0.0), "match_fraction must be in (0, 1]"),
])
def test_config_rejects_inconsistent_parameters(change, message):
    with pytest.raises(ValueError) as excinfo:
        pl.CI.replace(**change)
    assert message in str(excinfo.value)


def test_psp_gain_is_the_reference_simulators_peak():
    """A volley of weight w onto a cell at rest peaks at w * psp_peak_per_nA on the grid."""
    cfg = pl.CI
    sim.setup(timestep=cfg.dt, min_delay=cfg.dt, max_delay=cfg.delay_ms)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[[5.0]]))
    cell = sim.Population(1, sim.IF_curr_exp(**{**cfg.cell, "v_thresh": 0.0}))
    weight = 0.3
    sim.Projection(source, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weight, delay=cfg.delay_ms))
    cell.record("v")
    sim.run(100.0)
    v = cell.get_data("v").segments[0].analogsignals[0].magnitude[:, 0]
    peak = v.max() - cfg.cell["v_rest"]
    assert peak == pytest.approx(weight * pl.psp_peak_per_nA(cfg.cell, cfg.dt), rel=1e-9)


@pytest.mark.parametrize("target", ["reference", "fpga"])
def test_set_point_fires_at_match_fraction(target):
    """With the weight spread evenly over a pattern, a detector fires when at least
    match_fraction of the pattern arrives (6 of 8 inputs for 0.7) and not below."""
    cfg = pl.CI
    k = cfg.pattern_size
    needed = int(np.ceil(cfg.match_fraction * k))
    fired = {}
    for present in (needed - 1, needed, k):
        weights = np.zeros((cfg.n_inputs, 1))
        weights[:k] = cfg.total_weight / k
        shown = np.zeros((1, cfg.n_inputs), dtype=bool)
        shown[0, :present] = True
        trains = pl._spike_trains(shown, np.array([cfg.onset_ms]), cfg.n_inputs)
        silent = [np.zeros(0)] * cfg.teachers_per_detector
        net = pl._Network(cfg, 1, trains, silent, weights, False, target, {})
        sim.run(cfg.presentation_ms)
        fired[present] = len(net.detector_spikes()[0]) > 0
        sim.end()
    assert fired == {needed - 1: False, needed: True, k: True}


# ---- patterns ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("config", [pl.CI, pl.FULL, pl.CI.replace(similarity=0.0)],
                         ids=["CI", "FULL", "dissimilar"])
def test_patterns_have_the_promised_structure(config, seed):
    n, k = 5, config.pattern_size
    pats = pl.make_patterns(config, n, seed)
    assert pats.trained.shape == (n, config.n_inputs)
    assert np.all(pats.trained.sum(axis=1) == k), f"seed {seed}"
    assert len({row.tobytes() for row in pats.trained}) == n, f"seed {seed}: duplicates"
    core = np.all(pats.trained, axis=0).sum()
    assert core >= round(config.similarity * k), f"seed {seed}: shared core {core}"
    negatives = np.concatenate([pats.lures, pats.random])
    assert len(pats.lures) == n * config.lures_per_pattern
    assert len(pats.random) == config.random_patterns
    assert np.all(negatives.sum(axis=1) == k)
    shared = negatives.astype(int) @ pats.trained.T.astype(int)
    assert shared.max() <= k - config.lure_changes, f"seed {seed}"
    # each lure is lure_changes moves from the pattern it was made from
    own = shared[np.arange(len(pats.lures)), pats.lure_source]
    assert np.all(own == k - config.lure_changes), f"seed {seed}"
    shown, labels = pats.test_sequence()
    assert sorted(labels[labels >= 0]) == list(range(n))
    assert np.array_equal(shown[labels >= 0][np.argsort(labels[labels >= 0])], pats.trained)


def test_patterns_are_seeded():
    a, b, c = (pl.make_patterns(pl.CI, 3, s) for s in (7, 7, 8))
    assert np.array_equal(a.trained, b.trained) and np.array_equal(a.lures, b.lures)
    assert not np.array_equal(a.trained, c.trained)


def test_too_many_similar_patterns_is_an_error():
    # a core of 7 of 8 inputs leaves 25 distinct patterns among 32 inputs
    with pytest.raises(ValueError, match="cannot draw 30 distinct patterns of 8 inputs with "
                                         "a shared core of 7 among 32 inputs"):
        pl.make_patterns(pl.CI.replace(similarity=0.875, lure_changes=3), 30, 0)


# ---- homeostasis and scoring ------------------------------------------------------------------
def test_synaptic_scaling():
    rng = np.random.default_rng(3)
    w = rng.uniform(0, 1, (32, 4))
    scaled = pl.synaptic_scaling(w, 2.0, 1.0)
    assert np.allclose(scaled.sum(axis=0), 2.0, rtol=1e-12)
    assert np.allclose(scaled / w, scaled[0] / w[0])          # multiplicative per column
    concentrated = np.zeros((4, 1))
    concentrated[0] = 1.0
    assert pl.synaptic_scaling(concentrated, 3.0, 0.5)[0, 0] == 0.5   # clipped to w_max
    with pytest.raises(ValueError, match=r"detector\(s\) \[1\] have no input weight"):
        pl.synaptic_scaling(np.array([[1.0, 0.0]]), 1.0, 1.0)


def test_scoring_of_test_presentations():
    labels = np.array([0, 1, -1, -1, 1])
    counts = np.array([[1, 0],     # right
                       [1, 2],     # right detector and a confusion
                       [0, 0],     # lure rejected
                       [0, 3],     # lure alarm
                       [0, 0]])    # miss
    ev = pl.Evaluation(labels=labels, spike_counts=counts)
    assert ev.correct.tolist() == [True, False, True, False, False]
    assert ev.accuracy == pytest.approx(2 / 5)
    assert (ev.hits, ev.confusions, ev.lure_alarms, ev.false_alarms) == (2, 1, 1, 2)


# ---- whole trials -----------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["reference", "fpga"])
def test_one_pattern_gives_an_ideal_detector(target):
    for seed in SEEDS:
        trial = pl.run_trial(pl.CI, 1, seed, target)
        assert trial.result.accuracy == 1.0, (f"seed {seed}: {trial.result.spike_counts.T} "
                                              f"for labels {trial.result.labels}")
        # the teacher made the detector fire in training, and STDP with scaling moved
        # its weight onto the pattern: enough of it to fire for the pattern alone
        assert trial.training.spike_counts[0, 0] >= 1
        assert trial.training.pattern_share[-1, 0] > pl.CI.match_fraction, f"seed {seed}"


def test_homeostasis_holds_the_set_point():
    trial = pl.run_trial(pl.CI, 3, 0, "reference")
    assert np.allclose(trial.training.weights.sum(axis=0), pl.CI.total_weight, rtol=1e-9)
    assert np.allclose(trial.training.initial_weights.sum(axis=0), pl.CI.total_weight)
    assert trial.training.weights.max() <= pl.CI.w_max


def test_similar_patterns_lower_the_accuracy_dissimilar_ones_do_not():
    similar = pl.sweep(pl.CI, [1, 6], range(8), {"ref": ("reference", {})}, progress=False)
    _, acc = similar.accuracy("ref")
    assert acc[0] == 1.0 and acc[1] < 0.97, similar.details_markdown()
    assert all(r.confusions > 0 for r in similar.rows() if r.n_patterns == 6)
    dissimilar = pl.sweep(pl.CI.replace(similarity=0.0), [6], range(8),
                          {"ref": ("reference", {})}, progress=False)
    assert dissimilar.accuracy("ref")[1][0] == 1.0, dissimilar.details_markdown()


def test_frozen_network_holds_the_weights_training_left():
    """On the core, the test network's weight LSB is the training network's (the teachers
    carry the largest weight in both), so the learned codes carry over exactly."""
    cfg = pl.CI
    pats = pl.make_patterns(cfg, 2, 0)
    with sim.capture() as captured:
        training = pl.train(cfg, pats, "fpga")
        pl.evaluate(cfg, pats, training.weights, "fpga")
    lsbs = {run.result.config["weight_lsb_nA"] for run in captured.runs}
    assert len(lsbs) == 1, lsbs
    (lsb,) = lsbs
    codes = training.weights / lsb
    test_run = captured.runs[-1].result
    loaded = test_run.quantization["inputs->detectors"]["weight"]
    # scaled weights are rounded once, when written: the same rounding in both networks
    assert loaded.max_abs <= lsb / 2 + 1e-12
    # and what STDP learned on the core is whole codes before the scaling
    learned = np.asarray(captured.runs[-2].result.weights["inputs->detectors"]) / lsb
    assert np.allclose(learned, np.rint(learned), atol=1e-9)
    assert codes.max() <= 127 + 1e-9


def test_small_core_build_gives_the_same_trial():
    """The smallest core that holds the experiment (as for the virtual board) is
    bit-exact with the default 256-neuron build: same weights, same answers."""
    for n in (1, 3):
        big = pl.run_trial(pl.CI, n, 1, "fpga")
        small = pl.run_trial(pl.CI, n, 1, "fpga", pl.core_options(pl.CI, n))
        assert np.array_equal(big.training.weights, small.training.weights)
        assert np.array_equal(big.result.spike_counts, small.result.spike_counts)
    assert pl.core_options(pl.CI, 1) == {"n_neurons": 64, "n_inputs": 64, "delay_depth": 2}


def test_script_runs_on_the_target_a_capture_forces():
    """neurohw.report.compare runs the zero-argument script under capture(target=...)."""
    run = pl.script(pl.CI, 2, 4)
    with sim.capture(target="fpga") as captured:
        trial = run()
    assert {r.target for r in captured.runs} == {"fpga"}
    # one run() per training presentation, then the test run
    assert len(captured.runs) == 2 * pl.CI.training_presentations + 1
    direct = pl.run_trial(pl.CI, 2, 4, "fpga")
    assert np.array_equal(trial.result.spike_counts, direct.result.spike_counts)
    assert np.array_equal(trial.training.weights, direct.training.weights)


def test_sweep_rows_add_up():
    sw = pl.sweep(pl.CI, [1, 2], [0, 1], {"ref": ("reference", {}), "fpga": ("fpga", {})},
                  progress=False)
    rows = {(r.target, r.n_patterns): r for r in sw.rows()}
    assert set(rows) == {(t, n) for t in ("ref", "fpga") for n in (1, 2)}
    for (target, n), row in rows.items():
        trials = [sw.trials[(target, n, s)].result for s in (0, 1)]
        assert row.trials == 2
        assert row.presentations == sum(len(t.labels) for t in trials)
        assert row.correct == sum(int(t.correct.sum()) for t in trials)
        assert row.positives == 2 * n and row.hits <= row.positives
    table = sw.markdown()
    assert table.splitlines()[0] == "| trained patterns | ref | fpga |"
    assert table.splitlines()[2].startswith("| 1 | 100.0 % (")
    assert sw.disagreements("ref", "fpga") == sw.disagreements("fpga", "ref")
