package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a diagnostic rejects the configuration.
type Severity int

const (
	// Error makes the configuration invalid: Parse returns no Config.
	Error Severity = iota
	// Warning is advice; the configuration is still used.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in a configuration file.
type Diagnostic struct {
	File     string
	Pos      Pos
	Severity Severity
	Msg      string
}

// Error formats the diagnostic as compilers do, so editors can jump to it:
// "FILE:LINE:COL: message", or "FILE:LINE:COL: warning: message".
func (d Diagnostic) Error() string {
	if d.Severity == Warning {
		return fmt.Sprintf("%s:%d:%d: warning: %s", d.File, d.Pos.Line, d.Pos.Col, d.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Pos.Line, d.Pos.Col, d.Msg)
}

func (d Diagnostic) String() string { return d.Error() }

// Diagnostics are all the problems of one Parse, in file order.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an Error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the diagnostics of severity Error.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(Error) }

// Warnings returns only the diagnostics of severity Warning.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(Warning) }

func (ds Diagnostics) filter(sev Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == sev {
			out = append(out, d)
		}
	}
	return out
}

// Err returns nil when there are no errors, otherwise one error whose text is
// every error diagnostic, one a line. Diagnostics itself is deliberately not
// an error type: a nil Diagnostics stored in an error interface is non-nil.
func (ds Diagnostics) Err() error {
	errs := ds.Errors()
	if len(errs) == 0 {
		return nil
	}
	return errors.New(errs.String())
}

// String returns every diagnostic, one a line, without a trailing newline.
func (ds Diagnostics) String() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

func (ds Diagnostics) sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
