package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The policy editor: code with a syntax error shows the error at its line (in the editor's
// text and in the list under the block) and the policy cannot be proposed until it is fixed;
// a dry run of the draft shows each step of its scenario.
func TestDashboardPolicyEditor(t *testing.T) {
	browser := newBrowser(t)
	cfg := testConfig(t)
	cfg.GraphQL = true
	app, stop := startApp(t, cfg)
	defer stop()
	base := "http://" + app.listener.Addr().String()
	tab := browserTab(t, browser)
	run(t, tab, "register", chromedp.Navigate(base+"/"), signIn("alice", "alice-secret", true), waitText("Your communities"))
	as := gqlSession(t, base, "alice", "alice-secret")
	id := dig(as(`mutation { createCommunity(input: {name: "Orchard", kit: "testing"}) { id } }`, nil), "createCommunity", "id").(string)

	const propose = `[...document.querySelectorAll("button")].find(b => b.innerText === "Propose the policy")`
	t.Run("a policy with a syntax error shows the error at its line and cannot be saved", func(t *testing.T) {
		run(t, tab, "open the editor",
			chromedp.Navigate(base+"/c/"+id+"/policies/new"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=code-check] .cm-content`)),
			waitText("The code compiles."),
			chromedp.WaitVisible(chromedp.CSS(`input[type=checkbox][value=slackpostmessage]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=policyname]`), "Wait for it"),
		)
		// The check block is "return PROPOSED" and an empty second line: an unmatched
		// parenthesis goes there. (Typed without spaces: a space typed at the end of a line
		// reaches the editor as a non-breaking space, which is an error of its own.)
		run(t, tab, "type a syntax error on line 2",
			// Focused (not clicked: the page's layout shifts while the catalogue loads), the
			// cursor is at the start; down twice and to the end of the line.
			chromedp.Evaluate[chromedp.Void](`document.querySelector("[data-testid=code-check] .cm-content").focus()`),
			chromedp.KeyEvent(kb.ArrowDown+kb.ArrowDown+kb.End),
			chromedp.KeyEvent("return)"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=problems-check]`)),
			until(`document.querySelector("[data-testid=compile-status]").innerText.includes("1 compile error")`),
		)
		var problems string
		var marked, disabled bool
		run(t, tab, "read the error",
			into(&problems, chromedp.Text(chromedp.CSS(`[data-testid=problems-check]`))),
			// CodeMirror marks the problem in the text of the line itself.
			until(`document.querySelector("[data-testid=code-check] .cm-line:nth-child(2) .cm-lintRange-error, [data-testid=code-check] .cm-line:nth-child(2) .cm-lintPoint-error") !== null`),
			into(&marked, chromedp.Evaluate[bool](`document.querySelector("[data-testid=code-check] .cm-gutter-lint .cm-lint-marker-error") !== null`)),
			into(&disabled, chromedp.Evaluate[bool](propose+`.disabled`)),
		)
		if !strings.Contains(problems, "check, line 2") {
			t.Errorf("the problems under the check block: %q, want one at line 2", problems)
		}
		if !marked {
			t.Error("no error marker in the check block's gutter")
		}
		if !disabled {
			t.Error("the policy can be proposed with a syntax error")
		}
		screenshot(t, tab, "policy-editor-error")
		// Fixed, it can be proposed again.
		run(t, tab, "fix it",
			chromedp.KeyEvent(kb.Backspace),
			until(`document.querySelector("[data-testid=compile-status]").innerText === "The code compiles."`),
			until(`document.querySelector("[data-testid=problems-check]") === null`),
			until(`!(`+propose+`).disabled`),
		)
	})

	t.Run("a dry run shows its steps", func(t *testing.T) {
		run(t, tab, "open the editor",
			chromedp.Navigate(base+"/c/"+id+"/policies/new"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=scenario] .cm-content`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=policyname]`), "Wait for it"),
			chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "constitution"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("select[name=kind]").dispatchEvent(new Event("change", {bubbles: true}))`),
			chromedp.WaitVisible(chromedp.CSS(`input[type=checkbox][value=policykitaddcommunitydoc]`)),
			// Clicked from the page: the catalogue's list moves while the page settles.
			chromedp.Evaluate[chromedp.Void](`document.querySelector("input[type=checkbox][value=policykitaddcommunitydoc]").click()`),
			until(`document.querySelector("input[type=checkbox][value=policykitaddcommunitydoc]").checked`),
			// The example scenario proposes a document as the community's member.
			until(`document.querySelector("[data-testid=scenario]").innerText.includes("type: policykitaddcommunitydoc")`),
			waitText("The code compiles."),
			until(`[...document.querySelectorAll("button")].some(b => b.innerText === "Run the scenario" && !b.disabled)`),
			chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("button")].find(b => b.innerText === "Run the scenario").click()`),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=dry-run]`)),
		)
		var steps []string
		run(t, tab, "read the steps",
			into(&steps, chromedp.Evaluate[[]string](`[...document.querySelectorAll("[data-testid=dry-run] li.step")].map(li => li.innerText)`)),
		)
		screenshot(t, tab, "policy-editor-dry-run")
		if len(steps) != 3 {
			t.Fatalf("dry run steps: %q, want the scenario's three", steps)
		}
		for i, kind := range []string{"action", "vote", "advance"} {
			if !strings.Contains(steps[i], "· "+kind+" ·") || !strings.Contains(steps[i], "ok") {
				t.Errorf("step %d: %q, want a passed %s step", i+1, steps[i], kind)
			}
		}
		if !strings.Contains(steps[0], "PROPOSED") && !strings.Contains(steps[0], "PASSED") {
			t.Errorf("the action step shows no proposal status: %q", steps[0])
		}
	})
}
