/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static hm_int_t hm_parse_port(u_char *p, size_t len);
static hm_int_t hm_url_resolve(hm_pool_t *pool, hm_url_t *u);


size_t
hm_sock_ntop(struct sockaddr *sa, socklen_t socklen, u_char *text, size_t len,
    hm_uint_t port)
{
    u_char               *p;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;
    char                  buf[INET6_ADDRSTRLEN];

    switch (sa->sa_family) {

    case AF_INET:

        sin = (struct sockaddr_in *) sa;
        p = (u_char *) &sin->sin_addr;

        if (port) {
            p = hm_snprintf(text, len, "%ud.%ud.%ud.%ud:%d",
                            p[0], p[1], p[2], p[3], ntohs(sin->sin_port));
        } else {
            p = hm_snprintf(text, len, "%ud.%ud.%ud.%ud",
                            p[0], p[1], p[2], p[3]);
        }

        return (p - text);

    case AF_INET6:

        sin6 = (struct sockaddr_in6 *) sa;

        if (inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)) == NULL)
        {
            return 0;
        }

        if (port) {
            p = hm_snprintf(text, len, "[%s]:%d", buf,
                            ntohs(sin6->sin6_port));
        } else {
            p = hm_snprintf(text, len, "%s", buf);
        }

        return (p - text);

    case AF_UNIX:

        p = hm_snprintf(text, len, "unix:%s",
                        ((struct sockaddr_un *) sa)->sun_path);

        return (p - text);

    default:
        return 0;
    }
}


static hm_int_t
hm_parse_port(u_char *p, size_t len)
{
    hm_int_t  n;

    n = hm_atoi(p, len);

    if (n < 1 || n > 65535) {
        return HM_ERROR;
    }

    return n;
}


/*
 * Parses "host:port", "[v6]:port", "*:port", "port" (listen) or "host"
 * (with default_port), and resolves the host unless no_resolve is set.
 */

hm_int_t
hm_parse_url(hm_pool_t *pool, hm_url_t *u)
{
    u_char    *p, *last, *colon;
    size_t     len;
    hm_int_t   n;

    p = u->url.data;
    len = u->url.len;
    last = p + len;

    if (len == 0) {
        u->err = "no host";
        return HM_ERROR;
    }

    if (len >= 5 && hm_strncasecmp(p, (u_char *) "unix:", 5) == 0) {
        u->err = "unix domain sockets are not supported here";
        return HM_ERROR;
    }

    colon = NULL;

    if (*p == '[') {
        u_char *rb = hm_strlchr(p, last, ']');

        if (rb == NULL) {
            u->err = "invalid IPv6 address";
            return HM_ERROR;
        }

        u->host.data = p + 1;
        u->host.len = rb - p - 1;

        if (rb + 1 < last) {
            if (rb[1] != ':') {
                u->err = "invalid host";
                return HM_ERROR;
            }

            colon = rb + 1;
        }

    } else {
        colon = hm_strlchr(p, last, ':');

        u->host.data = p;
        u->host.len = colon ? (size_t) (colon - p) : len;
    }

    if (colon) {
        n = hm_parse_port(colon + 1, last - colon - 1);
        if (n == HM_ERROR) {
            u->err = "invalid port";
            return HM_ERROR;
        }

        u->port = (in_port_t) n;

    } else if (u->listen && *p != '[') {

        /* "listen 8080" */

        n = hm_parse_port(p, len);

        if (n != HM_ERROR) {
            u->port = (in_port_t) n;
            u->wildcard = 1;
            hm_str_set(&u->host, "*");

        } else if (u->default_port) {
            u->port = u->default_port;
            u->no_port = 1;

        } else {
            u->err = "no port";
            return HM_ERROR;
        }

    } else if (u->default_port) {
        u->port = u->default_port;
        u->no_port = 1;

    } else {
        u->err = "no port";
        return HM_ERROR;
    }

    if (u->host.len == 0) {
        u->err = "no host";
        return HM_ERROR;
    }

    if (u->host.len == 1 && u->host.data[0] == '*') {
        u->wildcard = 1;
    }

    if (u->no_resolve) {
        return HM_OK;
    }

    return hm_url_resolve(pool, u);
}


static hm_int_t
hm_url_resolve(hm_pool_t *pool, hm_url_t *u)
{
    u_char               *host, text[HM_SOCKADDR_STRLEN];
    size_t                len;
    hm_uint_t             i, n;
    struct addrinfo       hints, *res, *rp;
    struct sockaddr_in   *sin;

    if (u->wildcard) {
        u->addrs = hm_pcalloc(pool, sizeof(hm_addr_t));
        if (u->addrs == NULL) {
            return HM_ERROR;
        }

        sin = &u->addrs[0].sockaddr.sockaddr_in;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(u->port);
        sin->sin_addr.s_addr = INADDR_ANY;
        u->addrs[0].socklen = sizeof(struct sockaddr_in);
        u->naddrs = 1;

        goto names;
    }

    host = hm_pnalloc(pool, u->host.len + 1);
    if (host == NULL) {
        return HM_ERROR;
    }

    (void) hm_cpystrn(host, u->host.data, u->host.len + 1);

    hm_memzero(&hints, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;

    if (getaddrinfo((char *) host, NULL, &hints, &res) != 0) {
        u->err = "host not found";
        return HM_ERROR;
    }

    for (n = 0, rp = res; rp != NULL; rp = rp->ai_next) {
        if (rp->ai_family == AF_INET || rp->ai_family == AF_INET6) {
            n++;
        }
    }

    if (n == 0) {
        freeaddrinfo(res);
        u->err = "host not found";
        return HM_ERROR;
    }

    u->addrs = hm_pcalloc(pool, n * sizeof(hm_addr_t));
    if (u->addrs == NULL) {
        freeaddrinfo(res);
        return HM_ERROR;
    }

    for (i = 0, rp = res; rp != NULL; rp = rp->ai_next) {
        if (rp->ai_family != AF_INET && rp->ai_family != AF_INET6) {
            continue;
        }

        hm_memcpy(&u->addrs[i].sockaddr, rp->ai_addr, rp->ai_addrlen);
        u->addrs[i].socklen = rp->ai_addrlen;
        hm_inet_set_port(&u->addrs[i].sockaddr.sockaddr, u->port);
        i++;
    }

    u->naddrs = n;

    freeaddrinfo(res);

names:

    for (i = 0; i < u->naddrs; i++) {
        len = hm_sock_ntop(&u->addrs[i].sockaddr.sockaddr,
                           u->addrs[i].socklen, text, HM_SOCKADDR_STRLEN, 1);

        u->addrs[i].name.data = hm_pnalloc(pool, len);
        if (u->addrs[i].name.data == NULL) {
            return HM_ERROR;
        }

        hm_memcpy(u->addrs[i].name.data, text, len);
        u->addrs[i].name.len = len;
    }

    return HM_OK;
}


in_port_t
hm_inet_get_port(struct sockaddr *sa)
{
    switch (sa->sa_family) {
    case AF_INET6:
        return ntohs(((struct sockaddr_in6 *) sa)->sin6_port);
    case AF_INET:
        return ntohs(((struct sockaddr_in *) sa)->sin_port);
    default:
        return 0;
    }
}


void
hm_inet_set_port(struct sockaddr *sa, in_port_t port)
{
    switch (sa->sa_family) {
    case AF_INET6:
        ((struct sockaddr_in6 *) sa)->sin6_port = htons(port);
        break;
    case AF_INET:
        ((struct sockaddr_in *) sa)->sin_port = htons(port);
        break;
    }
}


hm_int_t
hm_cmp_sockaddr(struct sockaddr *sa1, socklen_t slen1,
    struct sockaddr *sa2, socklen_t slen2, hm_uint_t cmp_port)
{
    struct sockaddr_in   *sin1, *sin2;
    struct sockaddr_in6  *sin61, *sin62;

    if (sa1->sa_family != sa2->sa_family) {
        return HM_DECLINED;
    }

    switch (sa1->sa_family) {

    case AF_INET6:

        sin61 = (struct sockaddr_in6 *) sa1;
        sin62 = (struct sockaddr_in6 *) sa2;

        if (cmp_port && sin61->sin6_port != sin62->sin6_port) {
            return HM_DECLINED;
        }

        if (hm_memcmp(&sin61->sin6_addr, &sin62->sin6_addr, 16) != 0) {
            return HM_DECLINED;
        }

        break;

    case AF_INET:

        sin1 = (struct sockaddr_in *) sa1;
        sin2 = (struct sockaddr_in *) sa2;

        if (cmp_port && sin1->sin_port != sin2->sin_port) {
            return HM_DECLINED;
        }

        if (sin1->sin_addr.s_addr != sin2->sin_addr.s_addr) {
            return HM_DECLINED;
        }

        break;

    default:

        if (slen1 != slen2 || hm_memcmp(sa1, sa2, slen1) != 0) {
            return HM_DECLINED;
        }

        break;
    }

    return HM_OK;
}
