/*++
/* NAME
/*	store_outbox 3
/* SUMMARY
/*	the transactional outbox: mail to send, attempts, the record
/* SYNOPSIS
/*	#include <store.h>
/*
/*	int	store_outbox_add(batch, mail, id_r)
/*
/*	int	store_outbox_due(store, now, max, items_r, n_r)
/*	int	store_outbox_next_time(store, when_r)
/*	int	store_outbox_result(store, id, state, next_attempt, error)
/*	int	store_outbox_list(store, include_sent, items_r, n_r)
/*	int	store_outbox_retry(store, id)
/*	void	store_outbox_items_free(itemsp, n)
/* INTERNAL INTERFACES
/*	#include "store_private.h"
/*
/*	int	store_outbox_count(store, txn, counts)
/*	int	store_outbox_trim(store)
/* DESCRIPTION
/*	Every mail postdesk sends is an outbox row, written in the batch
/*	of the change that caused it: a row exists if and only if that
/*	change committed. A row is a metadata record in outbox.db (ticket
/*	number, kind, envelope sender and recipients, Message-ID, state,
/*	attempts, times, last error, size) under be64(id), the mail
/*	itself in outbox_data.db under the same key, and for a PENDING row
/*	an entry be64(next_attempt) be64(id) in outbox_due.db, so the due
/*	rows are a cursor walk from the start of that index.
/*
/*	store_outbox_add() takes the next id from meta "outbox_next_id"
/*	(read and incremented in the batch, so an aborted batch leaves no
/*	gap; ids start at 1), writes a PENDING row due at once (created =
/*	next_attempt = the current time), and registers mail->message_id
/*	in the Message-ID index for mail->number when both are non-empty
/*	and the id is not registered yet, so replies to our own mail
/*	thread into the ticket. Envelope addresses and the Message-ID
/*	must not contain CR or LF; there must be at least one recipient.
/*
/*	store_outbox_due() returns up to max PENDING rows whose
/*	next_attempt is at or before now, earliest first (then by id),
/*	with their data (one NUL byte after len). max 0 returns nothing.
/*	store_outbox_next_time() returns the earliest next_attempt of a
/*	PENDING row, or 0.
/*
/*	store_outbox_result() records one attempt, in its own durable
/*	transaction (deadlocks are retried): attempts + 1, last_attempt =
/*	the current time, last_error = error ("" for NULL; control
/*	characters become '?', at most 512 bytes). SENT drops the data and
/*	the due entry and keeps the metadata; PENDING moves the due entry
/*	to next_attempt; FAILED drops the due entry, keeps the data (for
/*	store_outbox_retry()) and, when the row names a ticket that
/*	exists, appends to its history: what "mail failed", who "system",
/*	new_value "KIND: ERROR". The ticket's `changed` time is not
/*	touched. A result for a SENT or unknown row is STORE_NOTFOUND.
/*
/*	store_outbox_list() returns rows without data, oldest (lowest
/*	id) first: PENDING and FAILED, and SENT too with include_sent.
/*
/*	store_outbox_retry() makes a PENDING row due now, and a FAILED
/*	row PENDING again, due now, with its attempts kept.
/*
/*	The functions that take a store (not a batch) run their own
/*	transactions: like the reads of store_read(3), they must not be
/*	called from a thread that has a batch open (they would wait for
/*	its locks).
/*
/*	Results of store_outbox_due() and store_outbox_list() belong to
/*	the caller: store_outbox_items_free() frees the array and every
/*	string in it and sets *itemsp to NULL.
/*
/*	SENT rows are kept for the record, but not forever: the newest
/*	STORE_OUTBOX_SENT_KEEP (10000) are kept and store_outbox_trim(),
/*	called by store_checkpoint() (every minute in the daemon), deletes
/*	the older ones, 256 per transaction. Between two checkpoints there
/*	may be a few more. PENDING and FAILED rows are never deleted.
/*
/*	store_outbox_count() counts the rows of each state (indexed by
/*	enum store_outbox_state) in the caller's transaction, reading only
/*	the key and 3 bytes of each record.
/* DIAGNOSTICS
/*	STORE_OK; STORE_NOTFOUND; STORE_PERM for bad input; STORE_RETRY
/*	(store_outbox_add() only: the batch must be replayed) on a
/*	deadlock; STORE_TEMP for any other database error (logged with
/*	NOID and the outbox id) or too many deadlocks in a row. A corrupt
/*	record is logged and skipped by the reads. store_outbox_add()
/*	poisons its batch like store_deliver() does.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

#define S(s)	((s) ? (s) : "")

#define RETRIES		5
#define ERROR_MAX	512
#define TRIM_CHUNK	256

/* due_key - be64(next_attempt) be64(id) */

static void due_key(unsigned char out[16], time_t when, uint64_t id)
{
    store_be64_put(out, (uint64_t) (when < 0 ? 0 : (int64_t) when));
    store_be64_put(out + 8, id);
}

/* has_crlf - does s contain CR or LF? */

static int has_crlf(const char *s)
{
    return (s && strpbrk(s, "\r\n") != 0);
}

/* mail_ok - the input checks of store_outbox_add() */

static int mail_ok(const struct store_outbox_mail *m)
{
    size_t  i;

    if (m == 0 || m->kind == 0 || *m->kind == 0 || m->data == 0
	|| m->recipients == 0 || m->n_recipients == 0)
	return (0);
    if (has_crlf(m->envelope_from) || has_crlf(m->message_id)
	|| has_crlf(m->number) || has_crlf(m->kind))
	return (0);
    for (i = 0; i < m->n_recipients; i++)
	if (m->recipients[i] == 0 || *m->recipients[i] == 0
	    || has_crlf(m->recipients[i]))
	    return (0);
    return (1);
}

/* put_item - encode and write the metadata record */

static int put_item(struct store_batch *b, const struct store_outbox_item *it)
{
    unsigned char key[8];

    store_be64_put(key, it->id);
    store_codec_outbox_encode(b->enc, it);
    return (store_batch_put(b, "NOID", STORE_DB_OUTBOX, key, sizeof(key),
			    buf_data(b->enc), buf_len(b->enc), 0,
			    "put outbox"));
}

/* put_due - the due index entry of a PENDING row */

static int put_due(struct store_batch *b, const struct store_outbox_item *it)
{
    unsigned char key[16];

    due_key(key, it->next_attempt, it->id);
    return (store_batch_put(b, "NOID", STORE_DB_OUTBOX_DUE, key, sizeof(key),
			    "", 0, 0, "put outbox due"));
}

/* del_due - remove the due index entry of a PENDING row */

static int del_due(struct store_batch *b, const struct store_outbox_item *it)
{
    unsigned char key[16];

    due_key(key, it->next_attempt, it->id);
    return (store_batch_del(b, "NOID", STORE_DB_OUTBOX_DUE, key, sizeof(key),
			    "del outbox due"));
}

/* next_id - take the next id from the meta sequence */

static int next_id(struct store_batch *b, uint64_t *id_r)
{
    uint64_t next = 1;
    int     ret;

    b->wrote = 1;
    ret = store_meta_get(b->store, b->txn, "outbox_next_id", &next, DB_RMW);
    if (ret == DB_NOTFOUND)
	next = 1;
    else if (ret != 0)
	return (store_bdb_status(b->store, "NOID", "get outbox id", ret));
    ret = store_meta_put(b->store, b->txn, "outbox_next_id", next + 1);
    if (ret != 0)
	return (store_bdb_status(b->store, "NOID", "put outbox id", ret));
    *id_r = next;
    return (STORE_OK);
}

/* outbox_add - the steps, in the batch transaction */

static int outbox_add(struct store_batch *b, const struct store_outbox_mail *m,
		              uint64_t *id_r)
{
    struct store_outbox_item it;
    unsigned char key[8];
    int     status;

    memset(&it, 0, sizeof(it));
    if ((status = next_id(b, &it.id)) != STORE_OK)
	return (status);
    it.number = (char *) S(m->number);
    it.kind = (char *) m->kind;
    it.envelope_from = (char *) S(m->envelope_from);
    it.recipients = (char **) m->recipients;
    it.n_recipients = m->n_recipients;
    it.message_id = (char *) S(m->message_id);
    it.len = m->len;
    it.state = STORE_OUTBOX_PENDING;
    it.created = it.next_attempt = time(0);
    it.last_error = (char *) "";
    store_be64_put(key, it.id);
    if ((status = put_item(b, &it)) != STORE_OK
	|| (status = store_batch_put(b, "NOID", STORE_DB_OUTBOX_DATA, key,
				     sizeof(key), m->data, m->len, 0,
				     "put outbox data")) != STORE_OK
	|| (status = put_due(b, &it)) != STORE_OK
	|| (status = store_batch_msgid_put(b, "NOID", m->message_id,
					   m->number)) != STORE_OK)
	return (status);
    *id_r = it.id;
    return (STORE_OK);
}

/* store_outbox_add - one mail to send, in the batch */

int     store_outbox_add(struct store_batch *b, const struct store_outbox_mail *m,
			         uint64_t *id_r)
{
    uint64_t id = 0;
    int     status;

    if (id_r)
	*id_r = 0;
    if (b == 0)
	return (STORE_PERM);
    if (!mail_ok(m)) {
	log_error("NOID: store: outbox: refusing a malformed mail (no kind,"
		  " data or recipient, or CR/LF in an address or Message-ID)");
	return (STORE_PERM);
    }
    if (b->failed)
	return (b->failed_status);
    b->wrote = 0;
    status = outbox_add(b, m, &id);
    if (status == STORE_OK && id_r)
	*id_r = id;
    return (store_batch_settle(b, status));
}

/*
 * Reads, each in its own read-committed transaction, retried after a
 * deadlock like those of store_read.c.
 */
struct outbox_read {
    struct store *s;
    DB_TXN *txn;
    struct store_scratch key;
    struct store_scratch data;
    struct store_outbox_item *v;
    size_t  n;
    size_t  size;
};

/* read_begin - start a read transaction */

static int read_begin(struct outbox_read *r, struct store *s)
{
    int     ret;

    memset(r, 0, sizeof(*r));
    r->s = s;
    ret = s->env->txn_begin(s->env, NULL, &r->txn, DB_READ_COMMITTED);
    if (ret != 0) {
	r->txn = 0;
	return (store_bdb_status(s, "NOID", "begin outbox read", ret));
    }
    return (STORE_OK);
}

/* read_end - end it; on failure also drop the items */

static void read_end(struct outbox_read *r, int status)
{
    if (r->txn)
	(void) r->txn->abort(r->txn);
    r->txn = 0;
    store_scratch_free(&r->key);
    store_scratch_free(&r->data);
    if (status != STORE_OK) {
	store_outbox_items_free(&r->v, r->n);
	r->n = r->size = 0;
    }
}

/* read_status - map a BDB error of a read */

static int read_status(struct outbox_read *r, const char *what, int ret)
{
    if (ret == DB_NOTFOUND)
	return (STORE_NOTFOUND);
    return (store_bdb_status(r->s, "NOID", what, ret));
}

/* push - append a decoded item (taken over) */

static void push(struct outbox_read *r, const struct store_outbox_item *it)
{
    if (r->n == r->size) {
	r->size = r->size ? 2 * r->size : 16;
	r->v = mem_realloc(r->v, r->size * sizeof(*r->v));
    }
    r->v[r->n++] = *it;
}

/* get_item - the metadata of one row, and its data when asked for */

static int get_item(struct outbox_read *r, uint64_t id, int with_data,
		            struct store_outbox_item *it)
{
    unsigned char key[8];
    size_t  len;
    int     ret;

    store_be64_put(key, id);
    ret = store_get(r->s->db[STORE_DB_OUTBOX], r->txn, key, sizeof(key),
		    &r->data, &len, 0);
    if (ret != 0)
	return (read_status(r, "get outbox", ret));
    if (store_codec_outbox_decode(r->data.data, len, id, it) != STORE_OK) {
	log_error("NOID: store: outbox %llu: corrupt record",
		  (unsigned long long) id);
	return (STORE_PERM);
    }
    if (!with_data)
	return (STORE_OK);
    ret = store_get(r->s->db[STORE_DB_OUTBOX_DATA], r->txn, key, sizeof(key),
		    &r->data, &len, 0);
    if (ret != 0) {
	store_outbox_item_fields_free(it);
	if (ret != DB_NOTFOUND)
	    return (read_status(r, "get outbox data", ret));
	log_error("NOID: store: outbox %llu: data missing",
		  (unsigned long long) id);
	return (STORE_PERM);
    }
    it->data = mem_alloc(len + 1);
    if (len)
	memcpy(it->data, r->data.data, len);
    it->data[len] = 0;
    it->len = len;
    return (STORE_OK);
}

/* due_once - one attempt of store_outbox_due() */

static int due_once(struct outbox_read *r, time_t now, size_t max)
{
    DB     *db = r->s->db[STORE_DB_OUTBOX_DUE];
    struct store_outbox_item it;
    size_t  klen = 0, dlen;
    uint64_t when, id;
    int64_t limit = now < 0 ? 0 : (int64_t) now;
    DBC    *dbc;
    int     ret, st = STORE_OK;

    if ((ret = db->cursor(db, r->txn, &dbc, 0)) != 0)
	return (read_status(r, "cursor", ret));
    while (r->n < max
	   && (ret = store_cursor_get(dbc, &r->key, &klen, &r->data, &dlen,
				      DB_NEXT)) == 0) {
	if (klen != 16)
	    continue;
	when = store_be64_get(r->key.data);
	id = store_be64_get(r->key.data + 8);
	if (when > (uint64_t) limit)
	    break;
	st = get_item(r, id, 1, &it);
	if (st == STORE_PERM || st == STORE_NOTFOUND) {
	    st = STORE_OK;			/* logged, or a stale entry */
	    continue;
	}
	if (st != STORE_OK)
	    break;
	if (it.state != STORE_OUTBOX_PENDING) {
	    store_outbox_item_fields_free(&it);
	    continue;
	}
	push(r, &it);
    }
    (void) dbc->close(dbc);
    if (st != STORE_OK)
	return (st);
    if (ret != 0 && ret != DB_NOTFOUND)
	return (read_status(r, "cursor get", ret));
    return (STORE_OK);
}

/* store_outbox_due - PENDING rows due at now, with their data */

int     store_outbox_due(struct store *s, time_t now, size_t max,
			         struct store_outbox_item **items_r, size_t *n_r)
{
    struct outbox_read r;
    int     i, st = STORE_TEMP;

    *items_r = 0;
    *n_r = 0;
    for (i = 0; i < RETRIES; i++) {
	if ((st = read_begin(&r, s)) != STORE_OK)
	    break;
	st = due_once(&r, now, max);
	read_end(&r, st);
	if (st != STORE_RETRY)
	    break;
    }
    if (st != STORE_OK)
	return (st == STORE_RETRY ? STORE_TEMP : st);
    *items_r = r.v;
    *n_r = r.n;
    return (STORE_OK);
}

/* next_time_once - one attempt of store_outbox_next_time() */

static int next_time_once(struct outbox_read *r, time_t *when_r)
{
    DB     *db = r->s->db[STORE_DB_OUTBOX_DUE];
    size_t  klen = 0, dlen;
    DBC    *dbc;
    int     ret;

    if ((ret = db->cursor(db, r->txn, &dbc, 0)) != 0)
	return (read_status(r, "cursor", ret));
    while ((ret = store_cursor_get(dbc, &r->key, &klen, &r->data, &dlen,
				   DB_NEXT)) == 0 && klen != 16)
	 /* skip foreign keys */ ;
    (void) dbc->close(dbc);
    if (ret == 0) {				/* 0 means none: due at 0 is 1 */
	*when_r = (time_t) (int64_t) store_be64_get(r->key.data);
	if (*when_r == 0)
	    *when_r = 1;
    }
    if (ret != 0 && ret != DB_NOTFOUND)
	return (read_status(r, "cursor get", ret));
    return (STORE_OK);
}

/* store_outbox_next_time - earliest next_attempt of a PENDING row */

int     store_outbox_next_time(struct store *s, time_t *when_r)
{
    struct outbox_read r;
    int     i, st = STORE_TEMP;

    *when_r = 0;
    for (i = 0; i < RETRIES; i++) {
	if ((st = read_begin(&r, s)) != STORE_OK)
	    break;
	st = next_time_once(&r, when_r);
	read_end(&r, st);
	if (st != STORE_RETRY)
	    break;
	*when_r = 0;
    }
    return (st == STORE_RETRY ? STORE_TEMP : st);
}

/* list_once - one attempt of store_outbox_list() */

static int list_once(struct outbox_read *r, int include_sent)
{
    DB     *db = r->s->db[STORE_DB_OUTBOX];
    struct store_outbox_item it;
    size_t  klen = 0, dlen;
    uint64_t id;
    DBC    *dbc;
    int     ret;

    if ((ret = db->cursor(db, r->txn, &dbc, 0)) != 0)
	return (read_status(r, "cursor", ret));
    while ((ret = store_cursor_get(dbc, &r->key, &klen, &r->data, &dlen,
				   DB_NEXT)) == 0) {
	if (klen != 8)
	    continue;
	id = store_be64_get(r->key.data);
	if (store_codec_outbox_decode(r->data.data, dlen, id, &it) != STORE_OK) {
	    log_error("NOID: store: outbox %llu: corrupt record",
		      (unsigned long long) id);
	    continue;
	}
	if (it.state == STORE_OUTBOX_SENT && !include_sent) {
	    store_outbox_item_fields_free(&it);
	    continue;
	}
	push(r, &it);
    }
    (void) dbc->close(dbc);
    if (ret != 0 && ret != DB_NOTFOUND)
	return (read_status(r, "cursor get", ret));
    return (STORE_OK);
}

/* store_outbox_list - rows without data, oldest first */

int     store_outbox_list(struct store *s, int include_sent,
			          struct store_outbox_item **items_r, size_t *n_r)
{
    struct outbox_read r;
    int     i, st = STORE_TEMP;

    *items_r = 0;
    *n_r = 0;
    for (i = 0; i < RETRIES; i++) {
	if ((st = read_begin(&r, s)) != STORE_OK)
	    break;
	st = list_once(&r, include_sent);
	read_end(&r, st);
	if (st != STORE_RETRY)
	    break;
    }
    if (st != STORE_OK)
	return (st == STORE_RETRY ? STORE_TEMP : st);
    *items_r = r.v;
    *n_r = r.n;
    return (STORE_OK);
}

/* store_outbox_items_free - free a due or list result */

void    store_outbox_items_free(struct store_outbox_item **itemsp, size_t n)
{
    size_t  i;

    if (itemsp == 0 || *itemsp == 0)
	return;
    for (i = 0; i < n; i++)
	store_outbox_item_fields_free(*itemsp + i);
    mem_free(*itemsp);
    *itemsp = 0;
}

/*
 * Updates, each in its own durable transaction (an uncounted batch),
 * replayed after a deadlock.
 */
typedef int (*update_fn) (struct store_batch *, struct store_outbox_item *,
			          void *context);

/* update_once - load the row, apply fn, write it back, commit */

static int update_once(struct store *s, uint64_t id, update_fn fn,
		               void *context)
{
    struct store_outbox_item it;
    struct store_batch *b;
    unsigned char key[8];
    size_t  len;
    int     ret, st;

    if ((st = store_batch_begin(s, &b)) != STORE_OK)
	return (st);
    store_be64_put(key, id);
    ret = store_get(s->db[STORE_DB_OUTBOX], b->txn, key, sizeof(key),
		    &b->get, &len, DB_RMW);
    if (ret != 0) {
	store_batch_abort(&b);
	return (ret == DB_NOTFOUND ? STORE_NOTFOUND
		: store_bdb_status(s, "NOID", "get outbox", ret));
    }
    if (store_codec_outbox_decode(b->get.data, len, id, &it) != STORE_OK) {
	log_error("NOID: store: outbox %llu: corrupt record",
		  (unsigned long long) id);
	store_batch_abort(&b);
	return (STORE_TEMP);
    }
    if (it.state == STORE_OUTBOX_SENT) {
	st = STORE_NOTFOUND;
    } else if ((st = fn(b, &it, context)) == STORE_OK) {
	st = put_item(b, &it);
    }
    store_outbox_item_fields_free(&it);
    if (st != STORE_OK) {
	store_batch_abort(&b);
	return (st);
    }
    return (store_batch_finish(&b, 0));
}

/* update - update_once with deadlock retries */

static int update(struct store *s, uint64_t id, update_fn fn, void *context)
{
    int     i, st = STORE_TEMP;

    for (i = 0; i < RETRIES; i++)
	if ((st = update_once(s, id, fn, context)) != STORE_RETRY)
	    return (st);
    log_warn("NOID: store: outbox %llu: too many deadlocks",
	     (unsigned long long) id);
    return (STORE_TEMP);
}

/* One attempt's result. */
struct result {
    enum store_outbox_state state;
    time_t  next_attempt;
    const char *error;
};

/* failed_history - "mail failed" in the row's ticket, when it exists */

static int failed_history(struct store_batch *b, const struct store_outbox_item *it,
			          time_t now)
{
    struct store_ticket_rec rec;
    char   *what;
    int     st;

    if (*it->number == 0)
	return (STORE_OK);
    st = store_batch_ticket_load(b, "NOID", it->number, &rec);
    if (st == STORE_NOTFOUND)
	return (STORE_OK);
    if (st != STORE_OK)
	return (st);
    what = *it->last_error ? mem_printf("%s: %s", it->kind, it->last_error)
	: mem_strdup(it->kind);
    st = store_batch_history(b, "NOID", &rec, now, "system", "mail failed",
			     0, what);
    if (st == STORE_OK)
	st = store_batch_ticket_put(b, "NOID", &rec);
    mem_free(what);
    store_ticket_fields_free(&rec.t);
    return (st);
}

/* apply_result - update_fn of store_outbox_result() */

static int apply_result(struct store_batch *b, struct store_outbox_item *it,
			        void *context)
{
    const struct result *res = context;
    unsigned char key[8];
    time_t  now = time(0);
    int     st;

    if (it->state == STORE_OUTBOX_PENDING
	&& (st = del_due(b, it)) != STORE_OK)
	return (st);
    it->attempts += 1;
    it->last_attempt = now;
    mem_free(it->last_error);
    it->last_error = str_sanitize(res->error, ERROR_MAX);
    it->state = res->state;
    switch (res->state) {
    case STORE_OUTBOX_SENT:
	store_be64_put(key, it->id);
	return (store_batch_del(b, "NOID", STORE_DB_OUTBOX_DATA, key,
				sizeof(key), "del outbox data"));
    case STORE_OUTBOX_PENDING:
	it->next_attempt = res->next_attempt;
	return (put_due(b, it));
    case STORE_OUTBOX_FAILED:
    default:
	log_info("NOID: store: outbox %llu (%s, ticket %s) failed: %s",
		 (unsigned long long) it->id, it->kind,
		 *it->number ? it->number : "none", it->last_error);
	return (failed_history(b, it, now));
    }
}

/* store_outbox_result - record one attempt */

int     store_outbox_result(struct store *s, uint64_t id,
			            enum store_outbox_state state,
			            time_t next_attempt, const char *error)
{
    struct result res;

    if (s == 0 || (unsigned) state > STORE_OUTBOX_FAILED)
	return (STORE_PERM);
    res.state = state;
    res.next_attempt = next_attempt < 0 ? 0 : next_attempt;
    res.error = error;
    return (update(s, id, apply_result, &res));
}

/* apply_retry - update_fn of store_outbox_retry() */

static int apply_retry(struct store_batch *b, struct store_outbox_item *it,
		               void *context)
{
    int     st;

    (void) context;
    if (it->state == STORE_OUTBOX_PENDING
	&& (st = del_due(b, it)) != STORE_OK)
	return (st);
    it->state = STORE_OUTBOX_PENDING;
    it->next_attempt = time(0);
    return (put_due(b, it));
}

/* store_outbox_retry - make a PENDING or FAILED row due now */

int     store_outbox_retry(struct store *s, uint64_t id)
{
    if (s == 0)
	return (STORE_PERM);
    return (update(s, id, apply_retry, 0));
}

/*
 * Counting and trimming.
 */

/* count_scan - counts by state; with ids, also the oldest SENT ids */

static int count_scan(struct store *s, DB_TXN *txn, uint64_t counts[3],
		              uint64_t *ids, size_t max_ids, size_t *n_ids)
{
    DB     *db = s->db[STORE_DB_OUTBOX];
    unsigned char kbuf[8], dbuf[STORE_OUTBOX_STATE_OFFSET + 1];
    DBT     k, d;
    DBC    *dbc;
    int     ret;

    counts[0] = counts[1] = counts[2] = 0;
    if (n_ids)
	*n_ids = 0;
    if ((ret = db->cursor(db, txn, &dbc, 0)) != 0)
	return (ret);
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.data = kbuf;
    k.ulen = sizeof(kbuf);
    k.flags = DB_DBT_USERMEM;
    d.data = dbuf;
    d.ulen = d.dlen = sizeof(dbuf);
    d.doff = 0;
    d.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
    while ((ret = dbc->get(dbc, &k, &d, DB_NEXT)) == 0) {
	if (k.size != sizeof(kbuf) || d.size != sizeof(dbuf)
	    || dbuf[STORE_OUTBOX_STATE_OFFSET] > STORE_OUTBOX_FAILED)
	    continue;
	counts[dbuf[STORE_OUTBOX_STATE_OFFSET]] += 1;
	if (ids && dbuf[STORE_OUTBOX_STATE_OFFSET] == STORE_OUTBOX_SENT
	    && *n_ids < max_ids)
	    ids[(*n_ids)++] = store_be64_get(kbuf);
    }
    (void) dbc->close(dbc);
    return (ret == DB_NOTFOUND ? 0 : ret);
}

/* store_outbox_count - rows by state, in the caller's transaction */

int     store_outbox_count(struct store *s, DB_TXN *txn, uint64_t counts[3])
{
    return (count_scan(s, txn, counts, 0, 0, 0));
}

/* oldest_sent - up to max ids of the oldest SENT rows beyond the limit */

static int oldest_sent(struct store *s, uint64_t keep, uint64_t *ids,
		               size_t max, size_t *n_r)
{
    uint64_t counts[3];
    uint64_t excess;
    DB_TXN *txn;
    int     ret;

    *n_r = 0;
    if ((ret = s->env->txn_begin(s->env, NULL, &txn, DB_READ_COMMITTED)) != 0)
	return (ret);
    if ((ret = count_scan(s, txn, counts, 0, 0, 0)) == 0
	&& counts[STORE_OUTBOX_SENT] > keep) {
	excess = counts[STORE_OUTBOX_SENT] - keep;
	ret = count_scan(s, txn, counts, ids, excess < max ? (size_t) excess
			 : max, n_r);
    }
    (void) txn->abort(txn);
    return (ret);
}

/* delete_rows - delete SENT rows by id in one transaction */

static int delete_rows(struct store *s, const uint64_t *ids, size_t n)
{
    struct store_batch *b;
    unsigned char key[8];
    size_t  i;
    int     st;

    if ((st = store_batch_begin(s, &b)) != STORE_OK)
	return (st);
    for (i = 0; i < n && st == STORE_OK; i++) {
	store_be64_put(key, ids[i]);
	st = store_batch_del(b, "NOID", STORE_DB_OUTBOX, key, sizeof(key),
			     "del outbox");
	if (st == STORE_OK)
	    st = store_batch_del(b, "NOID", STORE_DB_OUTBOX_DATA, key,
				 sizeof(key), "del outbox data");
    }
    if (st != STORE_OK) {
	store_batch_abort(&b);
	return (st);
    }
    return (store_batch_finish(&b, 0));
}

/* store_outbox_trim - keep only the newest SENT rows */

int     store_outbox_trim(struct store *s)
{
    uint64_t ids[TRIM_CHUNK];
    uint64_t total = 0;
    size_t  n;
    int     i, ret, st = STORE_OK;

    for (;;) {
	for (i = 0; i < RETRIES; i++) {
	    ret = oldest_sent(s, s->outbox_sent_keep, ids, TRIM_CHUNK, &n);
	    if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
		break;
	}
	if (ret != 0) {
	    st = store_bdb_status(s, "NOID", "outbox trim scan", ret);
	    break;
	}
	if (n == 0)
	    break;
	for (i = 0; i < RETRIES; i++)
	    if ((st = delete_rows(s, ids, n)) != STORE_RETRY)
		break;
	if (st != STORE_OK)
	    break;
	total += n;
    }
    if (total)
	log_info("store: outbox: deleted %llu old sent rows (keeping %llu)",
		 (unsigned long long) total,
		 (unsigned long long) s->outbox_sent_keep);
    return (st == STORE_RETRY ? STORE_TEMP : st);
}
