/*++
/* NAME
/*	store_codec 3
/* SUMMARY
/*	record encoding and key building for the store
/* SYNOPSIS
/*	#include "store_private.h"
/*
/*	void	store_codec_ticket_encode(out, rec)
/*	int	store_codec_ticket_decode(data, len, number, rec)
/*	void	store_codec_article_encode(out, article)
/*	int	store_codec_article_decode(data, len, index, article)
/*	void	store_codec_history_encode(out, history)
/*	int	store_codec_history_decode(data, len, history)
/*	void	store_codec_outbox_encode(out, item)
/*	int	store_codec_outbox_decode(data, len, id, item)
/*
/*	void	store_ticket_fields_free(ticket)
/*	void	store_article_fields_free(article)
/*	void	store_history_fields_free(history)
/*	void	store_outbox_item_fields_free(item)
/*
/*	size_t	store_key_item(out, out_len, number, item)
/* DESCRIPTION
/*	Records are a small length-prefixed field list: a format version
/*	byte (STORE_REC_VERSION), a kind byte ('T', 'A', 'H', 'O'), then the
/*	fields in a fixed order. Integers are big-endian; a string is a
/*	be32 length and its bytes, where length 0xffffffff means NULL.
/*	Ticket records have their own version (STORE_REC_TICKET_VERSION):
/*	version 2 appends the SLA fields; version 3 appends the fields
/*	of commands by mail: the revision (be32), the watchers (be32
/*	count, then strings), the per-field changes (be32 count, then
/*	for each field in enum store_field order its revision and its
/*	actor, a string or NULL; a reader drops fields it does not know
/*	and leaves missing ones zero) and owner_seen (be32). Version 1
/*	records (schema 2) and version 2 records still decode, with no
/*	deadlines (1) and revision 0, no watchers, no changes (1, 2).
/*
/*	The encoders replace the content of out (a reused buffer, so the
/*	hot path allocates nothing). The decoders fill a zeroed struct
/*	with newly allocated strings (mem_free(), or the *_fields_free()
/*	functions, which free every string and NULL it, but not the
/*	struct). The ticket number, the article index and the outbox id
/*	come from the database key, not from the record. An outbox
/*	record has the state at byte STORE_OUTBOX_STATE_OFFSET, so that
/*	a count can read 3 bytes of each; its data is stored apart.
/*
/*	store_key_item() writes number NUL be32(item) into out, the key
/*	of articles, raw messages and history records, so that a prefix
/*	scan on number NUL visits one ticket's items in numeric order.
/* DIAGNOSTICS
/*	The decoders return STORE_OK, or STORE_PERM for a record that is
/*	truncated, too long, of another version or kind, or has NULL where
/*	a string is required; they never read past len and free what they
/*	allocated before failing. store_key_item() returns 0 when out is
/*	too small or the number is too long.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <string.h>

#include "store_private.h"

#define NIL_LEN	0xffffffffU

/* Integers, big-endian. */

void    store_be32_put(unsigned char *out, uint32_t v)
{
    out[0] = v >> 24;
    out[1] = v >> 16;
    out[2] = v >> 8;
    out[3] = v;
}

uint32_t store_be32_get(const unsigned char *in)
{
    return ((uint32_t) in[0] << 24 | (uint32_t) in[1] << 16
	    | (uint32_t) in[2] << 8 | in[3]);
}

void    store_be64_put(unsigned char *out, uint64_t v)
{
    store_be32_put(out, v >> 32);
    store_be32_put(out + 4, (uint32_t) v);
}

uint64_t store_be64_get(const unsigned char *in)
{
    return ((uint64_t) store_be32_get(in) << 32 | store_be32_get(in + 4));
}

/* store_key_item - number NUL be32(item) */

size_t  store_key_item(unsigned char *out, size_t out_len,
		               const char *number, uint32_t item)
{
    size_t  n = strlen(number);

    if (n + 5 > out_len)
	return (0);
    memcpy(out, number, n);
    out[n] = 0;
    store_be32_put(out + n + 1, item);
    return (n + 5);
}

/*
 * Encoding.
 */

/* put_u8 - append one byte */

static void put_u8(struct buf *b, unsigned v)
{
    (void) buf_append_char(b, v & 0xff);
}

/* put_u32 - append a be32 */

static void put_u32(struct buf *b, uint32_t v)
{
    unsigned char tmp[4];

    store_be32_put(tmp, v);
    (void) buf_append(b, tmp, 4);
}

/* put_u64 - append a be64 */

static void put_u64(struct buf *b, uint64_t v)
{
    unsigned char tmp[8];

    store_be64_put(tmp, v);
    (void) buf_append(b, tmp, 8);
}

/* put_str - append a length-prefixed string, NULL allowed */

static void put_str(struct buf *b, const char *s)
{
    size_t  n;

    if (s == 0) {
	put_u32(b, NIL_LEN);
	return;
    }
    n = strlen(s);
    if (n >= NIL_LEN)				/* cannot happen: 4 GB string */
	n = NIL_LEN - 1;
    put_u32(b, (uint32_t) n);
    (void) buf_append(b, s, n);
}

/* start - reset the buffer and write the header */

static void start(struct buf *b, int kind)
{
    buf_reset(b);
    put_u8(b, STORE_REC_VERSION);
    put_u8(b, kind);
}

/* store_codec_ticket_encode - ticket record */

void    store_codec_ticket_encode(struct buf *b, const struct store_ticket_rec *rec)
{
    const struct store_ticket *t = &rec->t;
    size_t  i;

    buf_reset(b);
    put_u8(b, STORE_REC_TICKET_VERSION);
    put_u8(b, STORE_REC_TICKET);
    put_str(b, t->title);
    put_str(b, t->queue);
    put_str(b, t->state);
    put_u8(b, (unsigned) t->priority);
    put_str(b, t->type);
    put_u8(b, t->locked != 0);
    put_str(b, t->owner);
    put_str(b, t->customer);
    put_u64(b, (uint64_t) (int64_t) t->created);
    put_u64(b, (uint64_t) (int64_t) t->changed);
    put_u8(b, t->escalated != 0);
    put_str(b, t->merged_into);
    put_u32(b, t->n_articles_total);
    put_u32(b, rec->n_history);
    /* Version 2: the SLA fields. */
    put_str(b, t->sla);
    put_u64(b, (uint64_t) (int64_t) t->first_response_due);
    put_u64(b, (uint64_t) (int64_t) t->first_response_warn);
    put_u64(b, (uint64_t) (int64_t) t->first_response_at);
    put_u64(b, (uint64_t) (int64_t) t->update_due);
    put_u64(b, (uint64_t) (int64_t) t->update_warn);
    put_u64(b, (uint64_t) (int64_t) t->solution_due);
    put_u64(b, (uint64_t) (int64_t) t->solution_warn);
    put_u64(b, (uint64_t) (int64_t) t->sla_paused);
    put_u32(b, t->sla_notified);
    put_u64(b, (uint64_t) (int64_t) t->pending_until);
    /* Version 3: commands by mail. */
    put_u32(b, t->revision);
    put_u32(b, (uint32_t) t->n_watchers);
    for (i = 0; i < t->n_watchers; i++)
	put_str(b, t->watchers[i] ? t->watchers[i] : "");
    put_u32(b, STORE_FIELD_COUNT);
    for (i = 0; i < STORE_FIELD_COUNT; i++) {
	put_u32(b, t->changes[i].revision);
	put_str(b, t->changes[i].who);
    }
    put_u32(b, t->owner_seen);
}

/* store_codec_article_encode - article record, without raw bytes */

void    store_codec_article_encode(struct buf *b, const struct store_article *a)
{
    size_t  i;

    start(b, STORE_REC_ARTICLE);
    put_u8(b, (unsigned) a->sender_type);
    put_u8(b, (unsigned) a->channel);
    put_u8(b, a->visible_to_customer != 0);
    put_u8(b, a->seen != 0);
    put_str(b, a->from);
    put_str(b, a->to);
    put_str(b, a->cc);
    put_str(b, a->subject);
    put_str(b, a->message_id);
    put_u64(b, (uint64_t) (int64_t) a->received);
    put_str(b, a->body);
    put_u32(b, (uint32_t) a->n_attachments);
    for (i = 0; i < a->n_attachments; i++) {
	put_str(b, a->attachments[i].name);
	put_str(b, a->attachments[i].content_type);
	put_u64(b, a->attachments[i].size);
    }
    put_u64(b, a->raw_len);
}

/* store_codec_outbox_encode - outbox record, without the data */

void    store_codec_outbox_encode(struct buf *b, const struct store_outbox_item *it)
{
    size_t  i;

    start(b, STORE_REC_OUTBOX);
    put_u8(b, (unsigned) it->state);		/* STORE_OUTBOX_STATE_OFFSET */
    put_u32(b, it->attempts);
    put_u64(b, (uint64_t) (int64_t) it->created);
    put_u64(b, (uint64_t) (int64_t) it->next_attempt);
    put_u64(b, (uint64_t) (int64_t) it->last_attempt);
    put_u64(b, (uint64_t) it->len);
    put_str(b, it->number);
    put_str(b, it->kind);
    put_str(b, it->envelope_from);
    put_str(b, it->message_id);
    put_str(b, it->last_error);
    put_u32(b, (uint32_t) it->n_recipients);
    for (i = 0; i < it->n_recipients; i++)
	put_str(b, it->recipients[i]);
}

/* store_codec_history_encode - history record */

void    store_codec_history_encode(struct buf *b, const struct store_history *h)
{
    start(b, STORE_REC_HISTORY);
    put_u64(b, (uint64_t) (int64_t) h->at);
    put_str(b, h->who);
    put_str(b, h->what);
    put_str(b, h->old_value);
    put_str(b, h->new_value);
}

/*
 * Decoding. A cursor that turns "bad" on the first short read and then
 * returns zeros, so each decoder checks once at the end.
 */
struct dec {
    const unsigned char *p;
    size_t  left;
    int     bad;
};

/* need - are n more bytes there? */

static int need(struct dec *d, size_t n)
{
    if (d->bad || d->left < n) {
	d->bad = 1;
	return (0);
    }
    return (1);
}

/* get_u8 - one byte */

static unsigned get_u8(struct dec *d)
{
    unsigned v;

    if (!need(d, 1))
	return (0);
    v = d->p[0];
    d->p += 1;
    d->left -= 1;
    return (v);
}

/* get_u32 - a be32 */

static uint32_t get_u32(struct dec *d)
{
    uint32_t v;

    if (!need(d, 4))
	return (0);
    v = store_be32_get(d->p);
    d->p += 4;
    d->left -= 4;
    return (v);
}

/* get_u64 - a be64 */

static uint64_t get_u64(struct dec *d)
{
    uint64_t v;

    if (!need(d, 8))
	return (0);
    v = store_be64_get(d->p);
    d->p += 8;
    d->left -= 8;
    return (v);
}

/* get_str - a string; NULL for a NULL field, or on error */

static char *get_str(struct dec *d, int nullable)
{
    uint32_t n = get_u32(d);
    char   *s;

    if (d->bad)
	return (0);
    if (n == NIL_LEN) {
	if (!nullable)
	    d->bad = 1;
	return (0);
    }
    if (!need(d, n))
	return (0);
    s = mem_alloc((size_t) n + 1);
    memcpy(s, d->p, n);
    s[n] = 0;
    d->p += n;
    d->left -= n;
    return (s);
}

/* begin - check version and kind */

static void begin(struct dec *d, const void *data, size_t len, int kind)
{
    d->p = data;
    d->left = data ? len : 0;
    d->bad = 0;
    if (get_u8(d) != STORE_REC_VERSION)
	d->bad = 1;
    if (get_u8(d) != (unsigned) kind)
	d->bad = 1;
}

/* finish - the whole record must have been read without error */

static int finish(struct dec *d)
{
    return ((d->bad || d->left != 0) ? STORE_PERM : STORE_OK);
}

/* decode_v3 - the fields of version 3: revision, watchers, changes,
   owner_seen. A field count other than STORE_FIELD_COUNT is accepted:
   unknown fields are read and dropped, missing ones stay zero. */

static void decode_v3(struct dec *d, struct store_ticket *t)
{
    uint32_t i, n;
    uint32_t rev;
    char   *who;

    t->revision = get_u32(d);
    n = get_u32(d);
    /* Each watcher takes at least 4 bytes: refuse absurd counts. */
    if (!d->bad && n > d->left / 4)
	d->bad = 1;
    if (!d->bad && n > 0) {
	t->watchers = mem_zalloc(n * sizeof(*t->watchers));
	t->n_watchers = n;
	for (i = 0; i < n && !d->bad; i++)
	    t->watchers[i] = get_str(d, 0);
    }
    n = get_u32(d);
    if (!d->bad && n > d->left / 8)
	d->bad = 1;
    for (i = 0; i < n && !d->bad; i++) {
	rev = get_u32(d);
	who = get_str(d, 1);
	if (i < STORE_FIELD_COUNT) {
	    t->changes[i].revision = rev;
	    t->changes[i].who = who;
	} else {
	    mem_free(who);
	}
    }
    t->owner_seen = get_u32(d);
}

/* store_codec_ticket_decode - ticket record */

int     store_codec_ticket_decode(const void *data, size_t len, const char *number,
				          struct store_ticket_rec *rec)
{
    struct store_ticket *t = &rec->t;
    struct dec d;
    size_t  n = strlen(number);
    unsigned version;

    memset(rec, 0, sizeof(*rec));
    if (n >= sizeof(t->number))
	return (STORE_PERM);
    memcpy(t->number, number, n + 1);
    d.p = data;
    d.left = data ? len : 0;
    d.bad = 0;
    version = get_u8(&d);
    if (version < 1 || version > STORE_REC_TICKET_VERSION
	|| get_u8(&d) != STORE_REC_TICKET)
	d.bad = 1;
    t->title = get_str(&d, 0);
    t->queue = get_str(&d, 0);
    t->state = get_str(&d, 0);
    t->priority = (int) get_u8(&d);
    t->type = get_str(&d, 0);
    t->locked = (int) get_u8(&d);
    t->owner = get_str(&d, 1);
    t->customer = get_str(&d, 0);
    t->created = (time_t) (int64_t) get_u64(&d);
    t->changed = (time_t) (int64_t) get_u64(&d);
    t->escalated = (int) get_u8(&d);
    t->merged_into = get_str(&d, 1);
    t->n_articles_total = get_u32(&d);
    rec->n_history = get_u32(&d);
    if (version >= 2) {
	t->sla = get_str(&d, 1);
	t->first_response_due = (time_t) (int64_t) get_u64(&d);
	t->first_response_warn = (time_t) (int64_t) get_u64(&d);
	t->first_response_at = (time_t) (int64_t) get_u64(&d);
	t->update_due = (time_t) (int64_t) get_u64(&d);
	t->update_warn = (time_t) (int64_t) get_u64(&d);
	t->solution_due = (time_t) (int64_t) get_u64(&d);
	t->solution_warn = (time_t) (int64_t) get_u64(&d);
	t->sla_paused = (time_t) (int64_t) get_u64(&d);
	t->sla_notified = get_u32(&d);
	t->pending_until = (time_t) (int64_t) get_u64(&d);
    }
    if (version >= 3)
	decode_v3(&d, t);
    if (finish(&d) != STORE_OK) {
	store_ticket_fields_free(t);
	return (STORE_PERM);
    }
    rec->indexed = store_sla_next(t);		/* the index key as written */
    return (STORE_OK);
}

/* store_codec_article_decode - article record */

int     store_codec_article_decode(const void *data, size_t len, uint32_t index,
				           struct store_article *a)
{
    struct dec d;
    uint32_t i, n;
    unsigned v;

    memset(a, 0, sizeof(*a));
    a->index = index;
    begin(&d, data, len, STORE_REC_ARTICLE);
    v = get_u8(&d);
    if (v > STORE_SENDER_SYSTEM)
	d.bad = 1;
    a->sender_type = (enum store_sender_type) v;
    v = get_u8(&d);
    if (v > STORE_CHANNEL_NOTE)
	d.bad = 1;
    a->channel = (enum store_channel) v;
    a->visible_to_customer = (int) get_u8(&d);
    a->seen = (int) get_u8(&d);
    a->from = get_str(&d, 0);
    a->to = get_str(&d, 0);
    a->cc = get_str(&d, 0);
    a->subject = get_str(&d, 0);
    a->message_id = get_str(&d, 0);
    a->received = (time_t) (int64_t) get_u64(&d);
    a->body = get_str(&d, 0);
    n = get_u32(&d);
    /* Each attachment takes at least 16 bytes: refuse absurd counts. */
    if (!d.bad && n > d.left / 16)
	d.bad = 1;
    if (!d.bad && n > 0) {
	a->attachments = mem_zalloc(n * sizeof(*a->attachments));
	a->n_attachments = n;
	for (i = 0; i < n && !d.bad; i++) {
	    a->attachments[i].name = get_str(&d, 0);
	    a->attachments[i].content_type = get_str(&d, 0);
	    a->attachments[i].size = get_u64(&d);
	}
    }
    a->raw_len = get_u64(&d);
    if (finish(&d) != STORE_OK) {
	store_article_fields_free(a);
	return (STORE_PERM);
    }
    return (STORE_OK);
}

/* store_codec_history_decode - history record */

int     store_codec_history_decode(const void *data, size_t len,
				           struct store_history *h)
{
    struct dec d;

    memset(h, 0, sizeof(*h));
    begin(&d, data, len, STORE_REC_HISTORY);
    h->at = (time_t) (int64_t) get_u64(&d);
    h->who = get_str(&d, 0);
    h->what = get_str(&d, 0);
    h->old_value = get_str(&d, 1);
    h->new_value = get_str(&d, 1);
    if (finish(&d) != STORE_OK) {
	store_history_fields_free(h);
	return (STORE_PERM);
    }
    return (STORE_OK);
}

/* store_codec_outbox_decode - outbox record; data stays NULL */

int     store_codec_outbox_decode(const void *data, size_t len, uint64_t id,
				          struct store_outbox_item *it)
{
    struct dec d;
    uint32_t i, n;
    unsigned v;

    memset(it, 0, sizeof(*it));
    it->id = id;
    begin(&d, data, len, STORE_REC_OUTBOX);
    v = get_u8(&d);
    if (v > STORE_OUTBOX_FAILED)
	d.bad = 1;
    it->state = (enum store_outbox_state) v;
    it->attempts = get_u32(&d);
    it->created = (time_t) (int64_t) get_u64(&d);
    it->next_attempt = (time_t) (int64_t) get_u64(&d);
    it->last_attempt = (time_t) (int64_t) get_u64(&d);
    it->len = (size_t) get_u64(&d);
    it->number = get_str(&d, 0);
    it->kind = get_str(&d, 0);
    it->envelope_from = get_str(&d, 0);
    it->message_id = get_str(&d, 0);
    it->last_error = get_str(&d, 0);
    n = get_u32(&d);
    /* Each recipient takes at least 4 bytes: refuse absurd counts. */
    if (!d.bad && n > d.left / 4)
	d.bad = 1;
    if (!d.bad && n > 0) {
	it->recipients = mem_zalloc(n * sizeof(*it->recipients));
	it->n_recipients = n;
	for (i = 0; i < n && !d.bad; i++)
	    it->recipients[i] = get_str(&d, 0);
    }
    if (finish(&d) != STORE_OK) {
	store_outbox_item_fields_free(it);
	return (STORE_PERM);
    }
    return (STORE_OK);
}

/*
 * Freeing. Each frees every string and NULLs it, not the struct.
 */

#define FREE_NULL(p) do { mem_free(p); (p) = 0; } while (0)

/* store_ticket_fields_free - strings, articles and history of a ticket */

void    store_ticket_fields_free(struct store_ticket *t)
{
    size_t  i;

    FREE_NULL(t->title);
    FREE_NULL(t->queue);
    FREE_NULL(t->state);
    FREE_NULL(t->type);
    FREE_NULL(t->owner);
    FREE_NULL(t->customer);
    FREE_NULL(t->merged_into);
    FREE_NULL(t->sla);
    for (i = 0; i < t->n_watchers; i++)
	FREE_NULL(t->watchers[i]);
    FREE_NULL(t->watchers);
    t->n_watchers = 0;
    for (i = 0; i < STORE_FIELD_COUNT; i++)
	FREE_NULL(t->changes[i].who);
    for (i = 0; i < t->n_articles; i++)
	store_article_fields_free(t->articles + i);
    FREE_NULL(t->articles);
    t->n_articles = 0;
    for (i = 0; i < t->n_history; i++)
	store_history_fields_free(t->history + i);
    FREE_NULL(t->history);
    t->n_history = 0;
}

/* store_article_fields_free - strings and attachments of an article */

void    store_article_fields_free(struct store_article *a)
{
    size_t  i;

    FREE_NULL(a->from);
    FREE_NULL(a->to);
    FREE_NULL(a->cc);
    FREE_NULL(a->subject);
    FREE_NULL(a->message_id);
    FREE_NULL(a->body);
    for (i = 0; i < a->n_attachments; i++) {
	FREE_NULL(a->attachments[i].name);
	FREE_NULL(a->attachments[i].content_type);
    }
    FREE_NULL(a->attachments);
    a->n_attachments = 0;
}

/* store_history_fields_free - strings of a history record */

void    store_history_fields_free(struct store_history *h)
{
    FREE_NULL(h->who);
    FREE_NULL(h->what);
    FREE_NULL(h->old_value);
    FREE_NULL(h->new_value);
}

/* store_outbox_item_fields_free - strings, recipients and data of an item */

void    store_outbox_item_fields_free(struct store_outbox_item *it)
{
    size_t  i;

    FREE_NULL(it->number);
    FREE_NULL(it->kind);
    FREE_NULL(it->envelope_from);
    for (i = 0; i < it->n_recipients; i++)
	FREE_NULL(it->recipients[i]);
    FREE_NULL(it->recipients);
    it->n_recipients = 0;
    FREE_NULL(it->message_id);
    FREE_NULL(it->data);
    FREE_NULL(it->last_error);
}
