"""Per-app Qonto control state: the secret key, lazy generation, call counts, fault tickets."""

import os
import threading

from flask import current_app

from sandbox.qonto import catalog as cat
from sandbox.qonto import data
from sandbox.runtime import now, runtime


class CallStats:
    """Calls per "METHOD /path/template", in memory like the fault switches."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = {}

    def add(self, name):
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def snapshot(self):
        with self.lock:
            calls = dict(sorted(self.calls.items()))
        return {"calls": calls, "total": sum(calls.values())}

    def reset(self):
        with self.lock:
            self.calls.clear()


def stats():
    return current_app.extensions["qonto_stats"]


def count_call(name):
    stats().add(name)


def configured_secret(app=None):
    config = (app or current_app).config
    return config.get("QONTO_SECRET") or os.environ.get("SANDBOX_QONTO_SECRET") \
        or cat.DEFAULT_SECRET


def secret_key(db):
    return data.get_state(db, "secret_key") or configured_secret()


def ensure_ready(db):
    """Generate the accounts and history on first use (after a start or a reset), at the
    shared clock's now; cheap once done."""
    data.ensure_generated(db, now())


def qonto_faults_before():
    """Consume one 'next N Qonto calls get 429' ticket, if any are left."""
    state = runtime()
    with state.lock:
        left = int(state.faults.get("qonto_force_429", 0) or 0)
        if left > 0:
            state.faults["qonto_force_429"] = left - 1
            return True
    return False
