/*++
/* NAME
/*	ctl_render 3
/* SUMMARY
/*	text and JSON forms of tickets, lists and store status
/* SYNOPSIS
/*	#include "ctl_private.h"
/*
/*	void	ctl_render_show(out, ticket)
/*	void	ctl_render_show_json(out, ticket)
/*	void	ctl_render_list(out, tickets, n)
/*	void	ctl_render_list_json(out, tickets, n)
/*	void	ctl_render_status(out, stats, daemon_pid, json)
/*	void	ctl_render_outbox(out, items, n)
/*	void	ctl_render_outbox_json(out, items, n)
/*
/*	int	ctl_render_new_article(ticket)
/* DESCRIPTION
/*	These append the output of postdeskctl's verbs to out; they own
/*	nothing and keep nothing.
/*
/*	The text forms are for people: every string from mail goes
/*	through ctl_text_put(), so a body cannot send escape sequences to
/*	a terminal. The list table aligns its columns by code points and
/*	cuts long cells (TITLE at CTL_TITLE_WIDTH) on character
/*	boundaries.
/*
/*	The JSON forms are for programs: every string goes through
/*	str_json_escape(), so the output parses whatever the mail held;
/*	times are RFC 3339 UTC; a missing owner is null. Keys: see
/*	postdeskctl(8). Each output ends with a newline.
/*
/*	The "new article" star (list's "*" column, "new_article" in
/*	JSON, ctl_render_new_article()) is on when the ticket is locked,
/*	has an owner, and has more articles than when its owner last
/*	acted on it (owner_seen).
/*
/*	The outbox table has the columns ID, STATE, ATTEMPTS, NEXT (the
/*	next attempt of a pending mail, RFC 3339; "-" otherwise), KIND,
/*	TICKET, TO (the envelope recipients) and LAST ERROR (last, cut
/*	at CTL_ERROR_WIDTH code points), then the count.
/* DIAGNOSTICS
/*	None. Buffer limits are the caller's: see ctl_run().
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <store.h>

#include "ctl_private.h"

/* Upper bounds for list cells other than TITLE, in code points. */
#define WIDTH_STATE	24
#define WIDTH_QUEUE	24
#define WIDTH_OWNER	20
#define WIDTH_CUSTOMER	40
#define WIDTH_KIND	16
#define WIDTH_TO	40
#define CTL_ERROR_WIDTH	80

/* sender_name - the JSON and text name of a sender type */

static const char *sender_name(enum store_sender_type type)
{
    switch (type) {
    case STORE_SENDER_AGENT:
	return ("agent");
    case STORE_SENDER_SYSTEM:
	return ("system");
    default:
	return ("customer");
    }
}

/* channel_name - the JSON and text name of a channel */

static const char *channel_name(enum store_channel channel)
{
    return (channel == STORE_CHANNEL_NOTE ? "note" : "email");
}

/* field - one "Label:    value" line of the show header */

static void field(struct buf *out, const char *label, const char *value)
{
    buf_printf(out, "%-11s ", label);
    ctl_text_put(out, value, 0);
    buf_append_char(out, '\n');
}

/* field_time - a header line with an RFC 3339 time */

static void field_time(struct buf *out, const char *label, time_t t)
{
    char    when[32];

    time_rfc3339(t, when);
    field(out, label, when);
}

/* render_article - one article of show */

static void render_article(struct buf *out, const struct store_article *a)
{
    char    when[32];

    buf_printf(out, "\n--- Article %" PRIu32 " (%s, %s, %s) ---\n", a->index,
	       sender_name(a->sender_type), channel_name(a->channel),
	       a->visible_to_customer ? "visible" : "internal");
    field(out, "From:", a->from);
    field(out, "To:", a->to);
    if (a->cc && *a->cc)
	field(out, "Cc:", a->cc);
    field(out, "Subject:", a->subject);
    time_rfc3339(a->received, when);
    field(out, "Received:", when);
    field(out, "Message-ID:", a->message_id);
    for (size_t i = 0; i < a->n_attachments; i++) {
	const struct store_attachment *att = a->attachments + i;

	buf_append_str(out, i == 0 ? "Attachment: " : "            ");
	ctl_text_put(out, att->name && *att->name ? att->name : "(unnamed)", 0);
	buf_append_str(out, " (");
	ctl_text_put(out, att->content_type, 0);
	buf_printf(out, ", %" PRIu64 " bytes)\n", att->size);
    }
    buf_append_char(out, '\n');
    if (a->body && *a->body) {
	ctl_text_put(out, a->body, 1);
	if (a->body[strlen(a->body) - 1] != '\n')
	    buf_append_char(out, '\n');
    }
}

/* render_history - one line: at who what [old] -> new, or at who what */

static void render_history(struct buf *out, const struct store_history *h)
{
    char    when[32];

    time_rfc3339(h->at, when);
    buf_printf(out, "%s ", when);
    ctl_text_put(out, h->who, 0);
    buf_append_char(out, ' ');
    ctl_text_put(out, h->what, 0);
    if (h->old_value) {
	buf_append_char(out, ' ');
	ctl_text_put(out, h->old_value, 0);
    }
    if (h->old_value || h->new_value) {
	buf_append_str(out, " -> ");
	ctl_text_put(out, h->new_value ? h->new_value : "-", 0);
    }
    buf_append_char(out, '\n');
}

/* field_due - a deadline line: its time, or "-" */

static void field_due(struct buf *out, const char *label, time_t t)
{
    if (t)
	field_time(out, label, t);
    else
	field(out, label, "-");
}

/* render_sla - the SLA lines of show (only when the ticket has one) */

static void render_sla(struct buf *out, const struct store_ticket *t)
{
    const char *kind = store_sla_escalation_kind(t);

    if (kind)
	field(out, "Escalation:", kind);
    if (t->sla == 0)
	return;
    field(out, "SLA:", t->sla);
    field_due(out, "First response due:", t->first_response_due);
    field_due(out, "First response at:", t->first_response_at);
    field_due(out, "Update due:", t->update_due);
    field_due(out, "Solution due:", t->solution_due);
    if (t->sla_paused)
	field_time(out, "SLA paused since:", t->sla_paused);
}

/* render_pending - the pending time of show, when there is one */

static void render_pending(struct buf *out, const struct store_ticket *t)
{
    if (t->pending_until)
	field_time(out, "Pending until:", t->pending_until);
}

/* render_watchers - "Watchers:   bob, carol" or "-" */

static void render_watchers(struct buf *out, const struct store_ticket *t)
{
    buf_printf(out, "%-11s ", "Watchers:");
    if (t->n_watchers == 0)
	buf_append_char(out, '-');
    for (size_t i = 0; i < t->n_watchers; i++) {
	if (i)
	    buf_append_str(out, ", ");
	ctl_text_put(out, t->watchers[i] ? t->watchers[i] : "", 0);
    }
    buf_append_char(out, '\n');
}

/* ctl_render_new_article - the "new article" star: locked, owned, and
   an article arrived after the owner's last action */

int     ctl_render_new_article(const struct store_ticket *t)
{
    return (t->locked && t->owner != 0 && t->n_articles_total > t->owner_seen);
}

/* ctl_render_show - the text form of one ticket */

void    ctl_render_show(struct buf *out, const struct store_ticket *t)
{
    field(out, "Ticket#:", t->number);
    field(out, "Title:", t->title);
    field(out, "Queue:", t->queue);
    field(out, "State:", t->state);
    buf_printf(out, "%-11s %d\n", "Priority:", t->priority);
    field(out, "Type:", t->type);
    field(out, "Lock:", t->locked ? "locked" : "unlocked");
    field(out, "Owner:", t->owner ? t->owner : "-");
    field(out, "Customer:", t->customer);
    field_time(out, "Created:", t->created);
    field_time(out, "Changed:", t->changed);
    field(out, "Escalated:", t->escalated ? "yes" : "no");
    render_pending(out, t);
    render_sla(out, t);
    if (t->merged_into)
	field(out, "Merged into:", t->merged_into);
    render_watchers(out, t);
    buf_printf(out, "%-11s %" PRIu32 "\n", "Revision:", t->revision);
    buf_printf(out, "%-11s %zu\n", "Articles:", t->n_articles);
    for (size_t i = 0; i < t->n_articles; i++)
	render_article(out, t->articles + i);
    buf_append_str(out, "\n--- History ---\n");
    for (size_t i = 0; i < t->n_history; i++)
	render_history(out, t->history + i);
}

/* json_key_str - "key":"value", */

static void json_key_str(struct buf *out, const char *key, const char *value,
			         int comma)
{
    buf_printf(out, "%s\"%s\":", comma ? "," : "", key);
    str_json_escape(out, value);
}

/* json_key_time - ,"key":"RFC 3339 time" */

static void json_key_time(struct buf *out, const char *key, time_t t)
{
    char    when[32];

    time_rfc3339(t, when);
    json_key_str(out, key, when, 1);
}

/* json_key_bool - ,"key":true|false */

static void json_key_bool(struct buf *out, const char *key, int value)
{
    buf_printf(out, ",\"%s\":%s", key, value ? "true" : "false");
}

/* json_key_due - ,"key":"RFC 3339 time" or ,"key":null for 0 */

static void json_key_due(struct buf *out, const char *key, time_t t)
{
    if (t == 0)
	buf_printf(out, ",\"%s\":null", key);
    else
	json_key_time(out, key, t);
}

/* json_article - one element of "articles" */

static void json_article(struct buf *out, const struct store_article *a)
{
    buf_printf(out, "{\"index\":%" PRIu32, a->index);
    json_key_str(out, "sender_type", sender_name(a->sender_type), 1);
    json_key_str(out, "channel", channel_name(a->channel), 1);
    json_key_bool(out, "visible_to_customer", a->visible_to_customer);
    json_key_bool(out, "seen", a->seen);
    json_key_str(out, "from", a->from ? a->from : "", 1);
    json_key_str(out, "to", a->to ? a->to : "", 1);
    json_key_str(out, "cc", a->cc ? a->cc : "", 1);
    json_key_str(out, "subject", a->subject ? a->subject : "", 1);
    json_key_str(out, "message_id", a->message_id ? a->message_id : "", 1);
    json_key_time(out, "received", a->received);
    json_key_str(out, "body", a->body ? a->body : "", 1);
    buf_append_str(out, ",\"attachments\":[");
    for (size_t i = 0; i < a->n_attachments; i++) {
	const struct store_attachment *att = a->attachments + i;

	buf_append_str(out, i ? ",{" : "{");
	json_key_str(out, "name", att->name ? att->name : "", 0);
	json_key_str(out, "content_type",
		     att->content_type ? att->content_type : "", 1);
	buf_printf(out, ",\"size\":%" PRIu64 "}", att->size);
    }
    buf_printf(out, "],\"raw_size\":%" PRIu64 "}", a->raw_len);
}

/* json_history - one element of "history" */

static void json_history(struct buf *out, const struct store_history *h)
{
    char    when[32];

    time_rfc3339(h->at, when);
    json_key_str(out, "at", when, 0);
    json_key_str(out, "who", h->who ? h->who : "", 1);
    json_key_str(out, "what", h->what ? h->what : "", 1);
    json_key_str(out, "old", h->old_value, 1);
    json_key_str(out, "new", h->new_value, 1);
}

/* json_ticket - the ticket object, with or without articles and history */

static void json_ticket(struct buf *out, const struct store_ticket *t,
			        int details)
{
    buf_append_char(out, '{');
    json_key_str(out, "number", t->number, 0);
    json_key_str(out, "title", t->title ? t->title : "", 1);
    json_key_str(out, "queue", t->queue ? t->queue : "", 1);
    json_key_str(out, "state", t->state ? t->state : "", 1);
    buf_printf(out, ",\"priority\":%d", t->priority);
    json_key_str(out, "type", t->type ? t->type : "", 1);
    json_key_bool(out, "locked", t->locked);
    json_key_str(out, "owner", t->owner, 1);
    json_key_str(out, "customer", t->customer ? t->customer : "", 1);
    json_key_time(out, "created", t->created);
    json_key_time(out, "changed", t->changed);
    json_key_bool(out, "escalated", t->escalated);
    json_key_str(out, "escalation", store_sla_escalation_kind(t), 1);
    json_key_str(out, "sla", t->sla, 1);
    json_key_due(out, "first_response_due", t->first_response_due);
    json_key_due(out, "first_response_at", t->first_response_at);
    json_key_due(out, "update_due", t->update_due);
    json_key_due(out, "solution_due", t->solution_due);
    json_key_bool(out, "sla_paused", t->sla_paused != 0);
    json_key_due(out, "pending_until", t->pending_until);
    json_key_str(out, "merged_into", t->merged_into, 1);
    buf_printf(out, ",\"article_count\":%" PRIu32, t->n_articles_total);
    buf_printf(out, ",\"revision\":%" PRIu32, t->revision);
    buf_append_str(out, ",\"watchers\":[");
    for (size_t i = 0; i < t->n_watchers; i++) {
	if (i)
	    buf_append_char(out, ',');
	str_json_escape(out, t->watchers[i] ? t->watchers[i] : "");
    }
    buf_append_char(out, ']');
    json_key_bool(out, "new_article", ctl_render_new_article(t));
    if (details) {
	buf_append_str(out, ",\"articles\":[");
	for (size_t i = 0; i < t->n_articles; i++) {
	    if (i)
		buf_append_char(out, ',');
	    json_article(out, t->articles + i);
	}
	buf_append_str(out, "],\"history\":[");
	for (size_t i = 0; i < t->n_history; i++) {
	    buf_append_str(out, i ? ",{" : "{");
	    json_history(out, t->history + i);
	    buf_append_char(out, '}');
	}
	buf_append_char(out, ']');
    }
    buf_append_char(out, '}');
}

/* ctl_render_show_json - one ticket as one JSON object */

void    ctl_render_show_json(struct buf *out, const struct store_ticket *t)
{
    json_ticket(out, t, 1);
    buf_append_char(out, '\n');
}

/* ctl_render_list_json - an array, one ticket per line */

void    ctl_render_list_json(struct buf *out, const struct store_ticket *t,
			             size_t n)
{
    if (n == 0) {
	buf_append_str(out, "[]\n");
	return;
    }
    buf_append_str(out, "[\n");
    for (size_t i = 0; i < n; i++) {
	json_ticket(out, t + i, 0);
	buf_append_str(out, i + 1 < n ? ",\n" : "\n");
    }
    buf_append_str(out, "]\n");
}

/*
 * The list table. Each column is as wide as its widest cell (bounded),
 * columns are separated by two spaces; TITLE is last and not padded.
 */
enum {
    COL_NUMBER, COL_STAR, COL_CREATED, COL_STATE, COL_PRIO, COL_DUE, COL_QUEUE,
    COL_OWNER, COL_CUSTOMER, COL_TITLE, COL_COUNT
};

static const char *col_names[COL_COUNT] = {
    "NUMBER", "*", "CREATED", "STATE", "PRIO", "DUE", "QUEUE", "OWNER",
    "CUSTOMER", "TITLE",
};

static const size_t col_max[COL_COUNT] = {
    32, 1, 20, WIDTH_STATE, 4, 21, WIDTH_QUEUE, WIDTH_OWNER, WIDTH_CUSTOMER,
    CTL_TITLE_WIDTH,
};

/* due_cell - the earliest running SLA deadline, "!" appended when the
   ticket is escalated; "-" when none */

static const char *due_cell(const struct store_ticket *t, char due[40])
{
    time_t  next = 0, d, w;

    for (int k = 0; k < STORE_SLA_KINDS; k++) {
	store_sla_due(t, k, &d, &w);
	if (d == 0 || (t->sla_paused && k != STORE_SLA_FIRST_RESPONSE))
	    continue;
	if (next == 0 || d < next)
	    next = d;
    }
    if (next == 0) {
	snprintf(due, 40, "%s", t->escalated ? "!" : "-");
	return (due);
    }
    time_rfc3339(next, due);
    if (t->escalated)
	strcat(due, "!");
    return (due);
}

/* cells - the text of each column of one ticket; created/prio use scratch */

static void cells(const struct store_ticket *t, const char *cell[COL_COUNT],
		          char created[32], char prio[16], char due[40])
{
    time_rfc3339(t->created, created);
    snprintf(prio, 16, "%d", t->priority);
    cell[COL_NUMBER] = t->number;
    cell[COL_STAR] = ctl_render_new_article(t) ? "*" : "";
    cell[COL_CREATED] = created;
    cell[COL_STATE] = t->state;
    cell[COL_PRIO] = prio;
    cell[COL_DUE] = due_cell(t, due);
    cell[COL_QUEUE] = t->queue;
    cell[COL_OWNER] = t->owner ? t->owner : "-";
    cell[COL_CUSTOMER] = t->customer;
    cell[COL_TITLE] = t->title;
}

/* row - one table line: padded cells, TITLE last and unpadded */

static void row(struct buf *out, const char *cell[COL_COUNT],
		        const size_t width[COL_COUNT])
{
    for (int c = 0; c < COL_COUNT; c++) {
	int     last = (c == COL_COUNT - 1);

	ctl_text_cell(out, cell[c], width[c], last ? 0 : width[c]);
	buf_append_str(out, last ? "\n" : "  ");
    }
}

/* ctl_render_list - the aligned table and the count */

void    ctl_render_list(struct buf *out, const struct store_ticket *t, size_t n)
{
    size_t  width[COL_COUNT];
    const char *cell[COL_COUNT];
    char    created[32];
    char    prio[16];
    char    due[40];

    for (int c = 0; c < COL_COUNT; c++)
	width[c] = strlen(col_names[c]);
    for (size_t i = 0; i < n; i++) {
	cells(t + i, cell, created, prio, due);
	for (int c = 0; c < COL_COUNT; c++) {
	    size_t  w = ctl_text_width(cell[c]);

	    if (w > col_max[c])
		w = col_max[c];
	    if (w > width[c])
		width[c] = w;
	}
    }
    row(out, col_names, width);
    for (size_t i = 0; i < n; i++) {
	cells(t + i, cell, created, prio, due);
	row(out, cell, width);
    }
    buf_printf(out, "%zu ticket%s\n", n, n == 1 ? "" : "s");
}

/* ctl_render_status - store and daemon facts */

void    ctl_render_status(struct buf *out, const struct store_stats *st,
			          long daemon_pid, int json)
{
    double  per_batch = st->batches ?
    (double) st->batched_messages / (double) st->batches : 0.0;

    if (json) {
	buf_printf(out, "{\"daemon\":%s,\"pid\":", daemon_pid > 0 ?
		   "\"running\"" : "\"not running\"");
	if (daemon_pid > 0)
	    buf_printf(out, "%ld", daemon_pid);
	else
	    buf_append_str(out, "null");
	buf_printf(out, ",\"schema_version\":%d,\"maintenance\":%s"
		   ",\"tickets\":%" PRIu64 ",\"articles\":%" PRIu64
		   ",\"batches\":%" PRIu64 ",\"batched_messages\":%" PRIu64
		   ",\"messages_per_batch\":%.2f,\"log_flushes\":%" PRIu64
		   ",\"deadlocks\":%" PRIu64 ",\"outbox_pending\":%" PRIu64
		   ",\"outbox_failed\":%" PRIu64 "}\n",
		   st->schema_version, st->maintenance ? "true" : "false",
		   st->tickets, st->articles, st->batches,
		   st->batched_messages, per_batch, st->log_flushes,
		   st->deadlocks, st->outbox_pending, st->outbox_failed);
	return;
    }
    if (daemon_pid > 0)
	buf_printf(out, "daemon:             running, pid %ld\n", daemon_pid);
    else
	buf_append_str(out, "daemon:             not running\n");
    buf_printf(out, "schema version:     %d\n", st->schema_version);
    buf_printf(out, "maintenance:        %s\n", st->maintenance ? "on" : "off");
    buf_printf(out, "tickets:            %" PRIu64 "\n", st->tickets);
    buf_printf(out, "articles:           %" PRIu64 "\n", st->articles);
    buf_printf(out, "batches:            %" PRIu64 "\n", st->batches);
    buf_printf(out, "messages per batch: %.2f\n", per_batch);
    buf_printf(out, "log flushes:        %" PRIu64 "\n", st->log_flushes);
    buf_printf(out, "deadlocks:          %" PRIu64 "\n", st->deadlocks);
    buf_printf(out, "outbox pending:     %" PRIu64 "\n", st->outbox_pending);
    buf_printf(out, "outbox failed:      %" PRIu64 "\n", st->outbox_failed);
}

/* outbox_state_name - the text and JSON name of an outbox state */

static const char *outbox_state_name(enum store_outbox_state state)
{
    switch (state) {
    case STORE_OUTBOX_SENT:
	return ("sent");
    case STORE_OUTBOX_FAILED:
	return ("failed");
    default:
	return ("pending");
    }
}

/* recipients_text - "a@x,b@y" (mem_free()) */

static char *recipients_text(const struct store_outbox_item *it)
{
    struct buf *b = buf_create(64, 0);
    char   *s;

    for (size_t i = 0; i < it->n_recipients; i++) {
	if (i)
	    buf_append_char(b, ',');
	buf_append_str(b, it->recipients[i] ? it->recipients[i] : "");
    }
    s = buf_steal(b, 0);
    buf_destroy(&b);
    return (s);
}

/*
 * The outbox table: like the list table, LAST ERROR last and unpadded.
 */
enum {
    OCOL_ID, OCOL_STATE, OCOL_ATTEMPTS, OCOL_NEXT, OCOL_KIND, OCOL_TICKET,
    OCOL_TO, OCOL_ERROR, OCOL_COUNT
};

static const char *ocol_names[OCOL_COUNT] = {
    "ID", "STATE", "ATTEMPTS", "NEXT", "KIND", "TICKET", "TO", "LAST ERROR",
};

static const size_t ocol_max[OCOL_COUNT] = {
    20, 7, 10, 20, WIDTH_KIND, 32, WIDTH_TO, CTL_ERROR_WIDTH,
};

struct ocells {				/* scratch for one row's cells */
    char    id[24];
    char    attempts[16];
    char    next[32];
    char   *to;
    const char *cell[OCOL_COUNT];
};

/* ocells_fill - the cells of one outbox row; ocells_free() after */

static void ocells_fill(struct ocells *c, const struct store_outbox_item *it)
{
    snprintf(c->id, sizeof(c->id), "%" PRIu64, it->id);
    snprintf(c->attempts, sizeof(c->attempts), "%" PRIu32, it->attempts);
    if (it->state == STORE_OUTBOX_PENDING)
	time_rfc3339(it->next_attempt, c->next);
    else
	snprintf(c->next, sizeof(c->next), "-");
    c->to = recipients_text(it);
    c->cell[OCOL_ID] = c->id;
    c->cell[OCOL_STATE] = outbox_state_name(it->state);
    c->cell[OCOL_ATTEMPTS] = c->attempts;
    c->cell[OCOL_NEXT] = c->next;
    c->cell[OCOL_KIND] = it->kind ? it->kind : "";
    c->cell[OCOL_TICKET] = it->number && *it->number ? it->number : "-";
    c->cell[OCOL_TO] = c->to;
    c->cell[OCOL_ERROR] = it->last_error && *it->last_error ? it->last_error : "-";
}

static void ocells_free(struct ocells *c)
{
    mem_free(c->to);
    c->to = 0;
}

/* orow - one outbox table line */

static void orow(struct buf *out, const char *const cell[OCOL_COUNT],
		         const size_t width[OCOL_COUNT])
{
    for (int c = 0; c < OCOL_COUNT; c++) {
	int     last = (c == OCOL_COUNT - 1);

	ctl_text_cell(out, cell[c], width[c], last ? 0 : width[c]);
	buf_append_str(out, last ? "\n" : "  ");
    }
}

/* ctl_render_outbox - the outbox table and the count */

void    ctl_render_outbox(struct buf *out, const struct store_outbox_item *items,
			          size_t n)
{
    size_t  width[OCOL_COUNT];
    struct ocells c;

    for (int k = 0; k < OCOL_COUNT; k++)
	width[k] = strlen(ocol_names[k]);
    for (size_t i = 0; i < n; i++) {
	ocells_fill(&c, items + i);
	for (int k = 0; k < OCOL_COUNT; k++) {
	    size_t  w = ctl_text_width(c.cell[k]);

	    if (w > ocol_max[k])
		w = ocol_max[k];
	    if (w > width[k])
		width[k] = w;
	}
	ocells_free(&c);
    }
    orow(out, ocol_names, width);
    for (size_t i = 0; i < n; i++) {
	ocells_fill(&c, items + i);
	orow(out, c.cell, width);
	ocells_free(&c);
    }
    buf_printf(out, "%zu mail%s\n", n, n == 1 ? "" : "s");
}

/* json_outbox_time - ,"key":"time" or ,"key":null for 0 */

static void json_outbox_time(struct buf *out, const char *key, time_t t)
{
    if (t == 0)
	buf_printf(out, ",\"%s\":null", key);
    else
	json_key_time(out, key, t);
}

/* ctl_render_outbox_json - an array, one mail per line */

void    ctl_render_outbox_json(struct buf *out,
			               const struct store_outbox_item *items,
			               size_t n)
{
    if (n == 0) {
	buf_append_str(out, "[]\n");
	return;
    }
    buf_append_str(out, "[\n");
    for (size_t i = 0; i < n; i++) {
	const struct store_outbox_item *it = items + i;

	buf_printf(out, "{\"id\":%" PRIu64, it->id);
	json_key_str(out, "state", outbox_state_name(it->state), 1);
	buf_printf(out, ",\"attempts\":%" PRIu32, it->attempts);
	json_key_str(out, "kind", it->kind ? it->kind : "", 1);
	json_key_str(out, "ticket", it->number && *it->number ? it->number : 0, 1);
	json_key_str(out, "envelope_from", it->envelope_from ? it->envelope_from : "", 1);
	buf_append_str(out, ",\"recipients\":[");
	for (size_t r = 0; r < it->n_recipients; r++) {
	    if (r)
		buf_append_char(out, ',');
	    str_json_escape(out, it->recipients[r] ? it->recipients[r] : "");
	}
	buf_append_char(out, ']');
	json_key_str(out, "message_id", it->message_id ? it->message_id : "", 1);
	json_key_time(out, "created", it->created);
	json_outbox_time(out, "next_attempt", it->state == STORE_OUTBOX_PENDING ?
			 it->next_attempt : 0);
	json_outbox_time(out, "last_attempt", it->last_attempt);
	json_key_str(out, "last_error", it->last_error ? it->last_error : "", 1);
	buf_append_str(out, i + 1 < n ? "},\n" : "}\n");
    }
    buf_append_str(out, "]\n");
}
