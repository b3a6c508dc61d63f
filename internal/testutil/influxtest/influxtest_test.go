package influxtest

import "testing"

func TestServer(t *testing.T) {
	s := StartNew(t)
	s.Query(t, "", `CREATE DATABASE "it's a db"`)
	s.Write(t, "it's a db", "cpu,host=a value=1 10\n")
	got := s.Query(t, "it's a db", `SELECT * FROM "cpu"`)
	if len(got) != 1 || len(got[0].Values) != 1 {
		t.Fatalf("select: %+v", got)
	}
	if !s.HasDatabase(t, "it's a db") || s.HasDatabase(t, "it's") {
		t.Errorf("databases: %v", s.Databases(t))
	}
}
