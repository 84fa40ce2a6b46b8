/*
 * Copyright (C) hermod authors
 *
 * The core SDK: every module includes <hm_config.h> then <hm_core.h>.
 */

#ifndef _HM_CORE_H_INCLUDED_
#define _HM_CORE_H_INCLUDED_


#include <hm_config.h>


typedef struct hm_module_s          hm_module_t;
typedef struct hm_conf_s            hm_conf_t;
typedef struct hm_cycle_s           hm_cycle_t;
typedef struct hm_pool_s            hm_pool_t;
typedef struct hm_chain_s           hm_chain_t;
typedef struct hm_log_s             hm_log_t;
typedef struct hm_open_file_s       hm_open_file_t;
typedef struct hm_command_s         hm_command_t;
typedef struct hm_file_s            hm_file_t;
typedef struct hm_event_s           hm_event_t;
typedef struct hm_connection_s      hm_connection_t;
typedef struct hm_ssl_connection_s  hm_ssl_connection_t;

typedef void (*hm_event_handler_pt)(hm_event_t *ev);
typedef void (*hm_connection_handler_pt)(hm_connection_t *c);


/*
 * The one return vocabulary of hermod.  Zero is success, always.
 */
#define  HM_OK          0
#define  HM_ERROR      -1
#define  HM_AGAIN      -2
#define  HM_BUSY       -3
#define  HM_DONE       -4
#define  HM_DECLINED   -5
#define  HM_ABORT      -6
#define  HM_RETRY      -7      /* failed, worth another attempt */


#define LF     (u_char) '\n'
#define CR     (u_char) '\r'
#define CRLF   "\r\n"


#define hm_abs(value)       (((value) >= 0) ? (value) : - (value))
#define hm_max(val1, val2)  ((val1 < val2) ? (val2) : (val1))
#define hm_min(val1, val2)  ((val1 > val2) ? (val2) : (val1))


#include <hm_errno.h>
#include <hm_queue.h>
#include <hm_string.h>
#include <hm_files.h>
#include <hm_log.h>
#include <hm_palloc.h>
#include <hm_array.h>
#include <hm_list.h>
#include <hm_hash.h>
#include <hm_buf.h>
#include <hm_rbtree.h>
#include <hm_times.h>
#include <hm_parse.h>
#include <hm_inet.h>
#include <hm_regex.h>
#include <hm_socket.h>
#include <hm_process.h>
#include <hm_channel.h>
#include <hm_os.h>
#include <hm_conf_file.h>
#include <hm_module.h>
#include <hm_event.h>
#include <hm_event_timer.h>
#include <hm_event_posted.h>
#include <hm_event_connect.h>
#include <hm_connection.h>
#include <hm_cycle.h>
#include <hm_variables.h>
#include <hm_metrics.h>
#include <hm_event_openssl.h>
#include <hm_process_cycle.h>


#endif /* _HM_CORE_H_INCLUDED_ */
