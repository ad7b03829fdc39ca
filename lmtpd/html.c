/*++
/* NAME
/*	html 3
/* SUMMARY
/*	readable text from an HTML mail part
/* SYNOPSIS
/*	#include "ingest_private.h"
/*
/*	char	*lmtp_html_to_text(html, len)
/*	const char *html;
/*	size_t	len;
/* DESCRIPTION
/*	lmtp_html_to_text() turns the HTML of an HTML-only mail into the
/*	text view of its article, in one linear pass with no DOM:
/* .IP \(bu
/*	comments, <script>, <style> and <head> (with their content, when
/*	they are closed) and every other tag are dropped;
/* .IP \(bu
/*	<br> ends a line; block elements (p, div, h1-h6, li, tr, table,
/*	blockquote, pre, hr, ...) end a paragraph or a line; <li> starts
/*	with "- "; table cells are separated by a space;
/* .IP \(bu
/*	text inside <blockquote> is prefixed with "> " per level, so that
/*	the quote trimming of the ingest sees it as quoted;
/* .IP \(bu
/*	a link keeps its text; its target follows in angle brackets when
/*	it is an http(s) or mailto URL that differs from the text;
/* .IP \(bu
/*	character references are decoded (numeric, hexadecimal, and the
/*	common named ones; &nbsp; is a space); unknown ones stay as text;
/* .IP \(bu
/*	white space collapses to one space, except inside <pre>; at most
/*	one blank line in a row; the ends are trimmed.
/* .PP
/*	The input must be UTF-8 (the ingest converts and repairs it first);
/*	the output is then UTF-8 too: newly allocated, free with mem_free().
/*	A <meta> charset is ignored: the MIME charset has been applied.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>
#include <strings.h>

#include <glib.h>

#include "util.h"
#include "ingest_private.h"

struct render {
    struct buf *out;
    int     pending_space;
    int     pending_lines;		/* newlines owed before next text */
    int     quote;			/* blockquote depth */
    int     pre;			/* inside <pre> */
    char   *href;			/* current link target, or NULL */
    size_t  link_start;			/* output offset of the link text */
    unsigned unclosed;			/* bit per skip_names[]: no end tag left */
};

/* Elements dropped with their content. */
static const char *const skip_names[] = {"script", "style", "head", 0};

static const struct entity {
    const char *name;
    unsigned code;
} entities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
    {"nbsp", ' '}, {"eacute", 0xE9}, {"egrave", 0xE8}, {"ecirc", 0xEA},
    {"euml", 0xEB}, {"agrave", 0xE0}, {"acirc", 0xE2}, {"auml", 0xE4},
    {"ccedil", 0xE7}, {"icirc", 0xEE}, {"iuml", 0xEF}, {"ocirc", 0xF4},
    {"ouml", 0xF6}, {"ugrave", 0xF9}, {"ucirc", 0xFB}, {"uuml", 0xFC},
    {"szlig", 0xDF}, {"Eacute", 0xC9}, {"Egrave", 0xC8}, {"Agrave", 0xC0},
    {"Auml", 0xC4}, {"Ouml", 0xD6}, {"Uuml", 0xDC}, {"Ccedil", 0xC7},
    {"laquo", 0xAB}, {"raquo", 0xBB}, {"copy", 0xA9}, {"reg", 0xAE},
    {"deg", 0xB0}, {"euro", 0x20AC}, {"ndash", 0x2013}, {"mdash", 0x2014},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"hellip", 0x2026}, {"bull", 0x2022},
    {"middot", 0xB7}, {"shy", 0xAD}, {"zwnj", 0x200C}, {"zwj", 0x200D},
};

static const char *const block_tags[] = {
    "div", "tr", "dt", "dd", "section", "article", "header", "footer",
    "nav", "aside", "form", "fieldset", "address", "center", "figure",
    "figcaption", "main", "caption", "option", "title", 0,
};
static const char *const para_tags[] = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table",
    "hr", 0,
};

/* in_list - is name (lowercase) one of list? */

static int in_list(const char *name, const char *const *list)
{
    for (; *list; list++)
	if (strcmp(name, *list) == 0)
	    return (1);
    return (0);
}

/* want_lines - ask for n newlines before the next text */

static void want_lines(struct render *r, int n, int add)
{
    if (buf_len(r->out) == 0)
	return;
    r->pending_lines = add ? r->pending_lines + n : MAX(r->pending_lines, n);
    if (r->pending_lines > 2)
	r->pending_lines = 2;
    r->pending_space = 0;
}

/* line_prefix - "> " per blockquote level at the start of a line */

static void line_prefix(struct render *r)
{
    int     i;

    for (i = 0; i < r->quote; i++)
	buf_append_str(r->out, "> ");
}

/* put_text - append len bytes of visible text */

static void put_text(struct render *r, const char *s, size_t len)
{
    size_t  n = buf_len(r->out);

    if (r->pending_lines > 0 && n > 0) {
	while (r->pending_lines-- > 0)
	    buf_append_char(r->out, '\n');
	line_prefix(r);
    } else if (n == 0) {
	line_prefix(r);
    } else if (r->pending_space && buf_data(r->out)[n - 1] != '\n'
	       && buf_data(r->out)[n - 1] != ' ') {
	buf_append_char(r->out, ' ');
    }
    r->pending_lines = 0;
    r->pending_space = 0;
    buf_append(r->out, s, len);
}

/* put_code - append one decoded character */

static void put_code(struct render *r, gunichar code)
{
    char    utf8[8];
    int     n;

    if (code == ' ') {
	r->pending_space = 1;
	return;
    }
    if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
	code = 0xFFFD;
    n = g_unichar_to_utf8(code, utf8);
    put_text(r, utf8, n);
}

/* entity_at - decode a character reference at s ("&..."); 0 if none */

static size_t entity_at(const char *s, const char *end, gunichar *code_r)
{
    const char *p = s + 1;
    gunichar code = 0;
    size_t  i;
    size_t  n;

    if (p < end && *p == '#') {
	int     hex = (p + 1 < end && (p[1] == 'x' || p[1] == 'X'));
	const char *digits;

	p += hex ? 2 : 1;
	digits = p;
	while (p < end && p - digits < 8 && (hex ? g_ascii_isxdigit(*p)
					     : g_ascii_isdigit(*p))) {
	    code = code * (hex ? 16 : 10)
		+ (hex ? (gunichar) g_ascii_xdigit_value(*p)
		   : (gunichar) (*p - '0'));
	    p++;
	}
	if (p == digits)
	    return (0);
	if (p < end && *p == ';')
	    p++;
	*code_r = code;
	return (p - s);
    }
    for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
	n = strlen(entities[i].name);
	if ((size_t) (end - p) > n && memcmp(p, entities[i].name, n) == 0
	    && p[n] == ';') {
	    *code_r = entities[i].code;
	    return (n + 2);
	}
    }
    return (0);
}

/* decode_attr - an attribute value with character references decoded */

static char *decode_attr(const char *s, size_t len)
{
    struct buf *b = buf_create(len + 1, 0);
    const char *end = s + len;
    gunichar code;
    size_t  n;
    char    utf8[8];
    char   *result;

    while (s < end) {
	if (*s == '&' && (n = entity_at(s, end, &code)) > 0) {
	    if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
		code = 0xFFFD;
	    buf_append(b, utf8, g_unichar_to_utf8(code, utf8));
	    s += n;
	} else {
	    buf_append_char(b, *s++);
	}
    }
    result = buf_steal(b, 0);
    buf_destroy(&b);
    return (result);
}

/* find_href - the href attribute in the attribute text of a tag */

static char *find_href(const char *s, const char *end)
{
    const char *p;
    char    quote;
    const char *v;

    for (p = s; p + 5 <= end; p++) {
	if (g_ascii_strncasecmp(p, "href", 4) != 0
	    || (p > s && !g_ascii_isspace(p[-1])))
	    continue;
	p += 4;
	while (p < end && g_ascii_isspace(*p))
	    p++;
	if (p >= end || *p != '=')
	    return (0);
	p++;
	while (p < end && g_ascii_isspace(*p))
	    p++;
	quote = (p < end && (*p == '"' || *p == '\'')) ? *p++ : 0;
	for (v = p; p < end && (quote ? *p != quote : !g_ascii_isspace(*p)); p++)
	     /* void */ ;
	return (decode_attr(v, p - v));
    }
    return (0);
}

/* end_link - after </a>: show the target when it adds something */

static void end_link(struct render *r)
{
    const char *text;
    const char *target;
    size_t  text_len;

    if (r->href == 0)
	return;
    target = r->href;
    if (g_ascii_strncasecmp(target, "http://", 7) == 0
	|| g_ascii_strncasecmp(target, "https://", 8) == 0
	|| g_ascii_strncasecmp(target, "mailto:", 7) == 0) {
	text = buf_data(r->out) + r->link_start;
	text_len = buf_len(r->out) - r->link_start;
	while (text_len > 0 && (*text == ' ' || *text == '\n'))
	    text++, text_len--;
	if (g_ascii_strncasecmp(target, "mailto:", 7) == 0)
	    target += 7;
	if (!(strlen(target) == text_len && memcmp(text, target, text_len) == 0)
	    && strchr(target, '\n') == 0 && strchr(target, '\r') == 0) {
	    put_text(r, "", 0);
	    buf_append_str(r->out, text_len ? " <" : "<");
	    buf_append_str(r->out, target);
	    buf_append_char(r->out, '>');
	}
    }
    g_free(r->href);
    r->href = 0;
}

/* skip_element - after <name ...>: skip to past </name>, or 0 */

static const char *skip_element(const char *p, const char *end,
				        const char *name)
{
    size_t  n = strlen(name);

    for (; p + n + 2 <= end; p++) {
	if (p[0] == '<' && p[1] == '/' && g_ascii_strncasecmp(p + 2, name, n) == 0) {
	    const char *gt = memchr(p, '>', end - p);

	    return (gt ? gt + 1 : end);
	}
    }
    return (0);
}

/* do_tag - act on one tag; returns where the text goes on */

static const char *do_tag(struct render *r, const char *p, const char *end)
{
    const char *start = p;
    const char *gt;
    const char *name;
    char    lname[16];
    size_t  n = 0;
    size_t  i;
    int     closing = 0;

    if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
	const char *q;

	for (q = p + 4; q + 3 <= end; q++)
	    if (memcmp(q, "-->", 3) == 0)
		return (q + 3);
	return (end);
    }
    p++;
    if (p < end && *p == '/') {
	closing = 1;
	p++;
    }
    name = p;
    while (p < end && (g_ascii_isalnum(*p)) && n < sizeof(lname) - 1)
	lname[n++] = g_ascii_tolower(*p++);
    lname[n] = 0;
    if (n == 0 && !(p < end && (*p == '!' || *p == '?'))) {
	put_text(r, "<", 1);			/* a lone "<" in text */
	return (start + 1);
    }
    if ((gt = memchr(p, '>', end - p)) == 0)
	return (end);
    (void) name;

    for (i = 0; !closing && skip_names[i]; i++) {
	const char *after;

	if (strcmp(lname, skip_names[i]) != 0)
	    continue;
	/* Once an end tag is missing, no later one exists: stay linear. */
	if (r->unclosed & (1u << i))
	    return (gt + 1);
	if ((after = skip_element(gt + 1, end, lname)) != 0)
	    return (after);
	r->unclosed |= 1u << i;
	return (gt + 1);
    }
    if (strcmp(lname, "br") == 0) {
	want_lines(r, 1, 1);
    } else if (strcmp(lname, "li") == 0) {
	want_lines(r, 1, 0);
	if (!closing)
	    put_text(r, "- ", 2);
    } else if (strcmp(lname, "blockquote") == 0) {
	want_lines(r, 2, 0);
	r->quote += closing ? (r->quote > 0 ? -1 : 0) : 1;
    } else if (strcmp(lname, "pre") == 0) {
	want_lines(r, 2, 0);
	r->pre += closing ? (r->pre > 0 ? -1 : 0) : 1;
    } else if (in_list(lname, para_tags)) {
	want_lines(r, 2, 0);
    } else if (in_list(lname, block_tags)) {
	want_lines(r, 1, 0);
    } else if (strcmp(lname, "td") == 0 || strcmp(lname, "th") == 0) {
	r->pending_space = 1;
    } else if (strcmp(lname, "a") == 0) {
	if (closing) {
	    end_link(r);
	} else {
	    g_free(r->href);
	    r->href = find_href(p, gt);
	    r->link_start = buf_len(r->out);
	}
    }
    return (gt + 1);
}

/* do_text - one text character or reference */

static const char *do_text(struct render *r, const char *p, const char *end)
{
    gunichar code;
    size_t  n;

    if (*p == '&' && (n = entity_at(p, end, &code)) > 0) {
	put_code(r, code);
	return (p + n);
    }
    if (*p == '\r') {
	if (!r->pre)
	    r->pending_space = 1;
	return (p + 1);
    }
    if (r->pre && *p == '\n') {
	want_lines(r, 1, 1);
	return (p + 1);
    }
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f') {
	if (r->pre)
	    put_text(r, p, 1);
	else
	    r->pending_space = 1;
	return (p + 1);
    }
    for (n = 1; p + n < end && p[n] != '<' && p[n] != '&' && p[n] != ' '
	 && p[n] != '\n' && p[n] != '\r' && p[n] != '\t' && p[n] != '\f'; n++)
	 /* void */ ;
    put_text(r, p, n);
    return (p + n);
}

/* lmtp_html_to_text - readable text from HTML */

char   *lmtp_html_to_text(const char *html, size_t len)
{
    struct render r;
    const char *p = html;
    const char *end = html + len;
    char   *text;
    size_t  n;

    memset(&r, 0, sizeof(r));
    r.out = buf_create(len / 2 + 64, 0);
    while (p < end) {
	if (*p == '<')
	    p = do_tag(&r, p, end);
	else
	    p = do_text(&r, p, end);
    }
    g_free(r.href);
    text = buf_steal(r.out, &n);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n'))
	text[--n] = 0;
    buf_destroy(&r.out);
    return (text);
}
