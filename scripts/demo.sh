#!/usr/bin/env bash
# `make demo`: both jobs on the embedded defaults (topology/local.toml: the payments generator, PostgreSQL, the lake
# under lake/), with live progress. Starts a PostgreSQL of its own under state/postgres when none answers on
# 127.0.0.1:$KVSTREAM_DEMO_PG_PORT (default 5432). Ctrl-C stops both jobs with a final checkpoint (and the
# PostgreSQL it started); running it again resumes from there. KVSTREAM_DEMO_DIR moves state/ and lake/ elsewhere
# (the end-to-end test runs it in a directory of its own), KVSTREAM_DEMO_ARGS adds --set flags to both runs.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${KVSTREAM_BIN:-.build/release/kvstream}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
cd "${KVSTREAM_DEMO_DIR:-$ROOT}" || exit 1
PORT=${KVSTREAM_DEMO_PG_PORT:-5432}
URL="postgresql://postgres@127.0.0.1:$PORT/kvstream"
JOBS=(fraud-detection realtime-aggregations)
mkdir -p state/demo

say() { printf '%s\n' "demo: $*"; }
die() { printf '%s\n' "demo: $*" >&2; exit 1; }

# Customer ids in the lake are pseudonymised with this key: a random one, kept under state/ (never committed).
if [[ -z ${KVSTREAM_PII_KEY:-} ]]; then
    [[ -s state/pii.key ]] || { umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >state/pii.key; }
    KVSTREAM_PII_KEY=$(cat state/pii.key)
    export KVSTREAM_PII_KEY
fi

source "$ROOT/Tests/e2e/pg.sh"
started_pg=""
if pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
    say "PostgreSQL answers on 127.0.0.1:$PORT: the jobs write there (database kvstream)"
else
    say "starting PostgreSQL on 127.0.0.1:$PORT, its data under state/postgres (log: state/postgres/server.log)"
    [[ -n $PG_BIN ]] || die "PostgreSQL is not installed: run 'make deps' (apt package postgresql)"
    pg_start "$PWD/state/postgres" "$PORT" || die "PostgreSQL did not start: see state/postgres/server.log and state/postgres/initdb.log"
    started_pg=1
fi
psql_q "$PORT" "select 1 from pg_database where datname = 'kvstream'" | grep -q 1 \
    || psql_q "$PORT" "create database kvstream" >/dev/null \
    || die "cannot create the database kvstream on 127.0.0.1:$PORT (set KVSTREAM_PG_PASSWORD, or KVSTREAM_DEMO_PG_PORT to a free port)"

pids=()
stop() {
    trap - INT TERM
    echo
    say "stopping the jobs (each ends with a final checkpoint)..."
    for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null; done
    local rc=0
    for pid in "${pids[@]}"; do wait "$pid" || rc=$?; done
    for job in "${JOBS[@]}"; do
        say "$job: last checkpoint $("$BIN" checkpoints "$job" 2>/dev/null | awk 'NR == 2 { print $1 " at " $2 }')"
    done
    [[ -n $started_pg ]] && { pg_stop "$PWD/state/postgres"; say "PostgreSQL stopped (run 'make demo' again to resume)"; }
    cat <<EOF

Look at the results (run 'make demo' again to resume where it stopped):
  psql -h 127.0.0.1 -p $PORT -U postgres kvstream -c "select rules, count(*), round(avg(score)::numeric, 3) from fraud_alerts group by rules order by 2 desc"
  psql -h 127.0.0.1 -p $PORT -U postgres kvstream -c "select window_start, sum(tx_count), sum(amount_sum) from sales_per_minute group by 1 order by 1 desc limit 10"
  psql -h 127.0.0.1 -p $PORT -U postgres kvstream -c "select * from daily_client_summary order by amount_sum desc limit 10"
  python3 -c "import duckdb; print(duckdb.sql(\"select dt, count(*), count(*) filter (where alert) from read_parquet('lake/payments_scored/**/*.parquet', hive_partitioning=true) group by dt order by dt\"))"
(PostgreSQL must be running for psql: 'make demo' starts it; docs/fraud-detection.md and docs/aggregations.md describe the tables.)
EOF
    exit "$rc"
}
trap stop INT TERM

for job in "${JOBS[@]}"; do
    # setsid: a job of its own process group, so that Ctrl-C at the terminal reaches this script alone, which stops
    # each job with one SIGINT (a second SIGINT makes a job exit at once, without its final checkpoint).
    # shellcheck disable=SC2086 # KVSTREAM_DEMO_ARGS: more --set flags, split on spaces (the test speeds the demo up).
    setsid "$BIN" run "$job" --set sinks.postgres.url="$URL" ${KVSTREAM_DEMO_ARGS:-} >"state/demo/$job.out" 2>"state/demo/$job.log" &
    pids+=($!)
done
say "running ${JOBS[*]} (logs: state/demo/*.log); Ctrl-C stops them"
shown=()
while true; do
    sleep 2
    for i in "${!JOBS[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            wait "${pids[$i]}"; rc=$?
            echo "demo: ${JOBS[$i]} ended (exit $rc): $(tail -1 "state/demo/${JOBS[$i]}.log")" >&2
            stop
        fi
        line=$(grep -a "events/s" "state/demo/${JOBS[$i]}.log" | tail -1)
        [[ -n $line && $line != "${shown[$i]:-}" ]] && { echo "  $line"; shown[$i]=$line; }
    done
done
