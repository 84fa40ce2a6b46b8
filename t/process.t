#!/usr/bin/perl

# Master and workers: respawn, reload (good and broken configuration),
# -s reload/quit/stop/reopen, USR1, master_process off.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $conf2 = <<'EOF';
error_log %%TESTDIR%%/logs/error.log info;
worker_processes 2;

events {
    worker_connections 64;
}
EOF

(my $conf1 = $conf2) =~ s/worker_processes 2;/worker_processes 1;/;

sub pids { join ' ', @_ }

###############################################################################

# a killed worker is respawned

my $t = Test::Hermod->new();

# nginx logs a worker killed by a signal at the alert level
$t->allow_log(qr/worker process \d+ exited on signal 9/);

$t->write_file_expand('hermod.conf', $conf2);
$t->run();

ok($t->wait_for(sub { $t->worker_pids() == 2 }, 5), '2 workers')
    or diag('workers: ' . pids($t->worker_pids()));

my @old = $t->worker_pids();

SKIP: {
    skip 'no 2 workers', 4 unless @old == 2;

    my ($victim, $other) = @old;

    kill 'KILL', $victim;

    my @new;
    ok($t->wait_for(sub {
        @new = $t->worker_pids();
        @new == 2 && !grep { $_ == $victim } @new;
    }, 2), 'killed worker respawned') or diag('workers: ' . pids(@new));

    ok((grep { $_ == $other } @new), 'other worker kept');
    is(scalar(grep { $_ != $other } @new), 1, 'one new worker');

    ok($t->wait_log(qr/worker process $victim exited on signal 9/, 5),
        'exit on signal 9 logged');
}

###############################################################################

# reload: SIGHUP with a good configuration

@old = $t->worker_pids();
my $mark = $t->log_mark();

$t->write_file_expand('hermod.conf', $conf1);
$t->signal('HUP');

ok($t->wait_log(qr/reconfiguring/, 5, $mark), 'SIGHUP: reconfiguring logged');

my @new;
ok($t->wait_for(sub {
    @new = $t->worker_pids();
    @new == 1 && !grep { my $n = $_; grep { $_ == $n } @old } @new;
}, 10), 'SIGHUP: 1 new worker')
    or diag('old: ' . pids(@old) . ', now: ' . pids(@new));

###############################################################################

# reload with a broken configuration keeps the old one

@old = $t->worker_pids();
$mark = $t->log_mark();

$t->allow_emerg();

my $broken = $conf1 . "bogus;\n";
my $bline = () = $broken =~ /\n/g;
my $path = $t->write_file_expand('hermod.conf', $broken);

$t->signal('HUP');

ok($t->wait_log(qr/unknown directive "bogus" in \Q$path\E:$bline(?!\d)/, 5,
    $mark), 'broken reload: error with FILE:LINE')
    or diag(substr($t->error_log(), $mark));

@new = $t->worker_pids();

is(pids(@new), pids(@old), 'broken reload: same workers');
ok(@old && !grep({ !$t->pid_alive($_) } @old), 'broken reload: workers alive');
ok($t->master_alive(), 'broken reload: master alive');

###############################################################################

# hermod -s reload works like SIGHUP

$t->write_file_expand('hermod.conf', $conf2);

@old = $t->worker_pids();
$mark = $t->log_mark();

my ($rc, $out) = $t->hermod_cmd('-c', $t->conf_path(), '-s', 'reload');

is($rc, 0, '-s reload: exit code') or diag($out);
ok($t->wait_log(qr/reconfiguring/, 5, $mark), '-s reload: reconfiguring');

ok($t->wait_for(sub {
    @new = $t->worker_pids();
    @new == 2 && !grep { my $n = $_; grep { $_ == $n } @old } @new;
}, 10), '-s reload: 2 new workers')
    or diag('old: ' . pids(@old) . ', now: ' . pids(@new));

###############################################################################

# log reopening: USR1, then -s reopen

my $log = $t->error_log_path();

for my $how ('USR1', '-s reopen') {
    unlink "$log.old";
    ok(rename($log, "$log.old"), "$how: error log renamed");

    if ($how eq 'USR1') {
        $t->signal('USR1');
    } else {
        ($rc, $out) = $t->hermod_cmd('-c', $t->conf_path(), '-s', 'reopen');
        is($rc, 0, "$how: exit code") or diag($out);
    }

    ok($t->wait_for(sub { -e $log }, 5), "$how: error log recreated");

    # something new is logged into the new file

    $t->signal('HUP');
    ok($t->wait_log(qr/reconfiguring/, 5), "$how: new file is written");
}

###############################################################################

# -s quit

@old = $t->worker_pids();

($rc, $out) = $t->hermod_cmd('-c', $t->conf_path(), '-s', 'quit');

is($rc, 0, '-s quit: exit code') or diag($out);
ok($t->wait_exit(10), '-s quit: master exited');
ok($t->wait_for(sub { !grep { $t->pid_alive($_) } @old }, 10),
    '-s quit: workers exited');
ok(!-e $t->pid_path(), '-s quit: pid file removed');

$t->stop();

# -s stop

my $ts = Test::Hermod->new();

$ts->write_file_expand('hermod.conf', $conf2);
$ts->run();

@old = $ts->worker_pids();

($rc, $out) = $ts->hermod_cmd('-c', $ts->conf_path(), '-s', 'stop');

is($rc, 0, '-s stop: exit code') or diag($out);
ok($ts->wait_exit(10), '-s stop: master exited');
ok($ts->wait_for(sub { !grep { $ts->pid_alive($_) } @old }, 10),
    '-s stop: workers exited');
ok(!-e $ts->pid_path(), '-s stop: pid file removed');

$ts->stop();

# -s reload without a running master

($rc, $out) = $ts->hermod_cmd('-c', $ts->conf_path(), '-s', 'reload');

is($rc, 1, '-s reload, not running: exit code');
like($out, qr/hermod\.pid/, '-s reload, not running: mentions the pid file');

###############################################################################

# master_process off: one process, no workers

my $tm = Test::Hermod->new();

$tm->write_file_expand('hermod.conf', <<'EOF');
error_log %%TESTDIR%%/logs/error.log info;
master_process off;
worker_processes 2;

events {
    worker_connections 64;
}
EOF

$tm->run();

my $pidfile = $tm->read_file('logs/hermod.pid') // '';

is($pidfile =~ /(\d+)/ ? $1 : '', $tm->master_pid(),
    'master_process off: pid file names the process');
is(pids($tm->worker_pids()), '', 'master_process off: no children');

$tm->stop();

$t->done_testing();

###############################################################################
