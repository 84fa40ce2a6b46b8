package Test::Kafka;

# Kafka for the tests: a mock cluster (t/tools/hm_kafka_mock.c, librdkafka's
# rdkafka_mock run as a standalone broker on loopback ports) and kcat as
# the independent client that produces and consumes.
#
#     my $t = Test::Hermod->new();
#     my $load = Test::Kafka::load_module($t);     # or plan skip_all
#     my $k = Test::Kafka->new($t, brokers => 3, topics => ['orders:3']);
#
#     $k->bootstrap();                     # "127.0.0.1:P1,127.0.0.1:P2,..."
#     $k->produce('orders', [[k1 => 'v1'], [k2 => 'v2']], headers => [a => 1]);
#     my @r = $k->wait_records('orders', 2);   # [{topic, partition, offset,
#                                              #   key, value, headers}, ...]
#     $k->down(2); $k->up(2);              # the mock's broker down/up
#     $k->stop();                          # also at teardown
#
# The mock tool is built on first use into BUILDDIR/t/tools/hm_kafka_mock
# (cc, pkg-config rdkafka, -ldl); when it cannot be built, or kcat is
# missing, the test is skipped.  Every wait is a condition polled against
# a deadline.

use strict;
use warnings;

use Test::More ();
use File::Basename qw(dirname);
use IO::Handle;
use IO::Select;
use JSON::PP ();
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(weaken);
use Time::HiRes qw(time sleep);

our $VERSION = '0.01';

our @MOCKS;

my %EXITED;    # pid => wait status of spawned commands

my $SERIAL = 0;


# the configuration line that loads the module, or plan skip_all

sub load_module {
    my ($t) = @_;

    my $so = $t->builddir() . '/modules/hm_kafka_module.so';

    return 'load_module %%BUILDDIR%%/modules/hm_kafka_module.so;' if -e $so;
    return '# hm_kafka_module is compiled in'
        if $t->has_module('hm_kafka_module');

    Test::More::plan(skip_all => "no hm_kafka_module (not compiled in and"
        . " no $so)");
}


# the mock tool: built when missing or older than its source; returns the
# path, or undef and the reason

sub tool {
    my ($t) = @_;

    my $src = $t->repo() . '/t/tools/hm_kafka_mock.c';
    my $bin = $t->builddir() . '/t/tools/hm_kafka_mock';

    return (undef, "no $src") unless -f $src;
    return ($bin) if -x $bin && -M $bin <= -M $src;

    return (undef, 'no pkg-config') unless $t->has_program('pkg-config');

    my ($rc, $out) = $t->run_cmd(['pkg-config', '--exists', 'rdkafka']);
    return (undef, 'no rdkafka.pc (apt-get install librdkafka-dev)')
        unless defined $rc && $rc == 0;

    # built under a temporary name and renamed: test files running in
    # parallel never see half a binary

    my $cc = $ENV{CC} || 'cc';
    my $tmp = "$bin.tmp.$$";

    ($rc, $out) = $t->run_cmd(['sh', '-c',
        'mkdir -p "$1" && $2 -O2 -o "$3" "$4" $(pkg-config --cflags --libs'
        . ' rdkafka) -ldl && mv -f "$3" "$5"',
        'sh', dirname($bin), $cc, $tmp, $src, $bin], timeout => 120);

    unlink $tmp;

    return (undef, "cannot build $bin: $out")
        unless defined $rc && $rc == 0 && -x $bin;

    return ($bin);
}

# everything a Kafka test needs, or plan skip_all: the module (returns its
# load line), kcat and the mock tool

sub prerequisites {
    my ($t) = @_;

    my $load = load_module($t);

    $t->skip_unless_program('kcat');

    my ($bin, $why) = tool($t);
    Test::More::plan(skip_all => "no Kafka mock tool: $why") unless $bin;

    return $load;
}


# the mock cluster

sub new {
    my ($class, $t, %opts) = @_;

    my ($bin, $why) = tool($t);
    die "no Kafka mock tool: $why\n" unless $bin;

    my $self = bless {
        t => $t,
        bin => $bin,
        owner => $$,
        brokers => $opts{brokers} // 1,
        topics => $opts{topics} // [],
        seq => 0,
    }, $class;

    push @MOCKS, $self;
    weaken($MOCKS[-1]);

    # a port taken by someone else between allocation and bind: again

    for my $try (1 .. 3) {
        return $self if $self->_start();
        Test::More::diag("Kafka mock did not start (try $try): "
            . ($self->{why} // '?'));
    }

    die "cannot start the Kafka mock cluster: $self->{why}\n";
}

sub bootstrap { $_[0]->{bootstrap} }
sub ports { @{ $_[0]->{ports} } }
sub pid { $_[0]->{pid} }
sub log_path { $_[0]->{log} }

sub _start {
    my ($self) = @_;

    my $t = $self->{t};
    my $serial = ++$SERIAL;

    my @ports = map { $t->port("kafka$serial.$_") } 1 .. $self->{brokers};

    $self->{ports} = \@ports;
    $self->{log} = $t->testdir() . "/kafka-mock-$serial.log";
    $self->{buf} = '';

    pipe(my $in_r, my $in_w) or die "pipe: $!\n";
    pipe(my $out_r, my $out_w) or die "pipe: $!\n";

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        close $in_w;
        close $out_r;
        open STDIN, '<&', $in_r or POSIX::_exit(127);
        open STDOUT, '>&', $out_w or POSIX::_exit(127);
        open STDERR, '>>', $self->{log} or POSIX::_exit(127);
        exec { $self->{bin} } $self->{bin}, '-e', '-n', $self->{brokers},
            '-p', join(',', @ports), @{ $self->{topics} }
            or print STDERR "exec $self->{bin}: $!\n";
        POSIX::_exit(127);
    }

    close $in_r;
    close $out_w;
    $in_w->autoflush(1);

    $self->{pid} = $pid;
    $self->{in} = $in_w;
    $self->{out} = $out_r;

    my $line = $self->_readline(10);

    unless (defined $line && $line =~ /^BOOTSTRAP (\S+)$/) {
        $self->{why} = 'no BOOTSTRAP line: '
            . ($t->read_file($self->{log}) // '');
        $self->stop();
        return 0;
    }

    $self->{bootstrap} = $1;

    for my $port (@ports) {
        next if $t->wait_port($port, 10);
        $self->{why} = "port $port does not accept connections";
        $self->stop();
        return 0;
    }

    return 1;
}

# a line from the mock's stdout, without its newline; undef on timeout
# or end of file

sub _readline {
    my ($self, $timeout) = @_;

    my $deadline = time() + ($timeout // 10);
    my $sel = IO::Select->new($self->{out});

    while (1) {
        if ($self->{buf} =~ s/^([^\n]*)\n//) {
            return $1;
        }

        my $left = $deadline - time();
        return undef if $left <= 0;
        next unless $sel->can_read($left);

        my $n = sysread($self->{out}, my $chunk, 4096);
        return undef unless $n;

        $self->{buf} .= $chunk;
    }
}

# sends a command line to the mock; returns its answer ("OK", "ERR ...")

sub command {
    my ($self, $cmd, $timeout) = @_;

    die "the Kafka mock is not running\n" unless $self->{pid};

    local $SIG{PIPE} = 'IGNORE';

    print { $self->{in} } "$cmd\n" or return "ERR write: $!";

    return $self->_readline($timeout // 10) // 'ERR no answer';
}

sub _ok_command {
    my ($self, $cmd) = @_;

    my $r = $self->command($cmd);
    die "Kafka mock: \"$cmd\": $r\n" unless $r eq 'OK';

    return $self;
}

# broker ids are 1 .. brokers

sub down { $_[0]->_ok_command("down $_[1]") }
sub up { $_[0]->_ok_command("up $_[1]") }
sub rtt { $_[0]->_ok_command("rtt $_[1] $_[2]") }
sub create_topic { $_[0]->_ok_command("topic $_[1] " . ($_[2] // 1)) }
sub set_leader { $_[0]->_ok_command("leader $_[1] $_[2] $_[3]") }

# a group's committed offsets of partitions 0 .. $parts - 1 (-1: none),
# without joining the group; an empty list on error

sub committed {
    my ($self, $group, $topic, $parts) = @_;

    my $r = $self->command("committed $group $topic " . ($parts // 1), 30);

    unless ($r =~ /^OK((?: -?\d+)*)$/) {
        Test::More::diag("committed $group $topic: $r");
        return ();
    }

    return split ' ', $1;
}

# waits until the committed offsets are @$want (one per partition)

sub wait_committed {
    my ($self, $group, $topic, $want, $timeout) = @_;

    my @got;

    my $ok = $self->{t}->wait_for(sub {
        @got = $self->committed($group, $topic, scalar @$want);
        return "@got" eq "@$want";
    }, $timeout // 30);

    return wantarray ? ($ok, @got) : $ok;
}

# the end offset of each partition (its record count) from kcat

sub end_offsets {
    my ($self, $topic, $parts) = @_;

    my @end = (0) x $parts;

    for my $r ($self->consume($topic)) {
        $end[$r->{partition}] = $r->{offset} + 1
            if $r->{offset} + 1 > $end[$r->{partition}];
    }

    return @end;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid};

    return unless $pid && $$ == $self->{owner};

    close $self->{in} if $self->{in};
    kill 'TERM', $pid;

    my $done = $self->{t}->wait_for(sub { waitpid($pid, WNOHANG) != 0 }, 5);

    unless ($done) {
        Test::More::diag("Kafka mock $pid did not exit on TERM, killing it");
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }

    close $self->{out} if $self->{out};
    delete @$self{qw(in out)};

    return $self;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@, $!);
    eval { $self->stop() };
}

END {
    for my $k (@MOCKS) {
        next unless defined $k;
        local $?;
        eval { $k->stop() };
    }
}


# kcat

# produces records: each a [key, value] pair (key undef: none) or a plain
# value (no key).  Options: headers => [name => value, ...] (on every
# record), partition => N, timeout (s), props => [kcat -X k=v ...].
# Returns true when kcat delivered all of them.

sub produce {
    my ($self, $topic, $records, %opts) = @_;

    my $t = $self->{t};
    my $n = ++$self->{seq};
    my $file = $t->testdir() . "/cmd/kcat-produce-$$-$n.txt";

    my $text = '';
    my $keyed = grep { ref $_ } @$records;

    for my $r (@$records) {
        my ($k, $v) = ref $r ? @$r : (undef, $r);

        die "produce: a newline in a record\n" if "$v" =~ /\n/
            || (defined $k && $k =~ /[\t\n]/);
        die "produce: a tab in an unkeyed record\n"
            if $keyed && !defined $k && $v =~ /\t/;

        # a line without the delimiter has no key

        $text .= (defined $k ? "$k\t" : '') . "$v\n";
    }

    open my $fh, '>', $file or die "open $file: $!\n";
    binmode $fh;
    print $fh $text;
    close $fh;

    my @cmd = ('kcat', '-b', $self->{bootstrap}, '-P', '-t', $topic,
        ($keyed ? ('-K', '\t') : ()), '-l', $file);

    my @h = @{ $opts{headers} || [] };
    while (my ($name, $value) = splice @h, 0, 2) {
        push @cmd, '-H', "$name=$value";
    }

    push @cmd, '-p', $opts{partition} if defined $opts{partition};
    push @cmd, map { ('-X', $_) } @{ $opts{props} || [] };

    my ($rc, $out) = $t->run_cmd(\@cmd, timeout => $opts{timeout} // 30);

    unless (defined $rc && $rc == 0) {
        Test::More::diag("kcat produce to $topic failed ("
            . ($rc // 'timeout') . "): $out");
        return 0;
    }

    return 1;
}

# the kcat command line that produces records in the background:
# Test::Kafka::spawn($t, [$k->produce_cmd(...)], ...)

sub produce_cmd {
    my ($self, $topic, $file, %opts) = @_;

    return ('kcat', '-b', $self->{bootstrap}, '-P', '-t', $topic,
        ($opts{keyed} ? ('-K', '\t') : ()),
        (defined $opts{partition} ? ('-p', $opts{partition}) : ()),
        '-l', $file);
}

# every record of a topic from the beginning (kcat -e: until the end of
# each partition); a list of {topic, partition, offset, key, value,
# timestamp, headers => [[name, value], ...], header => {name => value}}.
# Options: partition => N, props => [...], timeout (s).

sub consume {
    my ($self, $topic, %opts) = @_;

    my @cmd = ('kcat', '-b', $self->{bootstrap}, '-C', '-t', $topic,
        '-o', 'beginning', '-e', '-q',
        '-f', '%t %p %o %K %S %T\n%k%s\n%h\n');

    push @cmd, '-p', $opts{partition} if defined $opts{partition};
    push @cmd, map { ('-X', $_) } @{ $opts{props} || [] };

    my ($rc, $out, $err) = $self->{t}->run_cmd(\@cmd,
        timeout => $opts{timeout} // 30, split => 1);

    unless (defined $rc && $rc == 0) {
        Test::More::diag("kcat consume from $topic failed ("
            . ($rc // 'timeout') . "): $err");
        return ();
    }

    return _parse_records($out);
}

sub _parse_records {
    my ($out) = @_;

    my @records;
    my $pos = 0;

    while ($pos < length $out) {
        pos($out) = $pos;

        unless ($out =~ /\G(\S+) (\d+) (\d+) (-?\d+) (-?\d+) (-?\d+)\n/gc) {

            # not a record's first line: skipped

            my $nl = index($out, "\n", $pos);
            last if $nl < 0;
            $pos = $nl + 1;
            next;
        }

        my %r = (topic => $1, partition => $2, offset => $3,
                 timestamp => $6);
        my ($klen, $vlen) = ($4, $5);

        $pos = pos($out);

        $r{key} = $klen >= 0 ? substr($out, $pos, $klen) : undef;
        $pos += $klen if $klen > 0;

        $r{value} = $vlen >= 0 ? substr($out, $pos, $vlen) : undef;
        $pos += $vlen if $vlen > 0;

        $pos++;    # the newline after the value

        my $end = index($out, "\n", $pos);
        $end = length $out if $end < 0;

        my $h = substr($out, $pos, $end - $pos);
        $pos = $end + 1;

        $r{headers} = [ map { [ split /=/, $_, 2 ] } grep { length }
                        split /,/, $h ];
        $r{header} = { map { (lc $_->[0] => $_->[1] // '') }
                       @{ $r{headers} } };

        push @records, \%r;
    }

    return @records;
}

# waits until the topic has at least $n records; returns them (all of
# them: possibly fewer than $n on timeout)

sub wait_records {
    my ($self, $topic, $n, %opts) = @_;

    my @r;

    $self->{t}->wait_for(sub {
        @r = $self->consume($topic, %opts);
        return @r >= $n;
    }, $opts{wait} // 30);

    return @r;
}


# helpers that need no cluster

# the complete JSON lines of files (a glob pattern each): a list of
# hashes; a line that is not JSON is returned as {invalid => LINE}

sub jsonl {
    my (@patterns) = @_;

    my @out;

    for my $path (map { sort glob $_ } @patterns) {
        open my $fh, '<', $path or next;
        binmode $fh;
        local $/;
        my $data = <$fh> // '';
        close $fh;

        # a line still being written has no newline yet

        $data =~ s/[^\n]*\z//;

        for my $line (split /\n/, $data) {
            next unless length $line;
            my $j = eval { JSON::PP->new->utf8->decode($line) };
            push @out, $j // { invalid => $line };
        }
    }

    return @out;
}

# a record's body as text: "body" (a string, or JSON re-encoded
# canonically) or "body_base64" decoded

sub body_of {
    my ($r) = @_;

    if (exists $r->{body}) {
        my $b = $r->{body};
        return ref $b || !defined $b
            ? JSON::PP->new->canonical->encode($b) : "$b";
    }

    if (exists $r->{body_base64}) {
        require MIME::Base64;
        return MIME::Base64::decode_base64($r->{body_base64});
    }

    return undef;
}

# runs a command in the background (stdin /dev/null, stdout and stderr to
# $out); returns its pid.  reap() waits for it.

sub spawn {
    my ($t, $cmd, $out) = @_;

    $out //= '/dev/null';

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        exec { $cmd->[0] } @$cmd or print STDERR "exec $cmd->[0]: $!\n";
        POSIX::_exit(127);
    }

    return $pid;
}

# exit code of a spawned command (128+N on signal N); undef if it did not
# finish in time (it is left running)

sub reap {
    my ($t, $pid, $timeout) = @_;

    $t->wait_for(sub { !running($pid) }, $timeout // 10);

    my $status = delete $EXITED{$pid};

    return undef unless defined $status;
    return -1 if $status == -1;
    return WIFEXITED($status) ? WEXITSTATUS($status) : 128 + WTERMSIG($status);
}

# true while a spawned command runs

sub running {
    my ($pid) = @_;

    return 0 if exists $EXITED{$pid};

    my $r = waitpid($pid, WNOHANG);
    return 1 if $r == 0;

    $EXITED{$pid} = $r == $pid ? $? : -1;

    return 0;
}

1;
