package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
)

// choose sets a select to value the way a person's choice does (React hears a change).
func choose(selector, value string) chromedp.Action[chromedp.Void] {
	sel, _ := json.Marshal(selector)
	opt, _ := json.Marshal(selector + ` option[value="` + value + `"]`)
	return chromedp.Steps(
		until(`document.querySelector(`+string(opt)+`) !== null`),
		chromedp.SetValue(chromedp.CSS(selector), value),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+string(sel)+`).dispatchEvent(new Event("change", {bubbles: true}))`),
	)
}

// check ticks the checkbox labelled label (clicked from the page: long checklists move
// while the page settles).
func check(label string) chromedp.Action[chromedp.Void] {
	sel, _ := json.Marshal(`input[type=checkbox][aria-label="` + label + `"]`)
	return chromedp.Steps(
		until(`document.querySelector(`+string(sel)+`) !== null`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+string(sel)+`).click()`),
		until(`document.querySelector(`+string(sel)+`).checked`),
	)
}

// The dashboard's pages, each against the real server: the propose page's forms built from
// the action types, the roles page's permission checklist and member roles, documents,
// logs, integrations, the audit's verify and export, and a choice vote.
func TestDashboardPages(t *testing.T) {
	browser := newBrowser(t)
	cfg := testConfig(t)
	cfg.GraphQL = true
	key := make([]byte, 32)
	rand.Read(key)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key) // connections with secrets
	app, stop := startApp(t, cfg)
	defer stop()
	base := "http://" + app.listener.Addr().String()
	alice := browserTab(t, browser)
	run(t, alice, "register", chromedp.Navigate(base+"/"), signIn("alice", "alice-secret", true), waitText("Your communities"))
	asAlice := gqlSession(t, base, "alice", "alice-secret")
	// The testing kit passes every constitution action at once.
	id := dig(asAlice(`mutation { createCommunity(input: {name: "Orchard", kit: "testing"}) { id } }`, nil), "createCommunity", "id").(string)
	rolePermissions := func(role string) []string {
		t.Helper()
		data := asAlice(`query($id: ID!) { community(id: $id) { roles(first: 100) { edges { node { name permissions } } } } }`, map[string]any{"id": id})
		for _, e := range dig(data, "community", "roles", "edges").([]any) {
			if dig(e, "node", "name") == role {
				var out []string
				for _, p := range dig(e, "node", "permissions").([]any) {
					out = append(out, p.(string))
				}
				return out
			}
		}
		return nil
	}
	propose := func(community, typ string, payload any) (string, string) {
		t.Helper()
		b, _ := json.Marshal(payload)
		data := asAlice(`mutation($in: ProposeConstitutionActionInput!) { proposeConstitutionAction(input: $in) { action { status reason } proposal { id status } } }`,
			map[string]any{"in": map[string]any{"communityId": community, "type": typ, "payloadJSON": string(b)}})
		p, ok := dig(data, "proposeConstitutionAction", "proposal").(map[string]any)
		if !ok {
			t.Fatalf("%s was not proposed: %v", typ, dig(data, "proposeConstitutionAction", "action"))
		}
		return p["id"].(string), p["status"].(string)
	}

	t.Run("propose a role through the form built from its fields", func(t *testing.T) {
		run(t, alice, "fill the generated form",
			chromedp.Navigate(base+"/c/"+id+"/propose"),
			choose(`select[name=type]`, "policykitaddrole"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=field-name]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=field-name]`), "Picker"),
			chromedp.SendKeys(chromedp.CSS(`textarea[name=field-description]`), "Picks the fruit"),
			check("propose:policykitaddcommunitydoc"),
			check("vote:constitution:*"),
		)
		screenshot(t, alice, "propose-form")
		var raw string
		run(t, alice, "the raw JSON fallback shows the same payload",
			chromedp.Evaluate[chromedp.Void](`document.querySelector("input[name=raw]").click()`),
			chromedp.WaitVisible(chromedp.CSS(`textarea[name=payload]`)),
			into(&raw, chromedp.Value(chromedp.CSS(`textarea[name=payload]`))),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("input[name=raw]").click()`),
			chromedp.WaitVisible(chromedp.CSS(`input[name=field-name]`)),
		)
		var payload struct {
			Name        string   `json:"name"`
			Description string   `json:"description"`
			Permissions []string `json:"permissions"`
		}
		if err := json.Unmarshal([]byte(raw), &payload); err != nil || payload.Name != "Picker" || len(payload.Permissions) != 2 {
			t.Fatalf("the raw payload: %s (%v)", raw, err)
		}
		run(t, alice, "propose it and open the proposal",
			chromedp.Click(chromedp.CSS(`form[aria-label="Propose an action"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=outcome] a`)),
			chromedp.Click(chromedp.CSS(`[data-testid=outcome] a`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=proposal]`)),
			waitText("policykitaddrole"),
			waitText("Picker"),
		)
		if got := strings.Join(rolePermissions("Picker"), " "); got != "propose:policykitaddcommunitydoc vote:constitution:*" {
			t.Fatalf("Picker's permissions: %q", got)
		}
		// A member picker for user ids: alice takes the role she proposed.
		run(t, alice, "give alice Picker through the generated form",
			chromedp.Navigate(base+"/c/"+id+"/propose"),
			choose(`select[name=type]`, "policykitadduserrole"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=field-role]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=field-role]`), "Picker"),
			chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("[data-testid=field-user_ids] label")].find(l => l.innerText.includes("alice")).querySelector("input").click()`),
			chromedp.Click(chromedp.CSS(`form[aria-label="Propose an action"] button[type=submit]`)),
			waitText("policykitadduserrole: executed"),
		)
		data := asAlice(`query($id: ID!) { community(id: $id) { members(first: 10) { edges { node { username roles } } } } }`, map[string]any{"id": id})
		var aliceRoles []any
		for _, e := range dig(data, "community", "members", "edges").([]any) {
			if dig(e, "node", "username") == "alice" {
				aliceRoles = dig(e, "node", "roles").([]any)
			}
		}
		if !slices.Contains(aliceRoles, any("Picker")) {
			t.Fatalf("alice's roles: %v", aliceRoles)
		}
	})

	t.Run("the roles page adds a role with two permissions from the catalogue", func(t *testing.T) {
		run(t, alice, "propose a role",
			chromedp.Navigate(base+"/c/"+id+"/roles"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=rolename]`)),
			waitText("Wildcards"),
			chromedp.SendKeys(chromedp.CSS(`input[name=rolename]`), "Pruner"),
			chromedp.SendKeys(chromedp.CSS(`input[name=roledescription]`), "Prunes the trees"),
			check("execute:platform:*"),
			check("view:policykitaddrole"),
			clickText("Propose the role"),
			waitText("proposal PASSED"),
			until(`[...document.querySelectorAll("[data-testid=roles] li")].some(li => li.innerText.includes("Pruner") && li.innerText.includes("execute:platform:*") && li.innerText.includes("view:policykitaddrole"))`),
		)
		screenshot(t, alice, "roles")
	})

	t.Run("the members page gives a member a role through a proposal", func(t *testing.T) {
		bobID, err := engine.EnsureUser(context.Background(), app.store, id, domain.PlatformWeb, "bob", engine.Meta{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		const bobRow = `[...document.querySelectorAll("table tbody tr")].find(tr => tr.innerText.includes("bob"))`
		run(t, alice, "give bob Integration Admin",
			chromedp.Navigate(base+"/c/"+id+"/roles"),
			choose(`select[name=member]`, bobID),
			choose(`select[name=memberrole]`, "Integration Admin"),
			clickText("Propose giving the role"),
			until(bobRow+` !== undefined && `+bobRow+`.innerText.includes("Integration Admin")`),
		)
	})

	t.Run("documents are changed and deleted", func(t *testing.T) {
		if _, status := propose(id, "policykitaddcommunitydoc", map[string]any{"name": "Harvest rules", "text": "Pick only ripe fruit."}); status != "PASSED" {
			t.Fatalf("adding the document: %s", status)
		}
		const doc = `[...document.querySelectorAll("[data-testid=documents] li")].find(li => li.innerText.includes("Harvest rules"))`
		run(t, alice, "change it",
			chromedp.Navigate(base+"/c/"+id+"/documents"),
			waitText("Pick only ripe fruit."),
			clickText("Change"),
			until(`document.querySelector("textarea[name=doctext]").value === "Pick only ripe fruit."`),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("textarea[name=doctext]").select()`),
			chromedp.SendKeys(chromedp.CSS(`textarea[name=doctext]`), "Pick ripe fruit, leave the rest."),
			clickText("Propose the change"),
			until(doc+`.innerText.includes("Pick ripe fruit, leave the rest.")`),
		)
		run(t, alice, "delete it",
			clickText("Propose deleting"),
			until(doc+`.innerText.includes("deleted")`),
			until(doc+`.innerText.includes("Propose recovering")`),
		)
	})

	t.Run("integrations show a setting and a secret's name, never its value", func(t *testing.T) {
		const secret = "s3cret-value-never-shown"
		run(t, alice, "connect discourse",
			chromedp.Navigate(base+"/c/"+id+"/integrations"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=platform]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=platform]`), "discourse"),
			chromedp.SendKeys(chromedp.CSS(`input[name=external_id]`), "https://forum.example"),
			chromedp.SendKeys(chromedp.CSS(`input[name=settings-key]`), "api_username"),
			chromedp.SendKeys(chromedp.CSS(`input[name=settings-value]`), "system"),
			chromedp.SendKeys(chromedp.CSS(`input[name=secrets-key]`), "api_key"),
			chromedp.SendKeys(chromedp.CSS(`input[name=secrets-value]`), secret),
			clickText("Propose connecting"),
			waitText("proposal PASSED"),
			until(`[...document.querySelectorAll("[data-testid=platforms] tr")].some(tr => tr.innerText.includes("discourse") && tr.innerText.includes("api_username") && tr.innerText.includes("system") && tr.innerText.includes("api_key"))`),
		)
		var html string
		var inputs bool
		run(t, alice, "read the page",
			into(&html, chromedp.Evaluate[string](`document.documentElement.outerHTML`)),
			into(&inputs, chromedp.Evaluate[bool](`[...document.querySelectorAll("input")].some(i => i.value.includes("s3cret"))`)),
		)
		if strings.Contains(html, secret) || inputs {
			t.Fatal("the page shows the secret's value")
		}
		run(t, alice, "reload", chromedp.Navigate(base+"/c/"+id+"/integrations"), waitText("api_key"), into(&html, chromedp.Evaluate[string](`document.documentElement.outerHTML`)))
		if strings.Contains(html, secret) {
			t.Fatal("the reloaded page shows the secret's value")
		}
	})

	t.Run("the audit verifies every decision and exports the log", func(t *testing.T) {
		var progress string
		run(t, alice, "verify",
			chromedp.Navigate(base+"/c/"+id+"/audit"),
			chromedp.WaitVisible(chromedp.CSS(`[aria-labelledby=verify-h] button`)),
			chromedp.Click(chromedp.CSS(`[aria-labelledby=verify-h] button`)),
			until(`document.querySelector("[data-testid=verify-progress]") !== null && document.querySelector("[data-testid=verify-progress]").innerText.includes("comes out the same") || document.body.innerText.includes(" differ.")`),
			into(&progress, chromedp.Text(chromedp.CSS(`[data-testid=verify-progress]`))),
		)
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(progress), "%d of", &n); err != nil || n == 0 || !strings.Contains(progress, fmt.Sprintf("%d of %d proposals: every decision comes out the same.", n, n)) {
			t.Fatalf("verify: %q", progress)
		}
		// The export is a download: the tab's browser context saves it in a folder of the test's.
		dir := t.TempDir()
		run(t, alice, "export",
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				info, err := chromedp.CallBrowser(ctx, target.GetTargetInfo, target.GetTargetInfoParams{TargetID: tg.TargetID})
				if err != nil {
					return err
				}
				_, err = chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
					Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, BrowserContextID: info.TargetInfo.BrowserContextID,
				})
				return err
			}),
			clickText("Export as JSON lines"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=export-link]`)),
		)
		var body string
		for deadline := time.Now().Add(10 * time.Second); body == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			files, _ := os.ReadDir(dir)
			for _, f := range files {
				if b, err := os.ReadFile(filepath.Join(dir, f.Name())); err == nil && strings.HasSuffix(string(b), "\n") {
					body = string(b)
				}
			}
		}
		lines := strings.Split(strings.TrimSpace(body), "\n")
		types := map[string]bool{}
		for _, l := range lines {
			var e struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal([]byte(l), &e); err != nil || e.Type == "" {
				t.Fatalf("an exported line: %q (%v)", l, err)
			}
			types[e.Type] = true
		}
		if len(lines) < 10 || !strings.Contains(body, "Harvest rules") || !strings.Contains(body, "Pruner") || strings.Contains(body, "s3cret-value") {
			t.Fatalf("the export (%d lines, types %v) lacks the community's events", len(lines), types)
		}
	})

	// A second community whose documents are decided by a choice vote, its policy logging
	// at two levels.
	vid := dig(asAlice(`mutation { createCommunity(input: {name: "Vineyard", kit: "testing"}) { id } }`, nil), "createCommunity", "id").(string)
	if _, status := propose(vid, "policykitaddconstitutionpolicy", map[string]any{
		"name": "Adopt or reject", "description": "A document is adopted by choice", "action_types": []string{"policykitaddcommunitydoc"}, "priority": -1,
		"filter": "return True\n", "initialize": "pass\n", "success": "pass\n", "fail": "pass\n",
		"notify": "web.initiate_vote(text='Adopt it?', options=['adopt', 'reject'])\n",
		"check":  "logger.debug('counting choices')\nlogger.warning('not adopted yet')\nif proposal.get_choice_votes(value='adopt').count() >= 1:\n    return PASSED\nif proposal.get_choice_votes(value='reject').count() >= 1:\n    return FAILED\nreturn PROPOSED\n",
	}); status != "PASSED" {
		t.Fatalf("adding the choice policy: %s", status)
	}

	t.Run("the live event log shows a new event without reloading", func(t *testing.T) {
		run(t, alice, "open the log",
			chromedp.Navigate(base+"/c/"+vid+"/logs"),
			until(`document.querySelectorAll("[data-testid=events] tbody tr").length > 0`),
		)
		// The page's query is done; a new event can only come through its subscription,
		// which may still be connecting: a missed event is followed by another.
		for i := 1; ; i++ {
			name := fmt.Sprintf("Live notice %d", i)
			propose(vid, "policykitaddcommunitydoc", map[string]any{"name": name, "text": "Shown as it happens."})
			ctx, cancel := context.WithTimeout(alice, 3*time.Second)
			err := chromedp.Do(ctx, until(`document.querySelector("[data-testid=events]").innerText.includes(`+fmt.Sprintf("%q", name)+`) && document.body.innerText.includes("events, live")`))
			cancel()
			if err == nil {
				break
			}
			if i == 5 {
				t.Fatalf("no new event shown live after %d tries: %v", i, err)
			}
		}
	})

	t.Run("the policy logs narrow by level", func(t *testing.T) {
		propose(vid, "policykitaddcommunitydoc", map[string]any{"name": "Logged", "text": "Its check logs."})
		var levels []string
		run(t, alice, "warnings only",
			chromedp.Navigate(base+"/c/"+vid+"/logs"),
			waitText("counting choices"), waitText("not adopted yet"),
			choose(`select[name=level]`, "warning"),
			until(`!document.querySelector("[data-testid=evaluation-logs]").innerText.includes("counting choices") && document.querySelector("[data-testid=evaluation-logs]").innerText.includes("not adopted yet")`),
			into(&levels, chromedp.Evaluate[[]string](`[...document.querySelectorAll("[data-testid=evaluation-logs] tbody tr td:nth-child(2)")].map(td => td.innerText)`)),
		)
		for _, l := range levels {
			if l != "warning" {
				t.Fatalf("levels shown for warning: %q", levels)
			}
		}
	})

	t.Run("a choice vote offers its options and records the one clicked", func(t *testing.T) {
		pid, status := propose(vid, "policykitaddcommunitydoc", map[string]any{"name": "Pruning guide", "text": "Cut in winter."})
		if status != "PROPOSED" {
			t.Fatalf("the document's proposal: %s", status)
		}
		var buttons []string
		run(t, alice, "open the proposal",
			chromedp.Navigate(base+"/proposals/"+pid),
			chromedp.WaitVisible(chromedp.CSS(`[role=group][aria-label="Your vote"] button`)),
			into(&buttons, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[role=group][aria-label="Your vote"] button')].map(b => b.innerText)`)),
		)
		if strings.Join(buttons, ",") != "adopt,reject" {
			t.Fatalf("the vote's buttons: %q, want adopt and reject", buttons)
		}
		run(t, alice, "vote adopt",
			clickText("adopt"),
			until(`document.querySelector("h1 [data-testid=status]").innerText === "PASSED"`),
			waitText("adopt: 1"),
		)
		var votes string
		run(t, alice, "the votes", into(&votes, chromedp.Text(chromedp.CSS(`[aria-labelledby=vote-h] table`))))
		if !strings.Contains(votes, "alice") || !strings.Contains(votes, "adopt") {
			t.Fatalf("the recorded votes: %q", votes)
		}
	})
}
