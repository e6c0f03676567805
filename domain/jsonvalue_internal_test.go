package domain

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestHoldsInterface(t *testing.T) {
	type node struct {
		Name     string
		Children []*node
	}
	type anyNode struct {
		Next  *anyNode
		Value map[string][]any
	}
	for _, tc := range []struct {
		name string
		t    reflect.Type
		want bool
	}{
		{"plain event", reflect.TypeFor[VoteCast](), false},
		{"logs of an evaluation", reflect.TypeFor[ProposalEvaluated](), false},
		{"map of any", reflect.TypeFor[EffectCompleted](), true},
		{"any in a slice of structs", reflect.TypeFor[ProposalDataChanged](), true},
		{"any in a nested struct", reflect.TypeFor[ActionProposed](), true},
		{"recursive without interfaces", reflect.TypeFor[node](), false},
		{"recursive with interfaces", reflect.TypeFor[anyNode](), true},
	} {
		if got := holdsInterface(tc.t); got != tc.want {
			t.Errorf("%s: holdsInterface(%v) = %v, want %v", tc.name, tc.t, got, tc.want)
		}
	}
}

// Every event type decodes numbers in interface values as exact json.Number values, and a
// fault is reported with its position, whichever way the type is decoded.
func TestUnmarshalKeepsNumbersAndFaultPositions(t *testing.T) {
	const big = "123456789012345678901"
	e, err := Unmarshal(EventEffectCompleted, 1, []byte(`{"community_id":"c","proposal_id":"p","at":"2024-01-01T00:00:00Z","effect_id":"e","result":{"id":`+big+`}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.(EffectCompleted).Result["id"]; got != json.Number(big) {
		t.Fatalf("result id = %#v, want json.Number(%s)", got, big)
	}
	e, err = Unmarshal(EventProposalDataChanged, 1, []byte(`{"ops":[{"op":"set","key":"k","value":[`+big+`]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.(ProposalDataChanged).Ops[0].Value; !reflect.DeepEqual(got, []any{json.Number(big)}) {
		t.Fatalf("data value = %#v", got)
	}
	for typ, data := range map[string]string{
		EventVoteCast:            "{\n\"proposal_id\": \"p\",\n\"vote\": 3}",
		EventProposalEvaluated:   "{\"block\": \"check\"} x",
		EventEffectCompleted:     "{\n\"result\": [1]}",
		EventProposalDataChanged: "{\"ops\": [",
	} {
		_, err := Unmarshal(typ, 1, []byte(data))
		if err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("Unmarshal(%s, %q) = %v, want an error with its position", typ, data, err)
		}
	}
}
