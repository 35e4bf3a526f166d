"""A walk over a NIR file's HDF5 structure before ``nir.read`` touches any data, so that what
could hang the reader or exhaust memory is refused first, naming the object:

* a regular file only (a FIFO or a device would block);
* no external links, external storage or virtual datasets (they read other files, which may be
  devices: a corrupted or hostile file made h5py's read hang for minutes);
* every dataset's size as stored in the file bounded: its declared bytes within the memory budget
  (``nmc --max-memory``), and a compressed dataset within :data:`MAX_EXPANSION` times the file
  (an HDF5 "zip bomb");
* at most :data:`MAX_OBJECTS` objects and :data:`MAX_DEPTH` levels of groups.

Only the structure is read (h5py's object headers); the walk takes milliseconds on the NIR
paper's files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import h5py

from ...errors import UserError
from ...sim.budget import over_budget

__all__ = ["MAX_DEPTH", "MAX_EXPANSION", "MAX_OBJECTS", "prewalk"]

MAX_OBJECTS = 200_000  # groups and datasets in one file
MAX_DEPTH = 64  # nested groups (a NIR graph nests one level per subgraph)
MAX_EXPANSION = 1000  # declared bytes of compressed data per byte of file


def prewalk(path: Path) -> None:
    """Refuse (``UserError`` naming ``path`` and the object) what :mod:`prewalk` lists."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: not a regular file (a folder, FIFO or device)")
    size = os.stat(path).st_size
    try:
        with h5py.File(path, "r") as f:
            _Walk(path, size).group(f, "/", 0)
    except UserError:
        raise
    except Exception as exc:  # not HDF5, or a damaged header: the reader would fail the same way
        raise UserError(f"{path}: not a readable NIR file ({type(exc).__name__}: {exc})") from None


class _Walk:
    def __init__(self, path: Path, file_bytes: int):
        self.path, self.file_bytes, self.objects, self.compressed = path, file_bytes, 0, 0

    def refuse(self, name: str, problem: str) -> None:
        raise UserError(f"{self.path}: object '{name}': {problem}")

    def group(self, g: h5py.Group, name: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.refuse(name, f"groups nested deeper than {MAX_DEPTH} levels")
        for key in g.keys():
            full = f"{name.rstrip('/')}/{key}"
            self.objects += 1
            if self.objects > MAX_OBJECTS:
                self.refuse(full, f"more than {MAX_OBJECTS} objects in the file")
            link = g.get(key, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                self.refuse(full, f"an external link to '{link.filename}' (a NIR file holds its own data)")
            if isinstance(link, h5py.SoftLink):
                self.refuse(full, "a soft link (a NIR file holds each object once)")
            obj = g[key]
            if isinstance(obj, h5py.Group):
                self.group(obj, full, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                self.dataset(obj, full)

    def dataset(self, d: h5py.Dataset, name: str) -> None:
        if d.external:
            self.refuse(name, "its data lies in external files (a NIR file holds its own data)")
        if d.is_virtual:
            self.refuse(name, "a virtual dataset (its data lies in other files)")
        nbytes = float(d.size or 0) * float(d.dtype.itemsize)
        why = over_budget(nbytes)
        if why:
            self.refuse(name, f"a dataset of shape {d.shape} and type {d.dtype} {why}")
        if d.compression is not None or d.chunks is not None:
            self.compressed += nbytes
            if self.compressed > MAX_EXPANSION * max(self.file_bytes, 1 << 20):
                self.refuse(name, f"its chunked data declares {nbytes:.3g} bytes, more than {MAX_EXPANSION} times "
                                  f"the file's {self.file_bytes} (a compression bomb?)")
