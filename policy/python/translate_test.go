package python

import (
	"errors"
	"strings"
	"testing"
)

// testParams are a host's block parameters.
var testParams = []string{"action", "proposal", "policy", "variables"}

// body returns the translated block without the def header, the trailing
// pass and the per-line indentation tab.
func body(tb testing.TB, src string) string {
	tb.Helper()
	out, err := Translate(src, testParams)
	if err != nil {
		tb.Fatalf("translate %q: %v", src, err)
	}
	out = strings.TrimPrefix(out, Header(testParams))
	out = strings.TrimSuffix(out, "\n\tpass\n")
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "\t")
	}
	return strings.Join(lines, "\n")
}

func TestTranslateExact(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"plain code untouched", "x = 1\nreturn PASSED", "x = 1\nreturn PASSED"},
		{"simple f-string", `f"a{x}b"`, `__fstr__("a", (x), "b")`},
		{"no fields", `f"Constitutional change accepted!"`, `"Constitutional change accepted!"`},
		{"empty", `f""`, `""`},
		{"adjacent fields", `f"{a}{b}"`, `__fstr__((a), (b))`},
		{"spec", `f"{x:.2f}"`, `__fstr__(__fmtv__((x), "", ".2f"))`},
		{"conversion", `f"{x!r}"`, `__fstr__(__fmtv__((x), "r", ""))`},
		{"conversion and spec", `f"{x!s:>4}"`, `__fstr__(__fmtv__((x), "s", ">4"))`},
		{"nested spec field", `f"{x:>{w}}"`, `__fstr__(__fmtv__((x), "", __fstr__(">", (w))))`},
		{"braces escaped", `f"{{x}} {y}"`, `__fstr__("{x} ", (y))`},
		{"single quotes", `f'<@{uid}>'`, `__fstr__("<@", (uid), ">")`},
		{"nested quotes", `f"{'s' if n > 1 else ''}"`, `__fstr__(('s' if n > 1 else ''))`},
		{"url with pipe", `f"<{action.url}|this request>"`, `__fstr__("<", (action.url), "|this request>")`},
		{"comparison is not a spec", `f"{a != b}"`, `__fstr__((a != b))`},
		{"dict in field", `f"{d['k']}"`, `__fstr__((d['k']))`},
		{"debug", `f"{x=}"`, `__fstr__("x=", __fmtv__((x), "r", ""))`},
		{"nested f-string", `f"{f'{x}!'}"`, `__fstr__((__fstr__((x), "!")))`},
		{"ordinary strings untouched", `s = "f{x}" + 'f"{y}"'`, `s = "f{x}" + 'f"{y}"'`},
		{"comment untouched", `x = 1 # f"{x}" is x`, `x = 1 # f"{x}" is x`},
		{"is None", `if x is None: pass`, `if x == None: pass`},
		{"is not None", `if x is not None: pass`, `if x != None: pass`},
		{"is in string untouched", `s = "x is y"`, `s = "x is y"`},
		{"unknown escape kept", `s = "\d+"`, `s = "\\d+"`},
		{"latin escape", `s = "caf\xe9"`, `s = "caf\u00E9"`},
		{"u prefix dropped", `s = u"x"`, `s = "x"`},
		{"raw string untouched", `s = r"\d{2}"`, `s = r"\d{2}"`},
		{"raw f-string", `f = rf"\d{x}"`, `f = __fstr__("\\d", (x))`},
		{"import datetime", "import datetime\nx = 1", "pass\nx = 1"},
		{"indented import", "if True:\n  import math\n", "if True:\n  pass\n"},
		{"import as", "import datetime as dt", "dt = __mod_datetime__"},
		{"from import", "from datetime import timedelta", "timedelta = __mod_datetime__.timedelta"},
		{"from import many", "from datetime import datetime, timedelta as td",
			"datetime, td = __mod_datetime__.datetime, __mod_datetime__.timedelta"},
		{"import in a string untouched", `s = "import os"`, `s = "import os"`},
		{"from as a name", "x = y(from_=1)", "x = y(from_=1)"},
		{"implicit concatenation", `x = "a" 'b'`, `x = ("a" + 'b')`},
		{"implicit concatenation with an f-string", `x = "a" f"{b}"`, `x = ("a" + __fstr__((b)))`},
		{"implicit concatenation across lines in brackets", "x = (\"a\"  # one\n     \"b\")", "x = ((\"a\"  # one\n     + \"b\"))"},
		{"no concatenation across statements", "x = \"a\"\n\"b\"", "x = \"a\"\n\"b\""},
		{"in is not a prefix", `x = "a" in "abc"`, `x = "a" in "abc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := body(t, tc.src); got != tc.want {
				t.Fatalf("translate %s\n got: %s\nwant: %s", tc.src, got, tc.want)
			}
		})
	}
}

func TestTranslateKeepsLineCount(t *testing.T) {
	for _, src := range []string{
		"a = f\"\"\"one\n{x}\ntwo\"\"\"\nb = 1",
		"s = '''multi\nline\nstring'''\nx = f\"{s}\"",
		"x = f\"a\\\nb\"\ny = 2",
		"x = (1 +\n  2)\ny = f'{x:\n>3}'",
		"x = 1 + \\\n  2",
		"f\"\"\"{\nx\n}\"\"\"",
	} {
		out, err := Translate(src, testParams)
		if err != nil {
			// A few of these are invalid Python (a newline in a
			// single-quoted spec); only line preservation matters when
			// they translate.
			continue
		}
		if got, want := strings.Count(out, "\n"), strings.Count(src, "\n")+3; got != want {
			t.Errorf("%q: %d newlines after translation, want %d:\n%s", src, got, want, out)
		}
	}
}

func TestTranslateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, typ string
		line           int
	}{
		{"unterminated f-string", "x = 1\ny = f\"abc{x}\nz = 2", "SyntaxError", 2},
		{"single brace", "x = 1\ny = f\"a } b\"", "SyntaxError", 2},
		{"empty expression", "\n\nf\"{}\"", "SyntaxError", 3},
		{"bad conversion", "f\"{x!z}\"", "SyntaxError", 1},
		{"unclosed field", "f\"{x\"", "SyntaxError", 1},
		{"import os", "x = 1\nimport os", "ImportError", 2},
		{"from os", "from os import path", "ImportError", 1},
		{"star import", "from math import *", "SyntaxError", 1},
		{"unterminated string", "x = 1\n\ny = 'abc", "SyntaxError", 3},
		{"error inside triple f-string field", "a = 1\nb = f\"\"\"x\n{y!q}\"\"\"", "SyntaxError", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, terr := Translate(tc.src, testParams)
			var err *SourceError
			if !errors.As(terr, &err) {
				t.Fatalf("want %s at line %d, got %v", tc.typ, tc.line, terr)
			}
			if err.Type != tc.typ || err.Line != tc.line {
				t.Fatalf("got %s at line %d (%s), want %s at line %d", err.Type, err.Line, err.Msg, tc.typ, tc.line)
			}
		})
	}
}
