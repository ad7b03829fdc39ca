#!/bin/bash
# t_commands - agents act by mail, through real Postfix: every check goes
# through postdeskctl show --json and the mails that left Postfix.
#
#  1. a requester opens a ticket; alice and bob get notifications whose
#     Reply-To is their signed address for it;
#  2. a forged From: to alice's address changes nothing: an unverified
#     note and a warning to alice, nothing to the forger; bob's From: on
#     alice's address is refused the same way; alice's own vacation
#     auto-reply runs no command and gets no warning;
#  3. a requester's "#priority 5" is text; a tampered token is refused at
#     RCPT; a mail with one bad command changes nothing; #dry-run changes
#     nothing; a Subject naming another ticket is refused;
#  4. alice answers with #take and #reply: the requester gets exactly her
#     text (no command line, no quote), the ticket shows owner, lock and
#     the article, the first response is recorded, a transcript comes back;
#  5. bob's #take from an older notification is refused (lost update);
#  6. the same command mail delivered twice over LMTP applies once;
#  7. the requester writes again: list --locked --owner and #list to the
#     personal address show the "new article" star;
#  8. #pending, then #state closed successful;
#  9. #merge needs the #confirm code of its transcript.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/outbound.sh"
pd_setup commands
ob_conf
pd_postfix_start
pd_lmtpd_start

tag=$$.$(date +%s)

# cm_rows - rows in the outbox now
cm_rows() { ob_outbox_json | pd_json 'len(j)'; }

# cm_settle MIN - wait until the outbox has MIN rows or more, all sent,
# and Postfix's queue is empty
cm_settle() {
    ob_wait_outbox_sent "$1" 90 || pd_fail "outbox did not reach $1 rows, all sent"
}

# cm_show N - the ticket as JSON
cm_show() { pd_ctl show "$1" --json; }

# cm_last_to ADDR - the newest captured mail to ADDR (a JSON object)
cm_last_to() {
    ob_mails | pd_json "([m for m in j if '$1' in m['rcpts']] or [{}])[-1]"
}

# cm_count_to ADDR - captured mails to ADDR
cm_count_to() { ob_count_to "$1"; }

# 1. The request, and the signed addresses of alice and bob.
req="<req.$tag@client.test>"
pd_send marie@client.test helpdesk@desk.test "Imprimante en panne" \
    --header "Message-Id: $req" --header "From: Marie Dupont <marie@client.test>" \
    --body "L'imprimante du 2e étage ne marche plus."
pd_wait_queue_empty 60 || pd_fail "request not delivered"
N=$(pd_ctl list --json | pd_json 'j[0]["number"] if j else ""')
[ -n "$N" ] || pd_die "no ticket"
cm_settle 3
RA=$(cm_last_to alice@agents.test | pd_json 'j.get("reply_to") or ""' | sed 's/.*<//; s/>.*//')
RB=$(cm_last_to bob@agents.test | pd_json 'j.get("reply_to") or ""' | sed 's/.*<//; s/>.*//')
pd_expect_match "alice's notification has a signed Reply-To" '^desk\+[a-z2-7]{45}@desk\.test$' "$RA"
pd_expect_match "bob's notification has a signed Reply-To" '^desk\+[a-z2-7]{45}@desk\.test$' "$RB"
SUBJ="Re: [Ticket#$N] Imprimante en panne"
articles() { cm_show "$N" | pd_json 'len(j["articles"])'; }

# 2. A forged From: on alice's address.
rows=$(cm_rows)
n_art=$(articles)
ob_mail "Alice Martin <mallory@evil.test>" "$RA" "$SUBJ" \
    "$(printf '#priority 5\n#state closed successful\n\nClose it.')"
ob_send mallory@evil.test "$RA" "$f"
cm_settle $((rows + 1))
t=$(cm_show "$N")
pd_expect_eq "forged From: priority unchanged" 3 "$(pd_json 'j["priority"]' <<<"$t")"
pd_expect_eq "forged From: state unchanged" new "$(pd_json 'j["state"]' <<<"$t")"
pd_expect_eq "forged From: one article more" $((n_art + 1)) "$(pd_json 'len(j["articles"])' <<<"$t")"
pd_expect_eq "forged From: it is an internal note, not visible" "note False" \
    "$(pd_json 'j["articles"][-1]["channel"] + " " + str(j["articles"][-1]["visible_to_customer"])' <<<"$t")"
pd_expect_match "forged From: marked unverified" 'unverified' \
    "$(pd_json 'j["articles"][-1]["body"]' <<<"$t")"
pd_expect_eq "forged From: nothing sent to the forger" 0 "$(cm_count_to mallory@evil.test)"
w=$(cm_last_to alice@agents.test)
pd_expect_match "forged From: alice is warned, naming the From:" 'mallory@evil\.test' \
    "$(pd_json 'j.get("body", "")' <<<"$w")"
pd_expect_eq "forged From: the warning is auto-replied" auto-replied \
    "$(pd_json 'j.get("auto_submitted", "")' <<<"$w")"

# bob's own From: on alice's address: another agent's token.
rows=$(cm_rows)
ob_mail "Bob Smith <bob@agents.test>" "$RA" "$SUBJ" "$(printf '#take\n')"
bob_before=$(cm_count_to bob@agents.test)
ob_send bob@agents.test "$RA" "$f"
cm_settle $((rows + 1))
pd_expect_eq "alice's token from bob: no owner" null "$(cm_show "$N" | pd_json 'j["owner"]')"
pd_expect_eq "alice's token from bob: nothing to bob" "$bob_before" "$(cm_count_to bob@agents.test)"

# alice's own vacation auto-reply to her address: no command, no warning.
rows=$(cm_rows)
alice_before=$(cm_count_to alice@agents.test)
ob_mail "Alice Martin <alice@agents.test>" "$RA" "Absence: $SUBJ" \
    "$(printf '#state closed successful\nI am away until Monday.')" "Auto-Submitted: auto-replied"
ob_send alice@agents.test "$RA" "$f"
pd_expect_eq "auto-reply to a token: state unchanged" new "$(cm_show "$N" | pd_json 'j["state"]')"
pd_expect_eq "auto-reply to a token: no warning mail" "$rows $alice_before" \
    "$(cm_rows) $(cm_count_to alice@agents.test)"

# 3. The requester's "#priority 5" is text.
rows=$(cm_rows)
ob_mail "Marie Dupont <marie@client.test>" helpdesk@desk.test "$SUBJ" \
    "$(printf '#priority 5\n#state closed successful\nToujours en panne.')"
ob_send marie@client.test helpdesk@desk.test "$f"
REQ2=$mid
t=$(cm_show "$N")
pd_expect_eq "requester's #priority 5: priority unchanged" 3 "$(pd_json 'j["priority"]' <<<"$t")"
pd_expect_match "requester's #priority 5: it is text of her article" '#priority 5' \
    "$(pd_json 'j["articles"][-1]["body"]' <<<"$t")"
pd_expect_eq "requester's #state: state unchanged" new "$(pd_json 'j["state"]' <<<"$t")"
cm_settle "$rows"

# alice's commands in a fresh mail to the queue address (no token): they
# are text; she is told they were not run, with her address for the ticket.
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" helpdesk@desk.test "$SUBJ" \
    "$(printf '#priority 1\n\nJe regarde.')"
ob_send alice@agents.test helpdesk@desk.test "$f"
cm_settle $((rows + 1))
t=$(cm_show "$N")
pd_expect_eq "commands to the queue address: priority unchanged" 3 "$(pd_json 'j["priority"]' <<<"$t")"
pd_expect_match "commands to the queue address: the mail is an article" '#priority 1' \
    "$(pd_json 'j["articles"][-1]["body"]' <<<"$t")"
hint=$(ob_mails | pd_json "[m for m in j if 'alice@agents.test' in m['rcpts'] and 'pas été exécutées' in m['body']]")
pd_expect_eq "commands to the queue address: one hint to alice" 1 "$(pd_json 'len(j)' <<<"$hint")"
pd_expect_match "the hint's Reply-To is her address for the ticket" '^.*desk\+[a-z2-7]{45}@desk\.test' \
    "$(pd_json 'j[0]["reply_to"] if j else ""' <<<"$hint")"

# A tampered token: refused at RCPT, Postfix bounces to the sender.
bad=$("$PD_PY" -c 'import sys; a = sys.argv[1]; i = 10; print(a[:i] + ("b" if a[i] != "b" else "c") + a[i + 1:])' "$RA")
ob_mail "Alice Martin <alice@agents.test>" "$bad" "$SUBJ" "$(printf '#take\n')"
ob_send alice@agents.test "$bad" "$f"
pd_maillog_wait 30 'Invalid command address' || pd_fail "tampered token: no 5.7.1 in the maillog"
pd_expect_eq "tampered token: no owner" null "$(cm_show "$N" | pd_json 'j["owner"]')"

# One bad command: nothing changes.
rows=$(cm_rows)
n_art=$(articles)
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$SUBJ" \
    "$(printf '#take\n#priority 9\n\nJe prends.')"
ob_send alice@agents.test "$RA" "$f"
cm_settle $((rows + 1))
t=$(cm_show "$N")
pd_expect_eq "one bad command: no owner" null "$(pd_json 'j["owner"]' <<<"$t")"
pd_expect_eq "one bad command: no article" "$n_art" "$(pd_json 'len(j["articles"])' <<<"$t")"
tr=$(cm_last_to alice@agents.test)
pd_expect_match "one bad command: the transcript says no change (in French)" 'Aucune modification' \
    "$(pd_json 'j.get("body", "")' <<<"$tr")"
pd_expect_match "one bad command: the transcript echoes the line" '> #priority 9' \
    "$(pd_json 'j.get("body", "")' <<<"$tr")"
pd_expect_eq "transcript: auto-replied" auto-replied "$(pd_json 'j.get("auto_submitted", "")' <<<"$tr")"
pd_expect_eq "transcript: to alice's configured address only" '["alice@agents.test"]' \
    "$(pd_json 'j.get("rcpts")' <<<"$tr")"

# #dry-run: nothing changes.
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$SUBJ" "$(printf '#dry-run\n#take\n#priority 4\n')"
ob_send alice@agents.test "$RA" "$f"
cm_settle $((rows + 1))
t=$(cm_show "$N")
pd_expect_eq "dry run: no owner, priority 3" "None 3" "$(pd_json 'str(j["owner"]) + " " + str(j["priority"])' <<<"$t")"
pd_expect_match "dry run: the transcript says so" 'Essai' \
    "$(cm_last_to alice@agents.test | pd_json 'j.get("body", "")')"

# A second ticket; a Subject naming it on the first ticket's address.
pd_send marie@client.test helpdesk@desk.test "Scanner en panne" \
    --header "From: Marie Dupont <marie@client.test>" --body "Le scanner aussi."
pd_wait_queue_empty 60
N2=$(pd_ctl list --json | pd_json "[t['number'] for t in j if t['number'] != '$N'][0]")
cm_settle $((rows + 4))
RA2=$(ob_mails | pd_json "[m for m in j if 'alice@agents.test' in m['rcpts'] and '$N2' in (m['subject'] or '')][-1]['reply_to']" | sed 's/.*<//; s/>.*//')
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$RA" "Re: [Ticket#$N2] Scanner en panne" "$(printf '#priority 2\n')"
ob_send alice@agents.test "$RA" "$f"
cm_settle $((rows + 1))
pd_expect_eq "subject of another ticket: neither ticket changed" "3 3" \
    "$(cm_show "$N" | pd_json 'j["priority"]') $(cm_show "$N2" | pd_json 'j["priority"]')"
pd_expect_match "subject of another ticket: the transcript says why" "l'objet nomme le ticket" \
    "$(cm_last_to alice@agents.test | pd_json 'j.get("body", "")')"

# 4. #take and #reply.
rows=$(cm_rows)
marie_before=$(cm_count_to marie@client.test)
reply_text=$(printf 'Bonjour Marie,\nredémarrez l'"'"'imprimante, puis dites-moi.')
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$SUBJ" \
    "$(printf '#take\n#reply\n\n%s\n\nLe 28/11/2026 à 09:14, postdesk a écrit :\n> Toujours en panne.\n' "$reply_text")"
ob_send alice@agents.test "$RA" "$f"
cm_settle $((rows + 2))
t=$(cm_show "$N")
pd_expect_eq "take: owner alice, locked" "alice True" "$(pd_json 'str(j["owner"]) + " " + str(j["locked"])' <<<"$t")"
pd_expect_eq "reply: an agent email article visible to the requester" "agent email True" \
    "$(pd_json 'j["articles"][-1]["sender_type"] + " " + j["articles"][-1]["channel"] + " " + str(j["articles"][-1]["visible_to_customer"])' <<<"$t")"
pd_expect_eq "reply: the article holds the text only" "$reply_text" \
    "$(pd_json 'j["articles"][-1]["body"]' <<<"$t")"
pd_expect_match "reply: first response recorded" '^[0-9]{4}-' \
    "$(pd_json 'j.get("first_response_at") or (j.get("sla") or {}).get("first_response_at") or ""' <<<"$t")"
pd_expect_eq "reply: one mail to the requester" $((marie_before + 1)) "$(cm_count_to marie@client.test)"
m=$(cm_last_to marie@client.test)
pd_expect_match "reply: from the queue address" 'helpdesk@desk\.test' "$(pd_json 'j["from"]' <<<"$m")"
pd_expect_match "reply: subject with the ticket" "\[Ticket#$N\]" "$(pd_json 'j["subject"]' <<<"$m")"
pd_expect_eq "reply: In-Reply-To her last mail" "$REQ2" "$(pd_json 'j["in_reply_to"]' <<<"$m")"
body=$(pd_json 'j["body"]' <<<"$m")
pd_expect_eq "reply: the requester gets exactly the text first" "$reply_text" \
    "$(printf '%s\n' "$body" | tr -d '\r' | head -n 2)"
pd_expect_eq "reply: no command line reaches her" 0 "$(printf '%s\n' "$body" | grep -c '^#')"
pd_expect_match "reply: quote header with the date her mail was received" \
    '(a écrit|wrote)' "$body"
pd_expect_match "take: the transcript shows the result" 'Propriétaire : alice \(verrouillé\)' \
    "$(cm_last_to alice@agents.test | pd_json 'j.get("body", "")')"

# 5. bob's #take from the first notification: alice changed the owner since.
rows=$(cm_rows)
ob_mail "Bob Smith <bob@agents.test>" "$RB" "$SUBJ" "$(printf '#unlock\n#priority 2\n')"
ob_send bob@agents.test "$RB" "$f"
cm_settle $((rows + 1))
t=$(cm_show "$N")
pd_expect_eq "lost update: bob's change refused" "True 3" "$(pd_json 'str(j["locked"]) + " " + str(j["priority"])' <<<"$t")"
pd_expect_match "lost update: the transcript names alice" 'changed by alice' \
    "$(cm_last_to bob@agents.test | pd_json 'j.get("body", "")')"

# 6. The same command mail twice over LMTP: applied once.
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$SUBJ" "$(printf '#priority 4\n\nNote interne.')"
n_art=$(articles)
"$PD_PY" - "$PD_LISTEN" "$RA" "$f" >"$PD_DIR/lmtp_twice.out" 2>&1 <<'PYEOF'
import smtplib, socket, sys
listen, rcpt, path = sys.argv[1:4]
data = open(path, "rb").read()
for i in range(2):
    if listen.startswith("unix:"):
        c = smtplib.LMTP(listen[5:])
    else:
        host, port = listen[5:].rsplit(":", 1)
        c = smtplib.LMTP(host, int(port))
    c.ehlo("test")
    c.mail("alice@agents.test")
    code, msg = c.rcpt(rcpt)
    print("rcpt", code, msg.decode())
    c.docmd("DATA")
    c.send(data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
    print("data", c.getreply())
    c.quit()
PYEOF
pd_expect_eq "twice: both deliveries answered 250" 2 "$(grep -c "data (250" "$PD_DIR/lmtp_twice.out")"
t=$(cm_show "$N")
pd_expect_eq "twice: priority 4" 4 "$(pd_json 'j["priority"]' <<<"$t")"
pd_expect_eq "twice: one note" $((n_art + 1)) "$(pd_json 'len(j["articles"])' <<<"$t")"
pd_expect_eq "twice: one priority change in the history" 1 \
    "$(pd_json 'len([h for h in j["history"] if h["what"] == "priority"])' <<<"$t")"
cm_settle "$(cm_rows)"

# 7. The requester writes again: the star.
rows=$(cm_rows)
ob_mail "Marie Dupont <marie@client.test>" helpdesk@desk.test "Re: [Ticket#$N] Imprimante en panne" \
    "Elle marche, merci !"
ob_send marie@client.test helpdesk@desk.test "$f"
cm_settle "$rows"
l=$(pd_ctl list --locked --owner alice --json)
pd_expect_eq "list --locked --owner alice: the ticket with the star" "$N True" \
    "$(pd_json '" ".join([j[0]["number"], str(j[0]["new_article"])]) if j else ""' <<<"$l")"
PA=$(pd_ctl agent-address alice)
pd_expect_match "agent-address: a signed address" '^desk\+[a-z2-7]{45}@desk\.test$' "$PA"
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$PA" "list" "#list"
ob_send alice@agents.test "$PA" "$f"
cm_settle $((rows + 1))
pd_expect_match "#list by mail: the ticket with the star" "\* $N" \
    "$(cm_last_to alice@agents.test | pd_json 'j.get("body", "")')"

# frank's notify setting has no "transcript": an applied command mail
# gets none, a refused one does.
RF=$(ob_reply_to frank@agents.test)
frank_before=$(cm_count_to frank@agents.test)
rows=$(cm_rows)
ob_mail "Frank Filter <frank@agents.test>" "$RF" "$SUBJ" "#watch"
ob_send frank@agents.test "$RF" "$f"
pd_expect_eq "frank's #watch: applied" '["frank"]' "$(cm_show "$N" | pd_json 'j["watchers"]')"
pd_expect_eq "frank's #watch: no outbox row, no mail" "$rows $frank_before" \
    "$(cm_rows) $(cm_count_to frank@agents.test)"
ob_mail "Frank Filter <frank@agents.test>" "$RF" "$SUBJ" "#priority 9"
ob_send frank@agents.test "$RF" "$f"
cm_settle $((rows + 1))
pd_expect_eq "frank's refused mail: a transcript" $((frank_before + 1)) \
    "$(cm_count_to frank@agents.test)"

# 8. #pending, then closing.
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$SUBJ" "$(printf '#pending +3d\n')"
ob_send alice@agents.test "$RA" "$f"
cm_settle $((rows + 1))
pd_expect_eq "#pending: pending reminder" "pending reminder" "$(cm_show "$N" | pd_json 'j["state"]')"
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$SUBJ" "$(printf '#state closed successful\n')"
ob_send alice@agents.test "$RA" "$f"
cm_settle $((rows + 1))
t=$(cm_show "$N")
pd_expect_eq "#state closed: closed and unlocked" "closed successful False" \
    "$(pd_json 'j["state"] + " " + str(j["locked"])' <<<"$t")"

# 9. #merge needs #confirm.
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$RA2" "Re: [Ticket#$N2] Scanner en panne" "#merge $N"
ob_send alice@agents.test "$RA2" "$f"
cm_settle $((rows + 1))
pd_expect_eq "#merge alone: not merged" "None" "$(cm_show "$N2" | pd_json 'str(j.get("merged_into"))')"
code=$(cm_last_to alice@agents.test | pd_json 'j.get("body", "")' | sed -n 's/^#confirm \([A-Z0-9]*\).*/\1/p' | head -n 1)
pd_expect_match "#merge alone: the transcript gives a code" '^[A-Z0-9]{8}$' "$code"
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$RA2" "Re: [Ticket#$N2] Scanner en panne" \
    "$(printf '#merge %s\n#confirm %s\n' "$N" "$code")"
ob_send alice@agents.test "$RA2" "$f"
cm_settle $((rows + 1))
t=$(cm_show "$N2")
pd_expect_eq "#merge with #confirm: merged" "merged $N" \
    "$(pd_json 'j["state"] + " " + str(j.get("merged_into"))' <<<"$t")"

# 10. command_auth = dkim: the From: is not enough without our own MX's
# Authentication-Results saying dkim=pass for its domain.
printf '\n[postdesk]\ncommand_auth = dkim\n' >>"$PD_CONF"
reloads=$(grep -c "new configuration in effect" "$PD_DIR/lmtpd.log" || true)
kill -HUP "$PD_LMTPD_PID"
reloaded() { [ "$(grep -c "new configuration in effect" "$PD_DIR/lmtpd.log")" -gt "$reloads" ]; }
pd_wait_for 30 reloaded || pd_fail "command_auth: no reload"
prio() { cm_show "$N" | pd_json 'j["priority"]'; }
p0=$(prio)
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$SUBJ" "$(printf '#priority 2\n')"
ob_send alice@agents.test "$RA" "$f"
cm_settle $((rows + 1))
pd_expect_eq "command_auth = dkim, no Authentication-Results: nothing changes" "$p0" "$(prio)"
pd_expect_match "command_auth = dkim: alice is warned why" 'dkim=pass' \
    "$(cm_last_to alice@agents.test | pd_json 'j.get("body", "")')"
rows=$(cm_rows)
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$SUBJ" "$(printf '#priority 2\n')" \
    "Authentication-Results: desk.test; dkim=pass header.d=agents.test"
ob_send alice@agents.test "$RA" "$f"
cm_settle $((rows + 1))
pd_expect_eq "command_auth = dkim with our dkim=pass: applied" 2 "$(prio)"

pd_check_sanitizer
pd_finish
