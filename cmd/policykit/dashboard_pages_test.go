package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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
}
