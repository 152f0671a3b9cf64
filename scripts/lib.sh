# Shared by the benchmark scripts (source it; it runs nothing).

# run CMD... : runs a command, prints its stdout, then its peak RSS.
run() {
  "$@" > .bench/out.txt 2> .bench/err.txt &
  local pid=$! peak=0 r
  while kill -0 "$pid" 2>/dev/null; do
    r=$(awk '/VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$r" ] && peak=$r
    sleep 0.2
  done
  if ! wait "$pid"; then
    cat .bench/err.txt >&2
    echo "benchmark run failed" >&2
    exit 1
  fi
  grep -E "^(loaded|stages)" .bench/out.txt | sed 's/^/    /'
  printf '    peak RSS %d MiB\n' $((peak / 1024))
}
