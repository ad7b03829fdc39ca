/*++
/* NAME
/*	conf_load 3
/* SUMMARY
/*	read and validate postdesk.conf
/* SYNOPSIS
/*	#include <conf.h>
/*
/*	struct conf *conf_load(path, errors_r)
/*	const char *path;
/*	char	**errors_r;
/* DESCRIPTION
/*	conf_load() reads a GLib key file, checks every section and key,
/*	and returns a new snapshot holding one reference (conf_unref()).
/*
/*	GKeyFile gives values but no line numbers, so the file is first
/*	scanned line by line: the scan maps each (section, key) to its
/*	line, finds syntax errors with their line, and also catches what
/*	GKeyFile merges silently (a key given twice). Whole-line comments
/*	start with '#' or ';' (a ';' line is turned into a '#' line
/*	before GKeyFile sees it, keeping the line count). A comment after
/*	a value is not a comment: it becomes part of the value.
/*
/*	Sections: [postdesk], [queue NAME], [agent LOGIN], [calendar NAME],
/*	[sla NAME]. Names are letters, digits, '.', '_', '-' and must be
/*	unique ignoring case. A section may be split over several headers
/*	of the same name; its keys are merged.
/* DIAGNOSTICS
/*	On failure conf_load() returns NULL and *errors_r is a new text
/*	(mem_free()) with one "FILE:LINE: message" line per problem, in
/*	line order. All problems are reported, not only the first. LINE
/*	is the line of the key at fault, or of the section header for a
/*	problem of the whole section, 1 when the [postdesk] section is
/*	missing, and 0 when the file cannot be read.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "util.h"
#include "conf_impl.h"

 /*
  * Defaults and limits (Postfix-style parameter triples).
  */
#define DEF_STATE_DIR		"/var/lib/postdesk"
#define DEF_LISTEN		"unix:/var/spool/postfix/private/postdesk"
#define DEF_MILTER_LISTEN	"inet:127.0.0.1:8891"
#define DEF_RELAY		"127.0.0.1:25"
#define DEF_SECRET_FILE		"/etc/postdesk/secret"
#define DEF_COMMAND_LOCALPART	"desk"
#define DEF_TICKET_HOOK		"Ticket#"
#define DEF_SYSTEM_ID		10
#define MIN_SYSTEM_ID		0
#define MAX_SYSTEM_ID		99
#define DEF_LANGUAGE		"fr"
#define DEF_MAX_MESSAGE_SIZE	26214400
#define MIN_MAX_MESSAGE_SIZE	1024
#define MAX_MAX_MESSAGE_SIZE	1073741824
#define DEF_AUTO_ACK_LIMIT	10
#define MIN_AUTO_ACK_LIMIT	0
#define MAX_AUTO_ACK_LIMIT	10000
#define DEF_USER		"postdesk"
#define DEF_TEMPLATES_DIR	"/etc/postdesk/templates"
#define DEF_KEY_EPOCH		0
#define MAX_KEY_EPOCH		255
#define DEF_TOKEN_MAX_AGE	30	/* days */
#define MAX_TOKEN_MAX_AGE	365
#define DEF_RELAY_TLS		"none"
#define DEF_OUTBOX_MAX_AGE	5	/* days, like maximal_queue_lifetime */
#define MAX_OUTBOX_MAX_AGE	30
#define DEF_MILTER_MAX_RECEIVED	30
#define MAX_MILTER_MAX_RECEIVED	1000
#define DEF_MILTER_RATE_SENDER	30	/* new mails per sender per hour */
#define DEF_MILTER_RATE_CLIENT	120	/* per client IP per hour */
#define MAX_MILTER_RATE		1000000
#define DEF_DEFAULT_TYPE	"Service Request"
#define DEF_HOURS		"mon-fri 00:00-24:00"
#define DEF_WARN_AT		80
#define MIN_WARN_AT		1
#define MAX_WARN_AT		100
#define MAX_NAME_LEN		64
#define MAX_HOOK_LEN		32

enum sect_type {
    SECT_UNKNOWN,
    SECT_POSTDESK,
    SECT_QUEUE,
    SECT_AGENT,
    SECT_CALENDAR,
    SECT_SLA,
};

static const char *const postdesk_keys[] = {
    "domain", "state_dir", "listen", "milter_listen", "relay", "secret_file",
    "command_localpart", "ticket_hook", "system_id", "language",
    "max_message_size", "auto_ack_limit", "user", "dedicated_domains",
    "test_clock",
    "instance", "key_epoch", "token_max_age", "templates_dir",
    "relay_tls", "relay_ca_file", "relay_user", "relay_password_file",
    "outbox_max_age", "milter_max_received", "milter_rate_sender",
    "milter_rate_client", "authserv_id", "command_auth", 0,
};
static const char *const queue_keys[] = {
    "addresses", "group", "sla", "default_type", "follow_up_closed",
    "type_sla", 0,
};
static const char *const agent_keys[] = {
    "name", "email", "groups", "subscribe", "language", "notify",
    "out_of_office", "active", 0,
};
static const char *const calendar_keys[] = {
    "timezone", "hours", "holidays", 0,
};
static const char *const sla_keys[] = {
    "calendar", "first_response", "update", "solution", "warn_at",
    "pause_when_pending", "notify_outside_hours", 0,
};
static const char *const notify_events[] = {
    "new-ticket", "follow-up", "new-note", "lock", "owner", "move",
    "escalation", "pending", "transcript", 0,
};

 /*
  * One section as seen by the scan (a group may have several headers).
  */
struct section {
    char   *group;			/* text between the brackets */
    int     line;			/* first header */
    enum sect_type type;
    char   *name;			/* after the type word, or NULL */
};

struct err {
    int     line;
    unsigned seq;
    char   *text;
};

struct loader {
    const char *path;
    struct conf *conf;
    GKeyFile *kf;
    GArray *errs;			/* struct err */
    GPtrArray *sections;		/* struct section, file order */
    GHashTable *by_group;		/* group -> struct section */
    GHashTable *key_lines;		/* "group\nkey" -> line */
    GPtrArray *keys;			/* "group\nkey" in file order */
    GHashTable *addr_owner;		/* address -> "[queue X] (line N)" */
    GHashTable *email_owner;		/* address -> "[agent x] (line N)" */
};

/* err_at - record one problem */

static void UTIL_PRINTFLIKE(3, 4) err_at(struct loader *ld, int line,
					         const char *fmt,...)
{
    struct err e;
    va_list ap;

    va_start(ap, fmt);
    e.line = line;
    e.seq = ld->errs->len;
    e.text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    for (unsigned char *cp = (unsigned char *) e.text; *cp; cp++)
	if (*cp < 0x20 || *cp == 0x7f)
	    *cp = '?';			/* one line per problem */
    g_array_append_val(ld->errs, e);
}

/* err_cmp - order by line, then by discovery */

static int err_cmp(const void *a, const void *b)
{
    const struct err *x = a;
    const struct err *y = b;

    if (x->line != y->line)
	return (x->line < y->line ? -1 : 1);
    return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* errors_text - the sorted "FILE:LINE: message" text */

static char *errors_text(struct loader *ld)
{
    struct buf *b = buf_create(256, 0);
    char   *text;

    g_array_sort(ld->errs, err_cmp);
    for (guint i = 0; i < ld->errs->len; i++) {
	struct err *e = &g_array_index(ld->errs, struct err, i);

	buf_printf(b, "%s:%d: %s\n", ld->path, e->line, e->text);
    }
    text = buf_steal(b, 0);
    buf_destroy(&b);
    return (text);
}

/* section_free - GDestroyNotify */

static void section_free(void *ptr)
{
    struct section *s = ptr;

    g_free(s->group);
    g_free(s->name);
    g_free(s);
}

/* name_ok - a section name: [A-Za-z0-9._-], starting alphanumeric */

static int name_ok(const char *name)
{
    size_t  len = strlen(name);

    if (len == 0 || len > MAX_NAME_LEN || !isalnum((unsigned char) name[0]))
	return (0);
    for (const char *cp = name; *cp; cp++)
	if (!isalnum((unsigned char) *cp) && *cp != '.' && *cp != '_' && *cp != '-')
	    return (0);
    return (1);
}

/* classify - type and name of a group */

static void classify(struct loader *ld, struct section *s)
{
    static const struct {
	const char *word;
	enum sect_type type;
    }       types[] = {
	{"queue", SECT_QUEUE},
	{"agent", SECT_AGENT},
	{"calendar", SECT_CALENDAR},
	{"sla", SECT_SLA},
    };
    const char *sp = strchr(s->group, ' ');
    size_t  wlen = sp ? (size_t) (sp - s->group) : strlen(s->group);

    s->type = SECT_UNKNOWN;
    if (strcmp(s->group, "postdesk") == 0) {
	s->type = SECT_POSTDESK;
	return;
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
	if (strlen(types[i].word) == wlen
	    && strncmp(s->group, types[i].word, wlen) == 0) {
	    s->name = g_strstrip(g_strdup(sp ? sp : ""));
	    if (!name_ok(s->name)) {
		err_at(ld, s->line, "[%s]: %s name \"%s\" must be 1 to %d letters, "
		       "digits, '.', '_' or '-', starting with a letter or digit",
		       s->group, types[i].word, s->name, MAX_NAME_LEN);
		return;
	    }
	    s->type = types[i].type;
	    return;
	}
    }
    err_at(ld, s->line, "unknown section type in [%s] (expected [postdesk], "
	   "[queue NAME], [agent LOGIN], [calendar NAME] or [sla NAME])",
	   s->group);
}

/* group_name_ok - what GKeyFile accepts between brackets */

static int group_name_ok(const char *g)
{
    if (*g == 0)
	return (0);
    for (const unsigned char *cp = (const unsigned char *) g; *cp; cp++)
	if (*cp < 0x20 || *cp == 0x7f || *cp == '[' || *cp == ']')
	    return (0);
    return (1);
}

/* scan_header - a "[group]" line */

static char *scan_header(struct loader *ld, char *text, int line)
{
    size_t  len = strlen(text);
    char   *group;
    struct section *s;

    if (text[len - 1] != ']') {
	err_at(ld, line, "bad section header (comments must stand on their own line)");
	return (0);
    }
    group = g_strndup(text + 1, len - 2);
    if (!group_name_ok(group)) {
	err_at(ld, line, "bad section header [%s]", group);
	g_free(group);
	return (0);
    }
    if ((s = g_hash_table_lookup(ld->by_group, group)) == 0) {
	s = g_new0(struct section, 1);
	s->group = g_strdup(group);
	s->line = line;
	g_ptr_array_add(ld->sections, s);
	g_hash_table_insert(ld->by_group, s->group, s);
    }
    g_free(group);
    return (s->group);
}

/* scan_key - a "key = value" line in group */

static void scan_key(struct loader *ld, const char *group, char *text,
		             int line)
{
    char   *eq = strchr(text, '=');
    char   *key = g_strndup(text, eq - text);
    char   *k;
    char   *value;
    gpointer old;

    g_strchomp(key);
    if (*key == 0) {
	err_at(ld, line, "missing key name before '='");
	g_free(key);
	return;
    }
    value = g_strstrip(g_strdup(eq + 1));
    if (strstr(value, " #") != 0 || strstr(value, "\t#") != 0)
	err_at(ld, line, "%s: value contains \" #\": comments must stand on "
	       "their own line (GLib key files have no trailing comments)", key);
    g_free(value);
    k = g_strdup_printf("%s\n%s", group, key);
    if ((old = g_hash_table_lookup(ld->key_lines, k)) != 0) {
	err_at(ld, line, "key \"%s\" given twice in [%s] (first on line %d)",
	       key, group, GPOINTER_TO_INT(old));
	g_free(k);
    } else {
	g_hash_table_insert(ld->key_lines, k, GINT_TO_POINTER(line));
	g_ptr_array_add(ld->keys, k);
    }
    g_free(key);
}

/* scan - map keys to lines, find syntax errors, prepare GKeyFile text */

static int scan(struct loader *ld, char *data, size_t len)
{
    const char *group = 0;
    int     bad_group = 0;
    int     line = 0;
    int     errors = 0;
    char   *cp = data;
    char   *end = data + len;

    while (cp < end) {
	char   *nl = memchr(cp, '\n', end - cp);
	char   *eol = nl ? nl : end;
	char   *text;
	char   *lead;

	line++;
	if (memchr(cp, 0, eol - cp) != 0) {
	    err_at(ld, line, "NUL byte in line");
	    errors++;
	    memset(cp, '#', 1);
	    for (char *zp = cp; zp < eol; zp++)
		if (*zp == 0)
		    *zp = ' ';
	    cp = nl ? nl + 1 : end;
	    continue;
	}
	text = g_strndup(cp, eol - cp);
	g_strstrip(text);
	lead = cp;
	while (lead < eol && (*lead == ' ' || *lead == '\t'))
	    lead++;
	if (!g_utf8_validate(text, -1, 0)) {
	    err_at(ld, line, "invalid UTF-8");
	    errors++;
	    *lead = '#';
	} else if (*text == 0 || *text == '#') {
	     /* comment or blank */ ;
	} else if (*text == ';') {
	    *lead = '#';			/* GKeyFile knows only '#' */
	} else if (*text == '[') {
	    group = scan_header(ld, text, line);
	    if ((bad_group = (group == 0)) != 0) {
		errors++;
		*lead = '#';
	    }
	} else if (strchr(text, '=') != 0 && *text != '=') {
	    if (group) {
		scan_key(ld, group, text, line);
	    } else {
		if (!bad_group) {
		    err_at(ld, line, "key outside any section");
		    errors++;
		}
		*lead = '#';
	    }
	} else {
	    err_at(ld, line, "line is not \"key = value\", a [section] or a comment");
	    errors++;
	    *lead = '#';
	}
	g_free(text);
	cp = nl ? nl + 1 : end;
    }
    return (errors);
}

/* key_line - line of (group, key), 0 when absent */

static int key_line(struct loader *ld, const struct section *s, const char *key)
{
    char   *k = g_strdup_printf("%s\n%s", s->group, key);
    int     line = GPOINTER_TO_INT(g_hash_table_lookup(ld->key_lines, k));

    g_free(k);
    return (line);
}

/* get_str - stripped string value (g_free()), NULL when absent or bad */

static char *get_str(struct loader *ld, const struct section *s, const char *key)
{
    int     line = key_line(ld, s, key);
    GError *error = 0;
    char   *val;

    if (line == 0)
	return (0);
    if ((val = g_key_file_get_string(ld->kf, s->group, key, &error)) == 0) {
	err_at(ld, line, "%s: %s", key, error->message);
	g_error_free(error);
	return (0);
    }
    return (g_strstrip(val));
}

/* get_list - stripped non-empty items (g_ptr_array_unref()), or NULL */

static GPtrArray *get_list(struct loader *ld, const struct section *s,
			           const char *key)
{
    int     line = key_line(ld, s, key);
    GError *error = 0;
    gchar **items;
    GPtrArray *out;

    if (line == 0)
	return (0);
    items = g_key_file_get_string_list(ld->kf, s->group, key, 0, &error);
    if (items == 0) {
	if (error && !g_error_matches(error, G_KEY_FILE_ERROR,
				      G_KEY_FILE_ERROR_INVALID_VALUE)) {
	    err_at(ld, line, "%s: %s", key, error->message);
	    g_error_free(error);
	    return (0);
	}
	if (error)
	    g_error_free(error);
	return (g_ptr_array_new_with_free_func(g_free));
    }
    out = g_ptr_array_new_with_free_func(g_free);
    for (gchar **ip = items; *ip; ip++) {
	g_strstrip(*ip);
	if (**ip)
	    g_ptr_array_add(out, g_strdup(*ip));
    }
    g_strfreev(items);
    return (out);
}

/* snap_vec - copy items into a NULL-terminated snapshot vector */

static const char *const *snap_vec(struct conf *conf, GPtrArray *items)
{
    guint   n = items ? items->len : 0;
    const char **vec = conf_own(conf, mem_zalloc((n + 1) * sizeof(*vec)));

    for (guint i = 0; i < n; i++)
	vec[i] = conf_strdup(conf, g_ptr_array_index(items, i));
    return (vec);
}

/* get_uint - unsigned integer in [min, max] */

static unsigned long long get_uint(struct loader *ld, const struct section *s,
			              const char *key, unsigned long long def,
			            unsigned long long min, unsigned long long max)
{
    char   *val = get_str(ld, s, key);
    guint64 n = def;
    GError *error = 0;

    if (val == 0)
	return (def);
    if (!g_ascii_string_to_unsigned(val, 10, 0, G_MAXUINT64, &n, &error)) {
	err_at(ld, key_line(ld, s, key), "%s: \"%s\" is not a number (%llu..%llu)",
	       key, val, min, max);
	g_error_free(error);
	n = def;
    } else if (n < min || n > max) {
	err_at(ld, key_line(ld, s, key), "%s: %s is out of range (%llu..%llu)",
	       key, val, min, max);
	n = def;
    }
    g_free(val);
    return (n);
}

/* get_choice - one of a fixed set of words, case-insensitive */

static const char *get_choice(struct loader *ld, const struct section *s,
			              const char *key, const char *def,
			              const char *const *choices)
{
    char   *val = get_str(ld, s, key);
    const char *out = 0;

    if (val == 0)
	return (def);
    for (const char *const *cp = choices; *cp; cp++)
	if (g_ascii_strcasecmp(val, *cp) == 0)
	    out = *cp;
    if (out == 0) {
	gchar  *list = g_strjoinv(" | ", (gchar **) choices);

	out = def;
	err_at(ld, key_line(ld, s, key), "%s: bad value \"%s\" (expected %s)",
	       key, val, list);
	g_free(list);
    }
    g_free(val);
    return (out);
}

/*
 * parse_test_clock - test_clock = RFC 3339 instant: the daemon's clock
 * starts there. Refused unless POSTDESK_ALLOW_TEST_CLOCK=1 (tests only).
 */

static void parse_test_clock(struct loader *ld, const struct section *s)
{
    char   *val = get_str(ld, s, "test_clock");
    const char *allow = getenv("POSTDESK_ALLOW_TEST_CLOCK");
    GDateTime *dt;

    if (val == 0)
	return;
    if (allow == 0 || strcmp(allow, "1") != 0) {
	err_at(ld, key_line(ld, s, "test_clock"),
	       "test_clock: refused: a test-only setting "
	       "(POSTDESK_ALLOW_TEST_CLOCK=1 is not set)");
    } else if ((dt = g_date_time_new_from_iso8601(val, 0)) == 0
	       || strchr(val, 'T') == 0) {
	if (dt)
	    g_date_time_unref(dt);
	err_at(ld, key_line(ld, s, "test_clock"),
	       "test_clock: \"%s\" is not an RFC 3339 instant with a zone", val);
    } else {
	ld->conf->test_clock = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
    }
    g_free(val);
}

/* conf_test_clock - the test_clock instant, 0 when not set */

int64_t conf_test_clock(const struct conf *c)
{
    return (c->test_clock);
}

/* get_yes_no - "yes" or "no", case-insensitive: 1 or 0 */

static int get_yes_no(struct loader *ld, const struct section *s,
		              const char *key, int def)
{
    static const char *const yes_no[] = {"yes", "no", 0};

    return (strcmp(get_choice(ld, s, key, def ? "yes" : "no", yes_no),
		   "yes") == 0);
}

/* missing - report a required key */

static void missing(struct loader *ld, const struct section *s, const char *key)
{
    err_at(ld, s->line, "[%s]: missing required key \"%s\"", s->group, key);
}

/* check_keys - every key of every known section is one we know */

static void check_keys(struct loader *ld)
{
    for (guint i = 0; i < ld->keys->len; i++) {
	const char *k = g_ptr_array_index(ld->keys, i);
	const char *nl = strchr(k, '\n');
	char   *group = g_strndup(k, nl - k);
	struct section *s = g_hash_table_lookup(ld->by_group, group);
	const char *const *known = 0;
	int     ok = 0;

	switch (s->type) {
	case SECT_POSTDESK:
	    known = postdesk_keys;
	    break;
	case SECT_QUEUE:
	    known = queue_keys;
	    break;
	case SECT_AGENT:
	    known = agent_keys;
	    break;
	case SECT_CALENDAR:
	    known = calendar_keys;
	    break;
	case SECT_SLA:
	    known = sla_keys;
	    break;
	case SECT_UNKNOWN:
	    ok = 1;				/* already reported */
	    break;
	}
	for (; known && *known && !ok; known++)
	    ok = (strcmp(*known, nl + 1) == 0);
	if (!ok)
	    err_at(ld, GPOINTER_TO_INT(g_hash_table_lookup(ld->key_lines, k)),
		   "unknown key \"%s\" in [%s]", nl + 1, group);
	g_free(group);
    }
}

/* get_path - an absolute path */

static const char *get_path(struct loader *ld, const struct section *s,
			            const char *key, const char *def)
{
    char   *val = get_str(ld, s, key);
    const char *out = def;

    if (val == 0)
	return (def);
    if (val[0] != '/')
	err_at(ld, key_line(ld, s, key), "%s: \"%s\" is not an absolute path",
	       key, val);
    else
	out = conf_strdup(ld->conf, val);
    g_free(val);
    return (out);
}

/* get_endpoint - listener or relay */

static const char *get_endpoint(struct loader *ld, const struct section *s,
			               const char *key, const char *def,
			               int prefixed)
{
    char   *val = get_str(ld, s, key);
    const char *why;
    const char *out = def;

    if (val == 0)
	return (def);
    if (conf_endpoint_check(val, prefixed, &why) < 0)
	err_at(ld, key_line(ld, s, key), "%s: bad value \"%s\": %s", key, val, why);
    else
	out = conf_strdup(ld->conf, val);
    g_free(val);
    return (out);
}

/* localpart_ok - command_localpart: lowercase atom without '+' */

static int localpart_ok(const char *lp)
{
    size_t  len = strlen(lp);

    if (len == 0 || len > 32 || lp[0] == '.' || lp[0] == '-' || lp[len - 1] == '.')
	return (0);
    for (const char *cp = lp; *cp; cp++)
	if (!(*cp >= 'a' && *cp <= 'z') && !isdigit((unsigned char) *cp)
	    && *cp != '.' && *cp != '_' && *cp != '-')
	    return (0);
    return (1);
}

/* hook_ok - ticket_hook: printable, no blank, no brackets */

static int hook_ok(const char *hook)
{
    size_t  len = strlen(hook);

    if (len == 0 || len > MAX_HOOK_LEN)
	return (0);
    for (const unsigned char *cp = (const unsigned char *) hook; *cp; cp++)
	if (*cp <= 0x20 || *cp >= 0x7f || *cp == '[' || *cp == ']')
	    return (0);
    return (1);
}

/* user_ok - a Unix user name */

static int user_ok(const char *user)
{
    size_t  len = strlen(user);

    if (len == 0 || len > 32 || user[0] == '-' || isdigit((unsigned char) user[0]))
	return (0);
    for (const char *cp = user; *cp; cp++)
	if (!isalnum((unsigned char) *cp) && *cp != '_' && *cp != '-' && *cp != '.')
	    return (0);
    return (1);
}

/* group_ok - a group name: printable, no list separator */

static int group_ok(const char *group)
{
    if (*group == 0)
	return (0);
    for (const unsigned char *cp = (const unsigned char *) group; *cp; cp++)
	if (*cp < 0x20 || *cp == 0x7f || *cp == ';')
	    return (0);
    return (1);
}

/* parse_outbound - [postdesk] keys of outbound mail, tokens and milter */

static void parse_outbound(struct loader *ld, const struct section *s)
{
    static const char *const tls_levels[] = {"none", "may", "encrypt", 0};
    static const char *const command_auths[] = {"none", "dkim", "dmarc", 0};
    struct conf *c = ld->conf;
    char   *val;

    c->instance = 0;
    if ((val = get_str(ld, s, "instance")) != 0) {
	str_lower(val);
	if (conf_domain_check(val) < 0)
	    err_at(ld, key_line(ld, s, "instance"),
		   "instance: \"%s\" must look like a host or domain name", val);
	else
	    c->instance = conf_strdup(c, val);
	g_free(val);
    }
    c->authserv_id = 0;
    if ((val = get_str(ld, s, "authserv_id")) != 0) {
	str_lower(val);
	if (conf_domain_check(val) < 0)
	    err_at(ld, key_line(ld, s, "authserv_id"),
		   "authserv_id: \"%s\" must look like a host or domain name", val);
	else
	    c->authserv_id = conf_strdup(c, val);
	g_free(val);
    }
    c->key_epoch = get_uint(ld, s, "key_epoch", DEF_KEY_EPOCH, 0, MAX_KEY_EPOCH);
    c->token_max_age = get_uint(ld, s, "token_max_age", DEF_TOKEN_MAX_AGE, 1,
				MAX_TOKEN_MAX_AGE);
    c->templates_dir = get_path(ld, s, "templates_dir", DEF_TEMPLATES_DIR);
    c->relay_tls = get_choice(ld, s, "relay_tls", DEF_RELAY_TLS, tls_levels);
    c->command_auth = get_choice(ld, s, "command_auth", "none", command_auths);
    c->relay_ca_file = get_path(ld, s, "relay_ca_file", 0);
    c->relay_user = 0;
    if ((val = get_str(ld, s, "relay_user")) != 0) {
	if (*val == 0 || strpbrk(val, "\r\n") != 0)
	    err_at(ld, key_line(ld, s, "relay_user"), "relay_user: empty or bad name");
	else
	    c->relay_user = conf_strdup(c, val);
	g_free(val);
    }
    c->relay_password_file = get_path(ld, s, "relay_password_file", 0);
    if ((c->relay_user == 0) != (c->relay_password_file == 0)
	&& (key_line(ld, s, "relay_user") || key_line(ld, s, "relay_password_file")))
	err_at(ld, key_line(ld, s, c->relay_user ? "relay_user" : "relay_password_file"),
	       "relay_user and relay_password_file go together");
    c->outbox_max_age = get_uint(ld, s, "outbox_max_age", DEF_OUTBOX_MAX_AGE, 1,
				 MAX_OUTBOX_MAX_AGE);
    c->milter_max_received = get_uint(ld, s, "milter_max_received",
				      DEF_MILTER_MAX_RECEIVED, 1,
				      MAX_MILTER_MAX_RECEIVED);
    c->milter_rate_sender = get_uint(ld, s, "milter_rate_sender",
				     DEF_MILTER_RATE_SENDER, 0, MAX_MILTER_RATE);
    c->milter_rate_client = get_uint(ld, s, "milter_rate_client",
				     DEF_MILTER_RATE_CLIENT, 0, MAX_MILTER_RATE);
}

/* parse_postdesk - the [postdesk] section */

static void parse_postdesk(struct loader *ld, const struct section *s)
{
    static const char *const languages[] = {"fr", "en", 0};
    struct conf *c = ld->conf;
    char   *val;
    GPtrArray *list;

    if ((val = get_str(ld, s, "domain")) != 0) {
	str_lower(val);
	if (conf_domain_check(val) < 0)
	    err_at(ld, key_line(ld, s, "domain"), "domain: \"%s\" is not a domain name", val);
	else
	    c->domain = conf_strdup(c, val);
	g_free(val);
    } else if (key_line(ld, s, "domain") == 0) {
	missing(ld, s, "domain");
    }
    c->state_dir = get_path(ld, s, "state_dir", DEF_STATE_DIR);
    c->secret_file = get_path(ld, s, "secret_file", DEF_SECRET_FILE);
    c->listen = get_endpoint(ld, s, "listen", DEF_LISTEN, 1);
    c->milter_listen = get_endpoint(ld, s, "milter_listen", DEF_MILTER_LISTEN, 1);
    c->relay = get_endpoint(ld, s, "relay", DEF_RELAY, 0);
    c->command_localpart = DEF_COMMAND_LOCALPART;
    if ((val = get_str(ld, s, "command_localpart")) != 0) {
	if (!localpart_ok(val))
	    err_at(ld, key_line(ld, s, "command_localpart"),
		   "command_localpart: \"%s\" must be 1 to 32 lowercase letters, "
		   "digits, '.', '_' or '-' (no '+')", val);
	else
	    c->command_localpart = conf_strdup(c, val);
	g_free(val);
    }
    c->ticket_hook = DEF_TICKET_HOOK;
    if ((val = get_str(ld, s, "ticket_hook")) != 0) {
	if (!hook_ok(val))
	    err_at(ld, key_line(ld, s, "ticket_hook"),
		   "ticket_hook: \"%s\" must be 1 to %d printable characters "
		   "without blanks or brackets", val, MAX_HOOK_LEN);
	else
	    c->ticket_hook = conf_strdup(c, val);
	g_free(val);
    }
    c->user = DEF_USER;
    if ((val = get_str(ld, s, "user")) != 0) {
	if (!user_ok(val))
	    err_at(ld, key_line(ld, s, "user"), "user: \"%s\" is not a user name", val);
	else
	    c->user = conf_strdup(c, val);
	g_free(val);
    }
    c->system_id = get_uint(ld, s, "system_id", DEF_SYSTEM_ID,
			    MIN_SYSTEM_ID, MAX_SYSTEM_ID);
    c->language = get_choice(ld, s, "language", DEF_LANGUAGE, languages);
    c->max_message_size = get_uint(ld, s, "max_message_size",
				   DEF_MAX_MESSAGE_SIZE,
				   MIN_MAX_MESSAGE_SIZE, MAX_MAX_MESSAGE_SIZE);
    c->auto_ack_limit = get_uint(ld, s, "auto_ack_limit", DEF_AUTO_ACK_LIMIT,
				 MIN_AUTO_ACK_LIMIT, MAX_AUTO_ACK_LIMIT);
    if ((list = get_list(ld, s, "dedicated_domains")) != 0) {
	for (guint i = 0; i < list->len; i++) {
	    char   *d = str_lower(g_ptr_array_index(list, i));

	    if (conf_domain_check(d) < 0)
		err_at(ld, key_line(ld, s, "dedicated_domains"),
		       "dedicated_domains: \"%s\" is not a domain name", d);
	    else if (c->domain && strcmp(d, c->domain) == 0)
		err_at(ld, key_line(ld, s, "dedicated_domains"),
		       "dedicated_domains: \"%s\" is the domain itself "
		       "(it is always dedicated)", d);
	}
    }
    c->dedicated_domains = snap_vec(c, list);
    if (list)
	g_ptr_array_unref(list);
    parse_outbound(ld, s);
    parse_test_clock(ld, s);
}

/* register_name - index a record by lowercase name, refusing case twins */

static void register_name(struct loader *ld, GHashTable *table,
			          const struct section *s, void *rec)
{
    gchar  *low = g_ascii_strdown(s->name, -1);
    const char *key = conf_strdup(ld->conf, low);

    g_free(low);
    if (g_hash_table_contains(table, key)) {
	err_at(ld, s->line, "[%s]: name differs only in case from another section",
	       s->group);
	return;
    }
    g_hash_table_insert(table, (gpointer) key, rec);
}

/* count_type - sections of one type */

static size_t count_type(struct loader *ld, enum sect_type type)
{
    size_t  n = 0;

    for (guint i = 0; i < ld->sections->len; i++)
	n += ((struct section *) g_ptr_array_index(ld->sections, i))->type == type;
    return (n);
}

/* parse_calendar - one [calendar NAME] */

static void parse_calendar(struct loader *ld, const struct section *s,
			           struct conf_calendar *cal)
{
    struct conf *c = ld->conf;
    char   *val;
    GPtrArray *list;

    cal->name = conf_strdup(c, s->name);
    register_name(ld, c->calendar_names, s, cal);
    if ((val = get_str(ld, s, "timezone")) != 0) {
	GTimeZone *tz = *val ? g_time_zone_new_identifier(val) : 0;

	if (tz == 0)
	    err_at(ld, key_line(ld, s, "timezone"),
		   "timezone: unknown time zone \"%s\"", val);
	else
	    g_time_zone_unref(tz);
	cal->timezone = conf_strdup(c, val);
	g_free(val);
    } else if (key_line(ld, s, "timezone") == 0) {
	missing(ld, s, "timezone");
    }
    cal->hours = DEF_HOURS;
    if ((val = get_str(ld, s, "hours")) != 0) {
	struct conf_hours hours;
	char   *why;

	if (conf_hours_parse(val, &hours, &why) < 0) {
	    err_at(ld, key_line(ld, s, "hours"), "hours: bad hours \"%s\": %s",
		   val, why);
	    mem_free(why);
	}
	cal->hours = conf_strdup(c, val);
	g_free(val);
    }
    if ((list = get_list(ld, s, "holidays")) != 0) {
	for (guint i = 0; i < list->len; i++) {
	    int64_t t;

	    if (conf_date_parse(g_ptr_array_index(list, i), &t) < 0)
		err_at(ld, key_line(ld, s, "holidays"),
		       "holidays: bad date \"%s\" (expected YYYY-MM-DD)",
		       (char *) g_ptr_array_index(list, i));
	}
    }
    cal->holidays = snap_vec(c, list);
    if (list)
	g_ptr_array_unref(list);
}

/* get_duration - validated duration text, or NULL */

static const char *get_duration(struct loader *ld, const struct section *s,
				        const char *key, int required)
{
    char   *val = get_str(ld, s, key);
    const char *out = 0;
    int64_t minutes;

    if (val == 0) {
	if (required && key_line(ld, s, key) == 0)
	    missing(ld, s, key);
	return (0);
    }
    if (conf_duration_minutes(val, &minutes) < 0)
	err_at(ld, key_line(ld, s, key), "%s: bad duration \"%s\" (expected a "
	       "positive number followed by m, h or d, at most 366d)", key, val);
    else
	out = conf_strdup(ld->conf, val);
    g_free(val);
    return (out);
}

/* parse_sla - one [sla NAME] */

static void parse_sla(struct loader *ld, const struct section *s,
		              struct conf_sla *sla)
{
    struct conf *c = ld->conf;
    char   *val;
    const struct conf_calendar *cal;

    sla->name = conf_strdup(c, s->name);
    register_name(ld, c->sla_names, s, sla);
    if ((val = get_str(ld, s, "calendar")) != 0) {
	if ((cal = conf_calendar_find(c, val)) == 0)
	    err_at(ld, key_line(ld, s, "calendar"),
		   "calendar: unknown calendar \"%s\" (no [calendar %s] section)",
		   val, val);
	else
	    sla->calendar = cal->name;
	g_free(val);
    } else if (key_line(ld, s, "calendar") == 0) {
	missing(ld, s, "calendar");
    }
    sla->first_response = get_duration(ld, s, "first_response", 1);
    sla->update = get_duration(ld, s, "update", 0);
    sla->solution = get_duration(ld, s, "solution", 1);
    sla->warn_at = (int) get_uint(ld, s, "warn_at", DEF_WARN_AT,
				  MIN_WARN_AT, MAX_WARN_AT);
    sla->pause_when_pending = get_yes_no(ld, s, "pause_when_pending", 1);
    sla->notify_outside_hours = get_yes_no(ld, s, "notify_outside_hours", 0);
}

/* claim_address - one owner per address, across queues and agents */

static void claim_address(struct loader *ld, GHashTable *owners,
			          const char *addr, int line, const char *key,
			          const struct section *s)
{
    const char *prev = g_hash_table_lookup(owners, addr);

    if (prev) {
	err_at(ld, line, "%s: %s is already used by %s", key, addr, prev);
	return;
    }
    g_hash_table_insert(owners, g_strdup(addr),
		        g_strdup_printf("[%s] (line %d)", s->group, line));
}

/* parse_type_sla - "Type:sla; ..." per-type SLA overrides of a queue */

static void parse_type_sla(struct loader *ld, const struct section *s,
			           struct conf_queue *q)
{
    struct conf *c = ld->conf;
    GPtrArray *list = get_list(ld, s, "type_sla");
    int     line = key_line(ld, s, "type_sla");
    const char **vec;
    size_t  n = 0;

    vec = conf_own(c, mem_zalloc((2 * (list ? list->len : 0) + 1) * sizeof(*vec)));
    for (guint i = 0; list && i < list->len; i++) {
	char   *item = g_ptr_array_index(list, i);
	char   *colon = strrchr(item, ':');
	const char *type;
	const struct conf_sla *sla;

	if (colon == 0) {
	    err_at(ld, line, "type_sla: \"%s\" must be TYPE:SLA", item);
	    continue;
	}
	*colon = 0;
	g_strstrip(item);
	g_strstrip(colon + 1);
	if ((type = conf_type_canonical(item)) == 0) {
	    err_at(ld, line, "type_sla: bad type \"%s\" (expected Incident, "
		   "Problem or Service Request)", item);
	    continue;
	}
	if ((sla = conf_sla_find(c, colon + 1)) == 0) {
	    err_at(ld, line, "type_sla: unknown sla \"%s\" (no [sla %s] section)",
		   colon + 1, colon + 1);
	    continue;
	}
	for (size_t k = 0; k < n; k += 2)
	    if (strcmp(vec[k], type) == 0) {
		err_at(ld, line, "type_sla: type %s given twice", type);
		type = 0;
		break;
	    }
	if (type == 0)
	    continue;
	vec[n++] = type;
	vec[n++] = sla->name;
    }
    q->type_sla = vec;
    if (list)
	g_ptr_array_unref(list);
}

/* parse_queue - one [queue NAME] */

static void parse_queue(struct loader *ld, const struct section *s,
			        struct conf_queue *q)
{
    static const char *const follow[] = {"reopen", "reject", "new", 0};
    struct conf *c = ld->conf;
    GPtrArray *list;
    const char *choice;
    char   *val;
    int     line;

    q->name = conf_strdup(c, s->name);
    register_name(ld, c->queue_names, s, q);
    line = key_line(ld, s, "addresses");
    if ((list = get_list(ld, s, "addresses")) != 0) {
	if (list->len == 0)
	    err_at(ld, line, "addresses: at least one address is required");
	for (guint i = 0; i < list->len; i++) {
	    char   *addr = str_lower(g_ptr_array_index(list, i));
	    const char *why;

	    if (conf_address_check(addr, 1, &why) < 0) {
		err_at(ld, line, "addresses: \"%s\" is not a queue address: %s",
		       addr, why);
		continue;
	    }
	    claim_address(ld, ld->addr_owner, addr, line, "addresses", s);
	    if (!g_hash_table_contains(c->queue_addrs, addr))
		g_hash_table_insert(c->queue_addrs,
				    (gpointer) conf_strdup(c, addr), q);
	}
	q->addresses = snap_vec(c, list);
	g_ptr_array_unref(list);
    } else if (line == 0) {
	missing(ld, s, "addresses");
    }
    if ((val = get_str(ld, s, "group")) != 0) {
	if (!group_ok(val))
	    err_at(ld, key_line(ld, s, "group"), "group: \"%s\" must be a "
		   "non-empty name without ';' or control characters", val);
	q->group = conf_strdup(c, val);
	g_free(val);
    } else if (key_line(ld, s, "group") == 0) {
	missing(ld, s, "group");
    }
    if ((val = get_str(ld, s, "sla")) != 0) {
	const struct conf_sla *sla = conf_sla_find(c, val);

	if (sla == 0)
	    err_at(ld, key_line(ld, s, "sla"),
		   "sla: unknown sla \"%s\" (no [sla %s] section)", val, val);
	else
	    q->sla = sla->name;
	g_free(val);
    }
    parse_type_sla(ld, s, q);
    q->default_type = DEF_DEFAULT_TYPE;
    if ((val = get_str(ld, s, "default_type")) != 0) {
	const char *canon = conf_type_canonical(val);

	if (canon == 0)
	    err_at(ld, key_line(ld, s, "default_type"),
		   "default_type: bad type \"%s\" (expected Incident, Problem "
		   "or Service Request)", val);
	else
	    q->default_type = canon;
	g_free(val);
    }
    choice = get_choice(ld, s, "follow_up_closed", follow[0], follow);
    q->follow_up_closed = strcmp(choice, "reject") == 0 ? CONF_FOLLOW_UP_REJECT :
	strcmp(choice, "new") == 0 ? CONF_FOLLOW_UP_NEW : CONF_FOLLOW_UP_REOPEN;
}

/* has_item - is word in a NULL-terminated vector? */

static int has_item(const char *const *vec, const char *word)
{
    for (; vec && *vec; vec++)
	if (strcmp(*vec, word) == 0)
	    return (1);
    return (0);
}

/* parse_periods - out_of_office */

static void parse_periods(struct loader *ld, const struct section *s,
			          struct conf_agent *a)
{
    GPtrArray *list = get_list(ld, s, "out_of_office");
    struct conf_period *p;
    int     line = key_line(ld, s, "out_of_office");

    if (list == 0)
	return;
    p = conf_own(ld->conf, mem_zalloc((list->len + 1) * sizeof(*p)));
    for (guint i = 0; i < list->len; i++) {
	const char *item = g_ptr_array_index(list, i);
	const char *dots = strstr(item, "..");
	char   *first = dots ? g_strndup(item, dots - item) : g_strdup(item);
	const char *last = dots ? dots + 2 : item;
	int64_t start, end;

	g_strstrip(first);
	while (*last == ' ')
	    last++;
	if (conf_date_parse(first, &start) < 0 || conf_date_parse(last, &end) < 0)
	    err_at(ld, line, "out_of_office: bad period \"%s\" (expected "
		   "YYYY-MM-DD..YYYY-MM-DD or one YYYY-MM-DD)", item);
	else if (start > end)
	    err_at(ld, line, "out_of_office: bad period \"%s\": it ends "
		   "before it starts", item);
	else {
	    p[a->n_out_of_office].start = start;
	    p[a->n_out_of_office].end = end;
	    a->n_out_of_office++;
	}
	g_free(first);
    }
    a->out_of_office = p;
    g_ptr_array_unref(list);
}

/* parse_notify - notify events (default: all) */

static void parse_notify(struct loader *ld, const struct section *s,
			         struct conf_agent *a)
{
    GPtrArray *list = get_list(ld, s, "notify");
    GPtrArray *keep;

    if (list == 0) {
	a->notify = notify_events;
	return;
    }
    keep = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < list->len; i++) {
	char   *ev = str_lower(g_ptr_array_index(list, i));

	if (!has_item(notify_events, ev)) {
	    gchar  *all = g_strjoinv(" ", (gchar **) notify_events);

	    err_at(ld, key_line(ld, s, "notify"),
		   "notify: unknown event \"%s\" (expected some of: %s)", ev, all);
	    g_free(all);
	} else if (!g_ptr_array_find_with_equal_func(keep, ev, g_str_equal, 0)) {
	    g_ptr_array_add(keep, g_strdup(ev));
	}
    }
    a->notify = snap_vec(ld->conf, keep);
    g_ptr_array_unref(keep);
    g_ptr_array_unref(list);
}

/* parse_emails - the agent's addresses */

static void parse_emails(struct loader *ld, const struct section *s,
			         struct conf_agent *a)
{
    struct conf *c = ld->conf;
    GPtrArray *list = get_list(ld, s, "email");
    int     line = key_line(ld, s, "email");

    if (list == 0) {
	if (line == 0)
	    missing(ld, s, "email");
	return;
    }
    if (list->len == 0)
	err_at(ld, line, "email: at least one address is required");
    for (guint i = 0; i < list->len; i++) {
	char   *addr = str_lower(g_ptr_array_index(list, i));
	const char *why;
	const char *owner;

	if (conf_address_check(addr, 0, &why) < 0) {
	    err_at(ld, line, "email: \"%s\" is not an address: %s", addr, why);
	    continue;
	}
	if ((owner = g_hash_table_lookup(ld->addr_owner, addr)) != 0) {
	    err_at(ld, line, "email: %s is already used by %s", addr, owner);
	    continue;
	}
	claim_address(ld, ld->email_owner, addr, line, "email", s);
	if (!g_hash_table_contains(c->agent_emails, addr))
	    g_hash_table_insert(c->agent_emails, (gpointer) conf_strdup(c, addr), a);
    }
    a->emails = snap_vec(c, list);
    g_ptr_array_unref(list);
}

/* parse_subscribe - queues the agent follows; needs the queue's group */

static void parse_subscribe(struct loader *ld, const struct section *s,
			            struct conf_agent *a)
{
    struct conf *c = ld->conf;
    GPtrArray *list = get_list(ld, s, "subscribe");
    int     line = key_line(ld, s, "subscribe");
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; list && i < list->len; i++) {
	const char *name = g_ptr_array_index(list, i);
	const struct conf_queue *q = conf_queue_find(c, name);

	if (q == 0) {
	    err_at(ld, line, "subscribe: unknown queue \"%s\" (no [queue %s] section)",
		   name, name);
	} else if (q->group && !has_item(a->groups, q->group)) {
	    err_at(ld, line, "subscribe: agent %s may not subscribe to queue %s: "
		   "its groups do not include \"%s\"", a->login, q->name, q->group);
	} else if (!g_ptr_array_find_with_equal_func(names, q->name,
						     g_str_equal, 0)) {
	    g_ptr_array_add(names, g_strdup(q->name));
	}
    }
    a->subscribe = snap_vec(c, names);
    g_ptr_array_unref(names);
    if (list)
	g_ptr_array_unref(list);
}

/* parse_agent - one [agent LOGIN] */

static void parse_agent(struct loader *ld, const struct section *s,
			        struct conf_agent *a)
{
    static const char *const languages[] = {"fr", "en", 0};
    struct conf *c = ld->conf;
    GPtrArray *list;
    char   *val;

    a->login = conf_strdup(c, s->name);
    register_name(ld, c->agent_logins, s, a);
    a->name = a->login;
    if ((val = get_str(ld, s, "name")) != 0) {
	for (char *cp = val; *cp; cp++)
	    if ((unsigned char) *cp < 0x20)
		*cp = ' ';
	if (*val)
	    a->name = conf_strdup(c, val);
	g_free(val);
    }
    parse_emails(ld, s, a);
    list = get_list(ld, s, "groups");
    for (guint i = 0; list && i < list->len; i++)
	if (!group_ok(g_ptr_array_index(list, i)))
	    err_at(ld, key_line(ld, s, "groups"), "groups: \"%s\" must be a "
		   "name without ';' or control characters",
		   (char *) g_ptr_array_index(list, i));
    a->groups = snap_vec(c, list);
    if (list)
	g_ptr_array_unref(list);
    parse_subscribe(ld, s, a);
    a->language = get_choice(ld, s, "language",
			     c->language ? c->language : DEF_LANGUAGE, languages);
    parse_notify(ld, s, a);
    parse_periods(ld, s, a);
    a->active = get_yes_no(ld, s, "active", 1);
}

/* parse_all - every section, in dependency order */

static void parse_all(struct loader *ld)
{
    struct conf *c = ld->conf;
    struct section *pd = g_hash_table_lookup(ld->by_group, "postdesk");
    static const enum sect_type order[] = {
	SECT_CALENDAR, SECT_SLA, SECT_QUEUE, SECT_AGENT,
    };

    if (pd == 0)
	err_at(ld, 1, "missing [postdesk] section (with at least domain = ...)");
    else
	parse_postdesk(ld, pd);
    if (c->domain) {
	char   *cmd = g_strdup_printf("%s@%s", c->command_localpart, c->domain);

	g_hash_table_insert(ld->addr_owner, cmd,
	      g_strdup("the command address (command_localpart@domain)"));
    }
    c->calendars = conf_own(c, mem_zalloc((count_type(ld, SECT_CALENDAR) + 1)
					   * sizeof(*c->calendars)));
    c->slas = conf_own(c, mem_zalloc((count_type(ld, SECT_SLA) + 1)
				     * sizeof(*c->slas)));
    c->queues = conf_own(c, mem_zalloc((count_type(ld, SECT_QUEUE) + 1)
				       * sizeof(*c->queues)));
    c->agents = conf_own(c, mem_zalloc((count_type(ld, SECT_AGENT) + 1)
				       * sizeof(*c->agents)));
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
	for (guint i = 0; i < ld->sections->len; i++) {
	    struct section *s = g_ptr_array_index(ld->sections, i);

	    if (s->type != order[o])
		continue;
	    switch (s->type) {
	    case SECT_CALENDAR:
		parse_calendar(ld, s, &c->calendars[c->n_calendars++]);
		break;
	    case SECT_SLA:
		parse_sla(ld, s, &c->slas[c->n_slas++]);
		break;
	    case SECT_QUEUE:
		parse_queue(ld, s, &c->queues[c->n_queues++]);
		break;
	    case SECT_AGENT:
		parse_agent(ld, s, &c->agents[c->n_agents++]);
		break;
	    default:
		break;
	    }
	}
    }
}

/* loader_free - release the scratch state */

static void loader_free(struct loader *ld)
{
    for (guint i = 0; i < ld->errs->len; i++)
	g_free(g_array_index(ld->errs, struct err, i).text);
    g_array_free(ld->errs, TRUE);
    g_hash_table_destroy(ld->by_group);
    g_ptr_array_free(ld->sections, TRUE);
    g_ptr_array_free(ld->keys, TRUE);
    g_hash_table_destroy(ld->key_lines);
    g_hash_table_destroy(ld->addr_owner);
    g_hash_table_destroy(ld->email_owner);
    if (ld->kf)
	g_key_file_free(ld->kf);
}

/* conf_load - read, check, and snapshot a configuration file */

struct conf *conf_load(const char *path, char **errors_r)
{
    struct loader ld;
    gchar  *data = 0;
    gsize   len = 0;
    GError *error = 0;
    struct conf *conf = 0;
    int     syntax;

    memset(&ld, 0, sizeof(ld));
    ld.path = path;
    ld.errs = g_array_new(FALSE, FALSE, sizeof(struct err));
    ld.sections = g_ptr_array_new_with_free_func(section_free);
    ld.by_group = g_hash_table_new(g_str_hash, g_str_equal);
    ld.key_lines = g_hash_table_new(g_str_hash, g_str_equal);
    ld.keys = g_ptr_array_new_with_free_func(g_free);
    ld.addr_owner = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    ld.email_owner = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    *errors_r = 0;

    if (!g_file_get_contents(path, &data, &len, &error)) {
	err_at(&ld, 0, "cannot read: %s", error->message);
	g_error_free(error);
    } else {
	syntax = scan(&ld, data, len);
	for (guint i = 0; i < ld.sections->len; i++)
	    classify(&ld, g_ptr_array_index(ld.sections, i));
	check_keys(&ld);
	ld.kf = g_key_file_new();
	if (!g_key_file_load_from_data(ld.kf, data, len, G_KEY_FILE_NONE, &error)) {
	    if (syntax == 0)
		err_at(&ld, 1, "%s", error->message);
	    g_error_free(error);
	} else {
	    ld.conf = conf_snapshot_create(path);
	    parse_all(&ld);
	}
	g_free(data);
    }
    if (ld.errs->len > 0) {
	*errors_r = errors_text(&ld);
	if (ld.conf)
	    conf_snapshot_free(ld.conf);
    } else {
	conf = ld.conf;
    }
    loader_free(&ld);
    return (conf);
}
