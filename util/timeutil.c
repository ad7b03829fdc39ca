/*++
/* NAME
/*	timeutil 3
/* SUMMARY
/*	time helpers
/* SYNOPSIS
/*	#include <util.h>
/*
/*	void	time_rfc3339(t, out)
/*	uint64_t time_now_ms(void)
/* DESCRIPTION
/*	time_rfc3339() writes t as RFC 3339 UTC ("2026-11-27T09:14:03Z").
/*	time_now_ms() reads CLOCK_MONOTONIC in milliseconds, for timeouts.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <time.h>

#include "util.h"

void    time_rfc3339(time_t t, char out[32])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

uint64_t time_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000);
}
