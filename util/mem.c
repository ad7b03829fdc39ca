/*++
/* NAME
/*	mem 3
/* SUMMARY
/*	allocation that never returns NULL
/* SYNOPSIS
/*	#include <util.h>
/*
/*	void	*mem_alloc(len)
/*	void	*mem_zalloc(len)
/*	void	*mem_realloc(ptr, len)
/*	char	*mem_strdup(str)
/*	char	*mem_strndup(str, len)
/*	void	*mem_memdup(ptr, len)
/*	char	*mem_printf(fmt, ...)
/*	void	mem_free(ptr)
/* DESCRIPTION
/*	Thin wrappers around malloc(3) and friends. On exhaustion they log
/*	a fatal error and exit with EX_TEMPFAIL, so that Postfix keeps the
/*	mail and retries; callers never test for NULL. A zero length is
/*	rounded up to one byte. Results are owned by the caller and are
/*	released with mem_free().
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void *check(void *ptr, size_t len)
{
    if (ptr == 0)
	log_fatal("out of memory allocating %zu bytes", len);
    return (ptr);
}

void   *mem_alloc(size_t len)
{
    return (check(malloc(len ? len : 1), len));
}

void   *mem_zalloc(size_t len)
{
    return (check(calloc(1, len ? len : 1), len));
}

void   *mem_realloc(void *ptr, size_t len)
{
    return (check(realloc(ptr, len ? len : 1), len));
}

char   *mem_strdup(const char *str)
{
    return (mem_memdup(str, strlen(str) + 1));
}

char   *mem_strndup(const char *str, size_t len)
{
    size_t  n = strnlen(str, len);
    char   *copy = mem_alloc(n + 1);

    memcpy(copy, str, n);
    copy[n] = 0;
    return (copy);
}

void   *mem_memdup(const void *ptr, size_t len)
{
    void   *copy = mem_alloc(len);

    if (len)
	memcpy(copy, ptr, len);
    return (copy);
}

char   *mem_printf(const char *fmt,...)
{
    va_list ap;
    char   *out;

    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0)
	log_fatal("out of memory formatting a string");
    va_end(ap);
    return (out);
}

void    mem_free(void *ptr)
{
    free(ptr);
}
