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


/* framings of a TCP byte stream: see hm_stream_framing.c */

#define HM_STREAM_FRAME_LINE       1
#define HM_STREAM_FRAME_DELIMITER  2
#define HM_STREAM_FRAME_LENGTH     3
#define HM_STREAM_FRAME_FIXED      4

typedef struct {
    hm_uint_t                    type;        /* 0: not set (line) */
    hm_str_t                     delimiter;
    hm_uint_t                    prefix;      /* 1, 2, 4, 8 bytes */
    hm_uint_t                    little;      /* little-endian prefix */
    size_t                       fixed;
} hm_stream_framing_t;

char *hm_stream_framing_parse(hm_conf_t *cf, hm_stream_framing_t *f);
void hm_stream_framing_default(hm_stream_framing_t *f);
hm_int_t hm_stream_frame_next(hm_stream_framing_t *f, size_t max, u_char *p,
    u_char *last, hm_str_t *frame, u_char **next, uint64_t *size);
size_t hm_stream_frame_size(hm_stream_framing_t *f, size_t len);
u_char *hm_stream_frame_write(hm_stream_framing_t *f, u_char *p,
    u_char *data, size_t len);


#endif /* _HM_STREAM_H_INCLUDED_ */
