#ifndef POSTDESK_LMTP_H
#define POSTDESK_LMTP_H

/*++
/* NAME
/*	lmtp 3h
/* SUMMARY
/*	the LMTP protocol engine (RFC 2033) and the ingest pipeline
/* SYNOPSIS
/*	#include <lmtp.h>
/* DESCRIPTION
/*	The protocol engine owns no listener and no policy: it is given a
/*	connected descriptor and a handler table, and lmtp_session_step()
/*	reads what is available once, runs every complete command, and
/*	writes the replies. Tests drive it over a socketpair.
/*
/*	The ingest functions turn the raw bytes of one message into a
/*	store_message (GMime parsing, charset repair, subject cleaning,
/*	ticket reference, references list).
/*--*/

#include <stddef.h>
#include <stdint.h>

struct conf;
struct store_message;

/* A reply: "250 2.1.5 Ok" without CRLF; code and text set by handlers. */
struct lmtp_reply {
    int     code;			/* 250, 451, 550 ... */
    char    text[256];			/* "2.1.5 Ok", without the code */
};

struct lmtp_envelope {
    const char *id;			/* our transaction id (log prefix) */
    const char *xforward_ident;		/* Postfix queue id, or NULL */
    const char *sender;			/* "" for the null sender */
    const char *const *recipients;	/* accepted, in RCPT order */
    size_t  n_recipients;
    int     body_8bitmime;
    size_t  declared_size;		/* MAIL SIZE=, 0 if none */
};

struct lmtp_handler {
    /* MAIL FROM accepted by the syntax checks: 250 unless set otherwise
       (e.g. 421/451 4.3.2 in maintenance, 552 5.3.4 for SIZE=). */
    void    (*mail)(void *ctx, const struct lmtp_envelope *env,
		            struct lmtp_reply *reply);
    /* One RCPT: 250 2.1.5 to accept, or any refusal. */
    void    (*rcpt)(void *ctx, const struct lmtp_envelope *env,
		            const char *recipient, struct lmtp_reply *reply);
    /* End of DATA: fill exactly env->n_recipients replies, in order. The
       engine owns data (valid during the call only). May block. */
    void    (*data)(void *ctx, const struct lmtp_envelope *env,
		            const char *data, size_t len,
		            struct lmtp_reply *replies);
};

struct lmtp_limits {
    size_t  max_message_size;		/* SIZE advertised; 552 5.3.4 past it */
    size_t  max_line_length;		/* command lines; default 2048 */
    size_t  max_recipients;		/* default 1000 */
    int     idle_timeout;		/* seconds; default 600 */
    const char *hostname;		/* in the greeting */
};

struct lmtp_session;

/*
 * lmtp_session_create - a session on a connected fd (not closed by the
 * session; the caller closes it after lmtp_session_destroy()). Sends the
 * 220 greeting. ctx is passed to each handler.
 */
extern struct lmtp_session *lmtp_session_create(int fd,
				             const struct lmtp_handler *handler,
					                void *ctx,
				              const struct lmtp_limits *limits);
/*
 * lmtp_session_step - wait up to timeout_ms for input (-1: the idle
 * timeout), process it, write the replies. Returns 1 to go on, 0 when
 * the session is over (QUIT, EOF, timeout, write error).
 */
extern int lmtp_session_step(struct lmtp_session *, int timeout_ms);
/* lmtp_session_in_transaction - between MAIL and the end of DATA/RSET. */
extern int lmtp_session_in_transaction(const struct lmtp_session *);
/* lmtp_session_shutdown - answer 421 at the next idle point and end. */
extern void lmtp_session_shutdown(struct lmtp_session *);
extern void lmtp_session_destroy(struct lmtp_session **sessionp);

/*
 * Ingest (lmtpd/ingest.c).
 */
struct lmtp_parsed;

/* lmtp_parse - parse raw bytes (any line ends) with GMime. Never fails:
   an unparsable message still gives a best-effort view. The result
   borrows nothing from raw except via its store_message raw pointer. */
extern struct lmtp_parsed *lmtp_parse(const char *raw, size_t len,
				              const struct conf *conf);
/* lmtp_parsed_message - the store view; fields borrowed from parsed.
   The caller fills log_id, recipient, queue, default_type, sender and
   received before handing it to the store. */
extern struct store_message *lmtp_parsed_message(struct lmtp_parsed *);
extern void lmtp_parsed_free(struct lmtp_parsed **parsedp);

/* lmtp_parsed_text - the first text part (HTML-only mail converted), as
   lmtp_parsed_message()'s body but before quote trimming: where an
   agent's command block is looked for. Borrowed. */
extern const char *lmtp_parsed_text(const struct lmtp_parsed *);
/* lmtp_parsed_from_count - how many mailboxes From: holds (0, 1, more) */
extern size_t lmtp_parsed_from_count(const struct lmtp_parsed *);
/* lmtp_parsed_auth - 1 when one of the message's Authentication-Results
   headers is lmtp_auth_results_pass() for these arguments. */
extern int lmtp_parsed_auth(const struct lmtp_parsed *, const char *authserv_id,
			            const char *method, const char *domain);
/*
 * lmtp_auth_results_pass - does one Authentication-Results value (RFC
 * 8601) from authserv_id (case-insensitive; comments ignored) report
 * method=pass? For "dkim" a header.d (or header.i's domain) must equal
 * domain, for "dmarc" a header.from must equal it (case-insensitive).
 */
extern int lmtp_auth_results_pass(const char *value, const char *authserv_id,
			                  const char *method, const char *domain);

/*
 * Subjects (lmtpd/subject.c). Pure functions.
 */
/* lmtp_subject_clean - the title: reply/forward prefixes (Re, RE :, Fwd,
   TR, AW, WG, SV, VS, Antw, R, RIF, Réf, Re[2], ...) and the ticket tag
   removed, whitespace collapsed. Newly allocated (mem_free()). */
extern char *lmtp_subject_clean(const char *subject, const char *hook);
/* lmtp_subject_ticket - the first ticket number after the hook
   ("[Ticket#N]", "Ticket#N", "Ticket#: N"), in out; 0 if found. */
extern int lmtp_subject_ticket(const char *subject, const char *hook,
			               unsigned system_id, char out[32]);

#endif
