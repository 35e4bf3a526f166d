"""Hardware targets: typed descriptions loaded from ``hwtargets/*.yaml`` or a user's file."""

from .target import ChipSpec, CoreSpec, RoutingSpec, SizingSpec, Target, load_target, target_names

__all__ = ["ChipSpec", "CoreSpec", "RoutingSpec", "SizingSpec", "Target", "load_target", "target_names"]
