"""Background work. `huey_consumer jobs.huey` imports this package, which registers every
task module below."""

from jobs import alerts, backup, bank, documents, intake, lists, recovery  # noqa: F401  (registers the tasks)
from jobs.queue import huey

__all__ = ["huey"]
