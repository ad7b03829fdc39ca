#ifndef POSTDESK_NOTIFY_PRIVATE_H
#define POSTDESK_NOTIFY_PRIVATE_H

/*++
/* NAME
/*	notify_private 3h
/* SUMMARY
/*	shared by the composing files of notify/ (compose.c, template.c,
/*	recipients.c, loop.c, agentmail.c) and their unit test
/* SYNOPSIS
/*	#include "notify_private.h"
/* DESCRIPTION
/*	Not part of the public notify interface. No GMime type appears
/*	here either: the composing functions take and give plain C
/*	strings. Strings returned are newly allocated (mem_free()) unless
/*	said otherwise.
/*--*/

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "notify.h"

struct buf;
struct conf;
struct conf_agent;
struct store_message;
struct store_ticket;
struct store_article;

/*
 * The mail kinds, one template file each (NAME.txt).
 */
enum notify_kind {
    NOTIFY_KIND_ACK,
    NOTIFY_KIND_NEW_TICKET,
    NOTIFY_KIND_FOLLOW_UP,
    NOTIFY_KIND_NEW_NOTE,
    NOTIFY_KIND_LOCK,
    NOTIFY_KIND_OWNER,
    NOTIFY_KIND_MOVE,
    NOTIFY_KIND_ESCALATION,
    NOTIFY_KIND_PENDING,
    /* Mail to an agent about their own command mail (agentmail.c). */
    NOTIFY_KIND_TRANSCRIPT,
    NOTIFY_KIND_QUARANTINE,
    NOTIFY_KIND_HELP,
    NOTIFY_KIND_LIST,
    NOTIFY_KIND_COUNT,
};

enum notify_lang {
    NOTIFY_LANG_FR,
    NOTIFY_LANG_EN,
    NOTIFY_LANG_COUNT,
};

/*
 * Placeholders ({{name}}). The multi-line ones may not stand in a
 * Subject line.
 */
enum notify_var {
    NOTIFY_VAR_TICKET_NUMBER,
    NOTIFY_VAR_TICKET_TITLE,
    NOTIFY_VAR_TICKET_QUEUE,
    NOTIFY_VAR_TICKET_STATE,
    NOTIFY_VAR_TICKET_PRIORITY,
    NOTIFY_VAR_TICKET_TYPE,
    NOTIFY_VAR_TICKET_CUSTOMER,
    NOTIFY_VAR_TICKET_OWNER,
    NOTIFY_VAR_CUSTOMER_NAME,
    NOTIFY_VAR_AGENT_NAME,
    NOTIFY_VAR_ARTICLE_FROM,
    NOTIFY_VAR_ARTICLE_RECEIVED,
    NOTIFY_VAR_ARTICLE_BODY,		/* multi-line */
    NOTIFY_VAR_ARTICLE_ATTACHMENTS,	/* multi-line */
    NOTIFY_VAR_EVENT_DETAIL,
    NOTIFY_VAR_EVENT_ACTOR,
    NOTIFY_VAR_COMMANDS,		/* multi-line */
    NOTIFY_VAR_MAIL_SUBJECT,		/* the agent mail's subject */
    NOTIFY_VAR_COUNT,
};

#define NOTIFY_TITLE_MAX	100	/* characters of a title in a Subject */
#define NOTIFY_TEMPLATE_MAX	(64 * 1024)	/* bytes of one template file */
#define NOTIFY_BODY_QUOTE_MAX	(64 * 1024)	/* bytes of quoted article text */
#define NOTIFY_RESPONSE_NAME_MAX 40	/* [a-z0-9-] characters */
#define NOTIFY_RESPONSES_MAX	1000	/* response templates per language */
#define NOTIFY_CC_MAX		50	/* Cc addresses of a reply */

extern const char *notify_kind_name(enum notify_kind);
extern const char *notify_lang_name(enum notify_lang);
extern const char *notify_var_name(enum notify_var);

/*
 * template.c: one parsed template file.
 */
struct notify_template;

/* notify_template_load - read and check path; NULL with one or more
   "FILE:LINE: message" lines appended to errors. */
extern struct notify_template *notify_template_load(const char *path,
						             struct buf *errors);
extern void notify_template_free(struct notify_template **tp);

/* notify_template_render - the Subject (without the ticket tag) and the
   body. values[NOTIFY_VAR_COUNT] (NULL counts as ""). In the Subject
   every control character of a value becomes a space and the title
   is cut to NOTIFY_TITLE_MAX characters + " [...]"; in the body CR is
   dropped and other control characters but TAB and LF become spaces. */
extern void notify_template_render(const struct notify_template *,
				           const char *const *values,
				           char **subject_r, char **body_r);

/* notify_text_clean - a copy of text for one header: control
   characters become spaces, invalid UTF-8 U+FFFD. */
extern char *notify_text_clean(const char *text);

/* notify_title_cut - text cut to max characters plus " [...]". */
extern char *notify_title_cut(const char *text, size_t max);

/*
 * Response templates (#template NAME): LANG/responses/NAME.txt.
 */
struct notify_response {
    char   *name;			/* [a-z0-9-]{1,40} */
    struct notify_template *tmpl;
};

/* notify_response_name_ok - NAME is [a-z0-9-]{1,40} */
extern int notify_response_name_ok(const char *name);

/* notify_responses_load - every dir/LANG/responses/NAME.txt, sorted by
   name (*items_r, *n_r; none when the directory does not exist); each
   problem appended to errors as "FILE:LINE: message". Returns 0 or -1. */
extern int notify_responses_load(const char *dir, enum notify_lang lang,
				         struct notify_response **items_r,
				         size_t *n_r, struct buf *errors);
extern void notify_responses_free(struct notify_response **itemsp, size_t n);

/*
 * compose.c: the whole struct notify and the messages.
 */
struct notify {
    int     refcount;			/* atomic */
    struct sigaddr_key *key;		/* may be NULL */
    struct notify_template *tmpl[NOTIFY_LANG_COUNT][NOTIFY_KIND_COUNT];
    struct notify_response *responses[NOTIFY_LANG_COUNT];	/* by name */
    size_t  n_responses[NOTIFY_LANG_COUNT];
};

/* A composed mail, ready for the outbox. */
struct notify_mail {
    char   *data;			/* CRLF message */
    size_t  len;
    char   *message_id;			/* without <> */
    char   *rcpt;			/* envelope recipient */
    char   *from;			/* From: in display form, for the article */
    char   *to;				/* To: in display form */
    char   *subject;			/* decoded Subject */
    char   *body;			/* text (LF) */
};

extern void notify_mail_free(struct notify_mail *);

/* notify_lang_of - "en..." English, "fr..." French, else def */
extern enum notify_lang notify_lang_of(const char *tag, const char *def);

/*
 * The pieces of a message, shared by compose.c and agentmail.c.
 */
struct notify_values {			/* placeholder values, owned */
    char   *v[NOTIFY_VAR_COUNT];
};

/* notify_values_set - value (owned; may be NULL) for var */
extern void notify_values_set(struct notify_values *, enum notify_var,
			              char *value);
/* notify_values_ticket - the ticket.*, customer.name and commands values */
extern void notify_values_ticket(struct notify_values *, const struct conf *,
				         const struct store_ticket *,
				         enum notify_lang);
extern void notify_values_free(struct notify_values *);

struct notify_mail_spec {
    const char *from_name;
    const char *from_addr;
    const char *to_name;
    const char *to_addr;
    const char *const *cc_names;	/* n_cc each; names may be NULL */
    const char *const *cc_addrs;
    size_t  n_cc;
    const char *reply_to;		/* NULL: none */
    const char *subject;		/* full, clean */
    const char *body;
    const char *message_id;		/* without <> */
    const char *in_reply_to;		/* without <>, NULL or "": none */
    const char *auto_submitted;		/* NULL: no Auto-Submitted header */
    const char *loop;
    time_t  date;
};

/* notify_build_message - the whole message (CRLF), *len_r bytes */
extern char *notify_build_message(const struct notify_mail_spec *, size_t *len_r);
/* notify_message_id - NUMBER.KIND.RANDOM@DOMAIN */
extern char *notify_message_id(const char *number, const char *kind,
			               const char *domain);
/* notify_display_form - "Name <addr>" or "addr", clean, for an article */
extern char *notify_display_form(const char *name, const char *addr);
/* notify_display_name - the clean display name of the first mailbox of
   a header, "" when none */
extern char *notify_display_name(const char *header);
/* notify_agent_name - name, else login, of an agent (borrowed); login
   itself when unknown; NULL for NULL or "" */
extern const char *notify_agent_name(const struct conf *, const char *login);
/* notify_customer_name - the requester's name from t's articles, else
   the address */
extern char *notify_customer_name(const struct store_ticket *t);
/* notify_body_cap - text cut to NOTIFY_BODY_QUOTE_MAX bytes + "[...]" */
extern char *notify_body_cap(const char *body);
/* notify_ticket_integer - a number as a token's integer, 0 when not */
extern uint64_t notify_ticket_integer(const char *number);

/* notify_compose_ack - the acknowledgement of msg that opened t */
extern int notify_compose_ack(const struct notify *, const struct conf *,
			              const struct store_message *msg,
			              const struct store_ticket *t, time_t now,
			              struct notify_mail *mail_r);

/* notify_compose_agent - the notification of ev on t to agent a;
   article: the article quoted, or NULL */
extern int notify_compose_agent(const struct notify *, const struct conf *,
				        const struct store_ticket *t,
				        const struct store_article *article,
				        const struct notify_event *ev,
				        const struct conf_agent *a, time_t now,
				        struct notify_mail *mail_r);

/*
 * loop.c
 */
/* notify_robot_address - 1 when the local part looks like a robot's */
extern int notify_robot_address(const char *addr);
/* notify_postdesk_address - 1 when addr is one of postdesk's own */
extern int notify_postdesk_address(const struct conf *, const char *addr);
/* notify_address_ok - 1 when addr may be written in a header and given
   to SMTP as is (local@domain, printable ASCII, no specials) */
extern int notify_address_ok(const char *addr);

/*
 * recipients.c
 */
/* notify_addr_spec - the addr-spec of a display form ("Name <a@b>"),
   lowercased; "" when none */
extern char *notify_addr_spec(const char *display);
/* notify_agent_away - is a out of office on the local date of now? */
extern int notify_agent_away(const struct conf_agent *a, time_t now);

#endif
