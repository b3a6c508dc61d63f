package remote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// TestMoveSteps runs the cut-over against a stand-in remote dysnomia (a
// script that logs its calls and fails the one it is told to) and a
// source whose activities are recorded: whatever step fails, the error
// names it and a locked source is unlocked.
func TestMoveSteps(t *testing.T) {
	k := store.Key{Container: "postgresql-database", Component: "app"}
	for _, tc := range []struct {
		name       string
		remoteFail string // remote subcommand that fails
		localFail  module.Activity
		deactivate bool
		wantErr    string
		wantLocal  []string
		wantRemote []string
	}{
		{name: "ok", deactivate: true,
			wantLocal:  []string{"lock", "snapshot", "unlock", "deactivate"},
			wantRemote: []string{"version", "snapshots print-missing SNAP", "snapshots receive", "activate --container postgresql-database --component app", "restore --container postgresql-database --component app --snapshot SNAP"}},
		{name: "no remote dysnomia", remoteFail: "missing", wantErr: "move postgresql-database/app to db2: check dysnomia on db2: on db2: dysnomia version: DYS not found there (exit 127)",
			wantLocal: []string{}, wantRemote: []string{}},
		{name: "lock refused", localFail: module.Lock, wantErr: "move postgresql-database/app to db2: lock: refused",
			wantLocal: []string{"lock"}, wantRemote: []string{"version"}},
		{name: "unlock fails after restore", localFail: module.Unlock, wantErr: "move postgresql-database/app to db2: unlock: refused (SNAP was restored on db2)",
			wantLocal: []string{"lock", "snapshot", "unlock"}, wantRemote: []string{"version", "snapshots print-missing SNAP", "snapshots receive", "activate --container postgresql-database --component app", "restore --container postgresql-database --component app --snapshot SNAP"}},
		{name: "snapshot fails", localFail: module.Snapshot, wantErr: "move postgresql-database/app to db2: snapshot: refused (the source is unlocked and unchanged)",
			wantLocal: []string{"lock", "snapshot", "unlock"}, wantRemote: []string{"version"}},
		{name: "push fails", remoteFail: "receive", wantErr: "move postgresql-database/app to db2: push to db2: 0 of 1 snapshots sent before: on db2: dysnomia snapshots receive: exit status 1: injected receive failure (the source is unlocked and unchanged)",
			wantLocal: []string{"lock", "snapshot", "unlock"}, wantRemote: []string{"version", "snapshots print-missing SNAP", "snapshots receive"}},
		{name: "activate fails", remoteFail: "activate", wantErr: "move postgresql-database/app to db2: activate on db2: on db2: dysnomia activate --container postgresql-database --component app: exit status 1: injected activate failure (the source is unlocked and unchanged)",
			wantLocal: []string{"lock", "snapshot", "unlock"}, wantRemote: []string{"version", "snapshots print-missing SNAP", "snapshots receive", "activate --container postgresql-database --component app"}},
		{name: "restore fails", remoteFail: "restore", deactivate: true, wantErr: "move postgresql-database/app to db2: restore on db2: on db2: dysnomia restore --container postgresql-database --component app --snapshot SNAP: exit status 1: injected restore failure (the source is unlocked and unchanged)",
			wantLocal: []string{"lock", "snapshot", "unlock"}, wantRemote: []string{"version", "snapshots print-missing SNAP", "snapshots receive", "activate --container postgresql-database --component app", "restore --container postgresql-database --component app --snapshot SNAP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "remote.log")
			// The stand-in answers print-missing with every snapshot asked
			// for, and takes the session on standard input as receive does.
			prog := writeScript(t, filepath.Join(dir, "dysnomia"), `
echo "$*" >> `+Quote(log)+`
case "$*" in
  *`+tc.remoteFail+`*) [ -n "`+tc.remoteFail+`" ] && { cat >/dev/null; echo "dysnomia: error: injected `+tc.remoteFail+` failure" >&2; exit 1; } ;;
esac
case "$1 $2" in
  "snapshots print-missing") shift 2; for a; do echo "$a"; done | tee `+Quote(log+".asked")+` ;;
  "snapshots receive") cat >/dev/null; while read -r rel; do echo "{\"snapshot\":\"$rel\",\"status\":\"imported\",\"generation\":1}"; done < `+Quote(log+".asked")+` ;;
esac
exit 0
`)
			if tc.remoteFail == "missing" {
				prog = filepath.Join(dir, "DYS")
			}
			s := newStore(t)
			var local []string
			mv := &Move{
				Key:    k,
				Client: &Client{SSH: fakeSSH, Host: "db2", Dysnomia: prog},
				Store:  s,
				Local: func(ctx context.Context, act module.Activity) error {
					local = append(local, string(act))
					if act == tc.localFail {
						return errors.New("refused")
					}
					if act == module.Snapshot {
						commitText(t, s, k, "state")
					}
					return nil
				},
				Deactivate: tc.deactivate,
			}
			sum, err := mv.Run(context.Background())
			snap := sum.Snapshot
			if snap == "" {
				snap = "NONE"
			}
			expand := func(x string) string {
				return strings.ReplaceAll(strings.ReplaceAll(x, "SNAP", snap), "DYS", filepath.Join(dir, "DYS"))
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("move: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), expand(tc.wantErr))):
				t.Errorf("error\n%v\nwant\n%s", err, expand(tc.wantErr))
			}
			if local == nil {
				local = []string{}
			}
			if d := cmp.Diff(tc.wantLocal, local); d != "" {
				t.Errorf("source activities (-want +got):\n%s", d)
			}
			data, _ := os.ReadFile(log)
			remote := lines(string(data))
			var want []string
			for _, w := range tc.wantRemote {
				want = append(want, expand(w))
			}
			if want == nil {
				want = []string{}
			}
			if d := cmp.Diff(want, remote); d != "" {
				t.Errorf("remote calls (-want +got):\n%s", d)
			}
			if tc.wantErr == "" && (!sum.Deactivated || sum.Sent != 1 || len(sum.Steps) != 8 || sum.Bytes == 0) {
				t.Errorf("summary %+v: want deactivated, 1 sent, bytes, 8 steps", sum)
			}
		})
	}
}

func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
