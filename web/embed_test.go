package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// Page paths get index.html, never cached and under the CSP; hashed assets are cached for a
// year and gzipped for clients that take it; a missing asset and the API's paths are 404.
func TestHandlerServesTheApp(t *testing.T) {
	h := Handler()
	get := func(path, enc string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	var index string
	for _, p := range []string{"/", "/proposals/abc", "/c/garden/audit"} {
		w := get(p, "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), `<div id="root">`) {
			t.Fatalf("GET %s: %d %q", p, w.Code, w.Body.String())
		}
		if w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("Content-Security-Policy") != CSP {
			t.Errorf("GET %s headers: %v", p, w.Header())
		}
		index = w.Body.String()
	}
	if strings.Contains(index, "http://") || strings.Contains(index, "https://") {
		t.Errorf("index.html loads from elsewhere:\n%s", index)
	}
	scripts := regexp.MustCompile(`src="(/assets/[^"]+\.js)"`).FindStringSubmatch(index)
	if scripts == nil {
		t.Fatalf("index.html names no script:\n%s", index)
	}
	w := get(scripts[1], "gzip, deflate")
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("GET %s: %d %v", scripts[1], w.Code, w.Header())
	}
	if w := get(scripts[1], ""); w.Header().Get("Content-Encoding") != "" || w.Body.Len() == 0 {
		t.Errorf("GET %s without gzip: %v", scripts[1], w.Header())
	}
	for _, p := range []string{"/assets/nope.js", "/graphql/x", "/auth/slack/nope", "/api/hooks/x", "/metrics"} {
		if w := get(p, ""); w.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", rec.Code)
	}
}
