#!/usr/bin/perl

# access_log and log_format: the combined format, escape=json (valid JSON
# per line), escape=default, escape=none, access_log off, buffer= and
# flush=, reopening on USR1.

use warnings;
use strict;

use Test::More;
use JSON::PP;
use Time::HiRes qw(time);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_http_module', 'hm_http_core_module',
    'hm_http_log_module');

$t->write_file_expand('hermod.conf', <<'EOF');

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 64;
}

http {
    log_format json escape=json
        '{"uri":"$uri","args":"$args","status":$status,'
        '"val":"$http_x_val","missing":"$http_x_missing",'
        '"method":"$request_method","bytes":$body_bytes_sent}';

    log_format dflt '[$http_x_val] [$http_x_empty] [$http_x_missing] $uri';

    log_format raw escape=none '[$http_x_val]';

    access_log %%TESTDIR%%/logs/access.log;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        location = /json {
            access_log %%TESTDIR%%/logs/json.log json;
            return 200 "ok";
        }

        location = /dflt {
            access_log %%TESTDIR%%/logs/dflt.log dflt;
            return 200 "ok";
        }

        location = /raw {
            access_log %%TESTDIR%%/logs/raw.log raw;
            return 200 "ok";
        }

        location = /two {
            access_log %%TESTDIR%%/logs/two_a.log dflt;
            access_log %%TESTDIR%%/logs/two_b.log raw;
            return 200 "ok";
        }

        location = /off {
            access_log off;
            return 200 "ok";
        }

        location = /buf {
            access_log %%TESTDIR%%/logs/buf.log combined buffer=4k flush=1s;
            return 200 "ok";
        }

        location / {
            return 200 "ok";
        }
    }
}
EOF

$t->run();

my $port = $t->port(8080);

###############################################################################

sub get {
    my ($uri, $headers) = @_;

    my $r = $t->tcp_request($port, "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n" . ($headers // '') . "\r\n") // '';

    return $r =~ m{^HTTP/1\.1 (\d{3})} ? $1 : 0;
}

sub lines {
    my ($name) = @_;
    my $data = $t->read_file("logs/$name") // '';
    return split /\n/, $data;
}

# waits for a line matching $re in logs/$name; returns it

sub wait_line {
    my ($name, $re, $timeout) = @_;

    my $found;

    $t->wait_for(sub {
        ($found) = grep { $_ =~ $re } lines($name);
        defined $found;
    }, $timeout // 5);

    return $found;
}

###############################################################################

# the default combined format

is(get('/combined?a=1', "Referer: http://ref.example/x\r\n"
    . "User-Agent: tester/1.0\r\n"), 200, 'combined: request');

my $line = wait_line('access.log', qr{/combined\?a=1});
like($line, qr{^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /combined\?a=1 HTTP/1\.1" 200 2 "http://ref\.example/x" "tester/1\.0"$},
    'combined: line shape') or diag($line // 'no line');

get('/combined2');
$line = wait_line('access.log', qr{/combined2});
like($line, qr{"GET /combined2 HTTP/1\.1" 200 2 "-" "-"$},
    'combined: missing referer and agent as "-"') or diag($line // 'no line');

# escape=json: one valid JSON object per line

my $nasty = 'he said "hi" \\ back\\slash' . "\ttab";

get('/json?q=a%22b', "X-Val: $nasty\r\n");
get('/json', "X-Val: plain\r\n");
get('/json', "X-Val: caf\xc3\xa9\r\n");

$t->wait_for(sub { lines('json.log') >= 3 }, 5);

my @json = lines('json.log');
is(scalar(@json), 3, 'json: 3 lines');

my @obj = map { my $o = eval { JSON::PP->new->utf8->decode($_) }; $o }
    @json;

is(scalar(grep { ref $_ eq 'HASH' } @obj), 3, 'json: every line parses')
    or diag(join "\n", @json);

is($obj[0]{val}, $nasty, 'json: quotes, backslashes and a tab round-trip');
is($obj[0]{uri}, '/json', 'json: uri');
is($obj[0]{args}, 'q=a%22b', 'json: args');
is($obj[0]{status}, 200, 'json: status as a number');
is($obj[0]{missing}, '', 'json: a missing variable is empty');
is($obj[0]{method}, 'GET', 'json: method');
is($obj[0]{bytes}, 2, 'json: body_bytes_sent');
is($obj[1]{val}, 'plain', 'json: second line');
is($obj[2]{val}, "caf\x{e9}", 'json: UTF-8 bytes kept');

# escape=default: a quote is \x22, a backslash \x5C; a missing variable is
# "-", an empty one is empty (nginx)

get('/dflt', "X-Val: a\"b\\c\r\nX-Empty:\r\n");
$line = wait_line('dflt.log', qr{/dflt$});
my @f = split / /, $line // '';
is($f[0], '[a\x22b\x5Cc]', 'escape=default: quote as \x22, backslash as \x5C');
is($f[1], '[]', 'escape=default: an empty value is empty');
is($f[2], '[-]', 'escape=default: a missing value is "-"');
is($f[3], '/dflt', 'escape=default: the rest of the line');

# escape=none: as is

get('/raw', "X-Val: a\"b\\c\r\n");
$line = wait_line('raw.log', qr{^\[});
is($line, '[a"b\\c]', 'escape=none: line');

# two access_log directives in one location: both written

get('/two', "X-Val: both\r\n");
ok(wait_line('two_a.log', qr{^\[both\]}), 'two logs: the first');
ok(wait_line('two_b.log', qr{^\[both\]}), 'two logs: the second');
is(scalar(grep { /\/two\b/ } lines('access.log')), 0,
    'two logs: not in the inherited log');

# access_log off

get('/off?marker');
get('/after-off');
ok(wait_line('access.log', qr{/after-off}), 'access_log off: next logged');
is(scalar(grep { /marker/ } lines('access.log')), 0,
    'access_log off: not logged');

# buffer=4k flush=1s: the line is held, then flushed by the timer

my $t0 = time();
is(get('/buf?b=1'), 200, 'buffered: request');

my $early = scalar(grep { /\/buf\?b=1/ } lines('buf.log'));
my $elapsed_early = time() - $t0;

SKIP: {
    skip 'too slow to see the buffer', 1 if $elapsed_early > 0.5;
    is($early, 0, 'buffered: not written at once');
}

ok(wait_line('buf.log', qr{/buf\?b=1}, 3), 'buffered: flushed within 3 s');
my $elapsed = time() - $t0;
ok($elapsed >= 0.5, sprintf('buffered: flushed after %.2f s', $elapsed));

###############################################################################

# USR1: reopen; the renamed file keeps what was written, the new file
# gets the next lines

my $d = $t->testdir();

get('/before-reopen');
ok(wait_line('access.log', qr{/before-reopen}), 'reopen: line before');

rename "$d/logs/access.log", "$d/logs/access.log.old"
    or die "rename: $!";

$t->signal('USR1');

my $n = 0;
ok($t->wait_for(sub {
    $n++;
    get("/after-reopen?n=$n");
    -e "$d/logs/access.log"
        && grep { /after-reopen/ } lines('access.log');
}, 10), 'reopen: the new file gets the next lines');

ok(grep({ /before-reopen/ } lines('access.log.old')),
    'reopen: the old file kept the earlier line');
is(scalar(grep { /before-reopen/ } lines('access.log')), 0,
    'reopen: the earlier line is not in the new file');

$t->done_testing();

###############################################################################
