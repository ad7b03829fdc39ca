/*++
/* NAME
/*	compose 3
/* SUMMARY
/*	acknowledgements and agent notifications, written to the outbox
/* SYNOPSIS
/*	#include <notify.h>
/*
/*	struct notify *notify_create(conf, key, errors_r)
/*	const struct conf *conf;
/*	struct sigaddr_key *key;
/*	char	**errors_r;
/*
/*	struct notify *notify_ref(notify)
/*	void	notify_unref(notifyp)
/*
/*	int	notify_ingest(notify, batch, conf, msg, res, now, queued_r)
/*	int	notify_event(notify, batch, conf, event, now, queued_r)
/*
/*	#include "notify_private.h"
/*
/*	int	notify_compose_ack(notify, conf, msg, ticket, now, mail_r)
/*	int	notify_compose_agent(notify, conf, ticket, article, event,
/*					agent, now, mail_r)
/*	void	notify_mail_free(mail)
/*	enum notify_lang notify_lang_of(tag, def)
/* DESCRIPTION
/*	notify_create() loads every template (see template.c) from
/*	conf_templates_dir(conf)/{fr,en}/, with the response templates of
/*	{fr,en}/responses/, and takes ownership of key (NULL:
/*	no Reply-To on agent mail). On failure it returns NULL with
/*	*errors_r (mem_free(); one "FILE:LINE: message" line per problem)
/*	and frees key. notify_ref() adds a reference; notify_unref() drops
/*	one, frees the bundle (and the key) with the last, and sets
/*	*notifyp to NULL. The bundle is immutable: any thread may use it.
/*
/*	notify_ingest() runs in the writer thread after store_deliver(),
/*	in the same batch. For a new ticket: the acknowledgement to the
/*	requester, unless notify_may_acknowledge() says no or the rate
/*	limit (store_ack_charge(), conf_auto_ack_limit() per sender per
/*	24 h) is reached, each time with a log line "ID: no
/*	acknowledgement to <ADDR>: REASON"; then the agents' new-ticket
/*	notifications. For a follow-up: the agents' follow-up
/*	notifications of the new article. A duplicate or a rejected mail
/*	gives nothing. notify_event() writes the agent notifications of
/*	one event. Both add *queued_r outbox rows and return STORE_OK,
/*	STORE_RETRY (abort the batch and replay it) or STORE_TEMP.
/*
/*	The acknowledgement: from the queue address that received the
/*	mail (its "+extension" dropped; the queue name as display name),
/*	to the From: address, Subject "[HOOKNUMBER] " and the template's
/*	Subject, in English when the mail's Content-Language starts with
/*	"en", in French when it starts with "fr", else in
/*	conf_language(). Headers: Message-ID <NUMBER.ack.RANDOM@DOMAIN>,
/*	Date, Auto-Submitted: auto-replied, X-Postdesk-Loop: INSTANCE,
/*	In-Reply-To and References to the request's Message-ID, MIME
/*	text/plain UTF-8 (7bit when possible, else quoted-printable),
/*	RFC 2047 words for non-ASCII Subject and names; CRLF line ends.
/*	Null envelope sender. It is also stored in the ticket as a system
/*	article, visible to the customer and already seen (who
/*	"system"), with the message as raw bytes. Outbox kind "ack".
/*
/*	An agent notification: from "postdesk" <COMMAND_LOCALPART@DOMAIN>,
/*	to the agent's first address (display name the agent's name),
/*	Reply-To the agent's signed command address (ticket number, the
/*	ticket's revision modulo 65536, issue day of now), Subject
/*	"[HOOKNUMBER] " and the template's Subject, in the agent's
/*	language, Auto-Submitted:
/*	auto-generated, X-Postdesk-Loop, Message-ID
/*	<NUMBER.EVENT.RANDOM@DOMAIN>, In-Reply-To and References to the
/*	quoted article's Message-ID when it has one; null envelope
/*	sender; outbox kind the event name. It quotes the event's article
/*	(not for lock, which carries the title only). Notifications are
/*	not stored as articles.
/*
/*	Dates in mail text (article.received) are in the server's local
/*	time zone: "27/11/2026 à 09:14" in French, "2026-11-27 09:14" in
/*	English.
/*
/*	notify_compose_ack() and notify_compose_agent() build one message
/*	without touching the store (the unit test uses them);
/*	notify_mail_free() frees its fields.
/*
/*	The pieces are shared with agentmail.c through notify_private.h:
/*	notify_values_*() (placeholder values), notify_build_message()
/*	(a struct notify_mail_spec as CRLF bytes; Cc when n_cc > 0, no
/*	Auto-Submitted header when auto_submitted is NULL),
/*	notify_message_id(), notify_display_form(), notify_display_name(),
/*	notify_agent_name(), notify_customer_name(), notify_body_cap() and
/*	notify_ticket_integer().
/* DIAGNOSTICS
/*	Log lines start with the message's log id (ingest) or the ticket
/*	number (events). A message that cannot be composed (no template,
/*	no queue address) or that the store refuses as bad input
/*	(STORE_PERM) is logged and skipped, as is an event on a ticket
/*	that does not exist; any other store error is returned.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/rand.h>

#include "util.h"
#include "conf.h"
#include "store.h"
#include "sigaddr.h"
#include "notify_private.h"

#define RECIPIENTS_MAX	512
#define HEADER_ID_MAX	900

 /*
  * The bundle.
  */

/* notify_create - load the templates, take the key */

struct notify *notify_create(const struct conf *conf, struct sigaddr_key *key,
			             char **errors_r)
{
    struct notify *n = mem_zalloc(sizeof(*n));
    struct buf *errors = buf_create(256, 0);
    const char *dir = conf_templates_dir(conf);

    n->refcount = 1;
    n->key = key;
    for (int l = 0; l < NOTIFY_LANG_COUNT; l++) {
	for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
	    char   *path = mem_printf("%s/%s/%s.txt", dir, notify_lang_name(l),
				      notify_kind_name(k));

	    n->tmpl[l][k] = notify_template_load(path, errors);
	    mem_free(path);
	}
	notify_responses_load(dir, l, &n->responses[l], &n->n_responses[l], errors);
    }
    if (buf_len(errors) > 0) {
	if (errors_r)
	    *errors_r = buf_steal(errors, 0);
	buf_destroy(&errors);
	notify_unref(&n);
	return (0);
    }
    buf_destroy(&errors);
    return (n);
}

/* notify_ref - one more reference */

struct notify *notify_ref(struct notify *n)
{
    __atomic_add_fetch(&n->refcount, 1, __ATOMIC_RELAXED);
    return (n);
}

/* notify_unref - drop a reference, free with the last */

void    notify_unref(struct notify **np)
{
    struct notify *n;

    if (np == 0 || (n = *np) == 0)
	return;
    *np = 0;
    if (__atomic_sub_fetch(&n->refcount, 1, __ATOMIC_ACQ_REL) != 0)
	return;
    for (int l = 0; l < NOTIFY_LANG_COUNT; l++) {
	for (int k = 0; k < NOTIFY_KIND_COUNT; k++)
	    notify_template_free(&n->tmpl[l][k]);
	notify_responses_free(&n->responses[l], n->n_responses[l]);
    }
    if (n->key)
	sigaddr_key_free(&n->key);
    mem_free(n);
}

/* notify_mail_free - free a composed mail's fields */

void    notify_mail_free(struct notify_mail *m)
{
    mem_free(m->data);
    mem_free(m->message_id);
    mem_free(m->rcpt);
    mem_free(m->from);
    mem_free(m->to);
    mem_free(m->subject);
    mem_free(m->body);
    memset(m, 0, sizeof(*m));
}

/* notify_lang_of - the language of a tag, else of def */

enum notify_lang notify_lang_of(const char *tag, const char *def)
{
    const char *const tries[] = {tag, def};

    for (int i = 0; i < 2; i++) {
	const char *s = tries[i];

	if (s == 0 || strlen(s) < 2 || (s[2] && s[2] != '-' && s[2] != '_'))
	    continue;
	if (g_ascii_strncasecmp(s, "en", 2) == 0)
	    return (NOTIFY_LANG_EN);
	if (g_ascii_strncasecmp(s, "fr", 2) == 0)
	    return (NOTIFY_LANG_FR);
    }
    return (NOTIFY_LANG_FR);
}

 /*
  * Values of the placeholders.
  */

/* priority_text - "3 (normale)" */

static char *priority_text(int priority, enum notify_lang lang)
{
    static const char *const fr[] = {
	"très basse", "basse", "normale", "haute", "très haute",
    };
    static const char *const en[] = {
	"very low", "low", "normal", "high", "very high",
    };

    if (priority < 1 || priority > 5)
	return (mem_printf("%d", priority));
    return (mem_printf("%d (%s)", priority,
		       lang == NOTIFY_LANG_EN ? en[priority - 1] : fr[priority - 1]));
}

/* date_text - a local date and time for mail text */

static char *date_text(time_t t, enum notify_lang lang)
{
    struct tm tm;
    char    out[64];

    if (t <= 0 || localtime_r(&t, &tm) == 0)
	return (mem_strdup(""));
    strftime(out, sizeof(out), lang == NOTIFY_LANG_EN ? "%Y-%m-%d %H:%M"
	     : "%d/%m/%Y à %H:%M", &tm);
    return (mem_strdup(out));
}

/* size_text - a human size */

static char *size_text(uint64_t size)
{
    if (size < 1024)
	return (mem_printf("%llu B", (unsigned long long) size));
    if (size < 1024 * 1024)
	return (mem_printf("%llu KB", (unsigned long long) (size + 1023) / 1024));
    return (mem_printf("%.1f MB", (double) size / (1024.0 * 1024.0)));
}

/* attachments_text - one line per attachment, or "(none)" */

static char *attachments_text(const struct store_attachment *atts, size_t n,
			              enum notify_lang lang)
{
    struct buf *b = buf_create(128, 0);
    char   *s;

    if (n == 0)
	buf_append_str(b, lang == NOTIFY_LANG_EN ? "(none)" : "(aucune)");
    for (size_t i = 0; i < n; i++) {
	char   *name = notify_text_clean(atts[i].name && *atts[i].name ? atts[i].name
					 : (lang == NOTIFY_LANG_EN ? "(no name)"
					    : "(sans nom)"));
	char   *size = size_text(atts[i].size);

	buf_printf(b, "%s- %s (%s, %s)", i ? "\n" : "", name,
		   atts[i].content_type ? atts[i].content_type : "", size);
	mem_free(name);
	mem_free(size);
    }
    s = buf_steal(b, 0);
    buf_destroy(&b);
    return (s);
}

/* notify_body_cap - the article text, capped */

char   *notify_body_cap(const char *body)
{
    const char *p;

    if (body == 0)
	return (mem_strdup(""));
    if (strlen(body) <= NOTIFY_BODY_QUOTE_MAX)
	return (mem_strdup(body));
    p = body + NOTIFY_BODY_QUOTE_MAX;
    while (p > body && ((unsigned char) *p & 0xc0) == 0x80)
	p--;
    return (mem_printf("%.*s\n[...]", (int) (p - body), body));
}

/* commands_text - the footer listing the reply commands */

static char *commands_text(enum notify_lang lang)
{
    if (lang == NOTIFY_LANG_EN)
	return (mem_strdup(
	    "  #note              add an internal note (the default)\n"
	    "  #reply             answer the requester with your text\n"
	    "  #lock              take the ticket (lock it to you)\n"
	    "  #owner LOGIN       give the ticket to another agent\n"
	    "  #queue NAME        move the ticket to another queue\n"
	    "  #state NAME        change the state (e.g. #state closed successful)\n"
	    "  #priority 1..5     change the priority\n"
	    "  #type NAME         Incident, Problem or Service Request\n"
	    "  #pending YYYY-MM-DD  wait until that day\n"
	    "  #watch             follow the ticket\n"
	    "  #inform LOGIN...   tell other agents about your note"));
    return (mem_strdup(
	"  #note              ajouter une note interne (par défaut)\n"
	"  #reply             répondre au demandeur avec votre texte\n"
	"  #lock              prendre le ticket (le verrouiller à votre nom)\n"
	"  #owner LOGIN       confier le ticket à un autre agent\n"
	"  #queue NOM         déplacer le ticket dans une autre file\n"
	"  #state NOM         changer l'état (p. ex. #state closed successful)\n"
	"  #priority 1..5     changer la priorité\n"
	"  #type NOM          Incident, Problem ou Service Request\n"
	"  #pending AAAA-MM-JJ  mettre en attente jusqu'à ce jour\n"
	"  #watch             suivre le ticket\n"
	"  #inform LOGIN...   informer d'autres agents de votre note"));
}

/* notify_display_name - the display name of the first mailbox of a header */

char   *notify_display_name(const char *header)
{
    InternetAddressList *list;
    char   *name = 0;

    if (header == 0 || *header == 0)
	return (mem_strdup(""));
    if ((list = internet_address_list_parse(0, header)) != 0) {
	if (internet_address_list_length(list) > 0) {
	    InternetAddress *ia = internet_address_list_get_address(list, 0);
	    const char *n = internet_address_get_name(ia);

	    if (n && *n)
		name = notify_text_clean(n);
	}
	g_object_unref(list);
    }
    return (name ? name : mem_strdup(""));
}

/* notify_agent_name - name, else login, of an agent by login */

const char *notify_agent_name(const struct conf *conf, const char *login)
{
    const struct conf_agent *a;

    if (login == 0 || *login == 0)
	return (0);
    if ((a = conf_agent_find(conf, login)) != 0)
	return (a->name && *a->name ? a->name : a->login);
    return (login);
}

/* notify_customer_name - the requester's name from the ticket's articles */

char   *notify_customer_name(const struct store_ticket *t)
{
    for (size_t i = 0; t->customer && i < t->n_articles; i++) {
	char   *addr = notify_addr_spec(t->articles[i].from);
	int     same = strcasecmp(addr, t->customer) == 0;

	mem_free(addr);
	if (same) {
	    char   *name = notify_display_name(t->articles[i].from);

	    if (*name)
		return (name);
	    mem_free(name);
	    break;
	}
    }
    return (mem_strdup(t->customer ? t->customer : ""));
}

/* set - own one value */

static void set(struct notify_values *vals, enum notify_var var, char *value)
{
    mem_free(vals->v[var]);
    vals->v[var] = value;
}

/* notify_values_set - the same for agentmail.c */

void    notify_values_set(struct notify_values *vals, enum notify_var var,
			          char *value)
{
    set(vals, var, value);
}

/* notify_values_ticket - the ticket's fields */

void    notify_values_ticket(struct notify_values *vals, const struct conf *conf,
			          const struct store_ticket *t, enum notify_lang lang)
{
    const char *owner = notify_agent_name(conf, t->owner);

    set(vals, NOTIFY_VAR_TICKET_NUMBER, mem_strdup(t->number));
    set(vals, NOTIFY_VAR_TICKET_TITLE, mem_strdup(t->title ? t->title : ""));
    set(vals, NOTIFY_VAR_TICKET_QUEUE, mem_strdup(t->queue ? t->queue : ""));
    set(vals, NOTIFY_VAR_TICKET_STATE, mem_strdup(t->state ? t->state : ""));
    set(vals, NOTIFY_VAR_TICKET_PRIORITY, priority_text(t->priority, lang));
    set(vals, NOTIFY_VAR_TICKET_TYPE, mem_strdup(t->type ? t->type : ""));
    set(vals, NOTIFY_VAR_TICKET_CUSTOMER, mem_strdup(t->customer ? t->customer : ""));
    set(vals, NOTIFY_VAR_TICKET_OWNER, mem_strdup(owner ? owner
		          : (lang == NOTIFY_LANG_EN ? "(none)" : "(aucun)")));
    set(vals, NOTIFY_VAR_CUSTOMER_NAME, notify_customer_name(t));
    set(vals, NOTIFY_VAR_COMMANDS, commands_text(lang));
}

/* article_values - the quoted article's fields */

static void article_values(struct notify_values *vals, const char *from,
			           time_t received, const char *body,
			           const struct store_attachment *atts, size_t n_atts,
			           enum notify_lang lang)
{
    set(vals, NOTIFY_VAR_ARTICLE_FROM, notify_text_clean(from));
    set(vals, NOTIFY_VAR_ARTICLE_RECEIVED, date_text(received, lang));
    set(vals, NOTIFY_VAR_ARTICLE_BODY, notify_body_cap(body));
    set(vals, NOTIFY_VAR_ARTICLE_ATTACHMENTS, attachments_text(atts, n_atts, lang));
}

/* notify_values_free - free every value */

void    notify_values_free(struct notify_values *vals)
{
    for (int i = 0; i < NOTIFY_VAR_COUNT; i++)
	mem_free(vals->v[i]);
}

 /*
  * The message itself.
  */

/* id_ok - may a Message-ID be written between <> as is? */

static int id_ok(const char *id)
{
    if (id == 0 || *id == 0 || strlen(id) > HEADER_ID_MAX)
	return (0);
    for (; *id; id++)
	if ((unsigned char) *id <= 0x20 || (unsigned char) *id >= 0x7f
	    || *id == '<' || *id == '>')
	    return (0);
    return (1);
}

/* notify_message_id - NUMBER.KIND.RANDOM@DOMAIN */

char   *notify_message_id(const char *number, const char *kind,
			            const char *domain)
{
    unsigned char r[8];
    char    hex[17];

    if (RAND_bytes(r, sizeof(r)) != 1) {
	uint64_t x = time_now_ms() ^ ((uint64_t) getpid() << 32) ^ (uintptr_t) r;

	memcpy(r, &x, sizeof(r));
    }
    for (int i = 0; i < 8; i++)
	snprintf(hex + 2 * i, 3, "%02x", r[i]);
    return (mem_printf("%s.%s.%s@%s", number, kind, hex, domain));
}

/* needs_encoding - non-ASCII, control characters, or "=?" */

static int needs_encoding(const char *text)
{
    for (const char *p = text; *p; p++)
	if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f
	    || (p[0] == '=' && p[1] == '?'))
	    return (1);
    return (0);
}

/* q_literal - may c stand as itself in a Q encoded-word? */

static int q_literal(unsigned char c, int phrase)
{
    if (phrase)					/* RFC 2047 5(3) */
	return (g_ascii_isalnum(c) || strchr("!*+-/", c) != 0);
    return (c > 0x20 && c < 0x7f && c != '=' && c != '?' && c != '_');
}

/* q_encode - text as RFC 2047 Q encoded-words in UTF-8, each at most
   75 characters, never splitting a character (see BUGS) */

static char *q_encode(const char *text, int phrase)
{
    struct buf *out = buf_create(3 * strlen(text) + 16, 0);
    char    word[128];
    size_t  wlen = 0;
    const char *p = text;
    char   *s;

    while (*p) {
	const char *next = g_utf8_next_char(p);
	char    enc[32];
	size_t  elen = 0;

	for (const char *c = p; c < next && elen < sizeof(enc) - 4; c++) {
	    unsigned char uc = *c;

	    if (uc == ' ')
		enc[elen++] = '_';
	    else if (q_literal(uc, phrase))
		enc[elen++] = uc;
	    else
		elen += snprintf(enc + elen, 4, "=%02X", uc);
	}
	if (wlen + elen > 63) {			/* 75 - strlen("=?UTF-8?Q??=") */
	    buf_printf(out, "%s=?UTF-8?Q?%.*s?=", buf_len(out) ? " " : "",
		       (int) wlen, word);
	    wlen = 0;
	}
	memcpy(word + wlen, enc, elen);
	wlen += elen;
	p = next;
    }
    if (wlen)
	buf_printf(out, "%s=?UTF-8?Q?%.*s?=", buf_len(out) ? " " : "",
		   (int) wlen, word);
    s = buf_steal(out, 0);
    buf_destroy(&out);
    return (s);
}

/* add_mailbox - one address; a name that needs it is encoded */

static void add_mailbox(GMimeMessage *m, GMimeAddressType type,
			        const char *name, const char *addr)
{
    char   *clean = notify_text_clean(name ? name : "");
    char   *encoded = needs_encoding(clean) ? q_encode(clean, 1) : 0;
    InternetAddress *ia = internet_address_mailbox_new(encoded ? encoded : clean,
						           addr);

    internet_address_list_add(g_mime_message_get_addresses(m, type), ia);
    g_object_unref(ia);
    mem_free(encoded);
    mem_free(clean);
}

/* set_subject - the Subject; the text after the ticket tag is encoded
   when it needs to be */

static void set_subject(GMimeObject *obj, const char *subject)
{
    const char *rest = subject;
    char   *value;

    if (!needs_encoding(subject)) {
	g_mime_object_set_header(obj, "Subject", subject, 0);
	return;
    }
    if (*rest == '[' && (rest = strchr(rest, ']')) != 0 && rest[1] == ' ') {
	char   *tag = mem_strndup(subject, rest - subject + 1);

	if (!needs_encoding(tag)) {
	    char   *enc = q_encode(rest + 2, 0);

	    value = mem_printf("%s %s", tag, enc);
	    mem_free(enc);
	} else {
	    value = q_encode(subject, 0);
	}
	mem_free(tag);
    } else {
	value = q_encode(subject, 0);
    }
    g_mime_object_set_header(obj, "Subject", value, 0);
    mem_free(value);
}

/* notify_build_message - the whole message with GMime, CRLF */

char   *notify_build_message(const struct notify_mail_spec *s, size_t *len_r)
{
    GMimeMessage *m = g_mime_message_new(TRUE);
    GMimeObject *obj = GMIME_OBJECT(m);
    GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
    GMimeFormatOptions *fo = g_mime_format_options_new();
    GMimeStream *stream = g_mime_stream_mem_new();
    GMimeStream *content;
    GMimeDataWrapper *wrapper;
    GByteArray *bytes;
    GDateTime *dt;
    char   *bracketed;
    char   *data;
    GMimeContentEncoding enc;

    add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, s->from_name, s->from_addr);
    add_mailbox(m, GMIME_ADDRESS_TYPE_TO, s->to_name, s->to_addr);
    for (size_t i = 0; i < s->n_cc; i++)
	add_mailbox(m, GMIME_ADDRESS_TYPE_CC, s->cc_names ? s->cc_names[i] : 0,
		    s->cc_addrs[i]);
    if (s->reply_to)
	add_mailbox(m, GMIME_ADDRESS_TYPE_REPLY_TO, 0, s->reply_to);
    set_subject(obj, s->subject);
    dt = g_date_time_new_from_unix_local(s->date);
    g_mime_message_set_date(m, dt);
    g_date_time_unref(dt);
    g_mime_message_set_message_id(m, s->message_id);
    if (id_ok(s->in_reply_to)) {
	bracketed = mem_printf("<%s>", s->in_reply_to);
	g_mime_object_set_header(obj, "In-Reply-To", bracketed, 0);
	g_mime_object_set_header(obj, "References", bracketed, 0);
	mem_free(bracketed);
    }
    if (s->auto_submitted)
	g_mime_object_set_header(obj, "Auto-Submitted", s->auto_submitted, 0);
    g_mime_object_set_header(obj, "X-Postdesk-Loop", s->loop, 0);

    content = g_mime_stream_mem_new_with_buffer(s->body, strlen(s->body));
    wrapper = g_mime_data_wrapper_new_with_stream(content, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(GMIME_PART(part), wrapper);
    g_object_unref(wrapper);
    g_object_unref(content);
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
    enc = g_mime_part_get_best_content_encoding(GMIME_PART(part),
					        GMIME_ENCODING_CONSTRAINT_7BIT);
    g_mime_part_set_content_encoding(GMIME_PART(part),
			       enc == GMIME_CONTENT_ENCODING_7BIT ? enc
			           : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    g_mime_message_set_mime_part(m, GMIME_OBJECT(part));
    g_object_unref(part);

    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    g_mime_object_write_to_stream(obj, fo, stream);
    g_mime_stream_flush(stream);
    bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
    data = mem_alloc(bytes->len + 1);
    memcpy(data, bytes->data, bytes->len);
    data[bytes->len] = 0;
    *len_r = bytes->len;
    g_object_unref(stream);
    g_mime_format_options_free(fo);
    g_object_unref(m);
    return (data);
}

/* notify_display_form - "Name <addr>" or "addr", for an article */

char   *notify_display_form(const char *name, const char *addr)
{
    InternetAddress *ia = internet_address_mailbox_new(name ? name : "", addr);
    char   *s = internet_address_to_string(ia, 0, FALSE);
    char   *out = notify_text_clean(s);

    g_free(s);
    g_object_unref(ia);
    return (out);
}

/* finish - render the template and build the mail */

static void finish(const struct notify_template *tmpl, struct notify_values *vals,
		           const struct conf *conf, struct notify_mail_spec *spec,
		           const char *number, struct notify_mail *mail)
{
    char   *subject, *body;

    notify_template_render(tmpl, (const char *const *) vals->v, &subject, &body);
    mail->subject = mem_printf("[%s%s] %s", conf_ticket_hook(conf), number, subject);
    mem_free(subject);
    {
	char   *clean = notify_text_clean(mail->subject);	/* the hook too */

	mem_free(mail->subject);
	mail->subject = clean;
    }
    mail->body = body;
    spec->subject = mail->subject;
    spec->body = mail->body;
    spec->message_id = mail->message_id;
    spec->loop = conf_instance(conf);
    mail->data = notify_build_message(spec, &mail->len);
    mail->from = notify_display_form(spec->from_name, spec->from_addr);
    mail->to = notify_display_form(spec->to_name, spec->to_addr);
    mail->rcpt = mem_strdup(spec->to_addr);
}

/* queue_address - the queue address that received msg */

static const char *queue_address(const struct conf *conf, const char *recipient,
				         const char *queue_name, const char **name_r)
{
    const struct conf_queue *q = conf_queue_by_address(conf, recipient);
    size_t  n;

    if (q == 0)
	q = conf_queue_find(conf, queue_name ? queue_name : "");
    if (q == 0 || q->addresses == 0 || q->addresses[0] == 0)
	return (0);
    *name_r = q->name;
    n = strcspn(recipient, "+@");
    for (const char *const *a = q->addresses; *a; a++) {
	size_t  m = strcspn(*a, "@");
	const char *at = strchr(recipient, '@');

	if (at && m == n && g_ascii_strncasecmp(*a, recipient, n) == 0
	    && g_ascii_strcasecmp(*a + m, at) == 0)
	    return (*a);
    }
    return (q->addresses[0]);
}

/* notify_compose_ack - the acknowledgement of msg */

int     notify_compose_ack(const struct notify *n, const struct conf *conf,
			           const struct store_message *msg,
			           const struct store_ticket *t, time_t now,
			           struct notify_mail *mail)
{
    enum notify_lang lang = notify_lang_of(msg->content_language,
					   conf_language(conf));
    const struct notify_template *tmpl = n->tmpl[lang][NOTIFY_KIND_ACK];
    struct notify_values vals;
    struct notify_mail_spec spec;
    const char *qname = 0;
    const char *qaddr = queue_address(conf, msg->recipient ? msg->recipient : "",
				      t->queue, &qname);
    char   *cname;

    memset(mail, 0, sizeof(*mail));
    if (tmpl == 0 || qaddr == 0 || !notify_address_ok(msg->from))
	return (-1);
    memset(&vals, 0, sizeof(vals));
    memset(&spec, 0, sizeof(spec));
    notify_values_ticket(&vals, conf, t, lang);
    article_values(&vals, msg->from_header, msg->received, msg->body,
		   msg->attachments, msg->n_attachments, lang);
    cname = notify_display_name(msg->from_header);
    set(&vals, NOTIFY_VAR_CUSTOMER_NAME, *cname ? mem_strdup(cname)
	: mem_strdup(msg->from));
    set(&vals, NOTIFY_VAR_AGENT_NAME, mem_strdup(""));
    mail->message_id = notify_message_id(t->number, "ack", conf_domain(conf));
    spec.from_name = qname;
    spec.from_addr = qaddr;
    spec.to_name = cname;
    spec.to_addr = msg->from;
    spec.in_reply_to = msg->message_id;
    spec.auto_submitted = "auto-replied";
    spec.date = now;
    finish(tmpl, &vals, conf, &spec, t->number, mail);
    mem_free(cname);
    notify_values_free(&vals);
    return (0);
}

/* notify_ticket_integer - the number as an integer for a token, 0 if too big */

uint64_t notify_ticket_integer(const char *number)
{
    char   *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(number, &end, 10);
    if (errno || *end || end == number)
	return (0);
    return ((uint64_t) v);
}

/* notify_compose_agent - one agent's notification */

int     notify_compose_agent(const struct notify *n, const struct conf *conf,
			             const struct store_ticket *t,
			             const struct store_article *article,
			             const struct notify_event *ev,
			             const struct conf_agent *a, time_t now,
			             struct notify_mail *mail)
{
    static const enum notify_kind kinds[] = {
	[NOTIFY_NEW_TICKET] = NOTIFY_KIND_NEW_TICKET,
	[NOTIFY_FOLLOW_UP] = NOTIFY_KIND_FOLLOW_UP,
	[NOTIFY_NEW_NOTE] = NOTIFY_KIND_NEW_NOTE,
	[NOTIFY_LOCK] = NOTIFY_KIND_LOCK,
	[NOTIFY_OWNER] = NOTIFY_KIND_OWNER,
	[NOTIFY_MOVE] = NOTIFY_KIND_MOVE,
	[NOTIFY_ESCALATION] = NOTIFY_KIND_ESCALATION,
	[NOTIFY_PENDING] = NOTIFY_KIND_PENDING,
    };
    enum notify_lang lang = notify_lang_of(a->language, conf_language(conf));
    const struct notify_template *tmpl;
    struct notify_values vals;
    struct notify_mail_spec spec;
    char   *from_addr;
    char   *reply_to = 0;
    const char *actor = notify_agent_name(conf, ev->actor);

    memset(mail, 0, sizeof(*mail));
    if ((unsigned) ev->type >= sizeof(kinds) / sizeof(kinds[0])
	|| a->emails == 0 || a->emails[0] == 0)
	return (-1);
    if ((tmpl = n->tmpl[lang][kinds[ev->type]]) == 0)
	return (-1);
    if (ev->type == NOTIFY_LOCK)
	article = 0;				/* the title, no content */
    memset(&vals, 0, sizeof(vals));
    memset(&spec, 0, sizeof(spec));
    notify_values_ticket(&vals, conf, t, lang);
    if (article)
	article_values(&vals, article->from, article->received, article->body,
		       article->attachments, article->n_attachments, lang);
    set(&vals, NOTIFY_VAR_AGENT_NAME, mem_strdup(a->name && *a->name ? a->name
						 : a->login));
    set(&vals, NOTIFY_VAR_EVENT_DETAIL, mem_strdup(ev->detail ? ev->detail : ""));
    set(&vals, NOTIFY_VAR_EVENT_ACTOR, mem_strdup(actor ? actor : ""));
    if (n->key) {
	struct sigaddr_claims claims;

	memset(&claims, 0, sizeof(claims));
	claims.key_epoch = sigaddr_key_epoch(n->key);
	claims.agent_id = sigaddr_agent_id(a->login);
	claims.ticket = notify_ticket_integer(t->number);
	claims.revision = (uint16_t) (t->revision & 0xffff);
	claims.issue_day = sigaddr_day(now);
	reply_to = sigaddr_address(n->key, conf_command_localpart(conf),
				   conf_domain(conf), &claims);
    }
    from_addr = mem_printf("%s@%s", conf_command_localpart(conf), conf_domain(conf));
    mail->message_id = notify_message_id(t->number, notify_event_name(ev->type),
				      conf_domain(conf));
    spec.from_name = "postdesk";
    spec.from_addr = from_addr;
    spec.to_name = vals.v[NOTIFY_VAR_AGENT_NAME];
    spec.to_addr = a->emails[0];
    spec.reply_to = reply_to;
    spec.in_reply_to = article ? article->message_id : 0;
    spec.auto_submitted = "auto-generated";
    spec.date = now;
    finish(tmpl, &vals, conf, &spec, t->number, mail);
    mem_free(from_addr);
    mem_free(reply_to);
    notify_values_free(&vals);
    return (0);
}

 /*
  * Into the store.
  */

/* status - a store result as notify's: OK, RETRY, PERM (this mail is
   refused: skip it) or TEMP */

static int status(int rc)
{
    if (rc == STORE_OK || rc == STORE_RETRY || rc == STORE_PERM)
	return (rc);
    return (STORE_TEMP);
}

/* queue_mail - one outbox row */

static int queue_mail(struct store_batch *batch, const char *number,
		              const char *kind, const struct notify_mail *mail,
		              uint64_t *id_r)
{
    struct store_outbox_mail row;
    const char *rcpts[1];

    rcpts[0] = mail->rcpt;
    memset(&row, 0, sizeof(row));
    row.number = number;
    row.kind = kind;
    row.envelope_from = "";
    row.recipients = rcpts;
    row.n_recipients = 1;
    row.message_id = mail->message_id;
    row.data = mail->data;
    row.len = mail->len;
    return (status(store_outbox_add(batch, &row, id_r)));
}

/* acknowledge - the acknowledgement of a new ticket, if allowed */

static int acknowledge(const struct notify *n, struct store_batch *batch,
		               const struct conf *conf, const struct store_message *msg,
		               const struct store_ticket *t, time_t now,
		               size_t *queued)
{
    struct notify_mail_facts facts;
    struct store_article_input art;
    struct notify_mail mail;
    const char *why = 0;
    const char *log_id = msg->log_id ? msg->log_id : "NOID";
    char   *addr = str_sanitize(msg->from ? msg->from : "", 200);
    int     allowed = 0;
    uint64_t id = 0;
    uint32_t index = 0;
    int     rc;

    memset(&facts, 0, sizeof(facts));
    facts.sender = msg->sender;
    facts.from = msg->from;
    facts.automatic = msg->automatic;
    facts.own_loop = msg->own_loop;
    facts.follow_up = 0;
    if (!notify_may_acknowledge(conf, &facts, &why)) {
	log_info("%s: no acknowledgement to <%s>: %s", log_id, addr, why);
	mem_free(addr);
	return (STORE_OK);
    }
    if ((rc = store_ack_charge(batch, msg->from, now,
			       conf_auto_ack_limit(conf), &allowed)) != STORE_OK) {
	mem_free(addr);
	return (rc == STORE_RETRY ? rc : STORE_TEMP);
    }
    if (!allowed) {
	log_info("%s: no acknowledgement to <%s>: rate limit", log_id, addr);
	mem_free(addr);
	return (STORE_OK);
    }
    if (notify_compose_ack(n, conf, msg, t, now, &mail) < 0) {
	log_warn("%s: no acknowledgement to <%s>: cannot compose it", log_id, addr);
	notify_mail_free(&mail);
	mem_free(addr);
	return (STORE_OK);
    }
    rc = queue_mail(batch, t->number, "ack", &mail, &id);
    if (rc == STORE_OK) {
	memset(&art, 0, sizeof(art));
	art.sender_type = STORE_SENDER_SYSTEM;
	art.channel = STORE_CHANNEL_EMAIL;
	art.visible_to_customer = 1;
	art.seen = 1;
	art.who = "system";
	art.from = mail.from;
	art.to = mail.to;
	art.cc = "";
	art.subject = mail.subject;
	art.message_id = mail.message_id;
	art.body = mail.body;
	art.at = now;
	art.raw = mail.data;
	art.raw_len = mail.len;
	rc = status(store_article_add(batch, log_id, t->number, &art, &index));
    }
    if (rc == STORE_OK) {
	(*queued)++;
	log_info("%s: ticket=%s, acknowledgement to=<%s>, outbox=%llu, article=%u",
		 log_id, t->number, addr, (unsigned long long) id, index);
    } else if (rc == STORE_PERM) {
	log_error("%s: ticket=%s, acknowledgement to <%s> refused by the store",
		  log_id, t->number, addr);
	rc = STORE_OK;
    }
    notify_mail_free(&mail);
    mem_free(addr);
    return (rc);
}

/* find_article - the article of index, or NULL */

static const struct store_article *find_article(const struct store_ticket *t,
					                uint32_t index)
{
    for (size_t i = 0; index && i < t->n_articles; i++)
	if (t->articles[i].index == index)
	    return (t->articles + i);
    return (0);
}

/* tell_agents - the notifications of ev on t */

static int tell_agents(const struct notify *n, struct store_batch *batch,
		               const struct conf *conf, const struct store_ticket *t,
		               const struct notify_event *ev, time_t now,
		               const char *log_id, size_t *queued)
{
    const struct conf_agent **to = mem_alloc(RECIPIENTS_MAX * sizeof(*to));
    const struct store_article *article = find_article(t, ev->article);
    const char *event = notify_event_name(ev->type);
    size_t  count = notify_recipients(conf, t, ev, now, to, RECIPIENTS_MAX);
    int     rc = STORE_OK;

    for (size_t i = 0; i < count && rc == STORE_OK; i++) {
	struct notify_mail mail;
	uint64_t id = 0;

	if (notify_compose_agent(n, conf, t, article, ev, to[i], now, &mail) < 0) {
	    log_warn("%s: ticket=%s, no %s notification to %s: cannot compose it",
		     log_id, t->number, event, to[i]->login);
	    notify_mail_free(&mail);
	    continue;
	}
	rc = queue_mail(batch, t->number, event, &mail, &id);
	if (rc == STORE_OK) {
	    (*queued)++;
	    log_info("%s: ticket=%s, %s notification to=<%s> (%s), outbox=%llu",
		     log_id, t->number, event, mail.rcpt, to[i]->login,
		     (unsigned long long) id);
	} else if (rc == STORE_PERM) {
	    log_error("%s: ticket=%s, %s notification to %s refused by the store",
		      log_id, t->number, event, to[i]->login);
	    rc = STORE_OK;
	}
	notify_mail_free(&mail);
    }
    mem_free(to);
    return (rc);
}

/* notify_ingest - acknowledgement and notifications of a delivery */

int     notify_ingest(const struct notify *n, struct store_batch *batch,
		              const struct conf *conf, const struct store_message *msg,
		              const struct store_result *res, time_t now,
		              size_t *queued_r)
{
    struct store_ticket *t = 0;
    struct notify_event ev;
    const char *log_id = msg->log_id ? msg->log_id : "NOID";
    size_t  queued = 0;
    int     rc;

    if (queued_r)
	*queued_r = 0;
    if (res->outcome != STORE_OUTCOME_NEW_TICKET
	&& res->outcome != STORE_OUTCOME_FOLLOW_UP)
	return (STORE_OK);
    /* Only the first article (the requester's name) and the new one: a
       follow-up must not read a long ticket's whole history. */
    {
	uint32_t want[2] = {1, res->article};

	if ((rc = store_batch_ticket_get_articles(batch, res->number, want, 2,
						  &t)) != STORE_OK)
	    return (rc == STORE_RETRY ? rc : STORE_TEMP);
    }
    memset(&ev, 0, sizeof(ev));
    ev.type = res->outcome == STORE_OUTCOME_NEW_TICKET ? NOTIFY_NEW_TICKET
	: NOTIFY_FOLLOW_UP;
    ev.number = res->number;
    ev.article = res->article;
    if (ev.type == NOTIFY_NEW_TICKET)
	rc = acknowledge(n, batch, conf, msg, t, now, &queued);
    if (rc == STORE_OK)
	rc = tell_agents(n, batch, conf, t, &ev, now, log_id, &queued);
    store_ticket_free(&t);
    if (queued_r)
	*queued_r = queued;
    return (rc);
}

/* notify_event - the notifications of one event */

int     notify_event(const struct notify *n, struct store_batch *batch,
		             const struct conf *conf, const struct notify_event *ev,
		             time_t now, size_t *queued_r)
{
    struct store_ticket *t = 0;
    size_t  queued = 0;
    int     rc;

    if (queued_r)
	*queued_r = 0;
    if (ev->number == 0 || *ev->number == 0)
	return (STORE_OK);
    uint32_t want[2] = {1, ev->article};

    if ((rc = store_batch_ticket_get_articles(batch, ev->number, want, 2, &t))
	== STORE_NOTFOUND) {
	log_warn("%s: no %s notification: no such ticket", ev->number,
		 notify_event_name(ev->type));
	return (STORE_OK);
    }
    if (rc != STORE_OK)
	return (rc == STORE_RETRY ? rc : STORE_TEMP);
    rc = tell_agents(n, batch, conf, t, ev, now, ev->number, &queued);
    store_ticket_free(&t);
    if (queued_r)
	*queued_r = queued;
    return (rc);
}
