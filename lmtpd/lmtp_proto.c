/*++
/* NAME
/*	lmtp_proto 3
/* SUMMARY
/*	the LMTP protocol engine (RFC 2033)
/* SYNOPSIS
/*	#include <lmtp.h>
/*
/*	struct lmtp_session *lmtp_session_create(fd, handler, ctx, limits)
/*	int	fd;
/*	const struct lmtp_handler *handler;
/*	void	*ctx;
/*	const struct lmtp_limits *limits;
/*
/*	int	lmtp_session_step(session, timeout_ms)
/*	struct lmtp_session *session;
/*	int	timeout_ms;
/*
/*	int	lmtp_session_in_transaction(session)
/*	const struct lmtp_session *session;
/*
/*	void	lmtp_session_shutdown(session)
/*	struct lmtp_session *session;
/*
/*	void	lmtp_session_destroy(sessionp)
/*	struct lmtp_session **sessionp;
/* DESCRIPTION
/*	This module speaks LMTP on one connected descriptor. It owns no
/*	listener and makes no delivery decision: the handler table decides
/*	about senders, recipients and messages. The engine does the syntax,
/*	the state machine, the limits, pipelining and the per-recipient
/*	replies after DATA.
/*
/*	lmtp_session_create() makes a session on fd and sends the 220
/*	greeting. The descriptor is borrowed: the caller closes it after
/*	lmtp_session_destroy(). The handler table and ctx are borrowed
/*	for the life of the session; limits is copied (fields left 0 get
/*	the defaults: max_message_size 26214400, max_line_length 2048,
/*	max_recipients 1000, idle_timeout 600 s, hostname "localhost";
/*	a max_line_length under 512, the RFC 5321 minimum, counts as 512).
/*	The session never fails to be created; a failed greeting makes
/*	the first lmtp_session_step() return 0.
/*
/*	lmtp_session_step() waits up to timeout_ms for input (-1: until
/*	the idle timeout), reads at most 64 KB once, runs every complete
/*	command in order (pipelining), reads message data, calls the
/*	handler, and writes all replies (short writes are retried until
/*	done or error). It returns 1 while the session goes on and 0 once
/*	it is over: QUIT, end of file, idle timeout (after "421 4.4.2"),
/*	shutdown (after "421 4.3.2"), too many protocol errors, or an I/O
/*	error. The idle timeout counts from the last input, whatever
/*	timeout_ms the caller passes, so stepping with short timeouts
/*	does not defeat it. A transaction in progress at end of file is
/*	dropped: nothing was acknowledged.
/*
/*	lmtp_session_in_transaction() is true between an accepted MAIL
/*	and the end of DATA (or RSET, LHLO).
/*
/*	lmtp_session_shutdown() asks the session to end at its next idle
/*	point: if no transaction is open, the next step sends "421 4.3.2
/*	Service shutting down" and returns 0; a transaction in progress
/*	(MAIL given, or DATA being read) is carried on to its end first,
/*	then the 421 is sent. It only sets an atomic flag, so it may be
/*	called from another thread; a step waiting for input notices it
/*	within one second.
/*
/*	lmtp_session_destroy() frees the session and sets the handle to
/*	NULL; it does nothing for a NULL handle. It does not close fd.
/*
/*	Transaction ids. At each MAIL the engine makes an id of 10
/*	uppercase hex digits: the low 20 bits of the time in seconds,
/*	then the low 20 bits of a process-wide counter started from a hash
/*	of the pid. Ids are unique within a process (the counter would
/*	need a million transactions in one second to repeat) and unlikely
/*	to repeat across restarts. The handler sees it as env->id and
/*	should begin its log lines with it; the engine does the same, or
/*	"NOID" outside a transaction.
/*
/*	Memory handed to the handler (envelope strings, recipient array,
/*	message data) is owned by the engine and valid during the call
/*	only. The message data is passed with its length and may contain
/*	NUL bytes; it is also followed by a NUL that len does not count.
/*
/*	Choices where RFC 2033 leaves room: the XFORWARD attributes (only
/*	IDENT is kept) are forgotten when the transaction ends or at RSET
/*	and LHLO; a handler reply with code 0 means "250 2.1.0 Ok" for
/*	MAIL and "250 2.1.5 Ok" for RCPT, but "451 4.3.0" after DATA (a
/*	message must never be acknowledged by default); a handler reply
/*	with code 421 ends the session once written; handler texts are
/*	stripped of control characters and given an enhanced status code
/*	when they lack one. After 100 protocol errors the session ends
/*	with "421 4.7.0 Error: too many errors".
/* STANDARDS
/*	RFC 2033 (LMTP), RFC 5321 (SMTP), RFC 2920 (pipelining),
/*	RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 2034 and RFC 3463
/*	(enhanced status codes), Postfix XFORWARD_README.
/* DIAGNOSTICS
/*	Protocol errors, timeouts and I/O errors are logged at info level,
/*	briefly, with the transaction id or NOID as prefix. Message bodies
/*	are never logged; addresses and commands are sanitised.
/* BUGS
/*	Lines that end in a bare LF are accepted in DATA, including as
/*	part of the end marker: this is meant for a trusted peer (the
/*	local Postfix), which always sends CRLF.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "lmtp.h"

#define DEF_MAX_MESSAGE_SIZE	26214400
#define DEF_MAX_LINE_LENGTH	2048
#define MIN_MAX_LINE_LENGTH	512
#define DEF_MAX_RECIPIENTS	1000
#define DEF_IDLE_TIMEOUT	600
#define DEF_HOSTNAME		"localhost"

#define READ_CHUNK		65536	/* one read(2) at most */
#define OUT_FLUSH_AT		16384	/* write replies out past this */
#define POLL_SLICE_MS		1000	/* notice shutdown this often */
#define HARD_ERROR_LIMIT	100	/* protocol errors per session */
#define ADDR_MAX		256	/* RFC 5321 path length */
#define IDENT_MAX		64	/* XFORWARD IDENT kept */

enum state {
    ST_COMMAND,				/* reading command lines */
    ST_DATA,				/* reading message data */
    ST_DONE,				/* session over */
};

enum dot {
    DOT_BOL,				/* at the start of a data line */
    DOT_MID,				/* inside a data line */
    DOT_DOT,				/* saw "." at the start of a line */
    DOT_DOTCR,				/* saw ".\r" at the start of a line */
};

struct lmtp_session {
    int     fd;
    int     not_socket;			/* send(2) gave ENOTSOCK */
    const struct lmtp_handler *handler;
    void   *ctx;
    size_t  max_message_size;
    size_t  max_line_length;
    size_t  max_recipients;
    int     idle_timeout;		/* seconds */
    char   *hostname;
    char   *rbuf;			/* READ_CHUNK bytes for read(2) */
    struct buf *in;			/* unprocessed input */
    struct buf *out;			/* unsent replies */
    enum state state;
    int     lhlo_seen;
    int     discarding;			/* skipping an over-long line */
    int     errors;			/* protocol errors so far */
    atomic_int shutdown;
    uint64_t last_input_ms;
    /* XFORWARD, until the end of the next transaction. */
    char   *xforward_ident;
    /* The transaction, reset at its end. */
    int     in_tx;
    char    id[16];
    char   *sender;
    char  **rcpts;
    size_t  n_rcpts;
    size_t  rcpt_alloc;
    int     body_8bitmime;
    size_t  declared_size;
    /* DATA. */
    enum dot dot;
    struct buf *data;
    size_t  data_size;
    int     data_too_big;
    struct lmtp_envelope env;
};

static const struct lmtp_handler null_handler;
static atomic_uint id_counter;

/* log_id - the log prefix of the session */

static const char *log_id(const struct lmtp_session *s)
{
    return (s->id[0] ? s->id : "NOID");
}

/* new_id - a fresh transaction id, see DESCRIPTION */

static void new_id(char out[16])
{
    unsigned pid_hash = (unsigned) getpid() * 2654435761u;
    unsigned count = atomic_fetch_add(&id_counter, 1) + pid_hash;
    unsigned long long t = (unsigned long long) time((time_t *) 0);

    snprintf(out, 16, "%05llX%05X", t & 0xfffff, count & 0xfffff);
}

/* reply - queue one reply line */

static void reply(struct lmtp_session *s, const char *fmt,...)
            UTIL_PRINTFLIKE(2, 3);

static void reply(struct lmtp_session *s, const char *fmt,...)
{
    va_list ap;

    va_start(ap, fmt);
    if (buf_vprintf(s->out, fmt, ap) < 0 || buf_append(s->out, "\r\n", 2) < 0)
	log_panic("%s: lmtp: reply buffer overflow", log_id(s));
    va_end(ap);
}

/* proto_error - queue an error reply, log it, count it */

static void proto_error(struct lmtp_session *s, const char *text,
			        const char *what)
{
    char   *safe = str_sanitize(what, 64);

    reply(s, "%s", text);
    log_info("%s: lmtp: %s: %s", log_id(s), safe, text);
    mem_free(safe);
    if (++s->errors >= HARD_ERROR_LIMIT) {
	reply(s, "421 4.7.0 %s Error: too many errors", s->hostname);
	log_info("%s: lmtp: too many errors, disconnecting", log_id(s));
	s->state = ST_DONE;
    }
}

/* unsupported_option - 555 for a MAIL or RCPT parameter */

static void unsupported_option(struct lmtp_session *s, const char *option,
			               const char *what)
{
    char   *safe = str_sanitize(option, 32);
    char   *text = mem_printf("555 5.5.4 Unsupported option: %s", safe);

    proto_error(s, text, what);
    mem_free(text);
    mem_free(safe);
}

/* flush_output - write every queued reply; -1 and ST_DONE on error */

static int flush_output(struct lmtp_session *s)
{
    while (buf_len(s->out) > 0) {
	ssize_t n;

	if (!s->not_socket) {
	    n = send(s->fd, buf_data(s->out), buf_len(s->out),
		     MSG_DONTWAIT | MSG_NOSIGNAL);
	    if (n < 0 && errno == ENOTSOCK) {
		s->not_socket = 1;
		continue;
	    }
	} else {
	    n = write(s->fd, buf_data(s->out), buf_len(s->out));
	}
	if (n > 0) {
	    buf_consume(s->out, (size_t) n);
	    continue;
	}
	if (n < 0 && errno == EINTR)
	    continue;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
	    struct pollfd pfd = {.fd = s->fd,.events = POLLOUT};
	    int     r = poll(&pfd, 1, s->idle_timeout * 1000);

	    if (r > 0 || (r < 0 && errno == EINTR))
		continue;
	    if (r == 0)
		errno = ETIMEDOUT;
	}
	log_info("%s: lmtp: write error: %m", log_id(s));
	buf_reset(s->out);
	s->state = ST_DONE;
	return (-1);
    }
    return (0);
}

/* tx_reset - forget the transaction and the XFORWARD attributes */

static void tx_reset(struct lmtp_session *s)
{
    for (size_t i = 0; i < s->n_rcpts; i++)
	mem_free(s->rcpts[i]);
    s->n_rcpts = 0;
    mem_free(s->sender);
    s->sender = 0;
    mem_free(s->xforward_ident);
    s->xforward_ident = 0;
    buf_destroy(&s->data);
    s->in_tx = 0;
    s->id[0] = 0;
    s->body_8bitmime = 0;
    s->declared_size = 0;
    s->data_size = 0;
    s->data_too_big = 0;
    s->dot = DOT_BOL;
}

/* envelope - the envelope as the handler sees it */

static const struct lmtp_envelope *envelope(struct lmtp_session *s)
{
    s->env.id = s->id;
    s->env.xforward_ident = s->xforward_ident;
    s->env.sender = s->sender ? s->sender : "";
    s->env.recipients = (const char *const *) s->rcpts;
    s->env.n_recipients = s->n_rcpts;
    s->env.body_8bitmime = s->body_8bitmime;
    s->env.declared_size = s->declared_size;
    return (&s->env);
}

/* put_handler_reply - queue a handler's reply, made safe */

static void put_handler_reply(struct lmtp_session *s, struct lmtp_reply *r,
			              int def_code, const char *def_text)
{
    int     code = r->code;
    const char *text;
    char    fixed[16] = "";

    r->text[sizeof(r->text) - 1] = 0;
    if (code == 0) {
	code = def_code;
	if (r->text[0] == 0)
	    snprintf(r->text, sizeof(r->text), "%s", def_text);
    }
    if (code < 200 || code > 599) {
	log_warn("%s: lmtp: handler gave reply code %d", log_id(s), code);
	code = 451;
	snprintf(r->text, sizeof(r->text), "4.3.0 Internal error");
    }
    r->code = code;
    for (unsigned char *cp = (unsigned char *) r->text; *cp; cp++)
	if (*cp < 0x20 || *cp == 0x7f)
	    *cp = ' ';
    text = r->text;
    if (text[0] != '0' + code / 100 || text[1] != '.')
	snprintf(fixed, sizeof(fixed), "%d.0.0%s", code / 100,
		 text[0] ? " " : (code < 300 ? " Ok" : " Failed"));
    reply(s, "%d %s%s", code, fixed, text);
}

/* skip_space - skip blanks */

static const char *skip_space(const char *cp)
{
    while (*cp == ' ' || *cp == '\t')
	cp++;
    return (cp);
}

/* parse_path - "<addr>" at cp; 0 ok, -1 syntax, -2 bad address */

static int parse_path(const char *cp, char **addr_r, const char **end_r)
{
    const char *start;
    const char *end;
    int     quoted = 0;

    if (*cp != '<')
	return (-1);
    start = ++cp;
    for (; *cp; cp++) {
	unsigned char ch = (unsigned char) *cp;

	if (ch < 0x20 || ch == 0x7f)
	    return (-2);
	if (quoted) {
	    if (ch == '\\') {
		ch = (unsigned char) *++cp;
		if (ch == 0)
		    return (-1);
		if (ch < 0x20 || ch == 0x7f)
		    return (-2);
	    } else if (ch == '"')
		quoted = 0;
	    continue;
	}
	if (ch == '"')
	    quoted = 1;
	else if (ch == '>')
	    break;
	else if (ch == '<' || ch == ' ' || ch == '\t' || ch == '\\')
	    return (-2);
    }
    if (*cp != '>')
	return (-1);
    end = cp;
    /* A source route "@a,@b:user@host" is accepted and ignored. */
    if (*start == '@') {
	const char *colon = memchr(start, ':', (size_t) (end - start));

	if (colon == 0)
	    return (-2);
	start = colon + 1;
    }
    if ((size_t) (end - start) > ADDR_MAX)
	return (-2);
    *addr_r = mem_strndup(start, (size_t) (end - start));
    *end_r = end + 1;
    return (0);
}

/* parse_size - decimal SIZE value; -1 if bad */

static int parse_size(const char *val, size_t *size_r)
{
    size_t  n = 0;

    if (val == 0 || *val == 0 || strlen(val) > 20)
	return (-1);
    for (; *val; val++) {
	if (*val < '0' || *val > '9')
	    return (-1);
	if (n > (SIZE_MAX - 9) / 10)
	    n = SIZE_MAX;			/* saturate: over any limit */
	else
	    n = n * 10 + (size_t) (*val - '0');
    }
    *size_r = n;
    return (0);
}

/* mail_params - MAIL parameters; 0 ok, or an error reply queued */

static int mail_params(struct lmtp_session *s, char *cp, size_t *size_r,
		               int *body8_r)
{
    char   *tok;
    char   *save;

    for (tok = strtok_r(cp, " \t", &save); tok; tok = strtok_r(0, " \t", &save)) {
	char   *val = strchr(tok, '=');

	if (val)
	    *val++ = 0;
	if (strcasecmp(tok, "SIZE") == 0) {
	    if (parse_size(val, size_r) < 0) {
		proto_error(s, "501 5.5.4 Bad SIZE parameter", "MAIL");
		return (-1);
	    }
	} else if (strcasecmp(tok, "BODY") == 0) {
	    if (val && strcasecmp(val, "8BITMIME") == 0)
		*body8_r = 1;
	    else if (val && strcasecmp(val, "7BIT") == 0)
		*body8_r = 0;
	    else {
		proto_error(s, "501 5.5.4 Bad BODY parameter", "MAIL");
		return (-1);
	    }
	} else {
	    unsupported_option(s, tok, "MAIL");
	    return (-1);
	}
    }
    return (0);
}

/* cmd_lhlo - LHLO hostname */

static void cmd_lhlo(struct lmtp_session *s, char *args)
{
    if (*args == 0) {
	proto_error(s, "501 5.5.4 Syntax: LHLO hostname", "LHLO");
	return;
    }
    tx_reset(s);
    s->lhlo_seen = 1;
    reply(s, "250-%s", s->hostname);
    reply(s, "250-PIPELINING");
    reply(s, "250-ENHANCEDSTATUSCODES");
    reply(s, "250-8BITMIME");
    reply(s, "250-SIZE %zu", s->max_message_size);
    reply(s, "250 XFORWARD NAME ADDR PROTO HELO IDENT");
}

/* cmd_mail - MAIL FROM:<sender> [SIZE=n] [BODY=7BIT|8BITMIME] */

static void cmd_mail(struct lmtp_session *s, char *args)
{
    struct lmtp_reply r = {0};
    const char *end;
    char   *addr = 0;
    size_t  size = 0;
    int     body8 = 0;
    int     ret;

    if (!s->lhlo_seen) {
	proto_error(s, "503 5.5.1 Error: send LHLO first", "MAIL");
	return;
    }
    if (s->in_tx) {
	proto_error(s, "503 5.5.1 Error: nested MAIL command", "MAIL");
	return;
    }
    ret = strncasecmp(args, "FROM:", 5) != 0 ? -1 :
	parse_path(skip_space(args + 5), &addr, &end);
    if (ret == 0 && *end != 0 && *end != ' ' && *end != '\t') {
	mem_free(addr);
	ret = -1;
    }
    if (ret == -1) {
	proto_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>", "MAIL");
	return;
    }
    if (ret == -2) {
	proto_error(s, "501 5.1.7 Bad sender address syntax", "MAIL");
	return;
    }
    if (mail_params(s, (char *) end, &size, &body8) < 0) {
	mem_free(addr);
	return;
    }
    if (size > s->max_message_size) {
	mem_free(addr);
	reply(s, "552 5.3.4 Message size exceeds fixed limit");
	log_info("NOID: lmtp: MAIL: declared size %zu over the limit %zu",
		 size, s->max_message_size);
	return;
    }
    new_id(s->id);
    s->sender = addr;
    s->declared_size = size;
    s->body_8bitmime = body8;
    if (s->handler->mail)
	s->handler->mail(s->ctx, envelope(s), &r);
    put_handler_reply(s, &r, 250, "2.1.0 Ok");
    if (r.code >= 200 && r.code < 300) {
	s->in_tx = 1;
	return;
    }
    if (r.code == 421)
	s->state = ST_DONE;
    /* Refused: keep the XFORWARD attributes for the next MAIL. */
    mem_free(s->sender);
    s->sender = 0;
    s->id[0] = 0;
    s->declared_size = 0;
    s->body_8bitmime = 0;
}

/* cmd_rcpt - RCPT TO:<recipient> */

static void cmd_rcpt(struct lmtp_session *s, char *args)
{
    struct lmtp_reply r = {0};
    const char *end;
    char   *addr = 0;
    int     ret;

    if (!s->in_tx) {
	proto_error(s, "503 5.5.1 Error: need MAIL command", "RCPT");
	return;
    }
    ret = strncasecmp(args, "TO:", 3) != 0 ? -1 :
	parse_path(skip_space(args + 3), &addr, &end);
    if (ret == 0 && *end != 0 && *end != ' ' && *end != '\t') {
	mem_free(addr);
	addr = 0;
	ret = -1;
    }
    if (ret == -1) {
	proto_error(s, "501 5.5.4 Syntax: RCPT TO:<address>", "RCPT");
	return;
    }
    if (ret == -2 || *addr == 0) {
	mem_free(addr);
	proto_error(s, "501 5.1.3 Bad recipient address syntax", "RCPT");
	return;
    }
    end = skip_space(end);
    if (*end) {
	mem_free(addr);
	unsupported_option(s, end, "RCPT");
	return;
    }
    if (s->n_rcpts >= s->max_recipients) {
	mem_free(addr);
	reply(s, "452 4.5.3 Error: too many recipients");
	return;
    }
    if (s->handler->rcpt)
	s->handler->rcpt(s->ctx, envelope(s), addr, &r);
    put_handler_reply(s, &r, 250, "2.1.5 Ok");
    if (r.code >= 200 && r.code < 300) {
	if (s->n_rcpts + 1 >= s->rcpt_alloc) {
	    s->rcpt_alloc = s->rcpt_alloc ? 2 * s->rcpt_alloc : 8;
	    s->rcpts = mem_realloc(s->rcpts, s->rcpt_alloc * sizeof(char *));
	}
	s->rcpts[s->n_rcpts++] = addr;
	s->rcpts[s->n_rcpts] = 0;
	return;
    }
    mem_free(addr);
    if (r.code == 421)
	s->state = ST_DONE;
}

/* cmd_data - DATA: start reading the message */

static void cmd_data(struct lmtp_session *s, char *args)
{
    size_t  initial;

    if (*args) {
	proto_error(s, "501 5.5.4 Syntax: DATA", "DATA");
	return;
    }
    if (!s->in_tx) {
	proto_error(s, "503 5.5.1 Error: need MAIL command", "DATA");
	return;
    }
    if (s->n_rcpts == 0) {
	proto_error(s, "503 5.5.1 No valid recipients", "DATA");
	return;
    }
    initial = s->declared_size ? s->declared_size + 1024 : 16384;
    if (initial > s->max_message_size)
	initial = s->max_message_size;
    s->data = buf_create(initial, s->max_message_size);
    s->data_size = 0;
    s->data_too_big = 0;
    s->dot = DOT_BOL;
    s->state = ST_DATA;
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* cmd_rset - RSET */

static void cmd_rset(struct lmtp_session *s, char *args)
{
    if (*args) {
	proto_error(s, "501 5.5.4 Syntax: RSET", "RSET");
	return;
    }
    tx_reset(s);
    reply(s, "250 2.0.0 Ok");
}

/* cmd_noop - NOOP [string] */

static void cmd_noop(struct lmtp_session *s, char *args)
{
    (void) args;
    reply(s, "250 2.0.0 Ok");
}

/* cmd_quit - QUIT */

static void cmd_quit(struct lmtp_session *s, char *args)
{
    (void) args;
    reply(s, "221 2.0.0 Bye");
    s->state = ST_DONE;
}

/* cmd_vrfy - VRFY: never tells */

static void cmd_vrfy(struct lmtp_session *s, char *args)
{
    (void) args;
    reply(s, "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery");
}

/* cmd_helo - HELO and EHLO */

static void cmd_helo(struct lmtp_session *s, char *args)
{
    (void) args;
    proto_error(s, "500 5.5.1 This is LMTP: use LHLO", "HELO/EHLO");
}

/* cmd_notimpl - known SMTP verbs we do not offer (BDAT, ...) */

static void cmd_notimpl(struct lmtp_session *s, char *args)
{
    (void) args;
    proto_error(s, "502 5.5.1 Error: command not implemented", "command");
}

/* hex_value - the value of one hex digit */

static int hex_value(int ch)
{
    return (isdigit(ch) ? ch - '0' : (ch | 0x20) - 'a' + 10);
}

/* xtext_decode - RFC 3461 xtext to a sanitised string, or NULL */

static char *xtext_decode(const char *val)
{
    struct buf *b = buf_create(32, IDENT_MAX);
    char   *out;

    for (const char *cp = val; *cp; cp++) {
	int     ch = (unsigned char) *cp;

	if (ch == '+') {
	    if (!isxdigit((unsigned char) cp[1])
		|| !isxdigit((unsigned char) cp[2]))
		break;
	    ch = hex_value(cp[1]) * 16 + hex_value(cp[2]);
	    cp += 2;
	}
	if (buf_append_char(b, ch < 0x20 || ch == 0x7f ? '?' : ch) < 0)
	    break;
    }
    out = buf_len(b) ? buf_steal(b, 0) : 0;
    buf_destroy(&b);
    return (out);
}

/* cmd_xforward - XFORWARD attr=value ... (Postfix); only IDENT kept */

static void cmd_xforward(struct lmtp_session *s, char *args)
{
    char   *tok;
    char   *save;
    char   *ident = 0;
    int     have_ident = 0;

    if (!s->lhlo_seen) {
	proto_error(s, "503 5.5.1 Error: send LHLO first", "XFORWARD");
	return;
    }
    if (s->in_tx) {
	proto_error(s, "503 5.5.1 Error: XFORWARD not allowed in a transaction",
		    "XFORWARD");
	return;
    }
    if (*args == 0) {
	proto_error(s, "501 5.5.4 Syntax: XFORWARD attribute=value...",
		    "XFORWARD");
	return;
    }
    for (tok = strtok_r(args, " \t", &save); tok; tok = strtok_r(0, " \t", &save)) {
	char   *val = strchr(tok, '=');

	if (val == 0 || val == tok) {
	    mem_free(ident);
	    proto_error(s, "501 5.5.4 Syntax: XFORWARD attribute=value...",
			"XFORWARD");
	    return;
	}
	*val++ = 0;
	if (strcasecmp(tok, "IDENT") == 0) {
	    mem_free(ident);
	    have_ident = 1;
	    ident = strcasecmp(val, "[UNAVAILABLE]") == 0 ? 0 : xtext_decode(val);
	}
    }
    if (have_ident) {
	mem_free(s->xforward_ident);
	s->xforward_ident = ident;
    }
    reply(s, "250 2.0.0 Ok");
}

static const struct command {
    const char *verb;
    void    (*action) (struct lmtp_session *, char *);
}       commands[] = {
    {"LHLO", cmd_lhlo},
    {"MAIL", cmd_mail},
    {"RCPT", cmd_rcpt},
    {"DATA", cmd_data},
    {"RSET", cmd_rset},
    {"NOOP", cmd_noop},
    {"QUIT", cmd_quit},
    {"VRFY", cmd_vrfy},
    {"XFORWARD", cmd_xforward},
    {"HELO", cmd_helo},
    {"EHLO", cmd_helo},
    {"BDAT", cmd_notimpl},
    {"EXPN", cmd_notimpl},
    {"ETRN", cmd_notimpl},
    {"TURN", cmd_notimpl},
    {"AUTH", cmd_notimpl},
    {"STARTTLS", cmd_notimpl},
    {0, 0},
};

/* run_command - one complete command line, without its line end */

static void run_command(struct lmtp_session *s, char *line, size_t len)
{
    char   *args;

    if (memchr(line, 0, len) != 0) {
	proto_error(s, "500 5.5.2 Error: NUL byte in command", "command");
	return;
    }
    line[len] = 0;
    if (len > s->max_line_length) {
	proto_error(s, "500 5.5.2 Line too long", "command");
	return;
    }
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
	line[--len] = 0;
    line = (char *) skip_space(line);
    if (*line == 0) {
	proto_error(s, "500 5.5.2 Error: bad syntax", "empty command");
	return;
    }
    args = line + strcspn(line, " \t");
    if (*args)
	*args++ = 0;
    args = (char *) skip_space(args);
    for (const struct command *cmd = commands; cmd->verb; cmd++) {
	if (strcasecmp(cmd->verb, line) == 0) {
	    cmd->action(s, args);
	    return;
	}
    }
    proto_error(s, "500 5.5.2 Unknown command", line);
}

/* data_emit - message bytes, kept until the size limit */

static void data_emit(struct lmtp_session *s, const char *p, size_t len)
{
    s->data_size += len;
    if (s->data_too_big)
	return;
    if (s->data_size > s->max_message_size || buf_append(s->data, p, len) < 0) {
	s->data_too_big = 1;
	buf_destroy(&s->data);
    }
}

/* data_feed - message data; returns 1 at the end dot, *used_r consumed */

static int data_feed(struct lmtp_session *s, const char *p, size_t len,
		             size_t *used_r)
{
    const char *start = p;
    const char *end = p + len;

    while (p < end) {
	switch (s->dot) {
	case DOT_MID:{
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		size_t  n = nl ? (size_t) (nl + 1 - p) : (size_t) (end - p);

		data_emit(s, p, n);
		p += n;
		if (nl)
		    s->dot = DOT_BOL;
		break;
	    }
	case DOT_BOL:
	    if (*p == '.') {
		s->dot = DOT_DOT;
		p++;
	    } else
		s->dot = DOT_MID;
	    break;
	case DOT_DOT:				/* ".": end, or a stuffed line */
	    if (*p == '\n') {
		*used_r = (size_t) (p + 1 - start);
		return (1);
	    }
	    if (*p == '\r') {
		s->dot = DOT_DOTCR;
		p++;
	    } else
		s->dot = DOT_MID;
	    break;
	case DOT_DOTCR:
	    if (*p == '\n') {
		*used_r = (size_t) (p + 1 - start);
		return (1);
	    }
	    data_emit(s, "\r", 1);
	    s->dot = DOT_MID;
	    break;
	}
    }
    *used_r = len;
    return (0);
}

/* data_done - the end dot: one reply per accepted recipient */

static void data_done(struct lmtp_session *s)
{
    const struct lmtp_envelope *env = envelope(s);
    struct lmtp_reply *replies;
    int     close_after = 0;

    s->state = ST_COMMAND;
    if (s->data_too_big) {
	log_info("%s: lmtp: message of %zu bytes over the limit %zu",
		 log_id(s), s->data_size, s->max_message_size);
	for (size_t i = 0; i < s->n_rcpts; i++)
	    reply(s, "552 5.3.4 Message too big");
	tx_reset(s);
	return;
    }
    /* Let the peer see earlier replies while the handler works. */
    if (flush_output(s) < 0) {
	tx_reset(s);
	return;
    }
    replies = mem_zalloc(s->n_rcpts * sizeof(*replies));
    if (s->handler->data)
	s->handler->data(s->ctx, env, s->data ? buf_data(s->data) : "",
			 s->data ? buf_len(s->data) : 0, replies);
    for (size_t i = 0; i < s->n_rcpts; i++) {
	if (replies[i].code == 0)
	    log_warn("%s: lmtp: no delivery status for recipient %zu",
		     log_id(s), i + 1);
	put_handler_reply(s, replies + i, 451, "4.3.0 Delivery status unknown");
	if (replies[i].code == 421)
	    close_after = 1;
    }
    mem_free(replies);
    tx_reset(s);
    if (close_after)
	s->state = ST_DONE;
}

/* check_shutdown - at an idle point, answer 421 and end */

static int check_shutdown(struct lmtp_session *s)
{
    if (s->state == ST_COMMAND && !s->in_tx && atomic_load(&s->shutdown)) {
	reply(s, "421 4.3.2 Service shutting down");
	s->state = ST_DONE;
    }
    return (s->state == ST_DONE);
}

/* process_input - run every complete command and consume data */

static void process_input(struct lmtp_session *s)
{
    char   *base = buf_data_mut(s->in);
    size_t  len = buf_len(s->in);
    size_t  off = 0;

    while (off < len && !check_shutdown(s)) {
	if (s->state == ST_DATA) {
	    size_t  used;

	    if (data_feed(s, base + off, len - off, &used))
		data_done(s);
	    off += used;
	    continue;
	}
	char   *line = base + off;
	char   *nl = memchr(line, '\n', len - off);

	if (nl == 0) {
	    if (!s->discarding && len - off > s->max_line_length + 1) {
		proto_error(s, "500 5.5.2 Line too long", "command");
		s->discarding = 1;
	    }
	    if (s->discarding)
		off = len;
	    break;
	}
	size_t  line_len = (size_t) (nl - line);

	off += line_len + 1;
	if (s->discarding) {
	    s->discarding = 0;
	    continue;
	}
	if (line_len > 0 && line[line_len - 1] == '\r')
	    line_len--;
	run_command(s, line, line_len);
	if (buf_len(s->out) >= OUT_FLUSH_AT)
	    (void) flush_output(s);
    }
    buf_consume(s->in, off);
}

/* wait_input - 1 when readable, 0 when the wait ended without input */

static int wait_input(struct lmtp_session *s, int timeout_ms)
{
    uint64_t now = time_now_ms();
    uint64_t idle_end = s->last_input_ms + (uint64_t) s->idle_timeout * 1000;
    uint64_t end;

    if (now >= idle_end)
	return (0);
    end = (timeout_ms < 0 || now + (uint64_t) timeout_ms > idle_end) ?
	idle_end : now + (uint64_t) timeout_ms;
    for (;;) {
	struct pollfd pfd = {.fd = s->fd,.events = POLLIN};
	uint64_t left = end > now ? end - now : 0;
	int     slice = left > POLL_SLICE_MS ? POLL_SLICE_MS : (int) left;
	int     r = poll(&pfd, 1, slice);

	if (r > 0)
	    return (1);
	if (r < 0 && errno != EINTR)
	    return (1);				/* let read(2) report it */
	if (atomic_load(&s->shutdown) && s->state == ST_COMMAND && !s->in_tx)
	    return (0);
	now = time_now_ms();
	if (now >= end)
	    return (0);
    }
}

/* lmtp_session_step - wait, read once, process, reply */

int     lmtp_session_step(struct lmtp_session *s, int timeout_ms)
{
    ssize_t n;

    if (s->state == ST_DONE || check_shutdown(s))
	goto out;
    if (wait_input(s, timeout_ms) == 0) {
	if (!check_shutdown(s)
	    && time_now_ms() >= s->last_input_ms + (uint64_t) s->idle_timeout * 1000) {
	    log_info("%s: lmtp: idle timeout", log_id(s));
	    reply(s, "421 4.4.2 %s Timeout", s->hostname);
	    s->state = ST_DONE;
	}
	goto out;
    }
    /* process_input() leaves less than a command line: room for a chunk. */
    n = read(s->fd, s->rbuf, READ_CHUNK);
    if (n > 0 && buf_append(s->in, s->rbuf, (size_t) n) < 0)
	log_panic("%s: lmtp: input buffer overflow", log_id(s));
    if (n == 0) {
	if (s->in_tx || s->state == ST_DATA)
	    log_info("%s: lmtp: lost connection in %s", log_id(s),
		     s->state == ST_DATA ? "DATA" : "transaction");
	s->state = ST_DONE;
	goto out;
    }
    if (n < 0) {
	if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
	    log_info("%s: lmtp: read error: %m", log_id(s));
	    s->state = ST_DONE;
	}
	goto out;
    }
    s->last_input_ms = time_now_ms();
    process_input(s);
    (void) check_shutdown(s);

out:
    (void) flush_output(s);
    return (s->state != ST_DONE);
}

/* lmtp_session_create - a session on a connected fd, greeting sent */

struct lmtp_session *lmtp_session_create(int fd,
				             const struct lmtp_handler *handler,
					         void *ctx,
				             const struct lmtp_limits *limits)
{
    struct lmtp_session *s = mem_zalloc(sizeof(*s));
    static const struct lmtp_limits no_limits;

    if (limits == 0)
	limits = &no_limits;
    s->fd = fd;
    s->handler = handler ? handler : &null_handler;
    s->ctx = ctx;
    s->max_message_size = limits->max_message_size ?
	limits->max_message_size : DEF_MAX_MESSAGE_SIZE;
    s->max_line_length = limits->max_line_length ?
	limits->max_line_length : DEF_MAX_LINE_LENGTH;
    if (s->max_line_length < MIN_MAX_LINE_LENGTH)
	s->max_line_length = MIN_MAX_LINE_LENGTH;
    s->max_recipients = limits->max_recipients ?
	limits->max_recipients : DEF_MAX_RECIPIENTS;
    s->idle_timeout = limits->idle_timeout > 0 ?
	limits->idle_timeout : DEF_IDLE_TIMEOUT;
    s->hostname = str_sanitize(limits->hostname && *limits->hostname ?
			       limits->hostname : DEF_HOSTNAME, 255);
    for (char *cp = s->hostname; *cp; cp++)
	if (*cp == ' ' || *cp == '?')
	    *cp = '_';
    s->rbuf = mem_alloc(READ_CHUNK);
    s->in = buf_create(4096, s->max_line_length + 2 + READ_CHUNK);
    s->out = buf_create(1024, 0);
    s->state = ST_COMMAND;
    s->dot = DOT_BOL;
    atomic_init(&s->shutdown, 0);
    s->last_input_ms = time_now_ms();
    reply(s, "220 %s LMTP postdesk ready", s->hostname);
    (void) flush_output(s);
    return (s);
}

/* lmtp_session_in_transaction - between MAIL and the end of DATA/RSET */

int     lmtp_session_in_transaction(const struct lmtp_session *s)
{
    return (s->in_tx);
}

/* lmtp_session_shutdown - end at the next idle point */

void    lmtp_session_shutdown(struct lmtp_session *s)
{
    atomic_store(&s->shutdown, 1);
}

/* lmtp_session_destroy - free a session; the fd stays open */

void    lmtp_session_destroy(struct lmtp_session **sp)
{
    struct lmtp_session *s;

    if (sp == 0 || (s = *sp) == 0)
	return;
    tx_reset(s);
    mem_free(s->rcpts);
    mem_free(s->hostname);
    mem_free(s->rbuf);
    buf_destroy(&s->in);
    buf_destroy(&s->out);
    mem_free(s);
    *sp = 0;
}
