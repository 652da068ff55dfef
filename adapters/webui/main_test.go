package webui

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/lujing-health/lujing/adapters/webui/account"
)

// TestMain hashes the tests' passwords at bcrypt's lowest cost: the cost protects real
// accounts from guessing, and at cost 11 under the race detector each sign-in takes seconds.
func TestMain(m *testing.M) {
	account.BcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}
