"""Application-wide behaviour: schema drift, health, error pages, configuration."""

from playhouse.schema_diff import diff_models

from models import MODELS, db


def test_migrations_match_the_models(app):
    drift = diff_models(db.obj, MODELS)
    assert not drift, str(drift)


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok" and response.json["queue"] == "ok"


def test_unknown_page_is_a_friendly_404(client, auth, admin):
    auth.login()
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.text and "<html" in response.text


def test_error_for_htmx_is_a_fragment(client, auth, admin):
    auth.login()
    response = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.text and "Page not found" in response.text


def test_secrets_are_generated_once_with_private_permissions(app, tmp_path):
    from pathlib import Path

    import config

    key_file = Path(app.config["DATA_DIR"]) / "encryption.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = config.load({"DATA_DIR": app.config["DATA_DIR"]}, environ={})
    assert again["ENCRYPTION_KEY"] == app.config["ENCRYPTION_KEY"]
    assert again["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_overrides_defaults(tmp_path):
    import config

    loaded = config.load(environ={"BOOKBRIDGE_DATA_DIR": str(tmp_path), "BOOKBRIDGE_HTTPS": "1",
                                  "PORT": "9001", "BOOKBRIDGE_ZOHO_MAX_QUOTA_WAIT": "0.5"})
    assert loaded["DATA_DIR"] == str(tmp_path) and loaded["HTTPS"] is True
    assert loaded["PORT"] == 9001 and loaded["ZOHO_MAX_QUOTA_WAIT"] == 0.5
