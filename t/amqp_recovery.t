#!/usr/bin/perl

# AMQP recovery against a real RabbitMQ:
#
# - The broker stops and starts again in the middle of a stream of HTTP
#   requests to a RabbitMQ outbound with a retry filter: every request is
#   answered 202, and every message is in the (durable) queue afterwards;
#   duplicates are possible (published, then the connection went before
#   the confirm), losses are not.
# - A consumer across the same restart: every message published before the
#   stop arrives, the consumer reconnects and takes what comes after.
# - kill -9 of a worker whose messages are stuck in the pipeline (its
#   outbound never answers): the broker requeues them, the master starts a
#   new worker that takes them again; after a reload with a working
#   outbound (and worker_shutdown_timeout for the old worker) every message
#   is delivered, some marked redelivered.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::RabbitMQ;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module');

my $load = Test::RabbitMQ::load_module($t);
my $r = Test::RabbitMQ->new($t, management => 1);

my $U = $r->url();
my $d = $t->testdir();
my $hport = $t->port(8080);
my $hole = $t->port(8098);

# a peer that accepts connections (the kernel does) and never answers

my $blackhole = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
    LocalPort => $hole, ReuseAddr => 1) or die "listen: $!\n";

sub conf {
    my ($stuck) = @_;

    my $kout = $stuck
        ? "outbound kout http { url http://127.0.0.1:$hole/; timeout 60s; }"
        : "outbound kout file { path %%TESTDIR%%/k.jsonl; }";

    return <<"EOF";
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
worker_shutdown_timeout 1s;

events {
    worker_connections 1024;
}

pipeline to_rabbit {
    retry attempts=200 backoff=50ms..300ms retry_on=connect,error,nack,timeout;
    output rabbit;
}

outbound rabbit amqp {
    url $U;
    queue_declare stream durable;
    routing_key stream;
    reconnect_backoff 50ms 500ms;
}

pipeline from_rabbit { output f; }
outbound f file { path %%TESTDIR%%/in.jsonl; }

inbound in amqp {
    url $U;
    queue_declare inq durable;
    queue inq;
    reconnect_backoff 50ms 500ms;
    pipeline from_rabbit;
}

pipeline k {
    transform { header_set x-redelivered \$amqp_redelivered; }
    output kout;
}

$kout

inbound kin amqp {
    url $U;
    queue_declare kq durable;
    queue kq;
    prefetch 10;
    pipeline k;
}

http {
    server {
        listen 127.0.0.1:$hport;
        location /pub { pipeline to_rabbit; }
    }
}
EOF
}

$t->write_file_expand('hermod.conf', conf(0));
$t->run();

ok($t->wait_log(qr/inbound "in": connected/, 20), 'consumer connected');

sub bodies {
    my ($file) = @_;
    my %seen;
    for my $l (split /\n/, $t->read_file($file) // '') {
        my $j = eval { decode_json($l) } or next;
        $seen{ $j->{body} }++;
    }
    return \%seen;
}

###############################################################################

# a stream of requests across a broker restart

my $N = 300;
my $status = "$d/status.txt";

my $pid = fork();
die "fork: $!\n" unless defined $pid;

if ($pid == 0) {
    open my $fh, '>', $status or POSIX::_exit(1);
    $fh->autoflush(1);

    for my $i (1 .. $N) {
        my $code = `curl -s -m 120 -o /dev/null -w '%{http_code}' -X POST --data-binary m-$i http://127.0.0.1:$hport/pub`;
        print $fh "$i $code\n";
    }

    close $fh;
    POSIX::_exit(0);
}

sub answered { scalar(() = ($t->read_file($status) // '') =~ /\n/g) }

ok($t->wait_for(sub { answered() >= 50 }, 60), 'requests flowing');

# messages for the consumer, published before the stop

my $lines = $t->write_file('lines.txt', join('', map { "c-$_\n" } 1 .. 200));
my ($rc, $out) = $t->run_cmd(['sh', '-c', 'exec amqp-publish --url "$0"'
    . ' -r inq -l -p < "$1"', $U, $lines], timeout => 60);
is($rc, 0, '200 messages for the consumer') or diag($out);

$r->stop();
my $during = answered();
note("broker stopped after $during answers");

ok($t->wait_log(qr/outbound "rabbit": amqp .*reconnecting in/, 10),
    'the publisher notices the broker is gone');

$r->start();

ok($t->wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid }, 240),
    'all requests answered');

my @codes = map { (split / /)[1] } split /\n/, $t->read_file($status) // '';
is(scalar @codes, $N, "$N answers");
is(scalar(grep { $_ ne '202' } @codes), 0, 'every one 202')
    or diag(join ' ', grep { $_ ne '202' } @codes);

my $m = $r->wait_messages('stream', $N + 50, timeout => 20);

my %count;
$count{ $_->{body} }++ for @$m;

is(scalar(grep { !$count{"m-$_"} } 1 .. $N), 0,
    'every message in the queue: none lost');
note('duplicates: ' . (@$m - keys %count));
cmp_ok(scalar @$m, '>=', $N, 'at least once');

# the consumer came back and took everything

ok($t->wait_log(qr/inbound "in": connected to the AMQP broker .* again/, 30),
    'the consumer reconnected');

ok($t->wait_for(sub { keys(%{ bodies("$d/in.jsonl") }) >= 200 }, 60),
    'the consumer got all 200 across the restart');

ok($r->publish(routing_key => 'inq', body => 'after'), 'one more');
ok($t->wait_for(sub { bodies("$d/in.jsonl")->{after} }, 20),
    'consumed after the restart');

###############################################################################

# kill -9 of a worker holding unacknowledged messages: first a reload to
# an outbound that never answers

$t->allow_log(qr/exited on signal 9/);

my $mark = $t->log_mark();

$t->write_file_expand('hermod.conf', conf(1));
$t->signal('HUP');

ok($t->wait_log(qr/inbound "kin": connected/, 20, $mark),
    'reloaded: the new worker consumes');

$lines = $t->write_file('klines.txt', join('', map { "k-$_\n" } 1 .. 30));
($rc, $out) = $t->run_cmd(['sh', '-c', 'exec amqp-publish --url "$0"'
    . ' -r kq -l -p < "$1"', $U, $lines], timeout => 60);
is($rc, 0, '30 messages for kq') or diag($out);

ok(scalar $r->wait_queue('kq', sub {
    ($_[0]{messages_unacknowledged} // 0) == 10
        && ($_[0]{messages_ready} // 0) == 20 }),
    'the worker holds a prefetch of 10 unacknowledged');

ok($t->wait_for(sub { my @o = $t->worker_pids(); @o == 1 }, 20),
    'the old worker is gone (worker_shutdown_timeout)');

my @w = $t->worker_pids();
kill 'KILL', @w;
note("killed worker(s) @w");

ok($t->wait_for(sub {
    my @n = $t->worker_pids();
    @n && !grep { my $x = $_; grep { $_ == $x } @w } @n
}, 20), 'the master started a new worker');

ok($t->wait_log(qr/worker process \d+ exited on signal 9/, 10),
    'the kill is logged');

ok(scalar $r->wait_queue('kq', sub {
    ($_[0]{messages_unacknowledged} // 0) == 10
        && ($_[0]{messages_ready} // 0) == 20
        && ($_[0]{redeliver_details} || $_[0]{message_stats}) }),
    'the new worker holds 10 again');

# then a working outbound again: everything is delivered

$t->write_file_expand('hermod.conf', conf(0));
$t->signal('HUP');

ok($t->wait_for(sub { keys(%{ bodies("$d/k.jsonl") }) >= 30 }, 60),
    'all 30 delivered after the kill and the reload');

my @k = map { eval { decode_json($_) } || () }
    split /\n/, $t->read_file("$d/k.jsonl") // '';
cmp_ok(scalar(grep { ($_->{headers}{'x-redelivered'} // '') eq 'true' } @k),
    '>=', 10, 'the requeued ones come marked redelivered');

ok(scalar $r->wait_queue('kq', sub { defined $_[0]{messages}
    && $_[0]{messages} == 0 && ($_[0]{messages_unacknowledged} // -1) == 0 }),
    'kq acknowledged and empty');

$t->stop();

done_testing();
