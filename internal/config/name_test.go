package config

import (
	"testing"
)

func TestNameOf(t *testing.T) {
	t.Setenv("NIX_STORE_DIR", "/nix/store")
	tests := map[string]string{
		"/nix/store/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-testdb":     "testdb",
		"/nix/store/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-my-db-1.0":  "my-db-1.0",
		"/nix/store/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-testdb/sub": "sub",
		"/nix/store/short-testdb":                                "short-testdb",
		"/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-notahash":   "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-notahash",
		"/srv/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-testdb":           "0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-testdb",
		"/etc/dysnomia/containers/mysql-database":                "mysql-database",
		"mysql-database":  "mysql-database",
		"./relative/comp": "comp",
	}
	for in, want := range tests {
		if got := NameOf(in); got != want {
			t.Errorf("NameOf(%q) = %q, want %q", in, got, want)
		}
	}
	t.Setenv("NIX_STORE_DIR", "/gnu/store/")
	if got := NameOf("/gnu/store/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-x"); got != "x" {
		t.Errorf("with NIX_STORE_DIR=/gnu/store: %q", got)
	}
}

func TestSplitPath(t *testing.T) {
	if got := SplitPath("", "/etc/a"); len(got) != 1 || got[0] != "/etc/a" {
		t.Errorf("default: %q", got)
	}
	if got := SplitPath("/a::/b:", "/d"); len(got) != 2 || got[0] != "/a" || got[1] != "/b" {
		t.Errorf("split: %q", got)
	}
}
