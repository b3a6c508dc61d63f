package sqlite

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []statement
	}{
		{"empty", "", nil},
		{"only comments and blanks", "-- a;\n/* b; */\n  ;\n;", nil},
		{"two statements", "CREATE TABLE t(x);\nINSERT INTO t VALUES (1);\n", []statement{
			{"CREATE TABLE t(x);", 1}, {"INSERT INTO t VALUES (1);", 2}}},
		{"semicolons in literals", "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`, [g;h]);\nSELECT 'it''s;';", []statement{
			{"INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`, [g;h]);", 1}, {"SELECT 'it''s;';", 2}}},
		{"comments inside and before", "/* head\n;\n*/ SELECT 1 -- x;\n, 2;\n-- tail ;\nSELECT 3;", []statement{
			{"SELECT 1 -- x;\n, 2;", 3}, {"SELECT 3;", 6}}},
		{"multi-line literal counts lines", "INSERT INTO t VALUES ('a\nb\nc');\nSELECT 1;", []statement{
			{"INSERT INTO t VALUES ('a\nb\nc');", 1}, {"SELECT 1;", 4}}},
		{"trigger body", "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES (new.x);\n  UPDATE c SET n = n + 1;\nEND;\nSELECT 2;", []statement{
			{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES (new.x);\n  UPDATE c SET n = n + 1;\nEND;", 1}, {"SELECT 2;", 5}}},
		{"temp trigger with CASE END inside", "create temp trigger tr after insert on t begin select case when new.x then 1 end; end ; select 1;", []statement{
			{"create temp trigger tr after insert on t begin select case when new.x then 1 end; end ;", 1}, {"select 1;", 1}}},
		{"END as a name is not the end of a trigger", "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO x VALUES (1); END_ x; END;", []statement{
			{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO x VALUES (1); END_ x; END;", 1}}},
		{"create table named trigger is no trigger", "CREATE TABLE \"trigger\"(x); SELECT 1;", []statement{
			{"CREATE TABLE \"trigger\"(x);", 1}, {"SELECT 1;", 1}}},
		{"last statement without semicolon", "SELECT 1;\nSELECT 2 -- end", []statement{
			{"SELECT 1;", 1}, {"SELECT 2 -- end", 2}}},
		{"unterminated literal runs to the end", "SELECT 'abc;\nSELECT 1;", []statement{
			{"SELECT 'abc;\nSELECT 1;", 1}}},
		{"crlf and utf-8 names", "CREATE TABLE größe(x);\r\nSELECT 1;", []statement{
			{"CREATE TABLE größe(x);", 1}, {"SELECT 1;", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, splitStatements(tt.src)); diff != "" {
				t.Errorf("splitStatements(%q) mismatch (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestTransactionControl(t *testing.T) {
	tests := []struct {
		text           string
		skip, rollback bool
	}{
		{"BEGIN TRANSACTION;", true, false},
		{"begin immediate;", true, false},
		{"COMMIT;", true, false},
		{"end transaction;", true, false},
		{"ROLLBACK;", false, true},
		{"rollback transaction;", false, true},
		{"ROLLBACK TO sp;", false, false},
		{"ROLLBACK TRANSACTION TO SAVEPOINT sp;", false, false},
		{"SAVEPOINT sp;", false, false},
		{"BEGINNING;", false, false},
		{"INSERT INTO t VALUES ('BEGIN');", false, false},
	}
	for _, tt := range tests {
		skip, rollback := transactionControl(statement{Text: tt.text})
		if skip != tt.skip || rollback != tt.rollback {
			t.Errorf("transactionControl(%q) = %v, %v; want %v, %v", tt.text, skip, rollback, tt.skip, tt.rollback)
		}
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1;", "SELECT 1;"},
		{"INSERT INTO t\nVALUES (1);", "INSERT INTO t …"},
		{"SELECT '0123456789012345678901234567890123456789012345678901234567890123456789';", "SELECT '0123456789012345678901234567890123456789012345678901 …"},
	}
	for _, tt := range tests {
		if got := excerpt(tt.in); got != tt.want {
			t.Errorf("excerpt(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
