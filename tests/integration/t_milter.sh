#!/bin/bash
# t_milter - postdesk-milter in a real Postfix smtpd, driven with swaks:
# - an unknown address in the dedicated domain is refused at RCPT (550
#   5.1.1) while a queue address in the same transaction is accepted;
# - in the shared domain, a person's address passes untouched (headers
#   included) while the queue address there reaches postdesk;
# - a forged or expired signed address is refused at RCPT, a valid one
#   passes; unknown recipients of another dedicated domain are refused;
# - our own X-Postdesk-Loop, or too many Received headers: 554 5.4.6;
#   other X-Postdesk-* headers and Authentication-Results claiming our
#   authserv-id are stripped before the mail is stored;
# - a declared SIZE= above max_message_size: 552 5.3.4 at MAIL;
# - a sender over its hourly rate gets 451 4.7.1 (signed addresses not);
# - SIGHUP loads a new key (old tokens refused) and keeps the running
#   configuration when the new file is bad;
# - with the milter stopped, Postfix tempfails instead of accepting mail
#   unfiltered; restarted, mail flows again.
PD_WITH_MILTER=1
. "$(dirname "$0")/lib.sh" "$@"
pd_setup milter

PD_CONF_EXTRA='
[queue Shared]
addresses = help@uni.test
group = helpdesk'
# [postdesk] keys of the milter, inserted right after the section line
MILTER_KEYS='dedicated_domains = tickets.test
instance = desk.test
authserv_id = mx.desk.test
milter_max_received = 8
milter_rate_sender = 3
milter_rate_client = 0'
write_conf() {
    pd_write_conf
    "$PD_PY" - "$PD_CONF" "$MILTER_KEYS" <<'PYEOF'
import sys
path, keys = sys.argv[1], sys.argv[2]
text = open(path).read().replace("[postdesk]\n", "[postdesk]\n" + keys + "\n", 1)
open(path, "w").write(text)
PYEOF
}
write_conf
# help@uni.test (a queue address in a shared domain) goes to postdesk;
# everyone else at uni.test goes on (here: to the sink).
PD_POSTFIX_EXTRA="transport_maps=inline:{help@uni.test=lmtp:$PD_LISTEN}"
pd_postfix_start
pd_lmtpd_start
pd_milter_start

# token [DAYS_AGO] [SECRET_FILE] - a signed command token (sigaddr.h layout)
token() {
    "$PD_PY" - "${1:-0}" "${2:-$PD_DIR/secret}" <<'PYEOF'
import base64, hashlib, hmac, struct, sys, time
days_ago, path = int(sys.argv[1]), sys.argv[2]
key = open(path, "rb").read()
agent = int.from_bytes(hashlib.sha256(b"alice").digest()[:4], "big")
day = (int(time.time()) - 1577836800) // 86400 - days_ago
payload = struct.pack(">BBIQHH", 1, 0, agent, 2026112710000017, 1, day)
mac = hmac.new(key, payload, hashlib.sha256).digest()[:10]
print(base64.b32encode(payload + mac).decode().rstrip("=").lower())
PYEOF
}

# smtp OUTVAR FROM TO [swaks args...] - one swaks session through the
# smtpd with the milter; the transcript goes to OUTVAR and swaks.log
smtp() {
    local __var=$1 __from=$2 __to=$3 __out
    shift 3
    __out=$(timeout 60 swaks --server "127.0.0.1:$PD_SMTP_PORT" --helo client.test \
        --from "$__from" --to "$__to" "$@" 2>&1)
    {
        echo "=== smtp $__from -> $__to $*"
        printf '%s\n' "$__out"
    } >>"$PD_DIR/swaks.log"
    printf -v "$__var" '%s' "$__out"
}

# rcpt_reply TRANSCRIPT ADDR - the reply code to RCPT TO:<ADDR>
rcpt_reply() {
    printf '%s\n' "$1" | awk -v a="RCPT TO:<$2>" '
        found && /^ *<[-*~]/ { print $2; exit }
        index($0, a) { found = 1 }'
}

# data_reply TRANSCRIPT - the reply code after the message's final dot
data_reply() {
    printf '%s\n' "$1" | awk '
        /^ *~?>  *\.$/ || /^ *-> *\.$/ { found = 1; next }
        found && /^ *<[-*~]/ { print $2; exit }'
}

# ticket_count - tickets in the store
ticket_count() { pd_ctl list --json | pd_json 'len(j)'; }

# ticket_by_subject SUBJECT - the number of the ticket with that title
ticket_by_subject() {
    pd_ctl list --json | pd_json "[t['number'] for t in j if t['title'] == '$1'][0] if [t for t in j if t['title'] == '$1'] else ''"
}

# 1. Dedicated domain: an unknown recipient is refused at RCPT, the queue
#    address beside it is accepted and the mail becomes a ticket.
smtp out requester@example.com nobody@desk.test,helpdesk@desk.test \
    --header "Subject: mixed recipients" --body "Hello"
pd_expect_eq "unknown address in the dedicated domain: 550 at RCPT" 550 \
    "$(rcpt_reply "$out" nobody@desk.test)"
pd_expect_match "with 5.1.1" "550[ -]5\.1\.1" "$out"
pd_expect_eq "queue address in the same transaction: 250 at RCPT" 250 \
    "$(rcpt_reply "$out" helpdesk@desk.test)"
pd_expect_eq "the mail was accepted" 250 "$(data_reply "$out")"
pd_wait_queue_empty 60 || pd_fail "Postfix queue not empty"
pd_expect_match "the mail became a ticket" '^[0-9]{12,}' "$(ticket_by_subject 'mixed recipients')"
pd_expect_match "Postfix logged the milter's refusal" \
    "milter-reject: RCPT from .*550 5\.1\.1" "$(cat "$PF/maillog")"
pd_expect_match "the milter's log line starts with the queue id or NOQUEUE" \
    "^postdesk-milter: ([0-9A-F]{6,}|NOQUEUE): to=<nobody@desk.test>, .*reject=550 5\.1\.1 \(unknown address\)" \
    "$(cat "$PD_DIR/milter.log")"
pd_expect_match "the accepted recipient is logged" \
    "^postdesk-milter: ([0-9A-F]{6,}|NOQUEUE): to=<helpdesk@desk.test>, .*accept \(queue address\)" \
    "$(cat "$PD_DIR/milter.log")"
qid=$(grep -oE 'smtpd\[[0-9]+\]: [0-9A-F]{6,}: client=' "$PF/maillog" | head -n 1 |
    sed -E 's/.*: ([0-9A-F]+): client=/\1/')
pd_expect_match "the end of the message is logged with Postfix's queue id ($qid)" \
    "^postdesk-milter: $qid: from=<requester@example.com>, client=127.0.0.1, accepted for 1 postdesk recipient" \
    "$(cat "$PD_DIR/milter.log")"

# A dedicated domain other than the signed addresses' one.
smtp out requester@example.com ghost@tickets.test --quit-after RCPT
pd_expect_eq "unknown address in dedicated_domains: 550 at RCPT" 550 \
    "$(rcpt_reply "$out" ghost@tickets.test)"

# 2. Shared domain: a person's mail passes untouched, even with markings
#    and many Received headers; the queue address there reaches postdesk.
received=""
for i in $(seq 1 12); do received="$received --add-header 'Received: from hop$i.example by hop$((i + 1)).example; Fri, 27 Nov 2026 10:00:00 +0000'"; done
eval "smtp out requester@example.com bob@uni.test --header 'Subject: for bob' \
    --add-header 'X-Postdesk-Queue: Network' --add-header 'X-Postdesk-Loop: desk.test' \
    --add-header 'Authentication-Results: mx.desk.test; spf=pass' $received --body 'Hi Bob'"
pd_expect_eq "a person in the shared domain: 250 at RCPT" 250 "$(rcpt_reply "$out" bob@uni.test)"
pd_expect_eq "a person's mail is accepted (no loop check)" 250 "$(data_reply "$out")"
pd_wait_queue_empty 60 || pd_fail "Postfix queue not empty"
bobfile=$(grep -l "Subject: for bob" "$PD_DIR"/outbound/* 2>/dev/null | head -n 1)
pd_expect_match "bob's mail left through the relay" "." "$bobfile"
if [ -n "$bobfile" ]; then
    pd_expect_match "its X-Postdesk-Queue header is untouched" "^X-Postdesk-Queue: Network" "$(cat "$bobfile")"
    pd_expect_match "its Authentication-Results header is untouched" \
        "^Authentication-Results: mx.desk.test; spf=pass" "$(cat "$bobfile")"
fi
smtp out shared@example.com help@uni.test --header "Subject: shared queue" --body "Help"
pd_expect_eq "a queue address in the shared domain: 250 at RCPT" 250 "$(rcpt_reply "$out" help@uni.test)"
pd_wait_queue_empty 60 || pd_fail "Postfix queue not empty"
n=$(ticket_by_subject 'shared queue')
pd_expect_match "it became a ticket" '^[0-9]{12,}' "$n"
[ -n "$n" ] && pd_expect_eq "in the queue of that address" Shared "$(pd_ctl show "$n" --json | pd_json "j['queue']")"

# 3. Signed command addresses: forged, expired, valid.
good=$(token 0)
expired=$(token 40)
forged=$(printf '%s' "$good" | cut -c1-20)$(printf '%s' "$good" | cut -c21 | tr 'a-z2-7' 'b-z2-7a')$(printf '%s' "$good" | cut -c22-)
random=$(head -c 28 /dev/urandom | base32 | tr -d '=' | tr 'A-Z' 'a-z' | cut -c1-45)
smtp out agent@example.com "desk+$forged@desk.test" --quit-after RCPT
pd_expect_eq "a tampered token: 550 at RCPT" 550 "$(rcpt_reply "$out" "desk+$forged@desk.test")"
smtp out agent@example.com "desk+$random@desk.test" --quit-after RCPT
pd_expect_eq "a random token: 550 at RCPT" 550 "$(rcpt_reply "$out" "desk+$random@desk.test")"
smtp out agent@example.com "desk+$expired@desk.test" --quit-after RCPT
pd_expect_eq "an expired token: 550 at RCPT" 550 "$(rcpt_reply "$out" "desk+$expired@desk.test")"
smtp out agent@example.com "desk+$good@desk.test" --quit-after RCPT
pd_expect_eq "a valid token: 250 at RCPT" 250 "$(rcpt_reply "$out" "desk+$good@desk.test")"
upper=$(printf '%s' "$good" | tr 'a-z' 'A-Z')
smtp out agent@example.com "DESK+$upper@DESK.TEST" --quit-after RCPT
pd_expect_eq "a valid token in upper case: 250 at RCPT" 250 "$(rcpt_reply "$out" "DESK+$upper@DESK.TEST")"
pd_expect_eq "unknown, forged and expired get the same reply text" 1 \
    "$(grep -o '550 5\.1\.1 .*' "$PD_DIR/swaks.log" | sort -u | wc -l)"

# 4. Loops and smuggled markings.
before=$(ticket_count)
smtp out loop1@example.com helpdesk@desk.test --header "Subject: own loop" \
    --add-header "X-Postdesk-Loop: desk.test" --body "loop"
pd_expect_eq "our own X-Postdesk-Loop: refused after DATA" 554 "$(data_reply "$out")"
pd_expect_match "with 5.4.6" "554[ -]5\.4\.6" "$out"
eval "smtp out loop2@example.com helpdesk@desk.test --header 'Subject: many hops' \
    $(for i in 1 2 3 4 5 6 7 8 9; do printf "%s " "--add-header 'Received: from h$i by h$((i + 1))'"; done) --body 'hops'"
pd_expect_eq "9 Received headers (limit 8): refused after DATA" 554 "$(data_reply "$out")"
smtp out loop3@example.com helpdesk@desk.test --header "Subject: smuggled markings" \
    --add-header "X-Postdesk-Loop: other-desk.example" \
    --add-header "X-Postdesk-Queue: Network" \
    --add-header "x-postdesk-priority: 5" \
    --add-header "Authentication-Results: mx.desk.test; spf=pass smtp.mailfrom=boss@example.com" \
    --add-header "Authentication-Results: other.example; spf=fail" \
    --add-header "Authentication-Results: MX.DESK.TEST 1; dkim=pass" \
    --body "markings"
pd_expect_eq "another instance's loop header: accepted" 250 "$(data_reply "$out")"
pd_wait_queue_empty 60 || pd_fail "Postfix queue not empty"
pd_expect_eq "the two loops made no ticket, the markings one did" $((before + 1)) "$(ticket_count)"
n=$(ticket_by_subject 'smuggled markings')
if [ -n "$n" ]; then
    raw=$(pd_ctl raw "$n")
    pd_expect_match "the stored message is there" "Subject: smuggled markings" "$raw"
    if printf '%s' "$raw" | grep -qi '^X-Postdesk-'; then
        pd_fail "X-Postdesk-* headers reached the store: $(printf '%s' "$raw" | grep -i '^X-Postdesk-')"
    else
        pd_pass "every X-Postdesk-* header was stripped"
    fi
    if printf '%s' "$raw" | grep -qi '^Authentication-Results: mx\.desk\.test'; then
        pd_fail "an Authentication-Results claiming mx.desk.test reached the store"
    else
        pd_pass "Authentication-Results claiming our authserv-id were stripped"
    fi
    pd_expect_match "other Authentication-Results are kept" \
        "^Authentication-Results: other.example; spf=fail" "$raw"
    pd_expect_eq "the queue is the recipient's, not the smuggled one" Helpdesk \
        "$(pd_ctl show "$n" --json | pd_json "j['queue']")"
else
    pd_fail "no ticket for 'smuggled markings'"
fi
pd_expect_match "the milter logged the stripping" "stripped 5 header" "$(cat "$PD_DIR/milter.log")"

# 5. SIZE= above max_message_size: 552 5.3.4 at MAIL.
out=$("$PD_PY" - "$PD_SMTP_PORT" <<'PYEOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.test")
print(s.mail("big@example.com", ["SIZE=99999999"]))
s.rset()
print(s.mail("small@example.com", ["SIZE=1000"]))
s.quit()
PYEOF
)
pd_expect_match "SIZE= above max_message_size: 552 5.3.4 at MAIL" "^\(552, b'5\.3\.4" "$out"
pd_expect_match "SIZE= below it: 250 at MAIL" "^\(250, " "$(printf '%s\n' "$out" | sed -n 2p)"

# 6. Rate limit: 3 new mails an hour per sender (each section above used
#    its own sender).
for i in 1 2 3; do
    smtp out flood@example.com helpdesk@desk.test --header "Subject: flood $i" --body "flood"
    pd_expect_eq "flood mail $i accepted" 250 "$(rcpt_reply "$out" helpdesk@desk.test)"
done
smtp out flood@example.com helpdesk@desk.test --header "Subject: flood 4" --body "flood"
pd_expect_eq "the 4th mail within the hour: 451 at RCPT" 451 "$(rcpt_reply "$out" helpdesk@desk.test)"
pd_expect_match "with 4.7.1" "451[ -]4\.7\.1" "$out"
smtp out flood@example.com "desk+$good@desk.test" --quit-after RCPT
pd_expect_eq "the same sender to a signed address: not limited" 250 \
    "$(rcpt_reply "$out" "desk+$good@desk.test")"
smtp out someone.else@example.com helpdesk@desk.test --quit-after RCPT
pd_expect_eq "another sender: not limited" 250 "$(rcpt_reply "$out" helpdesk@desk.test)"
pd_wait_queue_empty 60 || pd_fail "Postfix queue not empty"

# 7. SIGHUP: a new key revokes the old tokens; a bad file changes nothing.
cp "$PD_DIR/secret" "$PD_DIR/secret.old"
openssl rand -hex 32 >"$PD_DIR/secret.new"
chown postdesk "$PD_DIR/secret.new"
chmod 600 "$PD_DIR/secret.new"
mv "$PD_DIR/secret.new" "$PD_DIR/secret"
kill -HUP "$PD_MILTER_PID"
pd_wait_for 10 grep -q "new configuration and key in effect" "$PD_DIR/milter.log" &&
    pd_pass "reload logged" || pd_fail "no reload line in milter.log"
newgood=$(token 0)
smtp out agent@example.com "desk+$good@desk.test" --quit-after RCPT
pd_expect_eq "after the key changed, the old token: 550" 550 "$(rcpt_reply "$out" "desk+$good@desk.test")"
smtp out agent@example.com "desk+$newgood@desk.test" --quit-after RCPT
pd_expect_eq "and a token of the new key: 250" 250 "$(rcpt_reply "$out" "desk+$newgood@desk.test")"
chmod 644 "$PD_DIR/secret"
kill -HUP "$PD_MILTER_PID"
pd_wait_for 10 grep -q "reload: keeping the running configuration and key" "$PD_DIR/milter.log" &&
    pd_pass "a world-readable key file is refused at reload" || pd_fail "no refusal logged"
pd_expect_match "the refusal names the mode" "mode 0644" "$(cat "$PD_DIR/milter.log")"
chmod 600 "$PD_DIR/secret"
smtp out agent@example.com "desk+$newgood@desk.test" --quit-after RCPT
pd_expect_eq "the running key still works" 250 "$(rcpt_reply "$out" "desk+$newgood@desk.test")"
pd_pid_alive "$PD_MILTER_PID" && pd_pass "milter alive after a bad reload" || pd_fail "milter died"

# 8. Milter stopped: Postfix tempfails, nothing is accepted unfiltered.
pd_milter_stop
pd_expect_eq "SIGTERM: exit 0" 0 "$PD_MILTER_STATUS"
before=$(ticket_count)
smtp out stopped@example.com helpdesk@desk.test --header "Subject: while stopped" --body "x"
pd_expect_match "without the milter Postfix answers 451 4.7.1" "<\*\* *451 4\.7\.1" "$out"
if printf '%s\n' "$out" | grep -q '^ *<- *250 2\.0\.0 Ok: queued'; then
    pd_fail "Postfix queued mail while the milter was down"
else
    pd_pass "no mail queued while the milter was down"
fi
pd_milter_start
smtp out restart@example.com helpdesk@desk.test --header "Subject: after restart" --body "x"
pd_expect_eq "restarted: mail accepted again" 250 "$(data_reply "$out")"
pd_wait_queue_empty 60 || pd_fail "Postfix queue not empty"
pd_expect_eq "one new ticket, none for the refused mail" $((before + 1)) "$(ticket_count)"

pd_milter_stop
pd_expect_eq "SIGTERM: exit 0 (again)" 0 "$PD_MILTER_STATUS"
pd_lmtpd_stop
pd_finish
