#ifndef POSTDESK_SIGADDR_H
#define POSTDESK_SIGADDR_H

/*++
/* NAME
/*	sigaddr 3h
/* SUMMARY
/*	signed command addresses: desk+<token>@domain
/* SYNOPSIS
/*	#include <sigaddr.h>
/* DESCRIPTION
/*	Every mail postdesk sends to an agent carries a Reply-To of the form
/*	<command_localpart>+<token>@<domain>. The token is lowercase base32
/*	(RFC 4648 alphabet, lowercased, no padding) of a small payload and a
/*	truncated HMAC-SHA256 of it (80 bits), so that the local part stays
/*	under 64 characters and survives case folding.
/*
/*	Payload (18 bytes, big-endian): version (1), key epoch (1), agent id
/*	(4: the first 4 bytes of SHA-256 of the lowercase login), ticket
/*	number (8, 0 for none), ticket revision (2), issue day (2: days
/*	since 2020-01-01 UTC). Token: 28 bytes, 45 base32 characters.
/*
/*	The milter verifies only the MAC, the epoch and the age (it has no
/*	store); lmtpd also checks that the agent id belongs to an active
/*	agent and that the From: is one of that agent's addresses.
/*
/*	This is its own small library (OpenSSL only) so that the milter can
/*	link it without the outbound-mail code.
/*--*/

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIGADDR_VERSION		1
#define SIGADDR_TOKEN_LEN	45	/* base32 characters */
#define SIGADDR_MAC_BYTES	10	/* 80 bits */

struct sigaddr_key;

struct sigaddr_claims {
    unsigned key_epoch;			/* 0..255 */
    uint32_t agent_id;			/* sigaddr_agent_id(login) */
    uint64_t ticket;			/* ticket number as an integer, 0: none */
    uint16_t revision;			/* ticket revision, mod 65536 */
    uint16_t issue_day;			/* days since 2020-01-01 UTC */
};

enum sigaddr_status {
    SIGADDR_OK = 0,
    SIGADDR_BAD = -1,			/* malformed, tampered, wrong epoch */
    SIGADDR_EXPIRED = -2,		/* valid MAC, too old (or from the future) */
};

/*
 * sigaddr_key_load - read the HMAC key from a file (at least 32 bytes of
 * key material; a trailing newline is part of it). Refuses a file that
 * is readable by group or others. Returns 0, or -1 with *error_r set
 * (mem_free()). The key is freed with sigaddr_key_free(), which wipes it.
 */
extern int sigaddr_key_load(const char *path, unsigned epoch,
			            struct sigaddr_key **key_r, char **error_r);
/* sigaddr_key_create - a key from bytes (tests); len >= 16 */
extern struct sigaddr_key *sigaddr_key_create(const void *bytes, size_t len,
					              unsigned epoch);
extern void sigaddr_key_free(struct sigaddr_key **keyp);
extern unsigned sigaddr_key_epoch(const struct sigaddr_key *);

/* sigaddr_agent_id - the 32-bit id of a login (case-insensitive) */
extern uint32_t sigaddr_agent_id(const char *login);

/* sigaddr_day - the issue day of an instant */
extern uint16_t sigaddr_day(time_t t);

/*
 * sigaddr_token - the token for claims (claims->key_epoch is ignored:
 * the key's epoch is used) into out, NUL-terminated; out must hold
 * SIGADDR_TOKEN_LEN + 1 bytes.
 */
extern void sigaddr_token(const struct sigaddr_key *,
			          const struct sigaddr_claims *,
			          char out[SIGADDR_TOKEN_LEN + 1]);

/* sigaddr_address - "<localpart>+<token>@<domain>", newly allocated
   (mem_free()). */
extern char *sigaddr_address(const struct sigaddr_key *, const char *localpart,
			             const char *domain,
			             const struct sigaddr_claims *);

/*
 * sigaddr_verify - check a token (case-insensitive) at time now: MAC in
 * constant time, version, the key's epoch, and age (issue day at most
 * max_age_days before now, and not in the future by more than a day).
 * Fills claims_r when the MAC is good (also for EXPIRED).
 */
extern enum sigaddr_status sigaddr_verify(const struct sigaddr_key *,
					          const char *token, time_t now,
					          unsigned max_age_days,
				              struct sigaddr_claims *claims_r);

/*
 * sigaddr_match - if addr (an envelope recipient) is
 * "<localpart>+<token>@<domain>" (case-insensitive), copy the token
 * into token_out and return 1; else 0. Verifies nothing.
 */
extern int sigaddr_match(const char *addr, const char *localpart,
			         const char *domain,
			         char token_out[SIGADDR_TOKEN_LEN + 1]);

/* sigaddr_hmac - the full HMAC-SHA256 (32 bytes) of data with the key,
   for other codes made with the same secret (#confirm) */
extern void sigaddr_hmac(const struct sigaddr_key *, const void *data,
			         size_t len, unsigned char out[32]);

#endif
