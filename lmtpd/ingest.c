/*++
/* NAME
/*	ingest 3
/* SUMMARY
/*	one received message, parsed with GMime, as a store_message
/* SYNOPSIS
/*	#include <lmtp.h>
/*
/*	struct lmtp_parsed *lmtp_parse(raw, len, conf)
/*	const char *raw;
/*	size_t	len;
/*	const struct conf *conf;
/*
/*	struct store_message *lmtp_parsed_message(parsed)
/*	struct lmtp_parsed *parsed;
/*
/*	void	lmtp_parsed_free(parsedp)
/*	struct lmtp_parsed **parsedp;
/*
/*	#include "ingest_private.h"
/*
/*	char	*lmtp_utf8_from_cp1252(in, len)
/*	char	*lmtp_utf8_repair(in, len)
/*	char	*lmtp_text_trim_quotes(text, keep_forward)
/* DESCRIPTION
/*	lmtp_parse() parses the raw bytes of one message (CRLF, bare LF or
/*	bare CR line ends) and never fails: whatever the input, it returns
/*	a best-effort view in which every text field is valid UTF-8 and
/*	never NULL (ticket_ref excepted). conf gives the ticket hook and
/*	the system id; with a NULL conf the defaults "Ticket#" and 10 are
/*	used. GMime must have been initialised (g_mime_init()) before; the
/*	function creates and drops its own GMime objects, so concurrent
/*	calls from several threads are safe.
/*
/*	The raw bytes are read in place, without a copy (a copy is made
/*	only for a message whose lines end with bare CR; a UTF-8 BOM before
/*	the headers is skipped). The parsed object's store view points at
/*	raw (raw, raw_len): raw must outlive the parsed object. Everything
/*	else belongs to the parsed object.
/*
/*	lmtp_parsed_message() returns the store view, borrowed from the
/*	parsed object. The caller fills log_id, recipient, queue,
/*	default_type, sender and received (and may set automatic for a null
/*	envelope sender). lmtp_parsed_free() frees everything, sets
/*	*parsedp to NULL, and does nothing for NULL.
/*
/*	How the fields are made:
/* .IP "from, from_header, to, cc"
/*	from: the first mailbox of From: (in a group too), ASCII-lowercased,
/*	"" when there is none. from_header, to and cc: the decoded display
/*	form of the address lists, or the decoded header text when it does
/*	not parse as addresses.
/* .IP "subject, title, ticket_ref"
/*	The decoded Subject (RFC 2047 words in any charset iconv knows; raw
/*	8-bit text tried as UTF-8 then Windows-1252). title and ticket_ref
/*	come from lmtp_subject_clean() and lmtp_subject_ticket().
/* .IP "header text"
/*	Every header-derived string is made valid UTF-8 (when the decoded
/*	value is not, it is converted from Windows-1252), control
/*	characters become spaces (no CR or LF can reach an outbound header
/*	from here), the ends are trimmed and it is cut at 64 KB
/*	(LMTP_HEADER_MAX); Message-IDs are cut at 998 bytes.
/* .IP "message_id, references"
/*	Without angle brackets. references: the In-Reply-To ids in order,
/*	then the References ids from the last to the first, duplicates
/*	removed, at most LMTP_REFERENCES_MAX (50).
/* .IP automatic
/*	1 when any of these holds: Auto-Submitted present and not "no";
/*	Precedence or X-Precedence bulk, junk, list or auto_reply; List-Id
/*	present; X-Auto-Response-Suppress listing All, AutoReply or OOF
/*	(the kinds of mail an acknowledgement is); X-Autoreply or
/*	X-Autorespond present; a multipart/report top-level type (DSN,
/*	MDN); the From: local part is MAILER-DAEMON or postmaster.
/*	List-Unsubscribe alone does not count (many person-to-person
/*	tools add it). The null envelope sender is the caller's business.
/* .IP "own_loop, content_language"
/*	own_loop: 1 when an X-Postdesk-Loop header (any of them, if
/*	several) has conf_instance(conf) as its value, compared without
/*	case and surrounding blanks (0 with a NULL conf).
/*	content_language: the first language tag of Content-Language
/*	(top-level header, else the top-level MIME part's), lowercased;
/*	"" when absent or not a tag.
/* .IP body
/*	The first text/plain leaf that is no attachment (walking the tree
/*	in order, not into attached messages), else the first such
/*	text/html leaf rendered as text (lmtp_html_to_text()). A part is
/*	an attachment when its disposition says so or it has a file name;
/*	a leaf whose Content-Type has no "/" is text/plain (RFC 2045 5.2).
/*	The transfer encoding is decoded and the declared charset converted
/*	(bad sequences dropped by GMime's charset filter); when the charset
/*	is not declared, is us-ascii or unknown to iconv and the bytes are
/*	not valid UTF-8, they are read as Windows-1252; any other invalid
/*	UTF-8 becomes U+FFFD. NUL bytes and a leading BOM are removed,
/*	CRLF and bare CR become LF, the text is cut at LMTP_BODY_MAX
/*	(1 MB, on a character boundary, without marker) and quoted
/*	replies are trimmed (lmtp_text_trim_quotes(), not for forwarded
/*	mails).
/* .IP attachments
/*	Every leaf that is an attachment or not text/*, except the body
/*	part: name (decoded file name or Content-Type name, "" if none),
/*	lowercased type/subtype, decoded size. An attached message
/*	(message/rfc822) is one attachment, named by its file name, else
/*	its subject + ".eml", else "message.eml", with the size of the
/*	encapsulated message; it is not walked into. Multiparts nested
/*	deeper than LMTP_MIME_DEPTH_MAX (64) are not walked; at most 1024
/*	attachments are listed.
/* .IP hash
/*	SHA-256 of the raw bytes (OpenSSL EVP).
/* .PP
/*	lmtp_text_trim_quotes() trims an LF-only text: it cuts at the first
/*	reply header that is followed by quoted text ("On ... wrote:",
/*	"Le ... a écrit :", "Am ... schrieb ...:", "El ... escribió:",
/*	"Il ... ha scritto:", "Op ... schreef ...:", also wrapped over two
/*	lines), or at an Outlook separator ("-----Original Message-----",
/*	"-----Message d'origine-----", "-----Ursprüngliche Nachricht-----",
/*	...), or at an Outlook header block (a "From:"/"De :"/"Von:" line
/*	followed within five lines by a "Sent:"/"Envoyé :"/"Gesendet:"/
/*	"Date:" line and a "To:"/"À :"/"An:"/"Subject:"/"Objet :"/
/*	"Betreff:" line, with an underscore rule just above it included);
/*	then it drops the trailing run of quoted ("> ...") and blank lines
/*	and a reply header just before it; then trailing white space. A
/*	cut that would leave only blank text is not made. With keep_forward
/*	the text is only stripped of trailing white space.
/*
/*	lmtp_utf8_from_cp1252() and lmtp_utf8_repair() return newly
/*	allocated valid UTF-8 (mem_free()); both drop NUL bytes.
/* DIAGNOSTICS
/*	None: bad input gives a best-effort view.
/* BUGS
/*	An HTML part's <meta charset> is not looked at. Signatures are
/*	kept.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <openssl/evp.h>

#include "util.h"
#include "conf.h"
#include "store.h"
#include "lmtp.h"
#include "ingest_private.h"

#define MESSAGE_ID_MAX		998
#define ATTACHMENTS_MAX		1024

struct lmtp_parsed {
    struct store_message msg;
    char   *from;
    char   *from_header;
    char   *to;
    char   *cc;
    char   *subject;
    char   *title;
    char   *message_id;
    char   *body;
    char   *full_text;			/* first text part, not trimmed */
    size_t  from_count;			/* mailboxes in From: */
    char  **auth_results;		/* Authentication-Results values */
    size_t  n_auth_results;
    char   *content_language;
    const char *instance;		/* conf_instance(), or NULL */
    char    ticket[32];
    char  **refs;
    size_t  n_refs;
    struct store_attachment *atts;
    size_t  n_atts;
    size_t  atts_size;
};

 /*
  * Text helpers.
  */

static const unsigned short cp1252_high[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

/* lmtp_utf8_from_cp1252 - Windows-1252 bytes to UTF-8 */

char   *lmtp_utf8_from_cp1252(const char *in, size_t len)
{
    struct buf *b = buf_create(len + len / 2 + 1, 0);
    char    utf8[8];
    gunichar code;
    size_t  i;
    char   *result;

    for (i = 0; i < len; i++) {
	unsigned char c = (unsigned char) in[i];

	if (c == 0)
	    continue;
	if (c < 0x80) {
	    buf_append_char(b, c);
	    continue;
	}
	code = (c < 0xA0) ? cp1252_high[c - 0x80] : c;
	buf_append(b, utf8, g_unichar_to_utf8(code, utf8));
    }
    result = buf_steal(b, 0);
    buf_destroy(&b);
    return (result);
}

/* seq_len - the length of a UTF-8 sequence by its lead byte (1: none) */

static int seq_len(unsigned char c)
{
    if (c >= 0xC2 && c <= 0xDF)
	return (2);
    if (c >= 0xE0 && c <= 0xEF)
	return (3);
    if (c >= 0xF0 && c <= 0xF4)
	return (4);
    return (1);
}

/* lmtp_utf8_repair - valid UTF-8: bad sequences become U+FFFD */

char   *lmtp_utf8_repair(const char *in, size_t len)
{
    struct buf *b = buf_create(len + 1, 0);
    const char *p = in;
    const char *end = in + len;
    const char *bad;
    char   *result;
    int     n;

    while (p < end) {
	if (g_utf8_validate(p, end - p, &bad)) {
	    buf_append(b, p, end - p);
	    break;
	}
	buf_append(b, p, bad - p);
	p = bad + 1;
	if (*bad == 0)
	    continue;
	buf_append_str(b, "\xef\xbf\xbd");
	/* One U+FFFD for a truncated sequence: skip its continuations. */
	for (n = seq_len((unsigned char) *bad) - 1; n > 0 && p < end
	     && ((unsigned char) *p & 0xC0) == 0x80; n--)
	    p++;
    }
    result = buf_steal(b, 0);
    buf_destroy(&b);
    return (result);
}

/* utf8_cap - cut a UTF-8 string in place to at most max bytes */

static void utf8_cap(char *s, size_t max)
{
    size_t  n = strlen(s);

    if (n <= max)
	return;
    n = max;
    while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
	n--;
    s[n] = 0;
}

/* header_text - a header-derived value made safe (see DESCRIPTION) */

static char *header_text(const char *value, size_t max)
{
    char   *s;
    char   *p;
    size_t  n;

    if (value == 0)
	return (mem_strdup(""));
    n = strlen(value);
    s = g_utf8_validate(value, n, 0) ? mem_strndup(value, n)
	: lmtp_utf8_from_cp1252(value, n);
    utf8_cap(s, max);
    for (p = s; *p; p++)
	if ((unsigned char) *p < 0x20 || *p == 0x7f)
	    *p = ' ';
    for (p = s; *p == ' '; p++)
	 /* void */ ;
    n = strlen(p);
    while (n > 0 && p[n - 1] == ' ')
	n--;
    memmove(s, p, n);
    s[n] = 0;
    return (s);
}

/* normalise_text - drop NULs, CRLF and bare CR to LF, in a new string */

static char *normalise_text(const char *in, size_t len, size_t *len_r)
{
    char   *out = mem_alloc(len + 1);
    size_t  i;
    size_t  n = 0;

    for (i = 0; i < len; i++) {
	if (in[i] == 0)
	    continue;
	if (in[i] == '\r') {
	    out[n++] = '\n';
	    if (i + 1 < len && in[i + 1] == '\n')
		i++;
	    continue;
	}
	out[n++] = in[i];
    }
    out[n] = 0;
    *len_r = n;
    return (out);
}

 /*
  * Quote trimming.
  */

struct line {
    const char *s;
    size_t  len;
};

/* starts - does line start with prefix? (after leading spaces and '*') */

static int starts(const struct line *l, const char *prefix)
{
    const char *s = l->s;
    size_t  len = l->len;
    size_t  n = strlen(prefix);

    while (len > 0 && (*s == ' ' || *s == '\t' || *s == '*'))
	s++, len--;
    return (len >= n && memcmp(s, prefix, n) == 0);
}

/* trimmed_end - does text (len) end with suffix, ignoring trailing spaces? */

static int trimmed_end(const char *s, size_t len, const char *suffix)
{
    size_t  n = strlen(suffix);

    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
	len--;
    return (len >= n && memcmp(s + len - n, suffix, n) == 0);
}

/* blank - only white space? */

static int blank(const struct line *l)
{
    size_t  i;

    for (i = 0; i < l->len; i++)
	if (l->s[i] != ' ' && l->s[i] != '\t')
	    return (0);
    return (1);
}

/* quoted - a "> " line? */

static int quoted(const struct line *l)
{
    size_t  i = 0;

    while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
	i++;
    return (i < l->len && l->s[i] == '>');
}

/* attribution_text - is this text a reply header ("On ... wrote:")? */

static int attribution_text(const char *s, size_t len)
{
    static const struct {
	const char *head;
	const char *middle;		/* or NULL */
	const char *const tails[4];
    } forms[] = {
	{"On ", 0, {"wrote:", "writes:", 0}},
	{"Le ", 0, {"a \xc3\xa9" "crit :", "a \xc3\xa9" "crit:",
		    "a \xc3\xa9" "crit\xc2\xa0:", 0}},
	{"Am ", "schrieb", {":", 0}},
	{"El ", 0, {"escribi\xc3\xb3:", 0}},
	{"Il ", 0, {"ha scritto:", 0}},
	{"Op ", "schreef", {":", 0}},
    };
    size_t  i;
    size_t  t;

    while (len > 0 && (*s == ' ' || *s == '\t'))
	s++, len--;
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
	size_t  h = strlen(forms[i].head);

	if (len < h || memcmp(s, forms[i].head, h) != 0)
	    continue;
	if (forms[i].middle && memmem(s, len, forms[i].middle,
				      strlen(forms[i].middle)) == 0)
	    continue;
	for (t = 0; forms[i].tails[t]; t++)
	    if (trimmed_end(s, len, forms[i].tails[t]))
		return (1);
    }
    return (0);
}

/* attribution_at - reply header lines at i: 0, 1 or 2 */

static int attribution_at(const struct line *lines, size_t n, size_t i)
{
    char   *joined;
    int     yes;

    if (lines[i].len > 1000)
	return (0);
    if (attribution_text(lines[i].s, lines[i].len))
	return (1);
    if (i + 1 >= n || lines[i + 1].len > 1000 || blank(&lines[i + 1]))
	return (0);
    joined = mem_printf("%.*s %.*s", (int) lines[i].len, lines[i].s,
			(int) lines[i + 1].len, lines[i + 1].s);
    yes = attribution_text(joined, strlen(joined));
    mem_free(joined);
    return (yes ? 2 : 0);
}

/* separator - an Outlook "-----Original Message-----" line? */

static int separator(const struct line *l)
{
    static const char *const words[] = {
	"Original Message", "Message d'origine", "Urspr\xc3\xbcngliche Nachricht",
	"Originalnachricht", "Mensaje original", "Messaggio originale",
	"Oorspronkelijk bericht", "Opprinnelig melding", "Originalmeddelande",
	0,
    };
    const char *const *w;

    if (!starts(l, "-----") || l->len > 200)
	return (0);
    for (w = words; *w; w++)
	if (memmem(l->s, l->len, *w, strlen(*w)))
	    return (1);
    return (0);
}

/* any_start - does the line start with one of the prefixes? */

static int any_start(const struct line *l, const char *const *prefixes)
{
    for (; *prefixes; prefixes++)
	if (starts(l, *prefixes))
	    return (1);
    return (0);
}

/* header_block - an Outlook From/Sent/To header block at line i? */

static int header_block(const struct line *lines, size_t n, size_t i)
{
    static const char *const from[] = {
	"From:", "De :", "De:", "De\xc2\xa0:", "Von:", "Van:", "Da:", 0,
    };
    static const char *const sent[] = {
	"Sent:", "Envoy\xc3\xa9 :", "Envoy\xc3\xa9:", "Envoy\xc3\xa9\xc2\xa0:",
	"Gesendet:", "Date:", "Datum:", "Verzonden:", "Inviato:", "Enviado:", 0,
    };
    static const char *const to[] = {
	"To:", "\xc3\x80 :", "\xc3\x80:", "\xc3\x80\xc2\xa0:", "An:", "Aan:",
	"A:", "Para:", "Subject:", "Objet :", "Objet:", "Objet\xc2\xa0:",
	"Betreff:", "Onderwerp:", "Oggetto:", "Asunto:", 0,
    };
    size_t  j;
    int     have_sent = 0;
    int     have_to = 0;

    if (!any_start(&lines[i], from))
	return (0);
    for (j = i + 1; j < n && j <= i + 5; j++) {
	if (any_start(&lines[j], sent))
	    have_sent = 1;
	else if (any_start(&lines[j], to))
	    have_to = 1;
    }
    return (have_sent && have_to);
}

/* rule - an underscore line ("____") above an Outlook header block? */

static int rule(const struct line *l)
{
    size_t  i;

    if (l->len < 8)
	return (0);
    for (i = 0; i < l->len; i++)
	if (l->s[i] != '_' && l->s[i] != ' ')
	    return (0);
    return (1);
}

/* find_cut - the first line dropped by a reply header, or n */

static size_t find_cut(const struct line *lines, size_t n)
{
    size_t  i;
    size_t  j;
    int     a;

    for (i = 0; i < n; i++) {
	if (separator(&lines[i]))
	    return (i);
	if (header_block(lines, n, i))
	    return ((i > 0 && rule(&lines[i - 1])) ? i - 1 : i);
	if ((a = attribution_at(lines, n, i)) > 0) {
	    for (j = i + a; j < n && blank(&lines[j]); j++)
		 /* void */ ;
	    if (j < n && quoted(&lines[j]))
		return (i);
	}
    }
    return (n);
}

/* all_blank - are lines [0, n) blank? */

static int all_blank(const struct line *lines, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++)
	if (!blank(&lines[i]))
	    return (0);
    return (1);
}

/* drop_trailing_quote - the end after dropping a trailing quoted run */

static size_t drop_trailing_quote(const struct line *lines, size_t end)
{
    size_t  j = end;
    int     dropped = 0;

    while (j > 0 && (blank(&lines[j - 1]) || quoted(&lines[j - 1]))) {
	dropped |= quoted(&lines[j - 1]);
	j--;
    }
    if (!dropped)
	return (j);
    if (j >= 1 && attribution_at(lines, end, j - 1) == 1)
	j -= 1;
    else if (j >= 2 && attribution_at(lines, end, j - 2) == 2)
	j -= 2;
    return (j);
}

/* split_lines - the lines of an LF text */

static struct line *split_lines(const char *text, size_t *n_r)
{
    size_t  n = 1;
    size_t  i = 0;
    const char *p;
    const char *nl;
    struct line *lines;

    for (p = text; (p = strchr(p, '\n')) != 0; p++)
	n++;
    lines = mem_alloc(n * sizeof(*lines));
    for (p = text; i < n; i++) {
	nl = strchr(p, '\n');
	lines[i].s = p;
	lines[i].len = nl ? (size_t) (nl - p) : strlen(p);
	p = nl ? nl + 1 : p + lines[i].len;
    }
    *n_r = n;
    return (lines);
}

/* lmtp_text_trim_quotes - drop quoted replies (see DESCRIPTION) */

char   *lmtp_text_trim_quotes(const char *text, int keep_forward)
{
    struct line *lines;
    size_t  n;
    size_t  cut;
    size_t  end;
    size_t  len;

    if (keep_forward) {
	len = strlen(text);
    } else {
	lines = split_lines(text, &n);
	cut = find_cut(lines, n);
	if (all_blank(lines, cut))
	    cut = n;
	end = drop_trailing_quote(lines, cut);
	if (all_blank(lines, end))
	    end = cut;
	len = (end == 0) ? 0 : (size_t) (lines[end - 1].s + lines[end - 1].len - text);
	mem_free(lines);
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'
		       || text[len - 1] == '\n'))
	len--;
    return (mem_strndup(text, len));
}

 /*
  * GMime side.
  */

/* lower_mime_type - "type/subtype" of an object, lowercase */

static char *lower_mime_type(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *raw;
    char   *type;
    char   *s;

    if (ct == 0)
	return (mem_strdup("application/octet-stream"));
    if ((raw = g_mime_object_get_header(obj, "Content-Type")) != 0
	&& strchr(raw, '/') == 0 && GMIME_IS_PART(obj))
	return (mem_strdup("text/plain"));	/* RFC 2045 5.2 */
    type = g_mime_content_type_get_mime_type(ct);
    s = header_text(type, 255);
    g_free(type);
    return (str_lower(s));
}

/* is_attachment - disposition attachment, or a file name */

static int is_attachment(GMimePart *part)
{
    const char *name;

    if (g_mime_part_is_attachment(part))
	return (1);
    name = g_mime_part_get_filename(part);
    return (name != 0 && *name != 0);
}

/* is_text_type - text/<subtype>? (an invalid Content-Type is text/plain) */

static int is_text_type(GMimeObject *obj, const char *subtype)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *raw = g_mime_object_get_header(obj, "Content-Type");

    if (raw && strchr(raw, '/') == 0 && GMIME_IS_PART(obj))
	return (strcmp(subtype, "plain") == 0 || strcmp(subtype, "*") == 0);
    return (ct != 0 && g_mime_content_type_is_type(ct, "text", subtype));
}

/* find_body - the first non-attachment text/<subtype> leaf, or NULL */

static GMimeObject *find_body(GMimeObject *obj, int depth, const char *subtype)
{
    GMimeObject *found;
    int     i;
    int     n;

    if (obj == 0 || depth > LMTP_MIME_DEPTH_MAX)
	return (0);
    if (GMIME_IS_MULTIPART(obj)) {
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (i = 0; i < n; i++) {
	    found = find_body(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			      depth + 1, subtype);
	    if (found)
		return (found);
	}
	return (0);
    }
    if (GMIME_IS_PART(obj) && !is_attachment(GMIME_PART(obj))
	&& is_text_type(obj, subtype))
	return (obj);
    return (0);
}

/* decoded_size - bytes of the decoded content of a part */

static uint64_t decoded_size(GMimePart *part)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GMimeStream *null;
    uint64_t size;

    if (content == 0)
	return (0);
    null = g_mime_stream_null_new();
    g_mime_data_wrapper_write_to_stream(content, null);
    size = GMIME_STREAM_NULL(null)->written;
    g_object_unref(null);
    return (size);
}

/* add_attachment - append one attachment (takes name and type) */

static void add_attachment(struct lmtp_parsed *p, char *name, char *type,
			           uint64_t size)
{
    if (p->n_atts >= ATTACHMENTS_MAX) {
	mem_free(name);
	mem_free(type);
	return;
    }
    if (p->n_atts == p->atts_size) {
	p->atts_size = p->atts_size ? 2 * p->atts_size : 8;
	p->atts = mem_realloc(p->atts, p->atts_size * sizeof(*p->atts));
    }
    p->atts[p->n_atts].name = name;
    p->atts[p->n_atts].content_type = type;
    p->atts[p->n_atts].size = size;
    p->n_atts++;
}

/* add_message_part - an attached message as one attachment */

static void add_message_part(struct lmtp_parsed *p, GMimeObject *obj)
{
    GMimeMessage *inner =
    g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    GMimeContentDisposition *disp = g_mime_object_get_content_disposition(obj);
    const char *name = 0;
    const char *subject;
    GMimeStream *null;
    uint64_t size = 0;
    char   *s;

    if (disp)
	name = g_mime_content_disposition_get_parameter(disp, "filename");
    if (name == 0 || *name == 0)
	name = g_mime_object_get_content_type_parameter(obj, "name");
    if (name && *name) {
	s = header_text(name, 255);
    } else if (inner && (subject = g_mime_message_get_subject(inner)) != 0
	       && *subject) {
	char   *t = header_text(subject, 250);

	s = mem_printf("%s.eml", t);
	mem_free(t);
    } else {
	s = mem_strdup("message.eml");
    }
    if (inner) {
	null = g_mime_stream_null_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(inner), 0, null);
	size = GMIME_STREAM_NULL(null)->written;
	g_object_unref(null);
    }
    add_attachment(p, s, lower_mime_type(obj), size);
}

/* collect_attachments - walk the tree, list the attachments */

static void collect_attachments(struct lmtp_parsed *p, GMimeObject *obj,
				        GMimeObject *body, int depth)
{
    int     i;
    int     n;

    if (obj == 0 || depth > LMTP_MIME_DEPTH_MAX)
	return;
    if (GMIME_IS_MULTIPART(obj)) {
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (i = 0; i < n; i++)
	    collect_attachments(p, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
				body, depth + 1);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
	add_message_part(p, obj);
    } else if (GMIME_IS_PART(obj) && obj != body) {
	GMimePart *part = GMIME_PART(obj);

	if (is_attachment(part) || !is_text_type(obj, "*"))
	    add_attachment(p, header_text(g_mime_part_get_filename(part), 255),
			   lower_mime_type(obj), decoded_size(part));
    }
}

/* charset_plain - no conversion needed or possible from this charset? */

static int charset_plain(const char *charset)
{
    return (charset == 0 || *charset == 0
	    || g_ascii_strcasecmp(charset, "utf-8") == 0
	    || g_ascii_strcasecmp(charset, "utf8") == 0
	    || g_ascii_strcasecmp(charset, "us-ascii") == 0
	    || g_ascii_strcasecmp(charset, "ascii") == 0);
}

/* part_text - the decoded, converted, normalised text of a part */

static char *part_text(GMimeObject *obj)
{
    GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
    const char *charset =
    g_mime_object_get_content_type_parameter(obj, "charset");
    GMimeStream *mem;
    GMimeStream *filtered;
    GMimeFilter *filter = 0;
    GByteArray *bytes;
    char   *text;
    char   *result;
    size_t  len;
    int     declared;

    if (content == 0)
	return (mem_strdup(""));
    declared = !charset_plain(charset)
	&& (filter = g_mime_filter_charset_new(charset, "UTF-8")) != 0;
    mem = g_mime_stream_mem_new();
    if (declared) {
	filtered = g_mime_stream_filter_new(mem);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), filter);
	g_object_unref(filter);
	g_mime_data_wrapper_write_to_stream(content, filtered);
	g_mime_stream_flush(filtered);
	g_object_unref(filtered);
    } else {
	g_mime_data_wrapper_write_to_stream(content, mem);
    }
    bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    text = normalise_text((const char *) bytes->data, bytes->len, &len);
    g_object_unref(mem);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
	memmove(text, text + 3, len - 2);	/* a leading BOM */
	len -= 3;
    }
    if (g_utf8_validate(text, len, 0))
	return (text);
    if (declared || (charset && g_ascii_strncasecmp(charset, "utf", 3) == 0))
	result = lmtp_utf8_repair(text, len);
    else
	result = lmtp_utf8_from_cp1252(text, len);
    mem_free(text);
    return (result);
}

/* make_body - the text view of the message */

static char *make_body(struct lmtp_parsed *p, GMimeObject *root,
		               GMimeObject **body_r)
{
    GMimeObject *part;
    char   *text;
    char   *html;
    char   *trimmed;

    if ((part = find_body(root, 0, "plain")) != 0) {
	text = part_text(part);
    } else if ((part = find_body(root, 0, "html")) != 0) {
	html = part_text(part);
	text = lmtp_html_to_text(html, strlen(html));
	mem_free(html);
    } else {
	*body_r = 0;
	return (mem_strdup(""));
    }
    *body_r = part;
    utf8_cap(text, LMTP_BODY_MAX);
    trimmed = lmtp_text_trim_quotes(text, lmtp_subject_forwarded(p->subject));
    p->full_text = text;
    return (trimmed);
}

/* first_mailbox - the first mailbox address of a list (groups too) */

static const char *first_mailbox(InternetAddressList *list, int depth)
{
    InternetAddress *ia;
    const char *addr;
    int     i;
    int     n;

    if (list == 0 || depth > 4)
	return (0);
    n = internet_address_list_length(list);
    for (i = 0; i < n; i++) {
	ia = internet_address_list_get_address(list, i);
	if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
	    addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
	    if (addr && *addr)
		return (addr);
	} else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
	    addr = first_mailbox(internet_address_group_get_members(
				      INTERNET_ADDRESS_GROUP(ia)), depth + 1);
	    if (addr)
		return (addr);
	}
    }
    return (0);
}

/* count_mailboxes - mailboxes of a list, groups included */

static size_t count_mailboxes(InternetAddressList *list, int depth)
{
    InternetAddress *ia;
    size_t  count = 0;
    int     n;

    if (list == 0 || depth > 4)
	return (0);
    n = internet_address_list_length(list);
    for (int i = 0; i < n; i++) {
	ia = internet_address_list_get_address(list, i);
	if (INTERNET_ADDRESS_IS_MAILBOX(ia))
	    count++;
	else if (INTERNET_ADDRESS_IS_GROUP(ia))
	    count += count_mailboxes(internet_address_group_get_members(
				      INTERNET_ADDRESS_GROUP(ia)), depth + 1) + 1;
    }
    return (count);
}

/* collect_auth_results - the Authentication-Results header values */

static void collect_auth_results(struct lmtp_parsed *p, GMimeObject *obj)
{
    GMimeHeaderList *headers = g_mime_object_get_header_list(obj);
    int     n = headers ? g_mime_header_list_get_count(headers) : 0;

    for (int i = 0; i < n && p->n_auth_results < LMTP_AUTH_RESULTS_MAX; i++) {
	GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
	const char *name = g_mime_header_get_name(h);
	const char *value = g_mime_header_get_value(h);

	if (name == 0 || value == 0
	    || g_ascii_strcasecmp(name, "Authentication-Results") != 0)
	    continue;
	p->auth_results = mem_realloc(p->auth_results, (p->n_auth_results + 1)
				      * sizeof(*p->auth_results));
	p->auth_results[p->n_auth_results++] = header_text(value, LMTP_HEADER_MAX);
    }
}

/* address_text - display form of an address header */

static char *address_text(GMimeObject *obj, InternetAddressList *list,
			          const char *header)
{
    char   *s = 0;
    char   *result;

    if (list && internet_address_list_length(list) > 0)
	s = internet_address_list_to_string(list, 0, FALSE);
    if (s && *s) {
	result = header_text(s, LMTP_HEADER_MAX);
	g_free(s);
	return (result);
    }
    g_free(s);
    return (header_text(g_mime_object_get_header(obj, header),
			LMTP_HEADER_MAX));
}

/* add_ref - append a reference id unless known or over the cap */

static void add_ref(struct lmtp_parsed *p, const char *id)
{
    char   *s;
    size_t  i;

    if (id == 0 || p->n_refs >= LMTP_REFERENCES_MAX)
	return;
    s = header_text(id, MESSAGE_ID_MAX);
    for (i = 0; i < p->n_refs && *s; i++)
	if (strcmp(p->refs[i], s) == 0)
	    break;
    if (*s == 0 || i < p->n_refs) {
	mem_free(s);
	return;
    }
    if (p->refs == 0)
	p->refs = mem_alloc(LMTP_REFERENCES_MAX * sizeof(*p->refs));
    p->refs[p->n_refs++] = s;
}

/* fill_references - In-Reply-To first, then References newest first */

static void fill_references(struct lmtp_parsed *p, GMimeObject *obj,
			            GMimeParserOptions *options)
{
    GMimeReferences *refs;
    const char *value;
    int     i;

    if ((value = g_mime_object_get_header(obj, "In-Reply-To")) != 0
	&& (refs = g_mime_references_parse(options, value)) != 0) {
	for (i = 0; i < g_mime_references_length(refs); i++)
	    add_ref(p, g_mime_references_get_message_id(refs, i));
	g_mime_references_free(refs);
    }
    if ((value = g_mime_object_get_header(obj, "References")) != 0
	&& (refs = g_mime_references_parse(options, value)) != 0) {
	for (i = g_mime_references_length(refs) - 1; i >= 0; i--)
	    add_ref(p, g_mime_references_get_message_id(refs, i));
	g_mime_references_free(refs);
    }
}

/* has_token - does a header value list word (comma/space separated)? */

static int has_token(const char *value, const char *word)
{
    size_t  n = strlen(word);
    const char *p = value;

    while (p && *p) {
	while (*p == ' ' || *p == '\t' || *p == ',' || *p == ';')
	    p++;
	if (g_ascii_strncasecmp(p, word, n) == 0
	    && (p[n] == 0 || strchr(" \t,;(", p[n])))
	    return (1);
	while (*p && !strchr(" \t,;", *p))
	    p++;
    }
    return (0);
}

/* first_token_is - is the first word of value equal to word? */

static int first_token_is(const char *value, const char *word)
{
    size_t  n = strlen(word);

    while (*value == ' ' || *value == '\t')
	value++;
    return (g_ascii_strncasecmp(value, word, n) == 0
	    && (value[n] == 0 || strchr(" \t;(", value[n])));
}

/* is_automatic - see DESCRIPTION */

static int is_automatic(GMimeObject *obj, const char *from)
{
    static const char *const precedence[] = {
	"bulk", "junk", "list", "auto_reply", 0,
    };
    static const char *const precedence_headers[] = {
	"Precedence", "X-Precedence", 0,
    };
    const char *v;
    const char *const *h;
    const char *const *w;
    size_t  n;

    if ((v = g_mime_object_get_header(obj, "Auto-Submitted")) != 0
	&& !first_token_is(v, "no"))
	return (1);
    for (h = precedence_headers; *h; h++)
	if ((v = g_mime_object_get_header(obj, *h)) != 0)
	    for (w = precedence; *w; w++)
		if (first_token_is(v, *w))
		    return (1);
    if (g_mime_object_get_header(obj, "List-Id") != 0
	|| g_mime_object_get_header(obj, "X-Autoreply") != 0
	|| g_mime_object_get_header(obj, "X-Autorespond") != 0)
	return (1);
    if ((v = g_mime_object_get_header(obj, "X-Auto-Response-Suppress")) != 0
	&& (has_token(v, "All") || has_token(v, "AutoReply") || has_token(v, "OOF")))
	return (1);
    n = strcspn(from, "@");
    if ((n == 13 && g_ascii_strncasecmp(from, "mailer-daemon", 13) == 0)
	|| (n == 10 && g_ascii_strncasecmp(from, "postmaster", 10) == 0))
	return (1);
    return (0);
}

/* own_loop - does any X-Postdesk-Loop header name this instance? */

static int own_loop(GMimeObject *obj, const char *instance)
{
    GMimeHeaderList *headers = g_mime_object_get_header_list(obj);
    int     count = headers ? g_mime_header_list_get_count(headers) : 0;

    if (instance == 0 || *instance == 0)
	return (0);
    for (int i = 0; i < count; i++) {
	GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
	const char *name = g_mime_header_get_name(h);
	const char *value = g_mime_header_get_value(h);
	size_t  n;

	if (name == 0 || value == 0
	    || g_ascii_strcasecmp(name, "X-Postdesk-Loop") != 0)
	    continue;
	while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
	    value++;
	n = strlen(value);
	while (n > 0 && strchr(" \t\r\n", value[n - 1]))
	    n--;
	if (n == strlen(instance) && g_ascii_strncasecmp(value, instance, n) == 0)
	    return (1);
    }
    return (0);
}

/* first_language - the first tag of Content-Language, lowercase, or "" */

static char *first_language(const char *value)
{
    size_t  n;
    char   *tag;

    if (value == 0)
	return (mem_strdup(""));
    while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
	value++;
    for (n = 0; g_ascii_isalnum(value[n]) || value[n] == '-'; n++)
	 /* void */ ;
    if (n == 0 || n > 35 || (value[n] && !strchr(" \t\r\n,;(", value[n])))
	return (mem_strdup(""));
    tag = mem_strndup(value, n);
    return (str_lower(tag));
}

/* fill_from_message - every field from a parsed GMime message */

static void fill_from_message(struct lmtp_parsed *p, GMimeMessage *m,
			              GMimeParserOptions *options)
{
    GMimeObject *obj = GMIME_OBJECT(m);
    GMimeObject *root = g_mime_message_get_mime_part(m);
    GMimeObject *body = 0;
    InternetAddressList *from = g_mime_message_get_from(m);
    const char *lang;

    p->from = str_lower(header_text(first_mailbox(from, 0), LMTP_HEADER_MAX));
    p->from_count = count_mailboxes(from, 0);
    collect_auth_results(p, obj);
    p->from_header = address_text(obj, from, "From");
    p->to = address_text(obj, g_mime_message_get_addresses(m,
					    GMIME_ADDRESS_TYPE_TO), "To");
    p->cc = address_text(obj, g_mime_message_get_addresses(m,
					    GMIME_ADDRESS_TYPE_CC), "Cc");
    p->subject = header_text(g_mime_message_get_subject(m), LMTP_HEADER_MAX);
    p->message_id = header_text(g_mime_message_get_message_id(m),
				MESSAGE_ID_MAX);
    fill_references(p, obj, options);
    p->msg.own_loop = own_loop(obj, p->instance);
    lang = g_mime_object_get_header(obj, "Content-Language");
    if (lang == 0 && root)
	lang = g_mime_object_get_header(root, "Content-Language");
    p->content_language = first_language(lang);
    p->msg.automatic = is_automatic(obj, p->from);
    if (root && GMIME_IS_MULTIPART(root)
	&& g_mime_content_type_is_type(g_mime_object_get_content_type(root),
				       "multipart", "report"))
	p->msg.automatic = 1;
    p->body = make_body(p, root, &body);
    collect_attachments(p, root, body, 0);
}

/* fill_from_raw - the fallback view when GMime builds no message */

static void fill_from_raw(struct lmtp_parsed *p, const char *raw, size_t len)
{
    size_t  n;
    char   *text = normalise_text(raw, len > LMTP_BODY_MAX ?
				  LMTP_BODY_MAX : len, &n);

    p->body = g_utf8_validate(text, n, 0) ? mem_strdup(text)
	: lmtp_utf8_from_cp1252(text, n);
    utf8_cap(p->body, LMTP_BODY_MAX);
    mem_free(text);
}

/* open_stream - a GMime stream over raw, copying only for bare CR */

static GMimeStream *open_stream(const char *raw, size_t len, char **copy_r)
{
    FILE   *fp;
    size_t  i;

    *copy_r = 0;
    if (len == 0)
	return (g_mime_stream_mem_new());
    if (memchr(raw, '\n', len) == 0 && memchr(raw, '\r', len) != 0) {
	*copy_r = mem_memdup(raw, len);
	for (i = 0; i < len; i++)
	    if ((*copy_r)[i] == '\r')
		(*copy_r)[i] = '\n';
	raw = *copy_r;
    }
    if ((fp = fmemopen((void *) raw, len, "r")) == 0)
	return (g_mime_stream_mem_new_with_buffer(raw, len));
    return (g_mime_stream_file_new(fp));
}

/* parse_into - run GMime over raw and fill p */

static void parse_into(struct lmtp_parsed *p, const char *raw, size_t len)
{
    static const char *fallback[] = {"utf-8", "windows-1252", 0};
    GMimeParserOptions *options = g_mime_parser_options_new();
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeMessage *m;
    char   *copy;

    g_mime_parser_options_set_fallback_charsets(options, fallback);
    g_mime_parser_options_set_rfc2047_compliance_mode(options,
					        GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_address_compliance_mode(options,
					        GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(options,
					        GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_allow_addresses_without_domain(options, TRUE);
    if (len >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0)
	raw += 3, len -= 3;			/* a UTF-8 BOM before the headers */
    stream = open_stream(raw, len, &copy);
    parser = g_mime_parser_new_with_stream(stream);
    g_object_unref(stream);
    m = g_mime_parser_construct_message(parser, options);
    g_object_unref(parser);
    if (m) {
	fill_from_message(p, m, options);
	g_object_unref(m);
    } else {
	fill_from_raw(p, raw, len);
    }
    mem_free(copy);
    g_mime_parser_options_free(options);
}

/* empty_if_null - "" for a field not set */

static void empty_if_null(char **field)
{
    if (*field == 0)
	*field = mem_strdup("");
}

/* lmtp_parse - parse one message (see DESCRIPTION) */

struct lmtp_parsed *lmtp_parse(const char *raw, size_t len,
			               const struct conf *conf)
{
    struct lmtp_parsed *p = mem_zalloc(sizeof(*p));
    const char *hook = conf ? conf_ticket_hook(conf) : LMTP_DEFAULT_HOOK;
    unsigned system_id = conf ? conf_system_id(conf) : LMTP_DEFAULT_SYSTEM_ID;
    struct store_message *msg = &p->msg;

    if (raw == 0)
	raw = "", len = 0;
    p->instance = conf ? conf_instance(conf) : 0;
    EVP_Digest(raw, len, msg->hash, 0, EVP_sha256(), 0);
    parse_into(p, raw, len);
    empty_if_null(&p->from);
    empty_if_null(&p->from_header);
    empty_if_null(&p->to);
    empty_if_null(&p->cc);
    empty_if_null(&p->subject);
    empty_if_null(&p->message_id);
    empty_if_null(&p->body);
    empty_if_null(&p->content_language);
    p->title = lmtp_subject_clean(p->subject, hook);
    msg->ticket_ref = lmtp_subject_ticket(p->subject, hook, system_id,
					  p->ticket) == 0 ? p->ticket : 0;
    msg->from = p->from;
    msg->from_header = p->from_header;
    msg->to = p->to;
    msg->cc = p->cc;
    msg->subject = p->subject;
    msg->title = p->title;
    msg->message_id = p->message_id;
    msg->references = (const char *const *) p->refs;
    msg->n_references = p->n_refs;
    msg->content_language = p->content_language;
    msg->body = p->body;
    msg->attachments = p->atts;
    msg->n_attachments = p->n_atts;
    msg->raw = raw;
    msg->raw_len = len;
    return (p);
}

/* lmtp_parsed_message - the store view */

struct store_message *lmtp_parsed_message(struct lmtp_parsed *p)
{
    return (&p->msg);
}

/* lmtp_parsed_text - the first text part before quote trimming */

const char *lmtp_parsed_text(const struct lmtp_parsed *p)
{
    return (p->full_text ? p->full_text : p->body);
}

/* lmtp_parsed_from_count - mailboxes in From: */

size_t  lmtp_parsed_from_count(const struct lmtp_parsed *p)
{
    return (p->from_count);
}

/* lmtp_parsed_auth - an Authentication-Results of ours says pass */

int     lmtp_parsed_auth(const struct lmtp_parsed *p, const char *authserv_id,
			         const char *method, const char *domain)
{
    for (size_t i = 0; i < p->n_auth_results; i++)
	if (lmtp_auth_results_pass(p->auth_results[i], authserv_id, method,
				   domain))
	    return (1);
    return (0);
}

/* lmtp_parsed_free - free everything */

void    lmtp_parsed_free(struct lmtp_parsed **pp)
{
    struct lmtp_parsed *p;
    size_t  i;

    if (pp == 0 || (p = *pp) == 0)
	return;
    mem_free(p->from);
    mem_free(p->from_header);
    mem_free(p->to);
    mem_free(p->cc);
    mem_free(p->subject);
    mem_free(p->title);
    mem_free(p->message_id);
    mem_free(p->body);
    mem_free(p->full_text);
    for (i = 0; i < p->n_auth_results; i++)
	mem_free(p->auth_results[i]);
    mem_free(p->auth_results);
    mem_free(p->content_language);
    for (i = 0; i < p->n_refs; i++)
	mem_free(p->refs[i]);
    mem_free(p->refs);
    for (i = 0; i < p->n_atts; i++) {
	mem_free(p->atts[i].name);
	mem_free(p->atts[i].content_type);
    }
    mem_free(p->atts);
    mem_free(p);
    *pp = 0;
}
