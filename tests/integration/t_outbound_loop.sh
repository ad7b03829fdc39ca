#!/bin/bash
# t_outbound_loop - two auto-responders pointed at each other stop after
# a bounded number of mails.
#
# The other side is a small auto-responder in Python (robot.py below) that
# Postfix reaches for the domain robot.test (transport_maps). It answers
# EVERY mail it receives, at once, to the mail's From address, with a
# new subject each time (no [Ticket#N], no In-Reply-To), so each of its
# answers looks like a new request to postdesk. Three behaviours, by the
# robot's own address:
#   naive@robot.test    no Auto-Submitted, its own envelope sender, and
#                       it drops our headers: only postdesk's rate limit
#                       (auto_ack_limit = 3 here) ends the exchange;
#   polite@robot.test   Auto-Submitted: auto-replied, null sender (RFC
#                       3834): postdesk never acknowledges its answers;
#   copycat@robot.test  copies our X-Postdesk-Loop header into its
#                       answers: postdesk recognises its own loop header.
# Each robot starts with one ordinary mail to helpdesk@desk.test.
# Expected: naive gets exactly 3 acknowledgements, polite and copycat
# exactly 1 each, and then the exchange stops (nothing new for 10 s).
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/outbound.sh"
pd_setup outbound_loop
ob_conf auto_ack_limit=3
pd_postfix_start
ROBOT_PORT=$(ob_free_port)
postconf -c "$PF/etc" -e "transport_maps = inline:{ robot.test=smtp:[127.0.0.1]:$ROBOT_PORT }" ||
    pd_die "postconf transport_maps failed"
postfix -c "$PF/etc" reload >/dev/null 2>&1
pd_lmtpd_start

cat >"$PD_DIR/robot.py" <<'PYEOF'
# robot.py PORT SMTP_PORT LOG - an auto-responder without loop protection
import email, email.utils, json, re, smtplib, socketserver, sys, threading

port, smtp_port, log_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
counter = [0]

def log(entry):
    with lock:
        with open(log_path, "a") as fp:
            fp.write(json.dumps(entry) + "\n")

def answer(robot, raw):
    msg = email.message_from_bytes(raw)
    to = email.utils.parseaddr(msg.get("From", ""))[1]
    with lock:
        counter[0] += 1
        n = counter[0]
    mode = robot.split("@")[0]
    log({"event": "received", "robot": robot, "from": to,
         "subject": msg.get("Subject", ""), "auto": msg.get("Auto-Submitted", ""),
         "loop": msg.get_all("X-Postdesk-Loop", [])})
    if not to:
        return
    lines = ["From: %s" % robot, "To: %s" % to,
             "Subject: Automatic answer %d from %s" % (n, mode),
             "Message-ID: <answer.%d.%s>" % (n, robot),
             "Date: %s" % email.utils.formatdate()]
    envelope = robot
    if mode == "polite":
        lines.append("Auto-Submitted: auto-replied")
        envelope = ""
    if mode == "copycat":
        for v in msg.get_all("X-Postdesk-Loop", []):
            lines.append("X-Postdesk-Loop: %s" % v)
    data = "\r\n".join(lines) + "\r\n\r\nI got your mail.\r\n"
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as s:
        s.sendmail(envelope, [to], data.encode())
    log({"event": "sent", "robot": robot, "to": to, "n": n})

class Handler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write((text + "\r\n").encode())
    def handle(self):
        self.reply("220 robot.test ESMTP")
        rcpts, todo = [], []
        while True:
            line = self.rfile.readline()
            if not line:
                break
            cmd = line.decode("latin-1").strip()
            up = cmd.upper()
            if up.startswith("EHLO") or up.startswith("HELO"):
                self.reply("250 robot.test")
            elif up.startswith("MAIL FROM:"):
                rcpts = []
                self.reply("250 2.1.0 Ok")
            elif up.startswith("RCPT TO:"):
                rcpts.append(re.sub(r"^RCPT TO:\s*<?([^>\s]*)>?.*$", r"\1", cmd, flags=re.I).lower())
                self.reply("250 2.1.5 Ok")
            elif up == "DATA":
                self.reply("354 go ahead")
                buf = []
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    buf.append(l[1:] if l.startswith(b"..") else l)
                self.reply("250 2.0.0 Ok")
                todo += [(r, b"".join(buf)) for r in rcpts]
            elif up == "QUIT":
                self.reply("221 2.0.0 Bye")
                break
            else:
                self.reply("250 2.0.0 Ok")
        for robot, raw in todo:
            threading.Thread(target=answer, args=(robot, raw)).start()

socketserver.ThreadingTCPServer.allow_reuse_address = True
with socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler) as srv:
    srv.serve_forever()
PYEOF
"$PD_PY" "$PD_DIR/robot.py" "$ROBOT_PORT" "$PD_SMTP_PORT" "$PD_DIR/robot.log" \
    >>"$PD_DIR/robot.out" 2>&1 </dev/null 9>&- &
pd_bg $!
pd_wait_for 10 pd_port_listening "$ROBOT_PORT" || pd_die "robot.py did not listen on $ROBOT_PORT"
: >>"$PD_DIR/robot.log"

# robot_count EVENT ROBOT - lines of robot.log
robot_count() {
    "$PD_PY" - "$PD_DIR/robot.log" "$1" "$2" <<'PYEOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    n += e["event"] == sys.argv[2] and e["robot"] == sys.argv[3]
print(n)
PYEOF
}

# activity - a fingerprint of everything that moves
activity() {
    echo "$(wc -l <"$PD_DIR/robot.log") $(ob_outbox_json | pd_json 'len(j)') $(pd_queue_count)"
}

# quiet SECONDS TIMEOUT - wait until nothing moved for SECONDS
quiet() {
    local last now since=$SECONDS end=$((SECONDS + $2))
    last=$(activity)
    while [ $SECONDS -lt $end ]; do
        sleep 1
        now=$(activity)
        if [ "$now" != "$last" ]; then
            last=$now
            since=$SECONDS
        elif [ $((SECONDS - since)) -ge "$1" ] && [ "$(pd_queue_count)" -eq 0 ] &&
            [ "$(pd_ctl outbox --json | pd_json 'len(j)')" = 0 ]; then
            return 0
        fi
    done
    return 1
}

for robot in naive polite copycat; do
    pd_send "$robot@robot.test" helpdesk@desk.test "Hello from $robot"
done
quiet 10 240 || pd_fail "the exchange did not stop within 240 s: $(activity)"

pd_expect_eq "naive robot: exactly auto_ack_limit (3) acknowledgements" 3 "$(robot_count received naive@robot.test)"
pd_expect_eq "polite robot (Auto-Submitted answers): 1 acknowledgement" 1 "$(robot_count received polite@robot.test)"
pd_expect_eq "copycat robot (our loop header): 1 acknowledgement" 1 "$(robot_count received copycat@robot.test)"
pd_expect_eq "naive robot answered each acknowledgement" 3 "$(robot_count sent naive@robot.test)"

outbox=$(ob_outbox_json)
pd_expect_eq "ack rows: 3 + 1 + 1" 5 "$(pd_json 'len([r for r in j if r["kind"] == "ack"])' <<<"$outbox")"
pd_expect_eq "every ack carried our loop header" 1 \
    "$("$PD_PY" -c 'import json,sys; e=[json.loads(l) for l in open(sys.argv[1])]; r=[x for x in e if x["event"]=="received"]; print(int(bool(r) and all("desk.test" in ",".join(x["loop"]) for x in r)))' "$PD_DIR/robot.log")"
pd_expect_eq "every ack was Auto-Submitted: auto-replied" 1 \
    "$("$PD_PY" -c 'import json,sys; e=[json.loads(l) for l in open(sys.argv[1])]; r=[x for x in e if x["event"]=="received"]; print(int(bool(r) and all(x["auto"]=="auto-replied" for x in r)))' "$PD_DIR/robot.log")"
pd_expect_eq "naive robot: 4 tickets (its first mail and 3 answers)" 4 \
    "$(pd_ctl list --json --customer naive@robot.test | pd_json 'len(j)')"
pd_expect_match "the daemon logged the rate limit" 'no acknowledgement to <naive@robot\.test>: rate limit' \
    "$(grep -E 'naive@robot\.test' "$PD_DIR/lmtpd.log")"
pd_log "tickets: naive $(pd_ctl list --json --customer naive@robot.test | pd_json 'len(j)'), polite $(pd_ctl list --json --customer polite@robot.test | pd_json 'len(j)'), copycat $(pd_ctl list --json --customer copycat@robot.test | pd_json 'len(j)')"

pd_lmtpd_stop
pd_expect_eq "daemon exit status" 0 "$PD_LMTPD_STATUS"
pd_finish
