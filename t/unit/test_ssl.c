/*
 * Copyright (C) hermod authors
 *
 * TLS: a server and a client hm_ssl_t in one process, over socketpairs,
 * with certificates made at test time (a CA, an RSA and an ECDSA server
 * certificate, a client certificate).  The handshakes are driven without
 * an event loop: both sides are called in turn, the server side through
 * the event handlers hm_ssl_handshake() installs.  Then 1 MiB each way
 * through c->send and c->send_chain, ALPN, SNI, host checks, mTLS,
 * a protocol mismatch, session reuse, shutdown (also one that has to wait)
 * and the certificate loading errors.  The log goes to a file that is
 * checked for the expected lines and for the absence of "[alert]".
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_unit.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>


#define MIB          (1024 * 1024)
#define MAX_ROUNDS   100000


typedef struct {
    hm_connection_t   c;
    hm_event_t        rev;
    hm_event_t        wev;
    hm_uint_t         handler_calls;
    hm_uint_t         owner_calls;
} tconn_t;


static char            dir[] = "/tmp/hm_ssl_XXXXXX";
static char            logpath[256];
static hm_open_file_t  logfile;
static hm_log_t        tlog;
static hm_pool_t      *pool;
static hm_conf_t       cf;
static hm_conf_file_t  conf_file;
static long            serial = 1;

static hm_str_t        ca_crt, srv_crt, srv_key, rsa_crt, rsa_key, cli_crt,
                       cli_key, enc_key, self_crt, self_key;


/* files and the log */

static void
path(hm_str_t *s, const char *name)
{
    u_char  *p;

    p = hm_pnalloc(pool, 256);
    s->len = hm_sprintf(p, "%s/%s%Z", dir, name) - p - 1;
    s->data = p;
}


static size_t
log_size(void)
{
    struct stat  st;

    return stat(logpath, &st) == 0 ? (size_t) st.st_size : 0;
}


/* does the log, from offset "from" on, contain text */

static int
log_has(size_t from, const char *text)
{
    FILE    *f;
    char    *buf, *found;
    size_t   n, size;

    size = log_size();

    if (size <= from) {
        return 0;
    }

    buf = malloc(size - from + 1);
    f = fopen(logpath, "r");

    if (buf == NULL || f == NULL) {
        free(buf);
        if (f) {
            fclose(f);
        }
        return 0;
    }

    fseek(f, (long) from, SEEK_SET);
    n = fread(buf, 1, size - from, f);
    buf[n] = '\0';
    fclose(f);

    found = strstr(buf, text);
    free(buf);

    return found != NULL;
}


/* certificates */

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION  *ext;

    ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    HM_CHECK(ext != NULL, "extension %d \"%s\"", nid, value);

    if (ext) {
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
}


static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
    int ca, const char *san)
{
    X509        *x;
    X509_NAME   *name;
    X509V3_CTX   ctx;

    x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);

    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (u_char *) "hermod", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (u_char *) cn, -1, -1, 0);

    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);

    add_ext(x, &ctx, NID_basic_constraints,
            ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, &ctx, NID_subject_key_identifier, "hash");

    if (ca) {
        add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");

    } else {
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
    }

    if (san) {
        add_ext(x, &ctx, NID_subject_alt_name, san);
    }

    HM_CHECK(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0, "X509_sign");

    return x;
}


static void
write_pem(hm_str_t *file, X509 *x, X509 *chain, EVP_PKEY *key,
    const char *password)
{
    FILE  *f;

    f = fopen((char *) file->data, "w");
    HM_CHECK(f != NULL, "fopen(%s)", file->data);

    if (f == NULL) {
        return;
    }

    if (x) {
        PEM_write_X509(f, x);
    }

    if (chain) {
        PEM_write_X509(f, chain);
    }

    if (key && password) {
        PEM_write_PrivateKey(f, key, EVP_aes_128_cbc(),
                             (u_char *) password, (int) strlen(password),
                             NULL, NULL);

    } else if (key) {
        PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    }

    fclose(f);
}


static void
make_certs(void)
{
    X509      *ca, *srv, *rsa, *cli, *self;
    EVP_PKEY  *ca_k, *srv_k, *rsa_k, *cli_k, *self_k;

    path(&ca_crt, "ca.crt");
    path(&srv_crt, "server.crt");
    path(&srv_key, "server.key");
    path(&rsa_crt, "rsa.crt");
    path(&rsa_key, "rsa.key");
    path(&cli_crt, "client.crt");
    path(&cli_key, "client.key");
    path(&enc_key, "encrypted.key");
    path(&self_crt, "self.crt");
    path(&self_key, "self.key");

    ca_k = EVP_EC_gen("P-256");
    srv_k = EVP_EC_gen("P-256");
    rsa_k = EVP_RSA_gen(2048);
    cli_k = EVP_EC_gen("P-256");
    self_k = EVP_EC_gen("P-256");

    HM_CHECK(ca_k && srv_k && rsa_k && cli_k && self_k, "key generation");

    ca = make_cert(ca_k, "hermod test CA", NULL, NULL, 1, NULL);
    srv = make_cert(srv_k, "localhost", ca, ca_k, 0,
                    "DNS:localhost,DNS:*.test.hermod,IP:127.0.0.1");
    rsa = make_cert(rsa_k, "localhost", ca, ca_k, 0,
                    "DNS:localhost,IP:127.0.0.1");
    cli = make_cert(cli_k, "hermod client", ca, ca_k, 0, NULL);
    self = make_cert(self_k, "intruder", NULL, NULL, 0, NULL);

    write_pem(&ca_crt, ca, NULL, NULL, NULL);
    write_pem(&srv_crt, srv, ca, NULL, NULL);
    write_pem(&srv_key, NULL, NULL, srv_k, NULL);
    write_pem(&rsa_crt, rsa, ca, NULL, NULL);
    write_pem(&rsa_key, NULL, NULL, rsa_k, NULL);
    write_pem(&cli_crt, cli, NULL, NULL, NULL);
    write_pem(&cli_key, NULL, NULL, cli_k, NULL);
    write_pem(&enc_key, NULL, NULL, srv_k, "s3cret");
    write_pem(&self_crt, self, NULL, NULL, NULL);
    write_pem(&self_key, NULL, NULL, self_k, NULL);

    X509_free(ca);
    X509_free(srv);
    X509_free(rsa);
    X509_free(cli);
    X509_free(self);
    EVP_PKEY_free(ca_k);
    EVP_PKEY_free(srv_k);
    EVP_PKEY_free(rsa_k);
    EVP_PKEY_free(cli_k);
    EVP_PKEY_free(self_k);
}


/* contexts, freed with the configuration pool */

static hm_ssl_t *
ctx_create(hm_uint_t protocols)
{
    hm_ssl_t           *ssl;
    hm_pool_cleanup_t  *cln;

    ssl = hm_pcalloc(pool, sizeof(hm_ssl_t));
    ssl->log = &tlog;

    HM_CHECK_INT(hm_ssl_create(ssl, protocols, NULL), HM_OK);

    cln = hm_pool_cleanup_add(pool, 0);
    cln->handler = hm_ssl_cleanup_ctx;
    cln->data = ssl;

    return ssl;
}


static hm_ssl_t *
server_ctx(hm_uint_t protocols)
{
    hm_ssl_t  *ssl;
    hm_str_t   sid = hm_string("hermod-test");

    ssl = ctx_create(protocols);

    HM_CHECK_INT(hm_ssl_certificate(&cf, ssl, &srv_crt, &srv_key, NULL),
                 HM_OK);
    HM_CHECK_INT(hm_ssl_session_cache(ssl, &sid, HM_SSL_DFLT_BUILTIN_SCACHE,
                                      300), HM_OK);

    return ssl;
}


static hm_ssl_t *
client_ctx(hm_uint_t protocols, hm_uint_t trust)
{
    hm_ssl_t  *ssl;

    ssl = ctx_create(protocols);

    if (trust) {
        HM_CHECK_INT(hm_ssl_trusted_certificate(&cf, ssl, &ca_crt, 2),
                     HM_OK);
    }

    return ssl;
}


/* connections: what hm_event_accept() and hm_add_conn() leave behind */

static void
owner_handler(hm_event_t *ev)
{
    ((tconn_t *) ((hm_connection_t *) ev->data))->owner_calls++;
}


static void
ssl_done_handler(hm_connection_t *c)
{
    ((tconn_t *) c)->handler_calls++;
}


static void
conn_init(tconn_t *t, hm_socket_t fd)
{
    hm_memzero(t, sizeof(tconn_t));

    t->c.fd = fd;
    t->c.read = &t->rev;
    t->c.write = &t->wev;
    t->c.log = &tlog;
    t->c.pool = hm_create_pool(HM_DEFAULT_POOL_SIZE, &tlog);

    t->c.recv = hm_unix_recv;
    t->c.send = hm_unix_send;
    t->c.send_chain = hm_writev_chain;

    t->rev.data = &t->c;
    t->wev.data = &t->c;
    t->wev.write = 1;
    t->rev.log = &tlog;
    t->wev.log = &tlog;
    t->rev.index = HM_INVALID_INDEX;
    t->wev.index = HM_INVALID_INDEX;

    t->rev.handler = owner_handler;
    t->wev.handler = owner_handler;

    /* registered edge-triggered for both directions */

    t->rev.active = 1;
    t->wev.active = 1;
    t->wev.ready = 1;
}


static void
conn_pair(tconn_t *s, hm_ssl_t *sssl, hm_uint_t sflags, tconn_t *c,
    hm_ssl_t *cssl)
{
    int  sv[2];

    HM_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    HM_CHECK(hm_nonblocking(sv[0]) == 0 && hm_nonblocking(sv[1]) == 0,
             "nonblocking");

    conn_init(s, sv[0]);
    conn_init(c, sv[1]);

    HM_CHECK_INT(hm_ssl_create_connection(sssl, &s->c, sflags), HM_OK);
    HM_CHECK_INT(hm_ssl_create_connection(cssl, &c->c, HM_SSL_CLIENT),
                 HM_OK);

    HM_CHECK(s->c.ssl != NULL && c->c.ssl != NULL, "c->ssl set");
    HM_CHECK(SSL_get_ex_data(s->c.ssl->connection, hm_ssl_connection_index)
             == &s->c, "ex_data holds the connection");

    s->c.ssl->handler = ssl_done_handler;
    c->c.ssl->handler = ssl_done_handler;
}


static void
conn_close(tconn_t *t)
{
    if (t->c.read->timer_set) {
        hm_event_del_timer(t->c.read);
    }

    /* the pool cleanup frees an SSL nobody shut down */

    hm_destroy_pool(t->c.pool);

    if (t->c.fd != -1) {
        close(t->c.fd);
    }
}


/*
 * Both handshakes, in turn: the client by direct calls, the server the
 * first time directly and then through the handlers it installed, as the
 * event loop would.  Returns via *rs and *rc.
 */

static void
handshake(tconn_t *s, tconn_t *c, hm_int_t *rs, hm_int_t *rc)
{
    hm_uint_t  i;

    *rc = hm_ssl_handshake(&c->c);
    *rs = hm_ssl_handshake(&s->c);

    if (*rs == HM_AGAIN) {
        HM_CHECK(s->rev.handler != owner_handler
                 && s->wev.handler != owner_handler,
                 "handshake handlers installed");
    }

    for (i = 0; i < 1000; i++) {

        if (*rc == HM_AGAIN) {
            *rc = hm_ssl_handshake(&c->c);
        }

        if (*rs == HM_AGAIN) {
            s->rev.ready = 1;
            s->rev.handler(&s->rev);

            if (s->handler_calls) {
                *rs = s->c.ssl->handshaked ? HM_OK : HM_ERROR;
            }
        }

        if (*rs != HM_AGAIN && *rc != HM_AGAIN) {
            break;
        }
    }

    HM_CHECK(*rs != HM_AGAIN && *rc != HM_AGAIN, "handshake loop bounded");

    HM_CHECK(s->rev.handler == owner_handler
             && s->wev.handler == owner_handler,
             "the owner's handlers are back after the handshake");
}


/* byte i of direction d */

static u_char
pattern(size_t i, int d)
{
    return (u_char) ((i * 31 + (i >> 9) + d * 7) & 0xff);
}


/*
 * Drains what is readable into the check; returns bytes checked, or -1
 * on a mismatch or an error.
 */

static ssize_t
drain(tconn_t *t, size_t *got, int d)
{
    u_char   buf[40000];
    ssize_t  n, i, total;

    total = 0;

    for ( ;; ) {
        n = t->c.recv(&t->c, buf, sizeof(buf));

        if (n == HM_AGAIN) {
            HM_CHECK(t->rev.ready == 0, "AGAIN clears rev->ready");
            return total;
        }

        if (n <= 0) {
            return n == 0 ? total : -1;
        }

        if (n == (ssize_t) sizeof(buf)) {
            HM_CHECK(t->rev.ready == 1, "a full read leaves rev->ready");
        }

        for (i = 0; i < n; i++) {
            if (buf[i] != pattern(*got + i, d)) {
                HM_CHECK(0, "byte %zu of direction %d", *got + i, d);
                return -1;
            }
        }

        *got += n;
        total += n;
    }
}


static hm_chain_t *
make_chain(hm_pool_t *p, size_t total, int d)
{
    size_t        off, size, i, j;
    hm_buf_t     *b;
    hm_chain_t   *head, **last, *cl;

    head = NULL;
    last = &head;

    /* mostly small buffers, some larger than a record, a few empty */

    for (off = 0, i = 0; off < total; i++) {
        size = (i % 17 == 0) ? 40000 : (i % 5 == 0) ? 0 : 700 + i % 300;
        size = hm_min(size, total - off);

        b = hm_create_temp_buf(p, size ? size : 1);
        for (j = 0; j < size; j++) {
            b->last[j] = pattern(off + j, d);
        }
        b->last += size;

        cl = hm_alloc_chain_link(p);
        cl->buf = b;
        cl->next = NULL;
        *last = cl;
        last = &cl->next;

        off += size;
    }

    /* and a flush at the end, which is nothing to send */

    b = hm_calloc_buf(p);
    b->flush = 1;
    cl = hm_alloc_chain_link(p);
    cl->buf = b;
    cl->next = NULL;
    *last = cl;

    return head;
}


/* 1 MiB client -> server with c->send, 1 MiB server -> client by chain */

static void
exchange(tconn_t *s, tconn_t *c)
{
    u_char       *out;
    off_t         before;
    size_t        csent, sgot, cgot, i;
    ssize_t       n;
    hm_uint_t     rounds, cfull, sfull;
    hm_chain_t   *chain;

    out = malloc(MIB);
    for (i = 0; i < MIB; i++) {
        out[i] = pattern(i, 0);
    }

    chain = make_chain(s->c.pool, MIB, 1);

    /* a limited call sends no more than asked */

    before = s->c.sent;
    chain = s->c.send_chain(&s->c, chain, 5000);
    HM_CHECK(chain != NULL && chain != HM_CHAIN_ERROR, "limited chain");
    HM_CHECK(s->c.sent - before > 0 && s->c.sent - before <= 5000,
             "limit honoured: %lld", (long long) (s->c.sent - before));

    csent = 0;
    sgot = 0;
    cgot = 0;
    cfull = 0;
    sfull = 0;

    for (rounds = 0; rounds < MAX_ROUNDS; rounds++) {

        if (csent < MIB) {
            c->wev.ready = 1;
            n = c->c.send(&c->c, out + csent, MIB - csent);

            if (n == HM_ERROR) {
                HM_CHECK(0, "client send failed");
                break;
            }

            if (n > 0) {
                csent += n;
            }

            if (n == HM_AGAIN || (n > 0 && c->wev.ready == 0)) {
                HM_CHECK(c->wev.ready == 0, "AGAIN clears wev->ready");
                HM_CHECK(c->c.ssl->write_pending > 0, "a record pending");
                cfull++;
            }
        }

        if (chain) {
            s->wev.ready = 1;

            /*
             * After the socket filled up, a limit smaller than the record
             * OpenSSL holds must not shrink the retry ("bad write retry").
             */

            chain = s->c.send_chain(&s->c, chain,
                                    (s->c.ssl->write_pending && rounds % 2)
                                    ? 1 : 0);

            if (chain == HM_CHAIN_ERROR) {
                HM_CHECK(0, "send_chain failed");
                break;
            }

            if (chain) {
                HM_CHECK(s->wev.ready == 0 || s->c.ssl->write_pending == 0,
                         "a chain left means not ready, or the limit");
                sfull += (s->wev.ready == 0);
            }
        }

        if (drain(s, &sgot, 0) < 0 || drain(c, &cgot, 1) < 0) {
            break;
        }

        if (csent == MIB && chain == NULL && sgot == MIB && cgot == MIB) {
            break;
        }
    }

    HM_CHECK_UINT(sgot, MIB);
    HM_CHECK_UINT(cgot, MIB);
    HM_CHECK(chain == NULL, "chain fully sent");
    HM_CHECK(cfull > 0 && sfull > 0, "the sockets filled up: %lu, %lu",
             (unsigned long) cfull, (unsigned long) sfull);
    HM_CHECK_INT(c->c.sent, MIB);
    HM_CHECK_INT(s->c.sent, MIB);

    free(out);
}


static void
test_main(void)
{
    tconn_t    s, c;
    hm_int_t   rs, rc;
    hm_str_t   v, name;
    hm_ssl_t  *sssl, *cssl;
    long       result;
    size_t     mark;

    sssl = server_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3);
    HM_CHECK_INT(hm_ssl_alpn_select(sssl, (u_char *) "\x02h2\x08http/1.1",
                                    12), HM_OK);

    cssl = client_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3, 1);
    HM_CHECK_INT(hm_ssl_alpn_protos(cssl, (u_char *) "\x08http/1.1\x02h2",
                                    12), HM_OK);

    mark = log_size();

    conn_pair(&s, sssl, HM_SSL_BUFFER, &c, cssl);

    hm_str_set(&name, "localhost");
    HM_CHECK_INT(hm_ssl_set_server_name(&c.c, &name), HM_OK);

    handshake(&s, &c, &rs, &rc);

    HM_CHECK_INT(rs, HM_OK);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_UINT(s.handler_calls, 1);
    HM_CHECK(s.c.recv == hm_ssl_recv && s.c.send == hm_ssl_write
             && s.c.send_chain == hm_ssl_send_chain, "TLS I/O installed");
    HM_CHECK(c.c.recv == hm_ssl_recv, "TLS I/O installed on the client");

    /* what the server saw, what the client saw */

    HM_CHECK_INT(hm_ssl_get_server_name(&s.c, s.c.pool, &v), HM_OK);
    HM_CHECK_HMSTR(&v, "localhost");

    HM_CHECK_INT(hm_ssl_get_alpn_protocol(&s.c, s.c.pool, &v), HM_OK);
    HM_CHECK_HMSTR(&v, "h2");
    HM_CHECK_INT(hm_ssl_get_alpn_protocol(&c.c, c.c.pool, &v), HM_OK);
    HM_CHECK_HMSTR(&v, "h2");

    HM_CHECK_INT(hm_ssl_get_protocol(&s.c, s.c.pool, &v), HM_OK);
    HM_CHECK_HMSTR(&v, "TLSv1.3");

    HM_CHECK_INT(hm_ssl_get_cipher_name(&c.c, c.c.pool, &v), HM_OK);
    HM_CHECK(v.len > 4 && hm_strncmp(v.data, "TLS_", 4) == 0,
             "cipher \"%.*s\"", (int) v.len, v.data);

    HM_CHECK_INT(hm_ssl_get_subject_dn(&c.c, c.c.pool, &v), HM_OK);
    HM_CHECK_HMSTR(&v, "CN=localhost,O=hermod");

    HM_CHECK_INT(hm_ssl_get_subject_dn(&s.c, s.c.pool, &v), HM_OK);
    HM_CHECK_UINT(v.len, 0);

    /* the client checks the server */

    HM_CHECK_INT(hm_ssl_verify_result(&c.c, &result), HM_OK);
    HM_CHECK_INT(result, X509_V_OK);
    HM_CHECK_INT(hm_ssl_verify_result(&s.c, &result), HM_DECLINED);

    hm_str_set(&name, "localhost");
    HM_CHECK_INT(hm_ssl_check_host(&c.c, &name), HM_OK);
    hm_str_set(&name, "LocalHost");
    HM_CHECK_INT(hm_ssl_check_host(&c.c, &name), HM_OK);
    hm_str_set(&name, "a.test.hermod");
    HM_CHECK_INT(hm_ssl_check_host(&c.c, &name), HM_OK);
    hm_str_set(&name, "127.0.0.1");
    HM_CHECK_INT(hm_ssl_check_host(&c.c, &name), HM_OK);
    hm_str_set(&name, "example.com");
    HM_CHECK_INT(hm_ssl_check_host(&c.c, &name), HM_ERROR);
    hm_str_set(&name, "a.b.test.hermod");
    HM_CHECK_INT(hm_ssl_check_host(&c.c, &name), HM_ERROR);
    hm_str_set(&name, "127.0.0.2");
    HM_CHECK_INT(hm_ssl_check_host(&c.c, &name), HM_ERROR);
    hm_str_set(&name, "localhos");
    HM_CHECK_INT(hm_ssl_check_host(&c.c, &name), HM_ERROR);

    exchange(&s, &c);

    /* the client closes properly, the server sees the end */

    HM_CHECK_INT(hm_ssl_shutdown(&c.c), HM_OK);
    HM_CHECK(c.c.ssl == NULL && c.c.recv == hm_unix_recv,
             "shutdown frees the TLS state");

    s.rev.ready = 1;
    HM_CHECK_INT(s.c.recv(&s.c, (u_char *) &result, sizeof(result)), 0);
    HM_CHECK(s.rev.eof == 1 && s.rev.ready == 0, "eof after close_notify");
    HM_CHECK_INT(s.c.recv(&s.c, (u_char *) &result, sizeof(result)), 0);

    HM_CHECK_INT(hm_ssl_shutdown(&s.c), HM_OK);
    HM_CHECK(s.c.ssl == NULL, "server TLS state freed");

    HM_CHECK(!log_has(mark, "[alert]") && !log_has(mark, "[error]")
             && !log_has(mark, "[crit]") && !log_has(mark, "[emerg]"),
             "a clean exchange logs nothing above info");

    conn_close(&s);
    conn_close(&c);

    /* no protocol in common: the server refuses, at info */

    cssl = client_ctx(HM_SSL_TLSv1_3, 1);
    HM_CHECK_INT(hm_ssl_alpn_protos(cssl, (u_char *) "\x06spdy/3", 7),
                 HM_OK);

    mark = log_size();

    conn_pair(&s, sssl, 0, &c, cssl);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_ERROR);
    HM_CHECK_INT(rc, HM_ERROR);
    HM_CHECK(log_has(mark, "[info]")
             && log_has(mark, "no application protocol")
             && !log_has(mark, "[error]"), "ALPN mismatch logged at info");

    conn_close(&s);
    conn_close(&c);
}


/* both certificates of a server are used, by what the client accepts */

static void
test_rsa_ecdsa(void)
{
    tconn_t    s, c;
    hm_int_t   rs, rc;
    hm_ssl_t  *sssl, *cssl;
    hm_str_t   ciphers;
    EVP_PKEY  *pk;

    sssl = server_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3);
    HM_CHECK_INT(hm_ssl_certificate(&cf, sssl, &rsa_crt, &rsa_key, NULL),
                 HM_OK);

    hm_str_set(&ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:"
                         "ECDHE-RSA-AES128-GCM-SHA256");
    HM_CHECK_INT(hm_ssl_ciphers(&cf, sssl, &ciphers, 1), HM_OK);

    /* TLSv1.2 with an RSA-only suite: the RSA certificate */

    cssl = client_ctx(HM_SSL_TLSv1_2, 1);
    hm_str_set(&ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    HM_CHECK_INT(hm_ssl_ciphers(&cf, cssl, &ciphers, 0), HM_OK);

    conn_pair(&s, sssl, 0, &c, cssl);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_OK);
    HM_CHECK_INT(rc, HM_OK);

    pk = X509_get0_pubkey(SSL_get0_peer_certificate(c.c.ssl->connection));
    HM_CHECK(pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA, "RSA chosen");
    HM_CHECK_STR(SSL_get_version(c.c.ssl->connection), 7, "TLSv1.2");

    conn_close(&s);
    conn_close(&c);

    /* and with an ECDSA-only suite: the ECDSA one */

    cssl = client_ctx(HM_SSL_TLSv1_2, 1);
    hm_str_set(&ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256");
    HM_CHECK_INT(hm_ssl_ciphers(&cf, cssl, &ciphers, 0), HM_OK);

    conn_pair(&s, sssl, 0, &c, cssl);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_OK);
    HM_CHECK_INT(rc, HM_OK);

    pk = X509_get0_pubkey(SSL_get0_peer_certificate(c.c.ssl->connection));
    HM_CHECK(pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC, "ECDSA chosen");

    /* a cipher list OpenSSL does not know */

    hm_str_set(&ciphers, "NO-SUCH-CIPHER");
    HM_CHECK_INT(hm_ssl_ciphers(&cf, cssl, &ciphers, 0), HM_ERROR);

    conn_close(&s);
    conn_close(&c);
}


static void
test_mtls(void)
{
    tconn_t    s, c;
    u_char     buf[16];
    hm_int_t   rs, rc;
    ssize_t    n;
    hm_str_t   v;
    hm_ssl_t  *sssl, *cssl, *nocert, *intruder;
    long       result;
    size_t     mark;
    hm_uint_t  i;

    sssl = server_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3);
    HM_CHECK_INT(hm_ssl_client_certificate(&cf, sssl, &ca_crt, 2), HM_OK);

    cssl = client_ctx(HM_SSL_TLSv1_3, 1);
    HM_CHECK_INT(hm_ssl_certificate(&cf, cssl, &cli_crt, &cli_key, NULL),
                 HM_OK);

    /* a client with a certificate the CA signed */

    conn_pair(&s, sssl, 0, &c, cssl);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_OK);
    HM_CHECK_INT(rc, HM_OK);

    HM_CHECK_INT(hm_ssl_verify_result(&s.c, &result), HM_OK);
    HM_CHECK_INT(hm_ssl_get_subject_dn(&s.c, s.c.pool, &v), HM_OK);
    HM_CHECK_HMSTR(&v, "CN=hermod client,O=hermod");

    conn_close(&s);
    conn_close(&c);

    /* a client without one is rejected */

    nocert = client_ctx(HM_SSL_TLSv1_3, 1);

    mark = log_size();

    conn_pair(&s, sssl, 0, &c, nocert);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_ERROR);
    HM_CHECK(s.rev.error == 1, "rev->error on a failed handshake");

    /* with TLSv1.3 the client learns it from the alert, on its next read */

    n = HM_AGAIN;

    if (rc == HM_OK) {
        for (i = 0; i < 100 && n == HM_AGAIN; i++) {
            n = c.c.recv(&c.c, buf, sizeof(buf));
        }

        HM_CHECK_INT(n, HM_ERROR);
        HM_CHECK(c.rev.error == 1, "client rev->error");

        /* and it sticks */

        HM_CHECK_INT(c.c.recv(&c.c, buf, sizeof(buf)), HM_ERROR);

    } else {
        HM_CHECK_INT(rc, HM_ERROR);
    }

    HM_CHECK(log_has(mark, "[info]")
             && log_has(mark, "SSL_do_handshake() failed (SSL: ")
             && log_has(mark, "peer did not return a certificate"),
             "the rejection is logged at info with OpenSSL's reason");
    HM_CHECK(!log_has(mark, "[alert]") && !log_has(mark, "[crit]")
             && !log_has(mark, "[error]"),
             "a client's mistake is no alert");

    HM_CHECK_INT(hm_ssl_shutdown(&s.c), HM_OK);
    HM_CHECK_INT(hm_ssl_shutdown(&c.c), HM_OK);

    conn_close(&s);
    conn_close(&c);

    /* "optional": the handshake passes, the verdict is the caller's */

    HM_CHECK_INT(hm_ssl_verify(sssl, HM_SSL_VERIFY_OPTIONAL), HM_OK);

    conn_pair(&s, sssl, 0, &c, nocert);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_OK);
    HM_CHECK_INT(hm_ssl_verify_result(&s.c, &result), HM_DECLINED);
    conn_close(&s);
    conn_close(&c);

    intruder = client_ctx(HM_SSL_TLSv1_3, 1);
    HM_CHECK_INT(hm_ssl_certificate(&cf, intruder, &self_crt, &self_key,
                                    NULL), HM_OK);

    conn_pair(&s, sssl, 0, &c, intruder);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_OK);
    HM_CHECK_INT(hm_ssl_verify_result(&s.c, &result), HM_ERROR);
    HM_CHECK(result != X509_V_OK, "self-signed client certificate: %s",
             X509_verify_cert_error_string(result));
    conn_close(&s);
    conn_close(&c);

    /* a client that does not trust the CA sees it in verify_result */

    nocert = client_ctx(HM_SSL_TLSv1_3, 0);

    conn_pair(&s, sssl, 0, &c, nocert);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_INT(hm_ssl_verify_result(&c.c, &result), HM_ERROR);
    HM_CHECK(result == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
             || result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
             "untrusted CA: %s", X509_verify_cert_error_string(result));
    conn_close(&s);
    conn_close(&c);

    /* and fails the handshake when it requires verification */

    HM_CHECK_INT(hm_ssl_verify(nocert, HM_SSL_VERIFY_REQUIRED), HM_OK);

    conn_pair(&s, sssl, 0, &c, nocert);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rc, HM_ERROR);
    HM_CHECK_INT(rs, HM_ERROR);
    conn_close(&s);
    conn_close(&c);
}


static void
test_version_mismatch(void)
{
    tconn_t    s, c;
    hm_int_t   rs, rc;
    hm_ssl_t  *sssl, *cssl;
    size_t     mark;

    sssl = server_ctx(HM_SSL_TLSv1_2);
    cssl = client_ctx(HM_SSL_TLSv1_3, 1);

    mark = log_size();

    conn_pair(&s, sssl, 0, &c, cssl);
    handshake(&s, &c, &rs, &rc);

    HM_CHECK_INT(rs, HM_ERROR);
    HM_CHECK_INT(rc, HM_ERROR);
    HM_CHECK(s.handler_calls <= 1, "ssl->handler at most once");
    HM_CHECK(s.c.recv == hm_unix_recv, "no TLS I/O after a failure");

    HM_CHECK(log_has(mark, "unsupported protocol"),
             "the server logs the reason");
    HM_CHECK(log_has(mark, "protocol version"),
             "the client logs the server's alert");
    HM_CHECK(!log_has(mark, "[alert]") && !log_has(mark, "[crit]")
             && !log_has(mark, "[error]"),
             "a version mismatch is logged at info");

    HM_CHECK_INT(hm_ssl_shutdown(&s.c), HM_OK);
    HM_CHECK_INT(hm_ssl_shutdown(&c.c), HM_OK);

    conn_close(&s);
    conn_close(&c);
}


/* a session kept from one connection resumes on the next */

static void
test_session_reuse(void)
{
    tconn_t       s, c;
    u_char        byte;
    hm_int_t      rs, rc;
    hm_ssl_t     *sssl, *cssl;
    hm_uint_t     i;
    ssize_t       n;
    SSL_SESSION  *session;

    sssl = server_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3);
    HM_CHECK_INT(hm_ssl_session_tickets(&cf, sssl, 1), HM_OK);
    cssl = client_ctx(HM_SSL_TLSv1_3, 1);

    conn_pair(&s, sssl, 0, &c, cssl);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rc, HM_OK);

    /* the tickets arrive with the first data */

    HM_CHECK_INT(s.c.send(&s.c, (u_char *) "x", 1), 1);

    n = HM_AGAIN;
    for (i = 0; i < 100 && n == HM_AGAIN; i++) {
        n = c.c.recv(&c.c, &byte, 1);
    }
    HM_CHECK_INT(n, 1);

    session = hm_ssl_get_session(&c.c);
    HM_CHECK(session != NULL, "a resumable session");
    HM_CHECK(!SSL_session_reused(c.c.ssl->connection), "first is full");

    /* a session survives a clean close only */

    HM_CHECK_INT(hm_ssl_shutdown(&c.c), HM_OK);
    HM_CHECK_INT(hm_ssl_shutdown(&s.c), HM_OK);

    conn_close(&s);
    conn_close(&c);

    conn_pair(&s, sssl, 0, &c, cssl);
    HM_CHECK_INT(hm_ssl_set_session(&c.c, session), HM_OK);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_OK);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(SSL_session_reused(c.c.ssl->connection), "session resumed");
    HM_CHECK(SSL_session_reused(s.c.ssl->connection), "server resumed");

    SSL_SESSION_free(session);

    conn_close(&s);
    conn_close(&c);
}


/* a peer that closes the socket without close_notify: EOF at info */

static void
test_eof(void)
{
    tconn_t    s, c;
    u_char     buf[16];
    hm_int_t   rs, rc;
    hm_ssl_t  *sssl, *cssl;
    size_t     mark;

    sssl = server_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3);
    cssl = client_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3, 1);

    conn_pair(&s, sssl, 0, &c, cssl);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rs, HM_OK);

    mark = log_size();

    /*
     * What the client wrote before it vanished still arrives first.  It
     * reads the server's tickets before: a socket closed with unread data
     * resets the connection.
     */

    HM_CHECK_INT(c.c.recv(&c.c, buf, sizeof(buf)), HM_AGAIN);
    HM_CHECK_INT(c.c.send(&c.c, (u_char *) "bye", 3), 3);

    close(c.c.fd);
    c.c.fd = -1;

    HM_CHECK_INT(s.c.recv(&s.c, buf, sizeof(buf)), 3);
    HM_CHECK(s.rev.ready == 1, "EOF pending: still ready");
    HM_CHECK_INT(s.c.recv(&s.c, buf, sizeof(buf)), 0);
    HM_CHECK(s.rev.eof == 1, "rev->eof");

    HM_CHECK(log_has(mark, "[info]")
             && log_has(mark, "without TLS close_notify"),
             "a truncated stream is logged at info");
    HM_CHECK(!log_has(mark, "[alert]") && !log_has(mark, "[error]"),
             "and no louder");

    HM_CHECK_INT(hm_ssl_shutdown(&s.c), HM_OK);

    conn_close(&s);
    conn_close(&c);
}


/*
 * A shutdown that cannot flush its close_notify waits for the write event,
 * with a timer, and reports through c->ssl->handler; on a timeout it gives
 * up.  The client's socket is filled with raw bytes, so that no TLS record
 * is pending; the server side drains it raw.
 */

static void
fill_raw(tconn_t *t)
{
    u_char   junk[4096];
    ssize_t  n;

    hm_memzero(junk, sizeof(junk));

    do {
        n = send(t->c.fd, junk, sizeof(junk), 0);
    } while (n > 0);

    HM_CHECK(n == -1 && errno == EAGAIN, "socket filled");
}


static size_t
drain_raw(tconn_t *t)
{
    u_char   buf[65536];
    ssize_t  n;
    size_t   total;

    total = 0;

    while ((n = read(t->c.fd, buf, sizeof(buf))) > 0) {
        total += n;
    }

    return total;
}


static void
test_shutdown_again(void)
{
    tconn_t    s, c;
    u_char     buf[16];
    hm_int_t   rs, rc, rc2;
    hm_ssl_t  *sssl, *cssl;
    size_t     mark;
    ssize_t    n;
    hm_uint_t  i, timeout;

    sssl = server_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3);
    cssl = client_ctx(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3, 1);

    mark = log_size();

    for (timeout = 0; timeout < 2; timeout++) {

        conn_pair(&s, sssl, 0, &c, cssl);
        handshake(&s, &c, &rs, &rc);
        HM_CHECK_INT(rc, HM_OK);
        HM_CHECK_INT(c.c.recv(&c.c, buf, sizeof(buf)), HM_AGAIN);

        fill_raw(&c);

        rc2 = hm_ssl_shutdown(&c.c);
        HM_CHECK_INT(rc2, HM_AGAIN);

        if (rc2 != HM_AGAIN) {
            conn_close(&s);
            conn_close(&c);
            continue;
        }

        HM_CHECK(c.c.ssl != NULL, "still there while waiting");
        HM_CHECK(c.rev.timer_set, "shutdown timer");
        HM_CHECK(c.wev.handler != owner_handler
                 && c.rev.handler != owner_handler, "shutdown handlers");

        if (timeout) {
            /* the timer fires first */

            hm_event_del_timer(c.c.read);
            c.rev.timedout = 1;
            c.rev.handler(&c.rev);

        } else {
            /* the server reads, the client's write event comes */

            HM_CHECK(drain_raw(&s) > 0, "raw drain");
            c.wev.ready = 1;
            c.wev.handler(&c.wev);
        }

        HM_CHECK(c.c.ssl == NULL, "shutdown completed");
        HM_CHECK_UINT(c.handler_calls, 1);
        HM_CHECK(!c.rev.timer_set, "timer removed");
        HM_CHECK(c.rev.handler == owner_handler
                 && c.wev.handler == owner_handler, "handlers restored");

        if (!timeout) {
            /* the close_notify record followed */
            HM_CHECK(drain_raw(&s) > 0, "close_notify sent");
        }

        conn_close(&s);
        conn_close(&c);
    }

    /*
     * A record the owner gave up on: no close_notify can follow it, the
     * shutdown is immediate and quiet.
     */

    conn_pair(&s, sssl, 0, &c, cssl);
    handshake(&s, &c, &rs, &rc);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_INT(c.c.recv(&c.c, buf, sizeof(buf)), HM_AGAIN);

    for (i = 0; i < 100000; i++) {
        n = c.c.send(&c.c, (u_char *) "0123456789", 10);
        if (n != 10) {
            break;
        }
    }

    HM_CHECK(n == HM_AGAIN && c.c.ssl->write_pending == 10,
             "a record pending");
    HM_CHECK_INT(hm_ssl_shutdown(&c.c), HM_OK);
    HM_CHECK(c.c.ssl == NULL, "freed");

    HM_CHECK(!log_has(mark, "[alert]") && !log_has(mark, "[error]")
             && !log_has(mark, "[crit]"), "shutdowns log nothing loud");

    conn_close(&s);
    conn_close(&c);
}


static void
test_certificate_errors(void)
{
    hm_ssl_t    *ssl;
    hm_str_t     missing, pwds[2], bad;
    hm_array_t   passwords;
    size_t       mark;

    ssl = ctx_create(HM_SSL_TLSv1_2|HM_SSL_TLSv1_3);

    path(&missing, "missing.crt");

    mark = log_size();
    HM_CHECK_INT(hm_ssl_certificate(&cf, ssl, &missing, &srv_key, NULL),
                 HM_ERROR);
    HM_CHECK(log_has(mark, "[emerg]")
             && log_has(mark, "cannot load certificate \"")
             && log_has(mark, "missing.crt\": "
                              "SSL_CTX_use_certificate_chain_file() failed "
                              "(SSL: error:")
             && log_has(mark, ") in test.conf:7\n"),
             "the error names the file, OpenSSL's reason and FILE:LINE");

    /* a key that is not the certificate's */

    mark = log_size();
    HM_CHECK_INT(hm_ssl_certificate(&cf, ssl, &srv_crt, &cli_key, NULL),
                 HM_ERROR);
    HM_CHECK(log_has(mark, "key values mismatch"), "mismatch reported");

    /* a certificate file that is not PEM */

    mark = log_size();
    HM_CHECK_INT(hm_ssl_certificate(&cf, ssl, &srv_key, &srv_key, NULL),
                 HM_ERROR);
    HM_CHECK(log_has(mark, "cannot load certificate"), "not a certificate");

    /* an encrypted key: no password, the wrong one, then the right one */

    mark = log_size();
    HM_CHECK_INT(hm_ssl_certificate(&cf, ssl, &srv_crt, &enc_key, NULL),
                 HM_ERROR);
    HM_CHECK(log_has(mark, "PEM_read_bio_PrivateKey() failed"), "no pass");

    hm_str_set(&pwds[0], "wrong");
    hm_str_set(&pwds[1], "s3cret");
    passwords.elts = pwds;
    passwords.nelts = 2;
    passwords.size = sizeof(hm_str_t);
    passwords.nalloc = 2;
    passwords.pool = pool;

    HM_CHECK_INT(hm_ssl_certificate(&cf, ssl, &srv_crt, &enc_key,
                                    &passwords), HM_OK);

    passwords.nelts = 1;
    HM_CHECK_INT(hm_ssl_certificate(&cf, ssl, &srv_crt, &enc_key,
                                    &passwords), HM_ERROR);

    HM_CHECK_INT(hm_ssl_client_certificate(&cf, ssl, &missing, 1),
                 HM_ERROR);

    /* ALPN lists are checked */

    HM_CHECK_INT(hm_ssl_alpn_select(ssl, (u_char *) "\x05h2", 3), HM_ERROR);
    HM_CHECK_INT(hm_ssl_alpn_select(ssl, (u_char *) "\x02h2", 3), HM_OK);

    HM_CHECK_INT(hm_ssl_create(ssl, 0, NULL), HM_ERROR);

    hm_str_set(&bad, "");
    HM_CHECK_INT(hm_ssl_client_certificate(&cf, ssl, &bad, 1), HM_OK);

    HM_CHECK(!log_has(0, "[alert]"), "no alert in the whole run");
}


int
main(void)
{
    hm_unit_init("test_ssl");

    HM_CHECK(mkdtemp(dir) != NULL, "mkdtemp");

    hm_snprintf((u_char *) logpath, sizeof(logpath), "%s/error.log%Z", dir);

    logfile.fd = open(logpath, O_WRONLY|O_CREAT|O_TRUNC|O_APPEND, 0644);
    HM_CHECK(logfile.fd != -1, "open log");
    hm_str_set(&logfile.name, logpath);

    tlog.log_level = HM_LOG_INFO;
    tlog.file = &logfile;

    hm_use_stderr = 0;

    /*
     * As in hermod's processes: OpenSSL writes with write(), not send(),
     * and answers a vanished peer with an alert (test_eof).
     */

    signal(SIGPIPE, SIG_IGN);

    hm_event_timer_init(&tlog);
    hm_queue_init(&hm_posted_events);

    pool = hm_create_pool(HM_DEFAULT_POOL_SIZE, &tlog);

    cf.pool = pool;
    cf.temp_pool = pool;
    cf.log = &tlog;
    cf.conf_file = &conf_file;
    hm_str_set(&conf_file.file.name, "test.conf");
    conf_file.line = 7;

    HM_CHECK_INT(hm_ssl_init(&tlog), HM_OK);
    HM_CHECK_INT(hm_ssl_init(&tlog), HM_OK);

    make_certs();

    test_main();
    test_rsa_ecdsa();
    test_mtls();
    test_version_mismatch();
    test_session_reuse();
    test_eof();
    test_shutdown_again();
    test_certificate_errors();

    /* the SSL_CTXs go with the configuration pool */

    hm_destroy_pool(pool);

    close(logfile.fd);

    if (hm_unit_failed == 0 && getenv("HM_SSL_KEEP") == NULL) {
        char  cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0) {
            /* the files stay */
        }

    } else {
        fprintf(stderr, "test_ssl: files and log kept in %s\n", dir);
    }

    return hm_unit_done();
}
