/*++
/* NAME
/*	store_sla 3
/* SUMMARY
/*	SLA deadlines of tickets and the escalation index
/* SYNOPSIS
/*	#include <store.h>
/*
/*	int	store_sla_update(conf, ticket, event, old_state, at)
/*
/*	time_t	store_sla_next(ticket)
/*
/*	int	store_sla_level(ticket, kind, at)
/*
/*	int	store_ticket_state_set(batch, conf, log_id, number, state, who, at)
/*
/*	int	store_escalation_due(store, now, max, numbers_r, n_r)
/*
/*	int	store_escalation_mark(batch, log_id, number, now, fired_r)
/* INTERNAL INTERFACES
/*	#include "store_private.h"
/*
/*	int	store_escalation_index(batch, log_id, rec)
/* DESCRIPTION
/*	A ticket's SLA is the `sla' of its queue, looked up in the conf
/*	snapshot at each event. Its calendar comes from a small cache
/*	keyed by the calendar's definition (building one costs about 1.4
/*	ms, mostly GLib loading the zone; an addition about 0.1 ms).
/*	Each deadline has a warning point: the instant at which warn_at
/*	percent of its working time has passed. Deadlines and warnings
/*	are stored in the ticket, so that events that need no calendar
/*	(an agent reply, closing) and the sweeper work without one.
/*
/*	Events (store_sla_update()): creation sets the first response
/*	and solution deadlines from the creation instant. A requester's
/*	mail sets the update deadline when the SLA has `update', the
/*	first response was given and no update deadline runs (the clock
/*	runs from the oldest unanswered mail). A visible agent reply
/*	records first_response_at (once) and meets the first response
/*	and update deadlines. A state change: closed clears every
/*	deadline and the escalation; entering pending records the pause
/*	instant when the SLA says pause_when_pending; leaving pending
/*	moves the update and solution deadlines (and warnings) by the
/*	working time that was left; leaving a closed state gives a new
/*	solution deadline (and a new first response deadline when no
/*	agent ever answered). Meeting or replacing a deadline forgets its
/*	notifications; `escalated' is set while a notified deadline of
/*	the ticket still runs.
/*
/*	Pending times: store_ticket_state_set() records pending_until for
/*	"pending*" states (any other state clears it). When it passes,
/*	store_escalation_mark() reminds once ("pending reminder") or
/*	closes the ticket ("pending auto close+" -> "closed successful",
/*	"-" -> "closed unsuccessful", unlocked). store_ticket_state_set()
/*	records the state change in the ticket's changes (the revision
/*	after the write, who); the automatic close records the state (and
/*	the lock, when it was locked) with who "system".
/*
/*	The escalation index (idx_escalation.db) holds each ticket under
/*	store_sla_next(): its earliest warning or deadline not yet
/*	notified (paused clocks excluded), or its pending time. store_escalation_index() keeps
/*	it right on every ticket write; store_escalation_due() reads the
/*	due part only.
/* DIAGNOSTICS
/*	Tri-state results as everywhere in the store; a calendar that
/*	cannot be built is logged and gives STORE_TEMP.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <pthread.h>
#include <string.h>

#include "calendar.h"
#include "conf.h"
#include "store_private.h"

#define S(s)	((s) ? (s) : "")

static const char *const kind_names[STORE_SLA_KINDS] = {
    "first_response", "update", "solution",
};

/* store_sla_kind_name - the name of a deadline kind */

const char *store_sla_kind_name(enum store_sla_kind kind)
{
    return ((unsigned) kind < STORE_SLA_KINDS ? kind_names[kind] : "unknown");
}

/* is_closed, is_pending - state families */

static int is_closed(const char *state)
{
    return (state && strncmp(state, "closed", 6) == 0);
}

static int is_pending(const char *state)
{
    return (state && strncmp(state, "pending", 7) == 0);
}

/* slot - the due and warn fields of a kind */

static void slot(struct store_ticket *t, enum store_sla_kind kind,
		         time_t **due, time_t **warn)
{
    switch (kind) {
    case STORE_SLA_FIRST_RESPONSE:
	*due = &t->first_response_due;
	*warn = &t->first_response_warn;
	break;
    case STORE_SLA_UPDATE:
	*due = &t->update_due;
	*warn = &t->update_warn;
	break;
    default:
	*due = &t->solution_due;
	*warn = &t->solution_warn;
	break;
    }
}

/* store_sla_due - the deadline and warning point of one kind */

void    store_sla_due(const struct store_ticket *t, enum store_sla_kind kind,
		              time_t *due_r, time_t *warn_r)
{
    time_t *due, *warn;

    slot((struct store_ticket *) t, kind, &due, &warn);
    *due_r = *due;
    *warn_r = *warn;
}

/* paused_kind - a kind whose clock is stopped now */

static int paused_kind(const struct store_ticket *t, enum store_sla_kind kind)
{
    return (t->sla_paused != 0 && kind != STORE_SLA_FIRST_RESPONSE);
}

/* store_sla_next - the next unnotified warning or deadline */

time_t  store_sla_next(const struct store_ticket *t)
{
    time_t  next = 0, due, warn, when;
    int     kind;

    for (kind = 0; kind < STORE_SLA_KINDS; kind++) {
	store_sla_due(t, kind, &due, &warn);
	if (due == 0 || paused_kind(t, kind))
	    continue;
	if (!(t->sla_notified & STORE_SLA_BIT(kind, STORE_SLA_WARNING)) && warn)
	    when = warn;
	else if (!(t->sla_notified & STORE_SLA_BIT(kind, STORE_SLA_ESCALATION)))
	    when = due;
	else
	    continue;
	if (next == 0 || when < next)
	    next = when;
    }
    if (t->pending_until && is_pending(t->state)
	&& !(t->sla_notified & STORE_PENDING_REMINDED)
	&& (next == 0 || t->pending_until < next))
	next = t->pending_until;
    return (next);
}

/* store_sla_level - the level a kind has reached at instant at */

int     store_sla_level(const struct store_ticket *t, enum store_sla_kind kind,
			        time_t at)
{
    time_t  due, warn;

    store_sla_due(t, kind, &due, &warn);
    if (due == 0 || paused_kind(t, kind))
	return (-1);
    if (at >= due)
	return (STORE_SLA_ESCALATION);
    if (warn && at >= warn)
	return (STORE_SLA_WARNING);
    return (-1);
}

/* store_sla_escalation_kind - the first notified escalation, or NULL */

const char *store_sla_escalation_kind(const struct store_ticket *t)
{
    int     kind;

    for (kind = 0; kind < STORE_SLA_KINDS; kind++)
	if (t->sla_notified & STORE_SLA_BIT(kind, STORE_SLA_ESCALATION))
	    return (kind_names[kind]);
    return (0);
}

/* forget - a kind's deadline is met, replaced or cleared */

static void forget(struct store_ticket *t, enum store_sla_kind kind)
{
    time_t *due, *warn;

    slot(t, kind, &due, &warn);
    *due = *warn = 0;
    t->sla_notified &= ~(STORE_SLA_BIT(kind, STORE_SLA_WARNING)
			 | STORE_SLA_BIT(kind, STORE_SLA_ESCALATION));
}

/* settle - escalated follows the notified deadlines */

static void settle(struct store_ticket *t)
{
    t->escalated = store_sla_escalation_kind(t) != 0;
}

/* ticket_sla - the SLA of the ticket's queue (and type), or NULL */

static const struct conf_sla *ticket_sla(const struct conf *conf,
					         const struct store_ticket *t)
{
    const struct conf_queue *q;

    const char *name;

    if (conf == 0 || t->queue == 0 || (q = conf_queue_find(conf, t->queue)) == 0
	|| (name = conf_queue_sla(q, t->type)) == 0)
	return (0);
    return (conf_sla_find(conf, name));
}

/*
 * Calendars are cached by content (time zone, hours, holidays), not by
 * conf snapshot: building one costs about a millisecond (GLib loads the
 * zone), using one microseconds, and a calendar is immutable, so any
 * snapshot with the same definition shares it. The cache holds at most
 * CAL_CACHE calendars for the life of the process; past that, each use
 * builds its own (a conf with more calendars than that is unusual).
 */
#define CAL_CACHE	16

static pthread_mutex_t cal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cal_entry {
    char   *key;
    struct calendar *cal;
} cal_cache[CAL_CACHE];
static size_t cal_used;

/* cal_key - the content of a calendar definition, as one string */

static char *cal_key(const struct conf_calendar *cc)
{
    struct buf *b = buf_create(128, 0);
    char   *key;

    buf_printf(b, "%s\n%s\n%s", S(cc->name), S(cc->timezone), S(cc->hours));
    for (const char *const *h = cc->holidays; h && *h; h++)
	buf_printf(b, "\n%s", *h);
    key = mem_strdup(buf_data(b));
    buf_destroy(&b);
    return (key);
}

/* sla_calendar - the SLA's calendar, NULL (logged) if it cannot be
   built; *owned_r is set (for calendar_destroy()) when it is not cached */

static const struct calendar *sla_calendar(const struct conf *conf,
					           const struct conf_sla *sla,
					           const char *number,
					           struct calendar **owned_r)
{
    const struct conf_calendar *cc = conf_calendar_find(conf, sla->calendar);
    struct calendar *cal = 0;
    char   *err = 0, *key;
    size_t  i;

    *owned_r = 0;
    if (cc == 0) {
	log_error("store: ticket %s: sla %s: no calendar %s", number,
		  sla->name, S(sla->calendar));
	return (0);
    }
    key = cal_key(cc);
    pthread_mutex_lock(&cal_lock);
    for (i = 0; i < cal_used && cal == 0; i++)
	if (strcmp(cal_cache[i].key, key) == 0)
	    cal = cal_cache[i].cal;
    if (cal == 0 && (cal = calendar_create(cc, &err)) != 0) {
	if (cal_used < CAL_CACHE) {		/* full: never evict, the caller owns it */
	    cal_cache[cal_used].key = key;
	    cal_cache[cal_used++].cal = cal;
	    key = 0;
	} else {
	    *owned_r = cal;
	}
    }
    pthread_mutex_unlock(&cal_lock);
    mem_free(key);
    if (cal == 0) {
	log_error("store: ticket %s: calendar %s: %s", number, cc->name, S(err));
	mem_free(err);
    }
    return (cal);
}

/* plan - set a kind's deadline and warning from start */

static void plan(struct store_ticket *t, const struct calendar *cal,
		         const struct conf_sla *sla, enum store_sla_kind kind,
		         const char *text, time_t start)
{
    time_t *due, *warn, d, w;
    int64_t minutes;

    forget(t, kind);
    if (text == 0 || calendar_add_duration(cal, start, text, &d) < 0)
	return;
    minutes = calendar_between(cal, start, d) * sla->warn_at / 100;
    w = calendar_add(cal, start, minutes);
    slot(t, kind, &due, &warn);
    *due = d;
    *warn = (w == CALENDAR_NONE || w > d) ? d : w;
}

/* shift - resume a paused kind: the working time left counts from at */

static void shift(struct store_ticket *t, const struct calendar *cal,
		          enum store_sla_kind kind, time_t at)
{
    time_t *due, *warn, *p[2];
    time_t  moved;
    int     i;

    slot(t, kind, &due, &warn);
    p[0] = due;
    p[1] = warn;
    for (i = 0; i < 2; i++) {
	if (*p[i] == 0 || *p[i] <= t->sla_paused)
	    continue;				/* passed before the pause: stays */
	moved = calendar_add(cal, at, calendar_between(cal, t->sla_paused, *p[i]));
	if (moved != CALENDAR_NONE)
	    *p[i] = moved;
    }
}

/* set_sla_name - remember which SLA the deadlines come from */

static void set_sla_name(struct store_ticket *t, const struct conf_sla *sla)
{
    mem_free(t->sla);
    t->sla = sla ? mem_strdup(sla->name) : 0;
}

/* state_event - the deadlines after t->state was set (old_state before) */

static int state_event(const struct conf *conf, struct store_ticket *t,
		               const char *old_state, time_t at)
{
    const struct conf_sla *sla;
    const struct calendar *cal;
    struct calendar *owned;
    int     kind;

    if (!is_pending(t->state)) {
	t->pending_until = 0;
	t->sla_notified &= ~STORE_PENDING_REMINDED;
    }
    if (is_closed(t->state)) {
	for (kind = 0; kind < STORE_SLA_KINDS; kind++)
	    forget(t, kind);
	t->sla_paused = 0;
	settle(t);
	return (STORE_OK);
    }
    sla = ticket_sla(conf, t);
    if (is_pending(t->state)) {
	if (t->sla_paused == 0 && (sla == 0 || sla->pause_when_pending))
	    t->sla_paused = at;
	return (STORE_OK);
    }
    if (t->sla_paused == 0 && !is_closed(old_state))
	return (STORE_OK);
    if (sla == 0) {
	t->sla_paused = 0;
	return (STORE_OK);
    }
    if ((cal = sla_calendar(conf, sla, t->number, &owned)) == 0)
	return (STORE_TEMP);
    if (t->sla_paused) {
	shift(t, cal, STORE_SLA_UPDATE, at);
	shift(t, cal, STORE_SLA_SOLUTION, at);
	t->sla_paused = 0;
    }
    if (is_closed(old_state)) {
	set_sla_name(t, sla);
	plan(t, cal, sla, STORE_SLA_SOLUTION, sla->solution, at);
	if (t->first_response_at == 0)
	    plan(t, cal, sla, STORE_SLA_FIRST_RESPONSE, sla->first_response, at);
    }
    calendar_destroy(&owned);
    settle(t);
    return (STORE_OK);
}

/* store_sla_update - recompute the deadlines after an event */

int     store_sla_update(const struct conf *conf, struct store_ticket *t,
			         enum store_sla_event event,
			         const char *old_state, time_t at)
{
    const struct conf_sla *sla;
    const struct calendar *cal;
    struct calendar *owned;
    int     kind;

    switch (event) {
    case STORE_SLA_AGENT_REPLY:
	if (t->first_response_at == 0)
	    t->first_response_at = at;
	forget(t, STORE_SLA_FIRST_RESPONSE);
	forget(t, STORE_SLA_UPDATE);
	settle(t);
	return (STORE_OK);
    case STORE_SLA_STATE:
	return (state_event(conf, t, old_state, at));
    case STORE_SLA_CREATED:
	for (kind = 0; kind < STORE_SLA_KINDS; kind++)
	    forget(t, kind);
	t->sla_paused = 0;
	t->sla_notified = 0;
	sla = ticket_sla(conf, t);
	set_sla_name(t, sla);
	settle(t);
	if (sla == 0)
	    return (STORE_OK);
	if ((cal = sla_calendar(conf, sla, t->number, &owned)) == 0)
	    return (STORE_TEMP);
	plan(t, cal, sla, STORE_SLA_FIRST_RESPONSE, sla->first_response, at);
	plan(t, cal, sla, STORE_SLA_SOLUTION, sla->solution, at);
	calendar_destroy(&owned);
	return (STORE_OK);
    case STORE_SLA_CUSTOMER_MAIL:
	if (t->sla_paused || is_closed(t->state) || t->first_response_at == 0
	    || t->update_due != 0)
	    return (STORE_OK);
	if ((sla = ticket_sla(conf, t)) == 0 || sla->update == 0)
	    return (STORE_OK);
	if ((cal = sla_calendar(conf, sla, t->number, &owned)) == 0)
	    return (STORE_TEMP);
	plan(t, cal, sla, STORE_SLA_UPDATE, sla->update, at);
	calendar_destroy(&owned);
	settle(t);
	return (STORE_OK);
    default:
	return (STORE_PERM);
    }
}

/*
 * The escalation index.
 */

#define ESC_KEY_MAX	(8 + 32)

/* esc_key - be64(when) number */

static size_t esc_key(unsigned char *out, time_t when, const char *number)
{
    size_t  n = strlen(number);

    if (n >= 32)
	n = 31;
    store_be64_put(out, (uint64_t) (int64_t) when);
    memcpy(out + 8, number, n);
    return (8 + n);
}

/* store_escalation_index - move the ticket's index entry to its next instant */

int     store_escalation_index(struct store_batch *b, const char *log_id,
			               struct store_ticket_rec *rec)
{
    unsigned char key[ESC_KEY_MAX];
    time_t  next = store_sla_next(&rec->t);
    int     status = STORE_OK;

    if (next == rec->indexed)
	return (STORE_OK);
    if (rec->indexed != 0)
	status = store_batch_del(b, log_id, STORE_DB_ESCALATION, key,
				 esc_key(key, rec->indexed, rec->t.number),
				 "del escalation index");
    if (status == STORE_OK && next != 0)
	status = store_batch_put(b, log_id, STORE_DB_ESCALATION, key,
				 esc_key(key, next, rec->t.number), "", 0, 0,
				 "put escalation index");
    if (status == STORE_OK)
	rec->indexed = next;
    return (status);
}

/* due_once - one read of the due part of the index */

static int due_once(struct store *s, time_t now, size_t max,
		            char (**v)[32], size_t *n)
{
    struct store_scratch k = {0}, d = {0};
    size_t  klen = 0, dlen, size = 0;
    DB_TXN *txn;
    DBC    *dbc = 0;
    int     ret;

    if ((ret = s->env->txn_begin(s->env, NULL, &txn, DB_READ_COMMITTED)) != 0)
	return (store_bdb_status(s, "NOID", "begin escalation read", ret));
    ret = s->db[STORE_DB_ESCALATION]->cursor(s->db[STORE_DB_ESCALATION], txn,
					     &dbc, 0);
    while (ret == 0 && (max == 0 || *n < max)
	   && (ret = store_cursor_get(dbc, &k, &klen, &d, &dlen, DB_NEXT)) == 0) {
	if (klen <= 8 || klen >= 8 + 32)
	    continue;				/* not ours */
	if ((time_t) (int64_t) store_be64_get(k.data) > now)
	    break;
	if (*n == size) {
	    size = size ? 2 * size : 16;
	    *v = mem_realloc(*v, size * sizeof(**v));
	}
	memcpy((*v)[*n], k.data + 8, klen - 8);
	(*v)[*n][klen - 8] = 0;
	*n += 1;
    }
    if (dbc)
	(void) dbc->close(dbc);
    (void) txn->abort(txn);
    store_scratch_free(&k);
    store_scratch_free(&d);
    if (ret == DB_NOTFOUND)
	ret = 0;
    return (store_bdb_status(s, "NOID", "read escalation index", ret));
}

/* store_escalation_due - tickets whose index instant is <= now */

int     store_escalation_due(struct store *s, time_t now, size_t max,
			             char (**numbers_r)[32], size_t *n_r)
{
    int     i, st = STORE_TEMP;

    *numbers_r = 0;
    *n_r = 0;
    for (i = 0; i < 5; i++) {
	st = due_once(s, now, max, numbers_r, n_r);
	if (st != STORE_RETRY)
	    break;
	mem_free(*numbers_r);
	*numbers_r = 0;
	*n_r = 0;
    }
    if (st != STORE_OK) {
	mem_free(*numbers_r);
	*numbers_r = 0;
	*n_r = 0;
	return (st == STORE_RETRY ? STORE_TEMP : st);
    }
    return (STORE_OK);
}

/* pending_due - a pending time passed at now: remind once, or auto close */

static int pending_due(struct store_batch *b, const char *id,
		               struct store_ticket_rec *rec, time_t now,
		               unsigned *fired_r)
{
    struct store_ticket *t = &rec->t, old;
    const char *closed;
    char   *old_state;
    int     status;

    if (t->pending_until == 0 || t->pending_until > now || !is_pending(t->state)
	|| (t->sla_notified & STORE_PENDING_REMINDED))
	return (STORE_OK);
    if (strncmp(t->state, "pending auto close", 18) != 0) {
	t->sla_notified |= STORE_PENDING_REMINDED;
	*fired_r |= STORE_PENDING_REMINDED;
	return (store_batch_history(b, id, rec, now, "system", "pending", 0,
				    "reminder"));
    }
    closed = t->state[18] == '-' ? "closed unsuccessful" : "closed successful";
    old = *t;
    old_state = t->state;
    t->state = mem_strdup(closed);
    store_field_touch(t, STORE_FIELD_STATE, "system");
    if (t->locked)
	store_field_touch(t, STORE_FIELD_LOCK, "system");
    t->locked = 0;
    t->changed = now;
    *fired_r |= STORE_PENDING_CLOSED;
    status = store_batch_history(b, id, rec, now, "system", "state", old_state,
				 closed);
    if (status == STORE_OK)
	status = store_index_apply(b, id, &old, t);
    if (status == STORE_OK)
	status = store_sla_update(0, t, STORE_SLA_STATE, old_state, now);
    mem_free(old_state);
    return (status);
}

/* mark - record what passed at now and was not notified */

static int mark(struct store_batch *b, const char *id, const char *number,
		        time_t now, unsigned *fired_r)
{
    static const char *const level_names[] = {"warning", "escalation"};
    struct store_ticket_rec rec;
    unsigned bit;
    int     kind, level, reached, status;

    if ((status = store_batch_ticket_load(b, id, number, &rec)) != STORE_OK)
	return (status);
    for (kind = 0; kind < STORE_SLA_KINDS && status == STORE_OK; kind++) {
	reached = store_sla_level(&rec.t, kind, now);
	for (level = 0; level <= reached && status == STORE_OK; level++) {
	    bit = STORE_SLA_BIT(kind, level);
	    if (rec.t.sla_notified & bit)
		continue;
	    rec.t.sla_notified |= bit;
	    *fired_r |= bit;
	    status = store_batch_history(b, id, &rec, now, "system",
					 "escalation", kind_names[kind],
					 level_names[level]);
	}
    }
    if (status == STORE_OK)
	status = pending_due(b, id, &rec, now, fired_r);
    settle(&rec.t);
    if (status == STORE_OK)
	status = store_batch_ticket_put(b, id, &rec);
    store_ticket_fields_free(&rec.t);
    return (status);
}

/* store_escalation_mark - notify-once bookkeeping of one ticket */

int     store_escalation_mark(struct store_batch *b, const char *log_id,
			              const char *number, time_t now,
			              unsigned *fired_r)
{
    const char *id = log_id ? log_id : "NOID";
    int     status;

    *fired_r = 0;
    if (b == 0 || number == 0)
	return (STORE_PERM);
    if (b->failed)
	return (b->failed_status);
    b->wrote = 0;
    status = mark(b, id, number, now, fired_r);
    if (status != STORE_OK)
	*fired_r = 0;
    return (store_batch_settle(b, status));
}

/* state_set - the state change of store_ticket_state_set() */

static int state_set(struct store_batch *b, const struct conf *conf,
		             const char *id, const char *number,
		             const char *state, time_t pending_until,
		             const char *who, time_t at)
{
    char    when[32];
    struct store_ticket_rec rec;
    struct store_ticket old;
    char   *old_state;
    int     status;

    if ((status = store_batch_ticket_load(b, id, number, &rec)) != STORE_OK)
	return (status);
    old = rec.t;
    old_state = rec.t.state;
    rec.t.state = mem_strdup(state);
    rec.t.changed = at;
    store_field_touch(&rec.t, STORE_FIELD_STATE, who);
    status = store_batch_history(b, id, &rec, at, who, "state", old_state, state);
    if (status == STORE_OK)
	status = store_index_apply(b, id, &old, &rec.t);
    if (status == STORE_OK)
	status = store_sla_update(conf, &rec.t, STORE_SLA_STATE, old_state, at);
    if (status == STORE_OK && is_pending(state)) {
	rec.t.pending_until = pending_until;
	rec.t.sla_notified &= ~STORE_PENDING_REMINDED;
	if (pending_until) {
	    time_rfc3339(pending_until, when);
	    status = store_batch_history(b, id, &rec, at, who, "pending", 0, when);
	}
    }
    if (status == STORE_OK)
	status = store_batch_ticket_put(b, id, &rec);
    mem_free(old_state);
    store_ticket_fields_free(&rec.t);
    return (status);
}

/* store_ticket_state_set - change a ticket's state in the batch */

int     store_ticket_state_set(struct store_batch *b, const struct conf *conf,
			               const char *log_id, const char *number,
			               const char *state, time_t pending_until,
			               const char *who, time_t at)
{
    const char *id = log_id ? log_id : "NOID";

    if (b == 0 || number == 0 || state == 0 || *state == 0)
	return (STORE_PERM);
    if (b->failed)
	return (b->failed_status);
    b->wrote = 0;
    return (store_batch_settle(b, state_set(b, conf, id, number, state,
					    pending_until, who, at)));
}
