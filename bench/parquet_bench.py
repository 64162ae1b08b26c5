#!/usr/bin/env python3
"""pyarrow's side of the Parquet benchmark (bench/KVStreamBench/ParquetBench.swift).

  parquet_bench.py ROWS.jsonl OURS.parquet WORKDIR --repeats N --row-group-rows N

Loads the rows the benchmark wrote as JSON lines into an Arrow table of one chunk per column (not timed), then times
`pq.write_table(table, compression='lz4')` (LZ4_RAW in the file; checked below) with the benchmark's row group
size, best of N, twice: with pyarrow's defaults (dictionary on every column) and with dictionaries on string
columns only (the encodings our writer chooses). Checks that our file reads back equal to the table, column by
column, and that both writers' files say LZ4_RAW. Prints one JSON object.
"""
import argparse
import json
import os
import time

import duckdb
import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

SCHEMA = pa.schema([
    ("event_id", pa.string()), ("event_time", pa.timestamp("ms", tz="UTC")), ("customer_id", pa.string()),
    ("merchant_id", pa.string()), ("service", pa.string()), ("amount", pa.decimal128(18, 2)),
    ("currency", pa.string()), ("channel", pa.string()), ("country", pa.string()), ("lat", pa.float64()),
    ("lon", pa.float64()), ("device_id", pa.string()), ("beneficiary_id", pa.string()), ("score", pa.float64()),
    ("offset", pa.int64()),
])


def codecs(path):
    rows = duckdb.execute(f"select distinct compression from parquet_metadata('{path}')").fetchall()
    return sorted(r[0] for r in rows)


def best_write(table, path, repeats, **options):
    best = None
    for _ in range(repeats):
        start = time.perf_counter()
        pq.write_table(table, path, compression="lz4", **options)
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    return best, os.path.getsize(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rows")
    parser.add_argument("ours")
    parser.add_argument("workdir")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--row-group-rows", type=int, required=True)
    args = parser.parse_args()

    # One chunk per column, pyarrow's fastest input (the JSON reader returns many).
    table = pj.read_json(args.rows, parse_options=pj.ParseOptions(explicit_schema=SCHEMA)).combine_chunks()
    ours = pq.read_table(args.ours)
    mismatched = [f.name for f in SCHEMA if not ours.column(f.name).equals(table.column(f.name))]

    strings = [f.name for f in SCHEMA if f.type == pa.string()]
    default_path = os.path.join(args.workdir, "pyarrow-default.parquet")
    strings_path = os.path.join(args.workdir, "pyarrow-strings-dictionary.parquet")
    default_seconds, default_bytes = best_write(table, default_path, args.repeats, row_group_size=args.row_group_rows)
    strings_seconds, strings_bytes = best_write(
        table, strings_path, args.repeats, row_group_size=args.row_group_rows, use_dictionary=strings)
    print(json.dumps({
        "pyarrow": pa.__version__,
        "rows": table.num_rows,
        "mismatched_columns": mismatched,
        "codecs": {"ours": codecs(args.ours), "pyarrow": sorted(set(codecs(default_path) + codecs(strings_path)))},
        "default": {"seconds": default_seconds, "bytes": default_bytes},
        "strings_dictionary": {"seconds": strings_seconds, "bytes": strings_bytes},
    }))


if __name__ == "__main__":
    main()
