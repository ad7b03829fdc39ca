/*++
/* NAME
/*	ctl_client 3
/* SUMMARY
/*	run a postdeskctl verb through the daemon, or on the store directly
/* SYNOPSIS
/*	#include "ctl_private.h"
/*
/*	int	ctl_client_run(conf, argc, argv, out, err)
/*	const struct conf *conf;
/*	int	argc;
/*	char	**argv;
/*	struct buf *out;
/*	struct buf *err;
/* DESCRIPTION
/*	ctl_client_run() is what postdeskctl does for a verb that needs
/*	the store. It first asks postdesk-lmtpd over STATE_DIR/control
/*	(ctl_call()). When nothing listens there (ENOENT, ECONNREFUSED)
/*	it opens the store itself with store_open(STATE_DIR), runs
/*	ctl_run() in-process and closes the store again; the output is the
/*	same either way. The caller prints out and err.
/* DIAGNOSTICS
/*	Returns the verb's sysexits status, or 69 (EX_UNAVAILABLE) with
/*	one line in err when the store cannot be reached: the daemon holds
/*	the store but its socket does not answer, the socket fails in
/*	another way, or store_open() fails.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <string.h>

#include <conf.h>
#include <store.h>

#include "ctl_private.h"

/* run_local - open the store, run the verb, close it */

static int run_local(const struct conf *conf, int argc, char **argv,
		             struct buf *out, struct buf *err)
{
    const char *dir = conf_state_dir(conf);
    struct store *store = 0;
    char   *error = 0;
    int     rc = store_open(dir, &store, &error);
    int     status;

    if (rc == STORE_LOCKED) {
	buf_printf(err, "%s: store is held by a running postdesk-lmtpd but "
		   "its control socket does not answer\n", CTL_PROGNAME);
	mem_free(error);
	return (UTIL_EX_UNAVAILABLE);
    }
    if (rc != STORE_OK || store == 0) {
	char   *clean = str_sanitize(error ? error : "unknown error", 200);

	buf_printf(err, "%s: cannot open the store in %s: %s\n",
		   CTL_PROGNAME, dir, clean);
	mem_free(clean);
	mem_free(error);
	return (UTIL_EX_UNAVAILABLE);
    }
    status = ctl_run(store, conf, argc, argv, 0, out, err);
    store_close(&store);
    return (status);
}

/* ctl_client_run - through the daemon when it answers, else locally */

int     ctl_client_run(const struct conf *conf, int argc, char **argv,
		               struct buf *out, struct buf *err)
{
    char   *path = mem_printf("%s/%s", conf_state_dir(conf), CTL_SOCKET_NAME);
    int     status = 0;

    if (ctl_call(path, argc, argv, out, err, &status) == 0) {
	mem_free(path);
	return (status);
    }
    if (errno == ENOENT || errno == ECONNREFUSED) {
	mem_free(path);
	return (run_local(conf, argc, argv, out, err));
    }
    buf_printf(err, "%s: cannot talk to postdesk-lmtpd at %s: %s\n",
	       CTL_PROGNAME, path, strerror(errno));
    mem_free(path);
    return (UTIL_EX_UNAVAILABLE);
}
