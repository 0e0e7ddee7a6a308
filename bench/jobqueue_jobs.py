"""Job functions for the job-queue benchmark, importable by the worker it starts."""

from __future__ import annotations


def noop() -> None:
    """Do nothing: what is left of a job's time is RQ's own (dequeue, fork, bookkeeping)."""
