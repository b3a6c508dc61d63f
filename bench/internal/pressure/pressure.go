// Package pressure reads the kernel's pressure stall information for the
// benchmarks: how long tasks waited for a CPU.
package pressure

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUWait is the total time at least one task was ready to run and waited
// for a CPU ("some" in /proc/pressure/cpu), or 0 where the kernel does not
// keep pressure stall information.
func CPUWait() time.Duration {
	data, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0
	}
	return parse(string(data))
}

// parse reads the total of the "some" line of a /proc/pressure file.
func parse(data string) time.Duration {
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "some" {
			continue
		}
		for _, field := range f[1:] {
			if v, ok := strings.CutPrefix(field, "total="); ok {
				if us, err := strconv.ParseInt(v, 10, 64); err == nil {
					return time.Duration(us) * time.Microsecond
				}
			}
		}
	}
	return 0
}
