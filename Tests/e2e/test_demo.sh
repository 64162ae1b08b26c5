#!/usr/bin/env bash
# `make demo` (scripts/demo.sh) in a directory of its own: it starts a PostgreSQL of its own when none answers, runs
# both jobs on the embedded defaults with progress, stops them on SIGINT or SIGTERM with a final checkpoint (and the
# PostgreSQL it started), and a second run resumes from there. The tables and the lake are filled.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${KVSTREAM_BIN:-$ROOT/.build/release/kvstream}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
T=$(mktemp -d "${TMPDIR:-/tmp}/kvstream-e2e-demo.XXXXXX")
chmod 755 "$T"
echo "work dir $T"
passed=0
failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
source "$HERE/pg.sh"
PORT=$(free_port)
# Ten times the default rate (event time runs ten times faster than the clock, so minutes close in seconds) and
# checkpoints every 2 s, to keep the test short.
# SIGTERM stands for Ctrl-C (demo.sh handles both the same way): a background job of a script ignores SIGINT, and a
# shell cannot trap a signal ignored from its start.
demo() {
    KVSTREAM_BIN=$BIN KVSTREAM_DEMO_DIR=$T KVSTREAM_DEMO_PG_PORT=$PORT \
        KVSTREAM_DEMO_ARGS="--set sources.payments.rate=20000 --set checkpoint.interval=2s" exec bash "$ROOT/scripts/demo.sh"
}
cleanup() { [[ -n ${pid:-} ]] && kill -KILL "$pid" 2>/dev/null; pg_stop "$T/state/postgres"; }
trap cleanup EXIT

# Runs the demo until its progress lines have shown checkpoints SECONDS apart (progress comes every 10 s), then
# sends SIGTERM.
run_demo() { # LOG
    demo >"$T/$1" 2>&1 &
    pid=$!
    for _ in $(seq 120); do
        [[ $(grep -c "| checkpoint " "$T/$1") -ge 2 ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    pid=""
    return $rc
}

if run_demo demo1.out; then
    pass "the demo ran both jobs with progress and stopped on SIGTERM (as on Ctrl-C), exit 0"
else
    fail "the demo: $(tail -3 "$T/demo1.out")"
fi
grep -q "starting PostgreSQL on 127.0.0.1:$PORT" "$T/demo1.out" && pass "it started a PostgreSQL of its own under state/" \
    || fail "no PostgreSQL started: $(head -3 "$T/demo1.out")"
grep -q "fraud-detection: .* events/s" "$T/demo1.out" && grep -q "realtime-aggregations: .* events/s" "$T/demo1.out" \
    && pass "live progress of both jobs" || fail "no progress lines"
grep -q "psql -h 127.0.0.1 -p $PORT" "$T/demo1.out" && grep -q "read_parquet('lake/payments_scored" "$T/demo1.out" \
    && pass "it printed how to look at the results" || fail "no hint at the end"
finals=0
for job in fraud-detection realtime-aggregations; do
    (cd "$T" && "$BIN" checkpoints "$job" 2>/dev/null | sed -n 2p | grep -q "(final)") && finals=$((finals + 1))
done
[[ $finals -eq 2 ]] && pass "both jobs ended with a final checkpoint" || fail "$((2 - finals)) job(s) without a final checkpoint"
pg_isready -q -h 127.0.0.1 -p "$PORT" && fail "the PostgreSQL it started is still running" \
    || pass "the PostgreSQL it started was stopped"

if pg_start "$T/state/postgres" "$PORT"; then
    counts=$(psql -h 127.0.0.1 -p "$PORT" -U postgres -d kvstream -At -c "select
        (select count(*) from sales_per_minute) || ' ' || (select count(*) from merchant_activity) || ' ' ||
        (select count(*) from daily_client_summary) || ' ' || (select count(*) from fraud_alerts)" 2>&1)
    read -r spm ma dcs fa <<<"$counts" || true
    [[ ${spm:-0} -gt 0 && ${dcs:-0} -gt 0 ]] \
        && pass "PostgreSQL holds sales_per_minute ($spm), merchant_activity ($ma), daily_client_summary ($dcs), fraud_alerts ($fa)" \
        || fail "PostgreSQL tables: $counts"
    pg_stop "$T/state/postgres"
else
    fail "cannot start the demo's PostgreSQL again"
fi
scored=$(cd "$T" && python3 -c "import duckdb; print(duckdb.sql(\"select count(*) from read_parquet('lake/payments_scored/**/*.parquet', hive_partitioning=true)\").fetchall()[0][0])" 2>&1)
[[ $scored =~ ^[0-9]+$ && $scored -gt 0 ]] && pass "the lake holds $scored scored payments (DuckDB)" \
    || fail "lake: $scored"

if run_demo demo2.out && grep -q "restoring fraud-detection from checkpoint" "$T/state/demo/fraud-detection.log" \
    && grep -q "restoring realtime-aggregations from checkpoint" "$T/state/demo/realtime-aggregations.log"; then
    pass "a second run resumed both jobs from their checkpoints"
else
    fail "second run: $(tail -2 "$T/demo2.out")"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
