/*++
/* NAME
/*	postdesk-milter 8
/* SUMMARY
/*	postdesk policy at SMTP time inside Postfix's smtpd
/* SYNOPSIS
/*	postdesk-milter [-f] [-c FILE]
/* DESCRIPTION
/*	postdesk-milter is a milter (libmilter) for Postfix's smtpd. It
/*	refuses, while the client is still connected, what postdesk would
/*	not accept: unknown recipients in postdesk's dedicated domains and
/*	forged or expired signed command addresses (550 5.1.1), a declared
/*	size above max_message_size (552 5.3.4), loops (554 5.4.6), and
/*	senders or clients over their hourly rate of new mail to queue
/*	addresses (451 4.7.1). At end of message it deletes every
/*	X-Postdesk-* header and every Authentication-Results header that
/*	claims our authserv-id. It never opens the store.
/*
/*	Start-up: parse arguments, load the configuration and the HMAC key
/*	(secret_file), open syslog, open the milter socket, then as root
/*	drop privileges; go to the background unless -f; run libmilter in
/*	a thread while the main thread handles signals.
/*
/*	SIGHUP loads the configuration and the key again; on any error
/*	both old ones stay in effect. A transaction keeps the snapshot of
/*	its MAIL FROM. milter_listen needs a restart. SIGTERM stops
/*	libmilter (it may take a few seconds to close its socket).
/*
/*	Options:
/* .IP "-c FILE"
/*	Configuration file (default /etc/postdesk/postdesk.conf).
/* .IP -f
/*	Stay in the foreground and log to stderr as well as syslog.
/* SECURITY
/*	Started as root it reads the key and opens its socket, then drops
/*	to the configured user (default postdesk); it refuses to start as
/*	root when that user does not exist.
/* STANDARDS
/*	RFC 5321 (SMTP), RFC 3463 (enhanced status codes), RFC 8601
/*	(Authentication-Results).
/* DIAGNOSTICS
/*	Exit status 0 after SIGTERM, 64 for usage errors, 78 for a bad
/*	configuration or key file, 75 when the socket cannot be opened.
/* CONFIGURATION PARAMETERS
/*	milter_listen, domain, dedicated_domains, command_localpart,
/*	secret_file, key_epoch, token_max_age, max_message_size, instance,
/*	authserv_id, milter_max_received, milter_rate_sender,
/*	milter_rate_client, user, and the queue addresses; see
/*	postdesk.conf(5).
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <util.h>
#include <conf.h>
#include <sigaddr.h>

#include "milter_private.h"

static const char *conf_file = CONF_DEFAULT_PATH;
static char *running_listen;
static int event_pipe[2] = {-1, -1};

/* on_signal - tell the main loop; async-signal-safe */

static void on_signal(int sig)
{
    char    ev = sig == SIGHUP ? 'H' : 'T';
    int     saved = errno;

    /* A full pipe means enough events are pending already. */
    ssize_t ignored = write(event_pipe[1], &ev, 1);

    (void) ignored;
    errno = saved;
}

/* run_libmilter - the libmilter thread; tells the main loop when done */

static void *run_libmilter(void *arg)
{
    char    ev = 'X';

    *(int *) arg = milter_callbacks_run();
    if (write(event_pipe[1], &ev, 1) < 0)
	log_error("cannot wake the main thread: %m");
    return (0);
}

/* load_both - a configuration and its key, or neither */

static int load_both(struct conf **conf_r, struct sigaddr_key **key_r)
{
    char   *errors = 0;

    if ((*conf_r = conf_load(conf_file, &errors)) == 0) {
	log_error("%s: bad configuration", conf_file);
	for (char *line = strtok(errors, "\n"); line; line = strtok(0, "\n"))
	    log_error("%s", line);
	mem_free(errors);
	return (-1);
    }
    if (sigaddr_key_load(conf_secret_file(*conf_r), conf_key_epoch(*conf_r),
			 key_r, &errors) < 0) {
	log_error("%s", errors);
	mem_free(errors);
	conf_unref(conf_r);
	return (-1);
    }
    return (0);
}

/* reload - SIGHUP: new snapshot, or keep the running one */

static void reload(void)
{
    struct conf *conf;
    struct sigaddr_key *key;

    if (load_both(&conf, &key) < 0) {
	log_error("reload: keeping the running configuration and key");
	return;
    }
    if (strcmp(conf_milter_listen(conf), running_listen) != 0)
	log_warn("reload: milter_listen takes effect at the next restart");
    milter_snapshot_install(conf, key);
    log_info("reload: %s: new configuration and key in effect", conf_file);
}

/* drop_privileges - as root, become conf_user */

static void drop_privileges(const struct passwd *pw)
{
    if (setgroups(0, 0) < 0 || initgroups(pw->pw_name, pw->pw_gid) < 0
	|| setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
	log_fatal("cannot drop privileges to %s: %m", pw->pw_name);
    if (setuid(0) == 0)
	log_panic("privileges were not dropped");
}

/* usage - the synopsis */

static void usage(FILE *fp)
{
    fprintf(fp, "usage: postdesk-milter [-f] [-c FILE]\n"
	    "  -c FILE  configuration (default %s)\n"
	    "  -f       stay in the foreground, log to stderr too\n",
	    CONF_DEFAULT_PATH);
}

/* open_socket - the listener, as root; unix sockets mode 0666 */

static void open_socket(const char *listen)
{
    char   *spec = milter_conn_spec(listen);
    char   *error;
    mode_t  old;

    if (spec == 0)
	log_fatal_status(UTIL_EX_CONFIG, "milter_listen: cannot use \"%s\"", listen);
    old = umask(strncmp(spec, "unix:", 5) == 0 ? 0111 : 0077);
    if (milter_callbacks_register(spec, &error) < 0)
	log_fatal("%s", error);
    umask(old);
    mem_free(spec);
}

/* main - parse, load, listen, drop privileges, run, reload, stop */

int     main(int argc, char **argv)
{
    int     foreground = 0, ch, status = 0, stopping = 0;
    struct conf *conf;
    struct sigaddr_key *key;
    struct passwd *pw = 0;
    struct sigaction sa;
    pthread_t tid;
    char    ev, real[PATH_MAX];

    for (int i = 1; i < argc; i++) {
	if (strcmp(argv[i], "--help") == 0) {
	    usage(stdout);
	    return (UTIL_EX_OK);
	}
    }
    while ((ch = getopt(argc, argv, "c:f")) != -1) {
	if (ch == 'c')
	    conf_file = optarg;
	else if (ch == 'f')
	    foreground = 1;
	else {
	    usage(stderr);
	    return (UTIL_EX_USAGE);
	}
    }
    if (optind < argc) {
	fprintf(stderr, "postdesk-milter: unexpected argument \"%s\"\n", argv[optind]);
	return (UTIL_EX_USAGE);
    }
    if (realpath(conf_file, real) != 0)
	conf_file = real;			/* reload after daemon() chdir("/") */
    log_open("postdesk-milter", 1);
    if (load_both(&conf, &key) < 0) {
	fprintf(stderr, "postdesk-milter: bad configuration or key file (%s)\n", conf_file);
	return (UTIL_EX_CONFIG);
    }
    signal(SIGPIPE, SIG_IGN);
    if (geteuid() == 0 && (pw = getpwnam(conf_user(conf))) == 0)
	log_fatal_status(UTIL_EX_CONFIG, "user \"%s\" does not exist: create it "
			 "(useradd --system %s) or set user in %s",
			 conf_user(conf), conf_user(conf), conf_file);
    running_listen = mem_strdup(conf_milter_listen(conf));
    open_socket(running_listen);
    if (pw)
	drop_privileges(pw);
    if (!foreground) {
	if (daemon(0, 0) < 0)
	    log_fatal("cannot go to the background: %m");
	log_set_stderr(0);
    }
    milter_snapshot_install(conf, key);

    if (pipe2(event_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
	log_fatal("pipe: %m");
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, 0);
    sigaction(SIGTERM, &sa, 0);
    sigaction(SIGINT, &sa, 0);
    /* libmilter blocks these signals in its own threads only. */
    if ((errno = pthread_create(&tid, 0, run_libmilter, &status)) != 0)
	log_fatal("cannot start the libmilter thread: %m");
    log_info("ready: milter_listen=%s, domain=%s", running_listen,
	     conf_domain(conf));

    for (;;) {
	fd_set  rfds;

	FD_ZERO(&rfds);
	FD_SET(event_pipe[0], &rfds);
	if (select(event_pipe[0] + 1, &rfds, 0, 0, 0) < 0 && errno != EINTR)
	    log_fatal("select: %m");
	if (read(event_pipe[0], &ev, 1) != 1)
	    continue;
	if (ev == 'H' && !stopping) {
	    reload();
	} else if (ev == 'T' && !stopping) {
	    log_info("stopping");
	    stopping = 1;
	    milter_callbacks_stop();
	} else if (ev == 'X') {
	    break;
	}
    }
    pthread_join(tid, 0);
    milter_callbacks_shutdown();
    mem_free(running_listen);
    if (status < 0 && !stopping) {
	log_error("libmilter stopped with an error");
	return (UTIL_EX_TEMPFAIL);
    }
    log_info("stopped");
    return (UTIL_EX_OK);
}
