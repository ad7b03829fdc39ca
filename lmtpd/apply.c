/*++
/* NAME
/*	apply 3
/* SUMMARY
/*	agents' command mail: rights, guards, all-or-nothing application
/* SYNOPSIS
/*	#include "apply.h"
/*
/*	struct apply_plan *apply_plan_make(facts)
/*	const struct apply_facts *facts;
/*
/*	void	apply_plan_free(planp)
/*	struct apply_plan **planp;
/*
/*	int	apply_lost_update(ticket, field, token_revision, login)
/*
/*	int	apply_run(batch, conf, notify, job, result)
/*	struct store_batch *batch;
/*	const struct conf *conf;
/*	const struct notify *notify;
/*	const struct apply_job *job;
/*	struct apply_result *result;
/* DESCRIPTION
/*	apply_plan_make() is the pure half: it walks the parsed command
/*	block of an authenticated agent against the ticket as it is now
/*	and decides, for every command, its outcome ("ok: ...",
/*	"error: ...", "refused: ..."), and what would change. Rights:
/*	the agent must work the ticket's queue (else "ticket not found
/*	or not accessible", the same words as for a ticket that does not
/*	exist); #queue needs the right on the target queue too; #owner,
/*	#watch AGENT and #inform only name active agents who work the
/*	(final) queue; #merge needs the right on both tickets, and the
/*	target's absence reads like a missing right. A ticket locked by
/*	another agent refuses #take, #lock, #owner and #reply unless
/*	#force. #expect FIELD=VALUE must hold. #template names a response
/*	template; #reply (or #template) needs a text or a template, and a
/*	ticket whose requester can be written to. #pending without a
/*	pending #state means "pending reminder"; a pending #state without
/*	#pending means one day from the mail's arrival. Closing a ticket
/*	unlocks it; a reply, #take or #lock on a "new" ticket without
/*	#state makes it "open". #merge is applied only with #confirm CODE, the code
/*	the previous transcript gave (valid the day it was made and the
/*	next). On the personal address (no ticket) only #list and #help
/*	are allowed. A mail whose Subject names another ticket than its
/*	signed address is refused as a whole (a reply sent to the wrong
/*	notification must not act on the wrong ticket).
/*
/*	apply_lost_update() is the lost-update guard: a field that this
/*	mail changes and that someone else changed after the revision of
/*	the notification the agent answers refuses the mail unless #force.
/*
/*	apply_run() is called by the writer thread inside its batch for
/*	one mail to a signed address. In order: redelivery (the same
/*	recipient, Message-ID and raw bytes: nothing again, no second
/*	transcript); a quarantined mail (a good token with a From: that is
/*	not the agent's) becomes an unverified internal note plus a
/*	warning to the agent, rate limited; otherwise the ticket is read,
/*	the plan made, and when it has no error (and is no dry run and no
/*	merge waiting for its confirmation) everything is applied in the
/*	batch, in this order: the note or the reply, owner, lock, queue,
/*	type, priority, watchers, title (store_ticket_update()), the
/*	merge, then the state and pending time, the audit record of the
/*	command lines, the owner's "seen" mark, and the notifications of
/*	other agents. The transcript is written for every mail that was
/*	refused, a dry run or a merge waiting for its code, and for applied
/*	ones when the agent's notify setting has "transcript" (a mail with
/*	only #help or #list gets that mail instead). Because
/*	every check is made before the first write, a refused mail writes
/*	nothing but its transcript and its redelivery key; a store error
/*	aborts the whole batch (the writer replays it, or answers 4xx).
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include <util.h>
#include <conf.h>
#include <store.h>
#include <notify.h>
#include <sigaddr.h>

#include "apply.h"
#include "catalog.h"
#include "ingest_private.h"

#define DEFAULT_PENDING	(24 * 3600)	/* a pending state without a time */
#define QUARANTINE_LIMIT 20		/* warnings per agent per 24 h */

/* apply_outcome_name - for logs */

const char *apply_outcome_name(enum apply_outcome o)
{
    static const char *const names[] = {
	"applied", "refused", "dry-run", "confirm", "duplicate", "quarantined",
    };

    return ((unsigned) o < sizeof(names) / sizeof(names[0]) ? names[o] : "?");
}

 /*
  * The plan.
  */

struct planner {
    const struct apply_facts *f;
    struct apply_plan *p;
    const struct conf_queue *queue;	/* the ticket's queue now */
    const struct conf_queue *final_queue;	/* after #queue */
    const char *me;
    const char *lang;			/* the agent's: "fr" or "en" */
};

/* tr - text in the agent's language (lmtpd/catalog.c) */

#define tr(lang, text)	lmtp_catalog((lang), (text))

/*
 * vprintf_tr - buf_vprintf() of the translation of fmt. The catalog's
 * unit test checks that every translation has the conversions of its
 * English format, in order, so the compiler's check of the English
 * literal at the call site holds for both.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static void vprintf_tr(struct buf *b, const char *lang, const char *fmt,
		               va_list ap)
{
    buf_vprintf(b, tr(lang, fmt), ap);
}

/* printf_tr - buf_printf() of the translation of a literal format */

static void printf_tr(struct buf *, const char *, const char *,...)
    UTIL_PRINTFLIKE(3, 4);

static void printf_tr(struct buf *b, const char *lang, const char *fmt,...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, tr(lang, fmt), ap);
    va_end(ap);
}

#pragma GCC diagnostic pop

/* outcome - set the outcome of command i */

static void outcome(struct planner *pl, size_t i, const char *fmt,...)
    UTIL_PRINTFLIKE(3, 4);

static void outcome(struct planner *pl, size_t i, const char *fmt,...)
{
    va_list ap;
    struct buf *b = buf_create(64, 0);

    va_start(ap, fmt);
    vprintf_tr(b, pl->lang, fmt, ap);
    va_end(ap);
    mem_free(pl->p->outcomes[i]);
    pl->p->outcomes[i] = buf_steal(b, 0);
    buf_destroy(&b);
    if (strncmp(fmt, "ok", 2) != 0 && strncmp(fmt, "comment", 7) != 0)
	pl->p->n_errors++;
}

/* general - a general error (not tied to one command) */

static void general(struct apply_plan *p, const char *fmt,...)
    UTIL_PRINTFLIKE(2, 3);

static void general(struct apply_plan *p, const char *fmt,...)
{
    va_list ap;
    struct buf *b = buf_create(64, 0);

    va_start(ap, fmt);
    vprintf_tr(b, p->lang, fmt, ap);
    va_end(ap);
    p->errors = mem_realloc(p->errors, (p->n_general + 1) * sizeof(*p->errors));
    p->errors[p->n_general++] = buf_steal(b, 0);
    buf_destroy(&b);
    p->n_errors++;
}

/* agent_usable - an active agent who works q, or NULL with *why_r */

static const struct conf_agent *agent_usable(const struct conf *conf,
					             const char *login,
					             const struct conf_queue *q,
					             const char **why_r)
{
    const struct conf_agent *a = conf_agent_find(conf, login);

    if (a == 0) {
	*why_r = "no such agent";
	return (0);
    }
    if (!a->active) {
	*why_r = "agent is not active";
	return (0);
    }
    if (!conf_agent_works(a, q)) {
	*why_r = "agent does not work this queue";
	return (0);
    }
    return (a);
}

/* locked_by_other - locked to another agent than me */

static const char *locked_by_other(const struct planner *pl)
{
    const struct store_ticket *t = pl->f->ticket;

    if (t->locked && t->owner && strcasecmp(t->owner, pl->me) != 0)
	return (t->owner);
    return (0);
}

/* expect_holds - does #expect FIELD=VALUE hold? *actual_r: the value */

static int expect_holds(const struct store_ticket *t, const char *field,
		                const char *value, char *actual, size_t len)
{
    if (strcmp(field, "owner") == 0) {
	snprintf(actual, len, "%s", t->owner ? t->owner : "none");
	return (strcasecmp(actual, value) == 0);
    } else if (strcmp(field, "state") == 0) {
	snprintf(actual, len, "%s", t->state ? t->state : "");
    } else if (strcmp(field, "queue") == 0) {
	snprintf(actual, len, "%s", t->queue ? t->queue : "");
	return (strcasecmp(actual, value) == 0);
    } else if (strcmp(field, "type") == 0) {
	snprintf(actual, len, "%s", t->type ? t->type : "");
    } else if (strcmp(field, "priority") == 0) {
	snprintf(actual, len, "%d", t->priority);
    } else if (strcmp(field, "lock") == 0) {
	snprintf(actual, len, "%s", t->locked ? "locked" : "unlocked");
    } else if (strcmp(field, "title") == 0) {
	snprintf(actual, len, "%s", t->title ? t->title : "");
    } else {
	snprintf(actual, len, "?");
	return (0);
    }
    return (strcmp(actual, value) == 0);
}

/* pending_time - the instant of a #pending argument */

static time_t pending_time(const struct command_when *w, time_t now)
{
    struct tm tm;

    if (w->relative)
	return (now + w->seconds);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = w->year - 1900;
    tm.tm_mon = w->month - 1;
    tm.tm_mday = w->day;
    tm.tm_hour = w->has_time ? w->hour : 0;
    tm.tm_min = w->has_time ? w->minute : 0;
    tm.tm_isdst = -1;
    return (mktime(&tm));
}

/* push - append a borrowed string to an owned array */

static void push(const char ***arr, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
	if (strcasecmp((*arr)[i], s) == 0)
	    return;
    *arr = mem_realloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[(*n)++] = s;
}

/* plan_first_pass - queue and mode first: others depend on them */

static void plan_first_pass(struct planner *pl)
{
    const struct command_block *blk = pl->f->block;

    for (size_t i = 0; i < blk->count; i++) {
	const struct command *c = blk->commands + i;

	if (c->kind == COMMAND_REPLY || c->kind == COMMAND_TEMPLATE)
	    pl->p->mode = APPLY_MODE_REPLY;
	else if (c->kind == COMMAND_FORCE)
	    pl->p->force = 1;
	else if (c->kind == COMMAND_DRY_RUN)
	    pl->p->dry_run = 1;
	else if (c->kind == COMMAND_QUEUE && pl->f->ticket) {
	    const struct conf_queue *q = conf_queue_find(pl->f->conf, c->arg);

	    if (q && conf_agent_works(pl->f->agent, q))
		pl->final_queue = q;
	}
    }
}

/* plan_owner - #take, #owner, #lock, #unlock */

static void plan_owner(struct planner *pl, size_t i, const struct command *c)
{
    const struct store_ticket *t = pl->f->ticket;
    struct apply_plan *p = pl->p;
    const char *other = locked_by_other(pl);
    const char *why;

    if (other && !p->force && c->kind != COMMAND_UNLOCK) {
	outcome(pl, i, "refused: locked by %s (add #force to override)", other);
	return;
    }
    switch (c->kind) {
    case COMMAND_TAKE:
	p->change.set_owner = 1;
	p->change.owner = pl->me;
	p->change.lock = 1;
	outcome(pl, i, "ok: owner %s, locked", pl->me);
	break;
    case COMMAND_OWNER:
	if (c->owner == COMMAND_OWNER_NONE) {
	    p->change.set_owner = 1;
	    p->change.owner = 0;
	    p->change.lock = 0;
	    outcome(pl, i, "ok: no owner, unlocked");
	} else {
	    const char *login = c->owner == COMMAND_OWNER_SELF ? pl->me : c->arg;
	    const struct conf_agent *a;

	    if ((a = agent_usable(pl->f->conf, login, pl->final_queue, &why)) == 0) {
		outcome(pl, i, "error: cannot give the ticket to %s: %s", login,
			tr(pl->lang, why));
		return;
	    }
	    p->change.set_owner = 1;
	    p->change.owner = a->login;
	    outcome(pl, i, "ok: owner %s", a->login);
	}
	break;
    case COMMAND_LOCK:
	p->change.lock = 1;
	if (!p->change.set_owner && t->owner == 0) {
	    p->change.set_owner = 1;
	    p->change.owner = pl->me;
	    outcome(pl, i, "ok: locked, owner %s", pl->me);
	} else {
	    outcome(pl, i, "ok: locked");
	}
	break;
    case COMMAND_UNLOCK:
	p->change.lock = 0;
	outcome(pl, i, "ok: unlocked");
	break;
    default:
	break;
    }
}

/* plan_watch - #watch, #unwatch, #inform */

static void plan_agents(struct planner *pl, size_t i, const struct command *c)
{
    struct apply_plan *p = pl->p;
    struct buf *names = buf_create(64, 0);
    const char *why;

    if (c->agent_count == 0 && c->kind != COMMAND_INFORM) {
	if (c->kind == COMMAND_WATCH)
	    push(&p->watch_add, &p->change.n_watch_add, pl->me);
	else
	    push(&p->watch_remove, &p->change.n_watch_remove, pl->me);
	if (c->kind == COMMAND_WATCH)
	    outcome(pl, i, "ok: watching %s", pl->me);
	else
	    outcome(pl, i, "ok: no longer watching %s", pl->me);
	buf_destroy(&names);
	return;
    }
    for (size_t k = 0; k < c->agent_count; k++) {
	const struct conf_agent *a;

	if (c->kind == COMMAND_UNWATCH) {
	    if ((a = conf_agent_find(pl->f->conf, c->agents[k])) == 0) {
		outcome(pl, i, "error: %s: no such agent", c->agents[k]);
		buf_destroy(&names);
		return;
	    }
	} else if ((a = agent_usable(pl->f->conf, c->agents[k], pl->final_queue,
				     &why)) == 0) {
	    outcome(pl, i, "error: %s: %s", c->agents[k], tr(pl->lang, why));
	    buf_destroy(&names);
	    return;
	}
	buf_printf(names, "%s%s", buf_len(names) ? ", " : "", a->login);
    }
    for (size_t k = 0; k < c->agent_count; k++) {
	const struct conf_agent *a = conf_agent_find(pl->f->conf, c->agents[k]);

	if (c->kind == COMMAND_WATCH)
	    push(&p->watch_add, &p->change.n_watch_add, a->login);
	else if (c->kind == COMMAND_UNWATCH)
	    push(&p->watch_remove, &p->change.n_watch_remove, a->login);
	else
	    push(&p->informed, &p->n_informed, a->login);
    }
    if (c->kind == COMMAND_WATCH)
	outcome(pl, i, "ok: watching: %s", buf_data(names));
    else if (c->kind == COMMAND_UNWATCH)
	outcome(pl, i, "ok: no longer watching: %s", buf_data(names));
    else
	outcome(pl, i, "ok: informing %s", buf_data(names));
    buf_destroy(&names);
}

/* plan_command - one command of a ticket mail */

static void plan_command(struct planner *pl, size_t i, const struct command *c)
{
    const struct apply_facts *f = pl->f;
    const struct store_ticket *t = f->ticket;
    struct apply_plan *p = pl->p;
    const struct conf_queue *q;
    char    actual[256];

    switch (c->kind) {
    case COMMAND_COMMENT:
	outcome(pl, i, "comment");
	break;
    case COMMAND_NOTE:
	if (f->has_text)
	    outcome(pl, i, "ok: internal note");
	else
	    outcome(pl, i, "ok: (no text)");
	break;
    case COMMAND_REPLY:
    case COMMAND_TEMPLATE:
	if (locked_by_other(pl) && !p->force) {
	    outcome(pl, i, "refused: locked by %s (add #force to override)",
		    locked_by_other(pl));
	} else if (!f->reply_ok) {
	    outcome(pl, i, "error: cannot reply: %s",
		    tr(pl->lang, f->reply_why ? f->reply_why
		       : "the ticket has no requester address"));
	} else if (c->kind == COMMAND_TEMPLATE
		   && (f->response_exists == 0
		       || !f->response_exists(f->response_ctx, c->arg))) {
	    outcome(pl, i, "error: no response template \"%s\"", c->arg);
	} else if (c->kind == COMMAND_REPLY && !f->has_text
		   && lmtp_command_block_find(f->block, COMMAND_TEMPLATE) == 0) {
	    outcome(pl, i, "error: #reply without a text");
	} else {
	    if (c->kind == COMMAND_TEMPLATE) {
		p->response = c->arg;
		outcome(pl, i, "ok: template %s", c->arg);
	    } else {
		outcome(pl, i, "ok: reply to the requester");
	    }
	}
	break;
    case COMMAND_TAKE:
    case COMMAND_OWNER:
    case COMMAND_LOCK:
    case COMMAND_UNLOCK:
	plan_owner(pl, i, c);
	break;
    case COMMAND_QUEUE:
	if ((q = conf_queue_find(f->conf, c->arg)) == 0) {
	    outcome(pl, i, "error: no such queue \"%s\"", c->arg);
	} else if (!conf_agent_works(f->agent, q)) {
	    outcome(pl, i, "refused: you do not work queue %s", q->name);
	} else {
	    p->change.queue = q->name;
	    outcome(pl, i, "ok: queue %s -> %s", t->queue, q->name);
	}
	break;
    case COMMAND_TYPE:
	p->change.type = c->arg;
	outcome(pl, i, "ok: type %s -> %s", t->type ? t->type : "-", c->arg);
	break;
    case COMMAND_PRIORITY:
	p->change.priority = c->priority;
	outcome(pl, i, "ok: priority %d -> %d", t->priority, c->priority);
	break;
    case COMMAND_STATE:
	if (strcmp(c->arg, "merged") == 0) {
	    outcome(pl, i, "error: use #merge to merge a ticket");
	    break;
	}
	p->set_state = 1;
	p->state = c->arg;
	if (strncmp(c->arg, "pending", 7) == 0 && p->pending_until == 0)
	    p->pending_until = f->now + DEFAULT_PENDING;
	outcome(pl, i, "ok: state %s -> %s", t->state, c->arg);
	break;
    case COMMAND_PENDING:
	p->pending_until = pending_time(&c->when, f->now);
	if (p->pending_until <= f->now) {
	    outcome(pl, i, "error: the pending time is in the past");
	    break;
	}
	if (!p->set_state) {
	    const struct command *s = lmtp_command_block_find(f->block, COMMAND_STATE);

	    p->set_state = 1;
	    p->state = s ? s->arg : "pending reminder";
	}
	{
	    char    when[32];

	    time_rfc3339(p->pending_until, when);
	    outcome(pl, i, "ok: pending until %s", when);
	}
	break;
    case COMMAND_WATCH:
    case COMMAND_UNWATCH:
    case COMMAND_INFORM:
	plan_agents(pl, i, c);
	if (c->kind == COMMAND_INFORM && !f->has_text)
	    outcome(pl, i, "error: #inform needs a text to send");
	break;
    case COMMAND_TITLE:
	p->change.title = c->arg;
	outcome(pl, i, "ok: title changed");
	break;
    case COMMAND_MERGE:
	if (f->merge_target == 0 || f->merge_target->queue == 0
	    || !conf_agent_works(f->agent, conf_queue_find(f->conf,
						   f->merge_target->queue))) {
	    outcome(pl, i, "error: ticket %s not found or not accessible", c->arg);
	} else if (strcmp(f->merge_target->number, t->number) == 0) {
	    outcome(pl, i, "error: a ticket cannot be merged into itself");
	} else if (f->merge_target->merged_into) {
	    outcome(pl, i, "error: ticket %s was itself merged into %s",
		    c->arg, f->merge_target->merged_into);
	} else {
	    p->merge_into = f->merge_target->number;
	    outcome(pl, i, "ok: merge into %s", f->merge_target->number);
	}
	break;
    case COMMAND_CONFIRM:
	if (lmtp_command_block_find(f->block, COMMAND_MERGE) == 0)
	    outcome(pl, i, "error: nothing to confirm");
	else if ((f->confirm_codes[0] && *f->confirm_codes[0]
		  && strcmp(c->arg, f->confirm_codes[0]) == 0)
		 || (f->confirm_codes[1] && *f->confirm_codes[1]
		     && strcmp(c->arg, f->confirm_codes[1]) == 0))
	    outcome(pl, i, "ok: confirmed");
	else
	    outcome(pl, i, "error: wrong or expired confirmation code");
	break;
    case COMMAND_EXPECT:
	if (expect_holds(t, c->arg, c->value, actual, sizeof(actual)))
	    outcome(pl, i, "ok: %s is %s", c->arg, c->value);
	else
	    outcome(pl, i, "refused: %s is \"%s\", not \"%s\"", c->arg, actual,
		    c->value);
	break;
    case COMMAND_FORCE:
	outcome(pl, i, "ok: applied even after changes by others");
	break;
    case COMMAND_DRY_RUN:
	outcome(pl, i, "ok: dry run, nothing will be changed");
	break;
    case COMMAND_HELP:
	p->help = 1;
	outcome(pl, i, "ok: the command reference is on its way");
	break;
    case COMMAND_LIST:
	p->list = 1;
	outcome(pl, i, "ok: the list of your locked tickets is on its way");
	break;
    case COMMAND_KIND_COUNT:
	break;
    }
}

/* plan_personal - the personal address: #list and #help only */

static void plan_personal(struct planner *pl, size_t i, const struct command *c)
{
    switch (c->kind) {
    case COMMAND_COMMENT:
	outcome(pl, i, "comment");
	break;
    case COMMAND_HELP:
	pl->p->help = 1;
	outcome(pl, i, "ok: the command reference is on its way");
	break;
    case COMMAND_LIST:
	pl->p->list = 1;
	outcome(pl, i, "ok: the list of your locked tickets is on its way");
	break;
    case COMMAND_DRY_RUN:
	pl->p->dry_run = 1;
	outcome(pl, i, "ok: dry run");
	break;
    default:
	outcome(pl, i, "error: #%s needs a ticket: reply to a notification "
		"about it", lmtp_command_name(c->kind));
	break;
    }
}

/* plan_touches - the fields the plan changes, and whether any */

static void plan_touches(struct planner *pl)
{
    struct apply_plan *p = pl->p;
    const struct store_ticket *t = pl->f->ticket;
    struct store_ticket_change *ch = &p->change;

    if (ch->set_owner)
	p->touches[STORE_FIELD_OWNER] = 1;
    if (ch->lock >= 0)
	p->touches[STORE_FIELD_LOCK] = 1;
    if (ch->queue)
	p->touches[STORE_FIELD_QUEUE] = 1;
    if (ch->type)
	p->touches[STORE_FIELD_TYPE] = 1;
    if (ch->priority)
	p->touches[STORE_FIELD_PRIORITY] = 1;
    if (ch->n_watch_add || ch->n_watch_remove)
	p->touches[STORE_FIELD_WATCHERS] = 1;
    if (ch->title)
	p->touches[STORE_FIELD_TITLE] = 1;
    if (p->set_state || p->merge_into)
	p->touches[STORE_FIELD_STATE] = 1;
    /* Closing unlocks (OTOBO does the same). */
    if (p->set_state && strncmp(p->state, "closed", 6) == 0 && t->locked
	&& ch->lock < 0)
	ch->lock = 0;
    for (int f = 0; f < STORE_FIELD_COUNT; f++)
	if (p->touches[f])
	    p->changes_ticket = 1;
}

/* apply_lost_update - see DESCRIPTION */

int     apply_lost_update(const struct store_ticket *t, enum store_field f,
			          unsigned token_revision, const char *login)
{
    const struct store_field_change *c = &t->changes[f];
    uint16_t diff;

    if (c->revision == 0)
	return (0);
    diff = (uint16_t) ((uint16_t) c->revision - (uint16_t) token_revision);
    if (diff == 0 || diff >= 0x8000)
	return (0);				/* at or before the token */
    return (c->who == 0 || login == 0 || strcasecmp(c->who, login) != 0);
}

/* apply_plan_make - see DESCRIPTION */

struct apply_plan *apply_plan_make(const struct apply_facts *f)
{
    struct apply_plan *p = mem_zalloc(sizeof(*p));
    struct planner pl;
    const struct command_block *blk = f->block;

    memset(&pl, 0, sizeof(pl));
    pl.f = f;
    pl.p = p;
    pl.me = f->agent ? f->agent->login : "?";
    pl.lang = p->lang = (f->agent && f->agent->language) ? f->agent->language : "en";
    p->mode = APPLY_MODE_NOTE;
    p->change.lock = -1;
    p->outcomes = mem_zalloc((blk->count + 1) * sizeof(*p->outcomes));
    if (blk->error_count > 0) {
	for (size_t i = 0; i < blk->error_count; i++) {
	    if (blk->errors[i].line)
		general(p, "line %u: %s", blk->errors[i].line,
			blk->errors[i].message);
	    else
		general(p, "%s", blk->errors[i].message);
	}
	if (blk->errors_dropped)
	    general(p, "%zu more errors", blk->errors_dropped);
	return (p);
    }
    if (f->personal) {
	for (size_t i = 0; i < blk->count; i++)
	    plan_personal(&pl, i, blk->commands + i);
	return (p);
    }
    if (f->ticket == 0 || f->ticket->queue == 0
	|| !conf_agent_works(f->agent, pl.queue = conf_queue_find(f->conf,
							   f->ticket->queue))) {
	general(p, "ticket not found or not accessible");
	return (p);
    }
    if (f->subject_ticket && strcmp(f->subject_ticket, f->ticket->number) != 0) {
	general(p, "this reply address belongs to ticket %s, but the subject "
		"names ticket %s: reply to a notification about that ticket",
		f->ticket->number, f->subject_ticket);
	return (p);
    }
    if (f->ticket->merged_into) {
	general(p, "ticket %s was merged into %s: reply to a notification "
		"about that ticket", f->ticket->number, f->ticket->merged_into);
	return (p);
    }
    pl.final_queue = pl.queue;
    plan_first_pass(&pl);
    for (size_t i = 0; i < blk->count; i++)
	plan_command(&pl, i, blk->commands + i);
    if (p->mode == APPLY_MODE_REPLY && lmtp_command_block_find(blk, COMMAND_REPLY) == 0
	&& lmtp_command_block_find(blk, COMMAND_TEMPLATE) == 0)
	p->mode = APPLY_MODE_NOTE;
    if (p->set_state && p->merge_into) {
	general(p, "#merge cannot go with #state or #pending");
    }
    if (p->set_state && p->pending_until
	&& strncmp(p->state, "pending", 7) != 0)
	p->pending_until = 0;
    p->change.watch_add = p->watch_add;
    p->change.watch_remove = p->watch_remove;
    /* An agent who answers or takes a new ticket opens it. */
    if (!p->set_state && !p->merge_into && f->ticket->state
	&& strcmp(f->ticket->state, "new") == 0
	&& (p->mode == APPLY_MODE_REPLY || p->change.lock == 1)) {
	p->set_state = 1;
	p->state = "open";
    }
    plan_touches(&pl);
    if (p->merge_into && p->n_errors == 0) {
	const struct command *c = lmtp_command_block_find(blk, COMMAND_CONFIRM);

	if (c == 0)
	    p->needs_confirm = 1;
    }
    /* Lost updates, once everything else holds. */
    if (p->n_errors == 0 && !p->force) {
	for (int fld = 0; fld < STORE_FIELD_COUNT; fld++) {
	    const struct store_field_change *c = &f->ticket->changes[fld];

	    if (p->touches[fld]
		&& apply_lost_update(f->ticket, fld, f->revision, pl.me))
		general(p, "refused: %s was changed by %s after the notification "
			"you answer (add #force to apply anyway)",
			store_field_name(fld), c->who ? c->who : "someone");
	}
    }
    return (p);
}

/* apply_plan_free - free and NULL */

void    apply_plan_free(struct apply_plan **pp)
{
    struct apply_plan *p;

    if (pp == 0 || (p = *pp) == 0)
	return;
    for (size_t i = 0; p->outcomes && p->outcomes[i]; i++)
	mem_free(p->outcomes[i]);
    mem_free(p->outcomes);
    for (size_t i = 0; i < p->n_general; i++)
	mem_free(p->errors[i]);
    mem_free(p->errors);
    mem_free(p->informed);
    mem_free(p->watch_add);
    mem_free(p->watch_remove);
    mem_free(p);
    *pp = 0;
}

 /*
  * Applying, in the writer's batch.
  */

/* redelivery_key - SHA-256(recipient NUL message-id NUL sha256(raw)) */

static void redelivery_key(const struct apply_job *job, unsigned char key[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 32;

    EVP_DigestInit_ex(ctx, EVP_sha256(), 0);
    EVP_DigestUpdate(ctx, job->recipient, strlen(job->recipient) + 1);
    EVP_DigestUpdate(ctx, job->msg->message_id, strlen(job->msg->message_id) + 1);
    EVP_DigestUpdate(ctx, job->msg->hash, 32);
    EVP_DigestFinal_ex(ctx, key, &len);
    EVP_MD_CTX_free(ctx);
}

/* response_exists - adapter for the plan */

static int response_exists(const void *ctx, const char *name)
{
    return (notify_response_exists(ctx, name));
}

/* agent_from - "Name <address>" of the agent's mail */

static char *agent_from(const struct apply_job *job)
{
    const struct conf_agent *a = job->agent;

    return (mem_printf("%s <%s>", a->name && *a->name ? a->name : a->login,
		       job->msg->from));
}

/* block_lines - the command lines, for the audit record: one line,
   "; " between them (history values are shown on one line) */

static void block_lines(struct buf *b, const struct command_block *blk)
{
    for (size_t i = 0; i < blk->count; i++)
	buf_printf(b, "%s%s", i ? "; " : "", blk->commands[i].raw);
}

/* transcript_lines - each line of the block, then its outcome or error */

static void transcript_lines(struct buf *b, const struct apply_job *job,
			             const struct apply_plan *p)
{
    const struct command_block *blk = job->block;
    const char *cp = job->text ? job->text : "";
    unsigned line = 1;

    if (strncmp(cp, "\xef\xbb\xbf", 3) == 0)
	cp += 3;
    while (*cp && blk->first_line && line <= blk->last_line) {
	size_t  len = strcspn(cp, "\n");
	size_t  show = len;

	if (show > 0 && cp[show - 1] == '\r')
	    show--;
	if (line >= blk->first_line) {
	    buf_printf(b, "> %.*s%s\n", (int) (show > 200 ? 200 : show), cp,
		       show > 200 ? " [...]" : "");
	    for (size_t i = 0; i < blk->count; i++)
		if (blk->commands[i].line == line && p->outcomes[i])
		    buf_printf(b, "  %s\n", p->outcomes[i]);
	    for (size_t i = 0; i < blk->error_count; i++)
		if (blk->errors[i].line == line)
		    printf_tr(b, p->lang, "  error: %s\n", blk->errors[i].message);
	}
	cp += len + (cp[len] == '\n');
	line++;
    }
    if (blk->error_count > 0) {
	for (size_t i = 0; i < blk->error_count; i++)
	    if (blk->errors[i].line == 0)
		printf_tr(b, p->lang, "error: %s\n", blk->errors[i].message);
	if (blk->errors_dropped)
	    printf_tr(b, p->lang, "error: %zu more errors\n", blk->errors_dropped);
    } else {
	for (size_t i = 0; i < p->n_general; i++)
	    printf_tr(b, p->lang, "error: %s\n", p->errors[i]);
    }
}

/* wants_transcript - does the agent's notify setting name "transcript"?
   (Without it only refused, dry-run and unconfirmed mail get one.) */

static int wants_transcript(const struct conf_agent *a)
{
    for (const char *const *e = a->notify; e && *e; e++)
	if (strcmp(*e, "transcript") == 0)
	    return (1);
    return (0);
}

/* send_agent - one mail to the agent */

static int send_agent(const struct notify *n, struct store_batch *batch,
		              const struct conf *conf, const struct apply_job *job,
		              enum notify_agent_kind kind, const char *number,
		              const char *outcome_text, const char *text,
		              struct apply_result *res)
{
    struct notify_agent_mail m;
    int     status;

    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.agent = job->agent->login;
    m.number = number ? number : "";
    m.subject = job->msg->subject;
    m.in_reply_to = job->msg->message_id;
    m.outcome = outcome_text;
    m.text = text;
    m.at = job->now;
    status = notify_agent_send(n, batch, conf, &m);
    if (status == STORE_OK)
	res->queued++;
    else if (status == STORE_PERM) {
	log_warn("%s: cannot write to agent %s: bad address", job->log_id,
		 job->agent->login);
	status = STORE_OK;
    }
    return (status);
}

/* apply_hint - see apply.h */

int     apply_hint(struct store_batch *batch, const struct conf *conf,
		           const struct notify *n, const struct conf_agent *agent,
		           const struct store_message *msg,
		           const struct command_block *block, const char *text,
		           const char *number, size_t *queued_r)
{
    struct apply_job job;
    struct apply_result res;
    struct buf *b;
    char   *key;
    int     allowed = 0;
    int     status;

    key = mem_printf("hint:%s", agent->login);
    status = store_ack_charge(batch, key, msg->received, APPLY_HINT_LIMIT,
			      &allowed);
    mem_free(key);
    if (status != STORE_OK)
	return (status);
    if (!allowed) {
	log_info("%s: %s's commands to a queue address: no hint (limit)",
		 msg->log_id, agent->login);
	return (STORE_OK);
    }
    memset(&job, 0, sizeof(job));
    job.log_id = msg->log_id;
    job.agent = agent;
    job.msg = msg;
    job.block = block;
    job.text = text;
    job.now = msg->received;
    b = buf_create(512, 0);
    printf_tr(b, agent->language, "These command lines were not run: commands "
	      "work only in a reply to a notification or a transcript, whose "
	      "Reply-To is your own address for the ticket. Your mail was added "
	      "to ticket %s as it is.\n\n", number);
    for (size_t i = 0; i < block->count; i++)
	buf_printf(b, "> %s\n", block->commands[i].raw);
    printf_tr(b, agent->language, "\nTo run them, reply to this message with "
	      "the same lines.\n");
    memset(&res, 0, sizeof(res));
    status = send_agent(n, batch, conf, &job, NOTIFY_AGENT_TRANSCRIPT, number,
			tr(agent->language, "Commands not run"), buf_data(b), &res);
    buf_destroy(&b);
    *queued_r += res.queued;
    log_info("%s: %s's commands to a queue address were not run; hint sent",
	     msg->log_id, agent->login);
    return (status);
}

/* quarantine - a good token, a From: that is not the agent's */

static int quarantine(struct store_batch *batch, const struct conf *conf,
		              const struct notify *n, const struct apply_job *job,
		              struct apply_result *res)
{
    struct store_article_input in;
    struct store_ticket *t = 0;
    char   *body;
    char   *subject;
    char   *text;
    int     allowed = 0;
    int     status;

    res->outcome = APPLY_QUARANTINED;
    if (*job->number
	&& (status = store_batch_ticket_get_articles(batch, job->number, 0, 0,
						     &t)) != STORE_OK
	&& status != STORE_NOTFOUND)
	return (status);
    body = mem_printf("[unverified: %s]\n\n%s", job->why, job->msg->body);
    subject = mem_printf("[unverified] %s", job->msg->subject);
    if (t) {
	memset(&in, 0, sizeof(in));
	in.sender_type = STORE_SENDER_CUSTOMER;
	in.channel = STORE_CHANNEL_NOTE;
	in.visible_to_customer = 0;
	in.who = *job->msg->from ? job->msg->from : "unknown";
	in.from = job->msg->from_header;
	in.to = job->msg->to;
	in.cc = job->msg->cc;
	in.subject = subject;
	in.message_id = "";			/* no threading by an unverified mail */
	in.body = body;
	in.at = job->now;
	in.raw = job->msg->raw;
	in.raw_len = job->msg->raw_len;
	status = store_article_add(batch, job->log_id, t->number, &in, 0);
	if (status == STORE_OK)
	    status = store_ticket_audit(batch, job->log_id, t->number, in.who,
					"quarantine", job->why, job->now);
	snprintf(res->number, sizeof(res->number), "%s", t->number);
	if (status != STORE_OK)
	    goto out;
    }
    {
	char   *key = mem_printf("quarantine:%s", job->agent->login);

	status = store_ack_charge(batch, key, job->now, QUARANTINE_LIMIT, &allowed);
	mem_free(key);
    }
    if (status == STORE_OK && job->automatic) {
	log_info("%s: automatic mail to %s's address: no warning", job->log_id,
		 job->agent->login);
    } else if (status == STORE_OK && allowed) {
	text = mem_printf("From: %s\n%s", job->msg->from_header,
			  job->why_local ? job->why_local : job->why);
	status = send_agent(n, batch, conf, job, NOTIFY_AGENT_QUARANTINE,
			    t ? t->number : "",
			    tr(job->agent->language, "Unverified"), text, res);
	mem_free(text);
    } else if (status == STORE_OK) {
	log_warn("%s: quarantine warnings to %s over the limit, none sent",
		 job->log_id, job->agent->login);
    }
out:
    mem_free(body);
    mem_free(subject);
    store_ticket_free(&t);
    return (status);
}

/* summary - what the ticket looks like now, for the transcript */

static void summary(struct buf *b, const char *lang,
		            const struct store_ticket *t, const char *sent_to,
		            uint32_t article, int mode_reply)
{
    char    when[32];

    printf_tr(b, lang, "Ticket: %s %s\n", t->number, t->title ? t->title : "");
    printf_tr(b, lang, "State: %s\n", t->state ? t->state : "");
    if (t->pending_until && t->state && strncmp(t->state, "pending", 7) == 0) {
	time_rfc3339(t->pending_until, when);
	printf_tr(b, lang, "Pending until: %s\n", when);
    }
    if (t->owner == 0)
	printf_tr(b, lang, "Owner: none\n");
    else if (t->locked)
	printf_tr(b, lang, "Owner: %s (locked)\n", t->owner);
    else
	printf_tr(b, lang, "Owner: %s\n", t->owner);
    printf_tr(b, lang, "Queue: %s\n", t->queue ? t->queue : "");
    printf_tr(b, lang, "Priority: %d, type: %s\n", t->priority,
	      t->type ? t->type : "");
    if (t->merged_into)
	printf_tr(b, lang, "Merged into: %s\n", t->merged_into);
    if (sent_to)
	printf_tr(b, lang, "Sent: reply (article %u) to %s\n", article, sent_to);
    else if (article && mode_reply)
	printf_tr(b, lang, "Recorded: reply (article %u)\n", article);
    else if (article)
	printf_tr(b, lang, "Recorded: internal note (article %u)\n", article);
}

/* notify_changes - tell other agents */

static int notify_changes(struct store_batch *batch, const struct conf *conf,
			          const struct notify *n, const struct apply_job *job,
			          const struct apply_plan *p,
			          const struct store_ticket *before,
			          const struct store_ticket *after,
			          uint32_t article, struct apply_result *res)
{
    struct notify_event ev;
    size_t  queued;
    int     status = STORE_OK;

    memset(&ev, 0, sizeof(ev));
    ev.number = after->number;
    ev.actor = job->agent->login;
    ev.informed = p->informed;
    ev.n_informed = p->n_informed;
    if (article && (p->mode == APPLY_MODE_NOTE || p->n_informed)) {
	ev.type = NOTIFY_NEW_NOTE;
	ev.article = article;
	queued = 0;
	status = notify_event(n, batch, conf, &ev, job->now, &queued);
	res->queued += queued;
    }
    ev.informed = 0;
    ev.n_informed = 0;
    ev.article = 0;
    if (status == STORE_OK && after->owner
	&& (before->owner == 0 || strcmp(before->owner, after->owner) != 0)
	&& strcasecmp(after->owner, job->agent->login) != 0) {
	ev.type = NOTIFY_OWNER;
	queued = 0;
	status = notify_event(n, batch, conf, &ev, job->now, &queued);
	res->queued += queued;
    }
    if (status == STORE_OK && after->locked && !before->locked) {
	ev.type = NOTIFY_LOCK;
	queued = 0;
	status = notify_event(n, batch, conf, &ev, job->now, &queued);
	res->queued += queued;
    }
    if (status == STORE_OK && strcmp(before->queue, after->queue) != 0) {
	ev.type = NOTIFY_MOVE;
	ev.detail = before->queue;
	queued = 0;
	status = notify_event(n, batch, conf, &ev, job->now, &queued);
	res->queued += queued;
    }
    return (status);
}

/* apply_changes - everything, in order; the plan holds no error */

static int apply_changes(struct store_batch *batch, const struct conf *conf,
			         const struct notify *n, const struct apply_job *job,
			         const struct apply_plan *p,
			         const struct store_ticket *t,
			         uint32_t *article_r, char **sent_to_r)
{
    const char *login = job->agent->login;
    int     status = STORE_OK;
    struct buf *audit;

    *article_r = 0;
    *sent_to_r = 0;
    if (p->mode == APPLY_MODE_REPLY) {
	struct notify_reply r;

	memset(&r, 0, sizeof(r));
	r.number = t->number;
	r.agent = login;
	r.text = job->agent_text;
	r.response = p->response;
	r.at = job->now;
	status = notify_reply_send(n, batch, conf, &r, article_r, sent_to_r);
    } else if (*job->agent_text) {
	struct store_article_input in;
	char   *from = agent_from(job);

	memset(&in, 0, sizeof(in));
	in.sender_type = STORE_SENDER_AGENT;
	in.channel = STORE_CHANNEL_NOTE;
	in.visible_to_customer = 0;
	in.seen = 1;
	in.who = login;
	in.from = from;
	in.to = job->msg->to;
	in.cc = job->msg->cc;
	in.subject = job->msg->subject;
	in.message_id = job->msg->message_id;
	in.body = job->agent_text;
	in.at = job->now;
	in.raw = job->msg->raw;
	in.raw_len = job->msg->raw_len;
	status = store_article_add(batch, job->log_id, t->number, &in, article_r);
	mem_free(from);
    }
    if (status == STORE_OK && (p->change.set_owner || p->change.lock >= 0
			       || p->change.queue || p->change.type
			       || p->change.priority || p->change.n_watch_add
			       || p->change.n_watch_remove || p->change.title))
	status = store_ticket_update(batch, conf, job->log_id, t->number,
				     &p->change, login, job->now);
    if (status == STORE_OK && p->merge_into)
	status = store_ticket_merge(batch, conf, job->log_id, t->number,
				    p->merge_into, login, job->now);
    if (status == STORE_OK && p->set_state)
	status = store_ticket_state_set(batch, conf, job->log_id, t->number,
					p->state, p->pending_until, login,
					job->now);
    if (status == STORE_OK && job->block->count > 0) {
	audit = buf_create(256, 0);
	block_lines(audit, job->block);
	status = store_ticket_audit(batch, job->log_id, t->number, login,
				    "commands", buf_data(audit), job->now);
	buf_destroy(&audit);
    }
    if (status == STORE_OK)
	status = store_ticket_seen(batch, job->log_id, t->number, login);
    return (status);
}

/* ticket_integer_text - a ticket number from the token */

static int load_ticket(struct store_batch *batch, const char *number,
		               struct store_ticket **t_r)
{
    int     status;

    *t_r = 0;
    if (number == 0 || *number == 0)
	return (STORE_NOTFOUND);
    status = store_batch_ticket_get_articles(batch, number, 0, 0, t_r);
    return (status);
}

/* apply_run - see DESCRIPTION */

int     apply_run(struct store_batch *batch, const struct conf *conf,
		          const struct notify *n, const struct apply_job *job,
		          struct apply_result *res)
{
    unsigned char key[32];
    char    seen_number[32];
    time_t  seen_at;
    struct store_ticket *t = 0;
    struct store_ticket *target = 0;
    struct store_ticket *after = 0;
    struct apply_plan *p = 0;
    struct apply_facts f;
    const struct command *merge;
    char    codes[2][9];
    char   *sent_to = 0;
    uint32_t article = 0;
    struct buf *text = 0;
    const char *outcome_text;
    int     status;

    memset(res, 0, sizeof(*res));
    redelivery_key(job, key);
    status = store_command_seen(batch, key, &seen_at, seen_number);
    if (status == STORE_OK) {
	char    when[32];

	time_rfc3339(seen_at, when);
	log_info("%s: command mail already processed at %s, nothing done",
		 job->log_id, when);
	res->outcome = APPLY_DUPLICATE;
	snprintf(res->number, sizeof(res->number), "%s", seen_number);
	return (STORE_OK);
    }
    if (status != STORE_NOTFOUND)
	return (status);

    if (job->quarantine) {
	status = quarantine(batch, conf, n, job, res);
	goto record;
    }

    /* The facts, read through the batch. */
    if ((status = load_ticket(batch, job->number, &t)) != STORE_OK
	&& status != STORE_NOTFOUND)
	goto out;
    if ((merge = lmtp_command_block_find(job->block, COMMAND_MERGE)) != 0
	&& (status = load_ticket(batch, merge->arg, &target)) != STORE_OK
	&& status != STORE_NOTFOUND)
	goto out;
    memset(&f, 0, sizeof(f));
    f.conf = conf;
    f.agent = job->agent;
    f.ticket = t;
    f.personal = (*job->number == 0);
    f.merge_target = target;
    f.revision = job->revision;
    f.block = job->block;
    f.has_text = (*job->agent_text != 0);
    f.reply_ok = t ? notify_reply_check(conf, t, &f.reply_why) : 0;
    f.response_exists = response_exists;
    f.response_ctx = n;
    if (merge && t) {
	unsigned day = sigaddr_day(job->now);

	notify_confirm_code(n, job->agent->login, t->number, merge->arg, day,
			    codes[0]);
	notify_confirm_code(n, job->agent->login, t->number, merge->arg, day - 1,
			    codes[1]);
	f.confirm_codes[0] = codes[0];
	f.confirm_codes[1] = codes[1];
    }
    f.now = job->now;
    f.subject_ticket = job->msg->ticket_ref;
    p = apply_plan_make(&f);
    status = STORE_OK;				/* a missing ticket is the plan's */
    if (t)
	snprintf(res->number, sizeof(res->number), "%s", t->number);
    res->errors = p->n_errors;

    if (p->n_errors > 0)
	res->outcome = APPLY_REFUSED;
    else if (p->dry_run)
	res->outcome = APPLY_DRY_RUN;
    else if (p->needs_confirm)
	res->outcome = APPLY_CONFIRM;
    else
	res->outcome = APPLY_DONE;

    if (res->outcome == APPLY_DONE && t) {
	status = apply_changes(batch, conf, n, job, p, t, &article, &sent_to);
	if (status == STORE_OK)
	    status = load_ticket(batch, t->number, &after);
	if (status == STORE_OK)
	    status = notify_changes(batch, conf, n, job, p, t, after, article, res);
	if (status != STORE_OK)
	    goto out;
    }

    /* The transcript (always), then #help and #list. */
    text = buf_create(1024, 0);
    transcript_lines(text, job, p);
    if (res->outcome != APPLY_DONE)
	buf_append_char(text, '\n');
    switch (res->outcome) {
    case APPLY_REFUSED:
	if (p->n_errors == 1)
	    printf_tr(text, p->lang, "No changes were made: 1 error.\n");
	else
	    printf_tr(text, p->lang, "No changes were made: %zu errors.\n",
		      p->n_errors);
	outcome_text = tr(p->lang, "No changes made");
	break;
    case APPLY_DRY_RUN:
	printf_tr(text, p->lang, "Dry run: everything would work; no changes "
		  "were made.\n");
	outcome_text = tr(p->lang, "Dry run");
	break;
    case APPLY_CONFIRM:
	printf_tr(text, p->lang, "No changes were made: merging cannot be "
		  "undone.\nTo merge, reply with these two lines (valid today "
		  "and tomorrow):\n\n#merge %s\n#confirm %s\n", p->merge_into,
		  codes[0]);
	outcome_text = tr(p->lang, "Confirmation needed");
	break;
    default:
	outcome_text = tr(p->lang, "Processed");
	break;
    }
    if (after || t) {
	buf_append_char(text, '\n');
	summary(text, p->lang, after ? after : t, sent_to, article,
		p->mode == APPLY_MODE_REPLY);
    }
    if (res->outcome != APPLY_DONE
	|| (wants_transcript(job->agent)
	    && !((p->help || p->list) && job->block->command_count == 1))) {
	status = send_agent(n, batch, conf, job, NOTIFY_AGENT_TRANSCRIPT,
			    t ? t->number : "", outcome_text, buf_data(text), res);
	if (status != STORE_OK)
	    goto out;
    }
    if (p->help && res->outcome != APPLY_REFUSED
	&& (status = send_agent(n, batch, conf, job, NOTIFY_AGENT_HELP, "",
				tr(p->lang, "Help"), "", res)) != STORE_OK)
	goto out;
    if (p->list && res->outcome != APPLY_REFUSED
	&& (status = send_agent(n, batch, conf, job, NOTIFY_AGENT_LIST, "",
				tr(p->lang, "Locked tickets"),
				job->list_text ? job->list_text : "", res)) != STORE_OK)
	goto out;

record:
    if (status == STORE_OK)
	status = store_command_record(batch, job->log_id, key, res->number,
				      job->now);
out:
    buf_destroy(&text);
    mem_free(sent_to);
    apply_plan_free(&p);
    store_ticket_free(&t);
    store_ticket_free(&target);
    store_ticket_free(&after);
    return (status);
}
