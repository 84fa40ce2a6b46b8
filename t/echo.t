#!/usr/bin/perl

# The example module: a TCP echo listener with a greeting.  Echo of large
# data, parallel clients, half-close, worker_connections exhaustion,
# graceful quit, worker_shutdown_timeout, reload with an active client.

use warnings;
use strict;

use Test::More;
use Digest::MD5 qw(md5_hex);
use Time::HiRes qw(time);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $probe = Test::Hermod->new();

my $load;

if (-e $probe->builddir() . '/modules/hm_example_module.so') {
    $load = 'load_module %%BUILDDIR%%/modules/hm_example_module.so;';

} elsif ($probe->has_module('hm_example_module')) {
    $load = '# hm_example_module is compiled in';

} else {
    plan(skip_all => 'no hm_example_module ('
        . $probe->builddir() . '/modules/hm_example_module.so)');
}

sub echo_conf {
    my (%o) = @_;

    my $wc = $o{worker_connections} // 16;
    my $wp = $o{worker_processes} // 1;
    my $st = $o{worker_shutdown_timeout} // '10s';

    return <<"EOF";
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes $wp;
worker_shutdown_timeout $st;

events {
    worker_connections $wc;
}

example {
    listen 127.0.0.1:%%PORT_8081%%;
    greeting "hi";
}
EOF
}

# connects and reads the greeting; returns the socket or undef

sub greeted {
    my ($t, $timeout) = @_;

    my $s = $t->tcp_connect($t->port(8081)) or return undef;
    my $g = $t->sock_read($s, len => 4, timeout => $timeout // 5);

    return $s if $g eq "hi\r\n";

    close $s;
    return undef;
}

# server-side owner of a client connection: the pid among @pids holding
# the socket whose peer is the client's local port

sub owner {
    my ($t, $s, @pids) = @_;

    my $sport = $t->port(8081);
    my $cport = $s->sockport();
    my $inode;

    open my $fh, '<', '/proc/net/tcp' or return undef;

    while (<$fh>) {
        my @f = split ' ';
        next unless @f > 9 && $f[1] =~ /:([0-9A-F]{4})$/;
        next unless hex($1) == $sport;
        next unless $f[2] =~ /:([0-9A-F]{4})$/ && hex($1) == $cport;
        $inode = $f[9];
        last;
    }

    close $fh;

    return undef unless $inode;

    for my $pid (@pids) {
        opendir my $dh, "/proc/$pid/fd" or next;
        for my $fd (readdir $dh) {
            my $l = readlink("/proc/$pid/fd/$fd") // next;
            return $pid if $l eq "socket:[$inode]";
        }
    }

    return undef;
}

###############################################################################

my $t = Test::Hermod->new();

$t->write_file_expand('hermod.conf', echo_conf());
$t->run();

my $port = $t->port(8081);

# greeting, then 100 KB of random data echoed back

my $s = $t->tcp_connect($port);
ok($s, 'connected');

is($t->sock_read($s, len => 4), "hi\r\n", 'greeting');

my $data = join '', map { chr(int(rand(256))) } 1 .. 100 * 1024;
my $echo = $t->sock_xfer($s, $data, len => length($data), timeout => 15);

is(length($echo), length($data), '100 KB echo: length');
is(md5_hex($echo), md5_hex($data), '100 KB echo: checksum');

is($t->sock_xfer($s, "more\n", len => 5), "more\n", 'echo after large data');

close $s;

# 10 parallel clients, all connected at once

my @c = map { $t->tcp_connect($port) } 1 .. 10;
is(scalar(grep { defined } @c), 10, 'parallel: 10 connected');

# one deadline for all clients

my $deadline = time() + 5;
sub left { my $l = $deadline - time(); $l > 0.1 ? $l : 0.1 }

my @greet = map {
    defined $_ ? $t->sock_read($_, len => 4, timeout => left()) : ''
} @c;
is(scalar(grep { $_ eq "hi\r\n" } @greet), 10, 'parallel: 10 greetings');

my @msg = map { "client $_ " . ('x' x (8000 + $_)) . "\n" } 0 .. 9;

$deadline = time() + 10;

for my $i (0 .. 9) {
    next unless defined $c[$i];
    $t->sock_write($c[$i], $msg[$i]);
}

my $good = 0;

for my $i (0 .. 9) {
    next unless defined $c[$i];
    my $got = $t->sock_read($c[$i], len => length($msg[$i]),
        timeout => left());
    $good++ if $got eq $msg[$i];
}

is($good, 10, 'parallel: 10 echoes, each its own data');

close $_ for grep { defined } @c;

# half-close: echo, then EOF

$s = $t->tcp_connect($port);
my ($got, $eof) = $t->sock_xfer($s, "half closed\n", shutdown => 1,
    timeout => 5);
close $s;

is($got, "hi\r\nhalf closed\n", 'half-close: echo');
ok($eof, 'half-close: EOF');

is($t->tcp_request($port, "req\n", shutdown => 1), "hi\r\nreq\n",
    'tcp_request');

###############################################################################

# reload with an active client: the old worker keeps serving it, new
# clients go to the new worker

my $a = greeted($t);
ok($a, 'reload: client A connected');

is($t->sock_xfer($a, "one\n", len => 4), "one\n", 'reload: A echo before');

my @old = $t->worker_pids();
my $old_owner = owner($t, $a, @old);
ok($old_owner, 'reload: A served by a worker');

$t->signal('HUP');

my @new;
ok($t->wait_for(sub {
    @new = grep { my $p = $_; !grep { $_ == $p } @old } $t->worker_pids();
    @new >= 1;
}, 10), 'reload: new worker started');

ok(defined $old_owner && $t->pid_alive($old_owner),
    'reload: old worker still alive');

is($t->sock_xfer($a, "two\n", len => 4), "two\n", 'reload: A echo after');

my $b;
my $b_owner;

# the old worker closes its listening socket once it sees the reload;
# until then a new client may still land on it: retry with a deadline

ok($t->wait_for(sub {
    close $b if $b;
    $b = greeted($t) or return 0;
    $b_owner = owner($t, $b, @new, @old);
    defined $b_owner && grep { $_ == $b_owner } @new;
}, 10), 'reload: client B served by the new worker')
    or diag('B owner ' . ($b_owner // 'unknown') . ", new: @new, old: @old");

is($t->sock_xfer($b, "three\n", len => 6), "three\n", 'reload: B echo');

close $b if $b;
close $a;

ok(!defined $old_owner
    || $t->wait_for(sub { !$t->pid_alive($old_owner) }, 10),
    'reload: old worker exits after its last client');

$t->stop();

###############################################################################

# worker_connections exhaustion

my $tw = Test::Hermod->new();

$tw->allow_log(qr/worker_connections are not enough/);

$tw->write_file_expand('hermod.conf', echo_conf(worker_connections => 4));
$tw->run();

$port = $tw->port(8081);

@c = grep { defined } map { $tw->tcp_connect($port) } 1 .. 10;
is(scalar(@c), 10, 'worker_connections: 10 clients connected');

# for each client: a greeting means served, EOF or nothing within the
# deadline means not served

my %state;
my %buf;

$_->blocking(0) for @c;

$tw->wait_for(sub {
    for my $i (0 .. $#c) {
        next if $state{$i};
        my $n = sysread($c[$i], my $chunk, 64);
        if (defined $n && $n > 0) {
            $buf{$i} .= $chunk;
            $state{$i} = 'served' if $buf{$i} =~ /^hi\r\n/;
        } elsif (defined $n || !$!{EAGAIN}) {
            $state{$i} = 'closed';
        }
    }
    keys(%state) == @c;
}, 3);

my $served = grep { $_ eq 'served' } values %state;

ok($served >= 1, "worker_connections: some clients served ($served)");
ok($served <= 4, 'worker_connections: at most 4 clients served');
ok(@c - $served >= 6, 'worker_connections: 6 or more not served');

ok($tw->wait_log(qr/worker_connections are not enough/, 5),
    'worker_connections: logged');

close $_ for @c;

my $again;
ok($tw->wait_for(sub { $again = greeted($tw, 1) }, 10),
    'worker_connections: new client served after others closed');
is($again ? $tw->sock_xfer($again, "back\n", len => 5) : '', "back\n",
    'worker_connections: echo again');
close $again if $again;

$tw->stop();

###############################################################################

# graceful quit: a connected client is still served after QUIT

my $tq = Test::Hermod->new();

$tq->write_file_expand('hermod.conf', echo_conf());
$tq->run();

$s = greeted($tq);
ok($s, 'quit: client connected');

my $mark = $tq->log_mark();
$tq->signal('QUIT');

# synchronize on the worker noticing the signal (nginx logs
# "gracefully shutting down" at notice level)

$tq->wait_log(qr/gracefully shutting down|shutting down/, 5, $mark)
    or note('no "shutting down" line in the log');

is($tq->sock_xfer($s, "after quit\n", len => 11), "after quit\n",
    'quit: echo after QUIT');
ok($tq->master_alive(), 'quit: master waits for the client');

close $s;

ok($tq->wait_exit(5), 'quit: master exits after the client closed');

$tq->stop();

# worker_shutdown_timeout: an idle client is closed after the timeout

my $tt = Test::Hermod->new();

$tt->write_file_expand('hermod.conf',
    echo_conf(worker_shutdown_timeout => '1s'));
$tt->run();

$s = greeted($tt);
ok($s, 'shutdown timeout: client connected');

my $t0 = time();
$tt->signal('QUIT');

($got, $eof) = $tt->sock_read($s, timeout => 6);
my $elapsed = time() - $t0;
close $s;

ok($eof, 'shutdown timeout: client closed by the server');
ok($elapsed >= 0.5 && $elapsed <= 3.5,
    sprintf('shutdown timeout: closed after %.2f s (0.5 .. 3.5)', $elapsed));

ok($tt->wait_exit(5), 'shutdown timeout: master exits');

$tt->stop();

$t->done_testing();

###############################################################################
