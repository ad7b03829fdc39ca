/*++
/* NAME
/*	ctl 3
/* SUMMARY
/*	the verbs of postdeskctl that read or change the store
/* SYNOPSIS
/*	#include <ctl.h>
/*
/*	int	ctl_run(store, conf, argc, argv, daemon_pid, out, err)
/*	struct store *store;
/*	const struct conf *conf;
/*	int	argc;
/*	char	**argv;
/*	long	daemon_pid;
/*	struct buf *out;
/*	struct buf *err;
/*
/*	#include "ctl_private.h"
/*
/*	int	ctl_check_args(argc, argv, err)
/*	int	ctl_verb_needs_store(verb)
/* DESCRIPTION
/*	ctl_run() runs one verb, argv[0], with its options against an
/*	open store and appends its output to out and at most one line of
/*	diagnostics to err. It is called by postdeskctl itself when no
/*	daemon runs, and by postdesk-lmtpd for each control socket
/*	request, possibly from several threads at once: it keeps no state
/*	and does not use getopt(3).
/*
/*	Verbs: show NUMBER [--json]; list [--queue Q] [--state S]
/*	[--owner A|none] [--customer ADDR] [--locked] [--escalated]
/*	[--limit N] [--json]; status [--json]; maintenance [on|off];
/*	raw NUMBER [ARTICLE] (the message as received, byte for byte);
/*	outbox [--all] [--json] (pending and failed outbound mail, sent
/*	mail too with --all); outbox retry ID (make a pending or failed
/*	mail due now); escalations [--at TIME] [--json] (the tickets with
/*	a warning point or deadline passed at TIME, an RFC 3339 instant or
/*	"YYYY-MM-DD HH:MM" local time, default now; one line per deadline
/*	kind reached, then a count; JSON: an array of tickets with
/*	escalated, escalation, the three deadlines and the level of each).
/*	A value option takes its value as the next argument or after
/*	"=" (--queue=Helpdesk). "--owner none" selects unowned tickets.
/*	"maintenance" without an argument reports the current setting.
/*
/*	ctl_check_args() checks a verb and its options without a store,
/*	so postdeskctl can refuse a typo before it looks for the daemon.
/*	ctl_verb_needs_store() tells the verbs ctl_run() implements.
/*
/*	The output is built in a private buffer and appended to out in
/*	one step, so out holds either the whole output or none of it.
/* DIAGNOSTICS
/*	The result is a sysexits(3) status: 0 done; 1 the ticket does
/*	not exist ("postdeskctl: ticket N not found"), or outbox retry
/*	names no pending or failed mail; 64 bad verb or
/*	option; 69 the store failed; 70 the output did not fit in out.
/*	Each failure puts one line, starting "postdeskctl: ", into err.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <store.h>

#include "ctl_private.h"

enum verb {
    VERB_SHOW, VERB_LIST, VERB_STATUS, VERB_MAINTENANCE, VERB_RAW, VERB_OUTBOX,
    VERB_ESCALATIONS,
};

static const char *verb_names[] = {
    "show", "list", "status", "maintenance", "raw", "outbox", "escalations",
};

struct request {
    enum verb verb;
    const char *number;			/* show, raw */
    unsigned long article;		/* raw: 1.. */
    int     json;
    struct store_filter filter;		/* list */
    int     owner_none;			/* list --owner none */
    int     maintenance;		/* -1 report, 0 off, 1 on */
    int     all;			/* outbox --all */
    int     retry;			/* outbox retry ID */
    uint64_t outbox_id;
    time_t  at;				/* escalations --at; 0: now */
};

/* usage - one diagnostic line, with the offending word sanitised */

static int usage(struct buf *err, const char *verb, const char *what,
		         const char *word)
{
    char   *clean = str_sanitize(word ? word : "", 64);

    buf_printf(err, "%s: %s%s%s%s%s (see %s --help)\n", CTL_PROGNAME,
	       verb ? verb : "", verb ? ": " : "", what,
	       word ? " " : "", clean, CTL_PROGNAME);
    mem_free(clean);
    return (UTIL_EX_USAGE);
}

/* find_verb - the verb index, or -1 */

static int find_verb(const char *name)
{
    for (size_t i = 0; i < sizeof(verb_names) / sizeof(verb_names[0]); i++)
	if (strcmp(name, verb_names[i]) == 0)
	    return ((int) i);
    return (-1);
}

/* ctl_verb_needs_store - is this a verb of ctl_run()? */

int     ctl_verb_needs_store(const char *verb)
{
    return (verb && find_verb(verb) >= 0);
}

/* option_value - match "--name VALUE" or "--name=VALUE"; 1 matched */

static int option_value(int argc, char **argv, int *ip, const char *name,
			        const char **value_r, int *missing_r)
{
    const char *arg = argv[*ip];
    size_t  len = strlen(name);

    if (strncmp(arg, name, len) != 0)
	return (0);
    if (arg[len] == '=') {
	*value_r = arg + len + 1;
    } else if (arg[len] == 0) {
	if (*ip + 1 >= argc) {
	    *missing_r = 1;
	    return (1);
	}
	*value_r = argv[++*ip];
    } else {
	return (0);
    }
    if (**value_r == 0)
	*missing_r = 1;
    return (1);
}

/* valid_number - digits only, and short enough for a ticket number */

static int valid_number(const char *s)
{
    size_t  len = strlen(s);

    if (len == 0 || len >= sizeof(((struct store_ticket *) 0)->number))
	return (0);
    return (strspn(s, "0123456789") == len);
}

/* parse_limit - a positive decimal count */

static int parse_limit(const char *s, size_t *limit_r)
{
    char   *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
	return (-1);
    v = strtoull(s, &end, 10);
    if (*end != 0 || v == 0 || v > 1000000000ULL)
	return (-1);
    *limit_r = (size_t) v;
    return (0);
}

/* parse_list_option - one option of list; 0 ok, else usage status */

static int parse_list_option(struct request *req, int argc, char **argv,
			             int *ip, struct buf *err)
{
    const char *arg = argv[*ip];
    const char *value = 0;
    int     missing = 0;
    struct store_filter *f = &req->filter;

    if (strcmp(arg, "--json") == 0) {
	req->json = 1;
    } else if (strcmp(arg, "--locked") == 0) {
	f->locked_only = 1;
    } else if (strcmp(arg, "--escalated") == 0) {
	f->escalated_only = 1;
    } else if (option_value(argc, argv, ip, "--queue", &value, &missing)) {
	f->queue = value;
    } else if (option_value(argc, argv, ip, "--state", &value, &missing)) {
	f->state = value;
    } else if (option_value(argc, argv, ip, "--customer", &value, &missing)) {
	f->customer = value;
    } else if (option_value(argc, argv, ip, "--owner", &value, &missing)) {
	if (value && strcmp(value, "none") == 0) {
	    req->owner_none = 1;
	    f->owner = 0;
	} else {
	    req->owner_none = 0;
	    f->owner = value;
	}
    } else if (option_value(argc, argv, ip, "--limit", &value, &missing)) {
	if (!missing && parse_limit(value, &f->limit) < 0)
	    return (usage(err, "list", "--limit needs a positive number, not",
			  value));
    } else {
	return (usage(err, "list", arg[0] == '-' ? "unknown option" :
		      "unexpected argument", arg));
    }
    if (missing)
	return (usage(err, "list", "missing value after", arg));
    return (UTIL_EX_OK);
}

/* two - two decimal digits at s; -1 if not digits */

static int two(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
	return (-1);
    return ((s[0] - '0') * 10 + s[1] - '0');
}

/*
 * parse_time - "YYYY-MM-DDTHH:MM[:SS](Z|+HH:MM|-HH:MM)" (RFC 3339,
 * fractions not allowed) or "YYYY-MM-DD HH:MM" local time. 0 ok, -1 bad.
 */

static int parse_time(const char *s, time_t *t_r)
{
    struct tm tm;
    int     y, mo, d, h, mi, sec = 0, off = 0, oh, om;
    const char *p;
    time_t  t;

    if (strlen(s) < 16 || strspn(s, "0123456789") != 4
	|| (y = two(s) * 100 + two(s + 2)) < 1900 || s[4] != '-'
	|| s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
	|| s[13] != ':' || (mo = two(s + 5)) < 1 || mo > 12
	|| (d = two(s + 8)) < 1 || d > 31 || (h = two(s + 11)) < 0 || h > 23
	|| (mi = two(s + 14)) < 0 || mi > 59)
	return (-1);
    p = s + 16;
    if (*p == ':') {
	if ((sec = two(p + 1)) < 0 || sec > 60)
	    return (-1);
	p += 3;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (s[10] == ' ' && *p == 0) {		/* local time */
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t) -1)
	    return (-1);
	*t_r = t;
	return (0);
    }
    if (s[10] == ' ')
	return (-1);
    if (*p == '+' || *p == '-') {
	if ((oh = two(p + 1)) < 0 || oh > 23 || p[3] != ':'
	    || (om = two(p + 4)) < 0 || om > 59 || p[6] != 0)
	    return (-1);
	off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    } else if ((*p != 'Z' && *p != 'z') || p[1] != 0) {
	return (-1);
    }
    *t_r = timegm(&tm) - off;
    return (0);
}

/* parse_escalations - an argument of escalations: [--at TIME] [--json] */

static int parse_escalations(struct request *req, int argc, char **argv,
			             int *ip, struct buf *err)
{
    const char *arg = argv[*ip];
    const char *value = 0;
    int     missing = 0;

    if (strcmp(arg, "--json") == 0) {
	req->json = 1;
    } else if (option_value(argc, argv, ip, "--at", &value, &missing)) {
	if (missing)
	    return (usage(err, "escalations", "missing value after", arg));
	if (parse_time(value, &req->at) < 0 || req->at <= 0)
	    return (usage(err, "escalations", "--at needs an RFC 3339 time or "
			  "\"YYYY-MM-DD HH:MM\", not", value));
    } else {
	return (usage(err, "escalations", arg[0] == '-' ? "unknown option" :
		      "unexpected argument", arg));
    }
    return (UTIL_EX_OK);
}

/* parse_outbox - an argument of outbox: [--all] [--json] | retry ID */

static int parse_outbox(struct request *req, const char *arg, struct buf *err)
{
    char   *end;

    if (req->retry == 1) {
	errno = 0;
	req->outbox_id = strtoull(arg, &end, 10);
	if (errno || *end || arg[0] < '1' || arg[0] > '9')
	    return (usage(err, "outbox retry", "not an outbox ID:", arg));
	req->retry = 2;
    } else if (req->retry == 0 && strcmp(arg, "--all") == 0) {
	req->all = 1;
    } else if (req->retry == 0 && strcmp(arg, "--json") == 0) {
	req->json = 1;
    } else if (req->retry == 0 && !req->all && !req->json
	       && strcmp(arg, "retry") == 0) {
	req->retry = 1;
    } else {
	return (usage(err, "outbox", arg[0] == '-' ? "unknown option" :
		      "unexpected argument", arg));
    }
    return (UTIL_EX_OK);
}

/* parse_other - an argument of show, status or maintenance */

static int parse_other(struct request *req, const char *arg, struct buf *err)
{
    const char *verb = verb_names[req->verb];

    if (strcmp(arg, "--json") == 0 && req->verb != VERB_MAINTENANCE
	&& req->verb != VERB_RAW) {
	req->json = 1;
    } else if (arg[0] == '-') {
	return (usage(err, verb, "unknown option", arg));
    } else if ((req->verb == VERB_SHOW || req->verb == VERB_RAW)
	       && req->number == 0) {
	if (!valid_number(arg))
	    return (usage(err, verb, "not a ticket number:", arg));
	req->number = arg;
    } else if (req->verb == VERB_RAW && req->article == 0) {
	char   *end;

	errno = 0;
	req->article = strtoul(arg, &end, 10);
	if (errno || *end || arg[0] < '1' || arg[0] > '9' || req->article > UINT32_MAX)
	    return (usage(err, verb, "not an article number:", arg));
    } else if (req->verb == VERB_MAINTENANCE && req->maintenance < 0) {
	if (strcmp(arg, "on") == 0)
	    req->maintenance = 1;
	else if (strcmp(arg, "off") == 0)
	    req->maintenance = 0;
	else
	    return (usage(err, verb, "expected on or off, not", arg));
    } else {
	return (usage(err, verb, "unexpected argument", arg));
    }
    return (UTIL_EX_OK);
}

/* parse_request - argv into a request; UTIL_EX_OK or UTIL_EX_USAGE */

static int parse_request(int argc, char **argv, struct request *req,
			         struct buf *err)
{
    int     v;
    int     status;

    memset(req, 0, sizeof(*req));
    req->maintenance = -1;
    if (argc < 1 || argv[0] == 0)
	return (usage(err, 0, "no verb given", 0));
    if ((v = find_verb(argv[0])) < 0) {
	if (strcmp(argv[0], "check-config") == 0)
	    return (usage(err, 0, "check-config runs in postdeskctl itself, "
			  "not against the store", 0));
	if (strcmp(argv[0], "agent-address") == 0)
	    return (usage(err, 0, "agent-address runs in postdeskctl itself, "
			  "not against the store", 0));
	return (usage(err, 0, "unknown verb", argv[0]));
    }
    req->verb = (enum verb) v;
    for (int i = 1; i < argc; i++) {
	if (req->verb == VERB_LIST)
	    status = parse_list_option(req, argc, argv, &i, err);
	else if (req->verb == VERB_OUTBOX)
	    status = parse_outbox(req, argv[i], err);
	else if (req->verb == VERB_ESCALATIONS)
	    status = parse_escalations(req, argc, argv, &i, err);
	else
	    status = parse_other(req, argv[i], err);
	if (status != UTIL_EX_OK)
	    return (status);
    }
    if ((req->verb == VERB_SHOW || req->verb == VERB_RAW) && req->number == 0)
	return (usage(err, verb_names[req->verb], "missing ticket number", 0));
    if (req->verb == VERB_RAW && req->article == 0)
	req->article = 1;
    if (req->verb == VERB_OUTBOX && req->retry == 1)
	return (usage(err, "outbox retry", "missing outbox ID", 0));
    return (UTIL_EX_OK);
}

/* ctl_check_args - validate without a store */

int     ctl_check_args(int argc, char **argv, struct buf *err)
{
    struct request req;

    return (parse_request(argc, argv, &req, err));
}

/* store_failed - the diagnostic for a store error */

static int store_failed(struct buf *err, const char *what, int rc)
{
    buf_printf(err, "%s: %s: store %s\n", CTL_PROGNAME, what,
	       rc == STORE_RETRY ? "busy (deadlock), try again" :
	       "unavailable (see the mail log)");
    return (UTIL_EX_UNAVAILABLE);
}

/* do_show - the show verb */

static int do_show(struct store *store, const struct request *req,
		           struct buf *text, struct buf *err)
{
    struct store_ticket *t = 0;
    int     rc = store_ticket_get(store, req->number, &t);

    if (rc == STORE_NOTFOUND) {
	buf_printf(err, "%s: ticket %s not found\n", CTL_PROGNAME, req->number);
	return (1);
    }
    if (rc != STORE_OK || t == 0)
	return (store_failed(err, "show", rc));
    if (req->json)
	ctl_render_show_json(text, t);
    else
	ctl_render_show(text, t);
    store_ticket_free(&t);
    return (UTIL_EX_OK);
}

/* do_list - the list verb */

static int do_list(struct store *store, const struct request *req,
		           struct buf *text, struct buf *err)
{
    struct store_filter filter = req->filter;
    struct store_ticket *tickets = 0;
    size_t  n = 0;
    size_t  kept = 0;
    int     rc;

    /* "--owner none" is filtered here, so the limit applies after it. */
    if (req->owner_none)
	filter.limit = 0;
    if ((rc = store_list(store, &filter, &tickets, &n)) != STORE_OK)
	return (store_failed(err, "list", rc));
    if (req->owner_none) {
	for (size_t i = 0; i < n; i++) {
	    if (tickets[i].owner != 0)
		continue;
	    if (req->filter.limit && kept >= req->filter.limit)
		continue;
	    if (kept != i) {
		struct store_ticket tmp = tickets[kept];

		tickets[kept] = tickets[i];
		tickets[i] = tmp;
	    }
	    kept++;
	}
    } else {
	kept = n;
    }
    if (req->json)
	ctl_render_list_json(text, tickets, kept);
    else
	ctl_render_list(text, tickets, kept);
    store_ticket_list_free(&tickets, n);
    return (UTIL_EX_OK);
}

/* do_status - the status verb */

static int do_status(struct store *store, const struct request *req,
		             long daemon_pid, struct buf *text, struct buf *err)
{
    struct store_stats st;
    int     rc;

    memset(&st, 0, sizeof(st));
    if ((rc = store_stats(store, &st)) != STORE_OK)
	return (store_failed(err, "status", rc));
    ctl_render_status(text, &st, daemon_pid, req->json);
    return (UTIL_EX_OK);
}

/* do_raw - the raw verb: an article's message as received */

static int do_raw(struct store *store, const struct request *req,
		          struct buf *text, struct buf *err)
{
    char   *raw = 0;
    size_t  len = 0;
    int     rc = store_raw_get(store, req->number, (uint32_t) req->article,
			       &raw, &len);

    if (rc == STORE_NOTFOUND) {
	buf_printf(err, "%s: ticket %s has no article %lu\n", CTL_PROGNAME,
		   req->number, req->article);
	return (1);
    }
    if (rc != STORE_OK)
	return (store_failed(err, "raw", rc));
    if (buf_append(text, raw, len) < 0) {
	mem_free(raw);
	buf_printf(err, "%s: raw: output too large\n", CTL_PROGNAME);
	return (UTIL_EX_SOFTWARE);
    }
    mem_free(raw);
    return (UTIL_EX_OK);
}

/* do_maintenance - the maintenance verb */

static int do_maintenance(struct store *store, const struct request *req,
			          struct buf *text, struct buf *err)
{
    int     rc;
    int     on = req->maintenance;

    if (on < 0) {
	on = store_maintenance(store) > 0;
    } else if ((rc = store_set_maintenance(store, on)) != STORE_OK) {
	return (store_failed(err, "maintenance", rc));
    }
    buf_append_str(text, on ? "maintenance on: new mail is deferred with 4xx\n" :
		   "maintenance off\n");
    return (UTIL_EX_OK);
}

/* do_outbox - the outbox verb: list, or retry one */

static int do_outbox(struct store *store, const struct request *req,
		             struct buf *text, struct buf *err)
{
    struct store_outbox_item *items = 0;
    size_t  n = 0;
    int     rc;

    if (req->retry) {
	rc = store_outbox_retry(store, req->outbox_id);
	if (rc == STORE_NOTFOUND) {
	    buf_printf(err, "%s: no such pending or failed mail %" PRIu64 "\n",
		       CTL_PROGNAME, req->outbox_id);
	    return (1);
	}
	if (rc != STORE_OK)
	    return (store_failed(err, "outbox retry", rc));
	buf_printf(text, "outbox %" PRIu64 ": queued for delivery now\n",
		   req->outbox_id);
	return (UTIL_EX_OK);
    }
    if ((rc = store_outbox_list(store, req->all, &items, &n)) != STORE_OK)
	return (store_failed(err, "outbox", rc));
    if (req->json)
	ctl_render_outbox_json(text, items, n);
    else
	ctl_render_outbox(text, items, n);
    store_outbox_items_free(&items, n);
    return (UTIL_EX_OK);
}

/*
 * escalations: every ticket with a warning or deadline passed at the
 * instant (what-if), with its deadlines.
 */

static const char *const level_names[] = {"warning", "escalation"};

/* due_text - RFC 3339 or "-" */

static const char *due_text(time_t t, char buf[32])
{
    if (t == 0)
	return ("-");
    time_rfc3339(t, buf);
    return (buf);
}

/* json_due - ,"key":time|null */

static void json_due(struct buf *out, const char *key, time_t t)
{
    char    when[32];

    if (t == 0) {
	buf_printf(out, ",\"%s\":null", key);
	return;
    }
    time_rfc3339(t, when);
    buf_printf(out, ",\"%s\":\"%s\"", key, when);
}

/* escalation_entry - one ticket of escalations, if anything passed */

static int escalation_entry(struct buf *text, const struct store_ticket *t,
			            time_t at, int json, size_t n)
{
    int     level[STORE_SLA_KINDS], any = 0, esc = -1, k;
    char    b1[32], b2[32];
    time_t  due, warn;

    for (k = 0; k < STORE_SLA_KINDS; k++) {
	level[k] = store_sla_level(t, k, at);
	if (level[k] >= 0)
	    any = 1;
	if (level[k] == STORE_SLA_ESCALATION && esc < 0)
	    esc = k;
    }
    if (!any)
	return (0);
    if (json) {
	buf_append_str(text, n ? ",\n{\"number\":" : "[\n{\"number\":");
	str_json_escape(text, t->number);
	buf_append_str(text, ",\"queue\":");
	str_json_escape(text, t->queue ? t->queue : "");
	buf_append_str(text, ",\"title\":");
	str_json_escape(text, t->title ? t->title : "");
	buf_printf(text, ",\"escalated\":%s", esc >= 0 ? "true" : "false");
	if (esc >= 0)
	    buf_printf(text, ",\"escalation\":\"%s\"", store_sla_kind_name(esc));
	else
	    buf_append_str(text, ",\"escalation\":null");
	json_due(text, "first_response_due", t->first_response_due);
	json_due(text, "update_due", t->update_due);
	json_due(text, "solution_due", t->solution_due);
	buf_append_str(text, ",\"levels\":{");
	for (k = 0; k < STORE_SLA_KINDS; k++) {
	    buf_printf(text, "%s\"%s\":", k ? "," : "", store_sla_kind_name(k));
	    if (level[k] < 0)
		buf_append_str(text, "null");
	    else
		buf_printf(text, "\"%s\"", level_names[level[k]]);
	}
	buf_append_str(text, "}}");
	return (1);
    }
    for (k = 0; k < STORE_SLA_KINDS; k++) {
	if (level[k] < 0)
	    continue;
	store_sla_due(t, k, &due, &warn);
	buf_printf(text, "%-20s %-15s %-11s due %s  warn %s  ", t->number,
		   store_sla_kind_name(k), level_names[level[k]],
		   due_text(due, b1), due_text(warn, b2));
	ctl_text_put(text, t->queue ? t->queue : "", 0);
	buf_append_str(text, "  ");
	ctl_text_put(text, t->title ? t->title : "", 0);
	buf_append_char(text, '\n');
    }
    return (1);
}

/* do_escalations - the escalations verb */

static int do_escalations(struct store *store, const struct request *req,
			          struct buf *text, struct buf *err)
{
    struct store_filter filter;
    struct store_ticket *tickets = 0;
    time_t  at = req->at ? req->at : time((time_t *) 0);
    char    when[32];
    size_t  n = 0, shown = 0;
    int     rc;

    memset(&filter, 0, sizeof(filter));
    if ((rc = store_list(store, &filter, &tickets, &n)) != STORE_OK)
	return (store_failed(err, "escalations", rc));
    for (size_t i = 0; i < n; i++)
	shown += escalation_entry(text, tickets + i, at, req->json, shown);
    if (req->json) {
	buf_append_str(text, shown ? "\n]\n" : "[]\n");
    } else {
	time_rfc3339(at, when);
	buf_printf(text, "%zu ticket%s with a warning or deadline passed at %s\n",
		   shown, shown == 1 ? "" : "s", when);
    }
    store_ticket_list_free(&tickets, n);
    return (UTIL_EX_OK);
}

/* ctl_run - run one verb against an open store */

int     ctl_run(struct store *store, const struct conf *conf, int argc,
		        char **argv, long daemon_pid, struct buf *out,
		        struct buf *err)
{
    struct request req;
    struct buf *text;
    int     status;

    (void) conf;
    if ((status = parse_request(argc, argv, &req, err)) != UTIL_EX_OK)
	return (status);
    if (store == 0) {
	buf_printf(err, "%s: %s: no store\n", CTL_PROGNAME, argv[0]);
	return (UTIL_EX_UNAVAILABLE);
    }
    text = buf_create(4096, 0);
    switch (req.verb) {
    case VERB_SHOW:
	status = do_show(store, &req, text, err);
	break;
    case VERB_LIST:
	status = do_list(store, &req, text, err);
	break;
    case VERB_STATUS:
	status = do_status(store, &req, daemon_pid, text, err);
	break;
    case VERB_MAINTENANCE:
	status = do_maintenance(store, &req, text, err);
	break;
    case VERB_RAW:
	status = do_raw(store, &req, text, err);
	break;
    case VERB_OUTBOX:
	status = do_outbox(store, &req, text, err);
	break;
    case VERB_ESCALATIONS:
	status = do_escalations(store, &req, text, err);
	break;
    }
    if (buf_append(out, buf_data(text), buf_len(text)) < 0) {
	buf_printf(err, "%s: %s: output too large\n", CTL_PROGNAME, argv[0]);
	status = UTIL_EX_SOFTWARE;
    }
    buf_destroy(&text);
    return (status);
}
