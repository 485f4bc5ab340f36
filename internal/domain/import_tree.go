package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ImportSourceChatd names chatd's own export format; other sources are named
// by the adapter that reads them ("chatgpt", "openwebui", "librechat").
const ImportSourceChatd = "chatd.v1"

// ImportedNode is one message of a conversation read from an export file,
// as the file says it, before any rule is applied.
type ImportedNode struct {
	SourceID       string
	SourceParentID string // empty for a first message
	Role           string // as the source names it; only user, assistant and system are kept
	Content        string
	CreatedAt      time.Time // zero when the source gives none
	Hidden         bool      // the source hides it from the conversation
	OmittedParts   int       // parts that were not text and were left out
	Metadata       map[string]any
	// Only chatd's own format carries these; zero values mean "not given".
	Status     MessageStatus
	Provider   Provider
	Model      string
	TokensUsed *int
}

// ImportedConversation is one conversation of an export file in a neutral
// form: each format's reader fills it, Build applies chatd's rules.
type ImportedConversation struct {
	Source          string
	Title           string
	CreatedAt       time.Time // zero when the source gives none
	CurrentSourceID string    // the source's current node; empty when none
	Settings        Settings
	Nodes           []ImportedNode
	// Unreadable, when set, says why the reader could not make sense of
	// this conversation; Build skips it with that reason.
	Unreadable string
}

// ImportTarget is who receives an import and under which rules.
type ImportTarget struct {
	OwnerID  string
	Provider Provider
	Model    string
	MaxChars int
	Now      time.Time
	NewID    func() string
}

// ImportedSession is a conversation turned into a session and its messages,
// ready to store: messages come parents first.
type ImportedSession struct {
	Session  *ChatSession
	Messages []*ChatMessage
}

// importSkipped reports a conversation that cannot be imported; its Detail
// is the reason the import answer lists.
func importSkipped(reason string) *Error {
	return Invalid("import-skipped", reason)
}

// Build applies the import rules: nodes that are hidden, empty or of another
// role are dropped and their children re-attached to the nearest kept
// ancestor; a parent that points nowhere makes a first message; a cycle
// skips the conversation, as does having nothing left. The current message
// is the source's current node, else its nearest kept ancestor, else the
// newest leaf. Every message gets a new id and keeps its role, text and time.
// Text longer than MaxChars is truncated (the metadata says so) rather than
// dropped, so the branch it is on survives.
func (c *ImportedConversation) Build(t ImportTarget) (ImportedSession, error) {
	if c.Unreadable != "" {
		return ImportedSession{}, importSkipped(c.Unreadable)
	}
	n := len(c.Nodes)
	index := make(map[string]int, n)
	for i := range c.Nodes {
		if c.Nodes[i].SourceID == "" {
			c.Nodes[i].SourceID = fmt.Sprintf("#%d", i)
		}
		if _, dup := index[c.Nodes[i].SourceID]; dup {
			return ImportedSession{}, importSkipped(fmt.Sprintf("two messages share the id %q", clip(c.Nodes[i].SourceID)))
		}
		index[c.Nodes[i].SourceID] = i
	}
	parent := make([]int, n)
	kept := make([]bool, n)
	for i := range c.Nodes {
		node := &c.Nodes[i]
		parent[i] = -1
		if p, ok := index[node.SourceParentID]; ok && node.SourceParentID != "" {
			parent[i] = p
		}
		node.Content = cleanText(node.Content)
		kept[i] = isImportedRole(node.Role) && !node.Hidden && strings.TrimSpace(node.Content) != ""
	}
	if at, ok := findCycle(parent); ok {
		return ImportedSession{}, importSkipped(fmt.Sprintf("the parent links form a cycle through message %q", clip(c.Nodes[at].SourceID)))
	}
	keptParent := nearestKept(parent, kept)
	order := keptInTreeOrder(keptParent, kept)
	if len(order) == 0 {
		return ImportedSession{}, importSkipped("the conversation has no message to import (no user, assistant or system text)")
	}
	current := c.currentNode(index, kept, keptParent, order)
	return c.assemble(t, order, keptParent, current)
}

func isImportedRole(role string) bool {
	switch MessageRole(role) {
	case RoleUser, RoleAssistant, RoleSystem:
		return true
	}
	return false
}

// cleanText makes text storable on both dialects: valid UTF-8, no NUL.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= 80 {
		return s
	}
	return string([]rune(s)[:80]) + "…"
}

// findCycle follows every parent chain once (three colours) and returns a
// node on a cycle, if there is one.
func findCycle(parent []int) (int, bool) {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(parent))
	var path []int
	for start := range parent {
		path = path[:0]
		at := start
		for at >= 0 && state[at] == unseen {
			state[at] = onPath
			path = append(path, at)
			at = parent[at]
		}
		if at >= 0 && state[at] == onPath {
			return at, true
		}
		for _, p := range path {
			state[p] = done
		}
	}
	return 0, false
}

// nearestKept maps each node to its nearest kept ancestor (-1 for none).
// The parent links must be acyclic.
func nearestKept(parent []int, kept []bool) []int {
	const unknown = -2
	out := make([]int, len(parent))
	for i := range out {
		out[i] = unknown
	}
	var path []int
	for start := range parent {
		path = path[:0]
		at := start
		for out[at] == unknown {
			path = append(path, at)
			p := parent[at]
			if p < 0 || kept[p] {
				out[at] = p
				break
			}
			at = p
		}
		// Every node on the path shares the answer of the last one.
		answer := out[at]
		for _, p := range path {
			out[p] = answer
		}
	}
	return out
}

// keptInTreeOrder lists the kept nodes so that parents come before their
// children, in source order otherwise (by depth, then position).
func keptInTreeOrder(keptParent []int, kept []bool) []int {
	depth := make([]int, len(kept))
	for i := range depth {
		depth[i] = -1
	}
	var order []int
	for i := range kept {
		if !kept[i] {
			continue
		}
		order = append(order, i)
		// Iterative: chains of thousands of messages are normal.
		var path []int
		at := i
		for at >= 0 && depth[at] < 0 {
			path = append(path, at)
			at = keptParent[at]
		}
		d := -1
		if at >= 0 {
			d = depth[at]
		}
		for j := len(path) - 1; j >= 0; j-- {
			d++
			depth[path[j]] = d
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return depth[a] - depth[b] })
	return order
}

// currentNode resolves the message on screen after the import.
func (c *ImportedConversation) currentNode(index map[string]int, kept []bool, keptParent, order []int) int {
	if at, ok := index[c.CurrentSourceID]; ok && c.CurrentSourceID != "" {
		if kept[at] {
			return at
		}
		if p := keptParent[at]; p >= 0 {
			return p
		}
	}
	hasChild := make(map[int]bool, len(order))
	for _, i := range order {
		if p := keptParent[i]; p >= 0 {
			hasChild[p] = true
		}
	}
	best := -1
	for i := range c.Nodes {
		if !kept[i] || hasChild[i] {
			continue
		}
		if best < 0 || !c.Nodes[i].CreatedAt.Before(c.Nodes[best].CreatedAt) {
			best = i
		}
	}
	return best
}

// assemble builds the session and its messages from the resolved tree.
func (c *ImportedConversation) assemble(t ImportTarget, order, keptParent []int, current int) (ImportedSession, error) {
	title := strings.TrimSpace(cleanText(c.Title))
	if utf8.RuneCountInString(title) > MaxTitleChars {
		title = strings.TrimSpace(string([]rune(title)[:MaxTitleChars]))
	}
	created := c.CreatedAt
	if created.IsZero() {
		for _, i := range order {
			if at := c.Nodes[i].CreatedAt; !at.IsZero() && (created.IsZero() || at.Before(created)) {
				created = at
			}
		}
	}
	if created.IsZero() {
		created = t.Now
	}
	session, err := NewChatSession(NewSessionParams{
		ID: t.NewID(), OwnerID: t.OwnerID, Title: title, Provider: t.Provider, Model: t.Model,
		Settings: c.Settings, Now: created,
	})
	if err != nil {
		if de, ok := AsError(err); ok {
			return ImportedSession{}, importSkipped("the conversation's " + de.Detail)
		}
		return ImportedSession{}, err
	}
	newIDs := make(map[int]string, len(order))
	times := make(map[int]time.Time, len(order))
	messages := make([]*ChatMessage, 0, len(order))
	var last time.Time
	for _, i := range order {
		node := &c.Nodes[i]
		id := t.NewID()
		newIDs[i] = id
		var parentID *string
		at := node.CreatedAt.UTC()
		if p := keptParent[i]; p >= 0 {
			pid := newIDs[p]
			parentID = &pid
			if at.IsZero() {
				at = times[p]
			}
		}
		if at.IsZero() {
			at = session.createdAt
		}
		times[i] = at
		if at.After(last) {
			last = at
		}
		messages = append(messages, c.message(t, session, node, id, parentID, at))
		// The text now lives in the message; let the node's go.
		node.Content = ""
	}
	session.messageCount = len(messages)
	session.lastMessageAt = &last
	if last.After(session.updatedAt) {
		session.updatedAt = last
	}
	cur := newIDs[current]
	session.currentMessageID = &cur
	return ImportedSession{Session: session, Messages: messages}, nil
}

// message builds one imported message; it is always final.
func (c *ImportedConversation) message(t ImportTarget, s *ChatSession, node *ImportedNode, id string, parentID *string,
	at time.Time,
) *ChatMessage {
	metadata := map[string]any{}
	if node.Metadata != nil {
		if clean, ok := cleanValue(maps.Clone(node.Metadata)).(map[string]any); ok {
			metadata = clean
		}
	}
	note := map[string]any{}
	if c.Source != ImportSourceChatd {
		note["source"] = c.Source
		note["source_id"] = node.SourceID
	}
	if node.OmittedParts > 0 {
		note["omitted_parts"] = node.OmittedParts
	}
	content := node.Content
	if n := utf8.RuneCountInString(content); t.MaxChars > 0 && n > t.MaxChars {
		content = string([]rune(content)[:t.MaxChars])
		note["truncated_from_chars"] = n
	}
	if len(note) > 0 {
		metadata["import"] = note
	}
	status := StatusCompleted
	if node.Status != "" {
		// A reply still generating when it was exported will never finish.
		status = node.Status
		if !status.IsFinal() {
			status = StatusInterrupted
		}
	}
	provider, model := s.provider, s.model
	if _, err := ParseProvider(string(node.Provider)); err == nil && CheckModel("llm_model", node.Model) == nil {
		provider, model = node.Provider, node.Model
	}
	var tokens *int
	if node.TokensUsed != nil && *node.TokensUsed > 0 {
		v := *node.TokensUsed
		tokens = &v
	}
	return &ChatMessage{
		id: id, sessionID: s.id, userID: t.OwnerID, parentID: parentID, role: MessageRole(node.Role),
		content: content, provider: provider, model: model, tokensUsed: tokens, status: status,
		metadata: metadata, createdAt: at, updatedAt: at,
	}
}

// cleanValue removes NUL from every string of a JSON value: PostgreSQL's
// jsonb refuses it, and both dialects must store the same.
func cleanValue(v any) any {
	switch v := v.(type) {
	case string:
		return cleanText(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[cleanText(k)] = cleanValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cleanValue(e)
		}
		return out
	}
	return v
}
