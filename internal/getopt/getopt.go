// Package getopt parses command lines the way GNU getopt_long does, for the
// upstream spellings of the Dysnomia tools: long options may be abbreviated
// to any unique prefix, take their value as "--opt=v" or "--opt v", short
// options may be bundled ("-Ey"), options and operands may be mixed, and
// "--" ends the options.
//
// The modern command line is parsed by kong; kong has no abbreviations or
// permutation, which upstream callers (Disnix, scripts) rely on, so this
// package exists to translate upstream command lines into modern ones.
package getopt

import (
	"fmt"
	"sort"
	"strings"
)

// Option describes one option. Long is its canonical name, used in results.
type Option struct {
	Long   string // "operation"; may be empty for a short-only option
	Short  byte   // 'o'; 0 for a long-only option
	HasArg bool
}

// Parsed is one option occurrence, in command-line order.
type Parsed struct {
	Name  string // Long, or the short letter when the option has no long name
	Value string
}

// Parse splits args into option occurrences and operands.
func Parse(opts []Option, args []string) ([]Parsed, []string, error) {
	var out []Parsed
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return out, append(operands, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o, err := findLong(opts, name)
			if err != nil {
				return nil, nil, err
			}
			switch {
			case o.HasArg && !hasVal:
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("option '--%s' requires an argument", o.Long)
				}
				i++
				val = args[i]
			case !o.HasArg && hasVal:
				return nil, nil, fmt.Errorf("option '--%s' doesn't allow an argument", o.Long)
			}
			out = append(out, Parsed{Name: o.name(), Value: val})
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				o, ok := findShort(opts, a[j])
				if !ok {
					return nil, nil, fmt.Errorf("invalid option -- '%c'", a[j])
				}
				if !o.HasArg {
					out = append(out, Parsed{Name: o.name()})
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, nil, fmt.Errorf("option requires an argument -- '%c'", a[j])
					}
					i++
					val = args[i]
				}
				out = append(out, Parsed{Name: o.name(), Value: val})
				break
			}
		default:
			operands = append(operands, a)
		}
	}
	return out, operands, nil
}

func (o Option) name() string {
	if o.Long != "" {
		return o.Long
	}
	return string(o.Short)
}

func findLong(opts []Option, name string) (Option, error) {
	var matches []Option
	for _, o := range opts {
		if o.Long == "" {
			continue
		}
		if o.Long == name {
			return o, nil
		}
		if name != "" && strings.HasPrefix(o.Long, name) {
			matches = append(matches, o)
		}
	}
	switch len(matches) {
	case 0:
		return Option{}, fmt.Errorf("unrecognized option '--%s'", name)
	case 1:
		return matches[0], nil
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = "'--" + m.Long + "'"
	}
	sort.Strings(names)
	return Option{}, fmt.Errorf("option '--%s' is ambiguous; possibilities: %s", name, strings.Join(names, " "))
}

func findShort(opts []Option, c byte) (Option, bool) {
	for _, o := range opts {
		if o.Short == c && c != 0 {
			return o, true
		}
	}
	return Option{}, false
}
