"""Design-rule checks of a network against a target's limits."""

from .rules import RULES, Rule, Violation, check, cores_lower_bound

__all__ = ["RULES", "Rule", "Violation", "check", "cores_lower_bound"]
