package github

import (
	"context"
	"errors"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// An installation deleted on GitHub (the App uninstalled) proposes nothing, and is no longer
// used: effects for the community connected with it fail as not connected without calling
// GitHub, the account's vote issues are no longer read, and a later event naming the
// installation does not bring it back.
func TestDeletedInstallationIsNoLongerUsed(t *testing.T) {
	pub := &recorder{}
	h := newHarness(t, pub, nil)
	ctx := context.Background()
	vr := req("e-vote", bus.MethodInitiateVote, map[string]any{"repo_name": repo, "text": "Adopt it?"})
	vr.ProposalID = "p1"
	if _, err := h.a.Perform(ctx, vr); err != nil {
		t.Fatal(err)
	}
	uninstall := map[string]any{"action": "deleted", "installation": map[string]any{"id": installation, "account": map[string]any{"login": owner, "type": "Organization"}},
		"sender": map[string]any{"login": "alice", "type": "User"}}
	if code := h.deliver(t, "installation", "d-uninstall", uninstall); code != 202 {
		t.Fatalf("the uninstall answered %d", code)
	}
	if n := len(pub.proposed(t)); n != 0 {
		t.Fatalf("the uninstall proposed %d actions", n)
	}
	calls := len(h.fake.Calls())
	_, err := h.a.Perform(ctx, req("e-issue", "create_issue", map[string]any{"repo_name": repo, "title": "After"}))
	if !errors.Is(err, ErrNotConnected) {
		t.Fatalf("an effect after the uninstall: %v, want ErrNotConnected", err)
	}
	h.fake.React(owner, repo, 2, "alice", "+1", "alice-1")
	if err := h.a.PollVotes(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(pub.votes(t)); n != 0 {
		t.Fatalf("%d votes read after the uninstall", n)
	}
	if len(h.fake.Calls()) != calls {
		t.Fatalf("GitHub called after the uninstall: %v", h.fake.Calls()[calls:])
	}
	// An event delivered late, naming the deleted installation, does not restore it.
	if code := h.deliver(t, "issues", "d-late", issueOpened(7, h.a.deps.Now())); code != 202 {
		t.Fatalf("the late event answered %d", code)
	}
	if ok, _ := h.a.state.InstallationDeleted(ctx, installation); !ok {
		t.Fatal("the deleted installation is forgotten as deleted")
	}
	if _, ok, _ := h.a.state.Installation(ctx, owner); ok {
		t.Fatal("the deleted installation is the account's installation again")
	}
}

// The State's record of installations, memory and Postgres alike: a deleted installation is
// forgotten, closes its account's vote issues, and is never saved again; a new one is.
func TestInstallationStateContract(t *testing.T) {
	impls := map[string]func(t *testing.T) State{
		"memory": func(*testing.T) State { return &MemoryState{} },
		"postgres": func(t *testing.T) State {
			pool, _ := pgtest.NewPool(t)
			if err := Migrate(context.Background(), pool); err != nil {
				t.Fatal(err)
			}
			return PostgresState{Pool: pool}
		},
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(s.SaveInstallation(ctx, InstallationRecord{Owner: owner, InstallationID: 42, Installer: "alice"}))
			must(s.SaveVote(ctx, VoteIssue{Owner: owner, Repo: repo, Number: 2, CommunityID: "c1", ProposalID: "p1"}))
			must(s.SaveVote(ctx, VoteIssue{Owner: "other-org", Repo: repo, Number: 3, CommunityID: "c2", ProposalID: "p2"}))
			must(s.DeleteInstallation(ctx, owner, 42))
			if _, ok, err := s.Installation(ctx, owner); err != nil || ok {
				t.Fatalf("after the delete: installation known %v (%v)", ok, err)
			}
			if del, err := s.InstallationDeleted(ctx, 42); err != nil || !del {
				t.Fatalf("deleted %v (%v)", del, err)
			}
			open, err := s.OpenVotes(ctx)
			must(err)
			if len(open) != 1 || open[0].Owner != "other-org" {
				t.Fatalf("open votes %+v, want the other account's only", open)
			}
			must(s.SaveInstallation(ctx, InstallationRecord{Owner: owner, InstallationID: 42}))
			if _, ok, _ := s.Installation(ctx, owner); ok {
				t.Fatal("the deleted installation was saved again")
			}
			must(s.SaveInstallation(ctx, InstallationRecord{Owner: owner, InstallationID: 43, Installer: "bob"}))
			in, ok, err := s.Installation(ctx, owner)
			if err != nil || !ok || in.InstallationID != 43 || in.Installer != "bob" {
				t.Fatalf("the new installation: %+v %v %v", in, ok, err)
			}
			if del, _ := s.InstallationDeleted(ctx, 43); del {
				t.Fatal("the new installation is deleted")
			}
		})
	}
}
