#ifndef POSTDESK_NOTIFY_H
#define POSTDESK_NOTIFY_H

/*++
/* NAME
/*	notify 3h
/* SUMMARY
/*	who is told what: acknowledgements, agent notifications, the outbox sender
/* SYNOPSIS
/*	#include <notify.h>
/* DESCRIPTION
/*	Composing (notify_ingest, notify_event) runs in lmtpd's writer
/*	thread, inside the batch transaction of the change that caused the
/*	mail: it reads the ticket through the batch, renders templates, and
/*	writes outbox rows (and, for acknowledgements, a system article)
/*	with the store's batch API. So a mail is sent if and only if its
/*	cause committed.
/*
/*	Sending (notify_sender_*) is a thread of its own that submits due
/*	outbox rows to the relay with libesmtp and records each attempt.
/*
/*	A struct notify is an immutable bundle of the templates (French and
/*	English) and the HMAC key for signed Reply-To addresses; it is
/*	reference counted like a conf snapshot and replaced on SIGHUP.
/*	No GMime or libesmtp type appears here.
/*--*/

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conf;
struct conf_agent;
struct store;
struct store_batch;
struct store_message;
struct store_result;
struct store_ticket;
struct sigaddr_key;

/*
 * Events. The names are those of an agent's `notify` setting.
 */
enum notify_event_type {
    NOTIFY_NEW_TICKET,			/* "new-ticket" */
    NOTIFY_FOLLOW_UP,			/* "follow-up" */
    NOTIFY_NEW_NOTE,			/* "new-note" */
    NOTIFY_LOCK,			/* "lock" */
    NOTIFY_OWNER,			/* "owner" */
    NOTIFY_MOVE,			/* "move" */
    NOTIFY_ESCALATION,			/* "escalation" */
    NOTIFY_PENDING,			/* "pending" (reminder reached) */
};

struct notify_event {
    enum notify_event_type type;
    const char *number;			/* the ticket */
    const char *actor;			/* agent login who caused it, or NULL */
    uint32_t article;			/* the new article, 0 if none */
    const char *const *informed;	/* logins named with #inform; n_informed */
    size_t  n_informed;
    const char *const *watchers;	/* logins watching the ticket */
    size_t  n_watchers;
    const char *detail;			/* e.g. the escalation kind, or NULL */
};

extern const char *notify_event_name(enum notify_event_type);

struct notify;

/*
 * notify_create - load and check every template under
 * conf_templates_dir(conf)/{fr,en}/ and take ownership of key (may be
 * NULL in tests: no Reply-To then), also when it fails (the key is
 * freed then). Returns NULL with *errors_r set
 * (mem_free(); one line per problem, "FILE:LINE: message") when a
 * template is missing or broken: a configuration error at load time,
 * never at send time.
 */
extern struct notify *notify_create(const struct conf *conf,
				            struct sigaddr_key *key,
				            char **errors_r);
extern struct notify *notify_ref(struct notify *);
/* notify_key - the HMAC key of signed addresses (borrowed), or NULL */
extern const struct sigaddr_key *notify_key(const struct notify *);
extern void notify_unref(struct notify **notifyp);

/* notify_templates_check - the check of notify_create() alone, for
   postdeskctl check-config; 0 or -1 with *errors_r. */
extern int notify_templates_check(const char *dir, char **errors_r);

/*
 * notify_ingest - after store_deliver() of msg with result res, in the
 * same batch: the acknowledgement to the requester of a new ticket
 * (unless loop protection or the rate limit says no; then a log line)
 * and the agent notifications of NOTIFY_NEW_TICKET or NOTIFY_FOLLOW_UP.
 * Sets *queued_r to the number of outbox rows written. Returns a store
 * status (STORE_OK, STORE_RETRY, STORE_TEMP).
 */
extern int notify_ingest(const struct notify *, struct store_batch *,
			         const struct conf *, const struct store_message *msg,
			         const struct store_result *res, time_t now,
			         size_t *queued_r);

/* notify_event - the agent notifications of one event, in the batch. */
extern int notify_event(const struct notify *, struct store_batch *,
			        const struct conf *, const struct notify_event *,
			        time_t now, size_t *queued_r);

/*
 * Agents' command mail (notify/agentmail.c), in the batch of the change.
 *
 * notify_reply_send() is #reply: it composes the mail to the requester
 * (From: the ticket queue's first address, To: the ticket's customer,
 * Cc: the Cc of the requester's last mail minus postdesk's own
 * addresses, Subject "[HOOKNUMBER] title", In-Reply-To/References the
 * requester's last mail, the response template rendered above the
 * agent's text, then the quote header with the date that mail was
 * received and that mail quoted), stores it as an agent email article
 * visible to the customer (store_article_add(): the first one meets
 * the first response), and writes the outbox row (envelope sender: the
 * queue address). *article_r is the new article; *sent_to_r (mem_free())
 * lists the recipients ("a@b, c@d") for the transcript. The command
 * block never reaches it: text is the agent's text only.
 */
struct notify_reply {
    const char *number;			/* the ticket */
    const char *agent;			/* login of the agent replying */
    const char *text;			/* agent's text, may be "" */
    const char *response;		/* response template name, or NULL */
    time_t  at;
};

extern int notify_reply_send(const struct notify *, struct store_batch *,
			             const struct conf *, const struct notify_reply *,
			             uint32_t *article_r, char **sent_to_r);

/* notify_reply_check - 1 when a reply to t can be sent (the customer
   address is usable, the queue is known and has an address); else 0
   with *why_r a short English reason (static). Pure: call it before
   writing anything; notify_reply_send() returns STORE_PERM then. */
extern int notify_reply_check(const struct conf *, const struct store_ticket *t,
			              const char **why_r);

/* notify_response_exists - 1 when NAME is a response template
   (templates_dir/LANG/responses/NAME.txt, loaded by notify_create())
   in either language; a reply uses the version of conf_language(),
   else the other one. */
extern int notify_response_exists(const struct notify *, const char *name);

/*
 * notify_agent_send() writes one mail to an agent's configured address
 * (the first `email' of the agent; never a Reply-To of their mail):
 * From postdesk's command address, Auto-Submitted: auto-replied,
 * In-Reply-To the agent's mail, in the agent's language (templates
 * transcript, quarantine, help, list). Reply-To is the agent's signed
 * address for the ticket (number), or the personal one (no ticket).
 * text is the caller's lines, put in the {{commands}} placeholder
 * (quarantine: the refused mail's From: and the reason); outcome is
 * {{event.detail}} (transcript: also in the Subject). STORE_PERM when
 * the agent is unknown or has no usable address (nothing written).
 */
enum notify_agent_kind {
    NOTIFY_AGENT_TRANSCRIPT,		/* command outcomes */
    NOTIFY_AGENT_QUARANTINE,		/* a valid token, a wrong From */
    NOTIFY_AGENT_HELP,			/* the command reference */
    NOTIFY_AGENT_LIST,			/* #list: the agent's locked tickets */
};

struct notify_agent_mail {
    enum notify_agent_kind kind;
    const char *agent;			/* login */
    const char *number;			/* ticket, "" if none */
    const char *subject;		/* the agent mail's decoded Subject */
    const char *in_reply_to;		/* its Message-ID without <>, or "" */
    const char *outcome;		/* transcript: "Processed", "No changes made" */
    const char *text;			/* {{commands}} */
    time_t  at;
};

extern int notify_agent_send(const struct notify *, struct store_batch *,
			             const struct conf *,
			             const struct notify_agent_mail *);

/* notify_confirm_code - the #confirm code of agent for merging number
   into `into' on day (sigaddr_day()): 8 characters of an HMAC, upper
   case, in out; "" when there is no key. Valid for the day it is made
   and the next (the caller checks both). */
extern void notify_confirm_code(const struct notify *, const char *agent,
				        const char *number, const char *into,
				        unsigned day, char out[9]);

/*
 * Pure decisions, no store (unit tested over tables).
 */
struct notify_mail_facts {		/* what loop protection looks at */
    const char *sender;			/* envelope sender, "" = null */
    const char *from;			/* From: addr-spec */
    int     automatic;			/* store_message.automatic */
    int     own_loop;			/* carries our X-Postdesk-Loop */
    int     follow_up;			/* not a new ticket */
};

/* notify_may_acknowledge - 1 when an acknowledgement may be sent; else 0
   and *why_r names the rule ("automatic", "loop", "null sender",
   "robot sender", "postdesk address", "follow-up"). */
extern int notify_may_acknowledge(const struct conf *,
				          const struct notify_mail_facts *,
				          const char **why_r);

/*
 * notify_recipients - the agents to tell about event on ticket t, at
 * time now: by event (see notify.c), filtered by each agent's notify
 * setting and out-of-office periods, never the actor, each agent once.
 * Fills out (borrowed from conf) up to max; returns the count.
 */
extern size_t notify_recipients(const struct conf *, const struct store_ticket *t,
				        const struct notify_event *, time_t now,
				        const struct conf_agent **out, size_t max);

/*
 * The sender thread.
 */
struct notify_sender;

/* notify_sender_start - start the thread; conf_get returns a new
   reference to the current snapshot (for the relay settings). */
extern struct notify_sender *notify_sender_start(struct store *,
				          struct conf *(*conf_get) (void));
/* notify_sender_wake - new rows were committed: look now. */
extern void notify_sender_wake(struct notify_sender *);
/* notify_sender_stop - finish the SMTP session in progress, stop. */
extern void notify_sender_stop(struct notify_sender **senderp);

/*
 * The escalation sweeper (notify/sweeper.c). notify_sweep() is one pass
 * at instant now: each ticket of the store's escalation index that is
 * due gets, in one batch, its warning and escalation records
 * (store_escalation_mark()) and one NOTIFY_ESCALATION notification per
 * newly passed kind and level (detail "first_response warning", ...);
 * a pending reminder whose time came gets one NOTIFY_PENDING, a pending
 * auto close state is closed.
 * Unless its SLA says notify_outside_hours = yes, a ticket is left for
 * a later pass while now is outside its calendar's working time.
 * Returns the number of notifications written, or -1 after a store
 * error (logged).
 */
extern int notify_sweep(struct store *, const struct conf *,
			        const struct notify *, time_t now);

struct notify_sweeper;

/* notify_sweeper_start - a thread that sweeps at start and then every
   NOTIFY_SWEEP_SECONDS; the clock is time(0) + offset (the test clock);
   after() (may be NULL) is called when notifications were written. */
#define NOTIFY_SWEEP_SECONDS	60
extern struct notify_sweeper *notify_sweeper_start(struct store *,
			          void (*snapshot_get) (struct conf **, struct notify **),
				          time_t offset, void (*after) (void));
extern void notify_sweeper_stop(struct notify_sweeper **sweeperp);

#endif
