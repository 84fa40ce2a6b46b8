/*
 * Copyright (C) hermod authors
 *
 * Outgoing connections to peers chosen by a balancer: shared by every
 * module that connects somewhere (HTTP upstreams, streams, brokers).
 */

#ifndef _HM_EVENT_CONNECT_H_INCLUDED_
#define _HM_EVENT_CONNECT_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_PEER_KEEPALIVE           1
#define HM_PEER_NEXT                2
#define HM_PEER_FAILED              4


typedef struct hm_peer_connection_s  hm_peer_connection_t;

typedef hm_int_t (*hm_event_get_peer_pt)(hm_peer_connection_t *pc,
    void *data);
typedef void (*hm_event_free_peer_pt)(hm_peer_connection_t *pc, void *data,
    hm_uint_t state);


struct hm_peer_connection_s {
    hm_connection_t                 *connection;

    struct sockaddr                 *sockaddr;
    socklen_t                        socklen;
    hm_str_t                        *name;

    hm_uint_t                        tries;
    hm_msec_t                        start_time;

    hm_event_get_peer_pt             get;
    hm_event_free_peer_pt            free;
    void                            *data;

    int                              type;
    int                              rcvbuf;

    hm_log_t                        *log;

    unsigned                         cached:1;
    unsigned                         down:1;

    void                            *spare[4];
};


/*
 * Asks pc->get for a peer, then connects to it without blocking:
 * HM_OK (connected), HM_AGAIN (in progress: wait for the write event),
 * HM_BUSY (no live peer), HM_DECLINED (this peer failed at once: try
 * the next), HM_ERROR.  A cached keepalive connection comes back as
 * HM_DONE with pc->connection set.
 */
hm_int_t hm_event_connect_peer(hm_peer_connection_t *pc);

/* the result of a non-blocking connect, when its write event comes */
hm_int_t hm_event_test_connect(hm_connection_t *c);


#endif /* _HM_EVENT_CONNECT_H_INCLUDED_ */
