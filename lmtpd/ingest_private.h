#ifndef POSTDESK_INGEST_PRIVATE_H
#define POSTDESK_INGEST_PRIVATE_H

/*++
/* NAME
/*	ingest_private 3h
/* SUMMARY
/*	text helpers shared by the ingest files (lmtpd/ingest.c,
/*	lmtpd/subject.c, lmtpd/html.c) and their unit tests
/* SYNOPSIS
/*	#include "ingest_private.h"
/* DESCRIPTION
/*	Not part of the public lmtp interface. Every function returns a
/*	newly allocated NUL-terminated UTF-8 string (mem_free()) unless
/*	said otherwise, and none of them touches GMime objects.
/*--*/

#include <stddef.h>

/* Caps (documented in lmtpd/ingest.c). */
#define LMTP_BODY_MAX		(1024 * 1024)	/* text view, bytes */
#define LMTP_REFERENCES_MAX	50	/* In-Reply-To + References ids */
#define LMTP_MIME_DEPTH_MAX	64	/* multipart nesting we walk */
#define LMTP_HEADER_MAX		(64 * 1024)	/* one decoded header field */
#define LMTP_SUBJECT_WORK_MAX	(64 * 1024)	/* subject bytes looked at */
#define LMTP_AUTH_RESULTS_MAX	20	/* Authentication-Results kept */

/* Defaults when lmtp_parse() is given no configuration. */
#define LMTP_DEFAULT_HOOK	"Ticket#"
#define LMTP_DEFAULT_SYSTEM_ID	10

/* lmtp_utf8_from_cp1252 - convert Windows-1252 bytes (undefined bytes
   become U+FFFD). */
extern char *lmtp_utf8_from_cp1252(const char *in, size_t len);

/* lmtp_utf8_repair - a valid UTF-8 copy: invalid sequences become U+FFFD. */
extern char *lmtp_utf8_repair(const char *in, size_t len);

/* lmtp_html_to_text - readable text from HTML (UTF-8 in, UTF-8 out). */
extern char *lmtp_html_to_text(const char *html, size_t len);

/* lmtp_text_trim_quotes - the body without trailing quoted blocks and
   without what follows a reply header; keep_forward: do not cut at an
   Outlook-style header block (the mail is a forward). Input: LF-only
   UTF-8. Never returns "" for input that has non-blank text. */
extern char *lmtp_text_trim_quotes(const char *text, int keep_forward);

/* lmtp_subject_forwarded - 1 when the leading prefixes of subject
   include a forward marker (Fwd, Fw, TR, WG, VS, RV, Enc, ...). */
extern int lmtp_subject_forwarded(const char *subject);

#endif
