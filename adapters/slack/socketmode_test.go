package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/policykit-go/policykit/domain"
)

const testAppToken = "xapp-1-A1-test"

// fakeSocketSlack is Slack's side of Socket Mode: apps.connections.open (which must be called
// with the app token) hands out the URL of a WebSocket the test drives; every other Web API
// call goes on to fakeSlack.
type fakeSocketSlack struct {
	srv   *httptest.Server
	conns chan *websocket.Conn

	mu     sync.Mutex
	tokens []string // of each apps.connections.open
}

func newFakeSocketSlack(t *testing.T, api *fakeSlack) *fakeSocketSlack {
	t.Helper()
	target, err := url.Parse(api.srv.GetAPIURL())
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSocketSlack{conns: make(chan *websocket.Conn, 4)}
	// socketmode dials with Origin https://api.slack.com, which is not this host.
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	mux.HandleFunc("POST /apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		f.tokens = append(f.tokens, token)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if token != testAppToken {
			_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws://" + r.Host + "/link"})
	})
	mux.HandleFunc("GET /link", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		f.conns <- conn
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// socketConn is the test's end of one Socket Mode connection.
type socketConn struct {
	t    *testing.T
	conn *websocket.Conn
}

func (f *fakeSocketSlack) accept(t *testing.T) *socketConn {
	t.Helper()
	select {
	case conn := <-f.conns:
		t.Cleanup(func() { _ = conn.Close() })
		c := &socketConn{t: t, conn: conn}
		c.send(map[string]any{"type": "hello", "num_connections": 1,
			"debug_info": map[string]any{"host": "applink-test"}, "connection_info": map[string]any{"app_id": "A1"}})
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the adapter did not open a Socket Mode connection")
		return nil
	}
}

func (c *socketConn) send(v any) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, mustJSON(c.t, v)); err != nil {
		c.t.Fatal(err)
	}
}

// envelope sends a Socket Mode request of typ carrying payload.
func (c *socketConn) envelope(id, typ string, payload any, retry int) {
	c.t.Helper()
	c.send(map[string]any{"envelope_id": id, "type": typ, "accepts_response_payload": false,
		"retry_attempt": retry, "retry_reason": "", "payload": payload})
}

// acked reads the next message from the adapter and checks it is the bare acknowledgement
// of envelope id.
func (c *socketConn) acked(id string) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("no acknowledgement of %s: %v", id, err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		c.t.Fatalf("acknowledgement %s: %v", data, err)
	}
	if len(got) != 1 || got["envelope_id"] != id {
		c.t.Fatalf("acknowledged with %s, want {\"envelope_id\":%q}", data, id)
	}
}

// socketRun is a second adapter on h's bus, fake Slack and state, receiving over Socket
// Mode until stop or the end of the test. done is closed when RunSocketMode returned err.
type socketRun struct {
	a      *Adapter
	fs     *fakeSocketSlack
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func runSocketMode(t *testing.T, h *harness, state State, appToken string) *socketRun {
	t.Helper()
	r := &socketRun{fs: newFakeSocketSlack(t, h.fake), done: make(chan struct{})}
	var err error
	r.a, err = New(Config{SigningSecret: testSecret, APIURL: r.fs.srv.URL + "/", AppToken: appToken}, Deps{
		Publisher: h.b.Publisher(), Tokens: h.a.Tokens(), State: state, Seen: h.a.deps.Seen, Ledger: h.a.deps.Ledger,
		Directory: StaticDirectory{Teams: map[string]string{"T1": "c1"}, Users: map[string]map[string]string{"c1": {"U1": "user-1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(context.Background())
	go func() { r.err = r.a.RunSocketMode(ctx); close(r.done) }()
	t.Cleanup(func() {
		_ = r.stop(t)
		_ = r.a.Close()
	})
	return r
}

// stop ends RunSocketMode's context and returns what it returned.
func (r *socketRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not return after its context ended")
		return nil
	}
}

// Events and vote clicks that arrive over Socket Mode are acknowledged on the socket and
// become the same commands as over the hook, sharing its de-duplication.
func TestSocketMode(t *testing.T) {
	state := NewMemoryState()
	h := newHarness(t, state)
	r := runSocketMode(t, h, state, testAppToken)
	conn := r.fs.accept(t)

	ev := messageEvent("U1", "C1", "over the socket", "1700000000.000600")
	conn.envelope("e1", "events_api", callback("Ev-sock", ev), 0)
	conn.acked("e1")
	act := h.proposed()
	if act.ID != eventActionID("T1", "Ev-sock") || act.Type != domain.ActionSlackPostMessage || act.CommunityID != "c1" ||
		act.InitiatorID != "U1" || act.ExternalID != "Ev-sock" || act.Field("channel") != "C1" ||
		act.Field("text") != "over the socket" || act.Field("timestamp") != "1700000000.000600" || !act.Reversible {
		t.Fatalf("proposed %+v", act)
	}
	r.fs.mu.Lock()
	if len(r.fs.tokens) != 1 || r.fs.tokens[0] != testAppToken {
		t.Errorf("apps.connections.open called with %q, want the app token once", r.fs.tokens)
	}
	r.fs.mu.Unlock()

	// Slack's retry over the socket, and the same event over the hook: acknowledged, not
	// proposed again.
	conn.envelope("e2", "events_api", callback("Ev-sock", ev), 1)
	conn.acked("e2")
	h.event("Ev-sock", ev, 0)
	r.a.workers.Wait()
	h.quiet(h.propose, "ProposeAction for a repeated event")

	// An envelope the adapter has nothing to do for is acknowledged all the same.
	conn.envelope("e3", "events_api", map[string]any{"type": "app_rate_limited", "team_id": "T1", "minute_rate_limited": 1700000000}, 0)
	conn.acked("e3")

	// A vote posted through the effects, then a click on it over the socket.
	postID := h.effect(busVote("e-vote", "p1", "C1")).Result["post_id"].(string)
	conn.envelope("e4", "interactive", voteClick("U1", "C1", postID, valueNo), 0)
	conn.acked("e4")
	if cv := h.castVote(); cv.CommunityID != "c1" || cv.ProposalID != "p1" || cv.Platform != "slack" || cv.Vote.Username != "U1" ||
		cv.Vote.UserID != "" || cv.Vote.Kind != domain.VoteBoolean || cv.Vote.Boolean {
		t.Fatalf("cast %+v", cv)
	}

	// Shutdown: the end of the context ends RunSocketMode without an error.
	if err := r.stop(t); err != nil {
		t.Fatalf("RunSocketMode returned %v after its context ended", err)
	}
}

// A member not eligible to vote is told so, as over the hook, and no vote is cast.
func TestSocketModeIneligibleVoter(t *testing.T) {
	state := NewMemoryState()
	h := newHarness(t, state)
	r := runSocketMode(t, h, state, testAppToken)
	conn := r.fs.accept(t)

	vote := busVote("e-vote", "p3", "C3")
	vote.Args["users"] = []any{"U01"}
	postID := h.effect(vote).Result["post_id"].(string)
	conn.envelope("e1", "interactive", voteClick("U99", "C3", postID, valueYes), 0)
	conn.acked("e1")
	if got := h.fake.seen("chat.postEphemeral"); len(got) != 1 || got[0].Get("user") != "U99" || got[0].Get("channel") != "C3" {
		t.Fatalf("refusal %v", got)
	}
	r.a.workers.Wait()
	h.quiet(h.votes, "CastVote from an ineligible member")
}

// An app token Slack refuses ends RunSocketMode with an error instead of retrying forever.
func TestSocketModeRefusedAppToken(t *testing.T) {
	h := newHarness(t, nil)
	r := runSocketMode(t, h, nil, "xapp-1-A1-revoked")
	select {
	case <-r.done:
		if r.err == nil || !strings.Contains(r.err.Error(), "invalid_auth") {
			t.Fatalf("RunSocketMode returned %v, want invalid_auth", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode still running with a refused app token")
	}
}
