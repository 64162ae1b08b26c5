#!/usr/bin/env bash
# Exactly-once under SIGKILL: a bounded job on a deterministic input is killed with SIGKILL at random moments
# (while processing, while checkpointing every 100 ms, while committing) and restarted each time, until a run
# completes. Its committed output must equal an uninterrupted run's, and both must equal what DuckDB computes
# from the input (the referee). Scenarios: parallelism 1, parallelism 3, parallelism 3 restored at 2, and a
# corrupted newest checkpoint (the job must fall back to the one before). Ends with `N passed, N failed`.
#
# Environment: KVSTREAM_BIN, COUNT (events, 2500000), KILLS (per scenario, 10), SEED (kill timing; printed),
# BACKEND (state backend of the killed runs: memory or rocksdb; default memory).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${KVSTREAM_BIN:-$ROOT/.build/release/kvstream}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
COUNT=${COUNT:-2500000}
KILLS=${KILLS:-10}
SEED=${SEED:-$RANDOM}
RANDOM=$SEED
T=$(mktemp -d "${TMPDIR:-/tmp}/kvstream-e2e-eo.XXXXXX")
cd "$T"
# The defaults of the tests: topology/local.toml with JSON-lines sinks, found in the working directory.
mkdir -p topology && cp "$HERE/jsonl.toml" topology/local.toml
passed=0
failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
echo "work dir $T, kill timing seed $SEED"

"$BIN" gen payments --count "$COUNT" --seed 5 --out events.jsonl --invalid-ratio 0.001 2>/dev/null
BACKEND=${BACKEND:-memory}
common=(realtime-aggregations --bounded --set sources.payments.type=file --set sources.payments.path=events.jsonl
        --set checkpoint.interval=100ms --set checkpoint.retained=3 --set state.backend="$BACKEND"
        --set state.dir=state-"$BACKEND")
echo "state backend $BACKEND"

run_to_end() { # OUT CKPT [--set ...]: one uninterrupted run
    local out=$1 ckpt=$2
    shift 2
    "$BIN" run "${common[@]}" --set sinks.postgres.path="$out" --set sinks.lake.path="$out" \
        --set checkpoint.dir="$ckpt" "$@" >>"$out.log" 2>&1
}

# killed_runs OUT CKPT KILLS [--set ...]: starts the job and kills it with SIGKILL after a random 0.05-0.4 s,
# KILLS times (restarting each time from its latest checkpoint). Fails if a run failed by itself, or if the job
# completed before it was killed KILLS times (the input was too small to test what it claims).
killed_runs() {
    local out=$1 ckpt=$2 kills=$3
    shift 3
    local done_kills=0
    while [[ $done_kills -lt $kills ]]; do
        "$BIN" run "${common[@]}" --set sinks.postgres.path="$out" --set sinks.lake.path="$out" \
            --set checkpoint.dir="$ckpt" "$@" >>"$out.log" 2>&1 &
        local pid=$!
        local delay_ms=$((50 + RANDOM % 350))
        local waited=0
        while [[ $waited -lt $delay_ms ]] && kill -0 $pid 2>/dev/null; do
            sleep 0.02
            waited=$((waited + 20))
        done
        if kill -0 $pid 2>/dev/null; then
            kill -KILL $pid
            wait $pid 2>/dev/null
            done_kills=$((done_kills + 1))
        else
            wait $pid
            local rc=$?
            [[ $rc -eq 0 ]] || { echo "run exited $rc on its own: $(tail -2 "$out.log")"; return 1; }
            echo "the job completed after $done_kills kills: input too small for $kills kills (raise COUNT)"
            return 1
        fi
    done
    echo "$out: $done_kills kills"
}

complete_checkpoints() { ls "$1"/realtime-aggregations/chk-*/_metadata 2>/dev/null | wc -l; }

# ensure_checkpoint OUT CKPT [--set ...]: runs and kills the job after ~1.5 s until it has a complete checkpoint,
# so that the next run really restores one.
ensure_checkpoint() {
    local out=$1 ckpt=$2
    shift 2
    local tries=0
    while [[ $(complete_checkpoints "$ckpt") -eq 0 && $tries -lt 5 ]]; do
        "$BIN" run "${common[@]}" --set sinks.postgres.path="$out" --set sinks.lake.path="$out" \
            --set checkpoint.dir="$ckpt" "$@" >>"$out.log" 2>&1 &
        local pid=$!
        sleep 1.5
        kill -KILL $pid 2>/dev/null
        wait $pid 2>/dev/null
        tries=$((tries + 1))
    done
    [[ $(complete_checkpoints "$ckpt") -gt 0 ]]
}

run_to_end ref ck-ref --set job.parallelism=1 && pass "uninterrupted reference run" || fail "reference run"

if killed_runs p1 ck-p1 "$KILLS" --set job.parallelism=1 && run_to_end p1 ck-p1 --set job.parallelism=1; then
    pass "parallelism 1: $KILLS kills, then completion"
else
    fail "parallelism 1 runs"
fi

if killed_runs p3 ck-p3 "$KILLS" --set job.parallelism=3 && run_to_end p3 ck-p3 --set job.parallelism=3; then
    pass "parallelism 3: $KILLS kills, then completion"
else
    fail "parallelism 3 runs"
fi

if killed_runs r32 ck-r32 5 --set job.parallelism=3 && ensure_checkpoint r32 ck-r32 --set job.parallelism=3 \
    && run_to_end r32 ck-r32 --set job.parallelism=2; then
    grep -q "restoring realtime-aggregations from checkpoint" r32.log \
        && pass "parallelism 3 killed 5 times, then restored and completed at parallelism 2" \
        || fail "rescale run did not restore from a checkpoint"
else
    fail "rescale runs"
fi

if killed_runs cor ck-cor 4 --set job.parallelism=2 && ensure_checkpoint cor ck-cor --set job.parallelism=2; then
    newest=$(ls ck-cor/realtime-aggregations 2>/dev/null | sed -n 's/^chk-//p' | sort -n | while read -r id; do
        [[ -f ck-cor/realtime-aggregations/chk-$id/_metadata ]] && echo "ck-cor/realtime-aggregations/chk-$id"
    done | tail -1)
    if [[ -n $newest ]]; then
        echo '{"checkpointID": "not a number", garbage' >"$newest/_metadata"
        run_to_end cor ck-cor --set job.parallelism=2
        grep -q "skipping checkpoint $(basename "$newest" | cut -d- -f2)" cor.log \
            && pass "corrupt newest checkpoint $(basename "$newest") skipped with a warning" \
            || fail "no warning about the corrupt checkpoint $(basename "$newest")"
    else
        fail "no complete checkpoint to corrupt"
    fi
else
    fail "runs before corrupting a checkpoint"
fi

# Crashes at exact points of the commit protocol (KVSTREAM_FAULT, see FaultInjection.swift): after a checkpoint's
# metadata is durable but before its commits ran, between two commit renames, and between a task's snapshot and
# its acknowledgement. Each restart must replay or discard exactly what it should.
fault_ok=1
for fault in after-metadata:3 mid-commit:2 after-snapshot:5 mid-commit:6; do
    KVSTREAM_FAULT=$fault "$BIN" run "${common[@]}" --set sinks.postgres.path=flt --set sinks.lake.path=flt \
        --set checkpoint.dir=ck-flt --set job.parallelism=2 >>flt.log 2>&1
    rc=$?
    if [[ $rc -ne 137 ]]; then
        echo "fault $fault: exit $rc, expected 137 (the fault did not fire)"
        fault_ok=0
    fi
done
run_to_end flt ck-flt --set job.parallelism=2
[[ $fault_ok -eq 1 ]] && grep -c "fault injected" flt.log | grep -q 4 \
    && pass "crashes after metadata, mid-commit and after a snapshot, then completion" \
    || fail "fault-injection runs"

for out in p1 p3 r32 cor flt; do
    if ls "$out"/*/.part-* >/dev/null 2>&1; then fail "$out: staged files left behind"; else pass "$out: nothing staged left behind"; fi
done

python3 "$HERE/referee.py" --input events.jsonl --output ref --output p1 --output p3 --output r32 --output cor --output flt \
    >referee.out 2>&1
rc=$?
grep -E '^(ok|FAIL)' referee.out | grep -vE 'lines well-formed' | sed 's/^/  /'
[[ $rc -eq 0 ]] && pass "all outputs equal the uninterrupted run and DuckDB's result" || fail "referee (see above)"

echo "$passed passed, $failed failed"
if [[ $failed -eq 0 ]]; then rm -rf "$T"; else echo "kept $T"; fi
[[ $failed -eq 0 ]]
