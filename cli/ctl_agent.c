/*++
/* NAME
/*	ctl_agent 3
/* SUMMARY
/*	the agent-address verb of postdeskctl
/* SYNOPSIS
/*	#include "ctl_private.h"
/*
/*	int	ctl_agent_address(conf, login, now, out, err)
/*	const struct conf *conf;
/*	const char *login;
/*	time_t	now;
/*	struct buf *out;
/*	struct buf *err;
/* DESCRIPTION
/*	ctl_agent_address() appends to out, with a newline, the personal
/*	signed command address of the agent login (case-insensitive) of
/*	conf: <command_localpart>+<token>@<domain>, whose token names the
/*	agent, no ticket (0), revision 0, and the issue day of now. Mail
/*	to it reaches postdesk-lmtpd as a command mail that is about no
/*	ticket (e.g. "#list"); like every token it is good for
/*	token_max_age days and a new key_epoch revokes it.
/*
/*	The key is read here, in the calling process, from secret_file
/*	(sigaddr_key_load()): the verb needs neither the daemon nor the
/*	store, but it needs the right to read the key (root, or the
/*	postdesk user).
/*
/*	For an agent with "active = no" the address is printed, and one
/*	warning line goes to err: postdesk-lmtpd refuses its commands.
/* DIAGNOSTICS
/*	A sysexits(3) status with one line in err on failure: 0 done;
/*	64 (EX_USAGE) "postdeskctl: no such agent: LOGIN"; 78
/*	(EX_CONFIG) the key cannot be loaded.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>

#include <conf.h>
#include <sigaddr.h>

#include "ctl_private.h"

/* ctl_agent_address - print an agent's personal signed address */

int     ctl_agent_address(const struct conf *conf, const char *login,
			          time_t now, struct buf *out, struct buf *err)
{
    const struct conf_agent *agent;
    struct sigaddr_claims claims;
    struct sigaddr_key *key = 0;
    char   *errors = 0;
    char   *clean;
    char   *addr;

    if (login == 0 || *login == 0
	|| (agent = conf_agent_find(conf, login)) == 0) {
	clean = str_sanitize(login ? login : "", 64);
	buf_printf(err, "%s: no such agent: %s\n", CTL_PROGNAME, clean);
	mem_free(clean);
	return (UTIL_EX_USAGE);
    }
    if (sigaddr_key_load(conf_secret_file(conf), conf_key_epoch(conf), &key,
			 &errors) < 0) {
	clean = str_sanitize(errors ? errors : "unknown error", 200);
	buf_printf(err, "%s: agent-address: %s\n", CTL_PROGNAME, clean);
	mem_free(clean);
	mem_free(errors);
	return (UTIL_EX_CONFIG);
    }
    memset(&claims, 0, sizeof(claims));
    claims.key_epoch = conf_key_epoch(conf);
    claims.agent_id = sigaddr_agent_id(agent->login);
    claims.ticket = 0;
    claims.revision = 0;
    claims.issue_day = sigaddr_day(now);
    addr = sigaddr_address(key, conf_command_localpart(conf), conf_domain(conf),
			   &claims);
    buf_printf(out, "%s\n", addr);
    if (!agent->active)
	buf_printf(err, "%s: warning: agent %s is not active: postdesk refuses "
		   "its commands\n", CTL_PROGNAME, agent->login);
    mem_free(addr);
    sigaddr_key_free(&key);
    return (UTIL_EX_OK);
}
