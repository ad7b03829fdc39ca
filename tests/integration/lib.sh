# lib.sh - shared helpers of the postdesk integration tests
#
# Usage, at the top of tests/integration/t_NAME.sh (run by ctest as
# "bash t_NAME.sh BUILD_DIR SOURCE_DIR", serially, as root):
#
#	. "$(dirname "$0")/lib.sh" "$@"
#	pd_setup NAME			# temp dir, ports, postdesk.conf, EXIT trap
#	pd_postfix_start		# private Postfix in front of the daemon
#	pd_lmtpd_start			# postdesk-lmtpd -f in the background
#	pd_milter_start			# postdesk-milter -f (PD_WITH_MILTER=1 before
#					# pd_postfix_start: smtpd_milters on the smtpd)
#	pd_send FROM TO SUBJECT [swaks args...]
#	pd_wait_queue_empty 60
#	pd_expect_eq "one ticket" 1 "$(pd_ctl list --json | pd_json 'len(j)')"
#	pd_finish			# "t_NAME: N passed, M failed", exit status
#
# Layout of one test (PD_DIR): postdesk.conf, secret, state/ (the Berkeley
# DB environment, created by the daemon), lmtpd.log, pf/ (the Postfix
# instance: pf/etc, pf/spool, pf/maillog), outbound/ (mail that left
# Postfix, captured by smtp-sink), swaks.log. PD_DIR is BUILD_DIR/itest/NAME
# when unprivileged users can reach BUILD_DIR (the daemon runs as postdesk,
# smtp-sink as nobody), else /tmp/postdesk-itest-<hash>/NAME. It is removed
# when the test passes and kept (with the tails of the logs printed) when
# it fails (or when PD_KEEP is set).
#
# Routing: Postfix has virtual_mailbox_domains = desk.test and
# virtual_transport = lmtp:inet:127.0.0.1:PD_LMTP_PORT (with PD_LMTP_UNIX
# set before pd_setup: lmtp:unix:PD_DIR/lmtp.sock, the daemon's socket),
# so every desk.test recipient goes to the daemon (which refuses unknown
# ones with 550 5.1.1).
# Every other domain (bounces, acknowledgements) goes to relayhost
# [127.0.0.1]:PD_SINK_PORT, an smtp-sink: no mail leaves the machine.
# Deferred mail is retried within seconds (queue_run_delay and
# minimal_backoff_time 1s, maximal_backoff_time 4s).
#
# Every wait has a timeout; the EXIT trap stops whatever was started, even
# on failure; a watchdog sends SIGTERM to the test after PD_TIMEOUT
# seconds (default 600, below ctest's 900). A lock file (flock on fd 9)
# serialises tests; processes started in the background get "9>&-" so
# that a leftover cannot hold it. pd_setup kills what an earlier, killed
# run of the same test left behind (pid files in PD_DIR).

set -u -o pipefail

PD_SELF=$(basename "$0" .sh)
PD_BUILD=$(cd "${1:?usage: $0 BUILD_DIR SOURCE_DIR}" && pwd)
PD_SRC=$(cd "${2:?usage: $0 BUILD_DIR SOURCE_DIR}" && pwd)
PD_LMTPD=${PD_LMTPD:-$PD_BUILD/lmtpd/postdesk-lmtpd}
PD_CTL=${PD_CTL:-$PD_BUILD/cli/postdeskctl}
PD_MILTERD=${PD_MILTERD:-$PD_BUILD/milter/postdesk-milter}
PD_TIMEOUT=${PD_TIMEOUT:-600}
PD_LOCK=/tmp/postdesk-itest.lock
if [ -x /usr/bin/python3 ]; then PD_PY=/usr/bin/python3; else PD_PY=python3; fi
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

PD_PASSED=0
PD_FAILED=0
PD_FINISHED=
PD_LMTPD_PID=
PD_LMTPD_STATUS=
PD_MILTER_PID=
PD_MILTER_STATUS=
PD_SINK_PID=
PD_BG_PIDS=
PD_WATCHDOG=
PD_PF_STARTED=0
PD_DIR=
PF=

# pd_log - a progress line on stdout
pd_log() { echo "# $*"; }

# pd_pass, pd_fail - count one check
pd_pass() { PD_PASSED=$((PD_PASSED + 1)); echo "ok - $1"; }
pd_fail() { PD_FAILED=$((PD_FAILED + 1)); echo "FAIL - $*"; }

# pd_die - a fatal problem: count it, say it, exit (the trap cleans up)
pd_die() {
    PD_FAILED=$((PD_FAILED + 1))
    echo "FATAL - $*"
    exit 1
}

# pd_expect_eq DESC EXPECTED SEEN
pd_expect_eq() {
    if [ "$2" = "$3" ]; then
        pd_pass "$1"
    else
        pd_fail "$1: expected '$2', seen '$3'"
    fi
}

# pd_expect_match DESC ERE SEEN
pd_expect_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then
        pd_pass "$1"
    else
        pd_fail "$1: expected to match /$2/, seen '$(printf '%s' "$3" | head -c 600)'"
    fi
}

# pd_expect_ok DESC CMD... - the command succeeds
pd_expect_ok() {
    local desc=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        pd_pass "$desc"
    else
        pd_fail "$desc: '$*' exited $rc: $(printf '%s' "$out" | tail -n 5)"
    fi
}

# pd_wait_for TIMEOUT CMD... - poll CMD (every 0.2 s) until it succeeds
pd_wait_for() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
    return 0
}

# pd_finish - print the summary line and exit with the verdict
pd_finish() {
    PD_FINISHED=1
    echo "$PD_SELF: $PD_PASSED passed, $PD_FAILED failed"
    [ "$PD_FAILED" -eq 0 ] && [ "$PD_PASSED" -gt 0 ]
    exit $?
}

# pd_free_ports N - N distinct TCP ports free on 127.0.0.1, in 20000..32000
pd_free_ports() {
    "$PD_PY" - "$1" "$$" <<'PYEOF'
import random, socket, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)
found = []
while len(found) < n:
    p = rnd.randrange(20000, 32000)
    if p in found:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
        found.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(" ".join(map(str, found)))
PYEOF
}

# pd_port_listening PORT - something listens on 127.0.0.1:PORT
pd_port_listening() {
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# pd_pid_alive PID - the process exists and is not a zombie
pd_pid_alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case "$st" in Z*|"") return 1 ;; esac
    return 0
}

# pd_wait_pid_gone PID TIMEOUT - wait until PID has exited
pd_wait_pid_gone() {
    local end=$((SECONDS + $2))
    while pd_pid_alive "$1"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
    return 0
}

# pd_tail FILE [N] - the last lines of a log, for a failure report
pd_tail() {
    [ -f "$1" ] || return 0
    echo "----- last ${2:-40} lines of $1"
    tail -n "${2:-40}" "$1"
    echo "-----"
}

# pd_kill_leftovers - stop what an earlier run of this test left (e.g. when
# ctest killed it at its timeout and the trap could not run)
pd_kill_leftovers() {
    local pid
    if [ -f "$PD_DIR/lmtpd.pid" ]; then
        pid=$(cat "$PD_DIR/lmtpd.pid")
        if [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "postdesk-lmtpd" ]; then
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    if [ -f "$PD_DIR/milter.pid" ]; then
        pid=$(cat "$PD_DIR/milter.pid")
        if [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "postdesk-milter" ]; then
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    if [ -f "$PD_DIR/sink.pid" ]; then
        pid=$(cat "$PD_DIR/sink.pid")
        if [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "smtp-sink" ]; then
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    if [ -f "$PD_DIR/pf/spool/pid/master.pid" ]; then
        PF=$PD_DIR/pf
        PD_PF_STARTED=1
        pd_postfix_stop
    fi
}

# pd_setup NAME - the test's directory, ports, config, lock, trap, watchdog
pd_setup() {
    local name=$1 base ports
    [ "$(id -u)" -eq 0 ] || { echo "$PD_SELF: needs root (Postfix, user postdesk)"; exit 1; }
    for c in postfix postconf postqueue swaks smtp-sink ss; do
        command -v $c >/dev/null || { echo "$PD_SELF: $c missing (run contrib/install-deps.sh)"; exit 1; }
    done
    getent passwd postdesk >/dev/null ||
        { echo "$PD_SELF: user postdesk missing (run contrib/install-deps.sh)"; exit 1; }

    exec 9>"$PD_LOCK"
    flock -w 900 9 || { echo "$PD_SELF: $PD_LOCK stayed locked"; exit 1; }

    if runuser -u nobody -- test -x "$PD_BUILD" 2>/dev/null; then
        base=$PD_BUILD/itest
    else
        base=/tmp/postdesk-itest-$(printf '%s' "$PD_BUILD" | md5sum | cut -c1-8)
    fi
    PD_DIR=$base/$name
    trap pd_cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    trap 'exit 129' HUP
    trap 'exit 141' PIPE
    pd_kill_leftovers
    rm -rf "$PD_DIR"
    mkdir -p "$PD_DIR" || pd_die "cannot create $PD_DIR"
    chmod 755 "$base" "$PD_DIR"

    ports=$(pd_free_ports 5) || pd_die "cannot find free ports"
    read -r PD_SMTP_PORT PD_SUB_PORT PD_LMTP_PORT PD_SINK_PORT PD_MILTER_PORT <<<"$ports"
    PD_CONF=$PD_DIR/postdesk.conf
    PD_STATE=$PD_DIR/state
    if [ -n "${PD_LMTP_UNIX:-}" ]; then
        PD_LISTEN=unix:$PD_DIR/lmtp.sock
    else
        PD_LISTEN=inet:127.0.0.1:$PD_LMTP_PORT
    fi

    openssl rand -hex 32 >"$PD_DIR/secret" || pd_die "openssl rand failed"
    chown postdesk "$PD_DIR/secret"
    chmod 600 "$PD_DIR/secret"
    pd_write_conf

    # (killing its sleep in pd_cleanup ends it without firing)
    (
        sleep "$PD_TIMEOUT" &&
            echo "FATAL - $PD_SELF: overall timeout of ${PD_TIMEOUT}s" &&
            kill -TERM $$
    ) 2>/dev/null 9>&- &
    PD_WATCHDOG=$!
    pd_log "$PD_SELF: dir $PD_DIR, smtpd $PD_SMTP_PORT, submission $PD_SUB_PORT, lmtp $PD_LMTP_PORT, sink $PD_SINK_PORT"
}

# pd_write_conf - the test's postdesk.conf (PD_CONF_EXTRA is appended).
# The mail templates are copied into PD_DIR/templates (the daemon runs as
# postdesk and may not read the source tree); templates_dir points there
# unless PD_CONF_EXTRA sets it itself.
pd_write_conf() {
    local tdir="templates_dir = $PD_DIR/templates"
    mkdir -p "$PD_DIR/templates"
    cp -r "$PD_SRC/contrib/templates/." "$PD_DIR/templates/"
    chmod -R a+rX "$PD_DIR/templates"
    case "${PD_CONF_EXTRA:-}" in *templates_dir*) tdir="" ;; esac
    cat >"$PD_CONF" <<CONFEOF
# postdesk.conf written by tests/integration/lib.sh for $PD_SELF
[postdesk]
domain = desk.test
state_dir = $PD_STATE
listen = $PD_LISTEN
milter_listen = inet:127.0.0.1:$PD_MILTER_PORT
relay = 127.0.0.1:$PD_SUB_PORT
secret_file = $PD_DIR/secret
command_localpart = desk
ticket_hook = Ticket#
system_id = 10
language = fr
max_message_size = ${PD_MAX_SIZE:-1048576}
$tdir

[queue Helpdesk]
addresses = helpdesk@desk.test;support@desk.test
group = helpdesk
default_type = Service Request

[queue Network]
addresses = network@desk.test
group = network
default_type = Incident
${PD_CONF_EXTRA:-}
CONFEOF
}

# pd_cleanup - the EXIT trap: stop everything, report, keep logs on failure
pd_cleanup() {
    local rc=$? pid
    trap - EXIT TERM INT HUP
    trap '' PIPE
    [ "$PD_FAILED" -gt 0 ] && [ $rc -eq 0 ] && rc=1
    [ -n "$PD_FINISHED" ] || echo "$PD_SELF: $PD_PASSED passed, $PD_FAILED failed (stopped early, exit $rc)"
    if [ -n "$PD_LMTPD_PID" ] && pd_pid_alive "$PD_LMTPD_PID"; then
        kill -TERM "$PD_LMTPD_PID" 2>/dev/null
        pd_wait_pid_gone "$PD_LMTPD_PID" 20 || kill -KILL "$PD_LMTPD_PID" 2>/dev/null
        wait "$PD_LMTPD_PID" 2>/dev/null
    fi
    if [ -n "$PD_MILTER_PID" ] && pd_pid_alive "$PD_MILTER_PID"; then
        kill -TERM "$PD_MILTER_PID" 2>/dev/null
        pd_wait_pid_gone "$PD_MILTER_PID" 20 || kill -KILL "$PD_MILTER_PID" 2>/dev/null
        wait "$PD_MILTER_PID" 2>/dev/null
    fi
    for pid in $PD_BG_PIDS; do
        if pd_pid_alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    pd_postfix_stop
    if [ -n "$PD_SINK_PID" ]; then
        kill -TERM "$PD_SINK_PID" 2>/dev/null
        wait "$PD_SINK_PID" 2>/dev/null
    fi
    if [ -n "$PD_WATCHDOG" ]; then
        pkill -TERM -P "$PD_WATCHDOG" 2>/dev/null
        kill -TERM "$PD_WATCHDOG" 2>/dev/null
        wait "$PD_WATCHDOG" 2>/dev/null
    fi
    if [ -n "$PD_DIR" ] && [ -d "$PD_DIR" ]; then
        if [ $rc -ne 0 ] || [ -n "${PD_KEEP:-}" ]; then
            pd_tail "$PD_DIR/pf/maillog" 40
            pd_tail "$PD_DIR/lmtpd.log" 60
            pd_tail "$PD_DIR/milter.log" 40
            echo "# $PD_SELF exit $rc: logs kept in $PD_DIR"
        else
            rm -rf "$PD_DIR"
        fi
    fi
    exit $rc
}

# pd_bg PID - a background helper of the test, stopped by pd_cleanup
pd_bg() { PD_BG_PIDS="$PD_BG_PIDS $1"; }

# pd_postfix_start - a private Postfix instance in PD_DIR/pf (DEPS.md §2)
pd_postfix_start() {
    local master=/etc/postfix/master.cf
    PF=$PD_DIR/pf
    [ -f $master ] || master=/etc/postfix/master.cf.proto
    mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$PD_DIR/outbound"
    chown postfix:postfix "$PF/data"
    chown nobody "$PD_DIR/outbound"
    cp "$master" "$PF/etc/master.cf"
    : >"$PF/etc/main.cf"
    postconf -c "$PF/etc" -e \
        "compatibility_level = 3.6" \
        "queue_directory = $PF/spool" "data_directory = $PF/data" \
        "syslog_name = postfix-$PD_SELF" \
        "myhostname = mx.desk.test" "myorigin = mx.desk.test" \
        "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
        "mynetworks = 127.0.0.0/8" "mydestination =" \
        "alias_maps =" "alias_database =" \
        "local_transport = error:5.1.1 no local delivery" \
        "virtual_mailbox_domains = desk.test" \
        "virtual_transport = lmtp:$PD_LISTEN" \
        "relayhost = [127.0.0.1]:$PD_SINK_PORT" \
        "smtp_dns_support_level = disabled" \
        "smtpd_milters =" "non_smtpd_milters =" \
        "lmtp_send_xforward_command = yes" \
        "lmtp_destination_concurrency_limit = 4" \
        "lmtp_lhlo_name = mx.desk.test" \
        "maillog_file_prefixes = $PF" "maillog_file = $PF/maillog" \
        "queue_run_delay = 1s" "minimal_backoff_time = 1s" \
        "maximal_backoff_time = 4s" \
        "in_flow_delay = 0" "smtpd_error_sleep_time = 0" \
        "smtpd_soft_error_limit = 1000" "smtpd_hard_error_limit = 1000" ||
        pd_die "postconf failed"
    # PD_WITH_MILTER=1: the smtpd on PD_SMTP_PORT consults postdesk-milter
    # (pd_milter_start); the submission port never does.
    if [ -n "${PD_WITH_MILTER:-}" ]; then
        postconf -c "$PF/etc" -e \
            "smtpd_milters = inet:127.0.0.1:$PD_MILTER_PORT" \
            "milter_default_action = tempfail" "milter_protocol = 6" ||
            pd_die "postconf (milter) failed"
    fi
    postconf -c "$PF/etc" -F '*/*/chroot = n'
    # no inet listener of the system's master.cf: only the two below
    for svc in $(postconf -c "$PF/etc" -M | awk '$2 == "inet" { print $1 "/inet" }'); do
        postconf -c "$PF/etc" -M# "$svc"
    done
    postconf -c "$PF/etc" -Me \
        "127.0.0.1:$PD_SMTP_PORT/inet = 127.0.0.1:$PD_SMTP_PORT inet n - n - - smtpd"
    postconf -c "$PF/etc" -Me \
        "127.0.0.1:$PD_SUB_PORT/inet = 127.0.0.1:$PD_SUB_PORT inet n - n - - smtpd -o syslog_name=postfix-$PD_SELF/submission -o smtpd_milters="
    if [ -n "${PD_POSTFIX_EXTRA:-}" ]; then
        # shellcheck disable=SC2086
        postconf -c "$PF/etc" -e $PD_POSTFIX_EXTRA
    fi

    smtp-sink -u nobody -d "$PD_DIR/outbound/%H%M%S." "127.0.0.1:$PD_SINK_PORT" 50 \
        >>"$PD_DIR/sink.log" 2>&1 </dev/null 9>&- &
    PD_SINK_PID=$!
    echo "$PD_SINK_PID" >"$PD_DIR/sink.pid"

    # Postfix commands report errors only to a tty or the log: use script(1).
    if ! script -qec "postfix -c $PF/etc check" "$PD_DIR/postfix-check.log" >/dev/null 2>&1 ||
        grep -q 'fatal' "$PD_DIR/postfix-check.log"; then
        cat "$PD_DIR/postfix-check.log"
        pd_die "postfix check failed"
    fi
    PD_PF_STARTED=1
    script -qec "postfix -c $PF/etc start" "$PD_DIR/postfix-start.log" >/dev/null 2>&1 9>&-
    pd_wait_for 30 pd_port_listening "$PD_SMTP_PORT" || {
        cat "$PD_DIR/postfix-start.log"
        pd_die "Postfix smtpd did not listen on 127.0.0.1:$PD_SMTP_PORT within 30 s"
    }
    pd_wait_for 10 pd_port_listening "$PD_SINK_PORT" ||
        pd_die "smtp-sink did not listen on 127.0.0.1:$PD_SINK_PORT"
}

# pd_postfix_stop - stop the instance and wait for its master to exit
pd_postfix_stop() {
    local pid
    [ "$PD_PF_STARTED" -eq 1 ] && [ -n "$PF" ] || return 0
    PD_PF_STARTED=0
    pid=$(tr -d ' \n' <"$PF/spool/pid/master.pid" 2>/dev/null)
    [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "master" ] || return 0
    postfix -c "$PF/etc" stop >/dev/null 2>&1
    if ! pd_wait_pid_gone "$pid" 20; then
        postfix -c "$PF/etc" abort >/dev/null 2>&1
        pd_wait_pid_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
    fi
}

# pd_postqueue - one JSON object per queued message (postqueue -j)
pd_postqueue() { postqueue -c "$PF/etc" -j 2>/dev/null; }

# pd_flush - ask Postfix to retry deferred mail now
pd_flush() { postqueue -c "$PF/etc" -f >/dev/null 2>&1; }

# pd_queue_count - number of messages in the Postfix queue
pd_queue_count() { pd_postqueue | grep -c '^{'; }

# pd_wait_queue_empty TIMEOUT - wait until Postfix's queue is empty,
# flushing every 3 s; on timeout show the queue and fail
pd_wait_queue_empty() {
    local end=$((SECONDS + ${1:-60})) last_flush=$SECONDS
    while [ "$(pd_queue_count)" -ne 0 ]; do
        if [ $SECONDS -ge $end ]; then
            echo "# Postfix queue not empty after ${1:-60} s:"
            postqueue -c "$PF/etc" -p 2>&1 | head -n 40
            return 1
        fi
        if [ $((SECONDS - last_flush)) -ge 3 ]; then
            pd_flush
            last_flush=$SECONDS
        fi
        sleep 0.2
    done
    return 0
}

# pd_send FROM TO SUBJECT [swaks args...] - one mail through Postfix's smtpd;
# TO may be a comma-separated list. The body is "Test: SUBJECT" unless the
# extra arguments give one (--body).
pd_send() {
    local from=$1 to=$2 subject=$3
    shift 3
    {
        echo "=== pd_send $from -> $to: $subject"
        timeout 60 swaks --server "127.0.0.1:$PD_SMTP_PORT" --helo client.test \
            --from "$from" --to "$to" --header "Subject: $subject" \
            --body "Test: $subject" "$@"
    } >>"$PD_DIR/swaks.log" 2>&1 || {
        pd_tail "$PD_DIR/swaks.log" 20
        pd_fail "swaks could not send '$subject' to $to"
        return 1
    }
}

# pd_lmtpd_start - start the daemon in the foreground mode, in the
# background; wait until it listens and its control socket exists
pd_lmtpd_start() {
    [ -x "$PD_LMTPD" ] || pd_die "no daemon at $PD_LMTPD (build lmtpd first)"
    echo "=== $(date -u +%FT%TZ) pd_lmtpd_start" >>"$PD_DIR/lmtpd.log"
    "$PD_LMTPD" -c "$PD_CONF" -f >>"$PD_DIR/lmtpd.log" 2>&1 </dev/null 9>&- &
    PD_LMTPD_PID=$!
    echo "$PD_LMTPD_PID" >"$PD_DIR/lmtpd.pid"
    local end=$((SECONDS + 30))
    until pd_lmtpd_ready; do
        pd_pid_alive "$PD_LMTPD_PID" && [ $SECONDS -lt $end ] || break
        sleep 0.1
    done
    if ! pd_lmtpd_ready; then
        if pd_pid_alive "$PD_LMTPD_PID"; then
            pd_die "postdesk-lmtpd (pid $PD_LMTPD_PID) did not listen on $PD_LISTEN with $PD_STATE/control within 30 s"
        fi
        wait "$PD_LMTPD_PID"
        local st=$?
        PD_LMTPD_PID=
        pd_die "postdesk-lmtpd exited with status $st at start: $(tail -n 3 "$PD_DIR/lmtpd.log")"
    fi
}

# pd_lmtpd_ready - the daemon is alive, listens, and has its control socket
pd_lmtpd_ready() {
    pd_pid_alive "$PD_LMTPD_PID" || return 1
    case "$PD_LISTEN" in
    inet:*) pd_port_listening "${PD_LISTEN##*:}" || return 1 ;;
    unix:*) [ -S "${PD_LISTEN#unix:}" ] || return 1 ;;
    esac
    [ -S "$PD_STATE/control" ]
}

# pd_lmtpd_stop [TIMEOUT] - SIGTERM, wait; PD_LMTPD_STATUS = exit status
# (returns 1 when it had to be killed). Sanitizer reports in the log fail.
pd_lmtpd_stop() {
    local timeout=${1:-30}
    PD_LMTPD_STATUS=
    [ -n "$PD_LMTPD_PID" ] || return 0
    kill -TERM "$PD_LMTPD_PID" 2>/dev/null
    if ! pd_wait_pid_gone "$PD_LMTPD_PID" "$timeout"; then
        kill -KILL "$PD_LMTPD_PID" 2>/dev/null
        wait "$PD_LMTPD_PID" 2>/dev/null
        PD_LMTPD_PID=
        pd_fail "postdesk-lmtpd did not exit within ${timeout}s of SIGTERM (killed)"
        return 1
    fi
    wait "$PD_LMTPD_PID"
    PD_LMTPD_STATUS=$?
    PD_LMTPD_PID=
    pd_check_sanitizer
    return 0
}

# pd_lmtpd_kill9 - SIGKILL the daemon and reap it
pd_lmtpd_kill9() {
    [ -n "$PD_LMTPD_PID" ] || return 0
    kill -KILL "$PD_LMTPD_PID" 2>/dev/null
    wait "$PD_LMTPD_PID" 2>/dev/null
    PD_LMTPD_PID=
    echo "=== $(date -u +%FT%TZ) pd_lmtpd_kill9" >>"$PD_DIR/lmtpd.log"
}

# pd_check_sanitizer - an ASan/UBSan report in the daemon's log is a failure
pd_check_sanitizer() {
    local hits
    hits=$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
        "$PD_DIR/lmtpd.log" 2>/dev/null | head -n 5)
    [ -z "$hits" ] || pd_fail "sanitizer report in lmtpd.log: $hits"
}

# pd_ctl ARGS... - postdeskctl with the test's config (30 s at most)
pd_ctl() {
    [ -x "$PD_CTL" ] || pd_die "no postdeskctl at $PD_CTL"
    timeout 30 "$PD_CTL" -c "$PD_CONF" "$@"
}

# pd_json EXPR - read JSON on stdin, print eval(EXPR) with j = the document
# (strings raw, anything else as JSON); a parse error prints the input
pd_json() {
    "$PD_PY" -c '
import json, sys
text = sys.stdin.read()
try:
    j = json.loads(text)
except ValueError as e:
    sys.stderr.write("pd_json: not JSON (%s): %r\n" % (e, text[:300]))
    sys.exit(1)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False))
' "$1"
}

# pd_maillog_wait TIMEOUT ERE - wait until the maillog has a matching line
pd_maillog_wait() {
    pd_wait_for "$1" grep -Eq -- "$2" "$PF/maillog"
}

# pd_milter_start - postdesk-milter -f in the background (milter.log,
# milter.pid); wait until it listens on 127.0.0.1:PD_MILTER_PORT
pd_milter_start() {
    [ -x "$PD_MILTERD" ] || pd_die "no milter at $PD_MILTERD (build milter first)"
    echo "=== $(date -u +%FT%TZ) pd_milter_start" >>"$PD_DIR/milter.log"
    "$PD_MILTERD" -c "$PD_CONF" -f >>"$PD_DIR/milter.log" 2>&1 </dev/null 9>&- &
    PD_MILTER_PID=$!
    echo "$PD_MILTER_PID" >"$PD_DIR/milter.pid"
    local end=$((SECONDS + 30))
    until pd_port_listening "$PD_MILTER_PORT"; do
        pd_pid_alive "$PD_MILTER_PID" && [ $SECONDS -lt $end ] || break
        sleep 0.1
    done
    if ! pd_pid_alive "$PD_MILTER_PID"; then
        wait "$PD_MILTER_PID"
        local st=$?
        PD_MILTER_PID=
        pd_die "postdesk-milter exited with status $st at start: $(tail -n 3 "$PD_DIR/milter.log")"
    fi
    pd_port_listening "$PD_MILTER_PORT" ||
        pd_die "postdesk-milter (pid $PD_MILTER_PID) did not listen on 127.0.0.1:$PD_MILTER_PORT within 30 s"
}

# pd_milter_stop [TIMEOUT] - SIGTERM, wait for the pid (libmilter takes
# seconds to let go of its port); PD_MILTER_STATUS = exit status.
# Sanitizer reports in milter.log fail.
pd_milter_stop() {
    local timeout=${1:-30} hits
    PD_MILTER_STATUS=
    [ -n "$PD_MILTER_PID" ] || return 0
    kill -TERM "$PD_MILTER_PID" 2>/dev/null
    if ! pd_wait_pid_gone "$PD_MILTER_PID" "$timeout"; then
        kill -KILL "$PD_MILTER_PID" 2>/dev/null
        wait "$PD_MILTER_PID" 2>/dev/null
        PD_MILTER_PID=
        pd_fail "postdesk-milter did not exit within ${timeout}s of SIGTERM (killed)"
        return 1
    fi
    wait "$PD_MILTER_PID"
    PD_MILTER_STATUS=$?
    PD_MILTER_PID=
    hits=$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
        "$PD_DIR/milter.log" 2>/dev/null | head -n 5)
    [ -z "$hits" ] || pd_fail "sanitizer report in milter.log: $hits"
    return 0
}
