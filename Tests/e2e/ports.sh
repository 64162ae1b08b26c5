# Sourced by tests that start a server on loopback (PostgreSQL, moto): free_port prints a port for it.

# A TCP port of 127.0.0.1 that nothing holds, below the kernel's ephemeral range. A port drawn at random inside that
# range (32768-60999 here) can be the local port of another test's outgoing connection when the server starts:
# PostgreSQL then failed with "could not bind ... Address already in use" (seen once, in a fresh-clone run).
free_port() {
    local low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [[ $low -gt 12000 ]] || low=32768
    local port
    for _ in $(seq 1 50); do
        port=$((10000 + RANDOM % (low - 10000)))
        if python3 -c 'import socket, sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$port" \
            2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "free_port: no free port found below $low" >&2
    return 1
}
