#!/usr/bin/perl

# Kafka -> file: a consumer group over 2 workers.  200 records produced with
# kcat arrive in the file outbound's JSON lines exactly once across both
# workers, each worker taking a share (one file per worker by $pid), and
# their offsets are committed (read from the mock with an OffsetFetch that
# does not join the group); a restart with the same group re-reads
# nothing and takes only the new records, once.  With a commit interval of
# an hour, a graceful stop commits.  The $kafka_* variables in a route
# (key, header), in a transform (topic, partition, offset, key, header,
# timestamp) and in a file path; record headers become message headers.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::Kafka;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module');

my $load = Test::Kafka::prerequisites($t);

my $k = Test::Kafka->new($t, brokers => 3, topics => ['t_c:4', 't_v:1', 't_s:2']);
my $B = $k->bootstrap();

my $conf = <<"EOF";
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 2;
worker_shutdown_timeout 10s;

events {
    worker_connections 1024;
}

pipeline c { output f; }

outbound f file { path %%TESTDIR%%/c-\$pid.jsonl; }

inbound in kafka {
    brokers $B;
    topics t_c;
    group_id g_c;
    auto_offset_reset earliest;
    session_timeout 6s;
    commit_interval 200ms;
    pipeline c;
}

pipeline v {
    transform {
        header_set x-meta "\$kafka_topic/\$kafka_partition/\$kafka_offset/\$kafka_key/\$kafka_header_x_type";
        header_set x-ts "\$kafka_timestamp";
    }
    route {
        when \$kafka_header_x_type = ping -> drop;
        when \$kafka_key = vip -> vip;
        default -> byvar;
    }
}

outbound vip file { path %%TESTDIR%%/vip.jsonl; }
outbound byvar file { path %%TESTDIR%%/v-\$kafka_topic-\$kafka_partition.jsonl; }

inbound iv kafka {
    brokers $B;
    topics t_v;
    group_id g_v;
    auto_offset_reset earliest;
    commit_interval 200ms;
    pipeline v;
}

pipeline s { output fs; }

outbound fs file { path %%TESTDIR%%/s.jsonl; }

inbound is kafka {
    brokers $B;
    topics t_s;
    group_id g_s;
    auto_offset_reset earliest;
    commit_interval 1h;
    pipeline s;
}
EOF

$t->write_file_expand('hermod.conf', $conf);

my $dir = $t->testdir();

# records of the c- files: value => count, and the files' record counts

sub collected {
    my (%count, %per_file);

    for my $f (glob "$dir/c-*.jsonl") {
        my @j = Test::Kafka::jsonl($f);
        $per_file{$f} = scalar @j;
        $count{ Test::Kafka::body_of($_) // '' }++ for @j;
    }

    return (\%count, \%per_file);
}

# the current assignment of an inbound from the error log: partition =>
# worker pid

sub assignment {
    my ($t, $inbound) = @_;

    my %cur;

    for (split /\n/, $t->error_log()) {
        next unless /(\d+)#\d+: inbound "\Q$inbound\E": (assigned|revoked) (\S+ \[\d+\])/;
        if ($2 eq 'assigned') {
            $cur{$3} = $1;
        } elsif (($cur{$3} // 0) == $1) {
            delete $cur{$3};
        }
    }

    return %cur;
}

sub group_of_two {
    my ($t) = @_;
    my %a = assignment($t, 'in');
    my %pids = map { $_ => 1 } values %a;
    return keys(%a) == 4 && keys(%pids) == 2;
}

sub distinct_of {
    my ($prefix, $n) = @_;
    my ($count) = collected();
    return scalar grep { $count->{"$prefix$_"} } 0 .. $n - 1;
}

###############################################################################

# the normal case: a settled group of two (the mock refuses commits while
# a group rebalances, so records taken before the second member joined
# could be read twice, which real Kafka would not do), then the records

$t->run();

ok($t->wait_for(sub { $t->worker_pids() == 2 }, 10), '2 workers');

ok($t->wait_for(sub { group_of_two($t) }, 60),
    '4 partitions over 2 workers')
    or diag(explain({ assignment($t, 'in') }));

ok($k->produce('t_c', [ map { [ "k$_", "m-$_" ] } 0 .. 199 ]),
    'produced 200 records');

ok($t->wait_for(sub { distinct_of('m-', 200) == 200 }, 60),
    'all 200 arrived') or diag(distinct_of('m-', 200) . ' arrived');

my @end = $k->end_offsets('t_c', 4);
my ($ok, @got) = $k->wait_committed('g_c', 't_c', \@end, 30);
ok($ok, 'the offsets committed') or diag("committed @got, end @end");

# a graceful stop: the file is final

$t->stop();

my ($count, $per_file) = collected();

is(scalar(grep { ($count->{"m-$_"} // 0) == 1 } 0 .. 199), 200,
    '200 records: each exactly once');
is(scalar(grep { !/^m-\d+$/ } keys %$count), 0, 'nothing else in the files');

my @files = grep { $per_file->{$_} > 0 } keys %$per_file;
is(scalar @files, 2, 'both workers took a share')
    or diag(explain($per_file));

my @j = Test::Kafka::jsonl("$dir/c-*.jsonl");
my %by = map { (Test::Kafka::body_of($_) // '') => $_ } @j;

is($by{'m-7'}{source}, 'kafka', 'JSON line: source kafka');
is($by{'m-7'}{key}, 'k7', 'JSON line: the record key');
is($by{'m-7'}{pipeline}, 'c', 'JSON line: the pipeline');
is(scalar(grep { ($_->{key} // '') ne 'k' . substr($_->{body} // '', 2) }
    @j), 0, 'JSON lines: every key matches its body');

# the same group again: committed offsets, only the new records arrive

my $t2 = Test::Hermod->new();
$t2->write_file_expand('hermod.conf',
    $conf =~ s{%%TESTDIR%%/c-}{$dir/c-}gr);

$t2->run();

ok($t2->wait_for(sub { group_of_two($t2) }, 60),
    'restart: 4 partitions over 2 workers')
    or diag(explain({ assignment($t2, 'in') }));

ok($k->produce('t_c', [ map { [ "k$_", "n-$_" ] } 0 .. 19 ]),
    'produced 20 more');

ok($t2->wait_for(sub { distinct_of('n-', 20) == 20 }, 60),
    'restart: the 20 new records arrived');

@end = $k->end_offsets('t_c', 4);
($ok, @got) = $k->wait_committed('g_c', 't_c', \@end, 30);
ok($ok, 'restart: the offsets committed') or diag("committed @got, end @end");

$t2->stop();

($count) = collected();

is(scalar(grep { ($count->{"n-$_"} // 0) == 1 } 0 .. 19), 20,
    'restart: each new record once');
is(scalar(grep { ($count->{"m-$_"} // 0) == 1 } 0 .. 199), 200,
    'restart: committed records not read again')
    or diag(scalar(grep { ($count->{"m-$_"} // 0) > 1 } 0 .. 199)
        . ' read again');

# a graceful stop commits: t_s has a commit interval of an hour

ok($k->produce('t_s', [ map { [ "s$_", "s-$_" ] } 0 .. 29 ]),
    'commit on stop: produced 30 records');

my $t4 = Test::Hermod->new();
$t4->write_file_expand('hermod.conf',
    $conf =~ s/worker_processes 2;/worker_processes 1;/r);
$t4->run();

my $d4 = $t4->testdir();

ok($t4->wait_for(sub { Test::Kafka::jsonl("$d4/s.jsonl") == 30 }, 60),
    'commit on stop: 30 arrived');

$t4->stop();

@end = $k->end_offsets('t_s', 2);
is(join(' ', $k->committed('g_s', 't_s', 2)), "@end",
    'commit on stop: committed at the graceful stop');

# the variables: records produced now, consumed by a third hermod

ok($k->produce('t_v', [ [ vip => 'first' ] ], headers => [ 'x-type' => 'order' ]),
    'variables: produced a vip record');
ok($k->produce('t_v', [ [ p1 => 'second' ] ], headers => [ 'x-type' => 'ping' ]),
    'variables: produced a ping');
ok($k->produce('t_v', [ [ n1 => 'third' ] ], headers => [ 'x-type' => 'order' ]),
    'variables: produced a normal record');

my $t3 = Test::Hermod->new();
$t3->write_file_expand('hermod.conf', $conf);
$t3->run();

my $d3 = $t3->testdir();

ok($t3->wait_for(sub {
    Test::Kafka::jsonl("$d3/vip.jsonl") >= 1
        && Test::Kafka::jsonl("$d3/v-t_v-0.jsonl") >= 1
}, 60), 'variables: records routed');

$t3->stop();

my @vip = Test::Kafka::jsonl("$d3/vip.jsonl");
my @byvar = Test::Kafka::jsonl("$d3/v-t_v-0.jsonl");
my @all = Test::Kafka::jsonl("$d3/*.jsonl");

is(join(',', map { Test::Kafka::body_of($_) } @vip), 'first',
    'route on $kafka_key');
is(join(',', map { Test::Kafka::body_of($_) } @byvar), 'third',
    'file path with $kafka_topic and $kafka_partition');
is(scalar(grep { (Test::Kafka::body_of($_) // '') eq 'second' } @all), 0,
    'route on $kafka_header_x_type: dropped');

is($byvar[0]{headers}{'x-type'}, 'order', 'record header as message header');
is($byvar[0]{headers}{'x-meta'}, 't_v/0/2/n1/order',
    '$kafka_topic $kafka_partition $kafka_offset $kafka_key'
    . ' $kafka_header_x_type');
is($vip[0]{headers}{'x-meta'}, 't_v/0/0/vip/order', 'the same, offset 0');

my $ts = $byvar[0]{headers}{'x-ts'} // '';
like($ts, qr/^\d{13}$/, '$kafka_timestamp: milliseconds');
cmp_ok(abs(($ts || 0) / 1000 - time()), '<', 600,
    '$kafka_timestamp: the time of the record');

$t->done_testing();
