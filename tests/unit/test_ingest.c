/*++
/* NAME
/*	test_ingest 1
/* SUMMARY
/*	unit tests of lmtp_parse() and the ingest text helpers
/* SYNOPSIS
/*	test_ingest
/* DESCRIPTION
/*	First crafted messages with the fields they must give (addresses,
/*	encoded subjects, body choice and charsets, attachments, references,
/*	automatic mail, quote trimming, hash); then the hostile corpus:
/*	every tests/corpus/*.eml as committed, with CRLF line ends, and cut
/*	at many lengths, then the big messages made by
/*	tests/corpus/make-big.sh in a temporary directory. Each parse must
/*	finish, quickly, with valid UTF-8 in every text field. Every input
/*	is given in a buffer of exactly its length, so ASan sees any read
/*	past the end. GLib criticals (a GMime API misuse) abort the test.
/*
/*	The corpus is found under $POSTDESK_SOURCE_DIR (set by ctest), else
/*	relative to this file's path at build time.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <gmime/gmime.h>

#include "util.h"
#include "conf.h"
#include "store.h"
#include "lmtp.h"
#include "ingest_private.h"

#define PARSE_MS_MAX	20000		/* per message, generous for ASan */

static char *source_dir;

/* parse - lmtp_parse() over an exact-size copy of a C string */

static struct lmtp_parsed *parse_bytes(const char *data, size_t len, char **copy_r)
{
    *copy_r = len ? mem_memdup(data, len) : 0;
    return (lmtp_parse(*copy_r, len, 0));
}

struct parsed {
    struct lmtp_parsed *p;
    struct store_message *m;
    char   *copy;
};

static struct parsed parse(const char *text)
{
    struct parsed r;

    r.p = parse_bytes(text, strlen(text), &r.copy);
    r.m = lmtp_parsed_message(r.p);
    return (r);
}

static void done(struct parsed *r)
{
    lmtp_parsed_free(&r->p);
    CU_ASSERT_PTR_NULL(r->p);
    mem_free(r->copy);
}

/* valid - a non-NULL valid UTF-8 string */

static int valid(const char *s)
{
    return (s != 0 && g_utf8_validate(s, -1, 0));
}

/* all_valid - every text field of a store view is valid UTF-8 */

static int all_valid(const struct store_message *m)
{
    size_t  i;

    if (!valid(m->from) || !valid(m->from_header) || !valid(m->to)
	|| !valid(m->cc) || !valid(m->subject) || !valid(m->title)
	|| !valid(m->message_id) || !valid(m->body))
	return (0);
    if (m->ticket_ref && !valid(m->ticket_ref))
	return (0);
    for (i = 0; i < m->n_references; i++)
	if (!valid(m->references[i]) || *m->references[i] == 0)
	    return (0);
    for (i = 0; i < m->n_attachments; i++)
	if (!valid(m->attachments[i].name) || !valid(m->attachments[i].content_type))
	    return (0);
    /* No CR or LF may reach a header-derived field. */
    if (strpbrk(m->subject, "\r\n") || strpbrk(m->from_header, "\r\n")
	|| strpbrk(m->title, "\r\n") || strpbrk(m->message_id, "\r\n")
	|| strchr(m->body, '\r'))
	return (0);
    return (1);
}

 /*
  * Crafted messages.
  */

static void test_addresses(void)
{
    struct parsed r = parse(
	"From: Marie Dupont <Marie.Dupont@Example.ORG>\n"
	"To: helpdesk@example.org, Bob Martin <bob@example.org>\n"
	"Cc: =?utf-8?q?Ren=C3=A9?= <rene@example.org>\n"
	"Subject: hello\n"
	"Message-ID: <abc.123@example.org>\n\nbody\n");

    CU_ASSERT_STRING_EQUAL(r.m->from, "marie.dupont@example.org");
    CU_ASSERT_STRING_EQUAL(r.m->from_header, "Marie Dupont <Marie.Dupont@Example.ORG>");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.m->to, "helpdesk@example.org"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.m->to, "Bob Martin <bob@example.org>"));
    CU_ASSERT_STRING_EQUAL(r.m->cc, "Ren\xc3\xa9 <rene@example.org>");
    CU_ASSERT_STRING_EQUAL(r.m->message_id, "abc.123@example.org");
    CU_ASSERT_STRING_EQUAL(r.m->body, "body");
    CU_ASSERT_EQUAL(r.m->automatic, 0);
    done(&r);

    r = parse("Subject: no from\n\nx\n");
    CU_ASSERT_STRING_EQUAL(r.m->from, "");
    CU_ASSERT_STRING_EQUAL(r.m->from_header, "");
    CU_ASSERT_STRING_EQUAL(r.m->message_id, "");
    done(&r);

    /* A group: the first mailbox inside it. */
    r = parse("From: Team: Alice@Example.org, bob@example.org;\nSubject: g\n\nx\n");
    CU_ASSERT_STRING_EQUAL(r.m->from, "alice@example.org");
    done(&r);
}

static void test_subjects(void)
{
    static const struct {
	const char *header;
	const char *subject;
    } cases[] = {
	{"=?ISO-8859-1?Q?Probl=E8me_d'acc=E8s?=", "Probl\xc3\xa8me d'acc\xc3\xa8s"},
	{"=?UTF-8?B?Q2Fmw6kg4piV?=", "Caf\xc3\xa9 \xe2\x98\x95"},
	{"=?windows-1252?Q?=93Devis=94_=96_50_=80?=",
	 "\xe2\x80\x9c" "Devis\xe2\x80\x9d \xe2\x80\x93 50 \xe2\x82\xac"},
	{"=?iso-8859-1?q?caf=E9?= =?utf-8?q?_cr=C3=A8me?=", "caf\xc3\xa9 cr\xc3\xa8me"},
	/* Raw 8-bit Latin-1 (not UTF-8): must come out as valid UTF-8. */
	{"Probl\xe8me d'acc\xe8s \xe0 l'imprimante",
	 "Probl\xc3\xa8me d'acc\xc3\xa8s \xc3\xa0 l'imprimante"},
	/* Raw UTF-8 stays. */
	{"R\xc3\xa9union", "R\xc3\xa9union"},
    };
    size_t  i;
    char   *text;
    struct parsed r;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	text = mem_printf("From: a@example.org\nSubject: %s\n\nx\n", cases[i].header);
	r = parse(text);
	if (strcmp(r.m->subject, cases[i].subject) != 0)
	    fprintf(stderr, "subject case %zu: got \"%s\"\n", i, r.m->subject);
	CU_ASSERT_STRING_EQUAL(r.m->subject, cases[i].subject);
	CU_ASSERT(all_valid(r.m));
	done(&r);
	mem_free(text);
    }

    /* Title and ticket reference from the configured defaults. */
    r = parse("From: a@example.org\n"
	      "Subject: =?utf-8?q?RE_=3A_[Ticket#2026112710000017]_Imprimante_en_panne?=\n\nx\n");
    CU_ASSERT_STRING_EQUAL(r.m->title, "Imprimante en panne");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.m->ticket_ref);
    CU_ASSERT_STRING_EQUAL(r.m->ticket_ref, "2026112710000017");
    done(&r);
    r = parse("From: a@example.org\nSubject: Re: no ticket\n\nx\n");
    CU_ASSERT_PTR_NULL(r.m->ticket_ref);
    CU_ASSERT_STRING_EQUAL(r.m->title, "no ticket");
    done(&r);
}

static void test_alternative(void)
{
    struct parsed r = parse(
	"From: a@example.org\nSubject: alt\nMIME-Version: 1.0\n"
	"Content-Type: multipart/alternative; boundary=\"b\"\n\n"
	"--b\nContent-Type: text/html; charset=utf-8\n\n<p>the <b>HTML</b> one</p>\n"
	"--b\nContent-Type: text/plain; charset=utf-8\n\nthe plain one\n"
	"--b--\n");

    CU_ASSERT_STRING_EQUAL(r.m->body, "the plain one");
    CU_ASSERT_EQUAL(r.m->n_attachments, 0);
    done(&r);
}

static void test_html_only(void)
{
    struct parsed r = parse(
	"From: a@example.org\nSubject: html\nMIME-Version: 1.0\n"
	"Content-Type: text/html; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n\n"
	"<html><head><title>T</title><style>p {color: red}</style></head>\n"
	"<body><script>alert('x')</script><p>Bonjour,</p><p>L'imprimante est\n"
	"   en panne =E9t=E9 &amp; hiver&nbsp;!<br>Merci&#33; &#x263A;</p>\n"
	"<ul><li>un</li><li>deux</li></ul>"
	"<p>Voir <a href=3D\"https://example.org/doc?a=3D1&amp;b=3D2\">la doc</a>.</p>"
	"</body></html>\n");

    CU_ASSERT_STRING_EQUAL(r.m->body,
			   "Bonjour,\n\nL'imprimante est en panne \xc3\xa9t\xc3\xa9 & hiver !\n"
			   "Merci! \xe2\x98\xba\n\n- un\n- deux\n\n"
			   "Voir la doc <https://example.org/doc?a=1&b=2>.");
    done(&r);
}

static void test_html_to_text(void)
{
    static const struct {
	const char *html;
	const char *text;
    } cases[] = {
	{"a<br>b<br><br>c", "a\nb\n\nc"},
	{"<div>x</div><div>y</div>", "x\ny"},
	{"<!-- hidden <p>no</p> -->shown", "shown"},
	{"<SCRIPT>var a = '<p>';</SCRIPT>ok", "ok"},
	{"<p>1 &lt; 2 &gt; 0 &quot;q&quot; &#65;&#x42; &bogus; &#0;</p>",
	 "1 < 2 > 0 \"q\" AB &bogus; \xef\xbf\xbd"},
	{"<p>reply</p><blockquote><p>old text</p><p>more</p></blockquote>",
	 "reply\n\n> old text\n\n> more"},
	{"<pre>a   b\n  c</pre>", "a   b\n  c"},
	{"<a href=\"mailto:x@example.org\">x@example.org</a>", "x@example.org"},
	{"<a href=\"javascript:evil()\">click</a>", "click"},
	{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
	{"1 < 2 and 3 > 2", "1 < 2 and 3 > 2"},
	{"<p>unclosed <b", "unclosed"},
	{"", ""},
    };
    size_t  i;
    char   *text;

    struct buf *b;
    uint64_t start;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	text = lmtp_html_to_text(cases[i].html, strlen(cases[i].html));
	if (strcmp(text, cases[i].text) != 0)
	    fprintf(stderr, "html case %zu: got \"%s\"\n", i, text);
	CU_ASSERT_STRING_EQUAL(text, cases[i].text);
	mem_free(text);
    }

    /* 100,000 unclosed <script> and <style> tags: linear time. */
    b = buf_create(0, 0);
    for (i = 0; i < 100000; i++)
	buf_append_str(b, "<script><style>x");
    start = time_now_ms();
    text = lmtp_html_to_text(buf_data(b), buf_len(b));
    CU_ASSERT(time_now_ms() - start < 3000);
    CU_ASSERT_EQUAL(strlen(text), 100000);
    mem_free(text);
    buf_destroy(&b);
}

static void test_attachments(void)
{
    struct parsed r = parse(
	"From: a@example.org\nSubject: att\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"m\"\n\n"
	"--m\nContent-Type: text/plain\n\nsee attachments\n"
	"--m\nContent-Type: application/PDF; name=\"ignored.pdf\"\n"
	"Content-Disposition: attachment; filename=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\n"
	"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
	"--m\nContent-Type: image/png; name=\"logo.png\"\n"
	"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
	"--m\nContent-Type: text/plain; name=\"notes.txt\"\n"
	"Content-Disposition: attachment\nContent-Transfer-Encoding: quoted-printable\n\n"
	"caf=C3=A9=\n au lait\n"
	"--m\nContent-Type: application/octet-stream\n\n12345"
	"\n--m--\n");

    CU_ASSERT_STRING_EQUAL(r.m->body, "see attachments");
    CU_ASSERT_EQUAL_FATAL(r.m->n_attachments, 4);
    CU_ASSERT_STRING_EQUAL(r.m->attachments[0].name, "r\xc3\xa9sum\xc3\xa9.pdf");
    CU_ASSERT_STRING_EQUAL(r.m->attachments[0].content_type, "application/pdf");
    CU_ASSERT_EQUAL(r.m->attachments[0].size, 9);	/* "%PDF-1.4\n" */
    CU_ASSERT_STRING_EQUAL(r.m->attachments[1].name, "logo.png");
    CU_ASSERT_STRING_EQUAL(r.m->attachments[1].content_type, "image/png");
    CU_ASSERT_EQUAL(r.m->attachments[1].size, 8);
    CU_ASSERT_STRING_EQUAL(r.m->attachments[2].name, "notes.txt");
    CU_ASSERT_EQUAL(r.m->attachments[2].size, strlen("caf\xc3\xa9 au lait"));
    CU_ASSERT_STRING_EQUAL(r.m->attachments[3].name, "");
    CU_ASSERT_EQUAL(r.m->attachments[3].size, 5);
    done(&r);
}

static void test_message_part(void)
{
    static const char inner[] =
	"From: b@example.org\nSubject: Original question\n"
	"Message-ID: <inner@example.org>\n\nInner text.\n";
    char   *text = mem_printf(
	"From: a@example.org\nSubject: Fwd: original\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"o\"\n\n"
	"--o\nContent-Type: text/plain\n\nSee the attached message.\n"
	"--o\nContent-Type: message/rfc822\n\n%s"
	"--o\nContent-Type: message/rfc822\n\nX-No-Subject: 1\n\nx\n"
	"--o--\n", inner);
    struct parsed r = parse(text);

    CU_ASSERT_STRING_EQUAL(r.m->body, "See the attached message.");
    CU_ASSERT_EQUAL_FATAL(r.m->n_attachments, 2);
    CU_ASSERT_STRING_EQUAL(r.m->attachments[0].name, "Original question.eml");
    CU_ASSERT_STRING_EQUAL(r.m->attachments[0].content_type, "message/rfc822");
    /* The encapsulated message, up to the line end before the boundary. */
    CU_ASSERT(r.m->attachments[0].size >= strlen(inner) - 1
	      && r.m->attachments[0].size <= strlen(inner) + 2);
    CU_ASSERT_STRING_EQUAL(r.m->attachments[1].name, "message.eml");
    /* The inner message's own Message-ID is not ours. */
    CU_ASSERT_STRING_EQUAL(r.m->message_id, "");
    done(&r);
    mem_free(text);
}

static void test_references(void)
{
    struct parsed r = parse(
	"From: a@example.org\nSubject: Re: x\nMessage-ID: <self@example.org>\n"
	"In-Reply-To: <c@example.org> (comment)\n"
	"References: <a@example.org> junk <b@example.org>\n <c@example.org>\n\nx\n");
    struct buf *b;
    int     i;

    CU_ASSERT_EQUAL_FATAL(r.m->n_references, 3);
    CU_ASSERT_STRING_EQUAL(r.m->references[0], "c@example.org");
    CU_ASSERT_STRING_EQUAL(r.m->references[1], "b@example.org");
    CU_ASSERT_STRING_EQUAL(r.m->references[2], "a@example.org");
    done(&r);

    /* In-Reply-To alone; References alone. */
    r = parse("From: a@example.org\nIn-Reply-To: <only@example.org>\n\nx\n");
    CU_ASSERT_EQUAL_FATAL(r.m->n_references, 1);
    CU_ASSERT_STRING_EQUAL(r.m->references[0], "only@example.org");
    done(&r);
    r = parse("From: a@example.org\nReferences: <r1@x> <r2@x>\n\nx\n");
    CU_ASSERT_EQUAL_FATAL(r.m->n_references, 2);
    CU_ASSERT_STRING_EQUAL(r.m->references[0], "r2@x");
    done(&r);
    r = parse("From: a@example.org\nIn-Reply-To:\nReferences: no ids here\n\nx\n");
    CU_ASSERT_EQUAL(r.m->n_references, 0);
    done(&r);

    /* The cap keeps the newest. */
    b = buf_create(0, 0);
    buf_append_str(b, "From: a@example.org\nReferences:");
    for (i = 0; i < 80; i++)
	buf_printf(b, " <r%d@x>", i);
    buf_append_str(b, "\n\nx\n");
    r = parse(buf_data(b));
    CU_ASSERT_EQUAL_FATAL(r.m->n_references, LMTP_REFERENCES_MAX);
    CU_ASSERT_STRING_EQUAL(r.m->references[0], "r79@x");
    CU_ASSERT_STRING_EQUAL(r.m->references[LMTP_REFERENCES_MAX - 1], "r30@x");
    done(&r);
    buf_destroy(&b);
}

static void test_automatic(void)
{
    static const struct {
	const char *headers;
	int     automatic;
    } cases[] = {
	{"From: a@example.org\n", 0},
	{"From: a@example.org\nAuto-Submitted: auto-replied\n", 1},
	{"From: a@example.org\nAuto-Submitted: auto-generated (notify)\n", 1},
	{"From: a@example.org\nAuto-Submitted: no\n", 0},
	{"From: a@example.org\nAuto-Submitted: No (a comment)\n", 0},
	{"From: a@example.org\nPrecedence: bulk\n", 1},
	{"From: a@example.org\nPrecedence: JUNK\n", 1},
	{"From: a@example.org\nPrecedence: list\n", 1},
	{"From: a@example.org\nPrecedence: first-class\n", 0},
	{"From: a@example.org\nList-Id: <help.lists.example.org>\n", 1},
	{"From: a@example.org\nX-Auto-Response-Suppress: All\n", 1},
	{"From: a@example.org\nX-Auto-Response-Suppress: DR, OOF, AutoReply\n", 1},
	{"From: a@example.org\nX-Auto-Response-Suppress: DR, RN, NRN\n", 0},
	{"From: a@example.org\nX-Autoreply: yes\n", 1},
	{"From: MAILER-DAEMON@example.org\n", 1},
	{"From: Mail Delivery System <mailer-daemon@example.org>\n", 1},
	{"From: postmaster@example.org\n", 1},
	{"From: postmaster-team@example.org\n", 0},
	{"From: a@example.org\nList-Unsubscribe: <mailto:u@example.org>\n", 0},
	{"From: a@example.org\nMIME-Version: 1.0\n"
	 "Content-Type: multipart/report; report-type=delivery-status; boundary=r\n", 1},
    };
    size_t  i;
    char   *text;
    struct parsed r;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	text = mem_printf("%sSubject: s\n\n--r\n\nbody\n--r--\n", cases[i].headers);
	r = parse(text);
	if (r.m->automatic != cases[i].automatic)
	    fprintf(stderr, "automatic case %zu: got %d\n", i, r.m->automatic);
	CU_ASSERT_EQUAL(r.m->automatic, cases[i].automatic);
	done(&r);
	mem_free(text);
    }
}

static void test_quotes(void)
{
    static const struct {
	const char *text;
	int     forward;
	const char *want;
    } cases[] = {
	{"Merci, c'est r\xc3\xa9par\xc3\xa9.\n\n"
	 "Le ven. 27 nov. 2026 \xc3\xa0 09:14, Helpdesk <h@example.org> a \xc3\xa9" "crit :\n"
	 "> Bonjour,\n> votre demande.\n>\n", 0,
	 "Merci, c'est r\xc3\xa9par\xc3\xa9."},
	{"Thanks!\n\nOn Fri, Nov 27, 2026 at 9:14 AM Helpdesk <\nh@example.org> wrote:\n\n"
	 "> Hello\n", 0, "Thanks!"},
	{"Danke.\n\nAm 27.11.2026 um 09:14 schrieb Helpdesk:\n> Hallo\n", 0, "Danke."},
	{"Danke.\n\n-----Urspr\xc3\xbcngliche Nachricht-----\nVon: x\n", 0, "Danke."},
	{"Merci.\n\n-----Message d'origine-----\nDe : x\nEnvoy\xc3\xa9 : y\n", 0, "Merci."},
	{"Ok.\n\n-----Original Message-----\nFrom: x\nSent: y\nTo: z\n", 0, "Ok."},
	{"Merci\n\n________________________________\nDe : Helpdesk\n"
	 "Envoy\xc3\xa9 : vendredi\n\xc3\x80 : Marie\nObjet : x\n\ntexte\n", 0, "Merci"},
	{"Ok\n\nFrom: Helpdesk <h@example.org>\nSent: Friday\nTo: Bob\nSubject: x\n\nold\n",
	 0, "Ok"},
	/* Outlook in German, and Thunderbird's German attribution line. */
	{"Erledigt, danke.\n\nVon: Helpdesk <h@example.org>\n"
	 "Gesendet: Freitag, 27. November 2026 09:14\nAn: Jan\nBetreff: x\n\nalt\n",
	 0, "Erledigt, danke."},
	{"Geht wieder.\n\nAm 27.11.26 um 09:14 schrieb Helpdesk <h@example.org>:\n"
	 "> Hallo\n> alt\n", 0, "Geht wieder."},
	/* Apple Mail in French, Gmail in English with the address wrapped. */
	{"Parfait.\n\n> Le 27 nov. 2026 \xc3\xa0 09:14, Helpdesk <h@example.org> a "
	 "\xc3\xa9" "crit :\n>\n> Bonjour\n", 0, "Parfait."},
	{"Works now.\n\nOn Fri, 27 Nov 2026 at 09:14, Helpdesk\n<h@example.org> wrote:\n"
	 "> Hello\n", 0, "Works now."},
	/* Conservative: these stay. */
	{"On Monday I wrote: the server is down.\nStill down.\n", 0,
	 "On Monday I wrote: the server is down.\nStill down."},
	{"On Monday the printer\nwrote: garbage\nplease fix\n", 0,
	 "On Monday the printer\nwrote: garbage\nplease fix"},
	{"> question one\nanswer one\n> question two\nanswer two\n", 0,
	 "> question one\nanswer one\n> question two\nanswer two"},
	{"From: my home address\nplease reply there\n", 0,
	 "From: my home address\nplease reply there"},
	{"> only quoted\n> text\n", 0, "> only quoted\n> text"},
	{"-----Original Message-----\nFrom: x\n\nforwarded only\n", 0,
	 "-----Original Message-----\nFrom: x\n\nforwarded only"},
	{"Please handle.\n\n-----Original Message-----\nFrom: x\n", 1,
	 "Please handle.\n\n-----Original Message-----\nFrom: x"},
	{"text   \n\n\n  \n", 0, "text"},
	{"", 0, ""},
    };
    size_t  i;
    char   *out;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	out = lmtp_text_trim_quotes(cases[i].text, cases[i].forward);
	if (strcmp(out, cases[i].want) != 0)
	    fprintf(stderr, "quote case %zu: got \"%s\"\n", i, out);
	CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	mem_free(out);
    }
}

/* test_agent_view - what command mail needs: the text before trimming,
   the number of From: mailboxes, our Authentication-Results */

static void test_agent_view(void)
{
    struct parsed r = parse(
	"From: Alice <alice@agents.test>\n"
	"Authentication-Results: evil.example; dkim=pass header.d=agents.test\n"
	"Authentication-Results: mx.desk.test;\n dkim=pass header.d=agents.test\n"
	"Subject: Re: x\n\n#take\n\nDone.\n\nOn Fri, 27 Nov 2026, Helpdesk wrote:\n> old\n");

    CU_ASSERT_NSTRING_EQUAL(lmtp_parsed_text(r.p),
			   "#take\n\nDone.\n\nOn Fri, 27 Nov 2026, Helpdesk wrote:\n> old", 51);
    CU_ASSERT_STRING_EQUAL(r.m->body, "#take\n\nDone.");
    CU_ASSERT_EQUAL(lmtp_parsed_from_count(r.p), 1);
    CU_ASSERT_EQUAL(lmtp_parsed_auth(r.p, "mx.desk.test", "dkim", "agents.test"), 1);
    CU_ASSERT_EQUAL(lmtp_parsed_auth(r.p, "mx.desk.test", "dmarc", "agents.test"), 0);
    CU_ASSERT_EQUAL(lmtp_parsed_auth(r.p, "mx.desk.test", "dkim", "evil.example"), 0);
    done(&r);

    r = parse("From: a@x.test, b@y.test\nSubject: s\n\nhi\n");
    CU_ASSERT_EQUAL(lmtp_parsed_from_count(r.p), 2);
    CU_ASSERT_EQUAL(lmtp_parsed_auth(r.p, "mx.desk.test", "dkim", "x.test"), 0);
    done(&r);
    r = parse("From: team: a@x.test, b@y.test;\nSubject: s\n\nhi\n");
    CU_ASSERT(lmtp_parsed_from_count(r.p) > 1);
    done(&r);
    r = parse("Subject: no from\n\nhi\n");
    CU_ASSERT_EQUAL(lmtp_parsed_from_count(r.p), 0);
    done(&r);
    /* HTML-only: the converted text. */
    r = parse("From: a@x.test\nSubject: s\nContent-Type: text/html\n\n"
	      "<div>#lock</div><div>#priority 4</div><p>Fine.</p>\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(lmtp_parsed_text(r.p), "#lock\n#priority 4"));
    done(&r);
}

static void test_quotes_in_message(void)
{
    struct parsed r = parse(
	"From: a@example.org\nSubject: Re: x\n\nFixed, thanks.\n\n"
	"On Fri, 27 Nov 2026, Helpdesk wrote:\n> old\n");

    CU_ASSERT_STRING_EQUAL(r.m->body, "Fixed, thanks.");
    done(&r);
    /* A forward keeps the forwarded text. */
    r = parse("From: a@example.org\nSubject: TR: x\n\nVoir ci-dessous.\n\n"
	      "-----Message d'origine-----\nDe : b@example.org\n\nLe serveur est en panne.\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.m->body, "Le serveur est en panne."));
    done(&r);
}

static void test_charsets(void)
{
    struct parsed r;

    /* Undeclared 8-bit body: Windows-1252. */
    r = parse("From: a@example.org\nSubject: s\n\nd\xe9j\xe0 \x93vu\x94 \x80\n");
    CU_ASSERT_STRING_EQUAL(r.m->body, "d\xc3\xa9j\xc3\xa0 \xe2\x80\x9cvu\xe2\x80\x9d \xe2\x82\xac");
    done(&r);
    /* Declared ISO-8859-1. */
    r = parse("From: a@example.org\nSubject: s\nMIME-Version: 1.0\n"
	      "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n");
    CU_ASSERT_STRING_EQUAL(r.m->body, "caf\xc3\xa9");
    done(&r);
    /* Declared UTF-8 but broken: replaced, valid. */
    r = parse("From: a@example.org\nSubject: s\nMIME-Version: 1.0\n"
	      "Content-Type: text/plain; charset=utf-8\n\nok \xe9 \xc3\xa9\n");
    CU_ASSERT_STRING_EQUAL(r.m->body, "ok \xef\xbf\xbd \xc3\xa9");
    done(&r);
    /* Unknown charset: read as Windows-1252. */
    r = parse("From: a@example.org\nSubject: s\nMIME-Version: 1.0\n"
	      "Content-Type: text/plain; charset=x-no-such\n\ncaf\xe9\n");
    CU_ASSERT_STRING_EQUAL(r.m->body, "caf\xc3\xa9");
    done(&r);
    /* CRLF, bare CR and NUL bytes. */
    r = parse("From: a@example.org\r\nSubject: crlf\r\n\r\nline 1\r\nline\0 2\rline 3\r\n");
    CU_ASSERT_STRING_EQUAL(r.m->subject, "crlf");
    done(&r);
    {
	static const char msg[] = "From: a@example.org\r\nSubject: crlf\r\n\r\n"
	    "line 1\r\nline\0 2\rline 3\r\n";
	char   *copy;
	struct lmtp_parsed *p = parse_bytes(msg, sizeof(msg) - 1, &copy);

	CU_ASSERT_STRING_EQUAL(lmtp_parsed_message(p)->body, "line 1\nline 2\nline 3");
	lmtp_parsed_free(&p);
	mem_free(copy);
    }
    /* A whole message with bare CR line ends. */
    r = parse("From: a@example.org\rSubject: cr\r\rone\rtwo\r");
    CU_ASSERT_STRING_EQUAL(r.m->from, "a@example.org");
    CU_ASSERT_STRING_EQUAL(r.m->subject, "cr");
    CU_ASSERT_STRING_EQUAL(r.m->body, "one\ntwo");
    done(&r);
    /* A UTF-8 BOM before the headers and before the text. */
    r = parse("\xef\xbb\xbf" "From: a@example.org\nSubject: bom\n\n\xef\xbb\xbftext\n");
    CU_ASSERT_STRING_EQUAL(r.m->from, "a@example.org");
    CU_ASSERT_STRING_EQUAL(r.m->body, "text");
    done(&r);
    /* Content-Type without subtype is text/plain (RFC 2045 5.2). */
    r = parse("From: a@example.org\nSubject: s\nMIME-Version: 1.0\nContent-Type: text\n\nplain\n");
    CU_ASSERT_STRING_EQUAL(r.m->body, "plain");
    CU_ASSERT_EQUAL(r.m->n_attachments, 0);
    done(&r);
}

static void test_helpers(void)
{
    char   *s;

    s = lmtp_utf8_from_cp1252("\x80\x81\x9f\xa0\xff" "a\0b", 8);
    CU_ASSERT_STRING_EQUAL(s, "\xe2\x82\xac\xef\xbf\xbd\xc5\xb8\xc2\xa0\xc3\xbf" "ab");
    mem_free(s);
    s = lmtp_utf8_repair("a\xff" "b\xc3\0c\xe2\x82", 8);
    CU_ASSERT_STRING_EQUAL(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd");
    CU_ASSERT(g_utf8_validate(s, -1, 0));
    mem_free(s);
}

static void test_hash_and_raw(void)
{
    static const char text[] = "From: a@example.org\nSubject: h\n\nhash me\n";
    char   *copy;
    struct lmtp_parsed *p = parse_bytes(text, sizeof(text) - 1, &copy);
    struct store_message *m = lmtp_parsed_message(p);
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    guint8  digest[32];
    gsize   n = sizeof(digest);

    g_checksum_update(sum, (const guchar *) text, sizeof(text) - 1);
    g_checksum_get_digest(sum, digest, &n);
    g_checksum_free(sum);
    CU_ASSERT_EQUAL(memcmp(m->hash, digest, 32), 0);
    /* raw is the caller's buffer itself, not a copy. */
    CU_ASSERT_PTR_EQUAL(m->raw, copy);
    CU_ASSERT_EQUAL(m->raw_len, sizeof(text) - 1);
    lmtp_parsed_free(&p);
    lmtp_parsed_free(&p);			/* NULL: no-op */
    mem_free(copy);

    /* Empty input, NULL input. */
    p = lmtp_parse(0, 0, 0);
    m = lmtp_parsed_message(p);
    CU_ASSERT(all_valid(m));
    CU_ASSERT_STRING_EQUAL(m->body, "");
    CU_ASSERT_EQUAL(m->raw_len, 0);
    lmtp_parsed_free(&p);
}

/* test_conf_hook - the hook and system id come from the configuration */

static void test_conf_hook(void)
{
    static const char conf_text[] =
	"[postdesk]\ndomain = desk.example.org\nticket_hook = Ref#\nsystem_id = 42\n"
	"[queue Q]\naddresses = q@example.org\ngroup = g\n"
	"[calendar c]\ntimezone = UTC\n"
	"[sla s]\ncalendar = c\nfirst_response = 1h\nsolution = 2d\n";
    char    path[] = "/tmp/postdesk-conf-XXXXXX";
    int     fd = mkstemp(path);
    char   *errors = 0;
    struct conf *conf;
    struct lmtp_parsed *p;
    struct store_message *m;
    static const char mail[] = "From: a@example.org\n"
	"Subject: AW: [Ref#2026112742000019] [Ticket#2026112710000017] Drucker\n\nx\n";

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, conf_text, sizeof(conf_text) - 1)
		    == (ssize_t) sizeof(conf_text) - 1);
    close(fd);
    conf = conf_load(path, &errors);
    unlink(path);
    if (errors)
	fprintf(stderr, "%s\n", errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    p = lmtp_parse(mail, sizeof(mail) - 1, conf);
    m = lmtp_parsed_message(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->ticket_ref);
    CU_ASSERT_STRING_EQUAL(m->ticket_ref, "2026112742000019");
    CU_ASSERT_STRING_EQUAL(m->title, "[Ticket#2026112710000017] Drucker");
    lmtp_parsed_free(&p);
    conf_unref(&conf);
}

/* test_loop_language - X-Postdesk-Loop of this instance, Content-Language */

static void test_loop_language(void)
{
    static const char conf_text[] =
	"[postdesk]\ndomain = desk.example.org\ninstance = desk-a.example.org\n"
	"[queue Q]\naddresses = q@example.org\ngroup = g\n";
    static const struct {
	const char *headers;
	int     own_loop;			/* with the configuration */
	const char *lang;
    } cases[] = {
	{"", 0, ""},
	{"X-Postdesk-Loop: desk-a.example.org\n", 1, ""},
	{"X-Postdesk-Loop:   DESK-A.Example.ORG  \n", 1, ""},
	{"X-Postdesk-Loop: desk-b.example.org\n", 0, ""},
	{"X-Postdesk-Loop: desk-a.example.org.evil\n", 0, ""},
	{"X-Postdesk-Loop: other.example.org\nX-Postdesk-Loop: desk-a.example.org\n",
	    1, ""},
	{"x-postdesk-loop: desk-a.example.org\n", 1, ""},
	{"Content-Language: en-US, fr\n", 0, "en-us"},
	{"Content-Language: FR\n", 0, "fr"},
	{"Content-Language:   de-CH;q=1\n", 0, "de-ch"},
	{"Content-Language: <script>\n", 0, ""},
	{"Content-Language:\n", 0, ""},
	{"MIME-Version: 1.0\nContent-Language: en\n"
	    "Content-Type: multipart/mixed; boundary=b\n", 0, "en"},
    };
    char    path[] = "/tmp/postdesk-conf-XXXXXX";
    int     fd = mkstemp(path);
    char   *errors = 0;
    struct conf *conf;

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, conf_text, sizeof(conf_text) - 1)
		    == (ssize_t) sizeof(conf_text) - 1);
    close(fd);
    conf = conf_load(path, &errors);
    unlink(path);
    if (errors)
	fprintf(stderr, "%s\n", errors);
    mem_free(errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	char   *mail = mem_printf("From: a@example.org\nSubject: x\n%s\n"
				  "--b\nContent-Type: text/plain\n\nbody\n--b--\n",
				  cases[i].headers);
	struct lmtp_parsed *p = lmtp_parse(mail, strlen(mail), conf);
	struct store_message *m = lmtp_parsed_message(p);

	CU_ASSERT_EQUAL(m->own_loop, cases[i].own_loop);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->content_language);
	CU_ASSERT_STRING_EQUAL(m->content_language, cases[i].lang);
	if (m->own_loop != cases[i].own_loop
	    || strcmp(m->content_language, cases[i].lang) != 0)
	    fprintf(stderr, "case %zu: own_loop %d, language \"%s\"\n", i,
		    m->own_loop, m->content_language);
	lmtp_parsed_free(&p);
	/* Without a configuration there is no instance: never our loop. */
	p = lmtp_parse(mail, strlen(mail), 0);
	m = lmtp_parsed_message(p);
	CU_ASSERT_EQUAL(m->own_loop, 0);
	CU_ASSERT_STRING_EQUAL(m->content_language, cases[i].lang);
	lmtp_parsed_free(&p);
	mem_free(mail);
    }
    conf_unref(&conf);
}

/* parse_worker - parse the same messages over and over, checking */

static void *parse_worker(void *arg)
{
    static const char *const mails[] = {
	"From: =?utf-8?q?Ren=C3=A9?= <r@example.org>\nSubject: =?iso-8859-1?q?caf=E9?=\n"
	"References: <a@x> <b@x>\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n"
	"<p>x &eacute;</p>\n--b\nContent-Type: application/pdf; name=a.pdf\n"
	"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n",
	"From: a@example.org\nSubject: RE : [Ticket#2026112710000017] x\n\n"
	"text\n\nOn Fri, X wrote:\n> q\n",
    };
    int    *failures = arg;
    int     i;
    size_t  j;
    struct lmtp_parsed *p;
    struct store_message *m;

    for (i = 0; i < 300; i++) {
	for (j = 0; j < sizeof(mails) / sizeof(mails[0]); j++) {
	    p = lmtp_parse(mails[j], strlen(mails[j]), 0);
	    m = lmtp_parsed_message(p);
	    if (!all_valid(m) || (j == 0 && (m->n_attachments != 1
				    || strcmp(m->body, "x \xc3\xa9") != 0))
		|| (j == 1 && strcmp(m->body, "text") != 0))
		(*failures)++;
	    lmtp_parsed_free(&p);
	}
    }
    return (0);
}

/* test_threads - one message per thread, several threads at once */

static void test_threads(void)
{
    pthread_t threads[6];
    int     failures[6] = {0};
    size_t  i;

    for (i = 0; i < 6; i++)
	CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], 0, parse_worker,
					     &failures[i]), 0);
    for (i = 0; i < 6; i++) {
	pthread_join(threads[i], 0);
	CU_ASSERT_EQUAL(failures[i], 0);
    }
}

 /*
  * The corpus.
  */

struct corpus_stats {
    int     files;
    int     big_attachment_seen;
    int     long_line_seen;
};

/* check_one - parse one input (exact-size copy), check, time it */

static void check_one(const char *name, const char *data, size_t len,
		              struct corpus_stats *st)
{
    char   *copy = len ? mem_memdup(data, len) : 0;
    uint64_t start = time_now_ms();
    struct lmtp_parsed *p = lmtp_parse(copy, len, 0);
    struct store_message *m = lmtp_parsed_message(p);
    uint64_t ms = time_now_ms() - start;
    size_t  i;

    if (!all_valid(m))
	fprintf(stderr, "%s: invalid text field\n", name);
    CU_ASSERT(all_valid(m));
    if (ms > PARSE_MS_MAX)
	fprintf(stderr, "%s: %llu ms\n", name, (unsigned long long) ms);
    CU_ASSERT(ms <= PARSE_MS_MAX);
    CU_ASSERT(strlen(m->body) <= LMTP_BODY_MAX);
    CU_ASSERT(m->n_references <= LMTP_REFERENCES_MAX);
    CU_ASSERT_EQUAL(m->raw_len, len);
    for (i = 0; i < m->n_attachments; i++)
	if (m->attachments[i].size == 20971520)
	    st->big_attachment_seen = 1;
    if (strlen(m->body) == 1024 * 1024)
	st->long_line_seen = 1;
    lmtp_parsed_free(&p);
    mem_free(copy);
}

/* check_file - a corpus file as is, with CRLF, and cut short */

static void check_file(const char *path, int variants, struct corpus_stats *st)
{
    gchar  *data;
    gsize   len;
    GString *crlf;
    gsize   i;
    gsize   step;

    if (!g_file_get_contents(path, &data, &len, 0)) {
	CU_FAIL("corpus file unreadable");
	return;
    }
    st->files++;
    check_one(path, data, len, st);
    if (variants) {
	crlf = g_string_sized_new(len * 2 + 1);
	for (i = 0; i < len; i++) {
	    if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
		g_string_append_c(crlf, '\r');
	    g_string_append_c(crlf, data[i]);
	}
	check_one(path, crlf->str, crlf->len, st);
	g_string_free(crlf, TRUE);
	/* Truncated at many points (a connection cut, a broken client). */
	step = len / 64 + 1;
	for (i = 0; i < len; i += step)
	    check_one(path, data, i, st);
    }
    g_free(data);
}

/* check_dir - every *.eml in dir */

static void check_dir(const char *dir, int variants, struct corpus_stats *st)
{
    DIR    *d = opendir(dir);
    struct dirent *e;
    char   *path;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((e = readdir(d)) != 0) {
	if (!g_str_has_suffix(e->d_name, ".eml"))
	    continue;
	path = mem_printf("%s/%s", dir, e->d_name);
	check_file(path, variants, st);
	mem_free(path);
    }
    closedir(d);
}

static void test_corpus(void)
{
    struct corpus_stats st = {0};
    char   *dir = mem_printf("%s/tests/corpus", source_dir);

    check_dir(dir, 1, &st);
    fprintf(stderr, "corpus: %d files\n", st.files);
    CU_ASSERT(st.files >= 30);
    mem_free(dir);
}

/* run_make_big - tests/corpus/make-big.sh OUTDIR, without a shell string */

static int run_make_big(const char *outdir)
{
    char   *script = mem_printf("%s/tests/corpus/make-big.sh", source_dir);
    pid_t   pid;
    int     status = -1;

    if ((pid = fork()) == 0) {
	execl("/bin/sh", "sh", script, outdir, (char *) 0);
	_exit(127);
    }
    mem_free(script);
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
	return (-1);
    return (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1);
}

/* remove_dir - remove the generated files and their directory */

static void remove_dir(const char *dir)
{
    DIR    *d = opendir(dir);
    struct dirent *e;
    char   *path;

    if (d == 0)
	return;
    while ((e = readdir(d)) != 0) {
	if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
	    continue;
	path = mem_printf("%s/%s", dir, e->d_name);
	unlink(path);
	mem_free(path);
    }
    closedir(d);
    rmdir(dir);
}

static void test_big(void)
{
    struct corpus_stats st = {0};
    char    dir[] = "/tmp/postdesk-big-XXXXXX";

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_EQUAL_FATAL(run_make_big(dir), 0);
    check_dir(dir, 0, &st);
    fprintf(stderr, "generated: %d files\n", st.files);
    CU_ASSERT(st.files >= 7);
    CU_ASSERT(st.big_attachment_seen);
    CU_ASSERT(st.long_line_seen);
    remove_dir(dir);
}

int     main(void)
{
    CU_pSuite suite;
    CU_ErrorCode rc;
    unsigned bad;
    const char *env = getenv("POSTDESK_SOURCE_DIR");

    source_dir = env ? g_strdup(env) : g_path_get_dirname(__FILE__);
    if (env == 0) {				/* .../tests/unit -> ... */
	char   *up = g_path_get_dirname(source_dir);

	g_free(source_dir);
	source_dir = g_path_get_dirname(up);
	g_free(up);
    }
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    g_mime_init();
    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    suite = CU_add_suite("ingest", 0, 0);
    CU_add_test(suite, "addresses and Message-ID", test_addresses);
    CU_add_test(suite, "subjects, title, ticket", test_subjects);
    CU_add_test(suite, "alternative picks text/plain", test_alternative);
    CU_add_test(suite, "HTML-only gives text", test_html_only);
    CU_add_test(suite, "HTML to text", test_html_to_text);
    CU_add_test(suite, "attachments", test_attachments);
    CU_add_test(suite, "message/rfc822 parts", test_message_part);
    CU_add_test(suite, "references", test_references);
    CU_add_test(suite, "automatic mail", test_automatic);
    CU_add_test(suite, "quote trimming", test_quotes);
    CU_add_test(suite, "quote trimming in messages", test_quotes_in_message);
    CU_add_test(suite, "charsets and line ends", test_charsets);
    CU_add_test(suite, "UTF-8 helpers", test_helpers);
    CU_add_test(suite, "hash and raw", test_hash_and_raw);
    CU_add_test(suite, "hook from the configuration", test_conf_hook);
    CU_add_test(suite, "own loop header, Content-Language", test_loop_language);
    CU_add_test(suite, "parallel parsing", test_threads);
    suite = CU_add_suite("corpus", 0, 0);
    CU_add_test(suite, "committed corpus", test_corpus);
    CU_add_test(suite, "agent mail view", test_agent_view);
    CU_add_test(suite, "generated big messages", test_big);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    g_mime_shutdown();
    g_free(source_dir);
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
