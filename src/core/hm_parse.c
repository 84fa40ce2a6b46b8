/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static int64_t
hm_parse_scaled(hm_str_t *line, int64_t max)
{
    u_char     unit;
    size_t     len;
    int64_t    scale, value;
    hm_int_t   n;

    len = line->len;

    if (len == 0) {
        return -1;
    }

    unit = line->data[len - 1];

    switch (unit) {
    case 'K':
    case 'k':
        len--;
        scale = 1024;
        break;

    case 'M':
    case 'm':
        len--;
        scale = 1024 * 1024;
        break;

    case 'G':
    case 'g':
        len--;
        scale = 1024 * 1024 * 1024;
        break;

    default:
        scale = 1;
    }

    n = hm_atoi(line->data, len);
    if (n == HM_ERROR) {
        return -1;
    }

    value = (int64_t) n;

    if (value > max / scale) {
        return -1;
    }

    return value * scale;
}


ssize_t
hm_parse_size(hm_str_t *line)
{
    return (ssize_t) hm_parse_scaled(line, SSIZE_MAX);
}


off_t
hm_parse_offset(hm_str_t *line)
{
    return (off_t) hm_parse_scaled(line, HM_MAX_OFF_T_VALUE);
}


/*
 * Returns milliseconds (or seconds when is_sec), HM_ERROR on a bad value.
 * A value without a unit is in seconds, as in nginx.
 */

hm_int_t
hm_parse_time(hm_str_t *line, hm_uint_t is_sec)
{
    u_char      *p, *last;
    hm_int_t     value, total, scale, max, cutoff, cutlim;
    hm_uint_t    valid;
    enum {
        st_start = 0,
        st_year,
        st_month,
        st_week,
        st_day,
        st_hour,
        st_min,
        st_sec,
        st_msec,
        st_last
    } step;

    valid = 0;
    value = 0;
    total = 0;
    cutoff = HM_MAX_INT_T_VALUE / 10;
    cutlim = HM_MAX_INT_T_VALUE % 10;
    step = is_sec ? st_start : st_month;

    p = line->data;
    last = p + line->len;

    while (p < last) {

        if (*p >= '0' && *p <= '9') {
            if (value >= cutoff && (value > cutoff || *p - '0' > cutlim)) {
                return HM_ERROR;
            }

            value = value * 10 + (*p++ - '0');
            valid = 1;
            continue;
        }

        if (!valid) {
            return HM_ERROR;
        }

        switch (*p++) {

        case 'y':
            if (step > st_start) {
                return HM_ERROR;
            }
            step = st_year;
            max = HM_MAX_INT_T_VALUE / (60 * 60 * 24 * 365);
            scale = 60 * 60 * 24 * 365;
            break;

        case 'M':
            if (step >= st_month) {
                return HM_ERROR;
            }
            step = st_month;
            max = HM_MAX_INT_T_VALUE / (60 * 60 * 24 * 30);
            scale = 60 * 60 * 24 * 30;
            break;

        case 'w':
            if (step >= st_week) {
                return HM_ERROR;
            }
            step = st_week;
            max = HM_MAX_INT_T_VALUE / (60 * 60 * 24 * 7);
            scale = 60 * 60 * 24 * 7;
            break;

        case 'd':
            if (step >= st_day) {
                return HM_ERROR;
            }
            step = st_day;
            max = HM_MAX_INT_T_VALUE / (60 * 60 * 24);
            scale = 60 * 60 * 24;
            break;

        case 'h':
            if (step >= st_hour) {
                return HM_ERROR;
            }
            step = st_hour;
            max = HM_MAX_INT_T_VALUE / (60 * 60);
            scale = 60 * 60;
            break;

        case 'm':
            if (p < last && *p == 's') {
                if (is_sec || step >= st_msec) {
                    return HM_ERROR;
                }
                p++;
                step = st_msec;
                max = HM_MAX_INT_T_VALUE;
                scale = 1;
                break;
            }

            if (step >= st_min) {
                return HM_ERROR;
            }
            step = st_min;
            max = HM_MAX_INT_T_VALUE / 60;
            scale = 60;
            break;

        case 's':
            if (step >= st_sec) {
                return HM_ERROR;
            }
            step = st_sec;
            max = HM_MAX_INT_T_VALUE;
            scale = 1;
            break;

        default:
            return HM_ERROR;
        }

        if (step != st_msec && !is_sec) {
            scale *= 1000;
            max /= 1000;
        }

        if (value > max) {
            return HM_ERROR;
        }

        value *= scale;

        if (total > HM_MAX_INT_T_VALUE - value) {
            return HM_ERROR;
        }

        total += value;

        value = 0;
        valid = 0;
    }

    if (!valid) {
        return (p == line->data) ? HM_ERROR : total;
    }

    /* a number without a unit: seconds */

    if (!is_sec) {
        if (value > HM_MAX_INT_T_VALUE / 1000) {
            return HM_ERROR;
        }

        value *= 1000;
    }

    if (total > HM_MAX_INT_T_VALUE - value) {
        return HM_ERROR;
    }

    return total + value;
}
