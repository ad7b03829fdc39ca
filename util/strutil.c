/*++
/* NAME
/*	strutil 3
/* SUMMARY
/*	small string helpers
/* SYNOPSIS
/*	#include <util.h>
/*
/*	char	*str_lower(str)
/*	char	*str_sanitize(str, max)
/*	int	str_json_escape(out, str)
/* DESCRIPTION
/*	str_lower() lowercases ASCII letters in place.
/*
/*	str_sanitize() returns a copy (mem_free()) of at most max bytes in
/*	which every control character, CR and LF included, is '?': safe
/*	in a log line or an outbound header.
/*
/*	str_json_escape() appends a JSON string literal; NULL becomes null.
/*	Invalid UTF-8 is replaced by U+FFFD so the output always parses.
/*	It returns -1 when the buffer limit is reached.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>

#include "util.h"

char   *str_lower(char *str)
{
    for (char *cp = str; *cp; cp++)
	if (*cp >= 'A' && *cp <= 'Z')
	    *cp += 'a' - 'A';
    return (str);
}

char   *str_sanitize(const char *str, size_t max)
{
    char   *out = mem_strndup(str ? str : "", max);

    for (unsigned char *cp = (unsigned char *) out; *cp; cp++)
	if (*cp < 0x20 || *cp == 0x7f)
	    *cp = '?';
    return (out);
}

/* utf8_len - length of a valid UTF-8 sequence at s, or 0 */

static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
	return (1);
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
	return ((s[1] & 0xc0) == 0x80 ? 2 : 0);
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
	if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
	    return (0);
	if (s[0] == 0xe0 && s[1] < 0xa0)
	    return (0);
	if (s[0] == 0xed && s[1] >= 0xa0)
	    return (0);
	return (3);
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
	if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
	    return (0);
	if (s[0] == 0xf0 && s[1] < 0x90)
	    return (0);
	if (s[0] == 0xf4 && s[1] >= 0x90)
	    return (0);
	return (4);
    }
    return (0);
}

int     str_json_escape(struct buf *out, const char *str)
{
    const unsigned char *s = (const unsigned char *) str;
    int     ret = 0;

    if (str == 0)
	return (buf_append_str(out, "null"));
    ret |= buf_append_char(out, '"');
    while (*s) {
	size_t  n;

	switch (*s) {
	case '"':
	    ret |= buf_append_str(out, "\\\"");
	    s++;
	    continue;
	case '\\':
	    ret |= buf_append_str(out, "\\\\");
	    s++;
	    continue;
	case '\n':
	    ret |= buf_append_str(out, "\\n");
	    s++;
	    continue;
	case '\r':
	    ret |= buf_append_str(out, "\\r");
	    s++;
	    continue;
	case '\t':
	    ret |= buf_append_str(out, "\\t");
	    s++;
	    continue;
	}
	if (*s < 0x20 || *s == 0x7f) {
	    ret |= buf_printf(out, "\\u%04x", *s);
	    s++;
	    continue;
	}
	if ((n = utf8_len(s)) == 0) {
	    ret |= buf_append_str(out, "\xef\xbf\xbd");
	    s++;
	    continue;
	}
	ret |= buf_append(out, s, n);
	s += n;
    }
    ret |= buf_append_char(out, '"');
    return (ret ? -1 : 0);
}
