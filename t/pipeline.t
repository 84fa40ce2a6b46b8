#!/usr/bin/perl

# The message pipeline with the HTTP inbound and the file outbound: the
# answer after settlement, the JSON line records, routing (first match,
# fan-out, drop, default, the pipeline's output), retries and the
# dead-letter outbound with its headers, failures without one, variables
# in paths, the message log, metrics, and configuration errors.

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

# the pipelines come before the http block that defines $http_x_region

$t->write_file_expand('hermod.conf', <<'EOF');

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 128;
}

pipeline orders {
    route {
        when $json.amount > 1000 -> big;
        when $http_x_region ^= eu- -> eu;
        when $json.kind = ping -> drop;
        when $json.kind ~* "^(audit|trace)$" and $json.user exists -> big eu;
        default -> all;
    }
    log %%TESTDIR%%/logs/messages.log;
}

pipeline fan {
    route all {
        when $json.a exists -> fa;
        when $json.b exists -> fb;
    }
    output fdefault;
}

pipeline flaky {
    retry attempts=3 backoff=10ms..40ms retry_on=error;
    output broken;
    dead_letter dl;
}

pipeline doomed {
    output broken;
}

pipeline byregion {
    output regional;
}

pipeline paths {
    route {
        when $json.user.name = "café" -> pa;
        when $json.items[1].sku = B2 -> pb;
        when $json.price = 2.5 -> pc;
        when $json.deep.er.est >= 3 -> pd;
        default -> pdef;
    }
}

outbound pa file { path %%TESTDIR%%/pa.jsonl; format raw; }
outbound pb file { path %%TESTDIR%%/pb.jsonl; format raw; }
outbound pc file { path %%TESTDIR%%/pc.jsonl; format raw; }
outbound pd file { path %%TESTDIR%%/pd.jsonl; format raw; }
outbound pdef file { path %%TESTDIR%%/pdef.jsonl; format raw; }

outbound big file { path %%TESTDIR%%/big.jsonl; }
outbound eu file { path %%TESTDIR%%/eu.jsonl; }
outbound all file { path %%TESTDIR%%/all.jsonl; }
outbound fa file { path %%TESTDIR%%/fa.jsonl; }
outbound fb file { path %%TESTDIR%%/fb.jsonl; }
outbound fdefault file { path %%TESTDIR%%/fdefault.jsonl; }
outbound broken file { path %%TESTDIR%%/missing-dir/x-$message_id.jsonl; }
outbound dl file { path %%TESTDIR%%/dl.jsonl; }
outbound regional file {
    path %%TESTDIR%%/region-$message_header_x_region.jsonl;
}

http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location /orders { pipeline orders; }
        location /fan { pipeline fan; }
        location /flaky { pipeline flaky; }
        location /doomed { pipeline doomed; }
        location /region { pipeline byregion; pipeline_key $http_x_key; }
        location /paths { pipeline paths; }
        location = /metrics { status; }
    }
}
EOF

$t->run();

my $port = $t->port(8080);
my $dir = $t->testdir();

sub post {
    my ($path, $body, @headers) = @_;

    my ($rc, $out) = $t->run_cmd(['curl', '-sS', '-o', "$dir/cmd/body",
        '-w', '%{http_code}', '-X', 'POST', '--data-binary', $body,
        (map { ('-H', $_) } @headers),
        "http://127.0.0.1:$port$path"]);

    my $reply = $t->read_file("$dir/cmd/body") // '';
    my $json = eval { decode_json($reply) };

    return ($out, $json, $reply);
}

sub records {
    my ($name) = @_;

    my $text = $t->read_file("$dir/$name") // '';
    return map { decode_json($_) } grep { length } split /\n/, $text;
}

# -- delivery and the record ---------------------------------------------------

my ($status, $reply) = post('/orders', '{"amount":5,"item":"pen"}',
    'Content-Type: application/json', 'X-Trace: t1');

is($status, 202, 'delivered: 202');
is($reply->{outcome}, 'delivered', 'delivered: outcome in the answer');
like($reply->{id}, qr/^[0-9a-f]{32}$/, 'delivered: the request id');

my @all = records('all.jsonl');
is(scalar @all, 1, 'default route: one record');
is_deeply($all[0]{body}, { amount => 5, item => 'pen' },
    'record: the JSON body as JSON');
is($all[0]{headers}{'x-trace'}, 't1', 'record: headers');
is($all[0]{pipeline}, 'orders', 'record: pipeline');
is($all[0]{source}, 'http', 'record: source');
is($all[0]{id}, $reply->{id}, 'record: the same id');
is($all[0]{attempts}, 1, 'record: one attempt');
like($all[0]{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    'record: time');

# -- routing ------------------------------------------------------------------

($status) = post('/orders', '{"amount":1500}', 'Content-Type: application/json');
is($status, 202, 'route: numeric');
is(scalar(my @b = records('big.jsonl')), 1, 'route: $json.amount > 1000');

($status) = post('/orders', '{"amount":3}', 'X-Region: eu-west');
is(scalar(my @e = records('eu.jsonl')), 1, 'route: a request header prefix');

($status, $reply) = post('/orders', '{"kind":"ping"}');
is($status, 202, 'drop: 202');
is($reply->{outcome}, 'dropped', 'drop: the outcome says so');

($status) = post('/orders', '{"kind":"AUDIT","user":"u1"}');
is(scalar(@b = records('big.jsonl')), 2, 'regex and exists: one target');
is(scalar(@e = records('eu.jsonl')), 2, 'regex and exists: the other');

($status) = post('/orders', 'this is not JSON', 'Content-Type: text/plain');
is($status, 202, 'not JSON: still routed');
@all = records('all.jsonl');
is(scalar @all, 2, 'not JSON: to the default');
is($all[1]{body}, 'this is not JSON', 'not JSON: the body as a string');

$t->write_file('binary.bin', "\xff\xfe\x00binary");
($status) = post('/orders', '@' . $t->conf_path('binary.bin'));
@all = records('all.jsonl');
is($all[2]{body_base64}, '//4AYmluYXJ5', 'binary: base64');

# -- fan-out ------------------------------------------------------------------

($status, $reply) = post('/fan', '{"a":1,"b":2}');
is($status, 202, 'fan-out: 202 when every branch delivered');
is(scalar(my @fa = records('fa.jsonl')), 1, 'fan-out: first branch');
is(scalar(my @fb = records('fb.jsonl')), 1, 'fan-out: second branch');
is($fa[0]{id}, $fb[0]{id}, 'fan-out: one message id');

($status) = post('/fan', '{"c":1}');
is(scalar(my @fd = records('fdefault.jsonl')), 1,
    'no rule matched: the pipeline output');

# -- retries, then the dead letter -------------------------------------------

($status, $reply) = post('/flaky', '{"n":1}', 'Content-Type: application/json');
is($status, 202, 'dead letter: 202');
is($reply->{outcome}, 'dead_lettered', 'dead letter: the outcome');

my @dl = records('dl.jsonl');
is(scalar @dl, 1, 'dead letter: one record');
is($dl[0]{headers}{'x-hermod-attempts'}, '3', 'dead letter: attempts');
like($dl[0]{headers}{'x-hermod-error'}, qr/open\(\) .* failed/,
    'dead letter: the error');
is($dl[0]{headers}{'x-hermod-outbound'}, 'broken', 'dead letter: outbound');
is($dl[0]{headers}{'x-hermod-pipeline'}, 'flaky', 'dead letter: pipeline');
is($dl[0]{headers}{'x-hermod-source'}, 'http', 'dead letter: source');
is_deeply($dl[0]{body}, { n => 1 }, 'dead letter: the body');

my $log = $t->read_file("$dir/logs/error.log");
my $retries = () = $log =~ /message $reply->{id}: retry \d of 2/g;
is($retries, 2, 'two retries logged');

($status, $reply) = post('/doomed', 'x');
is($status, 502, 'no dead letter: 502');
is($reply->{outcome}, 'failed', 'no dead letter: failed');
like($reply->{error}, qr/missing-dir/, 'no dead letter: the reason');

# -- variables in the path, the key ------------------------------------------

post('/region', 'r1', 'X-Region: north', 'X-Key: k1');
post('/region', 'r2', 'X-Region: south');
post('/region', 'r3', 'X-Region: north');

my @north = records('region-north.jsonl');
my @south = records('region-south.jsonl');
is(scalar @north, 2, 'path variables: north');
is(scalar @south, 1, 'path variables: south');
is($north[0]{key}, 'k1', 'pipeline_key');

# -- JSON paths: read from the text, or from a tree when the text cannot say -

my %paths = (
    '{"user":{"name":"caf\\u00e9"}}' => 'pa',
    '{"items":[{"sku":"A1"},{"sku":"B2"}]}' => 'pb',
    '{"price":2.50}' => 'pc',
    '{ "deep" : { "er" : { "est" : 3 } } }' => 'pd',
    '{"deep":{"er":{"est":"x"}}}' => 'pdef',
    '{"deep":{"er":{"est":1}},"deep":{"er":{"est":5}}}' => 'pd',
    '{"deep":{"er":{"est":5}} trailing' => 'pdef',
);

for my $body (sort keys %paths) {
    post('/paths', $body);
    my $text = $t->read_file("$dir/$paths{$body}.jsonl") // '';
    ok(index($text, "$body\n") >= 0, "route by path: $body -> $paths{$body}");
}

# -- rotation: USR1 reopens a fixed path; a path with variables notices -----

rename("$dir/all.jsonl", "$dir/all.jsonl.1") or die "rename: $!";
$t->signal('USR1');

ok($t->wait_for(sub { -e "$dir/all.jsonl" }, 5), 'USR1: the file reopened');
post('/orders', '{"after":"usr1"}');
my @new = records('all.jsonl');
is(scalar @new, 1, 'USR1: the next message goes to the new file');

rename("$dir/region-north.jsonl", "$dir/region-north.jsonl.1")
    or die "rename: $!";

my $sent = 0;
ok($t->wait_for(sub { post('/region', 'rot', 'X-Region: north'); $sent++;
                      -e "$dir/region-north.jsonl" }, 5),
    'a variable path: reopened after a rotation');
is(scalar(records('region-north.jsonl.1')) + scalar(records('region-north.jsonl')),
    2 + $sent, 'a variable path: every message in one of the two files');

# -- other methods ------------------------------------------------------------

my ($rc, $out) = $t->run_cmd(['curl', '-sS', '-o', '/dev/null', '-w',
    '%{http_code}', "http://127.0.0.1:$port/orders"]);
is($out, 405, 'GET: 405');

# -- the message log and metrics ---------------------------------------------

my @lines = split /\n/, $t->read_file("$dir/logs/messages.log");
is(scalar @lines, 8, 'message log: a line per message');
like($lines[0], qr/ orders [0-9a-f]{32} delivered all 1 \d+\.\d{3} ""$/,
    'message log: the default format');
like($lines[3], qr/ dropped /, 'message log: dropped');

($rc, $out) = $t->run_cmd(['curl', '-sS',
    "http://127.0.0.1:$port/metrics"]);
like($out, qr/^hermod_pipeline_received_total\{pipeline="orders"\} 8$/m,
    'metrics: received');
like($out, qr/^hermod_pipeline_dropped_total\{pipeline="orders"\} 1$/m,
    'metrics: dropped');
like($out, qr/^hermod_pipeline_dead_lettered_total\{pipeline="flaky"\} 1$/m,
    'metrics: dead-lettered');
like($out, qr/^hermod_pipeline_retried_total\{pipeline="flaky"\} 2$/m,
    'metrics: retried');
like($out, qr/^hermod_outbound_failed_total\{outbound="broken",type="file"\} 4$/m,
    'metrics: outbound failures');
like($out, qr/^hermod_pipeline_latency_seconds_count\{pipeline="orders"\} 8$/m,
    'metrics: a latency histogram');
like($out, qr/^hermod_pipeline_in_flight\{pipeline="orders"\} 0$/m,
    'metrics: nothing in flight');

$t->stop();

# -- configuration errors -----------------------------------------------------

my %bad = (
    'unknown outbound "nowhere"' =>
        "pipeline p { output nowhere; }\n",
    'unknown pipeline "nope"' =>
        "http { server { listen 127.0.0.1:%%PORT_8081%%;\n"
        . "location / { pipeline nope; } } }\n",
    'unknown outbound type "carrier-pigeon"' =>
        "outbound o carrier-pigeon { }\n",
    'unknown "no_such_thing" variable' =>
        "pipeline p { route { when \$no_such_thing = 1 -> o; } }\n"
        . "outbound o file { path /tmp/x; }\n",
    'invalid JSON path' =>
        "pipeline p { route { when \$json.a..b = 1 -> o; } }\n"
        . "outbound o file { path /tmp/x; }\n",
    'has no "->"' =>
        "pipeline p { route { when \$json.a = 1 o; } }\n"
        . "outbound o file { path /tmp/x; }\n",
    'unknown operator "<>"' =>
        "pipeline p { route { when \$json.a <> 1 -> o; } }\n"
        . "outbound o file { path /tmp/x; }\n",
    '"pipeline" directive is duplicate' =>
        "pipeline p { }\npipeline p { }\n",
    'has no "path"' =>
        "outbound o file { }\n",
    'unknown parameter "attempts5"' =>
        "pipeline p { retry attempts5; }\n",
    '"url" directive is not allowed here' =>
        "outbound o file { url http://x/; }\n",
);

# an outbound block before any pipeline block (module indexes set early)

my $early = $t->write_file_expand('early.conf', "events { }\n"
    . "outbound o file { path %%TESTDIR%%/early.jsonl; format raw; "
    . "open_files 2; }\n"
    . "pipeline p { output o; }\n");

($rc, $out) = $t->hermod_cmd('-t', '-c', $early);
is($rc, 0, 'an outbound before the first pipeline: -t') or diag($out);

for my $err (sort keys %bad) {
    my $path = $t->write_file_expand('bad.conf',
        "events { }\n" . $bad{$err});
    my ($rc, $out) = $t->hermod_cmd('-t', '-c', $path);
    isnt($rc, 0, "bad conf: $err: fails");
    like($out, qr/\Q$err\E.* in \Q$path\E:\d+/, "bad conf: $err: FILE:LINE");
}

done_testing();
