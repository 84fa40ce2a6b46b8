#!/usr/bin/perl

# AMQP module configuration: every directive of the outbound and the
# inbound accepted by -t (without a broker: -t connects to nothing), and
# the errors, each naming FILE:LINE: a bad URL (prefix, escape, no host,
# unknown host), an unknown property, a bad declaration parameter or
# argument, a missing url, exchange/routing_key, queue or pipeline,
# prefetch out of range, ssl_* without amqps, ssl_verify without a CA.

use warnings;
use strict;

use Test::More;
use Time::HiRes qw(time);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::RabbitMQ;

###############################################################################

my $t = Test::Hermod->new();

my $load = Test::RabbitMQ::load_module($t);

# a port nothing listens on: -t must not need the broker

my $nobroker = '127.0.0.1:' . $t->port(5672);

my $head = <<"EOF";
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}

pipeline p { output a; }
pipeline c { output f; }

outbound f file { path %%TESTDIR%%/out.jsonl; }
EOF

my $good = $head . <<"EOF";

outbound a amqp {
    url amqp://user%40x:p%3Ass\@$nobroker/my%2Fvhost;
    heartbeat 30s;
    connect_timeout 5s;
    reconnect_backoff 50ms 5s;
    exchange_declare events topic durable;
    exchange_declare dlx fanout durable auto_delete internal;
    queue_declare work durable x-dead-letter-exchange=dlx x-message-ttl=60000 x-queue-type=classic;
    queue_declare dead durable;
    queue_bind work events "order.#";
    queue_bind dead dlx;
    queue_bind work events x x-match=all;
    exchange events;
    routing_key \$message_key;
    property content_type application/json;
    property correlation_id \$message_header_x_corr;
    property priority 5;
    property message_id \$message_id;
    property app_id hermod;
    property type order;
    property reply_to replies;
    property expiration 60000;
    property user_id guest;
    property content_encoding identity;
    persistent off;
    mandatory on;
    headers off;
    max_in_flight 500;
}

outbound a2 amqp {
    url amqps://$nobroker;
    routing_key q;
    ssl_name broker.example;
    ssl_verify_depth 2;
}

inbound in amqp {
    url amqp://$nobroker;
    queue_declare in durable;
    queue in;
    queue other more;
    prefetch 200;
    on_failure reject;
    requeue_delay 0;
    heartbeat 0;
    pipeline c;
}
EOF

my $conf = $t->write_file_expand('good.conf', $good);

my $start = time();
my ($rc, $out) = $t->hermod_cmd('-t', '-c', $conf);

is($rc, 0, 'every directive: -t exit code') or diag($out);
like($out, qr/test is successful/, 'every directive: test is successful');
unlike($out, qr/\[emerg\]/, 'every directive: no emerg');
cmp_ok(time() - $start, '<', 5, '-t does not wait for the broker');

# the errors: the line marked "# ERR" is the one named

sub err_line {
    my ($text) = @_;
    my @lines = split /\n/, $text, -1;
    for my $i (0 .. $#lines) {
        return $i + 1 if $lines[$i] =~ /# ERR/;
    }
    die "no # ERR marker\n";
}

sub conf_fails {
    my ($name, $body, $msg) = @_;

    my $text = $head . $body;
    my $path = $t->write_file_expand($name, $text);
    my $line = err_line($text);

    my ($rc, $out) = $t->hermod_cmd('-t', '-c', $path);

    isnt($rc, 0, "$name: -t fails");
    like($out, qr/\[emerg\]/, "$name: emerg");
    like($out, $msg, "$name: says why") or diag($out);
    like($out, qr/ in \Q$path\E:$line(?!\d)/, "$name: in FILE:$line")
        or diag($out);
}

conf_fails('prefix.conf', <<"EOF", qr/invalid URL prefix/);

outbound a amqp {
    url http://$nobroker;    # ERR
    routing_key q;
}
EOF

conf_fails('escape.conf', <<"EOF", qr/invalid escape/);

outbound a amqp {
    url amqp://$nobroker/a%zz;    # ERR
    routing_key q;
}
EOF

conf_fails('nohost.conf', <<"EOF", qr/no host/);

outbound a amqp {
    url amqp://guest:guest\@/v;    # ERR
    routing_key q;
}
EOF

conf_fails('badhost.conf', <<"EOF", qr/host not found|invalid/);

outbound a amqp {
    url amqp://no-such-host.invalid:5672;    # ERR
    routing_key q;
}
EOF

conf_fails('nourl.conf', <<"EOF", qr/has no "url"/);

outbound a amqp {    # ERR
    routing_key q;
}
EOF

conf_fails('noroute.conf', <<"EOF", qr/neither "exchange" nor "routing_key"/);

outbound a amqp {    # ERR
    url amqp://$nobroker;
}
EOF

conf_fails('property.conf', <<"EOF", qr/unknown AMQP property "colour"/);

outbound a amqp {
    url amqp://$nobroker;
    routing_key q;
    property colour blue;    # ERR
}
EOF

conf_fails('declare_flag.conf', <<"EOF", qr/invalid queue_declare parameter "durabel"/);

outbound a amqp {
    url amqp://$nobroker;
    routing_key q;
    queue_declare q durabel;    # ERR
}
EOF

conf_fails('declare_arg.conf', <<"EOF", qr/invalid argument "=5"/);

outbound a amqp {
    url amqp://$nobroker;
    routing_key q;
    queue_declare q durable =5;    # ERR
}
EOF

conf_fails('bind_flag.conf', <<"EOF", qr/invalid queue_bind parameter "durable"/);

outbound a amqp {
    url amqp://$nobroker;
    routing_key q;
    queue_bind q ex key durable;    # ERR
}
EOF

conf_fails('backoff.conf', <<"EOF", qr/largest delay below the first/);

outbound a amqp {
    url amqp://$nobroker;
    routing_key q;
    reconnect_backoff 5s 1s;    # ERR
}
EOF

conf_fails('ssl_plain.conf', <<"EOF", qr/ssl_\* directives need an amqps/);

outbound a amqp {    # ERR
    url amqp://$nobroker;
    routing_key q;
    ssl_verify on;
}
EOF

conf_fails('ssl_ca.conf', <<"EOF", qr/no "ssl_trusted_certificate" for "ssl_verify"/);

outbound a amqp {    # ERR
    url amqps://$nobroker;
    routing_key q;
    ssl_verify on;
}
EOF

conf_fails('noqueue.conf', <<"EOF", qr/has no "queue"/);

outbound a amqp { url amqp://$nobroker; routing_key q; }

inbound in amqp {    # ERR
    url amqp://$nobroker;
    pipeline c;
}
EOF

conf_fails('nopipeline.conf', <<"EOF", qr/has no "pipeline"/);

outbound a amqp { url amqp://$nobroker; routing_key q; }

inbound in amqp {    # ERR
    url amqp://$nobroker;
    queue q;
}
EOF

conf_fails('prefetch.conf', <<"EOF", qr/"prefetch" must be 1\.\.65535/);

outbound a amqp { url amqp://$nobroker; routing_key q; }

inbound in amqp {    # ERR
    url amqp://$nobroker;
    queue q;
    prefetch 0;
    pipeline c;
}
EOF

conf_fails('on_failure.conf', <<"EOF", qr/on_failure/);

outbound a amqp { url amqp://$nobroker; routing_key q; }

inbound in amqp {
    url amqp://$nobroker;
    queue q;
    on_failure drop;    # ERR
    pipeline c;
}
EOF

conf_fails('unknown_pipeline.conf', <<"EOF", qr/unknown pipeline "nope"|pipeline "nope"/);

outbound a amqp { url amqp://$nobroker; routing_key q; }

inbound in amqp {
    url amqp://$nobroker;
    queue q;
    pipeline nope;    # ERR
}
EOF

conf_fails('outbound_only.conf', <<"EOF", qr/"exchange" directive is not allowed here|not allowed/);

outbound a amqp { url amqp://$nobroker; routing_key q; }

inbound in amqp {
    url amqp://$nobroker;
    queue q;
    exchange x;    # ERR
    pipeline c;
}
EOF

done_testing();
