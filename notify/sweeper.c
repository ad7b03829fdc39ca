/*++
/* NAME
/*	sweeper 3
/* SUMMARY
/*	SLA warnings and escalations, once a minute
/* SYNOPSIS
/*	#include <notify.h>
/*
/*	int	notify_sweep(store, conf, notify, now)
/*
/*	struct notify_sweeper *notify_sweeper_start(store, snapshot_get,
/*					offset, after)
/*
/*	void	notify_sweeper_stop(sweeperp)
/* DESCRIPTION
/*	notify_sweep() reads the due part of the store's escalation index
/*	(store_escalation_due(): only tickets whose next warning or
/*	deadline is at or before now) and handles each ticket in its own
/*	batch: store_escalation_mark() records what passed and was not
/*	yet notified (history, `escalated', the notified bits, the index),
/*	and notify_event(NOTIFY_ESCALATION) writes one notification to
/*	the outbox per newly passed kind and level, with the detail
/*	"KIND LEVEL" ("first_response warning", "solution escalation").
/*	The marks and the mail commit together, so each is sent once: a
/*	crash before the commit repeats the whole pass, never half of it.
/*
/*	Pending times (store_escalation_mark() again): a "pending
/*	reminder" ticket whose time has come gets one NOTIFY_PENDING
/*	notification (detail "reminder"), a "pending auto close+/-" one
/*	is closed (logged; the store writes the history).
/*
/*	Outside working hours: unless the ticket's SLA has
/*	notify_outside_hours = yes, a ticket is skipped while now is not
/*	working time of the SLA's calendar; it stays due in the index and
/*	goes out at the first pass in working time (the next working
/*	minute, give or take the sweep period). Calendars are built once
/*	per pass and SLA.
/*
/*	notify_sweeper_start() runs notify_sweep() in a thread of its own:
/*	at start, then every NOTIFY_SWEEP_SECONDS, with the conf and
/*	notify snapshot current at each pass, at time(0) + offset (offset
/*	is 0 except under the test clock). after() is called (from that
/*	thread) when a pass wrote notifications, to wake the sender.
/*	notify_sweeper_stop() ends the thread after its current pass.
/* DIAGNOSTICS
/*	Store errors are logged; the ticket is tried again at the next
/*	pass. A deadlock replays the ticket's batch up to three times.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <calendar.h>
#include <conf.h>
#include <store.h>
#include <util.h>

#include "notify.h"

#define SWEEP_MAX	512		/* tickets per pass */
#define SWEEP_REPLAYS	3
#define CAL_CACHE	16

static const char *const level_names[] = {"warning", "escalation"};

/* A pass's calendars, one per SLA name. */
struct cal_cache {
    const char *sla[CAL_CACHE];
    struct calendar *cal[CAL_CACHE];
    size_t  n;
};

/* cache_get - the calendar of an SLA (built once per pass), or NULL */

static struct calendar *cache_get(struct cal_cache *cc, const struct conf *conf,
				          const struct conf_sla *sla)
{
    const struct conf_calendar *c;
    struct calendar *cal;
    char   *err = 0;

    for (size_t i = 0; i < cc->n; i++)
	if (strcmp(cc->sla[i], sla->name) == 0)
	    return (cc->cal[i]);
    if ((c = conf_calendar_find(conf, sla->calendar)) == 0)
	return (0);
    if ((cal = calendar_create(c, &err)) == 0) {
	log_error("sweeper: calendar %s: %s", c->name, err ? err : "?");
	mem_free(err);
	return (0);
    }
    if (cc->n == CAL_CACHE) {
	calendar_destroy(&cc->cal[0]);
	memmove(cc->sla, cc->sla + 1, (CAL_CACHE - 1) * sizeof(cc->sla[0]));
	memmove(cc->cal, cc->cal + 1, (CAL_CACHE - 1) * sizeof(cc->cal[0]));
	cc->n--;
    }
    cc->sla[cc->n] = sla->name;
    cc->cal[cc->n++] = cal;
    return (cal);
}

/* cache_free - the pass is over */

static void cache_free(struct cal_cache *cc)
{
    for (size_t i = 0; i < cc->n; i++)
	calendar_destroy(&cc->cal[i]);
    cc->n = 0;
}

/* held - 1 when the ticket's notifications wait for working time */

static int held(struct store *store, const struct conf *conf,
		        struct cal_cache *cc, const char *number, time_t now)
{
    struct store_ticket *t = 0;
    const struct conf_sla *sla;
    struct calendar *cal;
    int     hold = 0;

    if (store_ticket_get(store, number, &t) != STORE_OK)
	return (0);				/* mark decides (NOTFOUND etc.) */
    if (t->sla && (sla = conf_sla_find(conf, t->sla)) != 0
	&& !sla->notify_outside_hours
	&& (cal = cache_get(cc, conf, sla)) != 0)
	hold = !calendar_is_working(cal, now);
    store_ticket_free(&t);
    return (hold);
}

/* sweep_one - one ticket in one batch; the notifications written, or <0 */

static int sweep_one(struct store *store, const struct conf *conf,
		             const struct notify *n, const char *number,
		             time_t now)
{
    struct store_batch *b = 0;
    struct notify_event ev;
    unsigned fired = 0;
    size_t  queued, total = 0;
    char    detail[64];
    int     kind, level, rc;

    if ((rc = store_batch_begin(store, &b)) != STORE_OK)
	return (rc);
    rc = store_escalation_mark(b, "sweeper", number, now, &fired);
    for (kind = 0; rc == STORE_OK && kind < STORE_SLA_KINDS; kind++) {
	for (level = 0; rc == STORE_OK && level < 2; level++) {
	    if (!(fired & STORE_SLA_BIT(kind, level)))
		continue;
	    snprintf(detail, sizeof(detail), "%s %s",
		     store_sla_kind_name(kind), level_names[level]);
	    memset(&ev, 0, sizeof(ev));
	    ev.type = NOTIFY_ESCALATION;
	    ev.number = number;
	    ev.detail = detail;
	    rc = notify_event(n, b, conf, &ev, now, &queued);
	    if (rc == STORE_OK) {
		total += queued;
		log_info("%s: sla %s, notifications=%zu", number, detail, queued);
	    }
	}
    }
    if (rc == STORE_OK && (fired & STORE_PENDING_REMINDED)) {
	memset(&ev, 0, sizeof(ev));
	ev.type = NOTIFY_PENDING;
	ev.number = number;
	ev.detail = "reminder";
	rc = notify_event(n, b, conf, &ev, now, &queued);
	if (rc == STORE_OK) {
	    total += queued;
	    log_info("%s: pending reminder, notifications=%zu", number, queued);
	}
    }
    if (rc == STORE_OK && (fired & STORE_PENDING_CLOSED))
	log_info("%s: pending time reached: closed", number);
    if (rc != STORE_OK) {
	store_batch_abort(&b);
	return (rc);
    }
    if ((rc = store_batch_commit(&b)) != STORE_OK)
	return (rc);
    return ((int) total);
}

/* notify_sweep - one pass at instant now */

int     notify_sweep(struct store *store, const struct conf *conf,
		             const struct notify *n, time_t now)
{
    struct cal_cache cc;
    char    (*numbers)[32] = 0;
    size_t  count = 0;
    int     total = 0, rc, attempt;

    memset(&cc, 0, sizeof(cc));
    if ((rc = store_escalation_due(store, now, SWEEP_MAX, &numbers, &count))
	!= STORE_OK) {
	log_error("sweeper: cannot read the escalation index");
	return (-1);
    }
    for (size_t i = 0; i < count; i++) {
	if (held(store, conf, &cc, numbers[i], now))
	    continue;
	for (attempt = 0; attempt < SWEEP_REPLAYS; attempt++)
	    if ((rc = sweep_one(store, conf, n, numbers[i], now)) != STORE_RETRY)
		break;
	if (rc >= 0)
	    total += rc;
	else if (rc != STORE_NOTFOUND)
	    log_error("%s: sweeper: store error %d, trying again later",
		      numbers[i], rc);
    }
    cache_free(&cc);
    mem_free(numbers);
    return (total);
}

/*
 * The thread.
 */
struct notify_sweeper {
    struct store *store;
    void    (*snapshot_get) (struct conf **, struct notify **);
    time_t  offset;
    void    (*after) (void);
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;		/* CLOCK_MONOTONIC */
    int     stop;
};

/* wait_period - sleep one period, or until stopped; 1 when stopped */

static int wait_period(struct notify_sweeper *sw)
{
    struct timespec deadline;
    int     stop;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += NOTIFY_SWEEP_SECONDS;
    pthread_mutex_lock(&sw->lock);
    while (!sw->stop)
	if (pthread_cond_timedwait(&sw->cond, &sw->lock, &deadline) == ETIMEDOUT)
	    break;
    stop = sw->stop;
    pthread_mutex_unlock(&sw->lock);
    return (stop);
}

/* sweeper_main - the loop */

static void *sweeper_main(void *arg)
{
    struct notify_sweeper *sw = arg;
    struct conf *conf;
    struct notify *n;
    sigset_t mask;
    int     written;

    sigfillset(&mask);
    sigdelset(&mask, SIGSEGV);
    sigdelset(&mask, SIGBUS);
    sigdelset(&mask, SIGFPE);
    sigdelset(&mask, SIGILL);
    sigdelset(&mask, SIGABRT);
    sigdelset(&mask, SIGTRAP);
    pthread_sigmask(SIG_BLOCK, &mask, 0);
    do {
	sw->snapshot_get(&conf, &n);
	written = notify_sweep(sw->store, conf, n, time((time_t *) 0) + sw->offset);
	notify_unref(&n);
	conf_unref(&conf);
	if (written > 0 && sw->after)
	    sw->after();
    } while (!wait_period(sw));
    return (0);
}

/* notify_sweeper_start - start the thread */

struct notify_sweeper *notify_sweeper_start(struct store *store,
			          void (*snapshot_get) (struct conf **, struct notify **),
				            time_t offset, void (*after) (void))
{
    struct notify_sweeper *sw = mem_zalloc(sizeof(*sw));
    pthread_condattr_t ca;
    int     err;

    sw->store = store;
    sw->snapshot_get = snapshot_get;
    sw->offset = offset;
    sw->after = after;
    pthread_mutex_init(&sw->lock, 0);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sw->cond, &ca);
    pthread_condattr_destroy(&ca);
    if ((err = pthread_create(&sw->thread, 0, sweeper_main, sw)) != 0) {
	log_error("sweeper: cannot start the thread: %s", strerror(err));
	pthread_cond_destroy(&sw->cond);
	pthread_mutex_destroy(&sw->lock);
	mem_free(sw);
	return (0);
    }
    return (sw);
}

/* notify_sweeper_stop - end the thread after its pass, free */

void    notify_sweeper_stop(struct notify_sweeper **swp)
{
    struct notify_sweeper *sw = *swp;

    if (sw == 0)
	return;
    pthread_mutex_lock(&sw->lock);
    sw->stop = 1;
    pthread_cond_signal(&sw->cond);
    pthread_mutex_unlock(&sw->lock);
    pthread_join(sw->thread, 0);
    pthread_cond_destroy(&sw->cond);
    pthread_mutex_destroy(&sw->lock);
    mem_free(sw);
    *swp = 0;
}
