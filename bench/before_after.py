"""Issue 19's goals for the API and the job queue: the figures before (BENCHMARKS.md of
2026-11-28, commit fd86c9d) beside the latest run's, for ``bench.report``."""

from __future__ import annotations

import json
from typing import Any

from bench.common import RESULTS, table

QUERIES = (
    "list",
    "mine",
    "counts",
    "counts_mine",
    "search_reference",
    "search_phone",
    "detail",
    "casefile",
)
BEFORE: dict[str, Any] = {
    "api": {
        "sqlite": {
            "p95@1": {
                "list": 16.4,
                "mine": 31.6,
                "counts": 85.3,
                "search_reference": 13.0,
                "search_phone": 335.2,
                "detail": 11.8,
                "casefile": 14.3,
            },
            "p95@8": {
                "list": 383.4,
                "mine": 570.2,
                "counts": 666.0,
                "search_reference": 228.9,
                "search_phone": 909.0,
                "detail": 218.9,
                "casefile": 267.1,
            },
            "list_cpu_ms": 12.8,
            "list_ratio@8": 0.117,
            "rss_idle_mib": 103.0,
            "rss_after_mib": 144.0,
        },
        "postgresql": {
            "p95@1": {
                "list": 24.4,
                "mine": 28.7,
                "counts": 61.7,
                "search_reference": 21.2,
                "search_phone": 231.5,
                "detail": 17.1,
                "casefile": 19.5,
            },
            "p95@8": {
                "list": 244.5,
                "mine": 214.7,
                "counts": 534.9,
                "search_reference": 155.9,
                "search_phone": 2269.7,
                "detail": 120.8,
                "casefile": 119.0,
            },
            "list_cpu_ms": 13.8,
            "list_ratio@8": 0.086,
            "rss_idle_mib": 114.0,
            "rss_after_mib": 120.0,
        },
    },
    "jobqueue": {"sqlite": {"p50": 69.2, "rss_idle_mib": 67.4, "rss_after_mib": 69.2}},
}
"""The figures of BENCHMARKS.md before issue 19 (the API then on Werkzeug's threaded server,
one process; the job queue measured on SQLite only)."""


def _load(name: str) -> dict[str, Any] | None:
    try:
        figures: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text())["figures"]
    except (OSError, ValueError, KeyError):
        return None
    return figures


def _mark(met: bool) -> str:
    return "✅" if met else "❌"


def section() -> str:
    """The before-and-after table of the API's and the job queue's goals (Markdown)."""
    rows: list[list[object]] = []
    api = _load("api")
    for kind, result in (api or {}).get("databases", {}).items():
        before = BEFORE["api"].get(kind)
        cells = result["summary"]["cells"]
        for name in QUERIES:
            for clients, goal in ((1, 50.0), (8, 150.0)):
                after = cells.get(f"{name}@{clients}", {}).get("p95_ms", float("nan"))
                was = before[f"p95@{clients}"].get(name, float("nan")) if before else float("nan")
                rows.append(
                    [
                        f"p95 {name}, {clients} client(s)",
                        kind,
                        was,
                        after,
                        f"< {goal:g} ms",
                        _mark(after < goal),
                    ]
                )
        list_cpu = cells["list@1"]["server_cpu_ms"]
        was_cpu = before["list_cpu_ms"] if before else float("nan")
        rows.append(
            [
                "API CPU ms a list page (1 client)",
                kind,
                was_cpu,
                list_cpu,
                "≤ half before",
                _mark(list_cpu <= was_cpu / 2),
            ]
        )
        ratio = result["summary"]["ratio_to_bare"].get("list@8", float("nan"))
        was_ratio = before["list_ratio@8"] if before else float("nan")
        rows.append(
            [
                "list ÷ bare throughput, 8 clients",
                kind,
                was_ratio,
                ratio,
                "≥ 0.3",
                _mark(ratio >= 0.3),
            ]
        )
        memory = result["memory"]
        rows.append(
            [
                "API RSS MiB idle / after",
                kind,
                f"{before['rss_idle_mib']:.0f} / {before['rss_after_mib']:.0f}" if before else "–",
                f"{memory['idle_rss_mib']:.0f} / {memory['after_rss_mib']:.0f}",
                "stated",
                "–",
            ]
        )
    jobs = _load("jobqueue")
    for kind, summary in (jobs or {}).get("summary", {}).items():
        simple = summary["classes"]["SimpleWorker"]
        before = BEFORE["jobqueue"].get(kind)
        p50 = simple["sms_latency_ms"]["total"]["p50"]
        rows.append(
            [
                "commit to SMS provider p50 ms",
                kind,
                before["p50"] if before else float("nan"),
                p50,
                "≤ 20 ms",
                _mark(p50 <= 20.0),
            ]
        )
        rows.append(
            [
                "worker RSS MiB idle / after bursts",
                kind,
                f"{before['rss_idle_mib']:.0f} / {before['rss_after_mib']:.0f}" if before else "–",
                f"{simple['rss_idle_mib']:.0f} / {simple['rss_after_burst_mib']:.0f}",
                "stated",
                "–",
            ]
        )
    if not rows:
        return ""
    missed = [row for row in rows if row[5] == "❌"]
    missed_cpu = [str(row[1]) for row in missed if str(row[0]).startswith("API CPU")]
    why = []
    if missed_cpu or any(str(row[0]).startswith("list ÷ bare") for row in missed):
        why = [
            "Why the list page's CPU"
            + (f" on {', '.join(missed_cpu)}" if missed_cpu else "")
            + " and the list-to-bare throughput miss ([profile](bench/results/api-profile.md)): "
            "a page is now 4 statements (the user; the page, each row's appointment and identity "
            "checks joined into it; the rows' duplicates; their SMS), 5 on SQLite with its BEGIN "
            "and 5 round trips on PostgreSQL (the pool's pre-ping; console reads run in "
            "autocommit, without BEGIN and ROLLBACK), its statement built once per set of "
            "filters, and the session cookie signed again once a minute rather than on every "
            "answer: 23.7 to 21.3 million instructions a page on SQLite, 26.0 to 21.8 on "
            "PostgreSQL (callgrind, in process). What is left is Python, not the database: "
            "about a quarter the page's query and the ORM's hydration of its rows, a sixth the "
            "duplicates' and SMS' queries, nearly half the 25 rows dumped (50 dates in both "
            "calendars, the actions each allows) and their JSON, an eighth the fixed cost of "
            "a request (Flask, the session, the user read); a bare answer costs 0.6 ms under "
            "gunicorn, so 0.3 of its rate needs a page of about 2 ms. What would move it: "
            "an answer cached per (filters, last change), exact only if every writer of what a "
            "row shows marks the change (requests, assignments, appointments, identity checks, "
            "the outbox and the SMS states the worker and the SMS centre's receipts change) and "
            "the answer expires on its own clock (an SMS due later turns queued, an "
            "appointment's start changes the actions allowed, a view's ages grow); short of "
            "that, only fewer Python steps per row: the page read as Core rows instead of ORM "
            "objects saves about 0.8 million (4%). Memory: the API's resident "
            "memory rose with gunicorn's two workers (stated beside each database above).",
            "",
        ]
    return "\n".join(
        [
            "## Issue 19: API and job queue, before and after",
            "",
            "Before: BENCHMARKS.md of 2026-11-28 (commit fd86c9d; the API then on Werkzeug's "
            "threaded server, the job queue on SQLite only); after: the sections below, from "
            "this run. Each section says why a goal is missed, with its profile.",
            "",
            table(["goal", "database", "before", "after", "goal", "met"], rows),
            "",
            *why,
        ]
    )
