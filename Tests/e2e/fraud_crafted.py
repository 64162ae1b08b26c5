#!/usr/bin/env python3
"""Injects hand-crafted payments into a generated input for test_fraud.sh.

    python3 Tests/e2e/fraud_crafted.py --input gen.jsonl --output events.jsonl --manifest crafted.json

Each scenario is one customer of its own (`zz-...`), so it meets no generated payment. Every crafted record has
an arrival time: it is placed in the file after the generated lines whose running maximum `ts` is below it, so
its watermark is that of the stream around it (W is about arrival - 6 s). Most arrive at their `ts`; some arrive
a few seconds later (out of order, still ahead of the watermark), some 25 to 45 s later (behind the watermark,
evaluated on arrival), some more than the allowed lateness later (too late). Margins around every boundary
that depends on the watermark are 3 s or more, so the expectation holds whatever the generated stream does.

The manifest maps each crafted payment's event_id to the rules written down here by hand (a list, empty when
none holds, in the SPEC's order), or to null when it must be too late to be evaluated. The referee must agree.
"""

import argparse
import json

SECOND = 1000
MINUTE = 60 * SECOND
LAGOS = (6.5244, 3.3792)
NAIROBI = (-1.2921, 36.8219)
NORTH_520_KM = (11.2009, 3.3792)  # 520.003 km north of Lagos
NORTH_480_KM = (10.8412, 3.3792)  # 480.006 km north of Lagos
V, S, T, C, B = "VELOCITY", "AMOUNT_SPIKE", "IMPOSSIBLE_TRAVEL", "NEW_COUNTRY", "MANY_BENEFICIARIES"


class Scenario:
    """One crafted customer: payments with their arrival and the rules intended for them."""

    def __init__(self, name, base):
        self.customer = f"zz-{name}"
        self.base = base
        self.records = []  # (arrival, line, event_id or None, intended rules)
        self.n = 0

    def pay(self, at, amount, rules=(), *, arrive=0, eid=None, service="card_payment", country="NG", where=None,
            beneficiary=None):
        """A valid payment at base + at ms, arriving `arrive` ms after its ts; rules=None: too late."""
        self.n += 1
        event_id = f"{self.customer}-{eid or f'{self.n:02d}'}"
        record = {"event_id": event_id, "ts": self.base + at, "customer_id": self.customer, "merchant_id": "m-zz",
                  "service": service, "amount": "AMOUNT", "currency": "NGN", "channel": "mobile",
                  "country": country}
        if where:
            record["lat"], record["lon"] = where
        if beneficiary is not None:
            record["beneficiary_id"] = beneficiary
        # Amounts are written with exactly their decimal digits (never through a binary float).
        line = json.dumps(record, separators=(",", ":")).replace('"AMOUNT"', amount)
        self.records.append([self.base + at + arrive, line, event_id, None if rules is None else list(rules)])
        return event_id

    def invalid(self, at, line):
        """A line the job must reject, arriving at base + at."""
        self.records.append([self.base + at, line.replace("CUSTOMER", self.customer), None, None])


def scenarios(start):
    out = []

    def new(name):
        s = Scenario(name, start + MINUTE + len(out) * 20 * SECOND)
        out.append(s)
        return s

    # --- VELOCITY: 5 payments within [ts - 60 s, ts], the bounds included --------------------------------
    s = new("vel-hit")
    for at in (0, 10, 20, 30):
        s.pay(at * SECOND, "10.00")
    s.pay(60 * SECOND, "10.00", [V])
    s = new("vel-edge-out")  # the first payment is 1 ms outside the last one's window
    for at in (0, 10, 20, 30):
        s.pay(at * SECOND, "10.00")
    s.pay(60 * SECOND + 1, "10.00")
    s = new("vel-tie")  # five payments with one ts, written in reverse event_id order: `e` is the 5th
    for eid in "edcba":
        s.pay(5 * SECOND, "10.00", [V] if eid == "e" else [], eid=eid)
    s = new("vel-invalid")  # an invalid line of the customer is no payment: 4 in the window
    for at in (0, 10, 20):
        s.pay(at * SECOND, "10.00")
    s.invalid(25 * SECOND, '{"event_id":"zz-inv-1","ts":1,"customer_id":"CUSTOMER","merchant_id":"m",'
                           '"service":"card_payment","amount":-5,"currency":"NGN","channel":"web","country":"NG"}')
    s.pay(30 * SECOND, "10.00")
    s = new("vel-late")  # a late payment (evaluated on arrival) counts for the payments evaluated after it
    for at in (0, 10, 20, 30):
        s.pay(at * SECOND, "10.00")
    s.pay(5 * SECOND, "10.00", arrive=39 * SECOND)   # arrives at 44 s: W 37-39 s; 30 s was released at W >= 30 s
    s.pay(40 * SECOND, "10.00", [V])                 # waits for W >= 40 s: counts 0, 5, 10, 20, 30 and itself

    # --- AMOUNT_SPIKE: > mean + 4 population stddev of >= 10 prior amounts, and >= 500 ---------------------
    def spike(name, priors, amount, rules, arrive=0, at=None):
        s = new(name)
        for i, prior in enumerate(priors):
            s.pay(i * MINUTE, prior)
        s.pay(at if at is not None else len(priors) * MINUTE, amount, rules, arrive=arrive)
        return s
    spike("spike-hit", ["100.00", "300.00"] * 5, "600.01", [S])       # mean 200, stddev 100: 600 is the bound
    spike("spike-equal", ["100.00", "300.00"] * 5, "600.00", [])      # exactly mean + 4 stddev: not above
    spike("spike-nine", ["100.00", "300.00"] * 4 + ["100.00"], "5000.00", [])  # 9 prior payments only
    spike("spike-small", ["1.00", "3.00"] * 5, "499.99", [])         # far above, but below 500
    spike("spike-500", ["1.00", "3.00"] * 5, "500.00", [S])          # 500 is enough
    spike("spike-exact", ["699.80", "700.40"] * 5, "701.30", [])     # mean 700.10, stddev 0.30: the bound exactly
    spike("spike-exact-up", ["699.80", "700.40"] * 5, "701.31", [S])
    # Late, behind a prior payment with a later ts: that payment is prior (evaluated before it), so 10 priors.
    spike("spike-late", ["100.00"] * 10, "1000.00", [S], at=9 * MINUTE - 10 * SECOND, arrive=30 * SECOND)

    # --- IMPOSSIBLE_TRAVEL: > 500 km from the previous located payment and > 900 km/h -----------------------
    s = new("travel-hit")
    s.pay(0, "20.00", where=LAGOS)
    s.pay(5 * MINUTE, "20.00")                                          # no location: not the previous one
    s.pay(30 * MINUTE, "20.00", [T], country="KE", where=NAIROBI)      # 3812 km in 30 min
    s = new("travel-slow")
    s.pay(0, "20.00", where=LAGOS)
    s.pay(2_127_300, "20.00", where=NORTH_520_KM)                      # 520 km at 879.99 km/h
    s = new("travel-fast")
    s.pay(0, "20.00", where=LAGOS)
    s.pay(2_034_700, "20.00", [T], where=NORTH_520_KM)                 # 520 km at 920.04 km/h
    s = new("travel-near")
    s.pay(0, "20.00", where=LAGOS, eid="a")
    s.pay(0, "20.00", where=NORTH_480_KM, eid="b")                     # 480 km, same ts: too near
    s = new("travel-zero")
    s.pay(0, "20.00", [T], where=NAIROBI, eid="b")                     # written first, evaluated second:
    s.pay(0, "20.00", [], where=LAGOS, eid="a", arrive=2 * SECOND)     # 3812 km in 0 ms
    s = new("travel-late")
    s.pay(0, "20.00", where=LAGOS)
    s.pay(20 * MINUTE, "20.00", [T], country="KE", where=NAIROBI)
    # Late: the previous located payment latest in event-time order is Nairobi, 20 s after it.
    s.pay(20 * MINUTE - 20 * SECOND, "20.00", [T], where=LAGOS, arrive=30 * SECOND)
    # On time: the latest located payment before it in event-time order is Nairobi (not the late Lagos one).
    s.pay(25 * MINUTE, "20.00", [], country="KE", where=NAIROBI)

    # --- NEW_COUNTRY: >= 5 prior payments, none from this country, amount >= 300 ---------------------------
    def country(name, countries, amount, rules, *, last_at=None, last_arrive=0):
        s = new(name)
        for i, c in enumerate(countries):
            s.pay(i * MINUTE, "50.00", country=c)
        s.pay(last_at if last_at is not None else len(countries) * MINUTE, amount, rules, country="GH",
              arrive=last_arrive)
        return s
    country("country-hit", ["NG"] * 5, "300.00", [C])
    country("country-four", ["NG"] * 4, "300.00", [])
    country("country-small", ["NG"] * 5, "299.99", [])
    country("country-seen", ["NG", "NG", "GH", "NG", "NG"], "1000.00", [])
    # Written after the 5th NG payment but 1 s before it in event time (both still wait): it is the 5th.
    s = country("country-order", ["NG"] * 5, "300.00", [], last_at=4 * MINUTE - SECOND, last_arrive=4 * SECOND)
    s = new("country-too-late")  # a too-late payment is no prior payment
    for i in range(4):
        s.pay(i * MINUTE, "50.00")
    s.pay(200 * SECOND, "50.00", None, arrive=200 * SECOND)           # arrives at 400 s: W about 394 s
    s.pay(7 * MINUTE, "300.00", [], country="GH")

    # --- MANY_BENEFICIARIES: a transfer, >= 5 distinct beneficiaries of transfers in [ts - 10 min, ts] ------
    def beneficiaries(name, plan, rules):
        s = new(name)
        for i, (at, service, beneficiary) in enumerate(plan):
            s.pay(at, "25.00", rules if i == len(plan) - 1 else [], service=service, beneficiary=beneficiary)
    tr = "transfer"
    beneficiaries("benef-hit", [(i * 2 * MINUTE, tr, f"b{i}") for i in range(5)], [B])
    beneficiaries("benef-repeat", [(i * 2 * MINUTE, tr, f"b{i % 4}") for i in range(5)], [])
    beneficiaries("benef-window-out", [(0, tr, "b0")] + [(5 * MINUTE + i * MINUTE, tr, f"b{i}") for i in (1, 2, 3)]
                  + [(10 * MINUTE + 1, tr, "b4")], [])
    beneficiaries("benef-edge", [(0, tr, "b0")] + [(5 * MINUTE + i * MINUTE, tr, f"b{i}") for i in (1, 2, 3)]
                  + [(10 * MINUTE, tr, "b4")], [B])
    beneficiaries("benef-card", [(i * MINUTE, tr, f"b{i}") for i in range(4)]
                  + [(5 * MINUTE, "card_payment", "b4"), (6 * MINUTE, tr, "b3")], [])
    beneficiaries("benef-none", [(i * MINUTE, tr, f"b{i}") for i in range(4)] + [(5 * MINUTE, tr, None)], [])

    # --- All five at once, in the SPEC's order --------------------------------------------------------------
    s = new("all-rules")
    for i in range(10):
        s.pay(i * 61 * SECOND, "100.00")
    for i in range(4):
        s.pay(10 * MINUTE + i * 10 * SECOND, "100.00", service=tr, beneficiary=f"b{i}",
              where=LAGOS if i == 3 else None)
    s.pay(10 * MINUTE + 40 * SECOND, "2000.00", [V, S, T, C, B], service=tr, beneficiary="b4", country="KE",
          where=NAIROBI)

    # --- Invalid lines among the crafted ones --------------------------------------------------------------
    s = new("invalid")
    s.invalid(0, 'not json at all')
    s.invalid(SECOND, '{"event_id":"zz-inv-2","ts":1767225660000,"customer_id":"CUSTOMER","merchant_id":"m",'
                      '"service":"card_payment","amount":5,"currency":"NGN","channel":"web","country":"NG","lat":1}')
    s.invalid(2 * SECOND, '{"event_id":"zz-inv-3","ts":1767225660000,"customer_id":"CUSTOMER","merchant_id":"m",'
                          '"service":"card_payment","amount":5,"currency":"NGN","channel":"web","country":"ng"}')
    s.pay(3 * SECOND, "5.00")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--manifest", required=True)
    args = ap.parse_args()
    with open(args.input, encoding="utf-8") as f:
        generated = f.read().split("\n")
    if generated and generated[-1] == "":
        generated.pop()
    # Each generated line's key is the greatest ts so far (invalid lines keep the last one).
    items, high, start = [], 0, None
    for i, line in enumerate(generated):
        ts = _ts(line)
        if ts is not None and 0 < ts < 253402300800000:
            high = max(high, ts)
            start = ts if start is None else min(start, ts)
        items.append((high, 0, i, line))
    manifest, n = {}, 0
    plan = scenarios(start)
    for s in plan:
        for arrival, line, event_id, rules in s.records:
            n += 1
            items.append((arrival, 1, n, line))
            if event_id:
                manifest[event_id] = rules
    items.sort(key=lambda item: item[:3])
    lines = [item[3] for item in items]

    # Edge of the allowed lateness: a payment exactly 59.999 s behind the watermark it meets is evaluated,
    # one exactly 60 s behind is too late. A crafted payment 1 ms after every ts before it (valid or not) sets
    # the maximum, so the watermark after it is known exactly: floor((ts - 5001) / 1000) * 1000.
    at = len(lines) // 2
    top = max(t for t in map(_ts, lines[:at]) if t is not None)
    assert top < start + 86_400_000, f"a line before the middle has ts {top}: cannot place the lateness edge"
    wm = (top + 1 - 5001) // 1000 * 1000
    for name, ts, rules in (("edge-pusher", top + 1, []), ("edge-in", wm - 59_999, []),
                            ("edge-out", wm - 60_000, None)):
        record = {"event_id": f"zz-{name}-01", "ts": ts, "customer_id": f"zz-{name}", "merchant_id": "m-zz",
                  "service": "card_payment", "amount": 1, "currency": "NGN", "channel": "web", "country": "NG"}
        lines.insert(at, json.dumps(record, separators=(",", ":")))
        manifest[record["event_id"]] = rules
        at += 1
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(args.manifest, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print(f"{len(generated)} generated lines, {n + 3} crafted ({len(manifest)} payments in {len(plan) + 3} "
          f"scenarios) -> {args.output}")


def _ts(line):
    """The line's ts when it has an integer one (valid or not), else None."""
    try:
        ts = json.loads(line).get("ts")
    except (ValueError, AttributeError):
        return None
    return ts if isinstance(ts, int) and not isinstance(ts, bool) else None


if __name__ == "__main__":
    main()
