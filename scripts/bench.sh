#!/usr/bin/env bash
# `make bench`: every benchmark in one run, then BENCHMARKS.md rewritten from the results.
# Not part of the tests or CI: it loads the machine on purpose. Run as root (SIPp, Asterisk).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v sipp > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sip-tester
fi
scripts/services.sh postgres
started=$(date +%s)
.venv/bin/python -m bench.calls --profile
.venv/bin/python -m bench.sip
.venv/bin/python -m bench.api --rounds 2
.venv/bin/python -m bench.jobqueue --burst 150
.venv/bin/python -m bench.report
echo "make bench took $(( $(date +%s) - started )) s"
