"""Exact-integration propagators of the current-based LIF neurons.

Between spikes the subthreshold dynamics of IF_curr_exp / IF_curr_alpha are
linear with constant coefficients, so one step of length ``h`` is an exact
matrix exponential (Rotter & Diesmann 1999, Biol. Cybern. 81:381; NEST's
iaf_psc_exp and iaf_psc_alpha).  With ``u = v - v_rest``::

    exp:    I' = -I/tau_s                     u' = -u/tau_m + (I + I_const)/C
    alpha:  J' = -J/tau_s,  I' = J - I/tau_s  (J jumps by w*e/tau_s, so that the
                                               PSC peaks at w when t = tau_s)

The entries coupling the synaptic variables into ``u`` are::

    P_uI = (1/C) int_0^h e^{-(h-s)/tau_m} e^{-s/tau_s} ds   = (h/C)   e^{-h/tau_m} phi1(x)
    P_uJ = (1/C) int_0^h e^{-(h-s)/tau_m} s e^{-s/tau_s} ds = (h^2/C) e^{-h/tau_m} phi2(x)

with ``x = h (1/tau_m - 1/tau_s)``, ``phi1(x) = (e^x - 1)/x`` and
``phi2(x) = (x e^x - e^x + 1)/x^2``.  The textbook forms divide by
``tau_m - tau_s`` and are singular (and lose all precision near) tau_m == tau_s;
phi1 and phi2 are entire functions, evaluated here without cancellation, so
the singular case needs no special branch (phi1(0) = 1, phi2(0) = 1/2 give the
propagators NEST derives for it in doc/.../IAF_neurons_singularity and
libnestutil/propagator_stability.cpp).
"""
from __future__ import annotations

import numpy as np

__all__ = ["current_based_propagators"]

# Below this |x| phi2's closed form loses more than ~2e-14 to cancellation
# (relative error ~ 2*eps/|x|), so its Taylor series is used instead.
_PHI2_SERIES_BELOW = 0.1


def _phi1(x: np.ndarray) -> np.ndarray:
    """(e^x - 1)/x, accurate to rounding for all x (expm1 does not cancel)."""
    out = np.ones_like(x)
    nonzero = x != 0
    out[nonzero] = np.expm1(x[nonzero]) / x[nonzero]
    return out


def _phi2(x: np.ndarray) -> np.ndarray:
    """(x e^x - e^x + 1)/x^2 = sum_{m>=2} (m-1) x^(m-2) / m!."""
    out = np.empty_like(x)
    small = np.abs(x) < _PHI2_SERIES_BELOW
    xs = x[small]
    # 12 terms: the first omitted one is below 0.1^12 * 13/14! ~ 1e-22.
    series = np.zeros_like(xs)
    factorial = 1.0
    for m in range(2, 14):
        factorial *= m
        series += (m - 1) / factorial * xs ** (m - 2)
    out[small] = series
    xl = x[~small]
    out[~small] = (xl * np.exp(xl) - np.expm1(xl)) / (xl * xl)
    return out


def _membrane_coupling(h: float, tau_m: np.ndarray, tau_syn: np.ndarray,
                       cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P_uI, P_uJ) for one receptor, per neuron; see the module docstring."""
    x = h * (1.0 / tau_m - 1.0 / tau_syn)
    decay_m = np.exp(-h / tau_m)
    # For x >> 1 (tau_s << h) e^x overflows; there the difference form is exact
    # enough (the two exponentials differ by a factor e^x, no cancellation).
    large = x > 1.0
    p_ui = np.where(large, 0.0, h / cm * decay_m * _phi1(np.where(large, 0.0, x)))
    p_uj = np.where(large, 0.0, h * h / cm * decay_m * _phi2(np.where(large, 0.0, x)))
    if np.any(large):
        decay_s = np.exp(-h / tau_syn[large])
        dm, xl, c = decay_m[large], x[large], cm[large]
        p_ui[large] = h / c * (decay_s - dm) / xl
        p_uj[large] = h * h / c * (xl * decay_s - decay_s + dm) / (xl * xl)
    return p_ui, p_uj


def current_based_propagators(h: float, cm, tau_m, tau_syn_E, tau_syn_I) -> dict[str, np.ndarray]:
    """All per-neuron propagator entries of one step ``h`` (ms) for current-based cells.

    Returns arrays keyed ``decay_m`` (e^{-h/tau_m}), ``u_const`` (response of
    u to a constant current of 1 nA over the step, (tau_m/C)(1 - e^{-h/tau_m})),
    and per receptor ``E``/``I``: ``decay_syn_*``, ``u_from_I_*``, ``u_from_J_*``
    (alpha only) and ``I_from_J_*`` (alpha only, h e^{-h/tau_s}).
    """
    cm, tau_m = np.asarray(cm, float), np.asarray(tau_m, float)
    out = {
        "decay_m": np.exp(-h / tau_m),
        "u_const": -tau_m / cm * np.expm1(-h / tau_m),
    }
    for rec, tau_syn in (("E", np.asarray(tau_syn_E, float)), ("I", np.asarray(tau_syn_I, float))):
        p_ui, p_uj = _membrane_coupling(h, tau_m, tau_syn, cm)
        decay_s = np.exp(-h / tau_syn)
        out[f"decay_syn_{rec}"] = decay_s
        out[f"u_from_I_{rec}"] = p_ui
        out[f"u_from_J_{rec}"] = p_uj
        out[f"I_from_J_{rec}"] = h * decay_s
    return out
