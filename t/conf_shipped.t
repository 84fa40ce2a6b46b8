#!/usr/bin/perl

# The shipped configuration and every example pass "hermod -t" as they
# are, with the build directory as the prefix (what the README runs).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

my $t = Test::Hermod->new();

my $prefix = $t->builddir();
my @confs = ('conf/hermod.conf', sort glob 'conf/examples/*.conf');

for my $conf (@confs) {
    my ($rc, $out) = $t->hermod_cmd('-t', '-p', "$prefix/", '-c', $conf);
    is($rc, 0, "$conf: -t") or diag($out);
    like($out, qr/test is successful/, "$conf: test is successful");
}

ok(-f "$prefix/html/index.html", 'the build directory holds the page');

done_testing();
