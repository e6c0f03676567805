package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzUnmarshalEvent feeds stored-event bytes of every registered type to Unmarshal: it
// never panics, a failure is Invalid, and an event it decodes encodes to bytes that decode
// to the same event (what replay relies on).
func FuzzUnmarshalEvent(f *testing.F) {
	types := EventTypes()
	for i, typ := range types {
		f.Add(uint16(i), SchemaVersion(typ), []byte(`{}`))
		f.Add(uint16(i), SchemaVersion(typ), []byte(`{"community_id":"c1","proposal_id":"p1","action_id":"a1","at":"2024-01-01T00:00:00Z"}`))
	}
	f.Add(uint16(0), 1, []byte(`{"fields":{"n":12345678901234567890}}`))
	f.Add(uint16(1), 0, []byte(`[1,2`))
	f.Add(uint16(2), 99, []byte(`null`))
	f.Fuzz(func(t *testing.T, idx uint16, version int, data []byte) {
		typ := types[int(idx)%len(types)]
		e, err := Unmarshal(typ, version, data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s v%d %q: error not Invalid: %v", typ, version, data, err)
			}
			return
		}
		typ2, v2, data2, err := Marshal(e)
		if err != nil {
			t.Fatalf("%s v%d %q: decoded %#v but cannot encode it: %v", typ, version, data, e, err)
		}
		e2, err := Unmarshal(typ2, v2, data2)
		if err != nil {
			t.Fatalf("%s: re-encoded %q does not decode: %v", typ2, data2, err)
		}
		_, _, data3, err := Marshal(e2)
		if err != nil || string(data3) != string(data2) {
			t.Fatalf("%s: not stable after a round trip:\n%s\n%s (%v)", typ2, data2, data3, err)
		}
	})
}

// FuzzParsePolicyFile feeds arbitrary bytes to the PolicyKit JSON import: it never panics,
// a refusal is Invalid, and a file it accepts exports to a file that imports as the same
// policy.
func FuzzParsePolicyFile(f *testing.F) {
	f.Add([]byte(`{"policy_kind":"platform","action_types":["slackpostmessage"],"name":"p","description":"","is_bundled":false,"filter":"return True","initialize":"pass","check":"return PASSED","notify":"pass","success":"pass","fail":"pass"}`))
	f.Add([]byte(`{"policy_kind":"Constitution","action_types":[],"name":"c","check":"return PASSED","variables":[{"name":"n","label":"N","default_value":"1","is_required":true,"prompt":"","type":"number"}]}`))
	f.Add([]byte(`{"policy_kind":"trigger","name":"t","filter":"action.x > 1","filter_lang":"expr"}`))
	f.Add([]byte(`{"policy_kind":"platform","is_bundled":true}`))
	f.Add([]byte(`{"policy_kind": 3}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParsePolicyFile(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error not Invalid: %v", data, err)
			}
			return
		}
		out, err := json.Marshal(PolicyFileOf(spec))
		if err != nil {
			t.Fatalf("%q: export: %v", data, err)
		}
		back, err := ParsePolicyFile(out)
		if err != nil {
			t.Fatalf("%q: exported %s does not import: %v", data, out, err)
		}
		if !reflect.DeepEqual(back, spec) {
			t.Fatalf("%q: export and import changed the policy:\n%#v\n%#v", data, spec, back)
		}
	})
}
