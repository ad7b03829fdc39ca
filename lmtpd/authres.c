/*++
/* NAME
/*	authres 3
/* SUMMARY
/*	reading Authentication-Results headers (RFC 8601)
/* SYNOPSIS
/*	#include <lmtp.h>
/*
/*	int	lmtp_auth_results_pass(value, authserv_id, method, domain)
/*	const char *value;
/*	const char *authserv_id;
/*	const char *method;
/*	const char *domain;
/* DESCRIPTION
/*	lmtp_auth_results_pass() reads one header value of the form
/*	"authserv-id [version]; method=result [reason] [ptype.prop=value
/*	...]; ..." and returns 1 when it was written by authserv_id
/*	(case-insensitive) and one of its results is method=pass with a
/*	property naming domain: for "dkim" header.d=domain, or header.i
/*	whose part after '@' is domain; for "dmarc" header.from=domain;
/*	any other method needs no property. Comments "(...)" and quoted
/*	values are understood; anything malformed counts as no pass.
/*
/*	Only headers of our own authserv-id count: the milter deletes
/*	incoming copies that claim it, so the ones left were written by
/*	our own MX (DEPS.md, the milter section of the README).
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>
#include <strings.h>

#include <util.h>

#include "lmtp.h"

#define AUTHRES_MAX	(16 * 1024)	/* bytes of one value looked at */

/* strip_comments - copy value without (comments), quotes removed */

static char *strip_comments(const char *value)
{
    size_t  len = strnlen(value, AUTHRES_MAX);
    char   *out = mem_alloc(len + 1);
    size_t  o = 0;
    int     depth = 0;
    int     quoted = 0;

    for (size_t i = 0; i < len; i++) {
	char    c = value[i];

	if (quoted) {
	    if (c == '\\' && i + 1 < len)
		out[o++] = value[++i];
	    else if (c == '"')
		quoted = 0;
	    else
		out[o++] = c;
	} else if (depth > 0) {
	    if (c == '\\' && i + 1 < len)
		i++;
	    else if (c == '(')
		depth++;
	    else if (c == ')')
		depth--;
	} else if (c == '(') {
	    depth = 1;
	    out[o++] = ' ';
	} else if (c == '"') {
	    quoted = 1;
	} else {
	    out[o++] = (c == '\r' || c == '\n' || c == '\t') ? ' ' : c;
	}
    }
    out[o] = 0;
    return (out);
}

/* next_word - the next blank-separated word of *cp, NUL-terminated in place */

static char *next_word(char **cp)
{
    char   *s = *cp;
    char   *start;

    while (*s == ' ')
	s++;
    if (*s == 0) {
	*cp = s;
	return (0);
    }
    start = s;
    while (*s && *s != ' ')
	s++;
    if (*s)
	*s++ = 0;
    *cp = s;
    return (start);
}

/* property_domain - does a "ptype.prop=value" word name domain? */

static int property_domain(const char *word, const char *method,
			           const char *domain)
{
    const char *eq = strchr(word, '=');
    const char *val;
    const char *at;

    if (eq == 0)
	return (0);
    val = eq + 1;
    if (strcasecmp(method, "dkim") == 0) {
	if ((size_t) (eq - word) == 8 && strncasecmp(word, "header.d", 8) == 0)
	    return (strcasecmp(val, domain) == 0);
	if ((size_t) (eq - word) == 8 && strncasecmp(word, "header.i", 8) == 0)
	    return ((at = strrchr(val, '@')) != 0 && strcasecmp(at + 1, domain) == 0);
	return (0);
    }
    if (strcasecmp(method, "dmarc") == 0)
	return ((size_t) (eq - word) == 11 && strncasecmp(word, "header.from", 11) == 0
		&& strcasecmp(val, domain) == 0);
    return (0);
}

/* resinfo_pass - one "method=result props" clause */

static int resinfo_pass(char *clause, const char *method, const char *domain)
{
    char   *cp = clause;
    char   *word = next_word(&cp);
    size_t  mlen = strlen(method);
    int     need_prop;

    if (word == 0 || strncasecmp(word, method, mlen) != 0)
	return (0);
    /* "dkim=pass" or "dkim/1=pass" (a method version) */
    word += mlen;
    if (*word == '/') {
	word++;
	while (*word >= '0' && *word <= '9')
	    word++;
    }
    if (*word != '=' || strcasecmp(word + 1, "pass") != 0)
	return (0);
    need_prop = (strcasecmp(method, "dkim") == 0 || strcasecmp(method, "dmarc") == 0);
    if (!need_prop)
	return (1);
    if (domain == 0 || *domain == 0)
	return (0);
    while ((word = next_word(&cp)) != 0)
	if (property_domain(word, method, domain))
	    return (1);
    return (0);
}

/* lmtp_auth_results_pass - see DESCRIPTION */

int     lmtp_auth_results_pass(const char *value, const char *authserv_id,
			               const char *method, const char *domain)
{
    char   *copy;
    char   *clause;
    char   *save = 0;
    char   *id;
    char   *cp;
    int     pass = 0;

    if (value == 0 || authserv_id == 0 || *authserv_id == 0 || method == 0)
	return (0);
    copy = strip_comments(value);
    if ((clause = strtok_r(copy, ";", &save)) == 0) {
	mem_free(copy);
	return (0);
    }
    cp = clause;
    if ((id = next_word(&cp)) == 0 || strcasecmp(id, authserv_id) != 0) {
	mem_free(copy);
	return (0);
    }
    while (!pass && (clause = strtok_r(0, ";", &save)) != 0)
	pass = resinfo_pass(clause, method, domain);
    mem_free(copy);
    return (pass);
}
