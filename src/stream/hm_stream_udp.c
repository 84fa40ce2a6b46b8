/*
 * Copyright (C) hermod authors
 *
 * Messages over UDP: each datagram a message.
 *
 *     inbound metrics udp {
 *         listen          127.0.0.1:8125;
 *         multicast_group 239.1.2.3 127.0.0.1;    # group [interface]
 *         pipeline        to_kafka;
 *     }
 *
 *     outbound announce udp {
 *         target          239.1.2.3:9999;
 *         multicast_ttl   1;
 *         multicast_loop  on;
 *     }
 *
 * The inbound binds a socket per worker (SO_REUSEPORT: the kernel spreads
 * the datagrams over the workers).  While the pipeline is full the socket
 * is not read: datagrams wait in the socket's receive buffer, and beyond
 * it the kernel drops them, as UDP does.  The outbound sends each message
 * as one datagram (unicast, broadcast or multicast); a message is
 * delivered when the kernel took it.
 *
 * $remote_addr and $remote_port of a stream message (UDP and TCP) are the
 * sender's; they are registered here for the whole stream framework.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_event.h>
#include <hm_pipeline.h>
#include <hm_stream.h>


#define HM_STREAM_UDP_BATCH  64


typedef struct {
    hm_pipeline_inbound_t       *ib;
    hm_addr_t                    addr;
    hm_array_t                  *groups;      /* of hm_stream_udp_group_t */
    size_t                       max_datagram;
    hm_pipeline_t               *pipeline;
    hm_conf_location_t           where;
} hm_stream_udp_in_conf_t;


typedef struct {
    struct in_addr               group;
    struct in_addr               interface;
    hm_str_t                     text;
} hm_stream_udp_group_t;


typedef struct {
    hm_stream_udp_in_conf_t     *conf;
    hm_connection_t             *c;
    u_char                      *buf;
    hm_pipeline_waiter_t         waiter;
    unsigned                     reading:1;
} hm_stream_udp_in_t;


typedef struct {
    hm_addr_t                    target;
    hm_flag_t                    broadcast;
    hm_int_t                     ttl;
    hm_flag_t                    loop;
    struct in_addr               interface;
    hm_conf_location_t           where;
} hm_stream_udp_out_conf_t;


typedef struct {
    hm_stream_udp_out_conf_t    *conf;
    hm_connection_t             *c;
    hm_pipeline_outbound_t      *ob;
    unsigned                     blocked:1;
} hm_stream_udp_out_t;


static void *hm_stream_udp_core_create_conf(hm_cycle_t *cycle);
static void *hm_stream_udp_in_create_conf(hm_conf_t *cf);
static char *hm_stream_udp_in_init_conf(hm_conf_t *cf,
    hm_pipeline_inbound_t *ib);
static hm_int_t hm_stream_udp_in_init_process(hm_cycle_t *cycle,
    hm_pipeline_inbound_t *ib);
static void hm_stream_udp_in_exit_process(hm_cycle_t *cycle,
    hm_pipeline_inbound_t *ib);
static void *hm_stream_udp_out_create_conf(hm_conf_t *cf);
static char *hm_stream_udp_out_init_conf(hm_conf_t *cf,
    hm_pipeline_outbound_t *ob);
static hm_int_t hm_stream_udp_out_init_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static void hm_stream_udp_out_exit_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static hm_int_t hm_stream_udp_send(hm_pipeline_outbound_t *ob, hm_msg_t *m);
static char *hm_stream_udp_listen(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_stream_udp_target(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_stream_udp_group(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_stream_udp_interface(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static void hm_stream_udp_read_handler(hm_event_t *ev);
static void hm_stream_udp_read(hm_stream_udp_in_t *u);
static void hm_stream_udp_wake(hm_pipeline_waiter_t *w);
static void hm_stream_udp_ack(hm_msg_t *m);
static void hm_stream_udp_write_handler(hm_event_t *ev);
static hm_int_t hm_stream_udp_out_open(hm_cycle_t *cycle,
    hm_stream_udp_out_t *o);
static void hm_stream_udp_out_close_handler(hm_event_t *ev);
static hm_connection_t *hm_stream_udp_socket(hm_cycle_t *cycle,
    int family, hm_str_t *name);
static hm_int_t hm_stream_variable(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);


static hm_command_t  hm_stream_udp_commands[] = {

    { hm_string("listen"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_stream_udp_listen,
      0,
      0,
      NULL,
      "The address the UDP inbound receives datagrams on: ADDR:PORT." },

    { hm_string("multicast_group"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE12,
      hm_stream_udp_group,
      0,
      0,
      NULL,
      "An IPv4 multicast group to join: GROUP [INTERFACE_ADDR]." },

    { hm_string("max_datagram"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      0,
      offsetof(hm_stream_udp_in_conf_t, max_datagram),
      NULL,
      "The largest datagram taken whole; a larger one is dropped." },

    { hm_string("pipeline"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_pipeline_set_slot,
      0,
      offsetof(hm_stream_udp_in_conf_t, pipeline),
      NULL,
      "The pipeline the datagrams are submitted to." },

    { hm_string("target"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_stream_udp_target,
      0,
      0,
      NULL,
      "Where each message is sent as a datagram: ADDR:PORT." },

    { hm_string("broadcast"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_stream_udp_out_conf_t, broadcast),
      NULL,
      "Allow a broadcast target (SO_BROADCAST)." },

    { hm_string("multicast_ttl"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_stream_udp_out_conf_t, ttl),
      NULL,
      "The TTL of multicast datagrams (IP_MULTICAST_TTL)." },

    { hm_string("multicast_loop"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_stream_udp_out_conf_t, loop),
      NULL,
      "Deliver multicast datagrams to this host too (IP_MULTICAST_LOOP)." },

    { hm_string("multicast_interface"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_stream_udp_interface,
      0,
      0,
      NULL,
      "The address of the interface multicast leaves by (IP_MULTICAST_IF)." },

      hm_null_command
};


static hm_pipeline_inbound_type_t  hm_stream_udp_inbound_type = {
    hm_string("udp"),
    hm_stream_udp_in_create_conf,
    hm_stream_udp_in_init_conf,
    hm_stream_udp_in_init_process,
    hm_stream_udp_in_exit_process,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_outbound_type_t  hm_stream_udp_outbound_type = {
    hm_string("udp"),
    hm_stream_udp_out_create_conf,
    hm_stream_udp_out_init_conf,
    hm_stream_udp_out_init_process,
    hm_stream_udp_out_exit_process,
    hm_stream_udp_send,
    NULL,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_module_t  hm_stream_udp_module_ctx = {
    &hm_stream_udp_outbound_type,
    &hm_stream_udp_inbound_type,
    { NULL, NULL, NULL }
};


hm_module_t  hm_stream_udp_module = {
    HM_MODULE_V1,
    &hm_stream_udp_module_ctx,             /* module context */
    hm_stream_udp_commands,                /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


/* registers the stream variables before any directive */

static hm_core_module_t  hm_stream_core_module_ctx = {
    hm_string("stream"),
    hm_stream_udp_core_create_conf,
    NULL
};


hm_module_t  hm_stream_core_module = {
    HM_MODULE_V1,
    &hm_stream_core_module_ctx,            /* module context */
    NULL,                                  /* module directives */
    HM_CORE_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


#define HM_STREAM_VAR_ADDR  0
#define HM_STREAM_VAR_PORT  1

static hm_variable_t  hm_stream_variables[] = {

    { hm_string("remote_addr"), hm_stream_variable, HM_STREAM_VAR_ADDR,
      HM_VAR_STREAM, 0, 0, { NULL, NULL } },

    { hm_string("remote_port"), hm_stream_variable, HM_STREAM_VAR_PORT,
      HM_VAR_STREAM, 0, 0, { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


hm_int_t
hm_stream_variables_add(hm_cycle_t *cycle)
{
    return hm_add_variables(cycle, hm_stream_variables);
}


static void *
hm_stream_udp_core_create_conf(hm_cycle_t *cycle)
{
    if (hm_stream_variables_add(cycle) != HM_OK) {
        return NULL;
    }

    return hm_pcalloc(cycle->pool, sizeof(hm_uint_t));
}


static hm_int_t
hm_stream_variable(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_stream_peer_t  *peer = ctx;

    u_char  *p;

    if (peer->sockaddr == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    if (data == HM_STREAM_VAR_PORT) {
        p = hm_pnalloc(pool, sizeof("65535") - 1);
        if (p == NULL) {
            return HM_ERROR;
        }

        v->data = p;
        v->len = hm_sprintf(p, "%ui",
                            (hm_uint_t) hm_inet_get_port(peer->sockaddr))
                 - p;
        return HM_OK;
    }

    if (peer->addr_text.len == 0) {
        p = hm_pnalloc(pool, HM_SOCKADDR_STRLEN);
        if (p == NULL) {
            return HM_ERROR;
        }

        peer->addr_text.data = p;
        peer->addr_text.len = hm_sock_ntop(peer->sockaddr, peer->socklen, p,
                                           HM_SOCKADDR_STRLEN, 0);
    }

    v->data = peer->addr_text.data;
    v->len = peer->addr_text.len;

    return HM_OK;
}


/* -- configuration --------------------------------------------------- */

static void *
hm_stream_udp_in_create_conf(hm_conf_t *cf)
{
    hm_stream_udp_in_conf_t  *ucf;

    ucf = hm_pcalloc(cf->pool, sizeof(hm_stream_udp_in_conf_t));
    if (ucf == NULL) {
        return NULL;
    }

    ucf->max_datagram = HM_CONF_UNSET_SIZE;
    hm_conf_location(cf, &ucf->where);

    return ucf;
}


static char *
hm_stream_udp_in_init_conf(hm_conf_t *cf, hm_pipeline_inbound_t *ib)
{
    hm_stream_udp_in_conf_t  *ucf = ib->conf;

    char  *missing;

    ucf->ib = ib;

    missing = (ucf->addr.socklen == 0) ? "listen"
              : (ucf->pipeline == NULL) ? "pipeline" : NULL;

    if (missing) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ucf->where,
                        "inbound \"%V\" has no \"%s\"", &ib->name, missing);
        return HM_CONF_ERROR;
    }

    if (ucf->max_datagram == HM_CONF_UNSET_SIZE) {
        ucf->max_datagram = 65535;
    }

    if (ucf->max_datagram == 0 || ucf->max_datagram > 65535) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ucf->where,
                        "inbound \"%V\": \"max_datagram\" must be 1..65535",
                        &ib->name);
        return HM_CONF_ERROR;
    }

    if (ucf->groups && ucf->addr.sockaddr.sockaddr.sa_family != AF_INET) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ucf->where,
                        "inbound \"%V\": multicast groups need an IPv4 "
                        "\"listen\"", &ib->name);
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_stream_udp_addr(hm_conf_t *cf, hm_str_t *text, hm_uint_t listen,
    hm_addr_t *addr)
{
    hm_url_t  u;

    hm_memzero(&u, sizeof(hm_url_t));
    u.url = *text;
    u.listen = listen;

    if (hm_parse_url(cf->pool, &u) != HM_OK || u.naddrs == 0 || u.no_port) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s in \"%V\"",
                          u.err ? u.err : "no port", text);
        return HM_ERROR;
    }

    *addr = u.addrs[0];

    return HM_OK;
}


static char *
hm_stream_udp_listen(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_stream_udp_in_conf_t  *ucf = conf;

    hm_str_t  *value;

    if (ucf->addr.socklen) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (hm_stream_udp_addr(cf, &value[1], 1, &ucf->addr) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_stream_udp_group(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_stream_udp_in_conf_t  *ucf = conf;

    hm_str_t                *value;
    struct in_addr           a;
    hm_stream_udp_group_t   *g;

    value = cf->args->elts;

    if (ucf->groups == NULL) {
        ucf->groups = hm_array_create(cf->pool, 2,
                                      sizeof(hm_stream_udp_group_t));
        if (ucf->groups == NULL) {
            return HM_CONF_ERROR;
        }
    }

    g = hm_array_push(ucf->groups);
    if (g == NULL) {
        return HM_CONF_ERROR;
    }

    /* the arguments are NUL-terminated */

    if (inet_pton(AF_INET, (char *) value[1].data, &a) != 1
        || !IN_MULTICAST(ntohl(a.s_addr)))
    {
        return "needs an IPv4 multicast group (224.0.0.0/4)";
    }

    g->group = a;
    g->text = value[1];
    g->interface.s_addr = htonl(INADDR_ANY);

    if (cf->args->nelts == 3) {
        if (inet_pton(AF_INET, (char *) value[2].data, &a) != 1) {
            return "has an invalid interface address";
        }

        g->interface = a;
    }

    return HM_CONF_OK;
}


static void *
hm_stream_udp_out_create_conf(hm_conf_t *cf)
{
    hm_stream_udp_out_conf_t  *ocf;

    ocf = hm_pcalloc(cf->pool, sizeof(hm_stream_udp_out_conf_t));
    if (ocf == NULL) {
        return NULL;
    }

    ocf->broadcast = HM_CONF_UNSET;
    ocf->ttl = HM_CONF_UNSET;
    ocf->loop = HM_CONF_UNSET;
    ocf->interface.s_addr = htonl(INADDR_ANY);
    hm_conf_location(cf, &ocf->where);

    return ocf;
}


static char *
hm_stream_udp_out_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob)
{
    hm_stream_udp_out_conf_t  *ocf = ob->conf;

    if (ocf->target.socklen == 0) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ocf->where,
                        "outbound \"%V\" has no \"target\"", &ob->name);
        return HM_CONF_ERROR;
    }

    hm_conf_init_value(ocf->broadcast, 0);
    hm_conf_init_value(ocf->ttl, 1);
    hm_conf_init_value(ocf->loop, 1);

    if (ocf->ttl < 0 || ocf->ttl > 255) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ocf->where,
                        "outbound \"%V\": \"multicast_ttl\" must be 0..255",
                        &ob->name);
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_stream_udp_target(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_stream_udp_out_conf_t  *ocf = conf;

    hm_str_t  *value;

    if (ocf->target.socklen) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (hm_stream_udp_addr(cf, &value[1], 0, &ocf->target) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_stream_udp_interface(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_stream_udp_out_conf_t  *ocf = conf;

    hm_str_t  *value;

    value = cf->args->elts;

    if (inet_pton(AF_INET, (char *) value[1].data, &ocf->interface) != 1) {
        return "needs an IPv4 address";
    }

    return HM_CONF_OK;
}


/* -- sockets --------------------------------------------------------- */

static hm_connection_t *
hm_stream_udp_socket(hm_cycle_t *cycle, int family, hm_str_t *name)
{
    hm_socket_t       s;
    hm_connection_t  *c;

    s = socket(family, SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);

    if (s == (hm_socket_t) -1) {
        hm_log_error(HM_LOG_EMERG, cycle->log, hm_socket_errno,
                     "%V: socket() failed", name);
        return NULL;
    }

    c = hm_get_connection(s, cycle->log);
    if (c == NULL) {
        (void) hm_close_socket(s);
        return NULL;
    }

    c->type = SOCK_DGRAM;
    c->log = cycle->log;
    c->read->log = cycle->log;
    c->write->log = cycle->log;

    return c;
}


/* -- the inbound ----------------------------------------------------- */

static hm_int_t
hm_stream_udp_in_init_process(hm_cycle_t *cycle, hm_pipeline_inbound_t *ib)
{
    hm_stream_udp_in_conf_t  *ucf = ib->conf;

    int                      on;
    hm_uint_t                i;
    hm_connection_t         *c;
    struct ip_mreq           mreq;
    hm_stream_udp_in_t      *u;
    hm_stream_udp_group_t   *g;

    u = hm_pcalloc(cycle->pool, sizeof(hm_stream_udp_in_t));
    if (u == NULL) {
        return HM_ERROR;
    }

    u->buf = hm_pnalloc(cycle->pool, ucf->max_datagram + 1);
    if (u->buf == NULL) {
        return HM_ERROR;
    }

    u->conf = ucf;
    u->waiter.handler = hm_stream_udp_wake;
    u->waiter.data = u;

    c = hm_stream_udp_socket(cycle, ucf->addr.sockaddr.sockaddr.sa_family,
                             &ib->name);
    if (c == NULL) {
        return HM_ERROR;
    }

    u->c = c;
    ib->data = u;

    /* a socket per worker on the same address: the kernel spreads */

    on = 1;

    if (setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(int)) == -1
        || setsockopt(c->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(int))
           == -1)
    {
        hm_log_error(HM_LOG_EMERG, cycle->log, hm_socket_errno,
                     "inbound \"%V\": setsockopt(SO_REUSEPORT) failed",
                     &ib->name);
        return HM_ERROR;
    }

    if (bind(c->fd, &ucf->addr.sockaddr.sockaddr, ucf->addr.socklen) == -1) {
        hm_log_error(HM_LOG_EMERG, cycle->log, hm_socket_errno,
                     "inbound \"%V\": bind() to %V failed", &ib->name,
                     &ucf->addr.name);
        return HM_ERROR;
    }

    g = ucf->groups ? ucf->groups->elts : NULL;

    for (i = 0; ucf->groups && i < ucf->groups->nelts; i++) {
        mreq.imr_multiaddr = g[i].group;
        mreq.imr_interface = g[i].interface;

        if (setsockopt(c->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
                       sizeof(mreq))
            == -1)
        {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_socket_errno,
                         "inbound \"%V\": joining multicast group %V "
                         "failed", &ib->name, &g[i].text);
            return HM_ERROR;
        }
    }

    c->data = u;
    c->idle = 1;
    c->read->handler = hm_stream_udp_read_handler;

    if (hm_add_event(c->read, HM_READ_EVENT, HM_LEVEL_EVENT) != HM_OK) {
        return HM_ERROR;
    }

    u->reading = 1;

    return HM_OK;
}


static void
hm_stream_udp_in_exit_process(hm_cycle_t *cycle, hm_pipeline_inbound_t *ib)
{
    hm_stream_udp_in_t  *u = ib->data;

    if (u == NULL) {
        return;
    }

    hm_pipeline_wait_cancel(&u->waiter);

    if (u->c) {
        hm_close_connection(u->c);
        u->c = NULL;
    }

    ib->data = NULL;
}


static void
hm_stream_udp_read_handler(hm_event_t *ev)
{
    hm_connection_t     *c = ev->data;
    hm_stream_udp_in_t  *u = c->data;

    if (c->close) {
        /* a graceful stop: no more datagrams; those in flight go on */
        hm_pipeline_wait_cancel(&u->waiter);
        hm_close_connection(c);
        u->c = NULL;
        return;
    }

    hm_stream_udp_read(u);
}


static void
hm_stream_udp_read(hm_stream_udp_in_t *u)
{
    ssize_t                   n;
    hm_buf_t                 *b;
    hm_msg_t                 *m;
    hm_uint_t                 i;
    socklen_t                 socklen;
    hm_chain_t               *cl;
    hm_sockaddr_t             sa;
    hm_connection_t          *c = u->c;
    hm_stream_peer_t         *peer;
    hm_pipeline_t            *pl = u->conf->pipeline;

    for (i = 0; i < HM_STREAM_UDP_BATCH; i++) {

        if (hm_pipeline_room(pl, u->conf->max_datagram) != HM_OK) {

            /* full: stop reading (level-triggered), wait for room */

            if (u->reading) {
                (void) hm_del_event(c->read, HM_READ_EVENT, 0);
                u->reading = 0;
            }

            hm_pipeline_wait(pl, &u->waiter);
            return;
        }

        socklen = sizeof(hm_sockaddr_t);

        n = recvfrom(c->fd, u->buf, u->conf->max_datagram + 1, 0,
                     &sa.sockaddr, &socklen);

        if (n == -1) {
            if (hm_socket_errno != HM_EAGAIN && hm_socket_errno != HM_EINTR) {
                hm_log_error(HM_LOG_ERR, c->log, hm_socket_errno,
                             "inbound \"%V\": recvfrom() failed",
                             &u->conf->ib->name);
            }

            return;
        }

        if ((size_t) n > u->conf->max_datagram) {
            hm_log_error(HM_LOG_WARN, c->log, 0,
                         "inbound \"%V\": a datagram over max_datagram %uz "
                         "dropped", &u->conf->ib->name,
                         u->conf->max_datagram);
            continue;
        }

        m = hm_msg_create(pl, c->log, n);
        if (m == NULL) {
            return;
        }

        peer = hm_pcalloc(m->pool, sizeof(hm_stream_peer_t));
        if (peer == NULL) {
            hm_msg_destroy(m);
            return;
        }

        peer->sockaddr = hm_palloc(m->pool, socklen);
        if (peer->sockaddr == NULL) {
            hm_msg_destroy(m);
            return;
        }

        hm_memcpy(peer->sockaddr, &sa, socklen);
        peer->socklen = socklen;

        if (n) {
            b = hm_create_temp_buf(m->pool, n);
            cl = hm_alloc_chain_link(m->pool);
            if (b == NULL || cl == NULL) {
                hm_msg_destroy(m);
                return;
            }

            b->last = hm_cpymem(b->last, u->buf, n);
            b->last_buf = 1;

            cl->buf = b;
            cl->next = NULL;

            m->body = cl;
            m->body_len = n;
        }

        m->vs.ctx = peer;
        m->vs.kind = HM_VAR_STREAM;
        hm_str_set(&m->source.name, "udp");
        m->source.var_kind = HM_VAR_STREAM;
        m->source.ctx = peer;
        m->ack = hm_stream_udp_ack;

        hm_pipeline_submit(m);

        if (u->c == NULL) {
            return;
        }
    }

    /* more may be there: after the other connections had their turn */

    if (!c->read->posted) {
        hm_post_event(c->read, &hm_posted_next_events);
    }
}


static void
hm_stream_udp_wake(hm_pipeline_waiter_t *w)
{
    hm_stream_udp_in_t  *u = w->data;

    if (u->c == NULL) {
        return;
    }

    if (!u->reading) {
        if (hm_add_event(u->c->read, HM_READ_EVENT, HM_LEVEL_EVENT)
            != HM_OK)
        {
            return;
        }

        u->reading = 1;
    }

    hm_stream_udp_read(u);
}


/* nobody to answer: the outcome is in the pipeline's log and metrics */

static void
hm_stream_udp_ack(hm_msg_t *m)
{
    hm_msg_destroy(m);
}


/* -- the outbound ---------------------------------------------------- */

static hm_int_t
hm_stream_udp_out_init_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_stream_udp_out_t  *o;

    o = hm_pcalloc(cycle->pool, sizeof(hm_stream_udp_out_t));
    if (o == NULL) {
        return HM_ERROR;
    }

    o->conf = ob->conf;
    o->ob = ob;
    ob->data = o;

    return hm_stream_udp_out_open(cycle, o);
}


/* the socket, with its options; idle: a graceful stop closes it */

static hm_int_t
hm_stream_udp_out_open(hm_cycle_t *cycle, hm_stream_udp_out_t *o)
{
    hm_stream_udp_out_conf_t  *ocf = o->conf;
    hm_pipeline_outbound_t    *ob = o->ob;

    int                   on;
    u_char                ttl, loop;
    hm_connection_t      *c;

    c = hm_stream_udp_socket(cycle, ocf->target.sockaddr.sockaddr.sa_family,
                             &ob->name);
    if (c == NULL) {
        return HM_ERROR;
    }

    o->c = c;
    o->blocked = 0;

    c->data = o;
    c->idle = 1;
    c->read->handler = hm_stream_udp_out_close_handler;
    c->write->handler = hm_stream_udp_write_handler;

    on = 1;

    if (ocf->broadcast
        && setsockopt(c->fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(int))
           == -1)
    {
        hm_log_error(HM_LOG_EMERG, cycle->log, hm_socket_errno,
                     "outbound \"%V\": setsockopt(SO_BROADCAST) failed",
                     &ob->name);
        return HM_ERROR;
    }

    if (ocf->target.sockaddr.sockaddr.sa_family == AF_INET
        && IN_MULTICAST(ntohl(ocf->target.sockaddr.sockaddr_in.sin_addr
                                                                 .s_addr)))
    {
        ttl = (u_char) ocf->ttl;
        loop = ocf->loop ? 1 : 0;

        if (setsockopt(c->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, 1) == -1
            || setsockopt(c->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, 1)
               == -1
            || setsockopt(c->fd, IPPROTO_IP, IP_MULTICAST_IF, &ocf->interface,
                          sizeof(struct in_addr))
               == -1)
        {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_socket_errno,
                         "outbound \"%V\": setting the multicast options "
                         "failed", &ob->name);
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static void
hm_stream_udp_out_close_handler(hm_event_t *ev)
{
    hm_connection_t      *c = ev->data;
    hm_stream_udp_out_t  *o = c->data;

    if (c->close) {
        /* nothing is pending in a datagram socket: it may go at once */
        hm_close_connection(c);
        o->c = NULL;

        hm_pipeline_outbound_ready(o->ob);
    }
}


static void
hm_stream_udp_out_exit_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_stream_udp_out_t  *o = ob->data;

    if (o && o->c) {
        hm_close_connection(o->c);
        o->c = NULL;
    }

    ob->data = NULL;
}


static hm_int_t
hm_stream_udp_send(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_stream_udp_out_t  *o = ob->data;

    ssize_t    n;
    hm_err_t   err;
    hm_str_t   body;

    if (m->body_len > 65507) {
        hm_msg_set_error(m, HM_MSG_ERR_FILTER, "udp: a message of %uz bytes "
                         "does not fit a datagram", m->body_len);
        return HM_ERROR;
    }

    if (o->blocked) {
        return HM_BUSY;
    }

    if (o->c == NULL
        && hm_stream_udp_out_open((hm_cycle_t *) hm_cycle, o) != HM_OK)
    {
        hm_msg_set_error(m, HM_MSG_ERR_ERROR, "udp: no socket");
        return HM_RETRY;
    }

    if (hm_msg_body_flat(m, &body) != HM_OK) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    n = sendto(o->c->fd, body.data, body.len, 0,
               &o->conf->target.sockaddr.sockaddr, o->conf->target.socklen);

    if (n >= 0) {
        if (hm_exiting) {
            /* a message after a graceful stop began: the socket goes */
            hm_close_connection(o->c);
            o->c = NULL;
        }

        return HM_OK;
    }

    err = hm_socket_errno;

    if (err == HM_EAGAIN) {
        /* the socket buffer is full: wait until it is writable */

        if (hm_add_event(o->c->write, HM_WRITE_EVENT, HM_LEVEL_EVENT)
            == HM_OK)
        {
            o->blocked = 1;
            return HM_BUSY;
        }
    }

    hm_msg_set_error(m, HM_MSG_ERR_ERROR, "udp: sendto() to %V failed (%d)",
                     &o->conf->target.name, err);

    return HM_RETRY;
}


static void
hm_stream_udp_write_handler(hm_event_t *ev)
{
    hm_connection_t      *c = ev->data;
    hm_stream_udp_out_t  *o = c->data;

    (void) hm_del_event(c->write, HM_WRITE_EVENT, 0);

    o->blocked = 0;

    hm_pipeline_outbound_ready(o->ob);
}
