#ifndef POSTDESK_CONF_IMPL_H
#define POSTDESK_CONF_IMPL_H

/*++
/* NAME
/*	conf_impl 3h
/* SUMMARY
/*	the snapshot structure, shared by conf.c and conf_load.c only
/* SYNOPSIS
/*	#include "conf_impl.h"
/* DESCRIPTION
/*	Not for other modules: it exposes GLib types. All strings live in
/*	the snapshot's string chunk, all arrays in its owned list, so one
/*	conf_snapshot_free() releases everything. The hash tables are keyed
/*	by lowercase names/addresses stored in the chunk; they are never
/*	changed after conf_load() returns, so concurrent lookups are safe.
/*--*/

#include <glib.h>

#include "conf_private.h"

struct conf {
    int     refcount;			/* g_atomic_int_* only */
    GStringChunk *strings;
    GPtrArray *owned;

    const char *path;
    const char *domain;
    const char *state_dir;
    const char *listen;
    const char *milter_listen;
    const char *relay;
    const char *secret_file;
    const char *command_localpart;
    const char *ticket_hook;
    const char *language;
    const char *user;
    unsigned system_id;
    size_t  max_message_size;
    unsigned auto_ack_limit;
    int64_t test_clock;			/* 0: none (tests only) */
    const char *const *dedicated_domains;
    const char *instance;		/* NULL: the domain */
    const char *authserv_id;		/* NULL: the domain */
    const char *command_auth;		/* "none", "dkim", "dmarc" */
    unsigned key_epoch;
    unsigned token_max_age;
    const char *templates_dir;
    const char *relay_tls;
    const char *relay_ca_file;
    const char *relay_user;
    const char *relay_password_file;
    unsigned outbox_max_age;
    unsigned milter_max_received;
    unsigned milter_rate_sender;
    unsigned milter_rate_client;

    struct conf_queue *queues;
    size_t  n_queues;
    struct conf_agent *agents;
    size_t  n_agents;
    struct conf_calendar *calendars;
    size_t  n_calendars;
    struct conf_sla *slas;
    size_t  n_slas;

    GHashTable *queue_names;		/* lowercase name -> conf_queue */
    GHashTable *queue_addrs;		/* lowercase address -> conf_queue */
    GHashTable *agent_logins;		/* lowercase login -> conf_agent */
    GHashTable *agent_emails;		/* lowercase address -> conf_agent */
    GHashTable *calendar_names;		/* lowercase name -> conf_calendar */
    GHashTable *sla_names;		/* lowercase name -> conf_sla */
};

extern struct conf *conf_snapshot_create(const char *path);
extern void conf_snapshot_free(struct conf *conf);
extern const char *conf_strdup(struct conf *conf, const char *str);
extern void *conf_own(struct conf *conf, void *ptr);
extern char *conf_address_key(const char *addr, int strip_extension);

#endif
