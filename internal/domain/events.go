package domain

// EventType names a session event on the wire.
type EventType string

const (
	EventMessageCreated   EventType = "message.created"
	EventMessageDelta     EventType = "message.delta"
	EventMessageCompleted EventType = "message.completed"
	EventMessageFailed    EventType = "message.failed"
	EventMessageCancelled EventType = "message.cancelled"
	EventMessageUpdated   EventType = "message.updated"
	EventMessageDeleted   EventType = "message.deleted"
	EventSessionUpdated   EventType = "session.updated"
	EventSessionDeleted   EventType = "session.deleted"
	EventTyping           EventType = "typing"
	EventPresence         EventType = "presence"
	// EventParticipantRemoved tells the edges to close the removed user's
	// sockets; it is not sent to clients.
	EventParticipantRemoved EventType = "participant.removed"
)

// FinalEventOf names the event that announces a message's final status.
func FinalEventOf(s MessageStatus) EventType {
	switch s {
	case StatusCompleted:
		return EventMessageCompleted
	case StatusCancelled:
		return EventMessageCancelled
	default:
		return EventMessageFailed
	}
}

// MessageDelta is one piece of a streaming reply; Index counts the pieces of
// that message from 0.
type MessageDelta struct {
	MessageID string
	Delta     string
	Index     int
}

// TypingSignal and PresenceSignal are best-effort and carry no seq.
type TypingSignal struct {
	UserID   string
	IsTyping bool
}

// PresenceSignal tells that a participant came online or went away.
type PresenceSignal struct {
	UserID string
	Online bool
}

// SessionEvent is something that happened in a session. Exactly one of the
// payload fields is set, as Type says. Seq orders a session's events; it is
// zero for typing and presence, which are not replayed.
type SessionEvent struct {
	Type      EventType
	SessionID string
	Seq       int64
	Message   *MessageSnapshot
	Delta     *MessageDelta
	Session   *SessionSnapshot
	Typing    *TypingSignal
	Presence  *PresenceSignal
	Removed   *RemovedParticipant
	Deleted   *DeletedMessages
}

// DeletedMessages is message.deleted's payload: the message a client deleted
// and every message that went with it (itself included).
type DeletedMessages struct {
	MessageID  string
	DeletedIDs []string
}

// RemovedParticipant names a user who lost access to a session.
type RemovedParticipant struct {
	UserID string
}

// MessageEvent builds a message.* event from the message's current state.
func MessageEvent(t EventType, m *ChatMessage) SessionEvent {
	s := m.Snapshot()
	return SessionEvent{Type: t, SessionID: m.SessionID(), Message: &s}
}

// SessionChanged builds a session.updated or session.deleted event.
func SessionChanged(t EventType, s *ChatSession) SessionEvent {
	snap := s.Snapshot()
	return SessionEvent{Type: t, SessionID: s.ID(), Session: &snap}
}
