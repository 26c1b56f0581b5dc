"""Background work. `huey_consumer jobs.huey` imports this package, which registers every
task module below."""

from jobs import (  # noqa: F401  (registers the tasks)
    alerts,
    backup,
    bank,
    documents,
    intake,
    lists,
    matching,
    recovery,
)
from jobs.queue import huey

__all__ = ["huey"]
