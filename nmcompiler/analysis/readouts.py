"""Decoded readouts of a run (:class:`nmcompiler.ir.Readout`: NEF decoded values, as Nengo
probes them) and how far a fixed-point run's decoded values lie from the float run's: the
quantization error in the represented space, the figure NEF users compare."""

from __future__ import annotations

import io

import numpy as np

from ..ir.nodes import decode_readouts

__all__ = ["compare_readouts", "decoded_npz", "decoded_values", "readout_summary"]


def decoded_values(readouts, result) -> dict[str, np.ndarray]:
    """``{name: (steps, dims)}`` of every readout, from ``result``'s spikes (a ``SimResult``)."""
    return decode_readouts(readouts, result)


def readout_summary(values: dict[str, np.ndarray]) -> dict:
    """Per readout: dimensions, root mean square, mean and last value of each dimension."""
    return {name: {"dims": int(v.shape[1]), "rms": float(np.sqrt(np.mean(v ** 2))) if v.size else 0.0,
                   "mean": v.mean(axis=0).tolist(), "last": v[-1].tolist()} for name, v in values.items()}


def compare_readouts(readouts, float_result, hw_result) -> dict:
    """Per readout: the RMSE between the fixed-point and the float run's decoded values (over
    every step and dimension), and each run's own RMS."""
    a, b = decoded_values(readouts, float_result), decoded_values(readouts, hw_result)
    return {name: {"dims": int(a[name].shape[1]), "rmse": float(np.sqrt(np.mean((b[name] - a[name]) ** 2))),
                   "float_rms": float(np.sqrt(np.mean(a[name] ** 2))), "hw_rms": float(np.sqrt(np.mean(b[name] ** 2)))}
            for name in a}


def decoded_npz(values: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **values)
    return buf.getvalue()
