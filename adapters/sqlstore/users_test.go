package sqlstore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

func TestUsersSQLite(t *testing.T) { testUsers(t, openSQLite(t)) }

func TestUsersPostgres(t *testing.T) {
	postgresURL(t)
	testUsers(t, openPostgres(t))
}

// testUsers covers accounts and sessions: create, unique names, department binding kept,
// sessions found by hash, touched forward only, ended by sign-out, by disabling the account
// and by the stale-session sweep.
func testUsers(t *testing.T, s *Store) {
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	doc := account.User{Name: "wang.li", Role: store.RoleClinician, Hospital: "H1", Departments: []string{"0301", "0302"},
		PasswordHash: "$2a$11$x", CreatedAt: at}
	if err := s.CreateUser(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, account.User{Name: "wang.li", Role: store.RoleQC}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second wang.li: %v, want ErrConflict", err)
	}
	if err := s.CreateUser(ctx, account.User{Name: "qc1", Role: store.RoleQC, CreatedAt: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByName(ctx, "wang.li")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == "" || u.Role != store.RoleClinician || !slices.Equal(u.Departments, []string{"0301", "0302"}) ||
		u.PasswordHash != "$2a$11$x" || !u.CreatedAt.Equal(at) || u.Disabled() {
		t.Fatalf("read back %+v", u)
	}
	if byID, err := s.UserByID(ctx, u.ID); err != nil || byID.Name != "wang.li" {
		t.Fatalf("by id: %+v %v", byID, err)
	}
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	all, err := s.Users(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "wang.li" || all[1].Departments != nil {
		t.Fatalf("users: %+v %v", all, err)
	}
	if err := s.SetPassword(ctx, "qc1", "$2a$11$y"); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.UserByName(ctx, "qc1"); q.PasswordHash != "$2a$11$y" {
		t.Fatalf("password not set: %+v", q)
	}

	se := account.Session{Hash: "h1", UserID: u.ID, CreatedAt: at, LastSeen: at, ExpiresAt: at.Add(12 * time.Hour)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, "h1", at.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, "h1", at.Add(5*time.Minute)); err != nil { // late, older: ignored
		t.Fatal(err)
	}
	got, err := s.Session(ctx, "h1")
	if err != nil || got.UserID != u.ID || !got.LastSeen.Equal(at.Add(10*time.Minute)) || !got.ExpiresAt.Equal(se.ExpiresAt) {
		t.Fatalf("session: %+v %v", got, err)
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("signed-out session: %v", err)
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Fatalf("signing out twice: %v", err)
	}

	// The sweep removes the idle and the expired, and keeps the live.
	for _, x := range []account.Session{
		{Hash: "idle", UserID: u.ID, CreatedAt: at, LastSeen: at, ExpiresAt: at.Add(12 * time.Hour)},
		{Hash: "expired", UserID: u.ID, CreatedAt: at, LastSeen: at.Add(2 * time.Hour), ExpiresAt: at.Add(2 * time.Hour)},
		{Hash: "live", UserID: u.ID, CreatedAt: at, LastSeen: at.Add(119 * time.Minute), ExpiresAt: at.Add(12 * time.Hour)},
	} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteStaleSessions(ctx, at.Add(90*time.Minute), at.Add(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want 2", n, err)
	}
	if _, err := s.Session(ctx, "live"); err != nil {
		t.Fatalf("live session swept: %v", err)
	}

	// Disabling ends the account's sessions at once.
	if err := s.DisableUser(ctx, "wang.li", at.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableUser(ctx, u.ID, at.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.UserByName(ctx, "wang.li"); !d.DisabledAt.Equal(at.Add(3 * time.Hour)) {
		t.Fatalf("disabled at %v, want the first time", d.DisabledAt)
	}
	if _, err := s.Session(ctx, "live"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of a disabled user: %v", err)
	}
	if err := s.DisableUser(ctx, "nobody", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disable unknown: %v", err)
	}
}
