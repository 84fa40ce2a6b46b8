#!/usr/bin/perl

# Upstream balancers and TLS to upstreams, against nginx origins: smooth
# weighted round robin, least_conn, hash (plain and consistent), random,
# backup servers, "down", and proxy_pass https:// with verification.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $nginx = '/usr/sbin/nginx';
plan(skip_all => "no nginx at $nginx") unless -x $nginx;

my $t = Test::Hermod->new();
$t->skip_unless_program('curl', 'openssl');

my $d = $t->testdir();
mkdir "$d/origin";
mkdir "$d/origin/logs";

my ($rc, $out) = $t->run_cmd(['openssl', 'req', '-x509', '-newkey',
    'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=origin.test',
    '-addext', 'subjectAltName=DNS:origin.test',
    '-keyout', "$d/origin.key", '-out', "$d/origin.crt"], timeout => 60);
plan(skip_all => "openssl req failed: $out") if $rc != 0;

my @p = map { $t->port(8090 + $_) } 0 .. 3;
my $tls = $t->port(8095);
my $user = $> == 0 ? 'user root;' : '';

$t->write_file_expand('origin.conf', <<"EOF");
$user
worker_processes 1;
daemon on;
error_log $d/origin/logs/error.log;
pid $d/origin/logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    server { listen 127.0.0.1:$p[0]; return 200 "A"; }
    server { listen 127.0.0.1:$p[1]; return 200 "B"; }
    server { listen 127.0.0.1:$p[2]; return 200 "C"; }
    server { listen 127.0.0.1:$p[3]; return 200 "D"; }
    server {
        listen 127.0.0.1:$tls ssl;
        ssl_certificate $d/origin.crt;
        ssl_certificate_key $d/origin.key;
        return 200 "tls \$ssl_protocol \$ssl_server_name";
    }
}
EOF

system($nginx, '-p', "$d/origin/", '-c', $t->conf_path('origin.conf')) == 0
    or BAIL_OUT('cannot start the nginx origin');
END { if (open my $f, '<', "$d/origin/logs/nginx.pid") {
          my $pid = <$f>; kill 'QUIT', $pid if $pid; } }

$t->wait_port($_, 5) for @p, $tls;

$t->write_file_expand('hermod.conf', <<"EOF");
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;

    upstream weighted { server 127.0.0.1:$p[0] weight=3; server 127.0.0.1:$p[1]; }
    upstream lc { least_conn; server 127.0.0.1:$p[0]; server 127.0.0.1:$p[1]; }
    upstream h { hash \$arg_k; server 127.0.0.1:$p[0]; server 127.0.0.1:$p[1];
                 server 127.0.0.1:$p[2]; }
    upstream ch { hash \$arg_k consistent; server 127.0.0.1:$p[0];
                  server 127.0.0.1:$p[1]; server 127.0.0.1:$p[2]; }
    upstream ch3 { hash \$arg_k consistent; server 127.0.0.1:$p[0];
                   server 127.0.0.1:$p[1]; server 127.0.0.1:$p[2];
                   server 127.0.0.1:$p[3]; }
    upstream rnd { random two; server 127.0.0.1:$p[0]; server 127.0.0.1:$p[1]; }
    upstream bk { server 127.0.0.1:$p[0] down; server 127.0.0.1:$p[1] backup; }

    server {
        listen 127.0.0.1:%%PORT_8081%%;
        location /w { proxy_pass http://weighted; }
        location /lc { proxy_pass http://lc; }
        location /h { proxy_pass http://h; }
        location /ch3 { proxy_pass http://ch3; }
        location /ch { proxy_pass http://ch; }
        location /rnd { proxy_pass http://rnd; }
        location /bk { proxy_pass http://bk; }
        location /tls {
            proxy_pass https://127.0.0.1:$tls;
            proxy_ssl_server_name on;
            proxy_ssl_name origin.test;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $d/origin.crt;
        }
        location /tls_wrong_name {
            proxy_pass https://127.0.0.1:$tls;
            proxy_ssl_name other.test;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $d/origin.crt;
        }
    }
}
EOF

$t->run();
my $port = $t->port(8081);

sub get {
    my ($uri) = @_;
    my ($rc, $out) = $t->run_cmd(['curl', '-s', '--max-time', '10',
                                  "http://127.0.0.1:$port$uri"]);
    return $out;
}

# weights: 3 to 1, interleaved smoothly (A A B A, not A A A B)

my $seq = join '', map { get('/w') } 1 .. 8;
is(($seq =~ tr/A//), 6, 'weight=3 gets three quarters');
unlike($seq, qr/AAAA/, 'smooth weighted round robin interleaves');

# least_conn with sequential requests behaves as round robin

$seq = join '', map { get('/lc') } 1 .. 6;
is(($seq =~ tr/A//), 3, 'least_conn spreads sequential requests');

# hash: the same key, the same server

my %h;
for my $k (1 .. 20) {
    my $first = get("/h?k=$k");
    my $again = get("/h?k=$k");
    $h{$first}++;
    is($again, $first, "hash key $k sticks") if $k <= 5;
}
ok(keys %h >= 2, 'hash spreads keys over servers');

# consistent hash: adding a server moves only a part of the keys

# (the expected share of the new server is a quarter; with 120 keys the
# worst of 300 simulated port sets moved 53, modulo hashing moves ~90)

my ($moved, $total) = (0, 120);
for my $k (1 .. $total) {
    my $key = 'session-' . ($k * 7919) . "-user$k";
    my $three = get("/ch?k=$key");
    my $four = get("/ch3?k=$key");
    $moved++ if $three ne $four;
}
ok($moved < 70, "consistent hash: $moved of $total keys moved");

# random two

my %r;
$r{ get('/rnd') }++ for 1 .. 20;
is(join('', sort keys %r), 'AB', 'random reaches both servers');

# a down server is never used, the backup steps in

is(get('/bk'), 'B', 'backup serves when the primary is down');

# TLS to the upstream with verification

like(get('/tls'), qr/^tls TLSv1\.[23] origin\.test$/,
     'https upstream with SNI and a verified certificate');

my ($rc2, $code) = $t->run_cmd(['curl', '-s', '-o', '/dev/null', '-w',
    '%{http_code}', "http://127.0.0.1:$port/tls_wrong_name"]);
is($code, '502', 'a certificate for another name: 502');
$t->allow_log(qr/upstream SSL certificate does not match/);

$t->stop();
done_testing();
