package policy

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"sort"
	"time"

	"go.starlark.net/starlark"

	"github.com/policykit-go/policykit/policy/python"
)

// toStarlark converts a JSON-like Go value (as found in Input) to Starlark.
// Maps become attribute-accessible dicts; integral float64 values (JSON
// numbers) become ints.
func toStarlark(v any) (starlark.Value, error) {
	switch v := v.(type) {
	case nil:
		return starlark.None, nil
	case starlark.Value:
		return v, nil
	case bool:
		return starlark.Bool(v), nil
	case string:
		return starlark.String(v), nil
	case int:
		return starlark.MakeInt(v), nil
	case int8:
		return starlark.MakeInt64(int64(v)), nil
	case int16:
		return starlark.MakeInt64(int64(v)), nil
	case int32:
		return starlark.MakeInt64(int64(v)), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case uint:
		return starlark.MakeUint64(uint64(v)), nil
	case uint8:
		return starlark.MakeUint64(uint64(v)), nil
	case uint16:
		return starlark.MakeUint64(uint64(v)), nil
	case uint32:
		return starlark.MakeUint64(uint64(v)), nil
	case uint64:
		return starlark.MakeUint64(v), nil
	case float32:
		return floatValue(float64(v)), nil
	case float64:
		return floatValue(v), nil
	case json.Number:
		// An integer stays exact at any size (Discord and Slack ids exceed 2^53); "2.0"
		// stays a float, as Python's json module reads it.
		if i, err := v.Int64(); err == nil {
			return starlark.MakeInt64(i), nil
		}
		if bi, ok := new(big.Int).SetString(string(v), 10); ok {
			return starlark.MakeBigInt(bi), nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, python.Errorf("ValueError", "invalid number %q", string(v))
		}
		return starlark.Float(f), nil
	case time.Time:
		return timeValue(v), nil
	case time.Duration:
		return durationValue(v), nil
	case map[string]any:
		d := newAttrDict(len(v))
		for _, k := range sortedKeys(v) {
			x, err := toStarlark(v[k])
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), x); err != nil {
				return nil, err
			}
		}
		return d, nil
	case []any:
		l := make([]starlark.Value, len(v))
		for i, x := range v {
			sv, err := toStarlark(x)
			if err != nil {
				return nil, err
			}
			l[i] = sv
		}
		return starlark.NewList(l), nil
	case []string:
		l := make([]starlark.Value, len(v))
		for i, x := range v {
			l[i] = starlark.String(x)
		}
		return starlark.NewList(l), nil
	case UserInfo:
		return &userValue{u: &v}, nil
	case *UserInfo:
		if v == nil {
			return starlark.None, nil
		}
		return &userValue{u: v}, nil
	}
	// Other slices and string-keyed maps, by reflection.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		l := make([]starlark.Value, rv.Len())
		for i := range l {
			x, err := toStarlark(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return starlark.NewList(l), nil
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			for _, k := range rv.MapKeys() {
				m[k.String()] = rv.MapIndex(k).Interface()
			}
			return toStarlark(m)
		}
	case reflect.Pointer:
		if rv.IsNil() {
			return starlark.None, nil
		}
		return toStarlark(rv.Elem().Interface())
	}
	return nil, python.Errorf("TypeError", "cannot convert Go value of type %T for policy code", v)
}

func floatValue(f float64) starlark.Value {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return starlark.MakeInt64(int64(f))
	}
	return starlark.Float(f)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// toJSON converts a Starlark value to a JSON-like Go value (nil, bool,
// int64, json.Number for larger ints, float64, string, []any,
// map[string]any). Policy objects become their natural identifiers: a user
// its username, a vote or user set a list of usernames, a datetime an RFC
// 3339 string, a timedelta its seconds.
func toJSON(v starlark.Value) (any, error) { return toJSONDepth(v, 0) }

func toJSONDepth(v starlark.Value, depth int) (any, error) {
	if depth > 64 {
		return nil, python.Errorf("ValueError", "value is nested too deeply")
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		if i, ok := v.Int64(); ok {
			return i, nil
		}
		return json.Number(v.String()), nil // exact; JSON has no size limit
	case starlark.Float:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, python.Errorf("ValueError", "%s is not JSON serializable", v)
		}
		return f, nil
	case starlark.String:
		return string(v), nil
	case *userValue:
		return v.u.Username, nil
	case *roleValue:
		return v.r.Name, nil
	case *userSet:
		out := make([]any, len(v.users))
		for i, u := range v.users {
			out[i] = u.Username
		}
		return out, nil
	case *voteSet:
		out := make([]any, len(v.votes))
		for i, x := range v.votes {
			out[i] = x.User.Username
		}
		return out, nil
	case *voteValue:
		return v.v.User.Username, nil
	case datetime:
		return v.t.Format(time.RFC3339Nano), nil
	case date:
		return v.String(), nil
	case timedelta:
		if v.us%usPerSecond == 0 {
			return v.us / usPerSecond, nil
		}
		return v.totalSeconds(), nil
	case *proposalValue:
		return v.st.in.Proposal.ID, nil
	case *actionValue:
		return v.st.in.Action.ID, nil
	case starlark.IterableMapping:
		items := v.Items()
		out := make(map[string]any, len(items))
		for _, kv := range items {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, python.Errorf("TypeError", "keys must be str, not %s", kv[0].Type())
			}
			x, err := toJSONDepth(kv[1], depth+1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = x
		}
		return out, nil
	case starlark.Iterable:
		var out []any
		if seq, ok := v.(starlark.Sequence); ok {
			out = make([]any, 0, seq.Len())
		}
		it := v.Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			j, err := toJSONDepth(x, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, j)
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	}
	return nil, python.Errorf("TypeError", "Object of type %s is not JSON serializable", v.Type())
}
