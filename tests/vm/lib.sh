# Shared by the VM scripts (sourced: `. "$(dirname "$0")/lib.sh"`).

# SIGTERM the daemon whose pid is in the file, and wait (at most 15 s) until
# it has gone.
stop() { # pidfile
    local p
    p=$(cat "$1" 2>/dev/null) || return 0
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
}
