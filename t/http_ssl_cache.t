#!/usr/bin/perl

# ssl_session_cache shared:NAME:SIZE: a TLS 1.2 session made on one worker
# is resumed on every worker (tickets off, so only the cache can resume).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();
$t->skip_unless_program('openssl');

my $d = $t->testdir();

my ($rc, $out) = $t->run_cmd(['openssl', 'req', '-x509', '-newkey',
    'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=cache.test',
    '-keyout', "$d/c.key", '-out', "$d/c.crt"], timeout => 60);
plan(skip_all => "openssl req failed: $out") if $rc != 0;

$t->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 2;
events { worker_connections 256; }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_8443%% ssl reuseport;
        ssl_certificate %%TESTDIR%%/c.crt;
        ssl_certificate_key %%TESTDIR%%/c.key;
        ssl_session_cache shared:TEST:1m;
        ssl_session_tickets off;
        return 200 "ok";
    }
    server {
        listen 127.0.0.1:%%PORT_8444%% ssl;
        ssl_certificate %%TESTDIR%%/c.crt;
        ssl_certificate_key %%TESTDIR%%/c.key;
        ssl_session_cache off;
        ssl_session_tickets off;
        return 200 "ok";
    }
}
EOF

$t->run();

my $port = $t->port(8443);
my $sess = "$d/sess.pem";

sub s_client {
    my ($p, @args) = @_;
    my ($rc, $out) = $t->run_cmd(['sh', '-c',
        "echo | openssl s_client -connect 127.0.0.1:$p -tls1_2 "
        . join(' ', @args) . ' 2>&1'], timeout => 20);
    return $out;
}

like(s_client($port, '-sess_out', $sess), qr/^New, TLSv1\.2/m,
     'a new TLS 1.2 session');

# with SO_REUSEPORT the kernel spreads the connections over both workers

my $reused = 0;
for (1 .. 12) {
    $reused++ if s_client($port, '-sess_in', $sess) =~ /^Reused, /m;
}
is($reused, 12, 'resumed on every connection, whichever worker');

like(s_client($t->port(8444), '-sess_out', $sess), qr/^New, /m,
     'cache off: a new session');
unlike(s_client($t->port(8444), '-sess_in', $sess), qr/^Reused, /m,
       'cache off: nothing is resumed');

# a reload keeps serving and makes a new cache

$t->signal('HUP');
ok($t->wait_log(qr/reconfiguring/, 5), 'reloaded');
like(s_client($port), qr/^New, TLSv1\.2/m, 'served after the reload');

$t->stop();
done_testing();
