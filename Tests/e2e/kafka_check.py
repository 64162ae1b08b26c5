#!/usr/bin/env python3
"""Checks for test_kafka.sh. Each subcommand prints one line and exits 1 when the check fails.

  alerts-vs-duckdb EVENTS OUT     fraud_alerts rows == VELOCITY by a DuckDB self-join over the events file
  same-output A B                 two output directories hold the same committed rows (table by table, ignoring
                                  processing-time columns), and neither has a row twice
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


def alerts_vs_duckdb(events, out):
    con = duckdb.connect()
    # The job's validation is the referee's too: a payment is valid when it decodes; rejected lines are in the
    # job's `rejected` table, which this check subtracts by position (line numbers are not known for Kafka, so by
    # raw text).
    rejected = {r["raw"] for r in rows(out, "rejected")}
    valid = []
    with open(events, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line in rejected:
                continue
            e = json.loads(line)
            valid.append((e["event_id"], e["ts"], e["customer_id"]))
    con.execute("create table e(event_id varchar, ts bigint, customer_id varchar)")
    con.executemany("insert into e values (?, ?, ?)", valid)
    expected = {r[0]: r[1] for r in con.execute("""
        select p.event_id, count(*) from e p join e q
          on q.customer_id = p.customer_id and q.ts between p.ts - 60000 and p.ts
         and (q.ts < p.ts or (q.ts = p.ts and q.event_id <= p.event_id))
        group by p.event_id having count(*) >= 5""").fetchall()}
    got = {}
    for r in rows(out, "fraud_alerts"):
        if r["alert_id"] in got:
            return fail(f"alert {r['alert_id']} written twice")
        got[r["alert_id"]] = json.loads(r["details"])["velocity_count"] if isinstance(r["details"], str) \
            else r["details"]["velocity_count"]
    if got != expected:
        missing = sorted(set(expected) - set(got))[:3]
        extra = sorted(set(got) - set(expected))[:3]
        wrong = [k for k in set(got) & set(expected) if got[k] != expected[k]][:3]
        return fail(f"alerts differ from DuckDB: {len(expected)} expected, {len(got)} written; missing {missing}, "
                    f"extra {extra}, wrong counts {wrong}")
    print(f"{len(got)} alerts of {len(valid)} valid events equal DuckDB's VELOCITY")


def same_output(a, b):
    tables = sorted({os.path.basename(d) for d in glob.glob(f"{a}/*") + glob.glob(f"{b}/*") if os.path.isdir(d)})
    if not tables:
        return fail("no tables")
    for table in tables:
        ra = [comparable(r) for r in rows(a, table)]
        rb = [comparable(r) for r in rows(b, table)]
        for name, rs in ((a, ra), (b, rb)):
            if len(set(rs)) != len(rs):
                return fail(f"{name}/{table} holds a row twice")
        if sorted(ra) != sorted(rb):
            return fail(f"{table}: {len(ra)} rows in {a}, {len(rb)} in {b}, "
                        f"{len(set(ra) - set(rb))} only in {a}, {len(set(rb) - set(ra))} only in {b}")
    print(f"{', '.join(f'{t} ({len(rows(a, t))})' for t in tables)} equal, no row twice")


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
    {"alerts-vs-duckdb": alerts_vs_duckdb, "same-output": same_output, "dlq": dlq,
     "keys-cover": keys_cover}[command](*args)
