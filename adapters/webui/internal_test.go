package webui

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for _, c := range []struct{ in, name, mrn string }{
		{"周", "周*", "…周"}, {"周杰", "周*", "…周杰"}, {"王建国", "王**", "…王建国"}, {"", "—", "—"},
		{"ZY2026000123", "Z***********", "…0123"},
	} {
		if got := maskName(c.in); got != c.name {
			t.Errorf("maskName(%q) = %q, want %q", c.in, got, c.name)
		}
		if got := maskMRN(c.in); got != c.mrn {
			t.Errorf("maskMRN(%q) = %q, want %q", c.in, got, c.mrn)
		}
	}
}

// FuzzSafeNext: whatever "next" a sign-in form carries, the redirect stays on this site,
// inside the workspace.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/ui/ward", "//evil.example", "/ui//evil", "https://evil.example/ui/", "/ui/\\evil", "/ui/../../x", "", "/ui/x?y=1#z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, Prefix+"/") || strings.HasPrefix(got, "//") || strings.Contains(got, "\\") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
	})
}

// FuzzText: a title decodes from a string or a {zh,en} object, and never panics.
func FuzzText(f *testing.F) {
	for _, s := range []string{`"急性阑尾炎"`, `{"zh":"急性阑尾炎","en":"Appendicitis"}`, `{"en":"x"}`, `null`, `3`, `"`, `{"zh":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var x Text
		if err := json.Unmarshal([]byte(in), &x); err != nil {
			return
		}
		var s string
		if json.Unmarshal([]byte(in), &s) == nil && (x.Zh != s || x.In("en") != s) {
			t.Fatalf("string %q decoded as %+v", in, x)
		}
		if x.In("zh") == "" && x.Zh != "" {
			t.Fatalf("%+v", x)
		}
	})
}
