"""Bookbridge: feeds a Zoho Books organisation from documents and Qonto bank feeds."""

import datetime
import logging
from pathlib import Path

import click
from flask import Flask, Request, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from playhouse.flask_utils import FlaskDB
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_layers
from extensions import babel, csrf, htmx, login_manager
from models import MODELS, Role, User, db
from models.database import open_database
from services import accounts, i18n


class _RequestConnection(FlaskDB):
    """FlaskDB's per-request connection, reusing one the same thread already opened.

    A task run in immediate mode, a CLI command or a test may have opened the connection
    before the request starts; FlaskDB's stock hook would raise on that.
    """

    def connect_db(self):
        if self._excluded_routes and request.endpoint in self._excluded_routes:
            return
        self.database.connect(reuse_if_open=True)


# Scripts and styles come only from our own files (no inline script, no eval; see the htmx
# config in base.html); no plugins; no framing by other sites.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class _Request(Request):
    """Uploaded files go to disk as their bytes arrive, each cut off past the per-file
    limit, instead of Werkzeug's default of keeping whole files until the view reads them."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        from services.document_intake import CappedSpool

        return CappedSpool(directory=str(Path(current_app.config["DATA_DIR"]) / "uploads"))


def create_app(test_config=None) -> Flask:
    """Build the web application; nothing runs at import."""
    config_layers.keep_new_files_private()
    app = Flask(__name__)
    app.request_class = _Request
    app.config.from_mapping(config_layers.load(test_config))
    _harden_sessions(app)
    _add_security_headers(app)
    _configure_logging(app.config.get("LOG_FORMAT"))
    open_database(app.config)
    _count_queries(app)
    _RequestConnection(app, db.obj, excluded_routes=("static",))
    csrf.init_app(app)
    htmx.init_app(app)
    _init_languages(app)
    _init_login(app)
    # Cheap password hashes only for the test suite: never outside TESTING.
    # Real booleans only: a string from the environment ("false") must not switch it on.
    accounts.use_fast_hashing(app.config.get("TESTING") is True
                              and app.config.get("FAST_PASSWORD_HASHING") is True)
    _register_blueprints(app)
    _register_error_pages(app)
    _register_template_helpers(app)
    _register_cli(app)
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    from jobs import runtime

    runtime.use(app.config)
    with app.app_context():
        _prepare_database(app)
    config_layers.make_data_private(app.config["DATA_DIR"])
    return app


def _count_queries(app: Flask) -> None:
    """With COUNT_QUERIES on, every response says how many SQL statements its request ran
    (`X-Query-Count`) and how long SQL took (`X-Query-Time-Ms`): what `bench.scale` and the
    query-count test read. Off by default; a streamed body's statements come after the
    headers and are not in them."""
    from models import query_count

    if not query_count.enabled(app.config.get("COUNT_QUERIES")):
        return
    query_count.install(db.obj)
    app.teardown_request(lambda error: query_count.stop())

    @app.before_request
    def query_count_start():
        query_count.start()  # returns nothing: a value here would be taken as the response

    @app.after_request
    def query_count_headers(response):
        tally = query_count.current()
        if tally is not None:
            response.headers["X-Query-Count"] = str(tally.count)
            response.headers["X-Query-Time-Ms"] = f"{tally.milliseconds:.2f}"
        return response


def _harden_sessions(app: Flask) -> None:
    https = bool(app.config["HTTPS"])
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(hours=12),
        PREFERRED_URL_SCHEME="https" if https else "http",
        MAX_CONTENT_LENGTH=200 * 1024 * 1024,  # one upload of many files; 20 MB each
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )


def _add_security_headers(app: Flask) -> None:
    hsts = "max-age=31536000" if app.config["HTTPS"] else None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")  # same-origin: CSRF checks need it
        if hsts:
            headers.setdefault("Strict-Transport-Security", hsts)
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            headers.setdefault("X-Frame-Options", "DENY")
        else:
            # Originals are shown in a frame of the document page, and only there.
            policy = headers.get("Content-Security-Policy")
            if not policy:
                headers["Content-Security-Policy"] = "frame-ancestors 'self'"
            elif "frame-ancestors" not in policy:
                headers["Content-Security-Policy"] = policy + "; frame-ancestors 'self'"
            headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        if request.endpoint != "static":
            # Pages and originals are private: no copy in the browser after sign-out.
            headers["Cache-Control"] = "no-store"
        return response


def _configure_logging(log_format=None) -> None:
    # One line per event (text, or JSON with LOG_FORMAT=json); secrets are never passed to
    # the logger. The worker sets up the same way in jobs.runtime.
    if (log_format or "text").strip().lower() == "json":
        from services.metrics import use_json_logs

        use_json_logs()
        return
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _init_login(app: Flask) -> None:
    from views.auth import unauthorized

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.session_protection = "strong"
    login_manager.unauthorized_handler(unauthorized)

    @login_manager.user_loader
    def load_user(session_id):
        return accounts.user_for_session(session_id)


def _register_blueprints(app: Flask) -> None:
    from views import (
        audit,
        auth,
        bank,
        connections,
        documents,
        health,
        intake,
        jobs,
        language,
        matching,
        metrics,
        pickers,
        review,
        rules,
        settings,
        suppliers,
        users,
    )
    from views.helpers import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # huge ids are 404, not 500
    for module in (auth, connections, settings, users, audit, health, jobs, bank, rules,
                   documents, suppliers, review, pickers, matching, intake, language):
        app.register_blueprint(module.bp)
    csrf.exempt(health.bp)
    app.register_blueprint(metrics.bp)  # a scraper's GET: token, no session


def _register_error_pages(app: Flask) -> None:
    from views.errors import render_error

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _("This form has expired"),
                            _("The page was open too long or was sent from somewhere else, "
                              "so nothing was changed. Reload the page and try again."))

    # Lazy: each page is translated into the language of the request that hits it.
    for code, title, text in (
        (403, _l("Not allowed"), _l("Only an admin can do that. Ask an admin of Bookbridge.")),
        (404, _l("Page not found"), _l("This address does not exist. Use the menu above.")),
        (405, _l("Not allowed here"), _l("This action cannot be done from this address.")),
        (413, _l("Too much at once"), _l("One upload may carry 200 MB in all (20 MB a file). "
                                         "Upload the files in smaller groups.")),
        (500, _l("Something went wrong"), _l("Bookbridge hit an unexpected error; nothing was "
                                             "lost. Try again, and if it persists check the "
                                             "server log.")),
    ):
        app.register_error_handler(code, _error_page(code, title, text))


def _error_page(code, title, text):
    def handler(error):
        from views.errors import render_error

        return render_error(code, title, text)

    return handler


def _init_languages(app: Flask) -> None:
    """French and English: the reader's language, and stored messages translated on display.

    `finalize` sees the value of every `{{ … }}`: a message kept on a row in its stored form
    (a job's outcome, a sync failure) is translated there, whichever template shows it.
    """
    from views.language import select_locale

    i18n.ensure_compiled()
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(i18n.TRANSLATIONS_DIR))
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.jinja_env.finalize = i18n.shown  # read when each template compiles, i.e. later
    babel.init_app(app, locale_selector=select_locale)


def _register_template_helpers(app: Flask) -> None:
    from views.helpers import template_context

    app.context_processor(template_context)

    # Amounts, moments, dates and numbers in the reader's locale (services/i18n.py).
    for name in ("money", "when", "day", "number"):
        app.add_template_filter(getattr(i18n, name), name)


def _prepare_database(app: Flask) -> None:
    """Apply pending migrations and create the first admin from the environment."""
    from services.migrations import migrate

    migrate()
    accounts.ensure_first_admin(app.config["ADMIN_EMAIL"], app.config["ADMIN_PASSWORD"])
    # Forked web workers must not share this connection.
    db.close()


def _register_cli(app: Flask) -> None:
    from services.migrations import migrate

    @app.cli.command("migrate")
    def migrate_command():
        """Apply pending database migrations."""
        applied = migrate()
        click.echo(f"{len(applied)} migration(s) applied." if applied else "Up to date.")

    @app.cli.group("users")
    def users_group():
        """Manage Bookbridge users."""

    @users_group.command("create")
    @click.option("--email", required=True)
    @click.option("--role", type=click.Choice([r.value for r in Role]), default="admin")
    @click.option("--name", default="")
    @click.password_option()
    def users_create(email, role, name, password):
        """Create a user (the first admin, typically)."""
        try:
            user = accounts.create_user(email, password, Role(role), name=name)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Created {user.role.value} {user.email}.")

    @users_group.command("reset-link")
    @click.option("--email", required=True)
    def users_reset_link(email):
        """Print a one-time password-reset link (e.g. when no admin can sign in)."""
        user = User.get_or_none(User.email == accounts.normalise_email(email),
                                User.active == True)  # noqa: E712
        if user is None:
            raise click.ClickException(f"No active user has the address {email}.")
        token = accounts.issue_reset(user, by=None)
        click.echo(f"Open /reset/{token} on your Bookbridge address within "
                   f"{int(accounts.RESET_LIFETIME.total_seconds() // 3600)} hours; it works once.")

    @app.cli.command("backup")
    @click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
    def backup_command(folder):
        """Write a consistent backup into FOLDER (new or empty) while Bookbridge runs."""
        from services import backup

        try:
            outcome = backup.create(app.config, db.obj, folder)
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from None
        for warning in outcome.warnings:
            click.echo(f"Warning: {warning}", err=True)
        manifest = outcome.manifest
        originals = sum(entry["path"].startswith("files/") for entry in manifest["files"])
        queue = ", the queue" if manifest["queue"] else ""
        click.echo(f"Backup written to {folder}: the database (schema {manifest['migration']})"
                   f"{queue}, {originals} original(s), the keys and manifest.json. Keep it "
                   "private: its keys decrypt the stored Zoho and Qonto tokens.")

    @app.cli.command("restore")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def restore_command(folder):
        """Restore the backup in FOLDER into this empty data directory (stop web and worker
        first)."""
        from services import backup

        try:
            outcome = backup.restore(app.config, db.obj, folder)
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from None
        for warning in outcome.warnings:
            click.echo(f"Warning: {warning}", err=True)
        applied = migrate()  # a backup from an older version gets the newer schema
        db.close()
        click.echo(f"Restored the backup of {outcome.manifest['created_at']} into "
                   f"{app.config['DATA_DIR']} (every checksum verified; {len(applied)} "
                   "migration(s) applied). Start Bookbridge: it runs on the restored data.")

    @app.cli.command("move-database")
    @click.option("--to", "url", required=True, envvar="BOOKBRIDGE_MOVE_TO",
                  metavar="postgresql://USER:PASSWORD@HOST/DB",
                  help="An empty PostgreSQL database (create it first). Or set "
                       "BOOKBRIDGE_MOVE_TO, to keep the password off the command line.")
    def move_database_command(url):
        """Copy this SQLite installation into an empty PostgreSQL database. Stop the web app
        and the worker first: what they write after the copy would stay behind."""
        from models import utcnow
        from services import move_database

        try:
            outcome = move_database.move(db.obj, url, MODELS, utcnow())
        except move_database.MoveError as error:
            raise click.ClickException(str(error)) from None
        width = max(len(count.table) for count in outcome.counts)
        click.echo(f"{'table':<{width}}  {'SQLite':>9}  {'PostgreSQL':>10}")
        for count in outcome.counts:
            click.echo(f"{count.table:<{width}}  {count.sqlite:>9,}  {count.postgresql:>10,}")
        total = sum(count.postgresql for count in outcome.counts)
        click.echo(f"Copied {total:,} rows into {outcome.target} ({len(outcome.counts)} "
                   f"tables, every count verified; {len(outcome.migrations)} migrations "
                   "applied; sequences set past the highest ids). Not copied: SQLite's "
                   "full-text search tables (PostgreSQL searches without them).")
        click.echo("Next: set BOOKBRIDGE_DATABASE_URL to this URL for the web app and the "
                   "worker, then start them again. The stored originals and the keys "
                   f"(secret_key, encryption.key) stay in {app.config['DATA_DIR']}: keep "
                   "BOOKBRIDGE_DATA_DIR as it is. The SQLite file is left untouched.")


__all__ = ["create_app", "MODELS"]
