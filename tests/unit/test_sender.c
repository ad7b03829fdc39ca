/*++
/* NAME
/*	test_sender 1
/* SUMMARY
/*	unit tests of the outbox sender against a scripted SMTP server
/* SYNOPSIS
/*	test_sender
/* DESCRIPTION
/*	Each test opens a fresh store in a mkdtemp(3) directory, delivers
/*	one ticket, adds outbox rows in a batch (store_outbox_add), and
/*	runs the sender (one round with notify_sender_round(), or the
/*	thread) against a small SMTP server of this file that runs in a
/*	thread on 127.0.0.1 (port 0). The server answers each RCPT by the
/*	recipient's local part ("temp..." 451, "bad..." 550, else 250)
/*	and the end of DATA with a scripted code, and records every
/*	transaction (the MAIL command as sent, recipients, data with
/*	dot-stuffing undone) and every session.
/*
/*	Checked: sent rows are SENT and the server got exactly the row's
/*	bytes (lines starting with dots included) with MAIL FROM:<> for
/*	the null sender; one SMTP session per round; 451 defers with the
/*	back-off and the row is due again only when the (injected) clock
/*	passes it; 550 fails the row and writes "mail failed" into the
/*	ticket's history; a refused connection defers; a row older than
/*	outbox_max_age fails; an IPv6 literal relay defers with a clear
/*	error; the log line has the relay and status and never the body;
/*	the thread sends after a wake and stops promptly when idle.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <conf.h>
#include <notify.h>
#include <store.h>
#include <util.h>

#include "sender_private.h"

#define BODY_MARKER	"SECRET-BODY-MARKER-7f3a"

/*
 * The scripted SMTP server.
 */
#define MAX_RX		64

struct rx {				/* one accepted transaction */
    char   *mail_cmd;			/* "MAIL FROM:<>" as received */
    char   *rcpts;			/* "a@x b@y" */
    char   *data;
    size_t  len;
};

static struct {
    int     fd;
    int     port;
    pthread_t thread;
    int     running;
    pthread_mutex_t lock;
    int     data_code;			/* answer at the end of DATA */
    int     temp_ok;			/* "temp..." recipients get 250 */
    int     offer_auth;			/* EHLO offers AUTH PLAIN LOGIN */
    int     require_auth;		/* MAIL before AUTH: 530 */
    int     auth_ok;			/* successful AUTH commands */
    int     sessions;
    struct rx rx[MAX_RX];
    int     n_rx;
} srv = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .data_code = 250};

struct conn {				/* buffered reader */
    int     fd;
    char    buf[8192];
    size_t  have;
};

/* While a session runs, at the MAIL command of its second transaction,
   the state of row probe_id as the store has it then (probe_seen: 0 not
   looked, 1 + state). */
static uint64_t probe_id;
static int probe_seen;
static int probe_row_state(uint64_t id);

/* conn_line - one line with its CRLF into out; 0 or -1 at EOF */

static int conn_line(struct conn *c, struct buf *out)
{
    buf_reset(out);
    for (;;) {
	char   *nl = memchr(c->buf, '\n', c->have);
	ssize_t n;

	if (nl) {
	    size_t  len = (size_t) (nl - c->buf) + 1;

	    buf_append(out, c->buf, len);
	    memmove(c->buf, c->buf + len, c->have - len);
	    c->have -= len;
	    return (0);
	}
	if (c->have == sizeof(c->buf)) {
	    buf_append(out, c->buf, c->have);
	    c->have = 0;
	}
	n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
	if (n <= 0)
	    return (-1);
	c->have += (size_t) n;
    }
}

/* say - write a reply */

static void say(int fd, const char *text)
{
    size_t  len = strlen(text);

    if (write(fd, text, len) != (ssize_t) len)
	return;
}

/* rcpt_code - the scripted answer for one recipient */

static const char *rcpt_answer(const char *addr)
{
    int     temp_ok;

    pthread_mutex_lock(&srv.lock);
    temp_ok = srv.temp_ok;
    pthread_mutex_unlock(&srv.lock);
    if (strncmp(addr, "temp", 4) == 0 && !temp_ok)
	return ("451 4.3.0 <temp>: try again later\r\n");
    if (strncmp(addr, "bad", 3) == 0)
	return ("550 5.1.1 <bad>: Recipient address rejected: User unknown\r\n");
    return ("250 2.1.5 Ok\r\n");
}

/* The only credentials the server takes: deskuser / s3cret. */
#define AUTH_PLAIN_B64	"AGRlc2t1c2VyAHMzY3JldA=="
#define AUTH_USER_B64	"ZGVza3VzZXI="
#define AUTH_PASS_B64	"czNjcmV0"

/* chomp - the line without CR LF (mem_free()) */

static char *chomp(const struct buf *line)
{
    return (mem_strndup(buf_data(line), strcspn(buf_data(line), "\r\n")));
}

/* serve_auth - AUTH PLAIN [resp] or AUTH LOGIN; 1 authenticated */

static int serve_auth(struct conn *c, struct buf *line, const char *cmd)
{
    int     ok = 0;
    char   *a = 0;
    char   *b = 0;

    if (strncasecmp(cmd, "AUTH PLAIN", 10) == 0) {
	if (cmd[10] == ' ') {
	    a = mem_strdup(cmd + 11);
	} else {
	    say(c->fd, "334 \r\n");
	    if (conn_line(c, line) == 0)
		a = chomp(line);
	}
	ok = a && strcmp(a, AUTH_PLAIN_B64) == 0;
    } else if (strncasecmp(cmd, "AUTH LOGIN", 10) == 0) {
	say(c->fd, "334 VXNlcm5hbWU6\r\n");
	if (conn_line(c, line) == 0) {
	    a = chomp(line);
	    say(c->fd, "334 UGFzc3dvcmQ6\r\n");
	    if (conn_line(c, line) == 0)
		b = chomp(line);
	}
	ok = a && b && strcmp(a, AUTH_USER_B64) == 0 && strcmp(b, AUTH_PASS_B64) == 0;
    }
    mem_free(a);
    mem_free(b);
    say(c->fd, ok ? "235 2.7.0 Authentication successful\r\n" :
	"535 5.7.8 Error: authentication failed\r\n");
    return (ok);
}

/* serve_data - read DATA until ".", undo dot-stuffing; 0 or -1 */

static int serve_data(struct conn *c, struct buf *line, struct buf *data)
{
    buf_reset(data);
    for (;;) {
	if (conn_line(c, line) < 0)
	    return (-1);
	if (buf_len(line) == 3 && memcmp(buf_data(line), ".\r\n", 3) == 0)
	    return (0);
	if (buf_data(line)[0] == '.')
	    buf_append(data, buf_data(line) + 1, buf_len(line) - 1);
	else
	    buf_append(data, buf_data(line), buf_len(line));
    }
}

/* serve_session - one SMTP session */

static void serve_session(int fd)
{
    struct conn *c = mem_zalloc(sizeof(*c));
    struct buf *line = buf_create(256, 0);
    struct buf *data = buf_create(4096, 0);
    struct buf *rcpts = buf_create(256, 0);
    char   *mail_cmd = 0;
    struct timeval tv = {10, 0};
    int     authed = 0;
    int     offer_auth;
    int     require_auth;

    c->fd = fd;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    pthread_mutex_lock(&srv.lock);
    srv.sessions++;
    offer_auth = srv.offer_auth;
    require_auth = srv.require_auth;
    pthread_mutex_unlock(&srv.lock);
    say(fd, "220 test.example ESMTP scripted\r\n");
    while (conn_line(c, line) == 0) {
	char   *cmd = mem_strndup(buf_data(line), strcspn(buf_data(line), "\r\n"));

	if (strncasecmp(cmd, "EHLO", 4) == 0) {
	    say(fd, "250-test.example\r\n250-8BITMIME\r\n");
	    if (offer_auth)
		say(fd, "250-AUTH PLAIN LOGIN\r\n");
	    say(fd, "250-ENHANCEDSTATUSCODES\r\n250 SIZE 10240000\r\n");
	} else if (strncasecmp(cmd, "AUTH ", 5) == 0 && offer_auth && !authed) {
	    if ((authed = serve_auth(c, line, cmd)) != 0) {
		pthread_mutex_lock(&srv.lock);
		srv.auth_ok++;
		pthread_mutex_unlock(&srv.lock);
	    }
	} else if (strncasecmp(cmd, "MAIL FROM:", 10) == 0 && require_auth && !authed) {
	    say(fd, "530 5.7.0 Authentication required\r\n");
	} else if (strncasecmp(cmd, "HELO", 4) == 0 || strncasecmp(cmd, "NOOP", 4) == 0) {
	    say(fd, "250 2.0.0 Ok\r\n");
	} else if (strncasecmp(cmd, "MAIL FROM:", 10) == 0) {
	    pthread_mutex_lock(&srv.lock);
	    int     probe = probe_id != 0 && probe_seen == 0 && srv.n_rx >= 1;

	    pthread_mutex_unlock(&srv.lock);
	    if (probe)
		probe_seen = 1 + probe_row_state(probe_id);
	    mem_free(mail_cmd);
	    mail_cmd = mem_strdup(cmd);
	    buf_reset(rcpts);
	    say(fd, "250 2.1.0 Ok\r\n");
	} else if (strncasecmp(cmd, "RCPT TO:<", 9) == 0) {
	    const char *answer = rcpt_answer(cmd + 9);

	    if (answer[0] == '2') {
		char   *end = strchr(cmd + 9, '>');

		if (buf_len(rcpts))
		    buf_append_char(rcpts, ' ');
		buf_append(rcpts, cmd + 9, end ? (size_t) (end - cmd - 9) : strlen(cmd + 9));
	    }
	    say(fd, answer);
	} else if (strncasecmp(cmd, "DATA", 4) == 0) {
	    if (buf_len(rcpts) == 0) {
		say(fd, "554 5.5.1 Error: no valid recipients\r\n");
	    } else {
		int     code;

		say(fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
		if (serve_data(c, line, data) < 0) {
		    mem_free(cmd);
		    break;
		}
		pthread_mutex_lock(&srv.lock);
		code = srv.data_code;
		if (code == 250 && srv.n_rx < MAX_RX) {
		    struct rx *r = srv.rx + srv.n_rx++;

		    r->mail_cmd = mem_strdup(mail_cmd ? mail_cmd : "");
		    r->rcpts = mem_strdup(buf_data(rcpts));
		    r->len = buf_len(data);
		    r->data = mem_memdup(buf_data(data), buf_len(data) + 1);
		}
		pthread_mutex_unlock(&srv.lock);
		say(fd, code == 250 ? "250 2.0.0 Ok: queued as TEST1\r\n" :
		    code == 451 ? "451 4.3.0 Error: queue file write error\r\n" :
		    "554 5.7.1 Error: content rejected\r\n");
	    }
	    buf_reset(rcpts);
	} else if (strncasecmp(cmd, "RSET", 4) == 0) {
	    buf_reset(rcpts);
	    say(fd, "250 2.0.0 Ok\r\n");
	} else if (strncasecmp(cmd, "QUIT", 4) == 0) {
	    say(fd, "221 2.0.0 Bye\r\n");
	    mem_free(cmd);
	    break;
	} else {
	    say(fd, "502 5.5.2 Error: command not recognized\r\n");
	}
	mem_free(cmd);
    }
    mem_free(mail_cmd);
    buf_destroy(&line);
    buf_destroy(&data);
    buf_destroy(&rcpts);
    mem_free(c);
    close(fd);
}

/* server_main - accept sessions one after the other until stopped */

static void *server_main(void *arg)
{
    (void) arg;
    for (;;) {
	struct pollfd pfd = {srv.fd, POLLIN, 0};
	int     running;
	int     fd;

	pthread_mutex_lock(&srv.lock);
	running = srv.running;
	pthread_mutex_unlock(&srv.lock);
	if (!running)
	    break;
	if (poll(&pfd, 1, 100) <= 0)
	    continue;
	if ((fd = accept(srv.fd, 0, 0)) >= 0)
	    serve_session(fd);
    }
    return (0);
}

/* server_start - listen on 127.0.0.1:0 */

static int server_start(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int     one = 1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((srv.fd = socket(AF_INET, SOCK_STREAM, 0)) < 0
	|| setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
	|| bind(srv.fd, (struct sockaddr *) &sin, sizeof(sin)) < 0
	|| listen(srv.fd, 8) < 0
	|| getsockname(srv.fd, (struct sockaddr *) &sin, &len) < 0)
	return (-1);
    srv.port = ntohs(sin.sin_port);
    srv.running = 1;
    return (pthread_create(&srv.thread, 0, server_main, 0) == 0 ? 0 : -1);
}

/* server_stop - stop the thread, close */

static void server_stop(void)
{
    pthread_mutex_lock(&srv.lock);
    srv.running = 0;
    pthread_mutex_unlock(&srv.lock);
    pthread_join(srv.thread, 0);
    close(srv.fd);
}

/* server_reset - forget transactions and restore the default script */

static void server_reset(void)
{
    pthread_mutex_lock(&srv.lock);
    for (int i = 0; i < srv.n_rx; i++) {
	mem_free(srv.rx[i].mail_cmd);
	mem_free(srv.rx[i].rcpts);
	mem_free(srv.rx[i].data);
    }
    srv.n_rx = 0;
    srv.sessions = 0;
    srv.data_code = 250;
    srv.temp_ok = 0;
    srv.offer_auth = 0;
    srv.require_auth = 0;
    srv.auth_ok = 0;
    pthread_mutex_unlock(&srv.lock);
}

/* closed_port - a loopback port where nothing listens */

static int closed_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int     fd = socket(AF_INET, SOCK_STREAM, 0);
    int     port = -1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0
	&& getsockname(fd, (struct sockaddr *) &sin, &len) == 0)
	port = ntohs(sin.sin_port);
    if (fd >= 0)
	close(fd);
    return (port);
}

/*
 * Store, configuration, clock, log capture.
 */
static char tmpdir[128];
static int store_seq;
static struct store *store;
static struct conf *conf_ok;		/* relay = the scripted server */
static struct conf *conf_down;		/* relay = a closed port */
static struct conf *conf_v6;		/* relay = [::1]:port */
static struct conf *conf_auth;		/* conf_ok with relay_user */
static char pw_file[256];		/* its relay_password_file */
static struct conf *conf_current;	/* what conf_get() hands out */
static char number[32];			/* the ticket of the current store */
static time_t fake_now;			/* 0: the real clock */
static struct buf *logged;
static pthread_mutex_t logged_lock = PTHREAD_MUTEX_INITIALIZER;

static time_t test_clock(void)
{
    return (fake_now ? fake_now : time(0));
}

static struct conf *test_conf_get(void)
{
    return (conf_ref(conf_current));
}

static void capture(enum log_level level, const char *line, void *context)
{
    (void) level;
    (void) context;
    pthread_mutex_lock(&logged_lock);
    buf_append_str(logged, line);
    buf_append_char(logged, '\n');
    pthread_mutex_unlock(&logged_lock);
}

static int write_file(const char *path, const char *text)
{
    FILE   *fp = fopen(path, "w");

    if (fp == 0)
	return (-1);
    fputs(text, fp);
    return (fclose(fp));
}

static const char conf_template[] =
"[postdesk]\n"
"domain = desk.example.org\n"
"state_dir = %s/state\n"
"listen = unix:%s/lmtp.sock\n"
"milter_listen = inet:127.0.0.1:18891\n"
"relay = %s\n"
"secret_file = %s/secret\n"
"command_localpart = desk\n"
"ticket_hook = Ticket#\n"
"system_id = 10\n"
"language = fr\n"
"outbox_max_age = 5\n"
"%s"
"\n"
"[queue Helpdesk]\n"
"addresses = helpdesk@example.org\n"
"group = helpdesk\n"
"default_type = Incident\n";

/* load_conf - a configuration with this relay (and more keys) */

static struct conf *load_conf(const char *name, const char *relay,
			              const char *more)
{
    char   *path = mem_printf("%s/%s.conf", tmpdir, name);
    char   *text = mem_printf(conf_template, tmpdir, tmpdir, relay, tmpdir, more);
    char   *errors = 0;
    struct conf *c = 0;

    if (write_file(path, text) == 0 && (c = conf_load(path, &errors)) == 0) {
	fprintf(stderr, "conf_load %s: %s\n", name, errors ? errors : "?");
	mem_free(errors);
    }
    mem_free(path);
    mem_free(text);
    return (c);
}

/* deliver_ticket - one new ticket in the current store */

static int deliver_ticket(void)
{
    static const char raw[] = "From: marie@example.org\r\nTo: helpdesk@example.org\r\n"
    "Subject: Imprimante\r\nMessage-ID: <req1@example.org>\r\n\r\nBonjour\r\n";
    struct store_message m;
    struct store_result res;
    struct store_batch *batch = 0;
    int     rc;

    memset(&m, 0, sizeof(m));
    memset(&res, 0, sizeof(res));
    m.log_id = "TEST";
    m.recipient = "helpdesk@example.org";
    m.queue = "Helpdesk";
    m.default_type = "Incident";
    m.sender = "marie@example.org";
    m.from = "marie@example.org";
    m.from_header = "Marie <marie@example.org>";
    m.to = "helpdesk@example.org";
    m.cc = "";
    m.subject = "Imprimante";
    m.title = "Imprimante";
    m.message_id = "req1@example.org";
    m.content_language = "";
    m.body = "Bonjour\n";
    m.raw = raw;
    m.raw_len = sizeof(raw) - 1;
    m.hash[0] = (unsigned char) store_seq;
    m.received = time(0);
    if ((rc = store_batch_begin(store, &batch)) != STORE_OK)
	return (-1);
    if ((rc = store_deliver(batch, conf_ok, &m, &res)) != STORE_OK) {
	store_batch_abort(&batch);
	return (-1);
    }
    if (store_batch_commit(&batch) != STORE_OK)
	return (-1);
    memcpy(number, res.number, sizeof(number));
    return (0);
}

/* fresh_store - a new, empty store with one ticket */

static int fresh_store(void)
{
    char   *dir = mem_printf("%s/store%d", tmpdir, ++store_seq);
    char   *error = 0;
    int     rc;

    if (store)
	store_close(&store);
    mkdir(dir, 0700);
    rc = store_open(dir, &store, &error);
    if (rc != STORE_OK)
	fprintf(stderr, "store_open: %s\n", error ? error : "?");
    mem_free(error);
    mem_free(dir);
    fake_now = 0;
    server_reset();
    pthread_mutex_lock(&logged_lock);
    if (getenv("TEST_SENDER_VERBOSE"))
	fputs(buf_data(logged), stderr);
    buf_reset(logged);
    pthread_mutex_unlock(&logged_lock);
    return (rc == STORE_OK ? deliver_ticket() : -1);
}

/* message - a composed message with dot lines, 8-bit text (mem_free()) */

static char *message(const char *to, const char *id, size_t *len_r)
{
    char   *m = mem_printf("From: Helpdesk <helpdesk@example.org>\r\n"
			   "To: %s\r\n"
			   "Subject: [Ticket#%s] Imprimante\r\n"
			   "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
			   "Message-ID: <%s@desk.example.org>\r\n"
			   "Auto-Submitted: auto-replied\r\n"
			   "X-Postdesk-Loop: desk.example.org\r\n"
			   "MIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n"
			   "\r\n"
			   "Bonjour, votre demande a \xc3\xa9t\xc3\xa9 enregistr\xc3\xa9" "e.\r\n"
			   ".\r\n"
			   "..deux points\r\n"
			   ". un point\r\n"
			   BODY_MARKER "\r\n", to, number, id);

    *len_r = strlen(m);
    return (m);
}

/* add_row - one outbox row in its own batch; 0 and the id */

static int add_row(const char *kind, const char *env_from,
		           const char *const *rcpts, size_t n_rcpts,
		           const char *id, uint64_t *id_r)
{
    struct store_outbox_mail mail;
    struct store_batch *batch = 0;
    size_t  len;
    char   *data = message(rcpts[0], id, &len);
    char   *msgid = mem_printf("%s@desk.example.org", id);
    int     rc;

    memset(&mail, 0, sizeof(mail));
    mail.number = number;
    mail.kind = kind;
    mail.envelope_from = env_from;
    mail.recipients = rcpts;
    mail.n_recipients = n_rcpts;
    mail.message_id = msgid;
    mail.data = data;
    mail.len = len;
    rc = store_batch_begin(store, &batch);
    if (rc == STORE_OK && (rc = store_outbox_add(batch, &mail, id_r)) != STORE_OK)
	store_batch_abort(&batch);
    if (rc == STORE_OK)
	rc = store_batch_commit(&batch);
    mem_free(data);
    mem_free(msgid);
    return (rc == STORE_OK ? 0 : -1);
}

#define ADD1(kind, from, to, id, idp) \
    add_row((kind), (from), (const char *const[]) {(to)}, 1, (id), (idp))

/* row - a copy of one row's listing (state etc.); 0 or -1 */

struct row_view {
    int     found;
    enum store_outbox_state state;
    uint32_t attempts;
    time_t  next_attempt;
    time_t  created;
    char    last_error[512];
};

static struct row_view row(uint64_t id)
{
    struct store_outbox_item *items = 0;
    size_t  n = 0;
    struct row_view v;

    memset(&v, 0, sizeof(v));
    if (store_outbox_list(store, 1, &items, &n) != STORE_OK)
	return (v);
    for (size_t i = 0; i < n; i++) {
	if (items[i].id != id)
	    continue;
	v.found = 1;
	v.state = items[i].state;
	v.attempts = items[i].attempts;
	v.next_attempt = items[i].next_attempt;
	v.created = items[i].created;
	snprintf(v.last_error, sizeof(v.last_error), "%s",
		 items[i].last_error ? items[i].last_error : "");
    }
    store_outbox_items_free(&items, n);
    return (v);
}

static int probe_row_state(uint64_t id)
{
    struct row_view v = row(id);

    return (v.found ? (int) v.state : -2);
}

/* rx_count, sessions - what the server saw */

static int rx_count(void)
{
    int     n;

    pthread_mutex_lock(&srv.lock);
    n = srv.n_rx;
    pthread_mutex_unlock(&srv.lock);
    return (n);
}

static int sessions(void)
{
    int     n;

    pthread_mutex_lock(&srv.lock);
    n = srv.sessions;
    pthread_mutex_unlock(&srv.lock);
    return (n);
}

/* round_ok - one round; the number of rows attempted */

static int round_with(struct conf *c, struct notify_sender_counts *counts)
{
    struct notify_sender_counts dummy;

    return (notify_sender_round(store, c, counts ? counts : &dummy));
}

/* logged_has - the captured log contains text */

static int logged_has(const char *text)
{
    int     has;

    pthread_mutex_lock(&logged_lock);
    has = strstr(buf_data(logged), text) != 0;
    pthread_mutex_unlock(&logged_lock);
    return (has);
}

/*
 * Tests.
 */
static void test_backoff(void)
{
    /* 1, 2, 4, 8, 16, 32 minutes, then an hour, never more. */
    CU_ASSERT_EQUAL(notify_sender_backoff(1), 60);
    CU_ASSERT_EQUAL(notify_sender_backoff(2), 120);
    CU_ASSERT_EQUAL(notify_sender_backoff(6), 1920);
    CU_ASSERT_EQUAL(notify_sender_backoff(7), 3600);
    CU_ASSERT_EQUAL(notify_sender_backoff(4000000000U), 3600);
}

static void test_sent_exact_bytes(void)
{
    uint64_t id1 = 0, id2 = 0;
    struct notify_sender_counts counts;
    size_t  len;
    char   *expect;
    struct row_view v;

    CU_ASSERT_FATAL(fresh_store() == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "ack1", &id1) == 0);
    CU_ASSERT_FATAL(add_row("new-ticket", "helpdesk@example.org",
			    (const char *const[]) {"alice@example.org",
			    "bob@example.org"}, 2, "nt1", &id2) == 0);
    probe_id = id1;
    probe_seen = 0;
    CU_ASSERT_EQUAL(round_with(conf_ok, &counts), 2);
    /* The first row was SENT in the store before the second was sent. */
    CU_ASSERT_EQUAL(probe_seen, 1 + (int) STORE_OUTBOX_SENT);
    probe_id = 0;
    CU_ASSERT_EQUAL(counts.sent, 2);
    CU_ASSERT_EQUAL(counts.deferred + counts.failed, 0);
    /* Both rows in one SMTP session. */
    CU_ASSERT_EQUAL(sessions(), 1);
    v = row(id1);
    CU_ASSERT(v.found && v.state == STORE_OUTBOX_SENT);
    CU_ASSERT_EQUAL(v.attempts, 1);
    CU_ASSERT(row(id2).state == STORE_OUTBOX_SENT);
    CU_ASSERT_FATAL(rx_count() == 2);

    /* The null reverse path, the recipient, and the bytes as stored. */
    CU_ASSERT_STRING_EQUAL(srv.rx[0].mail_cmd, "MAIL FROM:<>");
    CU_ASSERT_STRING_EQUAL(srv.rx[0].rcpts, "marie@example.org");
    expect = message("marie@example.org", "ack1", &len);
    CU_ASSERT_EQUAL(srv.rx[0].len, len);
    CU_ASSERT(srv.rx[0].len == len && memcmp(srv.rx[0].data, expect, len) == 0);
    mem_free(expect);

    CU_ASSERT_STRING_EQUAL(srv.rx[1].mail_cmd, "MAIL FROM:<helpdesk@example.org>");
    CU_ASSERT_STRING_EQUAL(srv.rx[1].rcpts, "alice@example.org bob@example.org");
    expect = message("alice@example.org", "nt1", &len);
    CU_ASSERT(srv.rx[1].len == len && memcmp(srv.rx[1].data, expect, len) == 0);
    mem_free(expect);

    /* Sent rows are not due again. */
    CU_ASSERT_EQUAL(round_with(conf_ok, 0), 0);
    CU_ASSERT_EQUAL(rx_count(), 2);

    /* One log line per attempt, with relay and status; never the body. */
    CU_ASSERT(logged_has("ack "));
    CU_ASSERT(logged_has("to=<marie@example.org>"));
    CU_ASSERT(logged_has(", relay=127.0.0.1:"));
    CU_ASSERT(logged_has("status=sent (250 2.0.0 Ok: queued as TEST1)"));
    CU_ASSERT(!logged_has(BODY_MARKER));
}

static void test_tempfail_then_due(void)
{
    uint64_t id = 0;
    struct notify_sender_counts counts;
    struct row_view v;
    time_t  t0 = time(0) + 5;

    CU_ASSERT_FATAL(fresh_store() == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "temp@example.org", "t1", &id) == 0);
    fake_now = t0;
    CU_ASSERT_EQUAL(round_with(conf_ok, &counts), 1);
    CU_ASSERT_EQUAL(counts.deferred, 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_PENDING);
    CU_ASSERT_EQUAL(v.attempts, 1);
    CU_ASSERT(v.next_attempt > t0);
    CU_ASSERT_EQUAL(v.next_attempt, t0 + notify_sender_backoff(1));
    CU_ASSERT(strstr(v.last_error, "451") != 0);
    CU_ASSERT(logged_has("status=deferred (451 4.3.0"));
    CU_ASSERT_EQUAL(rx_count(), 0);

    /* Not due before the back-off has passed. */
    fake_now = t0 + 30;
    CU_ASSERT_EQUAL(round_with(conf_ok, 0), 0);
    CU_ASSERT_EQUAL(row(id).attempts, 1);

    /* Second failure: the back-off doubles. */
    fake_now = t0 + 61;
    CU_ASSERT_EQUAL(round_with(conf_ok, 0), 1);
    v = row(id);
    CU_ASSERT_EQUAL(v.attempts, 2);
    CU_ASSERT_EQUAL(v.next_attempt, t0 + 61 + notify_sender_backoff(2));

    /* The server recovers; once due, the row goes out. */
    pthread_mutex_lock(&srv.lock);
    srv.temp_ok = 1;
    pthread_mutex_unlock(&srv.lock);
    fake_now = t0 + 61 + 121;
    CU_ASSERT_EQUAL(round_with(conf_ok, &counts), 1);
    CU_ASSERT_EQUAL(counts.sent, 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_SENT);
    CU_ASSERT_EQUAL(v.attempts, 3);
    CU_ASSERT_EQUAL(rx_count(), 1);
}

static void test_permfail_history(void)
{
    uint64_t id = 0;
    uint64_t ok_id = 0;
    struct notify_sender_counts counts;
    struct store_ticket *t = 0;
    struct row_view v;
    int     seen = 0;

    CU_ASSERT_FATAL(fresh_store() == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "bad@example.org", "p1", &id) == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "good@example.org", "p2", &ok_id) == 0);
    CU_ASSERT_EQUAL(round_with(conf_ok, &counts), 2);
    CU_ASSERT_EQUAL(counts.failed, 1);
    CU_ASSERT_EQUAL(counts.sent, 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_FAILED);
    CU_ASSERT(strstr(v.last_error, "550 5.1.1") != 0);
    CU_ASSERT(strstr(v.last_error, "User unknown") != 0);
    /* The rejection did not stop the next row of the same session. */
    CU_ASSERT(row(ok_id).state == STORE_OUTBOX_SENT);
    CU_ASSERT(logged_has("status=failed (550 5.1.1"));

    CU_ASSERT_FATAL(store_ticket_get(store, number, &t) == STORE_OK);
    for (size_t i = 0; i < t->n_history; i++) {
	const struct store_history *h = t->history + i;

	if ((h->what && strstr(h->what, "mail failed"))
	    || (h->new_value && strstr(h->new_value, "mail failed")))
	    seen = 1;
    }
    CU_ASSERT(seen);
    store_ticket_free(&t);

    /* A failed row is not due again. */
    CU_ASSERT_EQUAL(round_with(conf_ok, 0), 0);
}

static void test_data_rejected(void)
{
    uint64_t id = 0;
    struct row_view v;

    CU_ASSERT_FATAL(fresh_store() == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "x@example.org", "d1", &id) == 0);
    pthread_mutex_lock(&srv.lock);
    srv.data_code = 451;
    pthread_mutex_unlock(&srv.lock);
    CU_ASSERT_EQUAL(round_with(conf_ok, 0), 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_PENDING);
    CU_ASSERT(strstr(v.last_error, "451 4.3.0") != 0);

    pthread_mutex_lock(&srv.lock);
    srv.data_code = 554;
    pthread_mutex_unlock(&srv.lock);
    fake_now = time(0) + 3600;
    CU_ASSERT_EQUAL(round_with(conf_ok, 0), 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_FAILED);
    CU_ASSERT(strstr(v.last_error, "554 5.7.1") != 0);
    CU_ASSERT_EQUAL(rx_count(), 0);
}

static void test_relay_down(void)
{
    uint64_t id = 0;
    struct notify_sender_counts counts;
    struct row_view v;

    CU_ASSERT_FATAL(fresh_store() == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "r1", &id) == 0);
    CU_ASSERT_EQUAL(round_with(conf_down, &counts), 1);
    CU_ASSERT_EQUAL(counts.deferred, 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_PENDING);
    CU_ASSERT_EQUAL(v.attempts, 1);
    CU_ASSERT(v.last_error[0] != 0);
    CU_ASSERT(logged_has("status=deferred"));

    /* Relay back (the configuration points at a live server again). */
    fake_now = time(0) + 61;
    CU_ASSERT_EQUAL(round_with(conf_ok, &counts), 1);
    CU_ASSERT_EQUAL(counts.sent, 1);
    CU_ASSERT(row(id).state == STORE_OUTBOX_SENT);
    CU_ASSERT_EQUAL(rx_count(), 1);
}

static void test_max_age(void)
{
    uint64_t id = 0;
    struct notify_sender_counts counts;
    struct row_view v;

    CU_ASSERT_FATAL(fresh_store() == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "m1", &id) == 0);
    /* Four days later: still retried. */
    fake_now = time(0) + 4 * 86400;
    CU_ASSERT_EQUAL(round_with(conf_down, &counts), 1);
    CU_ASSERT(row(id).state == STORE_OUTBOX_PENDING);
    /* Past outbox_max_age (5 days): given up. */
    fake_now = time(0) + 5 * 86400 + 10;
    CU_ASSERT_EQUAL(round_with(conf_down, &counts), 1);
    CU_ASSERT_EQUAL(counts.failed, 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_FAILED);
    CU_ASSERT(strstr(v.last_error, "gave up after 5 days") != 0);
}

static void test_ipv6_literal(void)
{
    uint64_t id = 0;
    struct row_view v;

    CU_ASSERT_FATAL(fresh_store() == 0);
    CU_ASSERT_FATAL(conf_v6 != 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "v1", &id) == 0);
    CU_ASSERT_EQUAL(round_with(conf_v6, 0), 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_PENDING);
    CU_ASSERT(strstr(v.last_error, "IPv6") != 0);
    CU_ASSERT_EQUAL(sessions(), 0);
}

static void test_auth(void)
{
    uint64_t id = 0;
    uint64_t id2 = 0;
    struct row_view v;

    CU_ASSERT_FATAL(fresh_store() == 0);
    pthread_mutex_lock(&srv.lock);
    srv.offer_auth = 1;
    srv.require_auth = 1;
    pthread_mutex_unlock(&srv.lock);
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "au1", &id) == 0);

    /* Without credentials the relay refuses MAIL: a relay problem, the
       row waits (it is not the mail's fault). */
    CU_ASSERT_EQUAL(round_with(conf_ok, 0), 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_PENDING);
    CU_ASSERT(strstr(v.last_error, "530 5.7.0") != 0);

    /* With relay_user and the password file: authenticated, sent. */
    fake_now = time(0) + 61;
    CU_ASSERT_EQUAL(round_with(conf_auth, 0), 1);
    CU_ASSERT(row(id).state == STORE_OUTBOX_SENT);
    CU_ASSERT_EQUAL(srv.auth_ok, 1);
    CU_ASSERT_EQUAL(rx_count(), 1);

    /* The password is read at each session: a wrong one fails AUTH. */
    CU_ASSERT_FATAL(write_file(pw_file, "wrong\n") == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "au2", &id2) == 0);
    CU_ASSERT_EQUAL(round_with(conf_auth, 0), 1);
    v = row(id2);
    CU_ASSERT(v.state == STORE_OUTBOX_PENDING);
    CU_ASSERT_EQUAL(srv.auth_ok, 1);
    CU_ASSERT(!logged_has("wrong"));
    CU_ASSERT(!logged_has("s3cret"));
    CU_ASSERT_FATAL(write_file(pw_file, "s3cret\n") == 0);
    fake_now = time(0) + 200;
    CU_ASSERT_EQUAL(round_with(conf_auth, 0), 1);
    CU_ASSERT(row(id2).state == STORE_OUTBOX_SENT);
    CU_ASSERT_EQUAL(srv.auth_ok, 2);

    /* An unreadable password file: the row waits, with a clear error. */
    CU_ASSERT_FATAL(unlink(pw_file) == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "au3", &id) == 0);
    CU_ASSERT_EQUAL(round_with(conf_auth, 0), 1);
    v = row(id);
    CU_ASSERT(v.state == STORE_OUTBOX_PENDING);
    CU_ASSERT(strstr(v.last_error, "relay_password_file") != 0);
    write_file(pw_file, "s3cret\n");
}

/* wait_state - poll a row until it has state, up to seconds */

static int wait_state(uint64_t id, enum store_outbox_state state, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
	struct row_view v = row(id);

	if (v.found && v.state == state)
	    return (1);
	usleep(50000);
    }
    return (0);
}

static void test_thread_wake_and_stop(void)
{
    struct notify_sender *ns;
    uint64_t id = 0;
    uint64_t t_start;

    CU_ASSERT_FATAL(fresh_store() == 0);
    conf_current = conf_ok;
    ns = notify_sender_start(store, test_conf_get);
    CU_ASSERT_FATAL(ns != 0);
    /* Let it go idle (an empty outbox: a 60 s wait). */
    for (int i = 0; i < 100 && notify_sender_rounds(ns) == 0; i++)
	usleep(20000);
    CU_ASSERT(notify_sender_rounds(ns) >= 1);

    /* A row committed, then a wake: sent at once, not after 60 s. */
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "w1", &id) == 0);
    t_start = time_now_ms();
    notify_sender_wake(ns);
    CU_ASSERT(wait_state(id, STORE_OUTBOX_SENT, 10));
    CU_ASSERT(time_now_ms() - t_start < 5000);
    CU_ASSERT_EQUAL(rx_count(), 1);

    /* Idle again: stop returns promptly. */
    usleep(100000);
    t_start = time_now_ms();
    notify_sender_stop(&ns);
    CU_ASSERT(ns == 0);
    CU_ASSERT(time_now_ms() - t_start < 2000);
}

static void test_thread_retries_on_its_own(void)
{
    struct notify_sender *ns;
    uint64_t id = 0;

    /* A deferred row is picked up again when its time comes, without a
       wake: the thread sleeps until store_outbox_next_time(). */
    CU_ASSERT_FATAL(fresh_store() == 0);
    CU_ASSERT_FATAL(ADD1("ack", "", "marie@example.org", "a1", &id) == 0);
    fake_now = time(0);
    CU_ASSERT_EQUAL(round_with(conf_down, 0), 1);
    CU_ASSERT(row(id).state == STORE_OUTBOX_PENDING);
    /* The clock is past the back-off; the thread finds the row due. */
    fake_now = time(0) + 61;
    conf_current = conf_ok;
    ns = notify_sender_start(store, test_conf_get);
    CU_ASSERT_FATAL(ns != 0);
    CU_ASSERT(wait_state(id, STORE_OUTBOX_SENT, 10));
    notify_sender_stop(&ns);
}

/*
 * Runner.
 */
static int rm_entry(const char *path, const struct stat *st, int flag,
		            struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return (remove(path));
}

static int suite_init(void)
{
    char   *relay;
    char   *path;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_sender.XXXXXX");
    if (mkdtemp(tmpdir) == 0)
	return (-1);
    path = mem_printf("%s/secret", tmpdir);
    write_file(path, "0123456789abcdef0123456789abcdef\n");
    chmod(path, 0600);
    mem_free(path);
    if (server_start() < 0)
	return (-1);
    relay = mem_printf("127.0.0.1:%d", srv.port);
    conf_ok = load_conf("ok", relay, "");
    snprintf(pw_file, sizeof(pw_file), "%s/relay-password", tmpdir);
    write_file(pw_file, "s3cret\n");
    chmod(pw_file, 0600);
    path = mem_printf("relay_user = deskuser\nrelay_password_file = %s\n", pw_file);
    conf_auth = load_conf("auth", relay, path);
    mem_free(path);
    mem_free(relay);
    relay = mem_printf("127.0.0.1:%d", closed_port());
    conf_down = load_conf("down", relay, "");
    mem_free(relay);
    relay = mem_printf("[::1]:%d", srv.port);
    conf_v6 = load_conf("v6", relay, "");
    mem_free(relay);
    logged = buf_create(4096, 0);
    log_set_capture(capture, 0);
    notify_sender_set_clock(test_clock);
    return (conf_ok && conf_down && conf_auth ? 0 : -1);
}

static int suite_clean(void)
{
    log_set_capture(0, 0);
    if (getenv("TEST_SENDER_VERBOSE"))
	fputs(buf_data(logged), stderr);
    notify_sender_set_clock(0);
    if (store)
	store_close(&store);
    server_reset();
    server_stop();
    conf_unref(&conf_ok);
    conf_unref(&conf_down);
    conf_unref(&conf_auth);
    if (conf_v6)
	conf_unref(&conf_v6);
    buf_destroy(&logged);
    if (tmpdir[0] && getenv("TEST_SENDER_KEEP") == 0)
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return (0);
}

int     main(void)
{
    CU_pSuite s;
    CU_ErrorCode rc;
    unsigned bad;

    signal(SIGPIPE, SIG_IGN);
    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    s = CU_add_suite("sender", suite_init, suite_clean);
    CU_add_test(s, "back-off doubles up to an hour", test_backoff);
    CU_add_test(s, "sent rows: exact bytes, null sender, one session",
		test_sent_exact_bytes);
    CU_add_test(s, "451 defers with back-off, due again later, then sent",
		test_tempfail_then_due);
    CU_add_test(s, "550 fails the row and writes ticket history",
		test_permfail_history);
    CU_add_test(s, "data refused: 451 defers, 554 fails", test_data_rejected);
    CU_add_test(s, "relay down defers, relay up sends", test_relay_down);
    CU_add_test(s, "older than outbox_max_age fails", test_max_age);
    CU_add_test(s, "IPv6 literal relay is refused clearly", test_ipv6_literal);
    CU_add_test(s, "AUTH with relay_user, password read per session", test_auth);
    CU_add_test(s, "thread: wake sends now, stop while idle is prompt",
		test_thread_wake_and_stop);
    CU_add_test(s, "thread: deferred row retried when due",
		test_thread_retries_on_its_own);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return (rc != CUE_SUCCESS || bad) ? 1 : 0;
}
