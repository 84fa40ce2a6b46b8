#!/usr/bin/perl

# Malformed and hostile HTTP/1.1 requests over raw sockets: each one gets
# the expected status and a closed connection, and a fresh connection
# afterwards is served as usual.  The worker must survive all of them.

use warnings;
use strict;

use Test::More;
use Time::HiRes qw(time);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_http_module', 'hm_http_core_module',
    'hm_http_static_module');

$t->write_file_expand('hermod.conf', <<'EOF');

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}

http {
    access_log %%TESTDIR%%/logs/access.log;

    client_header_buffer_size 1k;
    large_client_header_buffers 2 1k;
    client_header_timeout 1s;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        location / {
            return 200 "ok";
        }

        location /static/ {
            root %%TESTDIR%%/html;
        }
    }
}
EOF

$t->write_file('../html/static/file.txt', "static file\n");

$t->run();

my $port = $t->port(8080);

my @workers = $t->worker_pids();
is(scalar(@workers), 1, 'one worker');

###############################################################################

sub status {
    my ($resp) = @_;
    return undef unless defined $resp;
    return $resp =~ m{^HTTP/1\.[01] (\d{3})[ \r]} ? $1 : undef;
}

# sends raw bytes on a fresh connection; returns (response, eof)

sub raw {
    my ($bytes, %o) = @_;

    my $s = $t->tcp_connect($port) or return ('', 0);
    my ($data, $eof) = $t->sock_xfer($s, $bytes, timeout => $o{timeout} // 5);
    close $s;

    return ($data, $eof);
}

sub fresh_ok {
    my ($resp) = raw("GET /fresh HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n\r\n");
    return (status($resp) // 0) == 200 && $resp =~ /\r\n\r\nok\z/;
}

# one malformed request: the status, the connection closed by the server
# (no "Connection: close" from the client), then a fresh connection works

sub bad {
    my ($name, $bytes, $expect) = @_;

    my $t0 = time();
    my ($resp, $eof) = raw($bytes, timeout => 5);

    if (ref $expect) {
        like(status($resp) // 'none', $expect, "$name: status")
            or diag(substr($resp, 0, 200));
    } else {
        is(status($resp), $expect, "$name: status")
            or diag(substr($resp, 0, 200));
    }

    ok($eof && time() - $t0 < 4, "$name: connection closed");
    ok(fresh_ok(), "$name: a fresh connection is served");
}

my $H = "Host: localhost\r\n";

###############################################################################

ok(fresh_ok(), 'a well-formed request is served');

# request smuggling material

bad('Content-Length and Transfer-Encoding',
    "POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n"
    . "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);

bad('Transfer-Encoding and Content-Length',
    "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n"
    . "Content-Length: 5\r\n\r\n0\r\n\r\n", 400);

bad('two different Content-Length',
    "POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n"
    . "Content-Length: 6\r\n\r\nabcdef", 400);

bad('duplicate identical Content-Length',
    "POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n"
    . "Content-Length: 5\r\n\r\nabcde", 400);

bad('Content-Length list',
    "POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nabcde", 400);

bad('negative Content-Length',
    "POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n", 400);

bad('Content-Length with a sign',
    "POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nabcde", 400);

bad('obs-fold',
    "GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n", 400);

bad('obs-fold with a tab',
    "GET / HTTP/1.1\r\n${H}X-Folded: a\r\n\tb\r\n\r\n", 400);

bad('bare CR in the request line (URI)',
    "GET /a\rb HTTP/1.1\r\n${H}\r\n", 400);

bad('bare CR ending the request line',
    "GET / HTTP/1.1\r${H}\r\n", 400);

bad('bare CR in a header value',
    "GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n", 400);

bad('bare CR ending a header line',
    "GET / HTTP/1.1\r\n${H}X-A: a\rX-B: b\r\n\r\n", 400);

bad('invalid header name character',
    "GET / HTTP/1.1\r\n${H}X\@A: v\r\n\r\n", 400);

bad('header name with a slash',
    "GET / HTTP/1.1\r\n${H}X/A: v\r\n\r\n", 400);

bad('space before the colon',
    "GET / HTTP/1.1\r\n${H}X-A : v\r\n\r\n", 400);

bad('space before the colon of Host',
    "GET / HTTP/1.1\r\nHost : localhost\r\n\r\n", 400);

bad('NUL in a header value',
    "GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n", 400);

bad('NUL in a header name',
    "GET / HTTP/1.1\r\n${H}X-\0A: v\r\n\r\n", 400);

bad('header line without a colon',
    "GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n", 400);

bad('two Host headers',
    "GET / HTTP/1.1\r\n${H}${H}\r\n", 400);

bad('invalid Host',
    "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);

# limits: client_header_buffer_size 1k, large_client_header_buffers 2 1k

bad('request line over large_client_header_buffers',
    "GET /" . ('a' x 2000) . " HTTP/1.1\r\n${H}\r\n", 414);

bad('header line over large_client_header_buffers',
    "GET / HTTP/1.1\r\n${H}X-Long: " . ('b' x 2000) . "\r\n\r\n", 431);

bad('too many header bytes',
    "GET / HTTP/1.1\r\n${H}"
    . join('', map { "X-H$_: " . ('c' x 800) . "\r\n" } 1 .. 4) . "\r\n",
    431);

# a long header under the limit is fine

my ($resp) = raw("GET / HTTP/1.1\r\n${H}Connection: close\r\n"
    . "X-Long: " . ('d' x 900) . "\r\n\r\n");
is(status($resp), 200, 'a header line in a large buffer: 200');

# versions, methods, Host

bad('HTTP/2.0 request line',
    "GET / HTTP/2.0\r\n${H}\r\n", 505);

bad('HTTP/0.9 request',
    "GET /\r\n", qr/^(400|505|none)$/);

bad('lowercase http version',
    "GET / http/1.1\r\n${H}\r\n", 400);

bad('two spaces in the request line',
    "GET  / HTTP/1.1\r\n${H}\r\n", 400);

bad('HTTP/1.1 without Host',
    "GET / HTTP/1.1\r\n\r\n", 400);

bad('Transfer-Encoding: gzip',
    "POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n", 501);

bad('Transfer-Encoding: gzip, chunked',
    "POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n"
    . "0\r\n\r\n", 501);

bad('Transfer-Encoding in HTTP/1.0',
    "POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n"
    . "0\r\n\r\n", 400);

bad('CONNECT', "CONNECT localhost:443 HTTP/1.1\r\n${H}\r\n", 405);

bad('TRACE', "TRACE / HTTP/1.1\r\n${H}\r\n", 405);

# an unknown method token is a method: "return" answers it, the static
# handler refuses it

($resp) = raw("FOO / HTTP/1.1\r\n${H}Connection: close\r\n\r\n");
is(status($resp), 200, 'unknown method FOO to a return location: 200');

($resp) = raw("FOO /static/file.txt HTTP/1.1\r\n${H}Connection: close\r\n\r\n");
is(status($resp), 405, 'unknown method FOO to a static file: 405');

($resp) = raw("GET /static/file.txt HTTP/1.1\r\n${H}Connection: close\r\n\r\n");
is(status($resp), 200, 'GET of the same static file: 200');

bad('invalid method character',
    "G(T / HTTP/1.1\r\n${H}\r\n", 400);

# invalid chunked bodies, sent in one segment with the header: the
# static handler discards the body before answering and refuses it (400
# as nginx); a "return" must not answer 200 to it either (nginx: 500)

my %chunked = (
    'chunk size not hex' => "zz\r\nhello\r\n0\r\n\r\n",
    'chunk size with a sign' => "-5\r\nhello\r\n0\r\n\r\n",
    'chunk data longer than its size' => "2\r\nhello\r\n0\r\n\r\n",
    'chunk size overflowing' => "ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
);

for my $name (sort keys %chunked) {
    bad("$name (static)",
        "GET /static/file.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n"
        . "\r\n$chunked{$name}", 400);

    bad("$name (return)",
        "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n"
        . $chunked{$name}, qr/^[45]\d\d$/);
}

# URIs

bad('/../ above the root', "GET /../etc/passwd HTTP/1.1\r\n${H}\r\n", 400);

bad('/a/../../ above the root',
    "GET /a/../../etc/passwd HTTP/1.1\r\n${H}\r\n", 400);

bad('encoded /%2e%2e/ above the root',
    "GET /%2e%2e/etc/passwd HTTP/1.1\r\n${H}\r\n", 400);

bad('%00 in the URI', "GET /a%00b HTTP/1.1\r\n${H}\r\n", 400);

bad('bad percent-encoding', "GET /a%zz HTTP/1.1\r\n${H}\r\n", 400);

bad('URI without a slash', "GET a/b HTTP/1.1\r\n${H}\r\n", 400);

# /a/../b stays inside: served

($resp) = raw("GET /a/../b HTTP/1.1\r\n${H}Connection: close\r\n\r\n");
is(status($resp), 200, '/a/../b inside the root: 200');

# client_header_timeout 1s: half a request line, then silence

my $s = $t->tcp_connect($port);
$t->sock_write($s, "GET /hal");

my $t0 = time();
my ($data, $eof) = $t->sock_read($s, timeout => 5);
my $elapsed = time() - $t0;
close $s;

ok($eof, 'client_header_timeout: closed');
ok($elapsed >= 0.8 && $elapsed <= 3,
    sprintf('client_header_timeout: after %.2f s (1 s + 2)', $elapsed));
like($data, qr{^(|HTTP/1\.1 408 .*)$}s, 'client_header_timeout: 408 or nothing');

# half the headers, then silence

$s = $t->tcp_connect($port);
$t->sock_write($s, "GET / HTTP/1.1\r\n${H}X-Half: ");

$t0 = time();
($data, $eof) = $t->sock_read($s, timeout => 5);
$elapsed = time() - $t0;
close $s;

ok($eof && $elapsed <= 3,
    sprintf('client_header_timeout in headers: closed after %.2f s', $elapsed));

ok(fresh_ok(), 'served after the timeouts');

# an idle connection that sends nothing is closed too

$s = $t->tcp_connect($port);
$t0 = time();
($data, $eof) = $t->sock_read($s, timeout => 5);
$elapsed = time() - $t0;
close $s;

ok($eof && $elapsed <= 3,
    sprintf('idle connection closed after %.2f s', $elapsed));

###############################################################################

# the worker survived everything

is(join(',', $t->worker_pids()), join(',', @workers),
    'the worker pid is unchanged');

$t->done_testing();

###############################################################################
