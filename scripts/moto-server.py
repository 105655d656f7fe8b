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

Arguments are moto_server's.
"""
import json
import os
import sys

from moto.iam import models
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import BackendRequest
from moto.server import main

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

if __name__ == "__main__":
    sys.exit(main())
