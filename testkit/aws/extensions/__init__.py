"""Patches to moto, one module per AWS service."""

import os
import threading
import time
from typing import Any, Callable


def steps() -> int:
    """Describe calls an object spends in a transitional status before it settles."""
    return int(os.environ.get("SCALING_MOTO_STEPS", "2"))


def _take(edit: "Callable[[dict[str, Any]], Any]") -> Any:
    """Runs `edit` on the control file's contents and saves what it changed. The file is
    shared with the tests (testkit/src/moto.rs), which edit it the same way: under an
    exclusive lock on CONTROL.lock, written whole to a temporary file and renamed, so no
    reader sees half a file and no edit undoes another's."""
    import fcntl
    import json

    path = os.environ.get("SCALING_MOTO_CONTROL")
    if not path or not os.path.exists(path):
        return None
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(path) as f:
            control = json.load(f)
        before = json.dumps(control, sort_keys=True)
        taken = edit(control)
        if json.dumps(control, sort_keys=True) != before:
            with open(path + ".tmp", "w") as f:
                json.dump(control, f)
            os.replace(path + ".tmp", path)
        return taken


def take_fault(action: str, target: str) -> "str | None":
    """The error code the next `action` call on `target` (a resource id) must answer, if a test
    asked for one.

    SCALING_MOTO_CONTROL names a JSON file mapping "ACTION TARGET" to lists of error codes;
    each call takes (and removes) the first. Keyed by target, so tests sharing a server never
    take each other's faults.
    """

    def pop(control: "dict[str, Any]") -> "str | None":
        queue = control.get(f"{action} {target}") or []
        return queue.pop(0) if queue else None

    return _take(pop)


# Held by a describe from taking the tests' commands (a maintenance window, a settle) until it
# has applied them and read: moto serves requests on threads, and a concurrent describe must not
# answer from before a command another thread has taken but not yet applied.
commands_applied = threading.RLock()


def take_commands(kind: str) -> "list[str]":
    """Commands a test left in the control file under "@kind" (e.g. the ids whose maintenance
    window opens now), taken once."""
    return _take(lambda control: control.pop(f"@{kind}", None) or []) or []


def put_back(kind: str, ids: "list[str]") -> None:
    """Commands taken by a backend that does not hold their object (another region's): left for
    the describe that does."""
    if ids:
        _take(lambda control: control.__setitem__(f"@{kind}", (control.get(f"@{kind}") or []) + ids))


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


def log(line: str) -> None:
    """One line of the request log, written with one system call: moto serves requests on
    threads, and print() writes the text and its newline separately, so two threads' lines
    could run together and a test would miss a call."""
    os.write(2, (line + "\n").encode())
