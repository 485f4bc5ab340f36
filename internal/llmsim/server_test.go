package llmsim

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStartAndClose(t *testing.T) {
	sim := New(Options{ReplyTokens: 3})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Start("127.0.0.1:0"); err == nil {
		t.Fatal("started twice")
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/v1/chat/completions",
		strings.NewReader(chatBody("m", "hi", true, false)))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events, err := readSSE(resp.Body, time.Now())
	_ = resp.Body.Close()
	if s, _ := summarize(events); err != nil || s.content != ExpectedReply("hi", 3) {
		t.Fatalf("%+v %v", s, err)
	}
	sim.Close()
	sim.Close()
	if _, err := sim.Start("127.0.0.1:0"); err == nil {
		t.Fatal("started after Close")
	}
}
