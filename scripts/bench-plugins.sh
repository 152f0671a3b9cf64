#!/usr/bin/env bash
# End-to-end cost of plugins: `floe run` on the same generated full export
# without a plugin, with a pass-through plugin (filter on a value no item
# has) and with mask, in Rust and in Go, side by side in one run.
#
#   scripts/bench-plugins.sh [ITEMS]     (default: 1000000)
#
# Needs bin/floe and bin/plugins/*.wasm (make build plugins). Each load is
# made with a pinned schema, so the plugin runs once per item; without one,
# the detection pass runs the plugins too. Prints items/s, the ratio to the
# run without a plugin, and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
FLOE=${FLOE:-bin/floe}
n=${1:-1000000}
mkdir -p .bench
. scripts/lib.sh

src=.bench/export-$n
if [ ! -f "$src/.done" ]; then
  rm -rf "$src"
  "$FLOE" gen --out "$src" --items "$n" --no-expected > /dev/null
  touch "$src/.done"
fi
schema=.bench/schema-$n.json
[ -f "$schema" ] || "$FLOE" schema detect --export "$src/AWSDynamoDB" --key pk,sk --out "$schema" 2> /dev/null
python3 - "$schema" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["pinned"] = True; json.dump(s, open(p, "w"))
PY

echo "== plugins, $n items, pinned schema ($(nproc) CPUs)"
base=0
for spec in "none" \
            "filter-rust.wasm {\"attribute\":\"status\",\"equals\":\"NO-SUCH-STATUS\"}" \
            "mask-rust.wasm {\"attributes\":[\"email\"]}" \
            "filter-go.wasm {\"attribute\":\"status\",\"equals\":\"NO-SUCH-STATUS\"}" \
            "mask-go.wasm {\"attributes\":[\"email\"]}"; do
  wasm=${spec%% *}
  extra=()
  if [ "$wasm" != none ]; then
    extra=(--plugin "bin/plugins/$wasm" --plugin-config "${spec#* }" --plugin-cache .bench/wasm-cache)
  fi
  wh=.bench/warehouse
  rm -rf "$wh"
  echo "  $wasm:"
  run "$FLOE" run --export "$src/AWSDynamoDB" --warehouse "$wh" --table bench.orders --key pk,sk --progress never --schema "$schema" "${extra[@]}"
  rate=$(grep -oE '[0-9]+ items/s' .bench/out.txt | cut -d' ' -f1)
  if [ "$wasm" = none ]; then
    base=$rate
  else
    awk -v r="$rate" -v b="$base" 'BEGIN { printf "    %.0f%% of the run without a plugin\n", 100 * r / b }'
  fi
done
rm -rf .bench/warehouse
