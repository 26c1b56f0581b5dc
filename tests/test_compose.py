"""docker-compose.yml and the Dockerfile (issue 12, item 3), read as Compose and Docker would.

There is no Docker engine nor Compose plugin here, so the file is parsed with PyYAML (which
resolves its anchors and merge keys as Compose does) and checked for what a self-hoster
relies on: plain `docker compose up` is the single SQLite pair, the scale profile is
PostgreSQL 15, Redis 7, a web server and two workers with health checks and the order they
start in, and the image can run pg_dump. ../shared/tools/container-check builds the image.
"""

import re
from pathlib import Path

import pytest
import yaml
from playhouse.db_url import connect

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.no_database


def _interpolated(text: str) -> str:
    """${VAR:-default} as Compose reads it with VAR unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(_interpolated((ROOT / "docker-compose.yml").read_text()))


def _in_profile(compose, profile=None) -> set:
    return {name for name, service in compose["services"].items()
            if (profile in service.get("profiles", [])) or
            (profile is None and not service.get("profiles"))}


def test_plain_compose_up_is_still_the_single_sqlite_pair(compose):
    assert _in_profile(compose) == {"web", "worker"}
    for name in ("web", "worker"):
        service = compose["services"][name]
        assert "bookbridge-data:/data" in service["volumes"]
        assert "BOOKBRIDGE_DATABASE_URL" not in service["environment"]
        assert "BOOKBRIDGE_QUEUE_URL" not in service["environment"]
    assert compose["services"]["web"]["ports"] == ["8000:8000"]


def test_the_scale_profile_runs_postgresql_redis_a_web_server_and_two_workers(compose):
    services = compose["services"]
    assert _in_profile(compose, "scale") == {"postgres", "redis", "web-scale", "worker-scale"}
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
    assert {"bookbridge-data", "postgres-data", "redis-data"} <= set(compose["volumes"])

    web, worker = services["web-scale"], services["worker-scale"]
    assert "healthcheck" not in web  # the image's: /healthz answers for database and queue
    assert web["ports"] == ["8000:8000"]
    healthy = {"condition": "service_healthy"}
    assert web["depends_on"] == {"postgres": healthy, "redis": healthy}
    # Workers start once the web server has applied the migrations.
    assert worker["depends_on"] == {"postgres": healthy, "redis": healthy, "web-scale": healthy}
    assert worker["deploy"]["replicas"] == 2
    command = worker["command"]
    assert command[:2] == ["huey_consumer", "jobs.huey"] and "-f" not in command
    assert command[command.index("-w") + 1] == "2" and "thread" in command

    for service in (web, worker):
        environment = service["environment"]
        assert "bookbridge-data:/data" in service["volumes"]  # the originals and keys
        database = connect(environment["BOOKBRIDGE_DATABASE_URL"])
        assert type(database).__name__ == "PostgresqlDatabase"
        assert database.connect_params["host"] == "postgres"
        assert database.database == services["postgres"]["environment"]["POSTGRES_DB"]
        assert environment["BOOKBRIDGE_QUEUE_URL"] == "redis://redis:6379/0"
        assert environment["BOOKBRIDGE_DATA_DIR"] == "/data"
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert connect(web["environment"]["BOOKBRIDGE_DATABASE_URL"]).connect_params[
        "password"] == password


def test_the_image_has_the_postgresql_client_for_backups_and_stays_lean():
    dockerfile = (ROOT / "Dockerfile").read_text()
    install = next(step for step in dockerfile.split("\nRUN ") if "apt-get install" in step)
    assert "postgresql-client" in install and "--no-install-recommends" in install
    assert "rm -rf /var/lib/apt/lists/*" in install  # in the same layer as the install
    assert dockerfile.lstrip().startswith("ARG PYTHON_IMAGE=python:3.12-slim-bookworm")
