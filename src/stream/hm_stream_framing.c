/*
 * Copyright (C) hermod authors
 *
 * Framings of a TCP byte stream, for the inbound and the outbound alike:
 * the "framing" directive, cutting frames out of a buffer, and writing a
 * frame.
 *
 *     line                           up to LF (a CR before it removed)
 *     delimiter BYTES                up to BYTES (\n \r \t \0 \\ \xNN)
 *     length_prefix 1|2|4|8 [big|little]
 *                                    an unsigned length, then the bytes
 *     fixed N                        every N bytes
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_stream.h>


/* "\n", "\r", "\t", "\0", "\\", "\xNN" */

static hm_int_t
hm_stream_unescape(hm_pool_t *pool, hm_str_t *in, hm_str_t *out)
{
    u_char    *p, *last, *d;
    hm_int_t   n;

    d = hm_pnalloc(pool, in->len);
    if (d == NULL) {
        return HM_ERROR;
    }

    out->data = d;

    for (p = in->data, last = p + in->len; p < last; p++) {
        if (*p != '\\') {
            *d++ = *p;
            continue;
        }

        if (++p == last) {
            return HM_ERROR;
        }

        switch (*p) {
        case 'n': *d++ = LF; break;
        case 'r': *d++ = CR; break;
        case 't': *d++ = '\t'; break;
        case '0': *d++ = '\0'; break;
        case '\\': *d++ = '\\'; break;

        case 'x':
            if (last - p < 3) {
                return HM_ERROR;
            }

            n = hm_hextoi(p + 1, 2);
            if (n == HM_ERROR) {
                return HM_ERROR;
            }

            *d++ = (u_char) n;
            p += 2;
            break;

        default:
            return HM_ERROR;
        }
    }

    out->len = d - out->data;

    return HM_OK;
}


/* the "framing" directive's arguments (cf->args) */

char *
hm_stream_framing_parse(hm_conf_t *cf, hm_stream_framing_t *f)
{
    ssize_t    n;
    hm_str_t  *value;

    if (f->type) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (hm_str_eq(&value[1], "line") && cf->args->nelts == 2) {
        hm_stream_framing_default(f);
        return HM_CONF_OK;
    }

    if (hm_str_eq(&value[1], "delimiter") && cf->args->nelts == 3) {
        if (hm_stream_unescape(cf->pool, &value[2], &f->delimiter) != HM_OK
            || f->delimiter.len == 0)
        {
            return "has an invalid delimiter";
        }

        f->type = HM_STREAM_FRAME_DELIMITER;
        return HM_CONF_OK;
    }

    if (hm_str_eq(&value[1], "length_prefix") && cf->args->nelts >= 3) {
        n = hm_atoi(value[2].data, value[2].len);

        if (n != 1 && n != 2 && n != 4 && n != 8) {
            return "has an invalid prefix size (1, 2, 4 or 8)";
        }

        f->prefix = (hm_uint_t) n;

        if (cf->args->nelts == 4) {
            if (hm_str_eq(&value[3], "little")) {
                f->little = 1;

            } else if (!hm_str_eq(&value[3], "big")) {
                return "has an invalid byte order (big or little)";
            }
        }

        f->type = HM_STREAM_FRAME_LENGTH;
        return HM_CONF_OK;
    }

    if (hm_str_eq(&value[1], "fixed") && cf->args->nelts == 3) {
        n = hm_parse_size(&value[2]);

        if (n <= 0) {
            return "has an invalid size";
        }

        f->fixed = (size_t) n;
        f->type = HM_STREAM_FRAME_FIXED;
        return HM_CONF_OK;
    }

    return "is invalid: line, delimiter BYTES, length_prefix 1|2|4|8 "
           "[big|little] or fixed N";
}


void
hm_stream_framing_default(hm_stream_framing_t *f)
{
    if (f->type == 0 || f->type == HM_STREAM_FRAME_LINE) {
        f->type = HM_STREAM_FRAME_LINE;
        hm_str_set(&f->delimiter, "\n");
    }
}


/*
 * The next frame in [p, last): HM_OK (the frame and where the next
 * begins), HM_AGAIN (not all there yet), HM_DECLINED (over max: *size is
 * the announced size, or what was seen without a delimiter).
 */

hm_int_t
hm_stream_frame_next(hm_stream_framing_t *f, size_t max, u_char *p,
    u_char *last, hm_str_t *frame, u_char **next, uint64_t *size)
{
    u_char     *d;
    size_t      avail, len;
    uint64_t    v;
    hm_uint_t   i;

    avail = last - p;

    switch (f->type) {

    case HM_STREAM_FRAME_LENGTH:
        if (avail < f->prefix) {
            return HM_AGAIN;
        }

        v = 0;

        for (i = 0; i < f->prefix; i++) {
            if (f->little) {
                v |= (uint64_t) p[i] << (8 * i);

            } else {
                v = (v << 8) | p[i];
            }
        }

        if (v > max) {
            *size = v;
            return HM_DECLINED;
        }

        if (avail - f->prefix < v) {
            return HM_AGAIN;
        }

        frame->data = p + f->prefix;
        frame->len = (size_t) v;
        *next = p + f->prefix + v;
        return HM_OK;

    case HM_STREAM_FRAME_FIXED:
        if (avail < f->fixed) {
            return HM_AGAIN;
        }

        frame->data = p;
        frame->len = f->fixed;
        *next = p + f->fixed;
        return HM_OK;

    default: /* LINE, DELIMITER */

        d = memmem(p, avail, f->delimiter.data, f->delimiter.len);

        if (d == NULL) {
            if (avail > max + f->delimiter.len) {
                *size = avail;
                return HM_DECLINED;
            }

            return HM_AGAIN;
        }

        len = d - p;

        if (len > max) {
            *size = len;
            return HM_DECLINED;
        }

        *next = d + f->delimiter.len;

        if (f->type == HM_STREAM_FRAME_LINE && len && p[len - 1] == CR) {
            len--;
        }

        frame->data = p;
        frame->len = len;
        return HM_OK;
    }
}


/* the bytes a frame of len takes, and writing it */

size_t
hm_stream_frame_size(hm_stream_framing_t *f, size_t len)
{
    return f->prefix + len + f->delimiter.len;
}


u_char *
hm_stream_frame_write(hm_stream_framing_t *f, u_char *p, u_char *data,
    size_t len)
{
    hm_uint_t  i;

    if (f->type == HM_STREAM_FRAME_LENGTH) {
        for (i = 0; i < f->prefix; i++) {
            p[f->little ? i : f->prefix - 1 - i] =
                (u_char) ((uint64_t) len >> (8 * i));
        }

        p += f->prefix;
    }

    if (len) {
        p = hm_cpymem(p, data, len);
    }

    if (f->delimiter.len) {
        p = hm_cpymem(p, f->delimiter.data, f->delimiter.len);
    }

    return p;
}
