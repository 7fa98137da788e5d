package clickhouse

import (
	"context"
	"embed"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version    uint32
	name       string
	statements []string
}

// loadMigrations reads migrations/NNNN_name.sql in order. Each file is a
// list of idempotent statements separated by ";" at the end of a line.
func loadMigrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s is not NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		m := migration{version: uint32(v), name: name}
		for _, stmt := range strings.Split(string(body), ";\n") {
			if stmt = stripComments(stmt); stmt != "" {
				m.statements = append(m.statements, stmt)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func stripComments(stmt string) string {
	var lines []string
	for _, line := range strings.Split(stmt, "\n") {
		if code, _, _ := strings.Cut(line, "--"); strings.TrimSpace(code) != "" {
			lines = append(lines, code)
		}
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";")
}

// Migrate creates the database when missing and applies every migration not
// yet recorded. Statements are idempotent, so two processes migrating at once
// (or one interrupted half way) end in the same schema.
func (c *Component) Migrate(ctx context.Context) error {
	return c.migrateThrough(ctx, math.MaxUint32)
}

// migrateThrough is Migrate, applying the migrations up to version last.
func (c *Component) migrateThrough(ctx context.Context, last uint32) error {
	migrations, err := loadMigrations()
	if err != nil {
		return err
	}
	if err := c.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+c.database+"`"); err != nil {
		return fmt.Errorf("creating database %s: %w", c.database, err)
	}
	if err := c.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+c.table("schema_migrations")+
		" (version UInt32, name String, applied_at DateTime) ENGINE = ReplacingMergeTree() ORDER BY version"); err != nil {
		return fmt.Errorf("creating the migrations table: %w", err)
	}
	applied := map[uint32]bool{}
	rows, err := c.conn.Query(ctx, "SELECT version FROM "+c.table("schema_migrations"))
	if err != nil {
		return fmt.Errorf("reading applied migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range migrations {
		if applied[m.version] || m.version > last {
			continue
		}
		for _, stmt := range m.statements {
			stmt = strings.ReplaceAll(stmt, "{db}", "`"+c.database+"`")
			if err := c.conn.Exec(ctx, stmt); err != nil && !alreadyAdded(stmt, err) {
				return fmt.Errorf("migration %d (%s): %w\n%s", m.version, m.name, err, stmt)
			}
		}
		// Through a batch: an INSERT .. VALUES by Exec hangs on 18.16,
		// which waits for data blocks after the query.
		now := time.Now().UTC()
		if err := c.insert(ctx, "schema_migrations", 1, []column{
			values("version", func(int) uint32 { return m.version }),
			values("name", func(int) string { return m.name }),
			values("applied_at", func(int) time.Time { return now }),
		}); err != nil {
			return fmt.Errorf("recording migration %d: %w", m.version, err)
		}
		c.log.Info().Uint32("version", m.version).Str("name", m.name).Msg("applied migration")
	}
	return nil
}

// alreadyAdded reports whether stmt adds a column another process (or an
// interrupted run) has added already: 18.16 knows no ADD COLUMN IF NOT
// EXISTS, so that statement is the one that is not idempotent by itself.
func alreadyAdded(stmt string, err error) bool {
	return strings.Contains(stmt, "ADD COLUMN") && strings.Contains(err.Error(), "already exists")
}
