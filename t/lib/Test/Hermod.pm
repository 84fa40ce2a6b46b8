package Test::Hermod;

# Integration test harness for hermod, in the spirit of nginx-tests'
# Test::Nginx: one object per hermod instance, a temporary prefix with
# logs/ and conf/, port placeholders, start/stop with readiness waits
# and an error log check ("no alerts") at teardown.
#
# Every wait is a condition polled against a deadline; nothing sleeps
# and hopes.
#
# Environment:
#   HERMOD_BINARY      binary to test (default <repo>/objs/hermod)
#   HERMOD_BUILDDIR    build directory (default <repo>/objs)
#   HERMOD_TEST_LEAVE  keep the temporary directories
#   HERMOD_TEST_VERBOSE  diag every command run

use strict;
use warnings;

use Test::More ();
use File::Temp ();
use File::Basename qw(dirname);
use File::Spec;
use Cwd qw(abs_path);
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_REUSEADDR);
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(weaken);
use Time::HiRes qw(time sleep);

our $VERSION = '0.01';

my $REPO = abs_path(dirname(__FILE__) . '/../../..');

our @INSTANCES;

my %USED_PORTS;


sub new {
    my ($class, %opts) = @_;

    my $self = bless {
        owner => $$,
        binary => $ENV{HERMOD_BINARY} || "$REPO/objs/hermod",
        builddir => $ENV{HERMOD_BUILDDIR} || "$REPO/objs",
        repo => $REPO,
        ports => {},
        udp_ports => {},
        files => {},
        allow_log => [],
        cmd_seq => 0,
    }, $class;

    $self->{testdir} = File::Temp::tempdir('hermod-test-XXXXXXXX',
        TMPDIR => 1, CLEANUP => !$ENV{HERMOD_TEST_LEAVE});

    for my $d (qw(logs conf cmd)) {
        mkdir "$self->{testdir}/$d"
            or die "mkdir $self->{testdir}/$d: $!\n";
    }

    Test::More::diag("test directory: $self->{testdir}")
        if $ENV{HERMOD_TEST_LEAVE};

    unless ($opts{no_binary_ok} || -x $self->{binary}) {
        Test::More::plan(skip_all => "no hermod binary at $self->{binary}");
    }

    push @INSTANCES, $self;
    weaken($INSTANCES[-1]);

    return $self;
}

sub testdir { $_[0]->{testdir} }
sub binary { $_[0]->{binary} }
sub builddir { $_[0]->{builddir} }
sub repo { $_[0]->{repo} }
sub conf_path { "$_[0]->{testdir}/conf/" . ($_[1] // 'hermod.conf') }
sub error_log_path { "$_[0]->{testdir}/logs/error.log" }
sub pid_path { "$_[0]->{testdir}/logs/hermod.pid" }


# prerequisites

sub _version_output {
    my ($self) = @_;

    unless (defined $self->{version_output}) {
        my (undef, $out) = $self->_exec([$self->{binary}, '-V'],
            timeout => 10);
        $self->{version_output} = $out // '';
    }

    return $self->{version_output};
}

sub has_module {
    my ($self, $name) = @_;

    return 1 if -e "$self->{builddir}/modules/$name.so";

    my $v = $self->_version_output();

    if ($v =~ /compiled-in modules:(.*)\z/s) {
        my $list = $1;
        return 1 if $list =~ /(?<![\w.])\Q$name\E(?![\w.])/;
    }

    return 0;
}

sub skip_unless_module {
    my ($self, @names) = @_;

    for my $name (@names) {
        next if $self->has_module($name);
        Test::More::plan(skip_all => "no module $name (not compiled in and"
            . " no $self->{builddir}/modules/$name.so)");
    }

    return $self;
}

sub has_program {
    my ($self, $prog) = @_;

    return -x $prog ? 1 : 0 if $prog =~ m{/};

    for my $dir (split /:/, $ENV{PATH} // '') {
        return 1 if $dir ne '' && -f "$dir/$prog" && -x _;
    }

    return 0;
}

sub skip_unless_program {
    my ($self, @progs) = @_;

    for my $prog (@progs) {
        Test::More::plan(skip_all => "no $prog") unless $self->has_program($prog);
    }

    return $self;
}


# files

sub _alloc_port {
    my ($self, $proto) = @_;

    for (1 .. 50) {
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1',
            LocalPort => 0,
            Proto => $proto,
            ($proto eq 'tcp' ? (Listen => 1) : ()),
        ) or die "cannot bind a $proto port on 127.0.0.1: $@\n";

        my $port = $s->sockport();
        close $s;

        next if $USED_PORTS{$port}++;
        return $port;
    }

    die "cannot find a free $proto port\n";
}

sub port {
    my ($self, $n) = @_;
    return $self->{ports}{$n} //= $self->_alloc_port('tcp');
}

sub port_udp {
    my ($self, $n) = @_;
    return $self->{udp_ports}{$n} //= $self->_alloc_port('udp');
}

sub expand {
    my ($self, $text) = @_;

    $text =~ s/%%TESTDIR%%/$self->{testdir}/g;
    $text =~ s/%%BUILDDIR%%/$self->{builddir}/g;
    $text =~ s/%%REPO%%/$self->{repo}/g;
    $text =~ s/%%PORT_UDP_(\d+)%%/$self->port_udp($1)/ge;
    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;

    return $text;
}

# writes conf/$name (subdirectories are created); returns the full path

sub write_file_expand {
    my ($self, $name, $text) = @_;

    my @listen;

    for my $line (split /\n/, $text) {
        next unless $line =~ /^\s*listen\s/;
        push @listen, $line =~ /%%PORT_(\d+)%%/g;
    }

    my $path = $self->_write("conf/$name", $self->expand($text));

    $self->{files}{$path} = {
        listen => [ map { $self->port($_) } @listen ],
    };

    return $path;
}

sub write_file {
    my ($self, $name, $text) = @_;
    return $self->_write("conf/$name", $text);
}

sub _write {
    my ($self, $rel, $text) = @_;

    my $path = $rel =~ m{^/} ? $rel : "$self->{testdir}/$rel";

    _mkpath(dirname($path));

    open my $fh, '>', $path or die "open $path: $!\n";
    binmode $fh;
    print $fh $text;
    close $fh or die "close $path: $!\n";

    return $path;
}

sub _mkpath {
    my ($dir) = @_;
    return if -d $dir;
    _mkpath(dirname($dir));
    mkdir $dir or -d $dir or die "mkdir $dir: $!\n";
}

# relative names are relative to the test directory: read_file('logs/x')

sub read_file {
    my ($self, $name) = @_;

    my $path = $name =~ m{^/} ? $name : "$self->{testdir}/$name";

    open my $fh, '<', $path or return undef;
    binmode $fh;
    local $/;
    my $data = <$fh>;
    close $fh;

    return $data // '';
}

sub error_log {
    my ($self) = @_;
    return $self->read_file('logs/error.log') // '';
}

# byte offset of the end of the error log, for wait_log(..., $from)

sub log_mark {
    my ($self) = @_;
    return -s $self->error_log_path() || 0;
}

sub wait_log {
    my ($self, $re, $timeout, $from) = @_;

    $from //= 0;

    return $self->wait_for(sub {
        my $log = $self->error_log();
        return length($log) > $from && substr($log, $from) =~ $re;
    }, $timeout // 10);
}


# waits

sub wait_for {
    my ($self, $cond, $timeout) = @_;

    my $deadline = time() + ($timeout // 10);

    while (1) {
        return 1 if $cond->();
        return 0 if time() >= $deadline;
        sleep(0.02);
    }
}

sub wait_port {
    my ($self, $port, $timeout) = @_;

    return $self->wait_for(sub {
        my $s = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1',
            PeerPort => $port,
            Proto => 'tcp',
            Timeout => 1,
        );
        return 0 unless $s;
        close $s;
        return 1;
    }, $timeout // 10);
}


# processes

sub _proc_stat {
    my ($pid) = @_;

    open my $fh, '<', "/proc/$pid/stat" or return;
    my $stat = <$fh>;
    close $fh;

    return unless defined $stat;

    # comm may contain spaces and parentheses: split after the last ")"
    my $r = rindex($stat, ')');
    return if $r < 0;

    my @f = split ' ', substr($stat, $r + 2);

    return (state => $f[0], ppid => $f[1]);
}

sub children_of {
    my ($self, $ppid, %opts) = @_;

    my @pids;

    opendir my $dh, '/proc' or return _pgrep_children($ppid);

    for my $pid (readdir $dh) {
        next unless $pid =~ /^\d+$/;
        my %st = _proc_stat($pid) or next;
        next unless $st{ppid} == $ppid;
        next if $st{state} eq 'Z' && !$opts{zombies};
        push @pids, $pid;
    }

    closedir $dh;

    @pids = sort { $a <=> $b } @pids;
    return @pids;
}

sub _pgrep_children {
    my ($ppid) = @_;
    my @pids = grep { /^\d+$/ } split /\s+/, `pgrep -P $ppid 2>/dev/null`;
    @pids = sort { $a <=> $b } @pids;
    return @pids;
}

sub master_pid { $_[0]->{pid} }

sub worker_pids {
    my ($self) = @_;
    return () unless defined $self->{pid} && !$self->{reaped};
    return $self->children_of($self->{pid});
}

sub pid_alive {
    my ($self, $pid) = @_;
    return 0 unless defined $pid && kill(0, $pid);
    my %st = _proc_stat($pid);
    return 0 if %st && $st{state} eq 'Z';
    return 1;
}

# true while the forked master has not exited

sub master_alive {
    my ($self) = @_;

    return 0 unless defined $self->{pid};
    return 0 if $self->{reaped};

    my $r = waitpid($self->{pid}, WNOHANG);

    if ($r == $self->{pid} || $r < 0) {
        $self->{reaped} = 1;
        $self->{exit_status} = $r < 0 ? undef : $?;
        return 0;
    }

    return 1;
}

# waits until the master exits; true if it did

sub wait_exit {
    my ($self, $timeout) = @_;
    return $self->wait_for(sub { !$self->master_alive() }, $timeout // 10);
}

sub exit_status { $_[0]->{exit_status} }

sub signal {
    my ($self, $sig) = @_;
    die "hermod is not running\n" unless defined $self->{pid};
    return kill $sig, $self->{pid};
}

sub _conf_files_for {
    my ($self, $conf) = @_;

    my @files = ($conf);
    my %seen = ($conf => 1);

    # follow include lines of files written by this harness, so that
    # listen ports in included files are waited for as well

    for (my $i = 0; $i < @files; $i++) {
        my $text = $self->read_file($files[$i]) // next;
        my $dir = dirname($conf);

        while ($text =~ /^\s*include\s+["']?([^;"'\s]+)["']?\s*;/mg) {
            my $pat = $1;
            $pat = "$dir/$pat" unless $pat =~ m{^/};
            for my $f (sort glob $pat) {
                push @files, $f unless $seen{$f}++;
            }
        }
    }

    return @files;
}

sub _find_opt {
    my ($args, $opt) = @_;
    for my $i (0 .. $#$args) {
        return $i if $args->[$i] eq $opt;
    }
    return undef;
}

sub _build_args {
    my ($self, @args) = @_;

    my @pre;

    push @pre, '-p', "$self->{testdir}/" unless defined _find_opt(\@args, '-p');

    my $ci = _find_opt(\@args, '-c');
    my $conf = defined $ci ? $args[$ci + 1] : $self->conf_path();
    push @pre, '-c', $conf unless defined $ci;

    my $gi = _find_opt(\@args, '-g');
    my $g = defined $gi ? $args[$gi + 1] : '';

    my $conftext = join "\n",
        map { $self->read_file($_) // '' } $self->_conf_files_for($conf);

    unless ($g =~ /\bdaemon\b/ || $conftext =~ /^\s*daemon\s/m) {
        if (defined $gi) {
            $args[$gi + 1] = "daemon off; $g";
        } else {
            push @pre, '-g', 'daemon off;';
        }
    }

    my $master = !("$conftext\n$g" =~ /^\s*master_process\s+off\s*;/m
        || $g =~ /\bmaster_process\s+off\b/);

    return ([@pre, @args], $conf, $master);
}

sub run {
    my ($self, @extra) = @_;

    die "hermod is already running\n"
        if defined $self->{pid} && $self->master_alive();

    my ($args, $conf, $master) = $self->_build_args(@extra);

    my $stderr = "$self->{testdir}/logs/stderr";
    unlink $self->pid_path();

    Test::More::diag("run: $self->{binary} @$args")
        if $ENV{HERMOD_TEST_VERBOSE};

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $stderr or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        exec { $self->{binary} } $self->{binary}, @$args
            or print STDERR "exec $self->{binary}: $!\n";
        POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    $self->{reaped} = 0;
    $self->{exit_status} = undef;
    $self->{started} = 1;
    $self->{stopped} = 0;
    $self->{escalated} = 0;

    my $why;

    my $ready = $self->wait_for(sub {
        unless ($self->master_alive()) {
            $why = 'hermod exited during startup';
            return 1;
        }
        my $p = $self->read_file('logs/hermod.pid') // return 0;
        return 0 unless $p =~ /^\s*(\d+)\s*$/;
        return 0 unless $self->pid_alive($1);
        return 1 unless $master;
        return scalar($self->children_of($pid)) > 0;
    }, 10);

    $why //= 'timeout waiting for the pid file' . ($master ? ' and workers' : '')
        unless $ready;

    unless (defined $why) {
        my %ports;
        for my $f ($self->_conf_files_for($conf)) {
            $ports{$_} = 1 for @{ $self->{files}{$f}{listen} || [] };
        }
        for my $port (sort { $a <=> $b } keys %ports) {
            next if $self->wait_port($port, 10);
            $why = "port $port does not accept connections";
            last;
        }
    }

    if (defined $why) {
        my $st = $self->{exit_status};
        $why .= sprintf(" (%s)", _status_str($st)) if defined $st;
        die "cannot start hermod: $why\n"
            . "--- logs/stderr:\n" . ($self->read_file('logs/stderr') // '')
            . "--- logs/error.log:\n" . $self->error_log() . "---\n";
    }

    return $self;
}

sub _status_str {
    my ($st) = @_;
    return 'not reaped' unless defined $st;
    return 'exit ' . WEXITSTATUS($st) if WIFEXITED($st);
    return 'signal ' . WTERMSIG($st) if WIFSIGNALED($st);
    return "status $st";
}

# runs hermod in the foreground expecting a failure; returns the
# combined output (and the exit code in list context)

sub run_fail {
    my ($self, @extra) = @_;

    my ($args) = $self->_build_args(@extra);
    my ($rc, $out) = $self->_exec([$self->{binary}, @$args], timeout => 10);

    Test::More::diag("run_fail: hermod exited with 0") if defined $rc && $rc == 0;

    return wantarray ? ($out, $rc) : $out;
}

# runs hermod synchronously with -p TESTDIR/; returns (exit code, output)

sub hermod_cmd {
    my ($self, @args) = @_;
    return $self->_exec([$self->{binary}, '-p', "$self->{testdir}/", @args],
        timeout => 10);
}

# likewise, with stdout and stderr apart: (exit code, stdout, stderr)

sub hermod_cmd_split {
    my ($self, @args) = @_;
    return $self->_exec([$self->{binary}, '-p', "$self->{testdir}/", @args],
        timeout => 10, split => 1);
}

# runs any command with a deadline; exit code is 128+N when killed by
# signal N, undef when it had to be killed on timeout

sub _exec {
    my ($self, $cmd, %opts) = @_;

    my $n = ++$self->{cmd_seq};
    my $out = "$self->{testdir}/cmd/$n.out";
    my $err = $opts{split} ? "$self->{testdir}/cmd/$n.err" : undef;

    Test::More::diag("exec: @$cmd") if $ENV{HERMOD_TEST_VERBOSE};

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        chdir $opts{dir} or POSIX::_exit(127) if defined $opts{dir};
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(127);
        if (defined $err) {
            open STDERR, '>', $err or POSIX::_exit(127);
        } else {
            open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        }
        exec { $cmd->[0] } @$cmd
            or print STDERR "exec $cmd->[0]: $!\n";
        POSIX::_exit(127);
    }

    my $status;

    my $done = $self->wait_for(sub {
        my $r = waitpid($pid, WNOHANG);
        return 0 if $r == 0;
        $status = $?;
        return 1;
    }, $opts{timeout} // 10);

    unless ($done) {
        Test::More::diag("command did not finish in time, killing: @$cmd");
        kill 'QUIT', $pid;
        unless ($self->wait_for(sub { waitpid($pid, WNOHANG) != 0 }, 5)) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
        }
    }

    my $rc;

    if (defined $status) {
        $rc = WIFEXITED($status) ? WEXITSTATUS($status)
            : 128 + WTERMSIG($status);
    }

    my $o = $self->read_file($out) // '';

    return ($rc, $o, $self->read_file($err) // '') if defined $err;
    return ($rc, $o);
}

# runs an arbitrary command (cc, make, sh configure ...) with a deadline

sub run_cmd {
    my ($self, $cmd, %opts) = @_;
    return $self->_exec($cmd, timeout => 60, %opts);
}


# teardown

sub todo_alerts { $_[0]->{todo_alerts} = 1; $_[0] }
sub allow_emerg { $_[0]->{allow_emerg} = 1; $_[0] }

# lines matching one of these are expected: excluded from the check

sub allow_log {
    my ($self, @re) = @_;
    push @{ $self->{allow_log} }, @re;
    return $self;
}

sub stop {
    my ($self) = @_;

    return $self unless $self->{started} && !$self->{stopped};
    return $self unless $$ == $self->{owner};

    $self->{stopped} = 1;

    my @bad;
    my $pid = $self->{pid};

    if (defined $pid && $self->master_alive()) {
        my @workers = $self->worker_pids();

        kill 'QUIT', $pid;

        unless ($self->wait_exit(10)) {
            Test::More::diag("hermod $pid did not exit on QUIT in 10 s,"
                . " sending TERM");
            push @bad, "master did not exit on QUIT within 10 s";
            kill 'TERM', $pid;

            unless ($self->wait_exit(10)) {
                Test::More::diag("hermod $pid did not exit on TERM in 10 s,"
                    . " sending KILL");
                kill 'KILL', $pid;
                $self->wait_exit(10) or waitpid($pid, 0);
            }
        }

        for my $w (@workers) {
            next unless $self->pid_alive($w);
            Test::More::diag("worker $w survived the master, killing it");
            kill 'KILL', $w;
        }

        my $st = $self->{exit_status};
        if (!@bad && defined $st && $st != 0) {
            push @bad, "master exited with " . _status_str($st);
        }
    }

    $self->_check_logs(\@bad);

    return $self;
}

sub _check_logs {
    my ($self, $bad) = @_;

    my (@alerts, @san);
    my $dir = "$self->{testdir}/logs";

    opendir my $dh, $dir or return;
    my @files = sort grep { -f "$dir/$_" && !/\.pid$/ } readdir $dh;
    closedir $dh;

    for my $f (@files) {
        open my $fh, '<', "$dir/$f" or next;
        while (my $line = <$fh>) {
            if ($line =~ /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer/) {
                push @san, "$f: $line";
                next;
            }
            next unless $line =~ /\[(alert|emerg)\]/;
            my $level = $1;
            next if grep { $line =~ $_ } @{ $self->{allow_log} };
            next if $level eq 'emerg' && $self->{allow_emerg};
            push @alerts, "$f: $line";
        }
        close $fh;
    }

    local $Test::Builder::Level = $Test::Builder::Level + 2;

    my @all = (@$bad, @alerts, @san);
    my $tb = Test::More->builder;

    if ($self->{quiet_check}) {
        $tb->diag("problems at teardown after the plan:\n", @all) if @all;
        return;
    }

    my $todo = $self->{todo_alerts} && @alerts && !@san && !@$bad;
    $tb->todo_start('alerts expected') if $todo;

    $tb->ok(!@all, 'no alerts') or $tb->diag(join '', map { /\n\z/ ? $_ : "$_\n" } @all);

    $tb->todo_end() if $todo;
}

# stops hermod (running the log check) and ends the test plan

sub done_testing {
    my ($self, @args) = @_;

    for my $t (@INSTANCES) {
        $t->stop() if defined $t;
    }

    Test::More::done_testing(@args);
}

sub DESTROY {
    my ($self) = @_;
    return unless $$ == ($self->{owner} // 0);
    local ($?, $@, $!);
    eval { $self->_stop_late() };
}

sub _stop_late {
    my ($self) = @_;

    return unless $self->{started} && !$self->{stopped};

    # after the plan was declared, a further test would break it:
    # stop quietly and report problems as diagnostics only

    $self->{quiet_check} = Test::More->builder->has_plan ? 1 : 0;
    $self->stop();
}

END {
    for my $t (@INSTANCES) {
        next unless defined $t && $$ == $t->{owner};
        local $?;
        eval { $t->_stop_late() };
    }
}


# raw TCP helpers

sub tcp_connect {
    my ($self, $port, %opts) = @_;

    return IO::Socket::INET->new(
        PeerAddr => $opts{host} // '127.0.0.1',
        PeerPort => $port,
        Proto => 'tcp',
        Timeout => $opts{timeout} // 5,
    );
}

# reads from a socket until EOF, or until `len` bytes, or until the data
# matches `until`, or `timeout` seconds (default 5); returns the data.
# In list context also returns whether EOF was seen.

sub sock_read {
    my ($self, $sock, %opts) = @_;
    my ($data, $eof) = _xfer($sock, '', %opts);
    return wantarray ? ($data, $eof) : $data;
}

# writes $out while reading (no deadlock on large echoes), then reads
# as sock_read; `shutdown => 1` half-closes after the last byte

sub sock_xfer {
    my ($self, $sock, $out, %opts) = @_;
    my ($data, $eof) = _xfer($sock, $out, %opts);
    return wantarray ? ($data, $eof) : $data;
}

# writes all of $data (without reading); true when all was written

sub sock_write {
    my ($self, $sock, $data, %opts) = @_;

    local $SIG{PIPE} = 'IGNORE';

    my $deadline = time() + ($opts{timeout} // 5);
    my $sent = 0;
    my $sel = IO::Select->new($sock);

    $sock->blocking(0);

    while ($sent < length($data)) {
        my $left = $deadline - time();
        last if $left <= 0;
        next unless $sel->can_write($left);
        my $n = syswrite($sock, $data, 65536, $sent);
        if (defined $n) {
            $sent += $n;
        } elsif (!$!{EAGAIN} && !$!{EINTR}) {
            last;
        }
    }

    $sock->blocking(1);

    return $sent == length($data);
}

sub _xfer {
    my ($sock, $out, %opts) = @_;

    local $SIG{PIPE} = 'IGNORE';

    my $deadline = time() + ($opts{timeout} // 5);
    my $in = '';
    my $eof = 0;
    my $sent = 0;
    my $shut = 0;

    $sock->blocking(0);

    my $rsel = IO::Select->new($sock);

    while (1) {
        if ($sent >= length($out) && $opts{shutdown} && !$shut) {
            shutdown($sock, 1);
            $shut = 1;
        }

        if ($sent >= length($out)) {
            last if defined $opts{len} && length($in) >= $opts{len};
            last if defined $opts{until} && $in =~ $opts{until};
        }

        my $left = $deadline - time();
        last if $left <= 0;

        my $wsel = $sent < length($out) ? IO::Select->new($sock) : undef;
        my ($r, $w) = IO::Select->select($eof ? undef : $rsel, $wsel, undef,
            $left);

        if ($w && @$w) {
            my $n = syswrite($sock, $out, 65536, $sent);
            if (defined $n) {
                $sent += $n;
            } elsif (!$!{EAGAIN} && !$!{EINTR}) {
                last;
            }
        }

        if ($r && @$r) {
            my $n = sysread($sock, my $buf, 65536);
            if (defined $n && $n == 0) {
                $eof = 1;
            } elsif (defined $n) {
                $in .= $buf;
            } elsif (!$!{EAGAIN} && !$!{EINTR}) {
                $eof = 1;    # ECONNRESET and the like
            }
        }

        last if $eof;
    }

    $sock->blocking(1);

    return ($in, $eof);
}

# connect, send, read until EOF or timeout; returns the data read.
# Options as sock_xfer (shutdown, len, until, timeout).

sub tcp_request {
    my ($self, $port, $bytes, %opts) = @_;

    my $s = $self->tcp_connect($port, %opts) or return undef;
    my $data = $self->sock_xfer($s, $bytes // '', %opts);
    close $s;

    return $data;
}

1;
