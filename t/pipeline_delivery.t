#!/usr/bin/perl

# Delivery through the HTTP webhook outbound to an origin the test
# controls: the answer only after the origin answered, retries counted at
# the origin, the dead letter after the last attempt, non-retryable 4xx,
# the per-try timeout, backpressure with the origin stopped (a bound on
# messages in flight, flat memory, and everything arrives once it is
# back), the 503 of "pipeline_full reject", and a reload under load that
# loses no message.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module', 'hm_http_webhook_module');
$t->skip_unless_program('curl');

my $dir = $t->testdir();
my $olog = "$dir/origin.log";
my $oport = $t->port(8091);

# -- the origin: a forking HTTP/1.1 server in its own process group ----------
#
# /ok: 200; /flaky/N: 503 for the first N attempts of a message (by its
# X-Request-Id), then 200; /status/CODE; /slow/MS: answers after MS ms.
# Every request is logged as "ID PATH LENGTH BODY".

my $origin = fork();
die "fork: $!" unless defined $origin;

if ($origin == 0) {
    setpgrp(0, 0);
    origin($oport, $olog);
    POSIX::_exit(0);
}

END { kill 'KILL', -$origin if $origin; }

ok($t->wait_port($oport, 5), 'origin up');

$t->write_file_expand('hermod.conf', <<"EOF");

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
worker_shutdown_timeout 20s;

events {
    worker_connections 1024;
}

pipeline ok { output ok; }
outbound ok http { url http://127.0.0.1:$oport/ok; }

pipeline flaky {
    retry attempts=5 backoff=10ms..50ms retry_on=5xx;
    output flaky;
}
outbound flaky http { url http://127.0.0.1:$oport/flaky/2; }

pipeline failing {
    retry attempts=3 backoff=10ms..20ms;
    output failing;
    dead_letter dl;
}
outbound failing http { url http://127.0.0.1:$oport/status/500; }

pipeline refused {
    retry attempts=3 backoff=10ms;
    output refused;
    dead_letter dl;
}
outbound refused http { url http://127.0.0.1:$oport/status/404; }

pipeline slow { output slow; }
outbound slow http { url http://127.0.0.1:$oport/slow/700; }

pipeline impatient {
    retry attempts=2 backoff=10ms timeout=300ms;
    output slower;
}
outbound slower http { url http://127.0.0.1:$oport/slow/3000; }

pipeline bp {
    max_in_flight 4;
    output bp;
}
outbound bp http { url http://127.0.0.1:$oport/bp; }

pipeline reload { output reload; }
outbound reload http { url http://127.0.0.1:$oport/slow/100; }

outbound dl file { path %%TESTDIR%%/dl.jsonl; }

http {
    access_log off;
    client_max_body_size 1m;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location /ok { pipeline ok; }
        location /flaky { pipeline flaky; }
        location /failing { pipeline failing; }
        location /refused { pipeline refused; }
        location /slow { pipeline slow; }
        location /impatient { pipeline impatient; }
        location /bp { pipeline bp; }
        location /bp-reject { pipeline bp; pipeline_full reject;
                              pipeline_retry_after 7s; }
        location /reload { pipeline reload; }
        location = /metrics { status; }
    }
}
EOF

$t->run();

my $port = $t->port(8080);
my $n = 0;

sub post {
    my ($path, $body, @headers) = @_;

    my $out = "$dir/cmd/post." . ++$n;

    my ($rc, $code) = $t->run_cmd(['curl', '-sS', '-o', $out, '-w',
        '%{http_code}', '--max-time', '30', '--data-binary', $body,
        (map { ('-H', $_) } @headers),
        "http://127.0.0.1:$port$path"]);

    my $text = $t->read_file($out) // '';
    return ($code, (eval { decode_json($text) } // {}), $text);
}

sub origin_log {
    my $text = $t->read_file($olog) // '';
    return map { [ split / /, $_, 4 ] } grep { length } split /\n/, $text;
}

sub attempts {
    my ($id) = @_;
    return scalar grep { $_->[0] eq $id } origin_log();
}

# -- delivery -----------------------------------------------------------------

my ($code, $r) = post('/ok', '{"x":1}', 'Content-Type: application/json');
is($code, 202, 'delivered: 202');
is($r->{outcome}, 'delivered', 'delivered: outcome');

my @seen = grep { $_->[0] eq $r->{id} } origin_log();
is(scalar @seen, 1, 'the origin got it once, with the message id');
is($seen[0][1], '/ok', 'the origin: path');
is($seen[0][3], '{"x":1}', 'the origin: body');

# -- retries counted at the origin -------------------------------------------

($code, $r) = post('/flaky', 'f');
is($code, 202, 'flaky origin: delivered in the end');
is(attempts($r->{id}), 3, 'flaky origin: two failures and a success');

($code, $r) = post('/failing', '{"n":2}', 'Content-Type: application/json');
is($code, 202, 'failing origin: dead-lettered is safe: 202');
is($r->{outcome}, 'dead_lettered', 'failing origin: outcome');
is(attempts($r->{id}), 3, 'failing origin: attempts=3 reached the origin');

my @dl = map { decode_json($_) } grep { length }
         split /\n/, ($t->read_file("$dir/dl.jsonl") // '');
is(scalar @dl, 1, 'dead letter: one record');
is($dl[0]{headers}{'x-hermod-attempts'}, '3', 'dead letter: attempts');
like($dl[0]{headers}{'x-hermod-error'}, qr/500/, 'dead letter: the status');
is($dl[0]{headers}{'x-hermod-outbound'}, 'failing', 'dead letter: outbound');

($code, $r) = post('/refused', 'r');
is(attempts($r->{id}), 1, '404: not retried (not in retry_on)');
is($r->{outcome}, 'dead_lettered', '404: dead-lettered');

# -- the answer waits for the origin -----------------------------------------

my $start = time();
($code, $r) = post('/slow', 's');
my $took = time() - $start;
is($code, 202, 'slow origin: 202');
cmp_ok($took, '>=', 0.65, 'slow origin: not before the origin answered');

$start = time();
($code, $r) = post('/impatient', 'i');
$took = time() - $start;
is($code, 504, 'per-try timeout: 504');
like($r->{error}, qr/did not answer in 300ms/, 'per-try timeout: why');
is(attempts($r->{id}), 2, 'per-try timeout: both attempts reached the origin');
cmp_ok($took, '<', 2.5, 'per-try timeout: not the origin\'s 3 s');

# -- backpressure: the origin stopped ----------------------------------------

my ($worker) = $t->worker_pids();
my $rss0 = rss($worker);

kill 'STOP', -$origin;

my @clients;
my $body = '{"pad":"' . ('x' x 1000) . '"}';

for my $i (1 .. 100) {
    push @clients, spawn_post('/bp', $body, "$dir/bp.$i");
}

ok($t->wait_for(sub { metric('hermod_pipeline_in_flight{pipeline="bp"}')
                      == 4 }, 10),
    'origin stopped: 4 messages in flight (max_in_flight)');

($code, $r) = post('/bp-reject', 'rejected');
is($code, 503, 'full: reject answers 503');
is($t->read_file("$dir/cmd/post.$n") =~ /full/ ? 1 : 0, 1,
    'full: the reason');

my $rss1 = rss($worker);
cmp_ok($rss1 - $rss0, '<', 16 * 1024,
    "origin stopped: worker RSS grew by less than 16 MiB"
    . " ($rss0 -> $rss1 kB)");

is(metric('hermod_pipeline_in_flight{pipeline="bp"}'), 4,
    'origin stopped: still 4 in flight with 100 clients waiting');

kill 'CONT', -$origin;

my $ok = 0;

for my $c (@clients) {
    waitpid($c->{pid}, 0);
    $ok++ if ($t->read_file("$c->{out}.code") // '') eq '202';
}

is($ok, 100, 'origin back: every waiting request delivered, 202');
is(scalar(grep { $_->[1] eq '/bp' } origin_log()), 100,
    'origin back: the origin has all 100');

# -- reload under load --------------------------------------------------------

@clients = ();

for my $i (1 .. 60) {
    push @clients, spawn_post('/reload', "{\"i\":$i}", "$dir/rl.$i");
    if ($i == 30) {
        $t->signal('HUP');
    }
    sleep(0.02);
}

my (%answered, $errors);

for my $c (@clients) {
    waitpid($c->{pid}, 0);
    my $code = $t->read_file("$c->{out}.code") // '';

    if ($code eq '202') {
        my $j = eval { decode_json($t->read_file($c->{out})) };
        $answered{$j->{id}} = 1 if $j;
    } else {
        $errors++;
    }
}

my %arrived = map { $_->[0] => 1 } grep { $_->[1] eq '/slow/100' }
              origin_log();
my @lost = grep { !$arrived{$_} } keys %answered;

is(scalar(keys %answered) + ($errors // 0), 60,
    'reload: every request answered');
is(scalar @lost, 0, 'reload: every 202 reached the origin');
is($errors // 0, 0, 'reload: no request failed');

$t->stop();

done_testing();

###############################################################################

sub metric {
    my ($name) = @_;
    my ($rc, $out) = $t->run_cmd(['curl', '-sS',
        "http://127.0.0.1:$port/metrics"]);
    return $out =~ /^\Q$name\E (\S+)$/m ? $1 : -1;
}

sub rss {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/status" or return 0;
    while (<$f>) { return $1 if /^VmRSS:\s+(\d+)/; }
    return 0;
}

sub spawn_post {
    my ($path, $body, $out) = @_;

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDOUT, '>', "$out.code";
        open STDERR, '>', '/dev/null';
        exec('curl', '-sS', '-o', $out, '-w', '%{http_code}', '--max-time',
             '60', '--data-binary', $body, "http://127.0.0.1:$port$path")
            or POSIX::_exit(127);
    }

    return { pid => $pid, out => $out };
}

sub origin {
    my ($port, $log) = @_;

    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
        LocalPort => $port, Listen => 256, ReuseAddr => 1)
        or die "origin: $!";

    $SIG{CHLD} = 'IGNORE';

    while (1) {
        my $c = $srv->accept() or next;
        my $pid = fork();

        if (defined $pid && $pid == 0) {
            close $srv;
            serve($c, $log);
            POSIX::_exit(0);
        }

        close $c;
    }
}

sub serve {
    my ($c, $log) = @_;

    my $buf = '';

    while (1) {
        while ($buf !~ /\r\n\r\n/) {
            my $n = sysread($c, $buf, 65536, length $buf);
            return unless $n;
        }

        $buf =~ s/^(.*?)\r\n\r\n//s;
        my ($line, @h) = split /\r\n/, $1;
        my ($method, $path) = split / /, $line;
        my %h = map { my ($k, $v) = split /:\s*/, $_, 2; (lc $k => $v) } @h;

        my $len = $h{'content-length'} // 0;

        while (length $buf < $len) {
            my $n = sysread($c, $buf, 65536, length $buf);
            return unless $n;
        }

        my $body = substr($buf, 0, $len, '');
        my $id = $h{'x-request-id'} // '-';

        open my $f, '>>', $log;
        syswrite $f, "$id $path $len $body\n";
        close $f;

        my $status = 200;

        if ($path =~ m{^/flaky/(\d+)}) {
            my $seen = 0;
            open my $l, '<', $log;
            while (<$l>) { $seen++ if /^\Q$id\E /; }
            close $l;
            $status = $seen > $1 ? 200 : 503;

        } elsif ($path =~ m{^/status/(\d+)}) {
            $status = $1;

        } elsif ($path =~ m{^/slow/(\d+)}) {
            sleep($1 / 1000);
        }

        my $out = "status $status\n";
        syswrite $c, "HTTP/1.1 $status X\r\nContent-Type: text/plain\r\n"
            . "Content-Length: " . length($out) . "\r\n\r\n$out";

        return if lc($h{connection} // '') eq 'close';
    }
}
