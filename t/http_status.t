#!/usr/bin/perl

# The status handler: Prometheus text format, counters summed over all
# workers, gauges, upstream per-server counters, one family per name.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use POSIX ();

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();
$t->skip_unless_program('curl');

# an origin that answers every request with 200, counted by us
my $origin = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 64, ReuseAddr => 1) or die;
my $oport = $origin->sockport();
my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 1) or die;
my $cport = $closed->sockport();
close $closed;

my $opid = fork // die;
if ($opid == 0) {
    while (my $c = $origin->accept()) {
        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            sysread($c, $req, 4096, length $req) or last;
        }
        print $c "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                 . "Connection: close\r\n\r\nok";
        close $c;
    }
    POSIX::_exit(0);
}
END { kill 'KILL', $opid if $opid; }

$t->write_file_expand('hermod.conf', <<"EOF");
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 2;
events { worker_connections 256; }
http {
    access_log off;
    upstream app {
        server 127.0.0.1:$cport max_fails=0;
        server 127.0.0.1:$oport;
    }
    server {
        listen 127.0.0.1:%%PORT_8081%%;
        location = /metrics { status; }
        location /app/ { proxy_pass http://app/; }
        location / { return 200 "hi"; }
        location /missing { return 404; }
    }
}
EOF

$t->run();
my $port = $t->port(8081);

sub curl {
    my ($rc, $out) = $t->run_cmd(['curl', '-s', '--max-time', '10', @_]);
    return $out;
}

# 40 requests on fresh connections: both workers serve some

for (1 .. 30) { curl("http://127.0.0.1:$port/"); }
for (1 .. 6)  { curl("http://127.0.0.1:$port/missing"); }
for (1 .. 4)  { curl("http://127.0.0.1:$port/app/x"); }

my $m = curl("http://127.0.0.1:$port/metrics");

sub metric {
    my ($name, $labels) = @_;
    my $re = defined $labels ? qr/^\Q$name\E\{\Q$labels\E\} (\S+)$/m
                             : qr/^\Q$name\E (\S+)$/m;
    return $m =~ $re ? $1 : undef;
}

is(metric('hermod_http_requests_total'), 41,
   'requests counted over both workers (40 + this one)');
is(metric('hermod_http_responses_total', 'code="2xx"'), 34,
   '2xx responses');
is(metric('hermod_http_responses_total', 'code="4xx"'), 6, '4xx responses');
# the harness's readiness probe is a connection without a request
my $acc = metric('hermod_http_connections_accepted_total');
ok($acc >= 41 && $acc <= 42, "connections accepted ($acc)");
is(metric('hermod_http_connections_active'), 1, 'active: this one');
is(metric('hermod_http_connections_writing'), 1, 'writing: this one');

is(metric('hermod_upstream_requests_total',
          "upstream=\"app\",server=\"127.0.0.1:$oport\""), 4,
   'upstream server requests');
ok(metric('hermod_upstream_failures_total',
          "upstream=\"app\",server=\"127.0.0.1:$cport\"") >= 1,
   'failures of the dead server');
like(metric('hermod_upstream_response_seconds_total',
            "upstream=\"app\",server=\"127.0.0.1:$oport\""),
     qr/^\d+\.\d{3}$/, 'response time in seconds');

my %help;
$help{$1}++ while $m =~ /^# HELP (\S+)/mg;
ok(!grep({ $_ > 1 } values %help), 'one HELP per metric family');
like($m, qr/^# TYPE hermod_http_connections_active gauge$/m, 'gauge type');

my ($rc, $hdr) = $t->run_cmd(['curl', '-sI', "http://127.0.0.1:$port/metrics"]);
like($hdr, qr{^Content-Type: text/plain; version=0\.0\.4}mi,
     'Prometheus content type');

$t->stop();
done_testing();
