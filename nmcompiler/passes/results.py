"""What the legalization passes return besides the network: typed results, never fields of the
pass object filled in as it runs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WeightChange", "weight_change"]


@dataclass(frozen=True, kw_only=True)
class WeightChange:
    """How much a pass changed a group of weights (a population's, a core's)."""

    synapses: int
    changed: int
    rms_error: float
    max_error: float
    rms_weight: float

    def summary(self) -> str:
        """"k of n synapses changed, RMS error ... (RMS weight ...), largest ... (integer units)"."""
        return (f"{self.changed} of {self.synapses} synapses changed, RMS error {self.rms_error:.3g} (RMS weight "
                f"{self.rms_weight:.3g}), largest {self.max_error:.3g} (integer units)")


def weight_change(before: np.ndarray, after: np.ndarray) -> WeightChange:
    err = (np.asarray(after) - np.asarray(before)).astype(np.float64)
    w = np.asarray(before, dtype=np.float64)
    return WeightChange(synapses=int(w.size), changed=int(np.count_nonzero(err)),
                        rms_error=float(np.sqrt(np.mean(err ** 2))) if err.size else 0.0,
                        max_error=float(np.abs(err).max(initial=0.0)),
                        rms_weight=float(np.sqrt(np.mean(w ** 2))) if w.size else 0.0)
