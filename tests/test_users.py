"""Admins manage users; bookkeepers cannot; the CLI creates the first admin."""

import datetime
import re
from urllib.parse import urlsplit

import pytest

from models import AuditEvent, PasswordReset, Role, User, utcnow
from tests.conftest import AuthActions, csrf_token


def test_first_admin_from_cli(runner):
    result = runner.invoke(args=["users", "create", "--email", "Boss@Example.com",
                                 "--password", "a long enough pw"])
    assert result.exit_code == 0, result.output
    user = User.get(User.email == "boss@example.com")
    assert user.role is Role.ADMIN


def test_cli_refuses_short_password(runner):
    result = runner.invoke(args=["users", "create", "--email", "x@example.com",
                                 "--password", "short"])
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output


def test_first_admin_from_environment(tmp_path, fresh_sandbox, database_url):
    from app import create_app

    create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "d"),
                "ADMIN_EMAIL": "first@example.com", "ADMIN_PASSWORD": "first admin pw"})
    assert User.get(User.email == "first@example.com").is_admin


def test_admin_adds_a_bookkeeper(client, auth, admin):
    auth.login()
    response = client.post("/users/", data={
        "email": "new@example.com", "name": "New", "role": "bookkeeper",
        "password": "another long pw", "csrf_token": csrf_token(client, "/users/")})
    assert response.status_code == 303
    created = User.get(User.email == "new@example.com")
    assert created.role is Role.BOOKKEEPER
    event = AuditEvent.get(AuditEvent.subject == "new@example.com")
    assert event.action == "user.create" and event.user_id == admin.id


def test_duplicate_user_is_explained(client, auth, admin):
    auth.login()
    response = client.post("/users/", data={
        "email": "admin@example.com", "role": "bookkeeper", "password": "another long pw",
        "csrf_token": csrf_token(client, "/users/")})
    assert response.status_code == 422
    assert "already exists" in response.text


def test_last_admin_cannot_demote_themselves(client, auth, admin):
    auth.login()
    response = client.post(f"/users/{admin.id}", data={
        "role": "bookkeeper", "active": "yes", "csrf_token": csrf_token(client, "/users/")},
        follow_redirects=True)
    assert "at least one active admin" in response.text
    assert User.get_by_id(admin.id).is_admin


def test_bookkeeper_is_refused_user_management(client, auth, bookkeeper, admin):
    auth.login("books@example.com")
    assert client.get("/users/").status_code == 403
    token = csrf_token(client)
    response = client.post(f"/users/{bookkeeper.id}", data={
        "role": "admin", "active": "yes", "csrf_token": token})
    assert response.status_code == 403
    assert User.get_by_id(bookkeeper.id).role is Role.BOOKKEEPER


def test_deactivated_user_cannot_sign_in(client, admin, bookkeeper):
    bookkeeper.active = False
    bookkeeper.save()
    response = client.post("/login", data={
        "email": "books@example.com", "password": "correct horse battery",
        "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 401


def _reset_link(client, user):
    page = client.post(f"/users/{user.id}/reset",
                       data={"csrf_token": csrf_token(client, "/users/")})
    assert page.status_code == 200
    match = re.search(r'id="reset-link">([^<]+)<', page.text)
    assert match, page.text
    return urlsplit(match.group(1)).path


def _set_new_password(client, path, password, confirm=None):
    return client.post(path, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_token(client, path)})


def test_admin_reset_link_sets_a_new_password_once(app, client, auth, admin, bookkeeper):
    their_device = app.test_client()
    AuthActions(their_device).login("books@example.com")
    auth.login()
    path = _reset_link(client, bookkeeper)
    assert AuditEvent.get(AuditEvent.action == "user.password_reset_link").subject == \
        "books@example.com"
    auth.logout()

    weak = _set_new_password(client, path, "qwertyuiop")
    assert weak.status_code == 422 and "common passwords" in weak.text
    mine = _set_new_password(client, path, "books@example.com1")
    assert mine.status_code == 422 and "e-mail address or name" in mine.text
    assert _set_new_password(client, path, "a fresh passphrase").status_code == 303

    # The old sessions ended; the new password works; the link works only once.
    assert their_device.get("/connections/").status_code == 302
    auth.login("books@example.com", "a fresh passphrase")
    again = client.get(path)
    assert again.status_code == 404 and "no longer works" in again.text
    assert _set_new_password(client, path, "yet another phrase").status_code == 404


def test_reset_link_expires(client, auth, admin, bookkeeper):
    auth.login()
    path = _reset_link(client, bookkeeper)
    PasswordReset.update(expires_at=utcnow() - datetime.timedelta(minutes=1)).execute()
    assert "no longer works" in client.get(path).text


def test_a_new_reset_link_replaces_the_earlier_one(client, auth, admin, bookkeeper):
    auth.login()
    first = _reset_link(client, bookkeeper)
    second = _reset_link(client, bookkeeper)
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_bookkeeper_cannot_make_reset_links(client, auth, admin, bookkeeper):
    auth.login("books@example.com")
    response = client.post(f"/users/{admin.id}/reset", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 403
    assert PasswordReset.select().count() == 0


def test_deactivating_a_user_ends_their_sessions_at_once(app, client, auth, admin, bookkeeper):
    their_device = app.test_client()
    AuthActions(their_device).login("books@example.com")
    assert their_device.get("/documents/").status_code == 200
    auth.login()
    client.post(f"/users/{bookkeeper.id}", data={
        "role": "bookkeeper", "active": "no", "csrf_token": csrf_token(client, "/users/")})
    assert their_device.get("/documents/").status_code == 302


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "a" * 100_000 + "@example.com", "at most 254 characters"),
    ("name", "N" * 101, "Keep the name to 100 characters"),
    ("password", "long words " * 20, "at most 128 characters"),
])
def test_too_long_fields_are_refused_with_a_message(client, auth, admin, field, value,
                                                    message):
    auth.login()
    data = {"email": "new@example.com", "name": "New", "role": "bookkeeper",
            "password": "another long pw", field: value}
    response = client.post("/users/", data={**data, "csrf_token": csrf_token(client, "/users/")})
    assert response.status_code == 422
    assert message in response.text
    assert User.select().count() == 1


@pytest.mark.parametrize(("password", "reason"), [
    ("Password2024!", "common passwords"),
    ("1234567890", "common passwords"),
    ("  QWERTYUIOP  ", "common passwords"),
    ("aaaaaaaaaaaa", "repeats too few characters"),
    ("Newcomer2024!", "e-mail address or name"),
    ("newcomer@example.com", "e-mail address or name"),
    ("Bookbridge2026!", "name of the app"),
])
def test_weak_passwords_are_refused_with_the_reason(client, auth, admin, password, reason):
    auth.login()
    response = client.post("/users/", data={
        "email": "newcomer@example.com", "role": "bookkeeper", "password": password,
        "csrf_token": csrf_token(client, "/users/")})
    assert response.status_code == 422
    assert reason in response.text


def test_cli_prints_a_reset_link_when_no_admin_can_sign_in(runner, client, admin):
    result = runner.invoke(args=["users", "reset-link", "--email", "Admin@Example.com"])
    assert result.exit_code == 0, result.output
    path = re.search(r"(/reset/\S+)", result.output).group(1)
    assert _set_new_password(client, path, "a recovered passphrase").status_code == 303
    AuthActions(client).login(password="a recovered passphrase")
    unknown = runner.invoke(args=["users", "reset-link", "--email", "nobody@example.com"])
    assert unknown.exit_code != 0 and "No active user" in unknown.output


# -- in French (issue 11 item 2) ------------------------------------------------------------------

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def test_the_users_page_and_its_messages_read_in_french(client, auth, admin):
    auth.login()
    page = client.get("/users/", headers=FRENCH).text
    assert "Ajouter un utilisateur" in page and "Dernière connexion" in page
    # The roles, in the form and in the table, in the reader's language.
    assert ">Comptable</option>" in page and ">Administrateur</option>" in page
    assert 'translate="no">admin@example.com</td>' in page  # an address is not translated

    response = client.post("/users/", headers=FRENCH, follow_redirects=True, data={
        "email": "nouveau@example.com", "name": "Nouveau", "role": "bookkeeper",
        "password": "another long pw", "csrf_token": csrf_token(client, "/users/")})
    assert "nouveau@example.com peut maintenant se connecter en tant que comptable." \
        in response.text
    refused = client.post("/users/", headers=FRENCH, data={
        "email": "autre@example.com", "name": "", "role": "bookkeeper",
        "password": "aaaaaaaaaaaa", "csrf_token": csrf_token(client, "/users/")})
    assert refused.status_code == 422
    assert "trop peu de caractères différents" in refused.text
    # The same page in English is still English.
    assert ">Bookkeeper</option>" in client.get("/users/").text

    new = User.get(User.email == "nouveau@example.com")
    link = client.post(f"/users/{new.id}/reset", headers=FRENCH,
                       data={"csrf_token": csrf_token(client, "/users/")}).text
    assert "Il ne fonctionne qu’une fois, pendant 24 heures" in link
    assert '<span translate="no">nouveau@example.com</span>' in link
