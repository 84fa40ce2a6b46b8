/*
 * Copyright (C) hermod authors
 *
 * The HTTP framework: what an HTTP module (in tree or a shared object)
 * includes.  One request model serves HTTP/1.1 here and HTTP/2 later.
 */

#ifndef _HM_HTTP_H_INCLUDED_
#define _HM_HTTP_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct hm_http_request_s     hm_http_request_t;
typedef struct hm_http_upstream_s    hm_http_upstream_t;
typedef struct hm_http_log_ctx_s     hm_http_log_ctx_t;

typedef hm_int_t (*hm_http_header_handler_pt)(hm_http_request_t *r,
    hm_table_elt_t *h, hm_uint_t offset);
typedef u_char *(*hm_http_log_handler_pt)(hm_http_request_t *r,
    u_char *buf, size_t len);
typedef hm_int_t (*hm_http_handler_pt)(hm_http_request_t *r);


#include <hm_http_parse.h>
#include <hm_http_config.h>
#include <hm_http_request.h>
#include <hm_http_core_module.h>
#include <hm_http_variables.h>
#include <hm_http_upstream.h>


struct hm_http_log_ctx_s {
    hm_connection_t    *connection;
    hm_http_request_t  *request;
    hm_http_request_t  *current_request;
};


#define hm_http_get_module_ctx(r, module)  (r)->ctx[module.ctx_index]
#define hm_http_set_ctx(r, c, module)      r->ctx[module.ctx_index] = c;


hm_int_t hm_http_add_location(hm_conf_t *cf, hm_queue_t **locations,
    hm_http_core_loc_conf_t *clcf);
hm_int_t hm_http_add_listen(hm_conf_t *cf, hm_http_core_srv_conf_t *cscf,
    hm_http_listen_opt_t *lsopt);

void hm_http_init_connection(hm_connection_t *c);
void hm_http_wait_request_handler(hm_event_t *rev);
hm_http_request_t *hm_http_create_request(hm_connection_t *c);
hm_int_t hm_http_ssl_init_connection(hm_connection_t *c);
void hm_http_discarded_request_body_handler(hm_http_request_t *r);
void hm_http_close_connection(hm_connection_t *c);

hm_int_t hm_http_process_request_uri(hm_http_request_t *r);
hm_int_t hm_http_process_request_header(hm_http_request_t *r);
void hm_http_process_request(hm_http_request_t *r);
void hm_http_update_location_config(hm_http_request_t *r);
void hm_http_handler(hm_http_request_t *r);
void hm_http_request_handler(hm_event_t *ev);
void hm_http_finalize_request(hm_http_request_t *r, hm_int_t rc);
void hm_http_free_request(hm_http_request_t *r, hm_int_t rc);
void hm_http_close_request(hm_http_request_t *r, hm_int_t rc);
void hm_http_terminate_request(hm_http_request_t *r, hm_int_t rc);

void hm_http_empty_handler(hm_event_t *wev);
void hm_http_request_empty_handler(hm_http_request_t *r);
void hm_http_block_reading(hm_http_request_t *r);
void hm_http_test_reading(hm_http_request_t *r);

/*
 * The request body.  Buffered: the whole body is read (into memory up to
 * client_body_buffer_size, then into a temporary file) and post_handler
 * runs once.  Unbuffered (r->request_body_no_buffering): post_handler runs
 * whenever new data is in r->request_body->bufs; the consumer takes it and
 * calls hm_http_read_unbuffered_request_body() for more, so at most one
 * buffer of body is held: a slow consumer stops the reading.
 */
hm_int_t hm_http_read_client_request_body(hm_http_request_t *r,
    hm_http_client_body_handler_pt post_handler);
hm_int_t hm_http_read_unbuffered_request_body(hm_http_request_t *r);
hm_int_t hm_http_discard_request_body(hm_http_request_t *r);
hm_int_t hm_http_discard_decode(hm_http_request_t *r, hm_buf_t *b);

/* the body read so far as a chain: memory buffers or one file buffer */
hm_chain_t *hm_http_request_body_chain(hm_http_request_t *r);

void hm_http_output_init(void);

hm_int_t hm_http_special_response_handler(hm_http_request_t *r,
    hm_int_t error);

hm_int_t hm_http_send_header(hm_http_request_t *r);
hm_int_t hm_http_output_filter(hm_http_request_t *r, hm_chain_t *chain);
hm_int_t hm_http_write_filter(hm_http_request_t *r, hm_chain_t *chain);

/* a complete small response: status, Content-Type and a body */
hm_int_t hm_http_send_response(hm_http_request_t *r, hm_uint_t status,
    hm_str_t *ct, hm_str_t *body);

hm_table_elt_t *hm_http_add_response_header(hm_http_request_t *r,
    char *name, size_t nlen, u_char *value, size_t vlen);


typedef hm_int_t (*hm_http_output_header_filter_pt)(hm_http_request_t *r);
typedef hm_int_t (*hm_http_output_body_filter_pt)
    (hm_http_request_t *r, hm_chain_t *chain);

extern hm_http_output_header_filter_pt  hm_http_top_header_filter;
extern hm_http_output_body_filter_pt    hm_http_top_body_filter;

/* the HTTP counters of the metrics registry (the status module) */

typedef struct {
    hm_metric_t  *accepted;
    hm_metric_t  *active;
    hm_metric_t  *reading;
    hm_metric_t  *writing;
    hm_metric_t  *idle;
    hm_metric_t  *requests;
    hm_metric_t  *responses[5];
} hm_http_metrics_t;

extern hm_http_metrics_t  hm_http_metrics;

extern hm_module_t  hm_http_module;

extern hm_str_t  hm_http_html_default_types[];


#endif /* _HM_HTTP_H_INCLUDED_ */
