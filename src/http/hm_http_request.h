/*
 * Copyright (C) hermod authors
 *
 * The request model: one per request, whatever the HTTP version.
 */

#ifndef _HM_HTTP_REQUEST_H_INCLUDED_
#define _HM_HTTP_REQUEST_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_HTTP_MAX_URI_CHANGES           10
#define HM_HTTP_DISCARD_BUFFER_SIZE       4096
#define HM_HTTP_LINGERING_BUFFER_SIZE     4096

#define HM_HTTP_VERSION_9                 9
#define HM_HTTP_VERSION_10                1000
#define HM_HTTP_VERSION_11                1001
#define HM_HTTP_VERSION_20                2000


#define HM_HTTP_CONTINUE                  100
#define HM_HTTP_SWITCHING_PROTOCOLS       101

#define HM_HTTP_OK                        200
#define HM_HTTP_CREATED                   201
#define HM_HTTP_ACCEPTED                  202
#define HM_HTTP_NO_CONTENT                204
#define HM_HTTP_PARTIAL_CONTENT           206

#define HM_HTTP_SPECIAL_RESPONSE          300
#define HM_HTTP_MOVED_PERMANENTLY         301
#define HM_HTTP_MOVED_TEMPORARILY         302
#define HM_HTTP_SEE_OTHER                 303
#define HM_HTTP_NOT_MODIFIED              304
#define HM_HTTP_TEMPORARY_REDIRECT        307
#define HM_HTTP_PERMANENT_REDIRECT        308

#define HM_HTTP_BAD_REQUEST               400
#define HM_HTTP_UNAUTHORIZED              401
#define HM_HTTP_FORBIDDEN                 403
#define HM_HTTP_NOT_FOUND                 404
#define HM_HTTP_NOT_ALLOWED               405
#define HM_HTTP_REQUEST_TIME_OUT          408
#define HM_HTTP_CONFLICT                  409
#define HM_HTTP_LENGTH_REQUIRED           411
#define HM_HTTP_PRECONDITION_FAILED       412
#define HM_HTTP_REQUEST_ENTITY_TOO_LARGE  413
#define HM_HTTP_REQUEST_URI_TOO_LARGE     414
#define HM_HTTP_UNSUPPORTED_MEDIA_TYPE    415
#define HM_HTTP_RANGE_NOT_SATISFIABLE     416
#define HM_HTTP_MISDIRECTED_REQUEST       421
#define HM_HTTP_TOO_MANY_REQUESTS         429
#define HM_HTTP_REQUEST_HEADER_TOO_LARGE  431

/* nginx's own: close the connection without a response */
#define HM_HTTP_CLOSE                     444

#define HM_HTTP_CLIENT_CLOSED_REQUEST     499

#define HM_HTTP_INTERNAL_SERVER_ERROR     500
#define HM_HTTP_NOT_IMPLEMENTED           501
#define HM_HTTP_BAD_GATEWAY               502
#define HM_HTTP_SERVICE_UNAVAILABLE       503
#define HM_HTTP_GATEWAY_TIME_OUT          504
#define HM_HTTP_VERSION_NOT_SUPPORTED     505
#define HM_HTTP_INSUFFICIENT_STORAGE      507


#define HM_HTTP_LOWLEVEL_BUFFERED         0xf0
#define HM_HTTP_WRITE_BUFFERED            0x10


typedef enum {
    HM_HTTP_INITING_REQUEST_STATE = 0,
    HM_HTTP_READING_REQUEST_STATE,
    HM_HTTP_PROCESS_REQUEST_STATE,

    HM_HTTP_CONNECT_UPSTREAM_STATE,
    HM_HTTP_WRITING_UPSTREAM_STATE,
    HM_HTTP_READING_UPSTREAM_STATE,

    HM_HTTP_WRITING_REQUEST_STATE,
    HM_HTTP_LINGERING_CLOSE_STATE,
    HM_HTTP_KEEPALIVE_STATE
} hm_http_state_e;


typedef struct {
    hm_str_t                          name;
    hm_uint_t                         offset;
    hm_http_header_handler_pt         handler;
} hm_http_header_t;


typedef struct {
    hm_list_t                         headers;    /* of hm_table_elt_t */

    hm_table_elt_t                   *host;
    hm_table_elt_t                   *connection;
    hm_table_elt_t                   *if_modified_since;
    hm_table_elt_t                   *user_agent;
    hm_table_elt_t                   *referer;
    hm_table_elt_t                   *content_length;
    hm_table_elt_t                   *content_type;
    hm_table_elt_t                   *transfer_encoding;
    hm_table_elt_t                   *te;
    hm_table_elt_t                   *expect;
    hm_table_elt_t                   *upgrade;
    hm_table_elt_t                   *authorization;
    hm_table_elt_t                   *keep_alive;
    hm_table_elt_t                   *x_forwarded_for;
    hm_table_elt_t                   *x_real_ip;
    hm_table_elt_t                   *cookie;

    hm_str_t                          server;    /* the host, validated */
    off_t                             content_length_n;
    time_t                            keep_alive_n;

    unsigned                          connection_type:2;
    unsigned                          chunked:1;
    unsigned                          msie:1;

    void                             *spare[4];
} hm_http_headers_in_t;


typedef struct {
    hm_list_t                         headers;    /* of hm_table_elt_t */
    hm_list_t                         trailers;

    hm_uint_t                         status;
    hm_str_t                          status_line;

    hm_table_elt_t                   *server;
    hm_table_elt_t                   *date;
    hm_table_elt_t                   *content_length;
    hm_table_elt_t                   *content_encoding;
    hm_table_elt_t                   *location;
    hm_table_elt_t                   *last_modified;
    hm_table_elt_t                   *etag;

    hm_str_t                          content_type;
    hm_str_t                          charset;

    off_t                             content_length_n;
    time_t                            last_modified_time;

    void                             *spare[4];
} hm_http_headers_out_t;


typedef void (*hm_http_client_body_handler_pt)(hm_http_request_t *r);

typedef struct {
    hm_file_t                        *temp_file;
    hm_chain_t                       *bufs;      /* the body read so far */
    hm_buf_t                         *buf;       /* the current input */
    off_t                             rest;      /* bytes still to read */
    off_t                             received;
    hm_chain_t                       *free;
    hm_chain_t                       *busy;
    hm_http_chunked_t                *chunked;
    hm_http_client_body_handler_pt    post_handler;

    unsigned                          filter_need_buffering:1;
    unsigned                          last_sent:1;
    unsigned                          last_saved:1;
} hm_http_request_body_t;


typedef struct hm_http_addr_conf_s  hm_http_addr_conf_t;

typedef struct {
    hm_http_addr_conf_t              *addr_conf;
    hm_http_conf_ctx_t               *conf_ctx;

    hm_chain_t                       *busy;      /* large header buffers */
    hm_int_t                          nbusy;

    hm_chain_t                       *free;

    unsigned                          ssl:1;
    unsigned                          proxy_protocol:1;
    unsigned                          keepalive:1;
} hm_http_connection_t;


typedef struct hm_http_cleanup_s  hm_http_cleanup_t;
typedef void (*hm_http_cleanup_pt)(void *data);

struct hm_http_cleanup_s {
    hm_http_cleanup_pt                handler;
    void                             *data;
    hm_http_cleanup_t                *next;
};


typedef void (*hm_http_event_handler_pt)(hm_http_request_t *r);


struct hm_http_request_s {
    uint32_t                          signature;         /* "HTTP" */

    hm_connection_t                  *connection;

    void                            **ctx;
    void                            **main_conf;
    void                            **srv_conf;
    void                            **loc_conf;

    hm_http_event_handler_pt          read_event_handler;
    hm_http_event_handler_pt          write_event_handler;

    hm_http_upstream_t               *upstream;

    hm_pool_t                        *pool;
    hm_buf_t                         *header_in;

    hm_http_headers_in_t              headers_in;
    hm_http_headers_out_t             headers_out;

    hm_http_request_body_t           *request_body;

    time_t                            lingering_time;
    time_t                            start_sec;
    hm_msec_t                         start_msec;

    hm_uint_t                         method;
    hm_uint_t                         http_version;

    hm_str_t                          request_line;
    hm_str_t                          uri;
    hm_str_t                          args;
    hm_str_t                          exten;
    hm_str_t                          unparsed_uri;

    hm_str_t                          method_name;
    hm_str_t                          http_protocol;
    hm_str_t                          schema;

    hm_chain_t                       *out;
    hm_http_request_t                *main;

    hm_http_log_handler_pt            log_handler;

    hm_http_cleanup_t                *cleanup;

    hm_http_parse_t                   parse;

    hm_uint_t                         err_status;
    hm_uint_t                         header_size;
    off_t                             request_length;

    hm_http_connection_t             *http_connection;

    hm_uint_t                         phase_handler;
    hm_http_handler_pt                content_handler;

    hm_uint_t                         count;          /* references */

    /* the request id for $request_id: 16 random bytes, hex */
    u_char                            id[32];

    unsigned                          uri_changes:4;

    unsigned                          request_body_in_single_buf:1;
    unsigned                          request_body_in_file_only:1;
    unsigned                          request_body_no_buffering:1;
    unsigned                          request_body_in_memory:1;

    unsigned                          internal:1;
    unsigned                          error_page:1;
    unsigned                          header_only:1;
    unsigned                          keepalive:1;
    unsigned                          lingering_close:1;
    unsigned                          discard_body:1;
    unsigned                          reading_body:1;
    unsigned                          header_sent:1;
    unsigned                          expect_tested:1;
    unsigned                          chunked:1;
    unsigned                          done:1;
    unsigned                          logged:1;
    unsigned                          buffered:4;
    unsigned                          main_filter_need_in_memory:1;
    unsigned                          allow_ranges:1;
    unsigned                          root_tested:1;
    unsigned                          terminated:1;
    unsigned                          blocked:8;
    unsigned                          upgrade:1;
    unsigned                          id_set:1;
    unsigned                          pipeline:1;
    unsigned                          stat_reading:1;
    unsigned                          stat_writing:1;

    unsigned                          http_state:4;

    void                             *spare[8];
};


#define HM_HTTP_CONNECTION_CLOSE          1
#define HM_HTTP_CONNECTION_KEEP_ALIVE     2


extern hm_http_header_t  hm_http_headers_in[];


#endif /* _HM_HTTP_REQUEST_H_INCLUDED_ */
