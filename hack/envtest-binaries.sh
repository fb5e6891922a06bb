#!/usr/bin/env bash
# Builds the control plane binaries envtest needs (kube-apiserver, etcd) and a
# matching kubectl from the Go module proxy, into setup-envtest's layout:
#   bin/k8s/<k8s-version>-<os>-<arch>/{kube-apiserver,etcd,kubectl}
#
# Why build from source: setup-envtest downloads prebuilt binaries from a bucket
# that our machines (and CI) cannot reach; the Go module proxy is reachable.
#
# Each binary is built only when missing. Prints the asset directory on stdout,
# so callers can do: export KUBEBUILDER_ASSETS=$(hack/envtest-binaries.sh).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.6}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GOOS="$(go env GOOS)"
GOARCH="$(go env GOARCH)"
DEST="${ENVTEST_DIR:-$ROOT/bin/k8s}/${K8S_VERSION}-${GOOS}-${GOARCH}"
WORK="$ROOT/bin/.envtest-build"

export GOFLAGS="-buildvcs=false -trimpath"
export CGO_ENABLED=0

log() { echo "envtest: $*" >&2; }

# build_time says how long building one binary takes on 2 cores with a cold
# build cache. kubectl is built with kube-apiserver and shares most of its
# packages, hence its shorter time.
build_time() {
  case "$1" in
    etcd) echo "about a minute on 2 cores" ;;
    kube-apiserver) echo "4 to 10 minutes on 2 cores, with kubectl" ;;
    kubectl) echo "a few minutes more, built with kube-apiserver" ;;
  esac
}

# quiet_go_get runs go get, showing its (long) output only when it fails.
quiet_go_get() {
  local out
  if ! out="$(go get "$@" 2>&1)"; then
    echo "$out" >&2
    return 1
  fi
}

# kube_module writes a throwaway module that builds k8s.io/kubernetes commands.
# k8s.io/kubernetes points every staging module at ./staging/...; outside its
# own tree those must be replaced by the published v0.x.y of the same module.
kube_module() {
  local dir="$WORK/kubernetes-$K8S_VERSION"
  if [[ -f "$dir/.ready" ]]; then echo "$dir"; return; fi
  rm -rf "$dir" && mkdir -p "$dir"
  local staging="v0.${K8S_VERSION#1.}"
  local gomod
  gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module envtestbuild"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  (cd "$dir" && quiet_go_get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION")
  touch "$dir/.ready"
  echo "$dir"
}

etcd_module() {
  local dir="$WORK/etcd-$ETCD_VERSION"
  if [[ -f "$dir/.ready" ]]; then echo "$dir"; return; fi
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && go mod init envtestetcd >/dev/null 2>&1 && quiet_go_get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION")
  touch "$dir/.ready"
  echo "$dir"
}

mkdir -p "$DEST"
if [[ ! -x "$DEST/etcd" ]]; then
  log "building etcd v$ETCD_VERSION ($(build_time etcd); once)"
  dir="$(etcd_module)"
  (cd "$dir" && go build -o "$DEST/etcd.tmp" go.etcd.io/etcd/server/v3) && mv "$DEST/etcd.tmp" "$DEST/etcd"
fi
# kube-apiserver and kubectl share most of their packages: one go build of
# both compiles those once, with both cores busy throughout.
missing=()
for cmd in kube-apiserver kubectl; do
  [[ -x "$DEST/$cmd" ]] || missing+=("$cmd")
done
if (( ${#missing[@]} > 0 )); then
  for cmd in "${missing[@]}"; do log "building $cmd v$K8S_VERSION ($(build_time "$cmd"); once)"; done
  dir="$(kube_module)"
  out="$DEST/.build"
  rm -rf "$out" && mkdir -p "$out"
  pkgs=()
  for cmd in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  (cd "$dir" && go build -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION")" -o "$out/" "${pkgs[@]}")
  for cmd in "${missing[@]}"; do mv "$out/$cmd" "$DEST/$cmd"; done
  rm -rf "$out"
fi
echo "$DEST"
