package policy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy/python"
)

// FuzzTranslate checks that translation never panics and never adds or
// removes a line, and that evaluation of arbitrary code never panics.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		`x = f"{a!r:>{w}} {'s' if n else ''} {{}}"`,
		"a = f\"\"\"x\n{y}\n\"\"\"\nb = '''q\nr'''",
		`import datetime` + "\n" + `from datetime import timedelta as td, datetime`,
		`x = ("a"  # c` + "\n" + ` "b" f'{c}')`,
		`s = "\d\xe9\101" if x is not None else rb'\q'`,
		"if x:\n\treturn PASSED\nreturn FAILED",
		`f"{x=} {y = !s:^5}"`,
		"a = (1 <\n b <= c) ** 2 ** -x.y(1)[0]\nz = {1, (2,\n 3)}\n'{:.2f}'.format(\n 1) < 0 not in [0] < 4",
		"x = (2\n ** -\n 3)\ny = ('{}'.\n format(\n 1))",
	} {
		f.Add(s)
	}
	r, err := New(Options{MaxSteps: 10_000})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out, err := python.Translate(src, contextParams[:])
		var terr *python.SourceError
		if err == nil {
			want := strings.Count(python.NormalizeNewlines(src), "\n") + python.HeaderLines + 2
			if got := strings.Count(out, "\n"); got != want {
				t.Fatalf("%q: %d lines after translation, want %d:\n%s", src, got, want, out)
			}
		} else if !errors.As(err, &terr) || terr.Line < 1 {
			t.Fatalf("%q: error without a line: %v", src, err)
		}
		res := r.Evaluate(context.Background(), Input{Block: BlockCheck, Code: domain.PolicyCode{Check: src}})
		if res.Err != nil && res.Err.Type == "InternalError" {
			t.Fatalf("%q: %v", src, res.Err)
		}
	})
}
