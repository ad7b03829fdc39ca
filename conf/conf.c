/*++
/* NAME
/*	conf 3
/* SUMMARY
/*	postdesk.conf: snapshots and their getters
/* SYNOPSIS
/*	#include <conf.h>
/*
/*	struct conf *conf_load(path, errors_r)
/*	struct conf *conf_ref(conf)
/*	void	conf_unref(confp)
/*
/*	const char *conf_domain(conf) ... (see conf.h)
/*	const struct conf_queue *conf_queue_by_address(conf, addr)
/*	const struct conf_agent *conf_agent_by_email(conf, addr)
/*	int	conf_agent_works(agent, queue)
/*	const char *conf_queue_sla(queue, type)
/*	const char *conf_type_canonical(type)
/* DESCRIPTION
/*	conf_load() is in conf_load.c; this file holds the snapshot: its
/*	reference count and its read-only getters.
/*
/*	A snapshot is immutable once conf_load() returns it. Every getter
/*	only reads, so any number of threads may use one snapshot at the
/*	same time. conf_ref() and conf_unref() use atomic operations;
/*	conf_unref() frees the snapshot when the last reference goes and
/*	sets the caller's handle to NULL.
/*
/*	Strings, arrays and records returned by the getters are borrowed
/*	from the snapshot: valid while the caller holds a reference.
/*
/*	conf_queue_find(), conf_agent_find(), conf_calendar_find() and
/*	conf_sla_find() compare names case-insensitively (the loader
/*	refuses two names that differ only in case).
/*
/*	conf_queue_by_address() lowercases the address, ignores angle
/*	brackets around it and a "+extension" in its local part.
/*	conf_agent_by_email() lowercases and ignores angle brackets only.
/* DIAGNOSTICS
/*	Lookups return NULL when nothing matches.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>

#include <glib.h>

#include "util.h"
#include "conf_impl.h"

/* conf_snapshot_create - an empty snapshot with one reference */

struct conf *conf_snapshot_create(const char *path)
{
    struct conf *conf = mem_zalloc(sizeof(*conf));

    conf->refcount = 1;
    conf->strings = g_string_chunk_new(1024);
    conf->owned = g_ptr_array_new_with_free_func(mem_free);
    conf->path = conf_strdup(conf, path);
    conf->queue_names = g_hash_table_new(g_str_hash, g_str_equal);
    conf->queue_addrs = g_hash_table_new(g_str_hash, g_str_equal);
    conf->agent_logins = g_hash_table_new(g_str_hash, g_str_equal);
    conf->agent_emails = g_hash_table_new(g_str_hash, g_str_equal);
    conf->calendar_names = g_hash_table_new(g_str_hash, g_str_equal);
    conf->sla_names = g_hash_table_new(g_str_hash, g_str_equal);
    return (conf);
}

/* conf_snapshot_free - release everything */

void    conf_snapshot_free(struct conf *conf)
{
    g_hash_table_destroy(conf->queue_names);
    g_hash_table_destroy(conf->queue_addrs);
    g_hash_table_destroy(conf->agent_logins);
    g_hash_table_destroy(conf->agent_emails);
    g_hash_table_destroy(conf->calendar_names);
    g_hash_table_destroy(conf->sla_names);
    g_ptr_array_free(conf->owned, TRUE);
    g_string_chunk_free(conf->strings);
    mem_free(conf);
}

/* conf_strdup - a string owned by the snapshot (NULL stays NULL) */

const char *conf_strdup(struct conf *conf, const char *str)
{
    return (str ? g_string_chunk_insert(conf->strings, str) : 0);
}

/* conf_own - a block the snapshot frees with mem_free() */

void   *conf_own(struct conf *conf, void *ptr)
{
    g_ptr_array_add(conf->owned, ptr);
    return (ptr);
}

/* conf_ref - one more reference */

struct conf *conf_ref(struct conf *conf)
{
    g_atomic_int_inc(&conf->refcount);
    return (conf);
}

/* conf_unref - drop a reference, free at zero */

void    conf_unref(struct conf **confp)
{
    if (confp == 0 || *confp == 0)
	return;
    if (g_atomic_int_dec_and_test(&(*confp)->refcount))
	conf_snapshot_free(*confp);
    *confp = 0;
}

/* Scalar getters. */

const char *conf_path(const struct conf *c)
{
    return (c->path);
}

const char *conf_domain(const struct conf *c)
{
    return (c->domain);
}

const char *conf_state_dir(const struct conf *c)
{
    return (c->state_dir);
}

const char *conf_listen(const struct conf *c)
{
    return (c->listen);
}

const char *conf_milter_listen(const struct conf *c)
{
    return (c->milter_listen);
}

const char *conf_relay(const struct conf *c)
{
    return (c->relay);
}

const char *conf_secret_file(const struct conf *c)
{
    return (c->secret_file);
}

const char *conf_command_localpart(const struct conf *c)
{
    return (c->command_localpart);
}

const char *conf_ticket_hook(const struct conf *c)
{
    return (c->ticket_hook);
}

unsigned conf_system_id(const struct conf *c)
{
    return (c->system_id);
}

const char *conf_language(const struct conf *c)
{
    return (c->language);
}

size_t  conf_max_message_size(const struct conf *c)
{
    return (c->max_message_size);
}

unsigned conf_auto_ack_limit(const struct conf *c)
{
    return (c->auto_ack_limit);
}

const char *conf_user(const struct conf *c)
{
    return (c->user);
}

const char *conf_instance(const struct conf *c)
{
    return (c->instance ? c->instance : c->domain);
}

const char *conf_authserv_id(const struct conf *c)
{
    return (c->authserv_id ? c->authserv_id : c->domain);
}

const char *conf_command_auth(const struct conf *c)
{
    return (c->command_auth ? c->command_auth : "none");
}

/* conf_queue_sla - the SLA of a ticket type in a queue */

const char *conf_queue_sla(const struct conf_queue *q, const char *type)
{
    if (q == 0)
	return (0);
    for (const char *const *p = q->type_sla; type && p && p[0] && p[1]; p += 2)
	if (strcmp(p[0], type) == 0)
	    return (p[1]);
    return (q->sla);
}

/* conf_agent_works - may the agent work the queue's tickets? */

int     conf_agent_works(const struct conf_agent *a, const struct conf_queue *q)
{
    if (a == 0 || q == 0 || a->groups == 0 || q->group == 0)
	return (0);
    for (const char *const *g = a->groups; *g; g++)
	if (strcmp(*g, q->group) == 0)
	    return (1);
    return (0);
}

unsigned conf_key_epoch(const struct conf *c)
{
    return (c->key_epoch);
}

unsigned conf_token_max_age(const struct conf *c)
{
    return (c->token_max_age);
}

const char *conf_templates_dir(const struct conf *c)
{
    return (c->templates_dir);
}

const char *conf_relay_tls(const struct conf *c)
{
    return (c->relay_tls);
}

const char *conf_relay_ca_file(const struct conf *c)
{
    return (c->relay_ca_file);
}

const char *conf_relay_user(const struct conf *c)
{
    return (c->relay_user);
}

const char *conf_relay_password_file(const struct conf *c)
{
    return (c->relay_password_file);
}

unsigned conf_outbox_max_age(const struct conf *c)
{
    return (c->outbox_max_age);
}

unsigned conf_milter_max_received(const struct conf *c)
{
    return (c->milter_max_received);
}

unsigned conf_milter_rate_sender(const struct conf *c)
{
    return (c->milter_rate_sender);
}

unsigned conf_milter_rate_client(const struct conf *c)
{
    return (c->milter_rate_client);
}

const char *const *conf_dedicated_domains(const struct conf *c)
{
    return (c->dedicated_domains);
}

/* lookup_name - case-insensitive lookup in a name table */

static void *lookup_name(GHashTable *table, const char *name)
{
    gchar  *key;
    void   *val;

    if (name == 0)
	return (0);
    key = g_ascii_strdown(name, -1);
    val = g_hash_table_lookup(table, key);
    g_free(key);
    return (val);
}

/* Queues. */

size_t  conf_queue_count(const struct conf *c)
{
    return (c->n_queues);
}

const struct conf_queue *conf_queue_at(const struct conf *c, size_t i)
{
    return (i < c->n_queues ? &c->queues[i] : 0);
}

const struct conf_queue *conf_queue_find(const struct conf *c, const char *name)
{
    return (lookup_name(c->queue_names, name));
}

/* conf_address_key - normalized lookup key (mem_free()) */

char   *conf_address_key(const char *addr, int strip_extension)
{
    size_t  len;
    char   *key;
    char   *at;
    char   *plus;

    while (*addr == ' ' || *addr == '\t')
	addr++;
    len = strlen(addr);
    while (len > 0 && (addr[len - 1] == ' ' || addr[len - 1] == '\t'))
	len--;
    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
	addr++;
	len -= 2;
    }
    key = str_lower(mem_strndup(addr, len));
    if (strip_extension && (at = strrchr(key, '@')) != 0
	&& (plus = memchr(key, '+', at - key)) != 0)
	memmove(plus, at, strlen(at) + 1);
    return (key);
}

const struct conf_queue *conf_queue_by_address(const struct conf *c,
					               const char *addr)
{
    char   *key;
    const struct conf_queue *q;

    if (addr == 0)
	return (0);
    key = conf_address_key(addr, 1);
    q = g_hash_table_lookup(c->queue_addrs, key);
    mem_free(key);
    return (q);
}

/* Agents. */

size_t  conf_agent_count(const struct conf *c)
{
    return (c->n_agents);
}

const struct conf_agent *conf_agent_at(const struct conf *c, size_t i)
{
    return (i < c->n_agents ? &c->agents[i] : 0);
}

const struct conf_agent *conf_agent_find(const struct conf *c, const char *login)
{
    return (lookup_name(c->agent_logins, login));
}

const struct conf_agent *conf_agent_by_email(const struct conf *c,
					             const char *addr)
{
    char   *key;
    const struct conf_agent *a;

    if (addr == 0)
	return (0);
    key = conf_address_key(addr, 0);
    a = g_hash_table_lookup(c->agent_emails, key);
    mem_free(key);
    return (a);
}

/* Calendars and SLAs. */

const struct conf_calendar *conf_calendar_find(const struct conf *c,
					               const char *name)
{
    return (lookup_name(c->calendar_names, name));
}

const struct conf_sla *conf_sla_find(const struct conf *c, const char *name)
{
    return (lookup_name(c->sla_names, name));
}

/* conf_type_canonical - canonical ticket type spelling, or NULL */

const char *conf_type_canonical(const char *type)
{
    static const char *const types[] = {
	"Incident", "Problem", "Service Request",
    };

    if (type == 0)
	return (0);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
	if (g_ascii_strcasecmp(type, types[i]) == 0)
	    return (types[i]);
    return (0);
}
