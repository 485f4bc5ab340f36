package app

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// A check that was reading storage while a removal happened keeps its
// answer to itself: no entry outlives the removal.
func TestMembershipReadRacingARevocationIsNotKept(t *testing.T) {
	c := newMembershipCache()
	now := time.Unix(1000, 0)
	k := membershipKey{sessionID: "s", userID: "bob"}
	s := domain.RehydrateSession(domain.SessionSnapshot{ID: "s", OwnerID: "owner"})
	p := domain.Participant{SessionID: "s", UserID: "bob", Role: domain.ParticipantMember}

	read := c.beforeRead(k, 7, now)
	c.revoke("s") // bob removed while his check read storage
	c.put(read, s, p)
	if _, _, ok := c.get(k, 7, now); ok {
		t.Fatal("a membership read before a removal was kept after it")
	}

	read = c.beforeRead(k, 7, now)
	c.put(read, s, p)
	got, _, ok := c.get(k, 7, now)
	if !ok {
		t.Fatal("a read with no removal meanwhile was not kept")
	}
	if got == s {
		t.Fatal("the cache handed out the session it keeps, not a copy")
	}
	if _, _, ok := c.get(k, 8, now); ok {
		t.Fatal("kept across a new seq")
	}
	if _, _, ok := c.get(k, 7, now.Add(membershipTTL+time.Millisecond)); ok {
		t.Fatal("kept past its TTL")
	}
	c.revoke("s")
	if _, _, ok := c.get(k, 7, now); ok {
		t.Fatal("kept after the session's revocation")
	}
}
