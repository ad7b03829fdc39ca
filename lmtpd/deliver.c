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
/*	accepted with 250 2.1.5, and so is a signed command address
/*	(command_localpart+TOKEN@domain) whose token verifies; a token
/*	that does not verify gets 550 5.7.1 (expired: a text that says
/*	to answer a newer notification), anything else 550 5.1.1.
/*
/*	A mail to a signed address is an agent's command mail. The
/*	session authenticates it: the token's agent must exist and be
/*	active (else 550 5.7.1); the From: must hold exactly one mailbox,
/*	one of that agent's addresses, and, when command_auth says so,
/*	an Authentication-Results of our authserv-id must report dkim or
/*	dmarc pass for its domain; automatic mail (auto-replies, bounces,
/*	our own loops) runs no command either. A mail that fails these
/*	is quarantined (apply.c). Then the command block is parsed from
/*	the first text part, the agent's text is what follows it with
/*	the quotes trimmed, #list reads the agent's locked tickets, and
/*	the writer applies it (apply_run()).
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
#include <sigaddr.h>

#include "lmtpd_private.h"
#include "catalog.h"
#include "command.h"
#include "ingest_private.h"

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

/* signed_address - verify a signed command address: 1 good, 0 not one,
   -1 bad, -2 expired; fills claims_r */

static int signed_address(const struct deliver_session *ds, const char *rcpt,
			          struct sigaddr_claims *claims_r)
{
    char    token[SIGADDR_TOKEN_LEN + 1];
    const struct sigaddr_key *key = ds->notify ? notify_key(ds->notify) : 0;

    if (!sigaddr_match(rcpt, conf_command_localpart(ds->conf),
		       conf_domain(ds->conf), token))
	return (0);
    if (key == 0)
	return (-1);
    switch (sigaddr_verify(key, token, time(0), conf_token_max_age(ds->conf),
			   claims_r)) {
    case SIGADDR_OK:
	return (1);
    case SIGADDR_EXPIRED:
	return (-2);
    default:
	return (-1);
    }
}

/* on_rcpt - route one recipient */

static void on_rcpt(void *ctx, const struct lmtp_envelope *env,
		            const char *recipient, struct lmtp_reply *reply)
{
    struct deliver_session *ds = ctx;
    const struct conf_queue *q;
    struct sigaddr_claims claims;

    if (ds->conf == 0) {
	set_reply(reply, 451, "4.3.0 No configuration, try again later");
	return;
    }
    switch (signed_address(ds, recipient, &claims)) {
    case 1:
	set_reply(reply, 250, "2.1.5 Ok, command address");
	return;
    case -1:
	log_info("%s: to=<%.200s>, ident=%s, rejected: invalid command address",
		 env->id, recipient, log_ident(env));
	set_reply(reply, 550, "5.7.1 Invalid command address");
	return;
    case -2:
	log_info("%s: to=<%.200s>, ident=%s, rejected: expired command address",
		 env->id, recipient, log_ident(env));
	set_reply(reply, 550, "5.7.1 This reply address has expired: reply to "
		  "a newer notification");
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

/*
 * Command mail: what the session prepares for apply_run().
 */
struct command_mail {
    struct apply_job job;
    struct command_block *block;
    char   *agent_text;
    char   *list_text;
    char   *why;
    char   *why_local;
};

/* agent_by_claims - the agent whose id the token carries */

static const struct conf_agent *agent_by_claims(const struct conf *conf,
				              const struct sigaddr_claims *claims)
{
    for (size_t i = 0; i < conf_agent_count(conf); i++) {
	const struct conf_agent *a = conf_agent_at(conf, i);

	if (sigaddr_agent_id(a->login) == claims->agent_id)
	    return (a);
    }
    return (0);
}

/* agent_has_email - is addr one of a's addresses? */

static int agent_has_email(const struct conf_agent *a, const char *addr)
{
    for (const char *const *e = a->emails; e && *e; e++)
	if (strcasecmp(*e, addr) == 0)
	    return (1);
    return (0);
}

/* identity_problem - why the mail cannot act as the agent, or NULL */

/* printf_tr - mem_printf() of the translation of a literal format (the
   catalog's test checks that the translation has the same conversions) */

static char *printf_tr(const char *lang, const char *fmt,...) UTIL_PRINTFLIKE(2, 3);

static char *printf_tr(const char *lang, const char *fmt,...)
{
    struct buf *b = buf_create(128, 0);
    va_list ap;
    char   *out;

    va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    buf_vprintf(b, lmtp_catalog(lang, fmt), ap);
#pragma GCC diagnostic pop
    va_end(ap);
    out = buf_steal(b, 0);
    buf_destroy(&b);
    return (out);
}

/* identity_problem - why the mail cannot act as the agent, or NULL; in
   lang ("en" for the logs, the agent's for the warning) */

static char *identity_problem(const struct conf *conf,
			              const struct lmtp_parsed *parsed,
			              const struct store_message *m,
			              const struct conf_agent *a, const char *lang)
{
    const char *method = conf_command_auth(conf);
    const char *domain;

    if (m->automatic || m->own_loop)
	return (printf_tr(lang, "automatic mail (an auto-reply, a bounce or a "
			  "loop) runs no commands"));
    if (lmtp_parsed_from_count(parsed) != 1)
	return (printf_tr(lang, "From: holds %zu mailboxes, not one",
			  lmtp_parsed_from_count(parsed)));
    if (!agent_has_email(a, m->from))
	return (printf_tr(lang, "From: %s is not one of the addresses of agent %s",
			  m->from, a->login));
    if (strcmp(method, "none") != 0) {
	domain = strrchr(m->from, '@');
	if (domain == 0 || !lmtp_parsed_auth(parsed, conf_authserv_id(conf),
					     method, domain + 1))
	    return (printf_tr(lang, "no %s=pass for %s from %s", method,
			      domain ? domain + 1 : "?", conf_authserv_id(conf)));
    }
    return (0);
}

/* list_text - the #list lines: tickets locked to login */

static char *list_text(struct store *store, const char *login)
{
    struct store_filter filter;
    struct store_ticket *tickets = 0;
    struct buf *b = buf_create(256, 0);
    size_t  n = 0;

    memset(&filter, 0, sizeof(filter));
    filter.owner = login;
    filter.locked_only = 1;
    if (store_list(store, &filter, &tickets, &n) != STORE_OK) {
	buf_append_str(b, "(the list cannot be read now)\n");
    } else if (n == 0) {
	buf_append_str(b, "(none)\n");
    } else {
	for (size_t i = 0; i < n; i++) {
	    const struct store_ticket *t = tickets + i;

	    buf_printf(b, "%s %s  %s  %s  %.100s\n",
		       t->n_articles_total > t->owner_seen ? "*" : " ",
		       t->number, t->queue ? t->queue : "",
		       t->state ? t->state : "", t->title ? t->title : "");
	}
	buf_append_str(b, "\n* = a new article since your last action\n");
    }
    store_ticket_list_free(&tickets, n);
    return (buf_steal(b, 0));
}

/* command_prepare - authenticate and parse; 0, or -1 with a reply set */

static int command_prepare(struct deliver_session *ds,
			           const struct lmtp_envelope *env,
			           const struct lmtp_parsed *parsed,
			           const struct store_message *m,
			           const char *rcpt, struct command_mail *cm,
			           struct lmtp_reply *reply)
{
    struct sigaddr_claims claims;
    const struct conf_agent *a;
    const char *text;

    memset(cm, 0, sizeof(*cm));
    if (signed_address(ds, rcpt, &claims) != 1) {
	/* Expired between RCPT and the end of DATA (midnight). */
	set_reply(reply, 550, "5.7.1 This reply address has expired: reply to "
		  "a newer notification");
	return (-1);
    }
    if ((a = agent_by_claims(ds->conf, &claims)) == 0 || !a->active) {
	log_info("%s: to=<%.200s>, ident=%s, rejected: %s", env->id, rcpt,
		 log_ident(env), a ? "agent not active" : "agent unknown");
	set_reply(reply, 550, "5.7.1 This reply address belongs to no active "
		  "agent");
	return (-1);
    }
    cm->job.log_id = env->id;
    cm->job.recipient = rcpt;
    cm->job.agent = a;
    if (claims.ticket)
	snprintf(cm->job.number, sizeof(cm->job.number), "%llu",
		 (unsigned long long) claims.ticket);
    cm->job.revision = claims.revision;
    cm->job.msg = m;
    cm->job.now = m->received;
    if ((cm->why = identity_problem(ds->conf, parsed, m, a, "en")) != 0) {
	cm->why_local = identity_problem(ds->conf, parsed, m, a, a->language);
	cm->job.why_local = cm->why_local;
	cm->job.quarantine = 1;
	cm->job.automatic = (m->automatic || m->own_loop);
	cm->job.why = cm->why;
	log_warn("%s: to=<%.200s>, ident=%s, from=<%.200s>, agent=%s, "
		 "quarantined: %s", env->id, rcpt, log_ident(env), m->from,
		 a->login, cm->why);
	(void) lmtp_command_parse("", 0, &cm->block);
	cm->agent_text = mem_strdup("");
    } else {
	struct command_limits limits;

	text = lmtp_parsed_text(parsed);
	memset(&limits, 0, sizeof(limits));
	limits.language = a->language;		/* errors in the transcript */
	(void) lmtp_command_parse(text, &limits, &cm->block);
	cm->agent_text = lmtp_text_trim_quotes(text + cm->block->text_offset, 0);
	if (lmtp_command_block_find(cm->block, COMMAND_LIST))
	    cm->list_text = list_text(ds->dc->store, a->login);
    }
    cm->job.block = cm->block;
    cm->job.text = cm->job.quarantine ? "" : lmtp_parsed_text(parsed);
    cm->job.agent_text = cm->agent_text;
    cm->job.list_text = cm->list_text;
    return (0);
}

/* command_free - release what command_prepare() made */

static void command_free(struct command_mail *cm)
{
    lmtp_command_block_free(&cm->block);
    mem_free(cm->agent_text);
    mem_free(cm->list_text);
    mem_free(cm->why);
    mem_free(cm->why_local);
}

/* hint_prepare - an active agent wrote command lines to a queue address:
   they are text there (the mail has no token); the writer tells the
   agent (apply_hint()). The agent, or NULL. */

static const struct conf_agent *hint_prepare(const struct conf *conf,
				              const struct lmtp_parsed *parsed,
				                 const struct store_message *m,
				                 struct command_block **block_r)
{
    const struct conf_agent *a;

    if (m->automatic || m->own_loop || lmtp_parsed_from_count(parsed) != 1
	|| (a = conf_agent_by_email(conf, m->from)) == 0 || !a->active)
	return (0);
    (void) lmtp_command_parse(lmtp_parsed_text(parsed), 0, block_r);
    if ((*block_r)->command_count == 0) {
	lmtp_command_block_free(block_r);
	return (0);
    }
    return (a);
}

/* command_reply - the LMTP answer of an applied command mail */

static void command_reply(const struct apply_result *r, struct lmtp_reply *reply)
{
    switch (r->outcome) {
    case APPLY_DONE:
	set_reply(reply, 250, "2.0.0 Ok, commands applied%s%s",
		  *r->number ? " to ticket " : "", r->number);
	break;
    case APPLY_REFUSED:
	set_reply(reply, 250, "2.0.0 Ok, nothing changed: %zu error%s, "
		  "see the transcript", r->errors, r->errors == 1 ? "" : "s");
	break;
    case APPLY_DRY_RUN:
	set_reply(reply, 250, "2.0.0 Ok, dry run: nothing changed");
	break;
    case APPLY_CONFIRM:
	set_reply(reply, 250, "2.0.0 Ok, nothing changed: confirmation needed");
	break;
    case APPLY_DUPLICATE:
	set_reply(reply, 250, "2.0.0 Ok, already processed");
	break;
    case APPLY_QUARANTINED:
	set_reply(reply, 250, "2.0.0 Ok, quarantined: sender not verified");
	break;
    }
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
    struct command_mail *cms;
    const struct conf_agent *hint = 0;
    struct command_block *hint_block = 0;
    int     hint_checked = 0;
    char   *submitted;			/* handed to the writer */
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
    cms = mem_zalloc(n * sizeof(*cms));
    submitted = mem_zalloc(n);
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
	if (q == 0) {
	    if (command_prepare(ds, env, parsed, &msgs[i], rcpts[i], &cms[i],
				replies + i) < 0)
		continue;			/* answered: not submitted */
	    items[i].job = &cms[i].job;
	} else if (!hint_checked) {
	    hint_checked = 1;			/* the same for every recipient */
	    hint = hint_prepare(ds->conf, parsed, &msgs[i], &hint_block);
	}
	submitted[i] = 1;
	if (q && hint) {
	    items[i].hint = hint;
	    items[i].hint_block = hint_block;
	    items[i].hint_text = lmtp_parsed_text(parsed);
	}
    }
    /* Submit those that need the store, in order; the others are answered. */
    {
	struct writer_item *sub = mem_zalloc(n * sizeof(*sub));
	size_t *map = mem_zalloc(n * sizeof(*map));
	size_t  k = 0;

	for (size_t i = 0; i < n; i++)
	    if (submitted[i]) {
		map[k] = i;
		sub[k++] = items[i];
	    }
	writer_submit(ds->dc->writer, sub, k);
	for (size_t j = 0; j < k; j++)
	    items[map[j]] = sub[j];
	mem_free(sub);
	mem_free(map);
    }

    for (size_t i = 0; i < n; i++) {
	struct writer_item *it = items + i;

	if (!submitted[i])
	    continue;				/* answered by command_prepare() */
	if (it->status == STORE_OK && it->job) {
	    command_reply(&it->apply, replies + i);
	    log_info("%s: to=<%.200s>, ident=%s, from=<%.200s>, agent=%s, "
		     "ticket=%s, status=commands %s", env->id, rcpts[i],
		     log_ident(env), msgs[i].from, it->job->agent->login,
		     *it->apply.number ? it->apply.number : "-",
		     apply_outcome_name(it->apply.outcome));
	} else if (it->status == STORE_OK) {
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
    for (size_t i = 0; i < n; i++) {
	mem_free(rcpts[i]);
	command_free(&cms[i]);
    }
    mem_free(cms);
    mem_free(submitted);
    lmtp_command_block_free(&hint_block);
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
