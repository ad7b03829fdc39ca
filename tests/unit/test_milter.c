/*++
/* NAME
/*	test_milter 1
/* SUMMARY
/*	unit tests of milter/: the decisions of postdesk-milter
/* SYNOPSIS
/*	test_milter
/* DESCRIPTION
/*	CUnit runner registered with ctest. It drives the decision
/*	functions (no libmilter) over tables: recipients in a shared and
/*	in a dedicated domain, signed tokens, declared sizes, header sets
/*	(loops, deletions replayed on a model of Postfix's header list),
/*	and rate-limit sequences on a fake clock.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <util.h>
#include <conf.h>
#include <sigaddr.h>

#include "milter_private.h"

#define NOW	((time_t) 1795824000)	/* 2026-11-28T00:00:00Z */
#define DAY	86400

static struct conf *conf;
static struct sigaddr_key *key;
static char conf_file_path[] = "/tmp/test_milter.XXXXXX";

static const unsigned char key_bytes[] = "test key material, 32 bytes long";

/* suite_init - a configuration with a shared and a dedicated layout */

static int suite_init(void)
{
    static const char text[] =
    "[postdesk]\n"
    "domain = desk.test\n"
    "dedicated_domains = tickets.test\n"
    "command_localpart = desk\n"
    "max_message_size = 1048576\n"
    "instance = desk-a.test\n"
    "authserv_id = mx.uni.test\n"
    "milter_max_received = 5\n"
    "milter_rate_sender = 3\n"
    "milter_rate_client = 5\n"
    "token_max_age = 30\n"
    "\n"
    "[queue Helpdesk]\n"
    "addresses = helpdesk@uni.test;support@uni.test\n"
    "group = helpdesk\n"
    "\n"
    "[queue Network]\n"
    "addresses = network@desk.test;net@tickets.test\n"
    "group = network\n";
    char   *errors = 0;
    int     fd = mkstemp(conf_file_path);

    if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t) (sizeof(text) - 1))
	return (1);
    close(fd);
    if ((conf = conf_load(conf_file_path, &errors)) == 0) {
	fprintf(stderr, "conf_load: %s\n", errors);
	mem_free(errors);
	return (1);
    }
    key = sigaddr_key_create(key_bytes, 32, conf_key_epoch(conf));
    return (0);
}

static int suite_clean(void)
{
    conf_unref(&conf);
    sigaddr_key_free(&key);
    unlink(conf_file_path);
    return (0);
}

/* signed_addr - a command address issued days_ago, with a key */

static char *signed_addr(const struct sigaddr_key *k, int days_ago, const char *domain)
{
    struct sigaddr_claims c;

    memset(&c, 0, sizeof(c));
    c.agent_id = sigaddr_agent_id("alice");
    c.ticket = 2026112710000017ULL;
    c.revision = 3;
    c.issue_day = (uint16_t) (sigaddr_day(NOW) - days_ago);
    return (sigaddr_address(k, "desk", domain, &c));
}

static void test_normalize(void)
{
    static const struct {
	const char *in;
	const char *out;
    } cases[] = {
	{"<Helpdesk@UNI.test>", "helpdesk@uni.test"},
	{"helpdesk@uni.test", "helpdesk@uni.test"},
	{" <a@b.test> ", "a@b.test"},
	{"<>", ""},
	{"", ""},
	{"<@relay.test,@other.test:Nobody@Desk.Test>", "nobody@desk.test"},
	{"<postmaster>", "postmaster"},
	{"<unterminated@desk.test", "unterminated@desk.test"},
    };
    char   *out;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	out = milter_addr_normalize(cases[i].in);
	CU_ASSERT_STRING_EQUAL(out, cases[i].out);
	mem_free(out);
    }
    out = milter_addr_normalize(0);
    CU_ASSERT_STRING_EQUAL(out, "");
    mem_free(out);
}

static void test_rcpt_table(void)
{
    struct sigaddr_key *other = sigaddr_key_create("another key, also 32 bytes long!", 32, 0);
    struct sigaddr_key *epoch1 = sigaddr_key_create(key_bytes, 32, 1);
    char   *valid = signed_addr(key, 0, "desk.test");
    char   *old_ok = signed_addr(key, 30, "desk.test");
    char   *expired = signed_addr(key, 31, "desk.test");
    char   *future = signed_addr(key, -5, "desk.test");
    char   *foreign = signed_addr(other, 0, "desk.test");
    char   *revoked = signed_addr(epoch1, 0, "desk.test");
    char   *in_shared = signed_addr(key, 0, "uni.test");
    char   *in_dedicated = signed_addr(key, 0, "tickets.test");
    char   *elsewhere = signed_addr(key, 0, "example.com");
    char   *upper = str_lower(mem_strdup(valid));
    char   *tampered = mem_strdup(valid);
    const struct {
	const char *addr;
	enum milter_rcpt_kind kind;
	const char *why;
    } cases[] = {
	/* layout 1: queue addresses in a shared domain */
	{"helpdesk@uni.test", MILTER_RCPT_QUEUE, "queue address"},
	{"support@uni.test", MILTER_RCPT_QUEUE, "queue address"},
	{"helpdesk+urgent@uni.test", MILTER_RCPT_QUEUE, "queue address"},
	{"bob@uni.test", MILTER_RCPT_OTHER, "other domain"},
	{"helpdesk2@uni.test", MILTER_RCPT_OTHER, "other domain"},
	{"desk@uni.test", MILTER_RCPT_OTHER, "other domain"},
	{in_shared, MILTER_RCPT_OTHER, "other domain"},
	/* layout 2: the signed domain and a dedicated domain */
	{"network@desk.test", MILTER_RCPT_QUEUE, "queue address"},
	{"net@tickets.test", MILTER_RCPT_QUEUE, "queue address"},
	{"nobody@desk.test", MILTER_RCPT_UNKNOWN, "unknown address"},
	{"desk@desk.test", MILTER_RCPT_UNKNOWN, "unknown address"},
	{"desk+short@desk.test", MILTER_RCPT_UNKNOWN, "unknown address"},
	{"postmaster@tickets.test", MILTER_RCPT_UNKNOWN, "unknown address"},
	{"helpdesk@desk.test", MILTER_RCPT_UNKNOWN, "unknown address"},
	{in_dedicated, MILTER_RCPT_UNKNOWN, "unknown address"},
	/* signed command addresses */
	{valid, MILTER_RCPT_SIGNED, "signed address"},
	{upper, MILTER_RCPT_SIGNED, "signed address"},
	{old_ok, MILTER_RCPT_SIGNED, "signed address"},
	{expired, MILTER_RCPT_UNKNOWN, "expired token"},
	{future, MILTER_RCPT_UNKNOWN, "expired token"},
	{tampered, MILTER_RCPT_UNKNOWN, "bad token"},
	{foreign, MILTER_RCPT_UNKNOWN, "bad token"},
	{revoked, MILTER_RCPT_UNKNOWN, "bad token"},
	/* elsewhere */
	{elsewhere, MILTER_RCPT_OTHER, "other domain"},
	{"someone@example.com", MILTER_RCPT_OTHER, "other domain"},
	{"nobody@sub.desk.test", MILTER_RCPT_OTHER, "other domain"},
	{"", MILTER_RCPT_OTHER, "no domain"},
	{"postmaster", MILTER_RCPT_OTHER, "no domain"},
	{"@desk.test", MILTER_RCPT_OTHER, "no domain"},
	{"nobody@", MILTER_RCPT_OTHER, "no domain"},
    };
    const char *why;
    char   *p;

    /* Upper-case the whole address; flip one token character. */
    for (p = upper; *p; p++)
	if (*p >= 'a' && *p <= 'z')
	    *p = (char) (*p - 'a' + 'A');
    p = tampered + strlen("desk+") + 10;
    *p = (*p == 'a') ? 'b' : 'a';

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	char   *norm = milter_addr_normalize(cases[i].addr);
	enum milter_rcpt_kind k = milter_rcpt_classify(conf, key, norm, NOW, &why);

	if (k != cases[i].kind || strcmp(why, cases[i].why) != 0) {
	    CU_FAIL("rcpt classification");
	    fprintf(stderr, "\n%s: kind %d (%s), expected %d (%s)\n", cases[i].addr,
		    (int) k, why, (int) cases[i].kind, cases[i].why);
	}
	mem_free(norm);
    }
    /* Without a key, no token passes. */
    CU_ASSERT_EQUAL(milter_rcpt_classify(conf, 0, valid, NOW, &why), MILTER_RCPT_UNKNOWN);
    /* A token expires as time passes. */
    CU_ASSERT_EQUAL(milter_rcpt_classify(conf, key, valid, NOW + 31 * DAY, &why),
		    MILTER_RCPT_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(why, "expired token");

    mem_free(valid);
    mem_free(old_ok);
    mem_free(expired);
    mem_free(future);
    mem_free(foreign);
    mem_free(revoked);
    mem_free(in_shared);
    mem_free(in_dedicated);
    mem_free(elsewhere);
    mem_free(upper);
    mem_free(tampered);
    sigaddr_key_free(&other);
    sigaddr_key_free(&epoch1);
}

static void test_rcpt_replies(void)
{
    struct milter_txn txn;
    struct milter_reply unknown, bad, expired, other, queue, sig;
    char   *valid = signed_addr(key, 0, "desk.test");
    char   *old = signed_addr(key, 40, "desk.test");
    char   *forged = mem_strdup(valid);
    char   *arg;

    forged[strlen("desk+") + 44] = forged[strlen("desk+") + 44] == 'q' ? 'a' : 'q';
    memset(&txn, 0, sizeof(txn));
    milter_mail_decide(conf, "<a@example.com>", 0, &txn, &other);
    milter_rcpt_decide(conf, key, 0, "192.0.2.1", &txn, "<nobody@desk.test>", NOW, &unknown);
    arg = mem_printf("<%s>", forged);
    milter_rcpt_decide(conf, key, 0, "192.0.2.1", &txn, arg, NOW, &bad);
    mem_free(arg);
    arg = mem_printf("<%s>", old);
    milter_rcpt_decide(conf, key, 0, "192.0.2.1", &txn, arg, NOW, &expired);
    mem_free(arg);
    CU_ASSERT_EQUAL(txn.ours, 0);		/* refused ones do not count */
    milter_rcpt_decide(conf, key, 0, "192.0.2.1", &txn, "<bob@uni.test>", NOW, &other);
    CU_ASSERT_EQUAL(txn.ours, 0);
    CU_ASSERT_EQUAL(other.action, MILTER_CONTINUE);
    arg = mem_printf("<%s>", valid);
    milter_rcpt_decide(conf, key, 0, "192.0.2.1", &txn, arg, NOW, &sig);
    mem_free(arg);
    CU_ASSERT_EQUAL(sig.action, MILTER_CONTINUE);
    CU_ASSERT_EQUAL(txn.ours, 1);
    milter_rcpt_decide(conf, key, 0, "192.0.2.1", &txn, "<HelpDesk@Uni.Test>", NOW, &queue);
    CU_ASSERT_EQUAL(queue.action, MILTER_CONTINUE);

    /* The same reply for unknown, forged and expired: nothing to learn. */
    CU_ASSERT_EQUAL(unknown.action, MILTER_REJECT);
    CU_ASSERT_STRING_EQUAL(unknown.rcode, "550");
    CU_ASSERT_STRING_EQUAL(unknown.xcode, "5.1.1");
    CU_ASSERT_EQUAL(bad.action, MILTER_REJECT);
    CU_ASSERT_EQUAL(expired.action, MILTER_REJECT);
    CU_ASSERT_STRING_EQUAL(bad.rcode, unknown.rcode);
    CU_ASSERT_STRING_EQUAL(bad.xcode, unknown.xcode);
    CU_ASSERT_STRING_EQUAL(bad.text, unknown.text);
    CU_ASSERT_STRING_EQUAL(expired.text, unknown.text);
    CU_ASSERT_STRING_EQUAL(bad.why, "bad token");
    CU_ASSERT_STRING_EQUAL(expired.why, "expired token");
    milter_txn_reset(&txn);
    mem_free(valid);
    mem_free(old);
    mem_free(forged);
}

static void test_sizes(void)
{
    static const struct {
	const char *args[4];
	int     found;
	size_t  size;
    } params[] = {
	{{"SIZE=100", 0}, 1, 100},
	{{"BODY=8BITMIME", "size=2048", 0}, 1, 2048},
	{{"BODY=8BITMIME", 0}, 0, 0},
	{{0}, 0, 0},
	{{"SIZE=", 0}, 0, 0},
	{{"SIZE=12a", 0}, 0, 0},
	{{"SIZE=-1", 0}, 0, 0},
	{{"SIZES=5", 0}, 0, 0},
	{{"SIZE=99999999999999999999999999", 0}, 1, SIZE_MAX},
    };
    static const struct {
	const char *args[3];
	enum milter_action action;
    } mails[] = {
	{{"SIZE=1048576", 0}, MILTER_CONTINUE},
	{{"SIZE=1048577", 0}, MILTER_REJECT},
	{{"SIZE=0", 0}, MILTER_CONTINUE},
	{{"BODY=8BITMIME", "SIZE=99999999999", 0}, MILTER_REJECT},
	{{"BODY=8BITMIME", 0}, MILTER_CONTINUE},
	{{0}, MILTER_CONTINUE},
    };
    struct milter_txn txn;
    struct milter_reply r;
    size_t  size;

    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
	size = 7;
	CU_ASSERT_EQUAL(milter_size_param(params[i].args, &size), params[i].found);
	if (params[i].found)
	    CU_ASSERT_EQUAL(size, params[i].size);
    }
    CU_ASSERT_EQUAL(milter_size_param(0, &size), 0);
    memset(&txn, 0, sizeof(txn));
    for (size_t i = 0; i < sizeof(mails) / sizeof(mails[0]); i++) {
	milter_mail_decide(conf, "<Alice@Example.COM>", mails[i].args, &txn, &r);
	CU_ASSERT_EQUAL(r.action, mails[i].action);
	CU_ASSERT_STRING_EQUAL(txn.sender, "alice@example.com");
	if (r.action == MILTER_REJECT) {
	    CU_ASSERT_STRING_EQUAL(r.rcode, "552");
	    CU_ASSERT_STRING_EQUAL(r.xcode, "5.3.4");
	}
    }
    milter_mail_decide(conf, "<>", 0, &txn, &r);
    CU_ASSERT_STRING_EQUAL(txn.sender, "");
    milter_txn_reset(&txn);
}

/*
 * A header set, the verdict at end of headers, and the headers left
 * after the deletions (replayed on a model of Postfix: deleting the
 * n-th header of a name renumbers the later ones).
 */
struct hdr {
    const char *name;
    const char *value;
};

#define MAX_HDRS 12

struct header_case {
    const char *label;
    int     ours;
    struct hdr in[MAX_HDRS];
    enum milter_action action;
    const char *left[MAX_HDRS];		/* "Name: value" left, in order */
};

/* delete_nth - remove the n-th header called name (any case) */

static int delete_nth(struct hdr *list, size_t *n, const char *name, int index)
{
    int     seen = 0;

    for (size_t i = 0; i < *n; i++) {
	if (strcasecmp(list[i].name, name) == 0 && ++seen == index) {
	    memmove(list + i, list + i + 1, (*n - i - 1) * sizeof(*list));
	    (*n)--;
	    return (0);
	}
    }
    return (-1);
}

static void test_headers(void)
{
    static const struct header_case cases[] = {
	{"plain", 1, {{"Subject", "hello"}, {"From", "a@example.com"}},
	    MILTER_CONTINUE, {"Subject: hello", "From: a@example.com"}},
	{"5 Received", 1, {{"Received", "a"}, {"Received", "b"}, {"Received", "c"},
	    {"Received", "d"}, {"received", "e"}}, MILTER_CONTINUE,
	{"Received: a", "Received: b", "Received: c", "Received: d", "received: e"}},
	{"6 Received", 1, {{"Received", "a"}, {"Received", "b"}, {"Received", "c"},
	    {"Received", "d"}, {"Received", "e"}, {"RECEIVED", "f"}}, MILTER_REJECT, {0}},
	{"6 Received, not ours", 0, {{"Received", "a"}, {"Received", "b"},
	    {"Received", "c"}, {"Received", "d"}, {"Received", "e"}, {"Received", "f"}},
	MILTER_CONTINUE, {"Received: a", "Received: b", "Received: c",
	"Received: d", "Received: e", "Received: f"}},
	{"our loop", 1, {{"Subject", "x"}, {"X-Postdesk-Loop", "desk-a.test"}},
	    MILTER_REJECT, {0}},
	{"our loop, case and blanks", 1, {{"x-postdesk-loop", "  DESK-A.Test \r\n"}},
	    MILTER_REJECT, {0}},
	{"our loop, not ours", 0, {{"X-Postdesk-Loop", "desk-a.test"}},
	    MILTER_CONTINUE, {"X-Postdesk-Loop: desk-a.test"}},
	{"another instance's loop", 1, {{"X-Postdesk-Loop", "desk-b.test"},
	    {"Subject", "s"}}, MILTER_CONTINUE, {"Subject: s"}},
	{"loop header as a prefix", 1, {{"X-Postdesk-Loop", "desk-a.test.evil"}},
	    MILTER_CONTINUE, {0}},
	{"smuggled markings", 1, {
		{"X-Postdesk-Queue", "Network"},
		{"Authentication-Results", "mx.uni.test; spf=pass"},
		{"Subject", "X-Postdesk-Priority: 5"},
		{"Authentication-Results", "other.example; spf=fail"},
		{"x-postdesk-queue", "Helpdesk"},
		{"Authentication-Results", "(forged) MX.UNI.TEST 1; dkim=pass"},
		{"Authentication-Results", "mx.uni.test.evil; dkim=pass"},
		{"X-Postdesk-Priority", "5"},
		{"Authentication-Results", "\"mx.uni.test\"; none"},
		{"Authentication-Results", "\n\tmx.uni.test;\n\tdmarc=pass"},
		{"X-Postdeskish", "kept"},
	    }, MILTER_CONTINUE, {
		"Subject: X-Postdesk-Priority: 5",
		"Authentication-Results: other.example; spf=fail",
		"Authentication-Results: mx.uni.test.evil; dkim=pass",
		"X-Postdeskish: kept",
	}},
	{"markings, not ours", 0, {{"X-Postdesk-Queue", "Network"},
	    {"Authentication-Results", "mx.uni.test; spf=pass"}}, MILTER_CONTINUE,
	{"X-Postdesk-Queue: Network", "Authentication-Results: mx.uni.test; spf=pass"}},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	const struct header_case *hc = cases + i;
	struct milter_txn txn;
	struct milter_reply r;
	struct hdr list[MAX_HDRS];
	size_t  n = 0, k = 0;
	char    line[256];

	memset(&txn, 0, sizeof(txn));
	txn.ours = hc->ours;
	for (; n < MAX_HDRS && hc->in[n].name; n++) {
	    list[n] = hc->in[n];
	    milter_header_note(conf, &txn.headers, hc->in[n].name, hc->in[n].value);
	}
	milter_headers_decide(conf, &txn, &r);
	if (r.action != hc->action) {
	    CU_FAIL("header verdict");
	    fprintf(stderr, "\n%s: action %d, expected %d\n", hc->label, r.action, hc->action);
	}
	if (r.action == MILTER_REJECT) {
	    CU_ASSERT_STRING_EQUAL(r.rcode, "554");
	    CU_ASSERT_STRING_EQUAL(r.xcode, "5.4.6");
	    milter_txn_reset(&txn);
	    continue;
	}
	/* What the callback does at end of message. */
	milter_headers_finish(&txn.headers);
	if (txn.ours)
	    for (size_t j = 0; j < txn.headers.n_strip; j++)
		CU_ASSERT_EQUAL(delete_nth(list, &n, txn.headers.strip[j].name,
					   txn.headers.strip[j].index), 0);
	for (k = 0; k < n; k++) {
	    snprintf(line, sizeof(line), "%s: %s", list[k].name, list[k].value);
	    if (hc->left[k] == 0 || strcmp(line, hc->left[k]) != 0) {
		CU_FAIL("headers left");
		fprintf(stderr, "\n%s: header %zu is \"%s\", expected \"%s\"\n",
			hc->label, k, line, hc->left[k] ? hc->left[k] : "(none)");
	    }
	}
	if (k < MAX_HDRS && hc->left[k] != 0) {
	    CU_FAIL("headers left: too few");
	    fprintf(stderr, "\n%s: missing \"%s\"\n", hc->label, hc->left[k]);
	}
	milter_txn_reset(&txn);
    }
}

static void test_strip_order(void)
{
    struct milter_txn txn;
    struct milter_strip *s;

    memset(&txn, 0, sizeof(txn));
    milter_header_note(conf, &txn.headers, "X-Postdesk-A", "1");
    milter_header_note(conf, &txn.headers, "Authentication-Results", "mx.uni.test; a");
    milter_header_note(conf, &txn.headers, "x-postdesk-a", "2");
    milter_header_note(conf, &txn.headers, "Authentication-Results", "kept.test; b");
    milter_header_note(conf, &txn.headers, "Authentication-Results", "mx.uni.test; c");
    milter_header_note(conf, &txn.headers, "X-POSTDESK-A", "3");
    milter_headers_finish(&txn.headers);
    CU_ASSERT_EQUAL_FATAL(txn.headers.n_strip, 5);
    s = txn.headers.strip;
    CU_ASSERT_STRING_EQUAL(s[0].name, "Authentication-Results");
    CU_ASSERT_EQUAL(s[0].index, 3);
    CU_ASSERT_EQUAL(s[1].index, 1);
    CU_ASSERT_EQUAL(s[2].index, 3);
    CU_ASSERT_STRING_EQUAL(s[2].name, "X-POSTDESK-A");
    CU_ASSERT_EQUAL(s[3].index, 2);
    CU_ASSERT_EQUAL(s[4].index, 1);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, "X-Postdesk-Anything", ""), 1);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, "X-Postdesk", "x"), 0);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, "Authentication-Results", ""), 0);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, "Authentication-Results", 0), 0);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, "Authentication-Results", "mx.uni.test"), 1);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, "Authentication-Results", "mx.uni.tes;"), 0);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, "Authentication-Results", "(unclosed mx.uni.test;"), 0);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, "Authentication-Results", "\"mx.uni.test"), 0);
    CU_ASSERT_EQUAL(milter_strip_wanted(conf, 0, "x"), 0);
    milter_txn_reset(&txn);
}

/* Rate limits on a fake clock. */

struct take {
    time_t  t;				/* seconds after the start */
    const char *sender;
    const char *client;
    unsigned ls, lc;			/* limits per hour */
    enum milter_rate_verdict v;
};

static void test_rate_sequences(void)
{
    static const struct take seq[] = {
	/* 3 per hour for a sender: a burst of 3, then one per 1200 s */
	{0, "a@x.test", 0, 3, 0, MILTER_RATE_OK},
	{0, "a@x.test", 0, 3, 0, MILTER_RATE_OK},
	{1, "a@x.test", 0, 3, 0, MILTER_RATE_OK},
	{2, "a@x.test", 0, 3, 0, MILTER_RATE_SENDER},
	{2, "b@x.test", 0, 3, 0, MILTER_RATE_OK},	/* other sender */
	{1199, "a@x.test", 0, 3, 0, MILTER_RATE_SENDER},	/* 1199 s: 0.9992 */
	{1200, "a@x.test", 0, 3, 0, MILTER_RATE_OK},	/* 1200 s: one mail */
	{1201, "a@x.test", 0, 3, 0, MILTER_RATE_SENDER},
	{9000, "a@x.test", 0, 3, 0, MILTER_RATE_OK},	/* full again */
	{9000, "a@x.test", 0, 3, 0, MILTER_RATE_OK},
	{9000, "a@x.test", 0, 3, 0, MILTER_RATE_OK},
	{9000, "a@x.test", 0, 3, 0, MILTER_RATE_SENDER},
	/* per client, whatever the sender */
	{10000, "c1@x.test", "192.0.2.7", 0, 2, MILTER_RATE_OK},
	{10000, "c2@x.test", "192.0.2.7", 0, 2, MILTER_RATE_OK},
	{10000, "c3@x.test", "192.0.2.7", 0, 2, MILTER_RATE_CLIENT},
	{10000, "c3@x.test", "192.0.2.8", 0, 2, MILTER_RATE_OK},
	{10000, "c3@x.test", "2001:db8::1", 0, 2, MILTER_RATE_OK},
	/* both: a client refusal does not spend the sender's tokens */
	{20000, "d@x.test", "198.51.100.1", 2, 1, MILTER_RATE_OK},
	{20000, "d@x.test", "198.51.100.1", 2, 1, MILTER_RATE_CLIENT},
	{20000, "d@x.test", "198.51.100.2", 2, 1, MILTER_RATE_OK},
	{20000, "d@x.test", "198.51.100.3", 2, 1, MILTER_RATE_SENDER},
	/* and a sender refusal does not spend the client's */
	{20000, "e@x.test", "198.51.100.3", 2, 1, MILTER_RATE_OK},
	/* 0 = off; the null sender has no sender bucket */
	{30000, "f@x.test", "203.0.113.1", 0, 0, MILTER_RATE_OK},
	{30000, "f@x.test", "203.0.113.1", 0, 0, MILTER_RATE_OK},
	{30000, "f@x.test", "203.0.113.1", 0, 0, MILTER_RATE_OK},
	{30000, "", 0, 1, 0, MILTER_RATE_OK},
	{30000, "", 0, 1, 0, MILTER_RATE_OK},
	{30000, 0, 0, 1, 1, MILTER_RATE_OK},
	/* a reload lowers the limit: the fuller bucket is cut down */
	{40000, "g@x.test", 0, 10, 0, MILTER_RATE_OK},
	{40000, "g@x.test", 0, 10, 0, MILTER_RATE_OK},
	{40000, "g@x.test", 0, 2, 0, MILTER_RATE_OK},
	{40000, "g@x.test", 0, 2, 0, MILTER_RATE_OK},
	{40000, "g@x.test", 0, 2, 0, MILTER_RATE_SENDER},
	/* the clock goes back: nothing earned, nothing broken */
	{39000, "g@x.test", 0, 2, 0, MILTER_RATE_SENDER},
	{39000 + 1800, "g@x.test", 0, 2, 0, MILTER_RATE_OK},
    };
    struct milter_rate *r = milter_rate_create();

    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
	enum milter_rate_verdict v = milter_rate_take(r, seq[i].sender, seq[i].client,
						      seq[i].ls, seq[i].lc,
						      NOW + seq[i].t);

	if (v != seq[i].v) {
	    CU_FAIL("rate verdict");
	    fprintf(stderr, "\nstep %zu (t=%ld %s %s): %d, expected %d\n", i,
		    (long) seq[i].t, seq[i].sender ? seq[i].sender : "-",
		    seq[i].client ? seq[i].client : "-", v, seq[i].v);
	}
    }
    milter_rate_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

static void test_rate_memory(void)
{
    struct milter_rate *r = milter_rate_create();
    char    sender[64];

    for (int i = 0; i < 5000; i++) {
	snprintf(sender, sizeof(sender), "s%d@spam.test", i);
	CU_ASSERT_EQUAL(milter_rate_take(r, sender, "192.0.2.1", 5, 100000, NOW),
			MILTER_RATE_OK);
    }
    CU_ASSERT_EQUAL(milter_rate_entries(r), 5001);
    /* An hour later the idle entries are full again and may go. */
    for (int i = 0; i < 20; i++) {
	snprintf(sender, sizeof(sender), "new%d@spam.test", i);
	milter_rate_take(r, sender, 0, 5, 0, NOW + 3600);
    }
    CU_ASSERT(milter_rate_entries(r) < 100);
    /* And a swept sender starts full. */
    for (int i = 0; i < 5; i++)
	CU_ASSERT_EQUAL(milter_rate_take(r, "s1@spam.test", 0, 5, 0, NOW + 3600),
			MILTER_RATE_OK);
    CU_ASSERT_EQUAL(milter_rate_take(r, "s1@spam.test", 0, 5, 0, NOW + 3600),
		    MILTER_RATE_SENDER);
    milter_rate_destroy(&r);
}

/* Rate limits through RCPT decisions (conf: 3 per sender, 5 per client). */

static void test_rcpt_rate(void)
{
    struct milter_rate *r = milter_rate_create();
    struct milter_txn txn;
    struct milter_reply rep;
    char   *valid = signed_addr(key, 0, "desk.test");
    char   *arg = mem_printf("<%s>", valid);
    int     ok = 0;

    memset(&txn, 0, sizeof(txn));
    /* One mail to two queue addresses and a person counts once. */
    for (int mail = 0; mail < 3; mail++) {
	milter_mail_decide(conf, "<flood@example.com>", 0, &txn, &rep);
	milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<helpdesk@uni.test>", NOW, &rep);
	ok += rep.action == MILTER_CONTINUE;
	milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<support@uni.test>", NOW, &rep);
	ok += rep.action == MILTER_CONTINUE;
	milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<bob@uni.test>", NOW, &rep);
	ok += rep.action == MILTER_CONTINUE;
    }
    CU_ASSERT_EQUAL(ok, 9);
    /* Mails to persons only do not count. */
    for (int mail = 0; mail < 10; mail++) {
	milter_mail_decide(conf, "<flood@example.com>", 0, &txn, &rep);
	milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<bob@uni.test>", NOW, &rep);
	CU_ASSERT_EQUAL(rep.action, MILTER_CONTINUE);
    }
    /* The fourth new mail from that sender: 451 4.7.1, per recipient. */
    milter_mail_decide(conf, "<Flood@Example.com>", 0, &txn, &rep);
    milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<network@desk.test>", NOW, &rep);
    CU_ASSERT_EQUAL(rep.action, MILTER_TEMPFAIL);
    CU_ASSERT_STRING_EQUAL(rep.rcode, "451");
    CU_ASSERT_STRING_EQUAL(rep.xcode, "4.7.1");
    CU_ASSERT_STRING_EQUAL(rep.why, "sender rate limit");
    CU_ASSERT_EQUAL(txn.ours, 0);
    /* ... but the agent's signed address is never limited */
    for (int i = 0; i < 10; i++) {
	milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, arg, NOW, &rep);
	CU_ASSERT_EQUAL(rep.action, MILTER_CONTINUE);
    }
    CU_ASSERT_EQUAL(txn.ours, 1);
    /* Two other senders from the same client: the client's 5 run out. */
    milter_mail_decide(conf, "<other@example.com>", 0, &txn, &rep);
    milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<helpdesk@uni.test>", NOW, &rep);
    CU_ASSERT_EQUAL(rep.action, MILTER_CONTINUE);
    milter_mail_decide(conf, "<third@example.com>", 0, &txn, &rep);
    milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<helpdesk@uni.test>", NOW, &rep);
    CU_ASSERT_EQUAL(rep.action, MILTER_CONTINUE);
    milter_mail_decide(conf, "<fourth@example.com>", 0, &txn, &rep);
    milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<helpdesk@uni.test>", NOW, &rep);
    CU_ASSERT_EQUAL(rep.action, MILTER_TEMPFAIL);
    CU_ASSERT_STRING_EQUAL(rep.why, "client rate limit");
    /* Another client is fine; an hour later the first is too. */
    milter_rcpt_decide(conf, key, r, "192.0.2.10", &txn, "<helpdesk@uni.test>", NOW, &rep);
    CU_ASSERT_EQUAL(rep.action, MILTER_CONTINUE);
    milter_mail_decide(conf, "<flood@example.com>", 0, &txn, &rep);
    milter_rcpt_decide(conf, key, r, "192.0.2.9", &txn, "<helpdesk@uni.test>",
		       NOW + 3600, &rep);
    CU_ASSERT_EQUAL(rep.action, MILTER_CONTINUE);
    milter_txn_reset(&txn);
    milter_rate_destroy(&r);
    mem_free(valid);
    mem_free(arg);
}

static void test_conn_spec(void)
{
    static const struct {
	const char *in;
	const char *out;
    } cases[] = {
	{"inet:127.0.0.1:8891", "inet:8891@127.0.0.1"},
	{"inet:localhost:10025", "inet:10025@localhost"},
	{"inet:[::1]:8891", "inet6:8891@::1"},
	{"unix:/run/postdesk/milter.sock", "unix:/run/postdesk/milter.sock"},
	{"unix:relative", 0},
	{"inet:8891", 0},
	{"inet::8891", 0},
	{"inet:host:", 0},
	{"inet:[::1]8891", 0},
	{"inet:[]:8891", 0},
	{"local:/x", 0},
	{"", 0},
    };
    char   *out;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	out = milter_conn_spec(cases[i].in);
	if (cases[i].out == 0) {
	    CU_ASSERT_PTR_NULL(out);
	} else if (out == 0) {
	    CU_FAIL("milter_conn_spec returned NULL");
	} else {
	    CU_ASSERT_STRING_EQUAL(out, cases[i].out);
	}
	mem_free(out);
    }
    CU_ASSERT_PTR_NULL(milter_conn_spec(0));
}

int     main(void)
{
    CU_pSuite s;
    unsigned bad;
    CU_ErrorCode rc;

    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    s = CU_add_suite("milter", suite_init, suite_clean);
    CU_add_test(s, "envelope addresses normalized", test_normalize);
    CU_add_test(s, "recipients: shared and dedicated layouts, tokens", test_rcpt_table);
    CU_add_test(s, "RCPT replies: one text for unknown and forged", test_rcpt_replies);
    CU_add_test(s, "SIZE= at MAIL", test_sizes);
    CU_add_test(s, "header sets: loops and deletions", test_headers);
    CU_add_test(s, "deletion order and authserv-id", test_strip_order);
    CU_add_test(s, "rate-limit sequences, fake clock", test_rate_sequences);
    CU_add_test(s, "rate-limit memory is swept", test_rate_memory);
    CU_add_test(s, "rate limits through RCPT", test_rcpt_rate);
    CU_add_test(s, "milter_listen to libmilter syntax", test_conn_spec);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
