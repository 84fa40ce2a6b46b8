/*
 * Copyright (C) hermod authors
 *
 * libFuzzer harness for src/http/hm_http_parse.c.  The first input byte
 * picks a split point and the flags, the rest is a message: a request
 * line, header lines until the empty line, then a chunked body.  Each
 * message is parsed three times, whole, in two pieces cut at the split
 * point, and one byte per call; the three must agree on every return code
 * and every saved pointer.  Along the way the invariants are checked:
 * pointers stay inside the bytes already consumed, b->pos never passes
 * b->last, names are tchar, values are trimmed and free of CTLs, the hash
 * is the one of the lowercased name, chunk sizes stay in range, and
 * hm_http_parse_complex_uri() yields a clean path (and leaves a path that
 * complex_uri says is simple unchanged).  The status-line parser gets the
 * same message too.  Build and run with t/fuzz/run.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http_parse.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n",                  \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)


typedef struct {
    uint64_t      hash;          /* FNV-1a over every observation */
    uint64_t      events;
    u_char       *start;
    u_char       *end;
} fuzz_trace_t;


typedef struct {
    u_char       *buf;
    size_t        len;
    size_t        split;         /* 0: whole; else the first piece */
    size_t        step;          /* 1: byte by byte */
    hm_uint_t     underscores;
    hm_uint_t     merge;
} fuzz_feed_t;


static void
trace_add(fuzz_trace_t *t, int64_t v)
{
    int  i;

    for (i = 0; i < 8; i++) {
        t->hash ^= (uint64_t) (v >> (i * 8)) & 0xff;
        t->hash *= 0x100000001b3ULL;
    }

    t->events++;
}


/* a saved pointer: NULL, or inside [start, limit] */

static void
trace_ptr(fuzz_trace_t *t, u_char *p, u_char *limit)
{
    if (p == NULL) {
        trace_add(t, -1);
        return;
    }

    FUZZ_CHECK(p >= t->start && p <= limit);
    trace_add(t, p - t->start);
}


static int
is_tchar(u_char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}


/* the path after hm_http_parse_complex_uri(): no dot segments, no NUL */

static void
check_clean_path(u_char *p, size_t len, hm_uint_t merge)
{
    size_t  i, seg;

    if (len == 0) {
        return;
    }

    FUZZ_CHECK(p[0] == '/');

    seg = 1;

    for (i = 1; i <= len; i++) {
        if (i < len && p[i] != '/') {
            FUZZ_CHECK(p[i] != '\0');
            continue;
        }

        /* the segment [seg, i) */

        FUZZ_CHECK(!(i - seg == 1 && p[seg] == '.'));
        FUZZ_CHECK(!(i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'));

        if (merge && i < len) {
            FUZZ_CHECK(i > seg);
        }

        seg = i + 1;
    }
}


static void
check_complex_uri(hm_http_parse_t *r, hm_uint_t merge)
{
    u_char           *dst, *again, *path_end;
    size_t            n, len, len2;
    hm_int_t          rc;
    hm_http_parse_t   r2;

    if (r->uri_start == NULL || r->uri_end == NULL
        || r->method == HM_HTTP_CONNECT || *r->uri_start == '*')
    {
        return;
    }

    /* exactly the documented size, so that ASan sees any overflow */

    n = r->uri_end - r->uri_start;
    dst = malloc(n ? n : 1);
    FUZZ_CHECK(dst != NULL);

    len = (size_t) -1;
    rc = hm_http_parse_complex_uri(r, dst, &len, merge);

    FUZZ_CHECK(rc == HM_OK || rc == HM_HTTP_PARSE_INVALID_REQUEST);

    path_end = r->args_start ? r->args_start - 1 : r->uri_end;

    if (rc != HM_OK) {
        /* only these make a path invalid */
        FUZZ_CHECK(r->complex_uri);
        free(dst);
        return;
    }

    FUZZ_CHECK(len <= n);
    check_clean_path(dst, len, merge);

    /* complex_uri off: nothing to do, the path comes back as it was */

    if (!r->complex_uri && merge) {
        FUZZ_CHECK(len == (size_t) (path_end - r->uri_start));
        FUZZ_CHECK(hm_memcmp(dst, r->uri_start, len) == 0);
    }

    /* normalizing twice changes nothing (when no "%" is left to decode) */

    if (len && hm_strlchr(dst, dst + len, '%') == NULL) {
        hm_memzero(&r2, sizeof(hm_http_parse_t));
        r2.uri_start = dst;
        r2.uri_end = dst + len;

        again = malloc(len);
        FUZZ_CHECK(again != NULL);

        rc = hm_http_parse_complex_uri(&r2, again, &len2, merge);
        FUZZ_CHECK(rc == HM_OK);
        FUZZ_CHECK(len2 == len && hm_memcmp(again, dst, len) == 0);

        free(again);
    }

    free(dst);
}


static void
check_request_line(hm_http_parse_t *r, hm_buf_t *b, fuzz_trace_t *t)
{
    u_char  *q, *lim;

    lim = b->pos;

    FUZZ_CHECK(r->request_start && r->request_end && r->method_start
               && r->method_end && r->uri_start && r->uri_end
               && r->http_protocol_start);

    FUZZ_CHECK(r->request_start == r->method_start);
    FUZZ_CHECK(r->method_start < r->method_end);
    FUZZ_CHECK(r->method_end < r->uri_start);
    FUZZ_CHECK(r->uri_start <= r->uri_end);
    FUZZ_CHECK(r->uri_end < r->http_protocol_start);
    FUZZ_CHECK(r->http_protocol_start + 8 == r->request_end);
    FUZZ_CHECK(r->request_end < lim);

    for (q = r->method_start; q < r->method_end; q++) {
        FUZZ_CHECK(is_tchar(*q));
    }

    for (q = r->uri_start; q < r->uri_end; q++) {
        FUZZ_CHECK(*q > 0x20 && *q != 0x7f);
    }

    if (r->args_start) {
        FUZZ_CHECK(r->args_start > r->uri_start
                   && r->args_start <= r->uri_end
                   && r->args_start[-1] == '?');
    }

    /* the host comes before the path, or is the whole CONNECT target */

    if (r->host_start) {
        FUZZ_CHECK(r->host_start < r->host_end);
        FUZZ_CHECK(r->method == HM_HTTP_CONNECT ? r->host_end < r->uri_end
                                                : r->host_end <= r->uri_start);
    }

    if (r->method == HM_HTTP_CONNECT) {
        FUZZ_CHECK(r->host_start && r->port_start && r->port_end);
    }

    if (r->port_start) {
        FUZZ_CHECK(r->port_start < r->port_end
                   && r->port_end - r->port_start <= 5);
    }

    FUZZ_CHECK(r->http_major == 1 && r->http_minor <= 9);
    FUZZ_CHECK(r->http_version == 1000 + r->http_minor);
    FUZZ_CHECK((r->method & (r->method - 1)) == 0 && r->method != 0);

    trace_add(t, r->method);
    trace_add(t, r->http_version);
    trace_add(t, (r->complex_uri << 3) | (r->quoted_uri << 2)
                 | (r->plus_in_uri << 1) | r->empty_path_in_uri);
    trace_ptr(t, r->request_end, lim);
    trace_ptr(t, r->method_end, lim);
    trace_ptr(t, r->schema_start, lim);
    trace_ptr(t, r->schema_end, lim);
    trace_ptr(t, r->host_start, lim);
    trace_ptr(t, r->host_end, lim);
    trace_ptr(t, r->port_start, lim);
    trace_ptr(t, r->port_end, lim);
    trace_ptr(t, r->uri_start, lim);
    trace_ptr(t, r->uri_end, lim);
    trace_ptr(t, r->uri_ext, lim);
    trace_ptr(t, r->args_start, lim);
}


static void
check_header_line(hm_http_parse_t *r, hm_buf_t *b, hm_uint_t underscores,
    fuzz_trace_t *t)
{
    u_char     *q;
    size_t      len, i;
    hm_uint_t   under, hash;

    FUZZ_CHECK(r->header_name_start && r->header_name_end
               && r->header_start && r->header_end);
    FUZZ_CHECK(r->header_name_start < r->header_name_end);
    FUZZ_CHECK(r->header_name_end < r->header_start);
    FUZZ_CHECK(r->header_start <= r->header_end);
    FUZZ_CHECK(r->header_end < b->pos);
    FUZZ_CHECK(*r->header_name_end == ':');

    len = r->header_name_end - r->header_name_start;
    under = 0;

    for (q = r->header_name_start; q < r->header_name_end; q++) {
        FUZZ_CHECK(is_tchar(*q));
        under |= (*q == '_');
    }

    FUZZ_CHECK(r->invalid_header == (under && !underscores));
    FUZZ_CHECK(r->lowcase_index == hm_min(len, HM_HTTP_LC_HEADER_LEN));
    for (hash = 0, q = r->header_name_start; q < r->header_name_end; q++) {
        hash = hm_hash(hash, hm_tolower(*q));
    }

    FUZZ_CHECK(r->header_hash == hash);

    for (i = 0; i < r->lowcase_index; i++) {
        FUZZ_CHECK(r->lowcase_header[i]
                   == hm_tolower(r->header_name_start[i]));
    }

    for (q = r->header_start; q < r->header_end; q++) {
        FUZZ_CHECK(*q == '\t' || (*q >= 0x20 && *q != 0x7f));
    }

    if (r->header_start < r->header_end) {
        FUZZ_CHECK(*r->header_start != ' ' && *r->header_start != '\t');
        FUZZ_CHECK(r->header_end[-1] != ' ' && r->header_end[-1] != '\t');
    }

    trace_ptr(t, r->header_name_start, b->pos);
    trace_ptr(t, r->header_name_end, b->pos);
    trace_ptr(t, r->header_start, b->pos);
    trace_ptr(t, r->header_end, b->pos);
    trace_add(t, r->header_hash);
    trace_add(t, r->invalid_header);
}


/* hand over the next piece; 0 when the input is exhausted */

static int
feed_more(hm_buf_t *b, fuzz_feed_t *f)
{
    u_char  *end;

    end = f->buf + f->len;

    if (b->last == end) {
        return 0;
    }

    if (f->step) {
        b->last += hm_min(f->step, (size_t) (end - b->last));

    } else {
        b->last = end;
    }

    return 1;
}


static void
run_request(fuzz_feed_t *f, fuzz_trace_t *t)
{
    u_char             *end;
    size_t              n;
    hm_int_t            rc;
    hm_buf_t            b;
    hm_uint_t           stage;
    hm_http_parse_t     r;
    hm_http_chunked_t   ch;
    hm_str_t            args, value;

    hm_memzero(&r, sizeof(hm_http_parse_t));
    hm_memzero(&ch, sizeof(hm_http_chunked_t));
    hm_memzero(&b, sizeof(hm_buf_t));

    end = f->buf + f->len;
    t->start = f->buf;
    t->end = end;

    b.start = f->buf;
    b.end = end;
    b.pos = f->buf;
    b.last = f->buf + (f->step ? hm_min(f->step, f->len)
                               : (f->split ? f->split : f->len));

    stage = 0;

    for ( ;; ) {

        switch (stage) {
        case 0:
            rc = hm_http_parse_request_line(&r, &b);
            break;
        case 1:
            rc = hm_http_parse_header_line(&r, &b, f->underscores);
            break;
        default:
            rc = hm_http_parse_chunked(&ch, &b);
        }

        FUZZ_CHECK(b.pos >= f->buf && b.pos <= b.last && b.last <= end);

        if (rc == HM_AGAIN) {
            FUZZ_CHECK(b.pos == b.last);

            if (!feed_more(&b, f)) {
                trace_add(t, 1000 + stage);
                return;
            }

            continue;
        }

        if (rc != HM_OK || stage != 2) {
            trace_add(t, rc);
        }

        switch (stage) {

        case 0:
            if (rc != HM_OK) {
                FUZZ_CHECK(rc >= HM_HTTP_CLIENT_ERROR
                           && rc <= HM_HTTP_PARSE_INVALID_09_METHOD);
                return;
            }

            check_request_line(&r, &b, t);
            check_complex_uri(&r, f->merge);

            if (r.args_start) {
                args.data = r.args_start;
                args.len = r.uri_end - r.args_start;

                if (hm_http_arg(&args, (u_char *) "a", 1, &value) == HM_OK) {
                    FUZZ_CHECK(value.data >= args.data
                               && value.data + value.len
                                  <= args.data + args.len);
                }
            }

            stage = 1;
            break;

        case 1:
            if (rc == HM_OK) {
                check_header_line(&r, &b, f->underscores, t);
                break;
            }

            if (rc == HM_HTTP_PARSE_HEADER_DONE) {
                trace_ptr(t, b.pos, b.last);
                stage = 2;
                break;
            }

            FUZZ_CHECK(rc == HM_HTTP_PARSE_INVALID_HEADER);
            return;

        default:
            if (rc == HM_OK) {
                FUZZ_CHECK(ch.size > 0 && ch.size <= (off_t) 1 << 60);
                FUZZ_CHECK(ch.length >= ch.size);

                /*
                 * A chunk may come as several HM_OKs when its bytes arrive
                 * in pieces, so the trace holds the data, not the returns.
                 */

                n = hm_min((size_t) ch.size, (size_t) (b.last - b.pos));
                ch.size -= n;

                while (n--) {
                    trace_add(t, 2000 + *b.pos++);
                }

                break;
            }

            if (rc == HM_DONE) {
                trace_ptr(t, b.pos, b.last);
                return;
            }

            FUZZ_CHECK(rc == HM_ERROR);
            return;
        }
    }
}


static void
run_status(fuzz_feed_t *f, fuzz_trace_t *t)
{
    hm_int_t           rc;
    hm_buf_t           b;
    hm_http_parse_t    r;
    hm_http_status_t   st;

    hm_memzero(&r, sizeof(hm_http_parse_t));
    hm_memzero(&st, sizeof(hm_http_status_t));
    hm_memzero(&b, sizeof(hm_buf_t));

    t->start = f->buf;
    t->end = f->buf + f->len;

    b.pos = f->buf;
    b.last = f->buf + (f->step ? hm_min(f->step, f->len)
                               : (f->split ? f->split : f->len));

    for ( ;; ) {
        rc = hm_http_parse_status_line(&r, &b, &st);

        FUZZ_CHECK(b.pos >= f->buf && b.pos <= b.last);

        if (rc == HM_AGAIN) {
            FUZZ_CHECK(b.pos == b.last);

            if (!feed_more(&b, f)) {
                trace_add(t, 1000);
                return;
            }

            continue;
        }

        trace_add(t, rc);

        if (rc != HM_OK) {
            FUZZ_CHECK(rc == HM_HTTP_PARSE_INVALID_REQUEST
                       || rc == HM_HTTP_PARSE_INVALID_VERSION);
            return;
        }

        FUZZ_CHECK(st.code >= 100 && st.code <= 999 && st.count == 3);
        FUZZ_CHECK(st.start == f->buf && st.end != NULL && st.end < b.pos);
        FUZZ_CHECK(st.http_version == 1000 + r.http_minor);

        trace_add(t, st.code);
        trace_add(t, st.http_version);
        trace_ptr(t, st.end, b.pos);
        trace_ptr(t, b.pos, b.last);

        return;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char         sel;
    fuzz_feed_t    f;
    fuzz_trace_t   whole, split, bytes;

    if (size < 1) {
        return 0;
    }

    sel = data[0];
    data++;
    size--;

    /* a copy of exactly the message's size: reading past it is a bug */

    f.buf = malloc(size ? size : 1);
    FUZZ_CHECK(f.buf != NULL);
    hm_memcpy(f.buf, data, size);

    f.len = size;
    f.underscores = sel & 1;
    f.merge = (sel >> 1) & 1;

    /* the split point: anywhere in the message, from the first byte */

    hm_memzero(&whole, sizeof(fuzz_trace_t));
    hm_memzero(&split, sizeof(fuzz_trace_t));
    hm_memzero(&bytes, sizeof(fuzz_trace_t));

    f.split = 0;
    f.step = 0;
    run_request(&f, &whole);

    f.split = ((size_t) sel * (size + 1)) >> 8;
    run_request(&f, &split);

    f.split = 0;
    f.step = 1;
    run_request(&f, &bytes);

    FUZZ_CHECK(whole.events == split.events && whole.hash == split.hash);
    FUZZ_CHECK(whole.events == bytes.events && whole.hash == bytes.hash);

    hm_memzero(&whole, sizeof(fuzz_trace_t));
    hm_memzero(&split, sizeof(fuzz_trace_t));
    hm_memzero(&bytes, sizeof(fuzz_trace_t));

    f.step = 0;
    run_status(&f, &whole);

    f.split = ((size_t) sel * (size + 1)) >> 8;
    run_status(&f, &split);

    f.split = 0;
    f.step = 1;
    run_status(&f, &bytes);

    FUZZ_CHECK(whole.events == split.events && whole.hash == split.hash);
    FUZZ_CHECK(whole.events == bytes.events && whole.hash == bytes.hash);

    free(f.buf);

    return 0;
}
