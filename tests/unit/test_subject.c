/*++
/* NAME
/*	test_subject 1
/* SUMMARY
/*	unit tests of lmtp_subject_clean() and lmtp_subject_ticket()
/* SYNOPSIS
/*	test_subject
/* DESCRIPTION
/*	A table of real-world subjects (French, German, English and a few
/*	other clients) with the expected title and ticket number, run with
/*	the OTOBO defaults (hook "Ticket#", system id 10); then the edge
/*	cases: other system ids and hooks, huge and NULL subjects.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <glib.h>

#include "util.h"
#include "lmtp.h"
#include "ingest_private.h"

#define T1 "2026112710000017"
#define T2 "2026112710000025"

static const struct subject_case {
    const char *subject;
    const char *title;
    const char *ticket;			/* NULL: none */
} cases[] = {
    /* French */
    {"RE : [Ticket#" T1 "] Imprimante en panne", "Imprimante en panne", T1},
    {"TR: Fwd: Probl\xc3\xa8me de connexion VPN", "Probl\xc3\xa8me de connexion VPN", 0},
    {"R\xc3\xa9" "f. : [Ticket#" T1 "] Demande de badge", "Demande de badge", T1},
    {"R\xc3\xa9" "f.: [Ticket#: " T1 "] Badge", "Badge", T1},
    {"R\xc3\x89P : Acc\xc3\xa8s Wi-Fi", "Acc\xc3\xa8s Wi-Fi", 0},
    {"R\xc3\xa9p.: Acc\xc3\xa8s", "Acc\xc3\xa8s", 0},
    {"Re(3): Compte bloqu\xc3\xa9", "Compte bloqu\xc3\xa9", 0},
    {"Re : Re : Demande", "Demande", 0},
    {"RE: RE: RE: R\xc3\xa9union mardi", "R\xc3\xa9union mardi", 0},
    {"R\xc3\xa9ponse automatique : Absent", "R\xc3\xa9ponse automatique : Absent", 0},
    {"R\xc3\xa9" "f.\xc2\xa0: Badge perdu", "Badge perdu", 0},
    {"TR : [Ticket#" T1 "] Imprimante", "Imprimante", T1},
    {"Re: Caf\xc3\xa9 cr\xc3\xa8me \xe2\x98\x95 probl\xc3\xa8me",
     "Caf\xc3\xa9 cr\xc3\xa8me \xe2\x98\x95 probl\xc3\xa8me", 0},
    /* German */
    {"AW: WG: [Ticket#" T2 "] Drucker defekt", "Drucker defekt", T2},
    {"Antw: Anfrage Zugang", "Anfrage Zugang", 0},
    {"WG: Netzwerk ausgefallen", "Netzwerk ausgefallen", 0},
    {"AW: Antwort: Re: Rechnung 2026", "Rechnung 2026", 0},
    {"Antwort: Ihre Anfrage vom 27.11.", "Ihre Anfrage vom 27.11.", 0},
    {"AW: [Ticket#" T1 "] St\xc3\xb6rung im Geb\xc3\xa4ude B",
     "St\xc3\xb6rung im Geb\xc3\xa4ude B", T1},
    /* English */
    {"Re[2]: Password reset", "Password reset", 0},
    {"Fw: Out of office", "Out of office", 0},
    {"FW: [Ticket#" T1 "] Network down", "Network down", T1},
    {"Ticket#" T1 " printer", "printer", T1},
    {"Ticket#: " T1 " printer still broken", "printer still broken", T1},
    {"ticket#" T1 " lowercase hook", "lowercase hook", T1},
    {"TICKET#:" T1 " no space", "no space", T1},
    {"Re: Ticket#" T1, "", T1},
    {"Re: Subject at the end [Ticket#" T1 "]", "Subject at the end", T1},
    {"Re: 10:30 meeting", "10:30 meeting", 0},
    {"Re:NoSpace", "NoSpace", 0},
    {"Re:   Multiple    spaces\there", "Multiple spaces here", 0},
    /* Scandinavian, Italian, Polish, Spanish, Portuguese */
    {"SV: VS: Printer on 3rd floor", "Printer on 3rd floor", 0},
    {"VS: Tulostin", "Tulostin", 0},
    {"RIF: Stampante", "Stampante", 0},
    {"R: Richiesta", "Richiesta", 0},
    {"Odp: Drukarka", "Drukarka", 0},
    {"RV: Solicitud", "Solicitud", 0},
    {"Enc: Pedido", "Pedido", 0},
    /* Not recognised */
    {"[Ticket#2026112720000017] wrong system id", "wrong system id", 0},
    {"[Ticket#2026112710001] too few digits", "too few digits", 0},
    {"Voir dossier" T1 " svp", "Voir dossier" T1 " svp", 0},
    {"Ticket:" T1 " wrong hook", "Ticket:" T1 " wrong hook", 0},
    {"Ticket# " T1 " space without colon", "Ticket# " T1 " space without colon", 0},
    {"Ticket#:   " T1 " three spaces", "Ticket#: " T1 " three spaces", 0},
    {"Re: Ticket# n'existe pas", "Ticket# n'existe pas", 0},
    /* Embedded, multiple tags, list tags */
    {"xxTicket#" T1 "yy", "xx yy", T1},
    {"Re: [Ticket#" T1 "] A Re: [Ticket#" T2 "] B", "A Re: B", T1},
    {"Re: Ticket#" T1 " and Ticket#" T2, "and", T1},
    {"Re: Ticket#2026112710001 then [Ticket#" T2 "]", "then", T2},
    {"[helpdesk-list] Re: Imprimante", "[helpdesk-list] Re: Imprimante", 0},
    {"[Ticket#" T1 "] [helpdesk-list] Imprimante", "[helpdesk-list] Imprimante", T1},
    {"[Ticket#" T1 "] RE: Imprimante", "Imprimante", T1},
    /* Degenerate */
    {"", "", 0},
    {"   ", "", 0},
    {"Re: Fwd: AW: ", "", 0},
    {"Re: \xe2\x80\x8f\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
     "\xe2\x80\x8f\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", 0},
};

/* test_table - every case: title and ticket */

static void test_table(void)
{
    size_t  i;
    char   *title;
    char    number[32];
    int     rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	title = lmtp_subject_clean(cases[i].subject, "Ticket#");
	if (strcmp(title, cases[i].title) != 0)
	    fprintf(stderr, "case %zu: title \"%s\", want \"%s\"\n", i,
		    title, cases[i].title);
	CU_ASSERT_STRING_EQUAL(title, cases[i].title);
	mem_free(title);

	rc = lmtp_subject_ticket(cases[i].subject, "Ticket#", 10, number);
	if (cases[i].ticket) {
	    if (rc != 0 || strcmp(number, cases[i].ticket) != 0)
		fprintf(stderr, "case %zu: ticket rc=%d \"%s\", want %s\n", i,
			rc, number, cases[i].ticket);
	    CU_ASSERT_EQUAL(rc, 0);
	    CU_ASSERT_STRING_EQUAL(number, cases[i].ticket);
	} else {
	    if (rc != -1)
		fprintf(stderr, "case %zu: unexpected ticket %s\n", i, number);
	    CU_ASSERT_EQUAL(rc, -1);
	    CU_ASSERT_STRING_EQUAL(number, "");
	}
    }
    CU_ASSERT(sizeof(cases) / sizeof(cases[0]) >= 40);
}

/* test_system_id - the system id is matched as two digits */

static void test_system_id(void)
{
    char    number[32];

    CU_ASSERT_EQUAL(lmtp_subject_ticket("[Ticket#2026112705000017] x",
					"Ticket#", 5, number), 0);
    CU_ASSERT_STRING_EQUAL(number, "2026112705000017");
    CU_ASSERT_EQUAL(lmtp_subject_ticket("[Ticket#" T1 "] x", "Ticket#", 5,
					number), -1);
    CU_ASSERT_EQUAL(lmtp_subject_ticket("[Ticket#2026112799000017] x",
					"Ticket#", 99, number), 0);
    /* 4 to 40 digits after the system id: 40 accepted, the rest ignored. */
    CU_ASSERT_EQUAL(lmtp_subject_ticket("Ticket#20261127100001", "Ticket#",
					10, number), 0);
    CU_ASSERT_STRING_EQUAL(number, "20261127100001");
}

/* test_long_number - a number that cannot fit ends the search */

static void test_long_number(void)
{
    char    number[32];
    char   *title;
    const char *s = "Re: Ticket#" T1 "1234567890123456789012345678901234 [Ticket#" T2 "]";

    CU_ASSERT_EQUAL(lmtp_subject_ticket(s, "Ticket#", 10, number), -1);
    CU_ASSERT_STRING_EQUAL(number, "");
    title = lmtp_subject_clean(s, "Ticket#");
    CU_ASSERT_STRING_EQUAL(title, "");
    mem_free(title);
}

/* test_other_hook - a configured hook replaces Ticket# */

static void test_other_hook(void)
{
    char    number[32];
    char   *title;

    CU_ASSERT_EQUAL(lmtp_subject_ticket("Re: [Helpdesk-Nr. " T1 "] x",
					"Helpdesk-Nr. ", 10, number), 0);
    CU_ASSERT_STRING_EQUAL(number, T1);
    CU_ASSERT_EQUAL(lmtp_subject_ticket("Re: [Ticket#" T1 "] x",
					"Helpdesk-Nr. ", 10, number), -1);
    title = lmtp_subject_clean("AW: [Helpdesk-Nr. " T1 "] Drucker", "Helpdesk-Nr. ");
    CU_ASSERT_STRING_EQUAL(title, "Drucker");
    mem_free(title);
    /* No hook: nothing is a tag. */
    title = lmtp_subject_clean("Re: [Ticket#" T1 "] x", "");
    CU_ASSERT_STRING_EQUAL(title, "[Ticket#" T1 "] x");
    mem_free(title);
    CU_ASSERT_EQUAL(lmtp_subject_ticket("Ticket#" T1, "", 10, number), -1);
    title = lmtp_subject_clean("Re: x", 0);
    CU_ASSERT_STRING_EQUAL(title, "x");
    mem_free(title);
}

/* test_huge - megabytes of subject: bounded work, no crash */

static void test_huge(void)
{
    size_t  len = 4 * 1024 * 1024;
    char   *s = malloc(len + 1);
    char   *title;
    char    number[32];
    size_t  i;
    uint64_t start = time_now_ms();

    CU_ASSERT_FATAL(s != 0);
    for (i = 0; i + 4 <= len; i += 4)
	memcpy(s + i, "Re: ", 4);
    s[len] = 0;
    title = lmtp_subject_clean(s, "Ticket#");
    CU_ASSERT_STRING_EQUAL(title, "");
    mem_free(title);
    /* A tag past the work cap is not seen. */
    memcpy(s + len - 30, "Ticket#" T1 "   ", 7 + 16 + 3);
    CU_ASSERT_EQUAL(lmtp_subject_ticket(s, "Ticket#", 10, number), -1);
    memcpy(s, "Ticket#" T1 " ", 7 + 16 + 1);
    CU_ASSERT_EQUAL(lmtp_subject_ticket(s, "Ticket#", 10, number), 0);
    /* Multibyte characters across the cap: the title stays valid UTF-8. */
    s[0] = 'x';
    for (i = 1; i + 2 <= len; i += 2)
	memcpy(s + i, "\xc3\xa9", 2);
    s[len - 1] = 0;
    title = lmtp_subject_clean(s, "Ticket#");
    CU_ASSERT_EQUAL(strlen(title), LMTP_SUBJECT_WORK_MAX - 1);
    CU_ASSERT(g_utf8_validate(title, -1, 0));
    mem_free(title);
    free(s);
    CU_ASSERT(time_now_ms() - start < 5000);
    CU_ASSERT_EQUAL(lmtp_subject_ticket(0, "Ticket#", 10, number), -1);
    title = lmtp_subject_clean(0, "Ticket#");
    CU_ASSERT_STRING_EQUAL(title, "");
    mem_free(title);
}

/* test_forwarded - forward markers among the prefixes */

static void test_forwarded(void)
{
    CU_ASSERT_EQUAL(lmtp_subject_forwarded("Fwd: x"), 1);
    CU_ASSERT_EQUAL(lmtp_subject_forwarded("RE: TR: x"), 1);
    CU_ASSERT_EQUAL(lmtp_subject_forwarded("WG: x"), 1);
    CU_ASSERT_EQUAL(lmtp_subject_forwarded("AW: x"), 0);
    CU_ASSERT_EQUAL(lmtp_subject_forwarded("Re: Fwd x"), 0);
    CU_ASSERT_EQUAL(lmtp_subject_forwarded("Tracking: x"), 0);
    CU_ASSERT_EQUAL(lmtp_subject_forwarded(""), 0);
}

int     main(void)
{
    CU_pSuite suite;
    CU_ErrorCode rc;
    unsigned bad;

    if (CU_initialize_registry() != CUE_SUCCESS)
	return (1);
    suite = CU_add_suite("subject", 0, 0);
    CU_add_test(suite, "table of real-world subjects", test_table);
    CU_add_test(suite, "system id", test_system_id);
    CU_add_test(suite, "number too long", test_long_number);
    CU_add_test(suite, "configured hook", test_other_hook);
    CU_add_test(suite, "huge and NULL subjects", test_huge);
    CU_add_test(suite, "forward markers", test_forwarded);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    rc = CU_basic_run_tests();
    bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return ((rc != CUE_SUCCESS || bad) ? 1 : 0);
}
