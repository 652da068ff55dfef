package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

const userUsage = `Usage:
  lujing user create --name NAME --role clinician|qc|admin [--department D]… [--hospital ID] < password
  lujing user create --sso --name NAME --role clinician|qc|admin [--department D]… [--hospital ID]
  lujing user list
  lujing user disable NAME|ID
  lujing user password NAME|ID < password

Accounts sign in to the web workspace (/ui). Roles and departments mean what they mean on a
token: a clinician bound to departments acts only in them; bound to none, hospital-wide. The
password is read from the first line of standard input (at least 10 characters) and stored
as a bcrypt hash. With --sso the account has no password and signs in only by single sign-on
(serve --oidc-issuer): NAME is the user name the identity provider gives (its
preferred_username claim, or serve's --oidc-username-claim).
`

// stdin is where passwords are read from (a variable for tests).
var stdin io.Reader = os.Stdin

func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stderr, userUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "create":
		return userCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return userList(ctx, args[1:], stdout, stderr)
	case "disable":
		return userDisable(ctx, args[1:], stdout, stderr)
	case "password":
		return userPassword(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "lujing user: unknown subcommand %q\n\n%s", args[0], userUsage)
	return errUsage
}

// readPassword reads the first line of standard input.
func readPassword() (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input (pipe it in, e.g. from a password manager)")
	}
	return pw, nil
}

func userCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	var name, role, hospital string
	var depts multiFlag
	var sso bool
	fs := newFlags("user create", "lujing user create --name NAME --role ROLE [flags] < password", stderr)
	sf.register(fs)
	fs.StringVar(&name, "name", "", "the name people sign in with (unique)")
	fs.StringVar(&role, "role", "", "clinician, qc or admin")
	fs.StringVar(&hospital, "hospital", "", "the hospital (organization identifier) the account belongs to")
	fs.Var(&depts, "department", "department the account acts in (repeatable); none: hospital-wide")
	fs.BoolVar(&sso, "sso", false, "no password: the account signs in only by single sign-on (OpenID Connect)")
	fs.Bool("password-stdin", true, "read the password from standard input (the only way: never from the command line)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" {
		fmt.Fprintln(stderr, "lujing user create: --name is required")
		return errUsage
	}
	r := store.Role(role)
	switch r {
	case store.RoleClinician, store.RoleQC, store.RoleAdmin:
	default:
		fmt.Fprintf(stderr, "lujing user create: --role %q: want clinician, qc or admin\n", role)
		return errUsage
	}
	var hash string // empty: no password ever matches (account.CheckPassword)
	if !sso {
		pw, err := readPassword()
		if err != nil {
			return err
		}
		if hash, err = account.HashPassword(pw); err != nil {
			return err
		}
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateUser(ctx, account.User{Name: name, Role: r, Hospital: hospital, Departments: depts, PasswordHash: hash}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("an account named %q exists already", name)
		}
		return err
	}
	if sso {
		fmt.Fprintf(stdout, "user %q (%s) created, single sign-on only\n", name, r)
		return nil
	}
	fmt.Fprintf(stdout, "user %q (%s) created\n", name, r)
	return nil
}

func userList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	fs := newFlags("user list", "lujing user list [flags]", stderr)
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tDEPARTMENTS\tCREATED\tSTATE\tID")
	for _, u := range users {
		state := "active"
		if u.Disabled() {
			state = "disabled " + u.DisabledAt.Format(time.DateTime)
		}
		d := strings.Join(u.Departments, ",")
		if d == "" {
			d = "(all)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, d, u.CreatedAt.Format(time.DateTime), state, u.ID)
	}
	return tw.Flush()
}

func oneName(fs *flag.FlagSet, args []string, stderr io.Writer, what string) (string, error) {
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "lujing user %s: name the account (NAME or ID)\n", what)
		return "", errUsage
	}
	return fs.Arg(0), nil
}

func userDisable(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	fs := newFlags("user disable", "lujing user disable [flags] NAME|ID", stderr)
	sf.register(fs)
	name, err := oneName(fs, args, stderr, "disable")
	if err != nil {
		return err
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.DisableUser(ctx, name, time.Now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no account named %q", name)
		}
		return err
	}
	fmt.Fprintf(stdout, "disabled %s; its sessions have ended\n", name)
	return nil
}

func userPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	fs := newFlags("user password", "lujing user password [flags] NAME|ID < password", stderr)
	sf.register(fs)
	name, err := oneName(fs, args, stderr, "password")
	if err != nil {
		return err
	}
	pw, err := readPassword()
	if err != nil {
		return err
	}
	hash, err := account.HashPassword(pw)
	if err != nil {
		return err
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetPassword(ctx, name, hash); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no account named %q", name)
		}
		return err
	}
	fmt.Fprintf(stdout, "password of %s changed\n", name)
	return nil
}

// webFlags are serve's settings of the web workspace.
type webFlags struct {
	idle          time.Duration
	lifetime      time.Duration
	secureCookies bool
	oidc          webui.SSOConfig
}

func (f *webFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.idle, "session-idle", envDuration("LUJING_SESSION_IDLE", 30*time.Minute), "web sessions end after this long without a request (env LUJING_SESSION_IDLE)")
	fs.DurationVar(&f.lifetime, "session-lifetime", envDuration("LUJING_SESSION_LIFETIME", 12*time.Hour), "web sessions end this long after sign-in however active (env LUJING_SESSION_LIFETIME)")
	fs.StringVar(&f.oidc.Issuer, "oidc-issuer", envOr("LUJING_OIDC_ISSUER", ""), "OpenID Connect issuer URL for single sign-on to the web workspace; empty: off (env LUJING_OIDC_ISSUER)")
	fs.StringVar(&f.oidc.ClientID, "oidc-client-id", envOr("LUJING_OIDC_CLIENT_ID", ""), "Lujing's client id at the OpenID Connect issuer (env LUJING_OIDC_CLIENT_ID)")
	fs.StringVar(&f.oidc.ClientSecret, "oidc-client-secret", envOr("LUJING_OIDC_CLIENT_SECRET", ""), "the client's secret; prefer the env LUJING_OIDC_CLIENT_SECRET to the command line")
	fs.StringVar(&f.oidc.RedirectURL, "oidc-redirect-url", envOr("LUJING_OIDC_REDIRECT_URL", ""), "the callback registered at the issuer; default: <the request's scheme and host>/ui/oidc/callback, set it behind a proxy (env LUJING_OIDC_REDIRECT_URL)")
	fs.StringVar(&f.oidc.UsernameClaim, "oidc-username-claim", envOr("LUJING_OIDC_USERNAME_CLAIM", "preferred_username"), "the ID token claim holding the Lujing user name (env LUJING_OIDC_USERNAME_CLAIM)")
	fs.BoolVar(&f.secureCookies, "secure-cookies", envOr("LUJING_SECURE_COOKIES", "") == "true", "mark web cookies Secure on plain HTTP too: set it behind a proxy that terminates TLS (env LUJING_SECURE_COOKIES)")
}

// build makes the web workspace over the store; zone is serve's --zone.
// With --oidc-issuer it reads the issuer's discovery document first: serve does not start
// with single sign-on configured but unreachable.
func (f *webFlags) build(st *sqlstore.Store, quality webui.Quality, zone *time.Location, log *slog.Logger) (*webui.UI, error) {
	var sso *webui.SSO
	if f.oidc.Issuer != "" {
		if f.oidc.ClientID == "" {
			return nil, errors.New("--oidc-issuer needs --oidc-client-id")
		}
		var err error
		if sso, err = webui.NewSSO(context.Background(), f.oidc); err != nil {
			return nil, err
		}
		log.Info("web single sign-on", "issuer", f.oidc.Issuer, "client", f.oidc.ClientID, "username_claim", f.oidc.UsernameClaim)
	}
	return webui.New(webui.Config{Store: st, Quality: quality, Zone: zone, IdleTimeout: f.idle, MaxLifetime: f.lifetime,
		SecureCookies: f.secureCookies, SSO: sso, Logger: log})
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(envOr(name, "")); err == nil && d > 0 {
		return d
	}
	return def
}

// demoUsers are the web accounts of --demo, created once per data directory; their
// passwords are kept in demo-users.json (mode 0600) like the demo tokens.
var demoUsers = []account.User{
	{Name: "demo-admin", Role: store.RoleAdmin},
	{Name: "demo-clinician", Role: store.RoleClinician},
	{Name: "demo-cardio", Role: store.RoleClinician, Departments: []string{"CARDIO"}},
	{Name: "demo-qc", Role: store.RoleQC},
}

type userStore interface {
	CreateUser(context.Context, account.User) error
	Users(context.Context) ([]account.User, error)
}

// runDemoUsers makes sure the demo accounts exist and prints how to sign in.
func runDemoUsers(ctx context.Context, st userStore, dataDir, base string, stdout io.Writer) error {
	path := filepath.Join(dataDir, "demo-users.json")
	passwords := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &passwords); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	existing, err := st.Users(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, u := range existing {
		if !u.Disabled() {
			have[u.Name] = true
		}
	}
	changed := false
	for _, u := range demoUsers {
		if have[u.Name] && passwords[u.Name] != "" {
			continue
		}
		if have[u.Name] {
			return fmt.Errorf("account %q exists but its password is not in %s; disable it with: lujing user disable %s", u.Name, path, u.Name)
		}
		secret, err := account.NewSecret()
		if err != nil {
			return err
		}
		pw := secret[:16]
		if u.PasswordHash, err = account.HashPassword(pw); err != nil {
			return err
		}
		u.Hospital = "LUJING-DEMO"
		if err := st.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("create demo account %s: %w", u.Name, err)
		}
		passwords[u.Name] = pw
		changed = true
	}
	if changed {
		b, _ := json.MarshalIndent(passwords, "", "  ")
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	fmt.Fprintf(stdout, "\nWeb workspace: %s/ui/  — demo accounts (also in %s):\n", base, path)
	for _, u := range demoUsers {
		scope := "hospital-wide"
		if len(u.Departments) > 0 {
			scope = strings.Join(u.Departments, ",")
		}
		fmt.Fprintf(stdout, "  %-15s %-10s %-14s %s\n", u.Name, u.Role, scope, passwords[u.Name])
	}
	return nil
}
