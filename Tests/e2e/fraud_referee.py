#!/usr/bin/env python3
"""Independent referee for the `fraud-detection` job (SPEC sections 2, 3 and 5).

    python3 Tests/e2e/fraud_referee.py --input events.jsonl --model jobs/fraud-model.json --output OUT \
        [--output OUT2 ...] [--manifest crafted.json] [--dump-expected DIR]

Every rule, feature and score is computed in DuckDB SQL (FRAUD_SQL below) from the input file; validation and
the watermark each record meets are the stages 1 and 2 of referee.py's SQL (the `realtime-aggregations`
referee), so both referees agree on what is valid and when. Python reads the job's JSON-lines output and
compares: `fraud_alerts` row by row (every column but `detected_at`), `payments_scored` row by row,
`late_events` and `rejected` as sets.

Order and "prior" (docs/fraud-detection.md). A payment that arrives ahead of the watermark (ts > W) waits and
is evaluated when the watermark reaches its ts; all payments released by one watermark step are evaluated in
(ts, event_id) order. A payment that arrives behind the watermark by less than the allowed lateness
(W - 60 s < ts <= W) is evaluated on arrival, after what that watermark released. One later than that goes
to `late_events` and is never evaluated. A payment's prior payments are the customer's payments evaluated
before it. The windowed rules count prior payments with ts in the window; IMPOSSIBLE_TRAVEL compares with the
prior located payment latest in (ts, event_id) order, over |dt|.

`--manifest` names a JSON file {event_id: [rules]} of hand-crafted payments (test_fraud.sh writes it); the
referee's own expectation for them must equal it, which checks the referee against intent written by hand.

Prints one line per check (`ok   ...` / `FAIL ...`, plus `info ...` lines) and exits 1 if any check failed.
"""

import argparse
import collections
import datetime
import glob
import json
import os
import sys
from decimal import Decimal

import duckdb
import pyarrow as pa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import referee  # noqa: E402  (the aggregations referee: validation and watermark stages)

ALLOWED_LATENESS_MS = 60_000
FEATURES = ("velocity", "amount_spike", "impossible_travel", "new_country", "many_beneficiaries",
            "velocity_count", "prior_count", "amount_z", "log_amount", "travel_km", "travel_kmh", "beneficiaries")
RULES = ("VELOCITY", "AMOUNT_SPIKE", "IMPOSSIBLE_TRAVEL", "NEW_COUNTRY", "MANY_BENEFICIARIES")
INT_FEATURES = ("velocity_count", "prior_count", "beneficiaries")
FLOAT_FEATURES = ("amount_z", "log_amount", "travel_km", "travel_kmh")
TOLERANCE = 1e-9  # relative, for doubles (score and features); both sides compute in IEEE doubles

# --------------------------------------------------------------------------------------------------------
# Expected results. Input: valid_payments from referee.EXPECTED_SQL stages 1-2 (one row per valid line, with
# line_no and wm = the watermark the record meets, NULL for -infinity). $lateness = 60000; $score = the
# model's linear term over the feature columns, spliced in from the model file.
# --------------------------------------------------------------------------------------------------------
FRAUD_SQL = r"""
-- ===== F1. Arrival: ahead of the watermark (waits), behind by < 60 s (evaluated on arrival), or too late ====
CREATE TEMP TABLE fraud_arrivals AS
SELECT *,
       CASE WHEN wm IS NULL OR ts > wm THEN 'waiting'
            WHEN ts + $lateness > wm  THEN 'late'
            ELSE 'too_late' END AS arrival
FROM valid_payments;

-- ===== F2. Evaluation order per customer ==================================================================
-- The watermark steps: each value of W and the first line that meets it (the source emits the step just
-- before that line), per split (part). W never decreases along a split.
CREATE TEMP TABLE wm_steps AS
SELECT part, wm, min(line_no) AS at_line FROM valid_payments WHERE wm IS NOT NULL GROUP BY part, wm;

-- A waiting payment is released by the first step with W >= ts (after its own line, since its W < ts), or by
-- the end of the input; a late one is evaluated at its own line, after that line's release. seq numbers the
-- customer's evaluations.
CREATE TEMP TABLE evaluated AS
WITH released AS (
    SELECT a.*, coalesce(s.at_line, 9223372036854775807) AS eval_at, 0 AS eval_kind
    FROM (SELECT * FROM fraud_arrivals WHERE arrival = 'waiting') a
    ASOF LEFT JOIN wm_steps s ON a.part = s.part AND a.ts <= s.wm
),
on_arrival AS (
    SELECT *, line_no AS eval_at, 1 AS eval_kind FROM fraud_arrivals WHERE arrival = 'late'
)
SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY eval_at, eval_kind, ts, event_id) AS seq
FROM (SELECT * FROM released UNION ALL BY NAME SELECT * FROM on_arrival);

-- ===== F3. The rules' measures ============================================================================
-- VELOCITY: this payment and the prior ones with ts in [ts - 60 s, ts].
CREATE TEMP TABLE f_velocity AS
SELECT p.line_no, 1 + count(q.line_no) AS velocity_count
FROM evaluated p LEFT JOIN evaluated q
  ON q.customer_id = p.customer_id AND q.seq < p.seq AND q.ts BETWEEN p.ts - 60000 AND p.ts
GROUP BY p.line_no;

-- AMOUNT_SPIKE and NEW_COUNTRY: window functions over the prior rows in evaluation order. n, S, Q are the
-- count, sum and sum of squares of the prior amounts in cents (HUGEINT, exact): amount > mean + 4 * stddev_pop
-- exactly when d = n*a - S > 0 and d^2 > 16 * (n*Q - S^2). stddev_pop over doubles is kept for information.
CREATE TEMP TABLE f_moments AS
SELECT line_no, amount_cents,
       count(*) OVER prior                                                          AS n,
       coalesce(sum(amount_cents::HUGEINT) OVER prior, 0)                           AS s,
       coalesce(sum(amount_cents::HUGEINT * amount_cents::HUGEINT) OVER prior, 0)   AS q,
       avg(amount_cents::DOUBLE / 100) OVER prior                                   AS mean_double,
       stddev_pop(amount_cents::DOUBLE / 100) OVER prior                            AS stddev_double,
       count(*) OVER (PARTITION BY customer_id, country ORDER BY seq
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)            AS same_country_prior
FROM evaluated
WINDOW prior AS (PARTITION BY customer_id ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING);

CREATE TEMP TABLE f_spike AS
SELECT line_no, n, same_country_prior,
       n * amount_cents - s      AS d,
       n * q - s * s             AS v,
       mean_double, stddev_double
FROM f_moments;

-- IMPOSSIBLE_TRAVEL: the prior located payment latest in (ts, event_id) order. (Without late payments this is
-- lag() over the located payments in event-time order; a late payment can have prior payments with a later ts.)
CREATE TEMP TABLE f_travel AS
WITH pairs AS (
    SELECT p.line_no, p.ts, p.lat, p.lon, q.ts AS q_ts, q.lat AS q_lat, q.lon AS q_lon,
           row_number() OVER (PARTITION BY p.line_no ORDER BY q.ts DESC, q.event_id DESC) AS rn
    FROM evaluated p JOIN evaluated q
      ON q.customer_id = p.customer_id AND q.seq < p.seq AND q.lat IS NOT NULL
    WHERE p.lat IS NOT NULL
),
previous AS (
    SELECT line_no, abs(ts - q_ts) AS dt,
           -- haversine, radius 6371 km
           2 * 6371 * asin(least(1, sqrt(
               pow(sin((lat - q_lat) * (pi() / 180) / 2), 2)
               + cos(q_lat * (pi() / 180)) * cos(lat * (pi() / 180)) * pow(sin((lon - q_lon) * (pi() / 180) / 2), 2)
           ))) AS km
    FROM pairs WHERE rn = 1
)
SELECT line_no, dt, km,
       CASE WHEN km = 0 THEN 0.0 WHEN dt = 0 THEN 20000.0 ELSE least(km * 3600000 / dt, 20000.0) END AS kmh,
       km > 500 AND (dt = 0 OR km * 3600000 / dt > 900) AS impossible
FROM previous;

-- MANY_BENEFICIARIES: distinct beneficiary_id of the transfers with ts in [ts - 10 min, ts], this one included.
CREATE TEMP TABLE f_beneficiaries AS
SELECT p.line_no, count(DISTINCT q.beneficiary_id) AS beneficiaries
FROM evaluated p JOIN evaluated q
  ON q.customer_id = p.customer_id AND q.seq <= p.seq AND q.service = 'transfer'
 AND q.ts BETWEEN p.ts - 600000 AND p.ts
WHERE p.service = 'transfer'
GROUP BY p.line_no;

-- ===== F4. Rules, features and the score ==================================================================
CREATE TEMP TABLE f_features AS
SELECT e.*,
       v.velocity_count >= 5                                                   AS velocity,
       coalesce(s.n >= 10 AND e.amount_cents >= 50000 AND s.d > 0 AND s.d * s.d > 16 * s.v, false) AS amount_spike,
       coalesce(t.impossible, false)                                           AS impossible_travel,
       s.n >= 5 AND s.same_country_prior = 0 AND e.amount_cents >= 30000       AS new_country,
       coalesce(b.beneficiaries, 0) >= 5                                       AS many_beneficiaries,
       v.velocity_count,
       s.n                                                                     AS prior_count,
       CASE WHEN s.n < 10 THEN 0.0
            WHEN s.v = 0 THEN sign(s.d) * 10.0
            ELSE greatest(-10.0, least(10.0, s.d::DOUBLE / sqrt(s.v::DOUBLE))) END AS amount_z,
       log10(1 + e.amount_cents::DOUBLE / 100)                                 AS log_amount,
       coalesce(t.km, 0.0)                                                     AS travel_km,
       coalesce(t.kmh, 0.0)                                                    AS travel_kmh,
       coalesce(b.beneficiaries, 0)                                            AS beneficiaries,
       -- For information: where doubles (stddev_pop) and exact integers disagree on the spike's threshold.
       s.n >= 10 AND e.amount_cents >= 50000
         AND (e.amount_cents::DOUBLE / 100 > s.mean_double + 4 * s.stddev_double)
             <> (s.d > 0 AND s.d * s.d > 16 * s.v)                             AS spike_doubles_differ
FROM evaluated e
JOIN f_velocity v USING (line_no)
JOIN f_spike s USING (line_no)
LEFT JOIN f_travel t USING (line_no)
LEFT JOIN f_beneficiaries b USING (line_no);

CREATE TEMP TABLE expected_scored AS
SELECT *,
       list_filter([CASE WHEN velocity THEN 'VELOCITY' END, CASE WHEN amount_spike THEN 'AMOUNT_SPIKE' END,
                    CASE WHEN impossible_travel THEN 'IMPOSSIBLE_TRAVEL' END,
                    CASE WHEN new_country THEN 'NEW_COUNTRY' END,
                    CASE WHEN many_beneficiaries THEN 'MANY_BENEFICIARIES' END], lambda x: x IS NOT NULL) AS rules,
       1 / (1 + exp(-($score))) AS score
FROM f_features;

CREATE TEMP TABLE expected_late AS SELECT * FROM fraud_arrivals WHERE arrival = 'too_late';
"""


def load_model(path):
    """The model file the job reads: bias and one weight per feature (the job refuses anything else)."""
    with open(path, encoding="utf-8") as f:
        model = json.load(f)
    weights = model["weights"]
    if set(weights) != set(FEATURES):
        raise SystemExit(f"fraud_referee: {path}: weights for {sorted(weights)}, expected {sorted(FEATURES)}")
    return float(model["bias"]), {k: float(v) for k, v in weights.items()}


def score_sql(model):
    bias, weights = model
    terms = [repr(bias)]
    for name in FEATURES:
        column = f"{name}::INTEGER::DOUBLE" if name in FEATURES[:5] else f"{name}::DOUBLE"
        terms.append(f"{weights[name]!r} * {column}")
    return " + ".join(terms)


def kafka_partition(key, partitions):
    """The partition Kafka's default partitioner (murmur2, as librdkafka's murmur2 partitioners) gives a key."""
    m, h = 0x5BD1E995, 0x9747B28C ^ len(key)
    n4 = len(key) // 4 * 4
    for i in range(0, n4, 4):
        k = int.from_bytes(key[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = len(key) - n4
    if rest == 3:
        h ^= key[n4 + 2] << 16
    if rest >= 2:
        h ^= key[n4 + 1] << 8
    if rest >= 1:
        h ^= key[n4]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def compute(input_path, model, partitions=0):
    """A DuckDB connection holding expected_scored, expected_late and referee's checked_lines. With `partitions`,
    each Kafka partition of that many (by the key customer_id) has a watermark of its own, as a job run per
    partition sees it."""
    lines = referee.read_input_lines(input_path)
    con = duckdb.connect()
    table = pa.table({
        "line_no": pa.array(range(1, len(lines) + 1), pa.int64()),
        "raw": pa.array(lines, pa.binary()),
        "raw_text": pa.array([b.decode("utf-8", "replace") for b in lines], pa.string()),
    })
    con.register("input_lines_arrow", table)
    con.execute("CREATE TEMP TABLE input_lines AS SELECT * FROM input_lines_arrow")
    con.unregister("input_lines_arrow")
    stages = referee.EXPECTED_SQL.split("-- ===== Stage 3")
    assert len(stages) == 2, "referee.py's SQL no longer has its stage 3 marker"
    stage1, stage2 = stages[0].split("-- ===== Stage 2")
    con.execute(stage1)
    # The split a record is read from: one for a file; with Kafka, the partition of its key (each partition is a
    # split with a watermark of its own, and a customer's payments all go to one partition).
    con.execute("ALTER TABLE checked_lines ADD COLUMN part INTEGER DEFAULT 0")
    if partitions:
        customers = [r[0] for r in con.execute(
            "SELECT DISTINCT customer_id FROM checked_lines WHERE customer_id IS NOT NULL").fetchall()]
        con.register("parts_arrow", pa.table({
            "customer_id": pa.array(customers, pa.string()),
            "part": pa.array([kafka_partition(c.encode(), partitions) for c in customers], pa.int32())}))
        con.execute("UPDATE checked_lines SET part = p.part FROM parts_arrow p "
                    "WHERE checked_lines.customer_id = p.customer_id")
        con.unregister("parts_arrow")
    over = "OVER (ORDER BY line_no ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    assert over in stage2, "referee.py's watermark is no longer a window over the file order"
    con.execute(("-- ===== Stage 2" + stage2).replace(over, over.replace("(ORDER BY", "(PARTITION BY part ORDER BY"))
                .replace("$ooo", str(referee.BOUNDED_OUT_OF_ORDERNESS_MS))
                .replace("$granularity", str(referee.WATERMARK_GRANULARITY_MS)))
    con.execute(FRAUD_SQL.replace("$lateness", str(ALLOWED_LATENESS_MS)).replace("$score", score_sql(model)))
    return con


SCORED_COLUMNS = ("event_id", "ts", "customer_id", "merchant_id", "service", "amount_cents", "currency", "channel",
                  "country", "lat", "lon", "device_id", "beneficiary_id", "rules", "score") + FEATURES[5:]


def _iso(ms):
    """Epoch milliseconds as the JSON-lines sink writes a timestamp."""
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def expected_rows(con):
    """{event_id: dict} of every evaluated payment."""
    cur = con.execute(f"SELECT {', '.join(SCORED_COLUMNS)} FROM expected_scored")
    result = {}
    for row in cur.fetchall():
        r = dict(zip(SCORED_COLUMNS, row))
        r["rules"] = list(r["rules"])
        result[r["event_id"]] = r
    return result


# --------------------------------------------------------------------------------------------------------
# The job's output
# --------------------------------------------------------------------------------------------------------
def read_table(out, table):
    """Rows of every committed part file of a table (part-<subtask>-<checkpoint>.jsonl), with their file."""
    rows = []
    for path in sorted(glob.glob(os.path.join(out, table, "part-*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    rows.append((f"{os.path.basename(path)}:{i}", referee.parse_json_line(line)))
    return rows


def close(a, b):
    return a == b or abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def cents(value):
    return int(Decimal(value) * 100)


def compare_common(exp, row, features_field, problems):
    """Compares the columns fraud_alerts and payments_scored share; appends what differs."""
    def differ(name, want, got):
        problems.append(f"{name}: expected {want!r}, got {got!r}")
    checks = [("event_id", exp["event_id"], row.get("event_id")),
              ("customer_id", exp["customer_id"], row.get("customer_id")),
              ("merchant_id", exp["merchant_id"], row.get("merchant_id")),
              ("event_time", _iso(exp["ts"]), row.get("event_time")),
              ("country", exp["country"], row.get("country")),
              ("channel", exp["channel"], row.get("channel")),
              ("rules", exp["rules"], row.get("rules"))]
    for name, want, got in checks:
        if want != got:
            differ(name, want, got)
    amount = row.get("amount")
    if not isinstance(amount, Decimal) or amount.as_tuple().exponent != -2 or cents(amount) != exp["amount_cents"]:
        differ("amount", referee.fmt_cents(exp["amount_cents"]), amount)
    score = row.get("score")
    if not isinstance(score, (Decimal, int)) or not close(exp["score"], float(score)) or not 0 <= score <= 1:
        differ("score", exp["score"], score)
    features = row.get(features_field)
    if not isinstance(features, dict):
        differ(features_field, "an object", features)
        return
    for name in INT_FEATURES:
        if features.get(name) != exp[name]:
            differ(f"{features_field}.{name}", exp[name], features.get(name))
    for name in FLOAT_FEATURES:
        got = features.get(name)
        if not isinstance(got, (Decimal, int)) or not close(exp[name], float(got)):
            differ(f"{features_field}.{name}", exp[name], got)
    if not isinstance(row.get("detected_at"), str):
        differ("detected_at", "a timestamp", row.get("detected_at"))


def check_alerts(expected, rows):
    """fraud_alerts == the evaluated payments with a rule, row by row. Returns (ok, message)."""
    want = {k: v for k, v in expected.items() if v["rules"]}
    got, problems = {}, []
    for where, row in rows:
        key = row.get("alert_id")
        if key in got:
            problems.append(f"{where}: alert {key} written twice")
        got[key] = (where, row)
        if key != row.get("event_id"):
            problems.append(f"{where}: alert_id {key!r} is not event_id {row.get('event_id')!r}")
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    for key in sorted(set(want) & set(got)):
        where, row = got[key]
        row_problems = []
        compare_common(want[key], row, "details", row_problems)
        problems += [f"{where} ({key}): {p}" for p in row_problems]
    if missing or extra or problems:
        return False, (f"{len(want)} expected, {len(got)} written: {len(missing)} missing {missing[:3]}, "
                       f"{len(extra)} unexpected {extra[:3]}, {len(problems)} problems"
                       + (f", first: {problems[0]}" if problems else ""))
    by_rule = collections.Counter(r for v in want.values() for r in v["rules"])
    return True, f"{len(got)} alerts equal, every column ({', '.join(f'{r} {by_rule[r]}' for r in RULES)})"


def check_scored(expected, rows):
    got, problems = {}, []
    for where, row in rows:
        key = row.get("event_id")
        if key in got:
            problems.append(f"{where}: {key} written twice")
        got[key] = (where, row)
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    for key in sorted(set(expected) & set(got)):
        where, row = got[key]
        exp = expected[key]
        row_problems = []
        compare_common(exp, row, "features", row_problems)
        for name in ("service", "currency", "device_id", "beneficiary_id"):
            if row.get(name) != exp[name]:
                row_problems.append(f"{name}: expected {exp[name]!r}, got {row.get(name)!r}")
        for name in ("lat", "lon"):
            g = row.get(name)
            if (g is None) != (exp[name] is None) or (g is not None and float(g) != exp[name]):
                row_problems.append(f"{name}: expected {exp[name]!r}, got {g!r}")
        if row.get("alert") is not bool(exp["rules"]):
            row_problems.append(f"alert: expected {bool(exp['rules'])}, got {row.get('alert')!r}")
        problems += [f"{where} ({key}): {p}" for p in row_problems]
    if missing or extra or problems:
        return False, (f"{len(expected)} expected, {len(got)} written: {len(missing)} missing {missing[:3]}, "
                       f"{len(extra)} unexpected {extra[:3]}, {len(problems)} problems"
                       + (f", first: {problems[0]}" if problems else ""))
    return True, f"{len(got)} rows equal (every valid payment not too late, with its score, rules and features)"


def check_late(con, rows):
    want = collections.Counter(e for (e,) in con.execute("SELECT event_id FROM expected_late").fetchall())
    got = collections.Counter(r.get("event_id") for _, r in rows)
    wrong_operator = [r.get("operator") for _, r in rows if r.get("operator") != "rules"]
    if want != got or wrong_operator:
        return False, (f"{sum(want.values())} expected, {sum(got.values())} written; missing "
                       f"{sorted(want - got)[:3]}, unexpected {sorted(got - want)[:3]}"
                       + (f"; operator {wrong_operator[0]!r} instead of 'rules'" if wrong_operator else ""))
    return True, f"{sum(got.values())} payments later than the allowed lateness, none evaluated"


def check_rejected(con, rows):
    want = collections.Counter(n for (n,) in con.execute(
        "SELECT line_no FROM checked_lines WHERE reject_reason IS NOT NULL").fetchall())
    got = collections.Counter()
    for where, row in rows:
        position = str(row.get("position", ""))
        line = position.rpartition(":")[2]
        got[int(line) if line.isdigit() else -1] += 1
    if want != got:
        return False, (f"{sum(want.values())} expected, {sum(got.values())} written; lines missing "
                       f"{sorted(want - got)[:5]}, unexpected {sorted(got - want)[:5]}")
    return True, f"{sum(got.values())} invalid lines, each once"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--model", required=True, help="the model file the job used (jobs/fraud-model.json)")
    ap.add_argument("--output", action="append", default=[], help="a job output dir (OUT/<table>/part-*.jsonl)")
    ap.add_argument("--manifest", help="JSON {event_id: [rules]} of crafted payments")
    ap.add_argument("--dump-expected", metavar="FILE", help="write the expected payments_scored rows as JSON lines")
    args = ap.parse_args(argv)
    report = referee.Report()
    con = compute(args.input, load_model(args.model))
    expected = expected_rows(con)
    stats = con.execute("""
        SELECT count(*) FILTER (arrival = 'waiting'), count(*) FILTER (arrival = 'late'),
               count(*) FILTER (arrival = 'too_late') FROM fraud_arrivals""").fetchone()
    by_rule = collections.Counter(r for v in expected.values() for r in v["rules"])
    report.info(f"input {args.input}: {len(expected) + stats[2]} valid payments: {stats[0]} waited for the "
                f"watermark, {stats[1]} evaluated on arrival behind it, {stats[2]} too late")
    report.info(f"expected: {sum(1 for v in expected.values() if v['rules'])} alerts; "
                + ", ".join(f"{r} {by_rule[r]}" for r in RULES))
    differ = con.execute("SELECT count(*) FROM f_features WHERE spike_doubles_differ").fetchone()[0]
    report.info(f"{differ} payments where AMOUNT_SPIKE over doubles (stddev_pop) would differ from exact integers")
    if args.dump_expected:
        with open(args.dump_expected, "w", encoding="utf-8") as f:
            for key in sorted(expected):
                f.write(json.dumps(expected[key], default=str) + "\n")

    report.check(all(by_rule[r] > 0 for r in RULES), "every rule is exercised",
                 ", ".join(f"{r} {by_rule[r]}" for r in RULES))
    if args.manifest:
        with open(args.manifest, encoding="utf-8") as f:
            manifest = json.load(f)
        wrong = [(k, v, expected.get(k, {}).get("rules", "not evaluated")) for k, v in sorted(manifest.items())
                 if (expected[k]["rules"] if k in expected else None) != v]
        report.check(not wrong, "crafted payments: the referee agrees with the hand-written expectations",
                     f"{len(manifest)} payments" if not wrong else
                     f"{len(wrong)} differ, first: {wrong[0][0]} intended {wrong[0][1]}, referee {wrong[0][2]}")

    for out in args.output:
        label = os.path.basename(os.path.normpath(out))
        ok, msg = check_alerts(expected, read_table(out, "fraud_alerts"))
        report.check(ok, f"[{label}] fraud_alerts", msg)
        ok, msg = check_scored(expected, read_table(out, "payments_scored"))
        report.check(ok, f"[{label}] payments_scored", msg)
        ok, msg = check_late(con, read_table(out, "late_events"))
        report.check(ok, f"[{label}] late_events", msg)
        ok, msg = check_rejected(con, read_table(out, "rejected"))
        report.check(ok, f"[{label}] rejected", msg)
    print(f"fraud referee: {report.passed} passed, {report.failed} failed", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
