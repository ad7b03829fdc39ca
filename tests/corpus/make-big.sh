#!/bin/sh
# make-big.sh - generate the big hostile messages of the ingest corpus.
#
# Usage: make-big.sh OUTDIR
#
# These messages are too big to commit (a 20 MB attachment, a 1 MB line,
# 100 KB headers, thousands of recipients, thousands of parts). The
# output is deterministic; tests/unit/test_ingest.c runs this script into
# a temporary directory and parses every file. Needs only POSIX sh, awk,
# head and base64 (coreutils).
set -eu
out=${1:?usage: make-big.sh OUTDIR}
mkdir -p "$out"

hdr() {
    printf 'From: Big Sender <big@example.org>\nTo: helpdesk@example.org\n'
    printf 'Date: Fri, 27 Nov 2026 09:14:03 +0100\nMIME-Version: 1.0\n'
    printf 'Subject: %s\nMessage-ID: <%s@example.org>\n' "$1" "$2"
}

# A 20 MB attachment (base64, 76-column lines) after a short text part.
{
    hdr "20 MB attachment" big-attachment
    printf 'Content-Type: multipart/mixed; boundary="big"\n\n'
    printf -- '--big\nContent-Type: text/plain; charset=utf-8\n\nSee the attached file.\n'
    printf -- '--big\nContent-Type: application/octet-stream; name="big.bin"\n'
    printf 'Content-Disposition: attachment; filename="big.bin"\n'
    printf 'Content-Transfer-Encoding: base64\n\n'
    head -c 20971520 /dev/zero | base64 -w 76
    printf -- '--big--\n'
} > "$out/big-attachment-20mb.eml"

# One body line of 1 MB (no line end at all inside it).
{
    hdr "1 MB line" long-line
    printf 'Content-Type: text/plain; charset=utf-8\n\n'
    awk 'BEGIN { s = "0123456789abcdef"; for (i = 0; i < 16; i++) s = s s;
                 printf "%s\n", s }'
} > "$out/long-line-1mb.eml"

# A 100 KB unfolded header and a 100 KB Subject.
{
    awk 'BEGIN { s = "x"; for (i = 0; i < 17; i++) s = s s;
                 printf "X-Big: %s\n", substr(s, 1, 102400);
                 t = "Re: ";
                 for (i = 0; i < 10240; i++) t = t "caf\303\251 ";
                 printf "Subject: %s\n", t }'
    printf 'From: a@example.org\nTo: helpdesk@example.org\nMessage-ID: <h100k@example.org>\n\n100 KB header\n'
} > "$out/header-100kb.eml"

# 5000 recipients in To:, folded one per line.
{
    printf 'From: a@example.org\nSubject: 5000 recipients\nTo: r0@example.org'
    awk 'BEGIN { for (i = 1; i < 5000; i++) printf ",\n User %d <r%d@example.org>", i, i }'
    printf '\n\nbody\n'
} > "$out/many-recipients-5000.eml"

# A multipart with 1000 tiny parts, every 2nd one a named attachment.
{
    hdr "1000 tiny parts" tiny-parts
    printf 'Content-Type: multipart/mixed; boundary="t"\n\n'
    awk 'BEGIN { for (i = 0; i < 1000; i++) {
                   printf "--t\nContent-Type: text/plain\n";
                   if (i % 2) printf "Content-Disposition: attachment; filename=\"p%d.txt\"\n", i;
                   printf "\npart %d\n", i } }'
    printf -- '--t--\n'
} > "$out/tiny-parts-1000.eml"

# 5000 nested multiparts (the committed corpus has 200).
{
    hdr "5000 nested multiparts" nested-5000
    printf 'Content-Type: multipart/mixed; boundary="n0"\n\n'
    awk 'BEGIN { n = 5000;
                 for (i = 0; i < n; i++)
                   printf "--n%d\nContent-Type: multipart/mixed; boundary=\"n%d\"\n\n", i, i + 1;
                 printf "--n%d\nContent-Type: text/plain\n\ndeepest\n--n%d--\n", n, n;
                 for (i = n - 1; i >= 0; i--) printf "--n%d--\n", i }'
} > "$out/nested-multipart-5000.eml"

# 2000 message ids in References:.
{
    hdr "Re: 2000 references" many-refs
    printf 'References:'
    awk 'BEGIN { for (i = 0; i < 2000; i++) printf "\n <ref%d@example.org>", i }'
    printf '\nIn-Reply-To: <ref1999@example.org>\n\nbody\n'
} > "$out/many-references-2000.eml"
