"""The Huey instance. Its settings come from the environment at import time, because the
consumer (`huey_consumer jobs.huey`) imports this module without any Flask app."""

import os
from pathlib import Path

from huey import SqliteHuey

import config

_immediate = os.environ.get("BOOKBRIDGE_HUEY_IMMEDIATE", "").lower() in {"1", "true", "yes"}
_data_dir = Path(os.environ.get("BOOKBRIDGE_DATA_DIR") or "data").resolve()

if _immediate:
    # Tests run tasks in-process and create no queue file.
    huey = SqliteHuey("bookbridge", immediate=True)
else:
    # The queue holds task arguments: only the service's user may read it (0700 / 0600).
    config.keep_new_files_private()
    _data_dir.mkdir(parents=True, exist_ok=True)
    huey = SqliteHuey("bookbridge", filename=str(_data_dir / "queue.db"), utc=True)
    config.make_data_private(_data_dir)
