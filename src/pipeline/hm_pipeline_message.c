/*
 * Copyright (C) hermod authors
 *
 * Messages: creation and accounting, headers, the body and its parsed
 * JSON, errors, fan-out copies, and the $message_* variables.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_pipeline.h>


#define HM_MSG_POOL_SIZE  4096


static hm_uint_t hm_msg_header_remove_after(hm_msg_t *m,
    hm_msg_header_t *h);
static hm_int_t hm_msg_set_body_keep_json(hm_msg_t *m, u_char *data,
    size_t len);
static void hm_msg_set_error_text(hm_msg_t *m, void *data);
static hm_int_t hm_msg_variable_str(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_msg_variable_uint(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_msg_variable_header(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_msg_variable_misc(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);


#define HM_MSG_VAR_OUTCOME    0
#define HM_MSG_VAR_OUTBOUND   1
#define HM_MSG_VAR_LATENCY    2
#define HM_MSG_VAR_PIPELINE   3
#define HM_MSG_VAR_STATUS     4
#define HM_MSG_VAR_BODY       5


static hm_variable_t  hm_msg_variables[] = {

    { hm_string("message_id"), hm_msg_variable_str,
      offsetof(hm_msg_t, id), HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_key"), hm_msg_variable_str,
      offsetof(hm_msg_t, key), HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_error"), hm_msg_variable_str,
      offsetof(hm_msg_t, error), HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_source"), hm_msg_variable_str,
      offsetof(hm_msg_t, source.name), HM_VAR_MESSAGE, 0, 0,
      { NULL, NULL } },

    { hm_string("message_attempts"), hm_msg_variable_uint,
      offsetof(hm_msg_t, attempts), HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_size"), hm_msg_variable_uint,
      offsetof(hm_msg_t, body_len), HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_outcome"), hm_msg_variable_misc,
      HM_MSG_VAR_OUTCOME, HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_outbound"), hm_msg_variable_misc,
      HM_MSG_VAR_OUTBOUND, HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_latency"), hm_msg_variable_misc,
      HM_MSG_VAR_LATENCY, HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_pipeline"), hm_msg_variable_misc,
      HM_MSG_VAR_PIPELINE, HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_status"), hm_msg_variable_misc,
      HM_MSG_VAR_STATUS, HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_body"), hm_msg_variable_misc,
      HM_MSG_VAR_BODY, HM_VAR_MESSAGE, 0, 0, { NULL, NULL } },

    { hm_string("message_header_"), hm_msg_variable_header, 0,
      HM_VAR_MESSAGE, HM_VAR_PREFIX, 0, { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


static hm_uint_t  hm_msg_serial;


hm_int_t
hm_pipeline_variables_add(hm_cycle_t *cycle)
{
    return hm_add_variables(cycle, hm_msg_variables);
}


/* -- life ------------------------------------------------------------ */

hm_msg_t *
hm_msg_create(hm_pipeline_t *p, hm_log_t *log, size_t size)
{
    hm_msg_t   *m;
    hm_pool_t  *pool;

    pool = hm_create_pool(HM_MSG_POOL_SIZE, log);
    if (pool == NULL) {
        return NULL;
    }

    m = hm_pcalloc(pool, sizeof(hm_msg_t));
    if (m == NULL) {
        hm_destroy_pool(pool);
        return NULL;
    }

    if (hm_array_init(&m->headers, pool, 8, sizeof(hm_msg_header_t))
        != HM_OK)
    {
        hm_destroy_pool(pool);
        return NULL;
    }

    m->pool = pool;
    m->log = log;
    m->pipeline = p;
    m->created = (hm_msec_t) hm_time() * 1000 + hm_cached_time->msec;
    m->start = hm_current_msec;

    p->in_flight++;
    hm_metric_inc(p->metrics.in_flight);

    return m;
}


void
hm_msg_destroy(hm_msg_t *m)
{
    if (m->timer.timer_set) {
        hm_event_del_timer(&m->timer);
    }

    if (m->json) {
        json_decref(m->json);
    }

    hm_pipeline_unaccount(m->pipeline, m);

    hm_destroy_pool(m->pool);
}


/* the message's id: the inbound's, or made up once: "<pid>-<msec>-<n>" */

hm_int_t
hm_msg_make_id(hm_msg_t *m)
{
    u_char  *p;

    p = hm_pnalloc(m->pool, 3 * HM_INT64_LEN);
    if (p == NULL) {
        return HM_ERROR;
    }

    m->id.data = p;
    m->id.len = hm_sprintf(p, "%P-%M-%ui", hm_pid, m->created,
                           hm_msg_serial++)
                - p;

    return HM_OK;
}


hm_msg_t *
hm_msg_clone(hm_msg_t *m)
{
    hm_msg_t  *c;

    c = hm_palloc(m->pool, sizeof(hm_msg_t));
    if (c == NULL) {
        return NULL;
    }

    *c = *m;

    if (hm_array_init(&c->headers, m->pool, m->headers.nelts + 4,
                      sizeof(hm_msg_header_t))
        != HM_OK)
    {
        return NULL;
    }

    hm_memcpy(c->headers.elts, m->headers.elts,
              m->headers.nelts * sizeof(hm_msg_header_t));
    c->headers.nelts = m->headers.nelts;

    /* the parent's tree was serialized into the body: parse again */

    c->json = NULL;
    c->json_dirty = 0;

    c->parent = m;
    c->children = 0;
    c->children_outcomes = 0;
    c->target = NULL;
    c->outbound = NULL;
    c->send_data = NULL;
    c->retry = NULL;
    c->settled = 0;
    c->queued = 0;
    c->sending = 0;
    c->reply_wanted = 0;
    c->err_class = HM_MSG_ERR_NONE;
    hm_str_null(&c->error);
    hm_memzero(&c->reply, sizeof(hm_msg_reply_t));
    hm_memzero(&c->timer, sizeof(hm_event_t));

    return c;
}


void
hm_msg_set_error(hm_msg_t *m, hm_uint_t err_class, const char *fmt, ...)
{
    u_char   *p, buf[HM_MAX_ERROR_STR];
    va_list   args;

    va_start(args, fmt);
    p = hm_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    m->err_class = err_class;

    m->error.data = hm_pnalloc(m->pool, p - buf);
    if (m->error.data == NULL) {
        m->error.len = 0;
        return;
    }

    m->error.len = p - buf;
    hm_memcpy(m->error.data, buf, m->error.len);
}


hm_uint_t
hm_msg_status(hm_msg_t *m)
{
    switch (m->outcome) {

    case HM_MSG_DELIVERED:
    case HM_MSG_DEAD_LETTERED:
    case HM_MSG_DROPPED:
        return 202;

    default:
        break;
    }

    switch (m->err_class) {

    case HM_MSG_ERR_FILTER:
        return 400;

    case HM_MSG_ERR_TIMEOUT:
        return 504;

    case HM_MSG_ERR_FULL:
    case HM_MSG_ERR_429:
        return 503;

    case HM_MSG_ERR_INTERNAL:
        return 500;

    default:
        return 502;
    }
}


hm_int_t
hm_msg_outcome_json(hm_pool_t *pool, hm_msg_t *m, hm_str_t *out)
{
    u_char      *p;
    size_t       len;
    ssize_t      id, err;
    const char  *outcome;

    outcome = hm_msg_outcome_name(m->outcome);

    id = hm_json_escape_len(m->id.data, m->id.len);
    if (id < 0) {
        id = 0;
    }

    err = -1;

    if (m->outcome == HM_MSG_FAILED && m->error.len) {
        err = hm_json_escape_len(m->error.data, m->error.len);
    }

    len = sizeof("{\"id\":\"\",\"outcome\":\"\",\"error\":\"\"}\n")
          + id + hm_strlen(outcome) + (err > 0 ? err : 0);

    out->data = hm_pnalloc(pool, len);
    if (out->data == NULL) {
        return HM_ERROR;
    }

    p = hm_cpymem(out->data, "{\"id\":\"", sizeof("{\"id\":\"") - 1);

    if (id) {
        p = hm_json_escape(p, m->id.data, m->id.len);
    }

    p = hm_sprintf(p, "\",\"outcome\":\"%s\"", outcome);

    if (err >= 0) {
        p = hm_cpymem(p, ",\"error\":\"", sizeof(",\"error\":\"") - 1);
        p = hm_json_escape(p, m->error.data, m->error.len);
        *p++ = '"';
    }

    *p++ = '}';
    *p++ = LF;

    out->len = p - out->data;

    return HM_OK;
}


const char *
hm_msg_outcome_name(hm_uint_t outcome)
{
    static const char  *names[] = {
        "pending", "delivered", "dead_lettered", "dropped", "failed"
    };

    return outcome < 5 ? names[outcome] : "unknown";
}


/* -- headers --------------------------------------------------------- */

hm_msg_header_t *
hm_msg_header_find(hm_msg_t *m, u_char *name, size_t len)
{
    hm_uint_t         i;
    hm_msg_header_t  *h;

    h = m->headers.elts;

    for (i = 0; i < m->headers.nelts; i++) {
        if (h[i].name.len == len
            && hm_strncasecmp(h[i].name.data, name, len) == 0)
        {
            return &h[i];
        }
    }

    return NULL;
}


/*
 * The header a "..._header_NAME" variable names: NAME with "_" read as
 * "-" ("x_region" finds "X-Region"), else NAME as it is; case-insensitive.
 */

hm_msg_header_t *
hm_msg_headers_variable(hm_array_t *headers, hm_str_t *suffix)
{
    u_char            a, b;
    size_t            j;
    hm_uint_t         i, dashes;
    hm_msg_header_t  *h;

    h = headers->elts;

    for (dashes = 1; /* void */ ; dashes = 0) {

        for (i = 0; i < headers->nelts; i++) {
            if (h[i].name.len != suffix->len) {
                continue;
            }

            for (j = 0; j < suffix->len; j++) {
                a = hm_tolower(h[i].name.data[j]);
                b = hm_tolower(suffix->data[j]);

                if (dashes && b == '_') {
                    b = '-';
                }

                if (a != b) {
                    break;
                }
            }

            if (j == suffix->len) {
                return &h[i];
            }
        }

        if (!dashes) {
            return NULL;
        }
    }
}


hm_int_t
hm_msg_header_add(hm_msg_t *m, hm_str_t *name, hm_str_t *value)
{
    hm_msg_header_t  *h;

    h = hm_array_push(&m->headers);
    if (h == NULL) {
        return HM_ERROR;
    }

    h->name = *name;
    h->value = *value;

    return HM_OK;
}


hm_int_t
hm_msg_header_set(hm_msg_t *m, hm_str_t *name, hm_str_t *value)
{
    hm_msg_header_t  *h;

    h = hm_msg_header_find(m, name->data, name->len);

    if (h == NULL) {
        return hm_msg_header_add(m, name, value);
    }

    h->value = *value;

    /* the first keeps its place; later ones of the same name go */

    (void) hm_msg_header_remove_after(m, h);

    return HM_OK;
}


/* removes the headers named as h, after h */

static hm_uint_t
hm_msg_header_remove_after(hm_msg_t *m, hm_msg_header_t *h)
{
    hm_uint_t         i, j, n;
    hm_msg_header_t  *hs;

    hs = m->headers.elts;
    n = 0;

    for (i = (h - hs) + 1, j = i; i < m->headers.nelts; i++) {
        if (hs[i].name.len == h->name.len
            && hm_strncasecmp(hs[i].name.data, h->name.data, h->name.len)
               == 0)
        {
            n++;
            continue;
        }

        hs[j++] = hs[i];
    }

    m->headers.nelts -= n;

    return n;
}


hm_uint_t
hm_msg_header_remove(hm_msg_t *m, u_char *name, size_t len)
{
    hm_uint_t         i, j, n;
    hm_msg_header_t  *hs;

    hs = m->headers.elts;
    n = 0;

    for (i = 0, j = 0; i < m->headers.nelts; i++) {
        if (hs[i].name.len == len
            && hm_strncasecmp(hs[i].name.data, name, len) == 0)
        {
            n++;
            continue;
        }

        hs[j++] = hs[i];
    }

    m->headers.nelts -= n;

    return n;
}


hm_uint_t
hm_msg_is_json_type(hm_msg_t *m)
{
    u_char           *p, *last;
    hm_msg_header_t  *h;

    h = hm_msg_header_find(m, (u_char *) "content-type",
                           sizeof("content-type") - 1);

    if (h == NULL || h->value.len == 0) {
        return 1;
    }

    /* "application/json", "application/x+json; charset=utf-8" */

    last = h->value.data + h->value.len;

    for (p = h->value.data; p < last && *p != ';'; p++) { /* void */ }

    if (p - h->value.data >= 4
        && hm_strncasecmp(p - 4, (u_char *) "json", 4) == 0)
    {
        return 1;
    }

    return 0;
}


/* -- the body -------------------------------------------------------- */

hm_int_t
hm_msg_set_body(hm_msg_t *m, u_char *data, size_t len)
{
    hm_buf_t    *b;
    hm_chain_t  *cl;

    b = hm_calloc_buf(m->pool);
    cl = hm_alloc_chain_link(m->pool);
    if (b == NULL || cl == NULL) {
        return HM_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->start = data;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;

    cl->buf = b;
    cl->next = NULL;

    m->body = cl;
    m->body_len = len;

    if (m->json) {
        json_decref(m->json);
        m->json = NULL;
    }

    m->json_dirty = 0;
    m->json_invalid = 0;

    return HM_OK;
}


hm_int_t
hm_msg_body_flat(hm_msg_t *m, hm_str_t *body)
{
    u_char      *p;
    hm_buf_t    *b;
    hm_chain_t  *cl;

    if (hm_msg_body_sync(m) != HM_OK) {
        return HM_ERROR;
    }

    if (m->body == NULL) {
        body->len = 0;
        body->data = (u_char *) "";
        return HM_OK;
    }

    if (m->body->next == NULL || m->body->next->buf == NULL
        || hm_buf_size(m->body->next->buf) == 0)
    {
        b = m->body->buf;
        body->data = b->pos;
        body->len = b->last - b->pos;
        return HM_OK;
    }

    p = hm_pnalloc(m->pool, m->body_len);
    if (p == NULL) {
        return HM_ERROR;
    }

    body->data = p;

    for (cl = m->body; cl; cl = cl->next) {
        p = hm_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    body->len = p - body->data;

    /* keep the flat copy: the next reader does not copy again */

    p = body->data;

    return hm_msg_set_body_keep_json(m, p, body->len);
}


/* as hm_msg_set_body(), for the same content: the parsed tree stays */

static hm_int_t
hm_msg_set_body_keep_json(hm_msg_t *m, u_char *data, size_t len)
{
    json_t    *json;
    hm_uint_t  dirty, invalid;

    json = m->json;
    dirty = m->json_dirty;
    invalid = m->json_invalid;

    m->json = NULL;

    if (hm_msg_set_body(m, data, len) != HM_OK) {
        m->json = json;
        return HM_ERROR;
    }

    m->json = json;
    m->json_dirty = dirty;
    m->json_invalid = invalid;

    return HM_OK;
}


json_t *
hm_msg_json(hm_msg_t *m)
{
    hm_str_t      body;
    json_error_t  err;

    if (m->json) {
        return m->json;
    }

    if (m->json_invalid) {
        return NULL;
    }

    if (hm_msg_body_flat(m, &body) != HM_OK) {
        return NULL;
    }

    m->json = json_loadb((char *) body.data, body.len,
                         JSON_DECODE_ANY|JSON_ALLOW_NUL, &err);

    if (m->json == NULL) {
        m->json_invalid = 1;
        hm_msg_set_error_text(m, &err);
        return NULL;
    }

    return m->json;
}


static void
hm_msg_set_error_text(hm_msg_t *m, void *data)
{
    json_error_t  *err = data;

    m->error.data = hm_pnalloc(m->pool, HM_MAX_ERROR_STR);
    if (m->error.data == NULL) {
        m->error.len = 0;
        return;
    }

    m->error.len = hm_snprintf(m->error.data, HM_MAX_ERROR_STR,
                               "the body is not JSON: %s at %d:%d",
                               err->text, err->line, err->column)
                   - m->error.data;
}


void
hm_msg_json_changed(hm_msg_t *m)
{
    m->json_dirty = 1;
}


hm_int_t
hm_msg_body_sync(hm_msg_t *m)
{
    hm_str_t  out;

    if (!m->json_dirty || m->json == NULL) {
        return HM_OK;
    }

    /* an edited body is about as long as it was */

    if (hm_json_dump(m->pool, m->json, m->body_len + 256, &out) != HM_OK) {
        return HM_ERROR;
    }

    m->json_dirty = 0;

    return hm_msg_set_body_keep_json(m, out.data, out.len);
}


/* -- variables ------------------------------------------------------- */

static hm_int_t
hm_msg_variable_str(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_str_t  *s = (hm_str_t *) ((char *) ctx + data);

    v->len = s->len;
    v->data = s->data;

    return HM_OK;
}


static hm_int_t
hm_msg_variable_uint(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    u_char     *p;
    hm_uint_t   n;

    if (data == offsetof(hm_msg_t, body_len)) {
        n = ((hm_msg_t *) ctx)->body_len;

    } else {
        n = *(hm_uint_t *) ((char *) ctx + data);
    }

    p = hm_pnalloc(pool, HM_INT_T_LEN);
    if (p == NULL) {
        return HM_ERROR;
    }

    v->data = p;
    v->len = hm_sprintf(p, "%ui", n) - p;

    return HM_OK;
}


static hm_int_t
hm_msg_variable_header(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_msg_t  *m = ctx;

    hm_msg_header_t  *h;

    h = hm_msg_headers_variable(&m->headers, (hm_str_t *) data);

    if (h == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    v->len = h->value.len;
    v->data = h->value.data;

    return HM_OK;
}


static hm_int_t
hm_msg_variable_misc(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_msg_t  *m = ctx;

    u_char      *p;
    hm_str_t     body;
    const char  *s;

    switch (data) {

    case HM_MSG_VAR_OUTCOME:
        s = hm_msg_outcome_name(m->outcome);
        v->len = hm_strlen(s);
        v->data = (u_char *) s;
        return HM_OK;

    case HM_MSG_VAR_OUTBOUND:
        if (m->outbound == NULL) {
            v->not_found = 1;
            return HM_OK;
        }

        v->len = m->outbound->name.len;
        v->data = m->outbound->name.data;
        return HM_OK;

    case HM_MSG_VAR_PIPELINE:
        v->len = m->pipeline->name.len;
        v->data = m->pipeline->name.data;
        return HM_OK;

    case HM_MSG_VAR_BODY:
        if (hm_msg_body_flat(m, &body) != HM_OK) {
            return HM_ERROR;
        }

        v->len = body.len;
        v->data = body.data;
        return HM_OK;

    default:
        break;
    }

    p = hm_pnalloc(pool, HM_INT64_LEN + 4);
    if (p == NULL) {
        return HM_ERROR;
    }

    v->data = p;

    if (data == HM_MSG_VAR_STATUS) {
        v->len = hm_sprintf(p, "%ui", hm_msg_status(m)) - p;
        return HM_OK;
    }

    /* latency, in seconds with milliseconds, as $request_time */

    v->len = hm_sprintf(p, "%T.%03M",
                        (time_t) (hm_current_msec - m->start) / 1000,
                        (hm_current_msec - m->start) % 1000)
             - p;

    return HM_OK;
}
