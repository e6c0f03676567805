package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
)

// chromiumPath finds the system's Chromium (Debian's package). Without one the browser
// tests skip, except under CI=true, where .ci/run installs it and a missing browser fails.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("no Chromium on this machine: install it (apt-get install -y chromium)")
	}
	tb.Skip("no Chromium on this machine (apt-get install -y chromium); the browser tests need one")
	return ""
}

// newBrowser starts one headless Chromium for a test; each browserTab opened from it has a
// browser context of its own (its own cookies: its own signed-in member).
func newBrowser(tb testing.TB) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(tb)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancel)
	// The first context starts the browser itself; tabs are opened from it.
	browser, cancelBrowser := chromedp.NewContext(alloc)
	tb.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		tb.Fatalf("starting Chromium: %v", err)
	}
	return browser
}

func browserTab(tb testing.TB, browser context.Context) context.Context {
	tb.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	// The first run opens the tab; it has no deadline, which would close the tab with it.
	if err := chromedp.Do(tab); err != nil {
		tb.Fatalf("opening a tab: %v", err)
	}
	return tab
}

// run runs browser actions with a deadline, failing the test with what it was doing.
func run(tb testing.TB, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		bctx, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		body, _ := chromedp.Run(bctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		tb.Fatalf("%s: %v\nthe page says:\n%s", what, err, body)
	}
}

// into makes a step of an action that returns a value, keeping the value in *v.
func into[T any](v *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var err error
		*v, err = a(ctx, t)
		return chromedp.Void{}, err
	}
}

// clickText waits for a button or link whose text is text, and clicks it as a person would
// (a trusted click at its place on the page).
func clickText(text string) chromedp.Action[chromedp.Void] {
	js, _ := json.Marshal(text)
	find := "[...document.querySelectorAll('button, a')].find(e => e.innerText.trim() === " + string(js) + " && !e.disabled)"
	return chromedp.Steps(
		until(find+" !== undefined"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](find+".setAttribute('data-click', '1')")(ctx, t)
			return err
		}),
		chromedp.Click(chromedp.CSS(`[data-click="1"]`)),
		chromedp.Evaluate[chromedp.Void]("document.querySelectorAll('[data-click]').forEach(e => e.removeAttribute('data-click'))"),
	)
}

// until waits until the JavaScript expression is true.
// A page that navigates meanwhile (the app reloads itself after signing in, say) is polled
// again once the new page is there.
func until(expr string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			_, err := poll(ctx, t)
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "navigated") && !strings.Contains(err.Error(), "context") {
				return chromedp.Void{}, err
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// waitText waits until the page's visible text contains s.
func waitText(s string) chromedp.Action[chromedp.Void] {
	js, _ := json.Marshal(s)
	return until("document.body && document.body.innerText.includes(" + string(js) + ")")
}

// signIn fills the sign-in form on whatever page shows it (registering first when asked);
// the page reloads at the same address, signed in.
func signIn(username, password string, register bool) chromedp.Action[chromedp.Void] {
	t := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS(`form[aria-label="Sign in"]`))}
	if register {
		t = append(t, clickText("Register"), chromedp.WaitVisible(chromedp.CSS(`form[aria-label="Register"]`)))
	}
	return chromedp.Steps(append(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=signed-in-as]`)),
	)...)
}

// gqlSession signs in over HTTP and returns a function that sends GraphQL as that account.
func gqlSession(t testing.TB, base, username, password string) func(query string, vars map[string]any) map[string]any {
	t.Helper()
	send := func(cookie, query string, vars map[string]any) (map[string]any, *http.Response) {
		b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		if out["errors"] != nil {
			t.Fatalf("%s: %v", query, out["errors"])
		}
		return out["data"].(map[string]any), resp
	}
	_, resp := send("", `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { id } }`, map[string]any{"u": username, "p": password})
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "policykit_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("login as %s set no session cookie", username)
	}
	return func(query string, vars map[string]any) map[string]any {
		t.Helper()
		data, _ := send(cookie, query, vars)
		return data
	}
}

// dig follows keys (and list indexes) into decoded JSON.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

// screenshot saves the tab's page as docs/screenshots/<name>.png when
// POLICYKIT_SCREENSHOTS is set (to the folder to write to).
func screenshot(t testing.TB, tab context.Context, name string) {
	dir := os.Getenv("POLICYKIT_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	run(t, tab, "screenshot "+name, chromedp.Sleep(300*time.Millisecond), into(&png, chromedp.FullScreenshot(100)))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The dashboard, end to end in Chromium against the real server: a member registers and
// signs in, creates a community with a starter kit, proposes a document; two members vote
// from two browsers and the first sees the decision arrive live; the audit view shows the
// roles as they were before a later change; a member of another community reaches nothing.
func TestDashboardInTheBrowser(t *testing.T) {
	browser := newBrowser(t)
	cfg := testConfig(t)
	cfg.GraphQL = true
	app, stop := startApp(t, cfg)
	defer stop()
	base := "http://" + app.listener.Addr().String()
	ctx := context.Background()

	alice := browserTab(t, browser)
	var path string
	t.Run("register and sign in", func(t *testing.T) {
		run(t, alice, "register", chromedp.Navigate(base+"/"), signIn("alice", "alice-secret", true), waitText("Your communities"))
		var who string
		run(t, alice, "who", into(&who, chromedp.Text(chromedp.CSS(`[data-testid=signed-in-as]`))))
		if who != "alice" {
			t.Fatalf("signed in as %q", who)
		}
	})

	var communityID string
	t.Run("create a community with a kit", func(t *testing.T) {
		run(t, alice, "create",
			clickText("Create a community"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=kit][value=testing]`)),
			waitText("every platform and constitution action passes at once"),
		)
		screenshot(t, alice, "new-community")
		run(t, alice, "create",
			chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Orchard"),
			chromedp.Click(chromedp.CSS(`input[name=kit][value=testing]`)),
			clickText("Create"),
			waitText("Welcome to Orchard"),
			waitText("All Constitution Actions Pass"), // who decides, as the kit set it up
			waitText("Integration Admin"),
			into(&path, chromedp.Location()),
		)
		communityID = strings.TrimSuffix(strings.TrimPrefix(path, base+"/c/"), "/welcome")
		if communityID == "" || strings.Contains(communityID, "/") {
			t.Fatalf("landed on %s", path)
		}
		screenshot(t, alice, "onboarding")
	})
	if communityID == "" {
		t.FailNow()
	}

	// A second member, and a constitution policy (ahead of the kit's) that passes a change
	// on two yes votes: proposed under the kit, which passes it at once.
	asAlice := gqlSession(t, base, "alice", "alice-secret")
	bobID, err := engine.EnsureUser(ctx, app.store, communityID, domain.PlatformWeb, "bob", engine.Meta{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mustAPIToken(t, app, "bob", communityID, bobID)
	propose := func(as func(string, map[string]any) map[string]any, typ string, payload any) (string, string) {
		t.Helper()
		b, _ := json.Marshal(payload)
		data := as(`mutation($in: ProposeConstitutionActionInput!) { proposeConstitutionAction(input: $in) { action { status reason } proposal { id status } } }`,
			map[string]any{"in": map[string]any{"communityId": communityID, "type": typ, "payloadJSON": string(b)}})
		p, ok := dig(data, "proposeConstitutionAction", "proposal").(map[string]any)
		if !ok {
			t.Fatalf("%s was not proposed: %v", typ, dig(data, "proposeConstitutionAction", "action"))
		}
		return p["id"].(string), p["status"].(string)
	}
	vote := func(as func(string, map[string]any) map[string]any, proposal, value string) string {
		t.Helper()
		data := as(`mutation($in: CastVoteInput!) { castVote(input: $in) { proposal { status } } }`,
			map[string]any{"in": map[string]any{"communityId": communityID, "proposalId": proposal, "value": value}})
		return dig(data, "castVote", "proposal", "status").(string)
	}
	if _, status := propose(asAlice, "policykitaddconstitutionpolicy", map[string]any{
		"name": "Two yes votes", "description": "A change passes on two yes votes", "action_types": []string{}, "priority": -1,
		"filter": "return True\n", "initialize": "pass\n", "notify": "pass\n", "success": "pass\n", "fail": "pass\n",
		"check": "if proposal.get_yes_votes().count() >= 2:\n    return PASSED\nreturn PROPOSED\n",
	}); status != "PASSED" {
		t.Fatalf("adding the voting policy: %s", status)
	}

	var proposalURL string
	t.Run("propose a document", func(t *testing.T) {
		run(t, alice, "propose a document",
			chromedp.Navigate(base+"/c/"+communityID+"/documents"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=docname]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=docname]`), "Harvest rules"),
			chromedp.SendKeys(chromedp.CSS(`textarea[name=doctext]`), "Pick only ripe fruit."),
			clickText("Propose the document"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=outcome] a`)),
			waitText("proposal PROPOSED"),
			chromedp.Click(chromedp.CSS(`[data-testid=outcome] a`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=proposal]`)),
			waitText("policykitaddcommunitydoc"),
			into(&proposalURL, chromedp.Location()),
		)
		if !strings.HasPrefix(proposalURL, base+"/proposals/") {
			t.Fatalf("the proposal's page is %s", proposalURL)
		}
	})
	if proposalURL == "" {
		t.FailNow()
	}

	t.Run("two members vote and the first sees PASSED live", func(t *testing.T) {
		run(t, alice, "alice votes",
			clickText("Vote yes"),
			waitText("alice"), waitText("Yes 1"),
		)
		var status string
		run(t, alice, "status", into(&status, chromedp.Text(chromedp.CSS(`h1 [data-testid=status]`))))
		if status != "PROPOSED" {
			t.Fatalf("after one of three voters: %s", status)
		}
		screenshot(t, alice, "proposal")
		bob := browserTab(t, browser)
		// The vote link itself: signing in there keeps the address.
		run(t, bob, "bob votes",
			chromedp.Navigate(proposalURL),
			signIn("bob", "bob-secret", false),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=proposal]`)),
			clickText("Vote yes"),
			waitText("PASSED"),
		)
		// Alice's page, never reloaded, gets the decision through its subscription.
		run(t, alice, "alice sees the decision",
			until(`document.querySelector("h1 [data-testid=status]").innerText === "PASSED"`),
			waitText("Yes 2"),
		)
		screenshot(t, alice, "proposal-passed")
		run(t, alice, "the community home shows the document",
			chromedp.Navigate(base+"/c/"+communityID),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=community-home]`)),
			waitText("Harvest rules"),
		)
		screenshot(t, alice, "community-home")
	})

	t.Run("the as-of view shows the roles before a later change", func(t *testing.T) {
		before := time.Now().UTC()
		time.Sleep(20 * time.Millisecond) // the change is recorded strictly after before
		asBob := gqlSession(t, base, "bob", "bob-secret")
		pid, _ := propose(asAlice, "policykitaddrole", map[string]any{"name": "Gardener", "description": "Tends the trees", "permissions": []string{"propose:platform:*"}})
		vote(asAlice, pid, "yes")
		if got := vote(asBob, pid, "yes"); got != "PASSED" {
			t.Fatalf("adding Gardener: %s", got)
		}
		var roles string
		run(t, alice, "roles now",
			chromedp.Navigate(base+"/c/"+communityID+"/audit"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=asof-roles]`)),
			until(`document.querySelector("[data-testid=asof-roles]").innerText.includes("Gardener")`),
		)
		screenshot(t, alice, "audit")
		run(t, alice, "roles then",
			chromedp.Navigate(base+"/c/"+communityID+"/audit?asOf="+before.Format(time.RFC3339Nano)),
			waitText("As of"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=asof-roles] li`)),
			into(&roles, chromedp.Text(chromedp.CSS(`[data-testid=asof-roles]`))),
		)
		if strings.Contains(roles, "Gardener") || !strings.Contains(roles, "Integration Admin") {
			t.Fatalf("roles as of before Gardener was added:\n%s", roles)
		}
	})

	t.Run("a member of another community reaches nothing", func(t *testing.T) {
		dave := browserTab(t, browser)
		run(t, dave, "dave registers", chromedp.Navigate(base+"/"), signIn("dave", "dave-secret", true), waitText("not a member of any community"))
		asDave := gqlSession(t, base, "dave", "dave-secret")
		asDave(`mutation { createCommunity(input: {name: "Quarry"}) { id } }`, nil)
		var list string
		run(t, dave, "his communities",
			chromedp.Navigate(base+"/"), waitText("Quarry"),
			into(&list, chromedp.Text(chromedp.CSS(`ul[aria-label=Communities]`))),
		)
		if strings.Contains(list, "Orchard") {
			t.Fatalf("dave's communities: %s", list)
		}
		for _, page := range []string{"/c/" + communityID, "/c/" + communityID + "/roles", "/c/" + communityID + "/audit", strings.TrimPrefix(proposalURL, base)} {
			var body string
			run(t, dave, "open "+page,
				chromedp.Navigate(base+page),
				chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)),
				into(&body, chromedp.Text(chromedp.CSS("main"))),
			)
			if !strings.Contains(body, "not found") && !strings.Contains(body, "NOT_FOUND") && !strings.Contains(strings.ToLower(body), "not found") {
				t.Errorf("%s as dave: %s", page, body)
			}
			for _, leak := range []string{"Orchard", "Harvest rules", "Gardener", "alice"} {
				if strings.Contains(body, leak) {
					t.Errorf("%s as dave shows %q:\n%s", page, leak, body)
				}
			}
		}
	})
}
