package policy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// seedDir holds PolicyKit's ten example policies, exactly as authored.
const seedDir = "../../shared/seed"

var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func mustRuntime(tb testing.TB, opts Options) *Runtime {
	tb.Helper()
	r, err := New(opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return r
}

// seedPolicy is a policy JSON file in PolicyKit's download format.
type seedPolicy struct {
	Kind        string   `json:"policy_kind"`
	ActionTypes []string `json:"action_types"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Filter      string   `json:"filter"`
	Initialize  string   `json:"initialize"`
	Check       string   `json:"check"`
	Notify      string   `json:"notify"`
	Success     string   `json:"success"`
	Fail        string   `json:"fail"`
}

func (p seedPolicy) code() domain.PolicyCode {
	return domain.PolicyCode{Filter: p.Filter, Initialize: p.Initialize, Check: p.Check, Notify: p.Notify, Success: p.Success, Fail: p.Fail}
}

func (p seedPolicy) info() PolicyInfo {
	return PolicyInfo{ID: "pol-1", Name: p.Name, Description: p.Description, Kind: strings.ToLower(p.Kind), ActionTypes: p.ActionTypes}
}

// requireSeed skips when the seed folder is missing, except on CI.
func requireSeed(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(seedDir, "policy_examples")); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("seed folder missing: %v", err)
		}
		tb.Skipf("seed folder missing (%v); set CI=true to make this fatal", err)
	}
}

func mustSeed(tb testing.TB, file string) seedPolicy {
	tb.Helper()
	requireSeed(tb)
	b, err := os.ReadFile(filepath.Join(seedDir, "policy_examples", file))
	if err != nil {
		tb.Fatalf("read seed: %v", err)
	}
	var p seedPolicy
	if err := json.Unmarshal(b, &p); err != nil {
		tb.Fatalf("decode seed %s: %v", file, err)
	}
	return p
}

var (
	alice = UserInfo{ID: "u1", Username: "alice", ReadableName: "Alice Smith", Platform: "slack", IsAdmin: true, Roles: []string{"Moderator"}}
	bob   = UserInfo{ID: "u2", Username: "bob", ReadableName: "Bob Jones", Platform: "slack"}
	carol = UserInfo{ID: "u3", Username: "carol", ReadableName: "Carol", Platform: "slack", Roles: []string{"Voter"}}
)

func yes(u UserInfo) VoteInfo {
	return VoteInfo{User: u, Kind: domain.VoteBoolean, Boolean: true, At: testNow.Add(-time.Minute)}
}

func no(u UserInfo) VoteInfo {
	return VoteInfo{User: u, Kind: domain.VoteBoolean, Boolean: false, At: testNow.Add(-time.Minute)}
}

func choice(u UserInfo, c string) VoteInfo {
	return VoteInfo{User: u, Kind: domain.VoteChoice, Choice: c, At: testNow.Add(-time.Minute)}
}

func user(name string) UserInfo {
	return UserInfo{Username: name, ReadableName: name, Platform: "slack"}
}

// baseInput is a realistic evaluation input: a proposal created an hour
// ago, every platform connected, a small community.
func baseInput(p seedPolicy, action ActionInfo) Input {
	return Input{
		Code:   p.code(),
		Now:    testNow,
		Seed:   42,
		Policy: p.info(),
		Action: action,
		Proposal: ProposalInfo{
			ID:           "prop-1",
			Status:       "proposed",
			ProposalTime: testNow.Add(-time.Hour),
		},
		Community: CommunityInfo{
			Platforms: Platforms,
			Users:     []UserInfo{alice, bob, carol},
			Roles: []RoleInfo{
				{Name: "Base User", IsBase: true, Permissions: []string{"Can add boolean vote"}},
				{Name: "Moderator", Permissions: []string{"Can execute slack rename conversation"}},
				{Name: "Voter", Permissions: []string{"Can add boolean vote"}},
			},
		},
	}
}

func eval(tb testing.TB, r *Runtime, in Input, b Block) Output {
	tb.Helper()
	in.Block = b
	return r.Evaluate(context.Background(), in)
}

// mustEval evaluates a block that must complete without error or question.
func mustEval(tb testing.TB, r *Runtime, in Input, b Block) Output {
	tb.Helper()
	out := eval(tb, r, in, b)
	if out.Err != nil {
		tb.Fatalf("%s: unexpected error: %v", b, out.Err)
	}
	if out.Question != nil {
		tb.Fatalf("%s: unexpected question: %+v", b, out.Question)
	}
	return out
}

// mustAsk evaluates a block that must stop at an unanswered call, and
// returns the input with that call answered.
func mustAsk(tb testing.TB, r *Runtime, in Input, b Block, wantPlatform, wantMethod string, wantArgs map[string]any, answer any) Input {
	tb.Helper()
	out := eval(tb, r, in, b)
	if out.Err != nil {
		tb.Fatalf("%s: unexpected error: %v", b, out.Err)
	}
	q := out.Question
	if q == nil {
		tb.Fatalf("%s: want a question for %s.%s, got %+v", b, wantPlatform, wantMethod, out)
	}
	if q.Platform != wantPlatform || q.Method != wantMethod {
		tb.Fatalf("%s: question %s.%s, want %s.%s", b, q.Platform, q.Method, wantPlatform, wantMethod)
	}
	assertJSONEqual(tb, "question args", q.Args, wantArgs)
	if q.Key != AnswerKey(q.Platform, q.Method, q.Args) {
		tb.Fatalf("question key %s is not AnswerKey of its call", q.Key)
	}
	if len(out.Effects) != 0 || len(out.DataOps) != 0 {
		tb.Fatalf("%s: a question must discard effects and data ops, got %+v", b, out)
	}
	answers := map[string]any{}
	for k, v := range in.Answers {
		answers[k] = v
	}
	answers[q.Key] = answer
	in.Answers = answers
	return in
}

// assertJSONEqual compares two JSON-like values through their JSON form
// (so int64(3) equals float64(3)).
func assertJSONEqual(tb testing.TB, what string, got, want any) {
	tb.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		tb.Fatalf("%s: marshal got: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		tb.Fatalf("%s: marshal want: %v", what, err)
	}
	var gv, wv any
	_ = json.Unmarshal(g, &gv)
	_ = json.Unmarshal(w, &wv)
	if !reflect.DeepEqual(gv, wv) {
		tb.Fatalf("%s:\n got: %s\nwant: %s", what, g, w)
	}
}

// fx is an expected effect (Seq is checked from position).
type fx struct {
	platform, method string
	args             map[string]any
}

func assertEffects(tb testing.TB, got []Effect, want ...fx) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("effects: got %d %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.Platform != w.platform || g.Method != w.method || g.Seq != i {
			tb.Fatalf("effect %d: got %s.%s seq %d, want %s.%s seq %d", i, g.Platform, g.Method, g.Seq, w.platform, w.method, i)
		}
		assertJSONEqual(tb, "effect args "+w.method, g.Args, w.args)
	}
}

func assertLogs(tb testing.TB, got []domain.LogLine, want ...domain.LogLine) {
	tb.Helper()
	if len(want) == 0 {
		want = nil
	}
	if len(got) == 0 {
		got = nil
	}
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("logs:\n got: %+v\nwant: %+v", got, want)
	}
}

func assertStatus(tb testing.TB, out Output, want string) {
	tb.Helper()
	if out.Status != want {
		tb.Fatalf("status %q, want %q (logs %+v)", out.Status, want, out.Logs)
	}
}

func dbg(msg string) domain.LogLine { return domain.LogLine{Level: "debug", Message: msg} }
