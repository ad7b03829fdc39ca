/*++
/* NAME
/*	store_article 3
/* SUMMARY
/*	articles written by postdesk, batch reads, acknowledgement limits
/* SYNOPSIS
/*	#include <store.h>
/*
/*	int	store_article_add(batch, log_id, number, input, index_r)
/*
/*	int	store_batch_ticket_get(batch, number, ticket_r)
/*
/*	int	store_ack_charge(batch, addr, now, limit, allowed_r)
/* INTERNAL INTERFACES
/*	#include "store_private.h"
/*
/*	int	store_ack_prune(store, now)
/* DESCRIPTION
/*	These run inside a batch (see store_deliver(3)) and use its
/*	transaction, so they see what earlier calls of the same batch
/*	wrote, and what they write commits or aborts with the batch.
/*
/*	store_article_add() adds an article to an existing ticket exactly
/*	as a follow-up of store_deliver() does, but from input and with
/*	no state change: the next article index, the article record
/*	(sender type, channel, visibility and seen flag from input, no
/*	attachments, received = input->at), the raw bytes when input->raw
/*	is not NULL (otherwise no raw record: store_raw_get() says
/*	STORE_NOTFOUND for it), the Message-ID index entry (first writer
/*	wins), a history record "article" (new_value the index, who =
/*	input->who, "unknown" when empty), the ticket's `changed` time
/*	(input->at) and the article counter. No deduplication key is
/*	written. The index is stored in *index_r.
/*
/*	store_batch_ticket_get() reads a ticket and its articles (no raw
/*	bytes, no history) in the batch transaction; the ticket record
/*	is read with DB_RMW, since the caller usually writes it next.
/*	The caller frees the result with store_ticket_free().
/*
/*	store_ack_charge() keeps, per lowercase address, the times of the
/*	acknowledgements sent in the last 24 hours (acks.db). It drops
/*	the times at or before now - 24 h, and when fewer than limit
/*	remain it records now and sets *allowed_r = 1; otherwise it sets
/*	*allowed_r = 0 and writes nothing. A limit of 0 refuses every
/*	acknowledgement. Times after now (a clock stepped back) still
/*	count. The stored list never has more than max(limit) entries.
/*
/*	store_ack_prune() deletes the addresses whose every time is at or
/*	before now - 24 h (they would be allowed anyway), 256 per
/*	transaction, each checked again under a write lock; so acks.db
/*	holds only the addresses acknowledged in the last day.
/*	store_checkpoint() calls it once an hour.
/* DIAGNOSTICS
/*	STORE_OK; STORE_NOTFOUND (no such ticket: nothing written, the
/*	batch stays usable); STORE_PERM for bad input (NULL arguments, an
/*	unknown sender type or channel, an empty address) or a corrupt
/*	record; STORE_RETRY on a deadlock and STORE_TEMP for any other
/*	database error (logged with the log id, or NOID). As with
/*	store_deliver(), after STORE_RETRY, STORE_TEMP or a failure after
/*	a write, the batch is poisoned: its commit aborts it and returns
/*	that status. On a poisoned batch every call returns its status.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <stdio.h>
#include <string.h>

#include "store_private.h"

#define S(s)	((s) ? (s) : "")

#define ACK_WINDOW	(24 * 60 * 60)
#define ACK_HEADER	(2 + 4)		/* version, kind, be32 count */

/* article_write - the article record and, when given, the raw bytes */

static int article_write(struct store_batch *b, const char *id,
			         const char *number, uint32_t index,
			         const struct store_article_input *in)
{
    struct store_article a;
    unsigned char key[STORE_KEY_ITEM_MAX];
    size_t  klen;
    int     status;

    memset(&a, 0, sizeof(a));
    a.index = index;
    a.sender_type = in->sender_type;
    a.channel = in->channel;
    a.visible_to_customer = in->visible_to_customer != 0;
    a.seen = in->seen != 0;
    a.from = (char *) S(in->from);
    a.to = (char *) S(in->to);
    a.cc = (char *) S(in->cc);
    a.subject = (char *) S(in->subject);
    a.message_id = (char *) S(in->message_id);
    a.received = in->at;
    a.body = (char *) S(in->body);
    a.raw_len = in->raw ? in->raw_len : 0;
    store_codec_article_encode(b->enc, &a);
    klen = store_key_item(key, sizeof(key), number, index);
    status = store_batch_put(b, id, STORE_DB_ARTICLES, key, klen,
			     buf_data(b->enc), buf_len(b->enc), 0,
			     "put article");
    if (status == STORE_OK && in->raw)
	status = store_batch_put(b, id, STORE_DB_RAW, key, klen, in->raw,
				 in->raw_len, 0, "put raw");
    return (status);
}

/* article_add - the steps, in the batch transaction */

static int article_add(struct store_batch *b, const char *id,
		               const char *number,
		               const struct store_article_input *in,
		               uint32_t *index_r)
{
    struct store_ticket_rec rec;
    char    index[16];
    uint32_t n;
    int     status;

    if ((status = store_batch_ticket_load(b, id, number, &rec)) != STORE_OK)
	return (status);
    n = rec.t.n_articles_total + 1;
    snprintf(index, sizeof(index), "%u", (unsigned) n);
    rec.t.n_articles_total = n;
    rec.t.changed = in->at;
    status = store_batch_history(b, id, &rec, in->at, in->who, "article",
				 0, index);
    if (status == STORE_OK)
	status = article_write(b, id, rec.t.number, n, in);
    if (status == STORE_OK)
	status = store_batch_msgid_put(b, id, in->message_id, rec.t.number);
    if (status == STORE_OK && in->sender_type == STORE_SENDER_AGENT
	&& in->visible_to_customer)
	status = store_sla_update(0, &rec.t, STORE_SLA_AGENT_REPLY, 0, in->at);
    if (status == STORE_OK)
	status = store_batch_ticket_put(b, id, &rec);
    store_ticket_fields_free(&rec.t);
    if (status != STORE_OK)
	return (status);
    b->new_articles += 1;
    *index_r = n;
    return (STORE_OK);
}

/* store_article_add - an article written by postdesk, in the batch */

int     store_article_add(struct store_batch *b, const char *log_id,
			          const char *number,
			          const struct store_article_input *input,
			          uint32_t *index_r)
{
    const char *id = log_id ? log_id : "NOID";
    uint32_t index = 0;
    int     status;

    if (index_r)
	*index_r = 0;
    if (b == 0 || input == 0 || number == 0)
	return (STORE_PERM);
    if (b->failed)
	return (b->failed_status);
    if ((unsigned) input->sender_type > STORE_SENDER_SYSTEM
	|| (unsigned) input->channel > STORE_CHANNEL_NOTE) {
	log_error("%s: store: article for %s: bad sender type or channel",
		  id, number);
	return (STORE_PERM);
    }
    b->wrote = 0;
    status = article_add(b, id, number, input, &index);
    if (status == STORE_OK && index_r)
	*index_r = index;
    return (store_batch_settle(b, status));
}

/* store_batch_ticket_get - the ticket as the batch sees it */

int     store_batch_ticket_get(struct store_batch *b, const char *number,
			               struct store_ticket **ticket_r)
{
    int     status;

    *ticket_r = 0;
    if (b == 0)
	return (STORE_PERM);
    if (b->failed)
	return (b->failed_status);
    b->wrote = 0;
    status = store_read_ticket_txn(b->store, b->txn, number, 0, DB_RMW,
				   ticket_r);
    return (store_batch_settle(b, status));
}

/* store_batch_ticket_get_articles - the ticket with some articles only */

int     store_batch_ticket_get_articles(struct store_batch *b, const char *number,
					        const uint32_t *indexes, size_t n,
					        struct store_ticket **ticket_r)
{
    int     status;

    *ticket_r = 0;
    if (b == 0)
	return (STORE_PERM);
    if (b->failed)
	return (b->failed_status);
    b->wrote = 0;
    status = store_read_ticket_some_txn(b->store, b->txn, number, indexes, n,
					DB_RMW, ticket_r);
    return (store_batch_settle(b, status));
}

/*
 * Acknowledgement times: version, kind 'K', be32 count, be64 times.
 */

/* ack_load - the times recorded for the key in b->key, or none */

static int ack_load(struct store_batch *b, int64_t **times_r, size_t *n_r)
{
    const unsigned char *p;
    size_t  len, n, i;
    int64_t *times;
    int     ret;

    *times_r = 0;
    *n_r = 0;
    ret = store_get(b->store->db[STORE_DB_ACKS], b->txn, buf_data(b->key),
		    buf_len(b->key), &b->get, &len, DB_RMW);
    if (ret == DB_NOTFOUND)
	return (STORE_OK);
    if (ret != 0)
	return (store_bdb_status(b->store, "NOID", "get acks", ret));
    p = b->get.data;
    if (len < ACK_HEADER || p[0] != STORE_REC_VERSION || p[1] != STORE_REC_ACKS
	|| (n = store_be32_get(p + 2)) != (len - ACK_HEADER) / 8
	|| (len - ACK_HEADER) % 8 != 0) {
	log_warn("NOID: store: acks of %s: corrupt record, starting afresh",
		 buf_data(b->key));
	return (STORE_OK);
    }
    times = mem_alloc((n + 1) * sizeof(*times));
    for (i = 0; i < n; i++)
	times[i] = (int64_t) store_be64_get(p + ACK_HEADER + 8 * i);
    *times_r = times;
    *n_r = n;
    return (STORE_OK);
}

/* ack_store - write the times for the key in b->key */

static int ack_store(struct store_batch *b, const int64_t *times, size_t n)
{
    unsigned char tmp[8];
    size_t  i;

    buf_reset(b->enc);
    (void) buf_append_char(b->enc, STORE_REC_VERSION);
    (void) buf_append_char(b->enc, STORE_REC_ACKS);
    store_be32_put(tmp, (uint32_t) n);
    (void) buf_append(b->enc, tmp, 4);
    for (i = 0; i < n; i++) {
	store_be64_put(tmp, (uint64_t) times[i]);
	(void) buf_append(b->enc, tmp, 8);
    }
    return (store_batch_put(b, "NOID", STORE_DB_ACKS, buf_data(b->key),
			    buf_len(b->key), buf_data(b->enc),
			    buf_len(b->enc), 0, "put acks"));
}

/* ack_charge - the steps, in the batch transaction */

static int ack_charge(struct store_batch *b, time_t now, unsigned limit,
		              int *allowed_r)
{
    int64_t *times = 0;
    size_t  n = 0, i, kept = 0;
    int     status;

    if ((status = ack_load(b, &times, &n)) != STORE_OK)
	return (status);
    for (i = 0; i < n; i++)			/* keep the last 24 hours */
	if (times[i] > (int64_t) now - ACK_WINDOW)
	    times[kept++] = times[i];
    if (kept >= limit) {
	*allowed_r = 0;
	mem_free(times);
	return (STORE_OK);
    }
    if (times == 0)
	times = mem_alloc(sizeof(*times));
    times[kept++] = (int64_t) now;
    status = ack_store(b, times, kept);
    mem_free(times);
    if (status == STORE_OK)
	*allowed_r = 1;
    return (status);
}

/* store_ack_charge - the acknowledgement rate limit, in the batch */

int     store_ack_charge(struct store_batch *b, const char *addr, time_t now,
			         unsigned limit, int *allowed_r)
{
    int     allowed = 0, status;

    *allowed_r = 0;
    if (b == 0 || addr == 0 || *addr == 0)
	return (STORE_PERM);
    if (b->failed)
	return (b->failed_status);
    b->wrote = 0;
    buf_reset(b->key);
    (void) buf_append_str(b->key, addr);
    str_lower(buf_data_mut(b->key));
    status = ack_charge(b, now, limit, &allowed);
    if (status == STORE_OK)
	*allowed_r = allowed;
    return (store_batch_settle(b, status));
}

/*
 * Pruning: addresses whose every time left the window are deleted, so
 * acks.db holds only the addresses acknowledged in the last 24 hours.
 */

/* ack_stale - are all times at or before now - 24 h? */

static int ack_stale(const unsigned char *p, size_t len, time_t now)
{
    size_t  i, n;

    if (len < ACK_HEADER || p[0] != STORE_REC_VERSION || p[1] != STORE_REC_ACKS
	|| (len - ACK_HEADER) % 8 != 0)
	return (1);				/* corrupt: no use keeping it */
    n = (len - ACK_HEADER) / 8;
    for (i = 0; i < n; i++)
	if ((int64_t) store_be64_get(p + ACK_HEADER + 8 * i)
	    > (int64_t) now - ACK_WINDOW)
	    return (0);
    return (1);
}

/* ack_collect - up to max stale addresses after *from (a key), into keys */

static int ack_collect(struct store *s, time_t now, struct buf *from,
		               char **keys, size_t max, size_t *n_r)
{
    DB     *db = s->db[STORE_DB_ACKS];
    struct store_scratch k = {0}, d = {0};
    size_t  klen = buf_len(from), dlen;
    uint32_t flags = klen ? DB_SET_RANGE : DB_FIRST;
    DB_TXN *txn;
    DBC    *dbc;
    int     ret = 0;

    *n_r = 0;
    if ((ret = s->env->txn_begin(s->env, NULL, &txn, DB_READ_COMMITTED)) != 0)
	return (ret);
    if ((ret = db->cursor(db, txn, &dbc, 0)) != 0) {
	(void) txn->abort(txn);
	return (ret);
    }
    if (klen) {
	k.data = mem_memdup(buf_data(from), klen);
	k.size = klen;
    }
    while (*n_r < max
	   && (ret = store_cursor_get(dbc, &k, &klen, &d, &dlen, flags)) == 0) {
	flags = DB_NEXT;
	buf_reset(from);
	(void) buf_append(from, k.data, klen);
	(void) buf_append_char(from, 0);	/* the next key after this one */
	if (ack_stale(d.data, dlen, now))
	    keys[(*n_r)++] = mem_strndup((char *) k.data, klen);
    }
    if (ret == DB_NOTFOUND) {
	buf_reset(from);
	ret = 0;
    }
    (void) dbc->close(dbc);
    (void) txn->abort(txn);
    store_scratch_free(&k);
    store_scratch_free(&d);
    return (ret);
}

/* ack_delete - delete the addresses that are still stale, one txn */

static int ack_delete(struct store *s, time_t now, char **keys, size_t n)
{
    struct store_batch *b;
    size_t  i, len;
    int     ret, st;

    if ((st = store_batch_begin(s, &b)) != STORE_OK)
	return (st);
    for (i = 0; i < n && st == STORE_OK; i++) {
	ret = store_get(s->db[STORE_DB_ACKS], b->txn, keys[i], strlen(keys[i]),
			&b->get, &len, DB_RMW);
	if (ret == DB_NOTFOUND)
	    continue;
	if (ret != 0)
	    st = store_bdb_status(s, "NOID", "get acks", ret);
	else if (ack_stale(b->get.data, len, now))
	    st = store_batch_del(b, "NOID", STORE_DB_ACKS, keys[i],
				 strlen(keys[i]), "del acks");
    }
    if (st != STORE_OK) {
	store_batch_abort(&b);
	return (st);
    }
    return (store_batch_finish(&b, 0));
}

/* store_ack_prune - forget the addresses not acknowledged for 24 hours */

int     store_ack_prune(struct store *s, time_t now)
{
    enum {CHUNK = 256, RETRIES = 5};
    struct buf *from = buf_create(64, 0);
    char   *keys[CHUNK];
    size_t  n, i;
    int     ret, try, st = STORE_OK;

    do {
	ret = ack_collect(s, now, from, keys, CHUNK, &n);
	if (ret != 0) {
	    st = store_bdb_status(s, "NOID", "acks prune scan", ret);
	    break;
	}
	for (try = 0; try < RETRIES; try++)
	    if ((st = ack_delete(s, now, keys, n)) != STORE_RETRY)
		break;
	for (i = 0; i < n; i++)
	    mem_free(keys[i]);
    } while (st == STORE_OK && buf_len(from) > 0);
    buf_destroy(&from);
    return (st == STORE_RETRY ? STORE_TEMP : st);
}
