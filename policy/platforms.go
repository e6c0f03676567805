package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/policykit-go/policykit/policy/python"
)

// Platform objects (slack, discord, ...) never perform I/O. Their methods
// either record an Effect (callEffect) or return data recorded in
// Input.Answers (callAnswer, callVote); see the package documentation.

type callKind int

const (
	callEffect callKind = iota // recorded as an Effect, returns None
	callAnswer                 // answered from Input.Answers
	callVote                   // answered; the answer {"post_id", "url"} sets proposal.vote_post_id/vote_url
)

// methodSpec describes one platform method: its parameters in positional
// order, the required ones, and what calling it does.
type methodSpec struct {
	name     string
	params   []string
	required []string
	kind     callKind
	// inferChannel fills "channel" from action.channel when the action
	// happened on the same platform and no channel was given (PolicyKit's
	// infer_channel).
	inferChannel bool
	// extraKwargs accepts keyword arguments beyond params.
	extraKwargs bool
	// kwargsInto collects keyword arguments beyond params into this
	// parameter, a dict (PolicyKit's metagov.perform_action(name, **kwargs)).
	kwargsInto string
	check      func(args map[string]any) error
}

// Platforms are the platform names exposed to policy code, in order.
var Platforms = []string{"slack", "discord", "discourse", "reddit", "github", "opencollective", "loomio", "sourcecred", "metagov", "web"}

func oneOf(param string, allowed ...string) func(map[string]any) error {
	return func(args map[string]any) error {
		v, ok := args[param]
		if !ok {
			return nil
		}
		s, _ := v.(string)
		if !slices.Contains(allowed, s) {
			return python.Errorf("ValueError", "%s must be one of %s, not %v", param, strings.Join(allowed, ", "), v)
		}
		return nil
	}
}

// platformMethods is the table of supported platform methods.
var platformMethods = map[string][]*methodSpec{
	"slack": {
		{name: "post_message", params: []string{"text", "channel", "thread_ts", "users", "post_type", "reply_broadcast"},
			required: []string{"text"}, inferChannel: true, check: oneOf("post_type", "channel", "ephemeral", "im", "mpim")},
		{name: "rename_conversation", params: []string{"channel", "name"}, required: []string{"channel", "name"}},
		{name: "join_conversation", params: []string{"channel", "users"}, required: []string{"channel", "users"}},
		{name: "kick_conversation", params: []string{"channel", "user"}, required: []string{"channel", "user"}},
		{name: "pin_message", params: []string{"channel", "timestamp"}, required: []string{"channel", "timestamp"}},
		{name: "schedule_message", params: []string{"text", "channel", "post_at"}, required: []string{"text", "channel", "post_at"}},
		{name: "delete_message", params: []string{"channel", "ts"}, required: []string{"channel", "ts"}},
		{name: "initiate_vote", params: []string{"text", "channel", "users", "options", "post_type"},
			kind: callVote, inferChannel: true, check: oneOf("post_type", "channel", "mpim", "im")},
	},
	// PolicyKit's own site, where a community created on the web lives (the starter kits'
	// ${PLATFORM} is "web" there): a vote is the proposal's page, a post a notice on it.
	"web": {
		{name: "post_message", params: []string{"text", "users"}, required: []string{"text"}},
		{name: "initiate_vote", params: []string{"text", "users", "options"}, kind: callVote},
	},
	"discord": {
		{name: "post_message", params: []string{"text", "channel", "message_id"}, required: []string{"text"}, inferChannel: true},
		{name: "delete_message", params: []string{"channel", "message_id"}, required: []string{"channel", "message_id"}},
		{name: "rename_channel", params: []string{"channel", "name"}, required: []string{"channel", "name"}},
		{name: "initiate_vote", params: []string{"text", "channel", "options", "users"}, kind: callVote, inferChannel: true},
	},
	"discourse": {
		// PolicyKit's DiscourseCommunity: post_message(text, topic_id), make_call(url, values,
		// action, method) and initiate_vote(users, text, topic_id); options is ours, for a
		// choice rather than yes or no.
		{name: "post_message", params: []string{"text", "topic_id"}, required: []string{"text", "topic_id"}},
		{name: "make_call", params: []string{"url", "values", "action", "method"}, required: []string{"url"}, kind: callAnswer},
		{name: "initiate_vote", params: []string{"users", "text", "topic_id", "options"}, kind: callVote},
		{name: "create_post", params: []string{"raw", "topic_id"}, required: []string{"raw", "topic_id"}},
		{name: "create_topic", params: []string{"title", "raw", "category"}, required: []string{"title", "raw"}},
		{name: "delete_post", params: []string{"post_id"}, required: []string{"post_id"}},
		{name: "delete_topic", params: []string{"topic_id"}, required: []string{"topic_id"}},
	},
	"reddit": {
		{name: "make_post", params: []string{"title", "text", "subreddit"}, required: []string{"title", "text"}},
		{name: "remove_post", params: []string{"post_id"}, required: []string{"post_id"}},
		{name: "approve_post", params: []string{"post_id"}, required: []string{"post_id"}},
		{name: "initiate_vote", params: []string{"text", "subreddit", "users"}, kind: callVote},
	},
	"github": {
		{name: "create_issue", params: []string{"repo_name", "title", "body"}, required: []string{"repo_name", "title"}},
		{name: "comment_on_issue", params: []string{"repo_name", "issue_number", "body"}, required: []string{"repo_name", "issue_number", "body"}},
		{name: "close_issue", params: []string{"repo_name", "issue_number"}, required: []string{"repo_name", "issue_number"}},
		{name: "add_label", params: []string{"repo_name", "issue_number", "label"}, required: []string{"repo_name", "issue_number", "label"}},
		{name: "initiate_vote", params: []string{"repo_name", "text", "users"}, required: []string{"repo_name"}, kind: callVote},
	},
	"opencollective": {
		{name: "post_message", params: []string{"text", "expense_id"}, required: []string{"text", "expense_id"}},
		{name: "process_expense", params: []string{"action", "expense_id"}, required: []string{"action", "expense_id"},
			check: oneOf("action", "APPROVE", "UNAPPROVE", "REJECT", "PAY", "MARK_AS_UNPAID", "SCHEDULE_FOR_PAYMENT", "MARK_AS_SPAM")},
	},
	"loomio": {
		{name: "create_discussion", params: []string{"title", "description", "group"}, required: []string{"title"}},
		{name: "initiate_vote", params: []string{"title", "closing_at", "options", "details", "poll_type"},
			required: []string{"title"}, kind: callVote, extraKwargs: true},
	},
	"sourcecred": {
		{name: "get_cred", params: []string{"username", "id"}, kind: callAnswer},
		{name: "get_grain", params: []string{"username", "id"}, kind: callAnswer},
	},
	"metagov": {
		{name: "perform_action", params: []string{"name", "parameters"}, required: []string{"name"}, kind: callAnswer, kwargsInto: "parameters"},
		{name: "start_process", params: []string{"name", "parameters"}, required: []string{"name"}, kind: callAnswer, kwargsInto: "parameters"},
		{name: "get_process", kind: callAnswer},
		{name: "close_process", kind: callAnswer},
	},
}

// actionRespond is action.respond(text) of a discordslashcommand action: an answer to the
// slash command, which Discord shows to the member who used it (an effect, "respond", with
// the interaction's token).
var actionRespond = starlark.NewBuiltin("respond", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	st := stateOf(th)
	if err := requireConnected(st, "discord"); err != nil {
		return nil, err
	}
	var text starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text); err != nil {
		return nil, err
	}
	t, ok := starlark.AsString(text)
	if !ok {
		t = text.String()
	}
	token, _ := st.in.Action.Fields["interaction_token"].(string)
	return starlark.None, st.addEffect("discord", "respond", map[string]any{"text": t, "interaction_token": token})
})

// MethodKinds lists the supported platform methods by kind ("effect",
// "answer", "vote"), as "platform.method" names; for documentation and
// adapters.
func MethodKinds() map[string][]string {
	out := map[string][]string{}
	for p, specs := range platformMethods {
		for _, s := range specs {
			k := map[callKind]string{callEffect: "effect", callAnswer: "answer", callVote: "vote"}[s.kind]
			out[k] = append(out[k], p+"."+s.name)
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// platformValue is the object bound to slack, discord, ... Its methods are
// static builtins that find the evaluation through the thread.
type platformValue struct {
	name    string
	methods starlark.StringDict
}

var platformValues = newPlatformValues()

func newPlatformValues() map[string]*platformValue {
	out := map[string]*platformValue{}
	for _, p := range Platforms {
		pv := &platformValue{name: p, methods: starlark.StringDict{}}
		for _, spec := range platformMethods[p] {
			pv.methods[spec.name] = platformCall(p, spec)
		}
		for name, fn := range communityMethods(p) {
			pv.methods[name] = fn
		}
		out[p] = pv
	}
	return out
}

var _ starlark.HasAttrs = (*platformValue)(nil)

func (p *platformValue) Type() string          { return "CommunityPlatform" }
func (p *platformValue) Freeze()               {}
func (p *platformValue) Truth() starlark.Bool  { return true }
func (p *platformValue) Hash() (uint32, error) { return starlark.String(p.name).Hash() }
func (p *platformValue) String() string        { return "<" + p.name + ">" }
func (p *platformValue) AttrNames() []string   { return append(p.methods.Keys(), "platform") }

func (p *platformValue) Attr(name string) (starlark.Value, error) {
	if m, ok := p.methods[name]; ok {
		return m, nil
	}
	if name == "platform" {
		return starlark.String(p.name), nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("%s has no method %q", p.name, name))
}

func requireConnected(st *evalState, platform string) error {
	if !st.connected(platform) {
		return python.Errorf("PlatformError", "platform %s is not connected", platform)
	}
	return nil
}

// bindArgs maps positional and keyword arguments to the method's parameter
// names and converts them to JSON-like values; None arguments are omitted.
func bindArgs(platform string, spec *methodSpec, args starlark.Tuple, kwargs []starlark.Tuple) (map[string]any, error) {
	fn := platform + "." + spec.name
	if len(args) > 0 {
		if _, isProposal := args[0].(*proposalValue); isProposal {
			args = args[1:] // PolicyKit's platform methods take the proposal first
		}
	}
	if len(args) > len(spec.params) {
		return nil, python.Errorf("TypeError", "%s() takes %d positional arguments but %d were given", fn, len(spec.params), len(args))
	}
	out := make(map[string]any, len(args)+len(kwargs))
	seen := make(map[string]bool, len(args)+len(kwargs))
	set := func(name string, v starlark.Value) error {
		if seen[name] {
			return python.Errorf("TypeError", "%s() got multiple values for argument %q", fn, name)
		}
		seen[name] = true
		if v == starlark.None {
			return nil
		}
		j, err := toJSON(v)
		if err != nil {
			return python.Errorf("TypeError", "%s() argument %q: %v", fn, name, err)
		}
		out[name] = j
		return nil
	}
	for i, a := range args {
		if err := set(spec.params[i], a); err != nil {
			return nil, err
		}
	}
	var into map[string]any
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		if spec.kwargsInto != "" && !slices.Contains(spec.params, name) {
			if into == nil {
				into = map[string]any{}
			}
			if kv[1] == starlark.None {
				into[name] = nil
				continue
			}
			j, err := toJSON(kv[1])
			if err != nil {
				return nil, python.Errorf("TypeError", "%s() argument %q: %v", fn, name, err)
			}
			into[name] = j
			continue
		}
		if !spec.extraKwargs && !slices.Contains(spec.params, name) {
			return nil, python.Errorf("TypeError", "%s() got an unexpected keyword argument %q", fn, name)
		}
		if err := set(name, kv[1]); err != nil {
			return nil, err
		}
	}
	if into != nil {
		if given, ok := out[spec.kwargsInto]; ok {
			m, isMap := given.(map[string]any)
			if !isMap {
				return nil, python.Errorf("TypeError", "%s() argument %q must be a dict when keyword arguments are given", fn, spec.kwargsInto)
			}
			for k, v := range m {
				if _, dup := into[k]; dup {
					return nil, python.Errorf("TypeError", "%s() got multiple values for parameter %q", fn, k)
				}
				into[k] = v
			}
		}
		out[spec.kwargsInto] = into
	}
	for _, r := range spec.required {
		if _, ok := out[r]; !ok {
			return nil, python.Errorf("TypeError", "%s() missing required argument %q", fn, r)
		}
	}
	if spec.check != nil {
		if err := spec.check(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func platformCall(platform string, spec *methodSpec) *starlark.Builtin {
	return starlark.NewBuiltin(platform+"."+spec.name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		st := stateOf(th)
		if err := requireConnected(st, platform); err != nil {
			return nil, err
		}
		a, err := bindArgs(platform, spec, args, kwargs)
		if err != nil {
			return nil, err
		}
		if spec.inferChannel && a["channel"] == nil && st.in.Action.Platform == platform {
			if ch, ok := st.in.Action.Fields["channel"].(string); ok && ch != "" {
				a["channel"] = ch
			}
		}
		switch spec.kind {
		case callEffect:
			return starlark.None, st.addEffect(platform, spec.name, a)
		case callAnswer:
			if platform == "metagov" && spec.name == "get_process" {
				// The process of this proposal, or None when it started none
				// (PolicyKit's get_process() with no process).
				return st.governanceProcess()
			}
			if platform == "metagov" && spec.name == "close_process" {
				// The platform closes the process this proposal follows: it is named in
				// the call, so that the adapter needs nothing but the request.
				proc := st.currentProcess()
				if proc == nil {
					return starlark.None, nil
				}
				a = map[string]any{"id": proc["id"], "name": proc["name"]}
			}
		}
		key := AnswerKey(platform, spec.name, a)
		ans, ok := st.in.Answers[key]
		if !ok {
			st.question = &Question{Key: key, Platform: platform, Method: spec.name, Args: a}
			return nil, errQuestion
		}
		if spec.kind == callVote {
			m, _ := ans.(map[string]any)
			st.votePostID = stringOf(m["post_id"])
			st.voteURL = stringOf(m["url"])
			st.voteSet = true
		}
		if platform == "metagov" && spec.name == "start_process" {
			m, _ := ans.(map[string]any)
			st.govProcess, st.govSet = m, true
		}
		return toStarlark(ans)
	})
}

func stringOf(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprint(floatValue(v))
	}
	return fmt.Sprint(v)
}

// communityMethods are the CommunityPlatform methods that read community
// state: get_users, get_roles, get_username_to_readable_name_dict,
// get_users_with_permission.
func communityMethods(platform string) map[string]*starlark.Builtin {
	users := func(st *evalState) []*UserInfo {
		st.volatile = true
		all := st.in.Community.Users
		out := make([]*UserInfo, 0, len(all))
		for i := range all {
			if all[i].Platform == "" || all[i].Platform == platform {
				out = append(out, &all[i])
			}
		}
		return out
	}
	return map[string]*starlark.Builtin{
		"get_users": starlark.NewBuiltin(platform+".get_users", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			st := stateOf(th)
			if err := requireConnected(st, platform); err != nil {
				return nil, err
			}
			var roleNames starlark.Value = starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kw, "role_names?", &roleNames); err != nil {
				return nil, err
			}
			all := users(st)
			if roleNames == starlark.None {
				return &userSet{users: all}, nil
			}
			names, err := usernamesOf(roleNames) // a set of strings
			if err != nil {
				return nil, err
			}
			out := &userSet{}
			for _, u := range all {
				for name := range names {
					if hasRole(st.in.Community.Roles, u, name) {
						out.users = append(out.users, u)
						break
					}
				}
			}
			return out, nil
		}),
		"get_roles": starlark.NewBuiltin(platform+".get_roles", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			st := stateOf(th)
			if err := requireConnected(st, platform); err != nil {
				return nil, err
			}
			if err := starlark.UnpackArgs(b.Name(), args, kw); err != nil {
				return nil, err
			}
			roles := st.in.Community.Roles
			l := make([]starlark.Value, len(roles))
			for i, r := range roles {
				l[i] = &roleValue{r}
			}
			return starlark.NewList(l), nil
		}),
		"get_username_to_readable_name_dict": starlark.NewBuiltin(platform+".get_username_to_readable_name_dict", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			st := stateOf(th)
			if err := requireConnected(st, platform); err != nil {
				return nil, err
			}
			if err := starlark.UnpackArgs(b.Name(), args, kw); err != nil {
				return nil, err
			}
			d := starlark.NewDict(len(st.in.Community.Users))
			for _, u := range users(st) {
				name := u.ReadableName
				if name == "" {
					name = u.Username
				}
				if err := d.SetKey(starlark.String(u.Username), starlark.String(name)); err != nil {
					return nil, err
				}
			}
			return d, nil
		}),
		"get_users_with_permission": starlark.NewBuiltin(platform+".get_users_with_permission", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			st := stateOf(th)
			if err := requireConnected(st, platform); err != nil {
				return nil, err
			}
			var perm string
			if err := starlark.UnpackArgs(b.Name(), args, kw, "permission", &perm); err != nil {
				return nil, err
			}
			granting := map[string]bool{}
			for _, r := range st.in.Community.Roles {
				if slices.Contains(r.Permissions, perm) {
					granting[r.Name] = true
				}
			}
			out := &userSet{}
			for _, u := range users(st) {
				for name := range granting {
					if hasRole(st.in.Community.Roles, u, name) {
						out.users = append(out.users, u)
						break
					}
				}
			}
			return out, nil
		}),
	}
}
