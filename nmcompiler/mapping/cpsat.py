"""One reproducible OR-Tools CP-SAT solve, shared by the exact partitioner and placer."""

from __future__ import annotations

__all__ = ["solve_deterministic"]


def solve_deterministic(model, deterministic_time: float, seed: int):
    """Solve ``model`` with one worker, a budget in CP-SAT's deterministic seconds and a fixed
    seed, so that the same model gives the same answer on any machine. Returns ``(solver,
    status, status_name, found)`` where ``found`` says a feasible or optimal solution exists."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = deterministic_time
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    return solver, status, solver.status_name(status), status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
