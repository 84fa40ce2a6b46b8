/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


ssize_t
hm_read_file(hm_file_t *file, u_char *buf, size_t size, off_t offset)
{
    ssize_t  n;

    for ( ;; ) {
        n = pread(file->fd, buf, size, offset);

        if (n == -1 && hm_errno == HM_EINTR) {
            continue;
        }

        break;
    }

    if (n == -1) {
        hm_log_error(HM_LOG_CRIT, file->log, hm_errno,
                     "pread() \"%V\" failed", &file->name);
        return HM_ERROR;
    }

    file->offset += n;

    return n;
}


ssize_t
hm_write_fd(hm_fd_t fd, void *buf, size_t n)
{
    ssize_t  rc;

    do {
        rc = write(fd, buf, n);
    } while (rc == -1 && hm_errno == HM_EINTR);

    return rc;
}


hm_int_t
hm_open_glob(hm_glob_t *gl)
{
    int  n;

    n = glob((char *) gl->pattern, 0, NULL, &gl->pglob);

    if (n == 0) {
        return HM_OK;
    }

#ifdef GLOB_NOMATCH

    if (n == GLOB_NOMATCH && gl->test) {
        return HM_OK;
    }

#endif

    return HM_ERROR;
}


hm_int_t
hm_read_glob(hm_glob_t *gl, hm_str_t *name)
{
    size_t  count;

    count = (size_t) gl->pglob.gl_pathc;

    if (gl->n < count) {

        name->len = hm_strlen(gl->pglob.gl_pathv[gl->n]);
        name->data = (u_char *) gl->pglob.gl_pathv[gl->n];
        gl->n++;

        return HM_OK;
    }

    return HM_DONE;
}


void
hm_close_glob(hm_glob_t *gl)
{
    globfree(&gl->pglob);
}


/*
 * Make "name" absolute against "prefix" unless it already is.  The result
 * is NUL-terminated.
 */

hm_int_t
hm_get_full_name(hm_pool_t *pool, hm_str_t *prefix, hm_str_t *name)
{
    size_t   len;
    u_char  *p;

    if (name->len > 0 && name->data[0] == '/') {
        p = hm_pnalloc(pool, name->len + 1);
        if (p == NULL) {
            return HM_ERROR;
        }

        hm_memcpy(p, name->data, name->len);
        p[name->len] = '\0';
        name->data = p;

        return HM_OK;
    }

    len = prefix->len;

    p = hm_pnalloc(pool, len + name->len + 1);
    if (p == NULL) {
        return HM_ERROR;
    }

    hm_memcpy(p, prefix->data, len);
    hm_memcpy(p + len, name->data, name->len);
    p[len + name->len] = '\0';

    name->len += len;
    name->data = p;

    return HM_OK;
}


void
hm_write_stderr_uint(hm_uint_t n)
{
    u_char  buf[HM_INT64_LEN], *p;

    p = hm_sprintf(buf, "%ui", n);

    (void) hm_write_fd(hm_stderr, buf, p - buf);
}
