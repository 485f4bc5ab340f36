package transfer

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// WriteMarkdown renders a session's branch (first message to current) for a
// person to read: the title, a line about the session, then each message
// under a heading with its role and time. Message text is Markdown already
// (models answer in it), so it is written as it is.
func WriteMarkdown(w io.Writer, s *domain.ChatSession, branch []*domain.ChatMessage, exportedAt time.Time) error {
	bw := bufio.NewWriter(w)
	title := strings.TrimSpace(s.Title())
	if title == "" {
		title = "Untitled conversation"
	}
	fmt.Fprintf(bw, "# %s\n\n", oneLine(title))
	fmt.Fprintf(bw, "*%s · %s %s · %d messages on this branch · exported %s*\n",
		markdownTime(s.CreatedAt()), s.Provider(), s.Model(), len(branch), markdownTime(exportedAt))
	for _, m := range branch {
		fmt.Fprintf(bw, "\n---\n\n### %s · %s\n\n", roleTitle(m), markdownTime(m.CreatedAt()))
		// bufio keeps the first error; Flush reports it.
		_, _ = bw.WriteString(strings.TrimRight(m.Content(), "\n"))
		_, _ = bw.WriteString("\n")
	}
	return bw.Flush()
}

func roleTitle(m *domain.ChatMessage) string {
	switch m.Role() {
	case domain.RoleUser:
		return "User"
	case domain.RoleSystem:
		return "System"
	}
	label := "Assistant (" + m.Model() + ")"
	if m.Status() != domain.StatusCompleted {
		label += " — " + string(m.Status())
	}
	return label
}

func markdownTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// oneLine keeps a title from breaking out of its heading.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
