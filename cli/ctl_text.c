/*++
/* NAME
/*	ctl_text 3
/* SUMMARY
/*	terminal-safe text for postdeskctl's human output
/* SYNOPSIS
/*	#include "ctl_private.h"
/*
/*	size_t	ctl_text_put(out, str, multiline)
/*	struct buf *out;
/*	const char *str;
/*	int	multiline;
/*
/*	size_t	ctl_text_cell(out, str, width, pad)
/*	struct buf *out;
/*	const char *str;
/*	size_t	width;
/*	size_t	pad;
/*
/*	size_t	ctl_text_width(str)
/*	const char *str;
/* DESCRIPTION
/*	Mail data reaches an administrator's terminal through show and
/*	list, so it is cleaned on the way: a byte that does not start a
/*	valid UTF-8 sequence becomes U+FFFD, a C0 or C1 control character
/*	(escape sequences included) becomes '?'. With multiline set, LF
/*	and TAB are kept and the CR of a CRLF pair is dropped.
/*
/*	Display width is counted in code points (one column each), which
/*	is right for Latin, Greek and Cyrillic text and keeps the output
/*	predictable.
/*
/*	ctl_text_cell() writes at most width code points; a longer text
/*	is cut on a code point boundary, never inside a multi-byte
/*	sequence, and ends in "..." as one character (U+2026). It then
/*	pads with spaces up to pad code points.
/*
/*	str NULL is treated as "".
/* DIAGNOSTICS
/*	None. Buffer limits are the caller's: see ctl_run().
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdint.h>
#include <string.h>

#include "ctl_private.h"

#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */
#define ELLIPSIS	"\xe2\x80\xa6"	/* U+2026 */

/* utf8_decode - length of a valid sequence at s (and its code point), or 0 */

static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
	*cp = s[0];
	return (1);
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
	if ((s[1] & 0xc0) != 0x80)
	    return (0);
	*cp = ((uint32_t) (s[0] & 0x1f) << 6) | (s[1] & 0x3f);
	return (2);
    }
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
	if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
	    return (0);
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
	    return (0);
	*cp = ((uint32_t) (s[0] & 0x0f) << 12) | ((uint32_t) (s[1] & 0x3f) << 6)
	    | (s[2] & 0x3f);
	return (3);
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
	if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80
	    || (s[3] & 0xc0) != 0x80)
	    return (0);
	if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
	    return (0);
	*cp = ((uint32_t) (s[0] & 0x07) << 18) | ((uint32_t) (s[1] & 0x3f) << 12)
	    | ((uint32_t) (s[2] & 0x3f) << 6) | (s[3] & 0x3f);
	return (4);
    }
    return (0);
}

/* next_unit - the bytes to show for the next character of *sp; advances */

static size_t next_unit(const unsigned char **sp, int multiline,
			        const char **bytes_r)
{
    const unsigned char *s = *sp;
    uint32_t cp = 0;
    size_t  n = utf8_decode(s, &cp);

    if (n == 0) {
	*sp = s + 1;
	*bytes_r = REPLACEMENT;
	return (3);
    }
    *sp = s + n;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
	if (multiline && (cp == '\n' || cp == '\t')) {
	    *bytes_r = (const char *) s;
	    return (1);
	}
	if (multiline && cp == '\r' && s[1] == '\n') {
	    *bytes_r = "";
	    return (0);
	}
	*bytes_r = "?";
	return (1);
    }
    *bytes_r = (const char *) s;
    return (n);
}

/* ctl_text_put - append cleaned text, return code points */

size_t  ctl_text_put(struct buf *out, const char *str, int multiline)
{
    const unsigned char *s = (const unsigned char *) (str ? str : "");
    size_t  width = 0;

    while (*s) {
	const char *bytes;
	size_t  n = next_unit(&s, multiline, &bytes);

	if (n == 0)
	    continue;
	buf_append(out, bytes, n);
	width++;
    }
    return (width);
}

/* ctl_text_width - code points of the cleaned single-line text */

size_t  ctl_text_width(const char *str)
{
    const unsigned char *s = (const unsigned char *) (str ? str : "");
    size_t  width = 0;

    while (*s) {
	const char *bytes;

	if (next_unit(&s, 0, &bytes) > 0)
	    width++;
    }
    return (width);
}

/* ctl_text_cell - append a table cell: cut to width, pad to pad */

size_t  ctl_text_cell(struct buf *out, const char *str, size_t width,
		              size_t pad)
{
    const unsigned char *s = (const unsigned char *) (str ? str : "");
    size_t  total = ctl_text_width(str);
    size_t  keep = total <= width ? total : (width > 0 ? width - 1 : 0);
    size_t  done = 0;

    while (*s && done < keep) {
	const char *bytes;
	size_t  n = next_unit(&s, 0, &bytes);

	if (n == 0)
	    continue;
	buf_append(out, bytes, n);
	done++;
    }
    if (total > width && width > 0) {
	buf_append_str(out, ELLIPSIS);
	done++;
    }
    while (done < pad) {
	buf_append_char(out, ' ');
	done++;
    }
    return (done);
}
