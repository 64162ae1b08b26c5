#!/usr/bin/env bash
# Kafka end to end, against librdkafka's mock cluster (`kvstream broker`) with kcat as the outside client:
#  1. kcat produces payments (keyed by customer_id, murmur2 as Kafka's Java clients partition) that
#     fraud-detection consumes; its alerts equal DuckDB's; kcat reads the alerts back from `fraud-alerts` and the
#     invalid messages, byte for byte with their reason, from `payments.dlq`; the group's committed offsets say
#     everything was read.
#  2. Scale-out: three `kvstream run` processes in one group share the 6 partitions; one is killed with SIGKILL
#     mid-stream and a fourth starts later; after --bounded completion the committed output equals the single
#     process run's, with nothing lost or repeated.
#  3. Backpressure: a sink throttled to a crawl keeps the job's memory bounded while the topic holds far more data.
# Ends with `N passed, N failed`. Environment: KVSTREAM_BIN, COUNT (events, 80000), BULK (messages, 1200000).
#
# librdkafka 2.0's mock cluster keeps about 5 MB per partition and silently drops older messages (as retention
# would): inputs here stay below that per partition, and the checks count what the topic really holds.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${KVSTREAM_BIN:-$ROOT/.build/release/kvstream}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
COUNT=${COUNT:-80000}
BULK=${BULK:-1200000}
T=$(mktemp -d "${TMPDIR:-/tmp}/kvstream-e2e-kafka.XXXXXX")
cd "$T"
# The defaults of the tests: topology/local.toml with JSON-lines sinks, found in the working directory.
mkdir -p topology && cp "$HERE/jsonl.toml" topology/local.toml
passed=0
failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT
echo "work dir $T"

"$BIN" broker --topic payments:6 --topic payments-agg:6 --topic bulk:64 >broker.out 2>broker.err &
pids+=($!)
for _ in $(seq 50); do [[ -s broker.out ]] && break; sleep 0.1; done
B=$(head -1 broker.out)
[[ $B == 127.0.0.1:* ]] && pass "kvstream broker printed its bootstrap address $B" || { fail "no broker address"; exit 1; }

# With late records and injected fraud: fraud-detection runs per partition, and the referee models each partition's
# watermark (the partition of a key is Kafka's murmur2, as kcat's partitioner below).
"$BIN" gen payments --count "$COUNT" --seed 11 --out events.jsonl --invalid-ratio 0.002 --fraud-ratio 0.01 2>/dev/null
# realtime-aggregations reads every partition in one run, whose watermark is the least of the partitions' as the
# messages happen to interleave: its input has no late records, so that the referee's result does not depend on it.
"$BIN" gen payments --count $((COUNT / 2)) --seed 12 --out events-agg.jsonl --invalid-ratio 0.002 --late-ratio 0 \
    2>/dev/null
produce() { # FILE TOPIC: each line keyed by its customer_id (none when it has none)
    python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    try:
        key = json.loads(line).get("customer_id", "")
    except Exception:
        key = ""
    print((key if isinstance(key, str) else "") + "\t" + line)' "$1" >"$1.keyed"
    kcat -P -b "$B" -t "$2" -K $'\t' -X partitioner=murmur2_random -l "$1.keyed"
}
produce events.jsonl payments
produce events-agg.jsonl payments-agg
produced=$(kcat -C -b "$B" -t payments -e -q | wc -l)
[[ $produced -eq $(wc -l <events.jsonl) ]] && pass "kcat produced $produced messages" \
    || fail "kcat produced $produced of $(wc -l <events.jsonl) messages"

job=(fraud-detection --topology "$ROOT/topology/kafka.toml" --bounded --set sources.payments.bootstrap="$B"
     --set sinks.postgres.type=jsonl --set sinks.lake.type=jsonl
     --set sources.payments.session_timeout=3s --set checkpoint.interval=300ms --set state.backend=memory)

# 1. One process.
if "$BIN" run "${job[@]}" --set sources.payments.group=single --set checkpoint.dir=ck-single \
    --set sinks.postgres.path=single --set sinks.lake.path=single >single.log 2>&1; then
    pass "single process run completed"
else
    fail "single process run: $(tail -2 single.log)"
fi
check() { local what=$1; shift; local msg; msg=$(python3 "$HERE/kafka_check.py" "$@" 2>&1) && pass "$what: $msg" || fail "$what: $msg"; }
check "alerts" alerts-vs-duckdb events.jsonl single 6
kcat -C -b "$B" -t payments.dlq -e -q -f '%h\t%s\n' >dlq.txt
check "dead letters" dlq events.jsonl dlq.txt
kcat -C -b "$B" -t fraud-alerts -e -q -f '%k\n' >alert-keys.txt
check "alerts topic" keys-cover single alert-keys.txt
left=$(timeout 30 kcat -C -b "$B" -G single -X auto.offset.reset=earliest -X session.timeout.ms=6000 -e -q payments | wc -l)
[[ $produced -gt 0 && $left -eq 0 ]] && pass "the group's committed offsets cover the whole topic" \
    || fail "the group would re-read $left messages: offsets were not committed"

# 2. Three processes, one killed, one started later. The throttled sink stretches the run over several seconds.
scale=(--set sources.payments.group=scale --set checkpoint.dir=ck-scale --set sinks.postgres.path=scale
       --set sinks.lake.path=scale --set sinks.postgres.throttle_rows_per_second=2000)
for n in 1 2 3; do
    "$BIN" run "${job[@]}" "${scale[@]}" >"node$n.log" 2>&1 &
    node[$n]=$!
    pids+=(${node[$n]})
done
# Node 2 is killed once it has held partitions for a moment (a loaded machine may take seconds to join the group).
for _ in $(seq 60); do grep -q "assigned payments partitions" node2.log && break; sleep 0.5; done
sleep 3
if kill -0 "${node[2]}" 2>/dev/null && grep -q "assigned payments partitions" node2.log; then
    kill -KILL "${node[2]}"
    pass "node 2 killed with SIGKILL mid-stream (it held $(grep -o 'assigned payments partitions \[[0-9, ]*\]' node2.log | tail -1 | cut -d' ' -f4-))"
else
    fail "node 2 was not running with partitions when it was to be killed: $(tail -2 node2.log)"
fi
sleep 2
"$BIN" run "${job[@]}" "${scale[@]}" >node4.log 2>&1 &
node[4]=$!
pids+=(${node[4]})
ok=1
for n in 1 3 4; do
    if ! timeout 180 tail --pid="${node[$n]}" -f /dev/null; then ok=0; fi
    wait "${node[$n]}"
    rc=$?
    [[ $rc -eq 0 ]] || { ok=0; echo "node $n exited $rc: $(tail -2 node$n.log)"; }
done
[[ $ok -eq 1 ]] && pass "nodes 1, 3 and 4 completed (--bounded) and exited 0" || fail "scale-out nodes"
grep -h "restoring checkpoint" node1.log node3.log node4.log | head -3
[[ $(grep -h "partition [0-9]*: restoring checkpoint" node1.log node3.log node4.log | wc -l) -gt 0 ]] \
    && pass "moved partitions were restored from their checkpoints" || fail "no moved partition restored a checkpoint"
check "scale-out output" same-output single scale

# 2b. realtime-aggregations keys across partitions: it runs on one node at a time, the leader of the group
# <group>.leader, and the others stand by. Three nodes, the leader killed with SIGKILL mid-stream, a fourth started
# later: a standby takes over from the latest checkpoint, and the final tables equal a single process's.
aggs=(realtime-aggregations --topology "$ROOT/topology/kafka.toml" --bounded --set sources.payments.bootstrap="$B"
      --set sources.payments.topic=payments-agg --set sources.payments.dlq_topic=payments-agg.dlq
      --set sinks.postgres.type=jsonl --set sinks.lake.type=jsonl --set sources.payments.session_timeout=3s
      --set checkpoint.interval=300ms --set state.backend=memory)
if "$BIN" run "${aggs[@]}" --set sources.payments.group=aggs-single --set checkpoint.dir=ck-aggs-single \
    --set sinks.postgres.path=aggs-single --set sinks.lake.path=aggs-single >aggs-single.log 2>&1; then
    pass "realtime-aggregations, one process, completed"
else
    fail "realtime-aggregations, one process: $(tail -2 aggs-single.log)"
fi
ascale=(--set sources.payments.group=aggs-scale --set checkpoint.dir=ck-aggs-scale --set sinks.postgres.path=aggs-scale
        --set sinks.lake.path=aggs-scale --set sinks.postgres.throttle_rows_per_second=1500)
for n in 1 2 3; do
    "$BIN" run "${aggs[@]}" "${ascale[@]}" >"aggs$n.log" 2>&1 &
    anode[$n]=$!
    pids+=(${anode[$n]})
done
leader=""
for _ in $(seq 60); do
    for n in 1 2 3; do grep -q "this node leads" "aggs$n.log" && leader=$n; done
    [[ -n $leader ]] && break
    sleep 0.5
done
sleep 3
if [[ -n $leader ]] && kill -0 "${anode[$leader]}" 2>/dev/null; then
    kill -KILL "${anode[$leader]}"
    pass "the leader (node $leader) killed with SIGKILL mid-stream; $(grep -l "standing by" aggs[123].log | wc -l) node(s) stood by"
else
    fail "no node led realtime-aggregations in time, or it had finished: $(tail -1 aggs1.log)"
fi
"$BIN" run "${aggs[@]}" "${ascale[@]}" >aggs4.log 2>&1 &
anode[4]=$!
pids+=(${anode[4]})
ok=1
for n in 1 2 3 4; do
    [[ $n == "$leader" ]] && continue
    if ! timeout 180 tail --pid="${anode[$n]}" -f /dev/null; then ok=0; fi
    wait "${anode[$n]}"
    rc=$?
    [[ $rc -eq 0 ]] || { ok=0; echo "aggregations node $n exited $rc: $(tail -2 aggs$n.log)"; }
done
[[ $ok -eq 1 ]] && pass "the other aggregation nodes completed (--bounded) and exited 0" || fail "aggregation nodes"
[[ $(grep -l "restoring realtime-aggregations from checkpoint" aggs[1234].log | wc -l) -gt 0 ]] \
    && pass "a standby took over from the killed leader's checkpoint" || fail "no standby restored a checkpoint"
check "aggregations after a failover" same-final aggs-single aggs-scale
# Through Kafka the job's results equal the DuckDB referee's over the same events (the rejected table is left out:
# its positions are Kafka offsets, not file lines).
if msg=$(python3 "$HERE/referee.py" --input events-agg.jsonl --output aggs-single \
        --tables sales_per_minute,merchant_activity,daily_client_summary,late_events 2>&1); then
    pass "realtime-aggregations through Kafka equals the referee: $(echo "$msg" | tail -1)"
else
    fail "realtime-aggregations through Kafka against the referee: $(echo "$msg" | grep FAIL | head -2)"
fi

# 3. Backpressure: BULK messages of ~400 bytes (64 partitions of up to ~5 MB) that all fail validation go to the
# `rejected` table, whose sink is throttled to 2 x 10,000 rows/s; realtime-aggregations (one run over all
# partitions), with a 4 MB input buffer, must pause partitions instead of buffering the topic.
python3 -c "
import sys
pad = 'x' * 380
sys.stdout.write(''.join(f'not json {i} {pad}\n' for i in range($BULK)))" | kcat -P -b "$B" -t bulk
"$BIN" run realtime-aggregations --topology "$ROOT/topology/kafka.toml" --set sources.payments.bootstrap="$B" \
    --set sources.payments.topic=bulk --set sources.payments.dlq_topic= --set sources.payments.group=bulk \
    --set checkpoint.dir=ck-bulk --set sinks.postgres.type=jsonl --set sinks.postgres.path=bulk \
    --set sinks.lake.type=jsonl --set sinks.lake.path=bulk \
    --set sources.payments.buffer_mb=4 --set sinks.lake.throttle_rows_per_second=10000 --set state.backend=memory \
    >bulk.log 2>&1 &
bulk=$!
pids+=($bulk)
sleep 15
peak=$(awk '/VmHWM/ {print int($2 / 1024)}' /proc/$bulk/status 2>/dev/null)
kill -TERM $bulk
wait $bulk
rc=$?
written=$(cat bulk/rejected/part-*.jsonl 2>/dev/null | wc -l)
topic_mb=$(kcat -C -b "$B" -t bulk -e -q -f '%S\n' | awk '{s += $1} END {print int(s / 1e6)}')
echo "bulk: peak RSS ${peak:-?} MiB, topic ~${topic_mb} MB, ${written} rows committed, exit $rc"
[[ -n $peak && $peak -lt 160 && $topic_mb -gt 200 && $written -gt 0 && $written -lt $BULK ]] \
    && pass "backpressure: peak RSS $peak MiB while the topic holds ~$topic_mb MB ($written of $BULK rows written)" \
    || fail "backpressure: peak RSS ${peak:-?} MiB, $written of $BULK rows written"
[[ $rc -eq 0 ]] && pass "SIGTERM stopped the throttled job with a final checkpoint, exit 0" || fail "SIGTERM exit $rc"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
