/*
 * Copyright (C) hermod authors
 *
 * Sizes ("512", "16k", "8m", "1g") and times ("500ms", "30s", "5m", "1h",
 * "7d", also combined: "1m30s") as written in configuration files.
 */

#ifndef _HM_PARSE_H_INCLUDED_
#define _HM_PARSE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


ssize_t hm_parse_size(hm_str_t *line);
off_t hm_parse_offset(hm_str_t *line);
hm_int_t hm_parse_time(hm_str_t *line, hm_uint_t is_sec);


#endif /* _HM_PARSE_H_INCLUDED_ */
