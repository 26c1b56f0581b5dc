"""Signing in, the slow-down after failures, CSRF and hardened cookies."""

from models import LoginThrottle
from tests.conftest import csrf_token


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


def test_repeated_failures_slow_down_even_the_right_password(client, admin):
    for _ in range(5):
        client.post("/login", data={"email": "admin@example.com", "password": "wrong",
                                    "csrf_token": csrf_token(client, "/login")})
    throttle = LoginThrottle.get(LoginThrottle.email == "admin@example.com")
    assert throttle.failures == 5 and throttle.locked_until is not None
    response = client.post("/login", data={"email": "admin@example.com",
                                           "password": "correct horse battery",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 429
    assert "Wait" in response.text
    assert client.get("/connections/").status_code == 302


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


def test_secure_cookie_when_configured_for_https(tmp_path, fresh_sandbox):
    from app import create_app

    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "d"), "HTTPS": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_passwords_are_stored_as_argon2(admin):
    assert admin.password_hash.startswith("$argon2id$")
