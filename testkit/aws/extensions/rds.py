"""RDS DB instances as the RDS User Guide and API reference describe their lifecycle, where
moto 5.2.5 falls short:

- a read replica is `creating`, then `backing-up`, before `available` (moto: available at once);
- PromoteReadReplica passes through `modifying` and `rebooting` and clears the source only at
  the end (moto: at once), so a waiter must wait for the source to clear;
- a delete is `deleting` for a few describes before DBInstanceNotFound (moto: gone at once),
  and a second delete meanwhile answers InvalidDBInstanceState "... is already being deleted";
- CreateDBInstanceReadReplica with an identifier in use answers DBInstanceAlreadyExists
  (moto: overwrites it);
- every instance has its own DbiResourceId (moto: one for all), and a replica created without
  tags has none (moto: copies the source's);
- ModifyDBInstance with ApplyImmediately=false records class, Multi-AZ, storage and engine
  version changes in PendingModifiedValues until the maintenance window (moto: applies them at
  once); a value the instance already has changes nothing and leaves the queue as it is. With
  ApplyImmediately=true the request and every change already pending pass through `modifying`,
  listed as pending until applied (a storage change then through `storage-optimization`); a
  value the instance already has takes back the pending change of that setting. An instance
  that is not available refuses modifications.

Sources (DB instance statuses, PromoteReadReplica, DeleteDBInstance) are in docs/moto-facts.md.
Only sources made with CreateDBInstance stay available at once, so tests can build on them.
"""

import random
import string
from typing import Any, Callable

from moto.rds.exceptions import DBInstanceAlreadyExists, DBInstanceNotFoundError, RDSClientError
from moto.rds.models import DBInstance, RDSBackend
from moto.rds.responses import RDSResponse

from . import answer_with, commands_applied, log, over_rate, put_back, steps, take_commands, take_fault


class InvalidDBInstanceState(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidDBInstanceState", message)


def resource_id() -> str:
    return "db-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=26))


def settle(db: DBInstance, statuses: list[str], finish: Callable[[], None]) -> None:
    """`db` shows each of `statuses` for SCALING_MOTO_STEPS describes, then `finish` runs."""
    db.scaling_settle = {"statuses": list(statuses), "left": steps(), "finish": finish}
    db.status = statuses[0]


def settle_now(db: DBInstance) -> None:
    """Every status left passes at once (a test's control: the hours a create takes, elapsed)."""
    while getattr(db, "scaling_settle", None):
        db.scaling_settle["left"] = 1
        tick(db)


def tick(db: DBInstance) -> None:
    pending = getattr(db, "scaling_settle", None)
    if not pending:
        return
    pending["left"] -= 1
    if pending["left"] > 0:
        return
    pending["statuses"].pop(0)
    if pending["statuses"]:
        pending["left"] = steps()
        db.status = pending["statuses"][0]
    else:
        db.scaling_settle = None
        pending["finish"]()


original_create = RDSBackend.create_db_instance
original_create_replica = RDSBackend.create_db_instance_read_replica
original_describe = RDSBackend.describe_db_instances
original_delete = RDSBackend.delete_db_instance
original_promote = RDSBackend.promote_read_replica
original_modify = RDSBackend.modify_db_instance

# What ModifyDBInstance defers to the maintenance window unless applied immediately.
DEFERRABLE = ["db_instance_class", "multi_az", "storage_type", "iops", "storage_throughput", "allocated_storage", "engine_version"]
STORAGE = ["storage_type", "iops", "storage_throughput", "allocated_storage"]


def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    db = original_create(self, db_kwargs)
    db.dbi_resource_id = resource_id()
    return db


def create_db_instance_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    if db_kwargs["db_instance_identifier"] in self.databases:
        raise DBInstanceAlreadyExists()
    replica = original_create_replica(self, db_kwargs)
    replica.dbi_resource_id = resource_id()
    if not db_kwargs.get("tags"):
        replica.tags = []

    def finish() -> None:
        replica.status = "available"

    settle(replica, ["creating", "backing-up"], finish)
    return replica


def describe_db_instances(self: RDSBackend, db_instance_identifier: str | None = None, filters: Any = None) -> list[DBInstance]:
    with commands_applied:
        return describe_after_commands(self, db_instance_identifier, filters)


def describe_after_commands(self: RDSBackend, db_instance_identifier: str | None, filters: Any) -> list[DBInstance]:
    for kind, run in (("rds-maintenance", lambda db_id: apply_pending(self, db_id)),
                      ("rds-settle", lambda db_id: settle_now(self.databases[db_id]))):
        taken = take_commands(kind)
        for db_id in taken:
            if db_id in self.databases:
                run(db_id)
        put_back(kind, [db_id for db_id in taken if db_id not in self.databases])
    found = original_describe(self, db_instance_identifier, filters)
    for db in found:
        tick(db)
    # A delete that settled took the instance away.
    if db_instance_identifier and db_instance_identifier not in self.databases:
        raise DBInstanceNotFoundError(db_instance_identifier)
    return [db for db in found if self.databases.get(db.db_instance_identifier) is db]


def delete_db_instance(self: RDSBackend, db_instance_identifier: str, final_db_snapshot_identifier: str | None = None,
                       skip_final_snapshot: bool | None = False, delete_automated_backups: bool | None = True) -> DBInstance:
    db = self.databases.get(db_instance_identifier)
    if db is None:
        raise DBInstanceNotFoundError(db_instance_identifier)
    if db.status == "deleting":
        raise InvalidDBInstanceState(f"Instance {db_instance_identifier} is already being deleted.")
    if db.deletion_protection:
        return original_delete(self, db_instance_identifier, final_db_snapshot_identifier, skip_final_snapshot,
                               delete_automated_backups)

    def finish() -> None:
        original_delete(self, db_instance_identifier, final_db_snapshot_identifier, skip_final_snapshot, delete_automated_backups)

    settle(db, ["deleting"], finish)
    return db


def promote_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    db_id = db_kwargs["db_instance_identifier"]
    db = self.databases.get(db_id)
    if db is None:
        raise DBInstanceNotFoundError(db_id)
    if not db.is_replica:
        raise InvalidDBInstanceState(f"DB Instance {db_id} is not a read replica.")
    if db.status != "available":
        raise InvalidDBInstanceState(f"Instance {db_id} is not in available state.")

    def finish() -> None:
        original_promote(self, db_kwargs)
        db.source_db_instance_identifier = None
        db.status = "available"

    settle(db, ["modifying", "rebooting"], finish)
    return db


RDSBackend.create_db_instance = create_db_instance
RDSBackend.create_db_instance_read_replica = create_db_instance_read_replica
RDSBackend.describe_db_instances = describe_db_instances
RDSBackend.delete_db_instance = delete_db_instance
RDSBackend.promote_read_replica = promote_read_replica


def same(a: Any, b: Any) -> bool:
    """Whether a requested value is the one the instance has (the query protocol's strings and
    moto's typed attributes compared alike)."""
    return str(a).lower() == str(b).lower()


def modify_db_instance(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> DBInstance:
    db = self.databases.get(db_instance_identifier)
    if db is None:
        raise DBInstanceNotFoundError(db_instance_identifier)
    if db.status not in ("available", "storage-optimization"):
        raise InvalidDBInstanceState(f"Database instance is not in available state ({db.status}).")
    requested = {k: db_kwargs.pop(k) for k in DEFERRABLE if db_kwargs.get(k) is not None}
    immediately = bool(db_kwargs.get("apply_immediately"))
    db = original_modify(self, db_instance_identifier, db_kwargs)
    pending = dict(getattr(db, "pending_modified_values", None) or {})
    # A value the instance already has is no change: deferred, it leaves a pending change of
    # that setting in the queue (the window still applies it).
    changes = {k: v for k, v in requested.items() if not same(getattr(db, k, None), v)}
    if not immediately:
        pending.update(changes)
        db.pending_modified_values = pending or None
        return db
    # Applied immediately, a request takes the place of what was pending for the same setting:
    # the value the instance has takes a pending change back (the User Guide's way to revert
    # one). And every other pending change is applied with it, not only this request's.
    for k in requested:
        pending.pop(k, None)
    queue = {**pending, **changes}
    if not queue:
        db.pending_modified_values = None
        return db
    # While it is modifying, AWS lists the changes as pending, then applies them.
    db.pending_modified_values = queue

    def applied() -> None:
        db.update(**queue)
        db.pending_modified_values = None
        if any(k in STORAGE for k in queue):
            # Usable with the new storage, for hours in AWS; another storage change waits.
            settle(db, ["storage-optimization"], available)
        else:
            db.status = "available"

    def available() -> None:
        db.status = "available"

    settle(db, ["modifying"], applied)
    return db


def apply_pending(backend: RDSBackend, db_instance_identifier: str) -> None:
    """The maintenance window: what was deferred is applied. Tests open it through the
    launcher's control file (`Moto::maintenance_window`)."""
    db = backend.databases[db_instance_identifier]
    pending = dict(getattr(db, "pending_modified_values", None) or {})
    db.pending_modified_values = None
    if pending:
        db.update(**pending)


RDSBackend.modify_db_instance = modify_db_instance


# --- request log and injected faults (see extensions/__init__.py) ------------------------------

original_call_action = RDSResponse.call_action

FAULTS = {
    "Throttling": ("Throttling", "Rate exceeded"),
    "AccessDenied": ("AccessDenied", "User is not authorized to perform this action with this filter"),
}


def targets(self: RDSResponse) -> list[str]:
    """The instances a call names: its identifier, or the db-instance-id filter's values."""
    identifier = self._get_param("DBInstanceIdentifier")
    if identifier:
        return [identifier]
    named = [v for f in self._get_params().get("Filters") or [] if f.get("Name") == "db-instance-id" for v in f.get("Values") or []]
    return named or ["-"]


def call_action(self: RDSResponse) -> Any:
    action = self._get_action()
    named = targets(self)
    log(f"scaling-backend rds {action} {','.join(named)}")
    # A fault for any instance the call names (tests sharing a server never take each other's).
    fault = next((f for f in (take_fault(action, t) for t in named) if f), None) or ("Throttling" if over_rate("rds") else None)
    if fault in FAULTS:
        answer_with(self, action, RDSClientError(*FAULTS[fault]))
    return original_call_action(self)


RDSResponse.call_action = call_action
