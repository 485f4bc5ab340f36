package domain

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// fieldsOf lists the invalid fields Validate reports, sorted.
func fieldsOf(err error) []string {
	if err == nil {
		return nil
	}
	de, ok := AsError(err)
	if !ok {
		return []string{"not a domain error: " + err.Error()}
	}
	var out []string
	for _, f := range de.Fields {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

func TestSettingsValidate(t *testing.T) {
	cases := []struct {
		name string
		s    Settings
		bad  []string
	}{
		{"empty", Settings{}, nil},
		{"every bound at its limit", Settings{
			SystemPrompt: ptr(strings.Repeat("é", 32000)), Temperature: ptr(2.0), TopP: ptr(1.0), MaxTokens: ptr(1),
			MaxContextMessages: ptr(1000), Stop: []string{"a", "b", "c", strings.Repeat("s", 100)},
			FallbackModels: []string{"a", "b", "c", "d", strings.Repeat("m", 200)},
		}, nil},
		{"lower limits", Settings{SystemPrompt: ptr(""), Temperature: ptr(0.0), TopP: ptr(0.0001), MaxContextMessages: ptr(1)}, nil},
		{"empty lists", Settings{Stop: []string{}, FallbackModels: []string{}}, nil},
		{"system prompt too long", Settings{SystemPrompt: ptr(strings.Repeat("x", 32001))}, []string{"settings.system_prompt"}},
		{"system prompt NUL", Settings{SystemPrompt: ptr("a\x00")}, []string{"settings.system_prompt"}},
		{"system prompt bad UTF-8", Settings{SystemPrompt: ptr("a\xc3")}, []string{"settings.system_prompt"}},
		{"temperature below", Settings{Temperature: ptr(-0.001)}, []string{"settings.temperature"}},
		{"temperature above", Settings{Temperature: ptr(2.001)}, []string{"settings.temperature"}},
		{"top_p zero", Settings{TopP: ptr(0.0)}, []string{"settings.top_p"}},
		{"top_p above", Settings{TopP: ptr(1.01)}, []string{"settings.top_p"}},
		{"max_tokens zero", Settings{MaxTokens: ptr(0)}, []string{"settings.max_tokens"}},
		{"max_tokens negative", Settings{MaxTokens: ptr(-5)}, []string{"settings.max_tokens"}},
		{"context zero", Settings{MaxContextMessages: ptr(0)}, []string{"settings.max_context_messages"}},
		{"context above", Settings{MaxContextMessages: ptr(1001)}, []string{"settings.max_context_messages"}},
		{"five stops", Settings{Stop: []string{"a", "b", "c", "d", "e"}}, []string{"settings.stop"}},
		{"empty stop", Settings{Stop: []string{"a", ""}}, []string{"settings.stop[1]"}},
		{"long stop", Settings{Stop: []string{strings.Repeat("s", 101)}}, []string{"settings.stop[0]"}},
		{"six fallbacks", Settings{FallbackModels: []string{"a", "b", "c", "d", "e", "f"}}, []string{"settings.fallback_models"}},
		{"empty fallback", Settings{FallbackModels: []string{""}}, []string{"settings.fallback_models[0]"}},
		{"long fallback", Settings{FallbackModels: []string{"ok", strings.Repeat("m", 201)}}, []string{"settings.fallback_models[1]"}},
		{"every problem at once", Settings{
			SystemPrompt: ptr("\x00"), Temperature: ptr(9.0), TopP: ptr(-1.0), MaxTokens: ptr(0), MaxContextMessages: ptr(0),
			Stop: []string{"", "", "", "", "\x00"}, FallbackModels: []string{"", "", "", "", "", ""},
		}, []string{
			"settings.fallback_models", "settings.fallback_models[0]", "settings.fallback_models[1]",
			"settings.fallback_models[2]", "settings.fallback_models[3]", "settings.fallback_models[4]",
			"settings.fallback_models[5]", "settings.max_context_messages", "settings.max_tokens", "settings.stop",
			"settings.stop[0]", "settings.stop[1]", "settings.stop[2]", "settings.stop[3]", "settings.stop[4]",
			"settings.system_prompt", "settings.temperature", "settings.top_p",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if got := fieldsOf(err); !reflect.DeepEqual(got, tc.bad) {
				t.Fatalf("invalid fields %q, want %q", got, tc.bad)
			}
			if err != nil {
				if de, _ := AsError(err); de.Kind != ErrInvalid || de.Code != "invalid-settings" {
					t.Fatalf("error %v", err)
				}
			}
		})
	}
}
