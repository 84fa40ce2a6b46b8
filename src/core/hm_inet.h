/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_INET_H_INCLUDED_
#define _HM_INET_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_SOCKADDR_STRLEN   (sizeof("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535") - 1)


typedef union {
    struct sockaddr           sockaddr;
    struct sockaddr_in        sockaddr_in;
    struct sockaddr_in6       sockaddr_in6;
    struct sockaddr_un        sockaddr_un;
} hm_sockaddr_t;


typedef struct {
    hm_sockaddr_t             sockaddr;
    socklen_t                 socklen;
    hm_str_t                  name;
} hm_addr_t;


typedef struct {
    hm_str_t                  url;
    hm_str_t                  host;
    in_port_t                 port;
    in_port_t                 default_port;

    unsigned                  listen:1;
    unsigned                  no_resolve:1;
    unsigned                  no_port:1;
    unsigned                  wildcard:1;

    hm_addr_t                *addrs;
    hm_uint_t                 naddrs;

    char                     *err;
} hm_url_t;


size_t hm_sock_ntop(struct sockaddr *sa, socklen_t socklen, u_char *text,
    size_t len, hm_uint_t port);
hm_int_t hm_parse_url(hm_pool_t *pool, hm_url_t *u);
hm_int_t hm_cmp_sockaddr(struct sockaddr *sa1, socklen_t slen1,
    struct sockaddr *sa2, socklen_t slen2, hm_uint_t cmp_port);
in_port_t hm_inet_get_port(struct sockaddr *sa);
void hm_inet_set_port(struct sockaddr *sa, in_port_t port);


#endif /* _HM_INET_H_INCLUDED_ */
