/*++
/* NAME
/*	sender 3
/* SUMMARY
/*	the outbox sender thread: submit due outbox rows to the relay
/* SYNOPSIS
/*	#include <notify.h>
/*
/*	struct notify_sender *notify_sender_start(store, conf_get)
/*	struct store *store;
/*	struct conf *(*conf_get)(void);
/*
/*	void	notify_sender_wake(sender)
/*	struct notify_sender *sender;
/*
/*	void	notify_sender_stop(senderp)
/*	struct notify_sender **senderp;
/*
/*	#include "sender_private.h"
/*
/*	void	notify_sender_set_clock(clock_fn)
/*	time_t	(*clock_fn)(void);
/*
/*	int	notify_sender_round(store, conf, counts_r)
/*	time_t	notify_sender_backoff(attempts)
/*	uint64_t notify_sender_rounds(sender)
/* DESCRIPTION
/*	notify_sender_start() starts one thread that drains the outbox
/*	(see store(3h)): it takes up to NOTIFY_SENDER_BATCH (32) due rows
/*	with store_outbox_due(), opens ONE SMTP session with libesmtp to
/*	the relay of the current configuration (conf_get() is called once
/*	per round and the reference dropped after it), submits one SMTP
/*	transaction per row, and records each row's result with
/*	store_outbox_result() in its own durable transaction. When a
/*	round took a full batch it starts the next at once; otherwise it
/*	sleeps until store_outbox_next_time(), a notify_sender_wake(),
/*	or NOTIFY_SENDER_IDLE_MAX (60) seconds, whichever comes first.
/*	The store and conf_get are borrowed and must outlive the sender.
/*
/*	Each row is submitted as is: the envelope sender is the row's
/*	envelope_from ("" gives the null reverse path MAIL FROM:<>), the
/*	envelope recipients are the row's, the data is the row's bytes
/*	(CRLF line ends; libesmtp does the dot-stuffing). libesmtp adds
/*	Date: and Message-Id: only when they are missing, and our
/*	messages carry both, so nothing is added or changed. (It drops
/*	Return-Path: and a second copy of a single-instance header; the
/*	composer writes neither.) BODY=8BITMIME is not declared: the
/*	relay is Postfix, which takes 8-bit data without it.
/*
/*	Results, per row:
/* .IP \(bu
/*	the data was accepted (2xx) for at least one recipient: SENT.
/*	Recipients refused in the same transaction are logged and noted
/*	in the row's last error; the row is not retried, so that the
/*	recipients who got it do not get it twice. (The composer writes
/*	one row per recipient, so this is rare.)
/* .IP \(bu
/*	no recipient accepted and every recipient refused with 5xx, or
/*	the data refused with 5xx: FAILED with the server's reply; the
/*	store writes a "mail failed" history record into the ticket.
/* .IP \(bu
/*	anything else (4xx, connection refused, timeout, TLS or AUTH
/*	trouble, the sender refused at MAIL FROM, which is a relay
/*	configuration problem, not one of the mail): PENDING again with
/*	a back-off of 1, 2, 4, 8, 16, 32, then 60 minutes between
/*	attempts (like an MTA's queue), until the row is older than
/*	outbox_max_age days: then FAILED ("gave up after N days: ...").
/* .PP
/*	Each row's result is recorded as soon as libesmtp reports the end
/*	of its transaction (SMTP_EV_MESSAGESENT), not at the end of the
/*	session; rows the session never reached are recorded after it.
/*	Delivery is at least once: a row is marked SENT only after the
/*	relay's 250 for its data, in a transaction after it. A crash
/*	between the two (one mail at most) sends the row again after
/*	the restart (the relay then gets the same Message-ID twice).
/*	Nothing is lost.
/*
/*	The relay comes from conf_relay(): "host:port" or "[host]:port".
/*	libesmtp 1.1 splits its server string at the first colon, so an
/*	IPv6 literal ("[::1]:25") cannot be given to it: such a relay is
/*	refused with a clear error (rows stay PENDING); use a host name
/*	that resolves to the address instead ("localhost:25").
/*	relay_tls: none (no STARTTLS), may (STARTTLS when offered, the
/*	certificate is not checked), encrypt (STARTTLS required and the
/*	certificate verified against relay_ca_file or the system CAs,
/*	with the host name checked against its DNS names). Our own
/*	SSL_CTX is limited to TLS 1.2: with TLS 1.3 libesmtp 1.1 stalls
/*	after the EHLO that follows STARTTLS (DEPS.md). relay_user:
/*	SMTP AUTH (PLAIN, LOGIN or CRAM-MD5, whatever the relay offers
/*	first) with the password read from the first line of
/*	relay_password_file at the start of every session, so a changed
/*	password needs no reload. Protocol timeouts: 30 s for the
/*	greeting and each command, 60 s for the data.
/*
/*	libesmtp looks for client certificates under
/*	$HOME/.authenticate/ at every STARTTLS, and refuses TLS when it
/*	cannot stat that path: the daemon must run with a HOME its user
/*	can reach or that does not exist (set HOME to the user's home
/*	directory when dropping privileges; HOME=/root as user postdesk
/*	makes every STARTTLS fail with "libesmtp cannot use
/*	$HOME/.authenticate").
/*
/*	Log: one line per attempt, never a body: "KIND NUMBER: to=<a>,
/*	relay=HOST:PORT, outbox=ID, attempt=N, status=sent|deferred|failed
/*	(REPLY)".
/*
/*	notify_sender_wake() makes the thread look at the outbox now; it
/*	is cheap and may be called after every commit that queued rows.
/*
/*	notify_sender_stop() lets the SMTP session in progress finish
/*	(bounded by the timeouts), stops the thread, frees the handle and
/*	sets *senderp to NULL.
/*
/*	The thread blocks every asynchronous signal, so a dropped
/*	connection (SIGPIPE) or a SIGHUP never interrupts a session; the
/*	daemon's other threads handle them.
/*
/*	Test hooks (sender_private.h): notify_sender_set_clock() replaces
/*	time(NULL) for due times, back-off and age; notify_sender_round()
/*	runs one round in the caller's thread; notify_sender_rounds()
/*	counts the rounds the thread ran.
/* DIAGNOSTICS
/*	notify_sender_start() returns NULL (logged) when the thread cannot
/*	be created. Store errors are logged and retried after 10 seconds.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>		/* before libesmtp.h (starttls API) */
#include <stddef.h>			/* libesmtp.h needs size_t */
#include <auth-client.h>		/* before libesmtp.h (AUTH API) */
#include <libesmtp.h>

#include <conf.h>
#include <store.h>
#include <util.h>

#include "notify.h"
#include "sender_private.h"

#define STORE_ERROR_PAUSE	10	/* seconds after a store failure */
#define TIMEOUT_COMMAND_MS	30000
#define TIMEOUT_DATA_MS		60000
#define REPLY_MAX		400	/* bytes of a server reply we keep */
#define PASSWORD_MAX		1024

struct notify_sender {
    struct store *store;
    struct conf *(*conf_get) (void);
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;		/* CLOCK_MONOTONIC */
    int     wake;
    int     stop;
    uint64_t rounds;
};

static time_t (*sender_clock) (void);
static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

/* notify_sender_set_clock - the test hook for "now" */

void    notify_sender_set_clock(time_t (*clock_fn) (void))
{
    sender_clock = clock_fn;
}

/* clock_now - the injectable wall clock */

static time_t clock_now(void)
{
    return (sender_clock ? sender_clock() : time((time_t *) 0));
}

/* notify_sender_backoff - 60 s doubled per attempt, at most an hour */

time_t  notify_sender_backoff(uint32_t attempts)
{
    time_t  delay = NOTIFY_SENDER_BACKOFF_MIN;

    for (uint32_t i = 1; i < attempts && delay < NOTIFY_SENDER_BACKOFF_MAX; i++)
	delay *= 2;
    return (delay > NOTIFY_SENDER_BACKOFF_MAX ? NOTIFY_SENDER_BACKOFF_MAX : delay);
}

/*
 * Server replies and other texts that go into logs and the store.
 */

/* clean_text - one line: controls become spaces, runs collapse, trimmed */

static char *clean_text(const char *text)
{
    struct buf *b = buf_create(64, 0);
    int     space = 1;
    char   *out;

    for (const unsigned char *cp = (const unsigned char *) (text ? text : "");
	 *cp && buf_len(b) < REPLY_MAX; cp++) {
	if (*cp < 0x20 || *cp == 0x7f || *cp == ' ') {
	    if (!space)
		buf_append_char(b, ' ');
	    space = 1;
	} else {
	    buf_append_char(b, *cp);
	    space = 0;
	}
    }
    while (buf_len(b) > 0 && buf_data(b)[buf_len(b) - 1] == ' ')
	buf_truncate(b, buf_len(b) - 1);
    out = buf_steal(b, 0);
    buf_destroy(&b);
    return (out);
}

/* status_text - "550 5.1.1 text" from a libesmtp status (mem_free()) */

static char *status_text(const smtp_status_t *st)
{
    char   *text = clean_text(st && st->text ? st->text : "");
    char   *out;

    if (st == 0 || st->code == 0)
	out = mem_strdup(text);
    else if (st->enh_class)
	out = mem_printf("%d %d.%d.%d%s%s", st->code, st->enh_class,
			 st->enh_subject, st->enh_detail, *text ? " " : "", text);
    else
	out = mem_printf("%d%s%s", st->code, *text ? " " : "", text);
    mem_free(text);
    return (out);
}

/*
 * The relay address.
 */

/* relay_server - libesmtp's "host:port" from "host:port" or "[host]:port";
   NULL with *why_r when libesmtp cannot take it */

static char *relay_server(const char *relay, const char **why_r)
{
    const char *colon = relay ? strrchr(relay, ':') : 0;
    const char *host = relay;
    size_t  hlen;

    if (colon == 0 || colon == relay || colon[1] == 0) {
	*why_r = "relay: expected host:port";
	return (0);
    }
    hlen = (size_t) (colon - relay);
    if (relay[0] == '[') {
	if (hlen < 3 || relay[hlen - 1] != ']') {
	    *why_r = "relay: bad bracketed address";
	    return (0);
	}
	host = relay + 1;
	hlen -= 2;
    }
    if (memchr(host, ':', hlen) != 0) {
	*why_r = "relay: libesmtp 1.1 cannot connect to an IPv6 literal;"
	    " use a host name that resolves to it";
	return (0);
    }
    return (mem_printf("%.*s:%s", (int) hlen, host, colon + 1));
}

/*
 * libesmtp callbacks.
 */

struct round;

struct session_state {			/* per SMTP session */
    int     verify;			/* relay_tls = encrypt */
    const char *problem;		/* a TLS event worth reporting */
    int     tls_ok;			/* STARTTLS succeeded */
    char   *user;			/* AUTH */
    char   *password;
    struct round *round;		/* for SMTP_EV_MESSAGESENT */
};

static void message_done(struct round *, smtp_message_t);

struct row_data {			/* per message: the bytes to send */
    const char *data;
    size_t  len;
};

/* message_cb - hand libesmtp the row's bytes; len NULL means rewind.
   libesmtp owns *ctx and releases it with free(), so malloc() it. */

static const char *message_cb(void **ctx, int *len, void *arg)
{
    struct row_data *rd = arg;
    size_t *offset;
    size_t  chunk;
    const char *p;

    if (*ctx == 0 && (*ctx = malloc(sizeof(size_t))) != 0)
	*(size_t *) *ctx = 0;
    if ((offset = *ctx) == 0) {
	if (len)
	    *len = 0;
	return (0);
    }
    if (len == 0) {
	*offset = 0;
	return (0);
    }
    chunk = rd->len - *offset;
    if (chunk > 65536)
	chunk = 65536;
    p = rd->data + *offset;
    *offset += chunk;
    *len = (int) chunk;
    return (p);
}

/* event_cb - accept or refuse TLS peers per relay_tls; note problems */

static void event_cb(smtp_session_t session, int event_no, void *arg,...)
{
    struct session_state *ss = arg;
    va_list ap;
    int    *ok = 0;

    (void) session;
    va_start(ap, arg);
    switch (event_no) {
    case SMTP_EV_INVALID_PEER_CERTIFICATE:
	(void) va_arg(ap, long);
	ok = va_arg(ap, int *);
	*ok = !ss->verify;
	if (ss->verify)
	    ss->problem = "TLS: the relay's certificate did not verify";
	break;
    case SMTP_EV_NO_PEER_CERTIFICATE:
	ok = va_arg(ap, int *);
	*ok = !ss->verify;
	if (ss->verify)
	    ss->problem = "TLS: the relay sent no certificate";
	break;
    case SMTP_EV_WRONG_PEER_CERTIFICATE:
	ok = va_arg(ap, int *);
	*ok = !ss->verify;
	if (ss->verify)
	    ss->problem = "TLS: the relay's certificate is for another name";
	break;
    case SMTP_EV_WEAK_CIPHER:
	(void) va_arg(ap, int);
	ok = va_arg(ap, int *);
	*ok = 0;
	ss->problem = "TLS: weak cipher";
	break;
    case SMTP_EV_NO_CLIENT_CERTIFICATE:
	ok = va_arg(ap, int *);
	*ok = 1;
	break;
    case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE:
    case SMTP_EV_UNUSABLE_CA_LIST:
	/* libesmtp looks for $HOME/.authenticate/ at every STARTTLS and
	   gives up when it cannot stat it (HOME=/root as user postdesk). */
	ss->problem = "TLS: libesmtp cannot use $HOME/.authenticate"
	    " (HOME must be readable by the daemon's user, or have none)";
	break;
    case SMTP_EV_EXTNA_STARTTLS:
	ss->problem = "TLS: the relay does not offer STARTTLS";
	break;
    case SMTP_EV_STARTTLS_OK:
	ss->tls_ok = 1;
	break;
    case SMTP_EV_MESSAGESENT:
	/* Record at once: a crash can then resend one mail, not a batch. */
	if (ss->round)
	    message_done(ss->round, va_arg(ap, smtp_message_t));
	break;
    default:
	break;
    }
    va_end(ap);
}

/* auth_interact - answer libesmtp's AUTH questions */

static int auth_interact(auth_client_request_t request, char **result,
			         int fields, void *arg)
{
    struct session_state *ss = arg;

    for (int i = 0; i < fields; i++) {
	if (request[i].flags & AUTH_USER)
	    result[i] = ss->user;
	else if (request[i].flags & AUTH_PASS)
	    result[i] = ss->password;
	else
	    result[i] = (char *) "";
    }
    return (ss->user != 0 && ss->password != 0);
}

/* auth_init - once per process */

static void auth_init(void)
{
    auth_client_init();
}

/* read_password - the first line of path (mem_free()), or NULL */

static char *read_password(const char *path)
{
    FILE   *fp = fopen(path, "re");
    char    line[PASSWORD_MAX];
    char   *pw = 0;

    if (fp == 0)
	return (0);
    if (fgets(line, sizeof(line), fp) != 0) {
	line[strcspn(line, "\r\n")] = 0;
	pw = mem_strdup(line);
    }
    explicit_bzero(line, sizeof(line));
    fclose(fp);
    return (pw);
}

/* tls_context - our SSL_CTX for relay_tls may|encrypt, or NULL */

static SSL_CTX *tls_context(const struct conf *conf, int verify,
			            const char **why_r)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    const char *ca = conf_relay_ca_file(conf);

    if (ctx == 0) {
	*why_r = "TLS: cannot create an OpenSSL context";
	return (0);
    }
    /* TLS 1.3 stalls libesmtp 1.1 after the second EHLO (DEPS.md). */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (verify) {
	if (ca ? SSL_CTX_load_verify_locations(ctx, ca, 0) != 1
	    : SSL_CTX_set_default_verify_paths(ctx) != 1) {
	    SSL_CTX_free(ctx);
	    *why_r = "TLS: cannot load relay_ca_file";
	    return (0);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, 0);
    } else {
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, 0);
    }
    return (ctx);
}

/*
 * One round.
 */

struct attempt {			/* one row in this round */
    struct store_outbox_item *item;
    struct row_data rd;
    smtp_message_t msg;			/* NULL: not submitted */
    const char *why;			/* not submitted: why */
    int     recorded;			/* result stored */
};

struct round {				/* one round's rows and results */
    struct store *store;
    const struct conf *conf;
    struct attempt *att;
    size_t  n;
    struct notify_sender_counts counts;
    int     store_failed;
};

struct session {			/* what a round sets up */
    smtp_session_t smtp;
    SSL_CTX *ssl_ctx;
    auth_context_t auth;
    struct session_state ss;
    char   *server;
    const char *problem;		/* set-up failed: why (no session) */
};

/* session_create - libesmtp session for the relay; s->problem on failure */

static void session_create(struct session *s, const struct conf *conf)
{
    const char *tls = conf_relay_tls(conf);
    const char *why = 0;

    memset(s, 0, sizeof(*s));
    if ((s->server = relay_server(conf_relay(conf), &why)) == 0) {
	s->problem = why;
	return;
    }
    if ((s->smtp = smtp_create_session()) == 0) {
	s->problem = "libesmtp: cannot create a session";
	return;
    }
    smtp_set_server(s->smtp, s->server);
    smtp_set_hostname(s->smtp, conf_domain(conf));
    smtp_set_timeout(s->smtp, Timeout_GREETING | Timeout_OVERRIDE_RFC2822_MINIMUM,
		     TIMEOUT_COMMAND_MS);
    smtp_set_timeout(s->smtp, Timeout_ENVELOPE | Timeout_OVERRIDE_RFC2822_MINIMUM,
		     TIMEOUT_COMMAND_MS);
    smtp_set_timeout(s->smtp, Timeout_DATA | Timeout_OVERRIDE_RFC2822_MINIMUM,
		     TIMEOUT_COMMAND_MS);
    smtp_set_timeout(s->smtp, Timeout_TRANSFER | Timeout_OVERRIDE_RFC2822_MINIMUM,
		     TIMEOUT_DATA_MS);
    smtp_set_timeout(s->smtp, Timeout_DATA2 | Timeout_OVERRIDE_RFC2822_MINIMUM,
		     TIMEOUT_DATA_MS);
    s->ss.verify = (tls && strcmp(tls, "encrypt") == 0);
    smtp_set_eventcb(s->smtp, event_cb, &s->ss);
    if (tls && strcmp(tls, "none") != 0) {
	if ((s->ssl_ctx = tls_context(conf, s->ss.verify, &why)) == 0) {
	    s->problem = why;
	    return;
	}
	smtp_starttls_set_ctx(s->smtp, s->ssl_ctx);
	smtp_starttls_enable(s->smtp, s->ss.verify ? Starttls_REQUIRED :
			     Starttls_ENABLED);
    } else {
	smtp_starttls_enable(s->smtp, Starttls_DISABLED);
    }
    if (conf_relay_user(conf) && conf_relay_password_file(conf)) {
	s->ss.user = mem_strdup(conf_relay_user(conf));
	if ((s->ss.password = read_password(conf_relay_password_file(conf))) == 0) {
	    s->problem = "AUTH: cannot read relay_password_file";
	    return;
	}
	pthread_once(&auth_once, auth_init);
	if ((s->auth = auth_create_context()) == 0) {
	    s->problem = "AUTH: cannot create a context";
	    return;
	}
	auth_set_mechanism_flags(s->auth, AUTH_PLUGIN_PLAIN, 0);
	auth_set_interact_cb(s->auth, auth_interact, &s->ss);
	smtp_auth_set_context(s->smtp, s->auth);
    }
}

/* session_destroy - release what session_create() made */

static void session_destroy(struct session *s)
{
    if (s->smtp)
	smtp_destroy_session(s->smtp);
    if (s->auth)
	auth_destroy_context(s->auth);
    if (s->ssl_ctx)
	SSL_CTX_free(s->ssl_ctx);	/* libesmtp held its own reference */
    if (s->ss.password) {
	explicit_bzero(s->ss.password, strlen(s->ss.password));
	mem_free(s->ss.password);
    }
    mem_free(s->ss.user);
    mem_free(s->server);
    memset(s, 0, sizeof(*s));
}

/* add_message - one libesmtp message for a row, or a reason not to */

static void add_message(struct session *s, struct attempt *a)
{
    const struct store_outbox_item *it = a->item;

    if (it->n_recipients == 0) {
	a->why = "the row has no recipients";
	return;
    }
    if (it->data == 0 || it->len == 0) {
	a->why = "the row has no data";
	return;
    }
    if (it->len > INT_MAX / 2) {
	a->why = "the message is too large";
	return;
    }
    a->rd.data = it->data;
    a->rd.len = it->len;
    if ((a->msg = smtp_add_message(s->smtp)) == 0) {
	a->why = "libesmtp: cannot add a message";
	return;
    }
    smtp_set_reverse_path(a->msg, it->envelope_from ? it->envelope_from : "");
    smtp_set_messagecb(a->msg, message_cb, &a->rd);
    for (size_t i = 0; i < it->n_recipients; i++)
	smtp_add_recipient(a->msg, it->recipients[i]);
}

struct verdict {			/* the outcome of one row */
    enum store_outbox_state state;
    char   *reply;			/* mem_free() */
    char   *refused;			/* SENT with refused recipients */
};

struct rcpt_scan {			/* smtp_enumerate_recipients() state */
    size_t  accepted;
    size_t  refused;			/* 5xx */
    size_t  temporary;			/* 4xx or no answer */
    char   *first_temp;
    char   *first_perm;
    struct buf *refused_list;
};

/* rcpt_cb - classify one recipient's status */

static void rcpt_cb(smtp_recipient_t r, const char *mailbox, void *arg)
{
    struct rcpt_scan *rs = arg;
    const smtp_status_t *st = smtp_recipient_status(r);
    int     code = st ? st->code : 0;

    if (code >= 200 && code < 300) {
	rs->accepted++;
    } else if (code >= 500 && code < 600) {
	rs->refused++;
	if (rs->first_perm == 0)
	    rs->first_perm = status_text(st);
	if (buf_len(rs->refused_list))
	    buf_append_str(rs->refused_list, ", ");
	buf_printf(rs->refused_list, "<%s>", mailbox ? mailbox : "");
    } else {
	rs->temporary++;
	if (rs->first_temp == 0 && code)
	    rs->first_temp = status_text(st);
    }
}

/* judge - the verdict for a submitted row */

static void judge(struct attempt *a, const char *session_error,
		          struct verdict *v)
{
    const smtp_status_t *mst = smtp_message_transfer_status(a->msg);
    const smtp_status_t *rst = smtp_reverse_path_status(a->msg);
    int     mcode = mst ? mst->code : 0;
    int     rcode = rst ? rst->code : 0;
    struct rcpt_scan rs;

    memset(&rs, 0, sizeof(rs));
    rs.refused_list = buf_create(64, 0);
    smtp_enumerate_recipients(a->msg, rcpt_cb, &rs);

    if (mcode >= 200 && mcode < 300 && rs.accepted > 0) {
	v->state = STORE_OUTBOX_SENT;
	v->reply = status_text(mst);
	if (rs.refused + rs.temporary > 0)
	    v->refused = mem_printf("refused %s: %s", buf_len(rs.refused_list) ?
				    buf_data(rs.refused_list) : "some recipients",
				    rs.first_perm ? rs.first_perm :
				    rs.first_temp ? rs.first_temp : "no answer");
    } else if (rcode >= 400) {
	/* The relay refused the sender: its configuration, not the mail. */
	v->state = STORE_OUTBOX_PENDING;
	v->reply = status_text(rst);
    } else if (rs.accepted == 0 && rs.refused > 0 && rs.temporary == 0) {
	v->state = STORE_OUTBOX_FAILED;
	v->reply = mem_strdup(rs.first_perm);
    } else if (rs.accepted == 0 && rs.first_temp) {
	v->state = STORE_OUTBOX_PENDING;
	v->reply = mem_strdup(rs.first_temp);
    } else if (mcode >= 500 && mcode < 600) {
	v->state = STORE_OUTBOX_FAILED;
	v->reply = status_text(mst);
    } else if (mcode >= 400 && mcode < 500) {
	v->state = STORE_OUTBOX_PENDING;
	v->reply = status_text(mst);
    } else {
	v->state = STORE_OUTBOX_PENDING;
	v->reply = mem_strdup(session_error && *session_error ? session_error :
			      "no answer from the relay");
    }
    mem_free(rs.first_temp);
    mem_free(rs.first_perm);
    buf_destroy(&rs.refused_list);
}

/* to_list - "<a>, <b>" for the log (mem_free()) */

static char *to_list(const struct store_outbox_item *it)
{
    struct buf *b = buf_create(64, 0);
    char   *out;

    for (size_t i = 0; i < it->n_recipients; i++) {
	char   *clean = str_sanitize(it->recipients[i], 256);

	buf_printf(b, "%s<%s>", i ? "," : "", clean);
	mem_free(clean);
    }
    out = buf_steal(b, 0);
    buf_destroy(&b);
    return (out);
}

/* record - apply a verdict: back-off, age limit, store, log, count */

static int record(struct store *store, const struct conf *conf,
		          const char *relay, struct attempt *a, struct verdict *v,
		          time_t now, struct notify_sender_counts *counts)
{
    const struct store_outbox_item *it = a->item;
    unsigned max_days = conf_outbox_max_age(conf);
    uint32_t attempt = it->attempts + 1;
    time_t  next = 0;
    char   *error = 0;
    char   *to = to_list(it);
    const char *status;
    int     rc;

    if (v->state == STORE_OUTBOX_PENDING && now - it->created
	>= (time_t) max_days * 86400) {
	v->state = STORE_OUTBOX_FAILED;
	error = mem_printf("gave up after %u day%s: %s", max_days,
			   max_days == 1 ? "" : "s", v->reply);
    } else if (v->state == STORE_OUTBOX_PENDING) {
	next = now + notify_sender_backoff(attempt);
	error = mem_strdup(v->reply);
    } else if (v->state == STORE_OUTBOX_FAILED) {
	error = mem_strdup(v->reply);
    } else if (v->refused) {
	error = mem_strdup(v->refused);
    }
    rc = store_outbox_result(store, it->id, v->state, next, error);
    status = v->state == STORE_OUTBOX_SENT ? "sent" :
	v->state == STORE_OUTBOX_FAILED ? "failed" : "deferred";
    log_info("%s %s: to=%s, relay=%s, outbox=%" PRIu64 ", attempt=%" PRIu32
	     ", status=%s (%s)%s%s", it->kind, *it->number ? it->number : "-",
	     to, relay, it->id, attempt, status,
	     error && v->state != STORE_OUTBOX_SENT ? error : v->reply,
	     v->refused ? ", " : "", v->refused ? v->refused : "");
    if (rc != STORE_OK)
	log_error("outbox %" PRIu64 ": cannot record the result (store error %d);"
		  " it will be attempted again", it->id, rc);
    else if (v->state == STORE_OUTBOX_SENT)
	counts->sent++;
    else if (v->state == STORE_OUTBOX_FAILED)
	counts->failed++;
    else
	counts->deferred++;
    mem_free(error);
    mem_free(to);
    return (rc == STORE_OK ? 0 : -1);
}

/* conclude - judge one row, record the result, once */

static void conclude(struct round *r, struct attempt *a, const char *problem,
		             const char *session_error)
{
    struct verdict v = {STORE_OUTBOX_PENDING, 0, 0};

    if (a->recorded)
	return;
    a->recorded = 1;
    if (problem) {
	v.reply = mem_strdup(problem);
    } else if (a->msg == 0) {
	v.state = STORE_OUTBOX_FAILED;
	v.reply = mem_strdup(a->why);
    } else {
	judge(a, session_error, &v);
    }
    if (record(r->store, r->conf, conf_relay(r->conf), a, &v, clock_now(),
	       &r->counts) < 0)
	r->store_failed = 1;
    mem_free(v.reply);
    mem_free(v.refused);
}

/* message_done - libesmtp finished one message: record it now */

static void message_done(struct round *r, smtp_message_t msg)
{
    for (size_t i = 0; i < r->n; i++) {
	if (r->att[i].msg == msg) {
	    conclude(r, r->att + i, 0, 0);
	    return;
	}
    }
}

/* notify_sender_round - one batch of due rows, one SMTP session */

int     notify_sender_round(struct store *store, const struct conf *conf,
			            struct notify_sender_counts *counts_r)
{
    struct store_outbox_item *items = 0;
    struct round r;
    struct session s;
    char    errbuf[256];
    char   *session_error = 0;
    size_t  n = 0;
    size_t  submitted = 0;
    int     rc;

    if ((rc = store_outbox_due(store, clock_now(), NOTIFY_SENDER_BATCH,
			       &items, &n)) != STORE_OK) {
	log_error("outbox: cannot read due mail (store error %d)", rc);
	return (-1);
    }
    memset(&r, 0, sizeof(r));
    if (n == 0) {
	if (counts_r)
	    *counts_r = r.counts;
	return (0);
    }
    r.store = store;
    r.conf = conf;
    r.n = n;
    r.att = mem_zalloc(n * sizeof(*r.att));
    session_create(&s, conf);
    for (size_t i = 0; i < n; i++) {
	r.att[i].item = items + i;
	if (s.problem == 0) {
	    add_message(&s, r.att + i);
	    submitted += (r.att[i].msg != 0);
	}
    }
    s.ss.round = &r;
    if (s.problem == 0 && submitted > 0 && !smtp_start_session(s.smtp)) {
	smtp_strerror(smtp_errno(), errbuf, sizeof(errbuf));
	session_error = mem_printf("%s: %s", s.ss.problem ? s.ss.problem :
				   "cannot talk to the relay", errbuf);
    } else if (s.problem == 0 && s.ss.problem) {
	session_error = mem_strdup(s.ss.problem);
    }
    s.ss.round = 0;
    if (s.problem == 0 && session_error == 0 && s.ss.verify && !s.ss.tls_ok)
	session_error = mem_strdup("TLS: no encrypted session with the relay"
			     " (handshake failed or certificate not trusted)");
    for (size_t i = 0; i < n; i++)
	conclude(&r, r.att + i, s.problem, session_error);
    session_destroy(&s);
    mem_free(session_error);
    mem_free(r.att);
    store_outbox_items_free(&items, n);
    if (counts_r)
	*counts_r = r.counts;
    return (r.store_failed ? -1 : (int) n);
}

/*
 * The thread.
 */

/* wait_until - sleep up to seconds, or until woken or stopped */

static void wait_for(struct notify_sender *ns, time_t seconds)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += seconds;
    pthread_mutex_lock(&ns->lock);
    while (!ns->wake && !ns->stop) {
	if (pthread_cond_timedwait(&ns->cond, &ns->lock, &deadline) == ETIMEDOUT)
	    break;
    }
    ns->wake = 0;
    pthread_mutex_unlock(&ns->lock);
}

/* should_stop - the stop flag, under the lock */

static int should_stop(struct notify_sender *ns)
{
    int     stop;

    pthread_mutex_lock(&ns->lock);
    stop = ns->stop;
    pthread_mutex_unlock(&ns->lock);
    return (stop);
}

/* idle_time - seconds to sleep after a round that emptied the due list */

static time_t idle_time(struct notify_sender *ns)
{
    time_t  next = 0;
    time_t  now;

    if (store_outbox_next_time(ns->store, &next) != STORE_OK)
	return (STORE_ERROR_PAUSE);
    if (next == 0)
	return (NOTIFY_SENDER_IDLE_MAX);
    now = clock_now();
    if (next <= now)
	return (1);			/* due now, but not returned: no spin */
    return (next - now > NOTIFY_SENDER_IDLE_MAX ? NOTIFY_SENDER_IDLE_MAX :
	    next - now);
}

/* sender_main - the loop */

static void *sender_main(void *arg)
{
    struct notify_sender *ns = arg;
    sigset_t mask;

    sigfillset(&mask);
    sigdelset(&mask, SIGSEGV);
    sigdelset(&mask, SIGBUS);
    sigdelset(&mask, SIGFPE);
    sigdelset(&mask, SIGILL);
    sigdelset(&mask, SIGABRT);
    sigdelset(&mask, SIGTRAP);
    pthread_sigmask(SIG_BLOCK, &mask, 0);

    while (!should_stop(ns)) {
	struct conf *conf = ns->conf_get();
	int     n;

	/* A wake that arrives during the round makes the next wait short. */
	n = notify_sender_round(ns->store, conf, 0);
	conf_unref(&conf);
	pthread_mutex_lock(&ns->lock);
	ns->rounds++;
	pthread_mutex_unlock(&ns->lock);
	if (n == NOTIFY_SENDER_BATCH)
	    continue;
	wait_for(ns, n < 0 ? STORE_ERROR_PAUSE : idle_time(ns));
    }
    return (0);
}

/* notify_sender_start - start the thread */

struct notify_sender *notify_sender_start(struct store *store,
				                  struct conf *(*conf_get) (void))
{
    struct notify_sender *ns = mem_zalloc(sizeof(*ns));
    pthread_condattr_t ca;
    int     err;

    ns->store = store;
    ns->conf_get = conf_get;
    pthread_mutex_init(&ns->lock, 0);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ns->cond, &ca);
    pthread_condattr_destroy(&ca);
    if ((err = pthread_create(&ns->thread, 0, sender_main, ns)) != 0) {
	log_error("outbox: cannot start the sender thread: %s", strerror(err));
	pthread_cond_destroy(&ns->cond);
	pthread_mutex_destroy(&ns->lock);
	mem_free(ns);
	return (0);
    }
    return (ns);
}

/* notify_sender_wake - look at the outbox now */

void    notify_sender_wake(struct notify_sender *ns)
{
    if (ns == 0)
	return;
    pthread_mutex_lock(&ns->lock);
    ns->wake = 1;
    pthread_cond_signal(&ns->cond);
    pthread_mutex_unlock(&ns->lock);
}

/* notify_sender_rounds - the test hook */

uint64_t notify_sender_rounds(struct notify_sender *ns)
{
    uint64_t n;

    pthread_mutex_lock(&ns->lock);
    n = ns->rounds;
    pthread_mutex_unlock(&ns->lock);
    return (n);
}

/* notify_sender_stop - finish the session in progress, stop, free */

void    notify_sender_stop(struct notify_sender **nsp)
{
    struct notify_sender *ns = *nsp;

    if (ns == 0)
	return;
    pthread_mutex_lock(&ns->lock);
    ns->stop = 1;
    pthread_cond_signal(&ns->cond);
    pthread_mutex_unlock(&ns->lock);
    pthread_join(ns->thread, 0);
    pthread_cond_destroy(&ns->cond);
    pthread_mutex_destroy(&ns->lock);
    mem_free(ns);
    *nsp = 0;
}
