"""CloudWatch over Smithy RPC v2 CBOR, the protocol AWS serves it with: CloudWatch's service
model lists `smithy-rpc-v2-cbor` first, and the AWS SDK for Rust speaks only that, posting to
`/service/GraniteServiceVersion20100801/operation/OPERATION`. moto 5.2.5 answers CloudWatch
only in its query and JSON protocols, so such a call meets a 404.

The launcher routes that path to moto's CloudWatch backend for GetMetricData and PutMetricData,
decoding the CBOR request and encoding the answer with botocore's own CBOR codec, driven by
CloudWatch's service model; an error is a CBOR `{"__type", "message"}` with its HTTP status, as
the protocol specifies, `__type` naming the model's error shape and `x-amzn-query-error` the
query code (CloudWatch is query-compatible). docs/moto-facts.md states the sources.
"""

import datetime
import re
from typing import Any

import botocore.session
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer
from moto.cloudwatch import urls
from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.cloudwatch.exceptions import ValidationError
from moto.core.exceptions import ServiceException

from . import log

PATH = r"{0}/service/GraniteServiceVersion20100801/operation/(?P<operation>[A-Za-z]+)$"
_model = botocore.session.get_session().get_service_model("cloudwatch")
# CloudWatch is query-compatible: an error names its model shape in `__type`, and the query
# code it had in the query protocol (moto's) in the x-amzn-query-error header.
_ERRORS = {
    (shape.metadata.get("error") or {}).get("code", shape.name): (shape.name, (shape.metadata.get("error") or {}).get("httpStatusCode", 400))
    for shape in _model.error_shapes
}


def _decode(body: bytes) -> "dict[str, Any]":
    if not body:
        return {}
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def _encode(value: "dict[str, Any]", operation: str) -> bytes:
    out = bytearray()
    shape = _model.operation_model(operation).output_shape
    if shape is not None:
        RpcV2CBORSerializer()._serialize_data_item(out, value, shape)
    return bytes(out)


def _utc(value: Any) -> datetime.datetime:
    """A CBOR timestamp (epoch seconds, or a datetime) as moto compares them: naive UTC."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc).replace(tzinfo=None)


def _region(headers: "dict[str, str]") -> str:
    found = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", headers.get("Authorization", ""))
    return found.group(1) if found else "us-east-1"


def get_metric_data(backend: Any, params: "dict[str, Any]") -> "dict[str, Any]":
    # "You can include as many as 500 queries in one GetMetricData operation" (API Reference);
    # the model's list constraint is checked as AWS checks constraints, before anything runs.
    if len(params.get("MetricDataQueries", [])) > 500:
        raise ValidationError(
            "1 validation error detected: Value at 'metricDataQueries' failed to satisfy constraint: "
            "Member must have length less than or equal to 500")
    for i, query in enumerate(params.get("MetricDataQueries", []), start=1):
        if "MetricStat" not in query and "Expression" not in query:
            raise ValidationError(f"The parameter MetricDataQueries.member.{i}.MetricStat is required.")
    results = backend.get_metric_data(
        queries=params.get("MetricDataQueries", []),
        start_time=_utc(params["StartTime"]),
        end_time=_utc(params["EndTime"]),
        scan_by=params.get("ScanBy") or "TimestampDescending",
    )
    return {
        "MetricDataResults": [
            {
                "Id": r["id"],
                "Label": r["label"],
                "Timestamps": r["timestamps"],
                "Values": [float(v) for v in r["values"]],
                "StatusCode": "Complete",
            }
            for r in results
        ]
    }


def put_metric_data(backend: Any, params: "dict[str, Any]") -> "dict[str, Any]":
    data = [dict(d, Timestamp=_utc(d["Timestamp"])) if "Timestamp" in d else d for d in params.get("MetricData", [])]
    backend.put_metric_data(params["Namespace"], data)
    return {}


OPERATIONS = {"GetMetricData": get_metric_data, "PutMetricData": put_metric_data}


def cbor_operation(request: Any, full_url: str, headers: Any) -> "tuple[int, dict[str, str], bytes]":
    operation = full_url.rstrip("/").rsplit("/", 1)[-1]
    log(f"scaling-backend cloudwatch {operation} -")
    answer_headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    handler = OPERATIONS.get(operation)
    if handler is None:
        error = {"__type": "UnknownOperationException", "message": f"the test backend serves no {operation} in CBOR"}
        return 404, answer_headers, _encode_error(error)
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][_region(dict(headers))]
    try:
        result = handler(backend, _decode(request.get_data()))
    except ServiceException as e:
        shape, status = _ERRORS.get(e.code, (e.code, 400))
        headers = dict(answer_headers, **{"x-amzn-query-error": f"{e.code};Sender"})
        return status, headers, _encode_error({"__type": f"com.amazonaws.cloudwatch#{shape}", "message": e.message})
    return 200, answer_headers, _encode(result, operation)


def _encode_error(error: "dict[str, str]") -> bytes:
    # An error body is a map of strings: botocore's serializer encodes it with a plain shape.
    out = bytearray()
    serializer = RpcV2CBORSerializer()
    out += bytes([0xA0 + len(error)])
    for key, value in error.items():
        serializer._serialize_type_string(out, key, None, None)
        serializer._serialize_type_string(out, value, None, None)
    return bytes(out)


urls.url_paths[PATH] = cbor_operation
