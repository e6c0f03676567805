// Package reddittest is a fake Reddit for tests: an httptest server answering the OAuth2
// token endpoint and the API calls the Reddit adapter makes (the account, a subreddit's
// about and new listing, comment trees, submit, comment, remove, approve) with Reddit's
// documented shapes (Listings of Things, api_type=json answers), its rate-limit headers and
// 429 included.
package reddittest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// The credentials the fake accepts: the app's client, the authorization code it hands out,
// and the access tokens it issues (AccessToken at the code's exchange, RefreshedToken at a
// refresh).
const (
	ClientID       = "cid"
	ClientSecret   = "csecret"
	Code           = "code-1"
	AccessToken    = "at-1"
	RefreshedToken = "at-2"
	RefreshToken   = "rt-1"
)

// Fake is a fake Reddit for one subreddit. Use New.
type Fake struct {
	srv *httptest.Server

	mu sync.Mutex
	// Sub is the subreddit (default "garden"); Me the account that authorized the app
	// (default "modbot"); Moderator whether Me moderates Sub (default true; SetModerator
	// once the fake serves). Set Sub and Me before the first call.
	Sub       string
	Me        string
	Moderator bool
	calls     []string // "METHOD /path [id]" of the answered calls that change something
	posts     []map[string]any
	state     map[string]string // post fullname -> "removed" | "approved"
	comments  map[string]string // comment fullname -> text
	replies   map[string][]map[string]any
	next      int
	limitNext int
	limited   int
}

// New starts a fake Reddit, closed by cleanup.
func New(cleanup func(func())) *Fake {
	f := &Fake{Sub: "garden", Me: "modbot", Moderator: true, state: map[string]string{}, comments: map[string]string{}, replies: map[string][]map[string]any{}}
	f.srv = httptest.NewServer(f)
	cleanup(f.srv.Close)
	return f
}

// URL is the base URL of the API and of the site (authorization, tokens), ending in "/".
func (f *Fake) URL() string { return f.srv.URL + "/" }

// Changes names the answered calls that changed something, in order; a moderation call is
// followed by the fullname it was about ("POST /api/remove t3_p1").
func (f *Fake) Changes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Limit makes the next n API calls answered 429 (X-Ratelimit-Remaining 0, reset in 1s).
func (f *Fake) Limit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limitNext += n
}

// Limited is how many calls were answered 429.
func (f *Fake) Limited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limited
}

// AddPost puts a post at the top of the subreddit's new listing.
func (f *Fake) AddPost(id, author, title string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = append([]map[string]any{{"kind": "t3", "data": map[string]any{"id": id, "name": "t3_" + id, "author": author, "title": title,
		"selftext": "text of " + id, "subreddit": f.Sub, "permalink": "/r/" + f.Sub + "/comments/" + id + "/", "created_utc": 1.7e9}}}, f.posts...)
}

// PostState is "removed" or "approved" after a moderator's last call on the post, "" before.
func (f *Fake) PostState(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state[name]
}

// SetModerator says whether the account moderates the subreddit.
func (f *Fake) SetModerator(mod bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Moderator = mod
}

// Comments returns the comments made through the API, by fullname.
func (f *Fake) Comments() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.comments {
		out[k] = v
	}
	return out
}

// Reply adds author's reply (fullname name, created at) to a comment; a name already there
// is not added again.
func (f *Fake) Reply(comment, author, body, name string, at float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.replies[comment] {
		if r["data"].(map[string]any)["name"] == name {
			return
		}
	}
	f.replies[comment] = append(f.replies[comment], map[string]any{"kind": "t1", "data": map[string]any{"name": name, "id": strings.TrimPrefix(name, "t1_"),
		"author": author, "body": body, "created_utc": at}})
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = r.ParseForm()
	if r.URL.Path == "/api/v1/access_token" {
		f.token(w, r)
		return
	}
	if a := r.Header.Get("Authorization"); a != "Bearer "+AccessToken && a != "Bearer "+RefreshedToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message": "Unauthorized", "error": 401}`))
		return
	}
	if f.limitNext > 0 {
		f.limitNext--
		f.limited++
		w.Header().Set("X-Ratelimit-Used", "100")
		w.Header().Set("X-Ratelimit-Remaining", "0.0")
		w.Header().Set("X-Ratelimit-Reset", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"message": "Too Many Requests", "error": 429}`))
		return
	}
	w.Header().Set("X-Ratelimit-Used", "1")
	w.Header().Set("X-Ratelimit-Remaining", "99.0")
	w.Header().Set("X-Ratelimit-Reset", "300")
	name := r.Method + " " + r.URL.Path
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/me":
		writeJSON(w, map[string]any{"name": f.Me, "id": "u1", "is_mod": f.Moderator})
	case r.Method == http.MethodGet && r.URL.Path == "/r/"+f.Sub+"/about":
		writeJSON(w, map[string]any{"kind": "t5", "data": map[string]any{"display_name": f.Sub, "name": "t5_" + f.Sub,
			"user_is_moderator": f.Moderator, "subreddit_type": "public"}})
	case r.Method == http.MethodGet && r.URL.Path == "/r/"+f.Sub+"/new":
		children := f.posts
		if before := r.Form.Get("before"); before != "" {
			children = nil
			for _, p := range f.posts {
				if p["data"].(map[string]any)["name"] == before {
					break
				}
				children = append(children, p)
			}
		}
		writeJSON(w, map[string]any{"kind": "Listing", "data": map[string]any{"children": nonNil(children), "after": nil, "before": nil}})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/comments/"):
		c := "t1_" + r.Form.Get("comment")
		var replies any = ""
		if rs := f.replies[c]; len(rs) > 0 {
			replies = map[string]any{"kind": "Listing", "data": map[string]any{"children": rs}}
		}
		article := "t3_" + strings.TrimPrefix(r.URL.Path, "/comments/")
		writeJSON(w, []any{
			map[string]any{"kind": "Listing", "data": map[string]any{"children": []any{map[string]any{"kind": "t3", "data": map[string]any{"name": article}}}}},
			map[string]any{"kind": "Listing", "data": map[string]any{"children": []any{map[string]any{"kind": "t1", "data": map[string]any{"name": c, "body": f.comments[c], "replies": replies}}}}},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/api/submit":
		f.calls = append(f.calls, name)
		f.next++
		id := fmt.Sprintf("s%d", f.next)
		// The post is the account's, at the top of the new listing, as on Reddit.
		f.posts = append([]map[string]any{{"kind": "t3", "data": map[string]any{"id": id, "name": "t3_" + id, "author": f.Me, "title": r.Form.Get("title"),
			"selftext": r.Form.Get("text"), "subreddit": f.Sub, "permalink": "/r/" + f.Sub + "/comments/" + id + "/", "created_utc": 1.7e9}}}, f.posts...)
		writeJSON(w, map[string]any{"json": map[string]any{"errors": []any{}, "data": map[string]any{"id": id, "name": "t3_" + id,
			"url": "https://www.reddit.com/r/" + f.Sub + "/comments/" + id + "/"}}})
	case r.Method == http.MethodPost && r.URL.Path == "/api/comment":
		f.calls = append(f.calls, name)
		f.next++
		id := fmt.Sprintf("c%d", f.next)
		f.comments["t1_"+id] = r.Form.Get("text")
		writeJSON(w, map[string]any{"json": map[string]any{"errors": []any{}, "data": map[string]any{"things": []any{
			map[string]any{"kind": "t1", "data": map[string]any{"id": id, "name": "t1_" + id, "link_id": r.Form.Get("thing_id"),
				"body": r.Form.Get("text"), "permalink": "/r/" + f.Sub + "/comments/x/_/" + id + "/"}}}}}})
	case r.Method == http.MethodPost && (r.URL.Path == "/api/remove" || r.URL.Path == "/api/approve"):
		id := r.Form.Get("id")
		f.calls = append(f.calls, name+" "+id)
		f.state[id] = strings.TrimPrefix(r.URL.Path, "/api/") + "d"
		_, _ = w.Write([]byte(`{}`))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message": "Not Found", "error": 404}`))
	}
}

// token is POST /api/v1/access_token: the app authenticates with HTTP Basic; grant_type
// authorization_code exchanges Code (at the registered redirect_uri), refresh_token renews
// RefreshToken. A bad client is 401; a bad grant is 200 with {"error": ...}, as on Reddit.
func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != ClientID || secret != ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message": "Unauthorized", "error": 401}`))
		return
	}
	switch {
	case r.PostForm.Get("grant_type") == "authorization_code" && r.PostForm.Get("code") == Code && r.PostForm.Get("redirect_uri") != "":
		writeJSON(w, map[string]any{"access_token": AccessToken, "token_type": "bearer", "expires_in": 86400, "refresh_token": RefreshToken, "scope": "identity read submit modposts history"})
	case r.PostForm.Get("grant_type") == "refresh_token" && r.PostForm.Get("refresh_token") == RefreshToken:
		writeJSON(w, map[string]any{"access_token": RefreshedToken, "token_type": "bearer", "expires_in": 86400, "refresh_token": RefreshToken, "scope": "identity read submit modposts history"})
	default:
		writeJSON(w, map[string]any{"error": "invalid_grant"})
	}
}

func writeJSON(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }

func nonNil(s []map[string]any) []map[string]any {
	if s == nil {
		return []map[string]any{}
	}
	return s
}
