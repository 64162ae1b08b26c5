#!/usr/bin/env python3
"""Checks for test_kafka.sh. Each subcommand prints one line and exits 1 when the check fails.

  alerts-vs-duckdb EVENTS OUT     fraud_alerts and payments_scored == fraud_referee.py's DuckDB SQL over the
                                  events file (every rule, feature and score)
  same-output A B                 two output directories hold the same committed rows (table by table, ignoring
                                  processing-time columns), and neither has a row twice
  same-final A B                  two output directories hold the same rows once upserts are applied (the last row per
                                  primary key, in commit order, for the windowed tables; all rows, none twice, for
                                  the others), ignoring processing-time columns
  dlq EVENTS DLQ_DUMP             every invalid line of EVENTS is in the dead-letter dump once, byte for byte,
                                  with a reason header, and nothing else is
  keys-cover OUT TOPIC_DUMP       every fraud alert id is a message key of the alerts topic dump
"""
import glob
import json
import os
import sys

import duckdb

PROCESSING_TIME = {"detected_at", "received_at", "updated_at"}


def rows(out, table):
    """Committed rows of a table, in commit order (by checkpoint, then instance, then line)."""
    def order(path):
        name = os.path.basename(path)[len("part-"):-len(".jsonl")]
        instance, checkpoint = name.rsplit("-", 1)
        return (int(checkpoint), instance)
    result = []
    for path in sorted(glob.glob(f"{out}/{table}/part-*.jsonl"), key=order):
        with open(path, encoding="utf-8") as f:
            result += [json.loads(line) for line in f if line.strip()]
    return result


def comparable(row):
    return json.dumps({k: v for k, v in row.items() if k not in PROCESSING_TIME}, sort_keys=True)


def valid_events(con, events):
    con.execute(f"""
        create table lines as select line, row_number() over () as n
        from read_csv('{events}', columns={{'line': 'VARCHAR'}}, delim=chr(1), quote='', escape='', header=false,
                      auto_detect=false)""")


def alerts_vs_duckdb(events, out, partitions="0"):
    """fraud_alerts and payments_scored against fraud_referee.py's SQL (every rule, feature and score).

    With PARTITIONS, the referee gives each partition (Kafka's murmur2 of customer_id) a watermark of its own, as
    the job's per-partition runs have. Without, it orders each customer's payments by the watermark of the whole
    file; where no payment is behind that watermark, none is behind its partition's either, and both evaluate
    every customer in (ts, event_id) order: the input must then be such."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fraud_referee
    model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "jobs", "fraud-model.json")
    con = fraud_referee.compute(events, fraud_referee.load_model(model), int(partitions))
    behind = con.execute("SELECT count(*) FROM fraud_arrivals WHERE arrival <> 'waiting'").fetchone()[0]
    if behind and partitions == "0":
        return fail(f"{behind} payments are behind the watermark: the per-partition order is not modelled here")
    expected = fraud_referee.expected_rows(con)
    ok, message = fraud_referee.check_alerts(expected, fraud_referee.read_table(out, "fraud_alerts"))
    if not ok:
        return fail(f"fraud_alerts: {message}")
    ok, scored = fraud_referee.check_scored(expected, fraud_referee.read_table(out, "payments_scored"))
    if not ok:
        return fail(f"payments_scored: {scored}")
    print(f"{message}; payments_scored: {scored}")


# The upserted tables of realtime-aggregations and their primary keys (SPEC section 4).
UPSERT_KEYS = {
    "sales_per_minute": ("window_start", "channel", "country"),
    "merchant_activity": ("window_end", "merchant_id"),
    "daily_client_summary": ("day", "customer_id", "service"),
}


def all_rows(out, table):
    return [comparable(r) for r in rows(out, table)]


def final_rows(out, table):
    """The table once upserts are applied: the last row per primary key for UPSERT_KEYS' tables, else all rows."""
    keys = UPSERT_KEYS.get(table)
    if keys is None:
        return all_rows(out, table)
    last = {}
    for r in rows(out, table):
        last[tuple(json.dumps(r[k]) for k in keys)] = comparable(r)
    return list(last.values())


def compare_outputs(a, b, table_rows, may_repeat, summary):
    """Every table of two output directories holds the same rows (table_rows(out, table)), and none holds a row
    twice unless may_repeat(table)."""
    tables = sorted({os.path.basename(d) for d in glob.glob(f"{a}/*") + glob.glob(f"{b}/*") if os.path.isdir(d)})
    if not tables:
        return fail("no tables")
    counts = {}
    for table in tables:
        ra, rb = table_rows(a, table), table_rows(b, table)
        counts[table] = len(ra)
        for name, rs in ((a, ra), (b, rb)):
            if not may_repeat(table) and len(set(rs)) != len(rs):
                return fail(f"{name}/{table} holds a row twice")
        if sorted(ra) != sorted(rb):
            return fail(f"{table}: {len(ra)} rows in {a}, {len(rb)} in {b}, "
                        f"{len(set(ra) - set(rb))} only in {a}, {len(set(rb) - set(ra))} only in {b}")
    print(f"{', '.join(f'{t} ({counts[t]})' for t in tables)} {summary}")


def same_output(a, b):
    compare_outputs(a, b, all_rows, lambda table: False, "equal, no row twice")


def same_final(a, b):
    compare_outputs(a, b, final_rows, lambda table: table in UPSERT_KEYS, "equal")


def dlq(events, dump):
    # The dump holds `reason<TAB>value` per message (kcat -f '%h\t%s\n').
    invalid = []
    with open(events, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            try:
                json.loads(line)
            except ValueError:
                invalid.append(line)
    with open(dump, encoding="utf-8") as f:
        got = [line.rstrip("\n").split("\t", 1) for line in f if line.strip()]
    values = sorted(v for _, v in got)
    if any("kvstream.reason=" not in h for h, _ in got):
        return fail("a dead letter without a kvstream.reason header")
    # Lines that parse as JSON but break a rule are invalid too: everything in the dump must be an input line,
    # and every unparseable line must be in the dump.
    lines = set(open(events, encoding="utf-8").read().split("\n"))
    if any(v not in lines for v in values):
        return fail("a dead letter that is not byte-identical to an input line")
    if len(set(values)) != len(values):
        return fail("a dead letter sent twice")
    if not set(invalid) <= set(values):
        return fail(f"{len(set(invalid) - set(values))} unparseable lines missing from the dead-letter topic")
    print(f"{len(values)} dead letters, byte-identical to their input lines, each with a reason")


def keys_cover(out, dump):
    with open(dump, encoding="utf-8") as f:
        keys = {line.rstrip("\n") for line in f if line.strip()}
    ids = {r["alert_id"] for r in rows(out, "fraud_alerts")}
    if not ids:
        return fail("no alerts")
    if not ids <= keys:
        return fail(f"{len(ids - keys)} of {len(ids)} alerts missing from the topic")
    print(f"all {len(ids)} alerts are on the topic, keyed by alert id ({len(keys)} keys)")


def fail(message):
    print(message)
    sys.exit(1)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"alerts-vs-duckdb": alerts_vs_duckdb, "same-output": same_output, "same-final": same_final, "dlq": dlq,
     "keys-cover": keys_cover}[command](*args)
