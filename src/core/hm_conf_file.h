/*
 * Copyright (C) hermod authors
 *
 * The configuration parser: nginx grammar, table-driven directives.
 */

#ifndef _HM_CONF_FILE_H_INCLUDED_
#define _HM_CONF_FILE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


/*
 *        AAAA  number of arguments
 *      FF      command flags
 *    TT        command type, i.e. HTTP "location" or "server" command
 */

#define HM_CONF_NOARGS      0x00000001
#define HM_CONF_TAKE1       0x00000002
#define HM_CONF_TAKE2       0x00000004
#define HM_CONF_TAKE3       0x00000008
#define HM_CONF_TAKE4       0x00000010
#define HM_CONF_TAKE5       0x00000020
#define HM_CONF_TAKE6       0x00000040
#define HM_CONF_TAKE7       0x00000080

#define HM_CONF_MAX_ARGS    8

#define HM_CONF_TAKE12      (HM_CONF_TAKE1|HM_CONF_TAKE2)
#define HM_CONF_TAKE13      (HM_CONF_TAKE1|HM_CONF_TAKE3)
#define HM_CONF_TAKE23      (HM_CONF_TAKE2|HM_CONF_TAKE3)
#define HM_CONF_TAKE123     (HM_CONF_TAKE1|HM_CONF_TAKE2|HM_CONF_TAKE3)
#define HM_CONF_TAKE1234    (HM_CONF_TAKE1|HM_CONF_TAKE2|HM_CONF_TAKE3   \
                             |HM_CONF_TAKE4)

#define HM_CONF_ARGS_NUMBER 0x000000ff
#define HM_CONF_BLOCK       0x00000100
#define HM_CONF_FLAG        0x00000200
#define HM_CONF_ANY         0x00000400
#define HM_CONF_1MORE       0x00000800
#define HM_CONF_2MORE       0x00001000

#define HM_DIRECT_CONF      0x00010000

#define HM_MAIN_CONF        0x01000000
#define HM_ANY_CONF         0xFF000000


#define HM_CONF_UNSET       -1
#define HM_CONF_UNSET_UINT  (hm_uint_t) -1
#define HM_CONF_UNSET_PTR   (void *) -1
#define HM_CONF_UNSET_SIZE  (size_t) -1
#define HM_CONF_UNSET_MSEC  (hm_msec_t) -1


#define HM_CONF_OK          NULL
#define HM_CONF_ERROR       (void *) -1

#define HM_CONF_BLOCK_START 1
#define HM_CONF_BLOCK_DONE  2
#define HM_CONF_FILE_DONE   3

#define HM_CORE_MODULE      0x45524f43  /* "CORE" */
#define HM_CONF_MODULE      0x464e4f43  /* "CONF" */


#define HM_MAX_CONF_ERRSTR  1024


struct hm_command_s {
    hm_str_t             name;
    hm_uint_t            type;
    char               *(*set)(hm_conf_t *cf, hm_command_t *cmd, void *conf);
    hm_uint_t            conf;
    hm_uint_t            offset;
    void                *post;
    const char          *description;
};

#define hm_null_command  { hm_null_string, 0, NULL, 0, 0, NULL, NULL }


typedef struct {
    hm_file_t            file;
    u_char              *start;       /* the whole file in memory */
    u_char              *pos;
    u_char              *end;
    hm_uint_t            line;
} hm_conf_file_t;


typedef struct {
    hm_str_t             name;
    u_char              *data;
    size_t               len;
} hm_conf_dump_t;


typedef char *(*hm_conf_handler_pt)(hm_conf_t *cf,
    hm_command_t *dummy, void *conf);


struct hm_conf_s {
    char                *name;
    hm_array_t          *args;

    hm_cycle_t          *cycle;
    hm_pool_t           *pool;
    hm_pool_t           *temp_pool;
    hm_conf_file_t      *conf_file;
    hm_log_t            *log;

    void                *ctx;
    hm_uint_t            module_type;
    hm_uint_t            cmd_type;

    hm_conf_handler_pt   handler;
    void                *handler_conf;

    /* inside hm_conf_parse_module_block(): only this module's directives */
    hm_module_t         *module;

    void                *spare[3];
};


typedef char *(*hm_conf_post_handler_pt) (hm_conf_t *cf,
    void *data, void *conf);

typedef struct {
    hm_conf_post_handler_pt  post_handler;
} hm_conf_post_t;


typedef struct {
    hm_str_t             name;
    hm_uint_t            value;
} hm_conf_enum_t;


typedef struct {
    hm_str_t             name;
    hm_uint_t            mask;
} hm_conf_bitmask_t;


typedef struct {
    hm_conf_post_handler_pt  post_handler;
    hm_int_t                 low;
    hm_int_t                 high;
} hm_conf_num_bounds_t;


/* where a directive was found, for errors reported after parsing */

typedef struct {
    hm_str_t             file;
    hm_uint_t            line;
} hm_conf_location_t;


#define hm_conf_merge_value(conf, prev, default)                             \
    if (conf == HM_CONF_UNSET) {                                             \
        conf = (prev == HM_CONF_UNSET) ? default : prev;                     \
    }

#define hm_conf_merge_ptr_value(conf, prev, default)                         \
    if (conf == HM_CONF_UNSET_PTR) {                                         \
        conf = (prev == HM_CONF_UNSET_PTR) ? default : prev;                 \
    }

#define hm_conf_merge_uint_value(conf, prev, default)                        \
    if (conf == HM_CONF_UNSET_UINT) {                                        \
        conf = (prev == HM_CONF_UNSET_UINT) ? default : prev;                \
    }

#define hm_conf_merge_msec_value(conf, prev, default)                        \
    if (conf == HM_CONF_UNSET_MSEC) {                                        \
        conf = (prev == HM_CONF_UNSET_MSEC) ? default : prev;                \
    }

#define hm_conf_merge_size_value(conf, prev, default)                        \
    if (conf == HM_CONF_UNSET_SIZE) {                                        \
        conf = (prev == HM_CONF_UNSET_SIZE) ? default : prev;                \
    }

#define hm_conf_merge_str_value(conf, prev, default)                         \
    if (conf.data == NULL) {                                                 \
        if (prev.data) {                                                     \
            conf.len = prev.len;                                             \
            conf.data = prev.data;                                           \
        } else {                                                             \
            conf.len = sizeof(default) - 1;                                  \
            conf.data = (u_char *) default;                                  \
        }                                                                    \
    }

#define hm_conf_init_value(conf, default)                                    \
    if (conf == HM_CONF_UNSET) {                                             \
        conf = default;                                                      \
    }

#define hm_conf_init_uint_value(conf, default)                               \
    if (conf == HM_CONF_UNSET_UINT) {                                        \
        conf = default;                                                      \
    }

#define hm_conf_init_msec_value(conf, default)                               \
    if (conf == HM_CONF_UNSET_MSEC) {                                        \
        conf = default;                                                      \
    }


char *hm_conf_param(hm_conf_t *cf);
char *hm_conf_parse(hm_conf_t *cf, hm_str_t *filename);
char *hm_conf_parse_module_block(hm_conf_t *cf, hm_module_t *module,
    void *conf, hm_uint_t cmd_type);
char *hm_conf_include(hm_conf_t *cf, hm_command_t *cmd, void *conf);

hm_int_t hm_conf_full_name(hm_cycle_t *cycle, hm_str_t *name,
    hm_uint_t conf_prefix);
hm_open_file_t *hm_conf_open_file(hm_cycle_t *cycle, hm_str_t *name);
void hm_conf_log_error(hm_uint_t level, hm_conf_t *cf, hm_err_t err,
    const char *fmt, ...);
void hm_conf_location(hm_conf_t *cf, hm_conf_location_t *loc);
void hm_log_error_at(hm_uint_t level, hm_log_t *log,
    hm_conf_location_t *loc, const char *fmt, ...);


char *hm_conf_set_flag_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_str_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_str_array_slot(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
char *hm_conf_set_keyval_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_num_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_size_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_off_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_msec_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_sec_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_enum_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_bufs_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf);
char *hm_conf_set_bitmask_slot(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
char *hm_conf_set_flag_noargs_slot(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);

char *hm_conf_check_num_bounds(hm_conf_t *cf, void *post, void *data);


#endif /* _HM_CONF_FILE_H_INCLUDED_ */
