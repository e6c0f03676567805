package policysandbox_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/policysandbox"
)

// fill sets every field reachable from v to a non-zero value, so that a round trip that
// dropped any field, today's or one added later, shows.
func fill(v reflect.Value, depth int) {
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 11, 25, 12, 30, 0, 123, time.UTC)))
		return
	case v.Kind() == reflect.Interface:
		v.Set(reflect.ValueOf(map[string]any{
			"list":   []any{1.5, "x", true, false, nil, map[string]any{"n": json.Number("12345678901234567890")}},
			"nested": map[string]any{"deep": []any{[]any{"y"}}},
		}))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s-" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(2.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	}
}

func TestWireCarriesEveryField(t *testing.T) {
	for _, v := range []any{&policy.Input{}, &policy.Output{}} {
		fill(reflect.ValueOf(v).Elem(), 0)
		got, enc, err := policysandbox.RoundTrip(v)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if !reflect.DeepEqual(got, v) {
			a, _ := json.Marshal(v)
			b, _ := json.Marshal(got)
			t.Fatalf("%T changed in a round trip:\n%s\n%s", v, a, b)
		}
		j, _ := json.Marshal(v)
		t.Logf("%T: %d bytes (JSON: %d)", v, len(enc), len(j))
	}
}

// Values inside interfaces mean what they meant as JSON: integers become float64, other
// types their JSON.
func TestWireValuesMeanWhatJSONMeant(t *testing.T) {
	type custom struct{ A int }
	in := &policy.Input{Variables: map[string]any{"int": 3, "int64": int64(1) << 60, "strs": []string{"a"}, "custom": custom{4}, "f32": float32(0.1)}}
	got, _, err := policysandbox.RoundTrip(in)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	b, _ := json.Marshal(in.Variables)
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if vars := got.(*policy.Input).Variables; !reflect.DeepEqual(vars, want) {
		t.Fatalf("got %#v, want %#v", vars, want)
	}
}

func TestWireRefusesWhatJSONRefuses(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := any("x")
	for range 2000 {
		deep = []any{deep}
	}
	for name, v := range map[string]any{"cycle": cyclic, "deep": deep, "channel": make(chan int)} {
		if _, _, err := policysandbox.RoundTrip(&policy.Input{Variables: map[string]any{"v": v}}); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

// Decoding hostile bytes fails cleanly: no panic, and no allocation larger than the input
// allows.
func TestWireDecodesHostileBytesSafely(t *testing.T) {
	in := &policy.Input{}
	fill(reflect.ValueOf(in).Elem(), 0)
	_, enc, err := policysandbox.RoundTrip(in)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(enc) { // every truncation
		if err := policysandbox.Decode(enc[:n], &policy.Input{}); err == nil {
			t.Fatalf("truncated to %d of %d bytes: decoded", n, len(enc))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 { // random corruption: errors or values, never a panic
		b := append([]byte(nil), enc...)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		_ = policysandbox.Decode(b, &policy.Input{})
	}
	// Lengths far beyond the input: a slice of 2^40 votes, a string of 2^40 bytes, an
	// interface array of 2^40 elements, deep interface nesting.
	huge := []byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}
	for name, b := range map[string][]byte{
		"slice":  huge,
		"string": huge[1:],
		"array":  append([]byte{6}, huge[1:]...),
		"deep":   append(repeat(6, 1, 5000), 0),
	} {
		var v any
		if name == "slice" {
			v = &[]policy.VoteInfo{}
		} else if name == "string" {
			s := ""
			v = &s
		} else {
			v = &[]any{}
			b = append([]byte{2}, b...) // a one-element []any holding the crafted value
		}
		if err := policysandbox.Decode(b, v); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// repeat returns n copies of tag followed by a one-byte length.
func repeat(tag, length byte, n int) []byte {
	var b []byte
	for range n {
		b = append(b, tag, length)
	}
	return b
}

// The comparison that spares the parent encoding a block's policy and community again
// finds two values the same only when their encodings are equal: any field changed, a nil
// slice for an empty one, a pointer set, all make them differ.
func TestWireSameOnlyForEqualEncodings(t *testing.T) {
	base := func() *policy.CommunityInfo {
		c := &policy.CommunityInfo{}
		fill(reflect.ValueOf(c).Elem(), 0)
		return c
	}
	changes := map[string]func(*policy.CommunityInfo){
		"nothing":          func(*policy.CommunityInfo) {},
		"user name":        func(c *policy.CommunityInfo) { c.Users[1].Username += "x" },
		"admin flag":       func(c *policy.CommunityInfo) { c.Users[0].IsAdmin = false },
		"role permission":  func(c *policy.CommunityInfo) { c.Roles[1].Permissions[0] = "other" },
		"fewer platforms":  func(c *policy.CommunityInfo) { c.Platforms = c.Platforms[:1] },
		"nil for empty":    func(c *policy.CommunityInfo) { c.Roles[0].Permissions = nil },
		"empty for nil":    func(c *policy.CommunityInfo) { c.Roles[0].Permissions = []string{}; c.Roles[1].Permissions = nil },
		"no users":         func(c *policy.CommunityInfo) { c.Users = nil },
		"a role's name":    func(c *policy.CommunityInfo) { c.Roles[0].Name = "" },
		"roles reordered":  func(c *policy.CommunityInfo) { c.Roles[0].Name, c.Roles[1].Name = c.Roles[1].Name, c.Roles[0].Name+"x" },
		"user roles empty": func(c *policy.CommunityInfo) { c.Users[0].Roles = c.Users[0].Roles[:0] },
	}
	for name, change := range changes {
		a, b := base(), base()
		change(b)
		same, equal, err := policysandbox.SameEncoding(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if same != equal || (name == "nothing") != same {
			t.Errorf("%s: same %v, encodings equal %v", name, same, equal)
		}
	}
	// A pointer and the values it points to.
	type withPointer struct {
		User *policy.UserInfo
		N    int
	}
	a, b := &withPointer{}, &withPointer{}
	fill(reflect.ValueOf(a).Elem(), 0)
	fill(reflect.ValueOf(b).Elem(), 0)
	if same, _, _ := policysandbox.SameEncoding(a, b); !same {
		t.Error("equal users differ")
	}
	b.User.Roles = nil
	if same, _, _ := policysandbox.SameEncoding(a, b); same {
		t.Error("a changed user is the same")
	}
	b.User = nil
	if same, _, _ := policysandbox.SameEncoding(a, b); same {
		t.Error("a missing user is the same")
	}
	// Values it does not compare (a map, whose encoding follows its iteration order) are
	// never the same.
	x := &policy.ActionInfo{}
	fill(reflect.ValueOf(x).Elem(), 0)
	y := *x
	if same, _, _ := policysandbox.SameEncoding(x, &y); same {
		t.Error("a map is the same")
	}
}

// The parent's copy of a policy and community is the same as the original, and stays so
// when the original's slices and the values they hold are changed in place.
func TestWireCopyIsUnchangedByTheOriginal(t *testing.T) {
	orig := &policy.CommunityInfo{}
	fill(reflect.ValueOf(orig).Elem(), 0)
	orig.Roles[0].Permissions = []string{} // empty, not nil: kept so
	v, ok := policysandbox.CopyOf(orig)
	if !ok {
		t.Fatal("not copied")
	}
	cp := v.(*policy.CommunityInfo)
	if same, equal, err := policysandbox.SameEncoding(orig, cp); err != nil || !same || !equal {
		t.Fatalf("copy: same %v, equal %v, %v", same, equal, err)
	}
	orig.Users[0].Username = "changed"
	orig.Users[1].Roles[0] = "changed"
	orig.Platforms[1] = "changed"
	orig.Roles[1].Permissions[0] = "changed"
	if cp.Users[0].Username == "changed" || cp.Users[1].Roles[0] == "changed" || cp.Platforms[1] == "changed" || cp.Roles[1].Permissions[0] == "changed" {
		t.Fatalf("the copy changed with the original: %+v", cp)
	}
	if same, _, _ := policysandbox.SameEncoding(orig, cp); same {
		t.Fatal("a changed original is the same as its copy")
	}
	if _, ok := policysandbox.CopyOf(&policy.ActionInfo{}); ok {
		t.Fatal("a value holding a map was copied")
	}
}
