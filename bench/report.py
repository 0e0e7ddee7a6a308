"""Join the sections in bench/results/ into BENCHMARKS.md (``python -m bench.report``)."""

from __future__ import annotations

import json
import sys

from bench import before_after
from bench.common import REPO, RESULTS

# The order of BENCHMARKS.md; a benchmark that has not run yet is named as missing.
SECTIONS = ("calls", "sip", "api", "jobqueue")


def main() -> int:
    """Rewrite BENCHMARKS.md from the latest results."""
    parts = [
        "# Benchmarks",
        "",
        "How many calls, requests and jobs one box carries, each against the limit beside it "
        "measured in the same run. These machines are shared and noisy: read the ratios and "
        "medians, not a lone absolute time. Everything here is rewritten by one command, "
        "`make bench` (under a quarter of an hour on two cores: 904 s measured; the first run is "
        "longer: it generates the API's two databases of 1,000,000 requests); each section "
        "names its own "
        "command to run it alone. Scripts: `bench/`; figures as JSON, plots and profiles: "
        "`bench/results/`.",
        "",
    ]
    machines = []
    for name in SECTIONS:
        record_path = RESULTS / f"{name}.json"
        if not record_path.exists():
            parts += [f"## {name}", "", "Not run yet.", ""]
            continue
        record = json.loads(record_path.read_text())
        machine = record["machine"]
        machines.append(
            f"| {name} | {machine['date']} | {machine['commit']} | {machine['cpus']} x "
            f"{machine['cpu_model']} | {machine['memory_gib']} GiB | {machine['kernel']} | "
            f"{machine['python']} |"
        )
        parts += [(RESULTS / f"{name}.md").read_text().rstrip(), ""]
    header = [
        "| section | run | commit | CPUs | memory | kernel | Python |",
        "|---|---|---|---|---|---|---|",
        *machines,
        "",
    ]
    intro = 4  # the title, the paragraph and their blank lines
    goals = [before_after.section()]
    text = "\n".join(parts[:intro] + header + goals + parts[intro:]).rstrip() + "\n"
    (REPO / "BENCHMARKS.md").write_text(text)
    print(f"wrote {REPO / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
