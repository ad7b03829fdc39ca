#ifndef POSTDESK_COMMAND_H
#define POSTDESK_COMMAND_H

/*++
/* NAME
/*	command 3h
/* SUMMARY
/*	the command language of agent mail: parser interface
/* SYNOPSIS
/*	#include "command.h"
/* DESCRIPTION
/*	Internal header of the lmtpd module (not part of lmtp.h). The
/*	parser is a pure function over the text of the first text part of
/*	an agent's mail (before quote trimming); it neither looks at the
/*	store nor checks rights, and applies nothing. See lmtpd/command.c
/*	for the grammar and every decision taken.
/*
/*	lmtp_command_parse() allocates one struct command_block; the caller
/*	owns it and frees it with lmtp_command_block_free(), which NULLs the
/*	pointer. Every string in it belongs to the block.
/*--*/

#include <stddef.h>

/* Defaults of struct command_limits (NULL limits means these). */
#define COMMAND_DEFAULT_MAX_COMMANDS	50
#define COMMAND_DEFAULT_MAX_LINE	998	/* bytes, without CR/LF */
#define COMMAND_MAX_ERRORS		100	/* further errors are counted */

enum command_kind {
    COMMAND_COMMENT,			/* "## ..." kept for the transcript */
    COMMAND_NOTE,
    COMMAND_REPLY,
    COMMAND_TEMPLATE,
    COMMAND_TAKE,
    COMMAND_OWNER,
    COMMAND_LOCK,
    COMMAND_UNLOCK,
    COMMAND_QUEUE,
    COMMAND_TYPE,
    COMMAND_PRIORITY,
    COMMAND_STATE,
    COMMAND_PENDING,
    COMMAND_WATCH,
    COMMAND_UNWATCH,
    COMMAND_INFORM,
    COMMAND_TITLE,
    COMMAND_MERGE,
    COMMAND_CONFIRM,
    COMMAND_EXPECT,
    COMMAND_FORCE,
    COMMAND_DRY_RUN,
    COMMAND_HELP,
    COMMAND_LIST,
    COMMAND_KIND_COUNT
};

enum command_owner {
    COMMAND_OWNER_AGENT,		/* arg holds the login */
    COMMAND_OWNER_NONE,			/* "#owner none" */
    COMMAND_OWNER_SELF,			/* "#owner me" */
};

/* #pending: either relative (seconds from the mail's arrival) or an
   absolute local date, optionally with a time (has_time = 0: 00:00). */
struct command_when {
    int     relative;
    long    seconds;
    int     year, month, day, hour, minute;
    int     has_time;
};

struct command {
    enum command_kind kind;
    unsigned line;			/* 1-based line in the text */
    char   *raw;			/* the line, no CR/LF, trailing blanks cut */
    /*
     * Arguments, by kind:
     * TEMPLATE, QUEUE: the name; TYPE: canonical type ("Service Request");
     * STATE: canonical state ("closed successful"); TITLE: the text;
     * MERGE: the ticket number (digits); CONFIRM: the code (upper case);
     * EXPECT: the field, value: its canonical value; OWNER: the login
     * when owner == COMMAND_OWNER_AGENT. Otherwise NULL.
     */
    char   *arg;
    char   *value;
    char  **agents;			/* WATCH, UNWATCH, INFORM; may be empty */
    size_t  agent_count;
    enum command_owner owner;
    int     priority;			/* PRIORITY: 1..5 */
    struct command_when when;		/* PENDING */
};

struct command_error {
    unsigned line;			/* 1-based; 0: about the whole block */
    char   *message;			/* English, no control characters */
};

struct command_block {
    struct command *commands;		/* in order, comments included */
    size_t  count;			/* entries in commands[] */
    size_t  command_count;		/* entries that are not comments */
    struct command_error *errors;
    size_t  error_count;		/* entries in errors[] */
    size_t  errors_dropped;		/* beyond COMMAND_MAX_ERRORS */
    size_t  text_offset;		/* byte where the agent's text starts */
    unsigned first_line, last_line;	/* the block's lines, 0 when none */
    int     ended_by_end;		/* the block ended with "#end" */
};

struct command_limits {
    size_t  max_commands;		/* 0: COMMAND_DEFAULT_MAX_COMMANDS */
    size_t  max_line;			/* 0: COMMAND_DEFAULT_MAX_LINE */
    const char *language;		/* of the error messages; NULL: English */
};

/* lmtp_command_parse - parse the command block at the top of text (UTF-8,
   NUL-terminated; NULL is ""). Returns 0 when there is no error, -1
   when block_r holds errors: the caller must then apply nothing. */
extern int lmtp_command_parse(const char *text, const struct command_limits *limits,
			         struct command_block **block_r);

/* lmtp_command_block_free - free a block and NULL the pointer. */
extern void lmtp_command_block_free(struct command_block **block_r);

/* lmtp_command_block_find - the first command of a kind, or NULL. */
extern const struct command *lmtp_command_block_find(const struct command_block *,
						        enum command_kind kind);

/* lmtp_command_name - the canonical keyword of a kind, without '#'. */
extern const char *lmtp_command_name(enum command_kind kind);

#endif
