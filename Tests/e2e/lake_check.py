#!/usr/bin/env python3
"""Checks for test_lake.sh. Each subcommand prints one line and exits 1 when the check fails.

  same LAKE JSONL KEY   the lake's `rejected` and `late_events` (read by DuckDB with hive partitioning, every file
                        also by pyarrow) hold the rows of the JSON-lines output JSONL, once each, with customer_id
                        pseudonymised as HMAC-SHA256(KEY, customer_id), dt = the UTC date of the row's time, and
                        the expected Parquet types
  files LAKE            nothing a reader would see is partial: every *.parquet opens with pyarrow; no file twice
  compacted LAKE JSONL  compaction merged files: in the lake's rejected and late_events, each instance has at most
                        two files per partition (the final checkpoint's merge and its own file), some of them merges
                        (their footer lists what they hold); the JSON-lines sink's file count is printed beside
  s3-download ENDPOINT BUCKET PREFIX DIR   copies every visible object under PREFIX to DIR (boto3)
"""
import datetime
import glob
import hashlib
import hmac
import json
import os
import sys
from decimal import Decimal

import duckdb
import pyarrow.parquet as pq


def fail(message):
    print(message)
    sys.exit(1)


def jsonl_rows(out, table):
    rows = []
    for path in glob.glob(f"{out}/{table}/part-*.jsonl"):
        with open(path, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def iso_ms(value):
    """A timestamp read back (datetime with tz) as the JSON-lines sink prints it."""
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def same(lake, out, key):
    con = duckdb.connect()
    files = glob.glob(f"{lake}/**/*.parquet", recursive=True)
    if not files:
        return fail(f"no Parquet files under {lake}")
    for path in files:
        pq.read_table(path)  # every file opens
    checked = []
    for table, ident, time_column in (("rejected", ("raw", "reason", "position"), "received_at"),
                                      ("late_events", ("event_id", "operator"), "ts")):
        expected = jsonl_rows(out, table)
        if not glob.glob(f"{lake}/{table}/**/*.parquet", recursive=True):
            if expected:
                return fail(f"{table}: no Parquet files, {len(expected)} rows expected")
            continue
        rel = con.sql(f"SELECT * FROM read_parquet('{lake}/{table}/**/*.parquet', hive_partitioning=true)")
        names = rel.columns
        # Through Arrow: DuckDB's own Python conversion of timestamptz needs pytz.
        got = rel.to_arrow_table().to_pylist()
        if len(got) != len(expected):
            return fail(f"{table}: {len(got)} rows in the lake, {len(expected)} in the JSON-lines output")
        types = dict(zip(names, [str(t) for t in rel.types]))
        if table == "late_events":
            want = {"ts": "BIGINT", "amount": "DECIMAL(18,2)", "watermark": "TIMESTAMP WITH TIME ZONE",
                    "lat": "DOUBLE", "event_id": "VARCHAR"}
            for column, t in want.items():
                if types.get(column) != t:
                    return fail(f"late_events.{column} is {types.get(column)}, expected {t}")
        def k(row, pseudonymise):
            values = []
            for c in ident:
                values.append(row[c])
            if table == "late_events":
                cid = row["customer_id"]
                values.append(hmac.new(key.encode(), cid.encode(), hashlib.sha256).hexdigest() if pseudonymise else cid)
                values.append(str(Decimal(str(row["amount"])).quantize(Decimal("0.01"))))
            return tuple(values)
        exp = sorted(k(r, True) for r in expected)
        act = sorted(k(r, False) for r in got)
        if exp != act:
            diff = sorted(set(exp) ^ set(act))[:2]
            return fail(f"{table}: rows differ, e.g. {diff}")
        if len(set(act)) != len(act):
            return fail(f"{table}: a row twice")
        # dt is the UTC date of the row's time.
        for r in got:
            t = r[time_column]
            day = (datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc) if isinstance(t, int)
                   else t.astimezone(datetime.timezone.utc)).date()
            if str(r["dt"]) != str(day):
                return fail(f"{table}: a row of {day} in dt={r['dt']}")
        checked.append(f"{table} {len(got)}")
    print(f"{', '.join(checked)} rows equal the JSON-lines output, pseudonymised, in their dt partitions")


def files(lake):
    paths = glob.glob(f"{lake}/**/*.parquet", recursive=True)
    names = [os.path.relpath(p, lake) for p in paths]
    rows = 0
    for p in paths:
        rows += pq.read_metadata(p).num_rows
    if len(set(names)) != len(names):
        return fail("a file twice")
    hidden = [p for p in glob.glob(f"{lake}/**/.*", recursive=True)]
    print(f"{len(paths)} visible files, all readable ({rows} rows); {len(hidden)} hidden files")


def compacted(lake, out):
    files = [p for t in ("rejected", "late_events") for p in glob.glob(f"{lake}/{t}/**/*.parquet", recursive=True)]
    lines = [p for t in ("rejected", "late_events") for p in glob.glob(f"{out}/{t}/part-*.jsonl")]
    merged = sum(1 for p in files if b"kvstream.compacted_from" in (pq.read_metadata(p).metadata or {}))
    # The final checkpoint of a run merges every partition's small files: each instance keeps at most its merge
    # and the final checkpoint's own file per partition.
    per = {}
    for p in files:
        instance = os.path.basename(p)[len("part-"):].rsplit("-", 2)[0]
        per.setdefault((os.path.dirname(p), instance), []).append(os.path.basename(p))
    crowded = {k: v for k, v in per.items() if len(v) > 2}
    if not merged or crowded:
        return fail(f"{len(files)} Parquet files ({merged} merged) for {len(lines)} JSON-lines files; "
                    f"more than 2 files of an instance in a partition: {sorted(crowded.items())[:3]}")
    print(f"{len(files)} Parquet files ({merged} merged) for {len(lines)} JSON-lines files, at most 2 per instance "
          f"and partition")


def s3_download(endpoint, bucket, prefix, directory):
    import boto3
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not key.endswith(".parquet") or "/." in key:
                continue
            path = os.path.join(directory, os.path.relpath(key, prefix))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, key, path)
            n += 1
    print(f"{n} objects downloaded")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"same": same, "files": files, "compacted": compacted, "s3-download": s3_download}[command](*args)
