"""Side-by-side benchmark: the Vogels-Abbott CUBA network in one process.

    .venv/bin/python tools/bench/cuba.py [--n 4000] [--duration 1000] [--skip pynn]

One explicit network (``neurohw.examples.cuba.build_network``: 4000 IF_curr_exp
cells, 2 % connectivity, 1 s) is run by

* neurohw reference, twice: the first run in this process loads the numba
  kernels (from the on-disk cache if a previous process filled it, otherwise it
  compiles them, and the report says which); the second run is warm;
* neurohw's Brian2 backend with Brian2's runtime device;
* pyNN.brian2, PyNN's own Brian2 backend, given the same explicit synapse
  arrays through ``FromListConnector`` and the same initial potentials;
* neurohw's Brian2 backend with Brian2's cpp_standalone device, last, because
  Brian2 allows one standalone build per process.

For each it prints the wall time of build + run (everything from the explicit
network to spikes in hand: code generation and compilation included) and of
the run alone (the simulation loop as the simulator times it: the reference's
``run()`` call, Brian2's own loop timer), the ratio of both to neurohw's first
run, and the mean firing rate, which should agree between simulators to within
statistics (the network is chaotic, so spike times cannot).

``--fresh-numba-cache`` points numba at an empty cache directory, so that the
first neurohw run pays the full compile; run the script twice without it to
see the cached first run.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Timing:
    name: str
    total_s: float       # from the ir.Network to spikes in hand: build + run + collect
    run_s: float         # the simulation loop alone, as the simulator times it
    n_spikes: int
    note: str = ""


def numba_cache_counts() -> tuple[int, int]:
    """(cache hits, cache misses) summed over neurohw.sim.reference's numba kernels.

    A miss is a compile; a hit is a kernel loaded from numba's on-disk cache."""
    from numba.core.dispatcher import Dispatcher
    hits = misses = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("neurohw.sim.reference") or module is None:
            continue
        for obj in vars(module).values():
            if isinstance(obj, Dispatcher) and getattr(obj, "_cache", None) is not None:
                hits += sum(obj.stats.cache_hits.values())
                misses += sum(obj.stats.cache_misses.values())
    return hits, misses


def run_neurohw(net, backend: str, label: str, **options) -> Timing:
    from neurohw.sim import get_simulation
    simulation_class = get_simulation(backend)
    before = numba_cache_counts() if backend == "reference" else (0, 0)
    t0 = time.perf_counter()
    result = simulation_class(net, seed=net.seed, **options).run(net.duration)
    total = time.perf_counter() - t0
    note = f"build {result.wall_time['build']:.2f} s"
    if backend == "reference":
        hits, misses = (a - b for a, b in zip(numba_cache_counts(), before))
        note += f"; numba: {misses} compiled, {hits} loaded from disk cache"
    return Timing(label, total, result.wall_time["run"],
                  sum(len(s) for s in result.spikes.values()), note)


def run_pynn_brian2(net) -> Timing:
    """The same network through PyNN's API on pyNN.brian2."""
    import brian2
    import numpy as np
    import pyNN.brian2 as sim

    t0 = time.perf_counter()
    sim.setup(timestep=net.dt, min_delay=net.min_delay, max_delay=net.max_delay)
    populations = {}
    for pop in net.populations:
        # homogeneous parameters as scalars, so PyNN does not build per-neuron arrays
        params = {k: float(v[0]) if np.all(v == v[0]) else v for k, v in pop.params.items()}
        populations[pop.label] = p = sim.Population(
            pop.size, getattr(sim, pop.cell_type)(**params), label=pop.label,
            initial_values={k: v for k, v in pop.initial.items() if k == "v"})
        if "spikes" in pop.record:
            p[pop.record["spikes"].tolist()].record("spikes")
    for prj in net.projections:
        connections = np.column_stack([prj.pre_idx, prj.post_idx, prj.weight, prj.delay])
        sim.Projection(populations[prj.pre], populations[prj.post],
                       sim.FromListConnector(connections, column_names=("weight", "delay")),
                       sim.StaticSynapse(), receptor_type=prj.receptor, label=prj.label)
    build = time.perf_counter() - t0
    sim.run(net.duration)
    loop = float(brian2.get_device()._last_run_time)
    n_spikes = sum(len(st) for p in populations.values()
                   for st in p.get_data("spikes").segments[0].spiketrains)
    total = time.perf_counter() - t0
    sim.end()
    return Timing("pyNN.brian2 (runtime, cython)", total, loop, n_spikes,
                  f"build {build:.2f} s")


def print_table(timings: list[Timing], n_neurons: int, duration_ms: float) -> None:
    base = timings[0]
    header = (f"{'simulator':<34} {'build+run s':>11} {'run s':>9} {'x nhw total':>11} "
              f"{'x nhw run':>9} {'rate Hz':>8}  note")
    print(header)
    print("-" * len(header))
    for t in timings:
        rate = t.n_spikes / n_neurons / (duration_ms / 1000.0)
        print(f"{t.name:<34} {t.total_s:>11.2f} {t.run_s:>9.2f} "
              f"{t.total_s / base.total_s:>11.2f} {t.run_s / base.run_s:>9.2f} "
              f"{rate:>8.2f}  {t.note}")
    print(f"(x nhw: time / time of '{base.name}'; > 1 means slower than neurohw)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--connectivity", type=float, default=0.02)
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--dt", type=float, default=0.1, help="ms")
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument("--skip", default="", help="comma-separated: brian2,pynn,standalone")
    parser.add_argument("--fresh-numba-cache", action="store_true",
                        help="compile neurohw's kernels into an empty cache directory")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))

    if args.fresh_numba_cache:
        # numba reads this when it is first imported, which has not happened yet
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="neurohw-numba-")
    from neurohw.examples.cuba import build_network

    t0 = time.perf_counter()
    net = build_network(n=args.n, connectivity=args.connectivity, duration=args.duration,
                        dt=args.dt, seed=args.seed)
    print(f"CUBA: {net.n_neurons} neurons, {net.n_synapses} synapses, {net.duration} ms, "
          f"dt {net.dt} ms (network built in {time.perf_counter() - t0:.2f} s)")

    timings = [run_neurohw(net, "reference", "neurohw reference (1st in process)"),
               run_neurohw(net, "reference", "neurohw reference (2nd, warm)")]
    if "brian2" not in skip:
        timings.append(run_neurohw(net, "brian2", "neurohw brian2 (runtime, cython)"))
    if "pynn" not in skip:
        timings.append(run_pynn_brian2(net))
    if "standalone" not in skip:
        # a fresh project directory: the C++ compile is part of what a user waits for
        timings.append(run_neurohw(net, "brian2", "neurohw brian2 (cpp_standalone)",
                                   standalone=True))
    print_table(timings, net.n_neurons, net.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
