#!/usr/bin/env python3
"""Starts the local AWS emulator (moto), with the few AWS managed policies spa attaches.

moto loads AWS managed policies (AdministratorAccess, ...) only with
MOTO_IAM_LOAD_MANAGED_POLICIES, and then all 1,300 of them in every account it meets:
slow, and each one draws a random id, which moves every id drawn after it (the example
organization's ids are fixed by a seed). This starts moto with only the policies named in
SPA_EMULATOR_MANAGED_POLICIES (default: AdministratorAccess, ReadOnlyAccess), loaded
without drawing from the seeded generator.

It also keeps the body of a form-encoded request (the query protocol of IAM, STS, SNS,
SQS...) as the client sent it. moto verifies request signatures when it authorizes requests
(`/moto-api/reset-auth`), and computes them over the body; werkzeug hands a form body over
parsed, moto encodes it again, and any character encoded differently (`*`, for one) fails
the signature of a request that real AWS accepts.

It also answers CloudWatch in the Smithy RPC v2 CBOR protocol, which the Rust SDK speaks
to it (`POST /service/GraniteServiceVersion20100801/operation/<Operation>`, a CBOR map each
way): moto knows only CloudWatch's query and JSON protocols and answers 404. The operations
spa calls (PutMetricData, ListMetrics, GetDashboard, PutDashboard) are translated to moto's
CloudWatch backend, in the account and region moto derives from the request as for any other
(and authorized as `cloudwatch:<Operation>` once told to authorize); any other operation
answers an UnknownOperationException. Its request ids are not drawn from the seeded
generator either.

Arguments are moto_server's.
"""
import json
import os
import sys
import traceback
import uuid
from datetime import datetime, timezone

from botocore.model import OperationNotFoundError
from moto.cloudwatch import urls as cloudwatch_urls
from moto.cloudwatch.exceptions import DashboardInvalidInputError, ResourceNotFound
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.exceptions import ServiceException
from moto.core.utils import get_service_model
from moto.iam import models
from moto.iam.access_control import IAMRequest
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import BackendRequest
from moto.server import main
from werkzeug.exceptions import HTTPException

try:
    import cbor2
except ImportError:
    sys.exit("error: cbor2 is not installed in this environment: run scripts/emulator install")

WANTED = set(
    filter(None, os.environ.get("SPA_EMULATOR_MANAGED_POLICIES", "AdministratorAccess,ReadOnlyAccess").split(","))
)
DATA = {name: data for name, data in json.loads(aws_managed_policies_data).items() if name in WANTED}


def _init_aws_policies(self):
    state = mock_random.getstate()
    try:
        return [
            models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in DATA.items()
        ]
    finally:
        mock_random.setstate(state)


models.IAMBackend._init_aws_policies = _init_aws_policies


def _data(self):
    # Cached before the form is parsed: werkzeug then parses the form from this copy.
    return self.get_data(cache=True, parse_form_data=False)


BackendRequest.data = property(_data)

CBOR_PATH = "/service/GraniteServiceVersion20100801/operation/"


class CborError(Exception):
    """An error answer: its code (the query protocol's, as in x-amzn-query-error) and message."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class CloudWatchIAMRequest(IAMRequest):
    # moto names the action after the signing name (monitoring:...); IAM's is cloudwatch:...
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._action = f"cloudwatch:{kwargs['action']}"


def _naive_utc(value):
    # moto keeps timestamps as naive UTC datetimes (what its query parser hands over).
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    return datetime.fromtimestamp(float(value), timezone.utc).replace(tzinfo=None)


def _compact(value):
    # Smithy leaves absent members out rather than sending null.
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


class CloudWatchCbor(CloudWatchResponse):
    """One CloudWatch request in the RPC v2 CBOR protocol, answered from moto's backend."""

    use_raw_body = True  # CBOR, not text

    def __init__(self, operation):
        super().__init__()
        self.automated_parameter_parsing = False  # the body is CBOR, decoded in _result()
        self.operation = operation

    def _get_action(self):
        return self.operation

    def put_metric_data_cbor(self, params):
        data = [dict(datum) for datum in params.get("MetricData") or []]
        for datum in data:
            if datum.get("Timestamp") is not None:
                datum["Timestamp"] = _naive_utc(datum["Timestamp"])
        self.cloudwatch_backend.put_metric_data(params.get("Namespace"), data)
        return {}

    def list_metrics_cbor(self, params):
        next_token, metrics = self.cloudwatch_backend.list_metrics(
            params.get("NextToken"),
            params.get("Namespace"),
            params.get("MetricName"),
            params.get("Dimensions") or [],
        )
        return {
            "Metrics": [
                {
                    "Namespace": metric.namespace,
                    "MetricName": metric.name,
                    "Dimensions": [{"Name": d.name, "Value": d.value} for d in metric.dimensions],
                }
                for metric in metrics
            ],
            "NextToken": next_token,
        }

    def get_dashboard_cbor(self, params):
        dashboard = self.cloudwatch_backend.get_dashboard(params.get("DashboardName"))
        if dashboard is None:
            raise ResourceNotFound("Dashboard does not exist")  # moto's own answer
        return {
            "DashboardArn": dashboard.arn,
            "DashboardBody": dashboard.body,
            "DashboardName": dashboard.name,
        }

    def put_dashboard_cbor(self, params):
        try:
            json.loads(params.get("DashboardBody"))
        except (TypeError, ValueError):
            raise DashboardInvalidInputError("Body is invalid JSON")
        self.cloudwatch_backend.put_dashboard(params.get("DashboardName"), params["DashboardBody"])
        return {"DashboardValidationMessages": []}

    OPERATIONS = {
        "PutMetricData": put_metric_data_cbor,
        "ListMetrics": list_metrics_cbor,
        "GetDashboard": get_dashboard_cbor,
        "PutDashboard": put_dashboard_cbor,
    }

    def answer(self, request, full_url):
        try:
            return self._cbor(200, _compact(self._result(request, full_url)))
        except CborError as e:
            return self._error(e.code, e.message, e.status)
        except ServiceException as e:  # moto's CloudWatch errors
            return self._error(e.code, e.message, 400)
        except HTTPException as e:  # moto's authorization errors (AccessDenied, ...)
            code = getattr(e, "error_type", type(e).__name__)
            return self._error(code, getattr(e, "message", str(e)), e.code)
        except Exception as e:  # noqa: BLE001 - answered, and logged, rather than dropped
            traceback.print_exc()
            return self._error("InternalServiceError", f"{type(e).__name__}: {e}", 500)

    def _result(self, request, full_url):
        self.setup_class(request, full_url)
        # What moto's call_action does first: counts the request, or authorizes it.
        self._authenticate_and_authorize_action(CloudWatchIAMRequest)
        handler = self.OPERATIONS.get(self.operation)
        if handler is None:
            raise CborError(
                "UnknownOperationException",
                f"scripts/moto-server.py answers only {', '.join(self.OPERATIONS)} "
                f"of CloudWatch's CBOR protocol, not {self.operation}",
                404,
            )
        try:
            params = cbor2.loads(self.raw_body) if self.raw_body else {}
        except (cbor2.CBORDecodeError, ValueError) as e:
            raise CborError("SerializationException", f"the body is not CBOR: {e}")
        if not isinstance(params, dict):
            raise CborError("SerializationException", "the body is not a CBOR map")
        return handler(self, params)

    @staticmethod
    def _cbor(status, body, headers=()):
        return (
            status,
            {
                "smithy-protocol": "rpc-v2-cbor",
                "Content-Type": "application/cbor",
                "x-amzn-requestid": str(uuid.uuid4()),
                **dict(headers),
            },
            cbor2.dumps(body),
        )

    def _error(self, code, message, status):
        # The error's shape as CloudWatch's model names it (the operation's own first: two
        # shapes share the code ResourceNotFound), its HTTP status, and whose fault it is.
        model = get_service_model("cloudwatch")
        try:
            shapes = list(model.operation_model(self.operation).error_shapes)
        except OperationNotFoundError:
            shapes = []
        shapes += list(model.error_shapes)
        shape = next((s for s in shapes if (s.metadata.get("error") or {}).get("code") == code), None)
        if shape:
            error = shape.metadata["error"]
            kind, status = f"com.amazonaws.cloudwatch#{shape.name}", error.get("httpStatusCode", status)
            sender = error.get("senderFault", False)
        else:
            kind, sender = code, status < 500
        return self._cbor(
            status,
            {"__type": kind, "message": message},
            [("x-amzn-query-error", f"{code};{'Sender' if sender else 'Receiver'}")],
        )


def _cloudwatch_cbor(request, full_url, headers):
    return CloudWatchCbor(request.path[len(CBOR_PATH) :]).answer(request, full_url)


# Read when moto first builds CloudWatch's app, on its first request.
cloudwatch_urls.url_paths["{0}" + CBOR_PATH + "(?P<operation>[^/]+)$"] = _cloudwatch_cbor

if __name__ == "__main__":
    sys.exit(main())
