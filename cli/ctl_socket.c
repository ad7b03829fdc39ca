/*++
/* NAME
/*	ctl_socket 3
/* SUMMARY
/*	the control socket: one request per connection
/* SYNOPSIS
/*	#include <ctl.h>
/*
/*	void	ctl_serve(fd, store, conf, daemon_pid)
/*	int	fd;
/*	struct store *store;
/*	const struct conf *conf;
/*	long	daemon_pid;
/*
/*	int	ctl_call(socket_path, argc, argv, out, err, status_r)
/*	const char *socket_path;
/*	int	argc;
/*	char	**argv;
/*	struct buf *out;
/*	struct buf *err;
/*	int	*status_r;
/*
/*	#include "ctl_private.h"
/*
/*	void	ctl_serve_timeout(fd, store, conf, daemon_pid, timeout_ms)
/* DESCRIPTION
/*	The wire protocol (see ctl.h): the client sends each argument
/*	followed by a NUL byte, then one more NUL byte; the server answers
/*	"<status> <length>\en", <length> bytes of standard output (any
/*	bytes), the standard error text, and the connection ends. An
/*	argument therefore can not be empty.
/*
/*	ctl_serve() reads one request from the connected fd, runs it with
/*	ctl_run() and answers. A request is bounded: at most CTL_MAX_ARGS
/*	arguments and CTL_MAX_REQUEST bytes, read within CTL_SERVE_TIMEOUT_MS
/*	in all, so a stuck or hostile client cannot hold the calling
/*	thread; the answer is written with the same idle timeout. A
/*	request that breaks these rules gets status 64 and a one-line
/*	reason (when the peer still listens). The fd is not closed; it
/*	may be blocking or not. ctl_serve_timeout() is the same with an
/*	explicit timeout (tests).
/*
/*	ctl_call() connects to the unix socket socket_path, sends argv,
/*	reads the whole answer and appends its two texts to out and err.
/*	It waits at most CTL_CALL_TIMEOUT_MS for each piece of the answer.
/*
/*	Neither raises SIGPIPE: writes use send(MSG_NOSIGNAL).
/* DIAGNOSTICS
/*	ctl_call() returns 0 and sets *status_r when the daemon answered.
/*	It returns -1 with errno set otherwise: ENOENT or ECONNREFUSED
/*	when nothing listens at socket_path (the caller may then open the
/*	store itself), EINVAL for an empty argument, EMSGSIZE for a
/*	request over the limits, ENAMETOOLONG for a path too long for a
/*	unix socket, ETIMEDOUT when the daemon did not answer in time,
/*	EPROTO for a malformed answer, or the errno of the failed call.
/*
/*	ctl_serve() logs nothing about well-formed requests; a malformed
/*	or timed-out request is logged with log_warn().
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_private.h"

/* wait_fd - poll for events until deadline_ms (monotonic); 1 ready, 0 timeout */

static int wait_fd(int fd, short events, uint64_t deadline_ms)
{
    for (;;) {
	uint64_t now = time_now_ms();
	struct pollfd pfd = {.fd = fd,.events = events};
	int     n;

	if (now >= deadline_ms)
	    return (0);
	n = poll(&pfd, 1, (int) (deadline_ms - now));
	if (n > 0)
	    return (1);
	if (n == 0)
	    return (0);
	if (errno != EINTR)
	    return (-1);
    }
}

/* write_all - send everything, each wait bounded by timeout_ms; 0 or -1 */

static int write_all(int fd, const char *data, size_t len, int timeout_ms)
{
    while (len > 0) {
	ssize_t n;
	int     ready = wait_fd(fd, POLLOUT, time_now_ms() + (uint64_t) timeout_ms);

	if (ready <= 0) {
	    if (ready == 0)
		errno = ETIMEDOUT;
	    return (-1);
	}
	n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
	    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
		continue;
	    return (-1);
	}
	data += n;
	len -= (size_t) n;
    }
    return (0);
}

/* read_some - one bounded read; >0 bytes, 0 EOF, -1 error or timeout */

static ssize_t read_some(int fd, char *chunk, size_t size, uint64_t deadline_ms)
{
    for (;;) {
	ssize_t n;
	int     ready = wait_fd(fd, POLLIN, deadline_ms);

	if (ready <= 0) {
	    if (ready == 0)
		errno = ETIMEDOUT;
	    return (-1);
	}
	n = recv(fd, chunk, size, MSG_DONTWAIT);
	if (n >= 0)
	    return (n);
	if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
	    return (-1);
    }
}

/* request_complete - does data hold the final empty argument? */

static int request_complete(const char *data, size_t len)
{
    size_t  start = 0;

    for (size_t i = 0; i < len; i++) {
	if (data[i] != 0)
	    continue;
	if (i == start)
	    return (1);
	start = i + 1;
    }
    return (0);
}

/* read_request - read a request into req; NULL or the reason it failed */

static const char *read_request(int fd, struct buf *req, int timeout_ms)
{
    uint64_t deadline = time_now_ms() + (uint64_t) timeout_ms;
    char    chunk[4096];

    for (;;) {
	ssize_t n = read_some(fd, chunk, sizeof(chunk), deadline);

	if (n < 0)
	    return (errno == ETIMEDOUT ? "request timed out" :
		    "cannot read the request");
	if (n == 0)
	    return ("incomplete request");
	if (buf_append(req, chunk, (size_t) n) < 0)
	    return ("request too large");
	if (request_complete(buf_data(req), buf_len(req)))
	    return (0);
    }
}

/* split_request - NUL-separated arguments into argv (borrowed); argc or -1 */

static int split_request(char *data, char **argv, int max)
{
    int     argc = 0;

    while (*data) {
	if (argc >= max)
	    return (-1);
	argv[argc++] = data;
	data += strlen(data) + 1;
    }
    argv[argc] = 0;
    return (argc);
}

/* answer - write "status outlen", out, err */

static void answer(int fd, int status, struct buf *out, struct buf *err,
		           int timeout_ms)
{
    char    head[48];
    int     len = snprintf(head, sizeof(head), "%d %zu\n", status, buf_len(out));

    if (write_all(fd, head, (size_t) len, timeout_ms) < 0
	|| write_all(fd, buf_data(out), buf_len(out), timeout_ms) < 0
	|| write_all(fd, buf_data(err), buf_len(err), timeout_ms) < 0)
	log_warn("control: cannot send the answer: %m");
}

/* ctl_serve_timeout - one request, with an explicit timeout */

void    ctl_serve_timeout(int fd, struct store *store, const struct conf *conf,
			          long daemon_pid, int timeout_ms)
{
    struct buf *req = buf_create(256, CTL_MAX_REQUEST);
    struct buf *out = buf_create(4096, 0);
    struct buf *err = buf_create(256, 0);
    char   *argv[CTL_MAX_ARGS + 1];
    const char *problem;
    int     argc;
    int     status;

    if ((problem = read_request(fd, req, timeout_ms)) != 0) {
	log_warn("control: %s", problem);
	buf_printf(err, "%s: %s\n", CTL_PROGNAME, problem);
	status = UTIL_EX_USAGE;
    } else if ((argc = split_request(buf_data_mut(req), argv, CTL_MAX_ARGS)) < 0) {
	log_warn("control: more than %d arguments", CTL_MAX_ARGS);
	buf_printf(err, "%s: more than %d arguments\n", CTL_PROGNAME,
		   CTL_MAX_ARGS);
	status = UTIL_EX_USAGE;
    } else {
	status = ctl_run(store, conf, argc, argv, daemon_pid, out, err);
    }
    answer(fd, status, out, err, timeout_ms);
    buf_destroy(&req);
    buf_destroy(&out);
    buf_destroy(&err);
}

/* ctl_serve - one request with the default timeout */

void    ctl_serve(int fd, struct store *store, const struct conf *conf,
		          long daemon_pid)
{
    ctl_serve_timeout(fd, store, conf, daemon_pid, CTL_SERVE_TIMEOUT_MS);
}

/* encode_request - argv as the wire form; -1 with errno when it can't be */

static int encode_request(int argc, char **argv, struct buf *req)
{
    if (argc < 1 || argc > CTL_MAX_ARGS) {
	errno = argc < 1 ? EINVAL : EMSGSIZE;
	return (-1);
    }
    for (int i = 0; i < argc; i++) {
	if (argv[i] == 0 || argv[i][0] == 0) {
	    errno = EINVAL;
	    return (-1);
	}
	if (buf_append(req, argv[i], strlen(argv[i]) + 1) < 0) {
	    errno = EMSGSIZE;
	    return (-1);
	}
    }
    if (buf_append_char(req, 0) < 0) {
	errno = EMSGSIZE;
	return (-1);
    }
    return (0);
}

/* connect_unix - a connected socket, or -1 with errno */

static int connect_unix(const char *path)
{
    struct sockaddr_un sun;
    int     fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
	errno = ENAMETOOLONG;
	return (-1);
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
	return (-1);
    while (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
	int     saved = errno;

	if (saved == EINTR)
	    continue;
	if (saved == EISCONN)
	    break;
	close(fd);
	errno = saved;
	return (-1);
    }
    return (fd);
}

/* read_answer - everything until EOF; 0 or -1 with errno */

static int read_answer(int fd, struct buf *answer)
{
    char    chunk[8192];

    for (;;) {
	ssize_t n = read_some(fd, chunk, sizeof(chunk),
			      time_now_ms() + CTL_CALL_TIMEOUT_MS);

	if (n < 0)
	    return (-1);
	if (n == 0)
	    return (0);
	if (buf_append(answer, chunk, (size_t) n) < 0) {
	    errno = EMSGSIZE;
	    return (-1);
	}
    }
}

/* parse_answer - "<status> <outlen>\n" out err; 0 or -1 (EPROTO) */

static int parse_answer(const char *data, size_t len, struct buf *out,
			        struct buf *err, int *status_r)
{
    const char *nl = memchr(data, '\n', len < 32 ? len : 32);
    const char *cp = data;
    int     status = 0;
    size_t  outlen = 0;

    if (nl == 0 || nl == data)
	goto bad;
    for (; cp < nl && *cp != ' '; cp++) {
	if (*cp < '0' || *cp > '9' || status > 255)
	    goto bad;
	status = status * 10 + (*cp - '0');
    }
    if (status > 255 || cp == data || cp >= nl || *cp++ != ' ' || cp == nl)
	goto bad;
    for (; cp < nl; cp++) {
	if (*cp < '0' || *cp > '9' || outlen > SIZE_MAX / 10 - 10)
	    goto bad;
	outlen = outlen * 10 + (size_t) (*cp - '0');
    }
    nl++;
    if (outlen > len - (size_t) (nl - data))
	goto bad;
    if (buf_append(out, nl, outlen) < 0
	|| buf_append(err, nl + outlen, len - (size_t) (nl - data) - outlen) < 0) {
	errno = EMSGSIZE;
	return (-1);
    }
    *status_r = status;
    return (0);

bad:
    errno = EPROTO;
    return (-1);
}

/* ctl_call - one request to the daemon */

int     ctl_call(const char *socket_path, int argc, char **argv,
		         struct buf *out, struct buf *err, int *status_r)
{
    struct buf *req = buf_create(256, CTL_MAX_REQUEST);
    struct buf *ans = buf_create(4096, 0);
    int     fd = -1;
    int     ret = -1;
    int     saved;

    if (encode_request(argc, argv, req) < 0)
	goto done;
    if ((fd = connect_unix(socket_path)) < 0)
	goto done;
    if (write_all(fd, buf_data(req), buf_len(req), CTL_CALL_TIMEOUT_MS) < 0)
	goto done;
    (void) shutdown(fd, SHUT_WR);
    if (read_answer(fd, ans) < 0)
	goto done;
    ret = parse_answer(buf_data(ans), buf_len(ans), out, err, status_r);

done:
    saved = errno;
    if (fd >= 0)
	close(fd);
    buf_destroy(&req);
    buf_destroy(&ans);
    errno = saved;
    return (ret);
}
