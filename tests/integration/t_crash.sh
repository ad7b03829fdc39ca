#!/bin/bash
# t_crash - durability and deduplication across SIGKILL: PD_CRASH_COUNT
# (300) mails go through Postfix while postdesk-lmtpd is killed with
# SIGKILL PD_CRASH_KILLS (4) times and restarted. Afterwards every mail is
# in the store exactly once (one ticket per subject) and Postfix's queue
# is empty: nothing lost (Postfix retries what got no 250), nothing
# doubled (a mail committed just before the kill, whose 250 never reached
# Postfix, is delivered again and must be recognised).
. "$(dirname "$0")/lib.sh" "$@"
COUNT=${PD_CRASH_COUNT:-300}
KILLS=${PD_CRASH_KILLS:-4}
pd_setup crash
pd_postfix_start
pd_lmtpd_start

tag=c$$x$(date +%s)
# One SMTP connection, a unique Message-ID and subject per mail, about 50
# mails a second for 6 s, so that the kills below fall within the flow.
"$PD_PY" - "$PD_SMTP_PORT" "$COUNT" "$tag" >"$PD_DIR/sender.log" 2>&1 9>&- <<'PYEOF' &
import smtplib, sys, time
from email.message import EmailMessage
port, count, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=60)
for i in range(count):
    m = EmailMessage()
    m["From"] = "user%03d@client.test" % (i % 17)
    m["To"] = "helpdesk@desk.test"
    m["Subject"] = "crash %s %03d" % (tag, i)
    m["Message-ID"] = "<%s.%03d@client.test>" % (tag, i)
    m["Date"] = "Sat, 28 Nov 2026 10:00:00 +0000"
    m.set_content("Mail %d of %d in the crash test.\n" % (i, count))
    s.send_message(m)
    time.sleep(6.0 / count)
s.quit()
print("sent", count)
PYEOF
sender=$!
pd_bg "$sender"

# rand_sleep MIN_MS SPAN_MS - sleep MIN..MIN+SPAN milliseconds
rand_sleep() {
    sleep "$(awk -v ms=$(($1 + RANDOM % ($2 + 1))) 'BEGIN { printf "%.3f", ms / 1000 }')"
}
# The first kill hits the steady flow. Each later one comes right after a
# restart and a flush, while Postfix pushes the mail that queued up while
# the daemon was down (several sessions, mail between DATA and its reply).
rand_sleep 300 700
pd_log "kill -9 #1 (queued: $(pd_queue_count))"
pd_lmtpd_kill9
for k in $(seq 2 "$KILLS"); do
    rand_sleep 200 400
    pd_lmtpd_start
    pd_flush
    rand_sleep 0 150
    pd_log "kill -9 #$k (queued: $(pd_queue_count))"
    pd_lmtpd_kill9
done
rand_sleep 100 300
pd_lmtpd_start

if pd_wait_pid_gone "$sender" 120; then
    wait "$sender"
    pd_expect_eq "sender submitted all mail" 0 $?
else
    kill -TERM "$sender"
    wait "$sender"
    pd_fail "sender did not finish in 120 s: $(tail -n 3 "$PD_DIR/sender.log")"
fi

pd_flush
pd_expect_ok "Postfix queue empty" pd_wait_queue_empty 240

list=$(pd_ctl list --json)
verdict=$("$PD_PY" -c '
import collections, json, sys
count, tag = int(sys.argv[1]), sys.argv[2]
tickets = json.load(sys.stdin)
titles = collections.Counter(t.get("title") for t in tickets)
want = ["crash %s %03d" % (tag, i) for i in range(count)]
missing = [w for w in want if titles[w] == 0]
doubled = [w for w in want if titles[w] > 1]
extra = [t for t in titles if t not in set(want)]
print("tickets=%d missing=%d doubled=%d extra=%d first_missing=%s first_doubled=%s"
      % (len(tickets), len(missing), len(doubled), len(extra),
         missing[:3], doubled[:3]))
' "$COUNT" "$tag" <<<"$list")
pd_expect_eq "every mail stored exactly once" \
    "tickets=$COUNT missing=0 doubled=0 extra=0 first_missing=[] first_doubled=[]" "$verdict"

# A few tickets in detail: one article each, the right Message-ID.
for i in 0 $((COUNT / 2)) $((COUNT - 1)); do
    sub=$(printf 'crash %s %03d' "$tag" "$i")
    n=$(pd_json "[t['number'] for t in j if t['title'] == '$sub'][0] if any(t['title'] == '$sub' for t in j) else ''" <<<"$list")
    [ -n "$n" ] || { pd_fail "no ticket titled '$sub'"; continue; }
    pd_expect_eq "'$sub': one mail stored, its Message-ID" "1 $tag.$(printf %03d "$i")@client.test" \
        "$(pd_ctl show "$n" --json | pd_json '"%d %s" % (len([a for a in j["articles"] if a["sender_type"] == "customer"]), j["articles"][0]["message_id"].strip("<>"))')"
done
pd_expect_eq "Postfix queue still empty" 0 "$(pd_queue_count)"
# "lost connection ... while sending end of data": a kill between the end
# of DATA and the replies; the mail may have been committed, and its retry
# must not store it twice. How often that happened depends on timing.
pd_log "Postfix: $(grep -c 'status=sent' "$PF/maillog") sent," \
    "$(grep -c 'status=deferred' "$PF/maillog") deferred, of which" \
    "$(grep -c 'status=deferred (lost connection .*end of data' "$PF/maillog")" \
    "killed between end of data and the replies"

pd_lmtpd_stop 60
pd_expect_eq "SIGTERM: exit status 0" 0 "$PD_LMTPD_STATUS"
pd_finish
