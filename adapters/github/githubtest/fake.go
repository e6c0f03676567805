// Package githubtest is a fake GitHub for tests: an httptest server answering the REST API
// calls the GitHub adapter makes (installation tokens, issues, comments, labels, reactions,
// merges, branches) with GitHub's documented shapes, its secondary rate limit included, and
// a signer of webhook deliveries.
package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is the installation token the fake issues.
const Token = "ghs_faketoken"

// Call is one REST call GitHub was asked to make.
type Call struct {
	Method, Path string
	Body         map[string]any
	Auth         string
	Limited      bool // refused for its rate
}

// Name is "METHOD /path".
func (c Call) Name() string { return c.Method + " " + c.Path }

// Reaction is a reaction on an issue, as GET .../reactions lists it.
type Reaction struct {
	ID      int64
	Login   string
	Content string
}

// Issue is an issue the fake knows.
type Issue struct {
	Number    int
	Title     string
	Body      string
	State     string
	Labels    []string
	Comments  []string
	Reactions []Reaction
}

// Fake is a fake GitHub. Use New.
type Fake struct {
	Server *httptest.Server
	// Account is the login of the installation's account (GET /app/installations/{id}).
	Account string
	// Protected are the protected branches, "repo/branch".
	Protected map[string]bool

	mu      sync.Mutex
	calls   []Call
	issues  map[string]*Issue // "owner/repo#n"
	nextNum map[string]int
	nextID  int64
	limited map[string]int // "METHOD /path" prefix -> secondary rate limits to answer
	reacted map[string]int64
}

// New starts a fake GitHub, closed by cleanup.
func New(cleanup func(func())) *Fake {
	f := &Fake{Account: "octo-org", Protected: map[string]bool{}, issues: map[string]*Issue{}, nextNum: map[string]int{}, nextID: 1000, limited: map[string]int{}, reacted: map[string]int64{}}
	f.Server = httptest.NewServer(f)
	cleanup(f.Server.Close)
	return f
}

// URL is the API's base URL, ending in "/".
func (f *Fake) URL() string { return f.Server.URL + "/" }

// Calls returns the calls made so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Changes names the calls that changed something and were answered, in order (token
// requests aside).
func (f *Fake) Changes() []string {
	var out []string
	for _, c := range f.Calls() {
		if c.Limited || c.Method == http.MethodGet || strings.HasSuffix(c.Path, "/access_tokens") {
			continue
		}
		out = append(out, c.Name())
	}
	return out
}

// Limit makes the next n calls whose "METHOD /path" starts with prefix answered with
// GitHub's secondary rate limit (403, Retry-After: 1).
func (f *Fake) Limit(prefix string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited[prefix] += n
}

// Issue returns a copy of an issue.
func (f *Fake) Issue(owner, repo string, n int) (Issue, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[fmt.Sprintf("%s/%s#%d", owner, repo, n)]
	if !ok {
		return Issue{}, false
	}
	c := *is
	c.Labels = append([]string(nil), is.Labels...)
	c.Comments = append([]string(nil), is.Comments...)
	c.Reactions = append([]Reaction(nil), is.Reactions...)
	return c, true
}

// AddIssue makes an issue exist (one opened on GitHub by a member).
func (f *Fake) AddIssue(owner, repo string, is Issue) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := owner + "/" + repo
	if is.Number > f.nextNum[k] {
		f.nextNum[k] = is.Number
	}
	if is.State == "" {
		is.State = "open"
	}
	f.issues[fmt.Sprintf("%s#%d", k, is.Number)] = &is
}

// React adds login's reaction (content "+1" or "-1") to an issue; key names one click, so
// that a reaction is added once however often it is asked. It returns the reaction's id.
func (f *Fake) React(owner, repo string, n int, login, content, key string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issues[fmt.Sprintf("%s/%s#%d", owner, repo, n)]
	if is == nil {
		return 0
	}
	if id, ok := f.reacted[key]; ok {
		return id
	}
	// A new reaction gets a higher id than every earlier one, as on GitHub.
	f.nextID++
	id := f.nextID
	f.reacted[key] = id
	is.Reactions = append(is.Reactions, Reaction{ID: id, Login: login, Content: content})
	return id
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	call := Call{Method: r.Method, Path: r.URL.Path, Body: body, Auth: r.Header.Get("Authorization")}
	f.mu.Lock()
	defer f.mu.Unlock()
	for prefix, n := range f.limited {
		if n > 0 && strings.HasPrefix(call.Name(), prefix) {
			f.limited[prefix] = n - 1
			call.Limited = true
			f.calls = append(f.calls, call)
			// GitHub's secondary rate limit, as documented: 403, Retry-After in seconds, and a
			// documentation_url naming secondary rate limits.
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusForbidden, map[string]any{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
			return
		}
	}
	f.calls = append(f.calls, call)
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if seg[0] == "app" {
		f.serveApp(w, r, seg, call)
		return
	}
	if call.Auth != "token "+Token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if len(seg) < 4 || seg[0] != "repos" {
		notFound(w)
		return
	}
	owner, repo, rest := seg[1], seg[2], seg[3:]
	k := owner + "/" + repo
	switch {
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "branches":
		writeJSON(w, http.StatusOK, map[string]any{"name": rest[1], "protected": f.Protected[repo+"/"+rest[1]],
			"commit": map[string]any{"sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"}})
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "issues":
		f.nextNum[k]++
		n := f.nextNum[k]
		is := &Issue{Number: n, Title: str(body["title"]), Body: str(body["body"]), State: "open"}
		f.issues[fmt.Sprintf("%s#%d", k, n)] = is
		writeJSON(w, http.StatusCreated, f.issueJSON(owner, repo, is))
	case r.Method == http.MethodPut && len(rest) == 3 && rest[0] == "pulls" && rest[2] == "merge":
		writeJSON(w, http.StatusOK, map[string]any{"sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "merged": true, "message": "Pull Request successfully merged"})
	case len(rest) >= 2 && rest[0] == "issues":
		n, _ := strconv.Atoi(rest[1])
		is := f.issues[fmt.Sprintf("%s#%d", k, n)]
		if is == nil {
			notFound(w)
			return
		}
		f.serveIssue(w, r, owner, repo, is, rest[2:], body)
	default:
		notFound(w)
	}
}

func (f *Fake) serveApp(w http.ResponseWriter, r *http.Request, seg []string, call Call) {
	if !strings.HasPrefix(call.Auth, "Bearer ") || strings.Count(call.Auth, ".") != 2 {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "A JSON web token could not be decoded"})
		return
	}
	switch {
	case r.Method == http.MethodPost && len(seg) == 4 && seg[1] == "installations" && seg[3] == "access_tokens":
		writeJSON(w, http.StatusCreated, map[string]any{"token": Token, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"permissions": map[string]any{"issues": "write"}, "repository_selection": "all"})
	case r.Method == http.MethodGet && len(seg) == 3 && seg[1] == "installations":
		id, _ := strconv.ParseInt(seg[2], 10, 64)
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "app_id": 1, "target_type": "Organization",
			"account": map[string]any{"login": f.Account, "id": 1, "type": "Organization"}})
	default:
		notFound(w)
	}
}

func (f *Fake) serveIssue(w http.ResponseWriter, r *http.Request, owner, repo string, is *Issue, rest []string, body map[string]any) {
	switch {
	case r.Method == http.MethodPatch && len(rest) == 0:
		if s := str(body["state"]); s != "" {
			is.State = s
		}
		writeJSON(w, http.StatusOK, f.issueJSON(owner, repo, is))
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "comments":
		is.Comments = append(is.Comments, str(body["body"]))
		f.nextID++
		writeJSON(w, http.StatusCreated, map[string]any{"id": f.nextID, "body": str(body["body"]),
			"html_url": fmt.Sprintf("https://github.com/%s/%s/issues/%d#issuecomment-%d", owner, repo, is.Number, f.nextID)})
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "labels":
		labels, _ := body["labels"].([]any)
		for _, l := range labels {
			if s := str(l); s != "" && !contains(is.Labels, s) {
				is.Labels = append(is.Labels, s)
			}
		}
		writeJSON(w, http.StatusOK, labelsJSON(is.Labels))
	case r.Method == http.MethodDelete && len(rest) == 2 && rest[0] == "labels":
		var kept []string
		found := false
		for _, l := range is.Labels {
			if l == rest[1] {
				found = true
				continue
			}
			kept = append(kept, l)
		}
		if !found {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Label does not exist"})
			return
		}
		is.Labels = kept
		writeJSON(w, http.StatusOK, labelsJSON(is.Labels))
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "reactions":
		out := []map[string]any{}
		for _, re := range is.Reactions {
			out = append(out, map[string]any{"id": re.ID, "node_id": "MDg6UmVhY3Rpb24x", "content": re.Content,
				"created_at": "2026-01-01T00:00:00Z", "user": map[string]any{"login": re.Login, "id": 1, "type": "User"}})
		}
		writeJSON(w, http.StatusOK, out)
	default:
		notFound(w)
	}
}

func (f *Fake) issueJSON(owner, repo string, is *Issue) map[string]any {
	return map[string]any{"id": 1, "number": is.Number, "title": is.Title, "body": is.Body, "state": is.State,
		"html_url": fmt.Sprintf("https://github.com/%s/%s/issues/%d", owner, repo, is.Number), "labels": labelsJSON(is.Labels)}
}

func labelsJSON(ls []string) []map[string]any {
	out := []map[string]any{}
	for _, l := range ls {
		out = append(out, map[string]any{"name": l, "color": "ededed"})
	}
	return out
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// NewKey returns a new App private key, PEM.
func NewKey() string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// Deliver posts a webhook delivery of event (X-GitHub-Event) with delivery id, signed
// with secret as GitHub signs it (X-Hub-Signature-256), and returns the status answered.
func Deliver(url, secret, event, delivery string, payload any) (int, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return 0, err
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	req.Header.Set("User-Agent", "GitHub-Hookshot/fake")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// IssuesEvent is an "issues" webhook payload of action on issue n of owner/repo by sender,
// updated at (the event's time).
func IssuesEvent(action, owner, repo string, n int, title, sender, label string, installation int64, at time.Time) map[string]any {
	p := map[string]any{
		"action": action,
		"issue": map[string]any{"number": n, "title": title, "body": "", "state": "open", "updated_at": at.UTC().Format(time.RFC3339),
			"html_url": fmt.Sprintf("https://github.com/%s/%s/issues/%d", owner, repo, n), "user": map[string]any{"login": sender, "type": "User"}},
		"repository":   map[string]any{"name": repo, "full_name": owner + "/" + repo, "owner": map[string]any{"login": owner, "type": "Organization"}},
		"sender":       map[string]any{"login": sender, "type": "User"},
		"installation": map[string]any{"id": installation},
	}
	if label != "" {
		p["label"] = map[string]any{"name": label, "color": "ededed"}
	}
	return p
}
