/*
 * The keyring passphrase in the Secret Service, through libsecret.
 *
 * libsecret's calls block for as long as the service takes and may prompt.
 * Each call here therefore runs on a detached helper thread with its own
 * GMainContext and SecretService proxy, while the caller waits on a
 * condition variable until a deadline; on timeout the caller cancels the
 * work and leaves, and the helper frees the shared, reference-counted call
 * state itself when it finishes.  Nothing here unlocks a collection, creates
 * one or starts a service by D-Bus activation, so no call raises a prompt.
 *
 * libsecret is not linked: it is loaded with dlopen() by the first call that
 * needs it, so that programs which never reach the Secret Service do not pay
 * for loading and relocating it and GIO, GObject and GLib when they start.
 * The headers still give the types, constants and prototypes; every function
 * is called through the table sshx_secret_lib.  Without the library, every call says
 * why and fails as when there is no Secret Service.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#include "buf.h"
#include "err.h"
#include "secret.h"
#include "secret-dl.h"

#ifndef HAVE_LIBSECRET

int
sshx_secret_lookup(const char *keyring_path, int timeout_ms,
    struct sshx_buf **passp, char *why, size_t whylen)
{
	(void)keyring_path;
	(void)timeout_ms;
	if (passp != NULL)
		*passp = NULL;
	sshx_why(why, whylen, "built without libsecret");
	return SSHX_ERR_NO_SECRET_SERVICE;
}

int
sshx_secret_store(const char *keyring_path, const uint8_t *pass,
    size_t passlen, int timeout_ms, char *why, size_t whylen)
{
	(void)keyring_path;
	(void)pass;
	(void)passlen;
	(void)timeout_ms;
	sshx_why(why, whylen, "built without libsecret");
	return SSHX_ERR_NO_SECRET_SERVICE;
}

int
sshx_secret_clear(const char *keyring_path, int timeout_ms, char *why,
    size_t whylen)
{
	(void)keyring_path;
	(void)timeout_ms;
	sshx_why(why, whylen, "built without libsecret");
	return SSHX_ERR_NO_SECRET_SERVICE;
}

#else /* HAVE_LIBSECRET */

#define SECRET_BUS_NAME		"org.freedesktop.secrets"
#define SECRET_OBJECT_PATH	"/org/freedesktop/secrets"
#define SECRET_INTERFACE	"org.freedesktop.Secret.Service"
#define SECRET_WHY_LEN		256

#define WHY_NO_SESSION	"no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)"
#define WHY_NO_SERVICE	"no Secret Service on the session bus"
#define WHY_LOCKED	"the Secret Service collection is locked"
#define WHY_NOT_FOUND	"no passphrase stored for this keyring in the Secret Service"

static const SecretSchema keyring_schema = {
	.name = "org.sshx.Keyring",
	.flags = SECRET_SCHEMA_NONE,
	.attributes = {
		{ .name = "keyring", .type = SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ .name = NULL, .type = 0 },
	},
};

enum secret_op {
	SECRET_OP_LOOKUP,
	SECRET_OP_STORE,
	SECRET_OP_CLEAR,
};

/* State shared by the caller and the helper thread; the last holder frees it. */
struct secret_call {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;			/* under lock */
	int done;			/* under lock */
	enum secret_op op;
	char *path;			/* the keyring path (attribute value) */
	SecretValue *pass;		/* store: the passphrase, in secure memory */
	GCancellable *cancellable;
	/* Results, written by the helper under lock. */
	int r;
	SecretValue *found;		/* lookup: the passphrase */
	char why[SECRET_WHY_LEN];
};

/* Frees a call, wiping it; the passphrase copies are wiped by libsecret. */
static void
call_free(struct secret_call *c)
{
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->path);
	if (c->pass != NULL)
		sshx_secret_lib.secret_value_unref(c->pass);
	if (c->found != NULL)
		sshx_secret_lib.secret_value_unref(c->found);
	if (c->cancellable != NULL)
		sshx_secret_lib.g_object_unref(c->cancellable);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/* Drops one reference; whoever drops the last one frees the call. */
static void
call_unref(struct secret_call *c)
{
	int last;

	pthread_mutex_lock(&c->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		call_free(c);
}

/* Translates a GError into an SSHX_ERR_* code and a line for why. */
static int
map_error(const GError *err, const char *doing, char *why, size_t whylen)
{
	GQuark io = sshx_secret_lib.g_io_error_quark(), dbus = sshx_secret_lib.g_dbus_error_quark();
	GQuark secret = sshx_secret_lib.secret_error_get_quark();
	GError *copy;

	if (sshx_secret_lib.g_error_matches(err, io, G_IO_ERROR_CANCELLED)) {
		sshx_why(why, whylen, "the Secret Service did not answer in time "
		    "(%s)", doing);
		return SSHX_ERR_TIMEOUT;
	}
	if (sshx_secret_lib.g_error_matches(err, io, G_IO_ERROR_TIMED_OUT) ||
	    sshx_secret_lib.g_error_matches(err, dbus, G_DBUS_ERROR_NO_REPLY) ||
	    sshx_secret_lib.g_error_matches(err, dbus, G_DBUS_ERROR_TIMEOUT) ||
	    sshx_secret_lib.g_error_matches(err, dbus, G_DBUS_ERROR_TIMED_OUT)) {
		sshx_why(why, whylen, "the Secret Service did not reply (%s)",
		    doing);
		return SSHX_ERR_TIMEOUT;
	}
	if (sshx_secret_lib.g_error_matches(err, dbus, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    sshx_secret_lib.g_error_matches(err, dbus, G_DBUS_ERROR_NAME_HAS_NO_OWNER)) {
		sshx_why(why, whylen, WHY_NO_SERVICE);
		return SSHX_ERR_NO_SECRET_SERVICE;
	}
	if (sshx_secret_lib.g_error_matches(err, secret, SECRET_ERROR_IS_LOCKED)) {
		sshx_why(why, whylen, WHY_LOCKED);
		return SSHX_ERR_NO_SECRET_SERVICE;
	}
	if (sshx_secret_lib.g_error_matches(err, io, G_IO_ERROR_CLOSED) ||
	    sshx_secret_lib.g_error_matches(err, dbus, G_DBUS_ERROR_DISCONNECTED)) {
		sshx_why(why, whylen, "the D-Bus session bus closed the "
		    "connection (%s)", doing);
		return SSHX_ERR_NO_SECRET_SERVICE;
	}
	copy = sshx_secret_lib.g_error_copy(err);
	sshx_secret_lib.g_dbus_error_strip_remote_error(copy);
	sshx_why(why, whylen, "Secret Service error (%s): %s", doing,
	    copy->message);
	sshx_secret_lib.g_error_free(copy);
	if (sshx_secret_lib.g_error_matches(err, dbus, G_DBUS_ERROR_ACCESS_DENIED))
		return SSHX_ERR_PERMISSION;
	return SSHX_ERR_PROTOCOL;
}

/* Returns the bus name libsecret talks to (it honours this variable too). */
static const char *
service_bus_name(void)
{
	const char *name;

	if ((name = sshx_secret_lib.g_getenv("SECRET_SERVICE_BUS_NAME")) == NULL)
		name = SECRET_BUS_NAME;
	return name;
}

/*
 * Connects to the session bus and opens a SecretService proxy, unless no
 * process owns the Secret Service's name: asking the bus itself first means
 * no call made here can make the bus activate (start) a service.
 */
static int
service_open(struct secret_call *c, GDBusConnection **connp,
    SecretService **servicep, char *why, size_t whylen)
{
	GDBusConnection *conn = NULL;
	SecretService *service = NULL;
	GVariant *reply = NULL;
	GError *err = NULL;
	gboolean has_owner = FALSE;
	int r = SSHX_ERR_INTERNAL;

	*connp = NULL;
	*servicep = NULL;
	/*
	 * libsecret always uses GIO's shared session connection, which by
	 * default raises SIGTERM in the whole process when the bus goes
	 * away.  Holding a reference keeps this the connection libsecret
	 * gets; GIO forgets it once the last reference is gone.
	 */
	if ((conn = sshx_secret_lib.g_bus_get_sync(G_BUS_TYPE_SESSION, c->cancellable,
	    &err)) == NULL) {
		if (sshx_secret_lib.g_error_matches(err, sshx_secret_lib.g_io_error_quark(),
		    G_IO_ERROR_CANCELLED)) {
			r = map_error(err, "connecting to the session bus",
			    why, whylen);
		} else {
			sshx_why(why, whylen, "cannot connect to the D-Bus "
			    "session bus: %s", err->message);
			r = SSHX_ERR_NO_SECRET_SERVICE;
		}
		goto out;
	}
	sshx_secret_lib.g_dbus_connection_set_exit_on_close(conn, FALSE);
	/* g_variant_type_checked_() is what G_VARIANT_TYPE() expands to. */
	reply = sshx_secret_lib.g_dbus_connection_call_sync(conn, "org.freedesktop.DBus",
	    "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
	    sshx_secret_lib.g_variant_new("(s)", service_bus_name()),
	    sshx_secret_lib.g_variant_type_checked_("(b)"),
	    G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, c->cancellable, &err);
	if (reply == NULL) {
		r = map_error(err, "asking the bus for the Secret Service",
		    why, whylen);
		goto out;
	}
	sshx_secret_lib.g_variant_get(reply, "(b)", &has_owner);
	if (!has_owner) {
		sshx_why(why, whylen, WHY_NO_SERVICE);
		r = SSHX_ERR_NO_SECRET_SERVICE;
		goto out;
	}
	/* A proxy of our own: secret_service_get() would cache one for good. */
	if ((service = sshx_secret_lib.secret_service_open_sync(
	    sshx_secret_lib.secret_service_get_type(), NULL, SECRET_SERVICE_NONE,
	    c->cancellable, &err)) == NULL) {
		r = map_error(err, "opening the Secret Service", why, whylen);
		goto out;
	}
	*connp = conn;
	conn = NULL;		/* transferred */
	*servicep = service;
	service = NULL;		/* transferred */
	r = 0;
 out:
	if (reply != NULL)
		sshx_secret_lib.g_variant_unref(reply);
	if (service != NULL)
		sshx_secret_lib.g_object_unref(service);
	if (conn != NULL)
		sshx_secret_lib.g_object_unref(conn);
	sshx_secret_lib.g_clear_error(&err);
	return r;
}

/*
 * Finds the items for c->path without unlocking anything: the unlocked ones
 * of sshx's schema, in the Secret Service's order (most recent first), and
 * the number of locked ones.  The search matches the keyring attribute
 * alone, because gnome-keyring keeps "xdg:schema" encrypted in a keyring
 * loaded locked and so matches no locked item by schema; the schema of an
 * unlocked item is checked here instead, that of a locked one is unreadable.
 */
static int
search_items(struct secret_call *c, SecretService *service,
    GHashTable *attrs, GList **unlockedp, unsigned int *nlockedp,
    char *why, size_t whylen)
{
	GList *items = NULL, *l, *unlocked = NULL;
	GError *err = NULL;
	gchar *schema;
	unsigned int nlocked = 0;
	int r = SSHX_ERR_INTERNAL;

	*unlockedp = NULL;
	*nlockedp = 0;
	items = sshx_secret_lib.secret_service_search_sync(service, NULL, attrs,
	    SECRET_SEARCH_ALL, c->cancellable, &err);
	if (err != NULL) {
		r = map_error(err, "searching", why, whylen);
		goto out;
	}
	for (l = items; l != NULL; l = l->next) {
		if (sshx_secret_lib.secret_item_get_locked(l->data)) {
			nlocked++;
			continue;
		}
		schema = sshx_secret_lib.secret_item_get_schema_name(l->data);
		if (sshx_secret_lib.g_strcmp0(schema, keyring_schema.name) == 0)
			unlocked = sshx_secret_lib.g_list_prepend(unlocked,
			    (sshx_secret_lib.g_object_ref)(l->data));
		sshx_secret_lib.g_free(schema);
	}
	*unlockedp = sshx_secret_lib.g_list_reverse(unlocked);
	unlocked = NULL;	/* transferred */
	*nlockedp = nlocked;
	r = 0;
 out:
	sshx_secret_lib.g_list_free_full(items, sshx_secret_lib.g_object_unref);
	sshx_secret_lib.g_clear_error(&err);
	return r;
}

/* Loads the secret of the first unlocked item; locked ones are never unlocked. */
static int
op_lookup(struct secret_call *c, SecretService *service, GHashTable *attrs,
    SecretValue **foundp, char *why, size_t whylen)
{
	GList *items = NULL;
	SecretItem *item;
	GError *err = NULL;
	unsigned int nlocked;
	int r;

	*foundp = NULL;
	if ((r = search_items(c, service, attrs, &items, &nlocked,
	    why, whylen)) != 0)
		goto out;
	if (items == NULL) {
		if (nlocked != 0) {
			sshx_why(why, whylen, WHY_LOCKED);
			r = SSHX_ERR_NO_SECRET_SERVICE;
		} else {
			sshx_why(why, whylen, WHY_NOT_FOUND);
			r = SSHX_ERR_NOT_FOUND;
		}
		goto out;
	}
	item = items->data;
	if (!sshx_secret_lib.secret_item_load_secret_sync(item, c->cancellable, &err)) {
		r = map_error(err, "reading the secret", why, whylen);
		goto out;
	}
	if ((*foundp = sshx_secret_lib.secret_item_get_secret(item)) == NULL) {
		sshx_why(why, whylen, "the Secret Service returned no secret");
		r = SSHX_ERR_PROTOCOL;
		goto out;
	}
	sshx_why(why, whylen, "passphrase found in the Secret Service");
	r = 0;
 out:
	sshx_secret_lib.g_list_free_full(items, sshx_secret_lib.g_object_unref);
	sshx_secret_lib.g_clear_error(&err);
	return r;
}

/* Stores the passphrase in the default collection if it exists and is unlocked. */
static int
op_store(struct secret_call *c, SecretService *service, GHashTable *attrs,
    char *why, size_t whylen)
{
	SecretCollection *collection = NULL;
	SecretItem *item = NULL;
	GError *err = NULL;
	gchar *label = NULL;
	int r = SSHX_ERR_INTERNAL;

	/*
	 * libsecret's own store would create a missing default collection
	 * or unlock a locked one, both with a prompt: check first instead.
	 */
	collection = sshx_secret_lib.secret_collection_for_alias_sync(service,
	    SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE,
	    c->cancellable, &err);
	if (collection == NULL) {
		if (err != NULL) {
			r = map_error(err, "finding the default collection",
			    why, whylen);
		} else {
			sshx_why(why, whylen, "the Secret Service has no "
			    "default collection");
			r = SSHX_ERR_NO_SECRET_SERVICE;
		}
		goto out;
	}
	if (sshx_secret_lib.secret_collection_get_locked(collection)) {
		sshx_why(why, whylen, WHY_LOCKED);
		r = SSHX_ERR_NO_SECRET_SERVICE;
		goto out;
	}
	label = sshx_secret_lib.g_strdup_printf("sshx keyring passphrase (%s)", c->path);
	item = sshx_secret_lib.secret_item_create_sync(collection, &keyring_schema, attrs,
	    label, c->pass, SECRET_ITEM_CREATE_REPLACE, c->cancellable, &err);
	if (item == NULL) {
		r = map_error(err, "storing", why, whylen);
		goto out;
	}
	sshx_why(why, whylen, "passphrase stored in the Secret Service");
	r = 0;
 out:
	if (item != NULL)
		sshx_secret_lib.g_object_unref(item);
	if (collection != NULL)
		sshx_secret_lib.g_object_unref(collection);
	sshx_secret_lib.g_free(label);
	sshx_secret_lib.g_clear_error(&err);
	return r;
}

/* Deletes every unlocked item for the keyring; locked ones are reported, not unlocked. */
static int
op_clear(struct secret_call *c, SecretService *service, GHashTable *attrs,
    char *why, size_t whylen)
{
	GList *items = NULL, *l;
	GError *err = NULL;
	unsigned int deleted = 0, nlocked;
	int r;

	if ((r = search_items(c, service, attrs, &items, &nlocked,
	    why, whylen)) != 0)
		goto out;
	for (l = items; l != NULL; l = l->next) {
		if (!sshx_secret_lib.secret_item_delete_sync(l->data, c->cancellable,
		    &err)) {
			r = map_error(err, "deleting", why, whylen);
			goto out;
		}
		deleted++;
	}
	if (nlocked != 0) {
		sshx_why(why, whylen, WHY_LOCKED);
		r = SSHX_ERR_NO_SECRET_SERVICE;
		goto out;
	}
	if (deleted == 0) {
		sshx_why(why, whylen, WHY_NOT_FOUND);
		r = SSHX_ERR_NOT_FOUND;
		goto out;
	}
	sshx_why(why, whylen, "passphrase removed from the Secret Service "
	    "(%u item%s)", deleted, deleted == 1 ? "" : "s");
	r = 0;
 out:
	sshx_secret_lib.g_list_free_full(items, sshx_secret_lib.g_object_unref);
	sshx_secret_lib.g_clear_error(&err);
	return r;
}

/* Runs one operation from start to end; called on the helper thread. */
static int
call_run(struct secret_call *c, SecretValue **foundp, char *why,
    size_t whylen)
{
	GDBusConnection *conn = NULL;
	SecretService *service = NULL;
	GHashTable *attrs = NULL;
	int r;

	*foundp = NULL;
	if ((r = service_open(c, &conn, &service, why, whylen)) != 0)
		goto out;
	attrs = sshx_secret_lib.secret_attributes_build(&keyring_schema, "keyring", c->path,
	    NULL);
	if (attrs == NULL) {
		sshx_why(why, whylen, "cannot build the search attributes");
		r = SSHX_ERR_INTERNAL;
		goto out;
	}
	switch (c->op) {
	case SECRET_OP_LOOKUP:
		r = op_lookup(c, service, attrs, foundp, why, whylen);
		break;
	case SECRET_OP_STORE:
		r = op_store(c, service, attrs, why, whylen);
		break;
	case SECRET_OP_CLEAR:
		r = op_clear(c, service, attrs, why, whylen);
		break;
	default:
		sshx_why(why, whylen, "unknown operation");
		r = SSHX_ERR_INTERNAL;
		break;
	}
 out:
	if (attrs != NULL)
		sshx_secret_lib.g_hash_table_unref(attrs);
	if (service != NULL)
		sshx_secret_lib.g_object_unref(service);
	if (conn != NULL)
		sshx_secret_lib.g_object_unref(conn);
	return r;
}

/* The helper thread: runs the call in a private main context, posts the result. */
static void *
call_thread(void *arg)
{
	struct secret_call *c = arg;
	GMainContext *ctx;
	SecretValue *found = NULL;
	char why[SECRET_WHY_LEN] = "";
	int r;

	ctx = sshx_secret_lib.g_main_context_new();
	sshx_secret_lib.g_main_context_push_thread_default(ctx);
	r = call_run(c, &found, why, sizeof(why));
	/* Let GDBus deliver what it queued here (unsubscriptions and such). */
	while (sshx_secret_lib.g_main_context_iteration(ctx, FALSE))
		;
	sshx_secret_lib.g_main_context_pop_thread_default(ctx);
	sshx_secret_lib.g_main_context_unref(ctx);

	pthread_mutex_lock(&c->lock);
	c->r = r;
	c->found = found;
	found = NULL;		/* transferred */
	memcpy(c->why, why, sizeof(c->why));
	c->done = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	call_unref(c);
	return NULL;
}

/* Returns a new call for op on keyring_path, or NULL when out of memory. */
static struct secret_call *
call_new(enum secret_op op, const char *keyring_path)
{
	struct secret_call *c;
	pthread_condattr_t ca;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->path = strdup(keyring_path)) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->refs = 1;
	c->op = op;
	c->cancellable = sshx_secret_lib.g_cancellable_new();
	return c;
}

/*
 * Runs c on a helper thread and waits at most timeout_ms for it (the default
 * when not positive); on return the caller's reference is gone and *foundp
 * holds a lookup's result.
 */
static int
call_wait(struct secret_call *c, int timeout_ms, SecretValue **foundp,
    char *why, size_t whylen)
{
	struct timespec deadline;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int e, done, r;

	*foundp = NULL;
	if (timeout_ms <= 0)
		timeout_ms = SSHX_SECRET_TIMEOUT_MS;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	c->refs++;		/* the helper's; no thread shares c yet */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals stay with the caller's threads, never the helper. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&tid, &attr, call_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		c->refs--;
		call_unref(c);
		sshx_why(why, whylen, "cannot start a thread for the Secret "
		    "Service: %s", strerror(e));
		errno = e;
		return SSHX_ERR_SYSTEM;
	}

	pthread_mutex_lock(&c->lock);
	while (!c->done) {
		if (pthread_cond_timedwait(&c->cond, &c->lock,
		    &deadline) == ETIMEDOUT)
			break;
	}
	if ((done = c->done)) {
		r = c->r;
		sshx_why(why, whylen, "%s", c->why);
		*foundp = c->found;
		c->found = NULL;	/* transferred */
	} else {
		r = SSHX_ERR_TIMEOUT;
		sshx_why(why, whylen, "the Secret Service did not answer "
		    "within %d ms", timeout_ms);
	}
	pthread_mutex_unlock(&c->lock);
	/*
	 * The helper sees the cancellation, finishes and frees c.  A request
	 * the Secret Service already holds may still be carried out: a store
	 * that timed out can have happened all the same.
	 */
	if (!done)
		sshx_secret_lib.g_cancellable_cancel(c->cancellable);
	call_unref(c);
	return r;
}

/*
 * Checks the arguments shared by every call, that there is a session bus and
 * that libsecret can be used, in that order: without a bus it is not loaded.
 */
static int
check_common(const char *keyring_path, char *why, size_t whylen)
{
	const char *address;
	int r;

	/* The path becomes a D-Bus string: absolute and valid UTF-8. */
	if (keyring_path == NULL || keyring_path[0] != '/') {
		sshx_why(why, whylen, "the keyring path must be absolute "
		    "and valid UTF-8");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	address = getenv("DBUS_SESSION_BUS_ADDRESS");
	if (address == NULL || *address == '\0') {
		sshx_why(why, whylen, WHY_NO_SESSION);
		return SSHX_ERR_NO_SECRET_SERVICE;
	}
	/* GIO would start a bus for this address: refuse, as for no bus. */
	if (strstr(address, "autolaunch:") != NULL) {
		sshx_why(why, whylen, "no D-Bus session (DBUS_SESSION_BUS_"
		    "ADDRESS asks for autolaunch)");
		return SSHX_ERR_NO_SECRET_SERVICE;
	}
	if ((r = sshx_secret_lib_ready(why, whylen)) != 0)
		return r;
	if (!sshx_secret_lib.g_utf8_validate(keyring_path, -1, NULL)) {
		sshx_why(why, whylen, "the keyring path must be absolute "
		    "and valid UTF-8");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

int
sshx_secret_lookup(const char *keyring_path, int timeout_ms,
    struct sshx_buf **passp, char *why, size_t whylen)
{
	struct secret_call *c;
	struct sshx_buf *b = NULL;
	SecretValue *found = NULL;
	const char *p;
	gsize len = 0;
	int r;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (passp != NULL)
		*passp = NULL;
	if (passp == NULL) {
		sshx_why(why, whylen, "no place for the passphrase");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	if ((r = check_common(keyring_path, why, whylen)) != 0)
		return r;
	if ((c = call_new(SECRET_OP_LOOKUP, keyring_path)) == NULL) {
		sshx_why(why, whylen, "out of memory");
		return SSHX_ERR_ALLOC;
	}
	if ((r = call_wait(c, timeout_ms, &found, why, whylen)) != 0)
		goto out;
	p = sshx_secret_lib.secret_value_get(found, &len);
	if ((b = sshx_buf_new_secure()) == NULL) {
		sshx_why(why, whylen, "out of secure memory");
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_put(b, p, len)) != 0) {
		sshx_why(why, whylen, "cannot hold the passphrase: %s",
		    sshx_strerror(r));
		goto out;
	}
	*passp = b;
	b = NULL;		/* transferred */
	r = 0;
 out:
	if (found != NULL) {
		/*
		 * libsecret keeps secrets in its own non-pageable memory and
		 * wipes them on free, but not when it had to fall back to the
		 * ordinary heap; this is the last reference, so wipe it here.
		 */
		p = sshx_secret_lib.secret_value_get(found, &len);
		explicit_bzero((void *)p, len);
		sshx_secret_lib.secret_value_unref(found);
	}
	sshx_buf_free(b);
	return r;
}

int
sshx_secret_store(const char *keyring_path, const uint8_t *pass,
    size_t passlen, int timeout_ms, char *why, size_t whylen)
{
	struct secret_call *c;
	SecretValue *unused = NULL;
	int r;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (pass == NULL && passlen != 0) {
		sshx_why(why, whylen, "no passphrase given");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	if (passlen > SSHX_BUF_SIZE_MAX) {
		sshx_why(why, whylen, "the passphrase is too long");
		return SSHX_ERR_STRING_TOO_LARGE;
	}
	if ((r = check_common(keyring_path, why, whylen)) != 0)
		return r;
	if ((c = call_new(SECRET_OP_STORE, keyring_path)) == NULL) {
		sshx_why(why, whylen, "out of memory");
		return SSHX_ERR_ALLOC;
	}
	/*
	 * libsecret copies the passphrase into its non-pageable memory; the
	 * helper thread uses that copy, since pass may be gone after a timeout.
	 */
	c->pass = sshx_secret_lib.secret_value_new(passlen == 0 ? "" : (const gchar *)pass,
	    (gssize)passlen, "text/plain");
	r = call_wait(c, timeout_ms, &unused, why, whylen);
	if (unused != NULL)
		sshx_secret_lib.secret_value_unref(unused);
	return r;
}

int
sshx_secret_clear(const char *keyring_path, int timeout_ms, char *why,
    size_t whylen)
{
	struct secret_call *c;
	SecretValue *unused = NULL;
	int r;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((r = check_common(keyring_path, why, whylen)) != 0)
		return r;
	if ((c = call_new(SECRET_OP_CLEAR, keyring_path)) == NULL) {
		sshx_why(why, whylen, "out of memory");
		return SSHX_ERR_ALLOC;
	}
	r = call_wait(c, timeout_ms, &unused, why, whylen);
	if (unused != NULL)
		sshx_secret_lib.secret_value_unref(unused);
	return r;
}

#endif /* HAVE_LIBSECRET */
