#!/usr/bin/env bash
# The `kvstream` command line as SPEC section 1 describes it: exit codes (0 ok, 2 usage or configuration with a
# one-line message naming the key or flag, 1 failure at run time), describe, gen determinism, progress, and a
# clean stop on SIGTERM. Ends with `N passed, N failed`.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${KVSTREAM_BIN:-$ROOT/.build/release/kvstream}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
T=$(mktemp -d "${TMPDIR:-/tmp}/kvstream-e2e-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
# The defaults of the tests: topology/local.toml with JSON-lines sinks, found in the working directory.
mkdir -p topology && cp "$HERE/jsonl.toml" topology/local.toml
passed=0
failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# expect_exit CODE PATTERN DESCRIPTION -- COMMAND...: the exit code and, on failure, a last stderr line that is
# the whole error (`kvstream: ...`, matching PATTERN) with no stack trace anywhere.
expect_exit() {
    local code=$1 pattern=$2 what=$3
    shift 4
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    local last
    last=$(grep -v '^$' "$T/err" | tail -1)
    if [[ $rc -ne $code ]]; then
        fail "$what: exit $rc, expected $code: $(head -c 300 "$T/err")"
    elif [[ $code -ne 0 && $last != kvstream:* ]]; then
        fail "$what: the last stderr line is not the error: $last"
    elif [[ $code -ne 0 ]] && grep -qiE 'stack|backtrace|fatal error|0x[0-9a-f]{8}' "$T/err"; then
        fail "$what: stderr looks like a crash: $(head -c 300 "$T/err")"
    elif [[ $code -ne 0 ]] && ! grep -qE -- "$pattern" <<<"$last"; then
        fail "$what: the error does not match /$pattern/: $last"
    elif [[ $code -eq 0 ]] && ! grep -qE -- "$pattern" "$T/err" "$T/out"; then
        fail "$what: output does not match /$pattern/: $(head -c 300 "$T/err")"
    else
        pass "$what"
    fi
}

expect_exit 0 'realtime-aggregations' "jobs lists the jobs" -- "$BIN" jobs
expect_exit 2 "unknown job 'nope'" "unknown job is a usage error" -- "$BIN" run nope
expect_exit 2 'bogus' "unknown flag is a usage error" -- "$BIN" run realtime-aggregations --bogus
expect_exit 2 'job\.parallelism' "a bad value names its key" -- "$BIN" run realtime-aggregations --set job.parallelism=abc
expect_exit 2 'sources\.payments\.count' "bounded generator without count names the key" -- \
    "$BIN" run realtime-aggregations --bounded
expect_exit 2 'missing\.toml' "a missing topology file is named" -- "$BIN" run realtime-aggregations --topology missing.toml
expect_exit 2 'sources\.payments\.path' "a missing input file names its key" -- \
    "$BIN" run realtime-aggregations --bounded --set sources.payments.type=file --set sources.payments.path=nowhere.jsonl
expect_exit 2 "operator 'sink:postgres/sales_per_minute'.*sinks\.postgres\.type" "an unknown sink type names job, operator, key" -- \
    "$BIN" run realtime-aggregations --set sinks.postgres.type=carrier-pigeon
expect_exit 0 '^digraph' "describe --dot prints Graphviz" -- "$BIN" describe realtime-aggregations --dot
expect_exit 0 'physical graph' "describe prints both graphs" -- "$BIN" describe realtime-aggregations

"$BIN" gen payments --count 5000 --seed 11 --out a.jsonl 2>/dev/null
"$BIN" gen payments --count 5000 --seed 11 --out b.jsonl 2>/dev/null
"$BIN" gen payments --count 5000 --seed 12 --out c.jsonl 2>/dev/null
if cmp -s a.jsonl b.jsonl && ! cmp -s a.jsonl c.jsonl && [[ $(grep -c event_id a.jsonl) -ge 5000 ]]; then
    pass "gen payments is deterministic for a seed"
else
    fail "gen payments is not deterministic for a seed"
fi

printf '[job]\nparallelism = 1\n[sources.payments]\ntype = "file"\npath = "a.jsonl"\n[sinks.postgres]\ntype = "jsonl"\n' > nolake.toml
expect_exit 2 "job 'realtime-aggregations', operator 'sink:lake/rejected'.*sinks\.lake" "an unbound sink names job and operator" -- \
    "$BIN" run realtime-aggregations --bounded --topology nolake.toml

# A run-time failure: the sink cannot create its directory. Exit 1, one line.
touch blocker
expect_exit 1 'blocker' "a run-time failure exits 1 in one line naming the path" -- \
    "$BIN" run realtime-aggregations --bounded --set sources.payments.type=file --set sources.payments.path=a.jsonl \
    --set sinks.postgres.path=blocker/out --set sinks.lake.path=blocker/out

# An unbounded run stopped by SIGTERM: exits 0, printed progress, and wrote the windows event time closed.
"$BIN" run realtime-aggregations --set sources.payments.rate=20000 --set sinks.postgres.path=live \
    --set sinks.lake.path=live >live.out 2>live.err &
pid=$!
sleep 4
kill -TERM $pid
wait $pid
rc=$?
if [[ $rc -eq 0 ]] && grep -q 'events/s' live.err && grep -q 'watermark' live.err \
    && [[ $(cat live/sales_per_minute/part-*.jsonl | wc -l) -gt 0 ]]; then
    pass "SIGTERM stops an unbounded run cleanly after progress and output"
else
    fail "SIGTERM stop: exit $rc, stderr: $(tail -c 400 live.err)"
fi

expect_exit 0 'complete \(final\)' "checkpoints lists the stop's final checkpoint" -- "$BIN" checkpoints realtime-aggregations

# Running again resumes from that checkpoint.
"$BIN" run realtime-aggregations --set sources.payments.rate=20000 --set sinks.postgres.path=live \
    --set sinks.lake.path=live >live2.out 2>live2.err &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
if [[ $rc -eq 0 ]] && grep -q 'restoring realtime-aggregations from checkpoint' live2.err; then
    pass "a restarted job resumes from its latest checkpoint"
else
    fail "resume after stop: exit $rc, stderr: $(tail -c 400 live2.err)"
fi

# Restoring checks what it restores into.
common=(run realtime-aggregations --bounded --set sources.payments.type=file --set checkpoint.dir=ck-id)
"$BIN" "${common[@]}" --set sources.payments.path=a.jsonl --set sinks.postgres.path=id --set sinks.lake.path=id 2>/dev/null
before=$(cat id/*/part-*.jsonl | sort | md5sum)
"$BIN" "${common[@]}" --set sources.payments.path=./a.jsonl --set sinks.postgres.path=id --set sinks.lake.path=id 2>/dev/null
after=$(cat id/*/part-*.jsonl | sort | md5sum)
[[ $before == "$after" ]] && pass "a restart naming the input file differently does not read it again" \
    || fail "the input was read again when its path was spelled ./a.jsonl"
expect_exit 2 "read source 'payments' as file .*a\.jsonl" "restoring into another input is refused" -- \
    "$BIN" "${common[@]}" --set sources.payments.path=c.jsonl --set sinks.postgres.path=id --set sinks.lake.path=id
# A periodic checkpoint of a RocksDB run holds copies of the stores (a final one holds plain entries).
"$BIN" gen payments --count 400000 --seed 3 --out big.jsonl 2>/dev/null
"$BIN" "${common[@]}" --set sources.payments.path=big.jsonl --set state.backend=rocksdb --set checkpoint.dir=ck-rdb \
    --set sinks.postgres.path=rdb --set sinks.lake.path=rdb --set checkpoint.interval=50ms --set checkpoint.retained=50 \
    2>/dev/null
periodic=$(ls -d ck-rdb/realtime-aggregations/chk-*/*.store 2>/dev/null | head -1 | xargs -r dirname)
if [[ -n $periodic ]]; then
    expect_exit 2 'holds its keyed state in RocksDB' "RocksDB state is not restored into memory" -- \
        "$BIN" "${common[@]}" --set sources.payments.path=big.jsonl --set state.backend=memory \
        --set checkpoint.dir=ck-rdb --set sinks.postgres.path=rdb --set sinks.lake.path=rdb --from-checkpoint "$periodic"
else
    fail "the RocksDB run took no periodic checkpoint to test with"
fi
expect_exit 2 'no such checkpoint directory' "a missing --from-checkpoint path is a usage error" -- \
    "$BIN" "${common[@]}" --set sources.payments.path=a.jsonl --from-checkpoint nowhere

# An input that ends by itself while a source instance has no split: SIGTERM still stops the job promptly.
"$BIN" run realtime-aggregations --set sources.payments.count=3000 --set sources.payments.rate=0 \
    --set checkpoint.interval=50ms --set checkpoint.dir=ck-end --set sinks.postgres.path=end --set sinks.lake.path=end \
    >end.out 2>end.err &
pid=$!
sleep 2
kill -TERM $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
    kill -KILL $pid
    fail "SIGTERM did not stop a job whose input had ended (hung)"
else
    wait $pid && pass "SIGTERM stops a job whose input ended by itself" || fail "stop after the input ended: exit $?"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
