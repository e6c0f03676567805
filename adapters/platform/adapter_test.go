package platform_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/adapters/platform"
)

type testSection struct {
	on   bool
	errs []error
}

func (s testSection) Enabled() bool   { return s.on }
func (s testSection) Validate() error { return errors.Join(s.errs...) }

func registration(name string, sec testSection) platform.Registration {
	return platform.Registration{Name: name,
		Config: func(func(string) string) platform.Section { return sec },
		New:    func(context.Context, platform.Section, platform.Host) (platform.Adapter, error) { return nil, nil }}
}

// The registry keeps registration order, finds by name, refuses a name twice, and validates
// the enabled adapters' sections only, every problem named by its adapter.
func TestRegistry(t *testing.T) {
	var r platform.Registry
	r.Register(registration("alpha", testSection{on: true, errs: []error{errors.New("Token is empty"), errors.New("alpha: URL is not absolute")}}))
	r.Register(registration("beta", testSection{on: false, errs: []error{errors.New("never checked")}}))
	if got := r.All(); len(got) != 2 || got[0].Name != "alpha" || got[1].Name != "beta" {
		t.Fatalf("all = %v", got)
	}
	if _, ok := r.Lookup("beta"); !ok {
		t.Fatal("beta not found")
	}
	if _, ok := r.Lookup("gamma"); ok {
		t.Fatal("gamma found")
	}
	err := r.Validate(func(string) string { return "" })
	if err == nil || err.Error() != "alpha: Token is empty\nalpha: URL is not absolute" {
		t.Fatalf("validate = %q", err)
	}
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(p.(string), "twice") {
				t.Fatalf("a second alpha: %v", p)
			}
		}()
		r.Register(registration("alpha", testSection{}))
	}()
}
