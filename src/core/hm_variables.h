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

/* the contexts of inbound modules: one bit each, never reused */
#define HM_VAR_KAFKA          0x00010000  /* a consumed Kafka record */
#define HM_VAR_AMQP           0x00020000  /* an AMQP delivery */
#define HM_VAR_MQTT           0x00040000
#define HM_VAR_NATS           0x00080000
#define HM_VAR_MAIL           0x00100000
#define HM_VAR_FILES          0x00200000  /* FTP/SFTP */

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


/*
 * A context that carries another one: a pipeline message starts with this,
 * so that the variables of the inbound it came from ($http_host for an
 * HTTP request) can be read from the message.
 */
typedef struct {
    void                     *ctx;       /* the inbound's context */
    hm_uint_t                 kind;      /* its kind: HM_VAR_HTTP, ... */
} hm_variable_source_t;


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
 *
 * The registry belongs to the cycle (cycle->variables, created from
 * cycle->pool on the first registration); the name is copied.  Names are
 * [A-Za-z0-9_] and matched case-insensitively, as in nginx.  Exact names
 * and prefixes (HM_VAR_PREFIX) are separate name spaces.  hm_add_variable()
 * returns the registered variable, or NULL: allocation failure, or a
 * duplicate with another handler (logged as 'the duplicate "name"
 * variable'); hm_add_variables() tells the two apart (HM_ERROR, HM_BUSY).
 * NOCACHEABLE and CHANGEABLE are recorded only: values are not cached yet.
 */
hm_variable_t *hm_add_variable(hm_cycle_t *cycle, hm_str_t *name,
    hm_uint_t kind, hm_uint_t flags, hm_variable_get_pt handler,
    uintptr_t data);

/* one name, a variable per context kind: the chain (spare[0]) */
#define hm_variable_next(v)  ((hm_variable_t *) (v)->spare[0])
hm_variable_t *hm_variable_for_kind(hm_variable_t *v, hm_uint_t kind);

/* register a NULL-terminated table (name.len == 0 ends it) */
hm_int_t hm_add_variables(hm_cycle_t *cycle, hm_variable_t *vars);

/*
 * Resolves "name" for a context kind: exact names first, then the longest
 * registered prefix that leaves a non-empty suffix.  Errors (unknown
 * variable, wrong context) are logged with hm_conf_log_error so they end
 * with FILE:LINE: 'unknown "name" variable', 'variable "$name" is not
 * available here'.  A variable of kind HM_VAR_ANY fits every context;
 * otherwise its kind and the context kind must share a bit.  For a prefix
 * variable ref->data is an hm_str_t * (the suffix) allocated from cf->pool.
 *
 * In a message context (kind has HM_VAR_MESSAGE) a variable of another
 * kind is read through the message's hm_variable_source_t: it is found
 * when the message came from an inbound of that kind, and not found
 * otherwise.  Such a name may also be registered later in the
 * configuration (a pipeline declared before the http block uses
 * $http_host): it is resolved by hm_variables_resolve() when the
 * configuration ends, and an unknown one is an error naming its FILE:LINE.
 */
hm_int_t hm_variable_ref(hm_conf_t *cf, hm_str_t *name, hm_uint_t kind,
    hm_variable_ref_t *ref);

hm_int_t hm_variable_get(void *ctx, hm_pool_t *pool, hm_variable_ref_t *ref,
    hm_variable_value_t *v);

/* after the configuration is read: completes deferred message references */
hm_int_t hm_variables_resolve(hm_cycle_t *cycle);

/*
 * hm_variable_get() fills v through the get handler; not_found (or a
 * variable without a handler) gives len 0, data "" and valid 0.
 */

/*
 * "$a-$b", "${a}b", "\$" for a literal dollar.  A value without "$" stays
 * plain (parts == NULL) and evaluates without copying.
 *
 * The syntax is nginx's: "$name" takes the longest run of [A-Za-z0-9_]
 * ("$a-$b" is $a, "-", $b); "${name}" when letters follow ("${a}b").  A
 * "$" not followed by a name (end of value, "$$", "$-", "${}") is
 * 'invalid variable name in "VALUE"'; an unclosed brace is 'the closing
 * bracket in "name" variable is missing'.  nginx has no escape for "$";
 * hermod adds one: a backslash right before "$" makes the "$" literal (any
 * other backslash is literal itself).  The configuration reader already
 * consumes one level of backslashes, so a configuration file spells a
 * literal dollar "\\$" (or '\\$').  static_len is the total length of the
 * literal text; a compiled value keeps pointers into value->data, which
 * must live as long as cv (directive arguments do).
 *
 * hm_complex_value() evaluates each variable once, then copies everything
 * into one allocation from pool; a plain value is returned as is (out->data
 * == cv->value.data).  It returns HM_ERROR only when allocation or a get
 * handler fails.
 */
hm_int_t hm_complex_value_compile(hm_conf_t *cf, hm_str_t *value,
    hm_uint_t kind, hm_complex_value_t *cv);

hm_int_t hm_complex_value(void *ctx, hm_pool_t *pool, hm_complex_value_t *cv,
    hm_str_t *out);

/*
 * A setter for directives whose argument is a complex value.  The field at
 * cmd->offset is an hm_complex_value_t *, NULL or HM_CONF_UNSET_PTR until
 * set (else "is duplicate"); the value is allocated from cf->pool.  The
 * context kind is cmd->post, not an hm_conf_post_t:
 *
 *     { hm_string("add_header"), ..., hm_conf_set_complex_value_slot,
 *       HM_HTTP_LOC_CONF_OFFSET, offsetof(conf_t, value),
 *       (void *) HM_VAR_HTTP, "..." }
 *
 * post == NULL means HM_VAR_ANY.
 */
char *hm_conf_set_complex_value_slot(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);


/*
 * The core variables, all of kind HM_VAR_ANY: $time_iso8601 and
 * $time_local (the cached "2023-11-14T22:13:20+00:00" and
 * "14/Nov/2023:22:13:20 +0000", copied), $msec ("1700000000.123"), $pid,
 * $hostname (cycle->hostname).  hm_init_cycle() calls it before parsing.
 */
hm_int_t hm_variables_init_core(hm_cycle_t *cycle);


#endif /* _HM_VARIABLES_H_INCLUDED_ */
