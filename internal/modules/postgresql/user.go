package postgresql

import (
	"fmt"
	"os/user"
	"strconv"
)

// supplementaryGroups lists the groups of the OS user name, for programs
// started with that user's credentials.
func supplementaryGroups(name string) ([]uint32, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of OS user %s: %w", name, err)
	}
	groups := make([]uint32, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			continue
		}
		groups = append(groups, uint32(n))
	}
	return groups, nil
}

func lookupHome(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.HomeDir, nil
}
