#!/usr/bin/perl

# Framed messages over TCP ("inbound NAME tcp"): every framing (line with
# and without CR, a delimiter given with escapes, 1/2/4/8-byte length
# prefixes big and little endian, fixed size) into a file outbound;
# frames split across writes and many frames in one write; replies in the
# inbound's framing and in the order of the frames, with the outcome of a
# failing outbound; a frame over max_frame (and a length prefix announcing
# one) closes only its connection; a client that goes away in the middle
# of a frame; socat as an independent client; a graceful stop answers what
# is in flight; backpressure: with the pipeline full (its outbound never
# answers) no more frames are taken, whatever the client sends; TCP to
# Kafka (with the Kafka module and its mock).  The worker keeps serving
# throughout.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use JSON::PP;
use Time::HiRes qw(time sleep);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_stream_tcp_module');

my $d = $t->testdir();
my %port = map { ($_ => $t->port("tcp.$_")) }
    qw(line delim lp2 lp4l lp8 fixed reply fail big full kafka);
my $hport = $t->port('http');
my $hole = $t->port('hole');

# a peer that accepts connections (the kernel does) and never answers

my $blackhole = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
    LocalPort => $hole, ReuseAddr => 1) or die "listen: $!\n";

# Kafka, when its module and mock are there

my ($kload, $k) = ('', undef);

if (eval { require Test::Kafka; 1 }) {
    my $so = $t->builddir() . '/modules/hm_kafka_module.so';
    my ($bin) = Test::Kafka::tool($t);

    if ((-e $so || $t->has_module('hm_kafka_module')) && $bin
        && $t->has_program('kcat'))
    {
        $kload = Test::Kafka::load_module($t);
        $k = Test::Kafka->new($t, brokers => 1, topics => ['from_tcp:1']);
    }
}

my $kafka_conf = $k ? <<"EOF" : '';
pipeline to_kafka { output kafka; }
outbound kafka kafka { brokers @{[ $k->bootstrap() ]}; topic from_tcp; linger 1ms; }
inbound kafka tcp {
    listen 127.0.0.1:$port{kafka};
    framing length_prefix 4;
    reply on;
    pipeline to_kafka;
}
EOF
my $closed = $t->port('closed');

$t->write_file_expand('hermod.conf', <<"EOF");
$kload

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
worker_shutdown_timeout 2s;

events {
    worker_connections 256;
}

pipeline p { output f; }
outbound f file { path %%TESTDIR%%/\$message_header_x_none.jsonl; }

inbound line tcp { listen 127.0.0.1:$port{line}; pipeline p; }

inbound delim tcp {
    listen 127.0.0.1:$port{delim};
    framing delimiter "\\x00\\r";
    pipeline p;
}

inbound lp2 tcp { listen 127.0.0.1:$port{lp2}; framing length_prefix 2; pipeline p; }
inbound lp4l tcp { listen 127.0.0.1:$port{lp4l}; framing length_prefix 4 little; pipeline p; }
inbound lp8 tcp { listen 127.0.0.1:$port{lp8}; framing length_prefix 8 big; max_frame 64; pipeline p; }
inbound fixed tcp { listen 127.0.0.1:$port{fixed}; framing fixed 4; pipeline p; }

inbound reply tcp {
    listen 127.0.0.1:$port{reply};
    framing line;
    reply on;
    pipeline p;
}

pipeline failing { output refused; }
outbound refused http { url http://127.0.0.1:$closed/; }

inbound fail tcp {
    listen 127.0.0.1:$port{fail};
    framing length_prefix 4;
    reply on;
    pipeline failing;
}

pipeline full {
    max_in_flight 3;
    output hole;
}
outbound hole http { url http://127.0.0.1:$hole/; timeout 60s; }

inbound full tcp { listen 127.0.0.1:$port{full}; pipeline full; }

$kafka_conf

http {
    server {
        listen 127.0.0.1:$hport;
        location = /metrics { status; }
    }
}

inbound big tcp {
    listen 127.0.0.1:$port{big};
    framing line;
    max_frame 1k;
    reply on;
    pipeline p;
}
EOF

$t->run();

my $pid0 = ($t->worker_pids())[0];

sub conn {
    my ($name) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port{$name}",
        Timeout => 5) or die "connect $name: $!\n";
    $s->autoflush(1);
    return $s;
}

sub bodies {
    my @b;
    for my $l (split /\n/, $t->read_file("$d/.jsonl") // '') {
        my $j = eval { decode_json($l) } or next;
        my $b = $j->{body};
        push @b, ref $b ? JSON::PP->new->canonical->encode($b) : $b;
    }
    return @b;
}

my $seen = 0;

sub expect {
    my ($want, $name) = @_;
    $t->wait_for(sub { bodies() >= $seen + @$want }, 10);
    my @got = (bodies())[$seen .. $seen + @$want - 1];
    $seen += @$want;
    is_deeply(\@got, $want, $name);
}

# line: CRLF or LF, split writes, several in one write

my $s = conn('line');
print $s "one\r\ntw";
sleep(0.2);
print $s "o\nthree\nfour\n\n";
close $s;
expect(['one', 'two', 'three', 'four', ''], 'line: CR stripped, split frames, empty line');

# a delimiter with escapes: "\x00\r"

$s = conn('delim');
print $s "a\nb\x00\rc\x00";
print $s "\r";
close $s;
expect(["a\nb", 'c'], 'delimiter "\x00\r"');

# length prefixes

$s = conn('lp2');
print $s pack('n', 3) . 'abc' . pack('n', 0) . pack('n', 2) . 'de';
close $s;
expect(['abc', '', 'de'], 'length_prefix 2 (big endian)');

$s = conn('lp4l');
print $s pack('V', 5) . "hello" . pack('V', 1);
sleep(0.2);
print $s 'x';
close $s;
expect(['hello', 'x'], 'length_prefix 4 little');

$s = conn('lp8');
print $s pack('NN', 0, 6) . 'eight!';
close $s;
expect(['eight!'], 'length_prefix 8');

# fixed

$s = conn('fixed');
print $s 'abcdefghij';
close $s;
expect(['abcd', 'efgh'], 'fixed 4: the incomplete rest is dropped');
ok($t->wait_log(qr/inbound "fixed": client 127\.0\.0\.1 closed the connection in the middle of a frame \(2 bytes dropped\)/, 5),
    'a client gone in the middle of a frame is logged');

# replies: in order, in the framing

sub read_lines {
    my ($s, $n) = @_;
    my $sel = IO::Select->new($s);
    my $buf = '';
    while ((() = $buf =~ /\n/g) < $n && $sel->can_read(10)) {
        sysread($s, $buf, 65536, length $buf) or last;
    }
    return split /\n/, $buf;
}

$s = conn('reply');
print $s join('', map { "r$_\n" } 1 .. 20);
my @r = read_lines($s, 20);
is(scalar @r, 20, 'reply: 20 answers');
is(scalar(grep { (eval { decode_json($_)->{outcome} } // '') eq 'delivered' } @r),
    20, 'each delivered');
my @ids = map { eval { decode_json($_)->{id} } } @r;
my %file_id;
for my $l (split /\n/, $t->read_file("$d/.jsonl") // '') {
    my $j = eval { decode_json($l) } or next;
    $file_id{ $j->{id} } = $j->{body};
}
is(join(',', map { $file_id{$_} // '?' } @ids),
    join(',', map { "r$_" } 1 .. 20),
    'in the order of the frames, each naming its message');
close $s;
$seen += 20;

# a failing outbound: the reply says why, length-prefixed

$s = conn('fail');
print $s pack('N', 4) . 'lost';
my $sel = IO::Select->new($s);
my $buf = '';
while (length $buf < 4 || length $buf < 4 + unpack('N', $buf)) {
    last unless $sel->can_read(10);
    sysread($s, $buf, 65536, length $buf) or last;
}
my $len = unpack('N', $buf);
my $j = eval { decode_json(substr($buf, 4, $len)) } // {};
is($j->{outcome}, 'failed', 'a failing outbound: outcome failed');
like($j->{error} // '', qr/cannot connect/, 'with the reason');
close $s;

# too large: a line over max_frame, a prefix announcing too much

my $mark = $t->log_mark();
$s = conn('big');
print $s "ok\n" . ('z' x 2000) . "\n";
@r = read_lines($s, 1);
is(scalar @r, 1, 'the frame before the large one is answered');
$sel = IO::Select->new($s);
my $eof = $sel->can_read(5) && !sysread($s, $buf, 10);
ok($eof, 'a frame over max_frame closes the connection');
ok($t->wait_log(qr/inbound "big": client 127\.0\.0\.1 sent a frame of \d+ or more bytes, over max_frame 1024: closing the connection/, 5, $mark),
    'logged');
$seen += 1;

$s = conn('lp8');
print $s pack('NN', 1, 0);
$sel = IO::Select->new($s);
$eof = $sel->can_read(5) && !sysread($s, $buf, 10);
ok($eof, 'a length prefix of 4 GiB closes the connection');
ok($t->wait_log(qr/inbound "lp8": client 127\.0\.0\.1 sent a frame of 4294967296 bytes, over max_frame 64/, 5),
    'logged with the announced size');

# garbage that is still a line

$s = conn('line');
print $s "\x00\xff\x01binary\n";
close $s;
$t->wait_for(sub { bodies() > $seen }, 10);
$seen++;
pass('binary bytes in a line are a message');

# socat, an independent client

my ($rc, $out) = $t->run_cmd(['sh', '-c', 'printf "via socat\n" | socat -t2 - TCP:127.0.0.1:' . $port{reply}], timeout => 20);
like($out, qr/"outcome":"delivered"/, 'socat gets its answer');
$seen++;

# backpressure: 3 in flight, the rest not taken

sub metric {
    my ($name) = @_;
    my ($rc, $out) = $t->run_cmd(['curl', '-s',
        "http://127.0.0.1:$hport/metrics"]);
    return ($out // '') =~ /^\Q$name\E (\d+)$/m ? $1 : undef;
}

my $full = conn('full');
print $full join('', map { "f$_\n" } 1 .. 10);

ok($t->wait_for(sub {
    (metric('hermod_pipeline_in_flight{pipeline="full"}') // 0) == 3 }, 10),
    'backpressure: 3 in flight');
sleep(1);
is(metric('hermod_pipeline_received_total{pipeline="full"}'), 3,
    'the other 7 frames are not taken while the pipeline is full');
close $full;

# TCP -> Kafka

SKIP: {
    skip 'no Kafka module or tools', 4 unless $k;

    my $ks = conn('kafka');
    print $ks pack('N', 14) . '{"to":"kafka"}';
    my $sel = IO::Select->new($ks);
    my $kb = '';
    while (length $kb < 4 || length $kb < 4 + unpack('N', $kb)) {
        last unless $sel->can_read(20);
        sysread($ks, $kb, 65536, length $kb) or last;
    }
    like(substr($kb, 4), qr/"outcome":"delivered"/,
        'TCP -> Kafka: answered once Kafka has it');
    close $ks;

    my @rec = $k->wait_records('from_tcp', 1, wait => 20);
    is(scalar @rec, 1, 'one record');
    is($rec[0]{value}, '{"to":"kafka"}', 'the frame is the record');
    is($rec[0]{topic} // 'from_tcp', 'from_tcp', 'in the topic');
}

is(($t->worker_pids())[0], $pid0, 'the same worker throughout');

# a graceful stop with an idle client connected

my $idle = conn('line');
print $idle "last\n";
$t->wait_for(sub { (bodies())[-1] eq 'last' }, 10);

$t->stop();

ok(!$t->master_alive(), 'stopped with a client connected');

done_testing();
