// Package ui holds the narrow interfaces through which core packages report
// progress and warnings, and their text implementations for the command line.
//
// Core packages never print: they receive a Reporter and call it. Results go
// to standard output through the command layer; everything a Reporter says
// goes to standard error.
package ui

import (
	"fmt"
	"io"
	"sync"
)

// Reporter receives human-readable progress notes and warnings.
type Reporter interface {
	// Infof reports a step ("creating database \"app\"").
	Infof(format string, args ...any)
	// Warnf reports something the user should look at that did not stop
	// the operation.
	Warnf(format string, args ...any)
	// Progress starts a byte counter for a long transfer. total is -1 when
	// unknown. The returned Counter must be closed when the transfer ends.
	Progress(label string, total int64) Counter
}

// Counter counts bytes of one long operation.
type Counter interface {
	Add(n int64)
	Close()
}

// Discard is a Reporter that drops everything.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Infof(string, ...any)           {}
func (discard) Warnf(string, ...any)           {}
func (discard) Progress(string, int64) Counter { return nopCounter{} }

type nopCounter struct{}

func (nopCounter) Add(int64) {}
func (nopCounter) Close()    {}

// Text writes notes and warnings as "dysnomia: …" lines to w. It is safe for
// concurrent use.
type Text struct {
	mu  sync.Mutex
	w   io.Writer
	tty bool
	// Quiet drops notes and progress; warnings and errors are still
	// written.
	Quiet bool
}

// NewText returns a Text reporter writing to w. When tty is true, progress
// counters are drawn on w; otherwise they stay silent.
func NewText(w io.Writer, tty bool) *Text { return &Text{w: w, tty: tty} }

// Infof implements Reporter.
func (t *Text) Infof(format string, args ...any) {
	if !t.Quiet {
		t.line("", format, args...)
	}
}

// Warnf implements Reporter.
func (t *Text) Warnf(format string, args ...any) { t.line("warning: ", format, args...) }

// Errorf writes an error line in the same format the commands use on exit.
func (t *Text) Errorf(format string, args ...any) { t.line("error: ", format, args...) }

func (t *Text) line(kind, format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "dysnomia: %s%s\n", kind, fmt.Sprintf(format, args...))
}

// Progress implements Reporter.
func (t *Text) Progress(label string, total int64) Counter {
	if !t.tty || t.Quiet {
		return nopCounter{}
	}
	return newBar(t, label, total)
}
