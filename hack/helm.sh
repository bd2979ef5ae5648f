#!/usr/bin/env bash
# Builds (or reuses) helm from its Go module, the way test/controlplane/build.sh
# builds the control plane: no download site but the Go module proxy is needed.
# Cached outside the clone, keyed by version; a warm run costs nothing.
#
#   hack/helm.sh              prints the path of the helm binary on stdout
#   hack/helm.sh lint ...     builds if needed, then runs helm with these arguments
#
# CROSSGATE_HELM_VERSION (default v3.22.0), CROSSGATE_CACHE as for the control plane.
set -euo pipefail

HELM_VERSION="${CROSSGATE_HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${CROSSGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossgate}"
BIN="$CACHE_ROOT/helm/$HELM_VERSION/bin"
HELM="$BIN/helm"

log() { printf '[helm] %s\n' "$*" >&2; }

if [ ! -x "$HELM" ]; then
  command -v go >/dev/null || { log "go is required to build helm (https://go.dev)"; exit 1; }
  export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
  major="${HELM_VERSION#v}"; major="${major%%.*}"
  mod="helm.sh/helm/v$major"
  mkdir -p "$BIN" "$CACHE_ROOT"
  WORK="$(mktemp -d "$CACHE_ROOT/helm-build.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  start=$(date +%s)
  # helm's go.mod has no replace directives, so `go install pkg@version` builds it
  # with exactly the versions its go.sum pins. The -X stamps are those of helm's
  # Makefile: the version `helm version` reports, and the Kubernetes version
  # `helm template`/`helm lint` assume (derived there from its k8s.io/client-go).
  gomod="$(cd "$WORK" && go mod download -json "$mod@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || { log "could not download $mod@$HELM_VERSION"; exit 1; }
  kminor="$(sed -n 's|^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*|\1|p' "$gomod" | head -1)"
  [ -n "$kminor" ] || { log "no k8s.io/client-go in $mod@$HELM_VERSION's go.mod"; exit 1; }
  ld="-s -w -X $mod/internal/version.version=$HELM_VERSION -X $mod/internal/version.gitTreeState=clean"
  for pkg in "$mod/pkg/lint/rules" "$mod/pkg/chartutil"; do
    ld+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$kminor"
  done
  log "building helm $HELM_VERSION (Kubernetes 1.$kminor client libraries) into $BIN"
  (cd "$WORK" && GOBIN="$WORK/bin" go install -trimpath -ldflags "$ld" "$mod/cmd/helm@$HELM_VERSION" >&2)
  mv "$WORK/bin/helm" "$HELM.tmp" && mv "$HELM.tmp" "$HELM"
  log "built in $(( $(date +%s) - start ))s"
fi

if [ $# -eq 0 ]; then echo "$HELM"; exit 0; fi
exec "$HELM" "$@"
