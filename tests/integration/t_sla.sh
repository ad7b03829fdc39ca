#!/bin/bash
# t_sla - SLA warnings and escalations through the sweeper, with the test
# clock: a queue with an SLA (first response 30 minutes, warnings at 50%,
# a calendar that works around the clock) gets a ticket; the daemon is
# restarted with test_clock past the warning point, then again at the
# same instant (nothing new), then past the deadline. Alice and bob
# (subscribed, notify includes escalation) get exactly one warning and
# one escalation mail each, and `postdeskctl escalations --at` agrees
# with what the sweeper recorded. The test clock is refused without
# POSTDESK_ALLOW_TEST_CLOCK=1.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/outbound.sh"
export POSTDESK_ALLOW_TEST_CLOCK=1
pd_setup sla
ob_conf
cat >>"$PD_CONF" <<'CONFEOF'

[calendar always]
timezone = UTC
hours = mon-sun 00:00-24:00

[sla fast]
calendar = always
first_response = 30m
solution = 5d
warn_at = 50

[queue Helpdesk]
sla = fast
CONFEOF
# alice (the first agent) also wants pending reminders
sed -i '0,/^notify = /s/^notify = .*/&;pending/' "$PD_CONF"
pd_ctl check-config >/dev/null 2>&1 ||
    pd_die "postdesk.conf with the SLA does not check: $(pd_ctl check-config 2>&1 | head -n 5)"
pd_postfix_start
pd_lmtpd_start

# iso EPOCH - RFC 3339 UTC
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# set_clock EPOCH - restart the daemon with test_clock = EPOCH
set_clock() {
    pd_lmtpd_stop || pd_fail "daemon did not stop"
    sed -i '/^test_clock = /d; /^# test clock$/d' "$PD_CONF"
    printf '\n# test clock\n[postdesk]\ntest_clock = %s\n' "$(iso "$1")" >>"$PD_CONF"
    pd_lmtpd_start
}

# mails_with TEXT - captured mails whose body contains TEXT
mails_with() { ob_mails | pd_json "len([m for m in j if '$1' in m['body']])"; }

pd_send marie@client.test helpdesk@desk.test "Imprimante en panne" \
    --header "From: Marie Dupont <marie@client.test>"
pd_wait_queue_empty 60 || pd_fail "request not delivered to the daemon"
N=$(pd_ctl list --json | pd_json 'j[0]["number"] if j else ""')
[ -n "$N" ] || pd_die "no ticket"
ob_wait_outbox_sent 3 60 || pd_fail "ack and new-ticket mails not sent"

show=$(pd_ctl show "$N" --json)
T0=$(pd_json 'j["created"]' <<<"$show")
T0=$(date -u -d "$T0" +%s)
pd_expect_eq "first response due 30 minutes after creation" "$(iso $((T0 + 1800)))" \
    "$(pd_json 'j["first_response_due"]' <<<"$show")"
pd_expect_eq "solution due is set" 1 "$(pd_json 'int(j["solution_due"] is not None)' <<<"$show")"
pd_expect_eq "no escalation yet" "[]" "$(pd_ctl escalations --json --at "$(iso $((T0 + 60)))")"

# Past the warning point (15 minutes), before the deadline.
set_clock $((T0 + 20 * 60))
ob_wait_outbox_sent 5 60 || pd_fail "warning mails not sent"
pd_expect_eq "two warning mails (alice, bob)" 2 "$(mails_with 'first_response warning')"
pd_expect_eq "no escalation mail yet" 0 "$(mails_with 'first_response escalation')"
esc=$(pd_ctl escalations --json --at "$(iso $((T0 + 20 * 60)))")
pd_expect_eq "escalations --at: warning, not escalated" \
    "[\"$N\", false, \"warning\"]" \
    "$(pd_json '[j[0]["number"], j[0]["escalated"], j[0]["levels"]["first_response"]] if len(j) == 1 else j' <<<"$esc")"
pd_expect_eq "show: not escalated after the warning" false \
    "$(pd_ctl show "$N" --json | pd_json 'j["escalated"]')"

# The same instant again: the sweeper sends nothing twice.
set_clock $((T0 + 20 * 60))
sleep 3
pd_expect_eq "no new outbox row after a restart at the same instant" 5 \
    "$(ob_outbox_json | pd_json 'len(j)')"

# Past the deadline.
set_clock $((T0 + 40 * 60))
ob_wait_outbox_sent 7 60 || pd_fail "escalation mails not sent"
pd_expect_eq "two escalation mails" 2 "$(mails_with 'first_response escalation')"
pd_expect_eq "still two warning mails" 2 "$(mails_with 'first_response warning')"
pd_expect_eq "escalation mails to alice and bob" '["alice@agents.test", "bob@agents.test"]' \
    "$(ob_mails | pd_json "sorted(r for m in j if 'first_response escalation' in m['body'] for r in m['rcpts'])")"
show=$(pd_ctl show "$N" --json)
pd_expect_eq "show: escalated, first_response" '[true, "first_response"]' \
    "$(pd_json '[j["escalated"], j["escalation"]]' <<<"$show")"
pd_expect_eq "history: the sweeper's two records" \
    '[["first_response", "warning"], ["first_response", "escalation"]]' \
    "$(pd_json '[[h["old"], h["new"]] for h in j["history"] if h["what"] == "escalation"]' <<<"$show")"
esc=$(pd_ctl escalations --json --at "$(iso $((T0 + 40 * 60)))")
pd_expect_eq "escalations --at agrees with the sweeper" \
    "[\"$N\", true, \"first_response\", \"escalation\"]" \
    "$(pd_json '[j[0]["number"], j[0]["escalated"], j[0]["escalation"], j[0]["levels"]["first_response"]] if len(j) == 1 else j' <<<"$esc")"
pd_expect_match "escalations text names the ticket" "$N +first_response +escalation" \
    "$(pd_ctl escalations --at "$(iso $((T0 + 40 * 60)))")"

# By mail: alice answers (the first response is recorded) and sets the
# ticket pending; at the pending time the sweeper reminds her, the owner,
# once. Then "pending auto close" closes it at its time. (Commands take
# their time from the mail's arrival, the sweeper from the test clock.)
RA=$(ob_reply_to alice@agents.test)
S="Re: [Ticket#$N] Imprimante en panne"
rows=$(ob_outbox_json | pd_json 'len(j)')
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$S" \
    "$(printf '#take\n#reply\n#pending +1h\n\nC'"'"'est réparé, je vous recontacte.')"
ob_send alice@agents.test "$RA" "$f"
R=$(date +%s)
ob_wait_outbox_sent $((rows + 2)) 60 || pd_fail "reply and transcript not sent"
show=$(pd_ctl show "$N" --json)
pd_expect_match "by mail: the reply is the first response" '^[0-9]{4}-' \
    "$(pd_json 'j["first_response_at"] or ""' <<<"$show")"
pd_expect_eq "by mail: pending reminder, owner alice" "pending reminder alice" \
    "$(pd_json 'j["state"] + " " + str(j["owner"])' <<<"$show")"
reminders() { ob_outbox_json | pd_json "len([r for r in j if r['kind'] == 'pending'])"; }
pd_expect_eq "no reminder before the pending time" 0 "$(reminders)"
set_clock $((R + 2 * 3600))
ob_wait_outbox_sent $((rows + 3)) 60 || pd_fail "pending reminder not sent"
pd_expect_eq "one pending reminder" 1 "$(reminders)"
pd_expect_eq "the reminder goes to the owner only" '["alice@agents.test"]' \
    "$(ob_outbox_json | pd_json "sorted(set(r for x in j if x['kind'] == 'pending' for r in x['recipients']))")"
set_clock $((R + 2 * 3600 + 60))
sleep 3
pd_expect_eq "still one pending reminder after a restart" 1 "$(reminders)"

rows=$(ob_outbox_json | pd_json 'len(j)')
ob_mail "Alice Martin <alice@agents.test>" "$RA" "$S" \
    "$(printf '#state pending auto close\n#pending +3h\n')"
ob_send alice@agents.test "$RA" "$f"
R=$(date +%s)
ob_wait_outbox_sent $((rows + 1)) 60 || pd_fail "transcript not sent"
pd_expect_eq "by mail: pending auto close" "pending auto close" \
    "$(pd_ctl show "$N" --json | pd_json 'j["state"]')"
set_clock $((R + 4 * 3600))
closed() { [ "$(pd_ctl show "$N" --json | pd_json 'j["state"]')" = "closed successful" ]; }
pd_wait_for 60 closed || pd_fail "auto close: state is $(pd_ctl show "$N" --json | pd_json 'j["state"]')"
pd_expect_eq "auto close: closed by the system" system \
    "$(pd_ctl show "$N" --json | pd_json '[h["who"] for h in j["history"] if h["what"] == "state"][-1]')"

# A normal run refuses the test clock.
out=$(env -u POSTDESK_ALLOW_TEST_CLOCK "$PD_CTL" -c "$PD_CONF" check-config 2>&1)
pd_expect_eq "check-config without POSTDESK_ALLOW_TEST_CLOCK fails" 78 "$?"
pd_expect_match "the error names test_clock" "test_clock: refused" "$out"
out=$(env -u POSTDESK_ALLOW_TEST_CLOCK "$PD_LMTPD" -c "$PD_CONF" -f 2>&1 </dev/null 9>&-)
pd_expect_eq "postdesk-lmtpd without POSTDESK_ALLOW_TEST_CLOCK exits 78" 78 "$?"

pd_lmtpd_stop
pd_finish
