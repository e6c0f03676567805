package policytest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/policykit-go/policykit/domain"
)

// expectError is a failed expect block: every mismatch in it.
type expectError struct {
	line     int
	problems []string
}

func (e *expectError) Error() string {
	return "expectation failed:\n" + strings.Join(e.problems, "\n")
}

// scope says which streams an expect block looks at (nil: every stream).
type scope map[string]bool

func (s scope) has(stream string) bool { return s == nil || s[stream] }

// expect checks an expect block. When it holds, the next block's "since the previous expect"
// starts here; when it fails the case stops, and the report shows the events since the
// previous one.
func (w *world) expect(e *Expect) error {
	if err := w.verifyState(); err != nil {
		return err
	}
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	var (
		rec     *domain.ActionRecord
		p       *domain.Proposal
		pErr    error
		effects scope // streams whose effects are checked
		logs    scope // streams whose evaluations are checked
	)
	if e.Action != "" || e.Policy != "" || len(w.actionOrder) > 0 {
		var err error
		if rec, err = w.pickAction(e.Ref); err != nil {
			bad("action: %v", err)
		}
	}
	if rec != nil {
		_, p, pErr = w.pick(e.Ref)
		if e.Policy != "" && p != nil {
			effects = scope{domain.ProposalStream(p.ID): true}
			logs = effects
		} else {
			effects = scope{domain.ActionStream(rec.Action.ID): true}
			logs = scope{}
			for _, q := range w.proposalsOf(rec.Action.ID) {
				effects[domain.ProposalStream(q.ID)] = true
				logs[domain.ProposalStream(q.ID)] = true
			}
		}
	}
	needP := func(what string) bool {
		if p == nil && rec != nil {
			bad("%s: %v", what, pErr)
		}
		return p != nil
	}

	if e.Status != "" && needP("status") && p.Status != e.Status {
		reason := ""
		if p.Reason != "" {
			reason = " (" + p.Reason + ")"
		}
		bad("status: want %s, got %s%s", e.Status, p.Status, reason)
	}
	if rec != nil {
		if e.ActionStatus != "" && rec.Status != e.ActionStatus {
			reason := ""
			if rec.Reason != "" {
				reason = " (" + rec.Reason + ")"
			}
			bad("action_status: want %s, got %s%s", e.ActionStatus, rec.Status, reason)
		}
		if e.Reverted != nil && rec.Reverted != *e.Reverted {
			bad("reverted: want %v, got %v", *e.Reverted, rec.Reverted)
		}
		if e.Proposals != nil {
			if n := len(w.proposalsOf(rec.Action.ID)); n != *e.Proposals {
				bad("proposals: want %d, got %d (%s)", *e.Proposals, n, policiesOf(w.proposalsOf(rec.Action.ID)))
			}
		}
	}
	if e.Effects != nil {
		matchEffects(bad, "effects (since the previous expect)", e.Effects, w.effectsIn(w.cursor, effects))
	}
	if e.AllEffects != nil {
		matchEffects(bad, "all_effects", e.AllEffects, w.effectsIn(w.setupLen, effects))
	}
	if len(e.Logs) > 0 || len(e.EvalErrors) > 0 {
		var lines, errs []string
		for _, en := range w.log[w.cursor:] {
			ev, ok := en.event.(domain.ProposalEvaluated)
			if !ok || !logs.has(en.stream) {
				continue
			}
			for _, l := range ev.Logs {
				lines = append(lines, l.Level+": "+l.Message)
			}
			if ev.Error != "" {
				errs = append(errs, ev.Block+": "+ev.Error)
			}
		}
		for _, want := range e.Logs {
			if !anyContains(lines, want) {
				bad("logs: no log line since the previous expect contains %q; got %s", want, quoteList(lines))
			}
		}
		for _, want := range e.EvalErrors {
			if !anyContains(errs, want) {
				bad("errors: no evaluation error since the previous expect contains %q; got %s", want, quoteList(errs))
			}
		}
	}
	if e.Data != nil && needP("data") {
		for _, k := range sortedKeys(e.Data) {
			got, ok := p.Data[k]
			want := e.Data[k]
			switch {
			case !ok && want != nil:
				bad("data[%q]: want %s, not set (data: %s)", k, compact(want), compact(p.Data))
			case ok && !jsonEqual(want, got):
				bad("data[%q]: want %s, got %s", k, compact(want), compact(got))
			}
		}
	}
	if e.VotePostID != nil && needP("vote_post_id") && p.VotePostID != *e.VotePostID {
		bad("vote_post_id: want %q, got %q", *e.VotePostID, p.VotePostID)
	}
	if e.VoteURL != nil && needP("vote_url") && p.VoteURL != *e.VoteURL {
		bad("vote_url: want %q, got %q", *e.VoteURL, p.VoteURL)
	}
	if e.VoteClosed != nil && needP("vote_closed") && p.VoteClosed != *e.VoteClosed {
		bad("vote_closed: want %v, got %v", *e.VoteClosed, p.VoteClosed)
	}
	if ce := e.Community; ce != nil {
		c := w.community
		for _, r := range ce.Roles {
			if _, ok := c.Roles[r]; !ok {
				bad("community.roles: no role %q (roles: %s)", r, strings.Join(sortedKeys(c.Roles), ", "))
			}
		}
		for _, r := range ce.AbsentRoles {
			if _, ok := c.Roles[r]; ok {
				bad("community.absent_roles: role %q exists", r)
			}
		}
		for _, u := range sortedKeys(ce.UserRoles) {
			held := c.UserRoles(u)
			for _, r := range ce.UserRoles[u] {
				if !contains(held, r) {
					bad("community.user_roles: %s does not hold %q (holds: %s)", u, r, strings.Join(held, ", "))
				}
			}
		}
		for _, id := range ce.Policies {
			if pol, ok := c.Policies[id]; !ok || !pol.Active {
				bad("community.policies: no active policy %q (policies: %s)", id, strings.Join(activePolicies(c), ", "))
			}
		}
		for _, id := range ce.AbsentPolicies {
			if pol, ok := c.Policies[id]; ok && pol.Active {
				bad("community.absent_policies: policy %q is active", id)
			}
		}
	}
	if len(probs) > 0 {
		return &expectError{line: e.Line, problems: probs}
	}
	w.cursor = len(w.log)
	return nil
}

func activePolicies(c *domain.Community) []string {
	var out []string
	for id, p := range c.Policies {
		if p.Active {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func quoteList(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// effectsIn returns the effects requested in log entries from index `from` on, in scope.
func (w *world) effectsIn(from int, s scope) []domain.EffectRequested {
	var out []domain.EffectRequested
	for _, en := range w.log[from:] {
		if e, ok := en.event.(domain.EffectRequested); ok && s.has(en.stream) {
			out = append(out, e)
		}
	}
	return out
}

func matchEffects(bad func(string, ...any), what string, want []EffectMatch, got []domain.EffectRequested) {
	ok := len(want) == len(got)
	for i := 0; ok && i < len(want); i++ {
		ok = want[i].matches(got[i])
	}
	if ok {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: want %d, got %d", what, len(want), len(got))
	for i := 0; i < len(want) || i < len(got); i++ {
		mark := "  "
		if i >= len(want) || i >= len(got) || !want[i].matches(got[i]) {
			mark = "✗ "
		}
		if i < len(want) {
			m := want[i]
			fmt.Fprintf(&b, "\n    %swant[%d] %s  (line %d)", mark, i, formatEffect(m.Platform, m.Method, m.Purpose, m.Args), m.Line)
		}
		if i < len(got) {
			g := got[i]
			fmt.Fprintf(&b, "\n    %s got[%d] %s", mark, i, formatEffect(g.Platform, g.Method, g.Purpose, g.Args))
		}
	}
	bad("%s", b.String())
}

func (m EffectMatch) matches(e domain.EffectRequested) bool {
	if m.Platform != "" && m.Platform != e.Platform {
		return false
	}
	if m.Method != e.Method {
		return false
	}
	if m.Purpose != "" && m.Purpose != e.Purpose {
		return false
	}
	return subset(m.Args, e.Args)
}

// subset reports whether every key of want is in got with an equal value; nested mappings
// are compared the same way, a null wants the key absent or null, anything else must be
// equal as JSON.
func subset(want, got map[string]any) bool {
	for k, w := range want {
		g, ok := got[k]
		if w == nil {
			if ok && g != nil {
				return false
			}
			continue
		}
		if !ok {
			return false
		}
		wm, wIsMap := w.(map[string]any)
		gm, gIsMap := g.(map[string]any)
		if wIsMap && gIsMap {
			if !subset(wm, gm) {
				return false
			}
			continue
		}
		if !jsonEqual(w, g) {
			return false
		}
	}
	return true
}

// jsonEqual compares two values as JSON (8 equals 8.0; map order does not matter).
func jsonEqual(a, b any) bool {
	x, err1 := normalize(a)
	y, err2 := normalize(b)
	return err1 == nil && err2 == nil && reflect.DeepEqual(x, y)
}

func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// compact is v as one line of JSON, without escaping <, > and &.
func compact(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// formatEffect prints an effect as a call: slack.post_message(channel="C1", text="hi"),
// with its purpose unless it is an ordinary policy call.
func formatEffect(platform, method, purpose string, args map[string]any) string {
	var b strings.Builder
	if platform != "" {
		b.WriteString(platform + ".")
	}
	b.WriteString(method + "(")
	for i, k := range sortedKeys(args) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + compact(args[k]))
	}
	b.WriteString(")")
	if purpose != "" && purpose != domain.PurposePolicy {
		b.WriteString(" [" + purpose + "]")
	}
	return b.String()
}

// proposalLabel names a proposal by its action and policy.
func (w *world) proposalLabel(id string) string {
	if p, ok := w.proposals[id]; ok {
		return p.ActionID + "/" + p.PolicyID
	}
	if len(id) > 8 {
		return "proposal " + id[:8]
	}
	return "proposal " + id
}

func (w *world) streamLabel(stream string) string {
	switch domain.StreamCategory(stream) {
	case domain.CategoryProposal:
		return w.proposalLabel(domain.StreamID(stream))
	case domain.CategoryAction:
		return "action " + domain.StreamID(stream)
	case domain.CategoryCommunity:
		return "community"
	}
	return stream
}

// describeEntry prints one event as "+3h0m0s  a1/rename  proposal.vote_cast ...".
func (w *world) describeEntry(en entry) string {
	return fmt.Sprintf("%-10s %-22s %s", w.elapsed(en.event.Meta().At), w.streamLabel(en.stream), describeEvent(en.event))
}

var headerKeys = []string{"community_id", "proposal_id", "action_id", "at"}

func describeEvent(e domain.Event) string {
	switch e := e.(type) {
	case domain.ProposalOpened:
		return fmt.Sprintf("%s policy=%s (%q) action=%s", e.EventType(), e.PolicyID, e.PolicyName, e.ActionID)
	case domain.ProposalEvaluated:
		s := fmt.Sprintf("%s %s", e.EventType(), e.Block)
		if e.Result != "" {
			s += " → " + e.Result
		}
		for _, l := range e.Logs {
			s += fmt.Sprintf(" [%s: %s]", l.Level, l.Message)
		}
		if e.Error != "" {
			s += " error: " + e.Error
		}
		return s
	case domain.EffectRequested:
		return e.EventType() + " " + formatEffect(e.Platform, e.Method, e.Purpose, e.Args)
	case domain.VoteCast:
		v := e.Vote
		val := ""
		switch v.Kind {
		case domain.VoteBoolean:
			val = map[bool]string{true: "yes", false: "no"}[v.Boolean]
		case domain.VoteChoice:
			val = v.Choice
		case domain.VoteNumber:
			val = fmt.Sprint(v.Number)
		}
		return fmt.Sprintf("%s %s (%s) %s", e.EventType(), v.UserID, v.Username, val)
	case domain.PolicyAdded:
		return fmt.Sprintf("%s %s %s %q", e.EventType(), e.PolicyID, e.Kind, e.Name)
	case domain.PolicyChanged:
		return fmt.Sprintf("%s %s %q v%d", e.EventType(), e.PolicyID, e.Name, e.Version)
	}
	if body := bodyJSON(e); body != "" {
		return e.EventType() + " " + body
	}
	return e.EventType()
}

// bodyJSON is the event's JSON without its header fields.
func bodyJSON(e domain.Event) string {
	b, err := json.Marshal(e)
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return string(b)
	}
	for _, k := range headerKeys {
		delete(m, k)
	}
	if len(m) == 0 {
		return ""
	}
	return compact(m)
}

// decision is an event as the import test compares it: everything a run decided, without
// what names the policy version (hashes, code) or what only explains it (log lines).
func (w *world) decision(en entry) string {
	var s string
	switch e := en.event.(type) {
	case domain.ProposalOpened: // without the policy's hash and version
		s = fmt.Sprintf("%s policy=%s action=%s", e.EventType(), e.PolicyID, e.ActionID)
	case domain.ProposalEvaluated: // without log lines and error text (line numbers differ)
		s = fmt.Sprintf("%s %s → %s error=%v", e.EventType(), e.Block, e.Result, e.Error != "")
	default: // policy changes by id and name, without code
		s = describeEvent(e)
	}
	return w.elapsed(en.event.Meta().At) + " " + w.streamLabel(en.stream) + " " + s
}
