package discordtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/gorilla/websocket"
)

// Gateway is the fake Discord Gateway: it says HELLO, answers IDENTIFY with READY and a
// GUILD_CREATE of each guild, RESUME with the dispatches after the client's sequence then
// RESUMED, and heartbeats with their ACK. Dispatches sent while no client is connected are
// kept for the resume, as Discord keeps them.
type Gateway struct {
	url string

	mu         sync.Mutex
	conn       *websocket.Conn
	wmu        sync.Mutex
	seq        int64
	sent       []frame
	session    string
	guilds     []map[string]any
	down       bool
	replayed   int
	Identifies int
	Resumes    int
	ready      chan struct{}
}

type frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

func newGateway() *Gateway { return &Gateway{ready: make(chan struct{}, 16)} }

// AddGuild makes the guild (with its channels: id -> name) part of what READY and
// GUILD_CREATE announce.
func (g *Gateway) AddGuild(id string, channels map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var chs []any
	for cid, name := range channels {
		chs = append(chs, map[string]any{"id": cid, "name": name, "type": 0, "guild_id": id})
	}
	g.guilds = append(g.guilds, map[string]any{"id": id, "name": "guild-" + id, "channels": chs, "unavailable": false})
}

// Ready returns a channel that receives a value each time a client is READY or RESUMED.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	down := g.down
	g.mu.Unlock()
	if down {
		http.Error(w, "the Gateway is unreachable", http.StatusServiceUnavailable)
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	g.mu.Lock()
	if g.conn != nil {
		_ = g.conn.Close()
	}
	g.conn = c
	g.mu.Unlock()
	g.write(c, frame{Op: 10, D: raw(map[string]any{"heartbeat_interval": 41250})})
	for {
		var in frame
		if err := c.ReadJSON(&in); err != nil {
			g.mu.Lock()
			if g.conn == c {
				g.conn = nil
			}
			g.mu.Unlock()
			return
		}
		switch in.Op {
		case 1:
			g.write(c, frame{Op: 11})
		case 2:
			g.mu.Lock()
			g.Identifies++
			g.session = "session-" + strconv.Itoa(g.Identifies)
			ids := []any{}
			for _, gd := range g.guilds {
				ids = append(ids, map[string]any{"id": gd["id"], "unavailable": true})
			}
			guilds := append([]map[string]any(nil), g.guilds...)
			session := g.session
			g.mu.Unlock()
			g.Dispatch("READY", map[string]any{"v": 10, "user": map[string]any{"id": BotID, "username": "PolicyKit", "bot": true},
				"guilds": ids, "session_id": session, "resume_gateway_url": g.url, "application": map[string]any{"id": BotID}})
			for _, gd := range guilds {
				g.Dispatch("GUILD_CREATE", gd)
			}
			g.ready <- struct{}{}
		case 6:
			var d struct {
				SessionID string `json:"session_id"`
				Seq       int64  `json:"seq"`
			}
			_ = json.Unmarshal(in.D, &d)
			g.mu.Lock()
			if d.SessionID != g.session {
				g.mu.Unlock()
				g.write(c, frame{Op: 9, D: raw(false)}) // INVALID_SESSION, not resumable
				continue
			}
			g.Resumes++
			var replay []frame
			for _, f := range g.sent {
				if *f.S > d.Seq {
					replay = append(replay, f)
				}
			}
			g.replayed += len(replay)
			g.mu.Unlock()
			for _, f := range replay {
				g.write(c, f)
			}
			g.Dispatch("RESUMED", map[string]any{})
			g.ready <- struct{}{}
		}
	}
}

func raw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func (g *Gateway) write(c *websocket.Conn, f frame) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	_ = c.WriteJSON(f)
}

// Dispatch sends an event (op 0) with the next sequence number, or keeps it for the resume
// when no client is connected.
func (g *Gateway) Dispatch(typ string, d any) {
	g.mu.Lock()
	g.seq++
	s := g.seq
	f := frame{Op: 0, T: typ, S: &s, D: raw(d)}
	g.sent = append(g.sent, f)
	c := g.conn
	g.mu.Unlock()
	if c != nil {
		g.write(c, f)
	}
}

// Drop cuts the client's connection without a close frame, as a network failure would; the
// client reconnects and resumes.
func (g *Gateway) Drop() {
	g.mu.Lock()
	c := g.conn
	g.conn = nil
	g.mu.Unlock()
	if c != nil {
		_ = c.UnderlyingConn().Close()
	}
}

// Outage drops the client's connection and refuses its reconnections until Restore: what is
// dispatched meanwhile reaches the client only through the RESUME's replay.
func (g *Gateway) Outage() {
	g.mu.Lock()
	g.down = true
	g.mu.Unlock()
	g.Drop()
}

// Restore ends an Outage: the client's next reconnection is accepted.
func (g *Gateway) Restore() {
	g.mu.Lock()
	g.down = false
	g.mu.Unlock()
}

// Replayed returns how many dispatches the RESUMEs replayed in all.
func (g *Gateway) Replayed() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.replayed
}

func (g *Gateway) closeAll() { g.Drop() }

// MessageCreate dispatches a member's message in a guild channel.
func (g *Gateway) MessageCreate(guild, channel, id, author, content string, bot bool) {
	g.Dispatch("MESSAGE_CREATE", map[string]any{"id": id, "channel_id": channel, "guild_id": guild, "type": 0, "content": content,
		"author": map[string]any{"id": author, "username": "user-" + author, "bot": bot}, "timestamp": "2024-01-01T00:00:00Z"})
}

// ChannelUpdate dispatches a channel's new state (a rename).
func (g *Gateway) ChannelUpdate(guild, channel, name string) {
	g.Dispatch("CHANNEL_UPDATE", map[string]any{"id": channel, "guild_id": guild, "name": name, "type": 0})
}

// ChannelCreate dispatches a new channel.
func (g *Gateway) ChannelCreate(guild, channel, name string) {
	g.Dispatch("CHANNEL_CREATE", map[string]any{"id": channel, "guild_id": guild, "name": name, "type": 0})
}
