/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_SOCKET_H_INCLUDED_
#define _HM_SOCKET_H_INCLUDED_


#include <hm_config.h>


typedef int  hm_socket_t;

#define HM_INVALID_SOCKET   -1

#define hm_socket           socket
#define hm_socket_n         "socket()"

#define hm_nonblocking(s)   hm_set_fd_flag(s, O_NONBLOCK, 1)
#define hm_nonblocking_n    "fcntl(O_NONBLOCK)"

#define hm_blocking(s)      hm_set_fd_flag(s, O_NONBLOCK, 0)
#define hm_blocking_n       "fcntl(!O_NONBLOCK)"

#define hm_close_socket     close
#define hm_close_socket_n   "close() socket"

#define hm_shutdown_socket    shutdown
#define hm_shutdown_socket_n  "shutdown()"


int hm_set_fd_flag(int fd, int flag, int on);
int hm_tcp_nodelay(hm_socket_t s);


#endif /* _HM_SOCKET_H_INCLUDED_ */
