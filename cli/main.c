/*++
/* NAME
/*	postdeskctl 8
/* SUMMARY
/*	postdesk administration command
/* SYNOPSIS
/*	postdeskctl [-c FILE] [--help] VERB [ARGUMENTS...]
/* DESCRIPTION
/*	The thin command: global options, check-config, then the store
/*	verbs through ctl_client_run() (the daemon's control socket, or
/*	the store itself when no daemon runs). See postdeskctl(8).
/*
/*	Run as root without a daemon, postdeskctl first becomes the owner
/*	of the state directory (when that is not root), so files it
/*	creates in the Berkeley DB environment stay usable by the daemon.
/* DIAGNOSTICS
/*	sysexits(3): 0 ok, 1 no such ticket or outbox mail, 64 usage (also
/*	an unknown agent for agent-address), 69 store
/*	unavailable, 71 cannot change user, 78 bad configuration; one
/*	line on stderr on failure (check-config: one per error).
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <conf.h>
#include <notify.h>
#include <sigaddr.h>

#include "ctl_private.h"

static const char usage_text[] =
"usage: postdeskctl [-c FILE] [--help] VERB [ARGUMENTS...]\n"
"  -c FILE      configuration file (default " CONF_DEFAULT_PATH ")\n"
"verbs:\n"
"  check-config                         check the configuration file\n"
"  show NUMBER [--json]                 one ticket with articles and history\n"
"  list [--queue Q] [--state S] [--owner LOGIN|none] [--customer ADDR]\n"
"       [--locked] [--escalated] [--limit N] [--json]   tickets, newest first\n"
"  status [--json]                      daemon and store status\n"
"  maintenance [on|off]                 defer new mail with 4xx, or accept it\n"
"  raw NUMBER [ARTICLE]                 an article's message as received (default 1)\n"
"  outbox [--all] [--json]              pending and failed outbound mail (--all: sent too)\n"
"  outbox retry ID                      send a pending or failed mail now\n"
"  escalations [--at TIME] [--json]     tickets past an SLA warning or deadline at TIME\n"
"  agent-address AGENT                  the agent's personal signed command address\n"
"exit: 0 ok, 1 no such ticket or mail, 64 usage, 69 store unavailable, 78 bad config\n";

/* fail - one line on stderr, return status */

static int fail(int status, const char *what, const char *word)
{
    fprintf(stderr, "%s: %s%s%s (see %s --help)\n", CTL_PROGNAME, what,
	    word ? " " : "", word ? word : "", CTL_PROGNAME);
    return (status);
}

/* become_store_owner - root: take the uid/gid that owns the state dir */

static int become_store_owner(const char *dir)
{
    struct stat st;

    if (geteuid() != 0 || stat(dir, &st) < 0 || st.st_uid == 0)
	return (0);
    if (setgroups(0, 0) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0) {
	fprintf(stderr, "%s: cannot become the owner (uid %ld) of %s: %m\n",
		CTL_PROGNAME, (long) st.st_uid, dir);
	return (-1);
    }
    return (0);
}

/* check_config - the check-config verb */

static int check_config(const char *path)
{
    char   *errors = 0;
    struct conf *conf = conf_load(path, &errors);
    struct sigaddr_key *key = 0;

    if (conf == 0) {
	fputs(errors ? errors : "configuration: unknown error\n", stderr);
	if (errors && *errors && errors[strlen(errors) - 1] != '\n')
	    fputc('\n', stderr);
	mem_free(errors);
	return (UTIL_EX_CONFIG);
    }
    /* The key and the templates are configuration too: the daemons
       refuse to start without them. */
    if (sigaddr_key_load(conf_secret_file(conf), conf_key_epoch(conf), &key,
			 &errors) < 0
	|| notify_templates_check(conf_templates_dir(conf), &errors) < 0) {
	fprintf(stderr, "%s", errors ? errors : "unknown error");
	if (errors && *errors && errors[strlen(errors) - 1] != '\n')
	    fputc('\n', stderr);
	mem_free(errors);
	sigaddr_key_free(&key);
	conf_unref(&conf);
	return (UTIL_EX_CONFIG);
    }
    sigaddr_key_free(&key);
    printf("%s: ok\n", path);
    conf_unref(&conf);
    return (UTIL_EX_OK);
}

/* load_conf - the configuration, or NULL after printing its errors */

static struct conf *load_conf(const char *path)
{
    char   *errors = 0;
    struct conf *conf;

    if ((conf = conf_load(path, &errors)) == 0) {
	fprintf(stderr, "%s: bad configuration: %s", CTL_PROGNAME,
		errors ? errors : "unknown error\n");
	mem_free(errors);
    }
    return (conf);
}

/* print_and_free - a verb's output to stdout, its errors to stderr */

static void print_and_free(struct buf **outp, struct buf **errp)
{
    fwrite(buf_data(*outp), 1, buf_len(*outp), stdout);
    fflush(stdout);
    fwrite(buf_data(*errp), 1, buf_len(*errp), stderr);
    buf_destroy(outp);
    buf_destroy(errp);
}

/* agent_address - the agent-address verb (no store, no daemon) */

static int agent_address(const char *path, const char *login)
{
    struct buf *out;
    struct buf *err;
    struct conf *conf;
    int     status;

    if ((conf = load_conf(path)) == 0)
	return (UTIL_EX_CONFIG);
    out = buf_create(256, 0);
    err = buf_create(256, 0);
    status = ctl_agent_address(conf, login, time((time_t *) 0), out, err);
    print_and_free(&out, &err);
    conf_unref(&conf);
    return (status);
}

/* store_verb - load conf, run the verb, print its output */

static int store_verb(const char *path, int argc, char **argv)
{
    struct buf *out;
    struct buf *err;
    struct conf *conf;
    int     status;

    if ((conf = load_conf(path)) == 0)
	return (UTIL_EX_CONFIG);
    log_open(CTL_PROGNAME, 0);
    if (become_store_owner(conf_state_dir(conf)) < 0) {
	conf_unref(&conf);
	return (UTIL_EX_OSERR);
    }
    out = buf_create(65536, 0);
    err = buf_create(256, 0);
    status = ctl_client_run(conf, argc, argv, out, err);
    print_and_free(&out, &err);
    conf_unref(&conf);
    return (status);
}

/* main - global options, then check-config or a store verb */

int     main(int argc, char **argv)
{
    const char *path = CONF_DEFAULT_PATH;
    struct buf *err;
    int     i;
    int     status;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
	    fputs(usage_text, stdout);
	    return (UTIL_EX_OK);
	} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
	    path = argv[++i];
	} else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2]) {
	    path = argv[i] + 2;
	} else {
	    return (fail(UTIL_EX_USAGE, strcmp(argv[i], "-c") == 0 ?
			 "missing file after" : "unknown option", argv[i]));
	}
    }
    if (i >= argc)
	return (fail(UTIL_EX_USAGE, "no verb given", 0));
    for (int j = i + 1; j < argc; j++) {
	if (strcmp(argv[j], "--help") == 0) {
	    fputs(usage_text, stdout);
	    return (UTIL_EX_OK);
	}
	if (argv[j][0] == 0)
	    return (fail(UTIL_EX_USAGE, "empty argument after", argv[j - 1]));
    }
    if (strcmp(argv[i], "check-config") == 0)
	return (i + 1 < argc ? fail(UTIL_EX_USAGE, "check-config: unexpected "
				    "argument", argv[i + 1]) : check_config(path));
    if (strcmp(argv[i], "agent-address") == 0) {
	if (i + 1 >= argc)
	    return (fail(UTIL_EX_USAGE, "agent-address: missing agent login", 0));
	if (i + 2 < argc)
	    return (fail(UTIL_EX_USAGE, "agent-address: unexpected argument",
			 argv[i + 2]));
	return (agent_address(path, argv[i + 1]));
    }
    err = buf_create(256, 0);
    if ((status = ctl_check_args(argc - i, argv + i, err)) != UTIL_EX_OK) {
	fputs(buf_data(err), stderr);
	buf_destroy(&err);
	return (status);
    }
    buf_destroy(&err);
    return (store_verb(path, argc - i, argv + i));
}
