"""Live previews while a rule is edited: the lines it would match, before it is saved."""

import datetime
import html
import re

from models import (
    BankTransaction,
    CategorisationRule,
    DocumentStatus,
    QontoAccount,
    SupplierRule,
    utcnow,
)
from tests.conftest import csrf_token
from tests.test_supplier_rules import make_document


def _lines(*labels_and_counts) -> None:
    account = QontoAccount.create(qonto_id="acc-preview", name="Compte courant")
    now, rows, day = utcnow(), [], datetime.date(2026, 6, 1)
    for label, count in labels_and_counts:
        for _ in range(count):
            rows.append({"account": account, "qonto_id": f"tx-{len(rows)}",
                         "status": "completed", "side": "debit", "amount_cents": 1990,
                         "label": label, "qonto_updated_at": now,
                         "booking_date": day + datetime.timedelta(days=len(rows) % 15)})
    BankTransaction.insert_many(rows).execute()


def _preview(client, **fields):
    data = {"csrf_token": csrf_token(client), "condition_field_0": "label",
            "condition_op_0": "contains", **fields}
    response = client.post("/bank/rules/preview", data=data)
    assert response.status_code == 200
    return re.sub(r"<[^>]+>", "", html.unescape(response.text))  # the words a person reads


def test_the_bank_rule_preview_lists_the_matching_lines_before_saving(client, auth,
                                                                      bookkeeper):
    _lines(("CARTE OVH SAS", 3), ("PRLV URSSAF", 1), ("CARTE AMAZON EU", 25))
    auth.login("books@example.com")
    assert 'hx-post="/bank/rules/preview"' in client.get("/bank/rules/").text

    amazon = _preview(client, condition_value_0="amazon")
    assert "Matches 25 of the last 29 transactions; the newest 20:" in amazon
    assert amazon.count("CARTE AMAZON EU") == 20 and "OVH" not in amazon

    ovh = _preview(client, condition_value_0="ovh", side="debit", amount_min="19,90")
    assert "Matches 3 of the last 29 transactions:" in ovh and ovh.count("CARTE OVH SAS") == 3
    assert "−19.90 EUR" in ovh

    assert "No line among the last 29 transactions matches" in _preview(
        client, condition_value_0="ovh", side="credit")
    assert CategorisationRule.select().count() == 0  # a preview saves nothing


def test_a_preview_explains_what_it_cannot_run(client, auth, bookkeeper):
    _lines(("CARTE OVH SAS", 1))
    auth.login("books@example.com")
    assert "No preview: " in _preview(client, condition_op_0="matches", condition_value_0="[")
    assert "missing ]" in _preview(client, condition_op_0="matches", condition_value_0="[")
    assert "'abc' is not an amount" in _preview(client, condition_value_0="ovh",
                                               amount_min="abc")
    assert client.post("/bank/rules/preview", data={"condition_value_0": "x"}).status_code == 400


def test_the_preview_says_when_there_are_no_lines_yet(client, auth, bookkeeper):
    auth.login("books@example.com")
    assert "No bank lines yet" in _preview(client, condition_value_0="ovh")


def test_the_supplier_rule_preview_lists_the_documents_it_would_change(client, auth,
                                                                       bookkeeper):
    make_document(supplier_name="ovhcloud ", number="FR-1")
    make_document(supplier_name="OVH SAS", number="FR-2")
    make_document(supplier_name="OVH SAS", number="FR-3", status=DocumentStatus.PUBLISHED)
    make_document(supplier_name="Scaleway", number="SC-9")
    auth.login("books@example.com")
    assert 'hx-post="/suppliers/preview"' in client.get("/suppliers/").text

    def preview(**fields):
        response = client.post("/suppliers/preview", data={
            "csrf_token": csrf_token(client, "/suppliers/"), "payment_terms_days": "3x",
            **fields})
        return re.sub(r"<[^>]+>", "", html.unescape(response.text))

    by_name = preview(name="OVHcloud")
    assert "Applies to 1 unpublished document:" in by_name and "FR-1" in by_name
    with_alias = preview(name="OVHcloud", aliases="OVH SAS, OVH Hosting")
    assert "Applies to 2 unpublished documents:" in with_alias
    assert "FR-2" in with_alias and "FR-3" not in with_alias and "SC-9" not in with_alias
    assert "No unpublished document comes from this supplier" in preview(name="Hetzner")
    assert "Type the supplier's name" in preview(name="")
    assert SupplierRule.select().count() == 0
