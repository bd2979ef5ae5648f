#!/usr/bin/env bash
# Builds (or reuses) the real control-plane binaries that the e2e harness runs:
# kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes, and
# etcd from go.etcd.io/etcd/server/v3 - the binaries envtest would download, built
# here from the Go module proxy because no other download site is reachable.
#
# The binaries are cached outside the clone, keyed by version, so a warm run
# costs nothing. Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail

K8S_VERSION="${CROSSGATE_K8S_VERSION:-v1.35.4}"
ETCD_VERSION="${CROSSGATE_ETCD_VERSION:-v3.6.16}"
CACHE_ROOT="${CROSSGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossgate}"
BIN="$CACHE_ROOT/controlplane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"
WANT=(kube-apiserver kube-controller-manager kubectl etcd)

log() { printf '[controlplane] %s\n' "$*" >&2; }

have_all() { for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || return 1; done; }
if have_all; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { log "go is required to build the control plane (https://go.dev)"; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
mkdir -p "$BIN"
WORK="$(mktemp -d "$CACHE_ROOT/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)

build_kubernetes() {
  local mod="$WORK/kube" minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local staging="v0.${K8S_VERSION#v1.}"
  mkdir -p "$mod"
  # The release's go.mod replaces its ~31 staging modules by ./staging/...; derive
  # that list from the release itself and point each at its published version.
  local gomod
  gomod="$(cd "$WORK" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || { log "could not download k8s.io/kubernetes@$K8S_VERSION go.mod"; exit 1; }
  {
    echo "module crossgate.dev/controlplane/kube"
    echo
    echo "go $(sed -n 's/^go //p' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*$|\t\1 => \1 '"$staging"'|p' "$gomod"
    echo ")"
    echo
    echo "tool ("
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
    echo "	k8s.io/kubernetes/cmd/kubectl"
    echo ")"
  } >"$mod/go.mod"
  log "resolving k8s.io/kubernetes@$K8S_VERSION ($(grep -c ' => ' "$mod/go.mod") staging modules at $staging)"
  (cd "$mod" && go mod tidy >&2)
  # The same -X stamps upstream's hack/lib/version.sh applies, so `kubectl version`
  # and /version report the real release instead of v0.0.0-master.
  local ld="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for b in kube-apiserver kube-controller-manager kubectl; do
    [ -x "$BIN/$b" ] && continue
    log "building $b $K8S_VERSION"
    (cd "$mod" && go build -trimpath -ldflags "$ld" -o "$BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b" >&2)
    mv "$BIN/$b.tmp" "$BIN/$b"
  done
}

build_etcd() {
  [ -x "$BIN/etcd" ] && return 0
  local mod="$WORK/etcd"
  mkdir -p "$mod"
  printf 'module crossgate.dev/controlplane/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n\ntool go.etcd.io/etcd/server/v3\n' "$ETCD_VERSION" >"$mod/go.mod"
  log "building etcd $ETCD_VERSION"
  (cd "$mod" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3 >&2)
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}

build_etcd
build_kubernetes
log "built in $(( $(date +%s) - start ))s into $BIN"
echo "$BIN"
