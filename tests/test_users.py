"""Admins manage users; bookkeepers cannot; the CLI creates the first admin."""

from models import AuditEvent, Role, User
from tests.conftest import csrf_token


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


def test_first_admin_from_environment(tmp_path, fresh_sandbox):
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
