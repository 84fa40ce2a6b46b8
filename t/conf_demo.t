#!/usr/bin/perl

# The shipped conf/hermod.conf, run as shipped (only its two ports and the
# module path changed, so that the test runs beside anything else): the
# page, /healthz, and the message pipeline demo of POST /events: stamped,
# routed by content into logs/*.jsonl, 202 only once written, 400 for a
# body that is not JSON, one line per event in logs/pipeline.log.

use warnings;
use strict;

use Test::More;
use JSON::PP;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module', 'hm_http_pipeline_module');
$t->skip_unless_program('curl');

my $so = $t->builddir() . '/modules/hm_example_module.so';
plan(skip_all => "no $so") unless -e $so;

my $conf = do {
    local $/;
    open my $f, '<', 'conf/hermod.conf' or die "conf/hermod.conf: $!";
    <$f>;
};

$conf =~ s/127\.0\.0\.1:8080/127.0.0.1:%%PORT_8080%%/g;
$conf =~ s/127\.0\.0\.1:7007/127.0.0.1:%%PORT_7007%%/g;
$conf =~ s{modules/hm_example_module\.so}{$so}g;
$conf =~ s/^worker_processes\s+auto;/worker_processes 2;/m;

my $nports = () = $conf =~ /^\s*listen\s+127\.0\.0\.1:%%PORT_\d+%%;/mg;
is($nports, 2, 'both shipped listen lines were found');

$t->write_file_expand('hermod.conf', $conf);

my $dir = $t->testdir();
mkdir "$dir/html";
$t->write_file('../html/index.html', "demo page\n");

$t->run();

my $port = $t->port(8080);

sub post {
    my ($body) = @_;

    my ($rc, $code) = $t->run_cmd(['curl', '-sS', '-o', "$dir/cmd/reply",
        '-w', '%{http_code}', '-H', 'Content-Type: application/json',
        '--data-binary', $body, "http://127.0.0.1:$port/events"]);

    return ($code, eval { decode_json($t->read_file("$dir/cmd/reply")) });
}

sub records {
    my $text = $t->read_file("$dir/logs/$_[0]") // '';
    return map { decode_json($_) } grep { length } split /\n/, $text;
}

my ($rc, $out) = $t->run_cmd(['curl', '-sS', "http://127.0.0.1:$port/healthz"]);
is($out, "ok\n", '/healthz');

my ($code, $r) = post('{"type":"order","amount":12}');
is($code, 202, 'an order: 202');
is($r->{outcome}, 'delivered', 'an order: delivered');

post('{"level":"error","msg":"disk full"}');
post('{"amount":1500}');
post('{"hello":"world"}');

my @orders = records('orders.jsonl');
my @alerts = records('alerts.jsonl');
my @events = records('events.jsonl');

is(scalar @orders, 2, 'orders: by type and by amount');
is(scalar @alerts, 1, 'alerts: by level');
is(scalar @events, 1, 'events: the default');
is($orders[0]{headers}{'x-received-by'}, 'hermod', 'transform: a header');
like($orders[0]{body}{received_at}, qr/^\d{4}-\d\d-\d\dT/,
    'transform: received_at in the body');
is($orders[0]{id}, $r->{id}, 'the answer names the record');

($code, $r) = post('not json');
is($code, 400, 'not JSON: 400');
like($r->{error}, qr/not JSON/, 'not JSON: why');

my @log = split /\n/, ($t->read_file("$dir/logs/pipeline.log") // '');
is(scalar @log, 5, 'pipeline.log: a line per event');

$t->stop();

done_testing();
