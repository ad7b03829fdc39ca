/*++
/* NAME
/*	store_env 3
/* SUMMARY
/*	the Berkeley DB environment: open, recover, schema, settings
/* SYNOPSIS
/*	#include <store.h>
/*
/*	int	store_open(dir, store_r, error_r)
/*	void	store_close(storep)
/*
/*	int	store_maintenance(store)
/*	int	store_set_maintenance(store, on)
/*	int	store_stats(store, stats_r)
/*	int	store_checkpoint(store)
/* INTERNAL INTERFACES
/*	#include "store_private.h"
/*
/*	int	store_bdb_status(store, log_id, what, ret)
/*	int	store_get(db, txn, key, key_len, scratch, len_r, flags)
/*	int	store_cursor_get(dbc, key, key_len, data, data_len, flags)
/*	int	store_meta_get(store, txn, name, value_r, flags)
/*	int	store_meta_put(store, txn, name, value)
/*	int	store_meta_del(store, txn, name)
/* DESCRIPTION
/*	store_open() creates dir (mode 0700) when needed, takes a
/*	non-blocking exclusive flock(2) on DIR/store.lock, and only then
/*	opens the environment with DB_RECOVER: since no other process can
/*	hold the environment, running recovery at every open is safe and
/*	DB_REGISTER is not used. The lock file holds the owner's pid (for
/*	messages); the lock itself goes away with the process, also after
/*	kill -9. The environment has a 32 MB cache, a 2 MB log buffer,
/*	automatic removal of unneeded log files, the default deadlock
/*	detector, and synchronous (durable) commits. Then the databases
/*	are opened (created) and the schema version is checked: a new
/*	store gets STORE_SCHEMA_VERSION, an older one is upgraded in place
/*	step by step (logged), a newer one is refused.
/*
/*	store_close() checkpoints, closes everything, releases the lock
/*	and sets *storep to NULL. Batches must have been ended before.
/*
/*	store_maintenance() returns the cached maintenance flag (an
/*	atomic read); store_set_maintenance() writes the flag in its own
/*	transaction and updates the cache after the commit.
/*
/*	store_stats() fills counts: tickets and articles from counters in
/*	the meta database (kept in the batch transactions), batches and
/*	messages since open, log flushes (BDB st_scount), deadlocks, and
/*	the PENDING and FAILED outbox rows (counted by a scan that reads
/*	3 bytes of each outbox record).
/*
/*	store_checkpoint() writes a checkpoint when 1 MB of log or 5
/*	minutes have passed, removes log files no longer needed, trims
/*	the SENT outbox rows to the newest 10000 (see store_outbox(3)),
/*	and once an hour forgets the acknowledgement times of addresses
/*	not acknowledged for 24 hours (see store_article(3)). It is
/*	meant for the writer thread, between batches.
/*
/*	The internal helpers: store_bdb_status() maps a BDB error to a
/*	store status (deadlock: STORE_RETRY, counted; anything else is
/*	logged with the log id and is STORE_TEMP). store_get() and
/*	store_cursor_get() read into growable scratch memory (DB_THREAD
/*	needs DB_DBT_REALLOC/USERMEM output) and return BDB codes. The
/*	meta helpers read and write be64 values by name.
/* DIAGNOSTICS
/*	store_open() returns STORE_LOCKED (and *error_r NULL) when another
/*	process holds the lock, STORE_TEMP with a newly allocated *error_r
/*	(mem_free()) otherwise; it does not log that text itself. Other functions return STORE_OK, STORE_TEMP (logged)
/*	or STORE_RETRY.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_private.h"

#define CACHE_BYTES	(32U * 1024 * 1024)
#define LOG_BUFFER	(2U * 1024 * 1024)
#define MAX_LOCKS	20000
#define OPEN_RETRIES	5
#define ACK_PRUNE_EVERY	3600		/* seconds */

static const char *const db_files[STORE_DB_COUNT] = {
    [STORE_DB_TICKETS] = "tickets.db",
    [STORE_DB_ARTICLES] = "articles.db",
    [STORE_DB_RAW] = "raw.db",
    [STORE_DB_HISTORY] = "history.db",
    [STORE_DB_MSGID] = "msgid.db",
    [STORE_DB_DEDUP] = "dedup.db",
    [STORE_DB_IDX_QUEUE] = "idx_queue.db",
    [STORE_DB_IDX_CUSTOMER] = "idx_customer.db",
    [STORE_DB_IDX_OWNER] = "idx_owner.db",
    [STORE_DB_META] = "meta.db",
    [STORE_DB_OUTBOX] = "outbox.db",
    [STORE_DB_OUTBOX_DATA] = "outbox_data.db",
    [STORE_DB_OUTBOX_DUE] = "outbox_due.db",
    [STORE_DB_ACKS] = "acks.db",
    [STORE_DB_ESCALATION] = "idx_escalation.db",
};

/* store_bdb_status - map a BDB error to a store status */

int     store_bdb_status(struct store *s, const char *log_id, const char *what,
			         int ret)
{
    if (ret == 0)
	return (STORE_OK);
    if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED) {
	if (s)
	    atomic_fetch_add(&s->deadlocks, 1);
	return (STORE_RETRY);
    }
    log_error("%s: store: %s: %s%s", log_id ? log_id : "NOID", what,
	      db_strerror(ret),
	      ret == DB_RUNRECOVERY ? " (restart needed)" : "");
    return (STORE_TEMP);
}

/* fail - log a BDB error outside a batch; always STORE_TEMP */

static int fail(struct store *s, const char *what, int ret)
{
    if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED)
	log_warn("NOID: store: %s: %s", what, db_strerror(ret));
    (void) store_bdb_status(s, "NOID", what, ret);
    return (STORE_TEMP);
}

/*
 * DB_DBT_REALLOC reallocates to exactly the item size when the size we
 * pass is smaller, and always for overflow items, so the capacity after
 * a successful read is only known to be at least the item size. An
 * underestimate is safe: BDB then calls realloc() again.
 */

/* scratch_track - remember pointer and (lower bound of) capacity */

static void scratch_track(struct store_scratch *sc, const DBT *d, int ret)
{
    if (ret == 0)
	sc->size = d->size;
    else if (d->data != sc->data)
	sc->size = 0;
    sc->data = d->data;
}

/* store_get - point read into scratch memory */

int     store_get(DB *db, DB_TXN *txn, const void *key, size_t key_len,
		          struct store_scratch *sc, size_t *len_r, uint32_t flags)
{
    DBT     k, d;
    int     ret;

    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.data = (void *) key;
    k.size = (u_int32_t) key_len;
    d.data = sc->data;
    d.size = (u_int32_t) sc->size;
    d.flags = DB_DBT_REALLOC;
    ret = db->get(db, txn, &k, &d, flags);
    scratch_track(sc, &d, ret);
    if (ret == 0 && len_r)
	*len_r = d.size;
    return (ret);
}

/* store_cursor_get - cursor read; key is input for DB_SET_RANGE */

int     store_cursor_get(DBC *dbc, struct store_scratch *key, size_t *key_len,
			         struct store_scratch *data, size_t *data_len,
			         uint32_t flags)
{
    DBT     k, d;
    int     ret;

    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.data = key->data;
    k.size = (u_int32_t) (flags == DB_SET_RANGE || flags == DB_SET ?
			  *key_len : key->size);
    k.flags = DB_DBT_REALLOC;
    d.data = data->data;
    d.size = (u_int32_t) data->size;
    d.flags = DB_DBT_REALLOC;
    ret = dbc->get(dbc, &k, &d, flags);
    scratch_track(key, &k, ret);
    scratch_track(data, &d, ret);
    if (ret == 0) {
	*key_len = k.size;
	if (data_len)
	    *data_len = d.size;
    }
    return (ret);
}

/* store_scratch_free - release scratch memory */

void    store_scratch_free(struct store_scratch *sc)
{
    free(sc->data);				/* allocated by BDB with realloc */
    sc->data = 0;
    sc->size = 0;
}

/* store_meta_get - be64 value by name */

int     store_meta_get(struct store *s, DB_TXN *txn, const char *name,
		               uint64_t *value_r, uint32_t flags)
{
    DB     *db = s->db[STORE_DB_META];
    unsigned char val[8];
    DBT     k, d;
    int     ret;

    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.data = (void *) name;
    k.size = (u_int32_t) strlen(name);
    d.data = val;
    d.ulen = sizeof(val);
    d.flags = DB_DBT_USERMEM;
    if ((ret = db->get(db, txn, &k, &d, flags)) != 0)
	return (ret);
    if (d.size != sizeof(val))
	return (DB_BUFFER_SMALL);		/* not ours: refuse */
    *value_r = store_be64_get(val);
    return (0);
}

/* store_meta_put - write a be64 value */

int     store_meta_put(struct store *s, DB_TXN *txn, const char *name,
		               uint64_t value)
{
    DB     *db = s->db[STORE_DB_META];
    unsigned char val[8];
    DBT     k, d;

    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    store_be64_put(val, value);
    k.data = (void *) name;
    k.size = (u_int32_t) strlen(name);
    d.data = val;
    d.size = sizeof(val);
    return (db->put(db, txn, &k, &d, 0));
}

/* store_meta_del - remove a value */

int     store_meta_del(struct store *s, DB_TXN *txn, const char *name)
{
    DB     *db = s->db[STORE_DB_META];
    DBT     k;

    memset(&k, 0, sizeof(k));
    k.data = (void *) name;
    k.size = (u_int32_t) strlen(name);
    return (db->del(db, txn, &k, 0));
}

/* errcall - BDB's own error messages go to our log */

static void errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
    (void) env;
    (void) pfx;
    log_error("store: bdb: %s", msg);
}

/* take_lock - exclusive, non-blocking flock on DIR/store.lock */

static int take_lock(struct store *s, char **error_r)
{
    char   *path = mem_printf("%s/store.lock", s->dir);
    char    pid[32];
    int     n;

    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
	*error_r = mem_printf("open %s: %s", path, strerror(errno));
	mem_free(path);
	return (STORE_TEMP);
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
	int     locked = (errno == EWOULDBLOCK);

	/* STORE_LOCKED comes without an error text (see store.h). */
	if (!locked)
	    *error_r = mem_printf("flock %s: %s", path, strerror(errno));
	mem_free(path);
	close(s->lock_fd);
	s->lock_fd = -1;
	return (locked ? STORE_LOCKED : STORE_TEMP);
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());
    if (ftruncate(s->lock_fd, 0) == 0 && write(s->lock_fd, pid, (size_t) n) != n)
	log_warn("store: write %s: %m", path);
    mem_free(path);
    return (STORE_OK);
}

/* open_env - create, configure and open (recover) the environment */

static int open_env(struct store *s, char **error_r)
{
    DB_ENV *env;
    int     ret;

    if ((ret = db_env_create(&env, 0)) != 0) {
	*error_r = mem_printf("db_env_create: %s", db_strerror(ret));
	return (STORE_TEMP);
    }
    s->env = env;
    env->set_errcall(env, errcall);
    if ((ret = env->set_cachesize(env, 0, CACHE_BYTES, 1)) != 0
	|| (ret = env->set_lg_bsize(env, LOG_BUFFER)) != 0
	|| (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0
	|| (ret = env->set_lk_max_locks(env, MAX_LOCKS)) != 0
	|| (ret = env->set_lk_max_objects(env, MAX_LOCKS)) != 0
	|| (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0) {
	*error_r = mem_printf("configure environment: %s", db_strerror(ret));
	return (STORE_TEMP);
    }
    ret = env->open(env, s->dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK
		    | DB_INIT_LOG | DB_INIT_MPOOL | DB_THREAD | DB_RECOVER,
		    0600);
    if (ret != 0) {
	*error_r = mem_printf("open environment %s: %s", s->dir,
			      db_strerror(ret));
	return (STORE_TEMP);
    }
    return (STORE_OK);
}

/* open_dbs - open (create) every database */

static int open_dbs(struct store *s, char **error_r)
{
    int     i, ret;

    for (i = 0; i < STORE_DB_COUNT; i++) {
	if ((ret = db_create(&s->db[i], s->env, 0)) != 0) {
	    s->db[i] = 0;
	    *error_r = mem_printf("db_create: %s", db_strerror(ret));
	    return (STORE_TEMP);
	}
	ret = s->db[i]->open(s->db[i], NULL, db_files[i], NULL, DB_BTREE,
			     DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600);
	if (ret != 0) {
	    *error_r = mem_printf("open %s/%s: %s", s->dir, db_files[i],
				  db_strerror(ret));
	    return (STORE_TEMP);
	}
    }
    return (STORE_OK);
}

/*
 * Schema upgrades: each step takes the store from `from` to from + 1
 * inside the open transaction.
 */

/* count_items - number of records in a database */

static int count_items(struct store *s, DB_TXN *txn, int which, uint64_t *n_r)
{
    struct store_scratch k = {0}, d = {0};
    size_t  klen = 0, dlen;
    DBC    *dbc;
    int     ret;

    *n_r = 0;
    if ((ret = s->db[which]->cursor(s->db[which], txn, &dbc, 0)) != 0)
	return (ret);
    while ((ret = store_cursor_get(dbc, &k, &klen, &d, &dlen, DB_NEXT)) == 0)
	*n_r += 1;
    (void) dbc->close(dbc);
    store_scratch_free(&k);
    store_scratch_free(&d);
    return (ret == DB_NOTFOUND ? 0 : ret);
}

/* upgrade_0_1 - v0 had tickets but no version key: add the counters */

static int upgrade_0_1(struct store *s, DB_TXN *txn)
{
    uint64_t n;
    int     ret;

    if ((ret = count_items(s, txn, STORE_DB_TICKETS, &n)) != 0
	|| (ret = store_meta_put(s, txn, "count:tickets", n)) != 0
	|| (ret = count_items(s, txn, STORE_DB_ARTICLES, &n)) != 0
	|| (ret = store_meta_put(s, txn, "count:articles", n)) != 0)
	return (ret);
    return (0);
}

/* upgrade_1_2 - v2 adds the outbox and acks databases: open made them */

static int upgrade_1_2(struct store *s, DB_TXN *txn)
{
    (void) s;
    (void) txn;
    return (0);
}

/* upgrade_2_3 - v3 adds idx_escalation.db (open made it, empty: tickets
   of v2 have no deadlines until their next change) */

static int upgrade_2_3(struct store *s, DB_TXN *txn)
{
    (void) s;
    (void) txn;
    return (0);
}

static const struct upgrade_step {
    int     from;
    int     (*fn) (struct store *, DB_TXN *);
}       upgrade_steps[] = {
    {0, upgrade_0_1},
    {1, upgrade_1_2},
    {2, upgrade_2_3},
};

/* run_upgrades - from version to STORE_SCHEMA_VERSION */

static int run_upgrades(struct store *s, DB_TXN *txn, int version)
{
    size_t  i;
    int     ret;

    while (version < STORE_SCHEMA_VERSION) {
	for (i = 0; i < sizeof(upgrade_steps) / sizeof(upgrade_steps[0]); i++)
	    if (upgrade_steps[i].from == version)
		break;
	if (i == sizeof(upgrade_steps) / sizeof(upgrade_steps[0]))
	    return (EINVAL);
	if ((ret = upgrade_steps[i].fn(s, txn)) != 0)
	    return (ret);
	log_info("store: upgraded schema %d to %d in %s",
		 version, version + 1, s->dir);
	version += 1;
    }
    return (store_meta_put(s, txn, "schema_version", (uint64_t) version));
}

/* schema_txn - check or set the schema version in one transaction */

static int schema_txn(struct store *s, char **error_r)
{
    DB_TXN *txn;
    uint64_t v, n;
    int     ret;

    if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
	return (ret);
    ret = store_meta_get(s, txn, "schema_version", &v, DB_RMW);
    if (ret == DB_NOTFOUND) {
	if ((ret = count_items(s, txn, STORE_DB_TICKETS, &n)) == 0)
	    ret = n > 0 ? run_upgrades(s, txn, 0)
		: store_meta_put(s, txn, "schema_version",
				 STORE_SCHEMA_VERSION);
	v = STORE_SCHEMA_VERSION;
    } else if (ret == 0 && v > STORE_SCHEMA_VERSION) {
	*error_r = mem_printf("store schema %llu is newer than this "
			      "postdesk (%d)", (unsigned long long) v,
			      STORE_SCHEMA_VERSION);
	(void) txn->abort(txn);
	return (EINVAL);
    } else if (ret == 0 && v < STORE_SCHEMA_VERSION) {
	ret = run_upgrades(s, txn, (int) v);
	v = STORE_SCHEMA_VERSION;
    }
    if (ret == 0 && (ret = store_meta_get(s, txn, "maintenance", &n, 0)) == 0)
	atomic_store(&s->maintenance, n != 0);
    if (ret == DB_NOTFOUND)
	ret = 0;
    if (ret != 0) {
	(void) txn->abort(txn);
	return (ret);
    }
    if ((ret = txn->commit(txn, 0)) == 0)
	atomic_store(&s->schema_version, (int) v);
    return (ret);
}

/* check_schema - schema_txn with deadlock retries */

static int check_schema(struct store *s, char **error_r)
{
    int     i, ret = 0;

    for (i = 0; i < OPEN_RETRIES; i++) {
	ret = schema_txn(s, error_r);
	if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
	    break;
    }
    if (*error_r)
	return (STORE_TEMP);
    if (ret != 0) {
	*error_r = mem_printf("schema check in %s: %s", s->dir,
			      ret == EINVAL ? "no upgrade path"
			      : db_strerror(ret));
	return (STORE_TEMP);
    }
    return (STORE_OK);
}

/* store_open - open (create, recover) the store in dir */

int     store_open(const char *dir, struct store **store_r, char **error_r)
{
    struct store *s;
    int     status;

    *store_r = 0;
    *error_r = 0;
    if (dir == 0 || *dir == 0) {
	*error_r = mem_strdup("store directory not set");
	return (STORE_TEMP);
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
	*error_r = mem_printf("mkdir %s: %s", dir, strerror(errno));
	return (STORE_TEMP);
    }
    s = mem_zalloc(sizeof(*s));
    s->dir = mem_strdup(dir);
    s->lock_fd = -1;
    s->outbox_sent_keep = STORE_OUTBOX_SENT_KEEP;
    if ((status = take_lock(s, error_r)) == STORE_OK
	&& (status = open_env(s, error_r)) == STORE_OK
	&& (status = open_dbs(s, error_r)) == STORE_OK)
	status = check_schema(s, error_r);
    if (status != STORE_OK) {
	store_close(&s);
	return (status);
    }
    *store_r = s;
    return (STORE_OK);
}

/* store_close - checkpoint and close everything */

void    store_close(struct store **storep)
{
    struct store *s;
    int     i, ret;

    if (storep == 0 || (s = *storep) == 0)
	return;
    *storep = 0;
    for (i = 0; i < STORE_DB_COUNT; i++) {
	if (s->db[i] && (ret = s->db[i]->close(s->db[i], 0)) != 0)
	    log_error("store: close %s: %s", db_files[i], db_strerror(ret));
	s->db[i] = 0;
    }
    if (s->env) {
	if (s->schema_version > 0
	    && (ret = s->env->txn_checkpoint(s->env, 0, 0, 0)) != 0)
	    log_error("store: checkpoint: %s", db_strerror(ret));
	if ((ret = s->env->close(s->env, 0)) != 0)
	    log_error("store: close environment: %s", db_strerror(ret));
    }
    if (s->lock_fd >= 0)
	close(s->lock_fd);			/* releases the flock */
    mem_free(s->dir);
    mem_free(s);
}

/* store_maintenance - cached flag */

int     store_maintenance(struct store *s)
{
    return (atomic_load(&s->maintenance));
}

/* store_set_maintenance - persist the flag, then cache it */

int     store_set_maintenance(struct store *s, int on)
{
    DB_TXN *txn;
    int     i, ret = 0;

    for (i = 0; i < OPEN_RETRIES; i++) {
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
	    break;
	if ((ret = store_meta_put(s, txn, "maintenance", on != 0)) != 0) {
	    (void) txn->abort(txn);
	    if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED)
		continue;
	    break;
	}
	if ((ret = txn->commit(txn, 0)) == 0) {
	    atomic_store(&s->maintenance, on != 0);
	    log_info("store: maintenance %s", on ? "on" : "off");
	}
	break;
    }
    return (ret ? fail(s, "set maintenance", ret) : STORE_OK);
}

/* store_stats - counts for postdeskctl and the logs */

int     store_stats(struct store *s, struct store_stats *st)
{
    DB_LOG_STAT *ls = 0;
    DB_TXN *txn;
    uint64_t n, counts[3];
    int     ret;

    memset(st, 0, sizeof(*st));
    st->schema_version = atomic_load(&s->schema_version);
    st->maintenance = atomic_load(&s->maintenance);
    st->batches = atomic_load(&s->batches);
    st->batched_messages = atomic_load(&s->batched_messages);
    if ((ret = s->env->txn_begin(s->env, NULL, &txn, DB_READ_COMMITTED)) != 0)
	return (fail(s, "stats", ret));
    if ((ret = store_meta_get(s, txn, "count:tickets", &n, 0)) == 0)
	st->tickets = n;
    if ((ret == 0 || ret == DB_NOTFOUND)
	&& (ret = store_meta_get(s, txn, "count:articles", &n, 0)) == 0)
	st->articles = n;
    if (ret == DB_NOTFOUND)
	ret = 0;
    if (ret == 0 && (ret = store_outbox_count(s, txn, counts)) == 0) {
	st->outbox_pending = counts[STORE_OUTBOX_PENDING];
	st->outbox_failed = counts[STORE_OUTBOX_FAILED];
    }
    (void) txn->commit(txn, 0);
    if (ret != 0)
	return (fail(s, "stats", ret));
    if ((ret = s->env->log_stat(s->env, &ls, 0)) != 0)
	return (fail(s, "log stats", ret));
    st->log_flushes = ls->st_scount;
    free(ls);					/* allocated by BDB */
    st->deadlocks = atomic_load(&s->deadlocks);
    return (STORE_OK);
}

/* store_checkpoint - checkpoint and drop unneeded log files */

int     store_checkpoint(struct store *s)
{
    char  **list = 0;
    time_t  now;
    int     ret, status;

    if ((ret = s->env->txn_checkpoint(s->env, 1024, 5, 0)) != 0)
	return (fail(s, "checkpoint", ret));
    /* DB_LOG_AUTO_REMOVE does this too; archive is cheap and explicit. */
    if ((ret = s->env->log_archive(s->env, &list, DB_ARCH_REMOVE)) != 0)
	return (fail(s, "log archive", ret));
    free(list);
    if ((status = store_outbox_trim(s)) != STORE_OK)
	return (status);
    now = time(0);
    if (now - s->ack_pruned >= ACK_PRUNE_EVERY || now < s->ack_pruned) {
	s->ack_pruned = now;
	status = store_ack_prune(s, now);
    }
    return (status);
}
