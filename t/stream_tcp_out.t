#!/usr/bin/perl

# Framed messages to a TCP peer ("outbound NAME tcp"), fed by the HTTP
# inbound so that each outcome is visible as a status:
#
# - line framing, delivered when written: the peer (socat) gets each
#   message as a line, over one persistent connection;
# - length_prefix framing with "ack on" against a peer that answers each
#   frame: 202 only after the answer, answers in order for many messages;
# - a peer that never answers: the message fails after ack_timeout (504);
# - no peer: 502 "cannot connect", and the worker keeps serving;
# - the peer closes the connection: the next message reconnects.

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

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_stream_tcp_out_module');
$t->skip_unless_program('socat', 'curl');

my $d = $t->testdir();
my %port = map { ($_ => $t->port("tout.$_")) }
    qw(http lines acker silent none);
$port{acker_http} = $port{http};

# the acknowledging peer: answers each 4-byte length-prefixed frame with a
# frame "ok:<body>"; counts its connections in a file

my $acker = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
    LocalPort => $port{acker}, ReuseAddr => 1) or die "listen: $!\n";
my $silent = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
    LocalPort => $port{silent}, ReuseAddr => 1) or die "listen: $!\n";

my $apid = fork() // die "fork: $!\n";

if ($apid == 0) {
    my $n = 0;
    while (my $s = $acker->accept()) {
        $n++;
        open my $fh, '>', "$d/acker.conns"; print $fh "$n\n"; close $fh;
        my $buf = '';
        my $sel = IO::Select->new($s);
        while ($sel->can_read(30)) {
            sysread($s, $buf, 65536, length $buf) or last;
            while (length $buf >= 4 && length $buf >= 4 + unpack('N', $buf)) {
                my $len = unpack('N', $buf);
                my $body = substr($buf, 4, $len);
                substr($buf, 0, 4 + $len) = '';
                syswrite($s, pack('N', 3 + $len) . "ok:$body");
                if ($body eq 'close me') {
                    close $s;
                    last;
                }
            }
        }
    }
    POSIX::_exit(0);
}

close $acker;
END { kill 'KILL', $apid if $apid; }

# the lines peer: socat writing what it gets to a file

my $spid = fork() // die "fork: $!\n";

if ($spid == 0) {
    open STDOUT, '>', "$d/lines.txt" or POSIX::_exit(1);
    exec('socat', '-u',
         "TCP-LISTEN:$port{lines},bind=127.0.0.1,reuseaddr,fork", '-')
        or POSIX::_exit(1);
}

END { kill 'TERM', $spid if $spid; }

ok($t->wait_port($port{lines}, 5), 'socat listens');

$t->write_file_expand('hermod.conf', <<"EOF");
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
worker_shutdown_timeout 2s;

events {
    worker_connections 256;
}

pipeline lines { output lines; }
outbound lines tcp { server 127.0.0.1:$port{lines}; framing line; }

pipeline acked { output acked; }
outbound acked tcp {
    server 127.0.0.1:$port{acker};
    framing length_prefix 4;
    ack on;
}

pipeline silent {
    retry attempts=1 timeout=30s;
    output silent;
}
outbound silent tcp {
    server 127.0.0.1:$port{silent};
    framing line;
    ack on;
    ack_timeout 500ms;
}

pipeline none { output none; }
outbound none tcp { server 127.0.0.1:$port{none}; }

http {
    server {
        listen 127.0.0.1:$port{http};
        location /lines { pipeline lines; }
        location /acked { pipeline acked; }
        location /silent { pipeline silent; }
        location /none { pipeline none; }
        location /alive { return 200 "alive\\n"; }
    }
}
EOF

$t->run();

sub post {
    my ($path, $body) = @_;
    my ($rc, $out) = $t->run_cmd(['curl', '-s', '-m', '20', '-w',
        '\n%{http_code}', '-X', 'POST', '--data-binary', $body,
        "http://127.0.0.1:$port{http}$path"]);
    my ($text, $code) = ($out // '') =~ /^(.*)\n(\d+)$/s;
    return ($code // 0, $text // '');
}

# lines, delivered when written

my $ok = 0;
for my $i (1 .. 20) {
    my ($code) = post('/lines', "line $i");
    $ok++ if $code == 202;
}
is($ok, 20, 'line framing: 20 times 202');
ok($t->wait_for(sub { (() = ($t->read_file("$d/lines.txt") // '') =~ /\n/g) >= 20 }, 10),
    'the peer got them');
is($t->read_file("$d/lines.txt"), join('', map { "line $_\n" } 1 .. 20),
    'each a line, in order');

# acknowledged by the peer

my ($code, $text) = post('/acked', 'first');
is($code, 202, 'ack on: 202 once the peer answered');

$ok = 0;
my @kids;
for my $i (1 .. 30) {
    my $pid = fork() // die;
    if ($pid == 0) {
        # not run_cmd: its output files are per process, not per fork
        my $c = `curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST --data-binary 'many $i' http://127.0.0.1:$port{acker_http}/acked`;
        POSIX::_exit($c eq '202' ? 0 : 1);
    }
    push @kids, $pid;
}
for my $pid (@kids) {
    waitpid($pid, 0);
    $ok++ if $? == 0;
}
is($ok, 30, '30 concurrent messages, each answered');
is($t->read_file("$d/acker.conns"), "1\n", 'over one connection');

# the peer closes: the next message connects again

($code) = post('/acked', 'close me');
is($code, 202, 'the answer before the peer closed');
($code) = post('/acked', 'after');
is($code, 202, 'the next message connects again');
is($t->read_file("$d/acker.conns"), "2\n", 'a second connection');

# a silent peer: no answer within ack_timeout

my $start = time();
($code, $text) = post('/silent', 'hello?');
is($code, 504, 'no answer: 504');
like($text, qr/no answer in time/, 'the reason');
cmp_ok(time() - $start, '<', 10, 'after ack_timeout, not the retry timeout');

# no peer

($code, $text) = post('/none', 'x');
is($code, 502, 'no peer: 502');
like($text, qr/cannot connect/, 'the reason');

my ($rc, $out) = $t->run_cmd(['curl', '-s',
    "http://127.0.0.1:$port{http}/alive"]);
is($out, "alive\n", 'the worker still serves');

$t->stop();

done_testing();
