//go:build linux && (386 || arm)

package peer

import "golang.org/x/sys/unix"

// The 32-bit ABIs have 16-bit legacy calls; the *32 ones take full IDs.
const (
	sysSetresuid = unix.SYS_SETRESUID32
	sysSetresgid = unix.SYS_SETRESGID32
)
