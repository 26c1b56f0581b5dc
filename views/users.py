"""Users and roles (admins only)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from playhouse.flask_utils import get_object_or_404
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from models import Role, User
from services import accounts, audit
from views.helpers import admin_required, see_other

bp = Blueprint("users", __name__, url_prefix="/users")

ROLE_CHOICES = [(role.value, role.label) for role in Role]
ROLE_SELECT = [SelectChoice(value, label) for value, label in ROLE_CHOICES]


class UserForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    name = StringField("Name")
    role = SelectField("Role", choices=ROLE_SELECT, default=Role.BOOKKEEPER.value)
    password = PasswordField("Initial password", validators=[DataRequired()])


@bp.get("/")
@admin_required
def user_list():
    users = User.select().order_by(User.email)
    return render_template("users/index.html", users=users, form=UserForm(),
                           action_form=FlaskForm(), roles=ROLE_CHOICES)


@bp.post("/")
@admin_required
def user_create():
    form = UserForm()
    if not form.validate():
        flash("Fill in the e-mail and an initial password.", "error")
        return see_other("users.user_list")
    try:
        user = accounts.create_user(form.email.data, form.password.data, Role(form.role.data),
                                    name=form.name.data or "", by=current_user)
    except accounts.AccountError as error:
        flash(str(error), "error")
        return render_template("users/index.html", users=User.select().order_by(User.email),
                               form=form, action_form=FlaskForm(), roles=ROLE_CHOICES), 422
    flash(f"{user.email} can now sign in as {user.role.label.lower()}.", "success")
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
        flash("Bookbridge needs at least one active admin; make someone else admin first.",
              "error")
        return redirect(url_for("users.user_list"), code=303)
    before = {"role": user.role.value, "active": user.active}
    user.role, user.active = new_role, new_active
    user.save()
    after = {"role": user.role.value, "active": user.active}
    if before != after:
        audit.record("user.update", user=current_user, subject=user.email,
                     before=before, after=after)
        flash(f"{user.email} updated.", "success")
    return see_other("users.user_list")
