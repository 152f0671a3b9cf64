#!/usr/bin/env bash
# Interop tier: prove another engine reads what floe writes.
#
# Generates sample DynamoDB exports with `floe gen`, loads each with
# `floe run` in several table variants, then opens every table with PyIceberg
# (from PyPI, its own SqlCatalog on <warehouse>/catalog.db) and compares what
# it reads with the generator's expected state, row by row and attribute by
# attribute (interop/check_table.py).
#
#   interop/run.sh                 all variants
#   interop/run.sh v2 ion          only the named variants
#
# Environment: INTEROP_VENV (default .venv-interop, relative to the repo
# root) is the Python venv, created if missing; INTEROP_ITEMS (default 3000)
# items per generated export; INTEROP_KEEP=1 keeps the temp dir.
#
# Prints PASS/FAIL per variant and ends with "N passed, M failed"; exits
# non-zero if any variant failed.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 2
venv="${INTEROP_VENV:-.venv-interop}"
items="${INTEROP_ITEMS:-3000}"
start=$SECONDS

die() { echo "interop: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

# --- Python side --------------------------------------------------------------
if [[ ! -x "$venv/bin/python" ]]; then
	python3 -m venv "$venv" || die "cannot create venv $venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r interop/requirements.txt \
	|| die "pip install -r interop/requirements.txt failed"
py="$venv/bin/python"
versions="$("$py" -c 'import pyiceberg, pyarrow, sqlalchemy, sys; print(f"pyiceberg {pyiceberg.__version__}, pyarrow {pyarrow.__version__}, sqlalchemy {sqlalchemy.__version__}, python {sys.version.split()[0]}")')" \
	|| die "the venv cannot import pyiceberg"

# --- floe side ----------------------------------------------------------------
go build -o bin/floe ./cmd/floe || die "go build failed"
floe="$root/bin/floe"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/floe-interop.XXXXXX")" || die "mktemp failed"
if [[ "${INTEROP_KEEP:-}" == 1 ]]; then
	echo "interop: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 130' INT TERM

echo "interop: $versions; floe $(git describe --always --dirty 2>/dev/null || echo "?")"

# gen NAME FLAGS...: a sample export under $tmp/NAME.
gen() {
	local name=$1
	shift
	if ! "$floe" gen --out "$tmp/$name" --items "$items" --edge "$@" >"$tmp/$name.gen.log" 2>&1; then
		cat "$tmp/$name.gen.log" >&2
		die "floe gen $* failed"
	fi
}
gen json
gen ion --format ION

# Variants: name | sample | extra `floe run` flags (eval'd, so quote as in a shell).
variants=(
	"v2|json|"
	"v2-partitioned|json|--partition-by 'bucket(8,pk)' --partition-by status"
	"v3-sanitized|json|--column-names sanitize --format-version 3"
	"ion|ion|"
	# Not a floe default: a pinned schema file forcing the representations the
	# generator's data never gets by detection (N as string, M as map, L of a
	# primitive, decimal for integers) and, for attributes it leaves out or
	# that do not fit (38-digit long, fractional NS as long), the _rescued column.
	"schema-overrides|json|--schema interop/schema-overrides.json"
)

# Known PyIceberg limitations: variant → reason. A listed variant still runs
# and still counts as failed when it fails; the reason is printed with it so
# nobody mistakes it for a floe regression (or forgets it is there).
declare -A known=()

# Only the variants named on the command line, if any.
if (($#)); then
	sel=()
	for v in "${variants[@]}"; do
		for want in "$@"; do [[ "${v%%|*}" == "$want" ]] && sel+=("$v"); done
	done
	((${#sel[@]})) || die "no variant named $*; variants: $(printf '%s ' "${variants[@]%%|*}")"
	variants=("${sel[@]}")
fi

passed=0
failed=0
indent() { sed 's/^/    /'; }
for v in "${variants[@]}"; do
	IFS='|' read -r name sample flags <<<"$v"
	t0=$SECONDS
	wh="$tmp/wh-$name"
	expected=("$tmp/$sample"/expected/*.jsonl.gz)
	if ((${#expected[@]} != 1)) || [[ ! -f "${expected[0]}" ]]; then
		echo "FAIL $name: want exactly one expected-state file under $tmp/$sample/expected, found ${#expected[@]}"
		failed=$((failed + 1))
		continue
	fi
	export_id="$(basename "${expected[0]}" .jsonl.gz)"
	eval "extra=($flags)"
	if ! "$floe" run --export "$tmp/$sample/AWSDynamoDB" --warehouse "$wh" --table interop.orders --key pk,sk \
		"${extra[@]}" >"$tmp/$name.run.log" 2>&1; then
		echo "FAIL $name: floe run ${flags} failed ($((SECONDS - t0))s):"
		tail -n 20 "$tmp/$name.run.log" | indent
		failed=$((failed + 1))
		continue
	fi
	out="$("$py" interop/check_table.py --warehouse "$wh" --table interop.orders \
		--expected "${expected[0]}" --key pk,sk --export-id "$export_id" 2>&1)"
	rc=$?
	if ((rc == 0)); then
		echo "PASS $name ($((SECONDS - t0))s): ${out#OK: }"
		passed=$((passed + 1))
	else
		reason="${known[$name]:-}"
		echo "FAIL $name ($((SECONDS - t0))s)${reason:+ [known PyIceberg limitation: $reason]}${flags:+ — floe run $flags}:"
		head -n 60 <<<"$out" | indent
		failed=$((failed + 1))
	fi
done

echo "interop: done in $((SECONDS - start))s"
echo "$passed passed, $failed failed"
((failed == 0))
