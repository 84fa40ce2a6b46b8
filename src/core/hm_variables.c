/*
 * Copyright (C) hermod authors
 *
 * The variables registry of a cycle, references to variables and complex
 * values.  Names are matched case-insensitively, as in nginx.
 */

#include <hm_config.h>
#include <hm_core.h>


/* cycle->variables */

typedef struct {
    hm_hash_t                 names;      /* of hm_variable_t *, exact */
    hm_array_t                prefixes;   /* of hm_variable_t * */
    hm_uint_t                 nvariables;
    hm_array_t                deferred;   /* of hm_variable_proxy_t * */
} hm_variables_t;


/*
 * A message-context reference to a variable of another kind, read through
 * the message's hm_variable_source_t; var is NULL until resolved.
 */
typedef struct {
    hm_str_t                  name;
    hm_variable_t            *var;
    uintptr_t                 data;
    hm_conf_location_t        where;
} hm_variable_proxy_t;


/* complex values with up to this many parts evaluate without allocating */
#define HM_COMPLEX_VALUE_NPARTS  16


static hm_variables_t *hm_variables_registry(hm_cycle_t *cycle);
static hm_variable_t *hm_variables_lookup(hm_variables_t *vars,
    hm_str_t *name, hm_uint_t prefix);
static hm_variable_t *hm_variables_find(hm_variables_t *vars,
    hm_str_t *name);
static hm_int_t hm_variables_add(hm_cycle_t *cycle, hm_str_t *name,
    hm_uint_t kind, hm_uint_t flags, hm_variable_get_pt handler,
    uintptr_t data, hm_variable_t **out);
static hm_int_t hm_complex_literal(hm_complex_value_t *cv, u_char *start,
    u_char *end);
static u_char *hm_complex_variable(hm_conf_t *cf, hm_complex_value_t *cv,
    u_char *p, u_char *last);

static hm_int_t hm_variable_proxy_ref(hm_conf_t *cf, hm_str_t *name,
    hm_variable_t *v, hm_variable_ref_t *ref);
static hm_int_t hm_variable_proxy_data(hm_pool_t *pool, hm_str_t *name,
    hm_variable_t *v, uintptr_t *data);
static hm_int_t hm_variable_proxy_get(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_variable_copy(hm_pool_t *pool, hm_variable_value_t *v,
    hm_str_t *s);
static hm_int_t hm_variable_time_iso8601(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_variable_time_local(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_variable_msec(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_variable_pid(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_variable_str(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);


static hm_variable_t  hm_core_variables[] = {

    { hm_string("time_iso8601"), hm_variable_time_iso8601, 0,
      HM_VAR_ANY, HM_VAR_NOCACHEABLE, 0, { NULL, NULL } },

    { hm_string("time_local"), hm_variable_time_local, 0,
      HM_VAR_ANY, HM_VAR_NOCACHEABLE, 0, { NULL, NULL } },

    { hm_string("msec"), hm_variable_msec, 0,
      HM_VAR_ANY, HM_VAR_NOCACHEABLE, 0, { NULL, NULL } },

    { hm_string("pid"), hm_variable_pid, 0,
      HM_VAR_ANY, 0, 0, { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


static u_char  hm_variable_empty[] = "";

static hm_variable_t  hm_variable_proxy = {
    hm_string("source"), hm_variable_proxy_get, 0,
    HM_VAR_MESSAGE, HM_VAR_NOCACHEABLE, 0, { NULL, NULL }
};


hm_variable_t *
hm_add_variable(hm_cycle_t *cycle, hm_str_t *name, hm_uint_t kind,
    hm_uint_t flags, hm_variable_get_pt handler, uintptr_t data)
{
    hm_variable_t  *v;

    if (hm_variables_add(cycle, name, kind, flags, handler, data, &v)
        != HM_OK)
    {
        return NULL;
    }

    return v;
}


hm_int_t
hm_add_variables(hm_cycle_t *cycle, hm_variable_t *vars)
{
    hm_int_t        rc;
    hm_variable_t  *v, *added;

    for (v = vars; v->name.len; v++) {
        rc = hm_variables_add(cycle, &v->name, v->kind, v->flags,
                              v->get_handler, v->data, &added);
        if (rc != HM_OK) {
            return rc;
        }
    }

    return HM_OK;
}


static hm_int_t
hm_variables_add(hm_cycle_t *cycle, hm_str_t *name, hm_uint_t kind,
    hm_uint_t flags, hm_variable_get_pt handler, uintptr_t data,
    hm_variable_t **out)
{
    hm_variable_t   *v, *prev, **pv;
    hm_variables_t  *vars;

    vars = hm_variables_registry(cycle);
    if (vars == NULL) {
        return HM_ERROR;
    }

    v = hm_variables_lookup(vars, name, flags & HM_VAR_PREFIX);
    prev = NULL;

    /*
     * One name may have a variable per context kind ($remote_addr of an
     * HTTP request, of a stream session): the first is registered, the
     * others are chained to it (hm_variable_for_kind()).
     */

    for ( /* void */ ; v != NULL; v = hm_variable_next(v)) {
        if (v->get_handler == handler) {
            *out = v;
            return HM_OK;
        }

        if ((v->kind & kind)
            || ((v->kind | kind) & (HM_VAR_ANY|HM_VAR_MESSAGE)))
        {
            hm_log_error(HM_LOG_EMERG, cycle->log, 0,
                         "the duplicate \"%V\" variable", name);
            return HM_BUSY;
        }

        prev = v;
    }

    v = hm_pcalloc(cycle->pool, sizeof(hm_variable_t));
    if (v == NULL) {
        return HM_ERROR;
    }

    v->name.data = hm_pstrdup(cycle->pool, name);
    if (v->name.data == NULL) {
        return HM_ERROR;
    }

    v->name.len = name->len;
    v->get_handler = handler;
    v->data = data;
    v->kind = kind;
    v->flags = flags;
    v->index = vars->nvariables;

    if (prev) {
        prev->spare[0] = v;

    } else if (flags & HM_VAR_PREFIX) {
        pv = hm_array_push(&vars->prefixes);
        if (pv == NULL) {
            return HM_ERROR;
        }

        *pv = v;

    } else if (hm_hash_add(&vars->names, &v->name, v) != HM_OK) {
        return HM_ERROR;
    }

    vars->nvariables++;
    *out = v;

    return HM_OK;
}


static hm_variables_t *
hm_variables_registry(hm_cycle_t *cycle)
{
    hm_variables_t  *vars;

    if (cycle->variables != NULL) {
        return cycle->variables;
    }

    vars = hm_pcalloc(cycle->pool, sizeof(hm_variables_t));
    if (vars == NULL) {
        return NULL;
    }

    if (hm_hash_init(&vars->names, cycle->pool, 64, 1) != HM_OK) {
        return NULL;
    }

    if (hm_array_init(&vars->prefixes, cycle->pool, 8,
                      sizeof(hm_variable_t *))
        != HM_OK)
    {
        return NULL;
    }

    if (hm_array_init(&vars->deferred, cycle->pool, 8,
                      sizeof(hm_variable_proxy_t *))
        != HM_OK)
    {
        return NULL;
    }

    cycle->variables = vars;

    return vars;
}


/* the registered variable of exactly this name, among exact or prefixes */

static hm_variable_t *
hm_variables_lookup(hm_variables_t *vars, hm_str_t *name, hm_uint_t prefix)
{
    hm_uint_t       i;
    hm_variable_t  **pv;

    if (!prefix) {
        return hm_hash_find(&vars->names, name->data, name->len);
    }

    pv = vars->prefixes.elts;

    for (i = 0; i < vars->prefixes.nelts; i++) {
        if (pv[i]->name.len == name->len
            && hm_strncasecmp(pv[i]->name.data, name->data, name->len) == 0)
        {
            return pv[i];
        }
    }

    return NULL;
}


/* an exact name, else the longest prefix leaving a non-empty suffix */

static hm_variable_t *
hm_variables_find(hm_variables_t *vars, hm_str_t *name)
{
    hm_uint_t       i;
    hm_variable_t  *v, *best, **pv;

    if (vars == NULL) {
        return NULL;
    }

    v = hm_hash_find(&vars->names, name->data, name->len);
    if (v != NULL) {
        return v;
    }

    best = NULL;
    pv = vars->prefixes.elts;

    for (i = 0; i < vars->prefixes.nelts; i++) {
        v = pv[i];

        if (v->name.len < name->len
            && (best == NULL || v->name.len > best->name.len)
            && hm_strncasecmp(v->name.data, name->data, v->name.len) == 0)
        {
            best = v;
        }
    }

    return best;
}


/* the variable of this name for a context kind, or NULL */

hm_variable_t *
hm_variable_for_kind(hm_variable_t *v, hm_uint_t kind)
{
    for ( /* void */ ; v != NULL; v = hm_variable_next(v)) {
        if ((v->kind & HM_VAR_ANY) || (v->kind & kind)) {
            return v;
        }
    }

    return NULL;
}


hm_int_t
hm_variable_ref(hm_conf_t *cf, hm_str_t *name, hm_uint_t kind,
    hm_variable_ref_t *ref)
{
    hm_str_t       *suffix;
    hm_variable_t  *v;

    v = hm_variables_find(cf->cycle->variables, name);

    if ((kind & HM_VAR_MESSAGE)
        && (v == NULL || !(v->kind & (HM_VAR_ANY|HM_VAR_MESSAGE))))
    {
        return hm_variable_proxy_ref(cf, name, v, ref);
    }

    if (v == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "unknown \"%V\" variable", name);
        return HM_ERROR;
    }

    v = hm_variable_for_kind(v, kind);

    if (v == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "variable \"$%V\" is not available here", name);
        return HM_ERROR;
    }

    ref->variable = v;

    if (!(v->flags & HM_VAR_PREFIX)) {
        ref->data = v->data;
        return HM_OK;
    }

    suffix = hm_palloc(cf->pool, sizeof(hm_str_t));
    if (suffix == NULL) {
        return HM_ERROR;
    }

    suffix->len = name->len - v->name.len;
    suffix->data = hm_pnalloc(cf->pool, suffix->len);
    if (suffix->data == NULL) {
        return HM_ERROR;
    }

    hm_memcpy(suffix->data, name->data + v->name.len, suffix->len);

    ref->data = (uintptr_t) suffix;

    return HM_OK;
}


static hm_int_t
hm_variable_proxy_ref(hm_conf_t *cf, hm_str_t *name, hm_variable_t *v,
    hm_variable_ref_t *ref)
{
    hm_variables_t        *vars;
    hm_variable_proxy_t   *p, **pp;

    p = hm_pcalloc(cf->pool, sizeof(hm_variable_proxy_t));
    if (p == NULL) {
        return HM_ERROR;
    }

    ref->variable = &hm_variable_proxy;
    ref->data = (uintptr_t) p;

    if (v != NULL) {
        p->var = v;
        return hm_variable_proxy_data(cf->pool, name, v, &p->data);
    }

    /* not registered yet: resolved when the configuration ends */

    p->name.len = name->len;
    p->name.data = hm_pstrdup(cf->pool, name);
    if (p->name.data == NULL) {
        return HM_ERROR;
    }

    hm_conf_location(cf, &p->where);

    vars = hm_variables_registry(cf->cycle);
    if (vars == NULL) {
        return HM_ERROR;
    }

    pp = hm_array_push(&vars->deferred);
    if (pp == NULL) {
        return HM_ERROR;
    }

    *pp = p;

    return HM_OK;
}


static hm_int_t
hm_variable_proxy_data(hm_pool_t *pool, hm_str_t *name, hm_variable_t *v,
    uintptr_t *data)
{
    hm_str_t  *suffix;

    if (!(v->flags & HM_VAR_PREFIX)) {
        *data = v->data;
        return HM_OK;
    }

    suffix = hm_palloc(pool, sizeof(hm_str_t));
    if (suffix == NULL) {
        return HM_ERROR;
    }

    suffix->len = name->len - v->name.len;
    suffix->data = hm_pnalloc(pool, suffix->len);
    if (suffix->data == NULL) {
        return HM_ERROR;
    }

    hm_memcpy(suffix->data, name->data + v->name.len, suffix->len);

    *data = (uintptr_t) suffix;

    return HM_OK;
}


hm_int_t
hm_variables_resolve(hm_cycle_t *cycle)
{
    hm_uint_t              i;
    hm_variable_t         *v;
    hm_variables_t        *vars;
    hm_variable_proxy_t  **pp, *p;

    vars = cycle->variables;

    if (vars == NULL) {
        return HM_OK;
    }

    pp = vars->deferred.elts;

    for (i = 0; i < vars->deferred.nelts; i++) {
        p = pp[i];

        v = hm_variables_find(vars, &p->name);

        if (v == NULL) {
            hm_log_error_at(HM_LOG_EMERG, cycle->log, &p->where,
                            "unknown \"%V\" variable", &p->name);
            return HM_ERROR;
        }

        p->var = v;

        if (hm_variable_proxy_data(cycle->pool, &p->name, v, &p->data)
            != HM_OK)
        {
            return HM_ERROR;
        }
    }

    vars->deferred.nelts = 0;

    return HM_OK;
}


static hm_int_t
hm_variable_proxy_get(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_variable_proxy_t   *p = (hm_variable_proxy_t *) data;
    hm_variable_source_t  *vs = ctx;

    hm_variable_t  *var;

    var = (p->var && vs->ctx) ? hm_variable_for_kind(p->var, vs->kind)
                              : NULL;

    if (var == NULL || var->get_handler == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    return var->get_handler(vs->ctx, pool, v,
                            var == p->var ? p->data
                            : (var->flags & HM_VAR_PREFIX) ? p->data
                            : var->data);
}


hm_int_t
hm_variable_get(void *ctx, hm_pool_t *pool, hm_variable_ref_t *ref,
    hm_variable_value_t *v)
{
    hm_variable_get_pt  handler;

    hm_memzero(v, sizeof(hm_variable_value_t));

    handler = ref->variable->get_handler;

    if (handler == NULL) {
        v->not_found = 1;

    } else if (handler(ctx, pool, v, ref->data) != HM_OK) {
        return HM_ERROR;
    }

    if (v->not_found) {
        v->valid = 0;
        v->len = 0;
        v->data = hm_variable_empty;
        return HM_OK;
    }

    v->valid = 1;

    return HM_OK;
}


hm_int_t
hm_complex_value_compile(hm_conf_t *cf, hm_str_t *value, hm_uint_t kind,
    hm_complex_value_t *cv)
{
    u_char  *p, *last, *lit;

    cv->value = *value;
    cv->parts = NULL;
    cv->static_len = value->len;
    cv->kind = kind;

    last = value->data + value->len;

    if (hm_strlchr(value->data, last, '$') == NULL) {
        return HM_OK;
    }

    cv->static_len = 0;

    cv->parts = hm_array_create(cf->pool, 4, sizeof(hm_complex_part_t));
    if (cv->parts == NULL) {
        return HM_ERROR;
    }

    p = value->data;
    lit = p;

    while (p < last) {

        if (*p == '\\' && p + 1 < last && p[1] == '$') {
            if (hm_complex_literal(cv, lit, p) != HM_OK) {
                return HM_ERROR;
            }

            /* the "$" starts the next literal */
            lit = ++p;
            p++;
            continue;
        }

        if (*p != '$') {
            p++;
            continue;
        }

        if (hm_complex_literal(cv, lit, p) != HM_OK) {
            return HM_ERROR;
        }

        p = hm_complex_variable(cf, cv, p, last);
        if (p == NULL) {
            return HM_ERROR;
        }

        lit = p;
    }

    return hm_complex_literal(cv, lit, last);
}


static hm_int_t
hm_complex_literal(hm_complex_value_t *cv, u_char *start, u_char *end)
{
    hm_complex_part_t  *part;

    if (start == end) {
        return HM_OK;
    }

    part = hm_array_push(cv->parts);
    if (part == NULL) {
        return HM_ERROR;
    }

    hm_memzero(part, sizeof(hm_complex_part_t));

    part->text.len = end - start;
    part->text.data = start;

    cv->static_len += part->text.len;

    return HM_OK;
}


#define hm_variable_char(c)                                                  \
    ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')                        \
     || (c >= '0' && c <= '9') || c == '_')


/* p is at "$"; returns the position after the reference, NULL on error */

static u_char *
hm_complex_variable(hm_conf_t *cf, hm_complex_value_t *cv, u_char *p,
    u_char *last)
{
    hm_str_t            name;
    hm_uint_t           bracket;
    hm_complex_part_t  *part;

    p++;

    bracket = (p < last && *p == '{');
    if (bracket) {
        p++;
    }

    for (name.data = p; p < last && hm_variable_char(*p); p++) {
        /* void */
    }

    name.len = p - name.data;

    if (name.len == 0) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid variable name in \"%V\"", &cv->value);
        return NULL;
    }

    if (bracket) {
        if (p == last || *p != '}') {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "the closing bracket in \"%V\" "
                              "variable is missing", &name);
            return NULL;
        }

        p++;
    }

    part = hm_array_push(cv->parts);
    if (part == NULL) {
        return NULL;
    }

    hm_memzero(part, sizeof(hm_complex_part_t));

    if (hm_variable_ref(cf, &name, cv->kind, &part->var) != HM_OK) {
        return NULL;
    }

    return p;
}


hm_int_t
hm_complex_value(void *ctx, hm_pool_t *pool, hm_complex_value_t *cv,
    hm_str_t *out)
{
    size_t                len;
    u_char               *p;
    hm_uint_t             i, n;
    hm_complex_part_t    *part;
    hm_variable_value_t   stack[HM_COMPLEX_VALUE_NPARTS], *vals;

    if (cv->parts == NULL) {
        *out = cv->value;
        return HM_OK;
    }

    part = cv->parts->elts;
    n = cv->parts->nelts;
    vals = stack;

    if (n > HM_COMPLEX_VALUE_NPARTS) {
        vals = hm_palloc(pool, n * sizeof(hm_variable_value_t));
        if (vals == NULL) {
            return HM_ERROR;
        }
    }

    /* each variable is evaluated once: the lengths, then the copy */

    len = cv->static_len;

    for (i = 0; i < n; i++) {
        if (part[i].var.variable == NULL) {
            continue;
        }

        if (hm_variable_get(ctx, pool, &part[i].var, &vals[i]) != HM_OK) {
            return HM_ERROR;
        }

        len += vals[i].len;
    }

    if (len == 0) {
        out->len = 0;
        out->data = hm_variable_empty;
        return HM_OK;
    }

    p = hm_pnalloc(pool, len);
    if (p == NULL) {
        return HM_ERROR;
    }

    out->len = len;
    out->data = p;

    for (i = 0; i < n; i++) {
        if (part[i].var.variable == NULL) {
            p = hm_cpymem(p, part[i].text.data, part[i].text.len);

        } else if (vals[i].len) {
            p = hm_cpymem(p, vals[i].data, vals[i].len);
        }
    }

    return HM_OK;
}


char *
hm_conf_set_complex_value_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_str_t             *value;
    hm_uint_t             kind;
    hm_complex_value_t  **cv;

    cv = (hm_complex_value_t **) (p + cmd->offset);

    if (*cv != NULL && *cv != HM_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    *cv = hm_palloc(cf->pool, sizeof(hm_complex_value_t));
    if (*cv == NULL) {
        return HM_CONF_ERROR;
    }

    kind = (hm_uint_t) (uintptr_t) cmd->post;
    if (kind == 0) {
        kind = HM_VAR_ANY;
    }

    value = cf->args->elts;

    if (hm_complex_value_compile(cf, &value[1], kind, *cv) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


hm_int_t
hm_variables_init_core(hm_cycle_t *cycle)
{
    hm_int_t   rc;
    hm_str_t   name = hm_string("hostname");

    rc = hm_add_variables(cycle, hm_core_variables);
    if (rc != HM_OK) {
        return rc;
    }

    if (hm_add_variable(cycle, &name, HM_VAR_ANY, 0, hm_variable_str,
                        (uintptr_t) &cycle->hostname)
        == NULL)
    {
        return HM_ERROR;
    }

    return HM_OK;
}


/* the core variables */

static hm_int_t
hm_variable_copy(hm_pool_t *pool, hm_variable_value_t *v, hm_str_t *s)
{
    /* the cached time strings change under the value: copy them */

    v->data = hm_pnalloc(pool, s->len);
    if (v->data == NULL) {
        return HM_ERROR;
    }

    hm_memcpy(v->data, s->data, s->len);
    v->len = s->len;

    return HM_OK;
}


static hm_int_t
hm_variable_time_iso8601(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    return hm_variable_copy(pool, v, &hm_cached_iso8601_time);
}


static hm_int_t
hm_variable_time_local(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    return hm_variable_copy(pool, v, &hm_cached_http_log_time);
}


static hm_int_t
hm_variable_msec(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    u_char     *p;
    hm_time_t  *tp;

    p = hm_pnalloc(pool, HM_INT64_LEN + sizeof(".000") - 1);
    if (p == NULL) {
        return HM_ERROR;
    }

    tp = hm_timeofday();

    v->len = hm_sprintf(p, "%T.%03M", tp->sec, (hm_msec_t) tp->msec) - p;
    v->data = p;

    return HM_OK;
}


static hm_int_t
hm_variable_pid(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    u_char  *p;

    p = hm_pnalloc(pool, HM_INT64_LEN);
    if (p == NULL) {
        return HM_ERROR;
    }

    v->len = hm_sprintf(p, "%P", hm_pid) - p;
    v->data = p;

    return HM_OK;
}


/* data is an hm_str_t * that lives as long as the cycle */

static hm_int_t
hm_variable_str(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_str_t  *s = (hm_str_t *) data;

    v->len = s->len;
    v->data = s->data;

    return HM_OK;
}
