#!/usr/bin/perl

# Kafka module configuration: every directive of the outbound and the
# inbound accepted by -t (without a broker: -t connects to nothing), and
# the errors, each naming FILE:LINE: a librdkafka property it rejects, in
# either block; a missing brokers, topic, group_id or pipeline; an unknown
# pipeline; bad enum values.

use warnings;
use strict;

use Test::More;
use Time::HiRes qw(time);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;
use Test::Kafka;

###############################################################################

my $t = Test::Hermod->new();

my $load = Test::Kafka::load_module($t);

# a port nothing listens on: -t must not need the broker

my $nobroker = '127.0.0.1:' . $t->port(9092);

my $head = <<"EOF";
$load

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}

pipeline p { output k; }
pipeline c { output f; }

outbound f file { path %%TESTDIR%%/out.jsonl; }
EOF

my $good = $head . <<"EOF";

outbound k kafka {
    brokers $nobroker;
    topic orders-\$message_header_x_region;
    key \$message_key;
    headers on;
    partitioner murmur2_random;
    acks all;
    idempotence on;
    compression none;
    linger 5ms;
    batch_size 1m;
    max_in_flight 10000;
    kafka_property socket.keepalive.enable true;
    kafka_property client.id hermod-test;
}

outbound k2 kafka {
    brokers $nobroker,127.0.0.1:1;
    topic plain;
    acks 1;
    compression lz4;
    idempotence off;
}

inbound in kafka {
    brokers $nobroker;
    topics orders ^orders-.*;
    group_id hermod;
    auto_offset_reset earliest;
    session_timeout 10s;
    commit_interval 1s;
    pipeline c;
    kafka_property fetch.wait.max.ms 50;
}

inbound in2 kafka {
    brokers $nobroker;
    topics other;
    group_id hermod2;
    auto_offset_reset latest;
    pipeline p;
}
EOF

my $conf = $t->write_file_expand('good.conf', $good);

my $start = time();
my ($rc, $out) = $t->hermod_cmd('-t', '-c', $conf);

is($rc, 0, 'every directive: -t exit code') or diag($out);
like($out, qr/test is successful/, 'every directive: test is successful');
unlike($out, qr/\[emerg\]/, 'every directive: no emerg');
cmp_ok(time() - $start, '<', 5, '-t does not wait for the broker');

# the errors: the line marked "# ERR" is the one named

sub err_line {
    my ($text) = @_;
    my @lines = split /\n/, $text, -1;
    for my $i (0 .. $#lines) {
        return $i + 1 if $lines[$i] =~ /# ERR/;
    }
    die "no # ERR marker\n";
}

sub conf_fails {
    my ($name, $body, $msg) = @_;

    my $text = $head . $body;
    my $path = $t->write_file_expand($name, $text);
    my $line = err_line($text);

    my ($rc, $out) = $t->hermod_cmd('-t', '-c', $path);

    isnt($rc, 0, "$name: -t fails");
    like($out, qr/\[emerg\]/, "$name: emerg");
    like($out, $msg, "$name: says why") or diag($out);
    like($out, qr/ in \Q$path\E:$line(?!\d)/, "$name: in FILE:$line")
        or diag($out);
}

conf_fails('property.conf', <<"EOF", qr/no\.such\.property/);

outbound k kafka {
    brokers $nobroker;
    topic orders;
    kafka_property no.such.property 1;    # ERR
}
EOF

conf_fails('property_value.conf', <<"EOF", qr/queue\.buffering\.max\.ms/);

outbound k kafka {
    brokers $nobroker;
    topic orders;
    kafka_property queue.buffering.max.ms banana;    # ERR
}
EOF

conf_fails('property_in.conf', <<"EOF", qr/no\.such\.property/);

outbound k kafka { brokers $nobroker; topic orders; }

inbound in kafka {
    brokers $nobroker;
    topics orders;
    group_id hermod;
    pipeline c;
    kafka_property no.such.property 1;    # ERR
}
EOF

conf_fails('no_brokers.conf', <<"EOF", qr/brokers/);

outbound k kafka {    # ERR
    topic orders;
}
EOF

conf_fails('no_topic.conf', <<"EOF", qr/topic/);

outbound k kafka {    # ERR
    brokers $nobroker;
}
EOF

conf_fails('no_brokers_in.conf', <<"EOF", qr/brokers/);

outbound k kafka { brokers $nobroker; topic orders; }

inbound in kafka {    # ERR
    topics orders;
    group_id hermod;
    pipeline c;
}
EOF

conf_fails('no_pipeline.conf', <<"EOF", qr/pipeline/);

outbound k kafka { brokers $nobroker; topic orders; }

inbound in kafka {    # ERR
    brokers $nobroker;
    topics orders;
    group_id hermod;
}
EOF

conf_fails('no_group.conf', <<"EOF", qr/group_id/);

outbound k kafka { brokers $nobroker; topic orders; }

inbound in kafka {    # ERR
    brokers $nobroker;
    topics orders;
    pipeline c;
}
EOF

conf_fails('unknown_pipeline.conf', <<"EOF", qr/nosuch/);

outbound k kafka { brokers $nobroker; topic orders; }

inbound in kafka {
    brokers $nobroker;
    topics orders;
    group_id hermod;
    pipeline nosuch;    # ERR
}
EOF

conf_fails('offset_reset.conf', <<"EOF", qr/sideways/);

outbound k kafka { brokers $nobroker; topic orders; }

inbound in kafka {
    brokers $nobroker;
    topics orders;
    group_id hermod;
    auto_offset_reset sideways;    # ERR
    pipeline c;
}
EOF

conf_fails('compression.conf', <<"EOF", qr/rot13/);

outbound k kafka {
    brokers $nobroker;
    topic orders;
    compression rot13;    # ERR
}
EOF

conf_fails('acks.conf', <<"EOF", qr/acks|sometimes/);

outbound k kafka {
    brokers $nobroker;
    topic orders;
    acks sometimes;    # ERR
}
EOF

conf_fails('unknown_directive.conf', <<"EOF", qr/unknown directive "topicz"/);

outbound k kafka {
    brokers $nobroker;
    topicz orders;    # ERR
}
EOF

done_testing();
