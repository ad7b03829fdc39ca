#!/bin/bash
# walkthrough.sh - a ticket's whole life by mail, on the quickstart instance
#
# Usage: bash contrib/walkthrough.sh      (as root, after contrib/quickstart.sh)
#
# Sends real mail through the quickstart's Postfix (127.0.0.1:2525, with
# postdesk-milter) and prints what each party receives, as in README.md:
#   1. marie.dupont@example.com writes to helpdesk@example.org;
#   2. alice gets a notification; its Reply-To is her signed address for
#      the ticket; she answers it with "#take", "#reply" and a text;
#   3. marie gets exactly that text, from helpdesk@example.org; alice gets
#      a transcript;
#   4. alice sets the ticket pending (#pending +3d), then closes it
#      (#state closed successful) with an internal note;
#   5. postdeskctl show prints the ticket and its history.
# Every mail is read from the local Maildirs run/mail/ADDRESS/new/.
set -euo pipefail

cd "$(dirname "$0")/.."
TOP=$PWD
RUN=$(readlink -f "$TOP/run" 2>/dev/null) || { echo "walkthrough.sh: run contrib/quickstart.sh first" >&2; exit 1; }
CTL="$TOP/build/cli/postdeskctl -c $RUN/postdesk.conf"
SMTP=127.0.0.1:2525
TAG=$$.$(date +%s)

die() { echo "walkthrough.sh: $*" >&2; exit 1; }

# newest ADDR - the newest mail file in run/mail/ADDR/new/, or ""
newest() { ls -t "$RUN/mail/$1/new/" 2>/dev/null | head -n 1 || true; }

# wait_new ADDR OLD - wait (60 s) for a mail newer than file OLD; print its path
wait_new() {
    local n
    for _ in $(seq 300); do
        n=$(newest "$1")
        if [ -n "$n" ] && [ "$n" != "$2" ]; then
            echo "$RUN/mail/$1/new/$n"
            return 0
        fi
        sleep 0.2
    done
    die "no new mail for $1 within 60 s"
}

# show_mail FILE - the headers that matter and the decoded body
show_mail() {
    python3 - "$1" <<'PYEOF'
import email, email.header, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for h in ("From", "To", "Cc", "Reply-To", "Subject", "In-Reply-To", "Auto-Submitted"):
    if m[h]:
        print("    %s: %s" % (h, m[h]))
part = m.get_body(preferencelist=("plain",))
print()
for line in (part.get_content() if part else "").rstrip().splitlines():
    print("    | " + line)
print()
PYEOF
}

# reply_to FILE - the addr-spec of the Reply-To of a mail
reply_to() {
    python3 -c 'import email, email.utils, sys; m = email.message_from_binary_file(open(sys.argv[1], "rb")); print(email.utils.parseaddr(m["Reply-To"] or "")[1])' "$1"
}

# send FROM-ADDR TO SUBJECT BODY [IN-REPLY-TO] - one mail through Postfix
send() {
    local f
    f=$(mktemp)
    {
        printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\n' "$1" "$2" "$3"
        printf 'Message-ID: <walk.%s.%s@%s>\r\nDate: %s\r\n' "$RANDOM" "$TAG" "${1##*@}" "$(date -R)"
        [ -z "${5:-}" ] || printf 'In-Reply-To: %s\r\n' "$5"
        printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n'
        printf 'Content-Transfer-Encoding: 8bit\r\n\r\n'
        printf '%s\n' "$4" | sed 's/$/\r/'
    } >"$f"
    swaks --silent 2 --server "$SMTP" --from "$1" --to "$2" --data "@$f" >/dev/null ||
        die "swaks could not send to $2"
    rm -f "$f"
}

MARIE=marie.dupont@example.com
ALICE=alice@example.org
old_m=$(newest "$MARIE")
old_a=$(newest "$ALICE")

echo "== 1. marie.dupont@example.com writes to helpdesk@example.org"
send "$MARIE" helpdesk@example.org "Imprimante en panne" \
    "Bonjour, l'imprimante du 2e étage ne marche plus."
ack=$(wait_new "$MARIE" "$old_m")
echo "-- marie gets one acknowledgement:"
show_mail "$ack"
note=$(wait_new "$ALICE" "$old_a")
echo "-- alice gets a notification (note the Reply-To):"
show_mail "$note"
RA=$(reply_to "$note")
N=$($CTL list --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["number"])')
SUBJ="Re: [Ticket#$N] Imprimante en panne"

echo "== 2. alice answers the notification with commands and a text"
BODY='#take
#reply

Bonjour Madame Dupont,

le bac 2 était coincé ; l'"'"'imprimante remarche. Dites-moi si le problème revient.

Alice Martin, support informatique'
printf '%s\n\n' "$BODY" | sed 's/^/    > /'
old_m=$(newest "$MARIE")
old_a=$(newest "$ALICE")
send "$ALICE" "$RA" "$SUBJ" "$BODY"
reply=$(wait_new "$MARIE" "$old_m")
echo "-- marie gets exactly alice's text:"
show_mail "$reply"
tr=$(wait_new "$ALICE" "$old_a")
echo "-- alice gets a transcript:"
show_mail "$tr"
RA=$(reply_to "$tr")

echo "== 3. alice sets the ticket pending for three days"
old_a=$(newest "$ALICE")
send "$ALICE" "$RA" "$SUBJ" '#pending +3d'
tr=$(wait_new "$ALICE" "$old_a")
show_mail "$tr"
RA=$(reply_to "$tr")

echo "== 4. alice closes it, with an internal note"
old_a=$(newest "$ALICE")
send "$ALICE" "$RA" "$SUBJ" '#state closed successful

Bac 2 remplacé le 28/11.'
tr=$(wait_new "$ALICE" "$old_a")
show_mail "$tr"

echo "== 5. postdeskctl show $N"
$CTL show "$N" | sed 's/^/    /'
