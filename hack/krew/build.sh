#!/usr/bin/env bash
# Builds kubectl-jobops for each GOOS/GOARCH given, packs each into the
# tar.gz that Krew installs, and writes the Krew manifest with their sha256.
# Usage: VERSION=v0.1.0 hack/krew/build.sh OUT_DIR linux/amd64 darwin/arm64 ...
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1; shift
: "${VERSION:?set VERSION, such as v0.1.0}"
rm -rf "$out" && mkdir -p "$out"
platforms=""
for p in "$@"; do
	os=${p%/*} arch=${p#*/} bin=kubectl-jobops
	[ "$os" = windows ] && bin=kubectl-jobops.exe
	dir="$out/$os-$arch"
	mkdir -p "$dir"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags="-s -w" -o "$dir/$bin" ./cmd/kubectl-jobops
	archive="kubectl-jobops_${VERSION}_${os}_${arch}.tar.gz"
	tar -C "$dir" -czf "$out/$archive" "$bin"
	sha=$(sha256sum "$out/$archive" | cut -d' ' -f1)
	platforms+="  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: https://github.com/jobops-dev/gitlab-job-operator/releases/download/$VERSION/$archive
    sha256: $sha
    bin: $bin
"
done
# The template's two fields are filled in by name; everything else is literal.
awk -v version="$VERSION" -v platforms="${platforms%$'\n'}" '
	/^\$\{PLATFORMS\}$/ { print platforms; next }
	{ gsub(/\$\{VERSION\}/, version); print }
' hack/krew/jobops.yaml.tmpl >"$out/jobops.yaml"
echo "$out/jobops.yaml"
