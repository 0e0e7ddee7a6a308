"""``tawasul worker`` with RQ's default forking ``Worker`` in place of ``SimpleWorker``.

The job-queue benchmark runs it beside the real command to compare the two worker classes on
the same composition root, relay and jobs. Run as ``python -m bench.jobqueue_worker [--no-ami]``.

Forking safely takes two things RQ's ``Worker`` does not do by itself:

* a work horse must not use the database connections it inherited (SQLAlchemy's recipe for
  forks: drop the pool without closing it), so every job opens its own connection;
* no fork may happen while the relay or the reconciler thread is inside a database transaction.
  SQLite keeps its lock state in process memory; a horse forked while the relay held the write
  lock inherits a lock that nobody in it will release, and its first write waits out SQLite's
  30 s busy timeout ("database is locked"). A lock shared by those threads and the fork keeps
  them apart.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from rq import Queue, Worker
from rq.job import Job

import jobqueue.worker
from jobqueue.context import current
from tawasul_cli.main import main

FORK_GUARD = threading.Lock()


def guarded(step: Callable[..., Any]) -> Callable[..., Any]:
    """``step``, run only while no work horse is being forked."""

    def run(*args: Any, **kwargs: Any) -> Any:
        with FORK_GUARD:
            return step(*args, **kwargs)

    return run


class ForkingWorker(Worker):
    """RQ's forking worker, made safe for the worker's database threads (see above)."""

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Fork while no thread of this process is inside a database transaction."""
        with FORK_GUARD:
            super().fork_work_horse(job, queue)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        """Drop the inherited connection pool, then run the job as RQ does."""
        current().sessions.kw["bind"].dispose(close=False)
        super().main_work_horse(job, queue)


if __name__ == "__main__":
    jobqueue.worker.SimpleWorker = ForkingWorker  # type: ignore[attr-defined,assignment]
    for name in ("relay_once", "reconcile", "_late_report_step"):
        setattr(jobqueue.worker, name, guarded(getattr(jobqueue.worker, name)))
    sys.exit(main(["worker", *sys.argv[1:]]))
