#!/bin/bash
# t_maintenance - in maintenance the daemon answers 4xx: Postfix keeps the
# mail (deferred) and no ticket appears; after "maintenance off" and a
# flush the mail becomes a ticket and the queue is empty. Postfix reaches
# the daemon over a unix socket here (the other tests use TCP).
. "$(dirname "$0")/lib.sh" "$@"
PD_LMTP_UNIX=1
pd_setup maintenance
pd_postfix_start
pd_lmtpd_start
pd_expect_eq "unix listener mode 0666 (lmtp(8) runs as postfix)" 666 \
    "$(stat -c %a "$PD_DIR/lmtp.sock" 2>&1)"

pd_expect_ok "maintenance on" pd_ctl maintenance on
pd_send marie@client.test helpdesk@desk.test "Pendant la maintenance"

# Wait until Postfix has tried and deferred it with a 4xx reason.
deferred_reason() {
    pd_postqueue | "$PD_PY" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("queue_name") == "deferred":
        for r in m["recipients"]:
            if r.get("delay_reason"):
                print(r["delay_reason"]); sys.exit(0)
sys.exit(1)'
}
if pd_wait_for 30 deferred_reason; then
    reason=$(deferred_reason)
    pd_expect_match "deferred with a 4xx reply of the daemon" 'said: 4[0-9][0-9][ -]4\.' "$reason"
    pd_log "delay_reason: $reason"
else
    pd_fail "mail not deferred within 30 s; queue: $(pd_postqueue | head -c 600)"
fi
pd_expect_eq "mail kept by Postfix" 1 "$(pd_queue_count)"
pd_expect_eq "no ticket during maintenance" 0 "$(pd_ctl list --json | pd_json 'len(j)')"
pd_expect_match "maillog shows status=deferred" . \
    "$(grep -E 'to=<helpdesk@desk\.test>.*status=deferred' "$PF/maillog")"

pd_expect_ok "maintenance off" pd_ctl maintenance off
pd_flush
pd_expect_ok "queue empty after maintenance off" pd_wait_queue_empty 60
list=$(pd_ctl list --json)
pd_expect_eq "ticket appears after maintenance" 1 "$(pd_json 'len(j)' <<<"$list")"
pd_expect_eq "its title" "Pendant la maintenance" "$(pd_json 'j[0]["title"] if j else ""' <<<"$list")"

pd_lmtpd_stop
pd_expect_eq "SIGTERM: exit status 0" 0 "$PD_LMTPD_STATUS"
pd_finish
