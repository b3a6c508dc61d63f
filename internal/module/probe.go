package module

import "context"

// State is what a component's state looks like in its container, as a
// Prober sees it.
type State int

// The states a Prober reports.
const (
	// StateAbsent: the container holds nothing of the component (e.g. no
	// database of its name).
	StateAbsent State = iota
	// StateEmpty: the component exists but holds no data of its own (e.g.
	// a database with no user table, as a server's setup creates it).
	StateEmpty
	// StateHasData: the component exists and holds data.
	StateHasData
)

func (s State) String() string {
	switch s {
	case StateAbsent:
		return "absent"
	case StateEmpty:
		return "empty"
	case StateHasData:
		return "has data"
	}
	return "unknown"
}

// Prober is implemented by native modules that can tell, without changing
// anything, whether a component's state exists in its container and holds
// data. system switch asks before it restores a pre-upgrade snapshot into a
// new server: it never restores over data.
type Prober interface {
	Probe(ctx context.Context, req *Request) (State, error)
}
