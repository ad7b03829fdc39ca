#!/bin/bash
# quickstart.sh - run postdesk behind a private Postfix on loopback
#
# Usage: bash contrib/quickstart.sh [start|stop|status]   (as root, Debian 12)
#
# start (the default) installs the missing Debian packages and the postdesk
# user (contrib/install-deps.sh), builds into build/, and starts, all on
# 127.0.0.1 and all under run/:
#   - run/postdesk.conf, made from contrib/postdesk.conf.example with
#     state_dir = run/state, listen = inet:127.0.0.1:2424,
#     relay = 127.0.0.1:2587, secret_file = run/secret (random, 0600);
#   - postdesk-lmtpd (log run/lmtpd.log, pid run/lmtpd.pid);
#   - postdesk-milter on the milter_listen of run/postdesk.conf (the
#     example's inet:127.0.0.1:8891; log run/milter.log, pid run/milter.pid);
#   - a private Postfix instance in run/postfix: SMTP on 127.0.0.1:2525,
#     whose smtpd consults postdesk-milter (milter_default_action =
#     tempfail), a milter-free submission port 127.0.0.1:2587 for
#     postdesk's own mail,
#     the example's queue addresses and the domain desk.example.org routed
#     by transport_maps to lmtp:inet:127.0.0.1:2424, and local Maildirs
#     run/mail/ADDRESS/ for the agents and marie.dupont@example.com,
#     run/mail/others/ for anybody else in example.org and example.com
#     (the acknowledgements and notifications land there);
#   - run/templates, a copy of contrib/templates (templates_dir);
#   - an smtp-sink on 127.0.0.1:2526 as Postfix's relayhost: mail to any
#     other domain is written to run/outbound/ instead of leaving the
#     machine.
# The daemon listens on TCP rather than on a unix socket so that Postfix's
# lmtp(8), which runs as user postfix, needs no access to this directory.
# If user postdesk cannot reach this checkout (e.g. it lies under /root),
# run/ is a symbolic link to /var/lib/postdesk-quickstart.
# start is idempotent: what already runs is left alone.
# stop stops postdesk-lmtpd and postdesk-milter (SIGTERM), Postfix and the
# sink, and waits.
# status says what runs and asks the daemon (postdeskctl status).
set -euo pipefail

cd "$(dirname "$0")/.."
TOP=$PWD
SMTP_PORT=2525
SUB_PORT=2587
LMTP_PORT=2424
SINK_PORT=2526
LMTPD=$TOP/build/lmtpd/postdesk-lmtpd
MILTERD=$TOP/build/milter/postdesk-milter
CTL=$TOP/build/cli/postdeskctl

die() { echo "quickstart.sh: $*" >&2; exit 1; }
say() { echo "quickstart.sh: $*"; }

# run_dir - the real path of run/ (see the header about /root checkouts)
run_dir() {
    if [ -L "$TOP/run" ] || [ -d "$TOP/run" ]; then
        readlink -f "$TOP/run"
    elif getent passwd postdesk >/dev/null &&
        ! runuser -u postdesk -- test -x "$TOP" 2>/dev/null; then
        mkdir -p /var/lib/postdesk-quickstart
        chmod 755 /var/lib/postdesk-quickstart
        ln -s /var/lib/postdesk-quickstart "$TOP/run"
        say "user postdesk cannot reach $TOP: run/ -> /var/lib/postdesk-quickstart" >&2
        echo /var/lib/postdesk-quickstart
    else
        mkdir -p "$TOP/run"
        echo "$TOP/run"
    fi
}

# alive PID NAME - PID runs and is the command NAME
alive() {
    [ -n "$1" ] && [ "$(ps -o comm= -p "$1" 2>/dev/null)" = "$2" ] &&
        ! ps -o stat= -p "$1" | grep -q '^Z'
}

# wait_gone PID SECONDS
wait_gone() {
    local end=$((SECONDS + $2))
    while [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! ps -o stat= -p "$1" | grep -q '^Z'; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}

# listening PORT
listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# wait_listening PORT SECONDS
wait_listening() {
    local end=$((SECONDS + $2))
    until listening "$1"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}

pidof_file() { tr -d ' \n' 2>/dev/null <"$1" || true; }

# write_conf - run/postdesk.conf from the example (kept if it exists)
write_conf() {
    local ex=$TOP/contrib/postdesk.conf.example
    [ -f "$RUN/postdesk.conf" ] && return 0
    [ -f "$ex" ] || die "$ex is missing"
    sed -e "s|^state_dir = .*|state_dir = $RUN/state|" \
        -e "s|^listen = .*|listen = inet:127.0.0.1:$LMTP_PORT|" \
        -e "s|^relay = .*|relay = 127.0.0.1:$SUB_PORT|" \
        -e "s|^secret_file = .*|secret_file = $RUN/secret|" \
        -e "s|^templates_dir = .*|templates_dir = $RUN/templates|" \
        "$ex" >"$RUN/postdesk.conf.new"
    for k in "state_dir = $RUN/state" "listen = inet:127.0.0.1:$LMTP_PORT" \
        "relay = 127.0.0.1:$SUB_PORT" "secret_file = $RUN/secret" \
        "templates_dir = $RUN/templates"; do
        grep -qxF "$k" "$RUN/postdesk.conf.new" ||
            die "could not set '$k' in run/postdesk.conf (example changed?)"
    done
    mv "$RUN/postdesk.conf.new" "$RUN/postdesk.conf"
    chmod 644 "$RUN/postdesk.conf"
    say "wrote $RUN/postdesk.conf"
}

# write_templates - run/templates: a copy of contrib/templates that user
# postdesk can read (edit the copy to try your own texts; SIGHUP reloads)
write_templates() {
    # Refreshed at every start: a newer checkout may bring new templates.
    mkdir -p "$RUN/templates"
    cp -r "$TOP/contrib/templates/." "$RUN/templates/"
    chmod -R a+rX "$RUN/templates"
}

# write_secret - run/secret: 32 random bytes in hex, 0600, owned by postdesk
write_secret() {
    [ -s "$RUN/secret" ] && return 0
    (umask 077 && openssl rand -hex 32 >"$RUN/secret")
    chown postdesk "$RUN/secret"
    chmod 600 "$RUN/secret"
}

# conf_value KEY - a [postdesk] key of run/postdesk.conf
conf_value() { sed -n "s/^$1 *= *//p" "$RUN/postdesk.conf" | head -n 1; }

# setup_postfix - (re)write the private instance's configuration
setup_postfix() {
    local master=/etc/postfix/master.cf dest=lmtp:inet:127.0.0.1:$LMTP_PORT
    local domain transport="" a mailboxes
    [ -f $master ] || master=/etc/postfix/master.cf.proto
    mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$RUN/outbound" "$RUN/mail"
    chown postfix:postfix "$PF/data"
    chown nobody "$RUN/outbound" "$RUN/mail"
    [ -f "$PF/etc/master.cf" ] || cp "$master" "$PF/etc/master.cf"
    touch "$PF/etc/main.cf"
    domain=$(conf_value domain)
    # every queue address of the config goes to postdesk-lmtpd
    for a in $(sed -n 's/^addresses *= *//p' "$RUN/postdesk.conf" | tr ';' ' '); do
        transport="${transport:+$transport, }$a=$dest"
    done
    [ -n "$transport" ] || die "no queue addresses in run/postdesk.conf"
    # the dedicated domain goes to postdesk-lmtpd as a whole
    transport="$transport, $domain=$dest"
    # Everybody else in the example's domains has a local Maildir (delivered
    # by virtual(8) as nobody), so that acknowledgements and notifications
    # can be read: run/mail/ADDRESS/ for each agent address of the config
    # and for marie.dupont@example.com, run/mail/others/ for the rest.
    mailboxes=""
    for a in $(sed -n 's/^email *= *//p' "$RUN/postdesk.conf" | tr ';' ' ') \
        marie.dupont@example.com; do
        mailboxes="${mailboxes:+$mailboxes, }$a=$a/"
    done
    postconf -c "$PF/etc" -e \
        "compatibility_level = 3.6" \
        "queue_directory = $PF/spool" "data_directory = $PF/data" \
        "syslog_name = postfix-quickstart" \
        "myhostname = localhost" "inet_interfaces = 127.0.0.1" \
        "inet_protocols = ipv4" "mynetworks = 127.0.0.0/8" \
        "mydestination =" "alias_maps =" "alias_database =" \
        "local_transport = error:5.1.1 no local delivery" \
        "recipient_delimiter = +" \
        "transport_maps = inline:{ $transport }" \
        "virtual_mailbox_domains = $domain example.org example.com" \
        "virtual_transport = virtual" "virtual_mailbox_base = $RUN/mail" \
        "virtual_mailbox_maps = inline:{ $mailboxes }, static:others/" \
        "virtual_uid_maps = static:$(id -u nobody)" \
        "virtual_gid_maps = static:$(id -g nobody)" \
        "relayhost = [127.0.0.1]:$SINK_PORT" "smtp_dns_support_level = disabled" \
        "lmtp_send_xforward_command = yes" \
        "lmtp_destination_concurrency_limit = 4" \
        "smtpd_milters =" "non_smtpd_milters =" \
        "milter_default_action = tempfail" "milter_protocol = 6" \
        "maillog_file_prefixes = $PF" "maillog_file = $PF/maillog" \
        "queue_run_delay = 30s" "minimal_backoff_time = 30s" \
        "maximal_backoff_time = 300s"
    postconf -c "$PF/etc" -F '*/*/chroot = n'
    # no inet listener of the system's master.cf: only the two below
    for svc in $(postconf -c "$PF/etc" -M | awk '$2 == "inet" { print $1 "/inet" }'); do
        case "$svc" in 127.0.0.1:$SMTP_PORT/*|127.0.0.1:$SUB_PORT/*) ;; *) postconf -c "$PF/etc" -M# "$svc" ;; esac
    done
    # postdesk-milter on the SMTP port only (not on the submission port)
    postconf -c "$PF/etc" -Me \
        "127.0.0.1:$SMTP_PORT/inet = 127.0.0.1:$SMTP_PORT inet n - n - - smtpd -o smtpd_milters=$(conf_value milter_listen)"
    postconf -c "$PF/etc" -Me \
        "127.0.0.1:$SUB_PORT/inet = 127.0.0.1:$SUB_PORT inet n - n - - smtpd -o syslog_name=postfix-quickstart/submission -o smtpd_milters="
}

# postfix_cmd VERB - a postfix(1) command; errors go to a tty or the log
# only, so run it under script(1) to see them
postfix_cmd() {
    script -qec "postfix -c $PF/etc $1" /dev/null
}

postfix_running() { postfix -c "$PF/etc" status >/dev/null 2>&1; }

start_sink() {
    local pid
    pid=$(pidof_file "$RUN/sink.pid")
    alive "$pid" smtp-sink && return 0
    listening $SINK_PORT && die "port $SINK_PORT is taken by another program"
    setsid nohup smtp-sink -u nobody -d "$RUN/outbound/%Y%m%d-%H%M%S." \
        "127.0.0.1:$SINK_PORT" 20 >>"$RUN/sink.log" 2>&1 </dev/null &
    echo $! >"$RUN/sink.pid"
    wait_listening $SINK_PORT 10 || die "smtp-sink did not start (run/sink.log)"
}

start_lmtpd() {
    local pid
    pid=$(pidof_file "$RUN/lmtpd.pid")
    if alive "$pid" postdesk-lmtpd; then
        say "postdesk-lmtpd already runs (pid $pid)"
        return 0
    fi
    listening $LMTP_PORT && die "port $LMTP_PORT is taken by another program"
    echo "=== $(date -u +%FT%TZ) quickstart start" >>"$RUN/lmtpd.log"
    setsid nohup "$LMTPD" -c "$RUN/postdesk.conf" -f >>"$RUN/lmtpd.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$RUN/lmtpd.pid"
    if ! wait_listening $LMTP_PORT 30; then
        tail -n 20 "$RUN/lmtpd.log" >&2
        die "postdesk-lmtpd did not start (see run/lmtpd.log)"
    fi
    alive "$pid" postdesk-lmtpd || { tail -n 20 "$RUN/lmtpd.log" >&2; die "postdesk-lmtpd exited"; }
    say "postdesk-lmtpd started (pid $pid)"
}

# milter_ready - postdesk-milter's socket (milter_listen) accepts
milter_ready() {
    local l
    l=$(conf_value milter_listen)
    case "$l" in
    inet:*) listening "${l##*:}" ;;
    unix:*) [ -S "${l#unix:}" ] ;;
    *) return 1 ;;
    esac
}

start_milter() {
    local pid end
    pid=$(pidof_file "$RUN/milter.pid")
    if alive "$pid" postdesk-milter; then
        say "postdesk-milter already runs (pid $pid)"
        return 0
    fi
    milter_ready && die "milter_listen ($(conf_value milter_listen)) is taken by another program"
    echo "=== $(date -u +%FT%TZ) quickstart start" >>"$RUN/milter.log"
    setsid nohup "$MILTERD" -c "$RUN/postdesk.conf" -f >>"$RUN/milter.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$RUN/milter.pid"
    end=$((SECONDS + 30))
    until milter_ready; do
        alive "$pid" postdesk-milter && [ $SECONDS -lt $end ] || break
        sleep 0.2
    done
    if ! milter_ready || ! alive "$pid" postdesk-milter; then
        tail -n 20 "$RUN/milter.log" >&2
        die "postdesk-milter did not start (see run/milter.log)"
    fi
    say "postdesk-milter started (pid $pid, $(conf_value milter_listen))"
}

start_postfix() {
    if postfix_running; then
        postfix_cmd reload >/dev/null
        say "Postfix already runs (reloaded)"
        return 0
    fi
    listening $SMTP_PORT && die "port $SMTP_PORT is taken by another program"
    postfix_cmd check || die "postfix check failed (see above)"
    postfix_cmd start >/dev/null || { tail -n 20 "$PF/maillog" >&2 || true; die "postfix start failed"; }
    wait_listening $SMTP_PORT 30 || die "Postfix does not listen on 127.0.0.1:$SMTP_PORT"
    say "Postfix started (SMTP 127.0.0.1:$SMTP_PORT, log run/postfix/maillog)"
}

do_start() {
    [ "$(id -u)" -eq 0 ] || die "run me as root (packages, Postfix, the postdesk user)"
    bash "$TOP/contrib/install-deps.sh"
    RUN=$(run_dir)
    PF=$RUN/postfix
    if [ ! -f "$TOP/build/CMakeCache.txt" ]; then
        cmake -S "$TOP" -B "$TOP/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    fi
    cmake --build "$TOP/build" -j 2
    [ -x "$LMTPD" ] || die "no $LMTPD after the build"
    [ -x "$MILTERD" ] || die "no $MILTERD after the build"
    write_conf
    write_templates
    write_secret
    setup_postfix
    start_sink
    start_lmtpd
    start_milter
    start_postfix
    cat <<EOT

postdesk runs. Send a first mail (Postfix listens on 127.0.0.1:$SMTP_PORT):

  swaks --server 127.0.0.1:$SMTP_PORT --from marie.dupont@example.com \\
        --to helpdesk@example.org --header 'Subject: Imprimante en panne' \\
        --body 'Bonjour, l imprimante du 2e etage ne marche plus.'

Look at it:

  build/cli/postdeskctl -c run/postdesk.conf list
  build/cli/postdeskctl -c run/postdesk.conf show NUMBER

The requester's acknowledgement and the agents' notifications arrive in
local Maildirs: run/mail/marie.dupont@example.com/new/ and
run/mail/alice@example.org/new/, run/mail/bob@example.org/new/ (anybody
else in example.org and example.com: run/mail/others/new/).

Logs: run/lmtpd.log, run/milter.log, run/postfix/maillog; Postfix queue:
postqueue -c $PF/etc -p; mail to any other domain lands in run/outbound/.
Stop everything: bash contrib/quickstart.sh stop
EOT
}

do_stop() {
    local pid
    [ -e "$TOP/run" ] || { say "nothing to stop (no run/)"; return 0; }
    RUN=$(readlink -f "$TOP/run")
    PF=$RUN/postfix
    pid=$(pidof_file "$RUN/lmtpd.pid")
    if alive "$pid" postdesk-lmtpd; then
        kill -TERM "$pid"
        wait_gone "$pid" 60 || die "postdesk-lmtpd (pid $pid) did not exit within 60 s of SIGTERM"
        say "postdesk-lmtpd stopped"
    fi
    rm -f "$RUN/lmtpd.pid"
    pid=$(pidof_file "$RUN/milter.pid")
    if alive "$pid" postdesk-milter; then
        kill -TERM "$pid"
        # libmilter takes a few seconds to close its socket
        wait_gone "$pid" 30 || die "postdesk-milter (pid $pid) did not exit within 30 s of SIGTERM"
        say "postdesk-milter stopped"
    fi
    rm -f "$RUN/milter.pid"
    if [ -d "$PF/etc" ] && postfix_running; then
        pid=$(pidof_file "$PF/spool/pid/master.pid")
        postfix_cmd stop >/dev/null || true
        wait_gone "$pid" 30 || die "Postfix master (pid $pid) did not exit"
        say "Postfix stopped"
    fi
    pid=$(pidof_file "$RUN/sink.pid")
    if alive "$pid" smtp-sink; then
        kill -TERM "$pid"
        wait_gone "$pid" 10 || true
    fi
    rm -f "$RUN/sink.pid"
}

do_status() {
    local pid rc=0
    [ -e "$TOP/run" ] || { say "not started (no run/)"; return 3; }
    RUN=$(readlink -f "$TOP/run")
    PF=$RUN/postfix
    pid=$(pidof_file "$RUN/lmtpd.pid")
    if alive "$pid" postdesk-lmtpd; then
        say "postdesk-lmtpd runs (pid $pid)"
        "$CTL" -c "$RUN/postdesk.conf" status || rc=1
    else
        say "postdesk-lmtpd is not running"; rc=3
    fi
    pid=$(pidof_file "$RUN/milter.pid")
    if alive "$pid" postdesk-milter; then
        say "postdesk-milter runs (pid $pid)"
    else
        say "postdesk-milter is not running"; rc=3
    fi
    if [ -d "$PF/etc" ] && postfix_running; then
        say "Postfix runs; $(postqueue -c "$PF/etc" -j 2>/dev/null | grep -c '^{' || true) message(s) queued"
    else
        say "Postfix is not running"; rc=3
    fi
    return $rc
}

case "${1:-start}" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
-h|--help) sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
*) die "usage: $0 [start|stop|status]" ;;
esac
