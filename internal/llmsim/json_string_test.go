package llmsim

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f\x7f \n\r\t", "é 日本 🎉", "bad \xff utf8 \xe2\x82",
		"line\u2028sep\u2029", "<html> & co",
	} {
		checkJSONString(t, s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("hello \"world\"\n")
	f.Add("\xff\xfe\u2028")
	f.Fuzz(checkJSONString)
}

func checkJSONString(t *testing.T, s string) {
	got := appendJSONString(nil, s)
	var back string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("%q encoded as invalid JSON %s: %v", s, got, err)
	}
	want, _ := json.Marshal(s)
	var wantBack string
	_ = json.Unmarshal(want, &wantBack)
	if back != wantBack {
		t.Fatalf("%q: decodes to %q, encoding/json gives %q", s, back, wantBack)
	}
}
