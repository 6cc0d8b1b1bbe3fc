"""The ``neurohw`` command line.

``neurohw report SCRIPT`` runs an unchanged PyNN script (written against
``neurohw.pynn``) on the software simulators and the hardware targets and
writes the hardware-vs-software report (HTML, JSON, terminal summary);
``neurohw demo`` does that for the bundled example.  ``neurohw run SCRIPT``
compares software simulators only, in the terminal.  ``board``, ``synth`` and
``bitstream`` drive the FPGA core; ``deploy SCRIPT --port PORT | --virtual`` runs a
script on a board over UART, or on the virtual board.
"""
from __future__ import annotations

import argparse
import re
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


_FREQUENCY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([kMG]?)(?:Hz)?\s*$",
                        re.IGNORECASE)
_PREFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}


def parse_frequency(text: str) -> float:
    """"48MHz", "48 MHz", "48M", "48e6" or "48000000" -> Hz."""
    match = _FREQUENCY.match(text)
    value = float(match.group(1)) * _PREFIX[match.group(2).lower()] if match else 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"not a clock frequency: {text!r} (e.g. 48MHz, "
                                         f"100 MHz, 24e6)")
    return value


def _report(args, script) -> int:
    from rich.console import Console

    from neurohw.report import compare

    board = "virtual" if args.virtual else args.board
    try:
        report = compare(script, sw=_parse_list(args.sw), targets=_parse_list(args.targets),
                         board=board, clock_hz=args.clock,
                         mode="realtime" if args.realtime else "fast",
                         target_options={"brian2": {"codegen_target": args.brian2_codegen}}
                         if "brian2" in _parse_list(args.sw) else None,
                         tolerance=args.tolerance, baudrate=args.baud)
    except (ValueError, OSError) as exc:     # OSError: a script or board port that is not there
        print(f"neurohw: {exc}", file=sys.stderr)
        return 2
    paths = report.write(args.out)
    # a pipe or a CI log has no width: give the tables room instead of rich's 80 columns
    console = Console() if sys.stdout.isatty() else Console(width=130)
    report.print(console)
    console.print(f"report: [bold]{paths[0]}[/] (and {paths[1].name} beside it)")
    failed = [r.name for r in report.records if r.result is None]
    return 1 if failed else 0


def _cmd_report(args) -> int:
    return _report(args, args.script)


def _cmd_demo(args) -> int:
    # the main job: the bundled example on the software simulators, the core's model and the
    # virtual board (the same RTL a board runs, Verilated behind a serial port)
    args.board, args.virtual, args.baud = None, True, None
    print(f"neurohw demo: {BUNDLED_EXAMPLE.name} on {args.sw}, the fpga model and the "
          f"virtual board")
    return _report(args, BUNDLED_EXAMPLE)


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

    def add_report_options(p, out_default):
        p.add_argument("--targets", default="fpga",
                       help="hardware targets, comma-separated (default: %(default)s)")
        p.add_argument("--clock", type=parse_frequency, default=None,
                       help="hardware clock, e.g. 48MHz (default: each target's own)")
        pacing = p.add_mutually_exclusive_group()
        pacing.add_argument("--realtime", action="store_true",
                            help="a timer ticks every dt; ticks that find the core busy drop")
        pacing.add_argument("--fast", action="store_true",
                            help="each step starts when the previous is done (default)")
        p.add_argument("--out", default=out_default,
                       help="directory for report.html and report.json (default: %(default)s)")

    report = sub.add_parser("report", help="hardware-vs-software report of a PyNN script "
                                           "(HTML, JSON, terminal)")
    report.add_argument("script", help="a PyNN script using `import neurohw.pynn as sim`")
    add_compare_options(report)
    add_report_options(report, "neurohw-report")
    device = report.add_mutually_exclusive_group()
    device.add_argument("--board", metavar="PORT", default=None,
                        help="also run on the board at this serial port")
    device.add_argument("--virtual", action="store_true",
                        help="also run on a virtual board (the Verilated RTL behind a pty)")
    report.add_argument("--baud", type=int, default=None,
                        help="the board's baud rate (default: the target's)")
    report.set_defaults(func=_cmd_report)

    demo = sub.add_parser("demo", help="the report of the bundled example (%s)"
                                       % BUNDLED_EXAMPLE.name)
    add_compare_options(demo)
    add_report_options(demo, str(Path("build") / "demo-report"))
    demo.set_defaults(func=_cmd_demo)

    from neurohw.targets.fpga.synth import add_synth_commands
    add_synth_commands(sub)      # neurohw synth / neurohw bitstream --board ...
    from neurohw.targets.fpga.virtual import add_board_command
    add_board_command(sub)       # neurohw board --virtual
    from neurohw.targets.fpga.deploy import add_deploy_command
    add_deploy_command(sub)      # neurohw deploy SCRIPT --port PORT | --virtual
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
