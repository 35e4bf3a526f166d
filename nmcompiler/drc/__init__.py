"""Design-rule checks of a network against a target's limits."""

from .rules import RULES, Violation, check, cores_lower_bound

__all__ = ["RULES", "Violation", "check", "cores_lower_bound"]
