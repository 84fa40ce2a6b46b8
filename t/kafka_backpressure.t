#!/usr/bin/perl

# Kafka inbound backpressure: a pipeline whose max_in_flight is far below
# the backlog makes the inbound pause its partitions and resume them when
# there is room again, many times over.  Every record must arrive, once,
# and at a rate a pause/resume cycle does not dominate: 3000 records
# through max_in_flight 32 (about 100 cycles) in well under 30 s, to a file
# outbound (settles at once) and to a Kafka outbound (settles on the
# delivery report).

use warnings;
use strict;

use Test::More;
use Time::HiRes qw(time);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::Kafka;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module');

my $load = Test::Kafka::prerequisites($t);

my $k = Test::Kafka->new($t, brokers => 1, topics => ['t_bp:4', 't_bk:4', 't_bk_out:4']);
my $B = $k->bootstrap();

$t->write_file_expand('hermod.conf', <<"EOF");
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 1024;
}

pipeline bp {
    max_in_flight 32;
    output f;
}

outbound f file { path %%TESTDIR%%/bp.jsonl; }

inbound in kafka {
    brokers $B;
    topics t_bp;
    group_id g_bp;
    auto_offset_reset earliest;
    commit_interval 200ms;
    pipeline bp;
}

pipeline bk {
    max_in_flight 32;
    output k;
}

outbound k kafka {
    brokers $B;
    topic t_bk_out;
}

inbound ink kafka {
    brokers $B;
    topics t_bk;
    group_id g_bk;
    auto_offset_reset earliest;
    commit_interval 200ms;
    pipeline bk;
}
EOF

my $N = 3000;
my $dir = $t->testdir();

ok($k->produce('t_bp', [ map { [ "k$_", "bp-$_" ] } 0 .. $N - 1 ]),
    "produced $N records");
ok($k->produce('t_bk', [ map { [ "k$_", "bk-$_" ] } 0 .. $N - 1 ]),
    "produced $N records for the Kafka outbound");

sub arrived {
    my $text = $t->read_file("$dir/bp.jsonl") // '';
    $text =~ s/[^\n]*\z//;
    my %c;
    $c{$1}++ while $text =~ /"body":"(bp-\d+)"/g;
    return \%c;
}

$t->run();

# the clock starts with the first record (the group join is not counted)

ok($t->wait_for(sub { -s "$dir/bp.jsonl" }, 30), 'the first records arrived');

my $start = time();
my $all = $t->wait_for(sub { keys %{ arrived() } == $N }, 30);
my $took = time() - $start;

ok($all, "file: all $N arrived within 30 s through max_in_flight 32")
    or diag(scalar(keys %{ arrived() }) . " of $N arrived in"
        . sprintf(' %.1f s', $took));

# whatever the rate, nothing is lost or doubled: wait for the rest

$t->wait_for(sub { keys %{ arrived() } == $N }, 120) unless $all;

my $c = arrived();

is(scalar(grep { $c->{"bp-$_"} } 0 .. $N - 1), $N, 'file: none missing');
is(scalar(grep { $_ > 1 } values %$c), 0, 'file: none twice');

# to the Kafka outbound: counted from the first record in the output topic

my @out;

ok($t->wait_for(sub { @out = $k->consume('t_bk_out'); @out > 0 }, 30),
    'Kafka outbound: the first records arrived');

$start = time();
$all = $t->wait_for(sub { @out = $k->consume('t_bk_out'); @out >= $N }, 30);
$took = time() - $start;

ok($all, "Kafka outbound: all $N arrived within 30 s through"
    . ' max_in_flight 32')
    or diag(scalar(@out) . " of $N arrived in" . sprintf(' %.1f s', $took));

$t->stop();

$t->done_testing();
