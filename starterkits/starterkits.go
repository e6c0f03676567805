// Package starterkits holds the governance systems a community can start with: roles and
// base policies, in PolicyKit's starter kit format (see domain.StarterKit). Testing, Dictator
// and Moderators follow PolicyKit's kits; Democracy and Jury are working versions of the two
// kits PolicyKit shipped disabled.
package starterkits

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/policykit-go/policykit/domain"
)

//go:embed kits/*.json
var files embed.FS

// Names lists the kits by their file names (testing, dictator, ...), sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, "kits")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(out)
	return out
}

// Load returns the kit with the given name (case-insensitive: "testing" or "Testing").
// An unknown name is a domain NotFound error listing the known ones.
func Load(name string) (domain.StarterKit, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	data, err := files.ReadFile(path.Join("kits", key+".json"))
	if err != nil {
		return domain.StarterKit{}, domain.NotFound("starter kit %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	kit, err := domain.ParseStarterKit(data)
	if err != nil {
		return domain.StarterKit{}, fmt.Errorf("starter kit %s: %w", key, err)
	}
	return kit, nil
}
