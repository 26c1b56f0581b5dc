"""Contract test: the sandbox's Qonto v2 responses, checked against Qonto's own OpenAPI file.

Each body is validated against the schema of its operation and status in
shared/contracts/qonto/openapi_v2.yml ($refs resolved, ``nullable`` converted, ``date-time``
format asserted). Only fields where the schema itself is wrong may fail, and only those
named in SCHEMA_DEFECTS below.
"""

import re
from datetime import datetime
from functools import cache

import jsonschema
import pytest
import requests
import yaml

from tests.contract.test_zoho_contract import CONTRACTS, _convert

SPEC_FILE = CONTRACTS / "qonto" / "openapi_v2.yml"
# (parent key, field) pairs whose schema is wrong, from SPEC-DEFECTS.md: top-level labels have
# `parent_id: null` (Qonto's own example) but the schema types it as a non-nullable string.
SCHEMA_DEFECTS = {("labels", "parent_id")}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time")
def _is_date_time(value):
    if not isinstance(value, str):
        return True
    return bool(RFC3339.match(value)) and bool(datetime.fromisoformat(value.replace("Z",
                                                                                    "+00:00")))


@cache
def _spec():
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SPEC_FILE.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506


def _schema(template, status, content_type="application/json"):
    spec = _spec()
    response = spec["paths"][template]["get"]["responses"][str(status)]
    return _convert(response["content"][content_type]["schema"], spec)


def _problems(template, status, body):
    validator = jsonschema.Draft7Validator(_schema(template, status), format_checker=FORMATS)
    problems = []
    for error in validator.iter_errors(body):
        names = [part for part in error.absolute_path if isinstance(part, str)]
        if len(names) >= 2 and (names[-2], names[-1]) in SCHEMA_DEFECTS:
            continue
        problems.append(f"{template} {status} {list(error.absolute_path)}: "
                        f"{error.message[:200]}")
    return problems


@pytest.fixture(scope="module")
def qonto(sandbox):
    sandbox.admin("POST", "/sandbox/reset")
    headers = sandbox.qonto_headers()

    def get(path, **params):
        return requests.get(sandbox.url + path, params=params, headers=headers, timeout=30)
    return get


def _steps(get):
    """(OAS path template, expected status, response) in a workable order."""
    org = get("/v2/organization")
    yield "/v2/organization", 200, org
    accounts = org.json()["organization"]["bank_accounts"]
    main = accounts[0]["id"]
    everything = ["attachments", "labels", "vat_details"]
    yield "/v2/transactions", 200, get("/v2/transactions", bank_account_id=main)
    for account in accounts:
        yield "/v2/transactions", 200, get("/v2/transactions", iban=account["iban"],
                                           **{"includes[]": everything})
    yield "/v2/transactions", 200, get("/v2/transactions", bank_account_id=main, per_page=100,
                                       **{"status[]": ["pending", "declined"],
                                          "includes[]": "attachments"})
    yield "/v2/transactions", 200, get("/v2/transactions", bank_account_id=main, page=3,
                                       per_page=25, sort_by="updated_at:asc",
                                       with_attachments="true", **{"includes[]": "labels"})
    yield "/v2/transactions", 200, get("/v2/transactions", bank_account_id=main,
                                       settled_at_from="2099-01-01")  # empty page
    yield "/v2/transactions", 400, get("/v2/transactions", bank_account_id=main,
                                       sort_by="amount:asc")
    yield "/v2/transactions", 422, get("/v2/transactions")
    listed = get("/v2/transactions", bank_account_id=main, with_attachments="true",
                 per_page=100, **{"includes[]": "labels"}).json()["transactions"]
    labelled = next(t for t in listed if t["label_ids"])
    for tx in (listed[0], labelled):
        yield "/v2/transactions/{id}", 200, get(f"/v2/transactions/{tx['id']}",
                                                **{"includes[]": everything})
    yield "/v2/transactions/{id}/attachments", 200, get(
        f"/v2/transactions/{listed[0]['id']}/attachments")
    yield "/v2/transactions/{id}/attachments", 404, get(
        "/v2/transactions/00000000-0000-4000-8000-000000000000/attachments")
    yield "/v2/attachments/{id}", 200, get(f"/v2/attachments/{listed[0]['attachment_ids'][0]}")


def test_qonto_responses_match_the_spec(qonto):
    failures, checked = [], set()
    for template, status, response in _steps(qonto):
        checked.add((template, status))
        if response.status_code != status:
            failures.append(f"{template}: HTTP {response.status_code}, expected {status}: "
                            f"{response.text[:200]}")
            continue
        assert response.headers["Content-Type"].startswith("application/json")
        failures.extend(_problems(template, status, response.json()))
    assert not failures, "\n".join(failures)
    assert len(checked) == 8


def test_labels_exercise_the_allowed_defect(qonto):
    """The allow-list is not dead: a top-level label really has parent_id null, and that
    is the only thing the schema rejects in this body."""
    main = qonto("/v2/organization").json()["organization"]["bank_accounts"][0]["id"]
    listed = qonto("/v2/transactions", bank_account_id=main, per_page=100,
                   **{"includes[]": "labels"}).json()["transactions"]
    top = next(t for t in listed if any(label["parent_id"] is None for label in t["labels"]))
    body = qonto(f"/v2/transactions/{top['id']}", **{"includes[]": "labels"}).json()
    errors = list(jsonschema.Draft7Validator(_schema("/v2/transactions/{id}", 200))
                  .iter_errors(body))
    assert errors and {e.absolute_path[-1] for e in errors} == {"parent_id"}


def test_plain_text_404_matches_the_spec(qonto):
    response = qonto("/v2/transactions/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404 and response.text == ""
    assert response.headers["Content-Type"].startswith("text/plain")
    assert _schema("/v2/transactions/{id}", 404, "text/plain") == {"type": "string"}


def test_spec_named_examples_pass_and_the_defects_are_real():
    """The named organization example passes this validator; the plain one (a non-ISO
    contract_signed_at) fails, as SPEC-DEFECTS.md says: the format check is active."""
    content = _spec()["paths"]["/v2/organization"]["get"]["responses"]["200"]["content"]
    named = content["application/json"]["examples"]["Only Qonto bank accounts"]["value"]
    assert _problems("/v2/organization", 200, named) == []
    plain = _problems("/v2/organization", 200, content["application/json"]["example"])
    assert len(plain) == 1 and "contract_signed_at" in plain[0]
