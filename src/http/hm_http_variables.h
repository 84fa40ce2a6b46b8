/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_HTTP_VARIABLES_H_INCLUDED_
#define _HM_HTTP_VARIABLES_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


/* registers the request variables ($uri, $http_NAME, ...) */
hm_int_t hm_http_variables_add_core_vars(hm_conf_t *cf);

/* $request_id: 32 hex digits of 128 random bits, made once per request */
hm_int_t hm_http_request_id(hm_http_request_t *r, hm_str_t *id);

/* the value of a request header by its lowercased name, or NULL */
hm_table_elt_t *hm_http_find_header(hm_list_t *headers, u_char *lowcase,
    size_t len);


#endif /* _HM_HTTP_VARIABLES_H_INCLUDED_ */
