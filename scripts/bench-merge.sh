#!/usr/bin/env bash
# Benchmark of applying incremental exports, in each merge mode.
#
#   scripts/bench-merge.sh [ITEMS [CHANGES]]     (default: 2000000 100000)
#   BENCH_MERGE_MODES="merge-on-read copy-on-write" scripts/bench-merge.sh
#
# Generates (cached under .bench/) a full export of ITEMS items and five
# incremental exports of CHANGES changes each (about 60% updates, 25%
# deletes, 15% inserts). For table format versions 2 and 3: loads the full
# export once and scans it (rows/s). Then, for each merge mode (all three
# unless BENCH_MERGE_MODES names some), from a copy of that table: applies
# the first incremental export with `floe run --merge-mode` (timed end to
# end, peak RSS as VmHWM, files the snapshot added and removed), scans the
# merged table, applies the other four, scans again (after 5 merges),
# compacts it with `floe maintain` (timed, peak RSS) and scans it a last
# time. The issue's target is printed next to each figure. The scans use
# iceberg-go, which reads equality deletes (PyIceberg does not).
# Needs bin/floe (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
FLOE=${FLOE:-bin/floe}
items=${1:-2000000}
changes=${2:-100000}
target_s=10        # the apply, end to end, on the 2-core machine
target_rss_mib=1024
mkdir -p .bench

# run CMD...: prints its loaded/stages lines and "peak RSS N MiB".
. scripts/lib.sh

src=.bench/merge-$items-$changes-x5
if [ ! -f "$src/.done" ]; then
  rm -rf "$src"
  "$FLOE" gen --out "$src" --items "$items" --incrementals 5 --changes "$changes" --no-expected > /dev/null
  touch "$src/.done"
fi
full= incs=()
for d in "$src"/AWSDynamoDB/*/; do # export ids sort by time
  [ -f "$d/manifest-summary.json" ] || continue
  case $(grep -o '"exportType":"[A-Z_]*"' "$d/manifest-summary.json") in
    *FULL_EXPORT*) full=${d%/} ;;
    *INCREMENTAL_EXPORT*) incs+=("${d%/}") ;;
  esac
done
[ -n "$full" ] && [ "${#incs[@]}" -eq 5 ] || { echo "no full export or not 5 incremental exports in $src; remove it and rerun" >&2; exit 1; }
inc=${incs[0]}

scanbench=.bench/scanbench
go build -o "$scanbench" ./scripts/scanbench

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | awk '{print $3}')"
echo "== $items-row table, incremental export of $changes changes ($(grep -c . "$inc/manifest-files.json") file(s), $(du -sm "$inc/../data" | cut -f1) MiB gzip'd)"
modes=${BENCH_MERGE_MODES:-merge-on-read equality-deletes copy-on-write}
wh=.bench/merge-wh base=.bench/merge-base
verdict() { awk -v v="$1" -v t="$2" 'BEGIN{print (v <= t ? "meets" : "MISSES")}'; }
elapsed() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}'; }
# files: what the table's current snapshot added and removed.
files() {
  "$FLOE" table info --warehouse "$wh" --table bench.orders --json | python3 -c '
import json, sys
s = json.load(sys.stdin)["snapshots"][-1]["summary"]
g = lambda k: int(s.get(k, 0))
print("files: %d data added, %d data removed, %d delete files added (%d equality), %d delete files removed, %d delete files live" % (
    g("added-data-files"), g("deleted-data-files"), g("added-delete-files"), g("added-equality-delete-files"),
    g("removed-delete-files"), g("total-delete-files")))'
}
for fv in 2 3; do
  rm -rf "$wh" "$base"
  flags=(--warehouse "$wh" --table bench.orders --key pk,sk --progress never)
  echo "  format version $fv"
  echo "    full load:"
  run "$FLOE" run --export "$full" "${flags[@]}" --format-version "$fv" | sed 's/^/  /'
  echo "    scan before the merge: $("$scanbench" --warehouse "$wh" --table bench.orders)"
  # Table metadata holds absolute paths: copies are restored in place.
  cp -a "$wh" "$base"
  for mode in $modes; do
    rm -rf "$wh" && cp -a "$base" "$wh"
    echo "    merge mode $mode (format version $fv)"
    echo "      apply the incremental export:"
    t0=$(date +%s%N)
    out=$(run "$FLOE" run --export "$inc" "${flags[@]}" --merge-mode "$mode")
    secs=$(elapsed "$t0")
    echo "$out" | sed 's/^/    /'
    peak=$(echo "$out" | awk '/peak RSS/{print $3}')
    echo "      apply: ${secs} s end to end (target <= ${target_s} s: $(verdict "$secs" "$target_s")), peak RSS ${peak} MiB (target <= ${target_rss_mib} MiB: $(verdict "$peak" "$target_rss_mib"))"
    echo "      $(files)"
    echo "      scan after the merge:  $("$scanbench" --warehouse "$wh" --table bench.orders)"
    t0=$(date +%s%N)
    for i in 1 2 3 4; do
      "$FLOE" --log-level warn run --export "${incs[$i]}" "${flags[@]}" > /dev/null
    done
    echo "      four more merges: $(elapsed "$t0") s"
    echo "      scan after 5 merges:   $("$scanbench" --warehouse "$wh" --table bench.orders)"
    t0=$(date +%s%N)
    mout=$(run "$FLOE" maintain --warehouse "$wh" --table bench.orders --skip expire --skip orphans)
    echo "      floe maintain: $(elapsed "$t0") s end to end, $(echo "$mout" | grep -o 'peak RSS [0-9]* MiB'); $(grep -h '^compacted\|^nothing' .bench/out.txt | head -1)"
    echo "      scan after compaction: $("$scanbench" --warehouse "$wh" --table bench.orders)"
  done
done
rm -rf "$wh" "$base"
