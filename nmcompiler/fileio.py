"""Files in and out.

* Atomic output: write to a temporary file in the same folder, then rename; :class:`OutputSet`
  writes the files of one command as a whole, with a manifest last (:func:`check_set`).
* Guarded array input: :func:`read_npy` and :func:`open_npz` read regular files only (a FIFO or
  a device would block), never unpickle, and raise :class:`UnreadableArray` saying why for
  anything else (an archive where one array is expected and the reverse, an empty or truncated
  file, a bad zip).
* :func:`file_stem`: a name (a network's, a population's) made a file name inside one folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import IO

import numpy as np

__all__ = ["MANIFEST", "ArrayNotFound", "Chunks", "OutputSet", "UnreadableArray", "atomic_open", "check_set", "file_stem",
           "open_npz", "read_npy", "set_digest", "write_json", "write_bytes"]


class UnreadableArray(ValueError):
    """An array file that cannot be read; the message says why (the caller names the file's role)."""


class ArrayNotFound(UnreadableArray):
    """The array file does not exist."""


def _regular(path: Path) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ArrayNotFound("file not found") from None
    except OSError as exc:
        raise UnreadableArray(f"cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise UnreadableArray("not a regular file (a folder, FIFO or device)")


def _load(path: Path):
    _regular(path)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UnreadableArray(f"not a readable .npy or .npz file ({type(exc).__name__}: {exc})") from None


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """The array of a ``.npy`` file (see the module)."""
    loaded = _load(Path(path))
    if not isinstance(loaded, np.ndarray):
        loaded.close()
        raise UnreadableArray("an .npz archive, where one .npy array is expected")
    return loaded


@contextlib.contextmanager
def open_npz(path: str | os.PathLike) -> Iterator[np.lib.npyio.NpzFile]:
    """The arrays of an ``.npz`` archive (see the module); a damaged member raises
    :class:`UnreadableArray` as it is read."""
    loaded = _load(Path(path))
    if isinstance(loaded, np.ndarray):
        raise UnreadableArray("one .npy array, where an .npz archive is expected")
    try:
        with loaded:
            yield loaded
    except UnreadableArray:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise UnreadableArray(f"a damaged .npz archive ({type(exc).__name__}: {exc})") from None


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; it replaces ``path`` only if the block succeeds.
    The file gets the permissions of a plainly created one (``0o666`` less the umask), not the
    owner-only mode of the temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it back at once
    os.umask(mask)
    return mask


class Chunks:
    """A file's bytes as pieces (any bytes-like objects) written one after another and never
    joined into one object (a configuration image reaches gigabytes), with the SHA-256 of the
    whole. The last piece and the SHA-256 come from ``tail`` (a future of ``(last piece, hex
    digest)``): they may still be computed on a thread while the other pieces are written
    (:meth:`pieces`), as a configuration image's checksum trailer is."""

    def __init__(self, body: tuple, size: int, tail: Future):
        self.body, self.size, self._tail = body, size, tail

    @property
    def sha256(self) -> str:
        return self._tail.result()[1]

    @property
    def parts(self) -> tuple:
        return (*self.body, self._tail.result()[0])

    def pieces(self) -> Iterator:
        """The pieces in order, the last one as soon as it is known."""
        yield from self.body
        yield self._tail.result()[0]

    def tobytes(self) -> bytes:
        return b"".join(self.parts)


def write_bytes(path: str | os.PathLike, data: bytes | Chunks) -> None:
    with atomic_open(path, "wb") as f:
        if isinstance(data, Chunks):
            f.writelines(data.pieces())
        else:
            f.write(data)


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Deterministic JSON: sorted keys, fixed indentation, trailing newline."""
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def file_stem(name: str, default: str = "network") -> str:
    """A name (a network's, a population's) as a file name in one folder: path separators and
    control characters become ``_`` and leading dots go, so that it cannot leave the folder or
    hide there (``../escaped`` -> ``_escaped``, ``/abs/x`` -> ``_abs_x``)."""
    text = "".join("_" if c in "/\\" or ord(c) < 32 or ord(c) == 127 else c for c in str(name))
    text = text.lstrip(".")[:120]
    return text or default


MANIFEST = "nmc-manifest.json"


class OutputSet:
    """The files of one output (``nmc compile``'s image, mapping, report and plot; ``nmc
    simulate``'s spikes, summary and raster; ``compare``'s and ``rtl``'s), written as a whole: the old manifest goes first,
    each file is written atomically, and the manifest (each file's SHA-256) comes last. A folder
    whose manifest is missing or does not match its files holds no valid set (a run killed part
    way): :func:`check_set` says so. Leftover temporaries of a killed run are removed."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.files: dict[str, bytes | Chunks] = {}

    def add(self, name: str, data: bytes | Chunks) -> None:
        self.files[name] = data if isinstance(data, Chunks) else bytes(data)

    def add_json(self, name: str, obj: object) -> None:
        self.files[name] = (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()

    def commit(self) -> tuple[str, ...]:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in (*self.files, MANIFEST):  # what killed runs left of these files
            path = self.folder / name
            for stale in path.parent.glob(f".{_glob_escape(path.name)}.*.tmp") if path.parent.is_dir() else ():
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.folder / MANIFEST).unlink()  # from here to the new manifest, no valid set is here
        for name, data in self.files.items():
            write_bytes(self.folder / name, data)
        write_json(self.folder / MANIFEST, {"files": self._digests()})
        return tuple(self.files)

    def _digests(self) -> dict[str, str]:
        return {name: data.sha256 if isinstance(data, Chunks) else hashlib.sha256(data).hexdigest()
                for name, data in self.files.items()}

    def digest(self) -> str:
        """The SHA-256 of the set (:func:`set_digest` of its files' digests): a file written after the
        set names it, so that it never reads another set (``nmc import``'s YAML and its arrays)."""
        return set_digest(self._digests())


def set_digest(digests: dict[str, str]) -> str:
    """One SHA-256 for a set of files, from each file's SHA-256 (names sorted)."""
    return hashlib.sha256(json.dumps(sorted(digests.items())).encode()).hexdigest()


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def check_set(folder: str | os.PathLike, expected: str | None = None) -> str:
    """"" when ``folder`` holds a whole output set (its manifest and every file it names, intact;
    with ``expected``: the set of that :meth:`OutputSet.digest`), else why not."""
    folder = Path(folder)
    try:
        digests = json.loads((folder / MANIFEST).read_text())["files"]
        if not isinstance(digests, dict) or not all(isinstance(v, str) for v in digests.values()):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        return f"no valid {MANIFEST}"
    if expected is not None and set_digest(digests) != expected:
        return "another set of files (its digest differs)"
    for name, digest in digests.items():
        try:
            if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
                return f"{name} differs from the manifest"
        except OSError:
            return f"{name} is missing"
    return ""
