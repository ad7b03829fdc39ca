/*++
/* NAME
/*	access 3
/* SUMMARY
/*	read access to the notify bundle for other modules
/* SYNOPSIS
/*	#include <notify.h>
/*
/*	const struct sigaddr_key *notify_key(notify)
/*	const struct notify *notify;
/* DESCRIPTION
/*	notify_key() returns the HMAC key of signed command addresses that
/*	the bundle owns (NULL when it was created without one). lmtpd uses
/*	it to verify the token of an envelope recipient with the very key
/*	whose tokens the bundle's mails carry. The key is borrowed: valid
/*	while the caller holds a reference to the bundle.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include "notify_private.h"

/* notify_key - the bundle's key */

const struct sigaddr_key *notify_key(const struct notify *n)
{
    return (n ? n->key : 0);
}
