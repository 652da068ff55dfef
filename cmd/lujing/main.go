// Command lujing is the one binary of Lujing: the service and its administration tools.
//
//	lujing serve [--demo]          run the service
//	lujing token create|list|revoke
//	lujing user create|list|disable|password
//	lujing check FILE…             validate FHIR JSON, NDJSON and configuration files
//	lujing bench                   drive a running server with generated hospital traffic
//	lujing report                  add up several instances' QC reports into one table
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// The hospital's zone (Asia/Shanghai by default) must load on a machine without zoneinfo.
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `lujing — clinical pathways, critical values and follow-up from HIS, LIS and PACS data

Usage:
  lujing serve [flags]                 run the service (--demo for a synthetic ward)
  lujing token create|list|revoke      manage access tokens
  lujing user create|list|disable      manage web workspace accounts
  lujing check FILE…                   validate FHIR JSON / NDJSON and configuration files
  lujing bench [flags]                 load a running server and print throughput and latency
  lujing report --from --to --hospital URL…   one provincial QC table from several instances
  lujing version

Run "lujing COMMAND --help" for a command's flags.
Settings also come from the environment: LUJING_ADDR, LUJING_DATA_DIR, LUJING_DATABASE_URL,
LUJING_REDIS_URL, LUJING_TOKEN.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command and returns the exit code: 0 ok, 1 failure, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "token":
		err = cmdToken(ctx, args[1:], stdout, stderr)
	case "user":
		err = cmdUser(ctx, args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(ctx, args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "report":
		err = cmdReport(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "lujing", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "lujing: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "lujing %s: %v\n", args[0], err)
		return 1
	}
}

// errUsage marks an error already explained to the user.
var errUsage = errors.New("usage")

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// newFlags returns a flag set whose errors and help go to stderr and return, not exit.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses, turning a flag error into errUsage (the flag package already printed it).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
