#!/usr/bin/perl

# The transform filter: header operations (set, add, remove, rename with
# positions kept, regex replace), JSON operations (set with every type,
# remove, rename, missing paths, paths that cross a non-object, values
# that do not convert), the raw body (set from a template, regex replace
# with references, a 1 MiB body), the three on_error policies against
# bad input, and configuration errors.

use warnings;
use strict;

use Test::More;
use JSON::PP;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

###############################################################################

my $t = Test::Hermod->new();

$t->skip_unless_module('hm_pipeline_module', 'hm_pipeline_transform_module',
    'hm_pipeline_file_module', 'hm_http_pipeline_module');
$t->skip_unless_program('curl');

$t->write_file_expand('hermod.conf', <<'EOF');

error_log %%TESTDIR%%/logs/error.log info;
worker_processes 1;

events {
    worker_connections 128;
}

pipeline headers {
    transform {
        header_set X-Set "v-$message_header_x_in";
        header_add X-Added a1;
        header_add X-Added a2;
        header_remove X-Drop;
        header_rename X-Old X-New;
        header_replace X-Path "/v(\d+)/" "/version$1/" g;
        header_replace X-Once "o" "0";
        header_replace X-Absent "a" "b";
    }
    output headers;
}

pipeline json {
    transform {
        json_set $.meta.source http;
        json_set meta.count 42 number;
        json_set meta.real -1.5e3 number;
        json_set meta.ok true boolean;
        json_set meta.nothing x null;
        json_set meta.obj '{"k":[1,2]}' json;
        json_set $.copy "in=$message_header_x_in";
        json_set $.items[1] second;
        json_remove $.secret;
        json_remove $.absent.deep;
        json_remove $.items[9];
        json_rename $.old $.renamed.inner;
        json_rename $.missing $.nowhere;
    }
    output json;
}

# values from headers: converted per message
pipeline types {
    transform {
        on_error pass;
        json_set $.n $message_header_x_n number;
        json_set $.b $message_header_x_b boolean;
        json_set $.j $message_header_x_j json;
        json_set $.s $message_header_x_s;
        json_set $.after yes;
    }
    output types;
}

pipeline typesfail {
    transform {
        json_set $.n $message_header_x_n number;
    }
    output typesfail;
}

pipeline paths {
    transform {
        json_set $.o.k 1 number;
        json_set $.l[2] x;
        json_set $.m[0] x;
        json_rename $.s $.t.u;
    }
    output paths;
}

pipeline fail {
    transform {
        json_set $.a 1 number;
    }
    output fail;
    dead_letter faildl;
}

pipeline pass {
    transform {
        on_error pass;
        json_set $.a 1 number;
        json_set $.x.y[1] 1 number;
        json_rename $.src $.dst.x;
        json_set $.dst.deep 1 number;
        header_set X-After yes;
        json_set $.after 2 number;
    }
    output pass;
}

pipeline dead {
    transform {
        on_error dead_letter;
        json_set $.a 1 number;
    }
    output dead;
    dead_letter deaddl;
}

pipeline body {
    transform {
        body_set '{"wrapped":"$message_header_x_id"}';
    }
    output body;
}

pipeline replace {
    transform {
        body_replace "(a)(b)" "$2$1";
        body_replace "c" "CC" g;
        body_replace "nomatch" "x" g;
    }
    output replace;
}

pipeline big {
    transform {
        body_replace "b" "BBBB" g;
        header_set X-Big yes;
    }
    output big;
}

pipeline mix {
    transform {
        json_set $.a x;
        body_replace '"a":"x"' '"a":"y"';
        json_set $.b z;
    }
    output mix;
}

outbound headers file { path %%TESTDIR%%/headers.jsonl; }
outbound json file { path %%TESTDIR%%/json.jsonl; }
outbound types file { path %%TESTDIR%%/types.jsonl; }
outbound typesfail file { path %%TESTDIR%%/typesfail.jsonl; }
outbound paths file { path %%TESTDIR%%/paths.jsonl; }
outbound fail file { path %%TESTDIR%%/fail.jsonl; }
outbound faildl file { path %%TESTDIR%%/faildl.jsonl; }
outbound pass file { path %%TESTDIR%%/pass.jsonl; }
outbound dead file { path %%TESTDIR%%/dead.jsonl; }
outbound deaddl file { path %%TESTDIR%%/deaddl.jsonl; }
outbound body file { path %%TESTDIR%%/body.jsonl; }
outbound replace file { path %%TESTDIR%%/replace.jsonl; }
outbound big file { path %%TESTDIR%%/big.jsonl; }
outbound mix file { path %%TESTDIR%%/mix.jsonl; }

http {
    access_log off;
    client_max_body_size 4m;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location /headers { pipeline headers; }
        location /json { pipeline json; }
        location /types { pipeline types; }
        location /typesfail { pipeline typesfail; }
        location /paths { pipeline paths; }
        location /fail { pipeline fail; }
        location /pass { pipeline pass; }
        location /dead { pipeline dead; }
        location /body { pipeline body; }
        location /replace { pipeline replace; }
        location /big { pipeline big; }
        location /mix { pipeline mix; }
    }
}
EOF

$t->run();

my $port = $t->port(8080);
my $dir = $t->testdir();

my $JSON = 'Content-Type: application/json';

# POST: (status, decoded answer); '@file' bodies as curl reads them

sub post {
    my ($path, $body, @headers) = @_;

    my ($rc, $out) = $t->run_cmd(['curl', '-sS', '-o', "$dir/cmd/body",
        '-w', '%{http_code}', '-X', 'POST', '--data-binary', $body,
        (map { ('-H', $_) } @headers),
        "http://127.0.0.1:$port$path"]);

    my $reply = $t->read_file("$dir/cmd/body") // '';
    my $json = eval { decode_json($reply) };

    return ($out, $json, $reply);
}

sub lines {
    my ($name) = @_;

    my $text = $t->read_file("$dir/$name") // '';
    return grep { length } split /\n/, $text;
}

sub records {
    return map { decode_json($_) } lines(@_);
}

sub last_record {
    my @r = records(@_);
    return $r[-1];
}

# -- headers ------------------------------------------------------------------

my ($status, $reply) = post('/headers', 'h', 'Content-Type: text/plain',
    'X-In: input', 'X-Set: old1', 'X-Set: old2', 'X-Drop: gone',
    'X-Before: b', 'X-Old: 1', 'X-Mid: m', 'X-Old: 2', 'X-After: a',
    'X-Path: /v1/a/v22/b', 'X-Once: foo');

is($status, 202, 'headers: 202');

my @raw = lines('headers.jsonl');
my $r = decode_json($raw[0]);

is($r->{headers}{'x-set'}, 'v-input', 'header_set: one value, a template');
is_deeply($r->{headers}{'x-added'}, ['a1', 'a2'], 'header_add: both');
ok(!exists $r->{headers}{'x-drop'}, 'header_remove');
ok(!exists $r->{headers}{'x-old'}, 'header_rename: the old name is gone');
is_deeply($r->{headers}{'x-new'}, ['1', '2'],
    'header_rename: every occurrence');
like($raw[0], qr/"x-before".*"x-new".*"x-mid".*"x-after"/,
    'header_rename: positions kept');
is($r->{headers}{'x-path'}, '/version1/a/version22/b',
    'header_replace g: every match, with a reference');
is($r->{headers}{'x-once'}, 'f0o', 'header_replace: the first match only');
ok(!exists $r->{headers}{'x-absent'}, 'header_replace: no such header');
is($r->{body}, 'h', 'headers: body untouched');

# -- JSON ---------------------------------------------------------------------

($status) = post('/json',
    '{"old":{"v":1},"secret":"s","items":["first"],"keep":true}',
    $JSON, 'X-In: yes');

is($status, 202, 'json: 202');

$r = last_record('json.jsonl');

is_deeply($r->{body}, {
    meta => {
        source => 'http', count => 42, real => -1500, ok => JSON::PP::true,
        nothing => undef, obj => { k => [1, 2] },
    },
    copy => 'in=yes',
    items => ['first', 'second'],
    renamed => { inner => { v => 1 } },
    keep => JSON::PP::true,
}, 'json: every operation') or diag(explain($r->{body}));

my @jl = lines('json.jsonl');
like($jl[0], qr/"count":42[,}]/, 'json_set number: an integer stays one');

# no content type: JSON is assumed

($status) = post('/json', '{"z":0,"items":[0]}', 'Content-Type:');
is($status, 202, 'no content type: 202');
$r = last_record('json.jsonl');
is($r->{body}{meta}{count}, 42, 'no content type: handled as JSON');
is($r->{body}{z}, 0, 'no content type: the body kept');

# -- values that do not convert -----------------------------------------------

($status) = post('/types', '{}', $JSON, 'X-N: 12.5', 'X-B: false',
    'X-J: [1,{"z":null}]', 'X-S: text');
$r = last_record('types.jsonl');
is_deeply($r->{body}, { n => 12.5, b => JSON::PP::false,
    j => [1, { z => undef }], s => 'text', after => 'yes' },
    'types: converted');

($status) = post('/types', '{}', $JSON, 'X-N: 12abc', 'X-B: yes',
    'X-J: {bad', 'X-S: ok');
is($status, 202, 'types, bad values, pass: 202');
$r = last_record('types.jsonl');
is_deeply($r->{body}, { s => 'ok', after => 'yes' },
    'types, bad values, pass: those operations skipped');

for my $n ('', '-', '01', '1.', '.5', '1e', '0x10', '1 2', '1e999') {
    ($status, $reply) = post('/typesfail', '{}', $JSON, "X-N: $n");
    is($status, 400, "number \"$n\": 400");
}

like($reply->{error} // '', qr/^json_set "\$\.n": "1e999" is out of range$/,
    'number out of range: the error');

($status, $reply) = post('/typesfail', '{}', $JSON, 'X-N: abc');
is($reply->{error}, 'json_set "$.n": "abc" is not a number',
    'not a number: the error');

($status, $reply) = post('/typesfail', '{}', $JSON, "X-N: 1\t2");
is($reply->{error}, 'json_set "$.n": the value is not a number',
    'not a number: a value with a control character is not quoted');

($status) = post('/typesfail', '{}', $JSON, 'X-N: 123456789012345678901');
is($status, 202, 'a huge integer: 202');
($status) = post('/typesfail', '{}', $JSON, 'X-N: -0.5E-2');
is($status, 202, 'a real with an exponent: 202');

my @tf = records('typesfail.jsonl');
is(scalar @tf, 2, 'typesfail: only the good ones delivered');
ok($tf[0]{body}{n} > 1e20, 'a huge integer: a real');
is($tf[1]{body}{n}, -0.005, 'a real with an exponent');

# -- paths that do not fit the body (on_error fail) ---------------------------

my @paths = (
    [ '{"o":"str"}', 'json_set "$.o.k": the path crosses a non-object' ],
    [ '{"o":{},"l":[]}',
      'json_set "$.l[2]": the path has an array index out of range' ],
    [ '{"o":{},"l":[1,2],"m":{}}',
      'json_set "$.m[0]": the path crosses a non-array' ],
    [ '{"o":{},"l":[1,2],"m":[],"s":1,"t":"x"}',
      'json_rename "$.s": the path "$.t.u" crosses a non-object' ],
);

for my $case (@paths) {
    ($status, $reply) = post('/paths', $case->[0], $JSON);
    is($status, 400, "$case->[0]: 400");
    is($reply->{error}, $case->[1], "$case->[0]: the error");
}

($status) = post('/paths', '{"o":{},"l":[1,2],"m":[],"s":1}', $JSON);
is($status, 202, 'paths that fit: 202');
is_deeply(last_record('paths.jsonl')->{body},
    { o => { k => 1 }, l => [1, 2, 'x'], m => ['x'], t => { u => 1 } },
    'paths that fit: set, appended, renamed');
is(scalar(my @pr = records('paths.jsonl')), 1, 'paths: one record');

# -- on_error fail ------------------------------------------------------------

($status, $reply) = post('/fail', '{bad json', $JSON);
is($status, 400, 'fail, invalid JSON: 400');
is($reply->{outcome}, 'failed', 'fail, invalid JSON: failed');
is($reply->{error}, 'json_set "$.a": the body is not JSON',
    'fail, invalid JSON: the error');

($status, $reply) = post('/fail', '{"a":1}', 'Content-Type: text/plain');
is($status, 400, 'fail, not a JSON content type: 400');

($status, $reply) = post('/fail', '[1,2]', $JSON);
is($status, 400, 'fail, an array body: 400');
is($reply->{error}, 'json_set "$.a": the path crosses a non-object',
    'fail, an array body: the error');

is(scalar(my @f = records('fail.jsonl')), 0, 'fail: nothing delivered');
is(scalar(my @fd = records('faildl.jsonl')), 0,
    'fail: nothing dead-lettered either');

($status) = post('/fail', '{"b":1}', $JSON);
is($status, 202, 'fail pipeline, good input: 202');
is_deeply(last_record('fail.jsonl')->{body}, { a => 1, b => 1 },
    'fail pipeline, good input: delivered');

# -- on_error pass ------------------------------------------------------------

($status, $reply) = post('/pass', '{bad json', $JSON);
is($status, 202, 'pass, invalid JSON: 202');
is($reply->{outcome}, 'delivered', 'pass, invalid JSON: delivered');
$r = last_record('pass.jsonl');
is($r->{body}, '{bad json', 'pass, invalid JSON: body unchanged');
is($r->{headers}{'x-after'}, 'yes', 'pass: later operations run');

($status) = post('/pass', 'plain words', 'Content-Type: text/plain');
is($status, 202, 'pass, text: 202');
is(last_record('pass.jsonl')->{body}, 'plain words', 'pass, text: unchanged');

# "$.x.y[1]" cannot be set on {} (no such array): nothing of it may be
# left behind when a later operation makes the body serialized again;
# "$.dst.x" and "$.dst.deep" cross a string: the renamed value goes back

($status) = post('/pass', '{"src":5,"dst":"str"}', $JSON);
is($status, 202, 'pass, type mismatches: 202');
$r = last_record('pass.jsonl');
is_deeply($r->{body}, { a => 1, src => 5, dst => 'str', after => 2 },
    'pass, type mismatches: those operations left no trace')
    or diag(explain($r->{body}));

($status) = post('/pass', '{"src":{"k":[1]}}', $JSON);
$r = last_record('pass.jsonl');
is_deeply($r->{body}, { a => 1, dst => { x => { k => [1] }, deep => 1 },
    after => 2 }, 'pass, good input: json_rename')
    or diag(explain($r->{body}));

# -- on_error dead_letter -----------------------------------------------------

($status, $reply) = post('/dead', '{bad json', $JSON, 'X-Trace: d1');
is($status, 202, 'dead_letter, invalid JSON: 202');
is($reply->{outcome}, 'dead_lettered', 'dead_letter: the outcome');
is(scalar(my @d = records('dead.jsonl')), 0, 'dead_letter: not delivered');

my @dl = records('deaddl.jsonl');
is(scalar @dl, 1, 'dead_letter: one dead-letter record');
is($dl[0]{body}, '{bad json', 'dead_letter: the body unchanged');
is($dl[0]{headers}{'x-trace'}, 'd1', 'dead_letter: the headers');
is($dl[0]{headers}{'x-hermod-error'}, 'json_set "$.a": the body is not JSON',
    'dead_letter: the error header');

($status) = post('/dead', '{"b":2}', $JSON);
is($status, 202, 'dead_letter pipeline, good input: 202');
is_deeply(last_record('dead.jsonl')->{body}, { a => 1, b => 2 },
    'dead_letter pipeline, good input: delivered');

# -- the raw body -------------------------------------------------------------

($status) = post('/body', 'anything', 'Content-Type: text/plain', 'X-Id: 7');
is($status, 202, 'body_set: 202');
is(last_record('body.jsonl')->{body}, '{"wrapped":"7"}',
    'body_set: the template, as text for a text content type');

($status) = post('/body', 'anything', $JSON, 'X-Id: 8');
is_deeply(last_record('body.jsonl')->{body}, { wrapped => '8' },
    'body_set: JSON for a JSON content type');

($status) = post('/replace', 'ab ab cc', 'Content-Type: text/plain');
is($status, 202, 'body_replace: 202');
is(last_record('replace.jsonl')->{body}, 'ba ab CCCC',
    'body_replace: references, once; g: every match');

($status) = post('/replace', 'xyz', 'Content-Type: text/plain');
is(last_record('replace.jsonl')->{body}, 'xyz', 'body_replace: no match');

($status) = post('/replace', '', 'Content-Type: text/plain');
is($status, 202, 'body_replace: an empty body');

# a JSON change is serialized before body_replace reads the body

($status) = post('/mix', '{"k":1}', $JSON);
is_deeply(last_record('mix.jsonl')->{body}, { k => 1, a => 'y', b => 'z' },
    'json_set, body_replace, json_set');

# 1 MiB, growing by 3/4: more than the first guess of the output size

my $big = 'abc ' x (256 * 1024);
$t->write_file('big.txt', $big);

($status) = post('/big', '@' . $t->conf_path('big.txt'),
    'Content-Type: text/plain');
is($status, 202, '1 MiB body_replace: 202');

$r = last_record('big.jsonl');
(my $expect = $big) =~ s/b/BBBB/g;
is(length($r->{body}), length($expect), '1 MiB body_replace: the length');
ok($r->{body} eq $expect, '1 MiB body_replace: the content');
is($r->{headers}{'x-big'}, 'yes', '1 MiB body_replace: then the next one');

$t->stop();

# -- configuration errors -----------------------------------------------------

my @bad = (
    [ 'invalid number of arguments in "header_set" directive',
      'header_set X-A;' ],
    [ 'invalid number of arguments in "json_set" directive',
      'json_set $.a 1 number extra;' ],
    [ 'invalid type "integer" in "json_set" directive',
      'json_set $.a 1 integer;' ],
    [ 'invalid JSON path "a..b"', 'json_set a..b 1;' ],
    [ 'invalid JSON path "$.x["', 'json_remove $.x[;' ],
    [ '"abc" is not a number in "json_set" directive',
      'json_set $.a abc number;' ],
    [ '"maybe" is not a boolean', 'json_set $.a maybe boolean;' ],
    [ '"{" is not valid JSON', 'json_set $.a "{" json;' ],
    [ 'pcre2_compile() failed', 'body_replace "(" x;' ],
    [ 'invalid replacement "$2": reference to a group that does not exist',
      'body_replace "(a)" "$2";' ],
    [ 'invalid replacement "${x}"',
      'header_replace X-A "(?<y>a)" "${x}";' ],
    [ 'invalid replacement "a$": "$" not followed by a group',
      'body_replace "a" "a$";' ],
    [ 'invalid flag "x"', 'body_replace a b x;' ],
    [ 'invalid value "sometimes" in "on_error" directive',
      'on_error sometimes;' ],
    [ '"on_error" directive is duplicate', "on_error pass;\non_error fail;",
      5 ],
    [ 'unknown "nosuch" variable', 'body_set $nosuch;' ],
    [ 'unknown directive "json_get"', 'json_get $.a;' ],
);

for my $case (@bad) {
    my ($err, $ops, $line) = @$case;

    $line //= 4;

    my $path = $t->write_file_expand('bad.conf', <<"EOF");
events { }
pipeline p {
    transform {
        $ops
    }
    output o;
}
outbound o file { path %%TESTDIR%%/o.jsonl; }
EOF

    my ($rc, $out) = $t->hermod_cmd('-t', '-c', $path);
    isnt($rc, 0, "bad conf: $err: fails");
    like($out, qr/\Q$err\E.* in \Q$path\E:$line\b/,
        "bad conf: $err: FILE:LINE") or diag($out);
}

# the operations live inside transform { } only

my $path = $t->write_file_expand('bad.conf', <<'EOF');
events { }
pipeline p {
    header_set X-A b;
    output o;
}
outbound o file { path %%TESTDIR%%/o.jsonl; }
EOF

my ($rc, $out) = $t->hermod_cmd('-t', '-c', $path);
like($out, qr/"header_set" directive is not allowed here in \Q$path\E:3/,
    'bad conf: an operation outside transform');

$path = $t->write_file_expand('good.conf', <<'EOF');
events { }
pipeline p {
    transform { }
    transform {
        json_set $.a '\\$literal';
        body_replace "(?<word>\w+)" "<${word}>$$" g;
    }
    output o;
}
outbound o file { path %%TESTDIR%%/o.jsonl; }
EOF

($rc, $out) = $t->hermod_cmd('-t', '-c', $path);
is($rc, 0, 'good conf: named references, "$$", an escaped "$"')
    or diag($out);

done_testing();
