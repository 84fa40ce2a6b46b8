/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_STRING_H_INCLUDED_
#define _HM_STRING_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct {
    size_t      len;
    u_char     *data;
} hm_str_t;


typedef struct {
    hm_str_t    key;
    hm_str_t    value;
} hm_keyval_t;


#define hm_string(str)     { sizeof(str) - 1, (u_char *) str }
#define hm_null_string     { 0, NULL }
#define hm_str_set(str, text)                                                 \
    (str)->len = sizeof(text) - 1; (str)->data = (u_char *) text
#define hm_str_null(str)   (str)->len = 0; (str)->data = NULL

#define hm_tolower(c)      (u_char) ((c >= 'A' && c <= 'Z') ? (c | 0x20) : c)
#define hm_toupper(c)      (u_char) ((c >= 'a' && c <= 'z') ? (c & ~0x20) : c)

#define hm_strncmp(s1, s2, n)  strncmp((const char *) s1, (const char *) s2, n)
#define hm_strcmp(s1, s2)  strcmp((const char *) s1, (const char *) s2)
#define hm_strstr(s1, s2)  strstr((const char *) s1, (const char *) s2)
#define hm_strlen(s)       strlen((const char *) s)
#define hm_strchr(s1, c)   strchr((const char *) s1, (int) c)

#define hm_memzero(buf, n)       (void) memset(buf, 0, n)
#define hm_memset(buf, c, n)     (void) memset(buf, c, n)
#define hm_memcpy(dst, src, n)   (void) memcpy(dst, src, n)
#define hm_cpymem(dst, src, n)   (((u_char *) memcpy(dst, src, n)) + (n))
#define hm_memmove(dst, src, n)  (void) memmove(dst, src, n)
#define hm_memcmp(s1, s2, n)     memcmp((const char *) s1, (const char *) s2, n)

#define hm_str_eq(s, text)                                                    \
    ((s)->len == sizeof(text) - 1                                             \
     && hm_memcmp((s)->data, text, sizeof(text) - 1) == 0)


void hm_strlow(u_char *dst, u_char *src, size_t n);
u_char *hm_cpystrn(u_char *dst, u_char *src, size_t n);

#define hm_base64_encoded_length(len)  (((len + 2) / 3) * 4)
void hm_encode_base64(hm_str_t *dst, hm_str_t *src);
u_char *hm_pstrdup(hm_pool_t *pool, hm_str_t *src);
u_char *hm_sprintf(u_char *buf, const char *fmt, ...);
u_char *hm_snprintf(u_char *buf, size_t max, const char *fmt, ...);
u_char *hm_slprintf(u_char *buf, u_char *last, const char *fmt, ...);
u_char *hm_vslprintf(u_char *buf, u_char *last, const char *fmt,
    va_list args);
#define hm_vsnprintf(buf, max, fmt, args)                                     \
    hm_vslprintf(buf, buf + (max), fmt, args)

hm_int_t hm_strcasecmp(u_char *s1, u_char *s2);
hm_int_t hm_strncasecmp(u_char *s1, u_char *s2, size_t n);
u_char *hm_strnstr(u_char *s1, char *s2, size_t n);
hm_int_t hm_atoi(u_char *line, size_t n);
ssize_t hm_atosz(u_char *line, size_t n);
hm_int_t hm_hextoi(u_char *line, size_t n);
off_t hm_atoof(u_char *line, size_t n);
time_t hm_atotm(u_char *line, size_t n);
u_char *hm_strcasestrn(u_char *s1, char *s2, size_t n);
u_char *hm_strnstr_case(u_char *s1, char *s2, size_t n);
u_char *hm_hex_dump(u_char *dst, u_char *src, size_t len);


static inline u_char *
hm_strlchr(u_char *p, u_char *last, u_char c)
{
    while (p < last) {

        if (*p == c) {
            return p;
        }

        p++;
    }

    return NULL;
}


#endif /* _HM_STRING_H_INCLUDED_ */
