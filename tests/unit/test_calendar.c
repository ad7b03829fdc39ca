/*++
/* NAME
/*	test_calendar 1
/* SUMMARY
/*	unit tests of notify/calendar.c: working-time arithmetic
/* SYNOPSIS
/*	test_calendar
/* DESCRIPTION
/*	CUnit runner registered with ctest. Table tests: every instant is
/*	written as local wall-clock time in Europe/Zurich ("YYYY-MM-DD
/*	HH:MM", with " +HHMM" where the offset matters: around the
/*	daylight-saving changes of 2027-03-28 and 2027-10-31), converted
/*	with GLib, and results are compared as such strings so that a
/*	failure prints the instant computed. Expected values were worked
/*	out by hand (see the comment on each row). A seeded random
/*	property test checks that calendar_between() inverts
/*	calendar_add(), and that the due instant is the first one that
/*	has enough working time.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <CUnit/Basic.h>

#include <util.h>
#include <calendar.h>

#define ZONE	"Europe/Zurich"

#define WD	"mon-fri 00:00-24:00"
#define ALL	"mon-sun 00:00-24:00"
#define OFF	"mon-fri 08:00-12:00,13:00-17:00"
#define SHORTFRI "mon-thu 08:00-17:00; fri 08:00-12:00"
#define SATMORN	"mon-fri 08:00-12:00,13:00-17:00; sat 10:00-12:00"
#define NIGHT	"sun 01:00-04:00"

static GTimeZone *zone;

/* make_cal - a Zurich calendar; holidays separated by ';' (or NULL) */

static struct calendar *make_cal(const char *hours, const char *holidays)
{
    struct conf_calendar cc;
    gchar **hol = holidays ? g_strsplit(holidays, ";", -1) : 0;
    struct calendar *cal;
    char   *error = 0;

    memset(&cc, 0, sizeof(cc));
    cc.name = "test";
    cc.timezone = ZONE;
    cc.hours = hours;
    cc.holidays = (const char *const *) hol;
    cal = calendar_create(&cc, &error);
    if (cal == 0) {
	fprintf(stderr, "calendar_create(%s): %s\n", hours, error);
	mem_free(error);
    }
    g_strfreev(hol);
    CU_ASSERT_FATAL(cal != 0);
    return (cal);
}

/* at - "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM +HHMM" to an instant */

static time_t at(const char *local)
{
    int     y, mo, d, h, mi;
    GDateTime *dt;
    time_t  t;

    if (sscanf(local, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) != 5) {
	fprintf(stderr, "bad test instant \"%s\"\n", local);
	CU_FAIL_FATAL("bad test instant");
    }
    if (strlen(local) > 16) {
	char    iso[40];

	/* "2027-10-31 02:30 +0100" -> "2027-10-31T02:30:00+01:00" */
	snprintf(iso, sizeof(iso), "%.10sT%.5s:00%.3s:%.2s", local,
		 local + 11, local + 17, local + 20);
	dt = g_date_time_new_from_iso8601(iso, 0);
    } else {
	dt = g_date_time_new(zone, y, mo, d, h, mi, 0);
    }
    CU_ASSERT_FATAL(dt != 0);
    t = (time_t) g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return (t);
}

/* fmt - an instant as local time, with the offset when like has one */

static void fmt(time_t t, const char *like, char out[40])
{
    GDateTime *utc, *loc;
    gchar  *s;

    if (t == CALENDAR_NONE) {
	snprintf(out, 40, "NONE");
	return;
    }
    utc = g_date_time_new_from_unix_utc(t);
    loc = g_date_time_to_timezone(utc, zone);
    s = g_date_time_format(loc, strlen(like) > 16 ? "%Y-%m-%d %H:%M %z"
			   : (t % 60 ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M"));
    snprintf(out, 40, "%s", s);
    g_free(s);
    g_date_time_unref(loc);
    g_date_time_unref(utc);
}

/* apply - "0m", "24h", "1000d" (test syntax, zero allowed) */

static time_t apply(const struct calendar *cal, time_t start, const char *dur)
{
    char   *end;
    long long n = strtoll(dur, &end, 10);

    switch (*end) {
    case 'm':
	return (calendar_add(cal, start, n));
    case 'h':
	return (calendar_add(cal, start, n * 60));
    case 'd':
	return (calendar_add_days(cal, start, n));
    }
    CU_FAIL_FATAL("bad test duration");
    return (CALENDAR_NONE);
}

/* check_str - compare two texts, printing the row on failure */

static void check_str(const char *row, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
	fprintf(stderr, "\n  %s: got \"%s\", want \"%s\"\n", row, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static const struct add_case {
    const char *hours;
    const char *holidays;
    const char *start;
    const char *dur;
    const char *due;
} add_cases[] = {
    /* The issue's example: Fri 16-24 is 8h, Mon 00-16 the other 16h. */
    {WD, 0, "2026-11-27 16:00", "24h", "2026-11-30 16:00"},
    {WD, "2026-11-30", "2026-11-27 16:00", "24h", "2026-12-01 16:00"},
    {WD, "2026-11-30;2026-12-01", "2026-11-27 16:00", "24h", "2026-12-02 16:00"},
    {WD, "2026-12-25", "2026-11-27 16:00", "24h", "2026-11-30 16:00"},
    /* Saturday counts from Monday 00:00; ending at a range end. */
    {WD, 0, "2026-11-28 10:00", "24h", "2026-12-01 00:00"},
    {WD, 0, "2026-11-27 16:00", "8h", "2026-11-28 00:00"},
    /* Office hours. */
    {OFF, 0, "2026-11-27 16:00", "2h", "2026-11-30 09:00"},
    {OFF, 0, "2026-11-27 16:00", "1h", "2026-11-27 17:00"},
    {OFF, 0, "2026-11-27 16:00", "61m", "2026-11-30 08:01"},
    {OFF, 0, "2026-11-25 11:30", "1h", "2026-11-25 13:30"},
    {OFF, 0, "2026-11-25 12:30", "30m", "2026-11-25 13:30"},
    {OFF, 0, "2026-11-25 12:00", "1m", "2026-11-25 13:01"},
    {OFF, 0, "2026-11-28 10:00", "30m", "2026-11-30 08:30"},
    {OFF, 0, "2026-11-25 10:00", "24h", "2026-11-30 10:00"},	/* 6+8+8+2 */
    {OFF, "2026-11-27", "2026-11-26 16:00", "2h", "2026-11-30 09:00"},
    /* Zero and one minute. */
    {OFF, 0, "2026-11-25 10:00", "0m", "2026-11-25 10:00"},
    {OFF, 0, "2026-11-25 10:00", "1m", "2026-11-25 10:01"},
    {OFF, 0, "2026-11-28 10:00", "0m", "2026-11-30 08:00"},
    {OFF, 0, "2026-11-25 17:00", "0m", "2026-11-26 08:00"},
    {OFF, 0, "2026-11-25 12:00", "0m", "2026-11-25 13:00"},
    {WD, 0, "2026-11-28 10:00", "1m", "2026-11-30 00:01"},
    /* Daylight saving, 7-day whole-day calendar: real hours count. */
    {ALL, 0, "2027-03-27 12:00", "24h", "2027-03-28 13:00 +0200"},
    {ALL, 0, "2027-10-30 12:00", "24h", "2027-10-31 11:00 +0100"},
    {ALL, 0, "2027-03-28 00:00", "23h", "2027-03-29 00:00 +0200"},
    {ALL, 0, "2027-10-31 00:00", "25h", "2027-11-01 00:00 +0100"},
    {ALL, 0, "2027-03-28 01:30", "1h", "2027-03-28 03:30 +0200"},
    {ALL, 0, "2027-10-31 01:30 +0200", "1h", "2027-10-31 02:30 +0200"},
    {ALL, 0, "2027-10-31 01:30 +0200", "2h", "2027-10-31 02:30 +0100"},
    /* ... and working days keep the wall-clock time. */
    {ALL, 0, "2027-03-27 12:00", "1d", "2027-03-28 12:00 +0200"},
    {ALL, 0, "2027-10-30 12:00", "1d", "2027-10-31 12:00 +0100"},
    /* Monday-Friday calendars across the weekend changes. */
    {WD, 0, "2027-03-26 16:00", "24h", "2027-03-29 16:00 +0200"},
    {WD, 0, "2027-10-29 16:00", "24h", "2027-11-01 16:00 +0100"},
    {WD, 0, "2027-10-29 10:00", "1d", "2027-11-01 10:00 +0100"},
    {OFF, 0, "2027-03-26 16:00", "2h", "2027-03-29 09:00 +0200"},
    {OFF, 0, "2027-10-29 16:00", "2h", "2027-11-01 09:00 +0100"},
    /* A range across the change: 2 real hours in March, 4 in October. */
    {NIGHT, 0, "2027-03-28 01:30", "1h", "2027-03-28 03:30 +0200"},
    {NIGHT, 0, "2027-03-28 01:00", "2h", "2027-03-28 04:00 +0200"},
    {NIGHT, 0, "2027-03-28 01:00", "121m", "2027-04-04 01:01 +0200"},
    {NIGHT, 0, "2027-10-31 01:00 +0200", "2h", "2027-10-31 02:00 +0100"},
    {NIGHT, 0, "2027-10-31 01:00 +0200", "4h", "2027-10-31 04:00 +0100"},
    {NIGHT, 0, "2027-10-31 01:00 +0200", "241m", "2027-11-07 01:01 +0100"},
    {NIGHT, 0, "2027-03-27 12:00", "0m", "2027-03-28 01:00 +0100"},
    /* Five working days from a Wednesday. */
    {OFF, 0, "2026-11-25 10:00", "5d", "2026-12-02 10:00"},
    {WD, 0, "2026-11-25 10:00", "5d", "2026-12-02 10:00"},
    {OFF, "2026-11-27", "2026-11-25 10:00", "5d", "2026-12-03 10:00"},
    {OFF, "2026-11-27;2026-11-30", "2026-11-25 10:00", "5d", "2026-12-04 10:00"},
    /* Days from outside working time count from the next working minute. */
    {OFF, 0, "2026-11-25 12:30", "1d", "2026-11-26 13:00"},
    {OFF, 0, "2026-11-25 18:00", "1d", "2026-11-27 08:00"},
    {OFF, 0, "2026-11-28 10:00", "1d", "2026-12-01 08:00"},
    {OFF, 0, "2026-11-25 10:00", "0d", "2026-11-25 10:00"},
    {OFF, 0, "2026-11-28 10:00", "0d", "2026-11-30 08:00"},
    /* Wall time not working on the last day: the next working instant of
       that day, else the end of its working time. */
    {SATMORN, 0, "2026-11-23 08:30", "5d", "2026-11-28 10:00"},
    {SATMORN, 0, "2026-11-23 11:30", "5d", "2026-11-28 11:30"},
    {SATMORN, 0, "2026-11-23 15:00", "5d", "2026-11-28 12:00"},
    {SHORTFRI, 0, "2026-11-26 15:00", "1d", "2026-11-27 12:00"},
    {SHORTFRI, 0, "2026-11-25 10:00", "1d", "2026-11-26 10:00"},
    {OFF, 0, "2026-11-25 12:00", "1d", "2026-11-26 13:00"},
    /* Long: 1000 working days = 200 weeks = 1400 days, 2030-09-25. */
    {WD, 0, "2026-11-25 10:00", "1000d", "2030-09-25 10:00 +0200"},
    {OFF, 0, "2026-11-25 10:00", "1000d", "2030-09-25 10:00 +0200"},
    {WD, 0, "2026-11-25 10:00", "1440000m", "2030-09-25 10:00 +0200"},
    {OFF, 0, "2026-11-25 10:00", "480000m", "2030-09-25 10:00 +0200"},
    /* Two weekday holidays push it by two working days. */
    {OFF, "2026-12-25;2027-01-01", "2026-11-25 10:00", "1000d", "2030-09-27 10:00 +0200"},
    {OFF, "2026-12-25;2027-01-01;2026-11-28", "2026-11-25 10:00", "1000d",
    "2030-09-27 10:00 +0200"},
};

/* test_add - the table above */

static void test_add(void)
{
    for (size_t i = 0; i < sizeof(add_cases) / sizeof(add_cases[0]); i++) {
	const struct add_case *c = &add_cases[i];
	struct calendar *cal = make_cal(c->hours, c->holidays);
	char    got[40], row[200];

	snprintf(row, sizeof(row), "row %zu: %s [%s] %s + %s", i, c->hours,
		 c->holidays ? c->holidays : "", c->start, c->dur);
	fmt(apply(cal, at(c->start), c->dur), c->due, got);
	check_str(row, got, c->due);
	calendar_destroy(&cal);
	CU_ASSERT_PTR_NULL(cal);
    }
}

static const struct between_case {
    const char *hours;
    const char *holidays;
    const char *a;
    const char *b;
    int64_t minutes;
} between_cases[] = {
    {OFF, 0, "2026-11-27 16:00", "2026-11-30 09:00", 120},
    {OFF, 0, "2026-11-25 11:30", "2026-11-25 13:30", 60},
    {OFF, 0, "2026-11-25 10:00", "2026-11-25 10:00", 0},
    {OFF, 0, "2026-11-25 11:00", "2026-11-25 10:00", 0},
    {OFF, 0, "2026-11-28 10:00", "2026-11-29 20:00", 0},
    {OFF, 0, "2026-11-23 00:00", "2026-11-30 00:00", 5 * 480},
    {OFF, "2026-11-25", "2026-11-23 00:00", "2026-11-30 00:00", 4 * 480},
    {WD, 0, "2026-11-27 16:00", "2026-11-30 16:00", 1440},
    {WD, "2026-11-30", "2026-11-27 16:00", "2026-11-30 16:00", 480},
    {WD, 0, "2026-11-25 10:00", "2030-09-25 10:00", 1440000},
    {ALL, 0, "2027-03-27 00:00", "2027-03-29 00:00", 47 * 60},
    {ALL, 0, "2027-10-30 00:00", "2027-11-01 00:00", 49 * 60},
    {ALL, 0, "2027-03-28 01:00", "2027-03-28 04:00", 120},
    {ALL, 0, "2027-10-31 01:00 +0200", "2027-10-31 04:00 +0100", 240},
    {WD, 0, "2027-03-26 12:00", "2027-03-29 12:00", 24 * 60},
    {OFF, 0, "2027-03-26 12:00", "2027-03-29 12:00", 480},
    {OFF, 0, "2027-10-29 12:00", "2027-11-01 12:00", 480},
    {NIGHT, 0, "2027-03-28 00:00", "2027-03-29 00:00", 120},
    {NIGHT, 0, "2027-10-31 00:00", "2027-11-01 00:00", 240},
    {NIGHT, 0, "2027-11-07 00:00", "2027-11-08 00:00", 180},
};

/* test_between - the table above */

static void test_between(void)
{
    for (size_t i = 0; i < sizeof(between_cases) / sizeof(between_cases[0]); i++) {
	const struct between_case *c = &between_cases[i];
	struct calendar *cal = make_cal(c->hours, c->holidays);
	int64_t got = calendar_between(cal, at(c->a), at(c->b));

	if (got != c->minutes)
	    fprintf(stderr, "\n  between row %zu: %s .. %s: got %lld, want %lld\n",
		    i, c->a, c->b, (long long) got, (long long) c->minutes);
	CU_ASSERT_EQUAL(got, c->minutes);
	calendar_destroy(&cal);
    }
}

static const struct working_case {
    const char *hours;
    const char *holidays;
    const char *t;
    int     working;
    const char *next;
} working_cases[] = {
    {OFF, 0, "2026-11-25 07:59", 0, "2026-11-25 08:00"},
    {OFF, 0, "2026-11-25 08:00", 1, "2026-11-25 08:00"},
    {OFF, 0, "2026-11-25 11:59", 1, "2026-11-25 11:59"},
    {OFF, 0, "2026-11-25 12:00", 0, "2026-11-25 13:00"},
    {OFF, 0, "2026-11-25 12:59", 0, "2026-11-25 13:00"},
    {OFF, 0, "2026-11-25 16:59", 1, "2026-11-25 16:59"},
    {OFF, 0, "2026-11-27 17:00", 0, "2026-11-30 08:00"},
    {OFF, 0, "2026-11-28 10:00", 0, "2026-11-30 08:00"},
    {OFF, "2026-11-27", "2026-11-27 10:00", 0, "2026-11-30 08:00"},
    {WD, 0, "2026-11-27 23:59", 1, "2026-11-27 23:59"},
    {WD, 0, "2026-11-28 00:00", 0, "2026-11-30 00:00"},
    {NIGHT, 0, "2027-03-28 01:59", 1, "2027-03-28 01:59"},
    {NIGHT, 0, "2027-03-28 03:00", 1, "2027-03-28 03:00 +0200"},
    {NIGHT, 0, "2027-03-28 04:00", 0, "2027-04-04 01:00 +0200"},
    {NIGHT, 0, "2027-10-31 02:30 +0100", 1, "2027-10-31 02:30 +0100"},
    {NIGHT, 0, "2027-10-30 12:00", 0, "2027-10-31 01:00 +0200"},
};

/* test_working - calendar_is_working and calendar_next_working */

static void test_working(void)
{
    for (size_t i = 0; i < sizeof(working_cases) / sizeof(working_cases[0]); i++) {
	const struct working_case *c = &working_cases[i];
	struct calendar *cal = make_cal(c->hours, c->holidays);
	time_t  t = at(c->t);
	char    got[40], row[120];

	snprintf(row, sizeof(row), "working row %zu: %s", i, c->t);
	CU_ASSERT_EQUAL(calendar_is_working(cal, t), c->working);
	fmt(calendar_next_working(cal, t), c->next, got);
	check_str(row, got, c->next);
	calendar_destroy(&cal);
    }
}

/* lcg - a small seeded generator (reproducible across libc versions) */

static uint64_t lcg(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (*state >> 33);
}

/* test_inverse - between(s, add(s, d)) == d, and due is the first such */

static void test_inverse(void)
{
    static const char *const hours[] = {OFF, WD, ALL, NIGHT, SHORTFRI, SATMORN};
    const char *hol = "2026-12-25;2027-01-01;2027-04-02;2027-04-05;2027-08-01";
    time_t  lo = at("2026-11-01 00:00");
    time_t  hi = at("2028-12-31 00:00");
    uint64_t state = 20261128;
    int     failures = 0;

    for (size_t h = 0; h < sizeof(hours) / sizeof(hours[0]); h++) {
	struct calendar *cal = make_cal(hours[h], hol);

	for (int i = 0; i < 400; i++) {
	    /* Half on minute boundaries, half at any second. */
	    time_t  start = lo + (time_t) (lcg(&state) % (uint64_t) (hi - lo));
	    int64_t d;
	    time_t  due;

	    if (i % 2 == 0)
		start -= start % 60;
	    switch (i % 4) {
	    case 0:
		d = (int64_t) (lcg(&state) % 5);
		break;
	    case 1:
		d = (int64_t) (lcg(&state) % 600);
		break;
	    default:
		d = (int64_t) (lcg(&state) % 60000);
		break;
	    }
	    due = calendar_add(cal, start, d);
	    if (due == CALENDAR_NONE || due < start
		|| calendar_between(cal, start, due) != d
		|| (d > 0 && calendar_between(cal, start, due - 1) != d - 1)
		|| (d > 0 && !calendar_is_working(cal, due - 1))
		|| (d == 0 && due != calendar_next_working(cal, start))) {
		char    s[40], e[40];

		fmt(start, "", s);
		fmt(due, "", e);
		if (failures++ < 10)
		    fprintf(stderr, "\n  inverse: %s: %s + %lldm = %s, between %lld\n",
			    hours[h], s, (long long) d, e,
			    (long long) calendar_between(cal, start, due));
	    }
	}
	calendar_destroy(&cal);
    }
    CU_ASSERT_EQUAL(failures, 0);
}

/* test_fast - 1000 working days and a long between() are day-by-day fast */

static void test_fast(void)
{
    struct calendar *cal = make_cal(OFF, "2026-12-25;2027-01-01");
    gint64  t0 = g_get_monotonic_time();
    time_t  start = at("2026-11-25 10:00");
    time_t  due = 0;

    for (int i = 0; i < 10; i++)
	due = calendar_add(cal, start, 1000 * 480);
    CU_ASSERT_EQUAL(calendar_between(cal, start, due), 1000 * 480);
    CU_ASSERT_EQUAL(calendar_add_days(cal, start, 1000), due);
    /* 12 walks of ~1400 days each; minute-by-minute would take far longer. */
    CU_ASSERT(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    calendar_destroy(&cal);
}

/* test_duration_text - "30m", "24h", "5d" and refusals */

static void test_duration_text(void)
{
    struct calendar *cal = make_cal(OFF, 0);
    time_t  start = at("2026-11-25 10:00");
    time_t  due = 0;
    char    got[40];

    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "30m", &due), 0);
    fmt(due, "", got);
    check_str("30m", got, "2026-11-25 10:30");
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "24h", &due), 0);
    fmt(due, "", got);
    check_str("24h", got, "2026-11-30 10:00");
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "5d", &due), 0);
    fmt(due, "", got);
    check_str("5d", got, "2026-12-02 10:00");
    /* 1d is one working day, not 24 working hours (3 office days). */
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "1d", &due), 0);
    fmt(due, "", got);
    check_str("1d", got, "2026-11-26 10:00");

    due = 42;
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "0m", &due), -1);
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "1000d", &due), -1);
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "5", &due), -1);
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "5x", &due), -1);
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, "", &due), -1);
    CU_ASSERT_EQUAL(calendar_add_duration(cal, start, 0, &due), -1);
    CU_ASSERT_EQUAL(due, 42);

    CU_ASSERT_EQUAL(calendar_add(cal, start, -1), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_add(cal, start, CALENDAR_MAX_MINUTES + 1), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_add_days(cal, start, -1), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_add_days(cal, start, CALENDAR_MAX_DAYS + 1), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_add(cal, (time_t) INT64_MAX, 1), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_next_working(cal, (time_t) INT64_MIN), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_between(cal, (time_t) INT64_MIN, start), 0);
    CU_ASSERT_STRING_EQUAL(calendar_name(cal), "test");
    calendar_destroy(&cal);
    calendar_destroy(&cal);			/* NULL is fine */
}

/* mondays - every Monday from 2026-11-30 to the end of year last */

static char *mondays(int last)
{
    GDate  *d = g_date_new_dmy(30, 11, 2026);
    GString *s = g_string_new("");
    char    buf[16];

    while (g_date_get_year(d) <= last) {
	g_date_strftime(buf, sizeof(buf), "%Y-%m-%d", d);
	g_string_append_printf(s, "%s%s", s->len ? ";" : "", buf);
	g_date_add_days(d, 7);
    }
    g_date_free(d);
    return (g_string_free(s, FALSE));
}

/* test_no_working_time - holidays on every working day: no endless loop */

static void test_no_working_time(void)
{
    char   *hol = mondays(2037);
    struct calendar *cal = make_cal("mon 08:00-09:00", hol);
    time_t  start = at("2026-11-25 10:00");
    gint64  t0 = g_get_monotonic_time();
    char    got[40];

    CU_ASSERT_EQUAL(calendar_next_working(cal, start), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_is_working(cal, start), 0);
    CU_ASSERT_EQUAL(calendar_add(cal, start, 0), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_add(cal, start, 60), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_add_days(cal, start, 1), CALENDAR_NONE);
    CU_ASSERT_EQUAL(calendar_between(cal, start, at("2040-01-01 00:00")), 0);
    CU_ASSERT(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    calendar_destroy(&cal);
    g_free(hol);

    /* Four years of holidays: the search goes on past them. */
    hol = mondays(2030);
    cal = make_cal("mon 08:00-09:00", hol);
    fmt(calendar_add(cal, start, 30), "", got);
    check_str("after the holidays", got, "2031-01-06 08:30");
    calendar_destroy(&cal);
    g_free(hol);
}

/* test_create_errors - bad configuration is refused with a reason */

static void test_create_errors(void)
{
    static const struct {
	const char *tz;
	const char *hours;
	const char *holiday;
	const char *fragment;
    } bad[] = {
	{"Mars/Olympus_Mons", OFF, 0, "time zone"},
	{0, OFF, 0, "time zone"},
	{ZONE, "mon-fri 25:00-26:00", 0, "hours"},
	{ZONE, "", 0, "hours"},
	{ZONE, 0, 0, "hours"},
	{ZONE, OFF, "2026-13-01", "holiday"},
	{ZONE, OFF, "25.12.2026", "holiday"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
	const char *hol[2] = {bad[i].holiday, 0};
	struct conf_calendar cc = {"bad", bad[i].tz, bad[i].hours, hol};
	char   *error = 0;
	struct calendar *cal = calendar_create(&cc, &error);

	CU_ASSERT_PTR_NULL(cal);
	CU_ASSERT_PTR_NOT_NULL_FATAL(error);
	if (strstr(error, bad[i].fragment) == 0)
	    fprintf(stderr, "\n  create row %zu: \"%s\"\n", i, error);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, bad[i].fragment));
	mem_free(error);
    }
}

/* test_midnight_gap - a zone whose clocks skip midnight (Sao Paulo 2018) */

static void test_midnight_gap(void)
{
    struct conf_calendar cc = {"sp", "America/Sao_Paulo", "sun 00:00-24:00", 0};
    char   *error = 0;
    struct calendar *cal = calendar_create(&cc, &error);

    CU_ASSERT_PTR_NOT_NULL_FATAL(cal);
    /* 2018-11-04 00:00 -03 did not exist: Sunday began at 01:00 -02. */
    CU_ASSERT_EQUAL(calendar_next_working(cal, at("2018-11-03 12:00 -0300")),
		    at("2018-11-04 01:00 -0200"));
    CU_ASSERT_EQUAL(calendar_between(cal, at("2018-11-03 00:00 -0300"),
				     at("2018-11-06 00:00 -0200")), 23 * 60);
    CU_ASSERT_EQUAL(calendar_add(cal, at("2018-11-03 12:00 -0300"), 23 * 60),
		    at("2018-11-05 00:00 -0200"));
    /* One working day later: the next Sunday at the same wall time. */
    CU_ASSERT_EQUAL(calendar_add_days(cal, at("2018-11-04 01:00 -0200"), 1),
		    at("2018-11-11 01:00 -0200"));
    calendar_destroy(&cal);
}

int     main(void)
{
    CU_pSuite suite;
    unsigned failed;

    zone = g_time_zone_new_identifier(ZONE);
    if (zone == 0) {
	fprintf(stderr, "time zone %s not installed\n", ZONE);
	return (1);
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    suite = CU_add_suite("calendar", 0, 0);
    CU_add_test(suite, "add: table", test_add);
    CU_add_test(suite, "between: table", test_between);
    CU_add_test(suite, "is_working/next_working", test_working);
    CU_add_test(suite, "between inverts add (seeded random)", test_inverse);
    CU_add_test(suite, "1000 working days is fast", test_fast);
    CU_add_test(suite, "duration texts", test_duration_text);
    CU_add_test(suite, "no working time: no endless loop", test_no_working_time);
    CU_add_test(suite, "create: errors", test_create_errors);
    CU_add_test(suite, "a zone that skips midnight", test_midnight_gap);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    g_time_zone_unref(zone);
    return (failed ? 1 : 0);
}
