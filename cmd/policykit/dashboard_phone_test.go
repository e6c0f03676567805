package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// On a phone (390×844 CSS pixels), the community's home fits the screen's width (nothing
// scrolls sideways) and its main actions are on the page and within the width: the
// community's pages, proposing, and the proposals themselves.
func TestDashboardHomeOnAPhone(t *testing.T) {
	browser := newBrowser(t)
	cfg := testConfig(t)
	cfg.GraphQL = true
	app, stop := startApp(t, cfg)
	defer stop()
	base := "http://" + app.listener.Addr().String()
	tab := browserTab(t, browser)
	run(t, tab, "a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile))
	run(t, tab, "register", chromedp.Navigate(base+"/"), signIn("alice", "alice-secret", true), waitText("Your communities"))
	as := gqlSession(t, base, "alice", "alice-secret")
	id := dig(as(`mutation { createCommunity(input: {name: "Orchard with a rather long name for a small screen", kit: "testing"}) { id } }`, nil), "createCommunity", "id").(string)
	as(`mutation($in: ProposeConstitutionActionInput!) { proposeConstitutionAction(input: $in) { action { status } } }`,
		map[string]any{"in": map[string]any{"communityId": id, "type": "policykitaddcommunitydoc",
			"payloadJSON": `{"name":"Harvest rules","text":"Pick only ripe fruit; leave the windfalls for the birds, the wasps and everyone who comes after."}`}})

	run(t, tab, "open the home",
		chromedp.Navigate(base+"/c/"+id),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=community-home]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=recent] li`)),
	)
	screenshot(t, tab, "community-home-phone")
	var width, scrollWidth float64
	run(t, tab, "measure",
		into(&width, chromedp.Evaluate[float64](`window.innerWidth`)),
		into(&scrollWidth, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`)),
	)
	if width != 390 {
		t.Fatalf("the page is %v CSS pixels wide, want the phone's 390", width)
	}
	if scrollWidth > width {
		var wide []string
		run(t, tab, "what is too wide", into(&wide, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).slice(0, 10).map(e => e.tagName + "." + e.className + ": " + Math.round(e.getBoundingClientRect().right))`)))
		t.Errorf("the page is %v CSS pixels wide on a %v pixel screen; too wide: %q", scrollWidth, width, wide)
	}
	// Each main action is on the page, shown, and within the screen's width.
	for _, sel := range []string{
		`nav.community-nav a[href$="/propose"]`, `nav.community-nav a[href$="/roles"]`, `nav.community-nav a[href$="/logs"]`,
		`[data-testid=pending] ~ a.button`, `[data-testid=recent] li a`, `a[href$="/policies/new"]`, `[data-testid=signed-in-as]`,
	} {
		var ok bool
		run(t, tab, "find "+sel, into(&ok, chromedp.Evaluate[bool](`(() => {
			const e = document.querySelector(`+"`"+sel+"`"+`);
			if (!e) return false;
			const r = e.getBoundingClientRect();
			return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= innerWidth;
		})()`)))
		if !ok {
			t.Errorf("%s is not on the phone's screen", sel)
		}
	}
	// And they work: proposing opens its page.
	run(t, tab, "propose", clickText("Propose"), waitText("Propose a constitution action"))
}
