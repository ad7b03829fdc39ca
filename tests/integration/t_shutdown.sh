#!/bin/bash
# t_shutdown - SIGTERM finishes the transactions in flight: a session in
# the middle of DATA when the signal arrives still gets its 250 and its
# ticket is committed; an idle session is told 421; new connections are
# refused; the daemon exits 0. Also: started as root, the daemon runs as
# the postdesk user.
. "$(dirname "$0")/lib.sh" "$@"
pd_setup shutdown
pd_lmtpd_start

pd_expect_eq "daemon runs as user postdesk" postdesk \
    "$(ps -o user= -p "$PD_LMTPD_PID" | tr -d ' ')"

cat >"$PD_DIR/inflight.py" <<'PYEOF'
import os, socket, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return s, s.makefile("rb")
def reply(f):
    while True:
        l = f.readline().decode("utf-8", "replace")
        if len(l) < 4 or l[3] != "-":
            return l.rstrip("\r\n")
busy, bf = conn(); reply(bf)
idle, idf = conn(); reply(idf)
for s, f in ((busy, bf), (idle, idf)):
    s.sendall(b"LHLO t.test\r\n"); reply(f)
busy.sendall(b"MAIL FROM:<inflight@example.org>\r\nRCPT TO:<helpdesk@desk.test>\r\nDATA\r\n")
r = [reply(bf) for _ in range(3)]
busy.sendall(b"From: inflight@example.org\r\nSubject: in flight at SIGTERM\r\n"
             b"Message-ID: <inflight@example.org>\r\n\r\nfirst half\r\n")
open(flag, "w").close()               # the shell sends SIGTERM now
time.sleep(2)
busy.sendall(b"second half\r\n.\r\n")
print("DATA " + reply(bf))
print("IDLE " + reply(idf))
sys.stdout.flush()
PYEOF

rm -f "$PD_DIR/flag"
"$PD_PY" "$PD_DIR/inflight.py" "$PD_LMTP_PORT" "$PD_DIR/flag" >"$PD_DIR/inflight.out" 2>&1 &
py=$!
pd_wait_for 20 test -e "$PD_DIR/flag" || pd_die "the client did not start its transaction"
kill -TERM "$PD_LMTPD_PID"
sleep 0.5
if (exec 3<>"/dev/tcp/127.0.0.1/$PD_LMTP_PORT") 2>/dev/null; then
    pd_fail "new connections still accepted after SIGTERM"
else
    pd_pass "new connections refused after SIGTERM"
fi
wait $py
out=$(cat "$PD_DIR/inflight.out")
pd_expect_match "the transaction in flight got 250 with its ticket" \
    "^DATA 250 2\.0\.0 .*ticket [0-9]+" "$out"
pd_expect_match "the idle session was told 421" "IDLE 421 4\.3\.2" "$out"
pd_lmtpd_stop
pd_expect_eq "exit 0 after SIGTERM" 0 "$PD_LMTPD_STATUS"

# The daemon is gone: postdeskctl opens the store itself.
number=$(echo "$out" | sed -n 's/^DATA .*ticket \([0-9]*\).*/\1/p')
pd_expect_eq "the in-flight mail is committed" "in flight at SIGTERM" \
    "$(pd_ctl show "$number" --json | pd_json 'j["title"]')"
pd_finish
