"""Books answers carry Zoho's daily quota headers as NOTES §2.2 describes them.

X-Rate-Limit-Limit is the plan's daily cap, X-Rate-Limit-Remaining what is left of it
today, X-Rate-Limit-Reset the seconds until the daily reset (how pyzohoapi reads them;
UNCONFIRMED by Zoho's own docs, so Bookbridge must also work without them).
"""

import pytest

PLAN_CAPS = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000,
             "elite": 10000, "ultimate": 10000}  # NOTES §2.2
HEADERS = ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")


def _quota(response):
    return tuple(int(response.headers[name]) for name in HEADERS)


@pytest.fixture
def fresh_day(sandbox, books, org_ids):
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=86400)
    books.token = sandbox.self_client_tokens()["access_token"]  # the old one expired
    yield org_ids[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org_ids[0]}/limits", plan="free", per_minute=100)


def test_demo_organisations_start_on_the_free_plan(sandbox, org_ids):
    for org_id in org_ids:
        limits = sandbox.admin("GET", f"/sandbox/orgs/{org_id}/limits")
        assert (limits["plan"], limits["daily"]) == ("free", 1000)


@pytest.mark.parametrize("plan", sorted(PLAN_CAPS))
def test_every_answer_says_the_plan_cap_and_what_is_left(sandbox, books, fresh_day, plan):
    sandbox.admin("POST", f"/sandbox/orgs/{fresh_day}/limits", plan=plan)
    first, second = books.call("GET", "/settings/taxes"), books.call("GET", "/contacts")
    cap, left, reset = _quota(first)
    assert cap == PLAN_CAPS[plan] and left == cap - 1
    assert _quota(second)[:2] == (cap, cap - 2)
    assert 0 < reset <= 86400


def test_errors_and_429s_carry_the_headers_too(sandbox, books, fresh_day):
    missing = books.call("GET", "/contacts/404404")
    assert missing.status_code == 404 and _quota(missing)[0] == 1000
    sandbox.admin("POST", f"/sandbox/orgs/{fresh_day}/limits", daily=2)
    answers = [books.call("GET", "/settings/taxes") for _ in range(2)]
    assert answers[-1].json()["code"] == 45 and answers[-1].status_code == 429
    assert answers[-1].json()["message"] == "You have exceeded the maximum call rate limit of 2."
    assert _quota(answers[-1])[:2] == (2, 0)


def test_reset_counts_down_to_midnight_utc(sandbox, books, fresh_day):
    before = _quota(books.call("GET", "/settings/taxes"))[2]
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=3600)
    books.token = sandbox.self_client_tokens()["access_token"]
    after = _quota(books.call("GET", "/settings/taxes"))
    if before > 3600:  # still the same day: an hour less to wait
        assert abs(after[2] - (before - 3600)) <= 2
    else:  # the reset passed: a full day's quota again
        assert after[1] == after[0] - 1


def test_an_unknown_plan_is_refused(sandbox, org_ids):
    import requests

    answer = requests.post(f"{sandbox.url}/sandbox/orgs/{org_ids[0]}/limits",
                           json={"plan": "gold"}, timeout=10)
    assert answer.status_code == 400 and "free" in answer.json()["description"]
