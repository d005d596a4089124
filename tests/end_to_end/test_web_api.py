"""rex-web's API against its own OpenAPI document, with schemathesis: every operation,
generated valid and invalid inputs, no 5xx, every response as the document says. The
server is the real command on a real tree (tests/webtree.py), holding a token so that
the event post is exercised too."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from rex.web.openapi import document

from webserver import WebServer
from builttree import build

pytestmark = pytest.mark.slow   # a real tree, a server, hundreds of requests

TOKEN = "schemathesis-token-0123456789"


@pytest.fixture(scope="module")
def web(tmp_path_factory, pg_cluster):
    env = build(str(tmp_path_factory.mktemp("webapi")), pg_cluster)
    env["REX_WEB_TOKEN"] = TOKEN
    with WebServer(env) as server:
        yield server


@pytest.fixture(scope="module")
def web_schema(web):
    # A body too large for the server (an over-long log_tail) is refused with 413, which
    # schemathesis does not count as a refusal by default.
    rejected = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422"]
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": rejected}}})
    return schemathesis.openapi.from_url(web.url + "api/v1/openapi.json", config=config,
                                         headers={"Authorization": f"Bearer {TOKEN}"})


# Every operation of the document, as (path, method); whether it takes any input.
OPERATIONS = [(path, method.upper(), bool(op.get("parameters") or op.get("requestBody")))
              for path, item in document("test")["paths"].items() for method, op in item.items()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("path,method,takes_input", OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_every_operation_answers_as_documented(web_schema, path, method, takes_input, mode):
    """(schemathesis' pytest loader breaks on pytest 9: `request.node._nodeid`; its strategies
    are used directly instead, one hypothesis test per operation and mode.)"""
    if mode == GenerationMode.NEGATIVE and (not takes_input or path == "/api/v1/sets/{id}"):
        pytest.skip("no input to get wrong (any string is a set id to look up)")
    operation = web_schema[path][method]
    # /api/v1/health answers 503 by design when the verdict is CRITICAL (this tree's is):
    # documented, so held to the document instead of to "no 5xx".
    excluded = [not_a_server_error] if path == "/api/v1/health" else []
    if path == "/api/v1/events":
        # A post mixing hosts fits the schema (JSON Schema cannot say "one host") and is
        # refused on purpose (400): test_web.py proves that good posts are accepted.
        excluded.append(positive_data_acceptance)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def answers_as_documented(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=excluded)

    answers_as_documented()


def test_health_is_503_exactly_when_critical(web):
    status, health = web.json("/api/v1/health", token=TOKEN)
    assert (status, health["verdict"]) == (503, "CRITICAL")


def test_every_path_of_the_document_is_served(web):
    status, document = web.json("/api/v1/openapi.json", token=TOKEN)
    assert status == 200
    assert set(document["paths"]) == {"/", "/api/v1/sets", "/api/v1/sets/{id}", "/api/v1/jobs", "/api/v1/standby",
                                      "/api/v1/farm", "/api/v1/health", "/api/v1/events", "/metrics",
                                      "/api/v1/openapi.json"}
