#!/usr/bin/env python3
"""Check that Spark (Iceberg's Spark runtime) reads floe tables back exactly
as DynamoDB items.

One Spark application (local[2]) for every table given: starting it is the
slow part. Each table is read in its own SparkSession of that application
(spark.newSession(): shared SparkContext, separate SQL configuration), whose
catalog ``floe`` is an Iceberg SparkCatalog of type jdbc on the table's
<warehouse>/catalog.db. The catalog must be named ``floe``: Iceberg's JDBC
catalog keys its rows by catalog name, and floe writes them as ``floe``.

For each table, as Spark sees it:
- every row, turned back into DynamoDB items (floe.schema from the table's
  properties, _rescued merged back in) and compared row by row and attribute
  by attribute with the generator's expected state (ddbvalues.py holds the
  rules, shared with check_table.py);
- every column has the Spark type its floe.schema representation implies,
  and no column is unaccounted for;
- SELECT count(*) equals the expected item count;
- the current snapshot lineage (the history metadata table) carries one
  snapshot per export, each summary's floe.export-id the export's id, in
  order, the current one the last export's;
- the delete files of the current snapshot (the delete_files metadata table)
  are of the kind the table calls for: none (a full load, or copy-on-write),
  Parquet position deletes (v2) or deletion vectors in Puffin files (v3),
  and no equality deletes unless the merge mode is equality-deletes;
- key lookups: one filtered query (WHERE (pk = … AND sk = …) OR …) over a
  sample of live keys and of keys deleted since the first export
  (--gone-from) returns each live key once, as its expected item, and none
  of the gone ones.

Input: --tables FILE, tab-separated lines
    NAME WAREHOUSE TABLE EXPECTED EXPORT-IDS DELETES GONE-FROM
with EXPORT-IDS comma-separated in export order, DELETES none, position,
dv or equality, GONE-FROM an earlier expected state or "-".

Prints one line per table, "PASS spark:NAME (…s): …" or "FAIL spark:NAME
(…s): …" followed by indented details, then "spark: …" with the timings.
Exit status: 0 when every table matched, 1 otherwise, 2 when Spark could
not start.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from decimal import Decimal

from ddbvalues import (
    EXPORT_ID,
    RESCUED,
    SCHEMA_PROP,
    WRITE_TS,
    FType,
    diff_items,
    items_from_columns,
    parse_schema,
    read_expected,
    show_key,
    sortkey,
)

CATALOG = "floe"


def start_spark(jars: list[str]):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local[2] talks to itself on loopback only
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("floe-interop")
             .config("spark.jars", ",".join(jars))
             .config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.sql.caseSensitive", "true")  # floe tables may have "status" and "Status"
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", "2g")
             # A short-lived JVM: C2 compilation costs more than it gains here
             # (measured: about a third off the Spark part on 2 busy cores).
             .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def table_session(spark, warehouse: str):
    s = spark.newSession()
    for k, v in (("", "org.apache.iceberg.spark.SparkCatalog"), (".type", "jdbc"),
                 (".uri", f"jdbc:sqlite:{warehouse}/catalog.db"), (".warehouse", f"file://{warehouse}")):
        s.conf.set(f"spark.sql.catalog.{CATALOG}{k}", v)
    return s


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# --------------------------------------------------------------------------
# Spark's Python values → the shapes ddbvalues.from_column takes (pyarrow's
# to_pylist): a struct is a dict by column name, a map a list of pairs.


def plain(v):
    from pyspark.sql import Row

    if isinstance(v, Row):
        return {name: plain(x) for name, x in zip(v.__fields__, v)}
    if isinstance(v, dict):
        return [(k, plain(x)) for k, x in v.items()]
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, bytearray):
        return bytes(v)
    return v


def spark_type_problems(dt, t: FType, path: str) -> list[str]:
    """The Spark type of a column must be the one floe's mapping implies."""
    from pyspark.sql import types as T

    def want(ok: bool, what: str) -> list[str]:
        return [] if ok else [f"column {path}: want {what} for {t.describe()}, Spark read {dt.simpleString()}"]

    def num_ok(x, tt: FType):
        if tt.num == "long":
            return isinstance(x, T.LongType), "bigint"
        if tt.num == "decimal":
            return isinstance(x, T.DecimalType) and x.precision == 38 and x.scale == tt.scale, f"decimal(38,{tt.scale})"
        return isinstance(x, T.StringType), "string"

    k = t.kind
    if k in ("S", "NULL"):
        return want(isinstance(dt, T.StringType), "string")
    if k == "B":
        return want(isinstance(dt, T.BinaryType), "binary")
    if k == "BOOL":
        return want(isinstance(dt, T.BooleanType), "boolean")
    if k == "N":
        return want(*num_ok(dt, t))
    if k in ("SS", "NS", "BS"):
        if not isinstance(dt, T.ArrayType):
            return want(False, "an array")
        et = dt.elementType
        if k == "SS":
            return want(isinstance(et, T.StringType), "array<string>")
        if k == "BS":
            return want(isinstance(et, T.BinaryType), "array<binary>")
        ok, what = num_ok(et, t)
        return want(ok, f"array<{what}>")
    if k == "L":
        if t.elem is None:
            return want(isinstance(dt, T.StringType), "string (JSON)")
        if not isinstance(dt, T.ArrayType):
            return want(False, "an array")
        return spark_type_problems(dt.elementType, t.elem, path + "[]")
    if k == "M":
        if t.map == "json":
            return want(isinstance(dt, T.StringType), "string (JSON)")
        if t.map == "map":
            if not isinstance(dt, T.MapType):
                return want(False, "a map")
            return (want(isinstance(dt.keyType, T.StringType), "string map keys")
                    + spark_type_problems(dt.valueType, t.values, path + "{}"))
        if not isinstance(dt, T.StructType):
            return want(False, "a struct")
        names, cols = [f.name for f in dt.fields], [f.column for f in t.fields]
        if names != cols:
            return [f"column {path}: struct fields {names} are not floe.schema's {cols}"]
        out = []
        for sf, f in zip(dt.fields, t.fields):
            out += spark_type_problems(sf.dataType, f.type, f"{path}.{f.column}")
        return out
    return [f"column {path}: unknown floe type {k}"]


def key_filter(fs, key: list[str], k: tuple):
    """A Spark Column predicate for one key, or None when the exact column
    value is not known (a number key stored as its text)."""
    from pyspark.sql import functions as F

    by_name = {f.name: f for f in fs.fields}
    pred = None
    for name, (kind, v) in zip(key, k):
        f = by_name[name]
        if kind == "N":
            if f.type.num == "string":
                return None
            v = int(v) if f.type.num == "long" else Decimal(v)
        elif kind == "B":
            v = bytearray(v)
        p = F.col(quote(f.column)) == F.lit(v)
        pred = p if pred is None else pred & p
    return pred


def pick(keys: list[tuple], n: int) -> list[tuple]:
    ks = sorted(keys, key=sortkey)
    return [ks[i * (len(ks) - 1) // max(n - 1, 1)] for i in range(min(n, len(ks)))]


# --------------------------------------------------------------------------


def check_table(spark, name: str, warehouse: str, table: str, expected_path: str, export_ids: list[str],
                deletes: str, gone_from: str, key: list[str], max_diffs: int) -> tuple[bool, str]:
    s = table_session(spark, warehouse.rstrip("/"))
    ident = f"{CATALOG}.{table}"
    try:
        df = s.table(ident)
        props = {r[0]: r[1] for r in s.sql(f"SHOW TBLPROPERTIES {ident}").collect()}
        rows = df.collect()
    except Exception as e:  # noqa: BLE001 - report whatever Spark raised
        return False, f"Spark could not read {ident}: {type(e).__name__}: {first_lines(str(e), 6)}"
    problems: list[str] = []
    raw = props.get(SCHEMA_PROP)
    if raw is None:
        return False, f"Spark sees no {SCHEMA_PROP} property on {ident}"
    fs = parse_schema(raw)
    by_name = {f.name: f for f in fs.fields}
    if [k for k in key if k not in by_name]:
        return False, f"key attribute(s) {[k for k in key if k not in by_name]} not in floe.schema"

    # Columns and their Spark types.
    cols = df.columns
    types = {f.name: f.dataType for f in df.schema.fields}
    want_cols = [f.column for f in fs.fields]
    unaccounted = [c for c in cols if c not in want_cols and c not in (RESCUED, WRITE_TS)]
    if unaccounted:
        problems.append(f"columns not in floe.schema: {unaccounted}")
    for f in fs.fields:
        if f.column not in types:
            problems.append(f"column {f.column!r} (attribute {f.name!r}) is missing from Spark's read")
        else:
            problems += spark_type_problems(types[f.column], f.type, repr(f.column))
    for c in (RESCUED, WRITE_TS):
        if c not in cols:
            problems.append(f"column {c!r} is missing from Spark's read")

    # Rows → items, compared with the expected state.
    expected, exp_problems = read_expected(expected_path, key)
    problems += exp_problems
    index = {c: i for i, c in enumerate(cols)}
    columns = {f.column: [plain(r[index[f.column]]) for r in rows] for f in fs.fields if f.column in index}
    rescued = [r[index[RESCUED]] for r in rows] if RESCUED in index else [None] * len(rows)
    got, row_errors, dup_keys = items_from_columns(fs, key, columns, rescued, len(rows))
    if len(rows) != len(expected):
        problems.append(f"Spark read {len(rows)} rows, want {len(expected)}")
    for k, n in sorted(dup_keys.items(), key=lambda kv: repr(kv[0]))[:max_diffs]:
        problems.append(f"key {show_key(k, key)} appears in {n} rows")
    diffs, ndiff = diff_items(expected, got, row_errors, key, max_diffs)

    # SELECT count(*).
    count = s.sql(f"SELECT count(*) FROM {ident}").collect()[0][0]
    if count != len(expected):
        problems.append(f"SELECT count(*) returned {count}, want {len(expected)}")

    # Snapshots along the current lineage and their floe.export-id.
    snaps = {r[0]: (r[1], r[2]) for r in s.sql(
        f"SELECT snapshot_id, parent_id, summary['{EXPORT_ID}'] FROM {ident}.snapshots").collect()}
    ancestors = {r[0] for r in s.sql(f"SELECT snapshot_id FROM {ident}.history WHERE is_current_ancestor").collect()}
    heads = [a for a in ancestors if not any(snaps.get(b, (None,))[0] == a for b in ancestors)]
    current = heads[0] if len(heads) == 1 else None
    if current is None:
        problems.append(f"cannot tell the current snapshot from the history: lineage heads {heads}")
    lineage, at = [], current
    while at is not None and at in snaps and len(lineage) <= len(snaps):
        lineage.append(at)
        at = snaps[at][0]
    lineage.reverse()
    seen = [snaps[i][1] for i in lineage]
    if seen != export_ids:
        problems.append(f"snapshots of the current lineage carry {EXPORT_ID} {seen}, want {export_ids} "
                        f"(one snapshot per export, in order)")

    # Delete files of the current snapshot, as Spark's metadata table lists them.
    dels = s.sql(f"SELECT content, file_format, count(*), sum(record_count) FROM {ident}.delete_files "
                 f"GROUP BY content, file_format").collect()
    kinds = {(r[0], r[1]): (r[2], r[3]) for r in dels}
    if deletes == "equality":
        # Equality deletes, and position deletes for versions of a key
        # superseded within one export (which equality deletes cannot reach).
        if (2, "PARQUET") not in kinds or not set(kinds) <= {(2, "PARQUET"), (1, "PARQUET")}:
            problems.append(f"delete files (content, format) → (files, rows) {kinds}; want equality deletes "
                            f"(2, PARQUET), and position deletes (1, PARQUET) at most beside them")
    else:
        want_kind = {"none": None, "position": (1, "PARQUET"), "dv": (1, "PUFFIN")}[deletes]
        if want_kind is None and kinds:
            problems.append(f"delete files {kinds}; want none")
        if want_kind is not None and set(kinds) != {want_kind}:
            problems.append(f"delete files (content, format) → (files, rows) {kinds}; want {want_kind} only")
    ndel_files, ndel_rows = (sum(v[0] for v in kinds.values()), sum(v[1] for v in kinds.values()))

    # Key lookups: one filtered query (WHERE (pk = … AND sk = …) OR …) over
    # sampled live keys and keys deleted since the first export; each live
    # key must come back once, as its expected item, and no gone key at all.
    live = pick(list(expected), 16)
    gone: list[tuple] = []
    if gone_from:
        earlier, _ = read_expected(gone_from, key)
        gone = pick([k for k in earlier if k not in expected], 16)
        if not gone:
            problems.append(f"--gone-from {gone_from}: no key of it is gone from the final state")
    preds = [(k, key_filter(fs, key, k)) for k in live + gone]
    preds = [(k, p) for k, p in preds if p is not None]
    nlive, ngone = sum(k in expected for k, _ in preds), sum(k not in expected for k, _ in preds)
    if preds:
        where = preds[0][1]
        for _, p in preds[1:]:
            where = where | p
        hits = df.filter(where).collect()
        hgot, herr, hdup = items_from_columns(
            fs, key, {f.column: [plain(r[index[f.column]]) for r in hits] for f in fs.fields if f.column in index},
            [r[index[RESCUED]] for r in hits] if RESCUED in index else [None] * len(hits), len(hits))
        want = {k: expected[k] for k, _ in preds if k in expected}
        hd, hn = diff_items(want, hgot, herr, key, 3)
        if hn or hdup or len(hits) != len(want):
            problems.append(f"filtered query over {nlive} live and {ngone} gone keys returned {len(hits)} rows, "
                            f"want {len(want)}; {len(hdup)} keys more than once; {hn} differences:\n" + "\n".join(hd))

    if problems or ndiff:
        out = [f"{len(rows)} rows read by Spark vs {len(expected)} expected; {len(problems)} table problems, "
               f"{ndiff} row differences"]
        out += [f"- {p}" for p in problems]
        if ndiff:
            out.append(f"first {len(diffs)} of {ndiff} row differences:")
            out += diffs
        return False, "\n".join(out)
    dnote = "no delete files" if not ndel_files else (
        f"{ndel_files} {({'dv': 'deletion vectors', 'equality': 'equality and position delete files'}).get(deletes, 'position delete files')} deleting {ndel_rows} rows")
    return True, (f"{len(rows)} rows, {sum(len(i) for i in got.values())} attributes match "
                  f"{os.path.basename(expected_path)} ({len(cols)} columns); count(*) {count}; "
                  f"current snapshot {current}, {len(lineage)} snapshot(s) with {EXPORT_ID} {','.join(seen)}; "
                  f"{dnote}; lookup of {nlive} keys" + (f" and {ngone} gone keys" if gone_from else ""))


def first_lines(text: str, n: int) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:n]) + (f"\n... ({len(lines)} lines)" if len(lines) > n else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", required=True, help="tab-separated table list (see above)")
    ap.add_argument("--jars", required=True, help="comma-separated jars: iceberg-spark-runtime, sqlite-jdbc")
    ap.add_argument("--key", required=True, help="key attributes, e.g. pk,sk")
    ap.add_argument("--max-diffs", type=int, default=5, help="differences to print (default 5)")
    args = ap.parse_args()
    key = [k for k in args.key.split(",") if k]
    with open(args.tables, encoding="utf-8") as f:
        tables = [line.rstrip("\n").split("\t") for line in f if line.strip()]

    t0 = time.monotonic()
    try:
        import pyspark

        spark = start_spark(args.jars.split(","))
    except Exception as e:  # noqa: BLE001
        print(f"spark: could not start Spark: {type(e).__name__}: {first_lines(str(e), 10)}", file=sys.stderr)
        traceback.print_exc(limit=6, file=sys.stderr)
        return 2
    started = time.monotonic() - t0
    jvm = spark.sparkContext._jvm
    print(f"spark: pyspark {pyspark.__version__} (Spark {spark.version}), "
          f"{', '.join(os.path.basename(j).removesuffix('.jar') for j in args.jars.split(','))}, "
          f"Java {jvm.java.lang.System.getProperty('java.version')}; session started in {started:.1f}s", flush=True)

    failed = 0
    for name, warehouse, table, expected, ids, deletes, gone_from in tables:
        t1 = time.monotonic()
        try:
            ok, text = check_table(spark, name, warehouse, table, expected, [i for i in ids.split(",") if i],
                                   deletes, "" if gone_from == "-" else gone_from, key, args.max_diffs)
        except Exception as e:  # noqa: BLE001 - whatever Spark or the check raised
            ok, text = False, f"{type(e).__name__}: {first_lines(str(e), 8)}"
            if not type(e).__module__.startswith("pyspark"):  # a bug here, not Spark's word
                text += "\n" + traceback.format_exc(limit=4)
        secs = time.monotonic() - t1
        if ok:
            print(f"PASS spark:{name} ({secs:.1f}s): {text}", flush=True)
        else:
            failed += 1
            first, _, rest = text.partition("\n")
            print(f"FAIL spark:{name} ({secs:.1f}s): {first}", flush=True)
            if rest:
                print("\n".join("    " + line for line in rest.splitlines()[:60]), flush=True)
    print(f"spark: {len(tables)} tables checked in {time.monotonic() - t0:.1f}s "
          f"(session start {started:.1f}s)", flush=True)
    spark.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
