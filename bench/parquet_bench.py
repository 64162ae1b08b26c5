#!/usr/bin/env python3
"""pyarrow's side of the Parquet benchmark (bench/KVStreamBench/ParquetBench.swift).

  parquet_bench.py ROWS.jsonl WORKDIR --row-group-rows N

Loads the rows the benchmark wrote as JSON lines into an Arrow table of one chunk per column (not timed), prints
one JSON line ({"pyarrow": version, "rows": n}), then answers requests, one JSON object a line on stdin, one a
line on stdout, so that the benchmark can alternate its own writes with pyarrow's in the same run:

  {"check": PATH}
      reads our file back: the columns whose values differ from the table, the codecs of its chunks (asked of
      DuckDB), and the columns that have a dictionary page (the encodings our writer chose).
  {"write": "defaults" | "same", "compression": "lz4" | "none", "dictionary": [COLUMNS]}
      one timed `pq.write_table` of the table to a new file, from the call to the closed file: wall and CPU
      seconds (`time.perf_counter`, `time.process_time`), the file's size, its codecs and the columns it gave
      a dictionary page. "defaults" is pyarrow's defaults (a dictionary on every column, 1 MiB pages) but for
      the compression and the row group size; "same" also takes our writer's encodings (a dictionary on the
      given columns only, PLAIN for the rest) and page size.

pyarrow's 'lz4' is LZ4_RAW in the file (LZ4 blocks without framing), as ours; checked through the codecs.
"""
import argparse
import json
import os
import sys
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


def dictionary_columns(path):
    """Columns with a dictionary page in any row group."""
    metadata = pq.ParquetFile(path).metadata
    found = set()
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            if group.column(c).has_dictionary_page:
                found.add(group.column(c).path_in_schema)
    return sorted(found)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rows")
    parser.add_argument("workdir")
    parser.add_argument("--row-group-rows", type=int, required=True)
    args = parser.parse_args()

    # One chunk per column, pyarrow's fastest input (the JSON reader returns many).
    table = pj.read_json(args.rows, parse_options=pj.ParseOptions(explicit_schema=SCHEMA)).combine_chunks()
    print(json.dumps({"pyarrow": pa.__version__, "rows": table.num_rows}), flush=True)

    for line in sys.stdin:
        request = json.loads(line)
        if "check" in request:
            ours = pq.read_table(request["check"])
            reply = {
                "mismatched_columns": [f.name for f in SCHEMA if not ours.column(f.name).equals(table.column(f.name))],
                "codecs": codecs(request["check"]),
                "dictionary_columns": dictionary_columns(request["check"]),
            }
        else:
            path = os.path.join(args.workdir, f"pyarrow-{request['write']}-{request['compression']}.parquet")
            options = {"compression": request["compression"], "row_group_size": args.row_group_rows}
            if request["write"] == "same":
                options["use_dictionary"] = request["dictionary"]
            if request.get("page_bytes"):
                options["data_page_size"] = request["page_bytes"]
            wall, cpu = time.perf_counter(), time.process_time()
            pq.write_table(table, path, **options)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            reply = {"wall": wall, "cpu": cpu, "bytes": os.path.getsize(path), "codecs": codecs(path),
                     "dictionary_columns": dictionary_columns(path)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
