/*
 * Copyright (C) hermod authors
 *
 * Upstreams: server groups ("upstream NAME { server ...; }"), load
 * balancing (round robin, least_conn, hash, random), passive health
 * (max_fails, fail_timeout), keepalive connection pools, and the request
 * state machine that proxy modules drive through callbacks.
 */

#ifndef _HM_HTTP_UPSTREAM_H_INCLUDED_
#define _HM_HTTP_UPSTREAM_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


#define HM_HTTP_UPSTREAM_FT_ERROR            0x00000002
#define HM_HTTP_UPSTREAM_FT_TIMEOUT          0x00000004
#define HM_HTTP_UPSTREAM_FT_INVALID_HEADER   0x00000008
#define HM_HTTP_UPSTREAM_FT_HTTP_500         0x00000010
#define HM_HTTP_UPSTREAM_FT_HTTP_502         0x00000020
#define HM_HTTP_UPSTREAM_FT_HTTP_503         0x00000040
#define HM_HTTP_UPSTREAM_FT_HTTP_504         0x00000080
#define HM_HTTP_UPSTREAM_FT_HTTP_403         0x00000100
#define HM_HTTP_UPSTREAM_FT_HTTP_404         0x00000200
#define HM_HTTP_UPSTREAM_FT_HTTP_429         0x00000400
#define HM_HTTP_UPSTREAM_FT_NOLIVE           0x40000000
#define HM_HTTP_UPSTREAM_FT_OFF              0x80000000

#define HM_HTTP_UPSTREAM_FT_STATUS  (HM_HTTP_UPSTREAM_FT_HTTP_500  \
                                     |HM_HTTP_UPSTREAM_FT_HTTP_502  \
                                     |HM_HTTP_UPSTREAM_FT_HTTP_503  \
                                     |HM_HTTP_UPSTREAM_FT_HTTP_504  \
                                     |HM_HTTP_UPSTREAM_FT_HTTP_403  \
                                     |HM_HTTP_UPSTREAM_FT_HTTP_404  \
                                     |HM_HTTP_UPSTREAM_FT_HTTP_429)

#define HM_HTTP_UPSTREAM_INVALID_HEADER      40


/* the balancers */
#define HM_HTTP_UPSTREAM_RR                  0
#define HM_HTTP_UPSTREAM_LEAST_CONN          1
#define HM_HTTP_UPSTREAM_HASH                2
#define HM_HTTP_UPSTREAM_RANDOM              3


typedef struct hm_http_upstream_rr_peer_s   hm_http_upstream_rr_peer_t;
typedef struct hm_http_upstream_rr_peers_s  hm_http_upstream_rr_peers_t;

struct hm_http_upstream_rr_peer_s {
    struct sockaddr                  *sockaddr;
    socklen_t                         socklen;
    hm_str_t                          name;
    hm_str_t                          server;

    hm_int_t                          current_weight;
    hm_int_t                          effective_weight;
    hm_int_t                          weight;

    hm_uint_t                         conns;

    hm_uint_t                         fails;
    time_t                            accessed;
    time_t                            checked;

    hm_uint_t                         max_fails;
    time_t                            fail_timeout;

    /* for the status page */
    uint64_t                          requests;
    uint64_t                          failures;
    uint64_t                          response_time_ms;  /* the sum */

    unsigned                          down:1;

    /* in the metrics registry */
    hm_metric_t                      *m_requests;
    hm_metric_t                      *m_failures;
    hm_metric_t                      *m_time;

    hm_http_upstream_rr_peer_t       *next;

    void                             *spare[2];
};


struct hm_http_upstream_rr_peers_s {
    hm_uint_t                         number;
    hm_uint_t                         total_weight;
    hm_uint_t                         tries;

    unsigned                          single:1;
    unsigned                          weighted:1;

    hm_str_t                         *name;

    hm_http_upstream_rr_peers_t      *next;     /* the backup servers */

    hm_http_upstream_rr_peer_t       *peer;

    /* consistent hash points, for "hash ... consistent" */
    void                             *points;
};


typedef struct {
    hm_str_t                          name;
    hm_addr_t                        *addrs;
    hm_uint_t                         naddrs;
    hm_uint_t                         weight;
    hm_uint_t                         max_fails;
    time_t                            fail_timeout;

    unsigned                          down:1;
    unsigned                          backup:1;
} hm_http_upstream_server_t;


typedef struct hm_http_upstream_srv_conf_s  hm_http_upstream_srv_conf_t;

/* a cached keepalive connection */
typedef struct {
    hm_queue_t                        queue;
    hm_connection_t                  *connection;
    hm_http_upstream_srv_conf_t      *uscf;
    struct sockaddr                  *sockaddr;
    socklen_t                         socklen;
    hm_sockaddr_t                     sockaddr_data;
} hm_http_upstream_keepalive_cache_t;


struct hm_http_upstream_srv_conf_s {
    hm_array_t                       *servers;  /* hm_http_upstream_server_t */

    hm_str_t                          host;
    hm_str_t                          label;   /* in metrics: host[:port] */
    in_port_t                         port;
    hm_conf_location_t                where;

    hm_uint_t                         balancer;
    hm_complex_value_t               *hash_key;
    unsigned                          hash_consistent:1;
    unsigned                          random_two:1;
    unsigned                          implicit:1;   /* from proxy_pass */

    hm_http_upstream_rr_peers_t      *peers;

    /* keepalive */
    hm_uint_t                         keepalive;
    hm_msec_t                         keepalive_timeout;
    hm_uint_t                         keepalive_requests;
    hm_queue_t                        cache;        /* idle connections */
    hm_queue_t                        free;
    hm_uint_t                         cached;

    void                             *spare[4];
};


typedef struct {
    hm_array_t                        upstreams;  /* hm_..._srv_conf_t * */
} hm_http_upstream_main_conf_t;


/* what the proxy module configures */

typedef struct {
    hm_http_upstream_srv_conf_t      *upstream;

    hm_msec_t                         connect_timeout;
    hm_msec_t                         send_timeout;
    hm_msec_t                         read_timeout;
    hm_msec_t                         next_upstream_timeout;

    size_t                            buffer_size;
    hm_bufs_t                         bufs;

    hm_uint_t                         next_upstream;
    hm_uint_t                         next_upstream_tries;

    hm_flag_t                         buffering;
    hm_flag_t                         request_buffering;
    hm_flag_t                         ignore_client_abort;

    hm_array_t                       *hide_headers;   /* hm_str_t */
    hm_array_t                       *pass_headers;   /* hm_str_t */
    hm_hash_t                         hide_headers_hash;

    hm_flag_t                         ssl_server_name;
    hm_flag_t                         ssl_verify;
    hm_ssl_t                         *ssl;
    hm_complex_value_t               *ssl_name;

    hm_str_t                          module;

    void                             *spare[4];
} hm_http_upstream_conf_t;


typedef struct {
    hm_uint_t                         status;
    hm_msec_t                         response_time;
    hm_msec_t                         connect_time;
    hm_msec_t                         header_time;
    off_t                             bytes_received;
    hm_str_t                         *peer;
} hm_http_upstream_state_t;


typedef struct {
    hm_list_t                         headers;      /* hm_table_elt_t */
    hm_uint_t                         status_n;
    hm_str_t                          status_line;

    hm_table_elt_t                   *connection;
    hm_table_elt_t                   *transfer_encoding;
    hm_table_elt_t                   *content_length;

    off_t                             content_length_n;

    unsigned                          connection_close:1;
    unsigned                          chunked:1;
    unsigned                          upgrade:1;
} hm_http_upstream_headers_in_t;


/* per request balancer state */

typedef struct {
    hm_http_upstream_rr_peers_t      *peers;
    hm_http_upstream_rr_peer_t       *current;
    uintptr_t                        *tried;
    uintptr_t                         data;
    hm_uint_t                         hash;       /* for "hash" */
    hm_uint_t                         hash_tries;
    hm_http_upstream_srv_conf_t      *uscf;
} hm_http_upstream_rr_peer_data_t;


typedef void (*hm_http_upstream_handler_pt)(hm_http_request_t *r,
    hm_http_upstream_t *u);


typedef struct hm_http_upstream_copy_s  hm_http_upstream_copy_t;

struct hm_http_upstream_copy_s {
    u_char                           *block;
    size_t                            size;
    hm_buf_t                         *buf;      /* NULL: the block is free */
    hm_http_upstream_copy_t          *next;
};


struct hm_http_upstream_s {
    hm_http_upstream_handler_pt       read_event_handler;
    hm_http_upstream_handler_pt       write_event_handler;

    hm_peer_connection_t              peer;

    hm_http_upstream_conf_t          *conf;
    hm_http_upstream_srv_conf_t      *upstream;

    hm_http_upstream_headers_in_t     headers_in;

    hm_buf_t                          buffer;       /* the response input */
    off_t                             length;       /* body left, -1: EOF */

    hm_chain_t                       *request_bufs;
    hm_chain_t                       *request_sent_chain; /* in flight */
    hm_chain_t                       *request_body_busy;
    hm_buf_t                         *from_client;  /* upgraded */

    hm_chain_t                       *free_bufs;
    hm_chain_t                       *out_bufs;     /* to the client */
    hm_chain_t                       *busy_bufs;

    /* proxy_buffering: copies of data a slow client has not taken yet */
    hm_http_upstream_copy_t          *copies;
    hm_uint_t                         ncopies;

    hm_http_chunked_t                 chunked;
    hm_http_parse_t                   parse;
    hm_http_status_t                  status;

    hm_array_t                       *state;        /* upstream_state_t */
    hm_http_upstream_state_t         *cur;

    hm_http_upstream_rr_peer_data_t   rrp;

    hm_str_t                          schema;
    hm_str_t                          uri;
    hm_str_t                          ssl_name;
    hm_uint_t                         http_version;

    /* the proxy module's callbacks */
    hm_int_t                        (*create_request)(hm_http_request_t *r);
    hm_int_t                        (*reinit_request)(hm_http_request_t *r);

    hm_msec_t                         start_time;

    unsigned                          request_body_sent:1;
    unsigned                          request_sent:1;
    unsigned                          header_sent:1;
    unsigned                          keepalive:1;
    unsigned                          upgrade:1;
    unsigned                          ssl:1;
    unsigned                          body_done:1;
    unsigned                          eof_body:1;
    unsigned                          store_unbuffered:1;
    unsigned                          request_body_chunked:1;
    unsigned                          request_body_started:1;
    unsigned                          last_sent:1;
    unsigned                          finalized:1;
    unsigned                          cleanup_set:1;

    void                             *spare[8];
};


void hm_http_upstream_init(hm_http_request_t *r);

/* frames a chain as one chunk; last adds the final "0" chunk */
hm_int_t hm_http_upstream_chunk_wrap(hm_http_request_t *r, hm_chain_t **cl,
    hm_uint_t last);
hm_http_upstream_srv_conf_t *hm_http_upstream_add(hm_conf_t *cf,
    hm_url_t *u, hm_uint_t implicit);
hm_http_upstream_srv_conf_t *hm_http_upstream_create_srv_conf(hm_conf_t *cf,
    hm_url_t *u, hm_uint_t implicit);
hm_int_t hm_http_upstream_create(hm_http_request_t *r);

/* the round robin family, in hm_http_upstream_round_robin.c */
hm_int_t hm_http_upstream_init_peers(hm_conf_t *cf,
    hm_http_upstream_srv_conf_t *uscf);
hm_int_t hm_http_upstream_init_peer(hm_http_request_t *r,
    hm_http_upstream_srv_conf_t *uscf);
/* the same without a request: hash_key NULL hashes as an empty key */
hm_int_t hm_http_upstream_init_rr_peer(hm_pool_t *pool,
    hm_http_upstream_srv_conf_t *uscf, hm_http_upstream_rr_peer_data_t *rrp,
    hm_str_t *hash_key, hm_peer_connection_t *pc);
hm_int_t hm_http_upstream_get_peer(hm_peer_connection_t *pc, void *data);
void hm_http_upstream_free_peer(hm_peer_connection_t *pc, void *data,
    hm_uint_t state);
hm_int_t hm_http_upstream_add_metrics(hm_conf_t *cf,
    hm_http_upstream_srv_conf_t *uscf);

/* keepalive */
hm_connection_t *hm_http_upstream_keepalive_get(
    hm_http_upstream_srv_conf_t *uscf, struct sockaddr *sa, socklen_t len);
void hm_http_upstream_keepalive_save(hm_http_upstream_srv_conf_t *uscf,
    hm_connection_t *c, struct sockaddr *sa, socklen_t len);


extern hm_module_t         hm_http_upstream_module;
extern hm_conf_bitmask_t   hm_http_upstream_next_upstream_masks[];


#endif /* _HM_HTTP_UPSTREAM_H_INCLUDED_ */
