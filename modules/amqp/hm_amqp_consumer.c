/*
 * Copyright (C) hermod authors
 *
 * The AMQP inbound: a consumer per worker (the workers compete for the
 * queues, as RabbitMQ intends), manual acknowledgements.
 *
 * A delivery becomes a message when its last body frame is in; it is
 * acknowledged (basic.ack) only once the message settled as delivered,
 * dead-lettered or dropped by a rule.  A FAILED message is requeued
 * (basic.nack, requeue) after requeue_delay, or rejected (basic.reject,
 * to the queue's dead-letter exchange) with "on_failure reject".
 *
 * Backpressure: a delivery that finds the pipeline full is held, not
 * acknowledged; the broker stops sending once prefetch deliveries are
 * unacknowledged, and the held ones go in when there is room.
 *
 * A lost connection: the broker requeues everything unacknowledged; the
 * messages still in the pipeline go on, and their acknowledgements (for a
 * channel that is gone) are dropped: at-least-once, never lost.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_amqp.h>


typedef struct hm_amqp_consumer_s  hm_amqp_consumer_t;


/*
 * The delivery tags of the channel not yet passed by the acknowledgements,
 * in tag order: settled ones are acknowledged together with one
 * basic.ack (multiple) up to the highest tag before the first one still
 * outstanding; behind an outstanding one they are acknowledged one by one.
 */

#define HM_AMQP_TAG_OUT    0       /* in flight */
#define HM_AMQP_TAG_ACK    1       /* settled: to be acknowledged */
#define HM_AMQP_TAG_DONE   2       /* answered */

typedef struct {
    hm_queue_t                   order;      /* by tag */
    hm_queue_t                   pending;    /* HM_AMQP_TAG_ACK, unsent */
    uint64_t                     tag;
    hm_uint_t                    state;
} hm_amqp_tag_t;


typedef struct {
    hm_queue_t                   queue;      /* held or delayed */
    hm_amqp_consumer_t          *cs;
    hm_pool_t                   *pool;       /* the delivery's own */
    hm_msg_t                    *m;          /* once submitted */
    uint64_t                     tag;
    hm_uint_t                    generation;
    hm_amqp_tag_t               *node;

    hm_str_t                     exchange;
    hm_str_t                     routing_key;
    hm_str_t                     consumer_tag;
    hm_str_t                     queue_name;
    hm_uint_t                    redelivered;

    amqp_flags_t                 flags;
    hm_str_t                     props[HM_AMQP_PROP_N];
    hm_uint_t                    delivery_mode;
    uint64_t                     timestamp;
    hm_array_t                   headers;    /* of hm_msg_header_t */

    u_char                      *body;
    size_t                       size;
    size_t                       got;

    hm_event_t                   delay;      /* before a requeue */
} hm_amqp_delivery_t;


struct hm_amqp_consumer_s {
    hm_amqp_conn_t               ac;
    hm_pipeline_inbound_t       *ib;
    hm_amqp_consumer_conf_t     *conf;
    hm_pool_t                   *pool;

    hm_amqp_delivery_t          *cur;        /* being received */
    hm_queue_t                   held;       /* in, waiting for room */
    hm_queue_t                   delayed;    /* failed, waiting to requeue */
    hm_uint_t                    outstanding; /* in the pipeline */
    hm_pipeline_waiter_t         waiter;

    hm_str_t                    *tags;       /* per queue */

    hm_queue_t                   order;      /* of hm_amqp_tag_t */
    hm_queue_t                   pending;
    hm_queue_t                   free;

    hm_uint_t                    acks;       /* basic.ack frames sent */

    unsigned                     closing:1;
};


static void hm_amqp_consumer_ready(hm_amqp_conn_t *ac);
static hm_int_t hm_amqp_consumer_method(hm_amqp_conn_t *ac,
    amqp_method_number_t id, void *args);
static hm_int_t hm_amqp_consumer_header(hm_amqp_conn_t *ac, uint64_t size,
    amqp_basic_properties_t *props);
static hm_int_t hm_amqp_consumer_body(hm_amqp_conn_t *ac, u_char *data,
    size_t len);
static void hm_amqp_consumer_down(hm_amqp_conn_t *ac);
static void hm_amqp_consumer_stop(hm_amqp_conn_t *ac);
static void hm_amqp_consumer_flush(hm_amqp_conn_t *ac);
static void hm_amqp_tags_reset(hm_amqp_consumer_t *cs);
static hm_int_t hm_amqp_deliver(hm_amqp_consumer_t *cs,
    amqp_basic_deliver_t *bd);
static hm_int_t hm_amqp_delivered(hm_amqp_consumer_t *cs,
    hm_amqp_delivery_t *d);
static void hm_amqp_submit(hm_amqp_consumer_t *cs, hm_amqp_delivery_t *d);
static void hm_amqp_delivery_cleanup(void *data);
static void hm_amqp_consumer_wake(hm_pipeline_waiter_t *w);
static void hm_amqp_consumer_ack(hm_msg_t *m);
static void hm_amqp_requeue_handler(hm_event_t *ev);
static void hm_amqp_answer(hm_amqp_consumer_t *cs, hm_amqp_delivery_t *d,
    amqp_method_number_t id);
static void hm_amqp_drop_held(hm_amqp_consumer_t *cs);
static void hm_amqp_consumer_maybe_close(hm_amqp_consumer_t *cs);

static hm_int_t hm_amqp_variable(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_amqp_variable_header(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);


/* the string properties of a delivery, by flag */

static const struct {
    amqp_flags_t                 flag;
    size_t                       offset;
    hm_uint_t                    index;
}  hm_amqp_str_props[] = {
    { AMQP_BASIC_CONTENT_TYPE_FLAG,
      offsetof(amqp_basic_properties_t, content_type),
      HM_AMQP_PROP_CONTENT_TYPE },
    { AMQP_BASIC_CONTENT_ENCODING_FLAG,
      offsetof(amqp_basic_properties_t, content_encoding),
      HM_AMQP_PROP_CONTENT_ENCODING },
    { AMQP_BASIC_CORRELATION_ID_FLAG,
      offsetof(amqp_basic_properties_t, correlation_id),
      HM_AMQP_PROP_CORRELATION_ID },
    { AMQP_BASIC_REPLY_TO_FLAG,
      offsetof(amqp_basic_properties_t, reply_to),
      HM_AMQP_PROP_REPLY_TO },
    { AMQP_BASIC_EXPIRATION_FLAG,
      offsetof(amqp_basic_properties_t, expiration),
      HM_AMQP_PROP_EXPIRATION },
    { AMQP_BASIC_MESSAGE_ID_FLAG,
      offsetof(amqp_basic_properties_t, message_id),
      HM_AMQP_PROP_MESSAGE_ID },
    { AMQP_BASIC_TYPE_FLAG,
      offsetof(amqp_basic_properties_t, type),
      HM_AMQP_PROP_TYPE },
    { AMQP_BASIC_USER_ID_FLAG,
      offsetof(amqp_basic_properties_t, user_id),
      HM_AMQP_PROP_USER_ID },
    { AMQP_BASIC_APP_ID_FLAG,
      offsetof(amqp_basic_properties_t, app_id),
      HM_AMQP_PROP_APP_ID },
};


static hm_amqp_handlers_t  hm_amqp_consumer_handlers = {
    hm_amqp_consumer_ready,
    hm_amqp_consumer_method,
    hm_amqp_consumer_header,
    hm_amqp_consumer_body,
    hm_amqp_consumer_down,
    NULL,
    hm_amqp_consumer_stop,
    hm_amqp_consumer_flush
};


#define HM_AMQP_VAR_EXCHANGE       100
#define HM_AMQP_VAR_ROUTING_KEY    101
#define HM_AMQP_VAR_DELIVERY_TAG   102
#define HM_AMQP_VAR_REDELIVERED    103
#define HM_AMQP_VAR_QUEUE          104
#define HM_AMQP_VAR_CONSUMER_TAG   105
#define HM_AMQP_VAR_DELIVERY_MODE  106
#define HM_AMQP_VAR_TIMESTAMP      107


static hm_variable_t  hm_amqp_variables[] = {

    { hm_string("amqp_exchange"), hm_amqp_variable, HM_AMQP_VAR_EXCHANGE,
      HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_routing_key"), hm_amqp_variable,
      HM_AMQP_VAR_ROUTING_KEY, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_delivery_tag"), hm_amqp_variable,
      HM_AMQP_VAR_DELIVERY_TAG, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_redelivered"), hm_amqp_variable,
      HM_AMQP_VAR_REDELIVERED, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_queue"), hm_amqp_variable, HM_AMQP_VAR_QUEUE,
      HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_consumer_tag"), hm_amqp_variable,
      HM_AMQP_VAR_CONSUMER_TAG, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_delivery_mode"), hm_amqp_variable,
      HM_AMQP_VAR_DELIVERY_MODE, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_timestamp"), hm_amqp_variable, HM_AMQP_VAR_TIMESTAMP,
      HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_content_type"), hm_amqp_variable,
      HM_AMQP_PROP_CONTENT_TYPE, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_content_encoding"), hm_amqp_variable,
      HM_AMQP_PROP_CONTENT_ENCODING, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_priority"), hm_amqp_variable,
      HM_AMQP_PROP_PRIORITY, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_correlation_id"), hm_amqp_variable,
      HM_AMQP_PROP_CORRELATION_ID, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_reply_to"), hm_amqp_variable,
      HM_AMQP_PROP_REPLY_TO, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_expiration"), hm_amqp_variable,
      HM_AMQP_PROP_EXPIRATION, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_message_id"), hm_amqp_variable,
      HM_AMQP_PROP_MESSAGE_ID, HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_type"), hm_amqp_variable, HM_AMQP_PROP_TYPE,
      HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_user_id"), hm_amqp_variable, HM_AMQP_PROP_USER_ID,
      HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_app_id"), hm_amqp_variable, HM_AMQP_PROP_APP_ID,
      HM_VAR_AMQP, 0, 0, { NULL, NULL } },

    { hm_string("amqp_header_"), hm_amqp_variable_header, 0,
      HM_VAR_AMQP, HM_VAR_PREFIX, 0, { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


hm_int_t
hm_amqp_variables_add(hm_cycle_t *cycle)
{
    return hm_add_variables(cycle, hm_amqp_variables);
}


/* -- configuration --------------------------------------------------- */

void *
hm_amqp_consumer_create_conf(hm_conf_t *cf)
{
    hm_amqp_consumer_conf_t  *ccf;

    ccf = hm_pcalloc(cf->pool, sizeof(hm_amqp_consumer_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    if (hm_amqp_common_init(cf, &ccf->common) != HM_OK) {
        return NULL;
    }

    ccf->prefetch = HM_CONF_UNSET_UINT;
    ccf->on_failure = HM_CONF_UNSET_UINT;
    ccf->requeue_delay = HM_CONF_UNSET_MSEC;

    return ccf;
}


char *
hm_amqp_queue(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_amqp_consumer_conf_t  *ccf = conf;

    hm_str_t   *value, *q;
    hm_uint_t   i;

    if (ccf->queues == NULL) {
        ccf->queues = hm_array_create(cf->pool, 2, sizeof(hm_str_t));
        if (ccf->queues == NULL) {
            return HM_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0 || value[i].len > 255) {
            return "has an empty or too long queue name";
        }

        q = hm_array_push(ccf->queues);
        if (q == NULL) {
            return HM_CONF_ERROR;
        }

        *q = value[i];
    }

    return HM_CONF_OK;
}


char *
hm_amqp_consumer_init_conf(hm_conf_t *cf, hm_pipeline_inbound_t *ib)
{
    hm_amqp_consumer_conf_t  *ccf = ib->conf;

    char  *missing;

    if (hm_amqp_common_merge(cf, &ccf->common, "inbound", &ib->name)
        != HM_CONF_OK)
    {
        return HM_CONF_ERROR;
    }

    missing = (ccf->queues == NULL) ? "queue"
              : (ccf->pipeline == NULL) ? "pipeline" : NULL;

    if (missing) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ccf->common.where,
                        "inbound \"%V\" has no \"%s\"", &ib->name, missing);
        return HM_CONF_ERROR;
    }

    hm_conf_init_uint_value(ccf->prefetch, 100);
    hm_conf_init_uint_value(ccf->on_failure, HM_AMQP_FAIL_REQUEUE);
    hm_conf_init_msec_value(ccf->requeue_delay, 1000);

    if (ccf->prefetch == 0 || ccf->prefetch > 65535) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ccf->common.where,
                        "inbound \"%V\": \"prefetch\" must be 1..65535",
                        &ib->name);
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* -- the worker ------------------------------------------------------ */

hm_int_t
hm_amqp_consumer_init_process(hm_cycle_t *cycle, hm_pipeline_inbound_t *ib)
{
    hm_amqp_consumer_conf_t  *ccf = ib->conf;

    u_char               *p;
    hm_str_t             *q;
    hm_uint_t             i, n;
    hm_amqp_step_t       *steps, *st;
    amqp_basic_qos_t     *qos;
    hm_amqp_consumer_t   *cs;
    amqp_basic_consume_t *bc;

    cs = hm_pcalloc(cycle->pool, sizeof(hm_amqp_consumer_t));
    if (cs == NULL) {
        return HM_ERROR;
    }

    cs->ib = ib;
    cs->conf = ccf;
    cs->pool = cycle->pool;
    hm_queue_init(&cs->held);
    hm_queue_init(&cs->delayed);
    hm_queue_init(&cs->order);
    hm_queue_init(&cs->pending);
    hm_queue_init(&cs->free);

    cs->waiter.handler = hm_amqp_consumer_wake;
    cs->waiter.data = cs;

    /* the topology, basic.qos, a basic.consume per queue */

    steps = hm_amqp_topology_steps(cycle->pool, &ccf->common,
                                   1 + ccf->queues->nelts, &n);
    if (steps == NULL) {
        return HM_ERROR;
    }

    qos = hm_pcalloc(cycle->pool, sizeof(amqp_basic_qos_t));
    if (qos == NULL) {
        return HM_ERROR;
    }

    qos->prefetch_count = (uint16_t) ccf->prefetch;

    st = &steps[n++];
    st->id = AMQP_BASIC_QOS_METHOD;
    st->args = qos;
    st->reply = AMQP_BASIC_QOS_OK_METHOD;
    st->what = "basic.qos";

    cs->tags = hm_pcalloc(cycle->pool, ccf->queues->nelts * sizeof(hm_str_t));
    if (cs->tags == NULL) {
        return HM_ERROR;
    }

    q = ccf->queues->elts;

    for (i = 0; i < ccf->queues->nelts; i++) {
        bc = hm_pcalloc(cycle->pool, sizeof(amqp_basic_consume_t));
        p = hm_pnalloc(cycle->pool, sizeof("hermod-- \"\"") + 2 * HM_INT_T_LEN
                                    + q[i].len + sizeof("basic.consume"));
        if (bc == NULL || p == NULL) {
            return HM_ERROR;
        }

        cs->tags[i].data = p;
        cs->tags[i].len = hm_sprintf(p, "hermod-%P-%ui", hm_pid, i) - p;

        bc->queue = hm_amqp_bytes(&q[i]);
        bc->consumer_tag = hm_amqp_bytes(&cs->tags[i]);
        bc->no_ack = 0;

        st = &steps[n++];
        st->id = AMQP_BASIC_CONSUME_METHOD;
        st->args = bc;
        st->reply = AMQP_BASIC_CONSUME_OK_METHOD;

        p += cs->tags[i].len;
        *hm_sprintf(p, "basic.consume \"%V\"", &q[i]) = '\0';
        st->what = (const char *) p;
    }

    if (hm_amqp_conn_init(&cs->ac, cycle, &ccf->common, "inbound", &ib->name,
                          &hm_amqp_consumer_handlers, cs)
        != HM_OK)
    {
        return HM_ERROR;
    }

    cs->ac.steps = steps;
    cs->ac.nsteps = n;

    ib->data = cs;

    hm_amqp_connect(&cs->ac);

    return HM_OK;
}


void
hm_amqp_consumer_exit_process(hm_cycle_t *cycle, hm_pipeline_inbound_t *ib)
{
    hm_queue_t          *q;
    hm_amqp_delivery_t  *d;
    hm_amqp_consumer_t  *cs = ib->data;

    if (cs == NULL) {
        return;
    }

    hm_pipeline_wait_cancel(&cs->waiter);

    hm_amqp_drop_held(cs);

    while (!hm_queue_empty(&cs->delayed)) {
        q = hm_queue_head(&cs->delayed);
        d = hm_queue_data(q, hm_amqp_delivery_t, queue);
        hm_queue_remove(q);
        hm_msg_destroy(d->m);
    }

    if (cs->cur) {
        hm_destroy_pool(cs->cur->pool);
        cs->cur = NULL;
    }

    /* what is unacknowledged goes back to the queue with the connection */

    hm_amqp_conn_free(&cs->ac);

    ib->data = NULL;
}


/* -- the broker ------------------------------------------------------ */

static void
hm_amqp_consumer_ready(hm_amqp_conn_t *ac)
{
    hm_log_debug(&ac->log, "inbound \"%V\": consuming", ac->name);
}


static hm_int_t
hm_amqp_consumer_method(hm_amqp_conn_t *ac, amqp_method_number_t id,
    void *args)
{
    hm_amqp_consumer_t  *cs = ac->data;

    amqp_basic_cancel_t  *bc;

    switch (id) {

    case AMQP_BASIC_DELIVER_METHOD:
        return hm_amqp_deliver(cs, args);

    case AMQP_BASIC_CANCEL_METHOD:
        /* the broker cancelled a consumer: its queue was deleted */
        bc = args;

        if (cs->closing) {
            return HM_OK;
        }

        hm_amqp_fail(ac, "the broker cancelled consumer \"%*s\" (was its "
                     "queue deleted?)", bc->consumer_tag.len,
                     bc->consumer_tag.bytes);
        return HM_ERROR;

    default:
        hm_log_debug(&ac->log, "amqp: %s ignored", hm_amqp_method_name(id));
        return HM_OK;
    }
}


static hm_int_t
hm_amqp_deliver(hm_amqp_consumer_t *cs, amqp_basic_deliver_t *bd)
{
    hm_uint_t            i;
    hm_pool_t           *pool;
    hm_amqp_delivery_t  *d;

    if (cs->cur) {
        hm_amqp_fail(&cs->ac, "a delivery before the end of the previous");
        return HM_ERROR;
    }

    /*
     * The delivery has a pool of its own: it becomes a message only when
     * the pipeline has room, and the message then owns the pool.  Held
     * deliveries are bounded by prefetch.
     */

    pool = hm_create_pool(1024, &cs->ac.log);
    if (pool == NULL) {
        hm_amqp_fail(&cs->ac, "out of memory");
        return HM_ERROR;
    }

    d = hm_pcalloc(pool, sizeof(hm_amqp_delivery_t));
    if (d == NULL) {
        hm_destroy_pool(pool);
        hm_amqp_fail(&cs->ac, "out of memory");
        return HM_ERROR;
    }

    d->cs = cs;
    d->pool = pool;

    if (hm_queue_empty(&cs->free)) {
        d->node = hm_palloc(cs->pool, sizeof(hm_amqp_tag_t));
        if (d->node == NULL) {
            hm_destroy_pool(pool);
            hm_amqp_fail(&cs->ac, "out of memory");
            return HM_ERROR;
        }

    } else {
        d->node = hm_queue_data(hm_queue_head(&cs->free), hm_amqp_tag_t,
                                order);
        hm_queue_remove(&d->node->order);
    }

    d->node->tag = bd->delivery_tag;
    d->node->state = HM_AMQP_TAG_OUT;
    hm_queue_insert_tail(&cs->order, &d->node->order);
    d->tag = bd->delivery_tag;
    d->generation = cs->ac.generation;
    d->redelivered = bd->redelivered;

    d->exchange.len = bd->exchange.len;
    d->exchange.data = hm_pstrdup(pool, &(hm_str_t) {
                                      bd->exchange.len, bd->exchange.bytes });
    d->routing_key.len = bd->routing_key.len;
    d->routing_key.data = hm_pstrdup(pool, &(hm_str_t) {
                                      bd->routing_key.len,
                                      bd->routing_key.bytes });

    if ((bd->exchange.len && d->exchange.data == NULL)
        || (bd->routing_key.len && d->routing_key.data == NULL))
    {
        hm_destroy_pool(pool);
        hm_amqp_fail(&cs->ac, "out of memory");
        return HM_ERROR;
    }

    for (i = 0; i < cs->conf->queues->nelts; i++) {
        if (cs->tags[i].len == bd->consumer_tag.len
            && hm_strncmp(cs->tags[i].data, bd->consumer_tag.bytes,
                          bd->consumer_tag.len) == 0)
        {
            d->consumer_tag = cs->tags[i];
            d->queue_name = ((hm_str_t *) cs->conf->queues->elts)[i];
            break;
        }
    }

    cs->cur = d;
    cs->ac.in_content = 1;

    return HM_OK;
}


static hm_int_t
hm_amqp_consumer_header(hm_amqp_conn_t *ac, uint64_t size,
    amqp_basic_properties_t *props)
{
    hm_amqp_consumer_t  *cs = ac->data;

    u_char               *t;
    size_t                len;
    hm_str_t              name, value;
    hm_pool_t            *pool;
    hm_uint_t             i;
    amqp_bytes_t         *b;
    hm_msg_header_t      *h;
    hm_amqp_delivery_t   *d;
    amqp_table_entry_t   *te;

    d = cs->cur;
    pool = d->pool;

    if (size > (uint64_t) HM_MAX_SIZE_T_VALUE / 2) {
        hm_amqp_fail(ac, "a message of %uL bytes", size);
        return HM_ERROR;
    }

    d->flags = props->_flags;
    d->delivery_mode = props->delivery_mode;
    d->timestamp = props->timestamp;

    /* the string properties, copied */

    for (i = 0; i < sizeof(hm_amqp_str_props) / sizeof(hm_amqp_str_props[0]); i++) {
        if (!(props->_flags & hm_amqp_str_props[i].flag)) {
            continue;
        }

        b = (amqp_bytes_t *) ((char *) props + hm_amqp_str_props[i].offset);

        t = hm_pnalloc(pool, b->len + 1);
        if (t == NULL) {
            goto nomem;
        }

        hm_memcpy(t, b->bytes, b->len);
        t[b->len] = '\0';

        d->props[hm_amqp_str_props[i].index].data = t;
        d->props[hm_amqp_str_props[i].index].len = b->len;
    }

    if (props->_flags & AMQP_BASIC_PRIORITY_FLAG) {
        t = hm_pnalloc(pool, 4);
        if (t == NULL) {
            goto nomem;
        }

        d->props[HM_AMQP_PROP_PRIORITY].data = t;
        d->props[HM_AMQP_PROP_PRIORITY].len = hm_sprintf(t, "%ui",
                                              (hm_uint_t) props->priority)
                                              - t;
    }

    /* the headers that are text */

    if (hm_array_init(&d->headers, pool, 4, sizeof(hm_msg_header_t))
        != HM_OK)
    {
        goto nomem;
    }

    if (props->_flags & AMQP_BASIC_HEADERS_FLAG) {
        te = props->headers.entries;

        for (i = 0; i < (hm_uint_t) props->headers.num_entries; i++) {
            value.data = hm_amqp_field_text(pool, &te[i].value, &len);

            if (value.data == NULL) {
                /* tables, arrays (x-death): not text, left out */
                continue;
            }

            value.len = len;

            name.len = te[i].key.len;
            name.data = hm_pnalloc(pool, name.len + 1);
            if (name.data == NULL) {
                goto nomem;
            }

            hm_memcpy(name.data, te[i].key.bytes, name.len);
            name.data[name.len] = '\0';

            h = hm_array_push(&d->headers);
            if (h == NULL) {
                goto nomem;
            }

            h->name = name;
            h->value = value;
        }
    }

    d->size = (size_t) size;

    if (size) {
        d->body = hm_pnalloc(pool, d->size);
        if (d->body == NULL) {
            goto nomem;
        }

        return HM_OK;
    }

    return hm_amqp_delivered(cs, d);

nomem:

    hm_amqp_fail(ac, "out of memory");
    return HM_ERROR;
}


static hm_int_t
hm_amqp_consumer_body(hm_amqp_conn_t *ac, u_char *data, size_t len)
{
    hm_amqp_consumer_t  *cs = ac->data;

    hm_amqp_delivery_t  *d = cs->cur;

    if (d->body == NULL || len > d->size - d->got) {
        hm_amqp_fail(ac, "a body larger than its header said");
        return HM_ERROR;
    }

    hm_memcpy(d->body + d->got, data, len);
    d->got += len;

    if (d->got < d->size) {
        return HM_OK;
    }

    return hm_amqp_delivered(cs, d);
}


/* the whole delivery is in: a message now, or held until there is room */

static hm_int_t
hm_amqp_delivered(hm_amqp_consumer_t *cs, hm_amqp_delivery_t *d)
{
    cs->cur = NULL;
    cs->ac.in_content = 0;

    if (cs->closing) {
        /* not acknowledged: requeued when the connection closes */
        hm_destroy_pool(d->pool);
        return HM_OK;
    }

    if (!hm_queue_empty(&cs->held)
        || hm_pipeline_room(cs->conf->pipeline, d->size) != HM_OK)
    {
        hm_queue_insert_tail(&cs->held, &d->queue);
        hm_pipeline_wait(cs->conf->pipeline, &cs->waiter);
        return HM_OK;
    }

    hm_amqp_submit(cs, d);

    return HM_OK;
}


static void
hm_amqp_submit(hm_amqp_consumer_t *cs, hm_amqp_delivery_t *d)
{
    hm_str_t             name;
    hm_buf_t            *b;
    hm_msg_t            *m;
    hm_uint_t            i;
    hm_chain_t          *cl;
    hm_msg_header_t     *h;
    hm_pool_cleanup_t   *cln;

    m = hm_msg_create(cs->conf->pipeline, &cs->ac.log, d->size);
    if (m == NULL) {
        goto failed;
    }

    /* the message owns the delivery's pool from now on */

    cln = hm_pool_cleanup_add(m->pool, 0);
    if (cln == NULL) {
        hm_msg_destroy(m);
        goto failed;
    }

    cln->handler = hm_amqp_delivery_cleanup;
    cln->data = d->pool;

    d->m = m;

    if (d->size) {
        b = hm_calloc_buf(m->pool);
        cl = hm_alloc_chain_link(m->pool);
        if (b == NULL || cl == NULL) {
            goto nomem;
        }

        b->start = d->body;
        b->pos = b->start;
        b->last = b->start + d->size;
        b->end = b->last;
        b->memory = 1;
        b->last_buf = 1;

        cl->buf = b;
        cl->next = NULL;

        m->body = cl;
        m->body_len = d->size;
    }

    /* content type and encoding as message headers, then the headers */

    if (d->props[HM_AMQP_PROP_CONTENT_TYPE].len) {
        hm_str_set(&name, "content-type");

        if (hm_msg_header_add(m, &name, &d->props[HM_AMQP_PROP_CONTENT_TYPE])
            != HM_OK)
        {
            goto nomem;
        }
    }

    if (d->props[HM_AMQP_PROP_CONTENT_ENCODING].len) {
        hm_str_set(&name, "content-encoding");

        if (hm_msg_header_add(m, &name,
                              &d->props[HM_AMQP_PROP_CONTENT_ENCODING])
            != HM_OK)
        {
            goto nomem;
        }
    }

    h = d->headers.elts;

    for (i = 0; i < d->headers.nelts; i++) {
        if (hm_msg_header_add(m, &h[i].name, &h[i].value) != HM_OK) {
            goto nomem;
        }
    }

    m->key = d->routing_key;
    m->id = d->props[HM_AMQP_PROP_MESSAGE_ID];

    m->vs.ctx = d;
    m->vs.kind = HM_VAR_AMQP;
    hm_str_set(&m->source.name, "amqp");
    m->source.var_kind = HM_VAR_AMQP;
    m->source.ctx = d;

    m->ack = hm_amqp_consumer_ack;
    m->ack_data = d;

    cs->outstanding++;

    hm_pipeline_submit(m);

    return;

nomem:

    /* the pool goes with the message: answer first */

    hm_log_error(HM_LOG_ERR, &cs->ac.log, 0,
                 "inbound \"%V\": out of memory, delivery requeued",
                 &cs->ib->name);

    hm_amqp_answer(cs, d, AMQP_BASIC_NACK_METHOD);
    hm_msg_destroy(m);
    return;

failed:

    hm_log_error(HM_LOG_ERR, &cs->ac.log, 0,
                 "inbound \"%V\": out of memory, delivery requeued",
                 &cs->ib->name);

    hm_amqp_answer(cs, d, AMQP_BASIC_NACK_METHOD);
    hm_destroy_pool(d->pool);
}


static void
hm_amqp_delivery_cleanup(void *data)
{
    hm_destroy_pool(data);
}


static void
hm_amqp_consumer_wake(hm_pipeline_waiter_t *w)
{
    hm_amqp_consumer_t  *cs = w->data;

    hm_queue_t          *q;
    hm_amqp_delivery_t  *d;

    while (!hm_queue_empty(&cs->held)) {
        q = hm_queue_head(&cs->held);
        d = hm_queue_data(q, hm_amqp_delivery_t, queue);

        if (hm_pipeline_room(cs->conf->pipeline, d->size) != HM_OK) {
            hm_pipeline_wait(cs->conf->pipeline, &cs->waiter);
            return;
        }

        hm_queue_remove(q);

        hm_amqp_submit(cs, d);
    }
}


/* -- settling -------------------------------------------------------- */

static void
hm_amqp_consumer_ack(hm_msg_t *m)
{
    hm_amqp_delivery_t  *d = m->ack_data;
    hm_amqp_consumer_t  *cs = d->cs;

    cs->outstanding--;

    if (m->outcome != HM_MSG_FAILED) {
        hm_amqp_answer(cs, d, AMQP_BASIC_ACK_METHOD);
        hm_msg_destroy(m);
        hm_amqp_consumer_maybe_close(cs);
        return;
    }

    if (cs->conf->on_failure == HM_AMQP_FAIL_REJECT) {
        hm_log_error(HM_LOG_WARN, &cs->ac.log, 0,
                     "inbound \"%V\": message %V failed (%V): rejected",
                     &cs->ib->name, &m->id, &m->error);

        hm_amqp_answer(cs, d, AMQP_BASIC_REJECT_METHOD);
        hm_msg_destroy(m);
        hm_amqp_consumer_maybe_close(cs);
        return;
    }

    hm_log_error(HM_LOG_WARN, &cs->ac.log, 0,
                 "inbound \"%V\": message %V failed (%V): requeued in %Mms",
                 &cs->ib->name, &m->id, &m->error, cs->conf->requeue_delay);

    if (cs->conf->requeue_delay == 0 || cs->closing) {
        hm_amqp_answer(cs, d, AMQP_BASIC_NACK_METHOD);
        hm_msg_destroy(m);
        hm_amqp_consumer_maybe_close(cs);
        return;
    }

    /* held unacknowledged for a while: a failing outbound is not spun */

    d->delay.handler = hm_amqp_requeue_handler;
    d->delay.data = d;
    d->delay.log = &cs->ac.log;
    d->delay.cancelable = 1;

    hm_queue_insert_tail(&cs->delayed, &d->queue);
    hm_event_add_timer(&d->delay, cs->conf->requeue_delay);
}


static void
hm_amqp_requeue_handler(hm_event_t *ev)
{
    hm_amqp_delivery_t  *d = ev->data;
    hm_amqp_consumer_t  *cs = d->cs;

    hm_queue_remove(&d->queue);

    hm_amqp_answer(cs, d, AMQP_BASIC_NACK_METHOD);
    hm_msg_destroy(d->m);

    hm_amqp_consumer_maybe_close(cs);
}


/*
 * ack (gathered, sent with the next flush), nack (requeue) or reject (sent
 * now), on the channel the delivery came on
 */

static void
hm_amqp_answer(hm_amqp_consumer_t *cs, hm_amqp_delivery_t *d,
    amqp_method_number_t id)
{
    amqp_basic_nack_t    nack;
    amqp_basic_reject_t  reject;

    if (d->generation != cs->ac.generation
        || (cs->ac.state != HM_AMQP_READY && cs->ac.state != HM_AMQP_CLOSING))
    {
        /* that channel is gone: the broker requeued the delivery */
        return;
    }

    switch (id) {

    case AMQP_BASIC_ACK_METHOD:
        d->node->state = HM_AMQP_TAG_ACK;
        hm_queue_insert_tail(&cs->pending, &d->node->pending);
        break;

    case AMQP_BASIC_NACK_METHOD:
        nack.delivery_tag = d->tag;
        nack.multiple = 0;
        nack.requeue = 1;
        d->node->state = HM_AMQP_TAG_DONE;
        (void) hm_amqp_send_method(&cs->ac, id, &nack);
        break;

    default:
        reject.delivery_tag = d->tag;
        reject.requeue = 0;
        d->node->state = HM_AMQP_TAG_DONE;
        (void) hm_amqp_send_method(&cs->ac, id, &reject);
        break;
    }

    hm_amqp_flush(&cs->ac);
}


/* before the output is written: the gathered acknowledgements */

static void
hm_amqp_consumer_flush(hm_amqp_conn_t *ac)
{
    hm_amqp_consumer_t  *cs = ac->data;

    uint64_t          last;
    hm_queue_t       *q;
    hm_amqp_tag_t    *node;
    amqp_basic_ack_t  ack;

    if (ac->state != HM_AMQP_READY && ac->state != HM_AMQP_CLOSING) {
        return;
    }

    /* the settled run at the head: one basic.ack with multiple */

    last = 0;

    while (!hm_queue_empty(&cs->order)) {
        q = hm_queue_head(&cs->order);
        node = hm_queue_data(q, hm_amqp_tag_t, order);

        if (node->state == HM_AMQP_TAG_OUT) {
            break;
        }

        if (node->state == HM_AMQP_TAG_ACK) {
            hm_queue_remove(&node->pending);
            last = node->tag;
        }

        hm_queue_remove(q);
        hm_queue_insert_tail(&cs->free, q);
    }

    if (last) {
        ack.delivery_tag = last;
        ack.multiple = 1;
        cs->acks++;

        if (hm_amqp_send_method(ac, AMQP_BASIC_ACK_METHOD, &ack) != HM_OK) {
            return;
        }
    }

    /* behind one still in flight: one by one */

    while (!hm_queue_empty(&cs->pending)) {
        q = hm_queue_head(&cs->pending);
        node = hm_queue_data(q, hm_amqp_tag_t, pending);

        hm_queue_remove(q);
        node->state = HM_AMQP_TAG_DONE;

        ack.delivery_tag = node->tag;
        ack.multiple = 0;
        cs->acks++;

        if (hm_amqp_send_method(ac, AMQP_BASIC_ACK_METHOD, &ack) != HM_OK) {
            return;
        }
    }
}


/* a new channel: its tags start again */

static void
hm_amqp_tags_reset(hm_amqp_consumer_t *cs)
{
    hm_queue_t  *q;

    while (!hm_queue_empty(&cs->order)) {
        q = hm_queue_head(&cs->order);
        hm_queue_remove(q);
        hm_queue_insert_tail(&cs->free, q);
    }

    hm_queue_init(&cs->pending);
}


/* -- connection loss and stop ---------------------------------------- */

static void
hm_amqp_consumer_down(hm_amqp_conn_t *ac)
{
    hm_amqp_consumer_t  *cs = ac->data;

    if (cs->cur) {
        hm_destroy_pool(cs->cur->pool);
        cs->cur = NULL;
    }

    /* held: never submitted, the broker has them again */

    hm_pipeline_wait_cancel(&cs->waiter);
    hm_amqp_drop_held(cs);
    hm_amqp_tags_reset(cs);

    if (cs->outstanding) {
        hm_log_error(HM_LOG_WARN, &ac->log, 0,
                     "inbound \"%V\": %ui messages in flight were requeued "
                     "by the broker and may be delivered twice",
                     &cs->ib->name, cs->outstanding);
    }
}


static void
hm_amqp_drop_held(hm_amqp_consumer_t *cs)
{
    hm_queue_t          *q;
    hm_amqp_delivery_t  *d;

    while (!hm_queue_empty(&cs->held)) {
        q = hm_queue_head(&cs->held);
        d = hm_queue_data(q, hm_amqp_delivery_t, queue);
        hm_queue_remove(q);
        hm_destroy_pool(d->pool);
    }
}


/* a graceful stop: cancel the consumers, settle what is in, then close */

static void
hm_amqp_consumer_stop(hm_amqp_conn_t *ac)
{
    hm_amqp_consumer_t  *cs = ac->data;

    hm_uint_t            i;
    amqp_basic_cancel_t  bc;

    if (cs->closing) {
        hm_amqp_consumer_maybe_close(cs);
        return;
    }

    cs->closing = 1;

    hm_pipeline_wait_cancel(&cs->waiter);
    hm_amqp_drop_held(cs);

    if (ac->state == HM_AMQP_READY) {
        for (i = 0; i < cs->conf->queues->nelts; i++) {
            bc.consumer_tag = hm_amqp_bytes(&cs->tags[i]);
            bc.nowait = 1;
            (void) hm_amqp_send_method(ac, AMQP_BASIC_CANCEL_METHOD, &bc);
        }

        hm_amqp_flush(ac);
    }

    if (cs->outstanding || !hm_queue_empty(&cs->delayed)) {
        hm_log_error(HM_LOG_INFO, &ac->log, 0,
                     "inbound \"%V\": stopping, %ui messages in flight",
                     &cs->ib->name, cs->outstanding);
    }

    hm_amqp_consumer_maybe_close(cs);
}


static void
hm_amqp_consumer_maybe_close(hm_amqp_consumer_t *cs)
{
    hm_queue_t          *q;
    hm_amqp_delivery_t  *d;

    if (!cs->closing || cs->outstanding) {
        return;
    }

    /* the delayed requeues go now */

    while (!hm_queue_empty(&cs->delayed)) {
        q = hm_queue_head(&cs->delayed);
        d = hm_queue_data(q, hm_amqp_delivery_t, queue);
        hm_queue_remove(q);

        if (d->delay.timer_set) {
            hm_event_del_timer(&d->delay);
        }

        hm_amqp_answer(cs, d, AMQP_BASIC_NACK_METHOD);
        hm_msg_destroy(d->m);
    }

    if (cs->ac.state == HM_AMQP_READY) {
        hm_amqp_consumer_flush(&cs->ac);
        hm_amqp_close(&cs->ac);

    } else if (cs->ac.state == HM_AMQP_DOWN || cs->ac.state
                                                == HM_AMQP_CONNECTING)
    {
        hm_amqp_conn_free(&cs->ac);
    }
}


/* -- variables ------------------------------------------------------- */

static hm_int_t
hm_amqp_variable(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_amqp_delivery_t  *d = ctx;

    u_char    *p;
    uint64_t   n;
    hm_str_t  *s;

    s = NULL;

    switch (data) {

    case HM_AMQP_VAR_EXCHANGE:
        s = &d->exchange;
        break;

    case HM_AMQP_VAR_ROUTING_KEY:
        s = &d->routing_key;
        break;

    case HM_AMQP_VAR_QUEUE:
        s = &d->queue_name;
        break;

    case HM_AMQP_VAR_CONSUMER_TAG:
        s = &d->consumer_tag;
        break;

    case HM_AMQP_VAR_REDELIVERED:
        v->data = (u_char *) (d->redelivered ? "true" : "false");
        v->len = d->redelivered ? 4 : 5;
        return HM_OK;

    case HM_AMQP_VAR_DELIVERY_TAG:
        n = d->tag;
        goto number;

    case HM_AMQP_VAR_DELIVERY_MODE:
        if (!(d->flags & AMQP_BASIC_DELIVERY_MODE_FLAG)) {
            v->not_found = 1;
            return HM_OK;
        }

        n = d->delivery_mode;
        goto number;

    case HM_AMQP_VAR_TIMESTAMP:
        if (!(d->flags & AMQP_BASIC_TIMESTAMP_FLAG)) {
            v->not_found = 1;
            return HM_OK;
        }

        n = d->timestamp;
        goto number;

    default:
        if (data < HM_AMQP_PROP_N) {
            s = &d->props[data];
        }

        break;
    }

    if (s == NULL || s->data == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    v->data = s->data;
    v->len = s->len;

    return HM_OK;

number:

    p = hm_pnalloc(pool, HM_INT64_LEN);
    if (p == NULL) {
        return HM_ERROR;
    }

    v->data = p;
    v->len = hm_sprintf(p, "%uL", n) - p;

    return HM_OK;
}


/* "$amqp_header_x_trace": the AMQP header "x-trace", else "x_trace" */

static hm_int_t
hm_amqp_variable_header(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_amqp_delivery_t  *d = ctx;

    hm_msg_header_t  *h;

    h = hm_msg_headers_variable(&d->headers, (hm_str_t *) data);

    if (h == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    v->data = h->value.data;
    v->len = h->value.len;

    return HM_OK;
}
