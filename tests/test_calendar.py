"""The date-sensitive tests pass whatever day CI runs on.

The suite runs on a pinned clock (tests/conftest.py). This module runs the tests marked
`calendar` (those whose data or schedule depend on today's date: generated Qonto history,
history imports, the daily schedule) again at awkward moments, each in its own pytest
process with BOOKBRIDGE_TEST_NOW set: the app, the sandbox and the processes they start
all read that clock. The four runs go side by side to keep the suite short.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

AWKWARD_MOMENTS = {
    # The day the suite first failed: no pending card payment after a quiet weekend.
    "a Monday morning": "2026-11-30T07:30:00+00:00",
    # Paris moves from 02:00 to 03:00 (01:00 UTC): a day of 23 hours.
    "the spring DST change": "2026-03-29T01:30:00+00:00",
    # Already New Year in Paris, still the old year in UTC.
    "New Year's night": "2026-12-31T23:30:00+00:00",
    "29 February": "2028-02-29T12:00:00+00:00",
}


def _modules_with_marked_tests() -> list[str]:
    """Only these are collected (collecting the whole suite four times costs more)."""
    here = Path(__file__).resolve()
    return sorted(str(path) for path in (ROOT / "tests").rglob("test_*.py")
                  if path != here and "mark.calendar" in path.read_text(encoding="utf-8"))


def _run_marked_tests_at(moment: str, modules: list[str]) -> subprocess.Popen:
    env = {**os.environ, "BOOKBRIDGE_TEST_NOW": moment}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-m", "calendar", "-p", "no:cacheprovider",
         *modules], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)


# Dates are computed in Python and passed to SQL as values (no SQL date function anywhere),
# so the moment matters, not the engine; the PostgreSQL pass runs the marked tests at the
# pinned moment.
@pytest.mark.sqlite_pass_only("the dates are Python's, whatever the engine")
def test_date_sensitive_tests_pass_at_awkward_moments():
    modules = _modules_with_marked_tests()
    assert len(modules) >= 3, modules
    runs = {name: _run_marked_tests_at(moment, modules)
            for name, moment in AWKWARD_MOMENTS.items()}
    failures = []
    for name, run in runs.items():
        output, _ = run.communicate(timeout=600)
        summary = output.strip().splitlines()[-1] if output.strip() else ""
        if run.returncode != 0 or " passed" not in summary or "skipped" in summary:
            failures.append(f"--- at {name} ({AWKWARD_MOMENTS[name]}):\n{output[-3000:]}")
    assert not failures, "\n".join(failures)
