#!/usr/bin/perl

# Kafka inbound, when things go wrong:
#
# - a failing outbound holds commits: a record whose delivery fails (a
#   file in a missing directory, retried, then failed for good: the source
#   is not acknowledged) holds its partition's commit back, although the
#   records after it were delivered; after a stop and a start with the path
#   fixed, it arrives, and so do the records after it (committed only below
#   the lowest unsettled offset: at least once, never skipped);
# - kill -9 of a worker mid-stream: the master starts another, the group
#   rebalances, and no record is missing downstream (duplicates are
#   counted and reported);
# - a broker down, then up (the mock's broker down/up): the partitions on
#   the other brokers keep flowing, and after it is up every record
#   arrives: none missing.

use warnings;
use strict;

use Test::More;
use Time::HiRes qw(time sleep);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::Kafka;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module');

my $load = Test::Kafka::prerequisites($t);

my $k = Test::Kafka->new($t, brokers => 3,
    topics => ['t_f:1', 't_k:4', 't_d:3']);
my $B = $k->bootstrap();

my $dir = $t->testdir();

# values => count in files (a glob), read as text: cheap enough to poll

sub bodies {
    my ($glob, $re) = @_;

    my %count;

    for my $f (glob $glob) {
        my $text = $t->read_file($f) // next;
        $text =~ s/[^\n]*\z//;     # a line being written
        $count{$1}++ while $text =~ /"body":"($re)"/g;
    }

    return \%count;
}

# waits for a condition, checking it every $every seconds (for conditions
# that read large files)

sub wait_every {
    my ($cond, $timeout, $every) = @_;

    my $deadline = time() + $timeout;

    while (1) {
        return 1 if $cond->();
        return 0 if time() >= $deadline;
        sleep($every);
    }
}

sub conf {
    my ($body, %o) = @_;

    my $wp = $o{workers} // 1;

    return <<"EOF";
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes $wp;
worker_shutdown_timeout 1s;

events {
    worker_connections 1024;
}

$body
EOF
}

###############################################################################

# a failing outbound holds commits

my $failing = conf(<<"EOF");
pipeline pf {
    route {
        when \$kafka_key = bad -> bad;
        default -> good;
    }
    retry attempts=3 backoff=100ms nojitter;
}

outbound bad file { path %%TESTDIR%%/missing/\$kafka_topic.jsonl; }
outbound good file { path %%TESTDIR%%/f.jsonl; }

inbound inf kafka {
    brokers $B;
    topics t_f;
    group_id g_f;
    auto_offset_reset earliest;
    commit_interval 100ms;
    pipeline pf;
}
EOF

(my $fixed = $failing)
    =~ s{%%TESTDIR%%/missing/}{%%TESTDIR%%/fixed-}
    or die "no missing path\n";

ok($k->produce('t_f', [ [ bad => 'b-0' ], map { [ "g$_" => "g-$_" ] } 1 .. 5 ]),
    'failing outbound: produced 6 records');

$t->write_file_expand('hermod.conf', $failing);
$t->run();

ok($t->wait_for(sub { bodies("$dir/f.jsonl", 'g-\d+')->{'g-5'} }, 60),
    'failing outbound: the records after it delivered');

# the committed offset, read from the mock without joining the group:
# none, or 0 (the held record's own offset), while it is retried

my ($off) = $k->committed('g_f', 't_f', 1);
cmp_ok($off // 99, '<=', 0, 'failing outbound: the commit held back');

ok($t->wait_log(qr/outbound "bad" attempt 3 failed/, 30),
    'failing outbound: retried, failed for good');

# ten commit intervals for the inbound to commit what it must not

ok(!$t->wait_for(sub { (($k->committed('g_f', 't_f', 1))[0] // 0) > 0 }, 1),
    'failing outbound: a failed record is not acknowledged');

$t->stop();

($off) = $k->committed('g_f', 't_f', 1);
cmp_ok($off // 99, '<=', 0, 'failing outbound: still held after the stop');


$t->write_file_expand('hermod.conf', $fixed);
$t->run();

ok($t->wait_for(sub { -s "$dir/fixed-t_f.jsonl" }, 60),
    'fixed path: the unsettled record arrived');
ok($t->wait_for(sub {
    my $c = bodies("$dir/f.jsonl", 'g-\d+');
    !grep { ($c->{"g-$_"} // 0) < 2 } 1 .. 5;
}, 60), 'fixed path: the records after it came again (commit held back)')
    or diag(explain(bodies("$dir/f.jsonl", 'g-\d+')));

ok($k->wait_committed('g_f', 't_f', [6], 30),
    'fixed path: committed to the end');

$t->stop();

my $b = bodies("$dir/fixed-t_f.jsonl", 'b-\d+');
is_deeply($b, { 'b-0' => 1 }, 'fixed path: the held record, once');

my $g = bodies("$dir/f.jsonl", 'g-\d+');
is_deeply($g, { map { ("g-$_" => 2) } 1 .. 5 },
    'delivered records after the held one: twice each, none lost');

###############################################################################

# kill -9 of a worker mid-stream

my $tk = Test::Hermod->new();
my $dk = $tk->testdir();

# nginx logs a worker killed by a signal at the alert level
$tk->allow_log(qr/worker process \d+ exited on signal 9/);

my $N = 10000;

# small batches, small fetches and a slow broker: the stream takes seconds

ok($k->produce('t_k', [ map { [ "k$_", "k-$_" ] } 0 .. $N - 1 ],
    props => [ 'batch.num.messages=20' ]), "kill -9: produced $N records");

$k->rtt($_, 50) for 1 .. 3;

$tk->write_file_expand('hermod.conf', conf(<<"EOF", workers => 2));
pipeline pk { output fk; }

outbound fk file { path %%TESTDIR%%/k-\$pid.jsonl; }

inbound ink kafka {
    brokers $B;
    topics t_k;
    group_id g_k;
    auto_offset_reset earliest;
    session_timeout 6s;
    commit_interval 100ms;
    pipeline pk;
    kafka_property max.partition.fetch.bytes 1024;
}
EOF

$tk->run();

ok($tk->wait_for(sub { $tk->worker_pids() == 2 }, 10), 'kill -9: 2 workers');

my $arrived = 0;

ok(wait_every(sub {
    $arrived = keys %{ bodies("$dk/k-*.jsonl", 'k-\d+') };
    $arrived >= $N / 10;
}, 60, 0.05), 'kill -9: the stream started');

my ($victim) = $tk->worker_pids();
kill 'KILL', $victim;

$arrived = keys %{ bodies("$dk/k-*.jsonl", 'k-\d+') };
cmp_ok($arrived, '<', $N, 'kill -9: killed mid-stream')
    or diag("all $N had arrived before the kill");

ok($tk->wait_for(sub {
    my @w = $tk->worker_pids();
    @w == 2 && !grep { $_ == $victim } @w;
}, 10), 'kill -9: the worker respawned');

$k->rtt($_, 0) for 1 .. 3;

wait_every(sub { keys %{ bodies("$dk/k-*.jsonl", 'k-\d+') } >= $N },
    120, 0.5);

$tk->stop();

my $c = bodies("$dk/k-*.jsonl", 'k-\d+');
my $missing = grep { !$c->{"k-$_"} } 0 .. $N - 1;
my $dups = 0;
$dups += $_ - 1 for values %$c;

is($missing, 0, "kill -9: no record missing of $N");
diag("kill -9 of a worker after $arrived of $N records: $missing missing,"
    . " $dups duplicates");

###############################################################################

# a broker down, then up

my $td = Test::Hermod->new();
my $dd = $td->testdir();

$k->set_leader('t_d', $_ - 1, $_) for 1 .. 3;

$td->write_file_expand('hermod.conf', conf(<<"EOF"));
pipeline pd { output fd; }

outbound fd file { path %%TESTDIR%%/d.jsonl; }

inbound ind kafka {
    brokers $B;
    topics t_d;
    group_id g_d;
    auto_offset_reset earliest;
    commit_interval 100ms;
    pipeline pd;
}
EOF

$td->run();

for my $p (0 .. 2) {
    $k->produce('t_d', [ map { "a-$p-$_" } 1 .. 10 ], partition => $p);
}

ok($td->wait_for(sub { keys %{ bodies("$dd/d.jsonl", 'a-\d-\d+') } == 30 },
    60), 'broker down: the first 30 records arrived');

# broker 2 leads partition 1

$k->down(2);

for my $p (0, 2) {
    ok($k->produce('t_d', [ map { "b-$p-$_" } 1 .. 10 ], partition => $p),
        "broker down: produced to partition $p");
}

$td->write_file('produce-b1.txt', join '', map { "b-1-$_\n" } 1 .. 10);
my $kcat = Test::Kafka::spawn($td,
    [ $k->produce_cmd('t_d', $td->conf_path('produce-b1.txt'),
        partition => 1) ], "$dd/produce-b1.out");

ok($td->wait_for(sub {
    my $c = bodies("$dd/d.jsonl", 'b-\d-\d+');
    20 == grep { $c->{"b-$_"} } map { my $p = $_; map { "$p-$_" } 1 .. 10 }
        0, 2;
}, 60), 'broker down: the partitions of the other brokers flow');

$k->up(2);

is(Test::Kafka::reap($td, $kcat, 60), 0, 'broker up: produced to partition 1')
    or diag($td->read_file("$dd/produce-b1.out"));

ok($td->wait_for(sub { keys %{ bodies("$dd/d.jsonl", 'b-\d-\d+') } == 30 },
    60), 'broker up: every record of the outage arrived');

$td->stop();

my $d = bodies("$dd/d.jsonl", '[ab]-\d-\d+');
$missing = grep { !$d->{$_} }
    map { my $x = $_; map { my $p = $_; map { "$x-$p-$_" } 1 .. 10 } 0 .. 2 }
    qw(a b);
$dups = 0;
$dups += $_ - 1 for values %$d;

is($missing, 0, 'broker down and up: no record missing of 60');
diag("broker down and up: $missing missing, $dups duplicates");

$t->done_testing();
