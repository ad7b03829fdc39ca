#!/bin/bash
# tests/bench/run.sh [--scale] [--quick] [BUILD_DIR] - postdesk benchmarks
#
# The standard set (under 10 minutes on 2 cores), one line per figure
# ("name value"), in a private temporary directory:
#   1. postdesk-lmtpd over a unix socket and TCP: 3 KB French mails with
#      1/8/16/32 sessions (new tickets), follow-ups by subject reference and
#      by References, 60 KB HTML replies, 200 KB and 1 MB mails with a PDF;
#      mails/s, latency end of DATA -> 250 (p50/p99/max), daemon CPU seconds
#      per 1000 mails, peak RSS, store bytes per mail beyond the raw
#      message, messages per log flush.
#   2. Baselines on the same mails: smtp-sink -L, Dovecot LMTP to Maildir
#      (its own config file, loopback, stopped afterwards), the raw
#      fdatasync rate of the state directory's disk (1 and 8 threads);
#      ratios postdesk / baseline.
#   3. End to end: smtp-source -> a private Postfix -> postdesk-lmtpd,
#      -> smtp-sink -L, -> Dovecot; mails/s until the queue is empty, the
#      share of the two cores that was busy, and the daemon's part of it.
#   4. Scale: a store filled through LMTP to 10k and 100k tickets (with
#      --scale also 1M): new-ticket and follow-up rates, postdeskctl show and
#      list --queue latency, store bytes per ticket.
# --quick: fewer mails (a smoke test of the script).
# Acknowledgements leave through the daemon's outbox to an smtp-sink, so
# the outbox drains during the runs.
# Run as root after a build (the daemon drops to the postdesk user).
# Installs dovecot-core and dovecot-lmtpd when missing (apt-get; no service
# is started: the script runs its own instance with "dovecot -c").
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
top=$(cd "$(dirname "$0")/../.." && pwd)
scale=0
quick=0
while [ $# -gt 0 ]; do
    case "$1" in
    --scale) scale=1; shift ;;
    --quick) quick=1; shift ;;
    *) break ;;
    esac
done
build=$(cd "${1:-$top/build}" && pwd) || exit 1
lmtpd=$build/lmtpd/postdesk-lmtpd
ctl=$build/cli/postdeskctl
bench=$build/tests/lmtp_bench
fsyncb=$build/tests/fsync_bench
for f in "$lmtpd" "$ctl" "$bench" "$fsyncb"; do
    [ -x "$f" ] || { echo "run.sh: $f missing (build first)"; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "run.sh: run as root"; exit 1; }

N=${MAILS:-3000}		# 3 KB mails per run
[ $quick -eq 1 ] && N=300
NH=$((N / 3))			# 60 KB and 200 KB mails per run
NP=$((N / 30))			# 1 MB mails per run

work=$(mktemp -d /tmp/postdesk-bench.XXXXXX)
chmod 755 "$work"
pd_pid=
sink_pids=
dc_conf=
pf_dir=

cleanup() {
    trap - EXIT INT TERM
    [ -n "$pd_pid" ] && kill -TERM "$pd_pid" 2>/dev/null && wait "$pd_pid" 2>/dev/null
    [ -n "$pf_dir" ] && [ -f "$pf_dir/spool/pid/master.pid" ] &&
        postfix -c "$pf_dir/etc" stop >/dev/null 2>&1
    [ -n "$dc_conf" ] && [ -f "$work/dovecot/run/master.pid" ] &&
        dovecot -c "$dc_conf" stop >/dev/null 2>&1
    for p in $sink_pids; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_ports() {
    python3 - "$1" <<'PYEOF'
import socket, sys
found = []
while len(found) < int(sys.argv[1]):
    s = socket.socket(); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]; s.close()
    if p not in found: found.append(p)
print(" ".join(map(str, found)))
PYEOF
}
read -r relay_port tcp_port sink_port dc_port smtp_port <<<"$(free_ports 5)"

listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
wait_for() {    # TIMEOUT CMD...
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
fig() { printf '%s %s\n' "$1" "$2"; }
# ratio NAME A B - A/B with two decimals
ratio() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%s %.2f\n", n, a / b; else print n, "n/a" }'; }
# get TAG FIGURE - a figure printed earlier
get() { awk -v k="$1 $2" 'index($0, k " ") == 1 { v = $NF } END { print v }' "$work/figures"; }

# ---------------------------------------------------------------- machine
fig machine.nproc "$(nproc)"
fig machine.cpu "\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\""
fig machine.date "$(date -u +%FT%TZ)"

# the outbox relay: an SMTP sink that discards
smtp-sink -u nobody "127.0.0.1:$relay_port" 256 </dev/null >/dev/null 2>&1 &
sink_pids="$sink_pids $!"
wait_for 10 listening "$relay_port" || { echo "run.sh: relay sink did not start"; exit 1; }

# ---------------------------------------------------------------- postdesk
openssl rand -hex 32 >"$work/secret"
chown postdesk "$work/secret"; chmod 600 "$work/secret"
mkdir -p "$work/templates"
cp -r "$top/contrib/templates/." "$work/templates/"
chmod -R a+rX "$work/templates"

pd_start() {    # NAME LISTEN
    cat >"$work/pd-$1.conf" <<CONF
[postdesk]
domain = desk.test
state_dir = $work/state-$1
listen = $2
relay = 127.0.0.1:$relay_port
secret_file = $work/secret
templates_dir = $work/templates
ticket_hook = Ticket#
system_id = 10
language = fr
max_message_size = 4194304
[queue Helpdesk]
addresses = helpdesk@desk.test
group = helpdesk
CONF
    pd_conf=$work/pd-$1.conf
    pd_state=$work/state-$1
    "$lmtpd" -f -c "$pd_conf" </dev/null >"$work/lmtpd-$1.log" 2>&1 &
    pd_pid=$!
    case "$2" in
    inet:*) wait_for 30 listening "${2##*:}" ;;
    unix:*) wait_for 30 test -S "${2#unix:}" ;;
    esac || { tail "$work/lmtpd-$1.log"; echo "run.sh: daemon did not start"; exit 1; }
    wait_for 30 test -S "$pd_state/control"
}
# db_bytes - the state directory without the transaction logs
db_bytes() { du -sb --exclude='log.*' "$pd_state" | cut -f1; }
pd_stop() {
    kill -TERM "$pd_pid" 2>/dev/null; wait "$pd_pid" 2>/dev/null; pd_pid=
}
pd_counter() {  # FIELD of status --json
    "$ctl" -c "$pd_conf" status --json |
        python3 -c "import json,sys; print(json.load(sys.stdin).get('$1', 0))"
}
# pd_run TAG ADDR LMTP_BENCH_ARGS... - one driver run against postdesk, with
# CPU/RSS, store growth and messages per log flush
pd_run() {
    local tag=$1 addr=$2 m0 f0 m1 f1 du0 du1 db0 db1 n bytes
    shift 2
    sync
    m0=$(pd_counter batched_messages); f0=$(pd_counter log_flushes)
    du0=$(du -sb "$pd_state" | cut -f1); db0=$(db_bytes)
    "$bench" -t "$tag" -p "$pd_pid" "$@" "$addr" | tee -a "$work/figures"
    m1=$(pd_counter batched_messages); f1=$(pd_counter log_flushes)
    du1=$(du -sb "$pd_state" | cut -f1); db1=$(db_bytes)
    n=$(printf '%s\n' "$@" | awk 'p { print; exit } $0 == "-n" { p = 1 }')
    bytes=$(get "$tag" mail_bytes)
    awk -v t="$tag" -v a="$m0" -v b="$m1" -v c="$f0" -v d="$f1" \
        'BEGIN { if (d > c) printf "%s messages_per_log_flush %.2f\n", t, (b - a) / (d - c) }' |
        tee -a "$work/figures"
    awk -v t="$tag" -v a="$du0" -v b="$du1" -v n="$n" -v r="$bytes" \
        -v c="$db0" -v d="$db1" \
        'BEGIN { printf "%s store_bytes_per_mail_beyond_raw %.0f\n%s db_bytes_per_mail_beyond_raw %.0f\n%s raw_bytes %d\n", t, (b - a) / n - r, t, (d - c) / n - r, t, r }' |
        tee -a "$work/figures"
}

echo "# 1. postdesk-lmtpd ($N mails of 3 KB per run; $NH of 60/200 KB; $NP of 1 MB)"
for lis in unix tcp; do
    if [ $lis = unix ]; then
        pd_start unix "unix:$work/lmtp.sock"; addr=unix:$work/lmtp.sock
    else
        pd_start tcp "inet:127.0.0.1:$tcp_port"; addr=inet:127.0.0.1:$tcp_port
    fi
    for s in 1 8 16 32; do
        pd_run "pd.$lis.plain.new.s$s" "$addr" -s $s -n $N -k plain -f new
    done
    if [ $lis = unix ]; then
        pd_run "pd.$lis.plain.subject.s1" "$addr" -s 1 -n $N -k plain -f subject
        pd_run "pd.$lis.plain.subject.s16" "$addr" -s 16 -n $N -k plain -f subject
        pd_run "pd.$lis.plain.refs.s16" "$addr" -s 16 -n $N -k plain -f refs
        pd_run "pd.$lis.html.subject.s16" "$addr" -s 16 -n $NH -k html -f subject
        pd_run "pd.$lis.att.new.s16" "$addr" -s 16 -n $NH -k att -f new
        pd_run "pd.$lis.pdf.new.s8" "$addr" -s 8 -n $NP -k pdf -f new
        wait_for 30 sh -c "[ \"\$('$ctl' -c '$pd_conf' outbox --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = 0 ]" &&
            fig pd.unix.outbox_drained yes || fig pd.unix.outbox_drained no
        "$ctl" -c "$pd_conf" status | sed 's/^/# /'
    fi
    pd_stop
done

echo "# 2. baselines"
"$fsyncb" -t 1 -d 3 "$work" | sed 's/^/disk.threads1 /' | tee -a "$work/figures"
"$fsyncb" -t 8 -d 3 "$work" | sed 's/^/disk.threads8 /' | tee -a "$work/figures"

smtp-sink -u nobody -L "127.0.0.1:$sink_port" 256 </dev/null >/dev/null 2>&1 &
sink_pids="$sink_pids $!"
smtp-sink -u nobody -L "unix:$work/sink.sock" 256 </dev/null >/dev/null 2>&1 &
sink_pids="$sink_pids $!"
wait_for 10 listening "$sink_port"; wait_for 10 test -S "$work/sink.sock"
chmod 666 "$work/sink.sock"
for s in 1 8 16 32; do
    "$bench" -t "sink.unix.plain.s$s" -s $s -n $N -k plain "unix:$work/sink.sock" | tee -a "$work/figures"
    "$bench" -t "sink.tcp.plain.s$s" -s $s -n $N -k plain "inet:127.0.0.1:$sink_port" | tee -a "$work/figures"
done
"$bench" -t sink.unix.att.s16 -s 16 -n $NH -k att "unix:$work/sink.sock" | tee -a "$work/figures"

# Dovecot LMTP to Maildir, private instance
if ! [ -x /usr/lib/dovecot/lmtp ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-core dovecot-lmtpd >"$work/apt.log" 2>&1 ||
        echo "# dovecot-lmtpd could not be installed: see apt-get output"
fi
if [ -x /usr/lib/dovecot/lmtp ]; then
    mkdir -p "$work/dovecot/run" "$work/dovecot/mail"
    chown nobody:nogroup "$work/dovecot/mail"
    dc_conf=$work/dovecot/dovecot.conf
    cat >"$dc_conf" <<CONF
# private Dovecot for the postdesk benchmark; never the system's
instance_name = postdesk-bench
base_dir = $work/dovecot/run
state_dir = $work/dovecot/state
log_path = $work/dovecot/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:$work/dovecot/mail/%n
first_valid_uid = 1
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$work/dovecot/mail/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $dc_port
  }
  unix_listener lmtp {
    mode = 0666
  }
}
CONF
    if dovecot -c "$dc_conf" && wait_for 20 listening "$dc_port"; then
        for s in 1 8 16 32; do
            "$bench" -t "dovecot.unix.plain.s$s" -s $s -n $N -k plain "unix:$work/dovecot/run/lmtp" | tee -a "$work/figures"
        done
        "$bench" -t dovecot.tcp.plain.s16 -s 16 -n $N -k plain "inet:127.0.0.1:$dc_port" | tee -a "$work/figures"
        "$bench" -t dovecot.unix.att.s16 -s 16 -n $NH -k att "unix:$work/dovecot/run/lmtp" | tee -a "$work/figures"
    else
        echo "# Dovecot did not start:"; tail -n 5 "$work/dovecot/dovecot.log" 2>/dev/null
    fi
fi

echo "# ratios postdesk / baseline (mails per second)"
for s in 1 8 16 32; do
    p=$(get pd.unix.plain.new.s$s mails_per_second)
    ratio "ratio.pd_vs_sink.unix.s$s" "$p" "$(get sink.unix.plain.s$s mails_per_second)"
    ratio "ratio.pd_vs_dovecot.unix.s$s" "$p" "$(get dovecot.unix.plain.s$s mails_per_second)"
    ratio "ratio.pd_vs_sink.tcp.s$s" "$(get pd.tcp.plain.new.s$s mails_per_second)" "$(get sink.tcp.plain.s$s mails_per_second)"
done
ratio ratio.pd_vs_dovecot.tcp.s16 "$(get pd.tcp.plain.new.s16 mails_per_second)" "$(get dovecot.tcp.plain.s16 mails_per_second)"
ratio ratio.pd_vs_sink.unix.att.s16 "$(get pd.unix.att.new.s16 mails_per_second)" "$(get sink.unix.att.s16 mails_per_second)"
ratio ratio.pd_vs_dovecot.unix.att.s16 "$(get pd.unix.att.new.s16 mails_per_second)" "$(get dovecot.unix.att.s16 mails_per_second)"
ratio ratio.pd_vs_fdatasync1.s1 "$(get pd.unix.plain.new.s1 mails_per_second)" "$(get disk.threads1 fdatasync_per_second)"
ratio ratio.pd_vs_fdatasync8.s16 "$(get pd.unix.plain.new.s16 mails_per_second)" "$(get disk.threads8 fdatasync_per_second)"

# ---------------------------------------------------------------- Postfix
echo "# 3. end to end: smtp-source -s 16 -> Postfix smtpd -> LMTP (concurrency 16)"
pf_dir=$work/pf
mkdir -p "$pf_dir/etc" "$pf_dir/spool" "$pf_dir/data"
chown postfix:postfix "$pf_dir/data"
master=/etc/postfix/master.cf
[ -f $master ] || master=/etc/postfix/master.cf.proto
cp "$master" "$pf_dir/etc/master.cf"
: >"$pf_dir/etc/main.cf"
postconf -c "$pf_dir/etc" -e \
    "compatibility_level = 3.6" \
    "queue_directory = $pf_dir/spool" "data_directory = $pf_dir/data" \
    "syslog_name = postfix-bench" \
    "myhostname = mx.desk.test" "myorigin = mx.desk.test" \
    "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
    "mynetworks = 127.0.0.0/8" "mydestination =" \
    "alias_maps =" "alias_database =" \
    "local_transport = error:5.1.1 no local delivery" \
    "virtual_mailbox_domains = desk.test" \
    "virtual_transport = lmtp:inet:127.0.0.1:$sink_port" \
    "relayhost = [127.0.0.1]:$relay_port" \
    "smtp_dns_support_level = disabled" \
    "smtpd_milters =" "non_smtpd_milters =" \
    "lmtp_destination_concurrency_limit = 16" \
    "lmtp_lhlo_name = mx.desk.test" \
    "maillog_file_prefixes = $pf_dir" "maillog_file = $pf_dir/maillog" \
    "in_flow_delay = 0" "smtpd_error_sleep_time = 0" \
    "queue_run_delay = 1s" "minimal_backoff_time = 1s" "maximal_backoff_time = 4s"
postconf -c "$pf_dir/etc" -F '*/*/chroot = n'
for svc in $(postconf -c "$pf_dir/etc" -M | awk '$2 == "inet" { print $1 "/inet" }'); do
    postconf -c "$pf_dir/etc" -M# "$svc"
done
postconf -c "$pf_dir/etc" -Me \
    "127.0.0.1:$smtp_port/inet = 127.0.0.1:$smtp_port inet n - n - - smtpd"
script -qec "postfix -c $pf_dir/etc start" "$work/postfix-start.log" >/dev/null 2>&1
if wait_for 30 listening "$smtp_port"; then
    # a 3 KB French mail for smtp-source -F (Postfix adds Message-ID and Date)
    {
        printf 'From: Marie Dupont <marie@example.org>\nTo: helpdesk@desk.test\n'
        printf 'Subject: =?UTF-8?Q?Imprimante_en_panne_=%s?=\n' 'C3=A9tage'
        printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
        for _ in $(seq 36); do
            printf "Bonjour, l'imprimante du troisi\xc3\xa8me \xc3\xa9tage ne r\xc3\xa9pond plus depuis ce matin.\n"
        done
    } >"$work/mail.txt"
    queued() { find "$pf_dir/spool/incoming" "$pf_dir/spool/active" "$pf_dir/spool/deferred" "$pf_dir/spool/maildrop" -type f 2>/dev/null | wc -l; }
    # jiffies: busy and idle of all CPUs; utime+stime of a process
    cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
    proc_jiffies() { [ -n "$1" ] && sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }' || echo 0; }
    e2e() {     # NAME TRANSPORT
        local t0 t1 n=$N b0 i0 b1 i1 d0 d1
        postconf -c "$pf_dir/etc" -e "virtual_transport = $2"
        postfix -c "$pf_dir/etc" reload >/dev/null 2>&1
        sleep 1
        read -r b0 i0 <<<"$(cpu_jiffies)"; d0=$(proc_jiffies "$pd_pid")
        t0=$(date +%s.%N)
        smtp-source -s 16 -m $n -F "$work/mail.txt" -f marie@example.org \
            -t helpdesk@desk.test "127.0.0.1:$smtp_port" >/dev/null 2>&1
        wait_for 300 sh -c "[ \$(find '$pf_dir/spool/incoming' '$pf_dir/spool/active' '$pf_dir/spool/deferred' -type f | wc -l) -eq 0 ]"
        t1=$(date +%s.%N)
        read -r b1 i1 <<<"$(cpu_jiffies)"; d1=$(proc_jiffies "$pd_pid")
        awk -v t="$1" -v a="$t0" -v b="$t1" -v n="$n" \
            'BEGIN { printf "%s mails_per_second %.0f\n", t, n / (b - a) }' | tee -a "$work/figures"
        # share of both cores busy (everything on the machine), and the
        # daemon's share of that
        awk -v t="$1" -v b="$((b1 - b0))" -v i="$((i1 - i0))" -v d="$((d1 - d0))" \
            'BEGIN { printf "%s machine_busy_fraction %.2f\n", t, b / (b + i);
                     if (d > 0) printf "%s daemon_fraction_of_busy %.2f\n", t, d / b }' |
            tee -a "$work/figures"
    }
    e2e e2e.sink "lmtp:inet:127.0.0.1:$sink_port"
    pd_start e2e "unix:$work/lmtp-e2e.sock"
    chmod 666 "$work/lmtp-e2e.sock" 2>/dev/null
    e2e e2e.postdesk "lmtp:unix:$work/lmtp-e2e.sock"
    fig e2e.postdesk.tickets "$(pd_counter tickets)"
    pd_stop
    [ -n "$dc_conf" ] && e2e e2e.dovecot "lmtp:inet:127.0.0.1:$dc_port"
    ratio ratio.e2e.postdesk_vs_sink "$(get e2e.postdesk mails_per_second)" "$(get e2e.sink mails_per_second)"
    ratio ratio.e2e.postdesk_vs_dovecot "$(get e2e.postdesk mails_per_second)" "$(get e2e.dovecot mails_per_second)"
    fig e2e.not_delivered "$(grep -c 'status=\(deferred\|bounced\)' "$pf_dir/maillog")"
    postfix -c "$pf_dir/etc" stop >/dev/null 2>&1
else
    echo "# Postfix did not start"; cat "$work/postfix-start.log"
fi
[ -n "$dc_conf" ] && dovecot -c "$dc_conf" stop >/dev/null 2>&1

# ---------------------------------------------------------------- scale
echo "# 4. scale: tickets through LMTP (3 KB mails, 16 sessions)"
pd_start scale "unix:$work/lmtp-scale.sock"
addr=unix:$work/lmtp-scale.sock
points="10000 100000"
[ $scale -eq 1 ] && points="10000 100000 1000000"
[ $quick -eq 1 ] && points="2000 5000"
have=0
timed_ms() {    # average ms of 20 runs of a command
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq 20); do "$@" >/dev/null || return 1; done
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 20000000))
}
for p in $points; do
    fill=$((p - have - 2000))
    if [ $fill -gt 0 ]; then
        "$bench" -t fill -s 16 -n $fill -k plain -f new "$addr" >"$work/fill.out" ||
            { echo "# fill failed"; cat "$work/fill.out"; break; }
        fig "scale.fill_to_$p.mails_per_second" "$(awk '$2 == "mails_per_second" { print $3 }' "$work/fill.out")"
    fi
    "$bench" -t "scale.$p.new" -s 16 -n 2000 -k plain -f new "$addr" |
        grep -E 'mails_per_second|p99' | tee -a "$work/figures"
    have=$p
    "$bench" -t "scale.$p.followup" -s 16 -n 2000 -k plain -f subject "$addr" |
        grep -E 'mails_per_second|p99' | tee -a "$work/figures"
    tickets=$(pd_counter tickets)
    fig "scale.$p.tickets" "$tickets"
    num=$("$ctl" -c "$pd_conf" list --queue Helpdesk --limit 1 --json |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print(j[0]["number"])')
    fig "scale.$p.show_ms" "$(timed_ms "$ctl" -c "$pd_conf" show "$num" --json)"
    fig "scale.$p.list_queue_limit20_ms" "$(timed_ms "$ctl" -c "$pd_conf" list --queue Helpdesk --limit 20 --json)"
    sync
    fig "scale.$p.store_bytes_per_ticket" "$(du -sb "$pd_state" | awk -v n="$tickets" '{ printf "%.0f", $1 / n }')"
    fig "scale.$p.store_bytes_per_ticket_no_logs" "$(db_bytes | awk -v n="$tickets" '{ printf "%.0f", $1 / n }')"
done
fig scale.outbox_pending "$("$ctl" -c "$pd_conf" outbox --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
pd_stop
echo "# done $(date -u +%FT%TZ)"
