/*++
/* NAME
/*	lmtp_bench 1
/* SUMMARY
/*	deliver generated mails to an LMTP server and measure
/* SYNOPSIS
/*	lmtp_bench [-s SESSIONS] [-n MAILS] [-k KIND] [-f FOLLOW]
/*		[-b BYTES] [-r RCPT] [-p PID] [-t TAG] ADDR
/* DESCRIPTION
/*	lmtp_bench opens SESSIONS connections to ADDR (unix:/path or
/*	inet:host:port) and delivers MAILS messages in all, spread over the
/*	sessions, each one transaction with one recipient (RCPT, default
/*	helpdesk@desk.test), the envelope pipelined.
/*
/*	KIND is the message: plain (about BYTES, default 3000, of French
/*	plain text, 8bit, with an encoded-word subject), html (a 60 KB
/*	newsletter-style HTML reply, multipart/alternative,
/*	quoted-printable), att (200 KB: a short text and a base64 PDF
/*	attachment) or pdf (1 MB: the same with a larger PDF).
/*
/*	FOLLOW is new (every mail a new ticket: unique subject and
/*	Message-ID), subject (follow-ups "RE : [Ticket#N] ..." where N is
/*	taken from the 250 reply "Ok, ticket N created" of 20 seed mails
/*	sent first, untimed) or refs (follow-ups whose References and
/*	In-Reply-To name a seed's Message-ID, with a subject without ticket
/*	number).
/*
/*	With -p PID (the server's process) it also reports the CPU seconds
/*	(utime+stime of /proc/PID/stat, all threads) the server spent per
/*	1,000 mails, and its peak RSS (VmHWM, reset through
/*	/proc/PID/clear_refs before the run when allowed).
/*
/*	Output: one line per figure, "TAG figure value".
/* DIAGNOSTICS
/*	Exit status 0 when every mail got 250, 1 otherwise.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SEEDS	20

static const char *addr = 0;
static const char *rcpt = "helpdesk@desk.test";
static const char *kind = "plain";
static const char *follow = "new";
static const char *tag = "bench";
static int sessions = 8;
static int mails = 1000;
static int bytes = 3000;
static long server_pid = 0;
static double *latencies;
static int nlat;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *body;			/* MIME headers + body of KIND */
static size_t body_len;
static char seed_ticket[SEEDS][64];
static char seed_msgid[SEEDS][128];

struct conn {
    int     fd;
    char    in[8192];
    size_t  have;
    char    last[512];			/* text of the last reply line */
};

/* now - monotonic seconds */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* dial - connect to addr */

static int dial(void)
{
    int     fd;

    if (strncmp(addr, "unix:", 5) == 0) {
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0
	    || connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0)
	    return (-1);
	return (fd);
    } else {
	char    host[256];
	char   *port;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;

	snprintf(host, sizeof(host), "%s", strncmp(addr, "inet:", 5) == 0 ?
		 addr + 5 : addr);
	if ((port = strrchr(host, ':')) == 0)
	    return (-1);
	*port++ = 0;
	if (getaddrinfo(host, port, &hints, &res) != 0)
	    return (-1);
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
	    freeaddrinfo(res);
	    return (-1);
	}
	freeaddrinfo(res);
	return (fd);
    }
}

/* reply - read one (possibly multi-line) reply; return its code */

static int reply(struct conn *c)
{
    for (;;) {
	char   *nl;

	while ((nl = memchr(c->in, '\n', c->have)) != 0) {
	    size_t  len = (size_t) (nl - c->in) + 1;
	    int     last = len >= 4 && c->in[3] == ' ';
	    int     code = atoi(c->in);

	    snprintf(c->last, sizeof(c->last), "%.*s", (int) len, c->in);
	    memmove(c->in, c->in + len, c->have - len);
	    c->have -= len;
	    if (last)
		return (code);
	}
	ssize_t n = read(c->fd, c->in + c->have, sizeof(c->in) - c->have);

	if (n <= 0)
	    return (-1);
	c->have += (size_t) n;
    }
}

/* send_all - write everything */

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
	ssize_t n = write(fd, buf, len);

	if (n <= 0)
	    return (-1);
	buf += n;
	len -= (size_t) n;
    }
    return (0);
}

/* append - append text to the body being built */

static void append(size_t *cap, const char *text, size_t len)
{
    if (body_len + len + 1 > *cap) {
	*cap = (*cap + len) * 2;
	if ((body = realloc(body, *cap)) == 0) {
	    perror("lmtp_bench: realloc");
	    exit(1);
	}
    }
    memcpy(body + body_len, text, len);
    body_len += len;
    body[body_len] = 0;
}

#define APPEND(s) append(&cap, (s), strlen(s))

/* add_pdf - a base64 fake PDF of about raw_bytes */

static void add_pdf(size_t *capp, size_t raw_bytes)
{
    static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t  cap = *capp;
    unsigned state = 12345;
    char    line[80];

    /* "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" base64-encoded, then noise */
    APPEND("JVBERi0xLjQKJeLjz9MKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyA+PgplbmRvYmoK\r\n");
    for (size_t done = 0; done < raw_bytes; done += 57) {
	for (int i = 0; i < 76; i++) {
	    state = state * 1103515245u + 12345u;
	    line[i] = b64[(state >> 16) & 63];
	}
	line[76] = '\r';
	line[77] = '\n';
	append(&cap, line, 78);
    }
    /* "%%EOF\n" */
    APPEND("JSVFT0YK\r\n");
    *capp = cap;
}

/* build_body - the MIME part of the message (after the per-mail headers) */

static void build_body(void)
{
    size_t  cap = 0;
    static const char fr[] =
	"Bonjour, l'imprimante du troisi\xc3\xa8me \xc3\xa9tage ne r\xc3\xa9pond plus depuis ce matin.\r\n";
    static const char fr_qp[] =
	"<tr><td class=3D\"c\">L'imprimante du troisi=C3=A8me =C3=A9tage ne r=C3=\r\n"
	"=A9pond plus depuis ce matin&nbsp;: <a href=3D\"https://intra.example.=\r\n"
	"org/news/item?id=3D42\">voir l'article</a></td></tr>\r\n";

    if (strcmp(kind, "plain") == 0) {
	APPEND("MIME-Version: 1.0\r\n"
	       "Content-Type: text/plain; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: 8bit\r\n\r\n");
	while (body_len < (size_t) bytes - 400)
	    APPEND(fr);
    } else if (strcmp(kind, "html") == 0) {
	APPEND("MIME-Version: 1.0\r\n"
	       "Content-Type: multipart/alternative; boundary=\"=-alt-bench\"\r\n\r\n"
	       "--=-alt-bench\r\n"
	       "Content-Type: text/plain; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: 8bit\r\n\r\n");
	for (int i = 0; i < 20; i++)
	    APPEND(fr);
	APPEND("\r\n--=-alt-bench\r\n"
	       "Content-Type: text/html; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	       "<html><head><style>td.c { font-family: Arial; }</style></head>\r\n"
	       "<body><p>Merci pour la lettre d'information.</p><blockquote>=\r\n"
	       "<table width=3D\"600\">\r\n");
	while (body_len < 60000 - 200)
	    APPEND(fr_qp);
	APPEND("</table></blockquote></body></html>\r\n\r\n--=-alt-bench--\r\n");
    } else if (strcmp(kind, "att") == 0 || strcmp(kind, "pdf") == 0) {
	size_t  total = strcmp(kind, "att") == 0 ? 200000 : 1000000;

	APPEND("MIME-Version: 1.0\r\n"
	       "Content-Type: multipart/mixed; boundary=\"=-mix-bench\"\r\n\r\n"
	       "--=-mix-bench\r\n"
	       "Content-Type: text/plain; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: 8bit\r\n\r\n");
	for (int i = 0; i < 5; i++)
	    APPEND(fr);
	APPEND("\r\n--=-mix-bench\r\n"
	       "Content-Type: application/pdf; name=\"rapport.pdf\"\r\n"
	       "Content-Disposition: attachment; filename=\"rapport.pdf\"\r\n"
	       "Content-Transfer-Encoding: base64\r\n\r\n");
	add_pdf(&cap, (total - body_len - 400) * 57 / 78);
	APPEND("\r\n--=-mix-bench--\r\n");
    } else {
	fprintf(stderr, "lmtp_bench: unknown kind %s\n", kind);
	exit(64);
    }
}

/* send_mail - one transaction; return the code after DATA, latency in *lat */

static int send_mail(struct conn *c, char *msg, long id, int i, int seed,
		             double *lat)
{
    int     len;
    char    subject[256];
    char    extra[512] = "";

    if (seed < 0) {
	snprintf(subject, sizeof(subject),
		 "=?UTF-8?Q?Imprimante_en_panne_=C3=A9tage?= %ld-%d-%ld",
		 id, i, (long) getpid());
    } else if (strcmp(follow, "subject") == 0) {
	snprintf(subject, sizeof(subject),
		 "RE : [Ticket#%s] =?UTF-8?Q?Imprimante_en_panne_=C3=A9tage?=",
		 seed_ticket[seed]);
    } else {
	snprintf(subject, sizeof(subject),
		 "Re: =?UTF-8?Q?Imprimante_en_panne_=C3=A9tage?=");
	snprintf(extra, sizeof(extra),
		 "In-Reply-To: <%s>\r\nReferences: <%s>\r\n",
		 seed_msgid[seed], seed_msgid[seed]);
    }
    len = snprintf(msg, 4096,
		   "MAIL FROM:<user%ld@example.org>\r\n"
		   "RCPT TO:<%s>\r\nDATA\r\n", seed < 0 ? id : seed, rcpt);
    if (send_all(c->fd, msg, (size_t) len) < 0
	|| reply(c) != 250 || reply(c) != 250 || reply(c) != 354) {
	fprintf(stderr, "lmtp_bench: envelope refused: %s", c->last);
	exit(1);
    }
    len = snprintf(msg, 4096,
		   "From: Marie Dupont <user%ld@example.org>\r\n"
		   "To: %s\r\n"
		   "Subject: %s\r\n"
		   "Message-ID: <bench.%ld.%d.%ld.%d@example.org>\r\n%s"
		   "Date: Fri, 27 Nov 2026 09:14:03 +0100\r\n",
		   seed < 0 ? id : seed, rcpt, subject, id, i, (long) getpid(),
		   seed < -1 ? 1 : 0, extra);
    memcpy(msg + len, body, body_len);
    len += (int) body_len;
    memcpy(msg + len, "\r\n.\r\n", 5);
    len += 5;
    if (send_all(c->fd, msg, (size_t) len) < 0)
	return (-1);
    double  t0 = now();
    int     code = reply(c);

    *lat = now() - t0;
    return (code);
}

/* open_session - connect, greeting, LHLO */

static void open_session(struct conn *c)
{
    c->have = 0;
    if ((c->fd = dial()) < 0 || reply(c) != 220) {
	fprintf(stderr, "lmtp_bench: cannot connect to %s\n", addr);
	exit(1);
    }
    send_all(c->fd, "LHLO bench.test\r\n", 17);
    if (reply(c) != 250) {
	fprintf(stderr, "lmtp_bench: LHLO refused: %s", c->last);
	exit(1);
    }
}

/* seed - create SEEDS tickets, remember their numbers and Message-IDs */

static void seed(void)
{
    struct conn *c = calloc(1, sizeof(*c));
    char   *msg = malloc(body_len + 8192);
    double  lat;

    open_session(c);
    for (int i = 0; i < SEEDS; i++) {
	const char *p;

	if (send_mail(c, msg, 9999, i, -2, &lat) != 250
	    || (p = strstr(c->last, "ticket ")) == 0) {
	    fprintf(stderr, "lmtp_bench: seed mail not taken: %s", c->last);
	    exit(1);
	}
	sscanf(p + 7, "%63[^ ]", seed_ticket[i]);
	snprintf(seed_msgid[i], sizeof(seed_msgid[i]),
		 "bench.9999.%d.%ld.1@example.org", i, (long) getpid());
    }
    send_all(c->fd, "QUIT\r\n", 6);
    reply(c);
    close(c->fd);
    free(msg);
    free(c);
}

/* worker - one session's share of the mails */

static void *worker(void *arg)
{
    long    id = (long) arg;
    int     share = mails / sessions + (id < mails % sessions);
    struct conn *c = calloc(1, sizeof(*c));
    char   *msg = malloc(body_len + 8192);
    int     followup = strcmp(follow, "new") != 0;

    open_session(c);
    for (int i = 0; i < share; i++) {
	double  lat = 0;
	int     code = send_mail(c, msg, id, i,
				 followup ? (int) ((id + i) % SEEDS) : -1, &lat);

	pthread_mutex_lock(&lock);
	latencies[nlat++] = lat;
	if (code != 250) {
	    if (failures++ < 3)
		fprintf(stderr, "lmtp_bench: %s", c->last);
	}
	pthread_mutex_unlock(&lock);
	if (code < 0)
	    break;
    }
    send_all(c->fd, "QUIT\r\n", 6);
    reply(c);
    close(c->fd);
    free(msg);
    free(c);
    return (0);
}

/* cmp - order doubles */

static int cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return ((x > y) - (x < y));
}

/* proc_cpu - utime+stime of the server in seconds */

static double proc_cpu(void)
{
    char    path[64], buf[2048], *p;
    FILE   *fp;
    unsigned long ut = 0, st = 0;

    snprintf(path, sizeof(path), "/proc/%ld/stat", server_pid);
    if ((fp = fopen(path, "r")) == 0)
	return (-1);
    if (fgets(buf, sizeof(buf), fp) && (p = strrchr(buf, ')')) != 0)
	sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	       &ut, &st);
    fclose(fp);
    return ((double) (ut + st) / (double) sysconf(_SC_CLK_TCK));
}

/* proc_hwm_kb - VmHWM of the server */

static long proc_hwm_kb(void)
{
    char    path[64], line[256];
    FILE   *fp;
    long    kb = -1;

    snprintf(path, sizeof(path), "/proc/%ld/status", server_pid);
    if ((fp = fopen(path, "r")) == 0)
	return (-1);
    while (fgets(line, sizeof(line), fp))
	if (sscanf(line, "VmHWM: %ld", &kb) == 1)
	    break;
    fclose(fp);
    return (kb);
}

/* reset_hwm - start a new peak RSS window (Linux clear_refs 5) */

static void reset_hwm(void)
{
    char    path[64];
    FILE   *fp;

    snprintf(path, sizeof(path), "/proc/%ld/clear_refs", server_pid);
    if ((fp = fopen(path, "w")) != 0) {
	fputs("5", fp);
	fclose(fp);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: lmtp_bench [-s N] [-n N] [-k plain|html|att|pdf] "
	    "[-f new|subject|refs] [-b BYTES] [-r RCPT] [-p PID] [-t TAG] ADDR\n");
    exit(64);
}

int     main(int argc, char **argv)
{
    int     ch;
    pthread_t *tids;
    double  t0, t1, cpu0 = 0, cpu1 = 0;

    while ((ch = getopt(argc, argv, "s:n:b:r:k:f:p:t:")) != -1) {
	switch (ch) {
	case 's':
	    sessions = atoi(optarg);
	    break;
	case 'n':
	    mails = atoi(optarg);
	    break;
	case 'b':
	    bytes = atoi(optarg);
	    break;
	case 'r':
	    rcpt = optarg;
	    break;
	case 'k':
	    kind = optarg;
	    break;
	case 'f':
	    follow = optarg;
	    break;
	case 'p':
	    server_pid = atol(optarg);
	    break;
	case 't':
	    tag = optarg;
	    break;
	default:
	    usage();
	}
    }
    if (optind != argc - 1 || sessions < 1 || mails < 1 || bytes < 1000
	|| (strcmp(follow, "new") && strcmp(follow, "subject")
	    && strcmp(follow, "refs")))
	usage();
    addr = argv[optind];
    build_body();
    if (strcmp(follow, "new") != 0)
	seed();
    latencies = calloc((size_t) mails, sizeof(double));
    tids = calloc((size_t) sessions, sizeof(*tids));
    if (server_pid) {
	reset_hwm();
	cpu0 = proc_cpu();
    }
    t0 = now();
    for (long i = 0; i < sessions; i++)
	pthread_create(&tids[i], 0, worker, (void *) i);
    for (int i = 0; i < sessions; i++)
	pthread_join(tids[i], 0);
    t1 = now();
    if (server_pid)
	cpu1 = proc_cpu();
    qsort(latencies, (size_t) nlat, sizeof(double), cmp);
    printf("%s mail_bytes %zu\n", tag, body_len + 250);
    printf("%s mails_per_second %.0f\n", tag, nlat / (t1 - t0));
    printf("%s latency_p50_ms %.2f\n", tag, latencies[nlat / 2] * 1000);
    printf("%s latency_p99_ms %.2f\n", tag, latencies[(nlat * 99) / 100] * 1000);
    printf("%s latency_max_ms %.2f\n", tag, latencies[nlat - 1] * 1000);
    if (server_pid) {
	printf("%s cpu_s_per_1000 %.3f\n", tag, (cpu1 - cpu0) * 1000.0 / nlat);
	printf("%s peak_rss_kb %ld\n", tag, proc_hwm_kb());
    }
    printf("%s not_250 %d\n", tag, failures + (mails - nlat));
    return (failures || nlat < mails ? 1 : 0);
}
