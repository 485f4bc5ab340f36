package domain

// The conversation is a tree: each message follows its parent (nil for a
// first message), and a session shows one branch at a time, the path from a
// first message down to its current message. These are the tree's rules;
// the repositories apply them inside the transactions that change the tree.

// Branch selects which messages of a session a list shows.
type Branch string

const (
	// BranchCurrent is the path from the first message to the current one.
	BranchCurrent Branch = "current"
	// BranchAll is every message of every branch, in time order.
	BranchAll Branch = "all"
)

// ParseBranch accepts the branch names of a message list.
func ParseBranch(s string) (Branch, error) {
	switch Branch(s) {
	case BranchCurrent, BranchAll:
		return Branch(s), nil
	}
	return "", InvalidField("branch", "must be current or all")
}

// Placement says where a new turn attaches: after the session's current
// message (the zero value), or under a parent the client chose (nil: a new
// first message).
type Placement struct {
	explicit bool
	parentID *string
}

// FollowCurrent is the placement of a post that names no parent.
func FollowCurrent() Placement { return Placement{} }

// Under is the placement of a post that names its parent (nil for a new root).
func Under(parentID *string) Placement { return Placement{explicit: true, parentID: parentID} }

// Explicit tells whether the client chose the parent; ParentID is that choice.
func (p Placement) Explicit() bool    { return p.explicit }
func (p Placement) ParentID() *string { return p.parentID }

// Resolve tells the parent a new turn gets, given the session's current
// message at the moment the turn is stored.
func (p Placement) Resolve(current *string) *string {
	if !p.explicit {
		return current
	}
	return p.parentID
}

// ForeignParent refuses a parent that is not a message of the session.
func ForeignParent(field string) error {
	return InvalidField(field, "must be a message of this session")
}

// AttachTo places a new message under parentID. The repository calls it in
// the transaction that stores the message, once the parent is known.
func (m *ChatMessage) AttachTo(parentID *string) { m.parentID = parentID }

// Clone returns an independent copy, for answering a message while another
// owner goes on changing the original.
func (m *ChatMessage) Clone() *ChatMessage { return RehydrateMessage(m.Snapshot()) }

// RegenerationParent is the message a new reply for m answers: a reply is
// replaced by a sibling under the same turn, and a user or system message
// gets a reply under itself. A reply still generating cannot be regenerated
// yet; cancel it first.
func (m *ChatMessage) RegenerationParent() (*string, error) {
	if m.role != RoleAssistant {
		id := m.id
		return &id, nil
	}
	if !m.status.IsFinal() {
		return nil, Conflict("message-not-finished",
			"this reply is still being generated; cancel it or wait for it to finish before regenerating")
	}
	return m.parentID, nil
}

// MaySwitchBranch lets owners and members choose the branch on screen;
// viewers only read.
func (p Participant) MaySwitchBranch() error {
	if p.Role == ParticipantViewer {
		return Forbidden("viewer-cannot-switch-branch", "viewers may read this session but not change its branch")
	}
	return nil
}

// MayDelete lets the session owner delete any message (with everything under
// it) and an author delete their own user message.
func (p Participant) MayDelete(m *ChatMessage) error {
	if p.Role == ParticipantOwner || (m.role == RoleUser && m.userID == p.UserID && p.Role != ParticipantViewer) {
		return nil
	}
	return Forbidden("may-not-delete-message", "only the session owner or the message's author may delete it")
}
