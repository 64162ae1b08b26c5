#!/usr/bin/env python3
"""Reads Parquet files written by KVStream's writer back with pyarrow and DuckDB and compares them with the values
the writer was given. Used by Tests/KVStreamTests/ParquetTests.swift; prints one line per failed check and exits 1
when any failed.

  parquet_check.py MANIFEST.json

The manifest is a list of cases:

  {"file": "a.parquet",
   "columns": [{"name": "x", "type": "int64", "nullable": true, "precision": 0, "scale": 0}, ...],
   "rows": [[...], ...],
   "compression": "LZ4_RAW" | "UNCOMPRESSED",
   "row_groups": 3,                        (optional)
   "encodings": {"x": ["PLAIN", ...]}}     (optional: the exact encodings of every chunk of a column)

Values are given as the writer got them: strings and json as strings, int64 / timestamp (epoch ms) / date (epoch
days) as integers, decimals as strings of integer units (value * 10^scale), doubles as strings of their IEEE bit
pattern (a UInt64), lists as lists of strings, null as null.

Checked for each file: the Arrow and DuckDB types and nullability of every column; every value of every row,
through pyarrow and through DuckDB; DuckDB's sums of int64 and decimal(p <= 18) columns; every row group's
statistics (null count, and min / max in the physical encoding) against the values; compression; encodings.
"""
import decimal
import json
import math
import os
import struct
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

failures = []


def fail(case, message):
    failures.append(f"{case['file']}: {message}")


def arrow_type(column):
    t = column["type"]
    return {
        "string": pa.string(),
        "json": pa.json_(pa.string()),
        "int64": pa.int64(),
        "double": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "date": pa.date32(),
        "decimal": pa.decimal128(column["precision"], column["scale"]) if t == "decimal" else None,
        "stringArray": pa.list_(pa.field("element", pa.string(), nullable=False)),
    }[t]


def duckdb_type(column):
    t = column["type"]
    if t == "decimal":
        return f"DECIMAL({column['precision']},{column['scale']})"
    return {
        "string": "VARCHAR", "json": "JSON", "int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN",
        "timestamp": "TIMESTAMP WITH TIME ZONE", "date": "DATE", "stringArray": "VARCHAR[]",
    }[t]


def double_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def decimal_units(d, scale):
    sign, digits, exponent = d.as_tuple()
    units = int("".join(map(str, digits)) or "0") * 10 ** (exponent + scale)
    return -units if sign else units


def same(column, expected, got):
    """Whether a value read back (in the canonical form of `canonical`) is the one written."""
    if column["type"] == "double" and expected is not None and got is not None:
        e = struct.unpack("<d", struct.pack("<Q", int(expected)))[0]
        return (math.isnan(e) and math.isnan(got)) or double_bits(got) == int(expected)
    return expected == got


def canonical_arrow(column, array):
    """The column's values from pyarrow in the manifest's form (ints for times, units for decimals)."""
    t = column["type"]
    if t in ("timestamp", "date"):
        return array.cast(pa.int64() if t == "timestamp" else pa.int32()).to_pylist()
    if t == "decimal":
        return [None if v is None else str(decimal_units(v, column["scale"])) for v in array.to_pylist()]
    if t == "json":
        return array.storage.to_pylist()
    return array.to_pylist()


def check_values(case, reader, column, expected, got):
    if len(got) != len(expected):
        fail(case, f"{reader}: column {column['name']}: {len(got)} values, expected {len(expected)}")
        return
    for i, (e, g) in enumerate(zip(expected, got)):
        if not same(column, e, g):
            fail(case, f"{reader}: column {column['name']} row {i}: got {g!r}, expected {e!r}")
            return


def check_arrow(case, path, columns, rows):
    table = pq.read_table(path)
    if table.num_rows != len(rows):
        fail(case, f"pyarrow: {table.num_rows} rows, expected {len(rows)}")
        return
    for k, column in enumerate(columns):
        field = table.schema.field(column["name"])
        if field.type != arrow_type(column) or field.nullable != column["nullable"]:
            fail(case, f"pyarrow: column {column['name']} is {field.type} nullable={field.nullable}, expected "
                       f"{arrow_type(column)} nullable={column['nullable']}")
            continue
        got = canonical_arrow(column, table.column(column["name"]).combine_chunks())
        check_values(case, "pyarrow", column, [row[k] for row in rows], got)


def check_duckdb(case, path, columns, rows):
    con = duckdb.connect()
    relation = con.sql(f"select * from read_parquet('{path}')")
    for column, name, type_ in zip(columns, relation.columns, relation.types):
        if name != column["name"] or str(type_) != duckdb_type(column):
            fail(case, f"duckdb: column {name} is {type_}, expected {column['name']} {duckdb_type(column)}")
            return
    projections = []
    for column in columns:
        q = '"' + column["name"].replace('"', '""') + '"'
        projections.append({
            "timestamp": f"epoch_ms({q})",
            "date": f"({q} - DATE '1970-01-01')",
            "decimal": f"{q}::VARCHAR",
            "json": f"{q}::VARCHAR",
        }.get(column["type"], q))
    got_rows = con.execute(f"select {', '.join(projections)} from read_parquet('{path}')").fetchall()
    if len(got_rows) != len(rows):
        fail(case, f"duckdb: {len(got_rows)} rows, expected {len(rows)}")
        return
    for k, column in enumerate(columns):
        got = [row[k] for row in got_rows]
        if column["type"] == "decimal":
            got = [None if v is None else str(decimal_units(decimal.Decimal(v), column["scale"])) for v in got]
        check_values(case, "duckdb", column, [row[k] for row in rows], got)
    # Aggregates over the whole file, as a query would compute them (DuckDB sums in 128 bits: wide decimals can
    # overflow it, so only those of up to 18 digits are summed).
    for k, column in enumerate(columns):
        if column["type"] != "int64" and not (column["type"] == "decimal" and column["precision"] <= 18):
            continue
        q = '"' + column["name"].replace('"', '""') + '"'
        total, count = con.execute(f"select sum({q})::VARCHAR, count({q}) from read_parquet('{path}')").fetchone()
        values = [int(row[k]) for row in rows if row[k] is not None]
        expected = sum(values)
        if column["type"] == "decimal":
            total = None if total is None else decimal_units(decimal.Decimal(total), column["scale"])
        else:
            total = None if total is None else int(total)
        if count != len(values) or (values and total != expected):
            fail(case, f"duckdb: column {column['name']}: sum {total} over {count}, expected {expected} over "
                       f"{len(values)}")


def physical(column, value):
    """A written value as pyarrow's `Statistics.min_raw` gives it, or None for a value outside statistics."""
    t = column["type"]
    if t == "double":
        x = struct.unpack("<d", struct.pack("<Q", int(value)))[0]
        return None if math.isnan(x) else x
    if t == "decimal":
        return int(value)
    if t in ("string", "json"):
        return value.encode()
    return value


def check_statistics(case, path, columns, rows):
    metadata = pq.ParquetFile(path).metadata
    if "row_groups" in case and metadata.num_row_groups != case["row_groups"]:
        fail(case, f"{metadata.num_row_groups} row groups, expected {case['row_groups']}")
    start = 0
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        group_rows = rows[start:start + group.num_rows]
        start += group.num_rows
        for k, column in enumerate(columns):
            chunk = group.column(k)
            if chunk.compression != {"LZ4_RAW": "LZ4", "UNCOMPRESSED": "UNCOMPRESSED"}[case["compression"]]:
                fail(case, f"column {column['name']}: compression {chunk.compression}")
            encodings = case.get("encodings", {}).get(column["name"])
            if encodings is not None and sorted(chunk.encodings) != sorted(encodings):
                fail(case, f"row group {g} column {column['name']}: encodings {chunk.encodings}, expected {encodings}")
            values = [row[k] for row in group_rows]
            if column["type"] == "stringArray":
                nulls = sum(1 for v in values if not v)
                values = [e.encode() for v in values if v for e in v]
            else:
                nulls = sum(1 for v in values if v is None)
                values = [physical(column, v) for v in values if v is not None]
                values = [v for v in values if v is not None]
            stats = chunk.statistics
            if stats is None or stats.null_count != nulls:
                fail(case, f"row group {g} column {column['name']}: null count "
                           f"{None if stats is None else stats.null_count}, expected {nulls}")
                continue
            if not values:
                if stats.has_min_max:
                    fail(case, f"row group {g} column {column['name']}: min / max without values")
                continue
            low, high = min(values), max(values)
            if not stats.has_min_max:
                if not (isinstance(low, bytes) and max(len(low), len(high)) > 4096):
                    fail(case, f"row group {g} column {column['name']}: no min / max")
                continue
            got_low, got_high = stats.min_raw, stats.max_raw
            if column["type"] == "decimal" and column["precision"] > 18:
                got_low = int.from_bytes(got_low, "big", signed=True)
                got_high = int.from_bytes(got_high, "big", signed=True)
            if column["type"] == "double":
                low = -0.0 if low == 0 else low
                high = 0.0 if high == 0 else high
                ok = double_bits(got_low) == double_bits(low) and double_bits(got_high) == double_bits(high)
            else:
                ok = got_low == low and got_high == high
            if not ok:
                fail(case, f"row group {g} column {column['name']}: min / max {got_low!r} / {got_high!r}, "
                           f"expected {low!r} / {high!r}")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    directory = os.path.dirname(os.path.abspath(sys.argv[1]))
    for case in cases:
        path = os.path.join(directory, case["file"])
        try:
            check_arrow(case, path, case["columns"], case["rows"])
            check_duckdb(case, path, case["columns"], case["rows"])
            check_statistics(case, path, case["columns"], case["rows"])
        except Exception as error:  # a reader refusing the file is a failed check, not a crash of the checker
            fail(case, f"{type(error).__name__}: {error}")
    for failure in failures:
        print("FAIL", failure)
    print(f"{len(cases)} files checked, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
