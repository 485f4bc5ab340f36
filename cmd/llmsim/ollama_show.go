package main

import (
	"encoding/json"
	"net/http"

	"github.com/chatd/chatd/internal/llmsim"
)

// contextLengths are what POST /api/show reports for llmsim's models. Ollama
// answers that route beside its OpenAI layer, and chatd asks it for the
// context length /v1/models does not give, so with llmsim too the model
// picker shows one.
var contextLengths = map[string]int{
	llmsim.ModelSmall: 8192,
	llmsim.ModelLarge: 131072,
}

// ollamaShow is the part of Ollama's /api/show answer chatd reads, with the
// details a person looking at it expects.
type ollamaShow struct {
	Details      showDetails    `json:"details"`
	ModelInfo    map[string]any `json:"model_info"`
	Capabilities []string       `json:"capabilities"`
}

type showDetails struct {
	Format   string   `json:"format"`
	Family   string   `json:"family"`
	Families []string `json:"families"`
}

// handleShow answers POST /api/show {"model": name} (Ollama also accepts
// "name"). Directives after '+' do not change the model it describes.
func handleShow(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Name  string `json:"name"`
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeShowError(w, http.StatusBadRequest, "invalid request body")
		return
	}
	model := req.Model
	if model == "" {
		model = req.Name
	}
	name, _, _ := llmsim.ParseModel(model, llmsim.Options{})
	n, ok := contextLengths[name]
	if !ok {
		writeShowError(w, http.StatusNotFound, "model '"+model+"' not found")
		return
	}
	body, _ := json.Marshal(ollamaShow{
		Details: showDetails{Format: "llmsim", Family: "llmsim", Families: []string{"llmsim"}},
		ModelInfo: map[string]any{
			"general.architecture":  "llmsim",
			"llmsim.context_length": n,
		},
		Capabilities: []string{"completion"},
	})
	_, _ = w.Write(body)
}

// writeShowError answers as Ollama does: {"error": "sentence"}.
func writeShowError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"error": msg})
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
