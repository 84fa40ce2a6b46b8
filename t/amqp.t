#!/usr/bin/perl

# The AMQP module against a real RabbitMQ, with amqp-tools and the
# management API as the independent clients and nginx as a real origin:
#
# - HTTP -> RabbitMQ: 202 once confirmed; the body, exchange, routing key,
#   content type, correlation id, type, message id, persistence and the
#   headers as the broker has them; the default exchange; an unroutable
#   message with "mandatory on" fails with 502 and NO_ROUTE.
# - RabbitMQ -> file over 2 workers: every message exactly once, both
#   workers consuming (competing consumers), acknowledged (the queue is
#   empty, nothing unacknowledged), the $amqp_* variables and headers.
# - RabbitMQ -> HTTP (nginx): body and content type at the origin.
# - A failing outbound: "on_failure reject" dead-letters through the
#   queue's x-dead-letter-exchange (the x-death header names the queue);
#   "on_failure requeue" holds the message, nacks it, and it comes back
#   redelivered; once the outbound works it is delivered and acked.
# - Bad credentials, an unknown vhost, an unreachable broker, a conflicting
#   declaration: a clear log line (with FILE:LINE for the declaration), a
#   502 with the reason for a message, and the worker keeps serving.
# - A graceful stop with consumers: the workers exit, nothing is lost.

use warnings;
use strict;

use Test::More;
use JSON::PP;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::RabbitMQ;

###############################################################################

my $nginx = '/usr/sbin/nginx';
plan(skip_all => "no nginx at $nginx") unless -x $nginx;

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module');

my $load = Test::RabbitMQ::load_module($t);
my $r = Test::RabbitMQ->new($t);

my $U = $r->url();
my $P = $r->port();
my $d = $t->testdir();

my $hport = $t->port(8080);
my $oport = $t->port(8090);
my $closed = $t->port(8099);

# a queue with another durability than hermod declares: a conflict

$r->declare_queue('conflict', durable => 1);

# the nginx origin logs what it got

my $origin = "$d/origin";
mkdir $origin;
mkdir "$origin/logs";
my $user = $> == 0 ? 'user root;' : '';

$t->write_file_expand('origin.conf', <<"EOF");
$user
worker_processes 1;
daemon on;
error_log $origin/logs/error.log;
pid $origin/logs/nginx.pid;
events { worker_connections 64; }
http {
    log_format hook '\$request_method \$request_uri ct=\$content_type '
                    'meta=\$http_x_meta body=\$request_body';
    access_log off;
    server {
        listen 127.0.0.1:$oport;
        location /sink {
            access_log $origin/logs/hook.log hook;
            proxy_pass http://127.0.0.1:$oport/ok;
        }
        location /ok { return 200 "ok\\n"; }
    }
}
EOF

system($nginx, '-p', "$origin/", '-c', $t->conf_path('origin.conf')) == 0
    or BAIL_OUT('cannot start the nginx origin');
END { if (-f "$origin/logs/nginx.pid") {
          open my $p, '<', "$origin/logs/nginx.pid"; my $pid = <$p>;
          kill 'QUIT', $pid if $pid; } }

ok($t->wait_port($oport, 5), 'origin up');

my $conf = <<"EOF";
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 2;
worker_shutdown_timeout 10s;

events {
    worker_connections 1024;
}

# HTTP -> RabbitMQ

pipeline to_rabbit { output rabbit; }

outbound rabbit amqp {
    url $U;
    exchange_declare events topic durable;
    queue_declare orders durable;
    queue_bind orders events "order.#";
    exchange events;
    routing_key \$http_x_route;
    mandatory on;
    property correlation_id \$http_x_corr;
    property type order;
}

pipeline to_default { output plain; }

outbound plain amqp {
    url $U;
    queue_declare direct durable;
    routing_key direct;
    persistent off;
    headers off;
}

pipeline bad_creds { output badc; }
outbound badc amqp { url amqp://guest:wrong\@127.0.0.1:$P; routing_key x; }

pipeline bad_vhost { output badv; }
outbound badv amqp { url amqp://127.0.0.1:$P/nosuchvhost; routing_key x; }

pipeline unreachable { output unr; }
outbound unr amqp {
    url amqp://127.0.0.1:$closed;
    routing_key x;
    reconnect_backoff 50ms 200ms;
}

pipeline conflicting { output confl; }
outbound confl amqp {
    url $U;
    queue_declare conflict;
    routing_key conflict;
}

# RabbitMQ -> file, 2 workers

pipeline from_rabbit {
    transform {
        header_set x-meta "\$amqp_exchange|\$amqp_routing_key|\$amqp_queue|\$amqp_redelivered|\$amqp_content_type|\$amqp_header_x_type|\$amqp_correlation_id";
    }
    output f;
}

outbound f file { path %%TESTDIR%%/in-\$pid.jsonl; }

inbound in amqp {
    url $U;
    queue_declare inq durable;
    queue inq;
    prefetch 20;
    pipeline from_rabbit;
}

# RabbitMQ -> HTTP

pipeline to_http {
    transform { header_set x-meta "q=\$amqp_queue"; }
    output hook;
}

outbound hook http { url http://127.0.0.1:$oport/sink; }

inbound hin amqp {
    url $U;
    queue_declare hq durable;
    queue hq;
    pipeline to_http;
}

# failing: reject to the dead-letter exchange, or requeue

pipeline failing { output refused; }
outbound refused http { url http://127.0.0.1:$closed/x; }

inbound rej amqp {
    url $U;
    exchange_declare dlx fanout durable;
    queue_declare dlq durable;
    queue_bind dlq dlx;
    queue_declare work durable x-dead-letter-exchange=dlx;
    queue work;
    on_failure reject;
    pipeline failing;
}

pipeline flaky {
    route {
        when \$amqp_redelivered = false -> refused2;
        default -> fl;
    }
}
outbound refused2 http { url http://127.0.0.1:$closed/x; }
outbound fl file { path %%TESTDIR%%/flaky.jsonl; }

inbound rq amqp {
    url $U;
    queue_declare rq durable;
    queue rq;
    requeue_delay 300ms;
    pipeline flaky;
}

http {
    server {
        listen 127.0.0.1:$hport;
        location /pub { pipeline to_rabbit; }
        location /plain { pipeline to_default; }
        location /badc { pipeline bad_creds; }
        location /badv { pipeline bad_vhost; }
        location /unr { pipeline unreachable; }
        location /conflict { pipeline conflicting; }
    }
}
EOF

$t->write_file_expand('hermod.conf', $conf);
$t->run();

ok($t->wait_log(qr/inbound "in": connected to the AMQP broker/, 20),
    'the consumer connects');

sub post {
    my ($path, $body, @h) = @_;

    my @cmd = ('curl', '-s', '-m', '20', '-o', '-', '-w', "\n%{http_code}",
        '-X', 'POST', '--data-binary', $body);
    push @cmd, '-H', $_ for @h;
    push @cmd, "http://127.0.0.1:$hport$path";

    my ($rc, $out) = $t->run_cmd(\@cmd, timeout => 30);
    my ($text, $code) = ($out // '') =~ /^(.*)\n(\d+)$/s;

    return ($code // 0, $text // '');
}

###############################################################################

# HTTP -> RabbitMQ

my ($code, $text) = post('/pub', '{"order":1}', 'X-Route: order.created',
    'X-Corr: c-1', 'Content-Type: application/json', 'X-Custom: yes');

is($code, 202, 'HTTP -> RabbitMQ: 202 once confirmed') or diag($text);
my $id = eval { decode_json($text)->{id} } // '';

my $m = $r->wait_messages('orders', 1, timeout => 10);
is(scalar @$m, 1, 'the message is in the queue');
$m = $m->[0] // {};

is($m->{body}, '{"order":1}', 'body');
is($m->{exchange}, 'events', 'exchange');
is($m->{routing_key}, 'order.created', 'routing key from a header');
is($m->{properties}{content_type}, 'application/json',
    'content type from the Content-Type header');
is($m->{properties}{correlation_id}, 'c-1', 'correlation id from a template');
is($m->{properties}{type}, 'order', 'type');
is($m->{properties}{message_id}, $id, 'message id: the message id');
is($m->{properties}{delivery_mode}, 2, 'persistent');
is($m->{properties}{headers}{'X-Custom'}, 'yes',
    'headers as AMQP headers, as the client wrote them');
ok(!exists $m->{properties}{headers}{'content-type'},
    'the content type is a property, not a header');
like($m->{properties}{timestamp} // 0, qr/^\d{10}$/, 'timestamp');

($code, $text) = post('/plain', 'plain body', 'X-Custom: no');
is($code, 202, 'the default exchange: 202');
is($r->get('direct'), 'plain body', 'amqp-get takes it from the queue');

$m = $r->get_messages('direct', 1);
is(scalar @$m, 0, 'nothing else there');

($code, $text) = post('/pub', 'lost?', 'X-Route: nobody.listens');
is($code, 502, 'unroutable with mandatory: 502');
like($text, qr/312 NO_ROUTE.*exchange \\?"events\\?", routing key \\?"nobody\.listens/,
    'the reason: NO_ROUTE, exchange and routing key');

# many at once, both workers publishing

my $ok = 0;
for my $i (1 .. 40) {
    my ($c) = post('/pub', "bulk $i", 'X-Route: order.bulk');
    $ok++ if $c == 202;
}
is($ok, 40, '40 more: all 202');

$m = $r->wait_messages('orders', 40, timeout => 15);
is(join(',', sort { $a <=> $b } map { $_->{body} =~ /(\d+)/ } @$m),
    join(',', 1 .. 40), 'each once in the queue');

###############################################################################

# RabbitMQ -> file over 2 workers

ok(scalar $r->wait_queue('inq', sub { ($_[0]{consumers} // 0) == 2 }),
    'a consumer per worker');

my $lines = join('', map { "msg-$_\n" } 1 .. 200);
my $lines_file = $t->write_file('lines.txt', $lines);

my ($rc, $pub_out) = $t->run_cmd(['sh', '-c', 'exec amqp-publish --url "$0"'
    . ' -r inq -l -p -C text/plain -H "x-type: bulk" < "$1"', $U,
    $lines_file], timeout => 60);
is($rc, 0, 'amqp-publish -l: 200 messages') or diag($pub_out);

sub consumed {
    my %seen;
    my %per;

    for my $f (glob "$d/in-*.jsonl") {
        for my $l (split /\n/, $t->read_file($f) // '') {
            my $j = eval { decode_json($l) } or next;
            $seen{ $j->{body} }++;
            $per{$f}++;
        }
    }

    return (\%seen, \%per);
}

$t->wait_for(sub { my ($s) = consumed(); keys(%$s) >= 200 }, 30);

my ($seen, $per) = consumed();

is(scalar(keys %$seen), 200, 'RabbitMQ -> file: all 200');
is(scalar(grep { $_ != 1 } values %$seen), 0, 'each exactly once');
is(scalar(keys %$per), 2, 'both workers consumed (competing consumers)')
    or diag(explain($per));

ok(scalar $r->wait_queue('inq', sub {
    defined $_[0]{messages} && $_[0]{messages} == 0
        && ($_[0]{messages_unacknowledged} // -1) == 0 }),
    'all acknowledged: the queue is empty');

# one with properties and headers: variables and message headers

ok($r->publish(routing_key => 'inq', body => 'props', content_type =>
    'application/x-test', headers => ['x-type' => 'single']),
    'one with properties');

$t->wait_for(sub { consumed()->{props} }, 10);

my ($j) = grep { ($_->{body} // '') eq 'props' }
    map { my $f = $_; map { eval { decode_json($_) } || () }
          split /\n/, $t->read_file($f) } glob "$d/in-*.jsonl";

is($j->{headers}{'x-meta'},
    '|inq|inq|false|application/x-test|single|',
    'the $amqp_* variables');
is($j->{headers}{'content-type'}, 'application/x-test',
    'the content type as a message header');
is($j->{headers}{'x-type'}, 'single', 'AMQP headers as message headers');
is($j->{key}, 'inq', 'the routing key is the message key');

###############################################################################

# RabbitMQ -> HTTP

ok($r->publish(routing_key => 'hq', body => '{"to":"http"}',
    content_type => 'application/json'), 'publish for the origin');

ok($t->wait_for(sub { ($t->read_file("$origin/logs/hook.log") // '')
    =~ /to/ }, 10), 'the origin got it');

like($t->read_file("$origin/logs/hook.log") // '',
    qr{^POST /sink ct=application/json meta=q=hq body=\{\\x22to\\x22:\\x22http\\x22\}$}m,
    'method, content type, variable and body at the origin');

ok(scalar $r->wait_queue('hq', sub { defined $_[0]{messages}
    && $_[0]{messages} == 0 && ($_[0]{messages_unacknowledged} // -1) == 0 }),
    'acknowledged after the origin answered');

###############################################################################

# a failing outbound: reject -> dead-letter exchange

ok($r->publish(routing_key => 'work', body => 'doomed'), 'publish to work');

$m = $r->wait_messages('dlq', 1, timeout => 15);
is(scalar @$m, 1, 'rejected: in the dead-letter queue');
is($m->[0]{body}, 'doomed', 'the same body');
is(eval { $m->[0]{properties}{headers}{'x-death'}[0]{queue} }, 'work',
    'x-death names the queue');
ok($t->wait_log(qr/inbound "rej": message \S+ failed \(.*\): rejected/, 5),
    'the rejection is logged');

# requeue: held, nacked, back redelivered, then delivered

ok($r->publish(routing_key => 'rq', body => 'second time lucky'),
    'publish to rq');

ok($t->wait_for(sub { ($t->read_file("$d/flaky.jsonl") // '') =~ /lucky/ },
    15), 'requeued, redelivered, delivered');
ok($t->wait_log(qr/inbound "rq": message \S+ failed .*requeued in 300ms/, 5),
    'the requeue is logged');
ok(scalar $r->wait_queue('rq', sub { defined $_[0]{messages}
    && $_[0]{messages} == 0 && ($_[0]{messages_unacknowledged} // -1) == 0 }),
    'then acknowledged');

###############################################################################

# broken endpoints: clear errors, the workers keep serving

($code, $text) = post('/badc', 'x');
is($code, 502, 'bad credentials: 502');
like($text, qr/403 ACCESS_REFUSED/, 'bad credentials: the reason');
ok($t->wait_log(qr/outbound "badc": amqp 127\.0\.0\.1:$P: connection closed by the broker: 403 ACCESS_REFUSED.*reconnecting in \d+ms/, 5),
    'bad credentials: logged, reconnecting');

($code, $text) = post('/badv', 'x');
is($code, 502, 'unknown vhost: 502');
ok($t->wait_log(qr/outbound "badv": .*530 NOT_ALLOWED - vhost nosuchvhost not found \(after connection\.open\)/, 5),
    'unknown vhost: logged');

($code, $text) = post('/unr', 'x');
is($code, 502, 'unreachable broker: 502');
like($text, qr/not connected: could not connect to 127\.0\.0\.1:$closed/,
    'unreachable broker: the reason');

my $conf_path = $t->conf_path();
ok($t->wait_log(qr/outbound "confl": .*queue_declare "conflict" in \Q$conf_path\E:\d+ failed: 406 PRECONDITION_FAILED - inequivalent arg 'durable'/, 10),
    'a conflicting declaration: logged with FILE:LINE');

($code) = post('/pub', 'still here', 'X-Route: order.after');
is($code, 202, 'the workers still serve');
is(scalar @{ $r->wait_messages('orders', 1, timeout => 10) }, 1,
    'and publish');

###############################################################################

# a graceful stop: consumers cancelled, connections closed, no loss

$t->stop();

ok(!$t->master_alive(), 'stopped');
like($t->error_log(), qr/exit/, 'workers exited');

done_testing();
