#!/bin/bash
# t_outbound - outbound mail through real Postfix: a new ticket produces
# exactly one acknowledgement to the requester and one notification per
# subscribed agent who may work the queue, with the headers of DESIGN.md
# (Message-ID in the postdesk domain, Auto-Submitted, X-Postdesk-Loop,
# [Ticket#N] in the subject, In-Reply-To/References, null envelope
# sender, signed Reply-To on agent mail); an out-of-office reply from the
# requester produces no acknowledgement and no state change; an
# automatic mail that opens a ticket is not acknowledged either.
#
# The outbox sender submits to Postfix's submission listener
# (PD_SUB_PORT, no milter); Postfix relays everything outside desk.test
# to the smtp-sink, whose files in PD_DIR/outbound keep the envelope
# (X-Mail-Args: the MAIL FROM address, X-Rcpt-Args: the recipients).
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/outbound.sh"
pd_setup outbound
ob_conf
pd_postfix_start
pd_lmtpd_start

tag=$$.$(date +%s)
req="<req.$tag@client.test>"

# 1. A new ticket.
pd_send marie@client.test helpdesk@desk.test "Imprimante en panne" \
    --header "Message-Id: $req" --header "From: Marie Dupont <marie@client.test>"
pd_wait_queue_empty 60 || pd_fail "request not delivered to the daemon"
list=$(pd_ctl list --json)
pd_expect_eq "one ticket" 1 "$(pd_json 'len(j)' <<<"$list")"
N=$(pd_json 'j[0]["number"] if j else ""' <<<"$list")

# The ack and the notifications of alice and bob: three rows, all sent.
ob_wait_outbox_sent 3 60 || pd_fail "outbox did not send 3 rows within 60 s"
outbox=$(ob_outbox_json)
pd_expect_eq "outbox: 3 rows" 3 "$(pd_json 'len(j)' <<<"$outbox")"
pd_expect_eq "outbox kinds" '["ack", "new-ticket", "new-ticket"]' \
    "$(pd_json 'sorted(r["kind"] for r in j)' <<<"$outbox")"
pd_expect_eq "outbox: every row sent at the first attempt" 1 \
    "$(pd_json 'int(all(r["state"] == "sent" and r["attempts"] == 1 for r in j))' <<<"$outbox")"
pd_expect_eq "outbox rows point at the ticket" 1 \
    "$(pd_json "int(all(r['ticket'] == '$N' for r in j))" <<<"$outbox")"

mails=$(ob_mails)
pd_expect_eq "exactly 3 mails left Postfix" 3 "$(pd_json 'len(j)' <<<"$mails")"
pd_expect_eq "one mail to the requester" 1 \
    "$(pd_json "len([m for m in j if 'marie@client.test' in m['rcpts']])" <<<"$mails")"
pd_expect_eq "one mail to alice" 1 \
    "$(pd_json "len([m for m in j if 'alice@agents.test' in m['rcpts']])" <<<"$mails")"
pd_expect_eq "one mail to bob" 1 \
    "$(pd_json "len([m for m in j if 'bob@agents.test' in m['rcpts']])" <<<"$mails")"
pd_expect_eq "none to carol (other queue), dave (not subscribed), frank (notify: follow-up only)" 0 \
    "$(pd_json "len([m for m in j if set(m['rcpts']) & {'carol@agents.test', 'dave@agents.test', 'frank@agents.test'}])" <<<"$mails")"
pd_expect_eq "null envelope sender on every mail" '[""]' \
    "$(pd_json 'sorted(set(m["sender"] for m in j))' <<<"$mails")"
pd_expect_eq "Message-ID in the postdesk domain on every mail" 1 \
    "$(pd_json 'int(all(m["message_id"].startswith("<") and m["message_id"].endswith("@desk.test>") for m in j))' <<<"$mails")"
pd_expect_eq "X-Postdesk-Loop names the instance on every mail" 1 \
    "$(pd_json 'int(all("desk.test" in m["loop"] for m in j))' <<<"$mails")"
pd_expect_eq "[Ticket#N] in every subject" 1 \
    "$(pd_json "int(all('[Ticket#$N]' in (m['subject'] or '') for m in j))" <<<"$mails")"

ack=$(pd_json "[m for m in j if 'marie@client.test' in m['rcpts']][:1]" <<<"$mails")
pd_expect_eq "ack: Auto-Submitted: auto-replied" auto-replied \
    "$(pd_json 'j[0]["auto_submitted"] if j else ""' <<<"$ack")"
pd_expect_match "ack: from the queue address" 'helpdesk@desk\.test' \
    "$(pd_json 'j[0]["from"] if j else ""' <<<"$ack")"
pd_expect_eq "ack: In-Reply-To the request" "$req" \
    "$(pd_json 'j[0]["in_reply_to"] if j else ""' <<<"$ack")"
pd_expect_match "ack: References the request" "$(printf '%s' "$req" | sed 's/[.]/\\./g')" \
    "$(pd_json 'j[0]["references"] if j else ""' <<<"$ack")"
pd_expect_match "ack: subject [Ticket#N] <title>" "^\[Ticket#$N\] Imprimante en panne\$" \
    "$(pd_json 'j[0]["subject"] if j else ""' <<<"$ack")"
pd_expect_match "ack: French text with the number (default language)" "$N" \
    "$(pd_json 'j[0]["body"] if j else ""' <<<"$ack")"

note_a=$(pd_json "[m for m in j if 'alice@agents.test' in m['rcpts']][:1]" <<<"$mails")
note_b=$(pd_json "[m for m in j if 'bob@agents.test' in m['rcpts']][:1]" <<<"$mails")
pd_expect_eq "notification: Auto-Submitted: auto-generated" "auto-generated auto-generated" \
    "$(pd_json 'j[0]["auto_submitted"] if j else ""' <<<"$note_a") $(pd_json 'j[0]["auto_submitted"] if j else ""' <<<"$note_b")"
pd_expect_match "notification to alice: signed Reply-To in desk.test" 'desk\+[^@ ]+@desk\.test' \
    "$(pd_json 'j[0]["reply_to"] or "" if j else ""' <<<"$note_a")"
pd_expect_match "notification to bob: signed Reply-To in desk.test" 'desk\+[^@ ]+@desk\.test' \
    "$(pd_json 'j[0]["reply_to"] or "" if j else ""' <<<"$note_b")"
pd_expect_eq "alice's and bob's Reply-To differ (per agent)" 1 \
    "$(pd_json 'int(j[0]["reply_to"] != j[1]["reply_to"]) if len(j) == 2 else 0' \
        <<<"[$(pd_json 'j[0] if j else {}' <<<"$note_a"),$(pd_json 'j[0] if j else {}' <<<"$note_b")]")"
pd_expect_match "notification to alice in French" 'Un nouveau ticket' \
    "$(pd_json 'j[0]["body"] if j else ""' <<<"$note_a")"
pd_expect_match "notification to bob in English" 'A new ticket' \
    "$(pd_json 'j[0]["body"] if j else ""' <<<"$note_b")"
pd_expect_match "notification quotes the request" 'Test: Imprimante en panne' \
    "$(pd_json 'j[0]["body"] if j else ""' <<<"$note_a")"

# Postfix's side: the submission listener got them with MAIL FROM:<>.
pd_expect_eq "maillog: 3 submissions from=<>" 3 \
    "$(grep -E 'postfix-t_outbound/qmgr.*: from=<>, ' "$PF/maillog" | grep -c .)"
pd_expect_eq "maillog: no bounce" 0 "$(grep -c 'status=bounced' "$PF/maillog")"

# The acknowledgement is a system article of the ticket, already read.
show=$(pd_ctl show "$N" --json)
pd_expect_eq "ticket has 2 articles (request, ack)" 2 "$(pd_json 'len(j["articles"])' <<<"$show")"
pd_expect_eq "article 2 is a system article, seen" "system True" \
    "$(pd_json '"%s %s" % (j["articles"][1]["sender_type"], j["articles"][1]["seen"]) if len(j["articles"]) > 1 else ""' <<<"$show")"
state_before=$(pd_json 'j["state"]' <<<"$show")

# 2. An out-of-office reply from the requester, to the acknowledgement:
# no acknowledgement, no state change.
ack_mid=$(pd_json 'j[0]["message_id"] if j else ""' <<<"$ack")
pd_send '<>' helpdesk@desk.test "RE: [Ticket#$N] Imprimante en panne" \
    --header "From: Marie Dupont <marie@client.test>" \
    --header "Auto-Submitted: auto-replied" \
    --header "X-Autoreply: yes" \
    --header "In-Reply-To: $ack_mid" \
    --body "Je suis absente jusqu'au 4 janvier."
pd_wait_queue_empty 60 || pd_fail "out-of-office reply not delivered"
show=$(pd_ctl show "$N" --json)
pd_expect_eq "out-of-office reply threaded into ticket $N" 3 "$(pd_json 'len(j["articles"])' <<<"$show")"
pd_expect_eq "no state change" "$state_before" "$(pd_json 'j["state"]' <<<"$show")"
sleep 3
outbox=$(ob_outbox_json)
pd_expect_eq "no new acknowledgement row" 1 "$(pd_json 'len([r for r in j if r["kind"] == "ack"])' <<<"$outbox")"
pd_wait_for 30 ob_outbox_all_sent 1 || pd_fail "outbox has unsent rows after the out-of-office reply"
pd_wait_queue_empty 60
pd_expect_eq "still one mail to the requester" 1 "$(ob_count_to marie@client.test)"
pd_log "notifications after the out-of-office reply: $(pd_json '[r["kind"] for r in j if r["kind"] != "ack"]' <<<"$outbox")"

# 3. An automatic mail without a ticket reference: a ticket, no ack.
pd_send robot@client.test helpdesk@desk.test "Rapport quotidien" \
    --header "Auto-Submitted: auto-generated" --header "Precedence: bulk"
pd_wait_queue_empty 60 || pd_fail "automatic mail not delivered"
pd_expect_eq "automatic mail opened a ticket" 1 \
    "$(pd_ctl list --json --customer robot@client.test | pd_json 'len(j)')"
sleep 3
pd_wait_for 30 ob_outbox_all_sent 1 || pd_fail "outbox has unsent rows after the automatic mail"
pd_wait_queue_empty 60
pd_expect_eq "no acknowledgement to the automatic sender" 0 "$(ob_count_to robot@client.test)"
pd_expect_eq "still exactly one acknowledgement in the outbox" 1 \
    "$(ob_outbox_json | pd_json 'len([r for r in j if r["kind"] == "ack"])')"
pd_expect_match "the daemon logged why it did not acknowledge" 'no acknowledgement|not acknowledg|automatic' \
    "$(grep -iE 'acknowledg' "$PD_DIR/lmtpd.log" | tail -n 3)"

# Log lines of the sender: one per attempt, relay and status, no body.
pd_expect_match "sender logged the ack" "ack $N: to=<marie@client\\.test>, relay=127\\.0\\.0\\.1:$PD_SUB_PORT, .*status=sent \\(250 " \
    "$(grep -E "ack $N: to=" "$PD_DIR/lmtpd.log")"
pd_expect_eq "no mail body in the daemon's log" 0 "$(grep -c 'Test: Imprimante en panne' "$PD_DIR/lmtpd.log")"

pd_lmtpd_stop
pd_expect_eq "daemon exit status" 0 "$PD_LMTPD_STATUS"
pd_finish
