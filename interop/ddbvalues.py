"""DynamoDB items as the interop checks compare them: floe.schema parsing,
canonical (hashable, comparable) forms of DynamoDB values, reading a
generator's expected-state file, turning a reader's columns back into items
and diffing them with the expected ones. Shared by check_table.py
(PyIceberg) and spark_check.py (Spark): the rules are in one place.

Normalisation is the one of floe's Go test harness (internal/testutil):
numbers compare by value, NULL-valued attributes and NULL-valued map entries
are dropped on both sides (a column cannot tell NULL from absent), null
struct fields are absent, lists and sets keep their order, map entry order
is ignored. Cells are Python values in the shape pyarrow's to_pylist gives:
a struct is a dict by column name, a map a list of (key, value) pairs.
"""

from __future__ import annotations

import base64
import decimal
import gzip
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# 38 significant digits and exponents down to 1E-130 must survive
# arithmetic-free handling; Decimal construction is exact anyway, but keep
# the context wide in case anything normalises.
decimal.getcontext().prec = 200
decimal.getcontext().Emin = -999999
decimal.getcontext().Emax = 999999

RESCUED = "_rescued"
WRITE_TS = "_ddb_write_ts"
SCHEMA_PROP = "floe.schema"
EXPORT_ID = "floe.export-id"
KINDS = ("S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M")


class Mismatch(Exception):
    """A value that cannot be what floe's type mapping says it is."""


# --------------------------------------------------------------------------
# floe.schema


@dataclass
class FType:
    kind: str
    num: str = ""  # N/NS: "long", "string" or "decimal"
    scale: int = 0
    elem: FType | None = None  # L stored as a list
    map: str = ""  # M: "struct", "map" or "json"
    fields: list[FField] = field(default_factory=list)
    values: FType | None = None

    def describe(self) -> str:
        if self.kind in ("N", "NS"):
            n = f"decimal(38,{self.scale})" if self.num == "decimal" else self.num
            return f"{self.kind} as {n}"
        if self.kind == "L":
            return "L as json" if self.elem is None else f"L of {self.elem.describe()}"
        if self.kind == "M":
            return f"M as {self.map}"
        return self.kind


@dataclass
class FField:
    name: str
    column: str
    type: FType


_DECIMAL_AS = re.compile(r"^decimal\(\s*38\s*,\s*(\d+)\s*\)$")


def parse_type(path: str, ft: dict) -> FType:
    kind = ft.get("type")
    if kind not in KINDS:
        raise ValueError(f"floe.schema: attribute {path!r}: unknown type {kind!r}")
    as_ = ft.get("as", "")
    t = FType(kind=kind)
    if kind in ("N", "NS"):
        m = _DECIMAL_AS.match(as_)
        if as_ in ("", "long"):
            t.num = "long"
        elif as_ == "string":
            t.num = "string"
        elif m:
            t.num, t.scale = "decimal", int(m.group(1))
        else:
            raise ValueError(f"floe.schema: attribute {path!r}: {as_!r} is not a representation of {kind}")
    elif kind == "L":
        if as_ == "json" or (as_ == "" and "element" not in ft):
            t.elem = None
        elif "element" in ft and as_ in ("", "list"):
            t.elem = parse_type(path + "[]", ft["element"])
        else:
            raise ValueError(f"floe.schema: attribute {path!r}: {as_!r} is not a representation of L")
    elif kind == "M":
        if as_ == "json" or (as_ == "" and "fields" not in ft and "values" not in ft):
            t.map = "json"
        elif "values" in ft and as_ in ("", "map"):
            t.map, t.values = "map", parse_type(path + "{}", ft["values"])
        elif "fields" in ft and as_ in ("", "struct"):
            t.map, t.fields = "struct", parse_fields(path + ".", ft["fields"])
        else:
            raise ValueError(f"floe.schema: attribute {path!r}: {as_!r} is not a representation of M")
    elif as_:
        raise ValueError(f"floe.schema: attribute {path!r}: {as_!r} is not a representation of {kind}")
    return t


def parse_fields(path: str, ffs: list) -> list[FField]:
    out = []
    for ff in ffs:
        name = ff["name"]
        out.append(FField(name=name, column=ff.get("column") or name, type=parse_type(path + name, ff)))
    return out


@dataclass
class FSchema:
    key: list[str]
    fields: list[FField]


def parse_schema(raw: str) -> FSchema:
    doc = json.loads(raw)
    if doc.get("version") != 1:
        raise ValueError(f"floe.schema: version {doc.get('version')!r} is not supported (want 1)")
    return FSchema(key=list(doc.get("key") or []), fields=parse_fields("", doc["attributes"]))


# --------------------------------------------------------------------------
# Canonical values: hashable, comparable forms of DynamoDB values.
#   ("S", str) ("N", Decimal) ("B", bytes) ("BOOL", bool) ("NULL",)
#   ("SS"|"NS"|"BS"|"L", (canon, ...))  ("M", ((name, canon), ...) sorted, no NULLs)
# Decimal equality and hashing are by value, so 1.50 == 1.5.

NULL = ("NULL",)


def number(text: Any, path: str) -> tuple:
    if not isinstance(text, str):
        raise Mismatch(f"{path}: N value {text!r} is not a string")
    try:
        d = Decimal(text)
    except decimal.InvalidOperation:
        raise Mismatch(f"{path}: N value {text!r} is not a number") from None
    if not d.is_finite():
        raise Mismatch(f"{path}: N value {text!r} is not a finite number")
    return ("N", d)


def canon_map(pairs) -> tuple:
    """A map's canonical form: entries sorted by name, NULL entries dropped."""
    return ("M", tuple(sorted((k, v) for k, v in pairs if v != NULL)))


def from_ddb_json(v: Any, path: str) -> tuple:
    """Canonical form of a DynamoDB JSON value such as {"S": "x"}."""
    if not isinstance(v, dict) or len(v) != 1:
        raise Mismatch(f"{path}: {json.dumps(v)[:120]} is not a DynamoDB JSON value (want one type tag)")
    (kind, x), = v.items()
    try:
        if kind == "S":
            if not isinstance(x, str):
                raise Mismatch(f"{path}: S value is not a string")
            return ("S", x)
        if kind == "N":
            return number(x, path)
        if kind == "B":
            return ("B", base64.b64decode(x, validate=True))
        if kind == "BOOL":
            if not isinstance(x, bool):
                raise Mismatch(f"{path}: BOOL value {x!r} is not a boolean")
            return ("BOOL", x)
        if kind == "NULL":
            if x is not True:
                raise Mismatch(f"{path}: NULL value {x!r} is not true")
            return NULL
        if kind == "SS":
            return ("SS", tuple(("S", e) if isinstance(e, str) else _bad(path, "SS element", e) for e in x))
        if kind == "NS":
            return ("NS", tuple(number(e, path + "[]") for e in x))
        if kind == "BS":
            return ("BS", tuple(("B", base64.b64decode(e, validate=True)) for e in x))
        if kind == "L":
            if not isinstance(x, list):
                raise Mismatch(f"{path}: L value is not a list")
            return ("L", tuple(from_ddb_json(e, f"{path}[{i}]") for i, e in enumerate(x)))
        if kind == "M":
            if not isinstance(x, dict):
                raise Mismatch(f"{path}: M value is not an object")
            return canon_map((k, from_ddb_json(e, f"{path}.{k}")) for k, e in x.items())
    except (ValueError, TypeError) as e:  # base64 errors, iteration of non-lists
        raise Mismatch(f"{path}: bad {kind} value: {e}") from None
    raise Mismatch(f"{path}: unknown DynamoDB type tag {kind!r}")


def _bad(path: str, what: str, v: Any):
    raise Mismatch(f"{path}: {what} {v!r} has the wrong type")


def from_json_text(text: Any, path: str) -> tuple:
    if not isinstance(text, str):
        raise Mismatch(f"{path}: JSON column holds {type(text).__name__}, not a string")
    try:
        v = json.loads(text)
    except json.JSONDecodeError as e:
        raise Mismatch(f"{path}: JSON column is not valid JSON ({e}): {text[:120]!r}") from None
    return from_ddb_json(v, path)


def show(c: tuple, limit: int = 240) -> str:
    """DynamoDB JSON text of a canonical value, for diffs."""
    s = json.dumps(to_ddb_json(c), ensure_ascii=False, separators=(",", ":"))
    return s if len(s) <= limit else s[:limit] + f"…({len(s)} chars)"


def to_ddb_json(c: tuple) -> Any:
    kind = c[0]
    if kind == "S":
        return {"S": c[1]}
    if kind == "N":
        return {"N": str(c[1])}
    if kind == "B":
        return {"B": base64.b64encode(c[1]).decode()}
    if kind == "BOOL":
        return {"BOOL": c[1]}
    if kind == "NULL":
        return {"NULL": True}
    if kind in ("SS", "NS", "BS"):
        return {kind: [to_ddb_json(e)[kind[0]] for e in c[1]]}
    if kind == "L":
        return {"L": [to_ddb_json(e) for e in c[1]]}
    if kind == "M":
        return {"M": {k: to_ddb_json(v) for k, v in c[1]}}
    return {"?": repr(c)}


def show_key(key: tuple, names: list[str]) -> str:
    return ", ".join(f"{n}={to_ddb_json(v)[v[0]]!r}" if v[0] != "B" else f"{n}={show(v)}" for n, v in zip(names, key))


# --------------------------------------------------------------------------
# Arrow values (as Python objects from pyarrow's to_pylist) → canonical.


def from_column(v: Any, t: FType, path: str) -> tuple:
    """Canonical form of a non-null cell holding a value of floe type t."""
    k = t.kind
    if k == "S":
        if not isinstance(v, str):
            raise Mismatch(f"{path}: S column holds {type(v).__name__} {v!r}")
        return ("S", v)
    if k == "N":
        return num_cell(v, t, path)
    if k == "B":
        if not isinstance(v, (bytes, bytearray)):
            raise Mismatch(f"{path}: B column holds {type(v).__name__}")
        return ("B", bytes(v))
    if k == "BOOL":
        if not isinstance(v, bool):
            raise Mismatch(f"{path}: BOOL column holds {type(v).__name__} {v!r}")
        return ("BOOL", v)
    if k == "NULL":
        return NULL
    if k in ("SS", "NS", "BS"):
        et = FType(kind=k[0], num=t.num, scale=t.scale)
        return (k, list_cells(v, et, path))
    if k == "L":
        if t.elem is None:
            c = from_json_text(v, path)
            if c[0] != "L":
                raise Mismatch(f"{path}: L JSON column holds a {c[0]}: {show(c)}")
            return c
        return ("L", list_cells(v, t.elem, path))
    if k == "M":
        if t.map == "json":
            c = from_json_text(v, path)
            if c[0] != "M":
                raise Mismatch(f"{path}: M JSON column holds a {c[0]}: {show(c)}")
            return c
        if t.map == "map":
            if not isinstance(v, list):
                raise Mismatch(f"{path}: map column holds {type(v).__name__}")
            pairs = []
            for kk, vv in v:
                if not isinstance(kk, str):
                    raise Mismatch(f"{path}: map key {kk!r} is not a string")
                pairs.append((kk, NULL if vv is None else from_column(vv, t.values, f"{path}.{kk}")))
            names = [p[0] for p in pairs]
            if len(set(names)) != len(names):
                raise Mismatch(f"{path}: map has duplicate keys {sorted(n for n in set(names) if names.count(n) > 1)}")
            return canon_map(pairs)
        if t.map == "struct":
            if not isinstance(v, dict):
                raise Mismatch(f"{path}: struct column holds {type(v).__name__}")
            extra = set(v) - {f.column for f in t.fields}
            if extra:
                raise Mismatch(f"{path}: struct has fields not in floe.schema: {sorted(extra)}")
            pairs = []
            for f in t.fields:
                if f.column not in v:
                    raise Mismatch(f"{path}: struct has no field {f.column!r} (attribute {f.name!r})")
                fv = v[f.column]
                if fv is not None:  # a null struct field is an absent attribute
                    pairs.append((f.name, from_column(fv, f.type, f"{path}.{f.name}")))
            return canon_map(pairs)
    raise Mismatch(f"{path}: unsupported floe type {t.describe()}")


def list_cells(v: Any, et: FType, path: str) -> tuple:
    if not isinstance(v, list):
        raise Mismatch(f"{path}: list column holds {type(v).__name__}")
    return tuple(NULL if e is None else from_column(e, et, f"{path}[{i}]") for i, e in enumerate(v))


def num_cell(v: Any, t: FType, path: str) -> tuple:
    if t.num == "long":
        if not isinstance(v, int) or isinstance(v, bool):
            raise Mismatch(f"{path}: long number column holds {type(v).__name__} {v!r}")
        return ("N", Decimal(v))
    if t.num == "decimal":
        if not isinstance(v, Decimal):
            raise Mismatch(f"{path}: decimal number column holds {type(v).__name__} {v!r}")
        return ("N", v)
    return number(v, path)  # "string": the exact text


# --------------------------------------------------------------------------


def read_expected(path: str, key: list[str]) -> tuple[dict, list[str]]:
    items: dict[tuple, dict] = {}
    problems: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:  # handles multi-member gzip
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if "Item" not in rec:
                raise ValueError(f"{path} line {lineno}: no Item")
            item = {}
            for name, v in rec["Item"].items():
                c = from_ddb_json(v, f"{path} line {lineno}: {name}")
                if c != NULL:
                    item[name] = c
            k = tuple(item.get(n) for n in key)
            if None in k:
                raise ValueError(f"{path} line {lineno}: item has no key attribute(s) {key}")
            if k in items:
                problems.append(f"expected file has duplicate key {show_key(k, key)}")
            items[k] = item
    return items, problems



def items_from_columns(fs: FSchema, key: list[str], columns: dict[str, list], rescued: list, nrows: int):
    """Items of a scan given column by column (columns: column name → cells,
    for the floe.schema fields the scan has; rescued: the _rescued cells).
    Returns (got: key → item, row_errors: key → problems, dup_keys: key →
    rows). A row without its key values is keyed ("row", r)."""
    present = [f for f in fs.fields if f.column in columns]
    row_errors: dict[int, list[str]] = {}
    got: dict[tuple, dict] = {}
    dup_keys: dict[tuple, int] = {}
    for r in range(nrows):
        item: dict[str, tuple] = {}
        errs: list[str] = []
        for f in present:
            v = columns[f.column][r]
            if v is None:
                continue
            try:
                c = from_column(v, f.type, f.name)
            except Mismatch as e:
                errs.append(str(e))
                continue
            if c != NULL:
                item[f.name] = c
        if rescued[r] is not None:
            try:
                obj = json.loads(rescued[r])
                if not isinstance(obj, dict):
                    raise Mismatch(f"{RESCUED}: not a JSON object: {rescued[r][:120]!r}")
                for name, v in obj.items():
                    c = from_ddb_json(v, f"{RESCUED}.{name}")
                    if name in item:
                        errs.append(f"attribute {name!r} is both in its column ({show(item[name])}) and in {RESCUED} ({show(c)})")
                    elif c != NULL:
                        item[name] = c
            except (json.JSONDecodeError, Mismatch) as e:
                errs.append(f"{RESCUED}: {e}")
        k = tuple(item.get(n) for n in key)
        if None in k:
            errs.append(f"row {r} has no value for key attribute(s) {[n for n, v in zip(key, k) if v is None]}")
            k = ("row", r)
        if k in got:
            dup_keys[k] = dup_keys.get(k, 1) + 1
        got[k] = item
        if errs:
            row_errors.setdefault(k, []).extend(errs)
    return got, row_errors, dup_keys


def diff_items(expected: dict, got: dict, row_errors: dict, key: list[str], max_diffs: int) -> tuple[list[str], int]:
    """Row by row, attribute by attribute: the first max_diffs differences,
    readable, and how many there are in all."""
    diffs: list[str] = []
    ndiff = 0

    def add(text: str):
        nonlocal ndiff
        ndiff += 1
        if len(diffs) < max_diffs:
            diffs.append(text)

    for k in sorted(expected, key=sortkey):
        want = expected[k]
        if k not in got:
            add(f"missing row {show_key(k, key)}: want {show(canon_map(want.items()), 400)}")
            continue
        have = got[k]
        lines = [f"  {e}" for e in row_errors.get(k, [])]
        for name in sorted(set(want) | set(have)):
            w, g = want.get(name), have.get(name)
            if w == g:
                continue
            if g is None:
                lines.append(f"  attribute {name!r}: missing, want {show(w)}")
            elif w is None:
                lines.append(f"  attribute {name!r}: unexpected {show(g)}")
            else:
                lines.append(f"  attribute {name!r}:\n    got  {show(g)}\n    want {show(w)}" + sub_diff(g, w))
        if lines:
            add(f"row {show_key(k, key)} differs:\n" + "\n".join(lines[:10]) + (f"\n  ... {len(lines)} in all" if len(lines) > 10 else ""))
    for k in sorted((k for k in got if k not in expected), key=sortkey):
        add(f"unexpected row {show_key(k, key) if k[0] != 'row' else k}: {show(canon_map(got[k].items()), 400)}"
            + "".join(f"\n  {e}" for e in row_errors.get(k, [])))
    return diffs, ndiff


def sortkey(k: tuple):
    return tuple(repr(part) for part in k)


def sub_diff(g: tuple, w: tuple, path: str = "") -> str:
    """Where inside two differing values the first difference is."""
    if g[0] != w[0]:
        return f"\n    first difference at {path or 'top'}: type {g[0]} vs {w[0]}" if path else ""
    if g[0] == "M":
        gd, wd = dict(g[1]), dict(w[1])
        for name in sorted(set(gd) | set(wd)):
            if gd.get(name) != wd.get(name):
                p = f"{path}.{name}"
                if name not in gd:
                    return f"\n    first difference at {p}: missing, want {show(wd[name], 120)}"
                if name not in wd:
                    return f"\n    first difference at {p}: unexpected {show(gd[name], 120)}"
                return sub_diff(gd[name], wd[name], p)
    elif g[0] in ("L", "SS", "NS", "BS"):
        if len(g[1]) != len(w[1]):
            return f"\n    first difference at {path or 'top'}: {len(g[1])} elements vs {len(w[1])}"
        for i, (a, b) in enumerate(zip(g[1], w[1])):
            if a != b:
                return sub_diff(a, b, f"{path}[{i}]")
    return f"\n    first difference at {path}: {show(g, 120)} vs {show(w, 120)}" if path else ""
