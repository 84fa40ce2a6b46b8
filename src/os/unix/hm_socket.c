/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


int
hm_set_fd_flag(int fd, int flag, int on)
{
    int  flags;

    flags = fcntl(fd, F_GETFL);
    if (flags == -1) {
        return -1;
    }

    flags = on ? (flags | flag) : (flags & ~flag);

    return fcntl(fd, F_SETFL, flags);
}


int
hm_tcp_nodelay(hm_socket_t s)
{
    int  on = 1;

    return setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(int));
}
