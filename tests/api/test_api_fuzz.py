"""Schema-based fuzzing (schemathesis) of the live server: no input makes it answer a 5xx.

Every operation of the OpenAPI document gets a bounded number of generated requests (valid and invalid
values, per the schema); each answer must not be a server error, must have a documented status and content
type. Kept under a minute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error, status_code_conformance

if TYPE_CHECKING:
    from tests.api.conftest import LiveServer


@pytest.fixture(scope="session")
def api_schema(live_server: LiveServer) -> Any:
    """The live server's OpenAPI document, loaded by schemathesis."""
    return schemathesis.openapi.from_url(f"{live_server.base_url}/openapi.json")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error(api_schema: Any, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance])

        try:
            run()
        except Unsatisfiable:  # nothing invalid to generate (an operation without parameters)
            assert mode is GenerationMode.NEGATIVE
