#ifndef POSTDESK_LMTPD_PRIVATE_H
#define POSTDESK_LMTPD_PRIVATE_H

/*++
/* NAME
/*	lmtpd_private 3h
/* SUMMARY
/*	postdesk-lmtpd internals: writer thread, delivery handler, server
/* SYNOPSIS
/*	#include "lmtpd_private.h"
/* DESCRIPTION
/*	Shared by lmtpd/writer.c, lmtpd/deliver.c, lmtpd/server.c and
/*	lmtpd/main.c; not part of the public lmtp.h.
/*--*/

#include <pthread.h>
#include <stddef.h>

#include <lmtp.h>
#include <store.h>

#include "apply.h"

struct conf;
struct notify;
struct notify_sender;
struct apply_job;

/*
 * The writer (writer.c): one thread that commits every prepared message
 * that is ready in one durable transaction, then wakes the sessions.
 */
struct writer_item {
    const struct conf *conf;		/* snapshot the session decided with */
    const struct notify *notify;	/* templates and key of that snapshot */
    const struct store_message *msg;	/* borrowed until writer_submit returns */
    const struct apply_job *job;	/* a command mail (apply.h), or NULL */
    /* An agent's command lines sent to a queue address (no token): they
       are text; after delivery the agent is told (apply_hint()). */
    const struct conf_agent *hint;	/* NULL: none */
    const struct command_block *hint_block;
    const char *hint_text;
    int     status;			/* out: enum store_status */
    struct store_result result;		/* out */
    struct apply_result apply;		/* out, for a job */
    /* Private to writer.c: */
    struct writer_item *next;
    int     done;
};

struct writer;

/* writer_create - start the thread; sender (may be NULL) is woken after
   each commit that queued outbound mail. */
extern struct writer *writer_create(struct store *store,
				            struct notify_sender *sender);
/* writer_submit - queue n items and wait until all are committed (or
   failed); fills each item's status and result. */
extern void writer_submit(struct writer *, struct writer_item *items, size_t n);
/* writer_destroy - finish what is queued, stop the thread. */
extern void writer_destroy(struct writer **writerp);

/*
 * The delivery handler (deliver.c): the lmtp_handler callbacks that
 * route recipients, parse, and hand messages to the writer.
 */
struct deliver_context {
    struct writer *writer;
    struct store *store;
    struct conf *(*conf_get) (void);	/* a new reference to the current snapshot */
    /* snapshot_get - new references to the current conf and notify
       bundle, taken together so that they match. */
    void    (*snapshot_get) (struct conf **conf_r, struct notify **notify_r);
    /* after_control - called after each postdeskctl request (it may have
       requeued outbound mail: wake the sender); may be NULL. */
    void    (*after_control) (void);
};

extern const struct lmtp_handler deliver_handler;

/* Per-session state of the handler: pass as the ctx of the session. */
struct deliver_session;

extern struct deliver_session *deliver_session_create(const struct deliver_context *);
extern void deliver_session_destroy(struct deliver_session **);

/*
 * The server (server.c): listeners, one thread per session, the control
 * socket, signals, orderly shutdown.
 */
/* server_listen - bind a listener for "unix:/path" or "inet:host:port";
   a unix socket is made mode 0666 (Postfix's lmtp client must reach it).
   Returns the fd, or -1 with *error_r set (mem_free()). */
extern int server_listen(const char *spec, char **error_r);

struct server;

/* server_create - take over the bound LMTP listener and the control
   socket path; sessions use dc. */
extern struct server *server_create(int listen_fd, const char *control_path,
			               const struct deliver_context *dc,
				            const struct lmtp_limits *limits);
/* server_run - the event loop: returns after SIGTERM/SIGINT once the
   sessions in flight have finished. reload() is called on SIGHUP. */
extern void server_run(struct server *, void (*reload) (void));
extern void server_destroy(struct server **);

#endif
