package subversion

import "syscall"

func statGid(sys any) int {
	if st, ok := sys.(*syscall.Stat_t); ok {
		return int(st.Gid)
	}
	return -1
}
