package transfer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chatd/chatd/internal/domain"
)

// LibreChat exports one conversation: {conversationId, title, endpoint,
// messages: [...]}. Each message has messageId, parentMessageId (the
// all-zero UUID for a first message), isCreatedByUser or sender, text (or
// content parts) and createdAt. Exported "with branches, recursively", the
// list holds the first messages and each nests its replies in "children".
// LibreChat has no current message: the newest leaf is shown.

// libreRootID is how LibreChat spells "no parent".
const libreRootID = "00000000-0000-0000-0000-000000000000"

type libreConversation struct {
	Title     *string           `json:"title"`
	CreatedAt flexTime          `json:"createdAt"`
	Messages  []json.RawMessage `json:"messages"`
}

type libreMessage struct {
	MessageID       string            `json:"messageId"`
	ParentMessageID *string           `json:"parentMessageId"`
	IsCreatedByUser *bool             `json:"isCreatedByUser"`
	Sender          string            `json:"sender"`
	Text            string            `json:"text"`
	Content         []json.RawMessage `json:"content"`
	CreatedAt       flexTime          `json:"createdAt"`
	Files           []json.RawMessage `json:"files"`
	Children        []json.RawMessage `json:"children"`
}

func (m libreMessage) role() string {
	if m.IsCreatedByUser != nil {
		if *m.IsCreatedByUser {
			return string(domain.RoleUser)
		}
		return string(domain.RoleAssistant)
	}
	switch strings.ToLower(m.Sender) {
	case "user":
		return string(domain.RoleUser)
	case "system":
		return string(domain.RoleSystem)
	}
	return string(domain.RoleAssistant)
}

func readLibreChat(raw json.RawMessage) domain.ImportedConversation {
	var conv libreConversation
	if err := json.Unmarshal(raw, &conv); err != nil {
		return unreadable(SourceLibreChat, err)
	}
	out := domain.ImportedConversation{Source: SourceLibreChat, Title: deref(conv.Title), CreatedAt: conv.CreatedAt.Time}
	// Depth first in file order; a nested message's parent is the one it
	// is nested in, whatever its parentMessageId says.
	type pending struct {
		raw    json.RawMessage
		parent *string
	}
	stack := make([]pending, 0, len(conv.Messages))
	for i := len(conv.Messages) - 1; i >= 0; i-- {
		stack = append(stack, pending{raw: conv.Messages[i]})
	}
	for len(stack) > 0 {
		next := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		var m libreMessage
		if err := json.Unmarshal(next.raw, &m); err != nil {
			return unreadable(SourceLibreChat, err)
		}
		if m.MessageID == "" {
			// Give it an id of its own so its nested replies can point at it.
			m.MessageID = fmt.Sprintf("#%d", len(out.Nodes))
		}
		parent := deref(m.ParentMessageID)
		if next.parent != nil {
			parent = *next.parent
		}
		if parent == libreRootID {
			parent = ""
		}
		n := domain.ImportedNode{SourceID: m.MessageID, SourceParentID: parent, Role: m.role(), CreatedAt: m.CreatedAt.Time,
			OmittedParts: len(m.Files)}
		text, omitted := textParts(m.Content)
		if m.Text != "" {
			text = m.Text
		}
		n.Content, n.OmittedParts = text, n.OmittedParts+omitted
		out.Nodes = append(out.Nodes, n)
		id := m.MessageID
		for i := len(m.Children) - 1; i >= 0; i-- {
			stack = append(stack, pending{raw: m.Children[i], parent: &id})
		}
	}
	return out
}
