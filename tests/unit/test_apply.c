/*++
/* NAME
/*	test_apply 1
/* SUMMARY
/*	unit tests of agents' command mail: rights, guards, lost updates
/* SYNOPSIS
/*	test_apply
/* DESCRIPTION
/*	apply_plan_make() over a table: every command by an agent who may
/*	and by one who may not, locks held by others, #force, #expect,
/*	#merge and #confirm, the personal address, parse errors, and the
/*	lost-update guard; apply_lost_update() over revisions that wrap;
/*	lmtp_auth_results_pass() over Authentication-Results values.
/*	The configuration is a real file read by conf_load().
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <util.h>
#include <conf.h>
#include <store.h>
#include <lmtp.h>

#include "apply.h"
#include "catalog.h"
#include "command.h"

static char root[] = "/tmp/test_apply.XXXXXX";
static struct conf *conf;

#define NOW	((time_t) 1795000000)	/* 2026-11-18, a fixed instant */

static const char conf_text[] =
    "[postdesk]\n"
    "domain = desk.example.org\n"
    "state_dir = /tmp/none\n"
    "listen = unix:/tmp/none.sock\n"
    "secret_file = /tmp/none.key\n"
    "language = en\n"
    "[queue Helpdesk]\n"
    "addresses = help@example.org\n"
    "group = helpdesk\n"
    "[queue Network]\n"
    "addresses = net@example.org\n"
    "group = network\n"
    "[queue Secret]\n"
    "addresses = secret@example.org\n"
    "group = secret\n"
    "[agent alice]\n"
    "email = alice@agents.test\n"
    "groups = helpdesk;network\n"
    "[agent bob]\n"
    "email = bob@agents.test\n"
    "groups = helpdesk\n"
    "[agent carol]\n"
    "email = carol@agents.test\n"
    "groups = network\n"
    "[agent dave]\n"
    "email = dave@agents.test\n"
    "groups = helpdesk\n"
    "active = no\n"
    "[agent eve]\n"
    "email = eve@agents.test\n"
    "groups = secret\n"
    "[agent francois]\n"
    "email = francois@agents.test\n"
    "groups = helpdesk\n"
    "language = fr\n";

/* response_exists - the templates "resolved" and "need-info" */

static int response_exists(const void *ctx, const char *name)
{
    (void) ctx;
    return (strcmp(name, "resolved") == 0 || strcmp(name, "need-info") == 0);
}

/* Ticket set-ups. */
enum setup {
    PLAIN,				/* Helpdesk, open, no owner */
    LOCKED_BOB,				/* locked to bob */
    OWNED_ALICE,			/* alice owns it, locked */
    MERGED,				/* merged into another */
    NO_TICKET,				/* not found */
    PERSONAL,				/* the personal address */
    NO_REPLY,				/* the requester cannot be written to */
    CHANGED_BY_BOB,			/* owner changed by bob at revision 10 */
    CHANGED_BY_ALICE,			/* owner changed by alice at revision 10 */
    NEW_TICKET,				/* state new */
};

enum target {
    T_NONE,				/* the #merge target does not exist */
    T_HELPDESK,				/* a ticket in Helpdesk */
    T_SECRET,				/* a ticket in Secret */
};

struct plan_case {
    const char *name;
    const char *agent;
    enum setup setup;
    const char *block;
    int     has_text;
    int     errors;			/* 0: none, 1: some */
    const char *phrase;			/* in an outcome or error */
    enum target target;
    const char *subject_ticket;
};

/* Most cases have no #merge target: let it default to T_NONE. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const struct plan_case cases[] = {
    /* note and reply */
    {"note", "alice", PLAIN, "#note\n", 1, 0, "ok: internal note"},
    {"no commands", "bob", PLAIN, "", 1, 0, 0},
    {"reply", "bob", PLAIN, "#reply\n", 1, 0, "ok: reply"},
    {"reply without text", "bob", PLAIN, "#reply\n", 0, 1, "without a text"},
    {"reply, no requester", "bob", NO_REPLY, "#reply\n", 1, 1, "cannot reply"},
    {"reply, locked by bob", "alice", LOCKED_BOB, "#reply\n", 1, 1, "locked by bob"},
    {"reply, locked by bob, force", "alice", LOCKED_BOB, "#reply\n#force\n", 1, 0, 0},
    {"template", "bob", PLAIN, "#template resolved\n", 0, 0, "ok: template"},
    {"unknown template", "bob", PLAIN, "#template nope\n", 1, 1, "no response template"},
    /* rights on the ticket: every command by an agent of another queue */
    {"carol note", "carol", PLAIN, "#note\n", 1, 1, "not found or not accessible"},
    {"carol reply", "carol", PLAIN, "#reply\n", 1, 1, "not found or not accessible"},
    {"carol take", "carol", PLAIN, "#take\n", 0, 1, "not found or not accessible"},
    {"carol owner", "carol", PLAIN, "#owner carol\n", 0, 1, "not found or not accessible"},
    {"carol lock", "carol", PLAIN, "#lock\n", 0, 1, "not found or not accessible"},
    {"carol unlock", "carol", PLAIN, "#unlock\n", 0, 1, "not found or not accessible"},
    {"carol queue", "carol", PLAIN, "#queue Network\n", 0, 1, "not found or not accessible"},
    {"carol type", "carol", PLAIN, "#type incident\n", 0, 1, "not found or not accessible"},
    {"carol priority", "carol", PLAIN, "#priority 5\n", 0, 1, "not found or not accessible"},
    {"carol state", "carol", PLAIN, "#state open\n", 0, 1, "not found or not accessible"},
    {"carol pending", "carol", PLAIN, "#pending +3d\n", 0, 1, "not found or not accessible"},
    {"carol watch", "carol", PLAIN, "#watch\n", 0, 1, "not found or not accessible"},
    {"carol unwatch", "carol", PLAIN, "#unwatch\n", 0, 1, "not found or not accessible"},
    {"carol inform", "carol", PLAIN, "#inform bob\n", 1, 1, "not found or not accessible"},
    {"carol title", "carol", PLAIN, "#title x\n", 0, 1, "not found or not accessible"},
    {"carol merge", "carol", PLAIN, "#merge 2026111810000011\n", 0, 1,
     "not found or not accessible", T_HELPDESK},
    {"carol expect", "carol", PLAIN, "#expect owner=none\n", 0, 1, "not found or not accessible"},
    {"carol dry-run", "carol", PLAIN, "#dry-run\n", 0, 1, "not found or not accessible"},
    {"eve take", "eve", PLAIN, "#take\n", 0, 1, "not found or not accessible"},
    {"missing ticket", "alice", NO_TICKET, "#take\n", 0, 1, "not found or not accessible"},
    {"merged ticket", "alice", MERGED, "#take\n", 0, 1, "was merged into"},
    /* owner and locks */
    {"take", "bob", PLAIN, "#take\n", 0, 0, "ok: owner bob, locked"},
    {"take locked by bob", "alice", LOCKED_BOB, "#take\n", 0, 1, "locked by bob"},
    {"take locked by bob, force", "alice", LOCKED_BOB, "#take\n#force\n", 0, 0, 0},
    {"lock sets owner", "bob", PLAIN, "#lock\n", 0, 0, "ok: locked, owner bob"},
    {"lock locked by bob", "alice", LOCKED_BOB, "#lock\n", 0, 1, "locked by bob"},
    {"unlock other's lock", "alice", LOCKED_BOB, "#unlock\n", 0, 0, "ok: unlocked"},
    {"owner bob", "alice", PLAIN, "#owner bob\n", 0, 0, "ok: owner bob"},
    {"owner me", "bob", PLAIN, "#owner me\n", 0, 0, "ok: owner bob"},
    {"owner none", "alice", OWNED_ALICE, "#owner none\n", 0, 0, "ok: no owner"},
    {"owner outside queue", "alice", PLAIN, "#owner carol\n", 0, 1, "does not work"},
    {"owner inactive", "alice", PLAIN, "#owner dave\n", 0, 1, "not active"},
    {"owner unknown", "alice", PLAIN, "#owner zed\n", 0, 1, "no such agent"},
    {"owner in the new queue", "alice", PLAIN, "#queue Network\n#owner carol\n", 0, 0, 0},
    {"owner locked by bob", "alice", LOCKED_BOB, "#owner alice\n", 0, 1, "locked by bob"},
    /* queue, type, priority, title */
    {"queue", "alice", PLAIN, "#queue network\n", 0, 0, "queue Helpdesk -> Network"},
    {"queue without right", "bob", PLAIN, "#queue Network\n", 0, 1, "do not work queue"},
    {"queue secret", "alice", PLAIN, "#queue Secret\n", 0, 1, "do not work queue"},
    {"queue unknown", "alice", PLAIN, "#queue Nowhere\n", 0, 1, "no such queue"},
    {"type", "bob", PLAIN, "#type problem\n", 0, 0, "type Incident -> Problem"},
    {"priority", "bob", PLAIN, "#priority urgent\n", 0, 0, "priority 3 -> 5"},
    {"title", "bob", PLAIN, "#title Printer on fire\n", 0, 0, "title changed"},
    /* state and pending */
    {"state", "bob", PLAIN, "#state closed successful\n", 0, 0, "-> closed successful"},
    {"pending", "bob", PLAIN, "#pending +3d\n", 0, 0, "ok: pending until"},
    {"pending in the past", "bob", PLAIN, "#pending 2001-01-01\n", 0, 1, "in the past"},
    /* watchers and inform */
    {"watch me", "bob", PLAIN, "#watch\n", 0, 0, "watching bob"},
    {"watch bob", "alice", PLAIN, "#watch bob\n", 0, 0, "watching: bob"},
    {"watch outside queue", "alice", PLAIN, "#watch carol\n", 0, 1, "does not work"},
    {"watch inactive", "alice", PLAIN, "#watch dave\n", 0, 1, "not active"},
    {"unwatch unknown", "alice", PLAIN, "#unwatch zed\n", 0, 1, "no such agent"},
    {"inform", "alice", PLAIN, "#inform bob\n", 1, 0, "informing bob"},
    {"inform without text", "alice", PLAIN, "#inform bob\n", 0, 1, "needs a text"},
    {"inform outside queue", "alice", PLAIN, "#inform carol\n", 1, 1, "does not work"},
    /* merge and confirm */
    {"merge needs confirm", "alice", PLAIN, "#merge 2026111810000011\n", 0, 0,
     "ok: merge into", T_HELPDESK},
    {"merge confirmed", "alice", PLAIN, "#merge 2026111810000011\n#confirm ABCD2345\n",
     0, 0, "ok: confirmed", T_HELPDESK},
    {"merge yesterday's code", "alice", PLAIN,
     "#merge 2026111810000011\n#confirm WXYZ6789\n", 0, 0, "ok: confirmed", T_HELPDESK},
    {"merge wrong code", "alice", PLAIN, "#merge 2026111810000011\n#confirm ABCD2346\n",
     0, 1, "wrong or expired", T_HELPDESK},
    {"merge into secret", "alice", PLAIN, "#merge 2026111810000022\n", 0, 1,
     "not found or not accessible", T_SECRET},
    {"merge into nothing", "alice", PLAIN, "#merge 2026111810000033\n", 0, 1,
     "not found or not accessible", T_NONE},
    {"merge with state", "alice", PLAIN, "#merge 2026111810000011\n#state open\n",
     0, 1, "cannot go with", T_HELPDESK},
    {"confirm alone", "alice", PLAIN, "#confirm ABCD2345\n", 0, 1, "nothing to confirm"},
    /* guards */
    {"expect holds", "bob", PLAIN, "#expect owner=none\n#take\n", 0, 0, "ok: owner is none"},
    {"expect fails", "bob", OWNED_ALICE, "#expect owner=none\n#take\n", 0, 1,
     "owner is \"alice\""},
    {"expect lock", "bob", OWNED_ALICE, "#expect lock=locked\n", 0, 0, 0},
    {"expect state", "bob", PLAIN, "#expect state=closed\n", 0, 1, "state is \"open\""},
    {"dry-run", "bob", PLAIN, "#dry-run\n#take\n", 0, 0, "dry run"},
    /* the personal address */
    {"personal list", "bob", PERSONAL, "#list\n", 0, 0, "locked tickets"},
    {"personal help", "bob", PERSONAL, "#help\n", 0, 0, "command reference"},
    {"personal take", "bob", PERSONAL, "#take\n", 0, 1, "needs a ticket"},
    /* parse errors: nothing is planned */
    {"unknown command", "bob", PLAIN, "#take\n#stauts closed\n", 0, 1, "unknown command"},
    /* lost updates */
    {"owner changed by bob", "alice", CHANGED_BY_BOB, "#take\n", 0, 1,
     "owner was changed by bob"},
    {"owner changed by bob, force", "alice", CHANGED_BY_BOB, "#take\n#force\n", 0, 0, 0},
    {"owner changed by me", "alice", CHANGED_BY_ALICE, "#take\n", 0, 0, 0},
    /* the Subject names another ticket than the address */
    {"subject of another ticket", "alice", PLAIN, "#take\n", 0, 1,
     "subject names ticket 2026111810000099", T_NONE, "2026111810000099"},
    {"subject of this ticket", "alice", PLAIN, "#take\n", 0, 0, 0, T_NONE,
     "2026111810000001"},
    {"other field changed", "alice", CHANGED_BY_BOB, "#priority 4\n", 0, 0, 0},
};

/* make_ticket - a ticket for a set-up */

static void make_ticket(struct store_ticket *t, enum setup setup)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->number, sizeof(t->number), "2026111810000001");
    t->title = "Printer";
    t->queue = "Helpdesk";
    t->state = "open";
    t->priority = 3;
    t->type = "Incident";
    t->customer = "marie@example.org";
    t->revision = 20;
    switch (setup) {
    case LOCKED_BOB:
	t->locked = 1;
	t->owner = "bob";
	break;
    case OWNED_ALICE:
	t->locked = 1;
	t->owner = "alice";
	break;
    case MERGED:
	t->state = "merged";
	t->merged_into = "2026111810000011";
	break;
    case CHANGED_BY_BOB:
	t->owner = "bob";
	t->changes[STORE_FIELD_OWNER].revision = 10;
	t->changes[STORE_FIELD_OWNER].who = "bob";
	break;
    case NEW_TICKET:
	t->state = "new";
	break;
    case CHANGED_BY_ALICE:
	t->owner = "alice";
	t->changes[STORE_FIELD_OWNER].revision = 10;
	t->changes[STORE_FIELD_OWNER].who = "alice";
	break;
    default:
	break;
    }
}

/* contains - phrase in an outcome or a general error of the plan */

static int contains(const struct apply_plan *p, size_t n, const char *phrase)
{
    for (size_t i = 0; i < n; i++)
	if (p->outcomes[i] && strstr(p->outcomes[i], phrase))
	    return (1);
    for (size_t i = 0; i < p->n_general; i++)
	if (strstr(p->errors[i], phrase))
	    return (1);
    return (0);
}

/* dump - the plan, when a case fails */

static void dump(const struct plan_case *c, const struct apply_plan *p, size_t n)
{
    fprintf(stderr, "case \"%s\": %zu errors\n", c->name, p->n_errors);
    for (size_t i = 0; i < n; i++)
	fprintf(stderr, "  outcome %zu: %s\n", i, p->outcomes[i] ? p->outcomes[i] : "-");
    for (size_t i = 0; i < p->n_general; i++)
	fprintf(stderr, "  error: %s\n", p->errors[i]);
}

/* run_case - plan one case */

static struct apply_plan *run_case(const struct plan_case *c,
				           struct command_block **blk_r)
{
    struct store_ticket t;
    struct store_ticket target;
    struct apply_facts f;

    make_ticket(&t, c->setup);
    memset(&target, 0, sizeof(target));
    (void) lmtp_command_parse(c->block, 0, blk_r);
    memset(&f, 0, sizeof(f));
    f.conf = conf;
    f.agent = conf_agent_find(conf, c->agent);
    f.ticket = (c->setup == NO_TICKET || c->setup == PERSONAL) ? 0 : &t;
    f.personal = (c->setup == PERSONAL);
    if (c->target != T_NONE) {
	snprintf(target.number, sizeof(target.number), "%s",
		 c->target == T_HELPDESK ? "2026111810000011" : "2026111810000022");
	target.queue = c->target == T_HELPDESK ? "Helpdesk" : "Secret";
	target.state = "open";
	f.merge_target = &target;
    }
    f.revision = 5;
    f.block = *blk_r;
    f.has_text = c->has_text;
    f.reply_ok = (c->setup != NO_REPLY);
    f.reply_why = "no valid requester address";
    f.response_exists = response_exists;
    f.confirm_codes[0] = "ABCD2345";
    f.confirm_codes[1] = "WXYZ6789";
    f.now = NOW;
    f.subject_ticket = c->subject_ticket;
    return (apply_plan_make(&f));
}

static void test_table(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	const struct plan_case *c = cases + i;
	struct command_block *blk = 0;
	struct apply_plan *p = run_case(c, &blk);
	int     ok = ((p->n_errors > 0) == (c->errors != 0))
	&& (c->phrase == 0 || contains(p, blk->count, c->phrase));

	if (!ok)
	    dump(c, p, blk->count);
	CU_ASSERT(ok);
	apply_plan_free(&p);
	lmtp_command_block_free(&blk);
    }
}

/* plan_of - plan a block for alice on a plain ticket */

static struct apply_plan *plan_of(const char *agent, enum setup setup,
			                  const char *block, struct command_block **b)
{
    struct plan_case c;

    memset(&c, 0, sizeof(c));
    c.name = block;
    c.agent = agent;
    c.setup = setup;
    c.block = block;
    c.has_text = 1;
    return (run_case(&c, b));
}

static void test_changes(void)
{
    struct command_block *b = 0;
    struct apply_plan *p;

    /* #take: owner and lock, and the fields it touches. */
    p = plan_of("bob", PLAIN, "#take\n#priority 4\n#title New\n#type problem\n", &b);
    CU_ASSERT_EQUAL(p->n_errors, 0);
    CU_ASSERT(p->change.set_owner && strcmp(p->change.owner, "bob") == 0);
    CU_ASSERT_EQUAL(p->change.lock, 1);
    CU_ASSERT_EQUAL(p->change.priority, 4);
    CU_ASSERT_STRING_EQUAL(p->change.title, "New");
    CU_ASSERT_STRING_EQUAL(p->change.type, "Problem");
    CU_ASSERT(p->touches[STORE_FIELD_OWNER] && p->touches[STORE_FIELD_LOCK]
	      && p->touches[STORE_FIELD_PRIORITY] && p->touches[STORE_FIELD_TITLE]
	      && p->touches[STORE_FIELD_TYPE] && !p->touches[STORE_FIELD_STATE]);
    CU_ASSERT_EQUAL(p->mode, APPLY_MODE_NOTE);
    apply_plan_free(&p);
    lmtp_command_block_free(&b);

    /* Taking or answering a new ticket opens it; a note does not. */
    {
	static const char *const blocks[] = {"#take\n", "#reply\n", "#lock\n",
	"#note\n", "#take\n#state pending reminder\n"};
	static const char *const want[] = {"open", "open", "open", 0,
	"pending reminder"};

	for (size_t i = 0; i < 5; i++) {
	    struct plan_case c = {"new", "bob", NEW_TICKET, blocks[i], 1, 0, 0};

	    p = run_case(&c, &b);
	    CU_ASSERT_EQUAL(p->n_errors, 0);
	    if (want[i]) {
		CU_ASSERT(p->set_state && strcmp(p->state, want[i]) == 0);
	    } else {
		CU_ASSERT_EQUAL(p->set_state, 0);
	    }
	    apply_plan_free(&p);
	    lmtp_command_block_free(&b);
	}
    }

    /* Closing unlocks. */
    p = plan_of("alice", OWNED_ALICE, "#state closed\n", &b);
    CU_ASSERT_EQUAL(p->n_errors, 0);
    CU_ASSERT(p->set_state && strcmp(p->state, "closed successful") == 0);
    CU_ASSERT_EQUAL(p->change.lock, 0);
    CU_ASSERT_EQUAL(p->pending_until, 0);
    apply_plan_free(&p);
    lmtp_command_block_free(&b);

    /* #pending alone: pending reminder at the time given. */
    p = plan_of("bob", PLAIN, "#pending +3d\n", &b);
    CU_ASSERT(p->set_state && strcmp(p->state, "pending reminder") == 0);
    CU_ASSERT_EQUAL(p->pending_until, NOW + 3 * 86400);
    apply_plan_free(&p);
    lmtp_command_block_free(&b);

    /* A pending state with a time, and one without (one day). */
    p = plan_of("bob", PLAIN, "#state pending auto close\n#pending +4h\n", &b);
    CU_ASSERT_EQUAL(p->n_errors, 0);
    CU_ASSERT(p->set_state && strcmp(p->state, "pending auto close") == 0);
    CU_ASSERT_EQUAL(p->pending_until, NOW + 4 * 3600);
    apply_plan_free(&p);
    lmtp_command_block_free(&b);
    p = plan_of("bob", PLAIN, "#state pending auto close\n", &b);
    CU_ASSERT_EQUAL(p->pending_until, NOW + 86400);
    apply_plan_free(&p);
    lmtp_command_block_free(&b);

    /* #template implies a reply; watchers and informed collected. */
    p = plan_of("alice", PLAIN, "#template resolved\n#watch bob alice\n"
		"#unwatch\n#inform bob\n", &b);
    CU_ASSERT_EQUAL(p->n_errors, 0);
    CU_ASSERT_EQUAL(p->mode, APPLY_MODE_REPLY);
    CU_ASSERT_STRING_EQUAL(p->response, "resolved");
    CU_ASSERT_EQUAL(p->n_informed, 1);
    CU_ASSERT_EQUAL(p->change.n_watch_add, 2);
    CU_ASSERT_EQUAL(p->change.n_watch_remove, 1);
    apply_plan_free(&p);
    lmtp_command_block_free(&b);

    /* #merge without #confirm: nothing to apply yet. */
    {
	struct plan_case c = {"merge", "alice", PLAIN, "#merge 2026111810000011\n",
	0, 0, 0, T_HELPDESK};

	p = run_case(&c, &b);
	CU_ASSERT_EQUAL(p->n_errors, 0);
	CU_ASSERT_EQUAL(p->needs_confirm, 1);
	CU_ASSERT_STRING_EQUAL(p->merge_into, "2026111810000011");
	apply_plan_free(&p);
	lmtp_command_block_free(&b);
    }
    /* Two #watch lines: both kept, each login once. */
    p = plan_of("alice", PLAIN, "#watch bob\n#watch\n#watch BOB\n", &b);
    CU_ASSERT_EQUAL(p->n_errors, 0);
    CU_ASSERT_EQUAL_FATAL(p->change.n_watch_add, 2);
    CU_ASSERT_STRING_EQUAL(p->change.watch_add[0], "bob");
    CU_ASSERT_STRING_EQUAL(p->change.watch_add[1], "alice");
    apply_plan_free(&p);
    lmtp_command_block_free(&b);

    /* A dry run plans everything but says so. */
    p = plan_of("bob", PLAIN, "#dry-run\n#take\n", &b);
    CU_ASSERT(p->dry_run && p->changes_ticket && p->n_errors == 0);
    apply_plan_free(&p);
    lmtp_command_block_free(&b);
}

/* test_random_blocks - random valid command lines by random agents on
   random tickets: the plan's invariants hold, nothing crashes */

static void test_random_blocks(void)
{
    static const char *const lines[] = {
	"#note", "#reply", "#template resolved", "#template nope", "#take",
	"#owner bob", "#owner carol", "#owner none", "#owner me", "#lock",
	"#unlock", "#queue Network", "#queue Secret", "#type incident",
	"#priority 5", "#state open", "#state closed", "#state pending auto close",
	"#pending +2d", "#watch", "#watch bob", "#unwatch alice", "#inform bob",
	"#title New title", "#merge 2026111810000011", "#confirm ABCD2345",
	"#expect owner=none", "#expect lock=locked", "#force", "#dry-run",
	"#help", "#list", "## a comment",
    };
    static const char *const agents[] = {"alice", "bob", "carol", "eve"};
    static const enum setup setups[] = {
	PLAIN, LOCKED_BOB, OWNED_ALICE, MERGED, NO_TICKET, PERSONAL, NO_REPLY,
	CHANGED_BY_BOB, CHANGED_BY_ALICE, NEW_TICKET,
    };
    unsigned seed = 4242;
    size_t  planned_clean = 0;

#define RND(n) ((seed = seed * 1103515245 + 12345), (seed >> 16) % (n))
    for (int round = 0; round < 4000; round++) {
	struct plan_case c;
	struct command_block *b = 0;
	struct apply_plan *p;
	char    text[1024];
	size_t  len = 0;
	size_t  n = 1 + RND(6);
	const struct conf_agent *me;
	const struct conf_queue *final;

	for (size_t i = 0; i < n; i++) {
	    const char *l = lines[RND(sizeof(lines) / sizeof(lines[0]))];

	    len += snprintf(text + len, sizeof(text) - len, "%s\n", l);
	}
	memset(&c, 0, sizeof(c));
	c.name = "random";
	c.agent = agents[RND(4)];
	c.setup = setups[RND(sizeof(setups) / sizeof(setups[0]))];
	c.block = text;
	c.has_text = RND(2);
	c.target = (enum target) RND(3);
	p = run_case(&c, &b);
	me = conf_agent_find(conf, c.agent);
	final = conf_queue_find(conf, p->change.queue ? p->change.queue : "Helpdesk");
	/* Every command of a parsed block on a usable ticket has an outcome. */
	if (b->error_count == 0 && p->n_general == 0)
	    for (size_t i = 0; i < b->count; i++)
		CU_ASSERT_PTR_NOT_NULL_FATAL(p->outcomes[i]);
	if (c.setup == MERGED || c.setup == NO_TICKET)
	    CU_ASSERT(p->n_errors > 0);
	if (p->n_errors == 0 && c.setup != PERSONAL) {
	    planned_clean++;
	    /* Only agents of the ticket's queue get a clean plan. */
	    CU_ASSERT(conf_agent_works(me, conf_queue_find(conf, "Helpdesk")));
	    if (p->change.queue)
		CU_ASSERT(conf_agent_works(me, final));
	    if (p->change.set_owner && p->change.owner)
		CU_ASSERT(conf_agent_works(conf_agent_find(conf, p->change.owner),
					   final));
	    if (p->set_state)
		CU_ASSERT((p->pending_until != 0)
			  == (strncmp(p->state, "pending", 7) == 0));
	    CU_ASSERT(!(p->merge_into && p->set_state));
	    if (c.setup == LOCKED_BOB && strcmp(c.agent, "bob") != 0
		&& (p->change.set_owner || p->change.lock == 1
		    || p->mode == APPLY_MODE_REPLY))
		CU_ASSERT(p->force);
	}
	apply_plan_free(&p);
	lmtp_command_block_free(&b);
    }
#undef RND
    /* The generator must reach clean plans, or the checks above say little. */
    CU_ASSERT(planned_clean > 100);
}

static void test_lost_update(void)
{
    struct store_ticket t;

    memset(&t, 0, sizeof(t));
    /* Never changed. */
    CU_ASSERT_EQUAL(apply_lost_update(&t, STORE_FIELD_OWNER, 5, "alice"), 0);
    t.changes[STORE_FIELD_OWNER].revision = 10;
    t.changes[STORE_FIELD_OWNER].who = "bob";
    CU_ASSERT_EQUAL(apply_lost_update(&t, STORE_FIELD_OWNER, 5, "alice"), 1);
    CU_ASSERT_EQUAL(apply_lost_update(&t, STORE_FIELD_OWNER, 10, "alice"), 0);
    CU_ASSERT_EQUAL(apply_lost_update(&t, STORE_FIELD_OWNER, 11, "alice"), 0);
    CU_ASSERT_EQUAL(apply_lost_update(&t, STORE_FIELD_OWNER, 5, "BOB"), 0);
    CU_ASSERT_EQUAL(apply_lost_update(&t, STORE_FIELD_STATE, 5, "alice"), 0);
    /* Tokens carry 16 bits: revisions wrap. */
    t.changes[STORE_FIELD_OWNER].revision = 65536 + 3;
    CU_ASSERT_EQUAL(apply_lost_update(&t, STORE_FIELD_OWNER, 65534, "alice"), 1);
    CU_ASSERT_EQUAL(apply_lost_update(&t, STORE_FIELD_OWNER, 4, "alice"), 0);
}

/* conversions - the printf conversions of a format, e.g. "s.*su" */

static void conversions(const char *fmt, char *out, size_t len)
{
    size_t  o = 0;

    for (const char *p = fmt; *p && o + 4 < len; p++) {
	if (*p != '%')
	    continue;
	p++;
	while (*p && strchr("-+ #0123456789.*", *p)) {
	    if (*p == '*')
		out[o++] = '*';
	    p++;
	}
	while (*p && strchr("hlzjt", *p))
	    out[o++] = *p++;
	if (*p == 0)
	    break;
	out[o++] = *p;
    }
    out[o] = 0;
}

/* test_catalog - every French text keeps its format's conversions */

static void test_catalog(void)
{
    const char *en, *fr;
    char    a[64], b[64];
    size_t  i;

    for (i = 0; lmtp_catalog_at(i, &en, &fr); i++) {
	conversions(en, a, sizeof(a));
	conversions(fr, b, sizeof(b));
	if (strcmp(a, b) != 0)
	    fprintf(stderr, "catalog entry %zu: \"%s\" has %s, \"%s\" has %s\n",
		    i, en, a, fr, b);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_STRING_EQUAL(lmtp_catalog("fr", en), fr);
	CU_ASSERT_PTR_EQUAL(lmtp_catalog("en", en), en);
	CU_ASSERT_PTR_EQUAL(lmtp_catalog(0, en), en);
    }
    CU_ASSERT(i > 100);
    CU_ASSERT_STRING_EQUAL(lmtp_catalog("fr", "not in the catalog"), "not in the catalog");
}

/* test_french - a French agent reads French outcomes and parse errors */

static void test_french(void)
{
    struct command_block *b = 0;
    struct apply_plan *p;

    p = plan_of("francois", PLAIN, "#take\n#queue Nowhere\n", &b);
    CU_ASSERT_STRING_EQUAL(p->outcomes[0], "ok : propriétaire francois, verrouillé");
    CU_ASSERT_STRING_EQUAL(p->outcomes[1], "erreur : file inconnue « Nowhere »");
    apply_plan_free(&p);
    lmtp_command_block_free(&b);
    p = plan_of("francois", LOCKED_BOB, "#take\n", &b);
    CU_ASSERT_STRING_EQUAL(p->outcomes[0],
			   "refusé : verrouillé par bob (ajoutez #force pour passer outre)");
    apply_plan_free(&p);
    lmtp_command_block_free(&b);
    {
	struct command_limits lim = {0, 0, "fr"};

	CU_ASSERT_EQUAL(lmtp_command_parse("#stauts closed\n#priority 9\n", &lim, &b), -1);
	CU_ASSERT_EQUAL_FATAL(b->error_count, 2);
	CU_ASSERT_STRING_EQUAL(b->errors[0].message, "commande inconnue « #stauts »");
	CU_ASSERT_PTR_NOT_NULL(strstr(b->errors[1].message, "#priority : priority "
				      "incorrect « 9 » (1-5, très basse"));
	lmtp_command_block_free(&b);
    }
}

static void test_auth_results(void)
{
    static const struct {
	const char *value;
	const char *method;
	const char *domain;
	int     pass;
    } cases[] = {
	{"mx.example.org; dkim=pass header.d=agents.test header.s=s1",
	 "dkim", "agents.test", 1},
	{"MX.Example.Org 1; dkim=pass (good signature) header.d=Agents.Test",
	 "dkim", "agents.test", 1},
	{"mx.example.org; dkim=pass header.i=@agents.test", "dkim", "agents.test", 1},
	{"mx.example.org; dkim=pass header.d=other.test", "dkim", "agents.test", 0},
	{"mx.example.org; dkim=fail header.d=agents.test", "dkim", "agents.test", 0},
	{"evil.example; dkim=pass header.d=agents.test", "dkim", "agents.test", 0},
	{"mx.example.org; spf=pass smtp.mailfrom=agents.test;\r\n"
	 " dmarc=pass (p=reject) header.from=agents.test", "dmarc", "agents.test", 1},
	{"mx.example.org; dmarc=pass header.from=other.test", "dmarc", "agents.test", 0},
	{"mx.example.org; dmarc=none header.from=agents.test", "dmarc", "agents.test", 0},
	{"mx.example.org (dkim=pass header.d=agents.test); none", "dkim", "agents.test", 0},
	{"mx.example.org; dkim=pass header.d=\"agents.test\"", "dkim", "agents.test", 1},
	{"", "dkim", "agents.test", 0},
	{";;;", "dkim", "agents.test", 0},
	{"mx.example.org; dkim", "dkim", "agents.test", 0},
	{"mx.example.org; dkimx=pass header.d=agents.test", "dkim", "agents.test", 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	int     got = lmtp_auth_results_pass(cases[i].value, "mx.example.org",
					     cases[i].method, cases[i].domain);

	if (got != cases[i].pass)
	    fprintf(stderr, "auth-results case %zu: got %d\n", i, got);
	CU_ASSERT_EQUAL(got, cases[i].pass);
    }
    CU_ASSERT_EQUAL(lmtp_auth_results_pass(0, "mx", "dkim", "a"), 0);
}

/* rm_entry - nftw callback */

static int rm_entry(const char *path, const struct stat *st, int flag,
		            struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return (remove(path));
}

int     main(void)
{
    CU_pSuite suite;
    CU_ErrorCode rc;
    unsigned bad;
    char   *path;
    char   *errors = 0;
    FILE   *fp;

    setenv("TZ", "UTC", 1);
    if (mkdtemp(root) == 0)
	return (1);
    path = mem_printf("%s/postdesk.conf", root);
    if ((fp = fopen(path, "w")) == 0)
	return (1);
    fputs(conf_text, fp);
    fclose(fp);
    if ((conf = conf_load(path, &errors)) == 0) {
	fprintf(stderr, "conf_load: %s\n", errors);
	return (1);
    }
    mem_free(path);
    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    suite = CU_add_suite("apply", 0, 0);
    CU_add_test(suite, "rights and outcomes of every command", test_table);
    CU_add_test(suite, "planned changes", test_changes);
    CU_add_test(suite, "lost updates", test_lost_update);
    CU_add_test(suite, "random command blocks", test_random_blocks);
    CU_add_test(suite, "French catalog keeps the conversions", test_catalog);
    CU_add_test(suite, "a French agent's outcomes", test_french);
    CU_add_test(suite, "Authentication-Results", test_auth_results);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    conf_unref(&conf);
    nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
