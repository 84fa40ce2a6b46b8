#!/usr/bin/perl

# HTTPS: listen ... ssl with RSA, ECDSA and both certificates, SNI across
# server blocks, ssl_protocols, client certificates (on and optional),
# $ssl_protocol / $ssl_cipher / $ssl_client_s_dn / $ssl_server_name, the
# session cache, the default protocols, plain HTTP sent to a TLS port.
# Certificates are made at test time with openssl.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_http_module', 'hm_http_core_module',
    'hm_http_ssl_module');
$t->skip_unless_program('curl', 'openssl');

my $d = $t->testdir();

sub openssl {
    my (@args) = @_;
    my ($rc, $out) = $t->run_cmd(['openssl', @args], timeout => 60);
    die "openssl @args: $out\n" unless defined $rc && $rc == 0;
    return $out;
}

# a CA, a client certificate it signs, a client certificate it does not

openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', "$d/ca.key", '-out', "$d/ca.crt", '-days', '2',
    '-subj', '/CN=Hermod Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');

openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$d/client.key",
    '-out', "$d/client.csr", '-subj', '/O=Hermod Test/CN=client one');

openssl('x509', '-req', '-in', "$d/client.csr", '-CA', "$d/ca.crt",
    '-CAkey', "$d/ca.key", '-CAcreateserial', '-out', "$d/client.crt",
    '-days', '2');

openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', "$d/rogue.key", '-out', "$d/rogue.crt", '-days', '2',
    '-subj', '/CN=rogue client');

# server certificates: RSA and ECDSA for the first name, RSA for a second

openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', "$d/rsa.key", '-out', "$d/rsa.crt", '-days', '2',
    '-subj', '/CN=rsa.test');

openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', "$d/ec.key", '-out', "$d/ec.crt", '-days', '2',
    '-subj', '/CN=ecdsa.test');

openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', "$d/second.key", '-out', "$d/second.crt", '-days', '2',
    '-subj', '/CN=second.test');

$t->write_file_expand('hermod.conf', <<'EOF');

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}

http {
    access_log %%TESTDIR%%/logs/access.log;

    server {
        listen 127.0.0.1:%%PORT_8443%% ssl default_server;
        server_name rsa.test;

        ssl_certificate %%TESTDIR%%/rsa.crt;
        ssl_certificate_key %%TESTDIR%%/rsa.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate %%TESTDIR%%/ec.crt;
        ssl_certificate_key %%TESTDIR%%/ec.key;

        location / {
            return 200 "first|$scheme|$ssl_protocol|$ssl_cipher|$ssl_server_name|$server_port";
        }

        location = /redirect {
            return 301 /target;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_8443%% ssl;
        server_name second.test;

        ssl_certificate %%TESTDIR%%/second.crt;
        ssl_certificate_key %%TESTDIR%%/second.key;
        ssl_protocols TLSv1.2 TLSv1.3;

        location / {
            return 200 "second|$ssl_server_name";
        }
    }

    server {
        listen 127.0.0.1:%%PORT_8444%% ssl;
        server_name tls13.test;

        ssl_protocols TLSv1.3;
        ssl_certificate %%TESTDIR%%/rsa.crt;
        ssl_certificate_key %%TESTDIR%%/rsa.key;

        return 200 "tls13|$ssl_protocol";
    }

    server {
        listen 127.0.0.1:%%PORT_8445%% ssl;
        server_name mtls.test;

        ssl_certificate %%TESTDIR%%/rsa.crt;
        ssl_certificate_key %%TESTDIR%%/rsa.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_client_certificate %%TESTDIR%%/ca.crt;
        ssl_verify_client on;

        return 200 "$ssl_client_s_dn";
    }

    server {
        listen 127.0.0.1:%%PORT_8446%% ssl;
        server_name optional.test;

        ssl_certificate %%TESTDIR%%/rsa.crt;
        ssl_certificate_key %%TESTDIR%%/rsa.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_client_certificate %%TESTDIR%%/ca.crt;
        ssl_verify_client optional;

        return 200 "dn=$ssl_client_s_dn verify=$ssl_client_verify";
    }

    server {
        listen 127.0.0.1:%%PORT_8447%% ssl;
        server_name cache.test;

        ssl_certificate %%TESTDIR%%/rsa.crt;
        ssl_certificate_key %%TESTDIR%%/rsa.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache builtin:1000;
        ssl_session_tickets off;
        ssl_session_timeout 5m;

        return 200 "cache";
    }
}
EOF

eval { $t->run() };

unless (ok(!$@, 'hermod starts with "listen ... ssl"')) {
    diag($@);
    $t->done_testing();
    exit;
}

my ($p1, $p13, $pm, $po, $pc) = map { $t->port($_) }
    (8443, 8444, 8445, 8446, 8447);

my @workers = $t->worker_pids();

###############################################################################

# curl: returns (exit code, body, stderr)

sub curl {
    my (@args) = @_;
    return $t->run_cmd(['curl', '-sS', '-k', '--max-time', '10', @args],
        timeout => 20, split => 1);
}

# openssl s_client: returns (exit code, output)

sub s_client {
    my ($port, @args) = @_;
    return $t->run_cmd(['openssl', 's_client', '-connect', "127.0.0.1:$port",
        @args], timeout => 20);
}

sub subject_cn {
    my ($out) = @_;
    return $out =~ /^subject=.*?CN\s*=\s*([^,\n\/]+)/m ? $1 : '';
}

###############################################################################

# RSA, curl -k, the variables

my ($rc, $body, $err) = curl("https://127.0.0.1:$p1/");
is($rc, 0, 'curl -k: exit code') or diag($err);

my @f = split /\|/, $body // '';
is($f[0], 'first', 'curl -k: served by the default server');
is($f[1], 'https', '$scheme https');
is($f[2], 'TLSv1.3', '$ssl_protocol TLSv1.3');
like($f[3], qr/^TLS_(AES_\d+_GCM_SHA\d+|CHACHA20_POLY1305_SHA256)$/,
    '$ssl_cipher TLSv1.3 suite');
is($f[4] // '', '', '$ssl_server_name empty without SNI');
is($f[5], $p1, '$server_port');

($rc, $body) = curl('--tls-max', '1.2', "https://127.0.0.1:$p1/");
@f = split /\|/, $body // '';
is($f[2], 'TLSv1.2', 'TLS 1.2: $ssl_protocol');
like($f[3], qr/^ECDHE-(RSA|ECDSA)-[A-Z0-9-]+$/, 'TLS 1.2: $ssl_cipher');

($rc, $body) = curl('-D', '-', "https://127.0.0.1:$p1/redirect");
like($body, qr{^Location: https://127\.0\.0\.1:$p1/target\r$}m,
    'redirect over TLS: https in Location');

# SNI picks the server block and its certificate

my ($src, $out) = s_client($p1, '-servername', 'second.test');
is($src, 0, 'SNI second.test: handshake');
is(subject_cn($out), 'second.test', 'SNI second.test: its certificate');

# the first server has an RSA and an ECDSA certificate: either is its own

($src, $out) = s_client($p1, '-servername', 'rsa.test');
like(subject_cn($out), qr/^(rsa|ecdsa)\.test$/,
    'SNI rsa.test: a certificate of its server');

($src, $out) = s_client($p1, '-servername', 'rsa.test', '-sigalgs',
    'rsa_pss_rsae_sha256:RSA+SHA256');
is(subject_cn($out), 'rsa.test', 'SNI rsa.test, RSA signatures: RSA certificate');

($src, $out) = s_client($p1, '-servername', 'unknown.test');
like(subject_cn($out), qr/^(rsa|ecdsa)\.test$/,
    'SNI unknown: the default server certificate');

($src, $out) = s_client($p1);
like(subject_cn($out), qr/^(rsa|ecdsa)\.test$/,
    'no SNI: the default server certificate');

($rc, $body) = curl('--resolve', "second.test:$p1:127.0.0.1",
    "https://second.test:$p1/");
is($body, 'second|second.test', 'SNI: request served by the SNI server');

# RSA and ECDSA in one server: the client's cipher choice picks one

($src, $out) = s_client($p1, '-tls1_2', '-cipher',
    'ECDHE-ECDSA-AES128-GCM-SHA256', '-servername', 'rsa.test');
is($src, 0, 'ECDSA cipher: handshake');
is(subject_cn($out), 'ecdsa.test', 'ECDSA cipher: the ECDSA certificate');

($src, $out) = s_client($p1, '-tls1_2', '-cipher',
    'ECDHE-RSA-AES128-GCM-SHA256', '-servername', 'rsa.test');
is(subject_cn($out), 'rsa.test', 'RSA cipher: the RSA certificate');

($rc, $body, $err) = curl('-v', '--tls-max', '1.2', '--ciphers',
    'ECDHE-ECDSA-AES128-GCM-SHA256', "https://127.0.0.1:$p1/");
is($rc, 0, 'curl ECDSA: exit code');
like($err, qr/subject: CN\s*=\s*ecdsa\.test/, 'curl ECDSA: ECDSA certificate');
like($body, qr/\|ECDHE-ECDSA-AES128-GCM-SHA256\|/, 'curl ECDSA: $ssl_cipher');

# ssl_protocols TLSv1.3

($src, $out) = s_client($p13, '-tls1_2');
isnt($src, 0, 'TLSv1.3 only: TLS 1.2 handshake fails');
unlike($out, qr/^New, TLSv1\.2/m, 'TLSv1.3 only: no TLS 1.2 session');

($src, $out) = s_client($p13, '-tls1_3');
is($src, 0, 'TLSv1.3 only: TLS 1.3 handshake');
like($out, qr/^New, TLSv1\.3, Cipher is /m, 'TLSv1.3 only: TLS 1.3 session');

($rc, $body) = curl("https://127.0.0.1:$p13/");
is($body, 'tls13|TLSv1.3', 'TLSv1.3 only: served');

($rc) = curl('--tls-max', '1.2', "https://127.0.0.1:$p13/");
isnt($rc, 0, 'TLSv1.3 only: curl --tls-max 1.2 fails');

# ssl_verify_client on

($rc, $body, $err) = curl('-o', '/dev/null', '-w', '%{http_code}',
    "https://127.0.0.1:$pm/");
ok($rc != 0 || $body =~ /^4\d\d$/,
    "verify on, no client certificate: refused (rc $rc, status $body)");

($rc, $body, $err) = curl('--cert', "$d/client.crt", '--key', "$d/client.key",
    "https://127.0.0.1:$pm/");
is($rc, 0, 'verify on, client certificate: exit code') or diag($err);
is($body, 'CN=client one,O=Hermod Test', 'verify on: $ssl_client_s_dn');

($rc, $body, $err) = curl('-o', '/dev/null', '-w', '%{http_code}',
    '--cert', "$d/rogue.crt", '--key', "$d/rogue.key",
    "https://127.0.0.1:$pm/");
ok($rc != 0 || $body =~ /^4\d\d$/,
    "verify on, untrusted certificate: refused (rc $rc, status $body)");

# ssl_verify_client optional

($rc, $body) = curl("https://127.0.0.1:$po/");
is($body, 'dn= verify=NONE', 'verify optional, no certificate: served');

($rc, $body) = curl('--cert', "$d/client.crt", '--key', "$d/client.key",
    "https://127.0.0.1:$po/");
is($body, 'dn=CN=client one,O=Hermod Test verify=SUCCESS',
    'verify optional, certificate: DN and SUCCESS');

($rc, $body) = curl('-o', '/dev/null', '-w', '%{http_code}',
    '--cert', "$d/rogue.crt", '--key', "$d/rogue.key",
    "https://127.0.0.1:$po/");
is($body, '400', 'verify optional, untrusted certificate: 400 as in nginx');

# the session cache: a TLS 1.2 session is resumed

my $sess = "$d/session.pem";

($src, $out) = s_client($pc, '-tls1_2', '-sess_out', $sess);
is($src, 0, 'session cache: first handshake');
like($out, qr/^New, TLSv1\.2/m, 'session cache: a new session');

($src, $out) = s_client($pc, '-tls1_2', '-sess_in', $sess);
like($out, qr/^Reused, TLSv1\.2/m, 'session cache: the session is reused');

# plain HTTP to a TLS port: no crash; nginx answers 400

my $plain = $t->tcp_request($p1, "GET / HTTP/1.1\r\nHost: rsa.test\r\n"
    . "Connection: close\r\n\r\n", timeout => 5) // '';
like($plain, qr{^HTTP/1\.[01] 400 }, 'plain HTTP to the TLS port: 400')
    or diag(substr($plain, 0, 100));

($rc, $body) = curl("https://127.0.0.1:$p1/");
like($body, qr/^first\|/, 'TLS still served after plain HTTP');

# garbage before a handshake

$t->tcp_request($p1, "\x16\x03\x01\x00\x05hello" . ("\0" x 100), timeout => 3);

($rc, $body) = curl("https://127.0.0.1:$p1/");
like($body, qr/^first\|/, 'TLS still served after a broken handshake');

is(join(',', $t->worker_pids()), join(',', @workers),
    'the worker pid is unchanged');

$t->stop();

###############################################################################

# no ssl_protocols: the default (TLSv1.2 TLSv1.3, as nginx) works

my $td = Test::Hermod->new();

$td->write_file_expand('hermod.conf', <<"EOF");

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 16;
}

http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_8448%% ssl;
        server_name localhost;

        ssl_certificate $d/rsa.crt;
        ssl_certificate_key $d/rsa.key;

        return 200 "\$ssl_protocol";
    }
}
EOF

eval { $td->run() };
ok(!$@, 'default ssl_protocols: hermod starts') or diag($@);

SKIP: {
    skip 'hermod did not start', 2 if $@;

    my $pd = $td->port(8448);

    ($rc, $body) = $td->run_cmd(['curl', '-sS', '-k', '--max-time', '10',
        "https://127.0.0.1:$pd/"], timeout => 20, split => 1);
    is($body, 'TLSv1.3', 'default ssl_protocols: TLS 1.3');

    ($rc, $body) = $td->run_cmd(['curl', '-sS', '-k', '--max-time', '10',
        '--tls-max', '1.2', "https://127.0.0.1:$pd/"],
        timeout => 20, split => 1);
    is($body, 'TLSv1.2', 'default ssl_protocols: TLS 1.2');
}

$td->stop();

# ssl_protocols at the http level is inherited by the servers

my $ti = Test::Hermod->new();

$ti->write_file_expand('hermod.conf', <<"EOF");

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 16;
}

http {
    access_log off;

    ssl_protocols TLSv1.2;

    server {
        listen 127.0.0.1:%%PORT_8449%% ssl;
        server_name localhost;

        ssl_certificate $d/rsa.crt;
        ssl_certificate_key $d/rsa.key;

        return 200 "\$ssl_protocol";
    }
}
EOF

eval { $ti->run() };
ok(!$@, 'ssl_protocols at http level: hermod starts') or diag($@);

SKIP: {
    skip 'hermod did not start', 1 if $@;

    my $pi = $ti->port(8449);

    ($rc, $body) = $ti->run_cmd(['curl', '-sS', '-k', '--max-time', '10',
        "https://127.0.0.1:$pi/"], timeout => 20, split => 1);
    is($body, 'TLSv1.2', 'ssl_protocols at http level: inherited');
}

$ti->done_testing();

###############################################################################
