#!/usr/bin/env python3
"""Independent referee for the `realtime-aggregations` job (SPEC sections 2 and 3).

    python3 Tests/e2e/referee.py --input events.jsonl --output OUT [--output OUT2 ...]

The expected results are computed in DuckDB SQL (see EXPECTED_SQL below). Python only reads the input
into a table `input_lines(line_no, raw, raw_text)` and, on the other side, reads the job's JSON-lines
output files, materializes the upsert changelogs (last line per primary key) and compares.

Prints one line per check (`ok   ...` / `FAIL ...`, plus `info ...` lines that are not checks) and exits
1 if any check failed, 2 on bad usage.
"""

import argparse
import collections
import glob
import re
import json
import os
import sys
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import duckdb
import pyarrow as pa

BOUNDED_OUT_OF_ORDERNESS_MS = 5_000
ALLOWED_LATENESS_MS = 60_000
# The job's sources advance watermarks in whole steps of event time (WatermarkStrategy.granularity) and cut
# their batches where the watermark moves, so the watermark a record meets is a function of the records before
# it alone: W(r) = floor((max ts before r - 5000 - 1) / 1000) * 1000.
WATERMARK_GRANULARITY_MS = 1_000

TABLES = ("sales_per_minute", "merchant_activity", "daily_client_summary", "rejected", "late_events")

# --------------------------------------------------------------------------------------------------------
# Expected results, in SQL. Input: input_lines(line_no BIGINT 1-based, raw BLOB = the bytes of the line
# without its '\n', raw_text VARCHAR = the same decoded as UTF-8 with U+FFFD for invalid bytes, used only
# to match the job's `rejected.raw`). Parameters: $ooo (5000), $lateness (60000), $granularity (1000).
# --------------------------------------------------------------------------------------------------------
EXPECTED_SQL = r"""
-- ===== Stage 1. SPEC section 2: parse and validate every line =====================================
CREATE TEMP TABLE checked_lines AS
WITH
-- A line must be UTF-8 text (decode() fails on anything else; try() turns the failure into NULL).
decoded AS (
    SELECT line_no, raw_text, try(decode(raw)) AS txt
    FROM input_lines
),
-- "A record that is not valid JSON ... is rejected". DuckDB's JSON parser is laxer than RFC 8259: it
-- accepts NaN/Infinity literals and trailing commas. So we also look at the line's skeleton (every
-- string literal blanked out) and refuse those. Blank lines are not valid JSON (json_valid('') = false).
json_checked AS (
    SELECT line_no, raw_text, txt,
           regexp_replace(txt, '"([^"\\]|\\.)*"', '""', 'g') AS skeleton
    FROM decoded
),
-- doc = the line when it is one strict JSON value, else NULL (so no JSON function below ever sees a
-- malformed text).
docs AS (
    SELECT line_no, raw_text,
           CASE WHEN json_valid(txt)
                 AND NOT regexp_matches(skeleton, ',\s*[\]}]')                        -- trailing comma
                 AND NOT regexp_matches(regexp_replace(skeleton, 'true|false|null', '', 'g'),
                                        '[A-DF-Za-df-z]')                            -- NaN, Infinity
                THEN txt END AS doc
    FROM json_checked
),
-- Every field the SPEC names: its JSON type (NULL when absent; JSON null also counts as absent, team
-- decision) and its value. Unknown fields are ignored.
fields AS (
    SELECT line_no, raw_text, doc,
           json_type(doc) AS doc_type,
           CASE WHEN json_type(doc) = 'OBJECT' THEN json_keys(doc) END AS keys,
           nullif(json_type(doc, '$.event_id'), 'NULL')       AS event_id_type,
           json_extract_string(doc, '$.event_id')             AS event_id,
           nullif(json_type(doc, '$.ts'), 'NULL')             AS ts_type,
           json_extract(doc, '$.ts')::VARCHAR                 AS ts_text,
           nullif(json_type(doc, '$.customer_id'), 'NULL')    AS customer_id_type,
           json_extract_string(doc, '$.customer_id')          AS customer_id,
           nullif(json_type(doc, '$.merchant_id'), 'NULL')    AS merchant_id_type,
           json_extract_string(doc, '$.merchant_id')          AS merchant_id,
           nullif(json_type(doc, '$.service'), 'NULL')        AS service_type,
           json_extract_string(doc, '$.service')              AS service,
           nullif(json_type(doc, '$.amount'), 'NULL')         AS amount_type,
           -- DuckDB gives the number back as text (integers exactly, other numbers as the shortest text
           -- that reads back as the same double, e.g. 12.345 -> '12.345', 1E2 -> '100.0').
           json_extract(doc, '$.amount')::VARCHAR             AS amount_text,
           nullif(json_type(doc, '$.currency'), 'NULL')       AS currency_type,
           json_extract_string(doc, '$.currency')             AS currency,
           nullif(json_type(doc, '$.channel'), 'NULL')        AS channel_type,
           json_extract_string(doc, '$.channel')              AS channel,
           nullif(json_type(doc, '$.country'), 'NULL')        AS country_type,
           json_extract_string(doc, '$.country')              AS country,
           nullif(json_type(doc, '$.lat'), 'NULL')            AS lat_type,
           json_extract(doc, '$.lat')::VARCHAR                AS lat_text,
           nullif(json_type(doc, '$.lon'), 'NULL')            AS lon_type,
           json_extract(doc, '$.lon')::VARCHAR                AS lon_text,
           nullif(json_type(doc, '$.device_id'), 'NULL')      AS device_id_type,
           json_extract_string(doc, '$.device_id')            AS device_id,
           nullif(json_type(doc, '$.beneficiary_id'), 'NULL') AS beneficiary_id_type,
           json_extract_string(doc, '$.beneficiary_id')      AS beneficiary_id
    FROM docs
),
-- Typed values. ts: a JSON integer literal (DuckDB types those UBIGINT/BIGINT; 1.0 and 1e3 are DOUBLE)
-- that fits in 64 bits. amount: exact decimal, rounded to cents half away from zero (DuckDB's DECIMAL
-- round() does that) -- the job keeps money as integer cents.
typed AS (
    SELECT *,
           CASE WHEN ts_type IN ('UBIGINT', 'BIGINT') THEN TRY_CAST(ts_text AS BIGINT) END AS ts,
           CASE WHEN amount_type IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                THEN TRY_CAST(amount_text AS DECIMAL(38, 20)) END                      AS amount_dec,
           CASE WHEN lat_type IN ('UBIGINT', 'BIGINT', 'DOUBLE') THEN TRY_CAST(lat_text AS DOUBLE) END AS lat,
           CASE WHEN lon_type IN ('UBIGINT', 'BIGINT', 'DOUBLE') THEN TRY_CAST(lon_text AS DOUBLE) END AS lon
    FROM fields
),
with_cents AS (
    SELECT *,
           CASE WHEN amount_dec > 0 AND amount_dec < 1e16
                THEN CAST(round(amount_dec, 2) * 100 AS BIGINT) END AS amount_cents
    FROM typed
),
-- The SPEC section 2 rules, first broken rule wins (the wording is ours; the job's is not compared).
judged AS (
    SELECT *,
      CASE
        WHEN doc IS NULL                                         THEN 'not valid JSON (or not UTF-8)'
        WHEN doc_type <> 'OBJECT'                                THEN 'not a JSON object'
        WHEN coalesce(event_id_type, '-') <> 'VARCHAR' OR event_id = ''
                                                                 THEN 'event_id: required non-empty string'
        WHEN coalesce(ts_type, '-') NOT IN ('UBIGINT', 'BIGINT') THEN 'ts: required JSON integer'
        WHEN ts IS NULL OR ts <= 0                               THEN 'ts: must be > 0 and fit in 64 bits'
        WHEN coalesce(customer_id_type, '-') <> 'VARCHAR' OR customer_id = ''
                                                                 THEN 'customer_id: required non-empty string'
        WHEN coalesce(merchant_id_type, '-') <> 'VARCHAR' OR merchant_id = ''
                                                                 THEN 'merchant_id: required non-empty string'
        WHEN coalesce(service_type, '-') <> 'VARCHAR'
          OR service NOT IN ('card_payment', 'transfer', 'withdrawal', 'deposit', 'bill_payment', 'airtime')
                                                                 THEN 'service: not one of the SPEC values'
        WHEN coalesce(amount_type, '-') NOT IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                                                                 THEN 'amount: required number'
        WHEN amount_dec IS NULL OR amount_dec <= 0 OR amount_dec >= 1e16
                                                                 THEN 'amount: must be finite, > 0 and < 1e16'
        WHEN amount_cents < 1                                    THEN 'amount: rounds to 0 cents'
        WHEN coalesce(currency_type, '-') <> 'VARCHAR' OR NOT regexp_full_match(currency, '[A-Z]{3}')
                                                                 THEN 'currency: 3 uppercase letters'
        WHEN coalesce(channel_type, '-') <> 'VARCHAR'
          OR channel NOT IN ('web', 'mobile', 'pos', 'api', 'agent')
                                                                 THEN 'channel: not one of the SPEC values'
        WHEN coalesce(country_type, '-') <> 'VARCHAR' OR NOT regexp_full_match(country, '[A-Z]{2}')
                                                                 THEN 'country: 2 uppercase letters'
        WHEN (lat_type IS NULL) <> (lon_type IS NULL)            THEN 'lat/lon: both or neither'
        WHEN lat_type IS NOT NULL AND NOT coalesce(lat BETWEEN -90 AND 90, false)
                                                                 THEN 'lat: number within [-90, 90]'
        WHEN lon_type IS NOT NULL AND NOT coalesce(lon BETWEEN -180 AND 180, false)
                                                                 THEN 'lon: number within [-180, 180]'
        WHEN coalesce(device_id_type, 'VARCHAR') <> 'VARCHAR'    THEN 'device_id: must be a string'
        WHEN coalesce(beneficiary_id_type, 'VARCHAR') <> 'VARCHAR' THEN 'beneficiary_id: must be a string'
      END AS reject_reason
    FROM with_cents
)
SELECT line_no, raw_text, reject_reason,
       -- Inputs whose meaning the contract leaves open: which of two equal keys wins; and timestamps that
       -- cannot be printed as a 4-digit-year ISO time. Reported as a failing check when present.
       CASE WHEN len(keys) <> len(list_distinct(keys)) THEN 'duplicate JSON key'
            WHEN reject_reason IS NULL AND ts >= 253402300800000 THEN 'ts after year 9999'
       END AS ambiguity,
       -- Only informational: cents by naive binary rounding of the double, when it differs from ours.
       CASE WHEN reject_reason IS NULL
                 AND round(TRY_CAST(amount_text AS DOUBLE) * 100) <> amount_cents
            THEN 1 ELSE 0 END AS binary_rounding_differs,
       event_id, ts, customer_id, merchant_id, service, amount_cents, currency, channel, country,
       CASE WHEN lat_type IS NOT NULL THEN lat END AS lat,
       CASE WHEN lon_type IS NOT NULL THEN lon END AS lon,
       device_id, beneficiary_id
FROM judged;

-- ===== Stage 2. SPEC section 3: watermark (bounded out-of-orderness 5 s) ============================
-- Valid records only, in file order. W(r) = max(ts of valid records strictly before r) - 5000 - 1
-- (Flink convention), rounded down to the sources' watermark step of 1 s; NULL stands for -infinity.
CREATE TEMP TABLE valid_payments AS
SELECT c.*,
       ((max(ts) OVER (ORDER BY line_no ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) - $ooo - 1)
         // $granularity) * $granularity AS wm
FROM checked_lines c
WHERE reject_reason IS NULL;

-- ===== Stage 3. Window assignment and lateness (allowed lateness 60 s) ===============================
-- One row per (record, window it belongs to, operator). A window w is late for r when
-- w.end - 1 + allowed_lateness <= W(r); lateness_ms = W(r) - (w.end - 1) (NULL when W = -infinity).
CREATE TEMP TABLE window_assignments AS
WITH
-- sales_per_minute: 1-minute tumbling windows, start = floor(ts / 60000) * 60000.
spm_windows AS (
    SELECT 'sales_per_minute' AS operator, line_no, (ts // 60000) * 60000 AS window_start, 60000 AS window_size
    FROM valid_payments
),
-- merchant_activity: 1-hour windows sliding by 5 minutes; the 12 windows that contain ts start at
-- floor(ts / 300000) * 300000 - k * 300000, k = 0..11.
ma_windows AS (
    SELECT 'merchant_activity' AS operator, line_no, (ts // 300000) * 300000 - k * 300000 AS window_start,
           3600000 AS window_size
    FROM valid_payments CROSS JOIN range(12) AS slides(k)
),
-- daily_client_summary: 1-day tumbling windows (UTC days), start = floor(ts / 86400000) * 86400000.
dcs_windows AS (
    SELECT 'daily_client_summary' AS operator, line_no, (ts // 86400000) * 86400000 AS window_start,
           86400000 AS window_size
    FROM valid_payments
),
all_windows AS (
    SELECT * FROM spm_windows UNION ALL SELECT * FROM ma_windows UNION ALL SELECT * FROM dcs_windows
)
SELECT w.operator, w.line_no, w.window_start, w.window_start + w.window_size AS window_end,
       p.wm - (w.window_start + w.window_size - 1)                            AS lateness_ms,
       coalesce(p.wm - (w.window_start + w.window_size - 1) >= $lateness, false) AS is_late
FROM all_windows w JOIN valid_payments p USING (line_no);

-- ===== Stage 4. The expected outputs ================================================================
-- sales_per_minute: by (window_start, channel, country) over the non-late (record, window) pairs:
-- count, sum and max of amount (cents), exact count of distinct customers.
CREATE TEMP TABLE expected_sales_per_minute AS
WITH on_time AS (
    SELECT w.window_start, p.*
    FROM window_assignments w JOIN valid_payments p USING (line_no)
    WHERE w.operator = 'sales_per_minute' AND NOT w.is_late
)
SELECT strftime(epoch_ms(window_start), '%Y-%m-%dT%H:%M:%S.%gZ') AS window_start, channel, country,
       count(*) AS tx_count, sum(amount_cents)::HUGEINT AS amount_sum_cents,
       max(amount_cents) AS amount_max_cents, count(DISTINCT customer_id) AS unique_customers
FROM on_time
GROUP BY ALL;

-- merchant_activity: by (window_end, merchant_id) over the non-late (record, window) pairs: count and
-- sum of amount. A record contributes to each of its 12 windows that is not late.
CREATE TEMP TABLE expected_merchant_activity AS
WITH on_time AS (
    SELECT w.window_start, w.window_end, p.*
    FROM window_assignments w JOIN valid_payments p USING (line_no)
    WHERE w.operator = 'merchant_activity' AND NOT w.is_late
)
SELECT strftime(epoch_ms(window_end), '%Y-%m-%dT%H:%M:%S.%gZ')   AS window_end, merchant_id,
       strftime(epoch_ms(window_start), '%Y-%m-%dT%H:%M:%S.%gZ') AS window_start,
       count(*) AS tx_count, sum(amount_cents)::HUGEINT AS amount_sum_cents
FROM on_time
GROUP BY ALL;

-- daily_client_summary: by (day, customer_id, service) over the non-late records: count, sum, min and max
-- of amount, first and last ts (by event time, not by arrival). The job also upserts early rows while a day
-- is open; the materialized table must hold these final values.
CREATE TEMP TABLE expected_daily_client_summary AS
WITH on_time AS (
    SELECT w.window_start, p.*
    FROM window_assignments w JOIN valid_payments p USING (line_no)
    WHERE w.operator = 'daily_client_summary' AND NOT w.is_late
)
SELECT strftime(epoch_ms(window_start), '%Y-%m-%d') AS day, customer_id, service,
       count(*) AS tx_count, sum(amount_cents)::HUGEINT AS amount_sum_cents,
       min(amount_cents) AS amount_min_cents, max(amount_cents) AS amount_max_cents,
       strftime(epoch_ms(min(ts)), '%Y-%m-%dT%H:%M:%S.%gZ') AS first_ts,
       strftime(epoch_ms(max(ts)), '%Y-%m-%dT%H:%M:%S.%gZ') AS last_ts
FROM on_time
GROUP BY ALL;

-- late_events: one row per (record, operator) for which the record was dropped: sales_per_minute and
-- daily_client_summary when its one window is late, merchant_activity only when all 12 of its windows are
-- late.
CREATE TEMP TABLE expected_late_events AS
WITH dropped AS (
    SELECT operator, line_no
    FROM window_assignments
    GROUP BY operator, line_no
    HAVING bool_and(is_late)
)
SELECT d.operator, p.event_id, p.ts, p.customer_id, p.merchant_id, p.service, p.amount_cents, p.currency,
       p.channel, p.country, p.lat, p.lon, p.device_id, p.beneficiary_id
FROM dropped d JOIN valid_payments p USING (line_no);

-- rejected: every invalid line, with its 1-based line number and its text.
CREATE TEMP TABLE expected_rejected AS
SELECT line_no, raw_text, reject_reason FROM checked_lines WHERE reject_reason IS NOT NULL;

"""


# --------------------------------------------------------------------------------------------------------
# Reading the input and computing the expected tables
# --------------------------------------------------------------------------------------------------------
def read_input_lines(path):
    """The lines of the file as bytes, split on '\\n' only (a '\\r' stays in the line), 1-based."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line does not start another one
    return lines


def compute_expected(input_path):
    lines = read_input_lines(input_path)
    con = duckdb.connect()
    table = pa.table({
        "line_no": pa.array(range(1, len(lines) + 1), pa.int64()),
        "raw": pa.array(lines, pa.binary()),
        "raw_text": pa.array([b.decode("utf-8", "replace") for b in lines], pa.string()),
    })
    con.register("input_lines_arrow", table)
    con.execute("CREATE TEMP TABLE input_lines AS SELECT * FROM input_lines_arrow")
    con.unregister("input_lines_arrow")
    sql = (EXPECTED_SQL.replace("$ooo", str(BOUNDED_OUT_OF_ORDERNESS_MS))
           .replace("$lateness", str(ALLOWED_LATENESS_MS)).replace("$granularity", str(WATERMARK_GRANULARITY_MS)))
    con.execute(sql)

    exp = {}
    exp["sales_per_minute"] = {
        (ws, ch, co): (n, int(s), mx, u)
        for ws, ch, co, n, s, mx, u in con.execute("SELECT * FROM expected_sales_per_minute").fetchall()}
    exp["merchant_activity"] = {
        (we, m): (ws, n, int(s))
        for we, m, ws, n, s in con.execute("SELECT * FROM expected_merchant_activity").fetchall()}
    exp["daily_client_summary"] = {
        (d, c, sv): (n, int(s), mn, mx, f, l)
        for d, c, sv, n, s, mn, mx, f, l in con.execute("SELECT * FROM expected_daily_client_summary").fetchall()}
    exp["rejected"] = collections.Counter(
        (n, raw) for n, raw, _ in con.execute("SELECT * FROM expected_rejected").fetchall())
    exp["late_events"] = collections.Counter(
        tuple(r) for r in con.execute("SELECT * FROM expected_late_events").fetchall())

    stats = {}
    stats["lines"] = len(lines)
    stats["valid"] = con.execute("SELECT count(*) FROM valid_payments").fetchone()[0]
    stats["late"] = dict(con.execute(
        "SELECT operator, count(*) FROM expected_late_events GROUP BY ALL").fetchall())
    stats["partially_late"] = con.execute(
        "SELECT count(*) FROM (SELECT line_no FROM window_assignments WHERE operator = 'merchant_activity' "
        "GROUP BY line_no HAVING bool_or(is_late) AND NOT bool_and(is_late))").fetchone()[0]
    stats["daily_lateness_updates"] = con.execute(
        "SELECT count(*) FROM window_assignments WHERE operator = 'daily_client_summary' AND NOT is_late "
        "AND lateness_ms >= 0").fetchone()[0]
    stats["reasons"] = con.execute(
        "SELECT reject_reason, count(*) FROM expected_rejected GROUP BY ALL ORDER BY 2 DESC").fetchall()
    stats["ambiguous_input"] = con.execute(
        "SELECT line_no, ambiguity FROM checked_lines WHERE ambiguity IS NOT NULL ORDER BY line_no").fetchall()
    stats["binary_rounding_differs"] = con.execute(
        "SELECT sum(binary_rounding_differs) FROM checked_lines").fetchone()[0] or 0
    con.close()
    return exp, stats


# --------------------------------------------------------------------------------------------------------
# Reading the job's output
# --------------------------------------------------------------------------------------------------------
class RowError(Exception):
    pass


def _no_constants(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _pairs_no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k!r}")
        seen[k] = v
    return seen


def parse_json_line(text):
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constants,
                      object_pairs_hook=_pairs_no_duplicates)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _str(row, field, optional=False, nonempty=False):
    v = row.get(field)
    if v is None:
        if optional:
            return None
        raise RowError(f"{field}: missing")
    if not isinstance(v, str):
        raise RowError(f"{field}: not a string: {v!r}")
    if nonempty and v == "":
        raise RowError(f"{field}: empty")
    return v


def _int(row, field):
    v = row.get(field)
    if not _is_int(v):
        raise RowError(f"{field}: not an integer: {v!r}")
    return v


def _cents(row, field, strict_format, warnings):
    """Money as integer cents, round(x*100) half away from zero. strict_format: exactly 2 decimals."""
    v = row.get(field)
    if not (_is_int(v) or isinstance(v, Decimal)):
        raise RowError(f"{field}: not a number: {v!r}")
    d = Decimal(v)
    if strict_format and not (isinstance(v, Decimal) and v.as_tuple().exponent == -2):
        warnings.append(f"{field}: not printed with exactly 2 decimals: {v}")
    try:
        return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        raise RowError(f"{field}: unusable number {v}")


def _float_opt(row, field):
    v = row.get(field)
    if v is None:
        return None
    if not (_is_int(v) or isinstance(v, Decimal)):
        raise RowError(f"{field}: not a number: {v!r}")
    return float(v)


def _only_fields(row, allowed):
    extra = sorted(set(row) - set(allowed))
    if extra:
        raise RowError(f"unexpected field(s) {', '.join(extra)}")


SPM_FIELDS = ("window_start", "channel", "country", "tx_count", "amount_sum", "amount_max",
              "unique_customers", "updated_at")
MA_FIELDS = ("window_start", "window_end", "merchant_id", "tx_count", "amount_sum", "updated_at")
DCS_FIELDS = ("day", "customer_id", "service", "tx_count", "amount_sum", "amount_min", "amount_max", "first_ts",
              "last_ts", "updated_at")
REJ_FIELDS = ("raw", "reason", "source", "position", "received_at")
PAYMENT_FIELDS = ("event_id", "ts", "customer_id", "merchant_id", "service", "amount", "currency", "channel",
                  "country", "lat", "lon", "device_id", "beneficiary_id")
LATE_FIELDS = PAYMENT_FIELDS + ("operator", "watermark")


def norm_sales(row, warnings):
    _only_fields(row, SPM_FIELDS)
    _str(row, "updated_at")  # processing time: present, never compared
    key = (_str(row, "window_start"), _str(row, "channel"), _str(row, "country"))
    return key, (_int(row, "tx_count"), _cents(row, "amount_sum", True, warnings),
                 _cents(row, "amount_max", True, warnings), _int(row, "unique_customers"))


def norm_merchant(row, warnings):
    _only_fields(row, MA_FIELDS)
    _str(row, "updated_at")
    key = (_str(row, "window_end"), _str(row, "merchant_id"))
    return key, (_str(row, "window_start"), _int(row, "tx_count"), _cents(row, "amount_sum", True, warnings))


def norm_daily(row, warnings):
    _only_fields(row, DCS_FIELDS)
    _str(row, "updated_at")
    key = (_str(row, "day"), _str(row, "customer_id"), _str(row, "service"))
    return key, (_int(row, "tx_count"), _cents(row, "amount_sum", True, warnings),
                 _cents(row, "amount_min", True, warnings), _cents(row, "amount_max", True, warnings),
                 _str(row, "first_ts"), _str(row, "last_ts"))


def norm_rejected(row, warnings):
    _only_fields(row, REJ_FIELDS)
    _str(row, "received_at")
    _str(row, "reason", nonempty=True)
    if row.get("source") != "payments":
        raise RowError(f"source: expected 'payments', got {row.get('source')!r}")
    position = _str(row, "position")
    file_part, sep, line_part = position.rpartition(":")
    if not sep or not file_part or not line_part.isdigit():
        raise RowError(f"position: not '<file>:<line>': {position!r}")
    return (int(line_part), _str(row, "raw"))


def norm_late(row, warnings):
    _only_fields(row, LATE_FIELDS)
    _str(row, "watermark")  # informational, never compared
    operator = _str(row, "operator")
    if operator not in ("sales_per_minute", "merchant_activity", "daily_client_summary"):
        raise RowError(f"operator: unexpected {operator!r}")
    return (operator, _str(row, "event_id"), _int(row, "ts"), _str(row, "customer_id"),
            _str(row, "merchant_id"), _str(row, "service"), _cents(row, "amount", False, warnings),
            _str(row, "currency"), _str(row, "channel"), _str(row, "country"), _float_opt(row, "lat"),
            _float_opt(row, "lon"), _str(row, "device_id", optional=True),
            _str(row, "beneficiary_id", optional=True))


NORMALIZERS = {"sales_per_minute": norm_sales, "merchant_activity": norm_merchant,
               "daily_client_summary": norm_daily, "rejected": norm_rejected, "late_events": norm_late}
KEYED = {"sales_per_minute", "merchant_activity", "daily_client_summary"}
KEY_FIELDS = {"sales_per_minute": ("window_start", "channel", "country"),
              "merchant_activity": ("window_end", "merchant_id"),
              "daily_client_summary": ("day", "customer_id", "service")}


def read_output_table(out_dir, table):
    """Returns (materialized table, line problems, notes, number of lines read).

    The job commits one file per subtask and checkpoint, `part-<subtask>-<checkpoint>.jsonl` (`part-<n>.jsonl`
    counts as checkpoint 0). Keyed tables: {key: values}, the last line per key with files taken in checkpoint
    order, lines in file order; problems include a key found in two files of the same checkpoint (their order
    would be undefined). The line that ends up in the table is checked strictly; superseded lines only need to be
    JSON objects with the key (daily_client_summary's early rows make millions of them in a long run, and the
    strict check costs five times a plain parse). Append-only tables: a Counter of normalized rows, every line
    checked strictly."""
    problems, notes = [], []
    tdir = os.path.join(out_dir, table)
    result = {} if table in KEYED else collections.Counter()
    if not os.path.isdir(tdir):
        notes.append(f"no directory {tdir}: read as an empty table")
        return result, problems, notes, 0
    def checkpoint_order(path):
        m = re.fullmatch(r"part-(\d+)(?:-(\d+))?\.jsonl", os.path.basename(path))
        return (int(m.group(2) or 0), int(m.group(1))) if m else (-1, 0)

    parts = sorted(glob.glob(os.path.join(tdir, "part-*.jsonl")), key=checkpoint_order)
    others = sorted(set(os.listdir(tdir)) - {os.path.basename(p) for p in parts})
    if others:
        notes.append(f"ignored files in {tdir}: {', '.join(others[:5])}{' ...' if len(others) > 5 else ''}")
    key_part = {}
    last = {}  # key -> (part, line number, line) of the latest line
    n_lines = 0
    normalize = NORMALIZERS[table]
    key_fields = KEY_FIELDS.get(table)
    for part in parts:
        pname = os.path.basename(part)
        checkpoint = checkpoint_order(part)[0]
        with open(part, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for i, bline in enumerate(lines, 1):
            n_lines += 1
            if key_fields:
                try:
                    row = json.loads(bline.decode("utf-8"))
                    key = tuple(row[f] for f in key_fields)
                    if not all(isinstance(k, str) for k in key):
                        raise ValueError(f"key {key}: not all strings")
                except (ValueError, KeyError, TypeError) as e:
                    problems.append(f"{pname}:{i}: {e!r}")
                    continue
                seen = key_part.setdefault((key, checkpoint), pname)
                if seen != pname:
                    problems.append(f"{pname}:{i}: key {key} also in {seen} of the same checkpoint")
                last[key] = (pname, i, bline)
                continue
            try:
                row = parse_json_line(bline.decode("utf-8"))
                if not isinstance(row, dict):
                    raise RowError("not a JSON object")
                warnings = []
                result[normalize(row, warnings)] += 1
                problems.extend(f"{pname}:{i}: {w}" for w in warnings)
            except (RowError, ValueError, UnicodeDecodeError) as e:
                problems.append(f"{pname}:{i}: {e}")
    for key, (pname, i, bline) in last.items():
        try:
            row = parse_json_line(bline.decode("utf-8"))
            if not isinstance(row, dict):
                raise RowError("not a JSON object")
            warnings = []
            _, values = normalize(row, warnings)
            result[key] = values
            problems.extend(f"{pname}:{i}: {w}" for w in warnings)
        except (RowError, ValueError, UnicodeDecodeError) as e:
            problems.append(f"{pname}:{i}: {e}")
    return result, problems, notes, n_lines


# --------------------------------------------------------------------------------------------------------
# Comparison and reporting
# --------------------------------------------------------------------------------------------------------
def fmt_cents(c):
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100}.{c % 100:02d}"


def describe(table, item):
    """Human-readable row for messages (money back in currency units)."""
    if table == "sales_per_minute":
        key, v = item
        if v is None:
            return f"{key}"
        return (f"{key} tx_count={v[0]} amount_sum={fmt_cents(v[1])} amount_max={fmt_cents(v[2])} "
                f"unique_customers={v[3]}")
    if table == "merchant_activity":
        key, v = item
        if v is None:
            return f"{key}"
        return f"{key} window_start={v[0]} tx_count={v[1]} amount_sum={fmt_cents(v[2])}"
    if table == "daily_client_summary":
        key, v = item
        if v is None:
            return f"{key}"
        return (f"{key} tx_count={v[0]} amount_sum={fmt_cents(v[1])} amount_min={fmt_cents(v[2])} "
                f"amount_max={fmt_cents(v[3])} first_ts={v[4]} last_ts={v[5]}")
    if table == "rejected":
        n, raw = item
        return f"line {n}: {raw[:120]!r}"
    r = item
    return (f"{r[0]} event_id={r[1]!r} ts={r[2]} customer={r[3]!r} merchant={r[4]!r} amount={fmt_cents(r[6])} "
            f"{r[8]}/{r[9]}")


def diff_keyed(table, expected, actual, exp_name="expected", act_name="got"):
    missing = [k for k in expected if k not in actual]
    unexpected = [k for k in actual if k not in expected]
    wrong = [k for k in expected if k in actual and expected[k] != actual[k]]
    if not (missing or unexpected or wrong):
        return None
    n = len(missing) + len(unexpected) + len(wrong)
    if wrong:
        k = sorted(wrong)[0]
        first = f"{exp_name} {describe(table, (k, expected[k]))}, {act_name} {describe(table, (k, actual[k]))}"
    elif missing:
        k = sorted(missing)[0]
        first = f"missing {describe(table, (k, expected[k]))}"
    else:
        k = sorted(unexpected)[0]
        first = f"unexpected {describe(table, (k, actual[k]))}"
    return (f"{n} rows differ ({len(missing)} missing, {len(unexpected)} unexpected, {len(wrong)} wrong), "
            f"{exp_name} {len(expected)} rows, {act_name} {len(actual)}; first: {first}")


def diff_multiset(table, expected, actual, exp_name="expected", act_name="got"):
    missing = expected - actual
    unexpected = actual - expected
    if not (missing or unexpected):
        return None
    n_m, n_u = sum(missing.values()), sum(unexpected.values())

    def first(counter):
        return describe(table, sorted(counter, key=repr)[0])
    first_txt = f"missing {first(missing)}" if missing else f"unexpected {first(unexpected)}"
    return (f"{n_m + n_u} rows differ ({n_m} missing, {n_u} unexpected), {exp_name} {sum(expected.values())} "
            f"rows, {act_name} {sum(actual.values())}; first: {first_txt}")


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, detail):
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    @staticmethod
    def info(text):
        print(f"info {text}", flush=True)


def count_rows(table, t):
    return len(t) if table in KEYED else sum(t.values())


def dump_expected(exp, out_dir, input_path):
    """Writes the expected tables in the job's output format (one part file, no changelog)."""
    def money(c):
        return fmt_cents(c)
    for table in TABLES:
        os.makedirs(os.path.join(out_dir, table), exist_ok=True)
    with open(os.path.join(out_dir, "sales_per_minute", "part-0.jsonl"), "w") as f:
        for (ws, ch, co), (n, s, mx, u) in sorted(exp["sales_per_minute"].items()):
            f.write(f'{{"window_start":{json.dumps(ws)},"channel":{json.dumps(ch)},"country":{json.dumps(co)},'
                    f'"tx_count":{n},"amount_sum":{money(s)},"amount_max":{money(mx)},"unique_customers":{u},'
                    f'"updated_at":"1970-01-01T00:00:00.000Z"}}\n')
    with open(os.path.join(out_dir, "merchant_activity", "part-0.jsonl"), "w") as f:
        for (we, m), (ws, n, s) in sorted(exp["merchant_activity"].items()):
            f.write(f'{{"window_start":{json.dumps(ws)},"window_end":{json.dumps(we)},"merchant_id":{json.dumps(m)},'
                    f'"tx_count":{n},"amount_sum":{money(s)},"updated_at":"1970-01-01T00:00:00.000Z"}}\n')
    with open(os.path.join(out_dir, "daily_client_summary", "part-0.jsonl"), "w") as f:
        for (d, c, sv), (n, s, mn, mx, first, last) in sorted(exp["daily_client_summary"].items()):
            f.write(f'{{"day":{json.dumps(d)},"customer_id":{json.dumps(c)},"service":{json.dumps(sv)},'
                    f'"tx_count":{n},"amount_sum":{money(s)},"amount_min":{money(mn)},"amount_max":{money(mx)},'
                    f'"first_ts":{json.dumps(first)},"last_ts":{json.dumps(last)},'
                    f'"updated_at":"1970-01-01T00:00:00.000Z"}}\n')
    with open(os.path.join(out_dir, "rejected", "part-0.jsonl"), "w") as f:
        for (n, raw), c in sorted(exp["rejected"].items()):
            for _ in range(c):
                f.write(json.dumps({"raw": raw, "reason": "see referee", "source": "payments",
                                    "position": f"{input_path}:{n}",
                                    "received_at": "1970-01-01T00:00:00.000Z"}) + "\n")
    with open(os.path.join(out_dir, "late_events", "part-0.jsonl"), "w") as f:
        for r, c in sorted(exp["late_events"].items(), key=repr):
            (op, eid, ts, cust, merch, svc, cents, cur, ch, co, lat, lon, dev, ben) = r
            fields = [("event_id", json.dumps(eid)), ("ts", str(ts)), ("customer_id", json.dumps(cust)),
                      ("merchant_id", json.dumps(merch)), ("service", json.dumps(svc)), ("amount", money(cents)),
                      ("currency", json.dumps(cur)), ("channel", json.dumps(ch)), ("country", json.dumps(co))]
            for name, v in (("lat", lat), ("lon", lon), ("device_id", dev), ("beneficiary_id", ben)):
                if v is not None:
                    fields.append((name, json.dumps(v)))
            fields += [("operator", json.dumps(op)), ("watermark", '"1970-01-01T00:00:00.000Z"')]
            line = "{" + ",".join(f'"{k}":{v}' for k, v in fields) + "}\n"
            f.write(line * c)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="the JSON-lines input the job read")
    ap.add_argument("--output", action="append", required=True, help="a job output dir (OUT/<table>/part-*.jsonl)")
    ap.add_argument("--dump-expected", metavar="DIR", help="also write the expected tables to DIR")
    ap.add_argument("--tables", metavar="T1,T2", help="check only these tables (e.g. of a run that has not ended: "
                    "daily_client_summary, whose open days are upserted early)")
    args = ap.parse_args(argv)
    tables_checked = TABLES
    if args.tables:
        tables_checked = tuple(t for t in TABLES if t in args.tables.split(","))
        unknown = sorted(set(args.tables.split(",")) - set(TABLES))
        if unknown:
            print(f"referee: unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}", file=sys.stderr)
            return 2
    if not os.path.isfile(args.input):
        print(f"referee: no such input file: {args.input}", file=sys.stderr)
        return 2

    report = Report()
    exp, st = compute_expected(args.input)
    late = st["late"]
    report.info(f"input {args.input}: {st['lines']} lines, {st['valid']} valid, "
                f"{sum(exp['rejected'].values())} rejected; late: "
                f"{late.get('sales_per_minute', 0)} for sales_per_minute, "
                f"{late.get('merchant_activity', 0)} for merchant_activity "
                f"({st['partially_late']} more only partly late for merchant_activity), "
                f"{late.get('daily_client_summary', 0)} for daily_client_summary "
                f"({st['daily_lateness_updates']} more after their day fired, within the allowed lateness)")
    report.info("expected: " + ", ".join(f"{t} {count_rows(t, exp[t])} rows" for t in TABLES))
    if st["reasons"]:
        report.info("rejections by rule: " + "; ".join(f"{r} x{n}" for r, n in st["reasons"]))
    if st["binary_rounding_differs"]:
        report.info(f"{st['binary_rounding_differs']} valid amounts round to other cents if rounded as binary "
                    "doubles (round(x*100)) instead of as decimals; the referee uses decimals")
    if args.dump_expected:
        dump_expected(exp, args.dump_expected, args.input)
        report.info(f"expected tables written to {args.dump_expected}")

    # Checks on the input itself: the test must not depend on what the contract leaves open.
    amb = st["ambiguous_input"]
    report.check(not amb, "input unambiguous",
                 "no duplicate JSON keys, no timestamps past year 9999" if not amb else
                 f"{len(amb)} lines whose expected handling the contract leaves open, first: line {amb[0][0]}: "
                 f"{amb[0][1]}")

    # Each output against the expected tables.
    outputs = []
    for out in args.output:
        label = os.path.basename(os.path.normpath(out)) or out
        if len(args.output) > 1 and sum(1 for o in args.output if os.path.basename(os.path.normpath(o)) == label) > 1:
            label = out
        if not os.path.isdir(out):
            report.check(False, f"[{label}]", f"no such output directory {out}")
            outputs.append((label, None))
            continue
        tables = {}
        for table in tables_checked:
            actual, problems, notes, n_lines = read_output_table(out, table)
            for n in notes:
                report.info(f"[{label}] {table}: {n}")
            tables[table] = actual
            report.check(not problems, f"[{label}] {table} lines",
                         f"{n_lines} lines well-formed" if not problems else
                         f"{len(problems)} problems in {n_lines} lines, first: {problems[0]}")
            d = diff_keyed(table, exp[table], actual) if table in KEYED else diff_multiset(table, exp[table], actual)
            extra = f" (from {n_lines} changelog lines)" if table in KEYED else ""
            report.check(d is None, f"[{label}] {table}", d or f"{count_rows(table, actual)} rows{extra}")
        present = sorted(e for e in os.listdir(out) if os.path.isdir(os.path.join(out, e)) and e not in tables_checked)
        if present:
            report.info(f"[{label}] not checked: {', '.join(present)}")
        outputs.append((label, tables))

    # Outputs against each other (the materialized tables; updated_at and the like are not compared).
    base = next(((l, t) for l, t in outputs if t is not None), None)
    for label, tables in outputs:
        if tables is None or base is None or label == base[0]:
            continue
        for table in tables_checked:
            diff = diff_keyed if table in KEYED else diff_multiset
            d = diff(table, base[1][table], tables[table], f"[{base[0]}]", f"[{label}]")
            report.check(d is None, f"[{label}] == [{base[0]}] {table}", d or "identical")

    print(f"referee: {report.passed} passed, {report.failed} failed", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
