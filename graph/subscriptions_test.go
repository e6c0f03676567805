package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/identity"
)

// wsClient speaks graphql-transport-ws (or the older graphql-ws) over a real websocket. A
// reader goroutine answers the server's pings at once and queues the other messages.
type wsClient struct {
	t     *testing.T
	conn  *websocket.Conn
	proto string
	mu    sync.Mutex // serializes writes
	in    chan wsMessage
	err   chan error // the reader's end
	pings atomic.Int64
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialWS connects to the server with the subprotocol and sends connection_init with init
// as its payload (nil: none).
func dialWS(t *testing.T, srv *httptest.Server, proto string, init map[string]any) *wsClient {
	t.Helper()
	return dialWSWith(t, srv, proto, init, nil)
}

// dialWSWith is dialWS with the upgrade request's headers (cookies, Origin).
func dialWSWith(t *testing.T, srv *httptest.Server, proto string, init map[string]any, header http.Header) *wsClient {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{proto}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), header)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &wsClient{t: t, conn: conn, proto: proto, in: make(chan wsMessage, 1000), err: make(chan error, 1)}
	go func() {
		for {
			var m wsMessage
			if err := conn.ReadJSON(&m); err != nil {
				c.err <- err
				return
			}
			switch m.Type {
			case "ka":
				c.pings.Add(1)
			case "ping":
				c.pings.Add(1)
				_ = c.write(map[string]any{"type": "pong"})
			case "pong":
			default:
				c.in <- m
			}
		}
	}()
	msg := map[string]any{"type": "connection_init"}
	if init != nil {
		msg["payload"] = init
	}
	c.send(msg)
	return c
}

func (c *wsClient) write(msg any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn.WriteJSON(msg)
}

func (c *wsClient) send(msg any) {
	c.t.Helper()
	if err := c.write(msg); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

var errTimeout = errors.New("timed out")

// read returns the next message that is not a keep-alive.
func (c *wsClient) read(timeout time.Duration) (wsMessage, error) {
	select {
	case m := <-c.in:
		return m, nil
	default:
	}
	select {
	case m := <-c.in:
		return m, nil
	case err := <-c.err:
		c.err <- err
		return wsMessage{}, err
	case <-time.After(timeout):
		return wsMessage{}, errTimeout
	}
}

func (c *wsClient) mustRead() wsMessage {
	c.t.Helper()
	m, err := c.read(20 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// mustAck waits for connection_ack.
func (c *wsClient) mustAck() {
	c.t.Helper()
	if m := c.mustRead(); m.Type != "connection_ack" {
		c.t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
}

func (c *wsClient) subscribe(id, query string) {
	c.t.Helper()
	typ := "subscribe"
	if c.proto == "graphql-ws" {
		typ = "start"
	}
	c.send(map[string]any{"id": id, "type": typ, "payload": map[string]any{"query": query}})
}

// next returns the data of the next result of subscription id, failing on errors; results
// of other subscriptions are handed to others (when not nil).
func (c *wsClient) next(id string, out any, others func(wsMessage)) {
	c.t.Helper()
	for {
		m := c.mustRead()
		if m.ID != id {
			if others != nil {
				others(m)
			}
			continue
		}
		var p struct {
			Data   json.RawMessage
			Errors []gqlError
		}
		_ = json.Unmarshal(m.Payload, &p)
		if (m.Type != "next" && m.Type != "data") || len(p.Errors) > 0 {
			c.t.Fatalf("subscription %s: %s %s", id, m.Type, m.Payload)
		}
		if err := json.Unmarshal(p.Data, out); err != nil {
			c.t.Fatalf("decode %s: %v", p.Data, err)
		}
		return
	}
}

// mustFail returns the errors subscription id ends with.
func (c *wsClient) mustFail(id string) []gqlError {
	c.t.Helper()
	m := c.mustRead()
	for m.Type == "complete" && m.ID != id { // the end of an earlier one
		m = c.mustRead()
	}
	if m.ID != id {
		c.t.Fatalf("got %s for %s, want subscription %s to fail", m.Payload, m.ID, id)
	}
	var errs []gqlError
	switch m.Type {
	case "error":
		_ = json.Unmarshal(m.Payload, &errs)
	case "next", "data":
		var p struct{ Errors []gqlError }
		_ = json.Unmarshal(m.Payload, &p)
		errs = p.Errors
	}
	if len(errs) == 0 {
		c.t.Fatalf("subscription %s: %s %s, want errors", id, m.Type, m.Payload)
	}
	return errs
}

func bearer(token string) map[string]any { return map[string]any{"authorization": "Bearer " + token} }

type eventMsg struct {
	CommunityEvents struct{ Type, Stream, Position string }
}

// followers counts the goroutines that follow the log for a subscription.
func followers() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "graph.(*Resolver).follow.func")
}

func TestSubscriptionsFollowAVote(t *testing.T) {
	e := newEnvWith(t, nil, func(d *graph.Deps) { d.KeepAlive = 100 * time.Millisecond })
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	proposal := e.mustPropose(t, "alice", "beds")

	c := dialWS(t, srv, "graphql-transport-ws", bearer(e.tokens["bob"]))
	c.mustAck()

	// The audit tail starts at the end of the log: it shows what happens after it started.
	// Propose harmless actions until one shows, so that the tail is known to be live.
	c.subscribe("events", `subscription { communityEvents(communityId: "garden") { type stream position } }`)
	var ev eventMsg
	for i := 0; ; i++ {
		var resp proposeResp
		e.mustQueryAs(t, "alice", &resp, `mutation { proposeAction(input: {communityId: "garden", actionType: "slackpostmessage", fieldsJSON: "{\"channel\":\"C1\",\"text\":\"hi\"}"}) { action { id } } }`)
		m, err := c.read(500 * time.Millisecond)
		if err == nil {
			if m.ID != "events" || m.Type != "next" {
				t.Fatalf("got %s %s %s", m.ID, m.Type, m.Payload)
			}
			break
		}
		if i == 40 {
			t.Fatalf("communityEvents shows nothing: %v", err)
		}
	}
	// Let the events of the other actions pass.
	for {
		if _, err := c.read(300 * time.Millisecond); err != nil {
			break
		}
	}

	type proposalMsg struct {
		ProposalUpdated struct {
			ID, Status string
			Tally      struct{ Yes int }
		}
	}
	var tail []eventMsg
	collect := func(m wsMessage) {
		if m.ID == "events" {
			var p struct{ Data eventMsg }
			_ = json.Unmarshal(m.Payload, &p)
			tail = append(tail, p.Data)
		}
	}
	c.subscribe("p", `subscription { proposalUpdated(id: "`+proposal+`") { id status tally { yes } } }`)
	var p proposalMsg
	c.next("p", &p, collect) // the current state
	if p.ProposalUpdated.ID != proposal || p.ProposalUpdated.Status != "PROPOSED" {
		t.Fatalf("first update = %+v, want the open proposal", p.ProposalUpdated)
	}

	e.mustQueryAs(t, "bob", &struct{}{}, `mutation { castVote(input: {communityId: "garden", proposalId: "`+proposal+`", value: "yes"}) { proposal { id } } }`)
	for p.ProposalUpdated.Status != "PASSED" {
		c.next("p", &p, collect)
	}
	if p.ProposalUpdated.Tally.Yes != 1 {
		t.Errorf("passed proposal = %+v, want one yes vote", p.ProposalUpdated)
	}

	// The tail shows the vote and the decision on the proposal's stream.
	seen := map[string]bool{}
	for _, ev := range tail {
		if ev.CommunityEvents.Stream == domain.ProposalStream(proposal) {
			seen[ev.CommunityEvents.Type] = true
		}
	}
	for !seen[domain.EventVoteCast] || !seen[domain.EventProposalEvaluated] {
		c.next("events", &ev, nil)
		if ev.CommunityEvents.Stream == domain.ProposalStream(proposal) {
			seen[ev.CommunityEvents.Type] = true
		}
	}
	// Keep-alive pings come every 100ms (and are answered, or the server would hang up).
	for deadline := time.Now().Add(5 * time.Second); c.pings.Load() < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d keep-alive pings, want at least 3", c.pings.Load())
		}
	}

	// Disconnecting ends the subscriptions' goroutines.
	if followers() == 0 {
		t.Fatal("no subscription goroutines while subscribed")
	}
	c.conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for followers() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscription goroutines left after the client disconnected", followers())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSubscriptionsOverTheOldProtocol(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	proposal := e.mustPropose(t, "alice", "beds")
	c := dialWS(t, srv, "graphql-ws", bearer(e.tokens["alice"]))
	c.mustAck()
	c.subscribe("1", `subscription { proposalUpdated(id: "`+proposal+`") { status } }`)
	var p struct{ ProposalUpdated struct{ Status string } }
	c.next("1", &p, nil)
	if p.ProposalUpdated.Status != "PROPOSED" {
		t.Errorf("status = %s", p.ProposalUpdated.Status)
	}
}

func TestSubscriptionsNeedAToken(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	for name, init := range map[string]map[string]any{
		"no payload":   nil,
		"no token":     {},
		"wrong token":  bearer("pk_nope"),
		"not a bearer": {"authorization": "Basic " + e.tokens["alice"]},
	} {
		c := dialWS(t, srv, "graphql-transport-ws", init)
		m, err := c.read(10 * time.Second)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4403 {
			t.Errorf("%s: got %s %s, %v; want the connection closed with 4403", name, m.Type, m.Payload, err)
		}
	}
}

func TestSubscriptionsToAnotherCommunityAreNotFound(t *testing.T) {
	e := newEnv(t, nil)
	o := e.mustSeedOrchard(t)
	gardenProposal := e.mustPropose(t, "alice", "g")
	srv := httptest.NewServer(e.handler)
	defer srv.Close()

	c := dialWS(t, srv, "graphql-transport-ws", bearer(e.tokens["erin"]))
	c.mustAck()
	c.subscribe("p", `subscription { proposalUpdated(id: "`+gardenProposal+`") { id } }`)
	wantCode(t, c.mustFail("p"), "NOT_FOUND")
	c.subscribe("e", `subscription { communityEvents(communityId: "garden") { id } }`)
	wantCode(t, c.mustFail("e"), "NOT_FOUND")

	// frank is a member of orchard who may view nothing there.
	f := dialWS(t, srv, "graphql-transport-ws", bearer(e.tokens["frank"]))
	f.mustAck()
	f.subscribe("e", `subscription { communityEvents(communityId: "orchard") { id } }`)
	wantCode(t, f.mustFail("e"), "FORBIDDEN")
	f.subscribe("p", `subscription { proposalUpdated(id: "`+o.platformProposal+`") { id } }`)
	wantCode(t, f.mustFail("p"), "FORBIDDEN")
}

func TestSubscriptionsWithTheSessionCookie(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	proposal := e.mustPropose(t, "alice", "beds")
	_, session, err := identity.New(e.pool, identity.Options{}).Login(context.Background(), "alice", "alice-secret", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cookie := http.Header{"Cookie": {identity.SessionCookie + "=" + session}}

	// A page of the same origin: the browser sends the session cookie with the upgrade.
	c := dialWSWith(t, srv, "graphql-transport-ws", map[string]any{}, cookie)
	c.mustAck()
	c.subscribe("1", `subscription { proposalUpdated(id: "`+proposal+`") { status } }`)
	var p struct{ ProposalUpdated struct{ Status string } }
	c.next("1", &p, nil)
	if p.ProposalUpdated.Status != "PROPOSED" {
		t.Errorf("status = %s", p.ProposalUpdated.Status)
	}

	// An unknown session is no session.
	bad := dialWSWith(t, srv, "graphql-transport-ws", map[string]any{}, http.Header{"Cookie": {identity.SessionCookie + "=nope"}})
	var ce *websocket.CloseError
	if m, err := bad.read(10 * time.Second); !errors.As(err, &ce) || ce.Code != 4403 {
		t.Errorf("unknown session: got %s %s, %v; want the connection closed with 4403", m.Type, m.Payload, err)
	}

	// A page of another origin cannot ride the member's session.
	h := cookie.Clone()
	h.Set("Origin", "https://elsewhere.example")
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), h)
	if err == nil {
		conn.Close()
		t.Fatal("an upgrade from another origin was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("upgrade from another origin: %v %v, want 403", resp, err)
	}
}

// All subscriptions share one tail of the log (one LISTEN connection), and a socket and an
// account hold a bounded number of them.
func TestSubscriptionsShareOneListenerAndAreLimited(t *testing.T) {
	e := newEnvWith(t, nil, func(d *graph.Deps) {
		d.MaxSubscriptionsPerSocket = 4
		d.MaxSubscriptionsPerAccount = 6
	})
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	proposal := e.mustPropose(t, "alice", "beds")
	count := func(where string) int {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name <> $1 AND `+where, engineApp).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	listeners := func() int { return count(`query LIKE 'LISTEN %'`) }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s", what)
			}
		}
	}
	subscribe := func(c *wsClient, id string) {
		t.Helper()
		c.subscribe(id, `subscription { proposalUpdated(id: "`+proposal+`") { status } }`)
	}
	live := func(c *wsClient, id string) {
		t.Helper()
		subscribe(c, id)
		var p struct{ ProposalUpdated struct{ Status string } }
		c.next(id, &p, nil) // the current state: the subscription follows the log
	}
	refused := func(c *wsClient, id, what string) {
		t.Helper()
		subscribe(c, id)
		if errs := c.mustFail(id); errs[0].Extensions["code"] != graph.CodeLimitExceeded {
			t.Fatalf("%s: %+v, want %s", what, errs, graph.CodeLimitExceeded)
		}
	}

	c1 := dialWS(t, srv, "graphql-transport-ws", bearer(e.tokens["bob"]))
	c1.mustAck()
	for i := range 4 {
		live(c1, fmt.Sprint("a", i))
	}
	refused(c1, "a4", "a fifth subscription on one socket")
	c2 := dialWS(t, srv, "graphql-transport-ws", bearer(e.tokens["bob"]))
	c2.mustAck()
	live(c2, "b0")
	live(c2, "b1")
	refused(c2, "b2", "a seventh subscription of one account")
	c3 := dialWS(t, srv, "graphql-transport-ws", bearer(e.tokens["carol"]))
	c3.mustAck()
	live(c3, "c0")

	// Nine subscriptions, one LISTEN connection, and no connection beyond the pool's.
	waitFor("the tail to listen", func() bool { return listeners() >= 1 })
	if n := listeners(); n != 1 {
		t.Errorf("%d LISTEN connections for 9 subscriptions, want 1", n)
	}
	if n, most := count("true"), int(e.pool.Config().MaxConns)+1; n > most {
		t.Errorf("%d connections to the database, want at most %d (the pool's and the listener)", n, most)
	}

	// A socket's end gives its subscriptions back to the account; the last one stops the tail.
	c1.conn.Close()
	waitFor("bob's subscriptions to end", func() bool {
		subscribe(c2, "b3")
		m := c2.mustRead()
		return m.ID == "b3" && (m.Type == "next" || m.Type == "data")
	})
	c2.conn.Close()
	c3.conn.Close()
	waitFor("the listener to go", func() bool { return listeners() == 0 })
}
