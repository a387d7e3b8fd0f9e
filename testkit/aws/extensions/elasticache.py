"""ElastiCache replication groups as the AWS API Reference describes them, where moto 5.2.5
falls short:

- every member of a replication group is a cache cluster that DescribeCacheClusters lists,
  with its own status (moto creates none);
- node groups hold contiguous slot ranges that cover 0-16383 evenly (moto's formula is right
  only for three shards), and each member's cache node is 0001;
- ModifyReplicationGroupShardConfiguration, IncreaseReplicaCount and DecreaseReplicaCount
  exist (moto answers HTTP 500), with AWS's validation and errors;
- creates, modifications (node type included) and deletes pass through `creating`,
  `modifying` and `deleting` for a few describes before they settle, and a deleted group
  ends in ReplicationGroupNotFoundFault (moto leaves it `deleting` forever);
- a group that is not `available` refuses changes with InvalidReplicationGroupState, and a
  ModifyReplicationGroup that changes nothing is InvalidParameterCombination;
- ModifyReplicationGroup without ApplyImmediately holds node type and engine version changes
  as the members' pending modifications until the maintenance window; a newer modification
  replaces a pending one of the same setting (the group's own value takes it back), and with
  ApplyImmediately the request and every pending modification are applied.

docs/moto-facts.md states each behaviour with its source.
"""

import inspect
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.elasticache.exceptions import (
    ElastiCacheException,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    ReplicationGroupNotFound,
)
from moto.elasticache.models import CacheCluster, ElastiCacheBackend, ReplicationGroup
from moto.elasticache.responses import ElastiCacheResponse

from . import answer_with, commands_applied, log, put_back, steps, take_commands, take_fault

SLOTS = 16384
MAX_NODE_GROUPS = 90
MAX_REPLICAS = 5


class InvalidReplicationGroupState(ElastiCacheException):
    code = "InvalidReplicationGroupStateFault"


class NoOperation(ElastiCacheException):
    code = "NoOperationFault"


class NodeGroupsQuotaExceeded(ElastiCacheException):
    code = "NodeGroupsPerReplicationGroupQuotaExceededFault"


class Throttling(ElastiCacheException):
    code = "Throttling"


# --- settling: a transitional status lasts a few describes, then `finish` runs ---------------
# Only DescribeReplicationGroups of a group advances it, so one test's describes never hurry
# another test's group, and a poller that checks members after the group sees them lag.


def begin(rg: ReplicationGroup, status: str, finish: Callable[[], None]) -> None:
    rg.status = status
    rg.scaling_settle = {"left": steps(), "finish": finish}


def tick(backend: ElastiCacheBackend, rg: ReplicationGroup) -> None:
    pending = getattr(rg, "scaling_settle", None)
    if not pending:
        return
    pending["left"] -= 1
    if pending["left"] <= 0:
        rg.scaling_settle = None
        pending["finish"]()


def require_available(rg: ReplicationGroup, action: str = "modify") -> None:
    if rg.status != "available":
        raise InvalidReplicationGroupState(f"Replication group must be in available state to {action}.")


# --- members as cache clusters ---------------------------------------------------------------


def member_cluster(backend: ElastiCacheBackend, rg: ReplicationGroup, cluster_id: str, status: str) -> CacheCluster:
    params = inspect.signature(CacheCluster.__init__).parameters
    kwargs: dict[str, Any] = {name: None for name in params if name != "self"}
    kwargs.update(
        account_id=backend.account_id,
        region_name=backend.region_name,
        cache_cluster_id=cluster_id,
        cache_node_type=rg.cache_node_type,
        replication_group_id=rg.replication_group_id,
        engine="redis",
        engine_version=getattr(rg, "engine_version", None),
        log_delivery_configurations=[],
    )
    cluster = CacheCluster(**kwargs)
    cluster.cache_cluster_status = cluster.status = status
    backend.cache_clusters[cluster_id] = cluster
    return cluster


def set_cluster_status(backend: ElastiCacheBackend, cluster_ids: list[str], status: str) -> None:
    for cluster_id in cluster_ids:
        cluster = backend.cache_clusters.get(cluster_id)
        if cluster is not None:
            cluster.cache_cluster_status = cluster.status = status


def members_of(node_group: dict[str, Any]) -> list[str]:
    return [m["cache_cluster_id"] for m in node_group["node_group_members"]]


def reslot(rg: ReplicationGroup) -> None:
    """Even, contiguous slot ranges over the node groups in id order; the first shards take
    the remainder, as AWS splits them at creation (3 shards: 0-5461, 5462-10922, 10923-16383)."""
    if getattr(rg, "cluster_mode", "disabled") != "enabled":
        return
    groups = sorted(rg.node_groups, key=lambda g: g["node_group_id"])
    size, extra = divmod(SLOTS, len(groups))
    start = 0
    for i, group in enumerate(groups):
        end = start + size + (1 if i < extra else 0) - 1
        group["slots"] = f"{start}-{end}"
        start = end + 1


def next_member_id(rg: ReplicationGroup, node_group: dict[str, Any]) -> str:
    """`<rg>-<shard>-<nnn>` in cluster mode, `<rg>-<nnn>` without, the next unused index."""
    enabled = rg.cluster_mode == "enabled"
    prefix = f"{rg.replication_group_id}-{node_group['node_group_id']}-" if enabled else f"{rg.replication_group_id}-"
    used = {int(m[len(prefix):]) for m in members_of(node_group) if m.startswith(prefix) and m[len(prefix):].isdigit()}
    n = 1
    while n in used:
        n += 1
    return f"{prefix}{n:03d}"


def add_member(backend: ElastiCacheBackend, rg: ReplicationGroup, node_group: dict[str, Any], status: str) -> str:
    cluster_id = next_member_id(rg, node_group)
    member: dict[str, Any] = {"cache_cluster_id": cluster_id, "cache_node_id": "0001", "preferred_availability_zone": f"{backend.region_name}a"}
    if rg.cluster_mode != "enabled":
        member["current_role"] = "replica"
    node_group["node_group_members"].append(member)
    rg.member_clusters.append(cluster_id)
    member_cluster(backend, rg, cluster_id, status)
    return cluster_id


def drop_members(backend: ElastiCacheBackend, rg: ReplicationGroup, cluster_ids: list[str]) -> None:
    for node_group in rg.node_groups:
        node_group["node_group_members"] = [m for m in node_group["node_group_members"] if m["cache_cluster_id"] not in cluster_ids]
    rg.member_clusters = [c for c in rg.member_clusters if c not in cluster_ids]
    for cluster_id in cluster_ids:
        backend.cache_clusters.pop(cluster_id, None)


def settle_all(backend: ElastiCacheBackend, rg: ReplicationGroup) -> Callable[[], None]:
    """The group and its node groups settle first; the member clusters one describe later, as
    AWS reports a group `available` while a member may still be finishing."""

    def finish() -> None:
        rg.status = "available"
        for node_group in rg.node_groups:
            node_group["status"] = "available"
        rg.scaling_settle = {"left": 1, "finish": lambda: set_cluster_status(backend, list(rg.member_clusters), "available")}

    return finish


# --- backend: patched methods -----------------------------------------------------------------

original_create = ElastiCacheBackend.create_replication_group
original_describe = ElastiCacheBackend.describe_replication_groups
original_modify = ElastiCacheBackend.modify_replication_group


def create_replication_group(self: ElastiCacheBackend, *args: Any, **kwargs: Any) -> ReplicationGroup:
    rg = original_create(self, *args, **kwargs)
    # AWS runs the current default engine version when none is asked for.
    rg.engine_version = rg.engine_version or "7.1"
    for node_group in rg.node_groups:
        for member in node_group["node_group_members"]:
            member["cache_node_id"] = "0001"
    reslot(rg)
    for cluster_id in rg.member_clusters:
        member_cluster(self, rg, cluster_id, "creating")
    for node_group in rg.node_groups:
        node_group["status"] = "creating"
    begin(rg, "creating", settle_all(self, rg))
    return rg


def describe_replication_groups(self: ElastiCacheBackend, replication_group_id: str | None = None) -> list[ReplicationGroup]:
    with commands_applied:
        return describe_after_commands(self, replication_group_id)


def describe_after_commands(self: ElastiCacheBackend, replication_group_id: str | None) -> list[ReplicationGroup]:
    taken = take_commands("elasticache-maintenance")
    for group_id in taken:
        if group_id in self.replication_groups:
            maintenance_window(self, self.replication_groups[group_id])
    put_back("elasticache-maintenance", [g for g in taken if g not in self.replication_groups])
    groups = original_describe(self, replication_group_id)
    for rg in list(groups):
        tick(self, rg)
    # A delete that settled took the group away.
    if replication_group_id and replication_group_id not in self.replication_groups:
        raise ReplicationGroupNotFound(replication_group_id)
    return [rg for rg in groups if rg.replication_group_id in self.replication_groups]


def delete_replication_group(self: ElastiCacheBackend, replication_group_id: str, retain_primary_cluster: bool | None) -> ReplicationGroup:
    rg = self.replication_groups.get(replication_group_id)
    if rg is None:
        raise ReplicationGroupNotFound(replication_group_id)
    if rg.status != "available":
        raise InvalidReplicationGroupState(f"Replication group {replication_group_id} has status {rg.status} which is not valid for deletion.")
    set_cluster_status(self, list(rg.member_clusters), "deleting")

    def finish() -> None:
        for cluster_id in list(rg.member_clusters):
            self.cache_clusters.pop(cluster_id, None)
        self.replication_groups.pop(replication_group_id, None)

    begin(rg, "deleting", finish)
    return rg


def data_tiering(node_type: str) -> bool:
    return node_type.split(".")[1:2] == ["r6gd"]


def members(backend: ElastiCacheBackend, rg: ReplicationGroup) -> list[CacheCluster]:
    return [backend.cache_clusters[c] for c in rg.member_clusters if c in backend.cache_clusters]


def pending_of(backend: ElastiCacheBackend, rg: ReplicationGroup) -> dict[str, Any]:
    """What the members hold for the maintenance window (every member holds the same)."""
    for cluster in members(backend, rg):
        if getattr(cluster, "pending_modified_values", None):
            return dict(cluster.pending_modified_values)
    return {}


def set_pending(backend: ElastiCacheBackend, rg: ReplicationGroup, pending: dict[str, Any]) -> None:
    for cluster in members(backend, rg):
        cluster.pending_modified_values = dict(pending) or None


def apply_changes(backend: ElastiCacheBackend, rg: ReplicationGroup, changes: dict[str, Any]) -> None:
    if "cache_node_type" in changes:
        rg.cache_node_type = changes["cache_node_type"]
    if "engine_version" in changes:
        rg.engine_version = changes["engine_version"]
    for cluster in members(backend, rg):
        for key, value in changes.items():
            setattr(cluster, key, value)


def modify_replication_group(self: ElastiCacheBackend, replication_group_id: str, replication_group_description: str, engine: str,
                             cache_node_type: str, automatic_failover_enabled: bool, multi_az_enabled: bool,
                             snapshot_retention_limit: int, apply_immediately: bool = False,
                             engine_version: str | None = None) -> ReplicationGroup:
    rg = self.replication_groups.get(replication_group_id)
    if rg is None:
        raise ReplicationGroupNotFound(replication_group_id)
    require_available(rg)
    if cache_node_type is not None and data_tiering(cache_node_type) != data_tiering(rg.cache_node_type):
        # Data tiering is chosen at creation: no scaling into or out of the r6gd family.
        raise InvalidParameterCombinationException(
            f"Scaling between {rg.cache_node_type} and {cache_node_type} is not supported: data tiering (r6gd) is kept "
            "for the life of the replication group.")
    pending = pending_of(self, rg)
    requested = {k: v for k, v in [("cache_node_type", cache_node_type), ("engine_version", engine_version)] if v is not None}
    current = {"cache_node_type": rg.cache_node_type, "engine_version": getattr(rg, "engine_version", None)}
    changes = {k: v for k, v in requested.items() if v != current[k]}
    # A newer modification takes the place of a pending one of the same setting (ModifyCacheCluster's
    # ApplyImmediately: "the pending modification is replaced by the newer modification"): the
    # value the group has takes it back.
    replaced = [k for k in requested if k in pending and pending[k] != requested[k]]
    others = [replication_group_description, engine, automatic_failover_enabled, multi_az_enabled, snapshot_retention_limit]
    if not changes and not replaced and all(v is None for v in others):
        raise InvalidParameterCombinationException("No modifications were requested.")
    rg = original_modify(self, replication_group_id, replication_group_description, engine, None, automatic_failover_enabled,
                         multi_az_enabled, snapshot_retention_limit)
    for k in requested:
        pending.pop(k, None)
    if not apply_immediately:
        # Deferred to the maintenance window: each member records it as pending.
        set_pending(self, rg, {**pending, **changes})
        return rg
    # "The modifications in this request and any pending modifications" are applied now.
    queue = {**pending, **changes}
    set_pending(self, rg, queue)
    if not queue:
        return rg
    set_cluster_status(self, list(rg.member_clusters), "modifying")
    done = settle_all(self, rg)

    def finish() -> None:
        apply_changes(self, rg, queue)
        set_pending(self, rg, {})
        done()

    begin(rg, "modifying", finish)
    return rg


def maintenance_window(backend: ElastiCacheBackend, rg: ReplicationGroup) -> None:
    """The maintenance window: what the members hold as pending is applied. Tests open it
    through the launcher's control file (`Moto::cache_maintenance_window`)."""
    apply_changes(backend, rg, pending_of(backend, rg))
    set_pending(backend, rg, {})


def modify_shard_configuration(self: ElastiCacheBackend, params: dict[str, Any]) -> ReplicationGroup:
    group_id = params.get("ReplicationGroupId")
    rg = self.replication_groups.get(group_id)
    if rg is None:
        raise ReplicationGroupNotFound(group_id)
    if rg.cluster_mode != "enabled":
        raise InvalidParameterValueException("Operation is only applicable for cluster mode enabled replication groups.")
    require_available(rg)
    if params.get("ApplyImmediately") is not True:
        raise InvalidParameterValueException("ApplyImmediately must be true: shard reconfiguration can only begin immediately.")
    count = params.get("NodeGroupCount")
    if not isinstance(count, int) or count < 1:
        raise InvalidParameterValueException("NodeGroupCount must be at least 1.")
    if count > MAX_NODE_GROUPS:
        raise NodeGroupsQuotaExceeded(f"The maximum number of node groups per replication group is {MAX_NODE_GROUPS}.")
    ids = [g["node_group_id"] for g in rg.node_groups]
    to_remove, to_retain = params.get("NodeGroupsToRemove") or [], params.get("NodeGroupsToRetain") or []
    removed: list[str] = []
    if count < len(ids):
        if not to_remove and not to_retain:
            raise InvalidParameterValueException(
                "Either NodeGroupsToRemove or NodeGroupsToRetain is required when NodeGroupCount is less than the current number of node groups."
            )
        unknown = [i for i in to_remove + to_retain if i not in ids]
        if unknown:
            raise InvalidParameterValueException(f"The following node group ids are invalid: [{', '.join(unknown)}]")
        removed = to_remove if to_remove else [i for i in ids if i not in to_retain]
        if len(ids) - len(removed) != count:
            raise InvalidParameterValueException(
                f"NodeGroupCount {count} does not match the {len(ids) - len(removed)} node groups left after the removal."
            )
    elif to_remove or to_retain:
        raise InvalidParameterCombinationException("NodeGroupsToRemove and NodeGroupsToRetain apply only when NodeGroupCount is lower.")
    replicas = min(len(g["node_group_members"]) for g in rg.node_groups) - 1
    highest = max(int(i) for i in ids)
    for n in range(count - len(ids)):
        node_group: dict[str, Any] = {"node_group_id": f"{highest + 1 + n:04d}", "status": "creating", "node_group_members": []}
        rg.node_groups.append(node_group)
        for _ in range(replicas + 1):
            add_member(self, rg, node_group, "creating")
    for node_group in rg.node_groups:
        if node_group["node_group_id"] in removed:
            node_group["status"] = "deleting"
            set_cluster_status(self, members_of(node_group), "deleting")
        elif node_group["status"] != "creating":
            node_group["status"] = "modifying"
    done = settle_all(self, rg)

    def finish() -> None:
        for node_group in [g for g in rg.node_groups if g["node_group_id"] in removed]:
            drop_members(self, rg, members_of(node_group))
        rg.node_groups = [g for g in rg.node_groups if g["node_group_id"] not in removed]
        reslot(rg)
        done()

    begin(rg, "modifying", finish)
    return rg


def change_replica_count(self: ElastiCacheBackend, params: dict[str, Any], increase: bool) -> ReplicationGroup:
    group_id = params.get("ReplicationGroupId")
    rg = self.replication_groups.get(group_id)
    if rg is None:
        raise ReplicationGroupNotFound(group_id)
    require_available(rg)
    if params.get("ApplyImmediately") is not True:
        raise InvalidParameterValueException("ApplyImmediately=False is not currently supported.")
    by_group = {c["NodeGroupId"]: c["NewReplicaCount"] for c in params.get("ReplicaConfiguration") or []}
    to_remove = params.get("ReplicasToRemove") or []
    targets: dict[str, int] = {}
    for node_group in rg.node_groups:
        current = len(node_group["node_group_members"]) - 1
        target = by_group.get(node_group["node_group_id"], params.get("NewReplicaCount"))
        if target is None and to_remove:
            target = current - len([m for m in members_of(node_group) if m in to_remove])
        targets[node_group["node_group_id"]] = current if target is None else target
    unknown = [i for i in by_group if i not in targets]
    if unknown:
        raise InvalidParameterValueException(f"The following node group ids are invalid: [{', '.join(unknown)}]")
    minimum = 1 if rg.cluster_mode != "enabled" and getattr(rg, "automatic_failover", "disabled") == "enabled" else 0
    for node_group in rg.node_groups:
        current, target = len(node_group["node_group_members"]) - 1, targets[node_group["node_group_id"]]
        if not minimum <= target <= MAX_REPLICAS:
            raise InvalidParameterValueException(f"The replica count must be between {minimum} and {MAX_REPLICAS}, not {target}.")
        if (increase and target < current) or (not increase and target > current):
            raise InvalidParameterValueException(f"The new replica count {target} is {'below' if increase else 'above'} the current {current}.")
    if all(targets[g["node_group_id"]] == len(g["node_group_members"]) - 1 for g in rg.node_groups):
        raise NoOperation("Requested new replica count already matches current number of replicas.")
    leaving: list[str] = []
    for node_group in rg.node_groups:
        current, target = len(node_group["node_group_members"]) - 1, targets[node_group["node_group_id"]]
        if target > current:
            for _ in range(target - current):
                add_member(self, rg, node_group, "creating")
        elif target < current:
            replicas = members_of(node_group)[1:]
            chosen = [m for m in replicas if m in to_remove] or sorted(replicas)[target - current:]
            leaving += chosen[: current - target]
            set_cluster_status(self, chosen[: current - target], "deleting")
        if target != current:
            node_group["status"] = "modifying"
    done = settle_all(self, rg)

    def finish() -> None:
        drop_members(self, rg, leaving)
        done()

    begin(rg, "modifying", finish)
    return rg


ElastiCacheBackend.create_replication_group = create_replication_group
ElastiCacheBackend.describe_replication_groups = describe_replication_groups
ElastiCacheBackend.delete_replication_group = delete_replication_group
ElastiCacheBackend.modify_replication_group = modify_replication_group


# --- responses: the actions moto lacks ---------------------------------------------------------


def modify_replication_group_shard_configuration(self: ElastiCacheResponse) -> ActionResult:
    return ActionResult({"ReplicationGroup": modify_shard_configuration(self.elasticache_backend, self._get_params())})


def modify_replication_group_action(self: ElastiCacheResponse) -> ActionResult:
    """moto passes ModifyReplicationGroup on without ApplyImmediately, whose AWS default is
    false: a node type change then waits for the maintenance window."""
    p = self._get_params()
    rg = self.elasticache_backend.modify_replication_group(
        p.get("ReplicationGroupId"), p.get("ReplicationGroupDescription"), p.get("Engine"), p.get("CacheNodeType"),
        p.get("AutomaticFailoverEnabled"), p.get("MultiAZEnabled"), p.get("SnapshotRetentionLimit"),
        apply_immediately=p.get("ApplyImmediately") is True, engine_version=p.get("EngineVersion"),
    )
    return ActionResult({"ReplicationGroup": rg})


def increase_replica_count(self: ElastiCacheResponse) -> ActionResult:
    return ActionResult({"ReplicationGroup": change_replica_count(self.elasticache_backend, self._get_params(), increase=True)})


def decrease_replica_count(self: ElastiCacheResponse) -> ActionResult:
    return ActionResult({"ReplicationGroup": change_replica_count(self.elasticache_backend, self._get_params(), increase=False)})


ElastiCacheResponse.modify_replication_group_shard_configuration = modify_replication_group_shard_configuration
ElastiCacheResponse.modify_replication_group = modify_replication_group_action
ElastiCacheResponse.increase_replica_count = increase_replica_count
ElastiCacheResponse.decrease_replica_count = decrease_replica_count


# --- request log: which action, for which group, in order (tests check the order of steps) ---

original_call_action = ElastiCacheResponse.call_action


def call_action(self: ElastiCacheResponse) -> Any:
    action = self._get_action()
    group = self._get_param("ReplicationGroupId") or self._get_param("CacheClusterId") or "-"
    log(f"scaling-backend elasticache {action} {group}")
    fault = take_fault(action, group)
    if fault == "Throttling":
        answer_with(self, action, Throttling("Rate exceeded"))
    if fault == "InvalidReplicationGroupState":
        answer_with(self, action, InvalidReplicationGroupState("Replication group must be in available state to modify."))
    return original_call_action(self)


ElastiCacheResponse.call_action = call_action
