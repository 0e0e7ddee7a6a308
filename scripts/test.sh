#!/usr/bin/env bash
# The test command (`make test`, and CI through .ci/run): lint, then every test layer on SQLite
# and PostgreSQL. Assumes `make setup` ran (the Makefile's test target sees to it).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh postgres
export TAWASUL_TEST_POSTGRES_URL="postgresql+psycopg://tawasul:tawasul@127.0.0.1:5432/tawasul_test"

echo "== lint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports  # the architecture's arrows (pyproject.toml, docs/architecture.md)
scripts/lint-dialplan.sh

echo "== tests (unit, API, and integration against real Asterisk, on SQLite and PostgreSQL)"
# Most of the integration tests' time is calls waiting on prompts and timers, not CPU (on two
# cores a whole run averages about half a core busy): five workers, each with its own Asterisk,
# Redis and databases, run them side by side. Work stealing keeps every worker busy to the end
# (the long call tests would otherwise queue up behind one worker).
.venv/bin/pytest -n "${TAWASUL_TEST_WORKERS:-5}" --dist worksteal --durations=25 tests "$@"
