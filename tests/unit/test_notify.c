/*++
/* NAME
/*	test_notify 1
/* SUMMARY
/*	CUnit tests of composing: recipients, loop protection, templates,
/*	messages, and acknowledgements and notifications in a real store
/* SYNOPSIS
/*	test_notify
/* DESCRIPTION
/*	Recipient selection for every event over a table (subscriptions,
/*	groups, owner locked or not, watchers, inform, out-of-office
/*	today or not, the actor, an agent writing as a customer, notify
/*	settings, unknown logins); loop-protection decisions over a table
/*	of mail facts; every kind of broken template with its file:line;
/*	the shipped templates; rendering with French accents and long
/*	titles, RFC 2047 Subject and display names decoded back with
/*	GMime; hostile titles and names with CR/LF never giving an extra
/*	header; and notify_ingest()/notify_event() against a temporary
/*	Berkeley DB store: one acknowledgement and one notification per
/*	subscribed agent with their headers and a signed Reply-To that
/*	verifies, the acknowledgement stored as a seen system article, no
/*	acknowledgement to automatic mail, and the rate limit.
/*
/*	Agents' command mail: the ticket's watchers and inactive agents in
/*	the recipients of every event (a table, then watchers set with
/*	store_ticket_update() in a store); response templates (shipped,
/*	one language only, broken ones and bad names reported with
/*	FILE:LINE); #confirm codes (stable, different when any input or
/*	the key changes, "" without a key); notify_reply_check() refusals;
/*	a #reply in a store (From the queue, To the requester, the Cc of
/*	the requester's last mail without postdesk's addresses, bad ones
/*	and duplicates, In-Reply-To that mail, no Auto-Submitted, the
/*	response template above the text and the quote header with the
/*	date that mail was received, the stored agent article and the
/*	first response time), in English with a hostile title; and every
/*	kind of agent mail in French and English (to the first address,
/*	Auto-Submitted: auto-replied, a Reply-To that verifies with the
/*	ticket and its revision, CR/LF in the subject and outcome never
/*	making a header, nothing but the number for an agent who may not
/*	work the ticket's queue).
/*
/*	The templates are read from $POSTDESK_SOURCE_DIR/contrib/templates
/*	(default: the source tree this file was compiled from).
/* DIAGNOSTICS
/*	Exit status 0 when every test passed.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <gmime/gmime.h>

#include "util.h"
#include "conf.h"
#include "store.h"
#include "sigaddr.h"
#include "notify.h"
#include "notify_private.h"


static char root[] = "/tmp/test_notify.XXXXXX";
static char *templates;			/* contrib/templates */
static struct conf *conf;
static char *conf_text;			/* its text */
static time_t now;
static const unsigned char key_bytes[32] = "0123456789abcdef0123456789abcdef";

/*
 * Helpers.
 */

/* rm_entry - nftw callback */

static int rm_entry(const char *path, const struct stat *st, int flag,
		            struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return (remove(path));
}

/* write_file - create path with text */

static int write_file(const char *path, const char *text, size_t len)
{
    FILE   *fp = fopen(path, "w");

    if (fp == 0)
	return (-1);
    fwrite(text, 1, len, fp);
    return (fclose(fp));
}

/* day_text - the local date of t, shifted by days, as YYYY-MM-DD */

static void day_text(time_t t, int days, char out[16])
{
    struct tm tm;

    t += (time_t) days * 86400;
    localtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* load_conf - a configuration from text, in root */

static struct conf *load_conf(const char *name, const char *text)
{
    char   *path = mem_printf("%s/%s", root, name);
    char   *errors = 0;
    struct conf *c;

    write_file(path, text, strlen(text));
    c = conf_load(path, &errors);
    if (c == 0)
	fprintf(stderr, "conf_load: %s\n", errors ? errors : "?");
    mem_free(errors);
    mem_free(path);
    return (c);
}

/* parse_mail - a GMime message from composed bytes */

static GMimeMessage *parse_mail(const char *data, size_t len)
{
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, 0);

    g_object_unref(p);
    g_object_unref(st);
    return (m);
}

/* header - a header of a message, or "" */

static const char *header(GMimeMessage *m, const char *name)
{
    const char *v = g_mime_object_get_header(GMIME_OBJECT(m), name);

    return (v ? v : "");
}

/* body_of - the decoded text of a composed message (g_free) */

static char *body_of(GMimeMessage *m)
{
    GMimeObject *part = g_mime_message_get_mime_part(m);

    char   *text, *o;

    if (part == 0 || !GMIME_IS_TEXT_PART(part))
	return (g_strdup(""));
    text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
    for (char *i = o = text; *i; i++)		/* CRLF -> LF */
	if (*i != '\r')
	    *o++ = *i;
    *o = 0;
    return (text);
}

/* only_known_headers - every header of m is one postdesk writes */

static int only_known_headers(GMimeMessage *m)
{
    static const char *const known[] = {
	"From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-Id",
	"In-Reply-To", "References", "Auto-Submitted", "X-Postdesk-Loop",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", 0,
    };
    GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(m));
    int     count = g_mime_header_list_get_count(list);
    int     ok = 1;

    for (int i = 0; i < count; i++) {
	const char *name = g_mime_header_get_name(g_mime_header_list_get_header_at(list, i));
	const char *const *k;

	for (k = known; *k && strcasecmp(*k, name) != 0; k++)
	     /* void */ ;
	if (*k == 0) {
	    fprintf(stderr, "unexpected header \"%s\"\n", name);
	    ok = 0;
	}
    }
    /* The MIME part's headers as well. */
    list = g_mime_object_get_header_list(g_mime_message_get_mime_part(m));
    count = g_mime_header_list_get_count(list);
    for (int i = 0; i < count; i++) {
	const char *name = g_mime_header_get_name(g_mime_header_list_get_header_at(list, i));

	if (strcasecmp(name, "Content-Type") != 0
	    && strcasecmp(name, "Content-Transfer-Encoding") != 0) {
	    fprintf(stderr, "unexpected part header \"%s\"\n", name);
	    ok = 0;
	}
    }
    return (ok);
}

/* headers_clean - the header block is 7-bit ASCII and every line ends
   with CRLF (no bare CR or LF) */

static int headers_clean(const char *data, size_t len)
{
    const char *end = strstr(data, "\r\n\r\n");

    if (end == 0)
	return (0);
    for (const char *p = data; p < end + 4 && p < data + len; p++) {
	if ((unsigned char) *p >= 0x80)
	    return (0);
	if (*p == '\n' && (p == data || p[-1] != '\r'))
	    return (0);
	if (*p == '\r' && p[1] != '\n')
	    return (0);
    }
    return (1);
}

/* bare_lf - any LF not after CR in the whole message? */

static int bare_lf(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
	if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
	    return (1);
    return (0);
}

/* captured log lines */
static struct buf *logged;

static void capture(enum log_level level, const char *line, void *ctx)
{
    (void) level;
    (void) ctx;
    buf_append_str(logged, line);
    buf_append_char(logged, '\n');
}

/*
 * Recipients.
 */

/* names - the logins of out, sorted, comma-separated */

static char *names(const struct conf_agent **out, size_t n)
{
    const char *v[64];
    struct buf *b = buf_create(64, 0);
    char   *s;

    for (size_t i = 0; i < n && i < 64; i++)
	v[i] = out[i]->login;
    for (size_t i = 1; i < n; i++)
	for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
	    const char *x = v[j];

	    v[j] = v[j - 1];
	    v[j - 1] = x;
	}
    for (size_t i = 0; i < n; i++)
	buf_printf(b, "%s%s", i ? "," : "", v[i]);
    s = buf_steal(b, 0);
    buf_destroy(&b);
    return (s);
}

static void test_recipients(void)
{
    static const char *const w_gfd[] = {"gina", "frank", "dave", 0};
    static const char *const i_cze[] = {"carol", "zed", "ERIN", 0};
    static const char *const w_a[] = {"alice", 0};
    static const struct {
	enum notify_event_type type;
	const char *queue;
	int     locked;
	const char *owner;
	const char *actor;
	const char *const *watchers;
	const char *const *informed;
	const char *author;		/* From of article 1 */
	const char *expect;
    } cases[] = {
	/* new ticket: the queue's subscribers who may work it */
	{NOTIFY_NEW_TICKET, "Helpdesk", 0, 0, 0, 0, 0, 0, "alice,carol,gina"},
	{NOTIFY_NEW_TICKET, "helpdesk", 0, 0, 0, 0, 0, 0, "alice,carol,gina"},
	{NOTIFY_NEW_TICKET, "Network", 0, 0, 0, 0, 0, 0, "alice,bob"},
	{NOTIFY_NEW_TICKET, "Helpdesk", 0, 0, "alice", 0, 0, 0, "carol,gina"},
	{NOTIFY_NEW_TICKET, "Helpdesk", 0, 0, "ALICE", 0, 0, 0, "carol,gina"},
	/* an agent writing as a customer is not told about it */
	{NOTIFY_NEW_TICKET, "Helpdesk", 0, 0, 0, 0, 0,
	    "Alice Martin <Alice@Example.org>", "carol,gina"},
	{NOTIFY_NEW_TICKET, "Network", 0, 0, 0, 0, 0,
	    "robert.keller@example.org", "alice"},
	{NOTIFY_NEW_TICKET, "Gone", 0, 0, 0, 0, 0, 0, ""},
	/* follow-up: owner when locked, else the subscribers */
	{NOTIFY_FOLLOW_UP, "Helpdesk", 0, 0, 0, 0, 0, 0, "alice,gina"},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 0, "erin", 0, 0, 0, 0, "alice,gina"},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "erin", 0, 0, 0, 0, "erin"},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "carol", 0, 0, 0, 0, ""},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "dave", 0, 0, 0, 0, ""},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "frank", 0, 0, 0, 0, ""},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "zed", 0, 0, 0, 0, ""},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 0, 0, 0, 0, 0, "gina@example.org", "alice"},
	{NOTIFY_FOLLOW_UP, "Network", 0, 0, 0, 0, 0, 0, "alice"},
	{NOTIFY_FOLLOW_UP, "Network", 1, "frank", 0, 0, 0, 0, "frank"},
	/* new note: owner, watchers, informed; never the subscribers */
	{NOTIFY_NEW_NOTE, "Helpdesk", 1, "erin", "alice", w_gfd, i_cze, 0,
	    "carol,erin,gina"},
	{NOTIFY_NEW_NOTE, "Helpdesk", 1, "erin", "erin", w_a, 0, 0, "alice"},
	{NOTIFY_NEW_NOTE, "Helpdesk", 0, "erin", "alice", 0, 0, 0, "erin"},
	{NOTIFY_NEW_NOTE, "Helpdesk", 0, 0, "alice", 0, 0, 0, ""},
	{NOTIFY_NEW_NOTE, "Helpdesk", 1, "erin", 0, w_a, 0,
	    "erin@example.org", "alice"},
	/* lock and owner: the new owner, unless the actor */
	{NOTIFY_LOCK, "Helpdesk", 1, "erin", "alice", w_a, 0, 0, "erin"},
	{NOTIFY_LOCK, "Helpdesk", 1, "alice", "alice", 0, 0, 0, ""},
	{NOTIFY_LOCK, "Helpdesk", 1, "frank", "alice", 0, 0, 0, ""},
	{NOTIFY_OWNER, "Helpdesk", 1, "gina", "alice", 0, 0, 0, "gina"},
	{NOTIFY_OWNER, "Helpdesk", 1, "hank", "alice", 0, 0, 0, ""},
	/* move: the subscribers of the new queue */
	{NOTIFY_MOVE, "Network", 0, 0, "alice", 0, 0, 0, "bob"},
	{NOTIFY_MOVE, "Network", 0, 0, "bob", 0, 0, 0, "alice"},
	{NOTIFY_MOVE, "Helpdesk", 1, "erin", "erin", 0, 0, 0, "alice,gina"},
	/* escalation and pending: owner when locked, else subscribers */
	{NOTIFY_ESCALATION, "Helpdesk", 0, 0, 0, 0, 0, 0, "alice,gina"},
	{NOTIFY_ESCALATION, "Helpdesk", 1, "erin", 0, 0, 0, 0, "erin"},
	{NOTIFY_ESCALATION, "Network", 0, 0, 0, 0, 0, 0, "alice,bob"},
	{NOTIFY_PENDING, "Helpdesk", 1, "gina", 0, 0, 0, 0, "gina"},
	{NOTIFY_PENDING, "Helpdesk", 0, 0, 0, 0, 0, 0, "alice,gina"},
	{NOTIFY_PENDING, "Network", 0, 0, 0, 0, 0, 0, "alice"},
    };
    const struct conf_agent *out[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	struct store_ticket t;
	struct store_article art;
	struct notify_event ev;
	size_t  n;
	char   *got;

	memset(&t, 0, sizeof(t));
	memset(&art, 0, sizeof(art));
	memset(&ev, 0, sizeof(ev));
	strcpy(t.number, "2026112710000017");
	t.title = "Imprimante";
	t.queue = (char *) cases[i].queue;
	t.locked = cases[i].locked;
	t.owner = (char *) cases[i].owner;
	t.customer = "marie@example.com";
	art.index = 1;
	art.from = (char *) (cases[i].author ? cases[i].author
			     : "Marie <marie@example.com>");
	t.articles = &art;
	t.n_articles = 1;
	ev.type = cases[i].type;
	ev.number = t.number;
	ev.actor = cases[i].actor;
	ev.article = 1;
	ev.watchers = cases[i].watchers;
	for (; ev.watchers && ev.watchers[ev.n_watchers]; ev.n_watchers++)
	     /* void */ ;
	ev.informed = cases[i].informed;
	for (; ev.informed && ev.informed[ev.n_informed]; ev.n_informed++)
	     /* void */ ;
	n = notify_recipients(conf, &t, &ev, now, out, 64);
	got = names(out, n);
	if (strcmp(got, cases[i].expect) != 0)
	    fprintf(stderr, "case %zu (%s): got \"%s\", expected \"%s\"\n", i,
		    notify_event_name(ev.type), got, cases[i].expect);
	CU_ASSERT_STRING_EQUAL(got, cases[i].expect);
	mem_free(got);
	/* Each agent once, and max is honoured. */
	for (size_t a = 0; a < n; a++)
	    for (size_t b = a + 1; b < n; b++)
		CU_ASSERT_PTR_NOT_EQUAL(out[a], out[b]);
	if (n > 1)
	    CU_ASSERT_EQUAL(notify_recipients(conf, &t, &ev, now, out, 1), 1);
    }
}

/* test_away - out-of-office periods on the local date */

static void test_away(void)
{
    const struct conf_agent *dave = conf_agent_find(conf, "dave");
    const struct conf_agent *gina = conf_agent_find(conf, "gina");

    CU_ASSERT_PTR_NOT_NULL_FATAL(dave);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gina);
    CU_ASSERT_EQUAL(notify_agent_away(dave, now), 1);
    CU_ASSERT_EQUAL(notify_agent_away(dave, now + 86400), 0);
    CU_ASSERT_EQUAL(notify_agent_away(gina, now), 0);
    CU_ASSERT_EQUAL(notify_agent_away(gina, now - 86400), 1);
    CU_ASSERT_STRING_EQUAL(notify_event_name(NOTIFY_NEW_TICKET), "new-ticket");
    CU_ASSERT_STRING_EQUAL(notify_event_name(NOTIFY_PENDING), "pending");
}

/*
 * Loop protection.
 */

static void test_loop(void)
{
    static const struct {
	const char *sender;
	const char *from;
	int     automatic;
	int     own_loop;
	int     follow_up;
	const char *why;		/* NULL: may acknowledge */
    } cases[] = {
	{"marie@example.com", "marie@example.com", 0, 0, 0, 0},
	{"srs0=x@relay.example", "marie@example.com", 0, 0, 0, 0},
	{"marie@example.com", "marie+tag@example.com", 0, 0, 0, 0},
	{"marie@example.com", "marie@sub.desk.example.org", 0, 0, 0, 0},
	{"marie@example.com", "marie@example.com", 0, 1, 0, "loop"},
	{"", "marie@example.com", 0, 0, 0, "null sender"},
	{"", "marie@example.com", 1, 1, 1, "loop"},
	{"marie@example.com", "marie@example.com", 1, 0, 0, "automatic"},
	{"marie@example.com", "", 0, 0, 0, "no address"},
	{"marie@example.com", "marie dupont@example.com", 0, 0, 0, "bad address"},
	{"marie@example.com", "marie@example.com\r\nbcc: x@y", 0, 0, 0, "bad address"},
	{"marie@example.com", "<marie@example.com>", 0, 0, 0, "bad address"},
	{"marie@example.com", "marie", 0, 0, 0, "bad address"},
	{"x@example.com", "MAILER-DAEMON@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "Postmaster@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "noreply@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "No-Reply@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "noreply-billing@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "DoNotReply@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "do-not-reply@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "do_not_reply@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "bounces+123@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "bounce-42@example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "users-request@lists.example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "owner-users@lists.example.com", 0, 0, 0, "robot sender"},
	{"x@example.com", "abuse@example.com", 0, 0, 0, "robot sender"},
	{"users-bounces@lists.example.com", "marie@example.com", 0, 0, 0,
	    "robot sender"},
	{"x@example.com", "helpdesk@example.org", 0, 0, 0, "postdesk address"},
	{"x@example.com", "Support+urgent@Example.ORG", 0, 0, 0, "postdesk address"},
	{"x@example.com", "desk@desk.example.org", 0, 0, 0, "postdesk address"},
	{"x@example.com", "desk+abc@DESK.example.org", 0, 0, 0, "postdesk address"},
	{"x@example.com", "anyone@helpdesk.example.net", 0, 0, 0, "postdesk address"},
	{"network@example.org", "marie@example.com", 0, 0, 0, "postdesk address"},
	{"marie@example.com", "marie@example.com", 0, 0, 1, "follow-up"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	struct notify_mail_facts f;
	const char *why = "unset";
	int     ok;

	f.sender = cases[i].sender;
	f.from = cases[i].from;
	f.automatic = cases[i].automatic;
	f.own_loop = cases[i].own_loop;
	f.follow_up = cases[i].follow_up;
	ok = notify_may_acknowledge(conf, &f, &why);
	CU_ASSERT_EQUAL(ok, cases[i].why == 0);
	if (cases[i].why) {
	    CU_ASSERT_PTR_NOT_NULL(why);
	    if (why)
		CU_ASSERT_STRING_EQUAL(why, cases[i].why);
	} else {
	    CU_ASSERT_PTR_NULL(why);
	}
	if (ok != (cases[i].why == 0) || (cases[i].why && why
				       && strcmp(why, cases[i].why) != 0))
	    fprintf(stderr, "loop case %zu: %d %s\n", i, ok, why ? why : "-");
    }
}

/*
 * Templates.
 */

static void test_template_errors(void)
{
    static const struct {
	const char *text;
	const char *expect;		/* after "PATH:" */
    } cases[] = {
	{"Subject: ok {{ticket.title}}\n\nHello {{agent.name}}\n", 0},
	{"Subject: ok\r\n\r\nCRLF is fine {{ticket.number}}\r\n", 0},
	{"Subject: {{ ticket.title }}\n\nspaces inside braces\n", 0},
	{"Hello\n\nno subject\n", "1: the first line must be \"Subject: ...\""},
	{"", "1: the first line must be \"Subject: ...\""},
	{"Subject: x\nbody at once\n", "2: an empty line must follow the Subject line"},
	{"Subject: x\n", "2: an empty line must follow the Subject line"},
	{"Subject:   \n\nbody\n", "1: empty Subject"},
	{"Subject: x\n\nline 3\nline 4\nline 5 {{ticket.nope}}\n",
	    "5: unknown placeholder {{ticket.nope}}"},
	{"Subject: {{tciket.title}}\n\nx\n", "1: unknown placeholder {{tciket.title}}"},
	{"Subject: x\n\n\n\n\nline 6 {{ticket.title\nmore }}\n", "6: unclosed \"{{\""},
	{"Subject: x\n\nline 3 {{ticket.title", "3: unclosed \"{{\""},
	{"Subject: {{article.body}}\n\nx\n",
	    "1: {{article.body}} cannot stand in the Subject"},
	{"Subject: {{commands}}\n\nx\n", "1: {{commands}} cannot stand in the Subject"},
	{"Subject: x\n\nok\nbad \xc3\x28 utf-8\n", "4: invalid UTF-8"},
	{"Subject: caf\xe9\n\nlatin-1\n", "1: invalid UTF-8"},
	{"Subject: x\n\nan escape \x1b[31m\n", "3: control character 0x1b"},
	{"Subject: x\n\nnul \0 byte\n", "3: control character 0x00"},
    };
    char   *path = mem_printf("%s/t.txt", root);
    char   *missing = mem_printf("%s/none/ack.txt", root);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	struct buf *errors = buf_create(64, 0);
	struct notify_template *t;
	size_t  len = strlen(cases[i].text);

	if (i == sizeof(cases) / sizeof(cases[0]) - 1)
	    len = 23;				/* through the NUL */
	write_file(path, cases[i].text, len);
	t = notify_template_load(path, errors);
	if (cases[i].expect == 0) {
	    CU_ASSERT_PTR_NOT_NULL(t);
	    CU_ASSERT_EQUAL(buf_len(errors), 0);
	} else {
	    char   *want = mem_printf("%s:%s\n", path, cases[i].expect);

	    CU_ASSERT_PTR_NULL(t);
	    CU_ASSERT_STRING_EQUAL(buf_data(errors), want);
	    if (strcmp(buf_data(errors), want) != 0)
		fprintf(stderr, "template case %zu: got \"%s\"\n", i, buf_data(errors));
	    mem_free(want);
	}
	notify_template_free(&t);
	CU_ASSERT_PTR_NULL(t);
	buf_destroy(&errors);
    }
    {
	struct buf *errors = buf_create(64, 0);

	CU_ASSERT_PTR_NULL(notify_template_load(missing, errors));
	CU_ASSERT(strncmp(buf_data(errors), missing, strlen(missing)) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(errors), ":0: cannot open"));
	buf_destroy(&errors);
    }
    /* Two problems in one file are both reported. */
    {
	struct buf *errors = buf_create(64, 0);
	char   *want = mem_printf("%s:1: unknown placeholder {{a}}\n"
				  "%s:4: unknown placeholder {{b}}\n", path, path);

	write_file(path, "Subject: {{a}}\n\nx\n{{b}}\n", 24);
	CU_ASSERT_EQUAL(strlen("Subject: {{a}}\n\nx\n{{b}}\n"), 24);
	CU_ASSERT_PTR_NULL(notify_template_load(path, errors));
	CU_ASSERT_STRING_EQUAL(buf_data(errors), want);
	mem_free(want);
	buf_destroy(&errors);
    }
    mem_free(path);
    mem_free(missing);
}

/* copy_templates - the shipped templates into dir, one replaced */

static void copy_templates(const char *dir, const char *broken_lang,
			           const char *broken_kind, const char *text)
{
    for (int l = 0; l < NOTIFY_LANG_COUNT; l++) {
	char   *sub = mem_printf("%s/%s", dir, notify_lang_name(l));

	mkdir(dir, 0700);
	mkdir(sub, 0700);
	for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
	    char   *src = mem_printf("%s/%s/%s.txt", templates, notify_lang_name(l),
				     notify_kind_name(k));
	    char   *dst = mem_printf("%s/%s.txt", sub, notify_kind_name(k));
	    gchar  *data = 0;
	    gsize   len = 0;

	    if (broken_lang && strcmp(broken_lang, notify_lang_name(l)) == 0
		&& strcmp(broken_kind, notify_kind_name(k)) == 0) {
		if (text)
		    write_file(dst, text, strlen(text));
	    } else if (g_file_get_contents(src, &data, &len, 0)) {
		write_file(dst, data, len);
		g_free(data);
	    }
	    mem_free(src);
	    mem_free(dst);
	}
	mem_free(sub);
    }
}

static void test_shipped_templates(void)
{
    char   *errors = 0;
    char   *dir = mem_printf("%s/tpl-missing", root);
    char   *dir2 = mem_printf("%s/tpl-broken", root);
    char   *text;
    struct conf *c;
    struct notify *n;

    /* The shipped set is complete and valid. */
    CU_ASSERT_EQUAL(notify_templates_check(templates, &errors), 0);
    if (errors)
	fprintf(stderr, "%s", errors);
    mem_free(errors);
    errors = 0;

    /* A missing file is a load-time error naming it. */
    copy_templates(dir, "en", "lock", 0);
    CU_ASSERT_EQUAL(notify_templates_check(dir, &errors), -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errors);
    CU_ASSERT_PTR_NOT_NULL(strstr(errors, "/en/lock.txt:0: cannot open"));
    mem_free(errors);
    errors = 0;

    /* notify_create refuses a broken template and says where. */
    copy_templates(dir2, "fr", "move", "Subject: x\n\nok\n{{ticket.queue}} {{ticket.qeue}}\n");
    text = mem_printf("[postdesk]\ndomain = desk.example.org\ntemplates_dir = %s\n"
		      "[queue Q]\naddresses = q@example.org\ngroup = g\n", dir2);
    c = load_conf("broken.conf", text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    n = notify_create(c, sigaddr_key_create(key_bytes, sizeof(key_bytes), 0), &errors);
    CU_ASSERT_PTR_NULL(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errors);
    {
	char   *want = mem_printf("%s/fr/move.txt:4: unknown placeholder {{ticket.qeue}}\n",
				  dir2);

	CU_ASSERT_STRING_EQUAL(errors, want);
	mem_free(want);
    }
    mem_free(errors);
    conf_unref(&c);
    mem_free(text);
    mem_free(dir);
    mem_free(dir2);
}

static void test_render(void)
{
    static const char *vals_init[NOTIFY_VAR_COUNT];
    const char *vals[NOTIFY_VAR_COUNT];
    char   *path = mem_printf("%s/r.txt", root);
    struct buf *errors = buf_create(64, 0);
    struct notify_template *t;
    char   *subject, *body;
    char   *title = 0;
    struct buf *long_title = buf_create(256, 0);

    for (int i = 0; i < 30; i++)
	buf_append_str(long_title, "é");	/* 30 two-byte chars */
    for (int i = 0; i < 100; i++)
	buf_append_char(long_title, 'a' + i % 26);
    title = buf_steal(long_title, 0);
    buf_destroy(&long_title);
    memcpy(vals, vals_init, sizeof(vals));
    vals[NOTIFY_VAR_TICKET_TITLE] = title;
    vals[NOTIFY_VAR_TICKET_QUEUE] = "Réseau\r\nBcc: x@y";
    vals[NOTIFY_VAR_ARTICLE_BODY] = "Première ligne\r\nDeuxième ligne\n\x1b[1m";
    {
	static const char text[] = "Subject: Ticket {{ticket.queue}} : {{ticket.title}}\n\n"
	    "File : {{ticket.queue}}\nTitre : {{ticket.title}}\n{{article.body}}|"
	    "{{ticket.type}}|\n";

	write_file(path, text, strlen(text));
    }
    t = notify_template_load(path, errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    notify_template_render(t, vals, &subject, &body);
    /* Subject: no control characters, the title cut at 100 characters. */
    CU_ASSERT_PTR_NULL(strpbrk(subject, "\r\n\x1b"));
    {
	char   *cut = notify_title_cut(title, 100);
	char   *want = mem_printf("Ticket Réseau  Bcc: x@y : %s", cut);

	CU_ASSERT_STRING_EQUAL(subject, want);
	CU_ASSERT_EQUAL(g_utf8_strlen(cut, -1), 106);
	CU_ASSERT(g_str_has_suffix(cut, "r [...]"));	/* the 70th letter */
	CU_ASSERT(g_str_has_prefix(cut, "éé"));
	mem_free(want);
	mem_free(cut);
    }
    /* Body: the whole title, no CR, no escape, values otherwise kept. */
    CU_ASSERT_PTR_NOT_NULL(strstr(body, title));
    CU_ASSERT_PTR_NULL(strchr(body, '\r'));
    CU_ASSERT_PTR_NULL(strchr(body, '\x1b'));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "Première ligne\nDeuxième ligne\n [1m||"));
    /* A short title is not cut. */
    {
	char   *same = notify_title_cut("Imprimante en panne", 100);

	CU_ASSERT_STRING_EQUAL(same, "Imprimante en panne");
	mem_free(same);
    }
    mem_free(subject);
    mem_free(body);
    notify_template_free(&t);
    buf_destroy(&errors);
    mem_free(title);
    mem_free(path);
}

/*
 * Composed messages.
 */

/* a_ticket - a ticket with one customer article */

static void a_ticket(struct store_ticket *t, struct store_article *art,
		             const char *title)
{
    static struct store_attachment atts[2] = {
	{"rapport d'été.pdf", "application/pdf", 123456},
	{"photo.jpg", "image/jpeg", 2048},
    };

    memset(t, 0, sizeof(*t));
    memset(art, 0, sizeof(*art));
    strcpy(t->number, "2026112710000017");
    t->title = (char *) title;
    t->queue = "Helpdesk";
    t->state = "new";
    t->priority = 3;
    t->type = "Incident";
    t->customer = "marie.dupont@example.com";
    art->index = 1;
    art->from = "Marie Dupont <marie.dupont@example.com>";
    art->message_id = "req-1@mail.example.com";
    art->body = "L'imprimante du 2e étage est en panne.\nMerci !";
    art->received = now;
    art->attachments = atts;
    art->n_attachments = 2;
    t->articles = art;
    t->n_articles = 1;
}

/* a_message - a customer mail as ingest makes it */

static void a_message(struct store_message *m, const char *from, const char *mid)
{
    memset(m, 0, sizeof(*m));
    m->log_id = "TESTID";
    m->recipient = "helpdesk+urgent@example.org";
    m->queue = "Helpdesk";
    m->default_type = "Incident";
    m->sender = from;
    m->from = from;
    m->from_header = "=?utf-8?q?x?= broken <x@y>";
    m->to = "helpdesk@example.org";
    m->cc = "";
    m->subject = "Imprimante en panne";
    m->title = "Imprimante en panne";
    m->message_id = mid;
    m->content_language = "";
    m->body = "L'imprimante est en panne.";
    m->raw = "From: x\r\n\r\nbody\r\n";
    m->raw_len = strlen(m->raw);
    m->received = now;
}

static void test_compose_ack(void)
{
    struct notify *n = notify_create(conf, 0, 0);
    struct store_ticket t;
    struct store_article art;
    struct store_message m;
    struct notify_mail mail;
    GMimeMessage *g;
    InternetAddressList *list;
    char   *text;
    char   *want;

    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    a_ticket(&t, &art, "Imprimante en panne au 2e étage");
    a_message(&m, "marie.dupont@example.com", "req-1@mail.example.com");
    m.from_header = "Marie Dupont-Éléonore <marie.dupont@example.com>";
    CU_ASSERT_EQUAL_FATAL(notify_compose_ack(n, conf, &m, &t, now, &mail), 0);
    CU_ASSERT(headers_clean(mail.data, mail.len));
    CU_ASSERT(!bare_lf(mail.data, mail.len));
    CU_ASSERT_STRING_EQUAL(mail.rcpt, "marie.dupont@example.com");
    CU_ASSERT_STRING_EQUAL(mail.subject,
			   "[Ticket#2026112710000017] Imprimante en panne au 2e étage");
    CU_ASSERT(g_str_has_prefix(mail.message_id, "2026112710000017.ack."));
    CU_ASSERT(g_str_has_suffix(mail.message_id, "@desk.example.org"));
    g = parse_mail(mail.data, mail.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT(only_known_headers(g));
    CU_ASSERT_STRING_EQUAL(g_mime_message_get_subject(g), mail.subject);
    CU_ASSERT_PTR_NOT_NULL(strstr(mail.data, "\r\nSubject: [Ticket#2026112710000017]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mail.data, " =?UTF-8?Q?Imprimante_en_panne_au_2e_=C3=A9tage?=\r\n"));
    CU_ASSERT_STRING_EQUAL(g_mime_message_get_message_id(g), mail.message_id);
    CU_ASSERT_STRING_EQUAL(header(g, "Auto-Submitted"), "auto-replied");
    CU_ASSERT_STRING_EQUAL(header(g, "X-Postdesk-Loop"), "desk.example.org");
    CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "<req-1@mail.example.com>");
    CU_ASSERT_STRING_EQUAL(header(g, "References"), "<req-1@mail.example.com>");
    CU_ASSERT_STRING_EQUAL(header(g, "MIME-Version"), "1.0");
    {
	GMimeObject *part = g_mime_message_get_mime_part(g);
	const char *ct = g_mime_object_get_header(part, "Content-Type");

	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	CU_ASSERT_PTR_NOT_NULL(strstr(ct, "text/plain"));
	CU_ASSERT_PTR_NOT_NULL(strcasestr(ct, "charset=utf-8"));
    }
    CU_ASSERT_PTR_NOT_NULL(g_mime_message_get_date(g));
    /* From: the queue address that received it (no +extension), the
       queue's name; To: the requester with the decoded name. */
    list = g_mime_message_get_from(g);
    CU_ASSERT_EQUAL_FATAL(internet_address_list_length(list), 1);
    CU_ASSERT_STRING_EQUAL(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
		      internet_address_list_get_address(list, 0))), "helpdesk@example.org");
    CU_ASSERT_STRING_EQUAL(internet_address_get_name(internet_address_list_get_address(list, 0)),
			   "Helpdesk");
    list = g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_TO);
    CU_ASSERT_STRING_EQUAL(internet_address_get_name(internet_address_list_get_address(list, 0)),
			   "Marie Dupont-Éléonore");
    CU_ASSERT_PTR_NOT_NULL(strstr(mail.data, "To: =?UTF-8?Q?Marie_Dupont-=C3=89l=C3=A9onore?="));
    CU_ASSERT_STRING_EQUAL(header(g, "Reply-To"), "");
    /* French by default, with its accents intact. */
    text = body_of(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Bonjour Marie Dupont-Éléonore,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "numéro de ticket 2026112710000017"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "service Helpdesk"));
    g_free(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(mail.data, "Content-Transfer-Encoding: quoted-printable"));
    g_object_unref(g);
    notify_mail_free(&mail);

    /* English when the mail says so; the name falls back to the address. */
    m.content_language = "en-gb";
    m.from_header = "marie.dupont@example.com";
    m.message_id = "";
    CU_ASSERT_EQUAL_FATAL(notify_compose_ack(n, conf, &m, &t, now, &mail), 0);
    g = parse_mail(mail.data, mail.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    text = body_of(g);
    want = mem_printf("Hello marie.dupont@example.com,");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    mem_free(want);
    g_free(text);
    CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "");	/* none to answer */
    CU_ASSERT_STRING_EQUAL(header(g, "References"), "");
    g_object_unref(g);
    notify_mail_free(&mail);

    /* A long title is cut in the Subject, and decodes back exactly. */
    {
	struct buf *b = buf_create(256, 0);
	char   *long_title, *cut, *want_subject;

	for (int i = 0; i < 12; i++)
	    buf_append_str(b, "Problème réseau ");	/* 16 chars each */
	long_title = buf_steal(b, 0);
	buf_destroy(&b);
	a_ticket(&t, &art, long_title);
	m.content_language = "fr";
	CU_ASSERT_EQUAL_FATAL(notify_compose_ack(n, conf, &m, &t, now, &mail), 0);
	cut = notify_title_cut(long_title, 100);
	want_subject = mem_printf("[Ticket#2026112710000017] %s", cut);
	CU_ASSERT_STRING_EQUAL(mail.subject, want_subject);
	g = parse_mail(mail.data, mail.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_STRING_EQUAL(g_mime_message_get_subject(g), want_subject);
	if (strcmp(g_mime_message_get_subject(g), want_subject) != 0)
	    fprintf(stderr, "subject \"%s\"\n   want \"%s\"\n%s",
		    g_mime_message_get_subject(g), want_subject, mail.data);
	CU_ASSERT(headers_clean(mail.data, mail.len));
	/* Folded lines stay under 78 characters. */
	{
	    const char *end = strstr(mail.data, "\r\n\r\n");

	    for (const char *p = mail.data; p < end;) {
		const char *eol = strstr(p, "\r\n");

		CU_ASSERT(eol - p <= 78);
		p = eol + 2;
	    }
	}
	/* The body has the whole title. */
	text = body_of(g);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, long_title));
	g_free(text);
	g_object_unref(g);
	notify_mail_free(&mail);
	mem_free(cut);
	mem_free(want_subject);
	mem_free(long_title);
    }
    notify_unref(&n);
    CU_ASSERT_PTR_NULL(n);
}

static void test_compose_agent(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 3);
    struct notify *n = notify_create(conf, key, 0);
    const struct conf_agent *bob = conf_agent_find(conf, "bob");
    const struct conf_agent *elodie = conf_agent_find(conf, "elodie");
    struct store_ticket t;
    struct store_article art;
    struct notify_event ev;
    struct notify_mail mail;
    GMimeMessage *g;
    InternetAddressList *list;
    char   *text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bob);
    CU_ASSERT_PTR_NOT_NULL_FATAL(elodie);
    a_ticket(&t, &art, "Imprimante en panne");
    t.revision = 0x12345;			/* the token keeps 16 bits */
    memset(&ev, 0, sizeof(ev));
    ev.type = NOTIFY_NEW_TICKET;
    ev.number = t.number;
    ev.article = 1;

    /* French, to an agent with a non-ASCII name. */
    CU_ASSERT_EQUAL_FATAL(notify_compose_agent(n, conf, &t, &art, &ev, elodie, now,
					       &mail), 0);
    CU_ASSERT_STRING_EQUAL(mail.rcpt, "elodie@example.org");
    CU_ASSERT_STRING_EQUAL(mail.subject,
			   "[Ticket#2026112710000017] Nouveau ticket : Imprimante en panne");
    CU_ASSERT(headers_clean(mail.data, mail.len));
    CU_ASSERT(!bare_lf(mail.data, mail.len));
    g = parse_mail(mail.data, mail.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT(only_known_headers(g));
    CU_ASSERT_STRING_EQUAL(g_mime_message_get_subject(g), mail.subject);
    CU_ASSERT_STRING_EQUAL(header(g, "Auto-Submitted"), "auto-generated");
    CU_ASSERT_STRING_EQUAL(header(g, "X-Postdesk-Loop"), "desk.example.org");
    CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "<req-1@mail.example.com>");
    CU_ASSERT(g_str_has_prefix(mail.message_id, "2026112710000017.new-ticket."));
    list = g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_TO);
    CU_ASSERT_STRING_EQUAL(internet_address_get_name(internet_address_list_get_address(list, 0)),
			   "Élodie Müller");
    CU_ASSERT_PTR_NOT_NULL(strstr(mail.data, "To: =?UTF-8?Q?=C3=89lodie_M=C3=BCller?="));
    list = g_mime_message_get_from(g);
    CU_ASSERT_STRING_EQUAL(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
		      internet_address_list_get_address(list, 0))), "desk@desk.example.org");
    /* The signed Reply-To verifies, for this agent and ticket. */
    list = g_mime_message_get_reply_to(g);
    CU_ASSERT_EQUAL_FATAL(internet_address_list_length(list), 1);
    {
	const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
				      internet_address_list_get_address(list, 0)));
	char    token[SIGADDR_TOKEN_LEN + 1];
	struct sigaddr_claims claims;

	CU_ASSERT_EQUAL_FATAL(sigaddr_match(addr, "desk", "desk.example.org", token), 1);
	CU_ASSERT_EQUAL(sigaddr_verify(key, token, now, 30, &claims), SIGADDR_OK);
	CU_ASSERT_EQUAL(claims.agent_id, sigaddr_agent_id("elodie"));
	CU_ASSERT_EQUAL(claims.ticket, 2026112710000017ULL);
	CU_ASSERT_EQUAL(claims.key_epoch, 3);
	CU_ASSERT_EQUAL(claims.issue_day, sigaddr_day(now));
	CU_ASSERT_EQUAL(claims.revision, 0x2345);
    }
    text = body_of(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Bonjour Élodie Müller,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Priorité     : 3 (normale)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Demandeur    : marie.dupont@example.com"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "L'imprimante du 2e étage est en panne.\nMerci !"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "- rapport d'été.pdf (application/pdf, 121 KB)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "#queue NOM"));
    {
	/* The quote header gives the date the mail was received. */
	struct tm tm;
	char    date[64], *want;

	localtime_r(&art.received, &tm);
	strftime(date, sizeof(date), "Le %d/%m/%Y à %H:%M, ", &tm);
	want = mem_printf("%sMarie Dupont <marie.dupont@example.com> a écrit :", date);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
	mem_free(want);
    }
    g_free(text);
    g_object_unref(g);
    notify_mail_free(&mail);

    /* English for bob; the received date, not the ticket's creation. */
    art.received = now - 3 * 86400;
    t.created = now - 10 * 86400;
    ev.type = NOTIFY_FOLLOW_UP;
    CU_ASSERT_EQUAL_FATAL(notify_compose_agent(n, conf, &t, &art, &ev, bob, now,
					       &mail), 0);
    CU_ASSERT_STRING_EQUAL(mail.rcpt, "bob@example.org");
    CU_ASSERT_STRING_EQUAL(mail.subject,
			   "[Ticket#2026112710000017] Follow-up: Imprimante en panne");
    g = parse_mail(mail.data, mail.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    text = body_of(g);
    {
	struct tm tm;
	char    date[64];

	localtime_r(&art.received, &tm);
	strftime(date, sizeof(date), "On %Y-%m-%d %H:%M, Marie Dupont", &tm);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, date));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Priority  : 3 (normal)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "#queue NAME"));
    g_free(text);
    g_object_unref(g);
    notify_mail_free(&mail);

    /* The lock notification has the title and no article content. */
    ev.type = NOTIFY_LOCK;
    ev.actor = "alice";
    CU_ASSERT_EQUAL_FATAL(notify_compose_agent(n, conf, &t, &art, &ev, elodie, now,
					       &mail), 0);
    CU_ASSERT_STRING_EQUAL(mail.subject,
			   "[Ticket#2026112710000017] Ticket verrouillé : Imprimante en panne");
    CU_ASSERT_PTR_NULL(strstr(mail.body, "imprimante du 2e"));
    CU_ASSERT_PTR_NULL(strstr(mail.body, "rapport"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mail.body, "Imprimante en panne"));
    g = parse_mail(mail.data, mail.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "");
    g_object_unref(g);
    notify_mail_free(&mail);

    /* Without a key there is no Reply-To. */
    notify_unref(&n);
    n = notify_create(conf, 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    ev.type = NOTIFY_MOVE;
    CU_ASSERT_EQUAL_FATAL(notify_compose_agent(n, conf, &t, &art, &ev, bob, now,
					       &mail), 0);
    CU_ASSERT_PTR_NULL(strstr(mail.data, "\nReply-To:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mail.data, "\nIn-Reply-To:"));
    notify_mail_free(&mail);
    notify_unref(&n);
}

/* test_hostile - CR/LF in titles, names and ids never make a header */

static void test_hostile(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 0);
    struct notify *n = notify_create(conf, key, 0);
    static const char *const titles[] = {
	"Panne\r\nBcc: evil@example.net",
	"Panne\nBcc: evil@example.net",
	"Panne\rBcc: evil@example.net",
	"\r\n\r\nBcc: evil@example.net\r\n\r\nbody",
	"Panne =?utf-8?q?=0D=0ABcc:_evil@example.net?=",
	"Panne\x00ignored",
    };
    struct store_ticket t;
    struct store_article art;
    struct store_message m;
    struct notify_event ev;
    struct notify_mail mail;
    const struct conf_agent *alice = conf_agent_find(conf, "alice");

    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
	GMimeMessage *g;

	a_ticket(&t, &art, titles[i]);
	t.queue = "Helpdesk\r\nBcc: q@example.net";
	t.state = "new\nBcc: s@example.net";
	art.from = "Evil\r\nBcc: f@example.net <e@example.net>";
	art.message_id = "x@y>\r\nBcc: m@example.net";
	a_message(&m, "marie@example.com", "a@b>\r\nBcc: i@example.net");
	m.from_header = "\"Evil\r\nBcc: n@example.net\" <marie@example.com>";
	CU_ASSERT_EQUAL_FATAL(notify_compose_ack(n, conf, &m, &t, now, &mail), 0);
	g = parse_mail(mail.data, mail.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT(only_known_headers(g));
	CU_ASSERT(headers_clean(mail.data, mail.len));
	CU_ASSERT_PTR_NULL(strpbrk(g_mime_message_get_subject(g), "\r\n"));
	CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "");
	/* An encoded-word lookalike in the title stays literal text. */
	if (i == 4)
	    CU_ASSERT_PTR_NOT_NULL(strstr(g_mime_message_get_subject(g),
				  "Panne =?utf-8?q?=0D=0ABcc:_evil@example.net?="));
	g_object_unref(g);
	notify_mail_free(&mail);

	memset(&ev, 0, sizeof(ev));
	ev.type = NOTIFY_NEW_TICKET;
	ev.number = t.number;
	ev.article = 1;
	CU_ASSERT_EQUAL_FATAL(notify_compose_agent(n, conf, &t, &art, &ev, alice, now,
						   &mail), 0);
	g = parse_mail(mail.data, mail.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT(only_known_headers(g));
	CU_ASSERT(headers_clean(mail.data, mail.len));
	CU_ASSERT_PTR_NULL(strpbrk(g_mime_message_get_subject(g), "\r\n"));
	CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "");
	CU_ASSERT_EQUAL(internet_address_list_length(
			g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_TO)), 1);
	CU_ASSERT_EQUAL(internet_address_list_length(
			g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_BCC)), 0);
	CU_ASSERT_EQUAL(internet_address_list_length(
			g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_CC)), 0);
	g_object_unref(g);
	notify_mail_free(&mail);
    }
    /* A From: address with CR/LF is never answered. */
    a_ticket(&t, &art, "x");
    a_message(&m, "marie@example.com\r\nBcc: evil@example.net", "a@b");
    CU_ASSERT_EQUAL(notify_compose_ack(n, conf, &m, &t, now, &mail), -1);
    notify_mail_free(&mail);
    notify_unref(&n);
}

/*
 * In a real store.
 */

struct world {
    struct store *store;
    struct notify *notify;
    struct sigaddr_key *key;		/* borrowed from notify */
};

static int world_open(struct world *w, const char *name, struct conf *c)
{
    char   *dir = mem_printf("%s/%s", root, name);
    char   *error = 0;
    int     rc;

    memset(w, 0, sizeof(*w));
    rc = store_open(dir, &w->store, &error);
    if (rc != STORE_OK)
	fprintf(stderr, "store_open: %s\n", error ? error : "?");
    mem_free(error);
    mem_free(dir);
    w->key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 0);
    w->notify = notify_create(c, w->key, 0);
    return (rc == STORE_OK && w->notify ? 0 : -1);
}

static void world_close(struct world *w)
{
    store_close(&w->store);
    notify_unref(&w->notify);
}

/* deliver - one message through store_deliver and notify_ingest */

static int deliver(struct world *w, struct conf *c, const struct store_message *m,
		           struct store_result *res, size_t *queued)
{
    struct store_batch *b = 0;
    int     rc;

    if ((rc = store_batch_begin(w->store, &b)) != STORE_OK)
	return (rc);
    if ((rc = store_deliver(b, c, m, res)) == STORE_OK)
	rc = notify_ingest(w->notify, b, c, m, res, now, queued);
    if (rc != STORE_OK) {
	store_batch_abort(&b);
	return (rc);
    }
    return (store_batch_commit(&b));
}

/* due - the pending rows with data */

static size_t due(struct world *w, struct store_outbox_item **items)
{
    size_t  n = 0;

    *items = 0;
    CU_ASSERT_EQUAL(store_outbox_due(w->store, time(0) + 60, 1000, items, &n), STORE_OK);
    return (n);
}

/* find_row - the row to rcpt of kind, or NULL */

static struct store_outbox_item *find_row(struct store_outbox_item *items, size_t n,
					          const char *kind, const char *rcpt)
{
    for (size_t i = 0; i < n; i++)
	if (strcmp(items[i].kind, kind) == 0 && items[i].n_recipients == 1
	    && strcmp(items[i].recipients[0], rcpt) == 0)
	    return (items + i);
    return (0);
}

static void test_ingest_new_ticket(void)
{
    struct world w;
    struct store_message m;
    struct store_result res;
    struct store_outbox_item *items;
    struct store_outbox_item *row;
    struct store_ticket *t = 0;
    size_t  queued = 0, n;
    static const char *const agents[] = {"alice", "carol", "gina"};

    CU_ASSERT_EQUAL_FATAL(world_open(&w, "s-new", conf), 0);
    a_message(&m, "marie.dupont@example.com", "req-1@mail.example.com");
    m.from_header = "Marie Dupont <marie.dupont@example.com>";
    m.subject = m.title = "Écran noir au secrétariat";
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
    CU_ASSERT_EQUAL(res.outcome, STORE_OUTCOME_NEW_TICKET);
    /* one acknowledgement + alice, carol, gina (dave away, hank none) */
    CU_ASSERT_EQUAL(queued, 4);
    n = due(&w, &items);
    CU_ASSERT_EQUAL(n, 4);

    row = find_row(items, n, "ack", "marie.dupont@example.com");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_STRING_EQUAL(row->envelope_from, "");
    CU_ASSERT_STRING_EQUAL(row->number, res.number);
    {
	GMimeMessage *g = parse_mail(row->data, row->len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_STRING_EQUAL(header(g, "Auto-Submitted"), "auto-replied");
	CU_ASSERT_STRING_EQUAL(header(g, "X-Postdesk-Loop"), "desk.example.org");
	CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "<req-1@mail.example.com>");
	CU_ASSERT_STRING_EQUAL(g_mime_message_get_message_id(g), row->message_id);
	CU_ASSERT(g_str_has_suffix(g_mime_message_get_subject(g),
				   "] Écran noir au secrétariat"));
	g_object_unref(g);
    }
    for (size_t i = 0; i < 3; i++) {
	char   *rcpt = mem_printf("%s@example.org", agents[i]);
	GMimeMessage *g;
	InternetAddressList *list;

	row = find_row(items, n, "new-ticket", rcpt);
	mem_free(rcpt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(row);
	CU_ASSERT_STRING_EQUAL(row->envelope_from, "");
	g = parse_mail(row->data, row->len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_STRING_EQUAL(header(g, "Auto-Submitted"), "auto-generated");
	CU_ASSERT_STRING_EQUAL(header(g, "X-Postdesk-Loop"), "desk.example.org");
	CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "<req-1@mail.example.com>");
	list = g_mime_message_get_reply_to(g);
	CU_ASSERT_EQUAL_FATAL(internet_address_list_length(list), 1);
	{
	    const char *addr = internet_address_mailbox_get_addr(
		 INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(list, 0)));
	    char    token[SIGADDR_TOKEN_LEN + 1];
	    struct sigaddr_claims claims;

	    CU_ASSERT_EQUAL_FATAL(sigaddr_match(addr, "desk", "desk.example.org", token), 1);
	    CU_ASSERT_EQUAL(sigaddr_verify(w.key, token, now, 30, &claims), SIGADDR_OK);
	    CU_ASSERT_EQUAL(claims.agent_id, sigaddr_agent_id(agents[i]));
	    CU_ASSERT_EQUAL(claims.ticket, strtoull(res.number, 0, 10));
	}
	g_object_unref(g);
    }
    store_outbox_items_free(&items, n);

    /* The acknowledgement is a seen system article of the ticket. */
    CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, res.number, &t), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(t->n_articles, 2);
    CU_ASSERT_EQUAL(t->articles[1].sender_type, STORE_SENDER_SYSTEM);
    CU_ASSERT_EQUAL(t->articles[1].channel, STORE_CHANNEL_EMAIL);
    CU_ASSERT_EQUAL(t->articles[1].seen, 1);
    CU_ASSERT_EQUAL(t->articles[1].visible_to_customer, 1);
    CU_ASSERT(g_str_has_prefix(t->articles[1].message_id, res.number));
    CU_ASSERT_PTR_NOT_NULL(strstr(t->articles[1].from, "helpdesk@example.org"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t->articles[1].body, res.number));
    store_ticket_free(&t);

    /* A follow-up: no acknowledgement, the subscribers who want it. */
    {
	struct store_message f;
	struct store_result res2;
	char    ref[32];

	snprintf(ref, sizeof(ref), "%s", res.number);
	a_message(&f, "marie.dupont@example.com", "req-2@mail.example.com");
	f.ticket_ref = ref;
	f.raw = "From: y\r\n\r\nsecond\r\n";
	f.raw_len = strlen(f.raw);
	CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &f, &res2, &queued), STORE_OK);
	CU_ASSERT_EQUAL(res2.outcome, STORE_OUTCOME_FOLLOW_UP);
	CU_ASSERT_EQUAL(queued, 2);		/* alice, gina */
	n = due(&w, &items);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT_PTR_NOT_NULL(find_row(items, n, "follow-up", "alice@example.org"));
	CU_ASSERT_PTR_NOT_NULL(find_row(items, n, "follow-up", "gina@example.org"));
	row = find_row(items, n, "follow-up", "alice@example.org");
	if (row) {
	    GMimeMessage *g = parse_mail(row->data, row->len);

	    CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "<req-2@mail.example.com>");
	    g_object_unref(g);
	}
	store_outbox_items_free(&items, n);

	/* The same mail again is a duplicate: nothing. */
	CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &f, &res2, &queued), STORE_OK);
	CU_ASSERT_EQUAL(res2.outcome, STORE_OUTCOME_DUPLICATE);
	CU_ASSERT_EQUAL(queued, 0);
    }

    /* notify_event: a note, with watchers and informed agents. */
    {
	static const char *const watchers[] = {"gina", "dave"};
	static const char *const informed[] = {"erin", "frank"};
	struct store_batch *b = 0;
	struct notify_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = NOTIFY_NEW_NOTE;
	ev.number = res.number;
	ev.actor = "alice";
	ev.article = 1;
	ev.watchers = watchers;
	ev.n_watchers = 2;
	ev.informed = informed;
	ev.n_informed = 2;
	CU_ASSERT_EQUAL_FATAL(store_batch_begin(w.store, &b), STORE_OK);
	CU_ASSERT_EQUAL(notify_event(w.notify, b, conf, &ev, now, &queued), STORE_OK);
	CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
	CU_ASSERT_EQUAL(queued, 2);		/* gina, erin */
	n = due(&w, &items);
	CU_ASSERT_PTR_NOT_NULL(find_row(items, n, "new-note", "gina@example.org"));
	CU_ASSERT_PTR_NOT_NULL(find_row(items, n, "new-note", "erin@example.org"));
	store_outbox_items_free(&items, n);

	/* An event on a ticket that does not exist writes nothing. */
	ev.number = "2026112710000099";
	CU_ASSERT_EQUAL_FATAL(store_batch_begin(w.store, &b), STORE_OK);
	CU_ASSERT_EQUAL(notify_event(w.notify, b, conf, &ev, now, &queued), STORE_OK);
	CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
	CU_ASSERT_EQUAL(queued, 0);
    }
    world_close(&w);
}

static void test_ingest_no_ack(void)
{
    struct world w;
    struct store_message m;
    struct store_result res;
    struct store_outbox_item *items;
    size_t  queued = 0, n;
    char    mid[64];

    logged = buf_create(256, 0);
    log_set_capture(capture, 0);
    CU_ASSERT_EQUAL_FATAL(world_open(&w, "s-noack", conf), 0);

    /* automatic mail: a ticket and the agents' mail, no acknowledgement */
    a_message(&m, "marie@example.com", "auto-1@example.com");
    m.automatic = 1;
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
    CU_ASSERT_EQUAL(res.outcome, STORE_OUTCOME_NEW_TICKET);
    CU_ASSERT_EQUAL(queued, 3);
    n = due(&w, &items);
    CU_ASSERT_EQUAL(n, 3);
    for (size_t i = 0; i < n; i++)
	CU_ASSERT_STRING_NOT_EQUAL(items[i].kind, "ack");
    store_outbox_items_free(&items, n);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(logged),
		 "TESTID: no acknowledgement to <marie@example.com>: automatic"));

    /* our own loop header, a robot, a postdesk address: no ack either */
    a_message(&m, "marie@example.com", "loop-1@example.com");
    m.own_loop = 1;
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
    CU_ASSERT_EQUAL(queued, 3);
    a_message(&m, "no-reply@example.com", "robot-1@example.com");
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
    CU_ASSERT_EQUAL(queued, 3);
    a_message(&m, "network@example.org", "pd-1@example.com");
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
    CU_ASSERT_EQUAL(queued, 3);

    /* rate limit: auto_ack_limit = 3 per sender per 24 h */
    for (int i = 0; i < 4; i++) {
	snprintf(mid, sizeof(mid), "rate-%d@example.com", i);
	a_message(&m, "paul@example.com", mid);
	m.raw = mid;
	m.raw_len = strlen(mid);
	CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
	CU_ASSERT_EQUAL(res.outcome, STORE_OUTCOME_NEW_TICKET);
	CU_ASSERT_EQUAL(queued, i < 3 ? 4 : 3);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(logged),
		  "TESTID: no acknowledgement to <paul@example.com>: rate limit"));
    {
	struct store_ticket *t = 0;

	/* The 4th ticket exists, without an acknowledgement article. */
	CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, res.number, &t), STORE_OK);
	CU_ASSERT_EQUAL(t->n_articles, 1);
	store_ticket_free(&t);
    }
    n = due(&w, &items);
    {
	size_t  acks = 0;

	for (size_t i = 0; i < n; i++)
	    acks += strcmp(items[i].kind, "ack") == 0;
	CU_ASSERT_EQUAL(acks, 3);
    }
    store_outbox_items_free(&items, n);
    log_set_capture(0, 0);
    buf_destroy(&logged);
    world_close(&w);
}

/*
 * Watchers (the ticket's), inactive agents.
 */

static void test_recipients_watchers(void)
{
    static const char *const w_erin[] = {"erin", 0};
    static const char *const w_adf[] = {"alice", "dave", "frank", 0};
    static const char *const w_gina[] = {"gina", "GINA", 0};
    static const char *const w_ac[] = {"alice", "carol", 0};
    static const char *const w_eg[] = {"erin", "Gina", 0};
    static const char *const w_af[] = {"alice", "frank", 0};
    static const char *const w_ivan[] = {"ivan", "erin", 0};
    static const char *const w_ghost[] = {"nobody", 0};
    static const struct {
	enum notify_event_type type;
	const char *queue;
	int     locked;
	const char *owner;
	const char *actor;
	const char *const *t_watchers;	/* the ticket's */
	const char *const *e_watchers;	/* the event's */
	const char *expect;
    } cases[] = {
	/* a new ticket has no watchers to tell; inactive ivan never */
	{NOTIFY_NEW_TICKET, "Helpdesk", 0, 0, 0, w_erin, 0, "alice,carol,gina"},
	{NOTIFY_NEW_TICKET, "Network", 0, 0, 0, 0, 0, "alice,bob"},
	/* follow-up: the subscribers or the owner, and the watchers */
	{NOTIFY_FOLLOW_UP, "Helpdesk", 0, 0, 0, w_erin, 0, "alice,erin,gina"},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "erin", 0, w_adf, 0, "alice,erin"},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "erin", "alice", w_adf, 0, "erin"},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "erin", 0, w_ivan, 0, "erin"},
	{NOTIFY_FOLLOW_UP, "Helpdesk", 1, "erin", 0, w_ghost, 0, "erin"},
	/* new note: the ticket's and the event's watchers, each once */
	{NOTIFY_NEW_NOTE, "Helpdesk", 1, "erin", "alice", w_gina, w_gina, "erin,gina"},
	{NOTIFY_NEW_NOTE, "Helpdesk", 0, 0, "alice", w_erin, 0, "erin"},
	{NOTIFY_NEW_NOTE, "Helpdesk", 0, 0, "alice", 0, w_erin, "erin"},
	{NOTIFY_NEW_NOTE, "Helpdesk", 0, 0, "erin", w_erin, w_erin, ""},
	/* lock, owner: the owner and the watchers (carol: no lock mail) */
	{NOTIFY_LOCK, "Helpdesk", 1, "erin", "erin", w_ac, 0, "alice"},
	{NOTIFY_LOCK, "Helpdesk", 1, "erin", "alice", w_ac, 0, "erin"},
	{NOTIFY_OWNER, "Helpdesk", 1, "gina", "alice", w_eg, 0, "erin,gina"},
	{NOTIFY_OWNER, "Helpdesk", 1, "gina", "alice", 0, w_eg, "erin,gina"},
	/* move: watchers who may work the new queue, and its subscribers */
	{NOTIFY_MOVE, "Network", 0, 0, "bob", w_af, 0, "alice,frank"},
	{NOTIFY_MOVE, "Network", 0, 0, "bob", w_erin, 0, "alice"},
	/* escalation, pending */
	{NOTIFY_ESCALATION, "Helpdesk", 1, "erin", 0, w_ac, 0, "alice,erin"},
	{NOTIFY_ESCALATION, "Network", 0, 0, 0, w_af, 0, "alice,bob,frank"},
	{NOTIFY_PENDING, "Helpdesk", 0, 0, 0, w_erin, 0, "alice,erin,gina"},
	{NOTIFY_PENDING, "Helpdesk", 1, "gina", 0, w_adf, 0, "alice,gina"},
    };
    const struct conf_agent *out[64];
    const struct conf_agent *ivan = conf_agent_find(conf, "ivan");

    CU_ASSERT_PTR_NOT_NULL_FATAL(ivan);
    CU_ASSERT_EQUAL(ivan->active, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	struct store_ticket t;
	struct store_article art;
	struct notify_event ev;
	size_t  n;
	char   *got;

	memset(&t, 0, sizeof(t));
	memset(&art, 0, sizeof(art));
	memset(&ev, 0, sizeof(ev));
	strcpy(t.number, "2026112710000017");
	t.queue = (char *) cases[i].queue;
	t.locked = cases[i].locked;
	t.owner = (char *) cases[i].owner;
	t.watchers = (char **) cases[i].t_watchers;
	for (; t.watchers && t.watchers[t.n_watchers]; t.n_watchers++)
	     /* void */ ;
	art.index = 1;
	art.from = "Marie <marie@example.com>";
	t.articles = &art;
	t.n_articles = 1;
	ev.type = cases[i].type;
	ev.number = t.number;
	ev.actor = cases[i].actor;
	ev.article = 1;
	ev.watchers = cases[i].e_watchers;
	for (; ev.watchers && ev.watchers[ev.n_watchers]; ev.n_watchers++)
	     /* void */ ;
	n = notify_recipients(conf, &t, &ev, now, out, 64);
	got = names(out, n);
	if (strcmp(got, cases[i].expect) != 0)
	    fprintf(stderr, "watchers case %zu (%s): got \"%s\", expected \"%s\"\n",
		    i, notify_event_name(ev.type), got, cases[i].expect);
	CU_ASSERT_STRING_EQUAL(got, cases[i].expect);
	for (size_t a = 0; a < n; a++)
	    for (size_t b = a + 1; b < n; b++)
		CU_ASSERT_PTR_NOT_EQUAL(out[a], out[b]);
	mem_free(got);
    }
}

/*
 * Response templates.
 */

static void test_response_templates(void)
{
    char   *dir = mem_printf("%s/tpl-resp", root);
    char   *sub = mem_printf("%s/tpl-resp/en/responses", root);
    char   *subfr = mem_printf("%s/tpl-resp/fr/responses", root);
    char   *path, *text, *errors = 0, *want;
    struct notify *n = notify_create(conf, 0, 0);
    struct conf *c;

    /* The shipped ones, in both languages. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    for (int l = 0; l < NOTIFY_LANG_COUNT; l++)
	CU_ASSERT(n->n_responses[l] >= 4);
    CU_ASSERT_EQUAL(notify_response_exists(n, "resolved"), 1);
    CU_ASSERT_EQUAL(notify_response_exists(n, "need-info"), 1);
    CU_ASSERT_EQUAL(notify_response_exists(n, "password-reset"), 1);
    CU_ASSERT_EQUAL(notify_response_exists(n, "received"), 1);
    CU_ASSERT_EQUAL(notify_response_exists(n, "nope"), 0);
    CU_ASSERT_EQUAL(notify_response_exists(n, "Resolved"), 0);
    CU_ASSERT_EQUAL(notify_response_exists(n, "../ack"), 0);
    CU_ASSERT_EQUAL(notify_response_exists(n, ""), 0);
    CU_ASSERT_EQUAL(notify_response_exists(n, 0), 0);
    notify_unref(&n);

    /* No responses/ directory: none, and no error. */
    copy_templates(dir, 0, 0, 0);
    text = mem_printf("[postdesk]\ndomain = desk.example.org\ntemplates_dir = %s\n"
		      "[queue Q]\naddresses = q@example.org\ngroup = g\n", dir);
    c = load_conf("resp.conf", text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(notify_templates_check(dir, &errors), 0);
    n = notify_create(c, 0, &errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_EQUAL(notify_response_exists(n, "resolved"), 0);
    notify_unref(&n);

    /* One language is enough; other files are ignored. */
    mkdir(subfr, 0700);
    path = mem_printf("%s/only-fr.txt", subfr);
    write_file(path, "Subject: x\n\nBonjour {{customer.name}}\n", 37);
    mem_free(path);
    path = mem_printf("%s/README", subfr);
    write_file(path, "not a template {{\n", 18);
    mem_free(path);
    path = mem_printf("%s/.hidden.txt", subfr);
    write_file(path, "broken", 6);
    mem_free(path);
    n = notify_create(c, 0, &errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_EQUAL(notify_response_exists(n, "only-fr"), 1);
    notify_unref(&n);

    /* A broken one: FILE:LINE, in the check and at load. */
    mkdir(sub, 0700);
    path = mem_printf("%s/x.txt", sub);
    write_file(path, "Subject: x\n\nline 3 {{ticket.nope}}\n", 34);
    want = mem_printf("%s:3: unknown placeholder {{ticket.nope}}\n", path);
    CU_ASSERT_EQUAL(notify_templates_check(dir, &errors), -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errors);
    CU_ASSERT_STRING_EQUAL(errors, want);
    mem_free(errors);
    errors = 0;
    CU_ASSERT_PTR_NULL(notify_create(c, sigaddr_key_create(key_bytes,
						        sizeof(key_bytes), 0), &errors));
    CU_ASSERT_PTR_NOT_NULL_FATAL(errors);
    CU_ASSERT_STRING_EQUAL(errors, want);
    mem_free(errors);
    errors = 0;
    mem_free(want);
    remove(path);
    mem_free(path);

    /* A bad name. */
    path = mem_printf("%s/Bad_Name.txt", sub);
    write_file(path, "Subject: x\n\nok\n", 15);
    CU_ASSERT_EQUAL(notify_templates_check(dir, &errors), -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errors);
    want = mem_printf("%s:0: a response template name is", path);
    CU_ASSERT(strncmp(errors, want, strlen(want)) == 0);
    mem_free(want);
    mem_free(errors);
    errors = 0;
    remove(path);
    mem_free(path);
    CU_ASSERT_EQUAL(notify_templates_check(dir, &errors), 0);
    CU_ASSERT_EQUAL(notify_response_name_ok("a-0"), 1);
    CU_ASSERT_EQUAL(notify_response_name_ok("abcdefghijabcdefghijabcdefghijabcdefghij"), 1);
    CU_ASSERT_EQUAL(notify_response_name_ok("abcdefghijabcdefghijabcdefghijabcdefghijk"), 0);
    CU_ASSERT_EQUAL(notify_response_name_ok("a.b"), 0);
    conf_unref(&c);
    mem_free(text);
    mem_free(sub);
    mem_free(subfr);
    mem_free(dir);
}

/*
 * #confirm codes.
 */

static void test_confirm_code(void)
{
    static const unsigned char other_bytes[32] = "fedcba9876543210fedcba9876543210";
    struct notify *n = notify_create(conf, sigaddr_key_create(key_bytes,
						            sizeof(key_bytes), 0), 0);
    struct notify *other = notify_create(conf, sigaddr_key_create(other_bytes,
						            sizeof(other_bytes), 0), 0);
    struct notify *nokey = notify_create(conf, 0, 0);
    char    a[9], b[9];

    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nokey);
    notify_confirm_code(n, "alice", "2026112710000017", "2026112710000025", 2521, a);
    CU_ASSERT_EQUAL(strlen(a), 8);
    CU_ASSERT_EQUAL(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 8);
    /* Stable. */
    notify_confirm_code(n, "alice", "2026112710000017", "2026112710000025", 2521, b);
    CU_ASSERT_STRING_EQUAL(a, b);
    notify_confirm_code(n, "ALICE", "2026112710000017", "2026112710000025", 2521, b);
    CU_ASSERT_STRING_EQUAL(a, b);		/* logins are case-insensitive */
    /* Any input changes it. */
    notify_confirm_code(n, "carol", "2026112710000017", "2026112710000025", 2521, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    notify_confirm_code(n, "alice", "2026112710000018", "2026112710000025", 2521, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    notify_confirm_code(n, "alice", "2026112710000017", "2026112710000026", 2521, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    notify_confirm_code(n, "alice", "2026112710000017", "2026112710000025", 2522, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    /* The fields cannot slide into each other. */
    notify_confirm_code(n, "alice2", "026112710000017", "2026112710000025", 2521, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    notify_confirm_code(other, "alice", "2026112710000017", "2026112710000025", 2521, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    /* No key, no code. */
    strcpy(b, "XXXXXXXX");
    notify_confirm_code(nokey, "alice", "2026112710000017", "2026112710000025", 2521, b);
    CU_ASSERT_STRING_EQUAL(b, "");
    notify_unref(&n);
    notify_unref(&other);
    notify_unref(&nokey);
}

/*
 * Replies to the requester and mail to agents, in a real store.
 */

/* test_reply_check - notify_reply_check() over a table */

static void test_reply_check(void)
{
    static const struct {
	const char *customer;
	const char *queue;
	const char *why;		/* NULL: ok */
    } cases[] = {
	{"marie@example.com", "Helpdesk", 0},
	{"marie@example.com", "network", 0},
	{0, "Helpdesk", "the ticket has no requester address"},
	{"", "Helpdesk", "the ticket has no requester address"},
	{"marie dupont@example.com", "Helpdesk", "the requester's address cannot be used"},
	{"marie@example.com\r\nBcc: evil@example.net", "Helpdesk",
	    "the requester's address cannot be used"},
	{"<marie@example.com>", "Helpdesk", "the requester's address cannot be used"},
	{"marie", "Helpdesk", "the requester's address cannot be used"},
	{"support@example.org", "Helpdesk",
	    "the requester's address is one of postdesk's own"},
	{"x@desk.example.org", "Helpdesk",
	    "the requester's address is one of postdesk's own"},
	{"marie@example.com", "Gone", "the ticket's queue is not configured"},
	{"marie@example.com", 0, "the ticket's queue is not configured"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	struct store_ticket t;
	const char *why = "unset";
	int     ok;

	memset(&t, 0, sizeof(t));
	strcpy(t.number, "2026112710000017");
	t.customer = (char *) cases[i].customer;
	t.queue = (char *) cases[i].queue;
	ok = notify_reply_check(conf, &t, &why);
	CU_ASSERT_EQUAL(ok, cases[i].why == 0);
	if (cases[i].why == 0) {
	    CU_ASSERT_PTR_NULL(why);
	} else if (why == 0 || strcmp(why, cases[i].why) != 0) {
	    fprintf(stderr, "reply check case %zu: %s\n", i, why ? why : "-");
	    CU_FAIL("reason");
	}
    }
}

/* add_article - an article of the ticket, in its own batch */

static int add_article(struct world *w, const char *number,
		               enum store_sender_type type, enum store_channel ch,
		               const char *body, time_t at)
{
    struct store_batch *b = 0;
    struct store_article_input in;
    uint32_t index = 0;
    int     rc;

    memset(&in, 0, sizeof(in));
    in.sender_type = type;
    in.channel = ch;
    in.visible_to_customer = ch == STORE_CHANNEL_EMAIL;
    in.who = "erin";
    in.from = "erin@example.org";
    in.to = "";
    in.cc = "";
    in.subject = "note";
    in.message_id = "";
    in.body = body;
    in.at = at;
    if ((rc = store_batch_begin(w->store, &b)) != STORE_OK)
	return (rc);
    if ((rc = store_article_add(b, "TESTID", number, &in, &index)) != STORE_OK) {
	store_batch_abort(&b);
	return (rc);
    }
    return (store_batch_commit(&b));
}

/* reply - notify_reply_send in its own batch */

static int reply(struct world *w, struct conf *c, const struct notify_reply *r,
		         uint32_t *index, char **sent_to)
{
    struct store_batch *b = 0;
    int     rc;

    if ((rc = store_batch_begin(w->store, &b)) != STORE_OK)
	return (rc);
    if ((rc = notify_reply_send(w->notify, b, c, r, index, sent_to)) != STORE_OK) {
	store_batch_abort(&b);
	return (rc);
    }
    return (store_batch_commit(&b));
}

/* outbox_count - how many rows are pending */

static size_t outbox_count(struct world *w)
{
    struct store_outbox_item *items;
    size_t  n = due(w, &items);

    store_outbox_items_free(&items, n);
    return (n);
}

/* quote_date - the expected quote header (with the text after it) */

static char *quote_date(time_t t, int english, const char *name, const char *after)
{
    struct tm tm;
    char    day[32], hm[16];

    localtime_r(&t, &tm);
    strftime(day, sizeof(day), "%d/%m/%Y", &tm);
    strftime(hm, sizeof(hm), "%H:%M", &tm);
    if (english)
	return (mem_printf("\n\nOn %s at %s, %s wrote:\n%s", day, hm, name, after));
    return (mem_printf("\n\nLe %s à %s, %s a écrit :\n%s", day, hm, name, after));
}

static void test_reply(void)
{
    struct world w;
    struct store_message m;
    struct store_result res, res2;
    struct store_outbox_item *items, *row;
    struct store_ticket *t = 0;
    struct notify_reply r;
    size_t  queued = 0, n, before;
    uint32_t index = 0;
    char   *sent_to = 0;
    char    ref[32];
    time_t  received2 = now - 3 * 3600 - 17 * 60;

    CU_ASSERT_EQUAL_FATAL(world_open(&w, "s-reply", conf), 0);
    a_message(&m, "marie.dupont@example.com", "req-1@mail.example.com");
    m.from_header = "Marie Dupont <marie.dupont@example.com>";
    m.subject = m.title = "Imprimante en panne";
    m.received = now - 86400;
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(res.outcome, STORE_OUTCOME_NEW_TICKET);

    /* The requester's follow-up, with a Cc; then an agent's note. */
    snprintf(ref, sizeof(ref), "%s", res.number);
    a_message(&m, "marie.dupont@example.com", "req-2@mail.example.com");
    m.from_header = "Marie Dupont <marie.dupont@example.com>";
    m.ticket_ref = ref;
    m.cc = "Paul Martin <Paul.Martin@example.com>, helpdesk@example.org, "
	"Marie <MARIE.DUPONT@example.com>, desk+abc@desk.example.org, "
	"\"bad\" <bad\\ address@example.com>, paul.martin@example.com, "
	"team: anne@example.net;";
    m.body = "Toujours en panne.\n\nMerci de voir ça.\x1b[1m";
    m.raw = "From: y\r\n\r\nsecond\r\n";
    m.raw_len = strlen(m.raw);
    m.received = received2;
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res2, &queued), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(res2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_EQUAL_FATAL(add_article(&w, res.number, STORE_SENDER_AGENT,
				      STORE_CHANNEL_NOTE, "note interne", now),
			  STORE_OK);
    CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, res.number, &t), STORE_OK);
    CU_ASSERT_EQUAL(t->first_response_at, 0);
    CU_ASSERT_EQUAL(t->n_articles, 4);		/* request, ack, follow-up, note */
    store_ticket_free(&t);
    before = outbox_count(&w);

    /* The reply. */
    memset(&r, 0, sizeof(r));
    r.number = res.number;
    r.agent = "alice";
    r.text = "\n\nC'est réparé.\r\nBcc: evil@example.net\n\n";
    r.response = "resolved";
    r.at = now;
    CU_ASSERT_EQUAL_FATAL(reply(&w, conf, &r, &index, &sent_to), STORE_OK);
    CU_ASSERT_EQUAL(index, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sent_to);
    CU_ASSERT_STRING_EQUAL(sent_to, "marie.dupont@example.com, paul.martin@example.com, "
			   "anne@example.net");
    mem_free(sent_to);
    n = due(&w, &items);
    CU_ASSERT_EQUAL(n, before + 1);
    row = 0;
    for (size_t i = 0; i < n; i++)
	if (strcmp(items[i].kind, "reply") == 0)
	    row = items + i;
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_STRING_EQUAL(row->envelope_from, "helpdesk@example.org");
    CU_ASSERT_STRING_EQUAL(row->number, res.number);
    CU_ASSERT_EQUAL_FATAL(row->n_recipients, 3);
    CU_ASSERT_STRING_EQUAL(row->recipients[0], "marie.dupont@example.com");
    CU_ASSERT_STRING_EQUAL(row->recipients[1], "paul.martin@example.com");
    CU_ASSERT_STRING_EQUAL(row->recipients[2], "anne@example.net");
    CU_ASSERT(headers_clean(row->data, row->len));
    CU_ASSERT(!bare_lf(row->data, row->len));
    {
	GMimeMessage *g = parse_mail(row->data, row->len);
	InternetAddressList *list;
	char   *text, *want, *subject;
	const char *p_resp, *p_text, *p_quote;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT(only_known_headers(g));
	list = g_mime_message_get_from(g);
	CU_ASSERT_EQUAL_FATAL(internet_address_list_length(list), 1);
	CU_ASSERT_STRING_EQUAL(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
		      internet_address_list_get_address(list, 0))), "helpdesk@example.org");
	CU_ASSERT_STRING_EQUAL(internet_address_get_name(
			  internet_address_list_get_address(list, 0)), "Helpdesk");
	list = g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_TO);
	CU_ASSERT_EQUAL_FATAL(internet_address_list_length(list), 1);
	CU_ASSERT_STRING_EQUAL(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
		 internet_address_list_get_address(list, 0))), "marie.dupont@example.com");
	CU_ASSERT_STRING_EQUAL(internet_address_get_name(
			  internet_address_list_get_address(list, 0)), "Marie Dupont");
	list = g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_CC);
	CU_ASSERT_EQUAL_FATAL(internet_address_list_length(list), 2);
	CU_ASSERT_STRING_EQUAL(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
		   internet_address_list_get_address(list, 0))), "paul.martin@example.com");
	CU_ASSERT_STRING_EQUAL(internet_address_get_name(
			  internet_address_list_get_address(list, 0)), "Paul Martin");
	CU_ASSERT_STRING_EQUAL(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
			internet_address_list_get_address(list, 1))), "anne@example.net");
	subject = mem_printf("[Ticket#%s] Imprimante en panne", res.number);
	CU_ASSERT_STRING_EQUAL(g_mime_message_get_subject(g), subject);
	mem_free(subject);
	CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "<req-2@mail.example.com>");
	CU_ASSERT_STRING_EQUAL(header(g, "References"), "<req-2@mail.example.com>");
	CU_ASSERT_STRING_EQUAL(header(g, "Auto-Submitted"), "");
	CU_ASSERT_PTR_NULL(g_mime_object_get_header(GMIME_OBJECT(g), "Auto-Submitted"));
	CU_ASSERT_STRING_EQUAL(header(g, "X-Postdesk-Loop"), "desk.example.org");
	CU_ASSERT_STRING_EQUAL(header(g, "Reply-To"), "");
	CU_ASSERT_PTR_NULL(g_mime_object_get_header(GMIME_OBJECT(g), "Bcc"));
	CU_ASSERT_STRING_EQUAL(g_mime_message_get_message_id(g), row->message_id);
	CU_ASSERT(g_str_has_prefix(row->message_id, res.number));
	CU_ASSERT(g_str_has_suffix(row->message_id, "@desk.example.org"));
	/* Response, then the agent's text, then the quote of req-2. */
	text = body_of(g);
	p_resp = strstr(text, "Bonjour Marie Dupont,\n\nNous considérons votre demande");
	p_text = strstr(text, "\n\nC'est réparé.\nBcc: evil@example.net\n");
	want = quote_date(received2, 0, "Marie Dupont",
			  "> Toujours en panne.\n>\n> Merci de voir ça. [1m\n");
	p_quote = strstr(text, want);
	CU_ASSERT_PTR_NOT_NULL(p_resp);
	CU_ASSERT_PTR_NOT_NULL(p_text);
	CU_ASSERT_PTR_NOT_NULL(p_quote);
	if (p_resp && p_text && p_quote) {
	    CU_ASSERT(p_resp < p_text && p_text < p_quote);
	}
	if (!p_resp || !p_text || !p_quote)
	    fprintf(stderr, "reply body:\n%s\n--- want quote:\n%s\n", text, want);
	CU_ASSERT_PTR_NULL(strstr(text, "L'imprimante est en panne"));	/* req-1 */
	CU_ASSERT_PTR_NULL(strstr(text, "note interne"));
	CU_ASSERT_PTR_NULL(strstr(text, "#queue"));	/* no command list */
	CU_ASSERT(g_str_has_prefix(text, "Bonjour Marie Dupont,"));
	mem_free(want);
	g_free(text);
	g_object_unref(g);
    }
    /* The stored article: what the requester reads, without the quote. */
    CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, res.number, &t), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(t->n_articles, 5);
    {
	const struct store_article *a = t->articles + 4;

	CU_ASSERT_EQUAL(a->index, 5);
	CU_ASSERT_EQUAL(a->sender_type, STORE_SENDER_AGENT);
	CU_ASSERT_EQUAL(a->channel, STORE_CHANNEL_EMAIL);
	CU_ASSERT_EQUAL(a->visible_to_customer, 1);
	CU_ASSERT_EQUAL(a->seen, 1);
	CU_ASSERT_STRING_EQUAL(a->message_id, row->message_id);
	CU_ASSERT_PTR_NOT_NULL(strstr(a->from, "helpdesk@example.org"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a->to, "marie.dupont@example.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a->cc, "paul.martin@example.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a->cc, "anne@example.net"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a->body, "C'est réparé."));
	CU_ASSERT_PTR_NOT_NULL(strstr(a->body, "Nous considérons"));
	CU_ASSERT_PTR_NULL(strstr(a->body, "a écrit"));
	CU_ASSERT_PTR_NULL(strstr(a->body, "> Toujours"));
	CU_ASSERT_EQUAL(a->raw_len, row->len);
    }
    CU_ASSERT_EQUAL(t->first_response_at, now);
    {
	int     found = 0;

	for (size_t i = 0; i < t->n_history; i++)
	    if (strcmp(t->history[i].what, "article") == 0
		&& strcmp(t->history[i].who, "alice") == 0)
		found = 1;
	CU_ASSERT(found);
    }
    store_ticket_free(&t);
    store_outbox_items_free(&items, n);

    /* A second reply keeps the first response time; no template, no Cc
       in a mail that has none. */
    r.response = 0;
    r.text = "Encore une chose.";
    r.at = now + 60;
    CU_ASSERT_EQUAL_FATAL(reply(&w, conf, &r, &index, 0), STORE_OK);
    CU_ASSERT_EQUAL(index, 6);
    CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, res.number, &t), STORE_OK);
    CU_ASSERT_EQUAL(t->first_response_at, now);
    CU_ASSERT_STRING_EQUAL(t->articles[5].body, "Encore une chose.\n");
    store_ticket_free(&t);

    /* Refusals write nothing. */
    before = outbox_count(&w);
    r.response = "no-such-template";
    CU_ASSERT_EQUAL(reply(&w, conf, &r, &index, &sent_to), STORE_PERM);
    CU_ASSERT_PTR_NULL(sent_to);
    r.response = 0;
    r.number = "2026112710000099";
    CU_ASSERT_EQUAL(reply(&w, conf, &r, &index, &sent_to), STORE_PERM);
    a_message(&m, "network@example.org", "pd-1@example.com");	/* ours */
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res2, &queued), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(res2.outcome, STORE_OUTCOME_NEW_TICKET);
    before = outbox_count(&w);
    r.number = res2.number;
    CU_ASSERT_EQUAL(reply(&w, conf, &r, &index, &sent_to), STORE_PERM);
    CU_ASSERT_EQUAL(outbox_count(&w), before);
    CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, res2.number, &t), STORE_OK);
    CU_ASSERT_EQUAL(t->n_articles, 1);
    store_ticket_free(&t);
    world_close(&w);
}

/* test_reply_english - conf language en; a hostile title */

static void test_reply_english(void)
{
    gchar **parts = g_strsplit(conf_text, "language = fr", 2);
    char   *text = g_strjoinv("language = en", parts);
    struct conf *c = load_conf("postdesk-en.conf", text);
    struct world w;
    struct store_message m;
    struct store_result res;
    struct store_outbox_item *items, *row = 0;
    struct notify_reply r;
    size_t  queued = 0, n;
    uint32_t index = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(conf_language(c), "en");
    CU_ASSERT_EQUAL_FATAL(world_open(&w, "s-reply-en", c), 0);
    a_message(&m, "john@example.com", "en-1@mail.example.com");
    m.from_header = "John Smith <john@example.com>";
    m.subject = m.title = "Printer\r\nBcc: evil@example.net";
    m.body = "It is broken.";
    CU_ASSERT_EQUAL_FATAL(deliver(&w, c, &m, &res, &queued), STORE_OK);
    memset(&r, 0, sizeof(r));
    r.number = res.number;
    r.agent = "jane";
    r.text = "Fixed.";
    r.response = "received";
    r.at = now;
    CU_ASSERT_EQUAL_FATAL(reply(&w, c, &r, &index, 0), STORE_OK);
    n = due(&w, &items);
    for (size_t i = 0; i < n; i++)
	if (strcmp(items[i].kind, "reply") == 0)
	    row = items + i;
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT(headers_clean(row->data, row->len));
    {
	GMimeMessage *g = parse_mail(row->data, row->len);
	char   *body, *want;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT(only_known_headers(g));
	CU_ASSERT_PTR_NULL(g_mime_object_get_header(GMIME_OBJECT(g), "Bcc"));
	CU_ASSERT_PTR_NULL(strpbrk(g_mime_message_get_subject(g), "\r\n"));
	CU_ASSERT_EQUAL(internet_address_list_length(
			g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_CC)), 0);
	body = body_of(g);
	want = quote_date(now, 1, "John Smith", "> It is broken.\n");
	CU_ASSERT(g_str_has_prefix(body, "Hello John Smith,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "handled by Jane Doe of the\nHelpdesk team."));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "team.\n\nFixed.\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, want));
	if (strstr(body, want) == 0)
	    fprintf(stderr, "english reply:\n%s\n", body);
	mem_free(want);
	g_free(body);
	g_object_unref(g);
    }
    store_outbox_items_free(&items, n);
    world_close(&w);
    conf_unref(&c);
    g_free(text);
    g_strfreev(parts);
}

/* agent_send - notify_agent_send in its own batch */

static int agent_send(struct world *w, const struct notify_agent_mail *m)
{
    struct store_batch *b = 0;
    int     rc;

    if ((rc = store_batch_begin(w->store, &b)) != STORE_OK)
	return (rc);
    if ((rc = notify_agent_send(w->notify, b, conf, m)) != STORE_OK) {
	store_batch_abort(&b);
	return (rc);
    }
    return (store_batch_commit(&b));
}

/* last_row - the newest pending row of kind, checked and parsed (NULL
   when none); its recipient and ticket number in *rcpt_r, *number_r */

static GMimeMessage *last_row(struct world *w, const char *kind,
			              char **rcpt_r, char **number_r)
{
    struct store_outbox_item *items;
    size_t  n = due(w, &items);
    GMimeMessage *g = 0;

    *rcpt_r = *number_r = 0;
    for (size_t i = n; i-- > 0;) {
	if (strcmp(items[i].kind, kind) == 0) {
	    CU_ASSERT(headers_clean(items[i].data, items[i].len));
	    CU_ASSERT(!bare_lf(items[i].data, items[i].len));
	    CU_ASSERT_STRING_EQUAL(items[i].envelope_from, "");
	    CU_ASSERT_EQUAL(items[i].n_recipients, 1);
	    g = parse_mail(items[i].data, items[i].len);
	    *rcpt_r = mem_strdup(items[i].recipients[0]);
	    *number_r = mem_strdup(items[i].number);
	    break;
	}
    }
    store_outbox_items_free(&items, n);
    return (g);
}

/* reply_to_claims - the verified claims of a message's Reply-To */

static int reply_to_claims(GMimeMessage *g, const struct sigaddr_key *key,
			           struct sigaddr_claims *claims)
{
    InternetAddressList *list = g_mime_message_get_reply_to(g);
    char    token[SIGADDR_TOKEN_LEN + 1];
    const char *addr;

    if (internet_address_list_length(list) != 1)
	return (-1);
    addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
				      internet_address_list_get_address(list, 0)));
    if (!sigaddr_match(addr, "desk", "desk.example.org", token))
	return (-1);
    return (sigaddr_verify(key, token, now, 30, claims) == SIGADDR_OK ? 0 : -1);
}

static void test_agent_mail(void)
{
    static const struct {
	enum notify_agent_kind kind;
	const char *kind_name;
	const char *agent;
	int     with_ticket;
	const char *outcome;
	const char *text;
	const char *subject;		/* after "[Ticket#N] " when with_ticket */
	const char *in_body[3];
    } cases[] = {
	{NOTIFY_AGENT_TRANSCRIPT, "transcript", "alice", 1, "Processed",
	    "> #take\n  ok: owner alice, locked\n",
	    "Processed : Imprimante en panne  Bcc: evil@example.net",
	{"Bonjour Alice Martin,", "> #take\n  ok: owner alice, locked\n",
	"Imprimante en panne"}},
	{NOTIFY_AGENT_TRANSCRIPT, "transcript", "jane", 1,
	    "No changes made\r\nBcc: evil@example.net", "> #stauts\n  error\n",
	    "No changes made  Bcc: evil@example.net: Imprimante en panne  Bcc: evil@example.net",
	{"Hello Jane Doe,", "> #stauts\n  error\n", "(Imprimante en panne)"}},
	{NOTIFY_AGENT_QUARANTINE, "quarantine", "alice", 1, "Unverified",
	    "From: Mallory <mallory@evil.example>\nnot one of your addresses",
	    "Message non vérifié à votre adresse de commande : "
	    "Imprimante en panne  Bcc: evil@example.net",
	{"From: Mallory <mallory@evil.example>", "note interne non vérifiée",
	"pour le\nticket "}},
	{NOTIFY_AGENT_QUARANTINE, "quarantine", "jane", 1, "Unverified",
	    "From: Mallory <mallory@evil.example>\nnot one of your addresses",
	    "Unverified mail to your command address: "
	    "Imprimante en panne  Bcc: evil@example.net",
	{"From: Mallory <mallory@evil.example>", "unverified\ninternal note",
	"Nothing was done"}},
	{NOTIFY_AGENT_HELP, "help", "alice", 0, "Help", "",
	    "Les commandes de postdesk par courriel",
	{"#merge NUMÉRO", "#confirm CODE",
	"need-info, password-reset, received, resolved"}},
	{NOTIFY_AGENT_HELP, "help", "jane", 0, "Help", "",
	    "postdesk commands by mail",
	{"#merge NUMBER", "#dry-run", "need-info, password-reset, received, resolved"}},
	{NOTIFY_AGENT_LIST, "list", "alice", 0, "Locked tickets",
	    "2026112710000017 * Imprimante", "Tickets verrouillés à votre nom",
	{"2026112710000017 * Imprimante", "Bonjour Alice Martin", 0}},
	{NOTIFY_AGENT_LIST, "list", "jane", 0, "Locked tickets",
	    "2026112710000017   Imprimante", "Tickets locked to you",
	{"2026112710000017   Imprimante", "Hello Jane Doe", 0}},
    };
    struct world w;
    struct store_message m;
    struct store_result res;
    struct store_ticket *t = 0;
    size_t  queued = 0;
    uint16_t revision;

    CU_ASSERT_EQUAL_FATAL(world_open(&w, "s-agent", conf), 0);
    a_message(&m, "marie.dupont@example.com", "req-1@mail.example.com");
    m.subject = m.title = "Imprimante en panne";
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, res.number, &t), STORE_OK);
    revision = (uint16_t) (t->revision & 0xffff);
    CU_ASSERT(revision != 0);			/* written twice: ticket, ack */
    store_ticket_free(&t);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	struct notify_agent_mail am;
	struct sigaddr_claims claims;
	GMimeMessage *g;
	char   *rcpt, *number, *subject, *body;
	const struct conf_agent *a = conf_agent_find(conf, cases[i].agent);

	memset(&am, 0, sizeof(am));
	am.kind = cases[i].kind;
	am.agent = cases[i].agent;
	am.number = cases[i].with_ticket ? res.number : "";
	am.subject = "RE: Re:[Ticket#2026112710000017] Imprimante en panne\r\nBcc: evil@example.net";
	am.in_reply_to = "agent-mail-1@example.org";
	am.outcome = cases[i].outcome;
	am.text = cases[i].text;
	am.at = now;
	CU_ASSERT_EQUAL_FATAL(agent_send(&w, &am), STORE_OK);
	g = last_row(&w, cases[i].kind_name, &rcpt, &number);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	/* To the first configured address, never anything else. */
	CU_ASSERT_STRING_EQUAL(rcpt, a->emails[0]);
	CU_ASSERT_STRING_EQUAL(number, am.number);
	CU_ASSERT(only_known_headers(g));
	CU_ASSERT_PTR_NULL(g_mime_object_get_header(GMIME_OBJECT(g), "Bcc"));
	CU_ASSERT_STRING_EQUAL(header(g, "Auto-Submitted"), "auto-replied");
	CU_ASSERT_STRING_EQUAL(header(g, "X-Postdesk-Loop"), "desk.example.org");
	CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "<agent-mail-1@example.org>");
	CU_ASSERT_STRING_EQUAL(header(g, "References"), "<agent-mail-1@example.org>");
	CU_ASSERT_STRING_EQUAL(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
		      internet_address_list_get_address(g_mime_message_get_from(g), 0))),
			       "desk@desk.example.org");
	CU_ASSERT_EQUAL(internet_address_list_length(
			g_mime_message_get_addresses(g, GMIME_ADDRESS_TYPE_TO)), 1);
	CU_ASSERT(g_str_has_suffix(g_mime_message_get_message_id(g), "@desk.example.org"));
	/* The subject: the tag, the outcome, the agent's subject cleaned. */
	subject = cases[i].with_ticket
	    ? mem_printf("[Ticket#%s] %s", res.number, cases[i].subject)
	    : mem_strdup(cases[i].subject);
	CU_ASSERT_STRING_EQUAL(g_mime_message_get_subject(g), subject);
	if (strcmp(g_mime_message_get_subject(g), subject) != 0)
	    fprintf(stderr, "agent mail %zu: subject \"%s\"\n", i,
		    g_mime_message_get_subject(g));
	mem_free(subject);
	/* Reply-To: the agent's signed address, ticket and revision. */
	CU_ASSERT_EQUAL_FATAL(reply_to_claims(g, w.key, &claims), 0);
	CU_ASSERT_EQUAL(claims.agent_id, sigaddr_agent_id(cases[i].agent));
	CU_ASSERT_EQUAL(claims.ticket, cases[i].with_ticket
			? strtoull(res.number, 0, 10) : 0);
	CU_ASSERT_EQUAL(claims.revision, cases[i].with_ticket ? revision : 0);
	CU_ASSERT_EQUAL(claims.issue_day, sigaddr_day(now));
	body = body_of(g);
	for (int k = 0; k < 3; k++)
	    if (cases[i].in_body[k]) {
		CU_ASSERT_PTR_NOT_NULL(strstr(body, cases[i].in_body[k]));
		if (strstr(body, cases[i].in_body[k]) == 0)
		    fprintf(stderr, "agent mail %zu: no \"%s\" in\n%s\n", i,
			    cases[i].in_body[k], body);
	    }
	g_free(body);
	g_object_unref(g);
	mem_free(rcpt);
	mem_free(number);
    }

    /* An agent who may not work the ticket's queue learns nothing about
       it but its number (bob: network only). */
    {
	struct notify_agent_mail am;
	struct sigaddr_claims claims;
	GMimeMessage *g;
	char   *rcpt, *number, *body;

	memset(&am, 0, sizeof(am));
	am.kind = NOTIFY_AGENT_TRANSCRIPT;
	am.agent = "bob";
	am.number = res.number;
	am.subject = "x";
	am.in_reply_to = "";
	am.outcome = "No changes made";
	am.text = "error: no such ticket";
	am.at = now;
	CU_ASSERT_EQUAL_FATAL(agent_send(&w, &am), STORE_OK);
	g = last_row(&w, "transcript", &rcpt, &number);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_STRING_EQUAL(rcpt, "bob@example.org");
	CU_ASSERT_STRING_EQUAL(header(g, "In-Reply-To"), "");
	body = body_of(g);
	CU_ASSERT_PTR_NULL(strstr(body, "Imprimante"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, res.number));
	CU_ASSERT_EQUAL(reply_to_claims(g, w.key, &claims), 0);
	CU_ASSERT_EQUAL(claims.revision, 0);
	g_free(body);
	g_object_unref(g);
	mem_free(rcpt);
	mem_free(number);

	/* A ticket that does not exist looks the same. */
	am.number = "2026112710000099";
	CU_ASSERT_EQUAL_FATAL(agent_send(&w, &am), STORE_OK);
	g = last_row(&w, "transcript", &rcpt, &number);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_STRING_EQUAL(number, "2026112710000099");
	g_object_unref(g);
	mem_free(rcpt);
	mem_free(number);

	/* An unknown agent: nothing. */
	am.agent = "nobody";
	CU_ASSERT_EQUAL(agent_send(&w, &am), STORE_PERM);
    }
    world_close(&w);
}

/* test_watchers_store - the ticket's watchers, from the store */

static void test_watchers_store(void)
{
    static const char *const add[] = {"erin"};
    struct world w;
    struct store_message m;
    struct store_result res, res2;
    struct store_ticket_change ch;
    struct store_batch *b = 0;
    struct store_outbox_item *items;
    struct store_ticket *t = 0;
    size_t  queued = 0, n;
    char    ref[32];

    CU_ASSERT_EQUAL_FATAL(world_open(&w, "s-watch", conf), 0);
    a_message(&m, "marie.dupont@example.com", "w-1@mail.example.com");
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res, &queued), STORE_OK);
    memset(&ch, 0, sizeof(ch));
    ch.lock = -1;
    ch.watch_add = add;
    ch.n_watch_add = 1;
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(w.store, &b), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(store_ticket_update(b, conf, "TESTID", res.number, &ch,
					      "alice", now), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(store_batch_commit(&b), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, res.number, &t), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(t->n_watchers, 1);
    store_ticket_free(&t);

    /* A follow-up: the subscribers (alice, gina) and watcher erin. */
    snprintf(ref, sizeof(ref), "%s", res.number);
    a_message(&m, "marie.dupont@example.com", "w-2@mail.example.com");
    m.ticket_ref = ref;
    m.raw = "From: y\r\n\r\nw2\r\n";
    m.raw_len = strlen(m.raw);
    CU_ASSERT_EQUAL_FATAL(deliver(&w, conf, &m, &res2, &queued), STORE_OK);
    CU_ASSERT_EQUAL(res2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_EQUAL(queued, 3);
    n = due(&w, &items);
    CU_ASSERT_PTR_NOT_NULL(find_row(items, n, "follow-up", "erin@example.org"));
    CU_ASSERT_PTR_NOT_NULL(find_row(items, n, "follow-up", "alice@example.org"));
    CU_ASSERT_PTR_NOT_NULL(find_row(items, n, "follow-up", "gina@example.org"));
    store_outbox_items_free(&items, n);
    world_close(&w);
}

/*
 * Set-up.
 */

static int suite_init(void)
{
    const char *src = getenv("POSTDESK_SOURCE_DIR");
    char    today[16], yesterday[16];
    char   *text;

    g_mime_init();
    if (mkdtemp(root) == 0)
	return (1);
    if (src) {
	templates = mem_printf("%s/contrib/templates", src);
    } else {					/* run by hand from the tree */
	gchar  *dir = g_path_get_dirname(__FILE__);

	templates = mem_printf("%s/../../contrib/templates", dir);
	g_free(dir);
    }
    now = time(0);
    day_text(now, 0, today);
    day_text(now, -1, yesterday);
    text = mem_printf(
	"[postdesk]\n"
	"domain = desk.example.org\n"
	"command_localpart = desk\n"
	"templates_dir = %s\n"
	"auto_ack_limit = 3\n"
	"language = fr\n"
	"dedicated_domains = helpdesk.example.net\n"
	"[queue Helpdesk]\n"
	"addresses = helpdesk@example.org;support@example.org\n"
	"group = helpdesk\n"
	"[queue Network]\n"
	"addresses = network@example.org\n"
	"group = network\n"
	"[agent alice]\nname = Alice Martin\nemail = alice@example.org\n"
	"groups = helpdesk;network\nsubscribe = Helpdesk;Network\n"
	"[agent bob]\nname = Bob Keller\nemail = bob@example.org;robert.keller@example.org\n"
	"groups = network\nsubscribe = Network\nlanguage = en\n"
	"notify = new-ticket;new-note;move;escalation\n"
	"[agent carol]\nemail = carol@example.org\ngroups = helpdesk\n"
	"subscribe = Helpdesk\nnotify = new-ticket;new-note\n"
	"[agent dave]\nemail = dave@example.org\ngroups = helpdesk\n"
	"subscribe = Helpdesk\nout_of_office = %s..%s\n"
	"[agent erin]\nemail = erin@example.org\ngroups = helpdesk\n"
	"[agent frank]\nemail = frank@example.org\ngroups = network\n"
	"[agent gina]\nemail = gina@example.org\ngroups = helpdesk\n"
	"subscribe = Helpdesk\nout_of_office = %s\n"
	"[agent hank]\nemail = hank@example.org\ngroups = helpdesk\n"
	"subscribe = Helpdesk\nnotify =\n"
	"[agent elodie]\nname = Élodie Müller\nemail = elodie@example.org\n"
	"groups = helpdesk\n"
	"[agent ivan]\nemail = ivan@example.org\ngroups = helpdesk;network\n"
	"subscribe = Helpdesk;Network\nactive = no\n"
	"[agent jane]\nname = Jane Doe\nemail = jane@example.org;jane.doe@example.net\n"
	"groups = helpdesk\nlanguage = en\nnotify =\n",
	templates, today, today, yesterday);
    conf = load_conf("postdesk.conf", text);
    conf_text = text;
    return (conf == 0);
}

static int suite_clean(void)
{
    conf_unref(&conf);
    mem_free(conf_text);
    mem_free(templates);
    g_mime_shutdown();
    return (nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS));
}

int     main(void)
{
    CU_pSuite suite;
    CU_ErrorCode rc;
    unsigned bad;

    log_open("test_notify", 1);
    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    suite = CU_add_suite("notify", suite_init, suite_clean);
    CU_add_test(suite, "recipients of every event", test_recipients);
    CU_add_test(suite, "out of office on the local date", test_away);
    CU_add_test(suite, "loop protection", test_loop);
    CU_add_test(suite, "broken templates name file and line", test_template_errors);
    CU_add_test(suite, "shipped templates, notify_create errors", test_shipped_templates);
    CU_add_test(suite, "rendering: accents, long titles, controls", test_render);
    CU_add_test(suite, "acknowledgement message", test_compose_ack);
    CU_add_test(suite, "agent notification message", test_compose_agent);
    CU_add_test(suite, "CR/LF never makes a header", test_hostile);
    CU_add_test(suite, "new ticket in a real store", test_ingest_new_ticket);
    CU_add_test(suite, "no acknowledgement, rate limit", test_ingest_no_ack);
    CU_add_test(suite, "watchers and inactive agents", test_recipients_watchers);
    CU_add_test(suite, "response templates", test_response_templates);
    CU_add_test(suite, "#confirm codes", test_confirm_code);
    CU_add_test(suite, "reply check", test_reply_check);
    CU_add_test(suite, "reply to the requester", test_reply);
    CU_add_test(suite, "reply in English, hostile title", test_reply_english);
    CU_add_test(suite, "transcript, quarantine, help, list", test_agent_mail);
    CU_add_test(suite, "the ticket's watchers in a real store", test_watchers_store);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
