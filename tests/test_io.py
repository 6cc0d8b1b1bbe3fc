"""neurohw.io: save/load round-trips every field of a network bit for bit.

The network strategy and the exact comparison live here and are reused by
test_nir.py."""
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurohw import io, ir

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---- random valid networks -----------------------------------------------------------

finite = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False)
positive = st.floats(0.01, 100.0)
labels = st.text(st.characters(codec="utf-8", exclude_characters="\x00"),
                 min_size=1, max_size=8)


def per_neuron(draw, size, elements):
    return np.array(draw(st.lists(elements, min_size=size, max_size=size)), dtype=np.float64)


@st.composite
def populations(draw, label, dt):
    cell_type = draw(st.sampled_from(sorted(ir.CELL_TYPES)))
    size = draw(st.integers(1, 6))
    ct = ir.CELL_TYPES[cell_type]
    params = {}
    for name in ct.parameters:
        elements = (positive if name in ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_w") else
                    st.floats(0.0, 100.0) if name in ("tau_refrac", "rate", "start",
                                                      "duration") else finite)
        params[name] = per_neuron(draw, size, elements)
    if "v_thresh" in params:
        params["v_thresh"] = params["v_reset"] + per_neuron(draw, size, st.floats(0.5, 30.0))
    if "v_spike" in params:
        # AdEx: v_spike >= v_thresh; (v_spike - v_thresh)/delta_T far below exp()'s overflow
        params["v_spike"] = params["v_thresh"] + per_neuron(draw, size, st.floats(0.0, 30.0))
        params["delta_T"] = per_neuron(draw, size, st.just(0.0) | st.floats(0.05, 10.0))
    initial = {var: per_neuron(draw, size, finite)
               for var in draw(st.lists(st.sampled_from(ct.state), unique=True))} \
        if ct.state else {}
    record = {var: draw(st.lists(st.integers(0, size - 1), max_size=size))
              for var in draw(st.lists(st.sampled_from(ir.RECORDABLE[cell_type]), unique=True))}
    record_interval = draw(st.none() | st.integers(1, 5).map(lambda k: k * dt))
    spike_times = None
    if cell_type == "SpikeSourceArray":
        spike_times = [sorted(draw(st.lists(st.floats(0.0, 1000.0), max_size=5)))
                       for _ in range(size)]
    return ir.Population(label, cell_type, size, params=params, initial=initial,
                         record=record, record_interval=record_interval,
                         spike_times=spike_times)


@st.composite
def projections(draw, label, pops, dt, max_delay):
    pre = draw(st.sampled_from(pops))
    post = draw(st.sampled_from([p for p in pops if not p.celltype.is_source]))
    receptor = draw(st.sampled_from(["excitatory", "inhibitory"]))
    n = draw(st.integers(0, 12))
    pre_idx = draw(st.lists(st.integers(0, pre.size - 1), min_size=n, max_size=n))
    post_idx = draw(st.lists(st.integers(0, post.size - 1), min_size=n, max_size=n))
    magnitude = per_neuron(draw, n, st.floats(0.0, 2.0))
    negative = receptor == "inhibitory" and not post.celltype.conductance_based
    weight = -magnitude if negative else magnitude
    delay = per_neuron(draw, n, st.floats(dt, max_delay))
    plasticity = None
    if draw(st.booleans()):
        bounds = (0.0, 2.0) if not negative else draw(st.sampled_from([(0.0, 2.0),
                                                                       (-2.0, 0.0)]))
        plasticity = ir.STDP(tau_plus=draw(positive), tau_minus=draw(positive),
                             A_plus=draw(st.floats(0, 1)), A_minus=draw(st.floats(0, 1)),
                             w_min=bounds[0], w_max=bounds[1],
                             weight_dependence=draw(st.sampled_from(["additive",
                                                                     "multiplicative"])),
                             dendritic_delay_fraction=draw(st.sampled_from([0.0, 1.0])))
    short_term = None
    # a synapse has STDP or short-term plasticity, never both (ir.Projection)
    if plasticity is None and draw(st.booleans()):
        short_term = ir.TsodyksMarkram(
            U=per_neuron(draw, n, st.floats(0.0, 1.0, exclude_min=True)),
            tau_rec=per_neuron(draw, n, positive),
            tau_facil=per_neuron(draw, n, st.floats(0.0, 1e4)))
    return ir.Projection(label, pre.label, post.label, receptor, pre_idx, post_idx,
                         weight, delay, plasticity, short_term)


metadata_leaves = (st.none() | st.booleans() | st.integers(-2**62, 2**62) | st.text(max_size=6)
                   | st.floats(allow_nan=False)
                   | st.lists(st.integers(-5, 5), max_size=4).map(np.array)
                   | st.floats().map(np.array)                                  # 0-d
                   | st.integers(0, 3).map(lambda n: np.arange(2.0 * n).reshape(n, 2))
                   | st.floats(width=32).map(np.float32)
                   | st.lists(st.booleans(), max_size=3).map(lambda b: np.array(b, bool)))
metadata_values = st.recursive(
    metadata_leaves,
    lambda inner: (st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple)
                   | st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


@st.composite
def networks(draw):
    dt = draw(st.sampled_from([0.1, 0.05, 0.25, 1.0]) | st.floats(0.01, 2.0))
    max_delay = draw(st.none() | st.floats(dt, 20.0))
    pop_labels = draw(st.lists(labels, min_size=1, max_size=4, unique=True))
    pops = [draw(populations(label, dt)) for label in pop_labels]
    receivers = [p for p in pops if not p.celltype.is_source]
    prjs = []
    if receivers:
        prj_labels = draw(st.lists(labels, max_size=4, unique=True))
        prjs = [draw(projections(label, pops, dt, max_delay if max_delay else 20.0))
                for label in prj_labels]
    currents = []
    for i in range(draw(st.integers(0, 2)) if receivers else 0):
        target = draw(st.sampled_from(receivers))
        k = draw(st.integers(0, 4))
        currents.append(ir.StepCurrent(
            f"cs{i}", target.label,
            indices=draw(st.lists(st.integers(0, target.size - 1), max_size=target.size)),
            times=sorted(draw(st.lists(st.floats(0, 500), min_size=k, max_size=k))),
            amplitudes=draw(st.lists(finite, min_size=k, max_size=k))))
    return ir.Network(dt=dt, populations=pops, projections=prjs, currents=currents,
                      max_delay=max_delay, duration=draw(st.floats(0.0, 1000.0)),
                      seed=draw(st.none() | st.integers(0, 2**63)),
                      metadata=draw(st.dictionaries(st.text(max_size=8), metadata_values,
                                                    max_size=3)))


# ---- exact comparison ----------------------------------------------------------------

def assert_identical_arrays(a, b, what):
    assert isinstance(b, np.ndarray), f"{what}: {type(b)} is not an array"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} became {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} became {b.shape}"
    assert a.tobytes() == b.tobytes(), f"{what}: values differ"


def assert_identical_values(a, b, what):
    """Same type and same value, recursively; arrays and numpy scalars bit for bit."""
    assert type(a) is type(b), f"{what}: {type(a).__name__} became {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert_identical_arrays(a, b, what)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"{what}: {a!r} != {b!r}"
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{what}: length {len(a)} became {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical_values(x, y, f"{what}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{what}: keys {list(a)} became {list(b)}"
        for k in a:
            assert_identical_values(a[k], b[k], f"{what}[{k!r}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), f"{what}: nan became {b}"
    else:
        assert a == b, f"{what}: {a!r} became {b!r}"


def assert_identical_mappings(a, b, what):
    assert list(a) == list(b), f"{what}: keys {list(a)} became {list(b)}"
    for k in a:
        assert_identical_arrays(a[k], b[k], f"{what}[{k!r}]")


def assert_identical_networks(a: ir.Network, b: ir.Network):
    for name in ("dt", "min_delay", "max_delay", "duration", "seed"):
        assert_identical_values(getattr(a, name), getattr(b, name), f"network.{name}")
    assert_identical_values(dict(a.metadata), dict(b.metadata), "network.metadata")
    assert [p.label for p in a.populations] == [p.label for p in b.populations]
    for p, q in zip(a.populations, b.populations):
        where = f"population '{p.label}'"
        for name in ("label", "cell_type", "size", "record_interval"):
            assert_identical_values(getattr(p, name), getattr(q, name), f"{where}.{name}")
        for name in ("params", "initial", "record"):
            assert_identical_mappings(getattr(p, name), getattr(q, name), f"{where}.{name}")
        if p.spike_times is None:
            assert q.spike_times is None
        else:
            assert len(p.spike_times) == len(q.spike_times)
            for i, (s, t) in enumerate(zip(p.spike_times, q.spike_times)):
                assert_identical_arrays(s, t, f"{where}.spike_times[{i}]")
    assert [p.label for p in a.projections] == [p.label for p in b.projections]
    for p, q in zip(a.projections, b.projections):
        where = f"projection '{p.label}'"
        for name in ("pre", "post", "receptor"):
            assert getattr(p, name) == getattr(q, name), f"{where}.{name}"
        for name in ("pre_idx", "post_idx", "weight", "delay"):
            assert_identical_arrays(getattr(p, name), getattr(q, name), f"{where}.{name}")
        assert p.plasticity == q.plasticity, f"{where}.plasticity"
        assert (p.short_term is None) == (q.short_term is None), f"{where}.short_term"
        if p.short_term is not None:
            for name in ("U", "tau_rec", "tau_facil"):
                assert_identical_arrays(getattr(p.short_term, name),
                                        getattr(q.short_term, name), f"{where}.short_term.{name}")
        if p.plasticity is not None:
            for f in p.plasticity.__dataclass_fields__:
                assert_identical_values(getattr(p.plasticity, f), getattr(q.plasticity, f),
                                        f"{where}.plasticity.{f}")
    assert len(a.currents) == len(b.currents)
    for c, d in zip(a.currents, b.currents):
        assert (c.label, c.population) == (d.label, d.population)
        for name in ("indices", "times", "amplitudes"):
            assert_identical_arrays(getattr(c, name), getattr(d, name), f"current.{name}")


# ---- round trips ---------------------------------------------------------------------

@SETTINGS
@given(net=networks(), compress=st.booleans())
def test_save_load_round_trip_is_exact(tmp_path_factory, net, compress):
    path = tmp_path_factory.mktemp("io") / "net.nhw"
    assert io.save(net, path, compress=compress) == path
    assert path.exists() and not path.with_name("net.nhw.partial").exists()
    assert_identical_networks(net, io.load(path))


def test_round_trip_keeps_awkward_values(tmp_path):
    """Signed zeros, subnormals, huge seeds and metadata that looks like our tags."""
    params = {"cm": 1.0, "tau_m": 20.0, "tau_refrac": 0.0, "tau_syn_E": 5e-324,
              "tau_syn_I": 1e300, "v_rest": -0.0, "v_reset": -70.0, "v_thresh": -50.0,
              "i_offset": 0.1 + 0.2}
    cells = ir.Population("a/b.c", "IF_curr_exp", 2, params=params,
                          record={"v": [1]}, record_interval=0.30000000000000004)
    stim = ir.Population("stim", "SpikeSourceArray", 3, spike_times=[[], [0.0, 0.0], []])
    prj = ir.Projection("p", "stim", "a/b.c", "inhibitory", [0, 2], [1, 1], [-0.0, -1e-310],
                        0.1, plasticity=ir.STDP(w_min=-1, w_max=0))
    metadata = {"fpga": {"__ndarray__": "not a reference", "bits": (8, 16)},
                "loihi": {"__tuple__": [1]}, "scale": np.float16(0.1), "empty": np.zeros((0, 3)),
                "zero-d": np.array(7, np.int8), "fortran": np.asfortranarray(np.eye(3)[:, :2]),
                "nan": float("nan")}
    net = ir.Network(dt=0.1, populations=[cells, stim], projections=[prj], seed=2**63 - 1,
                     metadata=metadata, min_delay=0.1, max_delay=1)
    io.save(net, tmp_path / "net")
    assert not (tmp_path / "net.npz").exists()         # the name is used as given
    back = io.load(tmp_path / "net")
    assert_identical_networks(net, back)
    assert np.signbit(back.population("a/b.c").params["v_rest"]).all()
    assert type(back.max_delay) is int and type(back.projection("p").plasticity.w_min) is int


def test_metadata_that_cannot_be_stored_is_named(tmp_path):
    net = ir.Network(dt=0.1, populations=[ir.Population("s", "SpikeSourceArray", 1,
                                                        spike_times=[[]])],
                     metadata={"fpga": {"clock": object()}})
    with pytest.raises(io.NetworkFileError, match=r"metadata\['fpga'\]\['clock'\].*object"):
        io.save(net, tmp_path / "x")
    assert not (tmp_path / "x").exists()


# ---- bad files -----------------------------------------------------------------------

def small_network():
    return ir.Network(dt=0.1, populations=[ir.Population("s", "SpikeSourceArray", 2,
                                                         spike_times=[[1.0], []])])


def rewrite_header(path, edit):
    """Rewrite ``path`` with its header passed through ``edit``."""
    with np.load(path) as f:
        members = {k: f[k] for k in f.files}
    header = json.loads(members.pop("__header__").tobytes())
    edit(header)
    np.savez(open(path, "wb"), __header__=np.frombuffer(json.dumps(header).encode(), np.uint8),
             **members)


def test_version_1_file_without_short_term_plasticity_still_loads(tmp_path):
    net = ir.Network(dt=0.1, populations=[
        ir.Population("s", "SpikeSourceArray", 1, spike_times=[[1.0]]),
        ir.Population("n", "IF_curr_exp", 1, params=dict(
            cm=1.0, tau_m=20.0, tau_refrac=0.0, tau_syn_E=5.0, tau_syn_I=5.0, v_rest=-65.0,
            v_reset=-65.0, v_thresh=-50.0, i_offset=0.0))],
        projections=[ir.Projection("p", "s", "n", "excitatory", [0], [0], 0.5, 1.0)])
    path = tmp_path / "v1.npz"
    io.save(net, path)

    def as_version_1(header):
        header["version"] = 1
        for prj in header["network"]["projections"]:
            del prj["short_term"]
    rewrite_header(path, as_version_1)
    back = io.load(path)
    assert back.projection("p").short_term is None
    assert_identical_networks(net, back)


def test_newer_format_version_is_refused(tmp_path):
    path = io.save(small_network(), tmp_path / "net")
    rewrite_header(path, lambda h: h.update(version=io.FORMAT_VERSION + 1))
    with pytest.raises(io.NetworkFileError,
                       match=f"format version {io.FORMAT_VERSION + 1} by a newer neurohw"):
        io.load(path)


def test_other_format_is_refused(tmp_path):
    path = io.save(small_network(), tmp_path / "net")
    rewrite_header(path, lambda h: h.update(format="something.else"))
    with pytest.raises(io.NetworkFileError, match="not a neurohw network.*'something.else'"):
        io.load(path)


def test_missing_array_is_named(tmp_path):
    path = io.save(small_network(), tmp_path / "net")
    with np.load(path) as f:
        members = {k: f[k] for k in f.files if k != "populations.0.spike_times.offsets"}
    np.savez(open(path, "wb"), **members)
    with pytest.raises(io.NetworkFileError, match="'populations.0.spike_times.offsets'.*missing"):
        io.load(path)


def test_malformed_header(tmp_path):
    path = io.save(small_network(), tmp_path / "net")
    rewrite_header(path, lambda h: h["network"].pop("populations"))
    with pytest.raises(io.NetworkFileError, match="malformed header.*populations"):
        io.load(path)


def test_invalid_network_in_file_names_file_and_value(tmp_path):
    path = io.save(small_network(), tmp_path / "net")
    rewrite_header(path, lambda h: h["network"].update(dt=-1.0))
    with pytest.raises(ir.NetworkError, match="net: network: dt.*-1.0"):
        io.load(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "plain npz"])
def test_corrupt_file_gives_clear_error(tmp_path, damage):
    path = io.save(small_network(), tmp_path / "net", compress=False)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"this is not a network" * 10)
    elif damage == "flip":
        # corrupt the stored bytes of one member: the zip CRC check must catch it
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("populations.0.spike_times.values.npy")
        offset = info.header_offset + 30 + len(info.filename) + info.file_size - 1
        path.write_bytes(data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1:])
    else:
        np.savez(open(path, "wb"), x=np.arange(3))
    with pytest.raises(io.NetworkFileError, match="net: (unreadable|not a neurohw)"):
        io.load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "nothing")
