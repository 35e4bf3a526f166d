"""YAML network format v1 -> graph IR. The format is documented in ``docs/network-format.md``
and its structure is the JSON Schema ``network.schema.json`` shipped beside this module.

Every problem is collected and reported together, each with ``file:line``.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np

from ..errors import Diagnostic, ValidationError
from ..fileio import check_set, file_stem
from ..sim.budget import MAX_STEPS, over_budget
from ..ir import (
    LEARNING_RULES, MODELS, STDP, Connectivity, CubaLIF, CurrentSource, Network, PoissonSource, Population,
    Probe, Projection, Readout, RewardSTDP, SpikeSource,
)
from ..ir.network import MAX_DT
from ..ir.nodes import MAX_SIZE
from ..units import QuantityError, format_time, parse_quantity
from . import connectors
from ..streams import stream
from .values import FieldError, load_npy, resolve_value
from ..yamlio import YamlDocument, parse_yaml, read_yaml

__all__ = ["load_yaml_network", "network_schema"]

_SECTION_LABEL = {"populations": "population", "stimuli": "source", "projections": "projection",
                  "readouts": "readout"}


def network_schema() -> dict:
    """The JSON Schema of network files (format versions 1 and 2)."""
    text = resources.files(__package__).joinpath("network.schema.json").read_text()
    return json.loads(text)


def _schema_problems(doc: YamlDocument) -> list[tuple[tuple, Diagnostic]]:
    """``(path, diagnostic)`` for every schema violation, in file order."""
    validator = jsonschema.Draft202012Validator(network_schema())
    out = []
    for err in sorted(validator.iter_errors(doc.data), key=lambda e: (doc.line(tuple(e.absolute_path)), e.message)):
        path = tuple(err.absolute_path)
        label = _label(path)
        if err.validator == "required":
            msg = f"missing field {err.message.split(' is a required')[0]}"
        elif err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            allowed = ", ".join(err.schema.get("properties", {}))
            path = (*path, extra[0]) if extra else path
            msg = f"unknown field {', '.join(repr(e) for e in extra)} (allowed: {allowed})"
        elif path == ("version",):
            msg = f"network format version {err.instance!r} is not supported (this nmcompiler reads versions 1 and 2)"
        elif err.validator == "enum" and path:
            msg = f"unknown {path[-1]} {err.instance!r} (use one of: {', '.join(map(str, err.validator_value))})"
        elif err.validator == "anyOf":
            msg = f"value {err.instance!r} has the wrong type"
        else:
            msg = err.message
        out.append((tuple(err.absolute_path), doc.diagnostic(path, f"{label}{msg}")))
    return out


def _label(path: tuple) -> str:
    if len(path) >= 2 and path[0] in _SECTION_LABEL:
        return f"{_SECTION_LABEL[path[0]]} '{path[1]}': "
    if len(path) >= 2 and path[0] == "probes":
        return f"probe {path[1]}: "
    return ""


class _Builder:
    """Builds the IR from a file, skipping objects that already failed the schema (``broken``)."""

    def __init__(self, doc: YamlDocument, broken: set[tuple]):
        self.doc = doc
        self.data: dict = doc.data
        self.problems: list[Diagnostic] = []
        self.broken = broken
        self.seed = int(self.data.get("seed", 0))

    def error(self, path: tuple, message: str) -> None:
        self.problems.append(self.doc.diagnostic(path, f"{_label(path)}{message}"))

    def value(self, path: tuple, spec, dimension: str, count=None, rng=None):
        try:
            return resolve_value(spec, dimension, folder=self.doc.folder, count=count, rng=rng)
        except FieldError as exc:
            self.error(path, f"{path[-1]}: {exc}")
            return None

    def quantity(self, path: tuple, spec, dimension: str):
        try:
            return parse_quantity(spec, dimension)
        except QuantityError as exc:
            self.error(path, f"{path[-1]}: {exc}")
            return None

    # -- top level -------------------------------------------------------------------------
    def build(self) -> Network:
        dt = self.quantity(("dt",), self.data["dt"], "time")
        if dt is not None and dt <= 0:
            self.error(("dt",), f"dt must be > 0, not {self.data['dt']}")
        elif dt is not None and dt > MAX_DT:
            self.error(("dt",), f"dt {self.data['dt']} is beyond {MAX_DT:g} s")
        if dt is None or dt <= 0 or dt > MAX_DT:
            dt = 1.0  # reported above; a stand-in keeps checking the rest of the file
        duration = self.data.get("duration")
        duration = self.quantity(("duration",), duration, "time") if duration is not None else None
        if duration is not None and duration / dt > MAX_STEPS:
            self.error(("duration",), f"duration {self.data['duration']} is {duration / dt:.3g} steps of {self.data['dt']}, "
                                      f"beyond the {MAX_STEPS} (2^31 - 1) a simulation holds")
            duration = None
        name = self.data.get("name", Path(self.doc.file).stem)
        net = Network(name, dt=dt, seed=self.seed, duration=duration)
        for pname, spec in self._section("populations"):
            self._population(net, pname, spec)
        for sname, spec in self._section("stimuli"):
            path = ("stimuli", sname)
            if sname in self.data["populations"]:
                self.error(path, "name is already used by a population")
            else:
                self._stimulus(net, sname, spec, path)
        for jname, spec in self._section("projections"):
            self._projection(net, jname, spec)
        for i, spec in enumerate(self.data.get("probes", [])):
            if ("probes", i) not in self.broken:
                try:
                    neurons = None if spec.get("neurons") is None else _indices(spec["neurons"], "neurons")
                except FieldError as exc:
                    self.error(("probes", i, "neurons"), f"probe: {exc}")
                    continue
                net.probe(Probe(target=spec["target"], variable=spec.get("variable", "spikes"), neurons=neurons))
        for rname, spec in self._section("readouts"):
            self._readout(net, rname, spec)
        return net

    def _readout(self, net: Network, name: str, spec: dict) -> None:
        path = ("readouts", name)
        dec = spec["decoders"]
        try:
            decoders = (load_npy(self.doc.folder, dec["file"]) if isinstance(dec, dict)
                        else np.asarray(dec, dtype=np.float64))
        except FieldError as exc:
            self.error(path + ("decoders",), f"decoders: {exc}")
            return
        except ValueError:  # ragged rows
            self.error(path + ("decoders",), "decoders: rows of unequal length (give dims x neurons)")
            return
        tau = spec.get("tau")
        tau = None if tau is None else self.quantity(path + ("tau",), tau, "time")
        if spec.get("tau") is not None and tau is None:
            return
        net.readout(Readout(name=name, target=spec["target"], decoders=decoders, tau=tau))

    def _section(self, section: str):
        return [(k, v) for k, v in self.data.get(section, {}).items() if (section, k) not in self.broken]

    def _size(self, path: tuple, value) -> int | None:
        """A node size: a positive whole number (JSON Schema also lets 3.0 through as an integer)."""
        if isinstance(value, bool) or not (isinstance(value, int) or float(value).is_integer()) or value < 1:
            self.error((*path, "size"), f"size must be a positive integer, not {value}")
            return None
        if value > MAX_SIZE:
            self.error((*path, "size"), f"size {value} is beyond {MAX_SIZE} (2^31 - 1) neurons or channels")
            return None
        why = over_budget(int(value) * NEURON_BYTES)
        if why:
            self.error((*path, "size"), f"size {value}: {why}")
            return None
        return int(value)

    def _inputs(self, path: tuple, value) -> int | None:
        """A Poisson source's inputs per channel: a whole number from 1 to 2^31 - 1."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer() \
                or not 1 <= value <= MAX_SIZE:
            self.error(path, f"'inputs' (the Poisson inputs each channel sums) must be a whole number from 1 "
                             f"to {MAX_SIZE}, not {value!r}")
            return None
        return int(value)

    # -- populations -------------------------------------------------------------------------
    def _population(self, net: Network, name: str, spec: dict) -> None:
        path = ("populations", name)
        cls = MODELS[spec["model"]]
        size = self._size(path, spec["size"])
        if size is None:
            return
        rng = stream(int(spec.get("seed", self.seed)), "population", name)
        params: dict = {}
        for key, raw in spec.get("params", {}).items():
            ppath = (*path, "params", key)
            if key not in cls.PARAMS:
                self.error(ppath, f"model '{cls.kind}' has no parameter '{key}' (it has {', '.join(cls.PARAMS)})")
                continue
            value = self.value(ppath, raw, cls.PARAMS[key].dimension, count=size, rng=rng)
            if value is not None:
                params[key] = value
        missing = [k for k, p in cls.PARAMS.items() if p.default is None and k not in params and k not in spec.get("params", {})]
        for key in missing:
            self.error((*path, "params"), f"missing parameter '{key}' for model '{cls.kind}'")
        if "receptors" in spec:
            if cls is not CubaLIF:
                self.error((*path, "receptors"), f"model '{cls.kind}' has no receptors (only cuba_lif does)")
            else:
                params["receptor_names"] = tuple(spec["receptors"])
        for key in ("reset", "integration", "spiking", "compare", "max_spikes", "input_before_update"):
            if key in spec:
                params[key] = spec[key]
        initial = {}
        for var, raw in spec.get("initial", {}).items():
            value = self.value((*path, "initial", var), raw, "any", count=size, rng=rng)
            if value is not None:
                initial[var] = value
        if missing or len(params) < len(spec.get("params", {})):
            return
        net.add(Population(name=name, size=size, model=cls(**params), initial=initial))

    # -- stimuli -----------------------------------------------------------------------------
    def _stimulus(self, net: Network, name: str, spec: dict, path: tuple) -> None:
        kind = spec["kind"]
        allowed = {"poisson": {"size", "rate", "start", "stop", "inputs"},
                   "current": {"size", "amplitude", "start", "stop"},
                   "spikes": {"size", "times", "file"}}[kind]
        for key in spec:
            if key != "kind" and key not in allowed:
                self.error((*path, key), f"field '{key}' does not apply to a {kind} source (use {', '.join(sorted(allowed))})")
        window = {k: self.quantity((*path, k), spec[k], "time") for k in ("start", "stop") if k in spec}
        if kind == "spikes":
            self._spikes(net, name, spec, path)
            return
        if "size" not in spec:
            self.error(path, "missing field 'size'")
            return
        size = self._size(path, spec["size"])
        if size is None:
            return
        if kind == "poisson":
            rate = self.value((*path, "rate"), spec.get("rate", 0.0), "rate")
            inputs = self._inputs((*path, "inputs"), spec.get("inputs", 1))
            if rate is not None and inputs is not None and None not in window.values():
                net.add(PoissonSource(name=name, size=size, rate=rate, inputs=inputs, **window))
        else:
            amp = self.value((*path, "amplitude"), spec.get("amplitude", 0.0), "any")
            if amp is not None and None not in window.values():
                net.add(CurrentSource(name=name, size=size, amplitude=amp, **window))

    def _spikes(self, net: Network, name: str, spec: dict, path: tuple) -> None:
        if ("times" in spec) == ("file" in spec):
            self.error(path, "a spikes source needs exactly one of 'times' (lists per channel) or 'file' (.npy)")
            return
        if "file" in spec:
            try:
                arr = load_npy(self.doc.folder, spec["file"])
            except FieldError as exc:
                self.error((*path, "file"), str(exc))
                return
            if arr.ndim != 2:
                self.error((*path, "file"), f"spike array must be 2-D (steps, channels), not shape {arr.shape}")
                return
            steps, ids = np.nonzero(arr)
            times, size = steps * net.dt, arr.shape[1]
        else:
            lists = [self.value((*path, "times", i), t, "time") for i, t in enumerate(spec["times"])]
            if any(t is None for t in lists):
                return
            ids = np.concatenate([np.full(len(t), i) for i, t in enumerate(lists)] or [np.zeros(0)])
            times = np.concatenate(lists or [np.zeros(0)])
            size = len(lists)
        size = self._size(path, spec.get("size", size))
        if size is None:
            return
        net.add(SpikeSource(name=name, size=size, ids=ids, times=times))

    # -- projections --------------------------------------------------------------------------
    def _projection(self, net: Network, name: str, spec: dict) -> None:
        path = ("projections", name)
        nodes = {n.name: n for n in net.nodes}
        declared = set(self.data["populations"]) | set(self.data.get("stimuli", {}))
        ok = True
        for role in ("pre", "post"):
            if spec[role] not in declared:
                self.error((*path, role), f"{role} '{spec[role]}' is not a population or stimulus of this file")
                ok = False
        values_ok = self._check_values(path, spec, net.dt)
        if not ok or spec["pre"] not in nodes or spec["post"] not in nodes:
            return  # a broken node is reported on its own
        if not values_ok:
            return
        pre, post = nodes[spec["pre"]], nodes[spec["post"]]
        conn_spec = spec["connector"]
        if isinstance(conn_spec, str):
            conn_spec = {"kind": conn_spec}
        seed = int(conn_spec.get("seed", spec.get("seed", self.seed)))
        rng = stream(seed, "projection", name)
        cpath = (*path, "connector")
        try:
            pairs, dense_w = self._pairs(conn_spec, pre.size, post.size, pre is post, rng)
        except (ValueError, FieldError) as exc:
            self.error(cpath, f"connector: {exc}")
            return
        except MemoryError:
            self.error(cpath, f"connector: not enough memory for the synapses of a {pre.size} x {post.size} "
                              f"'{conn_spec['kind']}' projection")
            return
        pre_idx, post_idx = pairs
        if dense_w is not None and "weight" in spec:
            self.error((*path, "weight"), "a dense connector takes its weights from the file: remove 'weight'")
            return
        weights = dense_w if dense_w is not None else self._per_synapse(
            path, "weight", spec.get("weight", 1.0), "any", pre_idx, post_idx, (pre.size, post.size), rng)
        delays = self._delays(path, spec, net.dt, pre_idx, post_idx, (pre.size, post.size), rng)
        if weights is None or delays is None:
            return
        conn = Connectivity.from_coo(pre.size, post.size, pre_idx, post_idx, weights, delays)
        learning = self._learning((*path, "learning"), spec["learning"]) if "learning" in spec else None
        net.connect(Projection(name=name, pre=pre.name, post=post.name, connectivity=conn,
                               receptor=spec.get("receptor"), learning=learning))

    def _learning(self, path: tuple, spec: dict):
        """A learning rule (format version 2); its own problems are the network's to report."""
        if self.data.get("version") == 1:
            self.error(path, "learning rules need network format version 2 (write 'version: 2')")
            return None
        fields = {}
        for key, dim in (("tau_pre", "time"), ("tau_post", "time"), ("tau_eligibility", "time"), ("A_plus", "any"),
                         ("A_minus", "any"), ("w_min", "any"), ("w_max", "any"), ("reward_amount", "any")):
            if key == "reward_amount" and isinstance(spec.get(key), list):  # one per reward channel
                fields[key] = [self.quantity((*path, key), a, dim) for a in spec[key]]
                fields[key] = None if any(a is None for a in fields[key]) else fields[key]
            elif key in spec:
                fields[key] = self.quantity((*path, key), spec[key], dim)
        if "reward_times" in spec:
            fields["reward_times"] = [self.quantity((*path, "reward_times"), t, "time") for t in spec["reward_times"]]
        fields.update({k: spec[k] for k in ("dependence", "pairing", "reward", "reward_values") if k in spec})
        if any(v is None for v in fields.values()) or (
                "reward_times" in fields and any(t is None for t in fields["reward_times"])):
            return None
        rule = LEARNING_RULES[spec["rule"]]
        reward_fields = {"tau_eligibility", "reward", "reward_amount", "reward_times", "reward_values"}
        if rule is STDP and set(spec) & reward_fields:
            self.error(path, "tau_eligibility and reward fields belong to rule 'reward_stdp'")
            return None
        if rule is RewardSTDP and "tau_eligibility" not in spec:
            self.error(path, "rule 'reward_stdp' needs tau_eligibility")
            return None
        return rule(**fields)

    def _check_values(self, path, spec, dt) -> bool:
        """Report bad plain weight/delay values even when the projection cannot be built."""
        n_before = len(self.problems)
        for key, dim in (("weight", "any"), ("delay", "time")):
            if key in spec and not isinstance(spec[key], dict):
                value = self.value((*path, key), spec[key], dim)
                if key == "delay" and value is not None:
                    self._delay_steps((*path, key), value, dt)
        return len(self.problems) == n_before

    def _pairs(self, spec: dict, n_pre: int, n_post: int, same: bool, rng):
        kind, autapses = spec["kind"], spec.get("allow_autapses", True) or not same
        needs = {"fixed_probability": "p", "fixed_indegree": "k", "dense": "file", "list": "pre" if "file" not in spec else "file"}
        if kind in needs and needs[kind] not in spec:
            raise FieldError(f"'{kind}' needs field '{needs[kind]}'")
        expected = {"all_to_all": n_pre * n_post, "one_to_one": n_pre,
                    "fixed_probability": n_pre * n_post * _number(spec.get("p")),
                    "fixed_indegree": n_post * _number(spec.get("k"))}.get(kind, 0)
        why = over_budget(expected * SYNAPSE_BYTES)
        if why:
            raise FieldError(f"about {expected:.3g} synapses: {why}")
        if kind == "one_to_one":
            return connectors.one_to_one(n_pre, n_post), None
        if kind == "all_to_all":
            return connectors.all_to_all(n_pre, n_post, autapses=autapses), None
        if kind == "fixed_probability":
            return connectors.fixed_probability(rng, n_pre, n_post, spec["p"], autapses=autapses), None
        if kind == "fixed_indegree":
            return connectors.fixed_indegree(rng, n_pre, n_post, int(spec["k"]), autapses=autapses), None
        if kind == "list" and "file" in spec:
            pairs = load_npy(self.doc.folder, spec["file"])
            if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
                raise FieldError(f"file '{spec['file']}' must hold an (n, 2) integer array of (pre, post) pairs")
            spec = {**spec, "pre": pairs[:, 0].tolist(), "post": pairs[:, 1].tolist()}
        if kind == "list":
            pre, post = _indices(spec["pre"], "pre"), _indices(spec.get("post", []), "post")
            if pre.shape != post.shape:
                raise FieldError(f"'pre' has {pre.size} entries but 'post' has {post.size}")
            if pre.size and (pre.min() < 0 or pre.max() >= n_pre or post.min() < 0 or post.max() >= n_post):
                raise FieldError(f"indices out of range for {n_pre} pre and {n_post} post neurons")
            return (pre, post), None
        matrix = load_npy(self.doc.folder, spec["file"])
        if matrix.shape != (n_pre, n_post):
            raise FieldError(f"matrix in '{spec['file']}' has shape {matrix.shape}, expected ({n_pre}, {n_post})")
        pre, post = np.nonzero(matrix)
        return (pre, post), matrix[pre, post].astype(np.float64)

    def _per_synapse(self, path, key, spec, dimension, pre, post, shape, rng):
        """A scalar, one value per synapse, or an ``(n_pre, n_post)`` matrix sampled at the synapses."""
        value = self.value((*path, key), spec, dimension, count=pre.size, rng=rng)
        if value is None or value.ndim == 0:
            return value
        if value.ndim == 2 and value.shape == shape:
            return value[pre, post]
        if value.shape != pre.shape:
            self.error((*path, key), f"{key}: {value.size} values for {pre.size} synapses "
                                     f"(give one value, one per synapse, or a {shape[0]}x{shape[1]} matrix)")
            return None
        return value

    def _delays(self, path, spec, dt, pre, post, shape, rng):
        delays = self._per_synapse(path, "delay", spec.get("delay", dt), "time", pre, post, shape, rng)
        return None if delays is None else self._delay_steps((*path, "delay"), delays, dt)

    def _delay_steps(self, path, delays: np.ndarray, dt: float):
        if not np.all(np.isfinite(delays)):
            self.error(path, "delay contains NaN or infinite values")
            return None
        if delays.size and delays.min() < dt * (1 - 1e-9):
            self.error(path, f"delay {format_time(float(delays.min()))} is below dt {format_time(dt)}")
            return None
        if delays.size and delays.max() > MAX_STEPS * dt:
            self.error(path, f"delay {format_time(float(delays.max()))} is longer than {MAX_STEPS} steps of dt")
            return None
        steps = np.rint(delays / dt) if delays.size else delays
        if delays.size and (not np.all(np.isfinite(steps)) or steps.max() > MAX_STEPS):
            self.error(path, f"delay {format_time(float(delays.max()))} is longer than {2**31 - 1} steps of dt")
            return None
        return steps.astype(np.int32)


NEURON_BYTES = 200  # a neuron's parameters, state and simulator arrays, about
SYNAPSE_BYTES = 40  # a synapse while a projection is built: indices, weight, delay and the sorting's copies


def _number(value) -> float:
    """A connector parameter as a number for the size estimate (0 when it is not one: checked later)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else 0.0


def _indices(values, field: str) -> np.ndarray:
    """A list of neuron indices as int64, or a :class:`FieldError` naming ``field``."""
    try:
        out = np.asarray(values, dtype=np.int64)
    except (OverflowError, TypeError, ValueError):
        raise FieldError(f"'{field}' must be a list of neuron indices (integers below 2^63)") from None
    if out.ndim != 1:
        raise FieldError(f"'{field}' must be a flat list of neuron indices")
    return out


def _check_arrays(doc: YamlDocument) -> None:
    """A file nmcompiler wrote names the set of arrays it was written with (``arrays``): refuse it
    when its folder holds another set, or none whole (a run killed while writing, files changed)."""
    spec = doc.data.get("arrays")
    if not isinstance(spec, dict) or not isinstance(spec.get("folder"), str):
        return
    folder = file_stem(spec["folder"], "")
    problem = check_set(doc.folder / folder, spec.get("sha256")) if folder == spec["folder"] else "a folder path"
    if problem:
        raise ValidationError([doc.diagnostic(("arrays",), f"arrays: '{spec['folder']}' is not the set of arrays "
                                                          f"this file was written with ({problem}): write the "
                                                          "network again (nmc import), or delete the 'arrays' "
                                                          "entry to read the arrays as they are")])


def load_yaml_network(path: str | Path, *, text: str | None = None) -> Network:
    """Load and validate a YAML network file; raise :class:`ValidationError` with every problem.

    With ``text``, parse that instead of reading ``path`` (which errors then name, e.g. ``<stdin>``;
    relative array paths are read from the folder of ``path``: the working folder for ``<stdin>``)."""
    doc = read_yaml(path) if text is None else parse_yaml(text, str(path))
    if not isinstance(doc.data, dict):
        raise ValidationError([doc.diagnostic((), "a network file must be a mapping with 'version', 'dt' and 'populations'")])
    schema = _schema_problems(doc)
    problems = [d for _, d in schema]
    # errors in the file's skeleton stop here; errors inside one object only skip that object
    if any(len(path) < 2 and path[:1] != ("name",) and not d.message.startswith("unknown field")
           for path, d in schema):
        raise ValidationError(problems)
    _check_arrays(doc)
    broken = {path[:2] for path, _ in schema}
    builder = _Builder(doc, broken)
    builder.problems += problems
    net = builder.build()
    lines = {f"{label} '{name}'": doc.where((section, name))
             for section, label in _SECTION_LABEL.items() for name in doc.data.get(section, {})}
    for i, probe in enumerate(doc.data.get("probes", [])):
        if ("probes", i) not in broken:
            lines[f"probe '{probe['target']}.{probe.get('variable', 'spikes')}'"] = doc.where(("probes", i))
    for d in net.problems():
        if d.where in lines:
            builder.problems.append(Diagnostic(where=lines[d.where], message=f"{d.where}: {d.message}"))
        else:
            builder.problems.append(Diagnostic(where=f"{doc.file}:1", message=f"{d.where}: {d.message}"))
    if builder.problems:
        problems = sorted(builder.problems, key=lambda d: int(d.where.rsplit(":", 1)[1]))
        raise ValidationError(problems)
    return net
