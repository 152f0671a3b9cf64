#!/usr/bin/env bash
# Builds the Go version of every example plugin, plugins/examples/<name>/go,
# to OUTDIR/<name>-go.wasm: a WASI reactor module (ABI.md section 9).
#
#   bash plugins/build-go.sh OUTDIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

for dir in "$here"/examples/*/go; do
	[[ -d $dir ]] || continue
	name=$(basename "$(dirname "$dir")")
	(cd "$dir" && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 \
		go build -trimpath -buildmode=c-shared -o "$out/$name-go.wasm" .)
	echo "$out/$name-go.wasm"
done
