/*++
/* NAME
/*	recipients 3
/* SUMMARY
/*	which agents hear about an event
/* SYNOPSIS
/*	#include <notify.h>
/*
/*	const char *notify_event_name(type)
/*	enum notify_event_type type;
/*
/*	size_t	notify_recipients(conf, t, event, now, out, max)
/*	const struct conf *conf;
/*	const struct store_ticket *t;
/*	const struct notify_event *event;
/*	time_t	now;
/*	const struct conf_agent **out;
/*	size_t	max;
/*
/*	#include "notify_private.h"
/*
/*	char	*notify_addr_spec(display)
/*	int	notify_agent_away(agent, now)
/* DESCRIPTION
/*	notify_event_name() returns the name of an event as written in an
/*	agent's notify setting ("new-ticket", "follow-up", "new-note",
/*	"lock", "owner", "move", "escalation", "pending").
/*
/*	notify_recipients() is a pure function of the configuration, the
/*	ticket and the event. The candidates, by event ("subscribers":
/*	the agents whose subscribe list names the ticket's queue;
/*	"watchers": the ticket's, t->watchers, then the event's,
/*	event->watchers):
/* .IP new-ticket
/*	the subscribers of the ticket's queue;
/* .IP follow-up
/*	the owner when the ticket is locked, else the subscribers; and
/*	the watchers;
/* .IP new-note
/*	the owner (locked or not), the watchers, the agents named with
/*	inform;
/* .IP "lock, owner"
/*	the (new) owner, t->owner, and the watchers;
/* .IP move
/*	the watchers and the subscribers of the new queue, t->queue;
/* .IP "escalation, pending"
/*	the owner when the ticket is locked, else the subscribers; and
/*	the watchers.
/* .PP
/*	Then each candidate is dropped when: the login is unknown to the
/*	configuration (no longer an agent); the agent is not active
/*	(active = no); the agent's groups do not
/*	include the group of the ticket's queue (the agent may not work
/*	it; skipped when the queue is unknown to the configuration); the
/*	agent's notify setting lacks the event; today (the server's
/*	local date of now) is inside one of the agent's out_of_office
/*	periods; the agent is the actor (event->actor, case-insensitive),
/*	or one of the agent's addresses wrote the event's article (an
/*	agent writing as a customer, or a note's author); the agent was
/*	already taken. The agents are returned in candidate order (owner,
/*	watchers, informed, then subscribers in configuration order),
/*	borrowed from conf, at most max.
/*
/*	notify_addr_spec() returns the lowercased addr-spec of a display
/*	form ("Name <a@b>" or "a@b"), "" when there is none.
/*
/*	notify_agent_away() says whether the server's local date of now
/*	falls in one of the agent's out-of-office periods (both days
/*	included).
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>
#include <strings.h>

#include "util.h"
#include "conf.h"
#include "store.h"
#include "notify_private.h"

#define CANDIDATES_MAX	1024

/* notify_event_name - the notify setting's name of an event */

const char *notify_event_name(enum notify_event_type type)
{
    static const char *const names[] = {
	"new-ticket", "follow-up", "new-note", "lock", "owner", "move",
	"escalation", "pending",
    };

    return ((unsigned) type < sizeof(names) / sizeof(names[0])
	    ? names[type] : "unknown");
}

/* trim - remove blanks at both ends, in place */

static void trim(char *s)
{
    char   *p = s, *e;

    while (*p == ' ' || *p == '\t')
	p++;
    e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
	e--;
    memmove(s, p, e - p);
    s[e - p] = 0;
}

/* notify_addr_spec - the address inside a display form */

char   *notify_addr_spec(const char *display)
{
    const char *lt, *gt;
    char   *s;

    if (display == 0)
	return (mem_strdup(""));
    if ((lt = strrchr(display, '<')) != 0 && (gt = strchr(lt, '>')) != 0)
	s = mem_strndup(lt + 1, gt - lt - 1);
    else if (strchr(display, '@') != 0)
	s = mem_strdup(display);
    else
	return (mem_strdup(""));
    trim(s);
    return (str_lower(s));
}

/* notify_agent_away - out of office on the local date of now? */

int     notify_agent_away(const struct conf_agent *a, time_t now)
{
    struct tm tm;
    struct tm day;
    int64_t d;

    if (a->n_out_of_office == 0 || localtime_r(&now, &tm) == 0)
	return (0);
    memset(&day, 0, sizeof(day));
    day.tm_year = tm.tm_year;
    day.tm_mon = tm.tm_mon;
    day.tm_mday = tm.tm_mday;
    d = (int64_t) timegm(&day);			/* periods hold UTC midnights */
    for (size_t i = 0; i < a->n_out_of_office; i++)
	if (a->out_of_office[i].start <= d && d <= a->out_of_office[i].end)
	    return (1);
    return (0);
}

/* has_word - is word in a NULL-terminated vector (case-insensitive)? */

static int has_word(const char *const *vec, const char *word)
{
    for (; vec && *vec; vec++)
	if (strcasecmp(*vec, word) == 0)
	    return (1);
    return (0);
}

/* has_exact - is word in a NULL-terminated vector (exactly)? */

static int has_exact(const char *const *vec, const char *word)
{
    for (; vec && *vec; vec++)
	if (strcmp(*vec, word) == 0)
	    return (1);
    return (0);
}

struct cands {
    const struct conf_agent *a[CANDIDATES_MAX];
    size_t  n;
};

/* add_login - a candidate by login; unknown logins are dropped */

static void add_login(const struct conf *conf, struct cands *c, const char *login)
{
    const struct conf_agent *a;

    if (login && *login && c->n < CANDIDATES_MAX
	&& (a = conf_agent_find(conf, login)) != 0)
	c->a[c->n++] = a;
}

/* add_subscribers - every agent subscribed to queue */

static void add_subscribers(const struct conf *conf, struct cands *c,
			            const char *queue)
{
    for (size_t i = 0; queue && i < conf_agent_count(conf); i++) {
	const struct conf_agent *a = conf_agent_at(conf, i);

	if (has_word(a->subscribe, queue) && c->n < CANDIDATES_MAX)
	    c->a[c->n++] = a;
    }
}

/* add_watchers - the ticket's watchers, then the event's */

static void add_watchers(const struct conf *conf, struct cands *c,
			         const struct store_ticket *t,
			         const struct notify_event *ev)
{
    size_t  i;

    for (i = 0; t->watchers && i < t->n_watchers; i++)
	add_login(conf, c, t->watchers[i]);
    for (i = 0; ev->watchers && i < ev->n_watchers; i++)
	add_login(conf, c, ev->watchers[i]);
}

/* owner_or_queue - the owner of a locked ticket and the watchers, else
   the watchers and the subscribers */

static void owner_or_queue(const struct conf *conf, struct cands *c,
			           const struct store_ticket *t,
			           const struct notify_event *ev)
{
    int     locked = t->locked && t->owner && *t->owner;

    if (locked)
	add_login(conf, c, t->owner);
    add_watchers(conf, c, t, ev);
    if (!locked)
	add_subscribers(conf, c, t->queue);
}

/* candidates - by event, before filtering */

static void candidates(const struct conf *conf, const struct store_ticket *t,
		               const struct notify_event *ev, struct cands *c)
{
    size_t  i;

    switch (ev->type) {
    case NOTIFY_NEW_TICKET:
	add_subscribers(conf, c, t->queue);
	break;
    case NOTIFY_MOVE:
	add_watchers(conf, c, t, ev);
	add_subscribers(conf, c, t->queue);
	break;
    case NOTIFY_FOLLOW_UP:
    case NOTIFY_ESCALATION:
    case NOTIFY_PENDING:
	owner_or_queue(conf, c, t, ev);
	break;
    case NOTIFY_NEW_NOTE:
	add_login(conf, c, t->owner);
	add_watchers(conf, c, t, ev);
	for (i = 0; ev->informed && i < ev->n_informed; i++)
	    add_login(conf, c, ev->informed[i]);
	break;
    case NOTIFY_LOCK:
    case NOTIFY_OWNER:
	add_login(conf, c, t->owner);
	add_watchers(conf, c, t, ev);
	break;
    }
}

/* article_author - the agent whose address wrote the event's article */

static const struct conf_agent *article_author(const struct conf *conf,
					               const struct store_ticket *t,
					               uint32_t index)
{
    const struct conf_agent *a = 0;

    for (size_t i = 0; index && i < t->n_articles; i++) {
	if (t->articles[i].index == index) {
	    char   *addr = notify_addr_spec(t->articles[i].from);

	    if (*addr)
		a = conf_agent_by_email(conf, addr);
	    mem_free(addr);
	    break;
	}
    }
    return (a);
}

/* notify_recipients - see DESCRIPTION */

size_t  notify_recipients(const struct conf *conf, const struct store_ticket *t,
			          const struct notify_event *ev, time_t now,
			          const struct conf_agent **out, size_t max)
{
    struct cands *c = mem_zalloc(sizeof(*c));
    const struct conf_queue *q = conf_queue_find(conf, t->queue ? t->queue : "");
    const struct conf_agent *author = article_author(conf, t, ev->article);
    const char *event = notify_event_name(ev->type);
    size_t  n = 0;

    candidates(conf, t, ev, c);
    for (size_t i = 0; i < c->n && n < max; i++) {
	const struct conf_agent *a = c->a[i];
	size_t  j;

	if (!a->active)
	    continue;
	if (q && !has_exact(a->groups, q->group))
	    continue;
	if (!has_exact(a->notify, event))
	    continue;
	if (notify_agent_away(a, now))
	    continue;
	if ((ev->actor && strcasecmp(ev->actor, a->login) == 0) || a == author)
	    continue;
	for (j = 0; j < n && out[j] != a; j++)
	     /* void */ ;
	if (j < n)
	    continue;
	out[n++] = a;
    }
    mem_free(c);
    return (n);
}
