package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Defaults and bounds of Options.
const (
	DefaultSize             = 2
	DefaultMemoryLimit      = 256 << 20
	DefaultDeadline         = time.Second
	DefaultMaxRequestBytes  = 4 << 20
	DefaultMaxResponseBytes = 4 << 20

	// MinMemoryLimit is the smallest MemoryLimit: below it the Go runtime itself may not fit.
	MinMemoryLimit = 32 << 20
	// MaxSize is the largest number of workers of a pool.
	MaxSize = 256
	// MaxMessageBytes bounds MaxRequestBytes and MaxResponseBytes (frames carry a uint32).
	MaxMessageBytes = 1 << 30
)

// Options configure a Pool. The zero value of every field selects its default.
type Options struct {
	// Command is the worker binary; default os.Executable(). A relative path is resolved
	// against the working directory, a bare name through PATH, when the pool is created.
	Command string
	// Args are the worker's arguments after the program name (e.g. "-test.run=^$" for a
	// test binary).
	Args []string
	// Env is the worker's whole environment besides the sandbox's own variables: the worker
	// inherits nothing else from the parent.
	Env []string
	// Size is the number of worker processes, default 2.
	Size int
	// MemoryLimit is the memory in bytes a worker may use beyond its start-up footprint,
	// default 256 MiB.
	MemoryLimit int64
	// Deadline bounds each call, default 1s. A context deadline that comes first wins.
	Deadline time.Duration
	// MaxRequestBytes bounds a request, default 4 MiB.
	MaxRequestBytes int
	// MaxResponseBytes bounds a response, default 4 MiB.
	MaxResponseBytes int

	// noAddressLimit makes workers skip RLIMIT_AS so that tests can exercise the parent's
	// resident-size watchdog alone.
	noAddressLimit bool
}

// Validate reports whether o is usable, zero fields standing for their defaults.
func (o Options) Validate() error {
	var errs []error
	if o.Size < 0 || o.Size > MaxSize {
		errs = append(errs, fmt.Errorf("option Size %d outside 0..%d", o.Size, MaxSize))
	}
	if o.MemoryLimit < 0 || (o.MemoryLimit > 0 && o.MemoryLimit < MinMemoryLimit) {
		errs = append(errs, fmt.Errorf("MemoryLimit %d below %d", o.MemoryLimit, MinMemoryLimit))
	}
	if o.Deadline < 0 {
		errs = append(errs, fmt.Errorf("negative Deadline %v", o.Deadline))
	}
	if o.MaxRequestBytes < 0 || o.MaxRequestBytes > MaxMessageBytes {
		errs = append(errs, fmt.Errorf("MaxRequestBytes %d outside 0..%d", o.MaxRequestBytes, MaxMessageBytes))
	}
	if o.MaxResponseBytes < 0 || o.MaxResponseBytes > MaxMessageBytes {
		errs = append(errs, fmt.Errorf("MaxResponseBytes %d outside 0..%d", o.MaxResponseBytes, MaxMessageBytes))
	}
	for _, kv := range o.Env {
		if !strings.Contains(kv, "=") {
			errs = append(errs, fmt.Errorf("option Env: entry %q is not KEY=VALUE", kv))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sandbox: invalid options: %w", err)
	}
	return nil
}

// withDefaults validates o and returns it with defaults filled in and Command resolved.
func (o Options) withDefaults() (Options, error) {
	if err := o.Validate(); err != nil {
		return o, err
	}
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.Deadline == 0 {
		o.Deadline = DefaultDeadline
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	cmd := o.Command
	var err error
	switch {
	case cmd == "":
		cmd, err = os.Executable()
	case strings.ContainsRune(cmd, filepath.Separator):
		cmd, err = filepath.Abs(cmd)
	default:
		cmd, err = exec.LookPath(cmd)
	}
	if err != nil {
		return o, fmt.Errorf("sandbox: worker command: %w", err)
	}
	o.Command = cmd
	o.Args = append([]string(nil), o.Args...)
	o.Env = append([]string(nil), o.Env...)
	return o, nil
}
