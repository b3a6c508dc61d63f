package ejabberd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// A text dump, as `ejabberdctl dump` writes it (mnesia's text format), is
// a sequence of Erlang terms, each ending with a full stop: first
// {tables, [{Table, [{record_name, R}, {attributes, [...]}]}, ...]}, then
// one {Table, ...} tuple per record. The node writes tables and records in
// whatever order its tables iterate, and pretty-prints them over several
// lines; the canonical form written here has every term on one line without
// the layout's whitespace, the table definitions sorted, then the records
// sorted, and a final comment counting them, so that the same data gives
// the same bytes and a cut-off dump is recognised. Erlang's reader (which
// `ejabberdctl load` uses) takes it as it is.

const (
	dumpHeader = "% ejabberd-dump snapshot (dysnomia): load it with ejabberdctl load FILE"
	endMarker  = "% end of dump:"
	endSuffix  = " records"
	maxTerm    = 64 << 20
)

// dump is a parsed text dump.
type dump struct {
	tables  map[string]string // table name -> its canonical definition
	records []string          // canonical record terms, without the full stop
	marked  bool              // the input ended with our end marker
	ours    bool              // the input starts with our header line
}

// parseDump reads a text dump completely.
func parseDump(r io.Reader) (*dump, error) {
	sc := &termScanner{br: bufio.NewReaderSize(r, 1<<20), line: 1}
	d := &dump{tables: map[string]string{}}
	first := true
	for {
		term, line, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if sc.marker >= 0 {
			return nil, fmt.Errorf("line %d: data after the end marker", line)
		}
		if first {
			if err := d.header(term); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			first = false
			continue
		}
		name, err := firstElement(term)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if _, ok := d.tables[name]; !ok {
			return nil, fmt.Errorf("line %d: a record of table %s, which the dump does not define", line, name)
		}
		d.records = append(d.records, term)
	}
	if first {
		return nil, errors.New("empty dump: no {tables, …} term")
	}
	if sc.marker >= 0 {
		if sc.marker != len(d.records) {
			return nil, fmt.Errorf("the end marker counts %d records, but the dump holds %d", sc.marker, len(d.records))
		}
		d.marked = true
	}
	d.ours = sc.ours
	if d.ours && !d.marked {
		return nil, errors.New("no end marker: the dump is cut off")
	}
	return d, nil
}

// header takes the {tables, [...]} term.
func (d *dump) header(term string) error {
	inner, ok := strings.CutPrefix(term, "{tables,[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]}")
	}
	if !ok {
		return fmt.Errorf("the dump does not start with {tables, [...]}: %s", truncate(term, 80))
	}
	defs, err := splitTop(inner)
	if err != nil {
		return err
	}
	for _, def := range defs {
		if !strings.HasPrefix(def, "{") {
			return fmt.Errorf("table definition %s is not a tuple", truncate(def, 80))
		}
		name, err := firstElement(def)
		if err != nil {
			return err
		}
		if old, dup := d.tables[name]; dup && old != def {
			return fmt.Errorf("table %s is defined twice, differently", name)
		}
		d.tables[name] = def
	}
	return nil
}

// merge adds the tables and records of o; a table defined differently is
// an error.
func (d *dump) merge(o *dump) error {
	for name, def := range o.tables {
		if old, ok := d.tables[name]; ok && old != def {
			return fmt.Errorf("table %s is defined differently: %s and %s", name, truncate(old, 80), truncate(def, 80))
		}
		d.tables[name] = def
	}
	d.records = append(d.records, o.records...)
	return nil
}

// write writes the canonical form.
func (d *dump) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	names := make([]string, 0, len(d.tables))
	for n := range d.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	defs := make([]string, len(names))
	for i, n := range names {
		defs[i] = d.tables[n]
	}
	records := append([]string(nil), d.records...)
	sort.Strings(records)
	// Records with the same key in a set table collapse into one on load;
	// identical lines say nothing more.
	records = compactStrings(records)
	fmt.Fprintf(bw, "%s\n{tables,[%s]}.\n", dumpHeader, strings.Join(defs, ","))
	for _, r := range records {
		bw.WriteString(r)
		bw.WriteString(".\n")
	}
	fmt.Fprintf(bw, "%s %d%s\n", endMarker, len(records), endSuffix)
	return bw.Flush()
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
