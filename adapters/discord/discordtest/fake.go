// Package discordtest is a fake Discord for tests: an httptest server answering the REST API
// v10 calls the Discord adapter makes with Discord's documented shapes (rate limits
// included), a fake Gateway (HELLO, IDENTIFY, READY, RESUME with replay, heartbeats) on the
// same server, and a signer of interactions with an application's Ed25519 key.
package discordtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BotID is the fake bot's user id (READY's user, the author of what it posts).
const BotID = "900000000000000001"

// Call is one REST call Discord was asked to make.
type Call struct {
	Method, Path string // Path without the /api/v10 prefix: "/channels/C1/messages"
	Body         map[string]any
	Auth         string
	Limited      bool // answered 429
}

// Name is "METHOD /path".
func (c Call) Name() string { return c.Method + " " + c.Path }

// Fake is a fake Discord. Its zero value is not usable: use New.
type Fake struct {
	Server *httptest.Server
	*Gateway

	mu       sync.Mutex
	calls    []Call
	next     int64
	limits   map[string][]limit // "METHOD /path" prefix -> 429s to answer
	messages map[string]map[string]any
	channels map[string]map[string]any
	// Token is the OAuth2 token endpoint's answer (the install's guild included).
	Token map[string]any
	// Me is GET /users/@me's answer (Sign in with Discord).
	Me map[string]any
}

type limit struct {
	retryAfter float64
	global     bool
}

// New starts a fake Discord; it is closed when the test ends (cleanup).
func New(cleanup func(func())) *Fake {
	f := &Fake{next: 1100000000000000000, limits: map[string][]limit{}, messages: map[string]map[string]any{},
		channels: map[string]map[string]any{}}
	f.Gateway = newGateway()
	mux := http.NewServeMux()
	mux.HandleFunc("/gateway", f.Gateway.serve)
	mux.HandleFunc("/gateway/", f.Gateway.serve)
	mux.HandleFunc("/api/oauth2/token", f.token)
	mux.HandleFunc("/api/v10/oauth2/token", f.token)
	mux.HandleFunc("/api/v10/", f.rest)
	f.Server = httptest.NewServer(mux)
	f.Gateway.url = "ws" + strings.TrimPrefix(f.Server.URL, "http") + "/gateway"
	cleanup(f.Close)
	return f
}

// URL is the base URL to give the adapter (DISCORD_API_URL), ending in "/".
func (f *Fake) URL() string { return f.Server.URL + "/" }

// Close stops the Gateway and the server.
func (f *Fake) Close() {
	f.Gateway.closeAll()
	f.Server.Close()
}

// RateLimit makes the next n calls whose "METHOD /path" starts with route answer 429 with
// retry_after seconds (of the route, or global).
func (f *Fake) RateLimit(route string, n int, retryAfter float64, global bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.limits[route] = append(f.limits[route], limit{retryAfter, global})
	}
}

// Calls returns the REST calls made so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Changes returns the calls that changed something and were not refused, as "METHOD /path".
func (f *Fake) Changes() []string {
	var out []string
	for _, c := range f.Calls() {
		if !c.Limited && c.Method != http.MethodGet {
			out = append(out, c.Name())
		}
	}
	return out
}

// Seen returns the calls (not refused) whose "METHOD /path" starts with prefix.
func (f *Fake) Seen(prefix string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if !c.Limited && strings.HasPrefix(c.Name(), prefix) {
			out = append(out, c)
		}
	}
	return out
}

// Message returns a message as the fake holds it (nil when deleted or unknown).
func (f *Fake) Message(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.messages[id]
}

func (f *Fake) id() string {
	f.next++
	return strconv.FormatInt(f.next, 10)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) rest(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v10")
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &body)
	}
	if path == "/gateway" || path == "/gateway/bot" {
		writeJSON(w, http.StatusOK, map[string]any{"url": f.Gateway.url})
		return
	}
	f.mu.Lock()
	call := Call{Method: r.Method, Path: path, Body: body, Auth: r.Header.Get("Authorization")}
	for route, ls := range f.limits {
		if len(ls) > 0 && strings.HasPrefix(call.Name(), route) {
			l := ls[0]
			f.limits[route] = ls[1:]
			call.Limited = true
			f.calls = append(f.calls, call)
			f.mu.Unlock()
			// As Discord documents a 429: the body's retry_after in seconds, and the headers.
			w.Header().Set("Retry-After", strconv.FormatFloat(l.retryAfter, 'f', -1, 64))
			w.Header().Set("X-RateLimit-Scope", map[bool]string{true: "global", false: "user"}[l.global])
			if l.global {
				w.Header().Set("X-RateLimit-Global", "true")
			}
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.", "retry_after": l.retryAfter, "global": l.global})
			return
		}
	}
	f.calls = append(f.calls, call)
	code, res := f.answer(r.Method, strings.Split(strings.Trim(path, "/"), "/"), body, raw)
	f.mu.Unlock()
	if code == http.StatusNoContent {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, res)
}

func notFound() (int, any) {
	return http.StatusNotFound, map[string]any{"message": "Unknown Message", "code": 10008}
}

// answer is the REST API's answer (f.mu held).
func (f *Fake) answer(method string, p []string, body map[string]any, raw []byte) (int, any) {
	switch {
	case method == http.MethodPost && len(p) == 3 && p[0] == "channels" && p[2] == "messages":
		m := map[string]any{"id": f.id(), "channel_id": p[1], "type": 0, "content": body["content"], "components": body["components"],
			"author": map[string]any{"id": BotID, "username": "PolicyKit", "bot": true}, "timestamp": time.Now().UTC().Format(time.RFC3339)}
		if ref, ok := body["message_reference"].(map[string]any); ok {
			m["message_reference"], m["type"] = ref, 19
		}
		f.messages[m["id"].(string)] = m
		return http.StatusOK, m
	case method == http.MethodPatch && len(p) == 4 && p[0] == "channels" && p[2] == "messages":
		m, ok := f.messages[p[3]]
		if !ok {
			return notFound()
		}
		for _, k := range []string{"content", "components"} {
			if v, ok := body[k]; ok {
				m[k] = v
			}
		}
		return http.StatusOK, m
	case method == http.MethodDelete && len(p) == 4 && p[0] == "channels" && p[2] == "messages":
		delete(f.messages, p[3])
		return http.StatusNoContent, nil
	case method == http.MethodPatch && len(p) == 2 && p[0] == "channels":
		ch := f.channel(p[1])
		if n, ok := body["name"].(string); ok {
			ch["name"] = n
		}
		return http.StatusOK, ch
	case method == http.MethodDelete && len(p) == 2 && p[0] == "channels":
		ch := f.channel(p[1])
		delete(f.channels, p[1])
		return http.StatusOK, ch
	case method == http.MethodPost && len(p) == 3 && p[0] == "guilds" && p[2] == "channels":
		ch := f.channel(f.id())
		ch["guild_id"], ch["name"], ch["type"] = p[1], body["name"], body["type"]
		return http.StatusCreated, ch
	case method == http.MethodDelete && len(p) == 4 && p[0] == "guilds" && p[2] == "members":
		return http.StatusNoContent, nil
	case method == http.MethodPut && len(p) == 5 && p[0] == "applications" && p[4] == "commands":
		var cmds []map[string]any
		_ = json.Unmarshal(raw, &cmds)
		for _, c := range cmds {
			c["id"], c["application_id"], c["guild_id"], c["version"] = f.id(), p[1], p[3], "1"
		}
		return http.StatusOK, cmds
	case method == http.MethodPost && len(p) == 3 && p[0] == "webhooks":
		m := map[string]any{"id": f.id(), "type": 20, "content": body["content"], "flags": body["flags"], "webhook_id": p[1],
			"author": map[string]any{"id": p[1], "username": "PolicyKit", "bot": true}}
		f.messages[m["id"].(string)] = m
		return http.StatusOK, m
	case method == http.MethodGet && len(p) == 2 && p[0] == "users" && p[1] == "@me":
		if f.Me == nil {
			return http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0}
		}
		return http.StatusOK, f.Me
	}
	return http.StatusNotFound, map[string]any{"message": "404: Not Found", "code": 0}
}

func (f *Fake) channel(id string) map[string]any {
	ch, ok := f.channels[id]
	if !ok {
		ch = map[string]any{"id": id, "type": 0, "name": "channel-" + id}
		f.channels[id] = ch
	}
	return ch
}

// token answers the OAuth2 token exchange with f.Token.
func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.calls = append(f.calls, Call{Method: r.Method, Path: "/oauth2/token", Body: map[string]any{"code": r.Form.Get("code"),
		"grant_type": r.Form.Get("grant_type"), "redirect_uri": r.Form.Get("redirect_uri")}})
	tok := f.Token
	f.mu.Unlock()
	if tok == nil || r.Form.Get("code") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
		return
	}
	writeJSON(w, http.StatusOK, tok)
}

// Key is an application's Ed25519 key pair, signing interactions as Discord does.
type Key struct {
	Public  ed25519.PublicKey
	private ed25519.PrivateKey
}

// NewKey returns a fresh key pair.
func NewKey() Key {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return Key{Public: pub, private: priv}
}

// PublicHex is the public key as the developer portal shows it (DISCORD_PUBLIC_KEY).
func (k Key) PublicHex() string { return hex.EncodeToString(k.Public) }

// Post posts an interaction's body to url signed with k at time at, and returns the status
// and the response's body.
func (k Key) Post(url string, body []byte, at time.Time) (int, []byte, error) {
	ts := strconv.FormatInt(at.Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Timestamp", ts)
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(k.private, append([]byte(ts), body...))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, nil
}

// SlashCommand is the body of a /policykit interaction with the given value.
func SlashCommand(id, appID, guild, channel, member, value string) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "application_id": appID, "type": 2, "token": "itoken-" + id, "version": 1,
		"guild_id": guild, "channel_id": channel, "channel": map[string]any{"id": channel, "type": 0},
		"member": map[string]any{"user": map[string]any{"id": member, "username": "member-" + member}, "roles": []any{}},
		"data": map[string]any{"id": "cmd-policykit", "name": "policykit", "type": 1,
			"options": []any{map[string]any{"name": "value", "type": 3, "value": value}}}})
	return b
}

// Click is the body of a click on a button (custom_id) of a message.
func Click(id, appID, guild, channel, message, member, customID string) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "application_id": appID, "type": 3, "token": "itoken-" + id, "version": 1,
		"guild_id": guild, "channel_id": channel,
		"member":  map[string]any{"user": map[string]any{"id": member, "username": "member-" + member}, "roles": []any{}},
		"message": map[string]any{"id": message, "channel_id": channel, "type": 0},
		"data":    map[string]any{"custom_id": customID, "component_type": 2}})
	return b
}

// Ping is the body of a PING interaction.
func Ping(appID string) []byte {
	return []byte(fmt.Sprintf(`{"id":"ping-1","application_id":%q,"type":1,"token":"t","version":1}`, appID))
}
