"""Users and roles (admins only)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from playhouse.flask_utils import get_object_or_404
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from models import Role, User
from services import accounts, audit
from views.helpers import admin_required, see_other

bp = Blueprint("users", __name__, url_prefix="/users")



def role_choices() -> list[tuple[str, str]]:
    """(value, name) of each role, named in the reader's language."""
    return [(role.value, role.label) for role in Role]


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[
        DataRequired(message=_l("Fill in the e-mail.")),
        Length(max=accounts.MAX_EMAIL_LENGTH,
               message=_l("An e-mail address has at most %(num)s characters.",
                          num=accounts.MAX_EMAIL_LENGTH))])
    name = StringField(_l("Name"), validators=[
        Length(max=accounts.MAX_NAME_LENGTH,
               message=_l("Keep the name to %(num)s characters.",
                          num=accounts.MAX_NAME_LENGTH))])
    # The roles are named when the form is made, in the reader's language.
    role = SelectField(_l("Role"), choices=lambda: [SelectChoice(value, label)
                                                    for value, label in role_choices()],
                       default=Role.BOOKKEEPER.value)
    password = PasswordField(_l("Initial password"), validators=[
        DataRequired(message=_l("Fill in an initial password.")),
        Length(max=accounts.MAX_PASSWORD_LENGTH,
               message=_l("Use a password of at most %(num)s characters.",
                          num=accounts.MAX_PASSWORD_LENGTH))])


def _users_page(form, status=200, **extra):
    return render_template("users/index.html", users=User.select().order_by(User.email),
                           form=form, action_form=FlaskForm(), roles=role_choices(),
                           **extra), status


@bp.get("/")
@admin_required
def user_list():
    return _users_page(UserForm())


@bp.post("/")
@admin_required
def user_create():
    form = UserForm()
    if not form.validate():
        for errors in form.errors.values():
            flash(errors[0], category="error")
        return _users_page(form, 422)
    try:
        user = accounts.create_user(form.email.data, form.password.data, Role(form.role.data),
                                    name=form.name.data or "", by=current_user)
    except accounts.AccountError as error:
        flash(str(error), category="error")
        return _users_page(form, 422)
    flash(_("%(email)s can now sign in as %(role)s.", email=user.email,
            role=user.role.label.lower()), category="success")
    return see_other("users.user_list")


@bp.post("/<int:user_id>")
@admin_required
def user_update(user_id):
    user = get_object_or_404(User, User.id == user_id)
    role = request.form.get("role")
    active = request.form.get("active")
    if role not in {r.value for r in Role} or active not in {"yes", "no"}:
        abort(400)
    new_role, new_active = Role(role), active == "yes"
    losing_admin = user.is_admin and user.active and (new_role is not Role.ADMIN or not new_active)
    if losing_admin and accounts.admin_count() <= 1:
        flash(_("Bookbridge needs at least one active admin; make someone else admin first."),
              category="error")
        return redirect(url_for("users.user_list"), code=303)
    before = {"role": user.role.value, "active": user.active}
    user.role, user.active = new_role, new_active
    user.save()
    if before["active"] and not new_active:
        accounts.end_sessions(user)  # a deactivated user is signed out everywhere at once
    after = {"role": user.role.value, "active": user.active}
    if before != after:
        audit.record("user.update", user=current_user, subject=user.email,
                     before=before, after=after, link=user)
        flash(_("%(email)s updated.", email=user.email), category="success")
    return see_other("users.user_list")


@bp.post("/<int:user_id>/reset")
@admin_required
def user_reset(user_id):
    """Make a one-time password-reset link and show it, once, to the admin."""
    user = get_object_or_404(User, User.id == user_id)
    if not user.active:
        flash(_("%(email)s is deactivated; make the account active first.", email=user.email),
              category="error")
        return see_other("users.user_list")
    token = accounts.issue_reset(user, by=current_user)
    link = url_for("auth.password_reset", token=token, _external=True)
    return render_template("users/reset_link.html", user=user, link=link,
                           hours=int(accounts.RESET_LIFETIME.total_seconds() // 3600))
