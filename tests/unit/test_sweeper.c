/*++
/* NAME
/*	test_sweeper 1
/* SUMMARY
/*	unit tests of the escalation sweeper (notify/sweeper.c)
/* SYNOPSIS
/*	test_sweeper
/* DESCRIPTION
/*	A real temporary store and configuration: an SLA with a 30-minute
/*	first response (warning at 50 %) on a Monday-Friday whole-day UTC
/*	calendar, one subscribed agent. A ticket opened on Friday 23:00 is
/*	swept at chosen instants: with notify_outside_hours = no nothing is
/*	sent over the weekend and the warning and the escalation go out at
/*	Monday 00:00, once; with yes they go out on Saturday, once. A pending
/*	reminder is sent at its time, once.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <gmime/gmime.h>

#include <util.h>
#include <conf.h>
#include <store.h>
#include <notify.h>

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

static int rm_entry(const char *path, const struct stat *st, int flag,
		            struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return (remove(path));
}

struct world {
    char    dir[64];
    struct conf *conf;
    struct notify *notify;
    struct store *store;
    char    number[32];
};

/* setup - conf, notify bundle, store, one ticket opened Friday 23:00 */

static int setup(struct world *w, const char *outside)
{
    char    path[128];
    char   *err = 0;
    FILE   *fp;
    struct store_batch *b;
    struct store_message m;
    struct store_result r;
    const char *src = getenv("POSTDESK_SOURCE_DIR");

    memset(w, 0, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/test_sweeper.XXXXXX");
    if (mkdtemp(w->dir) == 0)
	return (-1);
    snprintf(path, sizeof(path), "%s/p.conf", w->dir);
    if ((fp = fopen(path, "w")) == 0)
	return (-1);
    fprintf(fp, "[postdesk]\ndomain = desk.test\nstate_dir = %s/state\n"
	    "templates_dir = %s/contrib/templates\n"
	    "[calendar week]\ntimezone = UTC\nhours = mon-fri 00:00-24:00\n"
	    "[sla s]\ncalendar = week\nfirst_response = 30m\nsolution = 5d\n"
	    "warn_at = 50\nnotify_outside_hours = %s\n"
	    "[queue Helpdesk]\naddresses = helpdesk@desk.test\ngroup = helpdesk\nsla = s\n"
	    "[agent alice]\nemail = alice@agents.test\ngroups = helpdesk\n"
	    "subscribe = Helpdesk\nnotify = escalation;pending\n",
	    w->dir, src ? src : ".", outside);
    fclose(fp);
    if ((w->conf = conf_load(path, &err)) == 0
	|| (w->notify = notify_create(w->conf, 0, &err)) == 0) {
	fprintf(stderr, "setup: %s\n", err ? err : "?");
	mem_free(err);
	return (-1);
    }
    snprintf(path, sizeof(path), "%s/state", w->dir);
    if (store_open(path, &w->store, &err) != STORE_OK)
	return (-1);
    memset(&m, 0, sizeof(m));
    m.log_id = "T";
    m.recipient = m.to = "helpdesk@desk.test";
    m.queue = "Helpdesk";
    m.default_type = "Incident";
    m.sender = m.from = m.from_header = "marie@client.test";
    m.cc = m.content_language = "";
    m.subject = m.title = "Printer";
    m.message_id = "x1@client.test";
    m.body = "broken";
    m.raw = "Subject: Printer\r\n\r\nbroken\r\n";
    m.raw_len = strlen(m.raw);
    m.hash[0] = 1;
    m.received = utc(2027, 3, 5, 23, 0);	/* a Friday */
    if (store_batch_begin(w->store, &b) != STORE_OK
	|| store_deliver(b, w->conf, &m, &r) != STORE_OK
	|| store_batch_commit(&b) != STORE_OK)
	return (-1);
    memcpy(w->number, r.number, sizeof(w->number));
    return (0);
}

static void teardown(struct world *w)
{
    store_close(&w->store);
    notify_unref(&w->notify);
    conf_unref(&w->conf);
    nftw(w->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int sweep(struct world *w, time_t now)
{
    return (notify_sweep(w->store, w->conf, w->notify, now));
}

static void test_held_outside_hours(void)
{
    struct world w;
    struct store_ticket *t = 0;

    CU_ASSERT_FATAL(setup(&w, "no") == 0);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 6, 10, 0)), 0);	/* Saturday */
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 7, 10, 0)), 0);	/* Sunday */
    /* Monday 00:00: warning and escalation of the first response, once. */
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 8, 0, 0)), 2);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 8, 0, 1)), 0);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 8, 9, 0)), 0);
    CU_ASSERT_EQUAL_FATAL(store_ticket_get(w.store, w.number, &t), STORE_OK);
    CU_ASSERT(t->escalated);
    store_ticket_free(&t);
    teardown(&w);
}

static void test_sent_outside_hours(void)
{
    struct world w;

    CU_ASSERT_FATAL(setup(&w, "yes") == 0);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 6, 10, 0)), 2);	/* Saturday */
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 7, 10, 0)), 0);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 8, 0, 0)), 0);
    teardown(&w);
}

static void test_pending_reminder(void)
{
    struct world w;
    struct store_batch *b;

    CU_ASSERT_FATAL(setup(&w, "no") == 0);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 8, 0, 0)), 2);
    CU_ASSERT_FATAL(store_batch_begin(w.store, &b) == STORE_OK);
    CU_ASSERT_FATAL(store_ticket_state_set(b, w.conf, "T", w.number, "pending reminder",
					   utc(2027, 3, 9, 10, 0), "alice",
					   utc(2027, 3, 8, 1, 0)) == STORE_OK);
    CU_ASSERT_FATAL(store_batch_commit(&b) == STORE_OK);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 9, 9, 59)), 0);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 9, 10, 0)), 1);
    CU_ASSERT_EQUAL(sweep(&w, utc(2027, 3, 9, 11, 0)), 0);
    teardown(&w);
}

int     main(void)
{
    CU_pSuite s;
    unsigned bad;
    CU_ErrorCode rc;

    g_mime_init();
    log_set_stderr(0);
    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    s = CU_add_suite("sweeper", 0, 0);
    CU_add_test(s, "held outside working hours", test_held_outside_hours);
    CU_add_test(s, "sent outside working hours when asked", test_sent_outside_hours);
    CU_add_test(s, "pending reminder once at its time", test_pending_reminder);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    g_mime_shutdown();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
