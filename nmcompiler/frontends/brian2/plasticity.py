"""Brian2 synapses that learn: pair-based STDP written the way Brian2's documentation writes it,
recognized and mapped to the IR's :class:`~nmcompiler.ir.STDP`.

The form (names free, lines of ``on_pre`` and ``on_post`` in this order)::

    model:   w : 1                                   a weight parameter
             dApre/dt = -Apre / taupre : 1 (event-driven)
             dApost/dt = -Apost / taupost : 1 (event-driven)
    on_pre:  x += w                                  delivery (the same as for fixed synapses), first
             Apre += dApre                           or '= dApre' (nearest pairing)
             w = clip(w + Apost, wmin, wmax)         depression ('w - Apost' when dApost > 0)
    on_post: Apost += dApost                         or '= dApost'
             w = clip(w + Apre, wmin, wmax)          potentiation

becomes ``STDP(tau_pre=taupre, tau_post=taupost, A_plus=|dApre|, A_minus=|dApost|, w_min, w_max)``
with additive dependence (Brian2's ``Apre`` is the IR's ``A_plus x``). The amplitudes and bounds
are scaled like the weights. Anything else that learns is refused with the form it must have.
"""

from __future__ import annotations

import re

import numpy as np

from ...errors import UserError
from ...ir import STDP
from ...ir.learning import Pairing

__all__ = ["is_plastic", "stdp_of"]

_TRACE = re.compile(r"^([A-Za-z_]\w*)\s*(\+=|=)\s*(.+)$")
_UPDATE = re.compile(r"^([A-Za-z_]\w*)\s*=\s*clip\(\s*([A-Za-z_]\w*)\s*([+-])\s*([A-Za-z_]\w*)\s*,"
                     r"\s*(.+?)\s*,\s*(.+?)\s*\)$")
FORM = ("'x += w' then 'Apre += dApre' then 'w = clip(w + Apost, wmin, wmax)' on_pre, and 'Apost += dApost' then "
        "'w = clip(w + Apre, wmin, wmax)' on_post, with 'dApre/dt = -Apre/taupre : 1 (event-driven)' and the same "
        "for Apost (docs/brian2.md)")


def is_plastic(syn) -> bool:
    """Whether ``syn`` has an on_post pathway or synaptic state equations."""
    from brian2.equations.equations import PARAMETER

    post = getattr(syn, "post", None)
    return bool(set(syn._pathways) - {syn.pre} or (post is not None and post in syn._pathways)
                or any(eq.type != PARAMETER for eq in syn.equations.ordered) or _event_driven(syn))


def _event_driven(syn) -> list:
    """Brian2 keeps event-driven equations apart from the synapses' other equations."""
    from brian2.equations.equations import DIFFERENTIAL_EQUATION

    eqs = getattr(syn, "event_driven", None)
    return [eq for eq in (eqs.ordered if eqs is not None else []) if eq.type == DIFFERENTIAL_EQUATION]


def _lines(code: str) -> list[str]:
    return [s.strip() for s in code.replace(";", "\n").splitlines() if s.strip()]


def _taus(syn, resolver, where: str) -> dict[str, float]:
    """``{trace: tau}`` of the event-driven equations ``dX/dt = -X / tau``."""
    from brian2.equations.equations import PARAMETER
    from brian2.parsing.sympytools import str_to_sympy

    clocked = [eq.varname for eq in syn.equations.ordered if eq.type != PARAMETER]
    if clocked:
        raise UserError(f"{where}: the synaptic equations for {clocked} are not event-driven; learning maps "
                        f"from {FORM}")
    out = {}
    for eq in _event_driven(syn):
        x = str_to_sympy(eq.varname)
        ratio = (str_to_sympy(eq.expr.code) / x).simplify()
        if x in ratio.free_symbols:
            raise UserError(f"{where}: d{eq.varname}/dt = {eq.expr.code} is not a decay -{eq.varname}/tau")
        tau = -1.0 / float(resolver.evaluate(ratio, eq.expr.code))
        if not tau > 0:
            raise UserError(f"{where}: d{eq.varname}/dt = {eq.expr.code} does not decay")
        out[eq.varname] = tau
    return out


def stdp_of(syn, resolver, where: str) -> tuple[str, STDP, str]:
    """``(delivery statement, rule, weight variable)``: the rule in the synapses' own weight units."""
    pre, post = _lines(syn.pre.code), _lines(syn.post.code) if getattr(syn, "post", None) is not None else []
    taus = _taus(syn, resolver, where)
    if len(pre) != 3 or len(post) != 2 or len(taus) != 2:
        raise UserError(f"{where}: this learning rule has no counterpart in the IR; STDP maps from {FORM}")
    pre_trace, post_trace = _TRACE.match(pre[1]), _TRACE.match(post[0])
    depress, potentiate = _UPDATE.match(pre[2]), _UPDATE.match(post[1])
    if not (pre_trace and post_trace and depress and potentiate):
        raise UserError(f"{where}: on_pre '{'; '.join(pre)}' / on_post '{'; '.join(post)}' are not of the form {FORM}")
    x_pre, op_pre, inc_pre = pre_trace.groups()
    x_post, op_post, inc_post = post_trace.groups()
    w = depress.group(1)
    if not (x_pre in taus and x_post in taus and x_pre != x_post and op_pre == op_post
            and depress.group(2) == w and depress.group(4) == x_post and potentiate.group(1) == w
            and potentiate.group(2) == w and potentiate.group(4) == x_pre
            and depress.group(5, 6) == potentiate.group(5, 6) and re.search(rf"\b{w}\b", pre[0])):
        raise UserError(f"{where}: on_pre '{'; '.join(pre)}' / on_post '{'; '.join(post)}' are not of the form {FORM}")
    value = (lambda text: float(np.asarray(resolver.evaluate(_sympy(text), text)).reshape(-1)[0]))
    a_pre, a_post = value(inc_pre), value(inc_post)
    sign_pre, sign_post = (1.0 if potentiate.group(3) == "+" else -1.0), (1.0 if depress.group(3) == "+" else -1.0)
    a_plus, a_minus = sign_pre * a_pre, -sign_post * a_post
    if a_plus < 0 or a_minus < 0:
        raise UserError(f"{where}: the pre-post change ({a_plus:g}) must potentiate and the post-pre change "
                        f"({-a_minus:g}) depress (anti-Hebbian STDP has no counterpart in the IR yet)")
    rule = STDP(tau_pre=taus[x_pre], tau_post=taus[x_post], A_plus=a_plus, A_minus=a_minus,
                w_min=value(depress.group(5)), w_max=value(depress.group(6)),
                pairing=Pairing.ALL_TO_ALL if op_pre == "+=" else Pairing.NEAREST)
    return pre[0], rule, w


def _sympy(text: str):
    from brian2.parsing.sympytools import str_to_sympy

    return str_to_sympy(text)
