package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Registration and anonymous introspection are on by default on loopback only; settings
// that are not booleans or durations stop start-up.
func TestRegistrationDefaultsToLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true,
		":8080": false, "0.0.0.0:8080": false, "192.0.2.10:8080": false, "[::]:8080": false,
	} {
		cfg := DefaultConfig()
		cfg.HTTPAddr = addr
		if cfg.registrationOn() != want || cfg.anonymousIntrospectionOn() != want {
			t.Errorf("%s: registration %v, anonymous introspection %v; want %v", addr, cfg.registrationOn(), cfg.anonymousIntrospectionOn(), want)
		}
	}
	env := map[string]string{
		"POLICYKIT_HTTP_ADDR": "0.0.0.0:8080", "POLICYKIT_REGISTRATION": "true", "POLICYKIT_GRAPHQL_ANONYMOUS_INTROSPECTION": "false",
		"POLICYKIT_HTTP_READ_TIMEOUT": "5s",
	}
	cfg := DefaultConfig().FromEnv(func(k string) string { return env[k] })
	if !cfg.registrationOn() || cfg.anonymousIntrospectionOn() || cfg.HTTPReadTimeout != 5*time.Second {
		t.Errorf("from the environment: registration %v, introspection %v, read timeout %s", cfg.registrationOn(), cfg.anonymousIntrospectionOn(), cfg.HTTPReadTimeout)
	}
	env = map[string]string{"POLICYKIT_REGISTRATION": "sometimes", "POLICYKIT_HTTP_IDLE_TIMEOUT": "forever"}
	err := DefaultConfig().FromEnv(func(k string) string { return env[k] }).Validate()
	if err == nil || !strings.Contains(err.Error(), "registration") || !strings.Contains(err.Error(), "idle timeout") {
		t.Errorf("bad settings: Validate = %v, want registration and idle timeout named", err)
	}
}

// The server cuts off a client that sends its body too slowly, and the App wires the
// registration setting into the API.
func TestServerLimitsSlowClientsAndRegistration(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTPReadTimeout = 500 * time.Millisecond
	_ = cfg.Registration.Set("false")
	app, stop := startApp(t, cfg)
	defer stop()
	addr := app.listener.Addr().String()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\": \"", addr)
	// The body never comes whole. A server without a read timeout keeps waiting, and so
	// does this read until its own (generous) deadline.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still waits for the body")
	}
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("slow body: status %d, want an error or a closed connection", resp.StatusCode)
		}
	}

	raw := postGraphQL(t, app, "", map[string]any{"query": `mutation { register(username: "dave", password: "dave-password") { id } }`})
	var out struct {
		Errors []struct{ Extensions map[string]any }
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Errorf("register with registration off: %s", raw)
	}
}
