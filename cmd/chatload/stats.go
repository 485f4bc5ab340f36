package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// dist is a sorted sample of durations.
type dist struct {
	s []time.Duration
}

func newDist(samples []time.Duration) dist {
	s := slices.Clone(samples)
	slices.Sort(s)
	return dist{s: s}
}

func (d dist) n() int { return len(d.s) }

// q is the nearest-rank quantile (0 < q <= 1); 0 when empty.
func (d dist) q(q float64) time.Duration {
	if len(d.s) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(d.s)))) - 1
	return d.s[min(max(i, 0), len(d.s)-1)]
}

func (d dist) max() time.Duration {
	if len(d.s) == 0 {
		return 0
	}
	return d.s[len(d.s)-1]
}

// ms renders a duration in milliseconds with three decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// msSigned renders a difference, with its sign.
func msSigned(d time.Duration) string {
	return fmt.Sprintf("%+.3f ms", float64(d)/float64(time.Millisecond))
}

// quantiles is the usual line: p50/p90/p99/max.
func (d dist) quantiles() string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (n=%d)", ms(d.q(.5)), ms(d.q(.9)), ms(d.q(.99)), ms(d.max()), d.n())
}
