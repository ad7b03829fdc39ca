/*++
/* NAME
/*	store_command 3
/* SUMMARY
/*	ticket changes of commands by mail: fields, seen, merge, dedup
/* SYNOPSIS
/*	#include <store.h>
/*
/*	const char *store_field_name(field)
/*
/*	int	store_ticket_update(batch, conf, log_id, number, change, who, at)
/*
/*	int	store_ticket_seen(batch, log_id, number, login)
/*
/*	int	store_ticket_merge(batch, conf, log_id, number, into, who, at)
/*
/*	int	store_command_seen(batch, key, at_r, number_r)
/*
/*	int	store_command_record(batch, log_id, key, number, at)
/* INTERNAL INTERFACES
/*	#include "store_private.h"
/*
/*	void	store_field_touch(ticket, field, who)
/* DESCRIPTION
/*	These run inside a batch, like store_deliver(), and are what
/*	lmtpd's command mail applies besides the article and the state.
/*
/*	store_ticket_update() applies the fields of change in this
/*	order: owner, lock, queue, type, priority, watchers, title. A
/*	field changes only when asked for and different from its value
/*	(watchers: adding a login that already watches, or removing one
/*	that does not, is a no-op; logins compare case-insensitively).
/*	Each change writes a history record: what is the
/*	store_field_name(); owner old/new are the logins (NULL for
/*	none); lock old/new "unlocked"/"locked"; priority digits; one
/*	"watchers" record per added or removed login with new "+login"
/*	or "-login" (old NULL). Each changed field gets, in t->changes,
/*	the revision the ticket has after this write and who. The
/*	owner and queue indexes follow. When nothing changes nothing is
/*	written (the revision does not move). A queue move sets the
/*	ticket's `sla' to the new queue's SLA name (NULL when it has
/*	none; unchanged when conf is NULL) and keeps every deadline as
/*	it was: they were promised to the requester when the ticket
/*	was opened; the new queue's SLA applies from the next event that
/*	plans deadlines (a reopen, a requester's follow-up for `update').
/*	An owner of "" means none. The store refuses (STORE_PERM, nothing
/*	written) only what would corrupt the record: an unknown ticket,
/*	an empty queue or type, a priority other than 0 (unchanged) or
/*	1..5, an empty watcher login, more than STORE_WATCHERS_MAX
/*	watchers after the change. Rights and names are the caller's.
/*
/*	store_ticket_seen() sets owner_seen to n_articles_total when
/*	login (case-insensitive) is the ticket's owner and it differs;
/*	otherwise it writes nothing and returns STORE_OK. STORE_NOTFOUND
/*	for an unknown ticket (nothing written).
/*
/*	store_ticket_merge() merges number into into: both must exist
/*	and differ, number must not already be merged and into must not
/*	be merged (STORE_PERM otherwise, nothing written). number gets
/*	state "merged" (the queue index follows), merged_into = into,
/*	no lock, no deadlines, no pending time, not escalated, and a
/*	history record "merged" (new = into); its state (and lock when
/*	it was locked) are recorded in t->changes. into gets a "merge"
/*	record (new = number) and its `changed' time. store_deliver()
/*	follows merged_into (at most STORE_MERGE_HOPS hops).
/*
/*	store_command_seen() and store_command_record() keep the
/*	idempotency keys of command mail in dedup.db under "\001cmd"
/*	followed by the 32-byte key, value be64(at) number. No mail
/*	deduplication key can be equal to it: those are 32 bytes (the
/*	hash alone) or a non-empty Message-ID, a NUL and 32 bytes, and
/*	at 36 bytes that NUL would be where "d" is. The keys are kept.
/*
/*	store_field_touch() records one field's change in t->changes:
/*	the revision the ticket will have after its next write
/*	(t->revision + 1, see store_batch_ticket_put()) and a copy of
/*	who ("unknown" when empty).
/* DIAGNOSTICS
/*	Tri-state results as everywhere in the store. STORE_PERM (bad
/*	input, refused) writes nothing and leaves the batch usable;
/*	after STORE_RETRY, STORE_TEMP or a failure after a write the
/*	batch is poisoned (see store_deliver(3)).
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "conf.h"
#include "store_private.h"

#define S(s)	((s) ? (s) : "")

static const char *const field_names[STORE_FIELD_COUNT] = {
    "owner", "lock", "queue", "type", "priority", "state", "title", "watchers",
};

/* store_field_name - the history and transcript name of a field */

const char *store_field_name(enum store_field field)
{
    if ((unsigned) field >= STORE_FIELD_COUNT)
	return ("unknown");
    return (field_names[field]);
}

/* store_field_touch - record a field's change in t->changes */

void    store_field_touch(struct store_ticket *t, enum store_field field,
			          const char *who)
{
    struct store_field_change *c;

    if ((unsigned) field >= STORE_FIELD_COUNT)
	return;
    c = t->changes + field;
    mem_free(c->who);
    c->who = mem_strdup(who && *who ? who : "unknown");
    c->revision = t->revision + 1;
}

/* begin_call - the common checks of a public batch call */

static int begin_call(struct store_batch *b)
{
    if (b->failed)
	return (b->failed_status);
    b->wrote = 0;
    return (STORE_OK);
}

/* same_str - equal strings, NULL equal to NULL only */

static int same_str(const char *a, const char *b)
{
    if (a == 0 || b == 0)
	return (a == b);
    return (strcmp(a, b) == 0);
}

/*
 * store_ticket_update.
 */

/* One update: the record, the old values to free once written. */
struct update {
    struct store_batch *b;
    const struct conf *conf;
    const char *id;
    const char *who;
    time_t  at;
    struct store_ticket_rec rec;
    struct store_ticket old;		/* shallow copy before the changes */
    char  **watchers;			/* the new list (strings borrowed) */
    size_t  n_watchers;
    int     changed;
};

/* watcher_index - position of login in v, or -1 */

static ssize_t watcher_index(char *const *v, size_t n, const char *login)
{
    for (size_t i = 0; i < n; i++)
	if (v[i] && strcasecmp(v[i], login) == 0)
	    return ((ssize_t) i);
    return (-1);
}

/* plan_watchers - the list after the change (borrowed strings) */

static int plan_watchers(struct update *u, const struct store_ticket_change *c)
{
    const struct store_ticket *t = &u->rec.t;
    size_t  max = t->n_watchers + c->n_watch_add;
    ssize_t at;

    u->watchers = mem_zalloc((max ? max : 1) * sizeof(*u->watchers));
    for (size_t i = 0; i < t->n_watchers; i++)
	u->watchers[u->n_watchers++] = t->watchers[i];
    for (size_t i = 0; i < c->n_watch_add; i++) {
	if (c->watch_add == 0 || *S(c->watch_add[i]) == 0)
	    return (STORE_PERM);
	if (watcher_index(u->watchers, u->n_watchers, c->watch_add[i]) < 0)
	    u->watchers[u->n_watchers++] = (char *) c->watch_add[i];
    }
    for (size_t i = 0; i < c->n_watch_remove; i++) {
	if (c->watch_remove == 0 || *S(c->watch_remove[i]) == 0)
	    return (STORE_PERM);
	at = watcher_index(u->watchers, u->n_watchers, c->watch_remove[i]);
	if (at >= 0) {
	    memmove(u->watchers + at, u->watchers + at + 1,
		    (u->n_watchers - (size_t) at - 1) * sizeof(*u->watchers));
	    u->n_watchers -= 1;
	}
    }
    return (u->n_watchers > STORE_WATCHERS_MAX ? STORE_PERM : STORE_OK);
}

/* check_change - what the store refuses, before anything is written */

static int check_change(const struct store_ticket_change *c)
{
    if (c->queue && *c->queue == 0)
	return (STORE_PERM);
    if (c->type && *c->type == 0)
	return (STORE_PERM);
    if (c->priority != 0 && (c->priority < 1 || c->priority > 5))
	return (STORE_PERM);
    if (c->lock < -1 || c->lock > 1)
	return (STORE_PERM);
    if ((c->n_watch_add && c->watch_add == 0)
	|| (c->n_watch_remove && c->watch_remove == 0))
	return (STORE_PERM);
    return (STORE_OK);
}

/* history - one history record of this update, and the field's change */

static int history(struct update *u, enum store_field field,
		           const char *old_value, const char *new_value)
{
    u->changed = 1;
    store_field_touch(&u->rec.t, field, u->who);
    return (store_batch_history(u->b, u->id, &u->rec, u->at, u->who,
				store_field_name(field), old_value, new_value));
}

/* set_str - replace a string field (the old value stays in u->old) */

static int set_str(struct update *u, enum store_field field, char **slot,
		           const char *value)
{
    const char *old = *slot;

    if (same_str(old, value))
	return (STORE_OK);
    *slot = value ? mem_strdup(value) : 0;
    return (history(u, field, old, value));
}

/* queue_sla - the SLA name of the ticket's queue and type (type_sla) */

static void queue_sla(struct update *u)
{
    const struct conf_queue *q;
    struct store_ticket *t = &u->rec.t;

    if (u->conf == 0)
	return;
    q = conf_queue_find(u->conf, t->queue);
    if (t->sla != u->old.sla)
	mem_free(t->sla);			/* set by this update already */
    t->sla = conf_queue_sla(q, t->type) ? mem_strdup(conf_queue_sla(q, t->type)) : 0;
}

/* apply_watchers - history per added and removed login, the new list */

static int apply_watchers(struct update *u)
{
    struct store_ticket *t = &u->rec.t;
    char    text[512];
    int     status = STORE_OK;
    int     any = 0;

    for (size_t i = 0; i < u->n_watchers && status == STORE_OK; i++) {
	if (watcher_index(t->watchers, t->n_watchers, u->watchers[i]) >= 0)
	    continue;
	snprintf(text, sizeof(text), "+%s", u->watchers[i]);
	status = history(u, STORE_FIELD_WATCHERS, 0, text);
	any = 1;
    }
    for (size_t i = 0; i < t->n_watchers && status == STORE_OK; i++) {
	if (watcher_index(u->watchers, u->n_watchers, t->watchers[i]) >= 0)
	    continue;
	snprintf(text, sizeof(text), "-%s", t->watchers[i]);
	status = history(u, STORE_FIELD_WATCHERS, 0, text);
	any = 1;
    }
    if (status != STORE_OK || !any)
	return (status);
    /* The new list owns copies; the old one is freed with u->old. */
    for (size_t i = 0; i < u->n_watchers; i++)
	u->watchers[i] = mem_strdup(u->watchers[i]);
    t->watchers = u->watchers;
    t->n_watchers = u->n_watchers;
    u->watchers = 0;
    u->n_watchers = 0;
    return (STORE_OK);
}

/* apply_change - every field in order */

static int apply_change(struct update *u, const struct store_ticket_change *c)
{
    struct store_ticket *t = &u->rec.t;
    char    o[16], n[16];
    int     status = STORE_OK;

    if (c->set_owner)
	status = set_str(u, STORE_FIELD_OWNER, &t->owner,
			 c->owner && *c->owner ? c->owner : 0);
    if (status == STORE_OK && c->lock >= 0 && (t->locked != 0) != c->lock) {
	t->locked = c->lock;
	status = history(u, STORE_FIELD_LOCK, c->lock ? "unlocked" : "locked",
			 c->lock ? "locked" : "unlocked");
    }
    if (status == STORE_OK && c->queue && strcmp(t->queue, c->queue) != 0) {
	status = set_str(u, STORE_FIELD_QUEUE, &t->queue, c->queue);
	if (u->conf)
	    queue_sla(u);
    }
    if (status == STORE_OK && c->type && !same_str(t->type, c->type)) {
	status = set_str(u, STORE_FIELD_TYPE, &t->type, c->type);
	if (u->conf)
	    queue_sla(u);			/* type_sla may name another SLA */
    }
    if (status == STORE_OK && c->priority && c->priority != t->priority) {
	snprintf(o, sizeof(o), "%d", t->priority);
	snprintf(n, sizeof(n), "%d", c->priority);
	t->priority = c->priority;
	status = history(u, STORE_FIELD_PRIORITY, o, n);
    }
    if (status == STORE_OK)
	status = apply_watchers(u);
    if (status == STORE_OK && c->title)
	status = set_str(u, STORE_FIELD_TITLE, &t->title, c->title);
    return (status);
}

/* old_free - free what the update replaced (old values not in rec) */

static void old_free(struct update *u)
{
    struct store_ticket *t = &u->rec.t, *o = &u->old;

#define DROP(f) do { if (o->f != t->f) mem_free(o->f); } while (0)
    DROP(owner);
    DROP(queue);
    DROP(type);
    DROP(title);
    DROP(sla);
#undef DROP
    if (o->watchers != t->watchers) {
	for (size_t i = 0; i < o->n_watchers; i++)
	    mem_free(o->watchers[i]);
	mem_free(o->watchers);
    }
}

/* update - the steps, in the batch transaction */

static int update(struct update *u, const char *number,
		          const struct store_ticket_change *c)
{
    int     status;

    status = store_batch_ticket_load(u->b, u->id, number, &u->rec);
    if (status == STORE_NOTFOUND) {
	log_warn("%s: store: update of unknown ticket %s", u->id, number);
	return (STORE_PERM);
    }
    if (status != STORE_OK)
	return (status);
    u->old = u->rec.t;
    if ((status = plan_watchers(u, c)) != STORE_OK) {
	log_warn("%s: store: ticket %s: bad watcher list", u->id, number);
    } else if ((status = apply_change(u, c)) == STORE_OK && u->changed) {
	u->rec.t.changed = u->at;
	status = store_index_apply(u->b, u->id, &u->old, &u->rec.t);
	if (status == STORE_OK)
	    status = store_batch_ticket_put(u->b, u->id, &u->rec);
    }
    old_free(u);
    store_ticket_fields_free(&u->rec.t);
    return (status);
}

/* store_ticket_update - an agent's field changes, in the batch */

int     store_ticket_update(struct store_batch *b, const struct conf *conf,
			            const char *log_id, const char *number,
			            const struct store_ticket_change *change,
			            const char *who, time_t at)
{
    struct update u;
    int     status;

    if (b == 0 || number == 0 || change == 0)
	return (STORE_PERM);
    if ((status = begin_call(b)) != STORE_OK)
	return (status);
    memset(&u, 0, sizeof(u));
    u.b = b;
    u.conf = conf;
    u.id = log_id ? log_id : "NOID";
    u.who = who;
    u.at = at;
    if ((status = check_change(change)) != STORE_OK) {
	log_warn("%s: store: ticket %s: refused change", u.id, number);
	return (STORE_PERM);
    }
    status = update(&u, number, change);
    mem_free(u.watchers);
    return (store_batch_settle(b, status));
}

/*
 * store_ticket_seen.
 */

/* seen - the steps, in the batch transaction */

static int seen(struct store_batch *b, const char *id, const char *number,
		        const char *login)
{
    struct store_ticket_rec rec;
    int     status;

    if ((status = store_batch_ticket_load(b, id, number, &rec)) != STORE_OK)
	return (status);
    if (login && rec.t.owner && strcasecmp(rec.t.owner, login) == 0
	&& rec.t.owner_seen != rec.t.n_articles_total) {
	rec.t.owner_seen = rec.t.n_articles_total;
	status = store_batch_ticket_put(b, id, &rec);
    }
    store_ticket_fields_free(&rec.t);
    return (status);
}

/* store_ticket_seen - the owner has acted: the star goes off */

int     store_ticket_seen(struct store_batch *b, const char *log_id,
			          const char *number, const char *login)
{
    int     status;

    if (b == 0 || number == 0)
	return (STORE_PERM);
    if ((status = begin_call(b)) != STORE_OK)
	return (status);
    return (store_batch_settle(b, seen(b, log_id ? log_id : "NOID", number,
				       login)));
}

/*
 * store_ticket_merge.
 */

/* load_pair - both tickets, STORE_PERM when either is missing */

static int load_pair(struct store_batch *b, const char *id, const char *number,
		             const char *into, struct store_ticket_rec *from,
		             struct store_ticket_rec *to)
{
    int     status;

    status = store_batch_ticket_load(b, id, number, from);
    if (status != STORE_OK)
	return (status == STORE_NOTFOUND ? STORE_PERM : status);
    status = store_batch_ticket_load(b, id, into, to);
    if (status != STORE_OK) {
	store_ticket_fields_free(&from->t);
	return (status == STORE_NOTFOUND ? STORE_PERM : status);
    }
    return (STORE_OK);
}

/* retire - the merged ticket: state, lock, deadlines, history */

static int retire(struct store_batch *b, const char *id,
		          struct store_ticket_rec *rec, const char *into,
		          const char *who, time_t at)
{
    struct store_ticket *t = &rec->t;
    struct store_ticket old = *t;
    char   *old_state = t->state;
    int     status;

    t->state = mem_strdup("merged");
    t->merged_into = mem_strdup(into);
    store_field_touch(t, STORE_FIELD_STATE, who);
    if (t->locked) {
	t->locked = 0;
	store_field_touch(t, STORE_FIELD_LOCK, who);
    }
    t->first_response_due = t->first_response_warn = 0;
    t->update_due = t->update_warn = 0;
    t->solution_due = t->solution_warn = 0;
    t->sla_paused = 0;
    t->pending_until = 0;
    t->sla_notified = 0;
    t->escalated = 0;
    t->changed = at;
    status = store_batch_history(b, id, rec, at, who, "merged", 0, into);
    if (status == STORE_OK)
	status = store_index_apply(b, id, &old, t);
    if (status == STORE_OK)
	status = store_batch_ticket_put(b, id, rec);
    mem_free(old_state);
    return (status);
}

/* merge - the steps, in the batch transaction */

static int merge(struct store_batch *b, const char *id, const char *number,
		         const char *into, const char *who, time_t at)
{
    struct store_ticket_rec from, to;
    int     status;

    if ((status = load_pair(b, id, number, into, &from, &to)) != STORE_OK) {
	if (status == STORE_PERM)
	    log_warn("%s: store: merge %s into %s: no such ticket", id,
		     number, into);
	return (status);
    }
    if (from.t.merged_into || to.t.merged_into) {
	log_warn("%s: store: merge %s into %s: %s is already merged", id,
		 number, into, from.t.merged_into ? number : into);
	status = STORE_PERM;
    } else {
	status = retire(b, id, &from, into, who, at);
	to.t.changed = at;
	if (status == STORE_OK)
	    status = store_batch_history(b, id, &to, at, who, "merge", 0, number);
	if (status == STORE_OK)
	    status = store_batch_ticket_put(b, id, &to);
    }
    store_ticket_fields_free(&from.t);
    store_ticket_fields_free(&to.t);
    return (status);
}

/* store_ticket_merge - merge number into into, in the batch */

int     store_ticket_merge(struct store_batch *b, const struct conf *conf,
			           const char *log_id, const char *number,
			           const char *into, const char *who, time_t at)
{
    const char *id = log_id ? log_id : "NOID";
    int     status;

    (void) conf;				/* no deadlines to plan */
    if (b == 0 || number == 0 || into == 0 || *number == 0 || *into == 0)
	return (STORE_PERM);
    if ((status = begin_call(b)) != STORE_OK)
	return (status);
    if (strcmp(number, into) == 0) {
	log_warn("%s: store: merge %s into itself refused", id, number);
	return (STORE_PERM);
    }
    return (store_batch_settle(b, merge(b, id, number, into, who, at)));
}

/*
 * Idempotent command mail.
 */

#define CMD_PREFIX	"\001cmd"
#define CMD_PREFIX_LEN	4
#define CMD_KEY_LEN	(CMD_PREFIX_LEN + 32)

/* command_key - "\001cmd" key */

static void command_key(unsigned char out[CMD_KEY_LEN],
			        const unsigned char key[32])
{
    memcpy(out, CMD_PREFIX, CMD_PREFIX_LEN);
    memcpy(out + CMD_PREFIX_LEN, key, 32);
}

/* store_command_seen - was this command mail applied? */

int     store_command_seen(struct store_batch *b, const unsigned char key[32],
			           time_t *at_r, char number_r[32])
{
    struct store *s;
    unsigned char k[CMD_KEY_LEN];
    size_t  len;
    int     ret, status;

    if (b == 0 || key == 0)
	return (STORE_PERM);
    if ((status = begin_call(b)) != STORE_OK)
	return (status);
    s = b->store;
    command_key(k, key);
    ret = store_get(s->db[STORE_DB_DEDUP], b->txn, k, sizeof(k), &b->get, &len,
		    DB_RMW);
    if (ret == DB_NOTFOUND)
	return (STORE_NOTFOUND);
    if (ret != 0)
	return (store_batch_settle(b, store_bdb_status(s, "NOID",
						       "get command key", ret)));
    if (len < 8 || len - 8 >= 32) {
	log_error("NOID: store: corrupt command key record");
	return (store_batch_settle(b, STORE_TEMP));
    }
    if (at_r)
	*at_r = (time_t) (int64_t) store_be64_get(b->get.data);
    if (number_r) {
	memcpy(number_r, b->get.data + 8, len - 8);
	number_r[len - 8] = 0;
    }
    return (STORE_OK);
}

/* store_command_record - remember that this command mail was applied */

int     store_command_record(struct store_batch *b, const char *log_id,
			             const unsigned char key[32],
			             const char *number, time_t at)
{
    unsigned char k[CMD_KEY_LEN];
    unsigned char v[8 + 32];
    size_t  n = strlen(S(number));
    int     status;

    if (b == 0 || key == 0 || n >= 32)
	return (STORE_PERM);
    if ((status = begin_call(b)) != STORE_OK)
	return (status);
    command_key(k, key);
    store_be64_put(v, (uint64_t) (int64_t) at);
    memcpy(v + 8, S(number), n);
    status = store_batch_put(b, log_id ? log_id : "NOID", STORE_DB_DEDUP, k,
			     sizeof(k), v, 8 + n, 0, "put command key");
    return (store_batch_settle(b, status));
}
