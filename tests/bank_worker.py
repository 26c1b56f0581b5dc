"""A bank sync in its own process, for the reliability test to kill (`python -m tests.bank_worker
2025-01-01`). Configuration comes from the environment, as for the real worker."""

import datetime
import os
import sys

os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

import config as config_layers  # noqa: E402
from models.database import open_database  # noqa: E402
from services import bank_sync  # noqa: E402


def main() -> None:
    config = config_layers.load()
    open_database(config)
    since = datetime.date.fromisoformat(sys.argv[1])
    # A job a killed worker left running is picked up again, as the real worker would.
    job, _ = bank_sync.request("history", history_start=since)
    bank_sync.run(config, job.id)
    job = job.get_by_id(job.id)
    print("finished", job.status.value, job.error, flush=True)


if __name__ == "__main__":
    main()
