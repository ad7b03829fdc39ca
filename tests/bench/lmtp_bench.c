/*++
/* NAME
/*	lmtp_bench 1
/* SUMMARY
/*	deliver generated mails to an LMTP server and measure
/* SYNOPSIS
/*	lmtp_bench [-s SESSIONS] [-n MAILS] [-b BYTES] [-r RCPT] ADDR
/* DESCRIPTION
/*	lmtp_bench opens SESSIONS connections to ADDR (unix:/path or
/*	inet:host:port), and delivers MAILS messages in all, spread over
/*	the sessions, each one transaction with one recipient (RCPT, default
/*	helpdesk@desk.test). Every message is a new ticket (a unique subject
/*	and Message-ID) of about BYTES bytes of French plain text with an
/*	encoded-word subject. (Follow-ups and the realistic mix are the
/*	benchmark issue's.)
/*
/*	It prints one line per figure: mails per second, latency from the
/*	end of DATA to the reply (p50, p99, max), and the number of replies
/*	that were not 250.
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

static const char *addr = 0;
static const char *rcpt = "helpdesk@desk.test";
static int sessions = 8;
static int mails = 1000;
static int bytes = 3000;
static double *latencies;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct conn {
    int     fd;
    char    in[8192];
    size_t  have;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec + ts.tv_nsec / 1e9);
}

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

	snprintf(host, sizeof(host), "%s", addr + 5);
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

static void *worker(void *arg)
{
    long    id = (long) arg;
    int     share = mails / sessions + (id < mails % sessions);
    struct conn c = {.fd = dial()};
    char   *msg = malloc((size_t) bytes + 4096);

    if (c.fd < 0 || reply(&c) != 220) {
	fprintf(stderr, "lmtp_bench: cannot connect to %s\n", addr);
	exit(1);
    }
    send_all(c.fd, "LHLO bench.test\r\n", 17);
    reply(&c);
    for (int i = 0; i < share; i++) {
	int     len;
	char    subject[128];

	snprintf(subject, sizeof(subject),
		     "=?UTF-8?Q?Imprimante_en_panne_=C3=A9tage?= %ld-%d", id, i);
	len = snprintf(msg, 4096,
		       "MAIL FROM:<user%ld@example.org> SIZE=%d\r\n"
		       "RCPT TO:<%s>\r\nDATA\r\n", id, bytes, rcpt);
	send_all(c.fd, msg, (size_t) len);
	if (reply(&c) != 250 || reply(&c) != 250 || reply(&c) != 354) {
	    fprintf(stderr, "lmtp_bench: envelope refused\n");
	    exit(1);
	}
	len = snprintf(msg, 4096,
		       "From: Marie Dupont <user%ld@example.org>\r\n"
		       "To: helpdesk@desk.test\r\n"
		       "Subject: %s\r\n"
		       "Message-ID: <bench.%ld.%d.%ld@example.org>\r\n"
		       "Date: Fri, 27 Nov 2026 09:14:03 +0100\r\n"
		       "MIME-Version: 1.0\r\n"
		       "Content-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 8bit\r\n\r\n",
		       id, subject, id, i, (long) getpid());
	while (len < bytes) {
	    static const char line[] =
		"Bonjour, l'imprimante du troisi\xc3\xa8me \xc3\xa9tage ne r\xc3\xa9pond plus depuis ce matin.\r\n";

	    memcpy(msg + len, line, sizeof(line) - 1);
	    len += (int) sizeof(line) - 1;
	}
	memcpy(msg + len, ".\r\n", 3);
	len += 3;
	send_all(c.fd, msg, (size_t) len);
	double  t0 = now();
	int     code = reply(&c);
	double  t1 = now();

	pthread_mutex_lock(&lock);
	static int k;

	latencies[k++] = t1 - t0;
	if (code != 250)
	    failures++;
	pthread_mutex_unlock(&lock);
    }
    send_all(c.fd, "QUIT\r\n", 6);
    reply(&c);
    close(c.fd);
    free(msg);
    return (0);
}

static int cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return ((x > y) - (x < y));
}

int     main(int argc, char **argv)
{
    int     ch;
    pthread_t *tids;
    double  t0, t1;

    while ((ch = getopt(argc, argv, "s:n:b:r:")) != -1) {
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
	default:
	    fprintf(stderr, "usage: lmtp_bench [-s N] [-n N] [-b BYTES] [-r RCPT] ADDR\n");
	    return (64);
	}
    }
    if (optind != argc - 1 || sessions < 1 || mails < 1 || bytes < 100) {
	fprintf(stderr, "usage: lmtp_bench [-s N] [-n N] [-b BYTES] [-r RCPT] ADDR\n");
	return (64);
    }
    addr = argv[optind];
    latencies = calloc((size_t) mails, sizeof(double));
    tids = calloc((size_t) sessions, sizeof(*tids));
    t0 = now();
    for (long i = 0; i < sessions; i++)
	pthread_create(&tids[i], 0, worker, (void *) i);
    for (int i = 0; i < sessions; i++)
	pthread_join(tids[i], 0);
    t1 = now();
    qsort(latencies, (size_t) mails, sizeof(double), cmp);
    printf("sessions=%d mails=%d bytes=%d\n", sessions, mails, bytes);
    printf("mails_per_second %.0f\n", mails / (t1 - t0));
    printf("latency_p50_ms %.2f\n", latencies[mails / 2] * 1000);
    printf("latency_p99_ms %.2f\n", latencies[(mails * 99) / 100] * 1000);
    printf("latency_max_ms %.2f\n", latencies[mails - 1] * 1000);
    printf("not_250 %d\n", failures);
    return (failures ? 1 : 0);
}
