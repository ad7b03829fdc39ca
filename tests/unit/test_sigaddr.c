/*++
/* NAME
/*	test_sigaddr 1
/* SUMMARY
/*	unit tests of notify/sigaddr.c: signed command addresses
/* SYNOPSIS
/*	test_sigaddr
/* DESCRIPTION
/*	CUnit runner registered with ctest. Besides round trips it
/*	recomputes tokens independently (OpenSSL HMAC over the payload
/*	layout of sigaddr.h, RFC 4648 base32) so that a layout change or
/*	a MAC that covers too little is caught, and it forges tokens with
/*	a valid MAC over a wrong version or epoch.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <CUnit/Basic.h>

#include <util.h>
#include <sigaddr.h>

#define DAY	86400
#define NOW	((time_t) 1795824000)	/* 2026-11-28T00:00:00Z */

static const unsigned char key_bytes[32] = "0123456789abcdef0123456789ABCDEF";
static const unsigned char other_bytes[32] = "0123456789abcdef0123456789ABCDEx";

/* make_claims - typical claims issued at NOW */

static struct sigaddr_claims make_claims(const char *login, uint64_t ticket)
{
    struct sigaddr_claims c;

    memset(&c, 0, sizeof(c));
    c.agent_id = sigaddr_agent_id(login);
    c.ticket = ticket;
    c.revision = 7;
    c.issue_day = sigaddr_day(NOW);
    return (c);
}

/* ref_token - an independent implementation of the documented format */

static void ref_token(const unsigned char *kb, size_t klen, unsigned version,
		              unsigned epoch, const struct sigaddr_claims *c,
		              char out[SIGADDR_TOKEN_LEN + 1])
{
    static const char a[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char raw[28], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    int     bit = 0;

    raw[0] = (unsigned char) version;
    raw[1] = (unsigned char) epoch;
    for (int i = 0; i < 4; i++)
	raw[2 + i] = (unsigned char) (c->agent_id >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
	raw[6 + i] = (unsigned char) (c->ticket >> (56 - 8 * i));
    raw[14] = (unsigned char) (c->revision >> 8);
    raw[15] = (unsigned char) c->revision;
    raw[16] = (unsigned char) (c->issue_day >> 8);
    raw[17] = (unsigned char) c->issue_day;
    HMAC(EVP_sha256(), kb, (int) klen, raw, 18, md, &mdlen);
    memcpy(raw + 18, md, 10);
    for (int n = 0; n < SIGADDR_TOKEN_LEN; n++) {
	unsigned v = 0;

	for (int b = 0; b < 5; b++, bit++) {
	    unsigned bitval = bit < 224 ? (raw[bit / 8] >> (7 - bit % 8)) & 1 : 0;

	    v = (v << 1) | bitval;
	}
	out[n] = a[v];
    }
    out[SIGADDR_TOKEN_LEN] = 0;
}

static void test_round_trip(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 3);
    static const uint64_t tickets[] = {0, 1, 2026112710000017ULL, UINT64_MAX};
    char    tok[SIGADDR_TOKEN_LEN + 1], ref[SIGADDR_TOKEN_LEN + 1];
    struct sigaddr_claims c, got;

    CU_ASSERT_EQUAL(sigaddr_key_epoch(key), 3);
    for (size_t i = 0; i < sizeof(tickets) / sizeof(tickets[0]); i++) {
	c = make_claims("alice", tickets[i]);
	c.revision = (uint16_t) (65535 - i);
	c.key_epoch = 99;			/* ignored: the key's epoch is used */
	sigaddr_token(key, &c, tok);
	CU_ASSERT_EQUAL(strlen(tok), SIGADDR_TOKEN_LEN);
	for (const char *cp = tok; *cp; cp++)
	    CU_ASSERT(strchr("abcdefghijklmnopqrstuvwxyz234567", *cp) != 0);
	ref_token(key_bytes, sizeof(key_bytes), 1, 3, &c, ref);
	CU_ASSERT_STRING_EQUAL(tok, ref);
	memset(&got, 0xaa, sizeof(got));
	CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 30, &got), SIGADDR_OK);
	CU_ASSERT_EQUAL(got.key_epoch, 3);
	CU_ASSERT_EQUAL(got.agent_id, c.agent_id);
	CU_ASSERT_EQUAL(got.ticket, tickets[i]);
	CU_ASSERT_EQUAL(got.revision, c.revision);
	CU_ASSERT_EQUAL(got.issue_day, c.issue_day);
	CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 30, 0), SIGADDR_OK);
    }
    sigaddr_key_free(&key);
    CU_ASSERT_PTR_NULL(key);
    sigaddr_key_free(&key);			/* no-op */
}

static void test_address(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 0);
    struct sigaddr_claims c = make_claims("bob", 42);
    char    tok[SIGADDR_TOKEN_LEN + 1], got[SIGADDR_TOKEN_LEN + 1];
    char   *addr = sigaddr_address(key, "desk", "desk.example.org", &c);
    const char *at = strchr(addr, '@');

    sigaddr_token(key, &c, tok);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    /* RFC 5321: a local part of at most 64 octets. */
    CU_ASSERT((size_t) (at - addr) < 64);
    CU_ASSERT_EQUAL((size_t) (at - addr), strlen("desk+") + SIGADDR_TOKEN_LEN);
    CU_ASSERT_STRING_EQUAL(at, "@desk.example.org");
    CU_ASSERT_EQUAL(strncmp(addr, "desk+", 5), 0);
    CU_ASSERT_EQUAL(strncmp(addr + 5, tok, SIGADDR_TOKEN_LEN), 0);
    CU_ASSERT_EQUAL(sigaddr_match(addr, "desk", "desk.example.org", got), 1);
    CU_ASSERT_STRING_EQUAL(got, tok);
    mem_free(addr);
    sigaddr_key_free(&key);
}

static void test_tampered(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 0);
    struct sigaddr_claims c = make_claims("alice", 2026112710000017ULL);
    static const char a[] = "abcdefghijklmnopqrstuvwxyz234567";
    char    tok[SIGADDR_TOKEN_LEN + 1], bad[SIGADDR_TOKEN_LEN + 1];
    int     accepted = 0, tried = 0;

    sigaddr_token(key, &c, tok);
    /* Every position, every other character of the alphabet. */
    for (int i = 0; i < SIGADDR_TOKEN_LEN; i++) {
	for (int j = 0; j < 32; j++) {
	    if (a[j] == tok[i])
		continue;
	    memcpy(bad, tok, sizeof(bad));
	    bad[i] = a[j];
	    tried++;
	    if (sigaddr_verify(key, bad, NOW, 30, 0) != SIGADDR_BAD)
		accepted++;
	}
    }
    CU_ASSERT_EQUAL(tried, SIGADDR_TOKEN_LEN * 31);
    CU_ASSERT_EQUAL(accepted, 0);
    /* Characters outside the alphabet at every position. */
    for (int i = 0; i < SIGADDR_TOKEN_LEN; i++) {
	static const char outside[] = "01890!+@ -=_.\x7f\xc3";

	for (const char *cp = outside; *cp; cp++) {
	    memcpy(bad, tok, sizeof(bad));
	    bad[i] = *cp;
	    CU_ASSERT_EQUAL(sigaddr_verify(key, bad, NOW, 30, 0), SIGADDR_BAD);
	}
    }
    sigaddr_key_free(&key);
}

static void test_length_and_case(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 0);
    struct sigaddr_claims c = make_claims("alice", 5);
    char    tok[SIGADDR_TOKEN_LEN + 1], buf[SIGADDR_TOKEN_LEN + 8];

    sigaddr_token(key, &c, tok);
    for (int len = 0; len < SIGADDR_TOKEN_LEN; len++) {
	memcpy(buf, tok, (size_t) len);
	buf[len] = 0;
	CU_ASSERT_EQUAL(sigaddr_verify(key, buf, NOW, 30, 0), SIGADDR_BAD);
    }
    for (const char *ext = "a27"; *ext; ext++) {
	snprintf(buf, sizeof(buf), "%s%c", tok, *ext);
	CU_ASSERT_EQUAL(sigaddr_verify(key, buf, NOW, 30, 0), SIGADDR_BAD);
    }
    snprintf(buf, sizeof(buf), "%s ", tok);
    CU_ASSERT_EQUAL(sigaddr_verify(key, buf, NOW, 30, 0), SIGADDR_BAD);
    snprintf(buf, sizeof(buf), " %s", tok);
    CU_ASSERT_EQUAL(sigaddr_verify(key, buf, NOW, 30, 0), SIGADDR_BAD);
    /* Case-insensitive: all upper, alternating. */
    for (int i = 0; tok[i]; i++)
	buf[i] = (char) toupper((unsigned char) tok[i]);
    buf[SIGADDR_TOKEN_LEN] = 0;
    CU_ASSERT_EQUAL(sigaddr_verify(key, buf, NOW, 30, 0), SIGADDR_OK);
    for (int i = 0; tok[i]; i++)
	buf[i] = (char) (i % 2 ? toupper((unsigned char) tok[i]) : tok[i]);
    CU_ASSERT_EQUAL(sigaddr_verify(key, buf, NOW, 30, 0), SIGADDR_OK);
    sigaddr_key_free(&key);
}

static void test_age(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 0);
    struct sigaddr_claims c = make_claims("alice", 5), got;
    char    tok[SIGADDR_TOKEN_LEN + 1];
    uint16_t today = sigaddr_day(NOW);

    /* Issued max_age days ago: still good; one more day: expired. */
    c.issue_day = (uint16_t) (today - 30);
    sigaddr_token(key, &c, tok);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 30, 0), SIGADDR_OK);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW + DAY - 1, 30, 0), SIGADDR_OK);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW + DAY, 30, &got), SIGADDR_EXPIRED);
    CU_ASSERT_EQUAL(got.ticket, 5);		/* claims filled for EXPIRED */
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 29, 0), SIGADDR_EXPIRED);
    c.issue_day = (uint16_t) (today - 31);
    sigaddr_token(key, &c, tok);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 30, 0), SIGADDR_EXPIRED);
    c.issue_day = 0;
    sigaddr_token(key, &c, tok);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 365, 0), SIGADDR_EXPIRED);
    /* From the future: tomorrow is tolerated (clocks), later is not. */
    c.issue_day = (uint16_t) (today + 1);
    sigaddr_token(key, &c, tok);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 30, 0), SIGADDR_OK);
    c.issue_day = (uint16_t) (today + 2);
    sigaddr_token(key, &c, tok);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 30, 0), SIGADDR_EXPIRED);
    c.issue_day = 65535;
    sigaddr_token(key, &c, tok);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tok, NOW, 365, 0), SIGADDR_EXPIRED);
    sigaddr_key_free(&key);
}

static void test_other_claims_and_keys(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 4);
    struct sigaddr_key *other = sigaddr_key_create(other_bytes, sizeof(other_bytes), 4);
    struct sigaddr_key *next_epoch = sigaddr_key_create(key_bytes, sizeof(key_bytes), 5);
    struct sigaddr_key *short_key = sigaddr_key_create(key_bytes, 16, 4);
    struct sigaddr_claims a = make_claims("alice", 100), b = make_claims("bob", 100);
    struct sigaddr_claims t2 = make_claims("alice", 101), got;
    char    ta[SIGADDR_TOKEN_LEN + 1], tb[SIGADDR_TOKEN_LEN + 1];
    char    tt[SIGADDR_TOKEN_LEN + 1], forged[SIGADDR_TOKEN_LEN + 1];

    sigaddr_token(key, &a, ta);
    sigaddr_token(key, &b, tb);
    sigaddr_token(key, &t2, tt);
    /* Other agent, other ticket: other tokens, and the claims say whose. */
    CU_ASSERT_NOT_EQUAL(a.agent_id, b.agent_id);
    CU_ASSERT_STRING_NOT_EQUAL(ta, tb);
    CU_ASSERT_STRING_NOT_EQUAL(ta, tt);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tb, NOW, 30, &got), SIGADDR_OK);
    CU_ASSERT_EQUAL(got.agent_id, b.agent_id);
    CU_ASSERT_EQUAL(sigaddr_verify(key, tt, NOW, 30, &got), SIGADDR_OK);
    CU_ASSERT_EQUAL(got.ticket, 101);
    /* A token claiming another agent/ticket with alice's MAC: bad. */
    ref_token(other_bytes, sizeof(other_bytes), 1, 4, &b, forged);
    CU_ASSERT_EQUAL(sigaddr_verify(key, forged, NOW, 30, 0), SIGADDR_BAD);
    /* Other key, same epoch; a prefix of the key; next epoch (revoked). */
    CU_ASSERT_EQUAL(sigaddr_verify(other, ta, NOW, 30, 0), SIGADDR_BAD);
    CU_ASSERT_EQUAL(sigaddr_verify(short_key, ta, NOW, 30, 0), SIGADDR_BAD);
    CU_ASSERT_EQUAL(sigaddr_verify(next_epoch, ta, NOW, 30, &got), SIGADDR_BAD);
    /* A valid MAC over epoch 4 does not pass a key of epoch 5. */
    ref_token(key_bytes, sizeof(key_bytes), 1, 4, &a, forged);
    CU_ASSERT_STRING_EQUAL(forged, ta);
    CU_ASSERT_EQUAL(sigaddr_verify(next_epoch, forged, NOW, 30, 0), SIGADDR_BAD);
    /* A valid MAC over another version is refused. */
    ref_token(key_bytes, sizeof(key_bytes), 2, 4, &a, forged);
    CU_ASSERT_EQUAL(sigaddr_verify(key, forged, NOW, 30, 0), SIGADDR_BAD);
    ref_token(key_bytes, sizeof(key_bytes), 0, 4, &a, forged);
    CU_ASSERT_EQUAL(sigaddr_verify(key, forged, NOW, 30, 0), SIGADDR_BAD);
    /* The matching epoch and version with the right key: good. */
    ref_token(key_bytes, sizeof(key_bytes), 1, 5, &a, forged);
    CU_ASSERT_EQUAL(sigaddr_verify(next_epoch, forged, NOW, 30, 0), SIGADDR_OK);
    sigaddr_key_free(&key);
    sigaddr_key_free(&other);
    sigaddr_key_free(&next_epoch);
    sigaddr_key_free(&short_key);
}

static void test_garbage(void)
{
    struct sigaddr_key *key = sigaddr_key_create(key_bytes, sizeof(key_bytes), 0);
    static const char *const inputs[] = {
	"", "a", "desk", "\n", "====", "\xff\xfe\xfd",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"777777777777777777777777777777777777777777777",
	"222222222222222222222222222222222222222222222",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0a",
    };
    char    tok[SIGADDR_TOKEN_LEN + 1];
    struct sigaddr_claims c = make_claims("x", 1);

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
	CU_ASSERT_EQUAL(sigaddr_verify(key, inputs[i], NOW, 30, 0), SIGADDR_BAD);
    CU_ASSERT_EQUAL(sigaddr_verify(key, 0, NOW, 30, 0), SIGADDR_BAD);
    sigaddr_token(key, &c, tok);
    CU_ASSERT_EQUAL(sigaddr_verify(0, tok, NOW, 30, 0), SIGADDR_BAD);
    sigaddr_key_free(&key);
}

static void test_match(void)
{
    static const char tk[] = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklm";
    static const struct {
	const char *addr;
	int     match;
    } cases[] = {
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 1},
	{"DESK+ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLM@DESK.Example.ORG", 1},
	{"Desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 1},
	/* wrong local part, wrong domain, subdomain, parent domain */
	{"help+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 0},
	{"desks+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 0},
	{"xdesk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 0},
	{"des+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@example.org", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@a.desk.example.org", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org.", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.orgx", 0},
	/* missing + or another delimiter */
	{"deskabcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 0},
	{"desk-abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 0},
	{"desk@desk.example.org", 0},
	{"desk+@desk.example.org", 0},
	/* token too short, too long, outside the alphabet */
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijkl@desk.example.org", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklmn@desk.example.org", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijk1@desk.example.org", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghij+m@desk.example.org", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghij@m@desk.example.org", 0},
	/* brackets, blanks, no domain, empty */
	{"<desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org>", 0},
	{" desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@desk.example.org", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm", 0},
	{"desk+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@", 0},
	{"", 0},
	{"@", 0},
    };
    char    out[SIGADDR_TOKEN_LEN + 1];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	memset(out, 'X', sizeof(out));
	if (sigaddr_match(cases[i].addr, "desk", "desk.example.org", out) != cases[i].match) {
	    CU_FAIL("sigaddr_match verdict");
	    fprintf(stderr, "sigaddr_match(\"%s\") != %d\n", cases[i].addr, cases[i].match);
	    continue;
	}
	if (cases[i].match)
	    CU_ASSERT_STRING_EQUAL(out, tk);	/* lowercased */
    }
    CU_ASSERT_EQUAL(sigaddr_match(0, "desk", "desk.example.org", out), 0);
    CU_ASSERT_EQUAL(sigaddr_match(cases[0].addr, "", "desk.example.org", out), 0);
    CU_ASSERT_EQUAL(sigaddr_match(cases[0].addr, "desk", "", out), 0);
    /* Another command local part and domain. */
    CU_ASSERT_EQUAL(sigaddr_match("cmd.x+abcdefghijklmnopqrstuvwxyz234567abcdefghijklm@h.test",
				  "cmd.x", "h.test", out), 1);
}

static void test_agent_and_day(void)
{
    CU_ASSERT_EQUAL(sigaddr_agent_id("alice"), 0x2bd806c9u);	/* sha256("alice") */
    CU_ASSERT_EQUAL(sigaddr_agent_id("Alice"), 0x2bd806c9u);
    CU_ASSERT_EQUAL(sigaddr_agent_id("ALICE"), sigaddr_agent_id("alice"));
    CU_ASSERT_NOT_EQUAL(sigaddr_agent_id("alice2"), sigaddr_agent_id("alice"));
    CU_ASSERT_EQUAL(sigaddr_day(1577836800), 0);		/* 2020-01-01 */
    CU_ASSERT_EQUAL(sigaddr_day(1577836800 + DAY - 1), 0);
    CU_ASSERT_EQUAL(sigaddr_day(1577836800 + DAY), 1);
    CU_ASSERT_EQUAL(sigaddr_day(0), 0);
    CU_ASSERT_EQUAL(sigaddr_day(-1), 0);
    CU_ASSERT_EQUAL(sigaddr_day(NOW), 2523);			/* 2026-11-28 */
    CU_ASSERT_EQUAL(sigaddr_day((time_t) 1577836800 + (time_t) 70000 * DAY), 65535);
}

/* write_key_file - a temporary file with len bytes and a mode */

static char *write_key_file(const char *dir, const char *name, size_t len, mode_t mode)
{
    char   *path = mem_printf("%s/%s", dir, name);
    int     fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char    buf[8192];

    CU_ASSERT_FATAL(fd >= 0);
    for (size_t i = 0; i < len && i < sizeof(buf); i++)
	buf[i] = key_bytes[i % sizeof(key_bytes)];
    CU_ASSERT_FATAL(write(fd, buf, len) == (ssize_t) len);
    close(fd);
    CU_ASSERT_FATAL(chmod(path, mode) == 0);
    return (path);
}

static void test_key_file(void)
{
    char    tmpl[] = "/tmp/test_sigaddr.XXXXXX";
    char   *dir = mkdtemp(tmpl);
    static const struct {
	size_t  len;
	mode_t  mode;
	int     ok;
	const char *why;
    } cases[] = {
	{32, 0600, 1, 0},
	{32, 0400, 1, 0},
	{33, 0600, 1, 0},			/* with a trailing newline */
	{4096, 0600, 1, 0},
	{32, 0640, 0, "mode"},
	{32, 0604, 0, "mode"},
	{32, 0644, 0, "mode"},
	{32, 0620, 0, "mode"},
	{32, 0602, 0, "mode"},
	{31, 0600, 0, "too few"},
	{0, 0600, 0, "too few"},
	{4097, 0600, 0, "too many"},
    };
    struct sigaddr_key *key, *ref;
    struct sigaddr_claims c = make_claims("alice", 9);
    char    t1[SIGADDR_TOKEN_LEN + 1], t2[SIGADDR_TOKEN_LEN + 1];
    char   *error, *path;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	path = write_key_file(dir, "secret", cases[i].len, cases[i].mode);
	key = (struct sigaddr_key *) 1;
	error = 0;
	if (cases[i].ok) {
	    CU_ASSERT_EQUAL(sigaddr_key_load(path, 7, &key, &error), 0);
	    CU_ASSERT_PTR_NULL(error);
	    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	    CU_ASSERT_EQUAL(sigaddr_key_epoch(key), 7);
	    /* The whole file is the key: same tokens as from the bytes. */
	    {
		unsigned char buf[4096];

		for (size_t j = 0; j < cases[i].len; j++)
		    buf[j] = key_bytes[j % sizeof(key_bytes)];
		ref = sigaddr_key_create(buf, cases[i].len, 7);
	    }
	    sigaddr_token(key, &c, t1);
	    sigaddr_token(ref, &c, t2);
	    CU_ASSERT_STRING_EQUAL(t1, t2);
	    sigaddr_key_free(&ref);
	    sigaddr_key_free(&key);
	} else {
	    CU_ASSERT_EQUAL(sigaddr_key_load(path, 7, &key, &error), -1);
	    CU_ASSERT_PTR_NULL(key);
	    CU_ASSERT_PTR_NOT_NULL(error);
	    if (error) {
		CU_ASSERT_PTR_NOT_NULL(strstr(error, cases[i].why));
		CU_ASSERT_PTR_NOT_NULL(strstr(error, path));
	    }
	    mem_free(error);
	}
	unlink(path);
	mem_free(path);
    }
    /* A missing file, a directory. */
    path = write_key_file(dir, "missing", 32, 0600);
    unlink(path);
    CU_ASSERT_EQUAL(sigaddr_key_load(path, 0, &key, &error), -1);
    CU_ASSERT_PTR_NOT_NULL(error && strstr(error, "cannot open"));
    mem_free(error);
    CU_ASSERT_EQUAL(sigaddr_key_load(dir, 0, &key, &error), -1);	/* a directory */
    CU_ASSERT_PTR_NOT_NULL(error && strstr(error, "not a regular file"));
    mem_free(error);
    mem_free(path);
    rmdir(dir);
}

int     main(void)
{
    CU_pSuite s;
    unsigned bad;
    CU_ErrorCode rc;

    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    s = CU_add_suite("sigaddr", 0, 0);
    CU_add_test(s, "round trip, independent recomputation", test_round_trip);
    CU_add_test(s, "address form, local part under 64", test_address);
    CU_add_test(s, "every character tampered", test_tampered);
    CU_add_test(s, "truncated, extended, upper-cased", test_length_and_case);
    CU_add_test(s, "expired and from the future", test_age);
    CU_add_test(s, "other agent, ticket, key, epoch, version", test_other_claims_and_keys);
    CU_add_test(s, "garbage, empty, NULL", test_garbage);
    CU_add_test(s, "sigaddr_match address forms", test_match);
    CU_add_test(s, "agent id and issue day", test_agent_and_day);
    CU_add_test(s, "key file: mode, size, errors", test_key_file);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
