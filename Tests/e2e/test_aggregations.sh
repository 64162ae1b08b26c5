#!/usr/bin/env bash
# End-to-end test of the `realtime-aggregations` job: generate payments, run the job bounded at
# parallelism 1 and 4 with JSON-lines sinks, and check both outputs with the DuckDB referee. Then two unbounded
# runs that never reach the end of the day show daily_client_summary's early firing: rows committed and updated
# while the day is open, and equal to the referee's once every record was read.
#
#   Tests/e2e/test_aggregations.sh
#
# Environment: KVSTREAM_BIN (default .build/release/kvstream), PYTHON (python3), COUNT (200000 events),
# RUN_TIMEOUT (seconds per job run, 900), KEEP_TMP=1 (keep the work dir even when everything passed).
# Prints each command it runs, one line per check, and ends with `N passed, N failed`.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
COUNT=${COUNT:-200000}
RUN_TIMEOUT=${RUN_TIMEOUT:-900}
KVSTREAM_BIN=${KVSTREAM_BIN:-.build/release/kvstream}
if [[ ! -x $KVSTREAM_BIN && -x $ROOT/$KVSTREAM_BIN ]]; then
    KVSTREAM_BIN=$ROOT/$KVSTREAM_BIN # the default path, when not run from the repository root
fi
if [[ -x $KVSTREAM_BIN ]]; then
    KVSTREAM_BIN=$(cd "$(dirname "$KVSTREAM_BIN")" && pwd)/$(basename "$KVSTREAM_BIN")
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/kvstream-e2e-agg.XXXXXX")
passed=0
failed=0

pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

finish() {
    if [[ $failed -eq 0 && ${KEEP_TMP:-0} != 1 ]]; then
        rm -rf "$T"
    else
        echo "work dir kept: $T"
    fi
    echo "$passed passed, $failed failed"
    if [[ $failed -eq 0 ]]; then exit 0; else exit 1; fi
}

# A Python checker: shows its output and counts its `ok` / `FAIL` lines as checks.
# A non-zero exit without any FAIL line (a crash) counts as one more failure.
run_checker() {
    local name=$1
    shift
    echo "+ $*"
    local rc=0
    "$@" >"$T/$name.log" 2>&1 || rc=$?
    cat "$T/$name.log"
    local ok bad
    ok=$(grep -c '^ok ' "$T/$name.log" || true)
    bad=$(grep -c '^FAIL ' "$T/$name.log" || true)
    passed=$((passed + ok))
    failed=$((failed + bad))
    if [[ $rc -ne 0 && $bad -eq 0 ]]; then
        fail "$name: exited $rc without reporting a failed check (see above)"
    fi
}

# A step of the test: runs the command with a time limit, output to a log shown only on failure.
run_step() {
    local name=$1
    shift
    echo "+ $*"
    local rc=0 start=$SECONDS
    if command -v timeout >/dev/null; then
        timeout "$RUN_TIMEOUT" "$@" >"$T/$name.log" 2>&1 || rc=$?
    else
        "$@" >"$T/$name.log" 2>&1 || rc=$?
    fi
    if [[ $rc -eq 0 ]]; then
        pass "$name: exit 0 in $((SECONDS - start)) s"
        return 0
    fi
    [[ $rc -eq 124 ]] && echo "(timed out after $RUN_TIMEOUT s)"
    tail -n 20 "$T/$name.log" | sed 's/^/    | /'
    fail "$name: exit $rc (log: $T/$name.log)"
    return 1
}

echo "work dir: $T"
echo "kvstream: $KVSTREAM_BIN"

# 0. The referee checks itself against a plain-Python implementation of the same rules.
run_checker selftest "$PYTHON" "$HERE/selftest_referee.py"

# 1. Input: synthetic payments, a few of them invalid, some out of order, some late.
if [[ ! -x $KVSTREAM_BIN ]]; then
    fail "kvstream binary not found or not executable: $KVSTREAM_BIN (build it, or set KVSTREAM_BIN)"
    finish
fi
if ! run_step gen "$KVSTREAM_BIN" gen payments --count "$COUNT" --seed 7 --out "$T/events.jsonl" \
    --invalid-ratio 0.002; then
    finish
fi

# 2. The job, bounded, at parallelism 1 and 4; each run with its own fresh checkpoint dir (a job resumes
#    from its latest checkpoint by default).
outputs=()
for p in 1 4; do
    if run_step "run-p$p" "$KVSTREAM_BIN" run realtime-aggregations --bounded --set job.parallelism=$p \
        --set sources.payments.type=file --set sources.payments.path="$T/events.jsonl" \
        --set sinks.postgres.type=jsonl --set sinks.postgres.path="$T/p$p" \
        --set sinks.lake.type=jsonl --set sinks.lake.path="$T/p$p" \
        --set checkpoint.dir="$T/ckpt$p" --set state.backend=memory; then
        outputs+=(--output "$T/p$p")
    fi
done

# 3. The referee: expected tables from DuckDB SQL, compared with each output and across outputs.
if [[ ${#outputs[@]} -gt 0 ]]; then
    run_checker referee "$PYTHON" "$HERE/referee.py" --input "$T/events.jsonl" "${outputs[@]}"
fi

# 4. Early firing of daily_client_summary, in runs that never reach the end of the day in event time (events
#    start at 2026-01-01T00:00:00Z and move about a second per second), stopped with SIGTERM.
#
# unbounded NAME SOURCE_ARGS...: starts the job without --bounded (jsonl sinks into $T/NAME, checkpoints every
# second), its pid in $job_pid.
unbounded() {
    local name=$1
    shift
    echo "+ kvstream run realtime-aggregations $* (unbounded, into $T/$name)"
    "$KVSTREAM_BIN" run realtime-aggregations "$@" \
        --set sinks.postgres.type=jsonl --set sinks.postgres.path="$T/$name" \
        --set sinks.lake.type=jsonl --set sinks.lake.path="$T/$name" \
        --set checkpoint.dir="$T/ckpt-$name" --set checkpoint.interval=1s --set state.backend=memory \
        >"$T/$name.log" 2>&1 &
    job_pid=$!
}
# stop NAME: SIGTERM, which must end the run with exit 0.
stop() {
    kill -TERM "$job_pid" 2>/dev/null
    local rc=0
    wait "$job_pid" || rc=$?
    if [[ $rc -eq 0 ]]; then pass "$1: stopped with SIGTERM, exit 0"; else fail "$1: exit $rc after SIGTERM (log: $T/$1.log)"; fi
}
# daily_early OUT: what the committed daily_client_summary lines show: "ROWS_OF_2026-01-01 UPDATED_KEYS OTHER_DAYS"
# (rows of the open day; keys whose tx_count grew in a later line; rows of days other than 2025-12-31/2026-01-01).
daily_early() {
    "$PYTHON" - "$1/daily_client_summary" <<'PY'
import glob, json, os, re, sys
rows, counts, updated, other = 0, {}, set(), 0
def order(p):
    m = re.fullmatch(r"part-(\d+)-(\d+)\.jsonl", os.path.basename(p))
    return (int(m.group(2)), int(m.group(1))) if m else (-1, 0)
for p in sorted(glob.glob(os.path.join(sys.argv[1], "part-*.jsonl")), key=order):
    for line in open(p):
        r = json.loads(line)
        key = (r["day"], r["customer_id"], r["service"])
        if r["day"] == "2026-01-01":
            rows += 1
        elif r["day"] != "2025-12-31":
            other += 1
        if key in counts and r["tx_count"] > counts[key]:
            updated.add(key)
        counts[key] = r["tx_count"]
print(rows, len(updated), other)
PY
}

# 4a. A generator at 1,000 events/s (event time: 1,000 events a second) for about 20 s: rows of the open day are
#     committed while the job runs, and rows of keys that changed again are upserted again at a later firing.
unbounded early --set sources.payments.type=generator --set sources.payments.rate=1000 --set sources.payments.seed=3
start=$SECONDS
seen=(0 0 0)
while [[ $((SECONDS - start)) -lt 40 ]] && kill -0 "$job_pid" 2>/dev/null; do
    sleep 1
    read -r -a seen <<<"$(daily_early "$T/early" 2>/dev/null || echo 0 0 0)"
    [[ ${seen[1]} -gt 0 && $((SECONDS - start)) -ge 15 ]] && break
done
running=0
kill -0 "$job_pid" 2>/dev/null && running=1
watermark=$(grep -o 'watermark [0-9T:.-]*Z' "$T/early.log" | tail -1 || true)
if [[ $running -eq 1 && ${seen[0]} -gt 0 && ${seen[1]} -gt 0 && ${seen[2]} -eq 0 ]]; then
    pass "early firing: after $((SECONDS - start)) s of a running job, ${seen[0]} daily_client_summary lines of the open day 2026-01-01 committed (${watermark:-no watermark yet}), ${seen[1]} keys upserted again with a larger tx_count"
else
    fail "early firing: after $((SECONDS - start)) s (job running: $running, ${watermark:-no watermark}), lines of 2026-01-01 ${seen[0]}, keys upserted again ${seen[1]}, lines of other days ${seen[2]} (log: $T/early.log)"
fi
stop early

# 4b. The events file of step 1, read by an unbounded run: once every record was read and fired early, the
#     committed daily_client_summary equals the referee's final table, although its day has not ended.
#     Polled for up to 40 s (an early firing every 10 s, a checkpoint every second); checked again after SIGTERM.
unbounded open --set sources.payments.type=file --set sources.payments.path="$T/events.jsonl"
start=$SECONDS
converged=0
while [[ $((SECONDS - start)) -lt 40 ]] && kill -0 "$job_pid" 2>/dev/null; do
    sleep 2
    if "$PYTHON" "$HERE/referee.py" --input "$T/events.jsonl" --output "$T/open" --tables daily_client_summary \
        >"$T/open-poll.log" 2>&1; then
        converged=1
        break
    fi
done
if [[ $converged -eq 1 ]]; then
    pass "open day: the early rows of daily_client_summary equal DuckDB's within $((SECONDS - start)) s, the job still running"
else
    grep -E '^FAIL' "$T/open-poll.log" | head -3
    fail "open day: the early rows of daily_client_summary did not converge to DuckDB's within 40 s (log: $T/open.log)"
fi
stop open
run_checker referee-open "$PYTHON" "$HERE/referee.py" --input "$T/events.jsonl" --output "$T/open" \
    --tables daily_client_summary

finish
