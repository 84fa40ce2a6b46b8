/*
 * Copyright (C) hermod authors
 *
 * PCRE2 regular expressions, compiled with JIT when available.
 */

#ifndef _HM_REGEX_H_INCLUDED_
#define _HM_REGEX_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH  8
#endif
#include <pcre2.h>


#define HM_REGEX_NO_MATCHED   PCRE2_ERROR_NOMATCH   /* -1 */

#define HM_REGEX_CASELESS     0x00000001
#define HM_REGEX_MULTILINE    0x00000002


typedef struct {
    pcre2_code               *code;
    hm_uint_t                 captures;
    hm_uint_t                 named_captures;
    hm_uint_t                 name_size;
    u_char                   *names;
} hm_regex_t;


typedef struct {
    hm_str_t                  pattern;
    hm_pool_t                *pool;
    hm_uint_t                 options;

    hm_regex_t               *regex;
    hm_uint_t                 captures;
    hm_uint_t                 named_captures;
    hm_uint_t                 name_size;
    u_char                   *names;
    hm_str_t                  err;
} hm_regex_compile_t;


hm_int_t hm_regex_compile(hm_regex_compile_t *rc);

/*
 * Matches s; captures (may be NULL) receive size/2 (start, end) offset
 * pairs.  Returns the number of pairs set (> 0), HM_REGEX_NO_MATCHED, or
 * another negative PCRE2 error.
 */
hm_int_t hm_regex_exec(hm_regex_t *re, hm_str_t *s, int *captures,
    hm_uint_t size);

#define hm_regex_exec_n  "pcre2_match()"


#endif /* _HM_REGEX_H_INCLUDED_ */
