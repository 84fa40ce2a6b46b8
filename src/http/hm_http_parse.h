/*
 * Copyright (C) hermod authors
 *
 * The HTTP/1.x parsers: incremental state machines over a buffer.  Each
 * call consumes what it can from b->pos, keeps its state in the parse
 * context and returns:
 *
 *     HM_OK                        one element (line, header) is complete
 *     HM_AGAIN                     need more bytes; call again with more
 *     HM_HTTP_PARSE_HEADER_DONE    the empty line ending the header
 *     HM_HTTP_PARSE_INVALID_*      malformed input: the caller answers 400
 *                                  (or 502 for an upstream) and closes
 *
 * Pointers saved in the context point into the buffer; the caller keeps
 * the bytes alive (or moves them and the pointers together).
 */

#ifndef _HM_HTTP_PARSE_H_INCLUDED_
#define _HM_HTTP_PARSE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_HTTP_PARSE_HEADER_DONE         1

#define HM_HTTP_CLIENT_ERROR              10
#define HM_HTTP_PARSE_INVALID_METHOD      10
#define HM_HTTP_PARSE_INVALID_REQUEST     11
#define HM_HTTP_PARSE_INVALID_VERSION     12
#define HM_HTTP_PARSE_INVALID_09_METHOD   13

#define HM_HTTP_PARSE_INVALID_HEADER      14


/* methods, as bits so that a location can allow a set */

#define HM_HTTP_UNKNOWN                   0x00000001
#define HM_HTTP_GET                       0x00000002
#define HM_HTTP_HEAD                      0x00000004
#define HM_HTTP_POST                      0x00000008
#define HM_HTTP_PUT                       0x00000010
#define HM_HTTP_DELETE                    0x00000020
#define HM_HTTP_MKCOL                     0x00000040
#define HM_HTTP_COPY                      0x00000080
#define HM_HTTP_MOVE                      0x00000100
#define HM_HTTP_OPTIONS                   0x00000200
#define HM_HTTP_PROPFIND                  0x00000400
#define HM_HTTP_PROPPATCH                 0x00000800
#define HM_HTTP_LOCK                      0x00001000
#define HM_HTTP_UNLOCK                    0x00002000
#define HM_HTTP_PATCH                     0x00004000
#define HM_HTTP_TRACE                     0x00008000
#define HM_HTTP_CONNECT                   0x00010000


#define HM_HTTP_LC_HEADER_LEN             32


typedef struct {
    hm_uint_t                 state;

    /* the request line */
    u_char                   *request_start;
    u_char                   *request_end;
    u_char                   *method_start;
    u_char                   *method_end;
    u_char                   *schema_start;
    u_char                   *schema_end;
    u_char                   *host_start;
    u_char                   *host_end;
    u_char                   *port_start;
    u_char                   *port_end;
    u_char                   *uri_start;
    u_char                   *uri_end;
    u_char                   *uri_ext;
    u_char                   *args_start;
    u_char                   *http_protocol_start;   /* "HTTP/1.1" */

    hm_uint_t                 method;
    hm_uint_t                 http_version;          /* 1000 * major + minor */
    hm_uint_t                 http_major;
    hm_uint_t                 http_minor;

    /* the URI needs hm_http_parse_complex_uri(): %XX, "//", "/./", "/../" */
    unsigned                  complex_uri:1;
    unsigned                  quoted_uri:1;
    unsigned                  plus_in_uri:1;
    unsigned                  empty_path_in_uri:1;

    /* a header line */
    u_char                   *header_name_start;
    u_char                   *header_name_end;
    u_char                   *header_start;          /* the value */
    u_char                   *header_end;
    hm_uint_t                 header_hash;           /* of the lowcase name */
    hm_uint_t                 lowcase_index;
    u_char                    lowcase_header[HM_HTTP_LC_HEADER_LEN];

    unsigned                  invalid_header:1;      /* ignored, not fatal */

    void                     *spare[2];
} hm_http_parse_t;


typedef struct {
    hm_uint_t                 state;
    off_t                     size;       /* bytes left in this chunk */
    off_t                     length;     /* bytes still expected, a hint */
} hm_http_chunked_t;


typedef struct {
    hm_uint_t                 http_version;
    hm_uint_t                 code;
    hm_uint_t                 count;
    u_char                   *start;      /* of the status line */
    u_char                   *end;
} hm_http_status_t;


/*
 * Request line: "METHOD SP request-target SP HTTP/x.y CRLF".  Bare LF ends
 * a line as in nginx; a bare CR anywhere, a control character or a space
 * in the target, a version other than 1.x (HTTP/0.9 is refused) is
 * HM_HTTP_PARSE_INVALID_*.  Leading empty lines are skipped (RFC 9112 2.2).
 */
hm_int_t hm_http_parse_request_line(hm_http_parse_t *p, hm_buf_t *b);

/*
 * One header line, or the end of the header.  Strict where safety needs:
 * obsolete line folding (a line starting with SP or HT), a bare CR, a NUL,
 * whitespace between the name and the colon, an empty name or a name with
 * characters outside RFC 9110 tchar are HM_HTTP_PARSE_INVALID_HEADER.
 * With allow_underscores off a name with "_" sets p->invalid_header (the
 * caller ignores the header, as nginx does).  The value is trimmed of
 * leading and trailing whitespace; header_hash and lowcase_header (the
 * first 32 bytes) are computed with hm_hash over the lowercased name.
 */
hm_int_t hm_http_parse_header_line(hm_http_parse_t *p, hm_buf_t *b,
    hm_uint_t allow_underscores);

/*
 * Chunked body: call with the body bytes; on HM_OK, ctx->size bytes of
 * data start at b->pos (the caller consumes min(size, available) and calls
 * again); HM_DONE when the last chunk and the trailer section are read
 * (trailers are parsed and discarded safely); HM_AGAIN for more input;
 * HM_ERROR for a malformed chunk (bad hex, size overflow, missing CRLF).
 */
hm_int_t hm_http_parse_chunked(hm_http_chunked_t *ctx, hm_buf_t *b);

/* Upstream status line: "HTTP/1.x NNN reason CRLF". */
hm_int_t hm_http_parse_status_line(hm_http_parse_t *p, hm_buf_t *b,
    hm_http_status_t *status);

/*
 * Normalizes the path of the request target into dst (at least
 * uri_end - uri_start bytes): decodes %XX (a decoded NUL or "/" stays
 * decoded only where safe: %2F stays a slash, %00 is an error), merges
 * "//" when merge_slashes, resolves "/./" and "/../" (going above the root
 * is an error).  Returns the length in *len, or HM_HTTP_PARSE_INVALID_REQUEST.
 */
hm_int_t hm_http_parse_complex_uri(hm_http_parse_t *p, u_char *dst,
    size_t *len, hm_uint_t merge_slashes);

/* "a=1&b=2": the value of name in args, HM_DECLINED when absent */
hm_int_t hm_http_arg(hm_str_t *args, u_char *name, size_t len,
    hm_str_t *value);


#endif /* _HM_HTTP_PARSE_H_INCLUDED_ */
