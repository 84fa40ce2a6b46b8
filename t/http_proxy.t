#!/usr/bin/perl

# Reverse proxy: nginx as the real origin; URI replacement, headers,
# upstream keepalive counted at the origin, failover and passive health,
# 502/504, chunked and close-delimited upstream bodies, large bodies both
# ways with a flat memory profile, Upgrade tunnelling.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time);
use Digest::MD5;
use POSIX ();

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $nginx = '/usr/sbin/nginx';
plan(skip_all => "no nginx at $nginx") unless -x $nginx;
plan(skip_all => 'no curl') unless Test::Hermod->has_program('curl');

my $t = Test::Hermod->new();

my $origin_dir = $t->testdir() . '/origin';
mkdir $origin_dir;
mkdir "$origin_dir/$_" for qw(logs html);

open my $f, '>', "$origin_dir/html/index.html" or die;
print $f "origin index\n";
close $f;

# a 64 MiB file for the download
{
    open my $big, '>', "$origin_dir/html/big.bin" or die;
    binmode $big;
    my $chunk = join '', map { chr(($_ * 7) % 256) } 0 .. 65535;
    print $big $chunk for 1 .. 1024;
    close $big;
}

my $oport = $t->port(8090);

my $user = $> == 0 ? 'user root;' : '';

$t->write_file_expand('origin.conf', <<"EOF");
$user
worker_processes 1;
daemon on;
error_log $origin_dir/logs/error.log;
pid $origin_dir/logs/nginx.pid;
events { worker_connections 256; }
http {
    log_format conn '\$connection \$request_uri';
    access_log $origin_dir/logs/access.log conn;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:$oport;
        root $origin_dir/html;
        location /echo {
            return 200 "m=\$request_method u=\$request_uri h=\$http_host x=\$http_x_forwarded_for c=\$http_connection t=\$http_x_test\\n";
        }
        location /upload { return 200 "len=\$content_length\\n"; }
        location /fail { return 503; }
    }
}
EOF

system($nginx, '-p', "$origin_dir/", '-c', $t->conf_path('origin.conf')) == 0
    or BAIL_OUT('cannot start the nginx origin');
END { if (-f "$origin_dir/logs/nginx.pid") {
          open my $p, '<', "$origin_dir/logs/nginx.pid"; my $pid = <$p>;
          kill 'QUIT', $pid if $pid; } }

ok($t->wait_port($oport, 5), 'origin up');

# an origin that accepts and never answers, for the read timeout
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 16, ReuseAddr => 1) or die;
my $sport = $silent->sockport();

# a closed port, for connect errors
my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 1) or die;
my $cport = $closed->sockport();
close $closed;

$t->write_file_expand('hermod.conf', <<"EOF");
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
events { worker_connections 512; }
http {
    access_log %%TESTDIR%%/logs/access.log;
    log_format up '\$uri \$upstream_addr \$upstream_status';

    upstream keep { server 127.0.0.1:$oport; keepalive 8; }
    upstream failover {
        server 127.0.0.1:$cport max_fails=1 fail_timeout=30s;
        server 127.0.0.1:$oport;
    }

    server {
        listen 127.0.0.1:%%PORT_8081%%;

        location / {
            proxy_pass http://127.0.0.1:$oport;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Test "t-\$uri";
        }

        location /api/ { proxy_pass http://127.0.0.1:$oport/echo/; }

        location /keep/ {
            proxy_pass http://keep/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }

        location /fo/ {
            proxy_pass http://failover/;
            access_log %%TESTDIR%%/logs/up.log up;
        }

        location /dead { proxy_pass http://127.0.0.1:$cport; }

        location /slow {
            proxy_pass http://127.0.0.1:$sport;
            proxy_read_timeout 1s;
        }

        location /stream/ {
            proxy_pass http://127.0.0.1:%%PORT_8092%%/;
            proxy_http_version 1.1;
            proxy_buffering off;
        }

        location /upload {
            proxy_pass http://127.0.0.1:$oport;
            proxy_request_buffering off;
            client_max_body_size 0;
        }

        location /ahead/ {
            proxy_pass http://127.0.0.1:$oport/;
            proxy_buffers 16 32k;
        }

        location /upload_buffered {
            proxy_pass http://127.0.0.1:$oport/upload;
            client_max_body_size 0;
        }
    }
}
EOF

$t->run();

my $port = $t->port(8081);

sub curl {
    my (@args) = @_;
    my ($rc, $out) = $t->run_cmd(['curl', '-s', '--max-time', '30', @args]);
    return $out;
}

# pass-through and headers

like(curl("http://127.0.0.1:$port/echo?a=1"),
     qr{^m=GET u=/echo\?a=1 h=127\.0\.0\.1:$oport x=127\.0\.0\.1 c=close t=t-/echo$}m,
     'request line, Host, X-Forwarded-For, Connection and a set header');

like(curl('-H', 'X-Forwarded-For: 10.0.0.1', "http://127.0.0.1:$port/echo"),
     qr{x=10\.0\.0\.1, 127\.0\.0\.1}, 'X-Forwarded-For appended');

like(curl("http://127.0.0.1:$port/api/x/y?q=2"),
     qr{u=/echo/x/y\?q=2}, 'location prefix replaced by the URI part');

is(curl("http://127.0.0.1:$port/index.html"), "origin index\n",
   'static file through the proxy');

like(curl('-d', 'body', "http://127.0.0.1:$port/echo"), qr/^m=POST/,
     'POST passed');

# keepalive: 20 requests through the proxy use very few origin connections

open my $al, '<', "$origin_dir/logs/access.log"; my @before = <$al>; close $al;

for (1 .. 20) {
    curl("http://127.0.0.1:$port/keep/echo");
}

ok($t->wait_for(sub {
    open my $a, '<', "$origin_dir/logs/access.log" or return 0;
    my @l = <$a>;
    @l >= @before + 20;
}, 5), 'the origin logged 20 requests');

open $al, '<', "$origin_dir/logs/access.log"; my @after = <$al>; close $al;
my %conns;
for my $l (@after[scalar @before .. $#after]) {
    $conns{$1}++ if $l =~ m{^(\d+) /echo};
}
ok(keys %conns >= 1 && keys %conns <= 2,
   'upstream keepalive: ' . scalar(keys %conns) . ' origin connection(s)');

# failover: the dead server is tried first once, then taken out

for (1 .. 4) {
    like(curl("http://127.0.0.1:$port/fo/echo"), qr/^m=GET/,
         "failover request $_ answered");
}

ok($t->wait_for(sub { -s $t->testdir() . '/logs/up.log' }, 3), 'up log');
my $up = $t->read_file('logs/up.log');
like($up, qr{127\.0\.0\.1:$cport, 127\.0\.0\.1:$oport 502, 200},
     'first request: tried the dead server, then the live one');
my $dead_tries = () = $up =~ /:$cport/g;
is($dead_tries, 1, 'the failed server is skipped during fail_timeout');

# errors

my $out = curl('-o', '/dev/null', '-w', '%{http_code}',
               "http://127.0.0.1:$port/dead");
is($out, '502', 'connection refused: 502');

my $t0 = time;
$out = curl('-o', '/dev/null', '-w', '%{http_code}',
            "http://127.0.0.1:$port/slow");
is($out, '504', 'read timeout: 504');
ok(time - $t0 < 5, 'after proxy_read_timeout');

# a chunked, then a close-delimited response from a hand-written origin

my $raw = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                LocalPort => $t->port(8092),
                                Listen => 16, ReuseAddr => 1) or die;

sub raw_origin {
    my ($response) = @_;
    my $pid = fork // die;
    if ($pid == 0) {
        my $c = $raw->accept() or POSIX::_exit(1);
        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            my $n = sysread($c, $req, 4096, length $req) or last;
        }
        print $c $response;
        close $c;
        POSIX::_exit(0);
    }
    return $pid;
}

my $pid = raw_origin("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                     . "Connection: close\r\n\r\n"
                     . "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
is(curl("http://127.0.0.1:$port/stream/x"), 'hello world',
   'chunked upstream body decoded');
waitpid $pid, 0;

$pid = raw_origin("HTTP/1.0 200 OK\r\n\r\nuntil the end");
is(curl("http://127.0.0.1:$port/stream/y"), 'until the end',
   'close-delimited upstream body');
waitpid $pid, 0;

$pid = raw_origin("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                  . "Content-Length: 6\r\n\r\nhello!");
$out = curl('-o', '/dev/null', '-w', '%{http_code}',
            "http://127.0.0.1:$port/stream/z");
is($out, '502', 'conflicting Content-Length from upstream: 502');
waitpid $pid, 0;

# Upgrade: the origin answers 101, then echoes bytes

$pid = fork // die;
if ($pid == 0) {
    my $c = $raw->accept() or POSIX::_exit(1);
    my $req = '';
    while ($req !~ /\r\n\r\n/) {
        sysread($c, $req, 4096, length $req) or POSIX::_exit(1);
    }
    POSIX::_exit(2) unless $req =~ /^Upgrade: websocket\r$/mi
                  && $req =~ /^Connection: upgrade\r$/mi;
    print $c "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             . "Connection: Upgrade\r\n\r\n";
    while (sysread($c, my $buf, 4096)) {
        syswrite($c, uc $buf);
    }
    POSIX::_exit(0);
}

my $ws = IO::Socket::INET->new("127.0.0.1:$port") or die;
print $ws "GET /stream/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          . "Connection: Upgrade\r\n\r\n";
my $resp = '';
my $deadline = time + 5;
while ($resp !~ /\r\n\r\n/ && time < $deadline) {
    sysread($ws, $resp, 4096, length $resp) or last;
}
like($resp, qr{^HTTP/1\.1 101 }, 'switching protocols passed');
like($resp, qr{^Upgrade: websocket\r$}mi, 'Upgrade header passed');
print $ws "ping over the tunnel";
my $echo = '';
while (length $echo < 20 && time < $deadline) {
    sysread($ws, $echo, 4096, length $echo) or last;
}
is($echo, 'PING OVER THE TUNNEL', 'bytes tunnelled both ways');
close $ws;
waitpid $pid, 0;

# large bodies with a flat memory profile

my $worker = ($t->worker_pids())[0];

sub rss {
    open my $s, '<', "/proc/$worker/status" or return 0;
    while (my $l = <$s>) { return $1 if $l =~ /^VmRSS:\s+(\d+)/; }
    return 0;
}

my $rss0 = rss();

my $md5 = Digest::MD5->new;
open my $bf, '<', "$origin_dir/html/big.bin"; binmode $bf; $md5->addfile($bf);
my $want = $md5->hexdigest;

my ($rc, $got) = $t->run_cmd(['sh', '-c',
    "curl -s --max-time 60 http://127.0.0.1:$port/big.bin | md5sum"]);
like($got, qr/^$want/, '64 MiB download intact');

# a slow client with read-ahead (proxy_buffers): the copies are reused,
# nothing is lost or reordered

($rc, $got) = $t->run_cmd(['sh', '-c',
    "curl -s --max-time 60 --limit-rate 16M "
    . "http://127.0.0.1:$port/ahead/big.bin | md5sum"], timeout => 90);
like($got, qr/^$want/, '64 MiB to a rate-limited client, read ahead intact');

my $upload = $t->testdir() . '/upload.bin';
system("head -c 67108864 /dev/zero > $upload") == 0 or die;

like(curl('-T', $upload, "http://127.0.0.1:$port/upload"),
     qr/len=67108864/, '64 MiB upload streamed (proxy_request_buffering off)');

like(curl('-T', $upload, "http://127.0.0.1:$port/upload_buffered"),
     qr/len=67108864/, '64 MiB upload buffered through a temporary file');

my $rss1 = rss();
ok($rss1 - $rss0 < 16 * 1024,
   "worker RSS grew by " . ($rss1 - $rss0) . " kB for 192 MiB moved");

$t->stop();

done_testing();
