#!/usr/bin/perl

# HTTP -> Kafka: the HTTP inbound's messages produced by the Kafka outbound
# to the mock cluster, checked with kcat: the answer (202, outcome
# delivered), count and content of the records, the message key as the
# record key (one partition per key, keys spread), request headers as
# record headers (and none with "headers off"), key and topic templates,
# and the answer only after the delivery report: with the broker down no
# client gets an answer, and after it is up again every message is in the
# topic, once.

use warnings;
use strict;

use Test::More;
use JSON::PP;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::Kafka;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module', 'hm_http_pipeline_module');
$t->skip_unless_program('curl');

my $load = Test::Kafka::prerequisites($t);

# three brokers for the normal case; one, taken down and up, for the
# delivery report case

my $k = Test::Kafka->new($t, brokers => 3,
    topics => ['t_http:3', 't_a:1', 't_b:1', 't_nohdr:1']);
my $k1 = Test::Kafka->new($t, brokers => 1, topics => ['t_down:2']);

my ($B, $B1) = ($k->bootstrap(), $k1->bootstrap());

$t->write_file_expand('hermod.conf', <<"EOF");
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 1024;
}

pipeline p { output k; }

outbound k kafka {
    brokers $B;
    topic t_http;
    key \$message_key;
    headers on;
    partitioner murmur2_random;
    acks all;
    idempotence on;
    compression none;
    linger 5ms;
    batch_size 1m;
    max_in_flight 10000;
}

pipeline pt { output kt; }

outbound kt kafka {
    brokers $B;
    topic t_\$http_x_topic;
}

pipeline pn { output kn; }

outbound kn kafka {
    brokers $B;
    topic t_nohdr;
    key fixed-\$message_key;
    headers off;
}

pipeline pd { output kd; }

outbound kd kafka {
    brokers $B1;
    topic t_down;
    linger 1ms;
}

http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location /in { pipeline p; pipeline_key \$http_x_key; }
        location /topic { pipeline pt; }
        location /nohdr { pipeline pn; pipeline_key \$http_x_key; }
        location /down { pipeline pd; pipeline_key \$http_x_key; }
    }
}
EOF

$t->run();

my $dir = $t->testdir();
my $url = 'http://127.0.0.1:' . $t->port(8080);
my $n = 0;

# one POST: (code, decoded answer, answer text)

sub post {
    my ($path, $body, @headers) = @_;

    my $out = "$dir/cmd/post." . ++$n;

    my ($rc, $code) = $t->run_cmd(['curl', '-sS', '-o', $out, '-w',
        '%{http_code}', '--max-time', '30', '--data-binary', $body,
        (map { ('-H', $_) } @headers), "$url$path"]);

    my $text = $t->read_file($out) // '';
    return ($code, (eval { decode_json($text) } // {}), $text);
}

# several POSTs in one curl (one connection, in order): each request is
# [path, body, headers...]; returns a list of [code, decoded answer]

sub post_many {
    my (@reqs) = @_;

    my @cmd = ('curl', '-sS', '--max-time', '60');
    my $first = 1;

    for my $r (@reqs) {
        my ($path, $body, @headers) = @$r;
        push @cmd, '--next' unless $first;
        $first = 0;
        push @cmd, '-w', '\t%{http_code}\n', '--data-binary', $body,
            (map { ('-H', $_) } @headers), "$url$path";
    }

    my ($rc, $out) = $t->run_cmd(\@cmd, timeout => 90);

    my @res;
    while ($out =~ /\G(.*?)\t(\d{3})\n/sgc) {
        push @res, [ $2, (eval { decode_json($1) } // {}) ];
    }

    diag("curl: $out") unless @res == @reqs;

    return @res;
}

###############################################################################

# one message: the answer, then the record

my ($code, $r) = post('/in', '{"a":1}', 'X-Key: k1', 'X-Trace: abc',
    'Content-Type: application/json');

is($code, 202, 'one message: 202');
is($r->{outcome}, 'delivered', 'one message: outcome delivered');
ok(length($r->{id} // ''), 'one message: an id');

my @rec = $k->wait_records('t_http', 1);

is(scalar @rec, 1, 'one message: one record');
is($rec[0]{key}, 'k1', 'one message: the key');
is($rec[0]{value}, '{"a":1}', 'one message: the value');
is($rec[0]{header}{'x-trace'}, 'abc', 'one message: a request header');
is($rec[0]{header}{'content-type'}, 'application/json',
    'one message: content-type');

# 100 messages over one connection: all delivered, each record once with
# its key and its own header

my @reqs = map {
    [ '/in', "body-$_", "X-Key: k$_", "X-Seq: $_" ]
} 0 .. 99;

my @res = post_many(@reqs);

is(scalar(grep { $_->[0] == 202 } @res), 100, '100 messages: 202 each');
is(scalar(grep { ($_->[1]{outcome} // '') eq 'delivered' } @res), 100,
    '100 messages: delivered each');

@rec = $k->wait_records('t_http', 101);

is(scalar @rec, 101, '100 messages: 101 records in the topic');

my (%seen, @wrong);

for my $x (@rec) {
    next unless ($x->{value} // '') =~ /^body-(\d+)$/;
    my $i = $1;
    $seen{$i}++;
    push @wrong, $i unless ($x->{key} // '') eq "k$i"
        && ($x->{header}{'x-seq'} // '') eq $i;
}

is(scalar(keys %seen), 100, '100 messages: every body');
is(scalar(grep { $_ != 1 } values %seen), 0, '100 messages: each once');
is("@wrong", '', '100 messages: key and header of each record');

my %parts = map { $_->{partition} => 1 } @rec;
cmp_ok(scalar(keys %parts), '>=', 2, '100 keys: more than one partition');

# one key, one partition

@res = post_many(map { [ '/in', "same-$_", 'X-Key: same' ] } 1 .. 10);
is(scalar(grep { $_->[0] == 202 } @res), 10, 'one key: 202 each');

@rec = grep { ($_->{value} // '') =~ /^same-/ }
       $k->wait_records('t_http', 111);

is(scalar @rec, 10, 'one key: 10 records');
is(scalar(keys %{{ map { $_->{partition} => 1 } @rec }}), 1,
    'one key: one partition');
is(join(',', map { $_->{value} } sort { $a->{offset} <=> $b->{offset} } @rec),
    join(',', map { "same-$_" } 1 .. 10), 'one key: in order');

# the topic from a template

($code) = post('/topic', 'to-a', 'X-Topic: a');
is($code, 202, 'topic template: 202');
($code) = post('/topic', 'to-b', 'X-Topic: b');
is($code, 202, 'topic template: 202 again');

my @a = $k->wait_records('t_a', 1);
my @b = $k->wait_records('t_b', 1);

is(join(',', map { $_->{value} } @a), 'to-a', 'topic template: t_a');
is(join(',', map { $_->{value} } @b), 'to-b', 'topic template: t_b');

# a key template, and no headers

($code) = post('/nohdr', 'plain', 'X-Key: zz', 'X-Trace: abc');
is($code, 202, 'headers off: 202');

@rec = $k->wait_records('t_nohdr', 1);

is($rec[0]{key}, 'fixed-zz', 'key template');
is(scalar @{ $rec[0]{headers} || [] }, 0, 'headers off: no record headers');

# the broker down: no answer before the delivery report; up again: every
# message delivered, once

$k1->down(1);

my @curls;

for my $i (1 .. 10) {
    push @curls, Test::Kafka::spawn($t, ['curl', '-sS', '-o',
        "$dir/cmd/down.$i", '-w', '%{http_code}', '--max-time', '60',
        '--data-binary', "down-$i", '-H', "X-Key: d$i", "$url/down"],
        "$dir/cmd/down.$i.code");
}

ok(!$t->wait_for(sub { grep { !Test::Kafka::running($_) } @curls }, 2),
    'broker down: no answer in 2 s');

$k1->up(1);

my @rcs = map { Test::Kafka::reap($t, $_, 60) } @curls;

is(scalar(grep { defined && $_ == 0 } @rcs), 10, 'broker up: curls done');

my @codes = map { $t->read_file("$dir/cmd/down.$_.code") // '' } 1 .. 10;
is(scalar(grep { $_ eq '202' } @codes), 10, 'broker up: 202 each')
    or diag("codes: @codes");

my @outcomes = map {
    (eval { decode_json($t->read_file("$dir/cmd/down.$_") // '') }
        // {})->{outcome} // ''
} 1 .. 10;
is(scalar(grep { $_ eq 'delivered' } @outcomes), 10,
    'broker up: delivered each');

@rec = $k1->wait_records('t_down', 10);

my %down = map { $_ => 0 } map { "down-$_" } 1 .. 10;
$down{ $_->{value} // '' }++ for @rec;

is(scalar(grep { $down{$_} == 0 } map { "down-$_" } 1 .. 10), 0,
    'broker down and up: none missing');
is(scalar @rec, 10, 'broker down and up: no duplicate')
    or diag('records: ' . join(' ', map { $_->{value} } @rec));

$t->done_testing();
