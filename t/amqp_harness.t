#!/usr/bin/perl

# The RabbitMQ harness itself (t/lib/Test/RabbitMQ.pm), against a real
# broker with real clients only (no hermod module): a durable queue
# declared over the management API, messages published with amqp-publish
# (one with a content type and headers) and taken back with amqp-get and
# the management API, queue counters, rabbitmqctl, an extra user on an
# extra vhost (both percent-encoded in the URL), a persistent message in
# a durable queue across stop() and start(), and kill9().

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::RabbitMQ;

###############################################################################

my $t = Test::Hermod->new();

my $why = Test::RabbitMQ::missing($t);
plan(skip_all => $why) if defined $why;

my $r = Test::RabbitMQ->new($t, users => [['hermod', 'p@ss:w/rd']],
    vhosts => ['v h']);

ok($t->tcp_connect($r->port()), 'AMQP port accepts connections');
like($r->url(), qr{^amqp://guest:guest\@127\.0\.0\.1:\d+$}, 'url');

# messages in, out with amqp-get and the management API

$r->declare_queue('h_q', durable => 1);

ok($r->publish(routing_key => 'h_q', body => 'first'), 'publish 1');
ok($r->publish(routing_key => 'h_q', body => '{"n":2}',
    content_type => 'application/json',
    headers => ['x-hermod' => 'yes', 'x-n' => 2]), 'publish 2');
ok($r->publish(routing_key => 'h_q', body => "third\nline",
    persistent => 1), 'publish 3');

ok(scalar $r->wait_queue('h_q', sub { ($_[0]{messages} // -1) == 3 }),
    'queue_info counts 3 messages');

is($r->get('h_q'), 'first', 'amqp-get takes the first');

my $m = $r->wait_messages('h_q', 2, timeout => 10);

is(scalar @$m, 2, 'two more from the management API');
is($m->[0]{body}, '{"n":2}', 'body');
is($m->[0]{properties}{content_type}, 'application/json', 'content type');
is($m->[0]{properties}{headers}{'x-hermod'}, 'yes', 'header');
is($m->[1]{body}, "third\nline", 'body with a newline');
is($m->[1]{properties}{delivery_mode}, 2, 'persistent');
is($r->get('h_q'), undef, 'then the queue is empty');

# another user on another vhost

my $u = $r->url(user => 'hermod', pass => 'p@ss:w/rd', vhost => 'v h');

like($u, qr{//hermod:p%40ss%3Aw%2Frd\@127\.0\.0\.1:\d+/v%20h$},
    'url percent-encodes');

$r->declare_queue('h_v', vhost => 'v h', durable => 0);
ok($r->publish(url => $u, routing_key => 'h_v', body => 'vhost'),
    'publish as another user to another vhost');
is($r->get('h_v', url => $u), 'vhost', 'and back');

# rabbitmqctl: the same node, through its pinned CLI port

my ($rc, $out) = $r->ctl('list_queues', '-q', 'name', 'durable');
is($rc, 0, 'rabbitmqctl');
like($out, qr/^h_q\s+true$/m, 'rabbitmqctl lists the durable queue');

# a persistent message in a durable queue survives a restart, a
# transient one does not

ok($r->publish(routing_key => 'h_q', body => 'transient'), 'transient');
ok($r->publish(routing_key => 'h_q', body => 'survivor', persistent => 1),
    'persistent');
ok(scalar $r->wait_queue('h_q', sub { ($_[0]{messages} // -1) == 2 }),
    'both queued');

$r->stop();
ok(!$t->tcp_connect($r->port()), 'stopped');

$r->start();

$m = $r->get_messages('h_q', 10);
is(join(',', map { $_->{body} } @$m), 'survivor',
    'after the restart: only the persistent message');

# kill -9: nothing left of the broker

my $pid = $r->pid();
$r->kill9();

ok(!$r->running(), 'kill9');
ok(!$t->pid_alive($pid), 'kill9: no launcher');
ok(!$t->tcp_connect($r->port()), 'kill9: no AMQP port');

$t->done_testing();

###############################################################################
