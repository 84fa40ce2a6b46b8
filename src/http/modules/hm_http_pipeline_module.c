/*
 * Copyright (C) hermod authors
 *
 * The HTTP inbound: "pipeline NAME;" in a location hands each request to
 * a pipeline as a message (its body, headers, and the request's
 * variables) and answers only when the message has settled:
 *
 *     202 {"id":"...","outcome":"delivered"}     delivered (or dead-lettered,
 *                                                or dropped by a rule)
 *     400 {"id":"...","outcome":"failed","error":"..."}  a filter refused it
 *     502 / 504 / 503                            delivery failed, timed out,
 *                                                no room
 *
 * With "pipeline_reply on" a message delivered to one outbound that
 * answered (an HTTP webhook) gets that answer instead: request/reply.
 *
 * When the pipeline is full the request waits, its body unread, so the
 * client's TCP window closes ("pipeline_full wait", up to
 * pipeline_wait_timeout), or is answered 503 with Retry-After at once
 * ("pipeline_full reject").
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>
#include <hm_http_variables.h>
#include <hm_pipeline.h>


#define HM_HTTP_PIPELINE_WAIT    0
#define HM_HTTP_PIPELINE_REJECT  1


typedef struct {
    hm_pipeline_t              *pipeline;
    hm_complex_value_t         *key;
    hm_flag_t                   reply;
    hm_uint_t                   full;
    hm_msec_t                   wait_timeout;
    time_t                      retry_after;
} hm_http_pipeline_loc_conf_t;


typedef struct {
    hm_http_request_t          *request;
    hm_msg_t                   *msg;
    hm_pipeline_waiter_t        waiter;
    hm_event_t                  wait_timer;
    unsigned                    detached:1;
} hm_http_pipeline_ctx_t;


static hm_int_t hm_http_pipeline_handler(hm_http_request_t *r);
static hm_int_t hm_http_pipeline_start(hm_http_request_t *r,
    hm_http_pipeline_ctx_t *ctx);
static void hm_http_pipeline_body_handler(hm_http_request_t *r);
static void hm_http_pipeline_ack(hm_msg_t *m);
static void hm_http_pipeline_detached_ack(hm_msg_t *m);
static hm_int_t hm_http_pipeline_respond(hm_http_request_t *r,
    hm_msg_t *m, hm_uint_t status);
static hm_int_t hm_http_pipeline_reply(hm_http_request_t *r, hm_msg_t *m);
static hm_int_t hm_http_pipeline_full(hm_http_request_t *r);
static void hm_http_pipeline_wake(hm_pipeline_waiter_t *w);
static void hm_http_pipeline_wait_timeout(hm_event_t *ev);
static void hm_http_pipeline_cleanup(void *data);
static hm_int_t hm_http_pipeline_headers(hm_http_request_t *r, hm_msg_t *m);
static hm_uint_t hm_http_pipeline_framing(hm_str_t *name);

static void *hm_http_pipeline_create_loc_conf(hm_conf_t *cf);
static char *hm_http_pipeline_merge_loc_conf(hm_conf_t *cf, void *parent,
    void *child);
static char *hm_http_pipeline(hm_conf_t *cf, hm_command_t *cmd, void *conf);


static hm_conf_enum_t  hm_http_pipeline_full_modes[] = {
    { hm_string("wait"), HM_HTTP_PIPELINE_WAIT },
    { hm_string("reject"), HM_HTTP_PIPELINE_REJECT },
    { hm_null_string, 0 }
};


static hm_command_t  hm_http_pipeline_commands[] = {

    { hm_string("pipeline"),
      HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_http_pipeline,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "Hand requests to a pipeline as messages; answer once settled." },

    { hm_string("pipeline_key"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_complex_value_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_pipeline_loc_conf_t, key),
      (void *) HM_VAR_HTTP,
      "The message key, from request variables." },

    { hm_string("pipeline_reply"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_pipeline_loc_conf_t, reply),
      NULL,
      "Answer with the outbound's response (request/reply)." },

    { hm_string("pipeline_full"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_pipeline_loc_conf_t, full),
      &hm_http_pipeline_full_modes,
      "When the pipeline is full: wait (stop reading) or reject (503)." },

    { hm_string("pipeline_wait_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_pipeline_loc_conf_t, wait_timeout),
      NULL,
      "How long a request waits for room before a 503." },

    { hm_string("pipeline_retry_after"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_sec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_pipeline_loc_conf_t, retry_after),
      NULL,
      "The Retry-After of a 503 for a full pipeline." },

      hm_null_command
};


static hm_http_module_t  hm_http_pipeline_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    hm_http_pipeline_create_loc_conf,      /* create location configuration */
    hm_http_pipeline_merge_loc_conf,       /* merge location configuration */

    { NULL, NULL, NULL, NULL }
};


hm_module_t  hm_http_pipeline_module = {
    HM_MODULE_V1,
    &hm_http_pipeline_module_ctx,          /* module context */
    hm_http_pipeline_commands,             /* module directives */
    HM_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_str_t  hm_http_pipeline_json_type = hm_string("application/json");
static hm_str_t  hm_http_pipeline_source = hm_string("http");


static hm_int_t
hm_http_pipeline_handler(hm_http_request_t *r)
{
    hm_http_pipeline_ctx_t       *ctx;
    hm_http_pipeline_loc_conf_t  *hlcf;

    if (!(r->method & (HM_HTTP_POST|HM_HTTP_PUT|HM_HTTP_PATCH))) {
        if (hm_http_add_response_header(r, "Allow", 5,
                                        (u_char *) "POST, PUT, PATCH", 16)
            == NULL)
        {
            return HM_HTTP_INTERNAL_SERVER_ERROR;
        }

        return HM_HTTP_NOT_ALLOWED;
    }

    hlcf = hm_http_get_module_loc_conf(r, hm_http_pipeline_module);

    ctx = hm_pcalloc(r->pool, sizeof(hm_http_pipeline_ctx_t));
    if (ctx == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    r->ctx[hm_http_pipeline_module.ctx_index] = ctx;

    if (hm_pipeline_room(hlcf->pipeline,
                         r->headers_in.content_length_n > 0
                         ? (size_t) r->headers_in.content_length_n : 0)
        == HM_OK)
    {
        return hm_http_pipeline_start(r, ctx);
    }

    if (hlcf->full == HM_HTTP_PIPELINE_REJECT || hlcf->wait_timeout == 0) {
        return hm_http_pipeline_full(r);
    }

    /* wait for room with the body unread: the client is held back */

    ctx->waiter.handler = hm_http_pipeline_wake;
    ctx->waiter.data = ctx;
    hm_pipeline_wait(hlcf->pipeline, &ctx->waiter);

    ctx->wait_timer.handler = hm_http_pipeline_wait_timeout;
    ctx->wait_timer.data = ctx;
    ctx->wait_timer.log = r->connection->log;
    hm_event_add_timer(&ctx->wait_timer, hlcf->wait_timeout);

    hm_http_block_reading(r);

    r->main->count++;

    return HM_DONE;
}


static void
hm_http_pipeline_wake(hm_pipeline_waiter_t *w)
{
    hm_http_pipeline_ctx_t  *ctx = w->data;

    hm_int_t            rc;
    hm_http_request_t  *r = ctx->request;

    if (ctx->wait_timer.timer_set) {
        hm_event_del_timer(&ctx->wait_timer);
    }

    rc = hm_http_pipeline_start(r, ctx);

    /* HM_DONE drops the reference the wait held */

    hm_http_finalize_request(r, rc);
}


static void
hm_http_pipeline_wait_timeout(hm_event_t *ev)
{
    hm_http_pipeline_ctx_t  *ctx = ev->data;

    hm_http_request_t  *r = ctx->request;

    hm_pipeline_wait_cancel(&ctx->waiter);

    hm_http_finalize_request(r, hm_http_pipeline_full(r));

    /* and the reference the wait held */

    hm_http_finalize_request(r, HM_DONE);
}


static hm_int_t
hm_http_pipeline_full(hm_http_request_t *r)
{
    u_char                       *p;
    hm_str_t                      body;
    hm_http_pipeline_loc_conf_t  *hlcf;

    hlcf = hm_http_get_module_loc_conf(r, hm_http_pipeline_module);

    p = hm_pnalloc(r->pool, HM_INT64_LEN);
    if (p == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hm_http_add_response_header(r, "Retry-After", 11, p,
                                    hm_sprintf(p, "%T", hlcf->retry_after)
                                    - p)
        == NULL)
    {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    hm_str_set(&body, "{\"outcome\":\"failed\","
                      "\"error\":\"the pipeline is full\"}\n");

    r->keepalive = 0;

    return hm_http_send_response(r, HM_HTTP_SERVICE_UNAVAILABLE,
                                 &hm_http_pipeline_json_type, &body);
}


static hm_int_t
hm_http_pipeline_start(hm_http_request_t *r, hm_http_pipeline_ctx_t *ctx)
{
    hm_int_t                      rc;
    hm_msg_t                     *m;
    hm_http_cleanup_t            *cln;
    hm_http_pipeline_loc_conf_t  *hlcf;

    hlcf = hm_http_get_module_loc_conf(r, hm_http_pipeline_module);

    /* taking the message is the admission: it counts from now on */

    m = hm_msg_create(hlcf->pipeline, r->connection->log, 0);
    if (m == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->msg = m;

    cln = hm_pcalloc(r->pool, sizeof(hm_http_cleanup_t));
    if (cln == NULL) {
        hm_msg_destroy(m);
        ctx->msg = NULL;
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = hm_http_pipeline_cleanup;
    cln->data = ctx;
    cln->next = r->cleanup;
    r->cleanup = cln;

    r->request_body_in_memory = 1;

    rc = hm_http_read_client_request_body(r, hm_http_pipeline_body_handler);

    if (rc >= HM_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return HM_DONE;
}


static void
hm_http_pipeline_body_handler(hm_http_request_t *r)
{
    size_t                        len;
    hm_msg_t                     *m;
    hm_chain_t                   *cl, **ll;
    hm_http_pipeline_ctx_t       *ctx;
    hm_http_pipeline_loc_conf_t  *hlcf;

    ctx = r->ctx[hm_http_pipeline_module.ctx_index];
    hlcf = hm_http_get_module_loc_conf(r, hm_http_pipeline_module);
    m = ctx->msg;

    /* the body, as read: no copy */

    len = 0;
    ll = &m->body;

    for (cl = r->request_body ? r->request_body->bufs : NULL;
         cl;
         cl = cl->next)
    {
        if (cl->buf->in_file || cl->buf->last == cl->buf->pos) {
            continue;
        }

        *ll = hm_alloc_chain_link(m->pool);
        if (*ll == NULL) {
            goto failed;
        }

        (*ll)->buf = cl->buf;
        (*ll)->next = NULL;
        len += cl->buf->last - cl->buf->pos;
        ll = &(*ll)->next;
    }

    m->body_len = len;

    if (hm_http_pipeline_headers(r, m) != HM_OK) {
        goto failed;
    }

    if (hm_http_request_id(r, &m->id) != HM_OK) {
        goto failed;
    }

    if (hlcf->key && hm_complex_value(r, m->pool, hlcf->key, &m->key)
                     != HM_OK)
    {
        goto failed;
    }

    m->vs.ctx = r;
    m->vs.kind = HM_VAR_HTTP;
    m->source.name = hm_http_pipeline_source;
    m->source.var_kind = HM_VAR_HTTP;
    m->source.ctx = r;
    m->reply_wanted = hlcf->reply;
    m->ack = hm_http_pipeline_ack;
    m->ack_data = ctx;

    hm_http_block_reading(r);

    /* the ack may come at once, from inside */

    hm_pipeline_submit(m);

    return;

failed:

    ctx->msg = NULL;
    hm_msg_destroy(m);

    hm_http_finalize_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
}


/* how the request was framed is not part of the message */

static hm_uint_t
hm_http_pipeline_framing(hm_str_t *name)
{
    hm_uint_t  i;

    static hm_str_t  framing[] = {
        hm_string("content-length"), hm_string("transfer-encoding"),
        hm_string("connection"), hm_string("keep-alive"), hm_string("te"),
        hm_string("upgrade"), hm_string("expect"), hm_string("trailer"),
        hm_string("proxy-connection"), hm_null_string
    };

    for (i = 0; framing[i].len; i++) {
        if (name->len == framing[i].len
            && hm_strncasecmp(name->data, framing[i].data, name->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static hm_int_t
hm_http_pipeline_headers(hm_http_request_t *r, hm_msg_t *m)
{
    hm_uint_t         i;
    hm_list_part_t   *part;
    hm_table_elt_t   *h;
    hm_msg_header_t  *mh;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || hm_http_pipeline_framing(&h[i].key)) {
            continue;
        }

        mh = hm_array_push(&m->headers);
        if (mh == NULL) {
            return HM_ERROR;
        }

        mh->name = h[i].key;
        mh->value = h[i].value;
    }

    return HM_OK;
}


static void
hm_http_pipeline_ack(hm_msg_t *m)
{
    hm_http_pipeline_ctx_t  *ctx = m->ack_data;

    hm_int_t            rc;
    hm_uint_t           status;
    hm_http_request_t  *r = ctx->request;

    status = hm_msg_status(m);

    if (m->reply_wanted && m->outcome == HM_MSG_DELIVERED
        && m->reply.status)
    {
        rc = hm_http_pipeline_reply(r, m);

    } else {
        rc = hm_http_pipeline_respond(r, m, status);
    }

    ctx->msg = NULL;
    hm_msg_destroy(m);

    hm_http_finalize_request(r, rc);
}


/* {"id":"...","outcome":"delivered"} or with "error" */

static hm_int_t
hm_http_pipeline_respond(hm_http_request_t *r, hm_msg_t *m,
    hm_uint_t status)
{
    hm_str_t  body;

    if (hm_msg_outcome_json(r->pool, m, &body) != HM_OK) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    return hm_http_send_response(r, status, &hm_http_pipeline_json_type,
                                 &body);
}


/* the outbound's own answer: status, headers, body */

static hm_int_t
hm_http_pipeline_reply(hm_http_request_t *r, hm_msg_t *m)
{
    u_char           *p;
    hm_str_t          body, ct;
    hm_uint_t         i;
    hm_chain_t       *cl;
    hm_msg_header_t  *h;

    hm_str_null(&ct);

    if (m->reply.headers) {
        h = m->reply.headers->elts;

        for (i = 0; i < m->reply.headers->nelts; i++) {
            if (h[i].name.len == 12
                && hm_strncasecmp(h[i].name.data,
                                  (u_char *) "content-type", 12) == 0)
            {
                ct.data = hm_pstrdup(r->pool, &h[i].value);
                ct.len = h[i].value.len;
                continue;
            }

            if (hm_http_add_response_header(r, (char *) h[i].name.data,
                                            h[i].name.len, h[i].value.data,
                                            h[i].value.len)
                == NULL)
            {
                return HM_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    /* the reply lives in the message's pool, which goes before we send */

    body.len = 0;

    for (cl = m->reply.body; cl; cl = cl->next) {
        body.len += cl->buf->last - cl->buf->pos;
    }

    body.data = hm_pnalloc(r->pool, body.len + 1);
    if (body.data == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = body.data;

    for (cl = m->reply.body; cl; cl = cl->next) {
        p = hm_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    return hm_http_send_response(r, m->reply.status, &ct, &body);
}


/*
 * The request ends before its message settled (the connection was
 * closed under it): the message goes on alone, with copies of what it
 * borrowed from the request, and is freed when it settles.
 */

static void
hm_http_pipeline_cleanup(void *data)
{
    hm_http_pipeline_ctx_t  *ctx = data;

    u_char           *p;
    hm_str_t          body;
    hm_msg_t         *m;
    hm_uint_t         i;
    hm_msg_header_t  *h;

    if (ctx->waiter.waiting) {
        hm_pipeline_wait_cancel(&ctx->waiter);
    }

    if (ctx->wait_timer.timer_set) {
        hm_event_del_timer(&ctx->wait_timer);
    }

    m = ctx->msg;

    if (m == NULL) {
        return;
    }

    ctx->msg = NULL;

    if (m->ack == NULL) {
        /* the body was not read yet: nothing was submitted */
        hm_msg_destroy(m);
        return;
    }

    if (hm_msg_body_flat(m, &body) == HM_OK) {
        p = hm_pnalloc(m->pool, body.len);

        if (p) {
            hm_memcpy(p, body.data, body.len);
            (void) hm_msg_set_body(m, p, body.len);
        }
    }

    h = m->headers.elts;

    for (i = 0; i < m->headers.nelts; i++) {
        h[i].name.data = hm_pstrdup(m->pool, &h[i].name);
        h[i].value.data = hm_pstrdup(m->pool, &h[i].value);

        if (h[i].name.data == NULL || h[i].value.data == NULL) {
            h[i].name.len = 0;
            h[i].value.len = 0;
        }
    }

    m->id.data = hm_pstrdup(m->pool, &m->id);
    if (m->id.data == NULL) {
        m->id.len = 0;
    }

    if (m->key.len) {
        m->key.data = hm_pstrdup(m->pool, &m->key);
        if (m->key.data == NULL) {
            m->key.len = 0;
        }
    }

    m->log = hm_cycle->log;
    m->vs.ctx = NULL;
    m->source.ctx = NULL;
    m->reply_wanted = 0;
    m->ack = hm_http_pipeline_detached_ack;

    hm_log_error(HM_LOG_INFO, m->log, 0,
                 "message %V goes on without its client", &m->id);
}


static void
hm_http_pipeline_detached_ack(hm_msg_t *m)
{
    hm_log_error(HM_LOG_INFO, m->log, 0,
                 "message %V without its client: %s", &m->id,
                 hm_msg_outcome_name(m->outcome));

    hm_msg_destroy(m);
}


/* -- configuration --------------------------------------------------- */

static void *
hm_http_pipeline_create_loc_conf(hm_conf_t *cf)
{
    hm_http_pipeline_loc_conf_t  *conf;

    conf = hm_pcalloc(cf->pool, sizeof(hm_http_pipeline_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->key = HM_CONF_UNSET_PTR;
    conf->reply = HM_CONF_UNSET;
    conf->full = HM_CONF_UNSET_UINT;
    conf->wait_timeout = HM_CONF_UNSET_MSEC;
    conf->retry_after = HM_CONF_UNSET;

    return conf;
}


static char *
hm_http_pipeline_merge_loc_conf(hm_conf_t *cf, void *parent, void *child)
{
    hm_http_pipeline_loc_conf_t  *prev = parent;
    hm_http_pipeline_loc_conf_t  *conf = child;

    hm_conf_merge_ptr_value(conf->key, prev->key, NULL);
    hm_conf_merge_value(conf->reply, prev->reply, 0);
    hm_conf_merge_uint_value(conf->full, prev->full, HM_HTTP_PIPELINE_WAIT);
    hm_conf_merge_msec_value(conf->wait_timeout, prev->wait_timeout, 30000);
    hm_conf_merge_value(conf->retry_after, prev->retry_after, 1);

    return HM_CONF_OK;
}


static char *
hm_http_pipeline(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_pipeline_loc_conf_t  *hlcf = conf;

    hm_str_t                 *value;
    hm_http_core_loc_conf_t  *clcf;

    if (hlcf->pipeline) {
        return "is duplicate";
    }

    clcf = hm_http_conf_get_module_loc_conf(cf, hm_http_core_module);

    if (clcf->handler) {
        return "conflicts with another content handler (proxy_pass, "
               "return, ...)";
    }

    clcf->handler = hm_http_pipeline_handler;

    value = cf->args->elts;

    if (hm_pipeline_ref(cf, &value[1], &hlcf->pipeline) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}
