package pressure

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       time.Duration
	}{
		{"cpu", "some avg10=4.63 avg60=3.42 avg300=4.38 total=34666404\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 34666404 * time.Microsecond},
		{"some second", "full avg10=0.00 total=7\nsome avg10=0.00 total=12\n", 12 * time.Microsecond},
		{"no some line", "full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n", 0},
		{"bad total", "some avg10=0.00 total=x\n", 0},
		{"empty", "", 0},
	} {
		if got := parse(tc.data); got != tc.want {
			t.Errorf("%s: parse = %v, want %v", tc.name, got, tc.want)
		}
	}
}
