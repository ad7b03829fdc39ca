/*++
/* NAME
/*	subject 3
/* SUMMARY
/*	ticket titles and ticket references from mail subjects
/* SYNOPSIS
/*	#include <lmtp.h>
/*
/*	char	*lmtp_subject_clean(subject, hook)
/*	const char *subject;
/*	const char *hook;
/*
/*	int	lmtp_subject_ticket(subject, hook, system_id, out)
/*	const char *subject;
/*	const char *hook;
/*	unsigned system_id;
/*	char	out[32];
/*
/*	#include "ingest_private.h"
/*
/*	int	lmtp_subject_forwarded(subject)
/*	const char *subject;
/* DESCRIPTION
/*	Pure functions over UTF-8 subjects; no allocation except the result
/*	of lmtp_subject_clean(). At most the first LMTP_SUBJECT_WORK_MAX
/*	(64 KB) bytes of a subject are looked at, cut at a character
/*	boundary, so a huge subject costs linear time and nothing more.
/*
/*	lmtp_subject_clean() returns the title of a ticket: every ticket
/*	tag is removed wherever it stands (the hook, optionally ":" and up
/*	to two spaces, then digits; with its square brackets when they
/*	surround it), then every leading reply or forward prefix, then runs
/*	of white space (ASCII, control characters and no-break spaces)
/*	become one space and the ends are trimmed. A prefix is one of the
/*	words below, case-insensitive (é and É alike), followed by an
/*	optional ".", an optional counter "[n]" or "(n)", optional spaces,
/*	and a colon (ASCII or full width):
/*	Re, Aw, Antw, Antwort, Sv, Vs, Vl, R, Rif, Res, Ref, Réf, Rép,
/*	Odp, Ynt, Atb, Fwd, Fw, Tr, Wg, Rv, Enc, Pd, Doorst, Wtr, Tr.
/*	Other bracketed text ("[list]") stays. The result is newly
/*	allocated (mem_free()), "" when nothing is left.
/*
/*	lmtp_subject_ticket() recognises a ticket reference as OTOBO does
/*	for the DateChecksum generator: the hook (case-insensitive), then
/*	directly the number, or ":" and up to two spaces and the number.
/*	The number is 8 digits, the system id printed with two digits
/*	("10"), and 4 to 40 more digits; brackets are optional and what
/*	follows the digits does not matter. Hook occurrences that are not
/*	followed by such a number are skipped; the first that is wins.
/*
/*	lmtp_subject_forwarded() tells whether a forward marker is among
/*	the leading prefixes (used to keep a forwarded message whole).
/* DIAGNOSTICS
/*	lmtp_subject_ticket() returns 0 and fills out, or -1 when the
/*	subject has no reference (out is then ""). A candidate whose
/*	number would not fit in out (more than 31 digits) ends the search
/*	with -1, as OTOBO gives up after the first candidate.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "lmtp.h"
#include "ingest_private.h"

/* The prefixes, lowercase UTF-8; forward = 1 for forward markers. */
static const struct prefix {
    const char *word;
    int     forward;
} prefixes[] = {
    {"re", 0}, {"aw", 0}, {"antw", 0}, {"antwort", 0}, {"sv", 0},
    {"vs", 1}, {"vl", 0}, {"r", 0}, {"rif", 0}, {"res", 0}, {"ref", 0},
    {"r\xc3\xa9" "f", 0}, {"r\xc3\xa9" "p", 0}, {"odp", 0}, {"ynt", 0},
    {"atb", 0}, {"fwd", 1}, {"fw", 1}, {"tr", 1}, {"wg", 1}, {"rv", 1},
    {"enc", 1}, {"pd", 1}, {"doorst", 1}, {"wtr", 1},
};

/* work_len - the bytes of s looked at: capped, cut at a char boundary */

static size_t work_len(const char *s)
{
    size_t  n = strnlen(s, LMTP_SUBJECT_WORK_MAX + 1);

    if (n > LMTP_SUBJECT_WORK_MAX) {
	n = LMTP_SUBJECT_WORK_MAX;
	while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
	    n--;
    }
    return (n);
}

/* space_len - length of the white space character at s (0: none) */

static size_t space_len(const char *s, const char *end)
{
    const unsigned char *u = (const unsigned char *) s;

    if (s >= end)
	return (0);
    if (u[0] < 0x20 || u[0] == ' ' || u[0] == 0x7f)
	return (1);
    if (end - s >= 2 && u[0] == 0xC2 && u[1] == 0xA0)	/* NBSP */
	return (2);
    if (end - s >= 3 && u[0] == 0xE2 && u[1] == 0x80 && u[2] == 0xAF)
	return (3);				/* narrow NBSP (French) */
    return (0);
}

/* fold_byte - lowercase one byte of a UTF-8 text for comparison */

static unsigned char fold_byte(const unsigned char *s, size_t i)
{
    unsigned char c = s[i];

    if (c >= 'A' && c <= 'Z')
	return (c + 32);
    /* Latin-1 capitals U+00C0..U+00DE (except U+00D7) as 0xC3 0x80..0x9E */
    if (i > 0 && s[i - 1] == 0xC3 && c >= 0x80 && c <= 0x9E && c != 0x97)
	return (c + 32);
    return (c);
}

/* match_word - length of word at s, case-folded, or 0 */

static size_t match_word(const char *s, const char *end, const char *word)
{
    size_t  n = strlen(word);
    size_t  i;

    if ((size_t) (end - s) < n)
	return (0);
    for (i = 0; i < n; i++)
	if (fold_byte((const unsigned char *) s, i) != (unsigned char) word[i])
	    return (0);
    return (n);
}

/* match_prefix - length of one reply/forward prefix at s, or 0 */

static size_t match_prefix(const char *s, const char *end, int *forward_r)
{
    size_t  i;
    size_t  n;
    size_t  sp;
    const char *p;

    for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
	if ((n = match_word(s, end, prefixes[i].word)) == 0)
	    continue;
	p = s + n;
	if (p < end && *p == '.')
	    p++;
	if (p < end && (*p == '[' || *p == '(')) {
	    char    close = (*p == '[') ? ']' : ')';
	    const char *q = p + 1;

	    while (q < end && *q >= '0' && *q <= '9')
		q++;
	    if (q == p + 1 || q >= end || *q != close)
		continue;
	    p = q + 1;
	}
	while ((sp = space_len(p, end)) > 0)
	    p += sp;
	if (p < end && *p == ':')
	    p++;
	else if (end - p >= 3 && memcmp(p, "\xef\xbc\x9a", 3) == 0)
	    p += 3;				/* full-width colon */
	else
	    continue;
	if (forward_r)
	    *forward_r = prefixes[i].forward;
	return (p - s);
    }
    return (0);
}

/* match_tag - length of a ticket tag (any digits) at s, or 0 */

static size_t match_tag(const char *s, const char *end, const char *hook,
			        size_t hook_len)
{
    const char *p = s + hook_len;
    const char *digits;
    int     spaces = 0;

    if ((size_t) (end - s) < hook_len || strncasecmp(s, hook, hook_len) != 0)
	return (0);
    if (p < end && *p == ':') {
	p++;
	while (p < end && *p == ' ' && spaces < 2) {
	    p++;
	    spaces++;
	}
    }
    digits = p;
    while (p < end && *p >= '0' && *p <= '9')
	p++;
    return (p > digits ? (size_t) (p - s) : 0);
}

/* remove_tags - copy s[0..len) to out without ticket tags */

static void remove_tags(struct buf *out, const char *s, size_t len,
			        const char *hook)
{
    const char *end = s + len;
    const char *p = s;
    size_t  hook_len = hook ? strlen(hook) : 0;
    size_t  n;

    while (p < end) {
	if (hook_len > 0 && (n = match_tag(p, end, hook, hook_len)) > 0) {
	    /* Drop a "[" just written and a "]" just after the tag. */
	    if (buf_len(out) > 0 && buf_data(out)[buf_len(out) - 1] == '['
		&& p + n < end && p[n] == ']') {
		buf_truncate(out, buf_len(out) - 1);
		n++;
	    }
	    buf_append_char(out, ' ');
	    p += n;
	    continue;
	}
	buf_append_char(out, *p);
	p++;
    }
}

/* lmtp_subject_clean - the ticket title of a subject */

char   *lmtp_subject_clean(const char *subject, const char *hook)
{
    struct buf *tmp;
    struct buf *out;
    const char *p;
    const char *end;
    size_t  n;
    int     pending_space = 0;
    char   *result;

    if (subject == 0)
	return (mem_strdup(""));
    tmp = buf_create(strlen(subject) + 1, 0);
    remove_tags(tmp, subject, work_len(subject), hook);
    p = buf_data(tmp);
    end = p + buf_len(tmp);

    /* Leading prefixes, with the white space around them. */
    for (;;) {
	while ((n = space_len(p, end)) > 0)
	    p += n;
	if ((n = match_prefix(p, end, 0)) == 0)
	    break;
	p += n;
    }

    /* Collapse white space, trim. */
    out = buf_create(end - p + 1, 0);
    while (p < end) {
	if ((n = space_len(p, end)) > 0) {
	    pending_space = 1;
	    p += n;
	    continue;
	}
	if (pending_space && buf_len(out) > 0)
	    buf_append_char(out, ' ');
	pending_space = 0;
	buf_append_char(out, *p++);
    }
    result = buf_steal(out, 0);
    buf_destroy(&out);
    buf_destroy(&tmp);
    return (result);
}

/* lmtp_subject_forwarded - is a forward marker among the prefixes? */

int     lmtp_subject_forwarded(const char *subject)
{
    const char *p = subject;
    const char *end;
    size_t  n;
    int     forward = 0;

    if (subject == 0)
	return (0);
    end = subject + work_len(subject);
    for (;;) {
	while ((n = space_len(p, end)) > 0)
	    p += n;
	if ((n = match_prefix(p, end, &forward)) == 0)
	    return (0);
	if (forward)
	    return (1);
	p += n;
    }
}

/* number_at - length of an OTOBO DateChecksum number at p, or 0 */

static size_t number_at(const char *p, const char *end, const char *sid,
			        size_t sid_len)
{
    size_t  run = 0;
    size_t  max = 8 + sid_len + 40;

    while (p + run < end && p[run] >= '0' && p[run] <= '9')
	run++;
    if (run < 8 + sid_len + 4 || memcmp(p + 8, sid, sid_len) != 0)
	return (0);
    return (run > max ? max : run);
}

/* lmtp_subject_ticket - the first ticket reference in a subject */

int     lmtp_subject_ticket(const char *subject, const char *hook,
			            unsigned system_id, char out[32])
{
    const char *p;
    const char *end;
    const char *q;
    size_t  hook_len;
    size_t  n;
    char    sid[16];
    size_t  sid_len;
    int     spaces;

    out[0] = 0;
    if (subject == 0 || hook == 0 || (hook_len = strlen(hook)) == 0)
	return (-1);
    sid_len = (size_t) snprintf(sid, sizeof(sid), "%02u", system_id);
    end = subject + work_len(subject);
    for (p = subject; p + hook_len <= end; p++) {
	if (strncasecmp(p, hook, hook_len) != 0)
	    continue;
	q = p + hook_len;
	if (q < end && *q == ':') {
	    q++;
	    for (spaces = 0; spaces < 2 && q < end && *q == ' '; spaces++)
		q++;
	}
	if ((n = number_at(q, end, sid, sid_len)) == 0)
	    continue;
	if (n > 31)
	    return (-1);
	memcpy(out, q, n);
	out[n] = 0;
	return (0);
    }
    return (-1);
}
