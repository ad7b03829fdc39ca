#!/bin/bash
# t_outbound_relay - the outbox survives a relay that is down and a
# daemon killed while it sends.
#
# 1. Relay down: Postfix's submission listener (the outbox relay) is
#    switched off; two new tickets queue 2 acknowledgements and 4
#    notifications, which the sender tries and defers (connection
#    refused); postdeskctl outbox and status show them pending with the
#    error. The listener comes back; postdeskctl outbox retry requeues
#    every row and wakes the sender, so they go out at once rather than
#    after their back-off (one minute), each exactly once.
# 2. SIGKILL while sending: the submission listener is slowed down (a
#    one-second pause per recipient: "sleep 1"), six tickets queue 18 mails, the
#    daemon is killed with SIGKILL after the sink has seen a few, and
#    started again: every acknowledgement and notification is delivered
#    (nothing lost); a mail the relay had accepted just before the kill
#    may be delivered twice (at-least-once), at most one.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/outbound.sh"
pd_setup outbound_relay
ob_conf
pd_postfix_start
pd_lmtpd_start

# expected_pairs PREFIX - JSON list of [ticket, recipient] for every
# ticket whose customer starts with PREFIX: its requester and alice, bob
expected_pairs() {
    pd_ctl list --json | pd_json "sorted([t['number'], a] for t in j if t['customer'].startswith('$1') for a in (t['customer'], 'alice@agents.test', 'bob@agents.test'))"
}

# delivered_pairs PREFIX - JSON list of [ticket, recipient] of the mails
# the sink got for those tickets (one entry per mail, duplicates kept)
delivered_pairs() {
    local tickets
    tickets=$(pd_ctl list --json | pd_json "[t['number'] for t in j if t['customer'].startswith('$1')]")
    ob_mails | pd_json "sorted([n, r] for m in j for n in $tickets if '[Ticket#%s]' % n in (m['subject'] or '') for r in m['rcpts'])"
}

# 1. Relay down, then up.
ob_relay_off
pd_send down1@client.test helpdesk@desk.test "Relais en panne 1"
pd_send down2@client.test helpdesk@desk.test "Relais en panne 2"
pd_wait_queue_empty 60 || pd_fail "requests not delivered to the daemon"
tried() { [ "$(ob_outbox_json | pd_json 'int(len(j) == 6 and all(r["state"] == "pending" and r["attempts"] >= 1 and r["last_error"] for r in j))')" = 1 ]; }
pd_wait_for 30 tried || pd_fail "6 rows not tried and deferred within 30 s: $(pd_ctl outbox 2>&1 | tail -n 8)"
text=$(pd_ctl outbox)
pd_expect_match "postdeskctl outbox lists them pending" 'pending' "$text"
pd_expect_match "postdeskctl outbox shows the connection error" '[Cc]onnection refused|relay' "$text"
pd_expect_eq "postdeskctl outbox counts them" "6 mails" "$(tail -n 1 <<<"$text")"
pd_expect_match "status: outbox pending 6" 'outbox pending: +6' "$(pd_ctl status)"
pd_expect_match "sender logged deferred attempts" "status=deferred" "$(grep -E 'ack [0-9]+: to=<down1@' "$PD_DIR/lmtpd.log")"
pd_expect_eq "nothing reached the sink while the relay was down" 0 "$(ob_mails | pd_json 'len(j)')"

ob_relay_on
# The rows would wait for their back-off (60 s); postdeskctl outbox retry
# requeues them and wakes the sender at once.
pd_log "relay back; postdeskctl outbox retry for every row"
for id in $(ob_outbox_json | pd_json '" ".join(str(r["id"]) for r in j)'); do
    pd_expect_match "outbox retry $id" "queued for delivery now" "$(pd_ctl outbox retry "$id")"
done
ob_wait_outbox_sent 6 20 ||
    pd_fail "outbox not delivered within 20 s of outbox retry (the back-off is 60 s)"
exp=$(expected_pairs down)
got=$(delivered_pairs down)
pd_expect_eq "relay down/up: 6 expected mails" 6 "$(pd_json 'len(j)' <<<"$exp")"
pd_expect_eq "relay down/up: every mail delivered exactly once" "$exp" "$got"
pd_expect_eq "relay down/up: each row took 2 attempts or more" 1 \
    "$(ob_outbox_json | pd_json 'int(all(r["attempts"] >= 2 for r in j))')"
pd_expect_match "status: outbox pending 0" 'outbox pending: +0' "$(pd_ctl status)"

# 2. SIGKILL while the outbox is sending.
postconf -c "$PF/etc" -P "127.0.0.1:$PD_SUB_PORT/inet/smtpd_recipient_restrictions=sleep,1" ||
    pd_die "cannot slow down the submission listener"
postfix -c "$PF/etc" reload >/dev/null 2>&1
sleep 1
before=$(ob_mails | pd_json 'len(j)')
for i in 1 2 3 4 5 6; do
    pd_send "kill$i@client.test" helpdesk@desk.test "Avant le crash $i" || break
done
pd_wait_queue_empty 60 || pd_fail "kill: requests not delivered to the daemon"
some_sent() { [ "$(ob_mails | pd_json 'len(j)')" -ge $((before + 3)) ]; }
if pd_wait_for 60 some_sent; then
    pd_lmtpd_kill9
    pd_log "killed postdesk-lmtpd with $(($(ob_mails | pd_json 'len(j)') - before)) of 18 mails at the sink"
else
    pd_fail "kill: the sink saw fewer than 3 mails within 60 s; killing anyway"
    pd_lmtpd_kill9
fi
pending=$(ob_outbox_json 2>/dev/null | pd_json 'len([r for r in j if r["state"] == "pending"])')
pd_log "after the kill: $pending rows pending"
postconf -c "$PF/etc" -X -P "127.0.0.1:$PD_SUB_PORT/inet/smtpd_recipient_restrictions" ||
    pd_fail "cannot restore the submission listener"
postfix -c "$PF/etc" reload >/dev/null 2>&1
pd_lmtpd_start
ob_wait_outbox_sent 24 150 || pd_fail "kill: outbox not delivered within 150 s of the restart"
exp=$(expected_pairs kill)
got=$(delivered_pairs kill)
pd_expect_eq "kill: 18 expected mails" 18 "$(pd_json 'len(j)' <<<"$exp")"
pd_expect_eq "kill: nothing lost" "[]" \
    "$(pd_json "[p for p in $exp if p not in j]" <<<"$got")"
dups=$(pd_json "len(j) - len(set(map(tuple, j)))" <<<"$got")
pd_log "kill: $dups duplicate(s) (at-least-once)"
pd_expect_eq "kill: at most one mail delivered twice" 1 "$([ "$dups" -le 1 ] && echo 1 || echo 0)"
pd_expect_eq "kill: nothing delivered that was not expected" "[]" \
    "$(pd_json "[p for p in j if p not in $exp]" <<<"$got")"
pd_expect_eq "kill: every row sent" 1 \
    "$(ob_outbox_json | pd_json 'int(all(r["state"] == "sent" for r in j))')"

pd_lmtpd_stop
pd_expect_eq "daemon exit status" 0 "$PD_LMTPD_STATUS"
pd_finish
