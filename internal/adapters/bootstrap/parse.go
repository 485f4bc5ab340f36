package bootstrap

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func nonEmpty(dst *string, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("must not be empty")
	}
	*dst = v
	return nil
}

func oneOf(dst *string, v string, allowed ...string) error {
	if !slices.Contains(allowed, v) {
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
	*dst = v
	return nil
}

func positive(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("must be a whole number of at least 1")
	}
	*dst = n
	return nil
}

func positive64(dst *int64, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return fmt.Errorf("must be a whole number of at least 1")
	}
	*dst = n
	return nil
}

func nonNegative(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("must be a whole number of at least 0")
	}
	*dst = n
	return nil
}

func nonNegativeDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("must be a duration such as 0s, 500ms or 2s")
	}
	*dst = d
	return nil
}

func positiveDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("must be a positive duration such as 15s or 2m")
	}
	*dst = d
	return nil
}

// baseURL accepts an absolute http(s) URL; upstream hosts come from the
// deployment only, never from a request.
// brokerURL accepts an empty value (one process) or a Redis URL.
func brokerURL(dst *string, v string) error {
	if v != "" && !strings.HasPrefix(v, "redis://") && !strings.HasPrefix(v, "rediss://") {
		return errors.New("must be empty or a redis:// or rediss:// URL")
	}
	*dst = v
	return nil
}

func baseURL(dst *string, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http:// or https:// URL")
	}
	*dst = strings.TrimRight(v, "/")
	return nil
}

// proxies accepts IP addresses and CIDR ranges.
func proxies(dst *[]string, v string) error {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return fmt.Errorf("%q is not an IP address or CIDR range", p)
		}
		out = append(out, p)
	}
	*dst = out
	return nil
}

// origins accepts scheme://host[:port] entries; "*" is refused on purpose.
func origins(dst *[]string, v string) error {
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if o == "*" || err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			return fmt.Errorf("%q is not an origin such as https://app.example.com (\"*\" is not allowed)", o)
		}
		out = append(out, o)
	}
	*dst = out
	return nil
}

// boolean accepts true or false in any letter case, as the OTEL_* booleans
// are spelled; anything else is refused rather than read as false.
func boolean(dst *bool, v string) error {
	switch strings.ToLower(v) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		return errors.New("must be true or false")
	}
	return nil
}

// optionalURL accepts an empty value or an absolute http(s) URL, kept as
// given (an OTLP signal endpoint is used as it is, trailing slash included).
func optionalURL(dst *string, v string) error {
	if v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("must be empty or an absolute http:// or https:// URL")
		}
	}
	*dst = v
	return nil
}
