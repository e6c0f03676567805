package graph_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph"
)

// noisyRenameVote is garden's vote policy with a notify block that posts to Slack, so that
// a renaming proposal requests two effects: the post, and the rename once it passes.
const noisyRenameVote = `{"policy_id": "rename-vote", "name": "Vote on renames", "description": "", "action_types": ["slackrenameconversation"],
 "filter": "return True\n", "initialize": "pass\n", "success": "pass\n", "fail": "pass\n",
 "notify": "slack.post_message(text=\"Vote on the rename\", channel=\"C1\")\n",
 "check": "if proposal.get_yes_votes().count() >= 1:\n    return PASSED\nreturn PROPOSED\n"}`

// rawConn is a connection with its nodes as JSON.
type rawConn struct {
	Edges []struct {
		Cursor string
		Node   json.RawMessage
	}
	PageInfo struct {
		HasNextPage bool
		EndCursor   *string
	}
}

// Every list that grows is a connection whose pages hold at most graph.MaxPageSize items:
// walking it a page of one at a time gives what one big page gives, in the same order, and
// a larger page, an empty one or a cursor the API did not give out is INVALID.
func TestEveryGrowingListPagesUpToMaxPageSize(t *testing.T) {
	e := newEnv(t, nil)
	e.mustConstitution(t, domain.ActionAddRole, `{"name": "Gardener", "description": "Tends", "permissions": []}`)
	e.mustConstitution(t, domain.ActionAddCommunityDoc, `{"name": "Charter", "text": "Be kind."}`)
	e.mustConstitution(t, domain.ActionAddCommunityDoc, `{"name": "Rules", "text": "No weeds."}`)
	e.mustConstitution(t, domain.ActionChangePlatformPolicy, noisyRenameVote)
	p := e.mustPropose(t, "alice", "veggies")
	var voted struct {
		CastVote struct{ Proposal struct{ Status string } }
	}
	e.mustQueryAs(t, "bob", &voted, `mutation($p: ID!) { castVote(input: {communityId: "garden", proposalId: $p, value: "yes"}) { proposal { status } } }`, client.Var("p", p))
	if voted.CastVote.Proposal.Status != "PASSED" {
		t.Fatalf("after bob's yes: %+v", voted)
	}
	var tok struct{ CreateAPIToken struct{ Secret string } }
	e.mustQuery(t, &tok, `mutation { createApiToken(name: "second") { secret } }`)
	asOf := `, asOf: "` + time.Now().UTC().Format(time.RFC3339Nano) + `"`

	// Each query takes $first and $after; the connection is at the path.
	for name, c := range map[string]struct {
		query string
		path  []string
	}{
		"members":             {`community(id: "garden") { members(first: $first, after: $after) { %s node { id } } %s } }`, []string{"community", "members"}},
		"members as of":       {`community(id: "garden"` + asOf + `) { members(first: $first, after: $after) { %s node { id } } %s } }`, []string{"community", "members"}},
		"roles":               {`community(id: "garden") { roles(first: $first, after: $after) { %s node { name } } %s } }`, []string{"community", "roles"}},
		"roles as of":         {`community(id: "garden"` + asOf + `) { roles(first: $first, after: $after) { %s node { name } } %s } }`, []string{"community", "roles"}},
		"documents":           {`community(id: "garden") { documents(first: $first, after: $after) { %s node { id } } %s } }`, []string{"community", "documents"}},
		"documents as of":     {`community(id: "garden"` + asOf + `) { documents(first: $first, after: $after) { %s node { id } } %s } }`, []string{"community", "documents"}},
		"policies":            {`community(id: "garden") { policies(first: $first, after: $after) { %s node { id } } %s } }`, []string{"community", "policies"}},
		"policies as of":      {`community(id: "garden"` + asOf + `) { policies(first: $first, after: $after) { %s node { id } } %s } }`, []string{"community", "policies"}},
		"policy versions":     {`policy(id: "rename-vote") { versions(first: $first, after: $after) { %s node { version change } } %s } }`, []string{"policy", "versions"}},
		"effects":             {`proposal(id: "` + p + `") { effects(first: $first, after: $after) { %s node { id } } %s } }`, []string{"proposal", "effects"}},
		"evaluation logs":     {`proposal(id: "` + p + `") { evaluationLogs(first: $first, after: $after) { %s node { block result evaluatedAt } } %s } }`, []string{"proposal", "evaluationLogs"}},
		"the caller's tokens": {`me { apiTokens(first: $first, after: $after) { %s node { id } } %s } }`, []string{"me", "apiTokens"}},
	} {
		t.Run(name, func(t *testing.T) {
			query := `query($first: Int, $after: String) { ` + fmt.Sprintf(c.query, "edges { cursor", "pageInfo { hasNextPage endCursor }") + ` }`
			page := func(first int, after *string) rawConn {
				t.Helper()
				var data map[string]json.RawMessage
				e.mustQuery(t, &data, query, client.Var("first", first), client.Var("after", after))
				raw := data[c.path[0]]
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(raw, &obj); err != nil {
					t.Fatalf("%s: %v", raw, err)
				}
				var out rawConn
				if err := json.Unmarshal(obj[c.path[1]], &out); err != nil {
					t.Fatalf("%s: %v", obj[c.path[1]], err)
				}
				return out
			}
			all := page(graph.MaxPageSize, nil)
			if len(all.Edges) < 2 || all.PageInfo.HasNextPage {
				t.Fatalf("one page of %d: %d items (more: %v), want at least 2 and no more", graph.MaxPageSize, len(all.Edges), all.PageInfo.HasNextPage)
			}
			var walked []string
			var after *string
			for range len(all.Edges) + 1 {
				one := page(1, after)
				if len(one.Edges) != 1 || one.PageInfo.EndCursor == nil || *one.PageInfo.EndCursor != one.Edges[0].Cursor {
					t.Fatalf("a page of one after %v: %+v", after, one)
				}
				walked = append(walked, string(one.Edges[0].Node))
				if !one.PageInfo.HasNextPage {
					break
				}
				after = one.PageInfo.EndCursor
			}
			var want []string
			for _, ed := range all.Edges {
				want = append(want, string(ed.Node))
			}
			if strings.Join(walked, "\n") != strings.Join(want, "\n") {
				t.Errorf("pages of one:\n%s\nwant\n%s", strings.Join(walked, "\n"), strings.Join(want, "\n"))
			}

			wantCode(t, e.mustFail(t, query, map[string]any{"first": graph.MaxPageSize + 1}), "INVALID")
			wantCode(t, e.mustFail(t, query, map[string]any{"first": 0}), "INVALID")
			wantCode(t, e.mustFail(t, query, map[string]any{"first": 1, "after": "bm90IGEgY3Vyc29y"}), "INVALID")
		})
	}
}
