/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_FILES_H_INCLUDED_
#define _HM_FILES_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef int                      hm_fd_t;
typedef struct stat              hm_file_info_t;


struct hm_file_s {
    hm_fd_t                    fd;
    hm_str_t                   name;
    hm_file_info_t             info;
    off_t                      offset;
    hm_log_t                  *log;
};


typedef struct {
    size_t                     n;
    glob_t                     pglob;
    u_char                    *pattern;
    hm_log_t                  *log;
    hm_uint_t                  test;
} hm_glob_t;


#define HM_FILE_RDONLY           O_RDONLY
#define HM_FILE_WRONLY           O_WRONLY
#define HM_FILE_RDWR             O_RDWR
#define HM_FILE_CREATE_OR_OPEN   O_CREAT
#define HM_FILE_OPEN             0
#define HM_FILE_TRUNCATE         (O_CREAT|O_TRUNC)
#define HM_FILE_APPEND           (O_WRONLY|O_APPEND)
#define HM_FILE_NONBLOCK         O_NONBLOCK
#define HM_FILE_DEFAULT_ACCESS   0644

#define hm_open_file(name, mode, create, access)                              \
    open((const char *) name, mode|create|O_CLOEXEC, access)
#define hm_open_file_n           "open()"

#define hm_close_file            close
#define hm_read_fd               read
#define hm_close_file_n          "close()"

#define hm_delete_file(name)     unlink((const char *) name)
#define hm_delete_file_n         "unlink()"

#define hm_rename_file(o, n)     rename((const char *) o, (const char *) n)
#define hm_rename_file_n         "rename()"

#define hm_file_info(file, sb)   stat((const char *) file, sb)
#define hm_file_info_n           "stat()"

#define hm_fd_info(fd, sb)       fstat(fd, sb)
#define hm_fd_info_n             "fstat()"

#define hm_fdatasync(fd)         fdatasync(fd)
#define hm_fdatasync_n           "fdatasync()"

#define hm_is_dir(sb)            (S_ISDIR((sb)->st_mode))
#define hm_is_file(sb)           (S_ISREG((sb)->st_mode))
#define hm_file_size(sb)         (sb)->st_size
#define hm_file_uniq(sb)         (sb)->st_ino

#define hm_linefeed(p)           *p++ = LF;
#define HM_LINEFEED_SIZE         1
#define HM_LINEFEED              "\x0a"

#define hm_stdout                STDOUT_FILENO
#define hm_stderr                STDERR_FILENO

#define hm_path_separator(c)     ((c) == '/')


ssize_t hm_read_file(hm_file_t *file, u_char *buf, size_t size,
    off_t offset);
ssize_t hm_write_fd(hm_fd_t fd, void *buf, size_t n);
#define hm_write_fd_n            "write()"
#define hm_write_console         hm_write_fd

#define hm_write_stderr(text)    (void) hm_write_fd(hm_stderr, text,          \
                                                    hm_strlen(text))
#define hm_write_stdout(text)    (void) hm_write_fd(hm_stdout, text,          \
                                                    hm_strlen(text))

void hm_write_stderr_uint(hm_uint_t n);

hm_int_t hm_open_glob(hm_glob_t *gl);
hm_int_t hm_read_glob(hm_glob_t *gl, hm_str_t *name);
void hm_close_glob(hm_glob_t *gl);

hm_int_t hm_get_full_name(hm_pool_t *pool, hm_str_t *prefix,
    hm_str_t *name);


#endif /* _HM_FILES_H_INCLUDED_ */
