"""A bank-feed worker in its own process, for the reliability test to kill
(`python -m tests.bank_worker`). Configuration comes from the environment, as for the real
worker; tasks run in-process.

It starts as the real worker does (the startup hook takes over the jobs a killed worker
left), then does what "Sync now" does: it runs the sync under way, or a new one. It never
passes a history date: a history import asked for once must survive every kill.
"""

import os

os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

from jobs import runtime  # noqa: E402
from jobs.bank import sync_bank  # noqa: E402
from jobs.recovery import resume_interrupted_jobs  # noqa: E402
from models import Job, db  # noqa: E402
from services import bank_sync  # noqa: E402


def main() -> None:
    runtime.current()
    resume_interrupted_jobs()  # the startup hook: runs a dead worker's job again, in-process
    with db.connection_context():
        job, _ = bank_sync.request("button")  # the job under way, or a new one
        if job.is_active:
            sync_bank(job.id)
        job = Job.get_by_id(job.id)
        print("finished", job.status.value, job.error, flush=True)


if __name__ == "__main__":
    main()
