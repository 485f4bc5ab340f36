package domain

// Provider names the upstream that generates a session's replies.
type Provider string

const (
	ProviderLocal      Provider = "LOCAL"
	ProviderOpenRouter Provider = "OPENROUTER"
)

// Providers lists every provider in the order the API documents them.
var Providers = []Provider{ProviderLocal, ProviderOpenRouter}

// ParseProvider accepts the exact upper-case names only.
func ParseProvider(s string) (Provider, error) {
	for _, p := range Providers {
		if string(p) == s {
			return p, nil
		}
	}
	return "", InvalidField("llm_provider", "must be one of LOCAL, OPENROUTER")
}

const maxModelChars = 200

// CheckModel validates a model id such as "llama3.2" or "openai/gpt-4o".
func CheckModel(field, model string) error {
	if err := checkText(field, model, 1, maxModelChars); err != nil {
		return err
	}
	return nil
}
