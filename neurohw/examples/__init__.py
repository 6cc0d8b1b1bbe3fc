"""Example networks.

* :mod:`neurohw.examples.balanced` — a small PyNN script (the ``neurohw demo`` default);
* :mod:`neurohw.examples.cuba` — the Vogels & Abbott (2005) CUBA benchmark built directly
  as an :class:`neurohw.ir.Network`, for benchmarks and simulator agreement tests.
"""
