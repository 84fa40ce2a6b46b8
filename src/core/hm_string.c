/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static u_char *hm_sprintf_num(u_char *buf, u_char *last, uint64_t ui64,
    u_char zero, hm_uint_t hexadecimal, hm_uint_t width);


void
hm_strlow(u_char *dst, u_char *src, size_t n)
{
    while (n) {
        *dst = hm_tolower(*src);
        dst++;
        src++;
        n--;
    }
}


u_char *
hm_cpystrn(u_char *dst, u_char *src, size_t n)
{
    if (n == 0) {
        return dst;
    }

    while (--n) {
        *dst = *src;

        if (*dst == '\0') {
            return dst;
        }

        dst++;
        src++;
    }

    *dst = '\0';

    return dst;
}


u_char *
hm_pstrdup(hm_pool_t *pool, hm_str_t *src)
{
    u_char  *dst;

    dst = hm_pnalloc(pool, src->len + 1);
    if (dst == NULL) {
        return NULL;
    }

    hm_memcpy(dst, src->data, src->len);
    dst[src->len] = '\0';

    return dst;
}


u_char *
hm_sprintf(u_char *buf, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = hm_vslprintf(buf, (void *) -1, fmt, args);
    va_end(args);

    return p;
}


u_char *
hm_snprintf(u_char *buf, size_t max, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = hm_vslprintf(buf, buf + max, fmt, args);
    va_end(args);

    return p;
}


u_char *
hm_slprintf(u_char *buf, u_char *last, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = hm_vslprintf(buf, last, fmt, args);
    va_end(args);

    return p;
}


/*
 * Supported formats:
 *    %[0][width][x][X]O        off_t
 *    %[0][width]T              time_t
 *    %[0][width][u][x|X]z      ssize_t/size_t
 *    %[0][width][u][x|X]d      int/u_int
 *    %[0][width][u][x|X]l      long
 *    %[0][width|m][u][x|X]i    hm_int_t/hm_uint_t
 *    %[0][width][u][x|X]D      int32_t/uint32_t
 *    %[0][width][u][x|X]L      int64_t/uint64_t
 *    %[0][width][u][x|X]M      hm_msec_t
 *    %[0][width][.width]f      double
 *    %P                        hm_pid_t
 *    %p                        void *
 *    %V                        hm_str_t *
 *    %s                        null-terminated string
 *    %*s                       length and string
 *    %Z                        '\0'
 *    %N                        '\n'
 *    %c                        char
 *    %%                        %
 */

u_char *
hm_vslprintf(u_char *buf, u_char *last, const char *fmt, va_list args)
{
    u_char      *p, zero;
    int          d;
    double       f;
    size_t       slen;
    int64_t      i64;
    uint64_t     ui64, frac;
    hm_msec_t    ms;
    hm_uint_t    width, sign, hex, frac_width, scale, n;
    hm_str_t    *v;

    while (*fmt && buf < last) {

        if (*fmt == '%') {

            i64 = 0;
            ui64 = 0;

            zero = (u_char) ((*++fmt == '0') ? '0' : ' ');
            width = 0;
            sign = 1;
            hex = 0;
            frac_width = 0;
            slen = (size_t) -1;

            while (*fmt >= '0' && *fmt <= '9') {
                width = width * 10 + (*fmt++ - '0');
            }

            for ( ;; ) {
                switch (*fmt) {

                case 'u':
                    sign = 0;
                    fmt++;
                    continue;

                case 'X':
                    hex = 2;
                    sign = 0;
                    fmt++;
                    continue;

                case 'x':
                    hex = 1;
                    sign = 0;
                    fmt++;
                    continue;

                case '.':
                    fmt++;

                    while (*fmt >= '0' && *fmt <= '9') {
                        frac_width = frac_width * 10 + (*fmt++ - '0');
                    }

                    break;

                case '*':
                    slen = va_arg(args, size_t);
                    fmt++;
                    continue;

                default:
                    break;
                }

                break;
            }


            switch (*fmt) {

            case 'V':
                v = va_arg(args, hm_str_t *);

                n = hm_min(((size_t) (last - buf)), v->len);

                if (n) {
                    buf = hm_cpymem(buf, v->data, n);
                }

                fmt++;

                continue;

            case 's':
                p = va_arg(args, u_char *);

                if (p == NULL) {
                    p = (u_char *) "(null)";
                    slen = (size_t) -1;
                }

                if (slen == (size_t) -1) {
                    while (*p && buf < last) {
                        *buf++ = *p++;
                    }

                } else {
                    n = hm_min(((size_t) (last - buf)), slen);
                    buf = hm_cpymem(buf, p, n);
                }

                fmt++;

                continue;

            case 'O':
                i64 = (int64_t) va_arg(args, off_t);
                sign = 1;
                break;

            case 'P':
                i64 = (int64_t) va_arg(args, pid_t);
                sign = 1;
                break;

            case 'T':
                i64 = (int64_t) va_arg(args, time_t);
                sign = 1;
                break;

            case 'M':
                ms = (hm_msec_t) va_arg(args, hm_msec_t);
                if ((hm_msec_int_t) ms == -1) {
                    sign = 1;
                    i64 = -1;
                } else {
                    sign = 0;
                    ui64 = (uint64_t) ms;
                }
                break;

            case 'z':
                if (sign) {
                    i64 = (int64_t) va_arg(args, ssize_t);
                } else {
                    ui64 = (uint64_t) va_arg(args, size_t);
                }
                break;

            case 'i':
                if (sign) {
                    i64 = (int64_t) va_arg(args, hm_int_t);
                } else {
                    ui64 = (uint64_t) va_arg(args, hm_uint_t);
                }
                break;

            case 'd':
                if (sign) {
                    i64 = (int64_t) va_arg(args, int);
                } else {
                    ui64 = (uint64_t) va_arg(args, u_int);
                }
                break;

            case 'l':
                if (sign) {
                    i64 = (int64_t) va_arg(args, long);
                } else {
                    ui64 = (uint64_t) va_arg(args, u_long);
                }
                break;

            case 'D':
                if (sign) {
                    i64 = (int64_t) va_arg(args, int32_t);
                } else {
                    ui64 = (uint64_t) va_arg(args, uint32_t);
                }
                break;

            case 'L':
                if (sign) {
                    i64 = va_arg(args, int64_t);
                } else {
                    ui64 = va_arg(args, uint64_t);
                }
                break;

            case 'f':
                f = va_arg(args, double);

                if (f < 0) {
                    *buf++ = '-';
                    f = -f;
                }

                ui64 = (uint64_t) f;
                frac = 0;

                if (frac_width) {

                    scale = 1;
                    for (n = frac_width; n; n--) {
                        scale *= 10;
                    }

                    frac = (uint64_t) ((f - (double) ui64) * scale + 0.5);

                    if (frac == scale) {
                        ui64++;
                        frac = 0;
                    }
                }

                buf = hm_sprintf_num(buf, last, ui64, zero, 0, width);

                if (frac_width) {
                    if (buf < last) {
                        *buf++ = '.';
                    }

                    buf = hm_sprintf_num(buf, last, frac, '0', 0, frac_width);
                }

                fmt++;

                continue;

            case 'p':
                ui64 = (uintptr_t) va_arg(args, void *);
                hex = 2;
                sign = 0;
                zero = '0';
                width = 2 * sizeof(void *);
                break;

            case 'c':
                d = va_arg(args, int);
                *buf++ = (u_char) (d & 0xff);
                fmt++;

                continue;

            case 'Z':
                *buf++ = '\0';
                fmt++;

                continue;

            case 'N':
                *buf++ = LF;
                fmt++;

                continue;

            case '%':
                *buf++ = '%';
                fmt++;

                continue;

            default:
                *buf++ = *fmt++;

                continue;
            }

            if (sign) {
                if (i64 < 0) {
                    *buf++ = '-';
                    ui64 = (uint64_t) 0 - (uint64_t) i64;

                } else {
                    ui64 = (uint64_t) i64;
                }
            }

            buf = hm_sprintf_num(buf, last, ui64, zero, hex, width);

            fmt++;

        } else {
            *buf++ = *fmt++;
        }
    }

    return buf;
}


static u_char *
hm_sprintf_num(u_char *buf, u_char *last, uint64_t ui64, u_char zero,
    hm_uint_t hexadecimal, hm_uint_t width)
{
    u_char         *p, temp[HM_INT64_LEN + 1];
    size_t          len;
    static u_char   hex[] = "0123456789abcdef";
    static u_char   HEX[] = "0123456789ABCDEF";

    p = temp + HM_INT64_LEN;

    if (hexadecimal == 0) {
        do {
            *--p = (u_char) (ui64 % 10 + '0');
        } while (ui64 /= 10);

    } else if (hexadecimal == 1) {
        do {
            *--p = hex[(uint32_t) (ui64 & 0xf)];
        } while (ui64 >>= 4);

    } else {
        do {
            *--p = HEX[(uint32_t) (ui64 & 0xf)];
        } while (ui64 >>= 4);
    }

    len = (temp + HM_INT64_LEN) - p;

    while (len++ < width && buf < last) {
        *buf++ = zero;
    }

    len = (temp + HM_INT64_LEN) - p;

    if (buf + len > last) {
        len = last - buf;
    }

    return hm_cpymem(buf, p, len);
}


hm_int_t
hm_strcasecmp(u_char *s1, u_char *s2)
{
    hm_uint_t  c1, c2;

    for ( ;; ) {
        c1 = hm_tolower(*s1);
        c2 = hm_tolower(*s2);
        s1++;
        s2++;

        if (c1 == c2) {
            if (c1) {
                continue;
            }

            return 0;
        }

        return c1 - c2;
    }
}


hm_int_t
hm_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    hm_uint_t  c1, c2;

    while (n) {
        c1 = hm_tolower(*s1);
        c2 = hm_tolower(*s2);
        s1++;
        s2++;

        if (c1 == c2) {
            if (c1) {
                n--;
                continue;
            }

            return 0;
        }

        return c1 - c2;
    }

    return 0;
}


u_char *
hm_strnstr(u_char *s1, char *s2, size_t len)
{
    size_t  n;

    n = hm_strlen(s2);

    while (len >= n) {
        if (hm_memcmp(s1, s2, n) == 0) {
            return s1;
        }

        s1++;
        len--;
    }

    return NULL;
}


hm_int_t
hm_atoi(u_char *line, size_t n)
{
    hm_int_t  value, cutoff, cutlim;

    if (n == 0) {
        return HM_ERROR;
    }

    cutoff = HM_MAX_INT_T_VALUE / 10;
    cutlim = HM_MAX_INT_T_VALUE % 10;

    for (value = 0; n--; line++) {
        if (*line < '0' || *line > '9') {
            return HM_ERROR;
        }

        if (value >= cutoff && (value > cutoff || *line - '0' > cutlim)) {
            return HM_ERROR;
        }

        value = value * 10 + (*line - '0');
    }

    return value;
}


ssize_t
hm_atosz(u_char *line, size_t n)
{
    return (ssize_t) hm_atoi(line, n);
}


hm_int_t
hm_hextoi(u_char *line, size_t n)
{
    u_char     c, ch;
    hm_int_t   value, cutoff;

    if (n == 0) {
        return HM_ERROR;
    }

    cutoff = HM_MAX_INT_T_VALUE / 16;

    for (value = 0; n--; line++) {
        if (value > cutoff) {
            return HM_ERROR;
        }

        ch = *line;

        if (ch >= '0' && ch <= '9') {
            value = value * 16 + (ch - '0');
            continue;
        }

        c = (u_char) (ch | 0x20);

        if (c >= 'a' && c <= 'f') {
            value = value * 16 + (c - 'a' + 10);
            continue;
        }

        return HM_ERROR;
    }

    return value;
}


u_char *
hm_hex_dump(u_char *dst, u_char *src, size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    while (len--) {
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src++ & 0xf];
    }

    return dst;
}


off_t
hm_atoof(u_char *line, size_t n)
{
    off_t  value, cutoff, cutlim;

    if (n == 0) {
        return HM_ERROR;
    }

    cutoff = HM_MAX_OFF_T_VALUE / 10;
    cutlim = HM_MAX_OFF_T_VALUE % 10;

    for (value = 0; n--; line++) {
        if (*line < '0' || *line > '9') {
            return HM_ERROR;
        }

        if (value >= cutoff && (value > cutoff || *line - '0' > cutlim)) {
            return HM_ERROR;
        }

        value = value * 10 + (*line - '0');
    }

    return value;
}


time_t
hm_atotm(u_char *line, size_t n)
{
    return (time_t) hm_atoi(line, n);
}


/*
 * hm_strcasestrn() is intended to search for static substring
 * with known length in null-terminated string. The argument n
 * must be length of the second substring - 1.
 */

u_char *
hm_strcasestrn(u_char *s1, char *s2, size_t n)
{
    hm_uint_t  c1, c2;

    c2 = (hm_uint_t) *s2++;
    c2 = (c2 >= 'A' && c2 <= 'Z') ? (c2 | 0x20) : c2;

    do {
        do {
            c1 = (hm_uint_t) *s1++;

            if (c1 == 0) {
                return NULL;
            }

            c1 = (c1 >= 'A' && c1 <= 'Z') ? (c1 | 0x20) : c1;

        } while (c1 != c2);

    } while (hm_strncasecmp(s1, (u_char *) s2, n) != 0);

    return --s1;
}


/* a case-insensitive search of s2 in the first n bytes of s1 */

u_char *
hm_strnstr_case(u_char *s1, char *s2, size_t n)
{
    size_t  len;

    len = hm_strlen(s2);

    while (n >= len) {
        if (hm_strncasecmp(s1, (u_char *) s2, len) == 0) {
            return s1;
        }

        s1++;
        n--;
    }

    return NULL;
}


void
hm_encode_base64(hm_str_t *dst, hm_str_t *src)
{
    u_char         *d, *s;
    size_t          len;
    static u_char   basis[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    len = src->len;
    s = src->data;
    d = dst->data;

    while (len > 2) {
        *d++ = basis[(s[0] >> 2) & 0x3f];
        *d++ = basis[((s[0] & 3) << 4) | (s[1] >> 4)];
        *d++ = basis[((s[1] & 0x0f) << 2) | (s[2] >> 6)];
        *d++ = basis[s[2] & 0x3f];

        s += 3;
        len -= 3;
    }

    if (len) {
        *d++ = basis[(s[0] >> 2) & 0x3f];

        if (len == 1) {
            *d++ = basis[(s[0] & 3) << 4];
            *d++ = '=';

        } else {
            *d++ = basis[((s[0] & 3) << 4) | (s[1] >> 4)];
            *d++ = basis[(s[1] & 0x0f) << 2];
        }

        *d++ = '=';
    }

    dst->len = d - dst->data;
}
