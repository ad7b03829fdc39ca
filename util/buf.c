/*++
/* NAME
/*	buf 3
/* SUMMARY
/*	bounded growable buffers
/* SYNOPSIS
/*	#include <util.h>
/*
/*	struct buf *buf_create(initial, limit)
/*	void	buf_destroy(bp)
/*	int	buf_append(b, data, len)
/*	int	buf_printf(b, fmt, ...)
/*	const char *buf_data(b)
/*	size_t	buf_len(b)
/*	char	*buf_steal(b, len_r)
/* DESCRIPTION
/*	A buf holds bytes followed by a NUL that buf_len() does not count,
/*	so text content can be used as a C string. It grows by doubling up
/*	to its limit; an append that would pass the limit returns -1 and
/*	changes nothing, so protocol code can answer "too long" instead of
/*	growing without bound. A limit of 0 means SIZE_MAX/2.
/*
/*	buf_destroy() takes a pointer to the handle, frees it and sets the
/*	handle to NULL; it does nothing for a NULL handle.
/*
/*	buf_data() is borrowed until the next change of the buffer.
/*	buf_steal() transfers the content to the caller (mem_free()).
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <string.h>

#include "util.h"

struct buf {
    char   *data;
    size_t  len;
    size_t  size;			/* allocated, > len */
    size_t  limit;			/* max len */
};

struct buf *buf_create(size_t initial, size_t limit)
{
    struct buf *b = mem_zalloc(sizeof(*b));

    b->limit = limit ? limit : SIZE_MAX / 2;
    b->size = (initial ? initial : 64) + 1;
    b->data = mem_alloc(b->size);
    b->data[0] = 0;
    return (b);
}

void    buf_destroy(struct buf **bp)
{
    if (bp == 0 || *bp == 0)
	return;
    mem_free((*bp)->data);
    mem_free(*bp);
    *bp = 0;
}

void    buf_reset(struct buf *b)
{
    b->len = 0;
    b->data[0] = 0;
}

/* reserve - make room for len more bytes, within the limit */

static int reserve(struct buf *b, size_t len)
{
    size_t  need;

    if (len > b->limit || b->len > b->limit - len)
	return (-1);
    need = b->len + len + 1;
    if (need <= b->size)
	return (0);
    size_t  size = b->size;

    while (size < need)
	size = size < SIZE_MAX / 4 ? size * 2 : need;
    b->data = mem_realloc(b->data, size);
    b->size = size;
    return (0);
}

int     buf_append(struct buf *b, const void *data, size_t len)
{
    if (reserve(b, len) < 0)
	return (-1);
    if (len)
	memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return (0);
}

int     buf_append_str(struct buf *b, const char *str)
{
    return (buf_append(b, str, strlen(str)));
}

int     buf_append_char(struct buf *b, int ch)
{
    char    c = (char) ch;

    return (buf_append(b, &c, 1));
}

int     buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int     n;

    va_copy(ap2, ap);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || reserve(b, (size_t) n) < 0)
	return (-1);
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
#pragma GCC diagnostic pop
    b->len += (size_t) n;
    return (0);
}

int     buf_printf(struct buf *b, const char *fmt,...)
{
    va_list ap;
    int     ret;

    va_start(ap, fmt);
    ret = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return (ret);
}

void    buf_truncate(struct buf *b, size_t len)
{
    if (len < b->len) {
	b->len = len;
	b->data[len] = 0;
    }
}

void    buf_consume(struct buf *b, size_t len)
{
    if (len >= b->len) {
	buf_reset(b);
	return;
    }
    memmove(b->data, b->data + len, b->len - len);
    b->len -= len;
    b->data[b->len] = 0;
}

const char *buf_data(const struct buf *b)
{
    return (b->data);
}

char   *buf_data_mut(struct buf *b)
{
    return (b->data);
}

size_t  buf_len(const struct buf *b)
{
    return (b->len);
}

size_t  buf_limit(const struct buf *b)
{
    return (b->limit);
}

void    buf_set_limit(struct buf *b, size_t limit)
{
    b->limit = limit ? limit : SIZE_MAX / 2;
}

char   *buf_steal(struct buf *b, size_t *len_r)
{
    char   *out = b->data;

    if (len_r)
	*len_r = b->len;
    b->size = 65;
    b->data = mem_alloc(b->size);
    b->len = 0;
    b->data[0] = 0;
    return (out);
}
