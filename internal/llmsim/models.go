package llmsim

import (
	"encoding/json"
	"net/http"
)

// The models GET /v1/models lists; requests may name any model.
const (
	ModelSmall = "sim-small"
	ModelLarge = "sim-large"
)

// modelsCreated is a fixed timestamp so the listing is deterministic.
const modelsCreated = 1735689600 // 2025-01-01T00:00:00Z

type modelList struct {
	Object string      `json:"object"`
	Data   []modelInfo `json:"data"`
}

type modelInfo struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func handleModels(w http.ResponseWriter, _ *http.Request) {
	list := modelList{Object: "list"}
	for _, id := range []string{ModelSmall, ModelLarge} {
		list.Data = append(list.Data, modelInfo{ID: id, Object: "model", Created: modelsCreated, OwnedBy: "llmsim"})
	}
	body, _ := json.Marshal(list)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
