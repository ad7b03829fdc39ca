#ifndef POSTDESK_UTIL_H
#define POSTDESK_UTIL_H

/*++
/* NAME
/*	util 3h
/* SUMMARY
/*	the small shared base: logging, allocation, buffers, time
/* SYNOPSIS
/*	#include <util.h>
/* DESCRIPTION
/*	See util/log.c, util/mem.c, util/buf.c and util/timeutil.c.
/*--*/

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define UTIL_PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))
#define UTIL_NORETURN __attribute__((noreturn))

/* sysexits(3) values used by every program. */
#define UTIL_EX_OK		0
#define UTIL_EX_USAGE		64
#define UTIL_EX_DATAERR		65
#define UTIL_EX_UNAVAILABLE	69
#define UTIL_EX_SOFTWARE	70
#define UTIL_EX_OSERR		71
#define UTIL_EX_CANTCREAT	73
#define UTIL_EX_IOERR		74
#define UTIL_EX_TEMPFAIL	75
#define UTIL_EX_NOPERM		77
#define UTIL_EX_CONFIG		78

/*
 * Logging (util/log.c). Lines go to syslog(3), and also to stderr when
 * log_open() was told so (daemons with -f, command-line tools). A line
 * about a message starts with that message's id ("ID: ..."), or "NOID: "
 * before one exists; the caller writes that prefix. "%m" expands to
 * strerror(errno) as in syslog(3). Thread-safe.
 */
enum log_level {
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
    LOG_LEVEL_FATAL,
    LOG_LEVEL_PANIC,
};
typedef void (*log_capture_fn) (enum log_level level, const char *line,
				        void *context);

extern void log_open(const char *ident, int to_stderr);
extern void log_set_stderr(int to_stderr);
extern void log_set_capture(log_capture_fn fn, void *context);
extern void log_info(const char *fmt,...) UTIL_PRINTFLIKE(1, 2);
extern void log_warn(const char *fmt,...) UTIL_PRINTFLIKE(1, 2);
extern void log_error(const char *fmt,...) UTIL_PRINTFLIKE(1, 2);
/* log_fatal: the environment is at fault; exit(UTIL_EX_TEMPFAIL). */
extern void log_fatal(const char *fmt,...) UTIL_PRINTFLIKE(1, 2) UTIL_NORETURN;
/* log_fatal_status: same, with an explicit sysexits status. */
extern void log_fatal_status(int status, const char *fmt,...)
            UTIL_PRINTFLIKE(2, 3) UTIL_NORETURN;
/* log_panic: a bug; abort() for a core file. */
extern void log_panic(const char *fmt,...) UTIL_PRINTFLIKE(1, 2) UTIL_NORETURN;
extern void log_vemit(enum log_level level, const char *fmt, va_list ap);

/*
 * Allocation (util/mem.c). These never return NULL: on exhaustion they
 * log and exit. mem_free(NULL) is a no-op.
 */
extern void *mem_alloc(size_t len);
extern void *mem_zalloc(size_t len);
extern void *mem_realloc(void *ptr, size_t len);
extern char *mem_strdup(const char *str);
extern char *mem_strndup(const char *str, size_t len);
extern void *mem_memdup(const void *ptr, size_t len);
extern char *mem_printf(const char *fmt,...) UTIL_PRINTFLIKE(1, 2);
extern void mem_free(void *ptr);

/*
 * Bounded growable buffer (util/buf.c). The content is always followed
 * by a NUL byte that is not counted in buf_len(). A buffer refuses to
 * grow past its limit (0 = no limit other than SIZE_MAX/2): the append
 * functions then return -1 and leave the content unchanged.
 * buf_data() is borrowed: valid until the next change of the buffer.
 */
struct buf;

extern struct buf *buf_create(size_t initial, size_t limit);
extern void buf_destroy(struct buf **bp);
extern void buf_reset(struct buf *b);
extern int buf_append(struct buf *b, const void *data, size_t len);
extern int buf_append_str(struct buf *b, const char *str);
extern int buf_append_char(struct buf *b, int ch);
extern int buf_printf(struct buf *b, const char *fmt,...) UTIL_PRINTFLIKE(2, 3);
extern int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
extern void buf_truncate(struct buf *b, size_t len);
extern void buf_consume(struct buf *b, size_t len);	/* drop a prefix */
extern const char *buf_data(const struct buf *b);
extern char *buf_data_mut(struct buf *b);
extern size_t buf_len(const struct buf *b);
extern size_t buf_limit(const struct buf *b);
extern void buf_set_limit(struct buf *b, size_t limit);
/* buf_steal: hand the content (NUL-terminated) to the caller, who frees
   it with mem_free(); the buffer is left empty. */
extern char *buf_steal(struct buf *b, size_t *len_r);

/*
 * Time (util/timeutil.c).
 */
/* time_rfc3339: format t as "2026-11-27T09:14:03Z" into out (>= 21 bytes). */
extern void time_rfc3339(time_t t, char out[32]);
/* time_now_ms: a monotonic clock in milliseconds. */
extern uint64_t time_now_ms(void);

/*
 * Strings (util/strutil.c).
 */
/* str_lower: lowercase ASCII letters in place; returns str. */
extern char *str_lower(char *str);
/* str_sanitize: a copy of at most max bytes where control characters
   (CR, LF and all other < 0x20 and 0x7f) become '?'; for logs and
   outbound headers. Caller frees with mem_free(). */
extern char *str_sanitize(const char *str, size_t max);
/* str_json_escape: append str as a JSON string literal (with quotes);
   str NULL appends null. Invalid UTF-8 bytes become U+FFFD. */
extern int str_json_escape(struct buf *out, const char *str);

#endif
