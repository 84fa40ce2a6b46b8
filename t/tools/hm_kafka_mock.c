/*
 * Copyright (C) hermod authors
 *
 * hm_kafka_mock: librdkafka's mock cluster (rdkafka_mock.h) run as a
 * standalone Kafka broker for the tests and the benchmarks.
 *
 *     hm_kafka_mock [-n BROKERS] [-p PORT[,PORT...]] [-e] [TOPIC:PARTITIONS ...]
 *
 * Starts BROKERS (default 1) mock brokers listening on 127.0.0.1, creates
 * the topics given, prints "BOOTSTRAP 127.0.0.1:P1,..." on stdout and
 * runs until SIGTERM or SIGINT.  With -e it also stops at the end of its
 * standard input, so that a test that dies leaves no broker behind.
 *
 * The mock cluster of librdkafka 2.0.2 binds its brokers to 127.0.0.1:0
 * and has no port setting.  This program therefore defines bind() itself:
 * the executable's symbol is the one librdkafka's calls resolve to, and
 * the Nth bind of a loopback socket to port 0 gets the Nth port of -p
 * (ports after the last one given follow it consecutively).
 *
 * Commands on standard input, one per line; each answers one line, "OK"
 * or "ERR reason":
 *
 *     down ID               broker ID (1..BROKERS) stops answering
 *     up ID                 and answers again
 *     rtt ID MS             adds MS milliseconds to each of its answers
 *     topic NAME PARTS      creates a topic
 *     leader TOPIC PART ID  moves a partition's leadership
 *     committed GROUP TOPIC PARTS
 *                           "OK O0 O1 ...": the group's committed offset of
 *                           each partition (-1: none), read with an
 *                           OffsetFetch that does not join the group
 *     ping                  OK
 *     quit                  OK, then exits
 *
 * build: cc -O2 -o hm_kafka_mock hm_kafka_mock.c \
 *            $(pkg-config --cflags --libs rdkafka) -ldl
 */

#define _GNU_SOURCE

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


#define HM_MOCK_MAX_PORTS  64
#define HM_MOCK_LINE       1024


typedef int (*hm_mock_bind_pt)(int fd, const struct sockaddr *sa,
    socklen_t len);


static int                    hm_mock_ports[HM_MOCK_MAX_PORTS];
static int                    hm_mock_nports;
static int                    hm_mock_nbound;
static volatile sig_atomic_t  hm_mock_quit;


int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    int                      port;
    struct sockaddr_in       sin;
    static hm_mock_bind_pt   real_bind;

    if (real_bind == NULL) {
        real_bind = (hm_mock_bind_pt) dlsym(RTLD_NEXT, "bind");
        if (real_bind == NULL) {
            errno = ENOSYS;
            return -1;
        }
    }

    if (hm_mock_nports == 0
        || sa == NULL
        || sa->sa_family != AF_INET
        || len < (socklen_t) sizeof(struct sockaddr_in))
    {
        return real_bind(fd, sa, len);
    }

    memcpy(&sin, sa, sizeof(struct sockaddr_in));

    if (sin.sin_port != 0 || sin.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
        return real_bind(fd, sa, len);
    }

    if (hm_mock_nbound < hm_mock_nports) {
        port = hm_mock_ports[hm_mock_nbound];

    } else {
        port = hm_mock_ports[hm_mock_nports - 1]
               + (hm_mock_nbound - hm_mock_nports + 1);
    }

    hm_mock_nbound++;
    sin.sin_port = htons((uint16_t) port);

    return real_bind(fd, (struct sockaddr *) &sin, sizeof(sin));
}


static void
hm_mock_signal(int signo)
{
    (void) signo;
    hm_mock_quit = 1;
}


static int
hm_mock_parse_ports(char *list)
{
    long   port;
    char  *p, *end;

    for (p = strtok(list, ","); p; p = strtok(NULL, ",")) {
        port = strtol(p, &end, 10);

        if (*end != '\0' || port < 1 || port > 65535
            || hm_mock_nports == HM_MOCK_MAX_PORTS)
        {
            fprintf(stderr, "hm_kafka_mock: invalid port \"%s\"\n", p);
            return -1;
        }

        hm_mock_ports[hm_mock_nports++] = (int) port;
    }

    return 0;
}


static int
hm_mock_topic(rd_kafka_mock_cluster_t *mc, const char *name, int parts,
    int brokers)
{
    rd_kafka_resp_err_t  err;

    err = rd_kafka_mock_topic_create(mc, name, parts,
                                     brokers < 3 ? brokers : 3);
    if (err) {
        fprintf(stderr, "hm_kafka_mock: topic \"%s\": %s\n", name,
                rd_kafka_err2str(err));
        return -1;
    }

    return 0;
}


static void
hm_mock_reply(rd_kafka_resp_err_t err)
{
    if (err) {
        printf("ERR %s\n", rd_kafka_err2str(err));

    } else {
        printf("OK\n");
    }

    fflush(stdout);
}


/* the committed offsets of a group: a consumer handle that never joins */

static void
hm_mock_committed(rd_kafka_mock_cluster_t *mc, const char *group,
    const char *topic, int parts)
{
    int                                i;
    char                               err[512];
    rd_kafka_t                        *rk;
    rd_kafka_conf_t                   *conf;
    rd_kafka_resp_err_t                rc;
    rd_kafka_topic_partition_list_t   *list;

    conf = rd_kafka_conf_new();

    if (rd_kafka_conf_set(conf, "bootstrap.servers",
                          rd_kafka_mock_cluster_bootstraps(mc),
                          err, sizeof(err)) != RD_KAFKA_CONF_OK
        || rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err))
           != RD_KAFKA_CONF_OK
        || rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err))
           != RD_KAFKA_CONF_OK)
    {
        printf("ERR %s\n", err);
        rd_kafka_conf_destroy(conf);
        return;
    }

    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL) {
        printf("ERR %s\n", err);
        return;
    }

    list = rd_kafka_topic_partition_list_new(parts);

    for (i = 0; i < parts; i++) {
        rd_kafka_topic_partition_list_add(list, topic, i);
    }

    rc = rd_kafka_committed(rk, list, 10000);

    if (rc) {
        printf("ERR %s\n", rd_kafka_err2str(rc));

    } else {
        printf("OK");

        for (i = 0; i < list->cnt; i++) {
            printf(" %lld", list->elems[i].err ? -2LL
                            : list->elems[i].offset < 0 ? -1LL
                            : (long long) list->elems[i].offset);
        }

        printf("\n");
    }

    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}


/* one command line; returns 1 on "quit" */

static int
hm_mock_command(rd_kafka_mock_cluster_t *mc, char *line, int brokers)
{
    int    a, b, n;
    char   name[256], group[256];

    if (sscanf(line, "down %d", &a) == 1) {
        hm_mock_reply(rd_kafka_mock_broker_set_down(mc, a));

    } else if (sscanf(line, "up %d", &a) == 1) {
        hm_mock_reply(rd_kafka_mock_broker_set_up(mc, a));

    } else if (sscanf(line, "rtt %d %d", &a, &b) == 2) {
        hm_mock_reply(rd_kafka_mock_broker_set_rtt(mc, a, b));

    } else if (sscanf(line, "topic %255s %d", name, &n) == 2) {
        if (hm_mock_topic(mc, name, n, brokers) == 0) {
            hm_mock_reply(RD_KAFKA_RESP_ERR_NO_ERROR);

        } else {
            printf("ERR cannot create topic \"%s\"\n", name);
            fflush(stdout);
        }

    } else if (sscanf(line, "leader %255s %d %d", name, &a, &b) == 3) {
        hm_mock_reply(rd_kafka_mock_partition_set_leader(mc, name, a, b));

    } else if (sscanf(line, "committed %255s %255s %d", group, name, &n) == 3) {
        hm_mock_committed(mc, group, name, n);
        fflush(stdout);

    } else if (strncmp(line, "ping", 4) == 0) {
        hm_mock_reply(RD_KAFKA_RESP_ERR_NO_ERROR);

    } else if (strncmp(line, "quit", 4) == 0) {
        hm_mock_reply(RD_KAFKA_RESP_ERR_NO_ERROR);
        return 1;

    } else {
        line[strcspn(line, "\r\n")] = '\0';
        printf("ERR unknown command \"%s\"\n", line);
        fflush(stdout);
    }

    return 0;
}


/* reads commands until a signal, "quit", or (with -e) end of input */

static void
hm_mock_loop(rd_kafka_mock_cluster_t *mc, int brokers, int exit_on_eof)
{
    char     buf[HM_MOCK_LINE], *nl;
    size_t   have;
    ssize_t  n;
    int      eof;

    have = 0;
    eof = 0;

    while (!hm_mock_quit) {

        if (eof) {
            pause();
            continue;
        }

        n = read(STDIN_FILENO, buf + have, sizeof(buf) - 1 - have);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            n = 0;
        }

        if (n == 0) {
            if (exit_on_eof) {
                return;
            }

            eof = 1;
            continue;
        }

        have += n;
        buf[have] = '\0';

        while ((nl = memchr(buf, '\n', have)) != NULL) {
            *nl = '\0';

            if (hm_mock_command(mc, buf, brokers)) {
                return;
            }

            have -= nl + 1 - buf;
            memmove(buf, nl + 1, have);
            buf[have] = '\0';
        }

        if (have == sizeof(buf) - 1) {
            have = 0;    /* an overlong line: dropped */
        }
    }
}


int
main(int argc, char **argv)
{
    int                       c, i, brokers, parts, exit_on_eof;
    char                      err[512], *colon;
    rd_kafka_t               *rk;
    rd_kafka_conf_t          *conf;
    struct sigaction          sa;
    rd_kafka_mock_cluster_t  *mc;

    brokers = 1;
    exit_on_eof = 0;

    while ((c = getopt(argc, argv, "n:p:e")) != -1) {
        switch (c) {

        case 'n':
            brokers = atoi(optarg);
            break;

        case 'p':
            if (hm_mock_parse_ports(optarg) != 0) {
                return 2;
            }
            break;

        case 'e':
            exit_on_eof = 1;
            break;

        default:
            fprintf(stderr, "usage: hm_kafka_mock [-n BROKERS]"
                    " [-p PORT[,PORT...]] [-e] [TOPIC:PARTITIONS ...]\n");
            return 2;
        }
    }

    if (brokers < 1 || brokers > HM_MOCK_MAX_PORTS) {
        fprintf(stderr, "hm_kafka_mock: invalid broker count\n");
        return 2;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = hm_mock_signal;     /* no SA_RESTART: read() returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));

    /* the handle only hosts the mock cluster's thread */

    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "hm_kafka_mock: rd_kafka_new() failed: %s\n", err);
        return 1;
    }

    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (mc == NULL) {
        fprintf(stderr, "hm_kafka_mock: rd_kafka_mock_cluster_new() failed"
                " (a port in use?)\n");
        rd_kafka_destroy(rk);
        return 1;
    }

    for (i = optind; i < argc; i++) {
        parts = 1;
        colon = strrchr(argv[i], ':');

        if (colon) {
            *colon = '\0';
            parts = atoi(colon + 1);
        }

        if (parts < 1 || hm_mock_topic(mc, argv[i], parts, brokers) != 0) {
            rd_kafka_mock_cluster_destroy(mc);
            rd_kafka_destroy(rk);
            return 1;
        }
    }

    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    hm_mock_loop(mc, brokers, exit_on_eof);

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);

    return 0;
}
