package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/chatd/chatd/internal/domain"
)

// Open WebUI exports chats as an array of {id, title, chat: {title, history:
// {messages: {id: {id, parentId, childrenIds, role, content, timestamp}},
// currentId}, messages: [...]}, created_at}. A single chat (or its bare
// "chat" object) is accepted too. history holds every branch; the flat
// "messages" list, the branch on screen, is used only when history is absent.

type owuiItem struct {
	Title     *string   `json:"title"`
	CreatedAt flexTime  `json:"created_at"`
	Chat      *owuiChat `json:"chat"`
	owuiChat
}

type owuiChat struct {
	Title     *string       `json:"title"`
	Timestamp flexTime      `json:"timestamp"`
	History   *owuiHistory  `json:"history"`
	Messages  []owuiMessage `json:"messages"`
}

type owuiHistory struct {
	Messages  json.RawMessage `json:"messages"`
	CurrentID *string         `json:"currentId"`
}

type owuiMessage struct {
	ID        string            `json:"id"`
	ParentID  *string           `json:"parentId"`
	Role      string            `json:"role"`
	Content   json.RawMessage   `json:"content"`
	Timestamp flexTime          `json:"timestamp"`
	Files     []json.RawMessage `json:"files"`
}

func (m owuiMessage) node(fallbackParent string) domain.ImportedNode {
	n := domain.ImportedNode{SourceID: m.ID, SourceParentID: fallbackParent, Role: m.Role, CreatedAt: m.Timestamp.Time,
		OmittedParts: len(m.Files)}
	if m.ParentID != nil {
		n.SourceParentID = *m.ParentID
	}
	var s string
	var parts []json.RawMessage
	switch {
	case json.Unmarshal(m.Content, &s) == nil:
		n.Content = s
	case json.Unmarshal(m.Content, &parts) == nil:
		var omitted int
		n.Content, omitted = textParts(parts)
		n.OmittedParts += omitted
	}
	return n
}

func readOpenWebUI(raw json.RawMessage) domain.ImportedConversation {
	var item owuiItem
	if err := json.Unmarshal(raw, &item); err != nil {
		return unreadable(SourceOpenWebUI, err)
	}
	chat := item.owuiChat // a bare chat object
	if item.Chat != nil {
		chat = *item.Chat
	}
	out := domain.ImportedConversation{Source: SourceOpenWebUI, Title: deref(item.Title), CreatedAt: item.CreatedAt.Time}
	if out.Title == "" {
		out.Title = deref(chat.Title)
	}
	if out.CreatedAt.IsZero() {
		out.CreatedAt = chat.Timestamp.Time
	}
	if chat.History != nil && len(bytes.TrimSpace(chat.History.Messages)) > 0 && string(bytes.TrimSpace(chat.History.Messages)) != "null" {
		keys, values, err := orderedObject(chat.History.Messages)
		if err != nil {
			return unreadable(SourceOpenWebUI, err)
		}
		if len(keys) > 0 {
			out.CurrentSourceID = deref(chat.History.CurrentID)
		}
		for i, key := range keys {
			var m owuiMessage
			if err := json.Unmarshal(values[i], &m); err != nil {
				return unreadable(SourceOpenWebUI, errors.New("history.messages."+key+": "+err.Error()))
			}
			if m.ID == "" {
				m.ID = key
			}
			out.Nodes = append(out.Nodes, m.node(""))
		}
		if len(keys) > 0 {
			return out
		}
	}
	// No history: the flat list is one branch; each follows the one before
	// unless it names its parent.
	prev := ""
	for i, m := range chat.Messages {
		if m.ID == "" {
			m.ID = fmt.Sprintf("#%d", i)
		}
		out.Nodes = append(out.Nodes, m.node(prev))
		prev = m.ID
	}
	return out
}
