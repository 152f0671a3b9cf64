#!/usr/bin/env bash
# End-to-end benchmark of `floe run` on generated full exports.
#
#   scripts/bench.sh [ITEMS...]     (default: 1000000 4000000)
#
# For each size: generates an order-like export (cached under .bench/), then
# loads it twice into a fresh warehouse: with schema detection (the default
# for a new table) and with a pinned schema file (no detection pass).
# Prints items/s, MB/s of uncompressed DynamoDB JSON, per-stage times and the
# peak RSS of the process (VmHWM). Needs bin/floe (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
FLOE=${FLOE:-bin/floe}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 4000000)
mkdir -p .bench

. scripts/lib.sh

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | awk '{print $3}')"
for n in "${sizes[@]}"; do
  src=.bench/export-$n
  if [ ! -f "$src/.done" ]; then
    rm -rf "$src"
    "$FLOE" gen --out "$src" --items "$n" --no-expected > /dev/null
    touch "$src/.done"
  fi
  size=$(du -sm "$src/AWSDynamoDB" | cut -f1)
  echo "== $n items ($size MiB gzip'd DynamoDB JSON, $(ls "$src"/AWSDynamoDB/*/data | wc -l) files)"
  schema=.bench/schema-$n.json
  [ -f "$schema" ] || "$FLOE" schema detect --export "$src/AWSDynamoDB" --key pk,sk --out "$schema" 2> /dev/null
  python3 - "$schema" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["pinned"] = True; json.dump(s, open(p, "w"))
PY
  for mode in detect pinned; do
    wh=.bench/warehouse
    rm -rf "$wh"
    extra=()
    [ "$mode" = pinned ] && extra=(--schema "$schema")
    echo "  floe run ($mode schema):"
    run "$FLOE" run --export "$src/AWSDynamoDB" --warehouse "$wh" --table bench.orders --key pk,sk --progress never "${extra[@]}"
  done
  rm -rf .bench/warehouse
done
