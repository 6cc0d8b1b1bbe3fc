"""The target-independent network: what a PyNN script describes, frozen and explicit.

Every layer below ``neurohw.pynn`` sees only these dataclasses.  They hold
plain numpy arrays in PyNN's units (ms, mV, nA, nF, uS; rates in Hz) and are
validated on construction, so a simulator or a target never has to guess
whether a parameter is sane: a bad value raises :class:`NetworkError` naming
the population (or projection), the parameter, the index and the value.

Sign convention for weights (PyNN's own, see ``pyNN.projections``):
excitatory weights are >= 0; inhibitory weights are <= 0 for current-based
cells and >= 0 (a conductance) for conductance-based cells.

Time convention: a network is simulated in steps of ``dt``; step ``k``
integrates from ``k*dt`` to ``(k+1)*dt``.  A spike emitted in step ``k`` is
stamped ``(k+1)*dt`` (as NEST does) and, with delay ``d``, is applied to the
target's synaptic variable at the start of the step that begins at
``t_spike + d``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

__all__ = [
    "NetworkError", "CELL_TYPES", "CellType", "Population", "STDP", "TsodyksMarkram",
    "Projection", "StepCurrent", "Network", "RECORDABLE",
]


class NetworkError(ValueError):
    """An invalid network description; the message names what is wrong and where."""


@dataclass(frozen=True)
class CellType:
    """What a cell model needs: its parameters, state variables and receptors."""
    name: str
    parameters: tuple[str, ...]
    state: tuple[str, ...]
    conductance_based: bool = False
    is_source: bool = False


_LIF_PARAMS = ("cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I",
               "v_rest", "v_reset", "v_thresh", "i_offset")
_COND_LIF_PARAMS = _LIF_PARAMS + ("e_rev_E", "e_rev_I")
# Adaptive exponential integrate-and-fire (Brette & Gerstner 2005, J Neurophysiol
# 94:3637), PyNN's EIF_cond_*_isfa_ista, as NEST's aeif_cond_exp/aeif_cond_alpha:
#   cm dv/dt = (cm/tau_m)(v_rest - v + delta_T exp((v - v_thresh)/delta_T))
#              + g_e (e_rev_E - v) + g_i (e_rev_I - v) - w + i_offset
#   tau_w dw/dt = a (v - v_rest) - w
# with v capped at the spike level in every term; a spike when v reaches v_spike
# (v_thresh if delta_T = 0), then v = v_reset, w += b.  Units are PyNN's: a in nS,
# b and w in nA.
_ADEX_PARAMS = ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest", "tau_m", "i_offset",
                "a", "b", "delta_T", "tau_w", "v_thresh", "e_rev_E", "tau_syn_E",
                "e_rev_I", "tau_syn_I")
_ADEX_STATE = ("v", "w", "gsyn_exc", "gsyn_inh")
#: NEST's bound on (v_spike - v_thresh)/delta_T: exp() of it, with a 1e20 margin for
#: what is computed from it, stays finite (aeif_cond_exp.cpp, Parameters_::set)
_MAX_EXP_ARGUMENT = float(np.log(np.finfo(np.float64).max / 1e20))

CELL_TYPES: Mapping[str, CellType] = MappingProxyType({
    "IF_curr_exp": CellType("IF_curr_exp", _LIF_PARAMS, ("v", "isyn_exc", "isyn_inh")),
    "IF_curr_alpha": CellType("IF_curr_alpha", _LIF_PARAMS, ("v", "isyn_exc", "isyn_inh")),
    "IF_cond_exp": CellType("IF_cond_exp", _COND_LIF_PARAMS,
                            ("v", "gsyn_exc", "gsyn_inh"), conductance_based=True),
    # alpha conductances peak at the weight tau_syn after the spike: w (t/tau) e^(1 - t/tau)
    "IF_cond_alpha": CellType("IF_cond_alpha", _COND_LIF_PARAMS,
                              ("v", "gsyn_exc", "gsyn_inh"), conductance_based=True),
    "EIF_cond_exp_isfa_ista": CellType("EIF_cond_exp_isfa_ista", _ADEX_PARAMS, _ADEX_STATE,
                                       conductance_based=True),
    "EIF_cond_alpha_isfa_ista": CellType("EIF_cond_alpha_isfa_ista", _ADEX_PARAMS,
                                         _ADEX_STATE, conductance_based=True),
    # spike_times live in Population.spike_times, not in params (ragged per neuron)
    "SpikeSourceArray": CellType("SpikeSourceArray", (), (), is_source=True),
    "SpikeSourcePoisson": CellType("SpikeSourcePoisson", ("rate", "start", "duration"), (),
                                   is_source=True),
})

#: variables that may be recorded, per cell type
RECORDABLE: Mapping[str, tuple[str, ...]] = MappingProxyType({
    name: ("spikes",) + ct.state for name, ct in CELL_TYPES.items()
})


def _frozen_array(a, dtype, what: str) -> np.ndarray:
    try:
        given = np.asarray(a)
        arr = np.array(given, dtype=dtype, copy=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise NetworkError(f"{what}: cannot convert to {np.dtype(dtype).name}: {exc}") from None
    # numpy truncates 1.5 to 1 when casting to an integer type; an index that is
    # not a whole number is a caller's bug, not something to round away
    if arr.dtype.kind == "i" and given.dtype.kind not in "iub":
        inexact = np.ravel(arr != given)
        if np.any(inexact):
            i = _first_bad(inexact)
            raise NetworkError(f"{what}: entry {i} is {np.ravel(given)[i]}, not an integer")
    arr.setflags(write=False)
    return arr


def _check_label(label, kind: str) -> None:
    # labels key populations and projections everywhere below (results, NIR node names)
    if not isinstance(label, str) or not label:
        raise NetworkError(f"{kind} label must be a non-empty string, got {label!r}")


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _freeze_mapping(m: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    return MappingProxyType(dict(m))


@dataclass(frozen=True, eq=False)
class Population:
    """A group of identical-model neurons with per-neuron parameter arrays.

    ``params[name]`` and ``initial[var]`` are float64 arrays of shape ``(size,)``.
    ``record[var]`` holds the sorted indices of the neurons whose ``var``
    ("spikes", "v", "isyn_exc", "gsyn_exc", ...) is recorded; variables not
    recorded are absent.  ``record_interval`` is the sampling interval of the
    analog signals in ms (a multiple of the network's ``dt``).
    ``spike_times`` is only for SpikeSourceArray: one sorted float64 array per
    neuron.
    """
    label: str
    cell_type: str
    size: int
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    initial: Mapping[str, np.ndarray] = field(default_factory=dict)
    record: Mapping[str, np.ndarray] = field(default_factory=dict)
    record_interval: float | None = None
    spike_times: tuple[np.ndarray, ...] | None = None

    def __post_init__(self):
        _check_label(self.label, "population")
        where = f"population '{self.label}'"
        if self.cell_type not in CELL_TYPES:
            raise NetworkError(f"{where}: unknown cell type '{self.cell_type}'; "
                               f"known: {', '.join(CELL_TYPES)}")
        whole_number = (isinstance(self.size, (int, float, np.number))
                        and not isinstance(self.size, (bool, np.bool_))
                        and np.isfinite(self.size) and int(self.size) == self.size)
        if not whole_number or self.size < 1:
            raise NetworkError(f"{where}: size must be a positive integer, got {self.size}")
        object.__setattr__(self, "size", int(self.size))
        ct = CELL_TYPES[self.cell_type]
        params = {}
        for name in ct.parameters:
            if name not in self.params:
                raise NetworkError(f"{where} ({self.cell_type}): parameter '{name}' missing")
            params[name] = self._per_neuron(self.params[name], f"{where}: parameter '{name}'")
        extra = set(self.params) - set(ct.parameters)
        if extra:
            raise NetworkError(f"{where} ({self.cell_type}): unknown parameter(s) "
                               f"{', '.join(sorted(extra))}")
        object.__setattr__(self, "params", _freeze_mapping(params))
        initial = {}
        for var in ct.state:
            default = params["v_rest"] if var == "v" else np.zeros(self.size)
            initial[var] = self._per_neuron(self.initial.get(var, default),
                                            f"{where}: initial value of '{var}'")
        extra = set(self.initial) - set(ct.state)
        if extra:
            raise NetworkError(f"{where} ({self.cell_type}): unknown state variable(s) "
                               f"{', '.join(sorted(extra))}")
        object.__setattr__(self, "initial", _freeze_mapping(initial))
        record = {}
        for var, idx in self.record.items():
            if var not in RECORDABLE[self.cell_type]:
                raise NetworkError(f"{where} ({self.cell_type}): cannot record '{var}'; "
                                   f"recordable: {', '.join(RECORDABLE[self.cell_type])}")
            idx = np.unique(_frozen_array(idx, np.int64, f"{where}: record['{var}']"))
            if idx.size and (idx[0] < 0 or idx[-1] >= self.size):
                bad = idx[0] if idx[0] < 0 else idx[-1]
                raise NetworkError(f"{where}: record['{var}'] index {bad} out of range "
                                   f"0..{self.size - 1}")
            idx.setflags(write=False)
            record[var] = idx
        object.__setattr__(self, "record", _freeze_mapping(record))
        if self.record_interval is not None and not (self.record_interval > 0
                                                     and np.isfinite(self.record_interval)):
            raise NetworkError(f"{where}: record_interval must be finite and > 0 ms, "
                               f"got {self.record_interval}")
        if self.cell_type == "SpikeSourceArray":
            self._check_spike_times(where)
        elif self.spike_times is not None:
            raise NetworkError(f"{where}: spike_times given for a {self.cell_type}")
        self._check_values(where)

    def _per_neuron(self, value, what: str) -> np.ndarray:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise NetworkError(f"{what}: cannot convert to float64: {exc}") from None
        if arr.ndim == 0:
            arr = np.full(self.size, float(arr))
        if arr.shape != (self.size,):
            raise NetworkError(f"{what}: expected {self.size} values, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            i = _first_bad(~np.isfinite(arr))
            raise NetworkError(f"{what}: neuron {i} has non-finite value {arr[i]}")
        return _frozen_array(arr, np.float64, what)

    def _check_spike_times(self, where: str) -> None:
        trains = self.spike_times if self.spike_times is not None else ()
        if len(trains) != self.size:
            raise NetworkError(f"{where}: SpikeSourceArray needs one spike train per neuron "
                               f"({self.size}), got {len(trains)}")
        frozen = []
        for i, train in enumerate(trains):
            t = _frozen_array(np.ravel(train), np.float64, f"{where}: spike_times[{i}]")
            if t.size and (not np.all(np.isfinite(t)) or t.min() < 0):
                raise NetworkError(f"{where}: spike_times[{i}] must be finite and >= 0 ms, "
                                   f"got {t[~np.isfinite(t) | (t < 0)][0]}")
            backwards = np.diff(t) < 0
            if np.any(backwards):
                j = _first_bad(backwards) + 1
                raise NetworkError(f"{where}: spike_times[{i}] must be sorted; entry {j} "
                                   f"({t[j]} ms) comes before entry {j - 1} ({t[j - 1]} ms)")
            frozen.append(t)
        object.__setattr__(self, "spike_times", tuple(frozen))

    def _check_values(self, where: str) -> None:
        p = self.params
        positive = [k for k in ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_w") if k in p]
        for k in positive:
            if np.any(p[k] <= 0):
                i = _first_bad(p[k] <= 0)
                raise NetworkError(f"{where}: parameter '{k}' must be > 0, "
                                   f"neuron {i} has {p[k][i]}")
        for k in ("tau_refrac", "rate", "start", "duration", "delta_T"):
            if k in p and np.any(p[k] < 0):
                i = _first_bad(p[k] < 0)
                raise NetworkError(f"{where}: parameter '{k}' must be >= 0, "
                                   f"neuron {i} has {p[k][i]}")
        if "v_spike" in p:
            self._check_adex_levels(where)
        elif "v_thresh" in p:
            bad = p["v_thresh"] <= p["v_reset"]
            if np.any(bad):
                i = _first_bad(bad)
                raise NetworkError(f"{where}: parameter 'v_thresh' must be above 'v_reset', "
                                   f"neuron {i} has v_thresh={p['v_thresh'][i]} mV <= "
                                   f"v_reset={p['v_reset'][i]} mV")

    def _check_adex_levels(self, where: str) -> None:
        """NEST's checks on the AdEx spike levels (aeif_cond_exp.cpp, Parameters_::set)."""
        p = self.params
        bad = p["v_spike"] < p["v_thresh"]
        if np.any(bad):
            i = _first_bad(bad)
            raise NetworkError(f"{where}: parameter 'v_spike' must be >= 'v_thresh', neuron {i} "
                               f"has v_spike={p['v_spike'][i]} mV < "
                               f"v_thresh={p['v_thresh'][i]} mV")
        exponential = p["delta_T"] > 0
        exponent = np.where(exponential, p["v_spike"] - p["v_thresh"], 0.0) / np.where(
            exponential, p["delta_T"], 1.0)
        bad = exponent >= _MAX_EXP_ARGUMENT
        if np.any(bad):
            i = _first_bad(bad)
            raise NetworkError(f"{where}: (v_spike - v_thresh)/delta_T of neuron {i} is "
                               f"{exponent[i]:g}, so exp() of it overflows at the spike "
                               f"(limit {_MAX_EXP_ARGUMENT:.1f}); raise 'delta_T' or lower "
                               f"'v_spike'")
        # without the exponential term (delta_T = 0) the spike is detected at v_thresh
        spike_level = np.where(exponential, p["v_spike"], p["v_thresh"])
        bad = spike_level <= p["v_reset"]
        if np.any(bad):
            i = _first_bad(bad)
            name = "v_spike" if exponential[i] else "v_thresh (delta_T = 0)"
            raise NetworkError(f"{where}: spike level {name} must be above 'v_reset', neuron "
                               f"{i} has {spike_level[i]} mV <= v_reset={p['v_reset'][i]} mV")

    @property
    def celltype(self) -> CellType:
        return CELL_TYPES[self.cell_type]


@dataclass(frozen=True)
class STDP:
    """Pair-based STDP (PyNN's SpikePairRule) with all-to-all trace interaction.

    Traces: ``x_pre`` (time constant tau_plus) jumps by 1 at each presynaptic
    spike arriving at the synapse, ``y_post`` (tau_minus) by 1 at each
    postsynaptic spike.  Weight updates, with the trace read *before* its own
    jump (so a pre and a post spike at the same instant do not pair):
      post spike (potentiation): additive       dw = +A_plus  * w_max * x_pre
                                 multiplicative dw = +A_plus  * (w_max - w) * x_pre
      pre spike  (depression):   additive       dw = -A_minus * w_max * y_post
                                 multiplicative dw = -A_minus * (w - w_min) * y_post
    then w is clipped to [w_min, w_max].  A_plus/A_minus are dimensionless
    (relative to w_max for the additive rule), as in NEST's stdp_synapse that
    pyNN.nest maps these types onto (lambda = A_plus, alpha = A_minus/A_plus,
    mu = 0 additive, mu = 1 multiplicative).  ``dendritic_delay_fraction`` is
    PyNN's: the share of the synaptic delay that is dendritic (0 or 1); spike
    timing is measured at the synapse.  For inhibitory current-based synapses
    (negative weights) the rule acts on |w| and bounds [|w_min|, |w_max|].
    """
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    A_plus: float = 0.01
    A_minus: float = 0.01
    w_min: float = 0.0
    w_max: float = 1.0
    weight_dependence: str = "additive"
    dendritic_delay_fraction: float = 1.0

    def __post_init__(self):
        for k in ("tau_plus", "tau_minus"):
            if not getattr(self, k) > 0:
                raise NetworkError(f"STDP: '{k}' must be > 0 ms, got {getattr(self, k)}")
        for k in ("A_plus", "A_minus"):
            if not getattr(self, k) >= 0:
                raise NetworkError(f"STDP: '{k}' must be >= 0, got {getattr(self, k)}")
        for k in ("w_min", "w_max"):
            if not np.isfinite(getattr(self, k)):
                raise NetworkError(f"STDP: '{k}' must be finite, got {getattr(self, k)}")
        if not self.w_max >= self.w_min:
            raise NetworkError(f"STDP: 'w_max' ({self.w_max}) must be >= 'w_min' ({self.w_min})")
        if self.weight_dependence not in ("additive", "multiplicative"):
            raise NetworkError(f"STDP: weight_dependence must be 'additive' or "
                               f"'multiplicative', got '{self.weight_dependence}'")
        if self.dendritic_delay_fraction not in (0.0, 1.0):
            raise NetworkError(f"STDP: dendritic_delay_fraction must be 0 or 1, "
                               f"got {self.dendritic_delay_fraction}")


@dataclass(frozen=True, eq=False)
class TsodyksMarkram:
    """Short-term depression and facilitation (PyNN's TsodyksMarkramSynapse), per synapse.

    ``U`` (use), ``tau_rec`` (recovery, ms) and ``tau_facil`` (facilitation, ms;
    0 = none) are float64 arrays with one entry per synapse of the projection.
    Each synapse carries a use ``u`` and available resources ``x``, starting
    fully recovered (u = U, x = 1).  At each presynaptic spike arriving at the
    synapse (the spike time plus the delay), ``h`` after its previous one:
      u <- U + (u - U) exp(-h/tau_facil)   (u <- U when tau_facil = 0)
      x <- 1 + (x - 1) exp(-h/tau_rec)
      transmitted: weight * u * x
      x <- x (1 - u);  u <- u + U (1 - u)
    The transmitted u*x obeys the recursion of NEST's tsodyks2_synapse::send
    (Fuhrmann et al. 2002, J Neurophysiol 87:140, Eqs. 4-5):
    u_{n+1} = U + u_n (1 - U) e^{-h/tau_facil}, x_{n+1} = 1 + (x_n (1 - u_n) - 1)
    e^{-h/tau_rec}, except that NEST counts the first spike's interval from t = 0
    where here the first spike sees a fully recovered synapse.  pyNN.nest maps
    TsodyksMarkramSynapse to NEST's tsodyks_synapse, the same model with a
    third (inactive) resource pool of time constant tau_psc; pyNN.brian2 writes
    it with that pool too (x = 1 - y - z).  With tau_psc << tau_rec both reduce
    to this one (Tsodyks, Uziel & Markram 2000, J Neurosci 20:RC50).
    """
    U: np.ndarray
    tau_rec: np.ndarray
    tau_facil: np.ndarray

    def __post_init__(self):
        for name in ("U", "tau_rec", "tau_facil"):
            object.__setattr__(self, name, _frozen_array(
                np.ravel(getattr(self, name)), np.float64, f"TsodyksMarkram: {name}"))

    def check(self, where: str, n_synapses: int) -> None:
        """Raise NetworkError naming ``where``, the parameter and the synapse if invalid."""
        rules = (("U", lambda a: (a > 0) & (a <= 1), "0 < U <= 1"),
                 ("tau_rec", lambda a: a > 0, "> 0 ms"),
                 ("tau_facil", lambda a: a >= 0, ">= 0 ms"))
        for name, valid, wanted in rules:
            arr = getattr(self, name)
            if arr.shape != (n_synapses,):
                raise NetworkError(f"{where}: Tsodyks-Markram '{name}' has {arr.size} entries, "
                                   f"expected {n_synapses} (one per synapse)")
            bad = ~(valid(arr) & np.isfinite(arr))
            if np.any(bad):
                i = _first_bad(bad)
                raise NetworkError(f"{where}: Tsodyks-Markram '{name}' must be finite and "
                                   f"{wanted}; synapse {i} has {arr[i]}")


@dataclass(frozen=True, eq=False)
class Projection:
    """Explicit synapses from ``pre`` to ``post`` (population labels).

    ``pre_idx``/``post_idx`` are int64, ``weight`` (nA or uS) and ``delay`` (ms)
    float64, all of one length: one entry per synapse, in connection order.
    """
    label: str
    pre: str
    post: str
    receptor: str
    pre_idx: np.ndarray
    post_idx: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    plasticity: STDP | None = None
    short_term: TsodyksMarkram | None = None

    def __post_init__(self):
        _check_label(self.label, "projection")
        where = f"projection '{self.label}' ({self.pre} -> {self.post})"
        if self.receptor not in ("excitatory", "inhibitory"):
            raise NetworkError(f"{where}: receptor must be 'excitatory' or 'inhibitory', "
                               f"got '{self.receptor}'")
        n = np.size(self.pre_idx)
        for name, dtype in (("pre_idx", np.int64), ("post_idx", np.int64),
                            ("weight", np.float64), ("delay", np.float64)):
            arr = _frozen_array(np.ravel(getattr(self, name)), dtype, f"{where}: {name}")
            if np.ndim(getattr(self, name)) == 0 and name in ("weight", "delay"):
                arr = _frozen_array(np.full(n, arr[0]), dtype, f"{where}: {name}")
            if arr.shape != (n,):
                raise NetworkError(f"{where}: '{name}' has {arr.size} entries, expected {n}")
            if dtype is np.float64 and not np.all(np.isfinite(arr)):
                i = _first_bad(~np.isfinite(arr))
                raise NetworkError(f"{where}: {name} of synapse {i} is {arr[i]}")
            object.__setattr__(self, name, arr)
        if self.short_term is not None:
            if not isinstance(self.short_term, TsodyksMarkram):
                raise NetworkError(f"{where}: short_term must be a TsodyksMarkram, "
                                   f"got {type(self.short_term).__name__}")
            if self.plasticity is not None:
                # PyNN has no standard synapse type combining the two, and the order of
                # a weight update and a depleting release at one spike would be ours to invent
                raise NetworkError(f"{where}: has both STDP and Tsodyks-Markram short-term "
                                   f"plasticity; a synapse may have one or the other")
            self.short_term.check(where, n)

    @property
    def size(self) -> int:
        return int(self.pre_idx.size)


@dataclass(frozen=True, eq=False)
class StepCurrent:
    """A piecewise-constant current (nA) injected into ``indices`` of ``population``.

    ``amplitudes[j]`` holds from ``times[j]`` until ``times[j+1]``; before
    ``times[0]`` the current is 0.  PyNN's DCSource(amplitude, start, stop) is
    ``times=[start, stop], amplitudes=[amplitude, 0]``.
    """
    label: str
    population: str
    indices: np.ndarray
    times: np.ndarray
    amplitudes: np.ndarray

    def __post_init__(self):
        where = f"current source '{self.label}' -> population '{self.population}'"
        object.__setattr__(self, "indices",
                           _frozen_array(np.ravel(self.indices), np.int64, f"{where}: indices"))
        t = _frozen_array(np.ravel(self.times), np.float64, f"{where}: times")
        a = _frozen_array(np.ravel(self.amplitudes), np.float64, f"{where}: amplitudes")
        if t.shape != a.shape:
            raise NetworkError(f"{where}: {t.size} times but {a.size} amplitudes")
        bad_time = ~np.isfinite(t) | (t < 0)
        if np.any(bad_time):
            j = _first_bad(bad_time)
            raise NetworkError(f"{where}: times must be finite and >= 0 ms; "
                               f"entry {j} is {t[j]}")
        backwards = np.diff(t) < 0
        if np.any(backwards):
            j = _first_bad(backwards) + 1
            raise NetworkError(f"{where}: times must be non-decreasing; entry {j} "
                               f"({t[j]} ms) comes before entry {j - 1} ({t[j - 1]} ms)")
        if not np.all(np.isfinite(a)):
            j = _first_bad(~np.isfinite(a))
            raise NetworkError(f"{where}: amplitudes must be finite; entry {j} is {a[j]}")
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "amplitudes", a)


@dataclass(frozen=True, eq=False)
class Network:
    """A whole network, validated as a unit (references, delays, weight signs)."""
    dt: float
    populations: tuple[Population, ...]
    projections: tuple[Projection, ...] = ()
    currents: tuple[StepCurrent, ...] = ()
    min_delay: float | None = None
    max_delay: float | None = None
    duration: float = 0.0
    seed: int | None = None
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        if not (self.dt > 0 and np.isfinite(self.dt)):
            raise NetworkError(f"network: dt must be finite and > 0 ms, got {self.dt}")
        for name, kind in (("populations", Population), ("projections", Projection),
                           ("currents", StepCurrent)):
            items = tuple(getattr(self, name))
            for i, item in enumerate(items):
                if not isinstance(item, kind):
                    raise NetworkError(f"network: {name}[{i}] is a {type(item).__name__}, "
                                       f"not a {kind.__name__}")
            object.__setattr__(self, name, items)
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        if self.min_delay is None:
            object.__setattr__(self, "min_delay", self.dt)
        self._check_delay_bounds()
        if not (self.duration >= 0 and np.isfinite(self.duration)):
            raise NetworkError(f"network: duration must be finite and >= 0 ms, "
                               f"got {self.duration}")
        if self.seed is not None:
            if (isinstance(self.seed, (bool, np.bool_))
                    or not isinstance(self.seed, (int, np.integer)) or self.seed < 0):
                raise NetworkError(f"network: seed must be None or an integer >= 0, "
                                   f"got {self.seed!r}")
            object.__setattr__(self, "seed", int(self.seed))
        if not self.populations:
            raise NetworkError("network: no populations")
        pops: dict[str, Population] = {}
        for p in self.populations:
            if p.label in pops:
                raise NetworkError(f"network: two populations are labelled '{p.label}'")
            pops[p.label] = p
            if p.record_interval is not None:
                steps = p.record_interval / self.dt
                if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
                    raise NetworkError(f"population '{p.label}': record_interval "
                                       f"{p.record_interval} ms is not a multiple of "
                                       f"dt={self.dt} ms")
        labels = set()
        for prj in self.projections:
            self._check_projection(prj, pops)
            if prj.label in labels:
                raise NetworkError(f"network: two projections are labelled '{prj.label}'")
            labels.add(prj.label)
        for cs in self.currents:
            where = f"current source '{cs.label}'"
            if cs.population not in pops:
                raise NetworkError(f"{where}: unknown population '{cs.population}'")
            target = pops[cs.population]
            if target.celltype.is_source:
                raise NetworkError(f"{where}: cannot inject current into spike source "
                                   f"population '{cs.population}'")
            outside = (cs.indices < 0) | (cs.indices >= target.size)
            if np.any(outside):
                j = _first_bad(outside)
                raise NetworkError(f"{where}: indices[{j}] = {cs.indices[j]} is outside "
                                   f"population '{cs.population}' (size {target.size})")

    def _check_delay_bounds(self) -> None:
        eps = 1e-9 * self.dt
        if not (np.isfinite(self.min_delay) and self.min_delay >= self.dt - eps):
            raise NetworkError(f"network: min_delay must be finite and >= dt={self.dt} ms, "
                               f"got {self.min_delay}")
        if self.max_delay is not None and not (np.isfinite(self.max_delay)
                                               and self.max_delay >= self.min_delay - eps):
            raise NetworkError(f"network: max_delay must be finite and >= min_delay="
                               f"{self.min_delay} ms, got {self.max_delay}")

    def _check_projection(self, prj: Projection, pops: Mapping[str, Population]) -> None:
        where = f"projection '{prj.label}' ({prj.pre} -> {prj.post})"
        for side in ("pre", "post"):
            if getattr(prj, side) not in pops:
                raise NetworkError(f"{where}: unknown {side}synaptic population "
                                   f"'{getattr(prj, side)}'")
        pre, post = pops[prj.pre], pops[prj.post]
        if post.celltype.is_source:
            raise NetworkError(f"{where}: postsynaptic population '{post.label}' is a "
                               f"spike source ({post.cell_type}) and cannot receive synapses")
        for side, idx, pop in (("pre", prj.pre_idx, pre), ("post", prj.post_idx, post)):
            if idx.size and (idx.min() < 0 or idx.max() >= pop.size):
                bad = idx < 0 if idx.min() < 0 else idx >= pop.size
                i = _first_bad(bad)
                raise NetworkError(f"{where}: synapse {i} has {side}_idx={idx[i]}, outside "
                                   f"population '{pop.label}' (size {pop.size})")
        eps = 1e-9 * self.dt
        low = prj.delay < self.dt - eps
        if np.any(low):
            i = _first_bad(low)
            raise NetworkError(f"{where}: synapse {i} has delay {prj.delay[i]} ms, below "
                               f"dt={self.dt} ms")
        if self.max_delay is not None:
            high = prj.delay > self.max_delay + eps
            if np.any(high):
                i = _first_bad(high)
                raise NetworkError(f"{where}: synapse {i} has delay {prj.delay[i]} ms, above "
                                   f"max_delay={self.max_delay} ms")
        w = prj.weight
        negative_ok = prj.receptor == "inhibitory" and not post.celltype.conductance_based
        bad = w > 0 if negative_ok else w < 0
        if np.any(bad):
            i = _first_bad(bad)
            kind = ("current-based inhibitory" if negative_ok else
                    "conductance-based" if post.celltype.conductance_based else "excitatory")
            sign = "<= 0" if negative_ok else ">= 0"
            raise NetworkError(f"{where}: weights of {kind} synapses must be {sign}; "
                               f"synapse {i} (pre {prj.pre_idx[i]} -> post {prj.post_idx[i]}) "
                               f"has weight {w[i]}")
        if prj.plasticity is not None:
            self._check_stdp_bounds(prj, where, negative_ok)

    @staticmethod
    def _check_stdp_bounds(prj: Projection, where: str, negative_weights: bool) -> None:
        stdp = prj.plasticity
        if negative_weights:
            # the rule acts on |w|; bounds of either sign name the same magnitudes,
            # but bounds straddling 0 would let |w| and w disagree about which is which
            if stdp.w_min < 0 < stdp.w_max:
                raise NetworkError(f"{where}: STDP bounds [{stdp.w_min}, {stdp.w_max}] "
                                   f"straddle 0; for current-based inhibitory synapses give "
                                   f"both bounds with one sign (the rule acts on |w|)")
            lo, hi = sorted((abs(stdp.w_min), abs(stdp.w_max)))
            value = np.abs(prj.weight)
        else:
            # clipping to a negative w_min would flip the sign the receptor requires
            if stdp.w_min < 0:
                raise NetworkError(f"{where}: STDP 'w_min' is {stdp.w_min}, but the weights "
                                   f"of these synapses must stay >= 0")
            lo, hi = stdp.w_min, stdp.w_max
            value = prj.weight
        out = (value < lo - 1e-12) | (value > hi + 1e-12)
        if np.any(out):
            i = _first_bad(out)
            raise NetworkError(f"{where}: plastic synapse {i} has weight {prj.weight[i]}, "
                               f"outside STDP bounds [{stdp.w_min}, {stdp.w_max}]")

    # ---- convenience -------------------------------------------------------------
    def population(self, label: str) -> Population:
        for p in self.populations:
            if p.label == label:
                return p
        raise KeyError(f"no population labelled '{label}'; have: "
                       f"{', '.join(p.label for p in self.populations)}")

    def projection(self, label: str) -> Projection:
        for p in self.projections:
            if p.label == label:
                return p
        raise KeyError(f"no projection labelled '{label}'")

    @property
    def n_steps(self) -> int:
        return int(round(self.duration / self.dt))

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    @property
    def n_synapses(self) -> int:
        return sum(p.size for p in self.projections)
