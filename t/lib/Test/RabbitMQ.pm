package Test::RabbitMQ;

# RabbitMQ for the tests: a private broker (Debian's rabbitmq-server 3.10,
# run from /usr/lib/rabbitmq/bin/rabbitmq-server) on loopback ports, with
# amqp-tools (amqp-publish, amqp-get) and the management HTTP API (curl)
# as the independent clients.
#
#     my $t = Test::Hermod->new();
#     my $load = Test::RabbitMQ::load_module($t);     # or plan skip_all
#     my $r = Test::RabbitMQ->new($t, users => [[bridge => 's3cret']],
#         vhosts => ['test']);                        # or plan skip_all
#
#     my $s = Test::RabbitMQ->new($t, ssl => { cert => $crt, key => $key });
#     $s->ssl_port();                    # TLS listener (amqps) as well
#
#     $r->url();                         # amqp://guest:guest@127.0.0.1:PORT
#     $r->url(user => 'bridge', pass => 's3cret', vhost => 'test');
#     $r->declare_queue('in', durable => 1,
#         arguments => { 'x-queue-type' => 'quorum' });
#     $r->declare_exchange('events', type => 'topic');
#     $r->bind('in', 'events', 'order.*');
#     $r->publish(exchange => 'events', routing_key => 'order.created',
#         body => '{"id":1}', persistent => 1,
#         content_type => 'application/json', headers => [a => 1]);
#     my $body = $r->get('in');          # one body (amqp-get), undef: empty
#     my $m = $r->get_messages('in', 10);    # [{payload, body, properties,
#                                            #   routing_key, exchange, ...}]
#     my $m = $r->wait_messages('in', 3, timeout => 30);
#     my $q = $r->queue_info('in');      # {messages, messages_ready, ...}
#     $r->wait_queue('in', sub { ($_[0]{messages} // -1) == 0 });
#     my ($rc, $out) = $r->ctl('list_queues', 'name', 'messages');
#     $r->stop(); $r->start();           # data (durable queues, persistent
#                                        # messages) survives
#     $r->kill9();                       # the whole process group, at once
#
# Also: $r->port, mgmt_port, dist_port, epmd_port, node, dir, pid,
# running, log_path / server_log (the broker's stdout: its log),
# startup_seconds; $r->api(METHOD, '/queues/%2F/q', {json} or undef) ->
# (status, decoded answer) for any other management call;
# Test::RabbitMQ::missing($t): why a broker cannot run here (or undef).
#
# Every option of the queue, exchange and message calls takes vhost =>
# NAME (default "/").  The management API is needed for declare_*, bind,
# delete_queue, get_messages, wait_messages, queue_info and wait_queue
# (management => 1, the default).
#
# Each broker has its own node name (rabbitN_PID@localhost), its own epmd
# (started first, in the broker's process group, on its own port), pinned
# distribution and CLI distribution ports, and all its state under
# TESTDIR/rabbitN (HOME, so also the Erlang cookie).  Everything listens
# on 127.0.0.1 only.  Start-up takes 6-9 s on 2 cores; start() waits (at
# most 60 s) until the AMQP port accepts connections and the management
# API answers GET /api/overview with 200.
#
# The management API's queue counters (messages, messages_ready,
# messages_unacknowledged, consumers) are statistics, not the queue's
# state: queues emit them every collect_statistics_interval (500 ms
# here) and the management agent samples them every smallest
# sample_retention_policies interval (1 s here; 5 s by default, which
# collect_statistics_interval alone does not change).  So they lag the
# queue by up to 1.5 s, and a queue declared a moment ago has none of
# these fields yet.  Wait for them with wait_queue; to count messages
# exactly, take them (get_messages, wait_messages).
#
# At teardown (DESTROY, END) a running broker is killed with SIGKILL: its
# data is thrown away with the test directory anyway and a graceful stop
# costs seconds per test file.  With HERMOD_TEST_LEAVE set it is stopped
# gracefully instead, so that the kept data directory is consistent.
#
# Every wait is a condition polled against a deadline.

use strict;
use warnings;

use Test::More ();
use Digest::SHA qw(sha256);
use Encode ();
use IO::Socket::INET;
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(weaken);
use Time::HiRes qw(time sleep);

our $VERSION = '0.01';

our $BIN = '/usr/lib/rabbitmq/bin';

our @BROKERS;

my $SERIAL = 0;

my $JSON = JSON::PP->new->utf8->canonical;


# the configuration line that loads the module, or plan skip_all

sub load_module {
    my ($t) = @_;

    my $so = $t->builddir() . '/modules/hm_amqp_module.so';

    return 'load_module %%BUILDDIR%%/modules/hm_amqp_module.so;' if -e $so;
    return '# hm_amqp_module is compiled in'
        if $t->has_module('hm_amqp_module');

    Test::More::plan(skip_all => "no hm_amqp_module (not compiled in and"
        . " no $so)");
}

# the reason a broker cannot be run here, or undef

sub missing {
    my ($t) = @_;

    return "no $BIN/rabbitmq-server (apt-get install rabbitmq-server)"
        unless -x "$BIN/rabbitmq-server";
    return "no $BIN/rabbitmqctl" unless -x "$BIN/rabbitmqctl";
    return 'no epmd (erlang-base)' unless $t->has_program('epmd');

    for my $p (qw(amqp-publish amqp-get)) {
        return "no $p (apt-get install amqp-tools)" unless $t->has_program($p);
    }

    return 'no curl' unless $t->has_program('curl');

    return undef;
}


# the broker

sub new {
    my ($class, $t, %opts) = @_;

    my $why = missing($t);
    Test::More::plan(skip_all => $why) if defined $why;

    my $serial = ++$SERIAL;

    my $self = bless {
        t => $t,
        owner => $$,
        serial => $serial,
        management => $opts{management} // 1,
        ssl => $opts{ssl},
        users => $opts{users} || [],
        vhosts => $opts{vhosts} || [],
        node => "rabbit${serial}_$$\@localhost",
        dir => $t->testdir() . "/rabbit$serial",
        seq => 0,
    }, $class;

    push @BROKERS, $self;
    weaken($BROKERS[-1]);

    # a port taken by someone else between allocation and bind: again,
    # on other ports and in a fresh data directory

    for my $try (1 .. 3) {
        $self->_configure($try);
        return $self if $self->start(fail_ok => 1);

        Test::More::diag("RabbitMQ did not start (try $try): $self->{why}");
        $self->kill9();
    }

    die "cannot start RabbitMQ: $self->{why}\n";
}

sub port { $_[0]->{ports}{amqp} }
sub mgmt_port { $_[0]->{ports}{mgmt} }
sub ssl_port { $_[0]->{ports}{amqps} }
sub dist_port { $_[0]->{ports}{dist} }
sub epmd_port { $_[0]->{ports}{epmd} }
sub node { $_[0]->{node} }
sub dir { $_[0]->{dir} }
sub pid { $_[0]->{pid} }
sub log_path { "$_[0]->{dir}/server.out" }
sub server_log { $_[0]->{t}->read_file($_[0]->log_path()) // "" }
sub running { defined $_[0]->{pid} }

sub _configure {
    my ($self, $try) = @_;

    my $t = $self->{t};
    my $name = "rabbit$self->{serial}.$try";
    my $dir = $self->{dir};

    $self->{ports} = {
        map { ($_ => $t->port("$name.$_")) } qw(amqp amqps mgmt dist epmd ctl)
    };

    my $p = $self->{ports};

    system('rm', '-rf', $dir) if -e $dir;

    for my $d ($dir, "$dir/log", "$dir/mnesia") {
        mkdir $d or -d $d or die "mkdir $d: $!\n";
    }

    _write("$dir/rabbitmq-env.conf", '');

    my $conf = <<"EOF";
listeners.tcp.1 = 127.0.0.1:$p->{amqp}
loopback_users = none
default_user = guest
default_pass = guest
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
collect_statistics_interval = 500
EOF

    # TLS: ssl => { cert => PEM, key => PEM } listens on ssl_port too

    $conf .= <<"EOF" if $self->{ssl};
listeners.ssl.default = 127.0.0.1:$p->{amqps}
ssl_options.certfile = $self->{ssl}{cert}
ssl_options.keyfile = $self->{ssl}{key}
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF

    # the management agent collects statistics every (smallest sample
    # retention interval) seconds, 5 by default, whatever
    # collect_statistics_interval says: 1 s samples

    $conf .= <<"EOF" if $self->{management};
management.tcp.ip = 127.0.0.1
management.tcp.port = $p->{mgmt}
management.sample_retention_policies.global.minute = 1
management.sample_retention_policies.global.hour = 60
management.sample_retention_policies.basic.minute = 1
management.sample_retention_policies.basic.hour = 60
management.sample_retention_policies.detailed.10 = 1
EOF

    if (@{ $self->{users} } || @{ $self->{vhosts} }) {
        _write("$dir/definitions.json", $self->_definitions());
        $conf .= "load_definitions = $dir/definitions.json\n";
    }

    _write("$dir/rabbitmq.conf", $conf);
    _write("$dir/enabled_plugins",
        $self->{management} ? "[rabbitmq_management].\n" : "[].\n");

    return $self;
}

# users and vhosts at boot: guest stays the administrator with every
# permission on every vhost; each extra user ([name, password, tags])
# gets every permission on "/" and on the extra vhosts

sub _definitions {
    my ($self) = @_;

    my @users = (['guest', 'guest', 'administrator'], @{ $self->{users} });
    my @vhosts = ('/', @{ $self->{vhosts} });

    my (@u, @perm);

    for my $u (@users) {
        my ($name, $pass, $tags) = @$u;

        # rabbit_password_hashing_sha256: base64(salt . sha256(salt . pass))

        my $salt = pack('N', int(rand(2**32)));

        push @u, {
            name => $name,
            password_hash => encode_base64(
                $salt . sha256($salt . Encode::encode_utf8($pass)), ''),
            hashing_algorithm => 'rabbit_password_hashing_sha256',
            tags => [ grep { length } split /,/, $tags // '' ],
            limits => {},
        };

        push @perm, map { {
            user => $name, vhost => $_,
            configure => '.*', write => '.*', read => '.*',
        } } @vhosts;
    }

    return $JSON->encode({
        users => \@u,
        vhosts => [ map { { name => $_ } } @vhosts ],
        permissions => \@perm,
        topic_permissions => [],
        parameters => [],
        global_parameters => [],
        policies => [],
        queues => [],
        exchanges => [],
        bindings => [],
    });
}

sub _write {
    my ($path, $text) = @_;

    open my $fh, '>', $path or die "open $path: $!\n";
    binmode $fh;
    print $fh $text;
    close $fh or die "close $path: $!\n";
}

# the environment of the server and of the CLI

sub _env {
    my ($self) = @_;

    my $d = $self->{dir};
    my $p = $self->{ports};

    return (
        HOME => $d,
        RABBITMQ_NODENAME => $self->{node},
        RABBITMQ_NODE_IP_ADDRESS => '127.0.0.1',
        RABBITMQ_NODE_PORT => $p->{amqp},
        RABBITMQ_DIST_PORT => $p->{dist},
        ERL_EPMD_PORT => $p->{epmd},
        ERL_EPMD_ADDRESS => '127.0.0.1',

        # one CLI at a time per broker: ctl() runs synchronously

        RABBITMQ_CTL_DIST_PORT_MIN => $p->{ctl},
        RABBITMQ_CTL_DIST_PORT_MAX => $p->{ctl},
        RABBITMQ_CONF_ENV_FILE => "$d/rabbitmq-env.conf",
        RABBITMQ_CONFIG_FILE => "$d/rabbitmq.conf",
        RABBITMQ_ADVANCED_CONFIG_FILE => "$d/advanced.config",
        RABBITMQ_ENABLED_PLUGINS_FILE => "$d/enabled_plugins",
        RABBITMQ_MNESIA_BASE => "$d/mnesia",
        RABBITMQ_LOG_BASE => "$d/log",
        RABBITMQ_PID_FILE => "$d/rabbit.pid",
        RABBITMQ_LOGS => '-',

        # the distribution port on loopback only; epmd is ours

        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS =>
            '-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false',
    );
}

# runs $code with the broker's environment (and no other RABBITMQ_*)

sub _with_env {
    my ($self, $code) = @_;

    my %env = $self->_env();
    my @foreign = grep { /^RABBITMQ_/ && !exists $env{$_} } keys %ENV;

    local @ENV{keys %env} = values %env;
    local @ENV{@foreign};
    delete @ENV{@foreign};

    return $code->();
}

# starts the broker (again: same ports, node name and data directory);
# waits until the AMQP port accepts connections and the management API
# answers.  Dies on failure (fail_ok => 1: returns false, the reason in
# $self->{why}, the broker possibly half started).

sub start {
    my ($self, %opts) = @_;

    return $self if $self->{pid};

    my $t = $self->{t};
    my $p = $self->{ports};
    my $log = $self->log_path();

    delete $self->{why};

    my $t0 = time();

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        eval {
            POSIX::setsid();

            open STDIN, '<', '/dev/null';
            open STDOUT, '>>', $log or die "open $log: $!\n";
            open STDERR, '>&', \*STDOUT or die "dup: $!\n";

            $self->_with_env(sub {

                # epmd first, in the same process group, so that kill9()
                # and stop() take it along: erl does not start one
                # (-start_epmd false)

                my $epmd = fork();
                die "fork: $!\n" unless defined $epmd;

                if ($epmd == 0) {
                    exec 'epmd', '-port', $p->{epmd}, '-address',
                        '127.0.0.1' or print STDERR "exec epmd: $!\n";
                    POSIX::_exit(127);
                }

                print STDERR "hermod-test: epmd $epmd, port $p->{epmd}\n";

                $t->wait_port($p->{epmd}, 10)
                    or die "epmd does not listen on $p->{epmd}\n";

                exec "$BIN/rabbitmq-server"
                    or die "exec $BIN/rabbitmq-server: $!\n";
            });
        };
        print STDERR "hermod-test: $@";
        POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    $self->{status} = undef;

    my $ok = $t->wait_for(sub {
        unless ($self->_launcher_alive()) {
            $self->{why} = 'rabbitmq-server exited ('
                . _status_str($self->{status}) . ')';
            return 1;
        }

        return 0 unless _port_open($p->{amqp});
        return 1 unless $self->{management};
        return 0 unless _port_open($p->{mgmt});

        my ($code) = $self->api('GET', '/overview', undef, quiet => 1);
        return $code == 200;
    }, 60);

    $self->{why} //= 'no AMQP port' . ($self->{management}
        ? ' or management API' : '') . ' within 60 s' unless $ok;

    if (defined $self->{why}) {
        my $tail = $self->server_log();
        $tail = substr($tail, -3000) if length $tail > 3000;
        $self->{why} .= "\n--- $log (end):\n$tail\n---";

        return 0 if $opts{fail_ok};
        die "cannot start RabbitMQ: $self->{why}\n";
    }

    $self->{startup_seconds} = time() - $t0;

    Test::More::diag(sprintf("RabbitMQ %s ready in %.1f s", $self->{node},
        $self->{startup_seconds})) if $ENV{HERMOD_TEST_VERBOSE};

    return $self;
}

sub startup_seconds { $_[0]->{startup_seconds} }

sub _status_str {
    my ($st) = @_;
    return 'not reaped' unless defined $st;
    return 'exit ' . WEXITSTATUS($st) if WIFEXITED($st);
    return 'signal ' . WTERMSIG($st) if WIFSIGNALED($st);
    return "status $st";
}

sub _port_open {
    my ($port) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $port, Proto => 'tcp', Timeout => 1) or return 0;
    close $s;

    return 1;
}

# true while the launcher (the rabbitmq-server shell, the process group
# leader) has not exited

sub _launcher_alive {
    my ($self) = @_;

    my $pid = $self->{pid} // return 0;
    return 0 if $self->{reaped};

    my $r = waitpid($pid, WNOHANG);
    return 1 if $r == 0;

    $self->{reaped} = 1;
    $self->{status} = $r == $pid ? $? : undef;

    return 0;
}

# (state, pgrp) of a process or task from its stat file

sub _stat {
    my ($path) = @_;

    open my $fh, '<', $path or return;
    my $stat = <$fh> // return;
    close $fh;

    my $r = rindex($stat, ')');
    return if $r < 0;

    my ($state, undef, $pgrp) = split ' ', substr($stat, $r + 2);

    return ($state, $pgrp);
}

# live processes of the broker's process group.  A zombie is not alive
# unless one of its threads is: beam's main thread turns zombie before
# the others have exited and closed the sockets.

sub _group_pids {
    my ($self, $pgid) = @_;

    my @pids;

    opendir my $dh, '/proc' or return;

    for my $pid (grep { /^\d+$/ } readdir $dh) {
        my ($state, $pgrp) = _stat("/proc/$pid/stat") or next;
        next unless $pgrp == $pgid;

        if ($state =~ /^[ZX]$/) {
            opendir my $th, "/proc/$pid/task" or next;
            my @live = grep {
                /^\d+$/ && $_ != $pid
                && ((_stat("/proc/$pid/task/$_/stat"))[0] // 'X') !~ /^[ZX]$/
            } readdir $th;
            closedir $th;
            next unless @live;
        }

        push @pids, $pid;
    }

    closedir $dh;

    return @pids;
}

sub _forget {
    my ($self) = @_;

    my $pid = delete $self->{pid};

    # the launcher is our child: reap it

    waitpid($pid, 0) if defined $pid && !$self->{reaped};
    delete $self->{reaped};
}

# graceful stop, data kept: SIGTERM to the launcher shell, which stops
# beam the way "rabbitmqctl stop" does and waits for it; then its epmd

sub stop {
    my ($self, %opts) = @_;

    my $pid = $self->{pid};

    return $self unless defined $pid && $$ == $self->{owner};

    my $t = $self->{t};

    kill 'TERM', $pid;

    unless ($t->wait_for(sub { !$self->_launcher_alive() },
                         $opts{timeout} // 60))
    {
        Test::More::diag("RabbitMQ $self->{node} did not stop in time,"
            . " killing it");
        return $self->kill9();
    }

    kill 'TERM', -$pid;

    unless ($t->wait_for(sub { !$self->_group_pids($pid) }, 10)) {
        kill 'KILL', -$pid;
        $t->wait_for(sub { !$self->_group_pids($pid) }, 10);
    }

    $self->_forget();

    return $self;
}

# SIGKILL to the whole process group (launcher, beam, epmd), data kept

sub kill9 {
    my ($self) = @_;

    my $pid = $self->{pid};

    return $self unless defined $pid && $$ == $self->{owner};

    kill 'KILL', -$pid;

    $self->{t}->wait_for(sub {
        $self->_launcher_alive();
        return !$self->_group_pids($pid);
    }, 10) or Test::More::diag("RabbitMQ $self->{node}: processes left"
        . " after SIGKILL: @{[ $self->_group_pids($pid) ]}");

    $self->_forget();

    return $self;
}

sub _teardown {
    my ($self) = @_;

    return unless defined $self->{pid} && $$ == $self->{owner};

    $ENV{HERMOD_TEST_LEAVE} ? $self->stop() : $self->kill9();
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@, $!);
    eval { $self->_teardown() };
}

END {
    for my $r (@BROKERS) {
        next unless defined $r;
        local ($?, $@, $!);
        eval { $r->_teardown() };
    }
}


# rabbitmqctl with the broker's environment and node name: (exit code,
# output); about 0.7 s a call (it starts an Erlang VM)

sub ctl {
    my ($self, @args) = @_;

    return $self->_with_env(sub {
        $self->{t}->run_cmd(["$BIN/rabbitmqctl", '-n', $self->{node},
            @args], timeout => 60);
    });
}


# URLs

sub _pct {
    my ($s) = @_;

    $s = Encode::encode_utf8($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;

    return $s;
}

# amqp://USER:PASS@127.0.0.1:PORT[/VHOST]: no path for "/" (a trailing
# slash would select the vhost "").  Options: user, pass, vhost, port.

sub url {
    my ($self, %o) = @_;

    my $vhost = $o{vhost} // '/';

    return sprintf('amqp://%s:%s@127.0.0.1:%d%s',
        _pct($o{user} // 'guest'), _pct($o{pass} // 'guest'),
        $o{port} // $self->port(),
        $vhost eq '/' ? '' : '/' . _pct($vhost));
}

sub mgmt_url {
    my ($self) = @_;
    return 'http://127.0.0.1:' . $self->mgmt_port() . '/api';
}


# the management HTTP API (as guest): (status, decoded JSON or the raw
# answer); status 0 when curl failed.  $body: a reference (sent as JSON)
# or undef.

sub api {
    my ($self, $method, $path, $body, %opts) = @_;

    die "RabbitMQ $self->{node}: started with management => 0\n"
        unless $self->{management};

    my $t = $self->{t};
    my $n = ++$self->{seq};
    my @data;

    if (defined $body) {
        my $file = $t->testdir() . "/cmd/rabbit-api-$$-$n.json";
        _write($file, $JSON->encode($body));
        @data = ('-H', 'content-type: application/json',
            '--data-binary', "\@$file");
    }

    my ($rc, $out, $err) = $t->run_cmd(['curl', '-sS', '--max-time', '10',
        '-u', 'guest:guest', '-X', $method, @data,
        '-w', '\n%{http_code}', $self->mgmt_url() . $path],
        timeout => 20, split => 1);

    unless (defined $rc && $rc == 0 && $out =~ s/\n(\d{3})\z//) {
        Test::More::diag("RabbitMQ API $method $path: curl "
            . ($rc // 'timeout') . ": $err") unless $opts{quiet};
        return (0, $err);
    }

    my $code = $1;
    my $data = $out;

    if (length $out) {
        my $j = eval { $JSON->decode($out) };
        $data = $j if defined $j;
    }

    return ($code, $data);
}

sub _api_ok {
    my ($self, $what, $method, $path, $body, @codes) = @_;

    my ($code, $data) = $self->api($method, $path, $body);

    return $code if grep { $code == $_ } @codes;

    die "RabbitMQ $what: $method $path: $code "
        . (ref $data ? $JSON->encode($data) : $data) . "\n";
}

sub _vq {
    my ($o, $name) = @_;
    return '/' . _pct($o->{vhost} // '/') . '/' . _pct($name);
}

sub _bool { $_[0] ? JSON::PP::true : JSON::PP::false }

# a queue: durable => 1 (the default), auto_delete => 0, arguments => {}
# (numbers as numbers: 'x-max-length' => 10), vhost => "/"

sub declare_queue {
    my ($self, $name, %o) = @_;

    $self->_api_ok("declare queue $name", 'PUT', '/queues' . _vq(\%o, $name),
        {
            durable => _bool($o{durable} // 1),
            auto_delete => _bool($o{auto_delete}),
            arguments => $o{arguments} || {},
        }, 201, 204);

    return $self;
}

# an exchange: type => 'direct' (default), durable => 1 (the default),
# auto_delete, internal, arguments, vhost

sub declare_exchange {
    my ($self, $name, %o) = @_;

    $self->_api_ok("declare exchange $name", 'PUT',
        '/exchanges' . _vq(\%o, $name),
        {
            type => $o{type} // 'direct',
            durable => _bool($o{durable} // 1),
            auto_delete => _bool($o{auto_delete}),
            internal => _bool($o{internal}),
            arguments => $o{arguments} || {},
        }, 201, 204);

    return $self;
}

# binds a queue to an exchange; options: arguments, vhost

sub bind {
    my ($self, $queue, $exchange, $key, %o) = @_;

    my $vh = _pct($o{vhost} // '/');

    $self->_api_ok("bind $queue to $exchange", 'POST',
        "/bindings/$vh/e/" . _pct($exchange) . '/q/' . _pct($queue),
        {
            routing_key => $key // '',
            arguments => $o{arguments} || {},
        }, 201);

    return $self;
}

# true if it was deleted, false if there was no such queue

sub delete_queue {
    my ($self, $name, %o) = @_;

    my $code = $self->_api_ok("delete queue $name", 'DELETE',
        '/queues' . _vq(\%o, $name), undef, 204, 404);

    return $code == 204;
}

# amqp-publish: exchange (default ""), routing_key, body (bytes; may be
# empty or hold newlines), persistent, content_type, headers => [k => v,
# ...] (string values), vhost, url (overrides the connection).  True when
# amqp-publish succeeded: the message was sent, not confirmed (amqp-publish
# does not use publisher confirms; an unroutable message is dropped).

sub publish {
    my ($self, %o) = @_;

    my $t = $self->{t};
    my $n = ++$self->{seq};
    my $file = $t->testdir() . "/cmd/rabbit-publish-$$-$n.body";

    my $body = $o{body} // '';
    $body = Encode::encode_utf8($body) if utf8::is_utf8($body);
    _write($file, $body);

    my @cmd = ('amqp-publish', '--url', $o{url} // $self->url(%o),
        '-e', $o{exchange} // '', '-r', $o{routing_key} // '');

    push @cmd, '-p' if $o{persistent};
    push @cmd, '-C', $o{content_type} if defined $o{content_type};

    my @h = @{ $o{headers} || [] };
    while (my ($k, $v) = splice @h, 0, 2) {
        push @cmd, '-H', "$k: $v";
    }

    # the body from stdin: no -b, so any bytes (amqp-publish reads all of
    # stdin as one message)

    my ($rc, $out) = $t->run_cmd(['sh', '-c', 'exec "$@" < "$0"', $file,
        @cmd], timeout => 30);

    unless (defined $rc && $rc == 0) {
        Test::More::diag("amqp-publish failed (" . ($rc // 'timeout')
            . "): $out");
        return 0;
    }

    return 1;
}

# one message's body (amqp-get, acknowledged), or undef if the queue is
# empty (or amqp-get failed: see the diagnostics)

sub get {
    my ($self, $queue, %o) = @_;

    my ($rc, $out, $err) = $self->{t}->run_cmd(['amqp-get', '--url',
        $o{url} // $self->url(%o), '-q', $queue], timeout => 30, split => 1);

    return $out if defined $rc && $rc == 0;

    # amqp-get exits with 2 on an empty queue, 1 on errors

    Test::More::diag("amqp-get $queue failed (" . ($rc // 'timeout')
        . "): $err") unless defined $rc && $rc == 2;

    return undef;
}

# up to $count messages taken (ack_requeue_false) from a queue through
# the management API: an arrayref of hashes as the API gives them
# (payload, payload_encoding, payload_bytes, properties => {content_type,
# delivery_mode, headers, message_id, ...}, routing_key, exchange,
# redelivered, message_count) plus body: the payload as bytes.  A queue
# that does not exist gives [].

sub get_messages {
    my ($self, $queue, $count, %o) = @_;

    my ($code, $data) = $self->api('POST', '/queues' . _vq(\%o, $queue)
        . '/get', {
            count => 0 + ($count // 1),
            ackmode => 'ack_requeue_false',
            encoding => 'auto',
        });

    return [] if $code == 404;

    die "RabbitMQ get $queue: $code " . (ref $data ? $JSON->encode($data)
        : $data) . "\n" unless $code == 200 && ref $data eq 'ARRAY';

    for my $m (@$data) {
        my $p = $m->{payload} // '';
        $m->{body} = ($m->{payload_encoding} // '') eq 'base64'
            ? decode_base64($p) : Encode::encode_utf8($p);
    }

    return $data;
}

# takes messages until it has $count of them; returns them (fewer at the
# deadline).  Options: timeout (s, default 30), vhost.

sub wait_messages {
    my ($self, $queue, $count, %o) = @_;

    my @got;

    $self->{t}->wait_for(sub {
        my $m = $self->get_messages($queue, $count - @got, %o);
        push @got, @$m;
        return 1 if @got >= $count;
        sleep(0.05) unless @$m;
        return 0;
    }, $o{timeout} // 30);

    return \@got;
}

# the management API's view of a queue (messages, messages_ready,
# messages_unacknowledged, consumers, state, ...), undef if there is no
# such queue.  The counters lag (see above).

sub queue_info {
    my ($self, $queue, %o) = @_;

    my ($code, $data) = $self->api('GET', '/queues' . _vq(\%o, $queue));

    return undef if $code == 404;

    die "RabbitMQ queue $queue: $code " . (ref $data ? $JSON->encode($data)
        : $data) . "\n" unless $code == 200 && ref $data eq 'HASH';

    return $data;
}

# polls queue_info until $pred->($info) is true ($info: undef while the
# queue does not exist).  Returns true (and the last info in list
# context), false at the deadline.  Options: timeout (s, default 30), vhost.

sub wait_queue {
    my ($self, $queue, $pred, %o) = @_;

    my $info;

    my $ok = $self->{t}->wait_for(sub {
        $info = $self->queue_info($queue, %o);
        return 1 if $pred->($info);
        sleep(0.1);
        return 0;
    }, $o{timeout} // 30);

    return wantarray ? ($ok, $info) : $ok;
}

1;
