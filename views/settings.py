"""Connection settings: new-supplier warning, default taxes, auto publishing, and which
e-mail alerts reach the admins (admins)."""

from flask import Blueprint, current_app, render_template, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from extensions import htmx
from models import ConnectionSettings, ZohoConnection, ZohoTax
from services import alerts, i18n, mail
from services import settings as settings_service
from views.helpers import admin_required, see_other

bp = Blueprint("settings", __name__, url_prefix="/connections/settings")

NO_TAX = ""
NOTICE_KEY = "form_notice"


def leave_notice(form_name: str, message: str, category: str = "success") -> None:
    """Say what a form's POST did next to that form, where the person is looking (the
    redirect scrolls to the form; the page's flash messages are at the top, off screen)."""
    session[NOTICE_KEY] = {"form": form_name, "message": message, "category": category}


def settings_notice(form_name: str) -> dict | None:
    """The notice left for this form, once: {"message", "category"}, or None."""
    notice = session.get(NOTICE_KEY)
    if not notice or notice.get("form") != form_name:
        return None
    session.pop(NOTICE_KEY)
    return notice


class SettingsForm(FlaskForm):
    warn_new_supplier = BooleanField(
        _l("Warn me when a new supplier will be created in Zoho Books"))
    default_cost_tax_id = SelectField(_l("Default tax for costs"), validate_choice=True)
    default_sales_tax_id = SelectField(_l("Default tax for sales"), validate_choice=True)
    auto_publish = BooleanField(_l("Publish documents automatically"))

    @classmethod
    def for_settings(cls, settings: ConnectionSettings, organization_id: str, **kwargs):
        form = cls(
            warn_new_supplier=settings.warn_new_supplier,
            default_cost_tax_id=settings.default_cost_tax_id or NO_TAX,
            default_sales_tax_id=settings.default_sales_tax_id or NO_TAX,
            auto_publish=settings.auto_publish,
            **kwargs,
        )
        choices = [SelectChoice(NO_TAX, _("No tax"))] + [
            SelectChoice(tax.zoho_id, _tax_label(tax)) for tax in ZohoTax.usable(organization_id)
        ]
        form.default_cost_tax_id.choices = choices
        form.default_sales_tax_id.choices = choices
        return form


def _first_error(form) -> str:
    for field in form:
        if field.errors:
            return _("%(field)s: %(error)s", field=field.label.text, error=field.errors[0])
    return _("check the form.")


def _tax_label(tax: ZohoTax) -> str:
    if tax.percentage is None or "%" in tax.name:
        return tax.name
    return _("%(tax)s (%(rate)s %%)", tax=tax.name, rate=i18n.number(tax.percentage.normalize()))


@bp.get("/")
@login_required
def settings_show():
    connection = ZohoConnection.current()
    form = SettingsForm.for_settings(ConnectionSettings.current(), connection.organization_id)
    return render_template("settings/index.html", settings_form=form, connection=connection,
                           settings_notice=settings_notice("settings"),
                           alerts_notice=settings_notice("alerts"), **_alerts_context())


@bp.post("/")
@admin_required
def settings_update():
    settings = ConnectionSettings.current()
    connection = ZohoConnection.current()
    form = SettingsForm.for_settings(settings, connection.organization_id)
    if not form.validate():
        if htmx:
            return render_template("settings/_form.html", settings_form=form), 422
        leave_notice("settings", _("The settings were not saved: %(problem)s",
                                   problem=_first_error(form)), "error")
        return see_other("connections.index", _anchor="settings")
    changed = settings_service.update(
        current_user,
        warn_new_supplier=form.warn_new_supplier.data,
        default_cost_tax_id=form.default_cost_tax_id.data or None,
        default_sales_tax_id=form.default_sales_tax_id.data or None,
        auto_publish=form.auto_publish.data,
    )
    current_app.logger.info("connection settings saved (%d changed)", len(changed))
    message = (_("Settings saved.") if changed
               else _("Nothing to save: the settings were unchanged."))
    leave_notice("settings", message)
    return see_other("connections.index", _anchor="settings")


# -- e-mail alerts (admins only: the section names the admins' addresses) ------------------------

class AlertsForm(FlaskForm):
    reconnect = BooleanField(alerts.KINDS[alerts.RECONNECT])
    sync_failing = BooleanField(alerts.KINDS[alerts.SYNC_FAILING])
    quota_reserve = BooleanField(alerts.KINDS[alerts.QUOTA_RESERVE])
    intake_rejected = BooleanField(alerts.KINDS[alerts.INTAKE_REJECTED])


class TestMailForm(FlaskForm):
    """The "Send a test e-mail" button: nothing but its CSRF token."""


def _alerts_context() -> dict:
    if not current_user.is_admin:
        return {}
    config = current_app.config
    return {
        "alerts_form": AlertsForm(formdata=None, **alerts.choices()),
        "test_mail_form": TestMailForm(),
        "smtp_configured": mail.is_configured(config),
        "smtp_server": mail.server_label(config) if mail.is_configured(config) else "",
        "alert_recipients": alerts.recipients(),
        "recent_alerts": list(alerts.recent()),
    }


@bp.post("/alerts")
@admin_required
def alerts_update():
    form = AlertsForm()
    if not form.validate():
        leave_notice("alerts", _("The alert choices were not saved: reload the page and try "
                               "again."), "error")
        return see_other("settings.settings_show", _anchor="alerts")
    changed = alerts.update_choices(current_user, **{kind: form[kind].data
                                                    for kind in alerts.KINDS})
    leave_notice("alerts", _("E-mail alerts saved.") if changed
                 else _("Nothing to save: the alert choices were unchanged."))
    return see_other("settings.settings_show", _anchor="alerts")


@bp.post("/alerts/test")
@admin_required
def alerts_test():
    if not TestMailForm().validate():
        leave_notice("alerts", _("No test e-mail was sent: reload the page and try again."),
                     "error")
        return see_other("settings.settings_show", _anchor="alerts")
    try:
        sent_to = alerts.send_test(current_app.config)
    except mail.MailError as error:
        current_app.logger.warning("test mail not sent: %s", error.reason)
        leave_notice("alerts", _("The test e-mail was not sent. %(reason)s",
                                 reason=i18n.in_words(error.reason)), "error")
    else:
        leave_notice("alerts", _("Sent to %(recipients)s.", recipients=", ".join(sent_to)))
    return see_other("settings.settings_show", _anchor="alerts")
