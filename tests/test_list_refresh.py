"""Refresh integration data: the job, its banner, schedule, failures and what it keeps."""

import datetime

from jobs.lists import refresh_lists_when_due
from models import (
    Job,
    JobStatus,
    ZohoAccount,
    ZohoBankAccount,
    ZohoConnection,
    ZohoContact,
    ZohoCurrency,
    ZohoItem,
    ZohoTax,
    utcnow,
)
from services import jobs
from tests.conftest import csrf_token
from tests.zoho_flow import zoho_as_user


def _refresh(client, **headers):
    return client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)},
                       headers=headers)


def test_refresh_caches_every_list_with_counts(client, connected):
    response = _refresh(client, **{"HX-Request": "true"})
    assert "<html" not in response.text
    assert "Refresh complete" in response.text
    org = connected.organization_id
    assert ZohoAccount.select().where(ZohoAccount.organization_id == org).count() >= 140
    contacts = ZohoContact.select().where(ZohoContact.organization_id == org)
    assert contacts.where(ZohoContact.contact_type == "vendor").count() == 40
    assert contacts.where(ZohoContact.contact_type == "customer").count() == 20
    assert contacts.where(ZohoContact.is_active == False).count() > 0  # noqa: E712
    assert ZohoItem.select().count() > 0 and ZohoCurrency.select().count() >= 4
    assert ZohoBankAccount.select().count() >= 1
    job = jobs.latest("refresh_lists")
    assert job.status is JobStatus.SUCCEEDED
    assert job.counts["contacts"]["fetched"] == 60
    assert ZohoConnection.current().last_list_refresh_at is not None


def test_ids_stay_digit_strings(connected):
    tax = ZohoTax.select().first()
    assert isinstance(tax.zoho_id, str) and tax.zoho_id.isdigit() and int(tax.zoho_id) > 2**53


def test_running_job_banner_polls_and_finished_one_does_not(client, connected):
    finished = jobs.latest("refresh_lists")
    fragment = client.get(f"/jobs/{finished.id}", headers={"HX-Request": "true"})
    assert "hx-get" not in fragment.text
    running = Job.create(kind="refresh_lists", status=JobStatus.RUNNING, step="Contacts",
                         started_at=utcnow(), heartbeat_at=utcnow())
    fragment = client.get(f"/jobs/{running.id}", headers={"HX-Request": "true"})
    assert f'hx-get="/jobs/{running.id}"' in fragment.text
    assert "Contacts" in fragment.text


def test_second_click_shows_the_running_job(client, connected):
    running = Job.create(kind="refresh_lists", status=JobStatus.RUNNING, step="Items",
                         started_at=utcnow(), heartbeat_at=utcnow())
    before = Job.select().count()
    response = _refresh(client, **{"HX-Request": "true"})
    assert "already running" in response.text
    assert Job.select().count() == before
    assert f"/jobs/{running.id}" in response.text


def test_job_left_by_a_dead_worker_does_not_block_forever(client, connected):
    long_ago = utcnow() - datetime.timedelta(hours=1)
    dead = Job.create(kind="refresh_lists", status=JobStatus.RUNNING, started_at=long_ago,
                      heartbeat_at=long_ago)
    response = _refresh(client, **{"HX-Request": "true"})
    assert "Refresh complete" in response.text
    assert Job.get_by_id(dead.id).status is JobStatus.FAILED


def test_record_gone_from_zoho_is_marked_not_deleted(client, connected, sandbox):
    contact = ZohoContact.usable(connected.organization_id).first()
    zoho_as_user(sandbox).delete(f"/contacts/{contact.zoho_id}")
    _refresh(client)
    kept = ZohoContact.get_by_id(contact.id)
    assert kept.removed_at is not None
    assert kept not in list(ZohoContact.usable(connected.organization_id))
    assert jobs.latest("refresh_lists").counts["contacts"]["removed"] == 1


def test_inactive_record_is_kept_as_inactive(client, connected, sandbox):
    item = ZohoItem.usable(connected.organization_id).first()
    zoho_as_user(sandbox).post(f"/items/{item.zoho_id}/inactive")
    _refresh(client)
    kept = ZohoItem.get_by_id(item.id)
    assert kept.is_active is False and kept.removed_at is None


def test_zoho_down_fails_with_a_plain_message(client, connected, sandbox):
    sandbox.admin("POST", "/sandbox/faults", error_rate=1.0)
    try:
        response = _refresh(client, **{"HX-Request": "true"})
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
    assert response.status_code == 200
    job = jobs.latest("refresh_lists")
    assert job.status in (JobStatus.WAITING, JobStatus.FAILED)
    assert "not answering" in (job.error or job.message)
    assert "Traceback" not in response.text


def test_rate_limited_refresh_waits_and_completes(client, connected, sandbox):
    sandbox.admin("POST", "/sandbox/faults", force_429=3)
    response = _refresh(client, **{"HX-Request": "true"})
    assert "Refresh complete" in response.text


def test_refresh_runs_by_itself_when_48_hours_old(app, connected):
    ZohoConnection.update(last_list_refresh_at=utcnow() - datetime.timedelta(hours=49)).execute()
    refresh_lists_when_due.call_local()
    job = jobs.latest("refresh_lists")
    assert job.trigger == "schedule" and job.status is JobStatus.SUCCEEDED
    refresh_lists_when_due.call_local()
    assert Job.select().where(Job.trigger == "schedule").count() == 1
