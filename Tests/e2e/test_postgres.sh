#!/usr/bin/env bash
# The PostgreSQL sink against a real PostgreSQL 15 server on loopback (started here, data in the work dir):
#  1. realtime-aggregations on a file with out-of-order, late and invalid lines, at parallelism 2: the tables in
#     PostgreSQL equal DuckDB's expected tables (the referee), and nothing is left in staging.
#  2. The job killed with SIGKILL at KILLS random moments and restarted: the tables equal the uninterrupted run's.
#  3. PostgreSQL stopped for PG_DOWN seconds mid-run and started again: the job waits (no failure, no unbounded
#     buffering) and the tables equal the uninterrupted run's.
#  4. PostgreSQL away longer than the sink's retry_timeout: the job fails, and its restart completes exactly once.
# Ends with `N passed, N failed`. Environment: KVSTREAM_BIN, COUNT (events, 2000000), KILLS (10), PG_DOWN (30),
# SEED (kill timing).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${KVSTREAM_BIN:-$ROOT/.build/release/kvstream}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
COUNT=${COUNT:-2000000}
KILLS=${KILLS:-10}
PG_DOWN=${PG_DOWN:-30}
SEED=${SEED:-$RANDOM}
RANDOM=$SEED
T=$(mktemp -d "${TMPDIR:-/tmp}/kvstream-e2e-pg.XXXXXX")
chmod 755 "$T"
cd "$T"
# The defaults of the tests: topology/local.toml with JSON-lines sinks, found in the working directory.
mkdir -p topology && cp "$HERE/jsonl.toml" topology/local.toml
source "$HERE/pg.sh"
source "$HERE/kills.sh"
passed=0
failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
PORT=$(free_port)
trap 'pg_kill "$T/pg"' EXIT
echo "work dir $T, PostgreSQL on 127.0.0.1:$PORT, kill timing seed $SEED"
pg_start "$T/pg" "$PORT" && pass "PostgreSQL started on 127.0.0.1:$PORT" || { fail "PostgreSQL did not start: $(tail -n 3 "$T"/pg/*.log)"; echo "$passed passed, $failed failed"; exit 1; }

"$BIN" gen payments --count "$COUNT" --seed 9 --out events.jsonl --invalid-ratio 0.001 2>/dev/null

# run DB OUT [extra args]: realtime-aggregations into database DB (see createdb) and the lake tables under OUT,
# restarting from its latest checkpoint; returns the job's exit code. In the background (kill_runs), the subshell
# becomes the job (exec): a shell left to run a command after a kill could start a second job beside the next one.
createdb() { psql_q "$PORT" "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 || psql_q "$PORT" "CREATE DATABASE $1" >/dev/null; }
for db in ref kill down gone; do createdb $db; done
job() {
    local db=$1 out=$2
    shift 2
    local run=()
    [[ $BASHPID != "$$" ]] && run=(exec)
    "${run[@]}" "$BIN" run realtime-aggregations --bounded --set sources.payments.type=file --set sources.payments.path=events.jsonl \
        --set sinks.postgres.type=postgres --set sinks.postgres.url="postgresql://postgres@127.0.0.1:$PORT/$db" \
        --set sinks.lake.path="$out" --set checkpoint.dir="ck-$db" --set checkpoint.interval=200ms \
        --set state.backend=memory --set job.parallelism=2 "$@" >>"$db.log" 2>&1
}

# dump DB OUT: the PostgreSQL tables as JSON lines in OUT/<table>/part-0-<max>.jsonl, formatted as the JSON-lines
# sink writes them, so that the referee reads them like any other output.
iso() { echo "to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"; }
dump() {
    local db=$1 out=$2
    mkdir -p "$out/sales_per_minute" "$out/merchant_activity"
    psql -h 127.0.0.1 -p "$PORT" -U postgres -d "$db" -At -c "SELECT json_build_object('window_start', $(iso window_start),
        'channel', channel, 'country', country, 'tx_count', tx_count, 'amount_sum', amount_sum, 'amount_max', amount_max,
        'unique_customers', unique_customers, 'updated_at', $(iso updated_at)) FROM sales_per_minute
        ORDER BY window_start, channel, country" >"$out/sales_per_minute/part-0-999999999.jsonl"
    psql -h 127.0.0.1 -p "$PORT" -U postgres -d "$db" -At -c "SELECT json_build_object('window_start', $(iso window_start),
        'window_end', $(iso window_end), 'merchant_id', merchant_id, 'tx_count', tx_count, 'amount_sum', amount_sum,
        'updated_at', $(iso updated_at)) FROM merchant_activity ORDER BY window_end, merchant_id" \
        >"$out/merchant_activity/part-0-999999999.jsonl"
    mkdir -p "$out/daily_client_summary"
    psql -h 127.0.0.1 -p "$PORT" -U postgres -d "$db" -At -c "SELECT json_build_object('day', to_char(day, 'YYYY-MM-DD'),
        'customer_id', customer_id, 'service', service, 'tx_count', tx_count, 'amount_sum', amount_sum,
        'amount_min', amount_min, 'amount_max', amount_max, 'first_ts', $(iso first_ts), 'last_ts', $(iso last_ts),
        'updated_at', $(iso updated_at)) FROM daily_client_summary ORDER BY day, customer_id, service" \
        >"$out/daily_client_summary/part-0-999999999.jsonl"
}
staged() { psql -h 127.0.0.1 -p "$PORT" -U postgres -d "$1" -At -c "SELECT (SELECT count(*) FROM kvstream_stage_sales_per_minute) + (SELECT count(*) FROM kvstream_stage_merchant_activity) + (SELECT count(*) FROM kvstream_stage_daily_client_summary)"; }
referee() { python3 "$HERE/referee.py" --input events.jsonl "${@/#/--output=}" | grep -E "^(FAIL|referee:)"; }

# 1. Uninterrupted.
if job ref lake-ref; then pass "uninterrupted run into PostgreSQL"; else fail "uninterrupted run: $(tail -2 ref.log)"; fi
dump ref lake-ref
[[ $(staged ref) -eq 0 ]] && pass "ref: nothing left in staging" || fail "ref: $(staged ref) rows left in staging"
r=$(referee lake-ref) && pass "ref: PostgreSQL tables equal DuckDB's (${r##*referee: })" || fail "ref vs DuckDB: $r"

# 2. SIGKILL at random moments.
kill_runs "$KILLS" : -- job kill lake-kill
if job kill lake-kill; then pass "killed $kills times with SIGKILL, then completed"; else fail "kill runs: $(tail -2 kill.log)"; fi
[[ $kills -eq $KILLS ]] || fail "only $kills of $KILLS kills happened before the job completed (raise COUNT)"
dump kill lake-kill
[[ $(staged kill) -eq 0 ]] && pass "kill: nothing left in staging" || fail "kill: $(staged kill) rows left in staging"
r=$(referee lake-ref lake-kill) && pass "kill: tables equal the uninterrupted run's and DuckDB's" || fail "kill: $r"

# 3. PostgreSQL away for PG_DOWN seconds.
# The lake's rows (rejected and late records, ~0.3% of the input) are throttled so that the run lasts past the
# outage: the PostgreSQL sink meets the outage mid-stream.
lake_rows=$(( $(grep -c . lake-ref/rejected/*.jsonl lake-ref/late_events/*.jsonl | awk -F: '{s += $2} END {print s}') ))
job down lake-down --set sinks.lake.throttle_rows_per_second=$(( lake_rows / (PG_DOWN + 15) + 1 )) &
pid=$!
sleep 3
if kill -0 $pid 2>/dev/null; then
    pg_stop "$T/pg"
    echo "PostgreSQL stopped for ${PG_DOWN}s"
    sleep "$PG_DOWN"
    alive=0
    kill -0 $pid 2>/dev/null && alive=1
    pg_start "$T/pg" "$PORT"
    [[ $alive -eq 1 ]] && pass "the job waited while PostgreSQL was down" || fail "the job ended while PostgreSQL was down"
else
    fail "the job ended before PostgreSQL could be stopped (raise COUNT)"
fi
wait $pid && pass "the job completed after PostgreSQL came back" || fail "down: $(tail -2 down.log)"
grep -q "retrying (the job waits meanwhile)" down.log && pass "the outage was noticed and retried" || fail "no retry logged"
dump down lake-down
r=$(referee lake-ref lake-down) && pass "down: tables equal the uninterrupted run's and DuckDB's" || fail "down: $r"

# 4. PostgreSQL away longer than retry_timeout: the job fails (exit 1) instead of dropping what it staged; once
# PostgreSQL is back, the restart restores the last checkpoint, replays its commits and completes.
job gone lake-gone --set sinks.postgres.retry_timeout=2s --set sinks.lake.throttle_rows_per_second=$(( lake_rows / 20 + 1 )) &
pid=$!
sleep 3
pg_stop "$T/pg"
wait $pid
rc=$?
pg_start "$T/pg" "$PORT"
[[ $rc -eq 1 ]] && pass "with PostgreSQL away past retry_timeout the job failed (exit 1): $(grep -o 'kvstream: .*' gone.log | tail -1 | cut -c1-120)" \
    || fail "the job exited $rc while PostgreSQL was away past retry_timeout"
job gone lake-gone && pass "the restart completed" || fail "gone: $(tail -2 gone.log)"
dump gone lake-gone
r=$(referee lake-ref lake-gone) && pass "gone: tables equal the uninterrupted run's and DuckDB's" || fail "gone: $r"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
