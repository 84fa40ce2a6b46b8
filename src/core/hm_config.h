/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_CONFIG_H_INCLUDED_
#define _HM_CONFIG_H_INCLUDED_


#include <hm_auto_config.h>
#include <hm_linux_config.h>


typedef intptr_t        hm_int_t;
typedef uintptr_t       hm_uint_t;
typedef intptr_t        hm_flag_t;
typedef int64_t         hm_msec_int_t;
typedef uint64_t        hm_msec_t;

#define HM_INT32_LEN    (sizeof("-2147483648") - 1)
#define HM_INT64_LEN    (sizeof("-9223372036854775808") - 1)

#if (HM_PTR_SIZE == 4)
#define HM_INT_T_LEN    HM_INT32_LEN
#define HM_MAX_INT_T_VALUE  2147483647
#else
#define HM_INT_T_LEN    HM_INT64_LEN
#define HM_MAX_INT_T_VALUE  9223372036854775807
#endif

#define HM_MAX_OFF_T_VALUE  9223372036854775807LL
#define HM_MAX_SIZE_T_VALUE  SIZE_MAX

#ifndef HM_ALIGNMENT
#define HM_ALIGNMENT    sizeof(unsigned long)
#endif

#define hm_align(d, a)     (((d) + (a - 1)) & ~(a - 1))
#define hm_align_ptr(p, a)                                                    \
    (u_char *) (((uintptr_t) (p) + ((uintptr_t) a - 1)) & ~((uintptr_t) a - 1))

#define hm_abort        abort

#define HM_INVALID_FILE   -1
#define HM_FILE_ERROR     -1

#endif /* _HM_CONFIG_H_INCLUDED_ */
