#ifndef POSTDESK_CONF_H
#define POSTDESK_CONF_H

/*++
/* NAME
/*	conf 3h
/* SUMMARY
/*	postdesk.conf: loading, validation, immutable snapshots
/* SYNOPSIS
/*	#include <conf.h>
/* DESCRIPTION
/*	A struct conf is an immutable snapshot of one configuration file.
/*	It is reference counted so that a SIGHUP can install a new one
/*	while sessions finish with the old one. The records below are
/*	read-only and borrowed from the snapshot: valid while the caller
/*	holds a reference.
/*--*/

#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH	"/etc/postdesk/postdesk.conf"

enum conf_follow_up_closed {
    CONF_FOLLOW_UP_REOPEN,		/* follow-up reopens the ticket */
    CONF_FOLLOW_UP_REJECT,		/* follow-up is refused (5.7.1 text) */
    CONF_FOLLOW_UP_NEW,			/* follow-up opens a new ticket */
};

struct conf_queue {
    const char *name;			/* "Helpdesk" */
    const char *const *addresses;	/* lowercase, NULL-terminated */
    const char *group;			/* agents in it work the queue */
    const char *sla;			/* NULL: none */
    const char *const *type_sla;	/* pairs: canonical type, sla name;
					 * NULL-terminated (type_sla key) */
    const char *default_type;		/* "Service Request" */
    enum conf_follow_up_closed follow_up_closed;
};

struct conf_period {
    int64_t start;			/* first day, 00:00 (time_t, UTC date) */
    int64_t end;			/* last day, inclusive */
};

struct conf_agent {
    const char *login;
    const char *name;
    const char *const *emails;		/* lowercase, NULL-terminated */
    const char *const *groups;		/* NULL-terminated */
    const char *const *subscribe;	/* queue names, NULL-terminated */
    const char *language;		/* "fr" or "en" */
    const char *const *notify;		/* event names, NULL-terminated */
    const struct conf_period *out_of_office;	/* n_out_of_office items */
    size_t  n_out_of_office;
    int     active;			/* 0: `active = no': no notifications,
					 * no commands */
};

struct conf_calendar {
    const char *name;
    const char *timezone;		/* "Europe/Zurich" */
    const char *hours;			/* as written, validated */
    const char *const *holidays;	/* "YYYY-MM-DD", NULL-terminated */
};

struct conf_sla {
    const char *name;
    const char *calendar;
    const char *first_response;		/* "24h", validated */
    const char *update;			/* NULL: none */
    const char *solution;		/* "5d" */
    int     warn_at;			/* percent, 1..100 */
    int     pause_when_pending;		/* 1 (default): pending pauses update, solution */
    int     notify_outside_hours;	/* 0 (default): hold until working time */
};

struct conf;

/*
 * conf_load - read and check a file. On success returns a snapshot with
 * one reference. On failure returns NULL and sets *errors_r to a newly
 * allocated text (mem_free()) with one line per problem, each of the
 * form "FILE:LINE: message" (LINE is the line of the key or section at
 * fault; 0 when the file itself cannot be read).
 */
extern struct conf *conf_load(const char *path, char **errors_r);
extern struct conf *conf_ref(struct conf *conf);
extern void conf_unref(struct conf **confp);	/* sets *confp = NULL */

extern const char *conf_path(const struct conf *);
extern const char *conf_domain(const struct conf *);
extern const char *conf_state_dir(const struct conf *);
extern const char *conf_listen(const struct conf *);	/* "unix:/p" or "inet:h:p" */
extern const char *conf_milter_listen(const struct conf *);
extern const char *conf_relay(const struct conf *);
extern const char *conf_secret_file(const struct conf *);
extern const char *conf_command_localpart(const struct conf *);
extern const char *conf_ticket_hook(const struct conf *);	/* "Ticket#" */
extern unsigned conf_system_id(const struct conf *);	/* 0..99 */
extern const char *conf_language(const struct conf *);	/* "fr" | "en" */
extern size_t conf_max_message_size(const struct conf *);
extern unsigned conf_auto_ack_limit(const struct conf *);
extern const char *conf_user(const struct conf *);	/* "postdesk" */
/* conf_dedicated_domains - other domains owned by postdesk alone
   (lowercase, NULL-terminated); never NULL. */
extern const char *const *conf_dedicated_domains(const struct conf *);

/* Outbound mail, signed addresses and the milter. */
extern const char *conf_instance(const struct conf *);	/* X-Postdesk-Loop; default domain */
extern const char *conf_authserv_id(const struct conf *);	/* default domain */
/* conf_command_auth - what commands by mail need besides token and From:
   "none", "dkim" (a dkim=pass for the From domain) or "dmarc"
   (dmarc=pass), in an Authentication-Results of authserv_id. */
extern const char *conf_command_auth(const struct conf *);
extern unsigned conf_key_epoch(const struct conf *);	/* 0..255 */
extern unsigned conf_token_max_age(const struct conf *);	/* days */
extern const char *conf_templates_dir(const struct conf *);
extern const char *conf_relay_tls(const struct conf *);	/* none|may|encrypt */
extern const char *conf_relay_ca_file(const struct conf *);	/* NULL: system CAs */
extern const char *conf_relay_user(const struct conf *);	/* NULL: no AUTH */
extern const char *conf_relay_password_file(const struct conf *);
extern unsigned conf_outbox_max_age(const struct conf *);	/* days */
extern unsigned conf_milter_max_received(const struct conf *);
extern unsigned conf_milter_rate_sender(const struct conf *);	/* per hour, 0 off */
extern unsigned conf_milter_rate_client(const struct conf *);	/* per hour, 0 off */
/* conf_test_clock - [postdesk] test_clock (time_t), 0 when not set; the
   loader refuses the key unless POSTDESK_ALLOW_TEST_CLOCK=1. */
extern int64_t conf_test_clock(const struct conf *);

extern size_t conf_queue_count(const struct conf *);
extern const struct conf_queue *conf_queue_at(const struct conf *, size_t i);
extern const struct conf_queue *conf_queue_find(const struct conf *, const char *name);
/* conf_queue_sla - the SLA name for a ticket of type in q: the queue's
   type_sla entry for that type, else its sla; NULL when none. */
extern const char *conf_queue_sla(const struct conf_queue *q, const char *type);

/*
 * conf_queue_by_address - the queue that owns an envelope recipient.
 * Case-insensitive; a "+extension" in the local part is ignored.
 * NULL when the address is no queue address.
 */
extern const struct conf_queue *conf_queue_by_address(const struct conf *,
						              const char *addr);

extern size_t conf_agent_count(const struct conf *);
extern const struct conf_agent *conf_agent_at(const struct conf *, size_t i);
extern const struct conf_agent *conf_agent_find(const struct conf *, const char *login);
extern const struct conf_agent *conf_agent_by_email(const struct conf *,
						            const char *addr);
/* conf_agent_works - 1 when the agent's groups include the queue's group
   (the right to act on its tickets); 0 for a NULL agent or queue. */
extern int conf_agent_works(const struct conf_agent *, const struct conf_queue *);

extern const struct conf_calendar *conf_calendar_find(const struct conf *, const char *);
extern const struct conf_sla *conf_sla_find(const struct conf *, const char *);

/* conf_type_canonical - the canonical spelling of a ticket type (Incident,
   Problem, Service Request; case-insensitive), or NULL. */
extern const char *conf_type_canonical(const char *type);

#endif
