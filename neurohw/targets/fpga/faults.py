"""Fault injection on the link to a board: bit errors, lost and repeated bytes, resets.

:func:`damage` is the one model of a noisy UART line in the tree: every bit flips
with probability ``bit_error_rate``, every byte is lost with ``drop_rate`` or
arrives twice with ``duplicate_rate``.  :class:`FaultyPort` puts it between the
host driver and a real byte stream (pyserial on a board's port or on the
virtual board's pseudo-terminal) in both directions, and can reset the board
after a given number of further bytes -- a power glitch in the middle of a run::

    session = DeviceSession("virtual", wrap_port=lambda port: FaultyPort(
        port, bit_error_rate=1e-3, seed=1))
    session.board.link.port.schedule_reset(200, virtual_board.reset_board)

The shim changes bytes, never frames: whatever goes wrong must be caught by the
protocol's CRC, sequence numbers and resynchronisation (rtl/PROTOCOL.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

__all__ = ["damage", "FaultCounts", "FaultyPort"]


@dataclass
class FaultCounts:
    """What :func:`damage` did to the bytes of one direction."""
    bytes: int = 0           # bytes that went in
    bit_flips: int = 0
    dropped: int = 0
    duplicated: int = 0

    @property
    def damaged(self) -> int:
        return self.bit_flips + self.dropped + self.duplicated


def damage(data: bytes, rng: np.random.Generator, bit_error_rate: float = 0.0,
           drop_rate: float = 0.0, duplicate_rate: float = 0.0,
           counts: Optional[FaultCounts] = None) -> bytes:
    """``data`` as a noisy line delivers it: each bit flipped with probability
    ``bit_error_rate`` (independently), each byte dropped with ``drop_rate`` or repeated
    with ``duplicate_rate``.  Adds what it did to ``counts``."""
    if not data:
        return data
    received = np.frombuffer(bytes(data), dtype=np.uint8)
    flips = rng.random((len(data), 8)) < bit_error_rate
    received = received ^ np.packbits(flips, axis=1, bitorder="little")[:, 0]
    roll = rng.random(len(data))
    dropped = roll < drop_rate
    repeated = (roll >= drop_rate) & (roll < drop_rate + duplicate_rate)
    if counts is not None:
        counts.bytes += len(data)
        counts.bit_flips += int(np.count_nonzero(flips))
        counts.dropped += int(np.count_nonzero(dropped))
        counts.duplicated += int(np.count_nonzero(repeated))
    return np.repeat(received, np.where(dropped, 0, np.where(repeated, 2, 1))).tobytes()


class FaultyPort:
    """A byte stream whose bytes are damaged both ways (:func:`damage`, seeded).

    Everything else (``baudrate``, ``in_waiting``, ``reset_input_buffer``, ``close``, ...)
    is the wrapped port's.
    """

    def __init__(self, port, *, bit_error_rate: float = 0.0, drop_rate: float = 0.0,
                 duplicate_rate: float = 0.0, seed: int = 0):
        self._port = port
        self._rng = np.random.default_rng(seed)
        self.rates = dict(bit_error_rate=bit_error_rate, drop_rate=drop_rate,
                          duplicate_rate=duplicate_rate)
        self.to_board = FaultCounts()
        self.to_host = FaultCounts()
        self.resets = 0
        self._written = 0
        self._reset_after: Optional[int] = None
        self._reset: Optional[Callable[[], object]] = None

    def schedule_reset(self, after_bytes: int, reset: Callable[[], object]) -> None:
        """Call ``reset()`` (e.g. the virtual board's
        :meth:`~neurohw.targets.fpga.virtual.VirtualBoard.reset_board`) once, after
        ``after_bytes`` more bytes have been written through the port."""
        self._reset_after = self._written + after_bytes
        self._reset = reset

    def write(self, data: bytes) -> int:
        self._port.write(damage(data, self._rng, counts=self.to_board, **self.rates))
        self._written += len(data)
        if self._reset_after is not None and self._written >= self._reset_after:
            self._reset_after = None
            self._reset()
            self.resets += 1
        return len(data)

    def read(self, size: int = 1) -> bytes:
        return damage(self._port.read(size), self._rng, counts=self.to_host, **self.rates)

    @property
    def timeout(self):
        return self._port.timeout

    @timeout.setter
    def timeout(self, value):
        self._port.timeout = value

    def __getattr__(self, name):
        return getattr(self._port, name)
