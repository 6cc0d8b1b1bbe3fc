"""What a target publishes about itself for the hardware-vs-software report.

A :class:`~neurohw.results.HardwareRun` carries what the run measured (spikes,
cycles per step, overruns, quantization, the host's measurements).  Numbers
that need a target's own knowledge on top of that -- how many bytes its host
link moves per step and how long that takes, what an operation costs in energy
-- come from a small per-target hook, so that :mod:`neurohw.report` never
special-cases a target::

    ESTIMATORS["loihi"] = lambda: importlib.import_module("neurohw.targets.loihi.reporting").estimate

The loader returns ``estimate(run, network) -> TargetEstimates``.  ``run`` is
the run as the report compares it (times in PyNN time); ``network`` is the
network as built for the run, whose time 0 is ``network.metadata["t_offset"]``
ms of PyNN time (0 unless PyNN rebuilt it mid-run).  A target without a hook
gets :data:`NO_ESTIMATES`: no link model, energy "not published".

Energy costs must be published ones, cited in the hook (e.g. a Loihi hook would
take the per-operation energies of Davies et al., "Loihi: A Neuromorphic
Manycore Processor with On-Chip Learning", IEEE Micro 38(1), 2018, table 2);
where nothing defensible is published the hook says "not published" and why.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..ir import Network
from ..results import HardwareRun

__all__ = ["LinkEstimate", "EnergyEstimate", "TargetEstimates", "NO_ESTIMATES", "ESTIMATORS",
           "estimates_for"]


@dataclass
class LinkEstimate:
    """The host link, predicted for this run's traffic.

    *Closed loop* is the input-to-output path of one step: the host sends the
    step's input spikes, the device runs the step, the host reads its output
    spikes.  Per step ``k``: ``bytes_to_device[k]`` / ``bytes_from_device[k]``
    on the wire (framing included), ``wire_ns[k]`` the time those bytes take
    at ``baudrate``, ``compute_ns[k]`` the step itself, and ``replies[k]`` the
    replies the host waits for, each of which may wait up to
    ``reply_wait_ms`` in the host adapter (e.g. an FTDI latency timer).  So
    the step's input-to-output latency lies in
    ``[latency_min_ns[k], latency_max_ns(reply_wait_ms)[k]]``.

    *Streaming* is the whole run's spikes batched into as few frames as the
    protocol allows (polling excluded): the least the link must carry.
    """
    description: str                      # the exchange modelled, in words
    baudrate: float                       # bit/s on the wire
    bits_per_byte: int                    # e.g. 10 for UART 8N1
    bytes_to_device: np.ndarray           # (n_steps,) int64, bytes, closed loop
    bytes_from_device: np.ndarray         # (n_steps,) int64, bytes, closed loop
    replies: np.ndarray                   # (n_steps,) int64, replies waited for
    wire_ns: np.ndarray                   # (n_steps,) float64, ns, both directions
    compute_ns: np.ndarray                # (n_steps,) float64, ns, the step on the device
    reply_wait_ms: float                  # ms, longest wait of one reply in the adapter
    reply_wait_source: str                # where reply_wait_ms comes from
    other_reply_waits_ms: tuple[float, ...] = ()   # further settings worth showing, ms
    streaming_bytes_to_device: int = 0    # bytes, whole run
    streaming_bytes_from_device: int = 0  # bytes, whole run
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        for name, dtype in (("bytes_to_device", np.int64), ("bytes_from_device", np.int64),
                            ("replies", np.int64), ("wire_ns", np.float64),
                            ("compute_ns", np.float64)):
            setattr(self, name, np.asarray(getattr(self, name), dtype=dtype))

    @property
    def latency_min_ns(self) -> np.ndarray:
        """Per step: wire time + compute, no adapter wait (ns)."""
        return self.wire_ns + self.compute_ns

    def latency_max_ns(self, reply_wait_ms: float | None = None) -> np.ndarray:
        """Per step: the minimum plus the longest adapter wait for every reply (ns)."""
        wait = self.reply_wait_ms if reply_wait_ms is None else reply_wait_ms
        return self.latency_min_ns + self.replies * wait * 1e6

    @property
    def streaming_wire_s(self) -> float:
        """Time the streaming bytes of both directions take on the wire (s); the two
        directions are full duplex, so the busier one bounds the run."""
        busier = max(self.streaming_bytes_to_device, self.streaming_bytes_from_device)
        return busier * self.bits_per_byte / self.baudrate


@dataclass
class EnergyEstimate:
    """Energy of the run from a target's published per-operation costs, or why not.

    ``joules = sum(counts[op] * costs_j[op]) + static_power_w * seconds``;
    ``breakdown_j`` holds each term.  ``status`` is "estimated" or
    "not published" (then ``joules`` is None and ``note`` says what is missing).
    """
    status: str
    source: str = ""                      # citation of the costs
    note: str = ""
    joules: Optional[float] = None        # J
    counts: dict[str, int] = field(default_factory=dict)       # operations of the run
    costs_j: dict[str, float] = field(default_factory=dict)    # J per operation
    static_power_w: Optional[float] = None                     # W
    seconds: Optional[float] = None                            # s the static power is drawn
    breakdown_j: dict[str, float] = field(default_factory=dict)

    STATUSES = ("estimated", "not published")

    def __post_init__(self):
        if self.status not in self.STATUSES:
            raise ValueError(f"EnergyEstimate.status must be one of {self.STATUSES}, "
                             f"got {self.status!r}")
        if self.status == "estimated":
            missing = sorted(set(self.counts) - set(self.costs_j))
            if missing:
                raise ValueError(f"EnergyEstimate: no published cost for operation(s) "
                                 f"{', '.join(missing)}")
            self.breakdown_j = {op: n * self.costs_j[op] for op, n in self.counts.items()}
            if self.static_power_w is not None:
                if self.seconds is None:
                    raise ValueError("EnergyEstimate: static_power_w needs seconds")
                self.breakdown_j["static"] = self.static_power_w * self.seconds
            self.joules = float(sum(self.breakdown_j.values()))


@dataclass
class TargetEstimates:
    link: Optional[LinkEstimate]
    energy: EnergyEstimate


NO_ESTIMATES = TargetEstimates(link=None, energy=EnergyEstimate(
    "not published", note="the target publishes no estimates (neurohw.targets.estimates)"))

Estimator = Callable[[HardwareRun, Network], TargetEstimates]

ESTIMATORS: dict[str, Callable[[], Estimator]] = {
    "fpga": lambda: importlib.import_module("neurohw.targets.fpga.reporting").estimate,
}


def estimates_for(run: HardwareRun, network: Network) -> TargetEstimates:
    """The target's estimates for ``run``, or :data:`NO_ESTIMATES` if it has no hook."""
    loader = ESTIMATORS.get(run.target)
    return NO_ESTIMATES if loader is None else loader()(run, network)
