package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUserCommand: create reads the password from standard input and refuses a short one, a
// wrong role and a duplicate name; list shows departments; disable marks the account.
func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	cmd := func(in string, args ...string) (int, string, string) {
		stdin = strings.NewReader(in)
		var out, errb bytes.Buffer
		all := append(append(append([]string{}, args[:2]...), "--data-dir", dir), args[2:]...) // flags before names
		code := run(context.Background(), all, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, _ := cmd("short\n", "user", "create", "--name", "li", "--role", "clinician"); code != 1 {
		t.Fatalf("short password: exit %d", code)
	}
	if code, _, _ := cmd("long enough password\n", "user", "create", "--name", "li", "--role", "integration"); code != 2 {
		t.Fatalf("integration role: exit %d", code)
	}
	if code, _, e := cmd("", "user", "create", "--name", "li", "--role", "qc"); code != 1 || !strings.Contains(e, "no password") {
		t.Fatalf("no password: exit %d %s", code, e)
	}
	if code, out, e := cmd("long enough password\n", "user", "create", "--name", "li", "--role", "clinician", "--department", "CARDIO", "--department", "ICU"); code != 0 {
		t.Fatalf("create: exit %d %s %s", code, out, e)
	}
	if code, _, e := cmd("another long password\n", "user", "create", "--name", "li", "--role", "qc"); code != 1 || !strings.Contains(e, "exists already") {
		t.Fatalf("duplicate: exit %d %s", code, e)
	}
	_, out, _ := cmd("", "user", "list")
	if !strings.Contains(out, "li") || !strings.Contains(out, "CARDIO,ICU") || !strings.Contains(out, "active") {
		t.Fatalf("list:\n%s", out)
	}
	if code, _, _ := cmd("", "user", "disable", "li"); code != 0 {
		t.Fatalf("disable: exit %d", code)
	}
	if code, _, _ := cmd("", "user", "disable", "nobody"); code != 1 {
		t.Fatalf("disable unknown: exit %d", code)
	}
	_, out, _ = cmd("", "user", "list")
	if !strings.Contains(out, "disabled") {
		t.Fatalf("list after disable:\n%s", out)
	}
	if code, _, _ := cmd("a new long password\n", "user", "password", "li"); code != 0 {
		t.Fatalf("password: exit %d", code)
	}
	// An account that signs in only by single sign-on: no password asked for.
	if code, out, e := cmd("", "user", "create", "--name", "zhao", "--role", "clinician", "--department", "GI-SURG", "--sso"); code != 0 {
		t.Fatalf("create --sso: exit %d %s %s", code, out, e)
	}
	if _, out, _ = cmd("", "user", "list"); !strings.Contains(out, "zhao") || !strings.Contains(out, "GI-SURG") {
		t.Fatalf("list after create --sso:\n%s", out)
	}
}
