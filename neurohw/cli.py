"""The ``neurohw`` command line.

``neurohw run SCRIPT --sw reference,brian2`` runs an unchanged PyNN script
(written against ``neurohw.pynn``) once per simulator and prints, per
population, how the runs differ.  ``neurohw demo`` does that for the bundled
example.  Later layers add ``compile``, ``deploy``, ``board``, ``synth`` and
``report`` here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]

BUNDLED_EXAMPLE = Path(__file__).parent / "examples" / "balanced.py"


def _parse_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _cmd_run(args) -> int:
    from neurohw.compare import compare_script, print_comparison

    script = Path(args.script)
    if not script.is_file():
        print(f"neurohw: no such script: {script}", file=sys.stderr)
        return 2
    from neurohw.sim import BACKENDS
    backends = _parse_list(args.sw)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        print(f"neurohw: unknown software simulator(s) {', '.join(unknown) or '(none given)'}; "
              f"choose from {', '.join(BACKENDS)}", file=sys.stderr)
        return 2
    comparison = compare_script(script, backends=backends, tolerance=args.tolerance,
                                options={"brian2": {"codegen_target": args.brian2_codegen}})
    print_comparison(comparison)
    return 0


def _cmd_demo(args) -> int:
    args.script = str(BUNDLED_EXAMPLE)
    return _cmd_run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurohw", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add_compare_options(p):
        p.add_argument("--sw", default="reference,brian2",
                       help="software simulators to run, comma-separated (default: %(default)s)")
        p.add_argument("--tolerance", type=float, default=None,
                       help="spike-matching window in ms (default: one time step)")
        # numpy needs no compiler and starts at once; cython compiles each new code
        # object (minutes the first time on a machine, cached after) and runs faster
        p.add_argument("--brian2-codegen", choices=("numpy", "cython"), default="numpy",
                       help="Brian2 code generation target (default: %(default)s)")

    run = sub.add_parser("run", help="run a PyNN script on several simulators and compare")
    run.add_argument("script", help="a PyNN script using `import neurohw.pynn as sim`")
    add_compare_options(run)
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="run the bundled example (%s)" % BUNDLED_EXAMPLE.name)
    add_compare_options(demo)
    demo.set_defaults(func=_cmd_demo)

    from neurohw.targets.fpga.synth import add_synth_commands
    add_synth_commands(sub)      # neurohw synth / neurohw bitstream --board ...
    from neurohw.targets.fpga.virtual import add_board_command
    add_board_command(sub)       # neurohw board --virtual
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
