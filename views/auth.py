"""Signing in and out, changing one's password, and using a password-reset link."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from extensions import htmx
from models import ZohoConnection
from services import accounts
from views.errors import render_error

bp = Blueprint("auth", __name__)

# Longer than any password we accept, so a long paste is refused by the rules with a reason.
_TYPED_PASSWORD = Length(max=accounts.MAX_PASSWORD_LENGTH * 8,
                         message=_l("That is far too long for a password."))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[
        DataRequired(), Length(max=accounts.MAX_EMAIL_LENGTH,
                               message=_l("An e-mail address has at most %(num)s characters.",
                                          num=accounts.MAX_EMAIL_LENGTH))])
    password = PasswordField(_l("Password"), validators=[DataRequired(), _TYPED_PASSWORD])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), _TYPED_PASSWORD])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two new passwords differ."))])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"),
                            validators=[DataRequired(), _TYPED_PASSWORD])


def unauthorized():
    """Send anonymous visitors to sign in; HTMX callers get a full-page redirect."""
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if htmx:
        return htmx_response(redirect=target)
    flash(_("Sign in to continue."), category="info")
    return redirect(target)


def _start_page() -> str:
    """Documents for bookkeepers; Connections for an admin until Zoho Books is connected."""
    if current_user.is_admin and not ZohoConnection.current().is_connected:
        return url_for("connections.index")
    return url_for("documents.inbox")


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot bounce a user elsewhere."""
    if not target:
        return _start_page()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return _start_page()
    return target


@bp.get("/")
def home():
    """The address `make run` prints: sign in, or the signed-in person's start page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(_start_page())


def _form_errors(form: FlaskForm) -> None:
    """Flash the first reason each field was refused."""
    for name, errors in form.errors.items():
        if name == "csrf_token":
            flash(_("This form has expired; nothing was changed. Try again."), category="error")
        elif errors:
            flash(errors[0], category="error")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "POST" and not form.validate():
        _form_errors(form)
        return render_template("auth/login.html", form=form), 422
    if request.method == "POST":
        try:
            user = accounts.authenticate(form.email.data, form.password.data,
                                         request.remote_addr)
        except accounts.SignInThrottled as error:
            flash(str(error), category="error")
            return render_template("auth/login.html", form=form), 429
        if user:
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")), code=303)
        flash(_("That e-mail and password do not match an active user."), category="error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    # Ends this user's sessions everywhere, so a copied cookie stops working too.
    accounts.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are signed out."), category="info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password_change():
    form = ChangePasswordForm()
    if request.method == "POST":
        if not form.validate():
            _form_errors(form)
            return render_template("auth/password.html", form=form), 422
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current.data, form.password.data)
        except accounts.AccountError as error:
            flash(str(error), category="error")
            return render_template("auth/password.html", form=form), 422
        # Every other session ended with the change; this one carries on.
        login_user(user)
        flash(_("Your password is changed; other devices have to sign in again."),
              category="success")
        return redirect(url_for("auth.password_change"), code=303)
    return render_template("auth/password.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def password_reset(token):
    """A one-time link from an admin: choose a new password, then sign in with it."""
    reset = accounts.reset_for(token)
    if reset is None:
        return render_error(404, _("This link no longer works"),
                            _("A password-reset link works once, for 24 hours. Ask an admin "
                              "for a new one."))
    form = NewPasswordForm()
    if request.method == "POST":
        if not form.validate():
            _form_errors(form)
            return render_template("auth/reset.html", form=form, user=reset.user), 422
        try:
            accounts.use_reset(token, form.password.data)
        except accounts.AccountError as error:
            flash(str(error), category="error")
            return render_template("auth/reset.html", form=form, user=reset.user), 422
        logout_user()
        session.clear()
        flash(_("Your new password is set. Sign in with it."), category="success")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/reset.html", form=form, user=reset.user)
