#ifndef POSTDESK_CTL_PRIVATE_H
#define POSTDESK_CTL_PRIVATE_H

/*++
/* NAME
/*	ctl_private 3h
/* SUMMARY
/*	internals shared by the ctl library files and postdeskctl's main.c
/* SYNOPSIS
/*	#include "ctl_private.h"
/* DESCRIPTION
/*	Not part of the public interface (cli/ctl.h). main.c uses
/*	ctl_check_args(), ctl_client_run() and ctl_agent_address(); the
/*	ctl_*.c files share the text helpers.
/*--*/

#include <stddef.h>
#include <time.h>

#include "ctl.h"

struct store_ticket;
struct store_stats;
struct store_outbox_item;

#define CTL_PROGNAME		"postdeskctl"
#define CTL_MAX_ARGS		64		/* per request */
#define CTL_MAX_REQUEST		(64 * 1024)	/* bytes per request */
#define CTL_SERVE_TIMEOUT_MS	5000		/* server: idle read/write */
#define CTL_CALL_TIMEOUT_MS	120000		/* client: idle wait for answer */
#define CTL_TITLE_WIDTH		50		/* list: TITLE column, code points */

/* ctl.c */
/* ctl_check_args - validate a verb and its options without a store:
   UTIL_EX_OK, or UTIL_EX_USAGE with one line in err. */
extern int ctl_check_args(int argc, char **argv, struct buf *err);

/* ctl_verb_needs_store - 1 for show, list, status, maintenance, raw,
   outbox */
extern int ctl_verb_needs_store(const char *verb);

/* ctl_socket.c */
/* ctl_serve_timeout - ctl_serve() with an explicit idle timeout */
extern void ctl_serve_timeout(int fd, struct store *store,
			              const struct conf *conf, long daemon_pid,
			              int timeout_ms);

/* ctl_client.c */
/* ctl_client_run - run a store verb: through the daemon's control
   socket when one answers, else in-process on the store; returns the
   sysexits status with the output in out and diagnostics in err. */
extern int ctl_client_run(const struct conf *conf, int argc, char **argv,
			          struct buf *out, struct buf *err);

/* ctl_text.c */
/* ctl_text_put - append str for a terminal: invalid UTF-8 becomes
   U+FFFD, control characters '?'; multiline keeps LF and TAB and drops
   the CR of CRLF. Returns the number of code points appended. */
extern size_t ctl_text_put(struct buf *out, const char *str, int multiline);

/* ctl_text_cell - like ctl_text_put(multiline=0) but at most width code
   points, ending in "…" when cut, padded with spaces to pad code points
   (0: no padding). Returns the code points appended. */
extern size_t ctl_text_cell(struct buf *out, const char *str, size_t width,
			            size_t pad);

/* ctl_text_width - code points ctl_text_put(str, 0) would append */
extern size_t ctl_text_width(const char *str);

/* ctl_agent.c */
/* ctl_agent_address - the agent-address verb: the agent's personal
   signed command address (ticket 0, revision 0, issued at now) and a
   newline in out; 0, or 64 (unknown agent) or 78 (no key) with one
   line in err. Reads the key from secret_file itself. */
extern int ctl_agent_address(const struct conf *conf, const char *login,
			             time_t now, struct buf *out, struct buf *err);

/* ctl_render.c */
/* ctl_render_new_article - 1: locked, owned, an article arrived after
   the owner's last action (n_articles_total > owner_seen) */
extern int ctl_render_new_article(const struct store_ticket *t);
extern void ctl_render_show(struct buf *out, const struct store_ticket *t);
extern void ctl_render_show_json(struct buf *out, const struct store_ticket *t);
extern void ctl_render_list(struct buf *out, const struct store_ticket *t,
			            size_t n);
extern void ctl_render_list_json(struct buf *out, const struct store_ticket *t,
				         size_t n);
extern void ctl_render_status(struct buf *out, const struct store_stats *st,
			              long daemon_pid, int json);
extern void ctl_render_outbox(struct buf *out,
			              const struct store_outbox_item *items, size_t n);
extern void ctl_render_outbox_json(struct buf *out,
				           const struct store_outbox_item *items,
				           size_t n);

#endif
