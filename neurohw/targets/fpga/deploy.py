"""``neurohw deploy SCRIPT --port PORT | --virtual``: run a PyNN script on a board.

The script is run unchanged, with its ``setup()`` forced to the fpga target on
the given port (as ``sim.setup(target="fpga", port=...)`` would); each of its
runs goes to the board, and the terminal gets, per run, what the board did and
what the host measured: spikes, step cycles, overruns and late steps, upload /
verify / run times, bytes on the wire, retransmissions and recoveries, and
whether everything equals the golden model's run.  ``--virtual`` runs it on the
virtual board (the Verilated RTL behind a pseudo-terminal).
"""
from __future__ import annotations

import contextlib
import io
import runpy
import sys
from pathlib import Path

from .device import VIRTUAL, DeviceError


def add_deploy_command(subparsers) -> None:
    parser = subparsers.add_parser("deploy", help="run a PyNN script on an FPGA board over UART "
                                                  "(or on the virtual board)")
    parser.add_argument("script", help="a PyNN script using `import neurohw.pynn as sim`")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="the board's serial port, e.g. /dev/ttyUSB1")
    where.add_argument("--virtual", action="store_true",
                       help="run on a virtual board (the Verilated RTL behind a pty)")
    parser.add_argument("--baud", type=int, default=None,
                        help="the board's baud rate (default: the bitstream's, 115200)")
    pacing = parser.add_mutually_exclusive_group()
    pacing.add_argument("--realtime", action="store_true",
                        help="the board steps once every dt (late steps are counted)")
    pacing.add_argument("--fast", action="store_true",
                        help="each step starts when the previous is done (default)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the read-back of the uploaded program")
    parser.add_argument("--quiet", action="store_true",
                        help="do not show the script's own output")
    parser.set_defaults(func=_cmd_deploy)


def _cmd_deploy(args) -> int:
    import neurohw.pynn as sim
    from neurohw.report.runs import _as_main
    from rich.console import Console

    script = Path(args.script)
    if not script.is_file():
        print(f"neurohw deploy: no such script: {script}", file=sys.stderr)
        return 2
    options = {"port": VIRTUAL if args.virtual else args.port,
               "mode": "realtime" if args.realtime else "fast", "verify": not args.no_verify}
    if args.baud is not None:
        options["baudrate"] = args.baud
    console = Console(stderr=False) if sys.stdout.isatty() else Console(width=130)
    output = io.StringIO()
    try:
        with sim.capture(target="fpga", **options) as captured, \
                (contextlib.redirect_stdout(output) if args.quiet else contextlib.nullcontext()):
            with _as_main(script):
                runpy.run_path(str(script), run_name="__main__")
    except KeyboardInterrupt:
        print("neurohw deploy: stopped (Ctrl-C): the board was sent STOP and its port closed",
              file=sys.stderr)
        return 130
    except (DeviceError, ValueError, OSError) as exc:
        print(f"neurohw deploy: {exc}", file=sys.stderr)
        return 1
    if not captured.runs:
        print(f"neurohw deploy: {script.name} ran no simulation (it never called run())",
              file=sys.stderr)
        return 1
    _summary(console, captured.runs)
    agree = all(all(r.result.host.model_agreement.values()) for r in captured.runs)
    return 0 if agree else 1


def _summary(console, runs) -> None:
    from rich.table import Table

    table = Table(title="runs on the board", title_justify="left")
    for column in ("run (ms)", "steps", "spikes", "cycles/step", "overruns", "late",
                   "upload+verify s", "run s", "host ms/step", "kB out/in", "retx", "recov",
                   "= model"):
        table.add_column(column, justify="left" if column in ("run (ms)", "= model") else "right")
    for i, captured in enumerate(runs):
        result, host = captured.result, captured.result.host
        spikes = sum(len(t) for t in result.spikes.values())
        agreement = host.model_agreement
        table.add_row(
            f"{i + 1}: {result.t_start:g}-{result.t_stop:g}", str(result.n_steps), str(spikes),
            f"{result.step_cycles.mean():.0f}" if result.n_steps else "-",
            str(result.overruns), str(host.late_steps),
            f"{host.upload_s:.2f}+{host.verify_s:.2f}", f"{host.run_s:.2f}",
            f"{host.step_latency_s * 1e3:.3f}",
            f"{host.bytes_to_board / 1e3:.1f}/{host.bytes_from_board / 1e3:.1f}",
            str(host.link.get("retransmissions", 0)), str(host.recoveries),
            "yes" if all(agreement.values()) else
            "NO: " + ", ".join(k for k, v in agreement.items() if not v))
    first = runs[0].result.host
    console.print(f"board: [bold]{first.port}[/]" + (" (virtual)" if first.virtual else "")
                  + f" at {first.baudrate} baud, clock {runs[0].result.clock_hz / 1e6:g} MHz"
                  + ("" if first.latency_timer_ms is None
                     else f", FTDI latency timer {first.latency_timer_ms:g} ms"))
    console.print(table)
    for note in dict.fromkeys(n for r in runs for n in r.result.host.notes):
        console.print(f"  note: {note}")
