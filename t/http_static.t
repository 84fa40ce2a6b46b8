#!/usr/bin/perl

# Static files: root, index, alias, sizes 0 / 1 / 1 MiB with checksums,
# Content-Type by extension and default_type, the directory redirect,
# 404 and log_not_found, 403, HEAD, a 100 MiB file by curl with sendfile,
# and the same over TLS.

use warnings;
use strict;

use Test::More;
use Digest::MD5;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_http_module', 'hm_http_core_module',
    'hm_http_static_module');
$t->skip_unless_program('curl');

my $tls = $t->has_program('openssl') && $t->has_module('hm_http_ssl_module');

my $d = $t->testdir();

# the files

sub put {
    my ($name, $data) = @_;
    return $t->write_file("../$name", $data);
}

sub md5_file {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    binmode $fh;
    my $md5 = Digest::MD5->new->addfile($fh)->hexdigest;
    close $fh;
    return $md5;
}

sub random_bytes {
    my ($n) = @_;
    open my $fh, '<', '/dev/urandom' or die "/dev/urandom: $!";
    my $got = read($fh, my $buf, $n);
    close $fh;
    die "short read from /dev/urandom" unless $got == $n;
    return $buf;
}

put('html/empty.txt', '');
put('html/one.txt', 'x');
my $mib = random_bytes(1024 * 1024);
put('html/mib.bin', $mib);
put('html/index.html', "root index\n");
put('html/page.html', "<p>page</p>\n");
put('html/style.css', "p {}\n");
put('html/data.json', "{}\n");
put('html/img.png', "\x89PNG\r\n");
put('html/noext', "no extension\n");
put('html/file.weird', "weird extension\n");
put('html/UPPER.HTML', "upper\n");
put('html/sub/index.html', "sub index\n");
put('html/sub/first.html', "sub first\n");
mkdir "$d/html/noindex";
put('html/dflt/file.weird', "weird\n");
put('html/secret.txt', "secret\n");
put('aliased/f.txt', "aliased file\n");
put('aliased/deep/g.txt', "aliased deep\n");

chmod 0000, "$d/html/secret.txt";

# 100 MiB: a random MiB written 100 times with a counter, so that a
# misplaced block changes the checksum

my $big = "$d/html/big.bin";
my $big_size = 100 * 1024 * 1024;
{
    open my $fh, '>', $big or die "$big: $!";
    binmode $fh;
    for my $i (0 .. 99) {
        substr(my $block = $mib, 0, 4, pack('N', $i));
        print $fh $block or die "write $big: $!";
    }
    close $fh or die "close $big: $!";
}
my $big_md5 = md5_file($big);

if ($tls) {
    my ($rc, $out) = $t->run_cmd(['openssl', 'req', '-x509', '-newkey',
        'rsa:2048', '-nodes', '-keyout', "$d/rsa.key", '-out', "$d/rsa.crt",
        '-subj', '/CN=localhost', '-days', '2'], timeout => 60);
    if ($rc != 0) {
        diag("openssl req failed: $out");
        $tls = 0;
    }
}

$t->write_file_expand('hermod.conf', <<'EOF');

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}

http {
    access_log %%TESTDIR%%/logs/access.log;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        root %%TESTDIR%%/html;

        location / {
        }

        location /sub/ {
            index first.html index.html;
        }

        location /al/ {
            alias %%TESTDIR%%/aliased/;
        }

        location /dflt/ {
            default_type application/x-test;
        }

        location /quiet/ {
            log_not_found off;
        }

        location = /big.bin {
            sendfile on;
        }
    }
}
EOF

$t->run();

my $port = $t->port(8080);

###############################################################################

sub get {
    my ($uri, %o) = @_;

    my $method = $o{method} // 'GET';

    return $t->tcp_request($port, "$method $uri HTTP/1.1\r\n"
        . "Host: localhost\r\nConnection: close\r\n\r\n",
        timeout => $o{timeout} // 10) // '';
}

sub status {
    my ($resp) = @_;
    return $resp =~ m{^HTTP/1\.[01] (\d{3})[ \r]} ? $1 : undef;
}

sub header {
    my ($resp, $name) = @_;
    my ($head) = split /\r\n\r\n/, $resp // '', 2;
    $head = ($head // '') . "\r\n";
    return $head =~ /^\Q$name\E:[ \t]*(.*?)\r$/mi ? $1 : undef;
}

sub body {
    my ($resp) = @_;
    my (undef, $b) = split /\r\n\r\n/, $resp // '', 2;
    return $b;
}

###############################################################################

# sizes and checksums

my $r = get('/empty.txt');
is(status($r), 200, 'empty file: 200');
is(header($r, 'Content-Length'), 0, 'empty file: Content-Length 0');
is(body($r), '', 'empty file: empty body');

$r = get('/one.txt');
is(header($r, 'Content-Length'), 1, 'one byte: Content-Length 1');
is(body($r), 'x', 'one byte: body');

$r = get('/mib.bin');
is(status($r), 200, '1 MiB: 200');
is(header($r, 'Content-Length'), 1024 * 1024, '1 MiB: Content-Length');
is(length(body($r)), 1024 * 1024, '1 MiB: body length');
is(Digest::MD5::md5_hex(body($r)), Digest::MD5::md5_hex($mib), '1 MiB: md5');
ok(defined header($r, 'Last-Modified'), '1 MiB: Last-Modified');

# Content-Type by extension; default_type

my %types = (
    '/page.html' => 'text/html',
    '/UPPER.HTML' => 'text/html',
    '/style.css' => 'text/css',
    '/data.json' => 'application/json',
    '/img.png' => 'image/png',
    '/one.txt' => 'text/plain',
    '/noext' => 'text/plain',
    '/file.weird' => 'text/plain',
    '/dflt/file.weird' => 'application/x-test',
);

for my $uri (sort keys %types) {
    is(header(get($uri), 'Content-Type'), $types{$uri},
        "Content-Type: $uri -> $types{$uri}");
}

# index, alias

$r = get('/');
is(status($r), 200, 'index: / 200');
is(body($r), "root index\n", 'index: index.html');

is(body(get('/sub/')), "sub first\n", 'index: the first of the list');
is(body(get('/sub/?a=1')), "sub first\n", 'index: with arguments');
is(status(get('/noindex/')), 403, 'directory without an index: 403');

is(body(get('/al/f.txt')), "aliased file\n", 'alias: file');
is(body(get('/al/deep/g.txt')), "aliased deep\n", 'alias: deeper file');
is(status(get('/al/missing')), 404, 'alias: missing 404');

# a directory without a slash: 301 to the slash

$r = get('/sub');
is(status($r), 301, 'directory without slash: 301');
is(header($r, 'Location'), "http://localhost:$port/sub/",
    'directory without slash: Location');

$r = get('/sub?x=1');
is(header($r, 'Location'), "http://localhost:$port/sub/?x=1",
    'directory without slash: arguments kept');

# 404, log_not_found

my $mark = $t->log_mark();
$r = get('/missing.txt');
is(status($r), 404, '404: status');
like(body($r), qr/404 Not Found/, '404: page');
ok($t->wait_log(qr/open\(\) "[^"]*missing\.txt" failed \(2: /, 5, $mark),
    '404: logged with log_not_found on');

$mark = $t->log_mark();
is(status(get('/quiet/missing.txt')), 404, 'log_not_found off: 404');
get('/one.txt');
ok($t->wait_for(sub {
    ($t->read_file('logs/access.log') // '') =~ /quiet\/missing\.txt/
}, 5), 'log_not_found off: request logged in the access log');
unlike(substr($t->error_log(), $mark), qr/quiet\/missing\.txt/,
    'log_not_found off: not in the error log');

# 403 on a file without read permission (root reads it anyway)

SKIP: {
    skip 'running as root: no permission check', 1 if $> == 0;
    is(status(get('/secret.txt')), 403, 'no read permission: 403');
}

# HEAD

$r = get('/mib.bin', method => 'HEAD');
is(status($r), 200, 'HEAD: 200');
is(header($r, 'Content-Length'), 1024 * 1024, 'HEAD: Content-Length');
is(body($r), '', 'HEAD: no body');

# methods

is(status(get('/one.txt', method => 'POST')), 405, 'POST to a file: 405');
is(status(get('/one.txt', method => 'DELETE')), 405, 'DELETE: 405');

# 100 MiB by curl, sendfile on

my $dl = "$d/download.bin";

my ($rc, $out, $err) = $t->run_cmd(['curl', '-sS', '-o', $dl, '-w',
    '%{http_code} %{size_download}', "http://127.0.0.1:$port/big.bin"],
    timeout => 120, split => 1);

is($rc, 0, '100 MiB: curl exit code') or diag($err);
is($out, "200 $big_size", '100 MiB: status and size');
is(-s $dl, $big_size, '100 MiB: file size');
is(md5_file($dl), $big_md5, '100 MiB: md5');
unlink $dl;

$t->stop();

# the same over TLS, from its own instance (same root)

SKIP: {
    skip 'no openssl or no hm_http_ssl_module', 5 unless $tls;

    my $ts = Test::Hermod->new();

    $ts->write_file_expand('hermod.conf', <<"EOF");

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}

http {
    access_log %%TESTDIR%%/logs/access.log;

    server {
        listen 127.0.0.1:%%PORT_8443%% ssl;
        server_name localhost;

        ssl_certificate $d/rsa.crt;
        ssl_certificate_key $d/rsa.key;
        ssl_protocols TLSv1.2 TLSv1.3;

        sendfile on;
        root $d/html;
    }
}
EOF

    eval { $ts->run() };
    ok(!$@, 'TLS: hermod started') or diag($@);
    skip 'TLS: hermod did not start', 4 if $@;

    my $sport = $ts->port(8443);

    ($rc, $out, $err) = $ts->run_cmd(['curl', '-sS', '-k', '-o', $dl, '-w',
        '%{http_code} %{size_download}', "https://127.0.0.1:$sport/big.bin"],
        timeout => 120, split => 1);

    is($rc, 0, 'TLS 100 MiB: curl exit code') or diag($err);
    is($out, "200 $big_size", 'TLS 100 MiB: status and size');
    is(-s $dl, $big_size, 'TLS 100 MiB: file size');
    is(md5_file($dl), $big_md5, 'TLS 100 MiB: md5');
    unlink $dl;

    $ts->stop();
}

unlink $big;

$t->done_testing();

###############################################################################
