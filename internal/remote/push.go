package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// SummaryVersion is the version of the --json summary of push and pull.
const SummaryVersion = 1

// Summary reports a push or a pull.
type Summary struct {
	Version   int     `json:"version"`
	Direction string  `json:"direction"` // "push" or "pull"
	Host      string  `json:"host"`
	Sent      int     `json:"sent"`    // snapshots transferred
	Skipped   int     `json:"skipped"` // snapshots the receiving side already had
	Bytes     int64   `json:"bytes"`   // bytes of snapshot streams sent through ssh
	Seconds   float64 `json:"seconds"`
	Snapshots []Item  `json:"snapshots"`
}

// Item is one snapshot of a push or pull.
type Item struct {
	Snapshot   string `json:"snapshot"`             // <container>/<component>/<id>
	Status     string `json:"status"`               // "sent", "skipped" (the receiver had it), or "missing" (not sent: the transfer failed first)
	Generation int    `json:"generation,omitempty"` // the receiver's generation added for it
}

// Options are the settings of a push or pull.
type Options struct {
	// Report receives notes and the progress counter (drawn on a terminal
	// only); nil is ui.Discard.
	Report ui.Reporter
}

func (o Options) report() ui.Reporter {
	if o.Report == nil {
		return ui.Discard
	}
	return o.Report
}

// History lists the snapshots of the selected components in generation
// order (each component's oldest first, components sorted), each once.
func History(s *store.Store, sel store.Selection) ([]store.Snapshot, error) {
	keys, err := s.Keys(sel)
	if err != nil {
		return nil, err
	}
	var out []store.Snapshot
	seen := map[store.Snapshot]bool{}
	for _, k := range keys {
		gens, err := s.Generations(k)
		if err != nil {
			return nil, err
		}
		for _, g := range gens {
			if !seen[g.Snapshot] {
				seen[g.Snapshot] = true
				out = append(out, g.Snapshot)
			}
		}
	}
	return out, nil
}

// maxArgBytes bounds the remote command line of one print-missing call:
// ssh passes it to the remote shell as one argument, which Linux limits to
// 128 KiB.
const maxArgBytes = 64 << 10

// Missing asks the host which of snaps it lacks (snapshots print-missing,
// in batches that fit a command line).
func (c *Client) Missing(ctx context.Context, snaps []store.Snapshot) ([]store.Snapshot, error) {
	var out []store.Snapshot
	for len(snaps) > 0 {
		n, size := 0, 0
		for n < len(snaps) && (n == 0 || size+len(snaps[n].Rel())+3 <= maxArgBytes) {
			size += len(snaps[n].Rel()) + 3
			n++
		}
		batch := snaps[:n]
		snaps = snaps[n:]
		args := []string{"snapshots", "print-missing"}
		asked := map[string]store.Snapshot{}
		for _, sn := range batch {
			args = append(args, sn.Rel())
			asked[sn.Rel()] = sn
		}
		stdout, err := c.Run(ctx, nil, args...)
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(stdout), "\n") {
			if l == "" {
				continue
			}
			sn, ok := asked[l]
			if !ok {
				return nil, fmt.Errorf("on %s: snapshots print-missing answered %q, which was not asked", c.Host, truncate(l, 100))
			}
			out = append(out, sn)
		}
	}
	return out, nil
}

// Push sends the snapshots of the selection that the host lacks, and
// installs them there: snaps, when given, instead of the selection's whole
// history. Re-running it once everything arrived sends nothing.
func Push(ctx context.Context, s *store.Store, c *Client, sel store.Selection, snaps []store.Snapshot, opts Options) (*Summary, error) {
	sum, err := push(ctx, s, c, sel, snaps, opts)
	if err != nil {
		err = fmt.Errorf("push to %s: %w", c.Host, err)
	}
	return sum, err
}

func push(ctx context.Context, s *store.Store, c *Client, sel store.Selection, snaps []store.Snapshot, opts Options) (*Summary, error) {
	begin := time.Now()
	sum := &Summary{Version: SummaryVersion, Direction: "push", Host: c.Host, Snapshots: []Item{}}
	all := snaps
	if len(all) == 0 {
		var err error
		if all, err = History(s, sel); err != nil {
			return nil, err
		}
	}
	if len(all) == 0 {
		opts.report().Infof("no snapshots to push: the selection has none here")
		return sum, nil
	}
	for _, sn := range snaps {
		if _, err := os.Lstat(s.SnapshotDir(sn)); err != nil {
			return nil, fmt.Errorf("snapshot %s is not in %s", sn.Rel(), s.Dir())
		}
	}
	missing, err := c.Missing(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("ask which snapshots are missing: %w", err)
	}
	isMissing := map[store.Snapshot]bool{}
	for _, sn := range missing {
		isMissing[sn] = true
	}
	items := map[store.Snapshot]*Item{}
	for _, sn := range all {
		it := Item{Snapshot: sn.Rel(), Status: "skipped"}
		if isMissing[sn] {
			it.Status = "pending"
		} else {
			sum.Skipped++
		}
		sum.Snapshots = append(sum.Snapshots, it)
	}
	for i := range sum.Snapshots {
		sn, _ := store.ParseRel(sum.Snapshots[i].Snapshot)
		items[sn] = &sum.Snapshots[i]
	}
	defer func() { sum.Seconds = time.Since(begin).Seconds() }()
	if len(missing) == 0 {
		return sum, nil
	}

	var total int64
	for _, sn := range missing {
		total += dirSize(s.SnapshotDir(sn))
	}
	rep := opts.report()
	rep.Infof("pushing %d snapshots (%s) to %s; %d already there", len(missing), ui.Bytes(total), c.Host, sum.Skipped)
	results := &resultWriter{each: func(r wireResult) error {
		sn, err := store.ParseRel(r.Snapshot)
		if err != nil {
			return err
		}
		it, ok := items[sn]
		if !ok {
			return fmt.Errorf("the receiver reported %s, which was not sent", sn.Rel())
		}
		it.Status, it.Generation = "sent", r.Generation
		sum.Sent++
		return nil
	}}
	call, stdin, err := c.StartPipe(ctx, results, "snapshots", "receive")
	if err != nil {
		return sum, err
	}
	progress := rep.Progress("push to "+c.Host, total)
	n, sendErr := Send(ctx, s, stdin, missing, progress)
	progress.Close()
	closeErr := stdin.Close()
	waitErr := call.Wait()
	sum.Bytes = n
	for i := range sum.Snapshots {
		if sum.Snapshots[i].Status == "pending" {
			sum.Snapshots[i].Status = "missing"
		}
	}
	switch {
	case waitErr != nil:
		err = waitErr
	case results.err != nil:
		err = results.err
	case sendErr != nil:
		err = sendErr
	case closeErr != nil:
		err = closeErr
	case sum.Sent != len(missing):
		err = fmt.Errorf("the receiver confirmed %d of %d snapshots", sum.Sent, len(missing))
	}
	if err != nil {
		return sum, fmt.Errorf("%d of %d snapshots sent before: %w%s", sum.Sent, len(missing), err, rerunHint(err))
	}
	return sum, nil
}

func rerunHint(err error) string {
	var re *Error
	if errors.As(err, &re) && re.Connection() {
		return " (what arrived is installed; run again to send the rest)"
	}
	return ""
}

// Pull fetches the snapshots of the selection on the host that s lacks,
// installing each as it arrives.
func Pull(ctx context.Context, s *store.Store, c *Client, sel store.Selection, snaps []store.Snapshot, opts Options) (*Summary, error) {
	begin := time.Now()
	sum := &Summary{Version: SummaryVersion, Direction: "pull", Host: c.Host, Snapshots: []Item{}}
	defer func() { sum.Seconds = time.Since(begin).Seconds() }()
	all := snaps
	if len(all) == 0 {
		args := []string{"snapshots", "list"}
		if sel.Container != "" {
			args = append(args, "--container", sel.Container)
		}
		if sel.Component != "" {
			args = append(args, "--component", sel.Component)
		}
		out, err := c.Run(ctx, nil, args...)
		if err != nil {
			return nil, fmt.Errorf("pull from %s: list its snapshots: %w", c.Host, err)
		}
		seen := map[store.Snapshot]bool{}
		for _, l := range strings.Split(string(out), "\n") {
			if l == "" {
				continue
			}
			sn, err := store.ParseRel(l)
			if err != nil {
				return nil, fmt.Errorf("pull from %s: snapshots list printed %q: %w", c.Host, truncate(l, 100), err)
			}
			if !seen[sn] {
				seen[sn] = true
				all = append(all, sn)
			}
		}
	}
	var missing []store.Snapshot
	var list bytes.Buffer
	items := map[store.Snapshot]*Item{}
	for _, sn := range all {
		it := Item{Snapshot: sn.Rel(), Status: "skipped"}
		if _, err := os.Lstat(s.SnapshotDir(sn)); errors.Is(err, os.ErrNotExist) {
			it.Status = "missing"
			missing = append(missing, sn)
			fmt.Fprintln(&list, sn.Rel())
		} else if err != nil {
			return nil, fmt.Errorf("pull from %s: %w", c.Host, err)
		} else {
			sum.Skipped++
		}
		sum.Snapshots = append(sum.Snapshots, it)
	}
	for i := range sum.Snapshots {
		sn, _ := store.ParseRel(sum.Snapshots[i].Snapshot)
		items[sn] = &sum.Snapshots[i]
	}
	if len(missing) == 0 {
		return sum, nil
	}
	rep := opts.report()
	rep.Infof("pulling %d snapshots from %s; %d already here", len(missing), c.Host, sum.Skipped)
	pr, pw := io.Pipe()
	call, err := c.Start(ctx, &list, pw, "snapshots", "send")
	if err != nil {
		return sum, fmt.Errorf("pull from %s: %w", c.Host, err)
	}
	waited := make(chan error, 1)
	go func() {
		err := call.Wait()
		pw.Close() // Receive tells a session that ends early by its count
		waited <- err
	}()
	cr := &countingReader{r: pr}
	recvErr := Receive(ctx, s, cr, func(total int64) ui.Counter { return rep.Progress("pull from "+c.Host, total) }, func(r Received) error {
		for _, in := range r.Snapshots {
			it, ok := items[in.Snapshot]
			if !ok {
				return fmt.Errorf("the sender sent %s, which was not asked for", in.Rel())
			}
			it.Status = "sent"
			sum.Sent++
		}
		for _, g := range r.Generations {
			if it, ok := items[g.Snapshot]; ok {
				it.Generation = g.N
			}
		}
		return nil
	})
	if recvErr != nil {
		call.Kill()
	}
	pr.Close()
	waitErr := <-waited
	sum.Bytes = cr.n
	err = recvErr
	if waitErr != nil {
		err = waitErr // the sender's own explanation comes first
	}
	if err == nil && sum.Sent != len(missing) {
		err = fmt.Errorf("received %d of %d snapshots", sum.Sent, len(missing))
	}
	if err != nil {
		return sum, fmt.Errorf("pull from %s: %d of %d snapshots received before: %w%s", c.Host, sum.Sent, len(missing), err, rerunHint(err))
	}
	return sum, nil
}

// wireResult is one line of `snapshots receive` output.
type wireResult struct {
	Snapshot   string `json:"snapshot"`
	Status     string `json:"status"`
	Generation int    `json:"generation,omitempty"`
}

// WriteResults writes what receiving one stream installed as JSON lines,
// the output of `snapshots receive` that Push reads.
func WriteResults(w io.Writer, r Received) error {
	gens := map[store.Snapshot]int{}
	for _, g := range r.Generations {
		gens[g.Snapshot] = g.N
	}
	enc := json.NewEncoder(w)
	for _, in := range r.Snapshots {
		if err := enc.Encode(wireResult{Snapshot: in.Rel(), Status: in.Status.String(), Generation: gens[in.Snapshot]}); err != nil {
			return err
		}
	}
	return nil
}

// resultWriter parses `snapshots receive` output as it arrives.
type resultWriter struct {
	part []byte
	each func(wireResult) error
	err  error
}

func (w *resultWriter) Write(p []byte) (int, error) {
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		line := w.part[:i]
		w.part = w.part[i+1:]
		if w.err != nil {
			continue
		}
		var r wireResult
		if err := json.Unmarshal(line, &r); err != nil {
			w.err = fmt.Errorf("the receiver printed %q: %v", truncate(string(line), 100), err)
			continue
		}
		if err := w.each(r); err != nil {
			w.err = err
		}
	}
	return len(p), nil
}
