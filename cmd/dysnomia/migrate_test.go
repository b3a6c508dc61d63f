package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

// TestMigrateNixpkgsStateDir is the migration the NixOS module's README
// documents for machines that ran nixpkgs' module for upstream Dysnomia:
// its login shells kept snapshots in /var/state/dysnomia-nixos, Disnix in
// /var/state/dysnomia (the default, which this module keeps). The
// documented command
//
//	dysnomia --state-dir /var/state/dysnomia-nixos snapshots export |
//	  dysnomia --state-dir /var/state/dysnomia snapshots import
//
// brings the first into the second without touching what is there; run
// again it adds nothing, and the merged store checks clean.
func TestMigrateNixpkgsStateDir(t *testing.T) {
	old, cur := newSnapStore(t), newSnapStore(t)
	app := store.Key{Container: "postgresql-database", Component: "app"}
	disnix := cur.commit(t, app, "taken by Disnix\n")
	o1 := old.commit(t, app, "taken from a login shell\n")
	o2 := old.commit(t, testdb, "shop\n")
	env := []string{"HOME=" + t.TempDir(), "NIX_STORE_DIR=/nix/store"} // no DYSNOMIA_STATEDIR: the flags say it

	migrate := func() string {
		t.Helper()
		var stream, out, errb bytes.Buffer
		if code := run(context.Background(), []string{"dysnomia", "--state-dir", old.Dir(), "snapshots", "export"}, strings.NewReader(""), &stream, &errb, env); code != 0 {
			t.Fatalf("export: exit %d\n%s", code, errb.String())
		}
		if code := run(context.Background(), []string{"dysnomia", "--state-dir", cur.Dir(), "snapshots", "import"}, &stream, &out, &errb, env); code != 0 {
			t.Fatalf("import: exit %d\n%s", code, errb.String())
		}
		return out.String()
	}
	if got := migrate(); !strings.Contains(got, "imported "+o1.Rel()) || !strings.Contains(got, "imported "+o2.Rel()) {
		t.Errorf("first migration printed %q", got)
	}
	before := snapshotsIn(t, cur)
	if got := migrate(); strings.Contains(got, "imported ") {
		t.Errorf("second migration imported again: %q", got)
	}
	after := snapshotsIn(t, cur)
	want := sorted([]string{disnix.Rel(), o1.Rel(), o2.Rel()})
	if diff := cmp.Diff(want, before); diff != "" {
		t.Errorf("snapshots after the migration (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("a second migration changed the store (-before +after):\n%s", diff)
	}
	if _, errOut, code := cur.run(t, "dysnomia", "snapshots", "check"); code != 0 {
		t.Errorf("snapshots check after the migration: exit %d\n%s", code, errOut)
	}
}

// snapshotsIn lists every generation of every component in s.
func snapshotsIn(t *testing.T, s *snapStore) []string {
	t.Helper()
	var all []string
	for _, k := range []store.Key{{Container: "postgresql-database", Component: "app"}, testdb} {
		out, errOut, code := s.run(t, "dysnomia-snapshots", "--query-all", "-C", k.Container, "-c", k.Component)
		if code != 0 {
			t.Fatalf("--query-all %s: exit %d\n%s", k, code, errOut)
		}
		all = append(all, strings.Fields(out)...)
	}
	return sorted(all)
}
