#!/usr/bin/perl

# Configuration parser: -t, -T, -q, error messages with FILE:LINE,
# include (plain, glob, relative), quoting, -g, worker_processes auto.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

# bad configurations are tested in their own prefix, never run

my $t = Test::Hermod->new();

$t->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}
EOF

my $conf = $t->conf_path();

# -t, -t -q, -T

my ($rc, $out) = $t->hermod_cmd('-t', '-c', $conf);

is($rc, 0, '-t good exit code');
like($out, qr/the configuration file \Q$conf\E syntax is ok/, '-t syntax ok');
like($out, qr/configuration file \Q$conf\E test is successful/,
    '-t test successful');
unlike($out, qr/\[emerg\]/, '-t good no emerg');

($rc, $out) = $t->hermod_cmd('-t', '-q', '-c', $conf);

is($rc, 0, '-t -q exit code');
is($out, '', '-t -q prints nothing');

($rc, $out) = $t->hermod_cmd('-T', '-c', $conf);

is($rc, 0, '-T exit code');
like($out, qr/the configuration file \Q$conf\E syntax is ok/, '-T syntax ok');
like($out, qr/configuration file \Q$conf\E test is successful/,
    '-T test successful');
ok(index($out, "# configuration file $conf:\n"
    . $t->read_file('conf/hermod.conf')) >= 0,
    '-T dumps the configuration') or diag($out);

# error messages: the line marked "# ERR" is where the error is reported

sub err_line {
    my ($text) = @_;
    my @lines = split /\n/, $text, -1;
    for my $i (0 .. $#lines) {
        return $i + 1 if $lines[$i] =~ /# ERR/;
    }
    die "no # ERR marker\n";
}

sub conf_fails {
    my ($name, $text, $msg, %opts) = @_;

    my $path = $t->write_file_expand($name, $text);
    my $line = $opts{line} // ($opts{noline} ? 0 : err_line($text));
    my $file = $opts{file} // $path;

    my ($rc, $out) = $t->hermod_cmd('-t', '-c', $path);

    is($rc, 1, "$name: -t exit code");
    like($out, qr/\[emerg\]/, "$name: emerg");

    if ($opts{noline}) {
        like($out, qr/\Q$msg\E/, "$name: message") or diag($out);
    } else {
        like($out, qr/\Q$msg\E in \Q$file\E:$line(?!\d)/, "$name: message")
            or diag($out);
    }

    like($out, qr/configuration file \Q$path\E test failed/,
        "$name: test failed");
    unlike($out, qr/syntax is ok/, "$name: no syntax is ok");
}

conf_fails('unknown.conf', <<'EOF', 'unknown directive "foo"');
worker_processes 1;
foo bar;    # ERR
events { }
EOF

conf_fails('context.conf', <<'EOF',
events {
    worker_connections 16;
    worker_processes 1;    # ERR
}
EOF
    '"worker_processes" directive is not allowed here');

conf_fails('nargs.conf', <<'EOF',
events { }

worker_processes 1 2;    # ERR
EOF
    'invalid number of arguments in "worker_processes" directive');

conf_fails('nargs0.conf', <<'EOF',
worker_processes;    # ERR
events { }
EOF
    'invalid number of arguments in "worker_processes" directive');

conf_fails('brace.conf', <<'EOF', 'unexpected "}"');
events {
    worker_connections 16;
}
}    # ERR
EOF

# no newline at the end: the end of file is on the line of "daemon off"

conf_fails('eof.conf', "events { }\nworker_processes 1;\ndaemon off",
    'unexpected end of file, expecting ";" or "}"', line => 3);

conf_fails('value.conf', <<'EOF',
worker_processes abc;    # ERR
events { }
EOF
    'invalid value "abc" in "worker_processes" directive');

conf_fails('time.conf', <<'EOF',
events { }
worker_shutdown_timeout 10x;    # ERR
EOF
    '"worker_shutdown_timeout" directive invalid value');

conf_fails('dup.conf', <<'EOF', '"worker_connections" directive is duplicate');
events {
    worker_connections 16;
    worker_connections 32;    # ERR
}
EOF

conf_fails('dupmain.conf', <<'EOF', '"worker_processes" directive is duplicate');
worker_processes 1;
events { }
worker_processes 2;    # ERR
EOF

my $missing = $t->testdir() . '/conf/missing.conf';

conf_fails('inc_missing.conf', <<'EOF',
events { }
include missing.conf;    # ERR
EOF
    qq{open() "$missing" failed (2: No such file or directory)});

conf_fails('noevents.conf', <<'EOF', 'no "events" section in configuration',
worker_processes 1;
EOF
    noline => 1);

# errors in included files are reported with the included file and line

$t->write_file_expand('inc_bad/x.conf', <<'EOF');
worker_processes 1;

bogus_in_include on;
EOF

conf_fails('inc_bad.conf', <<'EOF', 'unknown directive "bogus_in_include"',
events { }
include inc_bad/x.conf;
EOF
    file => $t->testdir() . '/conf/inc_bad/x.conf', line => 3);

# include with a glob matching nothing is not an error

my $nomatch = $t->write_file_expand('nomatch.conf', <<'EOF');
events { }
include nomatch.d/*.conf;
EOF

($rc, $out) = $t->hermod_cmd('-t', '-c', $nomatch);
is($rc, 0, 'glob matching nothing: exit code') or diag($out);
like($out, qr/test is successful/, 'glob matching nothing: ok');

# glob includes are processed in sorted order: written in reverse order,
# the duplicate is reported in the later file

$t->write_file_expand('order.d/20-b.conf', "worker_shutdown_timeout 6s;\n");
$t->write_file_expand('order.d/10-a.conf', "worker_shutdown_timeout 5s;\n");

conf_fails('order.conf', <<'EOF',
events { }
include order.d/*.conf;
EOF
    '"worker_shutdown_timeout" directive is duplicate',
    file => $t->testdir() . '/conf/order.d/20-b.conf', line => 1);

# relative include: relative to the directory of the configuration file,
# neither to the prefix nor to the current directory

my $rel = $t->write_file_expand('rel.conf', <<'EOF');
events { }
include inc/rel_inc.conf;
EOF

$t->write_file_expand('inc/rel_inc.conf', "worker_processes 1;\n");

ok(!-e $t->testdir() . '/inc/rel_inc.conf', 'relative include: not in prefix');

($rc, $out) = $t->hermod_cmd('-T', '-c', $rel);
is($rc, 0, 'relative include: exit code') or diag($out);
like($out, qr/^# configuration file \Q${\ $t->testdir()}\E\/conf\/inc\/rel_inc\.conf:$/m,
    'relative include: dumped');

# quoting: single and double quotes, escapes

my $quotes = $t->write_file_expand('quotes.conf', <<'EOF');
worker_processes "1";
worker_shutdown_timeout '5s';
events { "worker_connections" 16; }
EOF

($rc, $out) = $t->hermod_cmd('-t', '-c', $quotes);
is($rc, 0, 'quotes: exit code') or diag($out);

conf_fails('quotes_value.conf', <<'EOF',
events { }
worker_processes "a b";    # ERR
EOF
    'invalid value "a b" in "worker_processes" directive');

conf_fails('escape_value.conf', <<'EOF',
events { }
worker_processes "a\"b";    # ERR
EOF
    'invalid value "a"b" in "worker_processes" directive');

###############################################################################

# glob include: all matches dumped by -T in sorted order, and applied

my $tg = Test::Hermod->new();

$tg->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;

events {
    worker_connections 64;
}

include conf.d/*.conf;
EOF

my $fb = $tg->write_file_expand('conf.d/20-b.conf',
    "worker_shutdown_timeout 5s;\n");
my $fa = $tg->write_file_expand('conf.d/10-a.conf', "worker_processes 3;\n");

($rc, $out) = $tg->hermod_cmd('-T', '-c', $tg->conf_path());

is($rc, 0, 'glob include -T exit code') or diag($out);

my $ia = index($out, "# configuration file $fa:\nworker_processes 3;\n");
my $ib = index($out,
    "# configuration file $fb:\nworker_shutdown_timeout 5s;\n");
my $im = index($out, "# configuration file " . $tg->conf_path() . ":\n");

ok($im >= 0, 'glob include: main file dumped');
ok($ia >= 0, 'glob include: first file dumped');
ok($ib >= 0, 'glob include: second file dumped');
ok($ia >= 0 && $ib >= 0 && $ia < $ib, 'glob include: dumped in sorted order');

$tg->run();

ok($tg->wait_for(sub { $tg->worker_pids() == 3 }, 5),
    'glob include: 3 workers')
    or diag('workers: ' . join ' ', $tg->worker_pids());

$tg->stop();

###############################################################################

# a quoted path with a space

my $ts = Test::Hermod->new();

$ts->write_file_expand('hermod.conf', <<'EOF');
error_log "%%TESTDIR%%/logs/err 1.log" info;

events {
    worker_connections 64;
}
EOF

$ts->run();

ok(-e $ts->testdir() . '/logs/err 1.log', 'quoted error_log with a space');
ok(!-e $ts->testdir() . '/logs/err', 'no file named after the first word');

$ts->stop();

# an escaped quote in a quoted string

my $te = Test::Hermod->new();

$te->write_file_expand('hermod.conf', <<'EOF');
error_log "%%TESTDIR%%/logs/q\"x.log" info;

events {
    worker_connections 64;
}
EOF

$te->run();

ok(-e $te->testdir() . '/logs/q"x.log', 'escaped quote in error_log');

$te->stop();

###############################################################################

# -g

my $tg2 = Test::Hermod->new();

$tg2->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;

events {
    worker_connections 64;
}
EOF

$tg2->run('-g', 'worker_processes 2;');

ok($tg2->wait_for(sub { $tg2->worker_pids() == 2 }, 5),
    '-g worker_processes 2')
    or diag('workers: ' . join ' ', $tg2->worker_pids());

$tg2->stop();

$tg2->write_file_expand('dup.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}
EOF

($rc, $out) = $tg2->hermod_cmd('-t', '-c', $tg2->conf_path('dup.conf'),
    '-g', 'worker_processes 2;');

is($rc, 1, '-g duplicate: exit code');
like($out, qr/"worker_processes" directive is duplicate/,
    '-g duplicate: message');

###############################################################################

# worker_processes auto: one worker per CPU

my $ta = Test::Hermod->new();

$ta->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;
worker_processes auto;

events {
    worker_connections 64;
}
EOF

# online CPUs (sysconf) and usable CPUs (affinity) may differ: accept both

my %ncpu;

for my $cmd ('nproc', 'getconf _NPROCESSORS_ONLN') {
    my $n = `$cmd 2>/dev/null`;
    $ncpu{$1} = 1 if defined $n && $n =~ /^(\d+)/;
}

if (open my $fh, '<', '/proc/cpuinfo') {
    my $n = grep { /^processor\s*:/ } <$fh>;
    $ncpu{$n} = 1 if $n;
}

SKIP: {
    skip 'cannot count CPUs', 1 unless %ncpu;

    $ta->run();

    my $n = 0;
    $ta->wait_for(sub { $n = () = $ta->worker_pids(); $ncpu{$n} }, 5);

    ok($ncpu{$n}, 'worker_processes auto: one worker per CPU')
        or diag("workers $n, cpus " . join ' or ', sort keys %ncpu);

    $ta->stop();
}

$t->done_testing();

###############################################################################
