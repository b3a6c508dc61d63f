package mysql

import "testing"

func TestCondense(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"--------------\nINSERT INTO t\nVALUES (1)\n--------------\n\nERROR 1146 (42S02) at line 3: Table 'db.t' doesn't exist\n",
			"ERROR 1146 (42S02) at line 3: Table 'db.t' doesn't exist (in: INSERT INTO t VALUES (1))"},
		{"ERROR 2002 (HY000): Can't connect\n", "ERROR 2002 (HY000): Can't connect"},
		{"mariadb-dump: Got error: 1049: \"Unknown database 'x'\"\n", "mariadb-dump: Got error: 1049: \"Unknown database 'x'\""},
		{"", ""},
	} {
		if got := condense(tc.in); got != tc.want {
			t.Errorf("condense(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	var b tailBuffer
	for i := 0; i < 100; i++ {
		b.Write(make([]byte, 1000))
	}
	b.Write([]byte("the end"))
	if s := b.String(); len(s) != tailMax || s[len(s)-7:] != "the end" {
		t.Errorf("tail has %d bytes ending %q", len(s), s[len(s)-7:])
	}
}
