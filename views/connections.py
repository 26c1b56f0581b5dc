"""The Connections page: connect Zoho Books, pick the organisation, refresh, disconnect."""

import secrets

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from playhouse.flask_utils import get_object_or_404

from extensions import htmx
from integrations.zoho_accounts import DATA_CENTRES
from jobs.lists import refresh_lists
from models import ConnectionSettings, Job, PendingAuthorization, ZohoConnection, ZohoTax
from services import i18n, list_refresh, lists, zoho, zoho_quota
from views import jobs as jobs_view
from views.bank import card_context as bank_card_context
from views.helpers import admin_required, see_other
from views.jobs import job_banner
from views.settings import SettingsForm, settings_notice

bp = Blueprint("connections", __name__, url_prefix="/connections")

OAUTH_STATE_KEY = "zoho_oauth_state"


@bp.get("/")
@login_required
def index():
    connection = ZohoConnection.current()
    settings = ConnectionSettings.current()
    form = SettingsForm.for_settings(settings, connection.organization_id)
    bank_context = bank_card_context(current_app.config)
    # A failure whose cause was since dealt with (Zoho or Qonto connected again) is no
    # longer news: "Sync failed. Zoho Books is not connected" must not outlive a reconnect.
    reconnected = [at for at in (connection.connected_at, bank_context["qonto"].consented_at)
                   if at]
    bank_context["bank_job"] = jobs_view.shown(bank_context["bank_job"],
                                               fixed_at=max(reconnected, default=None))
    return render_template(
        "connections/index.html",
        connection=connection,
        configured=zoho.is_configured(current_app.config),
        data_centres=DATA_CENTRES,
        refresh_job=jobs_view.shown(list_refresh_latest(), fixed_at=connection.connected_at),
        list_counts=lists.cached_counts(connection),
        settings_notice=settings_notice("settings"),
        daily_quota=zoho_quota.quota_line(connection.organization_id),
        settings=settings,
        settings_form=form,
        taxes={t.zoho_id: t for t in ZohoTax.select().where(
            ZohoTax.organization_id == connection.organization_id)},
        action_form=FlaskForm(),
        **bank_context,
    )


def list_refresh_latest():
    from services import jobs

    return jobs.latest(list_refresh.KIND)


# -- connect and reconnect --------------------------------------------------------------------

@bp.post("/zoho/connect")
@admin_required
def zoho_connect():
    if not zoho.is_configured(current_app.config):
        flash(_("Zoho Books is not configured on this server: set BOOKBRIDGE_ZOHO_CLIENT_ID, "
                "BOOKBRIDGE_ZOHO_CLIENT_SECRET and BOOKBRIDGE_ZOHO_REDIRECT_URI (see README)."),
              category="error")
        return see_other("connections.index")
    state = secrets.token_urlsafe(32)
    try:
        url = zoho.consent_url(current_app.config, request.form.get("data_centre", ""), state)
    except zoho.ConnectError as error:
        flash(i18n.in_words(str(error)), category="error")
        return see_other("connections.index")
    session[OAUTH_STATE_KEY] = state
    return redirect(url, code=303)


@bp.get("/zoho/callback")
@admin_required
def zoho_callback():
    # The state is single-use: popping it makes a replayed callback fail.
    expected_state = session.pop(OAUTH_STATE_KEY, None)
    try:
        pending = zoho.accept_callback(current_app.config, current_user, request.args,
                                       expected_state)
    except zoho.ConnectError as error:
        flash(i18n.in_words(str(error)), category="error")
        return redirect(url_for("connections.index"))
    return redirect(url_for("connections.organisation_choose", pending_id=pending.id))


def _pending_for_current_user(pending_id: int) -> PendingAuthorization:
    return get_object_or_404(PendingAuthorization, PendingAuthorization.id == pending_id,
                             PendingAuthorization.user == current_user.id)


@bp.get("/zoho/organisation/<int:pending_id>")
@admin_required
def organisation_choose(pending_id):
    pending = _pending_for_current_user(pending_id)
    return render_template("connections/organisation.html", pending=pending,
                           connection=ZohoConnection.current(), form=FlaskForm())


@bp.post("/zoho/organisation/<int:pending_id>")
@admin_required
def organisation_finish(pending_id):
    pending = _pending_for_current_user(pending_id)
    organization_id = request.form.get("organization_id", "")
    confirmed = request.form.get("confirm_switch") == "yes"
    try:
        connection = zoho.finish(current_app.config, pending, organization_id, current_user,
                                 confirmed_switch=confirmed)
    except zoho.OrganisationSwitch as switch:
        return render_template("connections/confirm_switch.html", pending=pending,
                               organization_id=organization_id, switch=switch,
                               form=FlaskForm())
    except zoho.ConnectError as error:
        flash(i18n.in_words(str(error)), category="error")
        return redirect(url_for("connections.organisation_choose", pending_id=pending.id),
                        code=303)
    # Kept as a stored message: the next page shows it, in whatever language that page is read.
    flash(i18n.stored_message("Zoho Books is connected to %(organisation)s.",
                              organisation=connection.organization_name), category="success")
    _start_refresh_after_connect()
    return see_other("connections.index")


def _start_refresh_after_connect() -> None:
    """Fresh lists right after connecting, so settings and documents have choices."""
    job, created = list_refresh.request(user=current_user)
    if created:
        refresh_lists(job.id)


@bp.post("/zoho/disconnect")
@admin_required
def zoho_disconnect():
    revoked = zoho.disconnect(current_app.config, current_user)
    if revoked:
        flash(_("Zoho Books is disconnected. Settings, lists and history are kept: connect "
                "again to carry on."), category="success")
    else:
        flash(_("Zoho Books is disconnected. Settings, lists and history are kept: connect "
                "again to carry on. Zoho could not be reached to revoke access; you can also "
                "remove Bookbridge under Connected Apps in your Zoho account."), category="warning")
    return see_other("connections.index")


# -- refresh integration data -------------------------------------------------------------------

@bp.post("/zoho/refresh")
@admin_required
def refresh_create():
    connection = ZohoConnection.current()
    if not connection.is_connected:
        flash(_("Connect Zoho Books before refreshing its lists."), category="error")
        return see_other("connections.index")
    job, created = list_refresh.request(user=current_user)
    if created:
        refresh_lists(job.id)
        job = Job.get_by_id(job.id)
    if htmx:
        return job_banner(job, just_clicked=not created)
    if not created:
        flash(_("A refresh is already running; its progress is shown below."), category="info")
    return see_other("connections.index")
