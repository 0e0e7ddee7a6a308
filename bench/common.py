"""What every benchmark shares: percentiles, the machine it ran on, where results go.

Each benchmark is a module run as ``python -m bench.<name>``. It measures its subject side by
side with the limit beside it in the same run (these machines are shared and noisy, so a lone
absolute time means little) and writes two files under ``bench/results/``: ``<name>.json`` (the
figures) and ``<name>.md`` (the section of BENCHMARKS.md, with the exact command). Plots go
beside them as ``<name>-*.png``. ``python -m bench.report`` joins the sections into BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
# Scratch space for benchmark databases, Asterisk instances and logs (never committed).
WORK = REPO / "var" / "bench"


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    """The median, NaN for no values."""
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare a result with their own box."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
    }


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line() -> str:
    """The command that reproduces this run, as a reader would type it from the repo root."""
    module = Path(sys.argv[0]).resolve()
    try:
        dotted = ".".join(module.relative_to(REPO).with_suffix("").parts)
    except ValueError:
        dotted = str(module)
    return " ".join([".venv/bin/python -m", dotted, *sys.argv[1:]])


def write_result(name: str, markdown: str, figures: dict[str, Any]) -> None:
    """Write ``bench/results/<name>.json`` and ``<name>.md`` for the report."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {"name": name, "command": command_line(), "machine": machine(), "figures": figures}
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown.rstrip() + "\n")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; floats shown with at most three significant decimals."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            if value != value:  # NaN
                return "–"
            return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def process_tree_stats(pid: int) -> dict[str, float]:
    """:func:`process_stats` summed over a process and its living descendants (a gunicorn
    master and its workers)."""
    total = {"cpu_s": 0.0, "rss_mib": 0.0}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stats = process_stats(current)
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except FileNotFoundError:
            continue  # ended meanwhile
        for name in total:
            total[name] += stats[name]
        for task in tasks:
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except FileNotFoundError:
                continue
    return total


def process_stats(pid: int) -> dict[str, float]:
    """CPU seconds (user+system, children included) and resident memory (MiB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # After the ")" field 3 is state; utime, stime, cutime, cstime are fields 14-17 (1-based).
    cpu = sum(int(fields[index]) for index in (11, 12, 13, 14)) / ticks
    rss_kib = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = int(line.split()[1])
    return {"cpu_s": cpu, "rss_mib": rss_kib / 1024}
