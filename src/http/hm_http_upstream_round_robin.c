/*
 * Copyright (C) hermod authors
 *
 * Peers of an upstream and the balancers over them: smooth weighted round
 * robin, least connections, hash of a key (modulo, or consistent with
 * 160 points per weight unit), random with the "power of two choices".
 * Passive health: max_fails failures within fail_timeout take a peer out
 * for fail_timeout; the first success after that brings it back.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


typedef struct {
    uint32_t                      hash;
    hm_http_upstream_rr_peer_t   *peer;
} hm_http_upstream_chash_point_t;


typedef struct {
    hm_uint_t                         number;
    hm_http_upstream_chash_point_t    point[1];
} hm_http_upstream_chash_points_t;


static hm_int_t hm_http_upstream_init_peers_list(hm_conf_t *cf,
    hm_http_upstream_srv_conf_t *uscf, hm_uint_t backup,
    hm_http_upstream_rr_peers_t **peersp);
static hm_int_t hm_http_upstream_init_chash(hm_conf_t *cf,
    hm_http_upstream_rr_peers_t *peers);
static hm_http_upstream_rr_peer_t *hm_http_upstream_get_rr(
    hm_http_upstream_rr_peer_data_t *rrp, hm_http_upstream_rr_peers_t *peers,
    hm_uint_t least_conn);
static hm_http_upstream_rr_peer_t *hm_http_upstream_get_hash(
    hm_http_upstream_rr_peer_data_t *rrp, hm_http_upstream_rr_peers_t *peers,
    hm_uint_t consistent);
static hm_http_upstream_rr_peer_t *hm_http_upstream_get_random(
    hm_http_upstream_rr_peer_data_t *rrp, hm_http_upstream_rr_peers_t *peers,
    hm_uint_t two);
static hm_uint_t hm_http_upstream_peer_usable(
    hm_http_upstream_rr_peer_data_t *rrp, hm_http_upstream_rr_peers_t *peers,
    hm_uint_t i, time_t now);


#define hm_http_upstream_tried(rrp, i)                                        \
    ((rrp)->tried[(i) / (8 * sizeof(uintptr_t))]                              \
     & ((uintptr_t) 1 << (i) % (8 * sizeof(uintptr_t))))

#define hm_http_upstream_set_tried(rrp, i)                                    \
    (rrp)->tried[(i) / (8 * sizeof(uintptr_t))]                               \
        |= ((uintptr_t) 1 << (i) % (8 * sizeof(uintptr_t)))


hm_int_t
hm_http_upstream_init_peers(hm_conf_t *cf, hm_http_upstream_srv_conf_t *uscf)
{
    hm_http_upstream_rr_peers_t  *peers, *backup;

    if (hm_http_upstream_init_peers_list(cf, uscf, 0, &peers) != HM_OK) {
        return HM_ERROR;
    }

    if (peers == NULL || peers->number == 0) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &uscf->where,
                        "no servers in upstream \"%V\"", &uscf->host);
        return HM_ERROR;
    }

    if (hm_http_upstream_init_peers_list(cf, uscf, 1, &backup) != HM_OK) {
        return HM_ERROR;
    }

    if (backup && uscf->balancer != HM_HTTP_UPSTREAM_RR
        && uscf->balancer != HM_HTTP_UPSTREAM_LEAST_CONN)
    {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &uscf->where,
                        "backup servers are only for round robin and "
                        "least_conn in upstream \"%V\"", &uscf->host);
        return HM_ERROR;
    }

    peers->next = backup;
    uscf->peers = peers;

    if (uscf->balancer == HM_HTTP_UPSTREAM_HASH && uscf->hash_consistent) {
        return hm_http_upstream_init_chash(cf, peers);
    }

    return HM_OK;
}


static hm_int_t
hm_http_upstream_init_peers_list(hm_conf_t *cf,
    hm_http_upstream_srv_conf_t *uscf, hm_uint_t backup,
    hm_http_upstream_rr_peers_t **peersp)
{
    hm_uint_t                     i, j, n, w;
    hm_http_upstream_server_t    *server;
    hm_http_upstream_rr_peer_t   *peer, **peerp;
    hm_http_upstream_rr_peers_t  *peers;

    *peersp = NULL;

    server = uscf->servers->elts;
    n = 0;
    w = 0;

    for (i = 0; i < uscf->servers->nelts; i++) {
        if (server[i].backup != backup) {
            continue;
        }

        n += server[i].naddrs;
        w += server[i].naddrs * server[i].weight;
    }

    if (n == 0) {
        return HM_OK;
    }

    peers = hm_pcalloc(cf->pool, sizeof(hm_http_upstream_rr_peers_t));
    if (peers == NULL) {
        return HM_ERROR;
    }

    peer = hm_pcalloc(cf->pool, sizeof(hm_http_upstream_rr_peer_t) * n);
    if (peer == NULL) {
        return HM_ERROR;
    }

    peers->single = (n == 1);
    peers->number = n;
    peers->weighted = (w != n);
    peers->total_weight = w;
    peers->name = &uscf->host;
    peers->tries = n;

    n = 0;
    peerp = &peers->peer;

    for (i = 0; i < uscf->servers->nelts; i++) {
        if (server[i].backup != backup) {
            continue;
        }

        for (j = 0; j < server[i].naddrs; j++) {
            peer[n].sockaddr = &server[i].addrs[j].sockaddr.sockaddr;
            peer[n].socklen = server[i].addrs[j].socklen;
            peer[n].name = server[i].addrs[j].name;
            peer[n].weight = server[i].weight;
            peer[n].effective_weight = server[i].weight;
            peer[n].current_weight = 0;
            peer[n].max_fails = server[i].max_fails;
            peer[n].fail_timeout = server[i].fail_timeout;
            peer[n].down = server[i].down;
            peer[n].server = server[i].name;

            *peerp = &peer[n];
            peerp = &peer[n].next;
            n++;
        }
    }

    *peersp = peers;

    return HM_OK;
}


static int
hm_http_upstream_chash_cmp_points(const void *one, const void *two)
{
    const hm_http_upstream_chash_point_t *first = one;
    const hm_http_upstream_chash_point_t *second = two;

    if (first->hash < second->hash) {
        return -1;
    }

    return first->hash > second->hash;
}


static uint32_t
hm_http_upstream_crc32(u_char *p, size_t len)
{
    uint32_t  crc;
    hm_uint_t i, k;

    crc = 0xffffffff;

    for (i = 0; i < len; i++) {
        crc ^= p[i];

        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
        }
    }

    return crc ^ 0xffffffff;
}


/* ketama-like: 160 points per unit of weight, by the server's name */

static hm_int_t
hm_http_upstream_init_chash(hm_conf_t *cf, hm_http_upstream_rr_peers_t *peers)
{
    u_char                            buf[HM_SOCKADDR_STRLEN + 16];
    size_t                            len;
    hm_uint_t                         npoints, i, j;
    hm_http_upstream_rr_peer_t       *peer;
    hm_http_upstream_chash_points_t  *points;

    npoints = peers->total_weight * 160;

    points = hm_palloc(cf->pool, sizeof(hm_http_upstream_chash_points_t)
                       + sizeof(hm_http_upstream_chash_point_t)
                         * (npoints - 1));
    if (points == NULL) {
        return HM_ERROR;
    }

    points->number = 0;

    for (peer = peers->peer; peer; peer = peer->next) {
        for (j = 0; j < (hm_uint_t) peer->weight * 160; j++) {
            len = hm_snprintf(buf, sizeof(buf), "%V-%ui", &peer->name, j)
                  - buf;

            points->point[points->number].hash =
                                           hm_http_upstream_crc32(buf, len);
            points->point[points->number].peer = peer;
            points->number++;
        }
    }

    qsort(points->point, points->number,
          sizeof(hm_http_upstream_chash_point_t),
          hm_http_upstream_chash_cmp_points);

    /* equal hashes: keep the first */

    for (i = 0, j = 1; j < points->number; j++) {
        if (points->point[i].hash != points->point[j].hash) {
            points->point[++i] = points->point[j];
        }
    }

    points->number = i + 1;

    peers->points = points;

    return HM_OK;
}


/*
 * The balancer state of one request, HTTP or not: rrp and pc belong to the
 * caller; pool holds the "tried" bitmap of a large group.  For "hash"
 * upstreams hash_key is the key (NULL hashes as an empty key).
 */

hm_int_t
hm_http_upstream_init_rr_peer(hm_pool_t *pool,
    hm_http_upstream_srv_conf_t *uscf, hm_http_upstream_rr_peer_data_t *rrp,
    hm_str_t *hash_key, hm_peer_connection_t *pc)
{
    hm_uint_t  n;

    rrp->peers = uscf->peers;
    rrp->current = NULL;
    rrp->uscf = uscf;

    n = rrp->peers->number;

    if (rrp->peers->next && rrp->peers->next->number > n) {
        n = rrp->peers->next->number;
    }

    if (n <= 8 * sizeof(uintptr_t)) {
        rrp->tried = &rrp->data;
        rrp->data = 0;

    } else {
        n = (n + (8 * sizeof(uintptr_t) - 1)) / (8 * sizeof(uintptr_t));

        rrp->tried = hm_pcalloc(pool, n * sizeof(uintptr_t));
        if (rrp->tried == NULL) {
            return HM_ERROR;
        }
    }

    if (uscf->balancer == HM_HTTP_UPSTREAM_HASH) {
        /* the CRC32 of an empty key is 0 */

        rrp->hash = hash_key ? hm_http_upstream_crc32(hash_key->data,
                                                      hash_key->len)
                             : 0;
        rrp->hash_tries = 0;
    }

    pc->get = hm_http_upstream_get_peer;
    pc->free = hm_http_upstream_free_peer;
    pc->data = rrp;
    pc->tries = rrp->peers->number
                + (rrp->peers->next ? rrp->peers->next->number : 0);

    return HM_OK;
}


hm_int_t
hm_http_upstream_init_peer(hm_http_request_t *r,
    hm_http_upstream_srv_conf_t *uscf)
{
    hm_str_t             key, *kp;
    hm_http_upstream_t  *u;

    u = r->upstream;
    kp = NULL;

    if (uscf->balancer == HM_HTTP_UPSTREAM_HASH) {
        if (hm_complex_value(r, r->pool, uscf->hash_key, &key) != HM_OK) {
            return HM_ERROR;
        }

        kp = &key;
    }

    return hm_http_upstream_init_rr_peer(r->pool, uscf, &u->rrp, kp,
                                         &u->peer);
}


static hm_uint_t
hm_http_upstream_peer_usable(hm_http_upstream_rr_peer_data_t *rrp,
    hm_http_upstream_rr_peers_t *peers, hm_uint_t i, time_t now)
{
    hm_http_upstream_rr_peer_t  *peer;

    peer = &peers->peer[i];

    if (hm_http_upstream_tried(rrp, i)) {
        return 0;
    }

    if (peer->down) {
        return 0;
    }

    /* a single server is never taken out: there is nothing else to try */

    if (peer->max_fails
        && !peers->single
        && peer->fails >= peer->max_fails
        && now - peer->checked <= peer->fail_timeout)
    {
        return 0;
    }

    return 1;
}


hm_int_t
hm_http_upstream_get_peer(hm_peer_connection_t *pc, void *data)
{
    hm_http_upstream_rr_peer_data_t  *rrp = data;

    hm_connection_t              *c;
    hm_http_upstream_rr_peer_t   *peer;
    hm_http_upstream_rr_peers_t  *peers;
    hm_http_upstream_srv_conf_t  *uscf;

    pc->cached = 0;
    pc->connection = NULL;

    uscf = rrp->uscf;
    peers = rrp->peers;

    switch (uscf->balancer) {

    case HM_HTTP_UPSTREAM_HASH:
        peer = hm_http_upstream_get_hash(rrp, peers, uscf->hash_consistent);
        break;

    case HM_HTTP_UPSTREAM_RANDOM:
        peer = hm_http_upstream_get_random(rrp, peers, uscf->random_two);
        break;

    default:
        peer = hm_http_upstream_get_rr(rrp, peers,
                                 uscf->balancer == HM_HTTP_UPSTREAM_LEAST_CONN);
        break;
    }

    if (peer == NULL && peers->next) {

        /* all primary servers failed: the backup ones */

        rrp->peers = peers->next;
        hm_memzero(rrp->tried, sizeof(uintptr_t)
                   * ((rrp->peers->number + 8 * sizeof(uintptr_t) - 1)
                      / (8 * sizeof(uintptr_t))));

        peer = hm_http_upstream_get_rr(rrp, rrp->peers,
                                 uscf->balancer == HM_HTTP_UPSTREAM_LEAST_CONN);
    }

    if (peer == NULL) {

        /* every server is down: nginx then resets their failures */

        for (peer = peers->peer; peer; peer = peer->next) {
            peer->fails = 0;
        }

        pc->name = peers->name;

        return HM_BUSY;
    }

    rrp->current = peer;

    pc->sockaddr = peer->sockaddr;
    pc->socklen = peer->socklen;
    pc->name = &peer->name;

    peer->conns++;
    peer->requests++;
    hm_metric_inc(peer->m_requests);

    /* a cached keepalive connection to this peer */

    if (uscf->keepalive) {
        c = hm_http_upstream_keepalive_get(uscf, peer->sockaddr,
                                           peer->socklen);
        if (c) {
            pc->connection = c;
            pc->cached = 1;
            return HM_DONE;
        }
    }

    return HM_OK;
}


static hm_http_upstream_rr_peer_t *
hm_http_upstream_get_rr(hm_http_upstream_rr_peer_data_t *rrp,
    hm_http_upstream_rr_peers_t *peers, hm_uint_t least_conn)
{
    time_t                        now;
    hm_int_t                      total;
    hm_uint_t                     i, p, many;
    hm_http_upstream_rr_peer_t   *peer, *best;

    now = hm_time();
    best = NULL;
    total = 0;
    p = 0;
    many = 0;

    if (least_conn) {

        /* the fewest connections relative to weight; ties by rr */

        for (i = 0; i < peers->number; i++) {
            if (!hm_http_upstream_peer_usable(rrp, peers, i, now)) {
                continue;
            }

            peer = &peers->peer[i];

            if (best == NULL
                || peer->conns * best->weight < best->conns * peer->weight)
            {
                best = peer;
                p = i;
                many = 0;

            } else if (peer->conns * best->weight
                       == best->conns * peer->weight)
            {
                many = 1;
            }
        }

        if (best == NULL || !many) {
            goto found;
        }

        /* several with the same load: smooth weighted rr among them */

        {
            hm_http_upstream_rr_peer_t  *lc = best;

            best = NULL;

            for (i = 0; i < peers->number; i++) {
                peer = &peers->peer[i];

                if (!hm_http_upstream_peer_usable(rrp, peers, i, now)
                    || peer->conns * lc->weight != lc->conns * peer->weight)
                {
                    continue;
                }

                peer->current_weight += peer->effective_weight;
                total += peer->effective_weight;

                if (peer->effective_weight < peer->weight) {
                    peer->effective_weight++;
                }

                if (best == NULL
                    || peer->current_weight > best->current_weight)
                {
                    best = peer;
                    p = i;
                }
            }

            best->current_weight -= total;
        }

        goto found;
    }

    for (i = 0; i < peers->number; i++) {

        if (!hm_http_upstream_peer_usable(rrp, peers, i, now)) {
            continue;
        }

        peer = &peers->peer[i];

        peer->current_weight += peer->effective_weight;
        total += peer->effective_weight;

        if (peer->effective_weight < peer->weight) {
            peer->effective_weight++;
        }

        if (best == NULL || peer->current_weight > best->current_weight) {
            best = peer;
            p = i;
        }
    }

    if (best == NULL) {
        return NULL;
    }

    best->current_weight -= total;

found:

    if (best == NULL) {
        return NULL;
    }

    hm_http_upstream_set_tried(rrp, p);

    if (now - best->checked > best->fail_timeout) {
        best->checked = now;
    }

    return best;
}


static hm_http_upstream_rr_peer_t *
hm_http_upstream_get_hash(hm_http_upstream_rr_peer_data_t *rrp,
    hm_http_upstream_rr_peers_t *peers, hm_uint_t consistent)
{
    time_t                            now;
    uint32_t                          hash;
    hm_uint_t                         i, n, lo, hi, mid;
    hm_http_upstream_rr_peer_t       *peer;
    hm_http_upstream_chash_points_t  *points;

    now = hm_time();

    if (!consistent) {

        /* modulo hash; a failed peer moves to the next by rehashing */

        for ( ;; ) {
            if (rrp->hash_tries++ > 20) {
                return hm_http_upstream_get_rr(rrp, peers, 0);
            }

            i = (rrp->hash + rrp->hash_tries - 1) % peers->number;

            if (hm_http_upstream_peer_usable(rrp, peers, i, now)) {
                hm_http_upstream_set_tried(rrp, i);
                return &peers->peer[i];
            }

            hm_http_upstream_set_tried(rrp, i);

            if (rrp->hash_tries > peers->number * 2) {
                return NULL;
            }
        }
    }

    points = peers->points;
    hash = (uint32_t) rrp->hash;

    lo = 0;
    hi = points->number;

    while (lo < hi) {
        mid = (lo + hi) / 2;

        if (points->point[mid].hash < hash) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    /* walk the ring from there to the first usable peer */

    for (n = 0; n < points->number; n++) {
        peer = points->point[(lo + n) % points->number].peer;

        i = peer - peers->peer;

        if (hm_http_upstream_peer_usable(rrp, peers, i, now)) {
            hm_http_upstream_set_tried(rrp, i);
            return peer;
        }
    }

    return NULL;
}


static hm_http_upstream_rr_peer_t *
hm_http_upstream_get_random(hm_http_upstream_rr_peer_data_t *rrp,
    hm_http_upstream_rr_peers_t *peers, hm_uint_t two)
{
    time_t                        now;
    hm_uint_t                     i, j, tries, pick;
    hm_http_upstream_rr_peer_t   *best, *peer;

    now = hm_time();
    best = NULL;
    pick = 0;

    for (tries = 0; tries < 2 * peers->number + 2; tries++) {

        i = (hm_uint_t) random() % peers->number;

        if (!hm_http_upstream_peer_usable(rrp, peers, i, now)) {
            continue;
        }

        if (!two) {
            hm_http_upstream_set_tried(rrp, i);
            return &peers->peer[i];
        }

        peer = &peers->peer[i];

        if (best == NULL) {
            best = peer;
            pick = i;
            continue;
        }

        if (peer->conns * best->weight < best->conns * peer->weight) {
            best = peer;
            pick = i;
        }

        break;
    }

    if (best) {
        hm_http_upstream_set_tried(rrp, pick);
        return best;
    }

    /* random picks missed: take any usable one */

    for (j = 0; j < peers->number; j++) {
        if (hm_http_upstream_peer_usable(rrp, peers, j, now)) {
            hm_http_upstream_set_tried(rrp, j);
            return &peers->peer[j];
        }
    }

    return NULL;
}


void
hm_http_upstream_free_peer(hm_peer_connection_t *pc, void *data,
    hm_uint_t state)
{
    hm_http_upstream_rr_peer_data_t  *rrp = data;

    time_t                        now;
    hm_http_upstream_rr_peer_t   *peer;

    peer = rrp->current;

    if (peer == NULL) {
        pc->tries = 0;
        return;
    }

    rrp->current = NULL;

    if (peer->conns) {
        peer->conns--;
    }

    now = hm_time();

    if (state & HM_PEER_FAILED) {

        peer->fails++;
        peer->failures++;
        hm_metric_inc(peer->m_failures);
        peer->accessed = now;
        peer->checked = now;

        if (peer->max_fails) {
            peer->effective_weight -= peer->weight / peer->max_fails;

            if (peer->fails >= peer->max_fails
                && !rrp->peers->single)
            {
                hm_log_error(HM_LOG_WARN, pc->log, 0,
                             "upstream server temporarily disabled");
            }
        }

        if (peer->effective_weight < 0) {
            peer->effective_weight = 0;
        }

    } else {

        /* mark peer live if check passed */

        if (peer->accessed < peer->checked) {
            peer->fails = 0;
        }
    }

    if (pc->tries) {
        pc->tries--;
    }
}


/* hermod_upstream_*{upstream="name",server="addr"}, one name at a time */

hm_int_t
hm_http_upstream_add_metrics(hm_conf_t *cf, hm_http_upstream_srv_conf_t *uscf)
{
    hm_str_t                      label;
    hm_uint_t                     pass;
    hm_http_upstream_rr_peer_t   *peer;
    hm_http_upstream_rr_peers_t  *peers;

    for (pass = 0; pass < 3; pass++) {

        for (peers = uscf->peers; peers; peers = peers->next) {
            for (peer = peers->peer; peer; peer = peer->next) {

                label.data = hm_pnalloc(cf->pool, sizeof("upstream=\"\","
                                                         "server=\"\"") - 1
                                                  + uscf->label.len
                                                  + peer->name.len);
                if (label.data == NULL) {
                    return HM_ERROR;
                }

                label.len = hm_sprintf(label.data,
                                       "upstream=\"%V\",server=\"%V\"",
                                       &uscf->label, &peer->name)
                            - label.data;

                switch (pass) {

                case 0:
                    peer->m_requests = hm_metric_add(cf->cycle,
                        "hermod_upstream_requests_total",
                        "Requests sent to an upstream server.", &label,
                        HM_METRIC_COUNTER);
                    break;

                case 1:
                    peer->m_failures = hm_metric_add(cf->cycle,
                        "hermod_upstream_failures_total",
                        "Failed attempts on an upstream server.", &label,
                        HM_METRIC_COUNTER);
                    break;

                default:
                    peer->m_time = hm_metric_add(cf->cycle,
                        "hermod_upstream_response_seconds_total",
                        "Time spent waiting for an upstream server.",
                        &label, HM_METRIC_COUNTER);

                    if (peer->m_time) {
                        peer->m_time->scale = 1000;
                    }
                }
            }
        }
    }

    return HM_OK;
}
