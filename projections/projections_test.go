package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// logHead is the position of the last event of the log (read from the Postgres store's
// table: ReadAll may hold recent events back while any transaction of the server is open).
func logHead(tb testing.TB, pool *pgxpool.Pool) eventstore.Position {
	tb.Helper()
	var commit, seq int64
	err := pool.QueryRow(context.Background(), `SELECT transaction_id::text::bigint, global_position FROM events
		ORDER BY transaction_id DESC, global_position DESC LIMIT 1`).Scan(&commit, &seq)
	if err != nil {
		tb.Fatalf("log head: %v", err)
	}
	return eventstore.Position{Commit: uint64(commit), Seq: seq}
}

// mustCatchUp runs CatchUp until every projector of r has the whole log, and returns the
// number of events read. The Postgres store returns an event only once no transaction that
// could commit before it is open on the server (other tests' included), so one CatchUp may
// stop short of the head: it is repeated, with a deadline.
func mustCatchUp(tb testing.TB, r *Runner, pool *pgxpool.Pool) int {
	tb.Helper()
	ctx := context.Background()
	head := logHead(tb, pool)
	deadline := time.Now().Add(30 * time.Second)
	total := 0
	for {
		n, err := r.CatchUp(ctx, nil)
		if err != nil {
			tb.Fatalf("catch up: %v", err)
		}
		total += n
		cp, err := r.Checkpoint(ctx)
		if err != nil {
			tb.Fatalf("checkpoint: %v", err)
		}
		if cp == head {
			return total
		}
		if time.Now().After(deadline) {
			tb.Fatalf("catch up: checkpoint %s never reached the head %s", cp, head)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mustReplay empties the read models and rebuilds them from the whole log with Replay, then
// catches up with what Replay may have stopped short of (see mustCatchUp).
func mustReplay(tb testing.TB, r *Runner, pool *pgxpool.Pool) int {
	tb.Helper()
	n, err := r.Replay(context.Background(), nil)
	if err != nil {
		tb.Fatalf("replay: %v", err)
	}
	return n + mustCatchUp(tb, r, pool)
}

// dump returns every projector table's rows as text, in a stable order.
func dump(tb testing.TB, pool *pgxpool.Pool) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, p := range All() {
		for _, t := range p.Tables() {
			var s string
			err := pool.QueryRow(context.Background(),
				`SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]')::text FROM `+t+` t`).Scan(&s)
			if err != nil {
				tb.Fatalf("dump %s: %v", t, err)
			}
			out[t] = s
		}
	}
	return out
}

// mustEqualDumps fails when two dumps differ, naming the tables and the first difference.
func mustEqualDumps(tb testing.TB, what string, got, want map[string]string) {
	tb.Helper()
	tables := make([]string, 0, len(want))
	for t := range want {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		g, w := got[t], want[t]
		if g == w {
			continue
		}
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		from := max(0, i-200)
		tb.Errorf("%s: table %s differs at byte %d:\n got: ...%s\nwant: ...%s", what, t, i, g[from:min(len(g), i+200)], w[from:min(len(w), i+200)])
	}
}

func mustCount(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) int {
	tb.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

// countingProjector counts the events it is given.
type countingProjector struct {
	Projector
	n *atomic.Int64
}

func (c countingProjector) Project(q Queue, ev Envelope) error {
	c.n.Add(1)
	return c.Projector.Project(q, ev)
}

func TestProjectedRows(t *testing.T) {
	pool, store := newTestDB(t)
	b := newLogBuilder(t, store)
	writeScenario(b)
	r := NewRunner(store, pool, 50, nil, All()...)
	if n := mustCatchUp(t, r, pool); n != b.total {
		t.Fatalf("caught up %d events, log has %d", n, b.total)
	}
	ctx := context.Background()

	t.Run("communities", func(t *testing.T) {
		for id, c := range b.communities {
			var name string
			var created, updated time.Time
			if err := pool.QueryRow(ctx, `SELECT name, created_at, updated_at FROM communities WHERE id = $1`, id).Scan(&name, &created, &updated); err != nil {
				t.Fatalf("community %s: %v", id, err)
			}
			if name != c.Name || !created.Equal(c.CreatedAt) {
				t.Errorf("community %s = %q created %v, want %q created %v", id, name, created, c.Name, c.CreatedAt)
			}
			for _, p := range c.Platforms {
				var active bool
				var ext string
				var disconnected *time.Time
				if err := pool.QueryRow(ctx, `SELECT active, external_id, disconnected_at FROM community_platforms WHERE community_id = $1 AND platform = $2`,
					id, p.Platform).Scan(&active, &ext, &disconnected); err != nil {
					t.Fatalf("platform %s of %s: %v", p.Platform, id, err)
				}
				if active != p.Active || ext != p.ExternalID || (disconnected != nil) != !p.DisconnectedAt.IsZero() {
					t.Errorf("platform %s of %s: active %v ext %q disconnected %v, want %+v", p.Platform, id, active, ext, disconnected, p)
				}
			}
			for _, u := range c.Users {
				var username, readable, avatar string
				var admin bool
				if err := pool.QueryRow(ctx, `SELECT username, readable_name, avatar, is_admin FROM community_users WHERE id = $1 AND community_id = $2`,
					u.ID, id).Scan(&username, &readable, &avatar, &admin); err != nil {
					t.Fatalf("user %s: %v", u.ID, err)
				}
				if username != u.Username || readable != u.ReadableName || avatar != u.Avatar || admin != u.IsAdmin {
					t.Errorf("user %s = %q %q %q %v, want %+v", u.ID, username, readable, avatar, admin, u)
				}
				if n := mustCount(t, pool, `SELECT count(*) FROM user_identities WHERE user_id = $1`, u.ID); n != len(u.LinkedIdentities) {
					t.Errorf("user %s has %d identity links, want %v", u.ID, n, u.LinkedIdentities)
				}
			}
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM community_users`); n != 5+2+3+1 {
			t.Errorf("%d users, want 11", n)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM user_identities WHERE user_id = 'c1-w1' AND linked_user_id = 'c1-u1'`); n != 1 {
			t.Errorf("link c1-w1 -> c1-u1 missing")
		}
	})

	t.Run("roles", func(t *testing.T) {
		for id, c := range b.communities {
			if n := mustCount(t, pool, `SELECT count(*) FROM roles WHERE community_id = $1`, id); n != len(c.Roles) {
				t.Errorf("%s has %d roles, want %d", id, n, len(c.Roles))
			}
			for _, role := range c.Roles {
				var perms []string
				if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(permission ORDER BY permission), '{}') FROM role_permissions WHERE community_id = $1 AND role = $2`,
					id, role.Name).Scan(&perms); err != nil {
					t.Fatal(err)
				}
				if strings.Join(perms, ",") != strings.Join(permissionTexts(role.Permissions), ",") {
					t.Errorf("role %s of %s has permissions %v, want %v", role.Name, id, perms, role.Permissions)
				}
			}
			for _, u := range c.Users {
				var roles []string
				if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(role ORDER BY role), '{}') FROM user_roles WHERE community_id = $1 AND user_id = $2`,
					id, u.ID).Scan(&roles); err != nil {
					t.Fatal(err)
				}
				if strings.Join(roles, ",") != strings.Join(u.Roles, ",") {
					t.Errorf("user %s has roles %v, want %v", u.ID, roles, u.Roles)
				}
			}
		}
		// moderator was renamed steward: its holders kept it under the new name; temp was
		// deleted with its holders' grants.
		if n := mustCount(t, pool, `SELECT count(*) FROM user_roles WHERE role = 'steward'`); n != 2 {
			t.Errorf("%d stewards, want 2", n)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM user_roles WHERE role IN ('moderator', 'temp')`) +
			mustCount(t, pool, `SELECT count(*) FROM role_permissions WHERE community_id = 'c1' AND role IN ('moderator', 'temp')`); n != 0 {
			t.Errorf("%d rows of renamed or deleted roles remain", n)
		}
	})

	t.Run("documents", func(t *testing.T) {
		for id, c := range b.communities {
			for _, d := range c.Docs {
				var name, text string
				var active bool
				var updated time.Time
				if err := pool.QueryRow(ctx, `SELECT name, text, active, updated_at FROM documents WHERE id = $1 AND community_id = $2`,
					d.ID, id).Scan(&name, &text, &active, &updated); err != nil {
					t.Fatalf("document %s: %v", d.ID, err)
				}
				if name != d.Name || text != d.Text || active != d.Active || !updated.Equal(d.UpdatedAt) {
					t.Errorf("document %s = %q %q active %v updated %v, want %+v", d.ID, name, text, active, updated, d)
				}
			}
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM documents WHERE id = 'doc-coc' AND active AND text = 'Be kind. Be brief.'`); n != 1 {
			t.Errorf("the recovered document is not active with its changed text")
		}
	})

	t.Run("policies", func(t *testing.T) {
		events := 0
		for _, c := range b.communities {
			for _, p := range c.Policies {
				var active bool
				var hash, desc string
				var version int
				if err := pool.QueryRow(ctx, `SELECT active, hash, version, description FROM policies WHERE id = $1`, p.ID).Scan(&active, &hash, &version, &desc); err != nil {
					t.Fatalf("policy %s: %v", p.ID, err)
				}
				if active != p.Active || hash != p.Hash || version != p.Version || desc != p.Description {
					t.Errorf("policy %s = active %v %s v%d %q, want active %v %s v%d %q", p.ID, active, hash, version, desc, p.Active, p.Hash, p.Version, p.Description)
				}
				// The last history row holds the current content and activity.
				var content []byte
				var vActive bool
				if err := pool.QueryRow(ctx, `SELECT content, active FROM policy_versions WHERE policy_id = $1 ORDER BY stream_version DESC LIMIT 1`,
					p.ID).Scan(&content, &vActive); err != nil {
					t.Fatal(err)
				}
				var spec domain.PolicySpec
				if err := jsonUnmarshal(content, &spec); err != nil {
					t.Fatal(err)
				}
				if spec.ContentHash() != p.Hash || vActive != p.Active {
					t.Errorf("policy %s: last version's content hashes to %s active %v, want %s active %v", p.ID, spec.ContentHash(), vActive, p.Hash, p.Active)
				}
			}
		}
		for _, typ := range []string{domain.EventPolicyAdded, domain.EventPolicyChanged, domain.EventPolicyRemoved, domain.EventPolicyRecovered} {
			events += b.counts[typ]
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM policy_versions`); n != events {
			t.Errorf("%d policy versions, want one per policy event: %d", n, events)
		}
		history := func(id string) string {
			var h []string
			if err := pool.QueryRow(ctx, `SELECT array_agg(change || ':' || version || ':' || active || ':' || action_id ORDER BY stream_version)
				FROM policy_versions WHERE policy_id = $1`, id).Scan(&h); err != nil {
				t.Fatal(err)
			}
			return strings.Join(h, " ")
		}
		for id, want := range map[string]string{
			"c1-const":    "added:1:true: removed:1:false: recovered:1:true:",
			"c1-expenses": "added:1:true: removed:1:false:",
			"c1-vote":     "added:1:true: changed:2:true: changed:3:true:a8",
		} {
			if got := history(id); got != want {
				t.Errorf("history of %s = %q, want %q", id, got, want)
			}
		}
	})

	t.Run("actions", func(t *testing.T) {
		for id, a := range b.actions {
			var status, reason, governing string
			var ids []string
			var reverted bool
			var filterErrors int
			if err := pool.QueryRow(ctx, `SELECT status, reason, governing_proposal_id, proposal_ids, reverted, jsonb_array_length(filter_errors)
				FROM actions WHERE id = $1`, id).Scan(&status, &reason, &governing, &ids, &reverted, &filterErrors); err != nil {
				t.Fatalf("action %s: %v", id, err)
			}
			want := a.Status
			if want == domain.ActionStatusProposed && a.Governed {
				want = actionStatusGoverned
			}
			if status != want || reason != a.Reason || governing != a.GoverningProposalID || strings.Join(ids, ",") != strings.Join(a.ProposalIDs, ",") ||
				reverted != a.Reverted || filterErrors != len(a.FilterErrors) {
				t.Errorf("action %s = %s %q governed by %q %v reverted %v filter errors %d, want %s %q %q %v %v %d", id, status, reason, governing, ids,
					reverted, filterErrors, want, a.Reason, a.GoverningProposalID, a.ProposalIDs, a.Reverted, len(a.FilterErrors))
			}
		}
		for id, want := range map[string]string{
			"a1": "executed:false", "a2": "rejected:true", "a3": "execution_failed:false", "a4": "rejected:false", "a5": "executed:false",
			"a6": "governed:false", "a7": "rejected:false", "a8": "executed:false", "a9": "reverted:true",
		} {
			if n := mustCount(t, pool, `SELECT count(*) FROM actions WHERE id = $1 AND status || ':' || reverted = $2`, id, want); n != 1 {
				t.Errorf("action %s is not %s", id, want)
			}
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM actions WHERE id = 'a9' AND filter_errors->0->>'error' = 'filter: division by zero'`); n != 1 {
			t.Errorf("a9's filter error is missing")
		}
	})

	t.Run("proposals", func(t *testing.T) {
		for id, p := range b.proposals {
			var status, reason, policyHash, post string
			var yes, no, total int
			var decided, next *time.Time
			var closed bool
			var data, vars string
			if err := pool.QueryRow(ctx, `SELECT status, reason, policy_hash, vote_post_id, yes_votes, no_votes, vote_count,
					decided_at, next_check_at, vote_closed, data::text, variables::text FROM proposals WHERE id = $1`, id).
				Scan(&status, &reason, &policyHash, &post, &yes, &no, &total, &decided, &next, &closed, &data, &vars); err != nil {
				t.Fatalf("proposal %s: %v", id, err)
			}
			if status != p.Status || reason != p.Reason || policyHash != p.PolicyHash || post != p.VotePostID || closed != p.VoteClosed {
				t.Errorf("proposal %s = %s %q %s post %q closed %v, want %s %q %s %q %v", id, status, reason, policyHash, post, closed,
					p.Status, p.Reason, p.PolicyHash, p.VotePostID, p.VoteClosed)
			}
			if yes != len(p.YesVotes()) || no != len(p.NoVotes()) || total != len(p.Votes) {
				t.Errorf("proposal %s counts yes %d no %d total %d, want %d %d %d", id, yes, no, total, len(p.YesVotes()), len(p.NoVotes()), len(p.Votes))
			}
			if (decided == nil) != p.DecidedAt.IsZero() || (decided != nil && !decided.Equal(p.DecidedAt)) {
				t.Errorf("proposal %s decided at %v, want %v", id, decided, p.DecidedAt)
			}
			if (next == nil) != p.NextCheckAt.IsZero() || (next != nil && !next.Equal(p.NextCheckAt)) {
				t.Errorf("proposal %s next check at %v, want %v", id, next, p.NextCheckAt)
			}
			if want := jsonText(t, p.Data); !jsonEqualText(t, data, want) {
				t.Errorf("proposal %s data %s, want %s", id, data, want)
			}
			if want := jsonText(t, p.Variables); !jsonEqualText(t, vars, want) {
				t.Errorf("proposal %s variables %s, want %s", id, vars, want)
			}
		}
		// p1: u1 no -> yes, u2 yes -> no -> yes, u3 yes. p5: a choice vote changed, a
		// number vote replaced by a boolean one.
		for _, c := range []struct {
			id             string
			yes, no, total int
		}{{"p1", 3, 0, 3}, {"p2", 0, 3, 3}, {"p5", 2, 0, 3}, {"p6", 1, 1, 2}} {
			if n := mustCount(t, pool, `SELECT count(*) FROM proposals WHERE id = $1 AND yes_votes = $2 AND no_votes = $3 AND vote_count = $4`,
				c.id, c.yes, c.no, c.total); n != 1 {
				t.Errorf("proposal %s does not count %d yes, %d no, %d in all", c.id, c.yes, c.no, c.total)
			}
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM proposals WHERE id = 'p6' AND governance_process->>'poll' = 'L-1'
			AND (answers->>'cred:Uc2-u1')::float = 12.5 AND next_check_at IS NOT NULL AND status = 'PROPOSED'`); n != 1 {
			t.Errorf("the pending proposal p6 lacks its process, answer or re-check")
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM proposals WHERE id = 'p1' AND data = '{"round": 2, "tally": {"votes": 6}}'::jsonb
			AND variables = '{"quorum": 3}'::jsonb AND notified`); n != 1 {
			t.Errorf("p1's data store, variables or notified flag are wrong")
		}
	})

	t.Run("votes", func(t *testing.T) {
		current := 0
		for id, p := range b.proposals {
			current += len(p.Votes)
			for _, v := range p.Votes {
				var kind string
				var bv *bool
				var choice *string
				var number *int64
				var cast time.Time
				if err := pool.QueryRow(ctx, `SELECT kind, boolean_value, choice, number_value, cast_at FROM votes WHERE proposal_id = $1 AND user_id = $2`,
					id, v.UserID).Scan(&kind, &bv, &choice, &number, &cast); err != nil {
					t.Fatalf("vote of %s on %s: %v", v.UserID, id, err)
				}
				ok := kind == v.Kind && cast.Equal(v.At)
				switch v.Kind {
				case domain.VoteBoolean:
					ok = ok && bv != nil && *bv == v.Boolean && choice == nil && number == nil
				case domain.VoteChoice:
					ok = ok && choice != nil && *choice == v.Choice && bv == nil && number == nil
				case domain.VoteNumber:
					ok = ok && number != nil && *number == int64(v.Number) && bv == nil && choice == nil
				}
				if !ok {
					t.Errorf("vote of %s on %s = %s %v %v %v at %v, want %+v", v.UserID, id, kind, bv, choice, number, cast, v)
				}
			}
			var hist []string
			if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(user_id || ':' || kind || ':' || coalesce(boolean_value::text, choice, number_value::text)
				ORDER BY stream_version), '{}') FROM vote_history WHERE proposal_id = $1`, id).Scan(&hist); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, v := range p.VoteHistory {
				val := fmt.Sprint(v.Boolean)
				switch v.Kind {
				case domain.VoteChoice:
					val = v.Choice
				case domain.VoteNumber:
					val = fmt.Sprint(v.Number)
				}
				want = append(want, v.UserID+":"+v.Kind+":"+val)
			}
			if strings.Join(hist, " ") != strings.Join(want, " ") {
				t.Errorf("vote history of %s = %v, want %v", id, hist, want)
			}
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM votes`); n != current {
			t.Errorf("%d current votes, want %d", n, current)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM vote_history`); n != b.counts[domain.EventVoteCast] {
			t.Errorf("%d votes in history, want one per VoteCast: %d", n, b.counts[domain.EventVoteCast])
		}
	})

	t.Run("effects", func(t *testing.T) {
		n := 0
		check := func(stream string, effects map[string]domain.Effect) {
			for _, e := range effects {
				n++
				var status, errText, purpose string
				var result *string
				var finished *time.Time
				if err := pool.QueryRow(ctx, `SELECT status, error, purpose, result::text, finished_at FROM effects WHERE stream = $1 AND id = $2`,
					stream, e.ID).Scan(&status, &errText, &purpose, &result, &finished); err != nil {
					t.Fatalf("effect %s: %v", e.ID, err)
				}
				if status != e.Status || errText != e.Error || purpose != e.Purpose || (finished != nil) != e.Done() ||
					(result != nil) != (e.Status == domain.EffectStatusCompleted) {
					t.Errorf("effect %s = %s %q %s result %v finished %v, want %+v", e.ID, status, errText, purpose, result, finished, e)
				}
				if result != nil && !jsonEqualText(t, *result, jsonText(t, e.Result)) {
					t.Errorf("effect %s result %s, want %v", e.ID, *result, e.Result)
				}
			}
		}
		for id, p := range b.proposals {
			check(domain.ProposalStream(id), p.Effects)
		}
		for id, a := range b.actions {
			check(domain.ActionStream(id), a.Effects)
		}
		if got := mustCount(t, pool, `SELECT count(*) FROM effects`); got != n || n != b.counts[domain.EventEffectRequested] {
			t.Errorf("%d effects, want %d (%d requested)", got, n, b.counts[domain.EventEffectRequested])
		}
		if got := mustCount(t, pool, `SELECT count(*) FROM effects WHERE status = 'failed' AND error = 'channel_not_found'`); got != 2 {
			t.Errorf("%d failed effects, want 2", got)
		}
		if got := mustCount(t, pool, `SELECT count(*) FROM effects WHERE action_id = 'a9' AND proposal_id = '' AND status = 'completed'`); got != 1 {
			t.Errorf("the permission gate's revert of a9 is missing")
		}
	})

	t.Run("evaluation_logs", func(t *testing.T) {
		if n := mustCount(t, pool, `SELECT count(*) FROM evaluation_logs`); n != b.counts[domain.EventProposalEvaluated] {
			t.Errorf("%d evaluation logs, want one per ProposalEvaluated: %d", n, b.counts[domain.EventProposalEvaluated])
		}
		for id, p := range b.proposals {
			if n := mustCount(t, pool, `SELECT count(*) FROM evaluation_logs WHERE proposal_id = $1`, id); n != p.Evaluations {
				t.Errorf("proposal %s has %d evaluation logs, want %d", id, n, p.Evaluations)
			}
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM evaluation_logs WHERE proposal_id = 'p1' AND block = 'notify'
			AND logs = '[{"level": "info", "message": "vote started for a1"}]'::jsonb`); n != 1 {
			t.Errorf("p1's notify log lines are missing")
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM evaluation_logs WHERE proposal_id = 'p2' AND block = 'check' AND result = 'FAILED'`); n != 1 {
			t.Errorf("p2's failing check is missing")
		}
	})
}

// TestRebuildEquality projects the log while it is written, in small batches, then replays
// it whole: the tables must come out identical.
func TestRebuildEquality(t *testing.T) {
	pool, store := newTestDB(t)
	ctx := context.Background()
	live := NewRunner(store, pool, 7, nil, All()...)
	b := newLogBuilder(t, store)
	appends := 0
	b.afterAppend = func() {
		appends++
		if appends%5 == 0 {
			if _, err := live.CatchUp(ctx, nil); err != nil {
				t.Fatalf("catch up while writing: %v", err)
			}
		}
	}
	writeScenario(b)
	mustCatchUp(t, live, pool)
	incremental := dump(t, pool)
	if incremental["vote_history"] == "[]" || incremental["policies"] == "[]" {
		t.Fatal("the incremental projection is empty")
	}

	if n := mustReplay(t, NewRunner(store, pool, 10_000, nil, All()...), pool); n != b.total {
		t.Fatalf("replayed %d events, log has %d", n, b.total)
	}
	mustEqualDumps(t, "replay vs incremental", dump(t, pool), incremental)
	t.Logf("%d events in %d appends", b.total, appends)
}

var errCrash = errors.New("simulated crash")

// TestCrashResume kills a batch after the projectors' statements ran, before the commit;
// a fresh runner resumes after the last committed batch and ends where a clean replay
// does, without applying anything twice.
func TestCrashResume(t *testing.T) {
	pool, store := newTestDB(t)
	ctx := context.Background()
	b := newLogBuilder(t, store)
	writeScenario(b)
	waitReadable(t, pool)

	crashing := NewRunner(store, pool, 7, nil, All()...)
	batches := 0
	crashing.afterBatch = func(ctx context.Context, n int) error {
		batches++
		if batches == 3 {
			return errCrash
		}
		return nil
	}
	if _, err := crashing.CatchUp(ctx, nil); !errors.Is(err, errCrash) {
		t.Fatalf("catch up = %v, want the crash", err)
	}
	first, err := store.ReadAll(ctx, eventstore.Start, 14)
	if err != nil || len(first) != 14 {
		t.Fatalf("read the first 14 events: %d, %v", len(first), err)
	}
	if cp, err := crashing.Checkpoint(ctx); err != nil || cp != first[13].Position {
		t.Fatalf("checkpoint after the crash = %s, %v; want the end of batch 2: %s", cp, err, first[13].Position)
	}

	resumed := NewRunner(store, pool, 7, nil, All()...)
	mustCatchUp(t, resumed, pool)
	afterCrash := dump(t, pool)
	for table, typ := range map[string]string{
		"vote_history":    domain.EventVoteCast,
		"evaluation_logs": domain.EventProposalEvaluated,
		"effects":         domain.EventEffectRequested,
	} {
		if n := mustCount(t, pool, `SELECT count(*) FROM `+table); n != b.counts[typ] {
			t.Errorf("%s has %d rows, want one per %s: %d", table, n, typ, b.counts[typ])
		}
	}
	mustReplay(t, NewRunner(store, pool, 1000, nil, All()...), pool)
	mustEqualDumps(t, "resumed after crash vs replay", afterCrash, dump(t, pool))
}

// TestProjectorAddedLater runs some projectors over the log first; a runner with all of
// them then brings the new ones up from the start and the others only from where they were.
func TestProjectorAddedLater(t *testing.T) {
	pool, store := newTestDB(t)
	b := newLogBuilder(t, store)
	writeScenario(b)

	isLate := map[string]bool{"votes": true, "evaluation_logs": true}
	var early []Projector
	for _, p := range All() {
		if !isLate[p.Name()] {
			early = append(early, p)
		}
	}
	mustCatchUp(t, NewRunner(store, pool, 7, nil, early...), pool)
	firstPart := b.total

	// More log, then every projector.
	users := []string{"c2-u1", "c2-u2", "c2-u3"}
	for i := range 3 {
		id := fmt.Sprintf("late%d", i)
		b.governedAction(lifecycle{
			community: "c2", actionID: "a-" + id, proposalID: "p-" + id, policyID: "c2-vote", initiator: users[i], pass: i != 1,
			votes: []vote{{user: users[0], yes: true}, {user: users[1], yes: false}, {user: users[1], yes: true}},
		})
	}
	counts := map[string]*atomic.Int64{}
	var all []Projector
	for _, p := range All() {
		counts[p.Name()] = &atomic.Int64{}
		all = append(all, countingProjector{Projector: p, n: counts[p.Name()]})
	}
	mustCatchUp(t, NewRunner(store, pool, 7, nil, all...), pool)
	for name, n := range counts {
		want := b.total - firstPart
		if isLate[name] {
			want = b.total
		}
		if int(n.Load()) != want {
			t.Errorf("projector %s was given %d events, want %d", name, n.Load(), want)
		}
	}
	caughtUp := dump(t, pool)
	if n := mustCount(t, pool, `SELECT count(*) FROM vote_history`); n != b.counts[domain.EventVoteCast] {
		t.Errorf("%d votes in history, want %d", n, b.counts[domain.EventVoteCast])
	}
	mustReplay(t, NewRunner(store, pool, 1000, nil, All()...), pool)
	mustEqualDumps(t, "added later vs replay", caughtUp, dump(t, pool))
}

// TestRunLive follows the log: events appended after Run started reach the tables.
func TestRunLive(t *testing.T) {
	pool, store := newTestDB(t)
	b := newLogBuilder(t, store)
	users, pol := b.setupCommunity("c1", 3)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	r := NewRunner(store, pool, 100, nil, All()...)
	go func() { done <- r.Run(ctx) }()

	b.governedAction(lifecycle{
		community: "c1", actionID: "a1", proposalID: "p1", policyID: pol, initiator: users[0], pass: true,
		votes: []vote{{user: users[0], yes: true}, {user: users[1], yes: false}, {user: users[1], yes: true}},
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if mustCount(t, pool, `SELECT count(*) FROM proposals WHERE id = 'p1' AND status = 'PASSED' AND yes_votes = 2`) == 1 &&
			mustCount(t, pool, `SELECT count(*) FROM actions WHERE id = 'a1' AND status = 'executed'`) == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the live events never reached the tables")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}

func TestNetDataOps(t *testing.T) {
	set := func(k string, v any) domain.DataOp { return domain.DataOp{Op: domain.DataSet, Key: k, Value: v} }
	remove := func(k string) domain.DataOp { return domain.DataOp{Op: domain.DataRemove, Key: k} }
	for _, c := range []struct {
		name        string
		ops         []domain.DataOp
		wantRemoved string
		wantSet     string
	}{
		{"sets only", []domain.DataOp{set("a", 1), set("b", "x")}, "", `{"a":1,"b":"x"}`},
		{"last set wins", []domain.DataOp{set("a", 1), set("a", 2)}, "", `{"a":2}`},
		{"set then remove", []domain.DataOp{set("a", 1), remove("a")}, "a", `{}`},
		{"remove then set", []domain.DataOp{remove("a"), set("a", 3)}, "", `{"a":3}`},
		{"removes keep first order", []domain.DataOp{remove("b"), remove("a"), remove("b")}, "b,a", `{}`},
		{"null value is set", []domain.DataOp{set("a", nil)}, "", `{"a":null}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			removed, s := netDataOps(c.ops)
			if got := strings.Join(removed, ","); got != c.wantRemoved {
				t.Errorf("removed = %q, want %q", got, c.wantRemoved)
			}
			if got := jsonText(t, s); got != c.wantSet {
				t.Errorf("set = %s, want %s", got, c.wantSet)
			}
		})
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// jsonText encodes v as the tables hold it (an empty object for a nil map).
func jsonText(tb testing.TB, v any) string {
	tb.Helper()
	b, err := jsonArg(v, "{}")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// jsonEqualText compares two JSON texts by value.
func jsonEqualText(tb testing.TB, a, b string) bool {
	tb.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		tb.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		tb.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}
