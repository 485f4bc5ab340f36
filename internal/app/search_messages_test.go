package app_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// searchRecorder stands in for the search engine: it answers the hits it is
// given and remembers what it was asked. (Which messages match is storage's
// contract, tested on both databases.)
type searchRecorder struct {
	hits  []ports.SearchHit
	calls []searchCall
}

type searchCall struct {
	userID    string
	terms     []domain.SearchTerm
	sessionID *string
	page      ports.Page
}

func (s *searchRecorder) Search(_ context.Context, userID string, q domain.SearchQuery, sessionID *string, p ports.Page) ([]ports.SearchHit, int, error) {
	s.calls = append(s.calls, searchCall{userID: userID, terms: q.Terms(), sessionID: sessionID, page: p})
	return s.hits, len(s.hits), nil
}

func TestSearchMessages(t *testing.T) {
	e := newEnv(t)
	owner, other := e.user("owner"), e.user("other")
	s := e.session(owner, "Trip")
	m := e.post(s, owner, "We land in Paris at noon, then "+strings.Repeat("walk ", 60)+"to the hotel.")
	rec := &searchRecorder{hits: []ports.SearchHit{{Message: m, SessionTitle: "Trip"}}}
	search := app.NewSearchMessages(e.access, rec)
	page := ports.Page{Number: 2, Size: 5}

	// q is checked first, and nothing is searched for a bad one.
	for _, q := range []string{"", "  \t", strings.Repeat("x", 201)} {
		_, _, err := search.Handle(e.ctx, owner, q, nil, page)
		if de, ok := domain.AsError(err); !ok || de.Kind != domain.ErrInvalid || de.Fields[0].Field != "q" {
			t.Fatalf("q %q: error %v, want invalid q", q, err)
		}
	}
	// A session the caller cannot read is not found, whether or not it exists.
	sid, missing := s.ID(), "0190d3f6-54a1-7c2e-9b1f-3a4c5d6e7f80"
	for _, id := range []*string{&sid, &missing} {
		if _, _, err := search.Handle(e.ctx, other, "paris", id, page); !domain.IsKind(err, domain.ErrNotFound) {
			t.Fatalf("session %s: error %v, want not found", *id, err)
		}
	}
	// Nothing searchable: no results, no search.
	res, total, err := search.Handle(e.ctx, owner, `*** "" ()`, nil, page)
	must(t, err)
	if len(res) != 0 || total != 0 || len(rec.calls) != 0 {
		t.Fatalf("punctuation only: %v, %d, %d searches", res, total, len(rec.calls))
	}

	res, total, err = search.Handle(e.ctx, owner, "HOTEL", &sid, page)
	must(t, err)
	want := []searchCall{{userID: owner.UserID, terms: []domain.SearchTerm{{Words: []string{"hotel"}, Prefix: true}},
		sessionID: &sid, page: page}}
	if !reflect.DeepEqual(rec.calls, want) {
		t.Fatalf("searched %+v, want %+v", rec.calls, want)
	}
	if total != 1 || len(res) != 1 || res[0].Message != m || res[0].SessionTitle != "Trip" ||
		!strings.HasSuffix(res[0].Snippet, "walk to the hotel.") || !strings.HasPrefix(res[0].Snippet, "…") {
		t.Fatalf("results %+v, total %d", res, total)
	}
}
