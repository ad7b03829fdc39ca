#!/bin/bash
# t_lmtp_direct - LMTP spoken directly to postdesk-lmtpd (RFC 2033): the
# greeting, LHLO capabilities, HELO/EHLO refused, 552 for an oversized
# SIZE=, per-recipient replies after DATA in RCPT order (refused recipients
# get none), 503 for DATA without recipients, pipelining, RSET and several
# transactions on one connection; then SIGTERM during an idle session ends
# the daemon with exit status 0. No Postfix here.
. "$(dirname "$0")/lib.sh" "$@"
PD_MAX_SIZE=100000
pd_setup lmtp_direct
pd_lmtpd_start

# The LMTP dialogue; prints "ok DESC" / "FAIL DESC: ..." lines.
cat >"$PD_DIR/lmtp_dialogue.py" <<'PYEOF'
import socket, sys
port, max_size = int(sys.argv[1]), int(sys.argv[2])

def check(desc, cond, seen):
    print(("ok %s" % desc) if cond else ("FAIL %s: seen %r" % (desc, seen)))
    sys.stdout.flush()

class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.f = self.s.makefile("rb")
    def send(self, text):
        self.s.sendall(text.encode())
    def reply(self):
        """One reply, possibly multi-line: (code, [lines])."""
        lines = []
        while True:
            l = self.f.readline()
            if not l:
                return (None, lines)
            l = l.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                try:
                    return (int(l[:3]), lines)
                except ValueError:
                    return (None, lines)
    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

c = Conn()
code, lines = c.reply()
check("greeting is 220", code == 220, lines)
code, lines = c.cmd("HELO client.test")
check("HELO refused with 5xx", code is not None and 500 <= code < 600, lines)
code, lines = c.cmd("EHLO client.test")
check("EHLO refused with 5xx", code is not None and 500 <= code < 600, lines)
code, lines = c.cmd("LHLO client.test")
check("LHLO answers 250", code == 250, lines)
caps = [l[4:].upper() for l in lines[1:]]
for cap in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"):
    check("LHLO advertises " + cap, cap in caps, lines)
size = [c_ for c_ in caps if c_.startswith("SIZE")]
check("LHLO advertises SIZE %d" % max_size, size == ["SIZE %d" % max_size], lines)
check("LHLO does not advertise DSN or CHUNKING",
      "DSN" not in caps and "CHUNKING" not in caps, lines)

code, lines = c.cmd("MAIL FROM:<big@client.test> SIZE=%d" % (max_size * 2))
check("MAIL with SIZE over the limit gets 552", code == 552, lines)
check("the 552 has enhanced code 5.3.4", bool(lines) and " 5.3.4" in lines[-1], lines)
c.cmd("RSET")

code, lines = c.cmd("MAIL FROM:<x@client.test> FOO=bar")
check("unknown MAIL parameter refused with 555 (or 501)", code in (555, 501), lines)
c.cmd("RSET")

code, lines = c.cmd("MAIL FROM:<x@client.test>")
check("MAIL accepted", code == 250, lines)
code, lines = c.cmd("DATA")
check("DATA without recipients gets 503", code == 503, lines)
c.cmd("RSET")

# Pipelined MAIL + 3 RCPT + DATA in one write.
c.send("MAIL FROM:<anne@client.test> SIZE=300\r\n"
       "RCPT TO:<helpdesk@desk.test>\r\n"
       "RCPT TO:<nobody@desk.test>\r\n"
       "RCPT TO:<network@desk.test>\r\n"
       "DATA\r\n")
r = [c.reply() for _ in range(5)]
check("pipelined MAIL 250", r[0][0] == 250, r[0][1])
check("RCPT helpdesk@ 250", r[1][0] == 250, r[1][1])
check("RCPT nobody@ refused 550 5.1.1", r[2][0] == 550 and " 5.1.1" in r[2][1][-1], r[2][1])
check("RCPT network@ 250", r[3][0] == 250, r[3][1])
check("DATA 354", r[4][0] == 354, r[4][1])
c.send("From: Anne <anne@client.test>\r\n"
       "To: helpdesk@desk.test, network@desk.test\r\n"
       "Subject: LMTP direct\r\n"
       "Message-ID: <direct.1@client.test>\r\n"
       "\r\n"
       "Hello.\r\n"
       "..a stuffed line\r\n"
       ".\r\n")
r = [c.reply() for _ in range(2)]
check("after DATA: 250 for helpdesk@ (first accepted RCPT)", r[0][0] == 250, r[0][1])
check("after DATA: 250 for network@ (second accepted RCPT)", r[1][0] == 250, r[1][1])
code, lines = c.cmd("NOOP")
check("no third reply after DATA (next reply is NOOP's 250)", code == 250, lines)

# A second transaction on the same connection.
code, lines = c.cmd("RSET")
check("RSET 250", code == 250, lines)
code, _ = c.cmd("MAIL FROM:<bob@client.test>")
code2, lines = c.cmd("RCPT TO:<Support@Desk.Test>")
check("second MAIL and mixed-case queue address accepted", code == 250 and code2 == 250, lines)
code, lines = c.cmd("DATA")
c.send("From: bob@client.test\r\nSubject: second\r\n"
       "Message-ID: <direct.2@client.test>\r\n\r\nbody\r\n.\r\n")
code, lines = c.reply()
check("second transaction 250", code == 250, lines)
code, lines = c.cmd("QUIT")
check("QUIT 221", code == 221, lines)
PYEOF

timeout 120 "$PD_PY" "$PD_DIR/lmtp_dialogue.py" "$PD_LMTP_PORT" "$PD_MAX_SIZE" \
    >"$PD_DIR/lmtp_dialogue.out" 2>&1
rc=$?
while IFS= read -r line; do
    case "$line" in
    "ok "*) pd_pass "${line#ok }" ;;
    "FAIL "*) pd_fail "${line#FAIL }" ;;
    *) echo "$line" ;;
    esac
done <"$PD_DIR/lmtp_dialogue.out"
[ $rc -eq 0 ] || pd_fail "the LMTP dialogue script stopped with status $rc (see above)"

list=$(pd_ctl list --json)
pd_expect_eq "one ticket from the pipelined mail" 1 \
    "$(pd_json 'len([t for t in j if t["title"] == "LMTP direct"])' <<<"$list")"
pd_log "tickets: $(pd_json '[(t["title"], t["queue"]) for t in j]' <<<"$list")"
n=$(pd_json '[t["number"] for t in j if t["title"] == "LMTP direct"][0]' <<<"$list" 2>/dev/null)
if [ -n "$n" ]; then
    pd_expect_match "dot-stuffing undone in the stored body" '(^|[^.])\.a stuffed line' \
        "$(pd_ctl show "$n" --json | pd_json 'j["articles"][0]["body"]')"
fi

# SIGTERM while a session sits idle after LHLO: exit 0, the session ends.
"$PD_PY" - "$PD_LMTP_PORT" >"$PD_DIR/idle.log" 2>&1 9>&- <<'PYEOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
f = s.makefile("rb")
print(f.readline().decode().strip()); sys.stdout.flush()
s.sendall(b"LHLO idle.test\r\n")
while True:
    l = f.readline().decode()
    print(l.strip()); sys.stdout.flush()
    if not l or l[3:4] != "-":
        break
print("idle"); sys.stdout.flush()
rest = f.readline().decode()
print("after SIGTERM: %r" % rest.strip())
PYEOF
idle=$!
pd_bg "$idle"
pd_wait_for 10 grep -q '^idle$' "$PD_DIR/idle.log" || pd_fail "idle session not set up: $(cat "$PD_DIR/idle.log")"
pd_lmtpd_stop 30
pd_expect_eq "SIGTERM during an idle session: exit status 0" 0 "$PD_LMTPD_STATUS"
if pd_wait_pid_gone "$idle" 10; then
    wait "$idle"
    pd_expect_match "idle session closed (421 or EOF)" "after SIGTERM: '(421.*)?'" "$(tail -n 1 "$PD_DIR/idle.log")"
else
    kill "$idle"; wait "$idle"
    pd_fail "idle session still open 10 s after the daemon exited"
fi
pd_finish
