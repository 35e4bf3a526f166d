"""Feed recorded spike arrays into a network's spike sources (e.g. the Inputs of a NIR graph)."""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..fileio import UnreadableArray, read_npy
from ..ir import Network, SpikeSource

__all__ = ["spike_source_from_array", "apply_spike_arrays", "drive_program", "read_spike_arrays"]


def spike_source_from_array(name: str, array: np.ndarray, dt: float, size: int | None = None) -> SpikeSource:
    """A spike source from a ``(steps, channels)`` array of 0/1 (more trailing axes are flattened
    into channels in C order, matching NIR's flattening)."""
    array = np.asarray(array)
    expected = f"(steps, {size})" if size is not None else "(steps, channels...)"
    if array.ndim < 2 or array.shape[0] == 0:
        raise UserError(f"input for '{name}': expected a {expected} array of 0/1 spikes, not shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise UserError(f"input for '{name}': expected 0/1 spikes (bool, integer or float), not dtype {array.dtype}")
    if array.dtype.kind in "iuf" and not np.isin(array, (0, 1)).all():
        raise UserError(f"input for '{name}': values must be 0 or 1 (spike or not); found "
                        f"{np.unique(array[~np.isin(array, (0, 1))])[:3].tolist()}")
    flat = array.reshape(array.shape[0], -1)
    if size is not None and flat.shape[1] != size:
        raise UserError(f"input for '{name}': {flat.shape[1]} channels per step, but the source has {size}: "
                        f"expected a {expected} array")
    steps, ids = np.nonzero(flat)
    return SpikeSource(name=name, size=flat.shape[1], ids=ids, times=steps * dt)


def read_spike_arrays(specs, sizes: dict[str, int], dt: float) -> list[SpikeSource]:
    """Spike sources from ``NAME=FILE.npy`` specs (``sizes``: the spike sources there are)."""
    out = []
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep:
            raise UserError(f"--input '{spec}': write SOURCE=FILE.npy")
        if name not in sizes:
            raise UserError(f"--input '{spec}': '{name}' is not a spike source (spike sources: "
                            f"{', '.join(sizes) or 'none'})")
        try:
            array = read_npy(file)
        except UnreadableArray as exc:
            raise UserError(f"--input '{spec}': {file}: {exc}") from None
        out.append(spike_source_from_array(name, array, dt, sizes[name]))
    return out


def apply_spike_arrays(net: Network, specs) -> Network:
    """Replace spike sources by ``NAME=FILE.npy`` arrays; returns a new network."""
    out = net.copy()
    sizes = {s.name: s.size for s in net.sources if isinstance(s, SpikeSource)}
    for source in read_spike_arrays(specs, sizes, net.dt):
        out.replace(source)
    return out


def drive_program(program, inputs, steps: int | None, duration: float | None, where: str):
    """An image's program with its host sources replaced by ``inputs`` (``NAME=FILE.npy``), and the
    ticks to run it: ``steps``, else ``duration`` in ticks (an image has no length of its own)."""
    sizes = {s.name: s.size for s in program.sources if isinstance(s, SpikeSource)}
    for source in read_spike_arrays(inputs, sizes, program.dt):
        program = program.with_source(source)
    if steps is None:
        if duration is None:
            raise UserError(f"{where}: an image has no simulation length: give --duration or --steps")
        steps = max(1, int(round(duration / program.dt)))
    return program, steps
