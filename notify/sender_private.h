#ifndef POSTDESK_SENDER_PRIVATE_H
#define POSTDESK_SENDER_PRIVATE_H

/*++
/* NAME
/*	sender_private 3h
/* SUMMARY
/*	test hooks of the outbox sender
/* SYNOPSIS
/*	#include "sender_private.h"
/* DESCRIPTION
/*	Not part of the public interface (notify/notify.h). The unit
/*	test replaces the clock and runs single rounds; the daemon never
/*	calls these.
/*--*/

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conf;
struct store;

/* Back-off after the n-th failed attempt: 60 s doubled each time, at
   most one hour (1, 2, 4, 8, 16, 32, 60, 60 ... minutes). */
#define NOTIFY_SENDER_BACKOFF_MIN	60
#define NOTIFY_SENDER_BACKOFF_MAX	3600
#define NOTIFY_SENDER_BATCH		32	/* rows per SMTP session */
#define NOTIFY_SENDER_IDLE_MAX		60	/* seconds between looks */

/* notify_sender_set_clock - replace time(NULL) (NULL restores it);
   call before notify_sender_start(). */
extern void notify_sender_set_clock(time_t (*clock_fn) (void));

/* notify_sender_backoff - the delay after attempt number attempts (1..) */
extern time_t notify_sender_backoff(uint32_t attempts);

/*
 * notify_sender_round - one round without the thread: take up to
 * NOTIFY_SENDER_BATCH due rows at the (injectable) clock's now, submit
 * them in one SMTP session to conf's relay, record each result.
 * Returns the number of rows attempted, or -1 when the store failed.
 */
struct notify_sender_counts {
    size_t  sent;
    size_t  deferred;
    size_t  failed;
};
extern int notify_sender_round(struct store *, const struct conf *,
			               struct notify_sender_counts *counts_r);

/* notify_sender_rounds - rounds the thread has run (for tests) */
struct notify_sender;
extern uint64_t notify_sender_rounds(struct notify_sender *);

#endif
