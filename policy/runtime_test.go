package policy

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

func checkInput(src string) Input {
	return Input{Block: BlockCheck, Code: domain.PolicyCode{Check: src}, Now: testNow,
		Proposal:  ProposalInfo{ID: "p1", ProposalTime: testNow.Add(-time.Hour)},
		Community: CommunityInfo{Platforms: []string{"slack"}}}
}

func TestOptions(t *testing.T) {
	if _, err := New(Options{Timeout: -1, MaxCodeBytes: -1, CacheSize: -1}); err == nil ||
		!strings.Contains(err.Error(), "Timeout") || !strings.Contains(err.Error(), "MaxCodeBytes") || !strings.Contains(err.Error(), "CacheSize") {
		t.Fatalf("want every invalid option reported, got %v", err)
	}
	r := mustRuntime(t, Options{})
	if r.opts.MaxSteps != DefaultMaxSteps || r.opts.Timeout != DefaultTimeout || r.opts.MaxCodeBytes != DefaultMaxCodeBytes || r.opts.CacheSize != DefaultCacheSize {
		t.Fatalf("defaults not applied: %+v", r.opts)
	}
}

func TestSandboxLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		src  string
		typ  string
		line int
	}{
		// The interpreter reports a stopped loop at an approximate line.
		{"endless loop hits the step limit", Options{MaxSteps: 100_000}, "x = 0\nwhile True:\n  pass", "StepLimitError", -1},
		{"endless loop hits the timeout", Options{MaxSteps: 1 << 62, Timeout: 20 * time.Millisecond}, "while True:\n  x = 1", "TimeoutError", -1},
		{"recursion is refused", Options{}, "def f(n):\n  return f(n - 1)\nreturn f(10)", "RecursionError", 2},
		{"mutual recursion is refused", Options{}, "def a(n):\n  return b(n)\ndef b(n):\n  return a(n)\nreturn a(1)", "RecursionError", 2},
		{"load is refused", Options{}, "load('lib.star', 'x')\nreturn PASSED", "ImportError", 1},
		{"imports are refused", Options{}, "import os\nreturn PASSED", "ImportError", 1},
		{"big block is refused", Options{MaxCodeBytes: 1 << 10}, "x = '" + strings.Repeat("a", 2<<10) + "'", "CodeSizeError", 1},
		{"unconnected platform", Options{}, "discord.post_message('hi', 'c')", "PlatformError", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRuntime(t, tc.opts)
			out := eval(t, r, checkInput(tc.src), BlockCheck)
			if out.Err == nil || out.Err.Type != tc.typ || (tc.line > 0 && out.Err.Line != tc.line) || out.Err.Line < 1 {
				t.Fatalf("got %v, want %s at line %d", out.Err, tc.typ, tc.line)
			}
		})
	}
}

func TestTenMegabyteLiteralRefusedBeforeParsing(t *testing.T) {
	r := mustRuntime(t, Options{})
	src := "x = \"" + strings.Repeat("a", 10<<20) + "\"\nreturn PASSED"
	start := time.Now()
	out := eval(t, r, checkInput(src), BlockCheck)
	if out.Err == nil || out.Err.Type != "CodeSizeError" {
		t.Fatalf("got %v", out.Err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("refusing took %s; it must not parse or hash the block", d)
	}
	if errs := r.Validate(domain.PolicyCode{Check: src}); len(errs) != 1 {
		t.Fatalf("Validate: %v", errs)
	}
}

func TestContextCancellation(t *testing.T) {
	r := mustRuntime(t, Options{MaxSteps: 1 << 62, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if out := r.Evaluate(ctx, checkInput("return PASSED")); out.Err == nil || out.Err.Type != "CancelledError" {
		t.Fatalf("cancelled before start: %v", out.Err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	in := checkInput("while True:\n  pass")
	start := time.Now()
	out := r.Evaluate(ctx, in)
	if out.Err == nil || out.Err.Type != "TimeoutError" {
		t.Fatalf("deadline during evaluation: %v", out.Err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cancellation took %s", d)
	}
}

func TestEvaluateNeverPanics(t *testing.T) {
	r := mustRuntime(t, Options{})
	// A Go value that cannot be converted, a bad block, a bad language.
	for _, in := range []Input{
		{Block: "nope", Code: domain.PolicyCode{}},
		{Block: BlockCheck, Code: domain.PolicyCode{Check: "return action.weird"}, Action: ActionInfo{Fields: map[string]any{"weird": make(chan int)}}},
		{Block: BlockCheck, Code: domain.PolicyCode{Check: "x", CheckLang: "python"}},
	} {
		out := r.Evaluate(context.Background(), in)
		if out.Err == nil {
			t.Fatalf("%+v: want an error", in)
		}
	}
}

func TestCheckReturnValues(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct {
		src, status string
	}{
		{"return PASSED", domain.StatusPassed},
		{"return FAILED", domain.StatusFailed},
		{"return PROPOSED", domain.StatusProposed},
		{"return None", domain.StatusProposed},
		{"pass", domain.StatusProposed},
		{"", domain.StatusProposed},
		{"# only a comment", domain.StatusProposed},
		{"return 'PASSED'", domain.StatusPassed},
		{"if True:\n    return PASSED", domain.StatusPassed},
	} {
		out := mustEval(t, r, checkInput(tc.src), BlockCheck)
		assertStatus(t, out, tc.status)
	}
	out := eval(t, r, checkInput("return 42"), BlockCheck)
	if out.Err == nil || out.Err.Type != "TypeError" || !strings.HasPrefix(out.Err.Error(), "TypeError in check:") {
		t.Fatalf("got %v", out.Err)
	}
}

func TestFilterAndInitialize(t *testing.T) {
	r := mustRuntime(t, Options{})
	in := Input{Code: domain.PolicyCode{Filter: "return action.action_type == 'slackpostmessage'",
		Initialize: "proposal.data.set('n', 1)\nreturn {'threshold': 3, 'who': [action.initiator]}"},
		Action: ActionInfo{Type: "slackpostmessage", Initiator: &alice}, Now: testNow}
	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True")
	}
	out := mustEval(t, r, in, BlockInitialize)
	assertJSONEqual(t, "variables", out.Variables, map[string]any{"threshold": 3, "who": []any{"alice"}})
	assertJSONEqual(t, "data", out.Data, map[string]any{"n": 1})
	in.Code.Filter = "return None"
	if out := mustEval(t, r, in, BlockFilter); out.Filter {
		t.Fatal("filter returning None: want False")
	}
}

func TestQuestionsAndAnswers(t *testing.T) {
	r := mustRuntime(t, Options{})
	src := strings.Join([]string{
		"slack.post_message('before')",
		"proposal.data.set('k', 1)",
		"r = metagov.perform_action('randomness.random-int', {'low': 0, 'high': 10})",
		"logger.info(str(r.get('value')) + ' ' + str(r.value) + ' ' + str(r.missing))",
		"slack.post_message('after ' + str(r['value']))",
		"if r and r.get('value') > 5:",
		"    return PASSED",
		"return FAILED",
	}, "\n")
	in := checkInput(src)
	in.Community.Platforms = []string{"slack", "metagov"}

	out := eval(t, r, in, BlockCheck)
	q := out.Question
	if q == nil || q.Platform != "metagov" || q.Method != "perform_action" {
		t.Fatalf("want a metagov question, got %+v", out)
	}
	assertJSONEqual(t, "args", q.Args, map[string]any{"name": "randomness.random-int", "parameters": map[string]any{"low": 0, "high": 10}})
	if len(out.Effects)+len(out.Logs)+len(out.DataOps) != 0 || out.Status != "" || out.Data != nil {
		t.Fatalf("a question must carry nothing else: %+v", out)
	}
	// The key is deterministic and computable by the engine.
	if q.Key != AnswerKey("metagov", "perform_action", map[string]any{"name": "randomness.random-int", "parameters": map[string]any{"high": 10.0, "low": 0.0}}) {
		t.Fatal("answer key must not depend on number representation or key order")
	}

	in.Answers = map[string]any{q.Key: map[string]any{"value": 7.0}}
	out = mustEval(t, r, in, BlockCheck)
	assertStatus(t, out, domain.StatusPassed)
	assertEffects(t, out.Effects,
		fx{"slack", "post_message", map[string]any{"text": "before"}},
		fx{"slack", "post_message", map[string]any{"text": "after 7"}})
	assertLogs(t, out.Logs, domain.LogLine{Level: "info", Message: "7 7 None"})
	if len(out.DataOps) != 1 {
		t.Fatalf("data ops: %+v", out.DataOps)
	}
}

func TestInitiateVoteSetsVotePost(t *testing.T) {
	r := mustRuntime(t, Options{})
	src := "logger.info(str(proposal.vote_post_id))\nslack.initiate_vote(text='Vote!', channel='C1', users=slack.get_users(role_names=['Voter']), options=['a', 'b'])\nlogger.info(proposal.vote_post_id + ' ' + proposal.vote_url)"
	in := checkInput(src)
	in.Block = BlockNotify
	in.Code = domain.PolicyCode{Notify: src}
	in.Community.Users = []UserInfo{alice, bob, carol}
	in = mustAsk(t, r, in, BlockNotify, "slack", "initiate_vote",
		map[string]any{"text": "Vote!", "channel": "C1", "users": []any{"carol"}, "options": []any{"a", "b"}},
		map[string]any{"post_id": 1714.5, "url": "https://v"})
	out := mustEval(t, r, in, BlockNotify)
	assertLogs(t, out.Logs, domain.LogLine{Level: "info", Message: "None"}, domain.LogLine{Level: "info", Message: "1714.5 https://v"})
	if out.VotePostID != "1714.5" || out.VoteURL != "https://v" {
		t.Fatalf("vote post %q %q", out.VotePostID, out.VoteURL)
	}
}

// A vote may be held in one member's DM or a group DM; an ephemeral one cannot be seen by
// enough people to be a vote.
func TestInitiateVoteInDirectMessages(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, postType := range []string{"im", "mpim"} {
		src := "slack.initiate_vote(text='Vote!', users=['alice'], post_type='" + postType + "')"
		in := checkInput(src)
		in.Block = BlockNotify
		in.Code = domain.PolicyCode{Notify: src}
		in.Action = ActionInfo{Platform: "slack", Fields: map[string]any{"channel": "C9"}, Initiator: &alice}
		mustAsk(t, r, in, BlockNotify, "slack", "initiate_vote",
			map[string]any{"text": "Vote!", "channel": "C9", "users": []any{"alice"}, "post_type": postType},
			map[string]any{"post_id": "1.5", "url": "https://v"})
	}
	src := "slack.initiate_vote(text='Vote!', post_type='ephemeral')"
	in := checkInput(src)
	in.Block = BlockNotify
	in.Code = domain.PolicyCode{Notify: src}
	if out := eval(t, r, in, BlockNotify); out.Err == nil || out.Err.Type != "ValueError" {
		t.Fatalf("an ephemeral vote: %+v, want a ValueError", out.Err)
	}
}

func TestMetagovProcess(t *testing.T) {
	r := mustRuntime(t, Options{})
	check := strings.Join([]string{
		"result = metagov.get_process()",
		"if result.status != \"completed\":",
		"    return # still processing",
		"if result.errors:",
		"    return FAILED",
		"if result.outcome:",
		"    agree_count = result.outcome.get(\"agree\")",
		"    disagree_count = result.outcome.get(\"disagree\")",
		"    return PASSED if agree_count > disagree_count else FAILED",
		"return FAILED",
	}, "\n")
	notify := strings.Join([]string{
		"import datetime",
		"",
		"closing_at = (action.proposal.proposal_time + datetime.timedelta(days=3)).strftime(\"%Y-%m-%d\")",
		"result = metagov.start_process(\"loomio.poll\", {",
		"    \"title\": \"Agree or disagree?\",",
		"    \"options\": [\"agree\", \"disagree\"],",
		"    \"closing_at\": closing_at",
		"})",
		"poll_url = result.get('poll_url')",
		"logger.info(poll_url)",
		"logger.info(proposal.governance_process.status)",
	}, "\n")
	in := checkInput(check)
	in.Code.Notify = notify
	in.Community.Platforms = []string{"metagov"}

	in = mustAsk(t, r, in, BlockNotify, "metagov", "start_process", map[string]any{"name": "loomio.poll",
		"parameters": map[string]any{"title": "Agree or disagree?", "options": []any{"agree", "disagree"}, "closing_at": "2024-05-04"}},
		map[string]any{"poll_url": "https://loomio/p/1", "status": "pending"})
	out := mustEval(t, r, in, BlockNotify)
	assertLogs(t, out.Logs, domain.LogLine{Level: "info", Message: "https://loomio/p/1"}, domain.LogLine{Level: "info", Message: "pending"})

	for _, tc := range []struct {
		name    string
		process map[string]any
		status  string
	}{
		{"pending", map[string]any{"status": "pending"}, domain.StatusProposed},
		{"errors", map[string]any{"status": "completed", "errors": map[string]any{"text": "boom"}}, domain.StatusFailed},
		{"agree", map[string]any{"status": "completed", "outcome": map[string]any{"agree": 3, "disagree": 1}}, domain.StatusPassed},
		{"disagree", map[string]any{"status": "completed", "outcome": map[string]any{"agree": 1, "disagree": 1}}, domain.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := in
			in.Proposal.GovernanceProcess = tc.process
			assertStatus(t, mustEval(t, r, in, BlockCheck), tc.status)
		})
	}
	// Without a process, get_process() returns None, as PolicyKit's does.
	in.Code.Check = "return PASSED if metagov.get_process() == None else FAILED"
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusPassed)
}

// PolicyKit's metagov client takes the parameters as keyword arguments
// (perform_action(name, **kwargs)); the documented dict form works too, and
// both ask the same question.
func TestMetagovKeywordParameters(t *testing.T) {
	r := mustRuntime(t, Options{})
	in := checkInput("")
	in.Community.Platforms = []string{"metagov"}
	in.Action.Initiator = &alice
	for _, tc := range []struct{ name, src, method string }{
		{"perform_action keywords", "r = metagov.perform_action('randomness.random-int', low=0, high=10)\nlogger.info(str(r))", "perform_action"},
		{"perform_action dict", "r = metagov.perform_action('randomness.random-int', {'low': 0, 'high': 10})\nlogger.info(str(r))", "perform_action"},
		{"perform_action dict and keywords", "r = metagov.perform_action('randomness.random-int', {'low': 0}, high=10)\nlogger.info(str(r))", "perform_action"},
		{"start_process keywords", "r = metagov.start_process('randomness.random-int', low=0, high=10)\nlogger.info(str(r))", "start_process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := in
			in.Code.Check = tc.src
			in = mustAsk(t, r, in, BlockCheck, "metagov", tc.method,
				map[string]any{"name": "randomness.random-int", "parameters": map[string]any{"low": 0, "high": 10}}, 7)
			if got := mustEval(t, r, in, BlockCheck).Logs[0].Message; got != "7" {
				t.Fatalf("got %q", got)
			}
		})
	}
	in.Code.Check = "metagov.perform_action('x', {'a': 1}, a=2)"
	if out := eval(t, r, in, BlockCheck); out.Err == nil || out.Err.Type != "TypeError" {
		t.Fatalf("a parameter given twice: %v", out.Err)
	}
	// action.initiator.metagovuser.external_username is the username on the
	// platform the action came from.
	in.Code.Check = "logger.info(action.initiator.metagovuser.external_username)"
	if got := mustEval(t, r, in, BlockCheck).Logs[0].Message; got != "alice" {
		t.Fatalf("metagovuser.external_username = %q", got)
	}
}

func TestPlatformArguments(t *testing.T) {
	r := mustRuntime(t, Options{})
	in := checkInput("")
	in.Community.Platforms = Platforms
	in.Community.Users = []UserInfo{alice, bob}
	in.Action = ActionInfo{Platform: "slack", Fields: map[string]any{"channel": "C9"}, Initiator: &alice}
	for _, tc := range []struct {
		name, src string
		want      []fx
		errType   string
	}{
		{"positional args map to names", "discord.post_message('hi', 'D1', 'm1')",
			[]fx{{"discord", "post_message", map[string]any{"text": "hi", "channel": "D1", "message_id": "m1"}}}, ""},
		{"proposal first is accepted", "slack.post_message(proposal, 'hi')",
			[]fx{{"slack", "post_message", map[string]any{"text": "hi", "channel": "C9"}}}, ""},
		{"channel inferred from the action", "slack.post_message(text='hi')",
			[]fx{{"slack", "post_message", map[string]any{"text": "hi", "channel": "C9"}}}, ""},
		{"users become usernames", "slack.post_message('hi', users=slack.get_users(), post_type='mpim')",
			[]fx{{"slack", "post_message", map[string]any{"text": "hi", "channel": "C9", "users": []any{"alice", "bob"}, "post_type": "mpim"}}}, ""},
		{"datetimes and timedeltas", "github.create_issue('r', 't', body={'at': proposal.proposal_time, 'after': datetime.timedelta(minutes=90)})",
			[]fx{{"github", "create_issue", map[string]any{"repo_name": "r", "title": "t", "body": map[string]any{"at": "2024-05-01T11:00:00Z", "after": 5400}}}}, ""},
		{"None args are omitted", "slack.post_message('hi', channel='C1', thread_ts=None)",
			[]fx{{"slack", "post_message", map[string]any{"text": "hi", "channel": "C1"}}}, ""},
		{"effects keep call order", "opencollective.process_expense('APPROVE', 'e1')\nreddit.make_post('t', 'x')\ndiscourse.create_topic('t', 'raw', 3)",
			[]fx{{"opencollective", "process_expense", map[string]any{"action": "APPROVE", "expense_id": "e1"}},
				{"reddit", "make_post", map[string]any{"title": "t", "text": "x"}},
				{"discourse", "create_topic", map[string]any{"title": "t", "raw": "raw", "category": 3}}}, ""},
		{"unknown keyword", "slack.post_message('hi', colour='red')", nil, "TypeError"},
		{"missing argument", "opencollective.post_message('hi')", nil, "TypeError"},
		{"too many positional", "discord.post_message('a', 'b', 'c', 'd')", nil, "TypeError"},
		{"duplicate argument", "discord.post_message('a', text='b')", nil, "TypeError"},
		{"bad post type", "slack.post_message('a', post_type='shout')", nil, "ValueError"},
		{"bad expense action", "opencollective.process_expense('MAYBE', 'e1')", nil, "ValueError"},
		{"not JSON-able", "slack.post_message(text=slack)", nil, "TypeError"},
		{"unknown method", "slack.launch_rocket()", nil, "AttributeError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := in
			in.Code.Check = tc.src
			out := eval(t, r, in, BlockCheck)
			if tc.errType != "" {
				if out.Err == nil || out.Err.Type != tc.errType {
					t.Fatalf("got %v (%+v), want %s", out.Err, out.Effects, tc.errType)
				}
				if len(out.Effects) != 0 {
					t.Fatal("a failed evaluation must not report effects")
				}
				return
			}
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			assertEffects(t, out.Effects, tc.want...)
		})
	}
}

func TestCommunityMethods(t *testing.T) {
	r := mustRuntime(t, Options{})
	dan := UserInfo{Username: "dan", ReadableName: "Dan", Platform: "discord"}
	src := strings.Join([]string{
		"users = slack.get_users()",
		"logger.info(str(users.count()) + ' ' + str(len(users)) + ' ' + ','.join([u.username for u in users]))",
		"logger.info(str(slack.get_users(role_names=['Voter']).values_list('username', flat=True)))",
		"logger.info(str(slack.get_users(role_names=['Base User']).count()))",
		"logger.info(str(slack.get_users().filter(username__in=['bob', 'carol', 'zed']).usernames()))",
		"logger.info(str(sorted(slack.get_username_to_readable_name_dict().items())))",
		"logger.info(str([r.role_name for r in slack.get_roles()]))",
		"logger.info(str(slack.get_users_with_permission('Can execute slack rename conversation').usernames()))",
		"logger.info(str([r.name for r in action.initiator.get_roles()]))",
		"logger.info(str(action.initiator.has_role('Moderator')) + str(action.initiator.has_role('Base User')) + str(action.initiator.has_role('Voter')))",
		"logger.info(str(action.initiator == slack.get_users()[0]) + ' ' + str(action.initiator in slack.get_users()))",
	}, "\n")
	in := checkInput(src)
	in.Community.Users = []UserInfo{alice, bob, carol, dan}
	in.Community.Roles = []RoleInfo{{Name: "Base User", IsBase: true}, {Name: "Moderator", Permissions: []string{"Can execute slack rename conversation"}}, {Name: "Voter"}}
	in.Action = ActionInfo{Initiator: &alice}
	out := mustEval(t, r, in, BlockCheck)
	var got []string
	for _, l := range out.Logs {
		got = append(got, l.Message)
	}
	want := []string{
		"3 3 alice,bob,carol",
		`['carol']`,
		"3",
		`['bob', 'carol']`,
		`[('alice', 'Alice Smith'), ('bob', 'Bob Jones'), ('carol', 'Carol')]`,
		`['Base User', 'Moderator', 'Voter']`,
		`['alice']`,
		`['Base User', 'Moderator']`,
		"TrueTrueFalse",
		"True True",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestActionAndPolicyObjects(t *testing.T) {
	r := mustRuntime(t, Options{})
	src := strings.Join([]string{
		"logger.info(str(action))",
		"logger.info(action.action_type + ' ' + action.kind + ' ' + action.id)",
		"logger.info(action.channel + ' ' + str(action.amount) + ' ' + action.data.get('k') + ' ' + action.data.k)",
		"logger.info(action.initiator.username + ' ' + action.initiator.readable_name + ' ' + str(action.initiator.is_community_admin) + ' ' + str(action.initiator))",
		"logger.info(str(action.proposal.id) + ' ' + str(proposal.action.id) + ' ' + proposal.policy.name)",
		"logger.info(policy.name + '|' + policy.description + '|' + policy.kind + '|' + str(policy.action_types))",
		"logger.info(str(variables.limit) + ' ' + str(variables['limit']) + ' ' + str(policy.variables.limit))",
		"logger.info(proposal.status + ' ' + str(proposal.is_vote_closed) + ' ' + str(proposal.vote_post_id))",
	}, "\n")
	in := checkInput(src)
	in.Action = ActionInfo{ID: "a1", Type: "slackpostmessage", Kind: "platform", Platform: "slack", Description: "alice posted 'hi'",
		Fields:    map[string]any{"channel": "C1", "amount": 12.5, "data": map[string]any{"k": "v"}},
		Initiator: &alice}
	in.Policy = PolicyInfo{ID: "pol", Name: "N", Description: "D", Kind: "platform", ActionTypes: []string{"slackpostmessage"}}
	in.Variables = map[string]any{"limit": 3.0}
	in.Proposal.Status = "PROPOSED"
	out := mustEval(t, r, in, BlockCheck)
	var got []string
	for _, l := range out.Logs {
		got = append(got, l.Message)
	}
	want := []string{
		"alice posted 'hi'",
		"slackpostmessage platform a1",
		"C1 12.5 v v",
		"alice Alice Smith True alice",
		"p1 a1 N",
		`N|D|platform|['slackpostmessage']`,
		"3 3 3",
		"proposed False None",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	in.Code.Check = "return action.no_such_field"
	if out := eval(t, r, in, BlockCheck); out.Err == nil || out.Err.Type != "AttributeError" {
		t.Fatalf("got %v", out.Err)
	}
	in.Action.Initiator = nil
	in.Code.Check = "return PASSED if action.initiator == None else FAILED"
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusPassed)
}

func TestPrintAndLogger(t *testing.T) {
	r := mustRuntime(t, Options{})
	out := mustEval(t, r, checkInput("print('a', 1)\nlogger.warning('%s voted %d times', 'bob', 2)\nlogger.error('e')\nlogger.critical(3)"), BlockCheck)
	assertLogs(t, out.Logs,
		domain.LogLine{Level: "info", Message: "a 1"},
		domain.LogLine{Level: "warning", Message: "bob voted 2 times"},
		domain.LogLine{Level: "error", Message: "e"},
		domain.LogLine{Level: "critical", Message: "3"})
	out = mustEval(t, r, checkInput("for i in range(1500):\n  logger.info('x')"), BlockCheck)
	if len(out.Logs) != maxLogLines+1 || out.Logs[maxLogLines].Message != "500 more log lines dropped" {
		t.Fatalf("log cap: %d lines, last %+v", len(out.Logs), out.Logs[len(out.Logs)-1])
	}
}

func TestDataStore(t *testing.T) {
	r := mustRuntime(t, Options{})
	src := strings.Join([]string{
		"d = proposal.data",
		"logger.info(str(d.get('a')) + ' ' + str(d.get('missing')) + ' ' + str(d.get('missing', 'dflt')))",
		"d.set('b', {'x': [1, 2.5, 'y', None, True]})",
		"logger.info(str(d.get('b')['x'][1]))",
		"logger.info(str(d.remove('a')) + ' ' + str(d.remove('a')) + ' ' + str(d.get('a')))",
		"d.set('t', proposal.proposal_time)",
		"d.set('u', action.initiator)",
	}, "\n")
	in := checkInput(src)
	in.Action.Initiator = &bob
	in.Proposal.Data = map[string]any{"a": 1.0, "keep": "me"}
	out := mustEval(t, r, in, BlockCheck)
	assertLogs(t, out.Logs,
		domain.LogLine{Level: "info", Message: "1 None dflt"},
		domain.LogLine{Level: "info", Message: "2.5"},
		domain.LogLine{Level: "info", Message: "True False None"})
	assertJSONEqual(t, "ops", out.DataOps, []domain.DataOp{
		{Op: domain.DataSet, Key: "b", Value: map[string]any{"x": []any{1, 2.5, "y", nil, true}}},
		{Op: domain.DataRemove, Key: "a"},
		{Op: domain.DataSet, Key: "t", Value: "2024-05-01T11:00:00Z"},
		{Op: domain.DataSet, Key: "u", Value: "bob"},
	})
	assertJSONEqual(t, "data", out.Data, map[string]any{"keep": "me", "b": map[string]any{"x": []any{1, 2.5, "y", nil, true}},
		"t": "2024-05-01T11:00:00Z", "u": "bob"})
	if _, ok := in.Proposal.Data["a"]; !ok {
		t.Fatal("Evaluate modified its input")
	}
	for _, bad := range []string{"proposal.data.set('k', slack)", "proposal.data.set('k', {1: 2})", "proposal.data.set('k', float('nan'))"} {
		if out := eval(t, r, checkInput(bad), BlockCheck); out.Err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestVoteSets(t *testing.T) {
	r := mustRuntime(t, Options{})
	votes := []VoteInfo{
		yes(alice), no(bob), yes(carol),
		{User: user("dave"), Kind: domain.VoteNumber, Number: 3, At: testNow.Add(-2 * time.Hour)},
		{User: user("erin"), Kind: domain.VoteNumber, Number: 5, At: testNow},
		choice(user("fay"), "consent"), choice(user("gus"), "object"),
	}
	for _, tc := range []struct{ expr, want string }{
		{"proposal.get_all_boolean_votes().count()", "3"},
		{"proposal.get_yes_votes().count()", "2"},
		{"len(proposal.get_no_votes())", "1"},
		{"proposal.get_yes_votes(users=['alice']).count()", "1"},
		{"proposal.get_yes_votes(users=[action.initiator]).count()", "1"},
		{"proposal.get_yes_votes(users=slack.get_users(role_names=['Voter'])).count()", "1"},
		{"proposal.get_yes_votes(users='carol').count()", "1"},
		{"proposal.get_all_number_votes().count()", "2"},
		{"proposal.get_one_number_votes(5).count()", "1"},
		{"proposal.get_one_number_votes(value=4).count()", "0"},
		{"proposal.get_choice_votes().count()", "2"},
		{"proposal.get_choice_votes(value='consent').count()", "1"},
		{"proposal.get_choice_votes('object').values_list('user__username')", `[('gus',)]`},
		{"proposal.get_yes_votes().values_list('user__username', flat=True)", `['alice', 'carol']`},
		{"proposal.get_yes_votes().values_list('user__username', 'boolean_value')", `[('alice', True), ('carol', True)]`},
		{"[v.user.username + ':' + str(v.boolean_value) for v in proposal.get_all_boolean_votes()]", `['alice:True', 'bob:False', 'carol:True']`},
		{"[v.number_value for v in proposal.get_all_number_votes()]", "[3, 5]"},
		{"[v.choice for v in proposal.get_choice_votes()]", `['consent', 'object']`},
		{"str(proposal.get_all_number_votes().first().get_time_elapsed())", "2:00:00"},
		{"str(proposal.get_all_number_votes().first().vote_time)", "2024-05-01 10:00:00+00:00"},
		{"str(bool(proposal.get_no_votes())) + str(bool(proposal.get_no_votes(users=[])))", "TrueFalse"},
		{"proposal.get_yes_votes().exists()", "True"},
		{"proposal.get_all_boolean_votes().filter(boolean_value=False).count()", "1"},
		{"proposal.get_all_boolean_votes().filter(user__username__in=['bob', 'carol']).count()", "2"},
		{"proposal.get_all_number_votes().filter(number_value__gte=4).count()", "1"},
		{"proposal.get_yes_votes()[1].user.username", "carol"},
		{"str(proposal.get_no_votes())", "<QuerySet [<BooleanVote: bob voted False>]>"},
		{"str(proposal.get_one_number_votes(3))", "<QuerySet [<NumberVote: dave voted 3>]>"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			in := checkInput("logger.info(str(" + tc.expr + "))")
			in.Proposal.Votes = votes
			in.Community.Users = []UserInfo{alice, bob, carol}
			in.Action.Initiator = &alice
			out := mustEval(t, r, in, BlockCheck)
			if got := out.Logs[0].Message; got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDatetime(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct{ expr, want string }{
		{"datetime.timedelta(hours=3)", "3:00:00"},
		{"datetime.timedelta(days=1, hours=2, minutes=3, seconds=4)", "1 day, 2:03:04"},
		{"datetime.timedelta(days=3, weeks=1)", "10 days, 0:00:00"},
		{"datetime.timedelta(seconds=-1)", "-1 day, 23:59:59"},
		{"datetime.timedelta(hours=1.5)", "1:30:00"},
		{"datetime.timedelta(milliseconds=1)", "0:00:00.001000"},
		{"datetime.timedelta(hours=3) + datetime.timedelta(minutes=30)", "3:30:00"},
		{"datetime.timedelta(hours=3) - datetime.timedelta(hours=4)", "-1 day, 23:00:00"},
		{"datetime.timedelta(hours=3) * 2", "6:00:00"},
		{"2 * datetime.timedelta(hours=3)", "6:00:00"},
		{"datetime.timedelta(hours=3) / 2", "1:30:00"},
		{"datetime.timedelta(hours=3) / datetime.timedelta(hours=1)", "3.0"},
		{"datetime.timedelta(hours=3) // datetime.timedelta(hours=2)", "1"},
		{"-datetime.timedelta(hours=1)", "-1 day, 23:00:00"},
		{"datetime.timedelta(days=2).total_seconds()", "172800.0"},
		{"datetime.timedelta(days=2, seconds=5).days", "2"},
		{"datetime.timedelta(days=2, seconds=5).seconds", "5"},
		{"datetime.timedelta(hours=3) < datetime.timedelta(days=1)", "True"},
		{"datetime.timedelta(hours=24) == datetime.timedelta(days=1)", "True"},
		{"bool(datetime.timedelta())", "False"},
		{"proposal.get_time_elapsed()", "1:00:00"},
		{"proposal.get_time_elapsed() > datetime.timedelta(minutes=59)", "True"},
		{"proposal.proposal_time", "2024-05-01 11:00:00+00:00"},
		{"proposal.proposal_time + datetime.timedelta(days=3)", "2024-05-04 11:00:00+00:00"},
		{"datetime.timedelta(days=3) + proposal.proposal_time", "2024-05-04 11:00:00+00:00"},
		{"proposal.proposal_time - datetime.timedelta(hours=12)", "2024-04-30 23:00:00+00:00"},
		{"datetime.datetime.now() - proposal.proposal_time", "1:00:00"},
		{"proposal.proposal_time - datetime.datetime.now()", "-1 day, 23:00:00"},
		{"datetime.datetime.now() > proposal.proposal_time", "True"},
		{"datetime.datetime.now()", "2024-05-01 12:00:00+00:00"},
		{"datetime.datetime.utcnow() == datetime.datetime.now(datetime.timezone.utc)", "True"},
		{"datetime.datetime(2024, 1, 2, 3, 4, 5).isoformat()", "2024-01-02T03:04:05+00:00"},
		{"datetime.datetime(2024, 1, 2, 3, 4, 5, 6).isoformat()", "2024-01-02T03:04:05.000006+00:00"},
		{"datetime.datetime(2024, 1, 2).strftime('%Y-%m-%d %H:%M:%S %b %B %a %A %j %p %y %%')", "2024-01-02 00:00:00 Jan January Tue Tuesday 002 AM 24 %"},
		{"(proposal.proposal_time + datetime.timedelta(days=3)).strftime('%Y-%m-%d')", "2024-05-04"},
		{"datetime.datetime.now().date()", "2024-05-01"},
		{"datetime.datetime.now().date() - datetime.date(2024, 4, 1)", "30 days, 0:00:00"},
		{"datetime.date(2024, 2, 28) + datetime.timedelta(days=2)", "2024-03-01"},
		{"datetime.date.today()", "2024-05-01"},
		{"datetime.datetime.now().year * 100 + datetime.datetime.now().month", "202405"},
		{"datetime.datetime.now().weekday()", "2"},
		{"datetime.datetime.fromisoformat('2024-05-01T10:00:00+02:00')", "2024-05-01 08:00:00+00:00"},
		{"datetime.datetime.strptime('01/05/2024', '%d/%m/%Y')", "2024-05-01 00:00:00+00:00"},
		{"datetime.datetime.fromtimestamp(0)", "1970-01-01 00:00:00+00:00"},
		{"datetime.datetime.now().replace(hour=0)", "2024-05-01 00:00:00+00:00"},
		{"[d for d in [datetime.timedelta(hours=2), datetime.timedelta(hours=1)] if d > datetime.timedelta(minutes=90)]", "[2:00:00]"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			out := mustEval(t, r, checkInput("logger.info(str("+tc.expr+"))"), BlockCheck)
			if got := out.Logs[0].Message; got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{
		"datetime.timedelta(hours=1) < 3",
		"datetime.datetime(2024, 13, 1)",
		"proposal.proposal_time + 1",
		"datetime.date(2024, 1, 1) < datetime.datetime.now()",
		"datetime.timedelta(hours=1) / 0",
	} {
		if out := eval(t, r, checkInput("x = "+bad), BlockCheck); out.Err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestRandomIsDeterministic(t *testing.T) {
	r := mustRuntime(t, Options{})
	src := "logger.info(str([random.randint(1, 6) for _ in range(5)]) + str(random.sample(['a', 'b', 'c', 'd'], k=2)) + random.choice(['x', 'y', 'z']) + str(random.random() < 1) + str(random.randrange(10) < 10))"
	in := checkInput(src)
	in.Seed = 7
	first := mustEval(t, r, in, BlockCheck).Logs[0].Message
	for range 3 {
		if again := mustEval(t, r, in, BlockCheck).Logs[0].Message; again != first {
			t.Fatalf("same seed, different draws: %s vs %s", first, again)
		}
	}
	in.Seed = 8
	if other := mustEval(t, r, in, BlockCheck).Logs[0].Message; other == first {
		t.Fatalf("different seeds drew the same: %s", other)
	}
	if out := eval(t, r, checkInput("random.sample([1, 2], k=3)"), BlockCheck); out.Err == nil || out.Err.Type != "ValueError" {
		t.Fatalf("oversized sample: %v", out.Err)
	}
}

func TestPythonCompatibility(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct{ src, want string }{
		{"x = None\nreturn 'y' if x is None else 'n'", "y"},
		{"x = 1\nreturn 'y' if x is not None else 'n'", "y"},
		{"return str(sum([1, 2, 3]))", "6"},
		{"return str(sum([0.5, 0.25], 1))", "1.75"},
		{"return str(round(2.5)) + str(round(3.5)) + str(round(2.675, 2))", "242.67"},
		{"return str(math.ceil(3 / 2))", "2"},
		{"import math\nreturn str(math.floor(2.7))", "2"},
		{"from datetime import timedelta\nreturn str(timedelta(minutes=5))", "0:05:00"},
		{"import json\nreturn json.encode({'a': [1, 2]})", `{"a":[1,2]}`},
		{"s = set([1, 1, 2])\nreturn str(len(s))", "2"},
		{"n = 0\nwhile n < 3:\n  n += 1\nreturn str(n)", "3"},
		{"return \"\\d\" + 'x'", `\dx`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			in := checkInput(strings.Replace(tc.src, "return ", "logger.info(", 1) + ")")
			if i := strings.LastIndex(tc.src, "return "); i >= 0 {
				in = checkInput(tc.src[:i] + "logger.info(" + tc.src[i+len("return "):] + ")")
			}
			out := mustEval(t, r, in, BlockCheck)
			if got := out.Logs[0].Message; got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	r := mustRuntime(t, Options{})
	code := domain.PolicyCode{
		Filter:     "return True",
		Initialize: "x = 1\nif x\n  pass",
		Check:      "yes > ",
		CheckLang:  domain.LangExpr,
		Notify:     "x = f\"{a\"",
		Success:    "return undefined_thing", // a NameError only when it runs, as in Python
		Fail:       "pass",
	}
	errs := r.Validate(code)
	if len(errs) != 3 {
		t.Fatalf("want 3 errors, got %d: %v", len(errs), errs)
	}
	want := map[Block]struct {
		typ  string
		line int
	}{
		BlockInitialize: {"SyntaxError", 2},
		BlockCheck:      {"SyntaxError", 1},
		BlockNotify:     {"SyntaxError", 1},
	}
	for _, err := range errs {
		var e *EvalError
		if !errors.As(err, &e) {
			t.Fatalf("%v is not an *EvalError", err)
		}
		w := want[e.Block]
		if e.Type != w.typ || e.Line != w.line {
			t.Errorf("%s: got %v, want %s at line %d", e.Block, e, w.typ, w.line)
		}
	}
	if err := Compile(code); err == nil || !strings.Contains(err.Error(), "SyntaxError at line 1 of notify") || strings.Contains(err.Error(), "success") {
		t.Fatalf("Compile: %v", err)
	}
	if err := Compile(domain.PolicyCode{}); err != nil {
		t.Fatalf("empty code compiles: %v", err)
	}
}

func TestCacheCompilesOncePerVersion(t *testing.T) {
	r := mustRuntime(t, Options{CacheSize: 4})
	in := checkInput("return PASSED")
	for range 3 {
		mustEval(t, r, in, BlockCheck)
	}
	if n := r.cache.len(); n != 1 {
		t.Fatalf("cache has %d entries, want 1", n)
	}
	c1, _ := r.cache.get(cacheKey{Hash(in.Code), BlockCheck})
	mustEval(t, r, in, BlockCheck)
	c2, _ := r.cache.get(cacheKey{Hash(in.Code), BlockCheck})
	if c1 != c2 {
		t.Fatal("block recompiled")
	}
	for i := range 10 {
		mustEval(t, r, checkInput("return PASSED # "+string(rune('a'+i))), BlockCheck)
	}
	if n := r.cache.len(); n != 4 {
		t.Fatalf("cache has %d entries, want the bound 4", n)
	}
	if Hash(domain.PolicyCode{Check: "a"}) == Hash(domain.PolicyCode{Check: "a", CheckLang: domain.LangExpr}) || Hash(domain.PolicyCode{Check: "ab"}) == Hash(domain.PolicyCode{Filter: "a", Check: "b"}) {
		t.Fatal("hash collision between different code")
	}
}

func TestConcurrentEvaluations(t *testing.T) {
	r := mustRuntime(t, Options{CacheSize: 8})
	p := seedPolicy{Check: "yes_votes = proposal.get_yes_votes().count()\nlogger.debug(f\"{yes_votes} for\")\nproposal.data.set('n', yes_votes)\nreturn PASSED if yes_votes >= 2 else PROPOSED",
		Notify: "slack.initiate_vote(text=f'vote {action.name}')"}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := baseInput(p, ActionInfo{Platform: "slack", Fields: map[string]any{"name": "x", "channel": "C1"}})
			in.Proposal.Data = map[string]any{"shared": 1.0}
			if i%2 == 0 {
				in.Proposal.Votes = []VoteInfo{yes(alice), yes(bob)}
			}
			for range 50 {
				out := r.Evaluate(context.Background(), withBlock(in, BlockCheck))
				want := domain.StatusProposed
				if i%2 == 0 {
					want = domain.StatusPassed
				}
				if out.Err != nil || out.Status != want {
					t.Errorf("goroutine %d: %v %s", i, out.Err, out.Status)
					return
				}
				if q := r.Evaluate(context.Background(), withBlock(in, BlockNotify)).Question; q == nil {
					t.Errorf("goroutine %d: no question", i)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func withBlock(in Input, b Block) Input { in.Block = b; return in }

func TestInputOutputEncoding(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileConsensus)
	in := baseInput(p, ActionInfo{ID: "a", Type: "slackpostmessage", Platform: "slack",
		Fields: map[string]any{"channel": "C1", "text": "core-group-vote x", "n": 3.0, "list": []any{"a", 1.0}}, Initiator: &alice})
	in.Block = BlockCheck
	in.Proposal.VotePostID = "ts"
	in.Proposal.ProposalTime = testNow.Add(-110 * time.Hour)
	in.Proposal.Votes = []VoteInfo{choice(UserInfo{Username: "U01"}, "consent")}
	in.Answers = map[string]any{"k": map[string]any{"post_id": "1"}}

	for _, codec := range []struct {
		name string
		rt   func(v, out any) error
	}{
		{"json", func(v, out any) error {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			return json.Unmarshal(b, out)
		}},
		{"gob", func(v, out any) error {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(v); err != nil {
				return err
			}
			return gob.NewDecoder(&buf).Decode(out)
		}},
	} {
		t.Run(codec.name, func(t *testing.T) {
			var in2 Input
			if err := codec.rt(in, &in2); err != nil {
				t.Fatalf("input round trip: %v", err)
			}
			want := r.Evaluate(context.Background(), in)
			got := r.Evaluate(context.Background(), in2)
			if want.Err != nil {
				t.Fatal(want.Err)
			}
			assertJSONEqual(t, "output after round trip", got, want)
			var out2 Output
			if err := codec.rt(want, &out2); err != nil {
				t.Fatalf("output round trip: %v", err)
			}
			assertJSONEqual(t, "output round trip", out2, want)
		})
	}
}

// Python fails on an undefined name only when its line runs; the block
// compiles and runs as far as it goes.
func TestUndefinedNameFailsOnlyWhenItsLineRuns(t *testing.T) {
	r := mustRuntime(t, Options{})
	src := "if action.action_type == 'never':\n    return PASSED if undefined_helper(1) else FAILED\nx = 1\nif x > 0:\n    return FAILED\nreturn also_undefined"
	if errs := r.Validate(domain.PolicyCode{Check: src}); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	in := checkInput(src)
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusFailed)
	in.Code.Check = strings.Replace(src, "if x > 0:", "if x < 0:", 1)
	out := eval(t, r, in, BlockCheck)
	if out.Err == nil || out.Err.Error() != "NameError at line 6 of check: name 'also_undefined' is not defined" {
		t.Fatalf("got %v", out.Err)
	}
	// A builtin name stays what it is, and a predeclared one too.
	in.Code.Check = "logger.info(str(len([1, 2])) + PASSED)"
	if got := mustEval(t, r, in, BlockCheck).Logs[0].Message; got != "2passed" {
		t.Fatalf("got %q", got)
	}
}

// proposal.vote_outcome is what the platform that closed the vote says it decided (a Loomio
// poll's outcome statement), None when it said nothing.
func TestProposalVoteOutcome(t *testing.T) {
	r := mustRuntime(t, Options{})
	in := checkInput("if proposal.vote_outcome == None:\n  logger.info('none')\n  return PROPOSED\n" +
		"logger.info(proposal.vote_outcome.statement + ' ' + proposal.vote_outcome['statement_format'])\nreturn PASSED")
	if out := mustEval(t, r, in, BlockCheck); len(out.Logs) != 1 || out.Logs[0].Message != "none" || out.Status != domain.StatusProposed {
		t.Fatalf("without an outcome: %+v", out)
	}
	in.Proposal.IsVoteClosed = true
	in.Proposal.VoteOutcome = map[string]any{"statement": "Approved: three consents", "statement_format": "md"}
	if out := mustEval(t, r, in, BlockCheck); len(out.Logs) != 1 || out.Logs[0].Message != "Approved: three consents md" || out.Status != domain.StatusPassed {
		t.Fatalf("with an outcome: %+v", out)
	}
}
