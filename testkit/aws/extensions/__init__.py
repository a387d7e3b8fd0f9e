"""Patches to moto, one module per AWS service."""

import os
import threading
import time


def steps() -> int:
    """Describe calls an object spends in a transitional status before it settles."""
    return int(os.environ.get("SCALING_MOTO_STEPS", "2"))


def take_fault(action: str, target: str) -> "str | None":
    """The error code the next `action` call on `target` (a resource id) must answer, if a test
    asked for one.

    SCALING_MOTO_CONTROL names a JSON file mapping "ACTION TARGET" to lists of error codes;
    each call takes (and removes) the first. Keyed by target, so tests sharing a server never
    take each other's faults.
    """
    import json

    path = os.environ.get("SCALING_MOTO_CONTROL")
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


def take_commands(kind: str) -> "list[str]":
    """Commands a test left in the control file under "@kind" (e.g. the ids whose maintenance
    window opens now), taken once."""
    import json

    path = os.environ.get("SCALING_MOTO_CONTROL")
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        control = json.load(f)
    commands = control.pop(f"@{kind}", None) or []
    if commands:
        with open(path, "w") as f:
            json.dump(control, f)
    return commands


def answer_with(response: object, action: str, error: Exception) -> None:
    """Makes this one request answer `error`, serialized as moto serializes the errors its
    actions raise (raised anywhere else it would be an HTTP 500, which SDKs retry)."""
    from moto.core.utils import camelcase_to_underscores

    def fail() -> None:
        raise error

    setattr(response, camelcase_to_underscores(action), fail)


_bucket_lock = threading.Lock()
_buckets: "dict[str, list[float]]" = {}


def over_rate(service: str) -> bool:
    """Whether this call of `service` exceeds SCALING_MOTO_RATE calls a second (unset: no
    limit), as AWS's per-account API rate limits do: a token bucket holding a second's worth."""
    rate = float(os.environ.get("SCALING_MOTO_RATE", "0") or 0)
    if rate <= 0:
        return False
    with _bucket_lock:
        now = time.monotonic()
        tokens, last = _buckets.get(service, [rate, now])
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens < 1:
            _buckets[service] = [tokens, now]
            return True
        _buckets[service] = [tokens - 1, now]
        return False
