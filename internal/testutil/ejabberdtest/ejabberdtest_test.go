package ejabberdtest

import (
	"testing"
)

func TestNode(t *testing.T) {
	n := Start(t)
	n.Ctl(t, "register", "alice", Host, "secret")
	if got := n.Users(t); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("users = %v", got)
	}
	if _, err := n.CtlErr("check_password", "alice", Host, "wrong"); err == nil {
		t.Error("a wrong password checked")
	}
}
