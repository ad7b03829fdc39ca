/*++
/* NAME
/*	test_conf 1
/* SUMMARY
/*	CUnit tests of the conf module
/* SYNOPSIS
/*	test_conf
/* DESCRIPTION
/*	Loads a full configuration and checks every getter; loads the
/*	contrib example (found through $POSTDESK_SOURCE_DIR); runs a table
/*	of bad files, each of which must be reported at the right line
/*	with the right phrase; checks address lookups, reference counts
/*	from several threads, and the value parsers of conf_private.h.
/* DIAGNOSTICS
/*	Exit status 0 when every test passed, 1 otherwise.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "util.h"
#include "conf.h"
#include "conf_private.h"

static char tmpdir[] = "/tmp/test_conf.XXXXXX";
static int file_seq;

/* write_conf - write text to a new file in tmpdir; mem_free() the name */

static char *write_conf(const char *text)
{
    char   *path = mem_printf("%s/c%d.conf", tmpdir, ++file_seq);
    FILE   *fp = fopen(path, "w");

    if (fp == 0)
	return (path);
    fputs(text, fp);
    fclose(fp);
    return (path);
}

/* load_text - load text; *errors_r is set on failure */

static struct conf *load_text(const char *text, char **path_r, char **errors_r)
{
    char   *path = write_conf(text);
    struct conf *conf = conf_load(path, errors_r);

    if (path_r)
	*path_r = path;
    else
	mem_free(path);
    return (conf);
}

static const char full_conf[] =
"# a full configuration, every key set\n"		/* 1 */
"; a semicolon comment\n"				/* 2 */
"[postdesk]\n"						/* 3 */
"domain = Desk.Example.ORG\n"				/* 4 */
"state_dir = /srv/postdesk\n"				/* 5 */
"listen = inet:127.0.0.1:2424\n"			/* 6 */
"milter_listen = unix:/run/postdesk/milter\n"		/* 7 */
"relay = [::1]:10025\n"					/* 8 */
"secret_file = /srv/postdesk/secret\n"			/* 9 */
"command_localpart = cmd\n"				/* 10 */
"ticket_hook = #\n"					/* 11 */
"system_id = 42\n"					/* 12 */
"language = EN\n"					/* 13 */
"max_message_size = 1048576\n"				/* 14 */
"auto_ack_limit = 3\n"					/* 15 */
"user = desk\n"						/* 16 */
"dedicated_domains = Help.Example.org; tickets.example.org\n"	/* 17 */
"instance = Desk-A.Example.org\n"
"authserv_id = mx.example.org\n"
"key_epoch = 7\n"
"token_max_age = 14\n"
"templates_dir = /srv/postdesk/templates\n"
"relay_tls = encrypt\n"
"relay_ca_file = /etc/ssl/certs/ca-certificates.crt\n"
"relay_user = desk\n"
"relay_password_file = /srv/postdesk/relay.pw\n"
"outbox_max_age = 3\n"
"milter_max_received = 40\n"
"milter_rate_sender = 0\n"
"milter_rate_client = 500\n"
"\n"
"[queue Helpdesk]\n"
"addresses = Helpdesk@Example.org ; support@example.org;\n"
"group = helpdesk\n"
"sla = standard\n"
"default_type = incident\n"
"follow_up_closed = reject\n"
"\n"
"[queue Network]\n"
"addresses = network@example.org\n"
"group = network\n"
"follow_up_closed = NEW\n"
"\n"
"[agent alice]\n"
"name = Alice Martin\n"
"email = Alice@Example.org;a.martin@example.org\n"
"groups = helpdesk;network\n"
"subscribe = Helpdesk;network;HELPDESK\n"
"language = fr\n"
"notify = new-ticket;lock;lock;escalation\n"
"out_of_office = 2026-12-21..2027-01-04; 2027-02-10\n"
"\n"
"[agent bob]\n"
"email = bob@example.org\n"
"active = NO\n"
"\n"
"[calendar working-days]\n"
"timezone = Europe/Zurich\n"
"hours = mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00\n"
"holidays = 2026-12-25;2027-01-01\n"
"\n"
"[sla standard]\n"
"calendar = working-days\n"
"first_response = 24h\n"
"update = 90m\n"
"solution = 5d\n"
"warn_at = 75\n"
"pause_when_pending = No\n"
"notify_outside_hours = yes\n";

/* vec_len - entries of a NULL-terminated vector */

static size_t vec_len(const char *const *vec)
{
    size_t  n = 0;

    while (vec && vec[n])
	n++;
    return (n);
}

/* test_full - every getter of a full file */

static void test_full(void)
{
    char   *errors = 0;
    char   *path;
    struct conf *conf = load_text(full_conf, &path, &errors);
    const struct conf_queue *q;
    const struct conf_agent *a;
    const struct conf_calendar *cal;
    const struct conf_sla *sla;

    if (errors)
	fprintf(stderr, "%s", errors);
    CU_ASSERT_PTR_NULL(errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_path(conf), path);
    CU_ASSERT_STRING_EQUAL(conf_domain(conf), "desk.example.org");
    CU_ASSERT_STRING_EQUAL(conf_state_dir(conf), "/srv/postdesk");
    CU_ASSERT_STRING_EQUAL(conf_listen(conf), "inet:127.0.0.1:2424");
    CU_ASSERT_STRING_EQUAL(conf_milter_listen(conf), "unix:/run/postdesk/milter");
    CU_ASSERT_STRING_EQUAL(conf_relay(conf), "[::1]:10025");
    CU_ASSERT_STRING_EQUAL(conf_secret_file(conf), "/srv/postdesk/secret");
    CU_ASSERT_STRING_EQUAL(conf_command_localpart(conf), "cmd");
    CU_ASSERT_STRING_EQUAL(conf_ticket_hook(conf), "#");
    CU_ASSERT_EQUAL(conf_system_id(conf), 42);
    CU_ASSERT_STRING_EQUAL(conf_language(conf), "en");
    CU_ASSERT_EQUAL(conf_max_message_size(conf), 1048576);
    CU_ASSERT_EQUAL(conf_auto_ack_limit(conf), 3);
    CU_ASSERT_STRING_EQUAL(conf_instance(conf), "desk-a.example.org");
    CU_ASSERT_STRING_EQUAL(conf_authserv_id(conf), "mx.example.org");
    CU_ASSERT_EQUAL(conf_key_epoch(conf), 7);
    CU_ASSERT_EQUAL(conf_token_max_age(conf), 14);
    CU_ASSERT_STRING_EQUAL(conf_templates_dir(conf), "/srv/postdesk/templates");
    CU_ASSERT_STRING_EQUAL(conf_relay_tls(conf), "encrypt");
    CU_ASSERT_STRING_EQUAL(conf_relay_ca_file(conf), "/etc/ssl/certs/ca-certificates.crt");
    CU_ASSERT_STRING_EQUAL(conf_relay_user(conf), "desk");
    CU_ASSERT_STRING_EQUAL(conf_relay_password_file(conf), "/srv/postdesk/relay.pw");
    CU_ASSERT_EQUAL(conf_outbox_max_age(conf), 3);
    CU_ASSERT_EQUAL(conf_milter_max_received(conf), 40);
    CU_ASSERT_EQUAL(conf_milter_rate_sender(conf), 0);
    CU_ASSERT_EQUAL(conf_milter_rate_client(conf), 500);
    CU_ASSERT_STRING_EQUAL(conf_user(conf), "desk");
    CU_ASSERT_EQUAL_FATAL(vec_len(conf_dedicated_domains(conf)), 2);
    CU_ASSERT_STRING_EQUAL(conf_dedicated_domains(conf)[0], "help.example.org");
    CU_ASSERT_STRING_EQUAL(conf_dedicated_domains(conf)[1], "tickets.example.org");

    /* Queues, in file order. */
    CU_ASSERT_EQUAL_FATAL(conf_queue_count(conf), 2);
    q = conf_queue_at(conf, 0);
    CU_ASSERT_STRING_EQUAL(q->name, "Helpdesk");
    CU_ASSERT_EQUAL_FATAL(vec_len(q->addresses), 2);
    CU_ASSERT_STRING_EQUAL(q->addresses[0], "helpdesk@example.org");
    CU_ASSERT_STRING_EQUAL(q->addresses[1], "support@example.org");
    CU_ASSERT_STRING_EQUAL(q->group, "helpdesk");
    CU_ASSERT_STRING_EQUAL(q->sla, "standard");
    CU_ASSERT_STRING_EQUAL(q->default_type, "Incident");
    CU_ASSERT_EQUAL(q->follow_up_closed, CONF_FOLLOW_UP_REJECT);
    q = conf_queue_at(conf, 1);
    CU_ASSERT_STRING_EQUAL(q->name, "Network");
    CU_ASSERT_PTR_NULL(q->sla);
    CU_ASSERT_STRING_EQUAL(q->default_type, "Service Request");
    CU_ASSERT_EQUAL(q->follow_up_closed, CONF_FOLLOW_UP_NEW);
    CU_ASSERT_PTR_NULL(conf_queue_at(conf, 2));
    CU_ASSERT_PTR_EQUAL(conf_queue_find(conf, "network"), q);
    CU_ASSERT_PTR_NULL(conf_queue_find(conf, "Printing"));

    /* Agents. */
    CU_ASSERT_EQUAL_FATAL(conf_agent_count(conf), 2);
    a = conf_agent_find(conf, "alice");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_EQUAL(conf_agent_at(conf, 0), a);
    CU_ASSERT_STRING_EQUAL(a->login, "alice");
    CU_ASSERT_STRING_EQUAL(a->name, "Alice Martin");
    CU_ASSERT_EQUAL_FATAL(vec_len(a->emails), 2);
    CU_ASSERT_STRING_EQUAL(a->emails[0], "alice@example.org");
    CU_ASSERT_STRING_EQUAL(a->emails[1], "a.martin@example.org");
    CU_ASSERT_EQUAL_FATAL(vec_len(a->groups), 2);
    CU_ASSERT_STRING_EQUAL(a->groups[1], "network");
    CU_ASSERT_EQUAL_FATAL(vec_len(a->subscribe), 2);
    CU_ASSERT_STRING_EQUAL(a->subscribe[0], "Helpdesk");
    CU_ASSERT_STRING_EQUAL(a->subscribe[1], "Network");	/* canonical */
    CU_ASSERT_STRING_EQUAL(a->language, "fr");
    CU_ASSERT_EQUAL_FATAL(vec_len(a->notify), 3);		/* duplicate dropped */
    CU_ASSERT_STRING_EQUAL(a->notify[0], "new-ticket");
    CU_ASSERT_STRING_EQUAL(a->notify[1], "lock");
    CU_ASSERT_STRING_EQUAL(a->notify[2], "escalation");
    CU_ASSERT_EQUAL_FATAL(a->n_out_of_office, 2);
    CU_ASSERT_EQUAL(a->out_of_office[0].start, 1797811200);	/* 2026-12-21 */
    CU_ASSERT_EQUAL(a->out_of_office[0].end, 1799020800);	/* 2027-01-04 */
    CU_ASSERT_EQUAL(a->out_of_office[1].start, 1802217600);	/* 2027-02-10 */
    CU_ASSERT_EQUAL(a->out_of_office[1].end, 1802217600);
    a = conf_agent_find(conf, "Bob");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_STRING_EQUAL(a->name, "bob");			/* default: login */
    CU_ASSERT_STRING_EQUAL(a->language, "en");		/* [postdesk] */
    CU_ASSERT_EQUAL(vec_len(a->notify), 9);			/* default: all */
    CU_ASSERT_EQUAL(vec_len(a->groups), 0);
    CU_ASSERT_EQUAL(vec_len(a->subscribe), 0);
    CU_ASSERT_EQUAL(a->n_out_of_office, 0);
    CU_ASSERT_EQUAL(a->active, 0);
    CU_ASSERT_EQUAL(conf_agent_find(conf, "alice")->active, 1);	/* default */
    /* Rights: groups against the queue's group. */
    CU_ASSERT_EQUAL(conf_agent_works(conf_agent_find(conf, "alice"),
				     conf_queue_find(conf, "Network")), 1);
    CU_ASSERT_EQUAL(conf_agent_works(a, conf_queue_find(conf, "Helpdesk")), 0);
    CU_ASSERT_EQUAL(conf_agent_works(0, conf_queue_find(conf, "Helpdesk")), 0);
    CU_ASSERT_EQUAL(conf_agent_works(a, 0), 0);

    /* Calendar and SLA. */
    cal = conf_calendar_find(conf, "working-days");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cal);
    CU_ASSERT_STRING_EQUAL(cal->name, "working-days");
    CU_ASSERT_STRING_EQUAL(cal->timezone, "Europe/Zurich");
    CU_ASSERT_STRING_EQUAL(cal->hours, "mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00");
    CU_ASSERT_EQUAL_FATAL(vec_len(cal->holidays), 2);
    CU_ASSERT_STRING_EQUAL(cal->holidays[1], "2027-01-01");
    sla = conf_sla_find(conf, "standard");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sla);
    CU_ASSERT_STRING_EQUAL(sla->calendar, "working-days");
    CU_ASSERT_STRING_EQUAL(sla->first_response, "24h");
    CU_ASSERT_STRING_EQUAL(sla->update, "90m");
    CU_ASSERT_STRING_EQUAL(sla->solution, "5d");
    CU_ASSERT_EQUAL(sla->warn_at, 75);
    CU_ASSERT_EQUAL(sla->pause_when_pending, 0);
    CU_ASSERT_EQUAL(sla->notify_outside_hours, 1);
    CU_ASSERT_PTR_NULL(conf_sla_find(conf, "gold"));
    CU_ASSERT_PTR_NULL(conf_calendar_find(conf, "nights"));

    conf_unref(&conf);
    CU_ASSERT_PTR_NULL(conf);
    mem_free(path);
}

/* test_defaults - a file with only the domain */

static void test_defaults(void)
{
    char   *errors = 0;
    struct conf *conf = load_text("[postdesk]\ndomain=d.example\n"
				  "[queue Q]\naddresses=q@d.example\ngroup=g\n"
				  "[calendar c]\ntimezone=UTC\n"
				  "[sla s]\ncalendar=c\nfirst_response=1h\n"
				  "solution=2d\n", 0, &errors);
    const struct conf_queue *q;
    const struct conf_sla *sla;

    CU_ASSERT_PTR_NULL(errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_state_dir(conf), "/var/lib/postdesk");
    CU_ASSERT_STRING_EQUAL(conf_listen(conf), "unix:/var/spool/postfix/private/postdesk");
    CU_ASSERT_STRING_EQUAL(conf_milter_listen(conf), "inet:127.0.0.1:8891");
    CU_ASSERT_STRING_EQUAL(conf_relay(conf), "127.0.0.1:25");
    CU_ASSERT_STRING_EQUAL(conf_secret_file(conf), "/etc/postdesk/secret");
    CU_ASSERT_STRING_EQUAL(conf_command_localpart(conf), "desk");
    CU_ASSERT_STRING_EQUAL(conf_ticket_hook(conf), "Ticket#");
    CU_ASSERT_EQUAL(conf_system_id(conf), 10);
    CU_ASSERT_STRING_EQUAL(conf_language(conf), "fr");
    CU_ASSERT_EQUAL(conf_max_message_size(conf), 26214400);
    CU_ASSERT_EQUAL(conf_auto_ack_limit(conf), 10);
    CU_ASSERT_STRING_EQUAL(conf_user(conf), "postdesk");
    CU_ASSERT_EQUAL(vec_len(conf_dedicated_domains(conf)), 0);
    /* Outbound, token and milter defaults. */
    CU_ASSERT_STRING_EQUAL(conf_instance(conf), conf_domain(conf));
    CU_ASSERT_STRING_EQUAL(conf_authserv_id(conf), conf_domain(conf));
    CU_ASSERT_STRING_EQUAL(conf_command_auth(conf), "none");
    CU_ASSERT_EQUAL(conf_key_epoch(conf), 0);
    CU_ASSERT_EQUAL(conf_token_max_age(conf), 30);
    CU_ASSERT_STRING_EQUAL(conf_templates_dir(conf), "/etc/postdesk/templates");
    CU_ASSERT_STRING_EQUAL(conf_relay_tls(conf), "none");
    CU_ASSERT_PTR_NULL(conf_relay_ca_file(conf));
    CU_ASSERT_PTR_NULL(conf_relay_user(conf));
    CU_ASSERT_PTR_NULL(conf_relay_password_file(conf));
    CU_ASSERT_EQUAL(conf_outbox_max_age(conf), 5);
    CU_ASSERT_EQUAL(conf_milter_max_received(conf), 30);
    CU_ASSERT_EQUAL(conf_milter_rate_sender(conf), 30);
    CU_ASSERT_EQUAL(conf_milter_rate_client(conf), 120);
    q = conf_queue_find(conf, "Q");
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_STRING_EQUAL(q->default_type, "Service Request");
    CU_ASSERT_EQUAL(q->follow_up_closed, CONF_FOLLOW_UP_REOPEN);
    CU_ASSERT_PTR_NULL(q->sla);
    CU_ASSERT_STRING_EQUAL(conf_calendar_find(conf, "c")->hours, "mon-fri 00:00-24:00");
    sla = conf_sla_find(conf, "s");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sla);
    CU_ASSERT_EQUAL(sla->warn_at, 80);
    CU_ASSERT_EQUAL(sla->pause_when_pending, 1);
    CU_ASSERT_EQUAL(sla->notify_outside_hours, 0);
    CU_ASSERT_PTR_NULL(sla->update);
    conf_unref(&conf);
}

/* test_example - contrib/postdesk.conf.example loads cleanly */

static void test_example(void)
{
    const char *src = getenv("POSTDESK_SOURCE_DIR");
    char   *path = mem_printf("%s/contrib/postdesk.conf.example", src ? src : ".");
    char   *errors = 0;
    struct conf *conf = conf_load(path, &errors);

    if (errors)
	fprintf(stderr, "%s", errors);
    CU_ASSERT_PTR_NULL(errors);
    mem_free(errors);
    mem_free(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_domain(conf), "desk.example.org");
    CU_ASSERT_STRING_EQUAL(conf_state_dir(conf), "/var/lib/postdesk");
    CU_ASSERT_STRING_EQUAL(conf_listen(conf), "unix:/var/spool/postfix/private/postdesk");
    CU_ASSERT_STRING_EQUAL(conf_relay(conf), "127.0.0.1:25");
    CU_ASSERT_STRING_EQUAL(conf_secret_file(conf), "/etc/postdesk/secret");
    CU_ASSERT_PTR_NOT_NULL(conf_queue_find(conf, "Helpdesk"));
    CU_ASSERT_PTR_NOT_NULL(conf_queue_find(conf, "Network"));
    CU_ASSERT_PTR_EQUAL(conf_queue_by_address(conf, "support@example.org"),
			conf_queue_find(conf, "Helpdesk"));
    CU_ASSERT_PTR_NOT_NULL(conf_agent_find(conf, "alice"));
    CU_ASSERT_PTR_NOT_NULL(conf_agent_find(conf, "bob"));
    CU_ASSERT_PTR_NOT_NULL(conf_calendar_find(conf, "working-days"));
    CU_ASSERT_PTR_NOT_NULL(conf_sla_find(conf, "standard"));
    conf_unref(&conf);
}

 /*
  * Bad files: each must fail, naming LINE and containing PHRASE.
  */
#define GOOD_HEAD "[postdesk]\ndomain = desk.example.org\n"	/* lines 1-2 */

static const struct bad_case {
    const char *label;
    const char *text;
    int     line;
    const char *phrase;
}       bad_cases[] = {
    {"unknown key", GOOD_HEAD "colour = blue\n", 3, "unknown key \"colour\""},
    {"unknown key in queue", GOOD_HEAD "[queue Q]\naddresses = q@x.org\n"
	"group = g\nqueue_colour = red\n", 6, "unknown key"},
    {"system_id out of range", GOOD_HEAD "system_id = 100\n", 3,
    "out of range (0..99)"},
    {"max_message_size too small", GOOD_HEAD "\nmax_message_size = 12\n", 4,
    "out of range"},
    {"auto_ack_limit not a number", GOOD_HEAD "auto_ack_limit = ten\n", 3,
    "not a number"},
    {"bad language", GOOD_HEAD "language = de\n", 3, "expected fr | en"},
    {"key_epoch out of range", GOOD_HEAD "key_epoch = 256\n", 3, "out of range"},
    {"token_max_age zero", GOOD_HEAD "token_max_age = 0\n", 3, "out of range"},
    {"relative templates_dir", GOOD_HEAD "templates_dir = tpl\n", 3,
    "not an absolute path"},
    {"bad relay_tls", GOOD_HEAD "relay_tls = always\n", 3, "relay_tls"},
    {"relay_user alone", GOOD_HEAD "relay_user = desk\n", 3, "go together"},
    {"bad instance", GOOD_HEAD "instance = not a host\n", 3, "instance"},
    {"outbox_max_age too long", GOOD_HEAD "outbox_max_age = 31\n", 3,
    "out of range"},
    {"milter_rate_sender not a number", GOOD_HEAD "milter_rate_sender = many\n", 3,
    "not a number"},
    {"bad listen", GOOD_HEAD "listen = tcp:1.2.3.4:5\n", 3, "listen: bad value"},
    {"relay port", GOOD_HEAD "relay = 127.0.0.1:99999\n", 3, "port must be"},
    {"relative state_dir", GOOD_HEAD "state_dir = var/lib\n", 3,
    "not an absolute path"},
    {"duplicate address across queues", GOOD_HEAD
	"[queue A]\naddresses = a@x.org;shared@x.org\ngroup = g\n"
	"[queue B]\naddresses = b@x.org; Shared@X.org\ngroup = g\n", 7,
    "shared@x.org is already used by [queue A] (line 4)"},
    {"duplicate address in one queue", GOOD_HEAD
	"[queue A]\naddresses = a@x.org;a@x.org\ngroup = g\n", 4,
    "already used"},
    {"queue address is the command address", GOOD_HEAD
	"[queue A]\naddresses = desk@desk.example.org\ngroup = g\n", 4,
    "command address"},
    {"queue address with extension", GOOD_HEAD
	"[queue A]\naddresses = a+b@x.org\ngroup = g\n", 4,
    "recipient delimiter"},
    {"bad queue address", GOOD_HEAD
	"[queue A]\naddresses = nobody\ngroup = g\n", 4, "expected local@domain"},
    {"missing queue group", GOOD_HEAD "[queue A]\naddresses = a@x.org\n", 3,
    "missing required key \"group\""},
    {"bad queue group", GOOD_HEAD
	"[queue A]\naddresses = a@x.org\ngroup = g;h\n", 5, "group: \"g;h\""},
    {"escaped newline in a value stays on one line", GOOD_HEAD
	"[queue A]\naddresses = a@x.org\ngroup = g\ndefault_type = Bug\\nX\n",
	6, "bad type \"Bug?X\""},
    {"bad default_type", GOOD_HEAD
	"[queue A]\naddresses = a@x.org\ngroup = g\ndefault_type = Bug\n", 6,
    "bad type \"Bug\""},
    {"bad follow_up_closed", GOOD_HEAD
	"[queue A]\naddresses = a@x.org\ngroup = g\nfollow_up_closed = drop\n", 6,
    "expected reopen | reject | new"},
    {"unknown sla", GOOD_HEAD
	"[queue A]\naddresses = a@x.org\ngroup = g\nsla = gold\n", 6,
    "unknown sla \"gold\""},
    {"duplicate agent email", GOOD_HEAD
	"[agent a]\nemail = same@x.org\n[agent b]\nemail = SAME@x.org\n", 6,
    "same@x.org is already used by [agent a] (line 4)"},
    {"agent email is a queue address", GOOD_HEAD
	"[queue A]\naddresses = a@x.org\ngroup = g\n[agent a]\nemail = a@x.org\n", 7,
    "already used by [queue A]"},
    {"missing agent email", GOOD_HEAD "\n[agent a]\nname = A\n", 4,
    "missing required key \"email\""},
    {"subscribe without rights", GOOD_HEAD
	"[queue Net]\naddresses = net@x.org\ngroup = network\n"
	"[agent a]\nemail = a@x.org\ngroups = helpdesk\nsubscribe = Net\n", 9,
    "may not subscribe to queue Net"},
    {"subscribe to unknown queue", GOOD_HEAD
	"[agent a]\nemail = a@x.org\nsubscribe = Nowhere\n", 5,
    "unknown queue \"Nowhere\""},
    {"bad notify event", GOOD_HEAD
	"[agent a]\nemail = a@x.org\nnotify = lock;everything\n", 5,
    "unknown event \"everything\""},
    {"bad agent active", GOOD_HEAD
	"[agent a]\nemail = a@x.org\nactive = maybe\n", 5, "active: bad value"},
    {"bad command_auth", "[postdesk]\ndomain = x.org\ncommand_auth = spf\n", 3,
    "command_auth: bad value"},
    {"bad agent language", GOOD_HEAD
	"[agent a]\nemail = a@x.org\nlanguage = de\n", 5, "language: bad value"},
    {"out_of_office backwards", GOOD_HEAD
	"[agent a]\nemail = a@x.org\nout_of_office = 2027-01-04..2026-12-21\n", 5,
    "out_of_office: bad period"},
    {"out_of_office bad date", GOOD_HEAD
	"[agent a]\nemail = a@x.org\nout_of_office = 2026-02-30..2026-03-02\n", 5,
    "out_of_office: bad period"},
    {"bad duration", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"[sla s]\ncalendar = c\nfirst_response = 24\nsolution = 5d\n", 7,
    "bad duration \"24\""},
    {"zero duration", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"[sla s]\ncalendar = c\nfirst_response = 1h\nsolution = 0d\n", 8,
    "bad duration"},
    {"warn_at out of range", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"[sla s]\ncalendar = c\nfirst_response = 1h\nsolution = 1d\n"
	"warn_at = 101\n", 9, "out of range (1..100)"},
    {"pause_when_pending not yes/no", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"[sla s]\ncalendar = c\nfirst_response = 1h\nsolution = 1d\n"
	"pause_when_pending = maybe\n", 9, "pause_when_pending: bad value \"maybe\""},
    {"unknown calendar", GOOD_HEAD
	"[sla s]\ncalendar = nights\nfirst_response = 1h\nsolution = 1d\n", 4,
    "unknown calendar \"nights\""},
    {"missing sla solution", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"[sla s]\ncalendar = c\nfirst_response = 1h\n", 5,
    "missing required key \"solution\""},
    {"bad hours overlap", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"hours = mon-fri 08:00-12:00; wed 11:00-13:00\n", 5, "bad hours"},
    {"bad hours time", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"hours = mon-fri 08:00-24:30\n", 5, "bad time range"},
    {"bad hours day", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"hours = monday 08:00-17:00\n", 5, "bad day"},
    {"unknown timezone", GOOD_HEAD "[calendar c]\ntimezone = Europe/Atlantis\n",
	4, "unknown time zone \"Europe/Atlantis\""},
    {"missing timezone", GOOD_HEAD "[calendar c]\nhours = mon 08:00-09:00\n",
	3, "missing required key \"timezone\""},
    {"bad holiday", GOOD_HEAD "[calendar c]\ntimezone = UTC\n"
	"holidays = 2026-12-25;25.12.2026\n", 5, "bad date \"25.12.2026\""},
    {"missing domain", "# no domain\n[postdesk]\nsystem_id = 1\n", 2,
    "missing required key \"domain\""},
    {"missing postdesk section", "[queue A]\naddresses = a@x.org\ngroup = g\n",
	1, "missing [postdesk] section"},
    {"unknown section", GOOD_HEAD "\n[mailbox x]\nfoo = 1\n", 4,
    "unknown section type in [mailbox x]"},
    {"section without name", GOOD_HEAD "[queue]\n", 3, "queue name"},
    {"names differing in case", GOOD_HEAD
	"[queue A]\naddresses = a@x.org\ngroup = g\n"
	"[queue a]\naddresses = b@x.org\ngroup = g\n", 6, "differs only in case"},
    {"key given twice", GOOD_HEAD "system_id = 1\nsystem_id = 2\n", 4,
    "given twice"},
    {"trailing comment on header", GOOD_HEAD "[queue A] # the help desk\n", 3,
    "comments must stand on their own line"},
    {"trailing comment after value", GOOD_HEAD
	"[queue A]\naddresses = a@x.org\ngroup = helpdesk   # agents\n", 5,
    "comments must stand on their own line"},
    {"line without =", GOOD_HEAD "just some words\n", 3,
    "not \"key = value\""},
    {"key before any section", "domain = x.org\n" GOOD_HEAD, 1,
    "key outside any section"},
    {"bad command_localpart", GOOD_HEAD "command_localpart = desk+x\n", 3,
    "command_localpart"},
};

/* test_bad_files - the table above */

static void test_bad_files(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
	const struct bad_case *bc = &bad_cases[i];
	char   *path;
	char   *errors = 0;
	struct conf *conf = load_text(bc->text, &path, &errors);
	char   *want = mem_printf("%s:%d: ", path, bc->line);
	int     ok = (conf == 0 && errors != 0 && strstr(errors, want) != 0
		      && strstr(errors, bc->phrase) != 0);

	if (!ok)
	    fprintf(stderr, "\ncase \"%s\": want \"%s\" ... \"%s\", got:\n%s",
		    bc->label, want, bc->phrase, errors ? errors : "(no error)\n");
	CU_ASSERT(ok);
	conf_unref(&conf);
	mem_free(errors);
	mem_free(want);
	mem_free(path);
    }
}

/* count_lines - lines in a text */

static int count_lines(const char *text)
{
    int     n = 0;

    for (; text && *text; text++)
	n += (*text == '\n');
    return (n);
}

/* test_all_reported - every problem, in line order */

static void test_all_reported(void)
{
    char   *errors = 0;
    char   *path;
    struct conf *conf = load_text(
		      "[postdesk]\n"				/* 1 */
		      "system_id = 100\n"			/* 2 */
		      "colour = blue\n"				/* 3 */
		      "[queue A]\n"				/* 4 */
		      "addresses = a@x.org\n"			/* 5 */
		      "group = g\n"				/* 6 */
		      "[queue B]\n"				/* 7 */
		      "addresses = a@x.org\n"			/* 8 */
		      "group = g\n"				/* 9 */
		      "[calendar c]\n"				/* 10 */
		      "timezone = Nowhere/Land\n"		/* 11 */
		      "[sla s]\n"				/* 12 */
		      "calendar = c\n"				/* 13 */
		      "first_response = soon\n"			/* 14 */
		      "solution = 1d\n", &path, &errors);
    char   *expect[6];

    CU_ASSERT_PTR_NULL(conf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errors);
    CU_ASSERT_EQUAL(count_lines(errors), 6);
    expect[0] = mem_printf("%s:1: [postdesk]: missing required key \"domain\"", path);
    expect[1] = mem_printf("%s:2: system_id:", path);
    expect[2] = mem_printf("%s:3: unknown key", path);
    expect[3] = mem_printf("%s:8: addresses: a@x.org is already used", path);
    expect[4] = mem_printf("%s:11: timezone:", path);
    expect[5] = mem_printf("%s:14: first_response: bad duration", path);
    {
	const char *prev = errors;

	for (int i = 0; i < 6; i++) {
	    const char *hit = strstr(errors, expect[i]);

	    CU_ASSERT_PTR_NOT_NULL(hit);
	    CU_ASSERT(hit == 0 || hit >= prev);	/* line order */
	    if (hit)
		prev = hit;
	    mem_free(expect[i]);
	}
    }
    mem_free(errors);
    mem_free(path);
}

/* test_unreadable - LINE 0 when the file cannot be read */

static void test_unreadable(void)
{
    char   *path = mem_printf("%s/does-not-exist.conf", tmpdir);
    char   *want = mem_printf("%s:0: ", path);
    char   *errors = 0;
    struct conf *conf = conf_load(path, &errors);

    CU_ASSERT_PTR_NULL(conf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errors);
    CU_ASSERT_PTR_NOT_NULL(strstr(errors, want));
    mem_free(errors);
    mem_free(want);
    mem_free(path);
}

/* test_by_address - case and +extension */

static void test_by_address(void)
{
    char   *errors = 0;
    struct conf *conf = load_text(full_conf, 0, &errors);
    const struct conf_queue *help;
    const struct conf_agent *alice;

    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    help = conf_queue_find(conf, "Helpdesk");
    CU_ASSERT_PTR_EQUAL(conf_queue_by_address(conf, "helpdesk@example.org"), help);
    CU_ASSERT_PTR_EQUAL(conf_queue_by_address(conf, "HelpDesk@EXAMPLE.org"), help);
    CU_ASSERT_PTR_EQUAL(conf_queue_by_address(conf, "support+urgent@example.org"), help);
    CU_ASSERT_PTR_EQUAL(conf_queue_by_address(conf, "Support+A+B@Example.Org"), help);
    CU_ASSERT_PTR_EQUAL(conf_queue_by_address(conf, "<support@example.org>"), help);
    CU_ASSERT_PTR_EQUAL(conf_queue_by_address(conf, "network@example.org"),
			conf_queue_find(conf, "Network"));
    CU_ASSERT_PTR_NULL(conf_queue_by_address(conf, "helpdesk@example.com"));
    CU_ASSERT_PTR_NULL(conf_queue_by_address(conf, "helpdesk2@example.org"));
    CU_ASSERT_PTR_NULL(conf_queue_by_address(conf, "helpdesk"));
    CU_ASSERT_PTR_NULL(conf_queue_by_address(conf, ""));
    CU_ASSERT_PTR_NULL(conf_queue_by_address(conf, "+@example.org"));
    CU_ASSERT_PTR_NULL(conf_queue_by_address(conf, 0));
    CU_ASSERT_PTR_NULL(conf_queue_by_address(conf, "cmd@desk.example.org"));

    alice = conf_agent_find(conf, "alice");
    CU_ASSERT_PTR_EQUAL(conf_agent_by_email(conf, "ALICE@example.org"), alice);
    CU_ASSERT_PTR_EQUAL(conf_agent_by_email(conf, "a.martin@example.org"), alice);
    CU_ASSERT_PTR_EQUAL(conf_agent_by_email(conf, "bob@example.org"),
			conf_agent_find(conf, "bob"));
    CU_ASSERT_PTR_NULL(conf_agent_by_email(conf, "carol@example.org"));
    CU_ASSERT_PTR_NULL(conf_agent_by_email(conf, 0));
    conf_unref(&conf);
}

/* test_type_canonical - ticket type spellings */

static void test_type_canonical(void)
{
    CU_ASSERT_STRING_EQUAL(conf_type_canonical("incident"), "Incident");
    CU_ASSERT_STRING_EQUAL(conf_type_canonical("PROBLEM"), "Problem");
    CU_ASSERT_STRING_EQUAL(conf_type_canonical("service request"), "Service Request");
    CU_ASSERT_PTR_NULL(conf_type_canonical("service-request"));
    CU_ASSERT_PTR_NULL(conf_type_canonical("Bug"));
    CU_ASSERT_PTR_NULL(conf_type_canonical(""));
    CU_ASSERT_PTR_NULL(conf_type_canonical(0));
}

static struct conf *shared_conf;

/* reader - take and drop references while reading */

static void *reader(void *arg)
{
    long    bad = 0;

    (void) arg;
    for (int i = 0; i < 20000; i++) {
	struct conf *c = conf_ref(shared_conf);

	if (conf_queue_by_address(c, "support+x@example.org") == 0
	    || strcmp(conf_domain(c), "desk.example.org") != 0)
	    bad++;
	conf_unref(&c);
	if (c != 0)
	    bad++;
    }
    return ((void *) bad);
}

/* test_refcount - references from several threads */

static void test_refcount(void)
{
    char   *errors = 0;
    struct conf *conf = load_text(full_conf, 0, &errors);
    struct conf *extra;
    pthread_t tid[4];
    long    bad = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    extra = conf_ref(conf);
    CU_ASSERT_PTR_EQUAL(extra, conf);
    conf_unref(&extra);
    CU_ASSERT_PTR_NULL(extra);
    /* Still alive: the first reference remains. */
    CU_ASSERT_STRING_EQUAL(conf_domain(conf), "desk.example.org");

    shared_conf = conf;
    for (int i = 0; i < 4; i++)
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], 0, reader, 0), 0);
    for (int i = 0; i < 4; i++) {
	void   *ret;

	pthread_join(tid[i], &ret);
	bad += (long) ret;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_STRING_EQUAL(conf_domain(conf), "desk.example.org");
    conf_unref(&conf);
    CU_ASSERT_PTR_NULL(conf);
    conf_unref(&conf);				/* NULL handle: no-op */
    conf_unref(0);
}

/* test_hours - conf_hours_parse */

static void test_hours(void)
{
    struct conf_hours h;
    char   *why = 0;

    CU_ASSERT_EQUAL_FATAL(conf_hours_parse("mon-fri 13:00-17:00,08:00-12:00; "
					   "SAT 09:00-12:00;sun 00:00-24:00",
					   &h, &why), 0);
    CU_ASSERT_EQUAL(h.n[0], 2);
    CU_ASSERT_EQUAL(h.iv[0][0].start, 8 * 60);		/* sorted */
    CU_ASSERT_EQUAL(h.iv[0][0].end, 12 * 60);
    CU_ASSERT_EQUAL(h.iv[0][1].start, 13 * 60);
    CU_ASSERT_EQUAL(h.n[4], 2);
    CU_ASSERT_EQUAL(h.n[5], 1);
    CU_ASSERT_EQUAL(h.iv[5][0].start, 9 * 60);
    CU_ASSERT_EQUAL(h.n[6], 1);
    CU_ASSERT_EQUAL(h.iv[6][0].end, 1440);
    CU_ASSERT_EQUAL(conf_hours_parse("mon,wed,fri 08:00-12:00; mon 12:00-13:00",
				     &h, &why), 0);		/* touching */
    CU_ASSERT_EQUAL(h.n[0], 2);
    CU_ASSERT_EQUAL(h.n[1], 0);
    CU_ASSERT_EQUAL(h.n[2], 1);

    {
	static const char *const bad[] = {
	    "", "mon-fri", "mon-fri 8:00-12:00", "mon-fri 12:00-08:00",
	    "mon-fri 08:00-08:00", "sun-mon 08:00-09:00", "xyz 08:00-09:00",
	    "mon 08:00-12:00,11:59-13:00", "mon 08:60-09:00", "mon 25:00-26:00",
	    "mon 08:00-12:00 extra", "mon 08:00", 0,
	};

	for (const char *const *bp = bad; *bp; bp++) {
	    why = 0;
	    CU_ASSERT_EQUAL(conf_hours_parse(*bp, &h, &why), -1);
	    CU_ASSERT_PTR_NOT_NULL(why);
	    mem_free(why);
	}
    }
}

/* test_values - durations, dates, addresses, endpoints */

static void test_values(void)
{
    int64_t v;
    const char *why;

    CU_ASSERT(conf_duration_minutes("30m", &v) == 0 && v == 30);
    CU_ASSERT(conf_duration_minutes("24h", &v) == 0 && v == 1440);
    CU_ASSERT(conf_duration_minutes("5d", &v) == 0 && v == 7200);
    CU_ASSERT(conf_duration_minutes("366d", &v) == 0);
    CU_ASSERT_EQUAL(conf_duration_minutes("367d", &v), -1);
    CU_ASSERT_EQUAL(conf_duration_minutes("0m", &v), -1);
    CU_ASSERT_EQUAL(conf_duration_minutes("05m", &v), -1);
    CU_ASSERT_EQUAL(conf_duration_minutes("5", &v), -1);
    CU_ASSERT_EQUAL(conf_duration_minutes("5w", &v), -1);
    CU_ASSERT_EQUAL(conf_duration_minutes("5hh", &v), -1);
    CU_ASSERT_EQUAL(conf_duration_minutes("-5h", &v), -1);
    CU_ASSERT_EQUAL(conf_duration_minutes("99999999999999999999m", &v), -1);

    CU_ASSERT(conf_date_parse("1970-01-02", &v) == 0 && v == 86400);
    CU_ASSERT(conf_date_parse("2028-02-29", &v) == 0);
    CU_ASSERT_EQUAL(conf_date_parse("2027-02-29", &v), -1);
    CU_ASSERT_EQUAL(conf_date_parse("2027-1-02", &v), -1);
    CU_ASSERT_EQUAL(conf_date_parse("2027-01-02x", &v), -1);

    CU_ASSERT_EQUAL(conf_address_check("a.b-c@x.example", 1, &why), 0);
    CU_ASSERT_EQUAL(conf_address_check("a+b@x.example", 0, &why), 0);
    CU_ASSERT_EQUAL(conf_address_check("a+b@x.example", 1, &why), -1);
    CU_ASSERT_EQUAL(conf_address_check("@x.example", 0, &why), -1);
    CU_ASSERT_EQUAL(conf_address_check("a@", 0, &why), -1);
    CU_ASSERT_EQUAL(conf_address_check("a b@x.example", 0, &why), -1);
    CU_ASSERT_EQUAL(conf_address_check("a..b@x.example", 0, &why), -1);
    CU_ASSERT_EQUAL(conf_address_check("a@x..example", 0, &why), -1);
    CU_ASSERT_EQUAL(conf_address_check("a@-x.example", 0, &why), -1);

    CU_ASSERT_EQUAL(conf_endpoint_check("unix:/run/x", 1, &why), 0);
    CU_ASSERT_EQUAL(conf_endpoint_check("inet:127.0.0.1:2424", 1, &why), 0);
    CU_ASSERT_EQUAL(conf_endpoint_check("inet:[::1]:2424", 1, &why), 0);
    CU_ASSERT_EQUAL(conf_endpoint_check("unix:run/x", 1, &why), -1);
    CU_ASSERT_EQUAL(conf_endpoint_check("inet:127.0.0.1", 1, &why), -1);
    CU_ASSERT_EQUAL(conf_endpoint_check("127.0.0.1:25", 1, &why), -1);
    CU_ASSERT_EQUAL(conf_endpoint_check("127.0.0.1:25", 0, &why), 0);
    CU_ASSERT_EQUAL(conf_endpoint_check("localhost:0", 0, &why), -1);
    CU_ASSERT_EQUAL(conf_endpoint_check("::1:25", 0, &why), -1);
}

/* suite_init - a private temporary directory */

static int suite_init(void)
{
    return (mkdtemp(tmpdir) ? 0 : -1);
}

/* suite_clean - remove the files we wrote */

static int suite_clean(void)
{
    for (int i = 1; i <= file_seq; i++) {
	char   *path = mem_printf("%s/c%d.conf", tmpdir, i);

	unlink(path);
	mem_free(path);
    }
    return (rmdir(tmpdir));
}

/* test_test_clock - refused without the environment variable */

static void test_test_clock(void)
{
    static const char text[] = "[postdesk]\ndomain = desk.example.org\n"
	"test_clock = 2027-03-08T16:05:00Z\n";
    static const char bad[] = "[postdesk]\ndomain = desk.example.org\n"
	"test_clock = 2027-03-08\n";
    struct conf *conf;
    char   *errors = 0;

    unsetenv("POSTDESK_ALLOW_TEST_CLOCK");
    conf = load_text(text, 0, &errors);
    CU_ASSERT_PTR_NULL(conf);
    CU_ASSERT_PTR_NOT_NULL(errors && strstr(errors, ":3: test_clock: refused"));
    mem_free(errors);
    errors = 0;
    setenv("POSTDESK_ALLOW_TEST_CLOCK", "yes", 1);
    CU_ASSERT_PTR_NULL(load_text(text, 0, &errors));
    mem_free(errors);
    errors = 0;
    setenv("POSTDESK_ALLOW_TEST_CLOCK", "1", 1);
    conf = load_text(text, 0, &errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_EQUAL(conf_test_clock(conf), 1804521900);
    conf_unref(&conf);
    CU_ASSERT_PTR_NULL(load_text(bad, 0, &errors));
    CU_ASSERT_PTR_NOT_NULL(errors && strstr(errors, "not an RFC 3339 instant"));
    mem_free(errors);
    errors = 0;
    unsetenv("POSTDESK_ALLOW_TEST_CLOCK");
    conf = load_text("[postdesk]\ndomain = desk.example.org\n", 0, &errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_EQUAL(conf_test_clock(conf), 0);
    conf_unref(&conf);
}

int     main(void)
{
    CU_pSuite s;
    CU_ErrorCode rc;
    unsigned bad;

    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    s = CU_add_suite("conf", suite_init, suite_clean);
    CU_add_test(s, "full file, every getter", test_full);
    CU_add_test(s, "defaults", test_defaults);
    CU_add_test(s, "contrib example loads", test_example);
    CU_add_test(s, "bad files name line and problem", test_bad_files);
    CU_add_test(s, "every problem reported, in line order", test_all_reported);
    CU_add_test(s, "unreadable file is line 0", test_unreadable);
    CU_add_test(s, "queue by address: case and +extension", test_by_address);
    CU_add_test(s, "ticket type canonical spelling", test_type_canonical);
    CU_add_test(s, "reference counting across threads", test_refcount);
    CU_add_test(s, "working hours parser", test_hours);
    CU_add_test(s, "durations, dates, addresses, endpoints", test_values);
    CU_add_test(s, "test_clock needs POSTDESK_ALLOW_TEST_CLOCK", test_test_clock);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
