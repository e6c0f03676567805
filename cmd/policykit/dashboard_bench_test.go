package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// BenchmarkDashboardHome measures, in headless Chromium, the time from navigating to a
// community's home to the page rendered with its proposals, for a community with 1,000
// proposals (its home is one GraphQL query).
func BenchmarkDashboardHome(b *testing.B) {
	browser := newBrowser(b)
	cfg := testConfig(b)
	cfg.GraphQL = true
	app, stop := startApp(b, cfg)
	defer stop()
	base := "http://" + app.listener.Addr().String()
	tab := browserTab(b, browser)
	run(b, tab, "register", chromedp.Navigate(base+"/"), signIn("alice", "alice-secret", true))
	as := gqlSession(b, base, "alice", "alice-secret")
	c := as(`mutation { createCommunity(input: {name: "Orchard", kit: "testing"}) { id } }`, nil)
	id := dig(c, "createCommunity", "id").(string)
	const propose = `mutation($in: ProposeConstitutionActionInput!) { proposeConstitutionAction(input: $in) { action { status } } }`
	// A policy that keeps every later change pending, then 1,000 changes.
	as(propose, map[string]any{"in": map[string]any{"communityId": id, "type": "policykitaddconstitutionpolicy", "payloadJSON": `{"name":"Wait","description":"","action_types":[],"priority":-1,"filter":"return True\n","initialize":"pass\n","check":"return PROPOSED\n","notify":"pass\n","success":"pass\n","fail":"pass\n"}`}})
	for i := range 1000 {
		as(propose, map[string]any{"in": map[string]any{"communityId": id, "type": "policykitaddcommunitydoc", "payloadJSON": fmt.Sprintf(`{"name":"Doc %d","text":"t"}`, i)}})
	}
	// Where the time goes, from the page's own timings: the document and script loaded
	// (DOMContentLoaded), the GraphQL requests (from the first request's start to the last
	// response's end), and the page rendered (when the wait saw it).
	var script, api, rendered float64
	const timings = `(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		const gql = performance.getEntriesByType("resource").filter(e => e.name.endsWith("/graphql"));
		const start = Math.min(...gql.map(e => e.startTime)), end = Math.max(...gql.map(e => e.responseEnd));
		return [nav.domContentLoadedEventEnd, gql.length ? end - start : 0, performance.now()];
	})()`
	b.ResetTimer()
	for b.Loop() {
		var t []float64
		run(b, tab, "home",
			chromedp.Navigate(base+"/c/"+id),
			until(`document.querySelectorAll("[data-testid=pending] li").length === 20`),
		)
		b.StopTimer()
		run(b, tab, "timings", into(&t, chromedp.Evaluate[[]float64](timings)))
		script, api, rendered = script+t[0], api+t[1], rendered+t[2]
		run(b, tab, "away", chromedp.Navigate("about:blank"))
		b.StartTimer()
	}
	b.ReportMetric(script/float64(b.N), "dcl-ms/op")
	b.ReportMetric(api/float64(b.N), "graphql-ms/op")
	b.ReportMetric(rendered/float64(b.N), "rendered-ms/op")
}
