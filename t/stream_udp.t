#!/usr/bin/perl

# Messages over UDP, with socat as the independent peer, on loopback only:
#
# - UDP -> file over 2 workers (a socket each, SO_REUSEPORT): every
#   datagram a message, binary and empty ones too, with $remote_addr and
#   $remote_port of the sender; a datagram over max_datagram is dropped
#   and logged.
# - $remote_addr / $remote_port of TCP messages, and the HTTP ones still
#   the HTTP request's (one name, a variable per context kind).
# - UDP outbound: unicast to a socat receiver; multicast (TTL 1, out of
#   the loopback interface) to a socat member of the group; multicast
#   received by a hermod member of a group that socat sends to.
# - Configuration errors name FILE:LINE.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_stream_udp_module');
$t->skip_unless_program('socat', 'curl');

my $d = $t->testdir();
my %port = map { ($_ => $t->port("udp.$_")) }
    qw(in tcp http fwd recv mcin mcsend mcfwd mcrecv);

my $G_IN = '239.255.42.1';
my $G_OUT = '239.255.42.2';

$t->write_file_expand('hermod.conf', <<"EOF");
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 2;

events {
    worker_connections 256;
}

pipeline p {
    transform { header_set x-from "\$remote_addr:\$remote_port"; }
    output f;
}

outbound f file { path %%TESTDIR%%/in-\$pid.jsonl; }

inbound u udp {
    listen 127.0.0.1:$port{in};
    max_datagram 1000;
    pipeline p;
}

inbound t tcp { listen 127.0.0.1:$port{tcp}; pipeline p; }

pipeline fwd { output send; }
outbound send udp { target 127.0.0.1:$port{recv}; }
inbound tf tcp { listen 127.0.0.1:$port{fwd}; pipeline fwd; }

inbound mc udp {
    listen $G_IN:$port{mcin};
    multicast_group $G_IN 127.0.0.1;
    pipeline p;
}

pipeline mcfwd { output mcsend; }
outbound mcsend udp {
    target $G_OUT:$port{mcrecv};
    multicast_ttl 1;
    multicast_loop on;
    multicast_interface 127.0.0.1;
}
inbound mcf tcp { listen 127.0.0.1:$port{mcfwd}; pipeline mcfwd; }

http {
    server {
        listen 127.0.0.1:$port{http};
        location / { return 200 "http \$remote_addr\\n"; }
    }
}
EOF

$t->run();

sub records {
    my @r;
    for my $f (glob "$d/in-*.jsonl") {
        for my $l (split /\n/, $t->read_file($f) // '') {
            my $j = eval { decode_json($l) } or next;
            push @r, $j;
        }
    }
    return @r;
}

sub body_of {
    my ($j) = @_;
    return ref $j->{body} ? JSON::PP->new->canonical->encode($j->{body})
                          : $j->{body} // '';
}

# UDP -> file: 100 datagrams from perl, one over the limit

my $s = IO::Socket::INET->new(Proto => 'udp',
    PeerAddr => "127.0.0.1:$port{in}") or die "udp: $!\n";
my $myport = $s->sockport();

# the workers bind their UDP sockets after the start: until then a
# datagram is refused by the kernel, so probe until one arrives

ok($t->wait_for(sub {
    $s->send('probe');
    sleep(0.1);
    grep { body_of($_) eq 'probe' } records();
}, 20), 'the UDP inbound receives');

for my $i (1 .. 100) {
    $s->send("d-$i");
    sleep(0.001) if $i % 20 == 0;
}

$s->send('x' x 1500);
$s->send('');

ok($t->wait_for(sub { grep({ body_of($_) =~ /^d-/ } records()) >= 100 }, 10),
    'UDP -> file: 100 datagrams');

my @r = grep { body_of($_) =~ /^d-\d+$/ } records();
my %n;
$n{ body_of($_) }++ for @r;
is(scalar(keys %n), 100, 'each datagram');
is(scalar(grep { $_ > 1 } values %n), 0, 'once');
is(scalar(grep { ($_->{headers}{'x-from'} // '') eq "127.0.0.1:$myport" } @r),
    100, '$remote_addr:$remote_port of the sender');
ok($t->wait_for(sub { grep { ($_->{source} // '') eq 'udp'
    && body_of($_) eq '' } records() }, 5), 'an empty datagram is a message');
ok($t->wait_log(qr/inbound "u": a datagram over max_datagram 1000 dropped/, 5),
    'a datagram over max_datagram is dropped and logged');

# socat as the sender, to both workers' sockets

for my $i (1 .. 20) {
    $t->run_cmd(['sh', '-c', "printf 'socat-$i' | socat -u - UDP-SENDTO:127.0.0.1:$port{in}"], timeout => 10);
}

ok($t->wait_for(sub { grep({ body_of($_) =~ /^socat-/ } records()) >= 20 }, 10),
    'socat datagrams arrive');

# the TCP and HTTP $remote_addr

my ($rc, $out) = $t->run_cmd(['sh', '-c', "printf 'over tcp\\n' | socat -u - TCP:127.0.0.1:$port{tcp}"], timeout => 10);
ok($t->wait_for(sub { grep { body_of($_) eq 'over tcp' } records() }, 10),
    'a TCP message');
my ($tj) = grep { body_of($_) eq 'over tcp' } records();
like($tj->{headers}{'x-from'} // '', qr/^127\.0\.0\.1:\d+$/,
    '$remote_addr:$remote_port of a TCP message');

($rc, $out) = $t->run_cmd(['curl', '-s', "http://127.0.0.1:$port{http}/"]);
is($out, "http 127.0.0.1\n", 'the HTTP $remote_addr is still the request\'s');

# UDP outbound: unicast to socat

sub receiver {
    my ($args) = @_;
    my $file = "$d/recv-" . time() . "-$$.txt";
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        open STDOUT, '>', $file or POSIX::_exit(1);
        exec('timeout', '10', 'socat', '-u', $args, '-') or POSIX::_exit(1);
    }
    return ($pid, $file);
}

my ($rpid, $rfile) = receiver("UDP4-RECV:$port{recv},bind=127.0.0.1");
sleep(0.3);

($rc, $out) = $t->run_cmd(['sh', '-c', "printf 'to socat\\n' | socat -u - TCP:127.0.0.1:$port{fwd}"], timeout => 10);
ok($t->wait_for(sub { ($t->read_file($rfile) // '') eq 'to socat' }, 10),
    'UDP outbound: socat received the datagram');
kill 'TERM', $rpid;
waitpid($rpid, 0);

# multicast out: socat joins the group on the loopback interface

($rpid, $rfile) = receiver("UDP4-RECV:$port{mcrecv},bind=$G_OUT,ip-add-membership=$G_OUT:127.0.0.1");
sleep(0.3);

($rc, $out) = $t->run_cmd(['sh', '-c', "printf 'to the group\\n' | socat -u - TCP:127.0.0.1:$port{mcfwd}"], timeout => 10);
ok($t->wait_for(sub { ($t->read_file($rfile) // '') eq 'to the group' }, 10),
    'multicast out: a member of the group received it');
kill 'TERM', $rpid;
waitpid($rpid, 0);

# multicast in: socat sends to the group hermod joined

($rc, $out) = $t->run_cmd(['sh', '-c', "printf 'from the group' | socat -u - UDP4-DATAGRAM:$G_IN:$port{mcin},ip-multicast-if=127.0.0.1,ip-multicast-ttl=1"], timeout => 10);
ok($t->wait_for(sub { grep { body_of($_) eq 'from the group' } records() }, 10),
    'multicast in: hermod, a member of the group, received it');

$t->stop();

# configuration errors

my $bad = $t->write_file_expand('bad.conf', <<"EOF");
error_log %%TESTDIR%%/logs/bad.log info;
events { }
pipeline p { output f; }
outbound f file { path %%TESTDIR%%/x.jsonl; }
inbound u udp {
    listen 127.0.0.1:$port{in};
    multicast_group 10.0.0.1;
    pipeline p;
}
EOF

($rc, $out) = $t->hermod_cmd('-t', '-c', $bad);
isnt($rc, 0, 'a group that is not multicast: -t fails');
like($out, qr/needs an IPv4 multicast group .* in \Q$bad\E:7/,
    'says why, with FILE:LINE');

$bad = $t->write_file_expand('bad2.conf', <<"EOF");
error_log %%TESTDIR%%/logs/bad.log info;
events { }
pipeline p { output o; }
outbound o udp {
    multicast_ttl 1;
}
EOF

($rc, $out) = $t->hermod_cmd('-t', '-c', $bad);
like($out, qr/outbound "o" has no "target" in \Q$bad\E:4/,
    'no target: says so, with FILE:LINE');

done_testing();
