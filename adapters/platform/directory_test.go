package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// envelope is event e as the engine forwards it, at global position pos.
func envelope(tb testing.TB, pos int64, e domain.Event) bus.EventEnvelope {
	tb.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	return bus.EventEnvelope{ID: uuid.New(), Type: e.EventType(), GlobalPosition: pos, Position: fmt.Sprintf("%d:0", pos), Data: data}
}

func directories() map[string]func(t *testing.T) platform.Directory {
	return map[string]func(t *testing.T) platform.Directory{
		"memory": func(*testing.T) platform.Directory { return &platform.MemoryDirectory{} },
		"postgres": func(t *testing.T) platform.Directory {
			return platform.PostgresDirectory{Pool: mustMigratedPool(t), Name: "test"}
		},
	}
}

// The Directory contract: what the events say, whatever order and however often they are
// delivered.
func TestDirectoryContract(t *testing.T) {
	at := time.Unix(1_700_000_000, 0).UTC()
	c1 := domain.CommunityHeader{CommunityID: "c1", At: at}
	for name, mk := range directories() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := mk(t)
			learn := func(pos int64, e domain.Event) {
				t.Helper()
				if err := d.Learn(ctx, envelope(t, pos, e)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := d.Community(ctx, "slack", "T1"); !errors.Is(err, platform.ErrUnknown) {
				t.Fatalf("empty directory: %v", err)
			}
			learn(1, domain.CommunityCreated{CommunityHeader: c1, Name: "one"}) // ignored
			learn(2, domain.PlatformConnected{CommunityHeader: c1, Platform: "slack", ExternalID: "T1"})
			learn(3, domain.UserRegistered{CommunityHeader: c1, UserID: "u1", Platform: "slack", Username: "U1"})
			learn(4, domain.ProposalOpened{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: at}})
			learn(5, domain.ProposalPassed{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: at}})
			// Redelivered out of order: the older events change nothing.
			learn(4, domain.ProposalOpened{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: at}})
			learn(2, domain.PlatformConnected{CommunityHeader: c1, Platform: "slack", ExternalID: "T1"})

			if c, err := d.Community(ctx, "slack", "T1"); err != nil || c != "c1" {
				t.Fatalf("community of T1 = %q %v", c, err)
			}
			if _, err := d.Community(ctx, "discord", "T1"); !errors.Is(err, platform.ErrUnknown) {
				t.Fatalf("T1 on discord: %v", err)
			}
			if id, err := d.ExternalID(ctx, "c1", "slack"); err != nil || id != "T1" {
				t.Fatalf("team of c1 = %q %v", id, err)
			}
			if u, err := d.UserID(ctx, "c1", "slack", "U1"); err != nil || u != "u1" {
				t.Fatalf("user U1 = %q %v", u, err)
			}
			if u, err := d.UserID(ctx, "c1", "discord", "U1"); err != nil || u != "" {
				t.Fatalf("U1 on discord = %q %v", u, err)
			}
			if s, err := d.ProposalStatus(ctx, "c1", "p1"); err != nil || s != domain.StatusPassed {
				t.Fatalf("p1 = %q %v", s, err)
			}
			if s, err := d.ProposalStatus(ctx, "c2", "p1"); err != nil || s != "" {
				t.Fatalf("p1 of another community = %q %v", s, err)
			}

			learn(9, domain.PlatformConnected{CommunityHeader: c1, Platform: "opencollective", ExternalID: "coop",
				Settings: map[string]string{"collective": "coop"}, Secrets: map[string]string{"webhook_secret": domain.SealedPrefix + "abc"}})
			learn(9, domain.PlatformConnected{CommunityHeader: c1, Platform: "opencollective", ExternalID: "coop"}) // a redelivery changes nothing
			conn, err := d.Connection(ctx, "c1", "opencollective")
			if err != nil || conn.ExternalID != "coop" || conn.Settings["collective"] != "coop" || conn.Secrets["webhook_secret"] != domain.SealedPrefix+"abc" {
				t.Fatalf("connection = %+v %v", conn, err)
			}
			if _, err := d.Connection(ctx, "c1", "loomio"); !errors.Is(err, platform.ErrUnknown) {
				t.Fatalf("loomio connection: %v", err)
			}

			learn(6, domain.UserProfileUpdated{CommunityHeader: c1, UserID: "u1", Username: "U1b"})
			if u, _ := d.UserID(ctx, "c1", "slack", "U1b"); u != "u1" {
				t.Fatalf("renamed user = %q", u)
			}
			learn(7, domain.PlatformDisconnected{CommunityHeader: c1, Platform: "slack"})
			if _, err := d.Community(ctx, "slack", "T1"); !errors.Is(err, platform.ErrUnknown) {
				t.Fatalf("a disconnected team: %v", err)
			}
			if _, err := d.ExternalID(ctx, "c1", "slack"); !errors.Is(err, platform.ErrUnknown) {
				t.Fatalf("a disconnected community: %v", err)
			}
			if _, err := d.Connection(ctx, "c1", "slack"); !errors.Is(err, platform.ErrUnknown) {
				t.Fatalf("a disconnected connection: %v", err)
			}
			// The team joins another community.
			learn(8, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c2", At: at}, Platform: "slack", ExternalID: "T1"})
			if c, err := d.Community(ctx, "slack", "T1"); err != nil || c != "c2" {
				t.Fatalf("community of T1 = %q %v", c, err)
			}

			if cp, err := d.Checkpoint(ctx); err != nil || cp != "" {
				t.Fatalf("first checkpoint %q %v", cp, err)
			}
			if err := d.SetCheckpoint(ctx, "8:0"); err != nil {
				t.Fatal(err)
			}
			if cp, _ := d.Checkpoint(ctx); cp != "8:0" {
				t.Fatalf("checkpoint %q", cp)
			}
		})
	}
}

// RunDirectory catches up with the log (what was appended before it listened), then learns
// what the bus delivers.
func TestRunDirectoryCatchesUpThenFollowsTheBus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	at := time.Unix(1_700_000_000, 0).UTC()
	logged := []bus.EventEnvelope{envelope(t, 1, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c1", At: at}, Platform: "slack", ExternalID: "T1"})}
	reads := 0
	catchUp := func(_ context.Context, after string) ([]bus.EventEnvelope, error) {
		reads++
		if after == "" {
			return logged, nil
		}
		return nil, nil
	}
	d := &platform.MemoryDirectory{}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- platform.RunDirectory(ctx, b, "directory-test", d, catchUp, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	if c, err := d.Community(ctx, "slack", "T1"); err != nil || c != "c1" {
		t.Fatalf("caught up: %q %v", c, err)
	}
	if cp, _ := d.Checkpoint(ctx); cp != "1:0" || reads != 2 {
		t.Fatalf("checkpoint %q after %d reads", cp, reads)
	}
	env := envelope(t, 2, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c2", At: at}, Platform: "slack", ExternalID: "T2"})
	payload, _ := json.Marshal(env)
	if err := b.Publisher().Publish(bus.TopicEvents, bus.NewMessage(env.ID.String(), env.Type, payload)); err != nil {
		t.Fatal(err)
	}
	c, err := platform.WaitFor(ctx, 10*time.Second, func(ctx context.Context) (string, error) { return d.Community(ctx, "slack", "T2") })
	if err != nil || c != "c2" {
		t.Fatalf("from the bus: %q %v", c, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
