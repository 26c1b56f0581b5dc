"""Signing in, the slow-down after failures, sessions that end, CSRF and hardened cookies."""

import datetime
import statistics
import time

import pytest

from app import create_app
from models import LoginThrottle, Role, User
from services import accounts
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD, make_user


def test_pages_need_sign_in(client):
    response = client.get("/connections/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_htmx_request_without_session_gets_hx_redirect(client):
    response = client.get("/jobs/1", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/login")


def test_sign_in_and_out(client, auth, admin):
    auth.login()
    page = client.get("/connections/")
    assert page.status_code == 200
    assert "admin@example.com" in page.text
    auth.logout()
    assert client.get("/connections/").status_code == 302


def test_wrong_password_says_so_without_revealing_which_part(client, admin):
    response = client.post("/login", data={"email": "admin@example.com", "password": "nope",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 401
    assert "do not match an active user" in response.text


def _sign_in(client, email="admin@example.com", password=DEFAULT_PASSWORD,
             address="127.0.0.1"):
    """One sign-in attempt from a given client address."""
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_token(client, "/login")},
                       environ_base={"REMOTE_ADDR": address})


def test_repeated_failures_slow_down_that_address_even_with_the_right_password(client, admin):
    for _ in range(5):
        assert _sign_in(client, password="wrong", address="10.0.0.1").status_code == 401
    response = _sign_in(client, address="10.0.0.1")
    assert response.status_code == 429
    assert "Wait" in response.text
    assert client.get("/connections/").status_code == 302


def test_the_real_user_is_never_locked_out_from_an_address_that_has_not_failed(client, admin):
    # An attacker spreads guesses over many addresses until the account itself is locked.
    for number in range(8):
        _sign_in(client, password="wrong guess", address=f"10.0.1.{number}")
    # Their addresses now wait, even with the right password...
    assert _sign_in(client, address="10.0.1.3").status_code == 429
    # ...while the owner, from an address that has not failed, signs in at once.
    assert _sign_in(client, address="192.168.7.20").status_code == 303
    page = client.get("/connections/", environ_base={"REMOTE_ADDR": "192.168.7.20"})
    assert page.status_code == 200


def test_unknown_and_known_e_mails_are_throttled_alike(client, admin):
    def after_five_failures(email, address):
        for _ in range(5):
            _sign_in(client, email=email, password="wrong", address=address)
        return _sign_in(client, email=email, password="x", address=address).status_code

    assert after_five_failures("nobody@example.com", "10.0.2.1") == 429
    assert after_five_failures("admin@example.com", "10.0.2.2") == 429
    # The table keeps no typed e-mail, only hashes and addresses.
    keys = [row.key for row in LoginThrottle.select()]
    assert not any("@" in key for key in keys)


def test_throttle_table_is_purged_and_capped(client, admin, monkeypatch):
    from models import utcnow
    from services import accounts

    stale = LoginThrottle.create(key="address:10.9.9.9", failures=3,
                                 last_failure_at=utcnow() - datetime.timedelta(days=2))
    monkeypatch.setattr(accounts, "THROTTLE_CAP", 12)
    for number in range(20):
        _sign_in(client, email=f"spray{number}@example.com", password="wrong",
                 address=f"10.3.0.{number}")
    assert LoginThrottle.get_or_none(LoginThrottle.id == stale.id) is None
    assert LoginThrottle.select().count() <= 12


@pytest.mark.standard_password_hashing  # the cheap test hashes would hide a missing one
def test_known_and_unknown_e_mails_answer_in_the_same_time(client, admin):
    def answer_time(email, address):
        token = csrf_token(client, "/login")
        started = time.perf_counter()
        response = client.post("/login", data={"email": email, "password": "wrong pw!",
                                               "csrf_token": token},
                               environ_base={"REMOTE_ADDR": address})
        elapsed = time.perf_counter() - started
        assert response.status_code == 401
        return elapsed

    answer_time("warm-up@example.com", "10.4.0.1")  # the dummy hash is made once
    known, unknown = [], []
    # Interleaved: a busy moment of the machine (the other test worker) slows both alike.
    for number in range(7):
        known.append(answer_time("admin@example.com", f"10.4.1.{number}"))
        unknown.append(answer_time("nobody@example.com", f"10.4.2.{number}"))
    known, unknown = statistics.median(known), statistics.median(unknown)
    assert max(known, unknown) / min(known, unknown) < 3, (known, unknown)


def test_a_too_long_e_mail_is_refused_with_a_message(client, admin):
    response = _sign_in(client, email="a" * 100_000 + "@example.com")
    assert response.status_code == 422
    assert "at most 254 characters" in response.text


def test_signing_out_ends_the_session_everywhere(app, client, auth, admin):
    auth.login()
    copied = client.get_cookie("session").value
    other_device = app.test_client()
    AuthActionsFor(other_device).login()
    auth.logout()
    replayed = app.test_client()
    replayed.set_cookie("session", copied)
    assert replayed.get("/connections/").status_code == 302
    assert other_device.get("/connections/").status_code == 302


def test_password_change_from_the_menu(app, client, auth, admin):
    auth.login()
    assert 'href="/account/password"' in client.get("/connections/").text
    other_device = app.test_client()
    AuthActionsFor(other_device).login()

    def change(current, new, confirm=None):
        return client.post("/account/password", data={
            "current": current, "password": new, "confirm": confirm or new,
            "csrf_token": csrf_token(client, "/account/password")})

    wrong = change("not my password", "a brand new passphrase")
    assert wrong.status_code == 422 and "current password is not right" in wrong.text
    common = change("correct horse battery", "Password2024!")
    assert common.status_code == 422 and "common passwords" in common.text
    differ = change("correct horse battery", "a brand new passphrase", "another one")
    assert differ.status_code == 422 and "differ" in differ.text

    assert change("correct horse battery", "a brand new passphrase").status_code == 303
    # This session carries on; the other device must sign in again, with the new password.
    assert client.get("/connections/").status_code == 200
    assert other_device.get("/connections/").status_code == 302
    auth.logout()
    auth.login(password="a brand new passphrase")


def test_guessing_the_current_password_from_a_session_is_slowed_down(client, auth, admin):
    auth.login()
    for _ in range(6):
        response = client.post("/account/password", data={
            "current": "a guess at it", "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
            "csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 422 and "Wait" in response.text


def AuthActionsFor(client):  # noqa: N802 — reads like the fixture's class
    from tests.conftest import AuthActions

    return AuthActions(client)


def test_post_without_csrf_token_is_refused_with_a_page(client, auth, admin):
    auth.login()
    response = client.post("/connections/zoho/disconnect")
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert "Traceback" not in response.text


def test_next_parameter_cannot_leave_the_site(client, admin):
    response = client.post("/login?next=//evil.example/x", data={
        "email": "admin@example.com", "password": "correct horse battery",
        "csrf_token": csrf_token(client, "/login")})
    assert response.location == "/connections/"


def test_session_cookie_is_httponly_and_lax(client, admin):
    response = client.post("/login", data={"email": "admin@example.com",
                                           "password": "correct horse battery",
                                           "csrf_token": csrf_token(client, "/login")})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_secure_cookie_when_configured_for_https(tmp_path, fresh_sandbox, database_url):
    from app import create_app

    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "d"), "HTTPS": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.standard_password_hashing
def test_passwords_are_stored_as_argon2(admin):
    # argon2id with RFC 9106's low-memory parameters: 64 MiB, 3 passes, 4 lanes.
    assert admin.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_only_the_test_suite_can_ask_for_cheap_password_hashes(tmp_path, database_url):
    """FAST_PASSWORD_HASHING is honoured only with TESTING: set by mistake in production's
    config, passwords are still hashed with the standard parameters."""
    config = {"DATA_DIR": str(tmp_path / "d"), "SECRET_KEY": "x" * 32,
              "FAST_PASSWORD_HASHING": True}
    if database_url:
        config["DATABASE_URL"] = database_url
    create_app(config)
    assert accounts.hash_password("a long passphrase").startswith("$argon2id$v=19$m=65536,")
    create_app({**config, "TESTING": True})
    assert accounts.hash_password("a long passphrase").startswith("$argon2id$v=19$m=8,")


def test_a_cheap_test_hash_is_made_standard_at_the_next_sign_in(app, client, auth):
    """A hash the suite's cheap parameters made is rehashed once an app with the standard
    ones checks it, as argon2's parameters are raised over the years."""
    user = make_user(email="admin@example.com", role=Role.ADMIN)
    assert "$m=8," in user.password_hash
    accounts.use_fast_hashing(False)
    auth.login()
    assert "$m=65536," in User.get_by_id(user.id).password_hash


def test_home_sends_each_person_to_their_start_page(client, auth, admin, bookkeeper):
    assert client.get("/").location == "/login"
    auth.login()  # an admin, Zoho Books not connected yet: Connections
    assert client.get("/").location == "/connections/"
    auth.logout()
    auth.login(email="books@example.com")  # a bookkeeper: Documents
    assert client.get("/").location == "/documents/"
    assert client.get("/", follow_redirects=True).status_code == 200


def test_admin_starts_on_documents_once_zoho_is_connected(client, connected):
    assert client.get("/").location == "/documents/"


# -- in French (issue 11 item 2) ------------------------------------------------------------------

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def test_signing_in_and_the_password_rules_speak_french(client, auth, admin):
    page = client.get("/login", headers=FRENCH).text
    assert "Se connecter à Bookbridge" in page and "Mot de passe" in page
    refused = client.post("/login", headers=FRENCH, data={
        "email": admin.email, "password": "not the password",
        "csrf_token": csrf_token(client, "/login")})
    assert refused.status_code == 401
    assert "Cet e-mail et ce mot de passe ne correspondent à aucun utilisateur actif." \
        in refused.text

    auth.login()
    token = csrf_token(client, "/account/password")
    short = client.post("/account/password", headers=FRENCH, data={
        "current": DEFAULT_PASSWORD, "password": "court", "confirm": "court",
        "csrf_token": token})
    assert "Utilisez un mot de passe d’au moins 10 caractères." in short.text
    wrong = client.post("/account/password", headers=FRENCH, data={
        "current": "not the password", "password": "a long new passphrase",
        "confirm": "a long new passphrase", "csrf_token": token})
    assert "Le mot de passe actuel n’est pas le bon\u00a0; rien n’a été modifié." in wrong.text
    common = client.post("/account/password", headers=FRENCH, data={
        "current": DEFAULT_PASSWORD, "password": "Password2024!", "confirm": "Password2024!",
        "csrf_token": token})
    assert short.status_code == wrong.status_code == common.status_code == 422
    assert "mots de passe courants" in common.text
    assert "common passwords" not in common.text
