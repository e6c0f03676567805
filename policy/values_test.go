package policy

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy/python"
)

// logOf evaluates "logger.info(str(<expr>))" in a check block.
func logOf(tb testing.TB, r *Runtime, in Input, expr string) string {
	tb.Helper()
	in.Code = domain.PolicyCode{Check: "logger.info(str(" + expr + "))"}
	out := mustEval(tb, r, in, BlockCheck)
	return out.Logs[0].Message
}

func TestGoValuesToStarlark(t *testing.T) {
	type custom struct{ A int }
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, "None"},
		{"int32", int32(-3), "-3"},
		{"uint64", uint64(7), "7"},
		{"integral float", 8.0, "8"},
		{"float", 8.5, "8.5"},
		{"huge float stays float", 1e300, "1e+300"},
		{"json number int", json.Number("12"), "12"},
		{"json number float", json.Number("1.5"), "1.5"},
		{"time", time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)), "2024-01-02 02:04:05+00:00"},
		{"duration", 90 * time.Minute, "1:30:00"},
		{"strings", []string{"a", "b"}, `['a', 'b']`},
		{"ints by reflection", []int{1, 2}, "[1, 2]"},
		{"map of strings by reflection", map[string]string{"k": "v"}, `{'k': 'v'}`},
		{"nested", map[string]any{"b": []any{map[string]any{"c": true}}, "a": nil}, `{'a': None, 'b': [{'c': True}]}`},
		{"user", alice, "alice"},
		{"nil user pointer", (*UserInfo)(nil), "None"},
		{"pointer", &[]int{4}, "[4]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := toStarlark(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := python.Str(v); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := toStarlark(custom{1}); err == nil {
		t.Fatal("a struct must not convert")
	}
}

func TestStarlarkValuesToJSON(t *testing.T) {
	for _, bad := range []starlark.Value{starlark.Float(math.Inf(1)), starlark.NewBuiltin("f", nil)} {
		if _, err := toJSON(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
	set := starlark.NewSet(2)
	_ = set.Insert(starlark.String("x"))
	got, err := toJSON(starlark.Tuple{set, date{time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}, timedelta{1500}, &roleValue{RoleInfo{Name: "R"}}})
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "json", got, []any{[]any{"x"}, "2024-01-02", 0.0015, "R"})
}

func TestStrftime(t *testing.T) {
	at := time.Date(2024, 3, 9, 15, 4, 5, 123000, time.UTC)
	for _, tc := range []struct{ f, want string }{
		{"%Y-%m-%d %H:%M:%S.%f", "2024-03-09 15:04:05.000123"},
		{"%a %A %b %B %h %e", "Sat Saturday Mar March Mar  9"},
		{"%I:%M %p %y %j %w %u", "03:04 PM 24 069 6 6"},
		{"%U %W %G-W%V", "09 10 2024-W10"},
		{"%z %Z %%", "+0000 UTC %"},
		{"%c|%x|%X", "Sat Mar  9 15:04:05 2024|03/09/24|15:04:05"},
		{"%q", "%q"},
	} {
		if got := strftime(at, tc.f, true); got != tc.want {
			t.Errorf("strftime(%q) = %q, want %q", tc.f, got, tc.want)
		}
	}
	if got := strftime(at, "%Y %z", false); got != "2024 " {
		t.Errorf("date strftime %%z: %q", got)
	}
}

func TestDateValues(t *testing.T) {
	r := mustRuntime(t, Options{})
	in := checkInput("")
	for _, tc := range []struct{ expr, want string }{
		{"datetime.date(2024, 5, 1).year * 10000 + datetime.date(2024, 5, 1).month * 100 + datetime.date(2024, 5, 1).day", "20240501"},
		{"datetime.date(2024, 5, 1).isoformat()", "2024-05-01"},
		{"datetime.date(2024, 5, 1).strftime('%d %B')", "01 May"},
		{"datetime.date(2024, 5, 1).weekday() + datetime.date(2024, 5, 1).isoweekday()", "5"},
		{"datetime.date(2024, 5, 1) < datetime.date(2024, 5, 2)", "True"},
		{"datetime.date(2024, 5, 1) - datetime.timedelta(days=1)", "2024-04-30"},
		{"datetime.datetime.now().tzinfo", "UTC"},
		{"datetime.datetime.now().timestamp() == 1714564800", "True"},
		{"datetime.datetime.now().hour + datetime.datetime.now().minute + datetime.datetime.now().second + datetime.datetime.now().microsecond", "12"},
		{"datetime.datetime.now().isoweekday()", "3"},
		{"datetime.datetime.now().isoformat(' ')", "2024-05-01 12:00:00+00:00"},
		{"datetime.datetime.now().astimezone()", "2024-05-01 12:00:00+00:00"},
		{"datetime.datetime.fromisoformat('2024-05-01')", "2024-05-01 00:00:00+00:00"},
		{"datetime.timedelta(microseconds=5).microseconds", "5"},
		{"datetime.timedelta(hours=1) % datetime.timedelta(minutes=25)", "0:10:00"},
		{"datetime.timedelta(hours=1) // 7", "0:08:34.285714"},
		{"+datetime.timedelta(hours=1)", "1:00:00"},
		{"datetime.timedelta(1, 2, 3)", "1 day, 0:00:02.000003"},
		{"datetime.timedelta(hours=1) != datetime.timedelta(hours=2)", "True"},
		{"datetime.timedelta(hours=1) >= datetime.timedelta(hours=1)", "True"},
		{"datetime.timedelta(hours=1) <= datetime.timedelta(hours=1)", "True"},
		{"{datetime.timedelta(hours=1): 1, proposal.proposal_time: 2, datetime.date(2024, 1, 1): 3}[datetime.timedelta(minutes=60)]", "1"},
		{"datetime.datetime", "<class 'datetime'>"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			if got := logOf(t, r, in, tc.expr); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"datetime.timezone()", "datetime.timedelta(days='x')", "datetime.timedelta(1, days=1)",
		"datetime.timedelta(fortnights=1)", "datetime.datetime.fromisoformat('nope')", "datetime.datetime.strptime('x', '%Q')",
		"datetime.date(2024, 2, 30)", "datetime.timedelta(days=10**20)"} {
		if out := eval(t, r, checkInput("x = "+bad), BlockCheck); out.Err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestTranslateEscapesAndNewlines(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct{ src, want string }{
		{`"\101\x41\n"`, "AA\n"},
		{`"\351t\xe9"`, "été"},
		{`b"\xff" != b""`, "True"},
		{`f"\101{1}\x42"`, "A1B"},
		{`f"\{1}"`, `\1`},
		{`rf"\{1}"`, `\1`},
		{`f'{"a" "b"}'`, "ab"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			if got := logOf(t, r, checkInput(""), tc.src); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	in := checkInput("x = 1\r\ny = 2\r\nz = undefined_name\r\n")
	if out := eval(t, r, in, BlockCheck); out.Err == nil || out.Err.Line != 3 {
		t.Fatalf("CRLF line numbers: %v", out.Err)
	}
}

func TestRolesAndUserFields(t *testing.T) {
	r := mustRuntime(t, Options{})
	in := checkInput("")
	in.Community.Users = []UserInfo{alice, bob}
	in.Community.Roles = []RoleInfo{{Name: "Moderator", Description: "mods", Permissions: []string{"p"}}, {Name: "Base User", IsBase: true}}
	in.Action.Initiator = &alice
	for _, tc := range []struct{ expr, want string }{
		{"[(r.name, r.role_name, r.description, r.is_base_role, r.permissions) for r in slack.get_roles()]",
			`[('Moderator', 'Moderator', 'mods', False, ['p']), ('Base User', 'Base User', '', True, [])]`},
		{"slack.get_users().values_list('username', 'readable_name', 'id', 'is_community_admin', 'platform', 'avatar')",
			`[('alice', 'Alice Smith', 'u1', True, 'slack', ''), ('bob', 'Bob Jones', 'u2', False, 'slack', '')]`},
		{"slack.get_users().filter(readable_name__icontains='SMITH').first()", "alice"},
		{"slack.get_users().filter(username__iexact='BOB', is_community_admin=False).count()", "1"},
		{"slack.get_users().filter(username__contains='o').usernames()", `['bob']`},
		{"slack.get_users().filter(username='nobody').first()", "None"},
		{"[u.platform + u.id + u.avatar for u in slack.get_users()]", `['slacku1', 'slacku2']`},
		{"'alice' in slack.get_users()", "True"},
		{"action.initiator != slack.get_users()[1]", "True"},
		{"'bob' in proposal.get_yes_votes()", "True"},
		{"proposal.get_yes_votes().last().user", "bob"},
		{"proposal.get_yes_votes().first() in proposal.get_yes_votes()", "True"},
		{"proposal.get_yes_votes().first().value", "True"},
		{"proposal.get_yes_votes().filter(user='bob').count()", "1"},
		{"proposal.get_yes_votes().values_list('vote_time', flat=True)[0]", "2024-05-01 11:59:00+00:00"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			in := in
			in.Proposal.Votes = []VoteInfo{yes(bob)}
			if got := logOf(t, r, in, tc.expr); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"slack.get_users().filter('x')", "slack.get_users().filter(color='red')",
		"slack.get_users().values_list('a', 'b', flat=True)", "slack.get_users().values_list(1)",
		"proposal.get_yes_votes().values_list('nope')", "proposal.get_yes_votes(users=[1])", "proposal.get_yes_votes(users=3)",
		"slack.get_users().filter(username__in=3)", "hash(slack.get_users())", "action.initiator < action.initiator",
		"action.initiator.nope"} {
		in := in
		in.Proposal.Votes = []VoteInfo{yes(bob)}
		if out := eval(t, r, withCheck(in, "x = "+bad), BlockCheck); out.Err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func withCheck(in Input, src string) Input { in.Code = domain.PolicyCode{Check: src}; return in }

func TestMethodKinds(t *testing.T) {
	k := MethodKinds()
	for kind, m := range map[string]string{"effect": "slack.post_message", "vote": "loomio.initiate_vote", "answer": "sourcecred.get_cred"} {
		if !slices.Contains(k[kind], m) {
			t.Errorf("%s not listed as %s: %v", m, kind, k[kind])
		}
	}
	if len(k["vote"]) != 7 { // slack, discord, discourse, reddit, github, loomio, web
		t.Errorf("want initiate_vote on 7 platforms, got %v", k["vote"])
	}
}
