"""Patches to moto, one module per AWS service."""

import os


def steps() -> int:
    """Describe calls an object spends in a transitional status before it settles."""
    return int(os.environ.get("SCALING_MOTO_STEPS", "2"))
