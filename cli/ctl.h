#ifndef POSTDESK_CTL_H
#define POSTDESK_CTL_H

/*++
/* NAME
/*	ctl 3h
/* SUMMARY
/*	postdeskctl verbs and the control socket protocol
/* SYNOPSIS
/*	#include <ctl.h>
/* DESCRIPTION
/*	The verbs that read or change the store (show, list, status,
/*	maintenance) run in the process that has the store open: inside
/*	postdesk-lmtpd, reached over the unix control socket
/*	STATE_DIR/control, or inside postdeskctl itself when no daemon
/*	holds the store. Both paths call ctl_run(), so the output is the
/*	same.
/*
/*	Wire protocol on the control socket (one request per connection):
/*	the client sends each argument followed by a NUL byte, then one
/*	more NUL byte. The server answers "<exit status> <length>\n", then
/*	<length> bytes of standard output (which may hold any byte, NUL
/*	included: "raw" prints a message as received), then the standard
/*	error text, and closes.
/*--*/

#include <util.h>

struct conf;
struct store;

#define CTL_SOCKET_NAME	"control"

/*
 * ctl_run - run one verb (argv[0] is the verb, e.g. "show") against an
 * open store. Output goes to out, diagnostics to err; returns a sysexits
 * status. daemon_pid is the pid to report in "status" (0: none).
 */
extern int ctl_run(struct store *store, const struct conf *conf,
		           int argc, char **argv, long daemon_pid,
		           struct buf *out, struct buf *err);

/*
 * ctl_serve - read one request from a connected fd, run it, answer.
 * Does not close fd.
 */
extern void ctl_serve(int fd, struct store *store, const struct conf *conf,
		              long daemon_pid);

/*
 * ctl_call - send a request to the daemon's socket. Returns 0 and sets
 * *status_r when the daemon answered, -1 (errno set) when nothing
 * listens there.
 */
extern int ctl_call(const char *socket_path, int argc, char **argv,
		            struct buf *out, struct buf *err, int *status_r);

#endif
