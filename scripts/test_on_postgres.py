"""`make test`'s second pass: the whole suite again on PostgreSQL, when a server answers.

The server is BOOKBRIDGE_TEST_POSTGRES (an admin URL the suite creates and drops its
databases through; default the local one). Without a server the pass is skipped with one
line and success, unless BOOKBRIDGE_REQUIRE_POSTGRES=1 (CI), which makes it fail.
Arguments are passed to pytest.
"""

import os
import sys
from urllib.parse import urlparse

import psycopg2

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def shown(url: str) -> str:
    """The URL without its password, fit for a log."""
    parts = urlparse(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(":" + parts.password + "@", ":***@")).geturl()


def main(arguments: list[str]) -> int:
    url = os.environ.get("BOOKBRIDGE_TEST_POSTGRES") or DEFAULT_URL
    try:
        psycopg2.connect(url, connect_timeout=5).close()
    except psycopg2.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        if os.environ.get("BOOKBRIDGE_REQUIRE_POSTGRES") == "1":
            print(f"PostgreSQL run failed: no server at {shown(url)} ({reason}), and "
                  "BOOKBRIDGE_REQUIRE_POSTGRES=1 requires it", file=sys.stderr)
            return 1
        print(f"PostgreSQL run skipped: no server at {shown(url)}; "
              "set BOOKBRIDGE_REQUIRE_POSTGRES=1 to require it")
        return 0
    print(f"PostgreSQL run: the suite again on {shown(url)}", flush=True)
    environment = {**os.environ, "BOOKBRIDGE_TEST_POSTGRES": url}
    command = [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup",
               *arguments]
    os.execve(sys.executable, command, environment)  # noqa: S606  (pytest's status is make's)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
