#!/usr/bin/env bash
# End-to-end test of the `fraud-detection` job: generated payments with hand-crafted ones injected (each rule hit,
# decoys just short of each rule, out-of-order, late, too-late and invalid lines), the job run bounded at
# parallelism 1 and 2 with memory and RocksDB state (RocksDB with a tiny cache, so state goes through its codec),
# killed and resumed, and run with another model file; every output checked by the DuckDB referee
# (fraud_referee.py). Also: a bad model file stops the job with exit 2 and a line naming the key.
#
#   Tests/e2e/test_fraud.sh
#
# Environment: KVSTREAM_BIN (default .build/release/kvstream), PYTHON (python3), COUNT (60000 generated events),
# RUN_TIMEOUT (seconds per job run, 600), KEEP_TMP=1 (keep the work dir even when everything passed).
# Prints each command it runs, one line per check, and ends with `N passed, N failed`.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
COUNT=${COUNT:-60000}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
KVSTREAM_BIN=${KVSTREAM_BIN:-.build/release/kvstream}
if [[ ! -x $KVSTREAM_BIN && -x $ROOT/$KVSTREAM_BIN ]]; then
    KVSTREAM_BIN=$ROOT/$KVSTREAM_BIN
fi
if [[ -x $KVSTREAM_BIN ]]; then
    KVSTREAM_BIN=$(cd "$(dirname "$KVSTREAM_BIN")" && pwd)/$(basename "$KVSTREAM_BIN")
fi
MODEL=$ROOT/jobs/fraud-model.json
source "$HERE/kills.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/kvstream-e2e-fraud.XXXXXX")
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

# A Python checker: shows its output and counts its `ok` / `FAIL` lines as checks; a non-zero exit without a
# FAIL line (a crash) counts as one more failure.
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

# A step: runs the command with a time limit, its output to a log shown only on failure.
run_step() {
    local name=$1
    shift
    echo "+ $*"
    local rc=0 start=$SECONDS
    timeout "$RUN_TIMEOUT" "$@" >"$T/$name.log" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]]; then
        pass "$name: exit 0 in $((SECONDS - start)) s"
        return 0
    fi
    [[ $rc -eq 124 ]] && echo "(timed out after $RUN_TIMEOUT s)"
    tail -n 20 "$T/$name.log" | sed 's/^/    | /'
    fail "$name: exit $rc (log: $T/$name.log)"
    return 1
}

# job OUT: sets JOB to the job's command line over the test input, bounded, with JSON-lines sinks into $T/OUT and
# checkpoints and state of its own.
job() {
    JOB=("$KVSTREAM_BIN" run fraud-detection --bounded
        --set sources.payments.type=file --set sources.payments.path="$T/events.jsonl"
        --set sinks.postgres.type=jsonl --set sinks.postgres.path="$T/$1"
        --set sinks.lake.type=jsonl --set sinks.lake.path="$T/$1"
        --set checkpoint.dir="$T/ckpt-$1" --set state.dir="$T/state-$1")
}

echo "work dir: $T"
echo "kvstream: $KVSTREAM_BIN"
if [[ ! -x $KVSTREAM_BIN ]]; then
    fail "kvstream binary not found or not executable: $KVSTREAM_BIN (build it, or set KVSTREAM_BIN)"
    finish
fi

# 1. Input: generated payments (25 per second of event time, so that 10-minute windows fill), with crafted ones.
run_step gen "$KVSTREAM_BIN" gen payments --count "$COUNT" --rate 25 --seed 17 --out "$T/gen.jsonl" \
    --invalid-ratio 0.002 || finish
run_step inject "$PYTHON" "$HERE/fraud_crafted.py" --input "$T/gen.jsonl" --output "$T/events.jsonl" \
    --manifest "$T/crafted.json" || finish

# 2. The job at parallelism 1 and 2, memory and RocksDB state.
outputs=()
for backend in memory rocksdb; do
    for p in 1 2; do
        extra=()
        [[ $backend == rocksdb ]] && extra=(--set state.cache_entries=16)
        job "$backend-p$p"
        if run_step "run-$backend-p$p" "${JOB[@]}" --set job.parallelism=$p --set state.backend=$backend \
            "${extra[@]}"; then
            outputs+=(--output "$T/$backend-p$p")
        fi
    done
done

# 3. Killed with SIGKILL a few times while it runs (checkpoints every 50 ms), then resumed to the end.
job killed
JOB+=(--set job.parallelism=2 --set state.backend=rocksdb --set state.cache_entries=16 --set checkpoint.interval=50ms)
echo "+ kill_runs 3 : -- ${JOB[*]}"
kill_runs 3 : -- "${JOB[@]}" >>"$T/killed.log" 2>&1 || true  # (a killed run exits non-zero)
echo "$kills kills"
if run_step "run-resumed" "${JOB[@]}"; then
    outputs+=(--output "$T/killed")
fi

# 4. The referee: every output against DuckDB's expected tables, and the crafted payments against the manifest.
run_checker referee "$PYTHON" "$HERE/fraud_referee.py" --input "$T/events.jsonl" --model "$MODEL" \
    --manifest "$T/crafted.json" "${outputs[@]}"

# 5. Another model file: the scores follow it.
"$PYTHON" - "$MODEL" "$T/other-model.json" <<'EOF'
import json, sys
model = json.load(open(sys.argv[1]))
model["bias"] = -2.0
model["weights"] = {name: round(w * 1.7 - 0.05, 4) for name, w in model["weights"].items()}
json.dump(model, open(sys.argv[2], "w"))
EOF
job other
if run_step run-other-model "${JOB[@]}" --set job.parallelism=2 --set state.backend=memory \
    --set jobs.fraud-detection.model="$T/other-model.json"; then
    run_checker referee-other "$PYTHON" "$HERE/fraud_referee.py" --input "$T/events.jsonl" \
        --model "$T/other-model.json" --output "$T/other"
fi

# 6. A bad model file: exit 2, one line naming the key.
printf '{"bias": -1, "weights": {"velocity": 1}}\n' >"$T/bad-model.json"
for model in "$T/bad-model.json" "$T/no-such-model.json"; do
    rc=0
    job bad
    "${JOB[@]}" --set jobs.fraud-detection.model="$model" >"$T/bad.log" 2>&1 || rc=$?
    last=$(tail -1 "$T/bad.log")
    if [[ $rc -eq 2 && $last == "kvstream: jobs.fraud-detection.model: $model: "* && $(wc -l <"$T/bad.log") -eq 1 ]]; then
        pass "bad model $(basename "$model"): exit 2, '$last'"
    else
        fail "bad model $(basename "$model"): exit $rc, $(wc -l <"$T/bad.log") lines, last: $last"
    fi
done

finish
