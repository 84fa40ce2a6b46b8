/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_HTTP_CORE_MODULE_H_INCLUDED_
#define _HM_HTTP_CORE_MODULE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


#define HM_HTTP_SERVER_TOKENS_OFF   0
#define HM_HTTP_SERVER_TOKENS_ON    1


typedef struct hm_http_location_tree_node_s  hm_http_location_tree_node_t;
typedef struct hm_http_core_loc_conf_s  hm_http_core_loc_conf_t;


typedef struct {
    struct sockaddr                   *sockaddr;
    socklen_t                          socklen;
    hm_str_t                           addr_text;

    unsigned                           set:1;
    unsigned                           default_server:1;
    unsigned                           bind:1;
    unsigned                           wildcard:1;
    unsigned                           ssl:1;
    unsigned                           http2:1;
    unsigned                           reuseport:1;
    unsigned                           proxy_protocol:1;

    int                                backlog;
    int                                rcvbuf;
    int                                sndbuf;

    hm_conf_location_t                 where;
} hm_http_listen_opt_t;


typedef enum {
    HM_HTTP_POST_READ_PHASE = 0,

    HM_HTTP_SERVER_REWRITE_PHASE,

    HM_HTTP_FIND_CONFIG_PHASE,
    HM_HTTP_REWRITE_PHASE,

    HM_HTTP_PREACCESS_PHASE,

    HM_HTTP_ACCESS_PHASE,

    HM_HTTP_PRECONTENT_PHASE,

    HM_HTTP_CONTENT_PHASE,

    HM_HTTP_LOG_PHASE
} hm_http_phases;

typedef struct hm_http_phase_handler_s  hm_http_phase_handler_t;

typedef hm_int_t (*hm_http_phase_handler_pt)(hm_http_request_t *r,
    hm_http_phase_handler_t *ph);

struct hm_http_phase_handler_s {
    hm_http_phase_handler_pt           checker;
    hm_http_handler_pt                 handler;
    hm_uint_t                          next;
};


typedef struct {
    hm_http_phase_handler_t           *handlers;
    hm_uint_t                          server_rewrite_index;
    hm_uint_t                          location_rewrite_index;
} hm_http_phase_engine_t;


typedef struct {
    hm_array_t                         handlers;
} hm_http_phase_t;


typedef struct {
    hm_array_t                         servers;      /* hm_http_core_srv_conf_t */

    hm_http_phase_engine_t             phase_engine;

    hm_hash_t                          headers_in_hash;

    hm_array_t                        *ports;

    hm_http_phase_t                    phases[HM_HTTP_LOG_PHASE + 1];

    void                              *spare[4];
} hm_http_core_main_conf_t;


typedef struct {
    hm_str_t                           name;
    hm_regex_t                        *regex;
    unsigned                           wildcard_head:1;  /* "*.a.com" */
    unsigned                           wildcard_tail:1;  /* "www.a.*" */
    struct hm_http_core_srv_conf_s    *server;
} hm_http_server_name_t;


typedef struct hm_http_core_srv_conf_s {
    hm_array_t                         server_names;  /* hm_http_server_name_t */

    /* server ctx */
    hm_http_conf_ctx_t                *ctx;

    hm_conf_location_t                 where;

    hm_str_t                           server_name;

    size_t                             connection_pool_size;
    size_t                             request_pool_size;
    size_t                             client_header_buffer_size;

    hm_bufs_t                          large_client_header_buffers;

    hm_msec_t                          client_header_timeout;

    hm_flag_t                          ignore_invalid_headers;
    hm_flag_t                          merge_slashes;
    hm_flag_t                          underscores_in_headers;

    unsigned                           listen:1;

    hm_http_core_loc_conf_t          **named_locations;

    void                              *spare[4];
} hm_http_core_srv_conf_t;


/* list of structures to find core_srv_conf quickly at run time */

struct hm_http_addr_conf_s {
    /* the default server configuration for this address:port */
    hm_http_core_srv_conf_t           *default_server;

    hm_hash_t                          names;        /* exact names */
    hm_array_t                        *wildcards;    /* and regexes */

    unsigned                           ssl:1;
    unsigned                           http2:1;
    unsigned                           proxy_protocol:1;
};


typedef struct {
    hm_http_listen_opt_t               opt;
    hm_array_t                         servers;  /* hm_http_core_srv_conf_t */
} hm_http_conf_addr_t;


typedef struct {
    hm_int_t                           status;
    hm_int_t                           overwrite;
    hm_complex_value_t                 value;
    hm_str_t                           args;
} hm_http_err_page_t;


typedef struct {
    hm_str_t                           name;
    hm_complex_value_t                 value;
    hm_uint_t                          always;
} hm_http_add_header_t;


struct hm_http_core_loc_conf_s {
    hm_str_t                           name;         /* location name */

    hm_regex_t                        *regex;

    unsigned                           exact_match:1;
    unsigned                           noregex:1;
    unsigned                           named:1;
    unsigned                           caseless:1;
    unsigned                           return_from_server:1;

    hm_http_core_loc_conf_t           *parent;

    /* pointer to the modules' loc_conf */
    void                             **loc_conf;

    /* the content handler a module sets for this location */
    hm_http_handler_pt                 handler;

    hm_str_t                           root;
    hm_str_t                           alias;
    hm_str_t                           default_type;

    off_t                              client_max_body_size;
    size_t                             client_body_buffer_size;

    hm_msec_t                          client_body_timeout;
    hm_msec_t                          send_timeout;
    hm_msec_t                          keepalive_timeout;
    hm_msec_t                          lingering_time;
    hm_msec_t                          lingering_timeout;

    hm_uint_t                          keepalive_requests;
    hm_uint_t                          lingering_close;
    hm_uint_t                          server_tokens;

    hm_flag_t                          internal;
    hm_flag_t                          sendfile;
    hm_flag_t                          tcp_nodelay;
    hm_flag_t                          log_not_found;
    hm_flag_t                          chunked_transfer_encoding;
    hm_flag_t                          absolute_redirect;

    hm_array_t                        *error_pages;  /* hm_http_err_page_t */
    hm_array_t                        *add_headers;  /* hm_http_add_header_t */

    /* "return" */
    hm_uint_t                          return_code;
    hm_complex_value_t                *return_text;

    /* "index" of the static module */
    hm_array_t                        *index;        /* hm_str_t */

    hm_queue_t                        *locations;

    hm_conf_location_t                 where;

    void                              *spare[8];
};


typedef struct {
    hm_queue_t                         queue;
    hm_http_core_loc_conf_t           *exact;
    hm_http_core_loc_conf_t           *inclusive;
    hm_str_t                          *name;
    u_char                            *file_name;
    hm_uint_t                          line;
    hm_queue_t                         list;
} hm_http_location_queue_t;


void hm_http_core_run_phases(hm_http_request_t *r);
hm_int_t hm_http_core_generic_phase(hm_http_request_t *r,
    hm_http_phase_handler_t *ph);
hm_int_t hm_http_core_find_config_phase(hm_http_request_t *r,
    hm_http_phase_handler_t *ph);
hm_int_t hm_http_core_content_phase(hm_http_request_t *r,
    hm_http_phase_handler_t *ph);

hm_int_t hm_http_set_content_type(hm_http_request_t *r);
void hm_http_set_exten(hm_http_request_t *r);
u_char *hm_http_map_uri_to_path(hm_http_request_t *r, hm_str_t *name,
    size_t *root_length, size_t reserved);
hm_int_t hm_http_internal_redirect(hm_http_request_t *r,
    hm_str_t *uri, hm_str_t *args);
hm_int_t hm_http_named_location(hm_http_request_t *r, hm_str_t *name);
hm_http_cleanup_t *hm_http_cleanup_add(hm_http_request_t *r, size_t size);

hm_int_t hm_http_find_virtual_server(hm_connection_t *c,
    hm_http_addr_conf_t *addr_conf, hm_str_t *host,
    hm_http_core_srv_conf_t **cscfp);


extern hm_module_t  hm_http_core_module;

extern hm_uint_t hm_http_max_module;

extern hm_str_t  hm_http_core_get_method;


#define hm_http_clear_content_length(r)                                       \
                                                                              \
    r->headers_out.content_length_n = -1;                                     \
    if (r->headers_out.content_length) {                                      \
        r->headers_out.content_length->hash = 0;                              \
        r->headers_out.content_length = NULL;                                 \
    }

#define hm_http_clear_accept_ranges(r)                                        \
                                                                              \
    r->allow_ranges = 0;

#define hm_http_clear_last_modified(r)                                        \
                                                                              \
    r->headers_out.last_modified_time = -1;                                   \
    if (r->headers_out.last_modified) {                                       \
        r->headers_out.last_modified->hash = 0;                               \
        r->headers_out.last_modified = NULL;                                  \
    }

#define hm_http_clear_location(r)                                             \
                                                                              \
    if (r->headers_out.location) {                                            \
        r->headers_out.location->hash = 0;                                    \
        r->headers_out.location = NULL;                                       \
    }

#define hm_http_clear_etag(r)                                                 \
                                                                              \
    if (r->headers_out.etag) {                                                \
        r->headers_out.etag->hash = 0;                                        \
        r->headers_out.etag = NULL;                                           \
    }


#endif /* _HM_HTTP_CORE_MODULE_H_INCLUDED_ */
