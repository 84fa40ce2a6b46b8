#!/usr/bin/perl

# Reload under load: clients keep sending requests while the configuration
# is reloaded three times; every request must be answered 200, and the
# answers switch to the new configuration.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use POSIX ();

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

my $conf = <<'EOF';
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 2;
worker_shutdown_timeout 10s;
events { worker_connections 256; }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_8081%%;
        location / { return 200 "generation GEN\n"; }
    }
}
EOF

(my $c1 = $conf) =~ s/GEN/1/;
$t->write_file_expand('hermod.conf', $c1);
$t->run();

my $port = $t->port(8081);
my $stop = $t->testdir() . '/stop';

# 4 clients, each a loop of requests on new connections, in child processes

my @kids;

for my $k (1 .. 4) {
    my $pid = fork // die;

    if ($pid == 0) {
        my ($ok, $bad, %gen) = (0, 0);

        until (-e $stop) {
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                          Timeout => 5);
            if (!$s) { $bad++; next; }

            print $s "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

            my $resp = '';
            while (sysread($s, $resp, 4096, length $resp)) { }
            close $s;

            if ($resp =~ m{^HTTP/1\.1 200 .*generation (\d+)}s) {
                $ok++;
                $gen{$1}++;

            } else {
                $bad++;
            }
        }

        open my $f, '>', $t->testdir() . "/client$k" or POSIX::_exit(1);
        print $f "$ok $bad ", join(',', sort keys %gen), "\n";
        close $f;
        POSIX::_exit(0);
    }

    push @kids, $pid;
}

for my $gen (2 .. 4) {
    sleep 0.3;
    my @old = $t->worker_pids();

    (my $c = $conf) =~ s/GEN/$gen/;
    $t->write_file_expand('hermod.conf', $c);
    $t->signal('HUP');

    ok($t->wait_for(sub {
        my @w = $t->worker_pids();
        @w == 2 && !grep { my $o = $_; grep { $_ == $o } @w } @old;
    }, 10), "reload $gen: new workers only");
}

sleep 0.3;

open my $f, '>', $stop or die;
close $f;

waitpid $_, 0 for @kids;

my ($ok, $bad) = (0, 0);
my %gens;

for my $k (1 .. 4) {
    open my $r, '<', $t->testdir() . "/client$k" or next;
    my ($o, $b, $g) = split ' ', scalar <$r>;
    $ok += $o;
    $bad += $b;
    $gens{$_}++ for split /,/, $g // '';
}

ok($ok > 100, "$ok requests answered during the reloads");
is($bad, 0, 'no request failed');
is(join(',', sort keys %gens), '1,2,3,4', 'answers from every generation');

$t->stop();
done_testing();
