#!/usr/bin/env bash
# Best effort: Debian's redis-server (the gateway's shared counter store),
# lua5.1 (the Argo CD health check) and nginx (auth_request in front of
# crossgate-authz) let their tests run instead of skipping.
# Installed only when missing, only as root with apt-get; never fatal — the
# tests that need them skip with the reason when they are absent.
set -u
want=()
command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
command -v lua5.1 >/dev/null 2>&1 || want+=(lua5.1)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || want+=(nginx)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[optional-tools] ${want[*]} not installed (needs root and apt-get); their tests will skip" >&2
  exit 0
fi
echo "[optional-tools] installing ${want[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${want[@]}"; } >/dev/null 2>&1 \
  || echo "[optional-tools] could not install ${want[*]}; their tests will skip" >&2
exit 0
