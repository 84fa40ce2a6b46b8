/*
 * Copyright (C) hermod authors
 *
 * The configuration tokenizer and parser, through hm_conf_parse() with a
 * cf->handler that writes a transcript of what it is given:
 *
 *     LINE:INDENT[arg0] [arg1] ... T        T is the terminator, ";" or "{"
 *     LINE:INDENT}                          the end of a block
 *
 * LINE is cf->conf_file->line when the handler runs; a block's directives
 * are indented by two spaces.  The handler parses a block the way block
 * directives do: hm_conf_parse(cf, NULL) until its "}".  Errors are caught
 * from stderr, where the early log writes them.
 *
 * Also: hm_conf_param() (the -g option) and a few of the generic setters.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_unit.h>

#include <fcntl.h>
#include <sys/stat.h>


static hm_cycle_t   cycle;
static hm_conf_t    conf;
static hm_log_t    *test_log;

static char         tr[16384];
static size_t       trlen;
static int          depth;
static hm_uint_t    not_nul_terminated;
static hm_uint_t    wrong_file;
static char         conf_path[256];

static char         errtext[4096];


static void
tr_add(const char *s, size_t len)
{
    if (trlen + len < sizeof(tr)) {
        memcpy(tr + trlen, s, len);
        trlen += len;
        tr[trlen] = '\0';
    }
}


static void
tr_addf(const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static void
tr_addf(const char *fmt, ...)
{
    char     buf[256];
    int      n;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    if (n > 0) {
        tr_add(buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
    }
}


static void
tr_word(hm_str_t *w)
{
    size_t  i;

    tr_add("[", 1);

    for (i = 0; i < w->len; i++) {
        switch (w->data[i]) {
        case '\n': tr_add("\\n", 2); break;
        case '\t': tr_add("\\t", 2); break;
        case '\r': tr_add("\\r", 2); break;
        case '\0': tr_add("\\0", 2); break;
        default: tr_add((char *) &w->data[i], 1);
        }
    }

    tr_add("]", 1);
}


static char *
handler(hm_conf_t *cf, hm_command_t *dummy, void *data)
{
    char        *rv;
    u_char       term;
    hm_str_t    *args;
    hm_uint_t    i;

    args = cf->args->elts;
    term = cf->conf_file->pos[-1];

    if (conf_path[0] != '\0'
        && (cf->conf_file->file.name.data == NULL
            || strcmp((char *) cf->conf_file->file.name.data, conf_path) != 0))
    {
        wrong_file++;
    }

    tr_addf("%lu:%*s", (unsigned long) cf->conf_file->line, depth * 2, "");

    for (i = 0; i < cf->args->nelts; i++) {
        if (args[i].data[args[i].len] != '\0') {
            not_nul_terminated++;
        }

        tr_word(&args[i]);
        tr_add(" ", 1);
    }

    tr_add((char *) &term, 1);
    tr_add("\n", 1);

    if (args[0].len == 9 && memcmp(args[0].data, "ret_error", 9) == 0) {
        return HM_CONF_ERROR;
    }

    if (args[0].len == 7 && memcmp(args[0].data, "ret_msg", 7) == 0) {
        return "said no";
    }

    if (term == '{') {
        depth++;
        rv = hm_conf_parse(cf, NULL);
        depth--;

        if (rv != HM_CONF_OK) {
            return rv;
        }

        tr_addf("%lu:%*s}\n", (unsigned long) cf->conf_file->line,
                depth * 2, "");
    }

    return HM_CONF_OK;
}


static void
read_fd(int fd, char *buf, size_t size)
{
    ssize_t  n;
    size_t   len;

    len = 0;
    (void) lseek(fd, 0, SEEK_SET);

    while (len < size - 1) {
        n = read(fd, buf + len, size - 1 - len);
        if (n <= 0) {
            break;
        }
        len += n;
    }

    buf[len] = '\0';
}


/*
 * Parse text from a fresh temporary file: the transcript is in tr, what was
 * logged in errtext.
 */

static char *
parse_len(const char *text, size_t len)
{
    int        fd, errfd, saved;
    char      *rv;
    hm_str_t   name;

    trlen = 0;
    tr[0] = '\0';
    errtext[0] = '\0';
    depth = 0;

    snprintf(conf_path, sizeof(conf_path), "/tmp/hm_unit_conf_XXXXXX");

    fd = mkstemp(conf_path);
    if (fd == -1 || write(fd, text, len) != (ssize_t) len) {
        HM_CHECK(0, "cannot write %s", conf_path);
        return HM_CONF_ERROR;
    }

    close(fd);

    errfd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    if (errfd == -1) {
        char  errpath[] = "/tmp/hm_unit_err_XXXXXX";

        errfd = mkstemp(errpath);
        unlink(errpath);
    }

    name.data = (u_char *) conf_path;
    name.len = strlen(conf_path);

    fflush(stderr);
    saved = dup(STDERR_FILENO);
    dup2(errfd, STDERR_FILENO);

    rv = hm_conf_parse(&conf, &name);

    dup2(saved, STDERR_FILENO);
    close(saved);

    read_fd(errfd, errtext, sizeof(errtext));
    close(errfd);

    unlink(conf_path);

    HM_CHECK(conf.conf_file == NULL, "cf->conf_file restored after a file");
    HM_CHECK(depth == 0);

    return rv;
}


static char *
parse(const char *text)
{
    return parse_len(text, strlen(text));
}


/* text parses, with this transcript and nothing logged */

#define PARSE_OK(text, want)                                                  \
    do {                                                                      \
        char  *rv_ = parse(text);                                             \
        HM_CHECK(rv_ == HM_CONF_OK, "parse failed: %s", errtext);             \
        HM_CHECK(strcmp(tr, want) == 0,                                       \
                 "transcript\n--- got:\n%s--- want:\n%s---", tr, want);       \
        HM_CHECK(errtext[0] == '\0', "logged: %s", errtext);                  \
    } while (0)


/*
 * text fails, with this transcript up to the error, and the log has the
 * message followed by " in FILE:LINE"
 */

static void
check_error(const char *file, int line, const char *text, const char *want,
    const char *msg, hm_uint_t at)
{
    char   *rv, where[512];

    rv = parse(text);

    hm_unit_checks++;
    if (rv != HM_CONF_ERROR) {
        hm_unit_fail(file, line, "hm_conf_parse() == HM_CONF_ERROR",
                     " for \"%s\"", text);
    }

    hm_unit_checks++;
    if (strcmp(tr, want) != 0) {
        hm_unit_fail(file, line, "transcript before the error",
                     "\n--- got:\n%s--- want:\n%s---", tr, want);
    }

    snprintf(where, sizeof(where), "%s in %s:%lu", msg, conf_path,
             (unsigned long) at);

    hm_unit_checks++;
    if (strstr(errtext, where) == NULL) {
        hm_unit_fail(file, line, "error message",
                     " want \"%s\", logged \"%s\"", where, errtext);
    }

    hm_unit_checks++;
    if (strstr(errtext, "[emerg]") == NULL) {
        hm_unit_fail(file, line, "error level", " logged \"%s\"", errtext);
    }
}

#define PARSE_ERR(text, want, msg, at)                                        \
    check_error(__FILE__, __LINE__, text, want, msg, at)


static void
test_words(void)
{
    PARSE_OK("", "");
    PARSE_OK("\n\n  \t\n", "");
    PARSE_OK("# only a comment", "");
    PARSE_OK("# one\n   # two\n", "");

    PARSE_OK("# a comment line\n"
             "worker_processes 4;\n"
             "  error_log   stderr\tinfo ;   # trailing; comment {\n"
             "pid \"/run/hermod.pid\";\n"
             "\n"
             "noargs;\n",
             "2:[worker_processes] [4] ;\n"
             "3:[error_log] [stderr] [info] ;\n"
             "4:[pid] [/run/hermod.pid] ;\n"
             "6:[noargs] ;\n");

    /* several on one line, no spaces needed before ";" */
    PARSE_OK("a;b 1;c 1 2 3 4 5 6 7 8 9 10;",
             "1:[a] ;\n1:[b] [1] ;\n"
             "1:[c] [1] [2] [3] [4] [5] [6] [7] [8] [9] [10] ;\n");

    /*
     * a "#" that starts a word starts a comment, even after arguments
     * (as in nginx: quote it), but inside a word it is a character
     */
    PARSE_OK("color #fff;\nurl a#b \"#c\";\n",
             "2:[color] [url] [a#b] [#c] ;\n");
}


static void
test_quotes(void)
{
    PARSE_OK("a \"x\\\"y\" \"b\\\\c\" \"n\\nl\" \"t\\tab\" \"c\\rr\";\n",
             "1:[a] [x\"y] [b\\c] [n\\nl] [t\\tab] [c\\rr] ;\n");

    PARSE_OK("s 'single \"q\"' 'it\\'s' \"it's\" '' \"\";\n",
             "1:[s] [single \"q\"] [it's] [it's] [] [] ;\n");

    /* as in nginx, other backslashes are kept (regexes need "\d", templates
       "\$"); \n is an escape in single quotes too */
    PARSE_OK("e \"a\\qb\" \"\\$x\" 'n\\nl';\n",
             "1:[e] [a\\qb] [\\$x] [n\\nl] ;\n");

    /* quoted separators */
    PARSE_OK("q \"a b;c{d}e#f\";\n",
             "1:[q] [a b;c{d}e#f] ;\n");

    /* a quoted word may be followed by a terminator directly */
    PARSE_OK("q \"x\";\nblk \"name\"{\n}\n",
             "1:[q] [x] ;\n"
             "2:[blk] [name] {\n"
             "3:}\n");

    /* bare words: a backslash protects the next character from splitting
       the word, and stays unless it is one of the escapes */
    PARSE_OK("bare a\\ b x\\;y q\\\"q t\\n;\n",
             "1:[bare] [a\\ b] [x\\;y] [q\"q] [t\\n] ;\n");

    /* a quoted string may span lines */
    PARSE_OK("q \"line1\nline2\";\nafter;\n",
             "2:[q] [line1\\nline2] ;\n"
             "3:[after] ;\n");
}


static void
test_variables(void)
{
    PARSE_OK("set $x ${host}name \"$y\" ${a b;c}x pre${v}post;\n",
             "1:[set] [$x] [${host}name] [$y] [${a b;c}x] [pre${v}post] ;\n");

    /* "${" is kept as is, a lone "$" or "{" is not a variable */
    PARSE_OK("v $ $$ a${}b;\n",
             "1:[v] [$] [$$] [a${}b] ;\n");
}


static void
test_blocks(void)
{
    PARSE_OK("events {\n"
             "    worker_connections 1024;\n"
             "}\n"
             "stream {\n"
             "    server {\n"
             "        listen 80;\n"
             "        listen 81 ;\n"
             "    }\n"
             "    upstream u { server a; server b; }\n"
             "    empty {}\n"
             "}\n"
             "last;\n",
             "1:[events] {\n"
             "2:  [worker_connections] [1024] ;\n"
             "3:}\n"
             "4:[stream] {\n"
             "5:  [server] {\n"
             "6:    [listen] [80] ;\n"
             "7:    [listen] [81] ;\n"
             "8:  }\n"
             "9:  [upstream] [u] {\n"
             "9:    [server] [a] ;\n"
             "9:    [server] [b] ;\n"
             "9:  }\n"
             "10:  [empty] {\n"
             "10:  }\n"
             "11:}\n"
             "12:[last] ;\n");

    PARSE_OK("http{a;}b;", "1:[http] {\n1:  [a] ;\n1:}\n1:[b] ;\n");
}


static void
test_lines(void)
{
    /* CRLF line ends */
    PARSE_OK("a 1;\r\nb 2;\r\n\r\nc \"x\";\r\n",
             "1:[a] [1] ;\n2:[b] [2] ;\n4:[c] [x] ;\n");

    /* a directive over several lines: the line of its terminator */
    PARSE_OK("multi\n  arg1\n  arg2;\nnext;\n",
             "3:[multi] [arg1] [arg2] ;\n4:[next] ;\n");

    /* comments do not eat line ends */
    PARSE_OK("# c1\n# c2\na; # c3\n# c4\nb;",
             "3:[a] ;\n5:[b] ;\n");

    /* no newline at the end of the file */
    PARSE_OK("a;\nb;", "1:[a] ;\n2:[b] ;\n");

    /* an escaped line end in a bare word counts as a line */
    PARSE_OK("e a\\\nb;\nafter;\n",
             "2:[e] [a\\\\nb] ;\n3:[after] ;\n");

    /* ... and inside quotes too */
    PARSE_OK("e \"a\\\nb\";\nafter;\n",
             "2:[e] [a\\\\nb] ;\n3:[after] ;\n");
    PARSE_OK("e 'a\\\nb';\nafter;\n",
             "2:[e] [a\\\\nb] ;\n3:[after] ;\n");
    PARSE_ERR("e \"a\\\nb\";\n}\n",
              "2:[e] [a\\\\nb] ;\n",
              "unexpected \"}\"", 3);

    /* a newline inside "${...}" is a line too */
    PARSE_OK("v ${a\nb};\nafter;\n",
             "2:[v] [${a\\nb}] ;\n3:[after] ;\n");
}


static void
test_errors(void)
{
    PARSE_ERR("a 1;\nb \"unterminated\nmore\n",
              "1:[a] [1] ;\n",
              "unexpected end of file, unterminated quoted string", 2);

    PARSE_ERR("a 'x;\n",
              "",
              "unexpected end of file, unterminated quoted string", 1);

    PARSE_ERR("a 1;\nb 2",
              "1:[a] [1] ;\n",
              "unexpected end of file, expecting \";\" or \"}\"", 2);

    PARSE_ERR("a 1;\nb\n\n",
              "1:[a] [1] ;\n",
              "unexpected end of file, expecting \";\" or \"}\"", 4);

    PARSE_ERR("a 1;\n}\nnever;\n",
              "1:[a] [1] ;\n",
              "unexpected \"}\"", 2);

    PARSE_ERR("a 1;\n;\nnever;\n",
              "1:[a] [1] ;\n",
              "unexpected \";\"", 2);

    PARSE_ERR("a;;",
              "1:[a] ;\n",
              "unexpected \";\"", 1);

    PARSE_ERR("\n{\n",
              "",
              "unexpected \"{\"", 2);

    PARSE_ERR("a b }\n",
              "",
              "unexpected \"}\"", 1);

    PARSE_ERR("blk {\n  a 1;\n",
              "1:[blk] {\n2:  [a] [1] ;\n",
              "unexpected end of file, expecting \"}\"", 3);

    PARSE_ERR("blk {\n  inner {\n  }\n",
              "1:[blk] {\n2:  [inner] {\n3:  }\n",
              "unexpected end of file, expecting \"}\"", 4);

    PARSE_ERR("blk {\n}\n}\n",
              "1:[blk] {\n2:}\n",
              "unexpected \"}\"", 3);

    PARSE_ERR("a b\"c\";\n",
              "",
              "unexpected \"\"\"", 1);

    PARSE_ERR("ok;\na \"b\"c;\n",
              "1:[ok] ;\n",
              "unexpected \"c\"", 2);

    PARSE_ERR("a 'b''c';\n",
              "",
              "unexpected \"'\"", 1);

    /* an unterminated "${" takes the rest of the file */
    PARSE_ERR("v ${abc;\nnever;\n",
              "",
              "unexpected end of file, expecting \";\" or \"}\"", 3);

    /* the handler's verdicts */

    PARSE_ERR("a;\nret_msg x;\nnever;\n",
              "1:[a] ;\n2:[ret_msg] [x] ;\n",
              "said no", 2);

    HM_CHECK(parse("a;\nret_error;\nnever;\n") == HM_CONF_ERROR);
    HM_CHECK(strcmp(tr, "1:[a] ;\n2:[ret_error] ;\n") == 0, "%s", tr);

    PARSE_ERR("outer {\n  ret_msg;\n}\nnever;\n",
              "1:[outer] {\n2:  [ret_msg] ;\n",
              "said no", 2);
}


static void
test_files(void)
{
    char             *rv, dir[] = "/tmp/hm_unit_dir_XXXXXX";
    hm_str_t          name;
    hm_uint_t         n;
    hm_conf_dump_t   *cd;
    const char       *text = "dump me;\n";

    /* every parsed file is kept in config_dump */

    n = cycle.config_dump.nelts;

    HM_CHECK(parse(text) == HM_CONF_OK);
    HM_CHECK_UINT(cycle.config_dump.nelts, n + 1);

    cd = (hm_conf_dump_t *) cycle.config_dump.elts + n;
    HM_CHECK_STR(cd->name.data, cd->name.len, conf_path);
    HM_CHECK_STR(cd->data, cd->len, text);

    HM_CHECK(wrong_file == 0, "cf->conf_file->file.name is not the file");
    HM_CHECK(not_nul_terminated == 0, "%lu words not NUL-terminated",
             (unsigned long) not_nul_terminated);

    /* a missing file, a directory */

    name.data = (u_char *) "/nonexistent/hm_unit.conf";
    name.len = strlen((char *) name.data);

    fflush(stderr);
    {
        int  saved = dup(STDERR_FILENO);
        int  null = open("/dev/null", O_WRONLY);

        dup2(null, STDERR_FILENO);
        close(null);

        rv = hm_conf_parse(&conf, &name);
        HM_CHECK(rv == HM_CONF_ERROR, "a missing file parsed");

        if (mkdtemp(dir) != NULL) {
            name.data = (u_char *) dir;
            name.len = strlen(dir);
            rv = hm_conf_parse(&conf, &name);
            HM_CHECK(rv == HM_CONF_ERROR, "a directory parsed");
            rmdir(dir);
        }

        dup2(saved, STDERR_FILENO);
        close(saved);
    }

    HM_CHECK(conf.conf_file == NULL);

    /* NUL bytes in the file are word characters */

    HM_CHECK(parse_len("a x\0y;\n", 7) == HM_CONF_OK);
    HM_CHECK(strcmp(tr, "1:[a] [x\\0y] ;\n") == 0, "%s", tr);
}


static void
test_param(void)
{
    char  *rv;

    conf_path[0] = '\0';

    hm_str_set(&cycle.conf_param, "daemon off; worker_processes 2;");
    trlen = 0;
    tr[0] = '\0';

    rv = hm_conf_param(&conf);
    HM_CHECK(rv == HM_CONF_OK);
    HM_CHECK(strcmp(tr, "0:[daemon] [off] ;\n0:[worker_processes] [2] ;\n")
             == 0, "%s", tr);
    HM_CHECK(conf.conf_file == NULL);

    /* no block in -g */

    hm_str_set(&cycle.conf_param, "events { }");
    trlen = 0;
    tr[0] = '\0';

    fflush(stderr);
    {
        int  saved = dup(STDERR_FILENO);
        int  null = open("/dev/null", O_WRONLY);

        dup2(null, STDERR_FILENO);
        close(null);

        rv = hm_conf_param(&conf);

        dup2(saved, STDERR_FILENO);
        close(saved);
    }

    HM_CHECK(rv == HM_CONF_ERROR, "a block in -g parsed");
    HM_CHECK(tr[0] == '\0', "%s", tr);

    hm_str_set(&cycle.conf_param, "");
    HM_CHECK(hm_conf_param(&conf) == HM_CONF_OK);
    hm_str_null(&cycle.conf_param);
}


/* the generic setters on a struct of their own */

typedef struct {
    hm_flag_t     flag;
    hm_str_t      str;
    hm_int_t      num;
    size_t        size;
    off_t         off;
    hm_msec_t     msec;
    time_t        sec;
    hm_uint_t     e;
    hm_array_t   *strs;
} slots_t;


static char *
set(char *(*setter)(hm_conf_t *, hm_command_t *, void *), size_t offset,
    void *post, slots_t *s, const char *value)
{
    char          *rv;
    hm_str_t      *args;
    hm_command_t   cmd;

    hm_memzero(&cmd, sizeof(hm_command_t));
    hm_str_set(&cmd.name, "test_directive");
    cmd.offset = offset;
    cmd.post = post;

    conf.args->nelts = 0;
    args = hm_array_push_n(conf.args, 2);
    hm_str_set(&args[0], "test_directive");
    args[1].data = (u_char *) value;
    args[1].len = strlen(value);

    fflush(stderr);
    {
        int  saved = dup(STDERR_FILENO);
        int  null = open("/dev/null", O_WRONLY);

        dup2(null, STDERR_FILENO);
        close(null);

        rv = setter(&conf, &cmd, s);

        dup2(saved, STDERR_FILENO);
        close(saved);
    }

    return rv;
}


static void
unset(slots_t *s)
{
    s->flag = HM_CONF_UNSET;
    hm_str_null(&s->str);
    s->num = HM_CONF_UNSET;
    s->size = HM_CONF_UNSET_SIZE;
    s->off = HM_CONF_UNSET;
    s->msec = HM_CONF_UNSET_MSEC;
    s->sec = HM_CONF_UNSET;
    s->e = HM_CONF_UNSET_UINT;
    s->strs = HM_CONF_UNSET_PTR;
}


#define OFF(f)  offsetof(slots_t, f)

static void
test_setters(void)
{
    slots_t               s;
    hm_str_t             *v;
    hm_conf_num_bounds_t  bounds = { hm_conf_check_num_bounds, 1, 10 };
    hm_conf_enum_t        modes[] = {
        { hm_string("fast"), 1 },
        { hm_string("safe"), 2 },
        { hm_null_string, 0 }
    };

    unset(&s);

    HM_CHECK(set(hm_conf_set_flag_slot, OFF(flag), NULL, &s, "On")
             == HM_CONF_OK && s.flag == 1);
    HM_CHECK(set(hm_conf_set_flag_slot, OFF(flag), NULL, &s, "off")
             != HM_CONF_OK, "a duplicate flag");
    s.flag = HM_CONF_UNSET;
    HM_CHECK(set(hm_conf_set_flag_slot, OFF(flag), NULL, &s, "OFF")
             == HM_CONF_OK && s.flag == 0);
    s.flag = HM_CONF_UNSET;
    HM_CHECK(set(hm_conf_set_flag_slot, OFF(flag), NULL, &s, "yes")
             == HM_CONF_ERROR && s.flag == HM_CONF_UNSET);

    HM_CHECK(set(hm_conf_set_str_slot, OFF(str), NULL, &s, "text")
             == HM_CONF_OK);
    HM_CHECK_HMSTR(&s.str, "text");
    HM_CHECK(set(hm_conf_set_str_slot, OFF(str), NULL, &s, "again")
             != HM_CONF_OK, "a duplicate string");

    HM_CHECK(set(hm_conf_set_num_slot, OFF(num), NULL, &s, "42")
             == HM_CONF_OK && s.num == 42);
    s.num = HM_CONF_UNSET;
    HM_CHECK(set(hm_conf_set_num_slot, OFF(num), NULL, &s, "4x")
             == HM_CONF_ERROR);
    s.num = HM_CONF_UNSET;
    HM_CHECK(set(hm_conf_set_num_slot, OFF(num), &bounds, &s, "10")
             == HM_CONF_OK && s.num == 10);
    s.num = HM_CONF_UNSET;
    HM_CHECK(set(hm_conf_set_num_slot, OFF(num), &bounds, &s, "11")
             == HM_CONF_ERROR, "out of bounds");
    s.num = HM_CONF_UNSET;
    HM_CHECK(set(hm_conf_set_num_slot, OFF(num), &bounds, &s, "0")
             == HM_CONF_ERROR, "out of bounds");

    HM_CHECK(set(hm_conf_set_size_slot, OFF(size), NULL, &s, "16k")
             == HM_CONF_OK && s.size == 16384);
    s.size = HM_CONF_UNSET_SIZE;
    HM_CHECK(set(hm_conf_set_size_slot, OFF(size), NULL, &s, "16q")
             != HM_CONF_OK && s.size == HM_CONF_UNSET_SIZE);

    HM_CHECK(set(hm_conf_set_off_slot, OFF(off), NULL, &s, "2g")
             == HM_CONF_OK && s.off == 2LL * 1024 * 1024 * 1024);

    HM_CHECK(set(hm_conf_set_msec_slot, OFF(msec), NULL, &s, "1m30s")
             == HM_CONF_OK && s.msec == 90000);
    s.msec = HM_CONF_UNSET_MSEC;
    HM_CHECK(set(hm_conf_set_msec_slot, OFF(msec), NULL, &s, "1s1m")
             != HM_CONF_OK);

    HM_CHECK(set(hm_conf_set_sec_slot, OFF(sec), NULL, &s, "1h")
             == HM_CONF_OK && s.sec == 3600);
    s.sec = HM_CONF_UNSET;
    HM_CHECK(set(hm_conf_set_sec_slot, OFF(sec), NULL, &s, "5ms")
             != HM_CONF_OK);

    HM_CHECK(set(hm_conf_set_enum_slot, OFF(e), modes, &s, "SAFE")
             == HM_CONF_OK && s.e == 2);
    s.e = HM_CONF_UNSET_UINT;
    HM_CHECK(set(hm_conf_set_enum_slot, OFF(e), modes, &s, "fas")
             == HM_CONF_ERROR && s.e == HM_CONF_UNSET_UINT);

    HM_CHECK(set(hm_conf_set_str_array_slot, OFF(strs), NULL, &s, "one")
             == HM_CONF_OK);
    HM_CHECK(set(hm_conf_set_str_array_slot, OFF(strs), NULL, &s, "two")
             == HM_CONF_OK);
    HM_CHECK(s.strs != NULL && s.strs != HM_CONF_UNSET_PTR
             && s.strs->nelts == 2);
    if (s.strs && s.strs != HM_CONF_UNSET_PTR) {
        v = s.strs->elts;
        HM_CHECK_HMSTR(&v[0], "one");
        HM_CHECK_HMSTR(&v[1], "two");
    }
}


int
main(void)
{
    hm_pool_t  *pool;

    hm_unit_init("test_conf");

    test_log = hm_log_init(NULL, NULL);

    pool = hm_create_pool(HM_DEFAULT_POOL_SIZE, test_log);
    if (pool == NULL) {
        HM_CHECK(0, "hm_create_pool");
        return hm_unit_done();
    }

    cycle.pool = pool;
    cycle.log = test_log;

    if (hm_array_init(&cycle.config_dump, pool, 1, sizeof(hm_conf_dump_t))
        != HM_OK)
    {
        HM_CHECK(0, "config_dump");
        return hm_unit_done();
    }

    conf.args = hm_array_create(pool, 10, sizeof(hm_str_t));
    conf.pool = pool;
    conf.temp_pool = pool;
    conf.cycle = &cycle;
    conf.log = test_log;
    conf.handler = handler;
    conf.handler_conf = NULL;

    test_words();
    test_quotes();
    test_variables();
    test_blocks();
    test_lines();
    test_errors();
    test_files();
    test_param();
    test_setters();

    hm_destroy_pool(pool);

    return hm_unit_done();
}
