/*++
/* NAME
/*	test_store 1
/* SUMMARY
/*	CUnit tests of the store module
/* SYNOPSIS
/*	test_store
/* DESCRIPTION
/*	Runs every test against temporary Berkeley DB environments under
/*	one mkdtemp(3) directory, removed at the end: ticket numbers,
/*	delivery (new ticket, follow-up by ticket reference and by
/*	References, deduplication, state transitions with the three
/*	follow_up_closed settings from a real configuration file,
/*	automatic mail), a 26 MB message, the daily counter, batches
/*	(many messages, abort, a lock conflict that must give STORE_RETRY
/*	and a clean replay), one writer with two reader threads, lists,
/*	maintenance, the process lock, crash recovery after kill -9 of a
/*	forked writer, schema versions, and the record codec on truncated
/*	input. Then the second round: articles written by postdesk
/*	(store_article_add, threading of replies to them), reads inside
/*	a batch, the acknowledgement rate limit over a 24 h window, the
/*	outbox (abort, due, attempts, SENT/FAILED/retry, the ticket
/*	history of a failure, ids across restarts, trimming of SENT rows,
/*	kill -9 with a batch in flight) and the schema upgrade 1 -> 2.
/*	Then the third round (commands by mail): version 3 ticket records
/*	(and a version 2 record written by hand), store_ticket_update()
/*	field by field with history, indexes, revisions and refusals,
/*	state changes in the per-field changes, store_ticket_seen() and
/*	the new-article star, store_ticket_merge() with follow-ups
/*	redirected and the hop limit, and the command mail keys. A last
/*	test prints a small throughput measurement (4 KB
/*	mails, batches of 16 vs 1; POSTDESK_STORE_BENCH=N sets the count,
/*	0 skips it) and asserts only that batching saves log flushes.
/* DIAGNOSTICS
/*	Exit status 0 when every test passed.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "conf.h"
#include "store.h"
#include "store_private.h"
#include "util.h"

static char root[] = "/tmp/test_store.XXXXXX";
static int dir_seq;
static struct conf *conf;

#define MSG_FIXED_DAY_Y	2024
#define MSG_FIXED_DAY_M	10
#define MSG_FIXED_DAY_D	24

/*
 * Helpers.
 */

/* new_dir - a fresh store directory path (not created) */

static char *new_dir(void)
{
    return (mem_printf("%s/s%d", root, ++dir_seq));
}

/* day_time - local time on a given day at noon */

static time_t day_time(int y, int m, int d)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = 12;
    tm.tm_isdst = -1;
    return (mktime(&tm));
}

/* expect_number - the number of the counter-th ticket of the fixed day */

static void expect_number(char out[32], uint64_t counter)
{
    store_number_format(out, MSG_FIXED_DAY_Y, MSG_FIXED_DAY_M,
			MSG_FIXED_DAY_D, 10, counter);
}

/* A test message with storage for its variable parts. */
struct tmsg {
    struct store_message m;
    char    mid[128];
    char    raw[512];
    const char *refs[4];
};

/* fake_hash - any 32 bytes that depend on the raw bytes */

static void fake_hash(unsigned char out[32], const char *raw, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    size_t  i;

    memset(out, 0, 32);
    for (i = 0; i < len; i++) {
	h ^= (unsigned char) raw[i];
	h *= 1099511628211ULL;
	out[i % 32] ^= (unsigned char) (h >> 29);
    }
    for (i = 0; i < 32; i++)
	out[i] ^= (unsigned char) (h >> (i % 8) * 8);
}

/* tmsg_init - a customer mail to queue Helpdesk on the fixed day */

static void tmsg_init(struct tmsg *t, const char *mid, const char *subject)
{
    size_t  n;

    memset(t, 0, sizeof(*t));
    snprintf(t->mid, sizeof(t->mid), "%s", mid);
    n = (size_t) snprintf(t->raw, sizeof(t->raw),
			  "Message-ID: <%s>\r\nSubject: %s\r\n\r\nhello\r\n",
			  mid, subject);
    t->m.log_id = "TEST";
    t->m.recipient = "helpdesk@example.org";
    t->m.queue = "Helpdesk";
    t->m.default_type = "Service Request";
    t->m.sender = "bounce@example.com";
    t->m.from = "marie.dupont@example.com";
    t->m.from_header = "Marie Dupont <Marie.Dupont@example.com>";
    t->m.to = "helpdesk@example.org";
    t->m.cc = "";
    t->m.subject = subject;
    t->m.title = subject;
    t->m.message_id = t->mid;
    t->m.references = t->refs;
    t->m.n_references = 0;
    t->m.ticket_ref = 0;
    t->m.automatic = 0;
    t->m.body = "hello";
    t->m.raw = t->raw;
    t->m.raw_len = n;
    fake_hash(t->m.hash, t->raw, n);
    t->m.received = day_time(MSG_FIXED_DAY_Y, MSG_FIXED_DAY_M, MSG_FIXED_DAY_D);
}

/* open_store - store_open that must succeed */

static struct store *open_store(const char *dir)
{
    struct store *s = 0;
    char   *err = 0;
    int     st = store_open(dir, &s, &err);

    if (st != STORE_OK)
	fprintf(stderr, "store_open %s: %d %s\n", dir, st, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(st, STORE_OK);
    CU_ASSERT_PTR_NULL(err);
    mem_free(err);
    return (s);
}

/* deliver1 - one message in its own batch */

static int deliver1(struct store *s, const struct store_message *m,
		            struct store_result *r)
{
    struct store_batch *b;
    int     st;

    if ((st = store_batch_begin(s, &b)) != STORE_OK)
	return (st);
    if ((st = store_deliver(b, conf, m, r)) != STORE_OK) {
	store_batch_abort(&b);
	return (st);
    }
    return (store_batch_commit(&b));
}

/* force_state - set a ticket's state (and owner) through the internals */

static void force_state(struct store *s, const char *number, const char *state,
			        const char *queue)
{
    struct store_batch *b;
    struct store_ticket_rec rec;
    struct store_ticket old;
    char   *old_state, *old_queue;
    size_t  len;
    DBT     k, d;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(store_get(s->db[STORE_DB_TICKETS], b->txn, number,
				    strlen(number), &b->get, &len, DB_RMW), 0);
    CU_ASSERT_EQUAL_FATAL(store_codec_ticket_decode(b->get.data, len, number,
						    &rec), STORE_OK);
    old = rec.t;
    old_state = rec.t.state;
    old_queue = rec.t.queue;
    rec.t.state = (char *) state;
    if (queue)
	rec.t.queue = (char *) queue;
    CU_ASSERT_EQUAL(store_index_apply(b, "TEST", &old, &rec.t), STORE_OK);
    store_codec_ticket_encode(b->enc, &rec);
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.data = (void *) number;
    k.size = (u_int32_t) strlen(number);
    d.data = buf_data_mut(b->enc);
    d.size = (u_int32_t) buf_len(b->enc);
    CU_ASSERT_EQUAL(s->db[STORE_DB_TICKETS]->put(s->db[STORE_DB_TICKETS],
						 b->txn, &k, &d, 0), 0);
    rec.t.state = old_state;
    rec.t.queue = old_queue;
    store_ticket_fields_free(&rec.t);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
}

/* get_ticket - store_ticket_get that must succeed */

static struct store_ticket *get_ticket(struct store *s, const char *number)
{
    struct store_ticket *t = 0;

    CU_ASSERT_EQUAL_FATAL(store_ticket_get(s, number, &t), STORE_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    return (t);
}

/* count_list - number of tickets matching a filter */

static size_t count_list(struct store *s, const struct store_filter *f)
{
    struct store_ticket *v = 0;
    size_t  n = 0;

    CU_ASSERT_EQUAL(store_list(s, f, &v, &n), STORE_OK);
    store_ticket_list_free(&v, n);
    CU_ASSERT_PTR_NULL(v);
    return (n);
}

/* rm_entry - nftw callback */

static int rm_entry(const char *path, const struct stat *st, int flag,
		            struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return (remove(path));
}

/*
 * Tests.
 */

/* test_number_format - DateChecksum examples */

static void test_number_format(void)
{
    char    out[32];

    store_number_format(out, 2024, 10, 24, 10, 1);
    CU_ASSERT_STRING_EQUAL(out, "2024102410000015");
    store_number_format(out, 2024, 10, 24, 10, 42);
    CU_ASSERT_STRING_EQUAL(out, "2024102410000426");
    /* More than 99999 a day: the counter grows, the check digit follows. */
    store_number_format(out, 2024, 10, 24, 10, 123456);
    CU_ASSERT_EQUAL(strlen(out), 17);
    CU_ASSERT_EQUAL(strncmp(out, "2024102410123456", 16), 0);
    CU_ASSERT_EQUAL(out[16] - '0', store_number_check_digit("2024102410123456"));
    /* A one-digit system id is printed as is. */
    store_number_format(out, 2026, 1, 2, 7, 3);
    CU_ASSERT_EQUAL(strncmp(out, "20260102700003", 14), 0);
    CU_ASSERT_EQUAL(strlen(out), 15);
    /* Products, not digit sums: 9*2 = 18 counts 18. 1*1 + 9*2 = 19. */
    CU_ASSERT_EQUAL(store_number_check_digit("19"), 1);
    CU_ASSERT_EQUAL(store_number_check_digit("28"), 2);
    /* Remainder 0 gives 10, written 1, never 0. */
    CU_ASSERT_EQUAL(store_number_check_digit("0"), 1);
    CU_ASSERT_EQUAL(store_number_check_digit("55"), 5);
    CU_ASSERT_EQUAL(store_number_check_digit(""), -1);
    CU_ASSERT_EQUAL(store_number_check_digit("12a"), -1);
    store_number_format(out, -5, 1, 1, 10, 1);
    CU_ASSERT_STRING_EQUAL(out, "");
}

/* test_new_ticket - every field, article, raw bytes, history */

static void test_new_ticket(void)
{
    static const char raw[] = "Subject: x\r\n\r\nNUL:\0 8bit:\xe9\xff\x80 end\r\n";
    struct store_attachment att[2] = {
	{"facture \xc3\xa9t\xc3\xa9.pdf", "application/pdf", 12345},
	{"", "image/png", 0},
    };
    char   *dir = new_dir(), *rawr = 0, expect[32];
    struct store *s = open_store(dir);
    struct store_result r;
    struct store_ticket *t;
    struct store_article *a;
    struct tmsg tm;
    size_t  len = 0;

    tmsg_init(&tm, "first@example.com", "Imprimante en panne");
    tm.m.title = "Imprimante en panne";
    tm.m.subject = "RE: Imprimante en panne";
    tm.m.cc = "Bob <bob@example.com>";
    tm.m.body = "Bonjour,\nl'imprimante ne marche plus.";
    tm.m.attachments = att;
    tm.m.n_attachments = 2;
    tm.m.raw = raw;
    tm.m.raw_len = sizeof(raw) - 1;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.outcome, STORE_OUTCOME_NEW_TICKET);
    CU_ASSERT_EQUAL(r.article, 1);
    expect_number(expect, 1);
    CU_ASSERT_STRING_EQUAL(r.number, expect);

    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->number, expect);
    CU_ASSERT_STRING_EQUAL(t->title, "Imprimante en panne");
    CU_ASSERT_STRING_EQUAL(t->queue, "Helpdesk");
    CU_ASSERT_STRING_EQUAL(t->state, "new");
    CU_ASSERT_EQUAL(t->priority, 3);
    CU_ASSERT_STRING_EQUAL(t->type, "Service Request");
    CU_ASSERT_EQUAL(t->locked, 0);
    CU_ASSERT_PTR_NULL(t->owner);
    CU_ASSERT_STRING_EQUAL(t->customer, "marie.dupont@example.com");
    CU_ASSERT_EQUAL(t->created, tm.m.received);
    CU_ASSERT_EQUAL(t->changed, tm.m.received);
    CU_ASSERT_EQUAL(t->escalated, 0);
    CU_ASSERT_PTR_NULL(t->merged_into);
    CU_ASSERT_EQUAL(t->n_articles_total, 1);
    CU_ASSERT_EQUAL_FATAL(t->n_articles, 1);
    a = t->articles;
    CU_ASSERT_EQUAL(a->index, 1);
    CU_ASSERT_EQUAL(a->sender_type, STORE_SENDER_CUSTOMER);
    CU_ASSERT_EQUAL(a->channel, STORE_CHANNEL_EMAIL);
    CU_ASSERT_EQUAL(a->visible_to_customer, 1);
    CU_ASSERT_EQUAL(a->seen, 0);
    CU_ASSERT_STRING_EQUAL(a->from, "Marie Dupont <Marie.Dupont@example.com>");
    CU_ASSERT_STRING_EQUAL(a->to, "helpdesk@example.org");
    CU_ASSERT_STRING_EQUAL(a->cc, "Bob <bob@example.com>");
    CU_ASSERT_STRING_EQUAL(a->subject, "RE: Imprimante en panne");
    CU_ASSERT_STRING_EQUAL(a->message_id, "first@example.com");
    CU_ASSERT_EQUAL(a->received, tm.m.received);
    CU_ASSERT_STRING_EQUAL(a->body, "Bonjour,\nl'imprimante ne marche plus.");
    CU_ASSERT_EQUAL(a->raw_len, sizeof(raw) - 1);
    CU_ASSERT_EQUAL_FATAL(a->n_attachments, 2);
    CU_ASSERT_STRING_EQUAL(a->attachments[0].name, att[0].name);
    CU_ASSERT_STRING_EQUAL(a->attachments[0].content_type, "application/pdf");
    CU_ASSERT_EQUAL(a->attachments[0].size, 12345);
    CU_ASSERT_STRING_EQUAL(a->attachments[1].name, "");
    CU_ASSERT_STRING_EQUAL(a->attachments[1].content_type, "image/png");
    CU_ASSERT_EQUAL_FATAL(t->n_history, 1);
    CU_ASSERT_STRING_EQUAL(t->history[0].what, "created");
    CU_ASSERT_STRING_EQUAL(t->history[0].who, "marie.dupont@example.com");
    CU_ASSERT_EQUAL(t->history[0].at, tm.m.received);
    CU_ASSERT_PTR_NULL(t->history[0].new_value);
    store_ticket_free(&t);
    CU_ASSERT_PTR_NULL(t);

    CU_ASSERT_EQUAL(store_raw_get(s, r.number, 1, &rawr, &len), STORE_OK);
    CU_ASSERT_EQUAL(len, sizeof(raw) - 1);
    CU_ASSERT(rawr && memcmp(rawr, raw, sizeof(raw) - 1) == 0);
    mem_free(rawr);
    CU_ASSERT_EQUAL(store_raw_get(s, r.number, 2, &rawr, &len), STORE_NOTFOUND);
    CU_ASSERT_PTR_NULL(rawr);
    CU_ASSERT_EQUAL(store_ticket_get(s, "2024102410000999", &t), STORE_NOTFOUND);
    CU_ASSERT_PTR_NULL(t);

    /* Empty title and subject: a placeholder; no From: the envelope. */
    tmsg_init(&tm, "second@example.com", "");
    tm.m.title = "";
    tm.m.from = "";
    tm.m.sender = "Someone@Example.NET";
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->title, "(no subject)");
    CU_ASSERT_STRING_EQUAL(t->customer, "someone@example.net");
    store_ticket_free(&t);
    store_close(&s);
    CU_ASSERT_PTR_NULL(s);
    mem_free(dir);
}

/* test_large - a message over the default size limit round-trips */

static void test_large(void)
{
    size_t  n = 26 * 1024 * 1024 + 7, i, len = 0;
    char   *dir = new_dir(), *big = mem_alloc(n), *back = 0;
    struct store *s = open_store(dir);
    struct store_result r;
    struct tmsg tm;

    for (i = 0; i < n; i++)
	big[i] = (char) (i * 131 + (i >> 12));
    tmsg_init(&tm, "big@example.com", "large");
    tm.m.raw = big;
    tm.m.raw_len = n;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(store_raw_get(s, r.number, 1, &back, &len), STORE_OK);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT(back && memcmp(back, big, n) == 0);
    mem_free(back);
    /* And a small one after it, in the same log. */
    tmsg_init(&tm, "small@example.com", "small");
    tm.m.ticket_ref = r.number;		/* msg points into the result */
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.article, 2);
    CU_ASSERT_EQUAL(store_checkpoint(s), STORE_OK);
    store_close(&s);
    s = open_store(dir);
    CU_ASSERT_EQUAL(store_raw_get(s, r.number, 1, &back, &len), STORE_OK);
    CU_ASSERT_EQUAL(len, n);
    mem_free(back);
    store_close(&s);
    mem_free(big);
    mem_free(dir);
}

/* test_follow_up_ref - by the number from the subject */

static void test_follow_up_ref(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r1, r2;
    struct store_ticket *t;
    struct tmsg tm;

    tmsg_init(&tm, "a1@example.com", "Wifi");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r1), STORE_OK);
    tmsg_init(&tm, "a2@example.com", "RE: [Ticket#x] Wifi");
    tm.m.ticket_ref = r1.number;
    tm.m.received += 3600;
    tm.m.body = "still broken";
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r2.number, r1.number);
    CU_ASSERT_EQUAL(r2.article, 2);
    t = get_ticket(s, r1.number);
    CU_ASSERT_EQUAL(t->n_articles_total, 2);
    CU_ASSERT_EQUAL_FATAL(t->n_articles, 2);
    CU_ASSERT_EQUAL(t->articles[1].index, 2);
    CU_ASSERT_STRING_EQUAL(t->articles[1].body, "still broken");
    CU_ASSERT_STRING_EQUAL(t->state, "new");
    CU_ASSERT_EQUAL(t->changed, tm.m.received);
    CU_ASSERT_EQUAL_FATAL(t->n_history, 2);
    CU_ASSERT_STRING_EQUAL(t->history[1].what, "article");
    CU_ASSERT_STRING_EQUAL(t->history[1].new_value, "2");
    store_ticket_free(&t);

    /* A reference to a ticket that does not exist opens a new one. */
    tmsg_init(&tm, "a3@example.com", "RE: [Ticket#2024102410099999x]");
    tm.m.ticket_ref = "20241024100999992";
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_NEW_TICKET);
    CU_ASSERT_STRING_NOT_EQUAL(r2.number, r1.number);
    store_close(&s);
    mem_free(dir);
}

/* test_follow_up_references - second reference hits, case-insensitive */

static void test_follow_up_references(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r1, r2;
    struct tmsg tm;

    tmsg_init(&tm, "Orig.ID@Example.COM", "VPN");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r1), STORE_OK);
    tmsg_init(&tm, "reply@example.net", "Re: VPN");
    tm.refs[0] = "unknown@nowhere.example";
    tm.refs[1] = "orig.id@example.com";
    tm.m.n_references = 2;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r2.number, r1.number);
    CU_ASSERT_EQUAL(r2.article, 2);

    /* The reply's own Message-ID now threads too. */
    tmsg_init(&tm, "reply2@example.net", "Re: Re: VPN");
    tm.refs[0] = "REPLY@example.net";
    tm.m.n_references = 1;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_EQUAL(r2.article, 3);

    /* No reference known: a new ticket. */
    tmsg_init(&tm, "other@example.net", "Re: something");
    tm.refs[0] = "nothing@example.net";
    tm.m.n_references = 1;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_NEW_TICKET);
    store_close(&s);
    mem_free(dir);
}

/* test_dedup - same message in one batch, across batches, two queues */

static void test_dedup(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r1, r2, r3;
    struct store_batch *b;
    struct store_stats st;
    struct tmsg tm, tm2;

    tmsg_init(&tm, "dup@example.com", "Twice");
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r1), STORE_OK);
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_EQUAL(r1.outcome, STORE_OUTCOME_NEW_TICKET);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_DUPLICATE);
    CU_ASSERT_STRING_EQUAL(r2.number, r1.number);
    CU_ASSERT_EQUAL(r2.article, 1);

    /* An LMTP retry after a lost 250. */
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r3), STORE_OK);
    CU_ASSERT_EQUAL(r3.outcome, STORE_OUTCOME_DUPLICATE);
    CU_ASSERT_STRING_EQUAL(r3.number, r1.number);

    /* The same message to a second queue address. */
    tm.m.recipient = "network@example.org";
    tm.m.queue = "Network";
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r3), STORE_OK);
    CU_ASSERT_EQUAL(r3.outcome, STORE_OUTCOME_DUPLICATE);
    CU_ASSERT_STRING_EQUAL(r3.number, r1.number);

    /* Same Message-ID, other content: not a duplicate. */
    tmsg_init(&tm2, "dup@example.com", "Twice, changed");
    CU_ASSERT_EQUAL(deliver1(s, &tm2.m, &r3), STORE_OK);
    CU_ASSERT_NOT_EQUAL(r3.outcome, STORE_OUTCOME_DUPLICATE);
    /* No Message-ID: the hash alone. */
    tmsg_init(&tm2, "", "No id");
    CU_ASSERT_EQUAL(deliver1(s, &tm2.m, &r1), STORE_OK);
    CU_ASSERT_EQUAL(r1.outcome, STORE_OUTCOME_NEW_TICKET);
    CU_ASSERT_EQUAL(deliver1(s, &tm2.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_DUPLICATE);
    CU_ASSERT_STRING_EQUAL(r2.number, r1.number);

    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.tickets, 3);		/* dup, changed, no id */
    CU_ASSERT_EQUAL(st.articles, 3);
    store_close(&s);
    mem_free(dir);
}

/* test_states - pending -> open; closed with reopen, reject, new */

static void test_states(void)
{
    char   *dir = new_dir(), *note;
    struct store *s = open_store(dir);
    struct store_result r1, r2;
    struct store_ticket *t;
    struct tmsg tm;
    int     i = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
#define NEXT_MSG(subj) do { char _m[64]; \
	snprintf(_m, sizeof(_m), "st%d@example.com", ++i); \
	tmsg_init(&tm, _m, subj); } while (0)

    /* pending reminder -> open, with history */
    NEXT_MSG("pending");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r1), STORE_OK);
    force_state(s, r1.number, "pending reminder", 0);
    NEXT_MSG("Re: pending");
    tm.m.ticket_ref = r1.number;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    t = get_ticket(s, r1.number);
    CU_ASSERT_STRING_EQUAL(t->state, "open");
    CU_ASSERT_EQUAL_FATAL(t->n_history, 3);
    CU_ASSERT_STRING_EQUAL(t->history[2].what, "state");
    CU_ASSERT_STRING_EQUAL(t->history[2].old_value, "pending reminder");
    CU_ASSERT_STRING_EQUAL(t->history[2].new_value, "open");
    store_ticket_free(&t);
    /* open stays open, without a state record */
    NEXT_MSG("Re: open");
    tm.m.ticket_ref = r1.number;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    t = get_ticket(s, r1.number);
    CU_ASSERT_STRING_EQUAL(t->state, "open");
    CU_ASSERT_EQUAL(t->n_history, 4);
    store_ticket_free(&t);

    /* closed in Helpdesk (reopen) -> open */
    force_state(s, r1.number, "closed successful", 0);
    NEXT_MSG("Re: closed");
    tm.m.ticket_ref = r1.number;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r2.number, r1.number);
    t = get_ticket(s, r1.number);
    CU_ASSERT_STRING_EQUAL(t->state, "open");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].old_value,
			   "closed successful");
    store_ticket_free(&t);

    /* closed in Strict (reject) -> REJECTED, nothing written */
    force_state(s, r1.number, "closed unsuccessful", "Strict");
    NEXT_MSG("Re: rejected");
    tm.m.ticket_ref = r1.number;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_REJECTED);
    CU_ASSERT_STRING_EQUAL(r2.number, "");
    CU_ASSERT(strncmp(r2.reason, "5.7.1 ", 6) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r2.reason, r1.number));
    t = get_ticket(s, r1.number);
    CU_ASSERT_STRING_EQUAL(t->state, "closed unsuccessful");
    CU_ASSERT_EQUAL(t->n_articles, 4);		/* pending, 3 follow-ups */
    store_ticket_free(&t);
    /* Not remembered as seen: a retry is judged again. */
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_REJECTED);

    /* automatic mail on a closed/reject ticket: stored, still closed */
    tm.m.automatic = 1;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r2.number, r1.number);
    t = get_ticket(s, r1.number);
    CU_ASSERT_STRING_EQUAL(t->state, "closed unsuccessful");
    CU_ASSERT_EQUAL(t->n_articles, 5);
    store_ticket_free(&t);

    /* closed in Fresh (new) -> a new ticket that names the old one */
    force_state(s, r1.number, "closed successful", "Fresh");
    NEXT_MSG("Re: new please");
    tm.m.ticket_ref = r1.number;
    tm.m.queue = "Helpdesk";
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_NEW_TICKET);
    CU_ASSERT_STRING_NOT_EQUAL(r2.number, r1.number);
    t = get_ticket(s, r2.number);
    CU_ASSERT_STRING_EQUAL(t->state, "new");
    CU_ASSERT_STRING_EQUAL(t->queue, "Helpdesk");
    CU_ASSERT_EQUAL_FATAL(t->n_history, 1);
    CU_ASSERT_STRING_EQUAL(t->history[0].what, "created");
    note = mem_printf("follow-up of closed ticket %s", r1.number);
    CU_ASSERT_STRING_EQUAL(t->history[0].new_value, note);
    mem_free(note);
    store_ticket_free(&t);
    t = get_ticket(s, r1.number);
    CU_ASSERT_STRING_EQUAL(t->state, "closed successful");
    store_ticket_free(&t);

    /* automatic mail never reopens a pending ticket either */
    force_state(s, r1.number, "pending auto close+", "Helpdesk");
    NEXT_MSG("Out of office");
    tm.m.ticket_ref = r1.number;
    tm.m.automatic = 1;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    t = get_ticket(s, r1.number);
    CU_ASSERT_STRING_EQUAL(t->state, "pending auto close+");
    store_ticket_free(&t);

    /* a queue gone from the configuration: reopen */
    force_state(s, r1.number, "closed successful", "Gone");
    NEXT_MSG("Re: gone");
    tm.m.ticket_ref = r1.number;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    t = get_ticket(s, r1.number);
    CU_ASSERT_STRING_EQUAL(t->state, "open");
    store_ticket_free(&t);
#undef NEXT_MSG
    store_close(&s);
    mem_free(dir);
}

/* test_counter - per day, survives close/reopen */

static void test_counter(void)
{
    char   *dir = new_dir(), expect[32];
    struct store *s = open_store(dir);
    struct store_result r;
    struct tmsg tm;

    tmsg_init(&tm, "c1@example.com", "one");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    expect_number(expect, 1);
    CU_ASSERT_STRING_EQUAL(r.number, expect);
    tmsg_init(&tm, "c2@example.com", "two");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    expect_number(expect, 2);
    CU_ASSERT_STRING_EQUAL(r.number, expect);
    store_close(&s);

    s = open_store(dir);
    tmsg_init(&tm, "c3@example.com", "three");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    expect_number(expect, 3);
    CU_ASSERT_STRING_EQUAL(r.number, expect);
    /* Another day starts at 1 again. */
    tmsg_init(&tm, "c4@example.com", "next day");
    tm.m.received = day_time(2024, 10, 25);
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    store_number_format(expect, 2024, 10, 25, 10, 1);
    CU_ASSERT_STRING_EQUAL(r.number, expect);
    store_close(&s);
    mem_free(dir);
}

/* test_big_batch - many messages in one transaction */

static void test_big_batch(void)
{
    enum {N = 300};
    char   *dir = new_dir(), expect[32], mid[64];
    struct store *s = open_store(dir);
    struct store_result r;
    struct store_batch *b;
    struct store_stats st;
    struct tmsg tm;
    int     i, ok = 0;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    for (i = 1; i <= N; i++) {
	snprintf(mid, sizeof(mid), "big%d@example.com", i);
	tmsg_init(&tm, mid, "many");
	expect_number(expect, (uint64_t) i);
	if (store_deliver(b, conf, &tm.m, &r) == STORE_OK
	    && r.outcome == STORE_OUTCOME_NEW_TICKET
	    && strcmp(r.number, expect) == 0)
	    ok++;
    }
    CU_ASSERT_EQUAL(ok, N);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.tickets, N);
    CU_ASSERT_EQUAL(st.articles, N);
    CU_ASSERT_EQUAL(st.batches, 1);
    CU_ASSERT_EQUAL(st.batched_messages, N);
    CU_ASSERT(st.log_flushes >= 1);
    CU_ASSERT_EQUAL(count_list(s, 0), N);
    store_close(&s);
    mem_free(dir);
}

/* test_abort - an aborted batch leaves nothing, not even the counter */

static void test_abort(void)
{
    char   *dir = new_dir(), expect[32];
    struct store *s = open_store(dir);
    struct store_result r;
    struct store_batch *b;
    struct store_ticket *t = 0;
    struct store_stats st;
    struct tmsg tm;

    tmsg_init(&tm, "ab@example.com", "aborted");
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.outcome, STORE_OUTCOME_NEW_TICKET);
    store_batch_abort(&b);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_EQUAL(store_ticket_get(s, r.number, &t), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(count_list(s, 0), 0);
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.tickets, 0);
    CU_ASSERT_EQUAL(st.batches, 0);
    /* Same message again: not a duplicate, same number. */
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.outcome, STORE_OUTCOME_NEW_TICKET);
    expect_number(expect, 1);
    CU_ASSERT_STRING_EQUAL(r.number, expect);
    store_close(&s);
    mem_free(dir);
}

/* test_list - filters, order, limit */

static void test_list(void)
{
    char   *dir = new_dir(), mid[64];
    struct store *s = open_store(dir);
    struct store_filter f;
    struct store_ticket *v = 0;
    struct store_result r;
    char    first[32] = "";
    struct tmsg tm;
    size_t  n = 0;
    int     i;

    /* 6 tickets: Helpdesk 0,2,4 and Network 1,3,5; customers a and b. */
    for (i = 0; i < 6; i++) {
	snprintf(mid, sizeof(mid), "list%d@example.com", i);
	tmsg_init(&tm, mid, "list");
	tm.m.queue = (i % 2) ? "Network" : "Helpdesk";
	tm.m.from = (i < 3) ? "a@example.com" : "b@example.com";
	tm.m.received += i * 60;
	CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
	if (i == 0)
	    memcpy(first, r.number, sizeof(first));
    }
    force_state(s, first, "open", 0);

    memset(&f, 0, sizeof(f));
    CU_ASSERT_EQUAL(count_list(s, &f), 6);
    f.queue = "Helpdesk";
    CU_ASSERT_EQUAL(count_list(s, &f), 3);
    f.state = "open";
    CU_ASSERT_EQUAL(count_list(s, &f), 1);
    f.state = "new";
    CU_ASSERT_EQUAL(count_list(s, &f), 2);
    f.queue = 0;
    CU_ASSERT_EQUAL(count_list(s, &f), 5);	/* state alone: scan */
    memset(&f, 0, sizeof(f));
    f.queue = "Help";				/* a prefix is not a queue */
    CU_ASSERT_EQUAL(count_list(s, &f), 0);
    f.queue = "Nowhere";
    CU_ASSERT_EQUAL(count_list(s, &f), 0);
    memset(&f, 0, sizeof(f));
    f.customer = "A@Example.COM";
    CU_ASSERT_EQUAL(count_list(s, &f), 3);
    f.queue = "Network";
    CU_ASSERT_EQUAL(count_list(s, &f), 1);
    memset(&f, 0, sizeof(f));
    f.owner = "alice";
    CU_ASSERT_EQUAL(count_list(s, &f), 0);
    memset(&f, 0, sizeof(f));
    f.locked_only = 1;
    CU_ASSERT_EQUAL(count_list(s, &f), 0);
    memset(&f, 0, sizeof(f));
    f.escalated_only = 1;
    CU_ASSERT_EQUAL(count_list(s, &f), 0);

    /* Newest first, limited. */
    memset(&f, 0, sizeof(f));
    f.limit = 2;
    CU_ASSERT_EQUAL(store_list(s, &f, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT(v[0].created > v[1].created);
    CU_ASSERT_STRING_EQUAL(v[0].customer, "b@example.com");
    CU_ASSERT_PTR_NULL(v[0].articles);
    store_ticket_list_free(&v, n);
    f.limit = 0;
    f.queue = "Helpdesk";
    CU_ASSERT_EQUAL(store_list(s, &f, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_STRING_EQUAL(v[2].number, first);
    CU_ASSERT(v[0].created > v[1].created && v[1].created > v[2].created);
    store_ticket_list_free(&v, n);
    store_close(&s);
    mem_free(dir);
}

/* test_maintenance - persistent flag */

static void test_maintenance(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_stats st;

    CU_ASSERT_EQUAL(store_maintenance(s), 0);
    CU_ASSERT_EQUAL(store_set_maintenance(s, 1), STORE_OK);
    CU_ASSERT_EQUAL(store_maintenance(s), 1);
    store_close(&s);
    s = open_store(dir);
    CU_ASSERT_EQUAL(store_maintenance(s), 1);
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.maintenance, 1);
    CU_ASSERT_EQUAL(st.schema_version, STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(store_set_maintenance(s, 0), STORE_OK);
    store_close(&s);
    s = open_store(dir);
    CU_ASSERT_EQUAL(store_maintenance(s), 0);
    CU_ASSERT_EQUAL(store_checkpoint(s), STORE_OK);
    store_close(&s);
    mem_free(dir);
}

/* test_locked - a second process gets STORE_LOCKED */

static void test_locked(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    pid_t   pid;
    int     status = 0;

    fflush(0);
    if ((pid = fork()) == 0) {
	struct store *s2 = 0;
	char   *err = 0;
	int     st = store_open(dir, &s2, &err);

	_exit(st == STORE_LOCKED && s2 == 0 ? 0 : 1);
    }
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    store_close(&s);
    /* Released at close: another process may open it now. */
    if ((pid = fork()) == 0) {
	struct store *s2 = 0;
	char   *err = 0;
	int     st = store_open(dir, &s2, &err);

	store_close(&s2);
	_exit(st == STORE_OK ? 0 : 1);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    mem_free(dir);
}

/* test_crash - kill -9 with an open batch; recovery keeps the commits */

static void test_crash(void)
{
    enum {N = 5};
    char   *dir = new_dir(), expect[32], mid[64];
    struct store *s;
    struct store_result r;
    struct tmsg tm;
    pid_t   pid;
    int     status = 0, i;

    fflush(0);
    if ((pid = fork()) == 0) {
	struct store_batch *b;
	char   *err = 0;

	if (store_open(dir, &s, &err) != STORE_OK)
	    _exit(2);
	for (i = 1; i <= N; i++) {
	    snprintf(mid, sizeof(mid), "crash%d@example.com", i);
	    tmsg_init(&tm, mid, "committed");
	    if (deliver1(s, &tm.m, &r) != STORE_OK)
		_exit(3);
	}
	if (store_batch_begin(s, &b) != STORE_OK)
	    _exit(4);
	tmsg_init(&tm, "lost@example.com", "never committed");
	if (store_deliver(b, conf, &tm.m, &r) != STORE_OK)
	    _exit(5);
	raise(SIGKILL);
	_exit(6);
    }
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    s = open_store(dir);
    CU_ASSERT_EQUAL(count_list(s, 0), N);
    tmsg_init(&tm, "after@example.com", "after the crash");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    expect_number(expect, N + 1);
    CU_ASSERT_STRING_EQUAL(r.number, expect);
    /* The lost message was never stored: not a duplicate now. */
    tmsg_init(&tm, "lost@example.com", "never committed");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.outcome, STORE_OUTCOME_NEW_TICKET);
    store_close(&s);
    mem_free(dir);
}

/* capture - log capture for the schema test */

static char captured[2048];

static void capture(enum log_level level, const char *line, void *context)
{
    (void) level;
    (void) context;
    if (strlen(captured) + strlen(line) + 2 < sizeof(captured)) {
	strcat(captured, line);
	strcat(captured, "\n");
    }
}

/* test_schema - upgrade from v0, refuse a newer schema */

static void test_schema(void)
{
    char   *dir = new_dir(), *err = 0;
    struct store *s = open_store(dir);
    struct store_result r;
    struct store_stats st;
    struct tmsg tm;
    DB_TXN *txn;

    /* Make it a v0 store: tickets, no version, no counters. */
    tmsg_init(&tm, "v0@example.com", "old");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(s->env->txn_begin(s->env, NULL, &txn, 0), 0);
    CU_ASSERT_EQUAL(store_meta_del(s, txn, "schema_version"), 0);
    CU_ASSERT_EQUAL(store_meta_del(s, txn, "count:tickets"), 0);
    CU_ASSERT_EQUAL(store_meta_del(s, txn, "count:articles"), 0);
    CU_ASSERT_EQUAL(txn->commit(txn, 0), 0);
    store_close(&s);

    captured[0] = 0;
    log_set_capture(capture, 0);
    s = open_store(dir);
    log_set_capture(0, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "upgraded schema 0 to 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "upgraded schema 1 to 2"));
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.schema_version, STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(st.tickets, 1);
    CU_ASSERT_EQUAL(st.articles, 1);

    /* A newer schema is refused with a clear error. */
    CU_ASSERT_EQUAL_FATAL(s->env->txn_begin(s->env, NULL, &txn, 0), 0);
    CU_ASSERT_EQUAL(store_meta_put(s, txn, "schema_version",
				   STORE_SCHEMA_VERSION + 1), 0);
    CU_ASSERT_EQUAL(txn->commit(txn, 0), 0);
    store_close(&s);
    log_set_stderr(0);
    CU_ASSERT_EQUAL(store_open(dir, &s, &err), STORE_TEMP);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "store schema 4 is newer than this postdesk (3)"));
    mem_free(err);
    mem_free(dir);
}

/* test_codec - truncated and damaged records are refused */

static void test_codec(void)
{
    struct store_attachment att = {"a.txt", "text/plain", 3};
    struct store_ticket_rec rec, out;
    struct store_article a, ao;
    struct store_history h, ho;
    struct buf *b = buf_create(0, 0);
    unsigned char *copy;
    size_t  len, i;
    int     refused;

    memset(&rec, 0, sizeof(rec));
    strcpy(rec.t.number, "2024102410000015");
    rec.t.title = "t";
    rec.t.queue = "q";
    rec.t.state = "new";
    rec.t.priority = 3;
    rec.t.type = "Incident";
    rec.t.owner = "alice";
    rec.t.customer = "c@example.com";
    rec.t.created = -5;				/* before 1970 */
    rec.t.changed = 1700000000;
    rec.t.n_articles_total = 7;
    rec.n_history = 9;
    store_codec_ticket_encode(b, &rec);
    len = buf_len(b);
    CU_ASSERT_EQUAL_FATAL(store_codec_ticket_decode(buf_data(b), len,
						    rec.t.number, &out), STORE_OK);
    CU_ASSERT_STRING_EQUAL(out.t.owner, "alice");
    CU_ASSERT_PTR_NULL(out.t.merged_into);
    CU_ASSERT_EQUAL(out.t.created, -5);
    CU_ASSERT_EQUAL(out.n_history, 9);
    store_ticket_fields_free(&out.t);
    /* Each copy is exactly as long as the prefix, so ASan sees overreads. */
    for (refused = 0, i = 0; i < len; i++) {
	copy = mem_memdup(buf_data(b), i);
	refused += store_codec_ticket_decode(copy, i, "1", &out) == STORE_PERM;
	mem_free(copy);
    }
    CU_ASSERT_EQUAL(refused, len);
    /* Trailing bytes, another version, another kind. */
    (void) buf_append(b, "x", 1);
    CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(b), len + 1, "1", &out),
		    STORE_PERM);
    buf_data_mut(b)[0] = STORE_REC_TICKET_VERSION + 1;
    CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(b), len, "1", &out),
		    STORE_PERM);
    buf_data_mut(b)[0] = 0;
    CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(b), len, "1", &out),
		    STORE_PERM);
    CU_ASSERT_EQUAL(store_codec_ticket_decode(0, 0, "1", &out), STORE_PERM);

    memset(&a, 0, sizeof(a));
    a.from = a.to = a.cc = a.subject = a.message_id = "x";
    a.body = "body";
    a.attachments = &att;
    a.n_attachments = 1;
    a.raw_len = 99;
    store_codec_article_encode(b, &a);
    len = buf_len(b);
    CU_ASSERT_EQUAL_FATAL(store_codec_article_decode(buf_data(b), len, 4, &ao),
			  STORE_OK);
    CU_ASSERT_EQUAL(ao.index, 4);
    CU_ASSERT_EQUAL(ao.raw_len, 99);
    CU_ASSERT_STRING_EQUAL(ao.attachments[0].content_type, "text/plain");
    store_article_fields_free(&ao);
    for (refused = 0, i = 0; i < len; i++) {
	copy = mem_memdup(buf_data(b), i);
	refused += store_codec_article_decode(copy, i, 1, &ao) == STORE_PERM;
	mem_free(copy);
    }
    CU_ASSERT_EQUAL(refused, len);
    /* The ticket decoder refuses an article record. */
    CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(b), len, "1", &out),
		    STORE_PERM);
    /* A huge attachment count does not allocate or crash. */
    copy = mem_memdup(buf_data(b), len);
    {
	size_t  off = len - 8 - (4 + 5) - (4 + 10) - 8 - 4;

	store_be32_put(copy + off, 0x7fffffff);
	CU_ASSERT_EQUAL(store_codec_article_decode(copy, len, 1, &ao), STORE_PERM);
    }
    mem_free(copy);

    memset(&h, 0, sizeof(h));
    h.at = 1;
    h.who = "system";
    h.what = "state";
    h.old_value = 0;
    h.new_value = "open";
    store_codec_history_encode(b, &h);
    len = buf_len(b);
    CU_ASSERT_EQUAL_FATAL(store_codec_history_decode(buf_data(b), len, &ho), STORE_OK);
    CU_ASSERT_PTR_NULL(ho.old_value);
    CU_ASSERT_STRING_EQUAL(ho.new_value, "open");
    store_history_fields_free(&ho);
    for (refused = 0, i = 0; i < len; i++) {
	copy = mem_memdup(buf_data(b), i);
	refused += store_codec_history_decode(copy, i, &ho) == STORE_PERM;
	mem_free(copy);
    }
    CU_ASSERT_EQUAL(refused, len);
    buf_destroy(&b);
}

/* expirer - run the lock detector for expired timeouts until told */

static atomic_int expirer_stop;

static void *expirer(void *arg)
{
    DB_ENV *env = arg;
    struct timespec ts = {0, 50 * 1000 * 1000};

    while (!atomic_load(&expirer_stop)) {
	(void) env->lock_detect(env, 0, DB_LOCK_EXPIRE, NULL);
	nanosleep(&ts, 0);
    }
    return (0);
}

/* test_retry - a lock conflict is STORE_RETRY; the batch is replayed */

static void test_retry(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_batch *b;
    struct store_result r;
    struct store_stats st;
    struct tmsg tm;
    DB_TXN *other;
    DB     *raw;
    DBT     k, d;
    pthread_t th;

    /* Another transaction holds the raw database's only page. */
    raw = s->db[STORE_DB_RAW];
    CU_ASSERT_EQUAL_FATAL(s->env->txn_begin(s->env, NULL, &other, 0), 0);
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.data = "zzz";
    k.size = 3;
    d.data = "x";
    d.size = 1;
    CU_ASSERT_EQUAL_FATAL(raw->put(raw, other, &k, &d, 0), 0);

    alarm(30);					/* a hang fails loudly */
    atomic_store(&expirer_stop, 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, 0, expirer, s->env), 0);
    tmsg_init(&tm, "retry@example.com", "retry");
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(b->txn->set_timeout(b->txn, 100000, DB_SET_LOCK_TIMEOUT), 0);
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r), STORE_RETRY);
    /* The batch is poisoned: no more work, and commit refuses. */
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r), STORE_RETRY);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_RETRY);
    CU_ASSERT_PTR_NULL(b);
    atomic_store(&expirer_stop, 1);
    pthread_join(th, 0);
    alarm(0);
    CU_ASSERT_EQUAL(other->abort(other), 0);

    /* The replay works and nothing of the first attempt remains. */
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.outcome, STORE_OUTCOME_NEW_TICKET);
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.tickets, 1);
    CU_ASSERT(st.deadlocks >= 1);
    store_close(&s);
    mem_free(dir);
}

/* Shared state of the concurrency test. */
struct conc {
    struct store *s;
    atomic_int done;
    atomic_int reads;
    atomic_int errors;
};

/* reader - list and read tickets until the writer is done */

static void *reader(void *arg)
{
    struct conc *c = arg;
    struct store_filter f;
    struct store_ticket *v, *t;
    size_t  n, i;
    int     st;

    memset(&f, 0, sizeof(f));
    f.limit = 5;
    while (!atomic_load(&c->done)) {
	f.queue = (atomic_load(&c->reads) % 2) ? "Helpdesk" : 0;
	if ((st = store_list(c->s, &f, &v, &n)) != STORE_OK) {
	    atomic_fetch_add(&c->errors, 1);
	    continue;
	}
	for (i = 0; i < n; i++) {
	    st = store_ticket_get(c->s, v[i].number, &t);
	    if (st == STORE_OK)
		store_ticket_free(&t);
	    else
		atomic_fetch_add(&c->errors, 1);
	}
	store_ticket_list_free(&v, n);
	atomic_fetch_add(&c->reads, 1);
    }
    return (0);
}

/* test_concurrent - one writer with replays, two readers */

static void test_concurrent(void)
{
    enum {N = 400, BATCH = 8};
    char   *dir = new_dir(), mid[64];
    struct conc c;
    struct store_batch *b;
    struct store_result r;
    struct store_stats st;
    struct tmsg tm;
    pthread_t th[2];
    int     i, j, status, replays = 0, bad = 0;

    memset(&c, 0, sizeof(c));
    c.s = open_store(dir);
    for (i = 0; i < 2; i++)
	CU_ASSERT_EQUAL_FATAL(pthread_create(th + i, 0, reader, &c), 0);
    for (i = 0; i < N; i += BATCH) {
	if (store_batch_begin(c.s, &b) != STORE_OK) {
	    bad++;
	    break;
	}
	for (status = STORE_OK, j = i; j < i + BATCH && status == STORE_OK; j++) {
	    snprintf(mid, sizeof(mid), "conc%d@example.com", j);
	    tmsg_init(&tm, mid, "concurrent");
	    if (j % 3 == 2) {			/* some follow-ups */
		snprintf(mid, sizeof(mid), "conc%d@example.com", j - 1);
		tm.refs[0] = mid;
		tm.m.n_references = 1;
	    }
	    status = store_deliver(b, conf, &tm.m, &r);
	}
	if (status == STORE_OK)
	    status = store_batch_commit(&b);
	else
	    store_batch_abort(&b);
	if (status == STORE_RETRY) {
	    replays++;
	    i -= BATCH;				/* replay the batch */
	} else if (status != STORE_OK) {
	    bad++;
	}
    }
    atomic_store(&c.done, 1);
    for (i = 0; i < 2; i++)
	pthread_join(th[i], 0);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(atomic_load(&c.errors), 0);
    CU_ASSERT(atomic_load(&c.reads) > 0);
    CU_ASSERT_EQUAL(store_stats(c.s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.articles, N);
    CU_ASSERT_EQUAL(st.tickets, N - N / 3);
    printf("\n    concurrent: %d reads, %d replays, %llu deadlocks\n",
	   atomic_load(&c.reads), replays, (unsigned long long) st.deadlocks);
    store_close(&c.s);
    mem_free(dir);
}

/* run_bench - n deliveries in batches of size; messages per second */

static double run_bench(int n, int size, struct store_stats *st)
{
    char   *dir = new_dir(), mid[64];
    struct store *s = open_store(dir);
    struct store_batch *b = 0;
    struct store_result r;
    struct tmsg tm;
    uint64_t t0, t1;
    int     i, bad = 0;
    static char body[4096];

    memset(body, 'x', sizeof(body) - 1);
    t0 = time_now_ms();
    for (i = 0; i < n; i++) {
	if (b == 0 && store_batch_begin(s, &b) != STORE_OK)
	    bad++;
	snprintf(mid, sizeof(mid), "bench%d@example.com", i);
	tmsg_init(&tm, mid, "bench");
	tm.m.body = body;			/* a 4 KB mail: body and raw */
	tm.m.raw = body;
	tm.m.raw_len = sizeof(body) - 1;
	if (i % 2 && i > 1) {			/* half are follow-ups */
	    snprintf(mid, sizeof(mid), "bench%d@example.com", i - 1);
	    tm.refs[0] = mid;
	    tm.m.n_references = 1;
	}
	if (b && store_deliver(b, conf, &tm.m, &r) != STORE_OK)
	    bad++;
	if (b && ((i + 1) % size == 0 || i == n - 1) && store_batch_commit(&b) != STORE_OK)
	    bad++;
    }
    t1 = time_now_ms();
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(store_stats(s, st), STORE_OK);
    store_close(&s);
    mem_free(dir);
    return (n * 1000.0 / (double) (t1 > t0 ? t1 - t0 : 1));
}

/* test_bench - a quick measurement, printed, not asserted */

static void test_bench(void)
{
    const char *env = getenv("POSTDESK_STORE_BENCH");
    int     n = env ? atoi(env) : 1000;
    struct store_stats st1, st16;
    double  r1, r16;

    if (n <= 0)
	return;
    r1 = run_bench(n, 1, &st1);
    r16 = run_bench(n, 16, &st16);
    printf("\n    bench: %d deliveries: batch 1: %.0f msg/s (%llu commits, "
	   "%llu log flushes); batch 16: %.0f msg/s (%llu commits, "
	   "%llu log flushes)\n", n, r1,
	   (unsigned long long) st1.batches, (unsigned long long) st1.log_flushes,
	   r16, (unsigned long long) st16.batches,
	   (unsigned long long) st16.log_flushes);
    CU_ASSERT_EQUAL(st1.batched_messages, (uint64_t) n);
    CU_ASSERT_EQUAL(st16.batches, (uint64_t) (n + 15) / 16);
    /* Batching must show in the flush count: far fewer than one a message. */
    CU_ASSERT(st16.log_flushes < st1.log_flushes);
}

/*
 * Articles written by postdesk, batch reads, acknowledgement limits,
 * the outbox.
 */

/* ack_input - a system acknowledgement article */

static void ack_input(struct store_article_input *in, const char *mid,
		              time_t at, const char *raw)
{
    memset(in, 0, sizeof(*in));
    in->sender_type = STORE_SENDER_SYSTEM;
    in->channel = STORE_CHANNEL_EMAIL;
    in->visible_to_customer = 1;
    in->seen = 1;
    in->who = "system";
    in->from = "Helpdesk <helpdesk@example.org>";
    in->to = "marie.dupont@example.com";
    in->cc = "";
    in->subject = "[Ticket#1] Accusé de réception";
    in->message_id = mid;
    in->body = "Nous avons bien reçu votre demande.";
    in->at = at;
    in->raw = raw;
    in->raw_len = raw ? strlen(raw) : 0;
}

/* add1 - one store_article_add in its own batch */

static int add1(struct store *s, const char *number,
		        const struct store_article_input *in, uint32_t *index_r)
{
    struct store_batch *b;
    int     st;

    if ((st = store_batch_begin(s, &b)) != STORE_OK)
	return (st);
    if ((st = store_article_add(b, "TEST", number, in, index_r)) != STORE_OK) {
	store_batch_abort(&b);
	return (st);
    }
    return (store_batch_commit(&b));
}

/* test_article_add - fields, index, history, raw, threading */

static void test_article_add(void)
{
    static const char raw[] = "Message-ID: <ack.1@desk.example.org>\r\n\r\nok\r\n";
    char   *dir = new_dir(), *rawr = 0;
    struct store *s = open_store(dir);
    struct store_article_input in;
    struct store_result r, r2, r3;
    struct store_batch *b;
    struct store_ticket *t;
    struct store_article *a;
    struct store_stats st;
    struct tmsg tm;
    uint32_t index = 0;
    size_t  len = 0;
    time_t  at;

    tmsg_init(&tm, "ask@example.com", "Badge perdu");
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    at = tm.m.received + 60;
    ack_input(&in, "Ack.1@Desk.Example.Org", at, raw);
    CU_ASSERT_EQUAL(add1(s, r.number, &in, &index), STORE_OK);
    CU_ASSERT_EQUAL(index, 2);

    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->n_articles_total, 2);
    CU_ASSERT_EQUAL(t->changed, at);
    CU_ASSERT_EQUAL(t->created, tm.m.received);
    CU_ASSERT_STRING_EQUAL(t->state, "new");
    CU_ASSERT_EQUAL_FATAL(t->n_articles, 2);
    a = t->articles + 1;
    CU_ASSERT_EQUAL(a->index, 2);
    CU_ASSERT_EQUAL(a->sender_type, STORE_SENDER_SYSTEM);
    CU_ASSERT_EQUAL(a->channel, STORE_CHANNEL_EMAIL);
    CU_ASSERT_EQUAL(a->visible_to_customer, 1);
    CU_ASSERT_EQUAL(a->seen, 1);
    CU_ASSERT_STRING_EQUAL(a->from, "Helpdesk <helpdesk@example.org>");
    CU_ASSERT_STRING_EQUAL(a->to, "marie.dupont@example.com");
    CU_ASSERT_STRING_EQUAL(a->subject, "[Ticket#1] Accusé de réception");
    CU_ASSERT_STRING_EQUAL(a->message_id, "Ack.1@Desk.Example.Org");
    CU_ASSERT_STRING_EQUAL(a->body, "Nous avons bien reçu votre demande.");
    CU_ASSERT_EQUAL(a->received, at);
    CU_ASSERT_EQUAL(a->n_attachments, 0);
    CU_ASSERT_EQUAL(a->raw_len, strlen(raw));
    CU_ASSERT_EQUAL_FATAL(t->n_history, 2);
    CU_ASSERT_STRING_EQUAL(t->history[1].what, "article");
    CU_ASSERT_STRING_EQUAL(t->history[1].who, "system");
    CU_ASSERT_STRING_EQUAL(t->history[1].new_value, "2");
    CU_ASSERT_EQUAL(t->history[1].at, at);
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(store_raw_get(s, r.number, 2, &rawr, &len), STORE_OK);
    CU_ASSERT(rawr && len == strlen(raw) && memcmp(rawr, raw, len) == 0);
    mem_free(rawr);
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.articles, 2);

    /* Without raw bytes: no raw record; an agent's note, unseen. */
    ack_input(&in, "", at + 1, 0);
    in.sender_type = STORE_SENDER_AGENT;
    in.channel = STORE_CHANNEL_NOTE;
    in.visible_to_customer = 0;
    in.seen = 0;
    in.who = "jdupont";
    CU_ASSERT_EQUAL(add1(s, r.number, &in, &index), STORE_OK);
    CU_ASSERT_EQUAL(index, 3);
    CU_ASSERT_EQUAL(store_raw_get(s, r.number, 3, &rawr, &len), STORE_NOTFOUND);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL_FATAL(t->n_articles, 3);
    CU_ASSERT_EQUAL(t->articles[2].raw_len, 0);
    CU_ASSERT_EQUAL(t->articles[2].sender_type, STORE_SENDER_AGENT);
    CU_ASSERT_EQUAL(t->articles[2].channel, STORE_CHANNEL_NOTE);
    CU_ASSERT_EQUAL(t->articles[2].visible_to_customer, 0);
    CU_ASSERT_EQUAL(t->articles[2].seen, 0);
    CU_ASSERT_EQUAL_FATAL(t->n_history, 3);
    CU_ASSERT_STRING_EQUAL(t->history[2].who, "jdupont");
    store_ticket_free(&t);

    /* A reply to our article threads into the ticket (any case). */
    tmsg_init(&tm, "answer@example.com", "Re: Accusé de réception");
    tm.refs[0] = "ack.1@desk.example.ORG";
    tm.m.n_references = 1;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r2.number, r.number);
    CU_ASSERT_EQUAL(r2.article, 4);

    /* Unknown ticket: NOTFOUND, and the batch stays usable. Bad input. */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_article_add(b, "TEST", "2024102410999990", &in,
				      &index), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(index, 0);
    in.sender_type = (enum store_sender_type) 7;
    CU_ASSERT_EQUAL(store_article_add(b, "TEST", r.number, &in, &index),
		    STORE_PERM);
    in.sender_type = STORE_SENDER_AGENT;
    CU_ASSERT_EQUAL(store_article_add(b, "TEST", r.number, 0, &index),
		    STORE_PERM);
    /* In one batch with store_deliver: both see each other's writes. */
    tmsg_init(&tm, "batch1@example.com", "Nouveau");
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r3), STORE_OK);
    CU_ASSERT_EQUAL(r3.outcome, STORE_OUTCOME_NEW_TICKET);
    ack_input(&in, "ack.2@desk.example.org", tm.m.received, 0);
    CU_ASSERT_EQUAL(store_article_add(b, "TEST", r3.number, &in, &index),
		    STORE_OK);
    CU_ASSERT_EQUAL(index, 2);
    tmsg_init(&tm, "batch2@example.com", "Re: Nouveau");
    tm.refs[0] = "ack.2@desk.example.org";
    tm.m.n_references = 1;
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r2.number, r3.number);
    CU_ASSERT_EQUAL(r2.article, 3);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    t = get_ticket(s, r3.number);
    CU_ASSERT_EQUAL(t->n_articles, 3);
    CU_ASSERT_EQUAL(t->n_articles_total, 3);
    CU_ASSERT_EQUAL(t->n_history, 3);		/* created, article, article */
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.articles, 7);
    CU_ASSERT_EQUAL(st.tickets, 2);
    store_close(&s);
    mem_free(dir);
}

/* test_batch_ticket_get - the batch's own uncommitted writes */

static void test_batch_ticket_get(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_article_input in;
    struct store_result r;
    struct store_batch *b;
    struct store_ticket *t = 0;
    struct tmsg tm;
    uint32_t index;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    tmsg_init(&tm, "inbatch@example.com", "Dans le lot");
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_ticket_get(b, r.number, &t), STORE_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->number, r.number);
    CU_ASSERT_STRING_EQUAL(t->title, "Dans le lot");
    CU_ASSERT_STRING_EQUAL(t->customer, "marie.dupont@example.com");
    CU_ASSERT_EQUAL(t->n_articles, 1);
    CU_ASSERT_EQUAL(t->n_history, 0);		/* never history */
    CU_ASSERT_PTR_NULL(t->history);
    store_ticket_free(&t);
    ack_input(&in, "", tm.m.received + 5, 0);
    CU_ASSERT_EQUAL(store_article_add(b, "TEST", r.number, &in, &index), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_ticket_get(b, r.number, &t), STORE_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->n_articles_total, 2);
    CU_ASSERT_EQUAL_FATAL(t->n_articles, 2);
    CU_ASSERT_STRING_EQUAL(t->articles[1].subject, in.subject);
    CU_ASSERT_EQUAL(t->changed, tm.m.received + 5);
    store_ticket_free(&t);
    /* Only some articles: listed ones that exist, each once, in order. */
    for (int k = 0; k < 3; k++) {
	ack_input(&in, "", tm.m.received + 10 + k, 0);
	CU_ASSERT_EQUAL(store_article_add(b, "TEST", r.number, &in, &index), STORE_OK);
    }
    {
	uint32_t want[] = {1, 4, 4, 0, 99};

	CU_ASSERT_EQUAL(store_batch_ticket_get_articles(b, r.number, want, 5, &t),
			STORE_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->n_articles_total, 5);
	CU_ASSERT_EQUAL_FATAL(t->n_articles, 2);
	CU_ASSERT_EQUAL(t->articles[0].index, 1);
	CU_ASSERT_EQUAL(t->articles[1].index, 4);
	CU_ASSERT_EQUAL(t->articles[1].received, tm.m.received + 11);
	CU_ASSERT_STRING_EQUAL(t->customer, "marie.dupont@example.com");
	store_ticket_free(&t);
	CU_ASSERT_EQUAL(store_batch_ticket_get_articles(b, "2024102410999990",
							want, 2, &t), STORE_NOTFOUND);
	CU_ASSERT_PTR_NULL(t);
    }
    CU_ASSERT_EQUAL(store_batch_ticket_get(b, "2024102410999990", &t),
		    STORE_NOTFOUND);
    CU_ASSERT_PTR_NULL(t);
    store_batch_abort(&b);

    /* After the abort nothing is there, and NOTFOUND does not poison. */
    CU_ASSERT_EQUAL(store_ticket_get(s, r.number, &t), STORE_NOTFOUND);
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_ticket_get(b, r.number, &t), STORE_NOTFOUND);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_EQUAL(store_deliver(b, conf, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    /* A committed ticket, read through a later batch. */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_ticket_get(b, r.number, &t), STORE_OK);
    CU_ASSERT(t && t->n_articles == 1);
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    store_close(&s);
    mem_free(dir);
}

/* charge1 - store_ack_charge in its own batch; the allowed flag */

static int charge1(struct store *s, const char *addr, time_t now,
		           unsigned limit)
{
    struct store_batch *b;
    int     allowed = -1;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ack_charge(b, addr, now, limit, &allowed), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    return (allowed);
}

/* test_ack_charge - a sliding 24 h window per address */

static void test_ack_charge(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    const time_t t0 = 1700000000, day = 24 * 60 * 60;
    struct store_batch *b;
    int     allowed = -1;

    CU_ASSERT_EQUAL(charge1(s, "Marie@Example.COM", t0, 3), 1);
    /* Three in one batch: the batch sees its own charges. */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ack_charge(b, "marie@example.com", t0 + 10, 3,
				     &allowed), STORE_OK);
    CU_ASSERT_EQUAL(allowed, 1);
    CU_ASSERT_EQUAL(store_ack_charge(b, "MARIE@EXAMPLE.COM", t0 + 20, 3,
				     &allowed), STORE_OK);
    CU_ASSERT_EQUAL(allowed, 1);
    CU_ASSERT_EQUAL(store_ack_charge(b, "marie@example.com", t0 + 30, 3,
				     &allowed), STORE_OK);
    CU_ASSERT_EQUAL(allowed, 0);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    /* Refused while the first one is within 24 hours. */
    CU_ASSERT_EQUAL(charge1(s, "marie@example.com", t0 + day - 1, 3), 0);
    /* Another address has its own count. */
    CU_ASSERT_EQUAL(charge1(s, "bob@example.com", t0 + 30, 3), 1);
    /* 24 h after the first: it leaves the window, one more is allowed. */
    CU_ASSERT_EQUAL(charge1(s, "marie@example.com", t0 + day, 3), 1);
    CU_ASSERT_EQUAL(charge1(s, "marie@example.com", t0 + day + 5, 3), 0);
    /* Refusals recorded nothing: t0+10 and t0+20 leave, two are free. */
    CU_ASSERT_EQUAL(charge1(s, "marie@example.com", t0 + day + 20, 3), 1);
    CU_ASSERT_EQUAL(charge1(s, "marie@example.com", t0 + day + 21, 3), 1);
    CU_ASSERT_EQUAL(charge1(s, "marie@example.com", t0 + day + 22, 3), 0);
    /* A charge in an aborted batch is not kept. */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ack_charge(b, "new@example.com", t0, 1, &allowed),
		    STORE_OK);
    CU_ASSERT_EQUAL(allowed, 1);
    store_batch_abort(&b);
    CU_ASSERT_EQUAL(charge1(s, "new@example.com", t0, 1), 1);
    CU_ASSERT_EQUAL(charge1(s, "new@example.com", t0, 1), 0);
    /* Limit 0 refuses; an empty address is bad input. */
    CU_ASSERT_EQUAL(charge1(s, "zero@example.com", t0, 0), 0);
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ack_charge(b, "", t0, 3, &allowed), STORE_PERM);
    CU_ASSERT_EQUAL(allowed, 0);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    /* Kept across a restart. */
    store_close(&s);
    s = open_store(dir);
    CU_ASSERT_EQUAL(charge1(s, "bob@example.com", t0 + 40, 1), 0);
    store_close(&s);
    mem_free(dir);
}

/* count_db - records in one database */

static size_t count_db(struct store *s, int which)
{
    struct store_scratch k = {0}, d = {0};
    size_t  klen = 0, dlen, n = 0;
    DBC    *dbc;

    CU_ASSERT_EQUAL_FATAL(s->db[which]->cursor(s->db[which], NULL, &dbc, 0), 0);
    while (store_cursor_get(dbc, &k, &klen, &d, &dlen, DB_NEXT) == 0)
	n++;
    (void) dbc->close(dbc);
    store_scratch_free(&k);
    store_scratch_free(&d);
    return (n);
}

/* test_ack_prune - addresses out of the window are forgotten */

static void test_ack_prune(void)
{
    enum {OLD = 300};			/* more than one pruning chunk */
    char   *dir = new_dir(), addr[64];
    struct store *s = open_store(dir);
    const time_t t0 = 1700000000, day = 24 * 60 * 60;
    struct store_batch *b;
    int     allowed, i;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    for (i = 0; i < OLD; i++) {
	snprintf(addr, sizeof(addr), "old%03d@example.com", i);
	CU_ASSERT_EQUAL(store_ack_charge(b, addr, t0 + i % 7, 3, &allowed),
			STORE_OK);
    }
    CU_ASSERT_EQUAL(store_ack_charge(b, "Recent@example.com", t0 + day - 10, 1,
				     &allowed), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    CU_ASSERT_EQUAL(count_db(s, STORE_DB_ACKS), OLD + 1);
    /* At t0 + day + 5 only the times t0 + 6 are recent: 42 of the old
       addresses (i % 7 == 6, i < 300) and the recent one stay. */
    CU_ASSERT_EQUAL(store_ack_prune(s, t0 + day + 5), STORE_OK);
    CU_ASSERT_EQUAL(count_db(s, STORE_DB_ACKS), 42 + 1);
    CU_ASSERT_EQUAL(store_ack_prune(s, t0 + day + 6), STORE_OK);
    CU_ASSERT_EQUAL(count_db(s, STORE_DB_ACKS), 1);
    /* The recent one still counts. */
    CU_ASSERT_EQUAL(charge1(s, "recent@example.com", t0 + day + 6, 1), 0);
    /* The first checkpoint after open prunes with the real clock. */
    CU_ASSERT_EQUAL(store_checkpoint(s), STORE_OK);
    CU_ASSERT_EQUAL(count_db(s, STORE_DB_ACKS), 0);
    store_close(&s);
    mem_free(dir);
}

/* A test mail for the outbox. */
static const char *const out_rcpts[] = {"marie.dupont@example.com",
"bob@example.com"};
static const char out_data[] = "Subject: ok\r\n\r\nNUL:\0 bytes\r\n";

/* out_mail - a two-recipient mail about ticket number */

static void out_mail(struct store_outbox_mail *m, const char *number,
		             const char *kind, const char *mid)
{
    memset(m, 0, sizeof(*m));
    m->number = number;
    m->kind = kind;
    m->envelope_from = "";
    m->recipients = out_rcpts;
    m->n_recipients = 2;
    m->message_id = mid;
    m->data = out_data;
    m->len = sizeof(out_data) - 1;
}

/* out_add1 - store_outbox_add in its own batch; the id */

static uint64_t out_add1(struct store *s, const struct store_outbox_mail *m)
{
    struct store_batch *b;
    uint64_t id = 0;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_outbox_add(b, m, &id), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    return (id);
}

/* out_due - ids of the rows due at now, into ids; the count */

static size_t out_due(struct store *s, time_t now, uint64_t *ids, size_t max)
{
    struct store_outbox_item *v = 0;
    size_t  n = 0, i;

    CU_ASSERT_EQUAL(store_outbox_due(s, now, max, &v, &n), STORE_OK);
    for (i = 0; i < n; i++) {
	ids[i] = v[i].id;
	CU_ASSERT_EQUAL(v[i].state, STORE_OUTBOX_PENDING);
	CU_ASSERT_PTR_NOT_NULL(v[i].data);
    }
    store_outbox_items_free(&v, n);
    return (n);
}

/* out_find - the listed row with id (include_sent), or NULL */

static struct store_outbox_item *out_find(struct store_outbox_item *v, size_t n,
					          uint64_t id)
{
    size_t  i;

    for (i = 0; i < n; i++)
	if (v[i].id == id)
	    return (v + i);
    return (0);
}

/* test_outbox - add, due, result, list, retry, threading, reopen */

static void test_outbox(void)
{
    static const char *const bad_rcpts[] = {"a@example.com\r\nRCPT TO:<x>"};
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_outbox_item *v = 0, *it;
    struct store_outbox_mail m;
    struct store_result r, r2;
    struct store_batch *b;
    struct store_ticket *t;
    struct store_stats st;
    struct tmsg tm;
    uint64_t id = 0, id1, id2, ids[8];
    time_t  now, when = -1;
    size_t  n = 0;

    tmsg_init(&tm, "req@example.com", "Accès VPN");
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);

    /* An aborted batch leaves nothing, not even a used id. */
    out_mail(&m, r.number, "ack", "Out.1@Desk.Example.Org");
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_outbox_add(b, &m, &id), STORE_OK);
    CU_ASSERT_EQUAL(id, 1);
    store_batch_abort(&b);
    CU_ASSERT_EQUAL(store_outbox_list(s, 1, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 0);
    store_outbox_items_free(&v, n);
    CU_ASSERT_EQUAL(out_due(s, time(0) + 3600, ids, 8), 0);
    CU_ASSERT_EQUAL(store_outbox_next_time(s, &when), STORE_OK);
    CU_ASSERT_EQUAL(when, 0);

    /* Committed: due with its data once next_attempt <= now. */
    now = time(0);
    id1 = out_add1(s, &m);
    CU_ASSERT_EQUAL(id1, 1);
    CU_ASSERT_EQUAL(store_outbox_due(s, now + 1, 8, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(v[0].id, id1);
    CU_ASSERT_STRING_EQUAL(v[0].number, r.number);
    CU_ASSERT_STRING_EQUAL(v[0].kind, "ack");
    CU_ASSERT_STRING_EQUAL(v[0].envelope_from, "");
    CU_ASSERT_EQUAL_FATAL(v[0].n_recipients, 2);
    CU_ASSERT_STRING_EQUAL(v[0].recipients[0], out_rcpts[0]);
    CU_ASSERT_STRING_EQUAL(v[0].recipients[1], out_rcpts[1]);
    CU_ASSERT_STRING_EQUAL(v[0].message_id, "Out.1@Desk.Example.Org");
    CU_ASSERT_EQUAL(v[0].len, sizeof(out_data) - 1);
    CU_ASSERT(v[0].data && memcmp(v[0].data, out_data, v[0].len) == 0);
    CU_ASSERT_EQUAL(v[0].state, STORE_OUTBOX_PENDING);
    CU_ASSERT_EQUAL(v[0].attempts, 0);
    CU_ASSERT(v[0].created >= now && v[0].created <= now + 1);
    CU_ASSERT_EQUAL(v[0].next_attempt, v[0].created);
    CU_ASSERT_EQUAL(v[0].last_attempt, 0);
    CU_ASSERT_STRING_EQUAL(v[0].last_error, "");
    CU_ASSERT_EQUAL(out_due(s, v[0].created - 1, ids, 8), 0);
    CU_ASSERT_EQUAL(store_outbox_next_time(s, &when), STORE_OK);
    CU_ASSERT_EQUAL(when, v[0].created);
    store_outbox_items_free(&v, n);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_EQUAL(out_due(s, now + 1, ids, 0), 0);	/* max 0 */
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.outbox_pending, 1);
    CU_ASSERT_EQUAL(st.outbox_failed, 0);

    /* A reply to our mail threads into the ticket. */
    tmsg_init(&tm, "re1@example.com", "Re: Accès VPN");
    tm.refs[0] = "out.1@desk.example.org";
    tm.m.n_references = 1;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r2.number, r.number);

    /* A second row, without a ticket. */
    out_mail(&m, "", "new-ticket", "");
    id2 = out_add1(s, &m);
    CU_ASSERT_EQUAL(id2, 2);

    /* PENDING: attempted, due later. */
    now = time(0);
    CU_ASSERT_EQUAL(store_outbox_result(s, id1, STORE_OUTBOX_PENDING, now + 600,
					"451 4.3.0 try later\r\n"), STORE_OK);
    CU_ASSERT_EQUAL(out_due(s, now + 1, ids, 8), 1);
    CU_ASSERT_EQUAL(ids[0], id2);
    CU_ASSERT_EQUAL(out_due(s, now + 600, ids, 8), 2);
    CU_ASSERT(ids[0] == id2 && ids[1] == id1);	/* earliest first */
    CU_ASSERT_EQUAL(out_due(s, now + 600, ids, 1), 1);
    CU_ASSERT_EQUAL(store_outbox_list(s, 0, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(v[0].id, id1);			/* oldest first */
    CU_ASSERT_PTR_NULL(v[0].data);
    CU_ASSERT_EQUAL(v[0].len, sizeof(out_data) - 1);
    CU_ASSERT_EQUAL(v[0].attempts, 1);
    CU_ASSERT(v[0].last_attempt >= now && v[0].last_attempt <= now + 1);
    CU_ASSERT_EQUAL(v[0].next_attempt, now + 600);
    CU_ASSERT_STRING_EQUAL(v[0].last_error, "451 4.3.0 try later??");
    store_outbox_items_free(&v, n);

    /* SENT: no longer due, data dropped, listed with include_sent. */
    CU_ASSERT_EQUAL(store_outbox_result(s, id2, STORE_OUTBOX_SENT, 0, 0),
		    STORE_OK);
    CU_ASSERT_EQUAL(out_due(s, now + 86400, ids, 8), 1);
    CU_ASSERT_EQUAL(ids[0], id1);
    CU_ASSERT_EQUAL(store_outbox_next_time(s, &when), STORE_OK);
    CU_ASSERT_EQUAL(when, now + 600);
    CU_ASSERT_EQUAL(store_outbox_list(s, 0, &v, &n), STORE_OK);
    CU_ASSERT(n == 1 && v[0].id == id1);
    store_outbox_items_free(&v, n);
    CU_ASSERT_EQUAL(store_outbox_list(s, 1, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 2);
    it = out_find(v, n, id2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    CU_ASSERT_EQUAL(it->state, STORE_OUTBOX_SENT);
    CU_ASSERT_EQUAL(it->attempts, 1);
    CU_ASSERT_STRING_EQUAL(it->kind, "new-ticket");
    CU_ASSERT_EQUAL(it->n_recipients, 2);
    CU_ASSERT_PTR_NULL(it->data);
    store_outbox_items_free(&v, n);
    {
	struct store_scratch sc = {0};
	unsigned char key[8];

	store_be64_put(key, id2);
	CU_ASSERT_EQUAL(store_get(s->db[STORE_DB_OUTBOX_DATA], NULL, key, 8,
				  &sc, &n, 0), DB_NOTFOUND);
	store_scratch_free(&sc);
    }
    CU_ASSERT_EQUAL(store_outbox_result(s, id2, STORE_OUTBOX_SENT, 0, 0),
		    STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_outbox_retry(s, id2), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_outbox_result(s, 999, STORE_OUTBOX_FAILED, 0, "x"),
		    STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_outbox_retry(s, 999), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_outbox_result(s, id1, (enum store_outbox_state) 9,
					0, 0), STORE_PERM);

    /* FAILED: a history record in the ticket; kept, not due. */
    CU_ASSERT_EQUAL(store_outbox_result(s, id1, STORE_OUTBOX_FAILED, 0,
					"550 5.1.1 no such user"), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_FATAL(t->n_history >= 1);
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].what, "mail failed");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].who, "system");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].new_value,
			   "ack: 550 5.1.1 no such user");
    CU_ASSERT_EQUAL(t->n_articles, 2);		/* no article for it */
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(out_due(s, now + 86400, ids, 8), 0);
    CU_ASSERT_EQUAL(store_outbox_next_time(s, &when), STORE_OK);
    CU_ASSERT_EQUAL(when, 0);
    CU_ASSERT_EQUAL(store_outbox_list(s, 0, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(v[0].state, STORE_OUTBOX_FAILED);
    CU_ASSERT_EQUAL(v[0].attempts, 2);
    CU_ASSERT_STRING_EQUAL(v[0].last_error, "550 5.1.1 no such user");
    store_outbox_items_free(&v, n);
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.outbox_pending, 0);
    CU_ASSERT_EQUAL(st.outbox_failed, 1);

    /* Retry: PENDING again, due now, attempts kept, data still there. */
    CU_ASSERT_EQUAL(store_outbox_retry(s, id1), STORE_OK);
    CU_ASSERT_EQUAL(store_outbox_due(s, time(0), 8, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(v[0].id, id1);
    CU_ASSERT_EQUAL(v[0].attempts, 2);
    CU_ASSERT(v[0].data && memcmp(v[0].data, out_data, v[0].len) == 0);
    store_outbox_items_free(&v, n);
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.outbox_pending, 1);
    CU_ASSERT_EQUAL(st.outbox_failed, 0);
    /* Retry of a PENDING row due later makes it due now. */
    CU_ASSERT_EQUAL(store_outbox_result(s, id1, STORE_OUTBOX_PENDING,
					time(0) + 3600, "busy"), STORE_OK);
    CU_ASSERT_EQUAL(out_due(s, time(0), ids, 8), 0);
    CU_ASSERT_EQUAL(store_outbox_retry(s, id1), STORE_OK);
    CU_ASSERT_EQUAL(out_due(s, time(0), ids, 8), 1);

    /* Malformed mail: refused, the batch stays usable. */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    out_mail(&m, r.number, "ack", "");
    m.recipients = bad_rcpts;
    m.n_recipients = 1;
    CU_ASSERT_EQUAL(store_outbox_add(b, &m, &id), STORE_PERM);
    m.n_recipients = 0;
    CU_ASSERT_EQUAL(store_outbox_add(b, &m, &id), STORE_PERM);
    out_mail(&m, r.number, "ack", "x@y\r\nBcc: z");
    CU_ASSERT_EQUAL(store_outbox_add(b, &m, &id), STORE_PERM);
    CU_ASSERT_EQUAL(store_outbox_add(b, 0, &id), STORE_PERM);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);

    /* Ids keep increasing across a restart. */
    store_close(&s);
    s = open_store(dir);
    out_mail(&m, r.number, "follow-up", "");
    CU_ASSERT_EQUAL(out_add1(s, &m), 3);
    CU_ASSERT_EQUAL(store_outbox_list(s, 1, &v, &n), STORE_OK);
    CU_ASSERT(n == 3 && v[0].id == 1 && v[1].id == 2 && v[2].id == 3);
    store_outbox_items_free(&v, n);
    store_close(&s);
    mem_free(dir);
}

/* test_codec_outbox - the outbox record round-trips, damage is refused */

static void test_codec_outbox(void)
{
    char   *rcpts[2] = {"a@example.com", "b@example.com"};
    struct store_outbox_item it, out;
    struct buf *b = buf_create(0, 0);
    unsigned char *copy;
    size_t  len, i;
    int     refused;

    memset(&it, 0, sizeof(it));
    it.number = "2024102410000015";
    it.kind = "ack";
    it.envelope_from = "";
    it.recipients = rcpts;
    it.n_recipients = 2;
    it.message_id = "m@x";
    it.len = 1234;
    it.state = STORE_OUTBOX_FAILED;
    it.attempts = 7;
    it.created = 1700000000;
    it.next_attempt = 1700000600;
    it.last_attempt = 1700000300;
    it.last_error = "550 no";
    store_codec_outbox_encode(b, &it);
    len = buf_len(b);
    CU_ASSERT_EQUAL(buf_data(b)[STORE_OUTBOX_STATE_OFFSET], STORE_OUTBOX_FAILED);
    CU_ASSERT_EQUAL_FATAL(store_codec_outbox_decode(buf_data(b), len, 42, &out),
			  STORE_OK);
    CU_ASSERT_EQUAL(out.id, 42);
    CU_ASSERT_STRING_EQUAL(out.number, it.number);
    CU_ASSERT_STRING_EQUAL(out.kind, "ack");
    CU_ASSERT_STRING_EQUAL(out.envelope_from, "");
    CU_ASSERT_EQUAL_FATAL(out.n_recipients, 2);
    CU_ASSERT_STRING_EQUAL(out.recipients[1], "b@example.com");
    CU_ASSERT_STRING_EQUAL(out.message_id, "m@x");
    CU_ASSERT_PTR_NULL(out.data);
    CU_ASSERT_EQUAL(out.len, 1234);
    CU_ASSERT_EQUAL(out.state, STORE_OUTBOX_FAILED);
    CU_ASSERT_EQUAL(out.attempts, 7);
    CU_ASSERT_EQUAL(out.created, 1700000000);
    CU_ASSERT_EQUAL(out.next_attempt, 1700000600);
    CU_ASSERT_EQUAL(out.last_attempt, 1700000300);
    CU_ASSERT_STRING_EQUAL(out.last_error, "550 no");
    store_outbox_item_fields_free(&out);
    for (refused = 0, i = 0; i < len; i++) {
	copy = mem_memdup(buf_data(b), i);
	refused += store_codec_outbox_decode(copy, i, 1, &out) == STORE_PERM;
	mem_free(copy);
    }
    CU_ASSERT_EQUAL(refused, len);
    copy = mem_memdup(buf_data(b), len);
    copy[STORE_OUTBOX_STATE_OFFSET] = 3;	/* no such state */
    CU_ASSERT_EQUAL(store_codec_outbox_decode(copy, len, 1, &out), STORE_PERM);
    copy[STORE_OUTBOX_STATE_OFFSET] = STORE_OUTBOX_FAILED;
    /* A huge recipient count does not allocate or crash. */
    store_be32_put(copy + len - 2 * (4 + 13) - 4, 0x7fffffff);
    CU_ASSERT_EQUAL(store_codec_outbox_decode(copy, len, 1, &out), STORE_PERM);
    mem_free(copy);
    /* Other kinds of records are refused. */
    CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(b), len, "1",
					      &(struct store_ticket_rec) {0}),
		    STORE_PERM);
    buf_destroy(&b);
}

/* test_outbox_trim - only the newest SENT rows are kept */

static void test_outbox_trim(void)
{
    enum {SENT = 7, KEEP = 3};
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_outbox_item *v = 0;
    struct store_outbox_mail m;
    uint64_t id, pending, failed;
    size_t  n = 0, i;
    int     k;

    out_mail(&m, "", "ack", "");
    pending = out_add1(s, &m);
    failed = out_add1(s, &m);
    CU_ASSERT_EQUAL(store_outbox_result(s, failed, STORE_OUTBOX_FAILED, 0, "no"),
		    STORE_OK);
    for (k = 0; k < SENT; k++) {
	id = out_add1(s, &m);
	CU_ASSERT_EQUAL(store_outbox_result(s, id, STORE_OUTBOX_SENT, 0, 0),
			STORE_OK);
    }
    s->outbox_sent_keep = KEEP;
    CU_ASSERT_EQUAL(store_checkpoint(s), STORE_OK);
    CU_ASSERT_EQUAL(store_outbox_list(s, 1, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, KEEP + 2);
    CU_ASSERT_EQUAL(v[0].id, pending);
    CU_ASSERT_EQUAL(v[1].id, failed);
    for (i = 2; i < n; i++) {			/* the newest sent rows */
	CU_ASSERT_EQUAL(v[i].state, STORE_OUTBOX_SENT);
	CU_ASSERT_EQUAL(v[i].id, 2 + SENT - KEEP + (i - 2) + 1);
    }
    store_outbox_items_free(&v, n);
    /* Nothing more to do the second time. */
    CU_ASSERT_EQUAL(store_checkpoint(s), STORE_OK);
    CU_ASSERT_EQUAL(store_outbox_list(s, 1, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, KEEP + 2);
    store_outbox_items_free(&v, n);
    store_close(&s);
    mem_free(dir);
}

/* test_outbox_crash - kill -9: exactly the committed rows are due */

static void test_outbox_crash(void)
{
    char   *dir = new_dir();
    struct store_outbox_mail m;
    struct store *s;
    uint64_t ids[8];
    pid_t   pid;
    int     status = 0;

    out_mail(&m, "", "ack", "");
    fflush(0);
    if ((pid = fork()) == 0) {
	struct store_batch *b;
	char   *err = 0;
	uint64_t id;

	if (store_open(dir, &s, &err) != STORE_OK)
	    _exit(2);
	if (store_batch_begin(s, &b) != STORE_OK
	    || store_outbox_add(b, &m, &id) != STORE_OK
	    || store_outbox_add(b, &m, &id) != STORE_OK
	    || store_batch_commit(&b) != STORE_OK)
	    _exit(3);
	if (store_batch_begin(s, &b) != STORE_OK
	    || store_outbox_add(b, &m, &id) != STORE_OK)
	    _exit(4);
	raise(SIGKILL);
	_exit(5);
    }
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    s = open_store(dir);
    CU_ASSERT_EQUAL(out_due(s, time(0) + 1, ids, 8), 2);
    CU_ASSERT(ids[0] == 1 && ids[1] == 2);
    /* The lost row's id is free again. */
    CU_ASSERT_EQUAL(out_add1(s, &m), 3);
    store_close(&s);
    mem_free(dir);
}

/* test_schema_1_2 - a v1 store (no outbox databases) is upgraded */

static void test_schema_1_2(void)
{
    static const int added[] = {
	STORE_DB_OUTBOX, STORE_DB_OUTBOX_DATA, STORE_DB_OUTBOX_DUE,
	STORE_DB_ACKS,
    };
    static const char *const files[] = {
	"outbox.db", "outbox_data.db", "outbox_due.db", "acks.db",
    };
    char   *dir = new_dir(), *path;
    struct store *s = open_store(dir);
    struct store_outbox_mail m;
    struct store_result r;
    struct store_stats st;
    struct stat sb;
    struct tmsg tm;
    DB_TXN *txn;
    size_t  i;

    /* A v1 store: version 1, a ticket, none of the v2 databases. */
    tmsg_init(&tm, "v1@example.com", "old");
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(s->env->txn_begin(s->env, NULL, &txn, 0), 0);
    CU_ASSERT_EQUAL(store_meta_put(s, txn, "schema_version", 1), 0);
    CU_ASSERT_EQUAL(txn->commit(txn, 0), 0);
    for (i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
	CU_ASSERT_EQUAL(s->db[added[i]]->close(s->db[added[i]], 0), 0);
	s->db[added[i]] = 0;
	CU_ASSERT_EQUAL(s->env->dbremove(s->env, NULL, files[i], NULL,
					 DB_AUTO_COMMIT), 0);
	path = mem_printf("%s/%s", dir, files[i]);
	CU_ASSERT_EQUAL(stat(path, &sb), -1);
	mem_free(path);
    }
    store_close(&s);

    captured[0] = 0;
    log_set_capture(capture, 0);
    s = open_store(dir);
    log_set_capture(0, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "upgraded schema 1 to 2"));
    CU_ASSERT_PTR_NULL(strstr(captured, "upgraded schema 0 to 1"));
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.schema_version, STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(st.tickets, 1);
    CU_ASSERT_EQUAL(st.outbox_pending, 0);
    out_mail(&m, r.number, "ack", "");
    CU_ASSERT_EQUAL(out_add1(s, &m), 1);
    store_close(&s);
    /* Recorded: the next open upgrades nothing. */
    captured[0] = 0;
    log_set_capture(capture, 0);
    s = open_store(dir);
    log_set_capture(0, 0);
    CU_ASSERT_PTR_NULL(strstr(captured, "upgraded"));
    CU_ASSERT_EQUAL(store_stats(s, &st), STORE_OK);
    CU_ASSERT_EQUAL(st.schema_version, STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(st.outbox_pending, 1);
    store_close(&s);
    mem_free(dir);
}


/*
 * SLA deadlines. Calendar "week": UTC, mon-fri 00:00-24:00. SLA "gold":
 * first response 24h, update 2h, solution 5d, warnings at 50%. Queue
 * "Sla" uses it (pending pauses), queue "SlaRun" the same SLA with
 * pause_when_pending = no ("goldrun").
 */

/* utc - an instant from a UTC date and time */

static time_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (timegm(&tm));
}

/* sla_msg - a requester mail to a queue at an instant */

static void sla_msg(struct tmsg *tm, const char *mid, const char *queue,
		            const char *rcpt, time_t at, const char *ref)
{
    tmsg_init(tm, mid, "Printer");
    tm->m.queue = queue;
    tm->m.recipient = rcpt;
    tm->m.received = at;
    tm->m.ticket_ref = ref;
}

/* agent_reply - an agent article (visible or a note) in its own batch */

static void agent_reply(struct store *s, const char *number, time_t at,
			        int visible)
{
    struct store_article_input in;
    struct store_batch *b;
    uint32_t index;

    memset(&in, 0, sizeof(in));
    in.sender_type = STORE_SENDER_AGENT;
    in.channel = visible ? STORE_CHANNEL_EMAIL : STORE_CHANNEL_NOTE;
    in.visible_to_customer = visible;
    in.seen = 1;
    in.who = "alice";
    in.from = in.to = in.cc = in.subject = in.message_id = "";
    in.body = "answer";
    in.at = at;
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_article_add(b, "TEST", number, &in, &index), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
}

/* set_state - store_ticket_state_set in its own batch */

static void set_state(struct store *s, const char *number, const char *state,
		              time_t at)
{
    struct store_batch *b;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ticket_state_set(b, conf, "TEST", number, state, 0,
					   "alice", at), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
}

/* sweep - store_escalation_due + mark at now; returns the fired bits of
   number (0 when it was not due) and the count of due tickets in *n_due */

static unsigned sweep(struct store *s, const char *number, time_t now,
		              size_t *n_due)
{
    struct store_batch *b;
    char    (*v)[32] = 0;
    unsigned fired = 0, f;
    size_t  n = 0, i;

    CU_ASSERT_EQUAL(store_escalation_due(s, now, 0, &v, &n), STORE_OK);
    *n_due = n;
    for (i = 0; i < n; i++) {
	CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
	CU_ASSERT_EQUAL(store_escalation_mark(b, "TEST", v[i], now, &f), STORE_OK);
	CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
	if (strcmp(v[i], number) == 0)
	    fired = f;
    }
    mem_free(v);
    return (fired);
}

/* test_sla_created - deadlines of a new ticket; none without an SLA */

static void test_sla_created(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r;
    struct store_ticket *t;
    struct tmsg tm;
    time_t  t0 = utc(2027, 3, 5, 16, 0);	/* a Friday */

    sla_msg(&tm, "c1@example.com", "Sla", "sla@example.org", t0, 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->sla, "gold");
    CU_ASSERT_EQUAL(t->first_response_due, utc(2027, 3, 8, 16, 0));
    CU_ASSERT_EQUAL(t->first_response_warn, utc(2027, 3, 8, 4, 0));
    CU_ASSERT_EQUAL(t->first_response_at, 0);
    CU_ASSERT_EQUAL(t->update_due, 0);
    CU_ASSERT_EQUAL(t->solution_due, utc(2027, 3, 12, 16, 0));
    CU_ASSERT_EQUAL(t->solution_warn, utc(2027, 3, 10, 4, 0));
    CU_ASSERT_EQUAL(t->escalated, 0);
    CU_ASSERT_EQUAL(store_sla_next(t), utc(2027, 3, 8, 4, 0));
    CU_ASSERT_EQUAL(store_sla_level(t, STORE_SLA_FIRST_RESPONSE,
				    utc(2027, 3, 8, 3, 59)), -1);
    CU_ASSERT_EQUAL(store_sla_level(t, STORE_SLA_FIRST_RESPONSE,
				    utc(2027, 3, 8, 4, 0)), STORE_SLA_WARNING);
    CU_ASSERT_EQUAL(store_sla_level(t, STORE_SLA_FIRST_RESPONSE,
				    utc(2027, 3, 8, 16, 0)), STORE_SLA_ESCALATION);
    store_ticket_free(&t);

    /* A queue without an SLA: no deadline, not in the index. */
    sla_msg(&tm, "c2@example.com", "Helpdesk", "helpdesk@example.org", t0, 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_PTR_NULL(t->sla);
    CU_ASSERT_EQUAL(t->first_response_due, 0);
    CU_ASSERT_EQUAL(t->solution_due, 0);
    CU_ASSERT_EQUAL(store_sla_next(t), 0);
    store_ticket_free(&t);
    store_close(&s);
    mem_free(dir);
}

static int update1(struct store *, const char *,
		           const struct store_ticket_change *, const char *, time_t);

/* test_list_limit_early - a limited list of a queue reads newest first
   and stops early: the newest matching tickets across days, also when
   the newest ones do not match */

static void test_list_limit_early(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r;
    struct store_filter f;
    struct store_ticket *v = 0;
    struct store_ticket_change ch;
    struct tmsg tm;
    char    mid[64];
    char    numbers[40][32];
    size_t  n = 0;
    time_t  t0 = utc(2027, 3, 5, 22, 0);

    /* 40 tickets over two days, one every hour; every fifth one locked. */
    for (int i = 0; i < 40; i++) {
	snprintf(mid, sizeof(mid), "early%d@example.com", i);
	tmsg_init(&tm, mid, "Early");
	tm.m.received = t0 + i * 3600;
	CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
	snprintf(numbers[i], sizeof(numbers[i]), "%s", r.number);
	if (i % 5 == 0) {
	    memset(&ch, 0, sizeof(ch));
	    ch.set_owner = 1;
	    ch.owner = "alice";
	    ch.lock = 1;
	    CU_ASSERT_EQUAL(update1(s, r.number, &ch, "alice", tm.m.received), STORE_OK);
	}
    }
    CU_ASSERT(strncmp(numbers[0], numbers[39], 8) != 0);	/* two days */
    memset(&f, 0, sizeof(f));
    f.queue = "Helpdesk";
    f.limit = 3;
    CU_ASSERT_EQUAL(store_list(s, &f, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_STRING_EQUAL(v[0].number, numbers[39]);
    CU_ASSERT_STRING_EQUAL(v[1].number, numbers[38]);
    CU_ASSERT_STRING_EQUAL(v[2].number, numbers[37]);
    store_ticket_list_free(&v, n);
    /* The newest tickets are not locked: the scan goes on past them. */
    f.locked_only = 1;
    f.limit = 2;
    CU_ASSERT_EQUAL(store_list(s, &f, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(v[0].number, numbers[35]);
    CU_ASSERT_STRING_EQUAL(v[1].number, numbers[30]);
    store_ticket_list_free(&v, n);
    /* Through the owner index too, and more than there are. */
    memset(&f, 0, sizeof(f));
    f.owner = "alice";
    f.limit = 100;
    CU_ASSERT_EQUAL(store_list(s, &f, &v, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT(n == 8 && strcmp(v[7].number, numbers[0]) == 0);
    store_ticket_list_free(&v, n);
    store_close(&s);
    mem_free(dir);
}

/* test_sla_type - type_sla: an Incident gets its own SLA, also after #type */

static void test_sla_type(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r;
    struct store_ticket *t;
    struct store_batch *b;
    struct store_ticket_change ch;
    struct tmsg tm;
    time_t  t0 = utc(2027, 3, 5, 16, 0);	/* a Friday */

    sla_msg(&tm, "ty1@example.com", "Sla", "sla@example.org", t0, 0);
    tm.m.default_type = "Incident";
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->sla, "fast");
    CU_ASSERT_EQUAL(t->first_response_due, utc(2027, 3, 5, 20, 0));
    CU_ASSERT_EQUAL(t->solution_due, utc(2027, 3, 8, 16, 0));
    store_ticket_free(&t);

    /* Another type: the queue's SLA from now on. */
    memset(&ch, 0, sizeof(ch));
    ch.lock = -1;
    ch.type = "Problem";
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ticket_update(b, conf, "TEST", r.number, &ch, "alice",
					t0 + 60), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->sla, "gold");
    store_ticket_free(&t);
    CU_ASSERT_STRING_EQUAL(conf_queue_sla(conf_queue_find(conf, "Sla"), "Incident"),
			   "fast");
    CU_ASSERT_STRING_EQUAL(conf_queue_sla(conf_queue_find(conf, "Sla"),
					  "Service Request"), "gold");
    CU_ASSERT_PTR_NULL(conf_queue_sla(conf_queue_find(conf, "Strict"), "Incident"));
    store_close(&s);
    mem_free(dir);
}

/* test_sla_sweep - warning and escalation once each, then an agent reply */

static void test_sla_sweep(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r;
    struct store_ticket *t;
    struct tmsg tm;
    size_t  n, i, n_esc;
    unsigned fr_warn = STORE_SLA_BIT(STORE_SLA_FIRST_RESPONSE, STORE_SLA_WARNING);
    unsigned fr_esc = STORE_SLA_BIT(STORE_SLA_FIRST_RESPONSE, STORE_SLA_ESCALATION);

    sla_msg(&tm, "w1@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 5, 16, 0), 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 8, 3, 59), &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 8, 4, 0), &n), fr_warn);
    CU_ASSERT_EQUAL(n, 1);
    /* Once: the next sweeps at the same instant see nothing due. */
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 8, 4, 1), &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->escalated, 0);
    CU_ASSERT_EQUAL(store_sla_next(t), utc(2027, 3, 8, 16, 0));
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 8, 16, 5), &n), fr_esc);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 8, 16, 6), &n), 0);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->escalated, 1);
    CU_ASSERT_STRING_EQUAL(store_sla_escalation_kind(t), "first_response");
    for (n_esc = 0, i = 0; i < t->n_history; i++)
	if (strcmp(t->history[i].what, "escalation") == 0)
	    n_esc++;
    CU_ASSERT_EQUAL(n_esc, 2);
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].old_value,
			   "first_response");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].new_value, "escalation");
    store_ticket_free(&t);

    /* A note does not answer; a visible agent reply does. */
    agent_reply(s, r.number, utc(2027, 3, 8, 17, 0), 0);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->first_response_at, 0);
    CU_ASSERT_EQUAL(t->escalated, 1);
    store_ticket_free(&t);
    agent_reply(s, r.number, utc(2027, 3, 8, 17, 30), 1);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->first_response_at, utc(2027, 3, 8, 17, 30));
    CU_ASSERT_EQUAL(t->first_response_due, 0);
    CU_ASSERT_EQUAL(t->escalated, 0);
    CU_ASSERT_PTR_NULL(store_sla_escalation_kind(t));
    CU_ASSERT_EQUAL(store_sla_next(t), utc(2027, 3, 10, 4, 0));
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 9, 0, 0), &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    store_close(&s);
    mem_free(dir);
}

/* test_sla_update - requester mail after the first response, reopen, close */

static void test_sla_update(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r, r2;
    struct store_ticket *t;
    struct tmsg tm;
    size_t  n;

    sla_msg(&tm, "u1@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 5, 16, 0), 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    /* Before the first response, a second mail sets no update deadline. */
    sla_msg(&tm, "u2@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 5, 17, 0), r.number);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_EQUAL(r2.outcome, STORE_OUTCOME_FOLLOW_UP);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->update_due, 0);
    store_ticket_free(&t);
    agent_reply(s, r.number, utc(2027, 3, 8, 9, 0), 1);
    /* Tuesday 10:00: 2 working hours, warning at 1 hour. */
    sla_msg(&tm, "u3@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 9, 10, 0), r.number);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r2), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->update_due, utc(2027, 3, 9, 12, 0));
    CU_ASSERT_EQUAL(t->update_warn, utc(2027, 3, 9, 11, 0));
    CU_ASSERT_EQUAL(store_sla_next(t), utc(2027, 3, 9, 11, 0));
    store_ticket_free(&t);
    /* A later mail keeps the clock of the oldest unanswered one. */
    sla_msg(&tm, "u4@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 9, 10, 30), r.number);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r2), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->update_due, utc(2027, 3, 9, 12, 0));
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 9, 12, 0), &n),
		    STORE_SLA_BIT(STORE_SLA_UPDATE, STORE_SLA_WARNING)
		    | STORE_SLA_BIT(STORE_SLA_UPDATE, STORE_SLA_ESCALATION));
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(store_sla_escalation_kind(t), "update");
    store_ticket_free(&t);
    agent_reply(s, r.number, utc(2027, 3, 9, 13, 0), 1);
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->update_due, 0);
    CU_ASSERT_EQUAL(t->first_response_at, utc(2027, 3, 8, 9, 0));
    CU_ASSERT_EQUAL(t->escalated, 0);
    store_ticket_free(&t);

    /* Closing clears every deadline and the index entry. */
    set_state(s, r.number, "closed successful", utc(2027, 3, 9, 14, 0));
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->solution_due, 0);
    CU_ASSERT_EQUAL(t->solution_warn, 0);
    CU_ASSERT_EQUAL(store_sla_next(t), 0);
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].what, "state");
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2030, 1, 1, 0, 0), &n), 0);
    CU_ASSERT_EQUAL(n, 0);

    /* A requester reopens it on Thursday 08:00: new solution deadline
       from then (5 working days: next Thursday), and an update one. */
    sla_msg(&tm, "u5@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 11, 8, 0), r.number);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r2), STORE_OK);
    CU_ASSERT_STRING_EQUAL(r2.number, r.number);
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->state, "open");
    CU_ASSERT_EQUAL(t->solution_due, utc(2027, 3, 18, 8, 0));
    CU_ASSERT_EQUAL(t->update_due, utc(2027, 3, 11, 10, 0));
    CU_ASSERT_EQUAL(t->first_response_due, 0);
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 11, 9, 0), &n),
		    STORE_SLA_BIT(STORE_SLA_UPDATE, STORE_SLA_WARNING));
    store_close(&s);
    mem_free(dir);
}

/* test_sla_pending - pending stops update and solution (or not) */

static void test_sla_pending(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r, r2;
    struct store_ticket *t;
    struct tmsg tm;
    size_t  n;

    sla_msg(&tm, "p1@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 5, 16, 0), 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    agent_reply(s, r.number, utc(2027, 3, 8, 9, 0), 1);
    /* Pending on Tuesday 12:00: 76 working hours of solution are left. */
    set_state(s, r.number, "pending reminder", utc(2027, 3, 9, 12, 0));
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->sla_paused, utc(2027, 3, 9, 12, 0));
    CU_ASSERT_EQUAL(t->solution_due, utc(2027, 3, 12, 16, 0));
    CU_ASSERT_EQUAL(store_sla_level(t, STORE_SLA_SOLUTION,
				    utc(2027, 3, 20, 0, 0)), -1);
    CU_ASSERT_EQUAL(store_sla_next(t), 0);
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(sweep(s, r.number, utc(2027, 3, 15, 11, 0), &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    /* The requester writes on Monday 2027-03-15 12:00: open again, and
       solution moves to Thursday 16:00 (76 hours from then). */
    sla_msg(&tm, "p2@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 15, 12, 0), r.number);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r2), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->state, "open");
    CU_ASSERT_EQUAL(t->sla_paused, 0);
    CU_ASSERT_EQUAL(t->solution_due, utc(2027, 3, 18, 16, 0));
    /* The warning was Wednesday 04:00, 16 working hours after the pause. */
    CU_ASSERT_EQUAL(t->solution_warn, utc(2027, 3, 16, 4, 0));
    CU_ASSERT_EQUAL(t->update_due, utc(2027, 3, 15, 14, 0));
    store_ticket_free(&t);

    /* With pause_when_pending = no the clocks keep running. */
    sla_msg(&tm, "p3@example.com", "SlaRun", "slarun@example.org",
	    utc(2027, 3, 5, 16, 0), 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    set_state(s, r.number, "pending reminder", utc(2027, 3, 9, 12, 0));
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->sla, "goldrun");
    CU_ASSERT_EQUAL(t->sla_paused, 0);
    CU_ASSERT_EQUAL(store_sla_level(t, STORE_SLA_SOLUTION,
				    utc(2027, 3, 12, 16, 0)), STORE_SLA_ESCALATION);
    store_ticket_free(&t);
    set_state(s, r.number, "open", utc(2027, 3, 10, 12, 0));
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->solution_due, utc(2027, 3, 12, 16, 0));
    store_ticket_free(&t);
    store_close(&s);
    mem_free(dir);
}

/* set_pending - store_ticket_state_set with a pending time */

static void set_pending(struct store *s, const char *number, const char *state,
			        time_t until, time_t at)
{
    struct store_batch *b;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ticket_state_set(b, conf, "TEST", number, state,
					   until, "alice", at), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
}

/* test_pending_time - reminder once, auto close, cleared when leaving */

static void test_pending_time(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_result r, r2, r3;
    struct store_ticket *t;
    struct tmsg tm;
    size_t  n;
    time_t  until = utc(2027, 3, 10, 9, 0);

    /* No SLA (queue Helpdesk): the pending time alone is indexed. */
    sla_msg(&tm, "pt1@example.com", "Helpdesk", "helpdesk@example.org",
	    utc(2027, 3, 5, 16, 0), 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    set_pending(s, r.number, "pending reminder", until, utc(2027, 3, 8, 9, 0));
    t = get_ticket(s, r.number);
    CU_ASSERT_EQUAL(t->pending_until, until);
    CU_ASSERT_EQUAL(store_sla_next(t), until);
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].what, "pending");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].new_value,
			   "2027-03-10T09:00:00Z");
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(sweep(s, r.number, until - 60, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(sweep(s, r.number, until, &n), STORE_PENDING_REMINDED);
    CU_ASSERT_EQUAL(sweep(s, r.number, until + 3600, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->state, "pending reminder");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].what, "pending");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].new_value, "reminder");
    CU_ASSERT_EQUAL(store_sla_next(t), 0);
    store_ticket_free(&t);
    /* A new pending time reminds again. */
    set_pending(s, r.number, "pending reminder", until + 86400, until + 7200);
    CU_ASSERT_EQUAL(sweep(s, r.number, until + 86400, &n),
		    STORE_PENDING_REMINDED);
    /* A requester's mail makes it open: the pending time goes. */
    sla_msg(&tm, "pt2@example.com", "Helpdesk", "helpdesk@example.org",
	    until + 90000, r.number);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r2), STORE_OK);
    t = get_ticket(s, r.number);
    CU_ASSERT_STRING_EQUAL(t->state, "open");
    CU_ASSERT_EQUAL(t->pending_until, 0);
    store_ticket_free(&t);

    /* pending auto close-: closed unsuccessful at its time, once. */
    sla_msg(&tm, "pt3@example.com", "Sla", "sla@example.org",
	    utc(2027, 3, 5, 16, 0), 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r3), STORE_OK);
    agent_reply(s, r3.number, utc(2027, 3, 8, 9, 0), 1);
    set_pending(s, r3.number, "pending auto close-", until, utc(2027, 3, 8, 10, 0));
    CU_ASSERT_EQUAL(sweep(s, r3.number, until - 1, &n), 0);
    CU_ASSERT_EQUAL(sweep(s, r3.number, until, &n), STORE_PENDING_CLOSED);
    t = get_ticket(s, r3.number);
    CU_ASSERT_STRING_EQUAL(t->state, "closed unsuccessful");
    CU_ASSERT_EQUAL(t->locked, 0);
    CU_ASSERT_EQUAL(t->pending_until, 0);
    CU_ASSERT_EQUAL(t->solution_due, 0);
    CU_ASSERT_EQUAL(store_sla_next(t), 0);
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].what, "state");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].who, "system");
    CU_ASSERT_STRING_EQUAL(t->history[t->n_history - 1].old_value,
			   "pending auto close-");
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(sweep(s, r3.number, until + 86400 * 30, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    {
	struct store_filter f = {0};

	f.queue = "Sla";
	f.state = "closed unsuccessful";
	CU_ASSERT_EQUAL(count_list(s, &f), 1);
    }
    /* pending auto close+ gives closed successful. */
    set_state(s, r3.number, "open", until + 60);
    set_pending(s, r3.number, "pending auto close+", until + 120, until + 60);
    CU_ASSERT_EQUAL(sweep(s, r3.number, until + 120, &n), STORE_PENDING_CLOSED);
    t = get_ticket(s, r3.number);
    CU_ASSERT_STRING_EQUAL(t->state, "closed successful");
    store_ticket_free(&t);
    store_close(&s);
    mem_free(dir);
}

/* test_sla_old_record - a version 1 ticket record still decodes */

static void test_sla_old_record(void)
{
    struct store_ticket_rec rec, out;
    struct buf *b = buf_create(0, 0);
    unsigned char *v1;
    size_t  len;

    memset(&rec, 0, sizeof(rec));
    strcpy(rec.t.number, "2024102410000015");
    rec.t.title = rec.t.queue = rec.t.type = "x";
    rec.t.state = "open";
    rec.t.customer = "c@example.com";
    rec.t.priority = 3;
    store_codec_ticket_encode(b, &rec);
    /* Version 1 is version 3 without the SLA fields (string, 8 times,
       u32, pending time) and the fields of version 3 (revision, no
       watchers, the field count, 8 changes without actor, owner_seen). */
    len = buf_len(b) - (4 + 8 * 8 + 4 + 8) - (4 + 4 + 4 + 8 * 8 + 4);
    v1 = mem_memdup(buf_data(b), len);
    v1[0] = 1;
    CU_ASSERT_EQUAL_FATAL(store_codec_ticket_decode(v1, len, "1", &out), STORE_OK);
    CU_ASSERT_STRING_EQUAL(out.t.state, "open");
    CU_ASSERT_PTR_NULL(out.t.sla);
    CU_ASSERT_EQUAL(out.t.solution_due, 0);
    CU_ASSERT_EQUAL(out.indexed, 0);
    store_ticket_fields_free(&out.t);
    mem_free(v1);
    /* With SLA fields, they round-trip. */
    rec.t.sla = "gold";
    rec.t.solution_due = 1800000000;
    rec.t.sla_notified = 5;
    rec.t.pending_until = 1800000060;
    store_codec_ticket_encode(b, &rec);
    CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(b), buf_len(b), "1", &out),
		    STORE_OK);
    CU_ASSERT_STRING_EQUAL(out.t.sla, "gold");
    CU_ASSERT_EQUAL(out.t.solution_due, 1800000000);
    CU_ASSERT_EQUAL(out.t.sla_notified, 5);
    CU_ASSERT_EQUAL(out.t.pending_until, 1800000060);
    store_ticket_fields_free(&out.t);
    buf_destroy(&b);
}

/*
 * Commands by mail (third round): store_ticket_update, store_ticket_seen,
 * store_ticket_merge, the command keys, version 3 records.
 */

/* new_ticket_at - a new ticket in queue through its own batch */

static void new_ticket_at(struct store *s, const char *mid, const char *queue,
			          time_t at, char number[32])
{
    struct store_result r;
    struct tmsg tm;

    sla_msg(&tm, mid, queue, "helpdesk@example.org", at, 0);
    CU_ASSERT_EQUAL_FATAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(r.outcome, STORE_OUTCOME_NEW_TICKET);
    memcpy(number, r.number, 32);
}

/* update1 - store_ticket_update in its own batch; its status */

static int update1(struct store *s, const char *number,
		           const struct store_ticket_change *c, const char *who,
		           time_t at)
{
    struct store_batch *b;
    int     st;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    st = store_ticket_update(b, conf, "TEST", number, c, who, at);
    /* A refusal leaves the batch usable: the commit succeeds. */
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    return (st);
}

/* no_change - a change that asks for nothing */

static void no_change(struct store_ticket_change *c)
{
    memset(c, 0, sizeof(*c));
    c->lock = -1;
}

/* history_is - record i of t is (what, old, new); NULL compares NULL */

static int history_is(const struct store_ticket *t, size_t i, const char *what,
		              const char *old_value, const char *new_value)
{
    const struct store_history *h;

    if (i >= t->n_history)
	return (0);
    h = t->history + i;
#define SAME(a, b) ((a) == 0 ? (b) == 0 : (b) != 0 && strcmp((a), (b)) == 0)
    return (SAME(what, h->what) && SAME(old_value, h->old_value)
	    && SAME(new_value, h->new_value));
#undef SAME
}

/* listed - is number in the list of filter f? */

static int listed(struct store *s, const struct store_filter *f,
		          const char *number)
{
    struct store_ticket *v = 0;
    size_t  n = 0, i;
    int     found = 0;

    CU_ASSERT_EQUAL(store_list(s, f, &v, &n), STORE_OK);
    for (i = 0; i < n; i++)
	found |= strcmp(v[i].number, number) == 0;
    store_ticket_list_free(&v, n);
    return (found);
}

/* test_ticket_update - every field, history, indexes, revisions */

static void test_ticket_update(void)
{
    static const char *const add[] = {"bob", "carol"};
    static const char *const again[] = {"BOB"};
    static const char *const gone[] = {"dave"};
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_ticket_change c;
    struct store_filter f;
    struct store_ticket *t;
    char    num[32], num2[32];
    time_t  t0 = utc(2027, 3, 8, 10, 0), due;
    size_t  nh;

    new_ticket_at(s, "up1@example.com", "Helpdesk", t0, num);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->revision, 1);	/* one write: the creation */
    CU_ASSERT_EQUAL(t->n_watchers, 0);
    CU_ASSERT_PTR_NULL(t->sla);
    for (int i = 0; i < STORE_FIELD_COUNT; i++)
	CU_ASSERT(t->changes[i].revision == 0 && t->changes[i].who == 0);
    nh = t->n_history;
    store_ticket_free(&t);

    /* Every field at once. */
    no_change(&c);
    c.set_owner = 1;
    c.owner = "alice";
    c.lock = 1;
    c.queue = "Sla";
    c.type = "Incident";
    c.priority = 5;
    c.watch_add = add;
    c.n_watch_add = 2;
    c.title = "Imprimante du 3e";
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", t0 + 60), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_STRING_EQUAL(t->owner, "alice");
    CU_ASSERT_EQUAL(t->locked, 1);
    CU_ASSERT_STRING_EQUAL(t->queue, "Sla");
    CU_ASSERT_STRING_EQUAL(t->sla, "fast");	/* the new queue's SLA for Incidents */
    CU_ASSERT_EQUAL(t->first_response_due, 0);	/* deadlines kept: none */
    CU_ASSERT_STRING_EQUAL(t->type, "Incident");
    CU_ASSERT_EQUAL(t->priority, 5);
    CU_ASSERT_STRING_EQUAL(t->title, "Imprimante du 3e");
    CU_ASSERT_EQUAL_FATAL(t->n_watchers, 2);
    CU_ASSERT_STRING_EQUAL(t->watchers[0], "bob");
    CU_ASSERT_STRING_EQUAL(t->watchers[1], "carol");
    CU_ASSERT_EQUAL(t->changed, t0 + 60);
    CU_ASSERT_EQUAL(t->revision, 2);
    for (int i = 0; i < STORE_FIELD_COUNT; i++) {
	if (i == STORE_FIELD_STATE) {
	    CU_ASSERT(t->changes[i].revision == 0 && t->changes[i].who == 0);
	    continue;
	}
	CU_ASSERT_EQUAL(t->changes[i].revision, 2);
	CU_ASSERT(t->changes[i].who && strcmp(t->changes[i].who, "alice") == 0);
    }
    /* History: one record per change, in the documented order. */
    CU_ASSERT_EQUAL_FATAL(t->n_history, nh + 8);
    CU_ASSERT(history_is(t, nh + 0, "owner", 0, "alice"));
    CU_ASSERT(history_is(t, nh + 1, "lock", "unlocked", "locked"));
    CU_ASSERT(history_is(t, nh + 2, "queue", "Helpdesk", "Sla"));
    CU_ASSERT(history_is(t, nh + 3, "type", "Service Request", "Incident"));
    CU_ASSERT(history_is(t, nh + 4, "priority", "3", "5"));
    CU_ASSERT(history_is(t, nh + 5, "watchers", 0, "+bob"));
    CU_ASSERT(history_is(t, nh + 6, "watchers", 0, "+carol"));
    CU_ASSERT(history_is(t, nh + 7, "title", "Printer", "Imprimante du 3e"));
    CU_ASSERT_STRING_EQUAL(t->history[nh].who, "alice");
    CU_ASSERT_EQUAL(t->history[nh].at, t0 + 60);
    nh = t->n_history;
    store_ticket_free(&t);
    /* Indexes: queue (with state), owner, locked. */
    memset(&f, 0, sizeof(f));
    f.queue = "Sla";
    CU_ASSERT(listed(s, &f, num));
    f.state = "new";
    CU_ASSERT(listed(s, &f, num));
    f.queue = "Helpdesk";
    f.state = 0;
    CU_ASSERT(!listed(s, &f, num));
    memset(&f, 0, sizeof(f));
    f.owner = "alice";
    f.locked_only = 1;
    CU_ASSERT(listed(s, &f, num));
    CU_ASSERT_EQUAL(count_list(s, &f), 1);

    /* The same values again, a watcher already there (any case), one
       not there: nothing changes, nothing is written. */
    no_change(&c);
    c.set_owner = 1;
    c.owner = "alice";
    c.lock = 1;
    c.queue = "Sla";
    c.type = "Incident";
    c.priority = 5;
    c.watch_add = again;
    c.n_watch_add = 1;
    c.watch_remove = gone;
    c.n_watch_remove = 1;
    c.title = "Imprimante du 3e";
    CU_ASSERT_EQUAL(update1(s, num, &c, "bob", t0 + 120), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->revision, 2);
    CU_ASSERT_EQUAL(t->n_history, nh);
    CU_ASSERT_EQUAL(t->changed, t0 + 60);
    CU_ASSERT_STRING_EQUAL(t->changes[STORE_FIELD_OWNER].who, "alice");
    store_ticket_free(&t);

    /* One field: only its change moves; removal is case-insensitive. */
    no_change(&c);
    c.set_owner = 1;
    c.owner = "bob";
    c.watch_remove = again;
    c.n_watch_remove = 1;
    c.lock = 0;
    CU_ASSERT_EQUAL(update1(s, num, &c, "carol", t0 + 180), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->revision, 3);
    CU_ASSERT_STRING_EQUAL(t->owner, "bob");
    CU_ASSERT_EQUAL(t->locked, 0);
    CU_ASSERT_EQUAL_FATAL(t->n_watchers, 1);
    CU_ASSERT_STRING_EQUAL(t->watchers[0], "carol");
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_OWNER].revision, 3);
    CU_ASSERT_STRING_EQUAL(t->changes[STORE_FIELD_OWNER].who, "carol");
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_LOCK].revision, 3);
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_WATCHERS].revision, 3);
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_TYPE].revision, 2);
    CU_ASSERT_STRING_EQUAL(t->changes[STORE_FIELD_TYPE].who, "alice");
    CU_ASSERT_EQUAL_FATAL(t->n_history, nh + 3);
    CU_ASSERT(history_is(t, nh + 0, "owner", "alice", "bob"));
    CU_ASSERT(history_is(t, nh + 1, "lock", "locked", "unlocked"));
    CU_ASSERT(history_is(t, nh + 2, "watchers", 0, "-bob"));
    nh = t->n_history;
    store_ticket_free(&t);
    memset(&f, 0, sizeof(f));
    f.owner = "alice";
    CU_ASSERT(!listed(s, &f, num));
    f.owner = "bob";
    CU_ASSERT(listed(s, &f, num));
    f.locked_only = 1;
    CU_ASSERT(!listed(s, &f, num));

    /* Owner none: out of the owner index. */
    no_change(&c);
    c.set_owner = 1;
    c.owner = 0;
    CU_ASSERT_EQUAL(update1(s, num, &c, "bob", t0 + 240), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_PTR_NULL(t->owner);
    CU_ASSERT(history_is(t, nh, "owner", "bob", 0));
    store_ticket_free(&t);
    memset(&f, 0, sizeof(f));
    f.owner = "bob";
    CU_ASSERT(!listed(s, &f, num));

    /* A queue move keeps the deadlines; the SLA name follows the queue. */
    new_ticket_at(s, "up2@example.com", "Sla", t0, num2);
    t = get_ticket(s, num2);
    CU_ASSERT_STRING_EQUAL(t->sla, "gold");
    due = t->first_response_due;
    CU_ASSERT(due > t0);
    store_ticket_free(&t);
    no_change(&c);
    c.queue = "Helpdesk";
    CU_ASSERT_EQUAL(update1(s, num2, &c, "alice", t0 + 60), STORE_OK);
    t = get_ticket(s, num2);
    CU_ASSERT_STRING_EQUAL(t->queue, "Helpdesk");
    CU_ASSERT_PTR_NULL(t->sla);
    CU_ASSERT_EQUAL(t->first_response_due, due);
    store_ticket_free(&t);

    mem_free(dir);
    store_close(&s);
}

/* test_ticket_update_refused - STORE_PERM, nothing written */

static void test_ticket_update_refused(void)
{
    static const char *const empty[] = {""};
    const char *many[STORE_WATCHERS_MAX + 1];
    char    names[STORE_WATCHERS_MAX + 1][16];
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_ticket_change c;
    struct store_ticket *t;
    struct store_batch *b;
    char    num[32];
    size_t  nh;

    new_ticket_at(s, "perm@example.com", "Helpdesk", utc(2027, 3, 8, 10, 0), num);
    t = get_ticket(s, num);
    nh = t->n_history;
    store_ticket_free(&t);
    no_change(&c);
    c.title = "x";
    CU_ASSERT_EQUAL(update1(s, "2027030810999999", &c, "alice", 1), STORE_PERM);
    no_change(&c);
    c.queue = "";
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_PERM);
    no_change(&c);
    c.type = "";
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_PERM);
    no_change(&c);
    c.priority = 6;
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_PERM);
    c.priority = -1;
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_PERM);
    no_change(&c);
    c.watch_add = empty;
    c.n_watch_add = 1;
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_PERM);
    /* 100 watchers are fine, 101 are not; a refusal after valid fields
       in the same change writes none of them. */
    for (int i = 0; i <= STORE_WATCHERS_MAX; i++) {
	snprintf(names[i], sizeof(names[i]), "agent%d", i);
	many[i] = names[i];
    }
    no_change(&c);
    c.priority = 1;
    c.watch_add = many;
    c.n_watch_add = STORE_WATCHERS_MAX + 1;
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_PERM);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->revision, 1);
    CU_ASSERT_EQUAL(t->priority, 3);
    CU_ASSERT_EQUAL(t->n_history, nh);
    CU_ASSERT_EQUAL(t->n_watchers, 0);
    store_ticket_free(&t);
    c.n_watch_add = STORE_WATCHERS_MAX;
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->n_watchers, STORE_WATCHERS_MAX);
    CU_ASSERT_EQUAL(t->priority, 1);
    CU_ASSERT_EQUAL(t->n_history, nh + 1 + STORE_WATCHERS_MAX);
    store_ticket_free(&t);
    /* One more is refused; one more with one removed is fine. */
    c.priority = 0;
    c.watch_add = many + STORE_WATCHERS_MAX;
    c.n_watch_add = 1;
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_PERM);
    c.watch_remove = many;
    c.n_watch_remove = 1;
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", 1), STORE_OK);
    /* NULL arguments; a refused call does not poison the batch. */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ticket_update(b, conf, "TEST", num, 0, "a", 1), STORE_PERM);
    CU_ASSERT_EQUAL(store_ticket_update(b, conf, "TEST", 0, &c, "a", 1), STORE_PERM);
    no_change(&c);
    c.priority = 2;
    CU_ASSERT_EQUAL(store_ticket_update(b, conf, "TEST", num, &c, "a", 1), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->priority, 2);
    store_ticket_free(&t);
    store_close(&s);
    mem_free(dir);
}

/* test_state_changes - state changes record changes[STATE] */

static void test_state_changes(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_ticket *t;
    struct store_result r;
    struct tmsg tm;
    time_t  t0 = utc(2027, 3, 8, 10, 0);
    char    num[32];

    new_ticket_at(s, "st1@example.com", "Helpdesk", t0, num);
    set_state(s, num, "pending reminder", t0 + 60);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->revision, 2);
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_STATE].revision, 2);
    CU_ASSERT_STRING_EQUAL(t->changes[STORE_FIELD_STATE].who, "alice");
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_OWNER].revision, 0);
    store_ticket_free(&t);
    /* The requester's follow-up reopens it: recorded with the sender. */
    sla_msg(&tm, "st2@example.com", "Helpdesk", "helpdesk@example.org",
	    t0 + 120, num);
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_STRING_EQUAL(t->state, "open");
    CU_ASSERT_EQUAL(t->revision, 3);
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_STATE].revision, 3);
    CU_ASSERT_STRING_EQUAL(t->changes[STORE_FIELD_STATE].who,
			   "marie.dupont@example.com");
    store_ticket_free(&t);
    /* A follow-up without a state change moves only the revision. */
    sla_msg(&tm, "st3@example.com", "Helpdesk", "helpdesk@example.org",
	    t0 + 180, num);
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->revision, 4);
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_STATE].revision, 3);
    store_ticket_free(&t);
    store_close(&s);
    mem_free(dir);
}

/* seen1 - store_ticket_seen in its own batch */

static int seen1(struct store *s, const char *number, const char *login)
{
    struct store_batch *b;
    int     st;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    st = store_ticket_seen(b, "TEST", number, login);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    return (st);
}

/* star - the "new article" star of list --locked */

static int star(const struct store_ticket *t)
{
    return (t->locked && t->owner && t->n_articles_total > t->owner_seen);
}

/* test_ticket_seen - owner_seen and the star */

static void test_ticket_seen(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_ticket_change c;
    struct store_ticket *t;
    struct store_result r;
    struct tmsg tm;
    time_t  t0 = utc(2027, 3, 8, 10, 0);
    char    num[32];

    new_ticket_at(s, "seen1@example.com", "Helpdesk", t0, num);
    /* Not owned: seen writes nothing. */
    CU_ASSERT_EQUAL(seen1(s, num, "alice"), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->owner_seen, 0);
    CU_ASSERT_EQUAL(t->revision, 1);
    CU_ASSERT(!star(t));
    store_ticket_free(&t);
    no_change(&c);
    c.set_owner = 1;
    c.owner = "alice";
    c.lock = 1;
    CU_ASSERT_EQUAL(update1(s, num, &c, "alice", t0 + 60), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT(star(t));				/* article 1 not seen yet */
    store_ticket_free(&t);
    /* Someone else: no change. */
    CU_ASSERT_EQUAL(seen1(s, num, "bob"), STORE_OK);
    CU_ASSERT_EQUAL(seen1(s, num, 0), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->owner_seen, 0);
    CU_ASSERT_EQUAL(t->revision, 2);
    store_ticket_free(&t);
    /* The owner (any case): off. */
    CU_ASSERT_EQUAL(seen1(s, num, "ALICE"), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->owner_seen, 1);
    CU_ASSERT_EQUAL(t->revision, 3);
    CU_ASSERT(!star(t));
    store_ticket_free(&t);
    /* Again: nothing to write. */
    CU_ASSERT_EQUAL(seen1(s, num, "alice"), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->revision, 3);
    store_ticket_free(&t);
    /* A follow-up turns it on again, until the owner's next action. */
    sla_msg(&tm, "seen2@example.com", "Helpdesk", "helpdesk@example.org",
	    t0 + 120, num);
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->n_articles_total, 2);
    CU_ASSERT(star(t));
    store_ticket_free(&t);
    CU_ASSERT_EQUAL(seen1(s, num, "alice"), STORE_OK);
    t = get_ticket(s, num);
    CU_ASSERT_EQUAL(t->owner_seen, 2);
    CU_ASSERT(!star(t));
    store_ticket_free(&t);
    /* The list returns the fields too. */
    {
	struct store_filter f;
	struct store_ticket *v = 0;
	size_t  n = 0;

	memset(&f, 0, sizeof(f));
	f.owner = "alice";
	f.locked_only = 1;
	CU_ASSERT_EQUAL(store_list(s, &f, &v, &n), STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(v[0].owner_seen, 2);
	CU_ASSERT_EQUAL(v[0].revision, 5);
	CU_ASSERT_EQUAL(v[0].changes[STORE_FIELD_LOCK].revision, 2);
	store_ticket_list_free(&v, n);
    }
    CU_ASSERT_EQUAL(seen1(s, "2027030810999999", "alice"), STORE_NOTFOUND);
    store_close(&s);
    mem_free(dir);
}

/* merge1 - store_ticket_merge in its own batch */

static int merge1(struct store *s, const char *number, const char *into)
{
    struct store_batch *b;
    int     st;

    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    st = store_ticket_merge(b, conf, "TEST", number, into, "alice",
			    utc(2027, 3, 8, 11, 0));
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    return (st);
}

/* test_ticket_merge - merge, follow-ups redirected, refusals */

static void test_ticket_merge(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_ticket_change c;
    struct store_ticket *t;
    struct store_result r;
    struct store_filter f;
    struct tmsg tm;
    time_t  t0 = utc(2027, 3, 8, 10, 0);
    char    a[32], bn[32], cn[32], dn[32], chain[10][32], mid[64];
    char    (*due)[32] = 0;
    size_t  n_due = 0, nh_b;

    new_ticket_at(s, "ma@example.com", "Sla", t0, a);
    new_ticket_at(s, "mb@example.com", "Helpdesk", t0, bn);
    new_ticket_at(s, "mc@example.com", "Helpdesk", t0, cn);
    new_ticket_at(s, "md@example.com", "Helpdesk", t0, dn);
    no_change(&c);
    c.set_owner = 1;
    c.owner = "alice";
    c.lock = 1;
    CU_ASSERT_EQUAL(update1(s, a, &c, "alice", t0), STORE_OK);
    t = get_ticket(s, bn);
    nh_b = t->n_history;
    store_ticket_free(&t);

    CU_ASSERT_EQUAL(merge1(s, a, bn), STORE_OK);
    t = get_ticket(s, a);
    CU_ASSERT_STRING_EQUAL(t->state, "merged");
    CU_ASSERT_STRING_EQUAL(t->merged_into, bn);
    CU_ASSERT_EQUAL(t->locked, 0);
    CU_ASSERT_STRING_EQUAL(t->owner, "alice");
    CU_ASSERT(t->first_response_due == 0 && t->solution_due == 0
	      && t->update_due == 0 && t->escalated == 0);
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_STATE].revision, t->revision);
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_LOCK].revision, t->revision);
    CU_ASSERT(history_is(t, t->n_history - 1, "merged", 0, bn));
    store_ticket_free(&t);
    t = get_ticket(s, bn);
    CU_ASSERT_EQUAL_FATAL(t->n_history, nh_b + 1);
    CU_ASSERT(history_is(t, nh_b, "merge", 0, a));
    CU_ASSERT_EQUAL(t->changed, utc(2027, 3, 8, 11, 0));
    store_ticket_free(&t);
    /* Out of the queue index under its old state, and of the sweep. */
    memset(&f, 0, sizeof(f));
    f.queue = "Sla";
    f.state = "merged";
    CU_ASSERT(listed(s, &f, a));
    f.state = "new";
    CU_ASSERT(!listed(s, &f, a));
    CU_ASSERT_EQUAL(store_escalation_due(s, utc(2030, 1, 1, 0, 0), 0, &due,
					 &n_due), STORE_OK);
    for (size_t i = 0; i < n_due; i++)
	CU_ASSERT(strcmp(due[i], a) != 0);
    mem_free(due);

    /* A follow-up to a, by number and by References, lands in b. */
    sla_msg(&tm, "ma2@example.com", "Helpdesk", "helpdesk@example.org",
	    t0 + 600, a);
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r.number, bn);
    CU_ASSERT_EQUAL(r.article, 2);
    sla_msg(&tm, "ma3@example.com", "Helpdesk", "helpdesk@example.org",
	    t0 + 660, 0);
    tm.refs[0] = "ma@example.com";
    tm.m.n_references = 1;
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.outcome, STORE_OUTCOME_FOLLOW_UP);
    CU_ASSERT_STRING_EQUAL(r.number, bn);
    t = get_ticket(s, a);
    CU_ASSERT_EQUAL(t->n_articles_total, 1);	/* nothing added to a */
    store_ticket_free(&t);

    /* Refusals: itself, unknown, already merged, into a merged one. */
    CU_ASSERT_EQUAL(merge1(s, cn, cn), STORE_PERM);
    CU_ASSERT_EQUAL(merge1(s, "2027030810999999", cn), STORE_PERM);
    CU_ASSERT_EQUAL(merge1(s, cn, "2027030810999999"), STORE_PERM);
    CU_ASSERT_EQUAL(merge1(s, a, cn), STORE_PERM);
    CU_ASSERT_EQUAL(merge1(s, cn, a), STORE_PERM);
    t = get_ticket(s, cn);
    CU_ASSERT_STRING_EQUAL(t->state, "new");
    CU_ASSERT_PTR_NULL(t->merged_into);
    CU_ASSERT_EQUAL(t->revision, 1);
    store_ticket_free(&t);

    /* Two hops: b into c; a follow-up to a lands in c. */
    CU_ASSERT_EQUAL(merge1(s, bn, cn), STORE_OK);
    sla_msg(&tm, "ma4@example.com", "Helpdesk", "helpdesk@example.org",
	    t0 + 720, a);
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_STRING_EQUAL(r.number, cn);

    /* A chain of 9 merges: delivery stops after 8 hops. */
    for (int i = 0; i < 10; i++) {
	snprintf(mid, sizeof(mid), "chain%d@example.com", i);
	new_ticket_at(s, mid, "Helpdesk", t0, chain[i]);
    }
    for (int i = 0; i < 9; i++)
	CU_ASSERT_EQUAL(merge1(s, chain[i], chain[i + 1]), STORE_OK);
    sla_msg(&tm, "chainx@example.com", "Helpdesk", "helpdesk@example.org",
	    t0 + 780, chain[0]);
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_STRING_EQUAL(r.number, chain[STORE_MERGE_HOPS]);
    sla_msg(&tm, "chainy@example.com", "Helpdesk", "helpdesk@example.org",
	    t0 + 840, chain[1]);
    CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
    CU_ASSERT_STRING_EQUAL(r.number, chain[9]);
    (void) dn;
    store_close(&s);
    mem_free(dir);
}

/* test_command_keys - idempotent command mail */

static void test_command_keys(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_batch *b;
    unsigned char k1[32], k2[32];
    char    number[32];
    time_t  at = 0;

    memset(k1, 0xa5, sizeof(k1));
    memset(k2, 0xa5, sizeof(k2));
    k2[31] = 0x5a;
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_command_seen(b, k1, &at, number), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_command_record(b, "TEST", k1, "2027030810000017",
					 1800000000), STORE_OK);
    /* The same batch sees it. */
    CU_ASSERT_EQUAL(store_command_seen(b, k1, &at, number), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    /* An aborted record is forgotten. */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_command_record(b, "TEST", k2, "", 1800000100), STORE_OK);
    store_batch_abort(&b);

    store_close(&s);
    s = open_store(dir);			/* kept across a restart */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    memset(number, 'x', sizeof(number));
    CU_ASSERT_EQUAL(store_command_seen(b, k1, &at, number), STORE_OK);
    CU_ASSERT_EQUAL(at, 1800000000);
    CU_ASSERT_STRING_EQUAL(number, "2027030810000017");
    CU_ASSERT_EQUAL(store_command_seen(b, k2, &at, number), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_command_record(b, "TEST", k2, "", 1800000200), STORE_OK);
    CU_ASSERT_EQUAL(store_command_seen(b, k2, &at, number), STORE_OK);
    CU_ASSERT_EQUAL(at, 1800000200);
    CU_ASSERT_STRING_EQUAL(number, "");
    /* A number that cannot be one is refused without poisoning. */
    CU_ASSERT_EQUAL(store_command_record(b, "TEST", k2,
					 "012345678901234567890123456789012",
					 1), STORE_PERM);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    /* The keys live in dedup.db beside mail keys and do not collide:
       a mail whose hash is k1 is not a duplicate. */
    {
	struct store_result r;
	struct tmsg tm;

	tmsg_init(&tm, "", "hash k1");
	tm.m.message_id = "";
	memcpy(tm.m.hash, k1, 32);
	CU_ASSERT_EQUAL(deliver1(s, &tm.m, &r), STORE_OK);
	CU_ASSERT_EQUAL(r.outcome, STORE_OUTCOME_NEW_TICKET);
	CU_ASSERT_EQUAL(count_db(s, STORE_DB_DEDUP), 3);
    }
    store_close(&s);
    mem_free(dir);
}

/* v2_put - helpers to write a version 2 ticket record by hand */

static void v2_u32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = {v >> 24, v >> 16, v >> 8, v};

    buf_append(b, x, 4);
}

static void v2_u64(struct buf *b, uint64_t v)
{
    v2_u32(b, (uint32_t) (v >> 32));
    v2_u32(b, (uint32_t) v);
}

static void v2_str(struct buf *b, const char *s)
{
    if (s == 0) {
	v2_u32(b, 0xffffffffU);
	return;
    }
    v2_u32(b, (uint32_t) strlen(s));
    buf_append(b, s, strlen(s));
}

/* test_record_v2 - a version 2 record decodes, is read from a store,
   and becomes version 3 at its next write */

static void test_record_v2(void)
{
    char   *dir = new_dir();
    struct store *s = open_store(dir);
    struct store_ticket_rec out;
    struct store_ticket_change c;
    struct store_ticket *t;
    struct store_batch *b;
    struct buf *v2 = buf_create(0, 0);
    const char *number = "2024102410000015";
    size_t  len;
    DBT     k, d;

    /* Version 2 as the round-2 code wrote it. */
    buf_append_char(v2, 2);
    buf_append_char(v2, 'T');
    v2_str(v2, "Old title");
    v2_str(v2, "Helpdesk");
    v2_str(v2, "open");
    buf_append_char(v2, 4);			/* priority */
    v2_str(v2, "Incident");
    buf_append_char(v2, 1);			/* locked */
    v2_str(v2, "alice");
    v2_str(v2, "c@example.com");
    v2_u64(v2, 1700000000);			/* created */
    v2_u64(v2, 1700000100);			/* changed */
    buf_append_char(v2, 0);			/* escalated */
    v2_str(v2, 0);				/* merged_into */
    v2_u32(v2, 3);				/* articles */
    v2_u32(v2, 2);				/* history */
    v2_str(v2, "gold");				/* sla */
    for (int i = 0; i < 8; i++)
	v2_u64(v2, i == 5 ? 1800000000 : 0);	/* solution_due */
    v2_u32(v2, 0);				/* sla_notified */
    v2_u64(v2, 0);				/* pending_until */
    len = buf_len(v2);
    CU_ASSERT_EQUAL_FATAL(store_codec_ticket_decode(buf_data(v2), len, number,
						    &out), STORE_OK);
    CU_ASSERT_STRING_EQUAL(out.t.title, "Old title");
    CU_ASSERT_EQUAL(out.t.priority, 4);
    CU_ASSERT_EQUAL(out.t.n_articles_total, 3);
    CU_ASSERT_EQUAL(out.n_history, 2);
    CU_ASSERT_STRING_EQUAL(out.t.sla, "gold");
    CU_ASSERT_EQUAL(out.t.solution_due, 1800000000);
    CU_ASSERT_EQUAL(out.t.revision, 0);
    CU_ASSERT_EQUAL(out.t.n_watchers, 0);
    CU_ASSERT_PTR_NULL(out.t.watchers);
    CU_ASSERT_EQUAL(out.t.owner_seen, 0);
    for (int i = 0; i < STORE_FIELD_COUNT; i++)
	CU_ASSERT(out.t.changes[i].revision == 0 && out.t.changes[i].who == 0);
    store_ticket_fields_free(&out.t);
    /* Truncated or extended version 2 records are refused. */
    CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(v2), len - 1, number,
					      &out), STORE_PERM);
    buf_append_char(v2, 0);
    CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(v2), len + 1, number,
					      &out), STORE_PERM);

    /* In a store: read, then updated (the record becomes version 3). */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.data = (void *) number;
    k.size = (u_int32_t) strlen(number);
    d.data = buf_data_mut(v2);
    d.size = (u_int32_t) len;
    CU_ASSERT_EQUAL(s->db[STORE_DB_TICKETS]->put(s->db[STORE_DB_TICKETS],
						 b->txn, &k, &d, 0), 0);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    t = get_ticket(s, number);
    CU_ASSERT_EQUAL(t->revision, 0);
    CU_ASSERT_STRING_EQUAL(t->owner, "alice");
    store_ticket_free(&t);
    no_change(&c);
    c.title = "New title";
    CU_ASSERT_EQUAL(update1(s, number, &c, "bob", 1800000000), STORE_OK);
    t = get_ticket(s, number);
    CU_ASSERT_EQUAL(t->revision, 1);
    CU_ASSERT_STRING_EQUAL(t->title, "New title");
    CU_ASSERT_EQUAL(t->changes[STORE_FIELD_TITLE].revision, 1);
    CU_ASSERT_EQUAL_FATAL(t->n_history, 1);	/* seq 3 read as the first */
    CU_ASSERT(history_is(t, 0, "title", "Old title", "New title"));
    CU_ASSERT_EQUAL(t->solution_due, 1800000000);
    store_ticket_free(&t);
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(s, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_get(s->db[STORE_DB_TICKETS], b->txn, number,
			      strlen(number), &b->get, &len, 0), 0);
    CU_ASSERT_EQUAL(b->get.data[0], STORE_REC_TICKET_VERSION);
    CU_ASSERT_EQUAL(STORE_REC_TICKET_VERSION, 3);
    store_batch_abort(&b);
    buf_destroy(&v2);
    store_close(&s);
    mem_free(dir);
}

/* test_codec_v3 - watchers and changes round-trip; field counts */

static void test_codec_v3(void)
{
    static char *const w[] = {"bob", "carol"};
    struct store_ticket_rec rec, out;
    struct buf *b = buf_create(0, 0);
    unsigned char *copy;
    size_t  len, i;
    int     refused;

    memset(&rec, 0, sizeof(rec));
    strcpy(rec.t.number, "1");
    rec.t.title = rec.t.queue = rec.t.type = "x";
    rec.t.state = "open";
    rec.t.customer = "c@example.com";
    rec.t.priority = 3;
    rec.t.revision = 70000;
    rec.t.watchers = (char **) w;
    rec.t.n_watchers = 2;
    rec.t.changes[STORE_FIELD_OWNER].revision = 69999;
    rec.t.changes[STORE_FIELD_OWNER].who = "alice";
    rec.t.changes[STORE_FIELD_WATCHERS].revision = 7;
    rec.t.changes[STORE_FIELD_WATCHERS].who = "";
    rec.t.owner_seen = 12;
    store_codec_ticket_encode(b, &rec);
    len = buf_len(b);
    CU_ASSERT_EQUAL_FATAL(store_codec_ticket_decode(buf_data(b), len, "1", &out),
			  STORE_OK);
    CU_ASSERT_EQUAL(out.t.revision, 70000);
    CU_ASSERT_EQUAL_FATAL(out.t.n_watchers, 2);
    CU_ASSERT_STRING_EQUAL(out.t.watchers[1], "carol");
    CU_ASSERT_EQUAL(out.t.changes[STORE_FIELD_OWNER].revision, 69999);
    CU_ASSERT_STRING_EQUAL(out.t.changes[STORE_FIELD_OWNER].who, "alice");
    CU_ASSERT_STRING_EQUAL(out.t.changes[STORE_FIELD_WATCHERS].who, "");
    CU_ASSERT_PTR_NULL(out.t.changes[STORE_FIELD_TITLE].who);
    CU_ASSERT_EQUAL(out.t.owner_seen, 12);
    store_ticket_fields_free(&out.t);
    CU_ASSERT_PTR_NULL(out.t.watchers);
    CU_ASSERT_PTR_NULL(out.t.changes[STORE_FIELD_OWNER].who);
    /* Every prefix is refused (ASan sees overreads: exact-size copies). */
    for (refused = 0, i = 0; i < len; i++) {
	copy = mem_memdup(buf_data(b), i);
	refused += store_codec_ticket_decode(copy, i, "1", &out) == STORE_PERM;
	mem_free(copy);
    }
    CU_ASSERT_EQUAL(refused, len);
    /* A huge watcher count does not allocate or crash. */
    copy = mem_memdup(buf_data(b), len);
    {
	/* owner_seen, 8 changes (4 + 4 + who), count, 2 watchers, count */
	size_t  off = len - 4 - (8 * 8 + 5 + 0) - 4 - (4 + 3) - (4 + 5) - 4;

	CU_ASSERT_EQUAL(store_be32_get(copy + off), 2);
	store_be32_put(copy + off, 0x7fffffff);
	CU_ASSERT_EQUAL(store_codec_ticket_decode(copy, len, "1", &out), STORE_PERM);
    }
    mem_free(copy);
    /* A record from a later version with more fields: the extra change
       is read and dropped; with fewer, the missing ones stay zero. */
    {
	size_t  cnt = len - 4 - (8 * 8 + 5) - 4;
	struct buf *more = buf_create(0, 0);
	unsigned char x[4];

	CU_ASSERT_EQUAL(store_be32_get((unsigned char *) buf_data(b) + cnt),
			STORE_FIELD_COUNT);
	buf_append(more, buf_data(b), cnt);
	store_be32_put(x, STORE_FIELD_COUNT + 1);
	buf_append(more, x, 4);
	buf_append(more, buf_data(b) + cnt + 4, len - cnt - 4 - 4);
	store_be32_put(x, 5);
	buf_append(more, x, 4);
	buf_append(more, "\0\0\0\3ext", 7);	/* revision 5, who "ext" */
	buf_append(more, buf_data(b) + len - 4, 4);
	CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(more), buf_len(more),
						  "1", &out), STORE_OK);
	CU_ASSERT_EQUAL(out.t.owner_seen, 12);
	CU_ASSERT_STRING_EQUAL(out.t.changes[STORE_FIELD_OWNER].who, "alice");
	store_ticket_fields_free(&out.t);
	buf_reset(more);
	buf_append(more, buf_data(b), cnt);
	store_be32_put(x, 1);
	buf_append(more, x, 4);
	buf_append(more, buf_data(b) + cnt + 4, 4 + 4 + 5);	/* owner */
	buf_append(more, buf_data(b) + len - 4, 4);
	CU_ASSERT_EQUAL(store_codec_ticket_decode(buf_data(more), buf_len(more),
						  "1", &out), STORE_OK);
	CU_ASSERT_EQUAL(out.t.changes[STORE_FIELD_OWNER].revision, 69999);
	CU_ASSERT_EQUAL(out.t.changes[STORE_FIELD_WATCHERS].revision, 0);
	CU_ASSERT_EQUAL(out.t.owner_seen, 12);
	store_ticket_fields_free(&out.t);
	buf_destroy(&more);
    }
    buf_destroy(&b);
}

/*
 * Suite setup: a temporary root and a configuration with three queues.
 */

static int suite_init(void)
{
    static const char text[] =
	"[postdesk]\n"
	"domain = desk.example.org\n"
	"system_id = 10\n"
	"\n"
	"[queue Helpdesk]\n"
	"addresses = helpdesk@example.org\n"
	"group = helpdesk\n"
	"follow_up_closed = reopen\n"
	"\n"
	"[queue Strict]\n"
	"addresses = strict@example.org\n"
	"group = helpdesk\n"
	"follow_up_closed = reject\n"
	"\n"
	"[queue Fresh]\n"
	"addresses = fresh@example.org\n"
	"group = helpdesk\n"
	"follow_up_closed = new\n"
	"\n"
	"[calendar week]\n"
	"timezone = UTC\n"
	"hours = mon-fri 00:00-24:00\n"
	"\n"
	"[sla gold]\n"
	"calendar = week\n"
	"first_response = 24h\n"
	"update = 2h\n"
	"solution = 5d\n"
	"warn_at = 50\n"
	"\n"
	"[sla goldrun]\n"
	"calendar = week\n"
	"first_response = 24h\n"
	"update = 2h\n"
	"solution = 5d\n"
	"warn_at = 50\n"
	"pause_when_pending = no\n"
	"\n"
	"[sla fast]\n"
	"calendar = week\n"
	"first_response = 4h\n"
	"solution = 1d\n"
	"\n"
	"[queue Sla]\n"
	"addresses = sla@example.org\n"
	"group = helpdesk\n"
	"sla = gold\n"
	"type_sla = incident:fast\n"
	"\n"
	"[queue SlaRun]\n"
	"addresses = slarun@example.org\n"
	"group = helpdesk\n"
	"sla = goldrun\n";
    char   *path, *errors = 0;
    FILE   *fp;

    if (mkdtemp(root) == 0)
	return (1);
    path = mem_printf("%s/postdesk.conf", root);
    if ((fp = fopen(path, "w")) == 0) {
	mem_free(path);
	return (1);
    }
    fputs(text, fp);
    fclose(fp);
    conf = conf_load(path, &errors);
    if (conf == 0)
	fprintf(stderr, "conf_load: %s\n", errors ? errors : "?");
    mem_free(errors);
    mem_free(path);
    return (conf == 0);
}

static int suite_clean(void)
{
    conf_unref(&conf);
    return (nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS));
}

int     main(void)
{
    CU_pSuite suite;
    CU_ErrorCode rc;
    unsigned bad;

    log_open("test_store", 1);
    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    suite = CU_add_suite("store", suite_init, suite_clean);
    CU_add_test(suite, "number format", test_number_format);
    CU_add_test(suite, "codec refuses truncated records", test_codec);
    CU_add_test(suite, "new ticket round trip", test_new_ticket);
    CU_add_test(suite, "26 MB message", test_large);
    CU_add_test(suite, "follow-up by ticket reference", test_follow_up_ref);
    CU_add_test(suite, "follow-up by References", test_follow_up_references);
    CU_add_test(suite, "deduplication", test_dedup);
    CU_add_test(suite, "state transitions", test_states);
    CU_add_test(suite, "daily counter", test_counter);
    CU_add_test(suite, "many messages in one batch", test_big_batch);
    CU_add_test(suite, "abort leaves nothing", test_abort);
    CU_add_test(suite, "list filters", test_list);
    CU_add_test(suite, "maintenance persists", test_maintenance);
    CU_add_test(suite, "second process is locked out", test_locked);
    CU_add_test(suite, "crash recovery", test_crash);
    CU_add_test(suite, "schema versions", test_schema);
    CU_add_test(suite, "lock conflict is STORE_RETRY", test_retry);
    CU_add_test(suite, "one writer, two readers", test_concurrent);
    CU_add_test(suite, "article written by postdesk", test_article_add);
    CU_add_test(suite, "ticket as the batch sees it", test_batch_ticket_get);
    CU_add_test(suite, "acknowledgement rate limit", test_ack_charge);
    CU_add_test(suite, "acknowledgement times are pruned", test_ack_prune);
    CU_add_test(suite, "outbox record codec", test_codec_outbox);
    CU_add_test(suite, "outbox rows and attempts", test_outbox);
    CU_add_test(suite, "outbox keeps the newest sent rows", test_outbox_trim);
    CU_add_test(suite, "outbox after kill -9", test_outbox_crash);
    CU_add_test(suite, "schema upgrade 1 to 2", test_schema_1_2);
    CU_add_test(suite, "SLA deadlines at creation", test_sla_created);
    CU_add_test(suite, "SLA per ticket type", test_sla_type);
    CU_add_test(suite, "limited list stops early, newest first", test_list_limit_early);
    CU_add_test(suite, "SLA warning and escalation once", test_sla_sweep);
    CU_add_test(suite, "SLA update, close and reopen", test_sla_update);
    CU_add_test(suite, "SLA pending pause", test_sla_pending);
    CU_add_test(suite, "pending reminder and auto close", test_pending_time);
    CU_add_test(suite, "SLA fields in old and new records", test_sla_old_record);
    CU_add_test(suite, "version 3 record codec", test_codec_v3);
    CU_add_test(suite, "version 2 record read and upgraded", test_record_v2);
    CU_add_test(suite, "ticket update: fields, history, indexes",
		test_ticket_update);
    CU_add_test(suite, "ticket update refusals", test_ticket_update_refused);
    CU_add_test(suite, "state changes are recorded", test_state_changes);
    CU_add_test(suite, "owner seen and the new-article star", test_ticket_seen);
    CU_add_test(suite, "merge and follow-ups to merged tickets",
		test_ticket_merge);
    CU_add_test(suite, "command mail keys", test_command_keys);
    CU_add_test(suite, "throughput (printed)", test_bench);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
