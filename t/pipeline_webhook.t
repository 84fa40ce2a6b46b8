#!/usr/bin/perl

# The "http" outbound (webhook): an HTTP inbound hands each request to a
# pipeline whose output is an HTTP endpoint; nginx is the real origin and
# logs what it got.  Delivery (method, path, headers, body), 202 only once
# the origin answered, 500/4xx/429 origins, a silent origin (timeout), a
# refused connection, keepalive reuse counted at the origin, max_requests,
# chunked and close-delimited answers kept for request/reply, https with a
# self-signed certificate, and an upstream{} reference with verification.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use POSIX ();

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $nginx = '/usr/sbin/nginx';
plan(skip_all => "no nginx at $nginx") unless -x $nginx;

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_http_pipeline_module', 'hm_http_webhook_module');
$t->skip_unless_program('curl', 'openssl');

my $d = $t->testdir();

sub openssl {
    my (@args) = @_;
    my ($rc, $out) = $t->run_cmd(['openssl', @args], timeout => 60);
    die "openssl @args: $out\n" unless defined $rc && $rc == 0;
    return $out;
}

# a self-signed certificate for the https origin, named webhook.test

openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', "$d/origin.key", '-out', "$d/origin.crt", '-days', '2',
    '-subj', '/CN=webhook.test',
    '-addext', 'subjectAltName=DNS:webhook.test');

# the nginx origin: /sink logs the method, the URI, headers and the body
# (proxying to itself makes nginx read the body for $request_body)

my $origin_dir = "$d/origin";
mkdir $origin_dir;
mkdir "$origin_dir/$_" for qw(logs html);

my $oport = $t->port(8090);
my $sport = $t->port(8091);
my $user = $> == 0 ? 'user root;' : '';

$t->write_file_expand('origin.conf', <<"EOF");
$user
worker_processes 1;
daemon on;
error_log $origin_dir/logs/error.log;
pid $origin_dir/logs/nginx.pid;
events { worker_connections 256; }
http {
    log_format hook '\$scheme \$request_method \$request_uri '
                    'c=\$connection n=\$connection_requests h=\$http_host '
                    'id=\$http_x_request_id ct=\$content_type '
                    'x=\$http_x_custom s=\$http_x_static '
                    'conn=\$http_connection len=\$content_length '
                    'body=\$request_body';
    access_log off;
    client_body_buffer_size 64k;
    keepalive_timeout 60s;

    server {
        listen 127.0.0.1:$oport;
        listen 127.0.0.1:$sport ssl;
        ssl_certificate $d/origin.crt;
        ssl_certificate_key $d/origin.key;

        location /sink {
            access_log $origin_dir/logs/hook.log hook;
            proxy_pass http://127.0.0.1:$oport/ok;
        }
        location /ok { return 200 "ok\\n"; }
        location /fail { return 500; }
        location /gone { return 404; }
        location /later { return 429; }
        location /reply {
            add_header X-Origin yes;
            return 201 "created by the origin\\n";
        }
    }
}
EOF

system($nginx, '-p', "$origin_dir/", '-c', $t->conf_path('origin.conf')) == 0
    or BAIL_OUT('cannot start the nginx origin');
END { if (-f "$origin_dir/logs/nginx.pid") {
          open my $p, '<', "$origin_dir/logs/nginx.pid"; my $pid = <$p>;
          kill 'QUIT', $pid if $pid; } }

ok($t->wait_port($oport, 5) && $t->wait_port($sport, 5), 'origin up');

# a hand-written origin for what nginx cannot do: wait before answering,
# answer chunked, answer until the close; one process per connection

my $raw = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                Listen => 64, ReuseAddr => 1) or die;
my $rport = $raw->sockport();

my $raw_pid = fork // die;

if ($raw_pid == 0) {
    $SIG{CHLD} = 'IGNORE';

    while (my $c = $raw->accept()) {
        next if fork;
        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            sysread($c, $req, 4096, length $req) or POSIX::_exit(0);
        }
        my ($len) = $req =~ /^Content-Length:\s*(\d+)\r$/mi;
        my ($head, $body) = split /\r\n\r\n/, $req, 2;
        while (length($body) < ($len // 0)) {
            sysread($c, $body, 4096, length $body) or last;
        }
        my ($path) = $head =~ m{^\w+ (\S+)};

        if ($path =~ m{^/delay}) {
            sleep(1);
            print $c "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                     . "Connection: close\r\n\r\nok\n";

        } elsif ($path =~ m{^/chunked}) {
            print $c "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                     . "X-Raw: chunked\r\n\r\n"
                     . "6\r\nchunks\r\n8\r\n decoded\r\n0\r\n\r\n";

        } elsif ($path =~ m{^/eof}) {
            print $c "HTTP/1.0 200 OK\r\n\r\nuntil the end";

        } elsif ($path =~ m{^/stale}) {

            # kept alive, but the next request on it is read and dropped

            print $c "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
            sysread($c, my $next, 4096);

        } elsif ($path =~ m{^/continue}) {
            print $c "HTTP/1.1 100 Continue\r\n\r\n"
                     . "HTTP/1.1 204 No Content\r\n\r\n";
        }

        close $c;
        POSIX::_exit(0);
    }

    POSIX::_exit(0);
}

END { kill 'TERM', $raw_pid if $raw_pid; }

close $raw;

# an origin that accepts and never answers; a closed port

my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 16, ReuseAddr => 1) or die;
my $qport = $silent->sockport();

my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 1) or die;
my $cport = $closed->sockport();
close $closed;

# outbounds that name an upstream come after the http block declaring it

$t->write_file_expand('hermod.conf', <<"EOF");
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
events { worker_connections 512; }

http {
    access_log %%TESTDIR%%/logs/access.log;

    upstream hooks { server 127.0.0.1:$oport; keepalive 4; }
    upstream webhook.test { server 127.0.0.1:$sport; }
    upstream pair {
        server 127.0.0.1:$cport max_fails=1 fail_timeout=30s;
        server 127.0.0.1:$oport;
    }

    server {
        listen 127.0.0.1:%%PORT_8081%%;

        location /in { pipeline p; }
        location /put { pipeline put; }
        location /plain { pipeline plain; }
        location /fail { pipeline fail; }
        location /gone { pipeline gone; }
        location /later { pipeline later; }
        location /silent { pipeline silent; }
        location /refused { pipeline refused; }
        location /delay { pipeline delay; }
        location /one { pipeline one; }
        location /https { pipeline https; }
        location /verified { pipeline verified; }
        location /mismatch { pipeline mismatch; }
        location /up { pipeline up; }
        location /pair { pipeline pair; }
        location /stale { pipeline stale; }
        location /reply { pipeline reply; pipeline_reply on; }
        location /chunked { pipeline chunked; pipeline_reply on; }
        location /eof { pipeline eof; pipeline_reply on; }
        location /small { pipeline small; pipeline_reply on; }
        location /continue { pipeline continue; pipeline_reply on; }
    }
}

pipeline p { output hook; }
pipeline put { output put; }
pipeline plain { output plain; }
pipeline fail { output fail; }
pipeline gone { output gone; }
pipeline later { output later; }
pipeline silent { output silent; }
pipeline refused { output refused; }
pipeline delay { output delay; }
pipeline one { output one; }
pipeline https { output https; }
pipeline verified { output verified; }
pipeline mismatch { output mismatch; }
pipeline up { output up; }
pipeline pair { output pair; }
pipeline stale { output stale; }
pipeline reply { output reply; }
pipeline chunked { output chunked; }
pipeline eof { output eof; }
pipeline small { output small; }
pipeline continue { output continue; }

outbound hook http {
    url http://127.0.0.1:$oport/sink;
    header X-Static "s-\$message_id";
}

outbound put http {
    url http://127.0.0.1:$oport/sink/\$message_header_x_custom?k=1;
    method PUT;
    header X-Custom "";
}

outbound plain http {
    url http://127.0.0.1:$oport/sink/plain;
    pass_headers off;
    keepalive 0;
}

outbound fail http { url http://127.0.0.1:$oport/fail; }
outbound gone http { url http://127.0.0.1:$oport/gone; }
outbound later http { url http://127.0.0.1:$oport/later; }

outbound silent http {
    url http://127.0.0.1:$qport/;
    timeout 1s;
}

outbound refused http { url http://127.0.0.1:$cport/; }

outbound delay http { url http://127.0.0.1:$rport/delay; }

outbound one http {
    url http://127.0.0.1:$rport/delay;
    max_requests 1;
}

outbound https http { url https://127.0.0.1:$sport/sink/tls; }

outbound verified http {
    url https://webhook.test/sink/verified;
    ssl_verify on;
    ssl_trusted_certificate $d/origin.crt;
}

outbound mismatch http {
    url https://127.0.0.1:$sport/sink/mismatch;
    ssl_verify on;
    ssl_trusted_certificate $d/origin.crt;
}

outbound up http { url http://hooks/sink/up; }
outbound pair http { url http://pair/sink/pair; }

outbound reply http { url http://127.0.0.1:$oport/reply; }
outbound chunked http { url http://127.0.0.1:$rport/chunked; }
outbound eof http { url http://127.0.0.1:$rport/eof; }

outbound small http {
    url http://127.0.0.1:$oport/reply;
    response_buffer_size 7;
}

outbound continue http { url http://127.0.0.1:$rport/continue; }
outbound stale http { url http://127.0.0.1:$rport/stale; }
EOF

$t->run();

my $port = $t->port(8081);
my $hook_log = "$origin_dir/logs/hook.log";

sub curl {
    my (@args) = @_;
    my ($rc, $out) = $t->run_cmd(['curl', '-s', '--max-time', '30', @args],
                                 timeout => 40);
    return $out // '';
}

sub status {
    my ($uri, @args) = @_;
    return curl('-o', '/dev/null', '-w', '%{http_code}', @args,
                "http://127.0.0.1:$port$uri");
}

sub hook_lines {
    open my $f, '<', $hook_log or return ();
    my @l = <$f>;
    return @l;
}

# waits for the origin to log n lines in all, returns the new ones

sub wait_hook {
    my ($n, $from) = @_;
    $t->wait_for(sub { (() = hook_lines()) >= $n }, 5);
    my @l = hook_lines();
    return @l[$from .. $#l];
}

# one request, then the line the origin logged for it

sub deliver {
    my ($uri, @args) = @_;
    my $n = () = hook_lines();
    my $s = status($uri, @args);
    my ($line) = wait_hook($n + 1, $n);
    return ($s, $line // '');
}

###############################################################################

# delivery: method, path, headers, body; the answer only after the origin

my $out = curl('-i', '-X', 'POST', '--data-binary', 'hello-webhook-1',
               '-H', 'Content-Type: text/plain', '-H', 'X-Custom: abc',
               "http://127.0.0.1:$port/in");

like($out, qr{^HTTP/1\.1 202 }, 'delivered: 202');
like($out, qr{"outcome":\s*"delivered"}, 'outcome in the answer');

my ($l) = wait_hook(1, 0);
$l //= '';

like($l, qr{^http POST /sink }, 'method and path');
like($l, qr{ h=127\.0\.0\.1:$oport }, 'Host of the URL');
like($l, qr{ ct=text/plain }, 'Content-Type from the message');
like($l, qr{ x=abc }, 'message header passed');
like($l, qr{ id=([0-9a-f]{32}) .* s=s-\1 },
     'X-Request-Id, a templated header');
like($l, qr{ conn=keep-alive }, 'Connection: keep-alive');
like($l, qr{ len=15 body=hello-webhook-1$}, 'Content-Length and the body');

# method, a path template, a header removed; pass_headers off, keepalive 0

is(status('/put', '--data-binary', 'second', '-H', 'X-Custom: k7'), '202',
   'put: 202');
($l) = wait_hook(2, 1);
like($l // '', qr{^http PUT /sink/k7\?k=1 .* x=- .* body=second$},
     'method, path template, header dropped by ""');

is(status('/plain', '--data-binary', 'third', '-H', 'X-Custom: no'), '202',
   'plain: 202');
($l) = wait_hook(3, 2);
like($l // '', qr{ ct=- x=- .* conn=close len=5 body=third$},
     'pass_headers off, Connection: close without keepalive');

# keepalive: five messages on one origin connection

my $before = () = hook_lines();

for my $i (1 .. 5) {
    curl('--data-binary', "ka-$i", "http://127.0.0.1:$port/in");
}

my @ka = wait_hook($before + 5, $before);
my %conns = map { / c=(\d+) / ? ($1 => 1) : () } @ka;
my ($last_n) = ($ka[-1] // '') =~ / n=(\d+) /;

is(scalar @ka, 5, 'five deliveries logged');
is(scalar keys %conns, 1, 'all on one origin connection');
ok(($last_n // 0) >= 5, "reused: request $last_n on that connection");

# failures, as the inbound maps them

is(status('/fail', '-d', 'x'), '502', 'origin 500: 502');
is(status('/gone', '-d', 'x'), '502', 'origin 404: 502');
is(status('/later', '-d', 'x'), '503', 'origin 429: 503');

my $t0 = time;
is(status('/silent', '-d', 'x'), '504', 'origin silent: 504');
my $el = time - $t0;
ok($el >= 0.9 && $el < 5, sprintf('after "timeout" (%.1fs)', $el));

is(status('/refused', '-d', 'x'), '502', 'connection refused: 502');

# the client waits for the origin's answer

$t0 = time;
is(status('/delay', '-d', 'x'), '202', 'slow origin: 202');
$el = time - $t0;
ok($el >= 0.9, sprintf('answered after the origin (%.1fs)', $el));

# max_requests 1: a second message waits for the first

$t0 = time;
my @kids;
for (1 .. 2) {
    my $pid = fork // die;
    if ($pid == 0) {
        my $s = status('/one', '-d', 'x');
        POSIX::_exit($s eq '202' ? 0 : 1);
    }
    push @kids, $pid;
}
my $ok = 0;
for (@kids) { waitpid $_, 0; $ok++ if $? == 0; }
$el = time - $t0;
is($ok, 2, 'max_requests: both delivered');
ok($el >= 1.9, sprintf('one after the other (%.1fs)', $el));

# request/reply: the origin's status, headers and body

$out = curl('-i', '-d', 'x', "http://127.0.0.1:$port/reply");
like($out, qr{^HTTP/1\.1 201 }, 'reply: the origin status');
like($out, qr{^X-Origin: yes\r$}mi, 'reply: an origin header');
is(scalar(() = $out =~ /^Server:/mig), 1, 'reply: one Server header');
like($out, qr{\r\n\r\ncreated by the origin\n\z}, 'reply: the origin body');

$out = curl('-i', '-d', 'x', "http://127.0.0.1:$port/chunked");
like($out, qr{^X-Raw: chunked\r$}mi, 'chunked reply header');
like($out, qr{\r\n\r\nchunks decoded\z}, 'chunked reply body decoded');

$out = curl('-d', 'x', "http://127.0.0.1:$port/eof");
is($out, 'until the end', 'close-delimited reply body');

$out = curl('-d', 'x', "http://127.0.0.1:$port/small");
is($out, 'created', 'reply body capped by response_buffer_size');

is(status('/continue', '-d', 'x'), '204', '100 Continue skipped');

# a cached connection the origin drops: the message goes on a new one

my $mark = $t->log_mark();
my $log;
is(status('/stale', '-d', 'x'), '202', 'kept-alive origin: 202');
is(status('/stale', '-d', 'y'), '202', 'dropped on reuse: still 202');
$log = substr($t->error_log(), $mark);
unlike($log, qr/\[error\]/, 'a stale cached connection is no error');
like($log, qr/closed a kept-alive connection, trying again/,
     'the retry on a new connection is logged');

# https: a self-signed origin, not verified by default

my ($s, $line) = deliver('/https', '--data-binary', 'secret');
is($s, '202', 'https: 202');
like($line, qr{^https POST /sink/tls .* body=secret$},
     'https: delivered over TLS');

# an upstream{} reference: its name for Host, SNI and verification

($s, $line) = deliver('/verified', '--data-binary', 'checked');
is($s, '202', 'https upstream, verified: 202');
like($line, qr{^https POST /sink/verified .* h=webhook\.test .*body=checked$},
     'verified: Host is the upstream name');

is(status('/mismatch', '-d', 'x'), '502', 'certificate name mismatch: 502');

($s, $line) = deliver('/up', '--data-binary', 'via-upstream');
is($s, '202', 'upstream: 202');
like($line, qr{^http POST /sink/up .* h=hooks .*body=via-upstream$},
     'upstream: delivered to its server');

# a refused server of an upstream: the next one at once, then skipped

my $refused = 0;

for my $i (1 .. 3) {
    $mark = $t->log_mark();
    ($s, $line) = deliver('/pair', '--data-binary', "pair-$i");
    is($s, '202', "failover $i: 202");
    like($line, qr{^http POST /sink/pair .* h=pair .*body=pair-$i$},
         "failover $i: delivered");
    $log = substr($t->error_log(), $mark);
    $refused++ if $log =~ /refused.*upstream: [\d.]+:$cport,/;
}

is($refused, 1, 'the refused server is tried once, then taken out');

$t->stop();

like($t->error_log(), qr/webhook SSL certificate does not match/,
     'the mismatch is logged');

# configuration errors name the place

$t->write_file_expand('bad1.conf', <<"EOF2");
events { }
outbound nourl http { method POST; }
EOF2

my (undef, $err) = $t->hermod_cmd('-t', '-c', $t->conf_path('bad1.conf'));
like($err, qr/no "url" in outbound "nourl" in \S+bad1\.conf:2/,
     'no url: an error with its place');

$t->write_file_expand('bad2.conf', <<"EOF2");
events { }
outbound early http { url http://hooks/x; }
http { upstream hooks { server 127.0.0.1:$oport; } }
EOF2

(undef, $err) = $t->hermod_cmd('-t', '-c', $t->conf_path('bad2.conf'));
like($err, qr/host not found in "http:\/\/hooks\/x".* in \S+bad2\.conf:2/,
     'an upstream declared after the outbound: not found');

$t->write_file_expand('bad3.conf', <<"EOF2");
events { }
http { upstream hooks { server 127.0.0.1:$oport; } }
outbound port http { url http://hooks:8080/x; }
EOF2

(undef, $err) = $t->hermod_cmd('-t', '-c', $t->conf_path('bad3.conf'));
like($err, qr/upstream "hooks" may not have a port/,
     'an upstream with a port');

# an https outbound in a configuration without an http block

$t->write_file_expand('https_only.conf', <<"EOF2");
events { }
pipeline p { output secure; }
outbound secure http { url https://127.0.0.1:$sport/x; }
EOF2

my $rc;
($rc, $err) = $t->hermod_cmd('-t', '-c', $t->conf_path('https_only.conf'));
is($rc, 0, 'an https outbound without an http block: -t passes')
    or diag($err);

done_testing();
