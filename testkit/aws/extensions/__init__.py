"""Patches to moto, one module per AWS service."""

import os


def steps() -> int:
    """Describe calls an object spends in a transitional status before it settles."""
    return int(os.environ.get("SCALING_MOTO_STEPS", "2"))


def take_fault(action: str, target: str) -> "str | None":
    """The error code the next `action` call on `target` (a resource id) must answer, if a test
    asked for one.

    SCALING_MOTO_FAULTS names a JSON file mapping "ACTION TARGET" to lists of error codes;
    each call takes (and removes) the first. Keyed by target, so tests sharing a server never
    take each other's faults.
    """
    import json

    path = os.environ.get("SCALING_MOTO_FAULTS")
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        faults = json.load(f)
    key = f"{action} {target}"
    queue = faults.get(key) or []
    if not queue:
        return None
    code = queue.pop(0)
    with open(path, "w") as f:
        json.dump(faults, f)
    return code
