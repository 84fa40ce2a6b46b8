#!/usr/bin/perl

# Command line: -v, -V, -h, invalid options.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

my ($rc, $out, $err) = $t->hermod_cmd_split('-v');

is($rc, 0, '-v exit code');
like($err, qr/^hermod version: hermod\/\d+\.\d+\.\d+\b/m, '-v version on stderr');
unlike($err, qr/configure arguments:/, '-v no configure arguments');

($rc, $out, $err) = $t->hermod_cmd_split('-V');

is($rc, 0, '-V exit code');
like($err, qr/^hermod version: hermod\/\d+\.\d+\.\d+\b/m, '-V version');
like($err, qr/^built by /m, '-V built by');
like($err, qr/^configure arguments:/m, '-V configure arguments');
like($err, qr/^compiled-in modules:/m, '-V compiled-in modules');

my ($mods) = $err =~ /compiled-in modules:(.*)\z/s;
$mods //= '';

like($mods, qr/\bhm_core_module\b/, '-V lists hm_core_module');
like($mods, qr/\bhm_epoll_module\b/, '-V lists hm_epoll_module');

($rc, $out) = $t->hermod_cmd('-h');

is($rc, 0, '-h exit code');

for my $opt ('-c filename', '-s signal', '-t', '-T', '-g directives',
    '-p prefix', '-q')
{
    like($out, qr/(?<!\S)\Q$opt\E(?!\S)/, "-h mentions '$opt'");
}

($rc, $out) = $t->hermod_cmd('-Z');

is($rc, 1, 'invalid option exit code');
like($out, qr/hermod: invalid option: "-Z"/, 'invalid option message');

$t->done_testing();

###############################################################################
