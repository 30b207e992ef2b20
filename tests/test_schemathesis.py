"""schemathesis drives the OpenAPI documents against the running sandbox.

Every generated request (a bounded number per operation) must get an answer that is not a
server error and that matches the document: a declared status, the declared content type and
a body that validates against the declared schema.
"""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from huesign.sandbox import RunningSandbox  # noqa: E402

API = Path(__file__).resolve().parent.parent / "docs" / "api"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

portal = schemathesis.openapi.from_path(API / "portal.yaml")
wallet = schemathesis.openapi.from_path(API / "wallet.yaml")


def _headers(case: object, sandbox: RunningSandbox, *, wallet_api: bool) -> dict[str, str]:
    creds = sandbox.credentials
    operation = getattr(case, "operation", None)
    path = str(getattr(operation, "path", ""))
    if wallet_api:
        if path.endswith("/confirm"):
            return {"Authorization": f"Bearer {creds.citizen_token}"}
        return {"X-API-Key": creds.merchant_api_key}
    if path.startswith("/agency"):
        return {"Authorization": f"Bearer {creds.officer_token}"}
    return {"Authorization": f"Bearer {creds.citizen_token}"}


@portal.parametrize()
@SETTINGS
def test_portal_answers_match_the_spec(case: object, sandbox: RunningSandbox) -> None:
    case.call_and_validate(  # type: ignore[attr-defined]
        base_url=sandbox.portal_url,
        headers=_headers(case, sandbox, wallet_api=False),
        checks=CHECKS,
        timeout=30,
    )


@wallet.parametrize()
@SETTINGS
def test_wallet_answers_match_the_spec(case: object, sandbox: RunningSandbox) -> None:
    case.call_and_validate(  # type: ignore[attr-defined]
        base_url=sandbox.wallet_url,
        headers=_headers(case, sandbox, wallet_api=True),
        checks=CHECKS,
        timeout=30,
    )
