/*++
/* NAME
/*	deliver 3
/* SUMMARY
/*	LMTP handler: route recipients, parse, hand over to the writer
/* SYNOPSIS
/*	#include "lmtpd_private.h"
/*
/*	const struct lmtp_handler deliver_handler;
/*
/*	struct deliver_session *deliver_session_create(dc)
/*	const struct deliver_context *dc;
/*
/*	void	deliver_session_destroy(dsp)
/*	struct deliver_session **dsp;
/* DESCRIPTION
/*	These are the policy callbacks of the protocol engine for one LMTP
/*	session (pass the deliver_session as the engine's context).
/*
/*	At MAIL the session takes a reference to the current configuration
/*	snapshot (and the matching templates and key for outbound mail) and
/*	keeps it for the whole transaction, so that a SIGHUP
/*	in the middle of a transaction cannot change its routing. In
/*	maintenance mode MAIL is answered 451 4.3.2: Postfix keeps the mail
/*	and retries.
/*
/*	At RCPT a queue address (case-insensitive, +extension ignored) is
/*	accepted with 250 2.1.5; anything else gets 550 5.1.1.
/*
/*	At the end of DATA the message is parsed once (GMime, in this
/*	session's thread), then one store_message per accepted recipient is
/*	handed to the writer, which commits them durably; only then are the
/*	replies produced: 250 with the ticket number, 550 5.7.1 for a
/*	follow-up to a closed ticket whose queue rejects them, 451 4.3.0
/*	when the store failed (never a 5xx for a store problem), and
/*	554 5.6.0 when the store declared the message unstorable.
/*
/*	One log line per recipient: "ID: to=<...>, ident=QID, queue=Q,
/*	ticket=N, status=new|follow-up|duplicate|rejected|deferred".
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <util.h>
#include <conf.h>
#include <store.h>
#include <notify.h>

#include "lmtpd_private.h"

struct deliver_session {
    const struct deliver_context *dc;
    struct conf *conf;			/* snapshot of the current transaction */
    struct notify *notify;		/* templates and key matching conf */
};

/* set_reply - fill a reply */

static void set_reply(struct lmtp_reply *r, int code, const char *fmt,...)
    UTIL_PRINTFLIKE(3, 4);

static void set_reply(struct lmtp_reply *r, int code, const char *fmt,...)
{
    va_list ap;

    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
    /* Nothing from outside may split a reply line. */
    for (char *cp = r->text; *cp; cp++)
	if (*cp == '\r' || *cp == '\n')
	    *cp = ' ';
}

/* log_ident - Postfix's queue id for log lines, or "-" */

static const char *log_ident(const struct lmtp_envelope *env)
{
    return (env->xforward_ident && *env->xforward_ident ?
	    env->xforward_ident : "-");
}

/* deliver_session_create - per-session handler state */

struct deliver_session *deliver_session_create(const struct deliver_context *dc)
{
    struct deliver_session *ds = mem_zalloc(sizeof(*ds));

    ds->dc = dc;
    return (ds);
}

/* deliver_session_destroy - release the snapshot */

void    deliver_session_destroy(struct deliver_session **dsp)
{
    if (dsp == 0 || *dsp == 0)
	return;
    if ((*dsp)->conf)
	conf_unref(&(*dsp)->conf);
    if ((*dsp)->notify)
	notify_unref(&(*dsp)->notify);
    mem_free(*dsp);
    *dsp = 0;
}

/* on_mail - start of a transaction */

static void on_mail(void *ctx, const struct lmtp_envelope *env,
		            struct lmtp_reply *reply)
{
    struct deliver_session *ds = ctx;

    if (ds->conf)
	conf_unref(&ds->conf);
    if (ds->notify)
	notify_unref(&ds->notify);
    ds->dc->snapshot_get(&ds->conf, &ds->notify);
    if (store_maintenance(ds->dc->store)) {
	log_info("%s: from=<%.200s>, ident=%s, deferred: maintenance",
		 env->id, env->sender, log_ident(env));
	set_reply(reply, 451, "4.3.2 Helpdesk in maintenance, try again later");
	return;
    }
    if (env->declared_size > conf_max_message_size(ds->conf)) {
	set_reply(reply, 552, "5.3.4 Message size exceeds fixed limit");
	return;
    }
    set_reply(reply, 250, "2.1.0 Ok");
}

/* on_rcpt - route one recipient */

static void on_rcpt(void *ctx, const struct lmtp_envelope *env,
		            const char *recipient, struct lmtp_reply *reply)
{
    struct deliver_session *ds = ctx;
    const struct conf_queue *q;

    if (ds->conf == 0) {
	set_reply(reply, 451, "4.3.0 No configuration, try again later");
	return;
    }
    if ((q = conf_queue_by_address(ds->conf, recipient)) != 0) {
	set_reply(reply, 250, "2.1.5 Ok, queue %s", q->name);
	return;
    }
    log_info("%s: to=<%.200s>, ident=%s, rejected: no such helpdesk address",
	     env->id, recipient, log_ident(env));
    set_reply(reply, 550, "5.1.1 No such helpdesk address");
}

/* outcome_name - for logs */

static const char *outcome_name(enum store_outcome o)
{
    switch (o) {
    case STORE_OUTCOME_NEW_TICKET:
	return ("new");
    case STORE_OUTCOME_FOLLOW_UP:
	return ("follow-up");
    case STORE_OUTCOME_DUPLICATE:
	return ("duplicate");
    case STORE_OUTCOME_REJECTED:
	return ("rejected");
    }
    return ("?");
}

/* on_data - parse once, commit per recipient, answer per recipient */

static void on_data(void *ctx, const struct lmtp_envelope *env,
		            const char *data, size_t len,
		            struct lmtp_reply *replies)
{
    struct deliver_session *ds = ctx;
    struct lmtp_parsed *parsed;
    struct store_message *msgs;
    struct writer_item *items;
    char  **rcpts;
    time_t  now = time(0);
    size_t  n = env->n_recipients;

    if (ds->conf == 0 || store_maintenance(ds->dc->store)) {
	for (size_t i = 0; i < n; i++)
	    set_reply(replies + i, 451, "4.3.2 Helpdesk in maintenance, try again later");
	log_info("%s: ident=%s, deferred: maintenance", env->id, log_ident(env));
	return;
    }
    parsed = lmtp_parse(data, len, ds->conf);
    msgs = mem_zalloc(n * sizeof(*msgs));
    items = mem_zalloc(n * sizeof(*items));
    rcpts = mem_zalloc(n * sizeof(*rcpts));
    for (size_t i = 0; i < n; i++) {
	const struct conf_queue *q;

	rcpts[i] = str_lower(mem_strdup(env->recipients[i]));
	q = conf_queue_by_address(ds->conf, rcpts[i]);
	msgs[i] = *lmtp_parsed_message(parsed);
	msgs[i].log_id = env->id;
	msgs[i].recipient = rcpts[i];
	msgs[i].queue = q ? q->name : "";
	msgs[i].default_type = q ? q->default_type : "Service Request";
	msgs[i].sender = env->sender;
	msgs[i].received = now;
	if (*env->sender == 0)
	    msgs[i].automatic = 1;
	items[i].conf = ds->conf;
	items[i].notify = ds->notify;
	items[i].msg = &msgs[i];
    }
    writer_submit(ds->dc->writer, items, n);

    for (size_t i = 0; i < n; i++) {
	struct writer_item *it = items + i;

	if (it->status == STORE_OK) {
	    switch (it->result.outcome) {
	    case STORE_OUTCOME_NEW_TICKET:
		set_reply(replies + i, 250, "2.0.0 Ok, ticket %s created",
			  it->result.number);
		break;
	    case STORE_OUTCOME_FOLLOW_UP:
		set_reply(replies + i, 250, "2.0.0 Ok, added to ticket %s",
			  it->result.number);
		break;
	    case STORE_OUTCOME_DUPLICATE:
		set_reply(replies + i, 250, "2.0.0 Ok, already in ticket %s",
			  it->result.number);
		break;
	    case STORE_OUTCOME_REJECTED:
		set_reply(replies + i, 550, "%s", *it->result.reason ?
			  it->result.reason : "5.7.1 Ticket is closed");
		break;
	    }
	    log_info("%s: to=<%.200s>, ident=%s, from=<%.200s>, size=%zu, queue=%s, "
		     "ticket=%s, status=%s", env->id, rcpts[i], log_ident(env),
		     env->sender, len, msgs[i].queue, it->result.number,
		     outcome_name(it->result.outcome));
	} else if (it->status == STORE_PERM) {
	    set_reply(replies + i, 554, "5.6.0 Message cannot be stored");
	    log_warn("%s: to=<%.200s>, ident=%s, status=bounced: unstorable message",
		     env->id, rcpts[i], log_ident(env));
	} else {
	    set_reply(replies + i, 451, "4.3.0 Temporary store failure, try again later");
	    log_warn("%s: to=<%.200s>, ident=%s, status=deferred: store failure",
		     env->id, rcpts[i], log_ident(env));
	}
    }
    for (size_t i = 0; i < n; i++)
	mem_free(rcpts[i]);
    mem_free(rcpts);
    mem_free(items);
    mem_free(msgs);
    lmtp_parsed_free(&parsed);
}

const struct lmtp_handler deliver_handler = {
    .mail = on_mail,
    .rcpt = on_rcpt,
    .data = on_data,
};
