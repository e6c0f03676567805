package metagov

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeMetagov is a Metagov server as its internal API behaves: actions answer an object,
// a started process is answered 202 with its Location, read with GET and closed with DELETE.
// It is mounted under prefix, as behind a gateway, and its Locations do not carry the prefix,
// as Metagov's do not. Every request must name a Metagov community; with key set, it must
// also carry that bearer token.
type fakeMetagov struct {
	srv    *httptest.Server
	prefix string
	key    string

	mu        sync.Mutex
	calls     []fakeCall
	processes map[int]map[string]any
	next      int
	// fail answers the next requests of "METHOD /path" with these, in turn.
	fail map[string][]fakeFailure
	// bigAction answers actions with a body larger than the adapter reads.
	bigAction bool
}

type fakeCall struct {
	Method, Path    string
	Community, Auth string
	ContentType     string
	Body            map[string]any
	Failed          bool // answered with an injected failure
}

type fakeFailure struct {
	status     int
	retryAfter string
	body       string
}

func newFakeMetagov(t *testing.T, key string) *fakeMetagov {
	t.Helper()
	f := &fakeMetagov{prefix: "/metagov", key: key, processes: map[int]map[string]any{}, fail: map[string][]fakeFailure{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/internal/action/{name}", f.action)
	mux.HandleFunc("POST /api/internal/process/{name}", f.start)
	mux.HandleFunc("GET /api/internal/process/{name}/{id}", f.process)
	mux.HandleFunc("DELETE /api/internal/process/{name}/{id}", f.process)
	f.srv = httptest.NewServer(http.StripPrefix(f.prefix, f.gate(mux)))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the fake's METAGOV_URL.
func (f *fakeMetagov) URL() string { return f.srv.URL + f.prefix }

func (f *fakeMetagov) failNext(method, path string, failures ...fakeFailure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method+" "+path] = append(f.fail[method+" "+path], failures...)
}

// gate records each request and answers the injected failures, the missing community and a
// wrong key before the API sees it.
func (f *fakeMetagov) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := fakeCall{Method: r.Method, Path: r.URL.Path, Community: r.Header.Get("X-Metagov-Community"),
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &c.Body)
		f.mu.Lock()
		key := r.Method + " " + r.URL.Path
		var failure *fakeFailure
		if q := f.fail[key]; len(q) > 0 {
			failure, f.fail[key] = &q[0], q[1:]
		}
		c.Failed = failure != nil
		f.calls = append(f.calls, c)
		f.mu.Unlock()
		switch {
		case failure != nil:
			if failure.retryAfter != "" {
				w.Header().Set("Retry-After", failure.retryAfter)
			}
			http.Error(w, failure.body, failure.status)
		case c.Community == "":
			http.Error(w, `{"detail": "missing required header X-Metagov-Community"}`, http.StatusBadRequest)
		case f.key != "" && c.Auth != "Bearer "+f.key:
			http.Error(w, `{"detail": "bad token"}`, http.StatusUnauthorized)
		default:
			r.Body = io.NopCloser(bytes.NewReader(raw))
			next.ServeHTTP(w, r)
		}
	})
}

func (f *fakeMetagov) action(w http.ResponseWriter, r *http.Request) {
	if f.bigAction {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"padding": "` + strings.Repeat("x", maxBody+10) + `"}`))
		return
	}
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	writeJSON(w, http.StatusOK, map[string]any{"action": r.PathValue("name"), "received": body["parameters"],
		"community": r.Header.Get("X-Metagov-Community")})
}

func (f *fakeMetagov) start(w http.ResponseWriter, r *http.Request) {
	var params map[string]any
	_ = json.NewDecoder(r.Body).Decode(&params)
	callback, _ := params["callback_url"].(string)
	delete(params, "callback_url")
	f.mu.Lock()
	f.next++
	id := f.next
	name := r.PathValue("name")
	f.processes[id] = map[string]any{"id": id, "name": name, "community": r.Header.Get("X-Metagov-Community"),
		"status": "pending", "errors": map[string]any{}, "outcome": map[string]any{}, "callback_url": callback, "parameters": params}
	f.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("/api/internal/process/%s/%d", name, id))
	w.WriteHeader(http.StatusAccepted)
}

func (f *fakeMetagov) process(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	f.mu.Lock()
	defer f.mu.Unlock()
	proc, ok := f.processes[id]
	if err != nil || !ok || proc["name"] != r.PathValue("name") {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodDelete {
		if proc["status"] == "completed" {
			writeJSON(w, http.StatusBadRequest, []string{"Can't close process, it has already completed"})
			return
		}
		proc["status"] = "completed"
		proc["outcome"] = map[string]any{"votes": map[string]any{"yes": 2, "no": 1}}
	}
	out := map[string]any{}
	for k, v := range proc {
		if k != "callback_url" && k != "parameters" {
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// started returns the process the fake started with id, callback_url and parameters
// included.
func (f *fakeMetagov) started(id int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.processes[id]
}

// requests returns the requests made so far, as "METHOD /path", each injected failure too.
func (f *fakeMetagov) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.calls))
	for _, c := range f.calls {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

func (f *fakeMetagov) all() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
