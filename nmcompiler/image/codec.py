"""Binary configuration image: encode :class:`ImageContents` to bytes and decode them back.

Layout (docs/image-format.md): a 96-byte header, a section table (32 bytes per section), the
section payloads (8-byte aligned) and a SHA-256 trailer over everything before it. All fields
are little-endian and fixed-width. Every section carries a CRC-32, the header carries a CRC-32
of itself and the table, so any single flipped bit is detected and named.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np

from ..errors import UserError
from ..fileio import Chunks
from .meta_check import meta_problems
from .contents import COMPARTMENT_DTYPE, GLOBAL, NEURON_DTYPE, ROW_DTYPE, CoreImage, ImageContents
from .cam import CamCore, pack_host_routes, unpack_host_routes
from .layers import LayerImage
from .plastic import PLASTIC_DTYPE

__all__ = ["MAGIC", "VERSION", "VERSIONS", "SECTION_KINDS", "ImageError", "EncodedImage", "encode", "encode_image", "decode", "read_header", "SectionEntry"]

MAGIC = b"NMCIMAGE"
VERSION = 6  # the newest; an image is written with the oldest version that holds it
# 2 adds the compartments section (and meta's compartments, payload_bits), 3 plastic rows, 4 convolution layers,
# 5 CAM cores (cam, sram and host_routes sections, meta's cam), 6 lower bounds of v (v_min sections)
VERSIONS = (1, 2, 3, 4, 5, 6)
# magic, version, header bytes, sections, file bytes, target sha, crc, 0, target name, compiler version
HEADER = struct.Struct("<8sHHIQ32sII24s8s")
ENTRY = struct.Struct("<HHIQQII")  # kind, reserved, core, offset, size, crc32, reserved
TRAILER = 32
SECTION_KINDS = {1: "meta", 2: "neurons", 3: "rows", 4: "synapses", 5: "type_weights", 6: "routes", 7: "chip_table",
                 8: "compartments", 9: "plastic", 10: "layer", 11: "cam", 12: "sram", 13: "host_routes", 14: "v_min"}
_KIND = {v: k for k, v in SECTION_KINDS.items()}
_MAX_SECTIONS = 1 << 24


class ImageError(UserError):
    """An image that cannot be read: truncated, corrupted, or of another version or target."""


@dataclass(frozen=True)
class SectionEntry:
    kind: str
    core: int | None  # None: global (meta) or a chip table (core = chip number for chip_table)
    offset: int
    size: int
    crc32: int


def _array(a: np.ndarray, dtype) -> np.ndarray:
    """``a`` as contiguous ``dtype`` (little-endian), without a copy when it already is."""
    a = np.asarray(a)
    return a if a.dtype == np.dtype(dtype) and a.flags.c_contiguous else np.ascontiguousarray(a.astype(dtype))


def _pack_core(c: CoreImage) -> dict[str, list]:
    """Each section of a core as its pieces (bytes, or contiguous arrays read in place)."""
    R = c.decay_i.shape[0]
    neurons = [struct.pack("<IIIIii", c.neurons.size, R, c.position[0], c.position[1], c.position[2], 0),
               _array(c.neurons, NEURON_DTYPE), _array(c.decay_i, "<i4"), _array(c.i0, "<i4")]
    syn = c.synapses
    width = syn.shape[1] if syn.ndim == 2 else 0
    out = {
        "neurons": neurons,
        "rows": [struct.pack("<I", c.rows.size), _array(c.rows, ROW_DTYPE)],
        "synapses": [struct.pack("<II", syn.shape[0], width), _array(syn, "<u4" if syn.ndim == 1 else "u1")],
        "routes": [struct.pack("<III", c.key, c.mask, c.destinations.size), _array(c.destinations, "<u4")],
    }
    if c.type_weights.size:
        tw = c.type_weights
        out["type_weights"] = [struct.pack("<II", *tw.shape), _array(tw, "<i2")]
    if c.compartments.size:
        out["compartments"] = [struct.pack("<I", c.compartments.size), _array(c.compartments, COMPARTMENT_DTYPE)]
    if c.plastic.size:
        out["plastic"] = [struct.pack("<I", c.plastic.size), _array(c.plastic, PLASTIC_DTYPE)]
    if c.layer is not None:
        out["layer"] = [c.layer.pack()]
    if c.cam is not None:
        cam, sram = c.cam.pack()
        out["cam"], out["sram"] = [cam], [sram]
    if c.v_min.size:
        out["v_min"] = [struct.pack("<I", c.v_min.size), _array(c.v_min, "<i4")]
    return out


def _measured(pieces: list) -> tuple[int, int]:
    """(bytes, CRC-32) of a section's pieces."""
    size, crc = 0, 0
    for piece in pieces:
        size += _nbytes(piece)
        crc = zlib.crc32(piece, crc)
    return size, crc


def _nbytes(piece) -> int:
    return piece.nbytes if isinstance(piece, np.ndarray) else len(piece)


MEASURE_THREADS: int | None = None  # threads summing (None: numba's, as the other passes; zlib releases the GIL)
MEASURE_ALONE = 1 << 24  # bytes below which the sections are summed on the calling thread


def _measure_all(sections: list[list]) -> list[tuple[int, int]]:
    """:func:`_measured` of every section, the sections cut into runs of about equal bytes that
    are summed on threads of their own (the same figures in the same order)."""
    sizes = np.cumsum([sum(_nbytes(p) for p in pieces) for pieces in sections])
    threads = MEASURE_THREADS or numba.get_num_threads()
    if not sections or sizes[-1] < MEASURE_ALONE or threads < 2:
        return [_measured(pieces) for pieces in sections]
    cuts = [0, *np.searchsorted(sizes, sizes[-1] * np.arange(1, threads) / threads).tolist(), len(sections)]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nmc-crc") as pool:
        runs = pool.map(lambda ab: [_measured(pieces) for pieces in sections[ab[0]:ab[1]]], zip(cuts[:-1], cuts[1:]))
        return [m for run in runs for m in run]


class EncodedImage(Chunks):
    """An encoded image as the pieces of its file (:func:`encode_image`) and its section table."""

    def __init__(self, body: tuple, size: int, tail: Future, entries: tuple[SectionEntry, ...]):
        super().__init__(body, size, tail)
        self.entries = entries


def encode(contents: ImageContents) -> bytes:
    """Deterministic bytes: same contents, same image (no timestamps, stable order). The section
    payloads are read from the contents' arrays in place and copied once, into the image."""
    return encode_image(contents).tobytes()


def encode_image(contents: ImageContents) -> EncodedImage:
    """The bytes :func:`encode` makes, as pieces that refer to the contents' arrays (a file is
    written from them without one joined copy), with the file's SHA-256 and section table."""
    sections: list[tuple[int, int, list]] = [
        (_KIND["meta"], GLOBAL, [json.dumps(contents.meta, sort_keys=True, separators=(",", ":")).encode()])]
    for c in contents.cores:
        for name, pieces in _pack_core(c).items():
            sections.append((_KIND[name], c.core, pieces))
    if contents.host_routes is not None:
        sections.append((_KIND["host_routes"], GLOBAL, [pack_host_routes(contents.host_routes)]))
    for chip, table in sorted(contents.chip_tables.items()):
        sections.append((_KIND["chip_table"], chip, [struct.pack("<I", table.shape[0]), _array(table, "<u4")]))
    table_bytes = len(sections) * ENTRY.size
    offset = _align(HEADER.size + table_bytes)
    entries, body, table = [], [], []
    for (kind, core, pieces), (size, crc) in zip(sections, _measure_all([pieces for _, _, pieces in sections])):
        entries.append(ENTRY.pack(kind, 0, core, offset, size, crc, 0))
        table.append(SectionEntry(kind=SECTION_KINDS[kind], core=None if core == GLOBAL else core, offset=offset,
                                  size=size, crc32=crc))
        pad = _align(size) - size
        body += [*pieces, b"\0" * pad]
        offset += size + pad
    del sections
    file_bytes = offset + TRAILER
    entry_bytes = b"".join(entries)
    name = contents.meta["target"].encode()[:24]
    compiler = contents.meta["compiler"].rsplit(" ", 1)[-1].encode()[:8]
    version = (6 if any(c.v_min.size for c in contents.cores)
               else 5 if contents.host_routes is not None else 4 if any(c.layer is not None for c in contents.cores) else 3 if contents.meta.get("plastic")
               else 2 if any(c.compartments.size for c in contents.cores) else 1)
    fields = [MAGIC, version, HEADER.size, len(entries), file_bytes, contents.target_digest, 0, 0,
              name, compiler]
    crc = zlib.crc32(HEADER.pack(*fields) + entry_bytes)
    fields[6] = crc
    pre_pad = _align(HEADER.size + table_bytes) - HEADER.size - table_bytes
    chunks = (HEADER.pack(*fields), entry_bytes, b"\0" * pre_pad, *body)
    del body
    # the SHA-256 (0.76 GB/s here, one stream) runs on a thread of its own: a caller writing the
    # file writes the pieces meanwhile and waits for the trailer only at the end
    sealing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nmc-sha256")
    tail = sealing.submit(_seal, chunks)
    sealing.shutdown(wait=False)
    return EncodedImage(chunks, file_bytes, tail, tuple(table))


def _seal(chunks: tuple) -> tuple[bytes, str]:
    """The trailer (the SHA-256 of ``chunks``) and the whole file's SHA-256, trailer included."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    trailer = digest.digest()
    digest.update(trailer)
    return trailer, digest.hexdigest()


def _align(x: int) -> int:
    return (x + 7) & ~7


def read_header(data: bytes, where: str = "image") -> tuple[dict, list[SectionEntry]]:
    """Check magic, version, sizes and every checksum; return the header and the section table."""
    if len(data) < HEADER.size + TRAILER:
        raise ImageError(f"{where}: truncated ({len(data)} bytes; a header alone takes {HEADER.size + TRAILER})")
    magic, version, hsize, count, file_bytes, digest, crc, _, tname, cver = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ImageError(f"{where}: not an nmcompiler image (magic {magic!r}, expected {MAGIC!r})")
    if version not in VERSIONS:
        raise ImageError(f"{where}: image format version {version}; this nmcompiler reads versions "
                         f"{', '.join(map(str, VERSIONS))}")
    if hsize != HEADER.size or count > _MAX_SECTIONS or HEADER.size + count * ENTRY.size + TRAILER > len(data):
        raise ImageError(f"{where}: corrupted header (header size {hsize}, {count} sections, {len(data)} bytes)")
    if file_bytes != len(data):
        raise ImageError(f"{where}: truncated or extended: the header says {file_bytes} bytes, the file has {len(data)}")
    view = memoryview(data)  # slices of a view copy nothing (images reach gigabytes)
    table = bytes(view[HEADER.size:HEADER.size + count * ENTRY.size])
    blank = HEADER.pack(magic, version, hsize, count, file_bytes, digest, 0, 0, tname, cver)
    if zlib.crc32(blank + table) != crc:
        raise ImageError(f"{where}: header or section table corrupted (CRC-32 mismatch)")
    if hashlib.sha256(view[:-TRAILER]).digest() != data[-TRAILER:]:
        raise ImageError(f"{where}: file checksum (SHA-256 trailer) mismatch: the image is corrupted")
    entries = []
    for k in range(count):
        kind, _, core, off, size, scrc, _ = ENTRY.unpack_from(table, k * ENTRY.size)
        name = SECTION_KINDS.get(kind)
        newer = ((name == "compartments" and version < 2) or (name == "plastic" and version < 3)
                 or (name == "layer" and version < 4) or (name in ("cam", "sram", "host_routes") and version < 5))
        if name is None or newer or off + size > len(data) - TRAILER or off < HEADER.size + count * ENTRY.size:
            raise ImageError(f"{where}: section {k} is corrupted (kind {kind}, offset {off}, size {size})")
        if zlib.crc32(view[off:off + size]) != scrc:
            raise ImageError(f"{where}: section {k} ({name}{'' if core == GLOBAL else f', core {core}'}) corrupted "
                             "(CRC-32 mismatch)")
        entries.append(SectionEntry(kind=name, core=None if core == GLOBAL else core, offset=off, size=size, crc32=scrc))
    header = {"magic": magic.decode(), "format_version": version, "sections": count, "file_bytes": file_bytes,
              "target": tname.rstrip(b"\0").decode(errors="replace"),
              "compiler_version": cver.rstrip(b"\0").decode(errors="replace"),
              "target_sha256": digest.hex(), "header_crc32": crc, "sha256": data[-TRAILER:].hex()}
    return header, entries


class _Reader:
    def __init__(self, data: memoryview, where: str, what: str):
        self.data, self.pos, self.where, self.what = data, 0, where, what

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise ImageError(f"{self.where}: section {self.what} is shorter than its fields say")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        s = struct.Struct(fmt)
        return s.unpack(self.take(s.size))

    def array(self, dtype, count: int, shape=None) -> np.ndarray:
        dt = np.dtype(dtype)
        a = np.frombuffer(self.take(dt.itemsize * count), dtype=dt).copy()
        return a.reshape(shape) if shape is not None else a

    def done(self) -> None:
        if self.pos != len(self.data):
            raise ImageError(f"{self.where}: section {self.what} has {len(self.data) - self.pos} unexpected bytes")


def decode(data: bytes, where: str = "image") -> ImageContents:
    """Parse and check an image; every problem is an :class:`ImageError` naming what is wrong."""
    header, entries = read_header(data, where)
    metas = [e for e in entries if e.kind == "meta"]
    hosts = [e for e in entries if e.kind == "host_routes"]
    if len(hosts) > 1 or any(e.core is not None for e in hosts):
        raise ImageError(f"{where}: {len(hosts)} host_routes sections, expected at most 1, global")
    if len(metas) != 1:
        raise ImageError(f"{where}: {len(metas)} meta sections, expected 1")
    try:
        meta = json.loads(bytes(data[metas[0].offset:metas[0].offset + metas[0].size]).decode())
    except (ValueError, RecursionError) as exc:
        raise ImageError(f"{where}: meta section unreadable: {type(exc).__name__}: {str(exc)[:200]}") from None
    problems = meta_problems(meta)
    if problems:
        raise ImageError(f"{where}: meta section: " + "; ".join(problems))
    n_cores = int(meta["cores"])
    if meta.get("target_sha256") != header["target_sha256"]:
        raise ImageError(f"{where}: the meta section's target digest differs from the header's")
    per_core: dict[int, dict[str, memoryview]] = {}
    chip_tables = {}
    view = memoryview(data)  # sections are views: each array below is the one copy of its bytes
    for e in entries:
        payload = view[e.offset:e.offset + e.size]
        if e.kind == "chip_table":
            r = _Reader(payload, where, f"chip_table {e.core}")
            (count,) = r.unpack("<I")
            chip_tables[int(e.core)] = r.array("<u4", count * 3, (count, 3)).astype(np.uint32, copy=False)
            r.done()
        elif e.kind not in ("meta", "host_routes"):
            if e.core is None or e.core >= n_cores or e.kind in per_core.setdefault(e.core, {}):
                raise ImageError(f"{where}: unexpected {e.kind} section for core {e.core}")
            per_core[e.core][e.kind] = payload
    cores = []
    for c in range(n_cores):
        s = per_core.get(c, {})
        missing = {"neurons", "rows", "synapses", "routes"} - set(s)
        if missing:
            raise ImageError(f"{where}: core {c} lacks its {', '.join(sorted(missing))} section(s)")
        cores.append(_unpack_core(c, s, where))
    host = None
    if hosts:
        host = unpack_host_routes(_Reader(view[hosts[0].offset:hosts[0].offset + hosts[0].size], where, "host_routes"))
    if (host is not None) != ("cam" in meta) or any((c.cam is None) == (host is not None) for c in cores):
        raise ImageError(f"{where}: a CAM image has host_routes, meta's cam and every core's cam and sram sections")
    return ImageContents(meta=meta, cores=tuple(cores), chip_tables=chip_tables, host_routes=host)


def _unpack_core(c: int, s: dict[str, memoryview], where: str) -> CoreImage:
    r = _Reader(s["neurons"], where, f"neurons of core {c}")
    n, R, chip, row, col, _ = r.unpack("<IIIIii")
    if n > len(s["neurons"]) or R > 64:
        raise ImageError(f"{where}: neurons section of core {c} is corrupted ({n} neurons, {R} channels)")
    neurons = r.array(NEURON_DTYPE, n)
    decay_i = r.array("<i4", R * n, (R, n)).astype(np.int32, copy=False)
    i0 = r.array("<i4", R * n, (R, n)).astype(np.int32, copy=False)
    r.done()
    r = _Reader(s["rows"], where, f"rows of core {c}")
    (count,) = r.unpack("<I")
    rows = r.array(ROW_DTYPE, count)
    r.done()
    if rows.size and not 0 <= int(rows["exponent"].min()) <= int(rows["exponent"].max()) <= 62:
        raise ImageError(f"{where}: a row of core {c} has a weight exponent outside [0, 62]")
    r = _Reader(s["synapses"], where, f"synapses of core {c}")
    count, width = r.unpack("<II")
    synapses = (r.array("<u4", count).astype(np.uint32, copy=False) if width == 0
                else r.array("u1", count * width, (count, width)))
    r.done()
    if width == 0 and np.any(rows["start"].astype(np.int64) + rows["length"] > count):
        raise ImageError(f"{where}: a row of core {c} points past its {count} synapses")
    if width and np.any(rows["length"] > n):
        raise ImageError(f"{where}: a crossbar row of core {c} has more synapses than the core has neurons")
    r = _Reader(s["routes"], where, f"routes of core {c}")
    key, mask, nd = r.unpack("<III")
    dests = r.array("<u4", nd).astype(np.uint32, copy=False)
    r.done()
    tw = np.zeros((0, 0), dtype=np.int16)
    if "type_weights" in s:
        r = _Reader(s["type_weights"], where, f"type_weights of core {c}")
        a, b = r.unpack("<II")
        tw = r.array("<i2", a * b, (a, b)).astype(np.int16, copy=False)
        r.done()
    if width and (tw.shape[0] != n or (rows.size and int(rows["axon_type"].max()) >= tw.shape[1])):
        raise ImageError(f"{where}: core {c}: crossbar weights do not match its neurons and axon types")
    comps = _counted(s, "compartments", COMPARTMENT_DTYPE, where, c)
    v_min = _counted(s, "v_min", "<i4", where, c).astype(np.int32, copy=False)
    if v_min.size not in (0, n):
        raise ImageError(f"{where}: the v_min section of core {c} holds {v_min.size} bounds for its {n} neurons")
    plastic = _counted(s, "plastic", PLASTIC_DTYPE, where, c)
    learn_rows = plastic["row"].astype(np.int64)
    if learn_rows.size and (int(learn_rows.max()) >= rows.size or np.any(np.diff(learn_rows) <= 0)):
        raise ImageError(f"{where}: the plastic section of core {c} names rows it does not have (or not ascending)")
    layer = None
    if "layer" in s:
        try:
            layer = LayerImage.unpack(_Reader(s["layer"], where, f"layer of core {c}"), c)
        except ImageError:
            raise
        except UserError as exc:
            raise ImageError(f"{where}: {exc}") from None
    cam = None
    if ("cam" in s) != ("sram" in s):
        raise ImageError(f"{where}: core {c} has a cam section without its sram section, or the reverse")
    if "cam" in s:
        try:
            cam = CamCore.unpack(_Reader(s["cam"], where, f"cam of core {c}"),
                                 _Reader(s["sram"], where, f"sram of core {c}"))
        except ImageError:
            raise
        except UserError as exc:
            raise ImageError(f"{where}: core {c}: {exc}") from None
        if cam.words.shape[0] != n:
            raise ImageError(f"{where}: core {c}: its cam section holds {cam.words.shape[0]} neurons, it has {n}")
    return CoreImage(core=c, position=(chip, row, col), neurons=neurons, decay_i=decay_i, i0=i0, rows=rows,
                     synapses=synapses, type_weights=tw, key=key, mask=mask, destinations=dests, compartments=comps,
                     plastic=plastic, layer=layer, cam=cam, v_min=v_min)


def _counted(s: dict[str, memoryview], name: str, dtype, where: str, c: int) -> np.ndarray:
    """A core's optional section of ``u32`` count and that many ``dtype`` records (empty when absent)."""
    if name not in s:
        return np.zeros(0, dtype=dtype)
    r = _Reader(s[name], where, f"{name} of core {c}")
    (count,) = r.unpack("<I")
    out = r.array(dtype, count)
    r.done()
    return out
