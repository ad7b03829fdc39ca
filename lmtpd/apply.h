#ifndef POSTDESK_APPLY_H
#define POSTDESK_APPLY_H

/*++
/* NAME
/*	apply 3h
/* SUMMARY
/*	agents' command mail: planning (pure) and applying (in the batch)
/* SYNOPSIS
/*	#include "apply.h"
/* DESCRIPTION
/*	Internal header of the lmtpd module. The LMTP session
/*	authenticates a mail to a signed address and parses its command
/*	block (deliver.c); the writer thread then calls apply_run() inside
/*	its batch, which reads the ticket, plans (apply_plan_make(): rights,
/*	guards, lost updates, every argument checked; no store), and either
/*	applies everything or nothing, and always writes the transcript.
/*--*/

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "command.h"
#include <store.h>

struct conf;
struct conf_agent;
struct notify;
struct store_batch;
struct store_message;
struct store_ticket;

/*
 * What the session hands to the writer for one recipient. Everything is
 * borrowed from the session until writer_submit() returns.
 */
struct apply_job {
    const char *log_id;
    const char *recipient;		/* the signed address, lowercase */
    const struct conf_agent *agent;	/* the token's agent */
    char    number[32];			/* the token's ticket, "" personal */
    unsigned revision;			/* the token's ticket revision */
    int     quarantine;			/* token good, identity not */
    int     automatic;			/* auto-reply, bounce, loop: no warning */
    const char *why;			/* quarantine: the reason (English) */
    const char *why_local;		/* the same in the agent's language */
    const struct store_message *msg;	/* the parsed mail */
    const struct command_block *block;	/* its command block */
    const char *text;			/* the text it was parsed from */
    const char *agent_text;		/* text after the block, trimmed */
    const char *list_text;		/* #list: the lines, or NULL */
    time_t  now;
};

enum apply_outcome {
    APPLY_DONE,				/* applied (or nothing to apply) */
    APPLY_REFUSED,			/* errors: nothing applied */
    APPLY_DRY_RUN,			/* #dry-run: nothing applied */
    APPLY_CONFIRM,			/* #merge waits for #confirm */
    APPLY_DUPLICATE,			/* processed before: nothing */
    APPLY_QUARANTINED,			/* unverified note + warning */
};

struct apply_result {
    enum apply_outcome outcome;
    char    number[32];			/* the ticket, "" if none */
    size_t  queued;			/* outbox rows written */
    size_t  errors;
};

extern const char *apply_outcome_name(enum apply_outcome);

/*
 * apply_hint - an active agent sent command lines to a queue address,
 * where they are text (no signed address, no commands). After the mail
 * was stored in ticket number, tell the agent at their configured
 * address that the commands were not run (each line echoed), with the
 * signed address of that ticket as Reply-To; at most APPLY_HINT_LIMIT a day
 * per agent. Adds the outbox rows to *queued_r.
 */
#define APPLY_HINT_LIMIT	5
extern int apply_hint(struct store_batch *, const struct conf *,
		              const struct notify *, const struct conf_agent *,
		              const struct store_message *,
		              const struct command_block *, const char *text,
		              const char *number, size_t *queued_r);

/* apply_run - see DESCRIPTION; returns a store status (STORE_OK,
   STORE_RETRY, STORE_TEMP; STORE_PERM only for mail that cannot be
   stored). */
extern int apply_run(struct store_batch *, const struct conf *,
		             const struct notify *, const struct apply_job *,
		             struct apply_result *);

/*
 * The plan: pure, unit-tested over tables.
 */
struct apply_facts {
    const struct conf *conf;
    const struct conf_agent *agent;
    const struct store_ticket *ticket;	/* NULL: not found or personal */
    int     personal;			/* the personal address: no ticket */
    const struct store_ticket *merge_target;	/* NULL: not found */
    unsigned revision;			/* the token's */
    const struct command_block *block;
    int     has_text;			/* the agent wrote a text */
    int     reply_ok;			/* notify_reply_check() */
    const char *reply_why;
    int     (*response_exists) (const void *ctx, const char *name);
    const void *response_ctx;
    const char *confirm_codes[2];	/* valid #confirm codes (today, yesterday) */
    const char *subject_ticket;		/* ticket number in the Subject, or NULL */
    time_t  now;			/* arrival: base of "#pending +3d" */
};

enum apply_mode {
    APPLY_MODE_NOTE,			/* the default */
    APPLY_MODE_REPLY,
};

struct apply_plan {
    char  **outcomes;			/* one per block command: "ok: ..." */
    char  **errors;			/* general errors; n_errors */
    size_t  n_errors;			/* general + per command */
    size_t  n_general;
    enum apply_mode mode;
    const char *response;		/* #template name or NULL */
    struct store_ticket_change change;	/* strings borrowed */
    int     set_state;
    const char *state;
    time_t  pending_until;
    const char *merge_into;		/* NULL: no merge */
    const char **informed;		/* n_informed logins (borrowed) */
    size_t  n_informed;
    const char **watch_add;		/* owned arrays of borrowed logins */
    const char **watch_remove;
    int     dry_run;
    int     force;
    int     help;
    int     list;
    int     needs_confirm;		/* #merge without a good #confirm */
    int     touches[STORE_FIELD_COUNT];	/* fields the plan changes */
    int     changes_ticket;		/* anything to write on the ticket */
    const char *lang;			/* of the texts: the agent's language */
};

/* apply_plan_make - plan the block against the facts; the plan is always
   returned (free with apply_plan_free()); n_errors > 0: apply nothing. */
extern struct apply_plan *apply_plan_make(const struct apply_facts *);
extern void apply_plan_free(struct apply_plan **planp);

/* apply_lost_update - 1 when field was changed by someone else than
   login after the token's revision (the mail's author did not see it) */
extern int apply_lost_update(const struct store_ticket *t, enum store_field f,
			             unsigned token_revision, const char *login);

#endif
