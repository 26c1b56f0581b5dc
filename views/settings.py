"""Connection settings: new-supplier warning, default taxes, auto publishing (admins)."""

from flask import Blueprint, current_app, flash, render_template
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from extensions import htmx
from models import ConnectionSettings, ZohoConnection, ZohoTax
from services import settings as settings_service
from views.helpers import admin_required, see_other

bp = Blueprint("settings", __name__, url_prefix="/connections/settings")

NO_TAX = ""


class SettingsForm(FlaskForm):
    warn_new_supplier = BooleanField(
        "Warn me when a new supplier will be created in Zoho Books")
    default_cost_tax_id = SelectField("Default tax for costs", validate_choice=True)
    default_sales_tax_id = SelectField("Default tax for sales", validate_choice=True)
    auto_publish = BooleanField("Publish documents automatically")

    @classmethod
    def for_settings(cls, settings: ConnectionSettings, organization_id: str, **kwargs):
        form = cls(
            warn_new_supplier=settings.warn_new_supplier,
            default_cost_tax_id=settings.default_cost_tax_id or NO_TAX,
            default_sales_tax_id=settings.default_sales_tax_id or NO_TAX,
            auto_publish=settings.auto_publish,
            **kwargs,
        )
        choices = [SelectChoice(NO_TAX, "No tax")] + [
            SelectChoice(tax.zoho_id, _tax_label(tax)) for tax in ZohoTax.usable(organization_id)
        ]
        form.default_cost_tax_id.choices = choices
        form.default_sales_tax_id.choices = choices
        return form


def _first_error(form) -> str:
    for field in form:
        if field.errors:
            return f"{field.label.text}: {field.errors[0]}"
    return "check the form."


def _tax_label(tax: ZohoTax) -> str:
    if tax.percentage is None or "%" in tax.name:
        return tax.name
    return f"{tax.name} ({tax.percentage.normalize():f} %)"


@bp.get("/")
@login_required
def settings_show():
    connection = ZohoConnection.current()
    form = SettingsForm.for_settings(ConnectionSettings.current(), connection.organization_id)
    return render_template("settings/index.html", settings_form=form, connection=connection)


@bp.post("/")
@admin_required
def settings_update():
    settings = ConnectionSettings.current()
    connection = ZohoConnection.current()
    form = SettingsForm.for_settings(settings, connection.organization_id)
    if not form.validate():
        if htmx:
            return render_template("settings/_form.html", settings_form=form), 422
        flash("The settings were not saved: " + _first_error(form), "error")
        return see_other("connections.index", _anchor="settings")
    changed = settings_service.update(
        current_user,
        warn_new_supplier=form.warn_new_supplier.data,
        default_cost_tax_id=form.default_cost_tax_id.data or None,
        default_sales_tax_id=form.default_sales_tax_id.data or None,
        auto_publish=form.auto_publish.data,
    )
    current_app.logger.info("connection settings saved (%d changed)", len(changed))
    message = "Settings saved." if changed else "Nothing to save: the settings were unchanged."
    flash(message, "success")
    return see_other("connections.index", _anchor="settings")
