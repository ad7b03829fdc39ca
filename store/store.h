#ifndef POSTDESK_STORE_H
#define POSTDESK_STORE_H

/*++
/* NAME
/*	store 3h
/* SUMMARY
/*	the Berkeley DB environment and the ticket model
/* SYNOPSIS
/*	#include <store.h>
/* DESCRIPTION
/*	One struct store is one open, transactional Berkeley DB environment
/*	(recovered at every open) with the databases of the ticket model:
/*	tickets, articles, raw messages, history, indexes (number,
/*	Message-ID, queue+state, customer, owner), a daily ticket counter,
/*	deduplication keys and settings (schema version, maintenance).
/*	Only one process opens it at a time (store_open() takes a lock
/*	file in the directory); threads inside share the handle.
/*
/*	Writes happen in batches: store_batch_begin() starts one durable
/*	transaction; store_deliver() applies one prepared message inside
/*	it (deduplication, threading, numbering, article, history,
/*	indexes); store_batch_commit() makes all of them durable at once.
/*	When a call returns STORE_RETRY (deadlock) the caller aborts the
/*	batch and replays it. Reads (store_ticket_get, store_list) run in
/*	their own read transactions and may be called from any thread.
/*
/*	Results are tri-state: STORE_OK, STORE_TEMP (try again later:
/*	answer 4xx), STORE_PERM (the input is at fault: 5xx). No BDB type
/*	appears here.
/*--*/

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conf;

#define STORE_SCHEMA_VERSION	3

enum store_status {
    STORE_OK = 0,
    STORE_TEMP = -1,			/* environment problem: retry later */
    STORE_PERM = -2,			/* bad input: will never work */
    STORE_RETRY = -3,			/* deadlock: abort the batch, replay */
    STORE_NOTFOUND = -4,
    STORE_LOCKED = -5,			/* another process holds the store */
};

enum store_sender_type {
    STORE_SENDER_CUSTOMER,
    STORE_SENDER_AGENT,
    STORE_SENDER_SYSTEM,
};

enum store_channel {
    STORE_CHANNEL_EMAIL,
    STORE_CHANNEL_NOTE,
};

struct store_attachment {
    char   *name;			/* decoded filename, may be "" */
    char   *content_type;		/* "application/pdf" */
    uint64_t size;			/* decoded bytes */
};

/*
 * A message prepared by an LMTP session, for one recipient. Every string
 * is UTF-8 and owned by the caller; the store copies what it keeps.
 * Strings may be "" but never NULL unless said so.
 */
struct store_message {
    const char *log_id;			/* lmtpd transaction id, for logs */
    const char *recipient;		/* envelope recipient, lowercase */
    const char *queue;			/* queue of that recipient */
    const char *default_type;		/* that queue's default ticket type */
    const char *sender;			/* envelope sender, "" = null sender */
    const char *from;			/* From: addr-spec, lowercase, may be "" */
    const char *from_header;		/* From: decoded, display form */
    const char *to;			/* To: decoded */
    const char *cc;			/* Cc: decoded */
    const char *subject;		/* decoded Subject */
    const char *title;			/* subject with prefixes and tag removed */
    const char *message_id;		/* without <>, "" if none */
    const char *const *references;	/* In-Reply-To then References, newest
					 * first, without <>; n_references */
    size_t  n_references;
    const char *ticket_ref;		/* number found in the subject, or NULL */
    int     automatic;			/* auto-submitted, bulk, list, null sender */
    int     own_loop;			/* X-Postdesk-Loop names this instance */
    const char *content_language;	/* Content-Language, lowercase, "" if none */
    const char *body;			/* text, quoted replies trimmed */
    const struct store_attachment *attachments;
    size_t  n_attachments;
    const char *raw;			/* the message as received, byte for byte */
    size_t  raw_len;
    unsigned char hash[32];		/* SHA-256 of raw */
    time_t  received;
};

enum store_outcome {
    STORE_OUTCOME_NEW_TICKET,		/* a ticket was opened */
    STORE_OUTCOME_FOLLOW_UP,		/* an article was added */
    STORE_OUTCOME_DUPLICATE,		/* already stored: nothing written */
    STORE_OUTCOME_REJECTED,		/* follow_up_closed = reject */
};

struct store_result {
    enum store_outcome outcome;
    char    number[32];			/* ticket number, "" if rejected */
    uint32_t article;			/* article index in the ticket, 1.. */
    char    reason[128];		/* for REJECTED: the reply text */
};

struct store_history {
    time_t  at;
    char   *who;			/* "system", an agent login, an address */
    char   *what;			/* "created", "state", "queue", ... */
    char   *old_value;			/* may be NULL */
    char   *new_value;			/* may be NULL */
};

struct store_article {
    uint32_t index;			/* 1.. */
    enum store_sender_type sender_type;
    enum store_channel channel;
    int     visible_to_customer;
    int     seen;			/* system mails count as read */
    char   *from;
    char   *to;
    char   *cc;
    char   *subject;
    char   *message_id;
    time_t  received;
    char   *body;
    struct store_attachment *attachments;
    size_t  n_attachments;
    uint64_t raw_len;			/* size of the stored raw message */
};

/*
 * The fields an agent's command can change, with the revision and the
 * actor of their last change (lost-update guard of commands by mail).
 */
enum store_field {
    STORE_FIELD_OWNER,
    STORE_FIELD_LOCK,
    STORE_FIELD_QUEUE,
    STORE_FIELD_TYPE,
    STORE_FIELD_PRIORITY,
    STORE_FIELD_STATE,			/* state and pending time */
    STORE_FIELD_TITLE,
    STORE_FIELD_WATCHERS,
    STORE_FIELD_COUNT,
};

struct store_field_change {
    uint32_t revision;			/* ticket revision after it; 0: never */
    char   *who;			/* "system", a login, an address; NULL */
};

/* store_field_name - "owner", "lock", "queue", "type", "priority",
   "state", "title", "watchers" */
extern const char *store_field_name(enum store_field);

struct store_ticket {
    char    number[32];
    char   *title;
    char   *queue;
    char   *state;			/* "new", "open", "closed successful" .. */
    int     priority;			/* 1..5 */
    char   *type;
    int     locked;
    char   *owner;			/* agent login or NULL */
    char   *customer;			/* From address of the first mail */
    time_t  created;
    time_t  changed;
    int     escalated;			/* a deadline passed and was notified */
    char   *merged_into;		/* NULL */
    uint32_t n_articles_total;
    /* SLA (schema 3; see store_sla_update()). Instants; 0 = none. */
    char   *sla;			/* [sla NAME] applied, NULL: none */
    time_t  first_response_due;
    time_t  first_response_warn;
    time_t  first_response_at;		/* first visible agent reply */
    time_t  update_due;
    time_t  update_warn;
    time_t  solution_due;
    time_t  solution_warn;
    time_t  sla_paused;			/* pending since (clocks stopped) */
    unsigned sla_notified;		/* STORE_SLA_BIT(kind, level) sent */
    time_t  pending_until;		/* pending states: the pending time */
    /* Commands by mail (record version 3; see store_ticket_update()). */
    uint32_t revision;			/* +1 at every write of the ticket */
    char  **watchers;			/* agent logins, n_watchers */
    size_t  n_watchers;
    struct store_field_change changes[STORE_FIELD_COUNT];
    uint32_t owner_seen;		/* n_articles_total at the owner's last
					 * action (store_ticket_seen()) */
    /* Filled by store_ticket_get() only: */
    struct store_article *articles;
    size_t  n_articles;
    struct store_history *history;
    size_t  n_history;
};

struct store_filter {
    const char *queue;			/* NULL: any */
    const char *state;			/* NULL: any; "open" etc. exact */
    const char *owner;			/* NULL: any */
    const char *customer;		/* NULL: any; case-insensitive */
    int     locked_only;
    int     escalated_only;
    size_t  limit;			/* 0: no limit */
};

struct store_stats {
    int     schema_version;
    int     maintenance;
    uint64_t tickets;
    uint64_t articles;
    uint64_t batches;			/* committed transactions since open */
    uint64_t batched_messages;		/* messages in them */
    uint64_t log_flushes;		/* BDB st_scount */
    uint64_t deadlocks;
    uint64_t outbox_pending;
    uint64_t outbox_failed;
};

struct store;
struct store_batch;

/*
 * store_open - open (create, recover) the environment in dir.
 * Returns STORE_OK with *store_r set, STORE_LOCKED when another process
 * holds the store, or STORE_TEMP with *error_r set (mem_free()).
 * An older schema is upgraded in place, logged.
 */
extern int store_open(const char *dir, struct store **store_r, char **error_r);
extern void store_close(struct store **storep);

extern int store_batch_begin(struct store *, struct store_batch **batch_r);
/* store_deliver - apply one message inside the batch (see DESCRIPTION). */
extern int store_deliver(struct store_batch *, const struct conf *,
			         const struct store_message *,
			         struct store_result *result_r);
extern int store_batch_commit(struct store_batch **batchp);	/* durable */
extern void store_batch_abort(struct store_batch **batchp);

/* store_ticket_get - one ticket with articles and history; the caller
   frees it with store_ticket_free(). */
extern int store_ticket_get(struct store *, const char *number,
			            struct store_ticket **ticket_r);
extern void store_ticket_free(struct store_ticket **ticketp);

/* store_list - tickets matching filter, newest first, without articles
   or history; the caller frees the array with store_ticket_list_free(). */
extern int store_list(struct store *, const struct store_filter *,
		              struct store_ticket **tickets_r, size_t *n_r);
extern void store_ticket_list_free(struct store_ticket **ticketsp, size_t n);

/* store_raw_get - the raw bytes of article `article` (mem_free()). */
extern int store_raw_get(struct store *, const char *number, uint32_t article,
			         char **raw_r, size_t *len_r);

/* Maintenance: persistent; store_maintenance() is a cheap cached read. */
extern int store_maintenance(struct store *);
extern int store_set_maintenance(struct store *, int on);

extern int store_stats(struct store *, struct store_stats *stats_r);

/* store_checkpoint - checkpoint and remove unneeded logs; call every
   minute or so from a timer. */
extern int store_checkpoint(struct store *);

/*
 * Articles that postdesk writes itself (acknowledgements now; agents'
 * notes and replies later), inside a batch. Strings are copied. raw may
 * be NULL (no raw message is stored then). The ticket's `changed` is
 * updated and an "article" history record written (who = input->who).
 */
struct store_article_input {
    enum store_sender_type sender_type;
    enum store_channel channel;
    int     visible_to_customer;
    int     seen;			/* system mails count as read */
    const char *who;			/* history: "system", a login, an address */
    const char *from;
    const char *to;
    const char *cc;
    const char *subject;
    const char *message_id;		/* without <>; registered for threading */
    const char *body;
    time_t  at;
    const char *raw;
    size_t  raw_len;
};

extern int store_article_add(struct store_batch *, const char *log_id,
			             const char *number,
			             const struct store_article_input *input,
			             uint32_t *index_r);

/*
 * store_batch_ticket_get - the ticket as this batch sees it (its own
 * uncommitted changes included), with its articles but without raw
 * bytes, and without history. Free with store_ticket_free().
 */
extern int store_batch_ticket_get(struct store_batch *, const char *number,
				          struct store_ticket **ticket_r);
/* store_batch_ticket_get_articles - the same with only the articles
   listed in indexes (those that exist, each once, in that order): the
   cost no longer grows with the ticket's length. */
extern int store_batch_ticket_get_articles(struct store_batch *,
					           const char *number,
					           const uint32_t *indexes, size_t n,
					           struct store_ticket **ticket_r);

/*
 * store_ack_charge - auto-acknowledgement rate limit: inside the batch,
 * count the acknowledgements sent to addr (case-insensitive) in the 24
 * hours before now; when fewer than limit, record one more and set
 * *allowed_r = 1, else set *allowed_r = 0 and record nothing.
 */
extern int store_ack_charge(struct store_batch *, const char *addr, time_t now,
			            unsigned limit, int *allowed_r);

/*
 * The outbox: every mail postdesk sends is a row written in the same
 * transaction as the change that caused it. The sender thread reads due
 * rows, submits them, and records each attempt in its own transaction.
 */
enum store_outbox_state {
    STORE_OUTBOX_PENDING,
    STORE_OUTBOX_SENT,
    STORE_OUTBOX_FAILED,
};

struct store_outbox_mail {		/* input: strings borrowed, copied */
    const char *number;			/* ticket, "" if none */
    const char *kind;			/* "ack", "new-ticket", "follow-up", ... */
    const char *envelope_from;		/* "" = null sender <> */
    const char *const *recipients;	/* envelope recipients */
    size_t  n_recipients;
    const char *message_id;		/* without <>; registered for threading */
    const char *data;			/* the whole message, CRLF line ends */
    size_t  len;
};

struct store_outbox_item {		/* output: owned, store_outbox_items_free() */
    uint64_t id;			/* 1.., increasing */
    char   *number;
    char   *kind;
    char   *envelope_from;
    char  **recipients;
    size_t  n_recipients;
    char   *message_id;
    char   *data;			/* NULL unless asked for */
    size_t  len;
    enum store_outbox_state state;
    uint32_t attempts;
    time_t  created;
    time_t  next_attempt;
    time_t  last_attempt;		/* 0: never */
    char   *last_error;			/* "" if none */
};

extern int store_outbox_add(struct store_batch *, const struct store_outbox_mail *,
			            uint64_t *id_r);
/* store_outbox_due - up to max PENDING rows with next_attempt <= now,
   oldest first, with their data. */
extern int store_outbox_due(struct store *, time_t now, size_t max,
			            struct store_outbox_item **items_r, size_t *n_r);
/* store_outbox_next_time - the earliest next_attempt of a PENDING row,
   or 0 when there is none. */
extern int store_outbox_next_time(struct store *, time_t *when_r);
/*
 * store_outbox_result - record one attempt, in its own durable
 * transaction: SENT (the data is dropped, the row kept for the record),
 * PENDING with the next attempt time (a temporary failure), or FAILED
 * (permanent: a history record "mail failed" with the error in the
 * ticket). error may be NULL.
 */
extern int store_outbox_result(struct store *, uint64_t id,
			               enum store_outbox_state state,
			               time_t next_attempt, const char *error);
/* store_outbox_list - rows without data: PENDING and FAILED, and SENT
   too when include_sent; oldest first. */
extern int store_outbox_list(struct store *, int include_sent,
			             struct store_outbox_item **items_r, size_t *n_r);
/* store_outbox_retry - make a PENDING or FAILED row due now; a FAILED
   row becomes PENDING again. STORE_NOTFOUND for a SENT or unknown row. */
extern int store_outbox_retry(struct store *, uint64_t id);
extern void store_outbox_items_free(struct store_outbox_item **itemsp, size_t n);

/*
 * SLA deadlines. A ticket's SLA is its queue's `sla'. Three kinds of
 * deadline, each with a warning point (warn_at percent of its working
 * time) and the deadline itself (the two levels). The escalation index
 * holds each ticket under its next unnotified warning or deadline.
 */
enum store_sla_kind {
    STORE_SLA_FIRST_RESPONSE,
    STORE_SLA_UPDATE,
    STORE_SLA_SOLUTION,
    STORE_SLA_KINDS,
};

enum store_sla_level {
    STORE_SLA_WARNING,
    STORE_SLA_ESCALATION,
};

#define STORE_SLA_BIT(kind, level)	(1U << ((kind) * 2 + (level)))
#define STORE_PENDING_REMINDED	(1U << 8)	/* pending reminder sent */
#define STORE_PENDING_CLOSED	(1U << 9)	/* fired: auto close done */

enum store_sla_event {
    STORE_SLA_CREATED,			/* a new ticket (at = created) */
    STORE_SLA_CUSTOMER_MAIL,		/* a requester's follow-up */
    STORE_SLA_AGENT_REPLY,		/* an agent article visible to the requester */
    STORE_SLA_STATE,			/* t->state was just set; old_state before */
};

/*
 * store_sla_update - recompute the deadlines of t (in memory, no
 * database) after an event at instant at, with the SLA of t's queue in
 * conf (conf may be NULL: only events that need no calendar apply).
 * Creation: first response and solution deadlines. Requester mail:
 * the update deadline when the SLA has one, the first response is met
 * and none runs. Agent reply: first_response_at (once), first response
 * and update met. State: closed clears every deadline; entering
 * pending stops update and solution (pause_when_pending); leaving
 * pending moves them by the paused working time; closed -> open gives
 * a new solution deadline. Returns STORE_OK, or STORE_TEMP when a
 * calendar cannot be built (logged; the deadlines are left as they were).
 */
extern int store_sla_update(const struct conf *, struct store_ticket *t,
			            enum store_sla_event event,
			            const char *old_state, time_t at);

/* store_sla_next - the next unnotified warning or deadline, or the
   pending time not yet handled; 0 if none (the escalation index key) */
extern time_t store_sla_next(const struct store_ticket *t);

/* store_sla_due - the deadline and warning point of one kind */
extern void store_sla_due(const struct store_ticket *t, enum store_sla_kind,
			          time_t *due_r, time_t *warn_r);

/*
 * store_sla_level - what a kind has reached at instant at: -1 nothing
 * (or no such deadline, or paused), STORE_SLA_WARNING,
 * STORE_SLA_ESCALATION.
 */
extern int store_sla_level(const struct store_ticket *t,
			           enum store_sla_kind kind, time_t at);

/* store_sla_kind_name - "first_response", "update", "solution" */
extern const char *store_sla_kind_name(enum store_sla_kind kind);

/* store_sla_escalation_kind - the kind whose escalation was notified
   (the first of them), or NULL when the ticket is not escalated. */
extern const char *store_sla_escalation_kind(const struct store_ticket *t);

/*
 * store_ticket_state_set - change a ticket's state in the batch: index,
 * history ("state", old, new; who), `changed', the deadlines
 * (store_sla_update(STORE_SLA_STATE)) and the pending time: for a
 * "pending*" state pending_until (0: none; a "pending" history record
 * with its RFC 3339 time), cleared for any other state. For agents'
 * commands (and tests).
 */
extern int store_ticket_state_set(struct store_batch *, const struct conf *,
				          const char *log_id, const char *number,
				          const char *state, time_t pending_until,
				          const char *who, time_t at);

/*
 * Commands by mail. store_ticket_update() applies, in the batch, the
 * changes an agent's command mail makes besides its article and state,
 * in this order: owner, lock, queue, type, priority, watchers, title.
 * A field is changed only when asked for and different from its value;
 * each change writes a history record (what = the store_field_name(),
 * old, new; who), the indexes, `changed', and the field's revision and
 * actor in t->changes. A queue move keeps the deadlines (documented).
 * Validation is the caller's (rights, names): the store refuses only
 * what would corrupt the record (STORE_PERM: unknown ticket, empty
 * queue or type, priority outside 1..5, a watcher list over 100).
 */
struct store_ticket_change {
    int     set_owner;			/* 1: owner := owner (NULL: none) */
    const char *owner;
    int     lock;			/* -1 unchanged, 0 unlock, 1 lock */
    const char *queue;			/* NULL: unchanged */
    const char *type;			/* NULL: unchanged */
    int     priority;			/* 0: unchanged, else 1..5 */
    const char *const *watch_add;	/* logins; n_watch_add */
    size_t  n_watch_add;
    const char *const *watch_remove;	/* logins; n_watch_remove */
    size_t  n_watch_remove;
    const char *title;			/* NULL: unchanged */
};

extern int store_ticket_update(struct store_batch *, const struct conf *,
			               const char *log_id, const char *number,
			               const struct store_ticket_change *,
			               const char *who, time_t at);

/* store_ticket_seen - when login is the ticket's owner, owner_seen :=
   n_articles_total (the "new article" star of list --locked is off
   until another article arrives). A no-op write otherwise. */
extern int store_ticket_seen(struct store_batch *, const char *log_id,
			             const char *number, const char *login);

/*
 * store_ticket_merge - merge number into into (both must exist, differ,
 * and into must not itself be merged): number gets state "merged",
 * merged_into, no lock, no deadlines, a "merged" history record
 * (new = into); into gets a "merge" record (new = number). Mail that
 * later threads to number is delivered to into instead (store_deliver
 * follows merged_into, at most 8 hops). STORE_PERM when refused.
 */
extern int store_ticket_merge(struct store_batch *, const struct conf *,
			              const char *log_id, const char *number,
			              const char *into, const char *who, time_t at);

/*
 * Idempotent command mail: key is SHA-256 of (envelope recipient NUL
 * Message-ID NUL SHA-256 of the raw message). store_command_seen()
 * returns STORE_OK with *at_r and number_r (char[32]) when the key was
 * recorded, STORE_NOTFOUND when not; store_command_record() records
 * it (number may be ""). The keys are kept (documented in the README).
 */
extern int store_command_seen(struct store_batch *, const unsigned char key[32],
			              time_t *at_r, char number_r[32]);
extern int store_command_record(struct store_batch *, const char *log_id,
				        const unsigned char key[32],
				        const char *number, time_t at);

/* store_ticket_audit - one history record (what, text as its new value,
   cut to 4 KB) without changing the ticket: the command block of an
   agent's mail, a quarantine (store/store_audit.c). */
extern int store_ticket_audit(struct store_batch *, const char *log_id,
			              const char *number, const char *who,
			              const char *what, const char *text, time_t at);

/*
 * The escalation sweep. store_escalation_due() returns up to max
 * ticket numbers whose index instant is <= now (array of char[32],
 * mem_free()). store_escalation_mark() records, in the batch, every
 * warning and deadline of the ticket passed at now and not yet
 * notified: the notified bits, `escalated' for deadlines, a history
 * record each ("escalation", kind, level), and the index; the events
 * are returned as bits in *fired_r (STORE_SLA_BIT) so that the caller
 * notifies once each. A pending time passed at now is handled there
 * too: "pending reminder" records a "pending" "reminder" history entry
 * once and fires STORE_PENDING_REMINDED (the caller notifies);
 * "pending auto close+" / "-" become "closed successful" /
 * "closed unsuccessful", unlocked, with a "state" history record (who
 * "system"), and fire STORE_PENDING_CLOSED.
 */
extern int store_escalation_due(struct store *, time_t now, size_t max,
				        char (**numbers_r)[32], size_t *n_r);
extern int store_escalation_mark(struct store_batch *, const char *log_id,
				         const char *number, time_t now,
				         unsigned *fired_r);

/*
 * Pure helpers, no database.
 */
/* store_number_format - OTOBO DateChecksum: YYYYMMDD, system id (2
   digits), counter (at least 5 digits), check digit. out >= 32 bytes. */
extern void store_number_format(char out[32], int year, int month, int day,
				        unsigned system_id, uint64_t counter);
extern int store_number_check_digit(const char *digits);

#endif
