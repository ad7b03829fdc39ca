/*++
/* NAME
/*	writer 3
/* SUMMARY
/*	the single writer thread: batched, durable commits
/* SYNOPSIS
/*	#include "lmtpd_private.h"
/*
/*	struct writer *writer_create(store, sender)
/*	struct store *store;
/*	struct notify_sender *sender;
/*
/*	void	writer_submit(writer, items, n)
/*	struct writer *writer;
/*	struct writer_item *items;
/*	size_t	n;
/*
/*	void	writer_destroy(writerp)
/*	struct writer **writerp;
/* DESCRIPTION
/*	A durable Berkeley DB commit costs one log flush, and concurrent
/*	transactions on this schema do not group-commit: they serialise on
/*	the same pages. So LMTP sessions parse and prepare in parallel, and
/*	one writer thread takes every prepared message that is ready,
/*	applies all of them in one transaction, commits it with one flush,
/*	and only then wakes the sessions, which send their 250s. Under light
/*	load a batch is one message; under load it grows by itself.
/*
/*	An item with a job is an agent's command mail: apply_run() takes
/*	the place of store_deliver() and notify_ingest().
/*
/*	The outbound mail a message causes (acknowledgement, agent
/*	notifications: notify_ingest()) is written in the same transaction,
/*	so it is sent if and only if the message committed; after such a
/*	commit the outbox sender is woken.
/*
/*	writer_submit() queues n items (one per accepted recipient of a
/*	message, so that a message sent to two queue addresses is
/*	deduplicated inside one transaction) and blocks until each has a
/*	status: STORE_OK with a result, or STORE_TEMP/STORE_PERM.
/*
/*	On a deadlock (STORE_RETRY) the batch is aborted and replayed. On
/*	any other error the batch is aborted and its items are replayed one
/*	by one, so that one bad message cannot make the others fail.
/*
/*	The writer also checkpoints the store about once a minute when it
/*	is otherwise idle, so that logs are removed and recovery stays short.
/*
/*	The items are borrowed: the caller keeps them alive until
/*	writer_submit() returns.
/* DIAGNOSTICS
/*	Store errors are logged with the message id by the store; the
/*	writer logs retries.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <util.h>
#include <store.h>
#include <notify.h>

#include "lmtpd_private.h"

#define WRITER_MAX_BATCH	64	/* messages per transaction */
#define WRITER_MAX_RETRY	10	/* deadlock replays */
#define WRITER_CHECKPOINT_SEC	60

struct writer {
    struct store *store;
    struct notify_sender *sender;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work;		/* queue became non-empty, or stop */
    pthread_cond_t done;		/* some items completed */
    struct writer_item *head;
    struct writer_item *tail;
    int     stop;
};

/* run_batch - apply items and their outbound mail in one transaction */

static int run_batch(struct writer *w, struct writer_item **items, size_t n,
		             size_t *queued_r)
{
    struct store_batch *batch;
    time_t  now = time(0);
    int     status;

    *queued_r = 0;
    if ((status = store_batch_begin(w->store, &batch)) != STORE_OK)
	return (status);
    for (size_t i = 0; i < n; i++) {
	struct writer_item *it = items[i];
	size_t  queued = 0;

	if (it->job) {
	    it->status = apply_run(batch, it->conf, it->notify, it->job,
				   &it->apply);
	    queued = it->apply.queued;
	} else {
	    it->status = store_deliver(batch, it->conf, it->msg, &it->result);
	    if (it->status == STORE_OK && it->notify)
		it->status = notify_ingest(it->notify, batch, it->conf, it->msg,
					   &it->result, now, &queued);
	    if (it->status == STORE_OK && it->notify && it->hint
		&& (it->result.outcome == STORE_OUTCOME_NEW_TICKET
		    || it->result.outcome == STORE_OUTCOME_FOLLOW_UP))
		it->status = apply_hint(batch, it->conf, it->notify, it->hint,
					it->msg, it->hint_block, it->hint_text,
					it->result.number, &queued);
	}
	if (it->status != STORE_OK) {
	    status = it->status;
	    store_batch_abort(&batch);
	    return (status);
	}
	*queued_r += queued;
    }
    return (store_batch_commit(&batch));
}

/* commit_items - run a batch with deadlock replays; fill statuses */

static void commit_items(struct writer *w, struct writer_item **items, size_t n)
{
    int     status = STORE_TEMP;
    size_t  queued = 0;

    for (int attempt = 0; attempt < WRITER_MAX_RETRY; attempt++) {
	status = run_batch(w, items, n, &queued);
	if (status == STORE_OK && queued > 0 && w->sender)
	    notify_sender_wake(w->sender);
	if (status != STORE_RETRY)
	    break;
	log_warn("%s: deadlock, replaying a batch of %zu (attempt %d)",
		 items[0]->msg->log_id, n, attempt + 1);
    }
    if (status == STORE_OK)
	return;
    if (n > 1) {
	/* Isolate the failure: replay each message on its own. */
	for (size_t i = 0; i < n; i++)
	    commit_items(w, items + i, 1);
	return;
    }
    items[0]->status = (status == STORE_PERM ? STORE_PERM : STORE_TEMP);
}

/* writer_main - the thread */

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct writer_item *batch[WRITER_MAX_BATCH];
    uint64_t last_checkpoint = time_now_ms();

    pthread_mutex_lock(&w->lock);
    for (;;) {
	while (w->head == 0 && !w->stop) {
	    struct timespec ts;

	    clock_gettime(CLOCK_REALTIME, &ts);
	    ts.tv_sec += WRITER_CHECKPOINT_SEC;
	    (void) pthread_cond_timedwait(&w->work, &w->lock, &ts);
	    if (w->head == 0 && !w->stop
		&& time_now_ms() - last_checkpoint >= WRITER_CHECKPOINT_SEC * 1000) {
		pthread_mutex_unlock(&w->lock);
		(void) store_checkpoint(w->store);
		last_checkpoint = time_now_ms();
		pthread_mutex_lock(&w->lock);
	    }
	}
	if (w->head == 0 && w->stop)
	    break;

	size_t  n = 0;

	while (w->head && n < WRITER_MAX_BATCH) {
	    batch[n++] = w->head;
	    w->head = w->head->next;
	}
	if (w->head == 0)
	    w->tail = 0;
	pthread_mutex_unlock(&w->lock);

	commit_items(w, batch, n);

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < n; i++)
	    batch[i]->done = 1;
	pthread_cond_broadcast(&w->done);
	if (time_now_ms() - last_checkpoint >= WRITER_CHECKPOINT_SEC * 1000) {
	    /* Under sustained load the idle checkpoint never runs. */
	    pthread_mutex_unlock(&w->lock);
	    (void) store_checkpoint(w->store);
	    last_checkpoint = time_now_ms();
	    pthread_mutex_lock(&w->lock);
	}
    }
    pthread_mutex_unlock(&w->lock);
    (void) store_checkpoint(w->store);
    return (0);
}

/* writer_create - start the writer thread */

struct writer *writer_create(struct store *store, struct notify_sender *sender)
{
    struct writer *w = mem_zalloc(sizeof(*w));
    int     err;

    w->store = store;
    w->sender = sender;
    pthread_mutex_init(&w->lock, 0);
    pthread_cond_init(&w->work, 0);
    pthread_cond_init(&w->done, 0);
    if ((err = pthread_create(&w->thread, 0, writer_main, w)) != 0) {
	errno = err;
	log_fatal("cannot start the writer thread: %m");
    }
    return (w);
}

/* writer_submit - queue items and wait for their commit */

void    writer_submit(struct writer *w, struct writer_item *items, size_t n)
{
    if (n == 0)
	return;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < n; i++) {
	items[i].next = 0;
	items[i].done = 0;
	items[i].status = STORE_TEMP;
	if (w->tail)
	    w->tail->next = &items[i];
	else
	    w->head = &items[i];
	w->tail = &items[i];
    }
    pthread_cond_signal(&w->work);
    for (size_t i = 0; i < n; i++)
	while (!items[i].done)
	    pthread_cond_wait(&w->done, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

/* writer_destroy - drain and stop */

void    writer_destroy(struct writer **wp)
{
    struct writer *w;

    if (wp == 0 || (w = *wp) == 0)
	return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, 0);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    mem_free(w);
    *wp = 0;
}
