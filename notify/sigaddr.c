/*++
/* NAME
/*	sigaddr 3
/* SUMMARY
/*	signed command addresses: desk+<token>@domain
/* SYNOPSIS
/*	#include <sigaddr.h>
/*
/*	int	sigaddr_key_load(path, epoch, key_r, error_r)
/*	struct sigaddr_key *sigaddr_key_create(bytes, len, epoch)
/*	void	sigaddr_key_free(keyp)
/*	unsigned sigaddr_key_epoch(key)
/*
/*	uint32_t sigaddr_agent_id(login)
/*	uint16_t sigaddr_day(t)
/*
/*	void	sigaddr_token(key, claims, out)
/*	char	*sigaddr_address(key, localpart, domain, claims)
/*	enum sigaddr_status sigaddr_verify(key, token, now, max_age_days,
/*					claims_r)
/*	int	sigaddr_match(addr, localpart, domain, token_out)
/*	void	sigaddr_hmac(key, data, len, out)
/* DESCRIPTION
/*	A token is the lowercase base32 (RFC 4648 alphabet, no padding)
/*	of 28 bytes: an 18-byte big-endian payload (version, key epoch,
/*	agent id, ticket number, ticket revision, issue day) followed by
/*	the first 10 bytes (80 bits) of HMAC-SHA256(key, payload). The 224
/*	bits make 45 characters; the last character carries 4 bits and a
/*	zero bit, which the decoder insists on so that every token has
/*	exactly one spelling (apart from letter case).
/*
/*	sigaddr_key_load() reads the key material (the whole file, at
/*	least 32 bytes, at most 4096; a trailing newline is part of it)
/*	from a regular file that no group or other user may read or
/*	write. On error *error_r is a text for mem_free(). The key is
/*	owned by the caller and released with sigaddr_key_free(), which
/*	wipes it (OPENSSL_cleanse) and sets *keyp to NULL.
/*
/*	sigaddr_key_create() makes a key from len >= 16 bytes (tests).
/*
/*	sigaddr_agent_id() is the first 4 bytes (big-endian) of SHA-256
/*	of the lowercased login. sigaddr_day() counts whole days since
/*	2020-01-01 UTC (0 before that date, 65535 at most).
/*
/*	sigaddr_token() writes the token of claims, with the key's epoch,
/*	to out (SIGADDR_TOKEN_LEN + 1 bytes). sigaddr_address() returns
/*	"localpart+token@domain" (mem_free()).
/*
/*	sigaddr_verify() decodes a token of either letter case, compares
/*	the MAC in constant time (CRYPTO_memcmp), then checks the version,
/*	the key's epoch and the age. claims_r (may be NULL) is filled
/*	whenever the MAC is good.
/*
/*	sigaddr_match() recognises "localpart+token@domain" (no angle
/*	brackets; case-insensitive) where token is 45 base32 characters,
/*	and copies the token, lowercased, into token_out. It verifies
/*	nothing.
/*
/*	sigaddr_hmac() writes the full HMAC-SHA256 of data with the key
/*	to out (32 bytes), for other codes made with the same secret
/*	(the #confirm codes of notify_confirm_code()).
/*
/*	Every function is thread-safe: a key is read-only once made.
/* DIAGNOSTICS
/*	sigaddr_verify() returns SIGADDR_OK, SIGADDR_BAD (malformed,
/*	tampered, other key, other epoch, other version) or SIGADDR_EXPIRED
/*	(good MAC, issued more than max_age_days days ago, or more than a
/*	day in the future). sigaddr_key_create() panics on a short key.
/* SECURITY
/*	The key never appears in a log or an error text. Comparisons of
/*	MACs do not depend on where the first difference is.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <util.h>

#include "sigaddr.h"

#define PAYLOAD_LEN	18
#define RAW_LEN		(PAYLOAD_LEN + SIGADDR_MAC_BYTES)	/* 28 */
#define KEY_MIN_FILE	32
#define KEY_MIN_BYTES	16
#define KEY_MAX_FILE	4096
#define EPOCH_2020	((time_t) 1577836800)	/* 2020-01-01T00:00:00Z */

struct sigaddr_key {
    unsigned char *bytes;
    size_t  len;
    unsigned epoch;
};

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* sigaddr_key_create - a key from bytes */

struct sigaddr_key *sigaddr_key_create(const void *bytes, size_t len, unsigned epoch)
{
    struct sigaddr_key *key;

    if (bytes == 0 || len < KEY_MIN_BYTES)
	log_panic("sigaddr_key_create: key of %zu bytes (at least %d needed)",
		  len, KEY_MIN_BYTES);
    key = mem_zalloc(sizeof(*key));
    key->bytes = mem_memdup(bytes, len);
    key->len = len;
    key->epoch = epoch & 0xff;
    return (key);
}

/* sigaddr_key_free - wipe and release */

void    sigaddr_key_free(struct sigaddr_key **keyp)
{
    struct sigaddr_key *key = keyp ? *keyp : 0;

    if (key == 0)
	return;
    OPENSSL_cleanse(key->bytes, key->len);
    mem_free(key->bytes);
    OPENSSL_cleanse(key, sizeof(*key));
    mem_free(key);
    *keyp = 0;
}

/* sigaddr_key_epoch - the epoch a key signs with */

unsigned sigaddr_key_epoch(const struct sigaddr_key *key)
{
    return (key->epoch);
}

/* read_all - read at most max bytes of fd; -1 on error, else length */

static ssize_t read_all(int fd, unsigned char *buf, size_t max)
{
    size_t  len = 0;
    ssize_t n;

    while (len < max) {
	n = read(fd, buf + len, max - len);
	if (n < 0 && errno == EINTR)
	    continue;
	if (n < 0)
	    return (-1);
	if (n == 0)
	    break;
	len += (size_t) n;
    }
    return ((ssize_t) len);
}

/* sigaddr_key_load - the key from a private file */

int     sigaddr_key_load(const char *path, unsigned epoch,
			         struct sigaddr_key **key_r, char **error_r)
{
    unsigned char buf[KEY_MAX_FILE + 1];
    struct stat st;
    ssize_t len;
    int     fd;

    *key_r = 0;
    *error_r = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
	*error_r = mem_printf("cannot open key file %s: %m", path);
	return (-1);
    }
    if (fstat(fd, &st) < 0) {
	*error_r = mem_printf("cannot stat key file %s: %m", path);
	close(fd);
	return (-1);
    }
    if (!S_ISREG(st.st_mode)) {
	*error_r = mem_printf("key file %s is not a regular file", path);
	close(fd);
	return (-1);
    }
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
	*error_r = mem_printf("key file %s is mode %04o: other users may read "
			      "or change it (chmod 600 %s)", path,
			      (unsigned) (st.st_mode & 07777), path);
	close(fd);
	return (-1);
    }
    len = read_all(fd, buf, sizeof(buf));
    close(fd);
    if (len < 0) {
	*error_r = mem_printf("cannot read key file %s: %m", path);
	return (-1);
    }
    if (len < KEY_MIN_FILE || len > KEY_MAX_FILE) {
	OPENSSL_cleanse(buf, sizeof(buf));
	*error_r = mem_printf("key file %s holds %s bytes (%d to %d needed)",
			      path, len > KEY_MAX_FILE ? "too many" : "too few",
			      KEY_MIN_FILE, KEY_MAX_FILE);
	return (-1);
    }
    *key_r = sigaddr_key_create(buf, (size_t) len, epoch);
    OPENSSL_cleanse(buf, sizeof(buf));
    return (0);
}

/* sigaddr_agent_id - 32 bits of SHA-256 of the lowercase login */

uint32_t sigaddr_agent_id(const char *login)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char   *lower = str_lower(mem_strdup(login ? login : ""));

    SHA256((const unsigned char *) lower, strlen(lower), md);
    mem_free(lower);
    return (((uint32_t) md[0] << 24) | ((uint32_t) md[1] << 16)
	    | ((uint32_t) md[2] << 8) | (uint32_t) md[3]);
}

/* sigaddr_day - days since 2020-01-01 UTC, clamped to 0..65535 */

uint16_t sigaddr_day(time_t t)
{
    int64_t days;

    if (t < EPOCH_2020)
	return (0);
    days = ((int64_t) t - (int64_t) EPOCH_2020) / 86400;
    return (days > 65535 ? 65535 : (uint16_t) days);
}

/* put_be, get_be - big-endian integers of n bytes */

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
	p[i] = (unsigned char) (v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
	v = (v << 8) | p[i];
    return (v);
}

/* compute_mac - the truncated HMAC of a payload */

static void compute_mac(const struct sigaddr_key *key,
			        const unsigned char payload[PAYLOAD_LEN],
			        unsigned char mac[SIGADDR_MAC_BYTES])
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int full_len = 0;

    if (HMAC(EVP_sha256(), key->bytes, (int) key->len, payload, PAYLOAD_LEN,
	     full, &full_len) == 0 || full_len < SIGADDR_MAC_BYTES)
	log_panic("sigaddr: HMAC-SHA256 failed");
    memcpy(mac, full, SIGADDR_MAC_BYTES);
    OPENSSL_cleanse(full, sizeof(full));
}

/* base32_encode - RAW_LEN bytes into SIGADDR_TOKEN_LEN characters */

static void base32_encode(const unsigned char raw[RAW_LEN],
			          char out[SIGADDR_TOKEN_LEN + 1])
{
    unsigned acc = 0;
    int     bits = 0;
    size_t  n = 0;

    for (size_t i = 0; i < RAW_LEN; i++) {
	acc = (acc << 8) | raw[i];
	bits += 8;
	while (bits >= 5) {
	    out[n++] = alphabet[(acc >> (bits - 5)) & 31];
	    bits -= 5;
	}
	acc &= (1u << bits) - 1;
    }
    if (bits > 0)
	out[n++] = alphabet[(acc << (5 - bits)) & 31];
    out[n] = 0;
}

/* base32_value - the 5-bit value of a character (either case), or -1 */

static int base32_value(int ch)
{
    if (ch >= 'a' && ch <= 'z')
	return (ch - 'a');
    if (ch >= 'A' && ch <= 'Z')
	return (ch - 'A');
    if (ch >= '2' && ch <= '7')
	return (ch - '2' + 26);
    return (-1);
}

/* base32_decode - exactly SIGADDR_TOKEN_LEN characters, zero pad bit */

static int base32_decode(const char *text, unsigned char raw[RAW_LEN])
{
    unsigned acc = 0;
    int     bits = 0;
    size_t  n = 0;
    int     v;

    for (size_t i = 0; i < SIGADDR_TOKEN_LEN; i++) {
	if (text[i] == 0 || (v = base32_value((unsigned char) text[i])) < 0)
	    return (-1);
	acc = (acc << 5) | (unsigned) v;
	bits += 5;
	if (bits >= 8) {
	    raw[n++] = (unsigned char) ((acc >> (bits - 8)) & 0xff);
	    bits -= 8;
	}
	acc &= (1u << bits) - 1;
    }
    if (text[SIGADDR_TOKEN_LEN] != 0 || n != RAW_LEN || acc != 0)
	return (-1);
    return (0);
}

/* encode_payload - claims into the payload, with the key's epoch */

static void encode_payload(const struct sigaddr_key *key,
			           const struct sigaddr_claims *claims,
			           unsigned char payload[PAYLOAD_LEN])
{
    payload[0] = SIGADDR_VERSION;
    payload[1] = (unsigned char) key->epoch;
    put_be(payload + 2, claims->agent_id, 4);
    put_be(payload + 6, claims->ticket, 8);
    put_be(payload + 14, claims->revision, 2);
    put_be(payload + 16, claims->issue_day, 2);
}

/* sigaddr_token - the token of claims */

void    sigaddr_token(const struct sigaddr_key *key,
		              const struct sigaddr_claims *claims,
		              char out[SIGADDR_TOKEN_LEN + 1])
{
    unsigned char raw[RAW_LEN];

    encode_payload(key, claims, raw);
    compute_mac(key, raw, raw + PAYLOAD_LEN);
    base32_encode(raw, out);
}

/* sigaddr_address - localpart+token@domain */

char   *sigaddr_address(const struct sigaddr_key *key, const char *localpart,
			        const char *domain,
			        const struct sigaddr_claims *claims)
{
    char    token[SIGADDR_TOKEN_LEN + 1];

    sigaddr_token(key, claims, token);
    return (mem_printf("%s+%s@%s", localpart, token, domain));
}

/* sigaddr_verify - MAC, version, epoch, age */

enum sigaddr_status sigaddr_verify(const struct sigaddr_key *key,
				           const char *token, time_t now,
				           unsigned max_age_days,
				           struct sigaddr_claims *claims_r)
{
    unsigned char raw[RAW_LEN];
    unsigned char mac[SIGADDR_MAC_BYTES];
    struct sigaddr_claims c;
    int64_t today;

    if (key == 0 || token == 0 || base32_decode(token, raw) < 0)
	return (SIGADDR_BAD);
    compute_mac(key, raw, mac);
    if (CRYPTO_memcmp(mac, raw + PAYLOAD_LEN, SIGADDR_MAC_BYTES) != 0)
	return (SIGADDR_BAD);
    c.key_epoch = raw[1];
    c.agent_id = (uint32_t) get_be(raw + 2, 4);
    c.ticket = get_be(raw + 6, 8);
    c.revision = (uint16_t) get_be(raw + 14, 2);
    c.issue_day = (uint16_t) get_be(raw + 16, 2);
    if (claims_r)
	*claims_r = c;
    if (raw[0] != SIGADDR_VERSION || c.key_epoch != key->epoch)
	return (SIGADDR_BAD);
    today = sigaddr_day(now);
    if ((int64_t) c.issue_day > today + 1
	|| today - (int64_t) c.issue_day > (int64_t) max_age_days)
	return (SIGADDR_EXPIRED);
    return (SIGADDR_OK);
}

/* sigaddr_match - localpart+token@domain, case-insensitive */

int     sigaddr_match(const char *addr, const char *localpart, const char *domain,
		              char token_out[SIGADDR_TOKEN_LEN + 1])
{
    size_t  lp_len, dom_len;
    const char *tok;

    if (addr == 0 || localpart == 0 || domain == 0)
	return (0);
    lp_len = strlen(localpart);
    dom_len = strlen(domain);
    if (lp_len == 0 || dom_len == 0
	|| strlen(addr) != lp_len + 1 + SIGADDR_TOKEN_LEN + 1 + dom_len)
	return (0);
    if (strncasecmp(addr, localpart, lp_len) != 0 || addr[lp_len] != '+')
	return (0);
    tok = addr + lp_len + 1;
    if (tok[SIGADDR_TOKEN_LEN] != '@'
	|| strcasecmp(tok + SIGADDR_TOKEN_LEN + 1, domain) != 0)
	return (0);
    for (size_t i = 0; i < SIGADDR_TOKEN_LEN; i++)
	if (base32_value((unsigned char) tok[i]) < 0)
	    return (0);
    for (size_t i = 0; i < SIGADDR_TOKEN_LEN; i++)
	token_out[i] = alphabet[base32_value((unsigned char) tok[i])];
    token_out[SIGADDR_TOKEN_LEN] = 0;
    return (1);
}

/* sigaddr_hmac - HMAC-SHA256 of data with the key */

void    sigaddr_hmac(const struct sigaddr_key *key, const void *data, size_t len,
		             unsigned char out[32])
{
    unsigned int out_len = 0;

    if (HMAC(EVP_sha256(), key->bytes, (int) key->len, data, len, out,
	     &out_len) == 0 || out_len != 32)
	log_panic("sigaddr: HMAC-SHA256 failed");
}
