#!/usr/bin/env python3
"""Check that PyIceberg reads a floe table back exactly as DynamoDB items.

Opens the warehouse's SQLite catalog with PyIceberg's own SqlCatalog, scans
the table to Arrow, turns every row back into DynamoDB-typed values (using
the table property ``floe.schema`` to know each column's DynamoDB type and
merging ``_rescued`` attributes back in) and compares the result, row by row
and attribute by attribute, with a generator's expected-state file.

Normalisation is the one of floe's Go test harness (internal/testutil):
numbers compare by value, NULL-valued attributes and NULL-valued map entries
are dropped on both sides (a column cannot tell NULL from absent), null
struct fields are absent, lists and sets keep their order, map entry order
is ignored.

Also checked: row count, duplicate keys, the current snapshot's summary
carries ``floe.export-id`` (and the given one, with --export-id), the
identifier fields are the key columns, every column has the Arrow type its
floe.schema representation implies, and no column is unaccounted for. And,
since engines prune files by it: every data file's partition values
(recomputed with PyIceberg's transforms), record count, value/null counts and
lower/upper bounds of top-level primitive columns agree with the file's rows,
and point lookups through PyIceberg's filtered scan find their rows.

Tables that took incremental exports hold merge-on-read deletes; --deletes
says which kind the current snapshot must have (none for a full load,
position for Parquet position delete files in format v2, dv for deletion
vectors in Puffin files in format v3). The delete files are read
independently of PyIceberg's scan, from the manifest entries (read with the
v3 manifest schema, so referenced_data_file, content_offset and
content_size_in_bytes are seen as engines that rely on them see them): every
deleted position must point at a live data file and row, the blobs must be
where the manifest says, framed and counted as the spec says, and the rows
PyIceberg returns must be exactly the data files' rows minus the deleted
ones. With --gone-from (an earlier expected state), keys that state held and
the final one does not must not come back from a filtered scan.

Exit status: 0 when the table matches, 1 on any mismatch (a readable diff of
the first differences is printed), 2 when the table cannot be opened or read
at all (PyIceberg's error is printed), 3 when --deletes dv and the installed
PyIceberg has no deletion-vector support (what its scan did is printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from typing import Any

from ddbvalues import (
    EXPORT_ID,
    RESCUED,
    SCHEMA_PROP,
    WRITE_TS,
    FSchema,
    FType,
    diff_items,
    items_from_columns,
    parse_schema,
    read_expected,
    sortkey,
    show_key,
)


# --------------------------------------------------------------------------
# Arrow type checks: the column types PyIceberg reads must be the Iceberg
# types floe's mapping implies for each representation.


def arrow_type_problems(at, t: FType, path: str) -> list[str]:
    import pyarrow.types as pt

    def want(ok: bool, what: str) -> list[str]:
        return [] if ok else [f"column {path}: want {what} for {t.describe()}, PyIceberg read {at}"]

    def is_str(x):
        return pt.is_string(x) or pt.is_large_string(x) or pt.is_string_view(x)

    def is_bin(x):
        return pt.is_binary(x) or pt.is_large_binary(x) or pt.is_binary_view(x)

    def is_list(x):
        return pt.is_list(x) or pt.is_large_list(x) or pt.is_list_view(x) or pt.is_large_list_view(x)

    def num_ok(x, tt: FType):
        if tt.num == "long":
            return pt.is_int64(x), "int64"
        if tt.num == "decimal":
            return pt.is_decimal(x) and x.precision == 38 and x.scale == tt.scale, f"decimal128(38,{tt.scale})"
        return is_str(x), "string"

    k = t.kind
    if k in ("S", "NULL"):
        return want(is_str(at), "string")
    if k == "B":
        return want(is_bin(at), "binary")
    if k == "BOOL":
        return want(pt.is_boolean(at), "bool")
    if k == "N":
        ok, what = num_ok(at, t)
        return want(ok, what)
    if k in ("SS", "NS", "BS"):
        if not is_list(at):
            return want(False, "a list")
        et = at.value_type
        if k == "SS":
            return want(is_str(et), "list<string>")
        if k == "BS":
            return want(is_bin(et), "list<binary>")
        ok, what = num_ok(et, t)
        return want(ok, f"list<{what}>")
    if k == "L":
        if t.elem is None:
            return want(is_str(at), "string (JSON)")
        if not is_list(at):
            return want(False, "a list")
        return arrow_type_problems(at.value_type, t.elem, path + "[]")
    if k == "M":
        if t.map == "json":
            return want(is_str(at), "string (JSON)")
        if t.map == "map":
            if not pt.is_map(at):
                return want(False, "a map")
            return want(is_str(at.key_type), "string map keys") + arrow_type_problems(at.item_type, t.values, path + "{}")
        if not pt.is_struct(at):
            return want(False, "a struct")
        names = [at.field(i).name for i in range(at.num_fields)]
        cols = [f.column for f in t.fields]
        if names != cols:
            return [f"column {path}: struct fields {names} are not floe.schema's {cols}"]
        out = []
        for i, f in enumerate(t.fields):
            out += arrow_type_problems(at.field(i).type, f.type, f"{path}.{f.column}")
        return out
    return [f"column {path}: unknown floe type {k}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", required=True, help="warehouse directory (holds catalog.db)")
    ap.add_argument("--table", required=True, help="NS.NAME")
    ap.add_argument("--expected", required=True, help="expected state: gzip'd DynamoDB JSON lines")
    ap.add_argument("--key", required=True, help="key attributes, e.g. pk,sk")
    ap.add_argument("--export-id", help="also require the current snapshot's floe.export-id to be this")
    ap.add_argument("--max-diffs", type=int, default=5, help="differences to print (default 5)")
    ap.add_argument("--deletes", choices=("none", "position", "dv"), default="none",
                    help="delete files the current snapshot must have: none (a full load), position "
                         "(Parquet position deletes, v2) or dv (deletion vectors, v3)")
    ap.add_argument("--gone-from", help="an earlier expected state: its keys that --expected lacks must "
                                        "not be found by a filtered scan")
    args = ap.parse_args()
    key = [k for k in args.key.split(",") if k]
    warehouse = args.warehouse.rstrip("/")
    t0 = time.monotonic()

    from pyiceberg.catalog import load_catalog

    # Reading: any failure here is PyIceberg not being able to read the table.
    try:
        catalog = load_catalog("floe", type="sql", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")
        tbl = catalog.load_table(args.table)
    except Exception as e:  # noqa: BLE001 - report whatever PyIceberg raised
        print(f"FAIL: PyIceberg could not load {args.table}: {type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc(limit=6, file=sys.stderr)
        return 2
    if args.deletes == "dv":
        why = pyiceberg_lacks_dvs()
        if why:
            print(f"UNSUPPORTED: PyIceberg {pyiceberg_version()} cannot read deletion vectors ({why}); "
                  f"{dv_scan_outcome(tbl)}")
            return 3
    try:
        arrow = tbl.scan().to_arrow()
    except Exception as e:  # noqa: BLE001 - report whatever PyIceberg raised
        print(f"FAIL: PyIceberg could not read {args.table}: {type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc(limit=6, file=sys.stderr)
        return 2

    problems: list[str] = []  # table-level findings
    raw = tbl.properties.get(SCHEMA_PROP)
    if raw is None:
        print(f"FAIL: table {args.table} has no {SCHEMA_PROP} property", file=sys.stderr)
        return 1
    fs = parse_schema(raw)
    if fs.key != key:
        problems.append(f"floe.schema key is {fs.key}, want {key}")
    by_name = {f.name: f for f in fs.fields}
    missing_keys = [k for k in key if k not in by_name]
    if missing_keys:
        print(f"FAIL: key attribute(s) {missing_keys} not in floe.schema", file=sys.stderr)
        return 1

    # Snapshot marker.
    snap = tbl.current_snapshot()
    if snap is None:
        problems.append("table has no current snapshot")
    else:
        summary = snap.summary.additional_properties if snap.summary is not None else {}
        eid = summary.get(EXPORT_ID)
        if not eid:
            problems.append(f"current snapshot {snap.snapshot_id} summary has no {EXPORT_ID}: {summary}")
        elif args.export_id and eid != args.export_id:
            problems.append(f"current snapshot {snap.snapshot_id} has {EXPORT_ID}={eid}, want {args.export_id}")

    # Identifier fields = key columns, in key order.
    ischema = tbl.schema()
    ident = [ischema.find_column_name(i) for i in ischema.identifier_field_ids]
    want_ident = [by_name[k].column for k in key]
    if ident != want_ident:
        problems.append(f"identifier fields are {ident}, want the key columns {want_ident}")

    # Columns and their types.
    cols = arrow.column_names
    want_cols = [f.column for f in fs.fields]
    unaccounted = [c for c in cols if c not in want_cols and c not in (RESCUED, WRITE_TS)]
    if unaccounted:
        problems.append(f"columns not in floe.schema: {unaccounted}")
    for f in fs.fields:
        if f.column not in cols:
            problems.append(f"column {f.column!r} (attribute {f.name!r}) is missing from the scan")
        else:
            problems += arrow_type_problems(arrow.schema.field(f.column).type, f.type, repr(f.column))
    for c in (RESCUED, WRITE_TS):
        if c not in cols:
            problems.append(f"column {c!r} is missing from the scan")

    expected, exp_problems = read_expected(args.expected, key)
    problems += exp_problems

    # Rows → items.
    present = [f for f in fs.fields if f.column in cols]
    columns = {f.column: arrow.column(f.column).to_pylist() for f in present}
    rescued = arrow.column(RESCUED).to_pylist() if RESCUED in cols else [None] * arrow.num_rows
    got, row_errors, dup_keys = items_from_columns(fs, key, columns, rescued, arrow.num_rows)

    if arrow.num_rows != len(expected):
        problems.append(f"table has {arrow.num_rows} rows, want {len(expected)}")
    for k, n in sorted(dup_keys.items(), key=lambda kv: repr(kv[0]))[:args.max_diffs]:
        problems.append(f"key {show_key(k, key)} appears in {n} rows")
    if len(dup_keys) > args.max_diffs:
        problems.append(f"... {len(dup_keys)} duplicated keys in all")

    # Row by row, attribute by attribute.
    diffs, ndiff = diff_items(expected, got, row_errors, key, args.max_diffs)

    files_note, deletes_note, nlookups, ngone = "?", "?", 0, 0
    try:
        file_problems, files_note = check_files(tbl, args.max_diffs * 4, args.deletes != "none")
        problems += file_problems
    except Exception as e:  # noqa: BLE001
        problems.append(f"checking data-file metadata failed: {type(e).__name__}: {e}")
    try:
        delete_problems, deletes_note = check_deletes(tbl, args.deletes, arrow.num_rows, args.max_diffs * 4)
        problems += delete_problems
    except Exception as e:  # noqa: BLE001
        problems.append(f"checking delete files failed: {type(e).__name__}: {e}")
    gone: list[tuple] = []
    if args.gone_from:
        earlier, _ = read_expected(args.gone_from, key)
        gone = [k for k in earlier if k not in expected]
        if not gone:
            problems.append(f"--gone-from {args.gone_from}: no key of it is gone from {args.expected}")
    try:
        lookup_problems, nlookups, ngone = check_lookups(tbl, fs, list(expected), gone)
        problems += lookup_problems
    except Exception as e:  # noqa: BLE001
        problems.append(f"PyIceberg filtered scan failed: {type(e).__name__}: {e}")

    secs = time.monotonic() - t0
    if problems or ndiff:
        print(f"FAIL: {args.table}: {arrow.num_rows} rows read by PyIceberg vs {len(expected)} expected; "
              f"{len(problems)} table problems, {ndiff} row differences")
        for p in problems:
            print(f"- {p}")
        if ndiff:
            print(f"first {len(diffs)} of {ndiff} row differences:")
            for d in diffs:
                print(d)
        return 1
    print(f"OK: {args.table}: {arrow.num_rows} rows, {sum(len(i) for i in got.values())} attributes match "
          f"{args.expected.rsplit('/', 1)[-1]} ({len(cols)} columns, snapshot {snap.snapshot_id}, "
          f"{EXPORT_ID}={summary.get(EXPORT_ID)}; metadata of {files_note} consistent with the data; "
          f"{deletes_note}; {nlookups} filtered key lookups"
          + (f", {ngone} of gone keys" if args.gone_from else "") + f"; {secs:.1f}s)")
    return 0


def check_files(tbl, max_report: int, deletes_allowed: bool = False) -> tuple[list[str], str]:
    """Check each data file's metadata against its rows, as an engine that
    prunes files by it would rely on: partition values (recomputed with
    PyIceberg's own transforms), record counts, value and null counts and
    lower/upper bounds of top-level primitive columns. Returns problems and
    a one-line account of what was checked."""
    import datetime

    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from pyiceberg.conversions import from_bytes
    from pyiceberg.types import PrimitiveType

    ischema = tbl.schema()
    specs = tbl.specs()
    problems: list[str] = []
    nfiles = nbounds = npart = nlater = 0
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

    def py(v):
        if isinstance(v, datetime.datetime):
            if v.tzinfo is None:
                v = v.replace(tzinfo=datetime.timezone.utc)
            return (v - epoch) // datetime.timedelta(microseconds=1)
        return v

    # The schema each data file was written with (its snapshot's): a column
    # added later (a new attribute in an incremental export) is absent from
    # older files, and engines read it as null there.
    written_with: dict[str, Any] = {}
    snap = tbl.current_snapshot()
    for mf in snap.manifests(tbl.io) if snap is not None else []:
        for e in mf.fetch_manifest_entry(tbl.io, discard_deleted=True):
            s = tbl.metadata.snapshot_by_id(e.snapshot_id) if e.snapshot_id is not None else None
            if s is not None and s.schema_id is not None:
                written_with[e.data_file.file_path] = tbl.metadata.schema_by_id(s.schema_id)

    for task in tbl.scan().plan_files():
        f = task.file
        nfiles += 1
        name = f.file_path.rsplit("/", 1)[-1]
        fschema = written_with.get(f.file_path)
        if task.delete_files and not deletes_allowed:
            problems.append(f"{name}: has {len(task.delete_files)} delete files (a full load should have none)")
        path = f.file_path[len("file://"):] if f.file_path.startswith("file://") else f.file_path
        pf = pq.ParquetFile(path)
        data = pf.read()
        by_id = {}
        for i, af in enumerate(data.schema):
            fid = (af.metadata or {}).get(b"PARQUET:field_id")
            if fid is not None:
                by_id[int(fid)] = data.column(i)
        if f.record_count != data.num_rows:
            problems.append(f"{name}: manifest record_count {f.record_count}, file has {data.num_rows} rows")
        spec = specs[f.spec_id]
        for i, pfield in enumerate(spec.fields):
            src = ischema.find_field(pfield.source_id)
            col = by_id.get(pfield.source_id)
            if col is None:
                problems.append(f"{name}: no column with field id {pfield.source_id} ({src.name}) for partition field {pfield.name}")
                continue
            fn = pfield.transform.transform(src.field_type)
            got = {fn(v) for v in col.to_pylist()}
            want = f.partition[i]
            npart += 1
            if got != {want}:
                problems.append(f"{name}: partition {pfield.name}={want!r} ({pfield.transform}({src.name})) "
                                f"but PyIceberg computes {sorted(got, key=repr)[:5]} from the file's rows")
        lower, upper = f.lower_bounds or {}, f.upper_bounds or {}
        vcounts, ncounts = f.value_counts or {}, f.null_value_counts or {}
        for fld in ischema.fields:
            if not isinstance(fld.field_type, PrimitiveType):
                continue
            col = by_id.get(fld.field_id)
            if col is None:
                if fschema is not None and not has_field(fschema, fld.field_id):
                    # Added after the file was written: no metrics may claim values for it.
                    for what, m in (("value_count", vcounts), ("null_value_count", ncounts), ("lower bound", lower), ("upper bound", upper)):
                        if fld.field_id in m:
                            problems.append(f"{name}: column {fld.name!r} (added after the file was written) has a {what}")
                    nlater += 1
                    continue
                problems.append(f"{name}: no column with field id {fld.field_id} ({fld.name})"
                                + ("" if fschema is None else f", which schema {fschema.schema_id} it was written with has"))
                continue
            nulls = col.null_count
            if fld.field_id in vcounts and vcounts[fld.field_id] != data.num_rows:
                problems.append(f"{name}: column {fld.name!r} value_count {vcounts[fld.field_id]}, want {data.num_rows}")
            if fld.field_id in ncounts and ncounts[fld.field_id] != nulls:
                problems.append(f"{name}: column {fld.name!r} null_value_count {ncounts[fld.field_id]}, file has {nulls}")
            if nulls == data.num_rows:
                for which, b in (("lower", lower), ("upper", upper)):
                    if fld.field_id in b:
                        problems.append(f"{name}: column {fld.name!r} is all null but has a {which} bound")
                continue
            mm = pc.min_max(col)
            lo, hi = py(mm["min"].as_py()), py(mm["max"].as_py())
            if fld.field_id in lower:
                nbounds += 1
                lb = from_bytes(fld.field_type, lower[fld.field_id])
                if not lb <= lo:
                    problems.append(f"{name}: column {fld.name!r} lower bound {lb!r} > the file's minimum {lo!r}")
            if fld.field_id in upper:
                nbounds += 1
                ub = from_bytes(fld.field_type, upper[fld.field_id])
                if not ub >= hi:
                    problems.append(f"{name}: column {fld.name!r} upper bound {ub!r} < the file's maximum {hi!r}")
    if len(problems) > max_report:
        problems = problems[:max_report] + [f"... {len(problems)} data-file metadata problems in all"]
    return problems, (f"{nfiles} data files, {npart} partition values, {nbounds} bounds"
                      + (f", {nlater} columns added after their file" if nlater else ""))


def has_field(schema, field_id: int) -> bool:
    try:
        schema.find_field(field_id)
    except ValueError:
        return False
    return True


POS_PATH_ID, POS_POS_ID = 2147483546, 2147483545  # position delete file columns file_path, pos
DV_MAGIC = bytes.fromhex("d1d33964")


def pyiceberg_version() -> str:
    import pyiceberg

    return getattr(pyiceberg, "__version__", "?")


def pyiceberg_lacks_dvs() -> str:
    """Why the installed PyIceberg cannot apply deletion vectors when it
    scans, or "" when it can (it knows the PUFFIN file format and has the
    Puffin reader that its scan uses for deletion vectors)."""
    try:
        from pyiceberg.manifest import FileFormat

        FileFormat("PUFFIN")
    except (ImportError, ValueError) as e:
        return f"it has no PUFFIN delete file format: {type(e).__name__}: {e}"
    try:
        import pyiceberg.table.puffin  # noqa: F401 - the module PyIceberg reads deletion vectors with
    except ImportError as e:
        return f"it has no Puffin reader: {type(e).__name__}: {e}"
    return ""


def dv_scan_outcome(tbl) -> str:
    """What a PyIceberg scan without deletion-vector support does with the
    table: raise, or return rows the deletion vectors delete."""
    from pyiceberg.manifest import DataFileContent

    try:
        entries = [f for _, _, f in manifest_entries(tbl, tbl.current_snapshot())]
        data_rows = sum(f["record_count"] for f in entries if f["content"] == DataFileContent.DATA)
        dv_rows = sum(f["record_count"] for f in entries if f["content"] == DataFileContent.POSITION_DELETES)
    except Exception as e:  # noqa: BLE001
        return f"(its manifests could not be read either: {type(e).__name__}: {e})"
    try:
        n = tbl.scan().to_arrow().num_rows
    except Exception as e:  # noqa: BLE001
        return f"its scan raised {type(e).__name__}: {str(e)[:300]}"
    if n == data_rows and dv_rows:
        return (f"its scan silently ignored them: it returned {n} rows, every row of the data files, "
                f"including the {dv_rows} rows the deletion vectors delete")
    return f"its scan returned {n} rows; the data files hold {data_rows}, the deletion vectors delete {dv_rows}"


def manifest_entries(tbl, snap) -> list[tuple[Any, int, dict]]:
    """The live entries of a snapshot's manifests as (status, sequence
    number, data_file fields by name). Read with the v3 manifest schema:
    PyIceberg's own ManifestFile.fetch_manifest_entry reads v2 fields only
    and drops referenced_data_file, content_offset and content_size_in_bytes."""
    from pyiceberg.avro.file import AvroFile
    from pyiceberg.manifest import (
        DATA_FILE_TYPE,
        MANIFEST_ENTRY_SCHEMAS,
        DataFile,
        DataFileContent,
        FileFormat,
        ManifestEntry,
        ManifestEntryStatus,
    )

    names = [f.name for f in DATA_FILE_TYPE[3].fields]
    out = []
    for mf in snap.manifests(tbl.io):
        with AvroFile[ManifestEntry](
            tbl.io.new_input(mf.manifest_path),
            MANIFEST_ENTRY_SCHEMAS[3],
            read_types={-1: ManifestEntry, 2: DataFile},
            read_enums={0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
        ) as reader:
            for e in reader:
                if e.status == ManifestEntryStatus.DELETED:
                    continue
                seq = e.sequence_number if e.sequence_number is not None else mf.sequence_number
                out.append((e.status, seq, dict(zip(names, e.data_file._data))))
    return out


def local_path(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri


def roaring32(buf: bytes, at: int, high: int) -> tuple[list[int], int]:
    """Decode one 32-bit Roaring bitmap in the portable format at buf[at:],
    positions offset by high << 32. Returns the positions and the end offset."""
    def u16(i):
        return int.from_bytes(buf[i:i + 2], "little")

    def u32(i):
        return int.from_bytes(buf[i:i + 4], "little")

    cookie = u32(at)
    p = at + 4
    if cookie & 0xFFFF == 12347:  # SERIAL_COOKIE: has run containers
        size = (cookie >> 16) + 1
        runs = buf[p:p + (size + 7) // 8]
        p += (size + 7) // 8
        is_run = [bool(runs[i // 8] >> (i % 8) & 1) for i in range(size)]
        has_offsets = size >= 4
    elif cookie == 12346:  # SERIAL_COOKIE_NO_RUNCONTAINER
        size = u32(p)
        p += 4
        is_run = [False] * size
        has_offsets = True
    else:
        raise ValueError(f"not a portable Roaring bitmap (cookie {cookie:#x}) at {at}")
    header = [(u16(p + 4 * i), u16(p + 4 * i + 2) + 1) for i in range(size)]
    p += 4 * size
    if has_offsets:
        p += 4 * size
    out: list[int] = []
    for (key, card), run in zip(header, is_run):
        base = (high << 32) | (key << 16)
        if run:
            nruns = u16(p)
            p += 2
            for r in range(nruns):
                start, length = u16(p + 4 * r), u16(p + 4 * r + 2)
                out.extend(base + v for v in range(start, start + length + 1))
            p += 4 * nruns
        elif card > 4096:
            bits = int.from_bytes(buf[p:p + 8192], "little")
            out.extend(base + v for v in range(65536) if bits >> v & 1)
            p += 8192
        else:
            out.extend(base + u16(p + 2 * i) for i in range(card))
            p += 2 * card
    return out, p


def read_dv_blob(blob: bytes) -> list[int]:
    """Positions of a deletion-vector-v1 blob: length (4 bytes, big endian)
    of magic + vector, magic D1 D3 39 64, 64-bit Roaring bitmap in the
    portable format, CRC-32 (big endian) of magic + vector."""
    import zlib

    if len(blob) < 12:
        raise ValueError(f"blob of {len(blob)} bytes is too short")
    n = int.from_bytes(blob[:4], "big")
    if n != len(blob) - 8:
        raise ValueError(f"length prefix {n}, want {len(blob) - 8} (blob size - 8)")
    if blob[4:8] != DV_MAGIC:
        raise ValueError(f"magic {blob[4:8].hex()}, want {DV_MAGIC.hex()}")
    crc = int.from_bytes(blob[-4:], "big")
    if zlib.crc32(blob[4:-4]) != crc:
        raise ValueError(f"CRC {crc:#010x}, want {zlib.crc32(blob[4:-4]):#010x}")
    vec = blob[8:-4]
    count = int.from_bytes(vec[:8], "little")
    p, positions, last = 8, [], -1
    for _ in range(count):
        high = int.from_bytes(vec[p:p + 4], "little")
        if high <= last:
            raise ValueError("bitmap keys not ascending")
        last = high
        got, p = roaring32(vec, p + 4, high)
        positions += got
    if p != len(vec):
        raise ValueError(f"{len(vec) - p} bytes left after the bitmaps")
    return positions


def puffin_footer(data: bytes) -> dict:
    magic = b"PFA1"
    if data[:4] != magic or data[-4:] != magic:
        raise ValueError("not a Puffin file (magic)")
    flags = int.from_bytes(data[-8:-4], "little")
    if flags & 1:
        raise ValueError("compressed footer")
    size = int.from_bytes(data[-12:-8], "little")
    start = len(data) - 12 - size
    if data[start - 4:start] != magic:
        raise ValueError("no magic before the footer payload")
    return json.loads(data[start:len(data) - 12])


def check_deletes(tbl, mode: str, rows_read: int, max_report: int) -> tuple[list[str], str]:
    """Check the current snapshot's delete files against --deletes and
    against what PyIceberg returned. See the module docstring."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from pyiceberg.manifest import DataFileContent, FileFormat

    snap = tbl.current_snapshot()
    if snap is None:
        return ["no current snapshot"], "no delete files"
    problems: list[str] = []
    data: dict[str, int] = {}  # data file path → record count
    pos_files: list[dict] = []
    dvs: list[dict] = []
    for _, _, f in manifest_entries(tbl, snap):
        content = f["content"]
        if content == DataFileContent.DATA:
            data[f["file_path"]] = f["record_count"]
        elif content == DataFileContent.EQUALITY_DELETES:
            problems.append(f"{f['file_path'].rsplit('/', 1)[-1]}: an equality delete file (floe writes none; PyIceberg cannot read them)")
        elif f["file_format"] == FileFormat.PUFFIN:
            dvs.append(f)
        else:
            pos_files.append(f)

    def name(path: str) -> str:
        return path.rsplit("/", 1)[-1]

    if mode == "none" and (pos_files or dvs):
        problems.append(f"current snapshot has {len(pos_files)} position delete files and {len(dvs)} deletion vectors; "
                        f"want none")
    if mode == "position":
        if not pos_files:
            problems.append("current snapshot has no position delete files (content=POSITION_DELETES, Parquet); "
                            "want some: the incremental exports delete and update rows")
        if dvs:
            problems.append(f"current snapshot has {len(dvs)} deletion vectors in a format v{tbl.metadata.format_version} table; want Parquet position deletes")
    if mode == "dv":
        if not dvs:
            problems.append("current snapshot has no deletion vectors (content=POSITION_DELETES, Puffin); "
                            "want some: the incremental exports delete and update rows")
        if pos_files:
            problems.append(f"current snapshot has {len(pos_files)} Parquet position delete files in a format "
                            f"v{tbl.metadata.format_version} table; v3 wants deletion vectors only")
        if tbl.metadata.format_version < 3:
            problems.append(f"table is format v{tbl.metadata.format_version}; deletion vectors need v3")

    deleted: dict[str, set[int]] = {}

    def mark(src: str, path: str, positions) -> None:
        if path not in data:
            problems.append(f"{src}: deletes rows of {name(path)}, which is not a live data file of the snapshot")
            return
        s = deleted.setdefault(path, set())
        for p in positions:
            if not 0 <= p < data[path]:
                problems.append(f"{src}: deletes position {p} of {name(path)}, which has {data[path]} rows")
                return
            s.add(p)

    for f in pos_files:
        src = name(f["file_path"])
        t = pq.read_table(local_path(f["file_path"]))
        ids = {int((af.metadata or {}).get(b"PARQUET:field_id", -1)): af.name for af in t.schema}
        if ids.get(POS_PATH_ID) != "file_path" or ids.get(POS_POS_ID) != "pos":
            problems.append(f"{src}: columns {t.schema.names} with field ids {sorted(ids)}; want file_path ({POS_PATH_ID}) and pos ({POS_POS_ID})")
            continue
        if t.num_rows != f["record_count"]:
            problems.append(f"{src}: manifest record_count {f['record_count']}, file has {t.num_rows} rows")
        paths, poss = t.column("file_path").to_pylist(), t.column("pos").to_pylist()
        pairs = list(zip(paths, poss))
        if pairs != sorted(pairs):
            problems.append(f"{src}: rows not sorted by (file_path, pos)")
        if len(set(pairs)) != len(pairs):
            problems.append(f"{src}: {len(pairs) - len(set(pairs))} duplicate (file_path, pos) rows")
        ref = f.get("referenced_data_file")
        if ref is not None and set(paths) != {ref}:
            problems.append(f"{src}: referenced_data_file {name(ref)} but rows for {sorted(map(name, set(paths)))}")
        for path in sorted(set(paths)):
            sel = pc.equal(t.column("file_path"), path)
            mark(src, path, t.column("pos").filter(sel).to_pylist())

    dv_per_file: dict[str, int] = {}
    footers: dict[str, dict] = {}
    for f in dvs:
        src = f"{name(f['file_path'])}@{f.get('content_offset')}"
        ref, off, size = f.get("referenced_data_file"), f.get("content_offset"), f.get("content_size_in_bytes")
        if ref is None or off is None or size is None:
            problems.append(f"{src}: deletion vector entry lacks referenced_data_file/content_offset/content_size_in_bytes "
                            f"({ref!r}, {off!r}, {size!r})")
            continue
        dv_per_file[ref] = dv_per_file.get(ref, 0) + 1
        with open(local_path(f["file_path"]), "rb") as fh:
            raw = fh.read()
        if f["file_path"] not in footers:
            try:
                footers[f["file_path"]] = puffin_footer(raw)
            except ValueError as e:
                problems.append(f"{name(f['file_path'])}: {e}")
                footers[f["file_path"]] = {}
        blobs = [b for b in footers[f["file_path"]].get("blobs", []) if b.get("offset") == off]
        if len(blobs) != 1:
            problems.append(f"{src}: {len(blobs)} blobs in the Puffin footer at offset {off}, want 1")
        else:
            b = blobs[0]
            props = b.get("properties", {})
            for what, got, want in (("type", b.get("type"), "deletion-vector-v1"), ("length", b.get("length"), size),
                                    ("referenced-data-file", props.get("referenced-data-file"), ref),
                                    ("cardinality", props.get("cardinality"), str(f["record_count"])),
                                    ("compression-codec", b.get("compression-codec"), None)):
                if got != want:
                    problems.append(f"{src}: footer blob {what} {got!r}, want {want!r}")
        try:
            positions = read_dv_blob(raw[off:off + size])
        except ValueError as e:
            problems.append(f"{src}: deletion vector for {name(ref)}: {e}")
            continue
        if len(positions) != f["record_count"]:
            problems.append(f"{src}: {len(positions)} positions, manifest record_count (cardinality) {f['record_count']}")
        mark(src, ref, positions)
    for ref, n in dv_per_file.items():
        if n > 1:
            problems.append(f"{name(ref)} has {n} deletion vectors; v3 allows at most one per data file")

    # PyIceberg's plan must attach deletes to every data file that has some.
    attached = {t.file.file_path: len(t.delete_files) for t in tbl.scan().plan_files()}
    for path in sorted(deleted):
        if deleted[path] and not attached.get(path):
            problems.append(f"PyIceberg's scan plan attaches no delete file to {name(path)}, which has {len(deleted[path])} deleted rows")

    total = sum(data.values())
    ndel = sum(len(s) for s in deleted.values())
    if rows_read != total - ndel:
        problems.append(f"PyIceberg returned {rows_read} rows; the data files hold {total}, the delete files delete "
                        f"{ndel} of them: want {total - ndel}"
                        + (" (PyIceberg applied none of the deletes)" if rows_read == total and ndel else ""))
    if len(problems) > max_report:
        problems = problems[:max_report] + [f"... {len(problems)} delete-file problems in all"]
    if pos_files:
        note = f"{len(pos_files)} position delete files (Parquet)"
    elif dvs:
        note = f"{len(dvs)} deletion vectors in {len(footers)} Puffin files"
    else:
        note = "no delete files"
    if ndel:
        note += f" deleting {ndel} of {total} rows in {len(deleted)} of {len(data)} data files"
    return problems, note


def check_lookups(tbl, fs: FSchema, keys: list[tuple], gone: list[tuple] = (), n: int = 24) -> tuple[list[str], int, int]:
    """Point lookups through PyIceberg's filtered scan (partition and metrics
    pruning): each sampled key must come back as exactly one row, each
    sampled gone key (deleted since an earlier state) as none."""
    from pyiceberg.expressions import And, EqualTo

    by_name = {f.name: f for f in fs.fields}
    kfields = [by_name[k] for k in fs.key]
    if any(f.type.kind == "N" and f.type.num == "string" for f in kfields):
        return [], 0, 0  # the exact text of a number key is not known here

    def pick(ks):
        ks = sorted(ks, key=sortkey)
        return [ks[i * (len(ks) - 1) // max(n - 1, 1)] for i in range(min(n, len(ks)))]

    sample, gone_sample = pick(keys), pick(gone)
    problems = []
    for k in sample + gone_sample:
        want = 0 if k in gone_sample else 1
        preds = []
        for f, (kind, v) in zip(kfields, k):
            if kind == "N":
                v = int(v) if f.type.num == "long" else v
            preds.append(EqualTo(f.column, v))
        expr = preds[0] if len(preds) == 1 else And(*preds)
        got = tbl.scan(row_filter=expr).to_arrow()
        if got.num_rows != want:
            problems.append(f"filtered scan for {show_key(k, fs.key)} returned {got.num_rows} rows, want {want}"
                            + (" (the key is gone since the earlier state)" if want == 0 else ""))
    return problems, len(sample), len(gone_sample)


if __name__ == "__main__":
    sys.exit(main())
