package llmsim

import (
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestReplyTokens(t *testing.T) {
	got := ReplyTokens("Hello there, how are you doing today my friend?", 12)
	want := []string{"You ", "wrote ", `"Hello `, "there, ", "how ", "are ", "you ", `doing…". `, "chatd ", "is ", "a ", "small"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if ReplyTokens("x", 0) != nil || ExpectedReply("x", -1) != "" {
		t.Fatal("no tokens wanted")
	}
	if got := ExpectedReply("", 3); got != "chatd is a" {
		t.Fatalf("no user message: %q", got)
	}
	if got := ExpectedReply("one", 4); got != `You wrote "one". chatd` {
		t.Fatalf("short message: %q", got)
	}
}

func TestReplyTokensArePrefixStable(t *testing.T) {
	long := ReplyTokens("a b", 300) // cycles the paragraph
	for _, n := range []int{1, 7, 80, 300} {
		short := ReplyTokens("a b", n)
		for i := range n - 1 {
			if short[i] != long[i] {
				t.Fatalf("n=%d token %d: %q vs %q", n, i, short[i], long[i])
			}
		}
		if strings.HasSuffix(short[n-1], " ") {
			t.Fatalf("n=%d: last token %q ends with a space", n, short[n-1])
		}
	}
}

func TestReplyQuotesLongWordsShortened(t *testing.T) {
	word := strings.Repeat("é", 100)
	got := ReplyTokens(word, 3)[2]
	if want := `"` + strings.Repeat("é", echoWordLen) + `…".`; got != want {
		t.Fatalf("got %q", got)
	}
}

func TestPromptTokens(t *testing.T) {
	if n := PromptTokens([]Message{{Content: "a b  c"}, {Content: ""}, {Content: "d"}}); n != 4 {
		t.Fatalf("got %d", n)
	}
}
