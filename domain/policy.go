package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Policy code languages. Filter and check may be written as one-line expr conditions; the
// other blocks are always Starlark.
const (
	LangStarlark = "starlark"
	LangExpr     = "expr"
)

// MaxPolicyCodeBytes bounds the total size of a policy's six code blocks.
const MaxPolicyCodeBytes = 64 << 10

// MaxNameBytes bounds names (of policies, roles, documents, communities).
const MaxNameBytes = 200

// Policy blocks, as recorded in ProposalEvaluated.Block.
const (
	BlockFilter     = "filter"
	BlockInitialize = "initialize"
	BlockCheck      = "check"
	BlockNotify     = "notify"
	BlockSuccess    = "success" // PolicyKit's "pass" block
	BlockFail       = "fail"
)

// PolicyCode holds the six blocks of a policy. Empty blocks mean PolicyKit's defaults:
// filter returns True, check returns PROPOSED, the others do nothing.
type PolicyCode struct {
	Filter     string `json:"filter"`
	Initialize string `json:"initialize"`
	Check      string `json:"check"`
	Notify     string `json:"notify"`
	Success    string `json:"success"`
	Fail       string `json:"fail"`
	// FilterLang and CheckLang are LangStarlark (the default, also when empty on input) or
	// LangExpr.
	FilterLang string `json:"filter_lang"`
	CheckLang  string `json:"check_lang"`
}

// Block returns the code of the named block (BlockFilter ...), or "" for an unknown name.
func (c PolicyCode) Block(name string) string {
	switch name {
	case BlockFilter:
		return c.Filter
	case BlockInitialize:
		return c.Initialize
	case BlockCheck:
		return c.Check
	case BlockNotify:
		return c.Notify
	case BlockSuccess:
		return c.Success
	case BlockFail:
		return c.Fail
	}
	return ""
}

// Size is the total length in bytes of the six blocks.
func (c PolicyCode) Size() int {
	return len(c.Filter) + len(c.Initialize) + len(c.Check) + len(c.Notify) + len(c.Success) + len(c.Fail)
}

func (c PolicyCode) withDefaults() PolicyCode {
	if c.FilterLang == "" {
		c.FilterLang = LangStarlark
	}
	if c.CheckLang == "" {
		c.CheckLang = LangStarlark
	}
	return c
}

func validLang(l string) bool { return l == LangStarlark || l == LangExpr }

// Variable types.
const (
	VariableString    = "string"
	VariableNumber    = "number" // an integer
	VariableFloat     = "float"
	VariableBoolean   = "boolean"
	VariableTimestamp = "timestamp" // RFC 3339 text
)

// Variable is a named, typed setting of a policy that policy code reads as
// variables["name"]. Values are kept as text, as PolicyKit does; Policy.VariableValues
// converts them by type.
type Variable struct {
	Name         string `json:"name"`
	Label        string `json:"label,omitempty"`
	Prompt       string `json:"prompt,omitempty"`
	Type         string `json:"type"`
	DefaultValue string `json:"default_value,omitempty"`
	Value        string `json:"value,omitempty"`
	Required     bool   `json:"required,omitempty"`
	IsList       bool   `json:"is_list,omitempty"`
}

// Effective returns Value, or DefaultValue when Value is empty.
func (v Variable) Effective() string {
	if v.Value != "" {
		return v.Value
	}
	return v.DefaultValue
}

// Typed converts the effective value by Type: number -> int64, float -> float64,
// boolean -> bool, list variables -> []any of those split at commas; others stay strings.
// A value that does not parse stays a string.
func (v Variable) Typed() any {
	s := v.Effective()
	if v.IsList {
		if strings.TrimSpace(s) == "" {
			return []any{}
		}
		parts := strings.Split(s, ",")
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = convertVariable(v.Type, strings.TrimSpace(p))
		}
		return out
	}
	return convertVariable(v.Type, s)
}

func convertVariable(typ, s string) any {
	switch typ {
	case VariableNumber:
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return n
		}
	case VariableFloat:
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f
		}
	case VariableBoolean:
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b
		}
	}
	return s
}

func validVariableType(t string) bool {
	switch t {
	case VariableString, VariableNumber, VariableFloat, VariableBoolean, VariableTimestamp:
		return true
	}
	return false
}

// PolicySpec is the content of a policy version: everything an author writes. PolicyAdded
// and PolicyChanged carry it whole, so every version of every policy stays in the log.
type PolicySpec struct {
	Kind        Kind   `json:"kind"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// ActionTypes lists the action types the policy governs (platform, constitution) or is
	// triggered by (trigger). Empty: a base policy, for every action type of its kind.
	ActionTypes []string   `json:"action_types"`
	Code        PolicyCode `json:"code"`
	Variables   []Variable `json:"variables"`
	// Priority orders candidate policies: lower numbers first (default 0).
	Priority int `json:"priority"`
}

// Normalized returns a copy with the code languages defaulted, the action types sorted and
// without duplicates, and nil for empty lists, so that equal content compares and hashes
// equal.
func (s PolicySpec) Normalized() PolicySpec {
	s.Name = strings.TrimSpace(s.Name)
	s.Code = s.Code.withDefaults()
	s.ActionTypes = sortedUnique(s.ActionTypes)
	if len(s.Variables) == 0 {
		s.Variables = nil
	} else {
		s.Variables = append([]Variable(nil), s.Variables...)
	}
	return s
}

// Validate reports the first problem of a (normalized) spec as an Invalid error: kind, name,
// size of the code, languages, action types (known, of a kind the policy can list) and
// variables (named, typed, unique).
func (s PolicySpec) Validate() error {
	if !s.Kind.Valid() {
		return Invalid("policy kind %q is not platform, constitution or trigger", s.Kind)
	}
	if s.Name == "" {
		return Invalid("policy name is empty")
	}
	if len(s.Name) > MaxNameBytes {
		return Invalid("policy name is longer than %d bytes", MaxNameBytes)
	}
	if n := s.Code.Size(); n > MaxPolicyCodeBytes {
		return Invalid("policy code is %d bytes, more than %d", n, MaxPolicyCodeBytes)
	}
	if !validLang(s.Code.FilterLang) {
		return Invalid("filter language %q is not starlark or expr", s.Code.FilterLang)
	}
	if !validLang(s.Code.CheckLang) {
		return Invalid("check language %q is not starlark or expr", s.Code.CheckLang)
	}
	for _, t := range s.ActionTypes {
		info, ok := LookupActionType(t)
		if !ok {
			return Invalid("policy %q: unknown action type %q", s.Name, t)
		}
		if !info.CanBeGovernedBy(s.Kind) {
			return Invalid("policy %q: a %s policy cannot list %s action type %q", s.Name, s.Kind, info.Kind, t)
		}
	}
	seen := map[string]bool{}
	for _, v := range s.Variables {
		if v.Name == "" {
			return Invalid("policy %q: a variable has no name", s.Name)
		}
		if seen[v.Name] {
			return Invalid("policy %q: variable %q is defined twice", s.Name, v.Name)
		}
		seen[v.Name] = true
		if !validVariableType(v.Type) {
			return Invalid("policy %q: variable %q has unknown type %q", s.Name, v.Name, v.Type)
		}
	}
	return nil
}

// ContentHash is the hex SHA-256 of a canonical JSON of the normalized spec's kind, name,
// description, action types, code (with languages) and variables. Priority is not part of
// it: the hash names what is evaluated, not when it is chosen.
func (s PolicySpec) ContentHash() string {
	n := s.Normalized()
	canon := struct {
		Kind        Kind       `json:"kind"`
		Name        string     `json:"name"`
		Description string     `json:"description"`
		ActionTypes []string   `json:"action_types"`
		Code        PolicyCode `json:"code"`
		Variables   []Variable `json:"variables"`
	}{n.Kind, n.Name, n.Description, n.ActionTypes, n.Code, n.Variables}
	b, err := json.Marshal(canon)
	if err != nil { // cannot happen: only strings, bools and ints
		panic("domain: policy hash: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// equalSpec compares two normalized specs.
func equalSpec(a, b PolicySpec) bool {
	return a.ContentHash() == b.ContentHash() && a.Priority == b.Priority
}

// Policy is the current version of a policy of a community.
type Policy struct {
	ID string `json:"id"`
	PolicySpec
	Active bool `json:"active"`
	// Hash is PolicySpec.ContentHash of this version; proposals record it.
	Hash string `json:"hash"`
	// Version counts content changes: 1 when added, +1 per PolicyChanged.
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	ModifiedAt time.Time `json:"modified_at"`
}

// IsBase reports whether p lists no action types and so applies to every action of its kind.
func (p Policy) IsBase() bool { return len(p.ActionTypes) == 0 }

// Lists reports whether p names actionType explicitly.
func (p Policy) Lists(actionType string) bool {
	for _, t := range p.ActionTypes {
		if t == actionType {
			return true
		}
	}
	return false
}

// Applies reports whether p is a candidate for an action of the given type: it is a base
// policy or lists the type. Kind and activity are not checked.
func (p Policy) Applies(actionType string) bool { return p.IsBase() || p.Lists(actionType) }

// VariableValues maps each variable's name to its typed effective value (see Variable.Typed).
func (p Policy) VariableValues() map[string]any {
	out := make(map[string]any, len(p.Variables))
	for _, v := range p.Variables {
		out[v.Name] = v.Typed()
	}
	return out
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	n := 0
	for i, s := range out {
		if i > 0 && s == out[n-1] {
			continue
		}
		out[n] = s
		n++
	}
	if n == 0 {
		return nil
	}
	return out[:n]
}
