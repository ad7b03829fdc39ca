/*++
/* NAME
/*	agentmail 3
/* SUMMARY
/*	agents' command mail: replies to the requester, transcripts and
/*	other mail to the agent, #confirm codes
/* SYNOPSIS
/*	#include <notify.h>
/*
/*	int	notify_reply_check(conf, ticket, why_r)
/*	const struct conf *conf;
/*	const struct store_ticket *ticket;
/*	const char **why_r;
/*
/*	int	notify_reply_send(notify, batch, conf, reply, article_r,
/*					sent_to_r)
/*	const struct notify *notify;
/*	struct store_batch *batch;
/*	const struct conf *conf;
/*	const struct notify_reply *reply;
/*	uint32_t *article_r;
/*	char	**sent_to_r;
/*
/*	int	notify_response_exists(notify, name)
/*	const struct notify *notify;
/*	const char *name;
/*
/*	int	notify_agent_send(notify, batch, conf, mail)
/*	const struct notify *notify;
/*	struct store_batch *batch;
/*	const struct conf *conf;
/*	const struct notify_agent_mail *mail;
/*
/*	void	notify_confirm_code(notify, agent, number, into, day, out)
/*	const struct notify *notify;
/*	const char *agent;
/*	const char *number;
/*	const char *into;
/*	unsigned day;
/*	char	out[9];
/* DESCRIPTION
/*	These run in lmtpd's writer thread, inside the batch of the
/*	command mail that causes them: what they write to the store (an
/*	article, outbox rows) commits or aborts with the commands.
/*
/*	notify_reply_check() is a pure check, made before anything is
/*	written: 1 when a reply to the ticket can be sent, else 0 with
/*	*why_r, a static English text: the ticket has no requester
/*	address, the requester's address cannot be used in a header or
/*	given to SMTP (notify_address_ok()), it is one of postdesk's own
/*	addresses (a loop), the ticket's queue is not configured, or the
/*	queue has no usable address.
/*
/*	notify_reply_send() is the #reply of an agent. The "last mail" is
/*	the ticket's newest article written by the requester side
/*	(sender type customer), found by reading the ticket's articles
/*	from the newest backwards, a few at a time. The mail:
/* .IP From
/*	the queue's first address, the queue's name as display name;
/* .IP To
/*	the ticket's customer address (with the requester's name);
/* .IP Cc
/*	the Cc of the last mail without postdesk's own addresses, the
/*	customer, duplicates and addresses that notify_address_ok()
/*	refuses (skipped silently), at most NOTIFY_CC_MAX;
/* .IP Subject
/*	"[HOOKNUMBER] TITLE", the title cleaned and cut like in an
/*	acknowledgement;
/* .IP "In-Reply-To, References"
/*	the last mail's Message-ID;
/* .IP "Message-ID"
/*	<NUMBER.reply.RANDOM@DOMAIN>; X-Postdesk-Loop: INSTANCE; no
/*	Auto-Submitted (a person wrote it) and no Reply-To.
/* .PP
/*	The body, in conf_language(): the response template (when
/*	reply->response names one; its body rendered with the ticket's
/*	values, agent.name the replying agent, the article, event and
/*	commands placeholders empty; its Subject line is not used), an
/*	empty line, the agent's text (CR dropped, other control
/*	characters but TAB made spaces, invalid UTF-8 replaced, leading
/*	and trailing empty lines removed), an empty line, then the quote
/*	header "Le 27/11/2026 à 09:14, NAME a écrit :" or "On 27/11/2026
/*	at 09:14, NAME wrote:" (the date the last mail was received, in
/*	the server's local time; NAME its author's display name, else
/*	address) and that mail's text, cut to NOTIFY_BODY_QUOTE_MAX bytes,
/*	each line behind "> ". The mail is stored as an article of the
/*	ticket (store_article_add(): sender agent, channel email, visible
/*	to the customer, seen, who the agent's login, the body without
/*	the quote part, the message as raw bytes; the store records the
/*	first response) and queued as outbox kind "reply" with the queue
/*	address as envelope sender and the customer and the Cc as
/*	recipients. *article_r is the article's index, *sent_to_r
/*	(mem_free()) the recipients, "a@b, c@d".
/*
/*	notify_response_exists() says whether NAME is a response template
/*	in either language (the reply uses the version of
/*	conf_language(), else the other).
/*
/*	notify_agent_send() writes one mail to the agent's first
/*	configured address, in the agent's language, from the templates
/*	transcript, quarantine, help and list: From "postdesk"
/*	<COMMAND_LOCALPART@DOMAIN>, Subject "[HOOKNUMBER] " (when there is
/*	a ticket) and the template's Subject (trailing blanks and colons
/*	removed), Auto-Submitted: auto-replied, X-Postdesk-Loop,
/*	Message-ID <NUMBER.KIND.RANDOM@DOMAIN> ("agent" for NUMBER when
/*	there is no ticket), In-Reply-To and References to the agent's
/*	mail, Reply-To the agent's signed address for the ticket (its
/*	revision modulo 65536) or, without a ticket, the personal one
/*	(ticket 0); null envelope sender; outbox kind the template's name.
/*	Placeholders: the ticket's values when the ticket exists and the
/*	agent's groups may work its queue (else only ticket.number, so
/*	that nothing tells whether a ticket exists in a queue the agent
/*	cannot see; the revision in the Reply-To is 0 then too),
/*	agent.name, event.detail the caller's outcome, mail.subject the
/*	agent mail's subject without its "Re:"-style prefixes and ticket
/*	tags (cleaned, cut to NOTIFY_TITLE_MAX characters), commands the
/*	caller's text (for help: the names of the response templates,
/*	then the caller's text if any). Not stored as an article.
/*
/*	notify_confirm_code() is the first 8 characters of the upper-case
/*	base32 (RFC 4648) of HMAC-SHA256, with the bundle's key, of
/*	"postdesk-confirm-merge-1" NUL agent (lowercased) NUL number NUL
/*	into NUL day (decimal); "" without a key.
/* DIAGNOSTICS
/*	Log lines start with the ticket number (or the agent's login when
/*	there is none). notify_reply_send() returns STORE_PERM (nothing
/*	written) when notify_reply_check() says no, when the response
/*	template does not exist, or when the ticket does not;
/*	notify_agent_send() returns STORE_PERM when the agent is unknown
/*	or has no usable address. Both return the store's STORE_RETRY,
/*	STORE_PERM and STORE_OK as they are and any other store error as
/*	STORE_TEMP.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "util.h"
#include "conf.h"
#include "store.h"
#include "sigaddr.h"
#include "notify_private.h"

#define SCAN_CHUNK	32		/* articles read at once, newest first */
#define CONFIRM_LABEL	"postdesk-confirm-merge-1"

 /*
  * Small text helpers.
  */

/* status - a store result as ours */

static int status(int rc)
{
    if (rc == STORE_OK || rc == STORE_RETRY || rc == STORE_PERM)
	return (rc);
    return (STORE_TEMP);
}

/* clean_text - body text: valid UTF-8, no CR, no controls but TAB, LF;
   leading and trailing empty lines removed */

static char *clean_text(const char *text)
{
    char   *valid = g_utf8_make_valid(text ? text : "", -1);
    struct buf *b = buf_create(strlen(valid) + 1, 0);
    const char *s = valid;
    char   *out;
    size_t  len;

    while (*s) {				/* leading empty lines */
	const char *p = s;

	while (*p == ' ' || *p == '\t' || *p == '\r')
	    p++;
	if (*p != '\n')
	    break;
	s = p + 1;
    }
    for (; *s; s++) {
	unsigned char c = *s;

	if (c == '\r')
	    continue;
	if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
	    c = ' ';
	buf_append_char(b, c);
    }
    g_free(valid);
    out = buf_steal(b, &len);
    buf_destroy(&b);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '
		       || out[len - 1] == '\t'))
	out[--len] = 0;
    return (out);
}

/* quote_text - every line of text behind "> " (">" for an empty one) */

static void quote_text(struct buf *out, const char *text)
{
    char   *capped = notify_body_cap(text);
    char   *clean = clean_text(capped);
    const char *s = clean;

    while (*s) {
	size_t  n = strcspn(s, "\n");

	if (n == 0)
	    buf_append_str(out, ">\n");
	else
	    buf_printf(out, "> %.*s\n", (int) n, s);
	s += n;
	if (*s == '\n')
	    s++;
    }
    mem_free(clean);
    mem_free(capped);
}

/* quote_header - "Le 27/11/2026 à 09:14, NAME a écrit :" */

static char *quote_header(time_t received, const char *name, enum notify_lang lang)
{
    struct tm tm;
    char    day[32], hm[16];

    if (received <= 0 || localtime_r(&received, &tm) == 0)
	return (lang == NOTIFY_LANG_EN ? mem_printf("%s wrote:", name)
		: mem_printf("%s a écrit :", name));
    strftime(day, sizeof(day), "%d/%m/%Y", &tm);
    strftime(hm, sizeof(hm), "%H:%M", &tm);
    if (lang == NOTIFY_LANG_EN)
	return (mem_printf("On %s at %s, %s wrote:", day, hm, name));
    return (mem_printf("Le %s à %s, %s a écrit :", day, hm, name));
}

/* author_name - display name of a From, else its address, else it */

static char *author_name(const char *from)
{
    char   *name = notify_display_name(from);
    char   *addr;

    if (*name)
	return (name);
    mem_free(name);
    addr = notify_addr_spec(from);
    if (*addr)
	return (addr);
    mem_free(addr);
    return (notify_text_clean(from && *from ? from : "?"));
}

/* strip_subject - the agent's subject without Re:/Fwd: prefixes and
   [HOOKNUMBER] tags at its start */

static char *strip_subject(const struct conf *conf, const char *subject)
{
    static const char *const prefixes[] = {
	"re", "aw", "sv", "vs", "fw", "fwd", "tr", "wg", "antw", "ref", 0,
    };
    const char *hook = conf_ticket_hook(conf);
    size_t  hook_len = strlen(hook);
    char   *clean = notify_text_clean(subject ? subject : "");
    const char *s = clean;
    const char *before;
    char   *out;

    do {
	before = s;
	while (*s == ' ' || *s == '\t')
	    s++;
	for (const char *const *p = prefixes; *p; p++) {
	    size_t  n = strlen(*p);
	    const char *q = s + n;

	    if (g_ascii_strncasecmp(s, *p, n) != 0)
		continue;
	    while (*q == ' ')
		q++;
	    if (*q == ':') {
		s = q + 1;
		break;
	    }
	}
	if (*s == '[' && g_ascii_strncasecmp(s + 1, hook, hook_len) == 0) {
	    const char *q = s + 1 + hook_len;

	    while (*q >= '0' && *q <= '9')
		q++;
	    if (*q == ']' && q > s + 1 + hook_len)
		s = q + 1;
	}
    } while (s != before);
    out = notify_title_cut(s, NOTIFY_TITLE_MAX);
    mem_free(clean);
    return (out);
}

/* trim_subject - drop trailing blanks and colons, in place */

static void trim_subject(char *s)
{
    size_t  n = strlen(s);

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == ':'))
	s[--n] = 0;
}

 /*
  * Replies to the requester.
  */

/* notify_reply_check - can a reply to t be sent? */

int     notify_reply_check(const struct conf *conf, const struct store_ticket *t,
			           const char **why_r)
{
    const struct conf_queue *q = conf_queue_find(conf, t->queue ? t->queue : "");
    const char *why = 0;

    if (t->customer == 0 || *t->customer == 0)
	why = "the ticket has no requester address";
    else if (!notify_address_ok(t->customer))
	why = "the requester's address cannot be used";
    else if (notify_postdesk_address(conf, t->customer))
	why = "the requester's address is one of postdesk's own";
    else if (q == 0)
	why = "the ticket's queue is not configured";
    else if (q->addresses == 0 || q->addresses[0] == 0
	     || !notify_address_ok(q->addresses[0]))
	why = "the ticket's queue has no address";
    if (why_r)
	*why_r = why;
    return (why == 0);
}

/* response_cmp - bsearch by name */

static int response_cmp(const void *key, const void *item)
{
    return (strcmp((const char *) key, ((const struct notify_response *) item)->name));
}

/* find_response - a response template in lang, or NULL */

static const struct notify_template *find_response(const struct notify *n,
					                   enum notify_lang lang,
						           const char *name)
{
    const struct notify_response *r;

    if (n->n_responses[lang] == 0)
	return (0);
    r = bsearch(name, n->responses[lang], n->n_responses[lang],
		sizeof(*r), response_cmp);
    return (r ? r->tmpl : 0);
}

/* notify_response_exists - a response template in either language? */

int     notify_response_exists(const struct notify *n, const char *name)
{
    if (n == 0 || !notify_response_name_ok(name))
	return (0);
    for (int l = 0; l < NOTIFY_LANG_COUNT; l++)
	if (find_response(n, l, name))
	    return (1);
    return (0);
}

/* from_agent - was the article written from an agent's address? (An
   agent's mail to a queue address is stored like a requester's, but it
   is not the requester's mail that a reply answers.) */

static int from_agent(const struct conf *conf, const struct store_article *a)
{
    char   *addr = notify_addr_spec(a->from);
    int     yes = (*addr && conf_agent_by_email(conf, addr) != 0);

    mem_free(addr);
    return (yes);
}

/* read_last_mail - the ticket with article 1 and the newest customer
   article not written from an agent's address (*last_r, NULL when there
   is none) */

static int read_last_mail(const struct conf *conf, struct store_batch *batch,
			          const char *number, struct store_ticket **t_r,
			          const struct store_article **last_r)
{
    uint32_t want[1 + SCAN_CHUNK];
    uint32_t first = 1;
    uint32_t hi;
    int     rc;

    *last_r = 0;
    if ((rc = store_batch_ticket_get_articles(batch, number, &first, 1, t_r))
	!= STORE_OK)
	return (rc);
    hi = (*t_r)->n_articles_total;
    while (hi > 1) {
	size_t  n = 0;

	want[n++] = 1;
	for (uint32_t i = hi; i > 1 && n < 1 + SCAN_CHUNK; i--)
	    want[n++] = i;
	hi = want[n - 1] - 1;
	store_ticket_free(t_r);
	if ((rc = store_batch_ticket_get_articles(batch, number, want, n, t_r))
	    != STORE_OK)
	    return (rc);
	for (size_t i = 0; i < (*t_r)->n_articles; i++) {
	    const struct store_article *a = (*t_r)->articles + i;

	    if (a->index != 1 && a->sender_type == STORE_SENDER_CUSTOMER
		&& !from_agent(conf, a)) {
		*last_r = a;
		return (STORE_OK);
	    }
	}
    }
    for (size_t i = 0; i < (*t_r)->n_articles; i++)
	if ((*t_r)->articles[i].index == 1
	    && (*t_r)->articles[i].sender_type == STORE_SENDER_CUSTOMER)
	    *last_r = (*t_r)->articles + i;
    return (STORE_OK);
}

struct cc_list {
    char  **addrs;			/* lowercase */
    char  **names;			/* clean, may be "" */
    size_t  n;
};

/* cc_add - one Cc address, unless it must be skipped */

static void cc_add(struct cc_list *cc, const struct conf *conf,
		           const char *customer, const char *name, const char *addr)
{
    char   *a = str_lower(mem_strdup(addr ? addr : ""));

    if (cc->n >= NOTIFY_CC_MAX || !notify_address_ok(a)
	|| notify_postdesk_address(conf, a) || strcasecmp(a, customer) == 0) {
	mem_free(a);
	return;
    }
    for (size_t i = 0; i < cc->n; i++) {
	if (strcmp(cc->addrs[i], a) == 0) {
	    mem_free(a);
	    return;
	}
    }
    cc->addrs = mem_realloc(cc->addrs, (cc->n + 1) * sizeof(char *));
    cc->names = mem_realloc(cc->names, (cc->n + 1) * sizeof(char *));
    cc->addrs[cc->n] = a;
    cc->names[cc->n] = notify_text_clean(name ? name : "");
    cc->n++;
}

/* cc_parse - the Cc of the last mail */

static void cc_parse(struct cc_list *cc, const struct conf *conf,
		             const char *customer, const char *header)
{
    InternetAddressList *list;

    if (header == 0 || *header == 0
	|| (list = internet_address_list_parse(0, header)) == 0)
	return;
    for (int i = 0; i < internet_address_list_length(list); i++) {
	InternetAddress *ia = internet_address_list_get_address(list, i);

	if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
	    cc_add(cc, conf, customer, internet_address_get_name(ia),
		   internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
	} else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
	    InternetAddressList *members =
	    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));

	    for (int j = 0; members && j < internet_address_list_length(members); j++) {
		InternetAddress *m = internet_address_list_get_address(members, j);

		if (INTERNET_ADDRESS_IS_MAILBOX(m))
		    cc_add(cc, conf, customer, internet_address_get_name(m),
			   internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(m)));
	    }
	}
    }
    g_object_unref(list);
}

/* cc_free - free the list */

static void cc_free(struct cc_list *cc)
{
    for (size_t i = 0; i < cc->n; i++) {
	mem_free(cc->addrs[i]);
	mem_free(cc->names[i]);
    }
    mem_free(cc->addrs);
    mem_free(cc->names);
    memset(cc, 0, sizeof(*cc));
}

/* response_text - the response template's body for t, or NULL */

static char *response_text(const struct notify *n, const struct conf *conf,
			           const struct store_ticket *t,
			           const char *agent, const char *name,
			           enum notify_lang lang)
{
    const struct notify_template *tmpl = find_response(n, lang, name);
    struct notify_values vals;
    const char *aname = notify_agent_name(conf, agent);
    char   *subject, *body, *clean;

    if (tmpl == 0)
	tmpl = find_response(n, lang == NOTIFY_LANG_EN ? NOTIFY_LANG_FR
			     : NOTIFY_LANG_EN, name);
    if (tmpl == 0)
	return (0);
    memset(&vals, 0, sizeof(vals));
    notify_values_ticket(&vals, conf, t, lang);
    notify_values_set(&vals, NOTIFY_VAR_COMMANDS, 0);	/* never to a requester */
    notify_values_set(&vals, NOTIFY_VAR_AGENT_NAME, mem_strdup(aname ? aname : ""));
    notify_template_render(tmpl, (const char *const *) vals.v, &subject, &body);
    clean = clean_text(body);
    mem_free(subject);
    mem_free(body);
    notify_values_free(&vals);
    return (clean);
}

struct reply_parts {
    char   *stored;			/* what the requester reads, no quote */
    char   *body;			/* the whole mail text */
};

/* reply_body - response, text, quote header and quote */

static int reply_body(const struct notify *n, const struct conf *conf,
		              const struct store_ticket *t,
		              const struct store_article *last,
		              const struct notify_reply *r, enum notify_lang lang,
		              struct reply_parts *parts)
{
    struct buf *b = buf_create(1024, 0);
    char   *text = clean_text(r->text);

    if (r->response && *r->response) {
	char   *resp = response_text(n, conf, t, r->agent, r->response, lang);

	if (resp == 0) {
	    mem_free(text);
	    buf_destroy(&b);
	    return (-1);
	}
	buf_append_str(b, resp);
	mem_free(resp);
    }
    if (*text)
	buf_printf(b, "%s%s", buf_len(b) ? "\n\n" : "", text);
    mem_free(text);
    if (buf_len(b))
	buf_append_char(b, '\n');
    parts->stored = mem_strdup(buf_data(b));
    if (last) {
	char   *name = author_name(last->from);
	char   *head = quote_header(last->received, name, lang);

	buf_printf(b, "%s%s\n", buf_len(b) ? "\n" : "", head);
	quote_text(b, last->body);
	mem_free(head);
	mem_free(name);
    }
    parts->body = buf_steal(b, 0);
    buf_destroy(&b);
    return (0);
}

/* join_list - "a, b, c" */

static char *join_list(const char *first, char *const *rest, size_t n)
{
    struct buf *b = buf_create(128, 0);
    char   *s;

    if (first)
	buf_append_str(b, first);
    for (size_t i = 0; i < n; i++)
	buf_printf(b, "%s%s", buf_len(b) ? ", " : "", rest[i]);
    s = buf_steal(b, 0);
    buf_destroy(&b);
    return (s);
}

/* cc_display - the Cc in display form, for the article */

static char *cc_display(const struct cc_list *cc)
{
    char  **forms = mem_alloc((cc->n + 1) * sizeof(char *));
    char   *s;

    for (size_t i = 0; i < cc->n; i++)
	forms[i] = notify_display_form(cc->names[i], cc->addrs[i]);
    s = join_list(0, forms, cc->n);
    for (size_t i = 0; i < cc->n; i++)
	mem_free(forms[i]);
    mem_free(forms);
    return (s);
}

struct reply_mail {
    struct notify_mail mail;
    struct cc_list cc;
    const char *qaddr;
    char   *cc_text;
    char   *stored;
};

/* compose_reply - the whole reply to t */

static int compose_reply(const struct notify *n, const struct conf *conf,
			         const struct store_ticket *t,
			         const struct store_article *last,
			         const struct notify_reply *r, struct reply_mail *out)
{
    const struct conf_queue *q = conf_queue_find(conf, t->queue);
    enum notify_lang lang = notify_lang_of(conf_language(conf), 0);
    struct notify_mail_spec spec;
    struct reply_parts parts;
    char   *cname = notify_customer_name(t);
    char   *title, *subject;

    if (reply_body(n, conf, t, last, r, lang, &parts) < 0) {
	mem_free(cname);
	return (-1);
    }
    if (strcasecmp(cname, t->customer) == 0)
	*cname = 0;				/* no name: the address alone */
    if (last)
	cc_parse(&out->cc, conf, t->customer, last->cc);
    out->qaddr = q->addresses[0];
    title = notify_text_clean(t->title ? t->title : "");
    subject = notify_title_cut(title, NOTIFY_TITLE_MAX);
    out->mail.subject = mem_printf("[%s%s] %s", conf_ticket_hook(conf), t->number,
				   subject);
    mem_free(title);
    mem_free(subject);
    subject = notify_text_clean(out->mail.subject);	/* the hook too */
    mem_free(out->mail.subject);
    out->mail.subject = subject;
    out->mail.body = parts.body;
    out->stored = parts.stored;
    out->mail.message_id = notify_message_id(t->number, "reply", conf_domain(conf));
    memset(&spec, 0, sizeof(spec));
    spec.from_name = q->name;
    spec.from_addr = q->addresses[0];
    spec.to_name = cname;
    spec.to_addr = t->customer;
    spec.cc_names = (const char *const *) out->cc.names;
    spec.cc_addrs = (const char *const *) out->cc.addrs;
    spec.n_cc = out->cc.n;
    spec.subject = out->mail.subject;
    spec.body = out->mail.body;
    spec.message_id = out->mail.message_id;
    spec.in_reply_to = last ? last->message_id : 0;
    spec.auto_submitted = 0;			/* a person's reply */
    spec.loop = conf_instance(conf);
    spec.date = r->at;
    out->mail.data = notify_build_message(&spec, &out->mail.len);
    out->mail.from = notify_display_form(q->name, q->addresses[0]);
    out->mail.to = notify_display_form(cname, t->customer);
    out->mail.rcpt = mem_strdup(t->customer);
    out->cc_text = cc_display(&out->cc);
    mem_free(cname);
    return (0);
}

/* reply_free - free a composed reply */

static void reply_free(struct reply_mail *rm)
{
    notify_mail_free(&rm->mail);
    cc_free(&rm->cc);
    mem_free(rm->cc_text);
    mem_free(rm->stored);
    memset(rm, 0, sizeof(*rm));
}

/* store_reply - the outbox row and the article */

static int store_reply(struct store_batch *batch, const struct store_ticket *t,
		               const struct notify_reply *r, struct reply_mail *rm,
		               uint64_t *id_r, uint32_t *index_r)
{
    struct store_outbox_mail row;
    struct store_article_input art;
    const char **rcpts = mem_alloc((rm->cc.n + 1) * sizeof(*rcpts));
    int     rc;

    rcpts[0] = rm->mail.rcpt;
    for (size_t i = 0; i < rm->cc.n; i++)
	rcpts[i + 1] = rm->cc.addrs[i];
    memset(&row, 0, sizeof(row));
    row.number = t->number;
    row.kind = "reply";
    row.envelope_from = rm->qaddr;
    row.recipients = rcpts;
    row.n_recipients = rm->cc.n + 1;
    row.message_id = rm->mail.message_id;
    row.data = rm->mail.data;
    row.len = rm->mail.len;
    rc = status(store_outbox_add(batch, &row, id_r));
    mem_free(rcpts);
    if (rc != STORE_OK)
	return (rc);
    memset(&art, 0, sizeof(art));
    art.sender_type = STORE_SENDER_AGENT;
    art.channel = STORE_CHANNEL_EMAIL;
    art.visible_to_customer = 1;
    art.seen = 1;
    art.who = r->agent;
    art.from = rm->mail.from;
    art.to = rm->mail.to;
    art.cc = rm->cc_text;
    art.subject = rm->mail.subject;
    art.message_id = rm->mail.message_id;
    art.body = rm->stored;
    art.at = r->at;
    art.raw = rm->mail.data;
    art.raw_len = rm->mail.len;
    return (status(store_article_add(batch, t->number, t->number, &art, index_r)));
}

/* notify_reply_send - #reply: compose, queue, store */

int     notify_reply_send(const struct notify *n, struct store_batch *batch,
			          const struct conf *conf, const struct notify_reply *r,
			          uint32_t *article_r, char **sent_to_r)
{
    struct store_ticket *t = 0;
    const struct store_article *last = 0;
    struct reply_mail rm;
    const char *why = 0;
    uint64_t id = 0;
    uint32_t index = 0;
    int     rc;

    if (article_r)
	*article_r = 0;
    if (sent_to_r)
	*sent_to_r = 0;
    if (r->number == 0 || *r->number == 0 || r->agent == 0 || *r->agent == 0)
	return (STORE_PERM);
    rc = read_last_mail(conf, batch, r->number, &t, &last);
    if (rc == STORE_NOTFOUND) {
	log_warn("%s: no reply: no such ticket", r->number);
	return (STORE_PERM);
    }
    if (rc != STORE_OK) {
	store_ticket_free(&t);
	return (status(rc));
    }
    if (!notify_reply_check(conf, t, &why)) {
	log_warn("%s: no reply by %s: %s", t->number, r->agent, why);
	store_ticket_free(&t);
	return (STORE_PERM);
    }
    memset(&rm, 0, sizeof(rm));
    if (compose_reply(n, conf, t, last, r, &rm) < 0) {
	log_warn("%s: no reply by %s: no response template \"%s\"", t->number,
		 r->agent, r->response);
	reply_free(&rm);
	store_ticket_free(&t);
	return (STORE_PERM);
    }
    rc = store_reply(batch, t, r, &rm, &id, &index);
    if (rc == STORE_OK) {
	char   *to = join_list(rm.mail.rcpt, rm.cc.addrs, rm.cc.n);

	log_info("%s: reply by %s to=<%s>, outbox=%llu, article=%u", t->number,
		 r->agent, to, (unsigned long long) id, index);
	if (article_r)
	    *article_r = index;
	if (sent_to_r)
	    *sent_to_r = to;
	else
	    mem_free(to);
    }
    reply_free(&rm);
    store_ticket_free(&t);
    return (rc);
}

 /*
  * Mail to the agent about their own command mail.
  */

/* agent_kind - the template of a kind, or -1 */

static int agent_kind(enum notify_agent_kind kind)
{
    switch (kind) {
    case NOTIFY_AGENT_TRANSCRIPT:
	return (NOTIFY_KIND_TRANSCRIPT);
    case NOTIFY_AGENT_QUARANTINE:
	return (NOTIFY_KIND_QUARANTINE);
    case NOTIFY_AGENT_HELP:
	return (NOTIFY_KIND_HELP);
    case NOTIFY_AGENT_LIST:
	return (NOTIFY_KIND_LIST);
    }
    return (-1);
}

/* response_names - "a, b, c": the response templates of either
   language, sorted, each once */

static char *response_names(const struct notify *n, enum notify_lang lang)
{
    const struct notify_response *fr = n->responses[NOTIFY_LANG_FR];
    const struct notify_response *en = n->responses[NOTIFY_LANG_EN];
    size_t  i = 0, j = 0;
    size_t  n_fr = n->n_responses[NOTIFY_LANG_FR];
    size_t  n_en = n->n_responses[NOTIFY_LANG_EN];
    struct buf *b = buf_create(128, 0);
    char   *s;

    while (i < n_fr || j < n_en) {		/* merge two sorted lists */
	int     cmp = i >= n_fr ? 1 : j >= n_en ? -1 : strcmp(fr[i].name, en[j].name);
	const char *name = cmp <= 0 ? fr[i].name : en[j].name;

	buf_printf(b, "%s%s", buf_len(b) ? ", " : "", name);
	if (cmp <= 0)
	    i++;
	if (cmp >= 0)
	    j++;
    }
    if (buf_len(b) == 0)
	buf_append_str(b, lang == NOTIFY_LANG_EN ? "(none)" : "(aucun)");
    s = buf_steal(b, 0);
    buf_destroy(&b);
    return (s);
}

/* agent_values - the placeholders of an agent mail */

static void agent_values(const struct notify *n, struct notify_values *vals,
			         const struct conf *conf,
			         const struct store_ticket *t, const char *number,
			         const struct conf_agent *a,
			         const struct notify_agent_mail *m,
			         enum notify_lang lang)
{
    if (t)
	notify_values_ticket(vals, conf, t, lang);
    else
	notify_values_set(vals, NOTIFY_VAR_TICKET_NUMBER, mem_strdup(number));
    notify_values_set(vals, NOTIFY_VAR_AGENT_NAME,
		      mem_strdup(a->name && *a->name ? a->name : a->login));
    notify_values_set(vals, NOTIFY_VAR_EVENT_DETAIL,
		      notify_text_clean(m->outcome ? m->outcome : ""));
    notify_values_set(vals, NOTIFY_VAR_MAIL_SUBJECT, strip_subject(conf, m->subject));
    if (m->kind == NOTIFY_AGENT_HELP) {		/* the response templates */
	char   *names = response_names(n, lang);

	char   *text = clean_text(m->text);

	notify_values_set(vals, NOTIFY_VAR_COMMANDS, *text ?
			  mem_printf("%s\n\n%s", names, text) : mem_strdup(names));
	mem_free(text);
	mem_free(names);
    } else {
	notify_values_set(vals, NOTIFY_VAR_COMMANDS, clean_text(m->text));
    }
}

/* agent_reply_to - the agent's signed address, or NULL without a key */

static char *agent_reply_to(const struct notify *n, const struct conf *conf,
			            const struct conf_agent *a, const char *number,
			            const struct store_ticket *t, time_t at)
{
    struct sigaddr_claims claims;

    if (n->key == 0)
	return (0);
    memset(&claims, 0, sizeof(claims));
    claims.key_epoch = sigaddr_key_epoch(n->key);
    claims.agent_id = sigaddr_agent_id(a->login);
    claims.ticket = *number ? notify_ticket_integer(number) : 0;
    claims.revision = t ? (uint16_t) (t->revision & 0xffff) : 0;
    claims.issue_day = sigaddr_day(at);
    return (sigaddr_address(n->key, conf_command_localpart(conf),
			    conf_domain(conf), &claims));
}

/* compose_agent_mail - the message of m to a */

static void compose_agent_mail(const struct notify *n, const struct conf *conf,
			               const struct notify_agent_mail *m,
			               const struct conf_agent *a,
			               const struct store_ticket *t, const char *number,
			               int kind, struct notify_mail *mail)
{
    enum notify_lang lang = notify_lang_of(a->language, conf_language(conf));
    struct notify_values vals;
    struct notify_mail_spec spec;
    char   *subject, *full;
    char   *from_addr = mem_printf("%s@%s", conf_command_localpart(conf),
				   conf_domain(conf));
    char   *reply_to = agent_reply_to(n, conf, a, number, t, m->at);

    memset(&vals, 0, sizeof(vals));
    agent_values(n, &vals, conf, t, number, a, m, lang);
    notify_template_render(n->tmpl[lang][kind], (const char *const *) vals.v,
			   &subject, &mail->body);
    trim_subject(subject);
    full = *number ? mem_printf("[%s%s] %s", conf_ticket_hook(conf), number, subject)
	: mem_strdup(subject);
    mail->subject = notify_text_clean(full);
    mem_free(full);
    mem_free(subject);
    mail->message_id = notify_message_id(*number ? number : "agent",
					 notify_kind_name(kind), conf_domain(conf));
    memset(&spec, 0, sizeof(spec));
    spec.from_name = "postdesk";
    spec.from_addr = from_addr;
    spec.to_name = vals.v[NOTIFY_VAR_AGENT_NAME];
    spec.to_addr = a->emails[0];
    spec.reply_to = reply_to;
    spec.subject = mail->subject;
    spec.body = mail->body;
    spec.message_id = mail->message_id;
    spec.in_reply_to = m->in_reply_to;
    spec.auto_submitted = "auto-replied";
    spec.loop = conf_instance(conf);
    spec.date = m->at;
    mail->data = notify_build_message(&spec, &mail->len);
    mail->from = notify_display_form(spec.from_name, from_addr);
    mail->to = notify_display_form(spec.to_name, a->emails[0]);
    mail->rcpt = mem_strdup(a->emails[0]);
    notify_values_free(&vals);
    mem_free(reply_to);
    mem_free(from_addr);
}

/* visible_ticket - the ticket when it exists and a may work its queue */

static int visible_ticket(struct store_batch *batch, const struct conf *conf,
			          const struct conf_agent *a, const char *number,
			          struct store_ticket **t_r)
{
    uint32_t first = 1;
    int     rc;

    *t_r = 0;
    if (*number == 0)
	return (STORE_OK);
    rc = store_batch_ticket_get_articles(batch, number, &first, 1, t_r);
    if (rc == STORE_NOTFOUND)
	return (STORE_OK);
    if (rc != STORE_OK)
	return (status(rc));
    if (!conf_agent_works(a, conf_queue_find(conf, (*t_r)->queue ? (*t_r)->queue
						   : "")))
	store_ticket_free(t_r);
    return (STORE_OK);
}

/* notify_agent_send - one mail to the agent's configured address */

int     notify_agent_send(const struct notify *n, struct store_batch *batch,
			          const struct conf *conf,
			          const struct notify_agent_mail *m)
{
    const struct conf_agent *a = conf_agent_find(conf, m->agent ? m->agent : "");
    const char *number = m->number ? m->number : "";
    const char *log_id = *number ? number : (m->agent ? m->agent : "NOID");
    int     kind = agent_kind(m->kind);
    struct store_ticket *t = 0;
    struct store_outbox_mail row;
    struct notify_mail mail;
    const char *rcpts[1];
    uint64_t id = 0;
    int     rc;

    if (kind < 0 || a == 0 || a->emails == 0 || a->emails[0] == 0
	|| !notify_address_ok(a->emails[0])) {
	log_warn("%s: no mail to agent %s: %s", log_id, m->agent ? m->agent : "?",
		 kind < 0 ? "unknown kind" : a == 0 ? "no such agent"
		 : "no usable address");
	return (STORE_PERM);
    }
    if ((rc = visible_ticket(batch, conf, a, number, &t)) != STORE_OK)
	return (rc);
    memset(&mail, 0, sizeof(mail));
    compose_agent_mail(n, conf, m, a, t, number, kind, &mail);
    rcpts[0] = mail.rcpt;
    memset(&row, 0, sizeof(row));
    row.number = number;
    row.kind = notify_kind_name(kind);
    row.envelope_from = "";
    row.recipients = rcpts;
    row.n_recipients = 1;
    row.message_id = mail.message_id;
    row.data = mail.data;
    row.len = mail.len;
    rc = status(store_outbox_add(batch, &row, &id));
    if (rc == STORE_OK)
	log_info("%s: %s to=<%s> (%s), outbox=%llu", log_id, row.kind, mail.rcpt,
		 a->login, (unsigned long long) id);
    notify_mail_free(&mail);
    store_ticket_free(&t);
    return (rc);
}

 /*
  * #confirm codes.
  */

/* notify_confirm_code - 8 base32 characters of an HMAC */

void    notify_confirm_code(const struct notify *n, const char *agent,
			            const char *number, const char *into,
			            unsigned day, char out[9])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    struct buf *b;
    char   *login;
    unsigned char mac[32];
    uint64_t bits = 0;

    out[0] = 0;
    if (n == 0 || n->key == 0)
	return;
    b = buf_create(128, 0);
    login = str_lower(mem_strdup(agent ? agent : ""));
    buf_append(b, CONFIRM_LABEL, sizeof(CONFIRM_LABEL));	/* with its NUL */
    buf_append(b, login, strlen(login) + 1);
    buf_append(b, number ? number : "", strlen(number ? number : "") + 1);
    buf_append(b, into ? into : "", strlen(into ? into : "") + 1);
    buf_printf(b, "%u", day);
    sigaddr_hmac(n->key, buf_data(b), buf_len(b), mac);
    for (int i = 0; i < 5; i++)			/* 40 bits, 8 characters */
	bits = (bits << 8) | mac[i];
    for (int i = 0; i < 8; i++)
	out[i] = alphabet[(bits >> (35 - 5 * i)) & 0x1f];
    out[8] = 0;
    mem_free(login);
    buf_destroy(&b);
}
