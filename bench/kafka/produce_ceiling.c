/*
 * Copyright (C) hermod authors
 *
 * The Kafka produce ceiling: librdkafka producing straight to a broker, as
 * fast as it takes messages, with the producer settings hermod's Kafka
 * outbound uses in bench/kafka/run.  Also fills a topic for the Kafka ->
 * Kafka bench and reads a topic's high watermarks.
 *
 *     produce_ceiling produce BOOTSTRAP TOPIC SIZE COUNT
 *         prints "COUNT SECONDS MSGS_PER_S": from the first produce to
 *         the last delivery report
 *     produce_ceiling watermarks BOOTSTRAP TOPIC PARTITIONS
 *         prints the sum of the partitions' high watermarks
 *
 * build: cc -O2 -o produce_ceiling produce_ceiling.c \
 *            $(pkg-config --cflags --libs rdkafka)
 */

#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static long long  hm_bench_delivered;
static long long  hm_bench_failed;


static double
hm_bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
hm_bench_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void) rk;
    (void) opaque;

    if (m->err) {
        hm_bench_failed++;

    } else {
        hm_bench_delivered++;
    }
}


static rd_kafka_t *
hm_bench_client(rd_kafka_type_t type, const char *bootstrap)
{
    size_t            i;
    char              err[512];
    rd_kafka_t       *rk;
    rd_kafka_conf_t  *conf;

    /* the same settings as the outbound in bench/kafka/run */

    static const char  *props[][2] = {
        { "acks", "all" },
        { "enable.idempotence", "true" },
        { "compression.codec", "none" },
        { "linger.ms", "5" },
        { "batch.size", "1048576" },
        { "queue.buffering.max.messages", "1000000" },
        { "log_level", "3" },
    };

    conf = rd_kafka_conf_new();

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err,
                          sizeof(err)) != RD_KAFKA_CONF_OK)
    {
        fprintf(stderr, "bootstrap.servers: %s\n", err);
        exit(1);
    }

    if (type == RD_KAFKA_PRODUCER) {
        for (i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
            if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err,
                                  sizeof(err)) != RD_KAFKA_CONF_OK)
            {
                fprintf(stderr, "%s: %s\n", props[i][0], err);
                exit(1);
            }
        }

        rd_kafka_conf_set_dr_msg_cb(conf, hm_bench_dr);
    }

    rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "rd_kafka_new(): %s\n", err);
        exit(1);
    }

    return rk;
}


static int
hm_bench_produce(const char *bootstrap, const char *topic, size_t size,
    long long count)
{
    char        *payload;
    double       start, took;
    long long    i;
    rd_kafka_t  *rk;

    payload = malloc(size);
    if (payload == NULL) {
        return 1;
    }

    memset(payload, 'x', size);

    rk = hm_bench_client(RD_KAFKA_PRODUCER, bootstrap);

    /* metadata and connections before the clock starts */

    if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                          RD_KAFKA_V_VALUE(payload, size),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR
        || rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    {
        fprintf(stderr, "warm-up produce failed\n");
        return 1;
    }

    hm_bench_delivered = 0;
    start = hm_bench_now();

    for (i = 0; i < count; i++) {
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                 RD_KAFKA_V_VALUE(payload, size),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END)
               == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        {
            rd_kafka_poll(rk, 1);
        }

        if ((i & 1023) == 0) {
            rd_kafka_poll(rk, 0);
        }
    }

    while (hm_bench_delivered + hm_bench_failed < count) {
        rd_kafka_poll(rk, 10);
    }

    took = hm_bench_now() - start;

    printf("%lld %.3f %.0f\n", hm_bench_delivered, took,
           hm_bench_delivered / took);

    if (hm_bench_failed) {
        fprintf(stderr, "%lld failed\n", hm_bench_failed);
    }

    rd_kafka_destroy(rk);
    free(payload);

    return hm_bench_failed ? 1 : 0;
}


static int
hm_bench_watermarks(const char *bootstrap, const char *topic, int parts)
{
    int                  i;
    int64_t              lo, hi;
    long long            sum;
    rd_kafka_t          *rk;
    rd_kafka_resp_err_t  err;

    rk = hm_bench_client(RD_KAFKA_CONSUMER, bootstrap);

    sum = 0;

    for (i = 0; i < parts; i++) {
        err = rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &hi, 5000);
        if (err) {
            fprintf(stderr, "%s [%d]: %s\n", topic, i, rd_kafka_err2str(err));
            return 1;
        }

        sum += hi;
    }

    printf("%lld\n", sum);

    rd_kafka_destroy(rk);

    return 0;
}


int
main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "produce") == 0) {
        return hm_bench_produce(argv[2], argv[3], strtoul(argv[4], NULL, 10),
                                strtoll(argv[5], NULL, 10));
    }

    if (argc == 5 && strcmp(argv[1], "watermarks") == 0) {
        return hm_bench_watermarks(argv[2], argv[3], atoi(argv[4]));
    }

    fprintf(stderr, "usage: produce_ceiling produce BOOTSTRAP TOPIC SIZE COUNT\n"
                    "       produce_ceiling watermarks BOOTSTRAP TOPIC PARTS\n");
    return 2;
}
