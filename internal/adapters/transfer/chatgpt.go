package transfer

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/chatd/chatd/internal/domain"
)

// ChatGPT's data export (conversations.json) is an array of conversations;
// each holds its messages as a tree in "mapping" (node id -> {id, message,
// parent, children}) and names the node on screen in "current_node". The
// root is usually a node whose message is null; system and tool turns are
// nodes too, often marked metadata.is_visually_hidden_from_conversation.

type gptConversation struct {
	Title       *string         `json:"title"`
	CreateTime  flexTime        `json:"create_time"`
	Mapping     json.RawMessage `json:"mapping"`
	CurrentNode *string         `json:"current_node"`
}

type gptNode struct {
	ID      string      `json:"id"`
	Message *gptMessage `json:"message"`
	Parent  *string     `json:"parent"`
}

type gptMessage struct {
	Author struct {
		Role string `json:"role"`
	} `json:"author"`
	CreateTime flexTime   `json:"create_time"`
	Content    gptContent `json:"content"`
	Metadata   struct {
		Hidden bool `json:"is_visually_hidden_from_conversation"`
	} `json:"metadata"`
}

// gptContent covers the content types seen in exports: "text" and
// "multimodal_text" (parts), "code", "execution_output", "tether_quote" and
// "system_error" (text), "tether_browsing_display" (result). Types with no
// text at all ("thoughts", "reasoning_recap", images) count as omitted.
type gptContent struct {
	ContentType string            `json:"content_type"`
	Parts       []json.RawMessage `json:"parts"`
	Text        *string           `json:"text"`
	Result      *string           `json:"result"`
}

func (c gptContent) text() (string, int) {
	if len(c.Parts) > 0 {
		return textParts(c.Parts)
	}
	if c.Text != nil {
		return *c.Text, 0
	}
	if c.Result != nil {
		return *c.Result, 0
	}
	if c.ContentType == "" {
		return "", 0
	}
	return "", 1
}

func readChatGPT(raw json.RawMessage) domain.ImportedConversation {
	var conv gptConversation
	if err := json.Unmarshal(raw, &conv); err != nil {
		return unreadable(SourceChatGPT, err)
	}
	keys, values, err := orderedObject(conv.Mapping)
	if err != nil {
		return unreadable(SourceChatGPT, err)
	}
	out := domain.ImportedConversation{Source: SourceChatGPT, Title: deref(conv.Title), CreatedAt: conv.CreateTime.Time,
		CurrentSourceID: deref(conv.CurrentNode), Nodes: make([]domain.ImportedNode, 0, len(keys))}
	for i, key := range keys {
		var node gptNode
		if err := json.Unmarshal(values[i], &node); err != nil {
			return unreadable(SourceChatGPT, errors.New("mapping."+key+": "+err.Error()))
		}
		id := node.ID
		if id == "" {
			id = key
		}
		n := domain.ImportedNode{SourceID: id, SourceParentID: deref(node.Parent)}
		if m := node.Message; m != nil {
			n.Role = strings.ToLower(m.Author.Role)
			n.Content, n.OmittedParts = m.Content.text()
			n.CreatedAt = m.CreateTime.Time
			n.Hidden = m.Metadata.Hidden
		}
		out.Nodes = append(out.Nodes, n)
	}
	return out
}
