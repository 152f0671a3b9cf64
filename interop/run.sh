#!/usr/bin/env bash
# Interop tier: prove another engine reads what floe writes.
#
# Generates sample DynamoDB exports with `floe gen`, loads each with
# `floe run` in several table variants, then opens every table with PyIceberg
# (from PyPI, its own SqlCatalog on <warehouse>/catalog.db) and compares what
# it reads with the generator's expected state, row by row and attribute by
# attribute (interop/check_table.py).
#
# The inc-* variants load a history: a full export and three incremental
# exports, applied by one `floe run` as merge-on-read row deltas (Parquet
# position deletes in format v2, deletion vectors in v3); the check compares
# the final table with the last export's expected state, requires the kind
# of delete files the format calls for (and checks them against the data
# files independently of PyIceberg's scan), and looks up keys deleted since
# the full export.
#
#   interop/run.sh                 all variants
#   interop/run.sh v2 ion          only the named variants
#
# Environment: INTEROP_VENV (default .venv-interop, relative to the repo
# root) is the Python venv, created if missing; INTEROP_ITEMS (default 3000)
# items per generated export; INTEROP_CHANGES (default 300) changed items per
# incremental export; INTEROP_KEEP=1 keeps the temp dir.
#
# Prints PASS/FAIL per variant and ends with "N passed, M failed"; exits
# non-zero if any variant failed. A deletion-vector variant whose PyIceberg
# has no deletion-vector support at all prints UNSUPPORTED (the version and
# what its scan did) and counts as neither; any other mismatch fails.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 2
venv="${INTEROP_VENV:-.venv-interop}"
items="${INTEROP_ITEMS:-3000}"
changes="${INTEROP_CHANGES:-300}"
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

# gen NAME EXPORTS FLAGS...: a sample export under $tmp/NAME, EXPORTS
# exports in all (1, or 1 + --incrementals).
declare -A nexports=()
gen() {
	local name=$1
	nexports[$name]=$2
	shift 2
	if ! "$floe" gen --out "$tmp/$name" --items "$items" --edge "$@" >"$tmp/$name.gen.log" 2>&1; then
		cat "$tmp/$name.gen.log" >&2
		die "floe gen $* failed"
	fi
}
gen json 1
gen ion 1 --format ION
gen inc 4 --incrementals 3 --changes "$changes"
gen inc-new 4 --incrementals 3 --changes "$changes" --view NEW_IMAGE
gen inc-ion-new 4 --incrementals 3 --changes "$changes" --view NEW_IMAGE --format ION

# Variants: name | sample | extra `floe run` flags (eval'd, so quote as in a
# shell) | delete files the table must end with: none (default), position
# (Parquet position deletes) or dv (deletion vectors).
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
	# Histories: full + 3 incremental exports, merge-on-read deletes.
	"inc-v2|inc||position"
	"inc-v3|inc|--format-version 3|dv"
	"inc-new-image-partitioned|inc-new|--partition-by 'bucket(4,pk)'|position"
	"inc-ion-new-image-v3-partitioned|inc-ion-new|--format-version 3 --partition-by 'bucket(4,pk)'|dv"
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
unsupported=0
indent() { sed 's/^/    /'; }
for v in "${variants[@]}"; do
	IFS='|' read -r name sample flags deletes <<<"$v"
	deletes="${deletes:-none}"
	t0=$SECONDS
	wh="$tmp/wh-$name"
	# One expected state per export, named by export id, which starts with
	# the export time: sorted, the last one is the final state.
	expected=("$tmp/$sample"/expected/*.jsonl.gz)
	if ((${#expected[@]} != ${nexports[$sample]})) || [[ ! -f "${expected[0]}" ]]; then
		echo "FAIL $name: want ${nexports[$sample]} expected-state files under $tmp/$sample/expected, found ${#expected[@]}"
		failed=$((failed + 1))
		continue
	fi
	final="${expected[-1]}"
	export_id="$(basename "$final" .jsonl.gz)"
	check_extra=(--deletes "$deletes")
	((${#expected[@]} > 1)) && check_extra+=(--gone-from "${expected[0]}")
	eval "extra=($flags)"
	if ! "$floe" run --export "$tmp/$sample/AWSDynamoDB" --warehouse "$wh" --table interop.orders --key pk,sk \
		"${extra[@]}" >"$tmp/$name.run.log" 2>&1; then
		echo "FAIL $name: floe run ${flags} failed ($((SECONDS - t0))s):"
		tail -n 20 "$tmp/$name.run.log" | indent
		failed=$((failed + 1))
		continue
	fi
	out="$("$py" interop/check_table.py --warehouse "$wh" --table interop.orders \
		--expected "$final" --key pk,sk --export-id "$export_id" "${check_extra[@]}" 2>&1)"
	rc=$?
	if ((rc == 0)); then
		echo "PASS $name ($((SECONDS - t0))s): ${out#OK: }"
		passed=$((passed + 1))
	elif ((rc == 3)) && [[ "$deletes" == dv ]]; then
		# check_table.py exits 3 only when this PyIceberg has no deletion
		# vector support at all; it says which version and what its scan did.
		echo "UNSUPPORTED $name ($((SECONDS - t0))s): ${out#UNSUPPORTED: }"
		unsupported=$((unsupported + 1))
	else
		reason="${known[$name]:-}"
		echo "FAIL $name ($((SECONDS - t0))s)${reason:+ [known PyIceberg limitation: $reason]}${flags:+ — floe run $flags}:"
		head -n 60 <<<"$out" | indent
		failed=$((failed + 1))
	fi
done

echo "interop: done in $((SECONDS - start))s"
((unsupported)) && echo "interop: $unsupported variant(s) not checked: the installed PyIceberg cannot read deletion vectors (see UNSUPPORTED above)"
echo "$passed passed, $failed failed"
((failed == 0))
