/*
 * Copyright (C) hermod authors
 *
 * The Kafka inbound: one consumer group member per worker.
 *
 * Each record becomes a message whose body points into the record (kept
 * until the message settled).  Per assigned partition the records in
 * flight are kept in offset order; the committable offset is the lowest
 * unsettled one, or the last taken + 1.  A record that FAILED holds its
 * partition's commit where it is, so that a restart consumes it again.
 * Offsets are committed every commit_interval (asynchronously), on
 * revoke and on a graceful stop (synchronously).  A full pipeline pauses
 * the whole assignment; the record that found no room is kept and taken
 * first when the pipeline has room again.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_kafka.h>


typedef struct hm_kafka_consumer_s  hm_kafka_consumer_t;
typedef struct hm_kafka_part_s  hm_kafka_part_t;
typedef struct hm_kafka_pend_s  hm_kafka_pend_t;


struct hm_kafka_part_s {
    char                        *topic;
    int32_t                      partition;
    hm_queue_t                   inflight;  /* of hm_kafka_rec_t, by offset */
    int64_t                      next;      /* last taken + 1, -1: none */
    int64_t                      hold;      /* a failed record, -1: none */
    int64_t                      committed; /* last commit sent, -1: none */
    hm_kafka_part_t             *link;
    unsigned                     assigned:1;
    unsigned                     revoked:1;
};


typedef struct {
    hm_queue_t                   queue;     /* in its partition */
    hm_queue_t                   all;       /* in the consumer */
    hm_kafka_part_t             *part;      /* NULL: abandoned (revoked) */
    rd_kafka_message_t          *rkm;
    hm_kafka_consumer_t         *kc;
} hm_kafka_rec_t;


struct hm_kafka_pend_s {
    rd_kafka_message_t          *rkm;
    hm_kafka_pend_t             *next;
};


/* how long a full pipeline may stay full before partitions are paused */
#define HM_KAFKA_PAUSE_AFTER  1000


struct hm_kafka_consumer_s {
    hm_log_t                    *log;      /* first: see hm_kafka_log() */
    rd_kafka_t                  *rk;
    rd_kafka_queue_t            *q;
    hm_kafka_io_t                io;
    hm_pipeline_inbound_t       *ib;
    hm_kafka_consumer_conf_t    *conf;
    hm_pool_t                   *pool;
    hm_kafka_part_t             *parts;
    hm_queue_t                   records;
    hm_uint_t                    outstanding;
    hm_kafka_pend_t             *pending;
    hm_kafka_pend_t            **last;
    hm_pipeline_waiter_t         waiter;
    hm_event_t                   commit_ev;
    hm_event_t                   repoll_ev;  /* after a resume */
    hm_uint_t                    repolls;
    hm_event_t                   pause_ev;   /* full for a while: pause */

    unsigned                     paused:1;
    unsigned                     closing:1;
    unsigned                     closed:1;
};


static hm_int_t hm_kafka_consumer_properties(hm_conf_t *cf,
    hm_kafka_consumer_conf_t *ccf);
static rd_kafka_topic_partition_list_t *hm_kafka_subscription(
    hm_kafka_consumer_conf_t *ccf);
static void hm_kafka_consumer_handler(hm_event_t *ev);
static void hm_kafka_consumer_read(hm_kafka_consumer_t *kc);
static hm_int_t hm_kafka_consumer_take(hm_kafka_consumer_t *kc,
    rd_kafka_message_t *rkm);
static hm_int_t hm_kafka_msg_fill(hm_msg_t *m, hm_kafka_rec_t *rec);
static void hm_kafka_consumer_ack(hm_msg_t *m);
static void hm_kafka_consumer_full(hm_kafka_consumer_t *kc,
    rd_kafka_message_t *rkm);
static void hm_kafka_consumer_wake(hm_pipeline_waiter_t *w);
static void hm_kafka_consumer_repoll(hm_event_t *ev);
static void hm_kafka_consumer_pause_timer(hm_event_t *ev);
static void hm_kafka_consumer_pause(hm_kafka_consumer_t *kc, int pause);
static void hm_kafka_consumer_stop(hm_kafka_consumer_t *kc, hm_uint_t now);
static void hm_kafka_consumer_finish(hm_kafka_consumer_t *kc);
static void hm_kafka_drop_pending(hm_kafka_consumer_t *kc,
    hm_kafka_part_t *only);
static hm_kafka_part_t *hm_kafka_part(hm_kafka_consumer_t *kc,
    const char *topic, int32_t partition, hm_uint_t create);
static int64_t hm_kafka_committable(hm_kafka_part_t *part);
static void hm_kafka_commit(hm_kafka_consumer_t *kc, hm_uint_t revoked,
    int async);
static void hm_kafka_commit_handler(hm_event_t *ev);
static void hm_kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque);
static void hm_kafka_assign(hm_kafka_consumer_t *kc,
    rd_kafka_topic_partition_list_t *parts);
static void hm_kafka_revoke(hm_kafka_consumer_t *kc,
    rd_kafka_topic_partition_list_t *parts);
static void hm_kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *offsets, void *opaque);

static hm_int_t hm_kafka_variable(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_kafka_variable_header(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);


#define HM_KAFKA_VAR_TOPIC      0
#define HM_KAFKA_VAR_PARTITION  1
#define HM_KAFKA_VAR_OFFSET     2
#define HM_KAFKA_VAR_KEY        3
#define HM_KAFKA_VAR_TIMESTAMP  4


static hm_variable_t  hm_kafka_variables[] = {

    { hm_string("kafka_topic"), hm_kafka_variable, HM_KAFKA_VAR_TOPIC,
      HM_VAR_KAFKA, 0, 0, { NULL, NULL } },

    { hm_string("kafka_partition"), hm_kafka_variable,
      HM_KAFKA_VAR_PARTITION, HM_VAR_KAFKA, 0, 0, { NULL, NULL } },

    { hm_string("kafka_offset"), hm_kafka_variable, HM_KAFKA_VAR_OFFSET,
      HM_VAR_KAFKA, 0, 0, { NULL, NULL } },

    { hm_string("kafka_key"), hm_kafka_variable, HM_KAFKA_VAR_KEY,
      HM_VAR_KAFKA, 0, 0, { NULL, NULL } },

    { hm_string("kafka_timestamp"), hm_kafka_variable,
      HM_KAFKA_VAR_TIMESTAMP, HM_VAR_KAFKA, 0, 0, { NULL, NULL } },

    { hm_string("kafka_header_"), hm_kafka_variable_header, 0,
      HM_VAR_KAFKA, HM_VAR_PREFIX, 0, { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


hm_int_t
hm_kafka_variables_add(hm_cycle_t *cycle)
{
    return hm_add_variables(cycle, hm_kafka_variables);
}


/* -- configuration --------------------------------------------------- */

void *
hm_kafka_consumer_create_conf(hm_conf_t *cf)
{
    hm_kafka_consumer_conf_t  *ccf;

    ccf = hm_pcalloc(cf->pool, sizeof(hm_kafka_consumer_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    if (hm_kafka_common_init(cf, &ccf->common) != HM_OK) {
        return NULL;
    }

    ccf->offset_reset = HM_CONF_UNSET_UINT;
    ccf->session_timeout = HM_CONF_UNSET_MSEC;
    ccf->commit_interval = HM_CONF_UNSET_MSEC;

    return ccf;
}


char *
hm_kafka_topics(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_kafka_consumer_conf_t  *ccf = conf;

    hm_str_t   *value, *t;
    hm_uint_t   i;

    if (ccf->topics) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ccf->topics = hm_array_create(cf->pool, cf->args->nelts,
                                  sizeof(hm_str_t));
    if (ccf->topics == NULL) {
        return HM_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            return "has an empty topic name";
        }

        t = hm_array_push(ccf->topics);
        if (t == NULL) {
            return HM_CONF_ERROR;
        }

        *t = value[i];
    }

    return HM_CONF_OK;
}


char *
hm_kafka_consumer_init_conf(hm_conf_t *cf, hm_pipeline_inbound_t *ib)
{
    hm_kafka_consumer_conf_t  *ccf = ib->conf;

    char  *missing;

    missing = (ccf->common.brokers.data == NULL) ? "brokers"
              : (ccf->topics == NULL) ? "topics"
              : (ccf->group_id.data == NULL) ? "group_id"
              : (ccf->pipeline == NULL) ? "pipeline" : NULL;

    if (missing) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ccf->common.where,
                        "inbound \"%V\" has no \"%s\"", &ib->name, missing);
        return HM_CONF_ERROR;
    }

    hm_conf_init_uint_value(ccf->offset_reset, HM_KAFKA_RESET_LATEST);
    hm_conf_init_msec_value(ccf->commit_interval, 1000);
    hm_conf_init_msec_value(ccf->session_timeout, 10000);

    if (ccf->commit_interval == 0) {
        ccf->commit_interval = 1;
    }

    ccf->batch = 256;

    if (hm_kafka_consumer_properties(cf, ccf) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_kafka_consumer_properties(hm_conf_t *cf, hm_kafka_consumer_conf_t *ccf)
{
    u_char            buf[HM_INT64_LEN + 1];
    rd_kafka_conf_t  *rkconf = ccf->common.rkconf;

    /* hermod commits itself, only what has settled */

    if (hm_kafka_conf_set(cf, rkconf, "group.id",
                          (char *) ccf->group_id.data) != HM_OK
        || hm_kafka_conf_set(cf, rkconf, "enable.auto.commit", "false")
           != HM_OK
        || hm_kafka_conf_set(cf, rkconf, "enable.auto.offset.store",
                             "false") != HM_OK
        || hm_kafka_conf_set(cf, rkconf, "auto.offset.reset",
                             ccf->offset_reset == HM_KAFKA_RESET_EARLIEST
                             ? "earliest" : "latest") != HM_OK)
    {
        return HM_ERROR;
    }

    /*
     * 10s rather than librdkafka's 45s: the partitions of a worker that
     * died go to the others sooner
     */

    *hm_sprintf(buf, "%M", ccf->session_timeout) = '\0';

    if (hm_kafka_conf_set(cf, rkconf, "session.timeout.ms", (char *) buf)
        != HM_OK)
    {
        return HM_ERROR;
    }

    return HM_OK;
}


/* -- the worker ------------------------------------------------------ */

hm_int_t
hm_kafka_consumer_init_process(hm_cycle_t *cycle, hm_pipeline_inbound_t *ib)
{
    hm_kafka_consumer_conf_t  *ccf = ib->conf;

    rd_kafka_conf_t                  *rkconf;
    rd_kafka_resp_err_t               err;
    hm_kafka_consumer_t              *kc;
    rd_kafka_topic_partition_list_t  *list;

    kc = hm_pcalloc(cycle->pool, sizeof(hm_kafka_consumer_t));
    if (kc == NULL) {
        return HM_ERROR;
    }

    kc->log = cycle->log;
    kc->ib = ib;
    kc->conf = ccf;
    kc->pool = cycle->pool;
    kc->last = &kc->pending;
    kc->io.wfd = -1;
    hm_queue_init(&kc->records);

    kc->waiter.handler = hm_kafka_consumer_wake;
    kc->waiter.data = kc;

    rkconf = rd_kafka_conf_dup(ccf->common.rkconf);
    if (rkconf == NULL) {
        return HM_ERROR;
    }

    rd_kafka_conf_set_rebalance_cb(rkconf, hm_kafka_rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(rkconf, hm_kafka_commit_cb);

    kc->rk = hm_kafka_client(cycle, &ccf->common, RD_KAFKA_CONSUMER, rkconf,
                             kc);
    if (kc->rk == NULL) {
        return HM_ERROR;
    }

    ib->data = kc;

    (void) rd_kafka_poll_set_consumer(kc->rk);
    kc->q = rd_kafka_queue_get_consumer(kc->rk);

    list = hm_kafka_subscription(ccf);
    if (list == NULL) {
        return HM_ERROR;
    }

    err = rd_kafka_subscribe(kc->rk, list);
    rd_kafka_topic_partition_list_destroy(list);

    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        hm_log_error(HM_LOG_EMERG, cycle->log, 0,
                     "inbound \"%V\": rd_kafka_subscribe() failed: %s",
                     &ib->name, rd_kafka_err2str(err));
        return HM_ERROR;
    }

    if (hm_kafka_io_open(&kc->io, kc->q, kc->log, hm_kafka_consumer_handler,
                         kc)
        != HM_OK)
    {
        return HM_ERROR;
    }

    hm_post_event(kc->io.c->read, &hm_posted_events);

    kc->commit_ev.handler = hm_kafka_commit_handler;
    kc->commit_ev.data = kc;
    kc->commit_ev.log = kc->log;
    kc->commit_ev.cancelable = 1;

    kc->repoll_ev.handler = hm_kafka_consumer_repoll;
    kc->repoll_ev.data = kc;
    kc->repoll_ev.log = kc->log;
    kc->repoll_ev.cancelable = 1;

    kc->pause_ev.handler = hm_kafka_consumer_pause_timer;
    kc->pause_ev.data = kc;
    kc->pause_ev.log = kc->log;
    kc->pause_ev.cancelable = 1;

    hm_event_add_timer(&kc->commit_ev, ccf->commit_interval);

    return HM_OK;
}


static rd_kafka_topic_partition_list_t *
hm_kafka_subscription(hm_kafka_consumer_conf_t *ccf)
{
    hm_str_t                         *t;
    hm_uint_t                         i;
    rd_kafka_topic_partition_list_t  *list;

    t = ccf->topics->elts;

    list = rd_kafka_topic_partition_list_new(ccf->topics->nelts);
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < ccf->topics->nelts; i++) {
        /* the arguments are NUL-terminated; "^..." is a regex */
        rd_kafka_topic_partition_list_add(list, (char *) t[i].data,
                                          RD_KAFKA_PARTITION_UA);
    }

    return list;
}


/*
 * At exit: after a graceful stop the consumer has left its group already;
 * after a fast stop or worker_shutdown_timeout, commit what has settled,
 * leave the group and forget the rest (it was never committed: the new
 * owner of its partition gets it again).
 */

void
hm_kafka_consumer_exit_process(hm_cycle_t *cycle, hm_pipeline_inbound_t *ib)
{
    hm_queue_t           *q;
    hm_kafka_rec_t       *rec;
    hm_kafka_consumer_t  *kc = ib->data;

    if (kc == NULL || kc->rk == NULL) {
        return;
    }

    hm_kafka_consumer_finish(kc);

    while (!hm_queue_empty(&kc->records)) {
        q = hm_queue_head(&kc->records);
        rec = hm_queue_data(q, hm_kafka_rec_t, all);

        hm_queue_remove(q);
        rd_kafka_message_destroy(rec->rkm);
        rec->rkm = NULL;
    }

    hm_kafka_drop_pending(kc, NULL);

    rd_kafka_queue_destroy(kc->q);
    rd_kafka_destroy(kc->rk);

    kc->rk = NULL;
    ib->data = NULL;
}


static void
hm_kafka_consumer_handler(hm_event_t *ev)
{
    hm_connection_t      *c = ev->data;
    hm_kafka_consumer_t  *kc = c->data;

    if (c->close && !kc->closing) {
        hm_kafka_consumer_stop(kc, c->error);

        if (kc->closed) {
            return;
        }

    } else if (c->close && c->error) {
        hm_kafka_consumer_finish(kc);
        return;
    }

    hm_kafka_io_drain(&kc->io);
    hm_kafka_consumer_read(kc);

    if (kc->closing && kc->outstanding == 0) {
        hm_kafka_consumer_finish(kc);
    }
}


static void
hm_kafka_consumer_read(hm_kafka_consumer_t *kc)
{
    hm_uint_t            n;
    hm_kafka_pend_t     *p;
    rd_kafka_message_t  *rkm;

    /* the records that found no room first, in order */

    while (kc->pending && !kc->paused && !kc->closing) {
        p = kc->pending;

        if (hm_kafka_consumer_take(kc, p->rkm) != HM_OK) {
            hm_kafka_consumer_full(kc, NULL);
            return;
        }

        kc->pending = p->next;

        if (kc->pending == NULL) {
            kc->last = &kc->pending;
        }

        hm_free(p);
    }

    for (n = 0; n < kc->conf->batch; n++) {

        /*
         * Full and not paused yet: the records stay in librdkafka's queue
         * (bounded by its queued.max.messages.kbytes) until there is room.
         */

        if (kc->waiter.waiting && !kc->paused) {
            return;
        }

        rkm = rd_kafka_consumer_poll(kc->rk, 0);

        if (rkm == NULL) {
            return;
        }

        if (rkm->err) {
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                hm_log_error(HM_LOG_WARN, kc->log, 0,
                             "inbound \"%V\": kafka: %s", &kc->ib->name,
                             rd_kafka_message_errstr(rkm));
            }

            rd_kafka_message_destroy(rkm);
            continue;
        }

        if (kc->closing) {
            /* not taken, not committed: consumed again later */
            rd_kafka_message_destroy(rkm);
            continue;
        }

        if (kc->paused || kc->pending
            || hm_kafka_consumer_take(kc, rkm) != HM_OK)
        {
            hm_kafka_consumer_full(kc, rkm);
        }
    }

    /* more may be there: after the other connections had their turn */

    if (kc->io.c && !kc->io.c->read->posted) {
        hm_post_event(kc->io.c->read, &hm_posted_next_events);
    }
}


/* no room: keep the record, pause the assignment, wait for room */

static void
hm_kafka_consumer_full(hm_kafka_consumer_t *kc, rd_kafka_message_t *rkm)
{
    hm_kafka_pend_t  *p;

    if (rkm) {
        p = hm_alloc(sizeof(hm_kafka_pend_t), kc->log);
        if (p == NULL) {
            /* not taken, not committed: consumed again after a restart */
            rd_kafka_message_destroy(rkm);
            return;
        }

        p->rkm = rkm;
        p->next = NULL;
        *kc->last = p;
        kc->last = &p->next;
    }

    /*
     * A pipeline that is full for a moment (its outbound settles in
     * batches) only stops the polling; one that stays full for
     * HM_KAFKA_PAUSE_AFTER has its partitions paused, so that the group
     * keeps the member while nothing is fetched.
     */

    if (!kc->paused && !kc->pause_ev.timer_set) {
        hm_event_add_timer(&kc->pause_ev, HM_KAFKA_PAUSE_AFTER);
    }

    hm_pipeline_wait(kc->conf->pipeline, &kc->waiter);
}


static void
hm_kafka_consumer_pause_timer(hm_event_t *ev)
{
    hm_kafka_consumer_t  *kc = ev->data;

    if (kc->closing || kc->paused || !kc->waiter.waiting) {
        return;
    }

    kc->paused = 1;
    hm_kafka_consumer_pause(kc, 1);

    /* what was fetched already is kept, in order, for after the resume */

    hm_kafka_consumer_read(kc);
}


static void
hm_kafka_consumer_wake(hm_pipeline_waiter_t *w)
{
    hm_kafka_consumer_t  *kc = w->data;

    if (kc->closing) {
        return;
    }

    if (kc->pause_ev.timer_set) {
        hm_event_del_timer(&kc->pause_ev);
    }

    if (kc->paused) {
        kc->paused = 0;
        hm_kafka_consumer_pause(kc, 0);
    }

    hm_kafka_consumer_read(kc);

    /*
     * Records fetched after a resume do not always wake the queue's pipe
     * (librdkafka signals a queue only when it turns non-empty, and a
     * paused partition's queue may have been purged without our poll):
     * poll on a short timer for a while after each resume.
     */

    if (!kc->paused && !kc->closing) {
        kc->repolls = 100;

        if (!kc->repoll_ev.timer_set) {
            hm_event_add_timer(&kc->repoll_ev, 5);
        }
    }
}


static void
hm_kafka_consumer_repoll(hm_event_t *ev)
{
    hm_kafka_consumer_t  *kc = ev->data;

    if (kc->closing || kc->paused || kc->repolls == 0) {
        return;
    }

    kc->repolls--;

    hm_kafka_consumer_read(kc);

    if (!kc->paused && !kc->closing && kc->repolls) {
        hm_event_add_timer(&kc->repoll_ev, 5);
    }
}


static void
hm_kafka_consumer_pause(hm_kafka_consumer_t *kc, int pause)
{
    rd_kafka_resp_err_t               err;
    rd_kafka_topic_partition_list_t  *list;

    if (rd_kafka_assignment(kc->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }

    err = pause ? rd_kafka_pause_partitions(kc->rk, list)
                : rd_kafka_resume_partitions(kc->rk, list);

    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        hm_log_error(HM_LOG_WARN, kc->log, 0,
                     "inbound \"%V\": kafka %s failed: %s", &kc->ib->name,
                     pause ? "pause" : "resume", rd_kafka_err2str(err));
    }

    hm_log_debug(kc->log, "inbound \"%V\": %s %d partitions",
                 &kc->ib->name, pause ? "paused" : "resumed", list->cnt);

    rd_kafka_topic_partition_list_destroy(list);
}


/* -- records to messages --------------------------------------------- */

static hm_int_t
hm_kafka_consumer_take(hm_kafka_consumer_t *kc, rd_kafka_message_t *rkm)
{
    hm_msg_t         *m;
    hm_pipeline_t    *pl = kc->conf->pipeline;
    hm_kafka_rec_t   *rec;
    hm_kafka_part_t  *part;

    if (hm_pipeline_room(pl, rkm->len) != HM_OK) {
        return HM_BUSY;
    }

    part = hm_kafka_part(kc, rd_kafka_topic_name(rkm->rkt), rkm->partition,
                         0);

    if (part == NULL || !part->assigned) {
        /* a straggler of a revoked partition: its new owner has it */
        rd_kafka_message_destroy(rkm);
        return HM_OK;
    }

    m = hm_msg_create(pl, kc->log, rkm->len);
    if (m == NULL) {
        return HM_ERROR;
    }

    rec = hm_palloc(m->pool, sizeof(hm_kafka_rec_t));
    if (rec == NULL) {
        hm_msg_destroy(m);
        return HM_ERROR;
    }

    rec->part = part;
    rec->rkm = rkm;
    rec->kc = kc;

    if (hm_kafka_msg_fill(m, rec) != HM_OK) {
        hm_msg_destroy(m);
        return HM_ERROR;
    }

    hm_queue_insert_tail(&part->inflight, &rec->queue);
    hm_queue_insert_tail(&kc->records, &rec->all);
    kc->outstanding++;

    if (rkm->offset + 1 > part->next) {
        part->next = rkm->offset + 1;
    }

    hm_pipeline_submit(m);

    return HM_OK;
}


static hm_int_t
hm_kafka_msg_fill(hm_msg_t *m, hm_kafka_rec_t *rec)
{
    u_char              *p;
    size_t               i, size;
    hm_str_t             name, value;
    hm_buf_t            *b;
    const char          *hname, *topic;
    const void          *hvalue;
    hm_chain_t          *cl;
    rd_kafka_headers_t  *hdrs;
    rd_kafka_message_t  *rkm = rec->rkm;

    if (rkm->len) {
        b = hm_calloc_buf(m->pool);
        cl = hm_alloc_chain_link(m->pool);
        if (b == NULL || cl == NULL) {
            return HM_ERROR;
        }

        b->start = rkm->payload;
        b->pos = b->start;
        b->last = b->start + rkm->len;
        b->end = b->last;
        b->memory = 1;
        b->last_buf = 1;

        cl->buf = b;
        cl->next = NULL;

        m->body = cl;
        m->body_len = rkm->len;
    }

    m->key.data = rkm->key;
    m->key.len = rkm->key ? rkm->key_len : 0;

    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (i = 0;
             rd_kafka_header_get_all(hdrs, i, &hname, &hvalue, &size)
             == RD_KAFKA_RESP_ERR_NO_ERROR;
             i++)
        {
            name.data = (u_char *) hname;
            name.len = hm_strlen(hname);
            value.data = (u_char *) (hvalue ? hvalue : "");
            value.len = hvalue ? size : 0;

            if (hm_msg_header_add(m, &name, &value) != HM_OK) {
                return HM_ERROR;
            }
        }
    }

    topic = rd_kafka_topic_name(rkm->rkt);

    p = hm_pnalloc(m->pool, hm_strlen(topic) + 2 * HM_INT64_LEN + 2);
    if (p == NULL) {
        return HM_ERROR;
    }

    m->id.data = p;
    m->id.len = hm_sprintf(p, "%s-%D-%L", topic, rkm->partition,
                           (int64_t) rkm->offset) - p;

    m->vs.ctx = rec;
    m->vs.kind = HM_VAR_KAFKA;
    hm_str_set(&m->source.name, "kafka");
    m->source.var_kind = HM_VAR_KAFKA;
    m->source.ctx = rec;

    m->ack = hm_kafka_consumer_ack;
    m->ack_data = rec;

    return HM_OK;
}


static void
hm_kafka_consumer_ack(hm_msg_t *m)
{
    hm_kafka_rec_t       *rec = m->ack_data;
    hm_kafka_part_t      *part = rec->part;
    hm_kafka_consumer_t  *kc = rec->kc;

    if (part) {
        hm_queue_remove(&rec->queue);

        if (m->outcome == HM_MSG_FAILED
            && (part->hold < 0 || rec->rkm->offset < part->hold))
        {
            part->hold = rec->rkm->offset;

            hm_log_error(HM_LOG_WARN, kc->log, 0,
                         "inbound \"%V\": message %V failed (%V): the "
                         "commit of %s [%D] holds at offset %L",
                         &kc->ib->name, &m->id, &m->error, part->topic,
                         part->partition, (int64_t) part->hold);
        }
    }

    if (rec->rkm) {
        hm_queue_remove(&rec->all);
        rd_kafka_message_destroy(rec->rkm);
        rec->rkm = NULL;
    }

    kc->outstanding--;

    hm_msg_destroy(m);

    if (kc->closing && kc->outstanding == 0 && kc->io.c
        && !kc->io.c->read->posted)
    {
        hm_post_event(kc->io.c->read, &hm_posted_events);
    }
}


/* -- stop ------------------------------------------------------------ */

static void
hm_kafka_consumer_stop(hm_kafka_consumer_t *kc, hm_uint_t now)
{
    kc->closing = 1;

    hm_pipeline_wait_cancel(&kc->waiter);
    hm_kafka_drop_pending(kc, NULL);

    if (!kc->paused) {
        kc->paused = 1;
        hm_kafka_consumer_pause(kc, 1);
    }

    if (now || kc->outstanding == 0) {
        hm_kafka_consumer_finish(kc);
        return;
    }

    hm_log_error(HM_LOG_INFO, kc->log, 0,
                 "inbound \"%V\": stopping, %ui messages in flight",
                 &kc->ib->name, kc->outstanding);
}


/*
 * Commit what has settled and leave the group.  rd_kafka_consumer_close()
 * blocks while it leaves (the rebalance callback runs inside it): at most
 * about a round trip to the group coordinator, up to session_timeout when
 * it is unreachable; acceptable once the worker takes nothing any more.
 */

static void
hm_kafka_consumer_finish(hm_kafka_consumer_t *kc)
{
    rd_kafka_resp_err_t  err;

    if (kc->closed) {
        return;
    }

    kc->closed = 1;
    kc->closing = 1;

    hm_pipeline_wait_cancel(&kc->waiter);

    if (kc->repoll_ev.timer_set) {
        hm_event_del_timer(&kc->repoll_ev);
    }

    if (kc->pause_ev.timer_set) {
        hm_event_del_timer(&kc->pause_ev);
    }

    if (kc->commit_ev.timer_set) {
        hm_event_del_timer(&kc->commit_ev);
    }

    hm_kafka_commit(kc, 0, 0);

    err = rd_kafka_consumer_close(kc->rk);

    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        hm_log_error(HM_LOG_WARN, kc->log, 0,
                     "inbound \"%V\": rd_kafka_consumer_close() failed: %s",
                     &kc->ib->name, rd_kafka_err2str(err));
    }

    hm_kafka_io_close(&kc->io, kc->q);
}


/* pending records of one partition (or all): forgotten, not committed */

static void
hm_kafka_drop_pending(hm_kafka_consumer_t *kc, hm_kafka_part_t *only)
{
    hm_kafka_pend_t   *p, **pp;
    hm_kafka_part_t   *part;

    pp = &kc->pending;

    while (*pp) {
        p = *pp;

        if (only) {
            part = hm_kafka_part(kc, rd_kafka_topic_name(p->rkm->rkt),
                                 p->rkm->partition, 0);

            if (part != only) {
                pp = &p->next;
                continue;
            }
        }

        *pp = p->next;
        rd_kafka_message_destroy(p->rkm);
        hm_free(p);
    }

    kc->last = pp;
}


/* -- partitions and offsets ------------------------------------------ */

static hm_kafka_part_t *
hm_kafka_part(hm_kafka_consumer_t *kc, const char *topic, int32_t partition,
    hm_uint_t create)
{
    size_t            len;
    hm_kafka_part_t  *part;

    for (part = kc->parts; part; part = part->link) {
        if (part->partition == partition
            && hm_strcmp(part->topic, topic) == 0)
        {
            return part;
        }
    }

    if (!create) {
        return NULL;
    }

    len = hm_strlen(topic) + 1;

    part = hm_pcalloc(kc->pool, sizeof(hm_kafka_part_t) + len);
    if (part == NULL) {
        return NULL;
    }

    part->topic = (char *) (part + 1);
    hm_memcpy(part->topic, topic, len);
    part->partition = partition;
    hm_queue_init(&part->inflight);

    part->link = kc->parts;
    kc->parts = part;

    return part;
}


static int64_t
hm_kafka_committable(hm_kafka_part_t *part)
{
    int64_t          c;
    hm_kafka_rec_t  *rec;

    if (!hm_queue_empty(&part->inflight)) {
        rec = hm_queue_data(hm_queue_head(&part->inflight), hm_kafka_rec_t,
                            queue);
        c = rec->rkm->offset;

    } else {
        c = part->next;
    }

    if (part->hold >= 0 && (c < 0 || part->hold < c)) {
        c = part->hold;
    }

    return c;
}


/* commits every assigned partition (or only those being revoked) */

static void
hm_kafka_commit(hm_kafka_consumer_t *kc, hm_uint_t revoked, int async)
{
    int64_t                            c;
    hm_uint_t                          n;
    hm_kafka_part_t                   *part;
    rd_kafka_resp_err_t                err;
    rd_kafka_topic_partition_list_t   *list;

    list = NULL;
    n = 0;

    for (part = kc->parts; part; part = part->link) {
        if (!part->assigned || (revoked && !part->revoked)) {
            continue;
        }

        c = hm_kafka_committable(part);

        if (c < 0 || c == part->committed) {
            continue;
        }

        if (list == NULL) {
            list = rd_kafka_topic_partition_list_new(8);
            if (list == NULL) {
                return;
            }
        }

        rd_kafka_topic_partition_list_add(list, part->topic,
                                          part->partition)->offset = c;
        part->committed = c;
        n++;
    }

    if (n == 0) {
        return;
    }

    err = rd_kafka_commit(kc->rk, list, async);

    if (!async && err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        hm_log_error(HM_LOG_WARN, kc->log, 0,
                     "inbound \"%V\": kafka commit failed: %s",
                     &kc->ib->name, rd_kafka_err2str(err));
    }

    rd_kafka_topic_partition_list_destroy(list);
}


static void
hm_kafka_commit_handler(hm_event_t *ev)
{
    hm_kafka_consumer_t  *kc = ev->data;

    if (kc->closed) {
        return;
    }

    hm_kafka_commit(kc, 0, 1);

    /*
     * librdkafka wants the consumer polled at least every
     * max.poll.interval.ms, even when its queue stays empty
     */

    if (!kc->closing) {
        hm_kafka_consumer_read(kc);
    }

    hm_event_add_timer(&kc->commit_ev, kc->conf->commit_interval);
}


static void
hm_kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    int                   i;
    hm_kafka_part_t      *part;
    hm_kafka_consumer_t  *kc = opaque;

    if (err == RD_KAFKA_RESP_ERR_NO_ERROR
        || err == RD_KAFKA_RESP_ERR__NO_OFFSET)
    {
        return;
    }

    hm_log_error(HM_LOG_WARN, kc->log, 0,
                 "inbound \"%V\": kafka commit failed: %s",
                 &kc->ib->name, rd_kafka_err2str(err));

    /* committed again at the next interval */

    for (i = 0; offsets && i < offsets->cnt; i++) {
        part = hm_kafka_part(kc, offsets->elems[i].topic,
                             offsets->elems[i].partition, 0);
        if (part) {
            part->committed = -1;
        }
    }
}


/* -- rebalance ------------------------------------------------------- */

static void
hm_kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    hm_kafka_consumer_t  *kc = opaque;

    switch (err) {

    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        hm_kafka_assign(kc, parts);
        break;

    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        hm_kafka_revoke(kc, parts);
        break;

    default:
        hm_log_error(HM_LOG_ERR, kc->log, 0,
                     "inbound \"%V\": kafka rebalance failed: %s",
                     &kc->ib->name, rd_kafka_err2str(err));
        hm_kafka_revoke(kc, parts);
        break;
    }
}


static void
hm_kafka_assign(hm_kafka_consumer_t *kc,
    rd_kafka_topic_partition_list_t *parts)
{
    int                               i;
    hm_kafka_part_t                  *part;
    rd_kafka_error_t                 *error;
    rd_kafka_topic_partition_t       *tp;

    for (i = 0; i < parts->cnt; i++) {
        tp = &parts->elems[i];

        part = hm_kafka_part(kc, tp->topic, tp->partition, 1);
        if (part == NULL) {
            continue;
        }

        hm_queue_init(&part->inflight);
        part->next = -1;
        part->hold = -1;
        part->committed = -1;
        part->assigned = 1;
        part->revoked = 0;

        hm_log_error(HM_LOG_INFO, kc->log, 0,
                     "inbound \"%V\": assigned %s [%D]",
                     &kc->ib->name, tp->topic, tp->partition);
    }

    if (hm_strcmp(rd_kafka_rebalance_protocol(kc->rk), "COOPERATIVE") == 0) {
        error = rd_kafka_incremental_assign(kc->rk, parts);
        if (error) {
            hm_log_error(HM_LOG_ERR, kc->log, 0,
                         "inbound \"%V\": kafka assign failed: %s",
                         &kc->ib->name, rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }

    } else {
        (void) rd_kafka_assign(kc->rk, parts);
    }

    if (kc->paused) {
        (void) rd_kafka_pause_partitions(kc->rk, parts);
    }
}


/*
 * Revoked: commit what has settled, then forget the records in flight
 * (they settle here, but their partition's new owner consumes them again:
 * at least once).
 */

static void
hm_kafka_revoke(hm_kafka_consumer_t *kc,
    rd_kafka_topic_partition_list_t *parts)
{
    int                          i;
    hm_queue_t                  *q;
    hm_kafka_rec_t              *rec;
    hm_kafka_part_t             *part;
    rd_kafka_error_t            *error;

    for (i = 0; parts && i < parts->cnt; i++) {
        part = hm_kafka_part(kc, parts->elems[i].topic,
                             parts->elems[i].partition, 0);
        if (part) {
            part->revoked = 1;
        }
    }

    hm_kafka_commit(kc, 1, 0);

    for (part = kc->parts; part; part = part->link) {
        if (!part->revoked) {
            continue;
        }

        while (!hm_queue_empty(&part->inflight)) {
            q = hm_queue_head(&part->inflight);
            rec = hm_queue_data(q, hm_kafka_rec_t, queue);

            hm_queue_remove(q);
            rec->part = NULL;
        }

        hm_kafka_drop_pending(kc, part);

        part->assigned = 0;
        part->revoked = 0;

        hm_log_error(HM_LOG_INFO, kc->log, 0,
                     "inbound \"%V\": revoked %s [%D]",
                     &kc->ib->name, part->topic, part->partition);
    }

    if (hm_strcmp(rd_kafka_rebalance_protocol(kc->rk), "COOPERATIVE") == 0) {
        error = rd_kafka_incremental_unassign(kc->rk, parts);
        if (error) {
            rd_kafka_error_destroy(error);
        }

    } else {
        (void) rd_kafka_assign(kc->rk, NULL);
    }
}


/* -- variables ------------------------------------------------------- */

static hm_int_t
hm_kafka_variable(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_kafka_rec_t      *rec = ctx;

    u_char                     *p;
    int64_t                     n;
    rd_kafka_message_t         *rkm = rec->rkm;
    rd_kafka_timestamp_type_t   tstype;

    if (rkm == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    switch (data) {

    case HM_KAFKA_VAR_TOPIC:
        v->data = (u_char *) rd_kafka_topic_name(rkm->rkt);
        v->len = hm_strlen(v->data);
        return HM_OK;

    case HM_KAFKA_VAR_KEY:
        if (rkm->key == NULL) {
            v->not_found = 1;
            return HM_OK;
        }

        v->data = rkm->key;
        v->len = rkm->key_len;
        return HM_OK;

    case HM_KAFKA_VAR_PARTITION:
        n = rkm->partition;
        break;

    case HM_KAFKA_VAR_OFFSET:
        n = rkm->offset;
        break;

    default: /* HM_KAFKA_VAR_TIMESTAMP */
        n = rd_kafka_message_timestamp(rkm, &tstype);

        if (n < 0) {
            v->not_found = 1;
            return HM_OK;
        }

        break;
    }

    p = hm_pnalloc(pool, HM_INT64_LEN);
    if (p == NULL) {
        return HM_ERROR;
    }

    v->data = p;
    v->len = hm_sprintf(p, "%L", n) - p;

    return HM_OK;
}


/* "$kafka_header_x_trace" reads "x_trace", then "x-trace" */

static hm_int_t
hm_kafka_variable_header(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_kafka_rec_t  *rec = ctx;
    hm_str_t        *suffix = (hm_str_t *) data;

    char                *name;
    size_t               size, i;
    const void          *value;
    rd_kafka_headers_t  *hdrs;

    if (rec->rkm == NULL
        || rd_kafka_message_headers(rec->rkm, &hdrs)
           != RD_KAFKA_RESP_ERR_NO_ERROR)
    {
        v->not_found = 1;
        return HM_OK;
    }

    name = hm_pnalloc(pool, suffix->len + 1);
    if (name == NULL) {
        return HM_ERROR;
    }

    *hm_cpymem(name, suffix->data, suffix->len) = '\0';

    if (rd_kafka_header_get_last(hdrs, name, &value, &size)
        != RD_KAFKA_RESP_ERR_NO_ERROR)
    {
        for (i = 0; i < suffix->len; i++) {
            if (name[i] == '_') {
                name[i] = '-';
            }
        }

        if (rd_kafka_header_get_last(hdrs, name, &value, &size)
            != RD_KAFKA_RESP_ERR_NO_ERROR)
        {
            v->not_found = 1;
            return HM_OK;
        }
    }

    v->data = (u_char *) (value ? value : "");
    v->len = value ? size : 0;

    return HM_OK;
}
