/*++
/* NAME
/*	test_util 1
/* SUMMARY
/*	unit tests of util/: buffers, allocation, logging, strings, time
/* SYNOPSIS
/*	test_util
/* DESCRIPTION
/*	CUnit runner registered with ctest.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <util.h>

/* Buffers. */

static void test_buf_grow_and_limit(void)
{
    struct buf *b = buf_create(4, 10);

    CU_ASSERT_EQUAL(buf_append_str(b, "hello"), 0);
    CU_ASSERT_EQUAL(buf_append_str(b, "world"), 0);
    CU_ASSERT_EQUAL(buf_len(b), 10);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "helloworld");
    /* Past the limit: refused, content unchanged. */
    CU_ASSERT_EQUAL(buf_append_char(b, '!'), -1);
    CU_ASSERT_EQUAL(buf_printf(b, "%d", 1), -1);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "helloworld");
    buf_consume(b, 5);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "world");
    CU_ASSERT_EQUAL(buf_printf(b, "%03d", 7), 0);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "world007");
    buf_truncate(b, 2);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "wo");
    buf_destroy(&b);
    CU_ASSERT_PTR_NULL(b);
    buf_destroy(&b);			/* no-op on NULL */
}

static void test_buf_binary_and_steal(void)
{
    struct buf *b = buf_create(0, 0);
    static const char bin[] = {'a', 0, 'b', (char) 0xff};
    size_t  len;
    char   *out;

    for (int i = 0; i < 1000; i++)
	CU_ASSERT_EQUAL(buf_append(b, bin, sizeof(bin)), 0);
    CU_ASSERT_EQUAL(buf_len(b), 4000);
    CU_ASSERT_EQUAL(memcmp(buf_data(b) + 3996, bin, 4), 0);
    CU_ASSERT_EQUAL(buf_data(b)[4000], 0);
    out = buf_steal(b, &len);
    CU_ASSERT_EQUAL(len, 4000);
    CU_ASSERT_EQUAL(buf_len(b), 0);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "");
    mem_free(out);
    buf_destroy(&b);
}

/* Strings. */

static void test_json_escape(void)
{
    static const struct {
	const char *in;
	const char *out;
    } cases[] = {
	{"plain", "\"plain\""},
	{"a\"b\\c", "\"a\\\"b\\\\c\""},
	{"l1\nl2\r\t", "\"l1\\nl2\\r\\t\""},
	{"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
	{"caf\xc3\xa9", "\"caf\xc3\xa9\""},
	{"bad\xff\xfe", "\"bad\xef\xbf\xbd\xef\xbf\xbd\""},
	{"trunc\xc3", "\"trunc\xef\xbf\xbd\""},
	{"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},	/* surrogate */
	{0, "null"},
    };
    struct buf *b = buf_create(0, 0);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	buf_reset(b);
	CU_ASSERT_EQUAL(str_json_escape(b, cases[i].in), 0);
	CU_ASSERT_STRING_EQUAL(buf_data(b), cases[i].out);
    }
    buf_destroy(&b);
}

static void test_sanitize_lower(void)
{
    char   *s = str_sanitize("Evil\r\nBcc: x\x01", 100);
    char    low[] = "MiXeD@Example.ORG";

    CU_ASSERT_STRING_EQUAL(s, "Evil??Bcc: x?");
    mem_free(s);
    s = str_sanitize("0123456789", 4);
    CU_ASSERT_STRING_EQUAL(s, "0123");
    mem_free(s);
    CU_ASSERT_STRING_EQUAL(str_lower(low), "mixed@example.org");
}

static void test_time(void)
{
    char    out[32];
    uint64_t a, b;

    time_rfc3339(0, out);
    CU_ASSERT_STRING_EQUAL(out, "1970-01-01T00:00:00Z");
    time_rfc3339(1795770843, out);	/* 2026-11-27 09:14:03 UTC */
    CU_ASSERT_STRING_EQUAL(out, "2026-11-27T09:14:03Z");
    a = time_now_ms();
    b = time_now_ms();
    CU_ASSERT(b >= a);
}

/* Logging. */

static char captured[4096];
static enum log_level captured_level;

static void capture(enum log_level level, const char *line, void *ctx)
{
    (void) ctx;
    captured_level = level;
    snprintf(captured, sizeof(captured), "%s", line);
}

static void test_log_capture(void)
{
    log_set_stderr(0);
    log_set_capture(capture, 0);
    log_info("%s: to=<%s>, status=%s", "A1B2", "x@example.org", "new");
    CU_ASSERT_STRING_EQUAL(captured, "A1B2: to=<x@example.org>, status=new");
    CU_ASSERT_EQUAL(captured_level, LOG_LEVEL_INFO);
    errno = ENOENT;
    log_warn("open %s: %m (%d%%)", "f", 0);
    CU_ASSERT_STRING_EQUAL(captured, "open f: No such file or directory (0%)");
    CU_ASSERT_EQUAL(captured_level, LOG_LEVEL_WARN);
    /* CR/LF from data never split a log line. */
    log_error("NOID: subject=%s", "a\r\nFake: line");
    CU_ASSERT_STRING_EQUAL(captured, "NOID: subject=a  Fake: line");
    log_set_capture(0, 0);
}

static void test_log_fatal_exits(void)
{
    pid_t   pid = fork();
    int     status;

    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
	log_set_stderr(0);
	log_fatal("environment at fault");
	_exit(0);			/* not reached */
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), UTIL_EX_TEMPFAIL);

    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
	log_set_stderr(0);
	log_fatal_status(UTIL_EX_CONFIG, "bad config");
	_exit(0);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), UTIL_EX_CONFIG);
}

static void test_mem(void)
{
    char   *s = mem_strndup("abcdef", 3);
    char   *p = mem_printf("%s-%d", s, 42);
    char   *z = mem_zalloc(16);

    CU_ASSERT_STRING_EQUAL(s, "abc");
    CU_ASSERT_STRING_EQUAL(p, "abc-42");
    for (int i = 0; i < 16; i++)
	CU_ASSERT_EQUAL(z[i], 0);
    z = mem_realloc(z, 1 << 20);
    z[(1 << 20) - 1] = 1;
    mem_free(s);
    mem_free(p);
    mem_free(z);
    mem_free(0);
}

int     main(void)
{
    CU_pSuite s;
    unsigned bad;
    CU_ErrorCode rc;

    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    s = CU_add_suite("util", 0, 0);
    CU_add_test(s, "buf grows up to its limit", test_buf_grow_and_limit);
    CU_add_test(s, "buf holds binary data, steal", test_buf_binary_and_steal);
    CU_add_test(s, "json escaping", test_json_escape);
    CU_add_test(s, "sanitize and lower", test_sanitize_lower);
    CU_add_test(s, "rfc3339 and monotonic time", test_time);
    CU_add_test(s, "log capture, %m, no CR/LF", test_log_capture);
    CU_add_test(s, "fatal exits with sysexits", test_log_fatal_exits);
    CU_add_test(s, "allocation wrappers", test_mem);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
