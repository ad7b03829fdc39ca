/*++
/* NAME
/*	test_command 1
/* SUMMARY
/*	unit tests of the command-language parser (lmtpd/command.c)
/* SYNOPSIS
/*	test_command
/* DESCRIPTION
/*	A table of mail texts (every command, aliases, argument errors,
/*	the block's end markers, comments, conflicts, Unicode tricks,
/*	control characters, CRLF, Outlook and Thunderbird reply layouts
/*	in French, English and German) with the expected number of
/*	commands or the expected error (line and phrase) and where the
/*	agent's own text starts. Then the parsed arguments of each
/*	command, the 50-command and line-length limits, the error cap,
/*	and random input (which must not crash, also under ASan/UBSan).
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "util.h"
#include "command.h"

#define ZWSP	"\xe2\x80\x8b"		/* U+200B */
#define RLO	"\xe2\x80\xae"		/* U+202E */
#define LRI	"\xe2\x81\xa6"		/* U+2066 */
#define WJ	"\xe2\x81\xa0"		/* U+2060 */
#define BOM	"\xef\xbb\xbf"		/* U+FEFF */
#define NBSP	"\xc2\xa0"
#define FWHASH	"\xef\xbc\x83"		/* U+FF03 */
#define ERR	(-1)

static const struct parse_case {
    const char *name;
    const char *text;
    int     commands;			/* ERR: an error is expected */
    unsigned err_line;			/* for ERR */
    const char *phrase;			/* for ERR: part of the message */
    const char *text_at;		/* agent text starts here; "" = end */
} cases[] = {
    /* every command */
    {"note", "#note\nHello", 1, 0, 0, "Hello"},
    {"reply", "#reply\nDear customer", 1, 0, 0, "Dear customer"},
    {"template", "#template password-reset\n\nText", 1, 0, 0, "Text"},
    {"take", "#take\n", 1, 0, 0, ""},
    {"owner agent", "#owner alice\n", 1, 0, 0, ""},
    {"owner none", "#owner none", 1, 0, 0, ""},
    {"lock", "#lock\nx", 1, 0, 0, "x"},
    {"unlock", "#unlock\nx", 1, 0, 0, "x"},
    {"queue", "#queue Billing\nx", 1, 0, 0, "x"},
    {"type", "#type service request\n", 1, 0, 0, ""},
    {"priority digit", "#priority 4\n", 1, 0, 0, ""},
    {"priority name", "#priority very high\n", 1, 0, 0, ""},
    {"priority French", "#priority tr\xc3\xa8s basse\n", 1, 0, 0, ""},
    {"state multi-word", "#state pending auto close\n", 1, 0, 0, ""},
    {"pending date", "#pending 2026-12-24\n", 1, 0, 0, ""},
    {"pending date time", "#pending 2026-12-24 09:30\n", 1, 0, 0, ""},
    {"pending relative", "#pending +3d\n", 1, 0, 0, ""},
    {"watch self", "#watch\n", 1, 0, 0, ""},
    {"unwatch others", "#unwatch bob, carol\n", 1, 0, 0, ""},
    {"inform", "#inform bob carol\nFYI", 1, 0, 0, "FYI"},
    {"title", "#title Printer on fire, 2nd floor\n", 1, 0, 0, ""},
    {"merge", "#merge 2026112710000017\n", 1, 0, 0, ""},
    {"merge into", "#merge into 2026112710000017\n", 1, 0, 0, ""},
    {"confirm", "#confirm k7q2\n", 1, 0, 0, ""},
    {"expect", "#expect owner=none\n", 1, 0, 0, ""},
    {"force", "#force\n", 1, 0, 0, ""},
    {"dry-run", "#dry-run\n", 1, 0, 0, ""},
    {"help", "#help\n", 1, 0, 0, ""},
    {"list", "#list\n", 1, 0, 0, ""},
    {"a full block", "#take\n#reply\n#priority high\n#state open\n"
     "#queue Support\n\nDear customer,\n", 5, 0, 0, "Dear customer"},
    /* aliases and case */
    {"aliases", "#comment\n#assign bob\n#move Sales\n#status closed\n"
     "#prio 2\n#subject New title\n#preview\n", 7, 0, 0, ""},
    {"alias internal and public", "#internal\n#public\n", ERR, 2,
     "cannot go with", 0},
    {"keyword case", "#TAKE\n#Reply\n#PrIoRiTy LOW\n", 3, 0, 0, ""},
    {"dryrun alias", "#dryrun\n", 1, 0, 0, ""},
    /* argument errors */
    {"template missing", "#template\n", ERR, 1, "needs a template name", 0},
    {"template path", "#template ../../etc/passwd\n", ERR, 1,
     "bad template name", 0},
    {"take with argument", "#take now\n", ERR, 1, "takes no arguments", 0},
    {"owner missing", "#owner\n", ERR, 1, "needs an agent", 0},
    {"owner two", "#owner alice bob\n", ERR, 1, "takes one agent", 0},
    {"owner bad login", "#owner al;ice\n", ERR, 1, "bad agent login", 0},
    {"queue missing", "#queue   \n", ERR, 1, "needs a queue name", 0},
    {"type unknown", "#type Banana\n", ERR, 1, "bad type", 0},
    {"priority zero", "#priority 0\n", ERR, 1, "bad priority", 0},
    {"priority six", "#priority 6\n", ERR, 1, "bad priority", 0},
    {"priority disagreeing", "#priority 3 high\n", ERR, 1, "bad priority", 0},
    {"state unknown", "#state closed-ish\n", ERR, 1, "bad state", 0},
    {"pending bad date", "#pending 2026-02-30\n", ERR, 1, "bad pending", 0},
    {"pending bad unit", "#pending +3y\n", ERR, 1, "bad pending", 0},
    {"pending too far", "#pending +99999d\n", ERR, 1, "bad pending", 0},
    {"pending bad hour", "#pending 2026-12-24 24:00\n", ERR, 1,
     "bad pending", 0},
    {"inform nobody", "#inform\n", ERR, 1, "at least one agent", 0},
    {"watch bad login", "#watch b\xc3\xb6" "b\n", ERR, 1,
     "bad agent login", 0},
    {"title missing", "#title\n", ERR, 1, "needs a title", 0},
    {"merge letters", "#merge 12a4\n", ERR, 1, "bad ticket number", 0},
    {"merge missing", "#merge into\n", ERR, 1, "needs a ticket number", 0},
    {"confirm short", "#confirm ab\n", ERR, 1, "bad code", 0},
    {"expect no equals", "#expect owner\n", ERR, 1, "FIELD=VALUE", 0},
    {"expect unknown field", "#expect color=red\n", ERR, 1,
     "unknown field", 0},
    {"expect bad value", "#expect state=sleeping\n", ERR, 1, "bad value", 0},
    {"end with argument", "#end now\n", ERR, 1, "#end takes no", 0},
    {"unknown keyword", "#take\n#stauts closed\n", ERR, 2,
     "unknown command \"#stauts\"", 0},
    {"requester-like text", "#1 priority for me: fix the VPN!\n", ERR, 1,
     "unknown command \"#1\"", 0},
    {"hash alone", "#\n", ERR, 1, "without a command name", 0},
    /* conflicts */
    {"note and reply", "#note\n#reply\n", ERR, 2, "cannot go with", 0},
    {"note and template", "#template x\n#note\n", ERR, 2, "cannot go with", 0},
    {"take and owner", "#take\n#owner bob\n", ERR, 2, "cannot go with", 0},
    {"lock and unlock", "#lock\n#unlock\n", ERR, 2, "cannot go with", 0},
    {"state and pending", "#pending +1d\n#state open\n", ERR, 2,
     "cannot go with", 0},
    {"pending state and pending time", "#state pending auto close\n#pending +3d\n",
     2, 0, 0, ""},
    {"two states", "#state open\n#status closed\n", ERR, 2, "given twice", 0},
    {"two priorities", "#priority 1\n#priority 2\n", ERR, 2, "given twice", 0},
    {"watch and unwatch me", "#watch\n#unwatch\n", ERR, 2, "same agent", 0},
    {"watch and unwatch same", "#watch bob\n#unwatch carol BOB\n", ERR, 2,
     "same agent", 0},
    {"watch and unwatch others", "#watch bob\n#unwatch carol\n", 2, 0, 0, ""},
    {"expect same field", "#expect state=open\n#expect STATE = new\n", ERR, 2,
     "given twice", 0},
    {"two expects", "#expect state=open\n#expect owner=none\n", 2, 0, 0, ""},
    {"two informs", "#inform bob\n#inform carol\n", 2, 0, 0, ""},
    /* end markers and comments */
    {"blank line ends", "#take\n\n#close\n", 1, 0, 0, "#close"},
    {"whitespace line ends", "#take\n \t\n#state open\n", 1, 0, 0,
     "#state open"},
    {"#end ends", "#take\n#END\n#state open\n", 1, 0, 0, "#state open"},
    {"#end then blank", "#take\n#end\n\n\nText\n", 1, 0, 0, "Text"},
    {"signature ends", "#take\n-- \nAlice\n#state closed\n", 1, 0, 0, "-- "},
    {"prose ends", "#take\nDone. #state closed\n#lock\n", 1, 0, 0, "Done."},
    {"comments", "## handled by phone\n#take\n## see ticket 12\n", 1, 0, 0,
     ""},
    {"comment only", "## just a remark\n\nText", 0, 0, 0, "Text"},
    {"leading blank lines", "\n\r\n  \n#take\nText", 1, 0, 0, "Text"},
    {"no block", "Hello,\n#take\n", 0, 0, 0, 0},
    {"empty text", "", 0, 0, 0, 0},
    {"BOM before the block", BOM "#take\nText", 1, 0, 0, "Text"},
    /* CRLF */
    {"CRLF", "#take\r\n#priority 5\r\n\r\nText\r\n", 2, 0, 0, "Text"},
    {"lone CR", "#take\r#state closed\n", ERR, 1, "control character", 0},
    /* Unicode tricks and control characters */
    {"zero-width in keyword", "#cl" ZWSP "ose\n", ERR, 1, "U+200B", 0},
    {"zero-width before #", ZWSP "#take\n", ERR, 1, "invisible", 0},
    {"word joiner in argument", "#owner bo" WJ "b\n", ERR, 1, "U+2060", 0},
    {"bidi override", "#title " RLO "gnissim\n", ERR, 1, "U+202E", 0},
    {"bidi isolate", "#queue " LRI "Sales\n", ERR, 1, "U+2066", 0},
    {"BOM inside a line", "#take" BOM "\n", ERR, 1, "U+FEFF", 0},
    {"fullwidth #", FWHASH "state closed\n", ERR, 1, "U+FF03", 0},
    {"fullwidth # after a command", "#take\n" FWHASH "state closed\n", ERR, 2,
     "U+FF03", 0},
    {"NBSP between # and keyword", "#" NBSP "take\n", ERR, 1,
     "without a command name", 0},
    {"NBSP as argument separator", "#priority" NBSP "high" NBSP "\n", 1, 0, 0,
     ""},
    {"blanks before #", "  #take\n", ERR, 1, "blanks before", 0},
    {"invisible-only line", "#take\n" ZWSP "\n#lock\n", ERR, 2, "invisible", 0},
    {"NUL-like control", "#title a\x01" "b\n", ERR, 1, "control character", 0},
    {"escape sequence", "#title \x1b[31mred\n", ERR, 1, "U+001B", 0},
    {"C1 control", "#title a\xc2\x85" "b\n", ERR, 1, "U+0085", 0},
    {"invalid UTF-8", "#title caf\xe9\n", ERR, 1, "invalid UTF-8", 0},
    {"overlong UTF-8", "#title \xc0\xa3" "take\n", ERR, 1, "invalid UTF-8", 0},
    {"controls after the block are text", "#take\nText \x1b ok\n", 1, 0, 0,
     "Text"},
    /* reply layouts: quoted commands below the agent's text */
    {"Outlook French",
     "#take\n#reply\n\nBonjour, c'est r\xc3\xa9gl\xc3\xa9.\n\n"
     "De : Jean Dupont <jean@example.fr>\nEnvoy\xc3\xa9 : lundi 23 novembre "
     "2026 10:12\n\xc3\x80 : support@example.com\nObjet : Imprimante\n\n"
     "#state closed\n#owner none\n", 2, 0, 0, "Bonjour"},
    {"Outlook English",
     "#note\nCalled him.\n________________________________\nFrom: John "
     "<john@example.com>\nSent: Monday, November 23, 2026 10:12 AM\nTo: "
     "support@example.com\nSubject: VPN\n\n#priority 5\n", 1, 0, 0,
     "Called him."},
    {"Outlook empty reply",
     "From: John <john@example.com>\nSent: Monday\nTo: support@example.com\n"
     "Subject: #close\n\n#state closed\n", 0, 0, 0, 0},
    {"Thunderbird French",
     "#state closed successful\n\nR\xc3\xa9solu.\n\nLe 23/11/2026 \xc3\xa0 "
     "10:12, Jean Dupont a \xc3\xa9" "crit\xc2\xa0:\n> #state open\n"
     "> #owner none\n", 1, 0, 0, "R\xc3\xa9solu."},
    {"Thunderbird German",
     "#take\n#lock\nErledigt.\n\nAm 23.11.26 um 10:12 schrieb Hans Meier:\n"
     "> #unlock\n> #queue Junk\n", 2, 0, 0, "Erledigt."},
    {"quoted commands only", "> #state closed\n> #take\n", 0, 0, 0, 0},
    {"Thunderbird block after reply text", "Thanks!\n\nOn 23/11/2026 John "
     "wrote:\n#take\n", 0, 0, 0, 0},
};

/* has_error - whether the block has an error on line holding phrase */

static int has_error(const struct command_block *b, unsigned line,
		             const char *phrase)
{
    for (size_t i = 0; i < b->error_count; i++)
	if (b->errors[i].line == line && strstr(b->errors[i].message, phrase))
	    return (1);
    return (0);
}

/* dump - show a block when a case fails */

static void dump(const struct parse_case *c, const struct command_block *b)
{
    fprintf(stderr, "\ncase \"%s\": %zu commands, offset %zu\n", c->name,
	    b->command_count, b->text_offset);
    for (size_t i = 0; i < b->error_count; i++)
	fprintf(stderr, "  error line %u: %s\n", b->errors[i].line,
		b->errors[i].message);
}

/* test_table - every case of the table */

static void test_table(void)
{
    size_t  ncases = sizeof(cases) / sizeof(cases[0]);

    CU_ASSERT(ncases >= 60);
    for (size_t i = 0; i < ncases; i++) {
	const struct parse_case *c = cases + i;
	struct command_block *b = 0;
	int     rc = lmtp_command_parse(c->text, 0, &b), ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	if (c->commands == ERR) {
	    ok = rc == -1 && has_error(b, c->err_line, c->phrase);
	} else {
	    ok = rc == 0 && b->error_count == 0
		&& b->command_count == (size_t) c->commands;
	    if (c->text_at == 0)
		ok = ok && b->text_offset == 0;
	    else if (*c->text_at == 0)
		ok = ok && b->text_offset == strlen(c->text);
	    else
		ok = ok && strncmp(c->text + b->text_offset, c->text_at,
				   strlen(c->text_at)) == 0;
	}
	if (!ok)
	    dump(c, b);
	CU_ASSERT(ok);
	lmtp_command_block_free(&b);
	CU_ASSERT_PTR_NULL(b);
    }
}

/* parse_ok - parse text that must succeed */

static struct command_block *parse_ok(const char *text)
{
    struct command_block *b = 0;

    CU_ASSERT_EQUAL(lmtp_command_parse(text, 0, &b), 0);
    CU_ASSERT_EQUAL(b->error_count, 0);
    return (b);
}

/* test_arguments - parsed arguments of each command */

static void test_arguments(void)
{
    struct command_block *b = parse_ok(
	"#owner Alice.M@corp\n#type SERVICE-request\n#prio normale\n"
	"#lock\n#pending 2028-02-29T23:59\n"
	"#watch bob,carol\n#inform dave\n#title  Printer \t on" NBSP "fire \n"
	"#merge Into 123\n#confirm k7q2\n#expect priority = very high\n"
	"#expect lock=Unlock\n#template reset_v2.en\n#queue Support  L2\n\nx");
    const struct command *c;

    CU_ASSERT_EQUAL(b->command_count, 14);
    c = lmtp_command_block_find(b, COMMAND_OWNER);
    CU_ASSERT(c && c->owner == COMMAND_OWNER_AGENT
	      && strcmp(c->arg, "Alice.M@corp") == 0 && c->line == 1
	      && strcmp(c->raw, "#owner Alice.M@corp") == 0);
    c = lmtp_command_block_find(b, COMMAND_TYPE);
    CU_ASSERT(c && strcmp(c->arg, "Service Request") == 0);
    c = lmtp_command_block_find(b, COMMAND_PRIORITY);
    CU_ASSERT(c && c->priority == 3);
    CU_ASSERT_PTR_NOT_NULL(lmtp_command_block_find(b, COMMAND_LOCK));
    c = lmtp_command_block_find(b, COMMAND_PENDING);
    CU_ASSERT(c && !c->when.relative && c->when.year == 2028
	      && c->when.month == 2 && c->when.day == 29 && c->when.has_time
	      && c->when.hour == 23 && c->when.minute == 59);
    c = lmtp_command_block_find(b, COMMAND_WATCH);
    CU_ASSERT(c && c->agent_count == 2 && strcmp(c->agents[0], "bob") == 0
	      && strcmp(c->agents[1], "carol") == 0);
    c = lmtp_command_block_find(b, COMMAND_INFORM);
    CU_ASSERT(c && c->agent_count == 1 && strcmp(c->agents[0], "dave") == 0);
    c = lmtp_command_block_find(b, COMMAND_TITLE);
    CU_ASSERT(c && strcmp(c->arg, "Printer on fire") == 0);
    c = lmtp_command_block_find(b, COMMAND_MERGE);
    CU_ASSERT(c && strcmp(c->arg, "123") == 0);
    c = lmtp_command_block_find(b, COMMAND_CONFIRM);
    CU_ASSERT(c && strcmp(c->arg, "K7Q2") == 0);
    c = lmtp_command_block_find(b, COMMAND_EXPECT);
    CU_ASSERT(c && strcmp(c->arg, "priority") == 0
	      && strcmp(c->value, "5") == 0);
    CU_ASSERT(c && strcmp(b->commands[11].arg, "lock") == 0
	      && strcmp(b->commands[11].value, "unlocked") == 0);
    c = lmtp_command_block_find(b, COMMAND_TEMPLATE);
    CU_ASSERT(c && strcmp(c->arg, "reset_v2.en") == 0);
    c = lmtp_command_block_find(b, COMMAND_QUEUE);
    CU_ASSERT(c && strcmp(c->arg, "Support L2") == 0);
    CU_ASSERT_PTR_NULL(lmtp_command_block_find(b, COMMAND_NOTE));
    CU_ASSERT_EQUAL(b->first_line, 1);
    CU_ASSERT_EQUAL(b->last_line, 14);
    lmtp_command_block_free(&b);

    b = parse_ok("#pending +4h\n#owner ME\n#unwatch\n");
    c = lmtp_command_block_find(b, COMMAND_PENDING);
    CU_ASSERT(c && c->when.relative && c->when.seconds == 4 * 3600);
    c = lmtp_command_block_find(b, COMMAND_OWNER);
    CU_ASSERT(c && c->owner == COMMAND_OWNER_SELF && c->arg == 0);
    c = lmtp_command_block_find(b, COMMAND_UNWATCH);
    CU_ASSERT(c && c->agent_count == 0);
    lmtp_command_block_free(&b);

    b = parse_ok("#owner none\n#pending +2w\n#prio 4 high\n");
    CU_ASSERT(b->commands[0].owner == COMMAND_OWNER_NONE);
    CU_ASSERT(b->commands[1].when.seconds == 14 * 86400);
    CU_ASSERT(b->commands[2].priority == 4);
    lmtp_command_block_free(&b);

    b = parse_ok("#status resolved\n");
    CU_ASSERT(strcmp(b->commands[0].arg, "closed successful") == 0);
    lmtp_command_block_free(&b);

    b = parse_ok("#state Closed_Unsuccessful\n");
    CU_ASSERT(strcmp(b->commands[0].arg, "closed unsuccessful") == 0);
    lmtp_command_block_free(&b);

    b = parse_ok("#priority TR\xc3\x88S HAUTE\n#state pending\n");
    CU_ASSERT(b->commands[0].priority == 5);
    CU_ASSERT(strcmp(b->commands[1].arg, "pending reminder") == 0);
    CU_ASSERT_STRING_EQUAL(lmtp_command_name(b->commands[1].kind), "state");
    lmtp_command_block_free(&b);
}

/* test_comments - comments are kept in order for the transcript */

static void test_comments(void)
{
    struct command_block *b = parse_ok("## by phone\n#take\n## ok\n#END\nx");

    CU_ASSERT_EQUAL(b->count, 3);
    CU_ASSERT_EQUAL(b->command_count, 1);
    CU_ASSERT(b->commands[0].kind == COMMAND_COMMENT
	      && strcmp(b->commands[0].raw, "## by phone") == 0);
    CU_ASSERT(b->commands[1].kind == COMMAND_TAKE && b->commands[1].line == 2);
    CU_ASSERT(b->ended_by_end);
    CU_ASSERT_EQUAL(b->last_line, 4);
    lmtp_command_block_free(&b);
}

/* test_limit - 50 commands pass, the 51st is an error */

static void test_limit(void)
{
    struct buf *t = buf_create(0, 0);
    struct command_block *b = 0;
    struct command_limits lim = {3, 0};

    for (int i = 0; i < 50; i++) {
	if (i % 2)
	    buf_printf(t, "## comment %d\n", i);
	buf_printf(t, "#inform a%d\n", i);
    }
    buf_append_str(t, "\nText");
    CU_ASSERT_EQUAL(lmtp_command_parse(buf_data(t), 0, &b), 0);
    CU_ASSERT_EQUAL(b->command_count, 50);
    CU_ASSERT_STRING_EQUAL(buf_data(t) + b->text_offset, "Text");
    lmtp_command_block_free(&b);

    buf_truncate(t, buf_len(t) - strlen("\nText"));
    buf_append_str(t, "#inform z\n#inform y\n");
    CU_ASSERT_EQUAL(lmtp_command_parse(buf_data(t), 0, &b), -1);
    CU_ASSERT_EQUAL(b->error_count, 1);
    CU_ASSERT(has_error(b, 76, "more than 50 commands"));
    lmtp_command_block_free(&b);

    CU_ASSERT_EQUAL(lmtp_command_parse("#take\n#lock\n#help\n#list\n", &lim, &b), -1);
    CU_ASSERT(has_error(b, 4, "more than 3 commands"));
    lmtp_command_block_free(&b);
    buf_destroy(&t);
}

/* test_long_line - 998 bytes pass, 999 do not */

static void test_long_line(void)
{
    char    line[1200];
    struct command_block *b = 0;

    memset(line, 'x', sizeof(line));
    memcpy(line, "#title ", 7);
    line[998] = 0;
    CU_ASSERT_EQUAL(lmtp_command_parse(line, 0, &b), -1);	/* title > 255 */
    CU_ASSERT(has_error(b, 1, "longer than 255"));
    lmtp_command_block_free(&b);
    line[998] = 'x';
    line[999] = 0;
    CU_ASSERT_EQUAL(lmtp_command_parse(line, 0, &b), -1);
    CU_ASSERT(has_error(b, 1, "longer than 998 bytes"));
    lmtp_command_block_free(&b);
    memcpy(line, "Prose  ", 7);		/* not a command line: text */
    CU_ASSERT_EQUAL(lmtp_command_parse(line, 0, &b), 0);
    lmtp_command_block_free(&b);
}

/* test_error_cap - a flood of bad lines keeps a bounded list */

static void test_error_cap(void)
{
    struct buf *t = buf_create(0, 0);
    struct command_block *b = 0;

    for (int i = 0; i < 500; i++)
	buf_append_str(t, "#bogus\n");
    CU_ASSERT_EQUAL(lmtp_command_parse(buf_data(t), 0, &b), -1);
    CU_ASSERT_EQUAL(b->error_count, COMMAND_MAX_ERRORS);
    CU_ASSERT_EQUAL(b->errors_dropped, 500 - COMMAND_MAX_ERRORS);
    lmtp_command_block_free(&b);
    CU_ASSERT_EQUAL(lmtp_command_parse(0, 0, &b), 0);
    CU_ASSERT_EQUAL(b->count, 0);
    lmtp_command_block_free(&b);
    lmtp_command_block_free(&b);			/* NULL: no-op */
    buf_destroy(&t);
}

/* test_many_comments - a huge block of comments stays linear */

static void test_many_comments(void)
{
    struct buf *t = buf_create(0, 0);
    struct command_block *b = 0;

    for (int i = 0; i < 200000; i++)
	buf_append_str(t, i == 100000 ? "#take\n" : "## c\n");
    CU_ASSERT_EQUAL(lmtp_command_parse(buf_data(t), 0, &b), 0);
    CU_ASSERT_EQUAL(b->command_count, 1);
    CU_ASSERT_EQUAL(b->count, 200000);
    CU_ASSERT_EQUAL(b->text_offset, buf_len(t));
    lmtp_command_block_free(&b);
    buf_destroy(&t);
}

/* test_random - random bytes after '#' never crash; messages are clean */

static void test_random(void)
{
    static const char alphabet[] = "#\n\r \t=+-,aZ09\xc2\xa0\xe2\x80\xae\xff";
    unsigned seed = 12345;
    char    text[256];

    for (int round = 0; round < 3000; round++) {
	struct command_block *b = 0;
	size_t  len = 1 + round % (sizeof(text) - 1);

	for (size_t i = 0; i < len; i++) {
	    seed = seed * 1103515245 + 12345;
	    text[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
	    if (text[i] == 0)
		text[i] = '#';
	}
	text[0] = '#';
	text[len] = 0;
	lmtp_command_parse(text, 0, &b);
	CU_ASSERT_FATAL(b != 0 && b->text_offset <= len);
	for (size_t i = 0; i < b->error_count; i++)
	    for (const unsigned char *cp = (const unsigned char *)
		 b->errors[i].message; *cp; cp++)
		CU_ASSERT_FATAL(*cp >= 0x20 && *cp != 0x7f);
	for (size_t i = 0; i < b->count; i++)
	    CU_ASSERT_FATAL(strpbrk(b->commands[i].raw, "\r\n") == 0);
	lmtp_command_block_free(&b);
    }
}

int     main(void)
{
    CU_pSuite suite;
    CU_ErrorCode rc;
    unsigned bad;

    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    suite = CU_add_suite("command", 0, 0);
    CU_add_test(suite, "table of mail texts", test_table);
    CU_add_test(suite, "parsed arguments", test_arguments);
    CU_add_test(suite, "comments and #end", test_comments);
    CU_add_test(suite, "50-command limit", test_limit);
    CU_add_test(suite, "line length", test_long_line);
    CU_add_test(suite, "error cap and NULL", test_error_cap);
    CU_add_test(suite, "many comments", test_many_comments);
    CU_add_test(suite, "random input", test_random);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
