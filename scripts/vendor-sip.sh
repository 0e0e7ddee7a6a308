#!/usr/bin/env bash
# Vendors the SIP library the console's phone uses (npm sip.js, pinned) into the served static
# files, so that the page works offline and no browser ever fetches code from a CDN.
# Reproducible: the tarball comes from the npm registry and must match the integrity hash the
# registry published for this version (dist.integrity); the committed files are its lib/ tree
# (native ES modules, no build step) and its LICENSE.md, unchanged.
#
#   scripts/vendor-sip.sh            re-vendor (then `git diff --stat` shows nothing if unchanged)
set -euo pipefail

NAME=sip.js
VERSION=0.21.2
INTEGRITY="sha512-tSqTcIgrOd2IhP/rd70JablvAp+fSfLSxO4hGNY6LkWRY1SKygTO7OtJEV/BQb8oIxtMRx0LE7nUF2MaqGbFzA=="
TARBALL_URL="https://registry.npmjs.org/${NAME}/-/${NAME}-${VERSION}.tgz"

here=$(cd "$(dirname "$0")/.." && pwd)
target="$here/agent_api/static/console/vendor/sip.js"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

curl --fail --silent --show-error --location --output "$work/package.tgz" "$TARBALL_URL"
actual="sha512-$(openssl dgst -sha512 -binary "$work/package.tgz" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "vendor-sip.sh: $TARBALL_URL does not match the pinned integrity hash" >&2
  echo "  expected $INTEGRITY" >&2
  echo "  got      $actual" >&2
  exit 1
fi

tar -xzf "$work/package.tgz" -C "$work"
rm -rf "$target"
mkdir -p "$target"
# Only the ES modules the browser loads (no type declarations, no source maps).
(cd "$work/package/lib" && find . -name '*.js' -print0 | xargs -0 cp --parents -t "$target")
cp "$work/package/LICENSE.md" "$target/LICENSE.md"
printf '%s %s\n%s\n%s\n' "$NAME" "$VERSION" "$TARBALL_URL" "$INTEGRITY" > "$target/VERSION"
echo "vendored $NAME $VERSION into ${target#"$here/"}"
