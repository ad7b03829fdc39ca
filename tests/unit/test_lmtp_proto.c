/*++
/* NAME
/*	test_lmtp_proto 1
/* SUMMARY
/*	unit tests of the LMTP protocol engine (lmtpd/lmtp_proto.c)
/* SYNOPSIS
/*	test_lmtp_proto
/* DESCRIPTION
/*	CUnit runner registered with ctest. Each test puts a session on
/*	one end of a socketpair(AF_UNIX, SOCK_STREAM), writes a script to
/*	the other (non-blocking) end and reads the replies, stepping the
/*	session with lmtp_session_step() in the same thread: no threads,
/*	and every wait has a deadline so a failing test cannot hang.
/*
/*	The exchanges are table-driven; each runs once with the whole
/*	script written at once (in chunks under the socket buffer size)
/*	and once one byte at a time, which also splits every CRLF across
/*	reads. The replies are compared exactly.
/*
/*	The fake handler records its calls; its rcpt refuses addresses
/*	starting with "reject" (550 5.1.1) and "plain" (550 without an
/*	enhanced code); its data answers 250 2.0.0, 451 4.3.0 for
/*	recipients starting with "temp", and nothing for "forget".
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <util.h>
#include <lmtp.h>

#define HOST	"mx.test"
#define GREET	"220 " HOST " LMTP postdesk ready\r\n"
#define LHLO_R(size) \
    "250-" HOST "\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n" \
    "250-8BITMIME\r\n250-SIZE " size "\r\n" \
    "250 XFORWARD NAME ADDR PROTO HELO IDENT\r\n"
#define LHLO_OK	LHLO_R("10000")
#define MAIL_OK	"250 2.1.0 Ok\r\n"
#define RCPT_OK	"250 2.1.5 Ok\r\n"
#define GO_AHEAD "354 End data with <CR><LF>.<CR><LF>\r\n"
#define DELIVERED "250 2.0.0 Delivered\r\n"
#define BYE	"221 2.0.0 Bye\r\n"
#define OK	"250 2.0.0 Ok\r\n"
#define S(x)	x, sizeof(x) - 1

#define DEADLINE_MS 3000

/* The fake handler. */

struct fake {
    int     mail_calls;
    int     rcpt_calls;
    int     data_calls;
    char    ids[8][16];			/* env->id at each MAIL */
    int     id_mismatch;		/* rcpt/data saw another id */
    char    sender[300];
    char    rcpts[1024];		/* env->recipients at DATA, ',' */
    char   *data;			/* last message, mem_alloc */
    size_t  data_len;
    char    xident[80];			/* env->xforward_ident at DATA */
    int     body8;
    size_t  declared;
};

static void fake_mail(void *ctx, const struct lmtp_envelope *env,
		              struct lmtp_reply *reply)
{
    struct fake *f = ctx;

    if (f->mail_calls < 8)
	snprintf(f->ids[f->mail_calls], 16, "%s", env->id);
    f->mail_calls++;
    snprintf(f->sender, sizeof(f->sender), "%s", env->sender);
    if (strncmp(env->sender, "busy", 4) == 0) {
	reply->code = 451;
	snprintf(reply->text, sizeof(reply->text), "4.3.2 Maintenance");
    }
    /* Otherwise code 0: the engine's default. */
}

static void fake_rcpt(void *ctx, const struct lmtp_envelope *env,
		              const char *rcpt, struct lmtp_reply *reply)
{
    struct fake *f = ctx;

    f->rcpt_calls++;
    if (f->mail_calls == 0 || strcmp(env->id, f->ids[(f->mail_calls - 1) % 8]))
	f->id_mismatch = 1;
    if (strncmp(rcpt, "reject", 6) == 0) {
	reply->code = 550;
	snprintf(reply->text, sizeof(reply->text), "5.1.1 User unknown");
    } else if (strncmp(rcpt, "plain", 5) == 0) {
	reply->code = 550;
	snprintf(reply->text, sizeof(reply->text), "No such user");
    } else {
	reply->code = 250;
	snprintf(reply->text, sizeof(reply->text), "2.1.5 Ok");
    }
}

static void fake_data(void *ctx, const struct lmtp_envelope *env,
		              const char *data, size_t len,
		              struct lmtp_reply *replies)
{
    struct fake *f = ctx;

    f->data_calls++;
    if (strcmp(env->id, f->ids[(f->mail_calls - 1) % 8]))
	f->id_mismatch = 1;
    mem_free(f->data);
    f->data = mem_memdup(data, len + 1);
    f->data_len = len;
    snprintf(f->xident, sizeof(f->xident), "%s",
	     env->xforward_ident ? env->xforward_ident : "(null)");
    f->body8 = env->body_8bitmime;
    f->declared = env->declared_size;
    f->rcpts[0] = 0;
    for (size_t i = 0; i < env->n_recipients; i++) {
	const char *r = env->recipients[i];

	if (i)
	    strcat(f->rcpts, ",");
	strncat(f->rcpts, r, sizeof(f->rcpts) - strlen(f->rcpts) - 2);
	if (strncmp(r, "temp", 4) == 0) {
	    replies[i].code = 451;
	    snprintf(replies[i].text, sizeof(replies[i].text), "4.3.0 Try again later");
	} else if (strncmp(r, "forget", 6) != 0) {
	    replies[i].code = 250;
	    snprintf(replies[i].text, sizeof(replies[i].text), "2.0.0 Delivered");
	}
    }
}

static const struct lmtp_handler fake_handler = {
    fake_mail, fake_rcpt, fake_data,
};

/* The driver: a session on one end, the test on the other. */

struct run {
    int     peer;
    int     fd;
    struct lmtp_session *s;
    struct buf *got;
    int     ended;
    struct fake fake;
};

/* drain - read every reply available */

static void drain(struct run *r)
{
    char    tmp[4096];
    ssize_t n;

    while ((n = read(r->peer, tmp, sizeof(tmp))) > 0)
	buf_append(r->got, tmp, (size_t) n);
}

/* pump - one step of the session, then read its replies */

static void pump(struct run *r, int timeout_ms)
{
    if (!r->ended && lmtp_session_step(r->s, timeout_ms) == 0)
	r->ended = 1;
    drain(r);
}

static void run_open(struct run *r, const struct lmtp_limits *limits)
{
    int     sv[2];

    memset(r, 0, sizeof(*r));
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    r->fd = sv[0];
    r->peer = sv[1];
    CU_ASSERT_FATAL(fcntl(r->peer, F_SETFL, O_NONBLOCK) == 0);
    r->got = buf_create(1024, 0);
    r->s = lmtp_session_create(r->fd, &fake_handler, &r->fake, limits);
    drain(r);
}

static void run_close(struct run *r)
{
    lmtp_session_destroy(&r->s);
    CU_ASSERT_PTR_NULL(r->s);
    close(r->fd);
    close(r->peer);
    buf_destroy(&r->got);
    mem_free(r->fake.data);
}

/* feed - write input, whole (in chunks) or one byte at a time */

static void feed(struct run *r, const char *in, size_t len, int bytewise)
{
    size_t  chunk = bytewise ? 1 : 2048;
    uint64_t deadline = time_now_ms() + DEADLINE_MS;

    while (len > 0 && !r->ended && time_now_ms() < deadline) {
	ssize_t n = write(r->peer, in, len < chunk ? len : chunk);

	if (n > 0) {
	    in += n;
	    len -= (size_t) n;
	}
	pump(r, 0);
    }
    pump(r, 0);
}

/* settle - step until want bytes of replies arrived, the end, or deadline */

static void settle(struct run *r, size_t want)
{
    uint64_t deadline = time_now_ms() + DEADLINE_MS;

    while (!r->ended && buf_len(r->got) < want && time_now_ms() < deadline)
	pump(r, 10);
    pump(r, 0);					/* catch any extra reply */
}

/* same - compare replies, showing both on mismatch */

static int same(const char *name, const char *mode, struct buf *got,
		        const char *want)
{
    if (strcmp(buf_data(got), want) == 0)
	return (1);
    fprintf(stderr, "\n--- %s (%s): want\n%s--- got\n%s---\n", name, mode,
	    want, buf_data(got));
    return (0);
}

/* The table of exchanges. */

struct exchange {
    const char *name;
    const char *in;
    size_t  in_len;
    const char *out;			/* after the greeting */
    int     ended;			/* session over at the end */
    int     data_calls;
    const char *data;			/* last message, or NULL */
    size_t  data_len;
    const char *rcpts;			/* recipients at DATA, or NULL */
    const char *xident;			/* XFORWARD IDENT at DATA, or NULL */
    int     body8;			/* -1: not checked */
    size_t  max_size;			/* 0: 10000 */
    size_t  max_rcpts;
    const char *sender;			/* last MAIL sender, or NULL */
};

#define TX(rcpt) "MAIL FROM:<a@x>\r\nRCPT TO:<" rcpt ">\r\nDATA\r\n"
#define TX_R	MAIL_OK RCPT_OK GO_AHEAD

static const struct exchange exchanges[] = {
    {"full session",
	S("LHLO client.test\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"
	  "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n"),
	LHLO_OK TX_R DELIVERED BYE, 1, 1,
    S("Subject: hi\r\n\r\nbody\r\n"), "b@y", "(null)", 0, 0, 0, "a@x"},
    {"pipelined MAIL/RCPT/RCPT/DATA",
	S("LHLO c\r\nMAIL FROM:<a@x> SIZE=10 BODY=7BIT\r\nRCPT TO:<b@y>\r\n"
	  "RCPT TO:<c@y>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n"),
	LHLO_OK MAIL_OK RCPT_OK RCPT_OK GO_AHEAD DELIVERED DELIVERED BYE, 1, 1,
    S("hello\r\n"), "b@y,c@y", 0, 0},
    {"RCPT before MAIL",
	S("LHLO c\r\nRCPT TO:<b@y>\r\nDATA\r\nQUIT\r\n"),
	LHLO_OK "503 5.5.1 Error: need MAIL command\r\n"
	"503 5.5.1 Error: need MAIL command\r\n" BYE, 1, 0, 0, 0, 0, 0, -1},
    {"DATA with no accepted recipient",
	S("LHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<reject1@y>\r\nDATA\r\nQUIT\r\n"),
	LHLO_OK MAIL_OK "550 5.1.1 User unknown\r\n"
	"503 5.5.1 No valid recipients\r\n" BYE, 1, 0, 0, 0, 0, 0, -1},
    {"only accepted recipients get a reply after DATA, in order",
	S("LHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<reject@y>\r\n"
	  "RCPT TO:<temp1@y>\r\nRCPT TO:<plain@y>\r\nRCPT TO:<forget@y>\r\n"
	  "RCPT TO:<c@y>\r\nDATA\r\nx\r\n.\r\n"),
	LHLO_OK MAIL_OK RCPT_OK "550 5.1.1 User unknown\r\n" RCPT_OK
	"550 5.0.0 No such user\r\n" RCPT_OK RCPT_OK GO_AHEAD
	DELIVERED "451 4.3.0 Try again later\r\n"
	"451 4.3.0 Delivery status unknown\r\n" DELIVERED, 0, 1,
    S("x\r\n"), "b@y,temp1@y,forget@y,c@y", 0, -1},
    {"dot-stuffing",
	S("LHLO c\r\n" TX("b@y") "..x\r\na.b\r\n. \r\n...\r\n.a.\r\n.\r\n"),
	LHLO_OK TX_R DELIVERED, 0, 1,
    S(".x\r\na.b\r\n \r\n..\r\na.\r\n"), 0, 0, -1},
    {"bare LF",
	S("LHLO c\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\nl1\nl2\r\n\n.\nNOOP\n"),
	LHLO_OK TX_R DELIVERED OK, 0, 1, S("l1\nl2\r\n\n"), 0, 0, -1},
    {"empty message",
	S("LHLO c\r\n" TX("b@y") ".\r\n"),
	LHLO_OK TX_R DELIVERED, 0, 1, S(""), 0, 0, -1},
    {"SIZE= over the limit",
	S("LHLO c\r\nMAIL FROM:<a@x> SIZE=101\r\nRCPT TO:<b@y>\r\n"
	  "MAIL FROM:<a@x> SIZE=100\r\nMAIL FROM:<a@x> SIZE=1x\r\n"),
	LHLO_R("100") "552 5.3.4 Message size exceeds fixed limit\r\n"
	"503 5.5.1 Error: need MAIL command\r\n" MAIL_OK
	"503 5.5.1 Error: nested MAIL command\r\n", 0, 0, 0, 0, 0, 0, -1, 100},
    {"message over the limit without SIZE=",
	S("LHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<reject@y>\r\n"
	  "RCPT TO:<c@y>\r\nDATA\r\n"
	  "0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	  "0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	  ".\r\n" TX("d@y") "small\r\n.\r\n"),
	LHLO_R("100") MAIL_OK RCPT_OK "550 5.1.1 User unknown\r\n" RCPT_OK GO_AHEAD
	"552 5.3.4 Message too big\r\n552 5.3.4 Message too big\r\n"
	TX_R DELIVERED, 0, 1, S("small\r\n"), "d@y", 0, -1, 100},
    {"NUL in a command",
	S("LHLO c\r\nNOOP a\0b\r\nNOOP\r\n"),
	LHLO_OK "500 5.5.2 Error: NUL byte in command\r\n" OK, 0, 0, 0, 0, 0, 0, -1},
    {"HELO and EHLO refused, LHLO needed",
	S("HELO c\r\nEHLO c\r\nMAIL FROM:<a@x>\r\nXFORWARD IDENT=1\r\nLHLO c\r\n"),
	"500 5.5.1 This is LMTP: use LHLO\r\n500 5.5.1 This is LMTP: use LHLO\r\n"
	"503 5.5.1 Error: send LHLO first\r\n503 5.5.1 Error: send LHLO first\r\n"
	LHLO_OK, 0, 0, 0, 0, 0, 0, -1},
    {"unknown and unoffered commands",
	S("LHLO c\r\nFOO bar\r\nBDAT 10 LAST\r\n\r\nVRFY a@y\r\nNOOP x\r\n"),
	LHLO_OK "500 5.5.2 Unknown command\r\n"
	"502 5.5.1 Error: command not implemented\r\n"
	"500 5.5.2 Error: bad syntax\r\n"
	"252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery\r\n" OK,
	0, 0, 0, 0, 0, 0, -1},
    {"unknown MAIL and RCPT parameters",
	S("LHLO c\r\nMAIL FROM:<a@x> RET=FULL\r\nMAIL FROM:<a@x> BODY=BINARYMIME\r\n"
	  "MAIL FROM:<a@x>\r\nRCPT TO:<b@y> NOTIFY=NEVER\r\nRSET\r\n"),
	LHLO_OK "555 5.5.4 Unsupported option: RET\r\n"
	"501 5.5.4 Bad BODY parameter\r\n" MAIL_OK
	"555 5.5.4 Unsupported option: NOTIFY=NEVER\r\n" OK, 0, 0, 0, 0, 0, 0, -1},
    {"BODY=8BITMIME accepted",
	S("LHLO c\r\nMAIL FROM:<a@x> BODY=8BITMIME SIZE=9\r\nRCPT TO:<b@y>\r\n"
	  "DATA\r\n\xc3\xa9t\xe9\r\n.\r\n"),
	LHLO_OK TX_R DELIVERED, 0, 1, S("\xc3\xa9t\xe9\r\n"), 0, 0, 1},
    {"RSET clears the transaction",
	S("LHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRSET\r\nDATA\r\n"
	  "RCPT TO:<b@y>\r\nMAIL FROM:<e@x>\r\nRCPT TO:<f@y>\r\nDATA\r\nm\r\n.\r\n"),
	LHLO_OK MAIL_OK RCPT_OK OK "503 5.5.1 Error: need MAIL command\r\n"
	"503 5.5.1 Error: need MAIL command\r\n" TX_R DELIVERED, 0, 1,
    S("m\r\n"), "f@y", 0, -1, 0, 0, "e@x"},
    {"LHLO resets the transaction",
	S("LHLO c\r\nMAIL FROM:<a@x>\r\nLHLO c\r\nRCPT TO:<b@y>\r\n"),
	LHLO_OK MAIL_OK LHLO_OK "503 5.5.1 Error: need MAIL command\r\n",
	0, 0, 0, 0, 0, 0, -1},
    {"several transactions per connection",
	S("LHLO c\r\n" TX("b@y") "one\r\n.\r\nRSET\r\n" TX("c@y") "two\r\n.\r\n"
	  "MAIL FROM:<>\r\nRCPT TO:<d@y>\r\nDATA\r\nthree\r\n.\r\nQUIT\r\n"),
	LHLO_OK TX_R DELIVERED OK TX_R DELIVERED TX_R DELIVERED BYE, 1, 3,
    S("three\r\n"), "d@y", 0, -1, 0, 0, ""},
    {"XFORWARD IDENT captured, forgotten after the transaction",
	S("LHLO c\r\nXFORWARD NAME=spike.example ADDR=192.0.2.1 PROTO=ESMTP\r\n"
	  "XFORWARD HELO=[UNAVAILABLE] IDENT=4Xk1+2Bab\r\nMAIL FROM:<a@x>\r\n"
	  "XFORWARD IDENT=zz\r\nRCPT TO:<b@y>\r\nDATA\r\nx\r\n.\r\n"
	  "XFORWARD NAME\r\n" TX("b@y") "y\r\n.\r\n"),
	LHLO_OK OK OK MAIL_OK
	"503 5.5.1 Error: XFORWARD not allowed in a transaction\r\n"
	RCPT_OK GO_AHEAD DELIVERED
	"501 5.5.4 Syntax: XFORWARD attribute=value...\r\n" TX_R DELIVERED,
	0, 2, S("y\r\n"), 0, "(null)", -1},
    {"XFORWARD IDENT as seen",
	S("LHLO c\r\nXFORWARD IDENT=4Xk1+2Bab\r\n" TX("b@y") "x\r\n.\r\n"),
	LHLO_OK OK TX_R DELIVERED, 0, 1, S("x\r\n"), 0, "4Xk1+ab", -1},
    {"XFORWARD IDENT [UNAVAILABLE]",
	S("LHLO c\r\nXFORWARD IDENT=[UNAVAILABLE]\r\n" TX("b@y") "x\r\n.\r\n"),
	LHLO_OK OK TX_R DELIVERED, 0, 1, S("x\r\n"), 0, "(null)", -1},
    {"QUIT ends the session, later input ignored",
	S("QUIT\r\nNOOP\r\n"), BYE, 1, 0, 0, 0, 0, 0, -1},
    {"command verbs are case-insensitive",
	S("lhlo c\r\nmail from:<a@x>\r\nrcpt to:<b@y>\r\ndata\r\nx\r\n.\r\nnOoP\r\n"),
	LHLO_OK TX_R DELIVERED OK, 0, 1, S("x\r\n"), "b@y", 0, -1},
    {"address syntax",
	S("LHLO c\r\nMAIL FROM:a@x\r\nMAIL FROM:<a b@x>\r\nMAIL FROM:<a\rb@x>\r\n"
	  "MAIL FROM:<a@x\r\nMAIL FROM:<a@x>junk\r\nMAIL TO:<a@x>\r\n"
	  "MAIL FROM: <>\r\nRCPT TO:<>\r\nRCPT TO:b@y\r\nRCPT TO:<b\x01@y>\r\n"
	  "RCPT TO:<\"john doe\"@y>\r\nRCPT TO: <@relay.example:Mixed@Y>\r\n"
	  "RCPT TO:<\"a\\\"b\"@y>\r\nDATA\r\nx\r\n.\r\n"),
	LHLO_OK "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
	"501 5.1.7 Bad sender address syntax\r\n"
	"501 5.1.7 Bad sender address syntax\r\n"
	"501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
	"501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
	"501 5.5.4 Syntax: MAIL FROM:<address>\r\n" MAIL_OK
	"501 5.1.3 Bad recipient address syntax\r\n"
	"501 5.5.4 Syntax: RCPT TO:<address>\r\n"
	"501 5.1.3 Bad recipient address syntax\r\n"
	RCPT_OK RCPT_OK RCPT_OK GO_AHEAD DELIVERED DELIVERED DELIVERED,
	0, 1, S("x\r\n"), "\"john doe\"@y,Mixed@Y,\"a\\\"b\"@y", 0, -1, 0, 0, ""},
    {"too many recipients",
	S("LHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<reject@y>\r\n"
	  "RCPT TO:<c@y>\r\nRCPT TO:<d@y>\r\nDATA\r\nx\r\n.\r\n"),
	LHLO_OK MAIL_OK RCPT_OK "550 5.1.1 User unknown\r\n" RCPT_OK
	"452 4.5.3 Error: too many recipients\r\n" GO_AHEAD DELIVERED DELIVERED,
	0, 1, S("x\r\n"), "b@y,c@y", 0, -1, 0, 2},
    {"MAIL refused by the handler opens no transaction",
	S("LHLO c\r\nMAIL FROM:<busy@x>\r\nRCPT TO:<b@y>\r\nMAIL FROM:<a@x>\r\n"),
	LHLO_OK "451 4.3.2 Maintenance\r\n503 5.5.1 Error: need MAIL command\r\n"
	MAIL_OK, 0, 0, 0, 0, 0, 0, -1, 0, 0, "a@x"},
};

/* run_exchange - one exchange in one mode */

static void run_exchange(const struct exchange *x, int bytewise)
{
    struct lmtp_limits limits = {
	.max_message_size = x->max_size ? x->max_size : 10000,
	.max_recipients = x->max_rcpts,
	.hostname = HOST,
    };
    const char *mode = bytewise ? "byte at a time" : "whole";
    char   *want = mem_printf("%s%s", GREET, x->out);
    struct run r;

    run_open(&r, &limits);
    feed(&r, x->in, x->in_len, bytewise);
    settle(&r, strlen(want));
    CU_ASSERT(same(x->name, mode, r.got, want));
    CU_ASSERT_EQUAL(r.ended, x->ended);
    CU_ASSERT_EQUAL(r.fake.data_calls, x->data_calls);
    CU_ASSERT_EQUAL(r.fake.id_mismatch, 0);
    if (x->data) {
	CU_ASSERT_EQUAL(r.fake.data_len, x->data_len);
	CU_ASSERT(r.fake.data && memcmp(r.fake.data, x->data, x->data_len) == 0);
    }
    if (x->rcpts)
	CU_ASSERT_STRING_EQUAL(r.fake.rcpts, x->rcpts);
    if (x->xident)
	CU_ASSERT_STRING_EQUAL(r.fake.xident, x->xident);
    if (x->body8 >= 0)
	CU_ASSERT_EQUAL(r.fake.body8, x->body8);
    if (x->sender)
	CU_ASSERT_STRING_EQUAL(r.fake.sender, x->sender);
    run_close(&r);
    mem_free(want);
}

static void test_exchanges(void)
{
    for (size_t i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++) {
	run_exchange(exchanges + i, 0);
	run_exchange(exchanges + i, 1);
    }
}

/* Exchanges built at run time. */

static void test_line_too_long(void)
{
    struct lmtp_limits limits = {.max_line_length = 600,.hostname = HOST};
    struct buf *in = buf_create(0, 0);
    const char *want = GREET OK "500 5.5.2 Line too long\r\n" OK
    "500 5.5.2 Line too long\r\n" OK;

    /* Exactly 600 octets is fine; 601 is not, nor a 70000-octet line
       (more than one read: the input buffer must stay bounded). */
    buf_append_str(in, "NOOP ");
    for (int i = 0; i < 595; i++)
	buf_append_char(in, 'a');
    buf_append_str(in, "\r\nNOOP ");
    for (int i = 0; i < 596; i++)
	buf_append_char(in, 'b');
    buf_append_str(in, "\r\nNOOP\r\nNOOP ");
    for (int i = 0; i < 70000; i++)
	buf_append_char(in, 'c');
    buf_append_str(in, "\r\nNOOP\r\n");
    for (int bytewise = 0; bytewise < 2; bytewise++) {
	struct run r;

	run_open(&r, &limits);
	feed(&r, buf_data(in), buf_len(in), bytewise);
	settle(&r, strlen(want));
	CU_ASSERT(same("line too long", bytewise ? "bytes" : "whole", r.got, want));
	CU_ASSERT_EQUAL(r.ended, 0);
	run_close(&r);
    }
    buf_destroy(&in);
}

static void test_data_byte_exact(void)
{
    struct lmtp_limits limits = {.hostname = HOST};
    struct buf *in = buf_create(0, 0);
    struct buf *msg = buf_create(0, 0);
    static const char bin[] = "8bit \xff\xfe\x80 nul \0 mid\r\nlone\rCR\r\n\0\r\n";
    const char *want = GREET LHLO_R("26214400") TX_R DELIVERED;

    /* The message as the handler must see it. */
    buf_append(msg, bin, sizeof(bin) - 1);
    for (int i = 0; i < 5000; i++)		/* a long line */
	buf_append_char(msg, 'a' + i % 26);
    buf_append_str(msg, "\r\n.stuffed\r\nend\n");
    /* The same on the wire: dot-stuffed. */
    buf_append_str(in, "LHLO c\r\n" TX("b@y"));
    buf_append(in, bin, sizeof(bin) - 1);
    buf_append(in, buf_data(msg) + sizeof(bin) - 1, 5002);
    buf_append_str(in, "..stuffed\r\nend\n.\r\n");
    for (int bytewise = 0; bytewise < 2; bytewise++) {
	struct run r;

	run_open(&r, &limits);
	feed(&r, buf_data(in), buf_len(in), bytewise);
	settle(&r, strlen(want));
	CU_ASSERT(same("data byte-exact", bytewise ? "bytes" : "whole", r.got, want));
	CU_ASSERT_EQUAL(r.fake.data_calls, 1);
	CU_ASSERT_EQUAL(r.fake.data_len, buf_len(msg));
	CU_ASSERT(r.fake.data
		  && memcmp(r.fake.data, buf_data(msg), buf_len(msg)) == 0);
	run_close(&r);
    }
    buf_destroy(&in);
    buf_destroy(&msg);
}

static void test_many_pipelined_commands(void)
{
    struct lmtp_limits limits = {.hostname = HOST};
    struct buf *in = buf_create(0, 0);
    struct buf *want = buf_create(0, 0);
    struct run r;

    buf_append_str(want, GREET);
    for (int i = 0; i < 300; i++) {
	buf_append_str(in, "NOOP\r\n");
	buf_append_str(want, OK);
    }
    run_open(&r, &limits);
    feed(&r, buf_data(in), buf_len(in), 0);
    settle(&r, buf_len(want));
    CU_ASSERT(same("300 NOOPs", "whole", r.got, buf_data(want)));
    run_close(&r);
    buf_destroy(&in);
    buf_destroy(&want);
}

/* Transaction ids and state. */

static void test_ids_and_state(void)
{
    struct lmtp_limits limits = {.hostname = HOST};
    struct run r;

    run_open(&r, &limits);
    CU_ASSERT_EQUAL(lmtp_session_in_transaction(r.s), 0);
    feed(&r, S("LHLO c\r\nMAIL FROM:<a@x>\r\n"), 0);
    CU_ASSERT_EQUAL(lmtp_session_in_transaction(r.s), 1);
    feed(&r, S("RCPT TO:<b@y>\r\nDATA\r\nx\r\n.\r\n"), 0);
    CU_ASSERT_EQUAL(lmtp_session_in_transaction(r.s), 0);
    feed(&r, S("MAIL FROM:<a@x>\r\nRSET\r\n"), 0);
    CU_ASSERT_EQUAL(lmtp_session_in_transaction(r.s), 0);
    CU_ASSERT_EQUAL(r.fake.mail_calls, 2);
    CU_ASSERT_EQUAL(r.fake.id_mismatch, 0);
    for (int i = 0; i < 2; i++) {
	CU_ASSERT_EQUAL(strlen(r.fake.ids[i]), 10);
	CU_ASSERT_EQUAL(strspn(r.fake.ids[i], "0123456789ABCDEF"), 10);
    }
    CU_ASSERT(strcmp(r.fake.ids[0], r.fake.ids[1]) != 0);
    run_close(&r);
}

/* Timeouts, shutdown, end of file. */

static void test_idle_timeout(void)
{
    struct lmtp_limits limits = {.idle_timeout = 1,.hostname = HOST};
    struct run r;
    uint64_t start;
    uint64_t took;

    run_open(&r, &limits);
    /* Steps with a short timeout do not end the session early. */
    pump(&r, 0);
    CU_ASSERT_EQUAL(r.ended, 0);
    start = time_now_ms();
    pump(&r, -1);
    took = time_now_ms() - start;
    CU_ASSERT_EQUAL(r.ended, 1);
    CU_ASSERT(took >= 900 && took < 2500);
    CU_ASSERT(same("idle timeout", "-1", r.got,
		   GREET "421 4.4.2 " HOST " Timeout\r\n"));
    run_close(&r);
}

static void test_shutdown_idle(void)
{
    struct lmtp_limits limits = {.hostname = HOST};
    struct run r;

    run_open(&r, &limits);
    feed(&r, S("LHLO c\r\n"), 0);
    lmtp_session_shutdown(r.s);
    pump(&r, 0);
    CU_ASSERT_EQUAL(r.ended, 1);
    CU_ASSERT(same("shutdown idle", "", r.got,
		   GREET LHLO_R("26214400") "421 4.3.2 Service shutting down\r\n"));
    run_close(&r);
}

static void test_shutdown_in_transaction(void)
{
    struct lmtp_limits limits = {.hostname = HOST};
    struct run r;

    run_open(&r, &limits);
    feed(&r, S("LHLO c\r\nMAIL FROM:<a@x>\r\n"), 0);
    lmtp_session_shutdown(r.s);
    pump(&r, 0);
    CU_ASSERT_EQUAL(r.ended, 0);
    feed(&r, S("RCPT TO:<b@y>\r\nDATA\r\npart one\r\n"), 0);
    CU_ASSERT_EQUAL(r.ended, 0);
    CU_ASSERT_EQUAL(lmtp_session_in_transaction(r.s), 1);
    feed(&r, S("part two\r\n.\r\nMAIL FROM:<a@x>\r\n"), 0);
    settle(&r, 1);
    CU_ASSERT_EQUAL(r.ended, 1);
    CU_ASSERT_EQUAL(r.fake.data_calls, 1);
    CU_ASSERT_EQUAL(r.fake.mail_calls, 1);
    CU_ASSERT(same("shutdown in transaction", "", r.got,
		   GREET LHLO_R("26214400") TX_R DELIVERED
		   "421 4.3.2 Service shutting down\r\n"));
    run_close(&r);
}

static void test_eof_drops_transaction(void)
{
    struct lmtp_limits limits = {.hostname = HOST};
    struct run r;

    run_open(&r, &limits);
    feed(&r, S("LHLO c\r\n" TX("b@y") "partial\r\n"), 0);
    CU_ASSERT_EQUAL(r.ended, 0);
    shutdown(r.peer, SHUT_WR);
    settle(&r, 1 << 20);
    CU_ASSERT_EQUAL(r.ended, 1);
    CU_ASSERT_EQUAL(r.fake.data_calls, 0);
    CU_ASSERT(same("eof", "", r.got, GREET LHLO_R("26214400") TX_R));
    run_close(&r);
}

/* Logging: prefixes, no message text. */

static struct buf *log_lines;

static void capture(enum log_level level, const char *line, void *ctx)
{
    (void) level;
    (void) ctx;
    buf_append_str(log_lines, line);
    buf_append_char(log_lines, '\n');
}

static void test_logging(void)
{
    struct lmtp_limits limits = {.max_message_size = 20,.hostname = HOST};
    struct run r;
    const char *want;
    char   *line;

    log_lines = buf_create(0, 0);
    log_set_capture(capture, 0);
    run_open(&r, &limits);
    feed(&r, S("LHLO c\r\nNOOP a\0b\r\nMAIL FROM:<a@x>\r\nRCPT TO:b@y\r\n"
	       "RCPT TO:<b@y>\r\nDATA\r\nSECRET BODY TEXT THAT IS TOO BIG\r\n.\r\n"), 0);
    want = GREET LHLO_R("20") "500 5.5.2 Error: NUL byte in command\r\n" MAIL_OK
	"501 5.5.4 Syntax: RCPT TO:<address>\r\n" RCPT_OK GO_AHEAD
	"552 5.3.4 Message too big\r\n";
    settle(&r, strlen(want));
    log_set_capture(0, 0);
    CU_ASSERT(same("logging", "", r.got, want));
    CU_ASSERT(strstr(buf_data(log_lines), "NOID: lmtp: command: 500 5.5.2") != 0);
    line = mem_printf("%s: lmtp: RCPT: 501 5.5.4", r.fake.ids[0]);
    CU_ASSERT(strstr(buf_data(log_lines), line) != 0);
    mem_free(line);
    line = mem_printf("%s: lmtp: message of 34 bytes over the limit 20",
		      r.fake.ids[0]);
    CU_ASSERT(strstr(buf_data(log_lines), line) != 0);
    mem_free(line);
    CU_ASSERT(strstr(buf_data(log_lines), "SECRET") == 0);
    run_close(&r);
    buf_destroy(&log_lines);
}

int     main(void)
{
    CU_pSuite s;
    unsigned bad;
    CU_ErrorCode rc;

    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    s = CU_add_suite("lmtp_proto", 0, 0);
    CU_add_test(s, "exchanges, whole and byte at a time", test_exchanges);
    CU_add_test(s, "line too long", test_line_too_long);
    CU_add_test(s, "data byte-exact (8-bit, NUL, long line)", test_data_byte_exact);
    CU_add_test(s, "many pipelined commands", test_many_pipelined_commands);
    CU_add_test(s, "transaction ids and state", test_ids_and_state);
    CU_add_test(s, "idle timeout gives 421", test_idle_timeout);
    CU_add_test(s, "shutdown when idle gives 421", test_shutdown_idle);
    CU_add_test(s, "shutdown waits for the transaction", test_shutdown_in_transaction);
    CU_add_test(s, "EOF drops the transaction", test_eof_drops_transaction);
    CU_add_test(s, "log prefixes, no message text", test_logging);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
