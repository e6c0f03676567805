package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePolicyFilesReportsWhereTheJSONIsWrong(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"syntax", "{\n  \"name\": \"x\",\n  \"policy_kind\": platform\n}", "line 3, column 18"},
		{"type", "[\n {\"name\": 3}\n]", "line 2, column 11"},
		{"cut short", "{\n  \"name\": \"x\"", "line 2, column 14: unexpected end"},
		{"trailing data", "{\"name\": \"x\", \"policy_kind\": \"platform\"}\n{}", "line 2, column 1: invalid character after top-level value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePolicyFiles([]byte(c.data))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an Invalid error at %q", err, c.want)
			}
		})
	}
}

func TestParsePolicyFilesReadsOneOrAList(t *testing.T) {
	one := `{"policy_kind":"platform","name":"a","check":"return PASSED"}`
	for data, want := range map[string]int{one: 1, "[" + one + "," + strings.Replace(one, `"a"`, `"b"`, 1) + "]": 2, "[]": 0} {
		specs, err := ParsePolicyFiles([]byte(data))
		if err != nil || len(specs) != want {
			t.Fatalf("%s: %d policies, %v; want %d", data, len(specs), err, want)
		}
	}
	if _, err := ParsePolicyFiles([]byte(`[` + one + `,{"policy_kind":"nope"}]`)); err == nil || !strings.Contains(err.Error(), "policy 2 of the list") {
		t.Fatalf("a bad second policy: %v", err)
	}
}
