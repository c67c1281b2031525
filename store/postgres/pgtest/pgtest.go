// Package pgtest gives tests a PostgreSQL schema of their own on the test
// database named by SESSIONBOT_TEST_POSTGRES_DSN, and skips them, saying how
// to run them, when it is unset.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSNVar names the environment variable with the test database's DSN.
const DSNVar = "SESSIONBOT_TEST_POSTGRES_DSN"

var schemas atomic.Int64

// DSN is the test database's DSN, or skips the test.
func DSN(t testing.TB) string {
	dsn := os.Getenv(DSNVar)
	if dsn == "" {
		t.Skip("PostgreSQL tests need a database: psql -h 127.0.0.1 -U postgres -c 'create database sessionbot_test'; " +
			DSNVar + "='postgres://postgres@127.0.0.1:5432/sessionbot_test?sslmode=disable' go test ./... (.ci/run does this)")
	}
	return dsn
}

// SchemaDSN makes a schema for this test alone, dropped when it ends, and
// returns a DSN whose search_path points at it, and the schema's name.
func SchemaDSN(t testing.TB) (dsn, schema string) {
	dsn = DSN(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect with %s: %v", DSNVar, err)
	}
	defer conn.Close(context.Background())
	schema = fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), schemas.Add(1))
	if _, err := conn.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema, schema
}
