package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/wait"
)

// client talks to the server's HTTP API.
type client struct {
	base       string // http://host:port
	user, pass string // basic authentication, when pass is set
	http       *http.Client
}

func newClient(s *settings) *client {
	return &client{
		base: s.baseURL(), user: s.user, pass: s.password,
		http: &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}},
	}
}

func (c *client) close() { c.http.CloseIdleConnections() }

func (c *client) request(ctx context.Context, method, path string, params url.Values, body io.Reader) (*http.Response, error) {
	u := c.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if c.pass != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if method == http.MethodPost {
		if path == "/query" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	return c.http.Do(req)
}

// ping checks that the server answers.
func (c *client) ping(ctx context.Context) error {
	resp, err := c.request(ctx, http.MethodGet, "/ping", nil, nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// waitReady waits for the server for at most timeout, reporting once.
func (c *client) waitReady(ctx context.Context, timeout time.Duration, notify func(error)) error {
	err := wait.Until(ctx, timeout, c.ping, notify)
	if err != nil {
		return fmt.Errorf("InfluxDB at %s: %w", c.base, err)
	}
	return nil
}

// series is one series of a query result; values are json.Number, string,
// bool or nil.
type series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
	Partial bool              `json:"partial"`
}

type result struct {
	Series  []series `json:"series"`
	Error   string   `json:"error"`
	Partial bool     `json:"partial"`
}

type response struct {
	Results []result `json:"results"`
	Error   string   `json:"error"`
}

// query runs one InfluxQL statement and returns its series. Statements that
// change something go by POST.
func (c *client) query(ctx context.Context, db, q string) ([]series, error) {
	var out []series
	err := c.queryEach(ctx, db, q, false, func(s series) error {
		out = append(out, s)
		return nil
	})
	return out, err
}

// queryEach runs a statement and hands every series (with chunked, every
// chunk of a series) to fn, in the order the server sends them.
func (c *client) queryEach(ctx context.Context, db, q string, chunked bool, fn func(series) error) error {
	form := url.Values{"q": {q}, "epoch": {"ns"}}
	if db != "" {
		form.Set("db", db)
	}
	if chunked {
		form.Set("chunked", "true")
		form.Set("chunk_size", "10000")
	}
	resp, err := c.request(ctx, http.MethodPost, "/query", nil, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", q, httpError(resp))
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	for {
		var r response
		if err := dec.Decode(&r); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: read the answer: %w", q, err)
		}
		if r.Error != "" {
			return fmt.Errorf("%s: %s", q, r.Error)
		}
		for _, res := range r.Results {
			if res.Error != "" {
				return fmt.Errorf("%s: %s", q, res.Error)
			}
			for _, s := range res.Series {
				if err := fn(s); err != nil {
					return err
				}
			}
		}
	}
}

// exec runs a statement that returns nothing of interest.
func (c *client) exec(ctx context.Context, q string) error {
	_, err := c.query(ctx, "", q)
	return err
}

// write writes a batch of line-protocol points (nanosecond timestamps) into
// db and retention policy rp ("" for the default one).
func (c *client) write(ctx context.Context, db, rp string, body []byte) error {
	params := url.Values{"db": {db}, "precision": {"ns"}}
	if rp != "" {
		params.Set("rp", rp)
	}
	resp, err := c.request(ctx, http.MethodPost, "/write", params, bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return errors.New(httpError(resp))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return nil
}

// httpError describes a failed response with the server's message.
func httpError(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return resp.Status + ": " + e.Error
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		return resp.Status + ": " + s
	}
	return resp.Status
}

// databases lists the server's databases.
func (c *client) databases(ctx context.Context) ([]string, error) {
	ss, err := c.query(ctx, "", "SHOW DATABASES")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range ss {
		for _, v := range s.Values {
			if len(v) > 0 {
				if n, ok := v[0].(string); ok {
					names = append(names, n)
				}
			}
		}
	}
	return names, nil
}

// hasDatabase reports whether a database named exactly name exists.
func (c *client) hasDatabase(ctx context.Context, name string) (bool, error) {
	names, err := c.databases(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// quoteIdent quotes an InfluxQL identifier.
func quoteIdent(s string) string {
	return `"` + identEscaper.Replace(s) + `"`
}

var identEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
