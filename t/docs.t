#!/usr/bin/perl

# docs/directives.md against the directive tables: every row of every
# hm_command_t array in src/ and modules/ ({ hm_string("NAME"), TYPE, ...,
# "description" }) has a "### NAME" section with its description, Syntax,
# Default, Context and Example; the context matches the row's bitmask; and
# every "### NAME" section names a directive that exists (no stale docs).
# Needs no build: it reads the sources only.

use warnings;
use strict;

use Test::More;
use File::Find;

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

###############################################################################

my $doc_file = 'docs/directives.md';

# context bitmask macros -> the name the reference uses; a macro not listed
# here only needs a non-empty Context line

my %context_name = (
    HM_MAIN_CONF    => 'main',
    HM_ANY_CONF     => 'any',
    HM_EVENT_CONF   => 'events',
    HM_EXAMPLE_CONF => 'example',
    HM_PIPELINE_CONF => 'pipeline',
    HM_PIPELINE_OUT_CONF => 'outbound',
);

my @rows = directive_rows('src', 'modules');

cmp_ok(scalar(@rows), '>=', 20, 'directive tables found in the sources')
    or diag('the table parser in t/docs.t found too few rows');

ok((grep { $_->{name} eq 'include' } @rows), 'include row found');
ok((grep { $_->{name} eq 'worker_processes' } @rows),
    'worker_processes row found');

open(my $fh, '<', $doc_file) or BAIL_OUT("cannot open $doc_file: $!");
my $doc = do { local $/; <$fh> };
close($fh);

my %sections = doc_sections($doc);

my %in_code;

for my $row (@rows) {
    my $name = $row->{name};
    my $where = "$name ($row->{file})";

    $in_code{$name} = 1;

    my $list = $sections{$name};

    if (!$list) {
        fail("$where: documented in $doc_file");
        diag("add a \"### $name\" section to $doc_file");
        next;
    }

    pass("$where: documented in $doc_file");

    # a name several modules declare has one section per module: take the
    # one whose description is this row's

    my ($sec) = grep { index($_, "*$row->{description}*") >= 0 } @$list;

    ok($sec, "$where: description is the table's")
        or diag("expected the line *$row->{description}*");

    $sec //= $list->[0];

    my $type = $row->{type};

    # Syntax

    my ($syntax) = $sec =~ /^\*\*Syntax:\*\*\s+`([^`]+)`/m;

    ok(defined $syntax && $syntax =~ /^\Q$name\E(\s|;|$)/,
        "$where: Syntax line starts with the name");

    $syntax //= '';

    if ($type =~ /\bHM_CONF_BLOCK\b/) {
        like($syntax, qr/\{ \.\.\. \}$/, "$where: block syntax");

    } else {
        like($syntax, qr/;$/, "$where: Syntax ends with ;");
    }

    if ($type =~ /\bHM_CONF_FLAG\b/) {
        like($syntax, qr/^\Q$name\E on \| off;$/, "$where: flag syntax");
    }

    # Default, Context, Example

    like($sec, qr/^\*\*Default:\*\*\s+\S/m, "$where: Default line");

    my ($context) = $sec =~ /^\*\*Context:\*\*\s+(.+?)\s*$/m;

    ok(defined $context, "$where: Context line");

    if (defined $context) {
        my @want = map { $context_name{$_} // () }
                   ($type =~ /\b(HM_[A-Z0-9_]+_CONF)\b/g);

        for my $c (@want) {
            like($context, qr/(^|[\s,])\Q$c\E($|[\s,])/,
                "$where: context $c");
        }
    }

    like($sec, qr/^\*\*Example:\*\*\s*\n\s*\n```[^\n]*\n(?:[^\n]*\n)*?[^\n]*\b\Q$name\E\b[^\n]*\n(?:[^\n]*\n)*?```/m,
        "$where: Example block uses the directive");
}

# no stale sections

for my $name (sort keys %sections) {
    ok($in_code{$name}, "$name: documented directive exists in the code")
        or diag("\"### $name\" in $doc_file names no directive in src/ or "
                . "modules/");
}

# docs/modules.md quotes the example module: each C block of its walk
# through must be verbatim in the source

my $guide = read_file('docs/modules.md');
my $example_src = read_file('modules/example/hm_example_module.c');

my ($walk) = $guide =~ /^## 10\.[^\n]*\n(.*?)^## 11\./ms;

ok(defined $walk, 'docs/modules.md has the example walk-through');

my $nblocks = 0;

for my $blk (($walk // '') =~ /^```c\n(.*?)^```/msg) {
    # the opening comment is quoted in part, up to " * ..."
    $blk =~ s/\A.*?^ \* \.\.\.\n \*\/\n//ms;
    $blk =~ s/\A\n+|\n+\z//g;

    my ($first) = $blk =~ /^(\w[^\n]*\()/m;
    ($first) = $blk =~ /^\s*(\S.*)$/m unless defined $first;
    $nblocks++;

    ok(index($example_src, $blk) >= 0,
        "modules.md quotes the example verbatim: $first");
}

cmp_ok($nblocks, '>=', 10, 'modules.md walks through the example');

done_testing();

sub read_file {
    my ($name) = @_;
    open(my $f, '<', $name) or BAIL_OUT("cannot open $name: $!");
    local $/;
    my $text = <$f>;
    close($f);
    return $text;
}

###############################################################################

# "### name" sections: name -> [ text up to the next heading, ... ]

sub doc_sections {
    my ($text) = @_;

    my (%s, $cur, $body);

    for my $line (split /\n/, $text) {
        if ($line =~ /^#{1,3}\s/) {
            push @{ $s{$cur} }, $body if defined $cur;
            undef $cur;

            if ($line =~ /^###\s+([a-z][a-z0-9_]*)\s*$/) {
                $cur = $1;
                $body = '';
            }

            next;
        }

        $body .= "$line\n" if defined $cur;
    }

    push @{ $s{$cur} }, $body if defined $cur;

    return %s;
}

# every row of every hm_command_t array in the .c files under @dirs

sub directive_rows {
    my @dirs = grep { -d } @_;
    my (@files, @rows);

    find({ no_chdir => 1, wanted => sub {
        push @files, $File::Find::name if /\.c$/ && -f;
    } }, @dirs);

    for my $file (sort @files) {
        open(my $f, '<', $file) or die "cannot open $file: $!\n";
        my $src = do { local $/; <$f> };
        close($f);

        $src = strip_comments($src);

        while ($src =~ /\bhm_command_t\s+\w+\s*\[\s*\w*\s*\]\s*=\s*\{/g) {
            my $body = balanced(\$src, pos($src) - 1);

            for my $row (top_groups($body)) {
                my @f = split_fields($row);

                next unless @f && $f[0] =~ /^hm_string\(\s*"((?:[^"\\]|\\.)*)"\s*\)$/;

                my $name = $1;

                push @rows, {
                    file        => $file,
                    name        => $name,
                    type        => $f[1] // '',
                    description => c_string($f[6] // ''),
                };
            }
        }
    }

    return @rows;
}

sub strip_comments {
    my ($s) = @_;

    $s =~ s{("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|/\*.*?\*/|//[^\n]*}
           { defined $1 ? $1 : ' ' }gse;

    return $s;
}

# the text inside the braces that open at offset $start

sub balanced {
    my ($sref, $start) = @_;
    my $depth = 0;
    my $i = $start;
    my $len = length($$sref);

    while ($i < $len) {
        my $c = substr($$sref, $i, 1);

        if ($c eq '"' || $c eq "'") {
            $i = skip_quoted($sref, $i);
            next;
        }

        if ($c eq '{') {
            $depth++;

        } elsif ($c eq '}') {
            $depth--;

            return substr($$sref, $start + 1, $i - $start - 1) if $depth == 0;
        }

        $i++;
    }

    die "unbalanced braces\n";
}

sub skip_quoted {
    my ($sref, $i) = @_;
    my $q = substr($$sref, $i, 1);

    for ($i++; $i < length($$sref); $i++) {
        my $c = substr($$sref, $i, 1);

        if ($c eq '\\') {
            $i++;
            next;
        }

        return $i + 1 if $c eq $q;
    }

    return $i;
}

# the { ... } groups at the top level of an array body

sub top_groups {
    my ($body) = @_;
    my @g;
    my $i = 0;

    while ($i < length($body)) {
        my $c = substr($body, $i, 1);

        if ($c eq '"' || $c eq "'") {
            $i = skip_quoted(\$body, $i);
            next;
        }

        if ($c eq '{') {
            my $inner = balanced(\$body, $i);
            push @g, $inner;
            $i += length($inner) + 2;
            next;
        }

        $i++;
    }

    return @g;
}

# the comma-separated fields of a row, commas in strings and () ignored

sub split_fields {
    my ($row) = @_;
    my (@f, $cur, $depth);

    $cur = '';
    $depth = 0;

    for (my $i = 0; $i < length($row); $i++) {
        my $c = substr($row, $i, 1);

        if ($c eq '"' || $c eq "'") {
            my $end = skip_quoted(\$row, $i);
            $cur .= substr($row, $i, $end - $i);
            $i = $end - 1;
            next;
        }

        $depth++ if $c eq '(' || $c eq '{';
        $depth-- if $c eq ')' || $c eq '}';

        if ($c eq ',' && $depth == 0) {
            push @f, trim($cur);
            $cur = '';
            next;
        }

        $cur .= $c;
    }

    push @f, trim($cur) if $cur =~ /\S/;

    return @f;
}

sub trim {
    my ($s) = @_;
    $s =~ s/^\s+|\s+$//g;
    return $s;
}

# adjacent C string literals, concatenated and unescaped

sub c_string {
    my ($expr) = @_;
    my $s = '';

    while ($expr =~ /"((?:[^"\\]|\\.)*)"/g) {
        $s .= $1;
    }

    $s =~ s/\\(["'\\])/$1/g;
    $s =~ s/\\n/\n/g;
    $s =~ s/\\t/\t/g;

    return $s;
}
