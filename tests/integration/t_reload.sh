#!/bin/bash
# t_reload - SIGHUP makes postdesk-lmtpd load a new configuration snapshot;
# a bad new file is logged (file and line) and the running configuration
# stays in effect. Checked by what RCPT answers for a queue address that
# only the new file has.
. "$(dirname "$0")/lib.sh" "$@"
pd_setup reload
pd_lmtpd_start

# rcpt_code ADDR - the daemon's RCPT reply code for ADDR
rcpt_code() {
    "$PD_PY" - "$PD_LMTP_PORT" "$1" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline().decode("utf-8", "replace")
        if len(l) < 4 or l[3] != "-":
            return l[:3]
reply()
s.sendall(b"LHLO t.test\r\n"); reply()
s.sendall(b"MAIL FROM:<a@example.org>\r\n"); reply()
s.sendall(("RCPT TO:<%s>\r\n" % sys.argv[2]).encode()); print(reply())
s.sendall(b"QUIT\r\n")
PYEOF
}

pd_expect_eq "printing@ unknown before reload" 550 "$(rcpt_code printing@desk.test)"
pd_expect_eq "helpdesk@ known before reload" 250 "$(rcpt_code helpdesk@desk.test)"

PD_CONF_EXTRA='
[queue Printing]
addresses = printing@desk.test
group = helpdesk'
pd_write_conf
kill -HUP "$PD_LMTPD_PID"
pd_wait_for 10 grep -q "new configuration in effect" "$PD_DIR/lmtpd.log" &&
    pd_pass "reload logged" || pd_fail "no reload line in lmtpd.log"
pd_expect_eq "printing@ accepted after reload" 250 "$(rcpt_code printing@desk.test)"

# A bad file: an unknown key on line 3 and a broken line; the old snapshot stays.
{
    echo "[postdesk]"
    echo "domain = desk.test"
    echo "no_such_key = 1"
    echo "this line has no equals sign"
} >"$PD_CONF"
kill -HUP "$PD_LMTPD_PID"
pd_wait_for 10 grep -q "bad configuration, keeping the running one" "$PD_DIR/lmtpd.log" &&
    pd_pass "bad reload logged" || pd_fail "no error logged for the bad file"
pd_expect_match "the error names file and line" "$PD_CONF:3:" "$(cat "$PD_DIR/lmtpd.log")"
pd_expect_eq "printing@ still accepted with the old snapshot" 250 "$(rcpt_code printing@desk.test)"
pd_lmtpd_ready && pd_pass "daemon alive after a bad reload" || pd_fail "daemon died on a bad reload"

pd_write_conf
pd_lmtpd_stop
pd_expect_eq "exit 0 on SIGTERM" 0 "$PD_LMTPD_STATUS"

# In the background (no -f) with a relative -c: daemon() changes to /,
# and SIGHUP must still find the file.
PD_CONF_EXTRA=''
pd_write_conf
(cd "$PD_DIR" && "$PD_LMTPD" -c postdesk.conf) || pd_fail "background start failed"
pidfile=$PD_STATE/postdesk-lmtpd.pid
pd_wait_for 30 pd_port_listening "$PD_LMTP_PORT" || pd_fail "background daemon does not listen"
bgpid=$(cat "$pidfile" 2>/dev/null)
[ -n "$bgpid" ] && pd_bg "$bgpid"       # stopped by the EXIT trap on failure
pd_expect_eq "background: printing@ unknown" 550 "$(rcpt_code printing@desk.test)"
PD_CONF_EXTRA='
[queue Printing]
addresses = printing@desk.test
group = helpdesk'
pd_write_conf
kill -HUP "$bgpid"
sleep 1
pd_expect_eq "background, relative -c: printing@ accepted after SIGHUP" 250 \
    "$(rcpt_code printing@desk.test)"
kill -TERM "$bgpid"
pd_wait_pid_gone "$bgpid" 30 && pd_pass "background daemon stopped" ||
    { kill -KILL "$bgpid"; pd_fail "background daemon did not stop"; }
pd_finish
