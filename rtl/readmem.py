"""Image-initialized designs whose memories are read from ``$readmemh`` files.

Yosys writes a memory's initial content as one Verilog statement per word: an image-initialized
8-core loihi-like chip held hundreds of thousands of them, more than gcc could compile in
Verilator's build. Here the design is the empty one (no initial content at all) and every memory
the image fills gets one ``$readmemh`` statement instead:

* the core's modules take a string parameter ``INIT``, the folder prefix of their files
  (``"core3/"``); a core instance passes it down to its submodules, and a core whose ``INIT`` is
  empty reads nothing (its memories start at zero);
* the core's memories ``param``, ``state``, ``axon``, ``row``, ``syn`` read ``INIT + "<name>.hex"``,
  and the configuration registers (``active``, ``first_comp``) take their fields of the single
  word of ``INIT + "ctrl.hex"``;
* a chip's router reads ``router/route<d>.hex``, the route table of destination core ``d``.

The files are those ``nmc rtl`` writes (:func:`memory_files`: one hexadecimal word per line, from
address 0), and paths are relative to the simulator's (or synthesis tool's) working directory. The
Verilog no longer depends on the image: one Verilator build serves every image of a parameter set.
"""

from __future__ import annotations

import re

from .load import ChipLoad, CoreLoad
from .params import MEMORIES

__all__ = ["hex_words", "memory_files", "with_readmem", "FILE_MEMORIES", "CTRL_REGISTERS"]

#: the core memories read from files (``ctrl`` is registers; the accumulator starts at zero)
FILE_MEMORIES = ("param", "state", "axon", "row", "syn")
#: register of the memories module <- field of the ``ctrl`` word
CTRL_REGISTERS = {"active": "active", "first_comp": "neurons"}


def hex_words(words: list[int], width: int) -> str:
    """``words`` as ``$readmemh`` text: one word per line, ``ceil(width / 4)`` hex digits."""
    digits = (width + 3) // 4
    return "".join(f"{w:0{digits}x}\n" for w in words)


def memory_files(load: CoreLoad | ChipLoad, layouts, chip=None) -> dict[str, str]:
    """The ``$readmemh`` files of ``load``: ``core<c>/<memory>.hex`` for every core memory (``ctrl``
    included; the synapse memory's words hold ``CoreParams.group`` entries: one per lane, a crossbar
    row alone) and, for a :class:`ChipLoad` (with its ``chip`` params), ``router/route<d>.hex``."""
    cores = load.cores if isinstance(load, ChipLoad) else (load,)
    files = {f"core{ld.core}/{name}.hex": hex_words(layouts.memory_words(name, ld.memories[name]),
                                                   layouts.memory_width(name))
             for ld in cores for name in MEMORIES}
    if isinstance(load, ChipLoad):
        files |= {f"router/{name}.hex": hex_words(load.memories[name], chip.route_layout.size)
                  for name in chip.route_names}
    return files


_MODULE = re.compile(r"^module (\S+) ?\(.*?\);\n", re.M | re.S)


def _modules(text: str) -> list[tuple[str, int, int]]:
    """(name without the escape backslash, end of its header, end of the module) of every module."""
    out = []
    for m in _MODULE.finditer(text):
        end = text.index("\nendmodule", m.end())
        out.append((m.group(1).lstrip("\\"), m.end(), end))
    return out


def with_readmem(text: str, core_module: str, ctrl_layout, *, core_init: str = "", top: str | None = None) -> str:
    """Yosys' Verilog of an empty design (no memory initializers) with the ``$readmemh`` reads of the
    module docstring: the modules of ``core_module`` (it and its ``core_module.*`` submodules) get
    the ``INIT`` parameter (default ``core_init`` on ``core_module``, ``""`` below), and the module
    ``top`` (a chip) reads the router's files. ``ctrl_layout``: the ``ctrl`` word's layout."""
    parts, last = [], 0
    found = set()
    for name, header, end in _modules(text):
        body = text[header:end]
        if name == core_module or name.startswith(core_module + "."):
            default = core_init if name == core_module else ""
            body = f'  parameter INIT = "{default}";\n' + _pass_init(body, core_module)
            body, got = _core_reads(body, ctrl_layout)
            found |= got
        elif name == top:
            body, got = _router_reads(body)
            found |= got
        parts += [text[last:header], body]
        last = end
    parts.append(text[last:])
    missing = ({*FILE_MEMORIES, "active"} | ({"route0"} if top else set())) - found
    if missing:
        raise RuntimeError(f"with_readmem: no declaration of {sorted(missing)} in the Verilog of {core_module}")
    return "".join(parts)


def _pass_init(body: str, core_module: str) -> str:
    """Instances of the core's submodules inside a core module get ``#(.INIT(INIT))``."""
    inst = re.compile(rf"^(  \\{re.escape(core_module)}\.\S* )\s*(\S+ \()$", re.M)
    return inst.sub(r"\1#(.INIT(INIT)) \2", body)


def _core_reads(body: str, ctrl_layout) -> tuple[str, set]:
    found = set()
    for name in FILE_MEMORIES:
        decl = re.search(rf"^  reg \[\d+:0\] {name} \[\d+:0\];\n", body, re.M)
        if decl:
            found.add(name)
            read = f'  initial if (INIT != "") $readmemh({{INIT, "{name}.hex"}}, {name});\n'
            body = body[:decl.end()] + read + body[decl.end():]
    assigns = []
    for reg, field in CTRL_REGISTERS.items():
        decl = re.search(rf"^  reg (\[\d+:0\] )?{reg} = [^;]+;\n", body, re.M)
        if decl is None:
            continue
        found.add(reg)
        body = body[:decl.start()] + f"  reg {decl.group(1) or ''}{reg};\n" + body[decl.end():]
        f = ctrl_layout[field]
        assigns.append(f"      {reg} = ctrl_init[0][{f.offset + f.shape.width - 1}:{f.offset}];\n")
    if assigns:
        regs = "".join(f"    {reg} = 0;\n" for reg in CTRL_REGISTERS if reg in found)
        body += (f"\n  reg [{ctrl_layout.size - 1}:0] ctrl_init [0:0];\n  initial begin\n{regs}"
                 f'    if (INIT != "") begin\n      $readmemh({{INIT, "ctrl.hex"}}, ctrl_init);\n'
                 + "".join(assigns) + "    end\n  end")
    return body, found


def _router_reads(body: str) -> tuple[str, set]:
    """Each route table ``route<d>`` reads ``router/route<d>.hex``."""
    found = set()
    for decl in reversed(list(re.finditer(r"^  reg \[\d+:0\] (route\d+) \[\d+:0\];\n", body, re.M))):
        name = decl.group(1)
        found.add(name)
        body = body[:decl.end()] + f'  initial $readmemh("router/{name}.hex", {name});\n' + body[decl.end():]
    return body, found
