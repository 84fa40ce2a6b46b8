/*
 * Copyright (C) hermod authors
 *
 * TLS over the event loop, with OpenSSL 3.
 *
 * Contexts: hm_ssl_create() and the setters configure one SSL_CTX.
 * Connections: hm_ssl_create_connection() attaches an SSL object to a
 * connection, hm_ssl_handshake() drives it without blocking and, once
 * done, replaces c->recv, c->send and c->send_chain with the TLS ones,
 * which keep the contracts of hm_unix_recv(), hm_unix_send() and
 * hm_writev_chain().
 *
 * The edge-triggered loop only reports changes, so every function here
 * keeps the "ready" flags honest: a flag is cleared only after OpenSSL
 * saw EAGAIN on the socket, and when a read has to wait for the socket to
 * become writable (or a write for it to become readable) the other
 * event's handler is borrowed until the operation makes progress.
 */

#include <hm_config.h>
#include <hm_core.h>


hm_conf_bitmask_t  hm_ssl_protocol_names[] = {
    { hm_string("TLSv1"), HM_SSL_TLSv1 },
    { hm_string("TLSv1.1"), HM_SSL_TLSv1_1 },
    { hm_string("TLSv1.2"), HM_SSL_TLSv1_2 },
    { hm_string("TLSv1.3"), HM_SSL_TLSv1_3 },
    { hm_null_string, 0 }
};


static void hm_ssl_clear_error(hm_log_t *log);
static u_char *hm_ssl_error_queue(u_char *p, u_char *last);
static void hm_ssl_conf_error(hm_conf_t *cf, const char *fmt, ...);
static void hm_ssl_connection_error(hm_connection_t *c, int sslerr,
    hm_err_t err, char *text);
static hm_uint_t hm_ssl_peer_error(unsigned long e);
static hm_int_t hm_ssl_path(hm_conf_t *cf, hm_str_t *name, hm_str_t *path);
static int hm_ssl_password_callback(char *buf, int size, int rwflag,
    void *userdata);
static EVP_PKEY *hm_ssl_load_key(hm_conf_t *cf, hm_str_t *key,
    hm_array_t *passwords);
static int hm_ssl_verify_callback(int ok, X509_STORE_CTX *x509_store);
static int hm_ssl_alpn_select_callback(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg);
static void hm_ssl_alpn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
    int idx, long argl, void *argp);
static void hm_ssl_connection_cleanup(void *data);

static void hm_ssl_set_handlers(hm_connection_t *c,
    hm_event_handler_pt handler);
static void hm_ssl_restore_handlers(hm_connection_t *c,
    hm_event_handler_pt handler);
static void hm_ssl_empty_handler(hm_event_t *ev);
static void hm_ssl_handshake_handler(hm_event_t *ev);
static void hm_ssl_shutdown_handler(hm_event_t *ev);
static void hm_ssl_read_handler(hm_event_t *rev);
static void hm_ssl_write_handler(hm_event_t *wev);
static void hm_ssl_write_unblocked(hm_connection_t *c);
static void hm_ssl_read_unblocked(hm_connection_t *c);
static hm_int_t hm_ssl_handle_recv(hm_connection_t *c, int n);
static hm_int_t hm_ssl_handle_write(hm_connection_t *c, int n);
static hm_int_t hm_ssl_eof(hm_connection_t *c, int sslerr, hm_err_t err,
    char *text);
static hm_int_t hm_ssl_alloc_buffer(hm_connection_t *c);
static hm_int_t hm_ssl_is_ip(u_char *name, size_t len);
static hm_int_t hm_ssl_copy(hm_pool_t *pool, hm_str_t *s, const char *text,
    size_t len);


int  hm_ssl_connection_index = -1;
int  hm_ssl_server_conf_index = -1;

/* the hm_ssl_t of an SSL_CTX, and its ALPN list (freed with the SSL_CTX) */
static int  hm_ssl_index = -1;
static int  hm_ssl_alpn_index = -1;


typedef struct {
    size_t          len;
    u_char          data[1];
} hm_ssl_alpn_t;


static struct {
    hm_uint_t       mask;
    int             version;
    uint64_t        option;
} hm_ssl_versions[] = {
    { HM_SSL_TLSv1, TLS1_VERSION, SSL_OP_NO_TLSv1 },
    { HM_SSL_TLSv1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
    { HM_SSL_TLSv1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
    { HM_SSL_TLSv1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 }
};


/*
 * Reasons an SSL_ERROR_SSL is the peer's doing (a scanner, a plain HTTP
 * client, an old or misconfigured peer): logged at "info", never louder.
 */

static int  hm_ssl_peer_reasons[] = {
    SSL_R_BAD_CHANGE_CIPHER_SPEC,
    SSL_R_BAD_EXTENSION,
    SSL_R_BAD_KEY_SHARE,
    SSL_R_BAD_LENGTH,
    SSL_R_BAD_PACKET,
    SSL_R_BAD_PACKET_LENGTH,
    SSL_R_BAD_PSK,
    SSL_R_BAD_RECORD_TYPE,
    SSL_R_BAD_SIGNATURE,
    SSL_R_BLOCK_CIPHER_PAD_IS_WRONG,
    SSL_R_CCS_RECEIVED_EARLY,
    SSL_R_CERTIFICATE_VERIFY_FAILED,
    SSL_R_CLIENTHELLO_TLSEXT,
    SSL_R_DATA_LENGTH_TOO_LONG,
    SSL_R_DECRYPTION_FAILED,
    SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC,
    SSL_R_DIGEST_CHECK_FAILED,
    SSL_R_EXCESSIVE_MESSAGE_SIZE,
    SSL_R_HTTPS_PROXY_REQUEST,
    SSL_R_HTTP_REQUEST,
    SSL_R_INAPPROPRIATE_FALLBACK,
    SSL_R_LENGTH_MISMATCH,
    SSL_R_LENGTH_TOO_SHORT,
    SSL_R_MISSING_SIGALGS_EXTENSION,
    SSL_R_NO_APPLICATION_PROTOCOL,
    SSL_R_NO_CIPHERS_SPECIFIED,
    SSL_R_NO_COMPRESSION_SPECIFIED,
    SSL_R_NO_SHARED_CIPHER,
    SSL_R_NO_SHARED_GROUPS,
    SSL_R_NO_SUITABLE_KEY_SHARE,
    SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM,
    SSL_R_NO_RENEGOTIATION,
    SSL_R_PACKET_LENGTH_TOO_LONG,
    SSL_R_PARSE_TLSEXT,
    SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE,
    SSL_R_RECORD_LENGTH_MISMATCH,
    SSL_R_TOO_MANY_WARN_ALERTS,
    SSL_R_UNEXPECTED_MESSAGE,
    SSL_R_UNEXPECTED_RECORD,
    SSL_R_UNKNOWN_ALERT_TYPE,
    SSL_R_UNKNOWN_PROTOCOL,
    SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED,
    SSL_R_UNSUPPORTED_PROTOCOL,
    SSL_R_VERSION_TOO_LOW,
    SSL_R_WRONG_VERSION_NUMBER,
    SSL_R_UNEXPECTED_EOF_WHILE_READING,
    0
};


hm_int_t
hm_ssl_init(hm_log_t *log)
{
    if (hm_ssl_connection_index != -1) {
        return HM_OK;
    }

    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) == 0) {
        hm_ssl_error(HM_LOG_ALERT, log, 0, "OPENSSL_init_ssl() failed");
        return HM_ERROR;
    }

    /* OPENSSL_init_ssl() may leave a note about a missing openssl.cnf */

    ERR_clear_error();

    hm_ssl_connection_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                   NULL);
    hm_ssl_server_conf_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
                                                        NULL);
    hm_ssl_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    hm_ssl_alpn_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
                                                 hm_ssl_alpn_free);

    if (hm_ssl_connection_index == -1 || hm_ssl_server_conf_index == -1
        || hm_ssl_index == -1 || hm_ssl_alpn_index == -1)
    {
        hm_ssl_error(HM_LOG_ALERT, log, 0, "SSL_get_ex_new_index() failed");
        hm_ssl_connection_index = -1;
        return HM_ERROR;
    }

    return HM_OK;
}


hm_int_t
hm_ssl_create(hm_ssl_t *ssl, hm_uint_t protocols, void *data)
{
    int         min, max;
    uint64_t    options;
    hm_uint_t   i;

    /* any context, server or client, needs the ex_data indexes */

    if (hm_ssl_init(ssl->log) != HM_OK) {
        return HM_ERROR;
    }

    protocols &= HM_SSL_TLSv1|HM_SSL_TLSv1_1|HM_SSL_TLSv1_2|HM_SSL_TLSv1_3;

    if (protocols == 0) {
        hm_log_error(HM_LOG_EMERG, ssl->log, 0, "no TLS protocols enabled");
        return HM_ERROR;
    }

    ssl->ctx = SSL_CTX_new(TLS_method());
    if (ssl->ctx == NULL) {
        hm_ssl_error(HM_LOG_EMERG, ssl->log, 0, "SSL_CTX_new() failed");
        return HM_ERROR;
    }

    if (SSL_CTX_set_ex_data(ssl->ctx, hm_ssl_server_conf_index, data) == 0
        || SSL_CTX_set_ex_data(ssl->ctx, hm_ssl_index, ssl) == 0)
    {
        hm_ssl_error(HM_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_ex_data() failed");
        goto failed;
    }

    ssl->buffer_size = HM_SSL_BUFSIZE;

    /* the range of versions, and holes in it ("TLSv1 TLSv1.2") */

    min = 0;
    max = 0;
    options = 0;

    for (i = 0; i < sizeof(hm_ssl_versions) / sizeof(hm_ssl_versions[0]);
         i++)
    {
        if (protocols & hm_ssl_versions[i].mask) {
            if (min == 0) {
                min = hm_ssl_versions[i].version;
            }

            max = hm_ssl_versions[i].version;

        } else {
            options |= hm_ssl_versions[i].option;
        }
    }

    if (SSL_CTX_set_min_proto_version(ssl->ctx, min) == 0
        || SSL_CTX_set_max_proto_version(ssl->ctx, max) == 0)
    {
        hm_ssl_error(HM_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_min/max_proto_version() failed");
        goto failed;
    }

    options |= SSL_OP_NO_COMPRESSION|SSL_OP_NO_RENEGOTIATION;

    SSL_CTX_set_options(ssl->ctx, options);

    SSL_CTX_set_mode(ssl->ctx, SSL_MODE_RELEASE_BUFFERS
                               |SSL_MODE_ENABLE_PARTIAL_WRITE
                               |SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    SSL_CTX_set_read_ahead(ssl->ctx, 1);

    return HM_OK;

failed:

    SSL_CTX_free(ssl->ctx);
    ssl->ctx = NULL;

    return HM_ERROR;
}


void
hm_ssl_cleanup_ctx(void *data)
{
    hm_ssl_t  *ssl = data;

    if (ssl->ctx) {
        SSL_CTX_free(ssl->ctx);
        ssl->ctx = NULL;
    }
}


hm_int_t
hm_ssl_certificate(hm_conf_t *cf, hm_ssl_t *ssl, hm_str_t *cert,
    hm_str_t *key, hm_array_t *passwords)
{
    hm_str_t   path;
    EVP_PKEY  *pkey;

    if (hm_ssl_path(cf, cert, &path) != HM_OK) {
        return HM_ERROR;
    }

    /* the leaf and its chain, which OpenSSL keeps per certificate type */

    if (SSL_CTX_use_certificate_chain_file(ssl->ctx, (char *) path.data)
        != 1)
    {
        hm_ssl_conf_error(cf, "cannot load certificate \"%V\": "
                          "SSL_CTX_use_certificate_chain_file() failed",
                          &path);
        return HM_ERROR;
    }

    pkey = hm_ssl_load_key(cf, key, passwords);
    if (pkey == NULL) {
        return HM_ERROR;
    }

    if (SSL_CTX_use_PrivateKey(ssl->ctx, pkey) != 1) {
        EVP_PKEY_free(pkey);
        hm_ssl_conf_error(cf, "cannot load certificate key \"%V\" "
                          "for certificate \"%V\": "
                          "SSL_CTX_use_PrivateKey() failed", key, &path);
        return HM_ERROR;
    }

    EVP_PKEY_free(pkey);

    return HM_OK;
}


static EVP_PKEY *
hm_ssl_load_key(hm_conf_t *cf, hm_str_t *key, hm_array_t *passwords)
{
    BIO        *bio;
    hm_str_t    path, *pwd;
    EVP_PKEY   *pkey;
    hm_uint_t   tries, i;

    if (hm_ssl_path(cf, key, &path) != HM_OK) {
        return NULL;
    }

    pwd = (passwords && passwords->nelts) ? passwords->elts : NULL;
    tries = pwd ? passwords->nelts : 1;

    for (i = 0; i < tries; i++) {

        bio = BIO_new_file((char *) path.data, "r");
        if (bio == NULL) {
            hm_ssl_conf_error(cf, "cannot load certificate key \"%V\": "
                              "BIO_new_file() failed", &path);
            return NULL;
        }

        pkey = PEM_read_bio_PrivateKey(bio, NULL, hm_ssl_password_callback,
                                       pwd ? &pwd[i] : NULL);
        BIO_free(bio);

        if (pkey) {
            ERR_clear_error();
            return pkey;
        }

        if (i + 1 < tries) {
            ERR_clear_error();
        }
    }

    hm_ssl_conf_error(cf, "cannot load certificate key \"%V\": "
                      "PEM_read_bio_PrivateKey() failed", &path);

    return NULL;
}


static int
hm_ssl_password_callback(char *buf, int size, int rwflag, void *userdata)
{
    hm_str_t  *pwd = userdata;

    if (pwd == NULL || rwflag) {
        return 0;
    }

    if (pwd->len > (size_t) size) {
        return 0;
    }

    hm_memcpy(buf, pwd->data, pwd->len);

    return (int) pwd->len;
}


hm_int_t
hm_ssl_ciphers(hm_conf_t *cf, hm_ssl_t *ssl, hm_str_t *ciphers,
    hm_uint_t prefer_server_ciphers)
{
    u_char  *list;

    list = hm_pnalloc(cf->pool, ciphers->len + 1);
    if (list == NULL) {
        return HM_ERROR;
    }

    (void) hm_cpystrn(list, ciphers->data, ciphers->len + 1);

    /* TLSv1.2 and older; the TLSv1.3 suites keep OpenSSL's defaults */

    if (SSL_CTX_set_cipher_list(ssl->ctx, (char *) list) == 0) {
        hm_ssl_conf_error(cf, "SSL_CTX_set_cipher_list(\"%V\") failed",
                          ciphers);
        return HM_ERROR;
    }

    if (prefer_server_ciphers) {
        SSL_CTX_set_options(ssl->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);

    } else {
        SSL_CTX_clear_options(ssl->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    }

    return HM_OK;
}


hm_int_t
hm_ssl_client_certificate(hm_conf_t *cf, hm_ssl_t *ssl, hm_str_t *cert,
    hm_int_t depth)
{
    hm_str_t              path;
    STACK_OF(X509_NAME)  *list;

    if (cert->len == 0) {
        return HM_OK;
    }

    if (hm_ssl_trusted_certificate(cf, ssl, cert, depth) != HM_OK) {
        return HM_ERROR;
    }

    if (hm_ssl_path(cf, cert, &path) != HM_OK) {
        return HM_ERROR;
    }

    list = SSL_load_client_CA_file((char *) path.data);
    if (list == NULL) {
        hm_ssl_conf_error(cf, "SSL_load_client_CA_file(\"%V\") failed",
                          &path);
        return HM_ERROR;
    }

    SSL_CTX_set_client_CA_list(ssl->ctx, list);

    return hm_ssl_verify(ssl, HM_SSL_VERIFY_REQUIRED);
}


hm_int_t
hm_ssl_trusted_certificate(hm_conf_t *cf, hm_ssl_t *ssl, hm_str_t *cert,
    hm_int_t depth)
{
    hm_str_t  path;

    if (depth > 0) {
        SSL_CTX_set_verify_depth(ssl->ctx, (int) depth);
    }

    if (cert->len == 0) {
        return HM_OK;
    }

    if (hm_ssl_path(cf, cert, &path) != HM_OK) {
        return HM_ERROR;
    }

    if (SSL_CTX_load_verify_locations(ssl->ctx, (char *) path.data, NULL)
        == 0)
    {
        hm_ssl_conf_error(cf, "SSL_CTX_load_verify_locations(\"%V\") failed",
                          &path);
        return HM_ERROR;
    }

    /* a CA file without certificates would pass silently */

    ERR_clear_error();

    return HM_OK;
}


hm_int_t
hm_ssl_verify(hm_ssl_t *ssl, hm_uint_t mode)
{
    switch (mode) {

    case HM_SSL_VERIFY_OFF:
        SSL_CTX_set_verify(ssl->ctx, SSL_VERIFY_NONE, NULL);
        break;

    case HM_SSL_VERIFY_REQUIRED:
        SSL_CTX_set_verify(ssl->ctx,
                           SSL_VERIFY_PEER|SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                           NULL);
        break;

    case HM_SSL_VERIFY_OPTIONAL:
        SSL_CTX_set_verify(ssl->ctx, SSL_VERIFY_PEER,
                           hm_ssl_verify_callback);
        break;

    default:
        hm_log_error(HM_LOG_EMERG, ssl->log, 0,
                     "unknown TLS verify mode %ui", mode);
        return HM_ERROR;
    }

    return HM_OK;
}


/* "optional": the result is kept for hm_ssl_verify_result() */

static int
hm_ssl_verify_callback(int ok, X509_STORE_CTX *x509_store)
{
    return 1;
}


hm_int_t
hm_ssl_session_cache(hm_ssl_t *ssl, hm_str_t *sess_ctx,
    ssize_t builtin_session_cache, time_t timeout)
{
    u_char        *id;
    unsigned int   len;
    u_char         md[EVP_MAX_MD_SIZE];

    id = sess_ctx->data;
    len = (unsigned int) sess_ctx->len;

    if (len > SSL_MAX_SID_CTX_LENGTH) {
        if (EVP_Digest(sess_ctx->data, sess_ctx->len, md, &len, EVP_sha1(),
                       NULL)
            == 0)
        {
            hm_ssl_error(HM_LOG_EMERG, ssl->log, 0, "EVP_Digest() failed");
            return HM_ERROR;
        }

        id = md;
    }

    if (len && SSL_CTX_set_session_id_context(ssl->ctx, id, len) == 0) {
        hm_ssl_error(HM_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_session_id_context() failed");
        return HM_ERROR;
    }

    switch (builtin_session_cache) {

    case HM_SSL_NO_SCACHE:
        SSL_CTX_set_session_cache_mode(ssl->ctx, SSL_SESS_CACHE_OFF);
        return HM_OK;

    case HM_SSL_NONE_SCACHE:
    case HM_SSL_NO_BUILTIN_SCACHE:

        /* session ids are issued, but nothing is stored */

        SSL_CTX_set_session_cache_mode(ssl->ctx,
                                       SSL_SESS_CACHE_SERVER
                                       |SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_cache_size(ssl->ctx, 1);
        break;

    case HM_SSL_DFLT_BUILTIN_SCACHE:
        SSL_CTX_set_session_cache_mode(ssl->ctx, SSL_SESS_CACHE_SERVER);
        break;

    default:
        if (builtin_session_cache < 0) {
            hm_log_error(HM_LOG_EMERG, ssl->log, 0,
                         "invalid TLS session cache size %z",
                         builtin_session_cache);
            return HM_ERROR;
        }

        SSL_CTX_set_session_cache_mode(ssl->ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ssl->ctx, (long) builtin_session_cache);
    }

    if (timeout > 0) {
        SSL_CTX_set_timeout(ssl->ctx, (long) timeout);
    }

    return HM_OK;
}


hm_int_t
hm_ssl_session_tickets(hm_conf_t *cf, hm_ssl_t *ssl, hm_uint_t enable)
{
    if (enable) {
        SSL_CTX_clear_options(ssl->ctx, SSL_OP_NO_TICKET);

    } else {
        SSL_CTX_set_options(ssl->ctx, SSL_OP_NO_TICKET);
    }

    return HM_OK;
}


hm_int_t
hm_ssl_alpn_select(hm_ssl_t *ssl, u_char *protos, size_t len)
{
    size_t          i;
    hm_ssl_alpn_t  *alpn;

    /* wire format: each name is a length byte and 1..255 bytes */

    for (i = 0; i < len; i += 1 + protos[i]) {
        if (protos[i] == 0 || i + 1 + protos[i] > len) {
            hm_log_error(HM_LOG_EMERG, ssl->log, 0,
                         "invalid ALPN protocol list");
            return HM_ERROR;
        }
    }

    if (len == 0 || len > 65535) {
        hm_log_error(HM_LOG_EMERG, ssl->log, 0, "invalid ALPN protocol list");
        return HM_ERROR;
    }

    alpn = OPENSSL_malloc(sizeof(hm_ssl_alpn_t) + len);
    if (alpn == NULL) {
        hm_ssl_error(HM_LOG_EMERG, ssl->log, 0, "OPENSSL_malloc() failed");
        return HM_ERROR;
    }

    alpn->len = len;
    hm_memcpy(alpn->data, protos, len);

    /* a second call replaces the list */

    OPENSSL_free(SSL_CTX_get_ex_data(ssl->ctx, hm_ssl_alpn_index));

    if (SSL_CTX_set_ex_data(ssl->ctx, hm_ssl_alpn_index, alpn) == 0) {
        OPENSSL_free(alpn);
        hm_ssl_error(HM_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_ex_data() failed");
        return HM_ERROR;
    }

    SSL_CTX_set_alpn_select_cb(ssl->ctx, hm_ssl_alpn_select_callback, NULL);

    return HM_OK;
}


/* the first of our protocols, in our order, that the client offers */

static int
hm_ssl_alpn_select_callback(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg)
{
    size_t          i;
    unsigned int    j;
    hm_ssl_alpn_t  *alpn;

    alpn = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), hm_ssl_alpn_index);
    if (alpn == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }

    for (i = 0; i < alpn->len; i += 1 + alpn->data[i]) {

        for (j = 0; j < inlen && j + 1 + in[j] <= inlen; j += 1 + in[j]) {

            if (in[j] == alpn->data[i]
                && hm_memcmp(&in[j + 1], &alpn->data[i + 1], in[j]) == 0)
            {
                *out = &in[j + 1];
                *outlen = in[j];

                return SSL_TLSEXT_ERR_OK;
            }
        }
    }

    return SSL_TLSEXT_ERR_ALERT_FATAL;
}


static void
hm_ssl_alpn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
    OPENSSL_free(ptr);
}


hm_int_t
hm_ssl_alpn_protos(hm_ssl_t *ssl, u_char *protos, size_t len)
{
    if (len > UINT_MAX || SSL_CTX_set_alpn_protos(ssl->ctx, protos,
                                                  (unsigned int) len)
                          != 0)
    {
        hm_ssl_error(HM_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_alpn_protos() failed");
        return HM_ERROR;
    }

    return HM_OK;
}


/* connections */

hm_int_t
hm_ssl_create_connection(hm_ssl_t *ssl, hm_connection_t *c, hm_uint_t flags)
{
    hm_pool_cleanup_t    *cln;
    hm_ssl_connection_t  *sc;

    sc = hm_pcalloc(c->pool, sizeof(hm_ssl_connection_t));
    if (sc == NULL) {
        return HM_ERROR;
    }

    sc->buffer = ((flags & HM_SSL_BUFFER) != 0);
    sc->buffer_size = ssl->buffer_size ? ssl->buffer_size : HM_SSL_BUFSIZE;
    sc->session_ctx = ssl->ctx;

    cln = hm_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        return HM_ERROR;
    }

    sc->connection = SSL_new(ssl->ctx);
    if (sc->connection == NULL) {
        hm_ssl_error(HM_LOG_ALERT, c->log, 0, "SSL_new() failed");
        return HM_ERROR;
    }

    /* whatever happens to the connection, the SSL goes with its pool */

    cln->handler = hm_ssl_connection_cleanup;
    cln->data = sc;

    if (SSL_set_fd(sc->connection, c->fd) == 0) {
        hm_ssl_error(HM_LOG_ALERT, c->log, 0, "SSL_set_fd() failed");
        return HM_ERROR;
    }

    if (flags & HM_SSL_CLIENT) {
        SSL_set_connect_state(sc->connection);

    } else {
        SSL_set_accept_state(sc->connection);
    }

    if (SSL_set_ex_data(sc->connection, hm_ssl_connection_index, c) == 0) {
        hm_ssl_error(HM_LOG_ALERT, c->log, 0, "SSL_set_ex_data() failed");
        return HM_ERROR;
    }

    c->ssl = sc;

    return HM_OK;
}


static void
hm_ssl_connection_cleanup(void *data)
{
    hm_ssl_connection_t  *sc = data;

    if (sc->connection) {
        SSL_free(sc->connection);
        sc->connection = NULL;
    }
}


hm_int_t
hm_ssl_set_session(hm_connection_t *c, SSL_SESSION *session)
{
    if (session == NULL) {
        return HM_OK;
    }

    if (SSL_set_session(c->ssl->connection, session) == 0) {
        hm_ssl_error(HM_LOG_ALERT, c->log, 0, "SSL_set_session() failed");
        return HM_ERROR;
    }

    return HM_OK;
}


/*
 * A new reference (SSL_SESSION_free() it), or NULL when there is nothing
 * to resume.  With TLSv1.3 the server sends its tickets after the
 * handshake: ask once something has been read.
 */

SSL_SESSION *
hm_ssl_get_session(hm_connection_t *c)
{
    SSL_SESSION  *session;

    session = SSL_get1_session(c->ssl->connection);

    if (session && !SSL_SESSION_is_resumable(session)) {
        SSL_SESSION_free(session);
        return NULL;
    }

    return session;
}


/* SNI for a client; RFC 6066 does not allow IP addresses there */

hm_int_t
hm_ssl_set_server_name(hm_connection_t *c, hm_str_t *name)
{
    u_char  *host;

    if (name->len == 0 || hm_ssl_is_ip(name->data, name->len)) {
        return HM_OK;
    }

    host = hm_pnalloc(c->pool, name->len + 1);
    if (host == NULL) {
        return HM_ERROR;
    }

    (void) hm_cpystrn(host, name->data, name->len + 1);

    if (SSL_set_tlsext_host_name(c->ssl->connection, (char *) host) == 0) {
        hm_ssl_error(HM_LOG_ERR, c->log, 0,
                     "SSL_set_tlsext_host_name(\"%V\") failed", name);
        return HM_ERROR;
    }

    return HM_OK;
}


/* handshake */

hm_int_t
hm_ssl_handshake(hm_connection_t *c)
{
    int        n, sslerr;
    hm_err_t   err;

    hm_ssl_clear_error(c->log);

    n = SSL_do_handshake(c->ssl->connection);

    if (n == 1) {
        hm_ssl_restore_handlers(c, hm_ssl_handshake_handler);

        c->ssl->handshaked = 1;

        c->recv = hm_ssl_recv;
        c->send = hm_ssl_write;
        c->send_chain = hm_ssl_send_chain;

        /*
         * OpenSSL may already hold application data read with the last
         * handshake records, and the edge that brought them is gone.
         */

        c->read->ready = 1;
        c->write->ready = 1;

        return HM_OK;
    }

    sslerr = SSL_get_error(c->ssl->connection, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? hm_socket_errno : 0;

    if (sslerr == SSL_ERROR_WANT_READ || sslerr == SSL_ERROR_WANT_WRITE) {

        if (sslerr == SSL_ERROR_WANT_READ) {
            c->read->ready = 0;

        } else {
            c->write->ready = 0;
        }

        hm_ssl_set_handlers(c, hm_ssl_handshake_handler);

        if (hm_handle_read_event(c->read, 0) != HM_OK
            || hm_handle_write_event(c->write, 0) != HM_OK)
        {
            hm_ssl_restore_handlers(c, hm_ssl_handshake_handler);
            return HM_ERROR;
        }

        return HM_AGAIN;
    }

    hm_ssl_restore_handlers(c, hm_ssl_handshake_handler);

    c->ssl->no_wait_shutdown = 1;
    c->ssl->no_send_shutdown = 1;
    c->read->eof = 1;

    if (hm_ssl_eof(c, sslerr, err, "peer closed connection in TLS handshake")
        == HM_DONE)
    {
        return HM_ERROR;
    }

    c->read->error = 1;

    hm_ssl_connection_error(c, sslerr, err, "SSL_do_handshake() failed");

    return HM_ERROR;
}


static void
hm_ssl_handshake_handler(hm_event_t *ev)
{
    hm_connection_t  *c = ev->data;

    if (ev->timedout) {
        hm_ssl_restore_handlers(c, hm_ssl_handshake_handler);

        if (c->ssl->handler) {
            c->ssl->handler(c);
        }

        return;
    }

    if (hm_ssl_handshake(c) == HM_AGAIN) {
        return;
    }

    if (c->ssl->handler) {
        c->ssl->handler(c);
    }
}


/*
 * Borrow both event handlers for a handshake or a shutdown; the owner's
 * ones are kept unless one of ours is already in place.
 */

static void
hm_ssl_set_handlers(hm_connection_t *c, hm_event_handler_pt handler)
{
    if (c->read->handler != handler) {
        if (c->read->handler != hm_ssl_read_handler) {
            c->ssl->saved_read_handler = c->read->handler;
        }

        c->read->handler = handler;
    }

    if (c->write->handler != handler) {
        if (c->write->handler != hm_ssl_write_handler) {
            c->ssl->saved_write_handler = c->write->handler;
        }

        c->write->handler = handler;
    }
}


static void
hm_ssl_restore_handlers(hm_connection_t *c, hm_event_handler_pt handler)
{
    hm_event_handler_pt  h;

    if (c->read->handler == handler) {
        h = c->ssl->saved_read_handler;
        c->read->handler = h ? h : hm_ssl_empty_handler;
        c->ssl->saved_read_handler = NULL;
    }

    if (c->write->handler == handler) {
        h = c->ssl->saved_write_handler;
        c->write->handler = h ? h : hm_ssl_empty_handler;
        c->ssl->saved_write_handler = NULL;
    }
}


static void
hm_ssl_empty_handler(hm_event_t *ev)
{
    hm_log_debug(ev->log ? ev->log : ((hm_connection_t *) ev->data)->log,
                 "TLS empty handler");
}


/* reading */

ssize_t
hm_ssl_recv(hm_connection_t *c, u_char *buf, size_t size)
{
    int      n;
    size_t   got;
    ssize_t  bytes;

    if (c->ssl->last == HM_ERROR) {
        c->read->ready = 0;
        c->read->error = 1;
        return HM_ERROR;
    }

    if (c->ssl->last == HM_DONE) {
        c->read->ready = 0;
        c->read->eof = 1;
        return 0;
    }

    bytes = 0;

    hm_ssl_clear_error(c->log);

    /*
     * Read until the buffer is full or the socket is drained: only then
     * may "ready" be cleared without losing an edge.
     */

    for ( ;; ) {

        got = 0;
        n = SSL_read_ex(c->ssl->connection, buf, size, &got);

        c->ssl->last = hm_ssl_handle_recv(c, n);

        if (c->ssl->last == HM_OK) {
            bytes += got;
            size -= got;

            if (size == 0) {
                c->read->ready = 1;
                return bytes;
            }

            buf += got;

            continue;
        }

        if (bytes) {
            if (c->ssl->last != HM_AGAIN) {
                /* report EOF or the error on the next call */
                c->read->ready = 1;
            }

            return bytes;
        }

        switch (c->ssl->last) {

        case HM_DONE:
            c->read->ready = 0;
            c->read->eof = 1;
            return 0;

        case HM_ERROR:
            c->read->ready = 0;
            c->read->error = 1;
            return HM_ERROR;

        default: /* HM_AGAIN */
            return HM_AGAIN;
        }
    }
}


static hm_int_t
hm_ssl_handle_recv(hm_connection_t *c, int n)
{
    int        sslerr;
    hm_err_t   err;

    if (n == 1) {
        hm_ssl_write_unblocked(c);
        return HM_OK;
    }

    sslerr = SSL_get_error(c->ssl->connection, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? hm_socket_errno : 0;

    if (sslerr == SSL_ERROR_WANT_READ) {
        hm_ssl_write_unblocked(c);
        c->read->ready = 0;
        return HM_AGAIN;
    }

    if (sslerr == SSL_ERROR_WANT_WRITE) {

        /*
         * The read must write first (a key update, an alert): wait for the
         * socket to become writable, and run the read handler then.
         */

        c->read->ready = 0;
        c->write->ready = 0;

        if (hm_handle_write_event(c->write, 0) != HM_OK) {
            return HM_ERROR;
        }

        if (c->write->handler != hm_ssl_write_handler) {
            c->ssl->saved_write_handler = c->write->handler;
            c->write->handler = hm_ssl_write_handler;
        }

        return HM_AGAIN;
    }

    c->ssl->no_wait_shutdown = 1;
    c->ssl->no_send_shutdown = 1;

    if (hm_ssl_eof(c, sslerr, err, "peer closed connection without "
                                   "TLS close_notify")
        == HM_DONE)
    {
        return HM_DONE;
    }

    hm_ssl_connection_error(c, sslerr, err, "SSL_read() failed");

    return HM_ERROR;
}


/*
 * HM_DONE when an error is the end of the stream: a close_notify, or a
 * peer that simply closed the socket (logged at "info").
 */

static hm_int_t
hm_ssl_eof(hm_connection_t *c, int sslerr, hm_err_t err, char *text)
{
    unsigned long  e;

    if (sslerr == SSL_ERROR_ZERO_RETURN) {
        hm_log_debug(c->log, "TLS close_notify received");
        return HM_DONE;
    }

    e = ERR_peek_last_error();

    if ((sslerr == SSL_ERROR_SYSCALL && err == 0 && e == 0)
        || (sslerr == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL
            && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING))
    {
        ERR_clear_error();
        hm_log_error(HM_LOG_INFO, c->log, 0, text);
        return HM_DONE;
    }

    return HM_DECLINED;
}


/* a write that waited for the socket to become readable is free again */

static void
hm_ssl_read_unblocked(hm_connection_t *c)
{
    if (c->read->handler != hm_ssl_read_handler) {
        return;
    }

    c->read->handler = c->ssl->saved_read_handler;
    c->ssl->saved_read_handler = NULL;

    /* the edge that may have been meant for the owner was consumed */

    c->read->ready = 1;
    hm_post_event(c->read, &hm_posted_events);
}


static void
hm_ssl_write_unblocked(hm_connection_t *c)
{
    if (c->write->handler != hm_ssl_write_handler) {
        return;
    }

    c->write->handler = c->ssl->saved_write_handler;
    c->ssl->saved_write_handler = NULL;

    c->write->ready = 1;
    hm_post_event(c->write, &hm_posted_events);
}


/* the socket became writable: resume the read that needed it */

static void
hm_ssl_write_handler(hm_event_t *wev)
{
    hm_connection_t  *c = wev->data;

    c->read->ready = 1;
    c->read->handler(c->read);
}


/* the socket became readable: resume the write that needed it */

static void
hm_ssl_read_handler(hm_event_t *rev)
{
    hm_connection_t  *c = rev->data;

    c->write->ready = 1;
    c->write->handler(c->write);
}


/* writing */

/*
 * Writes all of data unless the socket fills up: then it returns what
 * went out with c->write->ready cleared (HM_AGAIN if nothing did), as
 * hm_unix_send() does.  After HM_AGAIN the same bytes must be offered
 * again (c->ssl->write_pending of them at least).
 */

ssize_t
hm_ssl_write(hm_connection_t *c, u_char *data, size_t size)
{
    int       n;
    size_t    sent, written;
    hm_int_t  rc;

    if (size == 0) {
        return 0;
    }

    hm_ssl_clear_error(c->log);

    sent = 0;

    while (sent < size) {

        written = 0;
        n = SSL_write_ex(c->ssl->connection, data + sent, size - sent,
                         &written);

        if (n == 1) {
            sent += written;
            c->ssl->write_pending = 0;
            hm_ssl_read_unblocked(c);
            continue;
        }

        rc = hm_ssl_handle_write(c, n);

        if (rc == HM_ERROR) {
            return HM_ERROR;
        }

        /* HM_AGAIN: one record at most is held by OpenSSL */

        c->ssl->write_pending = hm_min(size - sent, HM_SSL_BUFSIZE);

        break;
    }

    if (sent == 0) {
        return HM_AGAIN;
    }

    c->sent += sent;

    return sent;
}


static hm_int_t
hm_ssl_handle_write(hm_connection_t *c, int n)
{
    int        sslerr;
    hm_err_t   err;

    sslerr = SSL_get_error(c->ssl->connection, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? hm_socket_errno : 0;

    if (sslerr == SSL_ERROR_WANT_WRITE) {
        hm_ssl_read_unblocked(c);
        c->write->ready = 0;
        return HM_AGAIN;
    }

    if (sslerr == SSL_ERROR_WANT_READ) {

        /* the write must read first: run the write handler when readable */

        c->write->ready = 0;
        c->read->ready = 0;

        if (hm_handle_read_event(c->read, 0) != HM_OK) {
            return HM_ERROR;
        }

        if (c->read->handler != hm_ssl_read_handler) {
            c->ssl->saved_read_handler = c->read->handler;
            c->read->handler = hm_ssl_read_handler;
        }

        return HM_AGAIN;
    }

    c->ssl->no_wait_shutdown = 1;
    c->ssl->no_send_shutdown = 1;
    c->write->error = 1;

    hm_ssl_connection_error(c, sslerr, err, "SSL_write() failed");

    return HM_ERROR;
}


/*
 * The memory buffers of a chain, at most limit bytes: with HM_SSL_BUFFER
 * small buffers are gathered into one record-sized buffer, otherwise each
 * is written as it is.  File buffers stop the walk, as in
 * hm_writev_chain(); the chain advances only by what OpenSSL accepted,
 * so nothing is hidden in our buffer between calls.
 */

hm_chain_t *
hm_ssl_send_chain(hm_connection_t *c, hm_chain_t *in, off_t limit)
{
    off_t        send, room;
    u_char      *data, *p;
    size_t       size, n;
    ssize_t      rc;
    hm_buf_t    *b;
    hm_chain_t  *cl;

    if (!c->write->ready) {
        return in;
    }

    if (limit == 0 || limit > HM_MAX_OFF_T_VALUE - HM_SSL_BUFSIZE) {
        limit = HM_MAX_OFF_T_VALUE - HM_SSL_BUFSIZE;
    }

    send = 0;

    for ( ;; ) {

        while (in && (hm_buf_special(in->buf)
                      || (hm_buf_in_memory(in->buf)
                          && in->buf->pos == in->buf->last)))
        {
            in = in->next;
        }

        if (in == NULL || !hm_buf_in_memory(in->buf)) {
            return in;
        }

        /* a retried record must be offered whole, whatever the limit */

        room = limit - send;

        if (room < (off_t) c->ssl->write_pending) {
            room = (off_t) c->ssl->write_pending;
        }

        if (room <= 0) {
            return in;
        }

        size = in->buf->last - in->buf->pos;

        if ((off_t) size > room) {
            size = (size_t) room;
        }

        data = in->buf->pos;

        if (c->ssl->buffer && size < c->ssl->buffer_size
            && in->next != NULL)
        {
            b = c->ssl->buf;

            if (b == NULL || b->start == NULL) {
                if (hm_ssl_alloc_buffer(c) != HM_OK) {
                    return HM_CHAIN_ERROR;
                }

                b = c->ssl->buf;
            }

            p = b->start;

            for (cl = in; cl && p < b->end && p - b->start < room;
                 cl = cl->next)
            {
                if (hm_buf_special(cl->buf)) {
                    continue;
                }

                if (!hm_buf_in_memory(cl->buf)) {
                    break;
                }

                n = hm_min((size_t) (cl->buf->last - cl->buf->pos),
                           (size_t) (b->end - p));
                n = hm_min(n, (size_t) (room - (p - b->start)));

                p = hm_cpymem(p, cl->buf->pos, n);
            }

            data = b->start;
            size = p - b->start;
        }

        rc = hm_ssl_write(c, data, size);

        if (rc == HM_ERROR) {
            return HM_CHAIN_ERROR;
        }

        if (rc == HM_AGAIN) {
            return in;
        }

        send += rc;

        in = hm_chain_update_sent(in, rc);

        if ((size_t) rc < size) {
            /* the socket is full, c->write->ready is cleared */
            return in;
        }

        if (send >= limit) {
            return in;
        }
    }
}


static hm_int_t
hm_ssl_alloc_buffer(hm_connection_t *c)
{
    hm_buf_t  *b;

    b = c->ssl->buf;

    if (b == NULL) {
        b = hm_calloc_buf(c->pool);
        if (b == NULL) {
            return HM_ERROR;
        }

        c->ssl->buf = b;
    }

    b->start = hm_palloc(c->pool, c->ssl->buffer_size);
    if (b->start == NULL) {
        return HM_ERROR;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->start + c->ssl->buffer_size;
    b->temporary = 1;

    return HM_OK;
}


/* an idle connection gives its write buffer back (keepalive) */

void
hm_ssl_free_buffer(hm_connection_t *c)
{
    hm_buf_t  *b;

    b = c->ssl->buf;

    if (b && b->start) {
        if (hm_pfree(c->pool, b->start) == HM_OK) {
            b->start = NULL;
            b->pos = NULL;
            b->last = NULL;
            b->end = NULL;
        }
    }

    if (c->ssl->connection) {
        (void) SSL_free_buffers(c->ssl->connection);
    }
}


/*
 * Sends our close_notify once and never waits for the peer's (none is
 * sent after a timeout, an error, or with a record still half-written).
 * HM_AGAIN
 * only when the alert could not be flushed: the event handlers and a
 * HM_SSL_SHUTDOWN_TIMEOUT timer on c->read are ours then, and
 * c->ssl->handler(c) runs once it is over.  Otherwise the SSL is freed,
 * c->ssl is NULL, c->recv/send/send_chain are the plain ones again, and
 * the caller closes the connection.
 */

hm_int_t
hm_ssl_shutdown(hm_connection_t *c)
{
    int         n, sslerr;
    SSL        *ssl;
    hm_err_t    err;
    hm_uint_t   first;

    ssl = c->ssl->connection;

    if (ssl == NULL) {
        c->ssl = NULL;
        return HM_OK;
    }

    hm_ssl_clear_error(c->log);

    if (SSL_in_init(ssl) || c->timedout || c->error
        || c->ssl->no_send_shutdown || c->ssl->write_pending)
    {
        /*
         * Nothing to say to a peer that is gone, stuck or mid-handshake,
         * nor after a record the owner gave up on: the alert could only
         * follow it.  The flags keep a good session in the cache (OpenSSL
         * has dropped the bad ones already).
         */

        SSL_set_quiet_shutdown(ssl, 1);
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN|SSL_RECEIVED_SHUTDOWN);
        goto done;
    }

    SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);

    n = SSL_shutdown(ssl);

    if (n >= 0) {
        goto done;
    }

    sslerr = SSL_get_error(ssl, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? hm_socket_errno : 0;

    if (sslerr == SSL_ERROR_WANT_WRITE || sslerr == SSL_ERROR_WANT_READ) {

        if (sslerr == SSL_ERROR_WANT_WRITE) {
            c->write->ready = 0;

        } else {
            c->read->ready = 0;
        }

        /* the timer is set once: events while waiting do not extend it */

        first = (c->read->handler != hm_ssl_shutdown_handler);

        hm_ssl_set_handlers(c, hm_ssl_shutdown_handler);

        if (hm_handle_read_event(c->read, 0) != HM_OK
            || hm_handle_write_event(c->write, 0) != HM_OK)
        {
            goto done;
        }

        if (first) {
            hm_event_add_timer(c->read, HM_SSL_SHUTDOWN_TIMEOUT);
        }

        return HM_AGAIN;
    }

    if (sslerr != SSL_ERROR_ZERO_RETURN
        && !(sslerr == SSL_ERROR_SYSCALL && err == 0))
    {
        hm_ssl_connection_error(c, sslerr, err, "SSL_shutdown() failed");
    }

done:

    ERR_clear_error();

    if (c->read->handler == hm_ssl_shutdown_handler && c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    hm_ssl_restore_handlers(c, hm_ssl_shutdown_handler);

    if (c->ssl->shutdown_without_free) {
        return HM_OK;
    }

    hm_ssl_free_buffer(c);

    SSL_free(ssl);
    c->ssl->connection = NULL;
    c->ssl = NULL;

    c->recv = hm_unix_recv;
    c->send = hm_unix_send;
    c->send_chain = hm_writev_chain;

    return HM_OK;
}


static void
hm_ssl_shutdown_handler(hm_event_t *ev)
{
    hm_connection_t      *c;
    hm_ssl_handshake_pt   handler;

    c = ev->data;
    handler = c->ssl->handler;

    if (ev->timedout) {
        c->timedout = 1;
    }

    if (hm_ssl_shutdown(c) == HM_AGAIN) {
        return;
    }

    if (handler) {
        handler(c);
    }
}


/* peer checks */

hm_int_t
hm_ssl_check_host(hm_connection_t *c, hm_str_t *name)
{
    int     rc;
    X509   *cert;
    u_char  ip[HM_SOCKADDR_STRLEN + 1];

    cert = SSL_get0_peer_certificate(c->ssl->connection);
    if (cert == NULL || name->len == 0) {
        return HM_ERROR;
    }

    if (hm_ssl_is_ip(name->data, name->len)) {
        if (name->len >= sizeof(ip)) {
            return HM_ERROR;
        }

        (void) hm_cpystrn(ip, name->data, name->len + 1);

        rc = X509_check_ip_asc(cert, (char *) ip, 0);

    } else {
        rc = X509_check_host(cert, (char *) name->data, name->len, 0, NULL);
    }

    if (rc != 1) {
        ERR_clear_error();
        return HM_ERROR;
    }

    return HM_OK;
}


/*
 * HM_OK: the peer's certificate verified; HM_DECLINED: the peer sent
 * none; HM_ERROR: it did not verify, *result says why
 * (X509_verify_cert_error_string()).
 */

hm_int_t
hm_ssl_verify_result(hm_connection_t *c, long *result)
{
    *result = SSL_get_verify_result(c->ssl->connection);

    if (*result != X509_V_OK) {
        return HM_ERROR;
    }

    if (SSL_get0_peer_certificate(c->ssl->connection) == NULL) {
        return HM_DECLINED;
    }

    return HM_OK;
}


/* values for variables; s->len == 0 when there is nothing to say */

hm_int_t
hm_ssl_get_protocol(hm_connection_t *c, hm_pool_t *pool, hm_str_t *s)
{
    const char  *v;

    v = SSL_get_version(c->ssl->connection);

    return hm_ssl_copy(pool, s, v, v ? hm_strlen(v) : 0);
}


hm_int_t
hm_ssl_get_cipher_name(hm_connection_t *c, hm_pool_t *pool, hm_str_t *s)
{
    const char  *v;

    v = SSL_get_cipher_name(c->ssl->connection);

    return hm_ssl_copy(pool, s, v, v ? hm_strlen(v) : 0);
}


hm_int_t
hm_ssl_get_subject_dn(hm_connection_t *c, hm_pool_t *pool, hm_str_t *s)
{
    BIO        *bio;
    X509       *cert;
    char       *p;
    long        len;
    hm_int_t    rc;
    X509_NAME  *name;

    s->len = 0;
    s->data = NULL;

    cert = SSL_get0_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return HM_OK;
    }

    name = X509_get_subject_name(cert);
    if (name == NULL) {
        return HM_ERROR;
    }

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        hm_ssl_error(HM_LOG_ALERT, c->log, 0, "BIO_new() failed");
        return HM_ERROR;
    }

    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        hm_ssl_error(HM_LOG_ALERT, c->log, 0, "X509_NAME_print_ex() failed");
        BIO_free(bio);
        return HM_ERROR;
    }

    len = BIO_get_mem_data(bio, &p);

    rc = hm_ssl_copy(pool, s, p, len > 0 ? (size_t) len : 0);

    BIO_free(bio);

    return rc;
}


hm_int_t
hm_ssl_get_server_name(hm_connection_t *c, hm_pool_t *pool, hm_str_t *s)
{
    const char  *v;

    v = SSL_get_servername(c->ssl->connection, TLSEXT_NAMETYPE_host_name);

    return hm_ssl_copy(pool, s, v, v ? hm_strlen(v) : 0);
}


hm_int_t
hm_ssl_get_alpn_protocol(hm_connection_t *c, hm_pool_t *pool, hm_str_t *s)
{
    unsigned int          len;
    const unsigned char  *data;

    SSL_get0_alpn_selected(c->ssl->connection, &data, &len);

    return hm_ssl_copy(pool, s, (const char *) data, data ? len : 0);
}


static hm_int_t
hm_ssl_copy(hm_pool_t *pool, hm_str_t *s, const char *text, size_t len)
{
    s->len = 0;
    s->data = NULL;

    if (text == NULL || len == 0) {
        return HM_OK;
    }

    s->data = hm_pnalloc(pool, len);
    if (s->data == NULL) {
        return HM_ERROR;
    }

    hm_memcpy(s->data, text, len);
    s->len = len;

    return HM_OK;
}


static hm_int_t
hm_ssl_is_ip(u_char *name, size_t len)
{
    u_char             buf[HM_SOCKADDR_STRLEN + 1];
    ASN1_OCTET_STRING  *ip;

    if (len >= sizeof(buf)) {
        return 0;
    }

    (void) hm_cpystrn(buf, name, len + 1);

    ip = a2i_IPADDRESS((char *) buf);
    if (ip == NULL) {
        ERR_clear_error();
        return 0;
    }

    ASN1_OCTET_STRING_free(ip);

    return 1;
}


/* file names of the configuration, NUL-terminated and absolute */

static hm_int_t
hm_ssl_path(hm_conf_t *cf, hm_str_t *name, hm_str_t *path)
{
    hm_str_t  prefix = hm_null_string;

    *path = *name;

    if (cf->cycle) {
        return hm_conf_full_name(cf->cycle, path, 1);
    }

    return hm_get_full_name(cf->pool, &prefix, path);
}


/* errors */

void
hm_ssl_error(hm_uint_t level, hm_log_t *log, hm_err_t err, char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;
    u_char    errstr[HM_MAX_CONF_ERRSTR];

    if (log->log_level < level) {
        ERR_clear_error();
        return;
    }

    last = errstr + HM_MAX_CONF_ERRSTR;

    va_start(args, fmt);
    p = hm_vslprintf(errstr, last, fmt, args);
    va_end(args);

    p = hm_ssl_error_queue(p, last);

    hm_log_error_core(level, log, err, "%*s", (size_t) (p - errstr), errstr);
}


/* " (SSL: error:...:reason:data error:...)", the queue emptied */

static u_char *
hm_ssl_error_queue(u_char *p, u_char *last)
{
    int             flags;
    char           *q;
    const char     *data;
    unsigned long   n;

    n = ERR_peek_error();

    if (n == 0) {
        return p;
    }

    p = hm_slprintf(p, last, " (SSL:");

    for ( ;; ) {

        n = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);

        if (n == 0) {
            break;
        }

        if (p + 2 >= last) {
            continue;
        }

        *p++ = ' ';

        ERR_error_string_n(n, (char *) p, last - p);

        for (q = (char *) p; *q && (u_char *) q < last; q++) {
            /* void */
        }

        p = (u_char *) q;

        if (data && (flags & ERR_TXT_STRING) && *data) {
            p = hm_slprintf(p, last, ":%s", data);
        }
    }

    if (p < last) {
        *p++ = ')';
    }

    return p;
}


static void
hm_ssl_conf_error(hm_conf_t *cf, const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;
    u_char    errstr[HM_MAX_CONF_ERRSTR];

    last = errstr + HM_MAX_CONF_ERRSTR;

    va_start(args, fmt);
    p = hm_vslprintf(errstr, last, fmt, args);
    va_end(args);

    p = hm_ssl_error_queue(p, last);

    hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%*s", (size_t) (p - errstr),
                      errstr);
}


/*
 * Peers get "info" for their own mistakes ("err" where the owner asked
 * for it with HM_ERROR_ERR, e.g. upstreams); our own failures get "err",
 * and only an impossible errno gets "alert".
 */

static void
hm_ssl_connection_error(hm_connection_t *c, int sslerr, hm_err_t err,
    char *text)
{
    hm_uint_t  level, peer;

    peer = (c->log_error == HM_ERROR_ERR) ? HM_LOG_ERR : HM_LOG_INFO;

    switch (sslerr) {

    case SSL_ERROR_SYSCALL:

        if (err == HM_ECONNRESET
            && c->log_error == HM_ERROR_IGNORE_ECONNRESET)
        {
            ERR_clear_error();
            return;
        }

        if (err == 0 || err == HM_ECONNRESET || err == HM_EPIPE
            || err == HM_ENOTCONN || err == HM_ETIMEDOUT
            || err == HM_ECONNREFUSED || err == HM_ENETDOWN
            || err == HM_ENETUNREACH || err == HM_EHOSTDOWN
            || err == HM_EHOSTUNREACH)
        {
            level = peer;

        } else {
            level = HM_LOG_ALERT;
        }

        break;

    case SSL_ERROR_SSL:
        level = hm_ssl_peer_error(ERR_peek_last_error()) ? peer : HM_LOG_ERR;
        break;

    default:
        level = HM_LOG_ERR;
    }

    hm_ssl_error(level, c->log, err, "%s", text);
}


static hm_uint_t
hm_ssl_peer_error(unsigned long e)
{
    int        reason;
    hm_uint_t  i;

    if (ERR_GET_LIB(e) != ERR_LIB_SSL) {
        return 0;
    }

    reason = ERR_GET_REASON(e);

    /* an alert the peer sent us */

    if (reason >= SSL_AD_REASON_OFFSET) {
        return 1;
    }

    for (i = 0; hm_ssl_peer_reasons[i]; i++) {
        if (hm_ssl_peer_reasons[i] == reason) {
            return 1;
        }
    }

    return 0;
}


/* the queue must be empty before a call whose errors we interpret */

static void
hm_ssl_clear_error(hm_log_t *log)
{
    while (ERR_peek_error()) {
        hm_ssl_error(HM_LOG_ALERT, log, 0, "ignoring stale global SSL error");
    }

    ERR_clear_error();

    hm_set_socket_errno(0);
}
