"""The CUBA benchmark network of Vogels & Abbott (2005), as an :class:`neurohw.ir.Network`.

Vogels T.P. & Abbott L.F. (2005) "Signal propagation and logic gating in
networks of integrate-and-fire neurons", J Neurosci 25:10786; used as
benchmark 2 ("CUBA") in Brette et al. (2007) J Comput Neurosci 23:349.  The
parameters, initial state and stimulation below are those of PyNN's
``examples/VAbenchmarks.py`` (PyNN 0.13.0) run with ``benchmark=CUBA``:

* 4000 IF_curr_exp cells, 80 % excitatory / 20 % inhibitory (r_ei = 4);
* a 20000 um^2 membrane with cm = 1 uF/cm^2 and g_leak = 5e-5 S/cm^2,
  i.e. cm = 0.2 nF and tau_m = 20 ms; tau_syn_E = 5 ms, tau_syn_I = 10 ms;
* E_leak (v_rest) = -49 mV above v_thresh = -50 mV, v_reset = -60 mV,
  5 ms refractory period with v clamped at v_reset;
* the only stimulation of the CUBA variant: v_rest above threshold, and
  initial membrane potentials drawn uniformly from [v_reset, v_thresh];
* weights derived from the COBA conductances at v_mean = -60 mV:
  w_exc = 0.27 nS * (0 - (-60)) mV = 0.0162 nA,
  w_inh = 4.5 nS * (-80 - (-60)) mV = -0.09 nA; all delays 0.2 ms;
* fixed-probability (2 %) connectivity e->e, e->i, i->e, i->i.

One deliberate difference: autapses are excluded by default (PyNN's
FixedProbabilityConnector allows self-connections unless told otherwise);
``allow_autapses=True`` restores PyNN's behaviour.

The synapse arrays are drawn with numpy alone (no per-neuron Python loop), so
the 4000-neuron network with ~320 000 synapses builds in well under a second.
"""
from __future__ import annotations

import numpy as np

from neurohw import ir

__all__ = ["build_network", "CELL_PARAMETERS", "W_EXC", "W_INH", "DELAY"]

# Derived exactly as in VAbenchmarks.py (see the module docstring).
_AREA_CM2 = 20000e-8
_CM_NF = 1.0 * _AREA_CM2 * 1000.0           # uF/cm^2 * cm^2 -> nF
_V_MEAN = -60.0                              # mV, where CUBA weights mimic COBA
W_EXC = 1e-3 * 0.27 * (0.0 - _V_MEAN)        # nA
W_INH = 1e-3 * 4.5 * (-80.0 - _V_MEAN)       # nA (negative: current-based inhibition)
DELAY = 0.2                                  # ms

CELL_PARAMETERS = {
    "cm": _CM_NF, "tau_m": 20.0, "tau_refrac": 5.0,
    "tau_syn_E": 5.0, "tau_syn_I": 10.0,
    "v_rest": -49.0, "v_reset": -60.0, "v_thresh": -50.0, "i_offset": 0.0,
}


def fixed_probability_pairs(n_pre: int, n_post: int, p: float, rng: np.random.Generator,
                            allow_autapses: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each (pre, post) pair connected independently with probability ``p``.

    Sampled as a Bernoulli process over the ``n_pre * n_post`` pairs in
    pre-major order: the gaps between successes are geometric(p), so the cost
    is linear in the number of synapses, not in the number of pairs.  Pairs
    with ``pre == post`` are dropped afterwards when autapses are not allowed,
    which leaves every other pair's probability at exactly ``p``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"connection probability must be in [0, 1], got {p}")
    n_pairs = n_pre * n_post
    if p == 0.0 or n_pairs == 0:
        positions = np.zeros(0, dtype=np.int64)
    elif p == 1.0:
        positions = np.arange(n_pairs, dtype=np.int64)
    else:
        expected = n_pairs * p
        chunk = int(expected + 6.0 * np.sqrt(expected) + 16)
        ends = [np.cumsum(rng.geometric(p, size=chunk))]
        while ends[-1][-1] < n_pairs:  # rare: the first chunk fell short of the end
            ends.append(ends[-1][-1] + np.cumsum(rng.geometric(p, size=chunk)))
        positions = np.concatenate(ends) - 1
        positions = positions[positions < n_pairs]
    pre, post = np.divmod(positions, n_post)
    if not allow_autapses:
        keep = pre != post
        pre, post = pre[keep], post[keep]
    return pre.astype(np.int64), post.astype(np.int64)


def build_network(n: int = 4000, connectivity: float = 0.02, duration: float = 1000.0,
                  dt: float = 0.1, seed: int = 98765, allow_autapses: bool = False,
                  record_v: tuple[int, ...] = (0, 1)) -> ir.Network:
    """The CUBA network: populations "excitatory" and "inhibitory", projections
    "e2e", "e2i", "i2e", "i2i".

    All spikes are recorded; ``v`` of the excitatory neurons ``record_v``
    (neurons 0 and 1, as in VAbenchmarks.py) every step.  ``seed`` (PyNN's
    example uses 98765) fixes the initial potentials and the connectivity.
    """
    if n < 2:
        raise ValueError(f"CUBA needs at least 2 neurons, got n={n}")
    n_exc = int(round(n * 4.0 / 5.0))
    n_inh = n - n_exc
    rng = np.random.default_rng(seed)
    v_low, v_high = CELL_PARAMETERS["v_reset"], CELL_PARAMETERS["v_thresh"]

    def population(label: str, size: int, record: dict) -> ir.Population:
        return ir.Population(label, "IF_curr_exp", size, params=CELL_PARAMETERS,
                             initial={"v": rng.uniform(v_low, v_high, size)},
                             record=record, record_interval=dt)

    exc = population("excitatory", n_exc,
                     {"spikes": np.arange(n_exc), "v": [i for i in record_v if i < n_exc]})
    inh = population("inhibitory", n_inh, {"spikes": np.arange(n_inh)})

    projections = []
    for label, pre, post, weight, receptor in (
            ("e2e", exc, exc, W_EXC, "excitatory"),
            ("e2i", exc, inh, W_EXC, "excitatory"),
            ("i2e", inh, exc, W_INH, "inhibitory"),
            ("i2i", inh, inh, W_INH, "inhibitory")):
        pre_idx, post_idx = fixed_probability_pairs(
            pre.size, post.size, connectivity, rng,
            allow_autapses=allow_autapses or pre is not post)
        projections.append(ir.Projection(label, pre.label, post.label, receptor,
                                         pre_idx, post_idx, weight, DELAY))
    return ir.Network(dt=dt, populations=(exc, inh), projections=tuple(projections),
                      min_delay=DELAY, max_delay=1.0, duration=duration, seed=seed,
                      metadata={"model": "CUBA (Vogels & Abbott 2005), PyNN VAbenchmarks.py",
                                "connectivity": connectivity,
                                "allow_autapses": allow_autapses})
