/*++
/* NAME
/*	postdesk-lmtpd 8
/* SUMMARY
/*	postdesk LMTP delivery agent and ticket store
/* SYNOPSIS
/*	postdesk-lmtpd [-f] [-c FILE]
/* DESCRIPTION
/*	postdesk-lmtpd receives mail from Postfix over LMTP (RFC 2033),
/*	threads each message into a ticket and commits it to the Berkeley
/*	DB store before it answers 250. It is the only process that opens
/*	the store; postdeskctl reaches it over STATE_DIR/control.
/*
/*	Start-up: parse arguments, load the configuration, open syslog,
/*	then as root: read the HMAC key of signed addresses, create
/*	STATE_DIR for the unprivileged user, lock the pid file, bind the
/*	listener, drop privileges; load the mail templates; then go to the
/*	background (unless -f), open the store (with recovery), start the
/*	outbox sender and the writer threads and run the event loop.
/*
/*	Options:
/* .IP "-c FILE"
/*	Configuration file (default /etc/postdesk/postdesk.conf).
/* .IP -f
/*	Stay in the foreground and log to stderr as well as syslog.
/* SECURITY
/*	Started as root it drops to the configured user (default postdesk)
/*	before it reads any mail; it refuses to run as root otherwise.
/* STANDARDS
/*	RFC 2033 (LMTP), RFC 5321 (SMTP), RFC 5322 (messages), RFC 3463
/*	(enhanced status codes).
/* DIAGNOSTICS
/*	Exit status 0 after SIGTERM, 64 for usage errors, 78 for a bad
/*	configuration, 75 when the store or the listener is unavailable.
/* CONFIGURATION PARAMETERS
/*	state_dir, listen, user, max_message_size, and the queue sections;
/*	see postdesk.conf(5).
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include <util.h>
#include <conf.h>
#include <store.h>
#include <ctl.h>
#include <notify.h>
#include <sigaddr.h>

#include "lmtpd_private.h"

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conf *conf_current;
static struct notify *notify_current;	/* templates and key of conf_current */
static const char *conf_file = CONF_DEFAULT_PATH;
static struct notify_sender *sender;	/* the outbox sender thread */
static struct notify_sweeper *sweeper;	/* SLA warnings and escalations */

/* wake_sender - outbound mail may be due now (retry, reload) */

static void wake_sender(void)
{
    if (sender)
	notify_sender_wake(sender);
}

/* conf_get - a reference to the current snapshot */

static struct conf *conf_get(void)
{
    struct conf *c;

    pthread_mutex_lock(&conf_lock);
    c = conf_ref(conf_current);
    pthread_mutex_unlock(&conf_lock);
    return (c);
}

/* snapshot_get - matching references to the conf and notify bundle */

static void snapshot_get(struct conf **conf_r, struct notify **notify_r)
{
    pthread_mutex_lock(&conf_lock);
    *conf_r = conf_ref(conf_current);
    *notify_r = notify_ref(notify_current);
    pthread_mutex_unlock(&conf_lock);
}

/* log_lines - log each line of a multi-line error text */

static void log_lines(const char *what, char *text)
{
    char   *save = 0;

    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(0, "\n", &save))
	log_error("%s: %s", what, line);
}

/* load_bundle - the key and templates that go with a conf */

static struct notify *load_bundle(const struct conf *conf, char **errors_r)
{
    struct sigaddr_key *key;

    if (sigaddr_key_load(conf_secret_file(conf), conf_key_epoch(conf),
			 &key, errors_r) < 0)
	return (0);
    return (notify_create(conf, key, errors_r));
}

/* reload - SIGHUP: install a new snapshot, or keep the old one */

static void reload(void)
{
    char   *errors = 0;
    struct conf *fresh = conf_load(conf_file, &errors);
    struct notify *nfresh;
    struct conf *old;
    struct notify *nold;

    if (fresh == 0 || (nfresh = load_bundle(fresh, &errors)) == 0) {
	log_error("reload: %s: bad configuration, keeping the running one", conf_file);
	log_lines("reload", errors);
	mem_free(errors);
	if (fresh)
	    conf_unref(&fresh);
	return;
    }
    pthread_mutex_lock(&conf_lock);
    old = conf_current;
    nold = notify_current;
    if (strcmp(conf_state_dir(old), conf_state_dir(fresh)) != 0
	|| strcmp(conf_listen(old), conf_listen(fresh)) != 0)
	log_warn("reload: state_dir and listen take effect at the next restart");
    conf_current = fresh;
    notify_current = nfresh;
    pthread_mutex_unlock(&conf_lock);
    conf_unref(&old);
    notify_unref(&nold);
    log_info("reload: %s: new configuration in effect", conf_file);
    wake_sender();			/* new relay settings: try now */
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: postdesk-lmtpd [-f] [-c FILE]\n"
	    "  -c FILE  configuration (default %s)\n"
	    "  -f       stay in the foreground, log to stderr too\n",
	    CONF_DEFAULT_PATH);
}

/* prepare_root - as root: state dir, pid lock, listener, drop privileges */

static int prepare(const struct conf *conf, int *lock_fd_r)
{
    const char *dir = conf_state_dir(conf);
    struct passwd *pw = 0;
    char   *pidfile = mem_printf("%s/postdesk-lmtpd.pid", dir);
    char   *error;
    int     fd;

    if (geteuid() == 0 && (pw = getpwnam(conf_user(conf))) == 0)
	log_fatal_status(UTIL_EX_CONFIG, "user \"%s\" does not exist: create it "
			 "(useradd --system %s) or set user in %s",
			 conf_user(conf), conf_user(conf), conf_file);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
	log_fatal("cannot create state_dir %s: %m", dir);
    if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
	log_fatal("cannot chown state_dir %s: %m", dir);
    if ((*lock_fd_r = open(pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
	log_fatal("cannot open %s: %m", pidfile);
    if (pw && fchown(*lock_fd_r, pw->pw_uid, pw->pw_gid) < 0)
	log_fatal("cannot chown %s: %m", pidfile);
    if (flock(*lock_fd_r, LOCK_EX | LOCK_NB) < 0)
	log_fatal("another postdesk-lmtpd is running on %s", dir);
    mem_free(pidfile);

    if ((fd = server_listen(conf_listen(conf), &error)) < 0)
	log_fatal("%s", error);

    if (pw) {
	if (setgroups(0, 0) < 0 || initgroups(pw->pw_name, pw->pw_gid) < 0
	    || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
	    log_fatal("cannot drop privileges to %s: %m", pw->pw_name);
	if (setuid(0) == 0)
	    log_panic("privileges were not dropped");
	/* libesmtp looks at $HOME/.authenticate at every STARTTLS: make it
	   the unprivileged user's, not root's. Still single-threaded here. */
	if (setenv("HOME", pw->pw_dir, 1) < 0)
	    log_fatal("setenv: %m");
    }
    return (fd);
}

int     main(int argc, char **argv)
{
    int     foreground = 0;
    int     ch, listen_fd, lock_fd;
    char   *errors = 0;
    struct store *store;
    struct deliver_context dc = {0};
    struct lmtp_limits limits;
    struct server *srv;
    struct sigaddr_key *key;
    char   *control;
    char   *hostname;
    static char conf_real[PATH_MAX];

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
	fprintf(stderr, "postdesk-lmtpd: unexpected argument \"%s\"\n", argv[optind]);
	return (UTIL_EX_USAGE);
    }
    if (realpath(conf_file, conf_real) != 0)
	conf_file = conf_real;			/* SIGHUP after daemon()'s chdir("/") */
    if ((conf_current = conf_load(conf_file, &errors)) == 0) {
	fprintf(stderr, "%s", errors);
	fprintf(stderr, "postdesk-lmtpd: bad configuration %s\n", conf_file);
	mem_free(errors);
	return (UTIL_EX_CONFIG);
    }
    log_open("postdesk-lmtpd", 1);
    signal(SIGPIPE, SIG_IGN);

    /* The key may be readable by root only: read it before dropping. */
    if (sigaddr_key_load(conf_secret_file(conf_current), conf_key_epoch(conf_current),
			 &key, &errors) < 0)
	log_fatal_status(UTIL_EX_CONFIG, "%s", errors);
    listen_fd = prepare(conf_current, &lock_fd);
    g_mime_init();
    if ((notify_current = notify_create(conf_current, key, &errors)) == 0) {
	log_lines(conf_file, errors);
	log_fatal_status(UTIL_EX_CONFIG, "bad templates in %s",
			 conf_templates_dir(conf_current));
    }
    if (!foreground) {
	if (daemon(0, 0) < 0)
	    log_fatal("cannot go to the background: %m");
	log_set_stderr(0);
    }
    if (ftruncate(lock_fd, 0) == 0) {
	char    pid[32];
	int     len = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());

	if (write(lock_fd, pid, (size_t) len) != len)
	    log_warn("cannot write the pid file: %m");
    }

    switch (store_open(conf_state_dir(conf_current), &store, &errors)) {
    case STORE_OK:
	break;
    case STORE_LOCKED:
	log_fatal("the store in %s is held by another process", conf_state_dir(conf_current));
    default:
	log_fatal("cannot open the store: %s", errors ? errors : "unknown error");
    }

    memset(&limits, 0, sizeof(limits));
    limits.max_message_size = conf_max_message_size(conf_current);
    limits.idle_timeout = 600;
    limits.hostname = hostname = mem_strdup(conf_domain(conf_current));

    dc.store = store;
    dc.conf_get = conf_get;
    dc.snapshot_get = snapshot_get;
    dc.after_control = wake_sender;
    sender = notify_sender_start(store, conf_get);
    if (conf_test_clock(conf_current))
	log_warn("test_clock: the SLA clock starts at %lld (tests only)",
		 (long long) conf_test_clock(conf_current));
    sweeper = notify_sweeper_start(store, snapshot_get, conf_test_clock(conf_current)
				   ? (time_t) conf_test_clock(conf_current) - time(0) : 0,
				   wake_sender);
    dc.writer = writer_create(store, sender);
    control = mem_printf("%s/%s", conf_state_dir(conf_current), CTL_SOCKET_NAME);
    srv = server_create(listen_fd, control, &dc, &limits);
    log_info("ready: listen=%s, state_dir=%s, maintenance=%s",
	     conf_listen(conf_current), conf_state_dir(conf_current),
	     store_maintenance(store) ? "on" : "off");

    server_run(srv, reload);

    server_destroy(&srv);
    writer_destroy(&dc.writer);
    notify_sweeper_stop(&sweeper);
    notify_sender_stop(&sender);
    store_close(&store);
    mem_free(control);
    mem_free(hostname);
    conf_unref(&conf_current);
    notify_unref(&notify_current);
    g_mime_shutdown();
    log_info("stopped");
    return (UTIL_EX_OK);
}
