/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_OS_H_INCLUDED_
#define _HM_OS_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef uid_t  hm_uid_t;
typedef gid_t  hm_gid_t;


hm_int_t hm_os_init(hm_log_t *log);
void hm_os_status(hm_log_t *log);
hm_int_t hm_daemon(hm_log_t *log);
hm_int_t hm_os_signal_process(hm_cycle_t *cycle, char *sig, hm_pid_t pid);

ssize_t hm_unix_recv(hm_connection_t *c, u_char *buf, size_t size);
ssize_t hm_unix_send(hm_connection_t *c, u_char *buf, size_t size);
hm_chain_t *hm_writev_chain(hm_connection_t *c, hm_chain_t *in,
    off_t limit);

#define HM_IOVS_PREALLOCATE  64

/* n random bytes from the kernel, without a file descriptor */
hm_int_t hm_os_random(u_char *buf, size_t n);

/* fd[0] to read, fd[1] to write; both non-blocking, close-on-exec */
hm_int_t hm_os_pipe(hm_fd_t fd[2]);
#define hm_os_pipe_n  "pipe2()"

hm_int_t hm_init_setproctitle(hm_log_t *log);
void hm_setproctitle(char *title);


extern hm_int_t    hm_ncpu;
extern hm_int_t    hm_max_sockets;
extern hm_uint_t   hm_pagesize;
extern hm_uint_t   hm_inherited_nonblocking;

extern int         hm_argc;
extern char      **hm_argv;
extern char      **hm_os_argv;
extern char      **hm_os_environ;


#endif /* _HM_OS_H_INCLUDED_ */
