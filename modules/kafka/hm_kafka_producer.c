/*
 * Copyright (C) hermod authors
 *
 * The Kafka outbound: a librdkafka producer per worker.
 *
 * send() evaluates the topic and key, maps the headers and produces the
 * body (copied by librdkafka: a cancelled send may outlive its message);
 * the message is delivered when its delivery report says so.  Reports
 * are served by rd_kafka_poll() in the worker's thread when the main
 * queue's pipe becomes readable.  A full queue, or max_in_flight reports
 * pending, answers HM_BUSY; the pipeline is told when reports free room.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_kafka.h>


typedef struct hm_kafka_send_s  hm_kafka_send_t;
typedef struct hm_kafka_producer_s  hm_kafka_producer_t;

/* one per produced record, until its report: m is NULL once cancelled */
struct hm_kafka_send_s {
    hm_msg_t                    *m;
    hm_kafka_producer_t         *kp;
    hm_kafka_send_t             *next;     /* the free list */
};


struct hm_kafka_producer_s {
    hm_log_t                    *log;      /* first: see hm_kafka_log() */
    rd_kafka_t                  *rk;
    rd_kafka_queue_t            *main_q;
    rd_kafka_queue_t            *admin_q;  /* ensure_topic results */
    hm_kafka_io_t                io;
    hm_pipeline_outbound_t      *ob;
    hm_pool_t                   *pool;
    hm_kafka_send_t             *free;
    hm_uint_t                    in_flight;
    hm_uint_t                    max;

    unsigned                     refused:1;
    unsigned                     closing:1;
    unsigned                     exiting:1;
};


static hm_int_t hm_kafka_producer_properties(hm_conf_t *cf,
    hm_kafka_producer_conf_t *pcf);
static void hm_kafka_producer_handler(hm_event_t *ev);
static void hm_kafka_producer_poll(hm_kafka_producer_t *kp);
static void hm_kafka_producer_close(hm_kafka_producer_t *kp);
static void hm_kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
    void *opaque);
static hm_int_t hm_kafka_dr_error(hm_msg_t *m, rd_kafka_resp_err_t err);
static rd_kafka_headers_t *hm_kafka_headers(hm_msg_t *m);
static hm_int_t hm_kafka_producer_io(hm_kafka_producer_t *kp);
static void hm_kafka_ensure_topics(hm_kafka_producer_t *kp,
    hm_kafka_producer_conf_t *pcf);
static void hm_kafka_ensure_result(hm_kafka_producer_t *kp);


void *
hm_kafka_producer_create_conf(hm_conf_t *cf)
{
    hm_kafka_producer_conf_t  *pcf;

    pcf = hm_pcalloc(cf->pool, sizeof(hm_kafka_producer_conf_t));
    if (pcf == NULL) {
        return NULL;
    }

    if (hm_kafka_common_init(cf, &pcf->common) != HM_OK) {
        return NULL;
    }

    pcf->headers = HM_CONF_UNSET;
    pcf->acks = HM_CONF_UNSET_UINT;
    pcf->idempotence = HM_CONF_UNSET;
    pcf->compression = HM_CONF_UNSET_UINT;
    pcf->linger = HM_CONF_UNSET_MSEC;
    pcf->batch_size = HM_CONF_UNSET_SIZE;
    pcf->max_in_flight = HM_CONF_UNSET_UINT;

    return pcf;
}


char *
hm_kafka_producer_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob)
{
    hm_kafka_producer_conf_t  *pcf = ob->conf;

    if (pcf->common.brokers.data == NULL) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &pcf->common.where,
                        "outbound \"%V\" has no \"brokers\"", &ob->name);
        return HM_CONF_ERROR;
    }

    if (pcf->topic == NULL) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &pcf->common.where,
                        "outbound \"%V\" has no \"topic\"", &ob->name);
        return HM_CONF_ERROR;
    }

    if (pcf->topic->parts == NULL) {
        pcf->topic_plain = pcf->topic->value.data;   /* NUL-terminated */
    }

    hm_conf_init_value(pcf->headers, 1);
    hm_conf_init_uint_value(pcf->acks, HM_KAFKA_ACKS_ALL);
    hm_conf_init_value(pcf->idempotence, 1);
    hm_conf_init_uint_value(pcf->max_in_flight, 10000);

    if (pcf->max_in_flight == 0) {
        pcf->max_in_flight = 1;
    }

    if (pcf->idempotence && pcf->acks != HM_KAFKA_ACKS_ALL) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &pcf->common.where,
                        "outbound \"%V\": \"idempotence on\" needs "
                        "\"acks all\"", &ob->name);
        return HM_CONF_ERROR;
    }

    if (hm_kafka_producer_properties(cf, pcf) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_kafka_producer_properties(hm_conf_t *cf, hm_kafka_producer_conf_t *pcf)
{
    u_char            buf[HM_INT64_LEN + 1];
    rd_kafka_conf_t  *rkconf = pcf->common.rkconf;

    static char  *acks[] = { "all", "0", "1" };
    static char  *codecs[] = { "none", "gzip", "snappy", "lz4", "zstd" };

    if (hm_kafka_conf_set(cf, rkconf, "acks", acks[pcf->acks]) != HM_OK
        || hm_kafka_conf_set(cf, rkconf, "enable.idempotence",
                             pcf->idempotence ? "true" : "false")
           != HM_OK)
    {
        return HM_ERROR;
    }

    if (pcf->compression != HM_CONF_UNSET_UINT
        && hm_kafka_conf_set(cf, rkconf, "compression.codec",
                             codecs[pcf->compression])
           != HM_OK)
    {
        return HM_ERROR;
    }

    if (pcf->partitioner.data
        && hm_kafka_conf_set(cf, rkconf, "partitioner",
                             (char *) pcf->partitioner.data)
           != HM_OK)
    {
        return HM_ERROR;
    }

    if (pcf->linger != HM_CONF_UNSET_MSEC) {
        *hm_sprintf(buf, "%M", pcf->linger) = '\0';

        if (hm_kafka_conf_set(cf, rkconf, "linger.ms", (char *) buf)
            != HM_OK)
        {
            return HM_ERROR;
        }
    }

    if (pcf->batch_size != HM_CONF_UNSET_SIZE) {
        *hm_sprintf(buf, "%uz", pcf->batch_size) = '\0';

        if (hm_kafka_conf_set(cf, rkconf, "batch.size", (char *) buf)
            != HM_OK)
        {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


/* ensure_topic NAME [partitions=N] */

char *
hm_kafka_ensure_topic(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_kafka_producer_conf_t  *pcf = conf;

    hm_str_t               *value;
    hm_kafka_topic_spec_t  *t;

    value = cf->args->elts;

    if (pcf->ensure == NULL) {
        pcf->ensure = hm_array_create(cf->pool, 2,
                                      sizeof(hm_kafka_topic_spec_t));
        if (pcf->ensure == NULL) {
            return HM_CONF_ERROR;
        }
    }

    t = hm_array_push(pcf->ensure);
    if (t == NULL) {
        return HM_CONF_ERROR;
    }

    t->name = value[1];
    t->partitions = 1;

    if (cf->args->nelts == 3) {
        if (value[2].len <= sizeof("partitions=") - 1
            || hm_strncmp(value[2].data, "partitions=",
                          sizeof("partitions=") - 1) != 0)
        {
            return "takes \"partitions=N\" as its second argument";
        }

        t->partitions = hm_atoi(value[2].data + sizeof("partitions=") - 1,
                                value[2].len - (sizeof("partitions=") - 1));

        if (t->partitions <= 0) {
            return "has an invalid number of partitions";
        }
    }

    return HM_CONF_OK;
}


/* -- the worker ------------------------------------------------------ */

hm_int_t
hm_kafka_producer_init_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_kafka_producer_conf_t  *pcf = ob->conf;

    rd_kafka_conf_t      *rkconf;
    hm_kafka_producer_t  *kp;

    kp = hm_pcalloc(cycle->pool, sizeof(hm_kafka_producer_t));
    if (kp == NULL) {
        return HM_ERROR;
    }

    kp->log = cycle->log;
    kp->ob = ob;
    kp->pool = cycle->pool;
    kp->max = pcf->max_in_flight;
    kp->io.wfd = -1;

    rkconf = rd_kafka_conf_dup(pcf->common.rkconf);
    if (rkconf == NULL) {
        return HM_ERROR;
    }

    rd_kafka_conf_set_dr_msg_cb(rkconf, hm_kafka_dr_cb);

    kp->rk = hm_kafka_client(cycle, &pcf->common, RD_KAFKA_PRODUCER, rkconf,
                             kp);
    if (kp->rk == NULL) {
        return HM_ERROR;
    }

    kp->main_q = rd_kafka_queue_get_main(kp->rk);

    if (hm_kafka_producer_io(kp) != HM_OK) {
        return HM_ERROR;
    }

    ob->data = kp;

    if (pcf->ensure) {
        hm_kafka_ensure_topics(kp, pcf);
    }

    return HM_OK;
}


static hm_int_t
hm_kafka_producer_io(hm_kafka_producer_t *kp)
{
    if (hm_kafka_io_open(&kp->io, kp->main_q, kp->log,
                         hm_kafka_producer_handler, kp)
        != HM_OK)
    {
        return HM_ERROR;
    }

    if (kp->admin_q) {
        (void) hm_kafka_io_add(&kp->io, kp->admin_q);
    }

    /* anything queued before the pipe was there */

    hm_post_event(kp->io.c->read, &hm_posted_events);

    return HM_OK;
}


/*
 * At exit: what could be flushed in a graceful stop was (the connection
 * stayed open until no report was pending); wait a little more for what
 * came late, ignoring the messages (the pipeline is gone), then destroy.
 */

void
hm_kafka_producer_exit_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_kafka_producer_t  *kp = ob->data;

    if (kp == NULL || kp->rk == NULL) {
        return;
    }

    kp->exiting = 1;

    hm_kafka_producer_close(kp);

    if (kp->admin_q) {
        rd_kafka_queue_destroy(kp->admin_q);
        kp->admin_q = NULL;
    }

    if (rd_kafka_outq_len(kp->rk) > 0) {
        hm_log_error(HM_LOG_NOTICE, cycle->log, 0,
                     "outbound \"%V\": %d kafka messages still queued "
                     "at exit, flushing for up to 1s",
                     &ob->name, rd_kafka_outq_len(kp->rk));

        (void) rd_kafka_flush(kp->rk, 1000);
    }

    rd_kafka_queue_destroy(kp->main_q);
    rd_kafka_destroy(kp->rk);

    kp->rk = NULL;
    ob->data = NULL;
}


static void
hm_kafka_producer_handler(hm_event_t *ev)
{
    hm_connection_t      *c = ev->data;
    hm_kafka_producer_t  *kp = c->data;

    if (c->close) {
        kp->closing = 1;

        if (c->error) {
            /* worker_shutdown_timeout: exit_process flushes briefly */
            hm_kafka_producer_close(kp);
            return;
        }
    }

    hm_kafka_io_drain(&kp->io);
    hm_kafka_producer_poll(kp);
}


static void
hm_kafka_producer_poll(hm_kafka_producer_t *kp)
{
    while (rd_kafka_poll(kp->rk, 0) > 0) {
        /* void */
    }

    if (kp->admin_q) {
        hm_kafka_ensure_result(kp);
    }

    if (kp->refused && kp->in_flight < kp->max) {
        kp->refused = 0;
        hm_pipeline_outbound_ready(kp->ob);
    }

    /* a graceful stop: once nothing is pending, the worker may exit */

    if (kp->closing && kp->in_flight == 0) {
        hm_kafka_producer_close(kp);
    }
}


static void
hm_kafka_producer_close(hm_kafka_producer_t *kp)
{
    if (kp->io.c == NULL) {
        return;
    }

    if (kp->admin_q) {
        rd_kafka_queue_io_event_enable(kp->admin_q, -1, NULL, 0);
    }

    hm_kafka_io_close(&kp->io, kp->main_q);
}


/* -- send ------------------------------------------------------------ */

hm_int_t
hm_kafka_producer_send(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_kafka_producer_conf_t  *pcf = ob->conf;
    hm_kafka_producer_t       *kp = ob->data;

    char                 *topic;
    hm_str_t              t, key, body;
    hm_kafka_send_t      *ks;
    rd_kafka_resp_err_t   err;
    rd_kafka_headers_t   *hdrs;

    if (kp->in_flight >= kp->max) {
        kp->refused = 1;
        return HM_BUSY;
    }

    if (kp->io.c == NULL) {
        /* a message after a graceful stop closed the queue: reopen it */
        if (hm_kafka_producer_io(kp) != HM_OK) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "kafka queue failed");
            return HM_RETRY;
        }
    }

    topic = (char *) pcf->topic_plain;

    if (topic == NULL) {
        if (hm_complex_value(m, m->pool, pcf->topic, &t) != HM_OK
            || (topic = hm_pnalloc(m->pool, t.len + 1)) == NULL)
        {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_ERROR;
        }

        *hm_cpymem(topic, t.data, t.len) = '\0';
    }

    key = m->key;

    if (pcf->key && hm_complex_value(m, m->pool, pcf->key, &key) != HM_OK) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    if (hm_msg_body_flat(m, &body) != HM_OK) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    hdrs = NULL;

    if (pcf->headers && m->headers.nelts) {
        hdrs = hm_kafka_headers(m);
        if (hdrs == NULL) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_ERROR;
        }
    }

    ks = kp->free;

    if (ks) {
        kp->free = ks->next;

    } else {
        ks = hm_palloc(kp->pool, sizeof(hm_kafka_send_t));
        if (ks == NULL) {
            if (hdrs) {
                rd_kafka_headers_destroy(hdrs);
            }

            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_ERROR;
        }
    }

    ks->m = m;
    ks->kp = kp;

    err = rd_kafka_producev(kp->rk,
                            RD_KAFKA_V_TOPIC(topic),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_VALUE(body.data, body.len),
                            RD_KAFKA_V_KEY(key.len ? key.data : NULL,
                                           key.len),
                            RD_KAFKA_V_HEADERS(hdrs),
                            RD_KAFKA_V_OPAQUE(ks),
                            RD_KAFKA_V_END);

    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        kp->in_flight++;
        m->send_data = ks;
        return HM_AGAIN;
    }

    /* not taken: the headers are still ours */

    if (hdrs) {
        rd_kafka_headers_destroy(hdrs);
    }

    ks->next = kp->free;
    kp->free = ks;

    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && kp->in_flight) {
        kp->refused = 1;
        return HM_BUSY;
    }

    hm_msg_set_error(m, HM_MSG_ERR_ERROR, "kafka produce to \"%s\" failed: %s",
                     topic, rd_kafka_err2str(err));

    return (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) ? HM_RETRY : HM_ERROR;
}


static rd_kafka_headers_t *
hm_kafka_headers(hm_msg_t *m)
{
    hm_uint_t            i;
    hm_msg_header_t     *h;
    rd_kafka_headers_t  *hdrs;

    h = m->headers.elts;

    hdrs = rd_kafka_headers_new(m->headers.nelts);
    if (hdrs == NULL) {
        return NULL;
    }

    for (i = 0; i < m->headers.nelts; i++) {
        if (rd_kafka_header_add(hdrs, (char *) h[i].name.data, h[i].name.len,
                                h[i].value.data, h[i].value.len)
            != RD_KAFKA_RESP_ERR_NO_ERROR)
        {
            rd_kafka_headers_destroy(hdrs);
            return NULL;
        }
    }

    return hdrs;
}


/* librdkafka cannot take a record back: its report will be ignored */

void
hm_kafka_producer_cancel(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_kafka_send_t  *ks = m->send_data;

    if (ks) {
        ks->m = NULL;
        m->send_data = NULL;
    }
}


/* a delivery report, served by rd_kafka_poll() in the worker */

static void
hm_kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    hm_int_t              rc;
    hm_msg_t             *m;
    hm_kafka_send_t      *ks = rkm->_private;
    hm_kafka_producer_t  *kp = opaque;

    kp->in_flight--;

    m = ks->m;

    ks->next = kp->free;
    kp->free = ks;

    if (m == NULL || kp->exiting) {
        return;
    }

    m->send_data = NULL;

    if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        hm_pipeline_send_done(m, HM_OK);
        return;
    }

    rc = hm_kafka_dr_error(m, rkm->err);

    hm_pipeline_send_done(m, rc);
}


static hm_int_t
hm_kafka_dr_error(hm_msg_t *m, rd_kafka_resp_err_t err)
{
    hm_uint_t  class;

    switch (err) {

    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        class = HM_MSG_ERR_TIMEOUT;
        break;

    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
        class = HM_MSG_ERR_CONNECT;
        break;

    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
        class = HM_MSG_ERR_NACK;
        break;

    default:
        hm_msg_set_error(m, HM_MSG_ERR_ERROR, "kafka delivery failed: %s",
                         rd_kafka_err2str(err));
        return HM_ERROR;
    }

    hm_msg_set_error(m, class, "kafka delivery failed: %s",
                     rd_kafka_err2str(err));

    return HM_RETRY;
}


/* -- ensure_topic ---------------------------------------------------- */

static void
hm_kafka_ensure_topics(hm_kafka_producer_t *kp,
    hm_kafka_producer_conf_t *pcf)
{
    char                    err[256];
    hm_uint_t               i;
    rd_kafka_NewTopic_t   **nt;
    hm_kafka_topic_spec_t  *t;

    t = pcf->ensure->elts;

    nt = hm_pcalloc(kp->pool, pcf->ensure->nelts * sizeof(void *));
    if (nt == NULL) {
        return;
    }

    for (i = 0; i < pcf->ensure->nelts; i++) {
        nt[i] = rd_kafka_NewTopic_new((char *) t[i].name.data,
                                      (int) t[i].partitions, -1,
                                      err, sizeof(err));
        if (nt[i] == NULL) {
            hm_log_error(HM_LOG_WARN, kp->log, 0,
                         "ensure_topic \"%V\": %s", &t[i].name, err);
            goto done;
        }
    }

    kp->admin_q = rd_kafka_queue_new(kp->rk);
    (void) hm_kafka_io_add(&kp->io, kp->admin_q);

    rd_kafka_CreateTopics(kp->rk, nt, pcf->ensure->nelts, NULL, kp->admin_q);

done:

    while (i--) {
        rd_kafka_NewTopic_destroy(nt[i]);
    }
}


static void
hm_kafka_ensure_result(hm_kafka_producer_t *kp)
{
    size_t                          i, n;
    rd_kafka_event_t               *ev;
    rd_kafka_resp_err_t             err;
    const rd_kafka_topic_result_t **tr;
    const rd_kafka_CreateTopics_result_t  *res;

    ev = rd_kafka_queue_poll(kp->admin_q, 0);
    if (ev == NULL) {
        return;
    }

    res = rd_kafka_event_CreateTopics_result(ev);

    if (res == NULL || rd_kafka_event_error(ev)) {
        hm_log_error(HM_LOG_WARN, kp->log, 0,
                     "outbound \"%V\": ensure_topic: CreateTopics failed: %s",
                     &kp->ob->name, rd_kafka_event_error_string(ev));
        goto done;
    }

    tr = rd_kafka_CreateTopics_result_topics(res, &n);

    for (i = 0; i < n; i++) {
        err = rd_kafka_topic_result_error(tr[i]);

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR
            || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        {
            hm_log_error(HM_LOG_INFO, kp->log, 0,
                         "outbound \"%V\": topic \"%s\" %s", &kp->ob->name,
                         rd_kafka_topic_result_name(tr[i]),
                         err ? "exists" : "created");
            continue;
        }

        hm_log_error(HM_LOG_WARN, kp->log, 0,
                     "outbound \"%V\": ensure_topic \"%s\" refused: %s",
                     &kp->ob->name, rd_kafka_topic_result_name(tr[i]),
                     rd_kafka_topic_result_error_string(tr[i]));
    }

done:

    rd_kafka_event_destroy(ev);

    rd_kafka_queue_io_event_enable(kp->admin_q, -1, NULL, 0);
    rd_kafka_queue_destroy(kp->admin_q);
    kp->admin_q = NULL;
}
