package kurrent

import (
	"context"
	"errors"
	"testing"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/kurrent/kurrenttest"
	"github.com/policykit-go/policykit/eventstore/storetest"
)

func ids(evs []eventstore.RecordedEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID.String()
	}
	return out
}

// A crash right after a multi-stream append's commit point (its first part written with the
// redo record, the others not) is finished by the next Open; a part whose stream another
// writer moved on is reported as ErrIncomplete, not written elsewhere.
func TestOpenFinishesAMultiAppendCutShortByACrash(t *testing.T) {
	ctx := context.Background()
	url := kurrenttest.Start(t)
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "b", eventstore.NoStream(), storetest.NewEvents(1, "seed")); err != nil {
		t.Fatal(err)
	}
	a1, b1, c1 := storetest.NewEvents(2, "a"), storetest.NewEvents(1, "b"), storetest.NewEvents(1, "c")
	redo := []redoPart{{Stream: "b", After: 1, Events: b1}, {Stream: "c", After: 0, Events: c1}}
	// What AppendMulti writes at its commit point, and then the process dies.
	if _, wrong, err := s.write(ctx, "a", 0, a1, redo); err != nil || wrong {
		t.Fatalf("commit point: wrong=%v err=%v", wrong, err)
	}
	if got, _ := s.ReadStream(ctx, "c", eventstore.Forward, 1, 10); len(got) != 0 {
		t.Fatalf("c holds %d events before recovery", len(got))
	}

	s2, err := Open(ctx, url)
	if err != nil {
		t.Fatalf("Open after the crash: %v", err)
	}
	defer s2.Close()
	b, _ := s2.ReadStream(ctx, "b", eventstore.Forward, 1, 10)
	c, _ := s2.ReadStream(ctx, "c", eventstore.Forward, 1, 10)
	if len(b) != 2 || b[1].ID != b1[0].ID || len(c) != 1 || c[0].ID != c1[0].ID {
		t.Fatalf("after recovery b = %v, c = %v; want the decision's parts", ids(b), ids(c))
	}
	// Recovering again writes nothing more.
	if err := s2.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if all, _ := s2.ReadAll(ctx, eventstore.Start, 100); len(all) != 5 {
		t.Fatalf("log holds %d events after a second recovery, want 5", len(all))
	}

	// Another commit point whose later stream moves on before the part is written.
	a2, d1 := storetest.NewEvents(1, "a"), storetest.NewEvents(1, "d")
	if _, wrong, err := s2.write(ctx, "a", 2, a2, []redoPart{{Stream: "d", After: 0, Events: d1}}); err != nil || wrong {
		t.Fatalf("commit point: wrong=%v err=%v", wrong, err)
	}
	interloper := storetest.NewEvents(1, "other")
	if _, err := s2.Append(ctx, "d", eventstore.NoStream(), interloper); err != nil {
		t.Fatal(err)
	}
	if err := s2.Recover(ctx); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Recover = %v, want ErrIncomplete", err)
	}
	if d, _ := s2.ReadStream(ctx, "d", eventstore.Forward, 1, 10); len(d) != 1 || d[0].ID != interloper[0].ID {
		t.Fatalf("d = %v, want only the other writer's event", ids(d))
	}
}

// Positions carry KurrentDB's commit and prepare positions and survive their text form.
func TestPositionsRoundTripThroughText(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, kurrenttest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "p", eventstore.NoStream(), storetest.NewEvents(3, "x")); err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(ctx, eventstore.Start, 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("ReadAll = %d, %v", len(all), err)
	}
	p, err := eventstore.ParsePosition(all[0].Position.String())
	if err != nil || p != all[0].Position || p.Commit == 0 || uint64(p.Seq) != uint64(all[0].GlobalPosition) {
		t.Fatalf("position %s parsed as %v, %v", all[0].Position, p, err)
	}
	rest, err := s.ReadAll(ctx, p, 10)
	if err != nil || len(rest) != 2 || rest[0].ID != all[1].ID {
		t.Fatalf("ReadAll after the parsed position = %v, %v", ids(rest), err)
	}
}
