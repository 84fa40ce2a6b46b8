#!/usr/bin/perl

# AMQP flow against a real RabbitMQ:
#
# - Backpressure: a consumer whose pipeline is full (max_in_flight 5, an
#   origin that holds its answers) stops acknowledging: the broker shows
#   exactly prefetch (20) unacknowledged and keeps the rest ready, the
#   origin sees only 5 requests at a time; once the origin answers, every
#   message is delivered exactly once and acknowledged.
# - Heartbeats: the broker frozen (SIGSTOP) for longer than two heartbeat
#   intervals: hermod says so and reconnects once the broker runs again;
#   a message published afterwards is consumed.
# - RabbitMQ -> RabbitMQ: 500 messages relayed from one queue through a
#   pipeline (a transform adds a header) to an exchange, each exactly once,
#   with the header, the source queue empty and acknowledged.
# - RabbitMQ -> Kafka: deliveries produced to a topic of librdkafka's mock
#   cluster, read back with kcat: value, key (the routing key) and the
#   AMQP headers as record headers (skipped without the Kafka module).

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use IO::Select;
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

# Kafka, if its module and tools are there

my ($kload, $k);

if (eval { require Test::Kafka; 1 }) {
    my $so = $t->builddir() . '/modules/hm_kafka_module.so';
    my ($bin) = Test::Kafka::tool($t);

    if ((-e $so || $t->has_module('hm_kafka_module')) && $bin
        && $t->has_program('kcat'))
    {
        $kload = Test::Kafka::load_module($t);
        $k = Test::Kafka->new($t, brokers => 1, topics => ['from_rabbit:1']);
    }
}

my $r = Test::RabbitMQ->new($t);
my $U = $r->url();
my $d = $t->testdir();
my $gport = $t->port(8097);

# the gate origin: holds every request until the file "open" exists, then
# answers 200 to all; logs each request body, one per line

my $gate = "$d/gate";
mkdir $gate;

my $gl = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1',
    LocalPort => $gport, ReuseAddr => 1) or die "listen: $!\n";

my $gpid = fork();
die "fork: $!\n" unless defined $gpid;

if ($gpid == 0) {
    my $sel = IO::Select->new($gl);
    my (%buf, @held, $max);

    $max = 0;

    for (;;) {
        for my $s ($sel->can_read(0.05)) {
            if ($s == $gl) {
                my $c = $gl->accept() or next;
                $sel->add($c);
                $buf{$c} = '';
                next;
            }

            my $n = sysread($s, $buf{$s}, 65536, length $buf{$s});

            if (!$n) {
                $sel->remove($s);
                @held = grep { $_->[0] != $s } @held;
                delete $buf{$s};
                close $s;
                next;
            }

            while ($buf{$s} =~ /^(.*?\r\n\r\n)/s) {
                my $head = $1;
                my ($len) = $head =~ /content-length:\s*(\d+)/i;
                $len //= 0;
                last if length($buf{$s}) < length($head) + $len;
                my $body = substr($buf{$s}, length $head, $len);
                substr($buf{$s}, 0, length($head) + $len) = '';
                push @held, [$s, $body];
            }
        }

        $max = @held if @held > $max;

        if (open my $fh, '>', "$gate/max.tmp") {
            print $fh "$max\n";
            close $fh;
            rename "$gate/max.tmp", "$gate/max";
        }

        next unless -e "$gate/open";

        while (my $h = shift @held) {
            my ($s, $body) = @$h;
            syswrite($s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            if (open my $fh, '>>', "$gate/bodies") {
                print $fh "$body\n";
                close $fh;
            }
        }
    }
}

close $gl;
END { kill 'KILL', $gpid if $gpid; }

my $kafka_conf = '';

if ($k) {
    my $B = $k->bootstrap();

    $kafka_conf = <<"EOF";
pipeline to_kafka { output kafka; }

outbound kafka kafka {
    brokers $B;
    topic from_rabbit;
    linger 1ms;
}

inbound rk amqp {
    url $U;
    queue_declare rk durable;
    queue rk;
    pipeline to_kafka;
}
EOF
}

$t->write_file_expand('hermod.conf', <<"EOF");
$load
@{[ $kload // '' ]}

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 1024;
}

pipeline bp {
    max_in_flight 5;
    output gate;
}

outbound gate http { url http://127.0.0.1:$gport/; timeout 60s; }

inbound bpin amqp {
    url $U;
    queue_declare bpq durable;
    queue bpq;
    prefetch 20;
    pipeline bp;
}

pipeline relay {
    transform { header_set x-relayed "from \$amqp_queue"; }
    output rout;
}

outbound rout amqp {
    url $U;
    exchange_declare relayed fanout durable;
    queue_declare rdst durable;
    queue_bind rdst relayed;
    exchange relayed;
}

inbound rin amqp {
    url $U;
    queue_declare rsrc durable;
    queue rsrc;
    prefetch 50;
    pipeline relay;
}

pipeline hb { output hbf; }
outbound hbf file { path %%TESTDIR%%/hb.jsonl; }

inbound hbin amqp {
    url $U;
    queue_declare hbq durable;
    queue hbq;
    heartbeat 1s;
    reconnect_backoff 100ms 500ms;
    pipeline hb;
}

$kafka_conf
EOF

$t->run();

ok($t->wait_log(qr/inbound "bpin": connected/, 20), 'connected');

###############################################################################

# backpressure

my $lines = $t->write_file('bp.txt', join('', map { "bp-$_\n" } 1 .. 100));
my ($rc, $out) = $t->run_cmd(['sh', '-c', 'exec amqp-publish --url "$0"'
    . ' -r bpq -l < "$1"', $U, $lines], timeout => 60);
is($rc, 0, '100 messages published') or diag($out);

ok(scalar $r->wait_queue('bpq', sub {
    ($_[0]{messages_unacknowledged} // -1) == 20
        && ($_[0]{messages_ready} // -1) == 80 }),
    'full pipeline: prefetch (20) unacknowledged, 80 ready');

sub gate_max { ($t->read_file("$gate/max") // 0) + 0 }

ok($t->wait_for(sub { gate_max() == 5 }, 10),
    'the origin holds 5 requests: the pipeline limit');

sleep(1.5);

my $q = $r->queue_info('bpq') // {};
is($q->{messages_ready}, 80, 'still 80 ready a while later: not taken');
is(gate_max(), 5, 'never more than 5 at the origin');

open my $fh, '>', "$gate/open" or die;
close $fh;

# amqp-publish -l keeps the newline in each body: one blank line each

sub gate_bodies { grep { length } split /\n/, $t->read_file("$gate/bodies") // '' }

ok($t->wait_for(sub { gate_bodies() >= 100 }, 30),
    'the origin answers: all 100 delivered');

my %seen;
$seen{$_}++ for gate_bodies();
is(scalar(keys %seen), 100, '100 distinct');
is(scalar(grep { $_ > 1 } values %seen), 0, 'each once');
is(gate_max(), 5, 'never more than 5 at the origin');

ok(scalar $r->wait_queue('bpq', sub { defined $_[0]{messages}
    && $_[0]{messages} == 0 && ($_[0]{messages_unacknowledged} // -1) == 0 }),
    'acknowledged: bpq empty');

###############################################################################

# RabbitMQ -> RabbitMQ

ok($t->wait_log(qr/inbound "rin": connected/, 20), 'relay consumer connected');

$lines = $t->write_file('relay.txt', join('', map { "r-$_\n" } 1 .. 500));
($rc, $out) = $t->run_cmd(['sh', '-c', 'exec amqp-publish --url "$0"'
    . ' -r rsrc -l -p < "$1"', $U, $lines], timeout => 60);
is($rc, 0, '500 messages to relay') or diag($out);

my $rm = $r->wait_messages('rdst', 500, timeout => 60);
my %rs;
$rs{ $_->{body} }++ for @$rm;

is(scalar(keys %rs), 500, 'RabbitMQ -> RabbitMQ: all 500 relayed');
is(scalar(grep { $_ > 1 } values %rs), 0, 'each once');
is(scalar(grep { ($_->{properties}{headers}{'x-relayed'} // '') eq 'from rsrc' }
    @$rm), 500, 'with the header the pipeline added');
is(scalar(grep { $_->{exchange} eq 'relayed' } @$rm), 500,
    'through the exchange');

ok(scalar $r->wait_queue('rsrc', sub { defined $_[0]{messages}
    && $_[0]{messages} == 0 && ($_[0]{messages_unacknowledged} // -1) == 0 }),
    'the source queue: empty and acknowledged');

###############################################################################

# heartbeats: freeze the broker

ok(kill('STOP', -$r->pid()), 'broker frozen');

my $frozen = $t->wait_log(qr/inbound "hbin": amqp .*: no heartbeat from the broker for 2 seconds.*; reconnecting/, 15);

kill('CONT', -$r->pid());

ok($frozen, 'a missing heartbeat is noticed');
ok($t->wait_log(qr/inbound "hbin": connected to the AMQP broker .* again/, 30),
    'reconnected once the broker runs');

ok($r->publish(routing_key => 'hbq', body => 'after the freeze'),
    'publish after the freeze');
ok($t->wait_for(sub { ($t->read_file("$d/hb.jsonl") // '') =~ /freeze/ },
    20), 'consumed');

###############################################################################

# RabbitMQ -> Kafka

SKIP: {
    skip 'no Kafka module or tools', 5 unless $k;

    ok($t->wait_log(qr/inbound "rk": connected/, 20), 'rk connected');

    ok($r->publish(routing_key => 'rk', body => '{"to":"kafka"}',
        headers => ['x-trace' => 't-1']), 'publish to rk');

    my @rec = $k->wait_records('from_rabbit', 1, wait => 20);

    is(scalar @rec, 1, 'one record in Kafka');
    is($rec[0]{value}, '{"to":"kafka"}', 'value: the body');
    is($rec[0]{key}, 'rk', 'key: the routing key');

    is($rec[0]{header}{'x-trace'}, 't-1', 'AMQP headers as record headers')
        or diag(explain($rec[0]));
}

$t->stop();

done_testing();
