/*
 * Copyright (C) hermod authors
 *
 * The AMQP outbound: a publisher per worker with publisher confirms.
 *
 * Each message is published (basic.publish, a content header with its
 * properties, body frames) on the channel in confirm mode; it is
 * delivered when the broker acks its delivery tag, RETRY when the broker
 * nacks it or the connection goes before the ack, ERROR when the broker
 * returned it as unroutable ("mandatory on").  The published messages
 * wait in a ring indexed by delivery tag: at most max_in_flight between
 * the oldest unconfirmed and the newest, beyond that the pipeline waits
 * (HM_BUSY).  While the connection is being made messages wait too; once
 * it failed they fail at once (RETRY, class "connect") until it is back,
 * so that retry and dead-letter policies apply.
 *
 * A basic.return carries no delivery tag: it comes before the ack of the
 * message it returns, and is matched to the oldest unconfirmed message
 * with the same exchange, routing key, body size and message id.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_amqp.h>


typedef struct {
    hm_msg_t                    *m;          /* NULL: cancelled */
    uint64_t                     hash;       /* for basic.return */
    unsigned                     pending:1;
    unsigned                     returned:1;
    uint16_t                     code;       /* of the return */
} hm_amqp_pub_t;


typedef struct {
    hm_amqp_conn_t               ac;
    hm_pipeline_outbound_t      *ob;
    hm_amqp_publisher_conf_t    *conf;

    hm_amqp_pub_t               *ring;
    hm_uint_t                    cap;
    uint64_t                     base;       /* oldest unconfirmed tag */
    uint64_t                     next;       /* tag of the next publish */
    hm_uint_t                    in_flight;

    /* the basic.return being received */
    uint64_t                     ret_hash;
    uint64_t                     ret_size;
    uint64_t                     ret_got;
    uint16_t                     ret_code;
    u_char                       ret_text[256];
    size_t                       ret_text_len;
    u_char                       ret_where[520];
    size_t                       ret_where_len;

    hm_amqp_step_t              *steps;
    hm_uint_t                    nsteps;

    unsigned                     refused:1;
    unsigned                     closing:1;
    unsigned                     connected_once:1;
} hm_amqp_publisher_t;


static void hm_amqp_publisher_ready(hm_amqp_conn_t *ac);
static hm_int_t hm_amqp_publisher_method(hm_amqp_conn_t *ac,
    amqp_method_number_t id, void *args);
static hm_int_t hm_amqp_publisher_header(hm_amqp_conn_t *ac, uint64_t size,
    amqp_basic_properties_t *props);
static hm_int_t hm_amqp_publisher_body(hm_amqp_conn_t *ac, u_char *data,
    size_t len);
static void hm_amqp_publisher_down(hm_amqp_conn_t *ac);
static void hm_amqp_publisher_blocked(hm_amqp_conn_t *ac, int on);
static void hm_amqp_publisher_stop(hm_amqp_conn_t *ac);
static void hm_amqp_publisher_settle(hm_amqp_publisher_t *pub, uint64_t tag,
    hm_uint_t multiple, hm_int_t rc);
static void hm_amqp_publisher_finish(hm_amqp_publisher_t *pub,
    hm_amqp_pub_t *e, hm_int_t rc);
static void hm_amqp_publisher_wake(hm_amqp_publisher_t *pub);
static void hm_amqp_publisher_maybe_close(hm_amqp_publisher_t *pub);
static hm_int_t hm_amqp_publisher_props(hm_msg_t *m,
    hm_amqp_publisher_conf_t *pcf, amqp_basic_properties_t *props);
static uint64_t hm_amqp_hash(uint64_t h, u_char *p, size_t len);


static hm_amqp_handlers_t  hm_amqp_publisher_handlers = {
    hm_amqp_publisher_ready,
    hm_amqp_publisher_method,
    hm_amqp_publisher_header,
    hm_amqp_publisher_body,
    hm_amqp_publisher_down,
    hm_amqp_publisher_blocked,
    hm_amqp_publisher_stop
};


static hm_str_t  hm_amqp_prop_header[] = {
    hm_string("content-type"),
    hm_string("content-encoding"),
};


void *
hm_amqp_publisher_create_conf(hm_conf_t *cf)
{
    hm_amqp_publisher_conf_t  *pcf;

    pcf = hm_pcalloc(cf->pool, sizeof(hm_amqp_publisher_conf_t));
    if (pcf == NULL) {
        return NULL;
    }

    if (hm_amqp_common_init(cf, &pcf->common) != HM_OK) {
        return NULL;
    }

    pcf->persistent = HM_CONF_UNSET;
    pcf->mandatory = HM_CONF_UNSET;
    pcf->headers = HM_CONF_UNSET;
    pcf->max_in_flight = HM_CONF_UNSET_UINT;

    return pcf;
}


char *
hm_amqp_publisher_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob)
{
    hm_amqp_publisher_conf_t  *pcf = ob->conf;

    if (hm_amqp_common_merge(cf, &pcf->common, "outbound", &ob->name)
        != HM_CONF_OK)
    {
        return HM_CONF_ERROR;
    }

    if (pcf->exchange == NULL && pcf->routing_key == NULL) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &pcf->common.where,
                        "outbound \"%V\" has neither \"exchange\" nor "
                        "\"routing_key\"", &ob->name);
        return HM_CONF_ERROR;
    }

    hm_conf_init_value(pcf->persistent, 1);
    hm_conf_init_value(pcf->mandatory, 0);
    hm_conf_init_value(pcf->headers, 1);
    hm_conf_init_uint_value(pcf->max_in_flight, 1000);

    if (pcf->max_in_flight == 0) {
        pcf->max_in_flight = 1;
    }

    return HM_CONF_OK;
}


/* "property NAME VALUE": a message property from a template */

char *
hm_amqp_property(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_amqp_publisher_conf_t  *pcf = conf;

    static const char  *names[] = {
        "content_type", "content_encoding", "priority", "correlation_id",
        "reply_to", "expiration", "message_id", "type", "user_id", "app_id",
        NULL
    };

    hm_str_t   *value;
    hm_uint_t   i;

    value = cf->args->elts;

    for (i = 0; names[i]; i++) {
        if (hm_strcmp(value[1].data, names[i]) == 0) {
            break;
        }
    }

    if (names[i] == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "unknown AMQP property \"%V\" (content_type, "
                          "content_encoding, priority, correlation_id, "
                          "reply_to, expiration, message_id, type, user_id, "
                          "app_id)", &value[1]);
        return HM_CONF_ERROR;
    }

    if (pcf->props[i]) {
        return "is duplicate";
    }

    pcf->props[i] = hm_palloc(cf->pool, sizeof(hm_complex_value_t));
    if (pcf->props[i] == NULL) {
        return HM_CONF_ERROR;
    }

    if (hm_complex_value_compile(cf, &value[2], HM_VAR_MESSAGE,
                                 pcf->props[i])
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* -- the worker ------------------------------------------------------ */

hm_int_t
hm_amqp_publisher_init_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_amqp_publisher_conf_t  *pcf = ob->conf;

    hm_amqp_step_t       *st;
    hm_amqp_publisher_t  *pub;
    amqp_confirm_select_t *sel;

    pub = hm_pcalloc(cycle->pool, sizeof(hm_amqp_publisher_t));
    if (pub == NULL) {
        return HM_ERROR;
    }

    pub->ob = ob;
    pub->conf = pcf;
    pub->cap = pcf->max_in_flight;
    pub->base = 1;
    pub->next = 1;

    pub->ring = hm_pcalloc(cycle->pool, pub->cap * sizeof(hm_amqp_pub_t));
    if (pub->ring == NULL) {
        return HM_ERROR;
    }

    /* the topology, then confirm.select */

    pub->steps = hm_amqp_topology_steps(cycle->pool, &pcf->common, 1,
                                        &pub->nsteps);
    if (pub->steps == NULL) {
        return HM_ERROR;
    }

    sel = hm_pcalloc(cycle->pool, sizeof(amqp_confirm_select_t));
    if (sel == NULL) {
        return HM_ERROR;
    }

    st = &pub->steps[pub->nsteps++];
    st->id = AMQP_CONFIRM_SELECT_METHOD;
    st->args = sel;
    st->reply = AMQP_CONFIRM_SELECT_OK_METHOD;
    st->where = NULL;
    st->what = "confirm.select";

    if (hm_amqp_conn_init(&pub->ac, cycle, &pcf->common, "outbound",
                          &ob->name, &hm_amqp_publisher_handlers, pub)
        != HM_OK)
    {
        return HM_ERROR;
    }

    pub->ac.steps = pub->steps;
    pub->ac.nsteps = pub->nsteps;

    ob->data = pub;

    hm_amqp_connect(&pub->ac);

    return HM_OK;
}


void
hm_amqp_publisher_exit_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_amqp_publisher_t  *pub = ob->data;

    if (pub == NULL) {
        return;
    }

    /* the pipeline is gone: what is unconfirmed is forgotten */

    pub->in_flight = 0;

    hm_amqp_conn_free(&pub->ac);

    ob->data = NULL;
}


/* -- send ------------------------------------------------------------ */

hm_int_t
hm_amqp_publisher_send(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_amqp_publisher_conf_t  *pcf = ob->conf;
    hm_amqp_publisher_t       *pub = ob->data;

    uint64_t                  h;
    hm_str_t                  exchange, rk;
    hm_amqp_pub_t            *e;
    hm_amqp_conn_t           *ac = &pub->ac;
    amqp_basic_publish_t      bp;
    amqp_basic_properties_t   props;

    switch (ac->state) {

    case HM_AMQP_READY:
        break;

    case HM_AMQP_CONNECTING:
        pub->refused = 1;
        return HM_BUSY;

    case HM_AMQP_DOWN:
        if (!pub->connected_once && ac->generation <= 1
            && ac->error_len == 0)
        {
            pub->refused = 1;
            return HM_BUSY;
        }

        hm_msg_set_error(m, HM_MSG_ERR_CONNECT, "amqp: not connected: %V",
                         hm_amqp_error(ac));
        return HM_RETRY;

    default: /* CLOSING, CLOSED: a message after a graceful stop began */

        if (ac->forced) {
            hm_msg_set_error(m, HM_MSG_ERR_CONNECT, "amqp: the worker is "
                             "stopping");
            return HM_RETRY;
        }

        hm_amqp_conn_free(ac);

        if (hm_amqp_conn_init(ac, (hm_cycle_t *) hm_cycle, &pcf->common, "outbound",
                              &ob->name, &hm_amqp_publisher_handlers, pub)
            != HM_OK)
        {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_ERROR;
        }

        ac->steps = pub->steps;
        ac->nsteps = pub->nsteps;
        pub->refused = 1;

        hm_amqp_connect(ac);

        return HM_BUSY;
    }

    if (ac->blocked || pub->next - pub->base >= pub->cap) {
        pub->refused = 1;
        return HM_BUSY;
    }

    hm_str_null(&exchange);
    rk = m->key;

    if ((pcf->exchange
         && hm_complex_value(m, m->pool, pcf->exchange, &exchange) != HM_OK)
        || (pcf->routing_key
            && hm_complex_value(m, m->pool, pcf->routing_key, &rk) != HM_OK))
    {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    if (exchange.len > 255 || rk.len > 255) {
        hm_msg_set_error(m, HM_MSG_ERR_FILTER, "amqp: the %s is longer "
                         "than 255 bytes", exchange.len > 255
                                           ? "exchange" : "routing key");
        return HM_ERROR;
    }

    if (hm_amqp_publisher_props(m, pcf, &props) != HM_OK) {
        return HM_ERROR;
    }

    hm_memzero(&bp, sizeof(amqp_basic_publish_t));
    bp.exchange = hm_amqp_bytes(&exchange);
    bp.routing_key = hm_amqp_bytes(&rk);
    bp.mandatory = pcf->mandatory ? 1 : 0;

    if (hm_amqp_send_method(ac, AMQP_BASIC_PUBLISH_METHOD, &bp) != HM_OK
        || hm_amqp_send_content(ac, &props, m->body, m->body_len) != HM_OK)
    {
        hm_msg_set_error(m, HM_MSG_ERR_CONNECT, "amqp: publish failed: %V",
                         hm_amqp_error(ac));
        return HM_RETRY;
    }

    h = 0;

    if (pcf->mandatory) {
        h = hm_amqp_hash(0, exchange.data, exchange.len);
        h = hm_amqp_hash(h, (u_char *) "", 1);
        h = hm_amqp_hash(h, rk.data, rk.len);
        h = hm_amqp_hash(h, (u_char *) &m->body_len, sizeof(size_t));
        h = hm_amqp_hash(h, props.message_id.bytes, props.message_id.len);
    }

    e = &pub->ring[pub->next % pub->cap];
    e->m = m;
    e->hash = h;
    e->pending = 1;
    e->returned = 0;

    pub->next++;
    pub->in_flight++;

    m->send_data = e;

    hm_amqp_flush(ac);

    return HM_AGAIN;
}


static hm_int_t
hm_amqp_publisher_props(hm_msg_t *m, hm_amqp_publisher_conf_t *pcf,
    amqp_basic_properties_t *props)
{
    hm_int_t             n;
    hm_str_t             v[HM_AMQP_PROP_N];
    hm_uint_t            i, k;
    hm_msg_header_t     *h;
    amqp_table_entry_t  *te;

    static amqp_flags_t  flags[] = {
        AMQP_BASIC_CONTENT_TYPE_FLAG, AMQP_BASIC_CONTENT_ENCODING_FLAG,
        AMQP_BASIC_PRIORITY_FLAG, AMQP_BASIC_CORRELATION_ID_FLAG,
        AMQP_BASIC_REPLY_TO_FLAG, AMQP_BASIC_EXPIRATION_FLAG,
        AMQP_BASIC_MESSAGE_ID_FLAG, AMQP_BASIC_TYPE_FLAG,
        AMQP_BASIC_USER_ID_FLAG, AMQP_BASIC_APP_ID_FLAG
    };

    hm_memzero(props, sizeof(amqp_basic_properties_t));

    for (i = 0; i < HM_AMQP_PROP_N; i++) {
        hm_str_null(&v[i]);

        if (pcf->props[i]) {
            if (hm_complex_value(m, m->pool, pcf->props[i], &v[i]) != HM_OK) {
                hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
                return HM_ERROR;
            }

        } else if (i <= HM_AMQP_PROP_CONTENT_ENCODING) {
            /* from the message's own headers */
            h = hm_msg_header_find(m, hm_amqp_prop_header[i].data,
                                   hm_amqp_prop_header[i].len);
            if (h) {
                v[i] = h->value;
            }

        } else if (i == HM_AMQP_PROP_MESSAGE_ID) {
            v[i] = m->id;
        }

        if (v[i].len == 0) {
            continue;
        }

        if (v[i].len > 255) {
            hm_msg_set_error(m, HM_MSG_ERR_FILTER, "amqp: a message property "
                             "longer than 255 bytes");
            return HM_ERROR;
        }

        props->_flags |= flags[i];
    }

    props->content_type = hm_amqp_bytes(&v[HM_AMQP_PROP_CONTENT_TYPE]);
    props->content_encoding = hm_amqp_bytes(&v[HM_AMQP_PROP_CONTENT_ENCODING]);
    props->correlation_id = hm_amqp_bytes(&v[HM_AMQP_PROP_CORRELATION_ID]);
    props->reply_to = hm_amqp_bytes(&v[HM_AMQP_PROP_REPLY_TO]);
    props->expiration = hm_amqp_bytes(&v[HM_AMQP_PROP_EXPIRATION]);
    props->message_id = hm_amqp_bytes(&v[HM_AMQP_PROP_MESSAGE_ID]);
    props->type = hm_amqp_bytes(&v[HM_AMQP_PROP_TYPE]);
    props->user_id = hm_amqp_bytes(&v[HM_AMQP_PROP_USER_ID]);
    props->app_id = hm_amqp_bytes(&v[HM_AMQP_PROP_APP_ID]);

    if (v[HM_AMQP_PROP_PRIORITY].len) {
        n = hm_atoi(v[HM_AMQP_PROP_PRIORITY].data,
                    v[HM_AMQP_PROP_PRIORITY].len);

        if (n < 0 || n > 255) {
            hm_msg_set_error(m, HM_MSG_ERR_FILTER, "amqp: invalid priority "
                             "\"%V\"", &v[HM_AMQP_PROP_PRIORITY]);
            return HM_ERROR;
        }

        props->priority = (uint8_t) n;
    }

    props->_flags |= AMQP_BASIC_DELIVERY_MODE_FLAG|AMQP_BASIC_TIMESTAMP_FLAG;
    props->delivery_mode = pcf->persistent ? AMQP_DELIVERY_PERSISTENT
                                           : AMQP_DELIVERY_NONPERSISTENT;
    props->timestamp = m->created / 1000;

    /* the other message headers as AMQP headers (long strings) */

    if (!pcf->headers || m->headers.nelts == 0) {
        return HM_OK;
    }

    te = hm_palloc(m->pool, m->headers.nelts * sizeof(amqp_table_entry_t));
    if (te == NULL) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    h = m->headers.elts;
    k = 0;

    for (i = 0; i < m->headers.nelts; i++) {
        if ((h[i].name.len == 12
             && hm_strncasecmp(h[i].name.data, (u_char *) "content-type", 12)
                == 0)
            || (h[i].name.len == 16
                && hm_strncasecmp(h[i].name.data,
                                  (u_char *) "content-encoding", 16) == 0)
            || (h[i].name.len == 14
                && hm_strncasecmp(h[i].name.data,
                                  (u_char *) "content-length", 14) == 0)
            || h[i].name.len > 255)
        {
            continue;
        }

        te[k].key = hm_amqp_bytes(&h[i].name);
        te[k].value.kind = AMQP_FIELD_KIND_UTF8;
        te[k].value.value.bytes = hm_amqp_bytes(&h[i].value);
        k++;
    }

    if (k) {
        props->_flags |= AMQP_BASIC_HEADERS_FLAG;
        props->headers.num_entries = (int) k;
        props->headers.entries = te;
    }

    return HM_OK;
}


/* the broker's report cannot be taken back: it will be ignored */

void
hm_amqp_publisher_cancel(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_amqp_pub_t  *e = m->send_data;

    if (e) {
        e->m = NULL;
        m->send_data = NULL;
    }
}


/* -- the broker's answers -------------------------------------------- */

static void
hm_amqp_publisher_ready(hm_amqp_conn_t *ac)
{
    hm_amqp_publisher_t  *pub = ac->data;

    /* delivery tags start again at 1 on a new channel */

    pub->base = 1;
    pub->next = 1;
    pub->connected_once = 1;

    hm_amqp_publisher_wake(pub);
    hm_amqp_publisher_maybe_close(pub);
}


static hm_int_t
hm_amqp_publisher_method(hm_amqp_conn_t *ac, amqp_method_number_t id,
    void *args)
{
    hm_amqp_publisher_t  *pub = ac->data;

    amqp_basic_ack_t     *ack;
    amqp_basic_nack_t    *nack;
    amqp_basic_return_t  *ret;

    switch (id) {

    case AMQP_BASIC_ACK_METHOD:
        ack = args;
        hm_amqp_publisher_settle(pub, ack->delivery_tag, ack->multiple,
                                 HM_OK);
        break;

    case AMQP_BASIC_NACK_METHOD:
        nack = args;
        hm_amqp_publisher_settle(pub, nack->delivery_tag, nack->multiple,
                                 HM_RETRY);
        break;

    case AMQP_BASIC_RETURN_METHOD:
        ret = args;

        pub->ret_code = ret->reply_code;
        pub->ret_text_len = hm_min(ret->reply_text.len,
                                   sizeof(pub->ret_text));
        hm_memcpy(pub->ret_text, ret->reply_text.bytes, pub->ret_text_len);

        pub->ret_where_len = hm_slprintf(pub->ret_where,
                                         pub->ret_where
                                         + sizeof(pub->ret_where),
                                         "exchange \"%*s\", routing key "
                                         "\"%*s\"", ret->exchange.len,
                                         ret->exchange.bytes,
                                         ret->routing_key.len,
                                         ret->routing_key.bytes)
                             - pub->ret_where;

        pub->ret_hash = hm_amqp_hash(0, ret->exchange.bytes,
                                     ret->exchange.len);
        pub->ret_hash = hm_amqp_hash(pub->ret_hash, (u_char *) "", 1);
        pub->ret_hash = hm_amqp_hash(pub->ret_hash, ret->routing_key.bytes,
                                     ret->routing_key.len);

        ac->in_content = 1;
        break;

    default:
        hm_log_debug(&ac->log, "amqp: %s ignored", hm_amqp_method_name(id));
        break;
    }

    return HM_OK;
}


static hm_int_t
hm_amqp_publisher_header(hm_amqp_conn_t *ac, uint64_t size,
    amqp_basic_properties_t *props)
{
    size_t                len;
    hm_amqp_publisher_t  *pub = ac->data;

    len = (size_t) size;

    pub->ret_hash = hm_amqp_hash(pub->ret_hash, (u_char *) &len,
                                 sizeof(size_t));

    if (props->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        pub->ret_hash = hm_amqp_hash(pub->ret_hash, props->message_id.bytes,
                                     props->message_id.len);
    }

    pub->ret_size = size;
    pub->ret_got = 0;

    if (size == 0) {
        return hm_amqp_publisher_body(ac, NULL, 0);
    }

    return HM_OK;
}


static hm_int_t
hm_amqp_publisher_body(hm_amqp_conn_t *ac, u_char *data, size_t len)
{
    uint64_t              tag;
    hm_amqp_pub_t        *e;
    hm_amqp_publisher_t  *pub = ac->data;

    pub->ret_got += len;

    if (pub->ret_got < pub->ret_size) {
        return HM_OK;
    }

    ac->in_content = 0;

    /* the oldest unconfirmed message it can be */

    for (tag = pub->base; tag < pub->next; tag++) {
        e = &pub->ring[tag % pub->cap];

        if (e->pending && !e->returned && e->hash == pub->ret_hash) {
            e->returned = 1;
            e->code = pub->ret_code;

            if (e->m) {
                hm_msg_set_error(e->m, HM_MSG_ERR_4XX, "amqp: returned by "
                                 "the broker: %d %*s (%*s)", pub->ret_code,
                                 pub->ret_text_len, pub->ret_text,
                                 pub->ret_where_len, pub->ret_where);
            }

            return HM_OK;
        }
    }

    hm_log_error(HM_LOG_WARN, &ac->log, 0,
                 "outbound \"%V\": a returned message (%d %*s) matches no "
                 "unconfirmed one", &pub->ob->name, pub->ret_code,
                 pub->ret_text_len, pub->ret_text);

    return HM_OK;
}


static void
hm_amqp_publisher_settle(hm_amqp_publisher_t *pub, uint64_t tag,
    hm_uint_t multiple, hm_int_t rc)
{
    uint64_t        first, t;
    hm_amqp_pub_t  *e;

    if (tag >= pub->next || (tag == 0 && !multiple)) {
        hm_log_error(HM_LOG_WARN, &pub->ac.log, 0,
                     "outbound \"%V\": a confirm of unknown delivery tag %uL",
                     &pub->ob->name, tag);
        return;
    }

    if (tag == 0) {
        /* multiple with tag 0: everything outstanding */
        tag = pub->next - 1;
    }

    first = multiple ? pub->base : tag;

    for (t = first; t <= tag && t >= pub->base; t++) {
        e = &pub->ring[t % pub->cap];

        if (e->pending) {
            hm_amqp_publisher_finish(pub, e, rc);
        }
    }

    while (pub->base < pub->next && !pub->ring[pub->base % pub->cap].pending)
    {
        pub->base++;
    }

    hm_amqp_publisher_wake(pub);
    hm_amqp_publisher_maybe_close(pub);
}


static void
hm_amqp_publisher_finish(hm_amqp_publisher_t *pub, hm_amqp_pub_t *e,
    hm_int_t rc)
{
    hm_msg_t  *m;

    e->pending = 0;
    pub->in_flight--;

    m = e->m;
    e->m = NULL;

    if (m == NULL) {
        return;
    }

    m->send_data = NULL;

    if (e->returned) {
        /* the error was set when the return came */
        hm_pipeline_send_done(m, HM_ERROR);
        return;
    }

    if (rc == HM_RETRY && m->err_class == HM_MSG_ERR_NONE) {
        hm_msg_set_error(m, HM_MSG_ERR_NACK, "amqp: the broker refused the "
                         "message (basic.nack)");
    }

    hm_pipeline_send_done(m, rc);
}


static void
hm_amqp_publisher_down(hm_amqp_conn_t *ac)
{
    uint64_t              t;
    hm_amqp_pub_t        *e;
    hm_amqp_publisher_t  *pub = ac->data;

    /* unconfirmed: maybe lost; the pipeline's retry decides */

    for (t = pub->base; t < pub->next; t++) {
        e = &pub->ring[t % pub->cap];

        if (!e->pending) {
            continue;
        }

        if (e->m) {
            hm_msg_set_error(e->m, HM_MSG_ERR_CONNECT, "amqp: the "
                             "connection was lost before the broker "
                             "confirmed: %V", hm_amqp_error(ac));
        }

        e->returned = 0;
        hm_amqp_publisher_finish(pub, e, HM_RETRY);
    }

    pub->base = pub->next;

    /* the waiting messages learn that the broker is away */

    hm_amqp_publisher_wake(pub);
}


static void
hm_amqp_publisher_blocked(hm_amqp_conn_t *ac, int on)
{
    hm_amqp_publisher_t  *pub = ac->data;

    if (!on) {
        hm_amqp_publisher_wake(pub);
    }
}


static void
hm_amqp_publisher_stop(hm_amqp_conn_t *ac)
{
    hm_amqp_publisher_t  *pub = ac->data;

    pub->closing = 1;

    hm_amqp_publisher_maybe_close(pub);
}


static void
hm_amqp_publisher_wake(hm_amqp_publisher_t *pub)
{
    if (pub->refused) {
        pub->refused = 0;
        hm_pipeline_outbound_ready(pub->ob);
    }
}


/* stopping: the connection ends once nothing is unconfirmed or waiting */

static void
hm_amqp_publisher_maybe_close(hm_amqp_publisher_t *pub)
{
    if (!(pub->closing || hm_exiting)
        || pub->in_flight || pub->ob->nwaiting || pub->refused
        || pub->ac.state != HM_AMQP_READY)
    {
        return;
    }

    hm_amqp_close(&pub->ac);
}


/* FNV-1a */

static uint64_t
hm_amqp_hash(uint64_t h, u_char *p, size_t len)
{
    if (h == 0) {
        h = 0xcbf29ce484222325ULL;
    }

    while (len--) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }

    return h;
}
