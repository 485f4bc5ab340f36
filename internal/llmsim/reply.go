package llmsim

import (
	"strings"
	"unicode/utf8"
)

// paragraph is the body of every reply, cut into word tokens.
const paragraph = `chatd is a small chat backend written in Go. It keeps users, sessions and messages ` +
	`in SQLite or PostgreSQL, streams every reply to each open tab while it is being written, and talks ` +
	`to language models through the OpenAI-compatible protocol, so one adapter serves a local model as ` +
	`well as OpenRouter. This answer comes from llmsim, a simulated model: its words are fixed, its pace ` +
	`is configurable, and its failures can be scripted, which keeps the demo and the tests repeatable.`

const (
	echoWords   = 6  // words of the user message quoted at the start of a reply
	echoWordLen = 32 // runes kept of each quoted word
)

// paragraphTokens are the paragraph's words, each followed by a space.
var paragraphTokens = func() []string {
	words := strings.Fields(paragraph)
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w + " "
	}
	return out
}()

var reasoningChunks = []string{"The user ", "wants a short answer; ", "quote them, then describe chatd."}

// ReplyTokens returns the n content deltas the simulator streams for a
// conversation whose last user message is lastUserMessage: a quote of its
// first words, then the paragraph about chatd, cycled as needed. Every token
// ends with a space except the last one.
func ReplyTokens(lastUserMessage string, n int) []string {
	if n <= 0 {
		return nil
	}
	out := make([]string, 0, n)
	out = append(out, echoTokens(lastUserMessage)...)
	for i := 0; len(out) < n; i++ {
		out = append(out, paragraphTokens[i%len(paragraphTokens)])
	}
	out = out[:n]
	out[n-1] = strings.TrimSuffix(out[n-1], " ")
	return out
}

// ExpectedReply is the full content of a reply of n tokens:
// strings.Join(ReplyTokens(lastUserMessage, n), "").
func ExpectedReply(lastUserMessage string, n int) string {
	return strings.Join(ReplyTokens(lastUserMessage, n), "")
}

// ReasoningChunks returns the reasoning deltas sent before the content when
// reasoning is on.
func ReasoningChunks() []string {
	return append([]string(nil), reasoningChunks...)
}

// ExpectedReasoning is the concatenation of ReasoningChunks.
func ExpectedReasoning() string {
	return strings.Join(reasoningChunks, "")
}

// PromptTokens is the prompt_tokens the simulator reports: the number of
// whitespace-separated words over all message contents.
func PromptTokens(messages []Message) int {
	n := 0
	for _, m := range messages {
		n += len(strings.Fields(m.Content))
	}
	return n
}

// echoTokens quotes the first words of msg: You wrote "Hello there". (nothing for an empty message).
func echoTokens(msg string) []string {
	words := strings.Fields(msg)
	if len(words) == 0 {
		return nil
	}
	more := len(words) > echoWords
	words = words[:min(len(words), echoWords)]
	out := make([]string, 0, len(words)+2)
	out = append(out, "You ", "wrote ")
	for i, w := range words {
		w = shorten(w)
		if i == 0 {
			w = `"` + w
		}
		if i == len(words)-1 {
			if more {
				w += "…"
			}
			w += `".`
		}
		out = append(out, w+" ")
	}
	return out
}

func shorten(w string) string {
	if utf8.RuneCountInString(w) <= echoWordLen {
		return w
	}
	r := []rune(w)
	return string(r[:echoWordLen]) + "…"
}
