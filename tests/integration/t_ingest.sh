#!/bin/bash
# t_ingest - mail through Postfix into tickets: new ticket, follow-up by
# subject tag, follow-up by In-Reply-To/References, one mail to several
# queue addresses, unknown recipient bounced (550 5.1.1).
. "$(dirname "$0")/lib.sh" "$@"
pd_setup ingest
pd_postfix_start
pd_lmtpd_start

tag=$$.$(date +%s)
mid1="<first.$tag@client.test>"

# 1. A new mail to a queue address opens a ticket.
pd_send marie@client.test helpdesk@desk.test "Imprimante en panne" \
    --header "Message-Id: $mid1"
pd_wait_queue_empty 60 || pd_fail "first mail not delivered"
list=$(pd_ctl list --json)
pd_expect_eq "one ticket after the first mail" 1 "$(pd_json 'len(j)' <<<"$list")"
pd_expect_eq "ticket in queue Helpdesk" Helpdesk "$(pd_json 'j[0]["queue"]' <<<"$list")"
pd_expect_eq "customer is the sender" marie@client.test "$(pd_json 'j[0]["customer"]' <<<"$list")"
pd_expect_eq "title is the subject" "Imprimante en panne" "$(pd_json 'j[0]["title"]' <<<"$list")"
N=$(pd_json 'j[0]["number"]' <<<"$list")
pd_expect_match "ticket number is digits" '^[0-9]+$' "$N"

# 2. A reply with the ticket tag in a French-style subject.
pd_send marie@client.test helpdesk@desk.test "RE : [Ticket#$N] Imprimante en panne" \
    --header "In-Reply-To: <unrelated.$tag@elsewhere.test>"
pd_wait_queue_empty 60 || pd_fail "tagged reply not delivered"
show=$(pd_ctl show "$N" --json)
# (postdesk's acknowledgement is a system article too: count the requester's)
pd_expect_eq "tagged reply is mail 2 of ticket $N" 2 "$(pd_json 'len([a for a in j["articles"] if a["sender_type"] == "customer"])' <<<"$show")"
pd_expect_eq "still one ticket" 1 "$(pd_ctl list --json | pd_json 'len(j)')"
pd_expect_eq "article 2 subject" "RE : [Ticket#$N] Imprimante en panne" \
    "$(pd_json '[a for a in j["articles"] if a["sender_type"] == "customer"][1]["subject"]' <<<"$show")"

# 3. A reply that lost the tag but carries the first Message-ID.
pd_send marie@client.test support@desk.test "Toujours en panne" \
    --header "In-Reply-To: $mid1" --header "References: $mid1"
pd_wait_queue_empty 60 || pd_fail "untagged reply not delivered"
show=$(pd_ctl show "$N" --json)
pd_expect_eq "In-Reply-To reply is mail 3 of ticket $N" 3 "$(pd_json 'len([a for a in j["articles"] if a["sender_type"] == "customer"])' <<<"$show")"
pd_expect_eq "first article's message_id" "${mid1:1:-1}" \
    "$(pd_json 'j["articles"][0]["message_id"].strip("<>")' <<<"$show")"
pd_expect_eq "first article's from" marie@client.test \
    "$(pd_json 'j["articles"][0]["from"]' <<<"$show")"
pd_expect_match "first article's body" 'Test: Imprimante en panne' \
    "$(pd_json 'j["articles"][0]["body"]' <<<"$show")"
pd_expect_eq "one acknowledgement, stored as a read system article" "1 True" \
    "$(pd_json '"%d %s" % (len([a for a in j["articles"] if a["sender_type"] == "system"]), all(a["seen"] for a in j["articles"] if a["sender_type"] == "system"))' <<<"$show")"
pd_expect_eq "still one ticket after the untagged reply" 1 "$(pd_ctl list --json | pd_json 'len(j)')"

# 4. One mail to two addresses of the same queue: one ticket, one article.
pd_send paul@client.test helpdesk@desk.test,support@desk.test "Deux adresses"
pd_wait_queue_empty 60 || pd_fail "mail to helpdesk+support not delivered"
list=$(pd_ctl list --json --customer paul@client.test)
pd_expect_eq "helpdesk+support: one ticket" 1 "$(pd_json 'len(j)' <<<"$list")"
if [ "$(pd_json 'len(j)' <<<"$list")" = 1 ]; then
    n=$(pd_json 'j[0]["number"]' <<<"$list")
    pd_expect_eq "helpdesk+support: one mail stored" 1 \
        "$(pd_ctl show "$n" --json | pd_json 'len([a for a in j["articles"] if a["sender_type"] == "customer"])')"
fi

# 5. One mail to addresses of two queues: still one ticket.
pd_send jean@client.test helpdesk@desk.test,network@desk.test "Deux files"
pd_wait_queue_empty 60 || pd_fail "mail to helpdesk+network not delivered"
list=$(pd_ctl list --json --customer jean@client.test)
pd_expect_eq "helpdesk+network: one ticket" 1 "$(pd_json 'len(j)' <<<"$list")"
pd_log "helpdesk+network went to queue $(pd_json '[t["queue"] for t in j]' <<<"$list")"

# 6. An unknown recipient in desk.test: refused by the daemon, bounced.
pd_send luc@client.test nobody@desk.test "Personne"
pd_wait_queue_empty 60 || pd_fail "mail to nobody@desk.test still queued"
if pd_maillog_wait 10 'to=<nobody@desk\.test>.*status=bounced'; then
    line=$(grep -E 'to=<nobody@desk\.test>.*status=bounced' "$PF/maillog" | tail -n 1)
    pd_expect_match "unknown recipient bounced with 550 5.1.1" ' 550[ -]5\.1\.1 ' "$line"
else
    pd_fail "maillog has no status=bounced for nobody@desk.test: $(grep 'nobody@desk' "$PF/maillog" | tail -n 2)"
fi
pd_expect_eq "no ticket for the unknown recipient" 0 \
    "$(pd_ctl list --json --customer luc@client.test | pd_json 'len(j)')"
pd_expect_eq "three tickets in all" 3 "$(pd_ctl list --json | pd_json 'len(j)')"

pd_lmtpd_stop
pd_expect_eq "SIGTERM: exit status 0" 0 "$PD_LMTPD_STATUS"
pd_finish
