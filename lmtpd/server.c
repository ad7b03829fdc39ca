/*++
/* NAME
/*	server 3
/* SUMMARY
/*	postdesk-lmtpd listeners, session threads and control socket
/* SYNOPSIS
/*	#include "lmtpd_private.h"
/*
/*	int	server_listen(spec, error_r)
/*	const char *spec;
/*	char	**error_r;
/*
/*	struct server *server_create(listen_fd, control_path, dc, limits)
/*	int	listen_fd;
/*	const char *control_path;
/*	const struct deliver_context *dc;
/*	const struct lmtp_limits *limits;
/*
/*	void	server_run(server, reload)
/*	struct server *server;
/*	void	(*reload)(void);
/*
/*	void	server_destroy(serverp)
/*	struct server **serverp;
/* DESCRIPTION
/*	server_listen() binds "unix:/path" (mode 0666: Postfix's lmtp(8)
/*	runs as the mail owner and must be able to connect; protect the
/*	socket with the directory, as Postfix's private/ does) or
/*	"inet:host:port". It is called before privileges are dropped.
/*
/*	server_run() is the event loop of the main thread. It accepts LMTP
/*	connections, each served by its own thread running the protocol
/*	engine with the delivery handler, and control connections from
/*	postdeskctl, each answered by ctl_serve() in a short-lived thread.
/*	Signals arrive through a self-pipe: SIGHUP calls reload(), SIGTERM
/*	and SIGINT stop accepting (the LMTP socket is removed so Postfix
/*	defers instead of waiting), let every transaction in flight finish
/*	and be answered, tell idle sessions 421, and return when the last
/*	session is gone.
/*
/*	At most SERVER_MAX_SESSIONS sessions run at once; a connection
/*	beyond that is answered 421 4.3.2 and closed, and Postfix retries.
/* DIAGNOSTICS
/*	Accept errors are logged and the loop goes on.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <util.h>
#include <conf.h>
#include <ctl.h>

#include "lmtpd_private.h"

#define SERVER_MAX_SESSIONS	256
#define SERVER_STEP_MS		1000	/* how often sessions look at the stop flag */

struct server {
    int     listen_fd;
    int     control_fd;
    char   *control_path;
    char   *unix_path;			/* LMTP socket to remove at stop, or NULL */
    const struct deliver_context *dc;
    struct lmtp_limits limits;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int     sessions;			/* LMTP threads alive */
    int     controls;			/* control threads alive */
    atomic_int stop;
};

struct conn {
    struct server *server;
    int     fd;
};

static int signal_pipe[2] = {-1, -1};

/* on_signal - async-signal-safe: forward the signal number */

static void on_signal(int sig)
{
    unsigned char ch = (unsigned char) sig;
    int     saved = errno;

    if (write(signal_pipe[1], &ch, 1) < 0) {
	/* Nothing sensible to do in a signal handler. */
    }
    errno = saved;
}

/* server_listen - bind a listener */

int     server_listen(const char *spec, char **error_r)
{
    int     fd;

    if (strncmp(spec, "unix:", 5) == 0) {
	struct sockaddr_un sun;
	const char *path = spec + 5;
	struct stat st;

	if (strlen(path) >= sizeof(sun.sun_path) || *path != '/') {
	    *error_r = mem_printf("listen: bad unix socket path \"%s\"", path);
	    return (-1);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);		/* @UNSAFE: length checked */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
	    (void) unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
	    || bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0
	    || chmod(path, 0666) < 0
	    || listen(fd, 128) < 0) {
	    *error_r = mem_printf("listen: cannot listen on %s: %s", path, strerror(errno));
	    if (fd >= 0)
		close(fd);
	    return (-1);
	}
	return (fd);
    }
    if (strncmp(spec, "inet:", 5) == 0) {
	char   *host = mem_strdup(spec + 5);
	char   *port = strrchr(host, ':');
	struct addrinfo hints, *res = 0;
	int     one = 1;
	int     err;

	if (port == 0 || port[1] == 0) {
	    *error_r = mem_printf("listen: expected inet:HOST:PORT, got \"%s\"", spec);
	    mem_free(host);
	    return (-1);
	}
	*port++ = 0;
	if (*host == '[' && host[strlen(host) - 1] == ']') {
	    memmove(host, host + 1, strlen(host));
	    host[strlen(host) - 1] = 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((err = getaddrinfo(*host ? host : 0, port, &hints, &res)) != 0) {
	    *error_r = mem_printf("listen: %s: %s", spec, gai_strerror(err));
	    mem_free(host);
	    return (-1);
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0
	    || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
	    || bind(fd, res->ai_addr, res->ai_addrlen) < 0
	    || listen(fd, 128) < 0) {
	    *error_r = mem_printf("listen: cannot listen on %s: %s", spec, strerror(errno));
	    if (fd >= 0)
		close(fd);
	    fd = -1;
	}
	freeaddrinfo(res);
	mem_free(host);
	return (fd);
    }
    *error_r = mem_printf("listen: expected unix:/path or inet:host:port, got \"%s\"", spec);
    return (-1);
}

/* session_main - one LMTP connection */

static void *session_main(void *arg)
{
    struct conn *c = arg;
    struct server *srv = c->server;
    struct deliver_session *ds = deliver_session_create(srv->dc);
    struct lmtp_session *s;
    int     told = 0;

    s = lmtp_session_create(c->fd, &deliver_handler, ds, &srv->limits);
    while (lmtp_session_step(s, SERVER_STEP_MS)) {
	if (atomic_load(&srv->stop) && !told) {
	    lmtp_session_shutdown(s);
	    told = 1;
	}
    }
    lmtp_session_destroy(&s);
    deliver_session_destroy(&ds);
    close(c->fd);
    mem_free(c);

    pthread_mutex_lock(&srv->lock);
    if (--srv->sessions == 0)
	pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
    return (0);
}

/* control_main - one postdeskctl request */

static void *control_main(void *arg)
{
    struct conn *c = arg;
    struct server *srv = c->server;
    struct conf *conf = srv->dc->conf_get();

    ctl_serve(c->fd, srv->dc->store, conf, (long) getpid());
    conf_unref(&conf);
    if (srv->dc->after_control)
	srv->dc->after_control();
    close(c->fd);
    mem_free(c);
    pthread_mutex_lock(&srv->lock);
    if (--srv->controls == 0)
	pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
    return (0);
}

/* spawn - run fn(conn) in a detached thread */

static int spawn(void *(*fn) (void *), struct conn *c)
{
    pthread_attr_t attr;
    pthread_t tid;
    int     err;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&tid, &attr, fn, c);
    pthread_attr_destroy(&attr);
    if (err != 0) {
	errno = err;
	log_warn("NOID: cannot start a thread: %m");
	return (-1);
    }
    return (0);
}

/* accept_lmtp - a new LMTP connection */

static void accept_lmtp(struct server *srv)
{
    struct conn *c;
    int     fd;

    if ((fd = accept4(srv->listen_fd, 0, 0, SOCK_CLOEXEC)) < 0) {
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
	    log_warn("NOID: accept: %m");
	return;
    }
    pthread_mutex_lock(&srv->lock);
    if (srv->sessions >= SERVER_MAX_SESSIONS) {
	pthread_mutex_unlock(&srv->lock);
	static const char busy[] = "421 4.3.2 Too many sessions, try again later\r\n";

	(void) send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
	close(fd);
	log_warn("NOID: session limit %d reached", SERVER_MAX_SESSIONS);
	return;
    }
    srv->sessions++;
    pthread_mutex_unlock(&srv->lock);

    c = mem_zalloc(sizeof(*c));
    c->server = srv;
    c->fd = fd;
    if (spawn(session_main, c) < 0) {
	close(fd);
	mem_free(c);
	pthread_mutex_lock(&srv->lock);
	srv->sessions--;
	pthread_mutex_unlock(&srv->lock);
    }
}

/* accept_control - a new postdeskctl request */

static void accept_control(struct server *srv)
{
    struct conn *c;
    int     fd;

    if ((fd = accept4(srv->control_fd, 0, 0, SOCK_CLOEXEC)) < 0)
	return;
    c = mem_zalloc(sizeof(*c));
    c->server = srv;
    c->fd = fd;
    pthread_mutex_lock(&srv->lock);
    srv->controls++;
    pthread_mutex_unlock(&srv->lock);
    if (spawn(control_main, c) < 0) {
	close(fd);
	mem_free(c);
	pthread_mutex_lock(&srv->lock);
	srv->controls--;
	pthread_mutex_unlock(&srv->lock);
    }
}

/* server_create - set up the loop */

struct server *server_create(int listen_fd, const char *control_path,
			             const struct deliver_context *dc,
			             const struct lmtp_limits *limits)
{
    struct server *srv = mem_zalloc(sizeof(*srv));
    struct sockaddr_un sun;
    socklen_t len = sizeof(sun);
    char   *error;

    srv->listen_fd = listen_fd;
    srv->dc = dc;
    srv->limits = *limits;
    srv->control_path = mem_strdup(control_path);
    pthread_mutex_init(&srv->lock, 0);
    pthread_cond_init(&srv->idle, 0);
    atomic_init(&srv->stop, 0);

    if (getsockname(listen_fd, (struct sockaddr *) &sun, &len) == 0
	&& sun.sun_family == AF_UNIX && sun.sun_path[0] == '/')
	srv->unix_path = mem_strndup(sun.sun_path, sizeof(sun.sun_path));

    char   *spec = mem_printf("unix:%s", control_path);

    if ((srv->control_fd = server_listen(spec, &error)) < 0)
	log_fatal("control socket: %s", error);
    (void) chmod(control_path, 0660);
    mem_free(spec);

    if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
	log_fatal("pipe: %m");
    return (srv);
}

/* server_run - the event loop */

void    server_run(struct server *srv, void (*reload) (void))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, 0);
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGHUP, &sa, 0);

    while (!atomic_load(&srv->stop)) {
	struct pollfd pfd[3] = {
	    {.fd = srv->listen_fd,.events = POLLIN},
	    {.fd = srv->control_fd,.events = POLLIN},
	    {.fd = signal_pipe[0],.events = POLLIN},
	};

	if (poll(pfd, 3, -1) < 0) {
	    if (errno != EINTR)
		log_fatal("poll: %m");
	    continue;
	}
	if (pfd[2].revents & POLLIN) {
	    unsigned char sig;

	    while (read(signal_pipe[0], &sig, 1) == 1) {
		if (sig == SIGHUP) {
		    reload();
		} else {
		    log_info("stopping on signal %d: finishing sessions in flight", sig);
		    atomic_store(&srv->stop, 1);
		}
	    }
	}
	if (atomic_load(&srv->stop))
	    break;
	if (pfd[0].revents & POLLIN)
	    accept_lmtp(srv);
	if (pfd[1].revents & POLLIN)
	    accept_control(srv);
    }

    /* Stop accepting: Postfix gets "connection refused" and defers. */
    close(srv->listen_fd);
    srv->listen_fd = -1;
    if (srv->unix_path)
	(void) unlink(srv->unix_path);

    /* Keep answering postdeskctl while the sessions finish. */
    pthread_mutex_lock(&srv->lock);
    while (srv->sessions > 0) {
	pthread_mutex_unlock(&srv->lock);
	struct pollfd pfd = {.fd = srv->control_fd,.events = POLLIN};

	if (poll(&pfd, 1, 200) > 0)
	    accept_control(srv);
	pthread_mutex_lock(&srv->lock);
    }
    /* The store closes after this: no control thread may still use it. */
    while (srv->controls > 0)
	pthread_cond_wait(&srv->idle, &srv->lock);
    pthread_mutex_unlock(&srv->lock);
}

/* server_destroy - close the control socket */

void    server_destroy(struct server **srvp)
{
    struct server *srv;

    if (srvp == 0 || (srv = *srvp) == 0)
	return;
    if (srv->listen_fd >= 0)
	close(srv->listen_fd);
    close(srv->control_fd);
    (void) unlink(srv->control_path);
    mem_free(srv->control_path);
    mem_free(srv->unix_path);
    pthread_mutex_destroy(&srv->lock);
    pthread_cond_destroy(&srv->idle);
    mem_free(srv);
    *srvp = 0;
}
