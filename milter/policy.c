/*++
/* NAME
/*	policy 3
/* SUMMARY
/*	postdesk-milter decisions, without libmilter
/* SYNOPSIS
/*	#include "milter_private.h"
/*
/*	char	*milter_addr_normalize(arg)
/*	enum milter_rcpt_kind milter_rcpt_classify(conf, key, addr, now, why_r)
/*	int	milter_size_param(args, size_r)
/*	void	milter_mail_decide(conf, sender_arg, args, txn, reply)
/*	void	milter_rcpt_decide(conf, key, rate, client, txn, rcpt_arg,
/*				now, reply)
/*	void	milter_header_note(conf, headers, name, value)
/*	int	milter_strip_wanted(conf, name, value)
/*	void	milter_headers_decide(conf, txn, reply)
/*	void	milter_headers_finish(headers)
/*	void	milter_txn_reset(txn)
/*	char	*milter_conn_spec(listen)
/* DESCRIPTION
/*	Pure functions over a conf snapshot, the HMAC key and the state of
/*	one SMTP transaction (struct milter_txn); the callbacks map their
/*	struct milter_reply onto libmilter.
/*
/*	milter_addr_normalize() turns an envelope argument ("<Foo@Bar>",
/*	with or without brackets, with or without an RFC 5321 source
/*	route) into a lowercase address (mem_free()).
/*
/*	milter_rcpt_classify() says what a normalized recipient is: a
/*	queue address (case-insensitive, +extension ignored); a signed
/*	command address whose token verifies and has not expired; any
/*	other address in the signed addresses' domain or a dedicated
/*	domain (unknown, or a bad or expired token: *why_r tells which,
/*	for the log only); or not postdesk's business (other domains,
/*	including the shared domain of queue addresses).
/*
/*	milter_size_param() finds SIZE=n among the ESMTP parameters of
/*	MAIL FROM (NULL-terminated); 1 and *size_r when found.
/*
/*	milter_mail_decide() starts a transaction: records the sender and
/*	the declared size, and refuses a declared size above
/*	max_message_size with 552 5.3.4.
/*
/*	milter_rcpt_decide() answers one RCPT: 550 5.1.1 for an unknown
/*	recipient of a dedicated domain and for a bad or expired token
/*	(the same text: a forger learns nothing); continue for other
/*	domains and valid signed addresses; for a queue address the mail
/*	is counted once against the sender's and the client's hourly
/*	token buckets (milter_rate_take), and 451 4.7.1 when one is empty.
/*	Only queue addresses count; signed addresses are never limited.
/*
/*	milter_header_note() looks at one header: counts Received:,
/*	notices X-Postdesk-Loop naming our instance, and records for
/*	deletion every X-Postdesk-* header and every
/*	Authentication-Results whose authserv-id is ours (with its index
/*	among headers of the same name, as smfi_chgheader() wants).
/*	milter_strip_wanted() is that last test alone.
/*
/*	milter_headers_decide() refuses, with 554 5.4.6, a mail for
/*	postdesk that carries our own loop header or more Received
/*	headers than milter_max_received. Mail with no postdesk
/*	recipient is never judged on its headers.
/*
/*	milter_headers_finish() orders the deletions (per name, the
/*	highest index first). milter_txn_reset() frees and zeroes a
/*	transaction.
/*
/*	milter_conn_spec() converts the milter_listen syntax of
/*	postdesk.conf (Postfix's) into libmilter's.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <util.h>
#include <conf.h>
#include <sigaddr.h>

#include "milter_private.h"

#define LOOP_HEADER	"X-Postdesk-Loop"
#define OWN_PREFIX	"X-Postdesk-"
#define AR_HEADER	"Authentication-Results"

/* reply_set - fill a reply */

static void reply_set(struct milter_reply *r, enum milter_action action,
		              const char *rcode, const char *xcode,
		              const char *text, const char *why)
{
    r->action = action;
    r->rcode = rcode;
    r->xcode = xcode;
    r->text = text;
    r->why = why;
}

/* milter_addr_normalize - "<Foo@Bar>" to "foo@bar" */

char   *milter_addr_normalize(const char *arg)
{
    const char *start, *end, *colon;

    if (arg == 0)
	return (mem_strdup(""));
    start = arg;
    while (*start == ' ' || *start == '\t')
	start++;
    end = start + strlen(start);
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
	end--;
    if (end > start && *start == '<') {
	start++;
	if (end > start && end[-1] == '>')
	    end--;
    }
    /* RFC 5321 source route: "@a,@b:user@domain" */
    if (start < end && *start == '@'
	&& (colon = memchr(start, ':', (size_t) (end - start))) != 0)
	start = colon + 1;
    return (str_lower(mem_strndup(start, (size_t) (end - start))));
}

/* domain_dedicated - the domain belongs to postdesk alone */

static int domain_dedicated(const struct conf *conf, const char *domain)
{
    if (strcasecmp(domain, conf_domain(conf)) == 0)
	return (1);
    for (const char *const *dp = conf_dedicated_domains(conf); dp && *dp; dp++)
	if (strcasecmp(domain, *dp) == 0)
	    return (1);
    return (0);
}

/* milter_rcpt_classify - what a recipient is to postdesk */

enum milter_rcpt_kind milter_rcpt_classify(const struct conf *conf,
				             const struct sigaddr_key *key,
					           const char *addr, time_t now,
					           const char **why_r)
{
    char    token[SIGADDR_TOKEN_LEN + 1];
    const char *at = addr ? strrchr(addr, '@') : 0;
    const char *why_dummy;

    if (why_r == 0)
	why_r = &why_dummy;
    if (at == 0 || at == addr || at[1] == 0) {
	*why_r = "no domain";
	return (MILTER_RCPT_OTHER);
    }
    if (conf_queue_by_address(conf, addr) != 0) {
	*why_r = "queue address";
	return (MILTER_RCPT_QUEUE);
    }
    if (sigaddr_match(addr, conf_command_localpart(conf), conf_domain(conf), token)) {
	switch (key ? sigaddr_verify(key, token, now, conf_token_max_age(conf), 0)
		: SIGADDR_BAD) {
	case SIGADDR_OK:
	    *why_r = "signed address";
	    return (MILTER_RCPT_SIGNED);
	case SIGADDR_EXPIRED:
	    *why_r = "expired token";
	    return (MILTER_RCPT_UNKNOWN);
	default:
	    *why_r = "bad token";
	    return (MILTER_RCPT_UNKNOWN);
	}
    }
    if (domain_dedicated(conf, at + 1)) {
	*why_r = "unknown address";
	return (MILTER_RCPT_UNKNOWN);
    }
    *why_r = "other domain";
    return (MILTER_RCPT_OTHER);
}

/* milter_size_param - SIZE=n among ESMTP parameters */

int     milter_size_param(const char *const *args, size_t *size_r)
{
    for (const char *const *ap = args; ap && *ap; ap++) {
	const char *cp;
	size_t  n = 0;

	if (strncasecmp(*ap, "SIZE=", 5) != 0)
	    continue;
	cp = *ap + 5;
	if (!isdigit((unsigned char) *cp))
	    return (0);
	for (; isdigit((unsigned char) *cp); cp++) {
	    size_t  d = (size_t) (*cp - '0');

	    n = (n > (SIZE_MAX - d) / 10) ? SIZE_MAX : n * 10 + d;
	}
	if (*cp != 0)
	    return (0);
	*size_r = n;
	return (1);
    }
    return (0);
}

/* milter_txn_reset - forget a transaction */

void    milter_txn_reset(struct milter_txn *txn)
{
    struct milter_headers *h = &txn->headers;

    mem_free(txn->sender);
    for (size_t i = 0; i < h->n_strip; i++)
	mem_free(h->strip[i].name);
    mem_free(h->strip);
    for (size_t i = 0; i < h->n_names; i++)
	mem_free(h->names[i].name);
    mem_free(h->names);
    memset(txn, 0, sizeof(*txn));
}

/* milter_mail_decide - MAIL FROM: start a transaction, check SIZE= */

void    milter_mail_decide(const struct conf *conf, const char *sender_arg,
			           const char *const *args, struct milter_txn *txn,
			           struct milter_reply *reply)
{
    size_t  size = 0;

    milter_txn_reset(txn);
    txn->sender = milter_addr_normalize(sender_arg);
    if (milter_size_param(args, &size))
	txn->declared_size = size;
    if (size > conf_max_message_size(conf)) {
	reply_set(reply, MILTER_REJECT, "552", "5.3.4",
		  "Message size exceeds the helpdesk's limit", "declared size");
	return;
    }
    reply_set(reply, MILTER_CONTINUE, 0, 0, 0, "mail");
}

/* milter_rcpt_decide - RCPT TO: one recipient */

void    milter_rcpt_decide(const struct conf *conf, const struct sigaddr_key *key,
			           struct milter_rate *rate, const char *client,
			           struct milter_txn *txn, const char *rcpt_arg,
			           time_t now, struct milter_reply *reply)
{
    char   *addr = milter_addr_normalize(rcpt_arg);
    const char *why = 0;
    enum milter_rate_verdict rv;

    switch (milter_rcpt_classify(conf, key, addr, now, &why)) {
    case MILTER_RCPT_UNKNOWN:
	reply_set(reply, MILTER_REJECT, "550", "5.1.1",
		  "Recipient address rejected: no such helpdesk address", why);
	break;
    case MILTER_RCPT_SIGNED:
	txn->ours = 1;
	txn->n_ours++;
	reply_set(reply, MILTER_CONTINUE, 0, 0, 0, why);
	break;
    case MILTER_RCPT_QUEUE:
	if (rate != 0 && !txn->rated) {
	    rv = milter_rate_take(rate, txn->sender, client,
				  conf_milter_rate_sender(conf),
				  conf_milter_rate_client(conf), now);
	    if (rv != MILTER_RATE_OK) {
		reply_set(reply, MILTER_TEMPFAIL, "451", "4.7.1",
			  rv == MILTER_RATE_SENDER ?
			  "Too many new requests from this sender, try again later" :
			  "Too many new requests from this client, try again later",
			  rv == MILTER_RATE_SENDER ? "sender rate limit" :
			  "client rate limit");
		break;
	    }
	    txn->rated = 1;
	}
	txn->ours = 1;
	txn->n_ours++;
	reply_set(reply, MILTER_CONTINUE, 0, 0, 0, why);
	break;
    default:
	reply_set(reply, MILTER_CONTINUE, 0, 0, 0, why);
	break;
    }
    mem_free(addr);
}

/* skip_cfws - blanks, folding and (nested) comments */

static const char *skip_cfws(const char *cp)
{
    int     depth = 0;

    for (; *cp; cp++) {
	if (*cp == '(')
	    depth++;
	else if (*cp == ')' && depth > 0)
	    depth--;
	else if (depth == 0 && !(*cp == ' ' || *cp == '\t' || *cp == '\r' || *cp == '\n'))
	    break;
	else if (depth > 0 && *cp == '\\' && cp[1])
	    cp++;
    }
    return (cp);
}

/* authserv_is_ours - the authserv-id of an Authentication-Results value */

static int authserv_is_ours(const struct conf *conf, const char *value)
{
    const char *ours = conf_authserv_id(conf);
    const char *cp = skip_cfws(value ? value : "");
    const char *end;
    size_t  len = strlen(ours);

    if (*cp == '"') {
	cp++;
	end = strchr(cp, '"');
	if (end == 0)
	    return (0);
    } else {
	for (end = cp; *end && *end != ';' && *end != '(' && *end != ' '
	     && *end != '\t' && *end != '\r' && *end != '\n'; end++)
	     /* void */ ;
    }
    return ((size_t) (end - cp) == len && strncasecmp(cp, ours, len) == 0);
}

/* milter_strip_wanted - a header to delete at end of message */

int     milter_strip_wanted(const struct conf *conf, const char *name,
			            const char *value)
{
    if (name == 0)
	return (0);
    if (strncasecmp(name, OWN_PREFIX, sizeof(OWN_PREFIX) - 1) == 0)
	return (1);
    if (strcasecmp(name, AR_HEADER) == 0)
	return (authserv_is_ours(conf, value));
    return (0);
}

/* value_equals - a header value, blanks trimmed, equals text (any case) */

static int value_equals(const char *value, const char *text)
{
    const char *end;
    size_t  len = strlen(text);

    while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
	value++;
    end = value + strlen(value);
    while (end > value && (end[-1] == ' ' || end[-1] == '\t'
			   || end[-1] == '\r' || end[-1] == '\n'))
	end--;
    return ((size_t) (end - value) == len && strncasecmp(value, text, len) == 0);
}

/* name_occurrence - count one more header of this name; its index */

static int name_occurrence(struct milter_headers *h, const char *name)
{
    for (size_t i = 0; i < h->n_names; i++)
	if (strcasecmp(h->names[i].name, name) == 0)
	    return (++h->names[i].count);
    if (h->n_names == h->names_cap) {
	h->names_cap = h->names_cap ? 2 * h->names_cap : 4;
	h->names = mem_realloc(h->names, h->names_cap * sizeof(*h->names));
    }
    h->names[h->n_names].name = str_lower(mem_strdup(name));
    h->names[h->n_names].count = 1;
    h->n_names++;
    return (1);
}

/* milter_header_note - look at one header */

void    milter_header_note(const struct conf *conf, struct milter_headers *h,
			           const char *name, const char *value)
{
    int     index;

    if (name == 0)
	return;
    if (value == 0)
	value = "";
    if (strcasecmp(name, "Received") == 0 && h->received < UINT32_MAX)
	h->received++;
    if (strcasecmp(name, LOOP_HEADER) == 0 && value_equals(value, conf_instance(conf)))
	h->own_loop = 1;
    if (strncasecmp(name, OWN_PREFIX, sizeof(OWN_PREFIX) - 1) != 0
	&& strcasecmp(name, AR_HEADER) != 0)
	return;
    index = name_occurrence(h, name);
    if (!milter_strip_wanted(conf, name, value))
	return;
    if (h->n_strip == h->strip_cap) {
	h->strip_cap = h->strip_cap ? 2 * h->strip_cap : 4;
	h->strip = mem_realloc(h->strip, h->strip_cap * sizeof(*h->strip));
    }
    h->strip[h->n_strip].name = mem_strdup(name);
    h->strip[h->n_strip].index = index;
    h->n_strip++;
}

/* strip_order - by name (any case), then the highest index first */

static int strip_order(const void *a, const void *b)
{
    const struct milter_strip *sa = a, *sb = b;
    int     d = strcasecmp(sa->name, sb->name);

    if (d != 0)
	return (d);
    return (sb->index - sa->index);
}

/* milter_headers_finish - put the deletions in a safe order */

void    milter_headers_finish(struct milter_headers *h)
{
    if (h->n_strip > 1)
	qsort(h->strip, h->n_strip, sizeof(*h->strip), strip_order);
}

/* milter_headers_decide - end of headers: loops */

void    milter_headers_decide(const struct conf *conf, const struct milter_txn *txn,
			              struct milter_reply *reply)
{
    if (!txn->ours) {
	reply_set(reply, MILTER_CONTINUE, 0, 0, 0, "not ours");
    } else if (txn->headers.own_loop) {
	reply_set(reply, MILTER_REJECT, "554", "5.4.6",
		  "Mail loop detected: this message already passed this helpdesk",
		  "own X-Postdesk-Loop");
    } else if (txn->headers.received > conf_milter_max_received(conf)) {
	reply_set(reply, MILTER_REJECT, "554", "5.4.6",
		  "Mail loop detected: too many Received headers",
		  "too many Received");
    } else {
	reply_set(reply, MILTER_CONTINUE, 0, 0, 0, "headers");
    }
}

/* milter_conn_spec - Postfix endpoint syntax to libmilter's */

char   *milter_conn_spec(const char *listen)
{
    const char *hp, *colon;

    if (listen == 0)
	return (0);
    if (strncmp(listen, "unix:", 5) == 0)
	return (listen[5] == '/' ? mem_strdup(listen) : 0);
    if (strncmp(listen, "inet:", 5) != 0)
	return (0);
    hp = listen + 5;
    if (*hp == '[') {
	const char *close = strchr(hp, ']');

	if (close == 0 || close[1] != ':' || close[2] == 0 || close == hp + 1)
	    return (0);
	return (mem_printf("inet6:%s@%.*s", close + 2, (int) (close - hp - 1), hp + 1));
    }
    if ((colon = strrchr(hp, ':')) == 0 || colon == hp || colon[1] == 0)
	return (0);
    return (mem_printf("inet:%s@%.*s", colon + 1, (int) (colon - hp), hp));
}
