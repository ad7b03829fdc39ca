/*++
/* NAME
/*	store_read 3
/* SUMMARY
/*	reading tickets, lists and raw messages
/* SYNOPSIS
/*	#include <store.h>
/*
/*	int	store_ticket_get(store, number, ticket_r)
/*	void	store_ticket_free(ticketp)
/*
/*	int	store_list(store, filter, tickets_r, n_r)
/*	void	store_ticket_list_free(ticketsp, n)
/*
/*	int	store_raw_get(store, number, article, raw_r, len_r)
/* INTERNAL INTERFACES
/*	#include "store_private.h"
/*
/*	int	store_read_ticket_txn(store, txn, number, with_history, flags,
/*					ticket_r)
/* DESCRIPTION
/*	Each read runs in its own read-committed transaction and may be
/*	called from any thread, but not from a thread that has a batch
/*	open (it would wait for its own locks): a page that a running
/*	batch wrote is readable once that batch ends. A read chosen as a
/*	deadlock victim is retried a few times, then is STORE_TEMP.
/*
/*	store_ticket_get() returns one ticket with all its articles (in
/*	index order, without raw bytes) and its history (in order). The
/*	caller owns the result and frees it with store_ticket_free(),
/*	which frees every string and sets *ticketp to NULL.
/*
/*	store_list() returns an array of tickets (no articles, no history)
/*	matching every given filter field, newest first (created
/*	descending, then number descending), at most filter->limit when
/*	it is not 0. A queue (and state), owner or customer filter walks
/*	that index; otherwise all tickets are scanned. A NULL filter
/*	lists everything. store_ticket_list_free() frees the array and
/*	every string in it, and sets *ticketsp to NULL.
/*
/*	store_raw_get() returns a newly allocated copy (mem_free(), one
/*	extra NUL byte after len) of the raw message of an article.
/*
/*	store_read_ticket_txn() is store_ticket_get() (without history
/*	unless with_history) inside the caller's transaction, e.g. a
/*	batch's, so it sees that transaction's own writes; flags are
/*	the get flags of the ticket record (DB_RMW or 0). It neither
/*	retries nor ends the transaction.
/* DIAGNOSTICS
/*	STORE_OK; STORE_NOTFOUND; STORE_PERM for a corrupt record
/*	(logged); STORE_TEMP for a database error (logged). Nothing is
/*	returned (and nothing leaks) unless the status is STORE_OK.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_private.h"

#define READ_RETRIES	5

/* One read transaction and its scratch memory. */
struct reader {
    struct store *s;
    DB_TXN *txn;
    int     borrowed;			/* txn belongs to a batch */
    uint32_t get_flags;			/* for the ticket record: DB_RMW */
    struct store_scratch key;
    struct store_scratch data;
};

/* status - map a BDB error in a read */

static int status(struct reader *r, const char *what, int ret)
{
    if (ret == DB_NOTFOUND)
	return (STORE_NOTFOUND);
    return (store_bdb_status(r->s, "NOID", what, ret));
}

/* reader_begin - start a read transaction */

static int reader_begin(struct reader *r, struct store *s)
{
    int     ret;

    memset(r, 0, sizeof(*r));
    r->s = s;
    if ((ret = s->env->txn_begin(s->env, NULL, &r->txn, DB_READ_COMMITTED)) != 0) {
	r->txn = 0;
	return (status(r, "begin read", ret));
    }
    return (STORE_OK);
}

/* reader_end - end the transaction (nothing to commit), free scratch */

static void reader_end(struct reader *r)
{
    if (r->txn && !r->borrowed)
	(void) r->txn->abort(r->txn);
    r->txn = 0;
    store_scratch_free(&r->key);
    store_scratch_free(&r->data);
}

/* read_ticket_rec - one ticket record, decoded */

static int read_ticket_rec(struct reader *r, const char *number,
			           struct store_ticket_rec *rec)
{
    size_t  len;
    int     ret;

    if (strlen(number) >= sizeof(rec->t.number))
	return (STORE_NOTFOUND);
    ret = store_get(r->s->db[STORE_DB_TICKETS], r->txn, number, strlen(number),
		    &r->data, &len, r->get_flags);
    if (ret != 0)
	return (status(r, "get ticket", ret));
    if (store_codec_ticket_decode(r->data.data, len, number, rec) != STORE_OK) {
	log_error("NOID: store: ticket %s: corrupt record", number);
	return (STORE_PERM);
    }
    return (STORE_OK);
}

/*
 * Item scans: number NUL be32 keys, in order.
 */
typedef int (*item_fn) (struct reader *, uint32_t index, const void *data,
			        size_t len, void *context);

/* scan_items - call fn for each item of one ticket in db */

static int scan_items(struct reader *r, int which, const char *number,
		              item_fn fn, void *context)
{
    DB     *db = r->s->db[which];
    size_t  plen = strlen(number) + 1;
    size_t  klen, dlen;
    uint32_t flags = DB_SET_RANGE;
    DBC    *dbc;
    int     ret, st = STORE_OK;

    if ((ret = db->cursor(db, r->txn, &dbc, 0)) != 0)
	return (status(r, "cursor", ret));
    if (r->key.size < plen + 4) {
	r->key.data = realloc(r->key.data, plen + 64);
	if (r->key.data == 0)
	    log_fatal("store: out of memory");
	r->key.size = plen + 64;
    }
    memcpy(r->key.data, number, plen);
    klen = plen;
    while ((ret = store_cursor_get(dbc, &r->key, &klen, &r->data, &dlen,
				   flags)) == 0) {
	flags = DB_NEXT;
	if (klen != plen + 4 || memcmp(r->key.data, number, plen) != 0)
	    break;
	st = fn(r, store_be32_get(r->key.data + plen), r->data.data, dlen,
		context);
	if (st != STORE_OK)
	    break;
    }
    (void) dbc->close(dbc);
    if (st != STORE_OK)
	return (st);
    if (ret != 0 && ret != DB_NOTFOUND)
	return (status(r, "cursor get", ret));
    return (STORE_OK);
}

/* add_article - item_fn for articles */

static int add_article(struct reader *r, uint32_t index, const void *data,
		               size_t len, void *context)
{
    struct store_ticket *t = context;
    struct store_article a;

    (void) r;
    if (store_codec_article_decode(data, len, index, &a) != STORE_OK) {
	log_error("NOID: store: ticket %s article %u: corrupt record",
		  t->number, (unsigned) index);
	return (STORE_PERM);
    }
    if ((t->n_articles & (t->n_articles + 1)) == 0 || t->articles == 0)
	t->articles = mem_realloc(t->articles,
				  (t->n_articles * 2 + 1) * sizeof(*t->articles));
    t->articles[t->n_articles++] = a;
    return (STORE_OK);
}

/* add_history - item_fn for history records */

static int add_history(struct reader *r, uint32_t seq, const void *data,
		               size_t len, void *context)
{
    struct store_ticket *t = context;
    struct store_history h;

    (void) r;
    if (store_codec_history_decode(data, len, &h) != STORE_OK) {
	log_error("NOID: store: ticket %s history %u: corrupt record",
		  t->number, (unsigned) seq);
	return (STORE_PERM);
    }
    if ((t->n_history & (t->n_history + 1)) == 0 || t->history == 0)
	t->history = mem_realloc(t->history,
				 (t->n_history * 2 + 1) * sizeof(*t->history));
    t->history[t->n_history++] = h;
    return (STORE_OK);
}

/* read_ticket - ticket, articles and optionally history in r's txn */

static int read_ticket(struct reader *r, const char *number, int with_history,
		               struct store_ticket **ticket_r)
{
    struct store_ticket_rec rec;
    struct store_ticket *t;
    int     st;

    if ((st = read_ticket_rec(r, number, &rec)) != STORE_OK)
	return (st);
    t = mem_alloc(sizeof(*t));
    *t = rec.t;
    st = scan_items(r, STORE_DB_ARTICLES, number, add_article, t);
    if (st == STORE_OK && with_history)
	st = scan_items(r, STORE_DB_HISTORY, number, add_history, t);
    if (st != STORE_OK) {
	store_ticket_free(&t);
	return (st);
    }
    *ticket_r = t;
    return (STORE_OK);
}

/* read_ticket_some - the ticket with only the listed articles */

static int read_ticket_some(struct reader *r, const char *number,
			            const uint32_t *indexes, size_t n,
			            struct store_ticket **ticket_r)
{
    struct store_ticket_rec rec;
    struct store_ticket *t;
    unsigned char key[STORE_KEY_ITEM_MAX];
    size_t  klen, len;
    int     st = STORE_OK, ret;

    if ((st = read_ticket_rec(r, number, &rec)) != STORE_OK)
	return (st);
    t = mem_alloc(sizeof(*t));
    *t = rec.t;
    for (size_t i = 0; st == STORE_OK && i < n; i++) {
	int     seen = 0;

	for (size_t j = 0; j < i; j++)
	    seen |= indexes[j] == indexes[i];
	if (indexes[i] == 0 || seen)
	    continue;
	if ((klen = store_key_item(key, sizeof(key), number, indexes[i])) == 0) {
	    st = STORE_NOTFOUND;
	    break;
	}
	ret = store_get(r->s->db[STORE_DB_ARTICLES], r->txn, key, klen,
			&r->data, &len, r->get_flags);
	if (ret == DB_NOTFOUND)
	    continue;
	if (ret != 0)
	    st = status(r, "get article", ret);
	else
	    st = add_article(r, indexes[i], r->data.data, len, t);
    }
    if (st != STORE_OK) {
	store_ticket_free(&t);
	return (st);
    }
    *ticket_r = t;
    return (STORE_OK);
}

/* store_read_ticket_some_txn - read_ticket_some() in someone else's txn */

int     store_read_ticket_some_txn(struct store *s, DB_TXN *txn,
				           const char *number,
				           const uint32_t *indexes, size_t n,
				           uint32_t flags,
				           struct store_ticket **ticket_r)
{
    struct reader r;
    int     st;

    *ticket_r = 0;
    if (number == 0 || *number == 0)
	return (STORE_NOTFOUND);
    memset(&r, 0, sizeof(r));
    r.s = s;
    r.txn = txn;
    r.borrowed = 1;
    r.get_flags = flags;
    st = read_ticket_some(&r, number, indexes, n, ticket_r);
    reader_end(&r);
    return (st);
}

/* ticket_get_once - one attempt of store_ticket_get() */

static int ticket_get_once(struct store *s, const char *number,
			           struct store_ticket **ticket_r)
{
    struct reader r;
    int     st;

    if ((st = reader_begin(&r, s)) != STORE_OK)
	return (st);
    st = read_ticket(&r, number, 1, ticket_r);
    reader_end(&r);
    return (st);
}

/* store_read_ticket_txn - a ticket read inside someone else's txn */

int     store_read_ticket_txn(struct store *s, DB_TXN *txn, const char *number,
			              int with_history, uint32_t flags,
			              struct store_ticket **ticket_r)
{
    struct reader r;
    int     st;

    *ticket_r = 0;
    if (number == 0 || *number == 0)
	return (STORE_NOTFOUND);
    memset(&r, 0, sizeof(r));
    r.s = s;
    r.txn = txn;
    r.borrowed = 1;
    r.get_flags = flags;
    st = read_ticket(&r, number, with_history, ticket_r);
    reader_end(&r);
    return (st);
}

/* store_ticket_get - one ticket with articles and history */

int     store_ticket_get(struct store *s, const char *number,
			         struct store_ticket **ticket_r)
{
    int     i, st = STORE_TEMP;

    *ticket_r = 0;
    if (number == 0 || *number == 0)
	return (STORE_NOTFOUND);
    for (i = 0; i < READ_RETRIES; i++)
	if ((st = ticket_get_once(s, number, ticket_r)) != STORE_RETRY)
	    return (st);
    return (STORE_TEMP);
}

/* store_ticket_free - free a ticket from store_ticket_get() */

void    store_ticket_free(struct store_ticket **ticketp)
{
    if (ticketp == 0 || *ticketp == 0)
	return;
    store_ticket_fields_free(*ticketp);
    mem_free(*ticketp);
    *ticketp = 0;
}

/*
 * Lists.
 */
struct list {
    const struct store_filter *f;
    char   *customer;			/* lowercase filter */
    struct store_ticket *v;
    size_t  n;
    size_t  size;
};

/* matches - every filter field */

static int matches(const struct list *l, const struct store_ticket *t)
{
    const struct store_filter *f = l->f;

    if (f->queue && strcmp(f->queue, t->queue) != 0)
	return (0);
    if (f->state && strcmp(f->state, t->state) != 0)
	return (0);
    if (f->owner && (t->owner == 0 || strcmp(f->owner, t->owner) != 0))
	return (0);
    if (l->customer && strcasecmp(l->customer, t->customer) != 0)
	return (0);
    if (f->locked_only && !t->locked)
	return (0);
    if (f->escalated_only && !t->escalated)
	return (0);
    return (1);
}

/* keep - decode one ticket record, keep it when it matches */

static int keep(struct list *l, const char *number, const void *data,
		        size_t len)
{
    struct store_ticket_rec rec;

    if (store_codec_ticket_decode(data, len, number, &rec) != STORE_OK) {
	log_error("NOID: store: ticket %s: corrupt record", number);
	return (STORE_PERM);
    }
    if (!matches(l, &rec.t)) {
	store_ticket_fields_free(&rec.t);
	return (STORE_OK);
    }
    if (l->n == l->size) {
	l->size = l->size ? 2 * l->size : 16;
	l->v = mem_realloc(l->v, l->size * sizeof(*l->v));
    }
    l->v[l->n++] = rec.t;
    return (STORE_OK);
}

/* scan_all - every ticket */

static int scan_all(struct reader *r, struct list *l)
{
    DB     *db = r->s->db[STORE_DB_TICKETS];
    char    number[32];
    size_t  klen = 0, dlen;
    DBC    *dbc;
    int     ret, st = STORE_OK;

    if ((ret = db->cursor(db, r->txn, &dbc, 0)) != 0)
	return (status(r, "cursor", ret));
    while ((ret = store_cursor_get(dbc, &r->key, &klen, &r->data, &dlen,
				   DB_NEXT)) == 0) {
	if (klen == 0 || klen >= sizeof(number))
	    continue;
	memcpy(number, r->key.data, klen);
	number[klen] = 0;
	if ((st = keep(l, number, r->data.data, dlen)) != STORE_OK)
	    break;
    }
    (void) dbc->close(dbc);
    if (st != STORE_OK)
	return (st);
    return (ret == DB_NOTFOUND ? STORE_OK : status(r, "cursor get", ret));
}

/* collect_index - the numbers under one index prefix */

static int collect_index(struct reader *r, int which, const struct buf *prefix,
			         char (**numbers_r)[32], size_t *n_r)
{
    DB     *db = r->s->db[which];
    size_t  plen = buf_len(prefix), klen, dlen, size = 0, n = 0;
    char    (*numbers)[32] = 0;
    const unsigned char *nul;
    uint32_t flags = DB_SET_RANGE;
    DBC    *dbc;
    int     ret;

    if ((ret = db->cursor(db, r->txn, &dbc, 0)) != 0)
	return (status(r, "cursor", ret));
    if (r->key.size < plen + 1) {
	if ((r->key.data = realloc(r->key.data, plen + 64)) == 0)
	    log_fatal("store: out of memory");
	r->key.size = plen + 64;
    }
    memcpy(r->key.data, buf_data(prefix), plen);
    klen = plen;
    while ((ret = store_cursor_get(dbc, &r->key, &klen, &r->data, &dlen,
				   flags)) == 0) {
	flags = DB_NEXT;
	if (klen < plen || memcmp(r->key.data, buf_data(prefix), plen) != 0)
	    break;
	/* The number follows the last NUL of the key. */
	nul = memrchr(r->key.data, 0, klen);
	if (nul == 0 || (size_t) (r->key.data + klen - nul - 1) >= 32)
	    continue;
	if (n == size) {
	    size = size ? 2 * size : 16;
	    numbers = mem_realloc(numbers, size * sizeof(*numbers));
	}
	memcpy(numbers[n], nul + 1, r->key.data + klen - nul - 1);
	numbers[n][r->key.data + klen - nul - 1] = 0;
	n++;
    }
    (void) dbc->close(dbc);
    if (ret != 0 && ret != DB_NOTFOUND) {
	mem_free(numbers);
	return (status(r, "cursor get", ret));
    }
    *numbers_r = numbers;
    *n_r = n;
    return (STORE_OK);
}

/* number_newer - qsort order of ticket numbers, newest first: the date,
   then the length (a longer counter is later that day), then the digits */

static int number_newer(const void *a, const void *b)
{
    const char *x = a, *y = b;
    size_t  lx = strlen(x), ly = strlen(y);
    int     d = strncmp(x, y, 8);

    if (d != 0)
	return (-d);
    if (lx != ly)
	return (lx > ly ? -1 : 1);
    return (-strcmp(x, y));
}

/* scan_index - tickets found through an index prefix. With a limit the
   numbers are read newest first and the scan stops once limit tickets
   matched: numbers are given in creation order, so these are the newest
   ones (store_list() still sorts them by their creation time). */

static int scan_index(struct reader *r, struct list *l, int which,
		              const struct buf *prefix)
{
    char    (*numbers)[32] = 0;
    size_t  n = 0, i, len;
    size_t  start = l->n;
    int     ret, st;

    if ((st = collect_index(r, which, prefix, &numbers, &n)) != STORE_OK)
	return (st);
    if (l->f->limit && n > l->f->limit)
	qsort(numbers, n, sizeof(*numbers), number_newer);
    for (i = 0; i < n && st == STORE_OK; i++) {
	if (l->f->limit && l->n - start >= l->f->limit)
	    break;
	ret = store_get(r->s->db[STORE_DB_TICKETS], r->txn, numbers[i],
			strlen(numbers[i]), &r->data, &len, 0);
	if (ret == DB_NOTFOUND)
	    continue;				/* stale index record */
	if (ret != 0)
	    st = status(r, "get ticket", ret);
	else
	    st = keep(l, numbers[i], r->data.data, len);
    }
    mem_free(numbers);
    return (st);
}

/* newest_first - qsort order: created desc, then number desc */

static int newest_first(const void *a, const void *b)
{
    const struct store_ticket *x = a, *y = b;
    size_t  lx, ly;

    if (x->created != y->created)
	return (x->created > y->created ? -1 : 1);
    lx = strlen(x->number);
    ly = strlen(y->number);
    if (lx != ly)
	return (lx > ly ? -1 : 1);
    return (-strcmp(x->number, y->number));
}

/* list_once - one attempt of store_list() */

static int list_once(struct store *s, struct list *l)
{
    const struct store_filter *f = l->f;
    struct buf *prefix = buf_create(64, 0);
    struct reader r;
    int     st;

    if ((st = reader_begin(&r, s)) != STORE_OK) {
	buf_destroy(&prefix);
	return (st);
    }
    if (f->queue) {
	(void) buf_append(prefix, f->queue, strlen(f->queue) + 1);
	if (f->state)
	    (void) buf_append(prefix, f->state, strlen(f->state) + 1);
	st = scan_index(&r, l, STORE_DB_IDX_QUEUE, prefix);
    } else if (f->owner) {
	(void) buf_append(prefix, f->owner, strlen(f->owner) + 1);
	st = scan_index(&r, l, STORE_DB_IDX_OWNER, prefix);
    } else if (l->customer) {
	(void) buf_append(prefix, l->customer, strlen(l->customer) + 1);
	st = scan_index(&r, l, STORE_DB_IDX_CUSTOMER, prefix);
    } else {
	st = scan_all(&r, l);
    }
    reader_end(&r);
    buf_destroy(&prefix);
    return (st);
}

/* store_list - tickets matching filter, newest first */

int     store_list(struct store *s, const struct store_filter *filter,
		           struct store_ticket **tickets_r, size_t *n_r)
{
    static const struct store_filter none;
    struct list l;
    int     i, st = STORE_TEMP;

    *tickets_r = 0;
    *n_r = 0;
    memset(&l, 0, sizeof(l));
    l.f = filter ? filter : &none;
    if (l.f->customer)
	l.customer = str_lower(mem_strdup(l.f->customer));
    for (i = 0; i < READ_RETRIES; i++) {
	st = list_once(s, &l);
	if (st == STORE_OK || st != STORE_RETRY)
	    break;
	store_ticket_list_free(&l.v, l.n);
	l.n = l.size = 0;
    }
    mem_free(l.customer);
    if (st == STORE_RETRY)
	st = STORE_TEMP;
    if (st != STORE_OK) {
	store_ticket_list_free(&l.v, l.n);
	return (st);
    }
    if (l.n > 1)
	qsort(l.v, l.n, sizeof(*l.v), newest_first);
    if (l.f->limit && l.n > l.f->limit) {
	size_t  i;

	for (i = l.f->limit; i < l.n; i++)
	    store_ticket_fields_free(l.v + i);
	l.n = l.f->limit;
    }
    *tickets_r = l.v;
    *n_r = l.n;
    return (STORE_OK);
}

/* store_ticket_list_free - free a store_list() result */

void    store_ticket_list_free(struct store_ticket **ticketsp, size_t n)
{
    size_t  i;

    if (ticketsp == 0 || *ticketsp == 0)
	return;
    for (i = 0; i < n; i++)
	store_ticket_fields_free(*ticketsp + i);
    mem_free(*ticketsp);
    *ticketsp = 0;
}

/* raw_get_once - one attempt of store_raw_get() */

static int raw_get_once(struct store *s, const char *number, uint32_t article,
			        char **raw_r, size_t *len_r)
{
    DB     *db = s->db[STORE_DB_RAW];
    unsigned char key[STORE_KEY_ITEM_MAX];
    struct reader r;
    char   *raw = 0;
    DBT     k, d;
    int     ret, st;

    memset(&k, 0, sizeof(k));
    if ((k.size = (u_int32_t) store_key_item(key, sizeof(key), number, article)) == 0)
	return (STORE_NOTFOUND);
    k.data = key;
    if ((st = reader_begin(&r, s)) != STORE_OK)
	return (st);
    memset(&d, 0, sizeof(d));
    d.flags = DB_DBT_USERMEM;			/* ulen 0: ask for the size */
    ret = db->get(db, r.txn, &k, &d, 0);
    if (ret == DB_BUFFER_SMALL) {
	raw = mem_alloc((size_t) d.size + 1);
	d.data = raw;
	d.ulen = d.size;
	ret = db->get(db, r.txn, &k, &d, 0);
    } else if (ret == 0) {
	raw = mem_alloc(1);			/* empty raw message */
    }
    reader_end(&r);
    if (ret != 0) {
	mem_free(raw);
	return (status(&r, "get raw", ret));
    }
    raw[d.size] = 0;
    *raw_r = raw;
    *len_r = d.size;
    return (STORE_OK);
}

/* store_raw_get - the raw bytes of one article */

int     store_raw_get(struct store *s, const char *number, uint32_t article,
		              char **raw_r, size_t *len_r)
{
    int     i, st = STORE_TEMP;

    *raw_r = 0;
    *len_r = 0;
    if (number == 0 || *number == 0)
	return (STORE_NOTFOUND);
    for (i = 0; i < READ_RETRIES; i++)
	if ((st = raw_get_once(s, number, article, raw_r, len_r)) != STORE_RETRY)
	    return (st);
    return (STORE_TEMP);
}
