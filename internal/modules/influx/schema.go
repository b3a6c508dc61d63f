package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// retentionPolicy is one row of SHOW RETENTION POLICIES.
type retentionPolicy struct {
	name, duration, shardDuration, replicaN string
	isDefault                               bool
}

func (c *client) retentionPolicies(ctx context.Context, db string) ([]retentionPolicy, error) {
	ss, err := c.query(ctx, "", "SHOW RETENTION POLICIES ON "+quoteIdent(db))
	if err != nil {
		return nil, err
	}
	var rps []retentionPolicy
	for _, s := range ss {
		col := columns(s.Columns)
		for _, v := range s.Values {
			rp := retentionPolicy{
				name:          str(v, col["name"]),
				duration:      str(v, col["duration"]),
				shardDuration: str(v, col["shardGroupDuration"]),
				replicaN:      str(v, col["replicaN"]),
			}
			if i, ok := col["default"]; ok && i < len(v) {
				rp.isDefault, _ = v[i].(bool)
			}
			if rp.name == "" || rp.duration == "" || rp.shardDuration == "" || rp.replicaN == "" {
				return nil, fmt.Errorf("SHOW RETENTION POLICIES: unexpected row %v", v)
			}
			rps = append(rps, rp)
		}
	}
	sort.Slice(rps, func(i, j int) bool { return rps[i].name < rps[j].name })
	return rps, nil
}

// continuousQueries returns the CREATE CONTINUOUS QUERY statements of db,
// by name.
func (c *client) continuousQueries(ctx context.Context, db string) ([]string, error) {
	ss, err := c.query(ctx, "", "SHOW CONTINUOUS QUERIES")
	if err != nil {
		return nil, err
	}
	type cq struct{ name, text string }
	var cqs []cq
	for _, s := range ss {
		if s.Name != db {
			continue
		}
		col := columns(s.Columns)
		for _, v := range s.Values {
			q := cq{str(v, col["name"]), str(v, col["query"])}
			if q.text == "" || strings.ContainsAny(q.text, "\n\r") {
				return nil, fmt.Errorf("continuous query %q: unexpected text %q", q.name, q.text)
			}
			cqs = append(cqs, q)
		}
	}
	sort.Slice(cqs, func(i, j int) bool { return cqs[i].name < cqs[j].name })
	out := make([]string, len(cqs))
	for i, q := range cqs {
		out[i] = q.text
	}
	return out, nil
}

// measurements lists db's measurements in byte order.
func (c *client) measurements(ctx context.Context, db string) ([]string, error) {
	var names []string
	err := c.queryEach(ctx, db, "SHOW MEASUREMENTS", true, func(s series) error {
		for _, v := range s.Values {
			if n := str(v, 0); n != "" {
				names = append(names, n)
			}
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// fieldTypes returns the field keys of measurement m in rp with their types.
func (c *client) fieldTypes(ctx context.Context, db, rp, m string) (fieldTypes, error) {
	ss, err := c.query(ctx, db, "SHOW FIELD KEYS FROM "+quoteIdent(rp)+"."+quoteIdent(m))
	if err != nil {
		return nil, err
	}
	ft := fieldTypes{}
	for _, s := range ss {
		for _, v := range s.Values {
			k, t := str(v, 0), str(v, 1)
			if !ft.has(k, t) {
				ft[k] = append(ft[k], t)
			}
		}
	}
	return ft, nil
}

// ddl is the statements that re-create db with its retention policies and
// continuous queries.
func ddl(db string, rps []retentionPolicy, cqs []string) ([]string, error) {
	var def *retentionPolicy
	for i := range rps {
		if rps[i].isDefault {
			def = &rps[i]
		}
	}
	if def == nil {
		return nil, fmt.Errorf("database %q has no default retention policy; make one the default (ALTER RETENTION POLICY … DEFAULT) to snapshot it", db)
	}
	stmts := []string{fmt.Sprintf("CREATE DATABASE %s WITH DURATION %s REPLICATION %s SHARD DURATION %s NAME %s",
		quoteIdent(db), def.duration, def.replicaN, def.shardDuration, quoteIdent(def.name))}
	for _, rp := range rps {
		if rp.name != def.name {
			stmts = append(stmts, fmt.Sprintf("CREATE RETENTION POLICY %s ON %s DURATION %s REPLICATION %s SHARD DURATION %s",
				quoteIdent(rp.name), quoteIdent(db), rp.duration, rp.replicaN, rp.shardDuration))
		}
	}
	return append(stmts, cqs...), nil
}

func columns(cols []string) map[string]int {
	m := make(map[string]int, len(cols))
	for i, c := range cols {
		m[c] = i
	}
	return m
}

// str renders value i of a row as a string ("" when absent).
func str(row []any, i int) string {
	if i < 0 || i >= len(row) || row[i] == nil {
		return ""
	}
	switch v := row[i].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(row[i])
}
