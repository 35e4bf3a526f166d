"""NIR files are walked before nir.read touches their data (issue 33: a corrupted NIR file hung
inside h5py's read for over 120 s): links and data in other files, declared sizes beyond the
memory budget and compression bombs are refused with the object named, quickly, at the command
line as exit 2."""

from __future__ import annotations

import os
import shutil
import time

import h5py
import numpy as np
import pytest

from conftest import EXAMPLES
from nmcompiler.errors import UserError
from nmcompiler.frontends.nir import NirOptions, load_nir

DIGITS = EXAMPLES / "digits" / "digits.nir"


def _copy(tmp_path, name="net.nir"):
    path = tmp_path / name
    shutil.copy(DIGITS, path)
    return path


def _first_dataset(f: h5py.File) -> str:
    found = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) and not found else None)
    return found[0]


def _external_link(path, tmp_path):
    with h5py.File(path, "a") as f:
        f["node/extra"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")
    return r"object '/node/extra': an external link to '.*other\.h5'"


def _soft_link(path, tmp_path):
    with h5py.File(path, "a") as f:
        f["node/again"] = h5py.SoftLink("/node")
    return r"object '/node/again': a soft link"


def _external_storage(path, tmp_path):
    os.mkfifo(tmp_path / "pipe")  # what made the read hang: data "stored" in a FIFO
    with h5py.File(path, "a") as f:
        f.create_dataset("node/outside", shape=(4,), dtype="f8", external=[(str(tmp_path / "pipe"), 0, 32)])
    return r"object '/node/outside': its data lies in external files"


def _virtual(path, tmp_path):
    with h5py.File(tmp_path / "source.h5", "w") as g:
        g["x"] = np.arange(4.0)
    layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(tmp_path / "source.h5"), "x", shape=(4,))
    with h5py.File(path, "a") as f:
        f["node"].create_virtual_dataset("virtual", layout)
    return r"object '/node/virtual': a virtual dataset"


def _huge(path, tmp_path):
    with h5py.File(path, "a") as f:
        name = _first_dataset(f)
        del f[name]
        f.create_dataset(name, shape=(2**40,), dtype="f8", chunks=(2**16,), compression="gzip")
    return r"object '/.*': a dataset of shape \(1099511627776,\) and type float64 needs 8 TB, more than"


def _bomb(path, tmp_path):
    with h5py.File(path, "a") as f:
        f.create_dataset("node/bomb", shape=(2**34,), dtype="u1", chunks=(2**20,), compression="gzip")
    return r"object '/node/bomb': its chunked data declares 1\.72e\+10 bytes, more than 1000 times the file's"


@pytest.mark.parametrize("make", [_external_link, _soft_link, _external_storage, _virtual, _huge, _bomb],
                         ids=lambda f: f.__name__.strip("_"))
def test_hostile_structures_are_refused_before_any_data_is_read(tmp_path, run_nmc, make):
    path = _copy(tmp_path)
    words = make(path, tmp_path)
    t = time.perf_counter()
    with pytest.raises(UserError, match=rf"^{path}: {words}"):
        load_nir(path, NirOptions(dt=1e-3))
    code, _, err = run_nmc("--max-memory", "16G", "info", path)
    assert time.perf_counter() - t < 10
    assert code == 2 and "Traceback" not in err and str(path) in err


def test_a_fifo_in_place_of_the_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "net.nir")
    with pytest.raises(UserError, match=r"not a regular file \(a folder, FIFO or device\)"):
        load_nir(tmp_path / "net.nir", NirOptions(dt=1e-3))


def test_real_exports_pass_the_walk_unchanged():
    """The walk refuses nothing the exporters write: the digits graphs import as before."""
    net = load_nir(DIGITS, NirOptions.from_preset("snntorch"))
    assert sum(p.size for p in net.populations) > 0 and net.projections
