"""The OpenAPI 3.1 document: valid, made from the registry (every operation once, every API
route in it), with both security schemes, and saying what the server really does."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
import schemathesis

from loyalty.api import PREFIX
from loyalty.api.openapi import ERROR_COMPONENT, openapi_document
from loyalty.api.operations import OPERATIONS, Access
from tests.support.accounts import customer
from tests.support.api import bearer, service_token
from tests.support.campaigns import running, welcome_series

DOCUMENT_URL = PREFIX + "/openapi.json"
ERROR = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture()
def document(client) -> dict:
    answer = client.get(DOCUMENT_URL)
    assert answer.status_code == 200
    return answer.get_json()


def documented_operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, item)
        for path, methods in document["paths"].items()
        for method, item in methods.items()
        if method in METHODS
    ]


def by_id(document: dict) -> dict[str, dict]:
    return {item["operationId"]: item for _method, _path, item in documented_operations(document)}


def schema_validator(document: dict, schema: dict) -> jsonschema_rs.Validator:
    """A validator of `schema`, its #/components/... references resolved in the document."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(document).validate()  # OpenAPI 3.1's own JSON schema
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name  # each a valid JSON Schema 2020-12


def test_every_reference_points_at_a_component(document):
    text = repr(document)
    for name in set(re.findall(r"#/components/schemas/([A-Za-z0-9_.-]+)", text)):
        assert name in document["components"]["schemas"], name


def test_the_document_is_public_and_cacheable(client):
    answer = client.get(DOCUMENT_URL)  # no token, no tenant
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    assert "public" in answer.headers["Cache-Control"]
    again = client.get(DOCUMENT_URL, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_paths_are_relative_to_the_api_prefix_on_the_host_asked(client):
    answer = client.get(DOCUMENT_URL, base_url="https://loyalty.example.com")
    document = answer.get_json()
    assert document["servers"] == [{"url": "https://loyalty.example.com/loyalty-api/api"}]
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["password"]["tokenUrl"] == "https://loyalty.example.com/auth-oauth2/oauth/token"


def test_every_registered_operation_appears_exactly_once_with_its_method_and_path(document):
    documented = [
        (item["operationId"], method, path)
        for method, path, item in documented_operations(document)
    ]
    registered = [(op.operation_id, op.method, op.path) for op in OPERATIONS.values()]
    assert sorted(documented) == sorted(registered)
    assert len({operation_id for operation_id, _m, _p in documented}) == len(documented)


def test_every_api_route_of_the_app_is_in_the_document(app, document):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/") or rule.rule == DOCUMENT_URL:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(PREFIX) :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    documented = {(method, path) for method, path, _item in documented_operations(document)}
    assert routes - documented == set()
    assert routes, "no API route found: the coverage test would pass on nothing"


def test_both_security_schemes_use_the_token_endpoint(document):
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"oauth2", "oauth2-client"}
    password = schemes["oauth2"]["flows"]["password"]
    client_credentials = schemes["oauth2-client"]["flows"]["clientCredentials"]
    for flow in (password, client_credentials):
        assert flow["tokenUrl"].endswith("/auth-oauth2/oauth/token")
        assert flow["refreshUrl"] == flow["tokenUrl"]
        assert set(flow["scopes"]) == {
            "ROLE_SU",
            "ROLE_LOYALTY",
            "ROLE_LOYALTY_CAMPAIGN",
            "ROLE_LOYALTY_STATS",
        }


def test_each_operation_says_who_may_call_it(document):
    operations = by_id(document)
    for op in OPERATIONS.values():
        item = operations[op.operation_id]
        roles = op.roles if "ROLE_SU" in op.roles else ("ROLE_SU", *op.roles)
        if op.access is Access.CUSTOMER:
            assert item["security"] == [{"oauth2": []}], op.operation_id
            assert item["x-roles"] == []
        else:
            # Any one role admits, with a service's token or a team member's.
            alternatives = {
                (scheme, tuple(roles))
                for each in item["security"]
                for scheme, roles in each.items()
            }
            assert alternatives == {
                (scheme, (role,)) for scheme in ("oauth2", "oauth2-client") for role in roles
            }, op.operation_id
            assert all(role in item["description"] for role in roles), op.operation_id
            assert item["x-roles"] == list(roles)
        assert item["tags"] == [op.tag]
        assert item["summary"] == op.summary
        assert item.get("deprecated", False) is op.deprecated, op.operation_id


def test_each_operation_documents_its_parameters_and_answers(document):
    operations = by_id(document)
    for op in OPERATIONS.values():
        item = operations[op.operation_id]
        parameters = {(p["in"], p["name"]): p for p in item["parameters"]}
        tenant = parameters[("header", "x-tenant")]
        assert tenant["required"] is False
        assert tenant["schema"] == {
            "type": "string",
            "minLength": 3,
            "maxLength": 64,
            "pattern": "^[a-zA-Z0-9._-]+$",
        }
        for param in op.path_params:
            assert parameters[("path", param.name)]["schema"] == param.schema()
        fields = op.query.model_fields.items() if op.query else ()
        query = {name for place, name in parameters if place == "query"}
        assert query == {info.alias or name for name, info in fields}, op.operation_id
        responses = item["responses"]
        for status in ("400", "401", "403", "404"):
            assert responses[status]["content"]["application/json"]["schema"] == ERROR
        for reply in op.replies:
            documented = responses[str(reply.status)]
            if reply.status != 204 and (
                reply.body is not None or reply.content_type != "application/json"
            ):
                assert reply.content_type in documented["content"], op.operation_id
            for header in reply.headers:
                assert header in documented["headers"], op.operation_id
        assert ("requestBody" in item) is (op.body is not None), op.operation_id


def test_list_operations_take_react_admin_paging_and_repeat_list_filters(document):
    accounts = by_id(document)["getAccounts"]
    parameters = {p["name"]: p for p in accounts["parameters"]}
    for name in ("_start", "_end", "_sort", "_order", "range", "sort", "filter"):
        assert parameters[name]["in"] == "query"
    assert parameters["id"]["schema"]["type"] == "array"
    assert parameters["id"]["explode"] is True
    page = accounts["responses"]["200"]
    assert set(page["headers"]) >= {"X-Total-Count", "Content-Range"}
    assert page["content"]["application/json"]["schema"]["type"] == "array"


def test_a_request_and_its_answer_match_the_document(client, tenant, document):
    """The welcome series, as an integrator would send it, fits putCampaign's request body; the
    server takes it, and its answer fits the documented response."""
    put = by_id(document)["putCampaign"]
    body = welcome_series()
    request_schema = put["requestBody"]["content"]["application/json"]["schema"]
    schema_validator(document, request_schema).validate(body)

    headers = bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_CAMPAIGN",)), tenant)
    answer = client.put(f"{PREFIX}/campaign/welcome", json=body, headers=headers)
    assert str(answer.status_code) in put["responses"]
    response_schema = put["responses"][str(answer.status_code)]["content"]["application/json"]
    schema_validator(document, response_schema["schema"]).validate(answer.get_json())

    # And the document refuses what the server refuses.
    wrong = {**body, "type": "WEEKLY"}
    assert not schema_validator(document, request_schema).is_valid(wrong)
    assert client.put(f"{PREFIX}/campaign/welcome", json=wrong, headers=headers).status_code == 400


def test_an_account_answer_matches_the_document(client, tenant, document):
    ann = customer(tenant, external_id="ann-1", card="4000123", email="ann@example.com")
    running(tenant, welcome_series())
    headers = bearer(service_token(client, tenant), tenant)
    answer = client.get(f"{PREFIX}/card/4000123/account", headers=headers)
    assert answer.status_code == 200
    schema = by_id(document)["getAccountByCard"]["responses"]["200"]["content"]
    schema_validator(document, schema["application/json"]["schema"]).validate(answer.get_json())
    assert answer.get_json()["id"] == ann.external_id


def test_each_caller_gets_a_document_of_its_own(app):
    first = openapi_document("http://one.test")
    second = openapi_document("http://two.test")
    assert first["paths"] == second["paths"] != {}
    assert first["servers"] != second["servers"]
    first["paths"].clear()  # each caller gets its own copy
    assert openapi_document("http://one.test")["paths"] == second["paths"]
