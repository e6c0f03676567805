// Package web is PolicyKit's dashboard: a single-page app (TypeScript, React, urql) built by
// Vite into dist/, which is committed and embedded, so the binary serves the dashboard on a
// machine without Node. The app talks to the server through the GraphQL API only.
package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"hash/fnv"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// CSP keeps the dashboard to its own origin: its scripts, styles and API calls (the
// websocket included) come from the server that served it, and no other site may frame it.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// reserved are path prefixes of the server's own routes: a request under one that reaches
// the dashboard's handler is a miss (a wrong method, a mistyped endpoint), answered 404
// rather than with the app.
var reserved = []string{"/graphql", "/graphiql", "/auth/", "/api/", "/assets/", "/healthz", "/readyz", "/metrics"}

type file struct {
	body, gz    []byte
	contentType string
	etag        string
}

// Handler serves the built app: files under /assets/ (their names carry a content hash)
// with a year's caching, index.html for / and every other page path (so /proposals/<id>
// and the app's other routes load the app), never cached, and 404 for a missing asset.
// Bodies are gzipped once, at start, for clients that accept it.
func Handler() http.Handler {
	files := map[string]*file{}
	_ = fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "dist")
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		sum := fnv.New64a()
		sum.Write(body)
		f := &file{body: body, contentType: ct, etag: strconv.Quote(strconv.FormatUint(sum.Sum64(), 36))}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body) {
			f.gz = buf.Bytes()
		}
		files[name] = f
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		p := r.URL.Path
		if f, ok := files[p]; ok && p != "/index.html" {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
			serve(w, r, f)
			return
		}
		for _, prefix := range reserved {
			if p == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(p, prefix) {
				http.NotFound(w, r)
				return
			}
		}
		index, ok := files["/index.html"]
		if !ok {
			http.Error(w, "the dashboard was not built into this binary", http.StatusNotFound)
			return
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
		serve(w, r, index)
	})
}

func serve(w http.ResponseWriter, r *http.Request, f *file) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && match == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
