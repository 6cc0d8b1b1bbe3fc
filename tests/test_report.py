"""The hardware-vs-software report on real runs (reference, Brian2 with numpy code
generation, the FPGA core's model) of small networks, and on hand-built device runs
where no device exists yet."""
import dataclasses
import json
import re

import jsonschema
import numpy as np
import pytest
from rich.console import Console

import neurohw.report as report_api
from neurohw.report import DEVICE, MODEL, SCHEMA_PATH, RunRecord, compare, report_from_runs
from neurohw.report.metrics import firing_rate, match_spikes
from neurohw.report.runs import plan
from neurohw.results import HardwareRun, HostMeasurement, SpikeTrains
from neurohw.targets import estimates
from neurohw.targets.fpga import reporting as fpga_reporting
from neurohw.targets.fpga.protocol import ESCAPE, FLAG, Command, frame_body

DURATION = 200.0


def small_network(duration=DURATION, runs=(DURATION,), cell="IF_curr_exp", seed=3):
    """8 frozen inputs -> 16 excitatory (STDP) <-> 4 inhibitory; records spikes."""
    import neurohw.pynn as sim

    sim.setup(timestep=0.1, min_delay=0.1)
    rng = np.random.default_rng(seed)
    trains = [np.unique(np.round(np.sort(rng.uniform(1.0, duration, 8)), 1)) for _ in range(8)]
    inputs = sim.Population(8, sim.SpikeSourceArray(spike_times=trains), label="input")
    params = dict(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-65.0, v_reset=-65.0,
                  v_thresh=-55.0, tau_refrac=2.0, cm=0.5)
    celltype = getattr(sim, cell)
    exc = sim.Population(16, celltype(**params), label="exc")
    inh = sim.Population(4, celltype(**params), label="inh")
    connect = sim.NumpyRNG(seed=seed)
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.01, A_minus=0.012),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=2.0),
        weight=1.6, delay=1.0)
    sim.Projection(inputs, exc, sim.FixedProbabilityConnector(0.5, rng=connect), stdp,
                   receptor_type="excitatory", label="input->exc")
    sim.Projection(exc, inh, sim.FixedProbabilityConnector(0.5, rng=connect),
                   sim.StaticSynapse(weight=0.8, delay=1.0), receptor_type="excitatory",
                   label="exc->inh")
    weight = -1.0 if cell == "IF_curr_exp" else 0.02
    sim.Projection(inh, exc, sim.FixedProbabilityConnector(0.5, rng=connect),
                   sim.StaticSynapse(weight=weight, delay=1.0), receptor_type="inhibitory",
                   label="inh->exc")
    exc.record("spikes")
    inh.record("spikes")
    for stretch in runs:
        sim.run(stretch)
    return exc, inh


def small_script():
    small_network()


@pytest.fixture(scope="module")
def schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validate(schema, document):
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document),
                    key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:10])


@pytest.fixture(scope="module")
def full_report():
    return compare(small_script, sw=("reference", "brian2"), targets=("fpga",), progress=False)


def record(report, name):
    return next(r for r in report.records if r.name == name)


def run_doc(document, name):
    return next(r for r in document["runs"] if r["name"] == name)


# ---- a real report ---------------------------------------------------------------------
def test_the_document_follows_the_schema(full_report, schema):
    doc = full_report.to_dict()
    validate(schema, doc)
    assert (doc["schema_name"], doc["schema_version"]) == ("neurohw.report",
                                                           report_api.SCHEMA_VERSION)
    assert [r["name"] for r in doc["runs"]] == ["reference", "brian2", "fpga"]
    assert [r["kind"] for r in doc["runs"]] == ["software", "software", "model"]
    assert doc["settings"]["baseline"] == "reference"
    assert doc["settings"]["tolerance_ms"] == pytest.approx(0.1)


def test_fidelity_is_what_the_metrics_give_on_the_runs(full_report):
    doc = full_report.to_dict()
    ref = record(full_report, "reference").result
    assert sum(len(t) for t in ref.spikes.values()) > 20, "the network must fire to be a test"
    for name in ("brian2", "fpga"):
        comparison = next(c for c in doc["comparisons"] if c["run"] == name)
        assert comparison["software_baseline"] == (name == "brian2")
        test = record(full_report, name).result
        for label in ("exc", "inh"):
            m = match_spikes(ref.spikes[label], test.spikes[label], 0.1)
            entry = comparison["populations"][label]
            assert (entry["n_reference"], entry["n_test"], entry["n_matched"]) == (
                m.n_reference, m.n_test, m.n_matched)
            assert entry["recall"] == pytest.approx(m.recall)
            size = 16 if label == "exc" else 4
            assert entry["rate_hz"]["test"] == pytest.approx(
                firing_rate(test.spikes[label], size, DURATION))
            assert sum(entry["time_error_histogram"]["counts"]) == m.n_matched
        weights = comparison["weights"]["input->exc"]
        diff = test.weights["input->exc"] - ref.weights["input->exc"]
        assert weights["rms"] == pytest.approx(np.sqrt(np.mean(diff ** 2)))
        assert weights["max_abs_rel"] == pytest.approx(np.abs(diff).max() / 2.0)
    # two correct simulators on frozen input: (nearly) the same spikes
    sw = next(c for c in doc["comparisons"] if c["run"] == "brian2")
    assert sw["total"]["recall"] > 0.95 and sw["total"]["precision"] > 0.95


def test_hardware_sections_come_from_the_hardware_run(full_report):
    doc = full_report.to_dict()
    hw = record(full_report, "fpga").hardware
    section = run_doc(doc, "fpga")["hardware"]
    t = section["timing"]
    assert t["step_cycles"]["max"] == hw.step_cycles.max()
    assert t["total_cycles"] == hw.total_cycles
    assert t["overrun_steps"] == hw.overruns
    assert t["real_time_factor"] == pytest.approx(hw.real_time_factor)
    assert t["deadline_ns"] == pytest.approx(0.1e6)
    assert t["worst_steps"][0]["cycles"] == hw.step_cycles.max()
    assert sum(t["histogram"]["counts"]) == hw.n_steps
    assert max(t["series_ns"]["max"]) == pytest.approx(hw.step_ns.max())
    assert set(section["quantization"]) == set(hw.quantization)
    q = hw.quantization["input->exc"]["weight"]
    assert section["quantization"]["input->exc"]["weight"]["max_abs"] == pytest.approx(q.max_abs)
    assert section["config"]["weight_width"] == hw.config["weight_width"]
    assert section["energy"]["status"] == "not published"
    assert "DS1056" in section["energy"]["note"]
    assert section["host"] is None
    link = section["link"]
    est = full_report.analysis.estimates["fpga"].link
    assert link["closed_loop"]["bytes_to_device"]["mean"] == pytest.approx(
        est.bytes_to_device.mean())
    assert link["closed_loop"]["wire_ns"]["mean"] == pytest.approx(
        ((est.bytes_to_device + est.bytes_from_device) * 10 / 115200 * 1e9).mean())
    assert link["reply_wait_ms"] == 16.0
    assert run_doc(doc, "reference")["hardware"] is None
    assert doc["device_vs_model"] == []


def test_written_page_and_json(full_report, tmp_path, schema):
    html_path, json_path = full_report.write(tmp_path / "out")
    assert (html_path.name, json_path.name) == ("report.html", "report.json")
    validate(schema, json.loads(json_path.read_text()))
    page = html_path.read_text()
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == len(full_report.figures) >= 6
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page
    for heading in ("Summary", "Fidelity per population", "Time on the hardware",
                    "Input-to-output latency over the host link", "Energy", "Quantization"):
        assert f"<h2>{heading}</h2>" in page
    fragment = full_report._repr_html_()
    assert fragment.startswith("<style>") and 'class="neurohw-report"' in fragment


def test_terminal_summary(full_report):
    console = Console(record=True, width=160)
    full_report.print(console)
    text = console.export_text()
    for word in ("reference", "brian2", "fpga", "exc", "inh", "baseline", "not published",
                 "closed loop"):
        assert word in text


# ---- timing modes --------------------------------------------------------------------
def test_realtime_mode_at_a_slow_clock_overruns_and_drops_ticks(schema):
    slow = compare(small_script, sw=("reference",), targets=("fpga",), clock_hz=1e6,
                   mode="realtime", progress=False)
    fast = compare(small_script, sw=("reference",), targets=("fpga",), clock_hz=1e6,
                   progress=False)
    validate(schema, slow.to_dict())
    hw_slow, hw_fast = record(slow, "fpga").hardware, record(fast, "fpga").hardware
    t = run_doc(slow.to_dict(), "fpga")["hardware"]["timing"]
    assert hw_slow.config["mode"] == "realtime" and hw_slow.clock_hz == 1e6
    assert t["overrun_steps"] == hw_slow.overruns > 0
    assert t["dropped_ticks"] == hw_slow.dropped_ticks > 0
    assert t["elapsed_ns"] > t["compute_ns"]
    assert run_doc(fast.to_dict(), "fpga")["hardware"]["timing"]["dropped_ticks"] == 0
    # pacing changes the timing, never the spikes
    for label in ("exc", "inh"):
        np.testing.assert_array_equal(hw_slow.spikes[label].times, hw_fast.spikes[label].times)
    assert slow.to_dict()["settings"]["mode"] == "realtime"


# ---- arguments --------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(sw=()), "at least one software simulator"),
    (dict(sw=("reference", "nest")), "unknown software simulator(s) nest"),
    (dict(targets=("loihi",)), "unknown hardware target(s) loihi; available: fpga"),
    (dict(targets=("reference",)), "unknown hardware target(s) reference"),
    (dict(sw=("reference", "reference")), "reference given twice"),
    (dict(mode="stepped"), "mode must be one of fast, realtime, got 'stepped'"),
    (dict(clock_hz=-5.0), "clock_hz must be a finite number > 0 Hz, got -5.0"),
    (dict(target_options={"fpga": {"weight_bits": 9}}), "unknown option(s) 'weight_bits'"),
    (dict(target_options={"spinnaker": {}}), "target_options for spinnaker"),
    (dict(baudrate=9600), "baudrate is the board's"),
    (dict(targets=(), board="virtual"), "give targets= (available: fpga)"),
])
def test_bad_arguments_are_refused_before_anything_runs(kwargs, message):
    with pytest.raises(ValueError) as info:
        compare(small_script, progress=False, **kwargs)
    assert message in str(info.value)


def tiny_network():
    """Fits the default virtual board (16 neurons, 8 inputs, delays up to 3 steps)."""
    import neurohw.pynn as sim

    sim.setup(timestep=0.1, min_delay=0.1)
    rng = np.random.default_rng(5)
    trains = [np.unique(np.round(np.sort(rng.uniform(1.0, 50.0, 6)), 1)) for _ in range(4)]
    inputs = sim.Population(4, sim.SpikeSourceArray(spike_times=trains), label="input")
    cells = sim.Population(8, sim.IF_curr_exp(cm=0.5, v_thresh=-58.0, tau_refrac=1.0),
                           label="cells")
    sim.Projection(inputs, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=1.5, delay=0.2), label="in->cells")
    cells.record("spikes")
    sim.run(50.0)


def test_a_report_on_a_board_plans_its_device_run(schema):
    from neurohw.targets.fpga.device import DeviceError
    from neurohw.targets.fpga.virtual import DEFAULT_SHAPE, VirtualBoard
    # a board that is not there fails the plan, naming the port, before anything runs
    with pytest.raises(DeviceError, match=r"/dev/ttyUSB7: cannot open"):
        plan(sw=("reference",), targets=("fpga",), board="/dev/ttyUSB7")
    with VirtualBoard(DEFAULT_SHAPE) as served:     # a board on a serial device path
        port = served.port
        runs = plan(sw=("reference",), targets=("fpga",), board=port, baudrate=9600)
    model, device = runs[-2:]
    assert (device.name, device.kind) == (f"fpga@{port}", DEVICE)
    assert device.options["port"] == port and device.options["baudrate"] == 9600
    # the model run is of the board's core, at its clock (from IDENTIFY)
    assert model.kind == MODEL and model.options["n_neurons"] == DEFAULT_SHAPE.n_neurons
    assert model.options["clock_hz"] == served.clock_hz
    # the virtual board for real: the device run must be the model run, spike for
    # spike and cycle for cycle, with the host's measurements beside it
    shape = dataclasses.asdict(DEFAULT_SHAPE)
    rep = compare(tiny_network, sw=("reference",), targets=("fpga",), board="virtual",
                  target_options={"fpga": shape}, progress=False)
    doc = rep.to_dict()
    validate(schema, doc)
    assert [r["name"] for r in doc["runs"]] == ["reference", "fpga", "fpga@virtual"]
    assert all(r["ok"] for r in doc["runs"]), doc["notes"]
    (d,) = doc["device_vs_model"]
    assert d["virtual"] and d["spikes_equal"] and d["step_cycles_equal"], d
    host = run_doc(doc, "fpga@virtual")["hardware"]["host"]
    assert host["virtual"] and host["bytes_to_board"] > 0 and host["run_s"] > 0
    assert all(host["model_agreement"].values())


def test_a_missing_script_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.py"):
        compare(tmp_path / "nope.py", progress=False)


# ---- scripts that run more than once, fail, or ask from inside ----------------------------
def test_consecutive_runs_of_a_script_are_joined():
    once = compare(small_script, sw=("reference",), targets=("fpga",), progress=False)
    twice = compare(lambda: small_network(runs=(80.0, 120.0)), sw=("reference",),
                    targets=("fpga",), progress=False)
    a, b = record(once, "fpga").hardware, record(twice, "fpga").hardware
    assert b.n_steps == a.n_steps == 2000 and (b.t_start, b.t_stop) == (0.0, DURATION)
    np.testing.assert_array_equal(a.step_cycles, b.step_cycles)
    for label in ("exc", "inh"):
        np.testing.assert_array_equal(a.spikes[label].index, b.spikes[label].index)
        np.testing.assert_allclose(a.spikes[label].times, b.spikes[label].times)


def test_a_run_that_fails_is_shown_with_its_error(schema):
    rep = compare(lambda: small_network(cell="IF_cond_exp"), sw=("reference",),
                  targets=("fpga",), progress=False)
    doc = rep.to_dict()
    validate(schema, doc)
    fpga = run_doc(doc, "fpga")
    assert not fpga["ok"] and fpga["hardware"] is None
    assert "IF_curr_exp" in fpga["error"] and "IF_cond_exp" in fpga["error"]
    assert any("run 'fpga' failed" in n for n in doc["notes"])
    assert [c["run"] for c in doc["comparisons"]] == []
    assert "failed" in rep.html()


def test_compare_current_reports_the_network_the_script_just_ran(schema):
    import neurohw.pynn as sim

    exc, inh = small_network()
    own = exc.get_data("spikes").segments[0].spiketrains
    rep = report_api.compare_current(sw=("reference",), targets=("fpga",), progress=False)
    validate(schema, rep.to_dict())
    baseline = record(rep, "reference").result
    assert baseline.t_stop == pytest.approx(DURATION)
    # the baseline rerun through the runner is the script's own run, spike for spike
    for i, train in enumerate(own):
        np.testing.assert_allclose(baseline.spikes["exc"].of(i), np.asarray(train.magnitude))
    assert record(rep, "fpga").hardware.n_steps == 2000
    assert rep.to_dict()["script"] is None
    sim.end()


def test_compare_current_needs_a_run():
    import neurohw.pynn as sim
    sim.setup()
    with pytest.raises(RuntimeError, match="no simulation has run yet"):
        report_api.compare_current(progress=False)


# ---- device runs (built by hand until the device path lands) -------------------------------
def device_record(model: RunRecord, *, drop_spike=False, bump_step=None, virtual=True):
    hw = model.hardware
    spikes = dict(hw.spikes)
    if drop_spike:
        exc = spikes["exc"]
        spikes["exc"] = SpikeTrains(exc.index[1:], exc.times[1:])
    cycles = hw.step_cycles.copy()
    if bump_step is not None:
        cycles[bump_step] += 3
    host = HostMeasurement(
        port="/dev/pts/7" if virtual else "/dev/ttyUSB1", virtual=virtual, baudrate=115200,
        latency_timer_ms=None if virtual else 1.0, upload_s=0.8, verify_s=0.4, run_s=2.5,
        bytes_to_board=12_000, bytes_from_board=30_000, upload_payload_bytes=9_000,
        chunk_steps=[1000, 1000], chunk_wall_s=[1.2, 1.3], round_trip_s=[0.004, 0.005, 0.006],
        link={"frames_sent": 400, "retransmissions": 2, "timeouts": 1, "nacks": 1},
        board_counters={"overruns": 0, "dropped": 0}, recoveries=0, late_steps=3,
        notes=["virtual board: 16-neuron core"])
    result = dataclasses.replace(hw, spikes=spikes, step_cycles=cycles, host=host)
    return RunRecord(f"fpga@{host.port}", DEVICE, "fpga", {"port": host.port}, result,
                     model.network, 3.0)


@pytest.fixture(scope="module")
def base_records():
    rep = compare(small_script, sw=("reference",), targets=("fpga",), progress=False)
    return rep.records


def test_device_run_beside_the_model(base_records, schema):
    model = next(r for r in base_records if r.kind == MODEL)
    differing = device_record(model, drop_spike=True, bump_step=17)
    identical = device_record(model, virtual=False)
    rep = report_from_runs(base_records + [differing, identical])
    doc = rep.to_dict()
    validate(schema, doc)
    first, second = doc["device_vs_model"]
    assert (first["device"], first["model"]) == ("fpga@/dev/pts/7", "fpga")
    assert first["virtual"] and not second["virtual"]
    assert not first["spikes_equal"]
    assert first["spike_differences"]["exc"]["only_model"] == 1
    assert first["spike_differences"]["exc"]["only_device"] == 0
    assert not first["step_cycles_equal"]
    assert (first["step_cycle_mismatches"], first["first_mismatch_step"]) == (1, 17)
    assert second["spikes_equal"] and second["step_cycles_equal"]
    assert second["step_cycle_mismatches"] == 0
    # host-measured beside the model's prediction
    hw = model.hardware
    assert first["host_step_latency_s"] == pytest.approx(2.5 / 2000)
    assert first["model_step_s"] == pytest.approx(hw.step_ns.mean() * 1e-9)
    assert first["host_minus_model_step_s"] == pytest.approx(2.5 / 2000 - hw.step_ns.mean() * 1e-9)
    assert first["retransmissions"] == 2 and first["late_steps"] == 3   # the step log's
    assert first["bytes_to_board"] == 12_000
    predicted = first["predicted_closed_loop_step_s"]
    assert 0 < predicted["min"] < predicted["max"]
    host = run_doc(doc, "fpga@/dev/ttyUSB1")["hardware"]["host"]
    assert host["step_latency_s"] == pytest.approx(2.5 / 2000)
    assert host["run_bytes_per_step"] == pytest.approx(42_000 / 2000)
    assert host["chunks"] == 2
    # the measured latency timer replaces the FTDI default in the link model
    assert run_doc(doc, "fpga@/dev/ttyUSB1")["hardware"]["link"]["reply_wait_ms"] == 1.0
    page = rep.html()
    assert "<h2>Device vs model</h2>" in page and "Host measurements: fpga@/dev/pts/7" in page
    console = Console(record=True, width=160)
    rep.print(console)
    assert "DIFFER" in console.export_text()


def test_a_device_run_without_its_model_is_noted(base_records):
    model = next(r for r in base_records if r.kind == MODEL)
    software = [r for r in base_records if r.kind != MODEL]
    doc = report_from_runs(software + [device_record(model)]).to_dict()
    assert doc["device_vs_model"] == []
    assert any("has no model run of target 'fpga'" in n for n in doc["notes"])


# ---- a target the report has never heard of ----------------------------------------------
def test_a_new_target_plugs_in_through_its_hook(base_records, schema, monkeypatch):
    """A target with another name and its own energy model: the report shows it without
    knowing it (nothing in neurohw.report names a target)."""
    model = next(r for r in base_records if r.kind == MODEL)
    toy_run = dataclasses.replace(model.hardware, target="toy", clock_hz=1e9, config={})
    toy = RunRecord("toy", MODEL, "toy", {}, toy_run, model.network, 1.0)

    def toy_estimate(run: HardwareRun, network):
        spikes = sum(len(t) for t in run.spikes.values())
        return estimates.TargetEstimates(link=None, energy=estimates.EnergyEstimate(
            "estimated", source="a published table", counts={"spike": spikes, "step": run.n_steps},
            costs_j={"spike": 2e-12, "step": 1e-9}, static_power_w=0.5,
            seconds=run.compute_ns * 1e-9))

    monkeypatch.setitem(estimates.ESTIMATORS, "toy", lambda: toy_estimate)
    doc = report_from_runs([base_records[0], toy]).to_dict()
    validate(schema, doc)
    energy = run_doc(doc, "toy")["hardware"]["energy"]
    spikes = sum(len(t) for t in toy_run.spikes.values())
    expected = spikes * 2e-12 + toy_run.n_steps * 1e-9 + 0.5 * toy_run.compute_ns * 1e-9
    assert energy["status"] == "estimated"
    assert energy["joules"] == pytest.approx(expected)
    assert energy["breakdown_j"]["static"] == pytest.approx(0.5 * toy_run.compute_ns * 1e-9)
    assert run_doc(doc, "toy")["hardware"]["link"] is None
    monkeypatch.delitem(estimates.ESTIMATORS, "toy")
    plain = run_doc(report_from_runs([base_records[0], toy]).to_dict(), "toy")["hardware"]
    assert plain["energy"]["status"] == "not published" and plain["link"] is None


def test_an_energy_estimate_needs_a_cost_for_every_operation():
    with pytest.raises(ValueError, match="no published cost for operation"):
        estimates.EnergyEstimate("estimated", counts={"spike": 3}, costs_j={})
    with pytest.raises(ValueError, match="must be one of"):
        estimates.EnergyEstimate("guessed")


# ---- the FPGA link model, by hand ----------------------------------------------------------
def wire_length(cmd, seq, payload):
    """Bytes of one frame: 2 flags + the body, with an escape per FLAG/ESCAPE byte."""
    body = frame_body(cmd, seq, payload)
    return 2 + len(body) + sum(b in (FLAG, ESCAPE) for b in body)


LIF = {"cm": 1.0, "tau_m": 20.0, "tau_refrac": 0.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0,
       "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0, "i_offset": 0.0}


def lif_population(label, size, recorded):
    from neurohw import ir
    return ir.Population(label, "IF_curr_exp", size,
                         params={k: np.full(size, v) for k, v in LIF.items()},
                         initial={"v": np.full(size, -65.0)},
                         record={"spikes": np.asarray(recorded)})


def test_fpga_closed_loop_bytes_follow_the_protocol():
    """Step by step as rtl/PROTOCOL.md and Board.run_program have it, for a two-step run
    with one input spike in step 0 and two output spikes in step 1."""
    from neurohw import ir
    net = ir.Network(dt=0.1, populations=(
        ir.Population("in", "SpikeSourceArray", 1, spike_times=(np.array([0.0]),)),
        lif_population("cells", 2, [0, 1])))
    run = HardwareRun(t_start=0.0, t_stop=0.2, dt=0.1, target="fpga", clock_hz=1e6,
                      step_cycles=[100, 200], overrun=[False, False],
                      spikes={"cells": SpikeTrains([0, 1], [0.2, 0.2])})
    link = fpga_reporting.link_estimate(run, net)
    ack = lambda seq, cmd, data=b"": wire_length(Command.ACK, seq, bytes((cmd,)) + data)
    # step 0: LOAD (1 event), RUN, READ_COUNTERS, READ_OUTPUT (none), READ_OUTPUT (final)
    load = bytes.fromhex("00000000") + bytes.fromhex("0000")
    up0 = (wire_length(Command.LOAD_INPUT_SPIKES, 0, load)
           + wire_length(Command.RUN, 1, (1).to_bytes(4, "little") + bytes(4))
           + wire_length(Command.READ_COUNTERS, 2, b"")
           + wire_length(Command.READ_OUTPUT_SPIKES, 3, bytes(4) + bytes((41,)))
           + wire_length(Command.READ_OUTPUT_SPIKES, 4, bytes(4) + bytes((41,))))
    down0 = (ack(0, Command.LOAD_INPUT_SPIKES) + ack(1, Command.RUN)
             + ack(2, Command.READ_COUNTERS, bytes(64))
             + ack(3, Command.READ_OUTPUT_SPIKES, bytes(4))
             + ack(4, Command.READ_OUTPUT_SPIKES, bytes(4)))
    assert (link.bytes_to_device[0], link.bytes_from_device[0]) == (up0, down0)
    # step 1: no input; its two spikes (step 1, neurons 0 and 1) in one read
    events = (1).to_bytes(4, "little") + (0).to_bytes(2, "little") \
        + (1).to_bytes(4, "little") + (1).to_bytes(2, "little")
    down1 = (ack(5, Command.RUN) + ack(6, Command.READ_COUNTERS, bytes(64))
             + ack(7, Command.READ_OUTPUT_SPIKES, (2).to_bytes(4, "little") + events)
             + ack(8, Command.READ_OUTPUT_SPIKES, bytes(4)))
    assert link.bytes_from_device[1] == down1
    np.testing.assert_array_equal(link.replies, [5, 4])
    np.testing.assert_allclose(link.wire_ns, (link.bytes_to_device + link.bytes_from_device)
                               * 10 / 115200 * 1e9)
    np.testing.assert_allclose(link.compute_ns, [100e3, 200e3])
    np.testing.assert_allclose(link.latency_max_ns(), link.latency_min_ns + [5 * 16e6, 4 * 16e6])
    # streaming: one LOAD with the event, one READ with both spikes, and their ACKs
    assert link.streaming_bytes_to_device == (
        wire_length(Command.LOAD_INPUT_SPIKES, 0, load)
        + wire_length(Command.READ_OUTPUT_SPIKES, 1, bytes(4) + bytes((41,))))
    assert link.streaming_bytes_from_device == (
        ack(0, Command.LOAD_INPUT_SPIKES)
        + ack(1, Command.READ_OUTPUT_SPIKES, (2).to_bytes(4, "little") + events))
    assert link.notes == []


def test_fpga_link_counts_are_a_lower_bound_when_spikes_are_not_all_recorded():
    from neurohw import ir
    net = ir.Network(dt=0.1, populations=(lif_population("cells", 4, [0]),))
    run = HardwareRun(t_start=0.0, t_stop=0.1, dt=0.1, target="fpga", clock_hz=1e6,
                      step_cycles=[10], overrun=[False])
    notes = fpga_reporting.link_estimate(run, net).notes
    assert notes == ["population 'cells' records the spikes of 1 of its 4 neurons: the output "
                     "bytes are a lower bound"]


def test_after_a_reset_the_last_segment_is_compared():
    import neurohw.pynn as sim

    def two_segments():
        small_network(runs=(50.0,))
        sim.reset()
        sim.run(120.0)

    rep = compare(two_segments, sw=("reference",), targets=("fpga",), progress=False)
    for name in ("reference", "fpga"):
        r = record(rep, name)
        assert (r.result.t_start, r.result.t_stop) == (0.0, 120.0)
        assert any("2 segments" in n for n in r.notes)
        assert all(t <= 120.0 for trains in r.result.spikes.values() for t in trains.times)
    assert run_doc(rep.to_dict(), "fpga")["n_steps"] == 1200
