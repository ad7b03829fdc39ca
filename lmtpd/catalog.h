#ifndef POSTDESK_CATALOG_H
#define POSTDESK_CATALOG_H

/*++
/* NAME
/*	catalog 3h
/* SUMMARY
/*	the French texts of agents' command mail
/* SYNOPSIS
/*	#include "catalog.h"
/* DESCRIPTION
/*	Internal header of the lmtpd module. The parser's errors and the
/*	transcript's outcomes are written in English, as printf formats;
/*	lmtp_catalog() gives their French version for an agent whose
/*	language is "fr". A text without a translation is returned as it
/*	is. Every translation keeps the conversions of its English format,
/*	in order (checked by the unit test over lmtp_catalog_at()), so a
/*	format the compiler checked in English is safe in French too.
/*--*/

#include <stddef.h>

/* lmtp_catalog - the text in language (NULL or not "fr": english) */
extern const char *lmtp_catalog(const char *language, const char *english);

/* lmtp_catalog_at - entry i (0..), 0 past the end; for the unit test */
extern int lmtp_catalog_at(size_t i, const char **english_r,
			           const char **french_r);

#endif
