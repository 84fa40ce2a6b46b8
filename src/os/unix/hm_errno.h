/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_ERRNO_H_INCLUDED_
#define _HM_ERRNO_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef int               hm_err_t;

#define HM_EPERM          EPERM
#define HM_ENOENT         ENOENT
#define HM_ESRCH          ESRCH
#define HM_EINTR          EINTR
#define HM_ECHILD         ECHILD
#define HM_ENOMEM         ENOMEM
#define HM_EACCES         EACCES
#define HM_EBUSY          EBUSY
#define HM_EEXIST         EEXIST
#define HM_ENOTDIR        ENOTDIR
#define HM_EISDIR         EISDIR
#define HM_EINVAL         EINVAL
#define HM_ENFILE         ENFILE
#define HM_EMFILE         EMFILE
#define HM_ENOSPC         ENOSPC
#define HM_EPIPE          EPIPE
#define HM_EINPROGRESS    EINPROGRESS
#define HM_ENOPROTOOPT    ENOPROTOOPT
#define HM_EOPNOTSUPP     EOPNOTSUPP
#define HM_EADDRINUSE     EADDRINUSE
#define HM_ECONNABORTED   ECONNABORTED
#define HM_ECONNRESET     ECONNRESET
#define HM_ENOTCONN       ENOTCONN
#define HM_ETIMEDOUT      ETIMEDOUT
#define HM_ECONNREFUSED   ECONNREFUSED
#define HM_ENAMETOOLONG   ENAMETOOLONG
#define HM_ENETDOWN       ENETDOWN
#define HM_ENETUNREACH    ENETUNREACH
#define HM_EHOSTDOWN      EHOSTDOWN
#define HM_EHOSTUNREACH   EHOSTUNREACH
#define HM_ENOSYS         ENOSYS
#define HM_ECANCELED      ECANCELED
#define HM_EILSEQ         EILSEQ
#define HM_ENOMOREFILES   0
#define HM_ELOOP          ELOOP
#define HM_EBADF          EBADF
#define HM_EAGAIN         EAGAIN

#define hm_errno                  errno
#define hm_socket_errno           errno
#define hm_set_errno(err)         errno = err
#define hm_set_socket_errno(err)  errno = err


u_char *hm_strerror(hm_err_t err, u_char *errstr, size_t size);


#endif /* _HM_ERRNO_H_INCLUDED_ */
