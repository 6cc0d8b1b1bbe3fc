"""PyNN scripts deployed through pyserial to the virtual board (``setup(target="fpga",
port=...)`` and ``neurohw deploy``): the board's spikes, cycle counts, state and weights
after STDP equal the golden model's, and bad ports, boards and networks give clear errors.

The virtual board is the board design (real UART, command front end, core) Verilated
behind a pseudo-terminal, so this is the path a real board takes, byte for byte.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import serial

sys.path.insert(0, str(Path(__file__).parent))

from test_fpga_runner import DT, random_network, spike_set  # noqa: E402

import neurohw.pynn as sim  # noqa: E402
from neurohw.targets.fpga import CapacityError, CoreShape  # noqa: E402
from neurohw.targets.fpga import device as device_module  # noqa: E402
from neurohw.targets.fpga.device import DeviceError, DeviceSession  # noqa: E402
from neurohw.targets.fpga.virtual import VirtualBoard  # noqa: E402

# one core shape for every test here: one Verilator build of the virtual board
CORE = dict(n_neurons=64, n_inputs=32, weight_width=16, delay_depth=16)
SHAPE = CoreShape(**CORE)
CLOCK_HZ = 12_000_000
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_setup():
    yield
    sim.end()


def deploy(seed, port, split=True, **options):
    """Run random network ``seed`` (STDP on the input) for 120 ms in two runs with a
    parameter change between them; (spikes, weights, v samples, captured runs)."""
    with sim.capture() as captured:
        sim.setup(timestep=DT, target="fpga", clock_hz=CLOCK_HZ, **CORE,
                  **({"port": port} if port else {}), **options)
        _, cells, feed = random_network(seed, n_inputs=16, n_cells=40, stdp=True)
        cells[0:5].record("v", sampling_interval=2.0)
        sim.run(70.0)
        if split:
            cells.set(i_offset=0.3)       # a change the board takes between runs
        sim.run(50.0)
        spikes = spike_set(cells)
        weights = np.array(feed.get("weight", format="list", with_address=False))
        v = cells.get_data("v").segments[0].analogsignals[0].magnitude.copy()
    sim.end()
    return spikes, weights, v, captured.runs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_virtual_board_gives_the_models_spikes_weights_state_and_cycles(seed):
    model_spikes, model_weights, model_v, model_runs = deploy(seed, None)
    board_spikes, board_weights, board_v, board_runs = deploy(seed, "virtual")
    assert len(model_spikes) > 50, "the network should fire"
    assert board_spikes == model_spikes
    assert np.array_equal(board_weights, model_weights)
    assert np.array_equal(board_v, model_v)
    assert len(board_runs) == 2
    for model, board in zip(model_runs, board_runs):
        m, b = model.result, board.result
        assert m.host is None and b.host is not None and b.host.virtual
        assert np.array_equal(b.step_cycles, m.step_cycles) and b.n_steps > 0
        for label, state in m.final_state.items():
            for var, values in state.items():
                assert np.array_equal(b.final_state[label][var], values), (label, var)
        assert b.host.model_agreement == {"spikes": True, "step_cycles": True, "state": True,
                                          "weights": True}
        # the run went over the wire: the board counted it and the host timed it
        assert b.host.board_counters["frames_accepted"] > 0
        assert b.host.chunk_steps.sum() == b.n_steps and b.host.run_s > 0
        # a pty is a clean wire: nothing damaged (a loaded host may still outwait the reply
        # timer now and then, which costs a harmless retransmission)
        assert b.host.link["corrupt_replies"] == 0 and b.host.link["nacks"] == 0
    first = board_runs[0].result.host
    assert first.upload_s > 0 and first.verify_s > 0 and first.round_trip_s.size > 0
    # STDP changed the weights on the board
    initial = np.array([w for w in board_runs[0].network.projection("feed").weight])
    assert not np.allclose(board_weights, initial)


@pytest.mark.parametrize("seed", [4, 5])
def test_the_sparse_virtual_board_gives_the_sparse_models_spikes_weights_and_cycles(seed):
    # neurohw_board with rtl/core_sparse.v: quantize's lists uploaded with WRITE_BUS,
    # learned weights read back by list address
    sparse = dict(architecture="sparse", synapses=2048, plastic_synapses=1024)
    model_spikes, model_weights, model_v, model_runs = deploy(seed, None, **sparse)
    board_spikes, board_weights, board_v, board_runs = deploy(seed, "virtual", **sparse)
    assert len(model_spikes) > 50, "the network should fire"
    assert board_spikes == model_spikes
    assert np.array_equal(board_weights, model_weights)
    assert np.array_equal(board_v, model_v)
    for model, board in zip(model_runs, board_runs):
        assert board.result.config["architecture"] == "sparse"
        assert np.array_equal(board.result.step_cycles, model.result.step_cycles)
        assert board.result.host.model_agreement == {"spikes": True, "step_cycles": True,
                                                     "state": True, "weights": True}
    initial = np.array([w for w in board_runs[0].network.projection("feed").weight])
    assert not np.allclose(board_weights, initial)


@pytest.mark.parametrize("seed", [6, 7])
def test_the_compact_virtual_board_gives_the_compact_models_spikes_weights_v_and_cycles(seed):
    # neurohw_board with rtl/core_compact.v (ARCHITECTURE = 1): the dense upload and read-back
    # of the pipelined core, the compact core's own clocks per step (17 per neuron, two per
    # plastic synapse), which the host predicts from the ARCHITECTURE register it reads
    compact = dict(architecture="compact")
    model_spikes, model_weights, model_v, model_runs = deploy(seed, None, **compact)
    board_spikes, board_weights, board_v, board_runs = deploy(seed, "virtual", **compact)
    _, _, _, pipelined_runs = deploy(seed, None)
    assert len(model_spikes) > 50, "the network should fire"
    assert board_spikes == model_spikes
    assert np.array_equal(board_weights, model_weights)
    assert np.array_equal(board_v, model_v)
    assert len(board_runs) == 2
    for model, board, pipelined in zip(model_runs, board_runs, pipelined_runs):
        m, b = model.result, board.result
        assert b.config["architecture"] == "compact" and b.host is not None and b.host.virtual
        assert np.array_equal(b.step_cycles, m.step_cycles) and b.n_steps > 0
        # the compact core's cycles, not the pipelined core's
        assert not np.array_equal(b.step_cycles, pipelined.result.step_cycles)
        for label, state in m.final_state.items():
            for var, values in state.items():
                assert np.array_equal(b.final_state[label][var], values), (label, var)
        assert b.host.model_agreement == {"spikes": True, "step_cycles": True, "state": True,
                                          "weights": True}
    initial = np.array([w for w in board_runs[0].network.projection("feed").weight])
    assert not np.allclose(board_weights, initial)


def test_a_network_too_big_for_the_board_names_the_resource():
    sim.setup(timestep=DT, target="fpga", port="virtual", **CORE)
    sim.Population(80, sim.IF_curr_exp(), label="too many")
    with pytest.raises(CapacityError, match=r"neurons.*64.*80"):
        sim.run(1.0)


@pytest.fixture(scope="module")
def served_board():
    """A virtual board opened by path, as a real board on /dev/ttyUSB* would be."""
    with VirtualBoard(SHAPE, clock_hz=CLOCK_HZ) as virtual:
        yield virtual


def test_a_board_on_a_port_brings_its_own_parameters(served_board):
    sim.setup(timestep=DT, target="fpga", port=served_board.port)
    cells = sim.Population(10, sim.IF_curr_exp(i_offset=2.0), label="cells")
    cells.record("spikes")
    sim.run(30.0)
    runner = sim.simulator.state.simulation
    assert runner.shape == SHAPE and runner.clock_hz == CLOCK_HZ
    assert len(spike_set(cells)) > 0
    sim.end()
    assert runner.device is None     # end() released the port


def test_a_report_on_a_board_models_that_board(served_board):
    from neurohw.report import compare

    def script():
        sim.setup(timestep=DT)
        random_network(6, n_inputs=16, n_cells=40, stdp=True)
        sim.run(30.0)
    report = compare(script, sw=("reference",), targets=("fpga",), board=served_board.port,
                     progress=False)
    model, board = (next(r for r in report.records if r.name == name)
                    for name in ("fpga", f"fpga@{served_board.port}"))
    # the model run was given the board's core and clock (IDENTIFY), so the two compare
    assert model.options["n_neurons"] == SHAPE.n_neurons
    assert model.hardware.clock_hz == board.hardware.clock_hz == CLOCK_HZ
    assert np.array_equal(model.hardware.step_cycles, board.hardware.step_cycles)
    assert all(board.hardware.host.model_agreement.values())


def test_options_that_contradict_the_board_are_refused(served_board):
    for options, words in (({"n_neurons": 256}, ["n_neurons=64", "256"]),
                           ({"clock_hz": 48e6}, ["12000000 Hz", "48000000"])):
        sim.setup(timestep=DT, target="fpga", port=served_board.port, **options)
        sim.Population(4, sim.IF_curr_exp(), label="cells")
        with pytest.raises(ValueError) as error:
            sim.run(1.0)
        for word in words:
            assert word in str(error.value)
        assert served_board.port in str(error.value)
    # the port was released after each refusal: it opens again
    serial.Serial(served_board.port, exclusive=True).close()


def test_missing_busy_and_silent_ports_are_clear_errors(served_board):
    with pytest.raises(DeviceError, match=r"/dev/ttyNOPE0.*no such device"):
        DeviceSession("/dev/ttyNOPE0")
    holder = serial.Serial(served_board.port, exclusive=True)
    try:
        with pytest.raises(DeviceError, match=rf"{served_board.port}.*busy"):
            DeviceSession(served_board.port)
    finally:
        holder.close()
    # a serial device with nothing behind it: a pty pair nobody answers on
    master, slave = os.openpty()
    try:
        started = time.monotonic()
        with pytest.raises(DeviceError, match=r"no board answers \(IDENTIFY"):
            DeviceSession(os.ttyname(slave), reply_timeout=0.05, max_retries=3)
        assert time.monotonic() - started < 30
    finally:
        os.close(master)
        os.close(slave)


def test_the_ftdi_latency_timer_is_read_set_and_reported(served_board, tmp_path, monkeypatch):
    timer = tmp_path / Path(os.path.realpath(served_board.port)).name / "latency_timer"
    timer.parent.mkdir()
    timer.write_text("16\n")
    monkeypatch.setattr(device_module, "USB_SERIAL_SYSFS", tmp_path)
    with DeviceSession(served_board.port) as session:
        assert session.latency_timer_ms == 1.0 and timer.read_text().strip() == "1"
        assert any("set from 16 ms to 1 ms" in note for note in session.notes)
    with DeviceSession(served_board.port) as session:   # already 1: read, not rewritten
        assert session.latency_timer_ms == 1.0
        assert session.notes == [f"{served_board.port}: FTDI latency timer 1 ms"]


SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import neurohw.pynn as sim
    from test_fpga_runner import random_network
    sim.setup(timestep=0.1, n_neurons=64, n_inputs=32, weight_width=16)
    random_network(4, n_inputs=16, n_cells=40, stdp=True)
    sim.run({duration})
    sim.end()
""")


def test_neurohw_deploy_runs_a_script_on_the_virtual_board(tmp_path):
    script = tmp_path / "net.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent), duration=50.0))
    done = subprocess.run([sys.executable, "-m", "neurohw.cli", "deploy", str(script),
                           "--virtual"], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "runs on the board" in done.stdout and "(virtual)" in done.stdout
    row = next(line for line in done.stdout.splitlines() if "0-50" in line)
    assert row.rstrip(" │").endswith("yes") and " 500 " in row


def test_ctrl_c_stops_the_board_and_closes_the_port(tmp_path):
    script = tmp_path / "long.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent), duration=1e6)
                      .replace("sim.run(", "import neurohw.pynn.simulator as s, threading\n"
                               "def tell():\n"
                               "    import time\n"
                               "    while s.state.simulation is None or "
                               "s.state.simulation.device is None: time.sleep(0.05)\n"
                               "    time.sleep(1.0)\n"
                               "    print('pid', s.state.simulation.device._virtual_board.pid, "
                               "flush=True)\n"
                               "threading.Thread(target=tell, daemon=True).start()\n"
                               "sim.run("))
    process = subprocess.Popen([sys.executable, "-m", "neurohw.cli", "deploy", str(script),
                                "--virtual"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=REPO)
    try:
        line = process.stdout.readline()
        assert line.startswith("pid "), (line, process.stderr.read() if process.poll() else "")
        harness = int(line.split()[1])
        assert Path(f"/proc/{harness}").exists()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "stopped (Ctrl-C)" in stderr
    # the virtual board was stopped with the session, not orphaned
    for _ in range(50):
        if not Path(f"/proc/{harness}").exists():
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{harness}").exists()


def model_run(program, n_steps, input_steps, input_channels):
    """The golden model through ``n_steps`` steps: (spike (step, neuron) pairs, cycles, model)."""
    from neurohw.targets.fpga import formats as F
    from neurohw.targets.fpga.program import load_model
    model = load_model(program)
    inject = (F.REGION_CONTROL << F.REGION_SHIFT) | F.REG_INJECT
    events, cycles, j = [], [], 0
    for k in range(n_steps):
        while j < len(input_steps) and input_steps[j] == k:
            model.write(inject, int(input_channels[j]))
            j += 1
        events += [(k, int(n)) for n in model.step()]
        cycles.append(int(model.last_cycles))
    return events, cycles, model


def noisy_session(reset_mid_run: bool, min_frames: int, bit_error_rate: float):
    """Upload, run (in two halves) and read back a random STDP network on the virtual board
    through FaultyPort until ``min_frames`` frames were sent; every result is checked against
    the golden model.  Returns (rounds, link stats, recoveries, the FaultyPort)."""
    from neurohw.targets.fpga.faults import FaultyPort
    from neurohw.targets.fpga.runner import Runner

    sim.setup(timestep=DT)
    random_network(5, n_inputs=16, n_cells=40, stdp=True)
    sim.run(100.0)
    runner = Runner(sim.simulator.state.network, **CORE)
    sim.end()
    program, n_steps = runner.program, 1000
    due = runner._input_step < n_steps
    steps, channels = runner._input_step[due], runner._input_channel[due]
    events, cycles, model = model_run(program, n_steps, steps, channels)
    plastic = [(int(s), int(n)) for s, n in zip(*np.nonzero(model.plastic))]
    assert len(events) > 50 and plastic

    faulty = []
    session = DeviceSession("virtual", shape=SHAPE, clock_hz=CLOCK_HZ, wrap_port=lambda port: (
        faulty.append(FaultyPort(port, bit_error_rate=bit_error_rate,
                                 drop_rate=bit_error_rate / 10,
                                 duplicate_rate=bit_error_rate / 10, seed=11)) or faulty[0]))
    port = faulty[0]
    started, rounds = time.monotonic(), 0
    try:
        while session.link_stats["frames_sent"] < min_frames:
            session.load(program, verify=True)
            half = n_steps // 2
            first = session.run(half, steps[steps < half], channels[steps < half])
            if reset_mid_run and rounds == 1:   # a power glitch a few frames into the run
                port.schedule_reset(100, session._virtual_board.reset_board)
            second = session.run(n_steps - half, steps[steps >= half] - half,
                                 channels[steps >= half])
            got = [(int(s - first.first_step), int(n)) for run in (first, second)
                   for s, n in zip(run.spike_steps, run.spike_neurons)]
            assert got == events
            assert first.step_cycles.tolist() + second.step_cycles.tolist() == cycles
            records = session.read_neurons(0, SHAPE.n_neurons)
            mask = (1 << 24) - 1
            assert [r[:3] for r in records] == [
                (int(model.v[n]) & mask, int(model.i_exc[n]) & mask, int(model.i_inh[n]) & mask)
                for n in range(SHAPE.n_neurons)]
            assert [r[4] for r in records] == model.post_trace.tolist()
            words = session.read_weights(plastic)
            width = SHAPE.weight_width
            assert words == [int(model.plastic[s, n]) << width | int(model.weight[s, n])
                             & ((1 << width) - 1) for s, n in plastic]
            rounds += 1
        stats, recoveries = session.link_stats, session.recoveries
    finally:
        session.close()
    print(f"\n{rounds} uploads+runs in {time.monotonic() - started:.0f} s: {stats}; "
          f"{recoveries} recoveries; line to board {port.to_board}, to host {port.to_host}; "
          f"frame payload now {session.board.frame_payload} B")
    return rounds, stats, recoveries, port


@pytest.mark.slow
def test_a_noisy_link_and_a_board_reset_mid_run_change_nothing():
    """BER 1e-3 both ways, lost and repeated bytes, and a board reset in the middle of a
    run: over more than 10,000 frames every corrupted frame is caught and sent again, none
    is applied twice or wrongly, and every result equals the golden model's."""
    _, stats, recoveries, port = noisy_session(reset_mid_run=True, min_frames=10_000,
                                               bit_error_rate=1e-3)
    assert port.resets == 1 and recoveries >= 1
    # the damage was real, and the link repaired it
    assert port.to_board.bit_flips > 1000 and port.to_host.bit_flips > 500
    assert port.to_board.dropped > 0 and port.to_board.duplicated > 0
    assert stats["retransmissions"] > 1000 and stats["corrupt_replies"] > 100


def test_a_board_reset_mid_run_is_recovered():
    """The board resets (a power glitch) in the middle of a run: the session identifies it,
    uploads and replays what it had done, and the results equal the golden model's."""
    rounds, _, recoveries, port = noisy_session(reset_mid_run=True, min_frames=600,
                                                bit_error_rate=0.0)
    assert rounds >= 2 and port.resets == 1 and recoveries >= 1
