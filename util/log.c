/*++
/* NAME
/*	log 3
/* SUMMARY
/*	syslog logging with an optional stderr copy and a test capture hook
/* SYNOPSIS
/*	#include <util.h>
/*
/*	void	log_open(ident, to_stderr)
/*	const char *ident;
/*	int	to_stderr;
/*
/*	void	log_info(fmt, ...)
/*	void	log_warn(fmt, ...)
/*	void	log_error(fmt, ...)
/*	void	log_fatal(fmt, ...)
/*	void	log_panic(fmt, ...)
/*
/*	void	log_set_capture(fn, context)
/* DESCRIPTION
/*	log_open() opens syslog(3) with facility LOG_MAIL, like Postfix, and
/*	remembers whether each line is also written to stderr.
/*
/*	log_info() .. log_error() log one line at the matching priority.
/*	A line about a message starts with the message id; the caller
/*	writes it. "%m" is replaced with strerror(errno).
/*
/*	log_fatal() logs and exits with UTIL_EX_TEMPFAIL: the environment
/*	is at fault. log_panic() logs and aborts: a bug.
/*
/*	log_set_capture() installs a hook that receives every formatted
/*	line (tests assert on log output with it); NULL removes it.
/* DIAGNOSTICS
/*	None: logging never fails loudly.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "util.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_stderr;
static int log_syslog;
static const char *log_ident = "postdesk";
static log_capture_fn log_capture;
static void *log_capture_context;

/* log_open - start logging */

void    log_open(const char *ident, int to_stderr)
{
    log_ident = ident;
    log_stderr = to_stderr;
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
    log_syslog = 1;
}

/* log_set_stderr - change the stderr copy */

void    log_set_stderr(int to_stderr)
{
    log_stderr = to_stderr;
}

/* log_set_capture - install the test hook */

void    log_set_capture(log_capture_fn fn, void *context)
{
    pthread_mutex_lock(&log_lock);
    log_capture = fn;
    log_capture_context = context;
    pthread_mutex_unlock(&log_lock);
}

/* expand_m - replace %m with the errno text, doubling other %% safely */

static void expand_m(char *out, size_t outlen, const char *fmt, int saved)
{
    const char *err = strerror(saved);
    size_t  o = 0;

    for (const char *p = fmt; *p && o + 1 < outlen; p++) {
	if (p[0] == '%' && p[1] == 'm') {
	    for (const char *e = err; *e && o + 1 < outlen; e++) {
		if (*e == '%' && o + 2 < outlen)
		    out[o++] = '%';
		out[o++] = *e;
	    }
	    p++;
	} else if (p[0] == '%' && p[1] == '%') {
	    if (o + 2 < outlen) {
		out[o++] = '%';
		out[o++] = '%';
	    }
	    p++;
	} else {
	    out[o++] = *p;
	}
    }
    out[o] = 0;
}

/* log_vemit - format and send one line */

void    log_vemit(enum log_level level, const char *fmt, va_list ap)
{
    static const int prio[] = {LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_CRIT};
    static const char *label[] = {"", "warning: ", "error: ", "fatal: ", "panic: "};
    int     saved = errno;
    char    fmtbuf[1024];
    char    line[4096];

    expand_m(fmtbuf, sizeof(fmtbuf), fmt, saved);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(line, sizeof(line), fmtbuf, ap);
#pragma GCC diagnostic pop
    /* Never let CR/LF from data split a log line. */
    for (char *cp = line; *cp; cp++)
	if (*cp == '\r' || *cp == '\n')
	    *cp = ' ';

    pthread_mutex_lock(&log_lock);
    if (log_syslog)
	syslog(prio[level], "%s%s", label[level], line);
    if (log_stderr)
	fprintf(stderr, "%s: %s%s\n", log_ident, label[level], line);
    if (log_capture)
	log_capture(level, line, log_capture_context);
    pthread_mutex_unlock(&log_lock);
    errno = saved;
}

#define LOG_BODY(level) do { \
	va_list ap; \
	va_start(ap, fmt); \
	log_vemit((level), fmt, ap); \
	va_end(ap); \
    } while (0)

void    log_info(const char *fmt,...)
{
    LOG_BODY(LOG_LEVEL_INFO);
}

void    log_warn(const char *fmt,...)
{
    LOG_BODY(LOG_LEVEL_WARN);
}

void    log_error(const char *fmt,...)
{
    LOG_BODY(LOG_LEVEL_ERROR);
}

void    log_fatal(const char *fmt,...)
{
    LOG_BODY(LOG_LEVEL_FATAL);
    exit(UTIL_EX_TEMPFAIL);
}

void    log_fatal_status(int status, const char *fmt,...)
{
    LOG_BODY(LOG_LEVEL_FATAL);
    exit(status);
}

void    log_panic(const char *fmt,...)
{
    LOG_BODY(LOG_LEVEL_PANIC);
    abort();
}
