#ifndef POSTDESK_NOTIFY_PRIVATE_H
#define POSTDESK_NOTIFY_PRIVATE_H

/*++
/* NAME
/*	notify_private 3h
/* SUMMARY
/*	shared by the composing files of notify/ (compose.c, template.c,
/*	recipients.c, loop.c) and their unit test
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
    NOTIFY_VAR_COUNT,
};

#define NOTIFY_TITLE_MAX	100	/* characters of a title in a Subject */
#define NOTIFY_TEMPLATE_MAX	(64 * 1024)	/* bytes of one template file */
#define NOTIFY_BODY_QUOTE_MAX	(64 * 1024)	/* bytes of quoted article text */

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
 * compose.c: the whole struct notify and the messages.
 */
struct notify {
    int     refcount;			/* atomic */
    struct sigaddr_key *key;		/* may be NULL */
    struct notify_template *tmpl[NOTIFY_LANG_COUNT][NOTIFY_KIND_COUNT];
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
