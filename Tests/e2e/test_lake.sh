#!/usr/bin/env bash
# The Parquet lake sink: realtime-aggregations writes `rejected` and `late_events` to a lake (a local directory,
# then an S3-compatible bucket served by moto_server on loopback), read back by DuckDB and pyarrow:
#  1. the lake's rows equal the JSON-lines sink's for the same input, with the expected types, dt partitions and
#     pseudonymised customer ids;
#  2. after SIGKILL at KILLS random moments, every visible file is whole and the rows are those of the
#     uninterrupted run, once each;
#  3. the same through the S3-compatible server, killed S3_KILLS times.
# Compaction is on (the default) everywhere; the runs after kills merge when 3 small files are ready
# (compact_min_files = 3), so that kills land in compactions; every run ends with at most two files per instance
# and partition (the final checkpoint merges every partition), some of them merges.
# Ends with `N passed, N failed`. Environment: KVSTREAM_BIN, COUNT (events, 1500000), KILLS (10), S3_KILLS (4), SEED.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${KVSTREAM_BIN:-$ROOT/.build/release/kvstream}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
COUNT=${COUNT:-1500000}
KILLS=${KILLS:-10}
S3_KILLS=${S3_KILLS:-4}
SEED=${SEED:-$RANDOM}
RANDOM=$SEED
T=$(mktemp -d "${TMPDIR:-/tmp}/kvstream-e2e-lake.XXXXXX")
cd "$T"
# The defaults of the tests: topology/local.toml with JSON-lines sinks, found in the working directory.
mkdir -p topology && cp "$HERE/jsonl.toml" topology/local.toml
passed=0
failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
source "$HERE/kills.sh"
check() { local what=$1; shift; local msg; msg=$(python3 "$HERE/lake_check.py" "$@" 2>&1) && pass "$what: $msg" || fail "$what: $msg"; }
export KVSTREAM_PII_KEY=test-pseudonym-key
echo "work dir $T, kill timing seed $SEED"

# More late records than the default, so that late_events spans several days' partitions.
"$BIN" gen payments --count "$COUNT" --seed 13 --out events.jsonl --invalid-ratio 0.002 --late-ratio 0.01 2>/dev/null
job() { # NAME [--set ...]
    local name=$1
    shift
    "$BIN" run realtime-aggregations --bounded --set sources.payments.type=file --set sources.payments.path=events.jsonl \
        --set sinks.postgres.path="pg-$name" --set checkpoint.dir="ck-$name" --set checkpoint.interval=200ms \
        --set state.backend=memory "$@" >>"$name.log" 2>&1
}
lake=(--set sinks.lake.type=lake)
eager=(--set sinks.lake.compact_min_files=3)

job jsonl --set sinks.lake.path=out-jsonl && pass "reference run, lake tables as JSON lines" || fail "reference run: $(tail -2 jsonl.log)"
job ref "${lake[@]}" --set sinks.lake.path=lake-ref && pass "run into a local lake" || fail "lake run: $(tail -2 ref.log)"
check "local lake" same lake-ref out-jsonl "$KVSTREAM_PII_KEY"
check "compaction" compacted lake-ref out-jsonl

# 2. SIGKILL at random moments; between kills, every visible file must be whole.
partial=0
whole_or_count() { python3 "$HERE/lake_check.py" files lake-kill >/dev/null 2>&1 || partial=$((partial + 1)); }
kill_runs "$KILLS" whole_or_count -- job kill "${lake[@]}" "${eager[@]}" --set sinks.lake.path=lake-kill
job kill "${lake[@]}" "${eager[@]}" --set sinks.lake.path=lake-kill && pass "killed $kills times with SIGKILL, then completed" \
    || fail "kill runs: $(tail -2 kill.log)"
[[ $kills -eq $KILLS ]] || fail "only $kills of $KILLS kills happened before the job completed (raise COUNT)"
[[ $partial -eq 0 ]] && pass "after each kill, every visible file was whole" || fail "$partial kills left a partial visible file"
check "files after kills" files lake-kill
check "lake after kills" same lake-kill out-jsonl "$KVSTREAM_PII_KEY"
check "compaction after kills" compacted lake-kill out-jsonl

# 3. An S3-compatible bucket (moto_server on loopback).
source "$HERE/ports.sh"
PORT=$(free_port)
# As a module: pyenv's shim for the moto_server script exists only after a rehash.
python3 -m moto.server -H 127.0.0.1 -p "$PORT" >moto.log 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$PORT" >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
python3 -c "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:$PORT', region_name='us-east-1').create_bucket(Bucket='lake')"
s3=(--set sinks.lake.path=s3://lake/data --set sinks.lake.endpoint=http://127.0.0.1:$PORT
    --set sinks.lake.work_dir=work-s3)
kill_runs "$S3_KILLS" : -- job s3 "${lake[@]}" "${eager[@]}" "${s3[@]}"
job s3 "${lake[@]}" "${eager[@]}" "${s3[@]}" && pass "run into the S3-compatible bucket, killed $kills times, compacting" \
    || fail "S3 run: $(tail -2 s3.log)"
merges=$(python3 -c "
import boto3
s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:$PORT', region_name='us-east-1')
for page in s3.get_paginator('list_objects_v2').paginate(Bucket='lake', Prefix='data'):
    for o in page.get('Contents', []):
        if o['Key'].endswith('.parquet') and '/.' not in o['Key']:
            tail = s3.get_object(Bucket='lake', Key=o['Key'], Range='bytes=-65536')['Body'].read()
            print('compacted_from' if b'kvstream.compacted_from' in tail else 'plain')
" | grep -c compacted_from)
[[ $merges -gt 0 ]] && pass "the bucket holds $merges merged files" || fail "no merged file in the bucket"
mkdir -p lake-s3
python3 "$HERE/lake_check.py" s3-download "http://127.0.0.1:$PORT" lake data lake-s3 >/dev/null
check "S3 lake" same lake-s3 out-jsonl "$KVSTREAM_PII_KEY"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
