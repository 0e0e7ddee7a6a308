"""The OpenAPI document matches the app's routes, and schemathesis finds no server error."""

from __future__ import annotations

import importlib
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_api.openapi import build_spec, merge_paths


def app_routes(app, blueprint: str | None = None) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if blueprint is not None and rule.endpoint.partition(".")[0] != blueprint:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def spec_routes(spec) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in spec["paths"].items() for method in ops}


def test_the_spec_lists_exactly_the_apps_routes(app, client):
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json["openapi"].startswith("3.")
    assert spec_routes(served.json) == app_routes(app)


def test_each_blueprint_describes_exactly_its_own_routes_next_to_its_views(app):
    """A route's OpenAPI path lives in the module of the blueprint that serves it."""
    assert {rule.endpoint.partition(".")[0] for rule in app.url_map.iter_rules()} == set(
        app.blueprints
    )
    for name, blueprint in app.blueprints.items():
        module = importlib.import_module(blueprint.import_name)
        described = spec_routes({"paths": module.OPENAPI_PATHS})
        assert described == app_routes(app, name), name


def test_merging_refuses_an_operation_two_blueprints_describe():
    assert merge_paths({"/a": {"get": {}}}, {"/a": {"post": {}}}) == {"/a": {"get": {}, "post": {}}}
    with pytest.raises(ValueError, match="/a"):
        merge_paths({"/a": {"get": {}}}, {"/a": {"get": {}}})


def test_public_operations_in_the_spec_are_the_public_endpoints(app):
    from agent_api.auth import PUBLIC_ENDPOINTS

    public_paths = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint in PUBLIC_ENDPOINTS
    }
    spec = build_spec()
    declared_public = {
        path
        for path, ops in spec["paths"].items()
        for op in ops.values()
        if op.get("security") == []
    }
    assert declared_public == public_paths


def test_path_parameters_are_declared_for_every_templated_path():
    for path, ops in build_spec()["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


# Generated calls: reproducible, unhurried, and never kept between runs.
GENERATED = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "derandomize": True,
}


def _every_operation(app, auth, requests):
    """A filed request's id, an admin's and an agent's headers, and every operation."""
    rid = requests.file().id
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    headers = [auth["admin"], auth["jeddah_agent"]]
    return rid, headers, [result.ok() for result in schema.get_all_operations()]


def test_schemathesis_finds_no_server_error(app, auth, requests):
    """Generated calls of every operation, as an admin and as an agent: never a 500."""
    rid, headers, operations = _every_operation(app, auth, requests)
    failures: list[str] = []
    statuses: list[int] = []
    # Every operation but the spec itself, which schemathesis leaves out.
    assert len(operations) == len(spec_routes(build_spec())) - 1

    for operation in operations:

        @settings(max_examples=6, **GENERATED)
        @given(case=operation.as_strategy(), who=st.sampled_from(headers), known=st.booleans())
        def call(case, who, known):
            if known and "request_id" in (case.path_parameters or {}):
                case.path_parameters["request_id"] = rid
            response = case.call(headers=who)
            statuses.append(response.status_code)
            if response.status_code >= 500 and response.status_code != 503:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        call()
    assert failures == []
    # The calls reached the views, not only the authentication: successes and refusals both.
    assert len(statuses) >= 4 * len(operations)
    assert {200, 201} & set(statuses) and {404, 422} <= set(statuses)


# What people type and paste, and what a broken client sends: digits of other scripts,
# superscripts, fractions, control characters, direction marks and odd spaces.
HOSTILE_CHARACTERS = (
    "0123456789"
    "٠١٢٣٤٥٦٧٨٩"  # Arabic-Indic
    "۰۱۲۳۴۵۶۷۸۹"  # Extended Arabic-Indic (Persian, Urdu)
    "०१२३४५६७८९"  # Devanagari
    "０１２３４５６７８９"  # fullwidth
    "²³¹⁰½¼①Ⅻ𝟓"  # digits that are no decimal digits, and one that is
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f\x7f\x85"  # control characters
    "\u00a0\u2009\u202f\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069\ufeff"
    "-+.,:/eE٫٬"
)
hostile_text = st.text(alphabet=st.sampled_from(HOSTILE_CHARACTERS), max_size=12)


def _query_names(operation) -> list[str]:
    return [
        parameter["name"]
        for parameter in operation.definition.raw.get("parameters", [])
        if parameter.get("in") == "query"
    ]


def test_unicode_digits_and_control_characters_never_make_a_server_error(app, auth, requests):
    """Every operation, with its query parameters and body fields replaced by text made of
    Unicode digits, control characters and direction marks: a 4xx, never a 5xx."""
    rid, headers, operations = _every_operation(app, auth, requests)
    failures: list[str] = []
    statuses: list[int] = []

    for operation in operations:

        @settings(max_examples=8, **GENERATED)
        @given(case=operation.as_strategy(), who=st.sampled_from(headers), data=st.data())
        def call(case, who, data):
            if "request_id" in (case.path_parameters or {}):
                case.path_parameters["request_id"] = rid
            names = _query_names(case.operation)
            if names:
                chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
                case.query = {**(case.query or {}), **{n: data.draw(hostile_text) for n in chosen}}
            if isinstance(case.body, dict) and case.body:
                chosen = data.draw(st.lists(st.sampled_from(sorted(case.body)), unique=True))
                case.body = {**case.body, **{n: data.draw(hostile_text) for n in chosen}}
            response = case.call(headers=who)
            statuses.append(response.status_code)
            # The one 5xx by design: the app is built without telephony (no AMI), and says so.
            unavailable = response.status_code == 503 and (
                (response.json() or {}).get("error") == "telephony-unavailable"
            )
            if response.status_code >= 500 and not unavailable:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                    f"{response.status_code}"
                )

        call()
    assert failures == []
    assert 422 in statuses and len(statuses) >= 4 * len(operations)


def _properties(node, name):
    """Every schema given to a property called ``name``, anywhere in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict) and name in value:
                yield value[name]
            yield from _properties(value, name)
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item, name)


def _allows(schema, value: str) -> bool:
    pattern = schema.get("pattern")
    return (
        schema.get("type") == "string"
        and len(value) <= schema.get("maxLength", len(value))
        and (pattern is None or re.search(pattern, value) is not None)
    )


def test_the_documented_national_id_and_mobile_take_what_the_server_takes():
    """The schemas say what the server reads: any digits, with what is pasted around them."""
    from tawasul.ids import normalize_saudi_mobile, validate_national_id

    spec = build_spec()
    national_ids = ["1000000008", "١٠٠٠٠٠٠٠٠٨", "۱۰۰۰۰۰۰۰۰۸", "1000 000 008", "\u200f1000-000-008"]
    mobiles = ["0551234567", "٠٥٥١٢٣٤٥٦٧", "+966 55 123 4567", "(055) 123-4567", "00966551234567"]
    for name, values, reads in (
        ("national_id", national_ids, validate_national_id),
        ("mobile", mobiles, normalize_saudi_mobile),
    ):
        schemas = list(_properties(spec, name))
        assert len(schemas) >= 3, name  # manual entry (form and JSON), fax requester, portal
        for value in values:
            reads(value)  # the server takes it...
            for schema in schemas:
                assert _allows(schema, value), (name, value, schema)  # ... and so does the spec
                assert schema.get("description"), name
