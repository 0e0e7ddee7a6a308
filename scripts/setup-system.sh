#!/usr/bin/env bash
# Installs the Debian packages tawasul needs (Debian 12, as root). Idempotent: when everything
# is installed it only asks dpkg, so the second run takes well under a second.
set -euo pipefail

PACKAGES=(
  python3 python3-venv python3-dev gcc   # the virtualenv (psycopg and cryptography ship wheels)
  debootstrap                            # builds the Debian-unstable chroot that holds Asterisk 22
  espeak-ng sox libsox-fmt-base          # offline prompt rendering, 8 kHz conversion
  libsox-fmt-mp3                         # gTTS speaks MP3: converted to 8 kHz WAV by sox
  postgresql                             # the production database; tests run on it too
  redis-server                           # RQ's broker
  baresip-core                           # a SIP softphone for the chan_pjsip tests
  make git ca-certificates
  systemd                                # systemd-analyze verify checks the service units
  chromium                               # the console's browser tests (Playwright drives it)
)
# npm installs axe-core, which the browser tests inject. Debian's npm conflicts with a Node.js
# installed from elsewhere (NodeSource's nodejs ships its own npm): take Debian's only if there
# is no npm at all.
if ! command -v npm > /dev/null; then
  PACKAGES+=(nodejs npm)
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system.sh: run as root (it installs Debian packages and builds a chroot)" >&2
  exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: packages must not start their services here; scripts/services.sh starts
  # what a command needs, with the settings it needs.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser tests' accessibility checker (npm axe-core, pinned by tests/e2e/package-lock.json);
# installed again only when the lock file changes.
e2e="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e"
if [ ! -f "$e2e/node_modules/.package-lock.json" ] || [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$e2e" --no-audit --no-fund --loglevel=error
fi
