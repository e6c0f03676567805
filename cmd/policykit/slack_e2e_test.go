package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/starterkits"
)

// recordingSlack is slacktest's fake Slack with recording handlers for the Web API methods
// the adapter calls; each call's token (from the Authorization header) is recorded in its
// form as "token".
type recordingSlack struct {
	mu      sync.Mutex
	calls   map[string][]url.Values
	ts      int
	limited map[string]int // method -> how many more calls are answered 429
}

// rateLimit makes the next n calls of method answer 429 with Retry-After: 1 (recorded
// too, as Slack saw them).
func (f *recordingSlack) rateLimit(method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited[method] += n
}

func newRecordingSlack(t *testing.T) (*recordingSlack, string) {
	f := &recordingSlack{calls: map[string][]url.Values{}, limited: map[string]int{}}
	answers := map[string]func(url.Values) map[string]any{
		"auth.test": func(url.Values) map[string]any { return map[string]any{"user_id": "UBOT", "team_id": "T1"} },
		"conversations.list": func(url.Values) map[string]any { // the workspace's channels, as the adapter learns them
			return map[string]any{"channels": []any{
				map[string]any{"id": "C1", "name": "general", "is_channel": true},
				map[string]any{"id": "C025LDZ76R3", "name": "quiet", "is_channel": true},
			}, "response_metadata": map[string]any{"next_cursor": ""}}
		},
		"conversations.info": func(v url.Values) map[string]any {
			return map[string]any{"channel": map[string]any{"id": v.Get("channel"), "name": "quiet"}}
		},
		"chat.delete": func(v url.Values) map[string]any {
			return map[string]any{"channel": v.Get("channel"), "ts": v.Get("ts")}
		},
		"chat.postEphemeral": func(url.Values) map[string]any { return map[string]any{"message_ts": "1700000000.999999"} },
		"chat.postMessage": func(v url.Values) map[string]any {
			f.ts++
			return map[string]any{"channel": v.Get("channel"), "ts": fmt.Sprintf("1700000001.%06d", f.ts)}
		},
		"chat.scheduleMessage": func(v url.Values) map[string]any {
			return map[string]any{"channel": v.Get("channel"), "scheduled_message_id": "Q1", "post_at": v.Get("post_at")}
		},
		"conversations.kick": func(url.Values) map[string]any { return map[string]any{} },
		"conversations.rename": func(v url.Values) map[string]any {
			return map[string]any{"channel": map[string]any{"id": v.Get("channel"), "name": v.Get("name")}}
		},
		"chat.getPermalink": func(v url.Values) map[string]any {
			return map[string]any{"permalink": "https://garden.slack.com/archives/" + v.Get("channel") + "/p" + v.Get("message_ts")}
		},
	}
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		for m, answer := range answers {
			c.Handle("/"+m, func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				if token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); token != "" && r.Form.Get("token") == "" {
					r.Form.Set("token", token) // recorded with the call's form
				}
				f.mu.Lock()
				f.calls[m] = append(f.calls[m], r.Form)
				if f.limited[m] > 0 {
					f.limited[m]--
					f.mu.Unlock()
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				res := answer(r.Form)
				f.mu.Unlock()
				res["ok"] = true
				_ = json.NewEncoder(w).Encode(res)
			})
		}
	})
	srv.Start()
	t.Cleanup(srv.Stop)
	return f, srv.GetAPIURL()
}

func (f *recordingSlack) seen(method string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls[method]...)
}

func signedPost(t *testing.T, hook, secret, contentType string, body []byte) int {
	t.Helper()
	code, err := trySignedPost(hook, secret, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// trySignedPost posts body signed as Slack signs requests; 0 and the error when the hook
// cannot be reached.
func trySignedPost(hook, secret, contentType string, body []byte) (int, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// startSlackApp starts the App with its own Slack adapter, which talks to the fake Slack at
// apiURL for workspace T1 (bot token xoxb-garden, signing secret "shh") and serves the hook
// it returns; tweak (when not nil) adjusts the configuration first.
func startSlackApp(t *testing.T, apiURL string, tweak func(*Config)) (app *App, hook string) {
	t.Helper()
	cfg := engineConfig(t, "gochannel")
	cfg.LogPlatforms = []string{domain.PlatformLog}
	env := map[string]string{"SLACK_SIGNING_SECRET": "shh", "SLACK_API_URL": apiURL, "SLACK_TEAM_ID": "T1", "SLACK_BOT_TOKEN": "xoxb-garden"}
	cfg.getenv = func(k string) string { return env[k] }
	if tweak != nil {
		tweak(&cfg)
	}
	app, stop := startApp(t, cfg)
	t.Cleanup(stop)
	return app, "http://" + app.listener.Addr().String() + "/api/hooks/slack"
}

// newSlackGarden creates the community "garden" of Slack workspace T1 with the Testing kit
// and alice (UALICE) its admin, and adds the policies.
func newSlackGarden(t testing.TB, app *App, policies ...domain.AddPolicy) {
	t.Helper()
	ctx := context.Background()
	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewCommunity(ctx, app.Store(), domain.CreateCommunity{CommunityID: "garden", Name: "Garden", Platform: domain.PlatformSlack, ExternalID: "T1"},
		kit, domain.RegisterUser{UserID: "alice", Username: "UALICE", ReadableName: "Alice", IsAdmin: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, p := range policies {
		if _, err := engine.UpdateCommunity(ctx, app.Store(), "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
			return c.DecideAddPolicy(p, time.Now())
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// awaitWorkspace waits for a Slack workspace's community to reach the read models and the
// adapters' directory, where the adapter looks communities up.
func awaitWorkspace(t testing.TB, app *App, team string) {
	t.Helper()
	waitFor(t, "the community of workspace "+team+" in the read model", func() bool {
		var n int
		_ = app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM community_platforms WHERE platform = 'slack' AND external_id = $1`, team).Scan(&n)
		return n == 1
	})
	waitFor(t, "the community of workspace "+team+" in the adapters' directory", func() bool {
		var n int
		_ = app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM platform_directory_platforms WHERE platform = 'slack' AND external_id = $1`, team).Scan(&n)
		return n == 1
	})
}

// The seed's "Vote on renaming Slack channels" through the whole App and the Slack adapter:
// a signed channel_rename comes in; the engine reverts it and starts a vote; a member clicks
// thumbs up; the engine executes the rename and posts in the vote's thread.
func TestSlackRenameVoteEndToEnd(t *testing.T) {
	cfg := engineConfig(t, "gochannel")
	cfg.LogPlatforms = []string{domain.PlatformLog}
	app, stop := startApp(t, cfg)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	newSlackGarden(t, app, domain.AddPolicy{PolicyID: "rename-vote", Kind: domain.KindPlatform, Name: "Vote on renaming Slack channels",
		ActionTypes: []string{domain.ActionSlackRenameConversation}, PolicyCode: renameVote})

	fake, apiURL := newRecordingSlack(t)
	env := map[string]string{"SLACK_SIGNING_SECRET": "shh", "SLACK_API_URL": apiURL, "SLACK_TEAM_ID": "T1", "SLACK_BOT_TOKEN": "xoxb-garden"}
	a, err := newSlackAdapter(ctx, app.Pool(), app.Bus(), func(k string) string { return env[k] }, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ready := make(chan struct{})
	go func() { _ = a.Run(ctx, app.Bus(), ready) }()
	<-ready
	hookServer := httptest.NewServer(a)
	defer hookServer.Close()
	hook := struct{ URL string }{hookServer.URL + "/api/hooks/slack"}
	awaitWorkspace(t, app, "T1")

	rename := fmt.Sprintf(`{"type":"event_callback","team_id":"T1","event_id":"Ev-e2e","event_time":%d,
		"event":{"type":"channel_rename","channel":{"id":"C1","name":"new-name","created":1600000000}}}`, time.Now().Unix())
	if code := signedPost(t, hook.URL, "shh", "application/json", []byte(rename)); code != http.StatusOK {
		t.Fatalf("rename event answered %d", code)
	}
	waitFor(t, "the rename reverted and a vote posted", func() bool {
		r, p := fake.seen("conversations.rename"), fake.seen("chat.postMessage")
		return len(r) == 1 && r[0].Get("name") == "general" && len(p) == 1 && strings.Contains(p[0].Get("blocks"), "policykit_vote_yes")
	})
	vote := fake.seen("chat.postMessage")[0]
	if vote.Get("channel") != "C1" {
		t.Fatalf("vote posted to %q", vote.Get("channel"))
	}
	ts := "1700000001.000001"
	waitFor(t, "the engine to record the vote post", func() bool { // a click before it would pass with no vote_post_id
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, domain.EventVotePostRecorded).Scan(&n)
		return n == 1
	})

	click := func(member, value, actionTS string) int {
		payload, _ := json.Marshal(map[string]any{"type": "block_actions", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": member},
			"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": "C1"},
			"actions":   []any{map[string]any{"type": "button", "block_id": "policykit_vote", "action_id": "policykit_vote_" + value, "value": value, "action_ts": actionTS}}})
		return signedPost(t, hook.URL, "shh", "application/x-www-form-urlencoded", []byte(url.Values{"payload": {string(payload)}}.Encode()))
	}
	if code := click("UBOB", "yes", "1700000100.000001"); code != http.StatusOK {
		t.Fatalf("click answered %d", code)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, p := fake.seen("conversations.rename"), fake.seen("chat.postMessage")
		if len(r) == 2 && r[1].Get("name") == "new-name" && len(p) == 2 && p[1].Get("thread_ts") == ts {
			break
		}
		if time.Now().After(deadline) {
			rows, _ := app.Pool().Query(ctx, `SELECT stream, type, data::text FROM events WHERE global_position > 8 ORDER BY global_position`)
			for rows.Next() {
				var s, ty, d string
				_ = rows.Scan(&s, &ty, &d)
				t.Logf("%.20s %s %.250s", s, ty, d)
			}
			rows.Close()
			t.Fatalf("timed out waiting for the rename executed and the result posted in the vote's thread: renames %v posts %v", r, p)
		}
	}
	c, err := engine.LoadCommunity(ctx, app.Store(), "garden")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.UserByUsername(domain.PlatformSlack, "UBOB"); !ok {
		t.Fatal("the voter was not registered")
	}

	// A click once the proposal passed is answered to the member alone and casts nothing; a
	// button value the vote does not offer is a bad request.
	waitFor(t, "the proposal's outcome in the read model", func() bool {
		var status string
		_ = app.Pool().QueryRow(ctx, `SELECT status FROM proposals WHERE action_type = $1`, domain.ActionSlackRenameConversation).Scan(&status)
		return status == domain.StatusPassed
	})
	if code := click("UCAROL", "no", "1700000200.000001"); code != http.StatusOK {
		t.Fatalf("late click answered %d", code)
	}
	if e := fake.seen("chat.postEphemeral"); len(e) != 1 || e[0].Get("user") != "UCAROL" || e[0].Get("text") != "This vote has ended: PASSED." {
		t.Fatalf("late click answered with %v", e)
	}
	if code := click("UCAROL", "maybe", "1700000300.000001"); code != http.StatusBadRequest {
		t.Fatalf("a click for maybe answered %d, want 400", code)
	}
	var votes int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, domain.EventVoteCast).Scan(&votes); err != nil || votes != 1 {
		t.Fatalf("%d votes recorded (%v), want bob's only", votes, err)
	}
}
