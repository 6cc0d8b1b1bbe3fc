"""neurohw.nir_io: NIR export/import, exact round trips (also through HDF5 files),
the documented node mapping, and graphs written by other tools."""
import numpy as np
import nir
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurohw import io, ir, nir_io
from test_io import SETTINGS, assert_identical_networks, networks

LIF = {"cm": 0.2, "tau_m": 20.0, "tau_refrac": 5.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0,
       "v_rest": -49.0, "v_reset": -60.0, "v_thresh": -50.0, "i_offset": 0.0}


def feed_forward(tau_syn_I=10.0, delays=(1.0, 1.0, 1.0)):
    """stim (3 sources) -> cells (2 IF_curr_exp), one excitatory and one inhibitory projection."""
    stim = ir.Population("stim", "SpikeSourceArray", 3, spike_times=[[1.0], [2.0, 3.0], []],
                         record={"spikes": [0, 1, 2]})
    cells = ir.Population("cells", "IF_curr_exp", 2, params=dict(LIF, tau_syn_I=tau_syn_I),
                          record={"spikes": [0, 1], "v": [1]}, record_interval=0.1)
    exc = ir.Projection("exc", "stim", "cells", "excitatory", [0, 1, 1, 2], [0, 0, 0, 1],
                        [0.1, 0.2, 0.3, 0.4], [delays[0], delays[1], delays[1], delays[2]],
                        plasticity=ir.STDP(w_max=0.5))
    inh = ir.Projection("inh", "stim", "cells", "inhibitory", [2], [0], [-0.5], 1.0)
    return ir.Network(dt=0.1, populations=[stim, cells], projections=[exc, inh],
                      max_delay=5.0, duration=50.0, seed=1,
                      metadata={"fpga": {"weight_bits": 8, "scale": np.float32(1 / 64)}})


# ---- exact round trips ---------------------------------------------------------------

@SETTINGS
@given(net=networks())
def test_round_trip_in_memory_is_exact(net):
    assert_identical_networks(net, nir_io.from_nir(nir_io.to_nir(net)))


@SETTINGS
@given(net=networks())
def test_round_trip_through_nir_file_is_exact(tmp_path_factory, net):
    path = tmp_path_factory.mktemp("nir") / "net.nir"
    nir.write(path, nir_io.to_nir(net))
    # recurrent graphs without Input nodes defeat NIR's type inference; see nir_io
    assert_identical_networks(net, nir_io.from_nir(nir.read(path, type_check=False)))


def test_feed_forward_graph_reads_with_nir_type_checking(tmp_path):
    net = feed_forward()
    nir.write(tmp_path / "ff.nir", nir_io.to_nir(net))
    graph = nir.read(tmp_path / "ff.nir")          # type_check=True, NIR's default
    assert_identical_networks(net, nir_io.from_nir(graph))


def test_cuba_network_round_trips_through_file(tmp_path):
    from neurohw.examples.cuba import build_network
    net = build_network(n=200, duration=100.0, seed=5)
    nir.write(tmp_path / "cuba.nir", nir_io.to_nir(net))
    assert_identical_networks(net, nir_io.from_nir(nir.read(tmp_path / "cuba.nir",
                                                            type_check=False)))


# ---- the documented node mapping -----------------------------------------------------

def test_equal_synaptic_time_constants_give_cuba_lif():
    graph = nir_io.to_nir(feed_forward(tau_syn_I=5.0))
    cells = graph.nodes["cells"]
    assert isinstance(cells, nir.CubaLIF)
    np.testing.assert_array_equal(cells.tau_syn, [5.0, 5.0])
    np.testing.assert_array_equal(cells.tau_mem, [20.0, 20.0])
    np.testing.assert_allclose(cells.r, [100.0, 100.0])             # tau_m / cm, MOhm
    np.testing.assert_array_equal(cells.v_leak, [-49.0, -49.0])
    np.testing.assert_array_equal(cells.v_threshold, [-50.0, -50.0])
    np.testing.assert_array_equal(cells.v_reset, [-60.0, -60.0])
    # a spike of weight w makes I jump by w_in * w / tau_syn, which must be w (PyNN)
    np.testing.assert_array_equal(cells.w_in / cells.tau_syn, [1.0, 1.0])
    assert ("exc.weight", "cells") in graph.edges and ("inh.weight", "cells") in graph.edges
    assert isinstance(graph.nodes["stim"], nir.Input)
    assert graph.metadata["units"]["current"] == "nA"


def test_different_synaptic_time_constants_give_lif_with_filters():
    graph = nir_io.to_nir(feed_forward(tau_syn_I=10.0))
    assert isinstance(graph.nodes["cells"], nir.LIF)
    for receptor, tau in (("exc", 5.0), ("inh", 10.0)):
        node = graph.nodes[f"cells.{receptor}"]
        assert isinstance(node, nir.LI)
        np.testing.assert_array_equal(node.tau, [tau, tau])
        np.testing.assert_array_equal(node.r / node.tau, [1.0, 1.0])  # jump by w
        np.testing.assert_array_equal(node.v_leak, [0.0, 0.0])
        assert (f"cells.{receptor}", "cells") in graph.edges
    assert ("exc.weight", "cells.exc") in graph.edges
    assert ("inh.weight", "cells.inh") in graph.edges


def test_projection_becomes_delay_then_dense_linear():
    graph = nir_io.to_nir(feed_forward(tau_syn_I=5.0))
    weight = graph.nodes["exc.weight"].weight
    assert weight.shape == (2, 3)                      # (post, pre)
    # synapses 1 and 2 both connect stim 1 -> cells 0: a dense matrix sums them
    np.testing.assert_allclose(weight, [[0.1, 0.5, 0.0], [0.0, 0.0, 0.4]])
    np.testing.assert_array_equal(graph.nodes["exc.delay"].delay, [1.0, 1.0, 1.0])
    assert [e for e in graph.edges if "exc." in e[0] or "exc." in e[1]] == [
        ("stim", "exc.delay"), ("exc.delay", "exc.weight"), ("exc.weight", "cells")]
    assert ("cells", "cells.out") in graph.edges and ("stim", "stim.out") in graph.edges


def test_several_delays_give_one_branch_each():
    graph = nir_io.to_nir(feed_forward(delays=(1.0, 2.5, 1.0)))
    assert "exc.weight" not in graph.nodes
    np.testing.assert_array_equal(graph.nodes["exc.0.delay"].delay, [1.0] * 3)
    np.testing.assert_array_equal(graph.nodes["exc.1.delay"].delay, [2.5] * 3)
    np.testing.assert_allclose(graph.nodes["exc.0.weight"].weight, [[0.1, 0, 0], [0, 0, 0.4]])
    np.testing.assert_allclose(graph.nodes["exc.1.weight"].weight, [[0, 0.5, 0], [0, 0, 0]])
    assert_identical_networks(feed_forward(delays=(1.0, 2.5, 1.0)),
                              nir_io.from_nir(graph))


def test_labels_are_escaped_into_node_names(tmp_path):
    cells = ir.Population("a/b.c%", "IF_curr_exp", 1, params=dict(LIF, tau_syn_I=5.0))
    loop = ir.Projection("a/b.c% -> a/b.c%", "a/b.c%", "a/b.c%", "excitatory", [0], [0],
                         0.1, 0.1)
    net = ir.Network(dt=0.1, populations=[cells], projections=[loop])
    graph = nir_io.to_nir(net)
    assert "a%2Fb%2Ec%25" in graph.nodes
    assert "a%2Fb%2Ec%25 -> a%2Fb%2Ec%25.weight" in graph.nodes
    nir.write(tmp_path / "x.nir", graph)
    assert_identical_networks(net, nir_io.from_nir(nir.read(tmp_path / "x.nir",
                                                            type_check=False)))


# ---- graphs written by other tools ---------------------------------------------------

def foreign_graph(time_unit=1.0):
    """What another tool might write: no neurohw metadata, NIR's own conventions."""
    n_in, n_out = 3, 2
    lif = nir.CubaLIF(tau_syn=np.array([5.0, 2.0]) * time_unit,
                      tau_mem=np.array([20.0, 10.0]) * time_unit, r=np.array([100.0, 50.0]),
                      v_leak=np.array([-65.0, -65.0]), v_threshold=np.array([-50.0, -55.0]),
                      v_reset=np.array([-70.0, -70.0]), w_in=np.array([1.0, 4.0]))
    nodes = {"spikes_in": nir.Input(np.array([n_in])),
             "axon": nir.Delay(np.array([0.0, 0.5, 2.0]) * time_unit),
             "fc": nir.Affine(weight=np.array([[0.5, 0.0, -1.0], [0.0, 2.0, 0.0]]),
                              bias=np.array([0.1, 0.0])),
             "neurons": lif, "rec": nir.Linear(weight=np.array([[0.0, 0.3], [0.0, 0.0]])),
             "spikes_out": nir.Output(np.array([n_out]))}
    edges = [("spikes_in", "axon"), ("axon", "fc"), ("fc", "neurons"), ("neurons", "rec"),
             ("rec", "neurons"), ("neurons", "spikes_out")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


@pytest.mark.parametrize("time_unit, time_scale", [(1.0, 1.0), (1e-3, 1000.0)])
def test_foreign_graph_imports_with_defaults(time_unit, time_scale):
    net = nir_io.from_nir(foreign_graph(time_unit), dt=0.1, time_scale=time_scale)
    assert net.dt == 0.1 and net.duration == 0.0
    source = net.population("spikes_in")
    assert source.cell_type == "SpikeSourceArray" and source.size == 3
    assert all(t.size == 0 for t in source.spike_times)
    cells = net.population("neurons")
    assert cells.cell_type == "IF_curr_exp"
    np.testing.assert_allclose(cells.params["tau_m"], [20.0, 10.0])
    np.testing.assert_allclose(cells.params["cm"], [0.2, 0.2])       # tau_mem / r
    np.testing.assert_allclose(cells.params["tau_syn_E"], [5.0, 2.0])
    np.testing.assert_allclose(cells.params["tau_syn_I"], [5.0, 2.0])
    np.testing.assert_array_equal(cells.params["tau_refrac"], [0.0, 0.0])
    np.testing.assert_array_equal(cells.params["v_thresh"], [-50.0, -55.0])
    # Affine bias b: steady-state current w_in * b
    np.testing.assert_allclose(cells.params["i_offset"], [0.1, 0.0])
    assert cells.record["spikes"].tolist() == [0, 1]
    # weights w * w_in / tau_syn of the target, tau_syn in the graph's own time unit
    # (a Dirac spike has units of 1/time); split by sign into receptors
    exc, inh = net.projection("fc.exc"), net.projection("fc.inh")
    assert (exc.pre_idx.tolist(), exc.post_idx.tolist()) == ([0, 1], [0, 1])
    np.testing.assert_allclose(exc.weight, [0.5 * 1 / (5 * time_unit), 2.0 * 4 / (2 * time_unit)])
    np.testing.assert_allclose(exc.delay, [0.1, 0.5])   # a zero delay becomes dt
    assert (inh.receptor, inh.pre_idx.tolist(), inh.post_idx.tolist()) == (
        "inhibitory", [2], [0])
    np.testing.assert_allclose(inh.weight, [-1.0 / (5 * time_unit)])
    np.testing.assert_allclose(inh.delay, [2.0])
    rec = net.projection("rec")
    assert (rec.pre, rec.post, rec.receptor) == ("neurons", "neurons", "excitatory")
    assert (rec.pre_idx.tolist(), rec.post_idx.tolist()) == ([1], [0])
    np.testing.assert_allclose(rec.weight, [0.3 / (5 * time_unit)])
    np.testing.assert_allclose(rec.delay, [0.1])


def test_foreign_graph_through_file(tmp_path):
    nir.write(tmp_path / "f.nir", foreign_graph())
    net = nir_io.from_nir(nir.read(tmp_path / "f.nir"))
    direct = nir_io.from_nir(foreign_graph())
    assert sorted(p.label for p in net.projections) == ["fc.exc", "fc.inh", "rec"]
    for prj in direct.projections:
        np.testing.assert_array_equal(net.projection(prj.label).weight, prj.weight)


def test_own_cuba_lif_export_without_metadata_keeps_the_dynamics():
    """Stripped of neurohw metadata, the NIR nodes alone still give the same network
    (up to what NIR cannot carry: refractoriness, recording, plasticity, sources)."""
    net = feed_forward(tau_syn_I=5.0)
    graph = nir_io.to_nir(net)
    for node in graph.nodes.values():
        node.metadata = {}
    graph.metadata = {}
    back = nir_io.from_nir(graph, dt=net.dt)
    cells, original = back.population("cells"), net.population("cells")
    for name in ("tau_m", "tau_syn_E", "tau_syn_I", "v_rest", "v_reset", "v_thresh"):
        np.testing.assert_array_equal(cells.params[name], original.params[name])
    np.testing.assert_allclose(cells.params["cm"], original.params["cm"], rtol=1e-15)
    exc = back.projection("exc.weight")
    assert (exc.pre_idx.tolist(), exc.post_idx.tolist()) == ([0, 1, 2], [0, 0, 1])
    np.testing.assert_allclose(exc.weight, [0.1, 0.5, 0.4])       # the pair 1->0 summed
    np.testing.assert_array_equal(exc.delay, [1.0, 1.0, 1.0])
    inh = back.projection("inh.weight")
    assert inh.receptor == "inhibitory" and inh.weight.tolist() == [-0.5]


def test_own_lif_export_without_metadata_keeps_both_synaptic_time_constants():
    net = feed_forward(tau_syn_I=10.0)
    graph = nir_io.to_nir(net)
    for node in graph.nodes.values():
        node.metadata = {}
    graph.metadata = {}
    back = nir_io.from_nir(graph, dt=net.dt)
    cells = back.population("cells")
    np.testing.assert_array_equal(cells.params["tau_syn_E"], [5.0, 5.0])
    np.testing.assert_array_equal(cells.params["tau_syn_I"], [10.0, 10.0])
    np.testing.assert_array_equal(cells.params["i_offset"], [0.0, 0.0])
    exc, inh = back.projection("exc.weight"), back.projection("inh.weight")
    assert (exc.receptor, exc.post) == ("excitatory", "cells")
    np.testing.assert_allclose(exc.weight, [0.1, 0.5, 0.4])
    assert (inh.receptor, inh.weight.tolist()) == ("inhibitory", [-0.5])


def lif_with_filters(inh_weight):
    """A LIF soma behind two unnamed LI filters, told apart by their weights' signs."""
    def li(tau):
        return nir.LI(tau=np.full(2, tau), r=np.full(2, 2.0 * tau), v_leak=np.array([0.0, 0.1]))
    nodes = {"in": nir.Input(np.array([2])), "a": nir.Linear(weight=np.eye(2)),
             "b": nir.Linear(weight=np.eye(2) * inh_weight), "f1": li(3.0), "f2": li(7.0),
             "soma": nir.LIF(tau=np.full(2, 20.0), r=np.full(2, 50.0), v_leak=np.zeros(2),
                             v_threshold=np.ones(2))}
    edges = [("in", "a"), ("in", "b"), ("a", "f1"), ("b", "f2"), ("f1", "soma"),
             ("f2", "soma")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_foreign_lif_with_li_filters():
    net = nir_io.from_nir(lif_with_filters(inh_weight=-1.0))
    soma = net.population("soma")
    np.testing.assert_array_equal(soma.params["tau_syn_E"], [3.0, 3.0])
    np.testing.assert_array_equal(soma.params["tau_syn_I"], [7.0, 7.0])
    np.testing.assert_allclose(soma.params["cm"], [0.4, 0.4])
    np.testing.assert_allclose(soma.params["i_offset"], [0.0, 0.2])   # both filters' v_leak
    a, b = net.projection("a"), net.projection("b")
    assert (a.receptor, b.receptor) == ("excitatory", "inhibitory")
    np.testing.assert_allclose(a.weight, [2.0, 2.0])                  # r / tau = 2
    np.testing.assert_allclose(b.weight, [-2.0, -2.0])


def test_foreign_lif_filters_of_one_sign_are_ambiguous():
    with pytest.raises(ir.NetworkError, match=r"which of the LI filters.*'soma'"):
        nir_io.from_nir(lif_with_filters(inh_weight=1.0))


@pytest.mark.parametrize("node, message", [
    (nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
     r"LIF 'odd' is fed by 'in' \(Input\).*delta synapse"),
    (nir.Threshold(threshold=np.ones(2)), "node 'odd' is a Threshold.*CubaLIF")])
def test_unsupported_foreign_node_is_named(node, message):
    graph = nir.NIRGraph(nodes={"in": nir.Input(np.array([2])), "odd": node},
                         edges=[("in", "odd")])
    with pytest.raises(ir.NetworkError, match=message):
        nir_io.from_nir(graph)


def test_foreign_connection_into_non_population_is_named():
    graph = nir.NIRGraph(nodes={"in": nir.Input(np.array([2])),
                                "fc": nir.Linear(weight=np.eye(2)),
                                "out": nir.Output(np.array([2]))},
                         edges=[("in", "fc"), ("fc", "out")])
    net = nir_io.from_nir(graph)          # an Output is not a target: no projection
    assert net.projections == () and [p.label for p in net.populations] == ["in"]
    graph = nir.NIRGraph(nodes={"a": nir.Input(np.array([2])), "b": nir.Input(np.array([2])),
                                "fc": nir.Linear(weight=np.eye(2))},
                         edges=[("a", "fc"), ("b", "fc")], type_check=False)
    with pytest.raises(ir.NetworkError, match=r"'fc' must have .* one source.*\['a', 'b'\]"):
        nir_io.from_nir(graph)


# ---- damaged neurohw metadata --------------------------------------------------------

def test_newer_format_version_in_graph_is_refused():
    graph = nir_io.to_nir(feed_forward())
    graph.metadata["neurohw"]["version"] = io.FORMAT_VERSION + 1
    with pytest.raises(io.NetworkFileError, match="newer neurohw"):
        nir_io.from_nir(graph)


def test_missing_population_node_is_named():
    graph = nir_io.to_nir(feed_forward())
    del graph.nodes["cells"]
    with pytest.raises(io.NetworkFileError, match="population node 'cells'.*missing"):
        nir_io.from_nir(graph)


def test_node_without_neurohw_metadata_is_named():
    graph = nir_io.to_nir(feed_forward())
    graph.nodes["exc.weight"].metadata = {}
    with pytest.raises(io.NetworkFileError, match="projection node 'exc.weight'.*metadata"):
        nir_io.from_nir(graph)


@given(st.sampled_from(["params.cm", "spike_times.offsets"]))
def test_missing_array_in_node_metadata_is_named(name):
    graph = nir_io.to_nir(feed_forward())
    node = "cells" if name.startswith("params") else "stim"
    del graph.nodes[node].metadata["neurohw"]["arrays"][name]
    with pytest.raises(io.NetworkFileError, match=f"node '{node}'.*'{name}'.*missing"):
        nir_io.from_nir(graph)
