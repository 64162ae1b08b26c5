# Sourced by tests that need PostgreSQL: pg_start DIR PORT starts a throwaway server on 127.0.0.1:PORT with its data
# under DIR (initdb and pg_ctl refuse root: they run as the postgres user), pg_stop DIR stops it, pg_kill DIR
# stops it at once (immediate mode: like a crash). psql_q PORT SQL prints a query's rows unaligned. Servers take their
# port from free_port (ports.sh).
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_start() { # DIR PORT
    local dir=$1 port=$2
    if [[ ! -f $dir/data/PG_VERSION ]]; then
        mkdir -p "$dir/data" "$dir/run"
        [[ $(id -u) -eq 0 ]] && chown -R postgres "$dir"
        chmod 755 "$dir"
        as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 || return 1
    fi
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/run -c fsync=off -c full_page_writes=off" start >/dev/null
}

pg_stop() { as_postgres "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1; }
pg_kill() { as_postgres "$PG_BIN/pg_ctl" -D "$1/data" -m immediate -w stop >/dev/null 2>&1; }

psql_q() { # PORT SQL
    psql -h 127.0.0.1 -p "$1" -U postgres -d postgres -At -v ON_ERROR_STOP=1 -c "$2"
}
