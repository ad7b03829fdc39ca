#ifndef POSTDESK_MILTER_PRIVATE_H
#define POSTDESK_MILTER_PRIVATE_H

/*++
/* NAME
/*	milter_private 3h
/* SUMMARY
/*	postdesk-milter internals: pure decisions and the callbacks
/* SYNOPSIS
/*	#include "milter_private.h"
/* DESCRIPTION
/*	The decision functions (milter/policy.c, milter/rate.c) know no
/*	libmilter type: they read a conf snapshot, the HMAC key and a
/*	transaction state, and return a struct milter_reply that the
/*	callbacks (milter/callbacks.c) map onto smfi_setreply() and a
/*	SMFIS_* code. Unit tests drive them over tables.
/*--*/

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conf;
struct sigaddr_key;

/*
 * A verdict. rcode/xcode/text are static strings (NULL for CONTINUE);
 * why is a short word for the log line.
 */
enum milter_action {
    MILTER_CONTINUE,			/* no objection */
    MILTER_REJECT,			/* 5xx */
    MILTER_TEMPFAIL,			/* 4xx */
};

struct milter_reply {
    enum milter_action action;
    const char *rcode;			/* "550" */
    const char *xcode;			/* "5.1.1" */
    const char *text;			/* what the client reads */
    const char *why;			/* for the log */
};

/* What a recipient is to postdesk. */
enum milter_rcpt_kind {
    MILTER_RCPT_OTHER,			/* not postdesk's business */
    MILTER_RCPT_QUEUE,			/* a queue address */
    MILTER_RCPT_SIGNED,			/* a signed command address, valid */
    MILTER_RCPT_UNKNOWN,		/* dedicated domain: unknown or bad token */
};

/*
 * Headers of one message, as far as the milter cares. The strip list
 * holds the deletions to make at end of message, in the order to make
 * them (for each header name, the highest index first, so that a
 * deletion never shifts the index of one still to come).
 */
struct milter_strip {
    char   *name;			/* as received */
    int     index;			/* 1-based, among headers of that name */
};

struct milter_name_count {
    char   *name;			/* lowercase */
    int     count;
};

struct milter_headers {
    unsigned received;			/* Received: headers seen */
    int     own_loop;			/* X-Postdesk-Loop: <our instance> */
    struct milter_strip *strip;		/* n_strip deletions */
    size_t  n_strip;
    size_t  strip_cap;
    struct milter_name_count *names;	/* occurrences per strippable name */
    size_t  n_names;
    size_t  names_cap;
};

/*
 * One SMTP transaction (MAIL FROM to end of message or abort).
 */
struct milter_txn {
    char   *sender;			/* lowercase envelope sender, "" = <> */
    size_t  declared_size;		/* SIZE= of MAIL FROM, 0 = none */
    int     rated;			/* counted against the rate limits */
    int     ours;			/* a recipient is postdesk's */
    unsigned n_ours;			/* how many (accepted) */
    struct milter_headers headers;
};

/* policy.c */
extern char *milter_addr_normalize(const char *arg);
extern enum milter_rcpt_kind milter_rcpt_classify(const struct conf *,
				            const struct sigaddr_key *key,
					          const char *addr, time_t now,
						          const char **why_r);
extern int milter_size_param(const char *const *args, size_t *size_r);
extern void milter_mail_decide(const struct conf *, const char *sender_arg,
			               const char *const *args, struct milter_txn *,
				               struct milter_reply *);

struct milter_rate;
extern void milter_rcpt_decide(const struct conf *, const struct sigaddr_key *,
			               struct milter_rate *, const char *client,
			               struct milter_txn *, const char *rcpt_arg,
			               time_t now, struct milter_reply *);
extern void milter_header_note(const struct conf *, struct milter_headers *,
			               const char *name, const char *value);
extern void milter_headers_decide(const struct conf *,
				          const struct milter_txn *,
				          struct milter_reply *);
extern void milter_headers_finish(struct milter_headers *);
extern int milter_strip_wanted(const struct conf *, const char *name,
			               const char *value);
extern void milter_txn_reset(struct milter_txn *);

/* rate.c: token buckets per key, thread-safe */
enum milter_rate_verdict {
    MILTER_RATE_OK,
    MILTER_RATE_SENDER,			/* the sender's bucket is empty */
    MILTER_RATE_CLIENT,			/* the client's bucket is empty */
};

extern struct milter_rate *milter_rate_create(void);
extern void milter_rate_destroy(struct milter_rate **);
extern enum milter_rate_verdict milter_rate_take(struct milter_rate *,
				           const char *sender, const char *client,
					          unsigned sender_per_hour,
					          unsigned client_per_hour,
						          time_t now);
extern size_t milter_rate_entries(struct milter_rate *);

/* milter_conn_spec - Postfix's "inet:host:port" / "unix:/path" in
   libmilter's syntax ("inet:port@host", "inet6:port@host",
   "unix:/path"); NULL for anything else. Result: mem_free(). */
extern char *milter_conn_spec(const char *listen);

/*
 * callbacks.c: the libmilter side. register: smfi_setconn,
 * smfi_register, smfi_opensocket (as root, before privileges are
 * dropped); run: smfi_main (blocks; returns 0 after stop, -1 on
 * failure); stop: smfi_stop. install: the snapshot new transactions
 * use (takes ownership of conf's reference and of key).
 */
extern int milter_callbacks_register(const char *conn_spec, char **error_r);
extern int milter_callbacks_run(void);
extern void milter_callbacks_stop(void);
extern void milter_snapshot_install(struct conf *conf, struct sigaddr_key *key);
extern void milter_callbacks_shutdown(void);

#endif
