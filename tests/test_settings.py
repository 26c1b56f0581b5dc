"""Connection settings: saved by admins, audited, validated against cached taxes."""

from models import AuditEvent, ConnectionSettings, ZohoConnection, ZohoTax
from tests.conftest import csrf_token
from tests.zoho_flow import connect


def test_defaults_before_anything_is_set(client, auth, admin):
    auth.login()
    page = client.get("/connections/").text
    settings = ConnectionSettings.current()
    assert settings.warn_new_supplier is True and settings.auto_publish is False
    assert "No taxes cached yet" in page


def test_admin_saves_settings_and_the_change_is_audited(client, auth, admin):
    auth.login()
    connect(client)
    org = ZohoConnection.current().organization_id
    cost_tax = ZohoTax.usable(org).where(ZohoTax.name.contains("20")).first()
    response = client.post("/connections/settings/", data={
        "default_cost_tax_id": cost_tax.zoho_id, "default_sales_tax_id": "",
        "auto_publish": "y", "csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "Settings saved" in response.text
    settings = ConnectionSettings.current()
    assert settings.default_cost_tax_id == cost_tax.zoho_id
    assert settings.warn_new_supplier is False and settings.auto_publish is True
    event = AuditEvent.select().where(AuditEvent.action == "settings.update").get()
    assert event.user.email == "admin@example.com"
    assert event.before == {"warn_new_supplier": True, "default_cost_tax_id": None,
                            "auto_publish": False}
    assert event.after["default_cost_tax_id"] == cost_tax.zoho_id


def test_unknown_tax_is_refused(client, auth, admin):
    auth.login()
    connect(client)
    response = client.post("/connections/settings/", data={
        "warn_new_supplier": "y", "default_cost_tax_id": "123", "default_sales_tax_id": "",
        "csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "were not saved" in response.text
    assert ConnectionSettings.current().default_cost_tax_id is None


def test_settings_page_is_read_only_for_bookkeepers(client, auth, admin, bookkeeper):
    auth.login("books@example.com")
    page = client.get("/connections/settings/")
    assert page.status_code == 200
    assert "Read-only" in page.text and "<fieldset disabled" in page.text
    assert 'id="settings-save"' not in page.text
