package domain

import "time"

// ParticipantRole is what a user may do in one session.
type ParticipantRole string

const (
	ParticipantOwner  ParticipantRole = "owner"
	ParticipantMember ParticipantRole = "member"
	ParticipantViewer ParticipantRole = "viewer"
)

// ParseParticipantRole accepts the roles an owner may grant (never owner).
func ParseParticipantRole(s string) (ParticipantRole, error) {
	switch ParticipantRole(s) {
	case ParticipantMember, ParticipantViewer:
		return ParticipantRole(s), nil
	}
	return "", InvalidField("role", "must be one of member, viewer")
}

// Participant is a user's membership in a session. Every read and write of a
// session's content goes through one: no membership, no access.
type Participant struct {
	SessionID string
	UserID    string
	Role      ParticipantRole
	CreatedAt time.Time
}

// MayPost refuses viewers: they read and subscribe only.
func (p Participant) MayPost() error {
	if p.Role == ParticipantViewer {
		return Forbidden("viewer-cannot-post", "viewers may read this session but not post to it")
	}
	return nil
}

// MayManage allows the owner only to change the session and its participants.
func (p Participant) MayManage() error {
	if p.Role != ParticipantOwner {
		return Forbidden("owner-only", "only the session owner may do this")
	}
	return nil
}
