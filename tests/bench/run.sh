#!/bin/bash
# tests/bench/run.sh [BUILD_DIR] - LMTP ingest benchmark of postdesk-lmtpd.
#
# Starts postdesk-lmtpd on a fresh store in a temporary directory, delivers
# generated 3 KB French mails (all new tickets, durable commits) with 1, 8
# and 32 concurrent LMTP sessions over TCP and over a unix socket, and
# prints one line per figure, then the store's batching counters.
# Run as root (the daemon drops to the postdesk user) after a build.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
mails=${MAILS:-3000}
work=$(mktemp -d /tmp/postdesk-bench.XXXXXX)
chmod 755 "$work"
port=$((20000 + $$ % 10000))
pid=

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

run_one() {    # listen-spec address label
    cat > "$work/pd.conf" <<CONF
[postdesk]
domain = desk.test
state_dir = $work/state-$3
listen = $1
[queue Helpdesk]
addresses = helpdesk@desk.test
group = helpdesk
CONF
    "$build/lmtpd/postdesk-lmtpd" -f -c "$work/pd.conf" 2>"$work/lmtpd-$3.log" &
    pid=$!
    for _ in $(seq 50); do
        grep -q ' ready: ' "$work/lmtpd-$3.log" && break
        sleep 0.1
    done
    for s in 1 8 32; do
        "$build/tests/lmtp_bench" -s "$s" -n "$mails" "$2" |
            awk -v l="$3" -v s="$s" 'NR > 1 { printf "%s sessions=%s %s %s\n", l, s, $1, $2 }'
    done
    "$build/cli/postdeskctl" -c "$work/pd.conf" status |
        awk -v l="$3" '/messages per batch|log flushes|batches/ { print l, $0 }'
    du -sk "$work/state-$3" | awk -v l="$3" -v n=$((3 * mails)) \
        '{ printf "%s store_bytes_per_mail %.0f\n", l, $1 * 1024 / n }'
    kill -TERM "$pid"; wait "$pid" || true; pid=
}

echo "# postdesk-lmtpd ingest, $mails new-ticket mails of 3 KB per run, $(nproc) cores"
run_one "inet:127.0.0.1:$port" "inet:127.0.0.1:$port" tcp
run_one "unix:$work/lmtp.sock" "unix:$work/lmtp.sock" unix
