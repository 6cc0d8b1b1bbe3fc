"""neurohw: open neuromorphic hardware co-simulation.

``import neurohw.pynn as sim`` is the user-facing entry point; see README.md.
"""
__version__ = "0.1.0"
