/*
 * Copyright (C) hermod authors
 *
 * A tiny assertion kit for the C unit tests in t/unit/.
 *
 * Each t/unit/NAME.c is built by "make unit" as its own program, linked
 * with every core object but main's, and run from the repository root; it
 * fails by exiting non-zero.  Usage:
 *
 *     int main(void) {
 *         hm_unit_init();                      (hm_time_init() and friends)
 *         HM_CHECK(a == b, "a %d", a);         printf-style message
 *         HM_CHECK_INT(hm_atoi(..), 42);       shows both values
 *         HM_CHECK_STR(buf, len, "text");      compares a byte range
 *         return hm_unit_done();               prints "ok N checks" or not
 *     }
 *
 * Failures go to stderr with file:line, the summary line goes to stdout.
 *
 * A check that shows a known, reported bug in src/ goes between
 * HM_KNOWN_BUG("what") and HM_KNOWN_BUG_END(): its failures are printed as
 * "known bug" and do not fail the program, unless HM_UNIT_STRICT=1 is set
 * in the environment; when the section passes, a note says that the bug
 * seems fixed and the markers can go.
 */

#ifndef _HM_UNIT_H_INCLUDED_
#define _HM_UNIT_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>


/* built with --with-sanitizers (ASan and UBSan go together there) */

#if defined(__SANITIZE_ADDRESS__)
#define HM_UNIT_SANITIZED  1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HM_UNIT_SANITIZED  1
#endif
#endif

#ifndef HM_UNIT_SANITIZED
#define HM_UNIT_SANITIZED  0
#endif


static unsigned long  hm_unit_checks;
static unsigned long  hm_unit_failed;
static unsigned long  hm_unit_known;         /* known-bug failures */
static unsigned long  hm_unit_known_n;       /* in the current section */
static const char    *hm_unit_bug;           /* the current section */
static const char    *hm_unit_name = "unit";


static inline int
hm_unit_strict(void)
{
    const char  *s = getenv("HM_UNIT_STRICT");

    return s != NULL && s[0] != '\0' && strcmp(s, "0") != 0;
}


static inline void hm_unit_fail(const char *file, int line, const char *expr,
    const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));


static inline void
hm_unit_fail(const char *file, int line, const char *expr,
    const char *fmt, ...)
{
    va_list  args;

    if (hm_unit_bug != NULL && !hm_unit_strict()) {
        hm_unit_known++;
        hm_unit_known_n++;
        fprintf(stderr, "%s:%d: %s: known bug (%s): %s", file, line,
                hm_unit_name, hm_unit_bug, expr);

    } else {
        hm_unit_failed++;
        fprintf(stderr, "%s:%d: %s: FAILED: %s", file, line, hm_unit_name,
                expr);
    }

    /* fmt starts with the space HM_CHECK() adds */

    if (fmt[0] != '\0' && !(fmt[0] == ' ' && fmt[1] == '\0')) {
        fprintf(stderr, ":");
        va_start(args, fmt);
        vfprintf(stderr, fmt, args);
        va_end(args);
    }

    fprintf(stderr, "\n");
    fflush(stderr);
}


/* HM_CHECK(cond, fmt, ...): count a check, report it when cond is false */

#define HM_CHECK(cond, ...)                                                   \
    do {                                                                      \
        hm_unit_checks++;                                                     \
        if (!(cond)) {                                                        \
            hm_unit_fail(__FILE__, __LINE__, #cond, " " __VA_ARGS__);          \
        }                                                                     \
    } while (0)


#define HM_CHECK_INT(got, want)                                               \
    do {                                                                      \
        long long  hm_unit_g_ = (long long) (got);                            \
        long long  hm_unit_w_ = (long long) (want);                           \
        hm_unit_checks++;                                                     \
        if (hm_unit_g_ != hm_unit_w_) {                                       \
            hm_unit_fail(__FILE__, __LINE__, #got " == " #want,               \
                         " got %lld, want %lld", hm_unit_g_, hm_unit_w_);      \
        }                                                                     \
    } while (0)


#define HM_CHECK_UINT(got, want)                                              \
    do {                                                                      \
        unsigned long long  hm_unit_g_ = (unsigned long long) (got);          \
        unsigned long long  hm_unit_w_ = (unsigned long long) (want);         \
        hm_unit_checks++;                                                     \
        if (hm_unit_g_ != hm_unit_w_) {                                       \
            hm_unit_fail(__FILE__, __LINE__, #got " == " #want,               \
                         " got %llu, want %llu", hm_unit_g_, hm_unit_w_);      \
        }                                                                     \
    } while (0)


/* the byte range [data, data + len) equals the C string want */

#define HM_CHECK_STR(data, len, want)                                         \
    do {                                                                      \
        const char  *hm_unit_d_ = (const char *) (data);                      \
        size_t       hm_unit_l_ = (size_t) (len);                             \
        const char  *hm_unit_w_ = (want);                                     \
        hm_unit_checks++;                                                     \
        if (hm_unit_d_ == NULL || hm_unit_l_ != strlen(hm_unit_w_)            \
            || memcmp(hm_unit_d_, hm_unit_w_, hm_unit_l_) != 0)               \
        {                                                                     \
            hm_unit_fail(__FILE__, __LINE__, #data " == " #want,              \
                         " got \"%.*s\" (%zu), want \"%s\" (%zu)",             \
                         hm_unit_d_ ? (int) hm_unit_l_ : 6,                   \
                         hm_unit_d_ ? hm_unit_d_ : "(null)",                  \
                         hm_unit_l_, hm_unit_w_, strlen(hm_unit_w_));         \
        }                                                                     \
    } while (0)


/* an hm_str_t equals the C string want */

#define HM_CHECK_HMSTR(s, want)  HM_CHECK_STR((s)->data, (s)->len, want)


/* checks between these two show a known bug: see above */

#define HM_KNOWN_BUG(what)                                                    \
    do {                                                                      \
        hm_unit_bug = (what);                                                 \
        hm_unit_known_n = 0;                                                  \
    } while (0)

#define HM_KNOWN_BUG_END()                                                    \
    do {                                                                      \
        if (hm_unit_bug != NULL && hm_unit_known_n == 0                       \
            && !hm_unit_strict())                                             \
        {                                                                     \
            fprintf(stderr, "%s:%d: %s: known bug no longer shows, "          \
                    "drop its HM_KNOWN_BUG(): %s\n", __FILE__, __LINE__,      \
                    hm_unit_name, hm_unit_bug);                               \
        }                                                                     \
        hm_unit_bug = NULL;                                                   \
    } while (0)


static inline void
hm_unit_init(const char *name)
{
    hm_unit_name = name;
    hm_time_init();
}


static inline int
hm_unit_done(void)
{
    if (hm_unit_failed) {
        fprintf(stderr, "%s: FAILED %lu of %lu checks\n",
                hm_unit_name, hm_unit_failed, hm_unit_checks);
        printf("not ok %lu of %lu checks failed (%s)\n",
               hm_unit_failed, hm_unit_checks, hm_unit_name);
        fflush(stdout);
        return 1;
    }

    if (hm_unit_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", hm_unit_name);
        return 1;
    }

    if (hm_unit_known) {
        printf("ok %lu checks (%s), %lu known-bug failures ignored\n",
               hm_unit_checks, hm_unit_name, hm_unit_known);

    } else {
        printf("ok %lu checks (%s)\n", hm_unit_checks, hm_unit_name);
    }

    fflush(stdout);

    return 0;
}


#endif /* _HM_UNIT_H_INCLUDED_ */
