/*++
/* NAME
/*	store_number 3
/* SUMMARY
/*	OTOBO "DateChecksum" ticket numbers
/* SYNOPSIS
/*	#include <store.h>
/*
/*	void	store_number_format(out, year, month, day, system_id, counter)
/*	char	out[32];
/*	int	year, month, day;
/*	unsigned system_id;
/*	uint64_t counter;
/*
/*	int	store_number_check_digit(digits)
/*	const char *digits;
/* DESCRIPTION
/*	store_number_format() writes the ticket number of the counter-th
/*	ticket of a day: YYYYMMDD, the system id as printed ("10"), the
/*	counter zero-padded to at least 5 digits, then the check digit.
/*	This is OTOBO's Kernel::System::Ticket::Number::DateChecksum, so
/*	numbers look like the ones the helpdesk used before.
/*
/*	store_number_check_digit() computes that check digit over a
/*	string of digits: each digit is multiplied by 1, 2, 1, 2, ...
/*	from the left, the products (not their digit sums) are added,
/*	and the digit is 10 minus the sum modulo 10, where 10 is written
/*	as 1 (so it is never 0).
/* DIAGNOSTICS
/*	store_number_format() writes "" for a negative date or one that
/*	does not fit. store_number_check_digit() returns -1 for an empty string or one
/*	with a non-digit.
/* LICENSE
/*	MIT, see LICENSE.
/* AUTHOR(S)
/*	The postdesk developers.
/*--*/

#include <stdio.h>
#include <string.h>

#include "store_private.h"

/* store_number_check_digit - OTOBO DateChecksum check digit */

int     store_number_check_digit(const char *digits)
{
    unsigned long sum = 0;
    unsigned weight = 1;
    const char *cp;
    unsigned check;

    if (digits == 0 || *digits == 0)
	return (-1);
    for (cp = digits; *cp; cp++) {
	if (*cp < '0' || *cp > '9')
	    return (-1);
	sum += (unsigned long) (*cp - '0') * weight;
	weight = (weight == 1) ? 2 : 1;
    }
    check = 10 - (unsigned) (sum % 10);
    return (check == 10 ? 1 : (int) check);
}

/* store_number_format - YYYYMMDD + system id + counter + check digit */

void    store_number_format(char out[32], int year, int month, int day,
			            unsigned system_id, uint64_t counter)
{
    int     n;
    int     check;

    n = snprintf(out, 31, "%04d%02d%02d%u%05llu", year, month, day,
		 system_id, (unsigned long long) counter);
    if (n < 0 || n >= 31) {			/* absurd input: keep it a string */
	out[0] = 0;
	return;
    }
    if ((check = store_number_check_digit(out)) < 0) {	/* negative date */
	out[0] = 0;
	return;
    }
    out[n] = (char) ('0' + check);
    out[n + 1] = 0;
}
