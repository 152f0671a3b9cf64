#!/usr/bin/env bash
# Benchmark of applying an incremental export (a merge-on-read row delta).
#
#   scripts/bench-merge.sh [ITEMS [CHANGES]]     (default: 2000000 100000)
#
# Generates (cached under .bench/) a full export of ITEMS items and five
# incremental exports of CHANGES changes each (about 60% updates, 25%
# deletes, 15% inserts). For table format versions 2 and 3: loads the full
# export into a fresh warehouse, scans the table (rows/s), applies the
# first incremental export with `floe run` (timed end to end, peak RSS as
# VmHWM), scans the merged table, applies the other four, scans again
# (after 5 merges), compacts it with `floe maintain` (timed, peak RSS) and
# scans it a last time. The issue's target is printed next to each figure.
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
wh=.bench/merge-wh
for fv in 2 3; do
  rm -rf "$wh"
  flags=(--warehouse "$wh" --table bench.orders --key pk,sk --progress never)
  echo "  format version $fv"
  echo "    full load:"
  run "$FLOE" run --export "$full" "${flags[@]}" --format-version "$fv" | sed 's/^/  /'
  echo "    scan before the merge: $("$scanbench" --warehouse "$wh" --table bench.orders)"
  echo "    apply the incremental export:"
  t0=$(date +%s%N)
  out=$(run "$FLOE" run --export "$inc" "${flags[@]}")
  t1=$(date +%s%N)
  echo "$out" | sed 's/^/  /'
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e9}')
  peak=$(echo "$out" | awk '/peak RSS/{print $3}')
  verdict() { awk -v v="$1" -v t="$2" 'BEGIN{print (v <= t ? "meets" : "MISSES")}'; }
  echo "    apply: ${secs} s end to end (target <= ${target_s} s: $(verdict "$secs" "$target_s")), peak RSS ${peak} MiB (target <= ${target_rss_mib} MiB: $(verdict "$peak" "$target_rss_mib"))"
  echo "    scan after the merge:  $("$scanbench" --warehouse "$wh" --table bench.orders)"
  t0=$(date +%s%N)
  for i in 1 2 3 4; do
    "$FLOE" --log-level warn run --export "${incs[$i]}" "${flags[@]}" > /dev/null
  done
  t1=$(date +%s%N)
  echo "    four more merges: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e9}') s"
  echo "    scan after 5 merges:   $("$scanbench" --warehouse "$wh" --table bench.orders)"
  t0=$(date +%s%N)
  mout=$(run "$FLOE" maintain --warehouse "$wh" --table bench.orders --skip expire --skip orphans)
  t1=$(date +%s%N)
  echo "    floe maintain: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e9}') s end to end, $(echo "$mout" | grep -o 'peak RSS [0-9]* MiB'); $(grep -h '^compacted' .bench/out.txt)"
  echo "    scan after compaction: $("$scanbench" --warehouse "$wh" --table bench.orders)"
done
rm -rf "$wh"
