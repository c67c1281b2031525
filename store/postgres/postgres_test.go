package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/postgres"
	"github.com/sessionbot/sessionbot/store/storetest"
)

const dsnVar = "SESSIONBOT_TEST_POSTGRES_DSN"

var schemas atomic.Int64

// fresh gives each test a schema of its own on the shared test database,
// dropped when the test ends.
func fresh(t testing.TB) storetest.Opener {
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		t.Skip("PostgreSQL tests need " + dsnVar + ", e.g. postgres://postgres@127.0.0.1:5432/sessionbot_test?sslmode=disable (.ci/run creates the database and sets it)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect with %s: %v", dsnVar, err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("storetest_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), schemas.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), dsn); err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	schemaDSN := dsn + sep + "search_path=" + schema
	return func(t testing.TB) store.Store {
		s, err := postgres.Open(context.Background(), schemaDSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func TestMigrationsAreAppliedOnce(t *testing.T) {
	open := fresh(t)
	for range 3 {
		open(t)
	}
}

func TestConnectionErrorsHideThePassword(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://bot:hunter2secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if strings.Contains(err.Error(), "hunter2secret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func BenchmarkExpire1000(b *testing.B) { storetest.BenchmarkExpire(b, fresh) }
