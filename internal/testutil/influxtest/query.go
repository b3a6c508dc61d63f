package influxtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Series is one series of a query result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// QueryRaw runs an InfluxQL statement (POST, epoch=ns) on database db ("" for
// none) and returns the series of its result, or the server's error.
func (s *Server) QueryRaw(db, q string) ([]Series, error) {
	form := url.Values{"q": {q}, "epoch": {"ns"}}
	if db != "" {
		form.Set("db", db)
	}
	req, _ := http.NewRequest("POST", s.URL()+"/query", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %s: %v", q, resp.Status, body)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("%s: %s", q, r.Error)
	}
	var out []Series
	for _, res := range r.Results {
		if res.Error != "" {
			return nil, fmt.Errorf("%s: %s", q, res.Error)
		}
		out = append(out, res.Series...)
	}
	return out, nil
}

// Query is QueryRaw failing tb on an error.
func (s *Server) Query(tb testing.TB, db, q string) []Series {
	tb.Helper()
	out, err := s.QueryRaw(db, q)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Write writes line-protocol points (precision ns) into db's default
// retention policy.
func (s *Server) Write(tb testing.TB, db, lines string) {
	tb.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/write?"+url.Values{"db": {db}, "precision": {"ns"}}.Encode(), strings.NewReader(lines))
	s.auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		body, _ := io.ReadAll(resp.Body)
		tb.Fatalf("write %q: %s: %s", lines, resp.Status, body)
	}
}

func (s *Server) auth(req *http.Request) {
	if s.Password != "" {
		req.SetBasicAuth(s.Admin, s.Password)
	}
}

// Databases lists the server's databases.
func (s *Server) Databases(tb testing.TB) []string {
	tb.Helper()
	var names []string
	for _, sr := range s.Query(tb, "", "SHOW DATABASES") {
		for _, v := range sr.Values {
			names = append(names, fmt.Sprint(v[0]))
		}
	}
	return names
}

// HasDatabase reports whether a database named exactly name exists.
func (s *Server) HasDatabase(tb testing.TB, name string) bool {
	tb.Helper()
	for _, n := range s.Databases(tb) {
		if n == name {
			return true
		}
	}
	return false
}

// Ident quotes an InfluxQL identifier for tests' own statements.
func Ident(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
