/*++
/* NAME
/*	callbacks 3
/* SUMMARY
/*	postdesk-milter: the libmilter callbacks
/* SYNOPSIS
/*	#include "milter_private.h"
/*
/*	int	milter_callbacks_register(conn_spec, error_r)
/*	int	milter_callbacks_run(void)
/*	void	milter_callbacks_stop(void)
/*	void	milter_snapshot_install(conf, key)
/*	void	milter_callbacks_shutdown(void)
/* DESCRIPTION
/*	The callbacks map libmilter events onto the decisions of
/*	policy.c and their verdicts onto smfi_setreply() and SMFIS_*
/*	codes. They hold no mutable global state of their own:
/*	.IP \(bu
/*	per connection, a struct conn (client address, the transaction)
/*	hangs off smfi_setpriv() and is freed in the close callback;
/*	.IP \(bu
/*	per transaction (MAIL FROM to end of message or abort), a
/*	reference to the snapshot current at MAIL FROM: the conf and the
/*	HMAC key are used together, and a reload never changes them under
/*	a transaction;
/*	.IP \(bu
/*	shared: the snapshot pointer (under a mutex; replaced by
/*	milter_snapshot_install(), which takes ownership of its
/*	arguments) and the rate-limit table (its own mutex).
/* .PP
/*	At RCPT the verdict applies to that recipient alone. At end of
/*	headers a loop refuses the message (554 5.4.6). At end of message
/*	the X-Postdesk-* headers and the Authentication-Results headers
/*	that claim our authserv-id are deleted (smfi_chgheader() with a
/*	NULL value), when the mail has a postdesk recipient.
/*
/*	Log lines about a mail start with Postfix's queue id (macro i),
/*	or NOQUEUE before Postfix has one.
/* DIAGNOSTICS
/*	milter_callbacks_register() returns -1 with *error_r (mem_free())
/*	when libmilter refuses the socket or the registration.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include <util.h>
#include <conf.h>
#include <sigaddr.h>

#include "milter_private.h"

#define LOG_ADDR_MAX	256

struct snapshot {
    int     refs;				/* under snap_lock */
    struct conf *conf;
    struct sigaddr_key *key;
};

struct conn {
    char   *client;			/* IP address text, or NULL */
    struct snapshot *snap;		/* of the transaction, or NULL */
    struct milter_txn txn;
};

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *snap_current;
static struct milter_rate *rate;

/* snap_get - a reference to the current snapshot */

static struct snapshot *snap_get(void)
{
    struct snapshot *s;

    pthread_mutex_lock(&snap_lock);
    if ((s = snap_current) != 0)
	s->refs++;
    pthread_mutex_unlock(&snap_lock);
    return (s);
}

/* snap_put - drop a reference */

static void snap_put(struct snapshot **sp)
{
    struct snapshot *s = *sp;
    int     last;

    if (s == 0)
	return;
    pthread_mutex_lock(&snap_lock);
    last = (--s->refs == 0);
    pthread_mutex_unlock(&snap_lock);
    if (last) {
	conf_unref(&s->conf);
	sigaddr_key_free(&s->key);
	mem_free(s);
    }
    *sp = 0;
}

/* milter_snapshot_install - new transactions use conf and key */

void    milter_snapshot_install(struct conf *conf, struct sigaddr_key *key)
{
    struct snapshot *s = mem_zalloc(sizeof(*s));
    struct snapshot *old;

    s->refs = 1;
    s->conf = conf;
    s->key = key;
    pthread_mutex_lock(&snap_lock);
    old = snap_current;
    snap_current = s;
    pthread_mutex_unlock(&snap_lock);
    snap_put(&old);
}

/* queue_id - Postfix's queue id, or NOQUEUE */

static const char *queue_id(SMFICTX *ctx)
{
    const char *id = smfi_getsymval(ctx, "i");

    return (id && *id ? id : "NOQUEUE");
}

/* conn_txn_end - forget the transaction and its snapshot */

static void conn_txn_end(struct conn *c)
{
    milter_txn_reset(&c->txn);
    snap_put(&c->snap);
}

/* apply - a verdict to libmilter */

static sfsistat apply(SMFICTX *ctx, const struct milter_reply *r)
{
    if (r->action == MILTER_CONTINUE)
	return (SMFIS_CONTINUE);
    if (smfi_setreply(ctx, (char *) r->rcode, (char *) r->xcode,
		      (char *) r->text) != MI_SUCCESS)
	log_warn("%s: cannot set the reply %s %s", queue_id(ctx), r->rcode, r->xcode);
    return (r->action == MILTER_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL);
}

/* client_text - the printable address of the client */

static char *client_text(const _SOCK_ADDR *sa)
{
    char    buf[INET6_ADDRSTRLEN];

    if (sa == 0)
	return (0);
    if (sa->sa_family == AF_INET
	&& inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr,
		     buf, sizeof(buf)))
	return (mem_strdup(buf));
    if (sa->sa_family == AF_INET6
	&& inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr,
		     buf, sizeof(buf)))
	return (mem_strdup(buf));
    return (0);
}

/* cb_connect - a new SMTP connection: its state and client address */

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    struct conn *c = mem_zalloc(sizeof(*c));

    (void) hostname;
    c->client = client_text(hostaddr);
    if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
	mem_free(c->client);
	mem_free(c);
	log_error("NOQUEUE: cannot attach connection state");
	return (SMFIS_TEMPFAIL);
    }
    return (SMFIS_CONTINUE);
}

/* cb_envfrom - MAIL FROM: a new transaction with the current snapshot */

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);
    struct milter_reply r;
    char   *from;

    if (c == 0)
	return (SMFIS_TEMPFAIL);
    conn_txn_end(c);
    if ((c->snap = snap_get()) == 0)
	return (SMFIS_TEMPFAIL);
    milter_mail_decide(c->snap->conf, argv[0], (const char *const *) (argv + 1),
		       &c->txn, &r);
    if (r.action != MILTER_CONTINUE) {
	from = str_sanitize(c->txn.sender, LOG_ADDR_MAX);
	log_info("%s: from=<%s>, client=%s, size=%zu, reject=%s %s (%s)",
		 queue_id(ctx), from, c->client ? c->client : "unknown",
		 c->txn.declared_size, r.rcode, r.xcode, r.why);
	mem_free(from);
    }
    return (apply(ctx, &r));
}

/* cb_envrcpt - RCPT TO: the verdict for one recipient */

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);
    struct milter_reply r;
    char   *to, *from;

    if (c == 0 || c->snap == 0)
	return (SMFIS_TEMPFAIL);
    milter_rcpt_decide(c->snap->conf, c->snap->key, rate, c->client, &c->txn,
		       argv[0], time(0), &r);
    /* Other people's mail is not ours to log. */
    if (strcmp(r.why, "other domain") != 0 && strcmp(r.why, "no domain") != 0) {
	to = str_sanitize(argv[0], LOG_ADDR_MAX);
	from = str_sanitize(c->txn.sender, LOG_ADDR_MAX);
	if (r.action == MILTER_CONTINUE)
	    log_info("%s: to=%s, from=<%s>, client=%s, accept (%s)", queue_id(ctx),
		     to, from, c->client ? c->client : "unknown", r.why);
	else
	    log_info("%s: to=%s, from=<%s>, client=%s, reject=%s %s (%s)",
		     queue_id(ctx), to, from, c->client ? c->client : "unknown",
		     r.rcode, r.xcode, r.why);
	mem_free(to);
	mem_free(from);
    }
    return (apply(ctx, &r));
}

/* cb_header - one header: counted, checked, maybe marked for deletion */

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c == 0 || c->snap == 0)
	return (SMFIS_CONTINUE);
    milter_header_note(c->snap->conf, &c->txn.headers, name, value);
    return (SMFIS_CONTINUE);
}

/* cb_eoh - end of headers: loops */

static sfsistat cb_eoh(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    struct milter_reply r;

    if (c == 0 || c->snap == 0)
	return (SMFIS_CONTINUE);
    milter_headers_decide(c->snap->conf, &c->txn, &r);
    if (r.action != MILTER_CONTINUE)
	log_info("%s: client=%s, received=%u, reject=%s %s (%s)", queue_id(ctx),
		 c->client ? c->client : "unknown", c->txn.headers.received,
		 r.rcode, r.xcode, r.why);
    return (apply(ctx, &r));
}

/* cb_eom - end of message: delete the smuggled markings, log */

static sfsistat cb_eom(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    struct milter_headers *h;
    size_t  failed = 0;
    char   *from;

    if (c == 0 || c->snap == 0)
	return (SMFIS_CONTINUE);
    h = &c->txn.headers;
    if (c->txn.ours) {
	milter_headers_finish(h);
	for (size_t i = 0; i < h->n_strip; i++)
	    if (smfi_chgheader(ctx, h->strip[i].name, h->strip[i].index, 0) != MI_SUCCESS)
		failed++;
	from = str_sanitize(c->txn.sender, LOG_ADDR_MAX);
	log_info("%s: from=<%s>, client=%s, accepted for %u postdesk recipient(s), "
		 "stripped %zu header(s)%s", queue_id(ctx), from,
		 c->client ? c->client : "unknown", c->txn.n_ours,
		 h->n_strip - failed, failed ? ", some deletions failed" : "");
	mem_free(from);
    }
    conn_txn_end(c);
    if (failed) {
	smfi_setreply(ctx, "451", "4.3.0", "Cannot remove internal headers, try again later");
	return (SMFIS_TEMPFAIL);
    }
    return (SMFIS_CONTINUE);
}

/* cb_abort - the transaction ended without end of message */

static sfsistat cb_abort(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c)
	conn_txn_end(c);
    return (SMFIS_CONTINUE);
}

/* cb_close - the connection ended: free its state */

static sfsistat cb_close(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c) {
	conn_txn_end(c);
	mem_free(c->client);
	mem_free(c);
	smfi_setpriv(ctx, 0);
    }
    return (SMFIS_CONTINUE);
}

/* milter_callbacks_register - socket and registration (as root) */

int     milter_callbacks_register(const char *conn_spec, char **error_r)
{
    static char name[] = "postdesk-milter";
    struct smfiDesc desc;

    memset(&desc, 0, sizeof(desc));
    desc.xxfi_name = name;
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_CHGHDRS;
    desc.xxfi_connect = cb_connect;
    desc.xxfi_envfrom = cb_envfrom;
    desc.xxfi_envrcpt = cb_envrcpt;
    desc.xxfi_header = cb_header;
    desc.xxfi_eoh = cb_eoh;
    desc.xxfi_eom = cb_eom;
    desc.xxfi_abort = cb_abort;
    desc.xxfi_close = cb_close;

    *error_r = 0;
    if (rate == 0)
	rate = milter_rate_create();
    if (smfi_setconn((char *) conn_spec) != MI_SUCCESS) {
	*error_r = mem_printf("libmilter refuses the socket \"%s\"", conn_spec);
	return (-1);
    }
    if (smfi_register(desc) != MI_SUCCESS) {
	*error_r = mem_printf("smfi_register failed");
	return (-1);
    }
    smfi_settimeout(300);
    if (smfi_opensocket(1) != MI_SUCCESS) {
	*error_r = mem_printf("cannot listen on %s (in use, or no permission)", conn_spec);
	return (-1);
    }
    return (0);
}

/* milter_callbacks_run - smfi_main */

int     milter_callbacks_run(void)
{
    return (smfi_main() == MI_SUCCESS ? 0 : -1);
}

/* milter_callbacks_stop - ask smfi_main to return */

void    milter_callbacks_stop(void)
{
    smfi_stop();
}

/* milter_callbacks_shutdown - after smfi_main returned */

void    milter_callbacks_shutdown(void)
{
    struct snapshot *s;

    pthread_mutex_lock(&snap_lock);
    s = snap_current;
    snap_current = 0;
    pthread_mutex_unlock(&snap_lock);
    snap_put(&s);
    milter_rate_destroy(&rate);
}
