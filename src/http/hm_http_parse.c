/*
 * Copyright (C) hermod authors
 *
 * The HTTP/1.x parsers.  Every parser is a switch over a state kept in its
 * context and looks at one byte at a time, so that a message may be cut
 * at any byte boundary: the bytes already seen stay in the buffer (the
 * caller keeps them alive), only the state and the saved pointers carry
 * over from one call to the next.
 *
 * Where RFC 9112 leaves a choice, the choice is the strict one: anything
 * two implementations could read differently (a bare CR, whitespace
 * before a colon, a folded line, a NUL, a lax chunk size) is an error.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http_parse.h>


/* a chunk-size line (size, extensions, CRLF) longer than this is an error */
#define HM_HTTP_CHUNK_LINE_MAX      4096

/* the trailer section after the last chunk, all lines together */
#define HM_HTTP_CHUNK_TRAILER_MAX   16384

/* the largest chunk size accepted, 2^60 */
#define HM_HTTP_CHUNK_SIZE_MAX      ((off_t) 1 << 60)

/*
 * hm_http_chunked_t has only the state word to carry the length of the
 * current line between calls, so it keeps the state in the low byte and a
 * byte count above it.
 */
#define hm_http_chunk_state(s)      ((s) & 0xff)
#define hm_http_chunk_count(s)      ((s) >> 8)
#define hm_http_chunk_pack(st, n)   ((hm_uint_t) (st) | ((hm_uint_t) (n) << 8))


/* RFC 9110 5.6.2 tchar, one bit per byte value */

static uint32_t  hm_http_tchar[] = {
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */

                /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
    0x03ff6cfa, /* 0000 0011 1111 1111  0110 1100 1111 1010 */

                /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@ */
    0xc7fffffe, /* 1100 0111 1111 1111  1111 1111 1111 1110 */

                /*  ~}| {zyx wvut srqp  onml kjih gfed cba` */
    0x57ffffff, /* 0101 0111 1111 1111  1111 1111 1111 1111 */

    0x00000000,
    0x00000000,
    0x00000000,
    0x00000000
};

#define hm_http_is_tchar(c)  (hm_http_tchar[(c) >> 5] & (1U << ((c) & 0x1f)))


typedef struct {
    hm_str_t     name;
    hm_uint_t    method;
} hm_http_method_name_t;


static hm_http_method_name_t  hm_http_methods[] = {
    { hm_string("GET"),        HM_HTTP_GET },
    { hm_string("HEAD"),       HM_HTTP_HEAD },
    { hm_string("POST"),       HM_HTTP_POST },
    { hm_string("PUT"),        HM_HTTP_PUT },
    { hm_string("DELETE"),     HM_HTTP_DELETE },
    { hm_string("OPTIONS"),    HM_HTTP_OPTIONS },
    { hm_string("PATCH"),      HM_HTTP_PATCH },
    { hm_string("CONNECT"),    HM_HTTP_CONNECT },
    { hm_string("TRACE"),      HM_HTTP_TRACE },
    { hm_string("MKCOL"),      HM_HTTP_MKCOL },
    { hm_string("COPY"),       HM_HTTP_COPY },
    { hm_string("MOVE"),       HM_HTTP_MOVE },
    { hm_string("PROPFIND"),   HM_HTTP_PROPFIND },
    { hm_string("PROPPATCH"),  HM_HTTP_PROPPATCH },
    { hm_string("LOCK"),       HM_HTTP_LOCK },
    { hm_string("UNLOCK"),     HM_HTTP_UNLOCK },
    { hm_null_string,          0 }
};


static hm_uint_t hm_http_parse_method(u_char *start, u_char *end);
static hm_int_t hm_http_parse_port(u_char *start, u_char *end);
static hm_int_t hm_http_uri_segment(u_char *dst, u_char *seg, u_char **u);
static hm_int_t hm_http_hex(u_char c);


/* methods are case-sensitive (RFC 9110 9.1): "get" is an unknown method */

static hm_uint_t
hm_http_parse_method(u_char *start, u_char *end)
{
    size_t                  len;
    hm_http_method_name_t  *m;

    len = end - start;

    for (m = hm_http_methods; m->name.len; m++) {
        if (m->name.len == len && hm_memcmp(m->name.data, start, len) == 0) {
            return m->method;
        }
    }

    return HM_HTTP_UNKNOWN;
}


/* 1 to 5 digits, at most 65535; the bytes are digits already */

static hm_int_t
hm_http_parse_port(u_char *start, u_char *end)
{
    hm_int_t  port;

    if (end - start < 1 || end - start > 5) {
        return HM_ERROR;
    }

    port = 0;

    while (start < end) {
        port = port * 10 + (*start++ - '0');
    }

    return (port > 65535) ? HM_ERROR : HM_OK;
}


hm_int_t
hm_http_parse_request_line(hm_http_parse_t *r, hm_buf_t *b)
{
    u_char  c, ch, *p;
    enum {
        sw_start = 0,
        sw_start_cr,
        sw_method,
        sw_target,
        sw_asterisk,
        sw_schema,
        sw_schema_slash,
        sw_schema_slash_slash,
        sw_host_start,
        sw_host,
        sw_host_ip_literal,
        sw_host_end,
        sw_port,
        sw_after_slash_in_uri,
        sw_dot_in_uri,
        sw_dot_dot_in_uri,
        sw_uri,
        sw_args,
        sw_fragment,
        sw_09_almost_done,
        sw_http_H,
        sw_http_HT,
        sw_http_HTT,
        sw_http_HTTP,
        sw_http_slash,
        sw_major_digit,
        sw_dot_after_major,
        sw_minor_digit,
        sw_after_version,
        sw_almost_done
    } state;

    state = r->state;

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        /* RFC 9112 2.2: empty lines before the request line are skipped */
        case sw_start:

            if (ch == CR) {
                state = sw_start_cr;
                break;
            }

            if (ch == LF) {
                break;
            }

            if (!hm_http_is_tchar(ch)) {
                return HM_HTTP_PARSE_INVALID_METHOD;
            }

            r->request_start = p;
            r->request_end = NULL;
            r->method_start = p;
            r->method_end = NULL;
            r->schema_start = NULL;
            r->schema_end = NULL;
            r->host_start = NULL;
            r->host_end = NULL;
            r->port_start = NULL;
            r->port_end = NULL;
            r->uri_start = NULL;
            r->uri_end = NULL;
            r->uri_ext = NULL;
            r->args_start = NULL;
            r->http_protocol_start = NULL;
            r->method = HM_HTTP_UNKNOWN;
            r->http_version = 0;
            r->http_major = 0;
            r->http_minor = 0;
            r->complex_uri = 0;
            r->quoted_uri = 0;
            r->plus_in_uri = 0;
            r->empty_path_in_uri = 0;

            state = sw_method;
            break;

        case sw_start_cr:
            if (ch != LF) {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_start;
            break;

        case sw_method:
            if (ch == ' ') {
                r->method_end = p;
                r->method = hm_http_parse_method(r->method_start, p);
                state = sw_target;
                break;
            }

            if (!hm_http_is_tchar(ch)) {
                return HM_HTTP_PARSE_INVALID_METHOD;
            }

            break;

        /* exactly one SP, then one of the four forms of RFC 9112 3.2 */
        case sw_target:

            if (r->method == HM_HTTP_CONNECT) {

                /* authority-form, and only it */

                if (ch == '[') {
                    r->host_start = p;
                    r->uri_start = p;
                    state = sw_host_ip_literal;
                    break;
                }

                c = (u_char) (ch | 0x20);
                if ((c >= 'a' && c <= 'z') || (ch >= '0' && ch <= '9')) {
                    r->host_start = p;
                    r->uri_start = p;
                    state = sw_host;
                    break;
                }

                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            if (ch == '/') {
                r->uri_start = p;
                state = sw_after_slash_in_uri;
                break;
            }

            if (ch == '*') {
                if (r->method != HM_HTTP_OPTIONS) {
                    return HM_HTTP_PARSE_INVALID_REQUEST;
                }

                r->uri_start = p;
                state = sw_asterisk;
                break;
            }

            c = (u_char) (ch | 0x20);
            if (c >= 'a' && c <= 'z') {
                r->schema_start = p;
                state = sw_schema;
                break;
            }

            return HM_HTTP_PARSE_INVALID_REQUEST;

        case sw_asterisk:
            if (ch != ' ') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            r->uri_end = p;
            state = sw_http_H;
            break;

        /* absolute-form: scheme "://" host [ ":" port ] [ path ] */
        case sw_schema:

            c = (u_char) (ch | 0x20);
            if ((c >= 'a' && c <= 'z') || (ch >= '0' && ch <= '9')
                || ch == '+' || ch == '-' || ch == '.')
            {
                break;
            }

            if (ch != ':') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            r->schema_end = p;
            state = sw_schema_slash;
            break;

        case sw_schema_slash:
            if (ch != '/') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_schema_slash_slash;
            break;

        case sw_schema_slash_slash:
            if (ch != '/') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_host_start;
            break;

        case sw_host_start:
            r->host_start = p;

            if (ch == '[') {
                state = sw_host_ip_literal;
                break;
            }

            c = (u_char) (ch | 0x20);
            if ((c >= 'a' && c <= 'z') || (ch >= '0' && ch <= '9')) {
                state = sw_host;
                break;
            }

            /* an empty host, or userinfo, or garbage */
            return HM_HTTP_PARSE_INVALID_REQUEST;

        case sw_host:

            c = (u_char) (ch | 0x20);
            if ((c >= 'a' && c <= 'z') || (ch >= '0' && ch <= '9')
                || ch == '.' || ch == '-' || ch == '_' || ch == '~')
            {
                break;
            }

            r->host_end = p;
            state = sw_host_end;

            /* fall through */

        case sw_host_end:

            if (r->method == HM_HTTP_CONNECT) {
                if (ch != ':') {
                    return HM_HTTP_PARSE_INVALID_REQUEST;
                }

                r->port_start = p + 1;
                state = sw_port;
                break;
            }

            switch (ch) {
            case ':':
                r->port_start = p + 1;
                state = sw_port;
                break;

            case '/':
                r->uri_start = p;
                state = sw_after_slash_in_uri;
                break;

            case '?':
                r->uri_start = p;
                r->args_start = p + 1;
                r->empty_path_in_uri = 1;
                state = sw_args;
                break;

            case '#':
                r->uri_start = p;
                r->uri_end = p;
                r->empty_path_in_uri = 1;
                state = sw_fragment;
                break;

            case ' ':
                r->uri_start = p;
                r->uri_end = p;
                r->empty_path_in_uri = 1;
                state = sw_http_H;
                break;

            default:
                /* "@" (userinfo is not allowed in http URIs) and the rest */
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            break;

        case sw_host_ip_literal:

            c = (u_char) (ch | 0x20);
            if ((c >= 'a' && c <= 'f') || (ch >= '0' && ch <= '9')
                || ch == ':' || ch == '.')
            {
                break;
            }

            if (ch != ']' || p - r->host_start < 3) {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            r->host_end = p + 1;
            state = sw_host_end;
            break;

        case sw_port:
            if (ch >= '0' && ch <= '9') {
                if (p - r->port_start >= 5) {
                    return HM_HTTP_PARSE_INVALID_REQUEST;
                }

                break;
            }

            r->port_end = p;

            if (hm_http_parse_port(r->port_start, p) != HM_OK) {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            if (r->method == HM_HTTP_CONNECT) {
                if (ch != ' ') {
                    return HM_HTTP_PARSE_INVALID_REQUEST;
                }

                r->uri_end = p;
                state = sw_http_H;
                break;
            }

            switch (ch) {
            case '/':
                r->uri_start = p;
                state = sw_after_slash_in_uri;
                break;

            case '?':
                r->uri_start = p;
                r->args_start = p + 1;
                r->empty_path_in_uri = 1;
                state = sw_args;
                break;

            case '#':
                r->uri_start = p;
                r->uri_end = p;
                r->empty_path_in_uri = 1;
                state = sw_fragment;
                break;

            case ' ':
                r->uri_start = p;
                r->uri_end = p;
                r->empty_path_in_uri = 1;
                state = sw_http_H;
                break;

            default:
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            break;

        /*
         * The path.  The three states below only watch for the segments
         * that need hm_http_parse_complex_uri(): "//", "/./", "/../" and a
         * path ending in "/." or "/..".
         */

        case sw_after_slash_in_uri:
        case sw_dot_in_uri:
        case sw_dot_dot_in_uri:

            if (ch == '.' && state != sw_dot_dot_in_uri) {
                r->uri_ext = p + 1;
                state = (state == sw_after_slash_in_uri) ? sw_dot_in_uri
                                                         : sw_dot_dot_in_uri;
                break;
            }

            /* "//", "/./", "/../", or the path ends in "/." or "/.." */

            if (ch == '/'
                || (state != sw_after_slash_in_uri
                    && (ch == '?' || ch == '#' || ch == ' ')))
            {
                r->complex_uri = 1;
            }

            state = sw_uri;

            /* fall through */

        case sw_uri:

            switch (ch) {
            case '/':
                r->uri_ext = NULL;
                state = sw_after_slash_in_uri;
                break;

            case '.':
                r->uri_ext = p + 1;
                break;

            case '%':
                r->quoted_uri = 1;
                r->complex_uri = 1;
                break;

            case '+':
                r->plus_in_uri = 1;
                break;

            case '?':
                r->args_start = p + 1;
                state = sw_args;
                break;

            case '#':
                r->uri_end = p;
                state = sw_fragment;
                break;

            case ' ':
                r->uri_end = p;
                state = sw_http_H;
                break;

            case CR:
                state = sw_09_almost_done;
                break;

            case LF:
                return HM_HTTP_PARSE_INVALID_VERSION;

            default:
                if (ch < 0x21 || ch == 0x7f) {
                    return HM_HTTP_PARSE_INVALID_REQUEST;
                }
            }

            break;

        case sw_args:

            switch (ch) {
            case '#':
                r->uri_end = p;
                state = sw_fragment;
                break;

            case ' ':
                r->uri_end = p;
                state = sw_http_H;
                break;

            case CR:
                state = sw_09_almost_done;
                break;

            case LF:
                return HM_HTTP_PARSE_INVALID_VERSION;

            default:
                if (ch < 0x21 || ch == 0x7f) {
                    return HM_HTTP_PARSE_INVALID_REQUEST;
                }
            }

            break;

        /* a fragment is not sent on the wire (RFC 9112 3.2), it is dropped */
        case sw_fragment:

            switch (ch) {
            case ' ':
                state = sw_http_H;
                break;

            case CR:
                state = sw_09_almost_done;
                break;

            case LF:
                return HM_HTTP_PARSE_INVALID_VERSION;

            default:
                if (ch < 0x21 || ch == 0x7f) {
                    return HM_HTTP_PARSE_INVALID_REQUEST;
                }
            }

            break;

        /* "GET /path" CRLF is HTTP/0.9, refused; any other CR is bare */
        case sw_09_almost_done:
            if (ch == LF) {
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            return HM_HTTP_PARSE_INVALID_REQUEST;

        /* "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3) */
        case sw_http_H:

            if (ch == 'H') {
                r->http_protocol_start = p;
                state = sw_http_HT;
                break;
            }

            if (ch == CR || ch == LF) {
                /* an HTTP/0.9 request */
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            return HM_HTTP_PARSE_INVALID_REQUEST;

        case sw_http_HT:
            if (ch != 'T') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_http_HTT;
            break;

        case sw_http_HTT:
            if (ch != 'T') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_http_HTTP;
            break;

        case sw_http_HTTP:
            if (ch != 'P') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_http_slash;
            break;

        case sw_http_slash:
            if (ch != '/') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_major_digit;
            break;

        case sw_major_digit:
            if (ch < '0' || ch > '9') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            if (ch != '1') {
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            r->http_major = 1;
            state = sw_dot_after_major;
            break;

        case sw_dot_after_major:
            if (ch != '.') {
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            state = sw_minor_digit;
            break;

        case sw_minor_digit:
            if (ch < '0' || ch > '9') {
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            /* HTTP/1.2 and later minors are read as 1.x, as nginx does */

            r->http_minor = ch - '0';
            r->http_version = r->http_major * 1000 + r->http_minor;
            state = sw_after_version;
            break;

        case sw_after_version:

            if (ch == CR) {
                r->request_end = p;
                state = sw_almost_done;
                break;
            }

            if (ch == LF) {
                r->request_end = p;
                goto done;
            }

            if (ch >= '0' && ch <= '9') {
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            return HM_HTTP_PARSE_INVALID_REQUEST;

        case sw_almost_done:
            if (ch != LF) {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            goto done;
        }
    }

    b->pos = p;
    r->state = state;

    return HM_AGAIN;

done:

    b->pos = p + 1;
    r->state = sw_start;

    return HM_OK;
}


hm_int_t
hm_http_parse_header_line(hm_http_parse_t *r, hm_buf_t *b,
    hm_uint_t allow_underscores)
{
    u_char      c, ch, *p;
    hm_uint_t   hash, i;
    enum {
        sw_start = 0,
        sw_name,
        sw_space_before_value,
        sw_value,
        sw_space_after_value,
        sw_almost_done,
        sw_header_almost_done
    } state;

    state = r->state;
    hash = r->header_hash;
    i = r->lowcase_index;

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        case sw_start:
            r->header_name_start = p;
            r->header_name_end = NULL;
            r->header_start = NULL;
            r->header_end = NULL;
            r->invalid_header = 0;

            if (ch == CR) {
                r->header_end = p;
                state = sw_header_almost_done;
                break;
            }

            if (ch == LF) {
                r->header_end = p;
                goto header_done;
            }

            /* SP or HT here is obs-fold, ":" an empty name */

            if (!hm_http_is_tchar(ch)) {
                return HM_HTTP_PARSE_INVALID_HEADER;
            }

            if (ch == '_' && !allow_underscores) {
                r->invalid_header = 1;
            }

            c = hm_tolower(ch);
            hash = hm_hash(0, c);
            r->lowcase_header[0] = c;
            i = 1;

            state = sw_name;
            break;

        case sw_name:

            if (ch == ':') {
                r->header_name_end = p;
                state = sw_space_before_value;
                break;
            }

            /* whitespace before the colon, CR, LF, NUL and the rest */

            if (!hm_http_is_tchar(ch)) {
                return HM_HTTP_PARSE_INVALID_HEADER;
            }

            if (ch == '_' && !allow_underscores) {
                r->invalid_header = 1;
            }

            c = hm_tolower(ch);
            hash = hm_hash(hash, c);

            if (i < HM_HTTP_LC_HEADER_LEN) {
                r->lowcase_header[i++] = c;
            }

            break;

        case sw_space_before_value:

            switch (ch) {
            case ' ':
            case '\t':
                break;

            case CR:
                r->header_start = p;
                r->header_end = p;
                state = sw_almost_done;
                break;

            case LF:
                r->header_start = p;
                r->header_end = p;
                goto done;

            default:
                if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                    return HM_HTTP_PARSE_INVALID_HEADER;
                }

                r->header_start = p;
                state = sw_value;
            }

            break;

        case sw_value:

            switch (ch) {
            case ' ':
            case '\t':
                r->header_end = p;
                state = sw_space_after_value;
                break;

            case CR:
                r->header_end = p;
                state = sw_almost_done;
                break;

            case LF:
                r->header_end = p;
                goto done;

            default:
                if (ch < 0x20 || ch == 0x7f) {
                    return HM_HTTP_PARSE_INVALID_HEADER;
                }
            }

            break;

        /* header_end stays at the first byte of the trailing whitespace */
        case sw_space_after_value:

            switch (ch) {
            case ' ':
            case '\t':
                break;

            case CR:
                state = sw_almost_done;
                break;

            case LF:
                goto done;

            default:
                if (ch < 0x20 || ch == 0x7f) {
                    return HM_HTTP_PARSE_INVALID_HEADER;
                }

                state = sw_value;
            }

            break;

        /* a CR not followed by LF is a bare CR */
        case sw_almost_done:
            if (ch != LF) {
                return HM_HTTP_PARSE_INVALID_HEADER;
            }

            goto done;

        case sw_header_almost_done:
            if (ch != LF) {
                return HM_HTTP_PARSE_INVALID_HEADER;
            }

            goto header_done;
        }
    }

    b->pos = p;
    r->state = state;
    r->header_hash = hash;
    r->lowcase_index = i;

    return HM_AGAIN;

done:

    b->pos = p + 1;
    r->state = sw_start;
    r->header_hash = hash;
    r->lowcase_index = i;

    return HM_OK;

header_done:

    b->pos = p + 1;
    r->state = sw_start;

    return HM_HTTP_PARSE_HEADER_DONE;
}


static hm_int_t
hm_http_hex(u_char c)
{
    u_char  lc;

    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    lc = (u_char) (c | 0x20);

    if (lc >= 'a' && lc <= 'f') {
        return lc - 'a' + 10;
    }

    return -1;
}


hm_int_t
hm_http_parse_chunked(hm_http_chunked_t *ctx, hm_buf_t *b)
{
    u_char     ch, *p;
    hm_int_t   rc, d;
    hm_uint_t  n;
    enum {
        sw_chunk_start = 0,
        sw_chunk_size,
        sw_chunk_size_ws,
        sw_chunk_extension,
        sw_chunk_size_almost_done,
        sw_chunk_data,
        sw_after_data,
        sw_after_data_almost_done,
        sw_trailer_start,
        sw_trailer_name,
        sw_trailer_value,
        sw_trailer_almost_done,
        sw_last_almost_done
    } state;

    state = hm_http_chunk_state(ctx->state);
    n = hm_http_chunk_count(ctx->state);

    if (state == sw_chunk_data && ctx->size == 0) {
        state = sw_after_data;
    }

    rc = HM_AGAIN;

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        /* the length of the chunk-size line, or of the whole trailer */

        if (state >= sw_trailer_start) {
            if (++n > HM_HTTP_CHUNK_TRAILER_MAX) {
                goto invalid;
            }

        } else if (state <= sw_chunk_size_almost_done) {
            if (++n > HM_HTTP_CHUNK_LINE_MAX) {
                goto invalid;
            }
        }

        switch (state) {

        case sw_chunk_start:
            d = hm_http_hex(ch);
            if (d < 0) {
                goto invalid;
            }

            ctx->size = d;
            state = sw_chunk_size;
            break;

        case sw_chunk_size:

            d = hm_http_hex(ch);
            if (d >= 0) {
                if (ctx->size > (HM_HTTP_CHUNK_SIZE_MAX - d) / 16) {
                    goto invalid;
                }

                ctx->size = ctx->size * 16 + d;
                break;
            }

            switch (ch) {
            case CR:
                state = sw_chunk_size_almost_done;
                break;

            case ';':
                state = sw_chunk_extension;
                break;

            /* BWS, allowed only before ";" */
            case ' ':
            case '\t':
                state = sw_chunk_size_ws;
                break;

            default:
                goto invalid;
            }

            break;

        case sw_chunk_size_ws:

            switch (ch) {
            case ' ':
            case '\t':
                break;

            case ';':
                state = sw_chunk_extension;
                break;

            default:
                goto invalid;
            }

            break;

        /* names, values and quoted strings: any byte but a CTL other than HT */
        case sw_chunk_extension:

            if (ch == CR) {
                state = sw_chunk_size_almost_done;
                break;
            }

            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                goto invalid;
            }

            break;

        case sw_chunk_size_almost_done:
            if (ch != LF) {
                goto invalid;
            }

            n = 0;

            if (ctx->size == 0) {
                /* the last chunk */
                state = sw_trailer_start;
                break;
            }

            state = sw_chunk_data;
            rc = HM_OK;
            p++;
            goto data;

        case sw_chunk_data:
            rc = HM_OK;
            goto data;

        case sw_after_data:
            if (ch != CR) {
                goto invalid;
            }

            state = sw_after_data_almost_done;
            break;

        case sw_after_data_almost_done:
            if (ch != LF) {
                goto invalid;
            }

            n = 0;
            state = sw_chunk_start;
            break;

        /* trailer fields are checked as header lines, then dropped */
        case sw_trailer_start:

            if (ch == CR) {
                state = sw_last_almost_done;
                break;
            }

            /* SP or HT is obs-fold, ":" an empty name */

            if (!hm_http_is_tchar(ch)) {
                goto invalid;
            }

            state = sw_trailer_name;
            break;

        case sw_trailer_name:

            if (ch == ':') {
                state = sw_trailer_value;
                break;
            }

            if (!hm_http_is_tchar(ch)) {
                goto invalid;
            }

            break;

        case sw_trailer_value:

            if (ch == CR) {
                state = sw_trailer_almost_done;
                break;
            }

            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                goto invalid;
            }

            break;

        case sw_trailer_almost_done:
            if (ch != LF) {
                goto invalid;
            }

            state = sw_trailer_start;
            break;

        case sw_last_almost_done:
            if (ch != LF) {
                goto invalid;
            }

            b->pos = p + 1;
            ctx->state = sw_chunk_start;
            ctx->size = 0;
            ctx->length = 0;

            return HM_DONE;
        }
    }

data:

    ctx->state = hm_http_chunk_pack(state, n);
    b->pos = p;

    /* at least the bytes still needed to end the body: "0" CRLF CRLF */

    switch (state) {

    case sw_chunk_start:
        ctx->length = 5;
        break;

    case sw_chunk_size:
    case sw_chunk_size_ws:
    case sw_chunk_extension:
    case sw_chunk_size_almost_done:
        ctx->length = ctx->size ? 2 + ctx->size + 2 + 5 : 2 + 2;
        break;

    case sw_chunk_data:
        ctx->length = ctx->size + 2 + 5;
        break;

    case sw_after_data:
    case sw_after_data_almost_done:
        ctx->length = 2 + 5;
        break;

    default:
        ctx->length = 2;
    }

    return rc;

invalid:

    return HM_ERROR;
}


hm_int_t
hm_http_parse_status_line(hm_http_parse_t *r, hm_buf_t *b,
    hm_http_status_t *status)
{
    u_char  ch, *p;
    enum {
        sw_start = 0,
        sw_H,
        sw_HT,
        sw_HTT,
        sw_HTTP,
        sw_major_digit,
        sw_dot_after_major,
        sw_minor_digit,
        sw_space_after_version,
        sw_status,
        sw_space_after_status,
        sw_reason,
        sw_almost_done
    } state;

    state = r->state;

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        case sw_start:
            if (ch != 'H') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            status->start = p;
            status->end = NULL;
            status->code = 0;
            status->count = 0;
            status->http_version = 0;

            state = sw_H;
            break;

        case sw_H:
            if (ch != 'T') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_HT;
            break;

        case sw_HT:
            if (ch != 'T') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_HTT;
            break;

        case sw_HTT:
            if (ch != 'P') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_HTTP;
            break;

        case sw_HTTP:
            if (ch != '/') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_major_digit;
            break;

        case sw_major_digit:
            if (ch < '0' || ch > '9') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            if (ch != '1') {
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            r->http_major = 1;
            state = sw_dot_after_major;
            break;

        case sw_dot_after_major:
            if (ch != '.') {
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            state = sw_minor_digit;
            break;

        case sw_minor_digit:
            if (ch < '0' || ch > '9') {
                return HM_HTTP_PARSE_INVALID_VERSION;
            }

            r->http_minor = ch - '0';
            r->http_version = r->http_major * 1000 + r->http_minor;
            status->http_version = r->http_version;
            state = sw_space_after_version;
            break;

        case sw_space_after_version:
            if (ch != ' ') {
                if (ch >= '0' && ch <= '9') {
                    return HM_HTTP_PARSE_INVALID_VERSION;
                }

                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            state = sw_status;
            break;

        /* three digits, 100 to 999 */
        case sw_status:
            if (ch < '0' || ch > '9' || (status->count == 0 && ch == '0')) {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            status->code = status->code * 10 + (ch - '0');

            if (++status->count == 3) {
                state = sw_space_after_status;
            }

            break;

        /* the reason phrase is optional, and so is the SP before it */
        case sw_space_after_status:

            switch (ch) {
            case ' ':
                state = sw_reason;
                break;

            case CR:
                status->end = p;
                state = sw_almost_done;
                break;

            case LF:
                status->end = p;
                goto done;

            default:
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            break;

        case sw_reason:

            switch (ch) {
            case CR:
                status->end = p;
                state = sw_almost_done;
                break;

            case LF:
                status->end = p;
                goto done;

            default:
                if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                    return HM_HTTP_PARSE_INVALID_REQUEST;
                }
            }

            break;

        case sw_almost_done:
            if (ch != LF) {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            goto done;
        }
    }

    b->pos = p;
    r->state = state;

    return HM_AGAIN;

done:

    b->pos = p + 1;
    r->state = sw_start;

    return HM_OK;
}


/*
 * Ends the segment [seg, *u) at a "/" or at the end of the path: a "."
 * segment is removed, a ".." one is removed with the segment before it.
 * Returns HM_OK when the segment was kept, HM_DONE when it was removed and
 * HM_ERROR for a ".." above the root.  dst[0] is always "/".
 */

static hm_int_t
hm_http_uri_segment(u_char *dst, u_char *seg, u_char **u)
{
    u_char  *q;
    size_t   len;

    len = *u - seg;

    if (len == 1 && seg[0] == '.') {
        *u = seg;
        return HM_DONE;
    }

    if (len != 2 || seg[0] != '.' || seg[1] != '.') {
        return HM_OK;
    }

    /* seg[-1] is the "/" before "..", find the one before it */

    q = seg - 1;

    if (q == dst) {
        return HM_ERROR;
    }

    do {
        q--;
    } while (*q != '/');

    *u = q + 1;

    return HM_DONE;
}


hm_int_t
hm_http_parse_complex_uri(hm_http_parse_t *r, u_char *dst, size_t *len,
    hm_uint_t merge_slashes)
{
    u_char    ch, *p, *last, *u, *seg;
    hm_int_t  hi, lo, rc;

    p = r->uri_start;
    last = r->args_start ? r->args_start - 1 : r->uri_end;

    if (p == NULL || last == NULL || last < p) {
        return HM_HTTP_PARSE_INVALID_REQUEST;
    }

    if (p == last) {
        /* "http://host" and "http://host?a": the caller uses "/" */
        *len = 0;
        return HM_OK;
    }

    if (*p != '/') {
        return HM_HTTP_PARSE_INVALID_REQUEST;
    }

    u = dst;
    *u++ = '/';
    seg = u;
    p++;

    while (p < last) {
        ch = *p++;

        if (ch == '%') {

            /* decoded bytes go through the same segment rules as raw ones */

            if (last - p < 2) {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            hi = hm_http_hex(p[0]);
            lo = hm_http_hex(p[1]);

            if (hi < 0 || lo < 0) {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }

            ch = (u_char) ((hi << 4) | lo);
            p += 2;

            if (ch == '\0') {
                return HM_HTTP_PARSE_INVALID_REQUEST;
            }
        }

        if (ch != '/') {
            *u++ = ch;
            continue;
        }

        rc = hm_http_uri_segment(dst, seg, &u);

        if (rc == HM_ERROR) {
            return HM_HTTP_PARSE_INVALID_REQUEST;
        }

        if (rc == HM_OK && !(merge_slashes && u == seg)) {
            *u++ = '/';
        }

        seg = u;
    }

    /* "/a/." and "/a/b/.." both end as "/a/" */

    if (hm_http_uri_segment(dst, seg, &u) == HM_ERROR) {
        return HM_HTTP_PARSE_INVALID_REQUEST;
    }

    *len = u - dst;

    return HM_OK;
}


hm_int_t
hm_http_arg(hm_str_t *args, u_char *name, size_t len, hm_str_t *value)
{
    u_char  *p, *last, *end;

    if (args->len == 0 || len == 0) {
        return HM_DECLINED;
    }

    p = args->data;
    last = p + args->len;

    while (p < last) {

        end = hm_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) > len
            && p[len] == '='
            && hm_strncasecmp(p, name, len) == 0)
        {
            value->data = p + len + 1;
            value->len = end - value->data;
            return HM_OK;
        }

        if (end == last) {
            break;
        }

        p = end + 1;
    }

    return HM_DECLINED;
}
