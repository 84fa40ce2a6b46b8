#!/usr/bin/perl
#
# The pipeline benchmarks (bench/http-to-http/run, bench/http-to-file/run):
# wrk POSTs of a 1 KiB JSON body to one hermod (one worker, cpu 1; origin
# and wrk on cpu 0, as ../shared/BENCH.md describes) that serves, side by
# side in the same run:
#
#   /proxy   the plain reverse proxy of the HTTP issue (proxy_pass to the
#            origin, upstream keepalive): the reference
#   /p0      a pipeline with no filter, to the outbound
#   /p1      + transform (header_set, json_set)
#   /p2      + route (a JSON number, a header prefix, a default)
#   /p3      + retry: the three-filter pipeline of the issue
#
# The outbound is the HTTP webhook to the same origin (MODE http) or a file
# (MODE file, truncated between runs).  The proxy and p3 alternate in ABBA
# order (PAIRS pairs, SECONDS each); p0..p2 run once per pair.  Prints the
# median req/s and p99 of each, the ratio to the proxy, and the cost of
# each filter in microseconds per message (from the req/s differences).
#
# usage: bench/lib/pipeline.pl http|file [PAIRS] [SECONDS]

use strict;
use warnings;
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use File::Temp qw(tempdir);
use FindBin;

my $mode = shift // 'http';
my $pairs = shift // 4;
my $secs = shift // 5;

$mode =~ /^(http|file)$/ or die "usage: $0 http|file [PAIRS] [SECONDS]\n";

my $repo = "$FindBin::Bin/../..";
my $hermod = $ENV{HERMOD_BINARY} // "$repo/objs/hermod";
my $nginx = '/usr/sbin/nginx';

-x $hermod or die "no hermod at $hermod (make)\n";
-x $nginx or die "no nginx (apt-get install nginx-light)\n";
system('which wrk >/dev/null') == 0 or die "no wrk (apt-get install wrk)\n";

my $dir = tempdir('hermod-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/$_" for qw(o o/logs h h/logs);

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub write_file { open my $f, '>', $_[0] or die "$_[0]: $!"; print $f $_[1]; }

my ($oport, $hport) = (free_port(), free_port());
my $user = $> == 0 ? 'user root;' : '';

write_file("$dir/o/nginx.conf", <<"END");
$user
worker_processes 1;
error_log $dir/o/logs/error.log;
pid $dir/o/logs/nginx.pid;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_max_body_size 10m;
    server {
        listen 127.0.0.1:$oport backlog=4096;
        location / { return 200 "Hello world!\\n"; }
    }
}
END

my $outbound = $mode eq 'http'
    ? "outbound out http { url http://origin/hook; }"
    : "outbound out file { path $dir/h/out.jsonl; }";

write_file("$dir/h/hermod.conf", <<"END");
worker_processes 1;
error_log $dir/h/logs/error.log;
pid $dir/h/logs/hermod.pid;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_requests 1000000;
    upstream origin { server 127.0.0.1:$oport; keepalive 256; }
    server {
        listen 127.0.0.1:$hport backlog=4096;
        location /proxy {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /p0 { pipeline p0; }
        location /p1 { pipeline p1; }
        location /p2 { pipeline p2; }
        location /p3 { pipeline p3; }
    }
}

$outbound

pipeline p0 { output out; }

pipeline p1 {
    transform { header_set x-source bench; json_set \$.received_at \$time_iso8601; }
    output out;
}

pipeline p2 {
    transform { header_set x-source bench; json_set \$.received_at \$time_iso8601; }
    route {
        when \$json.amount > 1000 -> out;
        when \$http_x_region ^= eu- -> out;
        default -> out;
    }
}

pipeline p3 {
    transform { header_set x-source bench; json_set \$.received_at \$time_iso8601; }
    route {
        when \$json.amount > 1000 -> out;
        when \$http_x_region ^= eu- -> out;
        default -> out;
    }
    retry attempts=3 backoff=100ms..1s;
}
END

my $pad = 'x' x 930;

write_file("$dir/post.lua", <<"END");
wrk.method = "POST"
wrk.body = '{"id":12345,"amount":1500,"currency":"EUR","region":"eu-west","pad":"$pad"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Region"] = "eu-west"
END

system("taskset -c 0 $nginx -p $dir/o/ -c $dir/o/nginx.conf") == 0
    or die "origin did not start\n";
system("taskset -c 1 $hermod -p $dir/h/ -c $dir/h/hermod.conf") == 0
    or die "hermod did not start\n";

END {
    for my $pf ("$dir/o/logs/nginx.pid", "$dir/h/logs/hermod.pid") {
        next unless $pf && -f $pf;
        open my $f, '<', $pf or next;
        my $pid = <$f>;
        kill 'QUIT', $pid if $pid;
    }
    sleep 0.5;
}

for my $p ($oport, $hport) {
    my $ok;
    for (1 .. 100) {
        if (IO::Socket::INET->new("127.0.0.1:$p")) { $ok = 1; last; }
        sleep 0.05;
    }
    die "port $p not up\n" unless $ok;
}

sub wrk {
    my ($path, $duration) = @_;
    my $out = `taskset -c 0 wrk -t1 -c50 -d${duration}s --latency -s $dir/post.lua http://127.0.0.1:$hport$path 2>&1`;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $unit) = $out =~ /99%\s+([\d.]+)(us|ms|s)/;
    $p99 = defined $p99
           ? $p99 * ($unit eq 'us' ? 0.001 : $unit eq 's' ? 1000 : 1) : 0;
    my ($errors) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    die "$path: $errors non-2xx responses\n$out" if $errors;
    truncate("$dir/h/out.jsonl", 0) if $mode eq 'file';
    return ($rps // 0, $p99);
}

sub median { my @s = sort { $a <=> $b } @_; return $s[int(@s / 2)]; }

my @paths = qw(/proxy /p0 /p1 /p2 /p3);
my (%rps, %p99, @ratio);

wrk($_, 2) for @paths;    # warm-up

for my $i (1 .. $pairs) {
    my @order = $i % 2 ? qw(/proxy /p3 /p3 /proxy) : qw(/p3 /proxy /proxy /p3);
    my %pair;

    for my $path (@order, qw(/p0 /p1 /p2)) {
        my ($r, $p) = wrk($path, $secs);
        push @{ $rps{$path} }, $r;
        push @{ $p99{$path} }, $p;
        push @{ $pair{$path} }, $r;
    }

    push @ratio, ($pair{'/p3'}[0] + $pair{'/p3'}[1])
                 / ($pair{'/proxy'}[0] + $pair{'/proxy'}[1]);
}

my %label = ('/proxy' => 'plain proxy', '/p0' => 'pipeline, 0 filters',
             '/p1' => '+ transform', '/p2' => '+ route',
             '/p3' => '+ retry (3 filters)');

printf "outbound: %s; wrk -c50, POST 1 KiB JSON; %d pairs x %d s\n",
       $mode eq 'http' ? 'HTTP webhook to the origin' : 'file', $pairs, $secs;
printf "%-22s %12s %10s %10s %14s\n", 'location', 'req/s', 'p99 ms',
       'vs proxy', 'filter us/msg';

my $proxy = median(@{ $rps{'/proxy'} });
my $prev;

for my $path (@paths) {
    my $r = median(@{ $rps{$path} });
    my $cost = defined $prev && $path ne '/p0' && $r && $prev
               ? sprintf('%.2f', 1e6 / $r - 1e6 / $prev) : '';
    printf "%-22s %12.0f %10.2f %10.2f %14s\n", $label{$path}, $r,
           median(@{ $p99{$path} }), $r / ($proxy || 1), $cost;
    $prev = $r unless $path eq '/proxy';
}

printf "three-filter pipeline / plain proxy, median of ABBA pairs: %.2f\n",
       median(@ratio);
