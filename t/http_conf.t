#!/usr/bin/perl

# HTTP configuration errors: each is one line ending "in FILE:LINE".

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 't/lib';
use Test::Hermod;

my $t = Test::Hermod->new();

my @cases = (
    [ 'duplicate location',
      "location /a { }\nlocation /a { }",
      qr/duplicate location "\/a" in \S+:4\b/ ],
    [ 'regex location with a URI in proxy_pass',
      "location ~ \\.php\$ {\nproxy_pass http://127.0.0.1:1/x; }",
      qr/"proxy_pass" cannot have URI part in location given by regular expression in \S+:4\b/ ],
    [ 'bad regex',
      "location ~ \"(\" { }",
      qr/pcre2_compile\(\) failed: .* in \S+:3\b/ ],
    [ 'unknown variable',
      "location / { return 200 \$nosuchvar; }",
      qr/unknown "nosuchvar" variable in \S+:3\b/ ],
    [ 'return code out of range',
      "location / { return 1000; }",
      qr/invalid return code "1000" in \S+:3\b/ ],
    [ 'ssl_session_cache garbage',
      "ssl_session_cache shared:X;",
      qr/invalid session cache "shared:X" in \S+:3\b/ ],
    [ 'listen ssl without a certificate',
      "listen 127.0.0.1:%%PORT_8082%% ssl;",
      qr/no "ssl_certificate" is defined for the "listen \.\.\. ssl" directive in \S+:3\b/ ],
    [ 'upstream without servers',
      "location / { proxy_pass http://empty; }\n} upstream empty { }\nserver { listen 127.0.0.1:1;",
      qr/no servers are inside upstream in \S+:4\b/ ],
);

for my $case (@cases) {
    my ($name, $body, $re) = @$case;

    $t->write_file_expand('bad.conf', <<"EOF");
events { }
http { server { listen 127.0.0.1:%%PORT_8081%%;
$body
} }
EOF

    my ($rc, $out) = $t->hermod_cmd('-t', '-c', $t->conf_path('bad.conf'));
    isnt($rc, 0, "$name: -t fails");
    like($out, $re, "$name: message with FILE:LINE") or diag($out);
}

done_testing();
