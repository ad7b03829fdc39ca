#ifndef POSTDESK_CONF_PRIVATE_H
#define POSTDESK_CONF_PRIVATE_H

/*++
/* NAME
/*	conf_private 3h
/* SUMMARY
/*	conf module internals and value parsers
/* SYNOPSIS
/*	#include "conf_private.h"
/* DESCRIPTION
/*	The value parsers of conf_value.c are pure functions: they are
/*	used by conf_load() to validate, and can be used by the SLA code
/*	to interpret the validated text (hours, durations, dates).
/*--*/

#include <stdint.h>

#include "conf.h"

/* Working hours of a calendar: per weekday (0 = Monday .. 6 = Sunday)
   sorted, non-overlapping [start, end) intervals in minutes 0..1440. */
#define CONF_HOURS_MAX	8

struct conf_interval {
    uint16_t start;			/* minutes since 00:00 */
    uint16_t end;			/* exclusive, <= 1440 */
};

struct conf_hours {
    unsigned n[7];
    struct conf_interval iv[7][CONF_HOURS_MAX];
};

/* conf_hours_parse - parse "mon-fri 08:00-12:00,13:00-17:00; sat ..."
   Returns 0, or -1 with *why_r set (mem_free()). */
extern int conf_hours_parse(const char *text, struct conf_hours *out,
			            char **why_r);

/* conf_duration_minutes - "30m", "24h", "5d" (1d = 24h); 0 or -1. */
extern int conf_duration_minutes(const char *text, int64_t *minutes_r);

/* conf_date_parse - strict "YYYY-MM-DD"; *t_r is 00:00 UTC of it. */
extern int conf_date_parse(const char *text, int64_t *t_r);

/* conf_address_check - does addr look like local@domain (no '+' when
   no_plus)? 0 or -1 with *why_r set to a static text. */
extern int conf_address_check(const char *addr, int no_plus,
			              const char **why_r);

/* conf_domain_check - a DNS domain name (letters, digits, '-', '.'). */
extern int conf_domain_check(const char *domain);

/* conf_endpoint_check - "unix:/path" or "inet:host:port" (listen=1),
   or "host:port" (listen=0). 0 or -1 with *why_r (static text). */
extern int conf_endpoint_check(const char *text, int prefixed,
			               const char **why_r);

#endif
