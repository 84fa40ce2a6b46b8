/*
 * Copyright (C) hermod authors
 *
 * "status;": the metrics of every worker in the Prometheus text format.
 * The HTTP counters are registered here and updated by the HTTP core.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


static char *hm_http_status(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static hm_int_t hm_http_status_handler(hm_http_request_t *r);
static hm_int_t hm_http_status_init(hm_conf_t *cf);


hm_http_metrics_t  hm_http_metrics;


static hm_command_t  hm_http_status_commands[] = {

    { hm_string("status"),
      HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_NOARGS,
      hm_http_status,
      0,
      0,
      NULL,
      "Serve the metrics of all workers in the Prometheus text format." },

      hm_null_command
};


static hm_http_module_t  hm_http_status_module_ctx = {
    hm_http_status_init,                   /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL,                                  /* merge location configuration */

    { NULL, NULL, NULL, NULL }
};


hm_module_t  hm_http_status_module = {
    HM_MODULE_V1,
    &hm_http_status_module_ctx,            /* module context */
    hm_http_status_commands,               /* module directives */
    HM_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_int_t
hm_http_status_handler(hm_http_request_t *r)
{
    size_t     len;
    hm_str_t   body, ct;

    if (!(r->method & (HM_HTTP_GET|HM_HTTP_HEAD))) {
        return HM_HTTP_NOT_ALLOWED;
    }

    len = hm_metrics_render_size((hm_cycle_t *) hm_cycle);

    body.data = hm_pnalloc(r->pool, len + 1);
    if (body.data == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = hm_metrics_render((hm_cycle_t *) hm_cycle, body.data,
                                 body.data + len)
               - body.data;

    hm_str_set(&ct, "text/plain; version=0.0.4");

    return hm_http_send_response(r, HM_HTTP_OK, &ct, &body);
}


static char *
hm_http_status(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_loc_conf_t  *clcf;

    clcf = hm_http_conf_get_module_loc_conf(cf, hm_http_core_module);

    if (clcf->handler) {
        return "conflicts with another handler of this location";
    }

    clcf->handler = hm_http_status_handler;

    return HM_CONF_OK;
}


static hm_int_t
hm_http_status_init(hm_conf_t *cf)
{
    hm_str_t            label;
    hm_uint_t           i;
    hm_http_metrics_t  *m;

    static char  *classes[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };

    m = &hm_http_metrics;

    hm_memzero(m, sizeof(hm_http_metrics_t));

    m->accepted = hm_metric_add(cf->cycle,
                      "hermod_http_connections_accepted_total",
                      "HTTP connections accepted.", NULL, HM_METRIC_COUNTER);
    m->active = hm_metric_add(cf->cycle, "hermod_http_connections_active",
                      "HTTP connections open.", NULL, HM_METRIC_GAUGE);
    m->reading = hm_metric_add(cf->cycle, "hermod_http_connections_reading",
                      "Connections reading a request header.", NULL,
                      HM_METRIC_GAUGE);
    m->writing = hm_metric_add(cf->cycle, "hermod_http_connections_writing",
                      "Connections processing a request.", NULL,
                      HM_METRIC_GAUGE);
    m->idle = hm_metric_add(cf->cycle, "hermod_http_connections_idle",
                      "Keep-alive connections waiting for a request.", NULL,
                      HM_METRIC_GAUGE);
    m->requests = hm_metric_add(cf->cycle, "hermod_http_requests_total",
                      "HTTP requests.", NULL, HM_METRIC_COUNTER);

    for (i = 0; i < 5; i++) {
        label.data = hm_pnalloc(cf->pool, sizeof("code=\"1xx\"") - 1);
        if (label.data == NULL) {
            return HM_ERROR;
        }

        label.len = hm_sprintf(label.data, "code=\"%s\"", classes[i])
                    - label.data;

        m->responses[i] = hm_metric_add(cf->cycle,
                              "hermod_http_responses_total",
                              "HTTP responses by status class.", &label,
                              HM_METRIC_COUNTER);
    }

    if (m->accepted == NULL || m->active == NULL || m->reading == NULL
        || m->writing == NULL || m->idle == NULL || m->requests == NULL)
    {
        return HM_ERROR;
    }

    return HM_OK;
}
