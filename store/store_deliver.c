/*++
/* NAME
/*	store_deliver 3
/* SUMMARY
/*	batched delivery: deduplication, threading, numbering, writes
/* SYNOPSIS
/*	#include <store.h>
/*
/*	int	store_batch_begin(store, batch_r)
/*	int	store_deliver(batch, conf, msg, result_r)
/*	int	store_batch_commit(batchp)
/*	void	store_batch_abort(batchp)
/* INTERNAL INTERFACES
/*	#include "store_private.h"
/*
/*	int	store_index_apply(batch, log_id, old_t, new_t)
/*	int	store_batch_finish(batchp, counted)
/*	int	store_batch_settle(batch, status)
/*	int	store_batch_put(batch, log_id, which, key, klen, data, dlen,
/*				flags, what)
/*	int	store_batch_del(batch, log_id, which, key, klen, what)
/*	int	store_batch_ticket_load(batch, log_id, number, rec)
/*	int	store_batch_ticket_put(batch, log_id, rec)
/*	int	store_batch_history(batch, log_id, rec, at, who, what,
/*				old_value, new_value)
/*	int	store_batch_msgid_put(batch, log_id, message_id, number)
/* DESCRIPTION
/*	store_batch_begin() starts one transaction. store_deliver()
/*	applies one prepared message inside it, in this order:
/* .IP 1.
/*	Deduplication on Message-ID + SHA-256 of the raw message (the
/*	hash alone without Message-ID), whatever the recipient: a copy
/*	of a message already stored (an LMTP retry, or the same message
/*	to a second queue address) is DUPLICATE with the first ticket's
/*	number and article; nothing is written.
/* .IP 2.
/*	Threading: the ticket named by msg->ticket_ref when it exists,
/*	else the ticket of the first of msg->references found in the
/*	Message-ID index, else a new ticket. A ticket merged into
/*	another (store_ticket_merge()) stands for the ticket it was
/*	merged into, following merged_into at most STORE_MERGE_HOPS
/*	times (a missing target keeps the last ticket found).
/* .IP 3.
/*	A new ticket gets the next number of the day (local date of
/*	msg->received, counter in the meta database, incremented inside
/*	the transaction, so an aborted batch leaves no gap), state "new",
/*	priority 3, msg->default_type, no owner, unlocked, the customer
/*	msg->from (lowercase) or else the envelope sender, and a history
/*	record "created".
/* .IP 4.
/*	A follow-up adds the next article and a history record "article"
/*	(new_value the index). "pending*" becomes "open"; "closed*"
/*	follows the follow_up_closed setting of the ticket's queue (a
/*	queue missing from the configuration, or conf NULL, means
/*	reopen): reopen -> "open"; reject -> REJECTED with a 5.7.1 reason,
/*	nothing written; new -> a new ticket whose "created" record says
/*	"follow-up of closed ticket N". State changes are recorded in
/*	history ("state", old, new) and in the ticket's changes (who:
/*	the sender). Automatic mail (msg->automatic) never
/*	changes a state: on a closed ticket it is added to that ticket as
/*	an article, whatever follow_up_closed says (it needs no answer,
/*	must not open tickets, and must not bounce).
/* .IP 5.
/*	The article (customer, email, visible, unseen) and the raw bytes,
/*	the Message-ID index entry (first writer wins), the dedup key,
/*	the ticket record and its index records.
/* .PP
/*	*result_r is written only at the end, so msg may point into it
/*	(e.g. ticket_ref = a previous result's number).
/*
/*	store_batch_commit() commits durably (one log flush for the whole
/*	batch), updates the ticket and article counters first, counts the
/*	batch for store_stats(), frees the batch and NULLs *batchp.
/*	store_batch_abort() rolls everything back and frees the batch.
/*
/*	store_index_apply() replaces the index records of old_t (NULL for
/*	a new ticket) with those of new_t, writing only what changed.
/*
/*	The other internal functions are the batch's building blocks,
/*	shared with store_article.c and store_outbox.c so that every
/*	writer sees and changes tickets the same way. store_batch_finish()
/*	is store_batch_commit() that counts the batch in store_stats()
/*	only when counted (the outbox's own transactions are not
/*	batches of mail). store_batch_settle() poisons the batch after a
/*	failed call (STORE_RETRY, STORE_TEMP, or any failure after a
/*	write: batch->wrote, reset by each public call) and returns the
/*	status. store_batch_put() and store_batch_del() write one key
/*	(DB_NOOVERWRITE: an existing key is kept and is not an error; a
/*	missing key to delete is not an error). store_batch_ticket_load()
/*	reads a ticket record with DB_RMW (STORE_NOTFOUND when there is
/*	none); store_batch_ticket_put() writes it, with its revision
/*	incremented (every write of a ticket counts); store_batch_history()
/*	appends a history record (who "unknown" when empty) and counts
/*	it in rec, which the caller then writes; store_batch_msgid_put()
/*	registers a lowercase Message-ID for a number (nothing when
/*	either is empty; the first writer wins).
/* DIAGNOSTICS
/*	STORE_RETRY on a deadlock; STORE_TEMP for any other database
/*	error (logged with msg->log_id); STORE_PERM for a NULL message.
/*	After STORE_RETRY or STORE_TEMP the batch must be aborted: a
/*	commit of such a batch aborts it and returns that status again.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "store_private.h"

#define S(s)	((s) ? (s) : "")

/* One store_deliver() call. */
struct deliver {
    struct store_batch *b;
    struct store *s;
    DB_TXN *txn;
    const struct conf *conf;
    const struct store_message *msg;
    const char *id;			/* log id */
    struct store_result *res;
    char   *who;			/* lowercase sender address */
};

/* store_batch_begin - start one transaction */

int     store_batch_begin(struct store *s, struct store_batch **batch_r)
{
    struct store_batch *b;
    DB_TXN *txn;
    int     ret;

    *batch_r = 0;
    if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
	return (store_bdb_status(s, "NOID", "begin batch", ret));
    b = mem_zalloc(sizeof(*b));
    b->store = s;
    b->txn = txn;
    b->enc = buf_create(4096, 0);
    b->key = buf_create(256, 0);
    b->key2 = buf_create(256, 0);
    *batch_r = b;
    return (STORE_OK);
}

/* batch_free - release the batch memory */

static void batch_free(struct store_batch *b)
{
    buf_destroy(&b->enc);
    buf_destroy(&b->key);
    buf_destroy(&b->key2);
    store_scratch_free(&b->get);
    mem_free(b);
}

/* store_batch_abort - roll back and free */

void    store_batch_abort(struct store_batch **batchp)
{
    struct store_batch *b;
    int     ret;

    if (batchp == 0 || (b = *batchp) == 0)
	return;
    *batchp = 0;
    if ((ret = b->txn->abort(b->txn)) != 0)
	(void) store_bdb_status(b->store, "NOID", "abort batch", ret);
    batch_free(b);
}

/* add_count - meta counter += delta */

static int add_count(struct store_batch *b, const char *name, uint64_t delta)
{
    uint64_t v = 0;
    int     ret;

    if (delta == 0)
	return (0);
    ret = store_meta_get(b->store, b->txn, name, &v, DB_RMW);
    if (ret != 0 && ret != DB_NOTFOUND)
	return (ret);
    return (store_meta_put(b->store, b->txn, name, v + delta));
}

/* store_batch_finish - durable commit; counted: a batch of messages */

int     store_batch_finish(struct store_batch **batchp, int counted)
{
    struct store_batch *b;
    struct store *s;
    int     ret, status;

    if (batchp == 0 || (b = *batchp) == 0)
	return (STORE_PERM);
    s = b->store;
    if (b->failed) {
	status = b->failed_status;
	store_batch_abort(batchp);
	return (status);
    }
    *batchp = 0;
    if ((ret = add_count(b, "count:tickets", b->new_tickets)) != 0
	|| (ret = add_count(b, "count:articles", b->new_articles)) != 0) {
	(void) b->txn->abort(b->txn);
    } else {
	ret = b->txn->commit(b->txn, 0);	/* the handle is gone either way */
    }
    if (ret == 0 && counted) {
	atomic_fetch_add(&s->batches, 1);
	atomic_fetch_add(&s->batched_messages, b->n_messages);
    }
    status = store_bdb_status(s, "NOID", "commit batch", ret);
    batch_free(b);
    return (status);
}

/* store_batch_commit - durable commit of the whole batch */

int     store_batch_commit(struct store_batch **batchp)
{
    return (store_batch_finish(batchp, 1));
}

/* store_batch_settle - poison the batch after a failed write */

int     store_batch_settle(struct store_batch *b, int status)
{
    /* After a deadlock or a failed write the transaction is unusable. */
    if (status != STORE_OK
	&& (status == STORE_RETRY || status == STORE_TEMP || b->wrote)) {
	b->failed = 1;
	b->failed_status = (status == STORE_RETRY) ? STORE_RETRY : STORE_TEMP;
    }
    return (status);
}

/*
 * Write helpers, shared with store_article.c and store_outbox.c. Each
 * returns a store status and marks the batch as written to, so that
 * store_batch_settle() poisons it when the call fails.
 */

/* store_batch_put - one put inside the batch */

int     store_batch_put(struct store_batch *b, const char *log_id, int which,
			        const void *key, size_t klen, const void *data,
			        size_t dlen, uint32_t flags, const char *what)
{
    DB     *db = b->store->db[which];
    DBT     k, v;
    int     ret;

    memset(&k, 0, sizeof(k));
    memset(&v, 0, sizeof(v));
    k.data = (void *) key;
    k.size = (u_int32_t) klen;
    v.data = (void *) data;
    v.size = (u_int32_t) dlen;
    b->wrote = 1;
    ret = db->put(db, b->txn, &k, &v, flags);
    if (ret == DB_KEYEXIST && (flags & DB_NOOVERWRITE))
	return (STORE_OK);			/* first writer wins */
    return (store_bdb_status(b->store, log_id, what, ret));
}

/* store_batch_del - one delete inside the batch; a missing key is fine */

int     store_batch_del(struct store_batch *b, const char *log_id, int which,
			        const void *key, size_t klen, const char *what)
{
    DB     *db = b->store->db[which];
    DBT     k;
    int     ret;

    memset(&k, 0, sizeof(k));
    k.data = (void *) key;
    k.size = (u_int32_t) klen;
    b->wrote = 1;
    ret = db->del(db, b->txn, &k, 0);
    if (ret == DB_NOTFOUND)
	return (STORE_OK);
    return (store_bdb_status(b->store, log_id, what, ret));
}

/* put - one put for this delivery */

static int put(struct deliver *d, int which, const void *key, size_t klen,
	               const void *data, size_t dlen, uint32_t flags,
	               const char *what)
{
    return (store_batch_put(d->b, d->id, which, key, klen, data, dlen, flags,
			    what));
}

/* put_enc - put the encoded record in b->enc */

static int put_enc(struct deliver *d, int which, const void *key, size_t klen,
		           const char *what)
{
    return (put(d, which, key, klen, buf_data(d->b->enc),
		buf_len(d->b->enc), 0, what));
}

/* store_batch_history - append one history record to a ticket */

int     store_batch_history(struct store_batch *b, const char *log_id,
			            struct store_ticket_rec *rec, time_t at,
			            const char *who, const char *what,
			            const char *old_value, const char *new_value)
{
    struct store_history h;
    unsigned char key[STORE_KEY_ITEM_MAX];
    size_t  klen;

    h.at = at;
    h.who = (char *) (who && *who ? who : "unknown");
    h.what = (char *) what;
    h.old_value = (char *) old_value;
    h.new_value = (char *) new_value;
    store_codec_history_encode(b->enc, &h);
    rec->n_history += 1;
    klen = store_key_item(key, sizeof(key), rec->t.number, rec->n_history);
    return (store_batch_put(b, log_id, STORE_DB_HISTORY, key, klen,
			    buf_data(b->enc), buf_len(b->enc), 0,
			    "put history"));
}

/* add_history - history record of this delivery */

static int add_history(struct deliver *d, struct store_ticket_rec *rec,
		               const char *what, const char *old_value,
		               const char *new_value)
{
    return (store_batch_history(d->b, d->id, rec, d->msg->received, d->who,
				what, old_value, new_value));
}

/*
 * Index records: queue NUL state NUL number, customer NUL number,
 * owner NUL number; keys only.
 */

/* index_key - build one index key; 0 when the ticket has none */

static int index_key(struct buf *out, int which, const struct store_ticket *t)
{
    buf_reset(out);
    switch (which) {
    case STORE_DB_IDX_QUEUE:
	(void) buf_append_str(out, S(t->queue));
	(void) buf_append(out, "", 1);
	(void) buf_append_str(out, S(t->state));
	break;
    case STORE_DB_IDX_CUSTOMER:
	if (t->customer == 0 || *t->customer == 0)
	    return (0);
	(void) buf_append_str(out, t->customer);
	break;
    case STORE_DB_IDX_OWNER:
	if (t->owner == 0 || *t->owner == 0)
	    return (0);
	(void) buf_append_str(out, t->owner);
	break;
    }
    (void) buf_append(out, "", 1);
    (void) buf_append_str(out, t->number);
    return (1);
}

/* store_index_apply - replace old_t's index records with new_t's */

int     store_index_apply(struct store_batch *b, const char *log_id,
			          const struct store_ticket *old_t,
			          const struct store_ticket *new_t)
{
    static const int idx[] = {
	STORE_DB_IDX_QUEUE, STORE_DB_IDX_CUSTOMER, STORE_DB_IDX_OWNER,
    };
    size_t  i;
    int     has_old, has_new, ret;
    DBT     k, v;
    DB     *db;

    for (i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
	db = b->store->db[idx[i]];
	has_old = old_t ? index_key(b->key2, idx[i], old_t) : 0;
	has_new = index_key(b->key, idx[i], new_t);
	if (has_old && has_new && buf_len(b->key) == buf_len(b->key2)
	    && memcmp(buf_data(b->key), buf_data(b->key2), buf_len(b->key)) == 0)
	    continue;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	if (has_old) {
	    k.data = buf_data_mut(b->key2);
	    k.size = (u_int32_t) buf_len(b->key2);
	    ret = db->del(db, b->txn, &k, 0);
	    if (ret != 0 && ret != DB_NOTFOUND)
		return (store_bdb_status(b->store, log_id, "index del", ret));
	}
	if (has_new) {
	    k.data = buf_data_mut(b->key);
	    k.size = (u_int32_t) buf_len(b->key);
	    if ((ret = db->put(db, b->txn, &k, &v, 0)) != 0)
		return (store_bdb_status(b->store, log_id, "index put", ret));
	}
    }
    return (STORE_OK);
}

/*
 * Reading inside the batch (DB_RMW: we will write what we read).
 */

/* store_batch_ticket_load - STORE_OK, STORE_NOTFOUND or an error status */

int     store_batch_ticket_load(struct store_batch *b, const char *log_id,
				        const char *number,
				        struct store_ticket_rec *rec)
{
    size_t  len;
    int     ret;

    if (number == 0 || *number == 0 || strlen(number) >= sizeof(rec->t.number))
	return (STORE_NOTFOUND);
    ret = store_get(b->store->db[STORE_DB_TICKETS], b->txn, number,
		    strlen(number), &b->get, &len, DB_RMW);
    if (ret == DB_NOTFOUND)
	return (STORE_NOTFOUND);
    if (ret != 0)
	return (store_bdb_status(b->store, log_id, "get ticket", ret));
    if (store_codec_ticket_decode(b->get.data, len, number, rec) != STORE_OK) {
	log_error("%s: store: ticket %s: corrupt record", log_id, number);
	return (STORE_TEMP);
    }
    return (STORE_OK);
}

static int find_direct(struct deliver *, struct store_ticket_rec *);

/* load_ticket - the ticket of this delivery */

static int load_ticket(struct deliver *d, const char *number,
		               struct store_ticket_rec *rec)
{
    return (store_batch_ticket_load(d->b, d->id, number, rec));
}

/* dedup_key - Message-ID NUL hash, or the hash alone */

static void dedup_key(struct deliver *d)
{
    struct buf *k = d->b->key;

    buf_reset(k);
    if (*S(d->msg->message_id)) {
	(void) buf_append_str(k, d->msg->message_id);
	(void) buf_append(k, "", 1);
    }
    (void) buf_append(k, d->msg->hash, sizeof(d->msg->hash));
}

/* check_dedup - STORE_OK (duplicate, result set), STORE_NOTFOUND, error */

static int check_dedup(struct deliver *d)
{
    struct store_result *r = d->res;
    unsigned char *v;
    size_t  len;
    int     ret;

    dedup_key(d);
    ret = store_get(d->s->db[STORE_DB_DEDUP], d->txn, buf_data(d->b->key),
		    buf_len(d->b->key), &d->b->get, &len, DB_RMW);
    if (ret == DB_NOTFOUND)
	return (STORE_NOTFOUND);
    if (ret != 0)
	return (store_bdb_status(d->s, d->id, "get dedup", ret));
    v = d->b->get.data;
    if (len < 5 || len - 4 >= sizeof(r->number)) {
	log_error("%s: store: corrupt dedup record", d->id);
	return (STORE_TEMP);
    }
    r->outcome = STORE_OUTCOME_DUPLICATE;
    r->article = store_be32_get(v);
    memcpy(r->number, v + 4, len - 4);
    r->number[len - 4] = 0;
    return (STORE_OK);
}

/* lookup_msgid - ticket number of a Message-ID, into number */

static int lookup_msgid(struct deliver *d, const char *mid, char number[32])
{
    size_t  len;
    int     ret;

    if (mid == 0 || *mid == 0)
	return (STORE_NOTFOUND);
    buf_reset(d->b->key);
    (void) buf_append_str(d->b->key, mid);
    str_lower(buf_data_mut(d->b->key));
    ret = store_get(d->s->db[STORE_DB_MSGID], d->txn, buf_data(d->b->key),
		    buf_len(d->b->key), &d->b->get, &len, 0);
    if (ret == DB_NOTFOUND)
	return (STORE_NOTFOUND);
    if (ret != 0)
	return (store_bdb_status(d->s, d->id, "get msgid", ret));
    if (len == 0 || len >= 32)
	return (STORE_NOTFOUND);
    memcpy(number, d->b->get.data, len);
    number[len] = 0;
    return (STORE_OK);
}

/* follow_merge - the ticket rec was merged into, at most
   STORE_MERGE_HOPS hops; a missing target keeps the last ticket found */

static int follow_merge(struct deliver *d, struct store_ticket_rec *rec)
{
    struct store_ticket_rec next;
    int     hops, status;

    for (hops = 0; hops < STORE_MERGE_HOPS && rec->t.merged_into; hops++) {
	status = load_ticket(d, rec->t.merged_into, &next);
	if (status == STORE_NOTFOUND) {
	    log_warn("%s: store: ticket %s is merged into missing ticket %s",
		     d->id, rec->t.number, rec->t.merged_into);
	    return (STORE_OK);
	}
	if (status != STORE_OK) {
	    store_ticket_fields_free(&rec->t);
	    return (status);
	}
	log_info("%s: store: ticket %s is merged into %s", d->id,
		 rec->t.number, next.t.number);
	store_ticket_fields_free(&rec->t);
	*rec = next;
    }
    if (rec->t.merged_into)
	log_warn("%s: store: more than %d merges from ticket %s: stopped",
		 d->id, STORE_MERGE_HOPS, rec->t.number);
    return (STORE_OK);
}

/* find_ticket - by ticket_ref, then by references; merges followed */

static int find_ticket(struct deliver *d, struct store_ticket_rec *rec)
{
    int     status = find_direct(d, rec);

    if (status != STORE_OK)
	return (status);
    return (follow_merge(d, rec));
}

/* find_direct - by ticket_ref, then by references */

static int find_direct(struct deliver *d, struct store_ticket_rec *rec)
{
    const struct store_message *m = d->msg;
    char    number[32];
    size_t  i;
    int     status;

    if (m->ticket_ref && *m->ticket_ref) {
	status = load_ticket(d, m->ticket_ref, rec);
	if (status != STORE_NOTFOUND)
	    return (status);
    }
    for (i = 0; i < m->n_references && m->references; i++) {
	status = lookup_msgid(d, m->references[i], number);
	if (status == STORE_NOTFOUND)
	    continue;
	if (status != STORE_OK)
	    return (status);
	status = load_ticket(d, number, rec);
	if (status != STORE_NOTFOUND)
	    return (status);
    }
    return (STORE_NOTFOUND);
}

/* next_number - increment the day's counter, format a free number */

static int next_number(struct deliver *d, char number[32])
{
    struct store *s = d->s;
    DB     *tickets = s->db[STORE_DB_TICKETS];
    unsigned sysid = d->conf ? conf_system_id(d->conf) : 10;
    char    name[48];
    uint64_t counter = 0;
    struct tm tm;
    DBT     k;
    int     ret;

    if (localtime_r(&d->msg->received, &tm) == 0) {
	log_error("%s: store: bad received time", d->id);
	return (STORE_PERM);
    }
    snprintf(name, sizeof(name), "counter:%04d%02d%02d",
	     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    d->b->wrote = 1;
    ret = store_meta_get(s, d->txn, name, &counter, DB_RMW);
    if (ret != 0 && ret != DB_NOTFOUND)
	return (store_bdb_status(s, d->id, "get counter", ret));
    for (;;) {
	counter += 1;
	store_number_format(number, tm.tm_year + 1900, tm.tm_mon + 1,
			    tm.tm_mday, sysid, counter);
	if (*number == 0) {
	    log_error("%s: store: cannot format a ticket number", d->id);
	    return (STORE_PERM);
	}
	memset(&k, 0, sizeof(k));
	k.data = number;
	k.size = (u_int32_t) strlen(number);
	ret = tickets->exists(tickets, d->txn, &k, DB_RMW);
	if (ret == DB_NOTFOUND)
	    break;
	if (ret != 0)
	    return (store_bdb_status(s, d->id, "check number", ret));
	log_warn("%s: store: ticket number %s already used, skipping",
		 d->id, number);
    }
    ret = store_meta_put(s, d->txn, name, counter);
    return (store_bdb_status(s, d->id, "put counter", ret));
}

/* write_article - article record, raw bytes, Message-ID, dedup key */

static int write_article(struct deliver *d, const char *number, uint32_t index)
{
    const struct store_message *m = d->msg;
    struct store_article a;
    unsigned char key[STORE_KEY_ITEM_MAX];
    unsigned char val[4 + 32];
    size_t  klen, nlen = strlen(number);
    int     status;

    memset(&a, 0, sizeof(a));
    a.index = index;
    a.sender_type = STORE_SENDER_CUSTOMER;
    a.channel = STORE_CHANNEL_EMAIL;
    a.visible_to_customer = 1;
    a.seen = 0;
    a.from = (char *) S(m->from_header);
    a.to = (char *) S(m->to);
    a.cc = (char *) S(m->cc);
    a.subject = (char *) S(m->subject);
    a.message_id = (char *) S(m->message_id);
    a.received = m->received;
    a.body = (char *) S(m->body);
    a.attachments = (struct store_attachment *) m->attachments;
    a.n_attachments = m->attachments ? m->n_attachments : 0;
    a.raw_len = m->raw ? m->raw_len : 0;
    store_codec_article_encode(d->b->enc, &a);
    klen = store_key_item(key, sizeof(key), number, index);
    if ((status = put_enc(d, STORE_DB_ARTICLES, key, klen, "put article")) != STORE_OK
	|| (status = put(d, STORE_DB_RAW, key, klen, m->raw ? m->raw : "",
			 (size_t) a.raw_len, 0, "put raw")) != STORE_OK)
	return (status);
    if ((status = store_batch_msgid_put(d->b, d->id, m->message_id,
					number)) != STORE_OK)
	return (status);
    dedup_key(d);
    store_be32_put(val, index);
    memcpy(val + 4, number, nlen);
    status = put(d, STORE_DB_DEDUP, buf_data(d->b->key), buf_len(d->b->key),
		 val, 4 + nlen, 0, "put dedup");
    if (status == STORE_OK)
	d->b->new_articles += 1;
    return (status);
}

/* store_batch_msgid_put - Message-ID -> number, first writer wins */

int     store_batch_msgid_put(struct store_batch *b, const char *log_id,
			              const char *message_id, const char *number)
{
    if (message_id == 0 || *message_id == 0 || number == 0 || *number == 0)
	return (STORE_OK);
    buf_reset(b->key);
    (void) buf_append_str(b->key, message_id);
    str_lower(buf_data_mut(b->key));
    return (store_batch_put(b, log_id, STORE_DB_MSGID, buf_data(b->key),
			    buf_len(b->key), number, strlen(number),
			    DB_NOOVERWRITE, "put msgid"));
}

/* store_batch_ticket_put - encode and write the ticket record */

int     store_batch_ticket_put(struct store_batch *b, const char *log_id,
			               struct store_ticket_rec *rec)
{
    int     status;

    if ((status = store_escalation_index(b, log_id, rec)) != STORE_OK)
	return (status);
    rec->t.revision += 1;
    store_codec_ticket_encode(b->enc, rec);
    return (store_batch_put(b, log_id, STORE_DB_TICKETS, rec->t.number,
			    strlen(rec->t.number), buf_data(b->enc),
			    buf_len(b->enc), 0, "put ticket"));
}

/* put_ticket - the ticket record of this delivery */

static int put_ticket(struct deliver *d, struct store_ticket_rec *rec)
{
    return (store_batch_ticket_put(d->b, d->id, rec));
}

/* new_ticket - open a ticket; prev is the closed ticket it follows, or NULL */

static int new_ticket(struct deliver *d, const char *prev)
{
    const struct store_message *m = d->msg;
    struct store_ticket_rec rec;
    char   *note = 0;
    int     status;

    memset(&rec, 0, sizeof(rec));
    if ((status = next_number(d, rec.t.number)) != STORE_OK)
	return (status);
    rec.t.title = (char *) (*S(m->title) ? m->title
			    : *S(m->subject) ? m->subject : "(no subject)");
    rec.t.queue = (char *) S(m->queue);
    rec.t.state = (char *) "new";
    rec.t.priority = 3;
    rec.t.type = (char *) S(m->default_type);
    rec.t.customer = d->who;
    rec.t.created = rec.t.changed = m->received;
    rec.t.n_articles_total = 1;
    (void) store_sla_update(d->conf, &rec.t, STORE_SLA_CREATED, 0, m->received);
    if (prev)
	note = mem_printf("follow-up of closed ticket %s", prev);
    status = add_history(d, &rec, "created", 0, note);
    mem_free(note);
    if (status == STORE_OK)
	status = write_article(d, rec.t.number, 1);
    if (status == STORE_OK)
	status = store_index_apply(d->b, d->id, 0, &rec.t);
    if (status == STORE_OK)
	status = put_ticket(d, &rec);
    mem_free(rec.t.sla);			/* the only string rec owns */
    if (status != STORE_OK)
	return (status);
    d->b->new_tickets += 1;
    d->res->outcome = STORE_OUTCOME_NEW_TICKET;
    memcpy(d->res->number, rec.t.number, sizeof(d->res->number));
    d->res->article = 1;
    return (STORE_OK);
}

/* follow_up - add an article to rec, with the state change new_state */

static int follow_up(struct deliver *d, struct store_ticket_rec *rec,
		             const char *new_state)
{
    struct store_ticket old = rec->t;
    char    index[16];
    char   *old_state = rec->t.state;
    uint32_t n = rec->t.n_articles_total + 1;
    int     status;

    snprintf(index, sizeof(index), "%u", (unsigned) n);
    rec->t.n_articles_total = n;
    rec->t.changed = d->msg->received;
    status = add_history(d, rec, "article", 0, index);
    if (status == STORE_OK && new_state) {
	status = add_history(d, rec, "state", old_state, new_state);
	rec->t.state = (char *) new_state;
	store_field_touch(&rec->t, STORE_FIELD_STATE, d->who);
	if (status == STORE_OK)
	    status = store_index_apply(d->b, d->id, &old, &rec->t);
	if (status == STORE_OK)
	    (void) store_sla_update(d->conf, &rec->t, STORE_SLA_STATE,
				    old_state, d->msg->received);
    }
    if (status == STORE_OK && !d->msg->automatic)
	(void) store_sla_update(d->conf, &rec->t, STORE_SLA_CUSTOMER_MAIL, 0,
				d->msg->received);
    if (status == STORE_OK)
	status = write_article(d, rec->t.number, n);
    if (status == STORE_OK)
	status = put_ticket(d, rec);
    rec->t.state = old_state;			/* owned by rec: freed later */
    if (status != STORE_OK)
	return (status);
    d->res->outcome = STORE_OUTCOME_FOLLOW_UP;
    memcpy(d->res->number, rec->t.number, sizeof(d->res->number));
    d->res->article = n;
    return (STORE_OK);
}

/* closed_mode - follow_up_closed of the ticket's queue */

static enum conf_follow_up_closed closed_mode(struct deliver *d,
					              const char *queue)
{
    const struct conf_queue *q;

    if (d->conf == 0 || (q = conf_queue_find(d->conf, queue)) == 0)
	return (CONF_FOLLOW_UP_REOPEN);
    return (q->follow_up_closed);
}

/* thread_into - decide what a follow-up to rec does, and do it */

static int thread_into(struct deliver *d, struct store_ticket_rec *rec)
{
    const char *state = rec->t.state;

    if (d->msg->automatic)
	return (follow_up(d, rec, 0));
    if (strncmp(state, "pending", 7) == 0)
	return (follow_up(d, rec, "open"));
    if (strncmp(state, "closed", 6) != 0)
	return (follow_up(d, rec, 0));
    switch (closed_mode(d, rec->t.queue)) {
    case CONF_FOLLOW_UP_REJECT:
	d->res->outcome = STORE_OUTCOME_REJECTED;
	snprintf(d->res->reason, sizeof(d->res->reason),
		 "5.7.1 Ticket %s is closed; write a new mail without the "
		 "ticket number to open a new request", rec->t.number);
	return (STORE_OK);
    case CONF_FOLLOW_UP_NEW:
	return (new_ticket(d, rec->t.number));
    case CONF_FOLLOW_UP_REOPEN:
    default:
	return (follow_up(d, rec, "open"));
    }
}

/* deliver - the steps, in the batch transaction */

static int deliver(struct deliver *d)
{
    struct store_ticket_rec rec;
    int     status;

    if ((status = check_dedup(d)) != STORE_NOTFOUND)
	return (status);
    status = find_ticket(d, &rec);
    if (status == STORE_NOTFOUND)
	return (new_ticket(d, 0));
    if (status != STORE_OK)
	return (status);
    status = thread_into(d, &rec);
    store_ticket_fields_free(&rec.t);
    return (status);
}

/* store_deliver - apply one message inside the batch */

int     store_deliver(struct store_batch *b, const struct conf *conf,
		              const struct store_message *msg,
		              struct store_result *result_r)
{
    struct store_result res;
    struct deliver d;
    const char *who;
    int     status;

    /* result_r is written last: msg may point into it (ticket_ref). */
    memset(&res, 0, sizeof(res));
    if (b == 0 || msg == 0) {
	*result_r = res;
	return (STORE_PERM);
    }
    if (b->failed) {
	*result_r = res;
	return (b->failed_status);
    }
    memset(&d, 0, sizeof(d));
    d.b = b;
    d.s = b->store;
    d.txn = b->txn;
    d.conf = conf;
    d.msg = msg;
    d.id = msg->log_id ? msg->log_id : "NOID";
    d.res = &res;
    who = *S(msg->from) ? msg->from : S(msg->sender);
    d.who = str_lower(mem_strdup(who));
    b->wrote = 0;
    status = deliver(&d);
    mem_free(d.who);
    if (status == STORE_OK) {
	b->n_messages += 1;
	*result_r = res;
	return (STORE_OK);
    }
    memset(&res, 0, sizeof(res));
    *result_r = res;
    return (store_batch_settle(b, status));
}
