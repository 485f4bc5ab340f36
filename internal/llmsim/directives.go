package llmsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseModel splits a model string such as "sim-small+tokens=5+fault=eof" into
// the model name and base overridden by the directives (see the package
// documentation). A model without '+' returns base unchanged.
func ParseModel(model string, base Options) (string, Options, error) {
	name, rest, found := strings.Cut(model, "+")
	opts := base
	if !found {
		return name, opts, nil
	}
	for _, d := range strings.Split(rest, "+") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		if err := applyDirective(&opts, d); err != nil {
			return name, base, fmt.Errorf("model %q: %w", model, err)
		}
	}
	return name, opts, nil
}

func applyDirective(o *Options, directive string) error {
	key, val, hasVal := strings.Cut(directive, "=")
	key = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(key)), "-", "_")
	val = strings.TrimSpace(val)
	if !hasVal && key != "reasoning" {
		return fmt.Errorf("directive %q needs a value (%s=...)", key, key)
	}
	var err error
	switch key {
	case "tokens":
		var n int
		if n, err = count(val); err == nil {
			o.ReplyTokens = orNegative(n)
		}
	case "stall_after":
		var n int
		if n, err = count(val); err == nil {
			o.StallAfter = orNegative(n)
		}
	case "ttft":
		o.TimeToFirstToken, err = duration(val)
	case "keepalive", "keep_alive":
		o.KeepAlive, err = duration(val)
	case "tps":
		o.TokensPerSecond, err = strconv.ParseFloat(val, 64)
		if err == nil && o.TokensPerSecond < 0 {
			err = fmt.Errorf("tps must not be negative")
		}
	case "fault":
		o.Fault, err = ParseFault(val)
	case "reasoning":
		o.Reasoning = true
		if hasVal {
			o.Reasoning, err = strconv.ParseBool(val)
		}
	case "reasoning_field":
		if val != ReasoningField && val != ReasoningContentField {
			return fmt.Errorf("reasoning_field must be %s or %s", ReasoningField, ReasoningContentField)
		}
		o.Reasoning, o.ReasoningField = true, val
	default:
		return fmt.Errorf("unknown directive %q", key)
	}
	if err != nil {
		return fmt.Errorf("directive %s=%q: %w", key, val, err)
	}
	return nil
}

func count(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err == nil && n < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return n, err
}

// orNegative maps an explicit 0 to the Options spelling of "none" (negative),
// since 0 in Options means "the default".
func orNegative(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func duration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d, err
}
