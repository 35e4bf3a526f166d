"""Recognise a Brian2 ``NeuronGroup`` as one of the IR's neuron models, with sympy.

Accepted: one membrane variable ``v`` (the one the threshold tests) with a linear equation

    dv/dt = alpha + beta v + sum_k gamma_k s_k          (beta < 0: LIF / CubaLIF, beta = 0: IF)

and synaptic variables ``ds_k/dt = -s_k / tau_k``, where alpha, beta, gamma_k and tau_k are
expressions of the group's parameters and of constants (evaluated per neuron). The IR keeps
``r = 1`` and currents in volts: ``tau_m = -1/beta``, ``v_leak = -alpha/beta`` and the synaptic
variable ``s_k`` becomes the current ``I_k = gamma_k tau_m s_k`` (so an increment ``s_k += w``
is a weight ``gamma_k tau_m w``). Everything else is refused with the group and the term named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from ...errors import UserError
from ...ir import IF, LIF, CubaLIF, Integration, NeuronModel, ResetMode

__all__ = ["GroupModel", "Resolver", "group_model", "compact"]

_METHODS = {"exact": Integration.EXACT, "linear": Integration.EXACT, "euler": Integration.FORWARD_EULER}


class Resolver:
    """Values of the identifiers in a group's code: per-neuron arrays or SI floats."""

    def __init__(self, group, namespace: dict, where: str):
        self.group, self.namespace, self.where = group, namespace, where

    def value(self, name: str, text: str) -> np.ndarray | float:
        from brian2.core.functions import Function
        from brian2.core.variables import ArrayVariable, Constant

        if name in ("t", "t_in_timesteps", "lastspike") or name.startswith("xi"):
            raise UserError(f"{self.where}: '{text}' depends on '{name}' (time, noise or spike history): "
                            "only time-invariant linear dynamics map onto the IR's neuron models")
        try:
            obj = self.group.resolve_all([name], self.namespace)[name]
        except Exception as exc:  # noqa: BLE001 - Brian2 raises KeyError or its own errors
            raise UserError(f"{self.where}: cannot resolve '{name}' in '{text}': {exc}") from None
        if isinstance(obj, Constant):
            return float(obj.value)
        if isinstance(obj, ArrayVariable):
            return np.asarray(obj.get_value(), dtype=np.float64).copy()
        if isinstance(obj, Function):
            raise UserError(f"{self.where}: '{text}' calls the function '{name}': only linear equations map")
        raise UserError(f"{self.where}: '{name}' in '{text}' is a {type(obj).__name__}, not a parameter or constant")

    def evaluate(self, expr: sympy.Expr, text: str) -> np.ndarray | float:
        """An expression without state variables, per neuron (or a scalar)."""
        symbols = sorted(expr.free_symbols, key=str)
        values = [self.value(str(s), text) for s in symbols]
        fn = sympy.lambdify(symbols, expr, modules="numpy")
        return np.asarray(fn(*values), dtype=np.float64) if symbols else float(expr)


@dataclass(frozen=True)
class GroupModel:
    """A converted group: the IR model, its initial state, and how each synaptic variable scales."""

    model: NeuronModel
    initial: dict
    membrane: str  # the Brian2 name of v
    scales: dict  # synaptic variable -> per-neuron factor from s_k to the IR current (volts)


def _sym(name: str) -> sympy.Symbol:
    """The symbol Brian2's parser makes of ``name`` (real-valued, so not ``sympy.Symbol(name)``)."""
    from brian2.parsing.sympytools import str_to_sympy

    return str_to_sympy(name)


def _refuse(where: str, message: str) -> UserError:
    return UserError(f"{where}: {message}")


def _linear(expr: sympy.Expr, states: list[sympy.Symbol], where: str, text: str) -> tuple[sympy.Expr, dict]:
    """``expr`` as constant + sum_x coeff_x x; refuses a term that is not linear in the states."""
    expr = sympy.expand(expr)
    for term in sympy.Add.make_args(expr):
        degree = sum(sympy.degree(term, s) if term.is_polynomial(s) else 99 for s in states if term.has(s))
        if degree > 1:
            raise _refuse(where, f"the term '{term}' of '{text}' is not linear in the state variables "
                                 "(conductance-based or non-linear dynamics do not map onto the IR's models)")
    coeffs = {s: sympy.simplify(sympy.diff(expr, s)) for s in states if expr.has(s)}
    constant = sympy.simplify(expr.subs({s: 0 for s in states}))
    return constant, coeffs


def _equations(group, where: str):
    from brian2.equations.equations import DIFFERENTIAL_EQUATION, SUBEXPRESSION
    from brian2.parsing.sympytools import str_to_sympy

    eqs = group.user_equations
    diff = {eq.varname: eq for eq in eqs.ordered if eq.type == DIFFERENTIAL_EQUATION}
    subs = {}
    for eq in eqs.ordered:
        if eq.type == SUBEXPRESSION:
            subs[_sym(eq.varname)] = str_to_sympy(eq.expr.code)
    if any("summed" in eq.flags for eq in eqs.ordered):
        raise _refuse(where, "summed variables (Synapses '(summed)') are not supported")
    exprs = {}
    for name, eq in diff.items():
        expr = str_to_sympy(eq.expr.code)
        for _ in range(len(subs) + 1):
            expr = expr.subs(subs)
        exprs[name] = (expr, eq)
    return exprs


def _membrane(group, where: str) -> tuple[str, sympy.Expr, str]:
    from brian2.parsing.sympytools import str_to_sympy

    events = dict(group.events)
    extra = sorted(set(events) - {"spike"})
    if extra:
        raise _refuse(where, f"custom events {extra} are not supported (only the spike threshold)")
    text = events.get("spike")
    if text is None:
        raise _refuse(where, "has no threshold: a group without spikes cannot drive anything")
    cond = str_to_sympy(text)
    if isinstance(cond, (sympy.StrictLessThan, sympy.LessThan)):
        cond = cond.reversed
    if not isinstance(cond, (sympy.StrictGreaterThan, sympy.GreaterThan)) or not isinstance(cond.lhs, sympy.Symbol):
        raise _refuse(where, f"threshold '{text}' is not of the form 'v > expression' or 'v >= expression'")
    compare = ">" if isinstance(cond, sympy.StrictGreaterThan) else ">="
    return str(cond.lhs), cond.rhs, compare


def _reset(group, v: str, where: str, resolve: Resolver, threshold) -> tuple[str, np.ndarray | float]:
    code = group.event_codes.get("spike", "") or ""
    lines = [s.strip() for s in code.replace(";", "\n").splitlines() if s.strip()]
    if not lines:
        raise _refuse(where, "threshold without reset: the IR's neurons reset after a spike (add reset='v = ...')")
    if len(lines) > 1:
        raise _refuse(where, f"reset '{code}' has {len(lines)} statements; only one on '{v}' maps")
    from brian2.parsing.sympytools import str_to_sympy

    stmt = lines[0]
    for op, mode in (("-=", ResetMode.SUBTRACT), ("=", ResetMode.VALUE)):
        lhs, sep, rhs = stmt.partition(op)
        if sep and lhs.strip() == v:
            value = resolve.evaluate(str_to_sympy(rhs), stmt)
            if mode == ResetMode.SUBTRACT:
                return mode, threshold - value
            expr = str_to_sympy(rhs)
            if _sym(v) in expr.free_symbols:
                break
            return mode, value
    raise _refuse(where, f"reset '{stmt}' is not 'v = expression' or 'v -= expression' on '{v}'")


def _refractory(group, where: str, resolve: Resolver, flagged: bool) -> np.ndarray:
    from brian2.parsing.sympytools import str_to_sympy

    raw, dt = group._refractory, float(group.clock.dt_)
    if raw is False or raw is None:
        value = 0.0
    elif isinstance(raw, str):
        expr = str_to_sympy(raw)
        if isinstance(expr, sympy.core.relational.Relational) or expr.is_Boolean:
            raise _refuse(where, f"refractory condition '{raw}' is not supported (give a duration)")
        value = resolve.evaluate(expr, raw)
    else:
        value = float(raw)
    if np.any(np.asarray(value) > 0) and not flagged:
        raise _refuse(where, "refractory period without '(unless refractory)' on the membrane equation: the IR "
                             "holds v while refractory (add the flag)")
    # Brian2 tests (t - lastspike) >= refractory before each update: a spike in step n holds the
    # updates of steps n+1 .. n+R-1 (R = refractory / dt), one fewer than the IR's R held steps
    return np.maximum(np.asarray(value, dtype=np.float64) - dt, 0.0)


def _method(group, where: str) -> str:
    choice = group.state_updater.method_choice
    if isinstance(choice, (list, tuple)):
        choice = next((c for c in choice if c in _METHODS), choice[0] if choice else None)
    if not isinstance(choice, str) or choice not in _METHODS:
        raise _refuse(where, f"integration method {choice!r} does not map (use method='exact', 'linear' or 'euler')")
    return _METHODS[choice]


def group_model(group, namespace: dict, where: str) -> GroupModel:
    """The IR model of a Brian2 ``NeuronGroup`` (parameters evaluated per neuron)."""
    resolve = Resolver(group, namespace, where)
    exprs = _equations(group, where)
    v, rhs, compare = _membrane(group, where)
    if v not in exprs:
        raise _refuse(where, f"the threshold tests '{v}', which has no differential equation")
    states = [_sym(n) for n in exprs]
    expr_v, eq_v = exprs[v]
    alpha, coeffs = _linear(expr_v, states, where, f"d{v}/dt = {eq_v.expr.code}")
    beta = resolve.evaluate(coeffs.pop(_sym(v), sympy.Integer(0)), eq_v.expr.code)
    syn_names = [n for n in exprs if n != v]
    tau_syn, scales = [], {}
    for name in syn_names:
        expr, eq = exprs[name]
        text = f"d{name}/dt = {eq.expr.code}"
        const, own = _linear(expr, states, where, text)
        if const != 0 or set(own) != {_sym(name)}:
            raise _refuse(where, f"'{text}' is not an exponential decay (d{name}/dt = -{name}/tau)")
        if "unless refractory" in eq.flags:
            raise _refuse(where, f"'{name}' is held while refractory; the IR's synaptic currents keep decaying")
        rate = resolve.evaluate(own[_sym(name)], text)
        if np.any(np.asarray(rate) >= 0):
            raise _refuse(where, f"'{text}' does not decay (its coefficient must be negative)")
        tau_syn.append(np.broadcast_to(-1.0 / np.asarray(rate), (group.N,)))
    gamma = {n: resolve.evaluate(coeffs.get(_sym(n), sympy.Integer(0)), eq_v.expr.code) for n in syn_names}
    alpha_v = resolve.evaluate(alpha, eq_v.expr.code)
    common = dict(
        v_threshold=compact(resolve.evaluate(rhs, group.events["spike"])), refractory=compact(_refractory(
            group, where, resolve, "unless refractory" in eq_v.flags)),
        compare=compare, integration=_method(group, where), input_before_update=True)
    reset, value = _reset(group, v, where, resolve, common["v_threshold"])
    common.update(reset=reset, v_reset=compact(value))
    beta = np.asarray(beta, dtype=np.float64)
    if np.all(beta == 0):
        if syn_names:
            raise _refuse(where, f"'{v}' has no leak but synaptic variables {syn_names}: the IR's IF has no currents")
        return GroupModel(IF(bias=compact(alpha_v), **common), {"v": compact(_state(group, v))}, v, {})
    if np.any(beta >= 0):
        raise _refuse(where, f"d{v}/dt = {eq_v.expr.code} has a non-negative coefficient of '{v}' (no stable leak)")
    tau_m = -1.0 / beta
    leak = -np.asarray(alpha_v) / beta
    initial = {"v": compact(_state(group, v))}
    tau_m, leak = compact(tau_m), compact(leak)
    if not syn_names:
        return GroupModel(LIF(tau_mem=tau_m, v_leak=leak, **common), initial, v, {})
    scales = {n: np.broadcast_to(np.asarray(gamma[n]) * tau_m, (group.N,)).astype(np.float64) for n in syn_names}
    initial["i"] = np.stack([_state(group, n) * scales[n] for n in syn_names])
    model = CubaLIF(tau_mem=tau_m, v_leak=leak, tau_syn=compact(np.stack(tau_syn)), receptor_names=tuple(syn_names),
                    **common)
    return GroupModel(model, initial, v, scales)


def compact(value):
    """A per-neuron array whose entries are all equal becomes one shared value."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1 and arr.size and np.all(arr == arr[0]):
        return arr[0]
    if arr.ndim == 2 and arr.size and np.all(arr == arr[:, :1]):  # tau_syn: (R, n) -> (R,)
        return arr[:, 0]
    return arr


def _state(group, name: str) -> np.ndarray:
    return np.asarray(group.variables[name].get_value(), dtype=np.float64).copy()
