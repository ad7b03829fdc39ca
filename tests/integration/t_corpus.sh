#!/bin/bash
# t_corpus - the hostile mail corpus through the real postdesk-lmtpd: every
# file of tests/corpus, and the big ones make-big.sh generates (a 20 MB
# attachment, a 1 MB line, 100 KB headers, thousands of parts...), is
# delivered over LMTP. Each must get either 250 with a ticket number, whose
# stored raw message (postdeskctl raw) is the delivered bytes exactly and
# whose show --json parses with valid UTF-8 everywhere, or a precise
# refusal (552 5.3.4 for size). Never a crash, a hang, a 4xx or a silence;
# the daemon must still be alive and exit 0 on SIGTERM at the end.
. "$(dirname "$0")/lib.sh" "$@"
PD_MAX_SIZE=41943040
pd_setup corpus
pd_lmtpd_start

big=$PD_DIR/big
sh "$PD_SRC/tests/corpus/make-big.sh" "$big" >/dev/null ||
    pd_die "make-big.sh failed"

cat >"$PD_DIR/corpus.py" <<'PYEOF'
import json, os, socket, subprocess, sys
port, ctl, conf = int(sys.argv[1]), sys.argv[2], sys.argv[3]
files = sorted(sys.argv[4:])
seen_bytes = {}

def out(ok, desc):
    print(("ok %s" % desc) if ok else ("FAIL %s" % desc))
    sys.stdout.flush()

def reply(f):
    lines = []
    while True:
        l = f.readline()
        if not l:
            return None, lines
        l = l.decode("utf-8", "replace").rstrip("\r\n")
        lines.append(l)
        if len(l) < 4 or l[3] != "-":
            return int(l[:3]) if l[:3].isdigit() else None, lines

def stuff(data):
    # Dot-stuff every line start (after LF, and the very first byte).
    res = bytearray()
    start = True
    for b in data:
        if start and b == 0x2e:
            res.append(0x2e)
        res.append(b)
        start = (b == 0x0a)
    return bytes(res)

def ctl_run(*args):
    return subprocess.run([ctl, "-c", conf] + list(args), capture_output=True,
                          timeout=120)

s = socket.create_connection(("127.0.0.1", port), timeout=300)
f = s.makefile("rb")
reply(f)
s.sendall(b"LHLO corpus.test\r\n")
reply(f)
for path in files:
    name = os.path.basename(path)
    data = open(path, "rb").read()
    expect = data if (not data or data.endswith(b"\n")) else data + b"\r\n"
    s.sendall(b"MAIL FROM:<corpus@example.org>\r\nRCPT TO:<helpdesk@desk.test>\r\nDATA\r\n")
    codes = [reply(f)[0] for _ in range(3)]
    if codes != [250, 250, 354]:
        out(False, "%s: envelope answers %r" % (name, codes))
        break
    s.sendall(stuff(expect) + b".\r\n")
    code, lines = reply(f)
    text = " ".join(lines)
    if code == 552 and "5.3.4" in text:
        out(len(expect) > 41943040, "%s: refused for size (%d bytes): %s" % (name, len(expect), text))
        continue
    if code != 250 or "ticket" not in text:
        out(False, "%s: expected 250 with a ticket or a precise refusal, got %r" % (name, lines))
        continue
    number = text.split("ticket ")[1].split()[0]
    if "already in ticket" in text:
        out(seen_bytes.get(expect) == number, "%s: duplicate of an identical earlier message" % name)
        continue
    r = ctl_run("show", number, "--json")
    try:
        j = json.loads(r.stdout.decode("utf-8"))   # strict: invalid UTF-8 raises
    except (ValueError, UnicodeDecodeError) as e:
        out(False, "%s: show --json of %s is not valid UTF-8 JSON: %s" % (name, number, e))
        continue
    # The newest mail from outside (postdesk's acknowledgement is a system
    # article of its own).
    mine = [a for a in j["articles"] if a["sender_type"] == "customer"]
    n = mine[-1]["index"] if mine else 0
    r = ctl_run("raw", number, str(n))
    out(r.returncode == 0 and r.stdout == expect,
        "%s: ticket %s article %d raw bytes identical (%d bytes)" % (name, number, n, len(expect)))
    out(bool(mine) and isinstance(mine[-1]["body"], str) and j["customer"] != "",
        "%s: readable view (body, customer %r)" % (name, j["customer"]))
    seen_bytes[expect] = number
s.sendall(b"QUIT\r\n")
PYEOF

files=$(ls "$PD_SRC"/tests/corpus/*.eml "$big"/*)
count=$(echo "$files" | wc -l)
[ "$count" -ge 30 ] && pd_pass "corpus has $count messages (at least 30)" ||
    pd_fail "corpus has only $count messages"

# shellcheck disable=SC2086
timeout 500 "$PD_PY" "$PD_DIR/corpus.py" "$PD_LMTP_PORT" "$PD_CTL" "$PD_CONF" $files \
    >"$PD_DIR/corpus.out" 2>&1
rc=$?
while read -r verdict rest; do
    case $verdict in
    ok) pd_pass "$rest" ;;
    FAIL) pd_fail "$rest" ;;
    *) echo "$verdict $rest" ;;
    esac
done <"$PD_DIR/corpus.out"
[ $rc -eq 0 ] && pd_pass "corpus driver finished" || pd_fail "corpus driver exited $rc"

pd_lmtpd_ready && pd_pass "postdesk-lmtpd alive after the corpus" ||
    pd_fail "postdesk-lmtpd died during the corpus"
pd_lmtpd_stop
pd_expect_eq "postdesk-lmtpd exits 0 on SIGTERM" 0 "$PD_LMTPD_STATUS"
pd_finish
