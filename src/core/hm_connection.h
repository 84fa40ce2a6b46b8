/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_CONNECTION_H_INCLUDED_
#define _HM_CONNECTION_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct hm_listening_s  hm_listening_t;

struct hm_listening_s {
    hm_socket_t         fd;

    struct sockaddr    *sockaddr;
    socklen_t           socklen;    /* size of sockaddr */
    size_t              addr_text_max_len;
    hm_str_t            addr_text;

    int                 type;

    int                 backlog;
    int                 rcvbuf;
    int                 sndbuf;

    /* handler of accepted connection */
    hm_connection_handler_pt   handler;

    void               *servers;  /* the owning module's server config */

    hm_uint_t           worker;   /* the worker of a reuseport clone */

    hm_log_t            log;
    hm_log_t           *logp;

    size_t              pool_size;

    hm_listening_t     *previous;
    hm_connection_t    *connection;

    hm_conf_location_t  where;

    unsigned            open:1;
    unsigned            remain:1;
    unsigned            ignore:1;

    unsigned            bound:1;       /* already bound */
    unsigned            inherited:1;   /* inherited from previous process */
    unsigned            listen:1;
    unsigned            nonblocking:1;
    unsigned            shared:1;    /* shared between threads or processes */
    unsigned            addr_ntop:1;
    unsigned            reuseport:1;
    unsigned            add_reuseport:1;

    void               *spare[4];
};


typedef enum {
    HM_ERROR_ALERT = 0,
    HM_ERROR_ERR,
    HM_ERROR_INFO,
    HM_ERROR_IGNORE_ECONNRESET,
    HM_ERROR_IGNORE_EINVAL
} hm_connection_log_error_e;


typedef ssize_t (*hm_recv_pt)(hm_connection_t *c, u_char *buf, size_t size);
typedef ssize_t (*hm_send_pt)(hm_connection_t *c, u_char *buf, size_t size);

/*
 * Sends what it can of a chain (at most limit bytes, 0 = no limit) and
 * returns the first link not fully sent (NULL: all sent), or
 * HM_CHAIN_ERROR.  Updates b->pos of what went out and c->sent.
 */
typedef hm_chain_t *(*hm_send_chain_pt)(hm_connection_t *c, hm_chain_t *in,
    off_t limit);

#define HM_CHAIN_ERROR  (hm_chain_t *) HM_ERROR


/*
 * Connections are allocated by the core only (hm_get_connection), so this
 * struct may grow at its end without an ABI change; it has no spare slots
 * because every byte here is paid per connection.
 */

struct hm_connection_s {
    void               *data;
    hm_event_t         *read;
    hm_event_t         *write;

    hm_socket_t         fd;

    hm_recv_pt          recv;
    hm_send_pt          send;
    hm_send_chain_pt    send_chain;

    hm_listening_t     *listening;

    off_t               sent;

    hm_log_t           *log;

    hm_pool_t          *pool;

    int                 type;

    struct sockaddr    *sockaddr;
    socklen_t           socklen;
    hm_str_t            addr_text;

    struct sockaddr    *local_sockaddr;
    socklen_t           local_socklen;

    hm_buf_t           *buffer;

    hm_ssl_connection_t *ssl;

    hm_queue_t          queue;

    hm_uint_t           number;

    hm_msec_t           start_time;
    hm_uint_t           requests;

    unsigned            log_error:3;     /* hm_connection_log_error_e */

    unsigned            timedout:1;
    unsigned            error:1;
    unsigned            destroyed:1;

    unsigned            idle:1;
    unsigned            reusable:1;
    unsigned            close:1;
    unsigned            shared:1;

    unsigned            sendfile:1;
    unsigned            tcp_nodelay:2;
    unsigned            counted:1;       /* in the active gauge */
};


#define hm_set_connection_log(c, l)                                          \
                                                                             \
    c->log->file = l->file;                                                  \
    c->log->next = l->next;                                                  \
    if (!(c->log->log_level > l->log_level)) {                               \
        c->log->log_level = l->log_level;                                    \
    }


hm_listening_t *hm_create_listening(hm_conf_t *cf, struct sockaddr *sockaddr,
    socklen_t socklen);
hm_int_t hm_open_listening_sockets(hm_cycle_t *cycle);
void hm_configure_listening_sockets(hm_cycle_t *cycle);
void hm_close_listening_sockets(hm_cycle_t *cycle);
void hm_close_connection(hm_connection_t *c);
void hm_close_idle_connections(hm_cycle_t *cycle);
hm_int_t hm_connection_error(hm_connection_t *c, hm_err_t err, char *text);

hm_connection_t *hm_get_connection(hm_socket_t s, hm_log_t *log);
void hm_free_connection(hm_connection_t *c);

void hm_reusable_connection(hm_connection_t *c, hm_uint_t reusable);

extern hm_uint_t  hm_connection_counter;


#endif /* _HM_CONNECTION_H_INCLUDED_ */
