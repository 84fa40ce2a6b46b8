#!/usr/bin/perl

# load_module: success, and each failure with its one-line reason ending
# "in FILE:LINE": missing file, not a hermod module, already loaded, wrong
# context, directive before load_module, wrong ABI version, wrong
# signature.  Out-of-tree build of a dynamic module.

use warnings;
use strict;

use Test::More;
use File::Copy qw(copy);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

my $so = $t->builddir() . '/modules/hm_example_module.so';

plan(skip_all => "no dynamic hm_example_module ($so)") unless -e $so;

my $cc = $ENV{CC} || 'cc';
my $have_cc = $t->has_program($cc);

my $events = <<'EOF';
events {
    worker_connections 16;
}
EOF

my $example = <<'EOF';
example {
    listen 127.0.0.1:%%PORT_8081%%;
    greeting "hi";
}
EOF

sub err_line {
    my ($text) = @_;
    my @lines = split /\n/, $text, -1;
    for my $i (0 .. $#lines) {
        return $i + 1 if $lines[$i] =~ /# ERR/;
    }
    die "no # ERR marker\n";
}

# -t on a configuration that must fail with $re ... " in FILE:LINE"

sub load_fails {
    my ($name, $text, $re) = @_;

    my $path = $t->write_file_expand($name, $text);
    my $line = err_line($text);

    my ($rc, $out) = $t->hermod_cmd('-t', '-c', $path);

    is($rc, 1, "$name: exit code");
    like($out, qr/\[emerg\][^\n]*$re[^\n]* in \Q$path\E:$line(?!\d)/,
        "$name: message") or diag($out);
    like($out, qr/configuration file \Q$path\E test failed/,
        "$name: test failed");

    return $out;
}

# compiles C source into TESTDIR/$name.so; returns the path or undef

sub build_so {
    my ($name, $src, $cflags) = @_;

    my $dir = $t->testdir();
    my $c = $t->write_file("$name.c", $src);
    my $out = "$dir/$name.so";

    # warnings are not what is tested here: never let -Werror stop us
    my $cmd = "$cc " . ($cflags // '') . " -Wno-error -shared -fPIC"
        . " -o '$out' '$c'";

    my ($rc, $o) = $t->run_cmd(['sh', '-c', $cmd], dir => $t->repo());

    unless (defined $rc && $rc == 0 && -e $out) {
        diag("$cmd\n$o");
        return undef;
    }

    return $out;
}

###############################################################################

# success

my $ok = $t->write_file_expand('ok.conf', <<"EOF" . $events . $example);
load_module %%BUILDDIR%%/modules/hm_example_module.so;
error_log %%TESTDIR%%/logs/error.log info;

EOF

my ($rc, $out) = $t->hermod_cmd('-t', '-c', $ok);

is($rc, 0, 'load_module: -t exit code') or diag($out);
like($out, qr/test is successful/, 'load_module: test is successful');

# missing file

my $nofile = $t->testdir() . '/nonexistent.so';

load_fails('missing.conf', <<"EOF" . $events,
load_module %%TESTDIR%%/nonexistent.so;    # ERR
EOF
    qr/dlopen\(\) "\Q$nofile\E" failed \(/);

# already loaded

load_fails('dup.conf', <<"EOF" . $events . $example,
load_module %%BUILDDIR%%/modules/hm_example_module.so;
load_module %%BUILDDIR%%/modules/hm_example_module.so;    # ERR
EOF
    qr/module "hm_example_module" is already loaded/);

# wrong context

load_fails('context.conf', <<"EOF",
events {
    load_module %%BUILDDIR%%/modules/hm_example_module.so;    # ERR
}
EOF
    qr/"load_module" directive is not allowed here/);

# a module's directive before load_module

load_fails('before.conf', <<"EOF",
$events
example {    # ERR
    listen 127.0.0.1:%%PORT_8081%%;
}

load_module %%BUILDDIR%%/modules/hm_example_module.so;
EOF
    qr/unknown directive "example"/);

###############################################################################

# shared objects built here

SKIP: {
    skip "no $cc", 1 unless $have_cc;

    my $notmod = build_so('notmod', "int hm_not_a_module = 1;\n");

    ok($notmod, 'not a module: built') or skip 'cannot build a .so', 1;

    load_fails('notmod.conf', <<"EOF" . $events,
load_module $notmod;    # ERR
EOF
        qr/is not a hermod module/);
}

# ABI checks.  Assumption: hm_module_t starts with
#
#     hm_uint_t    abi_version;
#     const char  *signature;
#     size_t       size;
#
# so that a positional initializer of those three fields is independent
# of the rest of the layout.

SKIP: {
    skip "no $cc", 1 unless $have_cc;

    my $f = $t->builddir() . '/hm_sdk_cflags';
    my $sdk = $t->read_file($f);

    ok(defined $sdk, "sdk cflags: $f exists") or skip "no $f", 1;

    chomp $sdk;

    my $src = <<'EOF';
#include <hm_config.h>
#include <hm_core.h>

static hm_module_t bad = { %ABI%, %SIG%, sizeof(hm_module_t) };

hm_module_t *hm_modules[] = { &bad, NULL };
char *hm_module_names[] = { "hm_bad_module", NULL };
EOF

    (my $abi_src = $src) =~ s/%ABI%/HM_MODULE_ABI_VERSION + 1/;
    $abi_src =~ s/%SIG%/HM_MODULE_SIGNATURE/;

    my $abi = build_so('bad_abi', $abi_src, $sdk);

    ok($abi, 'bad ABI: built with hm_sdk_cflags') or skip 'cannot build', 1;

    my $o = load_fails('bad_abi.conf', <<"EOF" . $events,
error_log %%TESTDIR%%/logs/error.log info;
load_module $abi;    # ERR
EOF
        qr/module "hm_bad_module" was built for ABI version \d+,/
        . qr/ hermod provides \d+/);

    my ($n, $m) = $o =~ /ABI version (\d+), hermod provides (\d+)/;
    ok(defined $n && $n == $m + 1, 'bad ABI: versions reported')
        or diag($o);

    (my $sig_src = $src) =~ s/%ABI%/HM_MODULE_ABI_VERSION/;
    $sig_src =~ s/%SIG%/"0,x,bogus"/;

    my $sig = build_so('bad_sig', $sig_src, $sdk);

    ok($sig, 'bad signature: built') or skip 'cannot build', 1;

    load_fails('bad_sig.conf', <<"EOF" . $events,
load_module $sig;    # ERR
EOF
        qr/module "hm_bad_module" is not binary compatible:/
        . qr/ signature "0,x,bogus", expected "/);
}

###############################################################################

# out-of-tree build of the example module with --add-dynamic-module

SKIP: {
    skip 'HERMOD_SKIP_BUILD_TESTS is set', 1 if $ENV{HERMOD_SKIP_BUILD_TESTS};
    skip "no $cc", 1 unless $have_cc;
    skip 'no make', 1 unless $t->has_program('make');

    my $repo = $t->repo();
    my $srcdir = "$repo/modules/example";

    skip 'no configure', 1 unless -f "$repo/configure";
    skip "no $srcdir", 1 unless -d $srcdir;

    my $dir = $t->testdir();
    my $copy = "$dir/src/example";
    my $build = "$dir/build";

    mkdir "$dir/src";
    mkdir $copy or die "mkdir $copy: $!\n";

    opendir my $dh, $srcdir or die "opendir $srcdir: $!\n";
    for my $f (readdir $dh) {
        next unless -f "$srcdir/$f";
        copy("$srcdir/$f", "$copy/$f") or die "copy $f: $!\n";
    }
    closedir $dh;

    # reuse the main build's configure arguments, so that the signature
    # matches, except those naming the build directory or modules

    my (undef, $v) = $t->hermod_cmd('-V');
    my ($args) = $v =~ /^configure arguments:(.*)$/m;

    my @reuse = grep {
        !/^--builddir=/ && !/^--add-(dynamic-)?module=/ && !/example/
    } split ' ', $args // '';

    my @cmd = ('sh', 'configure', "--builddir=$build",
        "--add-dynamic-module=$copy", '--without-example_module');

    my ($rc, $o) = $t->run_cmd([@cmd, @reuse], dir => $repo, timeout => 120);

    if (@reuse && (!defined $rc || $rc != 0)) {
        diag("configure with the main build's arguments failed, retrying"
            . " without them:\n$o");
        ($rc, $o) = $t->run_cmd(\@cmd, dir => $repo, timeout => 120);
    }

    is($rc, 0, 'out-of-tree: configure') or diag($o);

    ($rc, $o) = $t->run_cmd(['make', '-f', "$build/Makefile", 'modules'],
        dir => $repo, timeout => 300);

    is($rc, 0, 'out-of-tree: make modules') or diag($o);

    my $oot = "$build/modules/hm_example_module.so";
    ok(-e $oot, 'out-of-tree: module built');

    my $conf = $t->write_file_expand('oot.conf', <<"EOF" . $events . $example);
load_module $oot;
error_log %%TESTDIR%%/logs/error.log info;
EOF

    ($rc, $o) = $t->hermod_cmd('-t', '-c', $conf);

    is($rc, 0, 'out-of-tree: load_module -t') or diag($o);
}

$t->done_testing();

###############################################################################
