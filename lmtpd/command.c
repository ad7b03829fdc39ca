/*++
/* NAME
/*	command 3
/* SUMMARY
/*	parse the command block of an agent's mail
/* SYNOPSIS
/*	#include "command.h"
/*
/*	int	lmtp_command_parse(text, limits, block_r)
/*	const char *text;
/*	const struct command_limits *limits;
/*	struct command_block **block_r;
/*
/*	void	lmtp_command_block_free(block_r)
/*	struct command_block **block_r;
/*
/*	const struct command *lmtp_command_block_find(block, kind)
/*	const struct command_block *block;
/*	enum command_kind kind;
/*
/*	const char *lmtp_command_name(kind)
/*	enum command_kind kind;
/* DESCRIPTION
/*	lmtp_command_parse() reads the command block at the top of text, the
/*	body of the first text part of an agent's mail (HTML already
/*	converted), before any quote trimming. It is a pure function: no
/*	store, no rights, nothing applied. The result is always a newly
/*	allocated block (free it with lmtp_command_block_free()) holding the
/*	commands in order (comments included, kind COMMAND_COMMENT), the
/*	errors, and text_offset: the byte of text where the agent's own
/*	text starts (0 when there is no block).
/*
/*	Lines end with LF or CRLF; trailing blanks (space, tab, NBSP)
/*	are cut. A UTF-8 byte order mark at the start of text is skipped.
/*	Leading blank lines are skipped. The block is the run of lines
/*	that start with '#'. It ends at the first other line (prose, the
/*	signature separator "-- ", an Outlook "From:"/"De :" header, a
/*	"Le ... a écrit :" line, a quote), at a blank line, or at "#end".
/*	Nothing after it is ever looked at. "##" lines are comments,
/*	kept in the list for the transcript but not counted as commands.
/*
/*	Refused (each an error on its line, and the block with it):
/*	a line at the block's position whose '#' is preceded by blanks,
/*	NBSP or invisible characters, or which starts with a fullwidth
/*	number sign U+FF03; inside a block line: a control character
/*	(C0 but tab, DEL, C1, a lone CR), invalid UTF-8, the soft hyphen,
/*	zero-width and joiner characters U+200B..U+200F, U+2060..U+2064,
/*	U+FEFF, the separators U+2028/U+2029 and bidirectional controls
/*	U+202A..U+202E, U+2066..U+2069; a line longer than max_line
/*	bytes; "#" followed by a blank or nothing (so NBSP between '#'
/*	and the keyword is an error); an unknown keyword (so prose like
/*	"#1 priority for me" is an error, which is why only mail from
/*	authenticated agents is parsed); bad arguments; more than
/*	max_commands commands (one error, at the first one too many).
/*
/*	Keywords are case-insensitive; aliases: #comment and #internal
/*	(#note), #public (#reply), #assign (#owner), #move (#queue),
/*	#status (#state), #prio (#priority), #subject (#title),
/*	#preview and #dryrun (#dry-run). Arguments are split on blanks
/*	(space, tab, NBSP; agent lists also on commas):
/*	.IP \(bu
/*	#note, #reply, #take, #lock, #unlock, #force, #dry-run, #help,
/*	#list and #end take no argument.
/*	.IP \(bu
/*	#template NAME: one word of letters, digits, '.', '_', '-', not
/*	starting with '.', at most 64 bytes (it names a file).
/*	.IP \(bu
/*	AGENT is a login of ASCII letters, digits and "._@+-", at most
/*	64 bytes. #owner AGENT|none|me; #watch and #unwatch take zero or
/*	more (none: the sender), #inform one or more.
/*	.IP \(bu
/*	#queue NAME and #title TEXT take the rest of the line, blanks
/*	collapsed (at most 200 and 255 bytes).
/*	.IP \(bu
/*	#type: Unclassified, Incident, Problem or Service Request, any
/*	case, '-' or '_' as spaces; the canonical spelling is stored.
/*	.IP \(bu
/*	#priority: 1-5, very low, low, normal, high, very high, urgent
/*	(5), the French très basse, basse, normale, haute, très haute,
/*	urgente (accents optional), or OTOBO's "3 normal" when the two
/*	agree.
/*	.IP \(bu
/*	#state: new, open, pending reminder, pending auto close, closed
/*	successful, closed unsuccessful; '-' and '_' count as spaces;
/*	aliases closed and resolved (closed successful), pending (pending
/*	reminder).
/*	.IP \(bu
/*	#pending YYYY-MM-DD, YYYY-MM-DD HH:MM or YYYY-MM-DDTHH:MM (a
/*	valid date, years 2000-2199), or +N followed by d, h, m (minutes)
/*	or w, N >= 1, at most 3650 days in all.
/*	.IP \(bu
/*	#merge [into] NUMBER: 1 to 40 digits. #confirm CODE: 4 to 64
/*	letters and digits, stored upper case.
/*	.IP \(bu
/*	#expect FIELD=VALUE with FIELD one of owner, state, queue, type,
/*	priority, lock, title; the value is canonicalised as its command
/*	would be (lock: locked or unlocked; owner: a login or none).
/*	.PP
/*	Conflicts, each an error at the later line: a single-valued
/*	command given twice (all but #watch, #unwatch, #inform, #expect),
/*	#note with #reply or #template, #take with #owner, #lock with
/*	#unlock, #state with #pending (unless the state is a pending one:
/*	"#state pending auto close" and "#pending +3d" go together), #watch and #unwatch of the same
/*	agent (or both without agents), #expect of the same field twice.
/*
/*	lmtp_command_block_find() returns the first command of a kind.
/*	lmtp_command_name() returns a kind's canonical keyword.
/* DIAGNOSTICS
/*	lmtp_command_parse() returns 0, or -1 when the block holds errors; at
/*	most COMMAND_MAX_ERRORS messages are kept. Messages never hold
/*	control or invisible characters.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "catalog.h"
#include "command.h"

#define AGENT_MAX	64
#define TEMPLATE_MAX	64
#define QUEUE_MAX	200
#define TITLE_MAX	255
#define MERGE_MAX	40
#define CODE_MIN	4
#define CODE_MAX	64
#define PENDING_MAX_S	(3650L * 86400L)

/* Keyword table: canonical names first, then aliases. */
static const struct keyword {
    const char *word;
    enum command_kind kind;
} keywords[] = {
    {"note", COMMAND_NOTE}, {"reply", COMMAND_REPLY},
    {"template", COMMAND_TEMPLATE}, {"take", COMMAND_TAKE},
    {"owner", COMMAND_OWNER}, {"lock", COMMAND_LOCK},
    {"unlock", COMMAND_UNLOCK}, {"queue", COMMAND_QUEUE},
    {"type", COMMAND_TYPE}, {"priority", COMMAND_PRIORITY},
    {"state", COMMAND_STATE}, {"pending", COMMAND_PENDING},
    {"watch", COMMAND_WATCH}, {"unwatch", COMMAND_UNWATCH},
    {"inform", COMMAND_INFORM}, {"title", COMMAND_TITLE},
    {"merge", COMMAND_MERGE}, {"confirm", COMMAND_CONFIRM},
    {"expect", COMMAND_EXPECT}, {"force", COMMAND_FORCE},
    {"dry-run", COMMAND_DRY_RUN}, {"help", COMMAND_HELP},
    {"list", COMMAND_LIST},
    /* aliases */
    {"comment", COMMAND_NOTE}, {"internal", COMMAND_NOTE},
    {"public", COMMAND_REPLY}, {"assign", COMMAND_OWNER},
    {"move", COMMAND_QUEUE}, {"status", COMMAND_STATE},
    {"prio", COMMAND_PRIORITY}, {"subject", COMMAND_TITLE},
    {"preview", COMMAND_DRY_RUN}, {"dryrun", COMMAND_DRY_RUN},
};

static const char *const states[] = {
    "new", "open", "pending reminder", "pending auto close",
    "closed successful", "closed unsuccessful",
};

static const struct alias {
    const char *from;
    const char *to;
} state_aliases[] = {
    {"closed", "closed successful"}, {"resolved", "closed successful"},
    {"pending", "pending reminder"},
};

static const char *const types[] = {
    "Unclassified", "Incident", "Problem", "Service Request",
};

static const struct priority_name {
    const char *name;			/* lower case */
    int     value;
} priority_names[] = {
    {"very low", 1}, {"low", 2}, {"normal", 3}, {"high", 4},
    {"very high", 5}, {"urgent", 5},
    {"tr\xc3\xa8s basse", 1}, {"tres basse", 1}, {"basse", 2},
    {"normale", 3}, {"haute", 4}, {"tr\xc3\xa8s haute", 5},
    {"tres haute", 5}, {"urgente", 5},
};

static const char *const expect_fields[] = {
    "owner", "state", "queue", "type", "priority", "lock", "title",
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Parser state for one call. */
struct parser {
    struct command_block *b;
    size_t  max_commands;
    size_t  max_line;
    size_t  cmd_cap;
    size_t  err_cap;
    int     limit_reported;
    const char *lang;			/* of the messages, NULL: English */
};

/* lmtp_command_name - canonical keyword of a kind */

const char *lmtp_command_name(enum command_kind kind)
{
    if (kind == COMMAND_COMMENT)
	return ("#");
    for (size_t i = 0; i < NITEMS(keywords); i++)
	if (keywords[i].kind == kind)
	    return (keywords[i].word);
    return ("?");
}

/* add_error - record an error at a line */

static void add_error(struct parser *, unsigned, const char *,...)
            UTIL_PRINTFLIKE(3, 4);

static void add_error(struct parser *p, unsigned line, const char *fmt,...)
{
    struct command_block *b = p->b;
    char    msg[512];
    va_list ap;

    if (b->error_count >= COMMAND_MAX_ERRORS) {
	b->errors_dropped++;
	return;
    }
    va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    /* The catalog's test checks the translation's conversions. */
    vsnprintf(msg, sizeof(msg), lmtp_catalog(p->lang, fmt), ap);
#pragma GCC diagnostic pop
    va_end(ap);
    if (b->error_count == p->err_cap) {
	p->err_cap = p->err_cap ? 2 * p->err_cap : 8;
	b->errors = mem_realloc(b->errors, p->err_cap * sizeof(*b->errors));
    }
    b->errors[b->error_count].line = line;
    b->errors[b->error_count].message = mem_strdup(msg);
    b->error_count++;
}

/* utf8_decode - decode one valid UTF-8 character; its length or 0 */

static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c;
    size_t  len;

    if (n == 0)
	return (0);
    if (s[0] < 0x80) {
	*cp = s[0];
	return (1);
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
	len = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
	len = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
	len = 4, c = s[0] & 0x07;
    else
	return (0);
    if (n < len)
	return (0);
    for (size_t i = 1; i < len; i++) {
	if ((s[i] & 0xc0) != 0x80)
	    return (0);
	c = (c << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff))
	|| (c >= 0xd800 && c <= 0xdfff))
	return (0);
    *cp = c;
    return (len);
}

/* is_control - C0 (but tab), DEL and C1 controls */

static int is_control(unsigned cp)
{
    return ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f));
}

/* is_invisible - zero-width, joiner, separator and bidi characters */

static int is_invisible(unsigned cp)
{
    return (cp == 0xad || (cp >= 0x200b && cp <= 0x200f)
	    || (cp >= 0x2028 && cp <= 0x202e)
	    || (cp >= 0x2060 && cp <= 0x2064)
	    || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff);
}

/* blank_at - length of a blank (space, tab, NBSP) at s, or 0 */

static size_t blank_at(const char *s, const char *end)
{
    if (s < end && (*s == ' ' || *s == '\t'))
	return (1);
    if (end - s >= 2 && (unsigned char) s[0] == 0xc2
	&& (unsigned char) s[1] == 0xa0)
	return (2);
    return (0);
}

/* skip_blanks - first non-blank byte at or after s */

static const char *skip_blanks(const char *s, const char *end)
{
    size_t  n;

    while ((n = blank_at(s, end)) != 0)
	s += n;
    return (s);
}

/* trim_end - cut trailing blanks and CR of [s, end) */

static const char *trim_end(const char *s, const char *end)
{
    for (;;) {
	if (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
	    end--;
	else if (end - s >= 2 && (unsigned char) end[-2] == 0xc2
		 && (unsigned char) end[-1] == 0xa0)
	    end -= 2;
	else
	    return (end);
    }
}

/* check_chars - report the first forbidden character of a line */

static int check_chars(struct parser *p, unsigned line, const char *s,
		               const char *end)
{
    const unsigned char *u = (const unsigned char *) s;
    size_t  n = end - s;
    unsigned cp;
    size_t  len;

    for (size_t i = 0; i < n; i += len) {
	if ((len = utf8_decode(u + i, n - i, &cp)) == 0) {
	    add_error(p, line, "invalid UTF-8 in a command line");
	    return (-1);
	}
	if (is_control(cp)) {
	    add_error(p, line, "control character U+%04X in a command line", cp);
	    return (-1);
	}
	if (is_invisible(cp)) {
	    add_error(p, line, "invisible or bidirectional character U+%04X "
		      "in a command line", cp);
	    return (-1);
	}
    }
    return (0);
}

/* lead_kind - classify a line's start: 0 prose, 1 '#', -1 refused */

static int lead_kind(const char *s, const char *end, const char **why)
{
    const char *cp = s;
    int     junk = 0, invisible = 0;
    unsigned c;
    size_t  len;

    for (;;) {
	if ((len = blank_at(cp, end)) != 0) {
	    junk = 1;
	} else if ((len = utf8_decode((const unsigned char *) cp, end - cp, &c))
		   != 0 && is_invisible(c)) {
	    junk = invisible = 1;
	} else {
	    break;
	}
	cp += len;
    }
    if (end - cp >= 3 && memcmp(cp, "\xef\xbc\x83", 3) == 0) {
	*why = "fullwidth number sign U+FF03 at the start of a line";
	return (-1);
    }
    if (cp < end && *cp == '#' && junk) {
	*why = invisible ? "invisible characters before '#'"
	    : "blanks before '#' (commands start at the first column)";
	return (-1);
    }
    if (cp == end && invisible) {
	*why = "a line of invisible characters in the command block";
	return (-1);
    }
    return (cp < end && *cp == '#' && !junk);
}

/* collapse - copy of [s, end) with blank runs as one space, trimmed */

static char *collapse(const char *s, const char *end, int lower)
{
    char   *out = mem_alloc(end - s + 1);
    char   *op = out;
    size_t  n;

    s = skip_blanks(s, end);
    while (s < end) {
	if ((n = blank_at(s, end)) != 0) {
	    s = skip_blanks(s, end);
	    if (s < end)
		*op++ = ' ';
	    continue;
	}
	if (lower && (unsigned char) s[0] == 0xc3 && end - s >= 2
	    && (unsigned char) s[1] >= 0x80 && (unsigned char) s[1] <= 0x9e
	    && (unsigned char) s[1] != 0x97) {
	    *op++ = s[0];
	    *op++ = (char) (s[1] + 0x20);	/* Latin-1 upper to lower */
	    s += 2;
	    continue;
	}
	*op = *s++;
	if (lower && *op >= 'A' && *op <= 'Z')
	    *op += 'a' - 'A';
	op++;
    }
    *op = 0;
    return (out);
}

/* dashes_to_spaces - '-' and '_' become spaces, runs collapsed */

static void dashes_to_spaces(char *s)
{
    char   *op = s;

    for (char *cp = s; *cp; cp++) {
	char    c = (*cp == '-' || *cp == '_') ? ' ' : *cp;

	if (c == ' ' && (op == s || op[-1] == ' '))
	    continue;
	*op++ = c;
    }
    while (op > s && op[-1] == ' ')
	op--;
    *op = 0;
}

/* next_word - the next word of [*sp, end); commas split too if asked */

static int next_word(const char **sp, const char *end, int commas,
		             const char **w, size_t *wlen)
{
    const char *s = *sp;

    for (;;) {
	s = skip_blanks(s, end);
	if (commas && s < end && *s == ',')
	    s++;
	else
	    break;
    }
    if (s >= end)
	return (0);
    *w = s;
    while (s < end && blank_at(s, end) == 0 && !(commas && *s == ','))
	s++;
    *wlen = s - *w;
    *sp = s;
    return (1);
}

/* valid_login - ASCII letters, digits and "._@+-" */

static int valid_login(const char *w, size_t len)
{
    if (len == 0 || len > AGENT_MAX)
	return (0);
    for (size_t i = 0; i < len; i++) {
	unsigned char c = w[i];

	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	      || (c >= '0' && c <= '9') || strchr("._@+-", c)))
	    return (0);
    }
    return (1);
}

/* shown - a word cut to at most 40 bytes at a character boundary */

static int shown(const char *w, size_t len)
{
    if (len <= 40)
	return ((int) len);
    len = 40;
    while (len > 0 && ((unsigned char) w[len] & 0xc0) == 0x80)
	len--;
    return ((int) len);
}

/* parse_state - canonical state of a lower-case name, or NULL */

static const char *parse_state(char *name)
{
    dashes_to_spaces(name);
    for (size_t i = 0; i < NITEMS(states); i++)
	if (strcmp(name, states[i]) == 0)
	    return (states[i]);
    for (size_t i = 0; i < NITEMS(state_aliases); i++)
	if (strcmp(name, state_aliases[i].from) == 0)
	    return (state_aliases[i].to);
    return (0);
}

/* parse_type - canonical type of a lower-case name, or NULL */

static const char *parse_type(char *name)
{
    dashes_to_spaces(name);
    for (size_t i = 0; i < NITEMS(types); i++)
	if (strcasecmp(name, types[i]) == 0)
	    return (types[i]);
    return (0);
}

/* priority_word - 1..5 for a lower-case name or digit, 0 otherwise */

static int priority_word(const char *name)
{
    if (name[0] >= '1' && name[0] <= '5' && name[1] == 0)
	return (name[0] - '0');
    for (size_t i = 0; i < NITEMS(priority_names); i++)
	if (strcmp(name, priority_names[i].name) == 0)
	    return (priority_names[i].value);
    return (0);
}

/* parse_priority - 1..5 from a lower-case collapsed text, 0 if bad */

static int parse_priority(const char *text)
{
    int     n = priority_word(text);

    /* OTOBO's own names: "3 normal" */
    if (n == 0 && text[0] >= '1' && text[0] <= '5' && text[1] == ' ') {
	int     m = priority_word(text + 2);

	if (m == text[0] - '0')
	    n = m;
    }
    return (n);
}

/* digits - parse exactly len digits at s into *v */

static int digits(const char *s, size_t len, int *v)
{
    *v = 0;
    for (size_t i = 0; i < len; i++) {
	if (s[i] < '0' || s[i] > '9')
	    return (-1);
	*v = *v * 10 + (s[i] - '0');
    }
    return (0);
}

/* days_in - days of a month */

static int days_in(int year, int month)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int     leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return (month == 2 && leap ? 29 : mdays[month - 1]);
}

/* parse_when - #pending argument; 0 or -1 */

static int parse_when(const char *t, struct command_when *w)
{
    size_t  len = strlen(t);

    memset(w, 0, sizeof(*w));
    if (t[0] == '+') {
	long    n = 0, unit;
	size_t  i;

	for (i = 1; t[i] >= '0' && t[i] <= '9'; i++)
	    if ((n = n * 10 + (t[i] - '0')) > PENDING_MAX_S)
		return (-1);
	if (i == 1 || t[i] == 0 || t[i + 1] != 0 || n < 1)
	    return (-1);
	switch (t[i] | 0x20) {
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return (-1);
	}
	if (n > PENDING_MAX_S / unit)
	    return (-1);
	w->relative = 1;
	w->seconds = n * unit;
	return (0);
    }
    if ((len != 10 && len != 16) || t[4] != '-' || t[7] != '-'
	|| digits(t, 4, &w->year) || digits(t + 5, 2, &w->month)
	|| digits(t + 8, 2, &w->day))
	return (-1);
    if (len == 16) {
	if ((t[10] != ' ' && t[10] != 'T' && t[10] != 't') || t[13] != ':'
	    || digits(t + 11, 2, &w->hour) || digits(t + 14, 2, &w->minute)
	    || w->hour > 23 || w->minute > 59)
	    return (-1);
	w->has_time = 1;
    }
    if (w->year < 2000 || w->year > 2199 || w->month < 1 || w->month > 12
	|| w->day < 1 || w->day > days_in(w->year, w->month))
	return (-1);
    return (0);
}

/* add_agent - append a login to a command's list */

static void add_agent(struct command *c, const char *w, size_t len)
{
    c->agents = mem_realloc(c->agents, (c->agent_count + 1) * sizeof(char *));
    c->agents[c->agent_count++] = mem_strndup(w, len);
}

/* parse_agents - agent list arguments; 0 or -1 (error reported) */

static int parse_agents(struct parser *p, struct command *c, const char *s,
			        const char *end)
{
    const char *w;
    size_t  len;

    while (next_word(&s, end, 1, &w, &len)) {
	if (!valid_login(w, len)) {
	    add_error(p, c->line, "#%s: bad agent login \"%.*s\"",
		      lmtp_command_name(c->kind), shown(w, len), w);
	    return (-1);
	}
	add_agent(c, w, len);
    }
    if (c->kind == COMMAND_INFORM && c->agent_count == 0) {
	add_error(p, c->line, "#inform needs at least one agent");
	return (-1);
    }
    return (0);
}

/* parse_owner - #owner AGENT|none|me */

static int parse_owner(struct parser *p, struct command *c, const char *s,
		               const char *end)
{
    const char *w, *rest = s;
    size_t  len;

    if (!next_word(&rest, end, 0, &w, &len)) {
	add_error(p, c->line, "#owner needs an agent, \"none\" or \"me\"");
	return (-1);
    }
    if (skip_blanks(rest, end) != end) {
	add_error(p, c->line, "#owner takes one agent");
	return (-1);
    }
    if (len == 4 && strncasecmp(w, "none", 4) == 0) {
	c->owner = COMMAND_OWNER_NONE;
    } else if (len == 2 && strncasecmp(w, "me", 2) == 0) {
	c->owner = COMMAND_OWNER_SELF;
    } else if (valid_login(w, len)) {
	c->owner = COMMAND_OWNER_AGENT;
	c->arg = mem_strndup(w, len);
    } else {
	add_error(p, c->line, "#owner: bad agent login \"%.*s\"",
		  shown(w, len), w);
	return (-1);
    }
    return (0);
}

/* one_word - exactly one word as argument; NULL after an error */

static char *one_word(struct parser *p, struct command *c, const char *s,
		              const char *end, const char *what)
{
    const char *w, *rest = s;
    size_t  len;

    if (!next_word(&rest, end, 0, &w, &len)) {
	add_error(p, c->line, "#%s needs %s", lmtp_command_name(c->kind),
		  lmtp_catalog(p->lang, what));
	return (0);
    }
    if (skip_blanks(rest, end) != end) {
	add_error(p, c->line, "#%s takes only %s", lmtp_command_name(c->kind),
		  lmtp_catalog(p->lang, what));
	return (0);
    }
    return (mem_strndup(w, len));
}

/* parse_template - #template NAME */

static int parse_template(struct parser *p, struct command *c, const char *s,
			          const char *end)
{
    char   *name = one_word(p, c, s, end, "a template name");
    size_t  len;

    if (name == 0)
	return (-1);
    len = strlen(name);
    if (len > TEMPLATE_MAX || name[0] == '.'
	|| strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		  "0123456789._-") != len) {
	add_error(p, c->line, "#template: bad template name \"%.*s\"",
		  shown(name, len), name);
	mem_free(name);
	return (-1);
    }
    c->arg = name;
    return (0);
}

/* parse_text - rest-of-line argument (queue, title) */

static int parse_text(struct parser *p, struct command *c, const char *s,
		              const char *end, size_t max, const char *what)
{
    char   *text = collapse(s, end, 0);

    if (*text == 0 || strlen(text) > max) {
	if (*text)
	    add_error(p, c->line, "#%s: %s longer than %zu bytes",
		      lmtp_command_name(c->kind), lmtp_catalog(p->lang, what), max);
	else
	    add_error(p, c->line, "#%s needs %s", lmtp_command_name(c->kind),
		      lmtp_catalog(p->lang, what));
	mem_free(text);
	return (-1);
    }
    c->arg = text;
    return (0);
}

/* parse_merge - #merge [into] NUMBER */

static int parse_merge(struct parser *p, struct command *c, const char *s,
		               const char *end)
{
    const char *w = 0;
    size_t  len = 0, i;

    if (next_word(&s, end, 0, &w, &len) && len == 4
	&& strncasecmp(w, "into", 4) == 0
	&& !next_word(&s, end, 0, &w, &len))
	len = 0;
    if (len == 0) {
	add_error(p, c->line, "#merge needs a ticket number");
	return (-1);
    }
    for (i = 0; i < len && w[i] >= '0' && w[i] <= '9'; i++)
	 /* void */ ;
    if (i < len || len > MERGE_MAX || skip_blanks(s, end) != end) {
	add_error(p, c->line, "#merge: bad ticket number \"%.*s\"",
		  shown(w, len), w);
	return (-1);
    }
    c->arg = mem_strndup(w, len);
    return (0);
}

/* parse_confirm - #confirm CODE */

static int parse_confirm(struct parser *p, struct command *c, const char *s,
			         const char *end)
{
    char   *code = one_word(p, c, s, end, "a code");
    size_t  len;

    if (code == 0)
	return (-1);
    len = strlen(code);
    if (len < CODE_MIN || len > CODE_MAX
	|| strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		  "0123456789") != len) {
	add_error(p, c->line, "#confirm: bad code \"%.*s\"", shown(code, len),
		  code);
	mem_free(code);
	return (-1);
    }
    for (char *cp = code; *cp; cp++)
	if (*cp >= 'a' && *cp <= 'z')
	    *cp -= 'a' - 'A';
    c->arg = code;
    return (0);
}

/* expect_value - canonical value of an #expect field; NULL if bad */

static char *expect_value(const char *field, const char *s, const char *end)
{
    char   *v = collapse(s, end, strcmp(field, "queue") && strcmp(field, "title"));
    const char *canon = 0;
    char   *out = 0;

    if (*v == 0) {
	/* empty: bad */
    } else if (strcmp(field, "state") == 0) {
	canon = parse_state(v);
    } else if (strcmp(field, "type") == 0) {
	canon = parse_type(v);
    } else if (strcmp(field, "priority") == 0) {
	int     n = parse_priority(v);

	if (n)
	    out = mem_printf("%d", n);
    } else if (strcmp(field, "lock") == 0) {
	if (strcmp(v, "lock") == 0 || strcmp(v, "locked") == 0)
	    canon = "locked";
	else if (strcmp(v, "unlock") == 0 || strcmp(v, "unlocked") == 0)
	    canon = "unlocked";
    } else if (strcmp(field, "owner") == 0) {
	if (valid_login(v, strlen(v)))
	    out = mem_strdup(v);
    } else if (strlen(v) <= TITLE_MAX) {
	out = mem_strdup(v);			/* queue, title */
    }
    if (canon)
	out = mem_strdup(canon);
    mem_free(v);
    return (out);
}

/* parse_expect - #expect FIELD=VALUE */

static int parse_expect(struct parser *p, struct command *c, const char *s,
			        const char *end)
{
    const char *eq = memchr(s, '=', end - s);
    char   *field;
    size_t  i;

    if (eq == 0) {
	add_error(p, c->line, "#expect needs FIELD=VALUE");
	return (-1);
    }
    field = collapse(s, eq, 1);
    for (i = 0; i < NITEMS(expect_fields); i++)
	if (strcmp(field, expect_fields[i]) == 0)
	    break;
    if (i == NITEMS(expect_fields)) {
	add_error(p, c->line, "#expect: unknown field \"%.*s\" (owner, state, "
		  "queue, type, priority, lock, title)",
		  shown(field, strlen(field)), field);
	mem_free(field);
	return (-1);
    }
    mem_free(field);
    c->arg = mem_strdup(expect_fields[i]);
    if ((c->value = expect_value(c->arg, eq + 1, end)) == 0) {
	add_error(p, c->line, "#expect: bad value for %s", c->arg);
	return (-1);
    }
    return (0);
}

/* parse_args - the arguments of one command; 0 or -1 */

static int parse_args(struct parser *p, struct command *c, const char *s,
		              const char *end)
{
    char   *t;
    const char *canon;

    switch (c->kind) {
    case COMMAND_TEMPLATE:
	return (parse_template(p, c, s, end));
    case COMMAND_OWNER:
	return (parse_owner(p, c, s, end));
    case COMMAND_WATCH:
    case COMMAND_UNWATCH:
    case COMMAND_INFORM:
	return (parse_agents(p, c, s, end));
    case COMMAND_QUEUE:
	return (parse_text(p, c, s, end, QUEUE_MAX, "a queue name"));
    case COMMAND_TITLE:
	return (parse_text(p, c, s, end, TITLE_MAX, "a title"));
    case COMMAND_MERGE:
	return (parse_merge(p, c, s, end));
    case COMMAND_CONFIRM:
	return (parse_confirm(p, c, s, end));
    case COMMAND_EXPECT:
	return (parse_expect(p, c, s, end));
    case COMMAND_TYPE:
    case COMMAND_STATE:
    case COMMAND_PRIORITY:
    case COMMAND_PENDING:
	t = collapse(s, end, c->kind != COMMAND_PENDING);
	if (c->kind == COMMAND_TYPE && (canon = parse_type(t)) != 0) {
	    c->arg = mem_strdup(canon);
	} else if (c->kind == COMMAND_STATE && (canon = parse_state(t)) != 0) {
	    c->arg = mem_strdup(canon);
	} else if (c->kind == COMMAND_PRIORITY
		   && (c->priority = parse_priority(t)) != 0) {
	     /* ok */ ;
	} else if (c->kind == COMMAND_PENDING && parse_when(t, &c->when) == 0) {
	     /* ok */ ;
	} else {
	    add_error(p, c->line, "#%s: bad %s \"%.*s\"%s",
		      lmtp_command_name(c->kind), lmtp_command_name(c->kind),
		      shown(t, strlen(t)), t, lmtp_catalog(p->lang,
		      c->kind == COMMAND_TYPE ? " (Incident, Problem, Service "
		      "Request, Unclassified)" : c->kind == COMMAND_STATE ?
		      " (new, open, pending reminder, pending auto close, "
		      "closed successful, closed unsuccessful)" :
		      c->kind == COMMAND_PRIORITY ? " (1-5, very low, low, "
		      "normal, high, very high)" : " (YYYY-MM-DD [HH:MM], "
		      "+Nd, +Nh, +Nm, +Nw)"));
	    mem_free(t);
	    return (-1);
	}
	mem_free(t);
	return (0);
    default:
	if (skip_blanks(s, end) != end) {
	    add_error(p, c->line, "#%s takes no arguments",
		      lmtp_command_name(c->kind));
	    return (-1);
	}
	return (0);
    }
}

/* new_command - append an empty command to the block */

static struct command *new_command(struct parser *p, enum command_kind kind,
			             unsigned line, const char *s, const char *end)
{
    struct command_block *b = p->b;
    struct command *c;

    if (b->count == p->cmd_cap) {
	p->cmd_cap = p->cmd_cap ? 2 * p->cmd_cap : 16;
	b->commands = mem_realloc(b->commands, p->cmd_cap * sizeof(*c));
    }
    c = b->commands + b->count++;
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->line = line;
    c->raw = str_sanitize(s, end - s);
    if (kind != COMMAND_COMMENT)
	b->command_count++;
    return (c);
}

/* free_command - free what a command holds */

static void free_command(struct command *c)
{
    mem_free(c->raw);
    mem_free(c->arg);
    mem_free(c->value);
    for (size_t i = 0; i < c->agent_count; i++)
	mem_free(c->agents[i]);
    mem_free(c->agents);
}

/* parse_line - one line of the block (starts with '#'); 1 at "#end" */

static int parse_line(struct parser *p, unsigned line, const char *s,
		              const char *end)
{
    const char *kw = s + 1, *kend = kw;
    struct command *c;
    size_t  i;

    if ((size_t) (end - s) > p->max_line) {
	add_error(p, line, "line longer than %zu bytes", p->max_line);
	return (0);
    }
    if (check_chars(p, line, s, end) < 0)
	return (0);
    if (end - s >= 2 && s[1] == '#') {
	new_command(p, COMMAND_COMMENT, line, s, end);
	return (0);
    }
    while (kend < end && blank_at(kend, end) == 0)
	kend++;
    if (kend == kw) {
	add_error(p, line, "'#' without a command name");
	return (0);
    }
    if (kend - kw == 3 && strncasecmp(kw, "end", 3) == 0) {
	if (skip_blanks(kend, end) == end)
	    return (1);
	add_error(p, line, "#end takes no arguments");
	return (0);
    }
    for (i = 0; i < NITEMS(keywords); i++)
	if (strlen(keywords[i].word) == (size_t) (kend - kw)
	    && strncasecmp(keywords[i].word, kw, kend - kw) == 0)
	    break;
    if (i == NITEMS(keywords)) {
	add_error(p, line, "unknown command \"#%.*s\"", shown(kw, kend - kw), kw);
	return (0);
    }
    if (p->b->command_count >= p->max_commands) {
	if (!p->limit_reported)
	    add_error(p, line, "more than %zu commands", p->max_commands);
	p->limit_reported = 1;
	return (0);
    }
    c = new_command(p, keywords[i].kind, line, s, end);
    if (parse_args(p, c, kend, end) < 0) {
	free_command(c);
	p->b->count--;
	p->b->command_count--;
    }
    return (0);
}

/* same_agents - whether two agent lists share a login (both empty too) */

static int same_agents(const struct command *a, const struct command *b)
{
    if (a->agent_count == 0 && b->agent_count == 0)
	return (1);
    for (size_t i = 0; i < a->agent_count; i++)
	for (size_t j = 0; j < b->agent_count; j++)
	    if (strcasecmp(a->agents[i], b->agents[j]) == 0)
		return (1);
    return (0);
}

/* conflict - whether kinds x and y may not be combined */

static int conflict(enum command_kind x, enum command_kind y)
{
    static const enum command_kind pairs[][2] = {
	{COMMAND_NOTE, COMMAND_REPLY}, {COMMAND_NOTE, COMMAND_TEMPLATE},
	{COMMAND_TAKE, COMMAND_OWNER}, {COMMAND_LOCK, COMMAND_UNLOCK},
	{COMMAND_STATE, COMMAND_PENDING},
    };

    for (size_t i = 0; i < NITEMS(pairs); i++)
	if ((pairs[i][0] == x && pairs[i][1] == y)
	    || (pairs[i][0] == y && pairs[i][1] == x))
	    return (1);
    return (0);
}

/* pending_with_time - "#state pending ..." with "#pending TIME" is fine */

static int pending_with_time(const struct command *s, const struct command *t)
{
    return (s->kind == COMMAND_STATE && t->kind == COMMAND_PENDING
	    && s->arg && strncmp(s->arg, "pending", 7) == 0);
}

/* check_pair - report e (earlier) and c (later) if they conflict */

static int check_pair(struct parser *p, const struct command *e,
		              const struct command *c)
{
    if (e->kind == c->kind && c->kind == COMMAND_EXPECT) {
	if (strcmp(e->arg, c->arg) == 0) {
	    add_error(p, c->line, "#expect %s given twice (line %u)",
		      c->arg, e->line);
	    return (1);
	}
    } else if (e->kind == c->kind && c->kind != COMMAND_WATCH
	       && c->kind != COMMAND_UNWATCH && c->kind != COMMAND_INFORM) {
	add_error(p, c->line, "#%s given twice (line %u)",
		  lmtp_command_name(c->kind), e->line);
	return (1);
    } else if (conflict(e->kind, c->kind)
	       && !pending_with_time(e, c) && !pending_with_time(c, e)) {
	add_error(p, c->line, "#%s cannot go with #%s (line %u)",
		  lmtp_command_name(c->kind), lmtp_command_name(e->kind), e->line);
	return (1);
    } else if (((e->kind == COMMAND_WATCH && c->kind == COMMAND_UNWATCH)
		|| (e->kind == COMMAND_UNWATCH && c->kind == COMMAND_WATCH))
	       && same_agents(e, c)) {
	add_error(p, c->line, "#watch and #unwatch of the same agent "
		  "(line %u)", e->line);
	return (1);
    }
    return (0);
}

/* check_conflicts - report commands that cannot go together */

static void check_conflicts(struct parser *p)
{
    const struct command_block *b = p->b;
    const struct command **cmds;
    size_t  n = 0;

    /* Only real commands (at most max_commands), not the comments. */
    cmds = mem_alloc((b->command_count + 1) * sizeof(*cmds));
    for (size_t i = 0; i < b->count; i++)
	if (b->commands[i].kind != COMMAND_COMMENT)
	    cmds[n++] = b->commands + i;
    for (size_t j = 1; j < n; j++)
	for (size_t i = 0; i < j; i++)
	    if (check_pair(p, cmds[i], cmds[j]))
		break;
    mem_free(cmds);
}

/* skip_blank_lines - start of the first non-blank line at or after pos */

static size_t skip_blank_lines(const char *text, size_t len, size_t pos)
{
    while (pos < len) {
	const char *nl = memchr(text + pos, '\n', len - pos);
	const char *end = nl ? nl : text + len;

	if (trim_end(text + pos, end) != text + pos)
	    break;
	pos = nl ? (size_t) (nl - text) + 1 : len;
    }
    return (pos);
}

/* lmtp_command_parse - parse the command block at the top of text */

int     lmtp_command_parse(const char *text, const struct command_limits *limits,
		              struct command_block **block_r)
{
    struct parser p;
    size_t  len, pos = 0, start;
    unsigned line = 0;
    int     in_block = 0;
    const char *why;

    memset(&p, 0, sizeof(p));
    p.b = mem_zalloc(sizeof(*p.b));
    p.max_commands = limits && limits->max_commands ? limits->max_commands
	: COMMAND_DEFAULT_MAX_COMMANDS;
    p.lang = limits ? limits->language : 0;
    p.max_line = limits && limits->max_line ? limits->max_line
	: COMMAND_DEFAULT_MAX_LINE;
    *block_r = p.b;
    if (text == 0)
	text = "";
    len = strlen(text);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
	pos = 3;

    while (pos < len) {
	const char *s = text + pos;
	const char *nl = memchr(s, '\n', len - pos);
	const char *end = trim_end(s, nl ? nl : text + len);
	int     kind;

	start = pos;
	pos = nl ? (size_t) (nl - text) + 1 : len;
	line++;
	if (end == s) {				/* blank line */
	    if (!in_block)
		continue;
	    p.b->text_offset = skip_blank_lines(text, len, pos);
	    break;
	}
	if ((kind = lead_kind(s, end, &why)) == 0) {	/* prose */
	    if (in_block)
		p.b->text_offset = start;
	    break;
	}
	if (!in_block)
	    p.b->first_line = line;
	in_block = 1;
	p.b->last_line = line;
	p.b->text_offset = pos;
	if (kind < 0) {
	    add_error(&p, line, "%s", lmtp_catalog(p.lang, why));
	} else if (parse_line(&p, line, s, end) == 1) {
	    p.b->ended_by_end = 1;
	    p.b->text_offset = skip_blank_lines(text, len, pos);
	    break;
	}
    }
    check_conflicts(&p);
    return (p.b->error_count || p.b->errors_dropped ? -1 : 0);
}

/* lmtp_command_block_find - the first command of a kind */

const struct command *lmtp_command_block_find(const struct command_block *b,
					         enum command_kind kind)
{
    for (size_t i = 0; b && i < b->count; i++)
	if (b->commands[i].kind == kind)
	    return (b->commands + i);
    return (0);
}

/* lmtp_command_block_free - free a block and NULL the pointer */

void    lmtp_command_block_free(struct command_block **block_r)
{
    struct command_block *b = *block_r;

    if (b == 0)
	return;
    for (size_t i = 0; i < b->count; i++)
	free_command(b->commands + i);
    mem_free(b->commands);
    for (size_t i = 0; i < b->error_count; i++)
	mem_free(b->errors[i].message);
    mem_free(b->errors);
    mem_free(b);
    *block_r = 0;
}
