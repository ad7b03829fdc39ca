# shellcheck shell=bash
# outbound.sh - helpers of the outbound mail integration tests
#
# Sourced after lib.sh by t_outbound*.sh (it is not a test itself: ctest
# registers t_*.sh only). Usage:
#
#	. "$(dirname "$0")/lib.sh" "$@"
#	. "$(dirname "$0")/outbound.sh"
#	pd_setup NAME
#	ob_conf [EXTRA POSTDESK KEYS...]	# agents, templates; rewrites the conf
#	pd_postfix_start; pd_lmtpd_start
#	ob_wait_outbox_sent 3 90		# 3 rows, all sent
#	ob_mails | pd_json '...'		# what left Postfix (the sink)
#	ob_mail FROM RCPT SUBJECT BODY; ob_send ENVFROM RCPT "$f"	# a mail
#
# Agents (all outside desk.test, so their mail goes to the sink):
#	alice  helpdesk, subscribes Helpdesk, fr
#	bob    helpdesk, subscribes Helpdesk, en
#	carol  network,  subscribes Network (never told about Helpdesk)
#	dave   helpdesk, subscribes nothing (never told)
#	frank  helpdesk, subscribes Helpdesk, notify = follow-up only (never
#	       told about new tickets; no transcript of applied commands)

# ob_conf [KEY=VALUE...] - copy the templates into PD_DIR (the daemon runs
# as postdesk and may not read the source tree), then rewrite postdesk.conf
# with the agents above and a second [postdesk] group (GLib merges it)
# with templates_dir and the given keys (keys of the first group, such as
# relay, cannot be given twice: change those with sed).
ob_conf() {
    local kv extra=""
    mkdir -p "$PD_DIR/templates"
    cp -r "$PD_SRC/contrib/templates/." "$PD_DIR/templates/"
    chmod -R a+rX "$PD_DIR/templates"
    for kv in "$@"; do
        extra="$extra${kv%%=*} = ${kv#*=}
"
    done
    PD_CONF_EXTRA="
[agent alice]
name = Alice Martin
email = alice@agents.test
groups = helpdesk
subscribe = Helpdesk
language = fr
notify = new-ticket;follow-up;new-note;lock;owner;move;escalation;transcript

[agent bob]
name = Bob Smith
email = bob@agents.test
groups = helpdesk
subscribe = Helpdesk
language = en
notify = new-ticket;follow-up;new-note;lock;owner;move;escalation;transcript

[agent carol]
name = Carol Network
email = carol@agents.test
groups = network
subscribe = Network
language = en

[agent dave]
name = Dave Quiet
email = dave@agents.test
groups = helpdesk
language = fr

[agent frank]
name = Frank Filter
email = frank@agents.test
groups = helpdesk
subscribe = Helpdesk
language = fr
notify = follow-up

[postdesk]
templates_dir = $PD_DIR/templates
$extra"
    pd_write_conf
    pd_ctl check-config >/dev/null 2>&1 ||
        pd_die "ob_conf: postdesk.conf does not check: $(pd_ctl check-config 2>&1 | head -n 5)"
}

# ob_outbox_json - postdeskctl outbox --all --json ("[]" on failure)
ob_outbox_json() {
    local j
    j=$(pd_ctl outbox --all --json 2>/dev/null) || j="[]"
    [ -n "$j" ] || j="[]"
    printf '%s\n' "$j"
}

# ob_outbox_all_sent N - at least N rows, all sent
ob_outbox_all_sent() {
    [ "$(ob_outbox_json | pd_json "int(len(j) >= $1 and all(r['state'] == 'sent' for r in j))")" = 1 ]
}

# ob_wait_outbox_sent N TIMEOUT - wait until ob_outbox_all_sent N, then
# until Postfix has handed everything to the sink; on timeout show the
# outbox and return 1
ob_wait_outbox_sent() {
    if ! pd_wait_for "$2" ob_outbox_all_sent "$1"; then
        echo "# outbox after $2 s (expected $1 rows, all sent):"
        pd_ctl outbox --all 2>&1 | head -n 40
        return 1
    fi
    pd_wait_queue_empty 60
}

# ob_mails - JSON array of the mails the sink captured, oldest first:
# file, sender (envelope, "" = null), rcpts, and the headers from,
# to, subject (decoded), message_id, in_reply_to, references,
# auto_submitted, loop (X-Postdesk-Loop, all of them joined by ","),
# reply_to, precedence, and body (decoded text)
ob_mails() {
    "$PD_PY" - "$PD_DIR/outbound" <<'PYEOF'
import email, email.header, glob, json, os, sys

def text(v):
    if v is None:
        return None
    try:
        return str(email.header.make_header(email.header.decode_header(str(v))))
    except Exception:
        return str(v)

def body(msg):
    out = []
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        data = part.get_payload(decode=True) or b""
        out.append(data.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(out)

mails = []
files = [f for f in glob.glob(os.path.join(sys.argv[1], "*")) if os.path.isfile(f)]
for f in sorted(files, key=lambda p: (os.path.getmtime(p), p)):
    with open(f, "rb") as fp:
        msg = email.message_from_bytes(fp.read())
    args = (msg.get("X-Mail-Args") or "").split()
    sender = args[0][1:-1] if args and args[0].startswith("<") else None
    rcpts = [a.split()[0].strip("<>") for a in msg.get_all("X-Rcpt-Args", [])]
    mails.append({
        "file": os.path.basename(f), "sender": sender, "rcpts": rcpts,
        "from": text(msg.get("From")), "to": text(msg.get("To")),
        "subject": text(msg.get("Subject")),
        "message_id": (msg.get("Message-ID") or "").strip(),
        "in_reply_to": (msg.get("In-Reply-To") or "").strip(),
        "references": (msg.get("References") or "").strip(),
        "auto_submitted": (msg.get("Auto-Submitted") or "").strip(),
        "loop": ",".join(v.strip() for v in msg.get_all("X-Postdesk-Loop", [])),
        "reply_to": text(msg.get("Reply-To")),
        "precedence": msg.get("Precedence"),
        "body": body(msg),
    })
print(json.dumps(mails))
PYEOF
}

# ob_count_to ADDR - number of captured mails with envelope recipient ADDR
ob_count_to() {
    ob_mails | pd_json "len([m for m in j if '$1' in m['rcpts']])"
}

# ob_relay_off, ob_relay_on - stop and restore Postfix's submission
# listener (the relay of the outbox sender): connections are refused
# while it is off
ob_relay_off() {
    cp "$PF/etc/master.cf" "$PD_DIR/master.cf.relay-on"
    postconf -c "$PF/etc" -M# "127.0.0.1:$PD_SUB_PORT/inet" ||
        pd_die "cannot comment out the submission listener"
    postfix -c "$PF/etc" reload >/dev/null 2>&1
    pd_wait_for 20 ob_not_listening "$PD_SUB_PORT" ||
        pd_die "submission listener 127.0.0.1:$PD_SUB_PORT still listens after reload"
}

ob_relay_on() {
    cp "$PD_DIR/master.cf.relay-on" "$PF/etc/master.cf"
    postfix -c "$PF/etc" reload >/dev/null 2>&1
    pd_wait_for 20 pd_port_listening "$PD_SUB_PORT" ||
        pd_die "submission listener 127.0.0.1:$PD_SUB_PORT did not come back"
}

ob_not_listening() { ! pd_port_listening "$1"; }

# ob_free_port - one free loopback port chosen by the kernel (pd_free_ports
# is seeded with the test's pid and would repeat pd_setup's ports)
ob_free_port() {
    "$PD_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ob_mail FROM RCPT SUBJECT BODY [EXTRA-HEADER] - write a text/plain UTF-8
# message file (CRLF) as an agent's or requester's mail client would;
# its path in f, its Message-ID <obN.PID@agents.test> in mid
OB_SEQ=0
ob_mail() {
    OB_SEQ=$((OB_SEQ + 1))
    f="$PD_DIR/ob$OB_SEQ.eml"
    mid="<ob$OB_SEQ.$$.$(date +%s)@agents.test>"
    {
        printf 'From: %s\r\n' "$1"
        printf 'To: <%s>\r\n' "$2"
        printf 'Subject: %s\r\n' "$3"
        printf 'Message-ID: %s\r\n' "$mid"
        printf 'Date: %s\r\n' "$(date -R)"
        [ -z "${5:-}" ] || printf '%s\r\n' "$5"
        printf 'MIME-Version: 1.0\r\n'
        printf 'Content-Type: text/plain; charset=utf-8\r\n'
        printf 'Content-Transfer-Encoding: 8bit\r\n\r\n'
        printf '%s\r\n' "$4" | sed 's/$/\r/; s/\r\r$/\r/'
    } >"$f"
}

# ob_send ENVFROM RCPT FILE - submit a message file through Postfix's
# smtpd and wait until Postfix's queue is empty
ob_send() {
    {
        echo "=== ob_send $1 -> $2: $3"
        timeout 60 swaks --server "127.0.0.1:$PD_SMTP_PORT" --helo client.test \
            --from "$1" --to "$2" --data "@$3"
    } >>"$PD_DIR/swaks.log" 2>&1 || {
        pd_tail "$PD_DIR/swaks.log" 20
        pd_fail "swaks could not send $3 to $2"
        return 1
    }
    pd_wait_queue_empty 60 || pd_fail "mail $3 still in Postfix's queue"
}

# ob_reply_to ADDR - the signed Reply-To address of the newest captured
# mail to ADDR, or ""
ob_reply_to() {
    ob_mails | pd_json "([m for m in j if '$1' in m['rcpts']] or [{}])[-1].get('reply_to') or ''" |
        sed 's/.*<//; s/>.*//'
}
