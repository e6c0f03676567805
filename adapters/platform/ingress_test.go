package platform_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/platform"
)

// Event ids are stable: the ids adapters derived before the kit (UUIDv5 of
// "<platform>-<kind>:<part>:<part>" in the OID namespace) come out the same, so that an
// event delivered across an upgrade is still recognised.
func TestEventIDIsStable(t *testing.T) {
	want := uuid.NewSHA1(uuid.NameSpaceOID, []byte("slack-event:T1:Ev1")).String()
	if got := platform.EventID("slack", "event", "T1", "Ev1"); got != want {
		t.Fatalf("EventID = %s, want %s", got, want)
	}
	if platform.EventID("slack", "event", "T1", "Ev1") == platform.EventID("slack", "vote", "T1", "Ev1") {
		t.Fatal("an event's and a vote's ids collide")
	}
}
