#ifndef POSTDESK_STORE_PRIVATE_H
#define POSTDESK_STORE_PRIVATE_H

/*++
/* NAME
/*	store_private 3h
/* SUMMARY
/*	store module internals shared by store/*.c
/* SYNOPSIS
/*	#include "store_private.h"
/* DESCRIPTION
/*	The definitions of struct store and struct store_batch, the
/*	record codec, key builders, the BDB error mapping and the small
/*	helpers that several store files use. Nothing here is public:
/*	only store/*.c and the store unit test include it.
/*
/*	Databases (one file each in the environment directory):
/* .IP tickets.db
/*	number -> ticket record (STORE_REC_TICKET).
/* .IP articles.db
/*	number NUL be32(index) -> article record without raw bytes.
/* .IP raw.db
/*	number NUL be32(index) -> the raw message, byte for byte.
/* .IP history.db
/*	number NUL be32(seq) -> history record.
/* .IP msgid.db
/*	lowercase Message-ID -> number.
/* .IP dedup.db
/*	Message-ID NUL sha256 (or sha256 alone) -> be32(article) number;
/*	and "\001cmd" key (36 bytes) -> be64(at) number, the applied
/*	command mails (store_command_record()).
/* .IP idx_queue.db
/*	queue NUL state NUL number -> empty.
/* .IP idx_customer.db
/*	lowercase customer NUL number -> empty.
/* .IP idx_owner.db
/*	owner NUL number -> empty.
/* .IP meta.db
/*	"schema_version", "maintenance", "count:tickets",
/*	"count:articles", "counter:YYYYMMDD", "outbox_next_id" -> be64.
/* .IP outbox.db
/*	be64(id) -> outbox record (STORE_REC_OUTBOX) without the data.
/* .IP outbox_data.db
/*	be64(id) -> the mail, byte for byte (PENDING and FAILED rows).
/* .IP outbox_due.db
/*	be64(next_attempt) be64(id) -> empty, one per PENDING row.
/* .IP acks.db
/*	lowercase address -> acknowledgement times (STORE_REC_ACKS).
/* .IP idx_escalation.db
/*	be64(next warning or deadline) number -> empty, one per ticket
/*	with an unnotified warning or deadline (store_sla_next()).
/* .PP
/*	Schema 2 added the four outbox and acknowledgement databases.
/*	Schema 3 added idx_escalation.db and version 2 ticket records
/*	(the SLA fields); older tickets get deadlines at their next change.
/*	Version 3 ticket records (commands by mail: revision, watchers,
/*	per-field changes, owner_seen) need no database change: version 1
/*	and 2 records still decode and are rewritten as version 3 at their
/*	next write.
/*--*/

#include <stdatomic.h>
#include <stdint.h>
#include <db.h>

#include "util.h"
#include "store.h"

/*
 * Record format: byte 0 is the format version, byte 1 the record kind.
 */
#define STORE_REC_VERSION	1
#define STORE_REC_TICKET_VERSION	3	/* 2: SLA fields; 3: commands */
#define STORE_REC_TICKET	'T'
#define STORE_REC_ARTICLE	'A'
#define STORE_REC_HISTORY	'H'
#define STORE_REC_OUTBOX	'O'
#define STORE_REC_ACKS		'K'

/* Watchers of one ticket, at most (store_ticket_update()). */
#define STORE_WATCHERS_MAX	100

/* Hops store_deliver() follows along merged_into. */
#define STORE_MERGE_HOPS	8

/* SENT outbox rows kept for the record (store_checkpoint() trims). */
#define STORE_OUTBOX_SENT_KEEP	10000

/* Growable scratch memory for DB_DBT_USERMEM output. */
struct store_scratch {
    unsigned char *data;
    size_t  size;
};

enum store_db_id {
    STORE_DB_TICKETS,
    STORE_DB_ARTICLES,
    STORE_DB_RAW,
    STORE_DB_HISTORY,
    STORE_DB_MSGID,
    STORE_DB_DEDUP,
    STORE_DB_IDX_QUEUE,
    STORE_DB_IDX_CUSTOMER,
    STORE_DB_IDX_OWNER,
    STORE_DB_META,
    STORE_DB_OUTBOX,
    STORE_DB_OUTBOX_DATA,
    STORE_DB_OUTBOX_DUE,
    STORE_DB_ACKS,
    STORE_DB_ESCALATION,
    STORE_DB_COUNT,
};

struct store {
    char   *dir;
    int     lock_fd;			/* flock()ed DIR/store.lock */
    DB_ENV *env;
    DB     *db[STORE_DB_COUNT];
    atomic_int maintenance;		/* cached meta "maintenance" */
    atomic_int schema_version;
    atomic_uint_fast64_t batches;
    atomic_uint_fast64_t batched_messages;
    atomic_uint_fast64_t deadlocks;
    uint64_t outbox_sent_keep;		/* STORE_OUTBOX_SENT_KEEP; tests lower it */
    time_t  ack_pruned;			/* last store_ack_prune() by checkpoint */
};

struct store_batch {
    struct store *store;
    DB_TXN *txn;
    size_t  n_messages;			/* store_deliver() calls that wrote */
    uint64_t new_tickets;		/* meta count deltas, written at commit */
    uint64_t new_articles;
    int     failed;			/* a write failed: commit must abort */
    int     failed_status;		/* STORE_TEMP or STORE_RETRY */
    int     wrote;			/* the current call attempted a write */
    struct buf *enc;			/* record encoding */
    struct buf *key;			/* key building */
    struct buf *key2;			/* second key (index updates) */
    struct store_scratch get;		/* DB get output */
};

/*
 * Ticket record plus the fields that are not public.
 */
struct store_ticket_rec {
    struct store_ticket t;
    uint32_t n_history;			/* next history seq is n_history + 1 */
    time_t  indexed;			/* escalation index key as read, 0: none */
};

/* store_codec.c */
extern void store_codec_ticket_encode(struct buf *, const struct store_ticket_rec *);
extern int store_codec_ticket_decode(const void *, size_t, const char *number,
				             struct store_ticket_rec *);
extern void store_codec_article_encode(struct buf *, const struct store_article *);
extern int store_codec_article_decode(const void *, size_t, uint32_t index,
				              struct store_article *);
extern void store_codec_history_encode(struct buf *, const struct store_history *);
extern int store_codec_history_decode(const void *, size_t,
				              struct store_history *);
extern void store_ticket_fields_free(struct store_ticket *);
extern void store_article_fields_free(struct store_article *);
extern void store_history_fields_free(struct store_history *);
extern void store_codec_outbox_encode(struct buf *, const struct store_outbox_item *);
extern int store_codec_outbox_decode(const void *, size_t, uint64_t id,
				             struct store_outbox_item *);
extern void store_outbox_item_fields_free(struct store_outbox_item *);

/* Offset of the state byte in an outbox record (for partial reads). */
#define STORE_OUTBOX_STATE_OFFSET	2

/* store_env.c */
extern int store_bdb_status(struct store *, const char *log_id,
			            const char *what, int ret);
extern int store_get(DB *, DB_TXN *, const void *key, size_t key_len,
		             struct store_scratch *, size_t *len_r, uint32_t flags);
extern int store_cursor_get(DBC *, struct store_scratch *key, size_t *key_len,
			            struct store_scratch *data, size_t *data_len,
			            uint32_t flags);
extern void store_scratch_free(struct store_scratch *);
extern int store_meta_get(struct store *, DB_TXN *, const char *name,
			          uint64_t *value_r, uint32_t flags);
extern int store_meta_put(struct store *, DB_TXN *, const char *name,
			          uint64_t value);
extern int store_meta_del(struct store *, DB_TXN *, const char *name);

/* store_deliver.c */
extern int store_index_apply(struct store_batch *, const char *log_id,
			             const struct store_ticket *old_t,
			             const struct store_ticket *new_t);
extern int store_batch_settle(struct store_batch *, int status);
extern int store_batch_finish(struct store_batch **, int counted);
extern int store_batch_put(struct store_batch *, const char *log_id, int which,
			           const void *key, size_t klen, const void *data,
			           size_t dlen, uint32_t flags, const char *what);
extern int store_batch_del(struct store_batch *, const char *log_id, int which,
			           const void *key, size_t klen, const char *what);
extern int store_batch_ticket_load(struct store_batch *, const char *log_id,
				           const char *number,
				           struct store_ticket_rec *);
extern int store_batch_ticket_put(struct store_batch *, const char *log_id,
				          struct store_ticket_rec *);
extern int store_batch_history(struct store_batch *, const char *log_id,
			               struct store_ticket_rec *, time_t at,
			               const char *who, const char *what,
			               const char *old_value, const char *new_value);
extern int store_batch_msgid_put(struct store_batch *, const char *log_id,
				         const char *message_id, const char *number);

/* store_sla.c */
extern int store_escalation_index(struct store_batch *, const char *log_id,
				          struct store_ticket_rec *);

/* store_command.c */
extern void store_field_touch(struct store_ticket *, enum store_field,
			              const char *who);

/* store_read.c */
extern int store_read_ticket_txn(struct store *, DB_TXN *, const char *number,
				         int with_history, uint32_t flags,
				         struct store_ticket **ticket_r);
extern int store_read_ticket_some_txn(struct store *, DB_TXN *,
				              const char *number,
				              const uint32_t *indexes, size_t n,
				              uint32_t flags,
				              struct store_ticket **ticket_r);

/* store_article.c */
extern int store_ack_prune(struct store *, time_t now);

/* store_outbox.c */
extern int store_outbox_count(struct store *, DB_TXN *, uint64_t counts[3]);
extern int store_outbox_trim(struct store *);

/* store_codec.c: keys and integers */
extern size_t store_key_item(unsigned char *out, size_t out_len,
			             const char *number, uint32_t item);
extern void store_be32_put(unsigned char *out, uint32_t v);
extern uint32_t store_be32_get(const unsigned char *in);
extern void store_be64_put(unsigned char *out, uint64_t v);
extern uint64_t store_be64_get(const unsigned char *in);

#define STORE_KEY_ITEM_MAX	(32 + 1 + 4)

#endif
