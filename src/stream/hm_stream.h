/*
 * Copyright (C) hermod authors
 *
 * The stream framework (TCP and UDP), what its parts share: the peer of a
 * message, which is the context of the stream variables ($remote_addr,
 * $remote_port) in a pipeline.
 */

#ifndef _HM_STREAM_H_INCLUDED_
#define _HM_STREAM_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct {
    struct sockaddr             *sockaddr;
    socklen_t                    socklen;
    hm_str_t                     addr_text;   /* filled when first read */
} hm_stream_peer_t;


hm_int_t hm_stream_variables_add(hm_cycle_t *cycle);


#endif /* _HM_STREAM_H_INCLUDED_ */
