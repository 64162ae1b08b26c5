# Sourced by tests that kill a job at random moments.
#
# kill_runs KILLS AFTER -- COMMAND...: runs COMMAND in the background and kills it (and its children) with SIGKILL
# after a random 0.1-0.5 s, KILLS times, running AFTER (a command, or :) after each kill. Stops early when a run
# ends by itself. Sets `kills` to the number of kills done.
kill_runs() {
    local wanted=$1 after=$2
    shift 3
    kills=0
    while [[ $kills -lt $wanted ]]; do
        "$@" &
        local pid=$!
        sleep "0.$((1 + RANDOM % 5))"
        if ! kill -0 $pid 2>/dev/null; then
            wait $pid
            echo "run ended by itself after $kills kills"
            return
        fi
        pkill -KILL -P $pid 2>/dev/null
        kill -KILL $pid 2>/dev/null
        wait $pid 2>/dev/null
        kills=$((kills + 1))
        $after
    done
}
