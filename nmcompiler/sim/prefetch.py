"""A software prefetch for compiled code: ``prefetch(a, i)`` asks the CPU to bring the cache line
of ``a[i]`` closer (LLVM's ``llvm.prefetch``: a hint, no effect on results, no fault on any
address; targets without a prefetch instruction drop it).

Why: a spike's synapse row is a short stretch at a random place in a table of gigabytes. Read in
the delivery loop, each of its cache lines is a miss the core cannot look far enough ahead to
overlap. Measured on this machine, rows of 500 synapses at random places, additions into 256 KiB:
~1.7 ns per synapse, and ~1.1 ns with the next row prefetched while one is added (used in
:func:`nmcompiler.sim.rows.deliver`).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch"]

_READ, _LOCALITY, _DATA = 0, 3, 1  # llvm.prefetch: read, keep in all cache levels, data cache


@intrinsic
def prefetch(typingctx, array, index):
    """Prefetch the line holding ``array[index]`` (a 1-d array, an integer index; not checked)."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(_READ), i32(_LOCALITY), i32(_DATA)])
        return context.get_dummy_value()

    return types.void(array, index), codegen
