package domain

import (
	"bytes"
	"fmt"
)

// MaxPolicyFileBytes bounds an imported policy or starter kit file.
const MaxPolicyFileBytes = 1 << 20

// PolicyFile is PolicyKit's downloadable policy JSON, the import and export format of
// policies. Seed files carry the PolicyKit fields; the last four are PolicyKit-Go additions
// and may be absent.
type PolicyFile struct {
	PolicyKind  string     `json:"policy_kind"` // "Platform", "Constitution", "Trigger" (any case)
	ActionTypes []string   `json:"action_types"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	IsBundled   bool       `json:"is_bundled"`
	Filter      string     `json:"filter"`
	Initialize  string     `json:"initialize"`
	Check       string     `json:"check"`
	Notify      string     `json:"notify"`
	Success     string     `json:"success"`
	Fail        string     `json:"fail"`
	FilterLang  string     `json:"filter_lang,omitempty"`
	CheckLang   string     `json:"check_lang,omitempty"`
	Variables   []Variable `json:"variables,omitempty"`
	Priority    int        `json:"priority,omitempty"`
}

// ParsePolicyFile reads a policy file into a validated, normalized PolicySpec. Errors are
// Invalid: malformed or oversized JSON (with the line and column of the fault), bundled
// policies (not supported), and whatever PolicySpec.Validate refuses.
func ParsePolicyFile(data []byte) (PolicySpec, error) {
	if len(data) > MaxPolicyFileBytes {
		return PolicySpec{}, Invalid("policy file is larger than %d bytes", MaxPolicyFileBytes)
	}
	var f PolicyFile
	if err := decodeJSON(data, &f); err != nil {
		return PolicySpec{}, Invalid("policy file: %v", err)
	}
	return f.Spec()
}

// ParsePolicyFiles reads a file of one policy (PolicyKit's download) or a JSON list of them
// (what exporting a whole community writes). Errors are ParsePolicyFile's, the n-th policy of
// a list named by its position.
func ParsePolicyFiles(data []byte) ([]PolicySpec, error) {
	if len(data) > MaxPolicyFileBytes {
		return nil, Invalid("policy file is larger than %d bytes", MaxPolicyFileBytes)
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		spec, err := ParsePolicyFile(data)
		if err != nil {
			return nil, err
		}
		return []PolicySpec{spec}, nil
	}
	var files []PolicyFile
	if err := decodeJSON(data, &files); err != nil {
		return nil, Invalid("policy file: %v", err)
	}
	specs := make([]PolicySpec, len(files))
	for i, f := range files {
		spec, err := f.Spec()
		if err != nil {
			return nil, fmt.Errorf("policy %d of the list: %w", i+1, err)
		}
		specs[i] = spec
	}
	return specs, nil
}

// position names the line and column (from 1) of a byte offset.
func position(data []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// Spec converts the file into a validated, normalized PolicySpec.
func (f PolicyFile) Spec() (PolicySpec, error) {
	if f.IsBundled {
		return PolicySpec{}, Invalid("policy %q: bundled policies are not supported", f.Name)
	}
	kind, err := ParseKind(f.PolicyKind)
	if err != nil {
		return PolicySpec{}, err
	}
	spec := PolicySpec{
		Kind: kind, Name: f.Name, Description: f.Description, ActionTypes: f.ActionTypes,
		Code: PolicyCode{
			Filter: f.Filter, Initialize: f.Initialize, Check: f.Check, Notify: f.Notify,
			Success: f.Success, Fail: f.Fail, FilterLang: f.FilterLang, CheckLang: f.CheckLang,
		},
		Variables: f.Variables, Priority: f.Priority,
	}.Normalized()
	return spec, spec.Validate()
}

// PolicyFileOf exports a policy spec in the policy file format.
func PolicyFileOf(s PolicySpec) PolicyFile {
	kind := string(s.Kind)
	if kind != "" {
		kind = string(kind[0]-'a'+'A') + kind[1:]
	}
	types := s.ActionTypes
	if types == nil {
		types = []string{}
	}
	return PolicyFile{
		PolicyKind: kind, ActionTypes: types, Name: s.Name, Description: s.Description,
		Filter: s.Code.Filter, Initialize: s.Code.Initialize, Check: s.Code.Check, Notify: s.Code.Notify,
		Success: s.Code.Success, Fail: s.Code.Fail, FilterLang: s.Code.FilterLang, CheckLang: s.Code.CheckLang,
		Variables: s.Variables, Priority: s.Priority,
	}
}

// AddPolicyOf returns the AddPolicy payload that adds a policy with this content under id.
func AddPolicyOf(id string, s PolicySpec) AddPolicy {
	return AddPolicy{
		PolicyID: id, Kind: s.Kind, Name: s.Name, Description: s.Description, ActionTypes: s.ActionTypes,
		PolicyCode: s.Code, Variables: s.Variables, Priority: s.Priority,
	}
}
