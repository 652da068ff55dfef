package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/store"
)

const tokenUsage = `Usage:
  lujing token create --name NAME --role ROLE [--source his|lis|pacs|generic] [--hospital ID] [--department D]… [--grant subjects]
  lujing token list
  lujing token revoke NAME|ID

Roles: integration (a source system: writes FHIR), clinician (reads patients, acknowledges,
records), qc (aggregates only), admin (definitions, tokens, replay). --grant subjects lets a
token read the patients behind a QC indicator (no role has it by default). The secret is
printed once and stored hashed.
`

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stderr, tokenUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return tokenList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return tokenRevoke(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "lujing token: unknown subcommand %q\n\n%s", args[0], tokenUsage)
	return errUsage
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	var name, role, source, hospital string
	var depts, grants multiFlag
	fs := newFlags("token create", "lujing token create --name NAME --role ROLE [flags]", stderr)
	sf.register(fs)
	fs.StringVar(&name, "name", "", "a name people recognise (unique), e.g. his-prod")
	fs.StringVar(&role, "role", "", "integration, clinician, qc or admin")
	fs.StringVar(&source, "source", "", "for integration tokens: the source system (his, lis, pacs, generic)")
	fs.StringVar(&hospital, "hospital", "", "the hospital (organization identifier) the token's data belongs to")
	fs.Var(&depts, "department", "department the token acts in (repeatable); none: hospital-wide")
	fs.Var(&grants, "grant", "a permission beyond the role (repeatable): subjects (the patients behind QC indicators)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, g := range grants {
		if g != store.GrantSubjects {
			fmt.Fprintf(stderr, "lujing token create: --grant %q: the only grant is %s\n", g, store.GrantSubjects)
			return errUsage
		}
	}
	if name == "" {
		fmt.Fprintln(stderr, "lujing token create: --name is required")
		return errUsage
	}
	r := store.Role(role)
	switch r {
	case store.RoleIntegration, store.RoleClinician, store.RoleQC, store.RoleAdmin:
	default:
		fmt.Fprintf(stderr, "lujing token create: --role %q: want integration, clinician, qc or admin\n", role)
		return errUsage
	}
	if r == store.RoleIntegration && source == "" {
		source = "generic"
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	secret, err := createToken(ctx, st, store.Token{Name: name, Role: r, Source: source, Hospital: hospital, Departments: depts, Grants: grants})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", secret)
	fmt.Fprintf(stderr, "token %q (%s) created; the secret above is shown once.\n", name, r)
	return nil
}

// createToken stores a new token and returns its secret.
func createToken(ctx context.Context, st interface {
	CreateToken(context.Context, store.Token) error
}, t store.Token) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	secret := "lj_" + base64.RawURLEncoding.EncodeToString(raw[:])
	t.ID = uuid.NewString()
	t.Hash = httpapi.HashToken(secret)
	t.CreatedAt = time.Now().UTC()
	if err := st.CreateToken(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return "", fmt.Errorf("a token named %q exists already", t.Name)
		}
		return "", fmt.Errorf("store token: %w", err)
	}
	return secret, nil
}

func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	fs := newFlags("token list", "lujing token list [flags]", stderr)
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	toks, err := st.Tokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSOURCE\tDEPARTMENTS\tGRANTS\tCREATED\tSTATE\tID")
	for _, t := range toks {
		state := "active"
		if !t.RevokedAt.IsZero() {
			state = "revoked " + t.RevokedAt.Format(time.DateTime)
		}
		depts := strings.Join(t.Departments, ",")
		if depts == "" {
			depts = "(all)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, dash(t.Source), depts, dash(strings.Join(t.Grants, ",")),
			t.CreatedAt.Format(time.DateTime), state, t.ID)
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	fs := newFlags("token revoke", "lujing token revoke [flags] NAME|ID", stderr)
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "lujing token revoke: name the token (NAME or ID)")
		return errUsage
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeToken(ctx, fs.Arg(0), time.Now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no token named %q", fs.Arg(0))
		}
		return err
	}
	fmt.Fprintf(stdout, "revoked %s (a running server stops accepting it within 30 s)\n", fs.Arg(0))
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
