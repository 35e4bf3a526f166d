"""The Python API in one call: ``nmcompiler.compile(model, target=...)`` returns a :class:`Compiled`
with the image, the report, and what a user does next (save, simulate, classify, verify).

    import nmcompiler
    chip = nmcompiler.compile("digits_snntorch.nir", target="loihi-like", preset="snntorch")
    chip.report.cores_used, len(chip.image)
    result = chip.simulate({"input": spikes}, steps=27)          # the image's own tables
    acc = chip.accuracy(samples, labels, output="3", steps=27)  # float and hardware
    cmp = chip.compare(samples, labels)         # + per class, confusion, agreement per population
    chip.verify(("float", "int", "rtl"), {"input": spikes}, steps=27).bit_exact
    chip.estimate({"input": spikes}, steps=27).estimate.energy   # joules, on the target's cost model
    chip.save("out/digits")
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..compiler import CompileReport, compile_network
from ..errors import UserError
from ..image import ImageContents, build_contents, encode, to_program
from ..ir import Network, SpikeSource
from ..ir.fixed_point import FixedPointNetwork
from ..mapping import Mapping
from ..sim.bit_sim import BitAccurateSimulator
from ..sim.result import SimResult
from ..sim.stimulus import spike_source_from_array
from ..targets import Target, load_target
from .compile_dir import CompiledDirectory, write_directory
from ..sim.data import SampleData
from .rates import data_rates
from .samples import Accuracy, classify

__all__ = ["Accuracy", "Compiled", "compile_model"]


@dataclass(frozen=True, eq=False)
class Compiled:
    network: Network  # as imported (the float meaning)
    mapping: Mapping
    fixed_point: FixedPointNetwork
    report: CompileReport

    @functools.cached_property
    def contents(self) -> ImageContents:
        return build_contents(self.mapping, self.fixed_point)

    @functools.cached_property
    def image(self) -> bytes:
        """The configuration image (``.nmc`` bytes)."""
        return encode(self.contents)

    def save(self, outdir: str | Path) -> CompiledDirectory:
        """Write what ``nmc compile`` writes (image, mapping, report, placement plot) to ``outdir``."""
        return write_directory(Path(outdir), self.network.name, self.mapping, self.fixed_point, self.report,
                               image=self.image)

    def _contents_with(self, inputs: dict | None) -> ImageContents:
        contents = self.contents
        for name, array in (inputs or {}).items():
            size = next((s.size for s in self.network.sources if s.name == name and isinstance(s, SpikeSource)), None)
            contents = contents.with_source(spike_source_from_array(name, array, self.network.dt, size))
        return contents

    def simulate(self, inputs: dict[str, np.ndarray] | None = None, *, steps: int, seed: int | None = None) -> SimResult:
        """Run the image's own tables bit-accurately, its spike sources fed with ``inputs``
        (``{name: (steps, channels) 0/1 array}``)."""
        return BitAccurateSimulator(to_program(self._contents_with(inputs)), seed=seed).run(steps)

    def accuracy(self, samples: np.ndarray, labels: np.ndarray, *, output: str, steps: int, source: str = "input",
                 seed: int | None = None) -> Accuracy:
        """Classify ``samples`` ((samples, steps, channels) spikes fed to ``source``) by the most
        spikes of ``output``, in the float network and on the image (its own tables)."""
        return classify(self.network, to_program(self.contents), samples, labels, source=source, output=output,
                        steps=steps, seed=seed)

    def compare(self, samples: np.ndarray, labels: np.ndarray, *, encode: str = "events", output: str | None = None,
                steps: int | None = None, source: str | None = None, seed: int | None = None):
        """The float network against the image's own tables on labelled ``samples`` (events:
        (samples, steps, channels) spikes; rate: (samples, features) probabilities): accuracy, per
        class, confusion, count agreement per population (:class:`nmcompiler.analysis.CompareResult`)."""
        from ..sim.data import SampleData
        from .image_accuracy import compare_image

        data = SampleData.of(samples, labels, encode)
        return compare_image(self.network, to_program(self.contents), data, target=self.mapping.target.name,
                             source=source, output=output, steps=steps, seed=seed)

    def estimate(self, inputs: dict[str, np.ndarray] | None = None, *, steps: int | None = None,
                 samples: np.ndarray | None = None, labels: np.ndarray | None = None, source: str | None = None,
                 output: str | None = None, seed: int | None = None, clock: float | None = None):
        """Energy, latency and throughput of the image on its target (``nmc estimate``): one run of
        ``steps`` ticks fed with ``inputs``, or one inference per sample of ``samples`` ((samples,
        steps, channels) spikes fed to ``source``; with ``labels``, the accuracy too); ``clock``:
        Hz for a cycle-counting model. Returns an :class:`nmcompiler.flow.estimate.ImageEstimate`."""
        from .estimate import cost_model, estimate_contents

        tgt = self.mapping.target
        model = cost_model(tgt, clock, self.network.name)
        data = None if samples is None else SampleData.of(samples, labels, "events", where="samples")
        contents = self._contents_with(inputs)
        return estimate_contents(contents, tgt, model, where=self.network.name, steps=steps, seed=seed,
                                 output=output, data=data, source=source)

    def decode(self, result: SimResult) -> dict[str, np.ndarray]:
        """The network's readouts (NEF decoded values, e.g. a Nengo model's probes) of a run of the
        image or of the network: ``{name: (steps, dims)}``."""
        from ..analysis.readouts import decoded_values

        return decoded_values(self.network.readouts, result)

    def verify(self, levels=("float", "int", "rtl"), inputs: dict[str, np.ndarray] | None = None, *,
               steps: int | None = None, states: bool = False):
        """The verification ladder (:func:`nmcompiler.flow.verify.verify_ladder`) on ``inputs``."""
        from .verify import verify_ladder

        net = self.network.copy()
        for name, array in (inputs or {}).items():
            net.replace(spike_source_from_array(name, array, net.dt, net.node(name).size))
        return verify_ladder(self._contents_with(inputs), self.mapping.target, list(levels), net=net,
                             source=self.network.name, steps=steps, states=states)


def compile_model(model, target: str | Target, *, dt: float | None = None, preset: str | None = None,
                  reset: str | None = None, name: str | None = None, samples: np.ndarray | None = None,
                  steps: int | None = None, **options) -> Compiled:
    """Import ``model`` (a path: .nir, .yaml, .npz; an in-memory ``nir.NIRGraph``; or a
    :class:`Network`) and compile it for ``target`` (a name, a target file, or a :class:`Target`).
    NIR graphs take ``dt``, ``preset`` (the exporting framework, e.g. "snntorch"), ``reset`` and,
    in memory, ``name`` (default "nir"); ``options`` are :class:`nmcompiler.compiler.CompileOptions`.
    ``samples`` (samples, steps, channels) of 0/1 input spikes give the rates (``nmc compile
    --data``; ``steps`` per sample, default theirs) that weight traffic and place crossbar cores'
    weight planes. A mapping that does not fit is a :class:`UserError` naming what is over."""
    net = _network(model, dt=dt, preset=preset, reset=reset, name=name)
    tgt = target if isinstance(target, Target) else load_target(target)
    if samples is not None:
        data = SampleData.of(samples, None, "events", where="samples")
        options["rates"] = data_rates(data, steps or data.sample_steps)
    mapping, fx, report = compile_network(net, tgt, **options)
    if not report.fits:
        raise UserError(f"{net.name}: the mapping does not fit {mapping.target.name}: " + "; ".join(report.misfits))
    return Compiled(network=net, mapping=mapping, fixed_point=fx, report=report)


def _network(model, *, dt, preset, reset, name) -> Network:
    from ..frontends import NirOptions
    from .load import load_model_file
    from ..frontends.nir import load_nir

    if isinstance(model, Network):
        if dt is not None or preset is not None or reset is not None:
            raise UserError("dt, preset and reset apply to NIR graphs, not to a Network")
        return model
    if preset is not None:
        opts = NirOptions.from_preset(preset, dt=dt, reset=reset)
    else:
        opts = NirOptions(dt=dt, reset=reset) if dt is not None or reset is not None else None
    if isinstance(model, (str, Path)):
        return load_model_file(model, nir_options=opts)
    import nir

    if isinstance(model, nir.NIRGraph):
        return load_nir(model, opts, name=name)
    raise UserError(f"cannot compile a {type(model).__name__}: give a path, a nir.NIRGraph or a Network")
