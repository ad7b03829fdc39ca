/*++
/* NAME
/*	calendar 3
/* SUMMARY
/*	working-time arithmetic of SLA calendars
/* SYNOPSIS
/*	#include <calendar.h>
/*
/*	struct calendar *calendar_create(conf, error_r)
/*	void	calendar_destroy(calp)
/*	const char *calendar_name(cal)
/*	int	calendar_is_working(cal, t)
/*	time_t	calendar_next_working(cal, t)
/*	time_t	calendar_add(cal, start, minutes)
/*	time_t	calendar_add_days(cal, start, days)
/*	int	calendar_add_duration(cal, start, text, due_r)
/*	int64_t	calendar_between(cal, a, b)
/* DESCRIPTION
/*	calendar_create() parses a struct conf_calendar with the conf
/*	value parsers (conf_hours_parse(), conf_date_parse()) and opens
/*	its time zone with GLib. The result belongs to the caller and is
/*	freed with calendar_destroy(); it is never modified afterwards,
/*	so the other functions may be called from any thread.
/*
/*	The arithmetic walks local dates one at a time. For each date it
/*	computes the real intervals of that day's working ranges (empty
/*	on a holiday): a range's ends are the first instants at which the
/*	wall clock shows them (see calendar.h for the consequences on
/*	daylight-saving days). Durations are then consumed interval by
/*	interval, so the cost is linear in the days walked. A walk gives
/*	up after CALENDAR_SEARCH_DAYS consecutive days without working
/*	time, or at the end of year 9999.
/*
/*	Instants are counted in seconds internally; working minutes are
/*	real minutes (60 seconds), so an instant that is not on a minute
/*	boundary keeps its seconds through calendar_add().
/* DIAGNOSTICS
/*	calendar_create() returns NULL with *error_r set (mem_free()) for
/*	an unknown time zone, bad hours or a bad holiday. The arithmetic
/*	returns CALENDAR_NONE (or -1 / 0 where documented) instead of
/*	looping when there is no working time to be found.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "util.h"
#include "conf_private.h"
#include "calendar.h"

#define DAY		86400
#define MIN_DAY		((int64_t) -25567)	/* 1900-01-01 */
#define MAX_DAY		((int64_t) 2932896)	/* 9999-12-31 */
#define MIN_T		(MIN_DAY * DAY)
#define MAX_T		(MAX_DAY * DAY + DAY - 1)

struct calendar {
    char   *name;
    GTimeZone *tz;
    struct conf_hours hours;
    int64_t *holidays;			/* sorted day numbers (days since 1970-01-01) */
    size_t  nholidays;
};

struct span {
    int64_t start;			/* first working second */
    int64_t end;			/* exclusive */
};

/* A cursor walks the working intervals of consecutive local dates. */

struct cursor {
    const struct calendar *cal;
    int64_t day;			/* the date whose spans are loaded */
    int     n;				/* spans loaded */
    int     i;				/* next span to hand out */
    struct span sp[CONF_HOURS_MAX];
};

/* floor_div - division rounding towards minus infinity */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return ((a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q);
}

/* weekday - 0 = Monday .. 6 = Sunday of a day number */

static int weekday(int64_t day)
{
    /* 1970-01-01 was a Thursday (3) */
    return ((int) (((day + 3) % 7 + 7) % 7));
}

/* offset_at - UTC offset in seconds of the calendar zone at instant t */

static int64_t offset_at(const struct calendar *cal, int64_t t)
{
    gint    iv = g_time_zone_find_interval(cal->tz, G_TIME_TYPE_UNIVERSAL, t);

    return (iv < 0 ? 0 : g_time_zone_get_offset(cal->tz, iv));
}

/* local_wall - local wall clock of t, as seconds since 1970-01-01 00:00 */

static int64_t local_wall(const struct calendar *cal, int64_t t)
{
    return (t + offset_at(cal, t));
}

/* wall_instant - the first instant whose local wall clock is >= wall */

static int64_t wall_instant(const struct calendar *cal, int64_t wall)
{
    int64_t cand[3];
    int64_t best = INT64_MAX;
    int64_t lo, hi, omin, omax;

    cand[0] = offset_at(cal, wall - DAY);
    cand[1] = offset_at(cal, wall);
    cand[2] = offset_at(cal, wall + DAY);

    /* Exact matches: the earliest is the first occurrence. */
    for (int i = 0; i < 3; i++) {
	int64_t t = wall - cand[i];

	if (offset_at(cal, t) == cand[i] && t < best)
	    best = t;
    }
    if (best != INT64_MAX)
	return (best);

    /* In a gap: the answer is the transition; bisect between the two. */
    omin = omax = cand[0];
    for (int i = 1; i < 3; i++) {
	if (cand[i] < omin)
	    omin = cand[i];
	if (cand[i] > omax)
	    omax = cand[i];
    }
    lo = wall - omax;
    hi = wall - omin;
    if (local_wall(cal, lo) >= wall || local_wall(cal, hi) < wall)
	return (wall - cand[1]);		/* not expected: keep going */
    while (hi - lo > 1) {
	int64_t mid = lo + (hi - lo) / 2;

	if (local_wall(cal, mid) >= wall)
	    hi = mid;
	else
	    lo = mid;
    }
    return (hi);
}

/* cmp_day - qsort/bsearch comparison of day numbers */

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a;
    int64_t y = *(const int64_t *) b;

    return ((x > y) - (x < y));
}

/* is_holiday - is the local date a holiday? */

static int is_holiday(const struct calendar *cal, int64_t day)
{
    return (cal->nholidays > 0
	    && bsearch(&day, cal->holidays, cal->nholidays,
		       sizeof(cal->holidays[0]), cmp_day) != 0);
}

/* day_spans - the non-empty working intervals of a local date */

static int day_spans(const struct calendar *cal, int64_t day, struct span *out)
{
    int     wd = weekday(day);
    int     n = 0;

    if (is_holiday(cal, day))
	return (0);
    for (unsigned k = 0; k < cal->hours.n[wd]; k++) {
	const struct conf_interval *iv = &cal->hours.iv[wd][k];
	int64_t s = wall_instant(cal, day * DAY + iv->start * 60);
	int64_t e = wall_instant(cal, day * DAY + iv->end * 60);

	if (n > 0 && s < out[n - 1].end)
	    s = out[n - 1].end;
	if (e > s) {
	    out[n].start = s;
	    out[n].end = e;
	    n++;
	}
    }
    return (n);
}

/* cursor_next - the next working interval; -1 when none is near */

static int cursor_next(struct cursor *cur, struct span *out)
{
    int     empty = 0;

    while (cur->i >= cur->n) {
	if (++empty > CALENDAR_SEARCH_DAYS || cur->day >= MAX_DAY)
	    return (-1);
	cur->day++;
	cur->n = day_spans(cur->cal, cur->day, cur->sp);
	cur->i = 0;
    }
    *out = cur->sp[cur->i++];
    return (0);
}

/* cursor_first - the first working interval ending after t, clipped to t */

static int cursor_first(struct cursor *cur, const struct calendar *cal,
			        int64_t t, struct span *out)
{
    if (t < MIN_T || t > MAX_T)
	return (-1);
    cur->cal = cal;
    /* Start a day early: a date's intervals never begin before it. */
    cur->day = floor_div(local_wall(cal, t), DAY) - 2;
    cur->n = cur->i = 0;
    do {
	if (cursor_next(cur, out) < 0)
	    return (-1);
    } while (out->end <= t);
    if (out->start < t)
	out->start = t;
    return (0);
}

/* calendar_create - build a calendar from its configuration */

struct calendar *calendar_create(const struct conf_calendar *conf, char **error_r)
{
    struct calendar *cal;
    GTimeZone *tz;
    char   *why;
    size_t  n = 0;

    *error_r = 0;
    if (conf->timezone == 0 || *conf->timezone == 0) {
	*error_r = mem_strdup("no time zone given");
	return (0);
    }
    if ((tz = g_time_zone_new_identifier(conf->timezone)) == 0) {
	*error_r = mem_printf("unknown time zone \"%s\"", conf->timezone);
	return (0);
    }
    cal = mem_zalloc(sizeof(*cal));
    cal->tz = tz;
    cal->name = mem_strdup(conf->name ? conf->name : "");
    if (conf->hours == 0) {
	*error_r = mem_strdup("no working hours given");
	calendar_destroy(&cal);
	return (0);
    }
    if (conf_hours_parse(conf->hours, &cal->hours, &why) < 0) {
	*error_r = mem_printf("bad hours \"%s\": %s", conf->hours, why);
	mem_free(why);
	calendar_destroy(&cal);
	return (0);
    }
    if (conf->holidays)
	while (conf->holidays[n])
	    n++;
    cal->holidays = mem_alloc((n ? n : 1) * sizeof(cal->holidays[0]));
    for (size_t i = 0; i < n; i++) {
	int64_t t;

	if (conf_date_parse(conf->holidays[i], &t) < 0) {
	    *error_r = mem_printf("bad holiday \"%s\" (expected YYYY-MM-DD)",
				  conf->holidays[i]);
	    calendar_destroy(&cal);
	    return (0);
	}
	cal->holidays[i] = t / DAY;
    }
    cal->nholidays = n;
    qsort(cal->holidays, n, sizeof(cal->holidays[0]), cmp_day);
    return (cal);
}

/* calendar_destroy - free a calendar */

void    calendar_destroy(struct calendar **calp)
{
    struct calendar *cal = *calp;

    if (cal == 0)
	return;
    if (cal->tz)
	g_time_zone_unref(cal->tz);
    mem_free(cal->holidays);
    mem_free(cal->name);
    mem_free(cal);
    *calp = 0;
}

/* calendar_name - the calendar's name */

const char *calendar_name(const struct calendar *cal)
{
    return (cal->name);
}

/* calendar_next_working - t, or the start of the next working interval */

time_t  calendar_next_working(const struct calendar *cal, time_t t)
{
    struct cursor cur;
    struct span sp;

    if (cursor_first(&cur, cal, t, &sp) < 0)
	return (CALENDAR_NONE);
    return ((time_t) sp.start);
}

/* calendar_is_working - is t working time? */

int     calendar_is_working(const struct calendar *cal, time_t t)
{
    return (t != CALENDAR_NONE && calendar_next_working(cal, t) == t);
}

/* calendar_add - add working minutes to an instant */

time_t  calendar_add(const struct calendar *cal, time_t start, int64_t minutes)
{
    struct cursor cur;
    struct span sp;
    int64_t rem;

    if (minutes < 0 || minutes > CALENDAR_MAX_MINUTES)
	return (CALENDAR_NONE);
    if (cursor_first(&cur, cal, start, &sp) < 0)
	return (CALENDAR_NONE);
    rem = minutes * 60;
    for (;;) {
	if (rem <= sp.end - sp.start)
	    return ((time_t) (sp.start + rem));
	rem -= sp.end - sp.start;
	if (cursor_next(&cur, &sp) < 0)
	    return (CALENDAR_NONE);
    }
}

/* calendar_add_days - add working days to an instant */

time_t  calendar_add_days(const struct calendar *cal, time_t start, int64_t days)
{
    struct span sp[CONF_HOURS_MAX];
    int64_t s, wall, day, w, target;
    int     n = 0;
    int     empty = 0;

    if (days < 0 || days > CALENDAR_MAX_DAYS)
	return (CALENDAR_NONE);
    if ((s = calendar_next_working(cal, start)) == CALENDAR_NONE)
	return (CALENDAR_NONE);
    if (days == 0)
	return ((time_t) s);
    wall = local_wall(cal, s);
    day = floor_div(wall, DAY);
    w = wall - day * DAY;
    for (int64_t k = 0; k < days; /* void */ ) {
	if (++day > MAX_DAY || ++empty > CALENDAR_SEARCH_DAYS)
	    return (CALENDAR_NONE);
	if ((n = day_spans(cal, day, sp)) > 0) {
	    k++;
	    empty = 0;
	}
    }
    target = wall_instant(cal, day * DAY + w);
    for (int i = 0; i < n; i++)
	if (sp[i].end > target)
	    return ((time_t) (sp[i].start > target ? sp[i].start : target));
    return ((time_t) sp[n - 1].end);
}

/* calendar_add_duration - add "30m", "24h" or "5d" */

int     calendar_add_duration(const struct calendar *cal, time_t start,
			              const char *text, time_t *due_r)
{
    int64_t minutes;
    time_t  due;

    if (text == 0 || conf_duration_minutes(text, &minutes) < 0)
	return (-1);
    if (text[strlen(text) - 1] == 'd')
	due = calendar_add_days(cal, start, minutes / (24 * 60));
    else
	due = calendar_add(cal, start, minutes);
    if (due == CALENDAR_NONE)
	return (-1);
    *due_r = due;
    return (0);
}

/* calendar_between - working minutes in [a, b) */

int64_t calendar_between(const struct calendar *cal, time_t a, time_t b)
{
    struct cursor cur;
    struct span sp;
    int64_t sum = 0;

    if (b <= a || cursor_first(&cur, cal, a, &sp) < 0)
	return (0);
    for (;;) {
	if (sp.start >= b)
	    break;
	sum += (sp.end < b ? sp.end : b) - sp.start;
	if (sp.end >= b || cursor_next(&cur, &sp) < 0)
	    break;
    }
    return (sum / 60);
}
