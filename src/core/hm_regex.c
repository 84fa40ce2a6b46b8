/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static void hm_regex_cleanup(void *data);


/* one match data block per process, grown as needed: workers are single
 * threaded, so sharing it is safe */

static pcre2_match_data  *hm_regex_match_data;
static hm_uint_t          hm_regex_match_data_size;


hm_int_t
hm_regex_compile(hm_regex_compile_t *rc)
{
    int                 n, errcode;
    char               *p;
    u_char              errstr[128];
    size_t              erroff;
    uint32_t            options, v;
    pcre2_code         *re;
    hm_regex_t         *regex;
    hm_pool_cleanup_t  *cln;

    options = 0;

    if (rc->options & HM_REGEX_CASELESS) {
        options |= PCRE2_CASELESS;
    }

    if (rc->options & HM_REGEX_MULTILINE) {
        options |= PCRE2_MULTILINE;
    }

    re = pcre2_compile(rc->pattern.data, rc->pattern.len, options,
                       &errcode, &erroff, NULL);

    if (re == NULL) {
        pcre2_get_error_message(errcode, errstr, sizeof(errstr));

        p = (char *) hm_pnalloc(rc->pool, 256);
        if (p == NULL) {
            return HM_ERROR;
        }

        rc->err.data = (u_char *) p;
        rc->err.len = hm_snprintf((u_char *) p, 256,
                                  "pcre2_compile() failed: %s in \"%V\" "
                                  "at \"%s\"", errstr, &rc->pattern,
                                  rc->pattern.data + erroff)
                      - (u_char *) p;

        return HM_ERROR;
    }

    /* JIT is an optimization: a failure to JIT still leaves a working re */

    (void) pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);

    regex = hm_pcalloc(rc->pool, sizeof(hm_regex_t));
    if (regex == NULL) {
        pcre2_code_free(re);
        return HM_ERROR;
    }

    cln = hm_pool_cleanup_add(rc->pool, 0);
    if (cln == NULL) {
        pcre2_code_free(re);
        return HM_ERROR;
    }

    regex->code = re;
    cln->handler = hm_regex_cleanup;
    cln->data = regex;

    n = pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &v);
    if (n < 0) {
        goto failed;
    }

    rc->captures = v;

    n = pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &v);
    if (n < 0) {
        goto failed;
    }

    rc->named_captures = v;

    if (rc->named_captures) {
        n = pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &v);
        if (n < 0) {
            goto failed;
        }

        rc->name_size = v;

        n = pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &rc->names);
        if (n < 0) {
            goto failed;
        }
    }

    regex->captures = rc->captures;
    regex->named_captures = rc->named_captures;
    regex->name_size = rc->name_size;
    regex->names = rc->names;

    rc->regex = regex;

    return HM_OK;

failed:

    rc->err.data = (u_char *) "pcre2_pattern_info() failed";
    rc->err.len = sizeof("pcre2_pattern_info() failed") - 1;

    return HM_ERROR;
}


hm_int_t
hm_regex_exec(hm_regex_t *re, hm_str_t *s, int *captures, hm_uint_t size)
{
    int          rc;
    size_t      *ov;
    hm_uint_t    i, n;

    if (hm_regex_match_data == NULL
        || size / 2 + 1 > hm_regex_match_data_size)
    {
        if (hm_regex_match_data) {
            pcre2_match_data_free(hm_regex_match_data);
        }

        hm_regex_match_data_size = hm_max(size / 2 + 1, 10);
        hm_regex_match_data =
            pcre2_match_data_create((uint32_t) hm_regex_match_data_size,
                                    NULL);

        if (hm_regex_match_data == NULL) {
            hm_regex_match_data_size = 0;
            return PCRE2_ERROR_NOMEMORY;
        }
    }

    rc = pcre2_match(re->code, s->data, s->len, 0, 0, hm_regex_match_data,
                     NULL);

    if (rc < 0) {
        return rc;
    }

    n = pcre2_get_ovector_count(hm_regex_match_data);
    ov = pcre2_get_ovector_pointer(hm_regex_match_data);

    if (n > size / 2) {
        n = size / 2;
    }

    for (i = 0; i < n && captures; i++) {
        captures[i * 2] = (int) ov[i * 2];
        captures[i * 2 + 1] = (int) ov[i * 2 + 1];
    }

    return rc == 0 ? (hm_int_t) n : rc;
}


static void
hm_regex_cleanup(void *data)
{
    hm_regex_t  *re = data;

    pcre2_code_free(re->code);
}
