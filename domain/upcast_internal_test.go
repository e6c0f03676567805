package domain

import (
	"encoding/json"
	"errors"
	"testing"
)

// When an event's shape changes, its registry entry gets a new version and an upcaster from
// the old one: a stored old event is upcast, then decoded; an older version without an
// upcaster is INVALID; what the upcaster refuses is INVALID too.
func TestUnmarshalUpcastsOldVersions(t *testing.T) {
	old := registry[EventCommunityRenamed]
	t.Cleanup(func() { registry[EventCommunityRenamed] = old })
	// Version 2 calls "title" what version 1 called "name"; version 3 calls it "name" again.
	registry[EventCommunityRenamed] = entry[CommunityRenamed](EventCommunityRenamed, 3).
		withUpcaster(1, func(data json.RawMessage) (json.RawMessage, error) {
			var v1 map[string]any
			if err := json.Unmarshal(data, &v1); err != nil {
				return nil, err
			}
			if v1["name"] == "" {
				return nil, errors.New("a version 1 rename has a name")
			}
			v1["title"], v1["name"] = v1["name"], nil
			return json.Marshal(v1)
		}).
		withUpcaster(2, func(data json.RawMessage) (json.RawMessage, error) {
			var v2 map[string]any
			if err := json.Unmarshal(data, &v2); err != nil {
				return nil, err
			}
			v2["name"] = v2["title"]
			delete(v2, "title")
			return json.Marshal(v2)
		})

	for _, version := range []int{0, 1} {
		e, err := Unmarshal(EventCommunityRenamed, version, []byte(`{"community_id":"c1","name":"Garden"}`))
		if err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		if r, ok := e.(CommunityRenamed); !ok || r.Name != "Garden" || r.CommunityID != "c1" {
			t.Fatalf("version %d upcast to %#v", version, e)
		}
	}
	e, err := Unmarshal(EventCommunityRenamed, 2, []byte(`{"community_id":"c1","title":"Orchard"}`))
	if r, ok := e.(CommunityRenamed); err != nil || !ok || r.Name != "Orchard" {
		t.Fatalf("version 2 upcast to %#v (%v)", e, err)
	}
	if _, err := Unmarshal(EventCommunityRenamed, 1, []byte(`{"community_id":"c1","name":""}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a refused upcast: %v, want INVALID", err)
	}

	registry[EventCommunityRenamed] = entry[CommunityRenamed](EventCommunityRenamed, 2)
	if _, err := Unmarshal(EventCommunityRenamed, 1, []byte(`{"name":"Garden"}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no upcaster from version 1: %v, want INVALID", err)
	}
}
