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
    { NULL, NULL, NULL, NULL }
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
 */

static hm_int_t
hm_file_out_record(hm_msg_t *m, hm_str_t *out)
{
    char              *buf;
    u_char             ts[64];
    size_t             size;
    json_t            *root, *headers, *body, *old, *arr;
    hm_str_t           text;
    hm_int_t           rc;
    hm_uint_t          i;
    hm_msg_header_t   *h;
    struct tm          tm;
    time_t             sec;

    rc = HM_ERROR;

    root = json_object();
    headers = json_object();
    if (root == NULL || headers == NULL) {
        goto done;
    }

    sec = m->created / 1000;
    hm_gmtime(sec, &tm);

    text.data = ts;
    text.len = hm_sprintf(ts, "%4d-%02d-%02dT%02d:%02d:%02d.%03MZ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                          tm.tm_hour, tm.tm_min, tm.tm_sec,
                          m->created % 1000)
               - ts;

    if (json_object_set_new(root, "time",
                            json_stringn((char *) text.data, text.len))
        || json_object_set_new(root, "id",
                               json_stringn((char *) m->id.data, m->id.len))
        || json_object_set_new(root, "pipeline",
                               json_stringn((char *) m->pipeline->name.data,
                                            m->pipeline->name.len))
        || json_object_set_new(root, "source",
                               json_stringn((char *) m->source.name.data,
                                            m->source.name.len))
        || json_object_set_new(root, "attempts",
                               json_integer(m->attempts)))
    {
        goto done;
    }

    if (m->key.len
        && json_object_set_new(root, "key",
                               json_stringn((char *) m->key.data, m->key.len)))
    {
        goto done;
    }

    /* headers: an object; a repeated name becomes an array of values */

    h = m->headers.elts;

    for (i = 0; i < m->headers.nelts; i++) {
        char    name[256];
        json_t  *v;

        if (h[i].name.len >= sizeof(name)) {
            continue;
        }

        hm_strlow((u_char *) name, h[i].name.data, h[i].name.len);
        name[h[i].name.len] = '\0';

        v = json_stringn((char *) h[i].value.data, h[i].value.len);
        if (v == NULL) {
            /* not UTF-8: the bytes as Latin-1 would lie; skip it */
            continue;
        }

        old = json_object_get(headers, name);

        if (old == NULL) {
            json_object_set_new(headers, name, v);

        } else if (json_is_array(old)) {
            json_array_append_new(old, v);

        } else {
            arr = json_array();
            json_array_append(arr, old);
            json_array_append_new(arr, v);
            json_object_set_new(headers, name, arr);
        }
    }

    if (json_object_set_new(root, "headers", headers)) {
        headers = NULL;
        goto done;
    }

    headers = NULL;

    /* the body: JSON as JSON, text as a string, other bytes in base64 */

    body = NULL;

    if (m->body_len && hm_msg_is_json_type(m)) {
        body = hm_msg_json(m);

        if (body) {
            json_incref(body);
        }
    }

    if (body == NULL) {
        if (hm_msg_body_flat(m, &text) != HM_OK) {
            goto done;
        }

        body = json_stringn((char *) text.data, text.len);

        if (body == NULL) {
            hm_str_t  b64;

            b64.data = hm_pnalloc(m->pool, hm_base64_encoded_length(text.len));
            if (b64.data == NULL) {
                goto done;
            }

            hm_encode_base64(&b64, &text);

            if (json_object_set_new(root, "body_base64",
                                    json_stringn((char *) b64.data, b64.len)))
            {
                goto done;
            }

        } else if (json_object_set_new(root, "body", body)) {
            goto done;
        }

    } else if (json_object_set_new(root, "body", body)) {
        goto done;
    }

    size = json_dumpb(root, NULL, 0, JSON_COMPACT);
    if (size == 0) {
        goto done;
    }

    buf = hm_pnalloc(m->pool, size + 1);
    if (buf == NULL) {
        goto done;
    }

    out->len = json_dumpb(root, buf, size, JSON_COMPACT);
    out->data = (u_char *) buf;
    out->data[out->len++] = LF;

    rc = HM_OK;

done:

    if (headers) {
        json_decref(headers);
    }

    if (root) {
        json_decref(root);
    }

    return rc;
}
