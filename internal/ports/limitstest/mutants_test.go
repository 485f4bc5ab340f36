package limitstest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/ports"
)

// The suites pass a correct implementation...
func TestReferenceImplementationsPass(t *testing.T) {
	if os.Getenv(envMutant) != "" {
		t.Skip("a mutant host runs only TestMutantHost")
	}
	t.Run("rate limiter", func(t *testing.T) {
		RunRateLimiter(t, func(*testing.T) ports.RateLimiter { return newRefLimiter("") })
	})
	t.Run("rate limiter shared", func(t *testing.T) {
		RunRateLimiterShared(t, func(*testing.T) (a, b ports.RateLimiter) {
			l := newRefLimiter("")
			return l, l
		})
	})
	t.Run("slots", func(t *testing.T) {
		RunGenerationSlots(t, func(*testing.T) ports.GenerationSlots { return newRefSlots("") })
	})
	t.Run("slots shared", func(t *testing.T) {
		RunGenerationSlotsShared(t, func(*testing.T) (a, b ports.GenerationSlots) {
			s := newRefSlots("")
			return s, s
		})
	})
}

// ...and each broken one fails the case that names its bug. A failing suite
// fails its test, so each runs in a child process whose failure is the
// expected outcome.

const envMutant = "LIMITSTEST_MUTANT"

type mutant struct {
	name  string
	run   func(t *testing.T) // runs one suite on the broken implementation
	fails string             // the case that must catch it
}

func limiterMutant(bug, fails string) mutant {
	return mutant{bug, func(t *testing.T) {
		RunRateLimiter(t, func(*testing.T) ports.RateLimiter { return newRefLimiter(bug) })
	}, fails}
}

func slotsMutant(bug, fails string) mutant {
	return mutant{bug, func(t *testing.T) {
		RunGenerationSlots(t, func(*testing.T) ports.GenerationSlots { return newRefSlots(bug) })
	}, fails}
}

var mutants = []mutant{
	limiterMutant("allow-all", "burst then refusal"),
	limiterMutant("refusal-spends", "burst then refusal"),
	limiterMutant("frozen-clock", "refill with time"),
	limiterMutant("overflowing-bucket", "refill with time"),
	limiterMutant("unrounded-retry", "retry after is whole seconds rounded up"),
	limiterMutant("one-budget", "keys are independent"),
	limiterMutant("unlimited-refused", "unlimited rates spend nothing"),
	limiterMutant("clock-back-refills", "a clock going back does not refill"),
	{"limiter-not-shared", func(t *testing.T) {
		RunRateLimiterShared(t, func(*testing.T) (a, b ports.RateLimiter) { return newRefLimiter(""), newRefLimiter("") })
	}, "instances spend one budget"},
	slotsMutant("no-max", "max held, then refused"),
	slotsMutant("unlimited-refuses", "max of zero or less is unlimited"),
	slotsMutant("double-count", "acquiring twice for one reply holds one"),
	slotsMutant("release-noop", "release frees a slot"),
	slotsMutant("renew-noop", "renewing keeps slots past their ttl"),
	slotsMutant("acquire-no-refresh", "acquiring again keeps a slot past its ttl"),
	slotsMutant("no-lapse", "a lapsed slot is not counted after renewal"),
	slotsMutant("early-lapse", "a slot not renewed lapses after its ttl"),
	slotsMutant("renew-revives", "a lapsed slot is not counted after renewal"),
	slotsMutant("release-any-user", "releasing a free slot does nothing"),
	slotsMutant("non-positive-ttl-accepted", "a ttl of zero or less is an error"),
	{"slots-not-shared", func(t *testing.T) {
		RunGenerationSlotsShared(t, func(*testing.T) (a, b ports.GenerationSlots) { return newRefSlots(""), newRefSlots("") })
	}, "instances count one user's slots together"},
	{"slots-not-shared-churn", func(t *testing.T) {
		RunGenerationSlotsShared(t, func(*testing.T) (a, b ports.GenerationSlots) { return newRefSlots(""), newRefSlots("") })
	}, "never more than max in use under churn"},
}

// TestMutantHost runs one mutant's suite; only as a child of
// TestSuitesCatchBrokenImplementations.
func TestMutantHost(t *testing.T) {
	name := os.Getenv(envMutant)
	if name == "" {
		t.Skip("runs only as a child of TestSuitesCatchBrokenImplementations")
	}
	for _, m := range mutants {
		if m.name == name {
			m.run(t)
			return
		}
	}
	t.Fatalf("no mutant %q", name)
}

func TestSuitesCatchBrokenImplementations(t *testing.T) {
	if os.Getenv(envMutant) != "" {
		t.Skip("a mutant host runs only TestMutantHost")
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			// Subtest names have their spaces turned to underscores.
			caseName := strings.ReplaceAll(m.fails, " ", "_")
			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestMutantHost$/^"+regexp.QuoteMeta(caseName)+"$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), envMutant+"="+m.name)
			cmd.WaitDelay = time.Second
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed an implementation with the bug %q:\n%s", m.name, out)
			}
			if want := "--- FAIL: TestMutantHost/" + caseName + " "; !strings.Contains(string(out), want) {
				t.Fatalf("bug %q: want %q to fail; the child said (%v):\n%s", m.name, m.fails, err, out)
			}
		})
	}
}
