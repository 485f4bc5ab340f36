package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ImportSessionsCmd is a decoded export file and how to continue it.
type ImportSessionsCmd struct {
	Provider      domain.Provider
	Model         string
	Conversations []domain.ImportedConversation
	// RequestHash fingerprints the request (body, provider, model) for
	// Idempotency-Key; the adapter that read the body computes it.
	RequestHash    string
	IdempotencyKey string
}

// ImportResult is what an import stored and skipped. Replayed is true when
// an earlier request with the same Idempotency-Key stored it.
type ImportResult struct {
	ports.ImportResult
	Replayed bool
}

// ImportSessions turns conversations from export files into sessions the
// caller owns.
type ImportSessions struct {
	imports ports.ImportRepository
	ids     ports.IDs
	clock   ports.Clock
	limits  Limits
}

// NewImportSessions builds the use case.
func NewImportSessions(imports ports.ImportRepository, ids ports.IDs, clock ports.Clock, limits Limits) *ImportSessions {
	return &ImportSessions{imports: imports, ids: ids, clock: clock, limits: limits}
}

// Handle applies the import rules to every conversation, skipping (with a
// reason) those that cannot be imported, and stores the rest in one
// transaction.
func (h *ImportSessions) Handle(ctx context.Context, caller Caller, cmd ImportSessionsCmd) (ImportResult, error) {
	if _, err := domain.ParseProvider(string(cmd.Provider)); err != nil {
		return ImportResult{}, err
	}
	if err := domain.CheckModel("llm_model", cmd.Model); err != nil {
		return ImportResult{}, err
	}
	if cmd.IdempotencyKey != "" {
		if err := domain.CheckIdempotencyKey(cmd.IdempotencyKey); err != nil {
			return ImportResult{}, err
		}
		if res, found, err := h.replay(ctx, caller, cmd); found || err != nil {
			return res, err
		}
	}
	now := h.clock.Now()
	target := domain.ImportTarget{OwnerID: caller.UserID, Provider: cmd.Provider, Model: cmd.Model,
		MaxChars: h.limits.MaxMessageChars, Now: now, NewID: h.ids.NewID}
	result := ports.ImportResult{Sessions: []ports.ImportedSummary{}, Skipped: []ports.ImportSkip{}}
	sessions := make([]domain.ImportedSession, 0, len(cmd.Conversations))
	for i := range cmd.Conversations {
		s, err := cmd.Conversations[i].Build(target)
		// The conversation's nodes are not needed any more; let them go
		// while the rest is built.
		cmd.Conversations[i] = domain.ImportedConversation{}
		if err != nil {
			de, ok := domain.AsError(err)
			if !ok {
				return ImportResult{}, err
			}
			result.Skipped = append(result.Skipped, ports.ImportSkip{Index: i, Reason: de.Detail})
			continue
		}
		sessions = append(sessions, s)
		result.Sessions = append(result.Sessions, ports.ImportedSummary{ID: s.Session.ID(), Title: s.Session.Title(),
			MessageCount: s.Session.MessageCount()})
	}
	var key *ports.ImportKey
	if cmd.IdempotencyKey != "" {
		key = &ports.ImportKey{UserID: caller.UserID, Key: cmd.IdempotencyKey, RequestHash: cmd.RequestHash,
			Result: result, CreatedAt: now.UTC()}
	}
	if err := h.imports.Import(ctx, sessions, key); err != nil {
		if de, ok := domain.AsError(err); ok && de.Code == "idempotency-key-exists" {
			// A concurrent retry stored it first: answer what it stored.
			res, _, rerr := h.replay(ctx, caller, cmd)
			return res, rerr
		}
		return ImportResult{}, err
	}
	return ImportResult{ImportResult: result}, nil
}

// replay answers what an earlier import with the same key stored.
func (h *ImportSessions) replay(ctx context.Context, caller Caller, cmd ImportSessionsCmd) (ImportResult, bool, error) {
	rec, err := h.imports.ImportKey(ctx, caller.UserID, cmd.IdempotencyKey)
	if domain.IsKind(err, domain.ErrNotFound) {
		return ImportResult{}, false, nil
	}
	if err != nil {
		return ImportResult{}, true, err
	}
	if rec.RequestHash != cmd.RequestHash {
		return ImportResult{}, true, domain.Conflict("idempotency-key-reused",
			"this Idempotency-Key was used with a different request")
	}
	return ImportResult{ImportResult: rec.Result, Replayed: true}, true, nil
}
