package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// row is one measured figure, with its target when it has one.
type row struct {
	metric string
	value  string
	target string // empty: reported, not judged
	met    *bool
}

// result is what a scenario reports.
type result struct {
	scenario     string
	params       string
	rows         []row
	notes        []string
	lossFailures int
}

func (r *result) add(metric, value string) {
	r.rows = append(r.rows, row{metric: metric, value: value})
}

func (r *result) judge(metric, value, target string, met bool) {
	r.rows = append(r.rows, row{metric: metric, value: value, target: target, met: &met})
}

func (r *result) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (row row) verdict() string {
	switch {
	case row.met == nil:
		return ""
	case *row.met:
		return "met"
	default:
		return "MISSED"
	}
}

// print writes the human-readable table.
func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "\n== %s (%s)\n", r.scenario, r.params)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tvalue\ttarget\t")
	for _, row := range r.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.metric, row.value, row.target, row.verdict())
	}
	_ = tw.Flush()
	for _, n := range r.notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// appendSummary appends the rows as Markdown table rows:
// | scenario | metric | value | target | verdict |.
func (r *result) appendSummary(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, row := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.scenario, row.metric, row.value, row.target, row.verdict())
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
