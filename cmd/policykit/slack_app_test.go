package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Without SLACK_SIGNING_SECRET the Slack routes say plainly that Slack is not configured; with
// it, the App serves Slack's Events API (here, its URL verification challenge, signed).
func TestAppSlackRoutes(t *testing.T) {
	cfg := testConfig(t)
	app, stop := startApp(t, cfg)
	resp, err := http.Post("http://"+app.listener.Addr().String()+"/api/hooks/slack", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "Slack is not configured") {
		t.Fatalf("unconfigured Slack hook: %d %s", resp.StatusCode, body)
	}

	cfg = testConfig(t)
	env := map[string]string{"SLACK_SIGNING_SECRET": "shh", "SLACK_API_URL": "http://127.0.0.1:1/api/"}
	cfg.getenv = func(k string) string { return env[k] }
	cfg.LogPlatforms = []string{"log", "slack"}
	app, stop = startApp(t, cfg)
	defer stop()
	if code := signedPost(t, "http://"+app.listener.Addr().String()+"/api/hooks/slack", "shh", "application/json",
		[]byte(`{"type":"url_verification","challenge":"c-123","token":"x"}`)); code != http.StatusOK {
		t.Fatalf("signed url_verification answered %d", code)
	}
	if code := signedPost(t, "http://"+app.listener.Addr().String()+"/api/hooks/slack", "wrong", "application/json",
		[]byte(`{"type":"url_verification","challenge":"c-123","token":"x"}`)); code != http.StatusUnauthorized {
		t.Fatalf("forged request answered %d", code)
	}
	for _, p := range app.cfg.LogPlatforms {
		if p == "slack" {
			t.Fatal("the log platform still stands in for a configured Slack")
		}
	}
}

// An enabled adapter's settings are validated with the rest of the configuration: a bad one
// is reported with the others, naming the adapter and the setting, before anything starts;
// a disabled adapter's settings are not checked.
func TestConfigValidatesTheEnabledAdaptersSections(t *testing.T) {
	cfg := DefaultConfig()
	env := map[string]string{"SLACK_TOKEN_KEY": "too short", "SLACK_APP_TOKEN": "xoxb-not-an-app-token"}
	cfg.getenv = func(k string) string { return env[k] }
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a disabled adapter's settings checked: %v", err)
	}
	env["SLACK_SIGNING_SECRET"] = "shh"
	cfg.HTTPAddr = "nowhere"
	err := cfg.Validate()
	for _, want := range []string{"http addr", "slack: TokenKey", "slack: AppToken"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("validate = %v, want it to report %q", err, want)
		}
	}
}
