/*++
/* NAME
/*	test_ctl 1
/* SUMMARY
/*	unit tests of postdeskctl's verbs, control socket and command
/* SYNOPSIS
/*	test_ctl
/* DESCRIPTION
/*	Runs against a real store in a mkdtemp(3) directory, with a
/*	configuration written next to it and a few messages delivered
/*	through store_batch_begin/store_deliver/store_batch_commit:
/*	show (text, JSON), list (filters, alignment with UTF-8 titles,
/*	JSON), status, maintenance, usage errors, the control socket
/*	(ctl_serve/ctl_call, malformed and stuck clients) and, when
/*	POSTDESK_BUILD_DIR is set, the postdeskctl binary (check-config,
/*	daemon and no-daemon paths). Then the third round: watchers,
/*	revision, merged_into and the "new article" star of list --locked
/*	--owner, and agent-address (the address verifies with
/*	sigaddr_verify() and names the agent). JSON is checked by parsing
/*	it back with python3.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <conf.h>
#include <ctl.h>
#include <sigaddr.h>
#include <store.h>
#include <util.h>

#include "ctl_private.h"

#define UTF8_TITLE	"Imprimante en panne \xe2\x80\x94 \xc3\xa9tage 3"
#define NASTY_TITLE	"Quote \" back\\slash \x01\x1b[31m red \xff\xfe end"
#define NASTY_BODY	"line1\r\nbell\x07 esc\x1b]0;pwned\x07 c1\xc2\x9b " \
			"bad\xc3 \xe9t\xe9\r\n\"q\" \\ done\n"

static char tmpdir[128];
static char conf_file[256];
static char state_dir[256];
static struct conf *conf;
static struct store *store;
static char num_a[32];			/* Helpdesk, marie, UTF-8 title, 2 articles */
static char num_b[32];			/* Network, bob */
static char num_c[32];			/* Helpdesk, nasty strings */
static char num_d[32];			/* Helpdesk, long title */
static char num_bin[32];		/* raw message with NUL and 8-bit bytes */

static const char bin_raw[] = "From: x@example.org\r\nSubject: bin\r\n"
"Message-ID: <bin@example.org>\r\n\r\nNUL\0here \xff\xfe\n..dot\r\n";
static struct buf *out;
static struct buf *err;

/* write_file - create path with text */

static int write_file(const char *path, const char *text, mode_t mode)
{
    int     fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    size_t  len = strlen(text);

    if (fd < 0)
	return (-1);
    if (write(fd, text, len) != (ssize_t) len) {
	close(fd);
	return (-1);
    }
    return (close(fd));
}

/* read_file - the whole file (mem_free()), "" when missing */

static char *read_file(const char *path)
{
    struct buf *b = buf_create(1024, 0);
    char    chunk[4096];
    ssize_t n;
    int     fd = open(path, O_RDONLY);

    if (fd >= 0) {
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
	    buf_append(b, chunk, (size_t) n);
	close(fd);
    }
    char   *s = buf_steal(b, 0);

    buf_destroy(&b);
    return (s);
}

static const char conf_template[] =
"[postdesk]\n"
"domain = desk.example.org\n"
"state_dir = %s\n"
"listen = unix:%s/lmtp.sock\n"
"milter_listen = inet:127.0.0.1:18891\n"
"relay = 127.0.0.1:25\n"
"secret_file = %s/secret\n"
"templates_dir = %s/contrib/templates\n"
"command_localpart = desk\n"
"ticket_hook = Ticket#\n"
"system_id = 10\n"
"language = fr\n"
"\n"
"[queue Helpdesk]\n"
"addresses = helpdesk@example.org;support@example.org\n"
"group = helpdesk\n"
"default_type = Incident\n"
"\n"
"[queue Network]\n"
"addresses = network@example.org\n"
"group = network\n"
"default_type = Problem\n"
"\n"
"[calendar always]\n"
"timezone = UTC\n"
"hours = mon-sun 00:00-24:00\n"
"\n"
"[sla fast]\n"
"calendar = always\n"
"first_response = 30m\n"
"solution = 5d\n"
"warn_at = 50\n"
"\n"
"[queue Sla]\n"
"addresses = sla@example.org\n"
"group = helpdesk\n"
"sla = fast\n"
"\n"
"[agent alice]\n"
"name = Alice Martin\n"
"email = alice@example.org\n"
"groups = helpdesk;network\n"
"\n"
"[agent bob]\n"
"name = Bob Meier\n"
"email = bob@example.org\n"
"groups = network\n"
"active = no\n";

/* deliver - one message through a store batch; 0 and the number */

static int deliver(const char *queue, const char *rcpt, const char *from,
		           const char *subject, const char *body,
		           const char *msgid, const char *ticket_ref,
		           const struct store_attachment *att, size_t n_att,
		           char number_r[32])
{
    struct store_message m;
    struct store_result res;
    struct store_batch *batch = 0;
    char   *raw = mem_printf("From: %s\r\nTo: %s\r\nSubject: %s\r\n"
			     "Message-ID: <%s>\r\n\r\n%s", from, rcpt,
			     subject, msgid, body);
    int     rc;

    memset(&m, 0, sizeof(m));
    memset(&res, 0, sizeof(res));
    m.log_id = "TEST";
    m.recipient = rcpt;
    m.queue = queue;
    m.default_type = strcmp(queue, "Network") == 0 ? "Problem" : "Incident";
    m.sender = from;
    m.from = from;
    m.from_header = from;
    m.to = rcpt;
    m.cc = "";
    m.subject = subject;
    m.title = subject;
    m.message_id = msgid;
    m.ticket_ref = ticket_ref;
    m.body = body;
    m.attachments = att;
    m.n_attachments = n_att;
    m.raw = raw;
    m.raw_len = strlen(raw);
    for (size_t i = 0; i < sizeof(m.hash); i++)
	m.hash[i] = (unsigned char) (msgid[i % strlen(msgid)] + i);
    m.received = time(0);

    if ((rc = store_batch_begin(store, &batch)) != STORE_OK)
	goto done;
    if ((rc = store_deliver(batch, conf, &m, &res)) != STORE_OK) {
	store_batch_abort(&batch);
	goto done;
    }
    if ((rc = store_batch_commit(&batch)) != STORE_OK)
	goto done;
    memcpy(number_r, res.number, 32);
done:
    mem_free(raw);
    return (rc == STORE_OK ? 0 : -1);
}

/* suite_init - temp dir, conf, store, four tickets */

static int suite_init(void)
{
    struct store_attachment att = {"photo.jpg", "image/jpeg", 1234};
    char   *text;
    char   *errors = 0;
    char   *error = 0;
    char    path[512];
    char    long_title[512] = "";

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ctl.XXXXXX");
    if (mkdtemp(tmpdir) == 0)
	return (-1);
    snprintf(state_dir, sizeof(state_dir), "%s/state", tmpdir);
    snprintf(conf_file, sizeof(conf_file), "%s/postdesk.conf", tmpdir);
    snprintf(path, sizeof(path), "%s/secret", tmpdir);
    if (mkdir(state_dir, 0700) < 0
	|| write_file(path, "0123456789abcdef0123456789abcdef\n", 0600) < 0)
	return (-1);
    text = mem_printf(conf_template, state_dir, tmpdir, tmpdir,
		      getenv("POSTDESK_SOURCE_DIR") ? getenv("POSTDESK_SOURCE_DIR") : ".");
    if (write_file(conf_file, text, 0644) < 0)
	return (-1);
    mem_free(text);
    if ((conf = conf_load(conf_file, &errors)) == 0) {
	fprintf(stderr, "conf_load: %s\n", errors);
	mem_free(errors);
	return (-1);
    }
    if (store_open(state_dir, &store, &error) != STORE_OK) {
	fprintf(stderr, "store_open: %s\n", error ? error : "?");
	mem_free(error);
	return (-1);
    }
    for (int i = 0; i < 4; i++)
	strcat(long_title, "\xc3\x89" "cran noir apr\xc3\xa8s mise \xc3\xa0 jour ");
    if (deliver("Helpdesk", "helpdesk@example.org", "marie.dupont@example.org",
		UTF8_TITLE, "Bonjour,\nelle ne marche plus.\n",
		"a1@example.org", 0, &att, 1, num_a) < 0
	|| deliver("Network", "network@example.org", "bob@example.org",
		   "VPN down", "The VPN is down.\n", "b1@example.org", 0, 0, 0,
		   num_b) < 0
	|| deliver("Helpdesk", "helpdesk@example.org", "eve@example.org",
		   NASTY_TITLE, NASTY_BODY, "c1@example.org", 0, 0, 0, num_c) < 0
	|| deliver("Helpdesk", "support@example.org", "carl@example.org",
		   long_title, "Long.\n", "d1@example.org", 0, 0, 0, num_d) < 0)
	return (-1);
    /* A follow-up: a second article on ticket A. */
    char    follow[32];

    if (deliver("Helpdesk", "helpdesk@example.org", "marie.dupont@example.org",
		"RE: " UTF8_TITLE, "Toujours en panne.\n", "a2@example.org",
		num_a, 0, 0, follow) < 0 || strcmp(follow, num_a) != 0)
	return (-1);
    out = buf_create(4096, 0);
    err = buf_create(256, 0);
    return (0);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		            struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return (remove(path));
}

static int suite_clean(void)
{
    store_close(&store);
    conf_unref(&conf);
    buf_destroy(&out);
    buf_destroy(&err);
    if (tmpdir[0])
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return (0);
}

/* run_argv - ctl_run with a NULL-terminated argv; output in out/err */

static int run_argv(char **argv)
{
    int     argc = 0;

    while (argv[argc])
	argc++;
    buf_reset(out);
    buf_reset(err);
    return (ctl_run(store, conf, argc, argv, 0, out, err));
}

#define RUN(...) run_argv((char *[]) {__VA_ARGS__, NULL})

/* json_check - 1 when text parses as JSON and the Python expression
   (over the parsed value d) is true */

static int json_check(const char *text, const char *expr)
{
    char    expr_path[512];
    char    cmd[1024];
    FILE   *fp;
    int     status;

    snprintf(expr_path, sizeof(expr_path), "%s/expr.py", tmpdir);
    if (write_file(expr_path, expr, 0644) < 0)
	return (0);
    snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; "
	     "d=json.load(sys.stdin); sys.exit(0 if eval(open(sys.argv[1]).read()) "
	     "else 3)' %s 2>/dev/null", expr_path);
    if ((fp = popen(cmd, "w")) == 0)
	return (0);
    fwrite(text, 1, strlen(text), fp);
    status = pclose(fp);
    return (WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* one_line - err holds exactly one line starting "postdeskctl: " */

static int one_line(const struct buf *b)
{
    const char *s = buf_data(b);
    const char *nl = strchr(s, '\n');

    return (strncmp(s, "postdeskctl: ", 13) == 0 && nl && nl[1] == 0);
}

/*
 * Tests.
 */
static void test_text_cells(void)
{
    struct buf *b = buf_create(64, 0);

    /* Cut on code points, never inside a sequence, ellipsis counts one. */
    CU_ASSERT_EQUAL(ctl_text_cell(b, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
				  3, 0), 3);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
    buf_reset(b);
    CU_ASSERT_EQUAL(ctl_text_cell(b, "ab\xe2\x80\x94", 5, 6), 6);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "ab\xe2\x80\x94   ");
    buf_reset(b);
    /* Invalid bytes become U+FFFD, controls '?', one column each. */
    CU_ASSERT_EQUAL(ctl_text_width("a\xff\x1b" "b"), 4);
    CU_ASSERT_EQUAL(ctl_text_put(b, "a\xff\x1b" "b\r\n", 0), 6);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "a\xef\xbf\xbd?b??");
    buf_reset(b);
    ctl_text_put(b, "x\r\ny\tz\rw\xc2\x9b", 1);
    CU_ASSERT_STRING_EQUAL(buf_data(b), "x\ny\tz?w?");
    buf_destroy(&b);
}

static void test_show_text(void)
{
    const char *s;

    CU_ASSERT_EQUAL(RUN("show", num_a), 0);
    s = buf_data(out);
    CU_ASSERT_EQUAL(buf_len(err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Ticket#:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, num_a));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Title:      " UTF8_TITLE "\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Queue:      Helpdesk\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "State:      new\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Priority:   3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Type:       Incident\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Lock:       unlocked\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Owner:      -\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Customer:   marie.dupont@example.org\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Escalated:  no\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "--- Article 1 (customer, email, visible) ---\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "--- Article 2 (customer, email, visible) ---\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Message-ID: a1@example.org\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Attachment: photo.jpg (image/jpeg, 1234 bytes)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nBonjour,\nelle ne marche plus.\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Toujours en panne.\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "--- History ---\n"));
    /* History lines start with an RFC 3339 time. */
    const char *h = strstr(s, "--- History ---\n");

    CU_ASSERT_FATAL(h != 0);
    h += strlen("--- History ---\n");
    CU_ASSERT(strlen(h) > 21 && h[4] == '-' && h[10] == 'T' && h[19] == 'Z'
	      && h[20] == ' ');
    /* Article 1 comes before article 2. */
    CU_ASSERT(strstr(s, "Article 1") < strstr(s, "Article 2"));
}

static void test_show_json(void)
{
    char    expr[2048];

    CU_ASSERT_EQUAL(RUN("show", num_a, "--json"), 0);
    CU_ASSERT(buf_len(out) > 0 && buf_data(out)[buf_len(out) - 1] == '\n');
    snprintf(expr, sizeof(expr),
	     "d['number'] == '%s' and d['title'] == 'Imprimante en panne \\u2014 "
	     "\\u00e9tage 3' and d['queue'] == 'Helpdesk' and d['state'] == 'new'"
	     " and d['priority'] == 3 and d['type'] == 'Incident'"
	     " and d['locked'] is False and d['owner'] is None"
	     " and d['customer'] == 'marie.dupont@example.org'"
	     " and d['escalated'] is False"
	     " and len(d['created']) == 20 and d['created'].endswith('Z')"
	     " and len(d['articles']) == 2"
	     " and d['articles'][0]['sender_type'] == 'customer'"
	     " and d['articles'][0]['channel'] == 'email'"
	     " and d['articles'][0]['visible_to_customer'] is True"
	     " and d['articles'][0]['from'] == 'marie.dupont@example.org'"
	     " and d['articles'][0]['message_id'] == 'a1@example.org'"
	     " and d['articles'][0]['body'] == 'Bonjour,\\nelle ne marche plus.\\n'"
	     " and d['articles'][0]['attachments'] == [{'name': 'photo.jpg',"
	     " 'content_type': 'image/jpeg', 'size': 1234}]"
	     " and d['articles'][1]['body'] == 'Toujours en panne.\\n'"
	     " and isinstance(d['history'], list) and len(d['history']) >= 1"
	     " and all(set(h) >= {'at','who','what','old','new'} for h in d['history'])",
	     num_a);
    CU_ASSERT(json_check(buf_data(out), expr));
    /* The checker itself rejects a wrong value. */
    CU_ASSERT(!json_check(buf_data(out), "d['priority'] == 4"));
    CU_ASSERT(!json_check("{\"a\":", "True"));
}

static void test_show_not_found(void)
{
    CU_ASSERT_EQUAL(RUN("show", "99999999999"), 1);
    CU_ASSERT_STRING_EQUAL(buf_data(err), "postdeskctl: ticket 99999999999 not found\n");
    CU_ASSERT_EQUAL(buf_len(out), 0);
    CU_ASSERT_EQUAL(RUN("show", "99999999999", "--json"), 1);
    CU_ASSERT_EQUAL(buf_len(out), 0);
}

/* test_escalations - deadlines in show, and escalations --at (runs last:
   it adds a ticket) */

static void test_escalations(void)
{
    char    num[32], at[32], fr_due[32], local[32], expr[1024];
    time_t  t0 = time(0);
    struct tm tm;

    CU_ASSERT_EQUAL_FATAL(deliver("Sla", "sla@example.org", "zoe@example.org",
				  "Printer", "It is broken.\n", "s1@example.org",
				  0, 0, 0, num), 0);
    /* show: the deadlines; a ticket without SLA has nulls. */
    CU_ASSERT_EQUAL(RUN("show", num, "--json"), 0);
    time_rfc3339(t0 + 30 * 60, fr_due);
    time_rfc3339(t0 + 30 * 60 + 1, at);	/* the second may have turned */
    snprintf(expr, sizeof(expr), "d['sla'] == 'fast' and d['first_response_due']"
	     " in ('%s', '%s') and d['update_due'] is None"
	     " and d['solution_due'].endswith('Z') and d['escalated'] is False"
	     " and d['escalation'] is None", fr_due, at);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("show", num), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "SLA:        fast\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "First response due: "));
    CU_ASSERT_EQUAL(RUN("show", num_b, "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "d['first_response_due'] is None and "
			 "d['solution_due'] is None and d['sla'] is None and "
			 "d['pending_until'] is None and d['sla_paused'] is False"));
    CU_ASSERT_EQUAL(RUN("list", "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "all('solution_due' in t for t in d)"));
    /* list text: DUE is the first response deadline of the SLA ticket. */
    CU_ASSERT_EQUAL(RUN("list", "--queue", "Sla"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "  DUE  "));
    CU_ASSERT(strstr(buf_data(out), fr_due) || strstr(buf_data(out), at));

    /* Now: nothing passed yet. */
    CU_ASSERT_EQUAL(RUN("escalations", "--json"), 0);
    CU_ASSERT_STRING_EQUAL(buf_data(out), "[]\n");
    /* After the warning point (15 minutes), before the deadline. */
    time_rfc3339(t0 + 20 * 60, at);
    CU_ASSERT_EQUAL(RUN("escalations", "--at", at, "--json"), 0);
    snprintf(expr, sizeof(expr), "len(d) == 1 and d[0]['number'] == '%s' and "
	     "d[0]['escalated'] is False and d[0]['escalation'] is None and "
	     "d[0]['levels'] == {'first_response': 'warning', 'update': None, "
	     "'solution': None}", num);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("escalations", "--at", at), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "first_response  warning"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "\n1 ticket with a warning"));
    /* After the deadline, given as local "YYYY-MM-DD HH:MM". */
    localtime_r(&(time_t) {t0 + 40 * 60}, &tm);
    strftime(local, sizeof(local), "%Y-%m-%d %H:%M", &tm);
    CU_ASSERT_EQUAL(RUN("escalations", "--json", "--at", local), 0);
    snprintf(expr, sizeof(expr), "len(d) == 1 and d[0]['number'] == '%s' and "
	     "d[0]['escalated'] is True and d[0]['escalation'] == "
	     "'first_response' and d[0]['first_response_due'] is not None", num);
    CU_ASSERT(json_check(buf_data(out), expr));
    /* An offset is honoured: the same instant written at +02:00. */
    CU_ASSERT_EQUAL(RUN("escalations", "--at", "2000-01-01T02:00:00+02:00"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out),
				  "0 tickets with a warning or deadline passed at "
				  "2000-01-01T00:00:00Z\n"));
    /* Bad times are usage errors. */
    CU_ASSERT_EQUAL(RUN("escalations", "--at", "tomorrow"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_EQUAL(RUN("escalations", "--at", "2027-13-01T00:00:00Z"),
		    UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("escalations", "--at"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("escalations", "extra"), UTIL_EX_USAGE);

    /* Pending with a time: shown; the solution clock is paused. */
    {
	struct store_batch *b;

	CU_ASSERT_EQUAL_FATAL(store_batch_begin(store, &b), STORE_OK);
	CU_ASSERT_EQUAL(store_ticket_state_set(b, conf, "TEST", num,
					       "pending reminder", 1830000000,
					       "alice", t0 + 60), STORE_OK);
	CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    }
    CU_ASSERT_EQUAL(RUN("show", num, "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "d['pending_until'] == "
			 "'2027-12-28T13:20:00Z' and d['sla_paused'] is True"));
    CU_ASSERT_EQUAL(RUN("show", num), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out),
				  "Pending until: 2027-12-28T13:20:00Z\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "SLA paused since: "));
}

/* count_rows - data rows of a list table (lines minus header and count) */

static int count_rows(const char *s)
{
    int     lines = 0;

    for (; *s; s++)
	if (*s == '\n')
	    lines++;
    return (lines - 2);
}

static void test_list_filters(void)
{
    CU_ASSERT_EQUAL(RUN("list"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "\n4 tickets\n"));

    CU_ASSERT_EQUAL(RUN("list", "--queue", "Network"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), num_b));
    CU_ASSERT_PTR_NULL(strstr(buf_data(out), num_a));

    CU_ASSERT_EQUAL(RUN("list", "--queue=Helpdesk"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 3);
    CU_ASSERT_PTR_NULL(strstr(buf_data(out), num_b));

    CU_ASSERT_EQUAL(RUN("list", "--state", "new"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 4);
    CU_ASSERT_EQUAL(RUN("list", "--state", "closed successful"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "0 tickets\n"));

    CU_ASSERT_EQUAL(RUN("list", "--customer", "Marie.Dupont@example.org"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), num_a));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "\n1 ticket\n"));

    CU_ASSERT_EQUAL(RUN("list", "--queue", "Helpdesk", "--customer",
			"bob@example.org"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 0);

    CU_ASSERT_EQUAL(RUN("list", "--limit", "2"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 2);
    CU_ASSERT_EQUAL(RUN("list", "--owner", "none", "--limit", "3"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 3);
    CU_ASSERT_EQUAL(RUN("list", "--owner", "alice"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 0);
    CU_ASSERT_EQUAL(RUN("list", "--locked"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 0);
    CU_ASSERT_EQUAL(RUN("list", "--escalated"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 0);
}

/* decode - the code points of one line (up to max), count in *n_r */

static void decode(const char *s, size_t len, unsigned *cps, size_t max,
		           size_t *n_r)
{
    size_t  n = 0;

    for (size_t i = 0; i < len && n < max;) {
	unsigned char c = (unsigned char) s[i];
	size_t  k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	unsigned cp = k == 1 ? c : k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;

	for (size_t j = 1; j < k && i + j < len; j++)
	    cp = (cp << 6) | ((unsigned char) s[i + j] & 0x3f);
	cps[n++] = cp;
	i += k;
    }
    *n_r = n;
}

/* valid_utf8 - strict check of a whole text */

static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;

    while (*p) {
	size_t  k = *p < 0x80 ? 1 : (*p >= 0xc2 && *p < 0xe0) ? 2 :
	(*p >= 0xe0 && *p < 0xf0) ? 3 : (*p >= 0xf0 && *p < 0xf5) ? 4 : 0;

	if (k == 0)
	    return (0);
	for (size_t j = 1; j < k; j++)
	    if ((p[j] & 0xc0) != 0x80)
		return (0);
	p += k;
    }
    return (1);
}

static void test_list_alignment(void)
{
    static const char *cols[] = {"NUMBER", "CREATED", "STATE", "PRIO", "QUEUE",
    "OWNER", "CUSTOMER", "TITLE"};
    unsigned cps[512];
    size_t  offset[8];
    size_t  n;
    const char *s;
    const char *nl;
    int     rows = 0;
    int     saw_utf8 = 0;
    int     saw_cut = 0;

    CU_ASSERT_EQUAL(RUN("list"), 0);
    s = buf_data(out);
    CU_ASSERT(valid_utf8(s));
    /* Column offsets, in code points, from the header line. */
    nl = strchr(s, '\n');
    CU_ASSERT_FATAL(nl != 0);
    for (int c = 0; c < 8; c++) {
	const char *hit = strstr(s, cols[c]);

	CU_ASSERT_FATAL(hit != 0 && hit < nl);
	offset[c] = (size_t) (hit - s);	/* header is ASCII */
    }
    CU_ASSERT_EQUAL(offset[0], 0);
    /* Every line between the header and the "N tickets" line is a row. */
    for (s = nl + 1; (nl = strchr(s, '\n')) != 0 && nl[1] != 0; s = nl + 1) {
	decode(s, (size_t) (nl - s), cps, 512, &n);
	rows++;
	for (int c = 1; c < 8; c++) {
	    CU_ASSERT_FATAL(offset[c] < n);
	    /* Two spaces end the previous column; this one starts here. */
	    CU_ASSERT(cps[offset[c] - 1] == ' ' && cps[offset[c] - 2] == ' ');
	    CU_ASSERT(cps[offset[c]] != ' ');
	}
	if (memmem(s, (size_t) (nl - s) + 1, UTF8_TITLE "\n", strlen(UTF8_TITLE) + 1))
	    saw_utf8 = 1;
	if (memmem(s, (size_t) (nl - s), num_d, strlen(num_d))) {
	    /* The long title is cut to CTL_TITLE_WIDTH with an ellipsis. */
	    CU_ASSERT_EQUAL(n - offset[7], CTL_TITLE_WIDTH);
	    CU_ASSERT_EQUAL(cps[n - 1], 0x2026);
	    saw_cut = 1;
	}
	/* No control character reaches the terminal. */
	for (size_t i = 0; i < n; i++)
	    CU_ASSERT(cps[i] >= 0x20 && !(cps[i] >= 0x7f && cps[i] < 0xa0));
    }
    CU_ASSERT_STRING_EQUAL(s, "4 tickets\n");
    CU_ASSERT_EQUAL(rows, 4);
    CU_ASSERT(saw_utf8);
    CU_ASSERT(saw_cut);
}

static void test_list_json(void)
{
    char    expr[512];

    CU_ASSERT_EQUAL(RUN("list", "--json"), 0);
    snprintf(expr, sizeof(expr),
	     "isinstance(d, list) and len(d) == 4"
	     " and all('articles' not in t and 'history' not in t for t in d)"
	     " and set(t['number'] for t in d) == {'%s','%s','%s','%s'}"
	     " and all(t['owner'] is None and t['locked'] is False for t in d)",
	     num_a, num_b, num_c, num_d);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("list", "--queue", "Network", "--json"), 0);
    snprintf(expr, sizeof(expr), "d == [t for t in d if t['queue'] == 'Network']"
	     " and len(d) == 1 and d[0]['number'] == '%s'"
	     " and d[0]['type'] == 'Problem' and d[0]['customer'] == 'bob@example.org'",
	     num_b);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("list", "--queue", "Nowhere", "--json"), 0);
    CU_ASSERT_STRING_EQUAL(buf_data(out), "[]\n");
}

static void test_json_escaping(void)
{
    const char *s;

    CU_ASSERT_EQUAL(RUN("show", num_c, "--json"), 0);
    CU_ASSERT(valid_utf8(buf_data(out)));
    CU_ASSERT(json_check(buf_data(out),
			 "d['title'].startswith('Quote \" back\\\\slash \\x01\\x1b[31m red ')"
			 " and '\\ufffd' in d['title'] and d['title'].endswith(' end')"
			 " and '\\x07 esc\\x1b]0;pwned' in d['articles'][0]['body']"
			 " and '\"q\" \\\\ done' in d['articles'][0]['body']"));
    CU_ASSERT_EQUAL(RUN("list", "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "len(d) == 4"));
    /* The text form keeps no escape character, BEL or C1 control. */
    CU_ASSERT_EQUAL(RUN("show", num_c), 0);
    s = buf_data(out);
    CU_ASSERT(valid_utf8(s));
    CU_ASSERT_PTR_NULL(strchr(s, '\x1b'));
    CU_ASSERT_PTR_NULL(strchr(s, '\x07'));
    CU_ASSERT_PTR_NULL(strchr(s, '\r'));
    CU_ASSERT_PTR_NULL(strstr(s, "\xc2\x9b"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"q\" \\ done\n"));
}

static void test_status_maintenance(void)
{
    CU_ASSERT_EQUAL(RUN("status"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "daemon:             not running\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "maintenance:        off\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "tickets:            4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "articles:           5\n"));
    buf_reset(err);
    buf_printf(err, "schema version:     %d\n", STORE_SCHEMA_VERSION);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), buf_data(err)));

    CU_ASSERT_EQUAL(RUN("maintenance", "on"), 0);
    CU_ASSERT_STRING_EQUAL(buf_data(out), "maintenance on: new mail is deferred with 4xx\n");
    CU_ASSERT_EQUAL(store_maintenance(store), 1);
    CU_ASSERT_EQUAL(RUN("status"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "maintenance:        on\n"));
    CU_ASSERT_EQUAL(RUN("status", "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "d['maintenance'] is True and d['tickets'] == 4"
			 " and d['daemon'] == 'not running' and d['pid'] is None"
			 " and d['schema_version'] >= 1"));
    CU_ASSERT_EQUAL(RUN("maintenance"), 0);
    CU_ASSERT_STRING_EQUAL(buf_data(out), "maintenance on: new mail is deferred with 4xx\n");

    CU_ASSERT_EQUAL(RUN("maintenance", "off"), 0);
    CU_ASSERT_STRING_EQUAL(buf_data(out), "maintenance off\n");
    CU_ASSERT_EQUAL(store_maintenance(store), 0);
    CU_ASSERT_EQUAL(RUN("status", "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "d['maintenance'] is False"));

    /* The pid a daemon passes is reported. */
    buf_reset(out);
    buf_reset(err);
    CU_ASSERT_EQUAL(ctl_run(store, conf, 1, (char *[]) {"status", 0}, 4242,
			    out, err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "daemon:             running, pid 4242\n"));
}

/* outbox_add - one outbox row in its own batch; 0 and the id */

static int outbox_add(const char *number, const char *kind, const char *rcpt,
		              const char *id, uint64_t *id_r)
{
    const char *rcpts[] = {rcpt};
    char   *data = mem_printf("From: helpdesk@example.org\r\nTo: %s\r\n"
			      "Message-ID: <%s@desk.example.org>\r\n\r\nHi\r\n",
			      rcpt, id);
    char   *msgid = mem_printf("%s@desk.example.org", id);
    struct store_outbox_mail m = {number, kind, "", rcpts, 1, msgid, data,
    strlen(data)};
    struct store_batch *batch = 0;
    int     rc = store_batch_begin(store, &batch);

    if (rc == STORE_OK && (rc = store_outbox_add(batch, &m, id_r)) != STORE_OK)
	store_batch_abort(&batch);
    if (rc == STORE_OK)
	rc = store_batch_commit(&batch);
    mem_free(data);
    mem_free(msgid);
    return (rc == STORE_OK ? 0 : -1);
}

/* outbox rows of test_outbox: pending, failed (hostile error), sent */
static uint64_t ob_pending, ob_failed, ob_sent;

static void test_outbox(void)
{
    char    want[256];
    char    expr[512];
    const char *text;

    CU_ASSERT_FATAL(outbox_add(num_a, "ack", "marie.dupont@example.org", "ob1",
			       &ob_pending) == 0);
    CU_ASSERT_FATAL(outbox_add(num_b, "new-ticket", "alice@example.org", "ob2",
			       &ob_failed) == 0);
    CU_ASSERT_FATAL(outbox_add("", "test", "bob@example.org", "ob3", &ob_sent) == 0);
    CU_ASSERT_EQUAL(store_outbox_result(store, ob_failed, STORE_OUTBOX_FAILED, 0,
			      "550 5.1.1 \x1b[31mno such user\x07 here"), STORE_OK);
    CU_ASSERT_EQUAL(store_outbox_result(store, ob_sent, STORE_OUTBOX_SENT, 0, 0),
		    STORE_OK);

    /* The table: pending and failed, not sent; no escape reaches it. */
    CU_ASSERT_EQUAL(RUN("outbox"), 0);
    text = buf_data(out);
    CU_ASSERT(strncmp(text, "ID", 2) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "STATE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ATTEMPTS"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "NEXT"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "TICKET"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "LAST ERROR\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "pending"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "failed"));
    CU_ASSERT_PTR_NULL(strstr(text, "  sent  "));
    CU_ASSERT_PTR_NULL(strstr(text, "bob@example.org"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, num_a));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "marie.dupont@example.org"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "550 5.1.1 ?[31mno such user? here"));
    CU_ASSERT_PTR_NULL(strchr(text, '\x1b'));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n2 mails\n"));
    CU_ASSERT_STRING_EQUAL(buf_data(err), "");

    CU_ASSERT_EQUAL(RUN("outbox", "--all"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "bob@example.org"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "\n3 mails\n"));

    /* JSON: the same rows, with states, recipients, times, ticket null. */
    CU_ASSERT_EQUAL(RUN("outbox", "--json"), 0);
    snprintf(expr, sizeof(expr), "len(d) == 2 and d[0]['id'] == %" PRIu64
	     " and d[0]['state'] == 'pending' and d[0]['ticket'] == '%s'"
	     " and d[0]['recipients'] == ['marie.dupont@example.org']"
	     " and d[0]['attempts'] == 0 and d[0]['next_attempt'].endswith('Z')"
	     " and d[0]['kind'] == 'ack' and d[0]['envelope_from'] == ''"
	     " and d[1]['state'] == 'failed' and d[1]['next_attempt'] is None"
	     " and d[1]['last_error'].startswith('550 5.1.1 ')",
	     ob_pending, num_a);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("outbox", "--all", "--json"), 0);
    snprintf(expr, sizeof(expr), "len(d) == 3 and d[2]['id'] == %" PRIu64
	     " and d[2]['state'] == 'sent' and d[2]['ticket'] is None",
	     ob_sent);
    CU_ASSERT(json_check(buf_data(out), expr));

    /* status counts them. */
    CU_ASSERT_EQUAL(RUN("status"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "outbox pending:     1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "outbox failed:      1\n"));
    CU_ASSERT_EQUAL(RUN("status", "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "d['outbox_pending'] == 1 and "
			 "d['outbox_failed'] == 1"));

    /* retry: a failed row becomes pending, due now. */
    snprintf(want, sizeof(want), "%" PRIu64, ob_failed);
    CU_ASSERT_EQUAL(RUN("outbox", "retry", want), 0);
    snprintf(expr, sizeof(expr), "outbox %" PRIu64 ": queued for delivery now\n",
	     ob_failed);
    CU_ASSERT_STRING_EQUAL(buf_data(out), expr);
    CU_ASSERT_EQUAL(RUN("outbox", "--json"), 0);
    snprintf(expr, sizeof(expr), "len(d) == 2 and d[1]['id'] == %" PRIu64
	     " and d[1]['state'] == 'pending'", ob_failed);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("status", "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "d['outbox_pending'] == 2 and "
			 "d['outbox_failed'] == 0"));

    /* retry of a sent or unknown row: exit 1, one line. */
    snprintf(want, sizeof(want), "%" PRIu64, ob_sent);
    CU_ASSERT_EQUAL(RUN("outbox", "retry", want), 1);
    snprintf(expr, sizeof(expr), "postdeskctl: no such pending or failed mail %"
	     PRIu64 "\n", ob_sent);
    CU_ASSERT_STRING_EQUAL(buf_data(err), expr);
    CU_ASSERT_STRING_EQUAL(buf_data(out), "");
    CU_ASSERT_EQUAL(RUN("outbox", "retry", "987654"), 1);
    CU_ASSERT_STRING_EQUAL(buf_data(err),
			   "postdeskctl: no such pending or failed mail 987654\n");

    /* Usage errors. */
    CU_ASSERT_EQUAL(RUN("outbox", "retry"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(err), "missing outbox ID"));
    CU_ASSERT_EQUAL(RUN("outbox", "retry", "0"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("outbox", "retry", "12x"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_EQUAL(RUN("outbox", "retry", "1", "2"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("outbox", "--bogus"), UTIL_EX_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(err), "unknown option --bogus"));
    CU_ASSERT_EQUAL(RUN("outbox", "--all", "retry", "1"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("outbox", "list"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(ctl_check_args(2, (char *[]) {"outbox", "--all", 0}, err),
		    UTIL_EX_OK);
    CU_ASSERT(ctl_verb_needs_store("outbox"));
}

static void test_usage(void)
{
    CU_ASSERT_EQUAL(RUN("frobnicate"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(err), "unknown verb frobnicate"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(err), "--help"));
    CU_ASSERT_EQUAL(RUN("check-config"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_EQUAL(RUN("list", "--bogus"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(err), "--bogus"));
    CU_ASSERT_EQUAL(RUN("list", "--queue"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_EQUAL(RUN("list", "--queue="), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("list", "--limit", "0"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("list", "--limit", "3x"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("list", "extra"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("show"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_EQUAL(RUN("show", "12ab"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("show", num_a, num_b), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("show", num_a, "--yaml"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("status", "now"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("maintenance", "maybe"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_EQUAL(RUN("maintenance", "on", "off"), UTIL_EX_USAGE);
    /* A control character in a bad argument does not reach stderr. */
    CU_ASSERT_EQUAL(RUN("list", "--x\n\x1b"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    CU_ASSERT_PTR_NULL(strchr(buf_data(err), '\x1b'));
    CU_ASSERT_EQUAL(store_maintenance(store), 0);
    CU_ASSERT_EQUAL(ctl_check_args(2, (char *[]) {"list", "--json", 0}, err), 0);
}

/*
 * The control socket.
 */
struct server {
    int     listen_fd;
    int     connections;		/* to serve, then stop */
    long    pid;
};

static void *server_main(void *arg)
{
    struct server *sv = arg;

    for (int i = 0; i < sv->connections; i++) {
	int     fd = accept(sv->listen_fd, 0, 0);

	if (fd < 0)
	    break;
	ctl_serve(fd, store, conf, sv->pid);
	close(fd);
    }
    return (0);
}

/* listen_at - a listening unix socket at path */

static int listen_at(const char *path)
{
    struct sockaddr_un sun;
    int     fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0
	|| listen(fd, 8) < 0)
	return (-1);
    return (fd);
}

/* same_over_socket - ctl_call through the server gives ctl_run's result */

static void same_over_socket(const char *path, char **argv, int argc)
{
    struct buf *o2 = buf_create(256, 0);
    struct buf *e2 = buf_create(256, 0);
    int     status = -1;
    int     direct;

    buf_reset(out);
    buf_reset(err);
    direct = ctl_run(store, conf, argc, argv, 77, out, err);
    CU_ASSERT_EQUAL(ctl_call(path, argc, argv, o2, e2, &status), 0);
    CU_ASSERT_EQUAL(status, direct);
    CU_ASSERT_EQUAL(buf_len(o2), buf_len(out));
    CU_ASSERT(memcmp(buf_data(o2), buf_data(out), buf_len(out)) == 0);
    CU_ASSERT_STRING_EQUAL(buf_data(e2), buf_data(err));
    buf_destroy(&o2);
    buf_destroy(&e2);
}

static void test_raw(void)
{
    struct store_message m;
    struct store_result res;
    struct store_batch *batch = 0;

    memset(&m, 0, sizeof(m));
    m.log_id = "TEST";
    m.recipient = m.to = "helpdesk@desk.test";
    m.queue = "Helpdesk";
    m.default_type = "Incident";
    m.sender = m.from = m.from_header = "x@example.org";
    m.cc = m.body = "";
    m.subject = m.title = "bin";
    m.message_id = "bin@example.org";
    m.raw = bin_raw;
    m.raw_len = sizeof(bin_raw) - 1;
    m.received = time(0);
    CU_ASSERT_FATAL(store_batch_begin(store, &batch) == STORE_OK);
    CU_ASSERT_FATAL(store_deliver(batch, conf, &m, &res) == STORE_OK);
    CU_ASSERT_FATAL(store_batch_commit(&batch) == STORE_OK);
    memcpy(num_bin, res.number, sizeof(num_bin));

    /* Byte for byte, NUL and 8-bit bytes included; article 1 by default. */
    CU_ASSERT_EQUAL(RUN("raw", num_bin), 0);
    CU_ASSERT_EQUAL(buf_len(out), sizeof(bin_raw) - 1);
    CU_ASSERT(memcmp(buf_data(out), bin_raw, sizeof(bin_raw) - 1) == 0);
    CU_ASSERT_EQUAL(RUN("raw", num_bin, "1"), 0);
    CU_ASSERT_EQUAL(buf_len(out), sizeof(bin_raw) - 1);
    /* No such article or ticket: 1 with a reason; bad arguments: 64. */
    CU_ASSERT_EQUAL(RUN("raw", num_bin, "2"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(err), "has no article 2"));
    CU_ASSERT_EQUAL(RUN("raw", "2026010110999999"), 1);
    CU_ASSERT_EQUAL(RUN("raw", num_bin, "0"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("raw", num_bin, "x"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("raw"), UTIL_EX_USAGE);
    CU_ASSERT_EQUAL(RUN("raw", num_bin, "--json"), UTIL_EX_USAGE);
}

static void test_socket_roundtrip(void)
{
    char    path[512];
    struct server sv = {.connections = 8,.pid = 77};
    pthread_t tid;

    snprintf(path, sizeof(path), "%s/ctl.sock", tmpdir);
    CU_ASSERT_FATAL((sv.listen_fd = listen_at(path)) >= 0);
    CU_ASSERT_FATAL(pthread_create(&tid, 0, server_main, &sv) == 0);
    same_over_socket(path, (char *[]) {"show", num_a, 0}, 2);
    same_over_socket(path, (char *[]) {"show", num_c, "--json", 0}, 3);
    same_over_socket(path, (char *[]) {"list", "--queue", "Helpdesk", 0}, 3);
    same_over_socket(path, (char *[]) {"show", "12345678", 0}, 2);
    same_over_socket(path, (char *[]) {"list", "--nope", 0}, 2);
    same_over_socket(path, (char *[]) {"raw", num_bin, 0}, 2);
    CU_ASSERT_EQUAL(buf_len(out), sizeof(bin_raw) - 1);
    same_over_socket(path, (char *[]) {"raw", num_bin, "7", 0}, 3);
    same_over_socket(path, (char *[]) {"status", 0}, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "running, pid 77"));
    pthread_join(tid, 0);
    close(sv.listen_fd);

    /* Nothing listens: ENOENT after unlink, ECONNREFUSED on a dead socket. */
    int     status;

    CU_ASSERT_EQUAL(ctl_call(path, 1, (char *[]) {"status", 0}, out, err,
			     &status), -1);
    CU_ASSERT_EQUAL(errno, ECONNREFUSED);
    unlink(path);
    CU_ASSERT_EQUAL(ctl_call(path, 1, (char *[]) {"status", 0}, out, err,
			     &status), -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    /* An empty argument can not be sent. */
    CU_ASSERT_EQUAL(ctl_call(path, 2, (char *[]) {"list", "", 0}, out, err,
			     &status), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
}

/* serve_raw - send raw request bytes over a socketpair, serve, return the answer */

struct raw_writer {
    int     fd;
    const char *data;
    size_t  len;
    int     close_after;
};

static void *raw_writer_main(void *arg)
{
    struct raw_writer *w = arg;
    size_t  done = 0;

    while (done < w->len) {
	ssize_t n = send(w->fd, w->data + done, w->len - done, MSG_NOSIGNAL);

	if (n <= 0)
	    break;
	done += (size_t) n;
    }
    if (w->close_after)
	shutdown(w->fd, SHUT_WR);
    return (0);
}

static char *serve_raw(const char *data, size_t len, int close_after,
		               int timeout_ms)
{
    int     sv[2];
    struct raw_writer w;
    pthread_t tid;
    struct buf *ans = buf_create(256, 0);
    char    chunk[4096];
    ssize_t n;

    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    w.fd = sv[0];
    w.data = data;
    w.len = len;
    w.close_after = close_after;
    CU_ASSERT_FATAL(pthread_create(&tid, 0, raw_writer_main, &w) == 0);
    ctl_serve_timeout(sv[1], store, conf, 99, timeout_ms);
    close(sv[1]);
    while ((n = recv(sv[0], chunk, sizeof(chunk), 0)) > 0)
	buf_append(ans, chunk, (size_t) n);
    pthread_join(tid, 0);
    close(sv[0]);
    char   *s = buf_steal(ans, 0);

    buf_destroy(&ans);
    return (s);
}

static void test_serve_requests(void)
{
    struct buf *big = buf_create(1024, 0);
    char   *ans;
    uint64_t t0;

    /* A good request; bytes after the final NUL are ignored. */
    ans = serve_raw("maintenance\0\0junk", 18, 0, 2000);
    CU_ASSERT_STRING_EQUAL(ans, "0 16\nmaintenance off\n");
    mem_free(ans);

    /* Too many arguments. */
    buf_append(big, "list\0", 5);
    for (int i = 0; i < CTL_MAX_ARGS + 5; i++)
	buf_append(big, "--locked\0", 9);
    buf_append(big, "", 1);
    ans = serve_raw(buf_data(big), buf_len(big), 0, 2000);
    CU_ASSERT_STRING_EQUAL(ans, "64 0\npostdeskctl: more than 64 arguments\n");
    mem_free(ans);

    /* Too large: no terminator within the limit. */
    buf_reset(big);
    while (buf_len(big) < CTL_MAX_REQUEST + 1000)
	buf_append_str(big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    ans = serve_raw(buf_data(big), buf_len(big), 1, 2000);
    CU_ASSERT_STRING_EQUAL(ans, "64 0\npostdeskctl: request too large\n");
    mem_free(ans);

    /* The client stops half-way and closes. */
    ans = serve_raw("show\0", 5, 1, 2000);
    CU_ASSERT_STRING_EQUAL(ans, "64 0\npostdeskctl: incomplete request\n");
    mem_free(ans);

    /* A stuck client: half a request, then nothing; the server gives up. */
    t0 = time_now_ms();
    ans = serve_raw("show\0", 5, 0, 300);
    CU_ASSERT(time_now_ms() - t0 < 3000);
    CU_ASSERT_STRING_EQUAL(ans, "64 0\npostdeskctl: request timed out\n");
    mem_free(ans);

    /* An empty request (no verb) is a usage error. */
    ans = serve_raw("\0", 1, 0, 2000);
    CU_ASSERT_PTR_NOT_NULL(strstr(ans, "64 0\npostdeskctl: no verb given"));
    mem_free(ans);
    buf_destroy(&big);
}

/*
 * The postdeskctl binary.
 */
static char binary[PATH_MAX];

/* spawn - run postdeskctl with args; stdout/stderr into *out_r/*err_r */

static int spawn(char **args, char **out_r, char **err_r)
{
    char    opath[512];
    char    epath[512];
    char   *argv[32];
    int     argc = 0;
    int     status;
    pid_t   pid;

    snprintf(opath, sizeof(opath), "%s/stdout", tmpdir);
    snprintf(epath, sizeof(epath), "%s/stderr", tmpdir);
    argv[argc++] = binary;
    for (int i = 0; args[i] && argc < 31; i++)
	argv[argc++] = args[i];
    argv[argc] = 0;
    fflush(stdout);
    if ((pid = fork()) == 0) {
	int     ofd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int     efd = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (ofd < 0 || efd < 0)
	    _exit(126);
	dup2(ofd, 1);
	dup2(efd, 2);
	execv(binary, argv);
	_exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
	return (-1);
    *out_r = read_file(opath);
    *err_r = read_file(epath);
    return (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

#define SPAWN(o, e, ...) spawn((char *[]) {__VA_ARGS__, NULL}, (o), (e))

static int have_binary(void)
{
    const char *dir = getenv("POSTDESK_BUILD_DIR");

    if (dir == 0)
	return (0);
    snprintf(binary, sizeof(binary), "%s/cli/postdeskctl", dir);
    return (access(binary, X_OK) == 0);
}

static void test_binary_check_config(void)
{
    char    bad[512];
    char    want[640];
    char   *o;
    char   *e;

    if (!have_binary()) {
	fprintf(stderr, "POSTDESK_BUILD_DIR/cli/postdeskctl missing: skipped\n");
	return;
    }
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "check-config"), 0);
    snprintf(want, sizeof(want), "%s: ok\n", conf_file);
    CU_ASSERT_STRING_EQUAL(o, want);
    CU_ASSERT_STRING_EQUAL(e, "");
    mem_free(o);
    mem_free(e);

    /* Line 3 has a system_id out of range. */
    snprintf(bad, sizeof(bad), "%s/bad.conf", tmpdir);
    CU_ASSERT_FATAL(write_file(bad, "[postdesk]\ndomain = desk.example.org\n"
			       "system_id = 123\n", 0644) == 0);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", bad, "check-config"), UTIL_EX_CONFIG);
    snprintf(want, sizeof(want), "%s:3: ", bad);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, want));
    CU_ASSERT_STRING_EQUAL(o, "");
    mem_free(o);
    mem_free(e);
    /* A store verb with a bad config is 78 too, before any store. */
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", bad, "status"), UTIL_EX_CONFIG);
    mem_free(o);
    mem_free(e);
    /* A good file whose templates are broken, or whose key is missing. */
    {
	char    tdir[512], tfile[600], kconf[512];
	char   *text;

	snprintf(tdir, sizeof(tdir), "%s/tpl", tmpdir);
	snprintf(bad, sizeof(bad), "%s/tpl.conf", tmpdir);
	text = mem_printf("[postdesk]\ndomain = desk.example.org\n"
			  "secret_file = %s/secret\ntemplates_dir = %s\n", tmpdir, tdir);
	CU_ASSERT_FATAL(write_file(bad, text, 0644) == 0);
	mem_free(text);
	CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", bad, "check-config"), UTIL_EX_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e, tdir));
	mem_free(o);
	mem_free(e);
	/* Copy of the shipped set with one broken placeholder at line 3. */
	CU_ASSERT_FATAL(mkdir(tdir, 0755) == 0);
	text = mem_printf("cp -r '%s/contrib/templates/.' '%s/'",
			  getenv("POSTDESK_SOURCE_DIR"), tdir);
	CU_ASSERT_FATAL(system(text) == 0);
	mem_free(text);
	snprintf(tfile, sizeof(tfile), "%s/fr/ack.txt", tdir);
	CU_ASSERT_FATAL(write_file(tfile, "Subject: {{ticket.title}}\n\n"
				   "Bonjour {{no.such.placeholder}}\n", 0644) == 0);
	CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", bad, "check-config"), UTIL_EX_CONFIG);
	snprintf(want, sizeof(want), "%s:3:", tfile);
	CU_ASSERT_PTR_NOT_NULL(strstr(e, want));
	mem_free(o);
	mem_free(e);
	/* The key file missing. */
	snprintf(kconf, sizeof(kconf), "%s/nokey.conf", tmpdir);
	text = mem_printf("[postdesk]\ndomain = desk.example.org\n"
			  "secret_file = %s/no-such-secret\n"
			  "templates_dir = %s/contrib/templates\n", tmpdir,
			  getenv("POSTDESK_SOURCE_DIR"));
	CU_ASSERT_FATAL(write_file(kconf, text, 0644) == 0);
	mem_free(text);
	CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", kconf, "check-config"), UTIL_EX_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "no-such-secret"));
	mem_free(o);
	mem_free(e);
    }
    /* A missing file. */
    snprintf(bad, sizeof(bad), "%s/missing.conf", tmpdir);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", bad, "check-config"), UTIL_EX_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "missing.conf"));
    mem_free(o);
    mem_free(e);
}

static void test_binary_usage(void)
{
    char   *o;
    char   *e;

    if (!have_binary())
	return;
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "--help"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "usage: postdeskctl"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "outbox [--all] [--json]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "outbox retry ID"));
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "frobnicate"), UTIL_EX_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "unknown verb frobnicate"));
    CU_ASSERT(strchr(e, '\n') == e + strlen(e) - 1);
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-x", "status"), UTIL_EX_USAGE);
    CU_ASSERT(strchr(e, '\n') == e + strlen(e) - 1);
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file), UTIL_EX_USAGE);
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "list", "--queue", ""),
		    UTIL_EX_USAGE);
    mem_free(o);
    mem_free(e);
}

/* chown_tree - give a directory tree to uid (gid = uid) */

static uid_t tree_uid;
static int tree_count;

static int chown_entry(const char *path, const struct stat *st, int flag,
		               struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return (lchown(path, tree_uid, (gid_t) tree_uid));
}

static int chown_tree(const char *dir, uid_t uid)
{
    tree_uid = uid;
    return (nftw(dir, chown_entry, 16, FTW_PHYS));
}

/* count_not_owned - entries of a tree not owned by uid */

static int count_entry(const char *path, const struct stat *st, int flag,
		               struct FTW *ftw)
{
    (void) path;
    (void) flag;
    (void) ftw;
    if (st->st_uid != tree_uid)
	tree_count++;
    return (0);
}

static int count_not_owned(const char *dir, uid_t uid)
{
    tree_uid = uid;
    tree_count = 0;
    if (nftw(dir, count_entry, 16, FTW_PHYS) < 0)
	return (-1);
    return (tree_count);
}

static void test_binary_store_paths(void)
{
    char    sock[512];
    struct server sv = {.connections = 2,.pid = 4321};
    pthread_t tid;
    char   *o;
    char   *e;
    char   *error = 0;

    if (!have_binary())
	return;
    snprintf(sock, sizeof(sock), "%s/%s", state_dir, CTL_SOCKET_NAME);

    /* The store is held (by this process) and no socket answers. */
    unlink(sock);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "show", num_a), 69);
    CU_ASSERT_STRING_EQUAL(e, "postdeskctl: store is held by a running "
			   "postdesk-lmtpd but its control socket does not answer\n");
    CU_ASSERT_STRING_EQUAL(o, "");
    mem_free(o);
    mem_free(e);

    /* A "daemon" answers on STATE_DIR/control. */
    CU_ASSERT_FATAL((sv.listen_fd = listen_at(sock)) >= 0);
    CU_ASSERT_FATAL(pthread_create(&tid, 0, server_main, &sv) == 0);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "show", num_a), 0);
    CU_ASSERT_EQUAL(RUN("show", num_a), 0);
    CU_ASSERT_STRING_EQUAL(o, buf_data(out));
    CU_ASSERT_STRING_EQUAL(e, "");
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "show", "424242"), 1);
    CU_ASSERT_STRING_EQUAL(e, "postdeskctl: ticket 424242 not found\n");
    mem_free(o);
    mem_free(e);
    pthread_join(tid, 0);
    close(sv.listen_fd);

    /* No daemon at all: a stale socket, the store free. */
    store_close(&store);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "status"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "daemon:             not running\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "tickets:            5\n"));
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "maintenance", "on"), 0);
    CU_ASSERT_STRING_EQUAL(o, "maintenance on: new mail is deferred with 4xx\n");
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "list", "--queue",
			  "Network", "--json"), 0);
    CU_ASSERT(json_check(o, "len(d) == 1"));
    mem_free(o);
    mem_free(e);
    /* The outbox verb through the binary, in-process (no daemon). */
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "outbox", "--all", "--json"), 0);
    CU_ASSERT(json_check(o, "len(d) == 3 and all(x['kind'] for x in d)"));
    CU_ASSERT_STRING_EQUAL(e, "");
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "outbox", "retry", "987654"), 1);
    CU_ASSERT_STRING_EQUAL(e, "postdeskctl: no such pending or failed mail 987654\n");
    mem_free(o);
    mem_free(e);
    /* Root without a daemon works as the owner of the state directory. */
    if (geteuid() == 0) {
	CU_ASSERT_EQUAL(chmod(tmpdir, 0711), 0);
	CU_ASSERT_EQUAL(chown_tree(state_dir, 65534), 0);
	CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "status"), 0);
	CU_ASSERT_STRING_EQUAL(e, "");
	CU_ASSERT_EQUAL(count_not_owned(state_dir, 65534), 0);
	mem_free(o);
	mem_free(e);
	CU_ASSERT_EQUAL(chown_tree(state_dir, 0), 0);
	CU_ASSERT_EQUAL(chmod(tmpdir, 0700), 0);
    }
    CU_ASSERT_FATAL(store_open(state_dir, &store, &error) == STORE_OK);
    CU_ASSERT_EQUAL(store_maintenance(store), 1);
    CU_ASSERT_EQUAL(RUN("maintenance", "off"), 0);
    unlink(sock);
}


/* test_commands_fields - watchers, revision, merged_into, the "new
   article" star of list --locked --owner (runs after escalations: it
   adds tickets and changes them) */

static void test_commands_fields(void)
{
    static const char *const watch[] = {"bob", "carol"};
    struct store_ticket_change c;
    struct store_batch *b;
    char    num_e[32], num_f[32], follow[32], expr[1024];
    const char *s, *hdr, *row, *nl;
    size_t  star_col;
    time_t  now = time(0);

    CU_ASSERT_EQUAL_FATAL(deliver("Helpdesk", "helpdesk@example.org",
				  "zora@example.org", "Locked one", "Hi.\n",
				  "e1@example.org", 0, 0, 0, num_e), 0);
    CU_ASSERT_EQUAL_FATAL(deliver("Helpdesk", "helpdesk@example.org",
				  "zora@example.org", "Same thing", "Hi.\n",
				  "f1@example.org", 0, 0, 0, num_f), 0);
    memset(&c, 0, sizeof(c));
    c.set_owner = 1;
    c.owner = "alice";
    c.lock = 1;
    c.watch_add = watch;
    c.n_watch_add = 2;
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(store, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ticket_update(b, conf, "TEST", num_e, &c, "alice",
					now), STORE_OK);
    CU_ASSERT_EQUAL(store_ticket_merge(b, conf, "TEST", num_f, num_e, "alice",
				       now), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);

    /* show: watchers and revision, text and JSON. */
    CU_ASSERT_EQUAL(RUN("show", num_e), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "Watchers:   bob, carol\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "Revision:   3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), " watchers -> +carol\n"));
    CU_ASSERT_EQUAL(RUN("show", num_e, "--json"), 0);
    snprintf(expr, sizeof(expr), "d['revision'] == 3 and d['watchers'] == "
	     "['bob', 'carol'] and d['merged_into'] is None and d['owner'] == "
	     "'alice' and d['locked'] is True and d['new_article'] is True");
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("show", num_f, "--json"), 0);
    snprintf(expr, sizeof(expr), "d['merged_into'] == '%s' and d['state'] == "
	     "'merged' and d['watchers'] == [] and d['new_article'] is False",
	     num_e);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("show", num_a), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(out), "Watchers:   -\n"));

    /* list --locked --owner: the ticket, with the star. */
    CU_ASSERT_EQUAL(RUN("list", "--locked", "--owner", "alice"), 0);
    s = buf_data(out);
    CU_ASSERT_EQUAL(count_rows(s), 1);
    hdr = strstr(s, "  *  CREATED");
    CU_ASSERT_FATAL(hdr != 0);
    star_col = (size_t) (hdr - s) + 2;
    row = strchr(s, '\n') + 1;
    CU_ASSERT(strncmp(row, num_e, strlen(num_e)) == 0);
    CU_ASSERT(strlen(row) > star_col && row[star_col] == '*');
    CU_ASSERT_EQUAL(RUN("list", "--locked", "--owner", "alice", "--json"), 0);
    snprintf(expr, sizeof(expr), "len(d) == 1 and d[0]['number'] == '%s' and "
	     "d[0]['new_article'] is True and d[0]['revision'] == 3", num_e);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("list", "--locked", "--owner", "bob"), 0);
    CU_ASSERT_EQUAL(count_rows(buf_data(out)), 0);
    /* Other tickets have no star; unlocked ones are not listed. */
    CU_ASSERT_EQUAL(RUN("list", "--json"), 0);
    snprintf(expr, sizeof(expr), "all(t['new_article'] is (t['number'] == "
	     "'%s') for t in d)", num_e);
    CU_ASSERT(json_check(buf_data(out), expr));
    CU_ASSERT_EQUAL(RUN("list"), 0);
    for (s = strchr(buf_data(out), '\n') + 1; (nl = strchr(s, '\n')) && nl[1];
	 s = nl + 1)
	CU_ASSERT((s[star_col] == '*') == (strncmp(s, num_e, strlen(num_e)) == 0));

    /* The owner acts: the star goes off; a follow-up turns it on. */
    CU_ASSERT_EQUAL_FATAL(store_batch_begin(store, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_ticket_seen(b, "TEST", num_e, "alice"), STORE_OK);
    CU_ASSERT_EQUAL(store_batch_commit(&b), STORE_OK);
    CU_ASSERT_EQUAL(RUN("list", "--locked", "--owner", "alice"), 0);
    row = strchr(buf_data(out), '\n') + 1;
    CU_ASSERT(strlen(row) > star_col && row[star_col] == ' ');
    CU_ASSERT_EQUAL(RUN("list", "--locked", "--owner", "alice", "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "d[0]['new_article'] is False"));
    /* A follow-up to the merged ticket lands in num_e. */
    CU_ASSERT_EQUAL(deliver("Helpdesk", "helpdesk@example.org",
			    "zora@example.org", "RE: Same thing", "More.\n",
			    "f2@example.org", num_f, 0, 0, follow), 0);
    CU_ASSERT_STRING_EQUAL(follow, num_e);
    CU_ASSERT_EQUAL(RUN("list", "--locked", "--owner", "alice", "--json"), 0);
    CU_ASSERT(json_check(buf_data(out), "d[0]['new_article'] is True"));
}

/* secret_key - the test key, as the daemons load it */

static struct sigaddr_key *secret_key(void)
{
    struct sigaddr_key *key = 0;
    char   *errors = 0;

    if (sigaddr_key_load(conf_secret_file(conf), conf_key_epoch(conf), &key,
			 &errors) < 0) {
	fprintf(stderr, "sigaddr_key_load: %s\n", errors ? errors : "?");
	mem_free(errors);
    }
    return (key);
}

/* check_address - addr (one line) verifies for login at now */

static void check_address(const char *text, const char *login, time_t now)
{
    char    token[SIGADDR_TOKEN_LEN + 1];
    char   *addr = mem_strdup(text);
    struct sigaddr_claims cl;
    struct sigaddr_key *key = secret_key();
    size_t  len = strlen(addr);

    CU_ASSERT_FATAL(key != 0);
    CU_ASSERT(len > 1 && addr[len - 1] == '\n' && strchr(addr, '\n') == addr + len - 1);
    addr[len - 1] = 0;
    CU_ASSERT_EQUAL(strncmp(addr, "desk+", 5), 0);
    CU_ASSERT_FATAL(sigaddr_match(addr, "desk", "desk.example.org", token) == 1);
    memset(&cl, 0, sizeof(cl));
    CU_ASSERT_EQUAL(sigaddr_verify(key, token, now, conf_token_max_age(conf),
				   &cl), SIGADDR_OK);
    CU_ASSERT_EQUAL(cl.agent_id, sigaddr_agent_id(login));
    CU_ASSERT_EQUAL(cl.ticket, 0);
    CU_ASSERT_EQUAL(cl.revision, 0);
    CU_ASSERT_EQUAL(cl.issue_day, sigaddr_day(now));
    CU_ASSERT_EQUAL(cl.key_epoch, conf_key_epoch(conf));
    /* Another agent's id would not match. */
    CU_ASSERT_NOT_EQUAL(cl.agent_id, sigaddr_agent_id(strcmp(login, "bob") ?
							      "bob" : "alice"));
    sigaddr_key_free(&key);
    mem_free(addr);
}

/* test_agent_address - the agent-address verb, in-process and binary */

static void test_agent_address(void)
{
    time_t  now = time(0);
    char   *o, *e;
    char    saved[512];

    buf_reset(out);
    buf_reset(err);
    CU_ASSERT_EQUAL(ctl_agent_address(conf, "alice", now, out, err), 0);
    CU_ASSERT_EQUAL(buf_len(err), 0);
    check_address(buf_data(out), "alice", now);
    /* The login is case-insensitive; the claims name the configured one. */
    buf_reset(out);
    CU_ASSERT_EQUAL(ctl_agent_address(conf, "ALICE", now, out, err), 0);
    check_address(buf_data(out), "alice", now);
    /* A day later the address differs (issue day) and still verifies. */
    buf_reset(out);
    CU_ASSERT_EQUAL(ctl_agent_address(conf, "alice", now - 86400, out, err), 0);
    check_address(buf_data(out), "alice", now - 86400);
    /* An inactive agent: the address, and a warning. */
    buf_reset(out);
    CU_ASSERT_EQUAL(ctl_agent_address(conf, "bob", now, out, err), 0);
    check_address(buf_data(out), "bob", now);
    CU_ASSERT(one_line(err));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf_data(err), "not active"));
    /* Unknown agent, control characters sanitised. */
    buf_reset(out);
    buf_reset(err);
    CU_ASSERT_EQUAL(ctl_agent_address(conf, "nobody", now, out, err),
		    UTIL_EX_USAGE);
    CU_ASSERT_STRING_EQUAL(buf_data(err), "postdeskctl: no such agent: nobody\n");
    CU_ASSERT_EQUAL(buf_len(out), 0);
    buf_reset(err);
    CU_ASSERT_EQUAL(ctl_agent_address(conf, "x\n\x1b", now, out, err),
		    UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    /* Not a store verb. */
    CU_ASSERT_EQUAL(RUN("agent-address", "alice"), UTIL_EX_USAGE);
    CU_ASSERT(one_line(err));
    /* A missing key is a configuration error. */
    snprintf(saved, sizeof(saved), "%s.moved", conf_secret_file(conf));
    CU_ASSERT_EQUAL_FATAL(rename(conf_secret_file(conf), saved), 0);
    buf_reset(out);
    buf_reset(err);
    CU_ASSERT_EQUAL(ctl_agent_address(conf, "alice", now, out, err),
		    UTIL_EX_CONFIG);
    CU_ASSERT(one_line(err));
    CU_ASSERT_EQUAL(buf_len(out), 0);
    CU_ASSERT_EQUAL_FATAL(rename(saved, conf_secret_file(conf)), 0);

    if (!have_binary()) {
	fprintf(stderr, "POSTDESK_BUILD_DIR/cli/postdeskctl missing: skipped\n");
	return;
    }
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "agent-address", "alice"), 0);
    check_address(o, "alice", time(0));
    CU_ASSERT_STRING_EQUAL(e, "");
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "agent-address", "nobody"),
		    UTIL_EX_USAGE);
    CU_ASSERT_STRING_EQUAL(o, "");
    CU_ASSERT_STRING_EQUAL(e, "postdeskctl: no such agent: nobody\n");
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "agent-address"), UTIL_EX_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "missing agent login"));
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "-c", conf_file, "agent-address", "alice",
			  "extra"), UTIL_EX_USAGE);
    mem_free(o);
    mem_free(e);
    CU_ASSERT_EQUAL(SPAWN(&o, &e, "--help"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "agent-address AGENT"));
    mem_free(o);
    mem_free(e);
}

int     main(void)
{
    CU_pSuite s;
    CU_ErrorCode rc;
    unsigned bad;

    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    s = CU_add_suite("ctl", suite_init, suite_clean);
    CU_add_test(s, "text cells cut on code points", test_text_cells);
    CU_add_test(s, "show text", test_show_text);
    CU_add_test(s, "show --json", test_show_json);
    CU_add_test(s, "show unknown ticket", test_show_not_found);
    CU_add_test(s, "list filters", test_list_filters);
    CU_add_test(s, "list table alignment", test_list_alignment);
    CU_add_test(s, "list --json", test_list_json);
    CU_add_test(s, "JSON of hostile strings", test_json_escaping);
    CU_add_test(s, "status and maintenance", test_status_maintenance);
    CU_add_test(s, "usage errors", test_usage);
    CU_add_test(s, "raw verb", test_raw);
    CU_add_test(s, "outbox list, JSON, retry, status counts", test_outbox);
    CU_add_test(s, "control socket round trip", test_socket_roundtrip);
    CU_add_test(s, "control socket bad requests", test_serve_requests);
    CU_add_test(s, "postdeskctl check-config", test_binary_check_config);
    CU_add_test(s, "postdeskctl usage", test_binary_usage);
    CU_add_test(s, "postdeskctl daemon and no daemon", test_binary_store_paths);
    CU_add_test(s, "escalations and deadlines", test_escalations);
    CU_add_test(s, "watchers, revision, new-article star", test_commands_fields);
    CU_add_test(s, "agent-address", test_agent_address);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
