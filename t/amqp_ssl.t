#!/usr/bin/perl

# amqps:// against a RabbitMQ TLS listener with a self-signed certificate
# named rabbit.test: a publisher that verifies the certificate (its CA and
# its name) publishes and its message is in the queue; one that expects
# another name refuses the broker with a clear log line and fails the
# message; one without verification works; a consumer over TLS consumes.

use warnings;
use strict;

use Test::More;
use JSON::PP;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::RabbitMQ;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module');
$t->skip_unless_program('openssl', 'curl');

my $load = Test::RabbitMQ::load_module($t);
my $d = $t->testdir();

my ($rc, $out) = $t->run_cmd(['openssl', 'req', '-x509', '-newkey',
    'rsa:2048', '-nodes', '-keyout', "$d/rabbit.key", '-out',
    "$d/rabbit.crt", '-days', '2', '-subj', '/CN=rabbit.test', '-addext',
    'subjectAltName=DNS:rabbit.test'], timeout => 60);
is($rc, 0, 'a certificate for rabbit.test') or diag($out);

my $r = Test::RabbitMQ->new($t, management => 1,
    ssl => { cert => "$d/rabbit.crt", key => "$d/rabbit.key" });

my $S = $r->ssl_port();
ok($t->wait_port($S, 20), 'the TLS listener is up');

my $hport = $t->port(8080);

$t->write_file_expand('hermod.conf', <<"EOF");
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 256;
}

pipeline verified { output v; }

outbound v amqp {
    url amqps://guest:guest\@127.0.0.1:$S;
    ssl_verify on;
    ssl_trusted_certificate $d/rabbit.crt;
    ssl_name rabbit.test;
    queue_declare tlsq durable;
    routing_key tlsq;
}

pipeline wrong_name { output w; }

outbound w amqp {
    url amqps://127.0.0.1:$S;
    ssl_verify on;
    ssl_trusted_certificate $d/rabbit.crt;
    ssl_name other.test;
    routing_key tlsq;
    reconnect_backoff 200ms 1s;
}

pipeline unverified { output u; }
outbound u amqp { url amqps://127.0.0.1:$S; routing_key tlsq; }

pipeline from_tls { output f; }
outbound f file { path %%TESTDIR%%/tls.jsonl; }

inbound tin amqp {
    url amqps://127.0.0.1:$S;
    ssl_verify on;
    ssl_trusted_certificate $d/rabbit.crt;
    ssl_name rabbit.test;
    queue_declare tin durable;
    queue tin;
    pipeline from_tls;
}

http {
    server {
        listen 127.0.0.1:$hport;
        location /verified { pipeline verified; }
        location /wrong { pipeline wrong_name; }
        location /unverified { pipeline unverified; }
    }
}
EOF

$t->run();

ok($t->wait_log(qr/outbound "v": connected to the AMQP broker/, 20),
    'verified: connected over TLS');

sub post {
    my ($path, $body) = @_;
    my ($rc, $out) = $t->run_cmd(['curl', '-s', '-m', '20', '-w',
        '\n%{http_code}', '-X', 'POST', '--data-binary', $body,
        "http://127.0.0.1:$hport$path"]);
    my ($text, $code) = ($out // '') =~ /^(.*)\n(\d+)$/s;
    return ($code // 0, $text // '');
}

my ($code, $text) = post('/verified', 'over tls');
is($code, 202, 'verified: 202');

($code, $text) = post('/unverified', 'also tls');
is($code, 202, 'unverified: 202');

my $m = $r->wait_messages('tlsq', 2, timeout => 10);
is(join(',', sort map { $_->{body} } @$m), 'also tls,over tls',
    'both in the queue');

($code, $text) = post('/wrong', 'refused');
is($code, 502, 'another name: 502');
like($text, qr/TLS certificate does not match \\?"other\.test\\?"/,
    'another name: the reason');
ok($t->wait_log(qr/outbound "w": amqp 127\.0\.0\.1:$S: TLS certificate does not match "other\.test"; reconnecting/, 10),
    'another name: logged');

is(scalar @{ $r->get_messages('tlsq', 5) }, 0, 'nothing from it');

ok($r->publish(routing_key => 'tin', body => 'to the tls consumer'),
    'publish for the TLS consumer');
ok($t->wait_for(sub { ($t->read_file("$d/tls.jsonl") // '') =~ /tls consumer/ },
    15), 'consumed over TLS');

$t->stop();

done_testing();
