"""CloudFront distributions as the CloudFront API Reference describes their versions and
deployment, where moto 5.2.5 falls short:

- every successful UpdateDistribution issues a new ETag (moto: one ETag forever);
- UpdateDistribution and DeleteDistribution need If-Match to name the current ETag: a missing
  one answers InvalidIfMatchVersion (400), a stale one PreconditionFailed (412) (moto accepts
  any value);
- deleting a distribution that is still enabled answers DistributionNotDisabled (409) (moto
  deletes it);
- after a create or an update a distribution is `InProgress` for a few GetDistribution reads
  before `Deployed` (moto: `Deployed` at once).

The config documents GetDistributionConfig answers and UpdateDistribution receives go to the
request log (base64), so a test can compare what a client sent with what it read.

A test can make another writer's change land right after a GetDistributionConfig (fault
"ConcurrentUpdate"): the distribution's Comment becomes "changed by another writer" and its
ETag changes, so the reader's next write meets PreconditionFailed as it would on AWS.

docs/moto-facts.md states each behaviour with its source.
"""

import base64
import copy
from typing import Any

from moto.cloudfront.exceptions import CloudFrontException, InvalidIfMatchVersion, NoSuchDistribution
from moto.cloudfront.models import CloudFrontBackend, Distribution, random_id
from moto.cloudfront.responses import CloudFrontResponse

from . import answer_with, log, steps, take_fault

CONCURRENT_COMMENT = "changed by another writer"


class PreconditionFailed(CloudFrontException):
    def __init__(self) -> None:
        super().__init__(
            "PreconditionFailed",
            "The request failed because it didn't meet the preconditions in one or more request-header fields.",
        )


class DistributionNotDisabled(CloudFrontException):
    def __init__(self) -> None:
        super().__init__("DistributionNotDisabled", "The distribution you are trying to delete has not been disabled.")


class Throttling(CloudFrontException):
    def __init__(self) -> None:
        super().__init__("Throttling", "Rate exceeded")


# --- deployment: InProgress for a few reads after each change ----------------------------------


def deploying(dist: Distribution) -> None:
    dist.scaling_reads_left = steps()


def read(dist: Distribution) -> None:
    """A read that showed the status has been served (called after the answer is written)."""
    left = getattr(dist, "scaling_reads_left", 0)
    if left > 0:
        dist.scaling_reads_left = left - 1


def status(self: Distribution) -> str:
    return "InProgress" if getattr(self, "scaling_reads_left", 0) > 0 else "Deployed"


def set_status(self: Distribution, value: str) -> None:
    self.scaling_reads_left = 0 if value == "Deployed" else steps()


Distribution.status = property(status, set_status)


def new_version(dist: Distribution) -> None:
    dist.etag = random_id()
    deploying(dist)


def require_version(dist: Distribution, if_match: "str | None") -> None:
    if not if_match:
        raise InvalidIfMatchVersion()
    if if_match != dist.etag:
        raise PreconditionFailed()


# --- the backend ------------------------------------------------------------------------------

original_create = CloudFrontBackend.create_distribution_with_tags
original_update = CloudFrontBackend.update_distribution
original_delete = CloudFrontBackend.delete_distribution


def create_distribution_with_tags(self: CloudFrontBackend, distribution_config: dict[str, Any], tags: list[dict[str, str]]) -> Any:
    dist, location, etag = original_create(self, distribution_config, tags)
    deploying(dist)
    return dist, location, etag


def update_distribution(self: CloudFrontBackend, dist_config: dict[str, Any], _id: str, if_match: "str | None") -> Any:
    dist = self.distributions.get(_id)
    if dist is None:
        raise NoSuchDistribution()
    require_version(dist, if_match)
    original_update(self, dist_config, _id, if_match)
    new_version(dist)
    return dist, dist.location, dist.etag


def delete_distribution(self: CloudFrontBackend, distribution_id: str, if_match: "str | None") -> None:
    dist = self.distributions.get(distribution_id)
    if dist is None:
        raise NoSuchDistribution()
    require_version(dist, if_match)
    if str(dist.distribution_config.Enabled).lower() == "true":
        raise DistributionNotDisabled()
    original_delete(self, distribution_id, if_match)


CloudFrontBackend.create_distribution_with_tags = create_distribution_with_tags
CloudFrontBackend.update_distribution = update_distribution
CloudFrontBackend.delete_distribution = delete_distribution


def concurrent_update(backend: CloudFrontBackend, distribution_id: str) -> None:
    """Another writer's change lands: what was served stays as served; the distribution moves
    on to a new version."""
    dist = backend.distributions[distribution_id]
    edited = copy.copy(dist.distribution_config)
    edited.Comment = CONCURRENT_COMMENT
    dist.distribution_config = edited
    new_version(dist)


# --- request log and injected faults (see extensions/__init__.py) ------------------------------

original_call_action = CloudFrontResponse.call_action


def log_body(action: str, target: str, body: "str | bytes | None") -> None:
    """The config documents read and written, so tests can check what a client sent back
    against what it was given, byte for byte."""
    raw = body.encode() if isinstance(body, str) else (body or b"")
    log(f"scaling-backend-body cloudfront {action} {target} {base64.b64encode(raw).decode()}")


def call_action(self: CloudFrontResponse) -> Any:
    action = self._get_action()
    target = self._get_param("Id") or self._get_param("DistributionId") or "-"
    log(f"scaling-backend cloudfront {action} {target}")
    fault = take_fault(action, target)
    if fault == "Throttling":
        answer_with(self, action, Throttling())
    if action == "UpdateDistribution":
        log_body(action, target, self.body)
    answered = original_call_action(self)
    if action == "GetDistributionConfig" and isinstance(answered, tuple) and answered[0] == 200:
        log_body(action, target, answered[2])
    if action == "GetDistribution" and target in self.backend.distributions:
        read(self.backend.distributions[target])
    if action == "ListDistributions":
        for dist in self.backend.distributions.values():
            read(dist)
    if fault == "ConcurrentUpdate" and target in self.backend.distributions:
        concurrent_update(self.backend, target)
    return answered


CloudFrontResponse.call_action = call_action
