#!/usr/bin/env bash
# End-to-end cost of plugins: `floe run` on the same generated full export
# without a plugin, with a pass-through plugin (filter on a value no item
# has) and with mask, in Rust and in Go, side by side in one run: the
# configurations take turns for BENCH_PLUGIN_ROUNDS rounds (default 3) and
# the best round of each is compared.
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

rounds=${BENCH_PLUGIN_ROUNDS:-3}
echo "== plugins, $n items, pinned schema ($(nproc) CPUs), best of $rounds interleaved rounds"
specs=("none"
       "filter-rust.wasm {\"attribute\":\"status\",\"equals\":\"NO-SUCH-STATUS\"}"
       "mask-rust.wasm {\"attributes\":[\"email\"]}"
       "filter-go.wasm {\"attribute\":\"status\",\"equals\":\"NO-SUCH-STATUS\"}"
       "mask-go.wasm {\"attributes\":[\"email\"]}")
declare -A best
for r in $(seq "$rounds"); do
  for spec in "${specs[@]}"; do
    wasm=${spec%% *}
    extra=()
    if [ "$wasm" != none ]; then
      extra=(--plugin "bin/plugins/$wasm" --plugin-config "${spec#* }" --plugin-cache .bench/wasm-cache)
    fi
    wh=.bench/warehouse
    rm -rf "$wh"
    echo "  round $r, $wasm:"
    run "$FLOE" run --export "$src/AWSDynamoDB" --warehouse "$wh" --table bench.orders --key pk,sk --progress never --schema "$schema" "${extra[@]}"
    rate=$(grep -oE '[0-9]+ items/s' .bench/out.txt | cut -d' ' -f1)
    if [ "${best[$wasm]:-0}" -lt "$rate" ]; then best[$wasm]=$rate; fi
  done
done
# Rounds interleave the configurations, so a slow spell of this shared
# machine hits them alike; the best round of each is compared.
echo "  best of $rounds:"
base=${best[none]}
for spec in "${specs[@]}"; do
  wasm=${spec%% *}
  awk -v w="$wasm" -v r="${best[$wasm]}" -v b="$base" 'BEGIN { printf "    %-18s %7d items/s  %3.0f%% of the run without a plugin\n", w, r, 100 * r / b }'
done
rm -rf .bench/warehouse
