/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


u_char *
hm_strerror(hm_err_t err, u_char *errstr, size_t size)
{
    char    buf[128], *msg;
    size_t  len;

    /* the GNU variant: returns a pointer that may or may not be buf */
    msg = strerror_r(err, buf, sizeof(buf));

    len = hm_strlen(msg);
    if (len > size) {
        len = size;
    }

    return hm_cpymem(errstr, msg, len);
}
