package graph

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"path"

	"github.com/99designs/gqlgen/graphql/playground"
)

// GraphiQL's scripts and styles are served by the binary itself, so that the page works on
// a machine without internet access and loads nothing from a CDN.
//
//go:embed graphiql/*.js graphiql/*.css
var graphiqlFiles embed.FS

// GraphiQLAssetsPath is where GraphiQLAssets must be mounted.
const GraphiQLAssetsPath = "/graphiql/assets/"

// GraphiQLAssets serves the files GraphiQL's page loads, under GraphiQLAssetsPath.
func GraphiQLAssets() http.Handler {
	files := http.FileServerFS(graphiqlFiles)
	return http.StripPrefix(GraphiQLAssetsPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The files change only with the binary; their integrity is pinned in the page.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		r.URL.Path = path.Join("graphiql", r.URL.Path)
		files.ServeHTTP(w, r)
	}))
}

func graphiqlAssetOptions() []playground.GraphiqlConfigOption {
	url := func(name string) string { return GraphiQLAssetsPath + name }
	return []playground.GraphiqlConfigOption{
		playground.WithGraphiqlVersion(url("graphiql.min.js"), url("graphiql.min.css"),
			subresourceIntegrity("graphiql.min.js"), subresourceIntegrity("graphiql.min.css")),
		playground.WithGraphiqlReactVersion(url("react.production.min.js"), url("react-dom.production.min.js"),
			subresourceIntegrity("react.production.min.js"), subresourceIntegrity("react-dom.production.min.js")),
		playground.WithGraphiqlPluginExplorerVersion(url("plugin-explorer.umd.js"), url("plugin-explorer.css"),
			subresourceIntegrity("plugin-explorer.umd.js"), subresourceIntegrity("plugin-explorer.css")),
	}
}

// subresourceIntegrity is the integrity attribute of an embedded file.
func subresourceIntegrity(name string) string {
	b, err := graphiqlFiles.ReadFile(path.Join("graphiql", name))
	if err != nil {
		panic("graphiql asset missing from the binary: " + name) // embedded at build time
	}
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
