/*++
/* NAME
/*	loop 3
/* SUMMARY
/*	auto-reply loop protection: may this mail be acknowledged?
/* SYNOPSIS
/*	#include <notify.h>
/*
/*	int	notify_may_acknowledge(conf, facts, why_r)
/*	const struct conf *conf;
/*	const struct notify_mail_facts *facts;
/*	const char **why_r;
/*
/*	#include "notify_private.h"
/*
/*	int	notify_robot_address(addr)
/*	int	notify_postdesk_address(conf, addr)
/*	int	notify_address_ok(addr)
/* DESCRIPTION
/*	notify_may_acknowledge() is a pure decision (RFC 3834 section 2
/*	and what OTOBO users complain about). The rules, in this order;
/*	the first that holds says no and names itself in *why_r (a
/*	static string):
/* .IP loop
/*	the mail carries our own X-Postdesk-Loop header;
/* .IP "null sender"
/*	the envelope sender is null (a bounce or another auto-reply);
/* .IP automatic
/*	the mail is automatic (store_message.automatic: Auto-Submitted,
/*	Precedence bulk/junk/list, List-Id, ...);
/* .IP "no address"
/*	there is no From: address to answer;
/* .IP "bad address"
/*	the From: address cannot be written safely in a header or given
/*	to SMTP (control characters, spaces, specials, no domain);
/* .IP "robot sender"
/*	the local part of the From: address or of the envelope sender
/*	(a "+extension" ignored, case-insensitive) is mailer-daemon,
/*	postmaster, abuse, listserv, majordomo, or starts with noreply,
/*	no-reply, no_reply, no.reply, donotreply, do-not-reply,
/*	do_not_reply, bounce or owner-, or ends with -request, -bounces,
/*	-bounce or -owner;
/* .IP "postdesk address"
/*	the From: address or the envelope sender is one of postdesk's
/*	own: a queue address (a "+extension" ignored), an address in
/*	conf_domain() or in one of conf_dedicated_domains() (which covers
/*	the command addresses);
/* .IP follow-up
/*	the mail is no new ticket.
/* .PP
/*	Otherwise it returns 1 (the caller then applies the rate limit,
/*	store_ack_charge()).
/*
/*	notify_address_ok() accepts local@domain made of printable ASCII
/*	without spaces or the specials ()<>,;:\\"[] and at most 254
/*	bytes; it is what may be written in To: and given as an SMTP
/*	recipient.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>
#include <strings.h>

#include "util.h"
#include "conf.h"
#include "notify_private.h"

#define ADDRESS_MAX	254

/* local_part - the local part of addr without +extension, lowercase */

static void local_part(const char *addr, char *out, size_t size)
{
    size_t  n = strcspn(addr, "@");
    size_t  plus = strcspn(addr, "+");

    if (plus < n)
	n = plus;
    if (n >= size)
	n = size - 1;
    memcpy(out, addr, n);
    out[n] = 0;
    str_lower(out);
}

/* ends_with - does s end with suffix? */

static int ends_with(const char *s, const char *suffix)
{
    size_t  n = strlen(s), m = strlen(suffix);

    return (n > m && strcmp(s + n - m, suffix) == 0);
}

/* notify_robot_address - a local part that no person reads */

int     notify_robot_address(const char *addr)
{
    static const char *const exact[] = {
	"mailer-daemon", "postmaster", "abuse", "listserv", "majordomo", 0,
    };
    static const char *const prefix[] = {
	"noreply", "no-reply", "no_reply", "no.reply", "donotreply",
	"do-not-reply", "do_not_reply", "bounce", "owner-", 0,
    };
    static const char *const suffix[] = {
	"-request", "-bounces", "-bounce", "-owner", 0,
    };
    char    lp[128];
    const char *const *w;

    if (addr == 0 || *addr == 0)
	return (0);
    local_part(addr, lp, sizeof(lp));
    for (w = exact; *w; w++)
	if (strcmp(lp, *w) == 0)
	    return (1);
    for (w = prefix; *w; w++)
	if (strncmp(lp, *w, strlen(*w)) == 0)
	    return (1);
    for (w = suffix; *w; w++)
	if (ends_with(lp, *w))
	    return (1);
    return (0);
}

/* notify_postdesk_address - one of postdesk's own addresses? */

int     notify_postdesk_address(const struct conf *conf, const char *addr)
{
    const char *at;
    const char *const *d;

    if (addr == 0 || *addr == 0)
	return (0);
    if (conf_queue_by_address(conf, addr) != 0)
	return (1);
    if ((at = strrchr(addr, '@')) == 0)
	return (0);
    at++;
    if (strcasecmp(at, conf_domain(conf)) == 0)
	return (1);
    for (d = conf_dedicated_domains(conf); *d; d++)
	if (strcasecmp(at, *d) == 0)
	    return (1);
    return (0);
}

/* notify_address_ok - safe in a header and as an SMTP recipient */

int     notify_address_ok(const char *addr)
{
    const char *at;
    const char *p;

    if (addr == 0 || *addr == 0 || strlen(addr) > ADDRESS_MAX)
	return (0);
    for (p = addr; *p; p++)
	if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f
	    || strchr("()<>,;:\\\"[]", *p))
	    return (0);
    if ((at = strchr(addr, '@')) == 0 || at == addr || at[1] == 0
	|| strchr(at + 1, '@') != 0 || at[1] == '.')
	return (0);
    return (1);
}

/* notify_may_acknowledge - see DESCRIPTION */

int     notify_may_acknowledge(const struct conf *conf,
			               const struct notify_mail_facts *f,
			               const char **why_r)
{
    const char *why = 0;
    const char *sender = f->sender ? f->sender : "";
    const char *from = f->from ? f->from : "";

    if (f->own_loop)
	why = "loop";
    else if (*sender == 0)
	why = "null sender";
    else if (f->automatic)
	why = "automatic";
    else if (*from == 0)
	why = "no address";
    else if (!notify_address_ok(from))
	why = "bad address";
    else if (notify_robot_address(from) || notify_robot_address(sender))
	why = "robot sender";
    else if (notify_postdesk_address(conf, from)
	     || notify_postdesk_address(conf, sender))
	why = "postdesk address";
    else if (f->follow_up)
	why = "follow-up";
    if (why_r)
	*why_r = why;
    return (why == 0);
}
