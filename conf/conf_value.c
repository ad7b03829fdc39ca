/*++
/* NAME
/*	conf_value 3
/* SUMMARY
/*	postdesk.conf value parsers: hours, durations, dates, addresses
/* SYNOPSIS
/*	#include "conf_private.h"
/*
/*	int	conf_hours_parse(text, out, why_r)
/*	int	conf_duration_minutes(text, minutes_r)
/*	int	conf_date_parse(text, t_r)
/*	int	conf_address_check(addr, no_plus, why_r)
/*	int	conf_domain_check(domain)
/*	int	conf_endpoint_check(text, prefixed, why_r)
/* DESCRIPTION
/*	Pure functions, safe from any thread; they keep no state.
/*
/*	conf_hours_parse() reads working hours: one or more day specs
/*	separated by ';', each "DAYS TIMES" where DAYS is a
/*	comma-separated list of days (mon..sun) or day ranges (mon-fri,
/*	never wrapping past Sunday) and TIMES a comma-separated list of
/*	HH:MM-HH:MM ranges (00:00 to 24:00, start before end). Two ranges
/*	of the same day must not overlap (touching is allowed). At least
/*	one range is required. On error *why_r is a text for mem_free().
/*
/*	conf_duration_minutes() reads a positive integer followed by m,
/*	h or d (a day is 24 hours), at most 366 days.
/*
/*	conf_date_parse() reads a valid calendar date YYYY-MM-DD.
/*
/*	conf_address_check() accepts local@domain with a dot-atom local
/*	part and a DNS domain; callers lowercase first.
/*
/*	conf_endpoint_check() accepts "unix:/absolute/path" or
/*	"inet:host:port" when prefixed, "host:port" otherwise; the port
/*	is 1..65535, and host may be a bracketed IPv6 address.
/* DIAGNOSTICS
/*	Every function returns 0 on success and -1 on bad input.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "util.h"
#include "conf_private.h"

#define MAX_DURATION_MINUTES	(366 * 24 * 60)

static const char *const day_names[7] = {
    "mon", "tue", "wed", "thu", "fri", "sat", "sun",
};

/* day_index - 0..6 for a three-letter day name, or -1 */

static int day_index(const char *s, size_t len)
{
    if (len != 3)
	return (-1);
    for (int i = 0; i < 7; i++)
	if (g_ascii_strncasecmp(s, day_names[i], 3) == 0)
	    return (i);
    return (-1);
}

/* parse_days - "mon-fri,sat" into a bitmask */

static int parse_days(const char *s, unsigned *mask_r, char **why_r)
{
    gchar **items = g_strsplit(s, ",", -1);
    unsigned mask = 0;
    int     ret = 0;

    for (gchar **ip = items; *ip && ret == 0; ip++) {
	const char *dash = strchr(*ip, '-');
	int     a, b;

	if (dash) {
	    a = day_index(*ip, dash - *ip);
	    b = day_index(dash + 1, strlen(dash + 1));
	} else {
	    a = b = day_index(*ip, strlen(*ip));
	}
	if (a < 0 || b < 0) {
	    *why_r = mem_printf("bad day \"%s\" (expected mon..sun or a range like mon-fri)", *ip);
	    ret = -1;
	} else if (a > b) {
	    *why_r = mem_printf("day range \"%s\" goes backwards (weeks run mon..sun)", *ip);
	    ret = -1;
	} else {
	    for (int d = a; d <= b; d++)
		mask |= 1u << d;
	}
    }
    g_strfreev(items);
    *mask_r = mask;
    return (ret);
}

/* parse_clock - "HH:MM" (00:00..24:00) into minutes */

static int parse_clock(const char *s, size_t len, int *min_r)
{
    int     h, m;

    if (len != 5 || !isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1])
	|| s[2] != ':' || !isdigit((unsigned char) s[3]) || !isdigit((unsigned char) s[4]))
	return (-1);
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
	return (-1);
    *min_r = h * 60 + m;
    return (0);
}

/* add_interval - insert sorted, refusing overlaps */

static int add_interval(struct conf_hours *out, int day, int start, int end,
			        char **why_r)
{
    unsigned n = out->n[day];
    unsigned pos;

    for (unsigned i = 0; i < n; i++) {
	if (start < out->iv[day][i].end && out->iv[day][i].start < end) {
	    *why_r = mem_printf("%s %02d:%02d-%02d:%02d overlaps %02d:%02d-%02d:%02d",
				day_names[day], start / 60, start % 60,
				end / 60, end % 60,
				out->iv[day][i].start / 60, out->iv[day][i].start % 60,
				out->iv[day][i].end / 60, out->iv[day][i].end % 60);
	    return (-1);
	}
    }
    if (n >= CONF_HOURS_MAX) {
	*why_r = mem_printf("more than %d time ranges on %s", CONF_HOURS_MAX,
			    day_names[day]);
	return (-1);
    }
    for (pos = 0; pos < n && out->iv[day][pos].start < start; pos++)
	 /* void */ ;
    memmove(&out->iv[day][pos + 1], &out->iv[day][pos],
	    (n - pos) * sizeof(out->iv[day][0]));
    out->iv[day][pos].start = (uint16_t) start;
    out->iv[day][pos].end = (uint16_t) end;
    out->n[day] = n + 1;
    return (0);
}

/* parse_times - "08:00-12:00,13:00-17:00" for every day in mask */

static int parse_times(const char *s, unsigned mask, struct conf_hours *out,
		               char **why_r)
{
    gchar **items = g_strsplit(s, ",", -1);
    int     ret = 0;

    for (gchar **ip = items; *ip && ret == 0; ip++) {
	const char *dash = strchr(*ip, '-');
	int     start, end;

	if (dash == 0 || parse_clock(*ip, dash - *ip, &start) < 0
	    || parse_clock(dash + 1, strlen(dash + 1), &end) < 0) {
	    *why_r = mem_printf("bad time range \"%s\" (expected HH:MM-HH:MM, 00:00 to 24:00)", *ip);
	    ret = -1;
	} else if (start >= end) {
	    *why_r = mem_printf("time range \"%s\" does not end after it starts", *ip);
	    ret = -1;
	} else {
	    for (int d = 0; d < 7 && ret == 0; d++)
		if (mask & (1u << d))
		    ret = add_interval(out, d, start, end, why_r);
	}
    }
    g_strfreev(items);
    return (ret);
}

/* conf_hours_parse - parse a calendar's working hours */

int     conf_hours_parse(const char *text, struct conf_hours *out, char **why_r)
{
    gchar **specs = g_strsplit(text, ";", -1);
    int     ret = 0;
    int     total = 0;

    memset(out, 0, sizeof(*out));
    *why_r = 0;
    for (gchar **sp = specs; *sp && ret == 0; sp++) {
	gchar  *spec = g_strstrip(*sp);
	gchar **words;
	unsigned mask;

	if (*spec == 0)
	    continue;
	words = g_strsplit_set(spec, " \t", -1);
	{
	    /* compact: drop empty words from repeated blanks */
	    int     n = 0;

	    for (int i = 0; words[i]; i++) {
		if (*words[i])
		    words[n++] = words[i];
		else
		    g_free(words[i]);
	    }
	    words[n] = 0;
	    if (n != 2) {
		*why_r = mem_printf("bad day spec \"%s\" (expected DAYS TIMES, e.g. mon-fri 08:00-17:00)", spec);
		ret = -1;
	    }
	}
	if (ret == 0 && (ret = parse_days(words[0], &mask, why_r)) == 0)
	    ret = parse_times(words[1], mask, out, why_r);
	g_strfreev(words);
	total++;
    }
    g_strfreev(specs);
    if (ret == 0 && total == 0) {
	*why_r = mem_strdup("no working hours given");
	ret = -1;
    }
    return (ret);
}

/* conf_duration_minutes - parse "30m", "24h", "5d" */

int     conf_duration_minutes(const char *text, int64_t *minutes_r)
{
    const char *cp = text;
    int64_t n = 0;
    int64_t unit;

    if (*cp < '1' || *cp > '9')
	return (-1);
    for (; isdigit((unsigned char) *cp); cp++) {
	n = n * 10 + (*cp - '0');
	if (n > MAX_DURATION_MINUTES)
	    return (-1);
    }
    switch (*cp) {
    case 'm':
	unit = 1;
	break;
    case 'h':
	unit = 60;
	break;
    case 'd':
	unit = 24 * 60;
	break;
    default:
	return (-1);
    }
    if (cp[1] != 0 || n * unit > MAX_DURATION_MINUTES)
	return (-1);
    *minutes_r = n * unit;
    return (0);
}

/* conf_date_parse - parse a strict YYYY-MM-DD date */

int     conf_date_parse(const char *text, int64_t *t_r)
{
    int     y, m, d;
    GDateTime *dt;

    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
	return (-1);
    for (int i = 0; i < 10; i++)
	if (i != 4 && i != 7 && !isdigit((unsigned char) text[i]))
	    return (-1);
    y = atoi(text);
    m = atoi(text + 5);
    d = atoi(text + 8);
    if (y < 1970 || y > 9999 || !g_date_valid_dmy(d, m, y))
	return (-1);
    if ((dt = g_date_time_new_utc(y, m, d, 0, 0, 0)) == 0)
	return (-1);
    *t_r = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return (0);
}

/* conf_domain_check - DNS domain name syntax */

int     conf_domain_check(const char *domain)
{
    size_t  label = 0;
    size_t  len = strlen(domain);

    if (len == 0 || len > 253 || domain[0] == '.' || domain[len - 1] == '.')
	return (-1);
    for (const char *cp = domain; *cp; cp++) {
	if (*cp == '.') {
	    if (label == 0 || cp[-1] == '-')
		return (-1);
	    label = 0;
	} else if (isalnum((unsigned char) *cp) || *cp == '-') {
	    if (label == 0 && *cp == '-')
		return (-1);
	    if (++label > 63)
		return (-1);
	} else {
	    return (-1);
	}
    }
    return (domain[len - 1] == '-' ? -1 : 0);
}

/* conf_address_check - local@domain syntax */

int     conf_address_check(const char *addr, int no_plus, const char **why_r)
{
    const char *at = strrchr(addr, '@');
    static const char specials[] = "!#$%&'*+-/=?^_`{|}~.";

    if (at == 0 || at == addr) {
	*why_r = "expected local@domain";
	return (-1);
    }
    if (at - addr > 64) {
	*why_r = "local part longer than 64 characters";
	return (-1);
    }
    if (addr[0] == '.' || at[-1] == '.') {
	*why_r = "local part starts or ends with a dot";
	return (-1);
    }
    for (const char *cp = addr; cp < at; cp++) {
	if (!isalnum((unsigned char) *cp) && strchr(specials, *cp) == 0) {
	    *why_r = "bad character in local part";
	    return (-1);
	}
	if (*cp == '.' && cp[1] == '.') {
	    *why_r = "two dots in a row in local part";
	    return (-1);
	}
	if (*cp == '+' && no_plus) {
	    *why_r = "local part contains the recipient delimiter '+'";
	    return (-1);
	}
    }
    if (conf_domain_check(at + 1) < 0) {
	*why_r = "bad domain";
	return (-1);
    }
    return (0);
}

/* port_check - "1".."65535" */

static int port_check(const char *port)
{
    char   *end;
    long    n;

    if (!isdigit((unsigned char) *port))
	return (-1);
    n = strtol(port, &end, 10);
    return (*end == 0 && n >= 1 && n <= 65535 ? 0 : -1);
}

/* hostport_check - "host:port" or "[v6]:port" */

static int hostport_check(const char *text, const char **why_r)
{
    const char *colon = strrchr(text, ':');
    size_t  hlen;

    if (colon == 0 || colon == text) {
	*why_r = "expected host:port";
	return (-1);
    }
    hlen = colon - text;
    if (text[0] == '[') {
	if (text[hlen - 1] != ']' || hlen < 3) {
	    *why_r = "bad bracketed address";
	    return (-1);
	}
    } else if (memchr(text, ':', hlen) != 0) {
	*why_r = "an IPv6 address must be written in brackets, e.g. [::1]:25";
	return (-1);
    } else {
	for (const char *cp = text; cp < colon; cp++) {
	    if (!isalnum((unsigned char) *cp) && *cp != '.' && *cp != '-') {
		*why_r = "bad character in host";
		return (-1);
	    }
	}
    }
    if (port_check(colon + 1) < 0) {
	*why_r = "port must be a number from 1 to 65535";
	return (-1);
    }
    return (0);
}

/* conf_endpoint_check - listener or relay syntax */

int     conf_endpoint_check(const char *text, int prefixed, const char **why_r)
{
    if (!prefixed)
	return (hostport_check(text, why_r));
    if (strncmp(text, "unix:", 5) == 0) {
	if (text[5] != '/') {
	    *why_r = "unix: needs an absolute path";
	    return (-1);
	}
	return (0);
    }
    if (strncmp(text, "inet:", 5) == 0)
	return (hostport_check(text + 5, why_r));
    *why_r = "expected unix:/path or inet:host:port";
    return (-1);
}
