package influx

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// fieldTypes maps a measurement's field keys to the types SHOW FIELD KEYS
// reports (a key may have more than one across shards).
type fieldTypes map[string][]string

func (ft fieldTypes) has(key, typ string) bool {
	for _, t := range ft[key] {
		if t == typ {
			return true
		}
	}
	return false
}

// appendPoint appends the line-protocol form of one row of series s of
// measurement m (columns: time, then fields) and a line break. ok is false
// for a row without any field value.
func appendPoint(b []byte, m string, s *series, row []any, types fieldTypes) (_ []byte, ok bool, err error) {
	if len(s.Columns) == 0 || s.Columns[0] != "time" || len(row) != len(s.Columns) {
		return b, false, fmt.Errorf("measurement %q: unexpected result columns %v", m, s.Columns)
	}
	start := len(b)
	if b, err = appendName(b, m, measurementEscapes, "measurement"); err != nil {
		return b, false, err
	}
	keys := make([]string, 0, len(s.Tags))
	for k, v := range s.Tags {
		if v != "" { // an empty value: the series has no such tag
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = append(b, ',')
		if b, err = appendName(b, k, tagEscapes, "tag key"); err != nil {
			return b, false, err
		}
		b = append(b, '=')
		if b, err = appendName(b, s.Tags[k], tagEscapes, "tag value"); err != nil {
			return b, false, err
		}
	}
	sep := byte(' ')
	for i := 1; i < len(row); i++ {
		if row[i] == nil {
			continue
		}
		key := s.Columns[i]
		b = append(b, sep)
		sep = ','
		if b, err = appendName(b, key, tagEscapes, "field key"); err != nil {
			return b, false, err
		}
		b = append(b, '=')
		if b, err = appendValue(b, m, key, row[i], types); err != nil {
			return b, false, err
		}
	}
	if sep == ' ' {
		return b[:start], false, nil
	}
	t, isNum := row[0].(json.Number)
	if !isNum {
		return b, false, fmt.Errorf("measurement %q: time %v is not a number (want epoch=ns)", m, row[0])
	}
	b = append(b, ' ')
	b = append(b, t...)
	return append(b, '\n'), true, nil
}

func appendValue(b []byte, m, key string, v any, types fieldTypes) ([]byte, error) {
	switch v := v.(type) {
	case string:
		b = append(b, '"')
		b = append(b, stringEscaper.Replace(v)...)
		return append(b, '"'), nil
	case bool:
		if v {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case json.Number:
		isInt, isFloat := types.has(key, "integer"), types.has(key, "float")
		switch {
		case isInt && isFloat:
			return b, fmt.Errorf("measurement %q: field %q is an integer in some shards and a float in others; a snapshot could not tell them apart", m, key)
		case isInt:
			return append(append(b, v...), 'i'), nil
		case isFloat:
			return append(b, v...), nil
		case types.has(key, "unsigned"):
			return append(append(b, v...), 'u'), nil
		}
		return b, fmt.Errorf("measurement %q: field %q: number %s of unknown type (field types %v)", m, key, v, types[key])
	}
	return b, fmt.Errorf("measurement %q: field %q: unexpected value %v (%T)", m, key, v, v)
}

// The characters that must be escaped in names, by position.
const (
	measurementEscapes = ", "
	tagEscapes         = ", =" // tag keys and values, field keys
)

// appendName appends a name with the characters in special escaped. A name
// that line protocol cannot carry (a line break, or a backslash before a
// special character or at the end, which the server would read as an
// escape) is an error naming it.
func appendName(b []byte, name, special, what string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, "\n\r") {
		return b, fmt.Errorf("%s %q cannot be written in line protocol", what, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '\\' && (i == len(name)-1 || strings.IndexByte(special, name[i+1]) >= 0) {
			return b, fmt.Errorf("%s %q cannot be written in line protocol (a backslash at its end or before one of %q)", what, name, special)
		}
		if strings.IndexByte(special, c) >= 0 {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b, nil
}

var stringEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
