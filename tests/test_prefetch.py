"""The compiled prefetch hint (nmcompiler.sim.prefetch): it compiles for the arrays the simulators
read, changes no result, and refuses what it cannot address."""

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from nmcompiler.sim.prefetch import prefetch


@njit
def _sum_prefetching(a, ahead):
    total = 0.0
    for i in range(a.size):
        if i + ahead < a.size:
            prefetch(a, i + ahead)
        total += a[i]
    return total


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.int32, np.int64, np.float64])
def test_prefetching_changes_no_result(dtype):
    a = (np.arange(1000) % 97).astype(dtype)
    assert _sum_prefetching(a, 16) == float(a.sum()) and float(a.sum()) > 0
    assert _sum_prefetching(a[::3], 5) == float(a[::3].sum())  # a strided view: its own element


def test_prefetch_takes_one_dimensional_arrays_only():
    @njit
    def two_d(a):
        prefetch(a, 0)

    with pytest.raises(TypingError):
        two_d(np.zeros((2, 2)))
