"""Each pinned dependency imports and does one real thing in this environment.

These guard the set-up (tools/bootstrap.sh): a broken pin, a missing Lava
patch or a Verilator that is not on PATH fails here, with a clear name, before
the feature tests that rely on it.
"""
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest


def test_numpy_is_below_2_for_lava():
    assert int(np.__version__.split(".")[0]) < 2, "lava-nc 0.10.0 needs numpy < 2"


def test_numba_compiles_and_runs():
    import numba

    @numba.njit
    def leaky_sum(x, decay):
        acc = 0.0
        for v in x:
            acc = acc * decay + v
        return acc

    x = np.arange(5.0)
    expected = sum(v * 0.5 ** (4 - i) for i, v in enumerate(x))
    assert leaky_sum(x, 0.5) == pytest.approx(expected)


def test_lava_fixed_point_lif_runs_on_python_311():
    """Lava's bit-accurate (fixed_pt) LIF model: with du=dv=0 the voltage
    integrates the bias, v[t] = t * bias_mant, until it reaches vth << 6
    (Loihi's threshold mantissa scaling), then resets to 0."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi1SimCfg
    from lava.proc.lif.process import LIF

    lif = LIF(shape=(2,), du=0, dv=0, bias_mant=np.array([3, 70]), bias_exp=0, vth=1)
    try:
        lif.run(condition=RunSteps(num_steps=5), run_cfg=Loihi1SimCfg(select_tag="fixed_pt"))
        v = lif.v.get()
    finally:
        lif.stop()
    assert v[0] == 5 * 3            # 15 < 1 << 6: never fired
    assert v[1] == 0                # 70 >= 64: fires and resets every step


def test_brian2_runs_a_neuron():
    import brian2 as b2

    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    group = b2.NeuronGroup(1, "dv/dt = (1 - v) / (10*ms) : 1", method="exact")
    net = b2.Network(group)
    net.run(10 * b2.ms)
    assert group.v[0] == pytest.approx(1 - np.exp(-1), rel=1e-9)


def test_pynn_and_neo_record_a_spike_source():
    import neo
    import pyNN.mock as mock

    mock.setup(timestep=0.1)
    src = mock.Population(2, mock.SpikeSourceArray(spike_times=[1.0, 5.0]))
    src.record("spikes")
    mock.run(10.0)
    block = src.get_data()
    mock.end()
    assert isinstance(block, neo.Block)
    assert len(block.segments[0].spiketrains) == 2


def test_neo_writes_and_reads_a_block(tmp_path):
    import neo
    import quantities as pq

    block = neo.Block()
    seg = neo.Segment()
    seg.spiketrains.append(neo.SpikeTrain([1.0, 2.5] * pq.ms, t_stop=10 * pq.ms))
    block.segments.append(seg)
    path = tmp_path / "b.pkl"
    neo.io.PickleIO(str(path)).write_block(block)
    back = neo.io.PickleIO(str(path)).read_block()
    np.testing.assert_array_equal(back.segments[0].spiketrains[0].magnitude, [1.0, 2.5])


def test_nir_graph_round_trips_through_hdf5(tmp_path):
    import nir

    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([2])),
               "w": nir.Linear(weight=np.array([[1.0, -2.0]])),
               "out": nir.Output(output_type=np.array([1]))},
        edges=[("in", "w"), ("w", "out")])
    nir.write(tmp_path / "g.nir", graph)
    back = nir.read(tmp_path / "g.nir")
    np.testing.assert_array_equal(back.nodes["w"].weight, [[1.0, -2.0]])


def test_pyserial_talks_over_a_real_pseudo_terminal():
    import serial

    controller, peripheral = os.openpty()
    port = serial.Serial(os.ttyname(peripheral), baudrate=115200, timeout=1)
    try:
        port.write(b"\x7e\x01neurohw")
        port.flush()
        assert os.read(controller, 64) == b"\x7e\x01neurohw"
        os.write(controller, b"ack")
        assert port.read(3) == b"ack"
    finally:
        port.close()
        os.close(controller)
        os.close(peripheral)


def test_verilator_is_on_path_and_lints(tmp_path):
    exe = shutil.which("verilator")
    assert exe, "verilator not on PATH (tools/bootstrap.sh links it into .venv/bin)"
    clean = tmp_path / "clean.v"
    clean.write_text("module clean (input wire a_i, output wire b_o);\n"
                     "  assign b_o = ~a_i;\nendmodule\n")
    width_bug = tmp_path / "width_bug.v"
    width_bug.write_text("module width_bug (input wire [7:0] a_i, output wire [3:0] b_o);\n"
                         "  assign b_o = a_i;\nendmodule\n")
    ok = subprocess.run([exe, "--lint-only", "-Wall", str(clean)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([exe, "--lint-only", "-Wall", str(width_bug)],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "WIDTH" in bad.stderr


def test_cocotb_drives_a_verilated_module(tmp_path):
    """cocotb's Python runner builds a tiny counter with Verilator and a
    cocotb test checks it counts: the whole RTL verification stack, end to end."""
    from cocotb_tools.runner import get_runner

    (tmp_path / "counter.v").write_text(textwrap.dedent("""\
        module counter (input wire clk_i, input wire rst_i, output reg [7:0] count_o);
          always @(posedge clk_i) count_o <= rst_i ? 8'd0 : count_o + 8'd1;
        endmodule
        """))
    (tmp_path / "counter_test.py").write_text(textwrap.dedent("""\
        import cocotb
        from cocotb.clock import Clock
        from cocotb.triggers import RisingEdge, ReadOnly

        @cocotb.test()
        async def counts(dut):
            cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
            dut.rst_i.value = 1
            await RisingEdge(dut.clk_i)
            dut.rst_i.value = 0
            for _ in range(5):
                await RisingEdge(dut.clk_i)
            await ReadOnly()
            assert int(dut.count_o.value) == 5
        """))
    runner = get_runner("verilator")
    runner.build(sources=[tmp_path / "counter.v"], hdl_toplevel="counter",
                 build_dir=tmp_path / "build", build_args=["-j", "1"])
    sys.path.insert(0, str(tmp_path))
    try:
        results = runner.test(hdl_toplevel="counter", test_module="counter_test",
                              build_dir=tmp_path / "build", test_dir=tmp_path)
    finally:
        sys.path.remove(str(tmp_path))
    from cocotb_tools.runner import get_results
    tests, failures = get_results(results)
    assert (tests, failures) == (1, 0)
