package transfer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/chatd/chatd/internal/adapters/wire"
	"github.com/chatd/chatd/internal/domain"
)

// chatd.v1 is chatd's own export: {"format": "chatd.v1", "exported_at",
// "sessions": [{title, llm_provider, llm_model, settings, created_at,
// current_message_id, messages: [{id, parent_id, role, content, status,
// llm_provider, llm_model, tokens_used, message_metadata, created_at}]}]},
// every branch, messages in time order. Its keys are a file format: change
// them only with a new format name.

type v1Session struct {
	Title            string         `json:"title"`
	LLMProvider      string         `json:"llm_provider"`
	LLMModel         string         `json:"llm_model"`
	Settings         wire.Settings  `json:"settings"`
	CreatedAt        wire.Timestamp `json:"created_at"`
	CurrentMessageID *string        `json:"current_message_id"`
}

type v1Message struct {
	ID              string         `json:"id"`
	ParentID        *string        `json:"parent_id"`
	Role            string         `json:"role"`
	Content         string         `json:"content"`
	Status          string         `json:"status"`
	LLMProvider     string         `json:"llm_provider"`
	LLMModel        string         `json:"llm_model"`
	TokensUsed      *int           `json:"tokens_used"`
	MessageMetadata map[string]any `json:"message_metadata"`
	CreatedAt       wire.Timestamp `json:"created_at"`
}

// v1SessionIn and v1MessageIn read what the writer wrote, leniently about
// times (any form flexTime reads).
type v1SessionIn struct {
	Title            string        `json:"title"`
	Settings         wire.Settings `json:"settings"`
	CreatedAt        flexTime      `json:"created_at"`
	CurrentMessageID *string       `json:"current_message_id"`
	Messages         []v1MessageIn `json:"messages"`
}

type v1MessageIn struct {
	ID              string         `json:"id"`
	ParentID        *string        `json:"parent_id"`
	Role            string         `json:"role"`
	Content         string         `json:"content"`
	Status          string         `json:"status"`
	LLMProvider     string         `json:"llm_provider"`
	LLMModel        string         `json:"llm_model"`
	TokensUsed      *int           `json:"tokens_used"`
	MessageMetadata map[string]any `json:"message_metadata"`
	CreatedAt       flexTime       `json:"created_at"`
}

// readChatdSession reads one session of a chatd.v1 file. The provider and
// model that continue it come from the import request, not the file; each
// message keeps the model that wrote it.
func readChatdSession(raw json.RawMessage) domain.ImportedConversation {
	var s v1SessionIn
	if err := json.Unmarshal(raw, &s); err != nil {
		return unreadable(domain.ImportSourceChatd, err)
	}
	out := domain.ImportedConversation{Source: domain.ImportSourceChatd, Title: s.Title, CreatedAt: s.CreatedAt.Time,
		CurrentSourceID: deref(s.CurrentMessageID), Settings: s.Settings.ToDomain(),
		Nodes: make([]domain.ImportedNode, 0, len(s.Messages))}
	for _, m := range s.Messages {
		out.Nodes = append(out.Nodes, domain.ImportedNode{
			SourceID: m.ID, SourceParentID: deref(m.ParentID), Role: m.Role, Content: m.Content, CreatedAt: m.CreatedAt.Time,
			Metadata: m.MessageMetadata, Status: domain.MessageStatus(m.Status), Provider: domain.Provider(m.LLMProvider),
			Model: m.LLMModel, TokensUsed: m.TokensUsed,
		})
	}
	// A status chatd does not know reads as completed; the domain stores a
	// reply that was still generating as interrupted.
	for i := range out.Nodes {
		switch out.Nodes[i].Status {
		case domain.StatusCompleted, domain.StatusFailed, domain.StatusCancelled, domain.StatusInterrupted,
			domain.StatusPending, domain.StatusStreaming:
		default:
			out.Nodes[i].Status = domain.StatusCompleted
		}
	}
	return out
}

// Writer writes a chatd.v1 file incrementally: a session's header, then its
// messages one at a time, so neither a session nor an account is ever held
// whole in memory.
type Writer struct {
	w         *bufio.Writer
	sessions  int
	messages  int
	inSession bool
}

// NewWriter starts a chatd.v1 document on w.
func NewWriter(w io.Writer, exportedAt time.Time) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	at, _ := wire.Timestamp(exportedAt).MarshalText()
	if _, err := fmt.Fprintf(bw, `{"format":%q,"exported_at":"%s","sessions":[`, domain.ImportSourceChatd, at); err != nil {
		return nil, err
	}
	return &Writer{w: bw}, nil
}

// BeginSession writes a session's fields and opens its message list.
func (w *Writer) BeginSession(s *domain.ChatSession) error {
	head, err := json.Marshal(v1Session{
		Title: s.Title(), LLMProvider: string(s.Provider()), LLMModel: s.Model(), Settings: wire.FromSettings(s.Settings()),
		CreatedAt: wire.Timestamp(s.CreatedAt()), CurrentMessageID: s.CurrentMessageID(),
	})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	if w.sessions > 0 {
		_ = w.w.WriteByte(',')
	}
	w.sessions++
	w.messages = 0
	w.inSession = true
	// The header's closing brace gives way to the message list.
	_, _ = w.w.Write(head[:len(head)-1])
	_, err = w.w.WriteString(`,"messages":[`)
	return err
}

// Message writes one message of the open session.
func (w *Writer) Message(m *domain.ChatMessage) error {
	meta := m.Metadata()
	if meta == nil {
		meta = map[string]any{}
	}
	b, err := json.Marshal(v1Message{
		ID: m.ID(), ParentID: m.ParentID(), Role: string(m.Role()), Content: m.Content(), Status: string(m.Status()),
		LLMProvider: string(m.Provider()), LLMModel: m.Model(), TokensUsed: m.TokensUsed(), MessageMetadata: meta,
		CreatedAt: wire.Timestamp(m.CreatedAt()),
	})
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if w.messages > 0 {
		_ = w.w.WriteByte(',')
	}
	w.messages++
	_, err = w.w.Write(b)
	return err
}

// EndSession closes the open session.
func (w *Writer) EndSession() error {
	w.inSession = false
	_, err := w.w.WriteString("]}")
	return err
}

// Close ends the document and writes out what is buffered.
func (w *Writer) Close() error {
	if w.inSession {
		if err := w.EndSession(); err != nil {
			return err
		}
	}
	if _, err := w.w.WriteString("]}\n"); err != nil {
		return err
	}
	return w.w.Flush()
}

// Flush writes out what is buffered, so a streamed answer makes progress.
func (w *Writer) Flush() error { return w.w.Flush() }
