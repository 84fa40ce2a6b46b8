/*
 * Copyright (C) hermod authors
 *
 * The HTTP/1.x parsers of src/http/hm_http_parse.c: request lines, header
 * lines, chunked bodies with extensions and trailers, upstream status
 * lines, URI normalization and hm_http_arg(); every rejection that
 * request smuggling relies on; and the same results whether a message
 * arrives whole, byte by byte or in odd-sized pieces.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http_parse.h>
#include <hm_unit.h>


#define BUFSZ  65536

#define S(s)   (u_char *) (s), sizeof(s) - 1


static u_char  buf[BUFSZ];


/* the buffer holds the whole message; b->last is moved as bytes "arrive" */

static void
buf_set(hm_buf_t *b, u_char *data, size_t len, size_t avail)
{
    hm_memzero(b, sizeof(hm_buf_t));
    hm_memcpy(buf, data, len);
    b->start = buf;
    b->pos = buf;
    b->last = buf + hm_min(len, avail);
    b->end = buf + len;
}


/* one request line, fed whole */

static hm_int_t
req(hm_http_parse_t *r, hm_buf_t *b, u_char *data, size_t len)
{
    hm_memzero(r, sizeof(hm_http_parse_t));
    buf_set(b, data, len, len);

    return hm_http_parse_request_line(r, b);
}


/* one header line, fed whole */

static hm_int_t
hdr(hm_http_parse_t *r, hm_buf_t *b, u_char *data, size_t len,
    hm_uint_t underscores)
{
    hm_memzero(r, sizeof(hm_http_parse_t));
    buf_set(b, data, len, len);

    return hm_http_parse_header_line(r, b, underscores);
}


/* ptr as an offset into buf, -1 for NULL */

static long
off(u_char *p)
{
    return p ? (long) (p - buf) : -1L;
}


/*
 * Parses a whole message (request line, header lines and, when the head
 * ends before the input does, a chunked body), handing the parsers "step"
 * more bytes at a time (0: everything at once), and writes what they saw
 * into trace: the return codes, every saved pointer as an offset, the
 * body data.  Two feedings of one message must give the same trace.
 */

static void
trace_message(u_char *data, size_t len, size_t step, char *trace, size_t size)
{
    u_char             *end, *t, *last;
    size_t              n;
    hm_int_t            rc;
    hm_buf_t            b;
    hm_uint_t           stage;
    hm_http_parse_t     r;
    hm_http_chunked_t   ch;

    hm_memzero(&r, sizeof(hm_http_parse_t));
    hm_memzero(&ch, sizeof(hm_http_chunked_t));

    buf_set(&b, data, len, step ? step : len);
    end = buf + len;
    t = (u_char *) trace;
    last = t + size - 1;
    stage = 0;

    for ( ;; ) {

        switch (stage) {
        case 0:
            rc = hm_http_parse_request_line(&r, &b);
            break;
        case 1:
            rc = hm_http_parse_header_line(&r, &b, 0);
            break;
        default:
            rc = hm_http_parse_chunked(&ch, &b);
        }

        HM_CHECK(b.pos >= buf && b.pos <= b.last, "pos out of the buffer");

        if (rc == HM_AGAIN) {
            HM_CHECK(b.pos == b.last, "AGAIN left bytes unread");

            if (b.last == end) {
                t = hm_slprintf(t, last, "[AGAIN at end]");
                break;
            }

            b.last += step ? hm_min(step, (size_t) (end - b.last))
                           : (size_t) (end - b.last);
            continue;
        }

        if (stage == 0) {
            t = hm_slprintf(t, last,
                    "[RL %i m=%ui %l-%l %l-%l s=%l-%l h=%l-%l p=%l-%l "
                    "u=%l-%l x=%l a=%l v=%ui c=%ud%ud%ud%ud %l]",
                    rc, r.method, off(r.request_start), off(r.request_end),
                    off(r.method_start), off(r.method_end),
                    off(r.schema_start), off(r.schema_end),
                    off(r.host_start), off(r.host_end),
                    off(r.port_start), off(r.port_end),
                    off(r.uri_start), off(r.uri_end), off(r.uri_ext),
                    off(r.args_start), r.http_version,
                    r.complex_uri, r.quoted_uri, r.plus_in_uri,
                    r.empty_path_in_uri, off(r.http_protocol_start));

            if (rc != HM_OK) {
                break;
            }

            stage = 1;
            continue;
        }

        if (stage == 1) {
            t = hm_slprintf(t, last, "[H %i %l-%l %l-%l", rc,
                            off(r.header_name_start), off(r.header_name_end),
                            off(r.header_start), off(r.header_end));

            /* the name's hash is defined only for a complete line */

            if (rc == HM_OK) {
                t = hm_slprintf(t, last, " %ui %ui %*s %ud", r.header_hash,
                                r.lowcase_index, (size_t) r.lowcase_index,
                                r.lowcase_header, r.invalid_header);
            }

            t = hm_slprintf(t, last, "]");

            if (rc == HM_HTTP_PARSE_HEADER_DONE && b.pos < end) {
                stage = 2;
                continue;
            }

            if (rc != HM_OK) {
                break;
            }

            continue;
        }

        if (rc == HM_OK) {
            n = hm_min((size_t) ch.size, (size_t) (b.last - b.pos));
            t = hm_slprintf(t, last, "%*s", n, b.pos);
            ch.size -= n;
            b.pos += n;
            continue;
        }

        /* where a parser stops on an error is not part of the contract */

        t = hm_slprintf(t, last, "[B %i %l]", rc,
                        rc == HM_DONE ? off(b.pos) : -1L);
        break;
    }

    *t = '\0';
}


static void
test_request_line(void)
{
    hm_buf_t          b;
    hm_int_t          rc;
    hm_http_parse_t   r;

    rc = req(&r, &b, S("GET / HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_UINT(r.method, HM_HTTP_GET);
    HM_CHECK_STR(r.method_start, r.method_end - r.method_start, "GET");
    HM_CHECK_STR(r.uri_start, r.uri_end - r.uri_start, "/");
    HM_CHECK_STR(r.request_start, r.request_end - r.request_start,
                 "GET / HTTP/1.1");
    HM_CHECK_STR(r.http_protocol_start,
                 r.request_end - r.http_protocol_start, "HTTP/1.1");
    HM_CHECK_UINT(r.http_version, 1001);
    HM_CHECK_UINT(r.http_major, 1);
    HM_CHECK_UINT(r.http_minor, 1);
    HM_CHECK(r.args_start == NULL && r.host_start == NULL);
    HM_CHECK(r.complex_uri == 0 && r.empty_path_in_uri == 0);
    HM_CHECK(b.pos == b.last, "consumed the CRLF");
    HM_CHECK_UINT(r.state, 0);

    rc = req(&r, &b, S("POST /a/b.html?x=1&y=2 HTTP/1.0\r\nHost"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_UINT(r.method, HM_HTTP_POST);
    HM_CHECK_STR(r.uri_start, r.uri_end - r.uri_start, "/a/b.html?x=1&y=2");
    HM_CHECK_STR(r.args_start, r.uri_end - r.args_start, "x=1&y=2");
    HM_CHECK_STR(r.uri_ext, r.args_start - 1 - r.uri_ext, "html");
    HM_CHECK_UINT(r.http_version, 1000);
    HM_CHECK_STR(b.pos, b.last - b.pos, "Host");

    /* absolute-form */

    rc = req(&r, &b, S("GET http://Example.com:8080/p/q?z HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.schema_start, r.schema_end - r.schema_start, "http");
    HM_CHECK_STR(r.host_start, r.host_end - r.host_start, "Example.com");
    HM_CHECK_STR(r.port_start, r.port_end - r.port_start, "8080");
    HM_CHECK_STR(r.uri_start, r.uri_end - r.uri_start, "/p/q?z");
    HM_CHECK_STR(r.args_start, r.uri_end - r.args_start, "z");

    rc = req(&r, &b, S("GET https://h.example HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.host_start, r.host_end - r.host_start, "h.example");
    HM_CHECK(r.port_start == NULL);
    HM_CHECK(r.empty_path_in_uri == 1 && r.uri_start == r.uri_end);

    rc = req(&r, &b, S("GET http://h?a=b HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.empty_path_in_uri == 1);
    HM_CHECK_STR(r.args_start, r.uri_end - r.args_start, "a=b");

    rc = req(&r, &b, S("GET http://[::1]:80/x HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.host_start, r.host_end - r.host_start, "[::1]");
    HM_CHECK_STR(r.port_start, r.port_end - r.port_start, "80");
    HM_CHECK_STR(r.uri_start, r.uri_end - r.uri_start, "/x");

    /* asterisk-form, authority-form */

    rc = req(&r, &b, S("OPTIONS * HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_UINT(r.method, HM_HTTP_OPTIONS);
    HM_CHECK_STR(r.uri_start, r.uri_end - r.uri_start, "*");

    rc = req(&r, &b, S("CONNECT example.com:443 HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_UINT(r.method, HM_HTTP_CONNECT);
    HM_CHECK_STR(r.host_start, r.host_end - r.host_start, "example.com");
    HM_CHECK_STR(r.port_start, r.port_end - r.port_start, "443");
    HM_CHECK_STR(r.uri_start, r.uri_end - r.uri_start, "example.com:443");

    rc = req(&r, &b, S("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.host_start, r.host_end - r.host_start, "[2001:db8::1]");

    /* leading empty lines, bare LF, 1.x, fragments, raw UTF-8 */

    rc = req(&r, &b, S("\r\n\n\r\nGET /x HTTP/1.1\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.request_start == buf + 5, "request starts after the CRLFs");
    HM_CHECK_STR(r.request_start, r.request_end - r.request_start,
                 "GET /x HTTP/1.1");

    rc = req(&r, &b, S("GET / HTTP/1.2\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_UINT(r.http_version, 1002);

    rc = req(&r, &b, S("GET /a#frag/../.. HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.uri_start, r.uri_end - r.uri_start, "/a");
    HM_CHECK(r.complex_uri == 0, "the fragment is not looked at");

    rc = req(&r, &b, S("GET /a?b=c#d HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.args_start, r.uri_end - r.args_start, "b=c");

    rc = req(&r, &b, S("GET /caf\xc3\xa9?q=\xff HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);

    rc = req(&r, &b, S("GET /a+b HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.plus_in_uri == 1);

    rc = req(&r, &b, S("GET /a%20b HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.quoted_uri == 1 && r.complex_uri == 1);

    /* incomplete: AGAIN, everything consumed */

    rc = req(&r, &b, S("GET /inco"));
    HM_CHECK_INT(rc, HM_AGAIN);
    HM_CHECK(b.pos == b.last);
    HM_CHECK(r.state != 0);
}


static void
test_methods(void)
{
    hm_buf_t          b;
    hm_int_t          rc;
    hm_uint_t         i;
    hm_http_parse_t   r;
    u_char            line[64], *e;

    static struct {
        char         *name;
        hm_uint_t     method;
    } methods[] = {
        { "GET", HM_HTTP_GET },
        { "HEAD", HM_HTTP_HEAD },
        { "POST", HM_HTTP_POST },
        { "PUT", HM_HTTP_PUT },
        { "DELETE", HM_HTTP_DELETE },
        { "MKCOL", HM_HTTP_MKCOL },
        { "COPY", HM_HTTP_COPY },
        { "MOVE", HM_HTTP_MOVE },
        { "OPTIONS", HM_HTTP_OPTIONS },
        { "PROPFIND", HM_HTTP_PROPFIND },
        { "PROPPATCH", HM_HTTP_PROPPATCH },
        { "LOCK", HM_HTTP_LOCK },
        { "UNLOCK", HM_HTTP_UNLOCK },
        { "PATCH", HM_HTTP_PATCH },
        { "TRACE", HM_HTTP_TRACE },
        { "get", HM_HTTP_UNKNOWN },         /* methods are case-sensitive */
        { "GETS", HM_HTTP_UNKNOWN },
        { "GE", HM_HTTP_UNKNOWN },
        { "M-SEARCH", HM_HTTP_UNKNOWN },
        { "X_Y.Z~!#$%&'*+^`|", HM_HTTP_UNKNOWN },
        { "1", HM_HTTP_UNKNOWN },
        { NULL, 0 }
    };

    for (i = 0; methods[i].name; i++) {
        e = hm_sprintf(line, "%s / HTTP/1.1\r\n", methods[i].name);
        rc = req(&r, &b, line, e - line);
        HM_CHECK(rc == HM_OK, "%s: rc %d", methods[i].name, (int) rc);
        HM_CHECK(r.method == methods[i].method, "%s: method %lx",
                 methods[i].name, (unsigned long) r.method);
    }

    /* not tchar */

    rc = req(&r, &b, S("G(T / HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_HTTP_PARSE_INVALID_METHOD);
    rc = req(&r, &b, S("GET\t/ HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_HTTP_PARSE_INVALID_METHOD);
    rc = req(&r, &b, S(" GET / HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_HTTP_PARSE_INVALID_METHOD);
    rc = req(&r, &b, S("G\xc3\x89T / HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_HTTP_PARSE_INVALID_METHOD);
    rc = req(&r, &b, S("GET\0 / HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_HTTP_PARSE_INVALID_METHOD);
}


static void
test_request_invalid(void)
{
    hm_buf_t          b;
    hm_int_t          rc;
    hm_uint_t         i;
    hm_http_parse_t   r;

    static struct {
        char         *line;
        size_t        len;
        hm_int_t      rc;
    } bad[] = {

#define BAD(s, rc)  { s, sizeof(s) - 1, rc }

        /* bare CR anywhere */
        BAD("\rGET / HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /a\rb HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET / HTTP/1.1\rX\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET / HTTP/1.1\r\r\n", HM_HTTP_PARSE_INVALID_REQUEST),

        /* versions */
        BAD("GET / HTTP/2.0\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET / HTTP/0.9\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET / HTTP/3.0\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET /\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET /index.html\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET / HTTP/1.10\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET / HTTP/1\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET / HTTP/1.\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET / HTTP/11.1\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET / HTTP/x.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET / http/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET / HTTPS/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET / HTTP/1.1 \r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET / HTTP/1.1 x\r\n", HM_HTTP_PARSE_INVALID_REQUEST),

        /* whitespace and control characters in the target */
        BAD("GET  / HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET / /x HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /a b HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /  HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /a\tb HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /a\x01 HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /a\x7f HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /a\0b HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        /* a bare LF ends the line: "GET /a" alone is HTTP/0.9 */
        BAD("GET /a\nb HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET /a?b#c\r\n", HM_HTTP_PARSE_INVALID_VERSION),
        BAD("GET /a?b\x01 HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /a?b\rc HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /a#b\x01 HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /. \x7f HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET /..\x01 HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),

        /* forms */
        BAD("GET * HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("OPTIONS *x HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET example.com:80 HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET a HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET ?a HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("CONNECT / HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("CONNECT example.com HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("CONNECT example.com: HTTP/1.1\r\n",
            HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("CONNECT example.com:443/ HTTP/1.1\r\n",
            HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("CONNECT example.com:65536 HTTP/1.1\r\n",
            HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("CONNECT http://h:1/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("CONNECT * HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),

        /* absolute-form */
        BAD("GET http:/a HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http:///a HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://user@h/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://u:p@h/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://h:/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://h:123456/ HTTP/1.1\r\n",
            HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://h:65536/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://h:8x/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://h\\x/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://[]/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://[::1/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET http://[::1]x/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET 1http://h/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),
        BAD("GET ht\x01tp://h/ HTTP/1.1\r\n", HM_HTTP_PARSE_INVALID_REQUEST),

        { NULL, 0, 0 }
    };

    for (i = 0; bad[i].line; i++) {
        rc = req(&r, &b, (u_char *) bad[i].line, bad[i].len);
        HM_CHECK(rc == bad[i].rc, "\"%s\": rc %d, want %d",
                 bad[i].line, (int) rc, (int) bad[i].rc);
    }
}


/* complex_uri is set exactly when normalization has work to do */

static void
test_complex_flag(void)
{
    hm_buf_t          b;
    hm_int_t          rc;
    hm_uint_t         i;
    hm_http_parse_t   r;
    u_char            line[128], *e;

    static struct {
        char         *uri;
        unsigned      complex;
    } t[] = {
        { "/", 0 },
        { "/a/b", 0 },
        { "/a/b/", 0 },
        { "/a/.b", 0 },
        { "/a/..b", 0 },
        { "/a/b.", 0 },
        { "/a/b..", 0 },
        { "/...", 0 },
        { "/a/?x=//./../", 0 },
        { "//", 1 },
        { "/a//b", 1 },
        { "/a/./b", 1 },
        { "/a/../b", 1 },
        { "/.", 1 },
        { "/..", 1 },
        { "/a/.", 1 },
        { "/a/..", 1 },
        { "/a/.?x", 1 },
        { "/a/..?x", 1 },
        { "/a/.#f", 1 },
        { "/%41", 1 },
        { "/a?%41", 0 },
        { NULL, 0 }
    };

    for (i = 0; t[i].uri; i++) {
        e = hm_sprintf(line, "GET %s HTTP/1.1\r\n", t[i].uri);
        rc = req(&r, &b, line, e - line);
        HM_CHECK(rc == HM_OK, "%s: rc %d", t[i].uri, (int) rc);
        HM_CHECK(r.complex_uri == t[i].complex, "%s: complex_uri %u",
                 t[i].uri, r.complex_uri);
    }
}


static void
test_header_line(void)
{
    hm_buf_t          b;
    hm_int_t          rc;
    hm_uint_t         i;
    hm_http_parse_t   r;
    u_char            lc[64];

    static u_char     long_name[] =
        "X-A-Very-Long-Header-Name-Of-Forty-Chars";

    rc = hdr(&r, &b, S("Host: Example.com\r\nX"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.header_name_start,
                 r.header_name_end - r.header_name_start, "Host");
    HM_CHECK_STR(r.header_start, r.header_end - r.header_start,
                 "Example.com");
    HM_CHECK_UINT(r.header_hash, hm_hash_key_lc((u_char *) "host", 4));
    HM_CHECK_UINT(r.header_hash,
                  hm_hash(hm_hash(hm_hash(hm_hash(0, 'h'), 'o'), 's'), 't'));
    HM_CHECK_UINT(r.lowcase_index, 4);
    HM_CHECK_STR(r.lowcase_header, r.lowcase_index, "host");
    HM_CHECK(r.invalid_header == 0);
    HM_CHECK_STR(b.pos, b.last - b.pos, "X");

    /* a name longer than lowcase_header */

    HM_CHECK_INT(sizeof(long_name) - 1, 40);
    hm_strlow(lc, long_name, 40);

    rc = hdr(&r, &b, S("X-A-Very-Long-Header-Name-Of-Forty-Chars: 1\r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_UINT(r.lowcase_index, HM_HTTP_LC_HEADER_LEN);
    HM_CHECK(hm_memcmp(r.lowcase_header, lc, HM_HTTP_LC_HEADER_LEN) == 0);
    HM_CHECK_UINT(r.header_hash, hm_hash_key(lc, 40));

    /* OWS is trimmed on both sides, inner whitespace stays */

    rc = hdr(&r, &b, S("A: \t v  v \t \r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.header_start, r.header_end - r.header_start, "v  v");

    rc = hdr(&r, &b, S("A:v\r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.header_start, r.header_end - r.header_start, "v");

    rc = hdr(&r, &b, S("A:\r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.header_start != NULL && r.header_start == r.header_end);

    rc = hdr(&r, &b, S("A: \t \r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.header_start != NULL && r.header_start == r.header_end);

    rc = hdr(&r, &b, S("A: a\tb\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.header_start, r.header_end - r.header_start, "a\tb");

    /* obs-text in values */

    rc = hdr(&r, &b, S("A: caf\xc3\xa9 \xff\x80\r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.header_start, r.header_end - r.header_start,
                 "caf\xc3\xa9 \xff\x80");

    rc = hdr(&r, &b, S("A: \"q:u;o,t=e\" (c) <x>\r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);

    /* underscores */

    rc = hdr(&r, &b, S("X_Y: 1\r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.invalid_header == 1);
    rc = hdr(&r, &b, S("_: 1\r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.invalid_header == 1);
    rc = hdr(&r, &b, S("X_Y: 1\r\n"), 1);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.invalid_header == 0);

    /* the end of the header */

    rc = hdr(&r, &b, S("\r\nbody"), 0);
    HM_CHECK_INT(rc, HM_HTTP_PARSE_HEADER_DONE);
    HM_CHECK_STR(b.pos, b.last - b.pos, "body");
    rc = hdr(&r, &b, S("\nbody"), 0);
    HM_CHECK_INT(rc, HM_HTTP_PARSE_HEADER_DONE);
    HM_CHECK_STR(b.pos, b.last - b.pos, "body");

    /* every byte as the second byte of a name: only tchar passes */

    for (i = 0; i < 256; i++) {
        u_char  line[] = "XcY: v\r\n";
        int     tchar;

        if (i == ':') {
            continue;
        }

        line[1] = (u_char) i;
        tchar = (i >= '0' && i <= '9') || (i >= 'a' && i <= 'z')
                || (i >= 'A' && i <= 'Z')
                || (i != 0 && strchr("!#$%&'*+-.^_`|~", (int) i) != NULL);

        rc = hdr(&r, &b, line, sizeof(line) - 1, 1);
        HM_CHECK(rc == (tchar ? HM_OK : HM_HTTP_PARSE_INVALID_HEADER),
                 "byte 0x%02x in a name: rc %d", (unsigned) i, (int) rc);

        /* and as the first byte */

        rc = hdr(&r, &b, line + 1, sizeof(line) - 2, 1);

        if (i == CR || i == LF) {
            continue;
        }

        HM_CHECK(rc == (tchar ? HM_OK : HM_HTTP_PARSE_INVALID_HEADER),
                 "byte 0x%02x first in a name: rc %d", (unsigned) i, (int) rc);
    }

    /* every byte in a value: CTLs but HT are refused, obs-text is not */

    for (i = 0; i < 256; i++) {
        u_char  line[] = "A: xcy\r\n";
        int     ok;

        if (i == CR || i == LF) {
            continue;
        }

        line[4] = (u_char) i;
        ok = (i >= 0x20 && i != 0x7f) || i == '\t';

        rc = hdr(&r, &b, line, sizeof(line) - 1, 0);
        HM_CHECK(rc == (ok ? HM_OK : HM_HTTP_PARSE_INVALID_HEADER),
                 "byte 0x%02x in a value: rc %d", (unsigned) i, (int) rc);
    }
}


static void
test_header_invalid(void)
{
    hm_buf_t          b;
    hm_int_t          rc;
    hm_uint_t         i;
    hm_http_parse_t   r;

    static struct {
        char         *line;
        size_t        len;
    } bad[] = {

#define BADH(s)  { s, sizeof(s) - 1 }

        /* whitespace before the colon (RFC 9112 5.1) */
        BADH("Host : x\r\n"),
        BADH("Host\t: x\r\n"),
        BADH("Content-Length : 5\r\n"),
        BADH("Transfer-Encoding\t: chunked\r\n"),

        /* obs-fold, or whitespace after the start line */
        BADH(" folded\r\n"),
        BADH("\tfolded\r\n"),
        BADH(" \r\n"),

        /* bare CR */
        BADH("A: b\rc\r\n"),
        BADH("A: b\r\r\n"),
        BADH("A: b \rc\r\n"),
        BADH("A\r: b\r\n"),
        BADH("A:\r b\r\n"),
        BADH("\rX"),
        BADH("\r\r\n"),

        /* NUL */
        BADH("A: b\0c\r\n"),
        BADH("A\0B: c\r\n"),
        BADH("\0: c\r\n"),
        BADH("A: \0\r\n"),

        /* the name */
        BADH(": v\r\n"),
        BADH("A(b: c\r\n"),
        BADH("A/b: c\r\n"),
        BADH("A\xc3\xa9: c\r\n"),
        BADH("\x80: c\r\n"),
        BADH("Abc\r\n"),
        BADH("Abc\n"),
        BADH("A b: c\r\n"),
        BADH("\"A\": c\r\n"),

        /* control characters in the value */
        BADH("A: b\x01\r\n"),
        BADH("A: \x7f\r\n"),
        BADH("A: b\x1b[0m\r\n"),
        BADH("A: b \x0b\r\n"),
        BADH("A: b\nc\r\n\r\n"),

        { NULL, 0 }
    };

    for (i = 0; bad[i].line; i++) {
        rc = hdr(&r, &b, (u_char *) bad[i].line, bad[i].len, 0);

        if (i == sizeof(bad) / sizeof(bad[0]) - 2) {
            /* "A: b\nc": a bare-LF line, then "c" has no colon */
            HM_CHECK_INT(rc, HM_OK);
            rc = hm_http_parse_header_line(&r, &b, 0);
        }

        HM_CHECK(rc == HM_HTTP_PARSE_INVALID_HEADER, "%u \"%s\": rc %d",
                 (unsigned) i, bad[i].line, (int) rc);
    }

    /* obs-fold after a good line */

    rc = hdr(&r, &b, S("A: b\r\n c\r\n"), 0);
    HM_CHECK_INT(rc, HM_OK);
    rc = hm_http_parse_header_line(&r, &b, 0);
    HM_CHECK_INT(rc, HM_HTTP_PARSE_INVALID_HEADER);
}


/* a chunked body fed in steps: the data, then the final rc and position */

static hm_int_t
chunked(u_char *data, size_t len, size_t step, u_char *out, size_t *outlen,
    size_t *rest)
{
    u_char             *end;
    size_t              n;
    hm_int_t            rc;
    hm_buf_t            b;
    hm_http_chunked_t   ctx;

    hm_memzero(&ctx, sizeof(hm_http_chunked_t));
    buf_set(&b, data, len, step ? step : len);
    end = buf + len;
    *outlen = 0;

    for ( ;; ) {
        rc = hm_http_parse_chunked(&ctx, &b);

        if (b.pos < buf || b.pos > b.last) {
            return -100;
        }

        if (rc == HM_OK) {
            if (ctx.size <= 0) {
                return -101;
            }

            n = hm_min((size_t) ctx.size, (size_t) (b.last - b.pos));
            hm_memcpy(out + *outlen, b.pos, n);
            *outlen += n;
            ctx.size -= n;
            b.pos += n;
            continue;
        }

        if (rc == HM_AGAIN && b.last < end) {
            b.last += step ? hm_min(step, (size_t) (end - b.last))
                           : (size_t) (end - b.last);
            continue;
        }

        *rest = end - b.pos;
        return rc;
    }
}


static void
test_chunked(void)
{
    size_t     len, rest, step, i;
    hm_int_t   rc;
    u_char     out[BUFSZ], in[BUFSZ], *p;

    static size_t  steps[] = { 0, 1, 2, 3, 5, 7, 64 };

    static struct {
        char         *body;
        size_t        len;
        hm_int_t      rc;
        char         *data;
        size_t        rest;
    } t[] = {

#define CH(s, rc, d, rest)  { s, sizeof(s) - 1, rc, d, rest }

        CH("5\r\nhello\r\n0\r\n\r\n", HM_DONE, "hello", 0),
        CH("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET",
           HM_DONE, "hello world", 3),
        CH("0\r\n\r\n", HM_DONE, "", 0),
        CH("000\r\n\r\n", HM_DONE, "", 0),
        CH("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n",
           HM_DONE, "0123456789abcdefghij", 0),
        CH("0005\r\nhello\r\n0\r\n\r\n", HM_DONE, "hello", 0),

        /* extensions, with BWS before ";" */
        CH("5;name=val;q=\"x y;z\"\r\nhello\r\n3 ; ext\r\nabc\r\n"
           "0;last\r\n\r\n", HM_DONE, "helloabc", 0),
        CH("1\t;a=\"\xff\"\r\nx\r\n0\r\n\r\n", HM_DONE, "x", 0),

        /* trailers */
        CH("3\r\nabc\r\n0\r\nX-Sum: abc\r\nY:\r\nZ: a\tb \xc3\xa9\r\n\r\nN",
           HM_DONE, "abc", 1),

        /* incomplete */
        CH("5\r\nhel", HM_AGAIN, "hel", 0),
        CH("5\r\nhello\r\n0\r\n", HM_AGAIN, "hello", 0),
        CH("5\r\nhello\r\n0\r\nA: b\r\n", HM_AGAIN, "hello", 0),

        /* bad hex */
        CH("g\r\n", HM_ERROR, "", 0),
        CH("\r\n", HM_ERROR, "", 0),
        CH("-5\r\n", HM_ERROR, "", 0),
        CH("+5\r\n", HM_ERROR, "", 0),
        CH("0x5\r\nhello\r\n", HM_ERROR, "", 0),
        CH(" 5\r\n", HM_ERROR, "", 0),
        CH("5g\r\n", HM_ERROR, "", 0),
        CH("5 \r\nhello\r\n", HM_ERROR, "", 0),
        CH("5 x\r\n", HM_ERROR, "", 0),

        /* sizes: 2^60 is the largest */
        CH("1000000000000000\r\n", HM_AGAIN, "", 0),
        CH("1000000000000001\r\n", HM_ERROR, "", 0),
        CH("10000000000000000\r\n", HM_ERROR, "", 0),
        CH("FFFFFFFFFFFFFFFFFFFF\r\n", HM_ERROR, "", 0),
        CH("7fffffffffffffff\r\n", HM_ERROR, "", 0),

        /* missing CRLF after data, bare LF anywhere */
        CH("5\r\nhelloXX0\r\n\r\n", HM_ERROR, "hello", 0),
        CH("5\r\nhello\n0\r\n\r\n", HM_ERROR, "hello", 0),
        CH("5\r\nhello\rX", HM_ERROR, "hello", 0),
        CH("5\r\nhello\r\r\n", HM_ERROR, "hello", 0),
        CH("5\nhello\r\n0\r\n\r\n", HM_ERROR, "", 0),
        CH("5\rhello\r\n", HM_ERROR, "", 0),
        CH("0\n\r\n", HM_ERROR, "", 0),
        CH("0\r\n\n", HM_ERROR, "", 0),
        CH("0\r\n\r\r\n", HM_ERROR, "", 0),

        /* extensions: no CTL */
        CH("5;a\x01\r\nhello", HM_ERROR, "", 0),
        CH("5;a\nhello", HM_ERROR, "", 0),
        CH("5;a\0\r\nhello", HM_ERROR, "", 0),

        /* trailers are checked like header lines */
        CH("0\r\nA: b\r\n c\r\n\r\n", HM_ERROR, "", 0),
        CH("0\r\n c\r\n\r\n", HM_ERROR, "", 0),
        CH("0\r\nA : b\r\n\r\n", HM_ERROR, "", 0),
        CH("0\r\nA: b\rc\r\n\r\n", HM_ERROR, "", 0),
        CH("0\r\nA: b\nC: d\r\n\r\n", HM_ERROR, "", 0),
        CH("0\r\nA: \0\r\n\r\n", HM_ERROR, "", 0),
        CH("0\r\nA\r\n\r\n", HM_ERROR, "", 0),
        CH("0\r\n: b\r\n\r\n", HM_ERROR, "", 0),
        CH("0\r\nA(: b\r\n\r\n", HM_ERROR, "", 0),

        { NULL, 0, 0, NULL, 0 }
    };

    for (i = 0; t[i].body; i++) {
        for (step = 0; step < sizeof(steps) / sizeof(steps[0]); step++) {
            rc = chunked((u_char *) t[i].body, t[i].len, steps[step],
                         out, &len, &rest);

            HM_CHECK(rc == t[i].rc, "chunked %u step %u: rc %d, want %d",
                     (unsigned) i, (unsigned) steps[step], (int) rc,
                     (int) t[i].rc);
            HM_CHECK(len == strlen(t[i].data)
                     && hm_memcmp(out, t[i].data, len) == 0,
                     "chunked %u step %u: data \"%.*s\"", (unsigned) i,
                     (unsigned) steps[step], (int) len, out);

            if (rc == HM_DONE) {
                HM_CHECK(rest == t[i].rest,
                         "chunked %u step %u: %u bytes left, want %u",
                         (unsigned) i, (unsigned) steps[step],
                         (unsigned) rest, (unsigned) t[i].rest);
            }
        }
    }

    /* a chunk-size line of 4096 bytes passes, 4097 does not */

    for (len = 4095; len <= 4097; len++) {
        p = in;
        *p++ = '5';
        *p++ = ';';
        hm_memset(p, 'e', len - 4);
        p += len - 4;
        p = hm_cpymem(p, "\r\nhello\r\n0\r\n\r\n", 14);

        for (step = 0; step < 2; step++) {
            rc = chunked(in, p - in, step, out, &i, &rest);
            HM_CHECK(rc == (len <= 4096 ? HM_DONE : HM_ERROR),
                     "size line of %u: rc %d", (unsigned) len, (int) rc);
        }

        /* the same with leading zeros */

        p = in;
        hm_memset(p, '0', len - 3);
        p += len - 3;
        p = hm_cpymem(p, "5\r\nhello\r\n0\r\n\r\n", 15);

        rc = chunked(in, p - in, 1, out, &i, &rest);
        HM_CHECK(rc == (len <= 4096 ? HM_DONE : HM_ERROR),
                 "zeros line of %u: rc %d", (unsigned) len, (int) rc);
    }

    /* the trailer section is bounded */

    p = hm_cpymem(in, "0\r\n", 3);
    for (i = 0; i < 2000; i++) {
        p = hm_cpymem(p, "Trailer: 12345\r\n", 16);
    }
    p = hm_cpymem(p, "\r\n", 2);

    rc = chunked(in, p - in, 0, out, &len, &rest);
    HM_CHECK_INT(rc, HM_ERROR);

    rc = chunked(in, 3 + 16 * 100, 0, out, &len, &rest);
    HM_CHECK_INT(rc, HM_AGAIN);

    /* the length hint */

    {
        hm_buf_t           b;
        hm_http_chunked_t  ctx;

        hm_memzero(&ctx, sizeof(hm_http_chunked_t));
        buf_set(&b, S("10\r\n0123"), BUFSZ);

        rc = hm_http_parse_chunked(&ctx, &b);
        HM_CHECK_INT(rc, HM_OK);
        HM_CHECK_INT(ctx.size, 16);
        HM_CHECK(ctx.length >= 16 + 2 + 5, "length %ld", (long) ctx.length);
        HM_CHECK_STR(b.pos, b.last - b.pos, "0123");
    }
}


static void
test_status_line(void)
{
    hm_buf_t           b;
    hm_int_t           rc;
    hm_uint_t          i, step;
    hm_http_parse_t    r;
    hm_http_status_t   st;

    static struct {
        char         *line;
        size_t        len;
        hm_int_t      rc;
        hm_uint_t     code;
        hm_uint_t     version;
    } t[] = {

#define ST(s, rc, code, v)  { s, sizeof(s) - 1, rc, code, v }

        ST("HTTP/1.1 200 OK\r\n", HM_OK, 200, 1001),
        ST("HTTP/1.0 404\r\n", HM_OK, 404, 1000),
        ST("HTTP/1.1 204 \r\n", HM_OK, 204, 1001),
        ST("HTTP/1.1 502 Bad\tGateway \xc3\xa9\n", HM_OK, 502, 1001),
        ST("HTTP/1.1 999 x\r\n", HM_OK, 999, 1001),
        ST("HTTP/1.1 100 Continue\r\n", HM_OK, 100, 1001),
        ST("HTTP/1.1 200 OK", HM_AGAIN, 200, 1001),

        ST("HTTP/2 200 OK\r\n", HM_HTTP_PARSE_INVALID_VERSION, 0, 0),
        ST("HTTP/2.0 200 OK\r\n", HM_HTTP_PARSE_INVALID_VERSION, 0, 0),
        ST("HTTP/0.9 200 OK\r\n", HM_HTTP_PARSE_INVALID_VERSION, 0, 0),
        ST("HTTP/1.10 200 OK\r\n", HM_HTTP_PARSE_INVALID_VERSION, 0, 0),
        ST("HTTP/1.1 20 OK\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("HTTP/1.1 2000 OK\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("HTTP/1.1 099 x\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("HTTP/1.1  200 OK\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("HTTP/1.1 200 O\rK\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("HTTP/1.1 200 O\0K\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("HTTP/1.1 200 O\x7fK\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("HTTP/1.1 200\rX", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("http/1.1 200 OK\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("ICY 200 OK\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),
        ST("\r\nHTTP/1.1 200 OK\r\n", HM_HTTP_PARSE_INVALID_REQUEST, 0, 0),

        { NULL, 0, 0, 0, 0 }
    };

    for (i = 0; t[i].line; i++) {
        for (step = 0; step < 2; step++) {
            hm_memzero(&r, sizeof(hm_http_parse_t));
            hm_memzero(&st, sizeof(hm_http_status_t));
            buf_set(&b, (u_char *) t[i].line, t[i].len, step ? 1 : BUFSZ);

            for ( ;; ) {
                rc = hm_http_parse_status_line(&r, &b, &st);

                if (rc != HM_AGAIN || b.last == buf + t[i].len) {
                    break;
                }

                b.last++;
            }

            HM_CHECK(rc == t[i].rc, "\"%s\" step %u: rc %d, want %d",
                     t[i].line, (unsigned) step, (int) rc, (int) t[i].rc);

            if (rc != HM_OK) {
                continue;
            }

            HM_CHECK_UINT(st.code, t[i].code);
            HM_CHECK_UINT(st.count, 3);
            HM_CHECK_UINT(st.http_version, t[i].version);
            HM_CHECK_UINT(r.http_version, t[i].version);
            HM_CHECK(st.start == buf && st.end != NULL
                     && (*st.end == CR || *st.end == LF));
            HM_CHECK(b.pos == buf + t[i].len);
        }
    }
}


static void
test_complex_uri(void)
{
    size_t            len, n;
    hm_int_t          rc;
    hm_uint_t         i;
    hm_buf_t          b;
    hm_http_parse_t   r;
    u_char            line[256], *e, *dst;

    static struct {
        char         *uri;
        hm_uint_t     merge;
        char         *want;       /* NULL: an error */
    } t[] = {
        { "/a/./b", 1, "/a/b" },
        { "/a/../b", 1, "/b" },
        { "/../x", 1, NULL },
        { "/%41", 1, "/A" },
        { "/%00", 1, NULL },
        { "/a%00b", 1, NULL },
        { "//a//b", 1, "/a/b" },
        { "//a//b", 0, "//a//b" },
        { "/a/b/..", 1, "/a/" },
        { "/a/b/../", 1, "/a/" },
        { "/a/.", 1, "/a/" },
        { "/.", 1, "/" },
        { "/..", 1, NULL },
        { "/a/b/../../..", 1, NULL },
        { "/a/b/../../", 1, "/" },
        { "/a/%2e%2e/b", 1, "/b" },
        { "/a/%2E/b", 1, "/a/b" },
        { "/%2e%2e/", 1, NULL },
        { "/a%2Fb", 1, "/a/b" },
        { "/a%2F..%2Fb", 1, "/b" },
        { "/a%2f%2fb", 1, "/a/b" },
        { "/%25%34%31", 1, "/%41" },
        { "/%zz", 1, NULL },
        { "/%4", 1, NULL },
        { "/a%", 1, NULL },
        { "/a/...", 1, "/a/..." },
        { "/a/..b/.c", 1, "/a/..b/.c" },
        { "/a//../b", 0, "/a/b" },
        { "/a//../b", 1, "/b" },
        { "/a/./../b", 1, "/b" },
        { "/./././", 1, "/" },
        { "/a?x=/../../", 1, "/a" },
        { "/a/..?x=1", 1, "/" },
        { "/a/b#/../..", 1, "/a/b" },
        { "/caf%C3%A9", 1, "/caf\xc3\xa9" },
        { "/a%3Fb%23c", 1, "/a?b#c" },
        { "http://h/a/../b", 1, "/b" },
        { "http://h:80//x/./y", 1, "/x/y" },
        { NULL, 0, NULL }
    };

    for (i = 0; t[i].uri; i++) {
        e = hm_sprintf(line, "GET %s HTTP/1.1\r\n", t[i].uri);
        rc = req(&r, &b, line, e - line);
        HM_CHECK(rc == HM_OK, "%s: rc %d", t[i].uri, (int) rc);

        if (rc != HM_OK) {
            continue;
        }

        /* exactly uri_end - uri_start bytes, and a guard after them */

        n = r.uri_end - r.uri_start;
        dst = malloc(n + 1);
        if (dst == NULL) {
            abort();
        }

        dst[n] = 0xA5;
        len = (size_t) -1;

        rc = hm_http_parse_complex_uri(&r, dst, &len, t[i].merge);

        if (t[i].want == NULL) {
            HM_CHECK(rc == HM_HTTP_PARSE_INVALID_REQUEST, "%s: rc %d",
                     t[i].uri, (int) rc);

        } else {
            HM_CHECK(rc == HM_OK, "%s: rc %d", t[i].uri, (int) rc);

            if (rc == HM_OK) {
                HM_CHECK(len <= n, "%s: len %u", t[i].uri, (unsigned) len);
                HM_CHECK(len == strlen(t[i].want)
                         && hm_memcmp(dst, t[i].want, len) == 0,
                         "%s -> \"%.*s\", want \"%s\"", t[i].uri,
                         (int) len, dst, t[i].want);
            }
        }

        HM_CHECK(dst[n] == 0xA5, "%s: wrote past the end", t[i].uri);

        free(dst);
    }

    /* an empty path (absolute-form without one) is returned as empty */

    rc = req(&r, &b, S("GET http://h?a HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    len = 99;
    rc = hm_http_parse_complex_uri(&r, line, &len, 1);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_UINT(len, 0);

    /* "*" and authority-form are not paths */

    rc = req(&r, &b, S("OPTIONS * HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    rc = hm_http_parse_complex_uri(&r, line, &len, 1);
    HM_CHECK_INT(rc, HM_HTTP_PARSE_INVALID_REQUEST);
}


static void
arg_is(char *args, char *name, char *want)
{
    hm_str_t  a, value;
    hm_int_t  rc;

    a.data = (u_char *) args;
    a.len = strlen(args);
    value.len = 0;
    value.data = NULL;

    rc = hm_http_arg(&a, (u_char *) name, strlen(name), &value);

    if (want == NULL) {
        HM_CHECK(rc == HM_DECLINED, "\"%s\" %s: rc %d", args, name, (int) rc);
        return;
    }

    HM_CHECK(rc == HM_OK, "\"%s\" %s: rc %d", args, name, (int) rc);
    HM_CHECK_HMSTR(&value, want);
}


static void
test_arg(void)
{
    char  *args = "a=1&bb=2&c=&d&Ee=5&a=6";

    arg_is(args, "a", "1");
    arg_is(args, "A", "1");
    arg_is(args, "bb", "2");
    arg_is(args, "b", NULL);
    arg_is(args, "bbb", NULL);
    arg_is(args, "c", "");
    arg_is(args, "d", NULL);
    arg_is(args, "ee", "5");
    arg_is(args, "x", NULL);
    arg_is(args, "=", NULL);
    arg_is(args, "", NULL);

    arg_is("", "a", NULL);
    arg_is("&&a=&", "a", "");
    arg_is("xa=1&a=2", "a", "2");
    arg_is("a", "a", NULL);
    arg_is("a=1&", "a", "1");
    arg_is("b=a=1", "a", NULL);
}


/* feeding whole, byte by byte and in pieces must be indistinguishable */

static void
test_feeding(void)
{
    size_t     i, s, len;
    char      *whole, *piece;

    static size_t  steps[] = { 1, 2, 3, 4, 7, 13 };

    static struct {
        char         *msg;
        size_t        len;
    } corpus[] = {

#define MSG(s)  { s, sizeof(s) - 1 }

        MSG("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        MSG("\r\n\r\nGET /a/b.c?x=1&y=2#f HTTP/1.0\r\n"
            "Host:   example.com  \r\nUser-Agent: t/1\r\nX_Y: z\r\n\r\n"),
        MSG("POST http://Example.com:8080/p/./q/../r/%41? HTTP/1.1\r\n"
            "Transfer-Encoding: chunked\r\n"
            "X-A-Very-Long-Header-Name-Of-More-Than-32: v\tv\r\n\r\n"
            "5;ext=\"a b\"\r\nhello\r\n1 ;x\r\n!\r\n0\r\nT: 1\r\n\r\n"),
        MSG("OPTIONS * HTTP/1.1\nHost: x\n\n"),
        MSG("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"),
        MSG("M-SEARCH //a//b/.. HTTP/1.2\r\nA:\r\nB: \r\n\r\n"),
        MSG("GET http://h HTTP/1.1\r\n\r\n"),
        MSG("GET http://[::1]?q HTTP/1.1\r\n\r\n"),
        MSG("GET /caf\xc3\xa9 HTTP/1.1\r\nV: \xff\xfe\r\n\r\n"),
        MSG("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            "A\r\n0123456789\r\n0\r\n\r\nGET"),

        /* rejected ones stop at the same byte however they arrive */
        MSG("GET / HTTP/2.0\r\n\r\n"),
        MSG("GET /\r\n"),
        MSG("GET /a\rb HTTP/1.1\r\n"),
        MSG("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        MSG("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"),
        MSG("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"),
        MSG("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n"),
        MSG("POST / HTTP/1.1\r\nT: c\r\n\r\n5\r\nhelloXX"),
        MSG("POST / HTTP/1.1\r\nT: c\r\n\r\n1000000000000001\r\n"),
        MSG("POST / HTTP/1.1\r\nT: c\r\n\r\n5\r\nhello\r\n0\r\nA : b\r\n\r\n"),
        MSG("GET http://u@h/ HTTP/1.1\r\n\r\n"),
        MSG("GET / HTTP/1.1\r\nHost: a\r\n"),

        { NULL, 0 }
    };

    whole = malloc(BUFSZ);
    piece = malloc(BUFSZ);

    if (whole == NULL || piece == NULL) {
        abort();
    }

    for (i = 0; corpus[i].msg; i++) {
        len = corpus[i].len;

        trace_message((u_char *) corpus[i].msg, len, 0, whole, BUFSZ);

        for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            trace_message((u_char *) corpus[i].msg, len, steps[s], piece,
                          BUFSZ);

            HM_CHECK(strcmp(whole, piece) == 0,
                     "message %u, step %u:\n  whole %s\n  piece %s",
                     (unsigned) i, (unsigned) steps[s], whole, piece);
        }
    }

    /* a few spot checks that the traces say what they should */

    trace_message(S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0, whole, BUFSZ);
    HM_CHECK(strstr(whole, "[H 1 ") != NULL, "%s", whole);

    trace_message(S("PUT /x HTTP/1.1\r\nT: c\r\n\r\nA\r\n0123456789\r\n0\r\n"
                    "\r\nGET"), 1, whole, BUFSZ);
    HM_CHECK(strstr(whole, "0123456789[B -4 ") != NULL, "%s", whole);

    free(whole);
    free(piece);
}


/* one context for two requests on a keep-alive connection */

static void
test_reuse(void)
{
    hm_buf_t          b;
    hm_int_t          rc;
    hm_http_parse_t   r;

    rc = req(&r, &b, S("GET http://h:1/a?x HTTP/1.0\r\nA: b\r\n\r\n"
                       "GET /b HTTP/1.1\r\n"));
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK(r.args_start != NULL && r.host_start != NULL);

    rc = hm_http_parse_header_line(&r, &b, 0);
    HM_CHECK_INT(rc, HM_OK);
    rc = hm_http_parse_header_line(&r, &b, 0);
    HM_CHECK_INT(rc, HM_HTTP_PARSE_HEADER_DONE);

    rc = hm_http_parse_request_line(&r, &b);
    HM_CHECK_INT(rc, HM_OK);
    HM_CHECK_STR(r.uri_start, r.uri_end - r.uri_start, "/b");
    HM_CHECK(r.args_start == NULL && r.host_start == NULL
             && r.schema_start == NULL && r.port_start == NULL);
    HM_CHECK_UINT(r.http_version, 1001);
}


int
main(void)
{
    hm_unit_init("test_http_parse");

    test_request_line();
    test_methods();
    test_request_invalid();
    test_complex_flag();
    test_header_line();
    test_header_invalid();
    test_chunked();
    test_status_line();
    test_complex_uri();
    test_arg();
    test_feeding();
    test_reuse();

    return hm_unit_done();
}
