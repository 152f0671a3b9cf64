#!/usr/bin/env bash
# End-to-end benchmark of `floe run` on generated full exports, next to
# DuckDB converting the same files.
#
#   scripts/bench.sh [ITEMS...]     (default: 1000000 4000000)
#
# For each size: generates an order-like export (cached under .bench/), then
# loads it into a fresh warehouse three ways: with the default one-pass
# schema detection (a sampled schema checked against every item), with
# --schema-sample all (a detection pass over every item first), and with a
# pinned schema file (no detection). Prints items/s, MB/s of uncompressed
# DynamoDB JSON, per-stage times and the peak RSS of the process (VmHWM).
# Then DuckDB (the Python duckdb package, installed into .bench/venv)
# converts the same gzip'd JSON files to one zstd Parquet file with 2
# threads, timed in the same run, and the ratio of the two times is
# printed: absolute figures drift on a shared machine, a ratio from one
# run does not. BENCH_DUCKDB=0 skips DuckDB. Needs bin/floe (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
FLOE=${FLOE:-bin/floe}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 4000000)
mkdir -p .bench
target_items_s=300000 # the default path, 1M items, on the 2-core machine
target_pinned_s=330000
target_duckdb_ratio=2

. scripts/lib.sh

duckdb_py=
if [ "${BENCH_DUCKDB:-1}" != 0 ]; then
  [ -x .bench/venv/bin/python ] || python3 -m venv .bench/venv
  if timeout 600 .bench/venv/bin/python -m pip install --quiet --disable-pip-version-check 'duckdb==2.0.1' 2>/dev/null \
    || timeout 600 .bench/venv/bin/python -m pip install --quiet --disable-pip-version-check duckdb; then
    duckdb_py=.bench/venv/bin/python
  else
    echo "DuckDB baseline skipped: pip install duckdb failed" >&2
  fi
fi
# secs CMD...: runs a command quietly, prints its wall time in seconds.
secs() {
  local t0=$(date +%s%N)
  "$@" > /dev/null
  awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN{printf "%.2f", (b-a)/1e9}'
}

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
  floe_default=
  for mode in sampled full pinned; do
    wh=.bench/warehouse
    rm -rf "$wh"
    extra=()
    case $mode in
      full) extra=(--schema-sample all) ;;
      pinned) extra=(--schema "$schema") ;;
    esac
    echo "  floe run ($mode schema${extra[*]:+: ${extra[*]}}):"
    t0=$(date +%s%N)
    out=$(run "$FLOE" run --export "$src/AWSDynamoDB" --warehouse "$wh" --table bench.orders --key pk,sk --progress never "${extra[@]}")
    wall=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN{printf "%.2f", (b-a)/1e9}')
    echo "$out"
    rate=$(echo "$out" | awk '/^ *loaded/{print $(NF-3)}')
    case $mode in
      sampled) floe_default=$wall
        echo "    default path: $rate items/s (target >= $target_items_s: $(awk -v v="$rate" -v t="$target_items_s" 'BEGIN{print (v >= t ? "meets" : "MISSES")}'))" ;;
      pinned)
        echo "    pinned schema: $rate items/s (target >= $target_pinned_s: $(awk -v v="$rate" -v t="$target_pinned_s" 'BEGIN{print (v >= t ? "meets" : "MISSES")}'))" ;;
    esac
  done
  if [ -n "$duckdb_py" ]; then
    out=.bench/duckdb.parquet
    rm -f "$out"
    d=$(secs "$duckdb_py" - "$src/AWSDynamoDB" "$out" <<'PY'
import duckdb, glob, sys
src, out = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(src + "/*/data/*.json.gz"))
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute(f"COPY (SELECT * FROM read_json({files!r}, format = 'newline_delimited', compression = 'gzip')) "
            f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
PY
)
    rows=$("$duckdb_py" -c "import duckdb, sys; print(duckdb.sql(\"SELECT count(*) FROM '$out'\").fetchall()[0][0])")
    ratio=$(awk -v f="$floe_default" -v d="$d" 'BEGIN{printf "%.2f", d/f}')
    echo "  duckdb $("$duckdb_py" -c 'import duckdb; print(duckdb.__version__)') (2 threads) JSON -> Parquet: ${d}s for $rows rows; floe's default path ${floe_default}s: floe is ${ratio}x DuckDB's speed (target >= ${target_duckdb_ratio}x: $(awk -v v="$ratio" -v t="$target_duckdb_ratio" 'BEGIN{print (v >= t ? "meets" : "MISSES")}'))"
    rm -f "$out"
  fi
done
rm -rf .bench/warehouse
