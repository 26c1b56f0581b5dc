"""Signing in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_htmx import make_response as htmx_response
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from app import htmx
from services import accounts

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def unauthorized():
    """Send anonymous visitors to sign in; HTMX callers get a full-page redirect."""
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if htmx:
        return htmx_response(redirect=target)
    flash("Sign in to continue.", "info")
    return redirect(target)


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot bounce a user elsewhere."""
    if not target:
        return url_for("connections.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("connections.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except accounts.SignInThrottled as error:
            flash(str(error), "error")
            return render_template("auth/login.html", form=form), 429
        if user:
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")), code=303)
        flash("That e-mail and password do not match an active user.", "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
