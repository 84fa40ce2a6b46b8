/*
 * Copyright (C) hermod authors
 *
 * TLS over the event loop, with OpenSSL: one implementation that every
 * module (HTTP, AMQP, MQTT, TCP streams, ...) uses, both as a server and
 * as a client.  A TLS connection replaces c->recv, c->send and
 * c->send_chain; handshakes and shutdowns are non-blocking and resume on
 * read or write events.
 */

#ifndef _HM_EVENT_OPENSSL_H_INCLUDED_
#define _HM_EVENT_OPENSSL_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>


#define HM_SSL_TLSv1     0x0008
#define HM_SSL_TLSv1_1   0x0010
#define HM_SSL_TLSv1_2   0x0020
#define HM_SSL_TLSv1_3   0x0040

#define HM_SSL_BUFSIZE   16384


typedef struct hm_ssl_s             hm_ssl_t;
typedef struct hm_ssl_connection_s  hm_ssl_connection_t;

typedef void (*hm_ssl_handshake_pt)(hm_connection_t *c);


struct hm_ssl_s {
    SSL_CTX                  *ctx;
    hm_log_t                 *log;
    size_t                    buffer_size;

    void                     *spare[4];
};


struct hm_ssl_connection_s {
    SSL                      *connection;
    SSL_CTX                  *session_ctx;

    hm_int_t                  last;
    hm_buf_t                 *buf;
    size_t                    buffer_size;

    hm_ssl_handshake_pt       handler;

    hm_event_handler_pt       saved_read_handler;
    hm_event_handler_pt       saved_write_handler;

    unsigned                  handshaked:1;
    unsigned                  handshake_rejected:1;
    unsigned                  renegotiation:1;
    unsigned                  buffer:1;
    unsigned                  sendfile:1;
    unsigned                  no_wait_shutdown:1;
    unsigned                  no_send_shutdown:1;
    unsigned                  shutdown_without_free:1;
    unsigned                  handshake_buffer_set:1;
    unsigned                  try_early_data:1;
    unsigned                  in_early:1;
    unsigned                  read_early_data:1;
    unsigned                  write_blocked:1;

    void                     *spare[4];

    /*
     * Appended: plaintext bytes OpenSSL has already encrypted into a
     * record that is still waiting for the socket; the next write must
     * offer at least as many bytes (the same ones).
     */
    size_t                    write_pending;
};


#define HM_SSL_NO_SCACHE            -2
#define HM_SSL_NONE_SCACHE          -3
#define HM_SSL_NO_BUILTIN_SCACHE    -4
#define HM_SSL_DFLT_BUILTIN_SCACHE  -5

#define HM_SSL_BUFFER   1
#define HM_SSL_CLIENT   2


/* "ssl_protocols TLSv1.2 TLSv1.3": names for hm_conf_set_bitmask_slot */
extern hm_conf_bitmask_t  hm_ssl_protocol_names[];

#define HM_SSL_DEFAULT_PROTOCOLS  (HM_SSL_TLSv1_2|HM_SSL_TLSv1_3)


hm_int_t hm_ssl_init(hm_log_t *log);

/*
 * protocols is a mask of HM_SSL_TLSv1_*; data is stored in the SSL_CTX
 * (hm_ssl_server_conf_index).  The caller sets ssl->log first and adds
 * the cleanup itself, on the configuration pool:
 *
 *     cln = hm_pool_cleanup_add(cf->pool, 0);
 *     cln->handler = hm_ssl_cleanup_ctx;
 *     cln->data = ssl;
 */
hm_int_t hm_ssl_create(hm_ssl_t *ssl, hm_uint_t protocols, void *data);

/* several certificates (RSA + ECDSA) may be set, one call each */
hm_int_t hm_ssl_certificate(hm_conf_t *cf, hm_ssl_t *ssl, hm_str_t *cert,
    hm_str_t *key, hm_array_t *passwords);
hm_int_t hm_ssl_ciphers(hm_conf_t *cf, hm_ssl_t *ssl, hm_str_t *ciphers,
    hm_uint_t prefer_server_ciphers);
/*
 * mTLS for a server: the CA file verifies clients and is sent as the
 * client CA list; verification becomes HM_SSL_VERIFY_REQUIRED (see
 * hm_ssl_verify() to relax it).  trusted_certificate: CAs that verify
 * peers without being advertised, e.g. upstream servers for a client;
 * with the default HM_SSL_VERIFY_OFF the handshake succeeds and the caller
 * checks hm_ssl_verify_result() and hm_ssl_check_host().
 */
hm_int_t hm_ssl_client_certificate(hm_conf_t *cf, hm_ssl_t *ssl,
    hm_str_t *cert, hm_int_t depth);
hm_int_t hm_ssl_trusted_certificate(hm_conf_t *cf, hm_ssl_t *ssl,
    hm_str_t *cert, hm_int_t depth);
/* builtin_session_cache: HM_SSL_* or a size; timeout in seconds */
hm_int_t hm_ssl_session_cache(hm_ssl_t *ssl, hm_str_t *sess_ctx,
    ssize_t builtin_session_cache, time_t timeout);
hm_int_t hm_ssl_session_tickets(hm_conf_t *cf, hm_ssl_t *ssl,
    hm_uint_t enable);

/* a session cache shared by the workers: one zone per name and cycle */
typedef struct hm_ssl_session_zone_s  hm_ssl_session_zone_t;

hm_ssl_session_zone_t *hm_ssl_session_zone(hm_conf_t *cf, hm_str_t *name,
    size_t size);
hm_int_t hm_ssl_shared_session_cache(hm_ssl_t *ssl,
    hm_ssl_session_zone_t *zone);
/* ALPN for a server: protos in wire format ("\x02h2\x08http/1.1") */
hm_int_t hm_ssl_alpn_select(hm_ssl_t *ssl, u_char *protos, size_t len);
void hm_ssl_cleanup_ctx(void *data);

/* flags: HM_SSL_BUFFER, HM_SSL_CLIENT */
hm_int_t hm_ssl_create_connection(hm_ssl_t *ssl, hm_connection_t *c,
    hm_uint_t flags);
hm_int_t hm_ssl_set_session(hm_connection_t *c, SSL_SESSION *session);
SSL_SESSION *hm_ssl_get_session(hm_connection_t *c);
hm_int_t hm_ssl_set_server_name(hm_connection_t *c, hm_str_t *name);

/*
 * HM_OK when done, HM_AGAIN when it must be called again (the caller sets
 * c->ssl->handler to be resumed), HM_ERROR.
 */
hm_int_t hm_ssl_handshake(hm_connection_t *c);
hm_int_t hm_ssl_shutdown(hm_connection_t *c);
void hm_ssl_free_buffer(hm_connection_t *c);

ssize_t hm_ssl_recv(hm_connection_t *c, u_char *buf, size_t size);
ssize_t hm_ssl_write(hm_connection_t *c, u_char *data, size_t size);
hm_chain_t *hm_ssl_send_chain(hm_connection_t *c, hm_chain_t *in,
    off_t limit);

/* peer checks for a client: name against the certificate (SAN, CN) */
hm_int_t hm_ssl_check_host(hm_connection_t *c, hm_str_t *name);
hm_int_t hm_ssl_verify_result(hm_connection_t *c, long *result);

/* values for variables: protocol, cipher, client subject DN */
hm_int_t hm_ssl_get_protocol(hm_connection_t *c, hm_pool_t *pool,
    hm_str_t *s);
hm_int_t hm_ssl_get_cipher_name(hm_connection_t *c, hm_pool_t *pool,
    hm_str_t *s);
hm_int_t hm_ssl_get_subject_dn(hm_connection_t *c, hm_pool_t *pool,
    hm_str_t *s);
hm_int_t hm_ssl_get_server_name(hm_connection_t *c, hm_pool_t *pool,
    hm_str_t *s);

void hm_ssl_error(hm_uint_t level, hm_log_t *log, hm_err_t err,
    char *fmt, ...);


/* appended */

/* how long hm_ssl_shutdown() waits to flush its close_notify, ms */
#define HM_SSL_SHUTDOWN_TIMEOUT   3000

#define HM_SSL_VERIFY_OFF         0
/* no or a bad peer certificate fails the handshake */
#define HM_SSL_VERIFY_REQUIRED    1
/* a certificate is asked for; the caller checks hm_ssl_verify_result() */
#define HM_SSL_VERIFY_OPTIONAL    2

hm_int_t hm_ssl_verify(hm_ssl_t *ssl, hm_uint_t mode);

/* ALPN for a client: the protocols offered, in wire format */
hm_int_t hm_ssl_alpn_protos(hm_ssl_t *ssl, u_char *protos, size_t len);
hm_int_t hm_ssl_get_alpn_protocol(hm_connection_t *c, hm_pool_t *pool,
    hm_str_t *s);


/* index of the SSL ex_data slot holding the hm_connection_t */
extern int  hm_ssl_connection_index;
extern int  hm_ssl_server_conf_index;


#endif /* _HM_EVENT_OPENSSL_H_INCLUDED_ */
