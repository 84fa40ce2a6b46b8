/*
 * Copyright (C) hermod authors
 *
 * The fuzzer links the parser with hm_string.c and hm_palloc.c only; the
 * pool code logs its allocation failures, which never happen there, so
 * the logger is replaced by this stub instead of pulling in the core.
 */

#include <hm_config.h>
#include <hm_core.h>

#include <stdio.h>


void
hm_log_error_core(hm_uint_t level, hm_log_t *log, hm_err_t err,
    const char *fmt, ...)
{
    fprintf(stderr, "fuzz: hm_log_error_core(%s)\n", fmt);
}
