#!/usr/bin/env bash
# End-to-end test of the `realtime-aggregations` job: generate payments, run the job bounded at
# parallelism 1 and 4 with JSON-lines sinks, and check both outputs with the DuckDB referee.
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

finish
