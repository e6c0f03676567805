package starterkits_test

import (
	"testing"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/starterkits"
)

func TestEveryKitLoadsAndCompiles(t *testing.T) {
	names := starterkits.Names()
	want := []string{"democracy", "dictator", "jury", "moderators", "testing"}
	if len(names) != len(want) {
		t.Fatalf("kits = %v, want %v", names, want)
	}
	for _, name := range names {
		kit, err := starterkits.Load(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if kit.Disabled {
			t.Errorf("%s is disabled", name)
		}
		for _, spec := range kit.Specs(domain.PlatformSlack) {
			if err := spec.Validate(); err != nil {
				t.Errorf("%s / %s: %v", name, spec.Name, err)
			}
			if err := policy.Compile(spec.Code); err != nil {
				t.Errorf("%s / %s does not compile: %v", name, spec.Name, err)
			}
		}
	}
	if _, err := starterkits.Load("Testing"); err != nil {
		t.Fatalf("names are case-insensitive: %v", err)
	}
	if _, err := starterkits.Load("anarchy"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("unknown kit: %v", err)
	}
}
