package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// With the Open Collective adapter enabled, the App serves both its webhook route
// (/api/hooks/opencollective/{community}/{secret}) and the generic hook
// (/api/hooks/{platform}/{community}) on one mux: each request reaches its own.
func TestOpenCollectiveRouteBesideTheGenericHook(t *testing.T) {
	cfg := testConfig(t)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(make([]byte, 32)) // the generic hook runs with a key
	env := map[string]string{"OPENCOLLECTIVE_WEBHOOK_KEY": strings.Repeat("k", 40), "OPENCOLLECTIVE_API_URL": "http://127.0.0.1:1/graphql/v2"}
	cfg.getenv = func(k string) string { return env[k] }
	app, err := NewApp(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	h := app.routes()
	answer := func(path string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`)))
		var body struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body.Message
	}
	if code, msg := answer("/api/hooks/opencollective/garden/some-secret"); code != http.StatusNotFound || msg != "no Open Collective connection" {
		t.Fatalf("the adapter's route answered %d %q", code, msg)
	}
	if code, msg := answer("/api/hooks/opencollective/garden"); code != http.StatusNotFound || !strings.Contains(msg, `community "garden" has no opencollective connection`) {
		t.Fatalf("the generic hook answered %d %q", code, msg)
	}
}

// Without the server's secret key no connection keeps a webhook secret the server can open:
// the generic hook says what to set instead of refusing every request as forged.
func TestTheGenericHookNeedsTheSecretKey(t *testing.T) {
	app, err := NewApp(context.Background(), testConfig(t), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	rec := httptest.NewRecorder()
	app.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/hooks/opencollective/garden", strings.NewReader(`{}`)))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "POLICYKIT_SECRET_KEY") {
		t.Fatalf("answered %d %s", rec.Code, rec.Body.String())
	}
}
