package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// fstr evaluates expression src in a notify block and returns its str().
func fstr(tb testing.TB, r *Runtime, vars map[string]any, src string) string {
	tb.Helper()
	var b strings.Builder
	for k, v := range vars {
		b.WriteString(k + " = variables[\"" + k + "\"]\n")
		_ = v
	}
	b.WriteString("logger.info(" + src + ")\n")
	in := Input{Block: BlockNotify, Code: domain.PolicyCode{Notify: b.String()}, Now: testNow, Variables: vars}
	out := eval(tb, r, in, BlockNotify)
	if out.Err != nil {
		tb.Fatalf("%s: %v", src, out.Err)
	}
	if len(out.Logs) != 1 {
		tb.Fatalf("%s: logs %+v", src, out.Logs)
	}
	return out.Logs[0].Message
}

func TestFStringSemantics(t *testing.T) {
	r := mustRuntime(t, Options{})
	vars := map[string]any{"n": 2, "one": 1, "x": 3.14159, "s": "ab", "big": 1234567, "p": 0.256, "uid": "U1",
		"url": "https://x/1", "d": map[string]any{"k": "v"}, "neg": -42, "w": 6, "flag": true, "none": nil, "items": []any{"a", "b"}}
	for _, tc := range []struct{ src, want string }{
		{`f"{n} for, {one} against"`, "2 for, 1 against"},
		{`f"objection{'s' if n > 1 else ''}."`, "objections."},
		{`f"objection{'s' if one > 1 else ''}."`, "objection."},
		{`f"<{url}|this request>"`, "<https://x/1|this request>"},
		{`f"<@{uid}>"`, "<@U1>"},
		{`f'<@{uid}>'`, "<@U1>"},
		{`f"{x:.2f}"`, "3.14"},
		{`f"{x:8.3f}|"`, "   3.142|"},
		{`f"{n:>5}|"`, "    2|"},
		{`f"{n:<5}|"`, "2    |"},
		{`f"{s:^6}|"`, "  ab  |"},
		{`f"{s:*>5}"`, "***ab"},
		{`f"{n:05d}"`, "00002"},
		{`f"{neg:05d}"`, "-0042"},
		{`f"{n:+d}"`, "+2"},
		{`f"{big:,}"`, "1,234,567"},
		{`f"{big:_d}"`, "1_234_567"},
		{`f"{p:.1%}"`, "25.6%"},
		{`f"{255:x} {255:#X} {5:b} {8:o}"`, "ff 0XFF 101 10"},
		{`f"{x:e}"`, "3.141590e+00"},
		{`f"{x:g}"`, "3.14159"},
		{`f"{x:.3}"`, "3.14"},
		{`f"{n:.1f}"`, "2.0"},
		{`f"{x}"`, "3.14159"},
		{`f"{s!r}"`, "'ab'"},
		{`f"{s!s}"`, "ab"},
		{`f"{s:.1}"`, "a"},
		{`f"{x:>{w}.1f}"`, "   3.1"},
		{`f"{{literal}} {n}"`, "{literal} 2"},
		{`f"{n=}"`, "n=2"},
		{`f"{s = }"`, "s = 'ab'"},
		{`f"{d['k']}"`, "v"},
		{`f'{d["k"]}'`, "v"},
		{`f"{flag} {none}"`, "True None"},
		{`f"{items}"`, `['a', 'b']`},
		{`f"{', '.join(items)}"`, "a, b"},
		{`f"{f'{n}!'}"`, "2!"},
		{`f"{n*2 if n else 0}"`, "4"},
		{`f"{datetime.datetime(2024, 5, 1, 9, 30):%Y-%m-%d %H:%M}"`, "2024-05-01 09:30"},
		{`f"{datetime.timedelta(hours=3)}"`, "3:00:00"},
		{`f"{1714564800.0} {0.1 + 0.2} {1e-05} {1e16} {2.5}"`, "1714564800.0 0.30000000000000004 1e-05 1e+16 2.5"},
		{"(\"one \" \"two \"\n f\"{n}\")", "one two 2"},
		{`f"caf\xe9 \u2713 \N{DEGREE SIGN}"`, ""}, // \N is refused below
	} {
		if strings.Contains(tc.src, `\N`) {
			continue
		}
		t.Run(tc.src, func(t *testing.T) {
			if got := fstr(t, r, vars, tc.src); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("escapes in literal parts", func(t *testing.T) {
		if got := fstr(t, r, vars, `f"caf\xe9 \u2713\t{n}"`); got != "café ✓\t2" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("multi-line triple-quoted", func(t *testing.T) {
		got := fstr(t, r, vars, "f\"\"\"line {n}\nline {\n  one\n}\"\"\"")
		if got != "line 2\nline 1" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestErrorLinesSurviveTranslation(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct {
		name, src, typ string
		line           int
	}{
		{"error on line 3", "x = 1\ny = f\"{x:.2f} {'a' if x else 'b'}\"\nz = undefined_name", "NameError", 3},
		{"after a triple-quoted f-string", "a = f\"\"\"\n{1}\n\"\"\"\nb = 1\nc = a + 1", "TypeError", 5},
		{"after a multi-line string", "a = '''x\ny\nz'''\nb = nope", "NameError", 4},
		{"after a continuation", "a = 1 + \\\n  2\nb = a.x", "AttributeError", 3},
		{"inside a multi-line call", "logger.info(\n  'x',\n  1/0)", "ZeroDivisionError", 3},
		{"tab-indented blocks", "if True:\n\tx = 1\nelse:\n\tx = 2\ny = x + 'a'", "TypeError", 5},
		{"syntax error line", "x = 1\nif x\n  pass", "SyntaxError", 2},
		{"indentation error", "if True:\nreturn 1", "SyntaxError", 2},
		{"after an import", "import datetime\nfrom datetime import timedelta\nx = timedelta(hours=1) + 1", "TypeError", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Block: BlockCheck, Code: domain.PolicyCode{Check: tc.src}, Now: testNow}
			out := eval(t, r, in, BlockCheck)
			if out.Err == nil || out.Err.Type != tc.typ || out.Err.Line != tc.line {
				t.Fatalf("got %v, want %s at line %d", out.Err, tc.typ, tc.line)
			}
		})
	}
}

func TestRuntimeErrorMessageFormat(t *testing.T) {
	r := mustRuntime(t, Options{})
	in := Input{Block: BlockCheck, Code: domain.PolicyCode{Check: "x = 1\ny = undefined_name + x\nreturn PASSED"}, Now: time.Now()}
	out := eval(t, r, in, BlockCheck)
	want := "NameError at line 2 of check: name 'undefined_name' is not defined"
	if out.Err == nil || out.Err.Error() != want {
		t.Fatalf("got %v, want %q", out.Err, want)
	}
	in.Code.Check = "x = {}\n\nreturn x['missing']"
	out = eval(t, r, in, BlockCheck)
	if out.Err == nil || out.Err.Error() != `KeyError at line 3 of check: key "missing" not in dict` {
		t.Fatalf("got %v", out.Err)
	}
}

// str(), repr(), print() and f-strings print dicts and lists as Python does.
func TestContainersPrintAsPython(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct{ src, want string }{
		{`logger.info(str({'a': ['b', None]}))`, `{'a': ['b', None]}`},
		{`logger.info(f"{ {'a': ['b', None]} }")`, `{'a': ['b', None]}`},
		{`logger.info(repr("it's"))`, `"it's"`},
		{`logger.info(str({"k": "it's", "q": 'say "hi"', "n": 1.0, "t": (1,), "e": []}))`, `{'k': "it's", 'q': 'say "hi"', 'n': 1.0, 't': (1,), 'e': []}`},
		{`logger.info(str(set([1, 2])) + ' ' + str(set()))`, `{1, 2} set()`},
		{`logger.info("x: " + str([True, False, None]))`, `x: [True, False, None]`},
		{`print({'a': 1}, ['b'], sep=' | ')`, `{'a': 1} | ['b']`},
		{`logger.info(str(proposal.data.get('d')))`, `{'id': 1150834529834852353, 'who': ['U1']}`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			in := checkInput(tc.src)
			in.Proposal.Data = map[string]any{"d": map[string]any{"id": json.Number("1150834529834852353"), "who": []any{"U1"}}}
			out := mustEval(t, r, in, BlockCheck)
			if len(out.Logs) != 1 || out.Logs[0].Message != tc.want {
				t.Fatalf("got %+v, want %q", out.Logs, tc.want)
			}
		})
	}
}

// Python that PolicyKit authors write and Starlark's grammar lacks runs with
// Python's meaning; every line keeps its number.
func TestPythonConstructsStarlarkLacks(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct{ src, want string }{
		{"x = 5\nlogger.info(str(0 < x < 10) + str(0 < x > 6) + str(1 == 1 < 2))", "TrueFalseTrue"},
		{"calls = []\ndef mid():\n    calls.append(1)\n    return 5\nok = 0 < mid() <= 5\nlogger.info(str(ok) + ' ' + str(len(calls)))", "True 1"},
		{"xs = [1, 7, 3]\nlogger.info(str([v for v in xs if 2 <= v < 5]))", "[3]"},
		{"a = 'b'\nlogger.info(str('a' < a not in ['c'] ))", "True"},
		{"logger.info(str(2 ** 10) + ' ' + str(2 ** 3 ** 2) + ' ' + str(-2 ** 2) + ' ' + str(2 ** -1) + ' ' + str(10 ** 20))", "1024 512 -4 0.5 100000000000000000000"},
		{"v = {'n': [3]}\nlogger.info(str(v['n'][0] ** 2 * 2) + ' ' + str(1.5 ** 2))", "18 2.25"},
		{"logger.info(str(isinstance(1, int)) + str(isinstance(True, int)) + str(isinstance('s', (int, str))) + str(isinstance([], dict)))", "TrueTrueTrueFalse"},
		{"logger.info(str('123'.isnumeric()) + str('12a'.isnumeric()) + str(''.isnumeric()) + ' ' + '42'.zfill(5) + ' ' + '-7'.zfill(3))", "TrueFalseFalse 00042 -07"},
		{"logger.info(\"{:.2f}\".format(3.14159) + ' ' + '{} and {}'.format('a', 1) + ' ' + '{0}{1}{0}'.format('x', 'y'))", "3.14 a and 1 xyx"},
		{"d = {'k': 'v'}\nlogger.info('{name}: {d[k]!r} {n:>4}|{x:.1%}'.format(name='N', d=d, n=7, x=0.25))", "N: 'v'    7|25.0%"},
		{"msg = 'Total: {:,}'\nlogger.info(msg.format(1234567))", "Total: 1,234,567"},
		{"s = {1, 2, 2}\nlogger.info(str(len(s)) + ' ' + str(2 in s) + ' ' + str(sorted({x * 2 for x in [1, 2]})))", "2 True [2, 4]"},
		{"e = {}\nlogger.info(str(e) + str({'a': {1}}) + f\"{2 ** 3 < 9 < 10}\")", "{}{'a': {1}}True"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			out := mustEval(t, r, checkInput(tc.src), BlockCheck)
			if len(out.Logs) != 1 || out.Logs[0].Message != tc.want {
				t.Fatalf("got %+v, want %q", out.Logs, tc.want)
			}
		})
	}
	// Lines keep their numbers through the rewrites.
	out := eval(t, r, checkInput("a = (2 **\n 3)\nb = (1 <\n  a <\n  9)\nc = ('{}'.\n format(\n  1))\nd = nope"), BlockCheck)
	if out.Err == nil || out.Err.Line != 9 || out.Err.Type != "NameError" {
		t.Fatalf("got %v, want a NameError at line 9", out.Err)
	}
}

// What Starlark has no form of gets an error naming the construct and its line.
func TestUnsupportedPythonIsNamed(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct {
		src, want string
		line      int
	}{
		{"x = 1\ntry:\n    x = 2\nexcept Exception:\n    pass", "try/except", 2},
		{"class A:\n    pass", "class definitions", 1},
		{"x = 1\nif x:\n    raise ValueError('no')", "raise", 3},
		{"with open('f') as f:\n    pass", "with statement", 1},
		{"global x", "global statement", 1},
		{"d = {}\ndel d['a']", "del statement", 2},
		{"assert 1 == 1", "assert statement", 1},
		{"@decorator\ndef f():\n    pass", "decorators", 1},
		{"if (n := 3) > 2:\n    pass", "assignment expressions", 1},
		{"import requests", "requests", 1},
	} {
		t.Run(tc.src, func(t *testing.T) {
			out := eval(t, r, checkInput(tc.src), BlockCheck)
			if out.Err == nil || out.Err.Line != tc.line || !strings.Contains(out.Err.Detail, tc.want) {
				t.Fatalf("got %v, want %q at line %d", out.Err, tc.want, tc.line)
			}
		})
	}
}
