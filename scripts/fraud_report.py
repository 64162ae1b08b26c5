#!/usr/bin/env python3
"""Precision and recall of fraud-detection's rules and model against the generator's ground truth.

    kvstream gen payments --count 200000 --customers 200000 --rate 50 --labels labels.jsonl --out events.jsonl
    kvstream run fraud-detection --bounded --set sources.payments.type=file --set sources.payments.path=events.jsonl
    python3 scripts/fraud_report.py --labels labels.jsonl --scored lake/payments_scored [--threshold 0.5]

--scored is the job's `payments_scored` table: a lake directory of Parquet files (dt= partitions) or a directory
of JSON-lines files (the `jsonl` sink). Payments are joined with the labels by event_id; a payment without a label
is a normal, legitimate one. Prints a Markdown table:

- alerts: payments the rule flagged (the model: score >= threshold);
- precision: the share of those that are fraud (any pattern);
- recall: the share of the pattern's fraudulent payments that the rule flagged (the model and "any rule": of all
  fraudulent payments);
- episodes: the share of the pattern's fraud episodes with at least one payment flagged. A burst of 6 payments
  is caught from its 5th payment on (VELOCITY needs 5), so its payment recall is at most 2/6 while catching the
  episode is what matters.

Needs the duckdb package (pip install duckdb).
"""
import argparse
import glob
import os
import sys

import duckdb

RULES = ["VELOCITY", "AMOUNT_SPIKE", "IMPOSSIBLE_TRAVEL", "NEW_COUNTRY", "MANY_BENEFICIARIES"]


def scored_relation(path):
    if glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True):
        return f"read_parquet('{path}/**/*.parquet', hive_partitioning=true, union_by_name=true)"
    if glob.glob(os.path.join(path, "*.jsonl")):
        return (f"read_json('{path}/*.jsonl', format='newline_delimited', "
                "columns={'event_id': 'VARCHAR', 'rules': 'VARCHAR[]', 'score': 'DOUBLE'})")
    sys.exit(f"fraud_report: no Parquet or JSON-lines files under {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", required=True, help="the labels file of kvstream gen payments --labels")
    parser.add_argument("--scored", required=True, help="the payments_scored table (lake or jsonl directory)")
    parser.add_argument("--threshold", type=float, default=0.5, help="score at or above which the model flags")
    args = parser.parse_args()

    con = duckdb.connect()
    con.execute(f"create table labels as select * from read_json('{args.labels}', format='newline_delimited')")
    con.execute(f"create table scored as select event_id, rules, score from {scored_relation(args.scored)}")
    con.execute("""
        create table p as
        select s.event_id, s.rules, s.score, coalesce(l.fraud, false) as fraud, l.pattern, l.episode, l.role
        from scored s left join labels l using (event_id)""")
    total, fraud = con.execute("select count(*), count(*) filter (where fraud) from p").fetchone()
    if total == 0:
        sys.exit("fraud_report: payments_scored is empty")
    if fraud == 0:
        sys.exit("fraud_report: no labelled fraud among the scored payments (same seed and count as the labels?)")

    def row(name, flag, pattern):
        """flag: SQL condition on p; pattern: None for all fraud."""
        of_pattern = "fraud" + ("" if pattern is None else f" and pattern = '{pattern}'")
        alerts, hits, caught, positives = con.execute(f"""
            select count(*) filter (where {flag}), count(*) filter (where {flag} and fraud),
                   count(*) filter (where {flag} and {of_pattern}), count(*) filter (where {of_pattern})
            from p""").fetchone()
        episodes, caught_episodes = con.execute(f"""
            select count(*), count(*) filter (where hit) from (
                select episode, bool_or({flag}) as hit from p where {of_pattern} group by episode)""").fetchone()
        pct = lambda a, b: f"{100 * a / b:.1f}%" if b else "-"
        return f"| {name} | {alerts} | {pct(hits, alerts)} | {pct(caught, positives)} | {pct(caught_episodes, episodes)} |"

    print(f"{total} scored payments, {fraud} fraudulent ({100 * fraud / total:.2f}%), threshold {args.threshold}\n")
    print("| rule | alerts | precision | recall (payments) | recall (episodes) |")
    print("|---|---:|---:|---:|---:|")
    for rule in RULES:
        print(row(rule, f"list_contains(rules, '{rule}')", rule))
    print(row("any rule", "len(rules) > 0", None))
    print(row(f"model (score >= {args.threshold})", f"score >= {args.threshold}", None))


if __name__ == "__main__":
    main()
