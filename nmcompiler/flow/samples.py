"""Run a model on many samples of input spikes: a network on the float simulator, or a decoded
image's own tables on the bit-accurate simulator (accuracy from the image itself, not from a
re-quantized network)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..ir import Network, SpikeSource
from ..lowered import SimProgram
from ..sim.float_sim import FloatSimulator
from ..sim.bit_sim import BitAccurateSimulator
from ..sim.data import SampleData
from ..sim.result import SimResult
from ..sim.stimulus import spike_source_from_array

__all__ = ["Accuracy", "SampleCounts", "classify", "run_samples", "spike_counts"]


@dataclass(frozen=True, eq=False)
class SampleCounts:
    """Spike counts per sample of every population (``populations[name]``: (samples, neurons)),
    the classifying ``output`` among them, and the first sample's whole run (``first``)."""

    output: str
    populations: dict[str, np.ndarray]
    first: SimResult

    @property
    def counts(self) -> np.ndarray:
        """The output's counts, (samples, neurons)."""
        return self.populations[self.output]

    @property
    def totals(self) -> dict[str, int]:
        """Spikes per population over every sample (so a run without activity is seen)."""
        return {name: int(c.sum()) for name, c in self.populations.items()}

    def predictions(self) -> np.ndarray:
        """The neuron with the most spikes per sample (ties: the lowest index)."""
        return np.argmax(self.counts, axis=1)

    def accuracy(self, labels: np.ndarray) -> float:
        return float(np.mean(self.predictions() == np.asarray(labels)))

    def to_json(self, labels: np.ndarray | None = None) -> dict:
        """Samples, spikes and mean rate per population over every sample, and with ``labels`` the
        accuracy of classifying by the output's most spikes."""
        seconds = self.first.duration
        pops = {name: {"size": int(c.shape[1]), "spikes": int(c.sum()),
                       "rate_hz": float(c.mean() / seconds) if c.size and seconds else 0.0,
                       "silent_samples": int(np.sum(c.sum(axis=1) == 0))} for name, c in self.populations.items()}
        out = {"samples": int(self.counts.shape[0]), "steps": self.first.steps, "output": self.output,
               "populations": pops, "predictions": self.predictions().tolist()}
        return out | ({"accuracy": self.accuracy(labels)} if labels is not None else {})

    def counts_npz_bytes(self) -> bytes:
        """Every population's (samples, neurons) counts, keyed by population name."""
        import io

        buf = io.BytesIO()
        np.savez(buf, **{name: c for name, c in self.populations.items()})
        return buf.getvalue()


def _sources(model) -> dict[str, int]:
    return {s.name: s.size for s in model.sources if isinstance(s, SpikeSource)}


def _sample_model(model, data: SampleData, source: str, k: int, steps: int, seed: int):
    """``model`` with sample ``k`` fed to ``source``: a network copy, or a program."""
    size = next(s.size for s in model.sources if s.name == source)
    if data.encode == "current":
        if not isinstance(model, Network):
            raise UserError(f"{model.name}: an image's sources are spikes: use --encode rate or events")
        node = dataclasses.replace(model.node(source), amplitude=data.x[k])
    else:
        node = spike_source_from_array(source, data.spikes(k, steps, seed), model.dt, size)
    if isinstance(model, Network):
        trial = model.copy()
        trial.replace(node)
        return trial
    return model.with_source(node)


def run_samples(model: Network | SimProgram, data: SampleData, *, source: str, output: str, steps: int,
                seed: int | None = None, progress=None, on_run=None, executor=None) -> SampleCounts:
    """Run ``model`` (a network on the float simulator, or an image's program bit-accurately)
    once per sample of ``data`` fed to ``source``, for ``steps`` steps each (at least an event
    sample's length: give the lag of ``output`` more to count every spike the input causes).
    ``on_run(trial, result)`` sees each run (the model as fed, its result). ``executor``
    (:mod:`nmcompiler.executor`): the samples split into pieces run there, with the same counts as
    one after another (each sample seeds its own input); ``on_run`` then needs ``fresh()`` (an
    empty copy, made beside each piece) and ``merge(piece)`` (taken in sample order), as
    :class:`nmcompiler.flow.estimate.RunRecorder` has."""
    names = [p.name for p in model.populations]
    if output not in names:
        raise UserError(f"output population '{output}' does not exist (populations: {', '.join(names)})")
    data.pick_source(model.sources, source)
    seed = model.seed if seed is None else seed
    if executor is None or executor.workers < 2 or len(data) < 2:
        part = _run_piece((model, data, source, steps, seed, on_run, False, progress), range(len(data)))
        return SampleCounts(output=output, populations=part.counts, first=part.first)
    from ..executor import run_pieces

    shared = (model, data, source, steps, seed, on_run, True, None)  # each piece records into a fresh copy
    ordered = run_pieces(executor, _run_piece, shared, len(data), progress)
    for part in ordered if on_run is not None else ():
        on_run.merge(part.recorder)
    counts = {name: np.concatenate([p.counts[name] for p in ordered]) for name in names}
    return SampleCounts(output=output, populations=counts, first=ordered[0].first)


@dataclass(frozen=True, eq=False)
class _Piece:
    counts: dict[str, np.ndarray]  # (samples of the piece, neurons) per population
    first: SimResult | None  # the piece's first run
    recorder: object | None  # what on_run saw (a fresh copy's, on a worker)


def _run_piece(shared, indices: range) -> _Piece:
    """The samples ``indices`` one after another (a piece of :func:`run_samples`)."""
    model, data, source, steps, seed, on_run, fresh, progress = shared
    if on_run is not None and fresh:  # a worker holds one copy of shared for all its pieces
        on_run = on_run.fresh()
    names = [p.name for p in model.populations]
    sizes = dict(zip(names, (p.size for p in model.populations)))
    counts = {name: np.zeros((len(indices), sizes[name]), dtype=np.int64) for name in names}
    first = None
    for j, k in enumerate(indices):
        trial = _sample_model(model, data, source, k, steps, seed)
        sim = FloatSimulator(trial, seed=seed) if isinstance(model, Network) else BitAccurateSimulator(trial, seed=seed)
        result = sim.run(steps)
        first = result if first is None else first
        if on_run is not None:
            on_run(trial, result)
        for name in names:
            if name in result.spike_ids:
                counts[name][j] = np.bincount(result.spike_ids[name], minlength=sizes[name])
        if progress is not None:
            progress(1)
    return _Piece(counts=counts, first=first, recorder=on_run)


def spike_counts(model: Network | SimProgram, source: str, samples: np.ndarray, output: str, steps: int,
                 seed: int | None = None, on_run=None, executor=None) -> SampleCounts:
    """:func:`run_samples` on ``samples``: (samples, steps, channels...) 0/1 spikes."""
    samples = np.asarray(samples)
    sizes = _sources(model)
    if source not in sizes:
        raise UserError(f"'{source}' is not a spike source of {model.name} (spike sources: {', '.join(sizes) or 'none'})")
    if samples.ndim < 3 or samples.shape[0] == 0:
        raise UserError(f"input for '{source}': expected (samples, steps, channels...) spikes, not shape {samples.shape}")
    data = SampleData(x=samples, y=None, encode="events", where=f"input for '{source}'")  # 0/1: checked per sample
    return run_samples(model, data, source=source, output=output, steps=steps, seed=seed, on_run=on_run,
                       executor=executor)


@dataclass(frozen=True)
class Accuracy:
    """Classification of labelled samples by the float network and by the image's tables."""

    float_accuracy: float
    hw_accuracy: float
    agreement: float  # share of samples both classify alike
    float_counts: SampleCounts
    hw_counts: SampleCounts

    def to_json(self) -> dict:
        return {"float_accuracy": self.float_accuracy, "hw_accuracy": self.hw_accuracy, "agreement": self.agreement,
                "samples": int(self.float_counts.counts.shape[0]), "float_spikes": self.float_counts.totals,
                "hw_spikes": self.hw_counts.totals}


def classify(net: Network, program: SimProgram, samples: np.ndarray, labels: np.ndarray, *, source: str,
             output: str, steps: int, seed: int | None = None, executor=None) -> Accuracy:
    """Classify ``samples`` by the most spikes of ``output``, in the float network and on the
    image's ``program``; labels are checked against the output's neurons. ``executor``: where the
    samples run (:func:`run_samples`)."""
    labels = np.asarray(labels)
    if labels.shape != (len(samples),) or labels.dtype.kind not in "iu":
        raise UserError(f"labels: expected ({len(samples)},) integer labels for {len(samples)} samples, "
                        f"not {labels.shape} {labels.dtype}")
    f = spike_counts(net, source, samples, output, steps, seed, executor=executor)
    if labels.size and not 0 <= labels.min() <= labels.max() < f.counts.shape[1]:
        raise UserError(f"labels must be in [0, {f.counts.shape[1]}) (the neurons of '{output}')")
    h = spike_counts(program, source, samples, output, steps, seed, executor=executor)
    return Accuracy(float_accuracy=f.accuracy(labels), hw_accuracy=h.accuracy(labels),
                    agreement=float(np.mean(f.predictions() == h.predictions())), float_counts=f, hw_counts=h)
