/*
 * Copyright (C) hermod authors
 *
 * Variables ($name) and complex values ("text $var ${var}text"), shared by
 * every subsystem.  A variable belongs to a context kind: an HTTP request,
 * a stream session, a pipeline message, or any (time, pid, hostname).  A
 * complex value is compiled once at configuration time against a kind and
 * evaluated at run time with a context pointer of that kind.
 */

#ifndef _HM_VARIABLES_H_INCLUDED_
#define _HM_VARIABLES_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


/* context kinds: what the "ctx" pointer of a get handler is */
#define HM_VAR_ANY            0x0001
#define HM_VAR_HTTP           0x0002      /* hm_http_request_t * */
#define HM_VAR_STREAM         0x0004      /* stream session */
#define HM_VAR_MESSAGE        0x0008      /* pipeline message */

/* flags */
#define HM_VAR_PREFIX         0x0100      /* "http_" matches "$http_host" */
#define HM_VAR_NOCACHEABLE    0x0200
#define HM_VAR_CHANGEABLE     0x0400


typedef struct {
    size_t                    len;
    u_char                   *data;

    unsigned                  valid:1;
    unsigned                  not_found:1;
    unsigned                  escape:1;
} hm_variable_value_t;


typedef struct hm_variable_s  hm_variable_t;

/*
 * A get handler fills v (data may point into the context's memory or be
 * allocated from pool) and returns HM_OK, or HM_ERROR on allocation
 * failure.  A value that does not exist sets v->not_found and returns
 * HM_OK: it renders as an empty string.  For a prefix variable, data is a
 * pointer to an hm_str_t holding the suffix ("host" for "$http_host").
 */
typedef hm_int_t (*hm_variable_get_pt)(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);


struct hm_variable_s {
    hm_str_t                  name;      /* without "$"; prefix without suffix */
    hm_variable_get_pt        get_handler;
    uintptr_t                 data;
    hm_uint_t                 kind;
    hm_uint_t                 flags;
    hm_uint_t                 index;

    void                     *spare[2];
};


/* a compiled reference to a variable, as complex values hold them */
typedef struct {
    hm_variable_t            *variable;
    uintptr_t                 data;      /* the variable's, or the suffix */
} hm_variable_ref_t;


typedef struct {
    hm_str_t                  value;     /* the source text */
    hm_array_t               *parts;     /* of hm_complex_part_t; NULL: plain */
    size_t                    static_len;
    hm_uint_t                 kind;
} hm_complex_value_t;


typedef struct {
    hm_str_t                  text;      /* literal, when variable == NULL */
    hm_variable_ref_t         var;
} hm_complex_part_t;


/*
 * Registration, from a module's configuration hooks (before the first
 * directive that may use the variable).  Registering a name twice with the
 * same handler is fine; with another handler is HM_BUSY.
 */
hm_variable_t *hm_add_variable(hm_cycle_t *cycle, hm_str_t *name,
    hm_uint_t kind, hm_uint_t flags, hm_variable_get_pt handler,
    uintptr_t data);

/* register a NULL-terminated table (name.len == 0 ends it) */
hm_int_t hm_add_variables(hm_cycle_t *cycle, hm_variable_t *vars);

/*
 * Resolves "name" for a context kind: exact names first, then the longest
 * registered prefix.  Errors (unknown variable, wrong context) are logged
 * with hm_conf_log_error so they end with FILE:LINE.
 */
hm_int_t hm_variable_ref(hm_conf_t *cf, hm_str_t *name, hm_uint_t kind,
    hm_variable_ref_t *ref);

hm_int_t hm_variable_get(void *ctx, hm_pool_t *pool, hm_variable_ref_t *ref,
    hm_variable_value_t *v);

/*
 * "$a-$b", "${a}b", "\$" for a literal dollar.  A value without "$" stays
 * plain (parts == NULL) and evaluates without copying.
 */
hm_int_t hm_complex_value_compile(hm_conf_t *cf, hm_str_t *value,
    hm_uint_t kind, hm_complex_value_t *cv);

hm_int_t hm_complex_value(void *ctx, hm_pool_t *pool, hm_complex_value_t *cv,
    hm_str_t *out);

/* a setter for directives whose argument is a complex value */
char *hm_conf_set_complex_value_slot(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);


/* the core variables: $time_iso8601 $time_local $msec $pid $hostname */
hm_int_t hm_variables_init_core(hm_cycle_t *cycle);


#endif /* _HM_VARIABLES_H_INCLUDED_ */
