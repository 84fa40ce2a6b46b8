/*
 * Copyright (C) hermod authors
 *
 * The retry filter:
 *
 *     retry attempts=5 backoff=100ms..10s jitter timeout=2s
 *           retry_on=error,timeout,5xx;
 *
 * On its way forward it sets the per-try timeout; when a delivery after
 * it fails with a class in retry_on and attempts are left, it waits a
 * capped exponential backoff (with full jitter: a uniform delay between 0
 * and the backoff) on a timer and runs the rest of the chain again.  A
 * graceful stop waits for retries in progress as long as the inbound that
 * holds the message keeps the worker (up to worker_shutdown_timeout).
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_pipeline.h>


typedef struct {
    hm_uint_t                   attempts;
    hm_msec_t                   base;
    hm_msec_t                   max;
    hm_msec_t                   timeout;
    hm_uint_t                   retry_on;
    hm_uint_t                   index;     /* in the chain */
    unsigned                    jitter:1;
} hm_retry_conf_t;


static char *hm_pipeline_retry(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static char *hm_retry_parse_backoff(hm_str_t *v, hm_retry_conf_t *rcf);
static char *hm_retry_parse_classes(hm_str_t *v, hm_retry_conf_t *rcf);
static hm_int_t hm_pipeline_retry_handler(hm_msg_t *m, void *conf);
static hm_int_t hm_pipeline_retry_outcome(hm_msg_t *m, void *conf,
    hm_int_t rc);
static void hm_pipeline_retry_timer(hm_event_t *ev);


static hm_conf_bitmask_t  hm_retry_classes[] = {
    { hm_string("connect"), HM_MSG_ERR_CONNECT },
    { hm_string("error"), HM_MSG_ERR_CONNECT|HM_MSG_ERR_ERROR },
    { hm_string("timeout"), HM_MSG_ERR_TIMEOUT },
    { hm_string("5xx"), HM_MSG_ERR_5XX },
    { hm_string("429"), HM_MSG_ERR_429 },
    { hm_string("4xx"), HM_MSG_ERR_4XX|HM_MSG_ERR_429 },
    { hm_string("nack"), HM_MSG_ERR_NACK },
    { hm_string("full"), HM_MSG_ERR_FULL },
    { hm_string("any"), HM_MSG_ERR_CONNECT|HM_MSG_ERR_ERROR
                        |HM_MSG_ERR_TIMEOUT|HM_MSG_ERR_5XX|HM_MSG_ERR_429
                        |HM_MSG_ERR_4XX|HM_MSG_ERR_NACK|HM_MSG_ERR_FULL },
    { hm_null_string, 0 }
};


static hm_command_t  hm_pipeline_retry_commands[] = {

    { hm_string("retry"),
      HM_PIPELINE_CONF|HM_CONF_ANY,
      hm_pipeline_retry,
      0,
      0,
      NULL,
      "Retry failed deliveries: attempts, backoff, jitter, timeout, "
      "retry_on." },

      hm_null_command
};


static hm_pipeline_module_t  hm_pipeline_retry_module_ctx = {
    NULL,
    NULL,
    { NULL, NULL, NULL }
};


hm_module_t  hm_pipeline_retry_module = {
    HM_MODULE_V1,
    &hm_pipeline_retry_module_ctx,         /* module context */
    hm_pipeline_retry_commands,            /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static char *
hm_pipeline_retry(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_pipeline_t  *p = conf;

    char             *err;
    hm_int_t          n;
    hm_str_t         *value, v, name;
    hm_uint_t         i;
    hm_retry_conf_t  *rcf;

    rcf = hm_pcalloc(cf->pool, sizeof(hm_retry_conf_t));
    if (rcf == NULL) {
        return HM_CONF_ERROR;
    }

    rcf->attempts = 3;
    rcf->base = 100;
    rcf->max = 10000;
    rcf->jitter = 1;
    rcf->retry_on = HM_MSG_ERR_CONNECT|HM_MSG_ERR_ERROR|HM_MSG_ERR_TIMEOUT
                    |HM_MSG_ERR_5XX|HM_MSG_ERR_429|HM_MSG_ERR_NACK;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        err = NULL;

        if (hm_strncmp(value[i].data, "attempts=", 9) == 0) {
            n = hm_atoi(value[i].data + 9, value[i].len - 9);
            if (n <= 0) {
                err = "invalid attempts";
            }

            rcf->attempts = n;

        } else if (hm_strncmp(value[i].data, "backoff=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;
            err = hm_retry_parse_backoff(&v, rcf);

        } else if (hm_strncmp(value[i].data, "timeout=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;
            rcf->timeout = hm_parse_time(&v, 0);
            if (rcf->timeout == (hm_msec_t) HM_ERROR) {
                err = "invalid timeout";
            }

        } else if (hm_strncmp(value[i].data, "retry_on=", 9) == 0) {
            v.data = value[i].data + 9;
            v.len = value[i].len - 9;
            err = hm_retry_parse_classes(&v, rcf);

        } else if (hm_strcmp(value[i].data, "jitter") == 0) {
            rcf->jitter = 1;

        } else if (hm_strcmp(value[i].data, "jitter=off") == 0
                   || hm_strcmp(value[i].data, "nojitter") == 0)
        {
            rcf->jitter = 0;

        } else {
            err = "unknown parameter";
        }

        if (err) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s \"%V\"", err,
                              &value[i]);
            return HM_CONF_ERROR;
        }
    }

    rcf->index = p->filters.nelts;

    hm_str_set(&name, "retry");

    if (hm_pipeline_add_filter(cf, p, &name, hm_pipeline_retry_handler,
                               hm_pipeline_retry_outcome, rcf)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* "100ms..10s" or "1s" (constant) */

static char *
hm_retry_parse_backoff(hm_str_t *v, hm_retry_conf_t *rcf)
{
    u_char    *dots;
    hm_str_t   a, b;

    for (dots = v->data; dots + 1 < v->data + v->len; dots++) {
        if (dots[0] == '.' && dots[1] == '.') {
            break;
        }
    }

    if (dots + 1 >= v->data + v->len) {
        dots = NULL;
    }

    a.data = v->data;
    a.len = dots ? (size_t) (dots - v->data) : v->len;

    rcf->base = hm_parse_time(&a, 0);
    if (rcf->base == (hm_msec_t) HM_ERROR) {
        return "invalid backoff";
    }

    if (dots == NULL) {
        rcf->max = rcf->base;
        return NULL;
    }

    b.data = dots + 2;
    b.len = v->data + v->len - b.data;

    rcf->max = hm_parse_time(&b, 0);
    if (rcf->max == (hm_msec_t) HM_ERROR || rcf->max < rcf->base) {
        return "invalid backoff";
    }

    return NULL;
}


static char *
hm_retry_parse_classes(hm_str_t *v, hm_retry_conf_t *rcf)
{
    u_char             *p, *last, *start;
    hm_uint_t           i;
    hm_conf_bitmask_t  *c;

    rcf->retry_on = 0;

    p = v->data;
    last = p + v->len;

    while (p < last) {
        start = p;

        while (p < last && *p != ',') {
            p++;
        }

        for (i = 0, c = hm_retry_classes; c[i].name.len; i++) {
            if (c[i].name.len == (size_t) (p - start)
                && hm_strncmp(c[i].name.data, start, p - start) == 0)
            {
                rcf->retry_on |= c[i].mask;
                break;
            }
        }

        if (c[i].name.len == 0) {
            return "unknown retry_on class in";
        }

        p++;
    }

    return NULL;
}


static hm_int_t
hm_pipeline_retry_handler(hm_msg_t *m, void *conf)
{
    hm_retry_conf_t  *rcf = conf;

    m->try_timeout = rcf->timeout;

    return HM_OK;
}


static hm_int_t
hm_pipeline_retry_outcome(hm_msg_t *m, void *conf, hm_int_t rc)
{
    hm_retry_conf_t  *rcf = conf;

    uint32_t   r;
    hm_msec_t  delay;
    hm_uint_t  shift;

    if (!(m->err_class & rcf->retry_on) || m->attempts >= rcf->attempts) {
        return HM_DECLINED;
    }

    shift = hm_min(m->attempts - 1, 30);
    delay = rcf->base << shift;

    if (delay > rcf->max || (delay >> shift) != rcf->base) {
        delay = rcf->max;
    }

    if (rcf->jitter && delay) {
        if (hm_os_random((u_char *) &r, sizeof(r)) != HM_OK) {
            r = (uint32_t) hm_current_msec * 2654435761u;
        }

        delay = r % (delay + 1);
    }

    hm_log_error(HM_LOG_INFO, m->log, 0,
                 "message %V: retry %ui of %ui in %Mms", &m->id,
                 m->attempts, rcf->attempts - 1, delay);

    m->retry = rcf;
    m->timer.handler = hm_pipeline_retry_timer;
    m->timer.data = m;
    m->timer.log = m->log;

    /*
     * The inbound that holds the message (a client connection, a consumer)
     * keeps a stopping worker alive; the timer alone does not, so that
     * worker_shutdown_timeout bounds a stop even with long backoffs.
     */

    m->timer.cancelable = 1;

    hm_event_add_timer(&m->timer, delay ? delay : 1);

    return HM_AGAIN;
}


static void
hm_pipeline_retry_timer(hm_event_t *ev)
{
    hm_msg_t         *m = ev->data;
    hm_retry_conf_t  *rcf = m->retry;

    hm_pipeline_resume(m, rcf->index + 1);
}
