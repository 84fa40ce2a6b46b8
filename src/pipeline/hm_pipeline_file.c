/*
 * Copyright (C) hermod authors
 *
 * The file outbound: each message appended to a file as one JSON line
 * (or its raw body and a newline).
 *
 *     outbound archive file {
 *         path /var/spool/hermod/orders-$message_header_x_region.jsonl;
 *         format json;
 *         fsync off;
 *     }
 *
 * A fixed path is opened by the master like a log file and reopened on
 * USR1.  A path with variables is opened per worker on first use and
 * kept open (up to open_files of them); a kept file whose path now names
 * another file (it was rotated) is reopened, checked at most once a
 * second.  A message is delivered once write() took all of it (and
 * fdatasync() returned, with "fsync on").
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_pipeline.h>


#define HM_FILE_OUT_JSON   0
#define HM_FILE_OUT_RAW    1


typedef struct {
    hm_str_t                    path;
    hm_fd_t                     fd;
    ino_t                       uniq;
    time_t                      checked;
    hm_msec_t                   used;
} hm_file_out_cached_t;


typedef struct {
    hm_complex_value_t         *path;
    hm_open_file_t             *file;      /* fixed path */
    hm_uint_t                   format;
    hm_flag_t                   fsync;
    hm_uint_t                   open_files;
} hm_file_out_conf_t;


typedef struct {
    hm_file_out_cached_t       *files;
    hm_uint_t                   nfiles;
    hm_log_t                   *log;
} hm_file_out_t;


static void *hm_file_out_create_conf(hm_conf_t *cf);
static char *hm_file_out_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob);
static hm_int_t hm_file_out_init_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static void hm_file_out_exit_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static hm_int_t hm_file_out_send(hm_pipeline_outbound_t *ob, hm_msg_t *m);
static hm_fd_t hm_file_out_fd(hm_pipeline_outbound_t *ob, hm_msg_t *m);
static hm_int_t hm_file_out_record(hm_msg_t *m, hm_str_t *out);
static char *hm_file_out_path(hm_conf_t *cf, hm_command_t *cmd, void *conf);


static hm_conf_enum_t  hm_file_out_formats[] = {
    { hm_string("json"), HM_FILE_OUT_JSON },
    { hm_string("raw"), HM_FILE_OUT_RAW },
    { hm_null_string, 0 }
};


static hm_command_t  hm_file_out_commands[] = {

    { hm_string("path"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_file_out_path,
      0,
      0,
      NULL,
      "The file messages are appended to; may contain variables." },

    { hm_string("format"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      0,
      offsetof(hm_file_out_conf_t, format),
      &hm_file_out_formats,
      "json: one JSON object per message and line; raw: the body, LF." },

    { hm_string("fsync"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_file_out_conf_t, fsync),
      NULL,
      "Deliver a message only once fdatasync() returned." },

    { hm_string("open_files"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_file_out_conf_t, open_files),
      NULL,
      "Files a worker keeps open for a path with variables." },

      hm_null_command
};


static hm_pipeline_outbound_type_t  hm_file_out_type = {
    hm_string("file"),
    hm_file_out_create_conf,
    hm_file_out_init_conf,
    hm_file_out_init_process,
    hm_file_out_exit_process,
    hm_file_out_send,
    NULL,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_module_t  hm_pipeline_file_module_ctx = {
    &hm_file_out_type,
    NULL,
    { NULL, NULL, NULL }
};


hm_module_t  hm_pipeline_file_module = {
    HM_MODULE_V1,
    &hm_pipeline_file_module_ctx,          /* module context */
    hm_file_out_commands,                  /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static void *
hm_file_out_create_conf(hm_conf_t *cf)
{
    hm_file_out_conf_t  *conf;

    conf = hm_pcalloc(cf->pool, sizeof(hm_file_out_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->format = HM_CONF_UNSET_UINT;
    conf->fsync = HM_CONF_UNSET;
    conf->open_files = HM_CONF_UNSET_UINT;

    return conf;
}


static char *
hm_file_out_path(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_file_out_conf_t  *fcf = conf;

    hm_str_t  *value;

    if (fcf->path) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* relative to the prefix, as log files */

    if (hm_conf_full_name(cf->cycle, &value[1], 0) != HM_OK) {
        return HM_CONF_ERROR;
    }

    fcf->path = hm_pcalloc(cf->pool, sizeof(hm_complex_value_t));
    if (fcf->path == NULL) {
        return HM_CONF_ERROR;
    }

    if (hm_complex_value_compile(cf, &value[1], HM_VAR_MESSAGE, fcf->path)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (fcf->path->parts == NULL) {
        fcf->file = hm_conf_open_file(cf->cycle, &value[1]);
        if (fcf->file == NULL) {
            return HM_CONF_ERROR;
        }
    }

    return HM_CONF_OK;
}


static char *
hm_file_out_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob)
{
    hm_file_out_conf_t  *fcf = ob->conf;

    if (fcf->path == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "outbound \"%V\" has no \"path\"", &ob->name);
        return HM_CONF_ERROR;
    }

    hm_conf_init_uint_value(fcf->format, HM_FILE_OUT_JSON);
    hm_conf_init_value(fcf->fsync, 0);
    hm_conf_init_uint_value(fcf->open_files, 16);

    if (fcf->open_files == 0) {
        fcf->open_files = 1;
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_file_out_init_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_file_out_t       *fo;
    hm_file_out_conf_t  *fcf = ob->conf;

    fo = hm_pcalloc(cycle->pool, sizeof(hm_file_out_t));
    if (fo == NULL) {
        return HM_ERROR;
    }

    fo->log = cycle->log;

    if (fcf->file == NULL) {
        fo->files = hm_pcalloc(cycle->pool,
                               fcf->open_files * sizeof(hm_file_out_cached_t));
        if (fo->files == NULL) {
            return HM_ERROR;
        }
    }

    ob->data = fo;

    return HM_OK;
}


static void
hm_file_out_exit_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_uint_t       i;
    hm_file_out_t  *fo = ob->data;

    if (fo == NULL) {
        return;
    }

    for (i = 0; i < fo->nfiles; i++) {
        (void) hm_close_file(fo->files[i].fd);
        hm_free(fo->files[i].path.data);
    }

    fo->nfiles = 0;
}


static hm_int_t
hm_file_out_send(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_file_out_conf_t  *fcf = ob->conf;

    hm_fd_t    fd;
    ssize_t    n;
    hm_str_t   rec, body;

    fd = hm_file_out_fd(ob, m);
    if (fd == HM_INVALID_FILE) {
        return HM_RETRY;
    }

    if (fcf->format == HM_FILE_OUT_JSON) {
        if (hm_file_out_record(m, &rec) != HM_OK) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL,
                             "cannot encode the message as JSON");
            return HM_ERROR;
        }

    } else {
        if (hm_msg_body_flat(m, &body) != HM_OK) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_ERROR;
        }

        rec.data = hm_pnalloc(m->pool, body.len + 1);
        if (rec.data == NULL) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_ERROR;
        }

        rec.len = hm_cpymem(rec.data, body.data, body.len) - rec.data;
        rec.data[rec.len++] = LF;
    }

    /* one write() of the whole record: appends from workers never mix */

    n = hm_write_fd(fd, rec.data, rec.len);

    if (n != (ssize_t) rec.len) {
        hm_msg_set_error(m, HM_MSG_ERR_ERROR, "write() to file failed (%d: %s)",
                         n == -1 ? hm_errno : 0,
                         n == -1 ? strerror(hm_errno) : "short write");
        return HM_RETRY;
    }

    if (fcf->fsync && hm_fdatasync(fd) == -1) {
        hm_msg_set_error(m, HM_MSG_ERR_ERROR, hm_fdatasync_n " failed (%d)",
                         hm_errno);
        return HM_RETRY;
    }

    return HM_OK;
}


static hm_fd_t
hm_file_out_fd(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_file_out_conf_t  *fcf = ob->conf;
    hm_file_out_t       *fo = ob->data;

    hm_fd_t                fd;
    hm_str_t               path;
    hm_uint_t              i, lru;
    hm_file_info_t         fi;
    hm_file_out_cached_t  *f;

    if (fcf->file) {
        return fcf->file->fd;
    }

    if (hm_complex_value(m, m->pool, fcf->path, &path) != HM_OK) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_INVALID_FILE;
    }

    if (path.len == 0 || hm_strlchr(path.data, path.data + path.len, '\0')) {
        hm_msg_set_error(m, HM_MSG_ERR_ERROR, "invalid file path \"%V\"",
                         &path);
        return HM_INVALID_FILE;
    }

    lru = 0;

    for (i = 0; i < fo->nfiles; i++) {
        f = &fo->files[i];

        if (f->path.len == path.len
            && hm_memcmp(f->path.data, path.data, path.len) == 0)
        {
            break;
        }

        if (f->used < fo->files[lru].used) {
            lru = i;
        }
    }

    if (i < fo->nfiles) {
        f->used = hm_current_msec;

        if (f->checked == hm_time()) {
            return f->fd;
        }

        /* renamed away by a rotation: open the path again */

        f->checked = hm_time();

        if (hm_file_info(f->path.data, &fi) != -1
            && hm_file_uniq(&fi) == f->uniq)
        {
            return f->fd;
        }

        (void) hm_close_file(f->fd);

    } else if (fo->nfiles < fcf->open_files) {
        f = &fo->files[fo->nfiles++];
        f->path.data = NULL;

    } else {
        f = &fo->files[lru];
        (void) hm_close_file(f->fd);
        hm_free(f->path.data);
        f->path.data = NULL;
    }

    if (f->path.data == NULL) {
        f->path.data = hm_alloc(path.len + 1, fo->log);
        if (f->path.data == NULL) {
            fo->nfiles--;
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_INVALID_FILE;
        }

        f->path.len = path.len;
        hm_cpystrn(f->path.data, path.data, path.len + 1);
    }

    fd = hm_open_file(f->path.data, HM_FILE_APPEND, HM_FILE_CREATE_OR_OPEN,
                      HM_FILE_DEFAULT_ACCESS);

    if (fd == HM_INVALID_FILE || hm_fd_info(fd, &fi) == -1) {
        hm_msg_set_error(m, HM_MSG_ERR_ERROR,
                         hm_open_file_n " \"%V\" failed (%d: %s)", &f->path,
                         hm_errno, strerror(hm_errno));

        if (fd != HM_INVALID_FILE) {
            (void) hm_close_file(fd);
        }

        /* forget the slot: the last one moves in */

        hm_free(f->path.data);
        *f = fo->files[--fo->nfiles];

        return HM_INVALID_FILE;
    }

    f->fd = fd;
    f->uniq = hm_file_uniq(&fi);
    f->checked = hm_time();
    f->used = hm_current_msec;

    return fd;
}


/*
 * {"time":"2026-11-29T21:13:20.123Z","id":"...","pipeline":"orders",
 *  "source":"http","key":"...","attempts":1,
 *  "headers":{"content-type":"application/json", ...},
 *  "body":{...} | "text" , "body_base64":"..." }
 *
 * Written by hand in one pass: a body that no filter parsed is checked
 * and compacted without building a tree.
 */

typedef struct {
    hm_str_t         name;        /* lowercased */
    hm_uint_t        count;       /* of this name, on the first */
    hm_uint_t        first;       /* the index of the first of the name */
    ssize_t          esc;         /* escaped value length, -1: not UTF-8 */
} hm_file_out_hdr_t;


static hm_int_t
hm_file_out_record(hm_msg_t *m, hm_str_t *out)
{
    u_char              *p, *b, ts[64];
    size_t               size;
    ssize_t              n, body_esc;
    hm_str_t             body, b64;
    hm_uint_t            i, j, nh;
    struct tm            tm;
    hm_msg_header_t     *h;
    hm_file_out_hdr_t   *fh;

    h = m->headers.elts;
    nh = m->headers.nelts;

    fh = hm_palloc(m->pool, (nh + 1) * sizeof(hm_file_out_hdr_t));
    if (fh == NULL) {
        return HM_ERROR;
    }

    size = sizeof("{\"time\":\"\",\"id\":\"\",\"pipeline\":\"\","
                  "\"source\":\"\",\"key\":\"\",\"attempts\":,"
                  "\"headers\":{},\"body_base64\":\"\"}\n")
           + sizeof(ts) + HM_INT_T_LEN
           + 6 * (m->id.len + m->pipeline->name.len + m->source.name.len
                  + m->key.len);

    for (i = 0; i < nh; i++) {
        fh[i].name.len = h[i].name.len;
        fh[i].name.data = hm_pnalloc(m->pool, h[i].name.len);
        if (fh[i].name.data == NULL) {
            return HM_ERROR;
        }

        hm_strlow(fh[i].name.data, h[i].name.data, h[i].name.len);

        fh[i].esc = hm_json_escape_len(h[i].value.data, h[i].value.len);
        fh[i].count = 0;
        fh[i].first = i;

        /* a repeated name: counted on its first occurrence */

        for (j = 0; j < i; j++) {
            if (fh[j].first == j && fh[j].name.len == fh[i].name.len
                && hm_memcmp(fh[j].name.data, fh[i].name.data,
                             fh[i].name.len) == 0)
            {
                fh[i].first = j;
                break;
            }
        }

        if (fh[i].esc >= 0) {
            fh[fh[i].first].count++;
            size += 6 * h[i].name.len + fh[i].esc + sizeof("\"\":[\"\"],");
        }
    }

    /* the body: as JSON, as a string, or base64 */

    if (hm_msg_body_flat(m, &body) != HM_OK) {
        return HM_ERROR;
    }

    body_esc = -2;

    if (body.len == 0 || !(m->json || hm_msg_is_json_type(m))) {
        body_esc = hm_json_escape_len(body.data, body.len);
    }

    size += (body_esc == -2 || body_esc == -1)
            ? hm_base64_encoded_length(body.len) + body.len
            : (size_t) body_esc;

    b = hm_pnalloc(m->pool, size);
    if (b == NULL) {
        return HM_ERROR;
    }

    hm_gmtime((time_t) (m->created / 1000), &tm);

    p = hm_sprintf(b, "{\"time\":\"%4d-%02d-%02dT%02d:%02d:%02d.%03MZ\","
                   "\"id\":\"",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                   tm.tm_hour, tm.tm_min, tm.tm_sec, m->created % 1000);

    p = hm_json_escape(p, m->id.data, m->id.len);
    p = hm_cpymem(p, "\",\"pipeline\":\"", sizeof("\",\"pipeline\":\"") - 1);
    p = hm_json_escape(p, m->pipeline->name.data, m->pipeline->name.len);
    p = hm_cpymem(p, "\",\"source\":\"", sizeof("\",\"source\":\"") - 1);
    p = hm_json_escape(p, m->source.name.data, m->source.name.len);

    if (m->key.len) {
        p = hm_cpymem(p, "\",\"key\":\"", sizeof("\",\"key\":\"") - 1);
        p = hm_json_escape(p, m->key.data, m->key.len);
    }

    p = hm_sprintf(p, "\",\"attempts\":%ui,\"headers\":{", m->attempts);

    for (i = 0, n = 0; i < nh; i++) {
        if (fh[i].first != i || fh[i].count == 0) {
            continue;
        }

        if (n++) {
            *p++ = ',';
        }

        *p++ = '"';
        p = hm_json_escape(p, fh[i].name.data, fh[i].name.len);
        p = hm_cpymem(p, "\":", 2);

        if (fh[i].count > 1) {
            *p++ = '[';
        }

        for (j = i; j < nh; j++) {
            if (fh[j].first != i || fh[j].esc < 0) {
                continue;
            }

            if (j != i) {
                *p++ = ',';
            }

            *p++ = '"';
            p = hm_json_escape(p, h[j].value.data, h[j].value.len);
            *p++ = '"';
        }

        if (fh[i].count > 1) {
            *p++ = ']';
        }
    }

    p = hm_cpymem(p, "},", 2);

    if (body_esc == -2) {
        p = hm_cpymem(p, "\"body\":", sizeof("\"body\":") - 1);

        n = hm_json_compact(p, body.data, body.len);

        if (n >= 0) {
            p += n;
            goto done;
        }

        /* not JSON after all: a string then */

        p -= sizeof("\"body\":") - 1;
        body_esc = hm_json_escape_len(body.data, body.len);

        if (body_esc > (ssize_t) (b + size - p) - 32) {
            u_char  *nb;

            nb = hm_pnalloc(m->pool, (p - b) + body_esc + 32);
            if (nb == NULL) {
                return HM_ERROR;
            }

            p = hm_cpymem(nb, b, p - b);
            b = nb;
        }
    }

    if (body_esc >= 0) {
        p = hm_cpymem(p, "\"body\":\"", sizeof("\"body\":\"") - 1);
        p = hm_json_escape(p, body.data, body.len);
        *p++ = '"';
        goto done;
    }

    p = hm_cpymem(p, "\"body_base64\":\"", sizeof("\"body_base64\":\"") - 1);
    b64.data = p;
    hm_encode_base64(&b64, &body);
    p += b64.len;
    *p++ = '"';

done:

    *p++ = '}';
    *p++ = LF;

    out->data = b;
    out->len = p - b;

    return HM_OK;
}
