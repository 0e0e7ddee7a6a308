"""The background adapter (the design card's ``queue/``): RQ jobs, the outbox relay, the worker.

Named ``jobqueue`` because a top-level ``queue`` package would shadow the standard library's.
"""
