/*++
/* NAME
/*	rate 3
/* SUMMARY
/*	postdesk-milter rate limits: token buckets in memory
/* SYNOPSIS
/*	#include "milter_private.h"
/*
/*	struct milter_rate *milter_rate_create(void)
/*	void	milter_rate_destroy(ratep)
/*	enum milter_rate_verdict milter_rate_take(rate, sender, client,
/*				sender_per_hour, client_per_hour, now)
/*	size_t	milter_rate_entries(rate)
/* DESCRIPTION
/*	One token bucket per sender address and one per client address.
/*	A bucket holds at most N mails (its hourly limit) and refills at
/*	N per hour, continuously: a sender may send N mails at once, then
/*	one every 3600/N seconds. Arithmetic is in integers: a mail is
/*	3600 units, a bucket gains N units a second.
/*
/*	milter_rate_take() takes one mail from both buckets, or from
/*	neither: it returns MILTER_RATE_SENDER or MILTER_RATE_CLIENT when
/*	that bucket is empty (the sender's is checked first). A limit of 0,
/*	a NULL or empty sender (the null sender <>) or client leaves that
/*	bucket out. A new key starts with a full bucket. A limit changed
/*	by a reload applies at once (a fuller bucket is cut down to it).
/*	The time is the caller's (tests use a fake clock); a clock that
/*	goes back refills nothing.
/*
/*	Entries idle for an hour are full again and are dropped by a sweep
/*	that runs when a new key arrives and the table has doubled since
/*	the last sweep or ten minutes have passed, so memory follows the
/*	senders and clients of the last hour.
/*
/*	The table has its own mutex: every function may be called from
/*	any thread. milter_rate_entries() is for tests and logs.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <util.h>

#include "milter_private.h"

#define UNITS_PER_MAIL	3600		/* seconds per hour */
#define FIRST_BUCKETS	1024
#define FIRST_SWEEP	1024
#define SWEEP_EVERY	600		/* seconds */

struct entry {
    struct entry *next;
    uint64_t hash;
    uint64_t units;			/* tokens * UNITS_PER_MAIL */
    time_t  last;			/* last refill */
    char    key[];			/* "s:sender" or "c:client" */
};

struct milter_rate {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t  n_buckets;
    size_t  n_entries;
    size_t  sweep_at;
    time_t  last_sweep;
};

/* hash_key - FNV-1a of the kind and the text */

static uint64_t hash_key(char kind, const char *text)
{
    uint64_t h = 1469598103934665603ULL;

    h = (h ^ (unsigned char) kind) * 1099511628211ULL;
    for (const unsigned char *cp = (const unsigned char *) text; *cp; cp++)
	h = (h ^ *cp) * 1099511628211ULL;
    return (h);
}

/* milter_rate_create - an empty table */

struct milter_rate *milter_rate_create(void)
{
    struct milter_rate *r = mem_zalloc(sizeof(*r));

    pthread_mutex_init(&r->lock, 0);
    r->n_buckets = FIRST_BUCKETS;
    r->buckets = mem_zalloc(r->n_buckets * sizeof(*r->buckets));
    r->sweep_at = FIRST_SWEEP;
    return (r);
}

/* milter_rate_destroy - free the table, NULL the pointer */

void    milter_rate_destroy(struct milter_rate **rp)
{
    struct milter_rate *r = rp ? *rp : 0;
    struct entry *e, *next;

    if (r == 0)
	return;
    for (size_t i = 0; i < r->n_buckets; i++)
	for (e = r->buckets[i]; e; e = next) {
	    next = e->next;
	    mem_free(e);
	}
    mem_free(r->buckets);
    pthread_mutex_destroy(&r->lock);
    mem_free(r);
    *rp = 0;
}

/* grow - double the hash table */

static void grow(struct milter_rate *r)
{
    size_t  n = r->n_buckets * 2;
    struct entry **b = mem_zalloc(n * sizeof(*b));
    struct entry *e, *next;

    for (size_t i = 0; i < r->n_buckets; i++)
	for (e = r->buckets[i]; e; e = next) {
	    next = e->next;
	    e->next = b[e->hash % n];
	    b[e->hash % n] = e;
	}
    mem_free(r->buckets);
    r->buckets = b;
    r->n_buckets = n;
}

/* sweep - drop entries idle for an hour (their buckets are full) */

static void sweep(struct milter_rate *r, time_t now)
{
    struct entry **pp, *e;

    for (size_t i = 0; i < r->n_buckets; i++) {
	for (pp = &r->buckets[i]; (e = *pp) != 0;) {
	    if (now - e->last >= UNITS_PER_MAIL || now < e->last) {
		*pp = e->next;
		mem_free(e);
		r->n_entries--;
	    } else {
		pp = &e->next;
	    }
	}
    }
    r->sweep_at = r->n_entries * 2 > FIRST_SWEEP ? r->n_entries * 2 : FIRST_SWEEP;
    r->last_sweep = now;
}

/* lookup - the entry of a key, created full */

static struct entry *lookup(struct milter_rate *r, char kind, const char *text,
			            unsigned limit, time_t now)
{
    uint64_t h = hash_key(kind, text);
    struct entry *e;
    size_t  len = strlen(text);

    for (e = r->buckets[h % r->n_buckets]; e; e = e->next)
	if (e->hash == h && e->key[0] == kind && strcmp(e->key + 2, text) == 0)
	    return (e);
    if (r->n_entries >= r->sweep_at || now < r->last_sweep
	|| now - r->last_sweep >= SWEEP_EVERY)
	sweep(r, now);
    if (r->n_entries >= 2 * r->n_buckets)
	grow(r);
    e = mem_zalloc(sizeof(*e) + len + 3);
    e->hash = h;
    e->key[0] = kind;
    e->key[1] = ':';
    memcpy(e->key + 2, text, len + 1);
    e->units = (uint64_t) limit * UNITS_PER_MAIL;
    e->last = now;
    e->next = r->buckets[h % r->n_buckets];
    r->buckets[h % r->n_buckets] = e;
    r->n_entries++;
    return (e);
}

/* refill - add what the elapsed time earned, up to the limit */

static void refill(struct entry *e, unsigned limit, time_t now)
{
    uint64_t cap = (uint64_t) limit * UNITS_PER_MAIL;

    if (now > e->last) {
	uint64_t elapsed = (uint64_t) (now - e->last);

	if (elapsed >= UNITS_PER_MAIL)
	    e->units = cap;
	else
	    e->units += elapsed * limit;
    }
    e->last = now;
    if (e->units > cap)
	e->units = cap;
}

/* milter_rate_take - one mail from both buckets, or from neither */

enum milter_rate_verdict milter_rate_take(struct milter_rate *r,
				            const char *sender, const char *client,
					          unsigned sender_limit,
					          unsigned client_limit, time_t now)
{
    struct entry *es = 0, *ec = 0;
    enum milter_rate_verdict v = MILTER_RATE_OK;

    pthread_mutex_lock(&r->lock);
    if (sender_limit > 0 && sender && *sender) {
	es = lookup(r, 's', sender, sender_limit, now);
	refill(es, sender_limit, now);
    }
    if (client_limit > 0 && client && *client) {
	ec = lookup(r, 'c', client, client_limit, now);
	refill(ec, client_limit, now);
    }
    if (es && es->units < UNITS_PER_MAIL)
	v = MILTER_RATE_SENDER;
    else if (ec && ec->units < UNITS_PER_MAIL)
	v = MILTER_RATE_CLIENT;
    if (v == MILTER_RATE_OK) {
	if (es)
	    es->units -= UNITS_PER_MAIL;
	if (ec)
	    ec->units -= UNITS_PER_MAIL;
    }
    pthread_mutex_unlock(&r->lock);
    return (v);
}

/* milter_rate_entries - keys in the table */

size_t  milter_rate_entries(struct milter_rate *r)
{
    size_t  n;

    pthread_mutex_lock(&r->lock);
    n = r->n_entries;
    pthread_mutex_unlock(&r->lock);
    return (n);
}
