/*
 * Copyright (C) hermod authors
 *
 * The pipeline SDK: messages, pipelines, filters and outbound endpoints.
 *
 * An inbound module (HTTP, Kafka, AMQP, ...) creates a message with
 * hm_msg_create(), fills its body, headers and metadata, and hands it to
 * hm_pipeline_submit().  The message runs through the pipeline's filters
 * in configuration order; the route filter chooses its outbound(s); the
 * outbound delivers it and reports the result; retry filters and the
 * dead-letter outbound handle failures.  Exactly once per message the
 * pipeline calls the inbound's ack handler with the outcome: DELIVERED,
 * DEAD_LETTERED, DROPPED (by an explicit rule) or FAILED.  Only then may
 * the inbound acknowledge its source (HTTP response, Kafka commit, AMQP
 * basic.ack); it frees the message with hm_msg_destroy() after that.
 *
 * Return codes are the core's: HM_OK, HM_ERROR, HM_AGAIN, HM_DONE,
 * HM_DECLINED, plus HM_RETRY for a failure worth another attempt.
 */

#ifndef _HM_PIPELINE_H_INCLUDED_
#define _HM_PIPELINE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>
#include <jansson.h>


#define HM_PIPELINE_MODULE        0x45504950   /* "PIPE" */

/* directive contexts */
#define HM_PIPELINE_CONF          0x02000000   /* pipeline NAME { } */
#define HM_PIPELINE_OUT_CONF      0x04000000   /* outbound NAME TYPE { } */
#define HM_PIPELINE_BLOCK_CONF    0x08000000   /* a filter's own block */
#define HM_PIPELINE_IN_CONF       0x10000000   /* inbound NAME TYPE { } */


/* outcomes, as the inbound's ack handler sees them */
#define HM_MSG_PENDING            0
#define HM_MSG_DELIVERED          1
#define HM_MSG_DEAD_LETTERED      2
#define HM_MSG_DROPPED            3
#define HM_MSG_FAILED             4

/*
 * Error classes: why an attempt failed.  Outbounds set one with the
 * error; retry_on and the inbound's error status are chosen by class.
 */
#define HM_MSG_ERR_NONE           0x0000
#define HM_MSG_ERR_CONNECT        0x0001   /* could not connect */
#define HM_MSG_ERR_TIMEOUT        0x0002   /* no answer in time */
#define HM_MSG_ERR_5XX            0x0004   /* peer answered 5xx */
#define HM_MSG_ERR_429            0x0008   /* peer asked to slow down */
#define HM_MSG_ERR_4XX            0x0010   /* peer refused (other 4xx) */
#define HM_MSG_ERR_NACK           0x0020   /* broker nack / reject */
#define HM_MSG_ERR_ERROR          0x0040   /* any other I/O error */
#define HM_MSG_ERR_FILTER         0x0080   /* a filter rejected it */
#define HM_MSG_ERR_FULL           0x0100   /* no room to take it */
#define HM_MSG_ERR_INTERNAL       0x0200   /* memory, bugs */


typedef struct hm_msg_s                    hm_msg_t;
typedef struct hm_pipeline_s               hm_pipeline_t;
typedef struct hm_pipeline_filter_s        hm_pipeline_filter_t;
typedef struct hm_pipeline_outbound_s      hm_pipeline_outbound_t;
typedef struct hm_pipeline_outbound_type_s hm_pipeline_outbound_type_t;
typedef struct hm_pipeline_waiter_s        hm_pipeline_waiter_t;
typedef struct hm_pipeline_inbound_s       hm_pipeline_inbound_t;
typedef struct hm_pipeline_inbound_type_s  hm_pipeline_inbound_type_t;


/* an ordered header (attribute); names compare case-insensitively */
typedef struct {
    hm_str_t                     name;
    hm_str_t                     value;
} hm_msg_header_t;


/* where a message came from: the inbound's kind and its own context */
typedef struct {
    hm_str_t                     name;     /* "http", "kafka", ... */
    hm_uint_t                    var_kind; /* HM_VAR_HTTP, ... */
    void                        *ctx;      /* e.g. hm_http_request_t * */
} hm_msg_source_t;


typedef void (*hm_msg_ack_pt)(hm_msg_t *m);


/* what an outbound answered, for request/reply inbounds */
typedef struct {
    hm_uint_t                    status;    /* HTTP status, 0: none */
    hm_array_t                  *headers;   /* of hm_msg_header_t */
    hm_chain_t                  *body;
} hm_msg_reply_t;


struct hm_msg_s {
    /*
     * First: the variable source, so that a message is a valid context
     * for the variables of its inbound ($http_host for an HTTP inbound).
     */
    hm_variable_source_t         vs;

    hm_pool_t                   *pool;
    hm_log_t                    *log;

    hm_pipeline_t               *pipeline;
    hm_msg_source_t              source;

    /* the payload: read-only buffers; a filter that changes it replaces it */
    hm_chain_t                  *body;
    size_t                       body_len;

    hm_array_t                   headers;   /* of hm_msg_header_t */
    hm_str_t                     key;
    hm_str_t                     id;

    hm_msec_t                    created;   /* ms since the epoch */
    hm_msec_t                    start;     /* monotonic, for latency */
    hm_uint_t                    attempts;  /* deliveries tried */

    /* the parsed body, owned by the message; see hm_msg_json() */
    json_t                      *json;

    /* the chain position and the route's choice */
    hm_uint_t                    step;
    hm_uint_t                    first_step; /* a fan-out child's */
    hm_pipeline_outbound_t      *target;
    hm_pipeline_outbound_t      *outbound;  /* delivering to, now */

    /* the last failure */
    hm_uint_t                    err_class;
    hm_str_t                     error;

    hm_uint_t                    outcome;   /* HM_MSG_DELIVERED, ... */
    hm_msg_reply_t               reply;

    /* the inbound's ack handle */
    hm_msg_ack_pt                ack;
    void                        *ack_data;

    /* fan-out: the parent waits for its children */
    hm_msg_t                    *parent;
    hm_uint_t                    children;
    hm_uint_t                    children_outcomes;  /* bit per outcome */

    /* for the outbound that holds the message during a send */
    void                        *send_data;
    hm_queue_t                   queue;      /* outbound wait queue */

    hm_event_t                   timer;      /* retry and per-try timeout */
    hm_msec_t                    try_timeout;
    void                        *retry;      /* the retry filter's state */

    unsigned                     json_dirty:1;
    unsigned                     json_invalid:1;
    unsigned                     queued:1;
    unsigned                     sending:1;
    unsigned                     dead_letter:1;  /* on its way there */
    unsigned                     settled:1;
    unsigned                     reply_wanted:1;
    unsigned                     has_id:1;

    size_t                       accounted;  /* in the pipeline's bytes */

    void                        *spare[8];
};


/*
 * Filters.  A filter module declares a directive in HM_PIPELINE_CONF whose
 * handler builds the filter's configuration and calls
 * hm_pipeline_add_filter(): the chain is in configuration order.
 *
 * handler: HM_OK (go on), HM_DECLINED (drop the message: an explicit rule),
 * HM_ERROR (reject it: m->error says why), HM_DONE (the filter took the
 * message over, e.g. fan-out, and will continue or settle it itself),
 * HM_AGAIN (the filter continues later with hm_pipeline_continue()).
 *
 * outcome (optional): called, last filter first, when a delivery after
 * this filter failed (rc is HM_RETRY or HM_ERROR, m->err_class and
 * m->error say why).  HM_DECLINED passes the failure on; HM_AGAIN means
 * the filter will run the rest of the chain again itself (retry) with
 * hm_pipeline_resume().
 */
typedef hm_int_t (*hm_pipeline_filter_pt)(hm_msg_t *m, void *conf);
typedef hm_int_t (*hm_pipeline_outcome_pt)(hm_msg_t *m, void *conf,
    hm_int_t rc);

struct hm_pipeline_filter_s {
    hm_str_t                     name;
    hm_pipeline_filter_pt        handler;
    hm_pipeline_outcome_pt       outcome;
    void                        *conf;
    hm_uint_t                    index;     /* in the chain */
    hm_conf_location_t           where;

    void                        *spare[4];
};


/*
 * Outbound endpoints: "outbound NAME TYPE { ... }".  A module provides a
 * type through its hm_pipeline_module_t; the block's directives are the
 * module's HM_PIPELINE_OUT_CONF commands, given the type's configuration
 * (create_conf) as "conf".
 *
 * send: HM_OK (delivered now), HM_AGAIN (in progress: the module calls
 * hm_pipeline_send_done() later, exactly once), HM_BUSY (no room now: the
 * message waits in the outbound's queue until the module calls
 * hm_pipeline_outbound_ready()), HM_RETRY or HM_ERROR (failed now, with
 * hm_msg_set_error()).
 *
 * cancel: the pipeline gives up on a send in progress (its per-try
 * timeout expired, or the worker stops); the module must forget the
 * message and never report it.
 */
struct hm_pipeline_outbound_type_s {
    hm_str_t                     name;      /* "http", "file", "kafka" */

    void                      *(*create_conf)(hm_conf_t *cf);
    char                      *(*init_conf)(hm_conf_t *cf,
                                            hm_pipeline_outbound_t *ob);

    hm_int_t                   (*init_process)(hm_cycle_t *cycle,
                                               hm_pipeline_outbound_t *ob);
    void                       (*exit_process)(hm_cycle_t *cycle,
                                               hm_pipeline_outbound_t *ob);

    hm_int_t                   (*send)(hm_pipeline_outbound_t *ob,
                                       hm_msg_t *m);
    void                       (*cancel)(hm_pipeline_outbound_t *ob,
                                         hm_msg_t *m);

    void                        *spare[4];
};


typedef struct {
    hm_metric_t                 *sent;
    hm_metric_t                 *delivered;
    hm_metric_t                 *failed;
    hm_metric_t                 *in_flight;
    hm_metric_t                 *latency;   /* a histogram */
} hm_pipeline_outbound_metrics_t;


struct hm_pipeline_outbound_s {
    hm_str_t                     name;
    hm_pipeline_outbound_type_t *type;
    hm_module_t                 *module;
    void                        *conf;      /* the type's */
    void                        *data;      /* per process, the type's */
    hm_conf_location_t           where;

    hm_uint_t                    in_flight; /* sends in progress */
    hm_queue_t                   waiting;   /* messages the type refused */
    hm_uint_t                    nwaiting;
    hm_event_t                   ready;     /* posted: send the waiting */

    hm_pipeline_outbound_metrics_t  metrics;

    hm_conf_location_t           ref_where;  /* first reference */
    unsigned                     declared:1;

    void                        *spare[4];
};


/*
 * Inbound endpoints that are not part of another framework (an HTTP
 * location is): "inbound NAME TYPE { ... }", e.g. a Kafka consumer.  As
 * for outbounds, the block's directives are the providing module's
 * HM_PIPELINE_IN_CONF commands, given the type's configuration; the
 * module usually has a "pipeline NAME;" of its own (hm_pipeline_ref()).
 *
 * init_process starts consuming in a worker.  On a graceful stop the
 * worker calls the read handler of every idle connection with c->close
 * set (hm_close_idle_connections()): an inbound marks the connection it
 * polls idle, and on c->close stops taking messages, settles what it
 * holds and closes it; the worker exits once no connection is left.
 */
struct hm_pipeline_inbound_type_s {
    hm_str_t                     name;      /* "kafka", "amqp", ... */

    void                      *(*create_conf)(hm_conf_t *cf);
    char                      *(*init_conf)(hm_conf_t *cf,
                                            hm_pipeline_inbound_t *ib);

    hm_int_t                   (*init_process)(hm_cycle_t *cycle,
                                               hm_pipeline_inbound_t *ib);
    void                       (*exit_process)(hm_cycle_t *cycle,
                                               hm_pipeline_inbound_t *ib);

    void                        *spare[4];
};


struct hm_pipeline_inbound_s {
    hm_str_t                     name;
    hm_pipeline_inbound_type_t  *type;
    hm_module_t                 *module;
    void                        *conf;      /* the type's */
    void                        *data;      /* per process, the type's */
    hm_conf_location_t           where;

    void                        *spare[4];
};


/* an inbound waiting for room in a full pipeline */
typedef void (*hm_pipeline_waiter_pt)(hm_pipeline_waiter_t *w);

struct hm_pipeline_waiter_s {
    hm_queue_t                   queue;
    hm_pipeline_waiter_pt        handler;
    void                        *data;
    unsigned                     waiting:1;
};


typedef struct {
    hm_metric_t                 *received;
    hm_metric_t                 *delivered;
    hm_metric_t                 *dead_lettered;
    hm_metric_t                 *dropped;
    hm_metric_t                 *failed;
    hm_metric_t                 *retried;
    hm_metric_t                 *in_flight;
    hm_metric_t                 *bytes_in_flight;
    hm_metric_t                 *latency;   /* a histogram */
} hm_pipeline_metrics_t;


struct hm_pipeline_s {
    hm_str_t                     name;
    hm_conf_location_t           where;

    hm_array_t                   filters;   /* of hm_pipeline_filter_t */
    hm_pipeline_outbound_t      *output;    /* when nothing routed */
    hm_pipeline_outbound_t      *dead_letter;

    /* limits, per worker */
    hm_uint_t                    max_messages;
    size_t                       max_bytes;

    /* run time, per worker */
    hm_uint_t                    in_flight;
    size_t                       bytes;
    hm_queue_t                   waiters;
    hm_event_t                   wake;      /* posted: room again */

    /* the message log */
    hm_open_file_t              *log_file;
    hm_complex_value_t          *log_format;

    hm_pipeline_metrics_t        metrics;

    hm_conf_location_t           ref_where;  /* first reference */

    unsigned                     declared:1;

    void                        *spare[4];
};


/* the context of a HM_PIPELINE_MODULE */
typedef struct {
    hm_pipeline_outbound_type_t *outbound;  /* NULL: none */
    hm_pipeline_inbound_type_t  *inbound;   /* NULL: none */
    void                        *spare[3];
} hm_pipeline_module_t;


/* the main configuration of the pipeline framework */
typedef struct {
    hm_array_t                   pipelines;  /* of hm_pipeline_t * */
    hm_array_t                   outbounds;  /* of hm_pipeline_outbound_t * */
    hm_array_t                   inbounds;   /* of hm_pipeline_inbound_t * */
} hm_pipeline_main_conf_t;


/* -- for inbound modules -------------------------------------------- */

/*
 * Finds a pipeline by name while the configuration is read; a pipeline
 * may be declared after the directive that refers to it, so the lookup
 * of a name is completed when the configuration ends: *pp is set then.
 */
hm_int_t hm_pipeline_ref(hm_conf_t *cf, hm_str_t *name, hm_pipeline_t **pp);

/*
 * "pipeline NAME;" of an inbound block: cmd->offset is that of an
 * hm_pipeline_t * in the block's configuration (NULL until set).
 */
char *hm_pipeline_set_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);

/*
 * Room for one more message of size bytes?  HM_OK, or HM_BUSY: then the
 * inbound stops reading and may wait with hm_pipeline_wait().
 */
hm_int_t hm_pipeline_room(hm_pipeline_t *p, size_t size);
void hm_pipeline_wait(hm_pipeline_t *p, hm_pipeline_waiter_t *w);
void hm_pipeline_wait_cancel(hm_pipeline_waiter_t *w);

/* a message with its own pool, counted in the pipeline's in-flight */
hm_msg_t *hm_msg_create(hm_pipeline_t *p, hm_log_t *log, size_t size);
void hm_msg_destroy(hm_msg_t *m);

/* runs the filter chain; the ack handler is called once, maybe at once */
void hm_pipeline_submit(hm_msg_t *m);

/* the HTTP-like status for a settled message: 202, 400, 502, 503, 504 */
hm_uint_t hm_msg_status(hm_msg_t *m);
const char *hm_msg_outcome_name(hm_uint_t outcome);

/* {"id":"...","outcome":"delivered"} (or with "error"), and a newline */
hm_int_t hm_msg_outcome_json(hm_pool_t *pool, hm_msg_t *m, hm_str_t *out);


/* -- for filters and outbounds --------------------------------------- */

hm_int_t hm_pipeline_add_filter(hm_conf_t *cf, hm_pipeline_t *p,
    hm_str_t *name, hm_pipeline_filter_pt handler,
    hm_pipeline_outcome_pt outcome, void *conf);

/* an outbound by name, resolved when the configuration ends */
hm_int_t hm_pipeline_outbound_ref(hm_conf_t *cf, hm_str_t *name,
    hm_pipeline_outbound_t **obp);

/* a filter that returned HM_AGAIN goes on (rc: its final handler rc) */
void hm_pipeline_continue(hm_msg_t *m, hm_int_t rc);

/* a filter's outcome hook that returned HM_AGAIN runs the rest again */
void hm_pipeline_resume(hm_msg_t *m, hm_uint_t step);

/* the outbound reports a send that returned HM_AGAIN */
void hm_pipeline_send_done(hm_msg_t *m, hm_int_t rc);
void hm_pipeline_outbound_ready(hm_pipeline_outbound_t *ob);

/*
 * Fan-out: one child per target, sharing the body and copying the
 * headers, each running the rest of the chain; the message settles when
 * all children have.  Returns HM_DONE (the filter's handler returns it),
 * or HM_ERROR.
 */
hm_int_t hm_pipeline_fanout(hm_msg_t *m, hm_pipeline_outbound_t **targets,
    hm_uint_t n);

void hm_msg_set_error(hm_msg_t *m, hm_uint_t err_class, const char *fmt,
    ...);


/* -- the message API ------------------------------------------------- */

hm_msg_header_t *hm_msg_header_find(hm_msg_t *m, u_char *name, size_t len);
/* for "$..._header_x_trace": "x-trace", then "x_trace" (case-insensitive) */
hm_msg_header_t *hm_msg_headers_variable(hm_array_t *headers,
    hm_str_t *suffix);
hm_int_t hm_msg_header_set(hm_msg_t *m, hm_str_t *name, hm_str_t *value);
hm_int_t hm_msg_header_add(hm_msg_t *m, hm_str_t *name, hm_str_t *value);
hm_uint_t hm_msg_header_remove(hm_msg_t *m, u_char *name, size_t len);

/* replaces the body; the old buffers are left to their owner */
hm_int_t hm_msg_set_body(hm_msg_t *m, u_char *data, size_t len);

/* the body as one contiguous block (copied only when it is not one) */
hm_int_t hm_msg_body_flat(hm_msg_t *m, hm_str_t *body);

/*
 * The body parsed as JSON, cached in the message: NULL when it is not
 * JSON (m->json_invalid).  A filter that changes the tree in place calls
 * hm_msg_json_changed(); the body is re-serialized once, when it is next
 * needed (hm_msg_body_sync()).
 */
json_t *hm_msg_json(hm_msg_t *m);
void hm_msg_json_changed(hm_msg_t *m);
hm_int_t hm_msg_body_sync(hm_msg_t *m);

/* "application/json", "application/x+json", ... or no content type */
hm_uint_t hm_msg_is_json_type(hm_msg_t *m);


/* -- JSON paths: "$.a.b[2].c" or "a.b[2].c" -------------------------- */

typedef struct {
    hm_str_t                     key;       /* object member, or */
    hm_int_t                     index;     /* array index, -1: key */
} hm_json_path_elt_t;

typedef struct {
    hm_str_t                     text;
    hm_array_t                  *elts;      /* of hm_json_path_elt_t */
} hm_json_path_t;

/* NULL: compiled; else an error phrase for hm_conf_log_error() */
char *hm_json_path_compile(hm_pool_t *pool, hm_str_t *text,
    hm_json_path_t *path);
json_t *hm_json_path_get(json_t *root, hm_json_path_t *path);
/* creates missing objects on the way; HM_DECLINED: a type mismatch */
hm_int_t hm_json_path_set(json_t *root, hm_json_path_t *path, json_t *v);
/* steals nothing; HM_DECLINED: not there */
hm_int_t hm_json_path_remove(json_t *root, hm_json_path_t *path);
/*
 * Without a tree: a JSON text checked and copied without whitespace
 * (-1: not JSON); a JSON string or scalar at p checked and copied; the
 * escaped length of bytes as a JSON string (-1: not UTF-8), and escaping.
 */
ssize_t hm_json_compact(u_char *dst, u_char *src, size_t len);
ssize_t hm_json_string(u_char *dst, u_char *p, u_char *last);
ssize_t hm_json_scalar(u_char *dst, u_char *p, u_char *last);
ssize_t hm_json_escape_len(u_char *src, size_t len);
u_char *hm_json_escape(u_char *dst, u_char *src, size_t len);

/*
 * On the text, without a tree: the raw value at a path (HM_DECLINED: not
 * there), and a new text with the value at a path set to JSON text v.
 * HM_ERROR: not JSON; HM_AGAIN: this path needs a tree (array indexes,
 * escaped keys, a path through a non-object).
 */
hm_int_t hm_json_raw_get(hm_str_t *text, hm_json_path_t *path,
    hm_str_t *value);
hm_int_t hm_json_raw_set(hm_pool_t *pool, hm_str_t *text,
    hm_json_path_t *path, hm_str_t *v, hm_str_t *out);

/* v as compact JSON text from pool; expect: the likely length */
hm_int_t hm_json_dump(hm_pool_t *pool, json_t *v, size_t expect,
    hm_str_t *out);

/* a scalar as text ("42", "true", the string itself); objects dumped */
hm_int_t hm_json_to_str(hm_pool_t *pool, json_t *v, hm_str_t *out);


/* the framework's own, between its files */
void hm_pipeline_unaccount(hm_pipeline_t *p, hm_msg_t *m);
hm_int_t hm_msg_make_id(hm_msg_t *m);
hm_msg_t *hm_msg_clone(hm_msg_t *m);
hm_int_t hm_pipeline_variables_add(hm_cycle_t *cycle);


/* the helpers every pipeline directive handler needs */
#define hm_pipeline_conf_get_main_conf(cycle)                                 \
    ((hm_pipeline_main_conf_t *) (cycle)->conf_ctx[hm_pipeline_module.index])

extern hm_module_t  hm_pipeline_module;
extern hm_module_t  hm_pipeline_core_module;


#endif /* _HM_PIPELINE_H_INCLUDED_ */
