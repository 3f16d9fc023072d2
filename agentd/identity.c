/* Identity table: a vector in insertion order (list order matters to clients). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "err.h"
#include "identity.h"
#include "key.h"

struct idtab {
	struct identity **v;
	size_t n, cap;
};

struct idtab *
idtab_new(void)
{
	return calloc(1, sizeof(struct idtab));
}

void
identity_ref(struct identity *id)
{
	id->refs++;
}

void
identity_unref(struct identity *id)
{
	if (id == NULL || --id->refs > 0)
		return;
	sshx_key_free(id->key);
	free(id->comment);
	free(id->kr_name);
	dest_free(id->dests);
	explicit_bzero(id, sizeof(*id));
	free(id);
}

void
idtab_free(struct idtab *tab)
{
	if (tab == NULL)
		return;
	idtab_remove_all(tab);
	free(tab->v);
	free(tab);
}

size_t
idtab_count(const struct idtab *tab)
{
	return tab->n;
}

struct identity *
idtab_at(const struct idtab *tab, size_t i)
{
	return i < tab->n ? tab->v[i] : NULL;
}

struct identity *
idtab_find(const struct idtab *tab, const uint8_t *blob, size_t len)
{
	const uint8_t *kb;
	size_t i, klen;

	for (i = 0; i < tab->n; i++) {
		kb = sshx_key_blob(tab->v[i]->key, &klen);
		if (klen == len && memcmp(kb, blob, len) == 0)
			return tab->v[i];
	}
	return NULL;
}

int
idtab_add(struct idtab *tab, struct sshx_key *key, char *comment,
    uint64_t death, int confirm, size_t max)
{
	struct identity *id, **nv;
	const uint8_t *blob;
	size_t len, ncap;

	blob = sshx_key_blob(key, &len);
	if ((id = idtab_find(tab, blob, len)) != NULL) {
		/* As OpenSSH: re-adding a key replaces its comment and constraints. */
		free(id->comment);
		id->comment = comment;
		id->death = death;
		id->confirm = confirm;
		sshx_key_free(key);
		return 0;
	}
	if (tab->n >= max)
		return SSHX_ERR_LIMIT;
	if (tab->n == tab->cap) {
		ncap = tab->cap == 0 ? 16 : tab->cap * 2;
		if ((nv = reallocarray(tab->v, ncap, sizeof(*nv))) == NULL)
			return SSHX_ERR_ALLOC;
		tab->v = nv;
		tab->cap = ncap;
	}
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return SSHX_ERR_ALLOC;
	id->key = key;
	id->comment = comment;
	id->death = death;
	id->confirm = confirm;
	id->refs = 1;
	tab->v[tab->n++] = id;
	return 0;
}

/* Drops the table's reference to the identity at index i. */
static void
remove_at(struct idtab *tab, size_t i)
{
	struct identity *id = tab->v[i];

	memmove(&tab->v[i], &tab->v[i + 1], (tab->n - i - 1) * sizeof(*tab->v));
	tab->n--;
	id->removed = 1;
	identity_unref(id);
}

void
idtab_remove(struct idtab *tab, struct identity *id)
{
	size_t i;

	for (i = 0; i < tab->n; i++) {
		if (tab->v[i] == id) {
			remove_at(tab, i);
			return;
		}
	}
}

void
idtab_remove_all(struct idtab *tab)
{
	while (tab->n > 0)
		remove_at(tab, tab->n - 1);
}

size_t
idtab_expire(struct idtab *tab, uint64_t now, uint64_t *nextp)
{
	size_t i = 0, removed = 0;
	uint64_t next = 0;

	while (i < tab->n) {
		uint64_t d = tab->v[i]->death;

		if (d != 0 && d <= now) {
			remove_at(tab, i);
			removed++;
			continue;
		}
		if (d != 0 && (next == 0 || d < next))
			next = d;
		i++;
	}
	if (nextp != NULL)
		*nextp = next;
	return removed;
}
