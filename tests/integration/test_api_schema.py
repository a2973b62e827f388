"""Property-based API testing with schemathesis: generated requests (valid and invalid) against every
operation of the published OpenAPI — no server errors, documented status codes and content types,
responses that match their schemas. Run as a supervisor (operations) and as an admin (configuration)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import token_for

EXCLUDED = {("GET", "/api/v1/events")}  # the SSE stream never ends by design; it has its own tests


def operations(app):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = []
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) not in EXCLUDED:
            ops.append(op)
    return ops


@pytest.mark.parametrize("who", ["sup", "admin"])
def test_every_operation_conforms_to_the_published_schema(app, who):
    ops = operations(app)
    assert len(ops) >= 30
    failures = []
    for op in ops:
        @given(case=op.as_strategy())
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def check(case):  # type: ignore[no-untyped-def]
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token_for(who)}"}
            # Schema-valid but meaningless data (an unknown category code, a move the state machine
            # forbids) is rightly a 422/409: positive_data_acceptance cannot know our domain.
            case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n\n".join(failures)
