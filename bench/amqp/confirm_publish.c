/*
 * Copyright (C) hermod authors
 *
 * The AMQP publish ceiling: rabbitmq-c (blocking API) publishing straight
 * to a broker with publisher confirms (confirm.select), keeping at most
 * WINDOW messages unconfirmed; and the drain rate of a queue with
 * basic.consume.
 *
 *     confirm_publish [-u URL] [-n N] [-s SIZE] [-w WINDOW] [-e EXCHANGE]
 *                     [-r ROUTING_KEY] [-p]
 *         publishes N messages of SIZE bytes (default 100000, 100) to
 *         EXCHANGE (default "", the default exchange) with ROUTING_KEY
 *         (default "bench"), persistent with -p; the clock runs from the
 *         first publish to the last basic.ack
 *
 *     confirm_publish -c QUEUE [-u URL] [-n N] [-t IDLE]
 *         consumes N messages from QUEUE (basic.qos prefetch 1000, a
 *         multiple basic.ack every 100); the clock runs from the first
 *         delivery to the last; gives up after IDLE seconds without a
 *         delivery (default 60)
 *
 * Both print one line:
 *
 *     messages=N bytes=SIZE seconds=X msg_per_s=Y
 *
 * (consuming, bytes is the mean body size).  The exit code is 1 if a
 * message was nacked or fewer than N arrived.  URL defaults to
 * amqp://guest:guest@127.0.0.1:5672 (no trailing slash: vhost "/").
 *
 * build: cc -O2 -Wall -Wextra -o confirm_publish confirm_publish.c \
 *            -lrabbitmq
 */

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


#define HM_BENCH_CHANNEL  1


typedef struct {
    const char                *url;
    const char                *exchange;
    const char                *routing_key;
    const char                *queue;
    long long                  count;
    size_t                     size;
    long long                  window;
    int                        persistent;
    int                        idle;
} hm_bench_opts_t;


static double
hm_bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
hm_bench_die_rpc(amqp_rpc_reply_t r, const char *what)
{
    amqp_connection_close_t  *cc;
    amqp_channel_close_t     *ch;

    switch (r.reply_type) {

    case AMQP_RESPONSE_NORMAL:
        return;

    case AMQP_RESPONSE_NONE:
        fprintf(stderr, "%s: missing RPC reply\n", what);
        break;

    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        fprintf(stderr, "%s: %s\n", what,
                amqp_error_string2(r.library_error));
        break;

    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            cc = r.reply.decoded;
            fprintf(stderr, "%s: connection closed: %u %.*s\n", what,
                    cc->reply_code, (int) cc->reply_text.len,
                    (char *) cc->reply_text.bytes);

        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            ch = r.reply.decoded;
            fprintf(stderr, "%s: channel closed: %u %.*s\n", what,
                    ch->reply_code, (int) ch->reply_text.len,
                    (char *) ch->reply_text.bytes);

        } else {
            fprintf(stderr, "%s: server exception, method 0x%08x\n", what,
                    r.reply.id);
        }
        break;
    }

    exit(1);
}


/* a method the broker sends that ends the run */

static void
hm_bench_die_method(amqp_frame_t *f, const char *what)
{
    amqp_rpc_reply_t  r;

    r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
    r.reply = f->payload.method;
    r.library_error = 0;

    hm_bench_die_rpc(r, what);

    fprintf(stderr, "%s: unexpected method 0x%08x\n", what,
            f->payload.method.id);
    exit(1);
}


static amqp_connection_state_t
hm_bench_connect(const char *url)
{
    int                           rc;
    char                         *copy;
    amqp_socket_t                *sock;
    amqp_connection_state_t       conn;
    struct amqp_connection_info   ci;

    copy = strdup(url);
    if (copy == NULL) {
        exit(1);
    }

    amqp_default_connection_info(&ci);

    rc = amqp_parse_url(copy, &ci);
    if (rc != AMQP_STATUS_OK) {
        fprintf(stderr, "bad URL \"%s\": %s\n", url, amqp_error_string2(rc));
        exit(2);
    }

    conn = amqp_new_connection();

    sock = amqp_tcp_socket_new(conn);
    if (sock == NULL) {
        fprintf(stderr, "amqp_tcp_socket_new() failed\n");
        exit(1);
    }

    rc = amqp_socket_open(sock, ci.host, ci.port);
    if (rc != AMQP_STATUS_OK) {
        fprintf(stderr, "connect %s:%d: %s\n", ci.host, ci.port,
                amqp_error_string2(rc));
        exit(1);
    }

    hm_bench_die_rpc(amqp_login(conn, ci.vhost, 0, AMQP_DEFAULT_FRAME_SIZE,
                                0, AMQP_SASL_METHOD_PLAIN, ci.user,
                                ci.password),
                     "login");

    amqp_channel_open(conn, HM_BENCH_CHANNEL);
    hm_bench_die_rpc(amqp_get_rpc_reply(conn), "channel.open");

    free(copy);

    return conn;
}


static void
hm_bench_close(amqp_connection_state_t conn)
{
    amqp_channel_close(conn, HM_BENCH_CHANNEL, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
}


static void
hm_bench_report(long long n, size_t size, double took)
{
    printf("messages=%lld bytes=%zu seconds=%.3f msg_per_s=%.0f\n", n, size,
           took, took > 0 ? n / took : 0.0);
    fflush(stdout);
}


/* publishing with confirms */

typedef struct {
    long long       published;    /* delivery tags 1 .. published */
    long long       settled;      /* acked or nacked */
    long long       nacked;
    long long       low;          /* every tag below is settled */
    unsigned char  *done;         /* done[tag]: settled */
} hm_bench_confirms_t;


static void
hm_bench_settle(hm_bench_confirms_t *c, uint64_t tag, int multiple, int nack)
{
    long long  t, from;

    if (tag > (uint64_t) c->published) {
        fprintf(stderr, "confirm of tag %llu, only %lld published\n",
                (unsigned long long) tag, c->published);
        exit(1);
    }

    from = multiple ? c->low : (long long) tag;

    for (t = from; t <= (long long) tag; t++) {
        if (c->done[t]) {
            continue;
        }

        c->done[t] = 1;
        c->settled++;

        if (nack) {
            c->nacked++;
        }
    }

    while (c->low <= c->published && c->done[c->low]) {
        c->low++;
    }
}


/*
 * handles one frame from the broker: returns 0, or AMQP_STATUS_TIMEOUT
 * when none came within tv (tv NULL: waits)
 */

static int
hm_bench_confirm_frame(amqp_connection_state_t conn, hm_bench_confirms_t *c,
    struct timeval *tv)
{
    int                 rc;
    amqp_frame_t        f;
    amqp_basic_ack_t   *ack;
    amqp_basic_nack_t  *nack;

    rc = tv ? amqp_simple_wait_frame_noblock(conn, &f, tv)
            : amqp_simple_wait_frame(conn, &f);

    if (rc == AMQP_STATUS_TIMEOUT) {
        return rc;
    }

    if (rc != AMQP_STATUS_OK) {
        fprintf(stderr, "waiting for confirms: %s\n", amqp_error_string2(rc));
        exit(1);
    }

    if (f.frame_type != AMQP_FRAME_METHOD) {
        /* returned message content: not with mandatory off */
        return 0;
    }

    switch (f.payload.method.id) {

    case AMQP_BASIC_ACK_METHOD:
        ack = f.payload.method.decoded;
        hm_bench_settle(c, ack->delivery_tag, ack->multiple, 0);
        break;

    case AMQP_BASIC_NACK_METHOD:
        nack = f.payload.method.decoded;
        hm_bench_settle(c, nack->delivery_tag, nack->multiple, 1);
        break;

    case AMQP_CONNECTION_BLOCKED_METHOD:
        fprintf(stderr, "connection blocked by the broker (resource alarm)\n");
        break;

    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        fprintf(stderr, "connection unblocked\n");
        break;

    default:
        hm_bench_die_method(&f, "publishing");
    }

    amqp_maybe_release_buffers(conn);

    return 0;
}


static int
hm_bench_publish(hm_bench_opts_t *o)
{
    int                      rc;
    char                    *payload;
    double                   start, took;
    amqp_bytes_t             body;
    struct timeval           zero;
    hm_bench_confirms_t      c;
    amqp_basic_properties_t  props;
    amqp_connection_state_t  conn;

    payload = malloc(o->size ? o->size : 1);
    c.done = calloc(o->count + 2, 1);

    if (payload == NULL || c.done == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    memset(payload, 'x', o->size);

    body.bytes = payload;
    body.len = o->size;

    c.published = 0;
    c.settled = 0;
    c.nacked = 0;
    c.low = 1;

    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = o->persistent ? 2 : 1;

    conn = hm_bench_connect(o->url);

    amqp_confirm_select(conn, HM_BENCH_CHANNEL);
    hm_bench_die_rpc(amqp_get_rpc_reply(conn), "confirm.select");

    start = hm_bench_now();

    while (c.settled < o->count) {

        if (c.published < o->count
            && c.published - c.settled < o->window)
        {
            rc = amqp_basic_publish(conn, HM_BENCH_CHANNEL,
                                    amqp_cstring_bytes(o->exchange),
                                    amqp_cstring_bytes(o->routing_key),
                                    0, 0, &props, body);
            if (rc != AMQP_STATUS_OK) {
                fprintf(stderr, "basic.publish: %s\n",
                        amqp_error_string2(rc));
                return 1;
            }

            c.published++;

            /* confirms that already arrived, without blocking, now and
             * then: the window slides instead of emptying */

            if ((c.published & 63) == 0) {
                do {
                    zero.tv_sec = 0;
                    zero.tv_usec = 0;
                } while (hm_bench_confirm_frame(conn, &c, &zero) == 0);
            }

            continue;
        }

        /* the window is full or everything is published */

        hm_bench_confirm_frame(conn, &c, NULL);
    }

    took = hm_bench_now() - start;

    hm_bench_report(c.settled - c.nacked, o->size, took);

    if (c.nacked) {
        fprintf(stderr, "%lld nacked\n", c.nacked);
    }

    hm_bench_close(conn);

    free(c.done);
    free(payload);

    return c.nacked ? 1 : 0;
}


/* consuming */

static int
hm_bench_consume(hm_bench_opts_t *o)
{
    int                      rc;
    double                   start, took;
    uint64_t                 tag, last_acked;
    size_t                   got;
    long long                n, total;
    amqp_frame_t             f;
    struct timeval           tv;
    amqp_basic_deliver_t    *d;
    amqp_connection_state_t  conn;

    conn = hm_bench_connect(o->url);

    amqp_basic_qos(conn, HM_BENCH_CHANNEL, 0, 1000, 0);
    hm_bench_die_rpc(amqp_get_rpc_reply(conn), "basic.qos");

    amqp_basic_consume(conn, HM_BENCH_CHANNEL, amqp_cstring_bytes(o->queue),
                       amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    hm_bench_die_rpc(amqp_get_rpc_reply(conn), "basic.consume");

    n = 0;
    total = 0;
    tag = 0;
    last_acked = 0;
    start = 0;

    while (n < o->count) {

        /* basic.deliver */

        tv.tv_sec = o->idle;
        tv.tv_usec = 0;

        rc = amqp_simple_wait_frame_noblock(conn, &f, &tv);

        if (rc == AMQP_STATUS_TIMEOUT) {
            fprintf(stderr, "no delivery for %d s after %lld messages\n",
                    o->idle, n);
            break;
        }

        if (rc != AMQP_STATUS_OK) {
            fprintf(stderr, "consuming: %s\n", amqp_error_string2(rc));
            return 1;
        }

        if (f.frame_type != AMQP_FRAME_METHOD) {
            fprintf(stderr, "consuming: frame type %u, not a method\n",
                    f.frame_type);
            return 1;
        }

        if (f.payload.method.id != AMQP_BASIC_DELIVER_METHOD) {
            hm_bench_die_method(&f, "consuming");
        }

        d = f.payload.method.decoded;
        tag = d->delivery_tag;

        if (n == 0) {
            start = hm_bench_now();
        }

        /* the content header, then body frames up to its body size */

        rc = amqp_simple_wait_frame(conn, &f);
        if (rc != AMQP_STATUS_OK || f.frame_type != AMQP_FRAME_HEADER) {
            fprintf(stderr, "consuming: no content header\n");
            return 1;
        }

        got = f.payload.properties.body_size;
        total += got;

        while (got > 0) {
            rc = amqp_simple_wait_frame(conn, &f);
            if (rc != AMQP_STATUS_OK || f.frame_type != AMQP_FRAME_BODY) {
                fprintf(stderr, "consuming: no body frame\n");
                return 1;
            }

            got -= f.payload.body_fragment.len < got
                   ? f.payload.body_fragment.len : got;
        }

        n++;

        if (n % 100 == 0 || n == o->count) {
            rc = amqp_basic_ack(conn, HM_BENCH_CHANNEL, tag, 1);
            if (rc != AMQP_STATUS_OK) {
                fprintf(stderr, "basic.ack: %s\n", amqp_error_string2(rc));
                return 1;
            }

            last_acked = tag;
        }

        amqp_maybe_release_buffers(conn);
    }

    took = n ? hm_bench_now() - start : 0;

    if (n && last_acked != tag) {
        amqp_basic_ack(conn, HM_BENCH_CHANNEL, tag, 1);
    }

    hm_bench_report(n, n ? (size_t) (total / n) : 0, took);

    /* deliveries past N, unacknowledged, go back to the queue */

    hm_bench_close(conn);

    return n == o->count ? 0 : 1;
}


static void
hm_bench_usage(void)
{
    fprintf(stderr,
        "usage: confirm_publish [-u URL] [-n N] [-s SIZE] [-w WINDOW]"
        " [-e EXCHANGE]\n"
        "                       [-r ROUTING_KEY] [-p]\n"
        "       confirm_publish -c QUEUE [-u URL] [-n N] [-t IDLE]\n");
    exit(2);
}


int
main(int argc, char **argv)
{
    int              ch;
    hm_bench_opts_t  o;

    o.url = "amqp://guest:guest@127.0.0.1:5672";
    o.exchange = "";
    o.routing_key = "bench";
    o.queue = NULL;
    o.count = 100000;
    o.size = 100;
    o.window = 1000;
    o.persistent = 0;
    o.idle = 60;

    while ((ch = getopt(argc, argv, "u:n:s:w:e:r:pc:t:")) != -1) {
        switch (ch) {
        case 'u': o.url = optarg; break;
        case 'n': o.count = strtoll(optarg, NULL, 10); break;
        case 's': o.size = strtoul(optarg, NULL, 10); break;
        case 'w': o.window = strtoll(optarg, NULL, 10); break;
        case 'e': o.exchange = optarg; break;
        case 'r': o.routing_key = optarg; break;
        case 'p': o.persistent = 1; break;
        case 'c': o.queue = optarg; break;
        case 't': o.idle = atoi(optarg); break;
        default: hm_bench_usage();
        }
    }

    if (optind != argc || o.count <= 0 || o.window <= 0 || o.idle <= 0) {
        hm_bench_usage();
    }

    return o.queue ? hm_bench_consume(&o) : hm_bench_publish(&o);
}
