package policytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/policykit-go/policykit/domain/evaluation"
)

// Options control a run.
type Options struct {
	// Verbose prints every case as it runs (=== RUN, --- PASS) and every event appended.
	Verbose bool
	// Run, when set, is a regular expression; only cases whose name matches run.
	Run string
	// SeedDir, when set, runs every policy that names a `seed_file` with the policy imported
	// from that file in SeedDir instead of its inline code.
	SeedDir string
	// Evaluator evaluates policy blocks; required to run cases. `policykit policy test` passes
	// a policysandbox.Evaluator started with the server's sandbox settings, so that a block
	// meets the same memory ceiling, deadline and size limits as under `policykit serve` and
	// decides the same way. An in-process evaluator has no memory ceiling and cannot stop a
	// block inside one interpreter step.
	Evaluator evaluation.Evaluator
}

// ErrNoEvaluator: Options.Evaluator is nil.
var ErrNoEvaluator = errors.New("policytest: no evaluator to run policy blocks with")

// Result is the outcome of one case.
type Result struct {
	Name    string
	Passed  bool
	Elapsed time.Duration
	// Failure is the report of a failed case: the step or expectation that failed (with its
	// file and line) and the events before it.
	Failure string
	// Decisions lists every event the case's steps appended, as the import test compares
	// them (see world.decision).
	Decisions []string
	// Events is the number of events appended, set-up included; Checks the number of
	// re-checks run while the clock advanced.
	Events int
	Checks int
}

// Run runs the cases of the file that match opts.Run, each from a fresh community. With
// opts.Verbose, w receives the === RUN lines and events as they happen (w may be nil
// otherwise). When ctx ends Run stops at the next step, and returns the results so far (the
// interrupted case failed) with ctx.Err().
func (f *File) Run(ctx context.Context, opts Options, w io.Writer) ([]Result, error) {
	var filter *regexp.Regexp
	if opts.Run != "" {
		var err error
		if filter, err = regexp.Compile(opts.Run); err != nil {
			return nil, fmt.Errorf("-run: %w", err)
		}
	}
	if opts.Evaluator == nil {
		return nil, ErrNoEvaluator
	}
	var out []Result
	for _, c := range f.Cases {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if filter != nil && !filter.MatchString(c.Name) {
			continue
		}
		if opts.Verbose && w != nil {
			fmt.Fprintf(w, "=== RUN   %s\n", c.Name)
		}
		out = append(out, f.runCase(ctx, c, opts, w))
	}
	return out, ctx.Err() // an interrupted last case failed for it
}

func (f *File) runCase(ctx context.Context, c *Case, opts Options, out io.Writer) Result {
	start := time.Now()
	res := Result{Name: c.Name}
	var verbose io.Writer
	if opts.Verbose {
		verbose = out
	}
	w, err := newWorld(f, c, opts, verbose)
	if err != nil {
		res.Failure = fmt.Sprintf("    %s: set-up: %v\n", f.Path, err)
		res.Elapsed = time.Since(start)
		return res
	}
	w.ctx = ctx
	fail := func(line int, msg string, lastEvents int) {
		var b strings.Builder
		fmt.Fprintf(&b, "    %s:%d: at %s: %s\n", filepath.Base(f.Path), line, w.elapsed(w.now), indent(msg, "        "))
		recent := w.log[w.cursor:]
		title := "events since the previous expect"
		if w.cursor == w.setupLen {
			title = "events of the case"
		}
		if len(recent) > lastEvents {
			title = fmt.Sprintf("%s (last %d of %d)", title, lastEvents, len(recent))
			recent = recent[len(recent)-lastEvents:]
		}
		if len(recent) == 0 {
			fmt.Fprintf(&b, "        no %s\n", title)
		} else {
			fmt.Fprintf(&b, "        %s:\n", title)
			for _, en := range recent {
				fmt.Fprintf(&b, "          %s\n", w.describeEntry(en))
			}
		}
		res.Failure = b.String()
	}
	for i := range c.Steps {
		st := &c.Steps[i]
		if err := ctx.Err(); err != nil { // interrupted: the rest of the case cannot run
			fail(st.Line, fmt.Sprintf("%s step not run: %v", st.Kind, err), 10)
			break
		}
		err := w.run(st)
		var ee *expectError
		switch {
		case errors.As(err, &ee):
			fail(ee.line, "expectation failed:\n"+strings.Join(ee.problems, "\n"), 20)
		case st.WantErr != "" && err == nil:
			fail(st.Line, fmt.Sprintf("%s step: want an error containing %q, got none", st.Kind, st.WantErr), 10)
		case st.WantErr != "" && !strings.Contains(err.Error(), st.WantErr):
			fail(st.Line, fmt.Sprintf("%s step: want an error containing %q, got: %v", st.Kind, st.WantErr, err), 10)
		case st.WantErr != "":
			if opts.Verbose && out != nil {
				fmt.Fprintf(out, "    %s:%d: %s step failed as expected: %v\n", filepath.Base(f.Path), st.Line, st.Kind, err)
			}
			err = nil
		case err != nil:
			fail(st.Line, fmt.Sprintf("%s step failed: %v", st.Kind, err), 10)
		}
		if res.Failure != "" {
			break
		}
	}
	if res.Failure == "" {
		// The log must fold back into the state the loop ended with.
		if err := w.verifyState(); err != nil {
			fail(c.Line, err.Error(), 10)
		}
	}
	res.Passed = res.Failure == ""
	res.Events = len(w.log)
	res.Checks = w.checks
	for _, en := range w.log[w.setupLen:] {
		res.Decisions = append(res.Decisions, w.decision(en))
	}
	res.Elapsed = time.Since(start)
	return res
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// Find lists the scenario files of the given paths: files as given, directories searched
// recursively for *.yaml and *.yml, sorted.
func Find(paths []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			add(p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no scenario files (*.yaml) found", p)
		}
		sort.Strings(found)
		for _, f := range found {
			add(f)
		}
	}
	return out, nil
}

// Run is `policykit policy test`: it loads every scenario file under paths (files, or
// directories searched recursively for *.yaml), and when all are well-formed runs them,
// reporting to w the way `go test` does: failed cases with their failing step or
// expectation, then "ok  <file>  0.012s" or "FAIL  <file>  0.012s" per file (with
// opts.Verbose also "=== RUN", every event, "--- PASS" and "PASS" lines).
//
// ok is true when every case passed. err is non-nil when nothing could run: a path that
// does not exist, or malformed scenarios (errors.Is(err, ErrMalformed); their problems are
// printed to w first, each as file:line: message).
func Run(ctx context.Context, paths []string, w io.Writer, opts Options) (ok bool, err error) {
	files, err := Find(paths)
	if err != nil {
		return false, err
	}
	var loaded []*File
	var malformed []error
	for _, path := range files {
		f, err := Load(path)
		if err != nil {
			var me *MalformedError
			if errors.As(err, &me) {
				fmt.Fprintln(w, me.Error())
				fmt.Fprintf(w, "FAIL\t%s [malformed scenario]\n", path)
			} else {
				fmt.Fprintf(w, "FAIL\t%s [%v]\n", path, err)
			}
			malformed = append(malformed, err)
			continue
		}
		loaded = append(loaded, f)
	}
	if len(malformed) > 0 {
		return false, fmt.Errorf("%d of %d scenario files cannot run: %w", len(malformed), len(files), errors.Join(malformed...))
	}
	if opts.Run != "" {
		if _, err := regexp.Compile(opts.Run); err != nil {
			return false, fmt.Errorf("-run: %w", err)
		}
	}
	ok = true
	for _, f := range loaded {
		start := time.Now()
		var buf bytes.Buffer
		results, err := f.Run(ctx, opts, w)
		if err != nil && ctx.Err() == nil {
			return false, err
		}
		fileOK := err == nil
		for _, r := range results {
			switch {
			case !r.Passed:
				fileOK = false
				fmt.Fprintf(&buf, "--- FAIL: %s (%.2fs)\n%s", r.Name, r.Elapsed.Seconds(), r.Failure)
				if opts.Verbose {
					w.Write(buf.Bytes())
					buf.Reset()
				}
			case opts.Verbose:
				fmt.Fprintf(w, "--- PASS: %s (%.2fs)\n", r.Name, r.Elapsed.Seconds())
			}
		}
		w.Write(buf.Bytes())
		elapsed := time.Since(start).Seconds()
		switch {
		case err != nil: // interrupted
			fmt.Fprintf(w, "FAIL\nFAIL\t%s\t%.3fs [%v]\n", f.Path, elapsed, err)
			return false, err
		case !fileOK:
			ok = false
			fmt.Fprintf(w, "FAIL\nFAIL\t%s\t%.3fs\n", f.Path, elapsed)
		case len(results) == 0:
			fmt.Fprintf(w, "ok  \t%s\t%.3fs [no cases to run]\n", f.Path, elapsed)
		default:
			if opts.Verbose {
				fmt.Fprintln(w, "PASS")
			}
			fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", f.Path, elapsed)
		}
	}
	return ok, nil
}
