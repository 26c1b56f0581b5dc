"""The activity log: filters and the CSV export per period."""

import csv
import datetime
import io

from models import AuditEvent
from services import audit


def test_filters_and_csv_export_per_period(client, auth, admin):
    auth.login()
    audit.record("document.publish", user=admin, subject="ovh.pdf", after={"type": "bill"},
                 zoho_id="460000000000012345")
    old = audit.record("bank.sync", actor="scheduler", subject="schedule")
    AuditEvent.update(at=datetime.datetime(2025, 1, 15, 10, 0)).where(
        AuditEvent.id == old.id).execute()

    page = client.get("/activity/?area=document").text
    assert "ovh.pdf" in page and "bank.sync" not in page

    response = client.get("/activity/export.csv?from=2025-01-01&to=2025-01-31")
    assert response.mimetype == "text/csv"
    assert "2025-01-01-2025-01-31" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["bank.sync"]

    rows = list(csv.DictReader(io.StringIO(
        client.get("/activity/export.csv?area=document").get_data(as_text=True))))
    assert rows[0]["zoho_id"] == "460000000000012345"
    assert rows[0]["after"] == '{"type": "bill"}'
    assert rows[0]["actor"] == "admin@example.com"


def test_bad_dates_are_ignored_not_a_crash(client, auth, admin):
    auth.login()
    assert client.get("/activity/?from=yesterday&to=2025-13-45").status_code == 200
