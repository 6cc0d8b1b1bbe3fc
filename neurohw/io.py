"""Lossless save and load of an :class:`neurohw.ir.Network`.

A network file is a numpy ``.npz`` archive: every array of the network is one
member, stored with its own dtype, and the member ``__header__`` holds UTF-8
JSON describing the structure (labels, cell types, scalars, STDP settings,
short-term plasticity's array names,
network metadata) and naming the member that holds each array::

    {"format": "neurohw.network", "version": 1,
     "network": {"dt": 0.1, ..., "populations": [{"label": "exc", ...,
                 "params": {"cm": "populations.0.params.cm", ...}}, ...]}}

JSON keeps Python floats exactly (it writes the shortest repr that reads back
to the same double), so scalars round-trip bit for bit, as do the arrays.
Ragged SpikeSourceArray trains are stored as one concatenated array plus
offsets.  ``Network.metadata`` (per-target settings and the like) may hold
JSON values, tuples, numpy arrays and numpy scalars; arrays and scalars keep
their dtype.

The element encoders (``encode_population`` ...) are shared with
:mod:`neurohw.nir_io`, which keeps the same descriptions in NIR node metadata.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import ir

__all__ = ["save", "load", "NetworkFileError", "FORMAT", "FORMAT_VERSION"]

FORMAT = "neurohw.network"
#: bumped whenever a file written by this version cannot be read by older code.
#: 2: projections may carry Tsodyks-Markram short-term plasticity ("short_term",
#: absent from version 1 files)
FORMAT_VERSION = 2

_HEADER_MEMBER = "__header__"
# tags marking non-JSON values in encoded metadata; a user dict that happens to
# have exactly one of these as its only key is wrapped in _DICT_TAG
_ARRAY_TAG, _SCALAR_TAG, _TUPLE_TAG, _DICT_TAG = ("__ndarray__", "__npscalar__",
                                                  "__tuple__", "__dict__")
_TAGS = (_ARRAY_TAG, _SCALAR_TAG, _TUPLE_TAG, _DICT_TAG)


class NetworkFileError(ValueError):
    """A network file (or NIR metadata) that cannot be read: corrupt, truncated,
    not a neurohw file, or from a newer format version; or, when saving, a
    metadata value that has no lossless representation."""


Arrays = dict  # member name -> np.ndarray


# ---- scalars -------------------------------------------------------------------------

def _number(value, what: str):
    """A JSON-safe Python int/float/None for a scalar field of the IR."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    raise NetworkFileError(f"{what}: cannot store {type(value).__name__} {value!r}")


# ---- metadata (arbitrary nested values) ----------------------------------------------

def encode_metadata(value, arrays: Arrays, name: str, where: str = "metadata"):
    """``value`` as JSON, with numpy arrays/scalars moved into ``arrays`` under
    names starting with ``name``."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise NetworkFileError(f"{where}: cannot store an object array")
        # stored flat with the shape in the header: HDF5 (NIR files) cannot compress
        # 0-d datasets, and NIR writes every array compressed
        arrays[name] = arr.ravel()
        if isinstance(value, np.generic):
            return {_SCALAR_TAG: name}
        return {_ARRAY_TAG: {"name": name, "shape": list(arr.shape)}}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [encode_metadata(v, arrays, f"{name}.{i}", f"{where}[{i}]")
                 for i, v in enumerate(value)]
        return {_TUPLE_TAG: items} if isinstance(value, tuple) else items
    if isinstance(value, Mapping):
        encoded = {}
        # array names use the item's position, not its key: keys may contain dots
        for i, (key, v) in enumerate(value.items()):
            if not isinstance(key, str):
                raise NetworkFileError(f"{where}: key {key!r} is not a string")
            encoded[key] = encode_metadata(v, arrays, f"{name}.{i}", f"{where}['{key}']")
        return {_DICT_TAG: encoded} if len(encoded) == 1 and next(iter(encoded)) in _TAGS \
            else encoded
    raise NetworkFileError(f"{where}: cannot store a {type(value).__name__} ({value!r}); "
                           f"use JSON values, tuples or numpy arrays")


def decode_metadata(value, arrays: Mapping[str, np.ndarray]):
    if isinstance(value, list):
        return [decode_metadata(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == _ARRAY_TAG:
            return _array(arrays, inner["name"]).reshape(inner["shape"])
        if tag == _SCALAR_TAG:
            return _array(arrays, inner)[0]
        if tag == _TUPLE_TAG:
            return tuple(decode_metadata(v, arrays) for v in inner)
        if tag == _DICT_TAG:
            return {k: decode_metadata(v, arrays) for k, v in inner.items()}
    return {k: decode_metadata(v, arrays) for k, v in value.items()}


def _array(arrays: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    try:
        return np.asarray(arrays[name])
    except KeyError:
        raise NetworkFileError(f"array '{name}' named in the header is missing") from None


# ---- elements of the network ---------------------------------------------------------

def encode_population(pop: ir.Population, arrays: Arrays, prefix: str) -> dict:
    def put(group: str, values: Mapping[str, np.ndarray]) -> dict:
        names = {}
        for key, arr in values.items():
            names[key] = f"{prefix}{group}.{key}"
            arrays[names[key]] = arr
        return names

    header = {"label": pop.label, "cell_type": pop.cell_type, "size": pop.size,
              "record_interval": _number(pop.record_interval,
                                         f"population '{pop.label}': record_interval"),
              "params": put("params", pop.params), "initial": put("initial", pop.initial),
              "record": put("record", pop.record), "spike_times": None}
    if pop.spike_times is not None:
        lengths = [t.size for t in pop.spike_times]
        header["spike_times"] = put("spike_times", {
            "values": np.concatenate(pop.spike_times),
            "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)})
    return header


def decode_population(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
                      ) -> ir.Population:
    def get(group: str) -> dict:
        return {key: _array(arrays, name) for key, name in header[group].items()}

    spike_times = None
    if header["spike_times"] is not None:
        packed = get("spike_times")
        offsets = packed["offsets"]
        spike_times = [packed["values"][start:stop]
                       for start, stop in zip(offsets[:-1], offsets[1:])]
    return ir.Population(header["label"], header["cell_type"], header["size"],
                         params=get("params"), initial=get("initial"), record=get("record"),
                         record_interval=header["record_interval"], spike_times=spike_times)


_SYNAPSE_ARRAYS = ("pre_idx", "post_idx", "weight", "delay")


def encode_stdp(stdp: ir.STDP | None) -> dict | None:
    if stdp is None:
        return None
    return {f: getattr(stdp, f) if f == "weight_dependence" else
            _number(getattr(stdp, f), f"STDP: {f}") for f in stdp.__dataclass_fields__}


def decode_stdp(header: Mapping[str, Any] | None) -> ir.STDP | None:
    return None if header is None else ir.STDP(**header)


_SHORT_TERM_ARRAYS = ("U", "tau_rec", "tau_facil")


def encode_projection(prj: ir.Projection, arrays: Arrays, prefix: str) -> dict:
    header = {"label": prj.label, "pre": prj.pre, "post": prj.post, "receptor": prj.receptor,
              "plasticity": encode_stdp(prj.plasticity), "short_term": None}
    for name in _SYNAPSE_ARRAYS:
        header[name] = f"{prefix}{name}"
        arrays[header[name]] = getattr(prj, name)
    if prj.short_term is not None:
        header["short_term"] = {}
        for name in _SHORT_TERM_ARRAYS:
            header["short_term"][name] = f"{prefix}short_term.{name}"
            arrays[header["short_term"][name]] = getattr(prj.short_term, name)
    return header


def decode_short_term(header: Mapping[str, str] | None, arrays: Mapping[str, np.ndarray]
                      ) -> ir.TsodyksMarkram | None:
    if header is None:
        return None
    return ir.TsodyksMarkram(**{name: _array(arrays, header[name])
                                for name in _SHORT_TERM_ARRAYS})


def decode_projection(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
                      ) -> ir.Projection:
    return ir.Projection(header["label"], header["pre"], header["post"], header["receptor"],
                         **{name: _array(arrays, header[name]) for name in _SYNAPSE_ARRAYS},
                         plasticity=decode_stdp(header["plasticity"]),
                         # (version 1 files predate short-term plasticity)
                         short_term=decode_short_term(header.get("short_term"), arrays))


_CURRENT_ARRAYS = ("indices", "times", "amplitudes")


def encode_current(cs: ir.StepCurrent, arrays: Arrays, prefix: str) -> dict:
    header = {"label": cs.label, "population": cs.population}
    for name in _CURRENT_ARRAYS:
        header[name] = f"{prefix}{name}"
        arrays[header[name]] = getattr(cs, name)
    return header


def decode_current(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
                   ) -> ir.StepCurrent:
    return ir.StepCurrent(header["label"], header["population"],
                          **{name: _array(arrays, header[name]) for name in _CURRENT_ARRAYS})


_NETWORK_SCALARS = ("dt", "min_delay", "max_delay", "duration", "seed")


def encode_network_settings(net: ir.Network, arrays: Arrays) -> dict:
    """The network-level fields: scalars and metadata (not the elements)."""
    settings = {k: _number(getattr(net, k), f"network: {k}") for k in _NETWORK_SCALARS}
    settings["metadata"] = encode_metadata(dict(net.metadata), arrays, "metadata")
    return settings


# ---- whole network -------------------------------------------------------------------

def network_to_arrays(net: ir.Network) -> tuple[dict, Arrays]:
    """The JSON-able header and the named arrays that together describe ``net``."""
    arrays: Arrays = {}
    body = encode_network_settings(net, arrays)
    body["populations"] = [encode_population(p, arrays, f"populations.{i}.")
                           for i, p in enumerate(net.populations)]
    body["projections"] = [encode_projection(p, arrays, f"projections.{i}.")
                           for i, p in enumerate(net.projections)]
    body["currents"] = [encode_current(c, arrays, f"currents.{i}.")
                        for i, c in enumerate(net.currents)]
    return {"format": FORMAT, "version": FORMAT_VERSION, "network": body}, arrays


def check_format(header: Mapping[str, Any], source: str) -> None:
    if not isinstance(header, Mapping) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, Mapping) else type(header).__name__
        raise NetworkFileError(f"{source}: not a neurohw network (format {found!r}, "
                               f"expected {FORMAT!r})")
    version = header.get("version")
    # (HDF5, e.g. NIR metadata read back by nir.read, hands integers back as numpy ints)
    if isinstance(version, (bool, np.bool_)) or not isinstance(version, (int, np.integer)) \
            or version < 1:
        raise NetworkFileError(f"{source}: invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise NetworkFileError(f"{source}: written in format version {version} by a newer "
                               f"neurohw; this one reads versions up to {FORMAT_VERSION}")


def network_from_arrays(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                        source: str = "network description") -> ir.Network:
    """Inverse of :func:`network_to_arrays`.  Structural problems raise
    :class:`NetworkFileError`; an invalid network raises ``ir.NetworkError``."""
    check_format(header, source)
    try:
        body = header["network"]
        return ir.Network(
            **{k: body[k] for k in _NETWORK_SCALARS},
            metadata=decode_metadata(body["metadata"], arrays),
            populations=[decode_population(p, arrays) for p in body["populations"]],
            projections=[decode_projection(p, arrays) for p in body["projections"]],
            currents=[decode_current(c, arrays) for c in body["currents"]])
    except (KeyError, TypeError, AttributeError) as exc:
        raise NetworkFileError(f"{source}: malformed header ({type(exc).__name__}: {exc})"
                               ) from None
    except NetworkFileError as exc:
        raise NetworkFileError(f"{source}: {exc}") from None
    except ir.NetworkError as exc:
        raise ir.NetworkError(f"{source}: {exc}") from None


def save(net: ir.Network, path: str | os.PathLike, compress: bool = True) -> Path:
    """Write ``net`` to ``path`` exactly as given (no suffix is added); returns the path."""
    header, arrays = network_to_arrays(net)
    encoded = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    path = Path(path)
    # write beside the target and rename, so a crash never leaves half a file
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        (np.savez_compressed if compress else np.savez)(f, **{_HEADER_MEMBER: encoded},
                                                        **arrays)
    os.replace(partial, path)
    return path


def load(path: str | os.PathLike) -> ir.Network:
    """Read a network written by :func:`save`."""
    source = str(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if _HEADER_MEMBER not in archive.files:
                raise NetworkFileError(f"{source}: not a neurohw network file "
                                       f"(no '{_HEADER_MEMBER}' member)")
            header = json.loads(archive[_HEADER_MEMBER].tobytes().decode("utf-8"))
            arrays = {name: archive[name] for name in archive.files if name != _HEADER_MEMBER}
    except (NetworkFileError, FileNotFoundError):
        raise
    except (zipfile.BadZipFile, EOFError, UnicodeDecodeError, json.JSONDecodeError,
            ValueError, OSError) as exc:
        raise NetworkFileError(f"{source}: unreadable network file "
                               f"({type(exc).__name__}: {exc})") from None
    return network_from_arrays(header, arrays, source)
