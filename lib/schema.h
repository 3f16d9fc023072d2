/* The SQL migrations of schema/, compiled in by schema/embed.sh. */
#ifndef SSHX_SCHEMA_H
#define SSHX_SCHEMA_H

#include <stddef.h>

struct sshx_schema_migration {
	int version;		/* the file's number: 0001-initial.sql is 1 */
	const char *name;	/* "0001-initial" */
	const char *sql;
};

/* Migrations in ascending version order, versions 1..sshx_schema_count without gaps. */
extern const struct sshx_schema_migration sshx_schema_migrations[];
extern const size_t sshx_schema_count;

#endif
