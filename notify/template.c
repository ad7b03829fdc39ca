/*++
/* NAME
/*	template 3
/* SUMMARY
/*	mail templates: loading, checking, rendering
/* SYNOPSIS
/*	#include "notify_private.h"
/*
/*	int	notify_responses_load(dir, lang, items_r, n_r, errors)
/*	void	notify_responses_free(itemsp, n)
/*	int	notify_response_name_ok(name)
/*
/*	struct notify_template *notify_template_load(path, errors)
/*	const char *path;
/*	struct buf *errors;
/*
/*	void	notify_template_free(tp)
/*	struct notify_template **tp;
/*
/*	void	notify_template_render(t, values, subject_r, body_r)
/*	const struct notify_template *t;
/*	const char *const *values;
/*	char	**subject_r;
/*	char	**body_r;
/*
/*	int	notify_templates_check(dir, errors_r)
/*	const char *dir;
/*	char	**errors_r;
/*
/*	char	*notify_text_clean(text)
/*	char	*notify_title_cut(text, max)
/* DESCRIPTION
/*	A template file is UTF-8 text: a first line "Subject: TEXT", an
/*	empty line, then the body. Placeholders are written {{name}}
/*	(spaces inside the braces are allowed) with the names of
/*	notify_var_name(); every "{{" must open a placeholder. The
/*	multi-line placeholders (article.body, article.attachments,
/*	commands) may not stand in the Subject. CRLF line ends are read as
/*	LF; other control characters than TAB are refused. A file is at
/*	most NOTIFY_TEMPLATE_MAX bytes.
/*
/*	notify_template_load() reads and checks one file. On error it
/*	appends one line per problem, "FILE:LINE: message" (LINE 0 when
/*	the file cannot be read), to errors and returns NULL.
/*	notify_template_free() frees, sets *tp to NULL, and does nothing
/*	for NULL.
/*
/*	notify_template_render() substitutes values (indexed by enum
/*	notify_var; NULL counts as ""). In the Subject every control
/*	character of a value becomes a space (no CR or LF from mail data
/*	can reach a header) and ticket.title is cut to NOTIFY_TITLE_MAX
/*	characters followed by " [...]". In the body CR is dropped and the
/*	other control characters except TAB and LF become spaces. The
/*	results are newly allocated (mem_free()).
/*
/*	notify_templates_check() checks every template under
/*	dir/{fr,en}/NAME.txt (NAME: ack, new-ticket, follow-up, new-note,
/*	lock, owner, move, escalation, pending, transcript, quarantine,
/*	help, list) and every response template (below), and returns 0,
/*	or -1 with *errors_r (mem_free()).
/*
/*	notify_responses_load() loads the response templates of one
/*	language, dir/LANG/responses/NAME.txt, sorted by NAME. A missing
/*	responses directory means none. Files whose name does not end in
/*	".txt", or starts with ".", are ignored; a NAME that is not
/*	notify_response_name_ok() ([a-z0-9-], 1 to NOTIFY_RESPONSE_NAME_MAX
/*	characters) is an error, as is a broken file (same format and
/*	checks as the other templates) or more than NOTIFY_RESPONSES_MAX
/*	files. Errors are appended to errors as "FILE:LINE: message"; the
/*	good ones are returned all the same (-1 then).
/*	notify_responses_free() frees them and NULLs the handle.
/*
/*	notify_text_clean() returns a copy with control characters turned
/*	into spaces and invalid UTF-8 replaced by U+FFFD.
/*	notify_title_cut() returns a copy cut to max characters, followed
/*	by " [...]" when it was cut.
/* DIAGNOSTICS
/*	See notify_template_load().
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "util.h"
#include "notify_private.h"

struct segment {
    int     var;			/* -1: literal text */
    char   *text;			/* literal */
};

struct part {
    struct segment *seg;
    size_t  n;
};

struct notify_template {
    struct part subject;
    struct part body;
};

static const char *const var_names[NOTIFY_VAR_COUNT] = {
    "ticket.number", "ticket.title", "ticket.queue", "ticket.state",
    "ticket.priority", "ticket.type", "ticket.customer", "ticket.owner",
    "customer.name", "agent.name", "article.from", "article.received",
    "article.body", "article.attachments", "event.detail", "event.actor",
    "commands", "mail.subject",
};

static const char *const kind_names[NOTIFY_KIND_COUNT] = {
    "ack", "new-ticket", "follow-up", "new-note", "lock", "owner", "move",
    "escalation", "pending", "transcript", "quarantine", "help", "list",
};

static const char *const lang_names[NOTIFY_LANG_COUNT] = {"fr", "en"};

/* notify_var_name - the name of a placeholder */

const char *notify_var_name(enum notify_var v)
{
    return ((unsigned) v < NOTIFY_VAR_COUNT ? var_names[v] : "?");
}

/* notify_kind_name - the file name (without .txt) of a kind */

const char *notify_kind_name(enum notify_kind k)
{
    return ((unsigned) k < NOTIFY_KIND_COUNT ? kind_names[k] : "?");
}

/* notify_lang_name - "fr" or "en" */

const char *notify_lang_name(enum notify_lang l)
{
    return ((unsigned) l < NOTIFY_LANG_COUNT ? lang_names[l] : "?");
}

/* multi_line - may this placeholder not stand in a Subject? */

static int multi_line(int var)
{
    return (var == NOTIFY_VAR_ARTICLE_BODY
	    || var == NOTIFY_VAR_ARTICLE_ATTACHMENTS
	    || var == NOTIFY_VAR_COMMANDS);
}

/* add_segment - append one segment to a part */

static void add_segment(struct part *p, int var, const char *text, size_t len)
{
    if (var < 0 && len == 0)
	return;
    p->seg = mem_realloc(p->seg, (p->n + 1) * sizeof(*p->seg));
    p->seg[p->n].var = var;
    p->seg[p->n].text = var < 0 ? mem_strndup(text, len) : 0;
    p->n++;
}

/* free_part - free a part's segments */

static void free_part(struct part *p)
{
    for (size_t i = 0; i < p->n; i++)
	mem_free(p->seg[i].text);
    mem_free(p->seg);
    p->seg = 0;
    p->n = 0;
}

/* lookup_var - the placeholder named by name[0..len), or -1 */

static int lookup_var(const char *name, size_t len)
{
    for (int v = 0; v < NOTIFY_VAR_COUNT; v++)
	if (strlen(var_names[v]) == len && memcmp(var_names[v], name, len) == 0)
	    return (v);
    return (-1);
}

/* parse_text - split text (starting at line `line`) into segments */

static int parse_text(const char *path, int line, const char *text,
		              int in_subject, struct part *p, struct buf *errors)
{
    const char *s = text;
    const char *lit = text;
    int     bad = 0;

    while (*s) {
	if (s[0] == '\n') {
	    line++;
	    s++;
	    continue;
	}
	if (s[0] != '{' || s[1] != '{') {
	    s++;
	    continue;
	}
	add_segment(p, -1, lit, s - lit);
	const char *name = s + 2;
	const char *end = strstr(name, "}}");
	const char *nl = strchr(name, '\n');

	if (end == 0 || (nl && nl < end)) {
	    buf_printf(errors, "%s:%d: unclosed \"{{\"\n", path, line);
	    return (-1);
	}
	while (name < end && (*name == ' ' || *name == '\t'))
	    name++;
	const char *name_end = end;

	while (name_end > name && (name_end[-1] == ' ' || name_end[-1] == '\t'))
	    name_end--;
	int     var = lookup_var(name, name_end - name);

	if (var < 0) {
	    char   *shown = str_sanitize(s, end + 2 - s > 80 ? 80 : end + 2 - s);

	    buf_printf(errors, "%s:%d: unknown placeholder %s\n", path, line, shown);
	    mem_free(shown);
	    bad = 1;
	} else if (in_subject && multi_line(var)) {
	    buf_printf(errors, "%s:%d: {{%s}} cannot stand in the Subject\n",
		       path, line, var_names[var]);
	    bad = 1;
	} else {
	    add_segment(p, var, 0, 0);
	}
	s = end + 2;
	lit = s;
    }
    add_segment(p, -1, lit, s - lit);
    return (bad ? -1 : 0);
}

/* read_file - the file's bytes, at most NOTIFY_TEMPLATE_MAX */

static char *read_file(const char *path, size_t *len_r, struct buf *errors)
{
    FILE   *fp;
    char   *data;
    size_t  n;

    if ((fp = fopen(path, "r")) == 0) {
	buf_printf(errors, "%s:0: cannot open: %s\n", path, strerror(errno));
	return (0);
    }
    data = mem_alloc(NOTIFY_TEMPLATE_MAX + 2);
    n = fread(data, 1, NOTIFY_TEMPLATE_MAX + 1, fp);
    if (ferror(fp)) {
	buf_printf(errors, "%s:0: cannot read: %s\n", path, strerror(errno));
	fclose(fp);
	mem_free(data);
	return (0);
    }
    fclose(fp);
    if (n > NOTIFY_TEMPLATE_MAX) {
	buf_printf(errors, "%s:0: larger than %d bytes\n", path, NOTIFY_TEMPLATE_MAX);
	mem_free(data);
	return (0);
    }
    data[n] = 0;
    *len_r = n;
    return (data);
}

/* check_bytes - UTF-8 and control characters, line by line; drops CR
   before LF in place */

static int check_bytes(const char *path, char *data, size_t *len, struct buf *errors)
{
    size_t  i, o = 0;
    int     line = 1;
    const char *line_start = data;

    for (i = 0; i < *len; i++) {
	unsigned char c = data[i];

	if (c == '\r' && i + 1 < *len && data[i + 1] == '\n')
	    continue;
	if (c < 0x20 && c != '\n' && c != '\t') {
	    buf_printf(errors, "%s:%d: control character 0x%02x\n", path, line, c);
	    return (-1);
	}
	if (c == 0x7f) {
	    buf_printf(errors, "%s:%d: control character 0x7f\n", path, line);
	    return (-1);
	}
	data[o++] = c;
	if (c == '\n') {
	    if (!g_utf8_validate(line_start, data + o - line_start, 0)) {
		buf_printf(errors, "%s:%d: invalid UTF-8\n", path, line);
		return (-1);
	    }
	    line++;
	    line_start = data + o;
	}
    }
    data[o] = 0;
    if (!g_utf8_validate(line_start, data + o - line_start, 0)) {
	buf_printf(errors, "%s:%d: invalid UTF-8\n", path, line);
	return (-1);
    }
    *len = o;
    return (0);
}

/* notify_template_load - read and check one file */

struct notify_template *notify_template_load(const char *path, struct buf *errors)
{
    struct notify_template *t;
    char   *data;
    char   *nl;
    const char *subject;
    size_t  len;
    int     bad = 0;

    if ((data = read_file(path, &len, errors)) == 0)
	return (0);
    if (check_bytes(path, data, &len, errors) < 0) {
	mem_free(data);
	return (0);
    }
    if (g_ascii_strncasecmp(data, "Subject:", 8) != 0) {
	buf_printf(errors, "%s:1: the first line must be \"Subject: ...\"\n", path);
	mem_free(data);
	return (0);
    }
    if ((nl = strchr(data, '\n')) != 0)
	*nl = 0;
    subject = data + 8;
    while (*subject == ' ' || *subject == '\t')
	subject++;
    if (*subject == 0) {
	buf_printf(errors, "%s:1: empty Subject\n", path);
	bad = 1;
    }
    if (nl == 0 || nl[1] != '\n') {
	buf_printf(errors, "%s:2: an empty line must follow the Subject line\n", path);
	mem_free(data);
	return (0);
    }
    t = mem_zalloc(sizeof(*t));
    if (parse_text(path, 1, subject, 1, &t->subject, errors) < 0)
	bad = 1;
    if (parse_text(path, 3, nl + 2, 0, &t->body, errors) < 0)
	bad = 1;
    mem_free(data);
    if (bad)
	notify_template_free(&t);
    return (t);
}

/* notify_template_free - free, NULL the handle */

void    notify_template_free(struct notify_template **tp)
{
    if (tp == 0 || *tp == 0)
	return;
    free_part(&(*tp)->subject);
    free_part(&(*tp)->body);
    mem_free(*tp);
    *tp = 0;
}

/* notify_text_clean - one header's worth of text */

char   *notify_text_clean(const char *text)
{
    char   *valid;
    char   *p;

    if (text == 0)
	return (mem_strdup(""));
    p = g_utf8_make_valid(text, -1);
    valid = mem_strdup(p);
    g_free(p);
    for (p = valid; *p; p++)
	if ((unsigned char) *p < 0x20 || *p == 0x7f)
	    *p = ' ';
    return (valid);
}

/* notify_title_cut - at most max characters, " [...]" when cut */

char   *notify_title_cut(const char *text, size_t max)
{
    const char *p = text;
    size_t  n;

    for (n = 0; *p && n < max; n++)
	p = g_utf8_next_char(p);
    if (*p == 0)
	return (mem_strdup(text));
    return (mem_printf("%.*s [...]", (int) (p - text), text));
}

/* append_body_value - a value into the body: no CR, no other controls */

static void append_body_value(struct buf *out, const char *v)
{
    for (; *v; v++) {
	unsigned char c = *v;

	if (c == '\r')
	    continue;
	if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
	    c = ' ';
	buf_append_char(out, c);
    }
}

/* render_part - substitute one part */

static char *render_part(const struct part *p, const char *const *values,
			         int in_subject)
{
    struct buf *out = buf_create(256, 0);
    char   *s;

    for (size_t i = 0; i < p->n; i++) {
	const struct segment *seg = p->seg + i;
	const char *v;

	if (seg->var < 0) {
	    buf_append_str(out, seg->text);
	    continue;
	}
	v = values[seg->var] ? values[seg->var] : "";
	if (in_subject) {
	    char   *clean = notify_text_clean(v);

	    if (seg->var == NOTIFY_VAR_TICKET_TITLE) {
		char   *cut = notify_title_cut(clean, NOTIFY_TITLE_MAX);

		mem_free(clean);
		clean = cut;
	    }
	    buf_append_str(out, clean);
	    mem_free(clean);
	} else {
	    append_body_value(out, v);
	}
    }
    s = buf_steal(out, 0);
    buf_destroy(&out);
    return (s);
}

/* notify_template_render - subject and body */

void    notify_template_render(const struct notify_template *t,
			               const char *const *values,
			               char **subject_r, char **body_r)
{
    *subject_r = render_part(&t->subject, values, 1);
    *body_r = render_part(&t->body, values, 0);
}

/* notify_templates_check - every template of dir */

int     notify_templates_check(const char *dir, char **errors_r)
{
    struct buf *errors = buf_create(256, 0);
    int     rc;

    for (int l = 0; l < NOTIFY_LANG_COUNT; l++) {
	for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
	    char   *path = mem_printf("%s/%s/%s.txt", dir, lang_names[l],
				      kind_names[k]);
	    struct notify_template *t = notify_template_load(path, errors);

	    notify_template_free(&t);
	    mem_free(path);
	}
	{
	    struct notify_response *items = 0;
	    size_t  n = 0;

	    notify_responses_load(dir, l, &items, &n, errors);
	    notify_responses_free(&items, n);
	}
    }
    rc = buf_len(errors) ? -1 : 0;
    if (rc < 0 && errors_r)
	*errors_r = buf_steal(errors, 0);
    buf_destroy(&errors);
    return (rc);
}

 /*
  * Response templates.
  */

/* notify_response_name_ok - [a-z0-9-]{1,40} */

int     notify_response_name_ok(const char *name)
{
    size_t  n;

    if (name == 0)
	return (0);
    for (n = 0; name[n]; n++)
	if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= '0' && name[n] <= '9')
	      || name[n] == '-'))
	    return (0);
    return (n >= 1 && n <= NOTIFY_RESPONSE_NAME_MAX);
}

/* response_cmp - qsort by name */

static int response_cmp(const void *a, const void *b)
{
    return (strcmp(((const struct notify_response *) a)->name,
		   ((const struct notify_response *) b)->name));
}

/* notify_responses_load - every LANG/responses/NAME.txt */

int     notify_responses_load(const char *dir, enum notify_lang lang,
			              struct notify_response **items_r, size_t *n_r,
			              struct buf *errors)
{
    char   *sub = mem_printf("%s/%s/responses", dir, notify_lang_name(lang));
    struct notify_response *items = 0;
    size_t  n = 0;
    size_t  errors_before = buf_len(errors);
    struct dirent *e;
    DIR    *d;

    *items_r = 0;
    *n_r = 0;
    if ((d = opendir(sub)) == 0) {
	if (errno != ENOENT) {
	    buf_printf(errors, "%s:0: cannot open: %s\n", sub, strerror(errno));
	    mem_free(sub);
	    return (-1);
	}
	mem_free(sub);
	return (0);				/* no response templates */
    }
    while ((e = readdir(d)) != 0) {
	size_t  len = strlen(e->d_name);
	char   *path, *name;
	struct notify_template *t;

	if (e->d_name[0] == '.' || len < 4 || strcmp(e->d_name + len - 4, ".txt") != 0)
	    continue;				/* README, backups, ... */
	path = mem_printf("%s/%s", sub, e->d_name);
	name = mem_strndup(e->d_name, len - 4);
	if (!notify_response_name_ok(name)) {
	    buf_printf(errors, "%s:0: a response template name is 1 to %d"
		       " characters a-z, 0-9 or \"-\"\n", path,
		       NOTIFY_RESPONSE_NAME_MAX);
	} else if (n >= NOTIFY_RESPONSES_MAX) {
	    buf_printf(errors, "%s:0: more than %d response templates\n", path,
		       NOTIFY_RESPONSES_MAX);
	} else if ((t = notify_template_load(path, errors)) != 0) {
	    items = mem_realloc(items, (n + 1) * sizeof(*items));
	    items[n].name = name;
	    items[n].tmpl = t;
	    n++;
	    name = 0;
	}
	mem_free(name);
	mem_free(path);
    }
    closedir(d);
    mem_free(sub);
    if (n > 1)
	qsort(items, n, sizeof(*items), response_cmp);
    *items_r = items;
    *n_r = n;
    return (buf_len(errors) > errors_before ? -1 : 0);
}

/* notify_responses_free - free the list, NULL the handle */

void    notify_responses_free(struct notify_response **itemsp, size_t n)
{
    if (itemsp == 0 || *itemsp == 0)
	return;
    for (size_t i = 0; i < n; i++) {
	mem_free((*itemsp)[i].name);
	notify_template_free(&(*itemsp)[i].tmpl);
    }
    mem_free(*itemsp);
    *itemsp = 0;
}
