#!/usr/bin/env python3
"""Self-test of referee.py, without the job.

1. Generates a small synthetic input: in-order, out-of-order (< 4.5 s) and clearly late records, edge
   cases that are valid, and many kinds of invalid lines.
2. Computes the expected outputs with a plain-Python implementation of the same semantics (no DuckDB) and
   writes them as the job would: upsert changelogs with superseded lines for some keys, split over part
   files by key hash.
3. Runs the referee (its SQL) on that and expects success; then on corrupted copies and expects failure.

So two independent computations must agree. Prints one line per check and `selftest: N passed, N failed`; exits 1
on any failure. `--keep DIR` keeps the generated files.
"""

import argparse
import collections
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from decimal import ROUND_HALF_UP, Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
REFEREE = os.path.join(HERE, "referee.py")

SERVICES = ["card_payment", "transfer", "withdrawal", "deposit", "bill_payment", "airtime"]
CHANNELS = ["web", "mobile", "pos", "api", "agent"]
COUNTRIES = ["KE", "NG", "GH", "ZA"]
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z

OOO_MS, LATENESS_MS = 5_000, 60_000


# --------------------------------------------------------------------------------------------------------
# Plain-Python semantics (independent of referee.py's SQL)
# --------------------------------------------------------------------------------------------------------
class Invalid(Exception):
    pass


def _constant(name):
    raise Invalid(f"JSON constant {name}")


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Invalid("duplicate key")
        d[k] = v
    return d


def _num(v):
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


def validate(raw):
    """raw: bytes of one line. Returns the record (dict with amount_cents) or raises Invalid."""
    try:
        obj = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_constant, object_pairs_hook=_pairs)
    except (UnicodeDecodeError, ValueError) as e:
        raise Invalid(f"json: {e}")
    if not isinstance(obj, dict):
        raise Invalid("not an object")
    g = obj.get  # JSON null == absent
    for f in ("event_id", "customer_id", "merchant_id"):
        if not isinstance(g(f), str) or g(f) == "":
            raise Invalid(f)
    ts = g("ts")
    if not (isinstance(ts, int) and not isinstance(ts, bool) and 0 < ts < 2 ** 63):
        raise Invalid("ts")
    if g("service") not in SERVICES or not isinstance(g("service"), str):
        raise Invalid("service")
    amount = g("amount")
    if not _num(amount) or not Decimal(amount).is_finite() or not (0 < amount < 10 ** 16):
        raise Invalid("amount")
    cents = int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents < 1:
        raise Invalid("amount cents")
    if not isinstance(g("currency"), str) or not re.fullmatch(r"[A-Z]{3}", g("currency")):
        raise Invalid("currency")
    if g("channel") not in CHANNELS or not isinstance(g("channel"), str):
        raise Invalid("channel")
    if not isinstance(g("country"), str) or not re.fullmatch(r"[A-Z]{2}", g("country")):
        raise Invalid("country")
    lat, lon = g("lat"), g("lon")
    if (lat is None) != (lon is None):
        raise Invalid("lat/lon both or neither")
    if lat is not None:
        if not (_num(lat) and -90 <= lat <= 90 and _num(lon) and -180 <= lon <= 180):
            raise Invalid("lat/lon range")
    for f in ("device_id", "beneficiary_id"):
        if g(f) is not None and not isinstance(g(f), str):
            raise Invalid(f)
    rec = {f: g(f) for f in ("event_id", "ts", "customer_id", "merchant_id", "service", "currency", "channel",
                             "country", "device_id", "beneficiary_id")}
    rec["amount_cents"] = cents
    rec["lat"] = None if lat is None else float(lat)
    rec["lon"] = None if lon is None else float(lon)
    return rec


def iso(ms):
    dt = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def spm_window(ts):
    start = ts // 60_000 * 60_000
    return start, start + 60_000


def day_window(ts):
    start = ts // 86_400_000 * 86_400_000
    return start, start + 86_400_000


def ma_windows(ts):
    base = ts // 300_000 * 300_000
    return [(base - k * 300_000, base - k * 300_000 + 3_600_000) for k in range(12)]


def watermark(max_ts):
    """The job's watermark after records up to max_ts: 5 s out-of-orderness, Flink's -1, 1 s steps."""
    return (max_ts - OOO_MS - 1) // 1000 * 1000


def is_late(wm, end):
    return wm is not None and end - 1 + LATENESS_MS <= wm


def compute(lines):
    """The expected tables, by the rules in the brief, record by record."""
    rejected = collections.Counter()
    valid = []
    for n, raw in enumerate(lines, 1):
        try:
            valid.append((n, validate(raw)))
        except Invalid:
            rejected[(n, raw.decode("utf-8", "replace"))] += 1
    spm = collections.defaultdict(lambda: [0, 0, 0, set()])
    ma = collections.defaultdict(lambda: [0, 0])
    dcs = {}  # (day, customer, service) -> [count, sum, min, max, first ts, last ts]
    late = []  # (operator, record, watermark)
    daily_lateness_updates = 0
    max_ts = None
    for n, r in valid:
        wm = None if max_ts is None else watermark(max_ts)
        max_ts = r["ts"] if max_ts is None else max(max_ts, r["ts"])
        start, end = spm_window(r["ts"])
        if is_late(wm, end):
            late.append(("sales_per_minute", r, wm))
        else:
            acc = spm[(iso(start), r["channel"], r["country"])]
            acc[0] += 1
            acc[1] += r["amount_cents"]
            acc[2] = max(acc[2], r["amount_cents"])
            acc[3].add(r["customer_id"])
        all_late = True
        for start, end in ma_windows(r["ts"]):
            if is_late(wm, end):
                continue
            all_late = False
            acc = ma[(iso(end), r["merchant_id"])]
            acc[0] += 1
            acc[1] += r["amount_cents"]
        if all_late:
            late.append(("merchant_activity", r, wm))
        start, end = day_window(r["ts"])
        if is_late(wm, end):
            late.append(("daily_client_summary", r, wm))
        else:
            daily_lateness_updates += wm is not None and wm >= end - 1
            key = (iso(start)[:10], r["customer_id"], r["service"])
            c, ts = r["amount_cents"], r["ts"]
            acc = dcs.setdefault(key, [0, 0, c, c, ts, ts])
            acc[0] += 1
            acc[1] += c
            acc[2], acc[3] = min(acc[2], c), max(acc[3], c)
            acc[4], acc[5] = min(acc[4], ts), max(acc[5], ts)
    return {
        "sales_per_minute": {k: (v[0], v[1], v[2], len(v[3])) for k, v in spm.items()},
        "merchant_activity": {k: v for k, v in ma.items()},
        "daily_client_summary": {k: (n, s, mn, mx, iso(f), iso(l)) for k, (n, s, mn, mx, f, l) in dcs.items()},
        "rejected": rejected,
        "late_events": late,
        "daily_lateness_updates": daily_lateness_updates,
        "valid": valid,
    }


# --------------------------------------------------------------------------------------------------------
# Synthetic input
# --------------------------------------------------------------------------------------------------------
def jline(fields):
    """A JSON object from (key, raw JSON text) pairs, so that literals can be exactly what we want."""
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields) + "}"


def record_fields(rnd, i, ts):
    amount = rnd.choice([
        f"{rnd.randint(1, 500_00) / 100:.2f}",        # usual: 2 decimals
        f"{rnd.randint(1, 50_000)}",                   # integer literal
        f"{rnd.randint(1, 100_000) / 1000:.3f}",       # 3 decimals: rounds half away from zero
    ])
    f = [("event_id", json.dumps(f"ev-{i}")), ("ts", str(ts)),
         ("customer_id", json.dumps(f"c{rnd.randint(1, 60):03d}")),
         ("merchant_id", json.dumps(f"m{rnd.randint(1, 15):04d}")),
         ("service", json.dumps(rnd.choice(SERVICES))), ("amount", amount), ("currency", '"KES"'),
         ("channel", json.dumps(rnd.choice(CHANNELS))), ("country", json.dumps(rnd.choice(COUNTRIES)))]
    if rnd.random() < 0.3:
        f += [("lat", repr(round(rnd.uniform(-90, 90), 5))), ("lon", repr(round(rnd.uniform(-180, 180), 5)))]
    if rnd.random() < 0.3:
        f.append(("device_id", json.dumps(f"d{rnd.randint(1, 99)}")))
    if rnd.random() < 0.2:
        f.append(("beneficiary_id", json.dumps(f"b{rnd.randint(1, 99)}")))
    return f


def replace(fields, key, value):
    """Sets key to the raw JSON text value (None removes it)."""
    out = [(k, v) for k, v in fields if k != key]
    if value is not None:
        out.append((key, value))
    return out


# Valid edge cases: each is a function of the fields of an otherwise ordinary record.
VALID_EDGES = {
    "amount_half_cent": lambda f: replace(f, "amount", "0.005"),      # rounds up to 0.01
    "amount_tie": lambda f: replace(f, "amount", "1.005"),            # 1.01 as decimal (1.00 as a binary double)
    "amount_exponent": lambda f: replace(f, "amount", "1.5E2"),
    "amount_many_decimals": lambda f: replace(f, "amount", "12.344999"),
    "latlon_null": lambda f: replace(replace(f, "lat", "null"), "lon", "null"),
    "latlon_bounds": lambda f: replace(replace(f, "lat", "-90"), "lon", "180.0"),
    "optional_nulls": lambda f: replace(replace(f, "device_id", "null"), "beneficiary_id", "null"),
    "unknown_fields": lambda f: f + [("extra", '{"nested":[1,2,{"x":null}]}'), ("note", '"NaN, Infinity,}"')],
    "unicode": lambda f: replace(f, "customer_id", json.dumps("clïent-ü", ensure_ascii=False)),
    "escaped_key": lambda f: jline(f).replace('"currency":', '"\\u0063urrency":'),  # the key "currency"
    "reordered": lambda f: list(reversed(f)),
}

# Invalid lines: each is a function of the fields of an otherwise valid record, returning bytes or str.
INVALID_KINDS = {
    "not_json": lambda f: "this is not json",
    "blank": lambda f: "",
    "whitespace_only": lambda f: "   \t",
    "truncated": lambda f: jline(f)[:-7],
    "array": lambda f: "[" + jline(f) + "]",
    "string": lambda f: '"just a string"',
    "json_null": lambda f: "null",
    "two_objects": lambda f: jline(f) + jline(f),
    "trailing_comma": lambda f: jline(f)[:-1] + ",}",
    "amount_nan": lambda f: jline(replace(f, "amount", "NaN")),
    "amount_infinity": lambda f: jline(replace(f, "amount", "Infinity")),
    "nan_in_unknown_field": lambda f: jline(f + [("score", "NaN")]),
    "trailing_comma_nested": lambda f: jline(f + [("tags", '["a","b",]')]),
    "bad_utf8": lambda f: jline(f).encode()[:-2] + b'\xff"}',
    "bom": lambda f: "\ufeff" + jline(f),
    "control_char_in_string": lambda f: jline(replace(f, "merchant_id", '"m\t1"')),
    "missing_event_id": lambda f: jline(replace(f, "event_id", None)),
    "empty_event_id": lambda f: jline(replace(f, "event_id", '""')),
    "numeric_customer_id": lambda f: jline(replace(f, "customer_id", "42")),
    "null_merchant_id": lambda f: jline(replace(f, "merchant_id", "null")),
    "ts_fraction": lambda f: jline(replace(f, "ts", dict(f)["ts"] + ".0")),
    "ts_exponent": lambda f: jline(replace(f, "ts", "1.7672256E12")),
    "ts_string": lambda f: jline(replace(f, "ts", json.dumps(dict(f)["ts"]))),
    "ts_zero": lambda f: jline(replace(f, "ts", "0")),
    "ts_negative": lambda f: jline(replace(f, "ts", "-5")),
    "ts_true": lambda f: jline(replace(f, "ts", "true")),
    "ts_overflow": lambda f: jline(replace(f, "ts", "9223372036854775808")),
    "service_unknown": lambda f: jline(replace(f, "service", '"crypto"')),
    "service_case": lambda f: jline(replace(f, "service", '"Transfer"')),
    "amount_zero": lambda f: jline(replace(f, "amount", "0")),
    "amount_negative": lambda f: jline(replace(f, "amount", "-12.50")),
    "amount_below_cent": lambda f: jline(replace(f, "amount", "0.004")),
    "amount_string": lambda f: jline(replace(f, "amount", '"12.50"')),
    "amount_too_large": lambda f: jline(replace(f, "amount", "1e16")),
    "amount_overflow": lambda f: jline(replace(f, "amount", "1e400")),
    "currency_lowercase": lambda f: jline(replace(f, "currency", '"kes"')),
    "currency_two_letters": lambda f: jline(replace(f, "currency", '"KE"')),
    "currency_non_ascii": lambda f: jline(replace(f, "currency", json.dumps("KÉS", ensure_ascii=False))),
    "channel_unknown": lambda f: jline(replace(f, "channel", '"fax"')),
    "country_lowercase": lambda f: jline(replace(f, "country", '"ke"')),
    "country_three_letters": lambda f: jline(replace(f, "country", '"KEN"')),
    "lat_without_lon": lambda f: jline(replace(replace(f, "lat", "1.5"), "lon", None)),
    "lon_with_null_lat": lambda f: jline(replace(replace(f, "lat", "null"), "lon", "36.8")),
    "lat_out_of_range": lambda f: jline(replace(replace(f, "lat", "90.5"), "lon", "0")),
    "lon_out_of_range": lambda f: jline(replace(replace(f, "lat", "0"), "lon", "-180.01")),
    "lat_string": lambda f: jline(replace(replace(f, "lat", '"1.0"'), "lon", "2.0")),
    "device_id_number": lambda f: jline(replace(f, "device_id", "7")),
    "beneficiary_id_bool": lambda f: jline(replace(f, "beneficiary_id", "false")),
}


def generate(seed, count):
    """Returns (lines as bytes, labels). label: 'valid', 'valid:<edge>', 'late', 'ooo' or 'invalid:<kind>'."""
    rnd = random.Random(seed)
    lines, labels = [], []
    # From 3 h before midnight: the day 2025-12-31 closes during the input, with records on time for it,
    # updating it within the allowed lateness, and late for it.
    max_ts, clock = None, T0 - 3 * 3_600_000
    invalid_kinds = list(INVALID_KINDS)
    valid_edges = list(VALID_EDGES)
    for i in range(count):
        clock += rnd.randint(0, 9_000)  # ~4.5 s per record: a few hours of event time in total
        # Make sure every invalid kind and every valid edge case appears, then a random mix.
        if i % 10 == 3:
            kind = invalid_kinds[(i // 10) % len(invalid_kinds)] if i // 10 < len(invalid_kinds) else rnd.choice(invalid_kinds)
            line = INVALID_KINDS[kind](record_fields(rnd, i, clock))
            lines.append(line if isinstance(line, bytes) else line.encode())
            labels.append("invalid:" + kind)
            continue
        ts, label = clock, "valid"
        p = rnd.random()
        if p < 0.12 and max_ts is not None:                                      # out of order, < 4.5 s
            ts, label = max_ts - rnd.randint(1, 4_499), "ooo"
        elif max_ts is not None and T0 + 7_000 <= max_ts < T0 + 50_000 and p < 0.5:
            # Just after the day 2025-12-31 fired (the watermark is past midnight), within its allowed lateness:
            # the day's row is updated, while the record is late for its minute.
            ts, label = T0 - rnd.randint(1, 4_000), "late"
        elif p < 0.16 and max_ts is not None:                                    # clearly late
            # Anywhere from just on time to late everywhere: the watermark rule is exact, so records right at
            # the lateness limit are fair game.
            ts = max_ts - rnd.choice([rnd.randint(60_000, 20 * 60_000),          # partly late for merchants
                                      rnd.randint(70 * 60_000, 3 * 3_600_000)])  # late everywhere
            label = "late"
        f = record_fields(rnd, i, ts)
        line = jline(f)
        if label == "valid" and i % 10 == 7 and valid_edges:
            edge = valid_edges.pop(0)
            edited = VALID_EDGES[edge](f)
            line, label = (edited if isinstance(edited, str) else jline(edited)), "valid:" + edge
        if rnd.random() < 0.02:
            line = "  " + line + " \r"  # JSON whitespace around the object (a '\r' before the '\n' too)
        lines.append(line.encode())
        labels.append(label)
        max_ts = ts if max_ts is None else max(max_ts, ts)
    return lines, labels


# --------------------------------------------------------------------------------------------------------
# A fake job output, as the job would write it
# --------------------------------------------------------------------------------------------------------
def money(c):
    return f"{c // 100}.{c % 100:02d}"


def part_of(key, parts):
    return zlib.crc32(repr(key).encode()) % parts


def write_output(out, exp, input_path, parts, seed):
    rnd = random.Random(seed)
    files = {}

    def emit(table, part, when, line):
        files.setdefault((table, part), []).append((when, line))

    now = '"2026-11-21T07:00:00.123Z"'
    for key, (n, s, mx, u) in exp["sales_per_minute"].items():
        ws, ch, co = key
        t = rnd.random()

        def row(n, s, mx, u):
            return (f'{{"window_start":"{ws}","channel":{json.dumps(ch)},"country":"{co}","tx_count":{n},'
                    f'"amount_sum":{money(s)},"amount_max":{money(mx)},"unique_customers":{u},"updated_at":{now}}}')
        if rnd.random() < 0.3:  # an earlier on-time result, superseded by a later update
            emit("sales_per_minute", part_of(key, parts), t, row(max(n - 1, 1), s + 123, mx, max(u - 1, 1)))
            t += rnd.random()
        emit("sales_per_minute", part_of(key, parts), t, row(n, s, mx, u))
    for key, (n, s) in exp["merchant_activity"].items():
        we, m = key
        ws = iso(datetime_ms(we) - 3_600_000)
        t = rnd.random()

        def row(n, s):
            return (f'{{"window_start":"{ws}","window_end":"{we}","merchant_id":{json.dumps(m)},"tx_count":{n},'
                    f'"amount_sum":{money(s)},"updated_at":{now}}}')
        if rnd.random() < 0.3:
            emit("merchant_activity", part_of(key, parts), t, row(n + 2, s - 1))
            t += rnd.random()
        emit("merchant_activity", part_of(key, parts), t, row(n, s))
    for key, (n, s, mn, mx, first, last) in exp["daily_client_summary"].items():
        day, cust, svc = key
        t = rnd.random()

        def row(n, s, mn, mx, first, last):
            return (f'{{"day":"{day}","customer_id":{json.dumps(cust, ensure_ascii=False)},"service":"{svc}",'
                    f'"tx_count":{n},"amount_sum":{money(s)},"amount_min":{money(mn)},"amount_max":{money(mx)},'
                    f'"first_ts":"{first}","last_ts":"{last}","updated_at":{now}}}')
        if rnd.random() < 0.5:  # early results while the day was open, superseded by the final one
            for k in range(rnd.randint(1, 3)):
                emit("daily_client_summary", part_of(key, parts), t, row(max(n - 1 - k, 1), s - 1, mn, mx, first, first))
                t += rnd.random()
        emit("daily_client_summary", part_of(key, parts), t, row(n, s, mn, mx, first, last))
    for (n, raw), c in exp["rejected"].items():
        for _ in range(c):
            emit("rejected", n % parts, n, json.dumps({"raw": raw, "reason": "invalid record", "source": "payments",
                                                       "position": f"{input_path}:{n}", "received_at": now[1:-1]},
                                                      ensure_ascii=False))
    for i, (op, r, wm) in enumerate(exp["late_events"]):
        f = [("event_id", json.dumps(r["event_id"])), ("ts", str(r["ts"])),
             ("customer_id", json.dumps(r["customer_id"])), ("merchant_id", json.dumps(r["merchant_id"])),
             ("service", json.dumps(r["service"])), ("amount", money(r["amount_cents"])),
             ("currency", json.dumps(r["currency"])), ("channel", json.dumps(r["channel"])),
             ("country", json.dumps(r["country"]))]
        for k in ("lat", "lon", "device_id", "beneficiary_id"):
            if r[k] is not None:
                f.append((k, json.dumps(r[k])))
        f += [("operator", json.dumps(op)), ("watermark", json.dumps(iso(wm)))]
        emit("late_events", part_of(r["event_id"], parts), i, jline(f))
    for table in ("sales_per_minute", "merchant_activity", "daily_client_summary", "rejected", "late_events"):
        os.makedirs(os.path.join(out, table), exist_ok=True)
    for (table, part), rows in files.items():
        with open(os.path.join(out, table, f"part-{part}.jsonl"), "w") as fh:
            for _, line in sorted(rows, key=lambda x: x[0]):
                fh.write(line + "\n")


def datetime_ms(s):
    dt = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(round(dt.timestamp() * 1000))


# --------------------------------------------------------------------------------------------------------
# Corruptions: each edits a copy of a good output dir
# --------------------------------------------------------------------------------------------------------
def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def _write(path, lines):
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))


def _parts(out, table):
    d = os.path.join(out, table)
    return sorted(os.path.join(d, p) for p in os.listdir(d))


def corrupt_value(out):
    """amount_sum of one materialized sales_per_minute row + 0.01."""
    p = _parts(out, "sales_per_minute")[0]
    lines = _lines(p)
    m = re.search(r'"amount_sum":(\d+)\.(\d\d)', lines[-1])
    cents = int(m.group(1)) * 100 + int(m.group(2)) + 1
    lines[-1] = lines[-1].replace(m.group(0), f'"amount_sum":{money(cents)}')
    _write(p, lines)


def corrupt_daily(out):
    """last_ts of one materialized daily_client_summary row moved by 1 ms."""
    p = _parts(out, "daily_client_summary")[0]
    lines = _lines(p)
    m = re.search(r'"last_ts":"([^"]*)\.(\d\d\d)Z"', lines[-1])
    ms = (int(m.group(2)) + 1) % 1000
    lines[-1] = lines[-1].replace(m.group(0), f'"last_ts":"{m.group(1)}.{ms:03d}Z"')
    _write(p, lines)


def drop_row(out):
    """Removes the only line of one merchant_activity key."""
    p = _parts(out, "merchant_activity")[0]
    lines = _lines(p)
    keys = collections.Counter((json.loads(l)["window_end"], json.loads(l)["merchant_id"]) for l in lines)
    for i, l in enumerate(lines):
        r = json.loads(l)
        if keys[(r["window_end"], r["merchant_id"])] == 1:
            del lines[i]
            break
    _write(p, lines)


def duplicate_late(out):
    p = _parts(out, "late_events")[0]
    lines = _lines(p)
    _write(p, lines + lines[:1])


def wrong_operator_late(out):
    p = _parts(out, "late_events")[0]
    lines = _lines(p)
    r = json.loads(lines[0])
    other = "merchant_activity" if r["operator"] == "sales_per_minute" else "sales_per_minute"
    lines[0] = lines[0].replace(f'"operator":"{r["operator"]}"', f'"operator":"{other}"')
    _write(p, lines)


def reorder_changelog(out):
    """Moves a superseded line after the line that supersedes it: the stale value becomes the table's."""
    for p in _parts(out, "sales_per_minute"):
        lines = _lines(p)
        seen = {}
        for i, l in enumerate(lines):
            r = json.loads(l)
            key = (r["window_start"], r["channel"], r["country"])
            if key in seen:
                j = seen[key]
                lines[j], lines[i] = lines[i], lines[j]
                _write(p, lines)
                return
            seen[key] = i
    raise AssertionError("no superseded line found")


def split_key(out):
    """Puts an extra (identical) line of one key into another part file."""
    ps = _parts(out, "sales_per_minute")
    line = _lines(ps[0])[0]
    _write(ps[1], [line] + _lines(ps[1]))


def money_format(out):
    """3 decimals in the last line of a file: the line of its key that ends up in the table."""
    p = _parts(out, "merchant_activity")[0]
    lines = _lines(p)
    lines[-1] = re.sub(r'"amount_sum":(\d+)\.(\d)(\d)', r'"amount_sum":\1.\g<2>\g<3>0', lines[-1])
    _write(p, lines)


def extra_rejected(out, input_path, valid_line_no, raw):
    p = _parts(out, "rejected")[0]
    _write(p, _lines(p) + [json.dumps({"raw": raw, "reason": "x", "source": "payments",
                                       "position": f"{input_path}:{valid_line_no}",
                                       "received_at": "2026-01-01T00:00:00.000Z"}, ensure_ascii=False)])


def missing_rejected(out):
    p = _parts(out, "rejected")[0]
    _write(p, _lines(p)[1:])


def wrong_line_rejected(out):
    p = _parts(out, "rejected")[0]
    lines = _lines(p)
    r = json.loads(lines[0])
    f, n = r["position"].rsplit(":", 1)
    r["position"] = f"{f}:{int(n) + 1}"
    lines[0] = json.dumps(r, ensure_ascii=False)
    _write(p, lines)


def empty_reason(out):
    p = _parts(out, "rejected")[0]
    lines = _lines(p)
    r = json.loads(lines[0])
    r["reason"] = ""
    lines[0] = json.dumps(r, ensure_ascii=False)
    _write(p, lines)


# --------------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description="self-test of referee.py")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    args = ap.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="referee-selftest-")
    os.makedirs(work, exist_ok=True)
    passed = failed = 0

    def check(ok, name, detail=""):
        nonlocal passed, failed
        print(f"{'ok  ' if ok else 'FAIL'} selftest {name}{': ' + detail if detail else ''}", flush=True)
        passed += ok
        failed += not ok
        return ok

    def referee(*outs, inp=None):
        cmd = [sys.executable, REFEREE, "--input", inp or input_path]
        for o in outs:
            cmd += ["--output", o]
        p = subprocess.run(cmd, capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr

    # 1. Input, and the generator's intent checked against the plain-Python validator.
    lines, labels = generate(args.seed, args.count)
    input_path = os.path.join(work, "events.jsonl")
    with open(input_path, "wb") as f:
        f.write(b"".join(l + b"\n" for l in lines))
    exp = compute(lines)
    valid_set = {n for n, _ in exp["valid"]}
    mismatch = [(n, lab) for n, lab in enumerate(labels, 1) if (n in valid_set) != (not lab.startswith("invalid"))]
    check(not mismatch, "generator vs python validator",
          f"{len(lines)} lines, {len(exp['rejected'])} invalid of {len(INVALID_KINDS)} kinds, "
          f"{len(VALID_EDGES)} valid edge cases" if not mismatch else f"first mismatch: line {mismatch[0]}")
    late_ops = collections.Counter(op for op, _, _ in exp["late_events"])
    kinds_seen = {lab for lab in labels}
    check(exp["daily_lateness_updates"] > 0
          and late_ops["sales_per_minute"] > 0 and late_ops["merchant_activity"] > 0
          and late_ops["sales_per_minute"] > late_ops["merchant_activity"]
          and late_ops["daily_client_summary"] > 0 and len({k[0] for k in exp["daily_client_summary"]}) == 2
          and all("invalid:" + k in kinds_seen for k in INVALID_KINDS)
          and all("valid:" + k in kinds_seen for k in VALID_EDGES),
          "input coverage", f"late: {dict(late_ops)}, day updated within the allowed lateness: "
          f"{exp['daily_lateness_updates']}, "
          f"out-of-order: {labels.count('ooo')}")

    # 2. Fake outputs: two different physical layouts of the same tables.
    good1, good2 = os.path.join(work, "good1"), os.path.join(work, "good2")
    for d in (good1, good2):
        shutil.rmtree(d, ignore_errors=True)
    write_output(good1, exp, input_path, parts=2, seed=1)
    write_output(good2, exp, input_path, parts=3, seed=2)

    # 3. The referee agrees with the plain-Python computation.
    rc, out = referee(good1, good2)
    if not check(rc == 0, "referee accepts the correct outputs (2 and 3 part files)", f"exit {rc}"):
        print(out)
    else:
        print("\n".join("     | " + l for l in out.splitlines()))

    # 4. ... and notices when something is wrong.
    first_valid = exp["valid"][0][0]
    corruptions = [
        ("one value changed", corrupt_value, "FAIL [bad] sales_per_minute:"),
        ("a daily last_ts changed", corrupt_daily, "FAIL [bad] daily_client_summary:"),
        ("one row dropped", drop_row, "FAIL [bad] merchant_activity:"),
        ("a late record duplicated", duplicate_late, "FAIL [bad] late_events:"),
        ("a late record with the wrong operator", wrong_operator_late, "FAIL [bad] late_events:"),
        ("changelog lines out of order", reorder_changelog, "FAIL [bad] sales_per_minute:"),
        ("a key in two part files", split_key, "FAIL [bad] sales_per_minute lines:"),
        ("money with 3 decimals", money_format, "FAIL [bad] merchant_activity lines:"),
        ("a valid line rejected", lambda o: extra_rejected(o, input_path, first_valid,
                                                            lines[first_valid - 1].decode()), "FAIL [bad] rejected:"),
        ("a rejected line missing", missing_rejected, "FAIL [bad] rejected:"),
        ("a rejected line with the wrong position", wrong_line_rejected, "FAIL [bad] rejected:"),
        ("a rejected line with an empty reason", empty_reason, "FAIL [bad] rejected lines:"),
    ]
    bad = os.path.join(work, "bad")
    for name, fn, expect in corruptions:
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(good1, bad)
        fn(bad)
        rc, out = referee(bad)
        fails = [l for l in out.splitlines() if l.startswith("FAIL")]
        ok = rc == 1 and any(l.startswith(expect) for l in fails)
        check(ok, f"detects {name}", fails[0] if ok else f"exit {rc}, output:\n{out}")
    # Two outputs that disagree with each other.
    shutil.rmtree(bad, ignore_errors=True)
    shutil.copytree(good1, bad)
    duplicate_late(bad)
    rc, out = referee(good1, bad)
    ok = rc == 1 and "FAIL [bad] == [good1] late_events:" in out
    check(ok, "detects two outputs that differ", "" if ok else f"exit {rc}, output:\n{out}")

    if not args.keep and failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    elif failed:
        print(f"selftest files kept in {work}")
    print(f"selftest: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
