package eventstore_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore"
)

func TestPrepareAppend(t *testing.T) {
	id := uuid.New()
	in := []eventstore.EventData{
		{ID: id, Type: "A", Data: json.RawMessage(`{}`)},
		{Type: "B", Data: json.RawMessage(`{"path":"C:\\u0000"}`)},
	}
	out, err := eventstore.PrepareAppend("s", in)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].ID != id || out[1].ID == uuid.Nil || in[1].ID != uuid.Nil {
		t.Fatalf("ids: in %v %v, out %v %v", in[0].ID, in[1].ID, out[0].ID, out[1].ID)
	}

	ok := eventstore.EventData{Type: "A", Data: json.RawMessage(`1`)}
	for name, tc := range map[string]struct {
		stream string
		events []eventstore.EventData
	}{
		"empty stream":   {"", []eventstore.EventData{ok}},
		"no events":      {"s", nil},
		"empty type":     {"s", []eventstore.EventData{{Data: json.RawMessage(`1`)}}},
		"nul in type":    {"s", []eventstore.EventData{{Type: "a\x00", Data: json.RawMessage(`1`)}}},
		"bad json":       {"s", []eventstore.EventData{{Type: "A", Data: json.RawMessage(`{`)}}},
		"nul in json":    {"s", []eventstore.EventData{{Type: "A", Data: json.RawMessage(`["\u0000"]`)}}},
		"nul in key":     {"s", []eventstore.EventData{{Type: "A", Data: json.RawMessage(`{"\u0000":1}`)}}},
		"negative":       {"s", []eventstore.EventData{{Type: "A", SchemaVersion: -1, Data: json.RawMessage(`1`)}}},
		"duplicate id":   {"s", []eventstore.EventData{{ID: id, Type: "A", Data: json.RawMessage(`1`)}, {ID: id, Type: "A", Data: json.RawMessage(`1`)}}},
		"invalid utf-8":  {"s\xff", []eventstore.EventData{ok}},
		"json bad utf-8": {"s", []eventstore.EventData{{Type: "A", Data: json.RawMessage("\"\xff\"")}}},
	} {
		if _, err := eventstore.PrepareAppend(tc.stream, tc.events); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", name, err)
		}
	}
}
