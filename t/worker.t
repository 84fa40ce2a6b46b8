#!/usr/bin/perl

# Worker settings: user/group after binding as root, worker_rlimit_nofile,
# reuseport listeners (one socket per worker) across a reload.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

sub proc_field {
    my ($pid, $file, $re) = @_;
    open my $f, '<', "/proc/$pid/$file" or return undef;
    while (my $l = <$f>) { return $1 if $l =~ $re; }
    return undef;
}

# listening sockets on a port, from /proc/net/tcp: state 0A is LISTEN
sub listen_inodes {
    my ($port) = @_;
    my $hex = sprintf '%04X', $port;
    my @inodes;
    open my $f, '<', '/proc/net/tcp' or return ();
    while (my $l = <$f>) {
        my @c = split ' ', $l;
        next unless @c > 9 && $c[1] =~ /:$hex$/ && $c[3] eq '0A';
        push @inodes, $c[9];
    }
    return @inodes;
}

###############################################################################

# privileges are dropped in workers, the master keeps them

SKIP: {
    skip 'not root', 4 if $> != 0;

    my $uid = getpwnam('nobody');
    my $uid_nobody = $uid;
    my $gid = getgrnam('nogroup');
    skip 'no nobody/nogroup', 4 unless defined $uid && defined $gid;

    my $t = Test::Hermod->new();
    $t->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
user nobody nogroup;
worker_rlimit_nofile 1234;
events { worker_connections 64; }
EOF
    $t->run();

    # the worker drops privileges right after it starts: wait for that
    my $w;
    $t->wait_for(sub {
        ($w) = $t->worker_pids();
        my $uid = $w ? proc_field($w, 'status', qr/^Uid:\s+(\d+)/) : undef;
        defined $uid && $uid == $uid_nobody;
    }, 5);

    my $wuid = proc_field($w, 'status', qr/^Uid:\s+(\d+)/);
    my $wgid = proc_field($w, 'status', qr/^Gid:\s+(\d+)/);
    my $muid = proc_field($t->master_pid(), 'status', qr/^Uid:\s+(\d+)/);

    is($wuid, $uid, 'worker runs as nobody');
    is($wgid, $gid, 'worker group is nogroup');
    is($muid, 0, 'master stays root');

    my $limit = proc_field($w, 'limits', qr/^Max open files\s+(\d+)/);
    is($limit, 1234, 'worker_rlimit_nofile applied to the worker');

    $t->stop();
}

# reuseport: one listening socket per worker, all serving

SKIP: {
    my $t = Test::Hermod->new();
    my $so = $t->builddir() . '/modules/hm_example_module.so';
    skip 'no example module', 6 unless -f $so;

    $t->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 2;
load_module %%BUILDDIR%%/modules/hm_example_module.so;
events { worker_connections 64; }
example { listen 127.0.0.1:%%PORT_8081%% reuseport; greeting "rp"; }
EOF
    $t->run();

    ok($t->wait_for(sub { $t->worker_pids() == 2 }, 5), '2 workers');

    my @inodes = listen_inodes($t->port(8081));
    is(scalar @inodes, 2, 'two listening sockets with SO_REUSEPORT');

    my $served = 0;
    for (1 .. 20) {
        my $r = $t->tcp_request($t->port(8081), "x\n", until => qr/x\n/);
        $served++ if defined $r && $r eq "rp\r\nx\n";
    }
    is($served, 20, 'every connection served');

    # a reload keeps the port open; the new worker gets the socket

    $t->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;
load_module %%BUILDDIR%%/modules/hm_example_module.so;
events { worker_connections 64; }
example { listen 127.0.0.1:%%PORT_8081%% reuseport; greeting "rp2"; }
EOF
    my @old = $t->worker_pids();
    $t->signal('HUP');
    ok($t->wait_for(sub {
        my @w = $t->worker_pids();
        @w == 1 && !grep { my $o = $_; grep { $_ == $o } @w } @old;
    }, 10), 'reload to 1 worker');

    ok($t->wait_for(sub { listen_inodes($t->port(8081)) == 1 }, 5),
       'one listening socket after reload')
        or diag('sockets: ' . scalar listen_inodes($t->port(8081)));

    my $r = $t->tcp_request($t->port(8081), "y\n", until => qr/y\n/);
    is($r, "rp2\r\ny\n", 'served by the new configuration');

    $t->stop();
}

done_testing();
