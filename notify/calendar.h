#ifndef POSTDESK_CALENDAR_H
#define POSTDESK_CALENDAR_H

/*++
/* NAME
/*	calendar 3h
/* SUMMARY
/*	working-time arithmetic of SLA calendars
/* SYNOPSIS
/*	#include <calendar.h>
/* DESCRIPTION
/*	A calendar is a time zone, working hours per weekday (ranges of
/*	local wall-clock time, "mon-fri 08:00-12:00,13:00-17:00") and
/*	holidays (whole local days). It is built from a validated
/*	struct conf_calendar and is immutable afterwards: every function
/*	taking a const struct calendar * is safe from any thread.
/*
/*	Working time. On a local date D that is not a holiday, a range
/*	HH:MM-HH:MM of D's weekday is the real interval [T(start),
/*	T(end)), where T(w) is the first instant at which the local wall
/*	clock shows date D, time w or later. Working time is measured in
/*	real elapsed minutes inside those intervals: the whole day
/*	00:00-24:00 of 2027-03-28 in Europe/Zurich counts 23 hours, that
/*	of 2027-10-31 counts 25 hours; a range that lies in the skipped
/*	hour counts only its part after the change ("sun 01:00-04:00"
/*	is 2 hours on 2027-03-28, 4 hours on 2027-10-31). Intervals are
/*	half-open: 12:00 is not working time with hours 08:00-12:00.
/*
/*	A working day is a local date that is not a holiday and has
/*	working time (a positive total length, as defined above).
/*
/*	Durations. "Nm" and "Nh" are N (or N*60) working minutes; "Nd"
/*	is N working days (not N*24 hours), see calendar_add_days().
/*
/*	CALENDAR_NONE is returned instead of an instant when no working
/*	time exists within CALENDAR_SEARCH_DAYS consecutive days (a
/*	calendar whose holidays cover every working day), when an
/*	argument is out of range (negative durations, durations over
/*	CALENDAR_MAX_MINUTES or CALENDAR_MAX_DAYS, instants outside
/*	1900..9999), or when the result would fall outside that range.
/*	The cost of every function is linear in the number of calendar
/*	days it walks (never per minute).
/*--*/

#include <stdint.h>
#include <time.h>

#include <conf.h>

#define CALENDAR_NONE		((time_t) -1)
#define CALENDAR_SEARCH_DAYS	3660	/* ~10 years without working time */
#define CALENDAR_MAX_MINUTES	((int64_t) 100 * 366 * 24 * 60)
#define CALENDAR_MAX_DAYS	((int64_t) 100 * 366)

struct calendar;

/*
 * calendar_create - build a calendar from its configuration (time zone
 * name, hours text, holiday dates), parsed with the conf value parsers.
 * Returns a calendar owned by the caller (calendar_destroy()), or NULL
 * with *error_r set to a text for mem_free().
 */
extern struct calendar *calendar_create(const struct conf_calendar *conf,
					        char **error_r);

/* calendar_destroy - free a calendar; sets *calp = NULL. NULL is fine. */
extern void calendar_destroy(struct calendar **calp);

/* calendar_name - the [calendar NAME] it was built from ("" if none) */
extern const char *calendar_name(const struct calendar *cal);

/* calendar_is_working - 1 if instant t is working time, else 0 */
extern int calendar_is_working(const struct calendar *cal, time_t t);

/*
 * calendar_next_working - t itself when it is working time, otherwise
 * the start of the next working interval; CALENDAR_NONE if none.
 */
extern time_t calendar_next_working(const struct calendar *cal, time_t t);

/*
 * calendar_add - the instant at which `minutes' working minutes have
 * passed after start. Counting starts at calendar_next_working(start),
 * so a zero duration gives the next working instant (start itself if it
 * is working time). The result is where the last working minute ends:
 * it may be the end of a range (Friday 16:00 + 60m = Friday 17:00 with
 * hours ending at 17:00), never the start of the next range.
 * CALENDAR_NONE when minutes < 0 or > CALENDAR_MAX_MINUTES, or as above.
 */
extern time_t calendar_add(const struct calendar *cal, time_t start,
			           int64_t minutes);

/*
 * calendar_add_days - N working days after start. Let s =
 * calendar_next_working(start), D0 its local date and w its local
 * wall-clock time. The result lies on DN, the N-th working day after
 * D0 (skipping weekends, holidays and days without working time): at
 * wall-clock time w on DN if that is working time; else at the next
 * working instant of DN if there is one later that day; else at the
 * end of DN's last working range. From a Wednesday 10:00 on an office
 * calendar, 5 days end the next Wednesday 10:00; wall-clock time is
 * kept across daylight-saving changes (a day is not 24 real hours).
 * N = 0 gives s. CALENDAR_NONE when days < 0 or > CALENDAR_MAX_DAYS.
 */
extern time_t calendar_add_days(const struct calendar *cal, time_t start,
				        int64_t days);

/*
 * calendar_add_duration - add a duration text: "Nm", "Nh" (working
 * minutes, calendar_add()) or "Nd" (working days, calendar_add_days()),
 * with the syntax and limits of conf (positive N, at most 366 days).
 * Returns 0 with *due_r set, or -1 for bad text or CALENDAR_NONE.
 */
extern int calendar_add_duration(const struct calendar *cal, time_t start,
				         const char *text, time_t *due_r);

/*
 * calendar_between - working minutes (rounded down) in [a, b); 0 when
 * b <= a. For every start and minutes, calendar_between(cal, start,
 * calendar_add(cal, start, minutes)) == minutes.
 */
extern int64_t calendar_between(const struct calendar *cal, time_t a, time_t b);

#endif
