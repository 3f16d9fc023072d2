/*
 * libsecret loaded on demand (secret-dl.c): the table of every libsecret,
 * GIO, GObject and GLib function lib/secret.c calls, filled by dlopen() and
 * dlsym() the first time the Secret Service is needed.
 */
#ifndef SSHX_SECRET_DL_H
#define SSHX_SECRET_DL_H

#include <stddef.h>

#include <libsecret/secret.h>

/*
 * Every libsecret, GIO, GObject and GLib function called here, including
 * those that macros call: G_IO_ERROR, G_DBUS_ERROR and SECRET_ERROR are
 * g_io_error_quark(), g_dbus_error_quark() and secret_error_get_quark(),
 * SECRET_TYPE_SERVICE is secret_service_get_type() and G_VARIANT_TYPE() is
 * g_variant_type_checked_().  Using one of those macros, or a function
 * missing here, would bring the link dependency back: nm -u lib/secret.o
 * must list no g_ or secret_ symbol.
 */
#define SECRET_LIB_FUNCTIONS(X)				\
	X(g_bus_get_sync)					\
	X(g_cancellable_cancel)					\
	X(g_cancellable_new)					\
	X(g_clear_error)					\
	X(g_dbus_connection_call_sync)				\
	X(g_dbus_connection_set_exit_on_close)			\
	X(g_dbus_error_quark)					\
	X(g_dbus_error_strip_remote_error)			\
	X(g_error_copy)						\
	X(g_error_free)						\
	X(g_error_matches)					\
	X(g_free)						\
	X(g_getenv)						\
	X(g_hash_table_unref)					\
	X(g_io_error_quark)					\
	X(g_list_free_full)					\
	X(g_list_prepend)					\
	X(g_list_reverse)					\
	X(g_main_context_iteration)				\
	X(g_main_context_new)					\
	X(g_main_context_pop_thread_default)			\
	X(g_main_context_push_thread_default)			\
	X(g_main_context_unref)					\
	X(g_object_ref)						\
	X(g_object_unref)					\
	X(g_strcmp0)						\
	X(g_strdup_printf)					\
	X(g_utf8_validate)					\
	X(g_variant_get)					\
	X(g_variant_new)					\
	X(g_variant_type_checked_)				\
	X(g_variant_unref)					\
	X(secret_attributes_build)				\
	X(secret_collection_for_alias_sync)			\
	X(secret_collection_get_locked)				\
	X(secret_error_get_quark)				\
	X(secret_item_create_sync)				\
	X(secret_item_delete_sync)				\
	X(secret_item_get_locked)				\
	X(secret_item_get_schema_name)				\
	X(secret_item_get_secret)				\
	X(secret_item_load_secret_sync)				\
	X(secret_service_get_type)				\
	X(secret_service_open_sync)				\
	X(secret_service_search_sync)				\
	X(secret_value_get)					\
	X(secret_value_new)					\
	X(secret_value_unref)

/*
 * Pointers to those functions, each typed from its declaration in the
 * headers, so that a call through one is checked as a direct call would be.
 * g_object_ref is also a macro taking an argument: call it as
 * (lib.g_object_ref)(obj).
 */
struct sshx_secret_fns {
#define SECRET_LIB_FIELD(name)	__typeof__(name) *name;
	SECRET_LIB_FUNCTIONS(SECRET_LIB_FIELD)
#undef SECRET_LIB_FIELD
};

/* The functions; complete once sshx_secret_lib_ready() has returned 0. */
extern struct sshx_secret_fns sshx_secret_lib;

/*
 * Loads the library on the first call in the process (thread-safe).
 * Returns 0 once sshx_secret_lib can be used, else SSHX_ERR_NO_SECRET_SERVICE
 * with why saying what failed.
 */
int sshx_secret_lib_ready(char *why, size_t whylen);

#endif
