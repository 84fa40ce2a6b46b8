/*
 * Copyright (C) hermod authors
 *
 * Master <-> worker messages over socketpairs.
 */

#ifndef _HM_CHANNEL_H_INCLUDED_
#define _HM_CHANNEL_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_CMD_OPEN_CHANNEL   1
#define HM_CMD_CLOSE_CHANNEL  2
#define HM_CMD_QUIT           3
#define HM_CMD_TERMINATE      4
#define HM_CMD_REOPEN         5


typedef struct {
    hm_uint_t   command;
    hm_pid_t    pid;
    hm_int_t    slot;
    hm_fd_t     fd;
} hm_channel_t;


hm_int_t hm_write_channel(hm_socket_t s, hm_channel_t *ch, size_t size,
    hm_log_t *log);
hm_int_t hm_read_channel(hm_socket_t s, hm_channel_t *ch, size_t size,
    hm_log_t *log);
hm_int_t hm_add_channel_event(hm_cycle_t *cycle, hm_fd_t fd,
    hm_int_t event, hm_event_handler_pt handler);
void hm_close_channel(hm_fd_t *fd, hm_log_t *log);


#endif /* _HM_CHANNEL_H_INCLUDED_ */
