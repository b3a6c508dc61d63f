package config

import "strings"

// Property is one key=value (or key=(a b c)) line of a container or
// properties file.
type Property struct {
	Key    string
	Values []string // one element for a scalar
	List   bool     // written as an array: key=( … )
}

// Value returns the scalar value, or the elements of a list joined by single
// spaces (how a list reaches an external module's environment).
func (p Property) Value() string { return strings.Join(p.Values, " ") }

// Properties is an ordered set of properties; keys are unique.
type Properties []Property

// Get returns the value of key and whether it is present.
func (ps Properties) Get(key string) (string, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p.Value(), true
		}
	}
	return "", false
}

// Has reports whether key is present.
func (ps Properties) Has(key string) bool {
	_, ok := ps.Get(key)
	return ok
}

// Lookup returns the value of key, or "" when it is absent.
func (ps Properties) Lookup(key string) string {
	v, _ := ps.Get(key)
	return v
}

// Set replaces the value of key, or appends it.
func (ps *Properties) Set(p Property) {
	for i := range *ps {
		if (*ps)[i].Key == p.Key {
			(*ps)[i] = p
			return
		}
	}
	*ps = append(*ps, p)
}

// Without returns the properties other than key.
func (ps Properties) Without(key string) Properties {
	out := make(Properties, 0, len(ps))
	for _, p := range ps {
		if p.Key != key {
			out = append(out, p)
		}
	}
	return out
}

// Env renders the properties as KEY=VALUE environment entries.
func (ps Properties) Env() []string {
	env := make([]string, 0, len(ps))
	for _, p := range ps {
		env = append(env, p.Key+"="+p.Value())
	}
	return env
}

// Map returns the properties as a map of their (joined) values.
func (ps Properties) Map() map[string]string {
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value()
	}
	return m
}
