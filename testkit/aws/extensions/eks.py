"""EKS managed node group updates as the Amazon EKS API Reference describes them, where moto
5.2.5 falls short:

- UpdateNodegroupConfig checks the scaling config it would leave (minSize >= 0, maxSize >= 1,
  minSize <= desiredSize <= maxSize, what the call leaves out taken from the node group) and
  answers InvalidParameterException (moto: takes anything);
- the update is `InProgress`, and the node group `UPDATING`, for a few DescribeUpdate or
  DescribeNodegroup calls; then `Successful`, with the new scaling config in place and the node
  group ACTIVE (moto: Successful, and changed, at once);
- DescribeUpdate exists (moto: no such action), and an unknown update id is
  ResourceNotFoundException;
- a node group with an update in progress refuses another with ResourceInUseException;
- a test can make the next update of a node group end `Failed`, with the errors EKS reports
  when its Auto Scaling group cannot launch instances (the scaling config is then unchanged,
  and the node group `DEGRADED` with that health issue until an update succeeds), or end
  `Successful` with the node group `DEGRADED` all the same (`Degraded`: the sizes are set,
  the instances cannot launch),
  or answer ResourceInUseException (another update in progress) or ThrottlingException.

docs/moto-facts.md states each behaviour with its source.
"""

import datetime
import uuid
from typing import Any

from moto.core.responses import ActionResult
from moto.eks import urls
from moto.eks.exceptions import EKSError, InvalidParameterException, ResourceInUseException, ResourceNotFoundException
from moto.eks.models import EKSBackend, Nodegroup
from moto.eks.responses import EKSResponse

from . import answer_with, log, over_rate, steps, take_commands, take_fault

urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$"] = urls.response.dispatch


class ThrottlingException(EKSError):
    TYPE = "ThrottlingException"
    STATUS = 429


def updates(backend: EKSBackend) -> "dict[str, dict[str, Any]]":
    if not hasattr(backend, "scaling_updates"):
        backend.scaling_updates = {}
    return backend.scaling_updates


def in_progress(nodegroup: Nodegroup) -> "dict[str, Any] | None":
    return getattr(nodegroup, "scaling_update", None)


def tick(nodegroup: Nodegroup) -> None:
    """Time passes for the node group's update: after a few looks it ends."""
    update = in_progress(nodegroup)
    if update is None:
        return
    update["scaling_left"] -= 1
    if update["scaling_left"] > 0:
        return
    launch_failure = {
        "code": "AsgInstanceLaunchFailures",
        "message": "Could not launch On-Demand Instances. InsufficientInstanceCapacity - We currently do not have "
        "sufficient capacity in the Availability Zone you requested.",
        "resourceIds": [nodegroup.resources["autoScalingGroups"][0]["name"]],
    }
    if update["scaling_fail"] == "Failed":
        update["status"] = "Failed"
        update["errors"] = [{"errorCode": launch_failure["code"], "errorMessage": launch_failure["message"],
                             "resourceIds": launch_failure["resourceIds"]}]
    else:
        nodegroup.scaling_config = update["scaling_target"]
        update["status"] = "Successful"
    # Instances that cannot launch leave the node group DEGRADED, with the reason as a health
    # issue, whether the update itself failed or not; otherwise it is ACTIVE and healthy.
    unhealthy = update["scaling_fail"] in ("Failed", "Degraded")
    nodegroup.status = "DEGRADED" if unhealthy else "ACTIVE"
    nodegroup.health = {"issues": [launch_failure] if unhealthy else []}
    nodegroup.modified_at = datetime.datetime.now(datetime.timezone.utc)
    nodegroup.scaling_update = None


def settle_requested(backend: EKSBackend) -> None:
    """Updates a test asked to finish now ("@eks-settle": CLUSTER/NODEGROUP), as if the
    minutes they take had passed."""
    for target in take_commands("eks-settle"):
        cluster, _, name = target.partition("/")
        nodegroup = backend.clusters.get(cluster) and backend.clusters[cluster].nodegroups.get(name)
        while nodegroup is not None and in_progress(nodegroup) is not None:
            in_progress(nodegroup)["scaling_left"] = 1
            tick(nodegroup)


def shown(update: "dict[str, Any]") -> "dict[str, Any]":
    return {k: v for k, v in update.items() if not k.startswith("scaling_")}


def check(config: "dict[str, int]") -> None:
    """The scaling config EKS accepts (UpdateNodegroupConfig, NodegroupScalingConfig)."""
    low, high, want = config.get("minSize", 0), config.get("maxSize", 1), config.get("desiredSize", 0)
    if low < 0:
        raise InvalidParameterException(message=f"Minimum capacity {low} can't be less than 0")
    if high < 1:
        raise InvalidParameterException(message=f"Maximum capacity {high} can't be less than 1")
    if low > high:
        raise InvalidParameterException(message=f"Minimum capacity {low} can't be greater than maximum capacity {high}")
    if want < low:
        raise InvalidParameterException(message=f"Desired capacity {want} can't be less than minimum capacity {low}")
    if want > high:
        raise InvalidParameterException(message=f"Desired capacity {want} can't be greater than maximum capacity {high}")


original_update_nodegroup_config = EKSBackend.update_nodegroup_config

# Node groups ("cluster/nodegroup") whose next update a test made end badly, `Failed` or
# `Degraded`, taken by the request log below from the control file and by the update after.
_failing: "dict[str, str]" = {}


def update_nodegroup_config(self: EKSBackend, cluster_name: str, nodegroup_name: str, **kwargs: Any) -> "dict[str, Any]":
    nodegroup = self.describe_nodegroup(cluster_name=cluster_name, nodegroup_name=nodegroup_name)
    if in_progress(nodegroup) is not None:
        raise ResourceInUseException(
            clusterName=cluster_name,
            nodegroupName=nodegroup_name,
            fargateProfileName=None,
            addonName=None,
            message=f"Nodegroup {nodegroup_name} already has an update in progress",
        )
    scaling = kwargs.pop("scaling_config", None)
    target = dict(nodegroup.scaling_config)
    if scaling:
        target.update({k: v for k, v in scaling.items() if v is not None})
        check(target)
    # Labels, taints and the rest as moto does them; the scaling config waits for the update.
    update = original_update_nodegroup_config(self, cluster_name, nodegroup_name, **kwargs)
    if scaling:
        update["params"].append({"type": "ScalingConfig", "value": str(scaling)})
    update.update(
        status="InProgress",
        scaling_left=steps(),
        scaling_target=target,
        scaling_fail=_failing.pop(f"{cluster_name}/{nodegroup_name}", None),
        scaling_nodegroup=nodegroup_name,
    )
    update["id"] = str(uuid.uuid4())
    nodegroup.status = "UPDATING"
    nodegroup.scaling_update = update
    updates(self)[update["id"]] = update
    return shown(update)


original_describe_nodegroup = EKSBackend.describe_nodegroup


def describe_update(self: EKSResponse) -> ActionResult:
    settle_requested(self.eks_backend)
    cluster_name, update_id = self._get_param("name"), self._get_param("updateId")
    update = updates(self.eks_backend).get(update_id)
    if update is None or (self._get_param("nodegroupName") not in (None, update["scaling_nodegroup"])):
        raise ResourceNotFoundException(
            clusterName=cluster_name,
            nodegroupName=self._get_param("nodegroupName"),
            fargateProfileName=None,
            addonName=None,
            message=f"No update found for ID: {update_id}",
        )
    nodegroup = original_describe_nodegroup(self.eks_backend, cluster_name=cluster_name, nodegroup_name=update["scaling_nodegroup"])
    tick(nodegroup)
    return ActionResult({"update": shown(update)})


def describe_nodegroup_action(self: EKSResponse) -> ActionResult:
    settle_requested(self.eks_backend)
    nodegroup = self.eks_backend.describe_nodegroup(
        cluster_name=self._get_param("name"), nodegroup_name=self._get_param("nodegroupName")
    )
    tick(nodegroup)
    return ActionResult({"nodegroup": nodegroup})


EKSBackend.update_nodegroup_config = update_nodegroup_config
EKSResponse.describe_update = describe_update
EKSResponse.describe_nodegroup = describe_nodegroup_action


# --- request log: which action, for which node group, in order ---------------------------------

original_call_action = EKSResponse.call_action


def call_action(self: EKSResponse) -> Any:
    action = self._get_action()
    target = f"{self._get_param('name') or '-'}/{self._get_param('nodegroupName') or '-'}"
    log(f"scaling-backend eks {action} {target}")
    fault = take_fault(action, target)
    if over_rate("eks") or fault == "ThrottlingException":
        answer_with(self, action, ThrottlingException(message="Rate exceeded"))
    elif fault == "ResourceInUseException":
        busy = ResourceInUseException(
            clusterName=None, nodegroupName=None, fargateProfileName=None, addonName=None,
            message=f"Nodegroup {target} already has an update in progress",
        )
        answer_with(self, action, busy)
    elif fault in ("Failed", "Degraded") and action == "UpdateNodegroupConfig":
        _failing[target] = fault
    return original_call_action(self)


EKSResponse.call_action = call_action
