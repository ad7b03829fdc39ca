/*++
/* NAME
/*	store_audit 3
/* SUMMARY
/*	audit records of agents' command mail
/* SYNOPSIS
/*	#include <store.h>
/*
/*	int	store_ticket_audit(batch, log_id, number, who, what, text, at)
/*	struct store_batch *batch;
/*	const char *log_id;
/*	const char *number;
/*	const char *who;
/*	const char *what;
/*	const char *text;
/*	time_t	at;
/* DESCRIPTION
/*	store_ticket_audit() appends, in the batch, one history record to
/*	a ticket: who, what (e.g. "commands", "quarantine"), and text as
/*	the new value (cut to STORE_AUDIT_MAX bytes on a character
/*	boundary). The command block of an agent's mail is kept this way
/*	(never in an article, so never sent to a requester). The ticket's
/*	`changed' is not moved: an audit record is no change of the
/*	ticket.
/* DIAGNOSTICS
/*	STORE_NOTFOUND for an unknown ticket; store errors as usual.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>

#include "store_private.h"

#define STORE_AUDIT_MAX	4096

/* store_ticket_audit - one history record */

int     store_ticket_audit(struct store_batch *b, const char *log_id,
			           const char *number, const char *who,
			           const char *what, const char *text, time_t at)
{
    struct store_ticket_rec rec;
    char   *cut;
    size_t  len;
    int     status;

    if (b == 0 || number == 0 || what == 0)
	return (STORE_PERM);
    if (b->failed)
	return (b->failed_status);
    b->wrote = 0;
    memset(&rec, 0, sizeof(rec));
    if ((status = store_batch_ticket_load(b, log_id, number, &rec)) != STORE_OK)
	return (store_batch_settle(b, status));
    len = text ? strlen(text) : 0;
    if (len > STORE_AUDIT_MAX) {
	len = STORE_AUDIT_MAX;
	while (len > 0 && ((unsigned char) text[len] & 0xc0) == 0x80)
	    len--;
    }
    cut = text ? mem_strndup(text, len) : 0;
    status = store_batch_history(b, log_id, &rec, at, who, what, 0, cut);
    if (status == STORE_OK)
	status = store_batch_ticket_put(b, log_id, &rec);
    mem_free(cut);
    store_ticket_fields_free(&rec.t);
    return (store_batch_settle(b, status));
}
