#!/usr/bin/perl

# The AMQP connection against a broker that misbehaves: a hand-written
# peer (this test) answers the protocol header with garbage of each kind.
# Each time hermod logs a clear reason, drops the connection, connects
# again later, and the worker keeps serving HTTP; messages sent meanwhile
# fail with that reason (502), none is reported delivered.
#
# - another protocol version in answer to the protocol header
# - a frame without its end marker
# - a frame larger than any frame_max
# - a frame of an unknown type
# - a method frame too short to hold its method
# - a connection.start that cannot be decoded (truncated arguments)
# - a content header before any method (unexpected)
# - silence: no answer to the protocol header (connect_timeout)

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(time sleep);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::RabbitMQ;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module');

my $load = Test::RabbitMQ::load_module($t);

my $hport = $t->port(8080);

# the cases: name => (bytes sent after the client's protocol header,
# the reason expected in the log)

sub frame {
    my ($type, $ch, $payload, $end) = @_;
    return pack('CnN', $type, $ch, length $payload) . $payload
        . ($end // "\xCE");
}

my @cases = (
    [ version => "AMQP\x00\x00\x09\x00",
      qr/the broker does not speak AMQP 0-9-1 \(it answered with protocol 0-9-0\)/ ],
    [ no_end => frame(1, 0, pack('N', 0x000A000A) . 'xxxx', "\x00"),
      qr/a frame without its end marker/ ],
    [ huge => pack('CnN', 1, 0, 0x7fffffff) . 'x' x 64,
      qr/a frame of 2147483647 bytes, over frame_max/ ],
    [ type => frame(9, 0, 'abc'),
      qr/a frame of unknown type 9/ ],
    [ short => frame(1, 0, 'ab'),
      qr/a method frame of 2 bytes/ ],
    [ truncated => frame(1, 0, pack('N', 0x000A000A) . "\x00\x09\x00\x00\x10"),
      qr/a connection\.start method that cannot be decoded/ ],
    [ header => frame(2, 1, pack('nnNN', 60, 0, 0, 0) . "\x00\x00"),
      qr/an unexpected content header/ ],
    [ silence => undef,
      qr/timed out logging in/ ],
);

my (%port, %pid);

for my $c (@cases) {
    my ($name, $bytes) = @$c;

    my $port = $t->port(9000 + scalar keys %port);
    $port{$name} = $port;

    my $l = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
        LocalPort => $port, ReuseAddr => 1) or die "listen $port: $!\n";

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        # each connection: read the protocol header, answer, hold a while

        while (my $s = $l->accept()) {
            my $hdr = '';
            my $sel = IO::Select->new($s);

            while (length $hdr < 8 && $sel->can_read(5)) {
                sysread($s, $hdr, 8 - length $hdr, length $hdr) or last;
            }

            syswrite($s, $bytes) if defined $bytes;

            # keep it open until the client goes (or a while)

            my $buf;
            while ($sel->can_read(defined $bytes ? 5 : 30)) {
                sysread($s, $buf, 4096) or last;
            }

            close $s;
        }

        POSIX::_exit(0);
    }

    $pid{$name} = $pid;
    close $l;
}

END { kill 'KILL', values %pid if %pid; }

my $outbounds = join "\n", map {
    my $n = $_->[0];
    "pipeline p_$n { output o_$n; }\n"
    . "outbound o_$n amqp {\n"
    . "    url amqp://127.0.0.1:$port{$n};\n"
    . "    routing_key q;\n"
    . "    connect_timeout 1s;\n"
    . "    reconnect_backoff 200ms 400ms;\n"
    . "}\n"
} @cases;

my $locations = join "\n", map {
    "        location /$_->[0] { pipeline p_$_->[0]; }"
} @cases;

$t->write_file_expand('hermod.conf', <<"EOF");
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 256;
}

$outbounds

http {
    server {
        listen 127.0.0.1:$hport;
$locations
        location /alive { return 200 "alive\\n"; }
    }
}
EOF

$t->run();

my $pid0 = ($t->worker_pids())[0];

for my $c (@cases) {
    my ($name, undef, $re) = @$c;

    ok($t->wait_log(qr/outbound "o_$name": amqp 127\.0\.0\.1:$port{$name}: $re.*; reconnecting in \d+ms/, 10),
        "$name: logged with the reason, reconnecting");
}

# again and again: each is retried with its backoff

for my $c (@cases) {
    my $name = $c->[0];
    my $n = () = $t->error_log() =~ /outbound "o_$name": amqp /g;
    ok($t->wait_for(sub {
        (() = $t->error_log() =~ /outbound "o_$name": amqp /g) > $n }, 10),
        "$name: tried again");
}

for my $c (@cases) {
    my $name = $c->[0];

    my ($rc, $out) = $t->run_cmd(['curl', '-s', '-m', '10', '-w',
        '\n%{http_code}', '-X', 'POST', '-d', 'x',
        "http://127.0.0.1:$hport/$name"]);

    like($out, qr/\n(502)$/, "$name: a message fails (502)");
    unlike($out, qr/delivered/, "$name: never reported delivered");
}

my ($rc, $out) = $t->run_cmd(['curl', '-s', "http://127.0.0.1:$hport/alive"]);
is($out, "alive\n", 'the worker still serves');
is(($t->worker_pids())[0], $pid0, 'the same worker: no crash');

$t->stop();

done_testing();
