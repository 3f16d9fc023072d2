/* Passphrases from files and terminals, into secure memory only. */
#ifndef SSHX_PASS_H
#define SSHX_PASS_H

#include <stddef.h>

struct sshx_buf;

/* Longest passphrase accepted, in bytes. */
#define SSHX_PASS_MAX	1024

/*
 * Reads a passphrase file: a regular file owned by us with no group or other
 * permission (0600 or 0400), at most SSHX_PASS_MAX bytes; one trailing
 * newline ("\n" or "\r\n") is not part of the passphrase. An empty
 * passphrase is refused (SSHX_ERR_INVALID_FORMAT).
 */
int sshx_pass_from_file(const char *path, struct sshx_buf **passp, char *why,
    size_t whylen);

/*
 * Asks on /dev/tty with echo off; with confirm, asks twice and requires the
 * same answer. SSHX_ERR_NOT_FOUND when there is no terminal.
 */
int sshx_pass_prompt(const char *prompt, int confirm, struct sshx_buf **passp,
    char *why, size_t whylen);

#endif
