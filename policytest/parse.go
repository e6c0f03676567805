package policytest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
)

// DefaultStart is the virtual time a scenario starts at when it does not say (a Monday).
var DefaultStart = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// MaxFileBytes bounds a scenario file.
const MaxFileBytes = 1 << 20

// ErrMalformed is wrapped by every error Load returns for a scenario that cannot run.
var ErrMalformed = errors.New("malformed scenario")

// MalformedError lists every problem found in one scenario file, each as "file:line: text".
type MalformedError struct {
	Path     string
	Problems []string
}

func (e *MalformedError) Error() string {
	return strings.Join(e.Problems, "\n")
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

// Load reads, parses and validates one scenario file. Every problem is reported at once in a
// *MalformedError (errors.Is(err, ErrMalformed)), each with the file and line: unknown keys,
// wrong types, unknown users, policies, action types or permissions, references to actions
// not yet proposed, and whatever the domain refuses while setting the community up.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load for a file already read; path names it in messages and anchors the relative
// paths (policy and starter kit files) it contains.
func Parse(path string, data []byte) (*File, error) {
	p := &parser{path: path, dir: filepath.Dir(path)}
	f := p.file(data)
	if len(p.problems) == 0 {
		p.validateSetup(f)
	}
	if len(p.problems) > 0 {
		return nil, &MalformedError{Path: path, Problems: p.report()}
	}
	return f, nil
}

type parser struct {
	path     string
	dir      string
	problems []problem
	// base, when set, is the community of a scenario without `community` (ParseOn).
	base *CommunitySpec
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.problems = append(p.problems, problem{line: line, msg: fmt.Sprintf(format, args...)})
}

// problem is one thing wrong with a scenario, at a line (0: the file as a whole).
type problem struct {
	line int
	msg  string
}

// report formats the problems in line order, each as "file:line: message".
func (p *parser) report() []string {
	sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].line < p.problems[j].line })
	out := make([]string, len(p.problems))
	for i, pr := range p.problems {
		if pr.line > 0 {
			out[i] = fmt.Sprintf("%s:%d: %s", p.path, pr.line, pr.msg)
		} else {
			out[i] = fmt.Sprintf("%s: %s", p.path, pr.msg)
		}
	}
	return out
}

// fields is a checked YAML mapping: its keys, each with its value node.
type fields struct {
	line  int
	vals  map[string]*yaml.Node
	lines map[string]int
}

func (m *fields) has(k string) bool { return m.vals[k] != nil }

func (m *fields) get(k string) *yaml.Node { return m.vals[k] }

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapping checks that n is a mapping whose keys are all allowed and none repeated, and
// returns its keys (nil when n is not a mapping); what names the place in messages
// ("steps[2].vote"). Unknown and repeated keys are reported and left out.
func (p *parser) mapping(n *yaml.Node, what string, allowed ...string) *fields {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		p.errorf(lineOf(n), "%s: want a mapping, got %s", what, describeNode(n))
		return nil
	}
	m := &fields{line: n.Line, vals: map[string]*yaml.Node{}, lines: map[string]int{}}
	merged := map[string]bool{} // keys that came from a merge (<<) and may be overridden
	depth := 0
	var add func(n *yaml.Node)
	add = func(n *yaml.Node) {
		depth++
		defer func() { depth-- }()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
				if src := resolve(v); src != nil && src.Kind == yaml.MappingNode {
					add(src)
					continue
				}
				p.errorf(k.Line, "%s: a merge key (<<) needs an alias of a mapping", what)
				continue
			}
			if k.Kind != yaml.ScalarNode {
				p.errorf(k.Line, "%s: keys must be plain strings", what)
				continue
			}
			if !contains(allowed, k.Value) {
				p.errorf(k.Line, "%s: unknown key %q (known keys: %s)", what, k.Value, strings.Join(allowed, ", "))
				continue
			}
			_, set := m.vals[k.Value]
			switch {
			case depth > 1 && set:
				continue // the mapping's own key, or an earlier merge, wins
			case depth > 1:
				merged[k.Value] = true
			case set && !merged[k.Value]:
				p.errorf(k.Line, "%s: key %q given twice", what, k.Value)
				continue
			default:
				delete(merged, k.Value)
			}
			m.vals[k.Value] = v
			m.lines[k.Value] = k.Line
		}
	}
	add(n)
	return m
}

func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

func describeNode(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "a document"
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func (p *parser) scalar(n *yaml.Node, what string) (*yaml.Node, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(lineOf(n), "%s: want a value, got %s", what, describeNode(n))
		return nil, false
	}
	return n, true
}

func (p *parser) str(n *yaml.Node, what string) string {
	s, ok := p.scalar(n, what)
	if !ok {
		return ""
	}
	if s.Tag != "!!str" && s.Tag != "!!int" && s.Tag != "!!float" && s.Tag != "!!bool" && s.Tag != "!!timestamp" {
		p.errorf(s.Line, "%s: want a string, got %s", what, describeNode(s))
		return ""
	}
	return s.Value
}

// nonEmpty is str that refuses "".
func (p *parser) nonEmpty(n *yaml.Node, what string) string {
	before := len(p.problems)
	s := p.str(n, what)
	if strings.TrimSpace(s) == "" && len(p.problems) == before {
		p.errorf(lineOf(n), "%s: must not be empty", what)
	}
	return s
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	s, ok := p.scalar(n, what)
	if !ok {
		return false
	}
	var b bool
	if s.Tag != "!!bool" || s.Decode(&b) != nil {
		p.errorf(s.Line, "%s: want true or false, got %s", what, describeNode(s))
	}
	return b
}

func (p *parser) integer(n *yaml.Node, what string) int {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0
	}
	var i int
	if s.Tag != "!!int" || s.Decode(&i) != nil {
		p.errorf(s.Line, "%s: want an integer, got %s", what, describeNode(s))
	}
	return i
}

func (p *parser) list(n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		p.errorf(lineOf(n), "%s: want a list, got %s", what, describeNode(n))
		return nil
	}
	return n.Content
}

func (p *parser) strList(n *yaml.Node, what string) []string {
	items := p.list(n, what)
	out := make([]string, 0, len(items))
	for i, it := range items {
		out = append(out, p.str(it, fmt.Sprintf("%s[%d]", what, i)))
	}
	return out
}

// value decodes any JSON-like value (mappings with string keys, lists, scalars).
func (p *parser) value(n *yaml.Node, what string) any {
	var v any
	if err := resolve(n).Decode(&v); err != nil {
		p.errorf(lineOf(n), "%s: %v", what, err)
		return nil
	}
	v, err := jsonLike(v)
	if err != nil {
		p.errorf(lineOf(n), "%s: %v", what, err)
		return nil
	}
	return v
}

func (p *parser) object(n *yaml.Node, what string) map[string]any {
	if isNull(n) {
		return nil
	}
	if r := resolve(n); r.Kind != yaml.MappingNode {
		p.errorf(lineOf(n), "%s: want a mapping, got %s", what, describeNode(n))
		return nil
	}
	m, _ := p.value(n, what).(map[string]any)
	return m
}

// jsonLike converts decoded YAML into JSON-compatible values: timestamps become RFC 3339
// strings, and mapping keys must be strings.
func jsonLike(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			y, err := jsonLike(x)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	case map[any]any:
		return nil, fmt.Errorf("mapping keys must be strings")
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			y, err := jsonLike(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano), nil
	}
	return v, nil
}

var topKeys = []string{"name", "description", "start", "recheck_interval", "community", "policies", "steps", "cases"}

func (p *parser) file(data []byte) *File {
	f := &File{Path: p.path, Start: DefaultStart, RecheckInterval: evaluation.DefaultRecheckInterval}
	base := filepath.Base(p.path)
	f.Name = strings.TrimSuffix(base, filepath.Ext(base))
	if len(data) > MaxFileBytes {
		p.errorf(0, "file is larger than %d bytes", MaxFileBytes)
		return f
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		p.errorf(line, "not valid YAML: %s", msg)
		return f
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(extra.Line, "a scenario file holds one YAML document; put several runs under `cases:`")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errorf(0, "empty scenario")
		return f
	}
	top := p.mapping(doc.Content[0], "scenario", topKeys...)
	if top == nil {
		return f
	}
	if n := top.get("name"); n != nil {
		f.Name = p.nonEmpty(n, "name")
	}
	if n := top.get("description"); n != nil {
		f.Description = p.str(n, "description")
	}
	if n := top.get("start"); n != nil {
		s := p.str(n, "start")
		t, err := parseTime(s)
		if err != nil {
			p.errorf(lineOf(n), "start: %v", err)
		}
		f.Start = t
	}
	if n := top.get("recheck_interval"); n != nil {
		d, err := ParseDuration(p.str(n, "recheck_interval"))
		if err != nil || d <= 0 {
			p.errorf(lineOf(n), "recheck_interval: want a positive duration like 30s, 10m or 1h, got %s", describeNode(n))
		}
		f.RecheckInterval = d
	}
	if n := top.get("community"); n != nil {
		f.Community = p.community(n)
	} else if p.base != nil {
		f.Community = *p.base
	} else {
		p.errorf(top.line, "scenario: `community` is required")
	}
	if n := top.get("policies"); n != nil {
		for i, it := range p.list(n, "policies") {
			f.Policies = append(f.Policies, p.policy(it, fmt.Sprintf("policies[%d]", i)))
		}
	}
	switch {
	case top.has("steps") && top.has("cases"):
		p.errorf(top.lines["cases"], "scenario: give either `steps` (one run) or `cases` (several runs), not both")
	case top.has("steps"):
		c := &Case{Name: f.Name, Line: top.lines["steps"]}
		c.Steps = p.steps(top.get("steps"), "steps")
		f.Cases = []*Case{c}
	case top.has("cases"):
		seen := map[string]int{}
		for i, it := range p.list(top.get("cases"), "cases") {
			what := fmt.Sprintf("cases[%d]", i)
			m := p.mapping(it, what, "name", "recheck_interval", "steps")
			if m == nil {
				continue
			}
			c := &Case{Line: m.line}
			if n := m.get("name"); n != nil {
				c.Name = f.Name + "/" + subName(p.nonEmpty(n, what+".name"))
			} else {
				p.errorf(m.line, "%s: `name` is required", what)
			}
			if prev, dup := seen[c.Name]; dup {
				p.errorf(m.line, "%s: case name %q is also used at line %d", what, c.Name, prev)
			}
			seen[c.Name] = m.line
			if n := m.get("recheck_interval"); n != nil {
				d, err := ParseDuration(p.str(n, what+".recheck_interval"))
				if err != nil || d <= 0 {
					p.errorf(lineOf(n), "%s.recheck_interval: want a positive duration like 30s, 10m or 1h, got %s", what, describeNode(n))
				}
				c.RecheckInterval = d
			}
			if n := m.get("steps"); n != nil {
				c.Steps = p.steps(n, what+".steps")
			} else {
				p.errorf(m.line, "%s: `steps` is required", what)
			}
			f.Cases = append(f.Cases, c)
		}
		if len(f.Cases) == 0 && len(p.problems) == 0 {
			p.errorf(top.lines["cases"], "cases: the list is empty")
		}
	default:
		p.errorf(top.line, "scenario: `steps` or `cases` is required")
	}
	return f
}

// subName turns a case name into a go test subtest name.
func subName(s string) string {
	return strings.Join(strings.Fields(s), "_")
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time like 2026-03-02T09:00:00Z, got %q", s)
}

var (
	dayPrefix = regexp.MustCompile(`^(\d+)d`)
	yamlLine  = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// ParseDuration reads a Go duration ("90s", "1h30m") that may start with a number of days
// ("5d", "2d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if m := dayPrefix.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("duration %q: too many days", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[len(m[0]):]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. 30s, 10m, 3h or 5d", s)
	}
	return days + d, nil
}

func (p *parser) community(n *yaml.Node) CommunitySpec {
	c := CommunitySpec{ID: "community", Name: "Community"}
	m := p.mapping(n, "community", "id", "name", "platforms", "users", "roles", "starter_kit")
	if m == nil {
		return c
	}
	if v := m.get("id"); v != nil {
		c.ID = p.nonEmpty(v, "community.id")
	}
	if v := m.get("name"); v != nil {
		c.Name = p.nonEmpty(v, "community.name")
	}
	if v := m.get("platforms"); v != nil {
		items := p.list(v, "community.platforms")
		for i, it := range items {
			name := p.str(it, fmt.Sprintf("community.platforms[%d]", i))
			switch {
			case name == domain.PlatformConstitution:
				p.errorf(lineOf(it), "community.platforms: the constitution platform is always connected; don't list it")
			case !domain.IsKnownPlatform(name):
				p.errorf(lineOf(it), "community.platforms: unknown platform %q (known: %s)", name, strings.Join(domain.KnownPlatforms(), ", "))
			case contains(c.Platforms, name):
				p.errorf(lineOf(it), "community.platforms: %q is listed twice", name)
			default:
				c.Platforms = append(c.Platforms, name)
			}
		}
	}
	if len(c.Platforms) == 0 {
		p.errorf(m.line, "community: `platforms` must list at least one platform (the first is the initial one)")
	}
	ids := map[string]bool{}
	if v := m.get("users"); v != nil {
		for i, it := range p.list(v, "community.users") {
			what := fmt.Sprintf("community.users[%d]", i)
			um := p.mapping(it, what, "id", "username", "name", "admin", "platform", "roles")
			if um == nil {
				continue
			}
			u := UserSpec{Line: um.line}
			if x := um.get("id"); x != nil {
				u.ID = p.nonEmpty(x, what+".id")
			} else {
				p.errorf(um.line, "%s: `id` is required", what)
			}
			if ids[u.ID] {
				p.errorf(um.line, "%s: user id %q is used twice", what, u.ID)
			}
			ids[u.ID] = true
			u.Username = u.ID
			if x := um.get("username"); x != nil {
				u.Username = p.nonEmpty(x, what+".username")
			}
			if x := um.get("name"); x != nil {
				u.Name = p.str(x, what+".name")
			}
			if x := um.get("admin"); x != nil {
				u.Admin = p.boolean(x, what+".admin")
			}
			if len(c.Platforms) > 0 {
				u.Platform = c.Platforms[0]
			}
			if x := um.get("platform"); x != nil {
				u.Platform = p.str(x, what+".platform")
				if !contains(c.Platforms, u.Platform) && u.Platform != domain.PlatformWeb {
					p.errorf(lineOf(x), "%s.platform: %q is not one of the community's platforms (%s) or web", what, u.Platform, strings.Join(c.Platforms, ", "))
				}
			}
			if x := um.get("roles"); x != nil {
				u.Roles = p.strList(x, what+".roles")
			}
			c.Users = append(c.Users, u)
		}
	}
	if v := m.get("roles"); v != nil {
		for i, it := range p.list(v, "community.roles") {
			what := fmt.Sprintf("community.roles[%d]", i)
			rm := p.mapping(it, what, "name", "description", "base", "permissions")
			if rm == nil {
				continue
			}
			r := RoleSpec{Line: rm.line}
			if x := rm.get("name"); x != nil {
				r.Name = p.nonEmpty(x, what+".name")
			} else {
				p.errorf(rm.line, "%s: `name` is required", what)
			}
			if x := rm.get("description"); x != nil {
				r.Description = p.str(x, what+".description")
			}
			if x := rm.get("base"); x != nil {
				r.Base = p.boolean(x, what+".base")
			}
			if x := rm.get("permissions"); x != nil {
				for j, s := range p.strList(x, what+".permissions") {
					perm, err := domain.ParsePermission(s)
					if err != nil {
						p.errorf(lineOf(resolve(x).Content[j]), "%s.permissions[%d]: %v (want verb:actiontype, verbs propose, execute, view, vote; action type, *, platform:*, constitution:* or trigger:*)", what, j, err)
						continue
					}
					r.Permissions = append(r.Permissions, perm)
				}
			}
			c.Roles = append(c.Roles, r)
		}
	}
	if v := m.get("starter_kit"); v != nil {
		k := &KitSpec{Line: lineOf(v)}
		if r := resolve(v); r != nil && r.Kind == yaml.MappingNode {
			km := p.mapping(v, "community.starter_kit", "file", "creator")
			if km != nil {
				if x := km.get("file"); x != nil {
					k.Path = p.nonEmpty(x, "community.starter_kit.file")
				} else {
					p.errorf(km.line, "community.starter_kit: `file` is required")
				}
				if x := km.get("creator"); x != nil {
					k.Creator = p.nonEmpty(x, "community.starter_kit.creator")
					if !ids[k.Creator] {
						p.errorf(lineOf(x), "community.starter_kit.creator: unknown user %q", k.Creator)
					}
				}
			}
		} else {
			k.Path = p.nonEmpty(v, "community.starter_kit")
		}
		if k.Path != "" {
			k.Path = p.rel(k.Path)
			data, err := os.ReadFile(k.Path)
			if err != nil {
				p.errorf(k.Line, "community.starter_kit: %v", err)
			} else if kit, err := domain.ParseStarterKit(data); err != nil {
				p.errorf(k.Line, "community.starter_kit %s: %v", k.Path, err)
			} else {
				k.Kit = kit
			}
		}
		c.Kit = k
	}
	return c
}

// rel resolves a path given in the scenario against the scenario's directory.
func (p *parser) rel(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.dir, path)
}

var inlineKeys = []string{"kind", "name", "description", "action_types", "filter", "initialize", "check", "notify", "success", "fail", "filter_lang", "check_lang"}

func (p *parser) policy(n *yaml.Node, what string) PolicySpec {
	ps := PolicySpec{Line: lineOf(resolve(n))}
	m := p.mapping(n, what, "id", "priority", "inline", "file", "seed_file")
	if m == nil {
		return ps
	}
	if x := m.get("id"); x != nil {
		ps.ID = p.nonEmpty(x, what+".id")
	} else {
		p.errorf(m.line, "%s: `id` is required (steps and expectations name policies by id)", what)
	}
	switch {
	case m.has("inline") && m.has("file"):
		p.errorf(m.line, "%s: give either `inline` or `file`, not both", what)
	case m.has("inline"):
		ps.Spec = p.inline(m.get("inline"), what+".inline")
	case m.has("file"):
		path := p.rel(p.nonEmpty(m.get("file"), what+".file"))
		data, err := os.ReadFile(path)
		if err != nil {
			p.errorf(m.lines["file"], "%s.file: %v", what, err)
			break
		}
		spec, err := domain.ParsePolicyFile(data)
		if err != nil {
			p.errorf(m.lines["file"], "%s.file %s: %v", what, path, err)
			break
		}
		ps.Spec = spec
	default:
		p.errorf(m.line, "%s: give the policy `inline` or as a policy JSON `file`", what)
	}
	ps.Priority = ps.Spec.Priority
	if x := m.get("priority"); x != nil {
		ps.Priority = p.integer(x, what+".priority")
	}
	ps.Spec.Priority = ps.Priority
	if x := m.get("seed_file"); x != nil {
		ps.SeedFile = p.nonEmpty(x, what+".seed_file")
		if strings.ContainsAny(ps.SeedFile, `/\`) {
			p.errorf(lineOf(x), "%s.seed_file: give the file name only (it is looked up in the seed directory)", what)
		}
	}
	return ps
}

func (p *parser) inline(n *yaml.Node, what string) domain.PolicySpec {
	before := len(p.problems)
	var s domain.PolicySpec
	m := p.mapping(n, what, inlineKeys...)
	if m == nil {
		return s
	}
	if x := m.get("kind"); x != nil {
		k, err := domain.ParseKind(p.str(x, what+".kind"))
		if err != nil {
			p.errorf(lineOf(x), "%s.kind: %v", what, err)
		}
		s.Kind = k
	} else {
		p.errorf(m.line, "%s: `kind` is required (platform, constitution or trigger)", what)
	}
	if x := m.get("name"); x != nil {
		s.Name = p.nonEmpty(x, what+".name")
	} else {
		p.errorf(m.line, "%s: `name` is required", what)
	}
	if x := m.get("description"); x != nil {
		s.Description = p.str(x, what+".description")
	}
	if x := m.get("action_types"); x != nil {
		s.ActionTypes = p.strList(x, what+".action_types")
	}
	code := map[string]*string{
		"filter": &s.Code.Filter, "initialize": &s.Code.Initialize, "check": &s.Code.Check,
		"notify": &s.Code.Notify, "success": &s.Code.Success, "fail": &s.Code.Fail,
		"filter_lang": &s.Code.FilterLang, "check_lang": &s.Code.CheckLang,
	}
	for k, dst := range code {
		if x := m.get(k); x != nil {
			*dst = p.str(x, what+"."+k)
		}
	}
	if len(p.problems) > before {
		return s
	}
	s = s.Normalized()
	if err := s.Validate(); err != nil {
		p.errorf(m.line, "%s: %v", what, err)
	}
	return s
}

var stepKeys = []string{StepAction, StepVote, StepAnswer, StepEffectResult, StepCloseVote, StepAdvance, StepExpect, "want_error"}

func (p *parser) steps(n *yaml.Node, what string) []Step {
	var out []Step
	for i, it := range p.list(n, what) {
		w := fmt.Sprintf("%s[%d]", what, i)
		m := p.mapping(it, w, stepKeys...)
		if m == nil {
			continue
		}
		var kinds []string
		for _, k := range stepKeys[:len(stepKeys)-1] {
			if m.has(k) {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) != 1 {
			p.errorf(m.line, "%s: a step is exactly one of %s (got %s)", w, strings.Join(stepKeys[:len(stepKeys)-1], ", "), orNone(kinds))
			continue
		}
		st := Step{Line: m.lines[kinds[0]], Kind: kinds[0]}
		body := m.get(st.Kind)
		w += "." + st.Kind
		switch st.Kind {
		case StepAction:
			st.Action = p.actionStep(body, w)
		case StepVote:
			st.Vote = p.voteStep(body, w)
		case StepAnswer, StepEffectResult:
			st.Result = p.resultStep(body, w, st.Kind == StepAnswer)
		case StepCloseVote:
			st.Close = &Ref{}
			if !isNull(body) {
				rm := p.mapping(body, w, "action", "policy")
				if rm != nil {
					*st.Close = p.ref(rm, w)
				}
			}
		case StepAdvance:
			d, err := ParseDuration(p.str(body, w))
			if err != nil || d <= 0 {
				p.errorf(lineOf(body), "%s: want a positive duration like 30s, 10m, 3h or 5d, got %s", w, describeNode(body))
			}
			st.Advance = d
		case StepExpect:
			st.Expect = p.expect(body, w)
		}
		if x := m.get("want_error"); x != nil {
			if st.Kind == StepExpect || st.Kind == StepAdvance {
				p.errorf(lineOf(x), "%s: want_error only applies to action, vote, answer, effect_result and close_vote steps", w)
			}
			st.WantErr = p.nonEmpty(x, w+".want_error")
		}
		out = append(out, st)
	}
	return out
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, " and ")
}

func (p *parser) ref(m *fields, what string) Ref {
	var r Ref
	if x := m.get("action"); x != nil {
		r.Action = p.nonEmpty(x, what+".action")
	}
	if x := m.get("policy"); x != nil {
		r.Policy = p.nonEmpty(x, what+".policy")
	}
	return r
}

func (p *parser) actionStep(n *yaml.Node, what string) *ActionStep {
	a := &ActionStep{}
	m := p.mapping(n, what, "id", "type", "platform", "initiator", "reversible", "fields", "external_id")
	if m == nil {
		return a
	}
	if x := m.get("id"); x != nil {
		a.ID = p.nonEmpty(x, what+".id")
	}
	if x := m.get("type"); x != nil {
		a.Type = p.nonEmpty(x, what+".type")
		info, ok := domain.LookupActionType(a.Type)
		if !ok {
			p.errorf(lineOf(x), "%s.type: unknown action type %q", what, a.Type)
		} else {
			a.Platform = info.Platform
			a.Reversible = info.Governable && info.Kind == domain.KindPlatform
		}
	} else {
		p.errorf(m.line, "%s: `type` is required", what)
	}
	if x := m.get("platform"); x != nil {
		pl := p.str(x, what+".platform")
		if pl != a.Platform && a.Platform != "" {
			p.errorf(lineOf(x), "%s.platform: %s is an action of %s, not %s", what, a.Type, a.Platform, pl)
		}
	}
	if x := m.get("initiator"); x != nil {
		a.Initiator = p.nonEmpty(x, what+".initiator")
	}
	if x := m.get("reversible"); x != nil {
		a.Reversible = p.boolean(x, what+".reversible")
	}
	if x := m.get("fields"); x != nil {
		a.Fields = p.object(x, what+".fields")
	}
	if x := m.get("external_id"); x != nil {
		a.ExternalID = p.str(x, what+".external_id")
	}
	return a
}

func (p *parser) voteStep(n *yaml.Node, what string) *VoteStep {
	v := &VoteStep{}
	m := p.mapping(n, what, "action", "policy", "user", "value", "kind")
	if m == nil {
		return v
	}
	v.Ref = p.ref(m, what)
	if x := m.get("user"); x != nil {
		v.User = p.nonEmpty(x, what+".user")
	} else {
		p.errorf(m.line, "%s: `user` is required", what)
	}
	if x := m.get("kind"); x != nil {
		v.Kind = p.str(x, what+".kind")
		switch v.Kind {
		case domain.VoteBoolean, domain.VoteChoice, domain.VoteNumber:
		default:
			p.errorf(lineOf(x), "%s.kind: want boolean, choice or number, got %q", what, v.Kind)
		}
	}
	x := m.get("value")
	if x == nil {
		p.errorf(m.line, "%s: `value` is required (yes, no, a choice, or a number)", what)
		return v
	}
	s, ok := p.scalar(x, what+".value")
	if !ok {
		return v
	}
	lower := strings.ToLower(s.Value)
	isBool := s.Tag == "!!bool" || (s.Tag == "!!str" && (lower == "yes" || lower == "no"))
	if v.Kind == "" {
		switch {
		case isBool:
			v.Kind = domain.VoteBoolean
		case s.Tag == "!!int":
			v.Kind = domain.VoteNumber
		default:
			v.Kind = domain.VoteChoice
		}
	}
	switch v.Kind {
	case domain.VoteBoolean:
		if !isBool {
			p.errorf(s.Line, "%s.value: a boolean vote is yes or no, got %q", what, s.Value)
		}
		v.Boolean = lower == "yes" || lower == "true"
	case domain.VoteNumber:
		n, err := strconv.Atoi(s.Value)
		if err != nil {
			p.errorf(s.Line, "%s.value: a number vote is an integer, got %q", what, s.Value)
		}
		v.Number = n
	case domain.VoteChoice:
		v.Choice = s.Value
		if s.Value == "" {
			p.errorf(s.Line, "%s.value: a choice vote needs a choice", what)
		}
	}
	return v
}

func (p *parser) resultStep(n *yaml.Node, what string, answer bool) *ResultStep {
	r := &ResultStep{}
	keys := []string{"action", "policy", "platform", "method", "args", "result", "error"}
	if answer {
		keys = append(keys, "value")
	} else {
		keys = append(keys, "purpose")
	}
	m := p.mapping(n, what, keys...)
	if m == nil {
		return r
	}
	r.Ref = p.ref(m, what)
	r.Platform, r.Method, r.Purpose, r.Args = p.platformCall(m, what, "initiate_vote or slack.initiate_vote")
	if answer {
		r.Purpose = domain.PurposeQuery
	}
	if x := m.get("result"); x != nil {
		r.Result = p.object(x, what+".result")
	}
	if x := m.get("value"); x != nil {
		if m.has("result") {
			p.errorf(lineOf(x), "%s: give either `value` (short for result: {value: ...}) or `result`", what)
		}
		r.Result = map[string]any{"value": p.value(x, what+".value")}
	}
	if x := m.get("error"); x != nil {
		r.Error = p.nonEmpty(x, what+".error")
		if r.Result != nil {
			p.errorf(lineOf(x), "%s: an effect either has a result or an error, not both", what)
		}
	}
	if answer && r.Result == nil && r.Error == "" {
		p.errorf(m.line, "%s: an answer needs `result` (initiate_vote: {post_id, url}), `value`, or `error`", what)
	}
	return r
}

func splitMethod(s string) (platform, method string) {
	if pl, m, ok := strings.Cut(s, "."); ok {
		return pl, m
	}
	return "", s
}

func (p *parser) purpose(n *yaml.Node, what string) string {
	s := p.str(n, what)
	switch s {
	case domain.PurposePolicy, domain.PurposeExecute, domain.PurposeRevert, domain.PurposeQuery:
	default:
		p.errorf(lineOf(n), "%s: want policy, execute, revert or query, got %q", what, s)
	}
	return s
}

var expectKeys = []string{"action", "policy", "status", "action_status", "reverted", "proposals", "effects", "no_effects",
	"all_effects", "logs", "errors", "data", "vote_post_id", "vote_url", "vote_closed", "community"}

var actionStatuses = []string{domain.ActionStatusProposed, domain.ActionStatusRejected, domain.ActionStatusExecuted,
	domain.ActionStatusExecutionFailed, domain.ActionStatusReverted}

func (p *parser) expect(n *yaml.Node, what string) *Expect {
	e := &Expect{Line: lineOf(resolve(n))}
	m := p.mapping(n, what, expectKeys...)
	if m == nil {
		return e
	}
	if len(m.vals) == 0 {
		p.errorf(m.line, "%s: expects nothing", what)
	}
	e.Ref = p.ref(m, what)
	if x := m.get("status"); x != nil {
		e.Status = strings.ToUpper(p.str(x, what+".status"))
		if e.Status != domain.StatusProposed && e.Status != domain.StatusPassed && e.Status != domain.StatusFailed {
			p.errorf(lineOf(x), "%s.status: want PROPOSED, PASSED or FAILED, got %q", what, e.Status)
		}
	}
	if x := m.get("action_status"); x != nil {
		e.ActionStatus = strings.ToLower(p.str(x, what+".action_status"))
		if !contains(actionStatuses, e.ActionStatus) {
			p.errorf(lineOf(x), "%s.action_status: want one of %s, got %q", what, strings.Join(actionStatuses, ", "), e.ActionStatus)
		}
	}
	if x := m.get("reverted"); x != nil {
		b := p.boolean(x, what+".reverted")
		e.Reverted = &b
	}
	if x := m.get("proposals"); x != nil {
		i := p.integer(x, what+".proposals")
		e.Proposals = &i
	}
	if m.has("effects") && m.has("no_effects") {
		p.errorf(m.lines["no_effects"], "%s: give `effects` or `no_effects`, not both", what)
	}
	if x := m.get("effects"); x != nil {
		e.Effects = p.effectMatches(x, what+".effects")
	}
	if x := m.get("no_effects"); x != nil {
		if !p.boolean(x, what+".no_effects") {
			p.errorf(lineOf(x), "%s.no_effects: only `true` makes sense", what)
		}
		e.Effects = []EffectMatch{}
	}
	if x := m.get("all_effects"); x != nil {
		e.AllEffects = p.effectMatches(x, what+".all_effects")
	}
	if x := m.get("logs"); x != nil {
		e.Logs = p.strList(x, what+".logs")
	}
	if x := m.get("errors"); x != nil {
		e.EvalErrors = p.strList(x, what+".errors")
	}
	if x := m.get("data"); x != nil {
		e.Data = p.object(x, what+".data")
		if e.Data == nil {
			p.errorf(lineOf(x), "%s.data: want a mapping of keys to values", what)
		}
	}
	if x := m.get("vote_post_id"); x != nil {
		s := p.str(x, what+".vote_post_id")
		e.VotePostID = &s
	}
	if x := m.get("vote_url"); x != nil {
		s := p.str(x, what+".vote_url")
		e.VoteURL = &s
	}
	if x := m.get("vote_closed"); x != nil {
		b := p.boolean(x, what+".vote_closed")
		e.VoteClosed = &b
	}
	if x := m.get("community"); x != nil {
		e.Community = p.communityExpect(x, what+".community")
	}
	return e
}

// platformCall reads the platform call a step names (a result step, an expected effect):
// its method ("slack.post_message", or "post_message" with platform), purpose and args.
// example shows a method in the error of a step that names none.
func (p *parser) platformCall(m *fields, what, example string) (platform, method, purpose string, args map[string]any) {
	if x := m.get("method"); x != nil {
		platform, method = splitMethod(p.nonEmpty(x, what+".method"))
	} else {
		p.errorf(m.line, "%s: `method` is required (e.g. %s)", what, example)
	}
	if x := m.get("platform"); x != nil {
		pl := p.str(x, what+".platform")
		if platform != "" && pl != platform {
			p.errorf(lineOf(x), "%s.platform: %q contradicts method %s.%s", what, pl, platform, method)
		}
		platform = pl
	}
	if platform != "" && !domain.IsKnownPlatform(platform) {
		p.errorf(m.line, "%s: unknown platform %q", what, platform)
	}
	if x := m.get("purpose"); x != nil {
		purpose = p.purpose(x, what+".purpose")
	}
	if x := m.get("args"); x != nil {
		args = p.object(x, what+".args")
	}
	return platform, method, purpose, args
}

func (p *parser) effectMatches(n *yaml.Node, what string) []EffectMatch {
	out := []EffectMatch{}
	for i, it := range p.list(n, what) {
		w := fmt.Sprintf("%s[%d]", what, i)
		m := p.mapping(it, w, "platform", "method", "purpose", "args")
		if m == nil {
			continue
		}
		em := EffectMatch{Line: m.line}
		em.Platform, em.Method, em.Purpose, em.Args = p.platformCall(m, w, "slack.post_message, or post_message with platform")
		out = append(out, em)
	}
	return out
}

func (p *parser) communityExpect(n *yaml.Node, what string) *CommunityExpect {
	c := &CommunityExpect{}
	m := p.mapping(n, what, "roles", "absent_roles", "user_roles", "policies", "absent_policies")
	if m == nil {
		return c
	}
	if x := m.get("roles"); x != nil {
		c.Roles = p.strList(x, what+".roles")
	}
	if x := m.get("absent_roles"); x != nil {
		c.AbsentRoles = p.strList(x, what+".absent_roles")
	}
	if x := m.get("policies"); x != nil {
		c.Policies = p.strList(x, what+".policies")
	}
	if x := m.get("absent_policies"); x != nil {
		c.AbsentPolicies = p.strList(x, what+".absent_policies")
	}
	if x := m.get("user_roles"); x != nil {
		um := p.mapping(x, what+".user_roles", keysOf(x)...)
		if um != nil {
			c.UserRoles = map[string][]string{}
			for k, v := range um.vals {
				c.UserRoles[k] = p.strList(v, what+".user_roles."+k)
			}
		}
	}
	return c
}

// keysOf lists the scalar keys of a mapping node (for mappings whose keys are data).
func keysOf(n *yaml.Node) []string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validateSetup checks what needs the whole file: the community can be set up as written,
// and every step refers to users, policies and actions that exist when it runs.
func (p *parser) validateSetup(f *File) {
	w, err := newWorld(f, nil, Options{}, nil)
	if err != nil {
		var se *setupError
		if errors.As(err, &se) {
			p.errorf(se.line, "%s", se.msg)
		} else {
			p.errorf(0, "%v", err)
		}
		return
	}
	users := map[string]bool{}
	for _, u := range f.Community.Users {
		users[u.ID] = true
	}
	policies := map[string]bool{}
	for id := range w.community.Policies {
		policies[id] = true
	}
	known := func(line int, what string, r Ref, actions []string) {
		if r.Action == "" && len(actions) == 0 {
			p.errorf(line, "%s: no action has been proposed before this step", what)
		}
		if r.Action != "" && !contains(actions, r.Action) {
			p.errorf(line, "%s: action %q is not proposed by an earlier step of this case", what, r.Action)
		}
		if r.Policy != "" && !policies[r.Policy] {
			p.errorf(line, "%s: unknown policy %q (policies: %s)", what, r.Policy, strings.Join(sortedKeys(policies), ", "))
		}
	}
	for _, c := range f.Cases {
		var actions []string
		for i := range c.Steps {
			st := &c.Steps[i]
			what := st.Kind
			switch st.Kind {
			case StepAction:
				a := st.Action
				if a.ID == "" {
					a.ID = fmt.Sprintf("action-%d", len(actions)+1)
				}
				if contains(actions, a.ID) {
					p.errorf(st.Line, "action: id %q is used twice in this case", a.ID)
				}
				actions = append(actions, a.ID)
				if a.Initiator != "" && !users[a.Initiator] {
					p.errorf(st.Line, "action: unknown initiator %q (users: %s)", a.Initiator, strings.Join(sortedKeys(users), ", "))
				}
				act, err := w.actionOf(a)
				if err == nil {
					err = act.Validate()
				}
				if err != nil {
					p.errorf(st.Line, "action: %v", err)
				} else if act.Kind == domain.KindConstitution {
					if _, err := domain.DecodeConstitutionPayload(act); err != nil {
						p.errorf(st.Line, "action: fields of a %s action: %v", act.Type, err)
					}
				}
			case StepVote:
				known(st.Line, what, st.Vote.Ref, actions)
				if !users[st.Vote.User] {
					p.errorf(st.Line, "vote: unknown user %q (users: %s)", st.Vote.User, strings.Join(sortedKeys(users), ", "))
				}
			case StepAnswer, StepEffectResult:
				known(st.Line, what, st.Result.Ref, actions)
			case StepCloseVote:
				known(st.Line, what, *st.Close, actions)
			case StepExpect:
				e := st.Expect
				if e.Action != "" || e.Policy != "" || needsAction(e) {
					known(st.Line, what, e.Ref, actions)
				}
				if e.Community != nil {
					for u := range e.Community.UserRoles {
						if !users[u] {
							p.errorf(st.Line, "expect.community.user_roles: unknown user %q", u)
						}
					}
				}
			}
		}
	}
}

// needsAction reports whether an expect block checks an action or proposal.
func needsAction(e *Expect) bool {
	return e.Status != "" || e.ActionStatus != "" || e.Reverted != nil || e.Proposals != nil || len(e.Logs) > 0 ||
		len(e.EvalErrors) > 0 || e.Data != nil || e.VotePostID != nil || e.VoteURL != nil || e.VoteClosed != nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
