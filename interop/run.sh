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
# position deletes in format v2, deletion vectors in v3), or in the other
# merge modes (copy-on-write: no delete files; equality deletes); the check compares
# the final table with the last export's expected state, requires the kind
# of delete files the format calls for (and checks them against the data
# files independently of PyIceberg's scan), and looks up keys deleted since
# the full export.
#
# Then Spark reads every table loaded (interop/spark_check.py): one Spark
# application (local[2], pyspark from interop/requirements-spark.txt, Iceberg's
# Spark runtime and the SQLite JDBC driver from Maven Central through
# `mvn dependency:get`, the JDBC catalog on the same catalog.db) checks each
# table's rows against the same expected state, and count(*), key lookups,
# the snapshots' floe.export-id and the kind of delete files as Spark sees them.
# Each Spark check is a PASS/FAIL of its own ("spark:NAME").
#
#   interop/run.sh                 all variants
#   interop/run.sh v2 ion          only the named variants
#
# Environment: INTEROP_VENV (default .venv-interop, relative to the repo
# root) is the Python venv, created if missing; INTEROP_ITEMS (default 3000)
# items per generated export; INTEROP_CHANGES (default 300) changed items per
# incremental export; INTEROP_KEEP=1 keeps the temp dir; INTEROP_SPARK=0
# skips the Spark checks (it says so); INTEROP_M2 (default ~/.m2/repository)
# is the Maven repository the jars are fetched into.
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

# --- Spark side: pyspark into the venv, the two jars from Maven Central ------
spark="${INTEROP_SPARK:-1}"
iceberg_spark=org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.0
sqlite_jdbc=org.xerial:sqlite-jdbc:3.46.1.3
m2="${INTEROP_M2:-$HOME/.m2/repository}"
# jar G:A:V: the jar's path in $m2, fetched first if it is not there.
jar() {
	local g a v path
	IFS=: read -r g a v <<<"$1"
	path="$m2/${g//.//}/$a/$v/$a-$v.jar"
	if [[ ! -f "$path" ]]; then
		command -v mvn >/dev/null || { echo "interop: mvn not found: needed to fetch $1 for the Spark checks (or INTEROP_SPARK=0)" >&2; return 1; }
		timeout 900 mvn -q -B -Dmaven.repo.local="$m2" dependency:get -Dtransitive=false -Dartifact="$1" >&2 \
			|| { echo "interop: mvn dependency:get -Dartifact=$1 failed" >&2; return 1; }
		[[ -f "$path" ]] || { echo "interop: mvn dependency:get -Dartifact=$1 left no $path" >&2; return 1; }
	fi
	echo "$path"
}
if [[ "$spark" != 0 ]]; then
	command -v java >/dev/null || die "java not found: the Spark checks need Java 17 (or INTEROP_SPARK=0)"
	timeout 1200 "$py" -m pip install --quiet --disable-pip-version-check -r interop/requirements-spark.txt \
		|| die "pip install -r interop/requirements-spark.txt failed"
	jars="$(jar "$iceberg_spark")" || die "cannot fetch $iceberg_spark"
	jars+=",$(jar "$sqlite_jdbc")" || die "cannot fetch $sqlite_jdbc"
fi

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
	# The other merge modes. PyIceberg cannot read equality deletes, so only
	# Spark checks that variant.
	"inc-copy-on-write-v3|inc|--format-version 3 --merge-mode copy-on-write|none"
	"inc-equality-deletes-v2|inc|--merge-mode equality-deletes|equality"
)

# Tables for spark_check.py, one line each (see its docstring).
spark_tables="$tmp/spark-tables.tsv"
: >"$spark_tables"

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
	ids="$(printf '%s\n' "${expected[@]}" | xargs -n1 basename | sed 's/\.jsonl\.gz$//' | paste -sd, -)"
	gone_from=-
	((${#expected[@]} > 1)) && gone_from="${expected[0]}"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$wh" interop.orders "$final" "$ids" "$deletes" "$gone_from" >>"$spark_tables"
	if [[ "$deletes" == equality ]]; then
		echo "SKIP $name: PyIceberg cannot read equality deletes; spark:$name checks the table"
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

# --- Spark: one session for every table loaded above ---------------------------
if [[ "$spark" == 0 ]]; then
	echo "interop: Spark checks skipped (INTEROP_SPARK=0)"
elif [[ -s "$spark_tables" ]]; then
	t0=$SECONDS
	want=$(wc -l <"$spark_tables")
	got=0
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"PASS spark:"*) passed=$((passed + 1)) got=$((got + 1)) ;;
		"FAIL spark:"*) failed=$((failed + 1)) got=$((got + 1)) ;;
		esac
	done < <(timeout 1800 "$py" interop/spark_check.py --tables "$spark_tables" --jars "$jars" --key pk,sk \
		2>"$tmp/spark.log")
	if ((got < want)); then
		# Spark did not start, or died or timed out part way: every table
		# it did not report on fails.
		echo "FAIL spark: reported on $got of $want tables ($((SECONDS - t0))s); its log ends:"
		grep -v ' WARN \|^Setting default log level\|^To adjust logging level' "$tmp/spark.log" | tail -n 30 | indent
		failed=$((failed + want - got))
	fi
	echo "interop: Spark part took $((SECONDS - t0))s"
fi

echo "interop: done in $((SECONDS - start))s"
((unsupported)) && echo "interop: $unsupported variant(s) not checked: the installed PyIceberg cannot read deletion vectors (see UNSUPPORTED above)"
echo "$passed passed, $failed failed"
((failed == 0))
