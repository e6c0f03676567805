package policy

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy/python"
)

// This file holds the Starlark values of the evaluation context: action,
// proposal, policy, users, votes, the DataStore and attribute dicts. They
// read the evaluation's state; none of them performs I/O.

// ---- attrDict: a dict whose keys can also be read as attributes ----

// attrDict is a Starlark dict that also answers attribute access with the
// value of the key of that name (None when absent), as PolicyKit's answer
// objects do (result.status, result.outcome.get("agree")).
type attrDict struct{ *starlark.Dict }

var _ starlark.HasAttrs = attrDict{}

func newAttrDict(n int) attrDict { return attrDict{starlark.NewDict(n)} }

func (d attrDict) Attr(name string) (starlark.Value, error) {
	if m, err := d.Dict.Attr(name); m != nil || err != nil {
		return m, err
	}
	v, found, err := d.Dict.Get(starlark.String(name))
	if err != nil || !found {
		return starlark.None, err
	}
	return v, nil
}

func (d attrDict) AttrNames() []string {
	names := slices.Clone(d.Dict.AttrNames())
	for _, k := range d.Dict.Keys() {
		if s, ok := k.(starlark.String); ok {
			names = append(names, string(s))
		}
	}
	return names
}

// ---- users ----

type userValue struct{ u *UserInfo }

var (
	_ starlark.HasAttrs   = (*userValue)(nil)
	_ starlark.Comparable = (*userValue)(nil)
)

func (v *userValue) Type() string          { return "user" }
func (v *userValue) Freeze()               {}
func (v *userValue) Truth() starlark.Bool  { return true }
func (v *userValue) Hash() (uint32, error) { return starlark.String(v.u.Username).Hash() }
func (v *userValue) String() string        { return v.u.Username }

func (v *userValue) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	o := y.(*userValue)
	eq := v.u.Username == o.u.Username && (v.u.Platform == o.u.Platform || v.u.Platform == "" || o.u.Platform == "")
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, python.Errorf("TypeError", "users are not ordered")
}

var userAttrNames = []string{"avatar", "get_roles", "has_role", "id", "is_community_admin", "metagovuser", "platform", "readable_name", "username"}

func (v *userValue) Attr(name string) (starlark.Value, error) {
	u := v.u
	switch name {
	case "username":
		return starlark.String(u.Username), nil
	case "readable_name":
		if u.ReadableName == "" {
			return starlark.String(u.Username), nil
		}
		return starlark.String(u.ReadableName), nil
	case "is_community_admin":
		return starlark.Bool(u.IsAdmin), nil
	case "avatar":
		return starlark.String(u.Avatar), nil
	case "id":
		return starlark.String(u.ID), nil
	case "platform":
		return starlark.String(u.Platform), nil
	case "metagovuser":
		// PolicyKit's link to the user's identity on the platform an event
		// came from (through Metagov): external_username is the username
		// there, as policies written for Metagov events read it.
		return starlarkstruct.FromStringDict(starlark.String("MetagovUser"), starlark.StringDict{
			"external_username": starlark.String(u.Username),
			"provider":          starlark.String(u.Platform),
		}), nil
	case "has_role":
		return starlark.NewBuiltin("has_role", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var role string
			if err := starlark.UnpackArgs(b.Name(), args, kw, "name", &role); err != nil {
				return nil, err
			}
			st := stateOf(th)
			st.volatile = true
			return starlark.Bool(hasRole(st.in.Community.Roles, u, role)), nil
		}), nil
	case "get_roles":
		return starlark.NewBuiltin("get_roles", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kw); err != nil {
				return nil, err
			}
			st := stateOf(th)
			st.volatile = true
			roles := st.in.Community.Roles
			out := make([]starlark.Value, 0, len(u.Roles)+1)
			for _, r := range roles {
				if r.IsBase && !slices.Contains(u.Roles, r.Name) {
					out = append(out, &roleValue{r})
				}
			}
			for _, name := range u.Roles {
				out = append(out, findRole(roles, name))
			}
			return starlark.NewList(out), nil
		}), nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("user has no attribute %q", name))
}

func (v *userValue) AttrNames() []string { return userAttrNames }

// hasRole reports whether u holds the role: listed in its roles, or a base
// role (which every member of the community holds).
func hasRole(roles []RoleInfo, u *UserInfo, name string) bool {
	if slices.Contains(u.Roles, name) {
		return true
	}
	for _, r := range roles {
		if r.IsBase && r.Name == name {
			return true
		}
	}
	return false
}

type roleValue struct{ r RoleInfo }

func findRole(roles []RoleInfo, name string) *roleValue {
	for _, r := range roles {
		if r.Name == name {
			return &roleValue{r}
		}
	}
	return &roleValue{RoleInfo{Name: name}}
}

func (v *roleValue) Type() string          { return "role" }
func (v *roleValue) Freeze()               {}
func (v *roleValue) Truth() starlark.Bool  { return true }
func (v *roleValue) Hash() (uint32, error) { return starlark.String(v.r.Name).Hash() }
func (v *roleValue) String() string        { return v.r.Name }
func (v *roleValue) AttrNames() []string {
	return []string{"description", "is_base_role", "name", "permissions", "role_name"}
}
func (v *roleValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name", "role_name":
		return starlark.String(v.r.Name), nil
	case "description":
		return starlark.String(v.r.Description), nil
	case "is_base_role":
		return starlark.Bool(v.r.IsBase), nil
	case "permissions":
		l := make([]starlark.Value, len(v.r.Permissions))
		for i, p := range v.r.Permissions {
			l[i] = starlark.String(p)
		}
		return starlark.NewList(l), nil
	}
	return nil, nil
}

// userSet is a QuerySet of users (platform.get_users()).
type userSet struct{ users []*UserInfo }

var (
	_ starlark.Indexable = (*userSet)(nil)
	_ starlark.Container = (*userSet)(nil)
	_ starlark.Sequence  = (*userSet)(nil)
	_ starlark.HasAttrs  = (*userSet)(nil)
)

func (s *userSet) Type() string         { return "UserSet" }
func (s *userSet) Freeze()              {}
func (s *userSet) Truth() starlark.Bool { return len(s.users) > 0 }
func (s *userSet) Hash() (uint32, error) {
	return 0, python.Errorf("TypeError", "unhashable type: UserSet")
}
func (s *userSet) Len() int                   { return len(s.users) }
func (s *userSet) Index(i int) starlark.Value { return &userValue{s.users[i]} }
func (s *userSet) Iterate() starlark.Iterator { return &indexIter{x: s} }
func (s *userSet) String() string {
	var b strings.Builder
	b.WriteString("<QuerySet [")
	for i, u := range s.users {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "<CommunityUser: %s>", u.Username)
	}
	b.WriteString("]>")
	return b.String()
}

// Has implements "user in users" (a user object or a username).
func (s *userSet) Has(x starlark.Value) (bool, error) {
	name, ok := usernameOf(x)
	return ok && slices.ContainsFunc(s.users, func(u *UserInfo) bool { return u.Username == name }), nil
}

func usernameOf(x starlark.Value) (string, bool) {
	switch x := x.(type) {
	case *userValue:
		return x.u.Username, true
	case starlark.String:
		return string(x), true
	}
	return "", false
}

func (s *userSet) AttrNames() []string {
	return []string{"count", "exists", "filter", "first", "usernames", "values_list"}
}

func (s *userSet) Attr(name string) (starlark.Value, error) {
	switch name {
	case "count":
		return noArgs(name, func() starlark.Value { return starlark.MakeInt(len(s.users)) }), nil
	case "exists":
		return noArgs(name, func() starlark.Value { return starlark.Bool(len(s.users) > 0) }), nil
	case "first":
		return noArgs(name, func() starlark.Value {
			if len(s.users) == 0 {
				return starlark.None
			}
			return &userValue{s.users[0]}
		}), nil
	case "usernames":
		return noArgs(name, func() starlark.Value {
			l := make([]starlark.Value, len(s.users))
			for i, u := range s.users {
				l[i] = starlark.String(u.Username)
			}
			return starlark.NewList(l)
		}), nil
	case "filter":
		return starlark.NewBuiltin("filter", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			if len(args) > 0 {
				return nil, python.Errorf("TypeError", "filter() takes keyword arguments only")
			}
			out := &userSet{}
			for _, u := range s.users {
				ok, err := matchLookups(kw, func(field string) (starlark.Value, error) {
					return userField(u, strings.TrimPrefix(field, "user__"))
				})
				if err != nil {
					return nil, err
				}
				if ok {
					out.users = append(out.users, u)
				}
			}
			return out, nil
		}), nil
	case "values_list":
		return valuesList(len(s.users), func(i int, field string) (starlark.Value, error) {
			return userField(s.users[i], strings.TrimPrefix(field, "user__"))
		}), nil
	}
	return nil, nil
}

func userField(u *UserInfo, field string) (starlark.Value, error) {
	switch field {
	case "username":
		return starlark.String(u.Username), nil
	case "readable_name":
		return starlark.String(u.ReadableName), nil
	case "id", "pk":
		return starlark.String(u.ID), nil
	case "is_community_admin":
		return starlark.Bool(u.IsAdmin), nil
	case "platform":
		return starlark.String(u.Platform), nil
	case "avatar":
		return starlark.String(u.Avatar), nil
	}
	return nil, python.Errorf("ValueError", "cannot resolve field %q on users (use username, readable_name, id, is_community_admin, platform)", field)
}

// matchLookups evaluates Django-style filter keywords (field, field__in,
// field__iexact, field__contains) against one element.
func matchLookups(kw []starlark.Tuple, get func(field string) (starlark.Value, error)) (bool, error) {
	for _, kv := range kw {
		key := string(kv[0].(starlark.String))
		want := kv[1]
		field, lookup := key, "exact"
		if i := strings.LastIndex(key, "__"); i > 0 {
			switch key[i+2:] {
			case "in", "exact", "iexact", "contains", "icontains", "gt", "gte", "lt", "lte":
				field, lookup = key[:i], key[i+2:]
			}
		}
		have, err := get(field)
		if err != nil {
			return false, err
		}
		var ok bool
		switch lookup {
		case "exact":
			ok, err = starlark.Equal(have, want)
		case "iexact", "contains", "icontains":
			hs, _ := starlark.AsString(have)
			ws, _ := starlark.AsString(want)
			switch lookup {
			case "iexact":
				ok = strings.EqualFold(hs, ws)
			case "contains":
				ok = strings.Contains(hs, ws)
			default:
				ok = strings.Contains(strings.ToLower(hs), strings.ToLower(ws))
			}
		case "in":
			if want == starlark.None {
				break
			}
			iter, isIter := want.(starlark.Iterable)
			if !isIter {
				return false, python.Errorf("TypeError", "%s: expected a list, got %s", key, want.Type())
			}
			it := iter.Iterate()
			var x starlark.Value
			for it.Next(&x) {
				if uv, isUser := x.(*userValue); isUser {
					x = starlark.String(uv.u.Username)
				}
				if eq, e := starlark.Equal(have, x); e == nil && eq {
					ok = true
					break
				}
			}
			it.Done()
		default:
			op := map[string]syntax.Token{"gt": syntax.GT, "gte": syntax.GE, "lt": syntax.LT, "lte": syntax.LE}[lookup]
			ok, err = starlark.Compare(op, have, want)
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// valuesList implements QuerySet.values_list(*fields, flat=False).
func valuesList(n int, get func(i int, field string) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin("values_list", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		flat := false
		for _, kv := range kw {
			if kv[0].(starlark.String) != "flat" {
				return nil, python.Errorf("TypeError", "values_list() got an unexpected keyword argument %s", kv[0])
			}
			flat = bool(kv[1].Truth())
		}
		fields := make([]string, len(args))
		for i, a := range args {
			s, ok := starlark.AsString(a)
			if !ok {
				return nil, python.Errorf("TypeError", "values_list() field names must be strings")
			}
			fields[i] = s
		}
		if flat && len(fields) != 1 {
			return nil, python.Errorf("TypeError", "'flat' is not valid when values_list is called with more than one field")
		}
		out := make([]starlark.Value, n)
		for i := range n {
			row := make(starlark.Tuple, len(fields))
			for j, f := range fields {
				v, err := get(i, f)
				if err != nil {
					return nil, err
				}
				row[j] = v
			}
			if flat {
				out[i] = row[0]
			} else {
				out[i] = row
			}
		}
		return starlark.NewList(out), nil
	})
}

type indexIter struct {
	x starlark.Indexable
	i int
}

func (it *indexIter) Next(p *starlark.Value) bool {
	if it.i >= it.x.Len() {
		return false
	}
	*p = it.x.Index(it.i)
	it.i++
	return true
}
func (it *indexIter) Done() {}

// usernamesOf accepts None, a username, a user, a UserSet or an iterable of
// usernames/users, and returns the set of usernames (nil for None).
func usernamesOf(v starlark.Value) (map[string]bool, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.String:
		return map[string]bool{string(v): true}, nil
	case *userValue:
		return map[string]bool{v.u.Username: true}, nil
	case *userSet:
		m := make(map[string]bool, len(v.users))
		for _, u := range v.users {
			m[u.Username] = true
		}
		return m, nil
	case starlark.Iterable:
		m := map[string]bool{}
		it := v.Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			switch x := x.(type) {
			case starlark.String:
				m[string(x)] = true
			case *userValue:
				m[x.u.Username] = true
			default:
				return nil, python.Errorf("TypeError", "users must be usernames or user objects, not %s", x.Type())
			}
		}
		return m, nil
	}
	return nil, python.Errorf("TypeError", "users must be a list of users or usernames, not %s", v.Type())
}

// ---- votes ----

type voteValue struct {
	v  *VoteInfo
	st *evalState
}

var _ starlark.HasAttrs = (*voteValue)(nil)

func (v *voteValue) Type() string {
	switch v.v.Kind {
	case domain.VoteBoolean:
		return "BooleanVote"
	case domain.VoteNumber:
		return "NumberVote"
	}
	return "ChoiceVote"
}
func (v *voteValue) Freeze()               {}
func (v *voteValue) Truth() starlark.Bool  { return true }
func (v *voteValue) Hash() (uint32, error) { return starlark.String(v.String()).Hash() }
func (v *voteValue) String() string {
	v.st.volatile = true // the voter's current username
	return "<" + v.Type() + ": " + v.v.User.Username + " voted " + voteValueString(v.v) + ">"
}

func voteValueString(v *VoteInfo) string {
	switch v.Kind {
	case domain.VoteBoolean:
		if v.Boolean {
			return "True"
		}
		return "False"
	case domain.VoteNumber:
		return strconv.Itoa(v.Number)
	}
	return v.Choice
}

func (v *voteValue) AttrNames() []string {
	return []string{"boolean_value", "choice", "get_time_elapsed", "number_value", "user", "value", "vote_time"}
}

func (v *voteValue) Attr(name string) (starlark.Value, error) {
	return voteField(v.v, v.st, name)
}

func voteField(v *VoteInfo, st *evalState, name string) (starlark.Value, error) {
	switch name {
	case "user":
		st.volatile = true // the voter as the community knows them now
		return &userValue{&v.User}, nil
	case "vote_time":
		return timeValue(v.At), nil
	case "boolean_value":
		if v.Kind != domain.VoteBoolean {
			return starlark.None, nil
		}
		return starlark.Bool(v.Boolean), nil
	case "number_value":
		if v.Kind != domain.VoteNumber {
			return starlark.None, nil
		}
		return starlark.MakeInt(v.Number), nil
	case "choice", "value":
		switch v.Kind {
		case domain.VoteChoice:
			return starlark.String(v.Choice), nil
		case domain.VoteBoolean:
			return starlark.Bool(v.Boolean), nil
		}
		return starlark.MakeInt(v.Number), nil
	case "get_time_elapsed":
		return noArgs(name, func() starlark.Value {
			return timedelta{timeValue(st.clock()).t.UnixMicro() - timeValue(v.At).t.UnixMicro()}
		}), nil
	}
	return nil, nil
}

// voteSet is a QuerySet of votes (proposal.get_yes_votes(), ...).
type voteSet struct {
	votes []*VoteInfo
	st    *evalState
}

var (
	_ starlark.Indexable = (*voteSet)(nil)
	_ starlark.Container = (*voteSet)(nil)
	_ starlark.Sequence  = (*voteSet)(nil)
	_ starlark.HasAttrs  = (*voteSet)(nil)
)

func (s *voteSet) Type() string         { return "VoteSet" }
func (s *voteSet) Freeze()              {}
func (s *voteSet) Truth() starlark.Bool { return len(s.votes) > 0 }
func (s *voteSet) Hash() (uint32, error) {
	return 0, python.Errorf("TypeError", "unhashable type: VoteSet")
}
func (s *voteSet) Len() int                   { return len(s.votes) }
func (s *voteSet) Index(i int) starlark.Value { return &voteValue{s.votes[i], s.st} }
func (s *voteSet) Iterate() starlark.Iterator { return &indexIter{x: s} }

// String mimics Django's QuerySet repr.
func (s *voteSet) String() string {
	var b strings.Builder
	b.WriteString("<QuerySet [")
	for i, v := range s.votes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString((&voteValue{v, s.st}).String())
	}
	b.WriteString("]>")
	return b.String()
}

// Has implements "vote in votes", and "user in votes" for a voter.
func (s *voteSet) Has(x starlark.Value) (bool, error) {
	if v, ok := x.(*voteValue); ok {
		return slices.Contains(s.votes, v.v), nil
	}
	name, ok := usernameOf(x)
	s.st.volatile = true
	return ok && slices.ContainsFunc(s.votes, func(v *VoteInfo) bool { return v.User.Username == name }), nil
}

func (s *voteSet) AttrNames() []string {
	return []string{"count", "exists", "filter", "first", "last", "values_list"}
}

func (s *voteSet) Attr(name string) (starlark.Value, error) {
	switch name {
	case "count":
		return noArgs(name, func() starlark.Value { return starlark.MakeInt(len(s.votes)) }), nil
	case "exists":
		return noArgs(name, func() starlark.Value { return starlark.Bool(len(s.votes) > 0) }), nil
	case "first", "last":
		return noArgs(name, func() starlark.Value {
			if len(s.votes) == 0 {
				return starlark.None
			}
			if name == "first" {
				return &voteValue{s.votes[0], s.st}
			}
			return &voteValue{s.votes[len(s.votes)-1], s.st}
		}), nil
	case "filter":
		return starlark.NewBuiltin("filter", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			if len(args) > 0 {
				return nil, python.Errorf("TypeError", "filter() takes keyword arguments only")
			}
			out := &voteSet{st: s.st}
			for _, v := range s.votes {
				ok, err := matchLookups(kw, func(field string) (starlark.Value, error) { return voteLookup(v, s.st, field) })
				if err != nil {
					return nil, err
				}
				if ok {
					out.votes = append(out.votes, v)
				}
			}
			return out, nil
		}), nil
	case "values_list":
		return valuesList(len(s.votes), func(i int, field string) (starlark.Value, error) {
			return voteLookup(s.votes[i], s.st, field)
		}), nil
	}
	return nil, nil
}

// voteLookup resolves a Django field path on a vote ("user__username",
// "boolean_value", "vote_time", ...).
func voteLookup(v *VoteInfo, st *evalState, field string) (starlark.Value, error) {
	if rest, ok := strings.CutPrefix(field, "user__"); ok {
		st.volatile = true
		return userField(&v.User, rest)
	}
	if field == "user" {
		st.volatile = true
		return starlark.String(v.User.Username), nil
	}
	if field != "get_time_elapsed" {
		if x, err := voteField(v, st, field); x != nil || err != nil {
			return x, err
		}
	}
	return nil, python.Errorf("ValueError", "cannot resolve field %q on votes", field)
}

// ---- proposal ----

type proposalValue struct {
	st      *evalState
	methods methodCache
}

// methodCache keeps the bound methods of one object for the evaluation, so
// that repeated calls (proposal.data.set(...) in a loop) do not rebuild them.
type methodCache struct {
	n     int
	names [8]string
	vals  [8]starlark.Value
}

// attr returns the cached method name, or computes the attribute with get
// and caches it when it is a method.
func (c *methodCache) attr(name string, get func(string) (starlark.Value, error)) (starlark.Value, error) {
	for i := range c.n {
		if c.names[i] == name {
			return c.vals[i], nil
		}
	}
	v, err := get(name)
	if _, isMethod := v.(*starlark.Builtin); isMethod && c.n < len(c.names) {
		c.names[c.n], c.vals[c.n] = name, v
		c.n++
	}
	return v, err
}

func (p *proposalValue) Type() string          { return "Proposal" }
func (p *proposalValue) Freeze()               {}
func (p *proposalValue) Truth() starlark.Bool  { return true }
func (p *proposalValue) Hash() (uint32, error) { return starlark.String(p.st.in.Proposal.ID).Hash() }
func (p *proposalValue) String() string {
	return fmt.Sprintf("<Proposal: %s>", p.st.in.Proposal.ID)
}

var proposalAttrNames = []string{"action", "data", "get_all_boolean_votes", "get_all_choice_votes", "get_all_number_votes",
	"get_choice_votes", "get_no_votes", "get_one_number_votes", "get_time_elapsed", "get_yes_votes",
	"governance_process", "id", "is_vote_closed", "policy", "proposal_time", "status", "vote_outcome", "vote_post_id", "vote_url"}

func (p *proposalValue) AttrNames() []string { return proposalAttrNames }

func (p *proposalValue) Attr(name string) (starlark.Value, error) {
	return p.methods.attr(name, p.attr)
}

func (p *proposalValue) attr(name string) (starlark.Value, error) {
	st := p.st
	pr := &st.in.Proposal
	switch name {
	case "id", "pk":
		return starlark.String(pr.ID), nil
	case "status":
		return starlark.String(strings.ToLower(pr.Status)), nil
	case "proposal_time":
		if pr.ProposalTime.IsZero() {
			return starlark.None, nil
		}
		return timeValue(pr.ProposalTime), nil
	case "vote_post_id":
		return noneIfEmpty(st.votePostID), nil
	case "vote_url":
		return noneIfEmpty(st.voteURL), nil
	case "is_vote_closed":
		return starlark.Bool(pr.IsVoteClosed), nil
	case "vote_outcome":
		if pr.VoteOutcome == nil {
			return starlark.None, nil
		}
		return toStarlark(pr.VoteOutcome)
	case "data":
		if st.dataStore == nil {
			st.dataStore = &dataStore{st: st}
		}
		return st.dataStore, nil
	case "governance_process":
		return st.governanceProcess()
	case "policy":
		return st.policyValue(), nil
	case "action":
		return st.actionValue(), nil
	case "get_time_elapsed":
		return noArgs(name, func() starlark.Value {
			return timedelta{timeValue(st.clock()).t.UnixMicro() - timeValue(pr.ProposalTime).t.UnixMicro()}
		}), nil
	case "get_all_boolean_votes":
		return p.votesMethod(name, false, func(v *VoteInfo, _ starlark.Value) bool { return v.Kind == domain.VoteBoolean }), nil
	case "get_yes_votes":
		return p.votesMethod(name, false, func(v *VoteInfo, _ starlark.Value) bool { return v.Kind == domain.VoteBoolean && v.Boolean }), nil
	case "get_no_votes":
		return p.votesMethod(name, false, func(v *VoteInfo, _ starlark.Value) bool { return v.Kind == domain.VoteBoolean && !v.Boolean }), nil
	case "get_all_number_votes":
		return p.votesMethod(name, false, func(v *VoteInfo, _ starlark.Value) bool { return v.Kind == domain.VoteNumber }), nil
	case "get_one_number_votes":
		return p.votesMethod(name, true, func(v *VoteInfo, want starlark.Value) bool {
			n, err := starlark.AsInt32(want)
			return v.Kind == domain.VoteNumber && err == nil && v.Number == n
		}), nil
	case "get_choice_votes", "get_all_choice_votes":
		return p.votesMethod(name, true, func(v *VoteInfo, want starlark.Value) bool {
			if v.Kind != domain.VoteChoice {
				return false
			}
			if want == nil || want == starlark.None {
				return true
			}
			s, ok := starlark.AsString(want)
			return ok && v.Choice == s
		}), nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("proposal has no attribute %q", name))
}

func noneIfEmpty(s string) starlark.Value {
	if s == "" {
		return starlark.None
	}
	return starlark.String(s)
}

// votesMethod builds proposal.get_*_votes(value?, users=None).
func (p *proposalValue) votesMethod(name string, withValue bool, keep func(*VoteInfo, starlark.Value) bool) *starlark.Builtin {
	st := p.st
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		var value, users starlark.Value = starlark.None, starlark.None
		var err error
		switch {
		case withValue && name == "get_one_number_votes":
			err = starlark.UnpackArgs(b.Name(), args, kw, "value", &value, "users?", &users)
		case withValue:
			err = starlark.UnpackArgs(b.Name(), args, kw, "value?", &value, "users?", &users)
		default:
			err = starlark.UnpackArgs(b.Name(), args, kw, "users?", &users)
		}
		if err != nil {
			return nil, err
		}
		only, err := usernamesOf(users)
		if err != nil {
			return nil, err
		}
		if only != nil {
			st.volatile = true // voters are matched by their current usernames
		}
		votes := st.in.Proposal.Votes
		out := &voteSet{st: st, votes: make([]*VoteInfo, 0, len(votes))}
		for i := range votes {
			v := &votes[i]
			if keep(v, value) && (only == nil || only[v.User.Username]) {
				out.votes = append(out.votes, v)
			}
		}
		return out, nil
	})
}

// ---- DataStore ----

type dataStore struct {
	st      *evalState
	methods methodCache
}

var _ starlark.HasAttrs = (*dataStore)(nil)

func (d *dataStore) Type() string         { return "DataStore" }
func (d *dataStore) Freeze()              {}
func (d *dataStore) Truth() starlark.Bool { return true }
func (d *dataStore) Hash() (uint32, error) {
	return 0, python.Errorf("TypeError", "unhashable type: DataStore")
}
func (d *dataStore) String() string      { return "<DataStore>" }
func (d *dataStore) AttrNames() []string { return []string{"get", "remove", "set"} }

func (d *dataStore) Attr(name string) (starlark.Value, error) {
	return d.methods.attr(name, d.attr)
}

func (d *dataStore) attr(name string) (starlark.Value, error) {
	st := d.st
	switch name {
	case "get":
		return starlark.NewBuiltin("get", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var key string
			var dflt starlark.Value = starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kw, "key", &key, "default?", &dflt); err != nil {
				return nil, err
			}
			v, ok := st.dataMap()[key]
			if !ok {
				return dflt, nil
			}
			return toStarlark(v)
		}), nil
	case "set":
		return starlark.NewBuiltin("set", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var key string
			var value starlark.Value
			if err := starlark.UnpackArgs(b.Name(), args, kw, "key", &key, "value", &value); err != nil {
				return nil, err
			}
			if err := st.mayWriteData(); err != nil {
				return nil, err
			}
			j, err := toJSON(value)
			if err != nil {
				return nil, err
			}
			st.writableData()[key] = j
			st.dataOps = append(st.dataOps, domain.DataOp{Op: domain.DataSet, Key: key, Value: j})
			return starlark.None, nil
		}), nil
	case "remove":
		return starlark.NewBuiltin("remove", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var key string
			if err := starlark.UnpackArgs(b.Name(), args, kw, "key", &key); err != nil {
				return nil, err
			}
			if err := st.mayWriteData(); err != nil {
				return nil, err
			}
			if _, ok := st.dataMap()[key]; !ok {
				return starlark.False, nil
			}
			delete(st.writableData(), key)
			st.dataOps = append(st.dataOps, domain.DataOp{Op: domain.DataRemove, Key: key})
			return starlark.True, nil
		}), nil
	}
	return nil, nil
}

// ---- action ----

type actionValue struct{ st *evalState }

var _ starlark.HasAttrs = (*actionValue)(nil)

func (a *actionValue) Type() string          { return "Action" }
func (a *actionValue) Freeze()               {}
func (a *actionValue) Truth() starlark.Bool  { return true }
func (a *actionValue) Hash() (uint32, error) { return starlark.String(a.st.in.Action.ID).Hash() }

// String is str(action): ActionInfo.Description (the action type when empty).
func (a *actionValue) String() string {
	if d := a.st.in.Action.Description; d != "" {
		return d
	}
	return a.st.in.Action.Type
}

func (a *actionValue) AttrNames() []string {
	names := []string{"action_type", "community", "data", "id", "initiator", "kind", "platform", "proposal"}
	for k := range a.st.in.Action.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (a *actionValue) Attr(name string) (starlark.Value, error) {
	st := a.st
	act := &st.in.Action
	switch name {
	case "action_type":
		return starlark.String(act.Type), nil
	case "kind":
		return starlark.String(act.Kind), nil
	case "initiator":
		st.volatile = true // the initiator as the community knows them now
		if act.Initiator == nil {
			return starlark.None, nil
		}
		return &userValue{act.Initiator}, nil
	case "proposal":
		return st.proposalValue(), nil
	case "respond":
		if act.Type == domain.ActionDiscordSlashCommand {
			return actionRespond, nil
		}
	case "community":
		if p, ok := platformValues[act.Platform]; ok {
			return p, nil
		}
		return starlark.None, nil
	}
	if v, ok := act.Fields[name]; ok {
		return toStarlark(v)
	}
	switch name {
	case "id", "pk":
		return starlark.String(act.ID), nil
	case "platform":
		return starlark.String(act.Platform), nil
	case "data":
		return starlark.None, nil
	}
	if act.Type != "" {
		return nil, starlark.NoSuchAttrError(fmt.Sprintf("action (%s) has no attribute %q", act.Type, name))
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("action has no attribute %q", name))
}

// ---- policy ----

type policyValue struct{ st *evalState }

var _ starlark.HasAttrs = (*policyValue)(nil)

func (p *policyValue) Type() string          { return "Policy" }
func (p *policyValue) Freeze()               {}
func (p *policyValue) Truth() starlark.Bool  { return true }
func (p *policyValue) Hash() (uint32, error) { return starlark.String(p.st.in.Policy.ID).Hash() }
func (p *policyValue) String() string        { return p.st.in.Policy.Name }
func (p *policyValue) AttrNames() []string {
	return []string{"action_types", "description", "id", "kind", "name", "variables"}
}

func (p *policyValue) Attr(name string) (starlark.Value, error) {
	pol := &p.st.in.Policy
	switch name {
	case "id", "pk":
		return starlark.String(pol.ID), nil
	case "name":
		return starlark.String(pol.Name), nil
	case "description":
		return starlark.String(pol.Description), nil
	case "kind":
		return starlark.String(pol.Kind), nil
	case "action_types":
		return toStarlark(pol.ActionTypes)
	case "variables":
		return p.st.variablesValue()
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("policy has no attribute %q", name))
}
