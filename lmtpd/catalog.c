/*++
/* NAME
/*	catalog 3
/* SUMMARY
/*	the French texts of agents' command mail
/* SYNOPSIS
/*	#include "catalog.h"
/*
/*	const char *lmtp_catalog(language, english)
/*	const char *language;
/*	const char *english;
/*
/*	int	lmtp_catalog_at(i, english_r, french_r)
/* DESCRIPTION
/*	lmtp_catalog() returns the French translation of an English text
/*	(a printf format or a plain text) of the command parser
/*	(lmtpd/command.c), of the transcript (lmtpd/apply.c) and of the
/*	quarantine reasons (lmtpd/deliver.c) when language starts with
/*	"fr", else english itself; also english when there is no
/*	translation. The result is static. Keywords, states, types and
/*	field names stay as they are written in commands.
/*
/*	lmtp_catalog_at() walks the table for the unit test, which checks
/*	that each translation has the same conversions as its English
/*	format.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <string.h>

#include "catalog.h"

static const struct {
    const char *en;
    const char *fr;
} table[] = {
    /* The parser. */
    {"invalid UTF-8 in a command line", "UTF-8 invalide dans une ligne de commande"},
    {"control character U+%04X in a command line",
     "caractère de contrôle U+%04X dans une ligne de commande"},
    {"invisible or bidirectional character U+%04X in a command line",
     "caractère invisible ou bidirectionnel U+%04X dans une ligne de commande"},
    {"line longer than %zu bytes", "ligne de plus de %zu octets"},
    {"'#' without a command name", "« # » sans nom de commande"},
    {"#end takes no arguments", "#end ne prend pas d'argument"},
    {"unknown command \"#%.*s\"", "commande inconnue « #%.*s »"},
    {"more than %zu commands", "plus de %zu commandes"},
    {"fullwidth number sign U+FF03 at the start of a line",
     "dièse pleine chasse U+FF03 en début de ligne"},
    {"a line of invisible characters in the command block",
     "une ligne de caractères invisibles dans le bloc de commandes"},
    {"invisible characters before '#'", "caractères invisibles avant « # »"},
    {"blanks before '#' (commands start at the first column)",
     "blancs avant « # » (les commandes commencent en première colonne)"},
    {"#%s: bad agent login \"%.*s\"", "#%s : identifiant d'agent incorrect « %.*s »"},
    {"#inform needs at least one agent", "#inform demande au moins un agent"},
    {"#owner needs an agent, \"none\" or \"me\"",
     "#owner demande un agent, « none » ou « me »"},
    {"#owner takes one agent", "#owner prend un seul agent"},
    {"#owner: bad agent login \"%.*s\"", "#owner : identifiant d'agent incorrect « %.*s »"},
    {"#%s needs %s", "#%s demande %s"},
    {"#%s takes only %s", "#%s ne prend que %s"},
    {"a template name", "un nom de modèle"},
    {"a code", "un code"},
    {"a queue name", "un nom de file"},
    {"a title", "un titre"},
    {"#template: bad template name \"%.*s\"", "#template : nom de modèle incorrect « %.*s »"},
    {"#%s: %s longer than %zu bytes", "#%s : %s de plus de %zu octets"},
    {"#merge needs a ticket number", "#merge demande un numéro de ticket"},
    {"#merge: bad ticket number \"%.*s\"", "#merge : numéro de ticket incorrect « %.*s »"},
    {"#confirm: bad code \"%.*s\"", "#confirm : code incorrect « %.*s »"},
    {"#expect needs FIELD=VALUE", "#expect demande CHAMP=VALEUR"},
    {"#expect: unknown field \"%.*s\" (owner, state, queue, type, priority, lock, title)",
     "#expect : champ inconnu « %.*s » (owner, state, queue, type, priority, lock, title)"},
    {"#expect: bad value for %s", "#expect : valeur incorrecte pour %s"},
    {"#%s: bad %s \"%.*s\"%s", "#%s : %s incorrect « %.*s »%s"},
    {" (1-5, very low, low, normal, high, very high)",
     " (1-5, très basse, basse, normale, haute, très haute)"},
    {" (YYYY-MM-DD [HH:MM], +Nd, +Nh, +Nm, +Nw)",
     " (AAAA-MM-JJ [HH:MM], +Nd, +Nh, +Nm, +Nw)"},
    {"#%s takes no arguments", "#%s ne prend pas d'argument"},
    {"#expect %s given twice (line %u)", "#expect %s donné deux fois (ligne %u)"},
    {"#%s given twice (line %u)", "#%s donné deux fois (ligne %u)"},
    {"#%s cannot go with #%s (line %u)", "#%s ne va pas avec #%s (ligne %u)"},
    {"#watch and #unwatch of the same agent (line %u)",
     "#watch et #unwatch du même agent (ligne %u)"},
    /* The plan: one outcome per command. */
    {"refused: locked by %s (add #force to override)",
     "refusé : verrouillé par %s (ajoutez #force pour passer outre)"},
    {"ok: owner %s, locked", "ok : propriétaire %s, verrouillé"},
    {"ok: no owner, unlocked", "ok : plus de propriétaire, déverrouillé"},
    {"error: cannot give the ticket to %s: %s",
     "erreur : impossible de confier le ticket à %s : %s"},
    {"ok: owner %s", "ok : propriétaire %s"},
    {"ok: locked, owner %s", "ok : verrouillé, propriétaire %s"},
    {"ok: locked", "ok : verrouillé"},
    {"ok: unlocked", "ok : déverrouillé"},
    {"ok: watching %s", "ok : %s suit le ticket"},
    {"ok: no longer watching %s", "ok : %s ne suit plus le ticket"},
    {"error: %s: no such agent", "erreur : %s : agent inconnu"},
    {"error: %s: %s", "erreur : %s : %s"},
    {"ok: watching: %s", "ok : suivent le ticket : %s"},
    {"ok: no longer watching: %s", "ok : ne suivent plus le ticket : %s"},
    {"ok: informing %s", "ok : %s sera informé"},
    {"comment", "commentaire"},
    {"ok: internal note", "ok : note interne"},
    {"ok: (no text)", "ok : (pas de texte)"},
    {"error: cannot reply: %s", "erreur : réponse impossible : %s"},
    {"error: no response template \"%s\"", "erreur : pas de modèle de réponse « %s »"},
    {"error: #reply without a text", "erreur : #reply sans texte"},
    {"ok: template %s", "ok : modèle %s"},
    {"ok: reply to the requester", "ok : réponse au demandeur"},
    {"error: no such queue \"%s\"", "erreur : file inconnue « %s »"},
    {"refused: you do not work queue %s", "refusé : vous ne travaillez pas dans la file %s"},
    {"ok: queue %s -> %s", "ok : file %s -> %s"},
    {"ok: type %s -> %s", "ok : type %s -> %s"},
    {"ok: priority %d -> %d", "ok : priorité %d -> %d"},
    {"error: use #merge to merge a ticket", "erreur : utilisez #merge pour fusionner un ticket"},
    {"ok: state %s -> %s", "ok : état %s -> %s"},
    {"error: the pending time is in the past", "erreur : l'échéance d'attente est passée"},
    {"ok: pending until %s", "ok : en attente jusqu'au %s"},
    {"error: #inform needs a text to send", "erreur : #inform demande un texte à envoyer"},
    {"ok: title changed", "ok : titre changé"},
    {"error: ticket %s not found or not accessible",
     "erreur : ticket %s introuvable ou inaccessible"},
    {"error: a ticket cannot be merged into itself",
     "erreur : un ticket ne peut pas être fusionné avec lui-même"},
    {"error: ticket %s was itself merged into %s",
     "erreur : le ticket %s a lui-même été fusionné dans %s"},
    {"ok: merge into %s", "ok : fusion dans %s"},
    {"error: nothing to confirm", "erreur : rien à confirmer"},
    {"ok: confirmed", "ok : confirmé"},
    {"error: wrong or expired confirmation code",
     "erreur : code de confirmation faux ou expiré"},
    {"ok: %s is %s", "ok : %s vaut %s"},
    {"refused: %s is \"%s\", not \"%s\"", "refusé : %s vaut « %s », pas « %s »"},
    {"ok: applied even after changes by others",
     "ok : appliqué même après des changements par d'autres"},
    {"ok: dry run, nothing will be changed", "ok : essai, rien ne sera changé"},
    {"ok: the command reference is on its way",
     "ok : la liste des commandes vous est envoyée"},
    {"ok: the list of your locked tickets is on its way",
     "ok : la liste de vos tickets verrouillés vous est envoyée"},
    {"ok: dry run", "ok : essai"},
    {"error: #%s needs a ticket: reply to a notification about it",
     "erreur : #%s demande un ticket : répondez à une notification de ce ticket"},
    {"no such agent", "agent inconnu"},
    {"agent is not active", "agent inactif"},
    {"agent does not work this queue", "l'agent ne travaille pas dans cette file"},
    {"the ticket has no requester address", "le ticket n'a pas d'adresse de demandeur"},
    {"the requester's address cannot be used",
     "l'adresse du demandeur n'est pas utilisable"},
    {"the requester's address is one of postdesk's own",
     "l'adresse du demandeur est une adresse de postdesk"},
    {"the ticket's queue is not configured", "la file du ticket n'est pas configurée"},
    {"the ticket's queue has no address", "la file du ticket n'a pas d'adresse"},
    /* The plan: errors about the whole mail. */
    {"line %u: %s", "ligne %u : %s"},
    {"%zu more errors", "%zu erreurs de plus"},
    {"ticket not found or not accessible", "ticket introuvable ou inaccessible"},
    {"this reply address belongs to ticket %s, but the subject names ticket %s: "
     "reply to a notification about that ticket",
     "cette adresse de réponse est celle du ticket %s, mais l'objet nomme le "
     "ticket %s : répondez à une notification de ce ticket"},
    {"ticket %s was merged into %s: reply to a notification about that ticket",
     "le ticket %s a été fusionné dans %s : répondez à une notification de ce ticket"},
    {"#merge cannot go with #state or #pending", "#merge ne va pas avec #state ou #pending"},
    {"refused: %s was changed by %s after the notification you answer "
     "(add #force to apply anyway)",
     "refusé : %s a été changé par %s après la notification à laquelle vous "
     "répondez (ajoutez #force pour appliquer quand même)"},
    /* The transcript. */
    {"  error: %s\n", "  erreur : %s\n"},
    {"error: %s\n", "erreur : %s\n"},
    {"error: %zu more errors\n", "erreur : %zu erreurs de plus\n"},
    {"Ticket: %s %s\n", "Ticket : %s %s\n"},
    {"State: %s\n", "État : %s\n"},
    {"Pending until: %s\n", "En attente jusqu'au : %s\n"},
    {"Owner: none\n", "Propriétaire : aucun\n"},
    {"Owner: %s (locked)\n", "Propriétaire : %s (verrouillé)\n"},
    {"Owner: %s\n", "Propriétaire : %s\n"},
    {"Queue: %s\n", "File : %s\n"},
    {"Priority: %d, type: %s\n", "Priorité : %d, type : %s\n"},
    {"Merged into: %s\n", "Fusionné dans : %s\n"},
    {"Sent: reply (article %u) to %s\n", "Envoyé : réponse (article %u) à %s\n"},
    {"Recorded: reply (article %u)\n", "Enregistré : réponse (article %u)\n"},
    {"Recorded: internal note (article %u)\n", "Enregistré : note interne (article %u)\n"},
    {"No changes were made: 1 error.\n", "Aucune modification n'a été faite : 1 erreur.\n"},
    {"No changes were made: %zu errors.\n",
     "Aucune modification n'a été faite : %zu erreurs.\n"},
    {"Dry run: everything would work; no changes were made.\n",
     "Essai : tout fonctionnerait ; aucune modification n'a été faite.\n"},
    {"No changes were made: merging cannot be undone.\nTo merge, reply with these "
     "two lines (valid today and tomorrow):\n\n#merge %s\n#confirm %s\n",
     "Aucune modification n'a été faite : une fusion est définitive.\nPour "
     "fusionner, répondez avec ces deux lignes (valables aujourd'hui et "
     "demain) :\n\n#merge %s\n#confirm %s\n"},
    {"No changes made", "Aucune modification"},
    {"Dry run", "Essai"},
    {"Confirmation needed", "Confirmation requise"},
    {"Processed", "Traité"},
    {"Help", "Aide"},
    {"Locked tickets", "Tickets verrouillés"},
    {"Unverified", "Non vérifié"},
    {"Commands not run", "Commandes non exécutées"},
    {"These command lines were not run: commands work only in a reply to a "
     "notification or a transcript, whose Reply-To is your own address for the "
     "ticket. Your mail was added to ticket %s as it is.\n\n",
     "Ces lignes de commande n'ont pas été exécutées : les commandes ne "
     "fonctionnent qu'en réponse à une notification ou à un compte rendu, dont "
     "l'adresse de réponse est la vôtre pour ce ticket. Votre message a été "
     "ajouté tel quel au ticket %s.\n\n"},
    {"\nTo run them, reply to this message with the same lines.\n",
     "\nPour les exécuter, répondez à ce message avec les mêmes lignes.\n"},
    /* Quarantine reasons (deliver.c). */
    {"automatic mail (an auto-reply, a bounce or a loop) runs no commands",
     "un message automatique (réponse automatique, rebond ou boucle) "
     "n'exécute pas de commandes"},
    {"From: holds %zu mailboxes, not one", "From: contient %zu adresses, pas une"},
    {"From: %s is not one of the addresses of agent %s",
     "From: %s n'est pas une des adresses de l'agent %s"},
    {"no %s=pass for %s from %s", "pas de %s=pass pour %s de la part de %s"},
};

/* lmtp_catalog - see DESCRIPTION */

const char *lmtp_catalog(const char *language, const char *english)
{
    if (english == 0 || language == 0 || strncmp(language, "fr", 2) != 0)
	return (english);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
	if (strcmp(table[i].en, english) == 0)
	    return (table[i].fr);
    return (english);
}

/* lmtp_catalog_at - entry i for the unit test */

int     lmtp_catalog_at(size_t i, const char **english_r, const char **french_r)
{
    if (i >= sizeof(table) / sizeof(table[0]))
	return (0);
    *english_r = table[i].en;
    *french_r = table[i].fr;
    return (1);
}
