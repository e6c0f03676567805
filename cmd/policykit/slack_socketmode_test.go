package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// With SLACK_APP_TOKEN the App also connects to Slack over Socket Mode, keeps serving the
// hook, and ends the connection cleanly on shutdown.
func TestAppSlackSocketMode(t *testing.T) {
	opened := make(chan string, 4)
	connected := make(chan *websocket.Conn, 4)
	// socketmode dials with Origin https://api.slack.com, which is not this host.
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		opened <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws://" + r.Host + "/link"})
	})
	mux.HandleFunc("GET /link", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","num_connections":1}`))
		connected <- conn
	})
	slackSrv := httptest.NewServer(mux)
	defer slackSrv.Close()

	cfg := testConfig(t)
	env := map[string]string{"SLACK_SIGNING_SECRET": "shh", "SLACK_API_URL": slackSrv.URL + "/api/", "SLACK_APP_TOKEN": "xapp-1-A1-test"}
	cfg.getenv = func(k string) string { return env[k] }
	cfg.LogPlatforms = []string{"log"}
	app, stop := startApp(t, cfg)
	select {
	case auth := <-opened:
		if auth != "Bearer xapp-1-A1-test" {
			t.Fatalf("apps.connections.open called with %q", auth)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the App did not open a Socket Mode connection")
	}
	var conn *websocket.Conn
	select {
	case conn = <-connected:
		defer conn.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the App did not dial the Socket Mode WebSocket")
	}
	if code := signedPost(t, "http://"+app.listener.Addr().String()+"/api/hooks/slack", "shh", "application/json",
		[]byte(`{"type":"url_verification","challenge":"c-123","token":"x"}`)); code != http.StatusOK {
		t.Fatalf("the hook answered %d beside Socket Mode", code)
	}

	stop() // fails the test when Run does not return nil
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Fatal("the App kept its Socket Mode connection open after shutdown")
		}
		if err != nil {
			break // the App closed its end
		}
	}
}
