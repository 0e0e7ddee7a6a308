#!/usr/bin/env bash
# Lint the Asterisk dialplan with asterisklint (PyPI: asterisklint-jjs).
# Usage: scripts/lint-dialplan.sh [EXTENSIONS_CONF]   (default: dialplans/extensions.conf)
# Exits non-zero on any finding that is not ignored below.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
conf="$(realpath -e "${1:-$root/dialplans/extensions.conf}")"

# Own venv, so the linter's pins never mix with the project's .venv.
# 0.5.0 is the first release with Asterisk 22 app/function tables (--asterisk-version 22).
spec='asterisklint-jjs>=0.5.0,<0.6'
venv="$root/.venv-lint"
# The marker is written last: an interrupted install or a changed pin reinstalls.
if [[ "$(cat "$venv/.installed" 2>/dev/null)" != "$spec" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$spec"
    echo "$spec" >"$venv/.installed"
fi

# Codes muted for every app/function (asterisklint can only ignore by code, not by name).
# None today: asterisklint's Asterisk 22 tables know every app and function we use.
# Add a code here only for a false positive against Asterisk 22.10.1, each with why.
export ALINT_IGNORE=''

# Run from the file's directory: asterisklint resolves #include relative to the file,
# and messages then read "extensions.conf:LINE CODE: ...".
cd "$(dirname "$conf")"
"$venv/bin/asterisklint" dialplan-check --asterisk-version 22 "$(basename "$conf")"
echo "asterisklint: $conf: no findings"
