package storagetest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

var participantTests = map[string]func(t *testing.T, f *fixture){
	"membership reads the session and the membership together": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		member := f.user(t, "member@example.com")
		stranger := f.user(t, "stranger@example.com")
		s := f.session(t, owner, "team")
		mp := domain.Participant{SessionID: s.ID(), UserID: member.ID(), Role: domain.ParticipantMember, CreatedAt: f.tick(time.Second)}
		must(t, f.sessions.AddParticipant(f.ctx, mp))

		got, p, err := f.sessions.Membership(f.ctx, s.ID(), member.ID())
		must(t, err)
		mp.CreatedAt = ms(mp.CreatedAt)
		equal(t, "membership", p, mp)
		want, err := f.sessions.Get(f.ctx, s.ID())
		must(t, err)
		equal(t, "session", got.Snapshot(), want.Snapshot())

		_, _, err = f.sessions.Membership(f.ctx, s.ID(), stranger.ID())
		wantErr(t, err, domain.ErrNotFound, "participant-not-found")
		_, _, err = f.sessions.Membership(f.ctx, newID(), member.ID())
		wantErr(t, err, domain.ErrNotFound, "participant-not-found")
		_, _, err = f.sessions.Membership(f.ctx, "not-an-id", member.ID())
		wantErr(t, err, domain.ErrNotFound, "participant-not-found")
	},
	"add, list in joining order, get and remove": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		member := f.user(t, "member@example.com")
		viewer := f.user(t, "viewer@example.com")
		s := f.session(t, owner, "team")
		// The viewer joins before the member: the list follows joining time, not insertion order.
		vp := domain.Participant{SessionID: s.ID(), UserID: viewer.ID(), Role: domain.ParticipantViewer, CreatedAt: f.tick(time.Second)}
		mp := domain.Participant{SessionID: s.ID(), UserID: member.ID(), Role: domain.ParticipantMember, CreatedAt: f.tick(time.Second)}
		must(t, f.sessions.AddParticipant(f.ctx, mp))
		must(t, f.sessions.AddParticipant(f.ctx, vp))

		got, err := f.sessions.Participant(f.ctx, s.ID(), member.ID())
		must(t, err)
		mp.CreatedAt = ms(mp.CreatedAt)
		equal(t, "member", got, mp)

		all, err := f.sessions.Participants(f.ctx, s.ID())
		must(t, err)
		vp.CreatedAt = ms(vp.CreatedAt)
		equal(t, "participants", all, []domain.Participant{
			{SessionID: s.ID(), UserID: owner.ID(), Role: domain.ParticipantOwner, CreatedAt: ms(s.CreatedAt())}, vp, mp,
		})

		must(t, f.sessions.RemoveParticipant(f.ctx, s.ID(), member.ID()))
		_, err = f.sessions.Participant(f.ctx, s.ID(), member.ID())
		wantErr(t, err, domain.ErrNotFound, "participant-not-found")
		wantErr(t, f.sessions.RemoveParticipant(f.ctx, s.ID(), member.ID()), domain.ErrNotFound, "participant-not-found")
		all, err = f.sessions.Participants(f.ctx, s.ID())
		must(t, err)
		equal(t, "after remove", len(all), 2)
	},
	"adding twice is a conflict": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		member := f.user(t, "member@example.com")
		s := f.session(t, owner, "team")
		p := domain.Participant{SessionID: s.ID(), UserID: member.ID(), Role: domain.ParticipantMember, CreatedAt: f.now}
		must(t, f.sessions.AddParticipant(f.ctx, p))
		p.Role = domain.ParticipantViewer
		wantErr(t, f.sessions.AddParticipant(f.ctx, p), domain.ErrConflict, "already-participant")
		// The owner is a participant from the start.
		wantErr(t, f.sessions.AddParticipant(f.ctx, domain.Participant{SessionID: s.ID(), UserID: owner.ID(), Role: domain.ParticipantMember, CreatedAt: f.now}),
			domain.ErrConflict, "already-participant")
		got, err := f.sessions.Participant(f.ctx, s.ID(), member.ID())
		must(t, err)
		equal(t, "role unchanged", got.Role, domain.ParticipantMember)
	},
	"adding to a missing session or a missing user is not found": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		s := f.session(t, owner, "team")
		wantErr(t, f.sessions.AddParticipant(f.ctx, domain.Participant{SessionID: s.ID(), UserID: newID(), Role: domain.ParticipantMember, CreatedAt: f.now}),
			domain.ErrNotFound, "user-not-found")
		wantErr(t, f.sessions.AddParticipant(f.ctx, domain.Participant{SessionID: newID(), UserID: owner.ID(), Role: domain.ParticipantMember, CreatedAt: f.now}),
			domain.ErrNotFound, "session-not-found")
	},
	"missing participant is not found": func(t *testing.T, f *fixture) {
		owner := f.user(t, "owner@example.com")
		other := f.user(t, "other@example.com")
		s := f.session(t, owner, "solo")
		_, err := f.sessions.Participant(f.ctx, s.ID(), other.ID())
		wantErr(t, err, domain.ErrNotFound, "participant-not-found")
		_, err = f.sessions.Participant(f.ctx, newID(), owner.ID())
		wantErr(t, err, domain.ErrNotFound, "participant-not-found")
		_, err = f.sessions.Participant(f.ctx, "nope", owner.ID())
		wantErr(t, err, domain.ErrNotFound, "participant-not-found")
		ps, err := f.sessions.Participants(f.ctx, newID())
		must(t, err)
		equal(t, "participants of a missing session", len(ps), 0)
	},
}
